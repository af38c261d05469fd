"""The command line (exit codes, probe report) and an event flood past the ring buffer:
drops are counted in the kernel and surfaced, the agent survives and keeps working."""

import json
import os
import signal
import subprocess
import time
import unittest

import harness
from agent_case import AgentCase, SYS_ADMIN_USED

BIN = os.environ.get("ECSGUARD_BIN", "")


def run(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60)


class CommandLine(unittest.TestCase):

    @harness.native_only('no kernel involved')
    def test_version_and_help(self):
        r = run("version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^ecsguard \d+\.\d+\.\d+")
        for cmd in (["--help"], ["run", "--help"], ["probe", "--help"], ["version", "--help"],
                    ["policy", "--help"]):
            r = run(*cmd)
            self.assertEqual(r.returncode, 0, (cmd, r))
            self.assertIn("usage", r.stdout.lower(), cmd)

    @harness.native_only('no kernel involved')
    def test_bad_usage_exits_2_with_a_message(self):
        for cmd in (["frobnicate"], ["run", "--no-such-flag"], ["run", "--health-interval", "x"],
                    ["run", "--ring-buffer-kib", "100"], ["run", "--watch-caps", "CAP_NOPE"],
                    ["probe", "--verbose"], []):
            r = run(*cmd)
            self.assertEqual(r.returncode, 2, (cmd, r))
            self.assertTrue(r.stderr.strip(), cmd)
            self.assertEqual(r.stdout, "", cmd)  # stdout is for findings only

    def test_probe_reports_every_hook(self):
        r = run("probe")
        self.assertEqual(r.returncode, 0, r.stderr)
        report = json.loads(r.stdout)
        self.assertTrue(report["usable"])
        self.assertTrue(report["btf"]["vmlinux"])
        self.assertTrue(report["ringBuffer"])
        self.assertIn(report["cgroup"]["mode"], ("v1", "v2", "hybrid"))
        self.assertEqual(report["kernel"]["release"], os.uname().release)
        hooks = report["hooks"]
        # The first variant this kernel offers, by the kernel's own listing: the tracepoint
        # (6.11+), else the function hooks. Earlier variants were tried and say why not.
        cap = hooks["capability"]
        if harness.kernel_has_tracepoint("capability/cap_capable"):
            self.assertEqual(cap["chosen"], "tp_btf/cap_capable")
        else:
            # The function hooks, or their legacy task-access twins (5.10).
            self.assertIn(cap["chosen"].replace(" (legacy task access)", ""),
                          ("fexit/cap_capable", "kprobe+kretprobe/cap_capable"))
            self.assertEqual(cap["attempts"][0]["attach"], "tp_btf/cap_capable")
            self.assertIn("no cap_capable tracepoint", cap["attempts"][0]["result"])
        self.assertTrue(hooks["processLifecycle"]["chosen"])
        for name, hook in hooks.items():
            self.assertTrue(hook["attempts"], name)
            self.assertNotIn("forced", hook, name)
            if hook["chosen"]:
                self.assertEqual(hook["attempts"][-1]["result"], "ok", name)
            for attempt in hook["attempts"][:-1]:
                self.assertTrue(attempt["result"], (name, attempt))
        # A concern whose fast programs call a helper this kernel lacks (by the kernel's own list
        # of helpers) loads its legacy task-access twins: every one of them on 5.10.
        task_btf, pt_regs, loop = "get_current_task_btf", "task_pt_regs", "loop"
        needs = {"processLifecycle": (task_btf, loop), "capability": (task_btf, pt_regs),
                 "rootfsWrites": (task_btf, pt_regs, loop),
                 "hostNamespaces": (task_btf, pt_regs, loop), "compatSyscalls": (task_btf,)}
        for name, helpers in needs.items():
            legacy = not all(harness.kernel_btf_has("BPF_FUNC_" + h) for h in helpers)
            self.assertEqual("legacy task access" in (hooks[name]["chosen"] or ""), legacy, name)
        # 6.2+ kernels: root filesystem programs read file fields with bpf_rdonly_cast.
        if harness.kernel_btf_has("bpf_rdonly_cast"):
            self.assertIn("bpf_rdonly_cast", hooks["rootfsWrites"]["chosen"])
        else:
            self.assertIn("probe-read", hooks["rootfsWrites"]["chosen"])

    @harness.native_only("--hook's forcing is the agent's logic; the guests force a variant that"
                         " loads in every --variant lane (capability=kprobe on 6.12)")
    def test_hook_option_forces_one_variant(self):
        """`--hook` loads exactly the named variant and says so, or stops with the reason;
        a name that is not a concern's variant is a usage error listing the valid ones."""
        loaded = []
        legacy = " (legacy task access)"
        for variant, attach in (("tp_btf", "tp_btf/cap_capable"), ("fexit", "fexit/cap_capable"),
                                ("kprobe", "kprobe+kretprobe/cap_capable"),
                                ("tp_btf-legacy", "tp_btf/cap_capable" + legacy),
                                ("fexit-legacy", "fexit/cap_capable" + legacy),
                                ("kprobe-legacy", "kprobe+kretprobe/cap_capable" + legacy)):
            with self.subTest(variant=variant):
                r = run("probe", "--hook", "capability=" + variant)
                report = json.loads(r.stdout)
                cap = report["hooks"]["capability"]
                self.assertEqual(cap["forced"], variant)
                # Only the forced variant is attempted: no fallback to another.
                self.assertEqual([a["attach"] for a in cap["attempts"]], [attach])
                if r.returncode == 0:
                    self.assertEqual(cap["chosen"], attach)
                    loaded.append(variant)
                else:
                    self.assertEqual(r.returncode, 1)
                    self.assertIsNone(cap["chosen"])
                    self.assertIn("forced by --hook capability=" + variant, report["error"])
        self.assertTrue(loaded, "no capability variant loads on this kernel")
        for bad in ("capability=fast", "cap=fexit", "capability"):
            r = run("probe", "--hook", bad)
            self.assertEqual(r.returncode, 2, bad)
            self.assertIn("tp_btf|fexit|kprobe" if bad.startswith("capability=")
                          else "processLifecycle|capability", r.stderr, bad)
        # A concern the agent can run without can be left out; an essential one cannot.
        r = run("probe", "--hook", "rootfsWrites=off")
        self.assertEqual(r.returncode, 0, r.stderr)
        rootfs = json.loads(r.stdout)["hooks"]["rootfsWrites"]
        self.assertEqual((rootfs["forced"], rootfs["chosen"]), ("off", None))
        self.assertEqual(rootfs["attempts"], [{"attach": "-", "result": "off (--hook)"}])
        r = run("probe", "--hook", "capability=off")
        self.assertEqual(r.returncode, 2)
        self.assertIn("capability cannot be turned off", r.stderr)

    @harness.native_only("5.10 guests load every concern's legacy twins by themselves in each"
                         " suite; forcing them on 6.1 is a path no host takes")
    def test_legacy_task_access_flavour_loads_for_every_concern(self):
        """Each concern's legacy task-access twins (what 5.10 loads) load here when forced, and
        the report says so; the capability hook by whichever attach point this kernel offers."""
        for concern, variants in harness.LEGACY_VARIANTS.items():
            with self.subTest(concern=concern):
                reports = [json.loads(run("probe", "--hook", "%s=%s" % (concern, v)).stdout)
                           for v in variants]
                loaded = [r["hooks"][concern] for r in reports if r["usable"]]
                self.assertTrue(loaded, [r.get("error") for r in reports])
                self.assertIn("legacy task access", loaded[0]["chosen"])

    def test_probe_read_flavour_is_reported(self):
        """The root filesystem programs older kernels load (probe-read) load here too."""
        r = run("probe", "--bpf-file-reads", "probe-read")
        self.assertEqual(r.returncode, 0, r.stderr)
        rootfs = json.loads(r.stdout)["hooks"]["rootfsWrites"]
        self.assertIn("probe-read", rootfs["chosen"])
        # Whatever else the kernel made it try first (legacy task access on 5.10), the cast
        # was not used and the report says why.
        [cast] = [a for a in rootfs["attempts"] if a["attach"] == "kfunc/bpf_rdonly_cast"]
        self.assertIn("not used", cast["result"])
        self.assertEqual(run("probe", "--bpf-file-reads", "fast").returncode, 2)


