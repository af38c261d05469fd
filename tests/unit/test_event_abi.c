/*
 * The event ABI as the kernel programs were compiled (their BTF) must match
 * the agent's view of bpf/events.h field by field: a layout drift between
 * clang -target bpf and the host compiler would silently corrupt every event.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <bpf/btf.h>

#include "bpf/events.h"

struct field {
    const char *name;
    size_t offset;
};

static struct btf *object_btf(const char *object)
{
    char path[1024];
    const char *dir = getenv("ECSGUARD_BPF_DIR");
    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "bpf", object);
    struct btf *btf = btf__parse_elf(path, NULL);
    if (!btf)
        fail_msg("cannot read BTF of %s", path);
    return btf;
}

static void check_struct(struct btf *btf, const char *name, size_t size, const struct field *fields,
                         int n)
{
    int id = btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT);
    if (id < 0)
        fail_msg("struct %s not in the object's BTF", name);
    const struct btf_type *t = btf__type_by_id(btf, id);
    assert_int_equal(t->size, size);
    const struct btf_member *m = btf_members(t);
    for (int i = 0; i < n; i++) {
        int found = 0;
        for (int j = 0; j < btf_vlen(t); j++) {
            if (strcmp(btf__name_by_offset(btf, m[j].name_off), fields[i].name) == 0) {
                if (btf_member_bit_offset(t, j) / 8 != fields[i].offset)
                    fail_msg("%s.%s at %u in BPF, %zu here", name, fields[i].name,
                             btf_member_bit_offset(t, j) / 8, fields[i].offset);
                found = 1;
            }
        }
        if (!found)
            fail_msg("%s.%s missing in BPF", name, fields[i].name);
    }
}

#define F(type, member)                                                                            \
    {                                                                                              \
#member, offsetof(type, member)                                                            \
    }

static void header_and_capability_event(void **state)
{
    (void)state;
    struct btf *btf = object_btf("cap.bpf.o");
    const struct field hdr[] = {
        F(struct eg_event_header, ts_ns),         F(struct eg_event_header, cgroup_id),
        F(struct eg_event_header, start_time_ns), F(struct eg_event_header, parent_start_time_ns),
        F(struct eg_event_header, kind),          F(struct eg_event_header, size),
        F(struct eg_event_header, flags),         F(struct eg_event_header, pid),
        F(struct eg_event_header, tgid),          F(struct eg_event_header, ppid),
        F(struct eg_event_header, ns_pid),        F(struct eg_event_header, uid),
        F(struct eg_event_header, euid),          F(struct eg_event_header, pid_ns_inum),
        F(struct eg_event_header, mnt_ns_inum),   F(struct eg_event_header, comm),
    };
    check_struct(btf, "eg_event_header", sizeof(struct eg_event_header), hdr,
                 sizeof(hdr) / sizeof(hdr[0]));
    const struct field cap[] = {
        F(struct eg_cap_event, hdr),          F(struct eg_cap_event, exe_ino),
        F(struct eg_cap_event, exe_dev),      F(struct eg_cap_event, cap),
        F(struct eg_cap_event, ret),          F(struct eg_cap_event, syscall_nr),
        F(struct eg_cap_event, cap_flags),    F(struct eg_cap_event, scope),
        F(struct eg_cap_event, userns_level), F(struct eg_cap_event, userns_inum),
        F(struct eg_cap_event, exe_name),
    };
    check_struct(btf, "eg_cap_event", sizeof(struct eg_cap_event), cap,
                 sizeof(cap) / sizeof(cap[0]));
    const struct field key[] = {
        F(struct eg_cap_dedup_key, cgroup_id),  F(struct eg_cap_dedup_key, exe_ino),
        F(struct eg_cap_dedup_key, exe_dev),    F(struct eg_cap_dedup_key, cap),
        F(struct eg_cap_dedup_key, syscall_nr), F(struct eg_cap_dedup_key, granted),
        F(struct eg_cap_dedup_key, scope),
    };
    check_struct(btf, "eg_cap_dedup_key", sizeof(struct eg_cap_dedup_key), key,
                 sizeof(key) / sizeof(key[0]));
    const struct field ctr[] = {F(struct eg_counters, kind), F(struct eg_counters, filter_reason),
                                F(struct eg_counters, shed)};
    check_struct(btf, "eg_counters", sizeof(struct eg_counters), ctr, 3);
    const struct field share[] = {F(struct eg_ring_share, tokens), F(struct eg_ring_share, last_ns),
                                  F(struct eg_ring_share, shed_events),
                                  F(struct eg_ring_share, shed_bytes)};
    check_struct(btf, "eg_ring_share", sizeof(struct eg_ring_share), share, 4);
    btf__free(btf);
}

static void lifecycle_events(void **state)
{
    (void)state;
    struct btf *btf = object_btf("lifecycle.bpf.o");
    const struct field exec[] = {
        F(struct eg_exec_event, hdr),        F(struct eg_exec_event, exe_ino),
        F(struct eg_exec_event, exe_dev),    F(struct eg_exec_event, args_len),
        F(struct eg_exec_event, exe_layers), F(struct eg_exec_event, _pad0),
        F(struct eg_exec_event, filename),   F(struct eg_exec_event, exe_path),
        F(struct eg_exec_event, args),
    };
    check_struct(btf, "eg_exec_event", sizeof(struct eg_exec_event), exec,
                 sizeof(exec) / sizeof(exec[0]));
    const struct field cg[] = {
        F(struct eg_cgroup_event, hdr),          F(struct eg_cgroup_event, cgroup_id),
        F(struct eg_cgroup_event, hierarchy_id), F(struct eg_cgroup_event, level),
        F(struct eg_cgroup_event, path),
    };
    check_struct(btf, "eg_cgroup_event", sizeof(struct eg_cgroup_event), cg, 5);
    const struct field ex[] = {F(struct eg_exit_event, hdr), F(struct eg_exit_event, exit_code)};
    check_struct(btf, "eg_exit_event", sizeof(struct eg_exit_event), ex, 2);
    check_struct(btf, "eg_fork_event", sizeof(struct eg_fork_event), ex, 1);
    const struct field left[] = {
        F(struct eg_cgroup_left_event, hdr),         F(struct eg_cgroup_left_event, dst_cgroup_id),
        F(struct eg_cgroup_left_event, writer_tgid), F(struct eg_cgroup_left_event, left_flags),
        F(struct eg_cgroup_left_event, dst_level),   F(struct eg_cgroup_left_event, writer_comm),
        F(struct eg_cgroup_left_event, dst_path),
    };
    check_struct(btf, "eg_cgroup_left_event", sizeof(struct eg_cgroup_left_event), left,
                 sizeof(left) / sizeof(left[0]));
    const struct field esc[] = {
        F(struct eg_escape_event, hdr),    F(struct eg_escape_event, ino),
        F(struct eg_escape_event, dev),    F(struct eg_escape_event, technique),
        F(struct eg_escape_event, result), F(struct eg_escape_event, esc_flags),
        F(struct eg_escape_event, arg0),   F(struct eg_escape_event, arg1),
        F(struct eg_escape_event, path),   F(struct eg_escape_event, path2),
        F(struct eg_escape_event, name),
    };
    check_struct(btf, "eg_escape_event", sizeof(struct eg_escape_event), esc,
                 sizeof(esc) / sizeof(esc[0]));
    /* Written by the agent's start-up scan, read by every program. */
    const struct field home[] = {
        F(struct eg_home, cgroup_id),
        F(struct eg_home, start_time_ns),
        F(struct eg_home, start_slack_ns),
        F(struct eg_home, flags),
    };
    check_struct(btf, "eg_home", sizeof(struct eg_home), home, sizeof(home) / sizeof(home[0]));
    btf__free(btf);
}

