#include "agent/bpf_loader.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "agent/kallsyms.h"
#include "agent/log.h"
#include "cap.skel.h"
#include "lifecycle.skel.h"

static void hook_attempt(struct eg_hook_report *r, const char *attach, const char *result)
{
    if (r->n_attempts >= EG_HOOK_ATTEMPTS)
        return;
    struct eg_hook_attempt *a = &r->attempts[r->n_attempts++];
    snprintf(a->attach, sizeof(a->attach), "%s", attach);
    snprintf(a->result, sizeof(a->result), "%s", result);
}

static void errno_text(int err, char *buf, size_t len)
{
    if (err < 0)
        err = -err;
    snprintf(buf, len, "%s (%s)", err == EPERM ? "refused by the kernel" : "failed", strerror(err));
}

static bool btf_has(const struct btf *btf, const char *name, int kind)
{
    return btf && btf__find_by_name_kind(btf, name, kind) >= 0;
}

/* libbpf's syscall tracepoints need tracefs; mount it where the kernel expects it. */
static void ensure_tracefs(void)
{
    struct stat st;
    if (stat("/sys/kernel/tracing/events", &st) == 0)
        return;
    if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) != 0)
        eg_log_warn("tracefs is not mounted and mounting it failed: %s", strerror(errno));
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    if (level == LIBBPF_WARN && eg_log_verbose())
        return vfprintf(stderr, fmt, ap);
    if (level == LIBBPF_DEBUG && eg_log_debug_enabled())
        return vfprintf(stderr, fmt, ap);
    return 0;
}

static void set_common_rodata(const struct eg_cgroup_setup *cg, const struct eg_bpf_options *opt,
                              volatile __u32 *subsys, volatile __u32 *use_v1,
                              volatile __u32 *hierarchy, volatile __u64 *wakeup)
{
    *subsys = cg->subsys_index;
    *use_v1 = cg->use_v1;
    *hierarchy = cg->hierarchy_id;
    *wakeup = opt->wakeup_bytes;
}

static int load_lifecycle(struct eg_bpf *b, const struct eg_bpf_options *opt)
{
    struct eg_hook_report *r = &b->hooks[EG_HOOK_LIFECYCLE];
    r->hook = "processLifecycle";
    char why[160];
    struct lifecycle_bpf *s = lifecycle_bpf__open();
    if (!s) {
        errno_text(errno, why, sizeof(why));
        hook_attempt(r, "tp_btf/sched_process_*", why);
        return -1;
    }
    set_common_rodata(&b->cgroups, opt, &s->rodata->eg_cgroup_v1_subsys,
                      &s->rodata->eg_cgroup_use_v1, &s->rodata->eg_tracked_hierarchy,
                      &s->rodata->eg_wakeup_bytes);
    int err = lifecycle_bpf__load(s);
    if (!err)
        err = lifecycle_bpf__attach(s);
    if (err) {
        errno_text(err, why, sizeof(why));
        hook_attempt(r, "tp_btf/sched_process_*+cgroup_*", why);
        lifecycle_bpf__destroy(s);
        return -1;
    }
    hook_attempt(r, "tp_btf/sched_process_*+cgroup_*", "ok");
    snprintf(r->chosen, sizeof(r->chosen), "tp_btf/sched_process_*+cgroup_*");
    b->lifecycle = s;
    b->events_fd = bpf_map__fd(s->maps.eg_events);
    b->containers_fd = bpf_map__fd(s->maps.eg_containers);
    b->counters_fd = bpf_map__fd(s->maps.eg_counters);
    return 0;
}

enum cap_variant { CAP_TP_BTF, CAP_FEXIT, CAP_KPROBE, CAP_VARIANTS };
static const char *const cap_variant_names[CAP_VARIANTS] = {
    "tp_btf/cap_capable", "fexit/cap_capable", "kprobe+kretprobe/cap_capable"};