SYSCALL_CONCERNS = ("hostNamespaces", "rootfsWrites")
# rootfsWrites=fentry takes the task-access flavour the kernel supports; hostNamespaces names it.
FENTRY_VARIANTS = {"hostNamespaces": ("fentry", "fentry-legacy"), "rootfsWrites": ("fentry",)}


class SyscallHookAttachment(AgentCase):
    """The concerns that watch syscalls hook the syscalls' own functions (fentry/fexit) where
    the kernel allows it, so that no syscalls/ tracepoint is attached: one attached syscall
    tracepoint program puts every syscall of every task on the host through the tracing slow
    path (docs/performance.md). Where fentry is refused, the tracepoints are the fallback."""

    def agent_syscall_tracepoints(self):
        """The syscalls/ tracepoints the running agent has programs on, by the kernel's own
        list of perf-event attachments (bpftool perf)."""
        r = subprocess.run(["bpftool", "perf", "list", "-j"], capture_output=True, text=True,
                           timeout=60, check=True)
        pid = self.agent.proc.pid
        return sorted({a["tracepoint"] for a in json.loads(r.stdout or "[]")
                       if a.get("pid") == pid and a.get("fd_type") == "tracepoint"
                       and a.get("tracepoint", "").startswith(("sys_enter_", "sys_exit_"))})

    def test_fentry_replaces_every_syscall_tracepoint_where_it_loads(self):
        if any(c in os.environ.get("ECSGUARD_TEST_HOOKS", "") for c in SYSCALL_CONCERNS):
            self.skipTest("ECSGUARD_TEST_HOOKS forces the syscall concerns' hooks in this run")
        # Chosen by probing: fentry where it loads, else the tracepoints with the reason. A
        # concern that chose its function hooks has shown that they load here; one that chose
        # the tracepoints is forced to each function-hook variant (the fast programs, their
        # legacy task-access twins: 5.10), and none may load. Only then: a probe costs ~20 s
        # under a kernel-matrix guest's emulation, where fentry loads for both.
        report = json.loads(run("probe").stdout)
        fentry_loads = {}
        for concern in SYSCALL_CONCERNS:
            hook = report["hooks"][concern]
            fentry_loads[concern] = hook["chosen"].startswith("fentry+fexit/syscall functions")
            if fentry_loads[concern]:
                continue
            self.assertTrue(hook["chosen"].startswith("tracepoint/syscalls"), hook)
            self.assertTrue(any(a["attach"].startswith(("fentry", "fexit")) and
                                a["result"] != "ok" for a in hook["attempts"]), hook)
            for variant in FENTRY_VARIANTS[concern]:
                r = run("probe", "--hook", "%s=%s" % (concern, variant))
                self.assertIn(r.returncode, (0, 1), r.stderr)
                forced = json.loads(r.stdout)["hooks"][concern]
                self.assertEqual(forced["forced"], variant)
                self.assertFalse(r.returncode == 0 and forced["chosen"].startswith(
                    "fentry+fexit/syscall functions"),
                    "%s=%s loads, yet the tracepoints were chosen: %s" % (concern, variant, forced))
        self.start_agent()
        attached = self.agent_syscall_tracepoints()
        if all(fentry_loads.values()):
            self.assertEqual(attached, [])
        # Each concern on its tracepoints exactly where its function hooks do not load.
        own = {"hostNamespaces": ("sys_enter_setns", "sys_exit_setns", "sys_enter_kill"),
               "rootfsWrites": ("sys_exit_unlinkat", "sys_exit_creat", "sys_enter_mmap")}
        for concern, tracepoints in own.items():
            for tp in tracepoints:
                if not harness.kernel_has_tracepoint("syscalls/" + tp):
                    continue  # creat is one of x86_64's legacy syscalls, which arm64 lacks
                if fentry_loads[concern]:
                    self.assertNotIn(tp, attached, concern)
                else:
                    self.assertIn(tp, attached, concern)


