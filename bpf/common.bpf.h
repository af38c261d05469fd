/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one header every ecsguard kernel object includes: the shared pieces under bpf/, in
 * dependency order (each also includes what it needs, so it builds alone), and the license,
 * defined once per object.
 *
 * An umbrella rather than per-object includes, because every object must declare the same
 * shared maps and load-time values: the agent hands one set of map fds to all objects and sets
 * the read-only values in every skeleton (agent/kernel/bpf_loader.c), and each object's maps
 * keep one order. An object that included only what it calls would lose maps (and change its
 * skeleton); helpers it does not call are static inline and cost it nothing.
 */
#ifndef ECSGUARD_COMMON_BPF_H
#define ECSGUARD_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "events.h"

/* Before the pieces, where it has always been: every object's sections keep their order. */
char LICENSE[] SEC("license") = "GPL";

#include "core_fixes.bpf.h"   /* kernel-version flavours and their accessors */
#include "maps.bpf.h"         /* load-time values and the maps every object shares */
#include "emit.bpf.h"         /* per-kind counters, reserve and submit */
#include "task.bpf.h"         /* cgroup id, tgid, container set, runtime set-up */
#include "verdict.bpf.h"      /* per-CPU cached container verdict and executable */
#include "path.bpf.h"         /* paths from the task's root, fd to struct file */
#include "event_header.bpf.h" /* the identity header of every record */

#endif /* ECSGUARD_COMMON_BPF_H */
