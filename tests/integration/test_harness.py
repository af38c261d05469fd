"""Proves the container harness itself on the real kernel: cgroup layouts, capabilities,
namespaces, mounts, overlay rootfs, cleanup, the Agent wrapper and the introspection state."""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

import harness as h

HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
RFC3339NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


def setUpModule():
    if os.geteuid() != 0:
        raise unittest.SkipTest("needs root (runc containers, cgroups, mounts)")
    if not os.path.exists(h.RUNC):
        raise unittest.SkipTest("runc not installed (scripts/install-deps.sh)")
    h.Rootfs.get()


def cgroup_dirs(path):
    """Every hierarchy's directory for a cgroup path."""
    return [os.path.join(mount_point, path.strip("/")) for mount_point, _ in
            h.cgroup_hierarchies()]


def ns_pid(host_pid):
    """A host pid's number in its own (innermost) pid namespace."""
    return int(h.proc_status(host_pid)["NSpid"].split()[-1])


def gone(pid):
    return not os.path.exists("/proc/%d" % pid)


class CgroupLayoutTest(unittest.TestCase):
    def test_ids(self):
        self.assertRegex(h.new_container_id(), HEX64)
        self.assertRegex(h.new_task_id(), HEX32)
        self.assertRegex(h.new_task_uuid(), UUID)
        self.assertNotEqual(h.new_container_id(), h.new_container_id())

    def test_container_lands_in_the_exact_cgroup_of_each_layout(self):
        cases = [
            ("ecs-v1", h.new_task_id(), "/ecs/{t}/{c}"),
            ("ecs-v1", h.new_task_uuid(), "/ecs/{t}/{c}"),
            ("ecs-v2", h.new_task_id(), "/ecstasks.slice/ecstasks-{t}.slice/docker-{c}.scope"),
            ("ecs-v2", h.new_task_uuid(), "/ecstasks.slice/ecstasks-{t}.slice/docker-{c}.scope"),
            ("docker", h.new_task_id(), "/docker/{c}"),
            ("docker-systemd", h.new_task_id(), "/system.slice/docker-{c}.scope"),
        ]
        for layout, task_id, pattern in cases:
            with self.subTest(layout=layout, task_id=task_id):
                cid = h.new_container_id()
                expected = pattern.format(t=task_id, c=cid)
                with h.Container(layout=layout, task_id=task_id, container_id=cid) as c:
                    self.assertEqual(c.cgroup_path, expected)
                    cgroups = h.proc_cgroups(c.pid())
                    self.assertEqual(cgroups[""], expected)  # the unified (cgroup2) line
                    # Every mounted hierarchy (v1 controllers on a hybrid host, the one
                    # cgroup2 tree on a v2 host) holds the container at the same path.
                    hierarchies = h.cgroup_hierarchies()
                    self.assertTrue(hierarchies)
                    for mount_point, name in hierarchies:
                        self.assertEqual(cgroups[name], expected, name or "cgroup2")
                        with open(mount_point + expected + "/cgroup.procs") as f:
                            self.assertIn(str(c.pid()), f.read().split(), name or "cgroup2")


