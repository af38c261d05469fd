"""The CloudWatch spool on a failing disk (issue 19, Faults; docs/reliability.md): a full file
system, a read-only spool directory, a file system that answers EIO. Real containers, the real
agent, the fake CloudWatch endpoint. In each case the error is logged and counted in health, the
agent keeps running and keeps printing findings on stdout, and once the disk can hold the lines
again, every finding reaches CloudWatch: nothing that the disk could have held is lost.

The EIO file system: no device-mapper here (no `error` target), so an ext2 image on a loop
device whose capacity is cut under the mounted file system: every block past the new end
answers EIO, as a failing disk does (ext2: no journal to abort and turn it read-only instead).
"""

import errno
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import harness
from agent_case import AgentCase, SYS_ADMIN_USED
from test_cloudwatch_agent import CloudWatchFake, GROUP


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60).stdout


def fill(path):
    """Write `path` until the file system is full; returns the bytes written."""
    written = 0
    chunk = b"\0" * 4096
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                written += f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
    return written


class SpoolFaults(AgentCase):

    def setUp(self):
        super().setUp()
        self.cw = CloudWatchFake()
        self.addCleanup(self.cw.stop)
        self.root = tempfile.mkdtemp(prefix="spoolfault-", dir="/tmp")
        self.addCleanup(shutil.rmtree, self.root, True)

    def mount(self, *args, target):
        os.makedirs(target, exist_ok=True)
        run("mount", *args, target)
        self.addCleanup(subprocess.run, ["umount", "-l", target], capture_output=True)

    def start_cw_agent(self, spool, *extra):
        args = list(self.agent_args) + ["--output", "stdout", "--output", "cloudwatch:" + GROUP,
                                        "--spool-dir", spool, "--health-interval", "1"]
        self.agent = harness.Agent(introspection_url=self.fake.base_url,
                                   extra_args=args + list(extra), env=self.cw.env(),
                                   health_file=True)
        self.agent.start()
        self.agent.wait_ready()
        return self.agent

    def health(self):
        with open(self.agent.health_file) as f:
            return json.load(f)

    def wait_health(self, predicate, what, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                h = self.health()
                if predicate(h):
                    return h
            except (OSError, ValueError):
                pass
            self.assertTrue(self.agent.running(), "the agent died:\n" +
                            "\n".join(self.agent.logs()[-20:]))
            time.sleep(0.3)
        self.fail("health never showed %s: %r" % (what, self.health().get("sinks")))

    def finding_of_new_container(self, name):
        """A container that uses CAP_SYS_ADMIN once; its finding as printed on stdout."""
        c = self.container(caps_add=["CAP_SYS_ADMIN"], name=name, family="disk")
        self.register(c)
        c.start()
        c.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"])
        [f] = self.agent.wait_for(harness.match(SYS_ADMIN_USED, c), timeout=30)
        return f

    def delivered_ids(self):
        return {m.get("id") for _, m in self.cw.findings()}

    def wait_delivered(self, ids, timeout=60):
        deadline = time.monotonic() + timeout
        while not set(ids) <= self.delivered_ids():
            self.assertLess(time.monotonic(), deadline, "not delivered: %s" %
                            (set(ids) - self.delivered_ids()))
            time.sleep(0.3)

    def assertNothingDropped(self, sinks):
        for k in ("cloudwatch_dropped_queue_full", "cloudwatch_dropped_spool_full",
                  "cloudwatch_failed"):
            self.assertEqual(sinks[k], 0, (k, sinks))

    def test_full_disk_keeps_lines_in_memory_until_there_is_room(self):
        disk = os.path.join(self.root, "disk")
        self.mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", target=disk)
        spool = os.path.join(disk, "spool")
        self.cw.control("/__control/mode?m=down")  # lines wait in the spool
        self.start_cw_agent(spool)
        first = self.finding_of_new_container("before")
        self.wait_health(lambda h: h["sinks"]["cloudwatch_spooled_bytes"] > 8 and
                         h["sinks"]["cloudwatch_backlog"] >= 1, "the first line spooled")
        filler = os.path.join(disk, "filler")
        self.assertGreater(fill(filler), 0)
        second = self.finding_of_new_container("during")  # printed on stdout all the same
        h = self.wait_health(lambda h: h["sinks"]["cloudwatch_spool_errors"] >= 1,
                             "a spool error")
        self.assertTrue(any("cannot write the spool" in l and "No space left" in l
                            for l in self.agent.logs()), self.agent.logs()[-10:])
        self.assertNothingDropped(h["sinks"])
        third = self.finding_of_new_container("still-during")
        os.unlink(filler)
        self.cw.control("/__control/mode?m=ok")
        self.wait_delivered([first["id"], second["id"], third["id"]])
        h = self.wait_health(lambda h: h["sinks"]["cloudwatch_backlog"] == 0, "no backlog")
        self.assertNothingDropped(h["sinks"])
        self.stop_agent()

    def test_read_only_spool_directory(self):
        spool = os.path.join(self.root, "spool")
        os.makedirs(spool)
        self.mount("--bind", spool, target=spool)
        run("mount", "-o", "remount,bind,ro", spool)
        self.start_cw_agent(spool)  # starts: nothing has to be written to open the spool
        first = self.finding_of_new_container("ro")
        h = self.wait_health(lambda h: h["sinks"]["cloudwatch_spool_errors"] >= 1,
                             "a spool error")
        self.assertTrue(any("cannot write the spool" in l and "Read-only file system" in l
                            for l in self.agent.logs()), self.agent.logs()[-10:])
        self.assertNotIn(first["id"], self.delivered_ids())
        self.assertNothingDropped(h["sinks"])
        second = self.finding_of_new_container("ro2")
        run("mount", "-o", "remount,bind,rw", spool)
        self.wait_delivered([first["id"], second["id"]])
        h = self.wait_health(lambda h: h["sinks"]["cloudwatch_backlog"] == 0, "no backlog")
        self.assertNothingDropped(h["sinks"])
        self.stop_agent()

    def test_spool_and_state_on_a_disk_answering_eio(self):
        image = os.path.join(self.root, "disk.img")
        with open(image, "wb") as f:
            f.truncate(8 << 20)
        run("mkfs.ext2", "-q", "-b", "1024", image)
        loop = run("losetup", "-f", "--show", image).strip()
        self.addCleanup(subprocess.run, ["losetup", "-d", loop], capture_output=True)
        disk = os.path.join(self.root, "disk")
        self.mount(loop, target=disk)
        spool, state = os.path.join(disk, "spool"), os.path.join(disk, "state")
        self.start_cw_agent(spool, "--state-dir", state)
        first = self.finding_of_new_container("healthy")
        self.wait_delivered([first["id"]])
        # The disk fails: everything past its first 256 KiB answers EIO from now on.
        os.truncate(image, 256 << 10)
        run("losetup", "-c", loop)
        second = self.finding_of_new_container("failing")  # stdout goes on
        h = self.wait_health(lambda h: h["sinks"]["cloudwatch_spool_errors"] >= 1 and
                             h["findingsState"]["saveFailures"] >= 1, "spool and state errors")
        logs = self.agent.logs()
        self.assertTrue(any("cannot write the spool" in l and "Input/output error" in l
                            for l in logs), logs[-10:])
        self.assertTrue(any("cannot write the findings state" in l for l in logs), logs[-10:])
        self.assertEqual(h["findingsState"]["lastError"], "Input/output error")
        third = self.finding_of_new_container("still-failing")
        self.assertTrue(self.agent.running())
        # The lines wait in memory, counted as backlog; none is dropped while they fit.
        h = self.wait_health(lambda h: h["sinks"]["cloudwatch_backlog"] >= 2, "a backlog")
        self.assertNothingDropped(h["sinks"])
        self.assertEqual({second["id"], third["id"]} & self.delivered_ids(), set())
        # Stopping: the shutdown spends its time trying, then says what it could not keep.
        code = self.agent.stop(timeout=30, wait_exit=True)
        self.assertEqual(code, 0, self.agent.logs()[-20:])
        self.assertTrue(any("could not be written to the spool before exit" in l
                            for l in self.agent.logs()), self.agent.logs()[-10:])


if __name__ == "__main__":
    unittest.main()
