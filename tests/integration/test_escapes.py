"""Container-escape techniques (issue 18), each performed against a harmless target in a real
runc container on the real kernel, with its finding (type, severity, attribution, context) and
its benign counterpart's silence.

Silence is asserted after a sentinel: the benign actions run first, then the technique itself
once more; its finding arrives after the benign actions' events (one ring, in order), so when it
is there and nothing else is, the benign actions produced nothing.
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import harness
from agent_case import (AgentCase, additional_info, context, egprobe_host,
                        fs_setup_hooks_unseen, last_by_id, process)
from test_hostns import HostSleeper

FILELESS = "DefenseEvasion:Runtime/FilelessExecution"
ELEVATION = "PrivilegeEscalation:Runtime/ElevationToRoot"
RUNC_ESCAPE = "PrivilegeEscalation:Runtime/RuncContainerEscape"
RELEASE_AGENT = "PrivilegeEscalation:Runtime/CGroupsReleaseAgentModified"
HOST_FILE = "PrivilegeEscalation:Runtime/HostFileModified"
USERFAULTFD = "PrivilegeEscalation:Runtime/UserfaultfdUsage"
DOCKER_SOCKET = "PrivilegeEscalation:Runtime/DockerSocketAccessed"
MODULE_LOADED = "DefenseEvasion:Runtime/KernelModuleLoaded"
MOUNTS_HOST = "PrivilegeEscalation:Runtime/ContainerMountsHostDirectory"
ESCAPE_TYPES = (FILELESS, ELEVATION, RUNC_ESCAPE, RELEASE_AGENT, HOST_FILE, USERFAULTFD,
                DOCKER_SOCKET, MODULE_LOADED, MOUNTS_HOST)


def loaded_modules():
    """The names of the modules the kernel has loaded (/proc/modules)."""
    with open("/proc/modules") as fh:
        return [line.split()[0] for line in fh]


def unload_module(name):
    """delete_module(2) from the host, if the module is still loaded."""
    import ctypes
    nr = {"x86_64": 176, "aarch64": 106}[os.uname().machine]
    ctypes.CDLL(None, use_errno=True).syscall(nr, name.encode(), os.O_NONBLOCK)


def module_file(name):
    """The running kernel's module `name` as a plain .ko, where the kernel keeps its modules
    (a kernel-matrix guest links the unpacked package there); None when it has no such file."""
    base = "/lib/modules/%s/kernel/drivers/net/%s.ko" % (os.uname().release, name)
    if os.path.exists(base):
        with open(base, "rb") as fh:
            return fh.read()
    if os.path.exists(base + ".xz"):
        import lzma
        with lzma.open(base + ".xz") as fh:
            return fh.read()
    return None


class UnixListener:
    """A host process's unix stream socket at `path` (a stand-in for dockerd's docker.sock):
    accepts and closes every connection, in a thread of this (host) process."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(16)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.close()

    def close(self):
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


