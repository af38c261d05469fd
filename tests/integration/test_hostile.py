"""A monitored container attacks the agent's view (issue 19, "Hostile containers"): it forges
finding text through names it chooses, poses as the ECS agent or as another task's container,
floods the agent with paths, execs and arguments, churns cgroups, and floods the ring buffer
while another container acts. Real kernel, real runc containers in ECS cgroup layouts, a fake
ECS agent. Each storm here is a short bounded version; bench/hostile.py runs the long ones and
measures the other containers' finding latency (docs/reliability.md, "Hostile containers").
"""

import datetime
import json
import os
import shutil
import subprocess
import tempfile
import signal
import threading
import time

import harness
from agent_case import (AgentCase, SYS_ADMIN_USED, additional_info, context, process,
                        task_details)
from fake_docker import FakeDocker

ROOTFS_MODIFIED = "Persistence:Runtime/ContainerRootFilesystemModified"
NEW_BINARY = "Execution:Runtime/NewBinaryExecuted"
ESCAPED = "DefenseEvasion:Runtime/ContainerCgroupEscaped"

# A whole finding line a container would like the agent to print for it.
FORGED_LINE = ('{"schemaVersion":"2.0","accountId":"123456789012","type":"Forged:Injected",'
               '"id":"forged","severity":10}')
# Latency bound for another container's finding while one floods. docs/performance.md's
# target is p99 50 ms (syscall to stdout); bench/hostile.py measures against it. Here, on two
# shared cores and in the sanitizer build, the bound only separates "arrives promptly" from
# "starved or shed".
LATENCY_BOUND_S = 1.0
# The agent's peak resident memory under any hostile container (docs/hardening.md,
# "Envelope"); a sanitizer build's shadow memory and quarantine need more.
PEAK_RSS_BOUND = 96 * 2**20
PEAK_RSS_BOUND_SANITIZED = 512 * 2**20
# The storms' size: 1 in CI (short, bounded storms), larger by hand for the issue's full scale
# (docs/reliability.md, "At full scale": 500 makes the path storm a million creates and a
# million renames, 20 the churn 3,000 containers). Timeouts grow with it.
SCALE = max(1, int(os.environ.get("ECSGUARD_HOSTILE_SCALE", "1")))


def octal(raw):
    """printf(1) format that prints exactly the bytes `raw` (ASCII-only shell text)."""
    return "".join("\\%03o" % b for b in raw)


def shell_bytes(var, raw):
    """Shell text that sets `var` to exactly `raw` (command substitution would eat trailing
    newlines: `raw` must not end in one)."""
    assert not raw.endswith(b"\n")
    return "%s=$(printf '%s'); " % (var, octal(raw))


def sanitized(raw):
    """What the agent's UTF-8 sanitizer makes of `raw`: each invalid byte one U+FFFD."""
    return raw.decode("utf-8", errors="replace")


def event_time(iso):
    return datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def read_health(agent, after=None, timeout=10):
    """The health file, once written after wall time `after` (default: now)."""
    after = time.time() if after is None else after
    deadline = time.time() + timeout
    while True:
        try:
            with open(agent.health_file) as f:
                health = json.load(f)
            if health.get("time") is None or _health_time(health) >= after:
                return health
        except (OSError, ValueError):
            health = None
        if time.time() > deadline:
            if health is None:
                raise AssertionError("no health file")
            return health
        time.sleep(0.2)


def _health_time(health):
    t = health.get("time")
    if isinstance(t, (int, float)):
        return t / 1000.0 if t > 1e11 else t
    try:
        return event_time(t)
    except (TypeError, ValueError):
        return 0


def assert_conserved(test, health):
    """Every kernel event of every kind is accounted for: sent, deduplicated, dropped or
    filtered (a shed event is a counted drop, never a silent one)."""
    for kind, k in health["kernelEvents"].items():
        test.assertEqual(k["seen"], k["sent"] + k["deduplicated"] + k["dropped"] + k["filtered"],
                         (kind, k))