static int try_cap_variant(struct eg_bpf *b, const struct eg_bpf_options *opt,
                           const struct eg_ksym_range *ranges, enum cap_variant v, char *why,
                           size_t whylen)
{
    struct cap_bpf *s = cap_bpf__open();
    if (!s) {
        errno_text(errno, why, whylen);
        return -1;
    }
    bpf_program__set_autoload(s->progs.eg_cap_capable_tp, v == CAP_TP_BTF);
    bpf_program__set_autoload(s->progs.eg_cap_capable_fexit, v == CAP_FEXIT);
    bpf_program__set_autoload(s->progs.eg_cap_capable_kprobe, v == CAP_KPROBE);
    bpf_program__set_autoload(s->progs.eg_cap_capable_kretprobe, v == CAP_KPROBE);
    set_common_rodata(&b->cgroups, opt, &s->rodata->eg_cgroup_v1_subsys,
                      &s->rodata->eg_cgroup_use_v1, &s->rodata->eg_tracked_hierarchy,
                      &s->rodata->eg_wakeup_bytes);
    s->rodata->eg_vm_enough_start = ranges[0].start;
    s->rodata->eg_vm_enough_end = ranges[0].end;
    s->rodata->eg_cap_vm_enough_start = ranges[1].start;
    s->rodata->eg_cap_vm_enough_end = ranges[1].end;
    s->data->eg_watched_caps = opt->watched_caps;
    /* One ring buffer, one container set, one set-up table, one counter array. */
    bpf_map__reuse_fd(s->maps.eg_events, b->events_fd);
    bpf_map__reuse_fd(s->maps.eg_containers, b->containers_fd);
    bpf_map__reuse_fd(s->maps.eg_setup_procs, bpf_map__fd(b->lifecycle->maps.eg_setup_procs));
    bpf_map__reuse_fd(s->maps.eg_counters, b->counters_fd);
    int err = cap_bpf__load(s);
    if (!err)
        err = cap_bpf__attach(s);
    if (err) {
        errno_text(err, why, whylen);
        cap_bpf__destroy(s);
        return -1;
    }
    b->cap = s;
    b->cap_dedup_fd = bpf_map__fd(s->maps.eg_cap_dedup);
    return 0;
}

static int load_cap(struct eg_bpf *b, const struct eg_bpf_options *opt, const struct btf *vmlinux)
{
    struct eg_hook_report *r = &b->hooks[EG_HOOK_CAPABILITY];
    r->hook = "capability";
    struct eg_ksym_range ranges[2] = {{.name = "security_vm_enough_memory_mm"},
                                      {.name = "cap_vm_enough_memory"}};
    const char *ksyms = opt->kallsyms_path ? opt->kallsyms_path : "/proc/kallsyms";
    b->overcommit_filter = eg_kallsyms_resolve(ksyms, ranges, 2) > 0;
    if (!b->overcommit_filter)
        eg_log_warn("cannot resolve the memory-overcommit functions in %s: CAP_SYS_ADMIN "
                    "checks from mmap/brk/fork/exec cannot be told apart and are flagged",
                    ksyms);

    for (int v = 0; v < CAP_VARIANTS; v++) {
        char why[160];
        if (v == CAP_TP_BTF && !btf_has(vmlinux, "btf_trace_cap_capable", BTF_KIND_TYPEDEF)) {
            hook_attempt(r, cap_variant_names[v], "kernel has no cap_capable tracepoint");
            continue;
        }
        if (v == CAP_FEXIT && !btf_has(vmlinux, "cap_capable", BTF_KIND_FUNC)) {
            hook_attempt(r, cap_variant_names[v], "cap_capable not in kernel BTF");
            continue;
        }
        if (try_cap_variant(b, opt, ranges, v, why, sizeof(why)) == 0) {
            hook_attempt(r, cap_variant_names[v], "ok");
            snprintf(r->chosen, sizeof(r->chosen), "%s", cap_variant_names[v]);
            return 0;
        }
        hook_attempt(r, cap_variant_names[v], why);
    }
    return -1;
}

