#!/usr/bin/env python3
"""Soak run (issue 19, Faults; docs/reliability.md): the agent under a steady event load while
task containers start and stop without pause, its resources sampled over time, asserted flat
and plotted.

As root, from a build tree (ECSGUARD_BIN, ECSGUARD_EGPROBE and ECSGUARD_BUILD_DIR as for the
integration tests; defaults: ./build):

    bench/soak.py --minutes 30 --out /tmp/soak

Load, for the whole run:
- churn: one container after another (at most --parallel alive, ECS v1 and v2 cgroup layouts
  in turn), each registered with the fake ECS agent, using CAP_SYS_ADMIN, writing its root
  file system and forking a little, then deleted and its task removed: new containers, new
  cgroups, new processes, new findings, all the time;
- steady: one long-lived container making CAP_SYS_ADMIN checks and fork+exec at a fixed pace
  (kernel dedup, repeat folding, process table turnover).

The aggregation window is shortened (--aggregation-window, default 60 s) so that the open
findings of containers long gone retire within the run: with the shipped hour a 30-minute run
would only show the findings table filling, by design.

Sampled every --interval seconds: the agent's RSS, open fds and CPU (/proc), and from its
health file the kernel tables that follow live things (homes, set-up marks, containers), the
userspace container and process tables, open findings, ring-buffer fill and kernel drops.
After a warm-up (the first --warmup fraction of the run), each series' least-squares slope
projected over the measured part must stay within its tolerance (below), CPU must not climb,
and nothing may be dropped. Writes soak.png (one panel per resource), soak.json (samples,
fits, verdicts); exit 0 when flat, 1 when a trend failed, 2 on a harness error.
"""

import argparse
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

for var, rel in (("ECSGUARD_BUILD_DIR", "build"), ("ECSGUARD_BIN", "build/ecsguard"),
                 ("ECSGUARD_EGPROBE", "build/tests/helpers/egprobe")):
    os.environ.setdefault(var, os.path.join(ROOT, rel))
# The soak's findings are not schema fixtures: keep the integration findings log out of it.
os.environ.setdefault("ECSGUARD_FINDINGS_LOG", "")

import harness  # noqa: E402
from ecsfake import EcsFake  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

# Series that must not grow once the agent runs (a leak would): allowed growth over the measured
# part, projected from the least-squares slope, absolute or relative to the series' mean,
# whichever is larger.
LEAK_TOLERANCES = {
    "fds": (3, 0.0),  # without the mount-namespace cache's (below)
    "homes": (20, 0.25),
    "setup_marks": (10, 0.25),
    "kernel_containers": (8, 0.25),
}
# Tables that keep what they learnt for a while by design, and when each reaches its steady
# state: deleted containers stay known 10 minutes (agent/commands/run.c), open findings live
# for the aggregation window, exited processes stay (for lineage) until the table is full, and
# the rootfs detector remembers written files until its table is full.
# Before that they grow; they must stay within their bounds, and RSS, which holds them, is
# judged only once all of them are steady.
CONTAINER_RETENTION_S = 600
PROC_CAPACITY = 32768
MOUNT_CACHE_NS = 64
FINDINGS_CAPACITY = 8192
RSS_TOLERANCE = (3.0, 0.05)  # MiB, fraction of the mean
RSS_ENVELOPE_MIB = 64  # the documented envelope is 32 MiB steady; twice that fails outright


