"""A container that moves its own processes between cgroups must neither blind the agent nor
leave its task (issue 17, items 1 and 2). Real kernel, real runc containers in ECS cgroup
layouts, a fake ECS agent.

- Re-attaching itself to its own cgroup (a privileged container can write its cgroupfs) used to
  mark the process as runtime set-up: everything it did afterwards was filtered.
- Moving itself to the root cgroup, or into another task's, used to make it a host process (or
  the other task's): the kernel now keeps every contained process attributed to the container
  it started in (its home, bpf/lifecycle.bpf.c), and the move is a High finding.
"""

import json
import os
import time

import harness
from agent_case import (AgentCase, LegacyTaskAccess, SYS_ADMIN_USED, NET_ADMIN_USED, context,
                        last_by_id, process)
from test_hostns import HostSleeper, NS_ENTERED

ESCAPED = "DefenseEvasion:Runtime/ContainerCgroupEscaped"
ROOTFS_MODIFIED = "Persistence:Runtime/ContainerRootFilesystemModified"

# Writes the shell's own pid into every cgroup.procs the container sees: in a privileged
# container with its own cgroup namespace those are its own cgroups. At least one must succeed.
REATTACH = ("n=0; for f in /sys/fs/cgroup/*/cgroup.procs /sys/fs/cgroup/cgroup.procs; do "
            "[ -e \"$f\" ] && echo $$ > \"$f\" 2>/dev/null && n=$((n+1)); done; "
            "[ $n -gt 0 ] || { echo no cgroup.procs written >&2; exit 9; }; ")


def tracked_hierarchy_mount():
    """`mount` arguments that mount the agent's tracked cgroup hierarchy at /mnt/cg inside a
    container with the host's cgroup namespace: the whole hierarchy, its root included."""
    cg = harness.probe_report()["cgroup"]
    if cg.get("trackedHierarchy") == "v1":
        return "mount -t cgroup -o %s cgroup /mnt/cg" % cg["v1Controller"]
    return "mount -t cgroup2 cgroup2 /mnt/cg"


def tracked_cgroup_of(pid):
    """The path of `pid`'s cgroup in the tracked hierarchy (None when it has exited)."""
    cg = harness.probe_report()["cgroup"]
    key = cg["v1Controller"] if cg.get("trackedHierarchy") == "v1" else ""
    try:
        groups = harness.proc_cgroups(pid)
    except FileNotFoundError:
        return None
    for controllers, path in groups.items():
        if key in controllers.split(",") or controllers == key:
            return path
    return None


