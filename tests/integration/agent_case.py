"""Common set-up for tests that run the agent against real containers.

Each test gets a fresh fake ECS agent (introspection endpoint on 127.0.0.1) and
starts the ecsguard agent itself when it is ready to, so a test can also start
containers before the agent (the start-up scan case).
"""

import json
import os
import signal
import time
import unittest

import harness
from ecsfake import EcsFake

SYS_ADMIN_USED = "PrivilegeEscalation:Runtime/SysAdminCapabilityUsed"
NET_ADMIN_USED = "PrivilegeEscalation:Runtime/NetAdminCapabilityUsed"
BPF_USED = "PrivilegeEscalation:Runtime/BpfCapabilityUsed"
CAP_DENIED = "Discovery:Runtime/CapabilityDenied"
CAP_USED = "PrivilegeEscalation:Runtime/CapabilityUsed"
NAMESPACED_CAP_USED = "PrivilegeEscalation:Runtime/NamespacedCapabilityUsed"
CAPABILITY_TYPES = (SYS_ADMIN_USED, NET_ADMIN_USED, BPF_USED, CAP_DENIED, CAP_USED,
                    NAMESPACED_CAP_USED)


def context(finding):
    return finding["service"]["runtimeDetails"]["context"]


def process(finding):
    return finding["service"]["runtimeDetails"]["process"]


def task_details(finding):
    return finding["resource"]["ecsClusterDetails"].get("taskDetails", {})


def additional_info(finding):
    """ecsguard's facts in service.additionalInfo.value (a JSON string): the task id from the
    cgroup path, family, revision and status, the Docker name, the context extensions..."""
    return json.loads(finding["service"]["additionalInfo"]["value"])


def last_by_id(findings):
    """The newest line for each finding id (updates repeat the id with a larger count)."""
    latest = {}
    for f in findings:
        latest[f["id"]] = f
    return latest


class LegacyTaskAccess:
    """Mixin: a test class run again through every concern's legacy task-access twins
    (bpf/task.bpf.h), forced with --hook: the programs kernels without bpf_get_current_task_btf,
    bpf_task_pt_regs and bpf_loop (5.10: Amazon Linux 2, older Bottlerocket) load. Skipped where
    the agent picks them by itself (the class's own run is then that run) and where
    ECSGUARD_TEST_HOOKS already forces hooks, and with ECSGUARD_TEST_FORCED_TWINS=0 (the kernel
    matrix's guests unless it runs with --forced-twins, and the native run of scripts/test.sh
    when the matrix follows it). `legacy_concern`: the concern under test, whose
    hook line must say it runs legacy."""

    legacy_concern = None

    def setUp(self):
        if os.environ.get("ECSGUARD_TEST_HOOKS"):
            self.skipTest("ECSGUARD_TEST_HOOKS forces the hooks of this run")
        if harness.chosen_legacy_already(self.legacy_concern):
            self.skipTest("%s loads its legacy twins by itself here" % self.legacy_concern)
        if os.environ.get("ECSGUARD_TEST_FORCED_TWINS") == "0":
            self.skipTest("forced legacy twins not selected (ECSGUARD_TEST_FORCED_TWINS=0): "
                          "they run where a kernel chooses them, the kernel matrix's 5.10 guest")
        self.legacy_args = harness.legacy_hook_args()
        super().setUp()

    def start_agent(self, *extra, health=False, fresh=False):
        agent = super().start_agent(*(tuple(self.legacy_args) + extra), health=health,
                                    fresh=fresh)

        def legacy_hook_logged():
            return any("hook %s:" % self.legacy_concern in line and "legacy task access" in line
                       for line in agent.logs())
        # The agent logs its hooks before it writes the ready file, but the harness reads its
        # stderr in a thread of its own: on a loaded machine the line can arrive after the
        # ready file is seen (the log was still [] at this point in runs with load ~12).
        deadline = time.monotonic() + 10
        while not legacy_hook_logged() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(legacy_hook_logged(), agent.logs()[:8])
        return agent


def _new_fake():
    fake = EcsFake(cluster="default",
                   container_instance_arn="arn:aws:ecs:us-west-2:123456789012:"
                   "container-instance/default/0f1e2d3c4b5a69788796a5b4c3d2e1f0")
    fake.start()
    return fake


