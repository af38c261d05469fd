#!/usr/bin/env bash
# Build and run the libFuzzer targets of tests/fuzz (README there), each for a bounded time.
#
#   scripts/fuzz.sh [--build DIR] [--time SECONDS] [--jobs N] [--targets a,b,...]
#
#   --build DIR      build directory (default build-fuzz): configured with clang and
#                    -DECSGUARD_FUZZ=ON -DECSGUARD_TESTS=OFF, only the fuzz targets are built
#   --time SECONDS   per target (default 300: a local run; CI passes a short one)
#   --jobs N         targets run at once (default: the number of CPUs)
#   --targets LIST   a subset, by name (policy, http, ringbuf, ...; default: every target)
#
# Every target starts from its committed seeds (tests/fuzz/corpus/<name>, read only) plus what
# earlier runs in the same build directory found (DIR/fuzz-corpus/<name>), with its dictionary.
# Logs are DIR/fuzz-logs/<name>.log; a crash, leak, sanitizer report, time-out or broken
# contract leaves its input in DIR/fuzz-artifacts/<name>/ and makes the script exit 1 after
# every target ran. At the end a table gives, per target, the executions, exec/s and the
# coverage libFuzzer reached (cov: edges, ft: features).
set -euo pipefail
cd "$(dirname "$0")/.."

build=build-fuzz
seconds=300
jobs=$(nproc)
targets=""
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build=$2; shift 2 ;;
    --time) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --targets) targets=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "fuzz.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

all=$(sed -n '/^set(EG_FUZZ_TARGETS$/,/)/p' tests/fuzz/CMakeLists.txt | tr -d '()' |
      sed 's/set//; s/EG_FUZZ_TARGETS//' | tr -s ' \n' ' ')
[ -n "$targets" ] || targets=$all
targets=$(echo "$targets" | tr ',' ' ')
for t in $targets; do
    case " $all " in *" $t "*) ;; *) echo "fuzz.sh: no target named $t (have:$all)" >&2; exit 2 ;; esac
done

if ! command -v clang >/dev/null; then
    echo "fuzz.sh: clang is needed (libFuzzer); scripts/install-deps.sh installs it" >&2
    exit 1
fi
echo "== fuzz: configure and build $build (clang, -DECSGUARD_FUZZ=ON)"
start=$(date +%s)
CC=clang cmake -S . -B "$build" -DECSGUARD_FUZZ=ON -DECSGUARD_TESTS=OFF -DECSGUARD_WERROR=ON \
    >"$build.configure.log" 2>&1 || { cat "$build.configure.log" >&2; exit 1; }
rm -f "$build.configure.log"
cmake --build "$build" -j"$(nproc)" --target fuzz_all >/dev/null
echo "== fuzz: built in $(($(date +%s) - start)) s; $seconds s per target, $jobs at a time"

mkdir -p "$build/fuzz-logs" "$build/fuzz-corpus" "$build/fuzz-artifacts"
run_one() {
    local t=$1 log="$build/fuzz-logs/$1.log"
    local work="$build/fuzz-corpus/$t" artifacts="$build/fuzz-artifacts/$t/"
    rm -rf "$artifacts" # what a previous run left was reported then
    mkdir -p "$work" "$artifacts"
    local dict=() options=()
    [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
    # <target>.options: libFuzzer flags of its own, one per line (# comments).
    [ -f "tests/fuzz/$t.options" ] && mapfile -t options < <(grep -v '^#' "tests/fuzz/$t.options")
    # -timeout: an input taking 10 s is a hang; -rss_limit_mb: a runaway allocation is a bug.
    if "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts" "${dict[@]}" "${options[@]}" \
        "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
        echo "ok" >"$build/fuzz-logs/$t.status"
    else
        echo "FAILED" >"$build/fuzz-logs/$t.status"
    fi
}

for t in $targets; do
    rm -f "$build/fuzz-logs/$t.status" "$build/fuzz-logs/$t.log"
done
for t in $targets; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
        wait -n || true
    done
    run_one "$t" &
done
wait

status=0
printf '\n%-18s %12s %8s %8s %8s %7s  %s\n' target executions exec/s cov ft corpus result
for t in $targets; do
    log="$build/fuzz-logs/$t.log"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
    cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
    result=$(cat "$build/fuzz-logs/$t.status" 2>/dev/null || echo "FAILED")
    printf '%-18s %12s %8s %8s %8s %7s  %s\n' "$t" "${execs:--}" "${rate:--}" "${cov:--}" \
        "${ft:--}" "${corp:--}" "$result"
    if [ "$result" != ok ]; then
        status=1
    fi
done
if [ $status -ne 0 ]; then
    echo
    for t in $targets; do
        [ "$(cat "$build/fuzz-logs/$t.status" 2>/dev/null)" = ok ] && continue
        echo "== fuzz_$t failed; the end of $build/fuzz-logs/$t.log:"
        grep -E 'ERROR|SUMMARY|contract broken|Test unit written|artifact' "$build/fuzz-logs/$t.log" |
            tail -8 || tail -20 "$build/fuzz-logs/$t.log"
        for a in "$build/fuzz-artifacts/$t"/*; do
            [ -f "$a" ] && echo "   reproduce: $build/fuzz/fuzz_$t $a" &&
                echo "   then, with the fix, add it as tests/fuzz/corpus/$t/crash-<what-it-broke>"
        done
    done
fi
exit $status
