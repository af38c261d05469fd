#!/bin/sh
# ecsguard benchmark suite (issue 7): one command, prints a table.
#   bench/run.sh (as root) [bench.py options, e.g. --rounds 5 --scale 0.5 --peers bpftrace]
# Installs the build dependencies (scripts/install-deps.sh), builds a Release tree in build-bench/ (override with ECSGUARD_BENCH_BUILD), installs the
# peers (bpftrace, auditd) and valgrind with apt when missing, never leaves auditd running or its rules
# loaded. The floor peer (bench/floor.c) exits with its parent and pins nothing, so none of its
# BPF programs outlive the run. Exits non-zero only on a harness error, never on a missed target.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${ECSGUARD_BENCH_BUILD:-$ROOT/build-bench}

if [ "$(id -u)" != 0 ]; then
    echo "bench: run as root (BPF, runc, auditd)" >&2
    exit 1
fi

cleanup() {
    if command -v auditctl >/dev/null 2>&1; then
        auditctl -D >/dev/null 2>&1 || true
        auditctl -e 0 >/dev/null 2>&1 || true
    fi
    # auditd instances this suite started run with -c /run/ecsguard-bench/audit
    for p in $(pgrep -f '^auditd -n -c /run/ecsguard-bench/audit' 2>/dev/null); do
        kill "$p" 2>/dev/null || true
    done
    rm -rf /run/ecsguard-bench/audit
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The build and test dependencies (compiler, libbpf, runc, busybox, ...) on a fresh machine.
"$ROOT/scripts/install-deps.sh" >&2 || { echo "bench: installing dependencies failed" >&2; exit 1; }

missing=""
command -v bpftrace >/dev/null 2>&1 || missing="$missing bpftrace"
command -v auditd >/dev/null 2>&1 || missing="$missing auditd"
command -v runc >/dev/null 2>&1 || missing="$missing runc"
command -v busybox >/dev/null 2>&1 || missing="$missing busybox-static"
command -v bpftool >/dev/null 2>&1 || missing="$missing bpftool"
command -v valgrind >/dev/null 2>&1 || missing="$missing valgrind"  # callgrind: pipeline instruction counts
if [ -n "$missing" ]; then
    echo "bench: installing$missing" >&2
    # The auditd package would start its daemon through invoke-rc.d: forbid that here.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d.ecsguard-bench
    chmod +x /usr/sbin/policy-rc.d.ecsguard-bench
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        mv /usr/sbin/policy-rc.d.ecsguard-bench /usr/sbin/policy-rc.d
        own_policy=1
    else
        rm -f /usr/sbin/policy-rc.d.ecsguard-bench
        own_policy=0
    fi
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing; } >&2 ||
        { [ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d; echo "bench: apt failed" >&2; exit 1; }
    [ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
    # If a packaged auditd started anyway, it is not ours to keep running.
    if pgrep -x auditd >/dev/null 2>&1 && [ -x /etc/init.d/auditd ]; then
        /etc/init.d/auditd stop >/dev/null 2>&1 || true
    fi
fi

if [ ! -x "$BUILD/ecsguard" ] || [ ! -x "$BUILD/tests/helpers/egprobe" ] || [ ! -x "$BUILD/ecsguard_flood" ] || [ ! -x "$BUILD/ecsguard_floor" ] || [ "${ECSGUARD_BENCH_REBUILD:-1}" = 1 ]; then
    { cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DECSGUARD_WERROR=OFF >/dev/null &&
        cmake --build "$BUILD" -j"$(nproc)" --target ecsguard egprobe ecsguard_pipeline_bench ecsguard_flood ecsguard_floor >/dev/null; } ||
        { echo "bench: build failed" >&2; exit 1; }
fi

"$ROOT/scripts/host-prep.sh" >/dev/null 2>&1 || true

export ECSGUARD_BIN="$BUILD/ecsguard"
export ECSGUARD_EGPROBE="$BUILD/tests/helpers/egprobe"
export ECSGUARD_BUILD_DIR="$BUILD"
export ECSGUARD_FIXTURES="$ROOT/tests/fixtures"
cd "$ROOT/tests/integration"
python3 "$ROOT/bench/bench.py" "$@"