class AgentCase(unittest.TestCase):
    """Fake ECS agent + containers + the agent, all torn down after each test.

    `share_agent`: a class whose tests look only at their own containers' findings may share
    one agent (started with the class's default arguments) and one fake ECS agent across its
    tests in a kernel-matrix guest, where an agent's start is most of a test's time (8-17 s
    of BPF verification under emulation; docs/kernel-matrix.md, "Budget"). A test that starts
    the agent with other arguments gets one of its own (beside the shared one, which keeps
    running for the next test), as does one that asks for a `fresh` agent; `stop_agent` on the
    shared agent makes it emit what a stop would (SIGUSR2) and leaves it running. Natively
    every test keeps its own agent."""

    agent_args = ("--report-interval", "1", "--resolve-grace-ms", "3000")
    agent_env = None  # extra environment for the agents this class starts
    share_agent = False
    _shared_fake = None
    _shared_agent = None

    @classmethod
    def _sharing(cls):
        return cls.share_agent and harness.DEFERRED_AGENT_EXIT

    def setUp(self):
        cls = type(self)
        if cls._sharing():
            if cls._shared_fake is None:
                cls._shared_fake = _new_fake()
            self.fake = cls._shared_fake
        else:
            self.fake = _new_fake()
            self.addCleanup(self.fake.cleanup)
        self.containers = []
        self.agent = None

    @classmethod
    def tearDownClass(cls):
        if cls._shared_agent is not None and cls._shared_agent.running():
            cls._shared_agent.stop()
        cls._shared_agent = None
        if cls._shared_fake is not None:
            cls._shared_fake.cleanup()
            cls._shared_fake = None
        # The class's last agent, when its exit was not awaited at its stop (a guest).
        harness.reap_exiting_agents()
        super().tearDownClass()

    def tearDown(self):
        shared = self.agent is not None and self.agent is type(self)._shared_agent
        if shared and self.agent.running():
            # A test that failed while the agent was stopped must not leave it so.
            os.kill(self.agent.proc.pid, signal.SIGCONT)
        for c in reversed(self.containers):
            try:
                c.delete()
            except Exception as exc:  # cleanup must go on for the others
                print("cleanup of %s failed: %s" % (c, exc))
        if self.agent is not None and self.agent.running() and not shared:
            self.agent.stop()

    # -- containers -----------------------------------------------------------------------

    def container(self, *args, register=True, **options):
        """A container (not started) whose task the fake ECS agent knows when register=True."""
        c = harness.Container(*args, **options) if args else harness.Container(**options)
        self.containers.append(c)
        return c

    def register(self, *containers):
        """Tell the fake ECS agent about one task made of these containers."""
        self.fake.add_raw_task(harness.task_response(list(containers)))

    def started_in_task(self, default_family, **options):
        """A container of a task of `default_family` (or the `family` option), registered and
        started, with the agent running first (nothing it does is missed)."""
        options.setdefault("family", default_family)
        c = self.container(**options)
        self.register(c)
        if self.agent is None:
            self.start_agent()
        c.start()
        return c

    # -- agent --------------------------------------------------------------------------

    def start_agent(self, *extra, health=False, fresh=False):
        """`fresh`: an agent of this test's own even where the class shares one (a test of
        what an agent does at its start)."""
        cls = type(self)
        share = cls._sharing() and not extra and not health and not fresh
        if share and cls._shared_agent is not None and cls._shared_agent.running():
            self.agent = cls._shared_agent
            return self.agent
        if share and cls._shared_agent is not None:
            gone = cls._shared_agent
            cls._shared_agent = None
            # Stopped by a test: a new one. Exited by itself: that is a failure, not a restart.
            stopped = gone.stopped_by is not None or gone.returncode == 0
            self.assertTrue(stopped, "the shared agent exited on its own (%r); logs:\n%s"
                            % (gone.proc.poll(), "\n".join(gone.logs()[-30:])))
        # A test's own agent runs beside the shared one, which the next test takes again: each
        # agent's programs see every container, and a test reads only its own agent.
        args = list(self.agent_args) + [str(a) for a in extra]
        self.agent = harness.Agent(introspection_url=self.fake.base_url, extra_args=args,
                                   health_file=health, env=self.agent_env)
        self.agent.start()
        self.agent.wait_ready()
        if share:
            cls._shared_agent = self.agent
        return self.agent

    def stop_agent(self):
        """SIGTERM (pending updates are flushed); asserts a clean exit (in a kernel-matrix
        guest when the exit is awaited, harness.DEFERRED_AGENT_EXIT). A shared agent is not
        stopped: SIGUSR2 makes it emit what a stop would, and this returns once every line it
        wrote is read."""
        if self.agent is type(self)._shared_agent and self.agent.running():
            self.agent.flush()
            return self.agent.findings()
        code = self.agent.stop()
        if code is not None or not harness.DEFERRED_AGENT_EXIT:
            self.assertEqual(code, 0,
                             "agent exit status; logs:\n" + "\n".join(self.agent.logs()[-30:]))
        return self.agent.findings()

    def capability_findings(self, container=None):
        found = [f for f in self.agent.findings() if f.get("type") in CAPABILITY_TYPES]
        if container is not None:
            found = [f for f in found if container.id in harness.finding_container_ids(f)]
        return found

    def findings_of(self, type_, c):
        """Every line of the container's findings of `type_`, oldest first."""
        return [f for f in self.agent.findings()
                if f.get("type") == type_ and c.id in harness.finding_container_ids(f)]

    def run_with_agent_stopped(self, c, timeout=60):
        """Runs container `c` to completion and deletes it while the agent is stopped
        (SIGSTOP): nothing of it is alive when the agent reads its events."""
        os.kill(self.agent.proc.pid, signal.SIGSTOP)
        try:
            r = c.run_to_completion(timeout=timeout)
            self.assertEqual(r.returncode, 0, r)
            c.delete()
        finally:
            os.kill(self.agent.proc.pid, signal.SIGCONT)

    def wait_context(self, type_, c, pred, timeout=20):
        """The newest line of the container's `type_` finding once pred(context) holds."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            found = self.findings_of(type_, c)
            if found:
                last = found[-1]
                if pred(context(last)):
                    return last
            time.sleep(0.3)
        raise AssertionError("condition not met; last %s finding: %s; logs: %s"
                             % (type_, json.dumps(last, indent=1), self.agent.logs()[-10:]))

    def assertAttributed(self, finding, container):
        """The finding names this container, its task ARN, family and container name."""
        td = task_details(finding)
        self.assertEqual(td.get("arn"), harness.task_arn(container.task_id), finding)
        self.assertEqual(td.get("definitionArn", "").rsplit("/", 1)[-1],
                         "%s:%s" % (container.family, container.version))
        extra = additional_info(finding)
        self.assertEqual(extra.get("taskFamily"), container.family)
        self.assertEqual(extra.get("taskRevision"), container.version)
        self.assertEqual(extra.get("taskId"), container.task_id)
        names = [c.get("name") for c in td.get("containers", [])]
        ids = [c.get("id") for c in td.get("containers", [])]
        self.assertEqual(ids, [container.id])
        self.assertEqual(names, [container.name])
        self.assertEqual(finding["resource"]["containerDetails"]["id"], container.id)
        self.assertEqual(finding["region"], harness.REGION)
        self.assertEqual(finding["accountId"], harness.ACCOUNT)


def fs_setup_hooks_unseen():
    """Why the kernel's programs where a file system is set up for a mount (block mounts, the
    new mount API, the tmpfs a container made) are not attached here, or None when they are:
    fentry, or the kprobes loaded with the tracepoints where fentry cannot attach. The probe's
    report, for the skip message."""
    hook = harness.probe_report()["hooks"]["rootfsWrites"]
    if (hook.get("chosen") or "").startswith("fentry"):
        return None
    lines = [a for a in hook.get("attempts", []) if "(file systems mounted)" in a["attach"]]
    if lines and lines[-1]["result"] == "ok":
        return None
    return ("file systems set up for mounts are seen at function hooks only (fentry, or "
            "kprobes); rootfsWrites here: %s (%s)" % (hook.get("chosen"), "; ".join(
                "%s: %s" % (a["attach"], a["result"]) for a in hook["attempts"])))


def verdict_hooks_unseen():
    """Why the kernel's verdict hooks on the LSM path-op hooks (where a name lands, and its
    name) are not attached here, or None when they are: fentry's line, or where that attached
    nothing, the kprobes' after the fallback. The probe's report, for the skip message."""
    hook = harness.probe_report()["hooks"]["rootfsWrites"]
    verdicts = [a for a in hook.get("attempts", []) if "security_inode_" in a["attach"]]
    if verdicts and verdicts[-1]["result"].startswith("ok"):
        return None
    return ("the kernel decides and names path operations only at function hooks (fentry or "
            "kprobes); rootfsWrites here: %s; %s" % (hook.get("chosen"), "; ".join(
                "%s: %s" % (a["attach"], a["result"]) for a in hook["attempts"])))


def egprobe_host():
    """Path of the static egprobe helper for running the same actions on the host."""
    path = os.environ.get("ECSGUARD_EGPROBE") or harness.find_egprobe()
    if not path or not os.path.exists(path):
        raise AssertionError("egprobe helper not built (ECSGUARD_EGPROBE): it is part of the build")
    return path