static void hostns_event(void **state)
{
    (void)state;
    struct btf *btf = object_btf("hostns.bpf.o");
    const struct field ev[] = {
        F(struct eg_hostns_event, hdr),
        F(struct eg_hostns_event, target_start_time_ns),
        F(struct eg_hostns_event, target_cgroup_id),
        F(struct eg_hostns_event, action),
        F(struct eg_hostns_event, arg),
        F(struct eg_hostns_event, target_vpid),
        F(struct eg_hostns_event, target_tgid),
        F(struct eg_hostns_event, target_flags),
        F(struct eg_hostns_event, ns_type),
        F(struct eg_hostns_event, ns_inum),
        F(struct eg_hostns_event, ns_entered),
        F(struct eg_hostns_event, ns_was_host),
        F(struct eg_hostns_event, target_pid_ns_inum),
        F(struct eg_hostns_event, dedup_repeats),
        F(struct eg_hostns_event, target_comm),
        F(struct eg_hostns_event, target_exe),
    };
    check_struct(btf, "eg_hostns_event", sizeof(struct eg_hostns_event), ev,
                 sizeof(ev) / sizeof(ev[0]));
    const struct field key[] = {
        F(struct eg_hostns_dedup_key, cgroup_id),
        F(struct eg_hostns_dedup_key, target_start_time_ns),
        F(struct eg_hostns_dedup_key, target_tgid),
        F(struct eg_hostns_dedup_key, action),
        F(struct eg_hostns_dedup_key, arg),
    };
    check_struct(btf, "eg_hostns_dedup_key", sizeof(struct eg_hostns_dedup_key), key,
                 sizeof(key) / sizeof(key[0]));
    const struct field val[] = {
        F(struct eg_hostns_dedup_val, last_sent_ns),
        F(struct eg_hostns_dedup_val, repeats),
    };
    check_struct(btf, "eg_hostns_dedup_val", sizeof(struct eg_hostns_dedup_val), val,
                 sizeof(val) / sizeof(val[0]));
    btf__free(btf);
}

