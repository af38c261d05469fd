#!/usr/bin/env python3
"""A stand-in for the ECS agent's introspection server (port 51678), for tests.

It answers like the real agent (amazon-ecs-agent ecs-agent/introspection, see
docs/ecs-identity.md and the reference notes on lookup semantics):

  /v1/metadata            {"Cluster","ContainerInstanceArn","Version"}
  /v1/tasks               {"Tasks":[TaskResponse...]}, STOPPED tasks included
  /v1/tasks?dockerid=ID   one TaskResponse: exact match when len(ID) > 12,
                          prefix match over every container id when <= 12
                          (more than one match -> 400), unknown -> 404
  /v1/tasks?taskarn=ARN   one TaskResponse, unknown -> 404
  both keys               400
  /license                text/plain
  / and any other path    200 {"AvailableCommands":[...]} as text/plain
Every error body is the agent's json.Marshal(TaskResponse{}). No HTTP method
is checked, as in the agent.

State comes from a JSON file re-read on every request, so a test can add
tasks or switch modes while the server runs:

  {"cluster": "default",
   "container_instance_arn": "arn:aws:ecs:...:container-instance/default/...",
   "agent_version": "Amazon ECS Agent - v1.89.0 (1a2b3c4d)",
   "mode": "ok" | "error500" | "garbage" | "slow" | "close",
   "slow_seconds": 5,
   "tasks": [{"Arn": ..., "DesiredStatus": ..., "KnownStatus": ..., "Family": ...,
              "Version": ..., "Containers": [{"DockerId": ..., "DockerName": ...,
              "Name": ..., "Image": ..., "ImageID": ..., "CreatedAt": ...,
              "Internal": true (pause container: resolvable, never listed)}]}]}

Task and container members use the agent's wire names; they are written back
in the agent's struct order whatever order the file uses. Members the agent
marks omitempty are dropped when empty; Image and ImageID are written only
when the file has them (agents before Image support did not send them).

Usage: fake_ecs_agent.py --state FILE [--port N] [--host H] [--log FILE]
With --port 0 a free port is chosen; "PORT <n>" is the first line on stdout.
"""

import argparse
import http.server
import json
import sys
import threading
import time
import urllib.parse

DOCKER_SHORT_ID_LEN = 12
AVAILABLE_COMMANDS = ["/v1/metadata", "/v1/tasks", "/license"]
# Go's json.Marshal(v1.TaskResponse{}): DesiredStatus is omitempty, nil slice -> null.
ERROR_BODY = {"Arn": "", "KnownStatus": "", "Family": "", "Version": "", "Containers": None}
LICENSE_TEXT = "Amazon ECS Agent license text (not reproduced by the ecsguard test fake)\n"

TASK_ORDER = ["Arn", "DesiredStatus", "KnownStatus", "Family", "Version", "Containers"]
CONTAINER_ORDER = ["DockerId", "DockerName", "Name", "Image", "ImageID", "CreatedAt",
                   "StartedAt", "Ports", "Networks", "Volumes", "RestartCount"]
# Members that vanish when empty (Go omitempty); RestartCount is a *int, so 0 stays.
CONTAINER_OMITEMPTY = {"CreatedAt", "StartedAt", "Ports", "Networks", "Volumes"}
CONTAINER_OPTIONAL = {"Image", "ImageID", "RestartCount"}


