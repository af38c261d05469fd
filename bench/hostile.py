#!/usr/bin/env python3
"""Per-container fairness under a flood (issue 19, "Hostile containers"; docs/reliability.md):
how late, and how often lost, are a quiet container's findings while a neighbour floods the
agent, compared with no flood at all.

As root, from a build tree (ECSGUARD_BIN, ECSGUARD_EGPROBE and ECSGUARD_BUILD_DIR as for the
integration tests; defaults: ./build):

    bench/hostile.py --floods none,paths,execs --samples 100 --out /tmp/hostile

For each flood, a fresh agent (default options unless --ring-kib or --stall-ms), a fake ECS
agent, and two task containers:
- the flooder runs --flood-procs copies of its storm for the whole measurement:
  `paths`: `egprobe path-storm` (distinct creates and renames at the bottom of a directory
  chain near PATH_MAX), `execs`: `egprobe spin-fork` (fork+exec loops), `none`: nothing;
- the quiet container makes --samples new findings, one every --gap-ms: it copies egprobe to
  a new path and runs it to use CAP_SYS_ADMIN (a new executable, so a new finding each time),
  as docs/performance.md's latency bench does. Its task is resolved before the first sample.
- with --stall-ms, the agent is stopped (SIGSTOP) for that long once a second, a stand-in for
  an agent that drains slower than the flood fills (its loop busy, its CPU starved): the case
  the per-container ring share is for.

Latency is the finding's eventFirstSeen (kernel time of the event, on the wall clock) to the
moment its line is read from the agent's stdout. A sample whose finding never arrives (within
10 s after the last) is lost. Also recorded: the agent's CPU, kernel drops, what the ring share
shed and from which container. Writes hostile.json; prints one table row per flood.
"""

import argparse
import datetime
import json
import os
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

for var, rel in (("ECSGUARD_BUILD_DIR", "build"), ("ECSGUARD_BIN", "build/ecsguard"),
                 ("ECSGUARD_EGPROBE", "build/tests/helpers/egprobe")):
    os.environ.setdefault(var, os.path.join(ROOT, rel))
os.environ.setdefault("ECSGUARD_FINDINGS_LOG", "")

import harness  # noqa: E402
from ecsfake import EcsFake  # noqa: E402

SYS_ADMIN_USED = "PrivilegeEscalation:Runtime/SysAdminCapabilityUsed"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def event_time(iso):
    return datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * (len(values) - 1)))))
    return values[k]


