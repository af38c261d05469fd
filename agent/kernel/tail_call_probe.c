#include "agent/kernel/tail_call_probe.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

/* The instruction encodings the probe needs (linux/bpf.h has the opcodes, not the macros). */
static struct bpf_insn insn(__u8 code, __u8 dst, __u8 src, __s16 off, __s32 imm)
{
    return (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

bool eg_probe_subprog_tail_calls(char *why, size_t whylen)
{
    int map_fd =
        bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, NULL, sizeof(__u32), sizeof(__u32), 1, NULL);
    if (map_fd < 0) {
        snprintf(why, whylen, "no program array (%s)", strerror(errno));
        return false;
    }
    /*
     * main: keep ctx, call the subprogram, tail-call slot 0 of the (empty) array, return 0;
     * subprogram: return 0.
     */
    const struct bpf_insn prog[] = {
        insn(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0),                    /* 0: r6 = ctx */
        insn(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 7),               /* 1: call insn 9 */
        insn(BPF_ALU64 | BPF_MOV | BPF_X, 1, 6, 0, 0),                    /* 2: r1 = ctx */
        insn(BPF_LD | BPF_DW | BPF_IMM, 2, BPF_PSEUDO_MAP_FD, 0, map_fd), /* 3-4: r2 = map */
        insn(0, 0, 0, 0, 0),
        insn(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0),         /* 5: r3 = 0 */
        insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_tail_call), /* 6 */
        insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),         /* 7: r0 = 0 */
        insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),                  /* 8 */
        insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),         /* 9: subprogram */
        insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),                  /* 10 */
    };
    int fd = bpf_prog_load(BPF_PROG_TYPE_TRACEPOINT, "eg_tail_probe", "GPL", prog,
                           sizeof(prog) / sizeof(prog[0]), NULL);
    char log[4096] = "";
    int err = errno;
    if (fd < 0) {
        /* Once more with the verifier's log, for its reason (a log that overflows fails). */
        LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = log, .log_size = sizeof(log),
                    .log_level = 1);
        int again = bpf_prog_load(BPF_PROG_TYPE_TRACEPOINT, "eg_tail_probe", "GPL", prog,
                                  sizeof(prog) / sizeof(prog[0]), &opts);
        if (again >= 0)
            close(again);
    }
    close(map_fd);
    if (fd >= 0) {
        close(fd);
        return true;
    }
    /* The verifier's reason is its last line. */
    size_t n = strlen(log);
    while (n > 0 && log[n - 1] == '\n')
        log[--n] = '\0';
    const char *last = strrchr(log, '\n');
    last = last ? last + 1 : log;
    snprintf(why, whylen, "%s%s%s", strerror(err), last[0] ? ": " : "", last);
    return false;
}
