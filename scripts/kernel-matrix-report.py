#!/usr/bin/env python3
"""Print the kernel matrix from the results scripts/kernel-matrix.sh left, and write it as
matrix.json and matrix.md beside them.

One row per guest (kernel line x cgroup mode): the kernel release, the hook each concern chose
there (from `ecsguard probe` in the guest), and per suite passed / failed / not run, with the
test counts and every distinct skip reason (a skip names what the kernel lacks). Exit 0 when
every suite of every guest passed, else 1.
"""
import json
import os
import re
import sys

CONCERNS = ("processLifecycle", "capability", "rootfsWrites", "hostNamespaces", "compatSyscalls")


def read(path, default=""):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return default


def suite_result(run_dir, suite):
    log = read(os.path.join(run_dir, suite + ".log"))
    rc = read(os.path.join(run_dir, suite + ".rc")).strip()
    res = {"suite": suite, "status": "not run", "ran": 0, "skipped": 0, "failed": 0,
           "skipReasons": [], "seconds": None}
    times = suite_times(run_dir, suite)
    res.update(times)
    if rc == "":
        # Started but no exit code: the guest was stopped (timeout) while it ran.
        if times["tests"]:
            res["status"] = "cut off"
        return res
    res["status"] = "passed" if rc == "0" else "failed"
    secs = read(os.path.join(run_dir, suite + ".seconds")).strip()
    res["seconds"] = int(secs) if secs.isdigit() else None
    m = re.search(r"^\d+: Ran (\d+) tests?", log, re.M)
    if m:
        res["ran"] = int(m.group(1))
    m = re.search(r"^\d+: (?:OK|FAILED) \(([^)]*)\)", log, re.M)
    if m:
        for part in m.group(1).split(","):
            k, _, v = part.strip().partition("=")
            if k == "skipped":
                res["skipped"] = int(v)
            elif k in ("failures", "errors"):
                res["failed"] += int(v)
    reasons = []
    for r in re.findall(r"\.\.\. skipped '(.*)'$", log, re.M):
        if r not in reasons:
            reasons.append(r)
    res["skipReasons"] = reasons
    if res["status"] == "failed":
        res["failedTests"] = sorted(set(re.findall(r"^\d+: (?:FAIL|ERROR): (\S+)", log, re.M)))
    return res


def suite_times(run_dir, suite):
    """What harness.record_time wrote for a suite: the slowest tests, and the agents' mean
    start-to-ready and stop times (where a guest's time goes)."""
    tests, ready, stop = [], [], []
    for line in read(os.path.join(run_dir, suite + ".times")).splitlines():
        secs, _, what = line.partition(" ")
        try:
            secs = float(secs)
        except ValueError:
            continue
        if what.startswith("test "):
            tests.append((secs, what[5:]))
        elif what == "agent ready":
            ready.append(secs)
        elif what == "agent stop":
            stop.append(secs)
    return {"tests": len(tests), "lastTest": tests[-1][1] if tests else None,
            "slowest": sorted(tests, reverse=True)[:3], "agents": len(ready),
            "agentReadyMean": sum(ready) / len(ready) if ready else None,
            "agentStopMean": sum(stop) / len(stop) if stop else None}


def hooks_of(run_dir):
    try:
        probe = json.loads(read(os.path.join(run_dir, "probe.json")) or "{}")
    except ValueError:
        return {}, {}
    hooks = probe.get("hooks", {})
    chosen = {c: (hooks.get(c) or {}).get("chosen") or "none" for c in CONCERNS}
    why = {}
    for c in CONCERNS:
        if chosen[c] == "none":
            attempts = (hooks.get(c) or {}).get("attempts", [])
            why[c] = "; ".join("%s: %s" % (a.get("attach"), a.get("result")) for a in attempts)
    return chosen, why


