"""Real-container harness for ecsguard integration tests (Python 3 stdlib only, root required).

(Long: one module every suite imports, so the suites need no path set-up; its parts are
containers, the agent wrapper, kernel probes and fixtures, in that order.)

Runs runc containers shaped like the ones the ECS agent starts through Docker: cgroup paths in
the ECS v1 / v2 / plain Docker layouts, Docker's default capability set, optional shared or host
PID namespace, bind volumes and tmpfs mounts, a busybox rootfs (plain copy or overlayfs like
overlay2) with the static `egprobe` helper at /bin/egprobe. It also runs the agent binary and
builds the state file the fake ECS agent serves. See docs/testing.md.

Environment:
  ECSGUARD_BIN        agent binary (Agent)
  ECSGUARD_TEST_HOOKS `--hook` options for every agent started ("capability=fexit,...")
  ECSGUARD_EGPROBE    static egprobe helper copied into the rootfs
  ECSGUARD_BUILD_DIR  where the rootfs image and container bundles live (default: a temp dir)
  ECSGUARD_RUNC_ROOT  runc state root used by the harness (default /run/ecsguard-harness/runc)
"""

import atexit
import datetime
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

RUNC = shutil.which("runc") or "/usr/sbin/runc"
RUNC_ROOT = os.environ.get("ECSGUARD_RUNC_ROOT", "/run/ecsguard-harness/runc")
HARNESS_RUN = os.path.dirname(RUNC_ROOT)
# One JSON record per live harness container, so a later run can clean up after a killed one.
RECORDS_DIR = os.path.join(HARNESS_RUN, "records")
# Parent cgroup dirs (/ecs/<task>, /docker, ...) that harness processes created, shared by all
# of them under a file lock: removed when empty, never while a container is being started.
CGROUP_PARENTS = os.path.join(HARNESS_RUN, "cgroup-parents.json")
CGROUP_LOCK = os.path.join(HARNESS_RUN, "cgroups.lock")

REGION = "us-west-2"
ACCOUNT = "123456789012"

# Docker's default capability set (moby oci/caps/defaults.go).
DOCKER_DEFAULT_CAPS = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
)
# Capability names by number (linux/capability.h).
CAP_NAMES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
    "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)


def all_caps():
    """Every capability the harness can grant (its own bounding set): what a privileged container
    gets. On a normal root shell this is every capability the kernel knows."""
    bounding = int(proc_status(os.getpid())["CapBnd"], 16)
    return tuple(name for bit, name in enumerate(CAP_NAMES) if bounding & (1 << bit))


def cap_mask(names):
    """Bit mask of capability names, comparable with CapEff in /proc/PID/status."""
    mask = 0
    for name in names:
        mask |= 1 << CAP_NAMES.index(name)
    return mask


# ECSGUARD_TEST_TIMES=FILE: every test's wall time, and each agent's start-to-ready and stop
# times, appended to FILE (the kernel matrix's guests keep one per suite, so a slow guest says
# which tests and which agent phase its time went to).
_TIMES_FILE = os.environ.get("ECSGUARD_TEST_TIMES")


def record_time(what, seconds):
    if _TIMES_FILE:
        with open(_TIMES_FILE, "a") as f:
            f.write("%.2f %s\n" % (seconds, what))


if _TIMES_FILE:
    _untimed_run = unittest.TestCase.run

    def _timed_run(self, result=None):
        start = time.monotonic()
        try:
            return _untimed_run(self, result)
        finally:
            record_time("test " + self.id(), time.monotonic() - start)

    unittest.TestCase.run = _timed_run


def sanitized_build(binary=None):
    """Whether the agent binary ($ECSGUARD_BIN) is a sanitizer build (it links libasan)."""
    binary = binary or os.environ.get("ECSGUARD_BIN")
    if not binary:
        raise HarnessError("ECSGUARD_BIN is not set")
    with open(binary, "rb") as fh:
        return b"libasan.so" in fh.read()


def native_only(reason):
    """Marks a test (or a class) whose kernel side another test already covers in the kernel
    matrix's guests, and whose subject is the agent's own logic (policy, aggregation,
    introspection, parsing: the same on every kernel). The native run (every suite, sanitizer
    build) runs it; a guest (ECSGUARD_MATRIX_GUEST=1, scripts/kernel-matrix-guest.sh) leaves
    it out, so a guest's minutes go to the code paths that differ per kernel: under emulation
    each test costs 15-25 s of agent start and stop (docs/kernel-matrix.md)."""
    def mark(obj):
        obj._eg_native_only = reason
        return obj
    return mark


if os.environ.get("ECSGUARD_MATRIX_GUEST") == "1":
    _all_test_names = unittest.TestLoader.getTestCaseNames

    def _guest_test_names(self, case_class):
        if getattr(case_class, "_eg_native_only", None):
            names = []
        else:
            names = [n for n in _all_test_names(self, case_class)
                     if not getattr(getattr(case_class, n, None), "_eg_native_only", None)]
        left = len(_all_test_names(self, case_class)) - len(names)
        if left:
            sys.stderr.write("kernel-matrix guest: %d test(s) of %s left to the native run "
                             "(native_only)\n" % (left, case_class.__name__))
        return names

    unittest.TestLoader.getTestCaseNames = _guest_test_names


class HarnessError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Identifiers, cgroup layouts, /proc helpers

def new_container_id():
    """A Docker-style container id: 64 lowercase hex characters."""
    return secrets.token_hex(32)


def new_task_id():
    """A current-format ECS task id: 32 lowercase hex characters."""
    return secrets.token_hex(16)


def new_task_uuid():
    """An old-format ECS task id: a UUID with dashes."""
    return str(uuid.uuid4())


LAYOUTS = {
    "ecs-v1": "/ecs/{task}/{cid}",
    "ecs-v2": "/ecstasks.slice/ecstasks-{task}.slice/docker-{cid}.scope",
    "docker": "/docker/{cid}",
    "docker-systemd": "/system.slice/docker-{cid}.scope",
    # No layout the agent knows (another runtime's): the cgroup is named like a container id,
    # so the kernel registers it at creation, and the agent must take that back.
    "unknown-runtime": "/eg-other-runtime/{cid}",
}


def cgroup_path(layout, task_id, container_id):
    """The container's cgroup path (relative to each hierarchy root) in the given layout."""
    if layout not in LAYOUTS:
        raise ValueError("unknown cgroup layout %r (one of %s)" % (layout, ", ".join(LAYOUTS)))
    return LAYOUTS[layout].format(task=task_id, cid=container_id)


def mountinfo(pid="self"):
    """Parsed /proc/PID/mountinfo: dicts with mount_id, parent_id, dev, root, mount_point,
    options, fstype, source, super_options."""
    mounts = []
    with open("/proc/%s/mountinfo" % pid) as f:
        for line in f:
            left, _, right = line.rstrip("\n").partition(" - ")
            fields = left.split(" ")
            fstype, source, super_options = (right.split(" ") + ["", "", ""])[:3]
            mounts.append({
                "mount_id": int(fields[0]),
                "parent_id": int(fields[1]),
                "dev": fields[2],
                "root": _unescape(fields[3]),
                "mount_point": _unescape(fields[4]),
                "options": fields[5],
                "fstype": fstype,
                "source": _unescape(source),
                "super_options": super_options,
            })
    return mounts


def _unescape(s):
    return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace(
        "\\134", "\\")


