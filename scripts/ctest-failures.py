#!/usr/bin/env python3
"""Print what each failed test of a ctest run said, for the end of test.sh's output.

CI keeps only the tail of a run's output, and a failure in the sanitizer build's tests scrolls
out of it behind the fuzzers and the kernel matrix. This prints, per failed test, the part of
its output that says why: a Python unittest's failure blocks (from the first '=====' line), or
else the lines that name a failure anywhere in it (a cmocka assertion, a sanitizer's report, a
node test's "not ok") and the last lines.

usage: ctest-failures.py BUILD_DIR [MAX_LINES_PER_TEST]
"""
import os
import re
import sys

SECTION_START = re.compile(r"^\d+/\d+ Testing: (\S+)$")


def failed_names(build_dir):
    path = os.path.join(build_dir, "Testing", "Temporary", "LastTestsFailed.log")
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            # Lines look like "32:unit.test_rootfs_written_state".
            return [line.strip().split(":", 1)[-1] for line in f if line.strip()]
    except FileNotFoundError:
        return []


def outputs(build_dir):
    """Each test's output lines in LastTest.log, by test name."""
    path = os.path.join(build_dir, "Testing", "Temporary", "LastTest.log")
    sections, name, lines, in_output = {}, None, [], False
    try:
        f = open(path, encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return sections
    with f:
        for raw in f:
            line = raw.rstrip("\n")
            m = SECTION_START.match(line)
            if m:
                if name:
                    sections[name] = lines
                name, lines, in_output = m.group(1), [], False
                continue
            if name is None:
                continue
            if line == "Output:":
                in_output = True
                continue
            if line == "<end of output>":
                in_output = False
            if in_output:
                lines.append(line)
        if name:
            sections[name] = lines
    return sections


# A cmocka assertion ("[  ERROR   ] --- ...", "[   LINE   ] --- file:line: error: Failure!"),
# a sanitizer's report, a node test's "not ok": kept from anywhere in the output.
KEY_LINE = re.compile(r"\[  ERROR   \]|\[   LINE   \]|Sanitizer|runtime error:|^not ok |"
                      r"^\s+error: |AssertionError|Traceback")


def why(lines, max_lines):
    # Drop the ctest separators around the output and its closing status lines.
    body = [l for l in lines if not l.startswith("-" * 20)]
    start = next((i for i, l in enumerate(body) if l.startswith("=" * 20)), None)
    if start is not None:
        part = body[start:]
    else:
        tail = body[-(max_lines // 2):]
        keys = [l for l in body[:len(body) - len(tail)] if KEY_LINE.search(l)][:max_lines // 2]
        part = keys + (["..."] if keys else []) + tail
    if len(part) > max_lines:
        part = part[:max_lines] + [f"... ({len(part) - max_lines} more lines in LastTest.log)"]
    return part


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    build_dir = sys.argv[1]
    max_lines = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    names = failed_names(build_dir)
    if not names:
        return 0
    sections = outputs(build_dir)
    print(f"-- {build_dir}: {len(names)} failed: {', '.join(names)}")
    for name in names:
        print(f"--- {name}")
        lines = sections.get(name)
        if lines is None:
            print("    (no output recorded: the test did not start, or ctest timed it out)")
            continue
        for line in why(lines, max_lines):
            print(f"    {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
