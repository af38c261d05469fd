#include "agent/kernel/bpf_loader.h"

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

#include "agent/common/log.h"

void eg_bpf_hook_attempt(struct eg_hook_report *r, const char *attach, const char *result)
{
    if (r->n_attempts >= EG_HOOK_ATTEMPTS)
        return;
    struct eg_hook_attempt *a = &r->attempts[r->n_attempts++];
    snprintf(a->attach, sizeof(a->attach), "%s", attach);
    snprintf(a->result, sizeof(a->result), "%s", result);
}

void eg_bpf_errno_text(int err, char *buf, size_t len)
{
    if (err < 0)
        err = -err;
    snprintf(buf, len, "%s (%s)", err == EPERM ? "refused by the kernel" : "failed", strerror(err));
}

bool eg_bpf_btf_has(const struct btf *btf, const char *name, int kind)
{
    return btf && btf__find_by_name_kind(btf, name, kind) >= 0;
}

void eg_bpf_share_maps(const struct eg_bpf *b, struct bpf_object *obj)
{
    /* The verdict cache too: one per-CPU entry serves every concern's program (a capability
     * check and an open by the same task hit the same entry, one page instead of one per
     * object). */
    static const char *const shared[] = {"eg_events",     "eg_containers",     "eg_setup_procs",
                                         "eg_counters",   "eg_containers_gen", "eg_verdict_cache",
                                         "eg_reader_idle"};
    const int fds[] = {b->events_fd,         b->containers_fd,    b->setup_fd,      b->counters_fd,
                       b->containers_gen_fd, b->verdict_cache_fd, b->reader_idle_fd};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        struct bpf_map *m = bpf_object__find_map_by_name(obj, shared[i]);
        if (m && fds[i] >= 0)
            bpf_map__reuse_fd(m, fds[i]);
    }
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

int eg_bpf_load(struct eg_bpf *b, const struct eg_bpf_options *opt, char *err, unsigned errlen)
{
    memset(b, 0, sizeof(*b));
    b->events_fd = b->containers_fd = b->setup_fd = b->counters_fd = b->containers_gen_fd = -1;
    b->verdict_cache_fd = b->reader_idle_fd = -1;
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
    for (int i = 0; eg_bpf_concerns[i] && b->n_hooks < EG_HOOK_MAX; i++) {
        const struct eg_bpf_concern *c = eg_bpf_concerns[i];
        int slot = b->n_hooks++;
        struct eg_hook_report *r = &b->hooks[slot];
        r->hook = c->hook;
        r->forced = eg_bpf_forced(opt, c->hook);
        if (c->load(b, opt, vmlinux, r, &b->skel[slot]) == 0)
            continue;
        b->skel[slot] = NULL;
        if (r->forced) {
            snprintf(err, errlen, "%s: the variant forced by --hook %s=%s cannot be used (%s)",
                     c->hook, c->hook, r->forced,
                     r->n_attempts ? r->attempts[r->n_attempts - 1].result : "not attempted");
            rc = -1;
            break;
        }
        if (c->essential) {
            snprintf(err, errlen, "%s: no attach point could be used (%s)", c->hook,
                     r->n_attempts ? r->attempts[r->n_attempts - 1].result : "not attempted");
            rc = -1;
            break;
        }
        eg_log_warn("%s is not watched on this kernel: %s", c->hook,
                    r->n_attempts ? r->attempts[r->n_attempts - 1].result : "not attempted");
    }
    btf__free(vmlinux);
    return rc;
}

void eg_bpf_unload(struct eg_bpf *b)
{
    /* Reverse order: the lifecycle object owns the shared maps. */
    for (int i = b->n_hooks - 1; i >= 0; i--) {
        if (b->skel[i])
            eg_bpf_concerns[i]->unload(b->skel[i]);
        b->skel[i] = NULL;
    }
}

void *eg_bpf_skeleton(const struct eg_bpf *b, const char *hook)
{
    for (int i = 0; i < b->n_hooks; i++)
        if (b->hooks[i].hook && strcmp(b->hooks[i].hook, hook) == 0)
            return b->skel[i];
    return NULL;
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
    for (int h = 0; h < b->n_hooks; h++) {
        const struct eg_hook_report *r = &b->hooks[h];
        struct json_object *ho = json_object_new_object();
        json_object_object_add(ho, "chosen",
                               r->chosen[0] ? json_object_new_string(r->chosen) : NULL);
        if (r->forced)
            json_object_object_add(ho, "forced", json_object_new_string(r->forced));
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
