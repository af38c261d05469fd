/*
 * The container-escape detector: one EG_EVENT_ESCAPE record per technique the kernel saw
 * (bpf/escape.bpf.h). Each technique is one finding type; one finding per behaviour, keyed by
 * what the technique acted on (the memfd's name, the set-user-id file, the other namespace's
 * directory), never by anything looked up again after the event; repeats are counted into it.
 */
#include "agent/detectors/detect_escape.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/common/json_text.h"
#include "agent/detectors/module_file_hash.h"
#include "agent/kernel/compat_syscalls.h"
#include "collectors/cgroup_procs.h"
#include "collectors/proc_table.h"
#include "policy/finding.h"

struct eg_escape_detector {
    struct eg_detector_env env;
    struct eg_escape_detector_stats stats;
};

struct eg_escape_detector *eg_escape_detector_new(const struct eg_detector_env *env)
{
    struct eg_escape_detector *d = calloc(1, sizeof(*d));
    if (d)
        d->env = *env;
    return d;
}

void eg_escape_detector_free(struct eg_escape_detector *d)
{
    free(d);
}

void eg_escape_detector_get_stats(const struct eg_escape_detector *d,
                                  struct eg_escape_detector_stats *out)
{
    *out = d->stats;
}

bool eg_escape_finding_type(uint32_t technique, enum eg_finding_type *out)
{
    switch (technique) {
    case EG_ESC_FILELESS_EXEC:
        *out = EG_FT_FILELESS_EXEC;
        return true;
    case EG_ESC_ELEVATION_TO_ROOT:
        *out = EG_FT_ELEVATION_TO_ROOT;
        return true;
    case EG_ESC_CWD_OTHER_MNT_NS:
        *out = EG_FT_RUNC_ESCAPE;
        return true;
    case EG_ESC_RELEASE_AGENT:
        *out = EG_FT_RELEASE_AGENT_MODIFIED;
        return true;
    case EG_ESC_HOST_FILE_WRITE:
        *out = EG_FT_HOST_FILE_MODIFIED;
        return true;
    case EG_ESC_USERFAULTFD:
        *out = EG_FT_USERFAULTFD;
        return true;
    case EG_ESC_HOST_SOCKET:
        *out = EG_FT_DOCKER_SOCKET;
        return true;
    case EG_ESC_MODULE_LOAD:
        *out = EG_FT_KERNEL_MODULE_LOADED;
        return true;
    case EG_ESC_BLOCK_MOUNT:
    case EG_ESC_MOUNT_ATTACHED:
        *out = EG_FT_MOUNTS_HOST_DIRECTORY;
        return true;
    case EG_ESC_RUNTIME_EXE_OPEN:
        *out = EG_FT_RUNC_ESCAPE;
        return true;
    case EG_ESC_COMPAT_SYSCALL:
        *out = EG_FT_COMPAT_SYSCALL;
        return true;
    default:
        return false;
    }
}

/* Whether the last component of `path` is one of `names` (NULL-terminated). */
static bool last_component_in(const char *path, const char *const *names)
{
    const char *slash = strrchr(path, '/');
    const char *last = slash ? slash + 1 : path;
    for (size_t i = 0; names[i]; i++)
        if (strcmp(last, names[i]) == 0)
            return true;
    return false;
}

bool eg_runtime_socket_address(const char *sun_path)
{
    static const char *const names[] = {
        "docker.sock", "containerd.sock",  "containerd.sock.ttrpc", "crio.sock",
        "podman.sock", "cri-dockerd.sock", "dockershim.sock",       NULL};
    /*
     * containerd-shim's API on an abstract socket ("@/containerd-shim/<namespace>/<id>/
     * shim.sock", or "@/containerd-shim/<hash>.sock"): what a host-network container reached
     * in CVE-2020-15257. The kernel records an abstract name only when a host process listens.
     */
    if (strncmp(sun_path, "@/containerd-shim/", 18) == 0)
        return true;
    return last_component_in(sun_path, names);
}

