#!/usr/bin/env python3
"""Program time of the root-filesystem exits for a host process's failed path syscalls
(docs/performance.md, "A host process's failed path syscalls"): for each agent binary given,
alternated for --rounds rounds, start the agent against a fake ECS agent, run a host loop of
--ops x {unlink of a missing file, mkdir of an existing directory, rmdir of a missing one} with
kernel.bpf_stats_enabled on, and print each eg_rootfs_exit_* program's mean ns per run.

As root, from the repository (ECSGUARD_BUILD_DIR and ECSGUARD_EGPROBE as for the integration
tests):

    bench/failed_pathops.py --ops 200000 OLD/ecsguard NEW/ecsguard
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))
os.environ.setdefault("ECSGUARD_FINDINGS_LOG", "")

import harness  # noqa: E402
from ecsfake import EcsFake  # noqa: E402


def prog_stats():
    """{program id: (name, run_time_ns, run_cnt)} of every loaded program."""
    out = json.loads(subprocess.check_output(["bpftool", "-j", "prog", "show"]))
    return {p["id"]: (p.get("name", ""), p.get("run_time_ns", 0), p.get("run_cnt", 0))
            for p in out}


def set_bpf_stats(on):
    with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
        f.write("1" if on else "0")


def failing_loop(n, scratch):
    missing = os.path.join(scratch, "missing")
    for _ in range(n):
        try:
            os.unlink(missing)
        except FileNotFoundError:
            pass
        try:
            os.mkdir(scratch)
        except FileExistsError:
            pass
        try:
            os.rmdir(missing)
        except FileNotFoundError:
            pass


def one_round(binary, n, scratch):
    os.environ["ECSGUARD_BIN"] = binary
    fake = EcsFake(cluster="default", container_instance_arn="arn:aws:ecs:us-west-2:"
                   "123456789012:container-instance/default/0f1e2d3c4b5a69788796a5b4c3d2e1f0")
    fake.start()
    agent = harness.Agent(introspection_url=fake.base_url)
    try:
        agent.start()
        agent.wait_ready()
        time.sleep(2)
        before = prog_stats()
        set_bpf_stats(True)
        try:
            failing_loop(n, scratch)
        finally:
            set_bpf_stats(False)
        after = prog_stats()
    finally:
        agent.stop()
        fake.cleanup()
    result = {}
    for pid, (name, t, c) in after.items():
        if not name.startswith("eg_rootfs_exit_"):
            continue
        _, t0, c0 = before.get(pid, (name, 0, 0))
        if c - c0 >= n // 2:  # the programs this loop ran, not another process's
            result[name] = (t - t0) / (c - c0)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ops", type=int, default=200000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("binaries", nargs="+")
    args = ap.parse_args()
    scratch = "/tmp/eg-failed-pathops"
    os.makedirs(scratch, exist_ok=True)
    for r in range(args.rounds):
        for b in args.binaries:
            res = one_round(b, args.ops, scratch)
            print(r, b, " ".join("%s=%.1f" % kv for kv in sorted(res.items())), flush=True)


if __name__ == "__main__":
    main()