def go_json(value):
    """Serialise like Go's encoding/json: compact, UTF-8, HTML characters escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text.encode("utf-8")


def container_key(container):
    """The agent indexes a container by its Docker id, or by its name until the id is known."""
    return container.get("DockerId") or container.get("DockerName", "")


def task_response(task):
    """A TaskResponse as agent/handlers/v1/response.go NewTaskResponse builds it."""
    known = task.get("KnownStatus", "")
    desired = task.get("DesiredStatus", "")
    if (known == "STOPPED" and desired != "STOPPED") or (known == "RUNNING" and desired == "PENDING"):
        desired = ""
    containers = []
    for c in task.get("Containers") or []:
        if c.get("Internal"):
            continue  # pause and other internal containers are never listed
        out = {}
        for key in CONTAINER_ORDER:
            if key in ("DockerId", "DockerName", "Name"):
                out[key] = c.get(key, "")
            elif key in CONTAINER_OMITEMPTY:
                if c.get(key):
                    out[key] = c[key]
            elif key in CONTAINER_OPTIONAL and key in c and c[key] is not None:
                out[key] = c[key]
        containers.append(out)
    resp = {"Arn": task.get("Arn", "")}
    if desired:
        resp["DesiredStatus"] = desired
    resp["KnownStatus"] = known
    resp["Family"] = task.get("Family", "")
    resp["Version"] = task.get("Version", "")
    resp["Containers"] = containers
    return resp


def lookup_docker_id(tasks, docker_id):
    """(status, task) for ?dockerid=, with the agent's exact/prefix rules."""
    if len(docker_id) > DOCKER_SHORT_ID_LEN:
        for task in tasks:
            for c in task.get("Containers") or []:
                if container_key(c) == docker_id:
                    return 200, task
        return 404, None
    # TaskByShortID appends one task per matching container, so two containers of one
    # task sharing the prefix are ambiguous too. An empty id is a prefix of everything.
    matches = [task for task in tasks for c in task.get("Containers") or []
               if container_key(c).startswith(docker_id)]
    if not matches:
        return 404, None
    if len(matches) > 1:
        return 400, None
    return 200, matches[0]


def lookup_task_arn(tasks, arn):
    for task in tasks:
        if task.get("Arn") == arn:
            return 200, task
    return 404, None


class FakeAgentHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeECSAgent"
    sys_version = ""

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    def _state(self):
        with open(self.server.state_path, encoding="utf-8") as f:
            return json.load(f)

    def _log_request(self):
        if self.server.log_path:
            with self.server.log_lock, open(self.server.log_path, "a", encoding="utf-8") as f:
                f.write(self.path + "\n")

    def _send(self, status, body, content_type="application/json"):
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        self._log_request()
        try:
            state = self._state()
        except (OSError, ValueError) as e:
            print(f"fake_ecs_agent: cannot read state: {e}", file=sys.stderr)
            self._send(500, go_json(ERROR_BODY))
            return
        mode = state.get("mode", "ok")
        if mode == "close":
            self.close_connection = True
            return
        if mode == "garbage":
            self.wfile.write(b"\x00\xffthis is not HTTP\r\n\r\n\x16\x03\x01")
            self.close_connection = True
            return
        if mode == "slow":
            time.sleep(float(state.get("slow_seconds", 5)))
        if mode == "error500":
            self._send(500, go_json(ERROR_BODY))
            return

        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        tasks = state.get("tasks", [])
        if url.path == "/v1/metadata":
            self._send(200, go_json({
                "Cluster": state.get("cluster", "default"),
                "ContainerInstanceArn": state.get("container_instance_arn", ""),
                "Version": state.get("agent_version", "Amazon ECS Agent - v1.89.0 (1a2b3c4d)"),
            }))
        elif url.path == "/v1/tasks":
            self._tasks(tasks, query)
        elif url.path == "/license":
            self._send(200, LICENSE_TEXT.encode(), "text/plain")
        else:
            # The agent writes pre-marshalled JSON without a Content-Type; Go sniffs text/plain.
            self._send(200, go_json({"AvailableCommands": AVAILABLE_COMMANDS}),
                       "text/plain; charset=utf-8")

    def _tasks(self, tasks, query):
        has_docker_id = "dockerid" in query
        has_task_arn = "taskarn" in query
        if has_docker_id and has_task_arn:
            self._send(400, go_json(ERROR_BODY))
            return
        if has_docker_id:
            status, task = lookup_docker_id(tasks, query["dockerid"][0])
        elif has_task_arn:
            status, task = lookup_task_arn(tasks, query["taskarn"][0])
        else:
            self._send(200, go_json({"Tasks": [task_response(t) for t in tasks]}))
            return
        self._send(status, go_json(task_response(task) if task else ERROR_BODY))

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle


class FakeAgentServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, state_path, log_path):
        super().__init__(address, FakeAgentHandler)
        self.state_path = state_path
        self.log_path = log_path
        self.log_lock = threading.Lock()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", required=True, help="JSON state file, re-read per request")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=51678, help="0 picks a free port")
    parser.add_argument("--log", help="append each request path to this file")
    args = parser.parse_args(argv)
    server = FakeAgentServer((args.host, args.port), args.state, args.log)
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
