"""The running agent confines itself (agent/hardening, docs/hardening.md): once its programs are
attached and the start-up scan is done it keeps three capabilities on its main thread and none
on its workers, sets no_new_privs and runs under its seccomp allowlist on every thread, and
still does its whole job. Every other integration test runs the confined agent as well: a
system call missing from the allowlist kills it there (the harness names the call)."""

import json
import os
import signal
import tempfile
import time

import harness
from agent_case import AgentCase, SYS_ADMIN_USED

ROOTFS_MODIFIED = "Persistence:Runtime/ContainerRootFilesystemModified"
CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE, CAP_BPF = 2, 19, 39
KEPT = 1 << CAP_DAC_READ_SEARCH | 1 << CAP_SYS_PTRACE | 1 << CAP_BPF


def proc_status(path):
    with open(path) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


class Confinement(AgentCase):

    def thread_statuses(self):
        pid = self.agent.proc.pid
        out = {}
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                out[int(tid)] = proc_status("/proc/%d/task/%s/status" % (pid, tid))
            except OSError:  # a short-lived thread (the resolver's) that just ended
                pass
        return out

    def health(self):
        with open(self.agent.health_file) as f:
            return json.load(f)

    def test_running_agent_is_confined_and_still_does_its_job(self):
        fd, policy = tempfile.mkstemp(prefix="policy-", suffix=".yaml")
        os.write(fd, b"version: 1\n")
        os.close(fd)
        self.addCleanup(os.unlink, policy)
        app = self.container(caps_add=["CAP_SYS_ADMIN"], name="app", family="web")
        self.register(app)
        self.start_agent("--policy", policy, "--health-interval", "1", health=True)
        pid = self.agent.proc.pid
        main = proc_status("/proc/%d/status" % pid)
        self.assertEqual(main["Seccomp"], "2", main)
        self.assertEqual(main["NoNewPrivs"], "1", main)
        eff = int(main["CapEff"], 16)
        self.assertEqual(eff & ~KEPT, 0, "capabilities beyond the kept three: %#x" % eff)
        self.assertEqual(int(main["CapPrm"], 16), eff, main)  # nothing left to raise again
        self.assertEqual(int(main["CapInh"], 16), 0)
        threads = self.thread_statuses()
        self.assertGreater(len(threads), 1, "the introspection worker is a thread")
        for tid, st in threads.items():
            self.assertEqual(st["Seccomp"], "2", (tid, st))  # the filter is on every thread
            self.assertEqual(st["NoNewPrivs"], "1", (tid, st))
            if tid != pid:
                self.assertEqual(int(st["CapEff"], 16), 0, (tid, st["Name"], st["CapEff"]))
                self.assertEqual(int(st["CapPrm"], 16), 0, (tid, st["Name"], st["CapPrm"]))

        # After confinement: a capability finding with its task, a root-filesystem write, a
        # policy reload, a health record, and a clean stop (the harness fails a SIGSYS death).
        app.start()
        r = app.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"])
        self.assertTrue(r.ok, r)
        [f] = self.agent.wait_for(harness.match(SYS_ADMIN_USED, app), timeout=20)
        self.assertAttributed(f, app)
        r = app.exec(["/bin/sh", "-c", "echo x > /written-while-confined"])
        self.assertTrue(r.ok, r)
        self.wait_context(ROOTFS_MODIFIED, app,
                          lambda ctx: ctx.get("filePath") == "/written-while-confined")
        before = len(self.agent.logs())
        self.agent.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while not any("policy reloaded" in l for l in self.agent.logs()[before:]):
            self.assertLess(time.monotonic(), deadline, self.agent.logs()[before:])
            time.sleep(0.05)
        time.sleep(1.5)  # a health record written under the filter
        conf = self.health()["confinement"]
        self.assertEqual(conf["seccomp"], "enforce")
        self.assertTrue(conf["filterLoaded"])
        self.assertTrue(conf["noNewPrivs"])
        self.assertLessEqual(set(conf["capabilities"]),
                             {"CAP_DAC_READ_SEARCH", "CAP_SYS_PTRACE", "CAP_BPF"})
        self.assertTrue(self.agent.running())
        self.stop_agent()

    def test_no_seccomp_is_said_loudly_and_keeps_the_capability_drop(self):
        self.start_agent("--no-seccomp", "--health-interval", "1", health=True)
        main = proc_status("/proc/%d/status" % self.agent.proc.pid)
        self.assertEqual(main["Seccomp"], "0", main)
        self.assertEqual(main["NoNewPrivs"], "1", main)
        self.assertEqual(int(main["CapEff"], 16) & ~KEPT, 0, main["CapEff"])
        self.assertTrue(any("warn" in l and "SECCOMP OFF" in l for l in self.agent.logs()),
                        self.agent.logs()[:20])
        time.sleep(1.5)
        conf = self.health()["confinement"]
        self.assertEqual(conf["seccomp"], "off")
        self.assertFalse(conf["filterLoaded"])
        self.stop_agent()


class UnprivilegedDaemonVariant(AgentCase):
    """The daemon task definition without `privileged` (deploy/ecs/*-unprivileged.json) adds
    exactly SYS_ADMIN, SYSLOG, SYS_PTRACE, DAC_READ_SEARCH and SYS_RESOURCE: the agent started
    with only those loads, confines itself keeping SYS_ADMIN in place of the BPF it was not
    given, and reports capability use and root-filesystem writes."""

    agent_env = {"ECSGUARD_TEST_AGENT_CAPS": "ecs-unprivileged"}

    def test_loads_confines_and_reports_with_the_ecs_capability_set(self):
        app = self.container(caps_add=["CAP_SYS_ADMIN"], name="app", family="web")
        self.register(app)
        self.start_agent("--health-interval", "1", health=True)
        main = proc_status("/proc/%d/status" % self.agent.proc.pid)
        self.assertEqual(main["Seccomp"], "2", main)
        bnd = int(main["CapBnd"], 16)
        ecs_set = 1 << 21 | 1 << 34 | 1 << CAP_SYS_PTRACE | 1 << CAP_DAC_READ_SEARCH | 1 << 24
        # (what this test runs with bounds it too: this VM's root has no CAP_SYS_RESOURCE)
        own = int(proc_status("/proc/self/status")["CapBnd"], 16)
        self.assertEqual(bnd, ecs_set & own, "started with the ECS set only: %#x" % bnd)
        self.assertEqual(int(main["CapEff"], 16),
                         1 << 21 | 1 << CAP_SYS_PTRACE | 1 << CAP_DAC_READ_SEARCH, main["CapEff"])
        app.start()
        r = app.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"])
        self.assertTrue(r.ok, r)
        [f] = self.agent.wait_for(harness.match(SYS_ADMIN_USED, app), timeout=20)
        self.assertAttributed(f, app)
        r = app.exec(["/bin/sh", "-c", "echo x > /written-unprivileged"])
        self.assertTrue(r.ok, r)
        self.wait_context(ROOTFS_MODIFIED, app,
                          lambda ctx: ctx.get("filePath") == "/written-unprivileged")
        time.sleep(1.5)
        self.assertEqual(sorted(self.health()["confinement"]["capabilities"]),
                         ["CAP_DAC_READ_SEARCH", "CAP_SYS_ADMIN", "CAP_SYS_PTRACE"])
        self.stop_agent()

    def health(self):
        with open(self.agent.health_file) as f:
            return json.load(f)