def assert_within_envelope(test, health, what):
    """The agent's own use stays inside the envelope docs/hardening.md states for a hostile
    container: its peak resident memory. CPU is reported (bench/ measures its cost)."""
    usage = health["agentProcess"]
    sanitized = harness.sanitized_build()
    bound = PEAK_RSS_BOUND_SANITIZED if sanitized else PEAK_RSS_BOUND
    print("%s: agent peak RSS %.1f MiB (bound %d MiB%s), RSS now %.1f MiB, CPU %.2f s, "
          "%d threads" % (what, usage["peakRssBytes"] / 2**20, bound / 2**20,
                          ", sanitizer build" if sanitized else "", usage["rssBytes"] / 2**20,
                          usage["cpuSeconds"], usage["threads"]))
    test.assertLessEqual(usage["peakRssBytes"], bound, (what, usage))


def map_entries(health, name):
    return health["kernelMaps"][name]["entries"]


@harness.native_only("the agent's handling of hostile strings and identities; the kernel "
                     "paths are the capability and rootfs suites'")
class Forgery(AgentCase):

    def test_forged_json_in_names_stays_inside_string_fields(self):
        """A file name and an executable name holding a newline, a whole forged finding line,
        quotes, backslashes, control characters and invalid UTF-8: every stdout line is one
        valid finding, and the forged text is only ever inside a string."""
        c = self.container(caps_add=["CAP_SYS_ADMIN"], name="forger", family="forge")
        self.register(c)
        file_name = (b'/data/f\n' + FORGED_LINE.encode() + b'\n"q\\"\\\\\xff\xfe\x1b[31m\x07end')
        exe_name = b"/data/\x1b]0;x\x07\n" + FORGED_LINE.encode() + b"\xc3(\x01end"
        self.start_agent()
        c.start()
        script = (shell_bytes("f", file_name) + shell_bytes("e", exe_name) +
                  'echo x > "$f" && cp /bin/egprobe "$e" && "$e" mount-tmpfs /tmp')
        r = c.exec(["/bin/sh", "-c", script])
        self.assertTrue(r.ok, r)
        want_file, want_exe = sanitized(file_name), sanitized(exe_name)
        rootfs = self.wait_context(ROOTFS_MODIFIED, c,
                                   lambda ctx: want_file in ctx.get("relatedFilePaths", []))
        [cap] = self.agent.wait_for(harness.match(SYS_ADMIN_USED, c), timeout=20)
        [new_bin] = self.agent.wait_for(harness.match(NEW_BINARY, c), timeout=20)
        self.stop_agent()

        # One JSON object per line, every one a finding of ours; the forged line never is one.
        self.assertEqual(self.agent.stdout_other, [])
        for f in self.agent.findings():
            self.assertEqual(f.get("schemaVersion"), "2.0", f)
            self.assertNotEqual(f.get("id"), "forged", f)
            self.assertNotEqual(f.get("type"), "Forged:Injected", f)
            self.assertIn("ecsguard", f["service"]["serviceName"])
            additional_info(f)  # the nested JSON string parses too
        # The forged text is inside string fields, byte for byte where it was valid UTF-8.
        self.assertEqual(context(rootfs)["filePath"], want_file)
        self.assertIn("\ufffd\ufffd\x1b[31m\x07end", want_file)
        self.assertEqual(process(cap)["executablePath"], want_exe)
        self.assertEqual(process(cap)["name"], sanitized(exe_name[len(b"/data/"):][:15]))
        self.assertIn(FORGED_LINE, process(cap)["commandLine"])
        self.assertEqual(context(new_bin)["filePath"], want_exe)
        self.assertAttributed(cap, c)

    def test_task_container_posing_as_the_ecs_agent_is_reported(self):
        """A task container named ecs-agent, running the real ECS agent image, its process
        /agent called amazon-ecs-agen(t): it uses CAP_SYS_ADMIN and is reported; the real ECS
        agent container (outside any task, named by Docker) doing the same is not."""
        docker = FakeDocker()
        self.addCleanup(docker.stop)
        impostor = self.container(caps_add=["CAP_SYS_ADMIN"], name="ecs-agent",
                                  image="amazon/amazon-ecs-agent:latest", family="impostor")
        self.register(impostor)
        real = self.container(caps_add=["CAP_SYS_ADMIN"], layout="docker")
        docker.add(real.id, "ecs-agent", "amazon/amazon-ecs-agent:latest")
        self.start_agent("--docker-socket", docker.socket, "--health-interval", "1", health=True)
        for c in (impostor, real):
            c.start()
        # The entry point /agent, started by a name that makes its comm the ECS agent's.
        r = impostor.exec(["/bin/sh", "-c", "cp /bin/egprobe /agent && "
                           "ln -s /agent /bin/amazon-ecs-agent && "
                           "/bin/amazon-ecs-agent mount-tmpfs /tmp"])
        self.assertTrue(r.ok, r)
        self.assertTrue(real.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"]).ok)
        [f] = self.agent.wait_for(harness.match(SYS_ADMIN_USED, impostor), timeout=20)
        self.assertEqual(process(f)["executablePath"], "/agent")
        self.assertEqual(process(f)["name"], "amazon-ecs-agen")
        self.assertEqual(f["resource"]["containerDetails"]["name"], "ecs-agent")
        self.assertEqual(f["resource"]["containerDetails"]["image"],
                         "amazon/amazon-ecs-agent:latest")
        self.assertAttributed(f, impostor)
        time.sleep(2.5)
        health = read_health(self.agent)
        self.stop_agent()
        self.assertEqual(self.capability_findings(real), [])
        rules = {r["name"]: r["suppressed"] for r in health["policy"]["rules"]}
        self.assertGreaterEqual(rules["ecs-container-agent"], 1, health["policy"])

    def test_container_named_like_another_tasks_container_keeps_its_own_attribution(self):
        """Same family, revision, container name and image as another task's container, that
        container's hostname, and a nested cgroup path that reads exactly like the other
        container's (in its own cgroup namespace): attributed to its own task only."""
        victim = self.container(caps_add=["CAP_SYS_ADMIN"], name="app", image="nginx:1.27",
                                family="web", version="3")
        impostor = self.container(privileged=True, cgroupns="private", name="app",
                                  image="nginx:1.27", family="web", version="3",
                                  hostname=victim.hostname)
        self.register(victim)
        self.register(impostor)
        self.start_agent()
        victim.start()
        impostor.start()
        forged = "/ecs/%s/%s" % (victim.task_id, victim.id)
        script = ("for d in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do "
                  "[ -e \"$d/cgroup.procs\" ] && mkdir -p \"$d%s\" 2>/dev/null && "
                  "echo $$ > \"$d%s/cgroup.procs\" 2>/dev/null; done; "
                  "cat /proc/self/cgroup; /bin/egprobe mount-tmpfs /tmp" % (forged, forged))
        r = impostor.exec(["/bin/sh", "-c", script])
        self.assertTrue(r.ok, r)
        # The attempt took: inside its cgroup namespace its path is the victim's, verbatim.
        self.assertIn(":" + forged + "\n", r.stdout)
        self.assertTrue(victim.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"]).ok)
        for c in (victim, impostor):
            self.agent.wait_for(harness.match(SYS_ADMIN_USED, c), timeout=20)
        time.sleep(1.5)
        self.stop_agent()
        for c, other in ((victim, impostor), (impostor, victim)):
            found = self.capability_findings(c)
            self.assertEqual(len({f["id"] for f in found}), 1, found)
            for f in found:
                self.assertAttributed(f, c)
                self.assertNotIn(other.id, json.dumps(f))
                self.assertNotEqual(task_details(f)["arn"], harness.task_arn(other.task_id))
        self.assertEqual(self.findings_of(ESCAPED, impostor), [])

    def test_a_host_process_given_a_container_process_pid_takes_none_of_its_identity(self):
        """A container process uses CAP_SYS_ADMIN and exits while the agent reads nothing
        (stopped); the kernel then hands its pid to a host process (the test sets
        ns_last_pid, as a container that forks through the pid space would by luck). When the
        agent reads the events, /proc/<pid> is the host process: its exe, comm, cgroup and
        command line are not the actor's. The finding must name the container's process as
        the kernel saw it when it acted, and the host process stays unreported."""
        vol = tempfile.mkdtemp(prefix="eg-hostile-reuse-")
        self.addCleanup(shutil.rmtree, vol, True)
        c = self.container(caps_add=["CAP_SYS_ADMIN"], name="reuser", family="reuse",
                           volumes=[(vol, "/data")])
        self.register(c)
        self.start_agent()
        c.start()
        os.kill(self.agent.proc.pid, signal.SIGSTOP)
        host = None
        try:
            pid = c.spawn(["/bin/egprobe", "sethostname-until-exec", "reuser", "/data/go",
                           "/bin/true", "reuse-args"])
            time.sleep(0.5)  # it has set the hostname (it repeats until /data/go exists)
            with open(os.path.join(vol, "go"), "w"):
                pass
            deadline = time.time() + 10
            while os.path.exists("/proc/%d" % pid) and time.time() < deadline:
                time.sleep(0.05)
            self.assertFalse(os.path.exists("/proc/%d" % pid), "the container process lives on")
            # The host process uses a capability of its own at that pid (sethostname in a UTS
            # namespace it made), while the agent is stopped and after, until /data/go2.
            cmd = ["unshare", "--uts", harness.find_egprobe(), "sethostname-until-exec",
                   "hostside", os.path.join(vol, "go2"), "/bin/sleep", "60"]
            for _ in range(50):
                with open("/proc/sys/kernel/ns_last_pid", "w") as fh:
                    fh.write(str(pid - 1))
                host = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                if host.pid == pid:
                    break
                host.kill()
                host.wait()
                host = None
            self.assertIsNotNone(host, "the kernel never handed out pid %d again" % pid)
            self.addCleanup(host.wait)
            self.addCleanup(host.kill)
            time.sleep(0.5)
        finally:
            os.kill(self.agent.proc.pid, signal.SIGCONT)
        [f] = self.agent.wait_for(harness.match(SYS_ADMIN_USED, c), timeout=20)
        self.assertAttributed(f, c)
        p = process(f)
        self.assertEqual(p["pid"], pid)
        self.assertEqual(p["executablePath"], "/bin/egprobe")
        self.assertIn("reuse-args", p.get("commandLine", ""))
        self.assertNotIn("hostside", json.dumps(p))
        self.assertEqual(context(f)["syscall"], "sethostname")
        time.sleep(1.0)  # the host process goes on using the capability at that pid
        with open(os.path.join(vol, "go2"), "w"):
            pass
        time.sleep(1.5)
        with open("/proc/%d/cmdline" % pid) as fh:
            self.assertIn("sleep", fh.read())  # the pid is still the host process's
        self.stop_agent()
        found = self.capability_findings(c)
        self.assertEqual(len({x["id"] for x in found}), 1, found)
        self.assertNotIn("hostside", json.dumps(self.agent.findings()))


@harness.native_only("agent survival and accounting under load; the kernel paths are the "
                     "capability, rootfs and lifecycle suites'")
class Storms(AgentCase):

    def quiet_finding_latency(self, quiet, tag):
        """The quiet container runs a fresh copy of egprobe (a new executable: a new finding)
        that uses CAP_SYS_ADMIN; returns the seconds from the event to its line on stdout."""
        path = "/bin/quiet-%s" % tag
        r = quiet.exec(["/bin/sh", "-c", "cp /bin/egprobe %s && %s mount-tmpfs /tmp"
                        % (path, path)])
        self.assertTrue(r.ok, r)
        is_it = harness.match(SYS_ADMIN_USED, quiet)
        [f] = self.agent.wait_for(lambda f: is_it(f) and process(f)["executablePath"] == path,
                                  timeout=20)
        first = [x for x in self.agent.findings() if x["id"] == f["id"]][0]
        return self.agent.arrived_at(first) - event_time(
            first["service"]["eventFirstSeen"])

    def start_pair(self):
        noisy = self.container(caps_add=["CAP_SYS_ADMIN"], name="noisy", family="storm")
        quiet = self.container(caps_add=["CAP_SYS_ADMIN"], name="quiet", family="bystander")
        self.register(noisy)
        self.register(quiet)
        self.start_agent("--health-interval", "1", health=True)
        noisy.start()
        quiet.start()
        # Its task is known before the storm: the latency measured is the pipeline's, not the
        # first ECS lookup's.
        self.quiet_finding_latency(quiet, "warm")
        return noisy, quiet

    def in_background(self, fn):
        result = {}

        def run():
            try:
                result["value"] = fn()
            except Exception as exc:  # reported by the caller
                result["error"] = exc
        t = threading.Thread(target=run)
        t.start()
        return t, result

    def test_path_storm_near_path_max(self):
        """Thousands of creates and renames with distinct ~190-byte names at the bottom of a
        directory chain ~3,800 bytes deep (absolute paths near PATH_MAX): the agent survives,
        the root-filesystem finding counts every operation exactly (or the kernel counts what
        it dropped), no path is cut into another one, and the quiet container's finding made
        meanwhile arrives promptly."""
        noisy, quiet = self.start_pair()
        rootfs0 = read_health(self.agent)["detectors"]["rootfs"]
        n = 2000 * SCALE
        t, res = self.in_background(
            lambda: noisy.exec(["/bin/egprobe", "path-storm", "/data", str(n)],
                               timeout=120 * SCALE))
        time.sleep(0.5)
        latency = self.quiet_finding_latency(quiet, "storm")
        t.join(150 * SCALE)
        self.assertNotIn("error", res)
        self.assertTrue(res["value"].ok, res["value"])
        out = dict(kv.split("=") for kv in res["value"].stdout.split()[2:])
        self.assertGreater(int(out["dir_len"]), 3700, out)
        depth = int(out["depth"])
        print("path storm: %s; quiet finding latency %.0f ms" % (out, latency * 1000))
        self.assertLess(latency, LATENCY_BOUND_S)

        deadline = time.time() + 30 * SCALE
        while time.time() < deadline:
            health = read_health(self.agent)
            rootfs = self.findings_of(ROOTFS_MODIFIED, noisy)
            if rootfs and (context(rootfs[-1]).get("writeCount", 0) >= 2 * n or
                           health["kernelEventsDropped"]):
                break
            time.sleep(1)
        self.assertTrue(self.agent.running())
        health = read_health(self.agent, after=time.time() + 1)
        assert_within_envelope(self, health, "path storm")
        assert_conserved(self, health)
        ctx = context(self.findings_of(ROOTFS_MODIFIED, noisy)[-1])
        dropped = health["kernelEventsDropped"]
        rootfs1 = health["detectors"]["rootfs"]
        deep = (rootfs1.get("pathOpsInUnresolvedDirectory", 0) -
                rootfs0.get("pathOpsInUnresolvedDirectory", 0))
        unresolved = rootfs1["unresolved"] - rootfs0["unresolved"]
        ops = ctx.get("fileOperations", {})
        print("rootfs: writeCount %s %s, distinct %s; ops in unresolved directories %d, "
              "unresolved %d; kernel drops %d" % (ctx.get("writeCount"), ops,
                                                  ctx.get("distinctFileCount"), deep,
                                                  unresolved, dropped))
        # Creates are seen by inode in the kernel (named by it: counted as unresolved too).
        # The renames and the last mkdir are single names in a directory on the root mount
        # whose path is longer than the kernel keeps: in the finding under
        # "<unresolved directory>/NAME". The other mkdirs name 255 bytes, more than the kernel
        # keeps of a name: counted, not named. Anything the ring refused is a kernel drop.
        if dropped == 0:
            self.assertEqual(ops.get("create"), n, ctx)
            self.assertEqual(ops.get("rename"), n, ctx)
            mkdirs = ops.get("createDirectory", 0)
            self.assertGreaterEqual(mkdirs, 1, ctx)
            self.assertEqual(ctx["writeCount"], 2 * n + mkdirs, ctx)
            self.assertGreaterEqual(deep, n + mkdirs)
            self.assertGreaterEqual(mkdirs + unresolved - n, depth)
        else:
            self.assertGreaterEqual(ctx["writeCount"] + dropped, 2 * n, (ctx, health))
        # A path longer than the kernel keeps is never cut into another path: it is named by
        # its inode or as a name in an unresolved directory.
        for path in ctx["relatedFilePaths"]:
            self.assertRegex(path, r"^(/data/|<unresolved inode \d+:\d+>$|"
                                   r"<unresolved directory>/[^/]+$)")
        self.stop_agent()

    def test_exec_storm_argument_bomb_and_control_comm(self):
        """Four parallel fork+exec loops, an exec with ~2 MB of arguments (near ARG_MAX) of a
        binary written in the container, one with ~2 MB of environment, and a process whose
        comm is control characters: the agent survives, accounts for every event, reports the
        new binaries with the command line cut (arguments) or whole and free of the
        environment, and the quiet container's finding made meanwhile arrives promptly."""
        noisy, quiet = self.start_pair()
        forks = 400 * SCALE
        storm = ("for i in 1 2 3 4; do /bin/egprobe spin-fork %d & done; wait" % forks)
        t, res = self.in_background(lambda: noisy.exec(["/bin/sh", "-c", storm],
                                                       timeout=120 * SCALE))
        time.sleep(0.5)
        latency = self.quiet_finding_latency(quiet, "exec")
        bomb = noisy.exec(["/bin/sh", "-c", "cp /bin/busybox /data/newtrue && "
                           "/bin/egprobe exec-big-argv 1900000 /data/newtrue true"])
        self.assertTrue(bomb.ok, bomb)
        # The same size in environment variables: no part of a process's environment (where
        # secrets live) reaches a finding, and the command line is the arguments alone.
        env_bomb = noisy.exec(["/bin/sh", "-c", "cp /bin/busybox /data/envtrue && "
                               "/bin/egprobe exec-big-env 1900000 /data/envtrue true"])
        self.assertTrue(env_bomb.ok, env_bomb)
        comm = b"\x1b[2J\r\x07\t\x7fx"
        r = noisy.exec(["/bin/sh", "-c", shell_bytes("e", b"/data/" + comm) +
                        'cp /bin/egprobe "$e" && "$e" mount-tmpfs /tmp'])
        self.assertTrue(r.ok, r)
        t.join(150 * SCALE)
        self.assertNotIn("error", res)
        self.assertTrue(res["value"].ok, res["value"])
        print("exec storm: %d fork+execs; quiet finding latency %.0f ms"
              % (4 * forks, latency * 1000))
        self.assertLess(latency, LATENCY_BOUND_S)

        is_new = harness.match(NEW_BINARY, noisy)
        [nb] = self.agent.wait_for(lambda f: is_new(f) and context(f)["filePath"] ==
                                   "/data/newtrue", timeout=20)
        cmdline = process(nb)["commandLine"]
        self.assertTrue(cmdline.startswith("true AAAA"), cmdline[:40])
        self.assertTrue(cmdline.endswith("...[truncated]"), (len(cmdline), cmdline[-40:]))
        [eb] = self.agent.wait_for(lambda f: is_new(f) and context(f)["filePath"] ==
                                   "/data/envtrue", timeout=20)
        self.assertEqual(process(eb)["commandLine"], "true", process(eb))
        is_cap = harness.match(SYS_ADMIN_USED, noisy)
        [cap] = self.agent.wait_for(
            lambda f: is_cap(f) and process(f)["executablePath"] == "/data/" + comm.decode(),
            timeout=20)
        self.assertEqual(process(cap)["name"], comm.decode())
        self.assertTrue(self.agent.running())
        health = read_health(self.agent, after=time.time() + 1)
        assert_within_envelope(self, health, "exec storm")
        assert_conserved(self, health)
        self.assertGreaterEqual(health["kernelEvents"]["exec"]["seen"], 4 * forks, health)
        findings = self.stop_agent()
        self.assertEqual([f["id"] for f in findings if "EGBOMB" in json.dumps(f)], [])
        self.assertEqual(self.agent.stdout_other, [])


@harness.native_only("table bookkeeping of the agent; the kernel's lifecycle programs are the "
                     "cgroup_escape and identity suites'")
class Churn(AgentCase):

    def test_hundreds_of_short_lived_containers_leave_no_kernel_entries(self):
        """150 containers, each its own task, each using CAP_SYS_ADMIN once and exiting: every
        finding names its own container and task, and once they are gone the kernel tables
        that follow live things are back where they were. Each acts at once: the kernel
        registers a container's cgroup at its creation, so what a container does before the
        agent has read that creation is still seen."""
        self.start_agent("--health-interval", "1", health=True)
        time.sleep(1.5)
        before = read_health(self.agent)
        n, parallel = 150 * SCALE, 4
        made = []
        lock = threading.Lock()
        errors = []

        def worker(k):
            for i in range(k, n, parallel):
                c = harness.Container(["/bin/egprobe", "mount-tmpfs", "/tmp"],
                                      caps_add=["CAP_SYS_ADMIN"], name="c%d" % i,
                                      family="churn%d" % i, rootfs="shared",
                                      readonly_rootfs=True)
                with lock:  # the fake ECS agent's state file has one writer at a time
                    self.register(c)
                try:
                    r = c.run_to_completion(timeout=60)
                    if r.returncode != 0:
                        errors.append(r)
                except Exception as exc:
                    errors.append(exc)
                with lock:
                    made.append(c)
        started = time.time()
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(parallel)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300 * SCALE)
        print("churn: %d containers in %.1f s" % (len(made), time.time() - started))
        self.assertEqual(errors, [])
        self.assertEqual(len(made), n)
        by_id = {c.id: c for c in made}
        self.agent.wait_for(lambda f: f.get("type") == SYS_ADMIN_USED and
                            set(harness.finding_container_ids(f)) & set(by_id),
                            timeout=60 * SCALE, count=n)
        for f in self.agent.findings():
            ids = harness.finding_container_ids(f)
            if f.get("type") == SYS_ADMIN_USED and ids and ids[0] in by_id:
                c = by_id[ids[0]]
                if additional_info(f).get("taskResolution") == "introspection":
                    self.assertAttributed(f, c)
                self.assertEqual(additional_info(f)["taskId"], c.task_id)
        time.sleep(2)
        after = read_health(self.agent, after=time.time() + 1)
        # A home written after its short-lived process had exited (a fork tracepoint that runs
        # after the child's exit) is the agent's periodic sweep's (every 30 s): wait for it.
        deadline = time.time() + 40
        while map_entries(after, "homes") > map_entries(before, "homes") + 5 and \
                time.time() < deadline:
            time.sleep(2)
            after = read_health(self.agent, after=time.time() + 1)
        print("homes: %d entries now, %d swept" % (map_entries(after, "homes"),
                                                     after["kernelMaps"]["homes"]["swept"]))
        assert_within_envelope(self, after, "short-lived containers")
        for name, slack in (("homes", 5), ("setupMarks", 5), ("containers", 2)):
            self.assertLessEqual(map_entries(after, name), map_entries(before, name) + slack,
                                 (name, before["kernelMaps"], after["kernelMaps"]))
        self.assertEqual(after["containers"]["tableFull"], 0)
        self.assertEqual(after["findings"]["droppedTableFull"], 0)
        assert_conserved(self, after)
        self.stop_agent()

    def test_privileged_container_churning_nested_cgroups(self):
        """A privileged container creates, enters, leaves and removes 300 nested cgroups, half
        of them named like container ids (64 hex digits: the kernel registers such a cgroup at
        its creation, before the agent reads it): no escape reported (they are its own), no
        kernel or container-table entry left behind, and what it does from inside them is
        its own."""
        c = self.container(privileged=True, cgroupns="private", name="nester", family="nest")
        self.register(c)
        self.start_agent("--health-interval", "1", health=True)
        c.start()
        time.sleep(1.5)
        before = read_health(self.agent)
        # Odd rounds name the top directory like a container id: 64 hex digits.
        script = ("i=0; while [ $i -lt 300 ]; do "
                  "n=nest$i; [ $((i % 2)) -eq 1 ] && n=$(printf '%064x' $i); "
                  "for d in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do "
                  "[ -e \"$d/cgroup.procs\" ] || continue; "
                  "mkdir -p \"$d/$n/a/b\" 2>/dev/null && "
                  "echo $$ > \"$d/$n/a/b/cgroup.procs\" 2>/dev/null; done; "
                  "[ $((i % 100)) -eq 1 ] && /bin/egprobe sethostname n$i >/dev/null; "
                  "for d in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do "
                  "[ -e \"$d/cgroup.procs\" ] || continue; "
                  "echo $$ > \"$d/cgroup.procs\" 2>/dev/null; "
                  "rmdir \"$d/$n/a/b\" \"$d/$n/a\" \"$d/$n\" 2>/dev/null; done; "
                  "i=$((i+1)); done; ls -d /sys/fs/cgroup/*/nest* /sys/fs/cgroup/nest* "
                  "/sys/fs/cgroup/*/0000* /sys/fs/cgroup/0000* 2>/dev/null | wc -l")
        r = c.exec(["/bin/sh", "-c", script], timeout=120)
        self.assertTrue(r.ok, r)
        self.assertEqual(r.stdout.strip(), "0", r)
        self.agent.wait_for(harness.match(SYS_ADMIN_USED, c), timeout=20)
        time.sleep(2)
        after = read_health(self.agent, after=time.time() + 1)
        assert_within_envelope(self, after, "nested cgroups")
        for name, slack in (("homes", 3), ("setupMarks", 3), ("containers", 0)):
            self.assertLessEqual(map_entries(after, name), map_entries(before, name) + slack,
                                 (name, before["kernelMaps"], after["kernelMaps"]))
        self.assertLessEqual(after["containers"]["cgroups"], before["containers"]["cgroups"] + 3,
                             (before["containers"], after["containers"]))
        assert_conserved(self, after)
        self.stop_agent()
        self.assertEqual(self.findings_of(ESCAPED, c), [])
        for f in self.capability_findings(c):
            self.assertAttributed(f, c)


@harness.native_only("the ring buffer's admission is the same program code on every kernel")
class Fairness(AgentCase):

    def test_a_flooding_container_does_not_starve_another_containers_finding(self):
        """While the agent cannot drain (stopped, as a slow or busy agent is for a while), one
        container floods the ring buffer with distinct root-filesystem writes. Another
        container's capability use in the meantime must still reach the ring and be reported
        once the agent drains; what the flood lost is counted, and charged to the flooder."""
        noisy = self.container(name="noisy", family="flood")
        quiet = self.container(caps_add=["CAP_SYS_ADMIN"], name="quiet", family="bystander")
        self.register(noisy)
        self.register(quiet)
        self.start_agent("--ring-buffer-kib", "256", "--health-interval", "1", health=True)
        noisy.start()
        quiet.start()
        self.agent.proc.send_signal(signal.SIGSTOP)
        try:
            r = noisy.exec(["/bin/egprobe", "write-files", "/data", "4000"], timeout=120)
            self.assertTrue(r.ok, r)
            # A write (a kind the share applies to) and a capability use (one it does not).
            q = quiet.exec(["/bin/sh", "-c", "echo x > /data/quiet && "
                            "/bin/egprobe mount-tmpfs /tmp"])
            self.assertTrue(q.ok, q)
        finally:
            self.agent.proc.send_signal(signal.SIGCONT)
        [f] = self.agent.wait_for(harness.match(SYS_ADMIN_USED, quiet), timeout=20)
        self.assertAttributed(f, quiet)
        self.wait_context(ROOTFS_MODIFIED, quiet,
                          lambda ctx: "/data/quiet" in ctx.get("relatedFilePaths", []))
        health = read_health(self.agent, after=time.time() + 1)
        assert_within_envelope(self, health, "flood")
        assert_conserved(self, health)
        self.assertGreater(health["kernelEvents"]["rootfsWrite"]["dropped"], 0, health)
        shed = health["ringBuffer"]["shedByContainer"]
        self.assertEqual([s["containerId"] for s in shed], [noisy.id], shed)
        self.assertGreater(shed[0]["events"], 0, shed)
        self.stop_agent()