class CapabilityTest(unittest.TestCase):
    def cap_eff(self, c):
        return int(h.proc_status(c.pid())["CapEff"], 16)

    def test_default_is_dockers_set_without_sys_admin_net_admin_bpf(self):
        with h.Container() as c:
            self.assertEqual(self.cap_eff(c), h.cap_mask(h.DOCKER_DEFAULT_CAPS))
            status = h.proc_status(c.pid())
            self.assertEqual(int(status["CapBnd"], 16), h.cap_mask(h.DOCKER_DEFAULT_CAPS))
            self.assertEqual(int(status["CapInh"], 16), 0)
            for probe in (["mount-tmpfs", "/mnt"], ["bpf-map-create"], ["link-mtu", "lo", "1280"],
                          ["sethostname", "x"]):
                r = c.exec(["/bin/egprobe"] + probe, check=False)
                self.assertEqual(r.returncode, 1, r)
                self.assertIn("errno=EPERM", r.stdout, r)

    def test_added_caps_are_effective(self):
        with h.Container(caps_add=["CAP_SYS_ADMIN", "NET_ADMIN"]) as c:
            want = h.cap_mask(h.DOCKER_DEFAULT_CAPS + ("CAP_SYS_ADMIN", "CAP_NET_ADMIN"))
            self.assertEqual(self.cap_eff(c), want)
            r = c.exec(["/bin/egprobe", "mount-tmpfs", "/mnt"])
            self.assertTrue(r.stdout.startswith("ok mount-tmpfs"), r)
            self.assertEqual(h.mount_of(c.pid(), "/mnt")["fstype"], "tmpfs")
            c.exec(["/bin/egprobe", "link-mtu", "lo", "1280"])
            self.assertIn("mtu 1280", c.exec(["ip", "link", "show", "lo"]).stdout)
            c.exec(["/bin/egprobe", "sethostname", "renamed", "3"])
            self.assertEqual(c.exec(["hostname"]).stdout.strip(), "renamed")
        with h.Container(caps_add=["CAP_BPF"]) as c:
            r = c.exec(["/bin/egprobe", "bpf-map-create"])
            self.assertTrue(r.stdout.startswith("ok bpf-map-create"), r)
            r = c.exec(["/bin/egprobe", "mount-tmpfs", "/mnt"], check=False)
            self.assertIn("errno=EPERM", r.stdout)

    def test_dropped_caps(self):
        with h.Container(caps_drop=["CAP_KILL"]) as c:
            want = h.cap_mask(h.DOCKER_DEFAULT_CAPS) & ~h.cap_mask(["CAP_KILL"])
            self.assertEqual(self.cap_eff(c), want)

    def test_privileged_has_every_cap(self):
        with h.Container(privileged=True) as c:
            self.assertEqual(self.cap_eff(c), h.cap_mask(h.all_caps()))
            r = c.exec(["/bin/egprobe", "bpf-map-create"])
            self.assertTrue(r.stdout.startswith("ok bpf-map-create"), r)


class NamespaceTest(unittest.TestCase):
    def test_private_pid_namespace(self):
        with h.Container(args=["/bin/egprobe", "sleep", "3600"]) as c:
            self.assertNotEqual(h.ns_inode(c.pid(), "pid"), h.host_ns_inode("pid"))
            self.assertEqual(ns_pid(c.pid()), 1)
            cmdline = c.exec(["cat", "/proc/1/cmdline"]).stdout
            self.assertEqual(cmdline.split("\0")[:3], ["/bin/egprobe", "sleep", "3600"])

    def test_host_pid_mode_sees_host_pid_1(self):
        with h.Container(pid_mode="host") as c:
            self.assertEqual(h.ns_inode(c.pid(), "pid"), h.host_ns_inode("pid"))
            self.assertEqual(h.proc_status(c.pid())["NSpid"], str(c.pid()))
            with open("/proc/1/comm") as f:
                self.assertEqual(c.exec(["cat", "/proc/1/comm"]).stdout, f.read())
            # The test process itself is visible under its host pid.
            self.assertEqual(c.exec(["cat", "/proc/%d/comm" % os.getpid()]).stdout.strip(),
                             h.proc_status(os.getpid())["Name"])

    def test_join_pid_ns_of_shares_the_namespace(self):
        task = h.new_task_id()
        with h.Container(args=["/bin/egprobe", "sleep", "3601"], task_id=task) as first, \
                h.Container(task_id=task, join_pid_ns_of=first) as second:
            self.assertEqual(h.ns_inode(first.pid(), "pid"), h.ns_inode(second.pid(), "pid"))
            self.assertNotEqual(h.ns_inode(second.pid(), "pid"), h.host_ns_inode("pid"))
            self.assertNotEqual(second.pid(), first.pid())
            # The second container sees the first one's init as its pid 1.
            self.assertIn("3601", second.exec(["cat", "/proc/1/cmdline"]).stdout)

    def test_network_modes(self):
        with h.Container() as private, h.Container(network_mode="host") as host, \
                h.Container(join_net_ns_of=private) as shared:
            self.assertNotEqual(h.ns_inode(private.pid(), "net"), h.host_ns_inode("net"))
            self.assertEqual(h.ns_inode(host.pid(), "net"), h.host_ns_inode("net"))
            self.assertEqual(h.ns_inode(shared.pid(), "net"), h.ns_inode(private.pid(), "net"))

    def test_cgroup_namespace(self):
        with h.Container() as host_ns, h.Container(cgroupns="private") as private:
            self.assertEqual(h.ns_inode(host_ns.pid(), "cgroup"), h.host_ns_inode("cgroup"))
            self.assertNotEqual(h.ns_inode(private.pid(), "cgroup"), h.host_ns_inode("cgroup"))
            inside = private.exec(["cat", "/proc/self/cgroup"]).stdout
            self.assertIn("0::/\n", inside)


