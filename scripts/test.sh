#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#   1. install what is missing (Debian packages, the fake CloudWatch's npm lockfile)
#   2. check formatting of the C sources (.clang-format)
#   3. build twice: release (build/) and AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
#   4. run every unit test (cmocka) and every real-kernel integration test (runc containers) in
#      both builds. Integration tests need root and load BPF programs; they do not skip here.
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
exit $status