bool eg_runtime_binary_path(const char *path)
{
    static const char *const names[] = {"runc",
                                        "crun",
                                        "youki",
                                        "runsc",
                                        "docker-runc",
                                        "containerd-shim",
                                        "containerd-shim-runc-v1",
                                        "containerd-shim-runc-v2",
                                        "nvidia-container-runtime",
                                        NULL};
    return last_component_in(path, names);
}

/*
 * Whether a process's executable that a container opened through /proc/<pid>/exe is a
 * container runtime's: a host file with a runtime binary's name, or runc's copy of itself in a
 * memfd (named "runc_cloned:..."; the kernel prefixes "memfd:").
 */
static bool runtime_executable(const struct eg_escape_event *e)
{
    if (!(e->esc_flags & EG_ESC_MEMFD))
        return eg_runtime_binary_path(e->path);
    char name[EG_NAME_LEN + 1];
    snprintf(name, sizeof(name), "%.*s", EG_NAME_LEN, e->name);
    return strncmp(name, "memfd:", 6) == 0 &&
           (strstr(name + 6, "runc") != NULL || strstr(name + 6, "crun") != NULL);
}

static struct json_object *str_of(const char *s, size_t n)
{
    return eg_json_string_n(s, strnlen(s, n), n);
}

/* The behaviour's own part of the finding key (after type and container). */
static void key_parts(struct eg_finding_key *key, const struct eg_escape_event *e)
{
    switch (e->technique) {
    case EG_ESC_FILELESS_EXEC:
        /* Each run makes a new memfd (a new inode): the behaviour is its name and kind. */
        eg_finding_key_add_u64(key, e->esc_flags & EG_ESC_MEMFD);
        eg_finding_key_add_str(key, e->name[0] ? e->name : "");
        break;
    case EG_ESC_ELEVATION_TO_ROOT:
        eg_finding_key_add_u64(key, e->dev);
        eg_finding_key_add_u64(key, e->ino);
        eg_finding_key_add_u64(key, e->arg0);
        break;
    case EG_ESC_CWD_OTHER_MNT_NS:
        eg_finding_key_add_u64(key, e->arg0);
        eg_finding_key_add_u64(key, e->dev);
        eg_finding_key_add_u64(key, e->ino);
        break;
    case EG_ESC_RUNTIME_EXE_OPEN: /* the executable; its own behaviour beside the overwrite */
        eg_finding_key_add_u64(key, e->technique);
        eg_finding_key_add_u64(key, e->dev);
        eg_finding_key_add_u64(key, e->ino);
        break;
    case EG_ESC_COMPAT_SYSCALL: /* the i386 syscall, by number; not its caller-given paths */
        eg_finding_key_add_u64(key, e->arg0);
        break;
    case EG_ESC_MODULE_LOAD: /* the module, by the name the kernel registered */
        eg_finding_key_add_str(key, e->name);
        break;
    case EG_ESC_HOST_SOCKET:
        /* An abstract socket has no file: its name (the kernel's ino is an address object's). */
        if (e->esc_flags & EG_ESC_SOCKET_ABSTRACT) {
            eg_finding_key_add_str(key, e->path);
            break;
        }
        eg_finding_key_add_u64(key, e->dev); /* the socket file */
        eg_finding_key_add_u64(key, e->ino);
        break;
    case EG_ESC_RELEASE_AGENT:
    case EG_ESC_HOST_FILE_WRITE:
    case EG_ESC_USERFAULTFD:    /* the executable */
    case EG_ESC_BLOCK_MOUNT:    /* the file system's device (ino 0) */
    case EG_ESC_MOUNT_ATTACHED: /* the same behaviour: its set-up's finding */
        eg_finding_key_add_u64(key, e->dev);
        eg_finding_key_add_u64(key, e->ino);
        break;
    }
}

