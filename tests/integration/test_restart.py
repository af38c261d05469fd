"""The agent killed with SIGKILL while task containers run, and started again (issue 19, Faults;
docs/reliability.md): what it had found is found again without a burst of new findings (a
finding already emitted keeps its id, its count continues, nothing unchanged is re-emitted), the
killed instance leaves no BPF program, link or map behind, and a damaged state file is a warning
and a fresh start.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import harness
from agent_case import AgentCase, SYS_ADMIN_USED, context, last_by_id

HOST_PID_NS = "PrivilegeEscalation:Runtime/ContainerSharesHostPidNamespace"
ROOTFS_MODIFIED = "Persistence:Runtime/ContainerRootFilesystemModified"
NEW_BINARY = "Execution:Runtime/NewBinaryExecuted"

# A container that keeps using CAP_SYS_ADMIN, one that keeps writing the same rootfs file.
SETHOSTNAME_LOOP = ["/bin/sh", "-c",
                    "while true; do /bin/egprobe sethostname restart 3; sleep 0.3; done"]
ROOTFS_LOOP = ["/bin/sh", "-c",
               "while true; do /bin/egprobe loop-open-write /data 2; sleep 0.3; done"]


def bpf_objects_of(pid):
    """The BPF programs, maps and links a process holds, by kernel id, from its fds' fdinfo."""
    found = {"prog_id": set(), "map_id": set(), "link_id": set()}
    fd_dir = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fd_dir):
        try:
            with open(os.path.join(fd_dir, fd)) as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key in found:
                        found[key].add(int(value))
        except OSError:
            continue
    return found


def bpffs_entries():
    """Everything pinned under /sys/fs/bpf (the agent pins nothing: nothing may appear)."""
    found = set()
    for root, dirs, files in os.walk("/sys/fs/bpf"):
        found.update(os.path.join(root, n) for n in dirs + files)
    return found