def agent_sample(pid, last):
    """RSS (MiB), open fds and CPU (% of one core since the last sample) of the agent."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    with open("/proc/%d/statm" % pid) as f:
        rss_pages = int(f.read().split()[1])
    now = time.monotonic()
    cpu = None
    if last is not None:
        cpu = 100.0 * (ticks - last[0]) / CLK_TCK / max(now - last[1], 1e-3)
    fds = mountinfo = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        fds += 1
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        mountinfo += target.startswith("/proc/") and target.endswith("/mountinfo")
    # The rootfs detector keeps the mountinfo of up to 64 mount namespaces open (to poll them
    # for changes; collectors/mount_table.h): a cache that fills by design, counted apart.
    return {"rss_mib": rss_pages * PAGE / 2**20, "fds": fds - mountinfo,
            "mount_cache_fds": mountinfo, "cpu_pct": cpu}, (ticks, now)


def health_sample(path):
    with open(path) as f:
        h = json.load(f)
    km = h.get("kernelMaps", {})
    return {
        "homes": km.get("homes", {}).get("entries"),
        "setup_marks": km.get("setupMarks", {}).get("entries"),
        "kernel_containers": km.get("containers", {}).get("entries"),
        "containers_known": h["containers"]["known"],
        "containers_table_full": h["containers"]["tableFull"],
        "processes_tracked": h["processes"]["tracked"],
        "findings_open": h["findings"]["open"],
        "rootfs_written_evicted": h["detectors"]["rootfs"]["writtenFilesEvicted"],
        "findings_dropped": h["findings"]["droppedTableFull"],
        "ring_used_bytes": h["ringBuffer"]["usedBytes"],
        "kernel_dropped": h["kernelEventsDropped"],
    }


class Churn(threading.Thread):
    """Containers started, exercised and deleted one after another until stopped."""

    def __init__(self, fake, rate, parallel, forks, files):
        super().__init__(daemon=True)
        self.fake, self.rate, self.parallel = fake, rate, parallel
        self.forks, self.files = forks, files
        self.late = 0
        self.stop_event = threading.Event()
        self.started = self.errors = 0
        self.last_error = None
        self.fake_lock = threading.Lock()  # the fake's state file is rewritten whole

    def one(self, n):
        layout = ("ecs-v1", "ecs-v2")[n % 2]
        c = harness.Container(caps_add=["CAP_SYS_ADMIN"], layout=layout, name="churn",
                              family="soak", version=str(n % 7 + 1))
        with self.fake_lock:
            self.fake.add_raw_task(harness.task_response([c]))
        try:
            c.start()
            c.exec(["/bin/egprobe", "sethostname", "soak", "5"])
            c.exec(["/bin/egprobe", "write-files", "/data", str(self.files)])
            c.exec(["/bin/egprobe", "spin-fork", str(self.forks)])
        finally:
            c.delete()
            with self.fake_lock:
                self.fake.remove_task(harness.task_arn(c.task_id))

    def run(self):
        """Starts at a fixed rate (a steady load: what the tables retain is rate x retention);
        a start that would exceed `parallel` live containers waits, and is counted late."""
        n = 0
        workers = []
        period = 60.0 / self.rate
        t0 = time.monotonic()
        while not self.stop_event.is_set():
            due = t0 + n * period
            if time.monotonic() < due:
                self.stop_event.wait(due - time.monotonic())
                continue
            workers = [w for w in workers if w.is_alive()]
            if len(workers) >= self.parallel:
                time.sleep(0.05)
                continue
            if time.monotonic() - due > period:
                self.late += 1
            n += 1
            w = threading.Thread(target=self.guarded, args=(n,), daemon=True)
            w.start()
            workers.append(w)
            self.started += 1
        for w in workers:
            w.join(timeout=60)

    def guarded(self, n):
        try:
            self.one(n)
        except Exception as e:  # counted and reported; a soak goes on
            self.errors += 1
            self.last_error = repr(e)


def fit(xs, ys):
    """Least-squares slope and intercept."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    return slope, my - slope * mx


def proc_bound():
    with open("/proc/sys/kernel/pid_max") as f:
        return min(PROC_CAPACITY, int(f.read()))


def slope_verdict(points, absolute, relative):
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    slope, _ = fit(xs, ys)
    mean = sum(ys) / len(ys)
    growth = slope * (xs[-1] - xs[0])
    limit = max(absolute, relative * mean)
    return {"ok": growth <= limit, "growth": round(growth, 3), "limit": round(limit, 3),
            "mean": round(mean, 3), "slopePerMinute": round(slope * 60, 4),
            "from": round(xs[0] / 60, 2)}