/* Occurrences one record stands for: the open techniques carry the opens the kernel absorbed. */
static uint64_t occurrences(const struct eg_escape_event *e)
{
    if (e->technique == EG_ESC_RELEASE_AGENT || e->technique == EG_ESC_HOST_FILE_WRITE ||
        e->technique == EG_ESC_USERFAULTFD || e->technique == EG_ESC_HOST_SOCKET ||
        e->technique == EG_ESC_BLOCK_MOUNT || e->technique == EG_ESC_MOUNT_ATTACHED ||
        e->technique == EG_ESC_RUNTIME_EXE_OPEN || e->technique == EG_ESC_COMPAT_SYSCALL)
        return 1 + (uint64_t)e->arg1;
    return 1;
}

/* ContainerMountsHostDirectory's context: GuardDuty's mount members, and the device. */
static void add_block_mount_context(struct json_object *ctx, const struct eg_escape_event *e)
{
    /*
     * The super block's flags asked for (include/linux/fs.h SB_*, the same bits as mount(2)'s
     * MS_*). Where the file system is set up the mount point's own (nosuid, nodev, noexec) are
     * not known yet: the kernel keeps those on the mount, not on the super block.
     */
    static const struct {
        uint32_t bit;
        const char *name;
    } flags[] = {{1u << 0, "MS_RDONLY"},
                 {1u << 4, "MS_SYNCHRONOUS"},
                 {1u << 6, "MS_MANDLOCK"},
                 {1u << 7, "MS_DIRSYNC"},
                 {1u << 25, "MS_LAZYTIME"}};
    if (e->path[0])
        json_object_object_add(ctx, "mountSource", str_of(e->path, EG_PATH_LEN));
    if (e->path2[0])
        json_object_object_add(ctx, "mountTarget", str_of(e->path2, EG_PATH_LEN));
    json_object_object_add(ctx, "fileSystemType", str_of(e->name, EG_NAME_LEN));
    struct json_object *list = json_object_new_array();
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (e->arg0 & flags[i].bit)
            json_object_array_add(list, json_object_new_string(flags[i].name));
    json_object_object_add(ctx, "flags", list);
    /* The kernel's dev_t: major in the bits above the low 20 (include/linux/kdev_t.h). */
    char dev[24];
    snprintf(dev, sizeof(dev), "%u:%u", e->dev >> 20, e->dev & 0xfffffu);
    json_object_object_add(ctx, "blockDevice", json_object_new_string(dev));
}

/*
 * The mount point of a block mount's finding learnt after it was made (the new mount API
 * attaches later): added once, the first attachment's, and emitted as an update.
 */
static void add_mount_target(struct eg_finding *f, const struct eg_escape_event *e)
{
    if (!f->context || !e->path2[0] || json_object_object_get_ex(f->context, "mountTarget", NULL))
        return;
    json_object_object_add(f->context, "mountTarget", str_of(e->path2, EG_PATH_LEN));
    f->details_changed = true;
}

/*
 * CompatSyscallUsed's context: the i386 call by name and number, the concern whose native hooks
 * it went around, and its path arguments as the caller passed them (literal: read at the call's
 * entry from the caller's memory, not resolved).
 */
