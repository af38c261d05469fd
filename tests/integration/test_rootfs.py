"""Root filesystem writes per task on the real kernel, with runc containers on an overlayfs
rootfs like Docker's overlay2 (issue 6).

Each container also has a bind volume (/data) and a tmpfs (/scratch): writes there are other
mounts and must never be reported as root filesystem writes.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time

import harness
from agent_case import (AgentCase, LegacyTaskAccess, context, egprobe_host,
                        fs_setup_hooks_unseen, last_by_id, process, verdict_hooks_unseen)

ROOTFS_MODIFIED = "Persistence:Runtime/ContainerRootFilesystemModified"
NEW_BINARY = "Execution:Runtime/NewBinaryExecuted"
NEW_LIBRARY = "Execution:Runtime/NewLibraryLoaded"
SENSITIVE = "Persistence:Runtime/SensitiveFileModified"


# Every path-only and fd syscall the root filesystem concern watches (bpf/events.h), as
# `egprobe path-syscalls DIR FILE STEP...` makes them (each once, through syscall(2) by its
# number): the files a step creates first, the events it adds when its preparation succeeds,
# and those its call adds, as (fileOperations key, paths relative to DIR; "/..." absolute).
PATH_SYSCALL_STEPS = {
    "unlinkat": (["unlinkat"], [], [("delete", ["unlinkat"])]),
    "renameat": (["renameat-from"], [], [("rename", ["renameat-from", "renameat"])]),
    "renameat2": (["renameat2-from"], [], [("rename", ["renameat2-from", "renameat2"])]),
    "mkdirat": ([], [], [("createDirectory", ["mkdirat"])]),
    "linkat": (["linkat-from"], [], [("link", ["linkat-from", "linkat"])]),
    "symlinkat": ([], [], [("symlink", ["symlinkat"])]),
    "mknodat": ([], [], [("mknod", ["mknodat"])]),
    "fchmodat": (["fchmodat"], [], [("chmod", ["fchmodat"])]),
    "fchmodat2": (["fchmodat2"], [], [("chmod", ["fchmodat2"])]),
    "fchownat": (["fchownat"], [], [("chown", ["fchownat"])]),
    "utimensat": (["utimensat"], [], [("setTimes", ["utimensat"])]),
    "setxattr": (["setxattr"], [], [("setxattr", ["setxattr"])]),
    "lsetxattr": (["lsetxattr"], [], [("setxattr", ["lsetxattr"])]),
    "removexattr": (["removexattr"], [("setxattr", ["removexattr"])],
                    [("setxattr", ["removexattr"])]),
    "lremovexattr": (["lremovexattr"], [("setxattr", ["lremovexattr"])],
                     [("setxattr", ["lremovexattr"])]),
    "truncate": (["truncate"], [], [("truncate", ["truncate"])]),
    "fchmod": (["fchmod"], [], [("chmod", ["fchmod"])]),
    "fchown": ([], [], [("chown", ["/etc/os-release"])]),
    "fsetxattr": (["fsetxattr"], [], [("setxattr", ["fsetxattr"])]),
    "fremovexattr": (["fremovexattr"], [("setxattr", ["fremovexattr"])],
                     [("setxattr", ["fremovexattr"])]),
    # x86_64's older syscalls
    "unlink": (["unlink"], [], [("delete", ["unlink"])]),
    "rmdir": ([], [("createDirectory", ["rmdir"])], [("removeDirectory", ["rmdir"])]),
    "rename": (["rename-from"], [], [("rename", ["rename-from", "rename"])]),
    "mkdir": ([], [], [("createDirectory", ["mkdir"])]),
    "link": (["link-from"], [], [("link", ["link-from", "link"])]),
    "symlink": ([], [], [("symlink", ["symlink"])]),
    "mknod": ([], [], [("mknod", ["mknod"])]),
    "chmod": (["chmod"], [], [("chmod", ["chmod"])]),
    "chown": (["chown"], [], [("chown", ["chown"])]),
    "lchown": (["lchown"], [], [("chown", ["lchown"])]),
    "utime": (["utime"], [], [("setTimes", ["utime"])]),
    "utimes": (["utimes"], [], [("setTimes", ["utimes"])]),
    "futimesat": (["futimesat"], [], [("setTimes", ["futimesat"])]),
}
# The modes the steps that chmod set (setuid or setgid: kept in the finding).
PATH_SYSCALL_MODES = {"fchmodat": "4755", "fchmodat2": "2755", "fchmod": "4711", "chmod": "2711"}
# A finding keeps 20 related paths: the steps go in groups, one container each.
PATH_SYSCALL_GROUPS = [
    ["unlinkat", "renameat", "renameat2", "mkdirat", "linkat", "symlinkat", "mknodat"],
    ["fchmodat", "fchmodat2", "fchownat", "utimensat", "setxattr", "lsetxattr", "removexattr",
     "lremovexattr", "truncate"],
    ["fchmod", "fchown", "fsetxattr", "fremovexattr"],
]
if os.uname().machine == "x86_64":
    PATH_SYSCALL_GROUPS += [["unlink", "rmdir", "rename", "mkdir", "link", "symlink", "mknod"],
                            ["chmod", "chown", "lchown", "utime", "utimes", "futimesat"]]
# What a kernel or file system may lack: fchmodat2 before 6.6, user xattrs on the upper layer.
PATH_SYSCALL_MAY_FAIL = {"fchmodat2": {"ENOSYS"},
                         **{x: {"EOPNOTSUPP"} for x in ("setxattr", "lsetxattr", "removexattr",
                                                        "lremovexattr", "fsetxattr",
                                                        "fremovexattr")}}


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


class RootfsWrites(AgentCase):
    share_agent = True  # every test looks at its own containers; health readers start their own

    def task_container(self, args=("/bin/egprobe", "sleep", "3600"), tmpfs_extra=(), **kw):
        vol = tempfile.mkdtemp(prefix="eg-rootfs-vol-")
        self.addCleanup(shutil.rmtree, vol, True)
        c = self.container(list(args), rootfs="overlay", volumes=[(vol, "/data")],
                           tmpfs=["/scratch"] + list(tmpfs_extra), **kw)
        c.volume_dir = vol
        self.register(c)
        return c

    def assertModifiedAt(self, ctx):
        """modifiedAt is a model timestamp: epoch seconds (a number), when the file was written:
        within the last minute, not in the future."""
        t = ctx["modifiedAt"]
        self.assertIsInstance(t, (int, float), ctx)
        self.assertLess(abs(time.time() - 30 - t), 30, ctx)

    def test_rootfs_writes_are_reported_once_per_container_and_volume_tmpfs_are_not(self):
        c = self.task_container(name="web", family="shop", version="3")
        self.start_agent()
        c.start()
        script = ("echo conf > /etc/app.conf && mkdir /newdir && echo x > /a && "
                  "mv /a /b && echo y > /gone && rm /gone && "
                  "echo v > /data/volfile && mkdir /data/voldir && mv /data/volfile /data/v2 && "
                  "rm /data/v2 && echo t > /scratch/tmpfile && mkdir /scratch/d && "
                  "cd /data && echo rel > relfile && mkdir reldir")
        r = c.exec(["/bin/sh", "-c", script])
        self.assertTrue(r.ok, r)
        want = {"/etc/app.conf", "/newdir", "/a", "/b", "/gone"}
        f = self.wait_context(ROOTFS_MODIFIED, c,
                              lambda ctx: want <= set(ctx.get("relatedFilePaths", [])))
        self.stop_agent()
        latest = last_by_id(self.findings_of(ROOTFS_MODIFIED, c))
        self.assertEqual(len(latest), 1, "one finding per container: %s" % list(latest))
        f = list(latest.values())[0]
        self.assertAttributed(f, c)
        self.assertEqual(f["severity"], 2.0)
        ctx = context(f)
        self.assertEqual(ctx["filePath"], "/etc/app.conf")
        self.assertEqual(ctx["fileOperation"], "create")
        self.assertEqual(ctx["overlayLayer"], "upper")
        paths = ctx["relatedFilePaths"]
        self.assertEqual(set(paths), want, paths)  # nothing from /data or /scratch
        ops = ctx["fileOperations"]
        self.assertEqual(ops.get("createDirectory"), 1, ops)
        self.assertEqual(ops.get("rename"), 1, ops)
        self.assertEqual(ops.get("delete"), 1, ops)
        self.assertEqual(ops.get("create"), 3, ops)
        self.assertEqual(ctx["distinctFileCount"], 5)
        self.assertEqual(ctx["writeCount"], 6)  # 3 creates, mkdir, rename, unlink
        self.assertGreaterEqual(f["service"]["count"], 6)
        self.assertEqual(process(f)["name"], "sh")
        # Writes in the volume really happened (the filter is the mount, not a failure).
        self.assertTrue(os.path.exists(os.path.join(c.volume_dir, "relfile")))

    def test_every_watched_path_syscall_is_reported_with_its_own_arguments(self):
        # Each path-only and fd syscall of bpf/events.h's lists, made by number in a container:
        # each must be reported with the op, the names and the mode its own arguments hold.
        # The list is what the kernel programs are built from (one program per syscall at the
        # functions, the layout compiled in; one program for all of them at the tracepoints,
        # the layout looked up by the syscall number the agent's table maps): an argument taken
        # from the wrong register, or a syscall given another's layout, shows here as a missing
        # or wrong name or operation. The same steps in the volume say nothing.
        self.start_agent()
        not_run = []
        for group in PATH_SYSCALL_GROUPS:
            c = self.task_container(name="paths")
            c.start()
            r = c.exec(["/bin/sh", "-c",
                        "mkdir /ps && /bin/egprobe path-syscalls /ps /etc/os-release %s && "
                        "mkdir /data/ps && /bin/egprobe path-syscalls /data/ps /data/ps %s"
                        % (" ".join(group), " ".join(g for g in group if g != "fchown"))])
            self.assertTrue(r.ok, r)
            results = dict(step.split(":", 1) for step in
                           r.stdout.splitlines()[0].split("steps=", 1)[1].split(","))
            self.assertEqual(set(results), set(group), r.stdout)
            ops = {"createDirectory": 1}
            paths = {"/ps"}
            modes = {}

            def add(events):
                for op, names in events:
                    ops[op] = ops.get(op, 0) + 1
                    paths.update(n if n.startswith("/") else "/ps/" + n for n in names)

            for step in group:
                creates, pre, call = PATH_SYSCALL_STEPS[step]
                add(("create", [n]) for n in creates)
                result, stage = results[step], "call"
                if result != "ok":
                    errno_name, stage = result.split("@")
                    self.assertIn(errno_name, PATH_SYSCALL_MAY_FAIL.get(step, ()), result)
                    not_run.append("%s (%s)" % (step, errno_name))
                if stage != "pre":
                    add(pre)
                if result == "ok":
                    add(call)
                    if step in PATH_SYSCALL_MODES:
                        modes["/ps/" + step] = PATH_SYSCALL_MODES[step]
            want_ops = dict(ops)
            f = self.wait_context(ROOTFS_MODIFIED, c,
                                  lambda ctx: set(ctx.get("relatedFilePaths", [])) >= paths
                                  and ctx.get("fileOperations") == want_ops)
            ctx = context(f)
            # nothing from the volume's steps
            self.assertEqual(set(ctx["relatedFilePaths"]), paths, ctx)
            self.assertEqual(ctx.get("setuidOrSetgidFiles", {}), modes, ctx)
        # Only what this kernel or file system lacks may be left out.
        print("path syscalls not made here: %s" % (", ".join(not_run) or "none"))

    def test_image_file_modified_is_a_lower_layer_copy_up(self):
        c = self.task_container(name="app")
        self.start_agent()
        c.start()
        self.assertFalse(os.path.exists(os.path.join(c.upperdir, "etc", "group")))
        r = c.exec(["/bin/sh", "-c", "echo 'ops:x:99:' >> /etc/group && echo n > /newfile"])
        self.assertTrue(r.ok, r)
        f = self.wait_context(ROOTFS_MODIFIED, c,
                              lambda ctx: "/newfile" in ctx.get("relatedFilePaths", []))
        # The write copied the image's file up into the container's layer.
        self.assertTrue(os.path.exists(os.path.join(c.upperdir, "etc", "group")))
        self.stop_agent()
        ctx = context(f)
        self.assertEqual(ctx["filePath"], "/etc/group")
        self.assertEqual(ctx["fileOperation"], "modify")
        self.assertEqual(ctx["overlayLayer"], "lower")
        self.assertEqual(ctx["fileOperations"], {"modify": 1, "create": 1})

    def test_copied_binary_executed_names_path_and_writer(self):
        c = self.task_container(name="worker")
        self.start_agent()
        c.start()
        r = c.exec(["/bin/sh", "-c", "cp /bin/egprobe /bin/dropped && /bin/dropped sleep 0"])
        self.assertTrue(r.ok, r)
        [f] = self.agent.wait_for(harness.match(NEW_BINARY, c), timeout=20)
        self.assertAttributed(f, c)
        self.assertEqual(f["severity"], 5.0)
        ctx = context(f)
        self.assertEqual(ctx["filePath"], "/bin/dropped")
        self.assertEqual(ctx["modifyingProcess"]["name"], "cp")
        self.assertModifiedAt(ctx)
        self.assertEqual(process(f)["executablePath"], "/bin/dropped")
        # Executing the image's own binaries is not "new".
        self.stop_agent()
        for f in self.findings_of(NEW_BINARY, c):
            self.assertEqual(context(f)["filePath"], "/bin/dropped", f)
        # The exec's own mapping of the written program (the kernel's loader, which the mmap
        # hook sees where it is on security_mmap_file) is not also a new library.
        self.assertEqual(self.findings_of(NEW_LIBRARY, c), [])

    def test_binary_written_before_the_agent_started_is_new_binary_executed(self):
        """Issue 17 item 9: a binary written into the container before the agent started (or
        while it lost records) was not in its table of written files, and its exec passed as
        an image binary. The exec now carries the executable's overlay layers from the kernel:
        an upper-layer copy on the container's root filesystem is a write, seen or not."""
        c = self.task_container(name="early", family="jobs")
        c.start()
        r = c.exec(["/bin/sh", "-c", "cp /bin/egprobe /bin/early"])
        self.assertTrue(r.ok, r)
        self.start_agent(fresh=True)  # the write happened before this agent ran
        r = c.exec(["/bin/sh", "-c", "/bin/early sleep 0 && /bin/egprobe sleep 0"])
        self.assertTrue(r.ok, r)
        [f] = self.agent.wait_for(harness.match(NEW_BINARY, c), timeout=20)
        self.assertAttributed(f, c)
        ctx = context(f)
        self.assertEqual(ctx["filePath"], "/bin/early")
        self.assertIs(ctx["writtenWhileUnwatched"], True)
        self.assertEqual(ctx["overlayLayer"], "upper")  # created in the container
        self.assertNotIn("modifyingProcess", ctx)  # who wrote it is not known
        self.assertEqual(process(f)["executablePath"], "/bin/early")
        self.stop_agent()
        # The image's own binary (egprobe, sh) is not new.
        self.assertEqual([context(f)["filePath"] for f in self.findings_of(NEW_BINARY, c)],
                         ["/bin/early"])

    def test_script_written_in_the_container_and_run_is_new_binary_executed(self):
        """A #! script dropped into the root filesystem and run by its name: the exec ends in
        the interpreter (the image's busybox), and the finding is about the script
        (scriptPath). Where fentry loads the kernel records the file each exec starts from.
        First, and silent: the same script read by `sh script` (no exec of it)."""
        hook = harness.probe_report()["hooks"]["rootfsWrites"]
        start = [a for a in hook["attempts"] if "security_bprm_creds_for_exec" in a["attach"]]
        if not start or not start[-1]["result"].startswith("ok"):
            self.skipTest("the file an exec starts from is recorded at a function hook only "
                          "(fentry or kprobe); rootfsWrites "
                          "here: %s (%s)" % (hook.get("chosen"), "; ".join(
                              "%s: %s" % (a["attach"], a["result"]) for a in hook["attempts"])))
        c = self.task_container(name="scripts", family="jobs")
        self.start_agent()
        c.start()
        r = c.exec(["/bin/sh", "-c", "mkdir -p /opt/job && "
                    "printf '#!/bin/sh\\necho ran\\n' > /opt/job/run.sh && "
                    "chmod +x /opt/job/run.sh && sh /opt/job/run.sh && /opt/job/run.sh"])
        self.assertTrue(r.ok, r)
        self.assertEqual(r.stdout.split(), ["ran", "ran"])
        [f] = self.agent.wait_for(harness.match(NEW_BINARY, c), timeout=20)
        self.assertAttributed(f, c)
        ctx = context(f)
        self.assertEqual(ctx["scriptPath"], "/opt/job/run.sh")
        self.assertEqual(ctx["filePath"], "/opt/job/run.sh")
        self.assertIn("modifyingProcess", ctx)  # the write was seen
        self.assertIn(os.path.basename(process(f)["executablePath"]), ("busybox", "sh"))
        # Run by a thread that is not the leader (it takes the leader's pid during the exec):
        # still the script's finding.
        r = c.exec(["/bin/sh", "-c", "cp /opt/job/run.sh /opt/job/again.sh && "
                    "/bin/egprobe exec-from-thread /opt/job/again.sh"])
        self.assertEqual(r.stdout.split(), ["ran"], r)
        self.agent.wait_for(lambda g: harness.match(NEW_BINARY, c)(g) and
                            context(g)["scriptPath"] == "/opt/job/again.sh", timeout=20)
        self.stop_agent()
        self.assertEqual(sorted(context(f)["filePath"] for f in self.findings_of(NEW_BINARY, c)),
                         ["/opt/job/again.sh", "/opt/job/run.sh"])

    def test_binary_written_to_a_tmpfs_of_its_own_and_run_is_new_binary_executed(self):
        """A task's tmpfs mount starts empty: a binary run from it was written in the container,
        though the agent watches root file system writes only. An exec-enabled tmpfs (ECS
        tmpfs mountOptions can allow it) holding a copy of egprobe. First, and silent: the
        same binary copied to the volume (a host directory, not the container's own) and run."""
        c = self.task_container(name="shm-runner", tmpfs_extra=[("/fast", ["exec"])])
        self.start_agent()
        c.start()
        r = c.exec(["/bin/sh", "-c", "cp /bin/egprobe /data/tool && /data/tool sleep 0 && "
                    "cp /bin/egprobe /fast/tool && /fast/tool sleep 0"])
        self.assertTrue(r.ok, r)
        [f] = self.agent.wait_for(harness.match(NEW_BINARY, c), timeout=20)
        self.assertAttributed(f, c)
        ctx = context(f)
        self.assertEqual(ctx["filePath"], "/fast/tool")
        self.assertEqual(ctx["fileSystemType"], "tmpfs")
        self.assertNotIn("writtenWhileUnwatched", ctx)
        self.assertEqual(process(f)["executablePath"], "/fast/tool")
        self.stop_agent()
        self.assertEqual([context(f)["filePath"] for f in self.findings_of(NEW_BINARY, c)],
                         ["/fast/tool"])

    def test_binary_run_from_a_bound_subdirectory_of_its_own_tmpfs_is_new_binary_executed(self):
        """A tmpfs the container set up itself stays its own wherever it is bound: a privileged
        container mounts a tmpfs, binds a subdirectory of it elsewhere, unmounts the tmpfs
        (only the bound subdirectory is left) and runs a binary it copied there. The kernel
        notes each tmpfs a container's processes set up; the whole-mount rule alone let this
        pass. First, and silent: a binary the host put in a subdirectory of a host tmpfs,
        bound into the container as a volume."""
        why = fs_setup_hooks_unseen()
        if why:
            self.skipTest(why)
        host_tmpfs = tempfile.mkdtemp(prefix="eg-host-tmpfs-")
        self.addCleanup(shutil.rmtree, host_tmpfs, True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "none", host_tmpfs], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", host_tmpfs], capture_output=True)
        os.mkdir(os.path.join(host_tmpfs, "sub"))
        shutil.copy(egprobe_host(), os.path.join(host_tmpfs, "sub", "hosttool"))
        vol = tempfile.mkdtemp(prefix="eg-rootfs-vol-")
        self.addCleanup(shutil.rmtree, vol, True)
        c = self.container(["/bin/egprobe", "sleep", "3600"], rootfs="overlay", privileged=True,
                           volumes=[(vol, "/data"), (os.path.join(host_tmpfs, "sub"), "/hostsub")],
                           name="binder")
        self.register(c)
        self.start_agent()
        c.start()
        r = c.exec(["/bin/sh", "-c", "/hostsub/hosttool sleep 0 && mkdir -p /a /b && "
                    "mount -t tmpfs -o exec none /a && mkdir /a/x && mount --bind /a/x /b && "
                    "umount /a && cp /bin/egprobe /b/tool && /b/tool sleep 0"])
        self.assertTrue(r.ok, r)
        [f] = self.agent.wait_for(lambda x: harness.match(NEW_BINARY, c)(x) and
                                  context(x)["filePath"] == "/b/tool", timeout=20)
        self.assertAttributed(f, c)
        ctx = context(f)
        self.assertEqual(ctx["fileSystemType"], "tmpfs")
        self.assertEqual(process(f)["executablePath"], "/b/tool")
        self.stop_agent()
        self.assertEqual([context(f)["filePath"] for f in self.findings_of(NEW_BINARY, c)],
                         ["/b/tool"])

    def test_a_file_created_on_a_deleted_files_inode_number_is_reported_by_its_name(self):
        # The kernel counts a write open of a file the container wrote before as a repeat,
        # by inode number. A file system gives a deleted file's number to the next file it
        # creates (ext4, xfs; this host's upper layers): a container that writes and deletes a
        # scratch file, then creates /etc/ld.so.preload on that number, must still have the
        # new file named (a file an open created is never a repeat). The two inode numbers
        # say whether the number was reused (the guests' upper layers are tmpfs, whose numbers
        # only grow: the finding is asserted there too).
        c = self.task_container(name="reuse")
        self.start_agent()
        c.start()
        r = c.exec(["/bin/sh", "-c",
                    "echo a > /etc/scratch && stat -c %i /etc/scratch && rm /etc/scratch && "
                    "echo /lib/evil.so > /etc/ld.so.preload && stat -c %i /etc/ld.so.preload"])
        self.assertTrue(r.ok, r)
        scratch_ino, preload_ino = r.stdout.split()
        f = self.wait_context(ROOTFS_MODIFIED, c,
                              lambda ctx: "/etc/ld.so.preload" in ctx.get("relatedFilePaths", []))
        self.assertEqual(context(f)["fileOperations"].get("create"), 2, context(f))
        [s] = self.agent.wait_for(lambda x: harness.match(SENSITIVE, c)(x) and
                                  context(x)["filePath"] == "/etc/ld.so.preload", timeout=20)
        self.assertEqual(context(s)["fileOperation"], "create")
        self.assertAttributed(s, c)
        print("inode number reused: %s" % (scratch_ino == preload_ino))

    def test_written_file_mapped_executable_is_new_library_loaded(self):
        c = self.task_container(name="plugin-host")
        self.start_agent()
        c.start()
        # A library dropped into the rootfs and mapped executable is reported; one written to
        # the volume, and the image's own files mapped the same way, are not.
        r = c.exec(["/bin/sh", "-c",
                    "mkdir -p /opt/plugins && cp /bin/egprobe /opt/plugins/libdropped.so && "
                    "cp /bin/egprobe /data/libvolume.so && "
                    "/bin/egprobe mmap-exec /bin/busybox && "
                    "/bin/egprobe mmap-exec /data/libvolume.so && "
                    "/bin/egprobe mmap-exec /opt/plugins/libdropped.so"])
        self.assertTrue(r.ok, r)
        [f] = self.agent.wait_for(harness.match(NEW_LIBRARY, c), timeout=20)
        self.assertAttributed(f, c)
        self.assertEqual(f["severity"], 5.0)
        ctx = context(f)
        self.assertEqual(ctx["filePath"], "/opt/plugins/libdropped.so")
        self.assertEqual(ctx["modifyingProcess"]["name"], "cp")
        self.assertModifiedAt(ctx)
        self.assertEqual(ctx["libraryPath"], "/opt/plugins/libdropped.so")
        self.assertEqual(process(f)["executablePath"], "/bin/egprobe")
        time.sleep(1.5)
        self.stop_agent()
        paths = {context(f)["filePath"] for f in self.findings_of(NEW_LIBRARY, c)}
        self.assertEqual(paths, {"/opt/plugins/libdropped.so"})

    def new_library_mapped_by(self, name, *probe):
        """A copy of egprobe written at /opt/lib<name>.so, then an image file and it mapped by
        `egprobe PROBE... PATH`: the one NewLibraryLoaded, checked for the written file."""
        path = "/opt/lib%s.so" % name
        c = self.task_container(name=name)
        self.start_agent()
        c.start()
        cmd = " ".join(("/bin/egprobe",) + probe)
        r = c.exec(["/bin/sh", "-c", "mkdir -p /opt && cp /bin/egprobe %s && %s /bin/busybox && "
                    "%s %s" % (path, cmd, cmd, path)], check=False)
        if not r.ok and "errno=ENOSYS" in r.stdout:
            self.skipTest("this kernel lacks the call: %s" % r)
        self.assertTrue(r.ok, r)
        [f] = self.agent.wait_for(harness.match(NEW_LIBRARY, c), timeout=20)
        self.assertAttributed(f, c)
        self.assertEqual(context(f)["libraryPath"], path)
        self.assertEqual(process(f)["executablePath"], "/bin/egprobe")

    def test_written_file_mapped_readable_under_read_implies_exec_is_new_library_loaded(self):
        """PROT_READ only, but the process's personality has READ_IMPLIES_EXEC (personality(2),
        or the kernel's choice for a 32-bit ELF without PT_GNU_STACK): the kernel maps it
        executable, and the mapping is a new library like mmap(PROT_EXEC)."""
        self.new_library_mapped_by("implied", "mmap-read-implies-exec")

    def test_written_file_mapped_by_i386_mmap_is_new_library_loaded(self):
        """i386's old mmap (int 0x80) of a written file, PROT_EXEC: where the mmap hook is the
        LSM hook every file mapping goes through (security_mmap_file, fentry) it is seen like
        the 64-bit call. x86's sys_enter_mmap tracepoint never sees a compat call."""
        if os.uname().machine != "x86_64":
            self.skipTest("i386 compat syscalls exist on x86_64 kernels only")
        rootfs = harness.probe_report()["hooks"]["rootfsWrites"]["chosen"] or ""
        if not rootfs.startswith("fentry"):
            self.skipTest("the root filesystem concern is on the syscall tracepoints here (%s): "
                          "sys_enter_mmap does not see i386's mmap calls" % rootfs)
        self.new_library_mapped_by("compat", "int80", "mmap-exec")

    def test_written_file_made_executable_by_mprotect_is_new_library_loaded(self):
        """Mapped readable, its fd closed, then made executable with mprotect (issue 17 item
        9): the kernel finds the file behind the mapping (bpf_find_vma; the VMA tree by hand
        on 5.10). Before, only mmap(PROT_EXEC) of an fd was looked at. A JIT's anonymous
        pages made executable, and an image file so, stay silent."""
        c = self.task_container(name="loader")
        self.start_agent()
        c.start()
        r = c.exec(["/bin/sh", "-c",
                    "mkdir -p /opt/late && cp /bin/egprobe /opt/late/libsneaky.so && "
                    "/bin/egprobe mprotect-exec /bin/busybox && "
                    "/bin/egprobe mprotect-exec /opt/late/libsneaky.so"])
        self.assertTrue(r.ok, r)
        [f] = self.agent.wait_for(harness.match(NEW_LIBRARY, c), timeout=20)
        self.assertAttributed(f, c)
        ctx = context(f)
        self.assertEqual(ctx["libraryPath"], "/opt/late/libsneaky.so")
        self.assertEqual(ctx["mappedExecutableBy"], "mprotect")
        self.assertEqual(ctx["modifyingProcess"]["name"], "cp")
        time.sleep(1.5)
        self.stop_agent()
        paths = {context(f)["filePath"] for f in self.findings_of(NEW_LIBRARY, c)}
        self.assertEqual(paths, {"/opt/late/libsneaky.so"})

    @harness.native_only("sensitive-file policy: the agent's matching (the fd-based and symlink "
                         "tests cover the kernel paths)")
    def test_openat2_write_open_whose_flags_are_rewritten_during_the_call_is_seen(self):
        """openat2's flags are in the caller's memory: another thread rewrites them to
        read-only while the write open blocks (a FIFO with no reader yet). The exit program
        takes the opened file's own mode too, so the write open is still one."""
        c = self.task_container(name="racer")
        self.start_agent()
        c.start()
        # Put in the upper layer from outside before anything in the container looked the name
        # up: opening it writes nothing else (a mkfifo in the container is a write itself).
        os.mkfifo(os.path.join(c.upperdir, "pipe"))
        r = c.exec(["/bin/egprobe", "openat2-flags-rewritten", "/pipe"])
        self.assertTrue(r.ok, r)
        f = self.wait_context(ROOTFS_MODIFIED, c,
                              lambda ctx: "/pipe" in ctx.get("relatedFilePaths", []))
        self.assertEqual(context(f)["filePath"], "/pipe")
        self.assertEqual(context(f)["fileOperation"], "modify")
        self.assertEqual(process(f)["name"], "egprobe")

    def test_passwd_append_and_ld_so_preload(self):
        c = self.task_container(name="api")
        self.start_agent()
        c.start()
        r = c.exec(["/bin/sh", "-c", "echo 'eve:x:0:0::/root:/bin/sh' >> /etc/passwd && "
                    "echo /lib/evil.so > /etc/ld.so.preload && echo ok > /data/passwd"])
        self.assertTrue(r.ok, r)
        found = self.agent.wait_for(harness.match(SENSITIVE, c), timeout=20, count=2)
        by_path = {context(f)["filePath"]: f for f in found}
        self.assertEqual(set(by_path), {"/etc/passwd", "/etc/ld.so.preload"})
        self.assertEqual(by_path["/etc/passwd"]["severity"], 5.0)
        self.assertEqual(context(by_path["/etc/passwd"])["fileOperation"], "modify")
        self.assertEqual(by_path["/etc/ld.so.preload"]["severity"], 8.0)
        self.assertEqual(context(by_path["/etc/ld.so.preload"])["fileOperation"], "create")
        self.assertAttributed(by_path["/etc/passwd"], c)

    def test_fd_based_and_timestamp_changes_are_seen_setuid_passwd_is_sensitive(self):
        # Issue 17 item 5: metadata changed through an fd (fchmod, fchown, fchownat with
        # AT_EMPTY_PATH, futimens) or the timestamps changed by name (utimensat) are rootfs
        # modifications; a setuid bit set on /etc/passwd that way is SensitiveFileModified with
        # the mode in the evidence. The same calls on the volume and the tmpfs stay silent.
        c = self.task_container(name="meta")
        self.start_agent()
        c.start()
        r = c.exec(["/bin/sh", "-c",
                    "echo v > /data/vfile && echo t > /scratch/tfile && "
                    "/bin/egprobe fchmod /data/vfile 4755 && /bin/egprobe futimens /scratch/tfile && "
                    "/bin/egprobe utimensat /data/vfile && "
                    "/bin/egprobe fchmod /etc/passwd 4644 && "
                    "/bin/egprobe fchownat-fd /etc/group 0 0 && "
                    "/bin/egprobe fchown /bin/busybox 0 0 && "
                    "/bin/egprobe futimens /bin/egprobe && /bin/egprobe utimensat /mnt && "
                    "echo n > /new && /bin/egprobe futimens /new && "
                    "/bin/egprobe fchown /new 0 0 && /bin/egprobe fchmod /new 755 && "
                    "echo s > /suid && /bin/egprobe fchmod /suid 4755"])
        self.assertTrue(r.ok, r)
        want = {"/etc/passwd", "/etc/group", "/bin/busybox", "/bin/egprobe", "/mnt", "/new",
                "/suid"}
        # New timestamps, owner or plain mode on a file the container wrote are repeats of
        # that write; a setuid bit set on it is not.
        f = self.wait_context(ROOTFS_MODIFIED, c,
                              lambda ctx: want <= set(ctx.get("relatedFilePaths", [])) and
                              ctx.get("fileOperations", {}).get("repeatedWrite", 0) >= 3)
        found = self.agent.wait_for(harness.match(SENSITIVE, c), timeout=20, count=2)
        time.sleep(1.5)
        self.stop_agent()
        ctx = context(f)
        self.assertEqual(set(ctx["relatedFilePaths"]), want, ctx)  # nothing from /data, /scratch
        self.assertEqual(ctx["fileOperations"], {"chmod": 2, "chown": 2, "setTimes": 2,
                                                 "create": 2, "repeatedWrite": 3}, ctx)
        self.assertEqual(ctx["setuidOrSetgidFiles"], {"/etc/passwd": "4644", "/suid": "4755"},
                         ctx)
        by_path = {context(s)["filePath"]: s for s in self.findings_of(SENSITIVE, c)}
        self.assertEqual(set(by_path), {"/etc/passwd", "/etc/group"}, found)
        passwd = context(by_path["/etc/passwd"])
        self.assertEqual(passwd["fileOperation"], "chmod")
        self.assertEqual(passwd["fileMode"], "4644")
        self.assertEqual(passwd["setuidOrSetgid"], True)
        self.assertEqual(context(by_path["/etc/group"])["fileOperation"], "chown")
        self.assertAttributed(by_path["/etc/passwd"], c)

    def test_setuid_chmod_by_name_carries_the_mode(self):
        # chmod that adds setuid/setgid to any rootfs file says so in the container's finding.
        c = self.task_container(name="suid")
        self.start_agent()
        c.start()
        r = c.exec(["/bin/sh", "-c", "cp /bin/egprobe /bin/helper && chmod 6755 /bin/helper"])
        self.assertTrue(r.ok, r)
        f = self.wait_context(ROOTFS_MODIFIED, c,
                              lambda ctx: "setuidOrSetgidFiles" in ctx)
        self.stop_agent()
        self.assertEqual(context(f)["setuidOrSetgidFiles"], {"/bin/helper": "6755"})

    def test_tmpfile_linked_into_rootfs_is_reported_by_its_final_name(self):
        # Issue 17 item 7: an O_TMPFILE file given a rootfs name by linkat from
        # /proc/self/fd/N (on /proc, another mount): the link is judged by its new name, the
        # finding names that name (not "#<inode>") and a sensitive name is SensitiveFileModified.
        # The same into the volume stays silent.
        c = self.task_container(name="tmpfile")
        self.start_agent()
        c.start()
        probe = c.exec(["/bin/egprobe", "tmpfile-link", "/tmp", "/probe-linked", "proc"],
                       check=False)
        if "errno=EOPNOTSUPP" in probe.stdout and "step=open" in probe.stdout:
            # overlayfs has O_TMPFILE since 6.6: before, the evasion cannot be made on it.
            self.skipTest("O_TMPFILE on the overlay rootfs: %s" % probe.stdout.strip())
        self.assertTrue(probe.ok, probe)
        r = c.exec(["/bin/sh", "-c",
                    "/bin/egprobe tmpfile-link /data /data/vol-linked proc && "
                    "/bin/egprobe tmpfile-link /tmp /etc/sudoers proc && "
                    "/bin/egprobe tmpfile-link /tmp /bin/linked proc && "
                    "/bin/linked sleep 0"])
        self.assertTrue(r.ok, r)
        f = self.wait_context(ROOTFS_MODIFIED, c, lambda ctx: {"/etc/sudoers", "/bin/linked"}
                              <= set(ctx.get("relatedFilePaths", [])))
        [s] = self.agent.wait_for(harness.match(SENSITIVE, c), timeout=20)
        [b] = self.agent.wait_for(harness.match(NEW_BINARY, c), timeout=20)
        time.sleep(1.5)
        self.stop_agent()
        ctx = context(f)
        self.assertEqual(ctx["filePath"], "/probe-linked", ctx)
        self.assertEqual(ctx["fileOperation"], "link", ctx)
        self.assertEqual(set(ctx["relatedFilePaths"]),
                         {"/probe-linked", "/etc/sudoers", "/bin/linked"}, ctx)
        self.assertEqual(ctx["fileOperations"], {"link": 3}, ctx)
        self.assertEqual(context(s)["filePath"], "/etc/sudoers")
        self.assertEqual(context(s)["fileOperation"], "link")
        self.assertEqual(context(b)["filePath"], "/bin/linked")

    def test_sensitive_file_through_a_symlinked_directory_is_matched_on_the_resolved_path(self):
        # Issue 17 item 8: /opt/e -> /etc; changes made through /opt/e/... are matched on the
        # path the kernel resolved, and the finding gives both.
        c = self.task_container(name="symlinked")
        self.start_agent()
        c.start()
        r = c.exec(["/bin/sh", "-c",
                    "mkdir -p /opt && ln -s /etc /opt/e && ln -s ../etc /opt/rel && "
                    "chmod 4644 /opt/e/passwd && /bin/egprobe fchmod /opt/rel/group 2644 && "
                    "echo x > /opt/e/ld.so.preload && echo y > /tmp/s && mv /tmp/s /opt/rel/shadow"])
        self.assertTrue(r.ok, r)
        found = self.agent.wait_for(harness.match(SENSITIVE, c), timeout=20, count=4)
        time.sleep(1.5)
        self.stop_agent()
        by_path = {context(s)["filePath"]: context(s) for s in self.findings_of(SENSITIVE, c)}
        self.assertEqual(set(by_path), {"/etc/passwd", "/etc/group", "/etc/ld.so.preload",
                                        "/etc/shadow"}, found)
        self.assertEqual(by_path["/etc/passwd"]["literalFilePath"], "/opt/e/passwd")
        self.assertEqual(by_path["/etc/passwd"]["fileOperation"], "chmod")
        self.assertEqual(by_path["/etc/shadow"]["literalFilePath"], "/opt/rel/shadow")
        self.assertEqual(by_path["/etc/shadow"]["fileOperation"], "rename")

    def ran_while_agent_stopped(self, script, name):
        """A task container (family jobs) that ran `script` to its end and was deleted while
        the agent, started with a health record each second, was stopped: nothing of it is
        alive when the agent reads its events."""
        c = self.task_container(["/bin/sh", "-c", script], name=name, family="jobs")
        self.start_agent("--health-interval", "1", health=True)
        self.run_with_agent_stopped(c)
        return c

    def test_path_operations_of_a_container_that_exits_at_once_are_decided_in_the_kernel(self):
        """Issue 17 item 4: whether a path-only operation (mkdir, symlink, rename, unlink,
        chmod) landed on the root filesystem was decided by the agent through the mount table
        of a live process of the container; one that exits at once left none, and its path
        operations were lost (health rootfs.unresolved). The kernel now decides at the LSM hook
        the VFS calls for each, where function hooks load. The agent is stopped (SIGSTOP) for
        the container's whole life: nothing of it is alive when its events are read."""
        why = verdict_hooks_unseen()
        if why:
            self.skipTest(why)
        script = ("mkdir /newdir && ln -s /newdir /newlink && mv /newlink /newlink2 && "
                  "rm /newlink2 && chmod 4755 /newdir && "
                  "mkdir /data/voldir && mv /data/voldir /data/voldir2 && chmod 700 /data/voldir2 && "
                  "mkdir /scratch/tdir && ln -s /x /scratch/tl && rm /scratch/tl")
        c = self.ran_while_agent_stopped(script, "batch")
        want = {"/newdir", "/newlink", "/newlink2"}
        f = self.wait_context(ROOTFS_MODIFIED, c,
                              lambda ctx: want <= set(ctx.get("relatedFilePaths", [])), timeout=30)
        self.assertAttributed(f, c)
        time.sleep(1.5)  # a health record after the events
        with open(self.agent.health_file) as fh:
            rootfs = json.load(fh)["detectors"]["rootfs"]
        self.stop_agent()
        latest = list(last_by_id(self.findings_of(ROOTFS_MODIFIED, c)).values())
        self.assertEqual(len(latest), 1, latest)
        ctx = context(latest[0])
        self.assertEqual(set(ctx["relatedFilePaths"]), want, ctx)  # nothing from /data, /scratch
        ops = ctx["fileOperations"]
        self.assertEqual((ops.get("createDirectory"), ops.get("symlink"), ops.get("rename"),
                          ops.get("delete"), ops.get("chmod")), (1, 1, 1, 1, 1), ops)
        self.assertGreaterEqual(rootfs["pathOpsOnRootByKernel"], 5, rootfs)
        self.assertEqual(rootfs["unresolved"], 0, rootfs)

    def test_path_operations_the_kernel_cannot_decide_are_counted_not_lost_silently(self):
        """The limit of the test above, where the kernel attaches neither fentry nor kprobes
        (this project's 6.18 development host; no ECS host kernel in the matrix is one): the
        path operations of a container whose every process is gone before the agent reads
        them cannot be placed on or off the root filesystem (no mount table to read, no
        verdict from the kernel). They are not reported, and every one is counted in health
        (detectors.rootfs.unresolved); probe shows the verdict hooks unattached. README names
        the gap (issue 17, item 4)."""
        if not verdict_hooks_unseen():
            self.skipTest("the kernel decides path operations here (function hooks attached on "
                          "%s): the limit is only where neither fentry nor kprobes attach"
                          % os.uname().release)
        script = ("mkdir /newdir && ln -s /newdir /newlink && mv /newlink /newlink2 && "
                  "rm /newlink2 && chmod 4755 /newdir && "
                  "mkdir /data/voldir && mv /data/voldir /data/voldir2 && chmod 700 /data/voldir2")
        c = self.ran_while_agent_stopped(script, "batch")
        deadline = time.time() + 30
        rootfs = {}
        while time.time() < deadline:
            time.sleep(1)
            with open(self.agent.health_file) as fh:
                rootfs = json.load(fh)["detectors"]["rootfs"]
            if rootfs.get("unresolved", 0) >= 10:
                break
        self.stop_agent()
        # Eight operations (five on the root filesystem, three on a volume), ten names (a
        # rename has two): each name counted.
        self.assertEqual(rootfs["pathOpEvents"], 8, rootfs)
        self.assertEqual(rootfs["unresolved"], 10, rootfs)
        self.assertEqual(rootfs.get("pathOpsOnRootByKernel", 0), 0, rootfs)
        self.assertEqual(self.findings_of(ROOTFS_MODIFIED, c), [])
        probe = harness.probe_report()["hooks"]["rootfsWrites"]
        self.assertTrue([a for a in probe["attempts"] if "security_inode_" in a["attach"] and
                         not a["result"].startswith("ok")], probe)

    def test_sensitive_file_reached_through_a_link_swapped_afterwards_or_after_exit(self):
        """A path op's name was resolved by the agent through the container's symlinks, read
        when it handled the event: a container that exits at once left it none to read (the
        literal path was reported), and one that repoints the link before the agent reads
        made it name another file. `ln -s /etc /opt/e; mv x /opt/e/passwd`, then /opt/e made
        to point at /tmp; repeated with the same literal path while /opt/e leads to /tmp
        (another operation, not a repeat of the first); the container exits; the agent is
        stopped for its whole life. The kernel names the file from the dentry the rename acted
        on: SensitiveFileModified for /etc/passwd (literal /opt/e/passwd), and the second
        rename is /tmp/passwd."""
        why = verdict_hooks_unseen()
        if why:
            self.skipTest(why)
        script = ("mkdir -p /opt && ln -s /etc /opt/e && echo x > /tmp/pw && "
                  "mv /tmp/pw /opt/e/passwd && rm /opt/e && ln -s /tmp /opt/e && "
                  "echo y > /tmp/pw2 && mv /tmp/pw2 /opt/e/passwd")
        c = self.ran_while_agent_stopped(script, "swapper")
        [f] = self.agent.wait_for(harness.match(SENSITIVE, c), timeout=30)
        self.assertAttributed(f, c)
        ctx = context(f)
        self.assertEqual(ctx["filePath"], "/etc/passwd", ctx)
        self.assertEqual(ctx["literalFilePath"], "/opt/e/passwd", ctx)
        self.assertEqual(ctx["fileOperation"], "rename", ctx)
        r = self.wait_context(ROOTFS_MODIFIED, c,
                              lambda x: "/tmp/passwd" in x.get("relatedFilePaths", []),
                              timeout=30)
        time.sleep(1.5)
        with open(self.agent.health_file) as fh:
            rootfs = json.load(fh)["detectors"]["rootfs"]
        self.stop_agent()
        self.assertEqual([context(x)["filePath"] for x in self.findings_of(SENSITIVE, c)],
                         ["/etc/passwd"])
        self.assertGreaterEqual(rootfs["pathOpsNamedByKernel"], 2, rootfs)

    def test_a_verdict_left_by_a_failed_call_is_not_taken_by_a_later_one(self):
        """The kernel's path-op verdict (issue 17 item 4) is recorded at an LSM hook and taken
        at the syscall's exit. An attempt to plant one: in one thread, a mknod of a FIFO on a
        full tmpfs fails after its hook ran (the tmpfs has no inode left), then a mknod of a
        regular file on the root filesystem passes no such hook (it goes through
        security_inode_create). Taken by the second call, the first's "another mount" would
        have dropped it in the kernel; every exit drops its own record, failed or not."""
        hook = harness.probe_report()["hooks"]["rootfsWrites"]
        if not any("security_inode_" in a["attach"] and a["result"].startswith("ok")
                   for a in hook.get("attempts", [])):
            self.skipTest("no kernel verdicts here (function hooks refused): rootfsWrites: %s"
                          % hook.get("chosen"))
        c = self.task_container(name="planter", tmpfs_extra=[("/tiny", ["nr_inodes=2"])])
        self.start_agent()
        c.start()
        r = c.exec(["/bin/egprobe", "mknod-seq", "/tiny/a", "fifo", "/tiny/b", "fifo",
                    "/planted", "reg"])
        self.assertTrue(r.ok, r)
        self.assertIn("failed=1", r.stdout)  # /tiny/b: no inode left, after the hook
        f = self.wait_context(ROOTFS_MODIFIED, c,
                              lambda ctx: "/planted" in ctx.get("relatedFilePaths", []))
        self.assertNotIn("/tiny/a", context(f)["relatedFilePaths"])

    def test_writes_through_an_fd_from_before_a_chroot_are_counted(self):
        # Issue 17 item 6: after chroot into the tmpfs, the task's root is the tmpfs; a file of
        # the container's rootfs created through a directory fd from before is still a rootfs
        # write, and the file and directory created inside the new root (on the tmpfs: /inside
        # and /inside.d there, /scratch/inside* in the container) are not.
        c = self.task_container(name="chrooter")
        self.start_agent()
        c.start()
        r = c.exec(["/bin/egprobe", "chroot-write", "/scratch", "etc/planted", "/inside"])
        self.assertTrue(r.ok, r)
        f = self.wait_context(ROOTFS_MODIFIED, c,
                              lambda ctx: "/etc/planted" in ctx.get("relatedFilePaths", []) or
                              "etc/planted" in json.dumps(ctx))
        time.sleep(1.5)
        self.stop_agent()
        latest = last_by_id(self.findings_of(ROOTFS_MODIFIED, c))
        [f] = latest.values()
        self.assertEqual(context(f)["relatedFilePaths"], ["/etc/planted"], context(f))
        self.assertEqual(context(f)["fileOperations"], {"create": 1}, context(f))
        self.assertIn("ok chroot-write", r.stdout)

    def run_until_counted(self, name, script, writes):
        """Runs script in a new task container until its finding counts `writes`, lets one more
        fold and health record pass, stops the agent; returns (finding, context, health)."""
        c = self.task_container(name=name)
        self.start_agent("--health-interval", "1", health=True)
        c.start()
        r = c.exec(["/bin/sh", "-c", script])
        self.assertTrue(r.ok, r)
        self.wait_context(ROOTFS_MODIFIED, c, lambda ctx: ctx.get("writeCount", 0) >= writes)
        time.sleep(2.5)  # another fold and health record after the work
        with open(self.agent.health_file) as fh:
            health = json.load(fh)
        self.stop_agent()
        [f] = last_by_id(self.findings_of(ROOTFS_MODIFIED, c)).values()
        return f, context(f), health

    @harness.native_only('repeat counting is the same program code on every kernel')
    def test_repeated_path_operations_are_counted_in_the_kernel_volume_ones_never(self):
        # The same mkdir/rmdir 50 times on the rootfs and 50 times on the volume: each distinct
        # (operation, path) is sent once, its repeats are counted in the kernel, and only the
        # rootfs ones (decided by the agent from the first event) reach the finding.
        f, ctx, health = self.run_until_counted(
            "looper", "i=0; while [ $i -lt 50 ]; do mkdir /loopdir && rmdir /loopdir && "
            "mkdir /data/loopdir && rmdir /data/loopdir; i=$((i+1)); done", 100)
        self.assertEqual(ctx["writeCount"], 100, ctx)  # nothing from /data
        self.assertEqual(ctx["relatedFilePaths"], ["/loopdir"])
        self.assertEqual(ctx["distinctFileCount"], 1)
        self.assertEqual(ctx["fileOperations"].get("repeatedWrite"), 98, ctx["fileOperations"])
        self.assertEqual(f["service"]["count"], 100)
        # The kernel counters are the whole host's: another container's path operation in the
        # same seconds adds to them (it did, with other tests running at the same time). The
        # exact count of this container's repeats is the finding's repeatedWrite above; here,
        # that its 200 operations were sent 4 times and the rest absorbed in the kernel.
        k = health["kernelEvents"]["rootfsPathOp"]
        self.assertGreaterEqual(k["sent"], 4, k)  # mkdir and rmdir, on the rootfs and the volume
        self.assertLess(k["sent"], 4 + 20, k)  # not sent one by one (that is 200)
        self.assertGreaterEqual(k["deduplicated"], 196, k)
        self.assertEqual(k["dropped"], 0, k)
        rd = health["detectors"]["rootfs"]
        self.assertGreaterEqual(rd["pathOpRepeatsFromKernel"], 98, rd)
        self.assertEqual(rd["pathOpKeysUntracked"], 0, rd)

    @harness.native_only('repeat counting is the same program code on every kernel')
    def test_rewrites_of_one_file_and_of_two_in_turn_are_counted_exactly(self):
        # One process rewriting one file: its repeats are recognised from the per-CPU task
        # cache (bpf/rootfs.bpf.c, last write); a shell appending to two files in turn misses
        # that cache on every write and takes the eg_rootfs_written lookup. Both count exactly.
        f, ctx, health = self.run_until_counted(
            "rewriter", "/bin/egprobe loop-open-write /tmp 500 && "
            "/bin/egprobe loop-open-write /data 300 && i=0; while [ $i -lt 20 ]; do "
            "echo a >> /x; echo b >> /y; i=$((i+1)); done", 540)
        self.assertEqual(ctx["writeCount"], 540, ctx)  # nothing from the volume
        self.assertEqual(set(ctx["relatedFilePaths"]), {"/tmp/egprobe-loop", "/x", "/y"}, ctx)
        self.assertEqual(ctx["distinctFileCount"], 3)
        k = health["kernelEvents"]["rootfsWrite"]  # the whole host's, as above
        self.assertGreaterEqual(k["sent"], 3, k)
        self.assertLess(k["sent"], 3 + 20, k)  # not sent one by one (that is 540)
        self.assertGreaterEqual(k["deduplicated"], 537, k)
        self.assertEqual(k["dropped"], 0, k)

    @harness.native_only("the agent's aggregation of a flood")
    def test_ten_thousand_files_one_finding_exact_counts_no_drops(self):
        c = self.task_container(name="batch")
        self.start_agent("--health-interval", "1", health=True)
        c.start()
        time.sleep(1)
        rss_before = rss_kib(self.agent.proc.pid)
        r = c.exec(["/bin/sh", "-c", "mkdir /spool && /bin/egprobe write-files /spool 10000 && "
                    "/bin/egprobe write-files /data 2000"], timeout=120)
        self.assertTrue(r.ok, r)
        f = self.wait_context(ROOTFS_MODIFIED, c,
                              lambda ctx: ctx.get("distinctFileCount", 0) >= 10001, timeout=60)
        time.sleep(2.5)  # one more health record after the work
        rss_after = rss_kib(self.agent.proc.pid)
        with open(self.agent.health_file) as fh:
            health = json.load(fh)
        self.stop_agent()
        latest = last_by_id(self.findings_of(ROOTFS_MODIFIED, c))
        self.assertEqual(len(latest), 1, [(f["service"]["count"], context(f).get("filePath"),
                                           f["service"].get("eventFirstSeen"))
                                          for f in latest.values()])
        ctx = context(list(latest.values())[0])
        self.assertEqual(ctx["filePath"], "/spool")
        self.assertEqual(ctx["distinctFileCount"], 10001)
        self.assertEqual(ctx["writeCount"], 10001)
        self.assertEqual(len(ctx["relatedFilePaths"]), 20)
        self.assertEqual(ctx["fileOperations"], {"createDirectory": 1, "create": 10000})
        k = health["kernelEvents"]["rootfsWrite"]
        self.assertEqual(k["dropped"], 0, health)
        self.assertEqual(k["seen"], k["sent"] + k["deduplicated"] + k["dropped"] + k["filtered"])
        self.assertGreaterEqual(k["sent"], 10000)
        # Bounded memory: the per-file state is a few hundred bytes per file, fixed tables.
        self.assertLess(rss_after - rss_before, 32 * 1024, (rss_before, rss_after))