class MountTest(unittest.TestCase):
    def test_volume_and_tmpfs_are_other_mounts_than_the_rootfs(self):
        with tempfile.TemporaryDirectory(dir=h._work_dir()) as host_dir:
            with h.Container(volumes=[(host_dir, "/data")], tmpfs=["/scratch"]) as c:
                pid = c.pid()
                root = h.mount_of(pid, "/")
                volume = h.mount_of(pid, "/data")
                scratch = h.mount_of(pid, "/scratch")
                self.assertEqual(len({root["mount_id"], volume["mount_id"],
                                      scratch["mount_id"]}), 3)
                self.assertEqual(scratch["fstype"], "tmpfs")
                c.exec(["sh", "-c", "echo vol > /data/f && echo root > /rootfile"])
                with open(os.path.join(host_dir, "f")) as f:
                    self.assertEqual(f.read(), "vol\n")
                # Default rootfs: a private copy, writable, not the shared image.
                self.assertTrue(os.path.isfile(os.path.join(c.rootfs_path, "rootfile")))
                self.assertFalse(os.path.exists(os.path.join(h.Rootfs.get().path, "rootfile")))

    def test_readonly_volume_and_rootfs(self):
        with tempfile.TemporaryDirectory(dir=h._work_dir()) as host_dir:
            with h.Container(volumes=[(host_dir, "/data", "ro")], readonly_rootfs=True) as c:
                self.assertNotEqual(c.exec(["touch", "/data/x"], check=False).returncode, 0)
                self.assertNotEqual(c.exec(["touch", "/x"], check=False).returncode, 0)

    def test_overlay_rootfs(self):
        image = h.Rootfs.get().path
        with h.Container(rootfs="overlay") as c:
            root = h.mount_of(c.pid(), "/")
            self.assertEqual(root["fstype"], "overlay")
            self.assertTrue(os.path.ismount(c.rootfs_path))
            c.exec(["sh", "-c", "echo new > /etc/newfile && echo extra >> /etc/passwd"])
            self.assertTrue(os.path.isfile(os.path.join(c.upperdir, "etc/newfile")))
            self.assertTrue(os.path.isfile(os.path.join(c.upperdir, "etc/passwd")))  # copy-up
            self.assertFalse(os.path.exists(os.path.join(image, "etc/newfile")))
            with open(os.path.join(image, "etc/passwd")) as f:
                self.assertNotIn("extra", f.read())
            rootfs, bundle = c.rootfs_path, c.bundle
        self.assertFalse(os.path.ismount(rootfs))
        self.assertFalse(os.path.exists(bundle))


