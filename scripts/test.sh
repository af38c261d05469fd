#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#   1. install what is missing (Debian packages, the npm lockfiles of the fake CloudWatch, of
#      the finding schema check and of the deploy/ check)
#   2. check formatting of the C sources (.clang-format)
#   3. build twice: release (build/) and AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
#   4. the sanitizer build runs every unit test (cmocka) and every real-kernel integration test
#      (runc containers; they need root, load BPF programs and do not skip here) but the soak;
#      the release build runs the unit tests and the soak (its memory envelope is the shipped
#      build's), and its other integration runs are the kernel matrix's
#   5. the fuzzers (scripts/fuzz.sh, tests/fuzz/README.md): a third, clang-built directory
#      (build-fuzz/) with only the libFuzzer targets, each run for ECSGUARD_FUZZ_SECONDS
#      (default 60) two at a time; any crash, leak, hang or broken contract fails the run and
#      leaves its reproducer in build-fuzz/fuzz-artifacts/. 0 leaves it out of a local run.
#   6. the kernel matrix (scripts/kernel-matrix.sh): the kernel-facing suites again, against the
#      release build, under the kernels ECS hosts run (Debian's 6.1, 6.12 and 5.10 under QEMU).
#      ECSGUARD_KERNEL_MATRIX=0 leaves it out of a local run; CI always runs it.
# Time: CI's target is about 60 minutes on two cores (docs/kernel-matrix.md, "Budget").
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: run as root (the integration tests load BPF programs and start containers)" >&2
    exit 1
fi

./scripts/install-deps.sh
if [ -f tests/cloudwatch-fake/package-lock.json ]; then
    (cd tests/cloudwatch-fake && npm ci --no-audit --no-fund --loglevel=error)
