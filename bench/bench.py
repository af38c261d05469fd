#!/usr/bin/env python3
"""ecsguard benchmark driver (issue 7). Run through bench/run.sh.

(Long: one driver so that a whole run, its interleaving and its report, is one process with
one results file; workloads, peers and the report are its sections.)

Workloads run inside runc containers in an ECS v1 cgroup layout (tests/integration/harness.py)
and once as host processes, under each configuration: no agent, ecsguard (default policy),
bpftrace with equivalent tracepoint scripts, auditd with equivalent rules. Configurations are
interleaved per round, in a different order every round; every number is ns per operation
measured inside the workload (egprobe loops) or the wall time of a fixed job (the mix).

Then the agent's own cost: CPU per million kernel events, RSS, finding latency, start-up
time, sustained event rate and behaviour past the ring buffer's capacity, RSS with many
containers, and per-hook BPF cost from kernel.bpf_stats_enabled.

Exit status: 0 when the suite ran (targets met or not), 1 on a harness error.
"""

import argparse
import calendar
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402
from ecsfake import EcsFake  # noqa: E402

WORK = "/run/ecsguard-bench"

# Targets from issue 7 (ratio to "no agent", container workloads).
TARGETS = {
    "open-write-rootfs": 1.15,
    "open-write-volume": 1.15,
    "cap-sys-admin": 1.30,
    "cap-net-admin": 1.25,
    "fork-exec": 1.05,
    "mix-build": 1.02,
}

# Busybox "build": generate sources, preprocess, "compile" (sed/sort/md5sum), link (cat), tar.
MIX_SCRIPT = (
    "set -e; d=/tmp/build.$$; rm -rf $d; mkdir -p $d/src $d/obj; cd $d; "
    "i=0; while [ $i -lt {n} ]; do "
    "seq 1 60 | sed \"s/^/int f${{i}}_/; s/$/(void);/\" > src/m$i.c; "
    "grep -c int src/m$i.c > /dev/null; "
    "sort -r src/m$i.c | md5sum > obj/m$i.o; "
    "cat src/m$i.c | wc -l >> obj/lines; "
    "i=$((i+1)); done; "
    "cat obj/*.o > app.bin; tar cf app.tar src obj app.bin; gzip -1 app.tar; "
    "ls -l app.tar.gz > /dev/null; cd /; rm -rf $d")

# What ecsguard watches, as bare per-cgroup counters: capability checks, opens, the process
# lifecycle its findings' process identity comes from (fork, exec, exit), the path-only file
# operations of the rootfs detector and the host-namespace detector's setns/ptrace/kill family.
# Until 2026-12-02 (r1-r17) the script had only the first three lines: fewer programs than the
# agent runs on a fork+exec or a build, so not the same coverage.
BPFTRACE_SCRIPT = r"""
tracepoint:capability:cap_capable
/args->cap == 21 || args->cap == 12 || args->cap == 39/
{ @caps[cgroup, args->cap, args->ret] = count(); }
tracepoint:syscalls:sys_exit_openat /args->ret >= 0/ { @opens[cgroup, comm] = count(); }
tracepoint:syscalls:sys_exit_open, tracepoint:syscalls:sys_exit_creat
/args->ret >= 0/ { @opens2[cgroup, probe] = count(); }
tracepoint:sched:sched_process_exec { @execs[cgroup, comm] = count(); }
tracepoint:sched:sched_process_fork { @forks[cgroup] = count(); }
tracepoint:sched:sched_process_exit { @exits[cgroup] = count(); }
tracepoint:syscalls:sys_exit_unlinkat, tracepoint:syscalls:sys_exit_unlink,
tracepoint:syscalls:sys_exit_rmdir, tracepoint:syscalls:sys_exit_mkdirat,
tracepoint:syscalls:sys_exit_mkdir, tracepoint:syscalls:sys_exit_renameat2,
tracepoint:syscalls:sys_exit_rename, tracepoint:syscalls:sys_exit_fchmodat,
tracepoint:syscalls:sys_exit_chmod, tracepoint:syscalls:sys_exit_fchownat
/args->ret == 0/ { @pathops[cgroup, probe] = count(); }
tracepoint:syscalls:sys_enter_setns, tracepoint:syscalls:sys_enter_ptrace,
tracepoint:syscalls:sys_enter_kill, tracepoint:syscalls:sys_enter_tgkill
{ @hostns[cgroup, probe] = count(); }
"""

AUDIT_RULES = """-D
-b 8192
-f 1
-a always,exit -F arch=b64 -S openat -F a2&0x3 -k eg_open
-a always,exit -F arch=b64 -S open -F a1&0x3 -k eg_open
-a always,exit -F arch=b64 -S openat -F a2&0x40 -k eg_open
-a always,exit -F arch=b64 -S creat -k eg_open
-a always,exit -F arch=b64 -S mount -S umount2 -S sethostname -k eg_cap
-a always,exit -F arch=b64 -S execve -S execveat -k eg_exec
"""

AUDITD_CONF = """log_file = {dir}/audit.log
log_format = ENRICHED
log_group = root
priority_boost = 4
flush = INCREMENTAL_ASYNC
freq = 50
num_logs = 2
max_log_file = 64
max_log_file_action = ROTATE
space_left = 64
space_left_action = IGNORE
admin_space_left = 32
admin_space_left_action = IGNORE
disk_full_action = IGNORE
disk_error_action = IGNORE
use_libwrap = no
tcp_listen_queue = 5
tcp_max_per_addr = 1
tcp_client_max_idle = 0
transport = TCP
distribute_network = no
q_depth = 2000
overflow_action = IGNORE
max_restarts = 10
plugin_dir = {dir}/plugins.d
end_of_event_timeout = 2
"""


class BenchError(Exception):
    pass


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def ns_per_op(text):
    """(wall ns per op, thread CPU ns per op or None) from an egprobe loop's output."""
    m = re.search(r"(?<![a-z_])ns_per_op=(\d+)", text)
    if not m:
        raise BenchError(f"no ns_per_op in {text!r}")
    c = re.search(r"cpu_ns_per_op=(\d+)", text)
    return int(m.group(1)), (int(c.group(1)) if c else None)


# ---- configurations -------------------------------------------------------------------------


