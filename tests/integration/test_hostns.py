"""Host PID namespace sharing and acting on processes outside the task (issue 3).

Real kernel, real runc containers in ECS cgroup layouts, a fake ECS agent. Host
processes to act on are egprobe sleepers started by the test itself (the VM's
/proc/1 is not usable as a target here).
"""

import json
import os
import subprocess
import time
import unittest

import harness
from agent_case import AgentCase, LegacyTaskAccess, context, egprobe_host, process

HOST_PID_NS = "PrivilegeEscalation:Runtime/ContainerSharesHostPidNamespace"
NS_ENTERED = "PrivilegeEscalation:Runtime/HostNamespaceEntered"
PTRACE = "DefenseEvasion:Runtime/ProcessInjection.Ptrace"
VM_WRITE = "DefenseEvasion:Runtime/ProcessInjection.VirtualMemoryWrite"
PROC_MEM = "DefenseEvasion:Runtime/ProcessInjection.Proc"
SIGNALED = "Impact:Runtime/HostProcessSignaled"
SYS_ADMIN_USED = "PrivilegeEscalation:Runtime/SysAdminCapabilityUsed"
HOSTNS_TYPES = (HOST_PID_NS, NS_ENTERED, PTRACE, VM_WRITE, PROC_MEM, SIGNALED)
ACCESS_TYPES = (NS_ENTERED, PTRACE, VM_WRITE, PROC_MEM, SIGNALED)


def pidfd_helper_dir():
    """The build's directory holding hostns_pidfd (static; egprobe has no pidfd actions)."""
    return harness.built_helper_dir("hostns_pidfd")


def additional_info(finding):
    return json.loads(finding["service"]["additionalInfo"]["value"])


def proc_start_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[19])