fi
# The finding schema check's AWS SDK packages (GuardDuty's model); no install scripts needed.
(cd tests/finding-schema && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
# The deploy/ check's ECS API model (@aws-sdk/client-ecs) and YAML reader.
(cd tests/deploy-check && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
# cfn-lint comes with the machine image or not at all (no Debian or npm package): say which.
if command -v cfn-lint >/dev/null; then
    echo "== cfn-lint $(cfn-lint --version 2>/dev/null | awk '{print $2}'): unit.deploy_cfn_lint lints deploy/cloudformation"
else
    echo "== cfn-lint not installed: the template is checked by unit.deploy_check only (ECS API model, queries, filters), not against CloudFormation's schemas"
fi

echo "== formatting"
mapfile -t sources < <(git ls-files '*.c' '*.h' | grep -v '^bpf/vmlinux/')
clang-format --dry-run --Werror "${sources[@]}"

jobs=$(nproc)
for variant in build build-asan; do
    sanitize=OFF
    [ "$variant" = build-asan ] && sanitize=ON
    echo "== $variant: configure and build"
    cmake -S . -B "$variant" -DECSGUARD_SANITIZE="$sanitize" -DECSGUARD_WERROR=ON >/dev/null
    cmake --build "$variant" -j"$jobs"
done

# ASan: fail on leaks and errors; UBSan: fail on the first report (-fno-sanitize-recover).
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

status=0
matrix=${ECSGUARD_KERNEL_MATRIX:-1}
# The classes that force every concern through its legacy task-access twins: with the matrix,
# the 5.10 guest runs the twins where a kernel chooses them, so the native run leaves them out;
# without it (a local run), the native kernel forces them as the only place they run.
[ "$matrix" = 0 ] || export ECSGUARD_TEST_FORCED_TWINS=0

# What failed, said again at the end: CI keeps only the tail of the output, and a failed
# test's output scrolls out of it behind the fuzzers and the kernel matrix.
failed=()
ctest_stage() { # ctest_stage NAME BUILD_DIR CTEST_ARGS...
    local name=$1 dir=$2
    shift 2
    echo "== $name"
    # ctest leaves the list of a former run's failures in place when nothing fails.
    rm -f "$dir/Testing/Temporary/LastTestsFailed.log"
    if ! (cd "$dir" && ctest --output-on-failure --timeout 900 "$@"); then
        status=1
        failed+=("$name")
        ctest_failed+=("$dir")
    fi
}
ctest_failed=()
ctest_stage "build-asan: unit and integration tests (all but the soak)" build-asan -LE soak
ctest_stage "build: unit tests and the soak (its other integration runs are the kernel matrix's)" \
    build -L 'unit|soak'

# A directory of its own rather than the sanitizer build compiled by clang with libFuzzer's
# instrumentation: that would slow every integration test the sanitizer build runs (comparison
# tracing on every branch of the agent) for the ~40 s of CPU the extra build costs here.
fuzz_seconds=${ECSGUARD_FUZZ_SECONDS:-60}
if [ "$fuzz_seconds" != 0 ]; then
    echo "== fuzz: every target ${fuzz_seconds} s"
    if ! ./scripts/fuzz.sh --build build-fuzz --time "$fuzz_seconds" --jobs 2; then
        status=1
        failed+=("fuzz (reproducers in build-fuzz/fuzz-artifacts/)")
    fi
fi

if [ "$matrix" != 0 ]; then
    echo "== kernel matrix"
    # Two guests at a time on two cores, longest first. What each guest runs is chosen by the
    # code paths its kernel takes (docs/kernel-matrix.md): every kernel-facing suite on 6.1
    # with cgroup v2 (Amazon Linux 2023 and Bottlerocket, the kernel most ECS hosts run); on
    # 5.10 (Amazon Linux 2, older Bottlerocket) every suite whose concerns fall back to the
    # legacy task-access programs there; on 6.12 the suites whose programs differ from 6.1's
    # (rootfs file fields through bpf_rdonly_cast, host-namespace checks with the task kfuncs);
    # capabilities on 6.1 with hybrid cgroups (ECS-optimised AMIs that keep v1 controllers),
    # the agent started with only the unprivileged daemon variant's capabilities (on 6.1 the
    # running agent's map reads still need bpf_capable(): SYS_ADMIN stands in for BPF);
    # and a kernel that cannot attach fentry (arm64 before 6.4: Graviton hosts on 6.1 and
    # 5.10), which no x86_64 kernel here is by itself: 6.12 forced to the kprobe capability
    # fallback and to the root filesystem's syscall tracepoints, where kprobes on the LSM
    # hooks decide short-lived containers' path operations and record #! scripts' files.
    # The two variants run a handful of capability tests each (the hook's or the agent's
    # capabilities under test, not the whole suite again): a guest test costs 15-25 s of agent
    # start and stop under emulation (docs/kernel-matrix.md, "Budget").
    cap=test_capabilities.CapabilityUse
    unprivileged=$cap.test_sys_admin_mount_is_reported_with_task_identity_and_sibling_not_blamed
    unprivileged+=,$cap.test_net_admin_link_change,$cap.test_bpf_map_create_is_high
    unprivileged+=,$cap.test_denied_attempt_is_low
    unprivileged+=,$cap.test_container_that_lives_and_dies_while_the_agent_reads_nothing_is_seen
    unprivileged+=,test_confinement.UnprivilegedDaemonVariant
    kprobe=$cap.test_sys_admin_mount_is_reported_with_task_identity_and_sibling_not_blamed
    kprobe+=,$cap.test_denied_attempt_is_low
    kprobe+=,$cap.test_mount_in_a_user_namespace_it_created_is_namespaced_not_host
    kprobe+=,$cap.test_checks_from_several_syscalls_name_them_all
    kprobe+=,$cap.test_host_processes_are_not_reported
    kprobe+=,$cap.test_mapping_below_mmap_min_addr_is_a_sys_rawio_check
    rootfs=test_rootfs.RootfsWrites
    kprobe+=,$rootfs.test_path_operations_of_a_container_that_exits_at_once_are_decided_in_the_kernel
    kprobe+=,$rootfs.test_a_verdict_left_by_a_failed_call_is_not_taken_by_a_later_one
    kprobe+=,$rootfs.test_script_written_in_the_container_and_run_is_new_binary_executed
    # And the host-namespace concern on 6.1's syscall tracepoints (arm64 6.1 attaches no
    # fentry): the tracepoint programs without bpf_rdonly_cast (6.2+), whose file fields are
    # probe reads; the tracepoint twins with the kfunc run natively (6.18).
    hns=test_hostns.HostNamespaces
    tracepoints=$hns.test_vm_write_and_proc_mem_of_a_host_process_are_high
    tracepoints+=,$hns.test_setns_into_the_host_mount_namespace_is_high
    tracepoints+=,$hns.test_kill_of_a_host_process
    tracepoints+=,$hns.test_proc_mem_write_opens_through_every_open_call_are_seen
    # ... and its open check tail-called from the root filesystem concern's tracepoint open
    # exits (both concerns on the tracepoints: what arm64 6.1 runs), probe-read flavours.
    tails=$hns.test_proc_mem_write_opens_through_every_open_call_are_seen
    tails+=,$hns.test_vm_write_and_proc_mem_of_a_host_process_are_high
    # The capability and host-namespace suites run with the root filesystem and compat-syscall
    # concerns left out (--hook rootfsWrites=off,compatSyscalls=off, in guests of their own):
    # their programs depend on neither, and on 5.10 the rootfs legacy twins are most of an
    # agent's start (16 of 19 s), on 6.x its ~50 trampolines most of a stop, and the compat
    # concern's 53 kprobes add ~3 s to a 5.10 agent's start and ~6 s to its stop under
    # emulation (0.5 s on 6.1), paid by each of those suites' 29 agents. The native run
    # (sanitizer build) runs them with every concern that loads there. 5.10's suites are split
    # over three guests (legacy programs take the verifier longest). Guests run longest first,
    # two at a time (the order below).
    off=rootfsWrites=off,compatSyscalls=off
    ./scripts/kernel-matrix.sh --build build --jobs 2 --timeout 2400 \
        --kernels 6.1 --cgroup v2 \
        --suites rootfs,cli_and_flood,identity,cgroup_escape,escapes,compat \
        --variant 5.10/hybrid::cgroup_escape,escapes,compat \
        --variant "5.10/hybrid:$off:capabilities,hostns" \
        --variant 5.10/hybrid::rootfs \
        --variant "6.1/v2:$off:capabilities,hostns" \
        --variant 6.12/v2::rootfs,compat \
        --variant "6.12/v2:$off:hostns" \
        --variant "6.1/hybrid::$unprivileged:ecs-unprivileged" \
        --variant "6.12:capability=kprobe,rootfsWrites=syscalls:$kprobe" \
        --variant "6.1/v2:hostNamespaces=syscalls,$off:$tracepoints" \
        --variant "6.1/v2:hostNamespaces=syscalls,rootfsWrites=syscalls,compatSyscalls=off:$tails" || {
        status=1
        failed+=("kernel matrix")
    }
fi

if [ "$status" != 0 ]; then
    echo "== failed: ${#failed[@]} stage(s)"
    for stage in "${failed[@]}"; do
        echo "- $stage"
    done
    for dir in "${ctest_failed[@]}"; do
        ./scripts/ctest-failures.py "$dir" 60 || true
    done
    # A fuzzer's finding, small enough to rebuild from the log: its first 512 bytes in hex.
    for log in build-fuzz/fuzz-logs/*.status; do
        [ -f "$log" ] && [ "$(cat "$log")" != ok ] || continue
        t=$(basename "$log" .status)
        echo "-- fuzz_$t:"
        grep -E 'ERROR|SUMMARY|contract broken' "build-fuzz/fuzz-logs/$t.log" | tail -8 || true
        for a in build-fuzz/fuzz-artifacts/"$t"/*; do
            [ -f "$a" ] || continue
            echo "   $a ($(stat -c %s "$a") bytes):"
            od -An -tx1 -N512 "$a" | sed 's/^/   /'
        done
    done
else
    echo "== all passed"
fi
exit $status