def mount_of(pid, path):
    """The mountinfo entry that is mounted last at exactly `path` in PID's mount namespace."""
    found = [m for m in mountinfo(pid) if m["mount_point"] == path]
    if not found:
        raise HarnessError("no mount at %s in pid %s" % (path, pid))
    return found[-1]


def cgroup_hierarchies():
    """Mounted cgroup hierarchies: list of (mount_point, name) where name is the v1 controller
    list (e.g. "memory", "name=systemd") or "" for cgroup2."""
    result = []
    for m in mountinfo():
        if m["fstype"] == "cgroup2":
            result.append((m["mount_point"], ""))
        elif m["fstype"] == "cgroup":
            opts = [o for o in m["super_options"].split(",")
                    if o not in ("rw", "ro") and "=" not in o or o.startswith("name=")]
            result.append((m["mount_point"], ",".join(opts)))
    return result


def proc_cgroups(pid):
    """/proc/PID/cgroup as {controllers: path}; the cgroup2 line has key ""."""
    result = {}
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            result[controllers] = path
    return result


def ns_inode(pid, nstype):
    """Inode number of PID's namespace of the given type (as /proc/PID/ns/TYPE shows it)."""
    return os.stat("/proc/%s/ns/%s" % (pid, nstype)).st_ino


def host_ns_inode(nstype):
    """Inode of the host's namespace of that type (the test process runs in the host's)."""
    return ns_inode("self", nstype)


def proc_status(pid):
    """/proc/PID/status as a dict of strings."""
    result = {}
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            result[key] = value.strip()
    return result


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ---------------------------------------------------------------------------------------------
# Root filesystem image

def _work_dir():
    base = os.environ.get("ECSGUARD_BUILD_DIR")
    if base:
        path = os.path.join(os.path.abspath(base), "integration")
    else:
        path = os.path.join(tempfile.gettempdir(), "ecsguard-harness")
    os.makedirs(path, exist_ok=True)
    return path


def find_egprobe():
    path = os.environ.get("ECSGUARD_EGPROBE")
    if not path and os.environ.get("ECSGUARD_BUILD_DIR"):
        path = os.path.join(os.environ["ECSGUARD_BUILD_DIR"], "tests", "helpers", "egprobe")
    if not path or not os.path.isfile(path):
        raise HarnessError("egprobe helper not found (%r): build the CMake target egprobe and set "
                           "ECSGUARD_EGPROBE" % path)
    return path


def built_helper_dir(name):
    """The build's directory of static test helpers (beside egprobe) holding `name`, for tests
    that bind-mount one into a container; HarnessError when that helper was not built."""
    d = os.path.dirname(find_egprobe())
    if not os.path.isfile(os.path.join(d, name)):
        raise HarnessError("%s not built in %s (CMake target %s)" % (name, d, name))
    return d


class Rootfs:
    """A busybox-static image directory with /bin/egprobe, built once and cached by content
    (under $ECSGUARD_BUILD_DIR/integration, else a temp dir). Use Rootfs.get()."""

    FORMAT = 1  # bump when the layout below changes
    _cached = None

    def __init__(self, path):
        self.path = path

    @classmethod
    def get(cls):
        if cls._cached is None:
            cls._cached = cls.build()
        return cls._cached

    @classmethod
    def build(cls, busybox="/bin/busybox", egprobe=None, parent=None):
        egprobe = egprobe or find_egprobe()
        parent = parent or _work_dir()
        digest = hashlib.sha256(b"format %d\n" % cls.FORMAT)
        for src in (busybox, egprobe):
            with open(src, "rb") as f:
                digest.update(f.read())
        path = os.path.join(parent, "rootfs-" + digest.hexdigest()[:16])
        if os.path.isfile(os.path.join(path, ".complete")):
            return cls(path)
        tmp = tempfile.mkdtemp(prefix="rootfs-build-", dir=parent)
        try:
            cls._populate(tmp, busybox, egprobe)
            os.rename(tmp, path)
        except OSError as e:
            shutil.rmtree(tmp, ignore_errors=True)
            # Another process finished the same image first.
            if not (e.errno in (errno.EEXIST, errno.ENOTEMPTY)
                    and os.path.isfile(os.path.join(path, ".complete"))):
                raise
        return cls(path)

    @staticmethod
    def _populate(root, busybox, egprobe):
        os.chmod(root, 0o755)
        for d in ("bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "etc", "root",
                  "var/log", "run", "mnt", "home", "data"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        os.makedirs(os.path.join(root, "tmp"))
        os.chmod(os.path.join(root, "tmp"), 0o1777)
        shutil.copy2(busybox, os.path.join(root, "bin/busybox"))
        shutil.copy2(egprobe, os.path.join(root, "bin/egprobe"))
        os.chmod(os.path.join(root, "bin/egprobe"), 0o755)
        applets = subprocess.run([busybox, "--list-full"], check=True, capture_output=True,
                                 text=True).stdout.split()
        for applet in applets:  # what `busybox --install -s` creates
            link = os.path.join(root, applet)
            if not os.path.lexists(link):
                os.symlink("/bin/busybox", link)
        files = {
            "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n"
                          "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
            "etc/group": "root:x:0:\nnogroup:x:65534:\n",
            "etc/hosts": "127.0.0.1\tlocalhost\n::1\tlocalhost\n",
            "etc/resolv.conf": "",
            "etc/os-release": "NAME=ecsguard-test-busybox\nID=busybox\n",
        }
        for name, content in files.items():
            with open(os.path.join(root, name), "w") as f:
                f.write(content)
        open(os.path.join(root, ".complete"), "w").close()


# ---------------------------------------------------------------------------------------------
# runc

def runc(*args, timeout=30, check=True, fds=()):
    """Runs runc with the harness state root; returns CompletedProcess (text). `fds`: open
    descriptors runc gets as 3, 4, ... (for `exec --preserve-fds`)."""
    cmd = [RUNC, "--root", RUNC_ROOT] + [str(a) for a in args]
    extra = {}
    if fds:
        def place():
            for i, fd in enumerate(fds):
                os.dup2(fd, 3 + i)
        # preexec_fn runs before the child closes what it does not keep: keep 3, 4, ...
        extra = {"preexec_fn": place, "pass_fds": tuple(range(3, 3 + len(fds)))}
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout, **extra)
    if check and proc.returncode != 0:
        raise HarnessError("%s failed (%d): %s" % (" ".join(cmd), proc.returncode,
                                                   proc.stderr.strip()))
    return proc


class ExecResult:
    """Outcome of a process run in a container."""

    def __init__(self, returncode, stdout, stderr, args=(), container=None):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.args = list(args)
        self.container = container

    @property
    def ok(self):
        return self.returncode == 0

    def __repr__(self):
        return "ExecResult(args=%r, returncode=%r, stdout=%r, stderr=%r)" % (
            self.args, self.returncode, self.stdout, self.stderr)


_live_containers = set()
_live_agents = set()
# Agents whose stop() saw their findings stream end but did not wait for the process to exit
# (a kernel-matrix guest, DEFERRED_AGENT_EXIT): awaited, and their exit checked, by
# reap_exiting_agents().
_exiting_agents = []
_lock = threading.Lock()
_swept = False


