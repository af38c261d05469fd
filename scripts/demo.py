"""ecsguard demo: two ECS-shaped tasks on runc, a local ECS introspection endpoint, the agent.

Task "web" (family web:3): its app container (granted CAP_SYS_ADMIN) mounts a tmpfs, and a
log-router sidecar in the same task does nothing. Task "netops" (family netops:1): its
container (granted CAP_NET_ADMIN) changes a link's MTU 50 times, loads a BPF map without
CAP_BPF and tries a mount it is not allowed.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import harness  # noqa: E402
from ecsfake import EcsFake  # noqa: E402


def summary(f):
    td = f["resource"]["ecsClusterDetails"].get("taskDetails", {})
    c = (td.get("containers") or [{}])[0]
    ctx = f["service"]["runtimeDetails"]["context"]
    p = f["service"]["runtimeDetails"]["process"]
    extra = json.loads(f["service"]["additionalInfo"]["value"])  # family, revision, task id...
    return "%-52s sev %-4s x%-3d %s:%s  container=%-10s %s (%s) %s" % (
        f["type"], f["severity"], f["service"]["count"], extra.get("taskFamily", "?"),
        extra.get("taskRevision", "?"), c.get("name", "?"), ctx.get("capabilityName", ""),
        "granted" if ctx.get("capabilityGranted") else "denied",
        "%s via %s" % (p.get("executablePath"),
                       ", ".join("%s()" % n for n in ctx.get("syscalls") or [ctx.get("syscall")])))


def main():
    fake = EcsFake(cluster="demo-cluster",
                   container_instance_arn="arn:aws:ecs:us-west-2:123456789012:"
                   "container-instance/demo-cluster/6b3d1f0a2c9e4d7fa1b2c3d4e5f60718")
    fake.start()
    web = harness.Container(caps_add=["CAP_SYS_ADMIN"], name="app", family="web", version="3",
                            image="nginx:1.27")
    sidecar = harness.Container(task_id=web.task_id, name="log-router", family="web",
                                version="3", image="fluent-bit:3")
    netops = harness.Container(caps_add=["CAP_NET_ADMIN"], name="tuner", family="netops",
                               version="1", image="alpine:3.20", layout="ecs-v2")
    fake.add_raw_task(harness.task_response([web, sidecar], cluster="demo-cluster"))
    fake.add_raw_task(harness.task_response([netops], cluster="demo-cluster"))
    agent = harness.Agent(introspection_url=fake.base_url,
                          extra_args=["--report-interval", "1"])
    try:
        print("== starting ecsguard (introspection endpoint %s)" % fake.base_url)
        agent.start()
        agent.wait_ready(timeout=30)
        for line in agent.logs():
            print("   " + line)
        for c in (web, sidecar, netops):
            c.start()
            print("== started task container %s (%s) in cgroup %s" % (c.name, c.family,
                                                                      c.cgroup_path))
        print("== web/app mounts a tmpfs (CAP_SYS_ADMIN granted)")
        print("   " + web.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"]).stdout.strip())
        print("== netops/tuner changes lo's MTU 50 times (CAP_NET_ADMIN granted)")
        for _ in range(50):
            netops.exec(["/bin/egprobe", "link-mtu", "lo", "65536"], check=False)
        print("== netops/tuner creates a BPF map and mounts, without CAP_BPF or CAP_SYS_ADMIN")
        print("   " + netops.exec(["/bin/egprobe", "bpf-map-create"], check=False).stdout.strip())
        print("   " + netops.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"],
                                  check=False).stdout.strip())
        time.sleep(2.5)
    finally:
        code = agent.stop()
        for c in (web, sidecar, netops):
            c.delete()
        fake.cleanup()
    latest = {}
    for f in agent.findings():
        latest[f["id"]] = f
    print("\n== findings (%d lines on stdout, %d distinct findings; agent exit %s)" % (
        len(agent.findings()), len(latest), code))
    for f in latest.values():
        print("   " + summary(f))
    if latest:
        print("\n== one finding in full (GuardDuty's finding shape):")
        print(json.dumps(next(iter(latest.values())), indent=2))
    return 0 if latest and code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