static void rootfs_events(void **state)
{
    (void)state;
    struct btf *btf = object_btf("rootfs.bpf.o");
    const struct field w[] = {
        F(struct eg_rootfs_write_event, hdr),        F(struct eg_rootfs_write_event, ino),
        F(struct eg_rootfs_write_event, dev),        F(struct eg_rootfs_write_event, op),
        F(struct eg_rootfs_write_event, open_flags), F(struct eg_rootfs_write_event, rootfs_flags),
        F(struct eg_rootfs_write_event, path),
    };
    check_struct(btf, "eg_rootfs_write_event", sizeof(struct eg_rootfs_write_event), w,
                 sizeof(w) / sizeof(w[0]));
    const struct field p[] = {
        F(struct eg_rootfs_pathop_event, hdr),
        F(struct eg_rootfs_pathop_event, op),
        F(struct eg_rootfs_pathop_event, pathop_flags),
        F(struct eg_rootfs_pathop_event, pathop_flags2),
        F(struct eg_rootfs_pathop_event, mode),
        F(struct eg_rootfs_pathop_event, dedup_hash),
        F(struct eg_rootfs_pathop_event, base),
        F(struct eg_rootfs_pathop_event, path),
        F(struct eg_rootfs_pathop_event, base2),
        F(struct eg_rootfs_pathop_event, path2),
    };
    check_struct(btf, "eg_rootfs_pathop_event", sizeof(struct eg_rootfs_pathop_event), p,
                 sizeof(p) / sizeof(p[0]));
    const struct field m[] = {
        F(struct eg_rootfs_exec_map_event, hdr),           F(struct eg_rootfs_exec_map_event, ino),
        F(struct eg_rootfs_exec_map_event, written_ts_ns), F(struct eg_rootfs_exec_map_event, dev),
        F(struct eg_rootfs_exec_map_event, prot),          F(struct eg_rootfs_exec_map_event, path),
    };
    check_struct(btf, "eg_rootfs_exec_map_event", sizeof(struct eg_rootfs_exec_map_event), m,
                 sizeof(m) / sizeof(m[0]));
    const struct field k[] = {
        F(struct eg_rootfs_file_key, cgroup_id),
        F(struct eg_rootfs_file_key, ino),
        F(struct eg_rootfs_file_key, dev),
    };
    check_struct(btf, "eg_rootfs_file_key", sizeof(struct eg_rootfs_file_key), k, 3);
    const struct field pk[] = {
        F(struct eg_rootfs_pathop_key, cgroup_id),
        F(struct eg_rootfs_pathop_key, hash),
    };
    check_struct(btf, "eg_rootfs_pathop_key", sizeof(struct eg_rootfs_pathop_key), pk, 2);
    btf__free(btf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_and_capability_event),
        cmocka_unit_test(lifecycle_events),
        cmocka_unit_test(rootfs_events),
        cmocka_unit_test(hostns_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