class TimedAgent(harness.Agent):
    """harness.Agent that also keeps the arrival time of every finding line."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.arrivals = []

    def _on_stdout(self, line):
        t = time.time()
        try:
            value = json.loads(line)
        except ValueError:
            value = None
        if isinstance(value, dict):
            self.arrivals.append((t, value))
        super()._on_stdout(line)


class NoAgent:
    name = "none"

    def start(self):
        pass

    def stop(self):
        pass


class Ecsguard:
    name = "ecsguard"

    def __init__(self, fake_url, extra=(), binary=None, name="ecsguard"):
        self.name = name
        self.binary = binary
        self.fake_url = fake_url
        self.extra = tuple(extra)
        self.agent = None

    def start(self):
        self.agent = TimedAgent(introspection_url=self.fake_url, health_file=True,
                                binary=self.binary,
                                extra_args=("--health-interval", "1", "--report-interval", "1")
                                + self.extra)
        self.agent.start()
        self.agent.wait_ready(timeout=30)

    def pid(self):
        return self.agent.proc.pid

    def health(self):
        with open(self.agent.health_file) as f:
            return json.load(f)

    def stop(self):
        if self.agent:
            self.agent.stop()
            self.agent = None


def stop_process(proc, sig, timeout=20):
    """Signal a tracer process, wait for it, kill it if it hangs (its BPF links and programs
    go with its file descriptors either way)."""
    if proc and proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class LoggedTracer:
    """A tracer run as a child whose stdout and stderr go to a file under WORK: started with
    `argv`, ready once `marker` appears in that file, stopped with `stop_signal`."""
    argv = ()
    marker = ""
    stop_signal = signal.SIGTERM
    attach_timeout = 30

    def __init__(self):
        self.proc = None
        self.out = None

    def start(self):
        self.out = tempfile.NamedTemporaryFile(prefix=self.name + "-", dir=WORK, delete=False)
        self.proc = subprocess.Popen(list(self.argv), stdout=self.out, stderr=subprocess.STDOUT)
        try:
            self._wait_attached()
        except BaseException:
            # The caller only stops what started: an error or ^C while attaching must not
            # leave the tracer (and its programs) running.
            self.stop()
            raise

    def _wait_attached(self):
        deadline = time.monotonic() + self.attach_timeout
        while time.monotonic() < deadline:
            with open(self.out.name) as f:
                text = f.read()
            if self.marker in text:
                self.attached(text)
                return
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited: {text}")
            time.sleep(0.02)
        raise BenchError(f"{self.name} did not attach in {self.attach_timeout} s")

    def attached(self, text):
        """Called once with the output so far when the marker appeared."""

    def finished(self, text):
        """Called with the whole output after the tracer stopped."""

    def stop(self):
        stop_process(self.proc, self.stop_signal)
        self.proc = None
        if self.out:
            with open(self.out.name) as f:
                self.finished(f.read())
            os.unlink(self.out.name)
            self.out = None


class Bpftrace(LoggedTracer):
    name = "bpftrace"
    argv = ("bpftrace", "-e", BPFTRACE_SCRIPT)
    marker = "Attaching"
    stop_signal = signal.SIGINT
    attach_timeout = 60

    def attached(self, text):
        time.sleep(0.5)  # attach completes right after the banner


class Floor(LoggedTracer):
    """The floor: bench/floor.c attaches counter-only programs at every hook the agent uses
    (bench/floor.bpf.c), so floor/none is the kernel's cost of having BPF programs at those
    hooks and ecsguard - floor is what the agent's own programs and process add."""
    name = "floor"
    marker = "floor: attached"

    def __init__(self, binary):
        super().__init__()
        self.argv = (binary,)
        self.counts = []  # hook runs counted per start, from the loader's last line

    def attached(self, text):
        for line in text.splitlines():
            if "skipped" in line:
                log(line)

    def finished(self, text):
        m = re.search(r"floor: counted (\d+)", text)
        if m:
            self.counts.append(int(m.group(1)))


class Auditd:
    name = "auditd"

    def __init__(self):
        self.proc = None
        self.dir = os.path.join(WORK, "audit")

    def start(self):
        os.makedirs(os.path.join(self.dir, "plugins.d"), exist_ok=True)
        with open(os.path.join(self.dir, "auditd.conf"), "w") as f:
            f.write(AUDITD_CONF.format(dir=self.dir))
        os.chmod(os.path.join(self.dir, "auditd.conf"), 0o640)
        with open(os.path.join(self.dir, "bench.rules"), "w") as f:
            f.write(AUDIT_RULES)
        self.proc = subprocess.Popen(["auditd", "-n", "-c", self.dir], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            st = subprocess.run(["auditctl", "-s"], capture_output=True, text=True).stdout
            if re.search(r"^pid [1-9]", st, re.M):
                break
            if self.proc.poll() is not None:
                raise BenchError("auditd exited at start")
            time.sleep(0.05)
        else:
            raise BenchError("auditd did not register in 20 s")
        r = subprocess.run(["auditctl", "-R", os.path.join(self.dir, "bench.rules")],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise BenchError(f"auditctl -R: {r.stderr}")
        subprocess.run(["auditctl", "-e", "1"], capture_output=True, check=True)

    def stop(self):
        audit_cleanup()
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


def audit_cleanup():
    if shutil.which("auditctl"):
        subprocess.run(["auditctl", "-D"], capture_output=True)
        subprocess.run(["auditctl", "-e", "0"], capture_output=True)


# ---- workloads ------------------------------------------------------------------------------


class Env:
    def __init__(self, egprobe, scale):
        self.egprobe = egprobe
        self.scale = scale
        self.hostdir = os.path.join(WORK, "host")
        self.voldir = os.path.join(WORK, "volume")
        os.makedirs(self.hostdir, exist_ok=True)
        os.makedirs(self.voldir, exist_ok=True)
        os.chmod(self.voldir, 0o777)
        self.app = None
        self.priv = None

    def n(self, base):
        return max(1, int(base * self.scale))

    def host(self, args, wrap=()):
        r = subprocess.run(list(wrap) + [self.egprobe] + args, capture_output=True, text=True,
                           timeout=600)
        if r.returncode != 0:
            raise BenchError(f"host {args}: {r.stdout} {r.stderr}")
        return ns_per_op(r.stdout)

    def cont(self, c, args):
        r = c.exec(["/bin/egprobe"] + args, check=False, timeout=600)
        if r.returncode != 0:
            raise BenchError(f"container {args}: {r.stdout} {r.stderr}")
        return ns_per_op(r.stdout)

    def mix_host(self):
        script = MIX_SCRIPT.format(n=self.n(150))
        t = time.perf_counter()
        r = subprocess.run(["busybox", "sh", "-c", script], capture_output=True, text=True,
                           env={"PATH": "/usr/local/bin:/usr/bin:/bin"})
        el = time.perf_counter() - t
        if r.returncode != 0:
            raise BenchError(f"mix host: {r.stderr}")
        return int(el * 1e9), None

    def mix_cont(self, c):
        script = MIX_SCRIPT.format(n=self.n(150))
        t = time.perf_counter()
        r = c.exec(["/bin/sh", "-c", script], check=False, timeout=600)
        el = time.perf_counter() - t
        if r.returncode != 0:
            raise BenchError(f"mix container: {r.stderr}")
        return int(el * 1e9), None

    def workloads(self):
        """(name, where, fn, ops) — fn returns (wall ns per op (or per job for the mix), thread
        CPU ns per op or None); ops is how many operations one call runs (1 for the mix job)."""
        n_open, n_cap, n_fork, n_null = (self.n(150000), self.n(400000), self.n(300),
                                         self.n(1000000))
        hd = self.hostdir
        return [
            ("open-write-rootfs", "container",
             lambda: self.cont(self.app, ["loop-open-write", "/tmp", str(n_open)]), n_open),
            ("open-write-rootfs", "host", lambda: self.host(["loop-open-write", hd, str(n_open)]),
             n_open),
            ("open-write-volume", "container",
             lambda: self.cont(self.app, ["loop-open-write", "/vol", str(n_open)]), n_open),
            ("cap-sys-admin", "container",
             lambda: self.cont(self.priv, ["sethostname", "bench", str(n_cap)]), n_cap),
            ("cap-sys-admin", "host",
             lambda: self.host(["sethostname", "bench", str(n_cap)], wrap=("unshare", "-u")),
             n_cap),
            ("cap-net-admin", "container",
             lambda: self.cont(self.priv, ["link-mtu", "lo", "65536", str(n_cap)]), n_cap),
            ("cap-net-admin", "host",
             lambda: self.host(["link-mtu", "lo", "65536", str(n_cap)], wrap=("unshare", "-n")),
             n_cap),
            ("fork-exec", "container", lambda: self.cont(self.app, ["spin-fork", str(n_fork)]),
             n_fork),
            ("fork-exec", "host", lambda: self.host(["spin-fork", str(n_fork)]), n_fork),
            ("mix-build", "container", lambda: self.mix_cont(self.app), 1),
            ("mix-build", "host", self.mix_host, 1),
            ("null-syscall", "container",
             lambda: self.cont(self.app, ["null-syscall", str(n_null)]), n_null),
            ("null-syscall", "host", lambda: self.host(["null-syscall", str(n_null)]), n_null),
        ]


# ---- BPF per-program stats ------------------------------------------------------------------


TRACING_TYPES = {"tracing", "tracepoint", "raw_tracepoint", "kprobe", "perf_event", "lsm"}


def bpf_progs():
    """{id: (name, type)} of every loaded program."""
    r = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True)
    if r.returncode != 0:
        return {}
    return {p["id"]: (p.get("name", "?"), p.get("type", "?")) for p in json.loads(r.stdout or "[]")}


def link_prog_ids():
    """The program id of every BPF link, one per attachment (a program attached at 33 hooks is
    there 33 times): loaded programs that are never attached (the agent runs one only through
    BPF_PROG_TEST_RUN, another only as a tail call) cost the workloads nothing of their own."""
    r = subprocess.run(["bpftool", "-j", "link", "show"], capture_output=True, text=True)
    if r.returncode != 0:
        return []
    return [l["prog_id"] for l in json.loads(r.stdout or "[]") if "prog_id" in l]


def foreign_tracers(own):
    """Tracing programs loaded by someone else (another agent or tracer on this machine)."""
    return sorted({n for i, (n, t) in bpf_progs().items() if t in TRACING_TYPES and i not in own})


def bpf_prog_stats(own=None):
    r = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True)
    out = {}
    if r.returncode != 0:
        return out
    for p in json.loads(r.stdout or "[]"):
        if own is not None and p["id"] not in own:
            continue
        if "run_cnt" in p:
            out[p["id"]] = (p.get("name", "?"), p.get("type", "?"), p["run_time_ns"],
                            p["run_cnt"])
    return out