int eg_bpf_load(struct eg_bpf *b, const struct eg_bpf_options *opt, char *err, unsigned errlen)
{
    memset(b, 0, sizeof(*b));
    b->events_fd = b->containers_fd = b->counters_fd = b->cap_dedup_fd = -1;
    b->hooks[EG_HOOK_CAPABILITY].hook = "capability";
    b->hooks[EG_HOOK_LIFECYCLE].hook = "processLifecycle";
    libbpf_set_print(libbpf_quiet);
    ensure_tracefs();

    if (eg_cgroup_setup_probe("/proc/cgroups", "/proc/self/mountinfo", &b->cgroups, err, errlen) !=
        0)
        return -1;

    struct btf *vmlinux = btf__load_vmlinux_btf();
    if (!vmlinux) {
        snprintf(err, errlen,
                 "kernel BTF is not available (/sys/kernel/btf/vmlinux): ecsguard "
                 "needs CONFIG_DEBUG_INFO_BTF=y");
        return -1;
    }
    int rc = 0;
    if (load_lifecycle(b, opt) != 0) {
        snprintf(err, errlen, "process lifecycle hooks could not be attached: %s",
                 b->hooks[EG_HOOK_LIFECYCLE].attempts[0].result);
        rc = -1;
    } else if (load_cap(b, opt, vmlinux) != 0) {
        snprintf(err, errlen, "no capability hook could be attached (see `ecsguard probe`)");
        rc = -1;
    }
    btf__free(vmlinux);
    return rc;
}

void eg_bpf_unload(struct eg_bpf *b)
{
    if (b->cap)
        cap_bpf__destroy(b->cap);
    if (b->lifecycle)
        lifecycle_bpf__destroy(b->lifecycle);
    b->cap = NULL;
    b->lifecycle = NULL;
}

void eg_bpf_set_watched_caps(struct eg_bpf *b, uint64_t mask)
{
    /* .data is memory-mapped: the running programs see the new mask on their next check. */
    if (b->cap)
        __atomic_store_n(&b->cap->data->eg_watched_caps, mask, __ATOMIC_RELEASE);
}

void eg_bpf_report(const struct eg_bpf *b, struct json_object *obj)
{
    struct utsname u;
    uname(&u);
    struct json_object *kernel = json_object_new_object();
    json_object_object_add(kernel, "release", json_object_new_string(u.release));
    json_object_object_add(kernel, "machine", json_object_new_string(u.machine));
    json_object_object_add(obj, "kernel", kernel);

    struct json_object *btf = json_object_new_object();
    json_object_object_add(btf, "vmlinux",
                           json_object_new_boolean(access("/sys/kernel/btf/vmlinux", R_OK) == 0));
    json_object_object_add(obj, "btf", btf);
    json_object_object_add(
        obj, "ringBuffer",
        json_object_new_boolean(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1));

    struct json_object *cg = json_object_new_object();
    json_object_object_add(cg, "mode",
                           json_object_new_string(eg_cgroup_mode_name(b->cgroups.mode)));
    json_object_object_add(cg, "trackedHierarchy",
                           json_object_new_string(b->cgroups.use_v1 ? "v1" : "v2"));
    if (b->cgroups.use_v1) {
        json_object_object_add(cg, "v1Controller", json_object_new_string(b->cgroups.controller));
        json_object_object_add(cg, "subsysIndex", json_object_new_int(b->cgroups.subsys_index));
    }
    json_object_object_add(cg, "hierarchyId", json_object_new_int(b->cgroups.hierarchy_id));
    json_object_object_add(cg, "mountPoint", json_object_new_string(b->cgroups.mount_point));
    json_object_object_add(obj, "cgroup", cg);

    json_object_object_add(obj, "overcommitFilter", json_object_new_boolean(b->overcommit_filter));

    struct json_object *hooks = json_object_new_object();
    for (int h = 0; h < EG_HOOK_COUNT; h++) {
        const struct eg_hook_report *r = &b->hooks[h];
        struct json_object *ho = json_object_new_object();
        json_object_object_add(ho, "chosen",
                               r->chosen[0] ? json_object_new_string(r->chosen) : NULL);
        struct json_object *att = json_object_new_array();
        for (int i = 0; i < r->n_attempts; i++) {
            struct json_object *a = json_object_new_object();
            json_object_object_add(a, "attach", json_object_new_string(r->attempts[i].attach));
            json_object_object_add(a, "result", json_object_new_string(r->attempts[i].result));
            json_object_array_add(att, a);
        }
        json_object_object_add(ho, "attempts", att);
        json_object_object_add(hooks, r->hook ? r->hook : "unknown", ho);
    }
    json_object_object_add(obj, "hooks", hooks);
}
