"""The short soak (issue 19, Faults): bench/soak.py for one minute, containers starting and
stopping all the time under a steady event load; the agent's fds and the kernel tables that
follow live things must stay flat, CPU must not climb, nothing may be dropped, RSS must stay
within its envelope, and the plot must be written. The 30-minute run and its figures:
docs/reliability.md.
"""

import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOAK = os.path.join(HERE, "..", "..", "bench", "soak.py")


def python_with_matplotlib():
    """This interpreter, or Debian's (python3-matplotlib, scripts/install-deps.sh) when this one
    is another installation without it."""
    for exe in (sys.executable, "/usr/bin/python3"):
        if os.path.exists(exe) and subprocess.run(
                [exe, "-c", "import matplotlib"], capture_output=True).returncode == 0:
            return exe
    raise AssertionError("no python3 with matplotlib: scripts/install-deps.sh installs "
                         "python3-matplotlib")


class Soak(unittest.TestCase):

    def test_one_minute_soak_is_flat(self):
        out = os.path.join(os.environ["ECSGUARD_BUILD_DIR"], "integration", "soak")
        r = subprocess.run([python_with_matplotlib(), SOAK, "--minutes", "1", "--interval", "2",
                            "--out", out], capture_output=True, text=True, timeout=400)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        with open(os.path.join(out, "soak.json")) as f:
            result = json.load(f)
        self.assertGreater(result["containersStarted"], 10, result["lastContainerError"])
        self.assertEqual(result["containerErrors"], 0, result["lastContainerError"])
        for key in ("fds", "homes", "setup_marks", "kernel_containers", "rss_mib", "cpu_pct",
                    "drops"):
            self.assertTrue(result["verdicts"][key]["ok"], (key, result["verdicts"][key]))
        with open(os.path.join(out, "soak.png"), "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")


if __name__ == "__main__":
    unittest.main()