class CgroupEscape(AgentCase):

    def wait_any(self, type_, c, pred, timeout=20):
        """A line of one of the container's `type_` findings whose context satisfies pred."""
        is_it = harness.match(type_, c)
        return self.agent.wait_for(lambda f: is_it(f) and pred(context(f)), timeout=timeout)[0]

    def test_reattaching_itself_to_its_own_cgroup_does_not_blind_the_agent(self):
        sleeper = HostSleeper()
        self.addCleanup(sleeper.stop)
        # Its own cgroup namespace: /sys/fs/cgroup is its own cgroup on v1 and v2 alike.
        c = self.container(privileged=True, pid_mode="host", cgroupns="private", name="reattach",
                           family="evasion")
        self.register(c)
        self.start_agent()
        c.start()
        script = (REATTACH + "/bin/egprobe mount-tmpfs /tmp && echo pwned > /etc/reattached && "
                  "/bin/egprobe setns %d mnt" % sleeper.pid)
        r = c.exec(["/bin/sh", "-c", script])
        self.assertTrue(r.ok, r)
        cap = self.agent.wait_for(harness.match(SYS_ADMIN_USED, c), timeout=20)[0]
        self.assertAttributed(cap, c)
        self.assertEqual(process(cap)["executablePath"], "/bin/egprobe")
        self.wait_context(ROOTFS_MODIFIED, c,
                          lambda ctx: "/etc/reattached" in ctx.get("relatedFilePaths", []))
        ns = self.agent.wait_for(harness.match(NS_ENTERED, c), timeout=20)[0]
        self.assertAttributed(ns, c)
        # Its own cgroup is its home: no move out of it.
        self.assertEqual(self.findings_of(ESCAPED, c), [])

    def test_leaving_for_the_root_cgroup_is_high_and_stays_attributed(self):
        c = self.container(caps_add=["CAP_SYS_ADMIN", "CAP_NET_ADMIN"], name="escapee",
                           family="evasion")
        self.register(c)
        self.start_agent()
        c.start()
        script = ("mkdir -p /mnt/cg && " + tracked_hierarchy_mount() + " && "
                  "echo $$ > /mnt/cg/cgroup.procs && /bin/egprobe sethostname escaped && "
                  "echo out > /etc/escaped && "
                  "/bin/sh -c 'echo child > /etc/escaped-child; /bin/egprobe link-mtu lo 65000'")
        r = c.exec(["/bin/sh", "-c", script])
        self.assertTrue(r.ok, r)
        # After the move: its capability use, its rootfs writes and its child's, all its own.
        cap = self.wait_any(SYS_ADMIN_USED, c, lambda x: "sethostname" in x.get("syscalls", []))
        self.assertAttributed(cap, c)
        net = self.agent.wait_for(harness.match(NET_ADMIN_USED, c), timeout=20)[0]
        self.assertAttributed(net, c)
        self.assertEqual(process(net)["executablePath"], "/bin/egprobe")
        want = {"/etc/escaped", "/etc/escaped-child"}
        self.wait_context(ROOTFS_MODIFIED, c,
                          lambda x: want <= set(x.get("relatedFilePaths", [])))
        esc = self.agent.wait_for(harness.match(ESCAPED, c), timeout=20)[0]
        self.assertAttributed(esc, c)
        self.assertEqual(esc["severity"], 8.0)
        ctx = context(esc)
        self.assertEqual(ctx["destinationCgroup"]["cgroupPath"], "/")
        self.assertEqual(ctx["destinationCgroup"]["level"], 0)
        self.assertIs(ctx["destinationCgroup"]["taskContainer"], False)
        self.assertEqual(ctx["movedBy"]["kind"], "self")
        self.assertEqual(ctx["how"], "cgroupProcsWrite")
        self.assertEqual(process(esc)["name"], "sh")
        # One move: the children born where their moved parent is are not moves of their own.
        self.assertEqual(len(last_by_id(self.findings_of(ESCAPED, c))), 1)

    def test_a_container_running_before_the_agent_cannot_leave_unseen(self):
        """Its processes get their home from the agent's start-up scan (agent/kernel/homes.c)."""
        c = self.container(["/bin/sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.1; done; " +
                            "mkdir -p /mnt/cg && " + tracked_hierarchy_mount() + " && "
                            "echo $$ > /mnt/cg/cgroup.procs && /bin/egprobe sethostname early && "
                            "exec /bin/egprobe sleep 3600"],
                           caps_add=["CAP_SYS_ADMIN"], name="early", family="evasion")
        self.register(c)
        c.start()
        self.start_agent()
        self.assertTrue(any("start-up scan" in l and "0 given their home" not in l
                            for l in self.agent.logs()), self.agent.logs()[-8:])
        with open(os.path.join(c.rootfs_path, "tmp", "go"), "w"):
            pass
        cap = self.wait_any(SYS_ADMIN_USED, c, lambda x: "sethostname" in x.get("syscalls", []))
        self.assertAttributed(cap, c)
        esc = self.agent.wait_for(harness.match(ESCAPED, c), timeout=20)[0]
        self.assertAttributed(esc, c)
        self.assertEqual(context(esc)["destinationCgroup"]["level"], 0)

    def test_moving_into_another_tasks_cgroup_stays_its_own(self):
        a = self.container(caps_add=["CAP_SYS_ADMIN"], name="intruder", family="from")
        b = self.container(caps_add=["CAP_SYS_ADMIN"], name="victim", family="to")
        self.register(a)
        self.register(b)
        self.start_agent()
        a.start()
        b.start()
        script = ("mkdir -p /mnt/cg && " + tracked_hierarchy_mount() + " && "
                  "echo $$ > /mnt/cg%s/cgroup.procs && /bin/egprobe sethostname moved && "
                  "echo in > /etc/moved" % b.cgroup_path)
        r = a.exec(["/bin/sh", "-c", script])
        self.assertTrue(r.ok, r)
        cap = self.wait_any(SYS_ADMIN_USED, a, lambda x: "sethostname" in x.get("syscalls", []))
        self.assertAttributed(cap, a)
        self.wait_context(ROOTFS_MODIFIED, a,
                          lambda x: "/etc/moved" in x.get("relatedFilePaths", []))
        esc = self.agent.wait_for(harness.match(ESCAPED, a), timeout=20)[0]
        self.assertAttributed(esc, a)
        to = context(esc)["destinationCgroup"]
        self.assertEqual(to["cgroupPath"], b.cgroup_path)
        self.assertIs(to["taskContainer"], True)
        self.assertEqual(to["containerId"], b.id)
        self.assertEqual(to["taskId"], b.task_id)
        self.stop_agent()
        self.assertEqual(self.capability_findings(b), [])
        self.assertEqual(self.findings_of(ROOTFS_MODIFIED, b), [])
        self.assertEqual(self.findings_of(ESCAPED, b), [])

    def test_cloning_a_child_into_the_root_cgroup_is_high_and_stays_attributed(self):
        cg = harness.probe_report()["cgroup"]
        if cg.get("trackedHierarchy") == "v1":
            self.skipTest("clone3(CLONE_INTO_CGROUP) places a child in the cgroup v2 hierarchy "
                          "only; the agent tracks the v1 %s controller here" % cg["v1Controller"])
        c = self.container(caps_add=["CAP_SYS_ADMIN"], name="cloner", family="evasion")
        self.register(c)
        self.start_agent()
        c.start()
        script = ("mkdir -p /mnt/cg && " + tracked_hierarchy_mount() + " && "
                  "/bin/egprobe clone-into-cgroup /mnt/cg /bin/egprobe sethostname cloned")
        r = c.exec(["/bin/sh", "-c", script])
        self.assertTrue(r.ok, r)
        cap = self.wait_any(SYS_ADMIN_USED, c, lambda x: "sethostname" in x.get("syscalls", []))
        self.assertAttributed(cap, c)
        esc = self.agent.wait_for(harness.match(ESCAPED, c), timeout=20)[0]
        self.assertAttributed(esc, c)
        ctx = context(esc)
        self.assertEqual(ctx["how"], "clone3IntoCgroup")
        self.assertEqual(ctx["destinationCgroup"]["level"], 0)
        self.assertEqual(ctx["movedBy"]["kind"], "containerProcess")

    def test_runtime_work_and_own_sub_cgroups_are_silent(self):
        """runc exec health checks, container starts and stops, and a container nesting its
        processes in a sub-cgroup of its own: no move out of a home, no set-up leak."""
        c = self.container(privileged=True, cgroupns="private", name="nested", family="quiet")
        other = self.container(["/bin/sh", "-c", "echo short-lived"], name="short",
                               family="quiet")
        self.register(c)
        self.register(other)
        self.start_agent()
        c.start()
        for _ in range(5):
            self.assertTrue(c.exec(["/bin/sh", "-c", "echo ok >/dev/null"]).ok)
        # A sub-cgroup of its own (systemd or a nested runtime inside a container does this).
        script = ("for d in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do "
                  "[ -e \"$d/cgroup.procs\" ] && mkdir -p \"$d/sub\" 2>/dev/null && "
                  "echo $$ > \"$d/sub/cgroup.procs\" 2>/dev/null; done; sleep 0.2; true")
        self.assertTrue(c.exec(["/bin/sh", "-c", script]).ok)
        r = other.run_to_completion(timeout=60)
        self.assertEqual(r.returncode, 0, r)
        time.sleep(2)
        self.stop_agent()
        for x in (c, other):
            self.assertEqual(self.findings_of(ESCAPED, x), [])
            self.assertEqual(self.capability_findings(x), [])


class CgroupEscapeLegacyTaskAccess(LegacyTaskAccess, CgroupEscape):
    """The same through the legacy task-access twins (the programs 5.10 runs)."""

    legacy_concern = "processLifecycle"