class Escapes(AgentCase):
    share_agent = True  # every test looks at its own containers only

    def started(self, **options):
        return self.started_in_task("escapes", **options)

    def only(self, type_, c, timeout=20):
        """The container's findings of `type_` (newest line of each), after one has arrived."""
        self.agent.wait_for(harness.match(type_, c), timeout=timeout)
        return list(last_by_id(self.findings_of(type_, c)).values())

    def one_counted(self, type_, c, count, severity):
        """The container's one finding of `type_`, once its count has reached `count`, with its
        attribution checked: repeats of one behaviour are one finding."""
        self.agent.wait_for(lambda f: harness.match(type_, c)(f) and
                            f["service"]["count"] >= count, timeout=20)
        found = self.only(type_, c)
        self.assertEqual(len(found), 1, found)
        self.assertEscapeAttribution(found[0], c, type_, severity)
        return found[0]

    def assertEscapeAttribution(self, f, c, type_, severity):
        self.assertEqual(f["type"], type_)
        self.assertEqual(f["severity"], severity)
        self.assertAttributed(f, c)
        p = process(f)
        self.assertGreater(p["pid"], 0)
        self.assertGreater(p["namespacePid"], 0)
        self.assertIn("uuid", p)
        # Every context extension is also where typed consumers read it.
        if "execPath" in context(f):
            self.assertEqual(additional_info(f)["context"]["execPath"], context(f)["execPath"])

    # -- 1. FilelessExecution ---------------------------------------------------------------

    def test_memfd_exec_is_fileless_execution(self):
        c = self.started(name="fileless")
        for _ in range(2):
            r = c.exec(["/bin/egprobe", "memfd-exec", "payload", "null-syscall", "1"])
            self.assertIn("ok null-syscall", r.stdout)
        # two runs, one behaviour
        f = self.one_counted(FILELESS, c, 2, 5.0)
        ctx = context(f)
        self.assertEqual(ctx["memfdName"], "memfd:payload")
        self.assertIs(ctx["memoryBackedFile"], True)
        self.assertRegex(ctx["execPath"], r"^/(dev|proc/self)/fd/\d+$")
        self.assertEqual(process(f)["executablePath"], "/memfd:payload (deleted)")
        self.assertEqual(f["service"]["count"], 2)

    def test_unlinked_tmpfile_exec_is_fileless_execution(self):
        # On a tmpfs of its own (exec allowed): O_TMPFILE needs a file system that has it, which
        # the kernel matrix's guests' root over 9p has not.
        c = self.started(name="tmpfile", caps_add=["CAP_SYS_ADMIN"])
        r = c.exec(["/bin/sh", "-c", "mkdir -p /mnt/scratch && mount -t tmpfs scratch "
                    "/mnt/scratch && /bin/egprobe tmpfile-exec /mnt/scratch null-syscall 1"])
        self.assertIn("ok null-syscall", r.stdout)
        f = self.only(FILELESS, c)[0]
        self.assertEscapeAttribution(f, c, FILELESS, 5.0)
        ctx = context(f)
        self.assertIs(ctx["memoryBackedFile"], False)
        self.assertNotIn("memfdName", ctx)
        self.assertTrue(ctx["unlinkedFilePath"].startswith("/mnt/scratch/"), ctx)

    def test_jit_memfd_runc_exec_and_runtime_reexec_are_silent(self):
        """memfd written and mapped executable (a JIT) is not an exec; runc 1.1 re-executes its
        memfd copy of itself in every `runc run` and `runc exec` (before it joins the
        container's cgroup here; runtime set-up, filtered in the kernel, when it has)."""
        c = self.started(name="jit")
        for _ in range(3):
            r = c.exec(["/bin/egprobe", "memfd-map", "jit-code"])
            self.assertIn("ok memfd-map", r.stdout)
        c.exec(["/bin/egprobe", "null-syscall", "1"])
        c.exec(["/bin/sh", "-c", "/bin/egprobe null-syscall 1 && cat /etc/passwd >/dev/null"])
        c.exec(["/bin/egprobe", "memfd-exec", "sentinel", "null-syscall", "1"])
        found = self.only(FILELESS, c)
        self.assertEqual([context(f)["memfdName"] for f in found], ["memfd:sentinel"])
        # Nothing else of the escape types from this container (other containers on the host
        # are other engineers' tests).
        self.assertEqual([f for t in ESCAPE_TYPES for f in self.findings_of(t, c)
                          if f["id"] != found[0]["id"]], [])

    # -- 2. ElevationToRoot -----------------------------------------------------------------

    def setuid_copy(self, c, name="egprobe-suid"):
        """A set-user-id-root copy of egprobe in the container's root filesystem."""
        path = os.path.join(c.rootfs_path, "bin", name)
        shutil.copy(os.path.join(c.rootfs_path, "bin", "egprobe"), path)
        os.chown(path, 0, 0)
        os.chmod(path, 0o4755)
        return "/bin/" + name

    def test_setuid_root_binary_run_by_uid_1000_is_elevation_to_root(self):
        c = self.started(name="elevate")
        suid = self.setuid_copy(c)
        # Benign first: root runs it, uid 1000 runs an ordinary binary.
        self.assertIn("euid=0", c.exec([suid, "ids"]).stdout)
        self.assertIn("uid=1000 euid=1000", c.exec(["/bin/egprobe", "ids"],
                                                   user=(1000, 1000)).stdout)
        for _ in range(2):
            self.assertIn("uid=1000 euid=0", c.exec([suid, "ids"], user=(1000, 1000)).stdout)
        f = self.one_counted(ELEVATION, c, 2, 5.0)
        ctx = context(f)
        self.assertEqual(ctx["uidBefore"], 1000)
        self.assertEqual(ctx["euidAfter"], 0)
        self.assertEqual(ctx["setuidFilePath"], suid)
        self.assertEqual(ctx["execPath"], suid)
        p = process(f)
        self.assertEqual(p["executablePath"], suid)
        self.assertEqual(p["userId"], 1000)
        self.assertEqual(p["euid"], 0)
        self.assertEqual(f["service"]["count"], 2)

    @harness.native_only("an allow rule is the agent's policy; the elevation's kernel side is "
                         "test_setuid_root_binary_run_by_uid_1000_is_elevation_to_root")
    def test_elevation_allowed_for_one_family_with_a_reason(self):
        """su/sudo in a container configured for it: reported by default (GuardDuty flags the
        unusual ones; ecsguard cannot tell usual from unusual), silenced per family by a rule."""
        policy = os.path.join(tempfile.mkdtemp(prefix="eg-escape-policy-"), "policy.yaml")
        self.addCleanup(shutil.rmtree, os.path.dirname(policy), True)
        with open(policy, "w") as f:
            f.write("allow:\n"
                    "  - name: builder-sudo\n"
                    "    reason: the build image runs its steps through sudo\n"
                    "    findings: [\"%s\"]\n"
                    "    task_family: builder\n" % ELEVATION)
        self.start_agent("--policy", policy)
        allowed = self.started(name="build", family="builder")
        other = self.started(name="web", family="web")
        for c in (allowed, other):
            suid = self.setuid_copy(c)
            self.assertIn("uid=1000 euid=0", c.exec([suid, "ids"], user=(1000, 1000)).stdout)
        f = self.only(ELEVATION, other)[0]
        self.assertAttributed(f, other)
        self.assertEqual(self.findings_of(ELEVATION, allowed), [])

    # -- 3. RuncContainerEscape (CVE-2024-21626 pattern) ------------------------------------

    def host_directory_fd(self):
        """A stand-in host directory (never a real host path that matters) and an fd of it."""
        d = os.path.realpath(tempfile.mkdtemp(prefix="eg-escape-host-"))
        self.addCleanup(shutil.rmtree, d, True)
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        self.addCleanup(os.close, fd)
        return d, fd

    def test_exec_from_a_leaked_host_directory_fd_is_runc_container_escape(self):
        c = self.started(name="leaky")
        host_dir, fd = self.host_directory_fd()
        # The runtime leaked fd 3 (a host directory): cd through it, then run a program.
        r = c.exec(["/bin/sh", "-c", "cd /proc/self/fd/3 && /bin/egprobe null-syscall 1 && "
                    "/bin/egprobe null-syscall 1 && pwd"], preserve_fds=(fd,))
        self.assertIn("ok null-syscall", r.stdout)
        found = self.only(RUNC_ESCAPE, c)
        self.assertEqual(len(found), 1, found)
        f = found[0]
        self.assertEscapeAttribution(f, c, RUNC_ESCAPE, 8.0)
        ctx = context(f)
        self.assertEqual(ctx["workingDirectory"], host_dir)
        self.assertEqual(ctx["workingDirectoryMountNamespace"], harness.host_ns_inode("mnt"))
        self.assertEqual(ctx["processMountNamespace"], harness.ns_inode(c.pid(), "mnt"))
        self.assertEqual(ctx["execPath"], "/bin/egprobe")
        self.assertEqual(process(f)["executablePath"], "/bin/egprobe")
        # GuardDuty's own member for it, where typed consumers read it.
        self.assertEqual(process(f)["pwd"], host_dir)

    def test_runc_exec_with_cwd_and_an_unused_leaked_fd_are_silent(self):
        c = self.started(name="tidy", caps_add=["CAP_SYS_ADMIN"],
                         volumes=[(tempfile.mkdtemp(prefix="eg-escape-vol-"), "/data")])
        host_dir, fd = self.host_directory_fd()
        c.exec(["/bin/egprobe", "null-syscall", "1"], cwd="/tmp")
        c.exec(["/bin/sh", "-c", "cd /data && /bin/egprobe null-syscall 1"])
        c.exec(["/bin/sh", "-c", "ls /proc/self/fd/3 >/dev/null; /bin/egprobe null-syscall 1"],
               preserve_fds=(fd,))
        # A mount namespace of its own inside the container (copies of its mounts), and from
        # there the container's first namespace as the working directory (through
        # /proc/1/root): the container's own, not another.
        r = c.exec(["/bin/sh", "-c", "cd /tmp && unshare -m /bin/egprobe null-syscall 1 && "
                    "unshare -m /bin/sh -c 'cd /proc/1/root/tmp && /bin/egprobe null-syscall 1'"])
        self.assertIn("ok null-syscall", r.stdout)
        # Sentinel.
        c.exec(["/bin/sh", "-c", "cd /proc/self/fd/3 && /bin/egprobe null-syscall 1"],
               preserve_fds=(fd,))
        found = self.only(RUNC_ESCAPE, c)
        self.assertEqual(len(found), 1, found)
        self.assertEqual(context(found[0])["workingDirectory"], host_dir)
        self.assertEqual(found[0]["service"]["count"], 1)

    # -- 4. CGroupsReleaseAgentModified -----------------------------------------------------

    def test_writing_release_agent_of_a_v1_hierarchy_it_mounted(self):
        """The container mounts a named v1 hierarchy of its own (never the host's real ones)
        and writes a stand-in path into its release_agent (nothing is ever released: no
        notify_on_release, no child cgroup). Reading it, and writing cgroup.procs of the same
        hierarchy, come first and are silent."""
        name = "egtest%s" % os.urandom(4).hex()
        c = self.started(name="agentwriter", caps_add=["CAP_SYS_ADMIN"])
        script = ("set -e; mkdir -p /mnt/cg; mount -t cgroup -o none,name=%s cgroup /mnt/cg; "
                  "trap 'umount /mnt/cg' EXIT; cat /mnt/cg/release_agent >/dev/null; "
                  "echo $$ > /mnt/cg/cgroup.procs; echo /stand-in/agent > /mnt/cg/release_agent; "
                  "cat /mnt/cg/release_agent" % name)
        r = c.exec(["/bin/sh", "-c", script], check=False)
        if "mount" in r.stderr and r.returncode != 0:
            self.fail("cannot mount a named cgroup v1 hierarchy here: %r" % r)
        self.assertIn("/stand-in/agent", r.stdout, r)
        found = self.only(RELEASE_AGENT, c)
        self.assertEqual(len(found), 1, found)
        f = found[0]
        self.assertEscapeAttribution(f, c, RELEASE_AGENT, 8.0)
        self.assertEqual(context(f)["releaseAgentPath"], "/mnt/cg/release_agent")
        self.assertEqual(context(f)["fileOperation"], "modify")
        self.assertEqual(process(f)["name"], "sh")
        self.assertEqual(self.findings_of(HOST_FILE, c), [])

    # -- 5. HostFileModified ----------------------------------------------------------------

    def ns_pid_of_init(self, c):
        """The container init's pid as the container sees it (the host's: host pid mode)."""
        return int(harness.proc_status(c.pid())["NSpid"].split()[-1])

    def test_writing_a_host_file_through_proc_root_of_a_host_process(self):
        """A host-PID container (CAP_SYS_PTRACE to reach a root host process's /proc/<pid>/root)
        writes a stand-in file in a temporary host directory. Reading the host's files through
        the same path and writing its own volume come first and are silent."""
        sleeper = HostSleeper()
        self.addCleanup(sleeper.stop)
        host_dir = os.path.realpath(tempfile.mkdtemp(prefix="eg-escape-hostfile-"))
        self.addCleanup(shutil.rmtree, host_dir, True)
        target = os.path.join(host_dir, "target.txt")
        with open(target, "w") as fh:
            fh.write("original\n")
        vol = tempfile.mkdtemp(prefix="eg-escape-vol-")
        self.addCleanup(shutil.rmtree, vol, True)
        c = self.started(name="hostpid", pid_mode="host",
                         caps_add=["CAP_SYS_PTRACE", "CAP_SYS_ADMIN"], volumes=[(vol, "/data")])
        via = "/proc/%d/root%s" % (sleeper.pid, target)
        c.exec(["/bin/sh", "-c", "cat /proc/%d/root/etc/hostname >/dev/null && cat %s >/dev/null"
                " && echo mine > /data/own.txt" % (sleeper.pid, via)])
        # From a mount namespace it made, the container writes its first namespace's files
        # (through its init's /proc/<pid>/root): its own files, not the host's.
        r = c.exec(["/bin/sh", "-c", "unshare -m /bin/sh -c 'echo x > /proc/%d/root/tmp/own && "
                    "echo y > /proc/%d/root/data/own2'" % (self.ns_pid_of_init(c),
                                                           self.ns_pid_of_init(c))])
        self.assertTrue(r.ok, r)
        # Binding the host directory into its own mount namespace instead (the "host
        # directory" of ContainerMountsHostDirectory without a block device) is refused by the
        # kernel: a bind's source must be a mount of the caller's namespace (docs/findings.md).
        r = c.exec(["/bin/sh", "-c", "mkdir -p /mnt/hostdir && mount -o bind /proc/%d/root%s "
                    "/mnt/hostdir; ls /mnt/hostdir" % (sleeper.pid, host_dir)])
        self.assertNotIn("target.txt", r.stdout, r)
        c.exec(["/bin/sh", "-c", "echo one >> %s; echo two >> %s" % (via, via)])
        time.sleep(1.2)  # past the kernel's one record per file a second: the repeat is carried
        c.exec(["/bin/sh", "-c", "echo three >> %s" % via])
        with open(target) as fh:
            self.assertEqual(fh.read(), "original\none\ntwo\nthree\n")
        f = self.one_counted(HOST_FILE, c, 3, 7.5)
        ctx = context(f)
        self.assertEqual(ctx["filePath"], target)
        self.assertEqual(ctx["fileOperation"], "modify")
        self.assertEqual(ctx["fileMountNamespace"], harness.host_ns_inode("mnt"))
        self.assertEqual(ctx["processMountNamespace"], harness.ns_inode(c.pid(), "mnt"))
        self.assertEqual(f["service"]["count"], 3)
        self.assertEqual(self.findings_of(RELEASE_AGENT, c), [])

    def test_overwriting_a_runtime_binary_through_proc_exe_is_runc_container_escape(self):
        """The CVE-2019-5736 pattern against a stand-in: a host process runs a copy of a binary
        named runc from a temporary host directory; a host-PID container holds its
        /proc/<pid>/exe and retries opening it for writing while the kernel refuses (ETXTBSY),
        then writes over it once the process has exited. Where fentry loads, the hold is a
        RuncContainerEscape of its own (fileOperation open) while the runtime still runs and
        nothing is written: an attempt on a patched runtime, whose writes all fail, is seen.
        The overwrite is RuncContainerEscape naming the binary, not HostFileModified. First,
        and silent: readlink of that link (ps-like tools) and opening a host process's
        executable that is no runtime's."""
        hook = harness.probe_report()["hooks"]["rootfsWrites"]
        attempts = "; ".join("%s: %s" % (a["attach"], a["result"]) for a in hook["attempts"])
        sees_open = (hook.get("chosen") or "").startswith("fentry") and "exe-link" not in attempts
        host_dir = os.path.realpath(tempfile.mkdtemp(prefix="eg-escape-runtime-"))
        self.addCleanup(shutil.rmtree, host_dir, True)
        runtime = os.path.join(host_dir, "runc")
        shutil.copy(egprobe_host(), runtime)
        os.chmod(runtime, 0o755)
        host = subprocess.Popen([runtime, "sleep", "120"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: host.poll() is not None or (host.kill(), host.wait()))
        other = HostSleeper()
        self.addCleanup(other.stop)
        c = self.started(name="overwriter", pid_mode="host",
                         caps_add=["CAP_SYS_PTRACE", "CAP_SYS_ADMIN"])
        benign = c.exec(["/bin/sh", "-c", "readlink /proc/%d/exe && ls -l /proc/%d/exe && "
                         "head -c 4 /proc/%d/exe >/dev/null"
                         % (host.pid, host.pid, other.pid)])
        self.assertTrue(benign.ok, benign)
        r = c.exec(["/bin/sh", "-c", "/bin/egprobe overwrite-exe %d 60 >/tmp/ow 2>&1 &"
                    % host.pid])
        self.assertTrue(r.ok, r)
        is_open = (lambda f: harness.match(RUNC_ESCAPE, c)(f) and
                   context(f)["fileOperation"] == "open")
        if sees_open:
            # Reported while the runtime runs: every write so far refused, nothing written.
            [f] = self.agent.wait_for(is_open, timeout=20)
            with open(runtime, "rb") as fh:
                self.assertNotEqual(fh.read(12), b"overwritten\n")
            self.assertEscapeAttribution(f, c, RUNC_ESCAPE, 8.0)
            ctx = context(f)
            self.assertEqual(ctx["runcBinaryPath"], runtime)
            self.assertEqual(ctx["runtimeProcessPid"], host.pid)
            self.assertIs(ctx["memoryBackedFile"], False)
            self.assertEqual(process(f)["executablePath"], "/bin/egprobe")
        else:
            print("kernel side of the hold not loaded here (fexit/get_task_exe_file): "
                  "rootfsWrites %s (%s)" % (hook.get("chosen"), attempts))
        time.sleep(1)  # refused while the host process runs it
        host.kill()
        host.wait()
        deadline = time.monotonic() + 30
        out = ""
        while "overwrite-exe" not in out and time.monotonic() < deadline:
            time.sleep(0.3)
            out = c.exec(["/bin/cat", "/tmp/ow"], check=False).stdout
        self.assertIn("ok overwrite-exe", out)
        self.assertNotIn("refused=0", out)  # the ETXTBSY retries happened
        with open(runtime) as fh:
            self.assertEqual(fh.read(), "overwritten\n")
        self.agent.wait_for(lambda f: harness.match(RUNC_ESCAPE, c)(f) and
                            context(f)["fileOperation"] == "modify", timeout=20)
        found = self.only(RUNC_ESCAPE, c)
        [f] = [f for f in found if context(f)["fileOperation"] == "modify"]
        self.assertEscapeAttribution(f, c, RUNC_ESCAPE, 8.0)
        ctx = context(f)
        self.assertEqual(ctx["runcBinaryPath"], runtime)
        self.assertEqual(ctx["fileMountNamespace"], harness.host_ns_inode("mnt"))
        self.assertEqual(process(f)["executablePath"], "/bin/egprobe")
        # The hold once (readlink and the other host executable: none), and the overwrite.
        self.assertEqual(sorted(context(x)["fileOperation"] for x in found),
                         ["modify", "open"] if sees_open else ["modify"], found)
        if sees_open:
            # The hold and, where the /proc/self/fd/N link is watched too, the refused
            # write-opens through it (the kernel carries those it absorbed in its next record).
            refused = int(out.split("refused=")[1].split()[0])
            if "fd-link" in attempts:
                [opened] = [x for x in found if is_open(x)]
                self.assertEqual(opened["service"]["count"], 1, opened)
            else:
                self.agent.wait_for(lambda f: is_open(f) and f["service"]["count"] >= 2,
                                    timeout=20)
                [opened] = [x for x in self.only(RUNC_ESCAPE, c) if is_open(x)]
                self.assertLessEqual(opened["service"]["count"], refused + 2, opened)
        self.assertEqual(self.findings_of(HOST_FILE, c), [])

    def test_holding_a_runtime_binary_through_its_fd_or_mapping_is_runc_container_escape(self):
        """Holds other than the exe link, against a stand-in that runs a binary named runc and
        keeps a descriptor to it: a host-PID container reaches it through /proc/<pid>/fd/N,
        another (CAP_SYS_ADMIN) through the text mapping, /proc/<pid>/map_files/<range>; both
        then retry write-opens through /proc/self/fd/N that the kernel refuses (ETXTBSY). One
        RuncContainerEscape each, naming the link followed and the runtime's pid, the retries
        in its count; nothing written. Silent first, in the fd container: the same through a
        descriptor a host process keeps to an executable of no runtime."""
        hook = harness.probe_report()["hooks"]["rootfsWrites"]
        attempts = "; ".join("%s: %s" % (a["attach"], a["result"]) for a in hook["attempts"])
        if not (hook.get("chosen") or "").startswith("fentry") or "fd-link" in attempts:
            self.skipTest("kernel side of the /proc links not loaded here (fexit/proc_fd_link, "
                          "map_files_get_link): rootfsWrites %s (%s)"
                          % (hook.get("chosen"), attempts))
        host_dir = os.path.realpath(tempfile.mkdtemp(prefix="eg-escape-hold-"))
        self.addCleanup(shutil.rmtree, host_dir, True)
        stand_ins = {}
        for name in ("runc", "worker"):
            path = os.path.join(host_dir, name)
            shutil.copy(egprobe_host(), path)
            os.chmod(path, 0o755)
            proc = subprocess.Popen([path, "hold-self", "120"], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            self.addCleanup(lambda p=proc: p.poll() is not None or (p.kill(), p.wait()))
            stand_ins[name] = (path, proc)
        runtime, host = stand_ins["runc"]
        by_fd = self.started(name="fdholder", pid_mode="host", caps_add=["CAP_SYS_PTRACE"])
        by_map = self.started(name="mapholder", pid_mode="host",
                              caps_add=["CAP_SYS_PTRACE", "CAP_SYS_ADMIN"])
        refused = {}
        for c, pid, via in ((by_fd, stand_ins["worker"][1].pid, "fd"),
                            (by_fd, host.pid, "fd"), (by_map, host.pid, "map_files")):
            r = c.exec(["/bin/egprobe", "overwrite-exe", str(pid), "2", via], check=False)
            self.assertIn("step=deadline", r.stdout, r)  # every write-open refused
            refused[c.name, pid] = int(r.stdout.split("refused=")[1].split()[0])
            self.assertGreater(refused[c.name, pid], 0, r)
        with open(runtime, "rb") as fh:
            self.assertNotEqual(fh.read(12), b"overwritten\n")
        for c, via in ((by_fd, "fd"), (by_map, "map_files")):
            self.agent.wait_for(lambda f, c=c: harness.match(RUNC_ESCAPE, c)(f) and
                                f["service"]["count"] >= 2, timeout=20)
            [f] = self.only(RUNC_ESCAPE, c)
            self.assertEscapeAttribution(f, c, RUNC_ESCAPE, 8.0)
            ctx = context(f)
            self.assertEqual(ctx["fileOperation"], "open")
            self.assertEqual(ctx["procLinkFollowed"], via)
            self.assertEqual(ctx["runcBinaryPath"], runtime)
            self.assertEqual(ctx["runtimeProcessPid"], host.pid)
            self.assertIs(ctx["memoryBackedFile"], False)
            self.assertEqual(process(f)["executablePath"], "/bin/egprobe")
            # The hold and the retries the kernel counted (opens after the last record wait
            # for the next one).
            self.assertLessEqual(f["service"]["count"], 1 + refused[c.name, host.pid], f)
            self.assertEqual(self.findings_of(HOST_FILE, c), [])

    # -- 6. UserfaultfdUsage ----------------------------------------------------------------

    def test_userfaultfd_syscall_is_userfaultfd_usage_and_a_refused_one_is_silent(self):
        """With vm.unprivileged_userfaultfd 0 (Debian's default) the plain call needs
        CAP_SYS_PTRACE: refused in a container without it (no object made: silent), made in one
        with it. The refused one runs first; the made one's finding comes after it."""
        # 5.10's BTF declares the pt_regs of __x64_sys_userfaultfd without defining it: where
        # the syscall programs are fexit, that one cannot load and the probe lists it missing.
        for a in harness.probe_report()["hooks"]["rootfsWrites"]["attempts"]:
            missing = a["result"].partition("missing:")[2]
            if "userfaultfd" in missing.replace(" ", "").split(","):
                self.skipTest("userfaultfd(2) not watched on this kernel: %s: %s"
                              % (a["attach"], a["result"]))
        refused = self.started(name="nouffd")
        made = self.started(name="uffd", caps_add=["CAP_SYS_PTRACE"])
        with open("/proc/sys/vm/unprivileged_userfaultfd") as fh:
            unprivileged = fh.read().strip() == "1"
        r = refused.exec(["/bin/egprobe", "userfaultfd"], check=False)
        if not unprivileged:
            self.assertIn("errno=EPERM", r.stdout, r)
        refused.exec(["/bin/sh", "-c", "echo x > /dev/null"])
        self.assertIn("ok userfaultfd", made.exec(["/bin/egprobe", "userfaultfd"]).stdout)
        f = self.only(USERFAULTFD, made)[0]
        self.assertEscapeAttribution(f, made, USERFAULTFD, 5.0)
        ctx = context(f)
        self.assertEqual(ctx["syscall"], "userfaultfd")
        self.assertEqual(ctx["userfaultfdFlags"], os.O_CLOEXEC)
        self.assertEqual(process(f)["executablePath"], "/bin/egprobe")
        if not unprivileged:
            self.assertEqual(self.findings_of(USERFAULTFD, refused), [])

    def test_dev_userfaultfd_is_userfaultfd_usage(self):
        # The kernel's own misc devices (the kernel matrix's guests see the host's /dev).
        with open("/proc/misc") as fh:
            minors = [int(line.split()[0]) for line in fh if line.split()[1:] == ["userfaultfd"]]
        if not minors:
            self.skipTest("kernel %s has no userfaultfd misc device (6.1+)" % os.uname().release)
        minor = minors[0]
        c = self.started(name="uffddev", privileged=True)
        r = c.exec(["/bin/sh", "-c", "mknod /dev/userfaultfd c 10 %d && "
                    "/bin/egprobe userfaultfd-dev" % minor])
        self.assertIn("ok userfaultfd-dev", r.stdout)
        f = self.only(USERFAULTFD, c)[0]
        self.assertEscapeAttribution(f, c, USERFAULTFD, 5.0)
        self.assertIs(context(f)["userfaultfdDevice"], True)
        self.assertTrue(context(f)["userfaultfdFlags"] & os.O_RDWR)
        self.assertEqual(process(f)["executablePath"], "/bin/egprobe")

    # -- 7. DockerSocketAccessed ------------------------------------------------------------

    def test_connecting_to_a_bind_mounted_runtime_socket_is_docker_socket_accessed(self):
        """A host process listens on docker.sock in a host directory the task bind-mounts (as
        ECS does for /var/run/docker.sock); the container connects to it. First, and silent: a
        decoy docker.sock the container binds and connects to itself, and a host socket of
        another name in the same directory. The finding names the address the host bound and
        the listening process, and counts every connect."""
        host_dir = os.path.realpath(tempfile.mkdtemp(prefix="eg-escape-sock-"))
        self.addCleanup(shutil.rmtree, host_dir, True)
        runtime = UnixListener(os.path.join(host_dir, "docker.sock"))
        self.addCleanup(runtime.close)
        other = UnixListener(os.path.join(host_dir, "metrics.sock"))
        self.addCleanup(other.close)
        c = self.started(name="sock", volumes=[(host_dir, "/var/run/host")])
        r = c.exec(["/bin/sh", "-c", "/bin/egprobe unix-self /tmp/docker.sock && "
                    "/bin/egprobe unix-connect /var/run/host/metrics.sock"])
        self.assertIn("ok unix-connect", r.stdout, r)
        via = "/var/run/host/docker.sock"
        self.assertIn("ok unix-connect", c.exec(["/bin/egprobe", "unix-connect", via, "2"]).stdout)
        time.sleep(1.2)  # past the kernel's one record per socket a second: the repeat is carried
        self.assertIn("ok unix-connect", c.exec(["/bin/egprobe", "unix-connect", via]).stdout)
        f = self.one_counted(DOCKER_SOCKET, c, 3, 5.0)
        ctx = context(f)
        self.assertEqual(ctx["socketPath"], runtime.path)
        self.assertEqual(ctx["socketServerPid"], os.getpid())
        self.assertEqual(ctx["syscall"], "connect")
        self.assertEqual(process(f)["executablePath"], "/bin/egprobe")
        self.assertEqual(f["service"]["count"], 3)

    def test_host_network_container_reaching_the_shims_abstract_socket(self):
        """CVE-2020-15257: containerd-shim listened on an abstract unix socket, which has no
        file and lives in the network namespace's table, so a task in host network mode (ECS's
        `host`) could reach the shim's API. A host process listens on
        "@/containerd-shim/moby/<id>/shim.sock" and a host-network container connects: a
        DockerSocketAccessed finding naming the abstract address and the listener. Silent: the
        same name bound by the container itself (a name proves nothing; the kernel records an
        abstract socket only when a process of the host's mount namespace listens on it), and
        a host abstract socket of another name."""
        name = "/containerd-shim/moby/%s/shim.sock" % ("e" * 64)
        shim = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        shim.bind("\0" + name)
        shim.listen(16)
        self.addCleanup(shim.close)
        other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        other.bind("\0/eg-test/metrics")
        other.listen(16)
        self.addCleanup(other.close)
        c = self.started(name="hostnet", network_mode="host")
        r = c.exec(["/bin/sh", "-c", "/bin/egprobe unix-self @/containerd-shim/decoy/shim.sock "
                    "&& /bin/egprobe unix-connect @/eg-test/metrics"])
        self.assertIn("ok unix-connect", r.stdout, r)
        r = c.exec(["/bin/egprobe", "unix-connect", "@" + name, "2"])
        self.assertIn("ok unix-connect", r.stdout, r)
        time.sleep(1.2)  # past the kernel's one record a second: the repeat is carried
        r = c.exec(["/bin/egprobe", "unix-connect", "@" + name])
        self.assertIn("ok unix-connect", r.stdout, r)
        f = self.one_counted(DOCKER_SOCKET, c, 3, 5.0)
        ctx = context(f)
        self.assertEqual(ctx["socketPath"], "@" + name)
        self.assertIs(ctx["abstractSocket"], True)
        self.assertEqual(ctx["socketServerPid"], os.getpid())
        self.assertEqual(process(f)["executablePath"], "/bin/egprobe")
        self.assertEqual({context(x)["socketPath"] for x in self.findings_of(DOCKER_SOCKET, c)},
                         {"@" + name})

    # -- 8. KernelModuleLoaded --------------------------------------------------------------

    def test_loading_a_kernel_module_is_kernel_module_loaded(self):
        """A privileged container loads a harmless module (the dummy network driver) from a
        file in its volume with finit_module, then unloads it. First, and silent: the same
        load refused to a container without CAP_SYS_MODULE. Then that unprivileged container
        opens the first AppleTalk socket: the kernel asks for net-pf-5 (request_module) and
        runs the host's modprobe, which loads appletalk and what it depends on;
        KernelModuleLoaded for the container though the loading task is the kernel's helper
        (where the kernel has an appletalk module and can run modprobe)."""
        if not os.path.exists("/proc/modules"):
            self.skipTest("kernel %s has no loadable-module support (no /proc/modules)"
                          % os.uname().release)
        image = module_file("dummy")
        if image is None:
            self.skipTest("kernel %s has no dummy.ko under /lib/modules" % os.uname().release)
        if "dummy" in loaded_modules():
            self.skipTest("the dummy module is already loaded on this host")
        vol = tempfile.mkdtemp(prefix="eg-escape-module-")
        self.addCleanup(shutil.rmtree, vol, True)
        with open(os.path.join(vol, "dummy.ko"), "wb") as fh:
            fh.write(image)
        refused = self.started(name="nomodule", volumes=[(vol, "/modules", "ro")])
        loader = self.started(name="module", privileged=True, volumes=[(vol, "/modules", "ro")])
        r = refused.exec(["/bin/egprobe", "finit-module", "/modules/dummy.ko"], check=False)
        self.assertIn("errno=EPERM", r.stdout, r)
        r = loader.exec(["/bin/egprobe", "finit-module", "/modules/dummy.ko"])
        self.assertIn("ok finit-module", r.stdout, r)
        self.addCleanup(unload_module, "dummy")  # when the test fails before its own unload
        # Loaded twice: the kernel refuses the second (EEXIST) before the module is accepted.
        r = loader.exec(["/bin/egprobe", "finit-module", "/modules/dummy.ko"], check=False)
        self.assertIn("errno=EEXIST", r.stdout, r)
        f = self.only(MODULE_LOADED, loader)[0]
        self.assertEscapeAttribution(f, loader, MODULE_LOADED, 8.0)
        ctx = context(f)
        self.assertEqual(ctx["moduleName"], "dummy")
        self.assertEqual(ctx["moduleFilePath"], "/modules/dummy.ko")
        self.assertEqual(ctx["moduleSha256"], hashlib.sha256(image).hexdigest())
        self.assertEqual(ctx["syscall"], "finit_module")
        self.assertEqual(process(f)["executablePath"], "/bin/egprobe")
        self.assertEqual(f["service"]["count"], 1)
        self.assertIn("ok delete-module", loader.exec(["/bin/egprobe", "delete-module",
                                                       "dummy"]).stdout)
        # The file changed after the load, before the agent read it (stopped): its bytes are
        # not the ones loaded, so no digest is given, and the context says why.
        second = self.started(name="module2", privileged=True, volumes=[(vol, "/modules", "ro")])
        os.kill(self.agent.proc.pid, signal.SIGSTOP)
        try:
            r = second.exec(["/bin/egprobe", "finit-module", "/modules/dummy.ko"])
            self.assertIn("ok finit-module", r.stdout, r)
            time.sleep(0.05)  # a later ctime than the load, whatever the clocks' grain
            with open(os.path.join(vol, "dummy.ko"), "ab") as fh:
                fh.write(b"\0")
        finally:
            os.kill(self.agent.proc.pid, signal.SIGCONT)
        ctx = context(self.only(MODULE_LOADED, second)[0])
        self.assertNotIn("moduleSha256", ctx)
        self.assertEqual(ctx["moduleSha256Unavailable"], "fileChangedSinceLoad")
        self.assertIn("ok delete-module", second.exec(["/bin/egprobe", "delete-module",
                                                       "dummy"]).stdout)
        self.assertEqual(self.findings_of(MODULE_LOADED, refused), [])
        why_not = self.autoload_unavailable("appletalk", "net-pf-5")
        if why_not:
            print("the kernel-loaded part not run: %s" % why_not)
            return
        self.addCleanup(unload_module, "appletalk")
        r = refused.exec(["/bin/egprobe", "socket", "5", "2"], check=False)  # AppleTalk datagram
        self.assertIn("appletalk", loaded_modules(), r)
        [f] = self.agent.wait_for(lambda x: harness.match(MODULE_LOADED, refused)(x) and
                                  context(x)["moduleName"] == "appletalk", timeout=20)
        self.assertEscapeAttribution(f, refused, MODULE_LOADED, 8.0)
        ctx = context(f)
        self.assertIs(ctx["loadedByKernel"], True)
        self.assertEqual(ctx["requestedModule"], "net-pf-5")
        # By file (finit_module), or from memory where modprobe unpacked a compressed module
        # itself (init_module: no file; 6.12's .ko.xz).
        if "moduleFilePath" in ctx:
            self.assertTrue(ctx["moduleFilePath"].endswith("/appletalk.ko"), ctx)
            with open(ctx["moduleFilePath"], "rb") as fh:  # the host's file
                self.assertEqual(ctx["moduleSha256"], hashlib.sha256(fh.read()).hexdigest())
        else:
            self.assertNotIn("moduleSha256", ctx)
        self.assertNotIn("syscall", ctx)
        self.assertEqual(process(f)["executablePath"], "/bin/egprobe")

    def test_kernel_loads_are_matched_to_the_request_they_serve(self):
        """The kernel's modprobe helper is given what it serves as its last argument; a load it
        makes is the container's whose request named that, not the latest asker's. (1) A
        container asks for a protocol family no module provides (net-pf-13: modprobe loads
        nothing) and, within the ten seconds a request is kept, a host process's own socket
        makes the kernel load appletalk: the host's load, silent (it was taken for the
        container's before). (2) Two containers ask at the same time, one for appletalk, one
        for phonet: each load is its own requester's."""
        if not os.path.exists("/proc/modules"):
            self.skipTest("kernel %s has no loadable-module support (no /proc/modules)"
                          % os.uname().release)
        for module, alias in (("appletalk", "net-pf-5"), ("phonet", "net-pf-35")):
            why_not = self.autoload_unavailable(module, alias)
            if why_not:
                self.skipTest(why_not)
        self.addCleanup(unload_module, "phonet")
        self.addCleanup(unload_module, "appletalk")
        asker = self.started(name="asks-nothing")
        r = asker.exec(["/bin/egprobe", "socket", "13", "2"], check=False)
        self.assertIn("errno=EAFNOSUPPORT", r.stdout, r)
        self.host_loads_appletalk()
        time.sleep(2)
        self.assertEqual(self.findings_of(MODULE_LOADED, asker), [])
        unload_module("appletalk")
        self.assertNotIn("appletalk", loaded_modules())

        a = self.started(name="asks-appletalk")
        b = self.started(name="asks-phonet")
        results = {}
        threads = [threading.Thread(target=lambda c=c, fam=fam: results.__setitem__(
            c.name, c.exec(["/bin/egprobe", "socket", fam, "2"], check=False)))
            for c, fam in ((a, "5"), (b, "35"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        # The sockets' results say nothing of the loads: AppleTalk refuses a socket outside the
        # initial network namespace (EAFNOSUPPORT) once it is loaded, Phonet asks for
        # CAP_SYS_ADMIN (EPERM). (This test retried an EAFNOSUPPORT once, taken for a helper
        # that loaded nothing; the finding it then missed was the request table's eviction.)
        loaded = loaded_modules()
        self.assertIn("appletalk", loaded, results)
        self.assertIn("phonet", loaded, results)
        for c, module in ((a, "appletalk"), (b, "phonet")):
            try:
                # modprobe under emulation on a busy host can take tens of seconds.
                [f] = self.agent.wait_for(lambda x, c=c, module=module: harness.match(
                    MODULE_LOADED, c)(x) and context(x)["moduleName"] == module, timeout=60)
            except harness.HarnessError as exc:
                self.fail("%s: no %s finding; the sockets: %s; loaded after: %s; %s"
                          % (c.name, module, results, loaded, exc))
            self.assertEscapeAttribution(f, c, MODULE_LOADED, 8.0)
        time.sleep(1)
        self.assertEqual({context(f)["moduleName"] for f in self.findings_of(MODULE_LOADED, a)},
                         {"appletalk"}, results)
        self.assertEqual({context(f)["requestedModule"]
                          for f in self.findings_of(MODULE_LOADED, a)}, {"net-pf-5"})
        self.assertEqual({context(f)["moduleName"] for f in self.findings_of(MODULE_LOADED, b)},
                         {"phonet"}, results)
        self.assertEqual({context(f)["requestedModule"]
                          for f in self.findings_of(MODULE_LOADED, b)}, {"net-pf-35"})
        self.assertEqual(self.findings_of(MODULE_LOADED, asker), [])

    def test_a_load_after_its_asker_gave_up_and_exited_is_not_the_askers(self):
        """A contained process asks for net-pf-5 and its request fails (the kernel's modprobe
        path points at /bin/false for that moment): its socket call returns, the process
        exits. Within the minute a request by name is kept, a host process's own socket makes
        the kernel load appletalk for net-pf-5. The asker no longer waits: the load is the
        host's, silent. (It was the container's: the exited asker's task still read its start
        time, and the finding named it through its pid, which another container's process
        could have by then.)"""
        modprobe, set_modprobe = self.appletalk_autoload_with_modprobe_path()
        asker = self.started(name="gives-up")
        set_modprobe("/bin/false")
        try:
            r = asker.exec(["/bin/egprobe", "socket", "5", "2"], check=False)
        finally:
            set_modprobe(modprobe)
        self.assertIn("errno=EAFNOSUPPORT", r.stdout, r)
        self.host_loads_appletalk()
        # The same kind of load asked for by a container that waits is seen (the agent works
        # here): another container asks for phonet.
        why_not = self.autoload_unavailable("phonet", "net-pf-35")
        if not why_not:
            self.addCleanup(unload_module, "phonet")
            waits = self.started(name="waits")
            waits.exec(["/bin/egprobe", "socket", "35", "2"], check=False)
            self.agent.wait_for(lambda x: harness.match(MODULE_LOADED, waits)(x) and
                                context(x)["moduleName"] == "phonet", timeout=60)
        else:
            time.sleep(2)
        self.assertEqual(self.findings_of(MODULE_LOADED, asker), [])

    def test_a_load_whose_asker_was_killed_while_it_waited_is_still_the_askers(self):
        """The wait in request_module is killable and the kernel's modprobe goes on without its
        asker: a container asks for net-pf-5 from one process and a sibling SIGKILLs it while
        modprobe runs (the host's modprobe path points, for that moment, at a wrapper that
        waits three seconds before it runs the real one). appletalk is loaded all the same:
        KernelModuleLoaded for the container, naming the killed asker as it asked. (A load was
        the container's only while its asker still waited, so killing it hid the load.)"""
        modprobe, set_modprobe = self.appletalk_autoload_with_modprobe_path()
        work = tempfile.mkdtemp(prefix="eg-escape-modprobe-")
        self.addCleanup(shutil.rmtree, work, True)
        wrapper = os.path.join(work, "slow-modprobe")
        with open(wrapper, "w") as fh:
            fh.write('#!/bin/sh\nsleep 3\nexec %s "$@"\n' % modprobe)
        os.chmod(wrapper, 0o755)
        asker = self.started(name="killed-asker")
        set_modprobe(wrapper)
        try:
            r = asker.exec(["/bin/sh", "-c", "/bin/egprobe socket 5 2 & p=$!; sleep 1; "
                            "kill -9 $p; wait $p; echo status=$?"], check=False)
        finally:
            set_modprobe(modprobe)
        self.assertIn("status=137", r.stdout, r)  # killed, not returned from its socket call
        deadline = time.monotonic() + 60
        while True:
            if "appletalk" in loaded_modules():
                break
            self.assertLess(time.monotonic(), deadline, "modprobe never loaded appletalk")
            time.sleep(0.2)
        [f] = self.agent.wait_for(lambda x: harness.match(MODULE_LOADED, asker)(x) and
                                  context(x)["moduleName"] == "appletalk", timeout=30)
        self.assertEscapeAttribution(f, asker, MODULE_LOADED, 8.0)
        ctx = context(f)
        self.assertIs(ctx["loadedByKernel"], True)
        self.assertEqual(ctx["requestedModule"], "net-pf-5")
        self.assertEqual(process(f)["executablePath"], "/bin/egprobe")

    def appletalk_autoload_with_modprobe_path(self):
        """Skips unless the kernel can load appletalk by itself here; else the kernel's
        modprobe path and a setter for it, restored (and appletalk unloaded) at cleanup."""
        if not os.path.exists("/proc/modules"):
            self.skipTest("kernel %s has no loadable-module support (no /proc/modules)"
                          % os.uname().release)
        why_not = self.autoload_unavailable("appletalk", "net-pf-5")
        if why_not:
            self.skipTest(why_not)
        self.addCleanup(unload_module, "appletalk")
        with open("/proc/sys/kernel/modprobe") as fh:
            modprobe = fh.read().strip()

        def set_modprobe(path):
            with open("/proc/sys/kernel/modprobe", "w") as fh:
                fh.write(path)
        self.addCleanup(set_modprobe, modprobe)
        return modprobe, set_modprobe

    def host_loads_appletalk(self):
        """This host process's own AppleTalk socket: the kernel loads the module for it."""
        try:
            socket.socket(5, socket.SOCK_DGRAM).close()  # AF_APPLETALK
        except OSError as exc:
            self.fail("the host's own AppleTalk socket: %s" % exc)
        self.assertIn("appletalk", loaded_modules())

    @staticmethod
    def autoload_unavailable(module, alias):
        """Why the kernel cannot load `module` by itself here for `alias` (None: it can)."""
        if not os.path.exists("/proc/sys/kernel/modprobe"):
            return "kernel %s runs no modprobe helper (no /proc/sys/kernel/modprobe)" % (
                os.uname().release)
        with open("/proc/sys/kernel/modprobe") as fh:
            modprobe = fh.read().strip()
        moddir = "/lib/modules/%s" % os.uname().release
        if not os.path.exists(modprobe) or not os.path.exists(moddir + "/modules.alias"):
            return "no %s or no module index in %s" % (modprobe, moddir)
        with open(moddir + "/modules.alias") as fh:
            if not any(line.split()[1:] == [alias, module] for line in fh):
                return "kernel %s has no %s module" % (os.uname().release, module)
        if module in loaded_modules():
            return "the %s module is already loaded on this host" % module
        return None

    # -- 9. ContainerMountsHostDirectory ----------------------------------------------------

    def skip_unless_block_mounts_seen(self):
        why = fs_setup_hooks_unseen()
        if why:
            self.skipTest(why)

    def loop_disk(self):
        """A loop device standing in for the host's disk (a minix image made on the host):
        its (major, minor, path), released at cleanup."""
        work = tempfile.mkdtemp(prefix="eg-escape-blk-")
        self.addCleanup(shutil.rmtree, work, True)
        image = os.path.join(work, "disk.img")
        with open(image, "wb") as fh:
            fh.truncate(2 << 20)
        subprocess.run(["mkfs.minix", image], check=True, capture_output=True)
        loop = subprocess.run(["losetup", "-f", "--show", image], check=True,
                              capture_output=True, text=True).stdout.strip()
        self.addCleanup(subprocess.run, ["losetup", "-d", loop], capture_output=True)
        rdev = os.stat(loop).st_rdev
        return os.major(rdev), os.minor(rdev), loop


    def test_mounting_a_block_device_is_container_mounts_host_directory(self):
        """A privileged container mounts a block device's file system (a loop device standing
        in for the host's disk: a minix image made on the host), read-only and nosuid. First,
        and silent: a tmpfs mounted in the same container."""
        self.skip_unless_block_mounts_seen()
        major, minor, _ = self.loop_disk()
        c = self.started(name="blkmount", privileged=True)
        r = c.exec(["/bin/sh", "-c", "mkdir -p /mnt/t /mnt/host && mount -t tmpfs none /mnt/t && "
                    "mknod /dev/hostdisk b %d %d && "
                    "mount -t minix -o ro,nosuid /dev/hostdisk /mnt/host && ls /mnt/host && "
                    "umount /mnt/host /mnt/t" % (major, minor)])
        self.assertTrue(r.ok, r)
        found = self.only(MOUNTS_HOST, c)
        self.assertEqual(len(found), 1, found)
        f = found[0]
        self.assertEscapeAttribution(f, c, MOUNTS_HOST, 5.0)
        ctx = context(f)
        self.assertEqual(ctx["mountSource"], "/dev/hostdisk")
        self.assertEqual(ctx["mountTarget"], "/mnt/host")
        self.assertNotIn("execPath", ctx)
        self.assertEqual(ctx["fileSystemType"], "minix")
        self.assertEqual(ctx["blockDevice"], "%d:%d" % (major, minor))
        # The file system's flags; nosuid is the mount point's, not known where it is set up.
        self.assertEqual(ctx["flags"], ["MS_RDONLY"])
        self.assertEqual(f["service"]["count"], 1)

    def test_the_new_mount_api_is_seen_with_its_mount_point(self):
        """The same disk through the new mount API (fsopen, fsconfig, fsmount): read through
        the mount's descriptor without ever attaching it is still the finding (nothing names a
        mount point); attached with move_mount five seconds later, after the finding was
        reported, an update of the same finding names where (its count stays 1). Silent: a container that clones its own volume's
        mount (a host file system on the same kind of device, set up by the host) and
        attaches the clone elsewhere."""
        self.skip_unless_block_mounts_seen()
        major, minor, loop = self.loop_disk()
        node = "mknod /dev/hostdisk b %d %d && mkdir -p /mnt/host && " % (major, minor)
        unattached = self.started(name="fsmount-fd", privileged=True)
        r = unattached.exec(["/bin/sh", "-c", node + "/bin/egprobe fsmount /dev/hostdisk minix -"])
        self.assertTrue(r.ok and "attached=no" in r.stdout, r)
        attached = self.started(name="fsmount-attach", privileged=True)
        r = attached.exec(["/bin/sh", "-c",
                           node + "/bin/egprobe fsmount /dev/hostdisk minix /mnt/host 5"])
        self.assertTrue(r.ok and "target=/mnt/host" in r.stdout, r)

        f = self.only(MOUNTS_HOST, unattached)
        self.assertEqual(len(f), 1, f)
        self.assertEscapeAttribution(f[0], unattached, MOUNTS_HOST, 5.0)
        ctx = context(f[0])
        self.assertEqual(ctx["mountSource"], "/dev/hostdisk")
        self.assertNotIn("mountTarget", ctx)
        self.assertEqual(ctx["blockDevice"], "%d:%d" % (major, minor))
        self.assertEqual(f[0]["service"]["count"], 1)

        # The attachment arrives as an update of the set-up's finding (same id).
        self.agent.wait_for(lambda f: harness.match(MOUNTS_HOST, attached)(f) and
                            "mountTarget" in context(f), timeout=20)
        lines = self.findings_of(MOUNTS_HOST, attached)
        self.assertEqual(len({line["id"] for line in lines}), 1, lines)
        self.assertNotIn("mountTarget", context(lines[0]))
        f = self.only(MOUNTS_HOST, attached)
        self.assertEqual(len(f), 1, f)
        self.assertEscapeAttribution(f[0], attached, MOUNTS_HOST, 5.0)
        ctx = context(f[0])
        self.assertEqual(ctx["mountTarget"], "/mnt/host")
        self.assertEqual(ctx["mountSource"], "/dev/hostdisk")
        self.assertEqual(ctx["fileSystemType"], "minix")
        self.assertEqual(ctx["flags"], ["MS_RDONLY"])
        self.assertEqual(f[0]["service"]["count"], 1)

        # The host mounts the disk and gives it to a container as a volume; the container
        # clones that mount and attaches the clone: no file system it set up, nothing said.
        hostmnt = tempfile.mkdtemp(prefix="eg-escape-vol-")
        self.addCleanup(shutil.rmtree, hostmnt, True)
        subprocess.run(["mount", "-t", "minix", "-o", "ro", loop, hostmnt], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", hostmnt], capture_output=True)
        vol = self.started(name="clone-vol", privileged=True, volumes=[(hostmnt, "/data", "ro")])
        # And a tmpfs through the new mount API: no block device.
        r = vol.exec(["/bin/sh", "-c", "mkdir -p /mnt/copy /mnt/t && /bin/egprobe clone-mount "
                      "/data /mnt/copy && ls /mnt/copy && /bin/egprobe fsmount none tmpfs /mnt/t"])
        self.assertTrue(r.ok, r)
        time.sleep(2)
        self.assertEqual(self.findings_of(MOUNTS_HOST, vol), [])