class Container:
    """One runc container shaped like an ECS task container.

    Keyword options (all optional):
      layout        "ecs-v1" (default), "ecs-v2", "docker", "docker-systemd" (see LAYOUTS)
      task_id       ECS task id (default: new 32-hex id; new_task_uuid() for the old format)
      container_id  64-hex id (default: new); also the runc container id
      name, image, family, version   ECS metadata for introspection_state()
      caps_add, caps_drop            capability names on top of Docker's default set
      privileged    all capabilities, no seccomp, no masked/read-only /proc paths, all devices
      pid_mode      "private" (default) or "host"
      join_pid_ns_of  another started Container whose pid namespace to share (pidMode: task)
      network_mode  "private" (own net namespace, only lo; default) or "host"
      join_net_ns_of  another started Container whose net namespace to share (awsvpc-like)
      cgroupns      "host" (default, Docker on cgroup v1/hybrid hosts) or "private"
      volumes       [(host_dir, container_path)] or [(host_dir, container_path, "ro")] binds
      tmpfs         [container_path or (container_path, [mount options]), ...]
      rootfs        "copy" (private copy of the image; default), "overlay" (overlayfs with the
                    image as lowerdir, like overlay2), "shared" (the image dir itself)
      readonly_rootfs, env (dict), cwd, user ((uid, gid)), hostname, seccomp (OCI dict)
    args is the entrypoint (default: /bin/egprobe sleep 3600).
    """

    def __init__(self, args=("/bin/egprobe", "sleep", "3600"), *, layout="ecs-v1",
                 task_id=None, container_id=None, name="app", image="busybox:latest",
                 family="ecsguard-it", version="1", caps_add=(), caps_drop=(),
                 privileged=False, pid_mode="private", join_pid_ns_of=None,
                 network_mode="private", join_net_ns_of=None, cgroupns="host", volumes=(),
                 tmpfs=(), rootfs="copy", readonly_rootfs=False, env=None, cwd="/", user=None,
                 hostname=None, seccomp=None, image_rootfs=None):
        if pid_mode not in ("private", "host"):
            raise ValueError("pid_mode must be 'private' or 'host'")
        if network_mode not in ("private", "host"):
            raise ValueError("network_mode must be 'private' or 'host'")
        if rootfs not in ("copy", "overlay", "shared"):
            raise ValueError("rootfs must be 'copy', 'overlay' or 'shared'")
        self.args = list(args)
        self.layout = layout
        self.task_id = task_id or new_task_id()
        self.id = container_id or new_container_id()
        self.cgroup_path = cgroup_path(layout, self.task_id, self.id)
        self.name = name
        self.image = image
        self.image_id = "sha256:" + hashlib.sha256(image.encode()).hexdigest()
        self.family = family
        self.version = str(version)
        self.docker_name = "ecs-%s-%s-%s-%s" % (family, self.version, name,
                                                secrets.token_hex(10))
        self.privileged = privileged
        caps = list(all_caps()) if privileged else list(DOCKER_DEFAULT_CAPS)
        for cap in caps_add:
            cap = _cap_name(cap)
            if cap not in caps:
                caps.append(cap)
        drop = {_cap_name(c) for c in caps_drop}
        self.caps = [c for c in caps if c not in drop]
        self.pid_mode = pid_mode
        self.join_pid_ns_of = join_pid_ns_of
        self.network_mode = network_mode
        self.join_net_ns_of = join_net_ns_of
        self.cgroupns = cgroupns
        self.volumes = [tuple(v) for v in volumes]
        self.tmpfs = list(tmpfs)
        self.rootfs_mode = rootfs
        self.readonly_rootfs = readonly_rootfs
        self.env = dict(env or {})
        self.cwd = cwd
        self.user = user
        self.hostname = hostname or self.id[:12]
        self.seccomp = seccomp
        self.image_rootfs = image_rootfs or Rootfs.get()
        self.bundle = None
        self.rootfs_path = None
        self.upperdir = None
        self.created_at = None
        self.started_at = None
        self._proc = None
        self._pid = None
        self._overlay_mounted = False
        self._deleted = False
        self._started = False

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self, timeout=20):
        """Creates the bundle and runs the container (runc run, supervised by a background runc
        process like a shim); returns once the container is running (or already exited)."""
        self._prepare()
        with _cgroup_lock(exclusive=False):  # no parent dir is removed while runc creates ours
            return self._start_locked(timeout)

    def _start_locked(self, timeout):
        self._launch()
        deadline = time.monotonic() + timeout
        while True:
            state = self.state()
            if state and state.get("status") == "running":
                self._pid = state.get("pid")
                self.started_at = time.time_ns()
                return self
            if self._proc.poll() is not None:
                err = self._runc_errors()
                if err:
                    raise HarnessError("container %s failed to start: %s" % (self.id, err))
                return self  # ran and already exited
            if time.monotonic() > deadline:
                raise HarnessError("container %s not running after %ss (state %r)"
                                   % (self.id, timeout, state))
            time.sleep(0.02)

    def run_to_completion(self, timeout=60, check=False):
        """Runs the entrypoint to its end; returns ExecResult with its output. Deletes the
        container afterwards."""
        try:
            self._prepare()
            with _cgroup_lock(exclusive=False):
                self._launch()
                deadline = time.monotonic() + 20
                while self.state() is None and self._proc.poll() is None:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.02)
            try:
                code = self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                raise HarnessError("container %s still running after %ss" % (self.id, timeout))
            err = self._runc_errors()
            if err:
                raise HarnessError("container %s failed: %s" % (self.id, err))
            result = ExecResult(code, self._read("stdout"), self._read("stderr"), self.args, self)
        finally:
            self.delete()
        if check and result.returncode != 0:
            raise HarnessError("entrypoint failed: %r" % result)
        return result

    def _prepare(self):
        if self._started:
            raise HarnessError("container %s already started" % self.id)
        self._started = True
        _sweep_stale_once()
        with _lock:
            _live_containers.add(self)
        self._prepare_bundle()
        _register_cgroup_parents(self.cgroup_path)

    def _launch(self):
        self.created_at = time.time_ns()
        out = open(os.path.join(self.bundle, "stdout"), "wb")
        err = open(os.path.join(self.bundle, "stderr"), "wb")
        try:
            self._proc = subprocess.Popen(
                [RUNC, "--root", RUNC_ROOT, "--log", os.path.join(self.bundle, "runc.log"),
                 "--log-format", "json", "run", "--bundle", self.bundle, self.id],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True)
        finally:
            out.close()
            err.close()

    def _runc_errors(self):
        messages = []
        try:
            with open(os.path.join(self.bundle, "runc.log")) as f:
                for line in f:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue
                    if entry.get("level") in ("error", "fatal"):
                        messages.append(entry.get("msg", ""))
        except OSError:
            pass
        return "; ".join(messages)

    def _read(self, stream):
        try:
            with open(os.path.join(self.bundle, stream), "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stdout(self):
        """What the entrypoint wrote to stdout so far (until delete() removes the bundle)."""
        return self._read("stdout")

    def stderr(self):
        return self._read("stderr")

    def state(self):
        """`runc state` as a dict, or None when runc does not know the container."""
        proc = runc("state", self.id, check=False)
        if proc.returncode != 0:
            return None
        return json.loads(proc.stdout)

    def pid(self):
        """Host pid of the container's init process."""
        if self._pid is None:
            state = self.state()
            if not state or not state.get("pid"):
                raise HarnessError("container %s has no init process" % self.id)
            self._pid = state["pid"]
        return self._pid

    def exec(self, args, check=True, timeout=30, env=None, cwd=None, user=None, preserve_fds=()):
        """Runs args in the container (runc exec, with the container's capabilities);
        returns ExecResult. check=True raises HarnessError on a non-zero exit. preserve_fds:
        open descriptors of this process the container process gets as 3, 4, ... (runc
        --preserve-fds: a runtime that leaks a descriptor into the container)."""
        cmd = ["exec"]
        if preserve_fds:
            cmd += ["--preserve-fds", str(len(preserve_fds))]
        for key, value in (env or {}).items():
            cmd += ["--env", "%s=%s" % (key, value)]
        if cwd:
            cmd += ["--cwd", cwd]
        if user:
            cmd += ["--user", "%d:%d" % tuple(user)]
        cmd += [self.id] + [str(a) for a in args]
        try:
            proc = runc(*cmd, timeout=timeout, check=False, fds=tuple(preserve_fds))
        except subprocess.TimeoutExpired:
            raise HarnessError("exec %r in %s timed out after %ss" % (args, self.id, timeout))
        result = ExecResult(proc.returncode, proc.stdout, proc.stderr, args, self)
        if check and proc.returncode != 0:
            raise HarnessError("exec failed: %r" % result)
        return result

    def spawn(self, args, timeout=30):
        """Starts args in the container in the background (runc exec --detach); returns its host
        pid. Output goes to files in the bundle."""
        n = len([f for f in os.listdir(self.bundle) if f.startswith("spawn-")])
        base = os.path.join(self.bundle, "spawn-%d" % n)
        with open(base + ".out", "wb") as out:
            proc = subprocess.run(
                [RUNC, "--root", RUNC_ROOT, "exec", "--detach", "--pid-file", base + ".pid",
                 self.id] + [str(a) for a in args],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
        if proc.returncode != 0:
            with open(base + ".out", errors="replace") as f:
                raise HarnessError("spawn %r in %s failed: %s" % (args, self.id, f.read()))
        with open(base + ".pid") as f:
            return int(f.read().strip())

    def kill(self, sig="KILL"):
        """Sends sig to the container's init (runc kill)."""
        runc("kill", self.id, sig, check=False)

    def wait_exit(self, timeout=30):
        """Waits for the init process to exit; returns its exit status (128+N if killed by N)."""
        if self._proc is None:
            raise HarnessError("container %s was never started" % self.id)
        try:
            return self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise HarnessError("container %s still running after %ss" % (self.id, timeout))

    def delete(self):
        """Force-deletes the container and everything it left: processes, runc state, cgroup
        dirs in every hierarchy (and parents the harness created), the overlay mount, the bundle.
        Safe to call more than once and after failures. Returns a list of problems (empty when
        everything is gone)."""
        if self._deleted:
            return []
        problems = _cleanup({
            "id": self.id,
            "cgroup_path": self.cgroup_path,
            "bundle": self.bundle,
            "overlay": self.rootfs_path if self._overlay_mounted else None,
        }, self._proc)
        self._deleted = True
        with _lock:
            _live_containers.discard(self)
        for p in problems:
            print("harness: cleanup of %s: %s" % (self.id, p), file=sys.stderr)
        return problems

    def __enter__(self):
        if not self._started:
            try:
                self.start()
            except BaseException:
                self.delete()
                raise
        return self

    def __exit__(self, *exc):
        self.delete()
        return False

    def __repr__(self):
        return "Container(id=%s, cgroup=%s)" % (self.id[:12], self.cgroup_path)

    # -- bundle -------------------------------------------------------------------------------

    def _prepare_bundle(self):
        bundles = os.path.join(_work_dir(), "bundles")
        os.makedirs(bundles, exist_ok=True)
        self.bundle = tempfile.mkdtemp(prefix=self.id[:12] + "-", dir=bundles)
        _write_record(self)
        if self.rootfs_mode == "shared":
            self.rootfs_path = self.image_rootfs.path
        elif self.rootfs_mode == "copy":
            self.rootfs_path = os.path.join(self.bundle, "rootfs")
            subprocess.run(["cp", "-a", self.image_rootfs.path, self.rootfs_path], check=True)
        else:
            self.rootfs_path = os.path.join(self.bundle, "rootfs")
            self.upperdir = os.path.join(self.bundle, "overlay", "upper")
            workdir = os.path.join(self.bundle, "overlay", "work")
            for d in (self.rootfs_path, self.upperdir, workdir):
                os.makedirs(d)
            _write_record(self, overlay=self.rootfs_path)
            subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                            "lowerdir=%s,upperdir=%s,workdir=%s"
                            % (self.image_rootfs.path, self.upperdir, workdir),
                            self.rootfs_path], check=True, capture_output=True)
            self._overlay_mounted = True
        subprocess.run([RUNC, "spec", "--bundle", self.bundle], check=True)
        path = os.path.join(self.bundle, "config.json")
        with open(path) as f:
            config = json.load(f)
        self._edit_config(config)
        with open(path, "w") as f:
            json.dump(config, f, indent=1)

    def _edit_config(self, config):
        process = config["process"]
        process["terminal"] = False
        process["args"] = list(self.args)
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "HOSTNAME": self.hostname}
        env.update(self.env)
        process["env"] = ["%s=%s" % kv for kv in env.items()]
        process["cwd"] = self.cwd
        if self.user:
            process["user"] = {"uid": self.user[0], "gid": self.user[1]}
        # Docker: the same set in bounding/effective/permitted, nothing inheritable or ambient.
        process["capabilities"] = {
            "bounding": list(self.caps),
            "effective": list(self.caps),
            "permitted": list(self.caps),
        }
        process["noNewPrivileges"] = False
        config["root"] = {"path": self.rootfs_path, "readonly": self.readonly_rootfs}
        config["hostname"] = self.hostname

        linux = config["linux"]
        linux["cgroupsPath"] = self.cgroup_path
        # runc's template has a cgroup namespace on cgroup v2 hosts; ours is chosen below.
        namespaces = [ns for ns in linux["namespaces"]
                      if ns["type"] not in ("pid", "network", "cgroup")]
        if self.join_pid_ns_of is not None:
            namespaces.append({"type": "pid",
                               "path": "/proc/%d/ns/pid" % self.join_pid_ns_of.pid()})
        elif self.pid_mode == "private":
            namespaces.append({"type": "pid"})
        if self.join_net_ns_of is not None:
            namespaces.append({"type": "network",
                               "path": "/proc/%d/ns/net" % self.join_net_ns_of.pid()})
        elif self.network_mode == "private":
            namespaces.append({"type": "network"})
        if self.cgroupns == "private":
            namespaces.append({"type": "cgroup"})
        linux["namespaces"] = namespaces

        mounts = config["mounts"]
        for entry in self.volumes:
            source, destination = entry[0], entry[1]
            mode = entry[2] if len(entry) > 2 else "rw"
            mounts.append({"destination": destination, "type": "bind",
                           "source": os.path.abspath(source),
                           "options": ["rbind", "rprivate", mode]})
        for entry in self.tmpfs:
            # A path, or (path, [extra mount options]) such as ("/tiny", ["nr_inodes=2"]).
            destination, extra = (entry, []) if isinstance(entry, str) else entry
            mounts.append({"destination": destination, "type": "tmpfs", "source": "tmpfs",
                           "options": ["nosuid", "nodev", "noexec", "mode=1777"] + list(extra)})
        if self.privileged:
            linux.pop("maskedPaths", None)
            linux.pop("readonlyPaths", None)
            linux.pop("seccomp", None)
            linux.setdefault("resources", {})["devices"] = [{"allow": True, "access": "rwm"}]
            for m in mounts:
                if m["destination"] in ("/sys", "/sys/fs/cgroup"):
                    m["options"] = [o for o in m["options"] if o != "ro"] + ["rw"]
        elif self.seccomp is not None:
            linux["seccomp"] = self.seccomp


