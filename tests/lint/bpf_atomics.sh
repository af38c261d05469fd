#!/bin/sh
# Every kernel program must load on 5.10 (Amazon Linux 2, older Bottlerocket), which accepts one
# atomic instruction, BPF_XADD ("lock *(u64 *)(rX + off) += rY", its result unused), and refuses
# any other (an atomic or, and, xor, a fetch form, xchg, cmpxchg: 5.12+) with "BPF_STX uses
# reserved fields", failing the whole object. Clang makes those from plain source, differently
# per target (an add of a constant 0, arm64's barrier, became an atomic or: the lifecycle object
# did not load on arm64 5.10), so each object is checked as compiled.
#
#   tests/lint/bpf_atomics.sh OBJECT.bpf.o...
set -u
objdump=$(command -v llvm-objdump || ls /usr/bin/llvm-objdump-* 2>/dev/null | sort -V | tail -1)
[ -n "$objdump" ] || { echo "bpf_atomics: llvm-objdump not found" >&2; exit 2; }
status=0
for o in "$@"; do
    bad=$("$objdump" -d --no-show-raw-insn "$o" |
        grep -E '^ *[0-9]+:' |
        grep -E 'lock |atomic_|xchg' |
        grep -vE '^ *[0-9]+:[[:space:]]+lock \*\((u32|u64) \*\)\([rw][0-9]+ [+-] [0-9]+\) \+= [rw][0-9]+$')
    if [ -n "$bad" ]; then
        echo "bpf_atomics: $o has atomics 5.10 refuses:" >&2
        echo "$bad" | head -5 >&2
        status=1
    fi
done
[ $status = 0 ] && echo "bpf_atomics: $# objects, plain atomic adds only"
exit $status
