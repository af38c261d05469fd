"""Capability-use findings on the real kernel with real runc containers (issue: agent core).

Every test runs the agent against containers in ECS cgroup layouts and a fake
ECS agent on 127.0.0.1 that follows the real agent's lookup rules.
"""

import datetime
import json
import mmap
import os
import subprocess
import tempfile
import time
import unittest

import harness
from agent_case import (AgentCase, BPF_USED, CAP_DENIED, CAP_USED, CAPABILITY_TYPES,
                        LegacyTaskAccess, NAMESPACED_CAP_USED, NET_ADMIN_USED, SYS_ADMIN_USED,
                        additional_info, context, egprobe_host, last_by_id, process, task_details)

# Ordinary work: forks, execs, pipes, allocation (brk/mmap) and page faults, no privileged call.
# About a hundred fork+execs: ~1,800 overcommit checks (measured on 6.18), far more than the test
# asks to see filtered, in seconds under a kernel-matrix guest's emulation (40 rounds: 84 s).
BUSY_SHELL = ("i=0; while [ $i -lt 12 ]; do "
              "echo $i | cat | wc -c >/dev/null; ls / >/dev/null; "
              "x=$(seq 1 200 | sort -r | head -n 3); i=$((i+1)); done; "
              "/bin/egprobe spin-fork 20 >/dev/null; "
              "dd if=/dev/zero of=/dev/null bs=1M count=64 2>/dev/null; echo done")


def epoch_s(iso):
    """'2026-12-02T04:42:55.778Z' -> seconds since the epoch."""
    return datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def overcommit_checks_visible():
    """Whether the capability hook this kernel chose sees the memory-overcommit checks. The
    tracepoint fires inside cap_capable wherever it is compiled; a function hook sees only real
    calls, and Debian's 6.1 inlines cap_capable into cap_vm_enough_memory (the function tracer,
    not the agent, says which)."""
    chosen = harness.probe_report()["hooks"]["capability"]["chosen"] or ""
    if chosen.startswith("tp_btf/"):
        return True

    def private_mappings():
        for _ in range(50):  # writable private mappings are charged: an overcommit check each
            mmap.mmap(-1, 1 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
                      prot=mmap.PROT_READ | mmap.PROT_WRITE).close()

    seen = harness.function_called_from("cap_capable", "cap_vm_enough_memory", private_mappings)
    if seen is None:
        raise unittest.SkipTest("the function tracer cannot be used on %s to tell whether "
                                "cap_capable is inlined into cap_vm_enough_memory"
                                % os.uname().release)
    return seen


def bpf_charges_memlock():
    """Before 5.11 BPF maps and programs are charged to their user's locked memory, and root in a
    container shares uid 0's account with the agent's own maps: its loads then fail with EPERM
    after the capability checks (the checks, which the tests are about, still happen)."""
    major, minor = (int(x) for x in os.uname().release.split(".")[:2])
    return (major, minor) < (5, 11)


