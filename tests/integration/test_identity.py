"""One identity per behaviour (issue 15): a behaviour's container and task are captured when it is
first seen and carried by everything that later counts into its finding.

Each case is a short task: its container does one burst and exits, and its cgroup is removed
right after (runc run to completion, then delete) — long before the agent folds the kernel's
repeat counts in at its one-second tick. Every behaviour must still come out as exactly one
finding id with the full count and the full task identity, whether the agent is stopped before
that fold, after it, or while the ECS endpoint has not answered yet.
"""

import json
import shutil
import tempfile
import time
import unittest

import harness
from agent_case import AgentCase, SYS_ADMIN_USED, last_by_id, task_details
from test_hostns import HostSleeper

SIGNALED = "Impact:Runtime/HostProcessSignaled"
HOST_PID_NS = "PrivilegeEscalation:Runtime/ContainerSharesHostPidNamespace"
ROOTFS_MODIFIED = "Persistence:Runtime/ContainerRootFilesystemModified"
NEW_BINARY = "Execution:Runtime/NewBinaryExecuted"


def cgroup_path_of(finding):
    try:
        return json.loads(finding["service"]["additionalInfo"]["value"]).get("cgroupPath")
    except (KeyError, TypeError, ValueError):
        return None


class OneIdentityPerBehaviour(AgentCase):

    def short_task(self, script, **options):
        """A registered task container whose entrypoint runs `script` and exits."""
        c = self.container(["/bin/sh", "-c", script], **options)
        self.register(c)
        return c

    def run_and_remove(self, c):
        """Runs the burst to its end; the container and its cgroup are gone when this returns."""
        t0 = time.monotonic()
        r = c.run_to_completion(timeout=120)
        self.assertEqual(r.returncode, 0, r)
        return time.monotonic() - t0

    def the_one_finding(self, findings, type_, c):
        """Every line of `type_` that names this container or carries no container at all (the
        anonymous twin a late look-up used to create) must be one finding id; its newest line."""
        mine = [f for f in findings if f.get("type") == type_ and (
            c.id in harness.finding_container_ids(f)
            or cgroup_path_of(f) == c.cgroup_path
            or not f["resource"].get("containerDetails", {}).get("id"))]
        latest = last_by_id(mine)
        self.assertEqual(len(latest), 1, "one finding id expected for %s: %r"
                         % (type_, [(i, f["service"]["count"]) for i, f in latest.items()]))
        [f] = latest.values()
        self.assertEqual(f["resource"]["containerDetails"]["id"], c.id, f)
        self.assertEqual(cgroup_path_of(f), c.cgroup_path, f)
        return f

    def assertTaskIdentity(self, f, c):
        td = task_details(f)
        self.assertEqual(td.get("arn"), harness.task_arn(c.task_id), f)
        self.assertEqual(json.loads(f["service"]["additionalInfo"]["value"]).get("taskFamily"),
                         c.family, f)
        self.assertEqual([x.get("name") for x in td.get("containers", [])], [c.name], f)

    # -- capability ---------------------------------------------------------------------------

    def check_capability_burst(self, wait_before_stop):
        c = self.short_task("/bin/egprobe sethostname burst 200", caps_add=["CAP_SYS_ADMIN"],
                            name="batch", family="cron")
        self.start_agent()
        self.run_and_remove(c)
        time.sleep(wait_before_stop)
        f = self.the_one_finding(self.stop_agent(), SYS_ADMIN_USED, c)
        self.assertEqual(f["service"]["count"], 200, f)
        self.assertTaskIdentity(f, c)

    def test_capability_burst_then_exit_agent_stopped_after_the_fold(self):
        self.check_capability_burst(1.5)

    @harness.native_only("the same kernel events as the after-the-fold test; the order of stop "
                         "and fold is the agent's")
    def test_capability_burst_then_exit_agent_stopped_before_the_fold(self):
        # SIGTERM at once: the shutdown fold reads the kernel's counts for the gone container.
        self.check_capability_burst(0.0)

    @harness.native_only("introspection timing in the agent; the same kernel events as the after-"
                         "the-fold test")
    def test_capability_burst_then_exit_task_known_only_after_the_container_is_gone(self):
        c = self.container(["/bin/sh", "-c", "/bin/egprobe sethostname late 150"],
                           caps_add=["CAP_SYS_ADMIN"], name="late", family="cron")
        self.fake.set_mode("slow", slow_seconds=4)  # every answer arrives after the exit
        self.register(c)
        self.start_agent()
        self.run_and_remove(c)
        time.sleep(1.5)
        self.fake.set_mode("ok")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            lines = [f for f in self.agent.findings()
                     if harness.match(SYS_ADMIN_USED, c)(f) and task_details(f).get("arn")]
            if lines:
                break
            time.sleep(0.3)
        f = self.the_one_finding(self.stop_agent(), SYS_ADMIN_USED, c)
        self.assertEqual(f["service"]["count"], 150, f)
        self.assertTaskIdentity(f, c)

    # -- host namespaces ----------------------------------------------------------------------

    def test_host_process_signal_burst_then_exit_counts_every_signal(self):
        why = harness.concern_unavailable("hostNamespaces")
        if why:
            self.skipTest(why)
        sleeper = HostSleeper()
        self.addCleanup(sleeper.stop)
        c = self.short_task("i=0; while [ $i -lt 200 ]; do kill -CONT %d; i=$((i+1)); done"
                            % sleeper.pid, pid_mode="host", name="spam", family="ops")
        self.start_agent()
        self.run_and_remove(c)
        time.sleep(1.0)
        findings = self.stop_agent()
        f = self.the_one_finding(findings, SIGNALED, c)
        # The kernel sends one record a second per target and counts the rest: all reach it.
        self.assertEqual(f["service"]["count"], 200, f)
        self.assertTaskIdentity(f, c)
        self.assertTaskIdentity(self.the_one_finding(findings, HOST_PID_NS, c), c)

    # -- root filesystem and new binaries -----------------------------------------------------

    def rootfs_task(self, script, name):
        vol = tempfile.mkdtemp(prefix="eg-identity-vol-")
        self.addCleanup(shutil.rmtree, vol, True)
        return self.short_task(script, rootfs="overlay", volumes=[(vol, "/data")], name=name,
                               family="etl")

    def test_rootfs_burst_then_exit_counts_repeats_of_writes_and_path_operations(self):
        # 300 rewrites of one file (repeats counted per container slot in the kernel) and 50
        # mkdir/rmdir pairs (path-only operations, repeats counted per operation).
        c = self.rootfs_task("/bin/egprobe loop-open-write /tmp 300 >/dev/null && i=0; "
                             "while [ $i -lt 50 ]; do mkdir /loopdir && rmdir /loopdir; "
                             "i=$((i+1)); done", "etl")
        self.start_agent()
        self.run_and_remove(c)
        time.sleep(1.0)
        f = self.the_one_finding(self.stop_agent(), ROOTFS_MODIFIED, c)
        self.assertEqual(f["service"]["count"], 400, f)
        self.assertTaskIdentity(f, c)

    def test_new_binary_run_repeatedly_then_exit_is_one_finding(self):
        c = self.rootfs_task("cp /bin/egprobe /bin/dropped && i=0; while [ $i -lt 20 ]; do "
                             "/bin/dropped sleep 0 >/dev/null; i=$((i+1)); done", "dropper")
        self.start_agent()
        self.run_and_remove(c)
        time.sleep(1.0)
        f = self.the_one_finding(self.stop_agent(), NEW_BINARY, c)
        self.assertEqual(f["service"]["count"], 20, f)
        self.assertTaskIdentity(f, c)


if __name__ == "__main__":
    unittest.main()