def _cap_name(cap):
    cap = cap.upper()
    if not cap.startswith("CAP_"):
        cap = "CAP_" + cap
    if cap not in CAP_NAMES:
        raise ValueError("unknown capability %s" % cap)
    return cap


def run_to_completion(args, timeout=60, check=False, **container_options):
    """Runs one container whose entrypoint does one thing and exits; returns ExecResult with
    .container (already deleted, still carrying id, task_id, cgroup_path...)."""
    return Container(args, **container_options).run_to_completion(timeout=timeout, check=check)


# ---------------------------------------------------------------------------------------------
# Cleanup (shared by Container.delete, atexit and the stale-run sweeper)

def _write_record(container, overlay=None):
    os.makedirs(RECORDS_DIR, exist_ok=True)
    record = {"owner": os.getpid(), "id": container.id, "cgroup_path": container.cgroup_path,
              "bundle": container.bundle, "overlay": overlay}
    path = os.path.join(RECORDS_DIR, container.id + ".json")
    with open(path + ".tmp", "w") as f:
        json.dump(record, f)
    os.rename(path + ".tmp", path)


def _cleanup(record, proc=None):
    problems = []
    cid = record["id"]
    if proc is not None and proc.poll() is None:
        runc("kill", cid, "KILL", check=False)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    runc("delete", "--force", cid, check=False)
    if os.path.exists(os.path.join(RUNC_ROOT, cid)):
        problems.append("runc state %s remains" % os.path.join(RUNC_ROOT, cid))

    rel = record["cgroup_path"].strip("/")
    for mount_point, _ in cgroup_hierarchies():
        d = os.path.join(mount_point, rel)
        if os.path.isdir(d) and not _remove_cgroup(d):
            problems.append("cgroup %s remains" % d)

    _remove_cgroup_parents(record["cgroup_path"])

    overlay = record.get("overlay")
    if overlay and os.path.ismount(overlay):
        if subprocess.run(["umount", overlay], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", overlay], capture_output=True)
        if os.path.ismount(overlay):
            problems.append("overlay %s still mounted" % overlay)
    bundle = record.get("bundle")
    if bundle and os.path.isdir(bundle):
        inside = [m["mount_point"] for m in mountinfo()
                  if m["mount_point"].startswith(bundle.rstrip("/") + "/")]
        if inside:
            problems.append("mounts left under bundle: %s" % inside)
        else:
            shutil.rmtree(bundle, ignore_errors=True)
    try:
        os.unlink(os.path.join(RECORDS_DIR, cid + ".json"))
    except FileNotFoundError:
        pass
    return problems


@contextlib.contextmanager
def _cgroup_lock(exclusive):
    os.makedirs(HARNESS_RUN, exist_ok=True)
    fd = os.open(CGROUP_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def _load_parents():
    try:
        with open(CGROUP_PARENTS) as f:
            return set(json.load(f))
    except (OSError, ValueError):
        return set()


def _save_parents(parents):
    with open(CGROUP_PARENTS + ".tmp", "w") as f:
        json.dump(sorted(parents), f)
    os.rename(CGROUP_PARENTS + ".tmp", CGROUP_PARENTS)


def _ancestors(path):
    """Directories of the ancestors of a cgroup path in every hierarchy, deepest first."""
    parts = path.strip("/").split("/")
    return [os.path.join(mount_point, *parts[:i])
            for i in range(len(parts) - 1, 0, -1) for mount_point, _ in cgroup_hierarchies()]


def _register_cgroup_parents(path):
    """Notes the ancestors of a container cgroup that do not exist yet (runc will create them)."""
    with _cgroup_lock(exclusive=True):
        parents = _load_parents()
        missing = {d for d in _ancestors(path) if not os.path.isdir(d)}
        if not missing <= parents:
            _save_parents(parents | missing)


def _remove_cgroup_parents(path):
    """Removes the harness-created ancestors of a cgroup path that no container uses anymore."""
    with _cgroup_lock(exclusive=True):
        parents = _load_parents()
        changed = False
        for d in _ancestors(path):
            if d not in parents:
                continue
            try:
                os.rmdir(d)
            except FileNotFoundError:
                pass
            except OSError:
                continue  # another container (of this or another test process) still uses it
            parents.discard(d)
            changed = True
        if changed:
            _save_parents(parents)


def _remove_cgroup(path):
    """Kills whatever is left in a container cgroup (and below) and removes the dirs."""
    for attempt in range(100):
        for dirpath, dirnames, _ in os.walk(path, topdown=False):
            try:
                with open(os.path.join(dirpath, "cgroup.procs")) as f:
                    pids = [int(p) for p in f.read().split()]
            except OSError:
                pids = []
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                os.rmdir(dirpath)
            except FileNotFoundError:
                pass
            except OSError:
                pass
        if not os.path.isdir(path):
            return True
        time.sleep(0.05)
    return False


def _sweep_stale_once():
    """Cleans up containers recorded by harness processes that no longer exist."""
    global _swept
    with _lock:
        if _swept:
            return
        _swept = True
    if not os.path.isdir(RECORDS_DIR):
        return
    for name in os.listdir(RECORDS_DIR):
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(RECORDS_DIR, name)) as f:
                record = json.load(f)
        except (OSError, ValueError):
            continue
        if record.get("owner") and _pid_alive(record["owner"]):
            continue
        print("harness: removing stale container %s from an earlier run" % record.get("id"),
              file=sys.stderr)
        _cleanup(record)


def cleanup_all():
    """Stops every agent and deletes every container this process started. An agent stopped
    earlier whose exit was not awaited and that did not exit cleanly fails the run here."""
    failed = None
    try:
        reap_exiting_agents()
    except HarnessError as e:
        failed = e
    with _lock:
        agents = list(_live_agents)
        containers = list(_live_containers)
    for agent in agents:
        agent.kill9()
    for container in containers:
        container.delete()
    if failed is not None:
        print("harness: %s" % failed, file=sys.stderr)
        sys.stderr.flush()
        os._exit(1)


atexit.register(cleanup_all)
if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
    # Turn SIGTERM (a test runner giving up) into a normal exit so cleanup_all runs.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


# ---------------------------------------------------------------------------------------------
# ECS introspection state for the fake ECS agent (tests/integration/ecsfake.py)

def task_arn(task_id, cluster="default", region=REGION, account=ACCOUNT):
    return "arn:aws:ecs:%s:%s:task/%s/%s" % (region, account, cluster, task_id)


def _rfc3339nano(ns):
    """Go's time.RFC3339Nano in UTC (trailing zeros of the fraction trimmed)."""
    secs, frac = divmod(ns, 1_000_000_000)
    text = datetime.datetime.fromtimestamp(secs, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S")
    if frac:
        text += ("." + "%09d" % frac).rstrip("0")
    return text + "Z"


def container_response(container):
    """ContainerResponse for one Container, field order as the ECS agent encodes it."""
    resp = {
        "DockerId": container.id,
        "DockerName": container.docker_name,
        "Name": container.name,
        "Image": container.image,
        "ImageID": container.image_id,
    }
    if container.created_at:
        resp["CreatedAt"] = _rfc3339nano(container.created_at)
    if container.started_at:
        resp["StartedAt"] = _rfc3339nano(container.started_at)
    volumes = [{"Source": os.path.abspath(v[0]), "Destination": v[1]}
               for v in container.volumes]
    if volumes:
        resp["Volumes"] = volumes
    return resp


def task_response(containers, cluster="default", known_status="RUNNING",
                  desired_status="RUNNING", region=REGION, account=ACCOUNT):
    """TaskResponse for containers of one task (they must share task_id)."""
    containers = list(containers)
    task_ids = {c.task_id for c in containers}
    if len(task_ids) != 1:
        raise ValueError("containers of one task expected, got task ids %s" % task_ids)
    first = containers[0]
    resp = {"Arn": task_arn(first.task_id, cluster, region, account)}
    if desired_status:
        resp["DesiredStatus"] = desired_status
    resp["KnownStatus"] = known_status
    resp["Family"] = first.family
    resp["Version"] = first.version
    resp["Containers"] = [container_response(c) for c in containers]
    return resp


def introspection_state(containers, cluster="default", container_instance_arn=None, mode="ok",
                        task_status=None, region=REGION, account=ACCOUNT):
    """The fake ECS agent's state: {"cluster", "container_instance_arn", "mode", "tasks"}.
    Containers are grouped into tasks by task_id, in order of first appearance. task_status
    maps a task id to its KnownStatus (default RUNNING; STOPPED also sets DesiredStatus)."""
    task_status = task_status or {}
    by_task = {}
    for c in containers:
        by_task.setdefault(c.task_id, []).append(c)
    tasks = []
    for tid, members in by_task.items():
        status = task_status.get(tid, "RUNNING")
        tasks.append(task_response(members, cluster, known_status=status,
                                   desired_status=status, region=region, account=account))
    if container_instance_arn is None:
        container_instance_arn = "arn:aws:ecs:%s:%s:container-instance/%s/%s" % (
            region, account, cluster, new_task_id())
    return {"cluster": cluster, "container_instance_arn": container_instance_arn,
            "mode": mode, "tasks": tasks}


def write_introspection_state(path, containers, **options):
    """Writes introspection_state(...) atomically to path; returns the state."""
    state = introspection_state(containers, **options)
    with open(path + ".tmp", "w") as f:
        json.dump(state, f, indent=1)
    os.rename(path + ".tmp", path)
    return state


# ---------------------------------------------------------------------------------------------
# The agent

def finding_container_ids(finding):
    """Container ids named in a finding's resource (GuardDuty shape)."""
    try:
        containers = finding["resource"]["ecsClusterDetails"]["taskDetails"]["containers"]
    except (KeyError, TypeError):
        return []
    return [c.get("id") for c in containers or [] if isinstance(c, dict)]


def match(type=None, container=None):
    """A finding predicate: type equals `type` (when given) and the finding names `container`
    (a Container or an id; when given)."""
    cid = getattr(container, "id", container)

    def predicate(finding):
        if type is not None and finding.get("type") != type:
            return False
        if cid is not None and cid not in finding_container_ids(finding):
            return False
        return True
    return predicate


HOST_PREP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                         "host-prep.sh")
_host_prepared = False


def host_prep():
    """Runs scripts/host-prep.sh once per process (mounts tracefs for the agent's tracepoints)."""
    global _host_prepared
    if not _host_prepared:
        proc = subprocess.run(["bash", HOST_PREP], capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise HarnessError("host-prep.sh failed: " + proc.stderr.strip())
        _host_prepared = True


def _latest_per_id(findings):
    """One entry per finding id, in order of first appearance, holding its latest line."""
    order, latest = [], {}
    for f in findings:
        key = f.get("id") or id(f)
        if key not in latest:
            order.append(key)
        latest[key] = f
    return [latest[k] for k in order]


def kernel_btf_has(name):
    """True when the running kernel's BTF names `name` (a function, kfunc or type): read off
    /sys/kernel/btf/vmlinux's string table, independently of the agent's own probing."""
    with open("/sys/kernel/btf/vmlinux", "rb") as f:
        return (b"\0" + name.encode() + b"\0") in f.read()


def kernel_has_tracepoint(event):
    """True when tracefs lists `event` ("capability/cap_capable")."""
    host_prep()
    return os.path.isdir(os.path.join("/sys/kernel/tracing/events", event))


def function_called_from(func, caller, workload):
    """Whether the kernel really calls `func` from `caller` (not inlined into it), seen by
    tracefs' function tracer (each line names the parent: "func <-caller") while `workload()`
    runs: an oracle independent of the agent for what a function hook (fexit, kprobe) can see.
    None when the function tracer cannot be used here."""
    host_prep()
    t = "/sys/kernel/tracing"

    def put(name, value):
        with open(os.path.join(t, name), "w") as f:
            f.write(value)

    try:
        put("set_ftrace_filter", func)
        put("current_tracer", "function")
    except OSError:
        return None
    try:
        put("trace", "")
        put("tracing_on", "1")
        workload()
        put("tracing_on", "0")
        with open(os.path.join(t, "trace")) as f:
            text = f.read()
    finally:
        put("current_tracer", "nop")
        put("set_ftrace_filter", "")
        put("tracing_on", "1")
    return ("<-" + caller) in text


_probe_report = None


def run_probe(*args):
    """`ecsguard probe ARGS...` (the agent's own report of what loads here, as JSON on stdout)."""
    binary = os.environ.get("ECSGUARD_BIN")
    if not binary:
        raise HarnessError("ECSGUARD_BIN is not set")
    host_prep()
    return subprocess.run([binary, "probe"] + list(args), capture_output=True, text=True,
                          timeout=120)


def probe_report():
    """`ecsguard probe` on this kernel (with the forced hooks of ECSGUARD_TEST_HOOKS), run once
    per test process: what the agent can load here, and why not where it cannot."""
    global _probe_report
    if _probe_report is None:
        r = run_probe(*forced_hook_args())
        try:
            _probe_report = json.loads(r.stdout)
        except ValueError:
            raise HarnessError("ecsguard probe printed no report: " + r.stderr.strip())
    return _probe_report


def concern_unavailable(concern):
    """None when the agent loads `concern` ("hostNamespaces") on this kernel, else the probe's
    reason: each attempt and why it failed. Tests of a concern the kernel cannot support skip
    with this reason; they never skip on a kernel where it loads."""
    hook = probe_report()["hooks"].get(concern)
    if hook is None:
        return "ecsguard probe does not know %s" % concern
    if hook.get("chosen"):
        return None
    return "%s is not available on %s: %s" % (
        concern, os.uname().release,
        "; ".join("%s: %s" % (a["attach"], a["result"]) for a in hook.get("attempts", [])))


# Each concern's legacy task-access variants (bpf/task.bpf.h: the twins kernels before 5.11/5.15/
# 5.17 load), in the agent's order of preference.
LEGACY_VARIANTS = {
    "processLifecycle": ("legacy",),
    "capability": ("tp_btf-legacy", "fexit-legacy", "kprobe-legacy"),
    "rootfsWrites": ("legacy",),
    "hostNamespaces": ("fentry-legacy", "legacy"),
}
_legacy_hooks = None


def legacy_hook_args():
    """`--hook` options that run every concern through its legacy task-access twins: for each,
    the first legacy variant `ecsguard probe` loads on this kernel. Raises SkipTest with the
    reason when a concern has none here."""
    global _legacy_hooks
    if _legacy_hooks is None:
        args, why = [], None
        for concern, variants in LEGACY_VARIANTS.items():
            for v in variants:
                hook = "%s=%s" % (concern, v)
                if run_probe("--hook", hook).returncode == 0:
                    args += ["--hook", hook]
                    break
            else:
                why = "no legacy variant of %s loads on %s" % (concern, os.uname().release)
                break
        _legacy_hooks = (args, why)
    args, why = _legacy_hooks
    if why:
        raise unittest.SkipTest(why)
    return args


def chosen_legacy_already(concern):
    """True when the agent picks `concern`'s legacy twins here by itself (e.g. 5.10)."""
    return "legacy task access" in (probe_report()["hooks"].get(concern, {}).get("chosen") or "")


def forced_hook_args():
    """`--hook` options for every agent a test starts, from ECSGUARD_TEST_HOOKS
    ("capability=fexit,rootfsWrites=probe-read"): the kernel matrix runs whole suites through
    one fallback this way."""
    spec = os.environ.get("ECSGUARD_TEST_HOOKS", "")
    return [a for h in spec.split(",") if h.strip() for a in ("--hook", h.strip())]


def seccomp_args(extra_args=()):
    """`--seccomp MODE` from ECSGUARD_TEST_SECCOMP (e.g. "trap": refused system calls fail
    with ENOSYS and are logged instead of killing the agent, so a whole suite lists every
    call missing from the allowlist). Unset: the agent's default, enforce."""
    mode = os.environ.get("ECSGUARD_TEST_SECCOMP", "")
    if not mode or any(a in ("--seccomp", "--no-seccomp") for a in extra_args):
        return []
    return ["--seccomp", mode]


def seccomp_kill_report():
    """The kernel's audit records of seccomp kills (type=1326), newest last: which system call
    killed an agent. Empty when the kernel log cannot be read."""
    try:
        out = subprocess.run(["dmesg"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [l for l in out.splitlines() if "type=1326" in l and "ecsguard" in l][-5:]


REFUSED_SYSCALL = "ecsguard seccomp: refused system call"

# How long an agent may take to load and attach everything. About a second natively; under
# QEMU emulation on a loaded two-core host the 5.10 guest once needed more than 30 s (the
# verifier runs emulated, ~100 programs). Only a failing start waits this long.
READY_TIMEOUT = 120

# The capabilities the unprivileged daemon task definition adds (deploy/ecs/*-unprivileged.json):
# ECS accepts no BPF or PERFMON in linuxParameters.capabilities, so SYS_ADMIN stands in for them.
ECS_UNPRIVILEGED_CAPS = "sys_admin,syslog,sys_ptrace,dac_read_search,sys_resource"


def agent_caps_prefix(env=None):
    """ECSGUARD_TEST_AGENT_CAPS ("bpf,perfmon,..." or "ecs-unprivileged"): every agent starts
    with exactly these capabilities (setpriv empties the bounding set but for them; root's exec
    then gets no more), as the unprivileged daemon variant does under ECS."""
    caps = (env if env is not None else os.environ).get("ECSGUARD_TEST_AGENT_CAPS", "")
    if not caps:
        return []
    if caps == "ecs-unprivileged":
        caps = ECS_UNPRIVILEGED_CAPS
    keep = ",".join("+" + c.strip().lower() for c in caps.split(",") if c.strip())
    return ["setpriv", "--inh-caps=-all", "--bounding-set=-all," + keep]


def findings_log_path():
    """Where every finding line a real agent prints in this run is appended, for the schema
    check that runs after the integration tests (tests/finding-schema): ECSGUARD_FINDINGS_LOG,
    else findings.jsonl in the harness's work dir ("" or "-" turns it off)."""
    path = os.environ.get("ECSGUARD_FINDINGS_LOG")
    if path is None:
        return os.path.join(_work_dir(), "findings.jsonl")
    return None if path in ("", "-") else path


def _append_finding_line(path, line):
    # One write of the whole line to an O_APPEND file, under an advisory lock: lines from the
    # agents of concurrent tests (or harness processes) never interleave.
    data = (line + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # a file system without locks (9p in a kernel-matrix guest)
            pass
        os.write(fd, data)
    finally:
        os.close(fd)


# In a kernel-matrix guest a stopped agent's exit is awaited later, once the next agent is
# ready (or at the end of the class): the agent ends its findings stream before it removes its
# kernel programs, and on 6.x kernels that removal waits for one RCU-tasks grace period per
# fentry/fexit trampoline, one after another (~8 s per agent under emulation, a third of a
# guest test). Waiting while the next agent's programs are verified puts that idle time to use.
# The exit status and the seccomp checks are the same, only later; natively (the sanitizer
# build, whose leak check runs at exit) every stop waits.
DEFERRED_AGENT_EXIT = os.environ.get("ECSGUARD_MATRIX_GUEST") == "1"
STREAM_CLOSED_LOG = "stop: findings stream closed"


def _current_test_id():
    """The id of the test whose code is running (found on the call stack), for messages."""
    frame = sys._getframe(1)
    while frame is not None:
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, unittest.TestCase):
            return candidate.id()
        frame = frame.f_back
    return "a test"


def reap_exiting_agents(timeout=120):
    """Waits for every agent whose stop() did not; raises HarnessError naming each that did not
    exit with status 0 (or whose seccomp filter refused or killed)."""
    with _lock:
        agents = list(_exiting_agents)
        del _exiting_agents[:]
    errors = []
    for agent in agents:
        waited = time.monotonic()
        try:
            code = agent._finish(timeout)
        except subprocess.TimeoutExpired:
            agent.kill9()
            errors.append("agent %d did not exit %ss after its findings stream ended; %s"
                          % (agent.proc.pid, timeout, agent._describe()))
            continue
        except HarnessError as e:
            errors.append(str(e))
            continue
        record_time("agent exit, awaited later", time.monotonic() - waited)
        if code != 0:
            errors.append("agent %d (stopped by %s) exited with status %r; %s"
                          % (agent.proc.pid, agent.stopped_by, code, agent._describe()))
    if errors:
        raise HarnessError("an agent stopped earlier did not exit cleanly:\n" + "\n".join(errors))


class Agent:
    """Runs `ecsguard run --introspection-url URL --ready-file F [extra args]` and collects its
    stdout findings (one JSON object per line) and stderr log lines in background threads."""

    def __init__(self, introspection_url=None, extra_args=(), binary=None, env=None,
                 health_file=False, workdir=None):
        self.binary = binary or os.environ.get("ECSGUARD_BIN")
        if not self.binary:
            raise HarnessError("ECSGUARD_BIN is not set")
        # Only the real agent's lines go to the findings log (a stand-in's are not findings).
        self._findings_log = findings_log_path() if binary is None else None
        self._real_agent = binary is None  # a stand-in need not know every option
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="agent-", dir=_work_dir())
        self.ready_file = os.path.join(self.workdir, "ready")
        self.health_file = os.path.join(self.workdir, "health") if health_file else None
        self.introspection_url = introspection_url
        self.extra_args = [str(a) for a in extra_args]
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.proc = None
        self.returncode = None
        self.stdout_other = []  # stdout lines that are not JSON objects
        self._findings = []
        self._arrivals = {}  # id() of a finding dict -> wall-clock time its line was read
        self._logs = []
        self._cond = threading.Condition()
        self._threads = []
        self.stopped_by = None  # the test that stopped it without waiting (DEFERRED_AGENT_EXIT)

    def command(self):
        cmd = agent_caps_prefix(self.env) + [self.binary, "run"]
        if self.introspection_url:
            cmd += ["--introspection-url", self.introspection_url]
        cmd += ["--ready-file", self.ready_file]
        if self.health_file:
            cmd += ["--health-file", self.health_file]
        # Each agent keeps its open findings in its own work dir unless the test names a state
        # dir (a restart test gives two agents the same one): never the host's default, which
        # other agents on this machine would share.
        if self._real_agent and "--state-dir" not in self.extra_args:
            cmd += ["--state-dir", os.path.join(self.workdir, "state")]
        return cmd + forced_hook_args() + seccomp_args(self.extra_args) + self.extra_args

    def start(self):
        host_prep()
        for f in (self.ready_file, self.health_file):
            if f and os.path.exists(f):
                os.unlink(f)
        self._started_at = time.monotonic()
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=self.env)
        with _lock:
            _live_agents.add(self)
        for stream, handler in ((self.proc.stdout, self._on_stdout),
                                (self.proc.stderr, self._on_stderr)):
            t = threading.Thread(target=self._reader, args=(stream, handler), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def _reader(self, stream, handler):
        for raw in iter(stream.readline, b""):
            handler(raw.decode(errors="replace").rstrip("\n"))
        stream.close()

    def _on_stdout(self, line):
        try:
            value = json.loads(line)
        except ValueError:
            value = None
        if isinstance(value, dict) and self._findings_log:
            try:
                _append_finding_line(self._findings_log, line)
            except OSError as e:  # e.g. a read-only build dir: the test itself goes on
                print("harness: findings log %s: %s (no longer written)" % (self._findings_log, e),
                      file=sys.stderr)
                self._findings_log = None
        arrived = time.time()
        with self._cond:
            if isinstance(value, dict):
                self._findings.append(value)
                self._arrivals[id(value)] = arrived
            else:
                self.stdout_other.append(line)
            self._cond.notify_all()

    def _on_stderr(self, line):
        if os.environ.get("ECSGUARD_HARNESS_VERBOSE"):
            print("agent: " + line, file=sys.stderr)
        with self._cond:
            self._logs.append(line)
            self._cond.notify_all()

    def findings(self):
        with self._cond:
            return list(self._findings)

    def arrived_at(self, finding):
        """Wall-clock time (time.time()) at which this finding's line was read from stdout."""
        with self._cond:
            return self._arrivals[id(finding)]

    def logs(self):
        with self._cond:
            return list(self._logs)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _describe(self, n=30):
        return "agent exit=%r; last log lines:\n  %s" % (
            self.proc.poll() if self.proc else None, "\n  ".join(self.logs()[-n:]))

    def wait_ready(self, timeout=None):
        """Waits until the agent writes its ready file; raises if it exits first."""
        timeout = READY_TIMEOUT if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.ready_file):
            if self.proc.poll() is not None:
                raise HarnessError("agent exited before it was ready; " + self._describe())
            if time.monotonic() > deadline:
                raise HarnessError("agent not ready after %ss; %s" % (timeout,
                                                                       self._describe()))
            time.sleep(0.05)
        record_time("agent ready", time.monotonic() - self._started_at)
        reap_exiting_agents()
        return self

    def wait_for(self, predicate, timeout=20, count=1):
        """Waits until at least `count` findings satisfy predicate; returns them, one per
        finding id (its latest line: an update repeats the id with a larger count, and on a
        slow machine it can arrive before this wakes up). Lines without an id each count.
        Raises HarnessError on timeout (listing the findings seen)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = _latest_per_id(f for f in self._findings if predicate(f))
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(min(left, 0.2))
        seen = ["%s %s" % (f.get("type"), finding_container_ids(f)) for f in self.findings()]
        raise HarnessError("%d matching finding(s) wanted, %d after %ss; findings seen: %s; %s"
                           % (count, len(found), timeout, seen, self._describe()))

    def flush(self, timeout=60):
        """SIGUSR2: the agent emits what a stop would (repeats folded, every pending update),
        without stopping, and logs a health line with how many lines its stdout sink has taken;
        returns once this harness has read that many lines. Raises HarnessError on timeout."""
        with self._cond:
            seen_logs = len(self._logs)
        self.proc.send_signal(signal.SIGUSR2)
        deadline = time.monotonic() + timeout
        want = None
        with self._cond:
            while True:
                if want is None:
                    logs = self._logs[seen_logs:]
                    marks = [i for i, line in enumerate(logs)
                             if "signal %d: pending findings emitted" % signal.SIGUSR2 in line]
                    if marks:
                        for line in logs[marks[0] + 1:]:
                            if " health {" in line:
                                health = json.loads(line[line.index(" health {") + 8:])
                                want = health["sinks"]["stdout"]["lines"]
                                break
                if want is not None and len(self._findings) + len(self.stdout_other) >= want:
                    return
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    break
                self._cond.wait(min(left, 0.2))
        raise HarnessError("no flush after SIGUSR2 in %ss (stdout lines wanted %s, read %d); %s"
                           % (timeout, want, len(self._findings) + len(self.stdout_other),
                              self._describe()))

    def _finish(self, timeout):
        self.returncode = self.proc.wait(timeout=timeout)  # raises TimeoutExpired
        for t in self._threads:  # the pipes are at EOF unless a child of the agent holds them
            t.join(timeout=5)
        with _lock:
            _live_agents.discard(self)
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        # A system call missing from the agent's allowlist fails the test that made the agent
        # call it: killed by its filter (enforce), or logged and refused (trap).
        if self.returncode == -signal.SIGSYS:
            raise HarnessError("agent killed by its seccomp filter (a system call missing from "
                               "agent/hardening/syscall_allowlist.c); kernel audit records:\n  "
                               + "\n  ".join(seccomp_kill_report() or ["(none readable)"])
                               + "\n" + self._describe())
        refused = [l for l in self.logs() if REFUSED_SYSCALL in l]
        if refused:
            raise HarnessError("agent refused system calls outside its allowlist:\n  "
                               + "\n  ".join(sorted(set(refused))[:20]))
        return self.returncode

    def _await_stream_end(self, timeout):
        """After SIGTERM: True once the agent has logged that its findings stream ended and
        stdout is read to its end (every finding and every earlier log line is in); False if it
        exited or hung first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not any(STREAM_CLOSED_LOG in l for l in self._logs):
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    return False
                self._cond.wait(min(left, 0.2))
        self._threads[0].join(timeout=max(1, deadline - time.monotonic()))
        return not self._threads[0].is_alive()

    def stop(self, timeout=60, wait_exit=None):
        """SIGTERM; returns the exit code once it exits. Kills it and raises if it hangs.
        Detaching fentry/fexit programs waits for RCU-tasks grace periods: under QEMU TCG with
        other guests running, an agent's stop took up to 10 s (docs/kernel-matrix.md). With
        DEFERRED_AGENT_EXIT (and wait_exit not True) it returns None once the findings stream
        has ended and leaves the exit to reap_exiting_agents()."""
        if self.proc is None or self.stopped_by is not None:
            return None
        if wait_exit is None:
            wait_exit = not DEFERRED_AGENT_EXIT or not self._real_agent
        stop_started = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        if not wait_exit and self._await_stream_end(timeout):
            record_time("agent stop", time.monotonic() - stop_started)
            self.stopped_by = _current_test_id()
            with _lock:
                _exiting_agents.append(self)
            return None
        try:
            code = self._finish(timeout)
            record_time("agent stop", time.monotonic() - stop_started)
            return code
        except subprocess.TimeoutExpired:
            self.kill9()
            raise HarnessError("agent ignored SIGTERM for %ss; %s" % (timeout,
                                                                      self._describe()))

    def kill9(self):
        """SIGKILL; returns the exit status (-9)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.kill()
        return self._finish(15)

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        if self.running():
            try:
                self.stop()
            except HarnessError as e:
                print("harness: %s" % e, file=sys.stderr)
        return False