def verdicts(samples, warmup, window_s, steady_load=True):
    """Per series: flat (slope within tolerance) where it must be, within bounds where it is
    still filling by design. Times in the result are minutes from the first sample."""
    t0 = samples[0]["t"]
    for s in samples:
        s["rel"] = s["t"] - t0
    steady = [s for s in samples if s["rel"] >= warmup]
    if len(steady) < 5:
        return {"samples": {"ok": False, "why": "fewer than 5 samples after the warm-up"}}
    out = {}
    for key, (absolute, relative) in LEAK_TOLERANCES.items():
        pts = [(s["rel"], s[key]) for s in steady if s.get(key) is not None]
        if len(pts) >= 5:
            out[key] = slope_verdict(pts, absolute, relative)
    # When each retaining table is steady (None: not within this run).
    # Exited processes stay until their entry is needed or their pid is reused: the table
    # levels off near the smaller of its capacity and the pid space (pid_max, less the host's
    # own processes), 90 % of which marks it full.
    full = [s["rel"] for s in samples if s["processes_tracked"] >= 0.9 * proc_bound()]
    steady_from = {
        "containers_known": CONTAINER_RETENTION_S + warmup,
        "findings_open": window_s + warmup,
        "processes_tracked": full[0] if full else None,
    }
    last = samples[-1]
    out["mount_cache_fds"] = {
        "ok": max(s.get("mount_cache_fds", 0) for s in samples) <= MOUNT_CACHE_NS,
        "max": max(s.get("mount_cache_fds", 0) for s in samples), "bound": MOUNT_CACHE_NS}
    bounds = {
        "containers_known": last["containers_table_full"] == 0,
        "findings_open": max(s["findings_open"] for s in samples) < FINDINGS_CAPACITY,
        "processes_tracked": max(s["processes_tracked"] for s in samples) <= PROC_CAPACITY,
    }
    for key, since in steady_from.items():
        pts = [(s["rel"], s[key]) for s in samples if since is not None and s["rel"] >= since]
        if len(pts) >= 5 and steady_load:
            v = slope_verdict(pts, 0.05 * proc_bound() if key == "processes_tracked" else 10,
                              0.25)
            v["ok"] = v["ok"] and bounds[key]
        else:
            v = {"ok": bounds[key], "max": max(s[key] for s in samples),
                 "filling": "by design; steady state not reached in this run" if steady_load
                 else "the churn could not keep its rate: judged by its bound only"}
        out[key] = v
    # The rootfs detector's table of written files (16,384 records, faulted in as they are
    # first used) is full once it starts replacing its oldest.
    written_full = [s["rel"] for s in samples if s.get("rootfs_written_evicted", 0) > 0]
    rss_from = [warmup] + list(steady_from.values()) + [written_full[0] if written_full else None]
    peak = max(s["rss_mib"] for s in samples)
    if None in rss_from:
        out["rss_mib"] = {"ok": peak <= RSS_ENVELOPE_MIB, "peak": round(peak, 1),
                          "envelope": RSS_ENVELOPE_MIB,
                          "filling": "tables still filling: judged by the envelope only"}
    else:
        pts = [(s["rel"], s["rss_mib"]) for s in samples if s["rel"] >= max(rss_from)]
        if len(pts) >= 5:
            out["rss_mib"] = slope_verdict(pts, *RSS_TOLERANCE)
            out["rss_mib"]["ok"] = out["rss_mib"]["ok"] and peak <= RSS_ENVELOPE_MIB
            out["rss_mib"]["peak"] = round(peak, 1)
        else:
            out["rss_mib"] = {"ok": peak <= RSS_ENVELOPE_MIB, "peak": round(peak, 1),
                              "envelope": RSS_ENVELOPE_MIB,
                              "filling": "tables steady too late in this run to fit RSS"}
    cpu = [s["cpu_pct"] for s in steady if s.get("cpu_pct") is not None]
    half = len(cpu) // 2
    first, second = sum(cpu[:half]) / max(half, 1), sum(cpu[half:]) / max(len(cpu) - half, 1)
    out["cpu_pct"] = {"ok": second <= first * 1.5 + 2.0, "firstHalfMean": round(first, 2),
                      "secondHalfMean": round(second, 2)}
    dropped = last["kernel_dropped"] + last["findings_dropped"]
    out["drops"] = {"ok": dropped == 0, "kernelEventsDropped": last["kernel_dropped"],
                    "findingsDropped": last["findings_dropped"]}
    return out


