"""The fake ECS agent answers like the real one: shapes from the fixtures, lookup rules
from the agent's handlers (exact/prefix/ambiguous/both-keys), modes for failure tests."""

import json
import os
import socket
import time
import unittest
import urllib.request

from ecsfake import EcsFake, container, docker_id, task_arn, task_id

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.environ.get("ECSGUARD_FIXTURES", os.path.join(HERE, "..", "fixtures"))


def fixture_bytes(name):
    with open(os.path.join(FIXTURES, "ecs", name), "rb") as f:
        # The agent sends no trailing newline; the fixture files add one.
        return f.read().rstrip(b"\n")


def fixture_json(name):
    return json.loads(fixture_bytes(name))


def ordered(body):
    """JSON with key order kept, to compare the wire order and not only the content."""
    return json.loads(body, object_pairs_hook=lambda pairs: pairs)


def raw_request(port, path, timeout=3.0):
    """Send one request on a raw socket; return every byte received until close."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while True:
            data = s.recv(65536)
            if not data:
                return b"".join(chunks)
            chunks.append(data)


class FakeAgentTest(unittest.TestCase):
    def setUp(self):
        self.fake = EcsFake().start()
        self.addCleanup(self.fake.cleanup)

    def get_json(self, path):
        status, headers, body = self.fake.get(path)
        return status, json.loads(body)

    # -- shapes against the real responses ---------------------------------------------------
    def test_root_and_unknown_paths_answer_available_commands(self):
        expected = fixture_bytes("introspection-root-available-commands.pr4657-live.json")
        for path in ("/", "/v1/tasks/", "/v1/foo", "/v2/metadata", "/v1/metadata/x"):
            status, headers, body = self.fake.get(path)
            self.assertEqual(status, 200, path)
            self.assertEqual(body, expected, path)
            self.assertEqual(headers["Content-Type"], "text/plain; charset=utf-8", path)
            self.assertEqual(headers["Content-Length"], "61")

    def test_metadata_shape(self):
        status, headers, body = self.fake.get("/v1/metadata")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "application/json")
        reference = ordered(fixture_bytes("introspection-v1-metadata.awsdocs.json"))
        got = ordered(body)
        self.assertEqual([k for k, _ in got], [k for k, _ in reference])
        self.assertEqual(dict(got)["Cluster"], "default")
        self.assertTrue(dict(got)["ContainerInstanceArn"].startswith("arn:aws:ecs:"))
        # Before registration the agent's *string ARN may be empty or null.
        self.fake.set_metadata(container_instance_arn=None)
        self.assertIsNone(self.get_json("/v1/metadata")[1]["ContainerInstanceArn"])

    def test_task_bytes_match_agent_encoding(self):
        # The derived fixture is Go's exact json.Marshal output of the agent's test task.
        expected = fixture_bytes(
            "introspection-v1-task-all-container-fields.derived-from-unit-test.json")
        self.fake.add_raw_task(json.loads(expected))
        for path in ("/v1/tasks?taskarn=t1", "/v1/tasks?dockerid=c0123456789ABC"):
            status, headers, body = self.fake.get(path)
            self.assertEqual(status, 200, path)
            self.assertEqual(body, expected, path)

    def test_tasks_list_matches_fixture(self):
        reference = fixture_bytes("introspection-v1-tasks.awsdocs-hello-world.json")
        for task in json.loads(reference)["Tasks"]:
            self.fake.add_raw_task(task)
        status, headers, body = self.fake.get("/v1/tasks")
        self.assertEqual(status, 200)
        self.assertEqual(ordered(body), ordered(reference))

    def test_short_id_lookup_matches_fixture(self):
        reference = fixture_json("introspection-v1-task-by-short-dockerid.awsdocs-nginx-efs.json")
        self.fake.add_raw_task(reference)
        status, got = self.get_json("/v1/tasks?dockerid=79c796ed2a7f")
        self.assertEqual(status, 200)
        self.assertEqual(got, reference)

    def test_error_body_is_the_agents(self):
        expected = fixture_bytes("introspection-v1-tasks-error-body.derived.json")
        status, headers, body = self.fake.get("/v1/tasks?dockerid=" + docker_id(404))
        self.assertEqual((status, body), (404, expected))
        self.assertEqual(headers["Content-Type"], "application/json")

    def test_wire_key_order_and_omitempty(self):
        cid = docker_id(1)
        c = container(cid, "app", image="nginx:1.27", CreatedAt="2024-01-01T00:00:00Z",
                      Ports=[], RestartCount=0)
        # Deliberately scrambled member order in the state file.
        scrambled = dict(reversed(list(c.items())))
        self.fake.add_raw_task({"Containers": [scrambled], "Version": "3", "Family": "web",
                                "KnownStatus": "RUNNING", "DesiredStatus": "RUNNING",
                                "Arn": task_arn(task_id(1))})
        status, headers, body = self.fake.get("/v1/tasks?dockerid=" + cid)
        task = ordered(body)
        self.assertEqual([k for k, _ in task],
                         ["Arn", "DesiredStatus", "KnownStatus", "Family", "Version", "Containers"])
        containers = dict(task)["Containers"]
        self.assertEqual([k for k, _ in containers[0]],
                         ["DockerId", "DockerName", "Name", "Image", "ImageID", "CreatedAt",
                          "RestartCount"])

    def test_html_characters_escaped_like_go(self):
        self.fake.add_task(task_arn(task_id(2)), "a<b>&c", 1, [container(docker_id(2), "app")])
        status, headers, body = self.fake.get("/v1/tasks")
        self.assertIn(b'"Family":"a\\u003cb\\u003e\\u0026c"', body)

    def test_empty_task_list(self):
        status, headers, body = self.fake.get("/v1/tasks")
        self.assertEqual((status, body), (200, b'{"Tasks":[]}'))

    # -- lookup rules ------------------------------------------------------------------------
    def test_full_id_exact_match_only(self):
        cid = docker_id(10)
        arn = task_arn(task_id(10))
        self.fake.add_task(arn, "web", 3, [container(cid, "app")])
        self.assertEqual(self.get_json("/v1/tasks?dockerid=" + cid)[1]["Arn"], arn)
        for prefix_len in (13, 40, 63):
            status, body = self.get_json("/v1/tasks?dockerid=" + cid[:prefix_len])
            self.assertEqual(status, 404, prefix_len)
            self.assertEqual(body["Arn"], "")
        # A 12-char (short) id is a prefix match.
        self.assertEqual(self.get_json("/v1/tasks?dockerid=" + cid[:12]), (200, self.get_json(
            "/v1/tasks?dockerid=" + cid)[1]))
        self.assertEqual(self.get_json("/v1/tasks?dockerid=" + cid[:1])[0], 200)

    def test_short_id_ambiguity(self):
        a = "abcd" + docker_id(20)[4:]
        b = "abcd" + docker_id(21)[4:]
        self.fake.add_task(task_arn(task_id(20)), "one", 1, [container(a, "x")])
        self.fake.add_task(task_arn(task_id(21)), "two", 1, [container(b, "y")])
        status, body = self.get_json("/v1/tasks?dockerid=abcd")
        self.assertEqual(status, 400)
        self.assertEqual(body["Arn"], "")
        self.assertEqual(self.get_json("/v1/tasks?dockerid=" + a[:5])[0], 200)
        # Empty id: a prefix of every container id.
        self.assertEqual(self.get_json("/v1/tasks?dockerid=")[0], 400)

    def test_short_id_two_containers_of_one_task_is_ambiguous(self):
        a = "beef" + docker_id(30)[4:]
        b = "beef" + docker_id(31)[4:]
        self.fake.add_task(task_arn(task_id(30)), "web", 1, [container(a, "x"), container(b, "y")])
        self.assertEqual(self.get_json("/v1/tasks?dockerid=beef")[0], 400)
        self.assertEqual(self.get_json("/v1/tasks?dockerid=" + a)[0], 200)

    def test_empty_short_id_with_one_container(self):
        self.fake.add_task(task_arn(task_id(40)), "solo", 1, [container(docker_id(40), "x")])
        self.assertEqual(self.get_json("/v1/tasks?dockerid=")[1]["Family"], "solo")

    def test_both_keys_is_bad_request(self):
        cid = docker_id(50)
        arn = task_arn(task_id(50))
        self.fake.add_task(arn, "web", 1, [container(cid, "x")])
        for query in (f"dockerid={cid}&taskarn={arn}", "dockerid=&taskarn=",
                      f"taskarn={arn}&dockerid={cid}"):
            status, body = self.get_json("/v1/tasks?" + query)
            self.assertEqual(status, 400, query)
            self.assertEqual(body["Containers"], None)

    def test_task_arn_lookup(self):
        arn = task_arn(task_id(60))
        self.fake.add_task(arn, "web", 1, [container(docker_id(60), "x")])
        self.assertEqual(self.get_json("/v1/tasks?taskarn=" + arn)[1]["Arn"], arn)
        self.assertEqual(self.get_json("/v1/tasks?taskarn=" + arn[:-1])[0], 404)
        self.assertEqual(self.get_json("/v1/tasks?taskarn=")[0], 404)

    def test_pause_container_resolves_but_is_not_listed(self):
        app, pause = docker_id(70), docker_id(71)
        arn = task_arn(task_id(70))
        self.fake.add_task(arn, "web", 1, [container(pause, "~internal~ecs~pause", internal=True),
                                           container(app, "app")])
        status, body = self.get_json("/v1/tasks?dockerid=" + pause)
        self.assertEqual((status, body["Arn"]), (200, arn))
        self.assertEqual([c["DockerId"] for c in body["Containers"]], [app])

    def test_container_known_by_name_before_its_id(self):
        arn = task_arn(task_id(80))
        c = container("", "app", DockerName="ecs-web-1-app-c0ffee0000000000aaaa")
        self.fake.add_task(arn, "web", 1, [c])
        status, body = self.get_json("/v1/tasks?dockerid=ecs-web-1-app-c0ffee0000000000aaaa")
        self.assertEqual((status, body["Arn"]), (200, arn))

    def test_stopped_tasks_listed_and_desired_status_rules(self):
        running, stopped, stopping, starting = (task_arn(task_id(n)) for n in range(90, 94))
        self.fake.add_task(running, "a", 1, [container(docker_id(90), "x")])
        self.fake.add_task(stopped, "b", 1, [container(docker_id(91), "x")],
                           known_status="STOPPED", desired_status="STOPPED")
        self.fake.add_task(stopping, "c", 1, [container(docker_id(92), "x")],
                           known_status="STOPPED", desired_status="RUNNING")
        self.fake.add_task(starting, "d", 1, [container(docker_id(93), "x")],
                           known_status="RUNNING", desired_status="PENDING")
        tasks = {t["Arn"]: t for t in self.get_json("/v1/tasks")[1]["Tasks"]}
        self.assertEqual(set(tasks), {running, stopped, stopping, starting})
        self.assertEqual(tasks[running]["DesiredStatus"], "RUNNING")
        self.assertEqual(tasks[stopped]["DesiredStatus"], "STOPPED")
        self.assertNotIn("DesiredStatus", tasks[stopping])
        self.assertNotIn("DesiredStatus", tasks[starting])
        self.assertEqual(self.get_json("/v1/tasks?dockerid=" + docker_id(91))[1]["KnownStatus"],
                         "STOPPED")

    def test_any_method_is_served(self):
        req = urllib.request.Request(self.fake.base_url + "/v1/metadata", data=b"x",
                                     method="POST")
        with urllib.request.urlopen(req, timeout=5) as resp:
            self.assertEqual(resp.status, 200)
            self.assertIn("Cluster", json.loads(resp.read()))

    def test_license(self):
        status, headers, body = self.fake.get("/license")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/plain"))

    # -- state, modes, log ---------------------------------------------------------------------
    def test_state_reread_while_running(self):
        cid = docker_id(100)
        self.assertEqual(self.get_json("/v1/tasks?dockerid=" + cid)[0], 404)
        self.fake.add_task(task_arn(task_id(100)), "late", 1, [container(cid, "x")])
        self.assertEqual(self.get_json("/v1/tasks?dockerid=" + cid)[0], 200)
        self.fake.remove_task(task_arn(task_id(100)))
        self.assertEqual(self.get_json("/v1/tasks?dockerid=" + cid)[0], 404)

    def test_mode_error500(self):
        self.fake.add_task(task_arn(task_id(110)), "web", 1, [container(docker_id(110), "x")])
        self.fake.set_mode("error500")
        for path in ("/v1/metadata", "/v1/tasks?dockerid=" + docker_id(110)):
            status, body = self.get_json(path)
            self.assertEqual(status, 500, path)
            self.assertEqual(body["Arn"], "")
        self.fake.set_mode("ok")
        self.assertEqual(self.get_json("/v1/metadata")[0], 200)

    def test_mode_garbage(self):
        self.fake.set_mode("garbage")
        data = raw_request(self.fake.port, "/v1/metadata")
        self.assertTrue(data)
        self.assertFalse(data.startswith(b"HTTP/"))

    def test_mode_close(self):
        self.fake.set_mode("close")
        self.assertEqual(raw_request(self.fake.port, "/v1/metadata"), b"")

    def test_mode_slow(self):
        self.fake.set_mode("slow", slow_seconds=1.0)
        with self.assertRaises(OSError):  # socket.timeout is an OSError
            raw_request(self.fake.port, "/v1/metadata", timeout=0.3)
        start = time.monotonic()
        data = raw_request(self.fake.port, "/v1/metadata", timeout=5)
        self.assertGreaterEqual(time.monotonic() - start, 0.9)
        self.assertTrue(data.startswith(b"HTTP/1.1 200"))

    def test_request_log(self):
        cid = docker_id(120)
        self.fake.get("/v1/metadata")
        self.fake.get("/v1/tasks?dockerid=" + cid)
        self.fake.set_mode("close")
        raw_request(self.fake.port, "/v1/tasks?taskarn=x")
        self.assertEqual(self.fake.requests(),
                         ["/v1/metadata", "/v1/tasks?dockerid=" + cid, "/v1/tasks?taskarn=x"])
        self.assertEqual(self.fake.count("/v1/metadata"), 1)


if __name__ == "__main__":
    unittest.main()