class HostSleeper:
    """A host process (outside every container) to act on."""

    def __init__(self, seconds=120):
        self.proc = subprocess.Popen([egprobe_host(), "sleep", str(seconds)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.pid = self.proc.pid
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # exec'd: /proc shows egprobe, not python
            with open("/proc/%d/comm" % self.pid) as f:
                if f.read().strip() == "egprobe":
                    break
            time.sleep(0.01)
        self.start_ticks = proc_start_ticks(self.pid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


class HostNamespaces(AgentCase):

    @classmethod
    def setUpClass(cls):
        why = harness.concern_unavailable("hostNamespaces")
        if why:
            raise unittest.SkipTest(why)

    def host_sleeper(self):
        s = HostSleeper()
        self.addCleanup(s.stop)
        return s

    def hostns_findings(self, container=None, types=HOSTNS_TYPES):
        """Findings of these types about `container`, else about any container of this test
        (other containers on the host are not this test's business)."""
        found = [f for f in self.agent.findings() if f.get("type") in types]
        mine = [container] if container is not None else self.containers
        return [f for f in found
                if any(c.id in harness.finding_container_ids(f) for c in mine)]

    def assertHostTarget(self, finding, sleeper):
        t = context(finding)["targetProcess"]
        self.assertEqual(t["pid"], sleeper.pid, finding)
        self.assertIs(context(finding)["targetHostProcess"], True)
        self.assertEqual(t["name"], "egprobe")
        self.assertEqual(t["executablePath"], os.path.realpath(egprobe_host()))
        self.assertNotIn("targetContainerId", context(finding))
        # Identity by pid + start time: the start time is the sleeper's (tick precision).
        hz = os.sysconf("SC_CLK_TCK")
        with open("/proc/stat") as f:
            btime = int([l for l in f if l.startswith("btime")][0].split()[1])
        self.assertAlmostEqual(t["startTime"], btime + sleeper.start_ticks / hz, delta=2.0)

    # -- sharing the host pid namespace -------------------------------------------------------

    def test_host_pid_container_is_reported_once_and_resolved_to_its_task(self):
        c = self.container(pid_mode="host", name="debug", family="tools", version="3")
        self.register(c)
        self.start_agent()
        c.start()
        for _ in range(3):
            c.exec(["/bin/egprobe", "sleep", "0"])
        [f] = self.agent.wait_for(harness.match(HOST_PID_NS, c), timeout=20)
        self.assertAttributed(f, c)
        self.assertEqual(f["severity"], 5.0)
        self.assertEqual(context(f)["namespaceKind"], "pid")
        self.assertIs(context(f)["hostPidNamespace"], True)
        p = process(f)
        self.assertEqual(p["pid"], p["namespacePid"])  # its pids are host pids
        info = additional_info(f)
        self.assertIs(info["hostPidNamespace"], True)
        self.assertIs(info["hostNetwork"], False)
        self.assertIs(info["hostIpc"], False)
        self.assertIs(info["hostUts"], False)
        findings = self.stop_agent()
        self.assertEqual(len({x["id"] for x in findings if harness.match(HOST_PID_NS, c)(x)}), 1)

    @harness.native_only('read from /proc by the agent')
    def test_host_network_is_recorded_next_to_the_finding(self):
        c = self.container(pid_mode="host", network_mode="host", name="edge", family="net")
        self.register(c)
        self.start_agent()
        c.start()
        [f] = self.agent.wait_for(harness.match(HOST_PID_NS, c), timeout=20)
        info = additional_info(f)
        self.assertIs(info["hostNetwork"], True)
        self.assertIs(info["hostUts"], False)

    def test_own_pid_namespace_is_not_reported(self):
        c = self.container(name="web", family="web")
        self.register(c)
        self.start_agent()
        c.start()
        c.exec(["/bin/sh", "-c", "ls / >/dev/null; /bin/egprobe spin-fork 5 >/dev/null"])
        time.sleep(2)
        self.stop_agent()
        self.assertEqual(self.hostns_findings(c), [])

    def test_task_sharing_one_pid_namespace_is_not_flagged_and_attributed_separately(self):
        app = self.container(name="app", family="svc", caps_add=["CAP_SYS_ADMIN", "CAP_SYS_PTRACE"])
        side = self.container(task_id=app.task_id, name="sidecar", family="svc",
                              join_pid_ns_of=app, caps_add=["CAP_SYS_ADMIN", "CAP_SYS_PTRACE"])
        self.register(app, side)
        self.start_agent()
        app.start()
        side.start()
        # The sidecar acts on the app's init (pid 1 in the shared namespace) and back.
        side.exec(["/bin/egprobe", "kill", "1", "CONT"])
        side.exec(["/bin/egprobe", "ptrace-attach", "1"])
        side.exec(["/bin/egprobe", "vm-write", "1"], check=False)
        app.exec(["/bin/egprobe", "kill", "1", "CONT"])
        # Each container's own capability use names that container, not its sibling.
        app.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"])
        side.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"])
        [fa] = self.agent.wait_for(harness.match(SYS_ADMIN_USED, app), timeout=20)
        [fs] = self.agent.wait_for(harness.match(SYS_ADMIN_USED, side), timeout=20)
        self.assertAttributed(fa, app)
        self.assertAttributed(fs, side)
        self.assertNotEqual(process(fa)["pid"], process(fs)["pid"])
        time.sleep(1.5)
        self.stop_agent()
        # Other containers on the host (other test runs) are not this test's business.
        self.assertEqual(self.hostns_findings(app) + self.hostns_findings(side), [])

    def test_host_pid_container_running_before_the_agent_is_reported(self):
        c = self.container(pid_mode="host", name="early", family="batch")
        self.register(c)
        c.start()
        self.start_agent()
        [f] = self.agent.wait_for(harness.match(HOST_PID_NS, c), timeout=20)
        self.assertAttributed(f, c)
        self.assertEqual(context(f)["detectedBy"], "startupScan")
        self.assertEqual(process(f)["pid"], c.pid())
        self.assertEqual(process(f)["executablePath"], "/bin/egprobe")

    # -- entering host namespaces ---------------------------------------------------------------

    def test_setns_into_the_host_mount_namespace_is_high(self):
        sleeper = self.host_sleeper()
        c = self.container(privileged=True, pid_mode="host", name="nsenter", family="tools")
        self.register(c)
        self.start_agent()
        c.start()
        r = c.exec(["/bin/egprobe", "setns", str(sleeper.pid), "mnt"])
        self.assertTrue(r.ok, r)
        [f] = self.agent.wait_for(harness.match(NS_ENTERED, c), timeout=20)
        self.assertAttributed(f, c)
        self.assertEqual(f["severity"], 7.5)
        ctx = context(f)
        self.assertEqual(ctx["namespaceKinds"], ["mnt"])
        self.assertEqual(ctx["namespaceKindsAlreadyShared"], [])
        self.assertEqual(ctx["targetNamespace"]["kind"], "mnt")
        self.assertNotIn("targetProcess", ctx)  # a namespace file names no process
        self.assertIs(ctx["targetHostProcess"], True)
        self.assertEqual(ctx["targetNamespace"]["inode"],
                         os.stat("/proc/%d/ns/mnt" % sleeper.pid).st_ino)
        self.assertEqual(process(f)["executablePath"], "/bin/egprobe")

    def test_setns_into_a_sibling_namespace_is_not_host_entry(self):
        app = self.container(name="app", family="svc")
        c = self.container(task_id=app.task_id, privileged=True, name="dbg", family="svc",
                           join_pid_ns_of=app)
        self.register(app, c)
        self.start_agent()
        app.start()
        c.start()
        r = c.exec(["/bin/egprobe", "setns", "1", "uts"])  # the app's own uts namespace
        self.assertTrue(r.ok, r)
        time.sleep(1.5)
        self.stop_agent()
        self.assertEqual(self.hostns_findings(c, types=(NS_ENTERED,))
                         + self.hostns_findings(app, types=(NS_ENTERED,)), [])

    # -- acting on processes outside the task ---------------------------------------------------

    def test_ptrace_of_a_host_process(self):
        sleeper = self.host_sleeper()
        c = self.container(pid_mode="host", caps_add=["CAP_SYS_PTRACE"], name="tracer",
                           family="obs")
        self.register(c)
        self.start_agent()
        c.start()
        r = c.exec(["/bin/egprobe", "ptrace-attach", str(sleeper.pid)])
        self.assertTrue(r.ok, r)
        [f] = self.agent.wait_for(harness.match(PTRACE, c), timeout=20)
        self.assertAttributed(f, c)
        self.assertEqual(f["severity"], 5.0)
        self.assertEqual(context(f)["ptraceRequest"], "PTRACE_ATTACH")
        self.assertHostTarget(f, sleeper)

    def test_kill_of_a_host_process(self):
        sleeper = self.host_sleeper()
        c = self.container(pid_mode="host", name="reaper", family="ops")
        self.register(c)
        self.start_agent()
        c.start()
        r = c.exec(["/bin/egprobe", "kill", str(sleeper.pid), "TERM"])
        self.assertTrue(r.ok, r)
        self.assertEqual(sleeper.proc.wait(timeout=10), -15)
        [f] = self.agent.wait_for(harness.match(SIGNALED, c), timeout=20)
        self.assertAttributed(f, c)
        self.assertEqual(f["severity"], 5.0)
        self.assertEqual(context(f)["signal"], 15)
        self.assertEqual(context(f)["syscall"], "kill")
        # The target is gone before the agent looks: identity came from the kernel at the call.
        self.assertHostTarget(f, sleeper)

    def test_vm_write_and_proc_mem_of_a_host_process_are_high(self):
        sleeper = self.host_sleeper()
        c = self.container(privileged=True, pid_mode="host", name="inject", family="obs")
        self.register(c)
        self.start_agent()
        c.start()
        c.exec(["/bin/egprobe", "vm-write", str(sleeper.pid)], check=False)
        r = c.exec(["/bin/egprobe", "proc-mem-open", str(sleeper.pid)])
        self.assertTrue(r.ok, r)
        [fv] = self.agent.wait_for(harness.match(VM_WRITE, c), timeout=20)
        [fp] = self.agent.wait_for(harness.match(PROC_MEM, c), timeout=20)
        for f in (fv, fp):
            self.assertAttributed(f, c)
            self.assertEqual(f["severity"], 8.0)
            self.assertHostTarget(f, sleeper)
        self.assertEqual(context(fp)["filePath"], "/proc/%d/mem" % sleeper.pid)

    def proc_mem_opens_through_every_open_call(self, *agent_args):
        """A host-pid container opens a host process's /proc/<pid>/mem for writing through each
        open call the architecture has; each one raises the count of its findings by one."""
        sleeper = self.host_sleeper()
        c = self.container(privileged=True, pid_mode="host", name="inject", family="obs")
        self.register(c)
        self.start_agent(*agent_args)
        c.start()

        def counted():
            """The last line of each finding (an update repeats its id), their counts summed."""
            last = {f["id"]: f for f in self.hostns_findings(c, types=(PROC_MEM,))}
            return sum(f["service"]["count"] for f in last.values())
        calls = ["openat", "openat2"]
        if os.uname().machine == "x86_64":
            calls += ["open", "creat"]  # x86_64's older calls; arm64 has neither
        for n, call in enumerate(calls, 1):
            r = c.exec(["/bin/egprobe", "proc-mem-open", str(sleeper.pid), call])
            self.assertTrue(r.ok, r)
            # The kernel folds a key's repeats into one record a second: wait for each.
            self.agent.wait_for(lambda f: harness.match(PROC_MEM, c)(f) and counted() >= n,
                                timeout=20)
            self.assertEqual(counted(), n, call)
        for f in self.hostns_findings(c, types=(PROC_MEM,)):
            self.assertAttributed(f, c)
            self.assertHostTarget(f, sleeper)
        return [line for line in self.agent.logs() if "hook hostNamespaces:" in line]

    def test_proc_mem_write_opens_through_every_open_call_are_seen(self):
        """With the syscall tracepoints the check runs from the root filesystem concern's open
        exits (a tail call: one container verdict per open of a host process, not two) where
        both concerns use them and the kernel allows it; with fentry, at mem_open, which every
        open call reaches."""
        hook = self.proc_mem_opens_through_every_open_call()
        report = harness.probe_report()
        hooks = report["hooks"]
        tails = (report["subprogramTailCalls"]["allowed"]
                 and (hooks["hostNamespaces"]["chosen"] or "").startswith("tracepoint")
                 and (hooks["rootfsWrites"]["chosen"] or "").startswith("tracepoint"))
        self.assertEqual(any("open check from rootfsWrites' open exits" in line for line in hook),
                         tails, hook)

    def test_proc_mem_write_opens_are_seen_without_the_root_filesystem_concern(self):
        """The same with that concern off: this one attaches its own open exits (tracepoints)."""
        # The kernel matrix may turn it off for every agent already (a second --hook for one
        # concern is refused), or force it on.
        forced = [a for a in harness.forced_hook_args() if a.startswith("rootfsWrites=")]
        if forced and forced != ["rootfsWrites=off"]:
            self.skipTest("this run forces %s for every agent" % forced[0])
        hook = self.proc_mem_opens_through_every_open_call(
            *(() if forced else ("--hook", "rootfsWrites=off")))
        self.assertFalse(any("open check from rootfsWrites" in line for line in hook), hook)

    @harness.native_only("attribution of the target in the agent; the target fields come from the"
                         " same programs as test_kill_of_a_host_process")
    def test_acting_on_another_task_names_that_task(self):
        victim = self.container(pid_mode="host", name="victim", family="other")
        c = self.container(pid_mode="host", caps_add=["CAP_SYS_PTRACE"], name="attacker",
                           family="tools")
        self.register(victim)
        self.register(c)
        self.start_agent()
        victim.start()
        c.start()
        r = c.exec(["/bin/egprobe", "kill", str(victim.pid()), "CONT"])
        self.assertTrue(r.ok, r)
        [f] = self.agent.wait_for(harness.match(SIGNALED, c), timeout=20)
        t = context(f)["targetProcess"]
        self.assertIs(context(f)["targetHostProcess"], False)
        self.assertEqual(context(f)["targetContainerId"], victim.id)
        self.assertEqual(context(f)["targetTaskId"], victim.task_id)
        self.assertEqual(t["pid"], victim.pid())

    def test_same_actions_on_its_own_processes_give_nothing(self):
        """A host-pid container acting on its own init, and a private-pid one on its own."""
        hostpid = self.container(privileged=True, pid_mode="host", name="self", family="a")
        private = self.container(privileged=True, name="priv", family="b")
        self.register(hostpid)
        self.register(private)
        self.start_agent("--health-interval", "1", health=True)
        hostpid.start()
        private.start()
        for c, target in ((hostpid, str(hostpid.pid())), (private, "1")):
            c.exec(["/bin/egprobe", "ptrace-attach", target])
            c.exec(["/bin/egprobe", "vm-write", target], check=False)
            c.exec(["/bin/egprobe", "proc-mem-open", target])
            c.exec(["/bin/egprobe", "kill", target, "CONT"])
        # A shell's kill loop on itself: filtered in the kernel, every one counted.
        private.exec(["/bin/sh", "-c", "i=0; while [ $i -lt 300 ]; do kill -CONT 1; "
                      "i=$((i+1)); done"])
        time.sleep(2.5)
        with open(self.agent.health_file) as fh:
            health = json.load(fh)
        self.stop_agent()
        self.assertEqual(self.hostns_findings(hostpid, types=ACCESS_TYPES)
                         + self.hostns_findings(private, types=ACCESS_TYPES), [])
        ev = health["kernelEvents"]["processAccess"]
        self.assertEqual(ev["seen"], ev["sent"] + ev["deduplicated"] + ev["dropped"]
                         + ev["filtered"], ev)
        self.assertGreaterEqual(health["kernelFilterReasons"]["sameContainer"], 300, health)

    @harness.native_only("dedup and fold are the same code on every kernel; test_identity's "
                         "signal burst runs in the guests")
    def test_repeated_signals_are_one_finding_and_every_event_is_counted(self):
        sleeper = self.host_sleeper()
        c = self.container(pid_mode="host", name="spam", family="ops")
        self.register(c)
        self.start_agent("--health-interval", "1", health=True)
        c.start()
        c.exec(["/bin/sh", "-c", "i=0; while [ $i -lt 200 ]; do kill -CONT %d; i=$((i+1)); "
                "done" % sleeper.pid])
        self.agent.wait_for(harness.match(SIGNALED, c), timeout=20)
        time.sleep(2.5)
        with open(self.agent.health_file) as fh:
            health = json.load(fh)
        findings = self.stop_agent()
        ids = {f["id"] for f in findings if harness.match(SIGNALED, c)(f)}
        self.assertEqual(len(ids), 1)
        ev = health["kernelEvents"]["processAccess"]
        self.assertGreaterEqual(ev["seen"], 200, ev)
        self.assertGreater(ev["deduplicated"], 0, ev)
        self.assertEqual(ev["seen"], ev["sent"] + ev["deduplicated"] + ev["dropped"]
                         + ev["filtered"], ev)

    def test_pidfd_signal_and_pidfd_setns_resolve_the_target(self):
        sleeper = self.host_sleeper()
        c = self.container(privileged=True, pid_mode="host", name="pidfd", family="tools",
                           volumes=[(pidfd_helper_dir(), "/helper", "ro")])
        self.register(c)
        self.start_agent()
        c.start()
        r = c.exec(["/helper/hostns_pidfd", "signal", str(sleeper.pid), "18"])  # SIGCONT
        self.assertTrue(r.ok, r)
        r = c.exec(["/helper/hostns_pidfd", "setns", str(sleeper.pid)])
        self.assertTrue(r.ok, r)
        [fs] = self.agent.wait_for(harness.match(SIGNALED, c), timeout=20)
        self.assertEqual(context(fs)["syscall"], "pidfd_send_signal")
        self.assertEqual(context(fs)["signal"], 18)
        self.assertHostTarget(fs, sleeper)
        [fn] = self.agent.wait_for(harness.match(NS_ENTERED, c), timeout=20)
        self.assertEqual(context(fn)["namespaceKinds"], ["mnt"])
        self.assertNotIn("targetNamespace", context(fn))
        self.assertHostTarget(fn, sleeper)

    def test_a_new_process_with_a_reused_pid_is_a_new_target(self):
        """Two host processes, one after the other, are two targets even when the kernel hands
        out the same pid: identity is pid + start time."""
        c = self.container(pid_mode="host", name="killer", family="ops")
        self.register(c)
        self.start_agent()
        c.start()
        first = self.host_sleeper()
        c.exec(["/bin/egprobe", "kill", str(first.pid), "KILL"])
        first.proc.wait(timeout=10)
        second = self.host_sleeper()
        c.exec(["/bin/egprobe", "kill", str(second.pid), "KILL"])
        found = self.agent.wait_for(harness.match(SIGNALED, c), timeout=20, count=2)
        uuids = {context(f)["targetProcess"]["uuid"] for f in found}
        self.assertEqual(len(uuids), 2)
        self.assertEqual({context(f)["targetProcess"]["pid"] for f in found},
                         {first.pid, second.pid})


class HostNamespacesLegacyTaskAccess(LegacyTaskAccess, HostNamespaces):
    """Every host-namespace test again through the legacy task-access twins: what 5.10 loads."""

    legacy_concern = "hostNamespaces"


@harness.native_only("the agent's own mount namespace: how it reads /proc, not a kernel path")
class AgentInAMountNamespaceOfItsOwn(AgentCase):
    """Deployed as an ECS daemon the agent shares the host's pid namespace and network, but
    runs in its own container's mount namespace (and UTS, IPC): the host's namespaces are
    PID 1's, not its own. Here the agent runs under `unshare --mount` to be in that position;
    this VM's PID 1 has namespaces even root cannot open, so the test names itself, a process in
    the host's namespaces, as the host process (`--host-ns-pid`), where a real host uses PID 1."""

    @classmethod
    def setUpClass(cls):
        why = harness.concern_unavailable("hostNamespaces")
        if why:
            raise unittest.SkipTest(why)

    def start_agent(self, *extra, health=False):
        class DaemonLikeAgent(harness.Agent):
            def command(self):
                return ["unshare", "--mount", "--propagation", "private"] + super().command()

        args = list(self.agent_args) + [str(a) for a in extra]
        self.agent = DaemonLikeAgent(introspection_url=self.fake.base_url, extra_args=args,
                                     health_file=health)
        self.agent.start()
        self.agent.wait_ready()
        return self.agent

    def test_setns_into_the_host_mount_namespace_is_seen_from_a_mount_namespace_of_its_own(self):
        sleeper = HostSleeper()
        self.addCleanup(sleeper.stop)
        c = self.container(privileged=True, pid_mode="host", name="nsenter", family="tools")
        self.register(c)
        self.start_agent("--host-ns-pid", os.getpid())
        agent_mnt = os.stat("/proc/%d/ns/mnt" % self.agent.proc.pid).st_ino
        host_mnt = os.stat("/proc/self/ns/mnt").st_ino
        self.assertNotEqual(agent_mnt, host_mnt,
                            "the agent should run in a mount namespace of its own")
        c.start()
        r = c.exec(["/bin/egprobe", "setns", str(sleeper.pid), "mnt"])
        self.assertTrue(r.ok, r)
        [f] = self.agent.wait_for(harness.match(NS_ENTERED, c), timeout=20)
        self.assertAttributed(f, c)
        ctx = context(f)
        self.assertEqual(ctx["namespaceKinds"], ["mnt"])
        self.assertEqual(ctx["targetNamespace"]["inode"], host_mnt)


if __name__ == "__main__":
    unittest.main()