static void add_compat_context(struct json_object *ctx, const struct eg_escape_event *e)
{
    const struct eg_compat_syscall_row *row = eg_compat_syscall_by_nr((long)e->arg0);
    json_object_object_add(ctx, "syscall", json_object_new_string(row ? row->name : "unknown"));
    json_object_object_add(ctx, "syscallAbi", json_object_new_string("i386"));
    json_object_object_add(ctx, "syscallNumber", json_object_new_int64(e->arg0));
    if (row)
        json_object_object_add(ctx, "bypassedConcern",
                               json_object_new_string(row->layout.concern == EG_COMPAT_HOSTNS
                                                          ? "hostNamespaces"
                                                          : "rootfsWrites"));
    if (e->path[0])
        json_object_object_add(ctx, "literalFilePath", str_of(e->path, EG_PATH_LEN));
    if (e->path2[0])
        json_object_object_add(ctx, "literalSecondFilePath", str_of(e->path2, EG_PATH_LEN));
    if (row && row->layout.flags) {
        /* The open's access flags (only write opens are recorded): i386's O_* are x86_64's. */
        static const struct {
            uint32_t bit;
            const char *name;
        } open_flags[] = {{01, "O_WRONLY"}, {02, "O_RDWR"}, {0100, "O_CREAT"}, {01000, "O_TRUNC"}};
        struct json_object *list = json_object_new_array();
        for (size_t i = 0; i < sizeof(open_flags) / sizeof(open_flags[0]); i++)
            if ((uint32_t)e->result & open_flags[i].bit)
                json_object_array_add(list, json_object_new_string(open_flags[i].name));
        json_object_object_add(ctx, "flags", list);
    }
}

