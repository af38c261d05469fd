"""Start, drive and stop fake_ecs_agent.py from tests.

    with EcsFake() as fake:
        fake.add_task(task_arn(...), "web", "3", [container(docker_id(1), "app")])
        url = fake.base_url          # e.g. http://127.0.0.1:40123
        fake.set_mode("slow", slow_seconds=3)
        fake.requests()              # request paths seen so far, in order

The state file is replaced atomically (write + rename), so the fake, which
re-reads it on every request, never sees a half-written file.
"""

import copy
import hashlib
import json
import os
import select
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_ecs_agent.py")

DEFAULT_CLUSTER = "default"
DEFAULT_ACCOUNT = "012345678910"
DEFAULT_REGION = "us-east-1"


def docker_id(n):
    """A deterministic, valid 64-hex Docker container id."""
    return hashlib.sha256(f"container-{n}".encode()).hexdigest()


def task_id(n):
    """A deterministic 32-hex ECS task id (the current format)."""
    return hashlib.sha256(f"task-{n}".encode()).hexdigest()[:32]


def task_arn(tid, cluster=DEFAULT_CLUSTER, region=DEFAULT_REGION, account=DEFAULT_ACCOUNT,
             partition="aws"):
    return f"arn:{partition}:ecs:{region}:{account}:task/{cluster}/{tid}"


def container(docker_id_, name, family="app", version="1", image=None, internal=False, **extra):
    """A container entry in the agent's wire names; `internal` marks a pause container."""
    c = {"DockerId": docker_id_,
         "DockerName": f"ecs-{family}-{version}-{name.replace('_', '')}-{docker_id_[:20]}",
         "Name": name}
    if image is not None:
        c["Image"] = image
        c["ImageID"] = "sha256:" + hashlib.sha256(image.encode()).hexdigest()
    if internal:
        c["Internal"] = True
    c.update(extra)
    return c


class EcsFake:
    def __init__(self, cluster=DEFAULT_CLUSTER, container_instance_arn=None,
                 agent_version="Amazon ECS Agent - v1.89.0 (1a2b3c4d)", startup_timeout=60):
        self.dir = tempfile.mkdtemp(prefix="ecsfake-")
        self.state_path = os.path.join(self.dir, "state.json")
        self.log_path = os.path.join(self.dir, "requests.log")
        if container_instance_arn is None:
            container_instance_arn = (f"arn:aws:ecs:{DEFAULT_REGION}:{DEFAULT_ACCOUNT}:"
                                      f"container-instance/{cluster}/{task_id('instance')}")
        self.state = {"cluster": cluster, "container_instance_arn": container_instance_arn,
                      "agent_version": agent_version, "mode": "ok", "tasks": []}
        self.startup_timeout = startup_timeout
        self.proc = None
        self.port = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self):
        self.write_state()
        open(self.log_path, "w").close()
        self.proc = subprocess.Popen(
            [sys.executable, FAKE, "--state", self.state_path, "--port", "0",
             "--log", self.log_path],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], self.startup_timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"fake ECS agent did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.proc.stdout.close()
            self.proc.stderr.close()
        self.proc = None

    def cleanup(self):
        self.stop()
        for name in (self.state_path, self.log_path):
            if os.path.exists(name):
                os.unlink(name)
        os.rmdir(self.dir)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    # -- state -----------------------------------------------------------------------
    def write_state(self):
        tmp = self.state_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.state, f)
        os.replace(tmp, self.state_path)

    def add_task(self, arn, family, version, containers, known_status="RUNNING",
                 desired_status="RUNNING"):
        task = {"Arn": arn, "DesiredStatus": desired_status, "KnownStatus": known_status,
                "Family": family, "Version": str(version), "Containers": copy.deepcopy(containers)}
        self.state["tasks"].append(task)
        self.write_state()
        return task

    def add_raw_task(self, task):
        """A task exactly as given (wire names), e.g. one taken from a fixture."""
        self.state["tasks"].append(copy.deepcopy(task))
        self.write_state()

    def set_task_status(self, arn, known_status, desired_status=None):
        for task in self.state["tasks"]:
            if task["Arn"] == arn:
                task["KnownStatus"] = known_status
                if desired_status is not None:
                    task["DesiredStatus"] = desired_status
        self.write_state()

    def remove_task(self, arn):
        self.state["tasks"] = [t for t in self.state["tasks"] if t["Arn"] != arn]
        self.write_state()

    def set_mode(self, mode, slow_seconds=None):
        if mode not in ("ok", "error500", "garbage", "slow", "close"):
            raise ValueError(f"unknown mode {mode}")
        self.state["mode"] = mode
        if slow_seconds is not None:
            self.state["slow_seconds"] = slow_seconds
        self.write_state()

    def set_metadata(self, **fields):
        self.state.update(fields)
        self.write_state()

    # -- observation -----------------------------------------------------------------
    def requests(self):
        with open(self.log_path, encoding="utf-8") as f:
            return [line.rstrip("\n") for line in f if line.strip()]

    def count(self, path):
        return sum(1 for p in self.requests() if p == path)

    def get(self, path, timeout=5):
        """(status, headers, body bytes) of one request to the fake."""
        req = urllib.request.Request(self.base_url + path)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as e:
            body = e.read()
            headers = dict(e.headers)
            e.close()
            return e.code, headers, body
