"""Containers the ECS agent does not know (the ecs-agent container itself, `docker run`) or
cannot tell about (introspection down): identity from the Docker Engine API instead."""

import json
import time
import unittest

import harness
from agent_case import AgentCase, SYS_ADMIN_USED, task_details
from fake_docker import FakeDocker


def resolution(finding):
    return json.loads(finding["service"]["additionalInfo"]["value"])["taskResolution"]


class RuntimeIdentity(AgentCase):

    def setUp(self):
        super().setUp()
        self.docker = FakeDocker()
        self.addCleanup(self.docker.stop)

    def start_with_docker(self, *extra, health=False):
        return self.start_agent("--docker-socket", self.docker.socket, *extra, health=health)

    def test_ecs_agent_container_is_allowed_and_other_containers_are_named(self):
        ecs_agent = self.container(caps_add=["CAP_SYS_ADMIN"], layout="docker")
        webapp = self.container(caps_add=["CAP_SYS_ADMIN"], layout="docker")
        self.docker.add(ecs_agent.id, "ecs-agent", "amazon/amazon-ecs-agent:latest")
        self.docker.add(webapp.id, "webapp", "nginx:1.27")
        self.start_with_docker("--health-interval", "1", health=True)
        for c in (ecs_agent, webapp):
            c.start()
            c.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"])
        [f] = self.agent.wait_for(harness.match(SYS_ADMIN_USED, webapp), timeout=20)
        self.assertEqual(f["resource"]["containerDetails"]["name"], "webapp")
        self.assertEqual(f["resource"]["containerDetails"]["image"], "nginx:1.27")
        self.assertEqual(resolution(f), "containerRuntime")
        self.assertNotIn("arn", task_details(f))
        time.sleep(2.5)
        with open(self.agent.health_file) as fh:
            health = json.load(fh)
        self.stop_agent()
        self.assertEqual(self.capability_findings(ecs_agent), [])
        rules = {r["name"]: r["suppressed"] for r in health["policy"]["rules"]}
        self.assertGreaterEqual(rules["ecs-container-agent"], 1, health["policy"])
        self.assertGreaterEqual(health["introspection"]["runtimeAnswers"], 2, health)

    def test_ecs_labels_give_the_task_while_introspection_is_down(self):
        c = self.container(caps_add=["CAP_SYS_ADMIN"], name="api", family="svc", version="4")
        self.docker.add(c.id, c.docker_name, "nginx:1.27", labels={
            "com.amazonaws.ecs.task-arn": harness.task_arn(c.task_id),
            "com.amazonaws.ecs.container-name": "api",
            "com.amazonaws.ecs.task-definition-family": "svc",
            "com.amazonaws.ecs.task-definition-version": "4",
            "com.amazonaws.ecs.cluster": "default",
        })
        self.fake.stop()  # the ECS agent's endpoint is gone
        self.start_with_docker()
        c.start()
        c.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"])
        [f] = self.agent.wait_for(harness.match(SYS_ADMIN_USED, c), timeout=20)
        self.assertAttributed(f, c)
        self.assertEqual(resolution(f), "containerRuntime")
        self.stop_agent()


if __name__ == "__main__":
    unittest.main()