class Flood(AgentCase):

    def test_flood_past_the_ring_buffer_is_counted_and_survived(self):
        c = self.container(caps_add=["CAP_SYS_ADMIN"], name="app", family="web")
        self.register(c)
        self.start_agent("--ring-buffer-kib", "16", "--health-interval", "1", health=True)
        c.start()
        # A stopped reader cannot drain: everything past 16 KiB must be dropped, and counted.
        self.agent.proc.send_signal(signal.SIGSTOP)
        try:
            r = c.exec(["/bin/egprobe", "spin-fork", "400"], timeout=120)
            self.assertTrue(r.ok, r)
        finally:
            self.agent.proc.send_signal(signal.SIGCONT)
        time.sleep(2.5)
        with open(self.agent.health_file) as f:
            health = json.load(f)
        self.assertGreater(health["kernelEventsDropped"], 0, health)
        self.assertTrue(any("events dropped" in line for line in self.agent.logs()))
        for kind, k in health["kernelEvents"].items():
            self.assertEqual(k["seen"], k["sent"] + k["deduplicated"] + k["dropped"] +
                             k["filtered"], (kind, k))
        # Still working after the flood.
        c.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"])
        self.agent.wait_for(harness.match(SYS_ADMIN_USED, c), timeout=20)
        self.stop_agent()


if __name__ == "__main__":
    unittest.main()
