#!/bin/bash
# PID 1 of a kernel-matrix guest (scripts/kernel-matrix.sh copies it into the guest's results
# directory, shared at /run/kernel-matrix). The root is the host's, read-only under a tmpfs
# overlay. Sets up what a container host has (cgroups in the job's mode, bpffs, tracefs, lo),
# runs each suite of the job, writes <suite>.log and <suite>.rc beside this file, powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
out=/run/kernel-matrix
# shellcheck disable=SC1091
. "$out/job"
# Every agent the suites start is forced to these hook variants (harness.forced_hook_args).
export ECSGUARD_TEST_HOOKS=${ECSGUARD_TEST_HOOKS:-}
# Every agent starts with only these capabilities (harness.agent_caps_prefix; "" for all).
export ECSGUARD_TEST_AGENT_CAPS=${ECSGUARD_TEST_AGENT_CAPS:-}
# 0: the LegacyTaskAccess classes skip themselves (kernel-matrix.sh --forced-twins turns them on).
export ECSGUARD_TEST_FORCED_TWINS=${ECSGUARD_TEST_FORCED_TWINS:-0}
# Tests marked native_only (harness.py) are left out here: the native run covers them.
export ECSGUARD_MATRIX_GUEST=1
# --seccomp for every agent (harness.py; "" for the default, enforce).
export ECSGUARD_TEST_SECCOMP=${ECSGUARD_TEST_SECCOMP:-}

finish() {
    sync
    echo o >/proc/sysrq-trigger
    sleep 5
    busybox poweroff -f
}
trap finish EXIT

mount -t proc proc /proc
mount -t sysfs sys /sys
mkdir -p /dev/pts /dev/shm
# The links a host's udev/systemd makes: runc 1.1 re-executes itself from a sealed copy
# (fexecve), which failed with ENOENT on arm64 5.10 without /dev/fd.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
[ -e /dev/stdin ] || ln -s /proc/self/fd/0 /dev/stdin
[ -e /dev/stdout ] || ln -s /proc/self/fd/1 /dev/stdout
[ -e /dev/stderr ] || ln -s /proc/self/fd/2 /dev/stderr
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mkdir -p /run/lock /run/user
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true
echo 1 >/proc/sys/kernel/sysrq
# The kernel's own modules where a host keeps them (the unpacked package, read-only over 9p),
# for the tests that load one (KernelModuleLoaded).
if [ -n "${ECSGUARD_MATRIX_MODULES:-}" ] && [ ! -e "/lib/modules/$(uname -r)" ]; then
    mkdir -p /lib/modules
    ln -s "$ECSGUARD_MATRIX_MODULES" "/lib/modules/$(uname -r)"
fi

case "$ECSGUARD_MATRIX_CGROUP" in
v2)
    mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
    # Controllers for the children, as systemd enables them on a v2 host.
    for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
        echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
    done
    ;;
hybrid)
    # The layout of the host the project is developed on and of the hybrid ECS AMIs: one v1
    # hierarchy per controller, a named systemd hierarchy, cgroup2 at unified/.
    mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup
    for c in cpu cpuacct cpuset memory devices freezer blkio pids; do
        mkdir -p "/sys/fs/cgroup/$c"
        mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c" 2>/dev/null || rmdir "/sys/fs/cgroup/$c"
    done
    mkdir -p /sys/fs/cgroup/systemd /sys/fs/cgroup/unified
    mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd
    mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
    ;;
esac

ip link set lo up
hostname "matrix-$ECSGUARD_MATRIX_KERNEL"

build=$ECSGUARD_MATRIX_BUILD
# Container bundles and overlay rootfs live under the build dir; overlayfs cannot use the
# guest's overlay root as an upper layer, so they get a tmpfs.
mkdir -p "$build/integration"
mount -t tmpfs tmpfs "$build/integration"

{
    echo "kernel=$(uname -r)"
    echo "cgroup=$ECSGUARD_MATRIX_CGROUP"
    echo "hooks=$ECSGUARD_TEST_HOOKS"
    echo "cpus=$(nproc)"
} >"$out/guest-info"

