#!/usr/bin/env python3
"""The syscall-tracepoint tax, measured (issue 16): the same host loops with no agent, with
ecsguard's syscall concerns on syscall tracepoints, and with them on the syscalls' own functions
(fentry/fexit), in one run on one kernel.

Once any syscalls/sys_* tracepoint program is attached, the kernel sets the syscall-tracepoint
work flag on every task, and every syscall of every process on the host takes the tracing slow
path, watched or not. With fentry/fexit only the hooked calls run a trampoline. The loops are a
host process (never reported) doing getppid (a syscall no hook watches) and open+write+close of
one file on a non-container file system, the costs every process on the host pays.

    bench/hook_tax.py [--rounds 5] [--null N] [--opens N] [--caps N] [--json FILE]

Needs root and a built tree (ECSGUARD_BIN, ECSGUARD_EGPROBE, as the integration tests). Runs
under the kernel matrix too (scripts/kernel-matrix.sh --suites hook_tax): under QEMU TCG the
absolute times mean nothing, the ratios between attachments in the same guest do. Rounds rotate
the order of the configurations, and the median of each is reported. A configuration this
kernel cannot load (fentry on a kernel that refuses it) is reported with the probe's reason.

A separate, untimed round with kernel.bpf_stats_enabled gives the agent's program time per
open and per capability check of a host process (the container verdict of a host task), per
attachment.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402
from ecsfake import EcsFake  # noqa: E402

CONCERNS = ("hostNamespaces", "rootfsWrites")
CONFIGS = {
    "none": None,
    "tracepoints": "syscalls",
    "fentry": "fentry",
}


def hook_args(variant):
    return [a for c in CONCERNS for a in ("--hook", "%s=%s" % (c, variant))]


def egprobe():
    path = os.environ.get("ECSGUARD_EGPROBE") or harness.find_egprobe()
    if not path or not os.path.exists(path):
        raise SystemExit("hook_tax: egprobe not built (set ECSGUARD_EGPROBE)")
    return path


def run_loop(args, wrap=()):
    """One egprobe loop; its own ns per operation (wall clock)."""
    r = subprocess.run([*wrap, egprobe(), *args], capture_output=True, text=True, timeout=3600)
    if r.returncode != 0:
        raise SystemExit("hook_tax: egprobe %s failed: %s %s" % (args[0], r.stdout, r.stderr))
    fields = dict(kv.split("=", 1) for kv in r.stdout.split() if "=" in kv)
    return int(fields["ns_per_op"])


def loadable(variant):
    """None when ecsguard loads both syscall concerns with `variant` here, else why not."""
    r = harness.run_probe(*hook_args(variant))
    if r.returncode == 0:
        return None
    try:
        return json.loads(r.stdout)["error"]
    except (ValueError, KeyError):
        return r.stderr.strip() or "probe failed"


class Running:
    """ecsguard with the syscall concerns forced to one attachment (or nothing for "none")."""

    def __init__(self, fake, variant):
        self.agent = None
        self.start_s = self.stop_s = None
        if variant is not None:
            self.agent = harness.Agent(introspection_url=fake.base_url,
                                       extra_args=hook_args(variant))

    def __enter__(self):
        if self.agent:
            t = time.monotonic()
            self.agent.start()
            self.agent.wait_ready(timeout=600)
            self.start_s = time.monotonic() - t
        return self

    def __exit__(self, *exc):
        if self.agent:
            t = time.monotonic()
            self.agent.stop(timeout=600)
            self.stop_s = time.monotonic() - t

    def prog_ids(self):
        """The agent's BPF programs: the prog_id of every program and link fd it holds
        (/proc/PID/fdinfo)."""
        ids, fdinfo = set(), "/proc/%d/fdinfo" % self.agent.proc.pid
        for fd in os.listdir(fdinfo):
            try:
                with open(os.path.join(fdinfo, fd)) as f:
                    for line in f:
                        if line.startswith("prog_id:"):
                            ids.add(int(line.split()[1]))
            except OSError:
                pass  # closed in between
        return ids


def prog_run_ns(ids):
    """{program id: (name, run_time_ns, run_cnt)} of the agent's programs."""
    r = subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True, text=True,
                       timeout=120, check=True)
    return {p["id"]: (p.get("name", "?"), p.get("run_time_ns", 0), p.get("run_cnt", 0))
            for p in json.loads(r.stdout) if p["id"] in ids}


def per_op(before, after, ops):
    """Program time per operation, in all and for the programs that ran (name: ns/op, runs)."""
    progs = {}
    for pid, (name, ns, cnt) in after.items():
        _, ns0, cnt0 = before.get(pid, (name, 0, 0))
        if cnt > cnt0:
            progs["%s#%d" % (name, pid)] = (round((ns - ns0) / ops, 1), cnt - cnt0)
    return {"ns_per_op": round(sum(v[0] for v in progs.values()), 1), "programs": progs}