static struct json_object *context_of(const struct eg_escape_event *e, bool runtime_binary)
{
    struct json_object *ctx = json_object_new_object();
    /* path2 of the exec techniques: the name given to execve (ContainerMountsHostDirectory's
     * path2 is its mount target). */
    bool exec_technique = e->technique == EG_ESC_FILELESS_EXEC ||
                          e->technique == EG_ESC_ELEVATION_TO_ROOT ||
                          e->technique == EG_ESC_CWD_OTHER_MNT_NS;
    if (exec_technique && e->path2[0])
        json_object_object_add(ctx, "execPath", str_of(e->path2, EG_PATH_LEN));
    switch (e->technique) {
    case EG_ESC_FILELESS_EXEC:
        json_object_object_add(ctx, "memoryBackedFile",
                               json_object_new_boolean((e->esc_flags & EG_ESC_MEMFD) != 0));
        if ((e->esc_flags & EG_ESC_MEMFD) && e->name[0])
            json_object_object_add(ctx, "memfdName", str_of(e->name, EG_NAME_LEN));
        else if (e->path[0])
            json_object_object_add(ctx, "unlinkedFilePath", str_of(e->path, EG_PATH_LEN));
        break;
    case EG_ESC_ELEVATION_TO_ROOT:
        json_object_object_add(ctx, "uidBefore", json_object_new_int64(e->arg0));
        json_object_object_add(ctx, "euidAfter", json_object_new_int64(e->arg1));
        if (e->path[0])
            json_object_object_add(ctx, "setuidFilePath", str_of(e->path, EG_PATH_LEN));
        break;
    case EG_ESC_CWD_OTHER_MNT_NS:
        if (e->path[0])
            json_object_object_add(ctx, "workingDirectory", str_of(e->path, EG_PATH_LEN));
        json_object_object_add(ctx, "workingDirectoryMountNamespace",
                               json_object_new_int64(e->arg0));
        json_object_object_add(ctx, "processMountNamespace", json_object_new_int64(e->arg1));
        break;
    case EG_ESC_RELEASE_AGENT:
        if (e->path[0])
            json_object_object_add(ctx, "releaseAgentPath", str_of(e->path, EG_PATH_LEN));
        json_object_object_add(ctx, "fileOperation", json_object_new_string("modify"));
        break;
    case EG_ESC_HOST_FILE_WRITE:
        if (e->path[0])
            json_object_object_add(ctx, "filePath", str_of(e->path, EG_PATH_LEN));
        if (runtime_binary)
            json_object_object_add(ctx, "runcBinaryPath", str_of(e->path, EG_PATH_LEN));
        json_object_object_add(ctx, "fileOperation", json_object_new_string("modify"));
        json_object_object_add(ctx, "fileMountNamespace", json_object_new_int64(e->arg0));
        json_object_object_add(ctx, "processMountNamespace",
                               json_object_new_int64(e->hdr.mnt_ns_inum));
        break;
    case EG_ESC_USERFAULTFD:
        if (e->esc_flags & EG_ESC_UFFD_DEVICE)
            json_object_object_add(ctx, "userfaultfdDevice", json_object_new_boolean(1));
        else
            json_object_object_add(ctx, "syscall", json_object_new_string("userfaultfd"));
        json_object_object_add(ctx, "userfaultfdFlags", json_object_new_int64(e->arg0));
        break;
    case EG_ESC_MODULE_LOAD:
        json_object_object_add(ctx, "moduleName", str_of(e->name, EG_NAME_LEN));
        if (e->path[0])
            json_object_object_add(ctx, "moduleFilePath", str_of(e->path, EG_PATH_LEN));
        if (e->esc_flags & EG_ESC_MODULE_AUTOLOAD) {
            /* The kernel's modprobe loaded it: the process asked, by using what needs it. */
            json_object_object_add(ctx, "loadedByKernel", json_object_new_boolean(1));
            json_object_object_add(ctx, "requestedModule", str_of(e->path2, EG_NAME_LEN));
            break;
        }
        json_object_object_add(ctx, "syscall",
                               json_object_new_string(e->arg0 == EG_MODULE_FROM_FILE
                                                          ? "finit_module"
                                                          : "init_module"));
        break;
    case EG_ESC_BLOCK_MOUNT:
    case EG_ESC_MOUNT_ATTACHED:
        add_block_mount_context(ctx, e);
        break;
    case EG_ESC_RUNTIME_EXE_OPEN:
        if (e->esc_flags & EG_ESC_MEMFD) {
            /* A memfd's walk gives "/": named as /proc/<pid>/exe shows it. */
            char shown[EG_NAME_LEN + 16];
            snprintf(shown, sizeof(shown), "/%.*s (deleted)", EG_NAME_LEN - 1, e->name);
            json_object_object_add(ctx, "runcBinaryPath", json_object_new_string(shown));
        } else {
            json_object_object_add(ctx, "runcBinaryPath", str_of(e->path, EG_PATH_LEN));
        }
        json_object_object_add(ctx, "memoryBackedFile",
                               json_object_new_boolean((e->esc_flags & EG_ESC_MEMFD) != 0));
        json_object_object_add(ctx, "fileOperation", json_object_new_string("open"));
        /* The /proc link of the first open: the hold (its retries fold into this finding). */
        json_object_object_add(ctx, "procLinkFollowed",
                               json_object_new_string(e->esc_flags & EG_ESC_VIA_FD ? "fd"
                                                      : e->esc_flags & EG_ESC_VIA_MAP_FILES
                                                          ? "map_files"
                                                          : "exe"));
        if (e->arg0)
            json_object_object_add(ctx, "runtimeProcessPid", json_object_new_int64(e->arg0));
        break;
    case EG_ESC_COMPAT_SYSCALL:
        add_compat_context(ctx, e);
        break;
    case EG_ESC_HOST_SOCKET:
        json_object_object_add(ctx, "socketPath", str_of(e->path, EG_PATH_LEN));
        if (e->esc_flags & EG_ESC_SOCKET_ABSTRACT)
            json_object_object_add(ctx, "abstractSocket", json_object_new_boolean(1));
        if (e->arg0)
            json_object_object_add(ctx, "socketServerPid", json_object_new_int64(e->arg0));
        json_object_object_add(ctx, "syscall", json_object_new_string("connect"));
        break;
    }
    return ctx;
}

#define MODULE_ROOT_PIDS 8 /* the container's live processes tried for its module file */

/*
 * moduleSha256 of a module loaded from a file, read once, when its finding is made. The file
 * is looked up where its path was named: the host's root for a module the kernel's modprobe
 * loaded (its host-namespace process's root, else the agent's own), else the loader's root,
 * then the container's other live processes' (the loader has often exited). Without a digest
 * the context says why (moduleSha256Unavailable).
 */