if [ "$ECSGUARD_MATRIX_SUITES" = all ]; then
    suites=$(cd "$build" && ctest -N -L integration | sed -n 's/.*integration\.test_\([a-z_0-9]*\)$/\1/p' | tr '\n' ' ')
else
    suites=${ECSGUARD_MATRIX_SUITES//,/ }
fi

# What the agent chose here, for the matrix's hook columns.
agent=$build/ecsguard
hook_args=()
for h in ${ECSGUARD_TEST_HOOKS//,/ }; do hook_args+=(--hook "$h"); done
"$agent" probe ${hook_args[@]+"${hook_args[@]}"} >"$out/probe.json" 2>"$out/probe.err" || true
if [ ! -x "$agent" ] || [ ! -s "$out/probe.json" ]; then
    # Nothing can run: every suite fails, saying why (never an empty pass).
    for s in $suites; do
        echo "kernel-matrix guest: no usable agent at $agent (probe: $(head -c 300 "$out/probe.err"))" >"$out/$s.log"
        echo 1 >"$out/$s.rc"
        echo 0 >"$out/$s.seconds"
    done
    exit 0
fi

src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt")
for s in $suites; do
    start=$(date +%s)
    # Each test's time and each agent's ready/stop times (harness.record_time), for the report.
    export ECSGUARD_TEST_TIMES=$out/$s.times
    case "$s" in
    hook_tax)
        # Not a test suite: the syscall-tracepoint tax, tracepoints against fentry, in this guest.
        (cd "$src" && ECSGUARD_BIN=$agent ECSGUARD_EGPROBE=$build/tests/helpers/egprobe \
            ECSGUARD_BUILD_DIR=$build PYTHONDONTWRITEBYTECODE=1 \
            python3 bench/hook_tax.py --rounds "${ECSGUARD_HOOK_TAX_ROUNDS:-7}" \
            --json "$out/hook_tax.json") >"$out/$s.log" 2>&1
        echo $? >"$out/$s.rc"
        ;;
    unit)
        # The build's unit tests (cmocka, node, the CLI lint), for a cross build (arm64) that
        # runs them nowhere else; not those that need the build host's tools, which run there
        # against the cross build (unit.layering.*: cmake --build; unit.bpf_compiles_for_*:
        # clang; unit.deploy_dockerfile: cmake and readelf; unit.deploy_cfn_lint: cfn-lint).
        (cd "$build" && ctest -V -L unit \
            -E '^unit\.(layering\.|bpf_compiles_for_|deploy_dockerfile$|deploy_cfn_lint$)' \
            --timeout 900 --no-tests=error) >"$out/$s.log" 2>&1
        echo $? >"$out/$s.rc"
        ;;
    *.*)
        # One test (test_hostns.HostNamespaces.test_x), with the environment ctest gives.
        (cd "$src/tests/integration" && ECSGUARD_BIN=$agent \
            ECSGUARD_EGPROBE=$build/tests/helpers/egprobe ECSGUARD_BUILD_DIR=$build \
            ECSGUARD_FIXTURES=$src/tests/fixtures PYTHONDONTWRITEBYTECODE=1 \
            ECSGUARD_FINDINGS_LOG=$build/integration/findings.jsonl \
            python3 -m unittest -v "$s" 2>&1 | sed 's/^/0: /'
            exit "${PIPESTATUS[0]}") >"$out/$s.log"
        echo $? >"$out/$s.rc"
        ;;
    *)
        (cd "$build" && ctest -V -R "^integration\.test_$s\$" --timeout 1500 --no-tests=error) >"$out/$s.log" 2>&1
        echo $? >"$out/$s.rc"
        ;;
    esac
    echo $(($(date +%s) - start)) >"$out/$s.seconds"
    # Every finding line the agents wrote here, kept beside the logs (the build dir's copy is
    # on this guest's tmpfs; ctest's schema check resets it per run of a suite).
    if [ -f "$build/integration/findings.jsonl" ]; then
        cat "$build/integration/findings.jsonl" >>"$out/findings.jsonl"
        : >"$build/integration/findings.jsonl"
    fi
done