def main():
    results = sys.argv[1]
    rows = []
    for name in sorted(os.listdir(results)):
        run_dir = os.path.join(results, name)
        if not os.path.isdir(run_dir):
            continue
        info = dict(line.split("=", 1) for line in read(os.path.join(run_dir, "guest-info"))
                    .splitlines() if "=" in line)
        job = dict(line.split("=", 1) for line in read(os.path.join(run_dir, "job"))
                   .splitlines() if "=" in line)
        suites = job.get("ECSGUARD_MATRIX_SUITES", "all")
        wanted = suites.split(",") if suites != "all" else sorted(
            f[:-4] for f in os.listdir(run_dir) if f.endswith(".log") and f != "console.log")
        chosen, why = hooks_of(run_dir)
        row = {"run": name, "kernel": info.get("kernel", "did not boot"),
               "cgroup": info.get("cgroup", job.get("ECSGUARD_MATRIX_CGROUP", "?")),
               "forced": " ".join(x for x in (job.get("ECSGUARD_TEST_HOOKS", ""),
                                              "caps=" + job["ECSGUARD_TEST_AGENT_CAPS"]
                                              if job.get("ECSGUARD_TEST_AGENT_CAPS") else "")
                                  if x),
               "seconds": read(os.path.join(run_dir, "seconds")).strip(),
               "hooks": chosen, "unavailable": why,
               "suites": [suite_result(run_dir, s) for s in wanted]}
        rows.append(row)

    ok = bool(rows) and all(s["status"] == "passed" for r in rows for s in r["suites"])
    with open(os.path.join(results, "matrix.json"), "w") as f:
        json.dump({"passed": ok, "runs": rows}, f, indent=2)

    columns = []
    for r in rows:
        for s in r["suites"]:
            if s["suite"] not in columns:
                columns.append(s["suite"])
    lines = ["| kernel | cgroup | forced | " + " | ".join(CONCERNS) + " | " +
             " | ".join(columns) + " |" if rows else "(no runs)"]
    if rows:
        lines.append("|" + "---|" * (3 + len(CONCERNS) + len(columns)))
    for r in rows:
        cells = [r["kernel"], r["cgroup"], r["forced"] or "-"]
        cells += [r["hooks"].get(c, "?") for c in CONCERNS]
        by_suite = {s["suite"]: s for s in r["suites"]}
        for col in columns:
            s = by_suite.get(col)
            if s is None:
                cells.append("-")
                continue
            cell = s["status"]
            if s["ran"]:
                cell += " %d/%d" % (s["ran"] - s["failed"] - s["skipped"], s["ran"])
            if s["skipped"]:
                cell += ", %d skipped" % s["skipped"]
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    notes = []
    for r in rows:
        for c, w in r["unavailable"].items():
            notes.append("- %s %s: %s unavailable: %s" % (r["kernel"], r["cgroup"], c, w))
        for s in r["suites"]:
            for reason in s["skipReasons"]:
                notes.append("- %s %s: %s skipped: %s" % (r["kernel"], r["cgroup"], s["suite"],
                                                         reason))
            for t in s.get("failedTests", []):
                notes.append("- %s %s: %s FAILED %s" % (r["kernel"], r["cgroup"], s["suite"], t))
            if s["status"] == "not run":
                notes.append("- %s %s: %s did not run (guest log: %s/console.log)"
                             % (r["kernel"], r["cgroup"], s["suite"], r["run"]))
            if s["status"] == "cut off":
                notes.append("- %s %s: %s cut off after %d tests, the last %s (guest stopped: "
                             "timeout?)" % (r["kernel"], r["cgroup"], s["suite"], s["tests"],
                                            s["lastTest"]))
    # Where each guest's time went: per suite, its seconds, agents started, mean ready and stop.
    timing = []
    for r in rows:
        parts = []
        for s in r["suites"]:
            if s["seconds"] is None and not s["tests"]:
                continue
            part = "%s %ss" % (s["suite"], s["seconds"] if s["seconds"] is not None else "?")
            if s["agents"]:
                part += " (%d agents, ready %.1fs, stop %.1fs)" % (
                    s["agents"], s["agentReadyMean"], s["agentStopMean"] or 0.0)
            if s["slowest"]:
                part += " slowest " + ", ".join("%s %.0fs" % (t.split(".")[-1], secs)
                                                for secs, t in s["slowest"])
            parts.append(part)
        if parts or r["seconds"]:
            timing.append("- %s %s%s: %ss: %s" % (r["kernel"], r["cgroup"],
                                                    " " + r["forced"] if r["forced"] else "",
                                                    r["seconds"] or "?", "; ".join(parts)))
    if timing:
        notes.append("\nTime per guest:")
        notes.extend(timing)
    # The hook_tax "suite" (bench/hook_tax.py) prints a table of its own: shown as it is.
    for r in rows:
        log = read(os.path.join(results, r["run"], "hook_tax.log"))
        if "| workload" in log:
            notes.append("\nhook_tax, %s %s:\n%s" % (r["kernel"], r["cgroup"],
                                                   log[log.index("| workload"):].rstrip()))
    text = "\n".join(lines + ([""] + notes if notes else [])) + "\n"
    # Where a suite failed, its failure reports, so a CI log alone says what broke.
    details = []
    for r in rows:
        for s in r["suites"]:
            if s["status"] != "failed":
                continue
            log = read(os.path.join(results, r["run"], s["suite"] + ".log"))
            blocks = re.findall(r"^\d+: ={20,}\n(.*?)(?=^\d+: (?:={20,}|-{20,}\n\d+: Ran))",
                                log, re.M | re.S)
            details.append("\n---- %s %s: %s ----" % (r["kernel"], r["cgroup"], s["suite"]))
            details.extend(b.rstrip()[:4000] for b in blocks[:8])
            if not blocks:
                details.append(log[-3000:])
    with open(os.path.join(results, "matrix.md"), "w") as f:
        f.write(text)
    sys.stdout.write(text)
    if details:
        sys.stdout.write("\n".join(details) + "\n\n")
    print("kernel-matrix: %s (results in %s)" % ("all passed" if ok else "FAILED", results))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