class LifecycleTest(unittest.TestCase):
    def assertAllGone(self, c, pid=None, parents=()):
        for d in cgroup_dirs(c.cgroup_path):
            self.assertFalse(os.path.exists(d), d)
        for parent in parents:
            for d in cgroup_dirs(parent):
                self.assertFalse(os.path.exists(d), d)
        self.assertIsNone(c.state())
        self.assertFalse(os.path.exists(os.path.join(h.RUNC_ROOT, c.id)))
        self.assertFalse(os.path.exists(c.bundle))
        if pid:
            self.assertTrue(gone(pid), pid)

    def test_delete_leaves_nothing(self):
        for layout in ("ecs-v1", "ecs-v2", "docker"):
            with self.subTest(layout=layout):
                c = h.Container(layout=layout, rootfs="overlay").start()
                pid = c.pid()
                background = c.spawn(["/bin/egprobe", "sleep", "3600"])
                self.assertFalse(gone(background))
                # The task's own parent dir goes too (/docker may be shared with other runs).
                parent = os.path.dirname(c.cgroup_path) if layout != "docker" else None
                self.assertEqual(c.delete(), [])
                self.assertTrue(gone(background))
                self.assertAllGone(c, pid, parents=[parent] if parent else [])
                self.assertEqual(c.delete(), [])  # idempotent

    def test_task_cgroup_removed_with_its_last_container(self):
        task = h.new_task_id()
        first = h.Container(task_id=task).start()
        second = h.Container(task_id=task).start()
        task_dirs = cgroup_dirs("/ecs/" + task)
        first.delete()
        self.assertTrue(all(os.path.isdir(d) for d in task_dirs))
        second.delete()
        self.assertFalse(any(os.path.exists(d) for d in task_dirs))

    def test_failure_inside_with_block_still_cleans_up(self):
        try:
            with h.Container() as c:
                pid = c.pid()
                raise RuntimeError("test failed midway")
        except RuntimeError:
            pass
        self.assertAllGone(c, pid, parents=["/ecs/" + c.task_id])

    def test_wait_exit_and_kill(self):
        with h.Container(["sh", "-c", "echo started; exit 7"]) as c:
            self.assertEqual(c.wait_exit(timeout=20), 7)
            self.assertEqual(c.stdout(), "started\n")
        with h.Container() as c:
            c.kill("KILL")
            self.assertEqual(c.wait_exit(timeout=20), 128 + signal.SIGKILL)

    def test_exec_result_and_timeout(self):
        with h.Container() as c:
            r = c.exec(["sh", "-c", "echo out; echo err >&2; exit 5"], check=False)
            self.assertEqual((r.returncode, r.stdout, r.stderr), (5, "out\n", "err\n"))
            with self.assertRaises(h.HarnessError):
                c.exec(["false"])
            with self.assertRaises(h.HarnessError):
                c.exec(["sleep", "30"], timeout=1)
            self.assertEqual(c.exec(["sh", "-c", "echo $FOO"], env={"FOO": "bar"}).stdout,
                             "bar\n")

    def test_run_to_completion(self):
        r = h.run_to_completion(["sh", "-c", "echo out; echo err >&2; exit 3"], layout="ecs-v2")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (3, "out\n", "err\n"))
        self.assertAllGone(r.container,
                           parents=[os.path.dirname(r.container.cgroup_path)])
        r = h.run_to_completion(["/bin/egprobe", "mount-tmpfs", "/mnt"], caps_add=["SYS_ADMIN"])
        self.assertEqual(r.returncode, 0, r)

    def test_start_failure_is_reported_and_cleaned_up(self):
        c = h.Container(["/bin/does-not-exist"])
        with self.assertRaises(h.HarnessError) as ctx:
            c.start()
        self.assertIn("does-not-exist", str(ctx.exception))
        self.assertEqual(c.delete(), [])
        self.assertAllGone(c, parents=["/ecs/" + c.task_id])
        c = h.Container(["/bin/does-not-exist"])
        with self.assertRaises(h.HarnessError):
            with c:
                pass
        self.assertIsNotNone(c.bundle)
        self.assertAllGone(c, parents=["/ecs/" + c.task_id])

    def test_stale_containers_of_a_killed_run_are_swept(self):
        script = textwrap.dedent("""
            import sys, time
            import harness as h
            c = h.Container(rootfs="overlay").start()
            print(c.id, c.cgroup_path, c.pid(), c.bundle, flush=True)
            time.sleep(120)
        """)
        with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              text=True, cwd=os.path.dirname(os.path.abspath(__file__))) as proc:
            try:
                cid, path, pid, bundle = proc.stdout.readline().split()
            finally:
                proc.kill()  # SIGKILL: no atexit cleanup in that process
                proc.wait()
        pid = int(pid)
        self.assertFalse(gone(pid))
        h._swept = False
        h._sweep_stale_once()
        for d in cgroup_dirs(path) + cgroup_dirs(os.path.dirname(path)):
            self.assertFalse(os.path.exists(d), d)
        self.assertFalse(os.path.exists(os.path.join(h.RUNC_ROOT, cid)))
        self.assertFalse(os.path.exists(bundle))
        deadline = time.monotonic() + 10
        while not gone(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(gone(pid))


class EgprobeInContainerTest(unittest.TestCase):
    def test_cross_process_probes_on_a_process_of_the_same_container(self):
        with h.Container() as c:
            target = ns_pid(c.spawn(["/bin/egprobe", "sleep", "3600"]))
            for probe in (["vm-write", target], ["proc-mem-open", target],
                          ["ptrace-attach", target], ["kill", target, "0"]):
                r = c.exec(["/bin/egprobe"] + probe)
                self.assertTrue(r.stdout.startswith("ok " + probe[0]), r)
            r = c.exec(["/bin/egprobe", "setns", target, "uts"], check=False)
            self.assertIn("errno=EPERM", r.stdout)  # setns needs CAP_SYS_ADMIN

    def test_setns_into_host_namespace_when_privileged_with_host_pid(self):
        with h.Container(privileged=True, pid_mode="host") as c:
            r = c.exec(["/bin/egprobe", "setns", str(os.getpid()), "mnt"])
            self.assertTrue(r.stdout.startswith("ok setns"), r)

    def test_loops(self):
        with h.Container() as c:
            r = c.exec(["/bin/egprobe", "write-files", "/tmp", "5"])
            self.assertEqual(len(c.exec(["ls", "/tmp"]).stdout.split()), 5)
            for probe in (["spin-fork", "5"], ["loop-open-write", "/tmp", "200"]):
                r = c.exec(["/bin/egprobe"] + probe)
                self.assertRegex(r.stdout, r"^ok %s .*ns_per_op=\d+\n$" % probe[0])
            r = c.exec(["/bin/egprobe", "no-such-command"], check=False)
            self.assertEqual(r.returncode, 2)


class IntrospectionStateTest(unittest.TestCase):
    def test_state_shape(self):
        task = h.new_task_id()
        with tempfile.TemporaryDirectory(dir=h._work_dir()) as vol:
            app = h.Container(task_id=task, name="app", family="web", version=4,
                              volumes=[(vol, "/data")])
            sidecar = h.Container(task_id=task, name="sidecar", image="envoy:v1")
            other = h.Container(task_id=h.new_task_uuid(), layout="ecs-v1", name="solo")
            with app, sidecar:
                path = os.path.join(h._work_dir(), "state-%s.json" % task)
                h.write_introspection_state(path, [app, sidecar, other], cluster="prod",
                                            task_status={other.task_id: "STOPPED"})
                with open(path) as f:
                    state = json.load(f)
                os.unlink(path)
        self.assertEqual(list(state), ["cluster", "container_instance_arn", "mode", "tasks"])
        self.assertEqual((state["cluster"], state["mode"]), ("prod", "ok"))
        self.assertRegex(state["container_instance_arn"],
                         r"^arn:aws:ecs:us-west-2:123456789012:container-instance/prod/\w+$")
        first, second = state["tasks"]
        self.assertEqual(list(first), ["Arn", "DesiredStatus", "KnownStatus", "Family",
                                       "Version", "Containers"])
        self.assertEqual(first["Arn"], "arn:aws:ecs:us-west-2:123456789012:task/prod/" + task)
        self.assertEqual((first["Family"], first["Version"], first["KnownStatus"]),
                         ("web", "4", "RUNNING"))
        a, s = first["Containers"]
        self.assertEqual(list(a)[:5], ["DockerId", "DockerName", "Name", "Image", "ImageID"])
        self.assertEqual((a["DockerId"], a["Name"], s["Name"], s["Image"]),
                         (app.id, "app", "sidecar", "envoy:v1"))
        self.assertRegex(a["DockerName"], r"^ecs-web-4-app-[0-9a-f]{20}$")
        self.assertRegex(a["ImageID"], r"^sha256:[0-9a-f]{64}$")
        self.assertRegex(a["CreatedAt"], RFC3339NANO)
        self.assertRegex(a["StartedAt"], RFC3339NANO)
        self.assertEqual(a["Volumes"], [{"Source": os.path.abspath(vol), "Destination": "/data"}])
        self.assertNotIn("Volumes", s)
        self.assertEqual(second["Arn"].rsplit("/", 1)[1], other.task_id)
        self.assertEqual(second["KnownStatus"], "STOPPED")
        self.assertNotIn("CreatedAt", second["Containers"][0])  # never started


FAKE_AGENT = """\
import json, os, signal, sys, time
args = sys.argv[1:]
assert args[0] == "run", args
ready = args[args.index("--ready-file") + 1]
behaviour = os.environ["FAKE_BEHAVIOUR"]
if behaviour == "crash":
    print("fatal: cannot load programs", file=sys.stderr, flush=True)
    sys.exit(3)
if behaviour == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
else:
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
print("starting with " + " ".join(args), file=sys.stderr, flush=True)
open(ready, "w").close()
print("not json", flush=True)
for i in range(3):
    finding = {"type": "PrivilegeEscalation:Runtime/Test", "n": i, "resource":
               {"ecsClusterDetails": {"taskDetails": {"containers": [{"id": "c%d" % i}]}}}}
    print(json.dumps(finding), flush=True)
while True:
    time.sleep(1)
"""


class AgentWrapperTest(unittest.TestCase):
    """The Agent wrapper against a stand-in that follows the documented CLI contract."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(dir=h._work_dir())
        self.binary = os.path.join(self.dir.name, "fake-agent")
        with open(self.binary, "w") as f:
            f.write("#!%s\n%s" % (sys.executable, FAKE_AGENT))
        os.chmod(self.binary, 0o755)

    def tearDown(self):
        self.dir.cleanup()

    def agent(self, behaviour):
        return h.Agent(introspection_url="http://127.0.0.1:1", binary=self.binary,
                       env={"FAKE_BEHAVIOUR": behaviour}, extra_args=["--verbose"],
                       health_file=True, workdir=self.dir.name)

    def test_findings_logs_and_clean_stop(self):
        agent = self.agent("ok").start()
        agent.wait_ready(timeout=20)
        found = agent.wait_for(h.match(type="PrivilegeEscalation:Runtime/Test"), count=3)
        self.assertEqual([f["n"] for f in found], [0, 1, 2])
        self.assertEqual(len(agent.wait_for(h.match(container="c1"))), 1)
        with self.assertRaises(h.HarnessError):
            agent.wait_for(h.match(container="c9"), timeout=0.5)
        self.assertEqual(agent.stop(wait_exit=True), 0)
        self.assertEqual(agent.stdout_other, ["not json"])
        log = agent.logs()[0]
        for part in ("--introspection-url http://127.0.0.1:1", "--ready-file", "--health-file",
                     "--verbose"):
            self.assertIn(part, log)

    def test_exit_before_ready_is_an_error(self):
        agent = self.agent("crash").start()
        with self.assertRaises(h.HarnessError) as ctx:
            agent.wait_ready(timeout=20)
        self.assertIn("cannot load programs", str(ctx.exception))
        self.assertEqual(agent.stop(wait_exit=True), 3)

    def test_agent_ignoring_sigterm_is_killed(self):
        agent = self.agent("stubborn").start().wait_ready(timeout=20)
        with self.assertRaises(h.HarnessError):
            agent.stop(timeout=1)
        self.assertFalse(agent.running())
        self.assertEqual(agent.returncode, -signal.SIGKILL)


if __name__ == "__main__":
    unittest.main()
