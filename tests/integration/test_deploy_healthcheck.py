"""The container health check of deploy/'s task definitions, run against a real agent.

Both task definitions (deploy/ecs/*.json, the same in the CloudFormation template) check that the
agent became ready (--ready-file) and that its event loop rewrote --health-file in the last three
minutes. This runs that exact shell command (the paths replaced by the agent's) with /bin/sh, as
ECS runs CMD-SHELL: unhealthy before the agent is ready, healthy while it runs, unhealthy when
the health file is stale (a stuck loop).
"""

import json
import os
import subprocess
import unittest

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
DEPLOY = os.path.join(HERE, "..", "..", "deploy", "ecs")
READY, HEALTH = "/tmp/ecsguard-ready", "/tmp/ecsguard-health.json"


def health_commands():
    out = {}
    for name in ("task-definition-ec2-daemon.json", "task-definition-managed-daemon.json"):
        with open(os.path.join(DEPLOY, name)) as f:
            [container] = json.load(f)["containerDefinitions"]
        check = container["healthCheck"]["command"]
        out[name] = check
    return out


class DeployHealthCheck(unittest.TestCase):

    def run_check(self, agent):
        [command] = {tuple(c) for c in health_commands().values()}  # the same in both files
        self.assertEqual(command[0], "CMD-SHELL")
        self.assertIn(READY, command[1])
        self.assertIn(HEALTH, command[1])
        shell = command[1].replace(READY, agent.ready_file).replace(HEALTH, agent.health_file)
        return subprocess.run(["/bin/sh", "-c", shell], timeout=10).returncode

    def test_health_check_follows_the_agent(self):
        agent = harness.Agent(introspection_url="http://127.0.0.1:9", health_file=True)
        self.assertNotEqual(self.run_check(agent), 0, "healthy before the agent started")
        with agent:
            agent.wait_ready(timeout=60)
            self.assertEqual(self.run_check(agent), 0, "unhealthy while the agent runs")
            # The loop rewrites the file every --health-interval (60 s): an mtime 200 s old is a
            # loop that stopped rewriting it.
            old = os.stat(agent.health_file).st_mtime - 200
            os.utime(agent.health_file, (old, old))
            self.assertNotEqual(self.run_check(agent), 0, "healthy with a stale health file")


if __name__ == "__main__":
    unittest.main()