static void add_module_hash(struct eg_escape_detector *d, struct json_object *ctx,
                            const struct eg_event_header *h, const struct eg_where *w,
                            const struct eg_escape_event *e)
{
    if (e->arg0 != EG_MODULE_FROM_FILE || !e->path[0] || (e->esc_flags & EG_ESC_PATH_UNRESOLVED))
        return;
    uint32_t pids[2 + MODULE_ROOT_PIDS];
    int n = 0;
    if (e->esc_flags & EG_ESC_MODULE_AUTOLOAD) {
        pids[n++] = d->env.kernel.host_ns_pid ? d->env.kernel.host_ns_pid : 1;
        pids[n++] = 0;
    } else {
        pids[n++] = h->tgid;
        n +=
            eg_cgroup_procs(d->env.kernel.cgroup_mount, w->cgroup_path, pids + n, MODULE_ROOT_PIDS);
    }
    char path[EG_PATH_LEN];
    snprintf(path, sizeof(path), "%.*s", EG_PATH_LEN - 1, e->path);
    uint64_t loaded_ns = (uint64_t)(eg_boot_ns_to_epoch(h->ts_ns) * 1e9);
    char hex[65];
    enum eg_module_hash_outcome o =
        eg_module_file_sha256(d->env.kernel.proc_root ? d->env.kernel.proc_root : "/proc", pids, n,
                              path, e->dev, e->ino, loaded_ns, hex);
    if (o == EG_MODULE_HASHED) {
        d->stats.modules_hashed++;
        json_object_object_add(ctx, "moduleSha256", json_object_new_string(hex));
    } else {
        d->stats.modules_not_hashed++;
        json_object_object_add(ctx, "moduleSha256Unavailable",
                               json_object_new_string(eg_module_hash_outcome_name(o)));
    }
}

void eg_escape_on_event(void *ctx, const struct eg_event_header *h, const void *rec, size_t size)
{
    struct eg_escape_detector *d = ctx;
    if (size < sizeof(struct eg_escape_event)) {
        d->stats.short_records++;
        return;
    }
    const struct eg_escape_event *e = rec;
    enum eg_finding_type type;
    if (!eg_escape_finding_type(e->technique, &type)) {
        d->stats.unknown_techniques++;
        return;
    }
    d->stats.events++;
    if (e->technique == EG_ESC_HOST_SOCKET && !eg_runtime_socket_address(e->path)) {
        d->stats.other_host_sockets++;
        return;
    }
    /*
     * Another process's executable from outside the container, opened through
     * /proc/<pid>/exe: the first step of CVE-2019-5736 when it is a runtime's (an attempt,
     * reported whether or not the overwrite ever succeeds); any other is only counted.
     */
    if (e->technique == EG_ESC_RUNTIME_EXE_OPEN && !runtime_executable(e)) {
        d->stats.other_host_exe_opens++;
        return;
    }
    /*
     * A host file written from a container that is a container runtime's binary (its name is
     * the host's, not the container's choice): the CVE-2019-5736 pattern, overwriting the
     * runtime through /proc/<pid>/exe once it no longer runs.
     */
    bool runtime_binary = e->technique == EG_ESC_HOST_FILE_WRITE && eg_runtime_binary_path(e->path);
    if (runtime_binary)
        type = EG_FT_RUNC_ESCAPE;
    struct eg_container *c = eg_container_table_lookup(d->env.containers, h->cgroup_id);
    struct eg_where w;
    eg_where_capture(&w, c, h->cgroup_id);
    struct eg_finding_key key;
    eg_finding_key_init(&key, type, &w);
    key_parts(&key, e);
    uint64_t ms = eg_event_epoch_ms(h->ts_ns);
    uint64_t now = eg_now_ms();
    /*
     * The new mount API's attachment completes the set-up's finding (same key): its mount
     * point, not another occurrence. Without that finding (retired, or set up before the
     * agent ran) it is the finding's first record.
     */
    if (e->technique == EG_ESC_MOUNT_ATTACHED) {
        struct eg_finding *open = eg_aggregator_find(d->env.findings, key.text, now);
        if (open) {
            eg_aggregator_record(d->env.findings, key.text, type, ms, 0, now, &(bool){false});
            add_mount_target(open, e);
            return;
        }
    }
    bool created = false;
    struct eg_finding *f =
        eg_aggregator_record(d->env.findings, key.text, type, ms, occurrences(e), now, &created);
    if (!f) {
        d->stats.findings_dropped++;
        return;
    }
    if (!created)
        return;
    eg_finding_begin(f, &w, h, ms);
    /* The exec record came first, so the process table already has the new image. */
    /* path: the executable (FilelessExecution, ElevationToRoot, UserfaultfdUsage). */
    bool exec_technique = e->technique == EG_ESC_FILELESS_EXEC ||
                          e->technique == EG_ESC_ELEVATION_TO_ROOT ||
                          e->technique == EG_ESC_USERFAULTFD;
    eg_finding_set_process(f, d->env.procs, h, exec_technique ? e->path : NULL);
    /*
     * A memfd's dentry is its own parent (a pseudo file), so the kernel's walk gives "/": name
     * it as /proc/<pid>/exe does.
     */
    if (e->technique == EG_ESC_FILELESS_EXEC && (e->esc_flags & EG_ESC_MEMFD) && e->name[0])
        snprintf(f->process.exe, sizeof(f->process.exe), "/%.*s (deleted)", EG_NAME_LEN - 1,
                 e->name);
    f->context = context_of(e, runtime_binary);
    if (e->technique == EG_ESC_MODULE_LOAD && f->context)
        add_module_hash(d, f->context, h, &w, e);
    /*
     * What an allow rule's file_path matches: the executed or written file, the directory, the
     * runtime socket's bound address, the module file, the mount's source.
     */
    /* Not a compat call's path: the caller's own bytes, which it could aim at an allowed path. */
    if (e->path[0] && e->technique != EG_ESC_USERFAULTFD && e->technique != EG_ESC_COMPAT_SYSCALL)
        snprintf(f->file_path, sizeof(f->file_path), "%.*s", EG_PATH_LEN - 1, e->path);
}