def plot(samples, path, title, warmup_s):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    t0 = samples[0]["t"]
    minutes = [(s["t"] - t0) / 60 for s in samples]
    panels = [
        ("agent RSS (MiB)", ["rss_mib"]),
        ("agent open fds", ["fds", "mount_cache_fds"]),
        ("agent CPU (% of a core)", ["cpu_pct"]),
        ("kernel tables (entries)", ["homes", "setup_marks", "kernel_containers"]),
        ("agent tables (entries)", ["containers_known", "findings_open"]),
        ("processes tracked", ["processes_tracked"]),
        ("ring buffer used (KiB)", ["ring_used_kib"]),
    ]
    for s in samples:
        s["ring_used_kib"] = s["ring_used_bytes"] / 1024
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 2.2 * len(panels)), sharex=True)
    for ax, (label, keys) in zip(axes, panels):
        for k in keys:
            ax.plot(minutes, [s.get(k) if s.get(k) is not None else float("nan")
                              for s in samples], label=k)
        ax.axvline(warmup_s / 60, color="grey", linestyle=":", linewidth=1)
        ax.set_ylabel(label, fontsize=8)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        if len(keys) > 1:
            ax.legend(fontsize=7, loc="upper left")
    axes[-1].set_xlabel("minutes (dotted: end of the warm-up)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--interval", type=float, default=5.0, help="seconds between samples")
    ap.add_argument("--warmup", type=float, default=0.25,
                    help="fraction of the run before the trend is measured")
    ap.add_argument("--rate", type=float, default=40.0, help="churn containers started a minute")
    ap.add_argument("--parallel", type=int, default=4, help="churn containers alive at most")
    ap.add_argument("--aggregation-window", type=int, default=60)
    ap.add_argument("--forks", type=int, default=5,
                    help="fork+exec per churn container (more fill the process table sooner)")
    ap.add_argument("--files", type=int, default=3,
                    help="rootfs files written per churn container (more fill the rootfs "
                         "detector's tables sooner)")
    ap.add_argument("--out", default="/tmp/ecsguard-soak")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("soak.py: must run as root", file=sys.stderr)
        return 2
    try:
        import matplotlib  # noqa: F401  (fail before a long run, not after it)
    except ImportError:
        print("soak.py: matplotlib is missing (scripts/install-deps.sh installs "
              "python3-matplotlib)", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    duration = args.minutes * 60
    fake = EcsFake().start()
    agent = steady = churn = None
    samples = []
    try:
        steady = harness.Container(
            args=["/bin/sh", "-c", "while true; do /bin/egprobe sethostname steady 20; "
                  "/bin/egprobe spin-fork 5; sleep 0.2; done"],
            caps_add=["CAP_SYS_ADMIN"], name="steady", family="soak")
        fake.add_raw_task(harness.task_response([steady]))
        agent = harness.Agent(introspection_url=fake.base_url, health_file=True,
                              extra_args=["--health-interval", "1", "--report-interval", "5",
                                          "--aggregation-window", str(args.aggregation_window)])
        agent.start()
        agent.wait_ready()
        steady.start()
        churn = Churn(fake, args.rate, args.parallel, args.forks, args.files)
        churn.start()
        pid = agent.proc.pid
        last = None
        t_start = time.monotonic()
        while time.monotonic() - t_start < duration:
            time.sleep(args.interval)
            if not agent.running():
                raise harness.HarnessError("the agent exited: " + "\n".join(agent.logs()[-20:]))
            s, last = agent_sample(pid, last)
            s.update(health_sample(agent.health_file))
            s["t"] = time.monotonic()
            s["containers_started"] = churn.started
            s["containers_late"] = churn.late
            samples.append(s)
            print("soak %5.1f min: rss %.1f MiB, fds %d, cpu %s%%, homes %s, procs %s, "
                  "findings %s, containers started %d" %
                  ((s["t"] - t_start) / 60, s["rss_mib"], s["fds"],
                   "-" if s["cpu_pct"] is None else "%.1f" % s["cpu_pct"], s["homes"],
                   s["processes_tracked"], s["findings_open"], churn.started), flush=True)
        churn.stop_event.set()
        churn.join(timeout=120)
        code = agent.stop(timeout=60)
        if code != 0:
            raise harness.HarnessError("agent exit status %s" % code)
    except harness.HarnessError as e:
        print("soak.py: %s" % e, file=sys.stderr)
        return 2
    finally:
        if churn:
            churn.stop_event.set()
        if agent is not None and agent.running():
            agent.kill9()
        if steady is not None:
            steady.delete()
        fake.stop()
    # A churn that could not keep its rate is not the steady load the retaining tables' verdicts
    # assume (what they hold is rate x retention): they are then judged by their bounds only.
    steady_load = churn.late <= 0.05 * max(churn.started, 1)
    result = verdicts(samples, duration * args.warmup, args.aggregation_window, steady_load)
    result["load"] = {"ok": True, "steady": steady_load, "containersStarted": churn.started,
                      "startedLate": churn.late, "ratePerMinute": args.rate}
    ok = all(v["ok"] for v in result.values()) and churn.started > 0
    title = ("ecsguard soak: %.0f min, %d containers started (%d failed), %s" %
             (args.minutes, churn.started, churn.errors, "flat" if ok else "NOT FLAT"))
    plot(samples, os.path.join(args.out, "soak.png"), title, duration * args.warmup)
    with open(os.path.join(args.out, "soak.json"), "w") as f:
        json.dump({"minutes": args.minutes, "args": vars(args), "containersStarted": churn.started,
                   "containerErrors": churn.errors, "lastContainerError": churn.last_error,
                   "verdicts": result, "samples": samples}, f, indent=1)
    for key, v in result.items():
        print("%-18s %s %s" % (key, "ok  " if v["ok"] else "FAIL",
                               {k: x for k, x in v.items() if k != "ok"}))
    print("%s: %s (plot %s)" % ("flat" if ok else "NOT FLAT", title,
                                os.path.join(args.out, "soak.png")))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