def set_bpf_stats(on):
    with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
        f.write("1" if on else "0")


def bpf_stats_delta(before, after):
    rows = {}
    for pid, (name, typ, ns, cnt) in after.items():
        b = before.get(pid, (name, typ, 0, 0))
        dn, dc = ns - b[2], cnt - b[3]
        if dc > 0:
            key = f"{name} ({typ})"
            agg = rows.setdefault(key, [0, 0])
            agg[0] += dn
            agg[1] += dc
    return {k: {"runs": v[1], "ns_per_run": v[0] / v[1]} for k, v in rows.items()}


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def agent_cpu_ns(pid):
    """CPU time of every thread of `pid`, in ns (schedstat: /proc/<pid>/stat counts 10 ms ticks,
    too coarse for one workload's share of the agent's time)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that ended between the listing and the read
    return total


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def kernel_totals(h):
    seen = sent = dropped = 0
    for v in h.get("kernelEvents", {}).values():
        seen += v.get("seen", 0)
        sent += v.get("sent", 0)
        dropped += v.get("dropped", 0)
    return seen, sent, dropped


# ---- the suite ------------------------------------------------------------------------------


class Suite:
    def __init__(self, args):
        self.args = args
        self.results = {"meta": {}, "overhead": {}, "bpf": {}, "agent": {}}
        self.fake = None
        self.containers = []

    def container(self, **kw):
        c = harness.Container(layout="ecs-v1", task_id=self.task_id, family="bench", **kw)
        self.containers.append(c)
        return c

    def setup(self):
        os.makedirs(WORK, exist_ok=True)
        self.fake = EcsFake(cluster="default",
                            container_instance_arn="arn:aws:ecs:us-west-2:123456789012:"
                            "container-instance/default/0f1e2d3c4b5a69788796a5b4c3d2e1f0")
        self.fake.start()
        self.task_id = harness.new_task_id()
        self.env = Env(os.environ["ECSGUARD_EGPROBE"], self.args.scale)
        self.env.app = self.container(name="app", volumes=[(self.env.voldir, "/vol")])
        self.env.priv = self.container(name="priv", caps_add=["CAP_SYS_ADMIN", "CAP_NET_ADMIN"])
        self.fake.add_raw_task(harness.task_response([self.env.app, self.env.priv]))
        self.env.app.start()
        self.env.priv.start()

    def teardown(self):
        for c in self.containers:
            try:
                c.delete()
            except Exception as exc:
                log(f"delete {c.id[:12]}: {exc}")
        if self.fake:
            self.fake.cleanup()

    def configs(self):
        cs = [NoAgent(), Ecsguard(self.fake.base_url)]
        if self.args.ecsguard_alt:
            cs.append(Ecsguard(self.fake.base_url, binary=self.args.ecsguard_alt,
                               name="ecsguard-alt"))
        if self.args.peers in ("", "none"):
            return cs
        peers = self.args.peers.split(",")
        if "floor" in peers:
            floor_bin = os.path.join(os.environ.get("ECSGUARD_BUILD_DIR", ""), "ecsguard_floor")
            if not os.access(floor_bin, os.X_OK):
                raise BenchError(f"--peers floor: no {floor_bin} (bench/run.sh builds it)")
            cs.append(Floor(floor_bin))
        if "bpftrace" in self.args.peers and shutil.which("bpftrace"):
            cs.append(Bpftrace())
        if "auditd" in self.args.peers and shutil.which("auditd"):
            cs.append(Auditd())
        return cs

    def wait_quiet(self, own):
        """Waits (up to --quiet-timeout) until no tracing program but ours is loaded: another
        agent or tracer on the machine slows every configuration, "none" included."""
        deadline = time.monotonic() + self.args.quiet_timeout
        foreign = foreign_tracers(own)
        if foreign:
            log(f"waiting for foreign BPF tracers to go: {' '.join(foreign[:6])}...")
        while foreign and time.monotonic() < deadline:
            time.sleep(1)
            foreign = foreign_tracers(own)
        if foreign:
            log(f"measuring with {len(foreign)} foreign tracing programs loaded (noted)")
        return foreign

    def overhead(self):
        configs = self.configs()
        wl = [w for w in self.env.workloads()
              if not self.args.workloads or w[0] in self.args.workloads.split(",")]
        samples = {}  # (workload, where, config) -> [ns]
        cpu_samples = {}  # the same, thread CPU time per op (egprobe loops only)
        bpf = {}
        bpf_ops = {}  # (config, workload, where) -> [BPF program ns per op, one per stats round]
        agent_ops = {}  # (workload, where) -> [agent CPU ns per op, one per ecsguard round]
        ecs_cpu = []
        log(f"warm-up: every workload once, no agent")
        for name, where, fn, _ in wl:
            fn()
        # kernel.bpf_stats_enabled adds two clock reads around every program run (~100 ns per
        # run on this VM's kvm-clock, measured with the floor on the sethostname loop): timed
        # rounds run without it, and --stats-rounds more rounds (1), untimed and without "none",
        # collect the per-program costs.
        stats_rounds = self.args.stats_rounds if self.args.bpf_stats else 0
        for rnd in range(self.args.rounds + stats_rounds):
            timed = rnd < self.args.rounds
            order = [c for c in configs if timed or c.name != "none"]
            random.shuffle(order)
            set_bpf_stats(not timed)
            if timed:
                log(f"round {rnd + 1}/{self.args.rounds}: {' '.join(c.name for c in order)}")
            else:
                log(f"per-program cost round (bpf_stats on, not timed): "
                    f"{' '.join(c.name for c in order)}")
            for cfg in order:
                self.wait_quiet(set())
                before = set(bpf_progs())
                cfg.start()
                own = set(bpf_progs()) - before  # programs this configuration loaded
                # The floor is only a floor if it attaches one program where the agent does.
                self.results["meta"].setdefault("attachments", {})[cfg.name] = \
                    sum(1 for p in link_prog_ids() if p in own)
                time.sleep(self.args.settle)  # start-up work of the agent/tracer is not measured
                foreign = self.wait_quiet(own)
                if foreign:
                    self.results["meta"].setdefault("foreign_tracers", []).append(
                        {"round": rnd + 1, "config": cfg.name, "programs": foreign})
                try:
                    if cfg.name == "ecsguard" and timed:
                        cpu0 = cpu_seconds(cfg.pid())
                        h0 = kernel_totals(cfg.health())
                        t0 = time.monotonic()
                    for name, where, fn, ops in wl:
                        b = bpf_prog_stats(own) if not timed else {}
                        agent_timed = cfg.name == "ecsguard" and timed
                        a0 = agent_cpu_ns(cfg.pid()) if agent_timed else 0
                        v, cpu = fn()
                        if agent_timed:
                            agent_ops.setdefault((name, where), []).append(
                                (agent_cpu_ns(cfg.pid()) - a0) / ops)
                        if not timed:
                            d = bpf_stats_delta(b, bpf_prog_stats(own))
                            for prog, st in d.items():
                                bpf.setdefault((cfg.name, name, where, prog), []).append(st)
                            bpf_ops.setdefault((cfg.name, name, where), []).append(
                                sum(st["runs"] * st["ns_per_run"] for st in d.values()) / ops)
                            continue
                        samples.setdefault((name, where, cfg.name), []).append(v)
                        if cpu is not None:
                            cpu_samples.setdefault((name, where, cfg.name), []).append(cpu)
                    if cfg.name == "ecsguard" and timed:
                        time.sleep(1.5)  # one more health write after the last workload
                        cpu1 = cpu_seconds(cfg.pid())
                        h1 = kernel_totals(cfg.health())
                        ecs_cpu.append({
                            "cpu_s": cpu1 - cpu0, "wall_s": time.monotonic() - t0,
                            "seen": h1[0] - h0[0], "sent": h1[1] - h0[1],
                            "dropped": h1[2] - h0[2],
                            "vmrss_kb": int(proc_status(cfg.pid())["VmRSS"].split()[0]),
                            "vmhwm_kb": int(proc_status(cfg.pid())["VmHWM"].split()[0])})
                finally:
                    cfg.stop()
        ov = {}
        for (name, where, cfg), vals in samples.items():
            ov.setdefault(f"{name}|{where}", {})[cfg] = {
                "min": min(vals), "median": statistics.median(vals), "samples": vals}
            cvals = cpu_samples.get((name, where, cfg))
            if cvals and len(cvals) == len(vals):
                ov[f"{name}|{where}"][cfg]["cpu"] = {
                    "min": min(cvals), "median": statistics.median(cvals), "samples": cvals}
        self.results["overhead"] = ov
        agg = {}
        for (cfg, name, where, prog), sts in bpf.items():
            runs = sum(s["runs"] for s in sts)
            ns = sum(s["runs"] * s["ns_per_run"] for s in sts)
            per_round = [s["ns_per_run"] for s in sts if s["runs"]]
            agg[f"{cfg}|{name}|{where}|{prog}"] = {"runs_per_round": runs / len(sts),
                                                  "ns_per_run": ns / runs,
                                                  "min_ns_per_run": min(per_round or [0])}
        self.results["bpf"] = agg
        # Cost accounting, which the VM's wall-clock noise does not move much: what the programs
        # and the agent spent per operation, next to what the operation costs with no agent.
        acct = {}
        for (name, where), vals in agent_ops.items():
            row = ov.get(f"{name}|{where}", {})
            if "none" not in row:
                continue
            e = {"none_ns_per_op": row["none"]["median"],
                 "agent_cpu_ns_per_op": statistics.median(vals),
                 "agent_cpu_ns_per_op_samples": vals}
            for cfg in ("ecsguard", "floor", "bpftrace"):
                b = bpf_ops.get((cfg, name, where))
                if b:
                    e[f"{cfg}_bpf_ns_per_op"] = statistics.median(b)
            acct[f"{name}|{where}"] = e
        self.results["accounted"] = acct
        self.results["agent"]["overhead_rounds"] = ecs_cpu
        for cfg in configs:
            if isinstance(cfg, Floor):
                self.results["meta"]["floor_hook_runs_per_round"] = cfg.counts

    # -- agent cost --

    def startup(self):
        times = []
        for _ in range(self.args.rounds):
            ready = os.path.join(WORK, "ready")
            if os.path.exists(ready):
                os.unlink(ready)
            harness.host_prep()
            t0 = time.monotonic()
            p = subprocess.Popen([os.environ["ECSGUARD_BIN"], "run", "--ready-file", ready,
                                  "--introspection-url", self.fake.base_url],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                while not os.path.exists(ready):
                    if p.poll() is not None:
                        raise BenchError("agent exited before ready")
                    if time.monotonic() - t0 > 30:
                        raise BenchError("agent not ready in 30 s")
                    time.sleep(0.001)
                times.append(time.monotonic() - t0)
            finally:
                p.terminate()
                p.wait(timeout=15)
        self.results["agent"]["startup_s"] = {"min": min(times),
                                              "median": statistics.median(times),
                                              "max": max(times)}

    def latency(self):
        """Each iteration runs a fresh copy of egprobe (new inode: a new dedup key and a new
        finding) whose sethostname is the event; latency = line arrival - eventFirstSeen."""
        n = self.args.latency_samples
        cfg = Ecsguard(self.fake.base_url)
        cfg.start()
        try:
            script = ("i=0; while [ $i -lt %d ]; do cp /bin/egprobe /tmp/lat$i; "
                      "/tmp/lat$i sethostname lat$i >/dev/null; "
                      "sleep 0.05; i=$((i+1)); done" % n)
            self.env.priv.exec(["/bin/sh", "-c", script], timeout=600)
            deadline = time.monotonic() + 15
            lat = []
            while time.monotonic() < deadline:
                lat = []
                ids = set()
                for t, f in list(cfg.agent.arrivals):
                    if f.get("id") in ids:
                        continue  # a later update of the same finding
                    ids.add(f.get("id"))
                    p = f.get("service", {}).get("runtimeDetails", {}).get("process", {})
                    path = p.get("executablePath", "")
                    if f.get("type", "").endswith("SysAdminCapabilityUsed") or "/tmp/lat" in path:
                        first = f["service"]["eventFirstSeen"]
                        ts = calendar.timegm(time.strptime(first[:19], "%Y-%m-%dT%H:%M:%S")) \
                            + float("0" + first[19:].rstrip("Z"))
                        lat.append((t - ts) * 1000)
                if len(lat) >= n:
                    break
                time.sleep(0.5)
        finally:
            cfg.stop()
            self.env.priv.exec(["/bin/sh", "-c", "rm -f /tmp/lat*"], check=False)
        lat.sort()
        if not lat:
            raise BenchError("no latency samples")
        self.results["agent"]["latency_ms"] = {
            "n": len(lat), "p50": lat[len(lat) // 2],
            "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))], "max": lat[-1]}

    def event_rate(self):
        """Sustained fork+exec+exit event rate from containers, then the agent SIGSTOPped
        under the same load so the ring buffer overflows: drops must be counted, and the
        agent must carry on after SIGCONT."""
        cfg = Ecsguard(self.fake.base_url)
        cfg.start()
        res = {}
        try:
            pid = cfg.pid()
            time.sleep(1.2)
            h0, c0, t0 = kernel_totals(cfg.health()), cpu_seconds(pid), time.monotonic()
            dur = self.args.rate_seconds
            procs = [self.env.app.spawn(["/bin/sh", "-c", "while true; do /bin/egprobe "
                                         "spin-fork 1000 >/dev/null; done"]) for _ in range(2)]
            time.sleep(dur)
            time.sleep(1.2)
            h1, c1, t1 = kernel_totals(cfg.health()), cpu_seconds(pid), time.monotonic()
            res["sustained"] = {"seconds": t1 - t0, "sent_per_s": (h1[1] - h0[1]) / (t1 - t0),
                                "seen_per_s": (h1[0] - h0[0]) / (t1 - t0),
                                "dropped": h1[2] - h0[2], "agent_cpu_s": c1 - c0}
            os.kill(pid, signal.SIGSTOP)
            stop_t = time.monotonic()
            time.sleep(self.args.stall_seconds)
            os.kill(pid, signal.SIGCONT)
            stall = time.monotonic() - stop_t
            c2 = cpu_seconds(pid)
            time.sleep(2.5)
            for p in procs:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.env.app.exec(["/bin/sh", "-c", "pkill -f spin-fork; true"], check=False)
            time.sleep(1.5)
            h2 = kernel_totals(cfg.health())
            alive = cfg.agent.running()
            res["stalled"] = {"stall_s": stall, "sent": h2[1] - h1[1], "dropped": h2[2] - h1[2],
                              "agent_alive_after": alive, "drain_cpu_s": cpu_seconds(pid) - c2}
            st = proc_status(pid)
            res["vmrss_kb"] = int(st["VmRSS"].split()[0])
            res["vmhwm_kb"] = int(st["VmHWM"].split()[0])
        finally:
            rc = cfg.agent.stop() if cfg.agent else None
            cfg.agent = None
            res["exit_code"] = rc
        self.results["agent"]["event_rate"] = res

    def pipeline_callgrind(self, bench_bin, passes=2):
        """Instructions, counted by callgrind, over exactly `passes` passes of the synthetic
        records (the function measured_run; set-up and warm-up excluded), split the way the
        agent's work splits: per event (eg_ringbuf_dispatch, inclusive: decode, tables,
        detectors, aggregation) and per finding line written (eg_emit_finding, inclusive: ECS
        task, policy, JSON). Wall-clock noise cannot move either; how many lines a run writes
        can (re-emission follows the report interval in wall time), hence the split. None when
        valgrind is not installed."""
        if not shutil.which("valgrind"):
            log("callgrind: valgrind not installed, instruction counts skipped")
            return None
        out = os.path.join(WORK, "callgrind.out")
        r = subprocess.run(["valgrind", "--tool=callgrind", "--toggle-collect=measured_run",
                            "--callgrind-out-file=" + out, bench_bin, "--passes", str(passes)],
                           capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            raise BenchError("callgrind pipeline: %s" % r.stderr.strip()[-500:])
        run = json.loads(r.stdout.strip().splitlines()[-1])

        def costs(inclusive):
            text = subprocess.run(["callgrind_annotate", "--inclusive=" + inclusive,
                                   "--threshold=100", out],
                                  capture_output=True, text=True, timeout=120).stdout
            rows = []
            for line in text.splitlines():
                m = re.match(r"\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(?:.*:)?([^:\s]+)\s", line)
                if m:
                    rows.append((m.group(3), int(m.group(1).replace(",", "")),
                                 float(m.group(2))))
            return rows

        incl = {}
        for name, ir, _ in costs("yes"):
            incl.setdefault(name, ir)
        total = incl.get("measured_run")
        dispatch, emit = incl.get("eg_ringbuf_dispatch"), incl.get("eg_emit_finding")
        if not total or dispatch is None or not run.get("events"):
            raise BenchError("callgrind pipeline: measured_run/eg_ringbuf_dispatch not in %s"
                             % out)
        lines = run.get("findingLinesTimed") or 0
        res = {"passes": passes, "events": run["events"], "instructions": total,
               "instructions_per_event_dispatch": dispatch / run["events"],
               "finding_lines": lines,
               "instructions_per_finding_line": (emit or 0) / lines if lines else None,
               "top_self": [{"function": n, "share": sh} for n, _, sh in costs("no")
                            if n not in ("PROGRAM", "TOTALS")][:10]}
        log("callgrind: %.0f instructions per event (dispatch), %s per finding line"
            % (res["instructions_per_event_dispatch"],
               "%.0f" % res["instructions_per_finding_line"] if lines else "n/a"))
        return res

    def pipeline(self):
        """The userspace pipeline's ceiling. In process: ecsguard_pipeline_bench (synthetic
        records through the agent's handlers, detectors, aggregation, policy and JSON on one
        pinned core). End to end: ecsguard_flood writes synthetic records for the `app`
        container into the running agent's ring buffer from a getppid() hook, at 100k/s for
        --flood-seconds (no drop allowed), then at each --flood-rates step: the first rate
        with drops, and past it drops counted (kernel and agent counters), the agent alive,
        exit 0 on SIGTERM."""
        build = os.environ.get("ECSGUARD_BUILD_DIR", "")
        bench_bin = os.path.join(build, "ecsguard_pipeline_bench")
        flood_bin = os.path.join(build, "ecsguard_flood")
        ncpu = os.cpu_count() or 1
        agent_cpu, flood_cpu = ncpu - 1, 0 if ncpu > 1 else None
        res = {"agent_cpu": agent_cpu, "flood_cpu": flood_cpu}
        self.results["agent"]["pipeline"] = res
        r = subprocess.run([bench_bin, "--seconds", str(self.args.pipeline_seconds),
                            "--cpu", str(agent_cpu)], capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise BenchError("pipeline bench: %s" % r.stderr.strip())
        res["in_process"] = json.loads(r.stdout.strip().splitlines()[-1])
        res["callgrind"] = self.pipeline_callgrind(bench_bin)

        probe = json.loads(subprocess.run([os.environ["ECSGUARD_BIN"], "probe"],
                                          capture_output=True, text=True, timeout=60).stdout)
        mount = probe["cgroup"]["mountPoint"]
        cgroup_id = os.stat(mount + self.env.app.cgroup_path).st_ino
        res["cgroup_id"] = cgroup_id
        cfg = Ecsguard(self.fake.base_url)
        cfg.start()
        steps = res["flood"] = []
        try:
            pid = cfg.pid()
            os.sched_setaffinity(pid, {agent_cpu})  # the event loop thread: one core
            time.sleep(1.2)
            rates = [100000] + [int(x) for x in self.args.flood_rates.split(",") if x]

            def step(rate, secs, stop_for=0.0):
                h0, c0 = cfg.health(), cpu_seconds(pid)
                cmd = [flood_bin, "--agent-pid", str(pid), "--cgroup-id", str(cgroup_id),
                       "--rate", str(rate), "--seconds", str(secs)]
                if flood_cpu is not None:
                    cmd += ["--cpu", str(flood_cpu)]
                fp = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True)
                stopped = 0.0
                if stop_for:
                    # Past capacity on purpose: nothing drains the ring while the agent is
                    # stopped, as under a CPU starvation of the agent.
                    time.sleep(min(1.0, secs / 4))
                    os.kill(pid, signal.SIGSTOP)
                    t = time.monotonic()
                    time.sleep(stop_for)
                    os.kill(pid, signal.SIGCONT)
                    stopped = time.monotonic() - t
                out, err = fp.communicate(timeout=secs + 60)
                if fp.returncode != 0:
                    raise BenchError("flood at %d/s: %s" % (rate, err.strip()))
                flood = json.loads(out.strip().splitlines()[-1])
                time.sleep(2.5)  # drained (10 ms timer) and a fresh health record (1 s)
                h1, c1 = cfg.health(), cpu_seconds(pid)
                k0, k1 = kernel_totals(h0), kernel_totals(h1)
                rb0, rb1 = h0.get("ringBuffer", {}), h1.get("ringBuffer", {})
                st = {"target_rate": rate, "seconds": flood["seconds"],
                      "achieved_rate": flood["achievedRate"], "flood": flood,
                      "agent_stopped_s": stopped,
                      "kernel_sent": k1[1] - k0[1], "kernel_dropped": k1[2] - k0[2],
                      "flood_dropped": flood["dropped"],
                      "agent_records": rb1.get("records", 0) - rb0.get("records", 0),
                      "agent_malformed": rb1.get("malformed", 0) - rb0.get("malformed", 0),
                      "agent_dropped_total": k1[2],
                      "agent_health_dropped_total": h1.get("kernelEventsDropped"),
                      "agent_cpu_s": c1 - c0,
                      "agent_cpu_util": (c1 - c0) / flood["seconds"],
                      "agent_alive": cfg.agent.running(),
                      "vmrss_kb": int(proc_status(pid)["VmRSS"].split()[0])}
                log("flood %d/s%s: achieved %.0f/s, kernel sent %d dropped %d, agent read %d, "
                    "agent CPU %.0f%%" % (rate, " (agent stopped %.1f s)" % stopped
                                          if stopped else "", st["achieved_rate"],
                                          st["kernel_sent"], st["kernel_dropped"],
                                          st["agent_records"], 100 * st["agent_cpu_util"]))
                return st

            for i, rate in enumerate(rates):
                secs = self.args.flood_seconds if i == 0 else self.args.flood_step_seconds
                steps.append(step(rate, secs))
                if not steps[-1]["agent_alive"]:
                    break
                # One step past the first with drops shows what happens beyond it; then stop.
                if sum(1 for s in steps if s["kernel_dropped"]) >= 2:
                    break
            first = next((s for s in steps if s["kernel_dropped"]), None)
            res["first_drop_rate"] = first["target_rate"] if first else None
            res["max_rate_without_drops"] = max(
                (s["achieved_rate"] for s in steps if not s["kernel_dropped"]), default=None)
            res["drops_at_100k"] = steps[0]["kernel_dropped"]
            # What one core could take: events per agent CPU second at the busiest clean step.
            busiest = max((s for s in steps if not s["kernel_dropped"]),
                          key=lambda s: s["achieved_rate"], default=None)
            if busiest and busiest["agent_cpu_util"] > 0:
                res["est_capacity_per_core"] = busiest["achieved_rate"] / busiest["agent_cpu_util"]
            if cfg.agent.running() and self.args.flood_stop_seconds > 0:
                # When the producer cannot outrun the agent, overload it by stopping the agent.
                res["overload"] = step(self.args.flood_overload_rate,
                                       self.args.flood_step_seconds,
                                       stop_for=self.args.flood_stop_seconds)
                # and the agent carries on at 100k/s afterwards, without drops
                res["after_overload"] = step(100000, self.args.flood_step_seconds)
            res["agent_log_drop_lines"] = sum(
                1 for line in cfg.agent.logs() if "ring buffer full" in line)
        finally:
            rc = cfg.agent.stop() if cfg.agent else None
            cfg.agent = None
            res["exit_code"] = rc

    def many_containers(self):
        n = self.args.containers
        if n <= 0:
            return
        cfg = Ecsguard(self.fake.base_url)
        cfg.start()
        started = []
        t0 = time.monotonic()
        res = {"requested": n}
        try:
            pid = cfg.pid()
            base = int(proc_status(pid)["VmRSS"].split()[0])
            task = harness.new_task_id()
            for i in range(n):
                if i % 10 == 0:
                    task = harness.new_task_id()
                c = harness.Container(layout="ecs-v1", name=f"c{i}", family="many",
                                      task_id=task, rootfs="overlay")
                started.append(c)
                c.start()
                if i % 10 == 9 or i == n - 1:
                    self.fake.add_raw_task(harness.task_response(started[i - i % 10:i + 1]))
                if time.monotonic() - t0 > self.args.containers_budget:
                    log(f"container budget reached after {i + 1}")
                    break
            res["started"] = len(started)
            res["start_seconds"] = time.monotonic() - t0
            # each container runs one short process so the agent meets every container
            for c in started:
                c.exec(["/bin/true"], check=False)
            time.sleep(3)
            st = proc_status(pid)
            res.update({"vmrss_kb_before": base, "vmrss_kb": int(st["VmRSS"].split()[0]),
                        "vmhwm_kb": int(st["VmHWM"].split()[0])})
        finally:
            cfg.stop()
            t1 = time.monotonic()
            for c in started:
                try:
                    c.delete()
                except Exception as exc:
                    log(f"delete: {exc}")
            res["delete_seconds"] = time.monotonic() - t1
        self.results["agent"]["many_containers"] = res

    def save(self):
        os.makedirs(os.path.dirname(self.args.out), exist_ok=True)
        with open(self.args.out, "w") as f:
            json.dump(self.results, f, indent=1)

    def run(self):
        self.setup()
        try:
            # The overhead phase switches bpf_stats per round; leave the machine as it was.
            with open("/proc/sys/kernel/bpf_stats_enabled") as f:
                stats_before = f.read().strip()
            try:
                if "overhead" in self.args.phases:
                    self.overhead()
            finally:
                set_bpf_stats(stats_before == "1")
            self.save()
            for phase, fn in (("startup", self.startup), ("latency", self.latency),
                              ("rate", self.event_rate), ("pipeline", self.pipeline),
                              ("many", self.many_containers)):
                if phase not in self.args.phases:
                    continue
                log(f"phase {phase}")
                try:
                    fn()
                except Exception as exc:  # record it, keep the other phases' results
                    log(f"phase {phase} failed: {exc!r}")
                    self.results["meta"].setdefault("phase_errors", {})[phase] = repr(exc)
                self.save()
        finally:
            self.teardown()


# ---- report ---------------------------------------------------------------------------------


def report_columns(ov):
    """Configurations to show, in a fixed order: ecsguard always, the others when this results
    file measured them (older files have no floor, A/B runs usually no auditd)."""
    present = {c for row in ov.values() for c in row}
    return ["ecsguard"] + [c for c in ("ecsguard-alt", "floor", "bpftrace", "auditd")
                           if c in present]


def floor_diff(row, where, field=None):
    """ecsguard - floor, median ns per op (per job for the mix), container rows only: the
    agent's own cost with the kernel's cost of BPF programs at the same hooks taken out."""
    if where != "container" or "ecsguard" not in row or "floor" not in row:
        return ""
    e, f = row["ecsguard"], row["floor"]
    if field:
        if field not in e or field not in f:
            return ""
        e, f = e[field], f[field]
    return "%+d" % round(e["median"] - f["median"])


def report_accounted(acct):
    """Per operation: BPF program time (untimed bpf_stats rounds, medians) and the agent's CPU
    time (all threads, timed ecsguard rounds), as a share of the operation with no agent."""
    if not acct:
        return []
    lines = ["", "cost accounting per operation (BPF: program run time from bpf_stats, which "
             "includes one clock read per run; agent: CPU time of all its threads, charged in "
             "full although it runs beside the workload):",
             "%-20s %-9s %12s %11s %11s %11s %10s %10s %13s" % (
                 "workload", "where", "none ns/op", "ecs bpf ns", "floor bpf", "agent ns",
                 "accounted", "over floor", "bpftrace bpf")]
    for key in sorted(acct, key=lambda k: (list(TARGETS).index(k.split("|")[0])
                                           if k.split("|")[0] in TARGETS else 99, k)):
        name, where = key.split("|")
        e = acct[key]
        none = e["none_ns_per_op"]
        ecs = e.get("ecsguard_bpf_ns_per_op")
        flo = e.get("floor_bpf_ns_per_op")
        agent = e["agent_cpu_ns_per_op"]
        total = "%+.2f%%" % (100 * ((ecs or 0) + agent) / none) if ecs is not None else "-"
        over = ("%+.2f%%" % (100 * (ecs - flo + agent) / none)
                if ecs is not None and flo is not None else "-")
        bt = e.get("bpftrace_bpf_ns_per_op")
        lines.append("%-20s %-9s %12.0f %11s %11s %11.0f %10s %10s %13s" % (
            name, where, none, "%.0f" % ecs if ecs is not None else "-",
            "%.0f" % flo if flo is not None else "-", agent, total, over,
            "%.0f" % bt if bt is not None else "-"))
    return lines


def report(res):
    ov = res["overhead"]
    lines = []
    cfgs = report_columns(ov)
    with_floor = "floor" in cfgs
    head = "%-20s %-9s %12s   " + " ".join(["%-17s"] * len(cfgs))
    if with_floor:
        head += " %13s"
    diff_head = ("ecs-floor ns",) if with_floor else ()
    lines.append((head + " %s") % ("workload", "where", "none ns/op",
                                   *["%s min/med" % c for c in cfgs], *diff_head, "target"))
    for key in sorted(ov, key=lambda k: (list(TARGETS).index(k.split("|")[0])
                                         if k.split("|")[0] in TARGETS else 99, k)):
        name, where = key.split("|")
        row = ov[key]
        base = row.get("none")
        if not base:
            continue
        cells = []
        for c in cfgs:
            if c in row:
                cells.append("%5.2fx / %5.2fx" % (row[c]["min"] / base["min"],
                                                  row[c]["median"] / base["median"]))
            else:
                cells.append("%-15s" % "-")
        if with_floor:
            cells.append(floor_diff(row, where))
        tgt = ""
        if where == "container" and name in TARGETS and "ecsguard" in row:
            r = row["ecsguard"]["median"] / base["median"]
            tgt = "<= %.2fx %s" % (TARGETS[name], "met" if r <= TARGETS[name] else "MISSED")
        unit = "ns/job" if name == "mix-build" else ""
        lines.append((head + " %s%s") % (name, where, base["median"], *cells, tgt,
                                         (" " + unit) if unit else ""))
    if with_floor:
        lines.append("(floor: counter-only programs at ecsguard's hooks, bench/floor.bpf.c; "
                     "ecs-floor: median ecsguard - floor, ns/op)")
        meta = res.get("meta", {})
        # Older results counted attached or loaded programs, not attachments.
        what = next((k for k in ("attachments", "programs_attached", "programs_loaded")
                     if k in meta), "attachments")
        counts = meta.get(what, {})
        if counts.get("floor") and counts.get("ecsguard") and \
                counts["floor"] != counts["ecsguard"]:
            lines.append("NOTE: %s: floor %d, ecsguard %d: bench/floor.bpf.c no longer "
                         "mirrors the agent's hooks (or another tracer started meanwhile)"
                         % (what.replace("_", " "), counts["floor"], counts["ecsguard"]))
    cpu_keys = [k for k in sorted(ov) if "cpu" in ov[k].get("none", {})]
    if cpu_keys:
        lines.append("")
        lines.append("the same loops in thread CPU time per op (the syscalls' own cost, BPF "
                     "programs included; preemption and hypervisor steal excluded):")
        lines.append(head % ("workload", "where", "none cpu ns",
                             *["%s min/med" % c for c in cfgs], *diff_head))
        for key in cpu_keys:
            name, where = key.split("|")
            row = ov[key]
            base = row["none"]["cpu"]
            cells = []
            for c in cfgs:
                if "cpu" in row.get(c, {}):
                    cells.append("%5.2fx / %5.2fx" % (row[c]["cpu"]["min"] / base["min"],
                                                      row[c]["cpu"]["median"] / base["median"]))
                else:
                    cells.append("%-15s" % "-")
            if with_floor:
                cells.append(floor_diff(row, where, "cpu"))
            lines.append((head % (name, where, base["median"], *cells)).rstrip())
    lines.extend(report_accounted(res.get("accounted", {})))
    a = res.get("agent", {})
    rounds = a.get("overhead_rounds", [])
    if rounds:
        cpu = sum(r["cpu_s"] for r in rounds)
        seen = sum(r["seen"] for r in rounds)
        sent = sum(r["sent"] for r in rounds)
        lines.append("")
        lines.append("agent CPU during the ecsguard rounds: %.3f s for %d kernel events seen "
                     "(%d sent to userspace): %.3f CPU s per million seen, %.1f per million "
                     "sent; drops %d" % (cpu, seen, sent, cpu / max(seen, 1) * 1e6,
                                         cpu / max(sent, 1) * 1e6,
                                         sum(r["dropped"] for r in rounds)))
        lines.append("agent RSS after a round: %d KiB (peak %d KiB)" % (
            max(r["vmrss_kb"] for r in rounds), max(r["vmhwm_kb"] for r in rounds)))
    if "startup_s" in a:
        s = a["startup_s"]
        lines.append("start-up to ready: min %.0f ms, median %.0f ms, max %.0f ms" % (
            s["min"] * 1e3, s["median"] * 1e3, s["max"] * 1e3))
    if "latency_ms" in a:
        s = a["latency_ms"]
        lines.append("finding latency (syscall -> stdout line), n=%d: p50 %.0f ms, p99 %.0f ms, "
                     "max %.0f ms" % (s["n"], s["p50"], s["p99"], s["max"]))
    if "event_rate" in a:
        e = a["event_rate"]
        s = e["sustained"]
        lines.append("sustained: %.0f events/s sent (%.0f seen) for %.0f s, %d dropped, agent "
                     "CPU %.2f s" % (s["sent_per_s"], s["seen_per_s"], s["seconds"],
                                     s["dropped"], s["agent_cpu_s"]))
        st = e["stalled"]
        lines.append("agent stopped %.1f s under the same load: %d sent, %d dropped (counted), "
                     "alive after: %s, exit code %s; RSS %d KiB peak %d KiB" % (
                         st["stall_s"], st["sent"], st["dropped"], st["agent_alive_after"],
                         e.get("exit_code"), e["vmrss_kb"], e["vmhwm_kb"]))
    if "pipeline" in a:
        p = a["pipeline"]
        ip = p.get("in_process")
        if ip:
            lines.append("pipeline in process (one core, cpu %d): %.0f events/s, %.0f ns/event "
                         "(%d events, %d containers; first pass, findings created: %.0f/s); "
                         "allocations per event %.3f (%s)" % (
                             ip["cpu"], ip["eventsPerSecond"], ip["nsPerEvent"], ip["events"],
                             ip["containers"], ip["firstPassEventsPerSecond"],
                             ip["allocationsPerEvent"],
                             ", ".join("%s %.2f" % (k, v["allocationsPerEvent"])
                                       for k, v in ip["mix"].items())))
        cg = p.get("callgrind")
        if cg:
            per_line = cg.get("instructions_per_finding_line")
            lines.append("pipeline under callgrind (%d events, %d passes): %.0f instructions "
                         "per event (decode to aggregation), %s per finding line written "
                         "(%d lines: task, policy, JSON); most self cost: %s" % (
                             cg["events"], cg["passes"], cg["instructions_per_event_dispatch"],
                             "%.0f" % per_line if per_line else "n/a", cg["finding_lines"],
                             ", ".join("%s %.1f%%" % (t["function"], t["share"])
                                       for t in cg["top_self"][:6])))
        for st in p.get("flood", []):
            lines.append("flood %8d/s for %4.1f s: achieved %8.0f/s, kernel sent %9d, dropped "
                         "%9d, agent read %9d, agent CPU %3.0f%%, alive %s" % (
                             st["target_rate"], st["seconds"], st["achieved_rate"],
                             st["kernel_sent"], st["kernel_dropped"], st["agent_records"],
                             100 * st["agent_cpu_util"], st["agent_alive"]))
        for name in ("overload", "after_overload"):
            st = p.get(name)
            if not st:
                continue
            lines.append("flood %8d/s for %4.1f s%s: achieved %8.0f/s, kernel sent %9d, "
                         "dropped %9d (flood's own count %d), agent read %9d, alive %s" % (
                             st["target_rate"], st["seconds"],
                             ", agent stopped %.1f s" % st["agent_stopped_s"]
                             if st["agent_stopped_s"] else " after the overload",
                             st["achieved_rate"], st["kernel_sent"], st["kernel_dropped"],
                             st["flood_dropped"], st["agent_records"], st["agent_alive"]))
        if p.get("flood"):
            lines.append("flood: drops at 100k/s %s; first rate with drops %s; max achieved "
                         "without drops %s/s; agent exit code %s" % (
                             p.get("drops_at_100k"), p.get("first_drop_rate") or "not reached",
                             "%.0f" % p["max_rate_without_drops"]
                             if p.get("max_rate_without_drops") else "-", p.get("exit_code")))
            if p.get("est_capacity_per_core"):
                lines.append("flood: agent CPU at the busiest clean step puts one core's "
                             "capacity at ~%.0f events/s (the producer, one core, is the limit "
                             "when no step dropped)" % p["est_capacity_per_core"])
    if "many_containers" in a:
        m = a["many_containers"]
        lines.append("%d containers (started in %.0f s): agent VmRSS %d KiB (before %d), "
                     "VmHWM %d KiB" % (m.get("started", 0), m.get("start_seconds", 0),
                                      m.get("vmrss_kb", 0), m.get("vmrss_kb_before", 0),
                                      m.get("vmhwm_kb", 0)))
    bpf = res.get("bpf", {})
    if bpf:
        lines.append("")
        lines.append("per-program BPF cost (kernel.bpf_stats_enabled), container workloads:")
        for k in sorted(bpf):
            cfg, name, where, prog = k.split("|")
            if where != "container":
                continue
            v = bpf[k]
            lines.append("  %-9s %-18s %-40s %9.0f runs/round %7.0f ns/run (min %.0f)" % (
                cfg, name, prog, v["runs_per_round"], v["ns_per_run"],
                v.get("min_ns_per_run", v["ns_per_run"])))
    ft = res.get("meta", {}).get("foreign_tracers")
    if ft:
        lines.append("")
        lines.append("NOTE: %d configuration runs were measured while another agent/tracer had BPF "
                     "programs attached (see meta.foreign_tracers): treat those rounds as noisy"
                     % len(ft))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply loop counts")
    ap.add_argument("--peers", default="floor,bpftrace,auditd",
                    help="configurations besides none and ecsguard: floor (counter-only "
                    "programs at the agent's hooks), bpftrace, auditd")
    ap.add_argument("--workloads", default="", help="comma-separated subset (default: all)")
    ap.add_argument("--settle", type=float, default=2.0,
                    help="seconds between starting a configuration and measuring")
    ap.add_argument("--quiet-timeout", type=float, default=90,
                    help="wait this long for other BPF tracers on the machine to go away")
    ap.add_argument("--ecsguard-alt", help="a second ecsguard binary (A/B of a change)")
    ap.add_argument("--phases", default="overhead,startup,latency,rate,pipeline,many")
    ap.add_argument("--bpf-stats", action="store_true", default=True)
    ap.add_argument("--no-bpf-stats", dest="bpf_stats", action="store_false")
    ap.add_argument("--stats-rounds", type=int, default=1,
                    help="untimed rounds with kernel.bpf_stats_enabled for per-program costs")
    ap.add_argument("--latency-samples", type=int, default=100)
    ap.add_argument("--rate-seconds", type=float, default=5)
    ap.add_argument("--stall-seconds", type=float, default=8)
    ap.add_argument("--pipeline-seconds", type=float, default=3,
                    help="timed run of the in-process pipeline benchmark")
    ap.add_argument("--flood-seconds", type=float, default=10,
                    help="end-to-end flood at 100k events/s (no drop allowed)")
    ap.add_argument("--flood-rates", default="200000,400000,800000,1600000,3200000",
                    help="then these rates, up to one step past the first with drops")
    ap.add_argument("--flood-step-seconds", type=float, default=5)
    ap.add_argument("--flood-overload-rate", type=int, default=400000,
                    help="flood rate of the overload step (the agent stopped part of it)")
    ap.add_argument("--flood-stop-seconds", type=float, default=2,
                    help="SIGSTOP the agent this long during the overload step (0: no step)")
    ap.add_argument("--containers", type=int, default=200)
    ap.add_argument("--containers-budget", type=float, default=240,
                    help="stop starting containers after this many seconds")
    ap.add_argument("--out", default=os.path.join(WORK, "results.json"))
    ap.add_argument("--report-only", help="print the table of an earlier results file")
    args = ap.parse_args()
    if args.report_only:
        with open(args.report_only) as f:
            print(report(json.load(f)))
        return 0
    # SIGTERM unwinds like ^C: every configuration's stop() (agent, floor, bpftrace, auditd)
    # and the container teardown run in their finally blocks.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    suite = Suite(args)
    try:
        suite.run()
    except Exception as exc:  # any failure of the harness itself
        audit_cleanup()
        print(f"bench: harness error: {exc}", file=sys.stderr)
        return 1
    finally:
        audit_cleanup()
    suite.results["meta"].update({"kernel": os.uname().release, "cpus": os.cpu_count(),
                             "rounds": args.rounds, "scale": args.scale,
                             "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(suite.results, f, indent=1)
    print(report(suite.results))
    print(f"\nresults: {args.out}")
    return 1 if suite.results["meta"].get("phase_errors") else 0


if __name__ == "__main__":
    sys.exit(main())