static void *escape_create(const struct eg_detector_env *env)
{
    return eg_escape_detector_new(env);
}

static int escape_subscribe(void *d, struct eg_ringbuf_reader *r)
{
    return eg_ringbuf_reader_on(r, EG_EVENT_ESCAPE, eg_escape_on_event, d) ? EG_EVENT_ESCAPE : 0;
}

static void escape_stats(void *p, struct json_object *obj)
{
    const struct eg_escape_detector *d = p;
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "events", json_object_new_int64((int64_t)d->stats.events));
    json_object_object_add(o, "shortRecords",
                           json_object_new_int64((int64_t)d->stats.short_records));
    json_object_object_add(o, "unknownTechniques",
                           json_object_new_int64((int64_t)d->stats.unknown_techniques));
    json_object_object_add(o, "findingsDropped",
                           json_object_new_int64((int64_t)d->stats.findings_dropped));
    json_object_object_add(o, "otherHostSocketConnects",
                           json_object_new_int64((int64_t)d->stats.other_host_sockets));
    json_object_object_add(o, "otherHostExecutableOpens",
                           json_object_new_int64((int64_t)d->stats.other_host_exe_opens));
    json_object_object_add(o, "modulesHashed",
                           json_object_new_int64((int64_t)d->stats.modules_hashed));
    json_object_object_add(o, "modulesNotHashed",
                           json_object_new_int64((int64_t)d->stats.modules_not_hashed));
    json_object_object_add(obj, "escapes", o);
}

static void escape_destroy(void *d)
{
    eg_escape_detector_free(d);
}

const struct eg_detector_ops eg_escape_detector_ops = {
    .name = "escapes",
    .create = escape_create,
    .subscribe = escape_subscribe,
    .stats = escape_stats,
    .destroy = escape_destroy,
};
