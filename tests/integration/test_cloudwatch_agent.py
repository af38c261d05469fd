"""The agent delivering findings to CloudWatch Logs through the fake endpoint (real containers).

The fake (tests/cloudwatch-fake/server.js) checks every request's SigV4 signature with AWS's
own signer and records the events; credentials come from its ECS container-credentials
endpoint. Proves the end-to-end path; the sink's own edge cases are covered by
unit.test_cloudwatch_sink.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.request

import harness
from agent_case import AgentCase, SYS_ADMIN_USED

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE_DIR = os.path.join(HERE, "..", "cloudwatch-fake")
GROUP = "/ecsguard/findings"  # the group name deploy/ecs/*.json deliver to
DEPLOY_ECS = os.path.join(HERE, "..", "..", "deploy", "ecs")
# The health metrics deploy/cloudformation/ecsguard.yaml alarms on, graphs and queries.
DEPLOY_HEALTH_METRICS = (
    "kernel_events_dropped", "findings_dropped", "sink_write_failures", "cloudwatch_failed",
    "cloudwatch_rejected", "cloudwatch_dropped_queue_full", "cloudwatch_dropped_spool_full",
    "cloudwatch_spool_errors", "cloudwatch_backlog", "ring_buffer_used_bytes")


def keep_emf_records(records):
    """Appends the EMF health records CloudWatch received to emf.jsonl beside the findings log,
    where tests/deploy-check runs the agent-health query over them (unit.deploy_queries uses the
    committed tests/fixtures/cloudwatch/emf-health.jsonl when no integration test ran)."""
    log = harness.findings_log_path()
    if not log:
        return
    with open(os.path.join(os.path.dirname(log), "emf.jsonl"), "a") as f:
        for r in records:
            f.write(json.dumps(r, separators=(",", ":")) + "\n")


class CloudWatchFake:
    def __init__(self):
        self.state = tempfile.mkdtemp(prefix="cwfake-")
        if not os.path.isdir(os.path.join(FAKE_DIR, "node_modules")):
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                           cwd=FAKE_DIR, check=True)
        self.proc = subprocess.Popen(["node", os.path.join(FAKE_DIR, "server.js"),
                                      "--state-dir", self.state],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        ports = json.loads(self.proc.stdout.readline())
        self.logs_port, self.meta_port = ports["logs_port"], ports["meta_port"]

    def env(self):
        return {
            "AWS_REGION": "us-west-2",
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": "http://127.0.0.1:%d" % self.logs_port,
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/ecsguard-it",
            "ECSGUARD_ECS_CREDENTIALS_HOST": "127.0.0.1:%d" % self.meta_port,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def control(self, path):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.meta_port, path),
                                    timeout=10) as r:
            return json.loads(r.read())

    def events(self):
        path = os.path.join(self.state, "events.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def findings(self):
        out = []
        for e in self.events():
            msg = json.loads(e["message"])
            if "_aws" not in msg:
                out.append((e, msg))
        return out

    def wait(self, predicate, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for e, m in self.findings() if predicate(m)]
            if found:
                return found
            time.sleep(0.3)
        raise AssertionError("no matching finding in CloudWatch after %ss; events: %r" %
                             (timeout, self.events()[-5:]))

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.state, ignore_errors=True)


class CloudWatchDelivery(AgentCase):

    def setUp(self):
        super().setUp()
        self.cw = CloudWatchFake()
        self.addCleanup(self.cw.stop)
        self.spool = tempfile.mkdtemp(prefix="spool-")
        self.addCleanup(shutil.rmtree, self.spool, True)

    def start_cw_agent(self):
        args = list(self.agent_args) + ["--output", "stdout", "--output", "cloudwatch:" + GROUP,
                                        "--spool-dir", self.spool, "--health-interval", "1"]
        self.agent = harness.Agent(introspection_url=self.fake.base_url, extra_args=args,
                                   env=self.cw.env())
        self.agent.start()
        self.agent.wait_ready()
        return self.agent

    def mount_in(self, c):
        c.exec(["/bin/egprobe", "mount-tmpfs", "/tmp"])

    def test_findings_and_metrics_arrive_signed(self):
        c = self.container(caps_add=["CAP_SYS_ADMIN"], name="app", family="web")
        self.register(c)
        self.start_cw_agent()
        c.start()
        self.mount_in(c)
        [f] = self.agent.wait_for(harness.match(SYS_ADMIN_USED, c), timeout=20)
        [m] = self.cw.wait(lambda m: m.get("id") == f["id"])[:1]
        self.assertEqual(m["type"], SYS_ADMIN_USED)
        self.assertAttributed(m, c)
        # Health as Embedded Metric Format records in the same stream.
        deadline = time.monotonic() + 20
        while not any("_aws" in json.loads(e["message"]) for e in self.cw.events()):
            self.assertLess(time.monotonic(), deadline, "no EMF record arrived")
            time.sleep(0.3)
        records = [json.loads(e["message"]) for e in self.cw.events()]
        emf = [r for r in records if "_aws" in r]
        self.assertEmfHealth(emf[-1])
        keep_emf_records(emf)
        stats = self.cw.control("/__control/stats")
        self.assertEqual(stats["bad_signatures"], 0, stats)
        self.assertEqual(stats["limit_violations"], 0, stats)
        self.assertEqual({e["group"] for e in self.cw.events()}, {GROUP})
        self.stop_agent()

    def test_credentials_refreshed_by_the_confined_agent(self):
        """Credentials that expire soon are fetched again before they do, from the confined
        agent (its seccomp filter and dropped capabilities in force on the sender's thread):
        requests signed with the new keys are accepted, none with an expired one is sent."""
        # 305 s against the agent's 300 s refresh margin: a refresh every ~5 s.
        self.cw.control("/__control/creds?ttl=305")
        first = self.container(caps_add=["CAP_SYS_ADMIN"], name="app", family="web")
        self.register(first)
        self.start_cw_agent()
        first.start()
        self.mount_in(first)
        [f1] = self.agent.wait_for(harness.match(SYS_ADMIN_USED, first), timeout=20)
        self.cw.wait(lambda m: m.get("id") == f1["id"])
        deadline = time.monotonic() + 40
        while self.cw.control("/__control/stats")["keys_accepted"] < 3:
            self.assertLess(time.monotonic(), deadline, self.cw.control("/__control/stats"))
            time.sleep(0.5)
        second = self.container(caps_add=["CAP_SYS_ADMIN"], name="app2", family="web")
        self.register(second)
        second.start()
        self.mount_in(second)
        [f2] = self.agent.wait_for(harness.match(SYS_ADMIN_USED, second), timeout=20)
        self.cw.wait(lambda m: m.get("id") == f2["id"])
        with open("/proc/%d/status" % self.agent.proc.pid) as st:
            status = dict(line.split(":\t", 1) for line in st.read().splitlines() if ":\t" in line)
        self.assertEqual(status["Seccomp"].strip(), "2", status)
        self.stop_agent()
        stats = self.cw.control("/__control/stats")
        self.assertGreaterEqual(stats["creds_issued"], 3, stats)
        self.assertEqual((stats["bad_signatures"], stats["expired_credentials"]), (0, 0), stats)

    def test_shipped_task_definition_command(self):
        """The command of deploy/'s task definitions (direct delivery, stdout no output), run as
        shipped with only its host paths and the endpoint replaced: findings and EMF health
        reach CloudWatch, nothing goes to stdout."""
        commands = set()
        for name in ("task-definition-ec2-daemon.json", "task-definition-managed-daemon.json"):
            with open(os.path.join(DEPLOY_ECS, name)) as f:
                [container] = json.load(f)["containerDefinitions"]
            commands.add(tuple(container["command"]))
        [shipped] = commands  # both platforms run the same command
        self.assertIn("cloudwatch:" + GROUP, shipped)
        c = self.container(caps_add=["CAP_SYS_ADMIN"], name="app", family="web")
        self.register(c)
        self.agent = harness.Agent(introspection_url=None, env=self.cw.env())
        local = {"http://localhost:51678": self.fake.base_url,
                 "/var/lib/ecsguard/spool": self.spool,
                 "/var/lib/ecsguard/state": os.path.join(self.agent.workdir, "state"),
                 "/tmp/ecsguard-ready": self.agent.ready_file,
                 "/tmp/ecsguard-health.json": os.path.join(self.spool, "..",
                                                           os.path.basename(self.spool) + ".health")}
        self.addCleanup(lambda: os.path.exists(local["/tmp/ecsguard-health.json"]) and
                        os.unlink(local["/tmp/ecsguard-health.json"]))
        args = [local.get(a, a) for a in shipped]
        self.assertEqual(len([a for a in args if a in local.values()]), 5, args)
        self.agent.extra_args = list(self.agent_args) + ["--health-interval", "1"] + args
        self.agent.start()
        self.agent.wait_ready()
        c.start()
        self.mount_in(c)
        [m] = self.cw.wait(lambda m: m.get("type") == SYS_ADMIN_USED, timeout=30)[:1]
        self.assertAttributed(m, c)
        deadline = time.monotonic() + 20
        while not any("_aws" in json.loads(e["message"]) for e in self.cw.events()):
            self.assertLess(time.monotonic(), deadline, "no EMF record arrived")
            time.sleep(0.3)
        self.assertTrue(os.path.exists(local["/tmp/ecsguard-health.json"]))
        self.stop_agent()
        self.assertEqual(self.agent.findings(), [], "stdout is no output in the task definitions")

    def assertEmfHealth(self, record):
        """The metrics deploy/'s alarms, dashboard and queries read (deploy/README.md): the
        kernel's drops and every way a line can fail to reach CloudWatch, declared as metrics in
        namespace ecsguard with the Host dimension and carried as numbers."""
        [directive] = record["_aws"]["CloudWatchMetrics"]
        self.assertEqual(directive["Namespace"], "ecsguard")
        self.assertEqual(directive["Dimensions"], [["Host"]])
        self.assertTrue(record["Host"])
        declared = {m["Name"] for m in directive["Metrics"]}
        for name in DEPLOY_HEALTH_METRICS:
            self.assertIn(name, declared)
            self.assertIsInstance(record[name], int, name)

    def test_outage_then_kill9_loses_nothing(self):
        c = self.container(caps_add=["CAP_SYS_ADMIN"], name="app", family="web")
        self.register(c)
        self.cw.control("/__control/mode?m=down")
        self.start_cw_agent()
        c.start()
        self.mount_in(c)
        [f] = self.agent.wait_for(harness.match(SYS_ADMIN_USED, c), timeout=20)
        time.sleep(2)  # it is in the spool now, CloudWatch unreachable
        self.agent.kill9()
        self.assertEqual(self.cw.findings(), [])
        self.cw.control("/__control/mode?m=ok")
        self.start_cw_agent()  # same spool: replayed on start
        self.cw.wait(lambda m: m.get("id") == f["id"], timeout=60)
        self.stop_agent()


if __name__ == "__main__":
    unittest.main()