def set_bpf_stats(on):
    with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
        f.write("1" if on else "0")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--null", type=int, default=1000000, help="getppid calls per loop")
    ap.add_argument("--opens", type=int, default=20000, help="open+write+close per loop")
    ap.add_argument("--caps", type=int, default=20000, help="sethostname calls (bpf_stats)")
    ap.add_argument("--settle", type=float, default=5.0,
                    help="seconds between the agent's ready file and the loops (its start-up "
                    "scan and first folds would otherwise share the CPU with them)")
    ap.add_argument("--json", help="write the results here too")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("hook_tax: run as root")

    configs = dict(CONFIGS)
    unavailable = {}
    for name, variant in CONFIGS.items():
        why = loadable(variant) if variant else None
        if why:
            unavailable[name] = why
            del configs[name]
            print("hook_tax: %s not measured: %s" % (name, why), flush=True)
    fake = EcsFake(cluster="default", container_instance_arn="arn:aws:ecs:us-west-2:"
                   "123456789012:container-instance/default/0f1e2d3c4b5a69788796a5b4c3d2e1f0")
    fake.start()
    workdir = tempfile.mkdtemp(prefix="hook-tax-")
    times = {name: {"null-syscall": [], "open-write": []} for name in configs}
    lifecycle = {name: {"start-to-ready": [], "stop": []} for name in configs if configs[name]}
    names = list(configs)
    try:
        for rnd in range(args.rounds):
            order = names[rnd % len(names):] + names[:rnd % len(names)]
            for name in order:
                with Running(fake, configs[name]) as agent:
                    time.sleep(args.settle)
                    times[name]["null-syscall"].append(run_loop(["null-syscall",
                                                                 str(args.null)]))
                    times[name]["open-write"].append(
                        run_loop(["loop-open-write", workdir, str(args.opens)]))
                if configs[name]:
                    lifecycle[name]["start-to-ready"].append(agent.start_s)
                    lifecycle[name]["stop"].append(agent.stop_s)
                print("hook_tax: round %d %s: getppid %d ns, open-write %d ns" % (
                    rnd + 1, name, times[name]["null-syscall"][-1],
                    times[name]["open-write"][-1]), flush=True)
        # Program time per host-process operation, in an untimed round of its own.
        prog_ns = {}
        for name in names:
            if configs[name] is None:
                continue
            with Running(fake, configs[name]) as r:
                time.sleep(args.settle)
                ids = r.prog_ids()
                set_bpf_stats(True)
                try:
                    before = prog_run_ns(ids)
                    run_loop(["loop-open-write", workdir, str(args.opens)])
                    mid = prog_run_ns(ids)
                    run_loop(["sethostname", "bench", str(args.caps)], wrap=("unshare", "-u"))
                    after = prog_run_ns(ids)
                finally:
                    set_bpf_stats(False)
                prog_ns[name] = {"open-write": per_op(before, mid, args.opens),
                                 "cap-sys-admin": per_op(mid, after, args.caps)}
    finally:
        fake.cleanup()

    med = {n: {w: statistics.median(v) for w, v in t.items()} for n, t in times.items()}
    low = {n: {w: min(v) for w, v in t.items()} for n, t in times.items()}
    out = {"kernel": os.uname().release, "rounds": args.rounds, "median_ns": med, "min_ns": low,
           "all_ns": times,
           "program_ns_per_op_host": prog_ns, "unavailable": unavailable,
           "agent_seconds": lifecycle}
    # Interference (other guests, the agent's own threads) only ever adds time: the minimum of
    # the rounds is the steadier estimate, the median is shown next to it.
    print("\n| workload (host process), min / median of %d rounds | %s |" % (
        args.rounds, " | ".join(names)))
    print("|---|%s" % ("---|" * len(names)))
    for w in ("null-syscall", "open-write"):
        cells = []
        for n in names:
            cell = "%d / %d ns" % (low[n][w], med[n][w])
            if "none" in low:
                cell += " (%.2fx / %.2fx)" % (low[n][w] / low["none"][w],
                                              med[n][w] / med["none"][w])
            cells.append(cell)
        print("| %s | %s |" % (w, " | ".join(cells)))
    if "tracepoints" in med and "fentry" in med:
        for w in ("null-syscall", "open-write"):
            ratio = (low["fentry"][w] / low["tracepoints"][w],
                     med["fentry"][w] / med["tracepoints"][w])
            out.setdefault("fentry_over_tracepoints", {})[w] = ratio
            print("fentry / tracepoints, %s: %.3f (min) / %.3f (median)" % (w, *ratio))
    for n, v in lifecycle.items():
        print("agent %s: start to ready %s s, stop %s s" % (
            n, "/".join("%.1f" % x for x in v["start-to-ready"]),
            "/".join("%.1f" % x for x in v["stop"])))
    for n, v in prog_ns.items():
        for w in ("open-write", "cap-sys-admin"):
            print("program time per host-process op, %s, %s: %.0f ns (%s)" % (
                n, w, v[w]["ns_per_op"], ", ".join(
                    "%s %.0f ns/op, %d runs" % (k, x[0], x[1])
                    for k, x in sorted(v[w]["programs"].items(), key=lambda i: -i[1][0])[:5])))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
