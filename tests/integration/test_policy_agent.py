"""Policy in the running agent, with real containers: allow rules per task family, severity
overrides, the in-kernel watched-capability set, SIGHUP reloads (good and broken)."""

import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

import harness
from agent_case import AgentCase, BPF_USED, NET_ADMIN_USED, SYS_ADMIN_USED

ALLOW_TRUSTED = """
version: 1
findings:
  "PrivilegeEscalation:Runtime/BpfCapabilityUsed":
    severity: Critical
allow:
  - name: trusted-mounts
    reason: The trusted family mounts scratch file systems as part of its job.
    task_family: trusted
    capability: CAP_SYS_ADMIN
"""

NO_RULES = """
version: 1
"""

NET_ONLY = """
version: 1
watch:
  capabilities: [CAP_NET_ADMIN]
"""


class PolicyInTheAgent(AgentCase):

    def setUp(self):
        super().setUp()
        fd, self.policy = tempfile.mkstemp(prefix="policy-", suffix=".yaml")
        os.close(fd)
        self.addCleanup(os.unlink, self.policy)

    def write_policy(self, text):
        tmp = self.policy + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.policy)

    def reload(self, expect):
        """SIGHUP and wait for the agent to say `expect` in its log."""
        before = len(self.agent.logs())
        self.agent.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if any(expect in line for line in self.agent.logs()[before:]):
                return self.agent.logs()[before:]
            time.sleep(0.05)
        self.fail("no '%s' in the log after SIGHUP: %r" % (expect, self.agent.logs()[before:]))

    def mounting_container(self, family):
        c = self.container(caps_add=["CAP_SYS_ADMIN", "CAP_BPF"], name="app", family=family)
        self.register(c)
        c.start()
        return c

    def test_allow_rule_is_scoped_to_its_family_and_override_applies(self):
        self.write_policy(ALLOW_TRUSTED)
        self.start_agent("--policy", self.policy, "--health-interval", "1", health=True)
        trusted = self.mounting_container("trusted")
        web = self.mounting_container("web")
        for c in (trusted, web):
            c.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"])
        web.exec(["/bin/egprobe", "bpf-map-create"], check=False)
        [f] = self.agent.wait_for(harness.match(SYS_ADMIN_USED, web), timeout=20)
        self.assertAttributed(f, web)
        [b] = self.agent.wait_for(harness.match(BPF_USED, web), timeout=20)
        self.assertEqual(b["severity"], 9.5)  # Critical override
        time.sleep(2.5)
        with open(self.agent.health_file) as fh:
            health = json.load(fh)
        self.stop_agent()
        self.assertEqual(self.capability_findings(trusted), [])
        rules = {r["name"]: r["suppressed"] for r in health["policy"]["rules"]}
        self.assertGreaterEqual(rules["trusted-mounts"], 1, health["policy"])

    def test_sighup_swaps_policy_and_a_broken_one_keeps_the_old(self):
        self.write_policy(NO_RULES)
        self.start_agent("--policy", self.policy)
        first = self.mounting_container("trusted")
        first.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"])
        self.agent.wait_for(harness.match(SYS_ADMIN_USED, first), timeout=20)

        self.write_policy(ALLOW_TRUSTED)
        self.reload("policy reloaded")
        second = self.mounting_container("trusted")
        second.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"])
        web = self.mounting_container("web")
        web.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"])
        self.agent.wait_for(harness.match(SYS_ADMIN_USED, web), timeout=20)

        self.write_policy("allow:\n  - name: broken\n    task_family: [unclosed\n")
        logs = self.reload("previous policy stays")
        self.assertTrue(any(self.policy + ":" in line for line in logs), logs)
        third = self.mounting_container("trusted")
        third.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"])
        other = self.mounting_container("web")
        other.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"])
        self.agent.wait_for(harness.match(SYS_ADMIN_USED, other), timeout=20)
        self.stop_agent()
        # The allow rule took effect on reload and survived the broken reload.
        self.assertEqual(self.capability_findings(second), [])
        self.assertEqual(self.capability_findings(third), [])

    def test_watched_capabilities_follow_the_policy_in_the_kernel(self):
        self.write_policy(NET_ONLY)
        self.start_agent("--policy", self.policy, "--health-interval", "1", health=True)
        c = self.container(caps_add=["CAP_SYS_ADMIN", "CAP_NET_ADMIN"], name="app",
                           family="web")
        self.register(c)
        c.start()
        c.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"])
        c.exec(["/bin/egprobe", "link-mtu", "lo", "65536"])
        self.agent.wait_for(harness.match(NET_ADMIN_USED, c), timeout=20)
        time.sleep(1.5)
        self.assertEqual([f for f in self.agent.findings() if f["type"] == SYS_ADMIN_USED], [])
        self.write_policy(NO_RULES)  # default watch set again, without reloading programs
        self.reload("policy reloaded")
        c.exec(["/bin/egprobe", "sethostname", "again"])
        self.agent.wait_for(harness.match(SYS_ADMIN_USED, c), timeout=20)
        self.stop_agent()

    def test_health_log_lines_are_whole_json_however_large(self):
        """The health record grows with the policy (a suppression counter per allow rule); a
        large one is logged whole, as valid JSON, not cut at a fixed line size."""
        rules = ["allow:"]
        for i in range(300):
            rules.append("  - name: rule-%03d-%s\n    reason: Test rule %d.\n"
                         "    task_family: family-%03d" % (i, "x" * 40, i, i))
        self.write_policy("version: 1\n" + "\n".join(rules) + "\n")
        self.start_agent("--policy", self.policy, "--health-interval", "1")
        deadline = time.monotonic() + 20
        lines = []
        while len(lines) < 2:
            self.assertLess(time.monotonic(), deadline, self.agent.logs()[-5:])
            time.sleep(0.2)
            lines = [l for l in self.agent.logs() if " info: health " in l]
        self.stop_agent()
        for line in lines:
            payload = line.split(" info: health ", 1)[1]
            self.assertGreater(len(payload), 16384)
            health = json.loads(payload)  # raises on a cut line
            self.assertEqual(len(health["policy"]["rules"]), 300)
            self.assertIn("hooks", health)  # the last member: nothing was cut
        for line in self.agent.logs():  # and every other line that carries JSON is whole
            if " {" in line:
                json.loads(line[line.index(" {") + 1:])

    def test_invalid_policy_at_start_is_a_clear_error(self):
        self.write_policy("findings:\n  \"Made:Up/Type\":\n    enabled: true\n")
        agent = harness.Agent(introspection_url=self.fake.base_url,
                              extra_args=["--policy", self.policy])
        agent.start()
        code = agent.proc.wait(timeout=30)
        agent.stop()
        self.assertNotEqual(code, 0)
        self.assertTrue(any("%s:2:" % self.policy in l for l in agent.logs()), agent.logs())

    def test_policy_check_command(self):
        binary = os.environ["ECSGUARD_BIN"]
        self.write_policy(ALLOW_TRUSTED)
        ok = subprocess.run([binary, "policy", "check", self.policy], capture_output=True,
                            text=True)
        self.assertEqual(ok.returncode, 0, ok)
        self.assertIn("allow rule", ok.stdout)
        self.write_policy("allow:\n  - name: x\n    task_family: web\n")  # no reason
        bad = subprocess.run([binary, "policy", "check", self.policy], capture_output=True,
                             text=True)
        self.assertEqual(bad.returncode, 1, bad)
        self.assertRegex(bad.stderr, r"%s:\d+:\d+: " % self.policy)


if __name__ == "__main__":
    unittest.main()
