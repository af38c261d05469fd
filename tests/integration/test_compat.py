"""32-bit compat syscalls (DefenseEvasion:Runtime/CompatSyscallUsed): a task container's process
making the i386 form of a watched syscall with `int $0x80` (egprobe int80), or a real 32-bit
program (tests/helpers/i386_open, through the vDSO's sysenter), which x86's syscall tracepoints
ignore and the other concerns' native function hooks never see. Each test makes the
call in a real runc container on the real kernel and reads the finding; the native forms of the
same calls, a read-only open and a host process's calls are silent.

The concern needs kprobes (bpf/compat.bpf.c): where the kernel refuses them the class skips with
the probe's reason. The kernel matrix runs it on 6.1 (a kprobe per function), 6.12 (kprobe.multi)
and 5.10 (kprobes with legacy task access).
"""

import os
import subprocess
import tempfile
import time
import unittest

import harness
from agent_case import AgentCase, additional_info, context, egprobe_host, last_by_id, process

COMPAT = "DefenseEvasion:Runtime/CompatSyscallUsed"


def i386_helper_dir():
    """The build's directory holding i386_open, the 32-bit program (tests/helpers)."""
    return harness.built_helper_dir("i386_open")


class CompatSyscalls(AgentCase):
    share_agent = True  # every test looks at its own containers only

    @classmethod
    def setUpClass(cls):
        if os.uname().machine != "x86_64":
            raise unittest.SkipTest("i386 compat syscalls are watched on x86_64 kernels only")
        why = harness.concern_unavailable("compatSyscalls")
        if why:
            raise unittest.SkipTest(why)

    def started(self, **options):
        return self.started_in_task("compat", **options)

    def int80(self, c, *args):
        r = c.exec(["/bin/egprobe", "int80"] + list(args))
        self.assertIn("ok int80", r.stdout, r)

    def compat_findings(self, c):
        """The container's CompatSyscallUsed findings, newest line of each."""
        return list(last_by_id(self.findings_of(COMPAT, c)).values())

    def wait_syscall(self, c, name, count=1, executable="/bin/egprobe"):
        """The container's one finding for i386 syscall `name`, once its count is `count`."""
        self.agent.wait_for(lambda f: harness.match(COMPAT, c)(f) and
                            context(f).get("syscall") == name and
                            f["service"]["count"] >= count, timeout=20)
        found = [f for f in self.compat_findings(c) if context(f).get("syscall") == name]
        self.assertEqual(len(found), 1, found)
        f = found[0]
        self.assertEqual(f["severity"], 7.0)
        self.assertAttributed(f, c)
        self.assertEqual(process(f)["executablePath"], executable)
        self.assertGreater(process(f)["pid"], 0)
        ctx = context(f)
        self.assertEqual(ctx["syscallAbi"], "i386")
        # Every context extension is also where typed consumers read it.
        self.assertEqual(additional_info(f)["context"]["syscallAbi"], "i386")
        return f

    def test_int80_write_open_is_reported_with_its_path_and_every_call_counted(self):
        """Five write opens at once, then one more a second later: one finding (one record a
        second per container and syscall in the kernel, the calls between carried), count 6."""
        c = self.started(name="i80open")
        self.int80(c, "open", "/etc/i80-written", "5")
        time.sleep(1.2)
        self.int80(c, "open", "/etc/i80-written")
        f = self.wait_syscall(c, "open", count=6)
        self.assertEqual(f["service"]["count"], 6)
        ctx = context(f)
        self.assertEqual(ctx["syscallNumber"], 5)
        self.assertEqual(ctx["bypassedConcern"], "rootfsWrites")
        self.assertEqual(ctx["literalFilePath"], "/etc/i80-written")
        self.assertEqual(ctx["flags"], ["O_WRONLY", "O_CREAT"])
        # the call did what it asked: the file is in the container
        c.exec(["/bin/sh", "-c", "test -f /etc/i80-written"])

    def test_a_32_bit_program_is_seen_as_well(self):
        """A real i386 process (not int 0x80 from a 64-bit one): its C-library-style call goes
        through the vDSO (sysenter or syscall) to the same i386 entry points."""
        c = self.started(name="i386elf", volumes=[(i386_helper_dir(), "/helper", "ro")])
        r = c.exec(["/helper/i386_open", "/etc/i386-written"])
        self.assertIn("ok i386_open", r.stdout, r)
        f = self.wait_syscall(c, "open", executable="/helper/i386_open")
        ctx = context(f)
        self.assertEqual(ctx["literalFilePath"], "/etc/i386-written")
        self.assertEqual(ctx["flags"], ["O_WRONLY", "O_CREAT", "O_TRUNC"])

    def test_int80_path_operations_and_signals_name_what_they_went_around(self):
        c = self.started(name="i80ops")
        c.exec(["/bin/sh", "-c", "echo x > /etc/i80-from"])
        self.int80(c, "rename", "/etc/i80-from", "/etc/i80-to")
        self.int80(c, "chmod", "/etc/i80-to", "4755")
        self.int80(c, "kill", "1", "0")  # signal 0 to its own init: a probe, still a kill(2)
        ren = context(self.wait_syscall(c, "rename"))
        self.assertEqual(ren["bypassedConcern"], "rootfsWrites")
        self.assertEqual(ren["literalFilePath"], "/etc/i80-from")
        self.assertEqual(ren["literalSecondFilePath"], "/etc/i80-to")
        self.assertNotIn("flags", ren)
        chmod = context(self.wait_syscall(c, "chmod"))
        self.assertEqual(chmod["literalFilePath"], "/etc/i80-to")
        kill = context(self.wait_syscall(c, "kill"))
        self.assertEqual(kill["bypassedConcern"], "hostNamespaces")
        self.assertEqual(kill["syscallNumber"], 37)
        self.assertNotIn("literalFilePath", kill)

    def test_native_calls_read_only_opens_and_host_processes_are_silent(self):
        """The 64-bit forms of the same calls (the other concerns' business), a 32-bit read-only
        open, and a host process's 32-bit write open give no CompatSyscallUsed; then a sentinel
        32-bit unlink in the container, whose finding is the only one."""
        c = self.started(name="i80quiet")
        c.exec(["/bin/sh", "-c", "echo x > /etc/native && mv /etc/native /etc/native2 && "
                "chmod 600 /etc/native2 && kill -0 1"])
        self.int80(c, "read", "/etc/passwd")
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run([egprobe_host(), "int80", "open", os.path.join(d, "host-file")],
                               capture_output=True, text=True, timeout=10)
            self.assertIn("ok int80", r.stdout, r)
        self.int80(c, "unlink", "/etc/native2")
        self.wait_syscall(c, "unlink")
        self.assertEqual([context(f)["syscall"] for f in self.compat_findings(c)], ["unlink"])
        host = [f for f in self.agent.findings() if f.get("type") == COMPAT and
                context(f).get("literalFilePath", "").endswith("/host-file")]
        self.assertEqual(host, [])