@harness.native_only("the probe-read twins are what 6.1 chooses by itself: its guest runs them as"
                     " RootfsWrites")
class RootfsWritesProbeRead(RootfsWrites):
    """The same detections through the probe-read twins of the programs that read file
    fields: what kernels without bpf_rdonly_cast (before 6.2, e.g. Amazon Linux 2023's 6.1)
    load. Every test above runs again except the 10,000-file one, which exercises the
    agent's aggregation, not the kernel's read path."""

    agent_args = RootfsWrites.agent_args + ("--bpf-file-reads", "probe-read")
    test_ten_thousand_files_one_finding_exact_counts_no_drops = None

    def start_agent(self, *extra, health=False, fresh=False):
        agent = super().start_agent(*extra, health=health, fresh=fresh)
        self.assertTrue(any("hook rootfsWrites:" in line and "probe-read" in line
                            for line in agent.logs()), agent.logs()[:8])
        return agent


class RootfsWritesLegacyTaskAccess(LegacyTaskAccess, RootfsWrites):
    """The same detections through the legacy task-access twins (the probe-read file fields,
    the task by CO-RE reads, syscall registers found on the task's stack, the unrolled path
    walk): what 5.10 loads. All but the 10,000-file test, as for the probe-read twins."""

    legacy_concern = "rootfsWrites"
    test_ten_thousand_files_one_finding_exact_counts_no_drops = None

    def test_written_file_made_executable_by_mprotect_is_new_library_loaded(self):
        # The twins walk the VMA rbtree by hand (no bpf_find_vma before 5.17); 6.1 replaced it
        # with a maple tree they do not walk. Where the kernel picks the twins itself (5.10),
        # the tree is an rbtree and this runs.
        if not harness.kernel_btf_has("mm_rb"):
            self.skipTest("legacy twins forced on a kernel without mm->mm_rb (a maple tree): "
                          "their mprotect program finds no VMA here (docs/rootfs.md)")
        super().test_written_file_made_executable_by_mprotect_is_new_library_loaded()


if __name__ == "__main__":
    import unittest
    unittest.main()