def read_health(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


class Flooder:
    """--flood-procs storms in the flooding container, restarted until stop()."""

    def __init__(self, container, kind, procs):
        self.container, self.kind, self.procs = container, kind, procs
        self.stopping = threading.Event()
        self.threads = []
        self.rounds = 0

    def command(self, i, round_):
        if self.kind == "paths":
            d = "/data/s%d-%d" % (i, round_)
            return ["/bin/sh", "-c", "mkdir -p %s && /bin/egprobe path-storm %s 4000 && "
                    "rm -rf %s" % (d, d, d)]
        return ["/bin/egprobe", "spin-fork", "2000"]

    def start(self):
        if self.kind == "none":
            return

        def loop(i):
            round_ = 0
            while not self.stopping.is_set():
                self.container.exec(self.command(i, round_), check=False, timeout=600)
                round_ += 1
                self.rounds += 1
        for i in range(self.procs):
            t = threading.Thread(target=loop, args=(i,), daemon=True)
            t.start()
            self.threads.append(t)

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(600)


def run_one(flood, args):
    fake = EcsFake(cluster="default", container_instance_arn="arn:aws:ecs:us-west-2:"
                   "123456789012:container-instance/default/0f1e2d3c4b5a69788796a5b4c3d2e1f0")
    fake.start()
    noisy = harness.Container(name="noisy", family="flood")
    quiet = harness.Container(caps_add=["CAP_SYS_ADMIN"], name="quiet", family="bystander")
    agent = None
    result = {"flood": flood}
    try:
        for c in (noisy, quiet):
            fake.add_raw_task(harness.task_response([c]))
        extra = ["--health-interval", "1"]
        if args.ring_kib:
            extra += ["--ring-buffer-kib", str(args.ring_kib)]
        agent = harness.Agent(introspection_url=fake.base_url, extra_args=extra,
                              health_file=True)
        agent.start()
        agent.wait_ready()
        noisy.start()
        quiet.start()
        # Warm: the quiet task resolved, its first finding out of the way.
        quiet.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"])
        agent.wait_for(harness.match(SYS_ADMIN_USED, quiet), timeout=30)

        flooder = Flooder(noisy, flood, args.flood_procs)
        flooder.start()
        time.sleep(args.settle)
        stall_stop = threading.Event()

        def stall():
            while not stall_stop.wait(1.0):
                agent.proc.send_signal(signal.SIGSTOP)
                time.sleep(args.stall_ms / 1000.0)
                agent.proc.send_signal(signal.SIGCONT)
        staller = None
        if args.stall_ms:
            staller = threading.Thread(target=stall, daemon=True)
            staller.start()
        cpu0, wall0 = cpu_seconds(agent.proc.pid), time.time()
        script = ("i=0; while [ $i -lt %d ]; do cp /bin/egprobe /bin/q$i && "
                  "/bin/q$i mount-tmpfs /tmp >/dev/null; usleep %d; i=$((i+1)); done"
                  % (args.samples, args.gap_ms * 1000))
        r = quiet.exec(["/bin/sh", "-c", script], timeout=60 + args.samples * 5)
        cpu1, wall1 = cpu_seconds(agent.proc.pid), time.time()
        if staller:
            stall_stop.set()
            staller.join()
            agent.proc.send_signal(signal.SIGCONT)
        flooder.stop()
        if not r.ok:
            raise harness.HarnessError("quiet samples failed: %r" % r)
        wanted = {"/bin/q%d" % i for i in range(args.samples)}
        deadline = time.time() + 10
        got = {}
        while time.time() < deadline:
            for f in agent.findings():
                if f.get("type") != SYS_ADMIN_USED:
                    continue
                exe = f["service"]["runtimeDetails"]["process"].get("executablePath")
                if exe in wanted and exe not in got:
                    got[exe] = (agent.arrived_at(f) -
                                event_time(f["service"]["eventFirstSeen"])) * 1000.0
            if len(got) == len(wanted):
                break
            time.sleep(0.2)
        time.sleep(1.5)
        health = read_health(agent.health_file) or {}
        lat = list(got.values())
        events = health.get("kernelEvents", {})
        result.update({
            "samples": args.samples,
            "received": len(got),
            "lost": args.samples - len(got),
            "latencyMs": {"p50": percentile(lat, 50), "p99": percentile(lat, 99),
                          "max": max(lat) if lat else None},
            "agentCpuPercent": 100.0 * (cpu1 - cpu0) / max(wall1 - wall0, 1e-6),
            "floodRounds": flooder.rounds,
            "kernelEventsDropped": health.get("kernelEventsDropped"),
            "kernelEventsShed": health.get("kernelEventsShed"),
            "droppedByKind": {k: v["dropped"] for k, v in events.items() if v.get("dropped")},
            "seenByKind": {k: v["seen"] for k, v in events.items() if v.get("seen")},
            "shedByContainer": [
                dict(s, who="noisy" if s.get("containerId") == noisy.id else
                     "quiet" if s.get("containerId") == quiet.id else "other")
                for s in health.get("ringBuffer", {}).get("shedByContainer", [])],
            "ringBufferBytes": health.get("ringBuffer", {}).get("sizeBytes"),
        })
        return result
    finally:
        for c in (quiet, noisy):
            try:
                c.delete()
            except Exception as exc:
                print("cleanup of %s failed: %s" % (c, exc), file=sys.stderr)
        if agent is not None and agent.running():
            agent.stop()
        fake.cleanup()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--floods", default="none,paths,execs")
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--gap-ms", type=int, default=50)
    ap.add_argument("--flood-procs", type=int, default=2)
    ap.add_argument("--settle", type=float, default=2.0, help="seconds of flood before sampling")
    ap.add_argument("--ring-kib", type=int, default=0, help="agent --ring-buffer-kib (0: its "
                    "default)")
    ap.add_argument("--stall-ms", type=int, default=0, help="stop the agent this long every "
                    "second")
    ap.add_argument("--out", default=".")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/hostile.py must run as root (it loads BPF programs and runs runc)")
    os.makedirs(args.out, exist_ok=True)
    results = []
    print("%-6s %8s %5s %9s %9s %9s %7s %9s %9s  %s" % (
        "flood", "received", "lost", "p50 ms", "p99 ms", "max ms", "cpu %", "dropped",
        "shed", "shed by"))
    for flood in args.floods.split(","):
        r = run_one(flood, args)
        results.append(r)
        lat = r["latencyMs"]

        def ms(v):
            return "%.1f" % v if v is not None else "-"
        print("%-6s %8d %5d %9s %9s %9s %7.1f %9s %9s  %s" % (
            flood, r["received"], r["lost"], ms(lat["p50"]), ms(lat["p99"]), ms(lat["max"]),
            r["agentCpuPercent"], r["kernelEventsDropped"], r["kernelEventsShed"],
            ", ".join("%s %d" % (s["who"], s["events"]) for s in r["shedByContainer"])),
            flush=True)
    with open(os.path.join(args.out, "hostile.json"), "w") as f:
        json.dump({"args": vars(args), "binary": os.environ["ECSGUARD_BIN"],
                   "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except harness.HarnessError as exc:
        print("harness error: %s" % exc, file=sys.stderr)
        sys.exit(2)