class CapabilityUse(AgentCase):

    def test_sys_admin_mount_is_reported_with_task_identity_and_sibling_not_blamed(self):
        app = self.container(caps_add=["CAP_SYS_ADMIN"], name="app", family="web", version="7")
        sidecar = self.container(task_id=app.task_id, name="log-router", family="web",
                                 version="7")
        self.register(app, sidecar)
        self.start_agent()
        app.start()
        sidecar.start()
        r = app.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"])
        self.assertTrue(r.ok, r)
        [f] = self.agent.wait_for(harness.match(SYS_ADMIN_USED, app), timeout=20)
        self.assertAttributed(f, app)
        self.assertEqual(f["severity"], 5.0)
        ctx = context(f)
        self.assertEqual(ctx["capabilityName"], "CAP_SYS_ADMIN")
        self.assertIs(ctx["capabilityGranted"], True)
        self.assertEqual(ctx["syscall"], "mount")
        p = process(f)
        self.assertEqual(p["executablePath"], "/bin/egprobe")
        self.assertEqual(p["name"], "egprobe")
        self.assertGreater(p["namespacePid"], 0)
        self.assertNotEqual(p["namespacePid"], p["pid"])  # own pid namespace
        self.assertEqual(f["resource"]["ecsClusterDetails"]["name"], "default")
        self.assertEqual(f["schemaVersion"], "2.0")
        self.stop_agent()
        self.assertEqual(self.capability_findings(sidecar), [])
        # The entrypoint and runc's own set-up in the same containers were not reported.
        for f in self.capability_findings(app):
            self.assertEqual(process(f)["executablePath"], "/bin/egprobe", f)
            self.assertEqual(context(f)["syscall"], "mount", f)

    def test_net_admin_link_change(self):
        c = self.container(caps_add=["CAP_NET_ADMIN"], name="router", family="net")
        self.register(c)
        self.start_agent()
        c.start()
        r = c.exec(["/bin/egprobe", "link-mtu", "lo", "1500"])
        self.assertTrue(r.ok, r)
        [f] = self.agent.wait_for(harness.match(NET_ADMIN_USED, c), timeout=20)
        self.assertAttributed(f, c)
        self.assertEqual(context(f)["capabilityName"], "CAP_NET_ADMIN")
        self.assertIs(context(f)["capabilityGranted"], True)
        # ECS containers have no user namespace: every check is against the host's.
        self.assertIs(context(f)["hostLevel"], True)
        self.assertEqual(context(f)["capabilityScope"], "host")

    def test_bpf_map_create_is_high(self):
        c = self.container(caps_add=["CAP_BPF"], name="tracer", family="obs")
        self.register(c)
        self.start_agent()
        c.start()
        r = c.exec(["/bin/egprobe", "bpf-map-create"], check=False)
        [f] = self.agent.wait_for(harness.match(BPF_USED, c), timeout=20)
        self.assertAttributed(f, c)
        self.assertEqual(f["severity"], 7.0)
        self.assertEqual(context(f)["capabilityName"], "CAP_BPF")
        self.assertEqual(context(f)["syscall"], "bpf")
        self.assertIs(context(f)["capabilityGranted"], True, r)

    @harness.native_only("policy's watched set and finding types: the agent's logic")
    def test_other_watched_capability_reaches_typed_consumers(self):
        """A watched capability without a type of its own (CAP_CHOWN here) is CapabilityUsed.
        Its evidence is all ecsguard extensions, which typed consumers (the AWS SDKs) drop: the
        line also carries the command line as the model's commandLineExample and copies the
        extensions into additionalInfo.value.context."""
        c = self.container(name="app", family="files")  # Docker's default caps include CHOWN
        self.register(c)
        self.start_agent("--watch-caps", "CAP_SYS_ADMIN,CAP_NET_ADMIN,CAP_BPF,CAP_CHOWN")
        c.start()
        c.exec(["/bin/touch", "/tmp/owned"])
        r = c.exec(["/bin/chown", "1:1", "/tmp/owned"])
        self.assertTrue(r.ok, r)
        [f] = self.agent.wait_for(harness.match(CAP_USED, c), timeout=20)
        self.assertAttributed(f, c)
        ctx = context(f)
        self.assertEqual(ctx["capabilityName"], "CAP_CHOWN")
        self.assertIs(ctx["capabilityGranted"], True)
        self.assertEqual(ctx["commandLineExample"], "/bin/chown 1:1 /tmp/owned")
        self.assertEqual(ctx["commandLineExample"], process(f)["commandLine"])
        extra = additional_info(f)["context"]
        for k in ("capabilityName", "capabilityGranted", "syscall", "syscalls",
                  "capabilityScope", "hostLevel"):
            self.assertEqual(extra[k], ctx[k], k)
        self.assertNotIn("commandLineExample", extra)  # a model member, typed consumers see it

    def test_denied_attempt_is_low(self):
        c = self.container(name="app", family="web")  # Docker's default caps: no SYS_ADMIN
        self.register(c)
        self.start_agent()
        c.start()
        r = c.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"], check=False)
        self.assertFalse(r.ok, "mount must fail without CAP_SYS_ADMIN: %r" % r)
        [f] = self.agent.wait_for(harness.match(CAP_DENIED, c), timeout=20)
        self.assertAttributed(f, c)
        self.assertEqual(f["severity"], 2.0)
        self.assertIs(context(f)["capabilityGranted"], False)
        self.assertEqual(context(f)["syscall"], "mount")
        self.stop_agent()
        self.assertEqual([x for x in self.capability_findings(c) if x["type"] != CAP_DENIED], [])

    def test_mapping_below_mmap_min_addr_is_a_sys_rawio_check(self):
        """cap_mmap_addr's CAP_SYS_RAWIO check (a mapping below vm.mmap_min_addr, the first
        step of a NULL-dereference exploit): granted with CAP_SYS_RAWIO, refused without. ECS
        kernels inline cap_capable there, so where the capability hook is fexit/cap_capable
        the agent hooks cap_mmap_addr itself (the probe lists it)."""
        chosen = harness.probe_report()["hooks"]["capability"]
        if chosen["chosen"].startswith("fexit"):
            self.assertIn("fexit/cap_mmap_addr (CAP_SYS_RAWIO below mmap_min_addr): ok",
                          ["%s: %s" % (a["attach"], a["result"]) for a in chosen["attempts"]])
        with open("/proc/sys/vm/mmap_min_addr") as fh:
            min_addr = int(fh.read())
        if min_addr == 0:
            self.skipTest("vm.mmap_min_addr is 0 here: no address below it to map")
        granted = self.container(caps_add=["CAP_SYS_RAWIO"], name="raw", family="web")
        refused = self.container(name="app", family="web")
        for c in (granted, refused):
            self.register(c)
        self.start_agent("--watch-caps", "CAP_SYS_ADMIN,CAP_NET_ADMIN,CAP_BPF,CAP_SYS_RAWIO")
        granted.start()
        refused.start()
        self.assertIn("errno=EPERM",
                      refused.exec(["/bin/egprobe", "mmap-low", "0"], check=False).stdout)
        self.assertTrue(granted.exec(["/bin/egprobe", "mmap-low", "0"]).ok)
        [used] = self.agent.wait_for(harness.match(CAP_USED, granted), timeout=20)
        [denied] = self.agent.wait_for(harness.match(CAP_DENIED, refused), timeout=20)
        for f, ok in ((used, True), (denied, False)):
            ctx = context(f)
            self.assertEqual(ctx["capabilityName"], "CAP_SYS_RAWIO", ctx)
            self.assertIs(ctx["capabilityGranted"], ok)
            self.assertEqual(ctx["syscall"], "mmap")
            self.assertEqual(ctx["capabilityScope"], "host")
        self.assertAttributed(used, granted)
        self.assertAttributed(denied, refused)

    def sys_admin_findings(self, c):
        return [f for f in self.capability_findings(c)
                if context(f)["capabilityName"] == "CAP_SYS_ADMIN"]

    def mount_in_created_user_namespace(self):
        """A CAP_SYS_ADMIN container that unshares a user and mount namespace and mounts a tmpfs
        there; returns the container once its first CAP_SYS_ADMIN finding is out."""
        c = self.container(caps_add=["CAP_SYS_ADMIN"], name="app", family="web")
        self.register(c)
        self.start_agent()
        c.start()
        r = c.exec(["/bin/egprobe", "userns-mount-tmpfs", "/tmp"])
        self.assertTrue(r.ok, r)
        deadline = time.time() + 20
        while not self.sys_admin_findings(c):
            self.assertLess(time.time(), deadline, "no CAP_SYS_ADMIN finding")
            time.sleep(0.2)
        return c

    def test_mount_in_a_user_namespace_it_created_is_namespaced_not_host(self):
        """unshare(CLONE_NEWUSER|CLONE_NEWNS) then mount: both checks are against the new user
        namespace (the unshare's too: CLONE_NEWNS is checked against the namespace it comes
        with). The finding says so and is its own lower-severity type, never host-level."""
        c = self.mount_in_created_user_namespace()
        time.sleep(2)  # both checks (unshare, mount) folded in
        found = last_by_id(self.sys_admin_findings(c))
        self.assertEqual(len(found), 1, found)
        [f] = found.values()
        ctx = context(f)
        self.assertEqual(f["type"], NAMESPACED_CAP_USED, f)
        self.assertEqual(ctx["capabilityScope"], "created", ctx)
        self.assertIs(ctx["hostLevel"], False, ctx)
        self.assertIs(ctx["capabilityGranted"], True, ctx)
        self.assertEqual(ctx["userNamespaceLevel"], 1, ctx)
        self.assertEqual(set(ctx["syscalls"]), {"unshare", "mount"}, ctx)
        self.assertEqual(f["severity"], 3.0)
        self.assertEqual(process(f)["executablePath"], "/bin/egprobe")
        self.assertAttributed(f, c)

    def test_host_mount_after_a_namespaced_one_is_a_separate_host_finding(self):
        """The scope is part of the behaviour's key, in the kernel's dedup and in the agent's
        finding key: the same binary's host-level mount after its namespaced one is not folded
        into the namespaced finding as a repeat."""
        c = self.mount_in_created_user_namespace()
        time.sleep(2)
        first = set(last_by_id(self.sys_admin_findings(c)))
        r = c.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"])
        self.assertTrue(r.ok, r)
        deadline = time.time() + 20
        while True:
            host = [f for f in self.sys_admin_findings(c) if f["id"] not in first]
            if host:
                break
            self.assertLess(time.time(), deadline,
                            "the host-level mount made no finding of its own: %r"
                            % list(last_by_id(self.sys_admin_findings(c)).values()))
            time.sleep(0.2)
        f = host[-1]
        ctx = context(f)
        self.assertEqual(f["type"], SYS_ADMIN_USED, f)
        self.assertEqual(f["severity"], 5.0)
        self.assertEqual(ctx["capabilityScope"], "host", ctx)
        self.assertIs(ctx["hostLevel"], True, ctx)
        self.assertEqual(ctx["syscalls"], ["mount"], ctx)
        self.stop_agent()
        for f in last_by_id(self.sys_admin_findings(c)).values():
            host_level = context(f)["capabilityScope"] == "host"
            self.assertEqual(f["type"] == SYS_ADMIN_USED, host_level, f)

    def test_cap_bpf_alone_loads_without_a_sys_admin_denial(self):
        """bpf_token_capable() (and bpf_capable()/perfmon_capable() before it) asks for CAP_BPF
        or CAP_PERFMON first and CAP_SYS_ADMIN as a fallback. A container with CAP_BPF alone
        is refused CAP_PERFMON and then the fallback: that refusal is the kernel's, not an
        attempt; it is filtered and counted, and CAP_BPF's use is reported."""
        c = self.container(caps_add=["CAP_BPF"], name="tracer", family="obs")
        self.register(c)
        self.start_agent("--health-interval", "1", health=True)
        c.start()
        for cmd in ("bpf-map-create", "bpf-prog-load"):
            r = c.exec(["/bin/egprobe", cmd], check=False)
            self.assertTrue(r.ok or bpf_charges_memlock(), r)
        [f] = self.agent.wait_for(harness.match(BPF_USED, c), timeout=20)
        self.assertIs(context(f)["capabilityGranted"], True)
        time.sleep(2.5)  # a fold and a health record
        with open(self.agent.health_file) as fh:
            health = json.load(fh)
        self.stop_agent()
        denied = [x for x in self.capability_findings(c) if x["type"] == CAP_DENIED]
        self.assertEqual(denied, [])
        self.assertGreater(health["kernelFilterReasons"]["capabilityFallback"], 0, health)

    def test_bpf_load_without_cap_bpf_or_sys_admin_is_still_denied(self):
        c = self.container(name="tracer", family="obs")  # Docker's default set
        self.register(c)
        self.start_agent()
        c.start()
        for cmd in ("bpf-map-create", "bpf-prog-load"):
            r = c.exec(["/bin/egprobe", cmd], check=False)
            self.assertFalse(r.ok, r)
        [f] = self.agent.wait_for(lambda x: harness.match(CAP_DENIED, c)(x) and
                                  context(x)["capabilityName"] == "CAP_BPF", timeout=20)
        self.assertEqual(context(f)["syscall"], "bpf")
        self.assertIs(context(f)["capabilityGranted"], False)
        self.stop_agent()
        names = {context(x)["capabilityName"] for x in self.capability_findings(c)}
        self.assertEqual(names, {"CAP_BPF"})

    def test_sys_admin_fallback_that_is_granted_is_use(self):
        """With CAP_SYS_ADMIN and without CAP_BPF, a BPF load succeeds through the fallback:
        that is CAP_SYS_ADMIN used, not noise."""
        c = self.container(caps_add=["CAP_SYS_ADMIN"], name="tracer", family="obs")
        self.register(c)
        self.start_agent()
        c.start()
        r = c.exec(["/bin/egprobe", "bpf-map-create"], check=False)
        self.assertTrue(r.ok or bpf_charges_memlock(), r)
        [f] = self.agent.wait_for(harness.match(SYS_ADMIN_USED, c), timeout=20)
        self.assertEqual(context(f)["syscall"], "bpf")
        self.assertEqual(context(f)["capabilityScope"], "host")

    def test_checks_from_several_syscalls_name_them_all(self):
        """One finding per (container, capability, binary); the kernel dedups per syscall, so
        each syscall's first check reaches the agent and is listed in context.syscalls."""
        c = self.container(name="app", family="web")  # no CAP_SYS_ADMIN
        self.register(c)
        self.start_agent()
        c.start()
        for args in (["mount-tmpfs", "/tmp"], ["sethostname", "probe"]):
            r = c.exec(["/bin/egprobe"] + args, check=False)
            self.assertFalse(r.ok, "must fail without CAP_SYS_ADMIN: %r" % r)
        deadline = time.time() + 20
        while True:
            found = [f for f in self.capability_findings(c) if f["type"] == CAP_DENIED
                     and context(f)["capabilityName"] == "CAP_SYS_ADMIN"]
            if found and set(context(found[-1])["syscalls"]) == {"mount", "sethostname"}:
                break
            self.assertLess(time.time(), deadline, "syscalls not both listed: %r" % found[-1:])
            time.sleep(0.3)
        ctx = context(found[-1])
        self.assertEqual(ctx["syscall"], "mount")  # the first one
        self.assertEqual(ctx["syscalls"][0], "mount")
        self.assertEqual(len({f["id"] for f in found}), 1)

    def test_host_processes_are_not_reported(self):
        c = self.container(caps_add=["CAP_SYS_ADMIN"])
        self.register(c)
        self.start_agent()
        c.start()  # a container exists, so the kernel side is live
        probe = egprobe_host()
        host_pids = []

        def on_host(*args, check=False):
            p = subprocess.Popen([probe, *args], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            host_pids.append(p.pid)
            self.assertTrue(p.wait(timeout=60) == 0 or not check, args)

        with tempfile.TemporaryDirectory() as d:
            on_host("mount-tmpfs", d, check=True)
            subprocess.run(["umount", d], check=False)
        on_host("sethostname", os.uname().nodename, "5", check=True)
        on_host("link-mtu", "lo", "65536")
        on_host("bpf-map-create")
        time.sleep(1.5)
        self.stop_agent()
        self.assertEqual(self.capability_findings(c), [])
        # Whatever else runs on this host, nothing may name the host's own processes.
        for f in self.agent.findings():
            # A finding whose process had exited before its path was read carries no
            # executablePath (the field is left out, not faked): its pid still says whose it is.
            self.assertNotEqual(process(f).get("executablePath"), probe, f)
            self.assertNotIn(process(f)["pid"], host_pids, f)

    def test_ordinary_work_is_not_capability_use(self):
        """fork/exec/mmap-heavy shell work triggers ~13 CAP_SYS_ADMIN overcommit checks per
        fork+exec; with and without the capability none of them is a finding."""
        with_cap = self.container(["/bin/sh", "-c", BUSY_SHELL], caps_add=["CAP_SYS_ADMIN"],
                                  name="with-cap")
        without = self.container(["/bin/sh", "-c", BUSY_SHELL], name="without-cap")
        self.register(with_cap)
        self.register(without)
        self.start_agent("--health-interval", "1", health=True)
        for c in (with_cap, without):
            r = c.run_to_completion(timeout=120)
            self.assertEqual(r.returncode, 0, r)
        time.sleep(2.5)  # at least one more health record after the work
        with open(self.agent.health_file) as fh:
            health = json.load(fh)
        self.stop_agent()
        self.assertEqual(self.capability_findings(with_cap) + self.capability_findings(without),
                         [])
        if not overcommit_checks_visible():
            # A function hook (fexit, kprobe) on a kernel that inlined cap_capable into
            # cap_vm_enough_memory never sees these checks: nothing to filter, nothing leaks.
            self.assertEqual(health["kernelFilterReasons"]["memoryOvercommit"], 0, health)
            return
        # The filter was exercised, not bypassed: overcommit checks were seen and dropped.
        self.assertGreater(health["kernelFilterReasons"]["memoryOvercommit"], 100, health)
        # Most were told apart by the mmap lock (mmap, brk, fork) or execve, without a stack walk.
        self.assertGreater(health["kernelFilterReasons"]["memoryOvercommitWithoutStackWalk"], 50,
                           health)

    def test_container_started_before_agent_is_found(self):
        c = self.container(caps_add=["CAP_SYS_ADMIN"], name="early", family="batch")
        self.register(c)
        c.start()
        self.start_agent()
        r = c.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"])
        self.assertTrue(r.ok, r)
        [f] = self.agent.wait_for(harness.match(SYS_ADMIN_USED, c), timeout=20)
        self.assertAttributed(f, c)
        found = [l for l in self.agent.logs() if "start-up scan" in l]
        self.assertTrue(found and " 0 containers" not in found[0], found)

    def test_container_that_exits_right_after_the_action_is_attributed(self):
        c = self.container(["/bin/egprobe", "mount-tmpfs", "/tmp"], caps_add=["CAP_SYS_ADMIN"],
                           name="oneshot", family="jobs")
        self.register(c)
        self.start_agent()
        r = c.run_to_completion(timeout=60)
        self.assertEqual(r.returncode, 0, r)
        c.delete()  # gone: cgroup removed before the agent looks it up
        [f] = self.agent.wait_for(harness.match(SYS_ADMIN_USED, c), timeout=20)
        self.assertAttributed(f, c)
        self.assertEqual(process(f)["executablePath"], "/bin/egprobe")

    def test_container_that_lives_and_dies_while_the_agent_reads_nothing_is_seen(self):
        """The kernel registers a cgroup named like a container at its creation (issue 17):
        what a container does before the agent has read that record is seen. The agent is
        stopped (SIGSTOP) for the container's whole life, cgroup removal included: the worst
        case of an agent that falls behind on a loaded host. Before, the container was not
        in the kernel's container map until the agent read its cgroup_mkdir record, so its
        mount was never sent."""
        c = self.container(["/bin/egprobe", "mount-tmpfs", "/tmp"], caps_add=["CAP_SYS_ADMIN"],
                           name="unseen", family="jobs")
        self.register(c)
        self.start_agent(health=True)
        self.run_with_agent_stopped(c)
        [f] = self.agent.wait_for(harness.match(SYS_ADMIN_USED, c), timeout=30)
        self.assertAttributed(f, c)
        self.assertEqual(process(f)["executablePath"], "/bin/egprobe")

    @harness.native_only("the agent's parse of the path and its removal of the kernel's entry")
    def test_host_cgroup_named_like_a_container_is_taken_back(self):
        """A cgroup named like a container id outside every container layout (another runtime's)
        is registered by the kernel at creation; the agent, reading the whole path, removes it:
        what runs there once the agent has read the record is not watched."""
        c = self.container(["/bin/sh", "-c", "sleep 2; /bin/egprobe mount-tmpfs /tmp"],
                           caps_add=["CAP_SYS_ADMIN"], layout="unknown-runtime", register=False)
        self.start_agent("--health-interval", "1", health=True)
        r = c.run_to_completion(timeout=60)
        self.assertEqual(r.returncode, 0, r)
        time.sleep(2.5)  # a health record after the mount
        with open(self.agent.health_file) as fh:
            health = json.load(fh)
        self.assertGreaterEqual(health["containers"]["registeredByKernelNotContainers"], 1, health)
        self.assertEqual(health["kernelEvents"]["capability"]["sent"], 0, health)
        self.assertEqual([f for f in self.agent.findings() if f["type"] in CAPABILITY_TYPES], [])

    @harness.native_only("SIGUSR2 is the agent's own logic; the guests' shared agents take it at "
                         "the end of every rootfs test")
    def test_sigusr2_emits_held_back_updates_and_the_agent_keeps_running(self):
        """An update held back by --report-interval (a minute here) goes out at SIGUSR2 with
        the kernel's repeat count folded in, and the agent runs on: a later repeat is held
        back again and a second SIGUSR2 emits it too."""
        c = self.container(caps_add=["CAP_SYS_ADMIN"], name="flushed", family="web")
        self.register(c)
        self.start_agent("--report-interval", "60")
        c.start()
        r = c.exec(["/bin/egprobe", "sethostname", "first", "120"])
        self.assertTrue(r.ok, r)
        self.agent.wait_for(harness.match(SYS_ADMIN_USED, c), timeout=20)
        time.sleep(2.5)  # the kernel's repeat counts are folded in each second, not emitted
        held = self.findings_of(SYS_ADMIN_USED, c)
        self.assertLess(held[-1]["service"]["count"], 120, held[-1]["service"])
        self.agent.flush()
        self.assertEqual(self.findings_of(SYS_ADMIN_USED, c)[-1]["service"]["count"], 120)
        r = c.exec(["/bin/egprobe", "sethostname", "second", "30"])
        self.assertTrue(r.ok, r)
        time.sleep(2.5)
        self.assertEqual(self.findings_of(SYS_ADMIN_USED, c)[-1]["service"]["count"], 120)
        self.agent.flush()
        latest = last_by_id(self.findings_of(SYS_ADMIN_USED, c))
        self.assertEqual(len(latest), 1, latest)
        self.assertEqual(list(latest.values())[0]["service"]["count"], 150)
        self.assertTrue(self.agent.running())
        self.stop_agent()

    @harness.native_only("the dedup map and the fold are the same code on every kernel; the burst"
                         " tests of test_identity run in the guests")
    def test_repeats_are_aggregated_into_one_finding_with_the_right_count(self):
        c = self.container(caps_add=["CAP_SYS_ADMIN"], name="loop", family="web")
        self.register(c)
        self.start_agent()
        c.start()
        loop_start = time.time()
        r = c.exec(["/bin/egprobe", "sethostname", "looping", "200"])
        loop_end = time.time()
        self.assertTrue(r.ok, r)
        self.agent.wait_for(harness.match(SYS_ADMIN_USED, c), timeout=20)
        time.sleep(1.5)  # the kernel's repeat counts are folded in once a second
        findings = self.stop_agent()
        mine = [f for f in findings if f["type"] == SYS_ADMIN_USED
                and c.id in harness.finding_container_ids(f)]
        latest = last_by_id(mine)
        self.assertEqual(len(latest), 1, "one aggregated finding expected: %r" % latest)
        [f] = latest.values()
        self.assertEqual(f["service"]["count"], 200)
        self.assertEqual(context(f)["syscall"], "sethostname")
        self.assertLessEqual(f["service"]["eventFirstSeen"], f["service"]["eventLastSeen"])
        # Repeats are counted in the kernel without a clock read; the agent stamps them when it
        # folds the counts in (each second): last seen is within a tick of the loop's end.
        first = epoch_s(f["service"]["eventFirstSeen"])
        last = epoch_s(f["service"]["eventLastSeen"])
        self.assertGreaterEqual(first, loop_start - 0.01)
        self.assertLessEqual(first, loop_end + 0.01)
        self.assertLessEqual(last, loop_end + 1.5)

    @harness.native_only("the reader's idle mark is the same program code on every kernel")
    def test_idle_agent_sleeps_and_the_next_event_wakes_it(self):
        """With nothing to read the agent stops polling every 10 ms; the kernel programs wake it
        with the next record (bpf/emit.bpf.h eg_submit, agent/kernel/drain_pacer.c)."""
        c = self.container(caps_add=["CAP_SYS_ADMIN"], name="quiet", family="web")
        self.register(c)
        self.start_agent("--health-interval", "1", health=True)
        c.start()

        def health():
            with open(self.agent.health_file) as f:
                return json.load(f)["ringBuffer"]

        # A quiet spell of 1.5 s in which no record woke it through the ring. The container's
        # start is still sending records for a while (runc's processes exit; seconds on an
        # emulated CPU), so the spell is the first one after that, within 30 s.
        deadline = time.time() + 30
        while True:
            before = health()
            if before["readerIdle"]:
                time.sleep(1.5)
                quiet = health()
                if quiet["readerRingWakeups"] == before["readerRingWakeups"]:
                    break
            else:
                time.sleep(0.2)
            self.assertLess(time.time(), deadline, "never idle for 1.5 s: %r" % health())
        self.assertGreater(before["readerIdleEntries"], 0, before)
        self.assertEqual(before["readerIdleMarkErrors"], 0, before)

        r = c.exec(["/bin/egprobe", "sethostname", "woken", "3"])
        self.assertTrue(r.ok, r)
        self.agent.wait_for(harness.match(SYS_ADMIN_USED, c), timeout=20)
        time.sleep(1.5)  # a health write after the wakeup, and the repeat counts folded in
        after = health()
        # The exec's records woke it: without the kernel's wakeup only the idle timer would have.
        self.assertGreater(after["readerRingWakeups"], quiet["readerRingWakeups"], after)
        findings = self.stop_agent()
        [f] = last_by_id([f for f in findings if f["type"] == SYS_ADMIN_USED
                          and c.id in harness.finding_container_ids(f)]).values()
        self.assertEqual(f["service"]["count"], 3)

    @harness.native_only('the dedup map and the fold are the same code on every kernel')
    def test_repeats_of_two_alternating_keys_are_counted_exactly(self):
        # Each CPU counts repeats of its last key in place and hands them to the dedup map
        # when its key changes or when the agent flushes every CPU each second
        # (bpf/cap.bpf.c). Two behaviours in turn, 50 checks per process, 4 times each: both
        # paths run, and both counts come out exact.
        c = self.container(caps_add=["CAP_SYS_ADMIN", "CAP_NET_ADMIN"], name="turns")
        self.register(c)
        self.start_agent()
        c.start()
        script = ("i=0; while [ $i -lt 4 ]; do /bin/egprobe sethostname turns 50 && "
                  "/bin/egprobe link-mtu lo 65536 50 || exit 1; i=$((i+1)); done")
        r = c.exec(["/bin/sh", "-c", script], timeout=60)
        self.assertTrue(r.ok, r)
        self.agent.wait_for(harness.match(SYS_ADMIN_USED, c), timeout=20)
        self.agent.wait_for(harness.match(NET_ADMIN_USED, c), timeout=20)
        time.sleep(2.5)  # the agent flushes the CPUs and folds the counts once a second
        findings = self.stop_agent()
        for ftype, syscall in ((SYS_ADMIN_USED, "sethostname"), (NET_ADMIN_USED, "ioctl")):
            mine = last_by_id([f for f in findings if f["type"] == ftype
                               and c.id in harness.finding_container_ids(f)])
            self.assertEqual(len(mine), 1, mine)
            [f] = mine.values()
            self.assertEqual(context(f)["syscall"], syscall)
            self.assertEqual(f["service"]["count"], 200, (ftype, f["service"]))

    def test_process_moved_into_another_task_stays_attributed_to_its_own(self):
        # The kernel programs cache each CPU's last task verdict (bpf/verdict.bpf.h). One
        # process checks a capability over and over in task A, is moved into task B's cgroups
        # from the host meanwhile, execs and checks again: the process started in A and stays
        # A's (its home, bpf/lifecycle.bpf.c), whoever moves it; the move is its own finding.
        a = self.container(caps_add=["CAP_SYS_ADMIN"], name="before", family="from")
        b = self.container(caps_add=["CAP_SYS_ADMIN"], name="after", family="to")
        self.register(a)
        self.register(b)
        self.start_agent()
        a.start()
        b.start()
        go = os.path.join(a.rootfs_path, "tmp", "go-%d" % os.getpid())
        pid = a.spawn(["/bin/egprobe", "sethostname-until-exec", "before",
                       "/tmp/" + os.path.basename(go), "/bin/egprobe", "mount-tmpfs", "/mnt"])
        [fa] = self.agent.wait_for(harness.match(SYS_ADMIN_USED, a), timeout=20)
        self.assertEqual(process(fa)["pid"], pid)
        moved = 0
        for mount_point, controllers in harness.cgroup_hierarchies():
            if "cpuset" in controllers.split(","):
                continue  # B's cpuset would reset the CPU the process pinned itself to
            procs = os.path.join(mount_point + b.cgroup_path, "cgroup.procs")
            if os.path.exists(procs):
                with open(procs, "w") as f:
                    f.write(str(pid))
                moved += 1
        self.assertGreater(moved, 0, "no cgroup of %s to move into" % b)
        with open(go, "w"):
            pass
        is_a = harness.match(SYS_ADMIN_USED, a)
        [after] = self.agent.wait_for(
            lambda f: is_a(f) and "mount" in context(f).get("syscalls", []), timeout=20)
        self.assertAttributed(after, a)
        self.assertEqual(process(after)["pid"], pid)
        [moved_f] = self.agent.wait_for(
            harness.match("DefenseEvasion:Runtime/ContainerCgroupEscaped", a), timeout=20)
        self.assertEqual(context(moved_f)["movedBy"]["kind"], "host")
        self.assertEqual(context(moved_f)["destinationCgroup"]["containerId"], b.id)
        self.stop_agent()
        self.assertEqual(self.capability_findings(b), [])

    @harness.native_only('cgroup path parsing in the agent')
    def test_ecs_v2_layout_and_uuid_task_id(self):
        c = self.container(caps_add=["CAP_SYS_ADMIN"], layout="ecs-v2",
                           task_id=harness.new_task_uuid(), name="api", family="svc")
        self.register(c)
        self.start_agent()
        c.start()
        c.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"])
        [f] = self.agent.wait_for(harness.match(SYS_ADMIN_USED, c), timeout=20)
        self.assertAttributed(f, c)
        self.assertEqual(additional_info(f)["taskId"], c.task_id)


class CapabilityUseLegacyTaskAccess(LegacyTaskAccess, CapabilityUse):
    """Every capability test again through the legacy task-access twins (processLifecycle,
    capability and the others forced to them): the code 5.10 runs, on this kernel."""

    legacy_concern = "capability"


@harness.native_only("introspection failures: the agent's HTTP client and cache")
class IntrospectionFailures(AgentCase):
    """A dead, failing or garbage-serving endpoint never loses a finding."""

    agent_args = ("--report-interval", "1", "--resolve-grace-ms", "500")

    def _act_and_expect_unresolved(self, c):
        c.start()
        c.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"])
        [f] = self.agent.wait_for(harness.match(SYS_ADMIN_USED, c), timeout=20)
        td = task_details(f)
        # Typed consumers see no task ARN; the task id from the cgroup path is in additionalInfo.
        self.assertEqual(additional_info(f).get("taskId"), c.task_id)
        self.assertEqual(additional_info(f).get("taskResolution"), "cgroupPath")
        self.assertNotIn("arn", td)
        return f

    def test_garbage_then_recovery(self):
        c = self.container(caps_add=["CAP_SYS_ADMIN"], name="app", family="web")
        self.register(c)
        self.fake.set_mode("garbage")
        self.start_agent()
        self._act_and_expect_unresolved(c)
        self.fake.set_mode("ok")
        # Resolution is retried; the finding is re-emitted with its task once known.
        resolved = self.agent.wait_for(
            lambda f: f["type"] == SYS_ADMIN_USED and task_details(f).get("arn"), timeout=60)
        self.assertAttributed(resolved[-1], c)

    def test_server_errors(self):
        c = self.container(caps_add=["CAP_SYS_ADMIN"])
        self.register(c)
        self.fake.set_mode("error500")
        self.start_agent()
        self._act_and_expect_unresolved(c)
        self.assertTrue(self.agent.running())

    def test_slow_endpoint(self):
        c = self.container(caps_add=["CAP_SYS_ADMIN"])
        self.register(c)
        self.fake.set_mode("slow", slow_seconds=30)
        self.start_agent()
        t0 = time.monotonic()
        self._act_and_expect_unresolved(c)
        self.assertLess(time.monotonic() - t0, 15, "a slow endpoint must not delay findings")

    def test_dead_endpoint(self):
        c = self.container(caps_add=["CAP_SYS_ADMIN"])
        self.fake.stop()  # nothing listens there any more
        self.start_agent()
        self._act_and_expect_unresolved(c)
        self.assertEqual(self.stop_agent() is not None, True)


if __name__ == "__main__":
    unittest.main()