def bpf_ids_alive(kind):
    """Ids of every BPF object of `kind` (prog, map, link) the kernel has now."""
    out = subprocess.run(["bpftool", "-j", kind, "show"], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    return {o["id"] for o in json.loads(out or "[]")}


class Restart(AgentCase):

    def setUp(self):
        super().setUp()
        self.state_dir = tempfile.mkdtemp(prefix="state-", dir=harness._work_dir())
        self.addCleanup(shutil.rmtree, self.state_dir, True)

    def start_agent(self, *extra, health=False):
        return super().start_agent("--state-dir", self.state_dir, *extra, health=health)

    def ours(self, agent, containers):
        ids = {c.id for c in containers}
        return [f for f in agent.findings()
                if ids & set(harness.finding_container_ids(f))]

    def test_kill9_and_restart_continues_findings_with_their_ids(self):
        admin = self.container(args=SETHOSTNAME_LOOP, caps_add=["CAP_SYS_ADMIN"], name="admin",
                               family="restart")
        hostpid = self.container(pid_mode="host", name="hostpid", family="restart")
        writer = self.container(args=ROOTFS_LOOP, name="writer", family="restart")
        everyone = (admin, hostpid, writer)
        for c in everyone:
            self.register(c)
        pinned_before = bpffs_entries()
        first = self.start_agent()
        for c in everyone:
            c.start()
        first.wait_for(harness.match(SYS_ADMIN_USED, admin), timeout=30)
        first.wait_for(harness.match(HOST_PID_NS, hostpid), timeout=30)
        first.wait_for(harness.match(ROOTFS_MODIFIED, writer), timeout=30)
        # Counts grow for a few report intervals; the state file follows within 5 s.
        time.sleep(7)
        held = bpf_objects_of(first.proc.pid)
        self.assertTrue(held["prog_id"] and held["map_id"] and held["link_id"], held)
        before = last_by_id(self.ours(first, everyone))
        by_type = {f["type"]: f for f in before.values()}
        self.assertEqual(set(by_type), {SYS_ADMIN_USED, HOST_PID_NS, ROOTFS_MODIFIED},
                         sorted(f["type"] for f in before.values()))
        first.kill9()

        # Nothing of the killed instance stays in the kernel (nothing is pinned, and every
        # program, link and map lived only through its fds). The kernel frees them
        # asynchronously (RCU): allow a moment.
        deadline = time.monotonic() + 30
        while True:
            left = {kind: held[kind + "_id"] & bpf_ids_alive(kind)
                    for kind in ("prog", "map", "link")}
            if not any(left.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(left, {"prog": set(), "map": set(), "link": set()},
                         "BPF objects of the killed agent are still loaded")
        self.assertEqual(bpffs_entries() - pinned_before, set(), "pinned by the killed agent")

        second = self.start_agent(health=True)
        # The capability finding continues: same id, a count that goes on from the last one.
        admin_before = by_type[SYS_ADMIN_USED]
        [cont] = second.wait_for(
            lambda f: harness.match(SYS_ADMIN_USED, admin)(f) and
            f["service"]["count"] > admin_before["service"]["count"], timeout=30)
        self.assertEqual(cont["id"], admin_before["id"])
        self.assertEqual(cont["service"]["eventFirstSeen"],
                         admin_before["service"]["eventFirstSeen"])
        # The rootfs finding continues too, its totals from where they were.
        rootfs_before = by_type[ROOTFS_MODIFIED]
        [rcont] = second.wait_for(
            lambda f: harness.match(ROOTFS_MODIFIED, writer)(f) and
            context(f)["writeCount"] > context(rootfs_before)["writeCount"], timeout=30)
        self.assertEqual(rcont["id"], rootfs_before["id"])
        self.assertEqual(len(context(rcont)["relatedFilePaths"]),
                         len(set(context(rcont)["relatedFilePaths"])),
                         "a path met again after the restart is listed twice")
        time.sleep(3)
        with open(second.health_file) as f:
            health = json.load(f)
        self.assertGreaterEqual(health["findingsState"]["loaded"], 3, health["findingsState"])
        self.assertEqual(health["findingsState"]["saveFailures"], 0)
        self.stop_agent()
        after = self.ours(second, everyone)
        # No new ids for anything the first instance had reported.
        self.assertEqual({f["id"] for f in after} - set(before), set(),
                         [(f["type"], f["id"]) for f in after])
        # The host-PID sharing is a state, found again by the start-up scan: not re-emitted.
        self.assertEqual([f for f in after if f["type"] == HOST_PID_NS], [])

    def test_binary_written_before_a_kill9_keeps_its_writer_after_the_restart(self):
        """A binary copied into the container's root filesystem while the first agent runs;
        the agent is killed (SIGKILL, after its five-second save) and started again; then the
        binary runs. NewBinaryExecuted names the process that wrote it and when, from the
        table of files written the first agent kept in --state-dir, not only that the overlay
        holds an unseen write (writtenWhileUnwatched)."""
        c = self.container(["/bin/egprobe", "sleep", "3600"], rootfs="overlay", name="dropper",
                           family="restart")
        self.register(c)
        first = self.start_agent()
        c.start()
        r = c.exec(["/bin/sh", "-c", "cp /bin/egprobe /bin/dropped"])
        self.assertTrue(r.ok, r)
        first.wait_for(harness.match(ROOTFS_MODIFIED, c), timeout=30)
        written_at = time.time()
        time.sleep(7)  # the table is written at most every five seconds while it changes
        first.kill9()
        self.assertTrue(os.path.exists(os.path.join(self.state_dir, "rootfs-written.state")))

        second = self.start_agent(health=True)
        r = c.exec(["/bin/sh", "-c", "/bin/dropped sleep 0"])
        self.assertTrue(r.ok, r)
        [f] = second.wait_for(harness.match(NEW_BINARY, c), timeout=30)
        ctx = context(f)
        self.assertEqual(ctx["filePath"], "/bin/dropped")
        self.assertNotIn("writtenWhileUnwatched", ctx)
        self.assertEqual(ctx["modifyingProcess"]["name"], "cp")
        self.assertLess(abs(ctx["modifiedAt"] - written_at), 5, ctx)
        time.sleep(2)
        with open(second.health_file) as fh:
            rootfs = json.load(fh)["detectors"]["rootfs"]
        self.assertGreaterEqual(rootfs["writtenStateLoaded"], 1, rootfs)
        self.assertEqual(rootfs["writtenStateRejected"], 0, rootfs)
        self.stop_agent()

    def test_damaged_state_file_is_a_warning_and_a_fresh_start(self):
        with open(os.path.join(self.state_dir, "findings.state"), "wb") as f:
            f.write(b"\x00\xffnot a state file\n{\"format\": 3")
        c = self.container(caps_add=["CAP_SYS_ADMIN"], name="app", family="restart")
        self.register(c)
        agent = self.start_agent()
        self.assertTrue(any("findings state" in l and "fresh start" in l for l in agent.logs()),
                        agent.logs()[:20])
        self.assertTrue(os.path.exists(os.path.join(self.state_dir, "findings.state.bad")))
        c.start()
        c.exec(["/bin/egprobe", "sethostname", "fresh"])
        agent.wait_for(harness.match(SYS_ADMIN_USED, c), timeout=20)
        self.stop_agent()
        # The shutdown wrote a good state again.
        with open(os.path.join(self.state_dir, "findings.state")) as f:
            header = json.loads(f.readline())
            lines = [json.loads(l) for l in f]
        self.assertEqual(header["format"], "ecsguard-findings-state")
        self.assertIn(c.id, {l["where"].get("containerId") for l in lines})

    def test_damaged_lines_are_skipped_and_the_rest_continues(self):
        c = self.container(caps_add=["CAP_SYS_ADMIN"], name="app", family="restart")
        self.register(c)
        first = self.start_agent()
        c.start()
        c.exec(["/bin/egprobe", "sethostname", "one"])
        [f1] = first.wait_for(harness.match(SYS_ADMIN_USED, c), timeout=20)
        self.stop_agent()
        path = os.path.join(self.state_dir, "findings.state")
        with open(path) as f:
            lines = f.readlines()
        # A torn line before the good one, and a cut-off line at the end.
        with open(path, "w") as f:
            f.write(lines[0] + '{"key":"x","type":"nope"}\n' + "".join(lines[1:]) + '{"key":"y')
        second = self.start_agent()
        self.assertTrue(any("damaged from line 2" in l for l in second.logs()), second.logs()[:20])
        c.exec(["/bin/egprobe", "sethostname", "two"])
        [f2] = second.wait_for(lambda f: harness.match(SYS_ADMIN_USED, c)(f) and
                               f["service"]["count"] >= 2, timeout=20)
        self.assertEqual(f2["id"], f1["id"])
        self.stop_agent()


if __name__ == "__main__":
    unittest.main()
