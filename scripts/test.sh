#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#   1. install what is missing (Debian packages, the npm lockfiles of the fake CloudWatch and
#      of the finding schema check)
#   2. check formatting of the C sources (.clang-format)
#   3. build twice: release (build/) and AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
#   4. run every unit test (cmocka) and every real-kernel integration test (runc containers) in
#      both builds. Integration tests need root and load BPF programs; they do not skip here.
#   5. the kernel matrix (scripts/kernel-matrix.sh): the kernel-facing suites again under the
#      kernels ECS hosts run (Debian's 6.1 and 6.12 under QEMU), against the release build.
#      ECSGUARD_KERNEL_MATRIX=0 leaves it out of a local run; CI always runs it.
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
for variant in build-asan build; do
    echo "== $variant: tests"
    (cd "$variant" && ctest --output-on-failure --timeout 900) || status=1
done

if [ "${ECSGUARD_KERNEL_MATRIX:-1}" != 0 ]; then
    echo "== kernel matrix"
    # Two guests at a time: the suites spend much of their time waiting (agent ticks, report
    # intervals), so two emulated guests on two cores finish well before one after the other.
    # Every kernel-facing suite on 6.1 and 6.12 with cgroup v2 (AL2023, Bottlerocket); the
    # suites whose paths depend on the cgroup layout on 6.1 hybrid (ECS-optimized AL2023 AMIs
    # that keep v1); 5.10 (AL2, older Bottlerocket: the legacy task-access programs); and
    # the kprobe capability fallback, which no kernel here chooses by itself. The classes that
    # force the legacy twins run natively and in the 5.10 guest only (docs/kernel-matrix.md).
    ./scripts/kernel-matrix.sh --build build --jobs 2 --kernels 6.1,6.12 --cgroup v2 \
        --suites capabilities,rootfs,hostns,cli_and_flood,identity,cgroup_escape \
        --variant 6.1/hybrid::capabilities,rootfs,hostns \
        --variant 5.10/hybrid::capabilities,rootfs,hostns,cgroup_escape \
        --variant 6.12:capability=kprobe:capabilities || status=1
fi
exit $status
