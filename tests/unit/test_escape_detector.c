/*
 * The escape detector: each technique is its own finding type, one finding per behaviour (the
 * memfd's name, not its inode; the set-user-id file and real user; the other namespace's
 * directory; the host socket, module and block device; a runtime binary written), repeats
 * counted; short records and unknown techniques are not read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "agent/detectors/detect_escape.h"
#include "policy/finding_types.h"

#define TASK_A "0123456789abcdef0123456789abcdef"
#define CID_A1 "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"

enum { CG_A1 = 101 };

struct collected {
    int n;
    struct eg_finding *f[8];
};

static void collect(void *ctx, struct eg_finding *f)
{
    struct collected *c = ctx;
    if (c->n < 8)
        c->f[c->n++] = f;
}

static struct eg_escape_event escape(uint32_t technique, uint64_t ino, const char *name)
{
    struct eg_escape_event e;
    memset(&e, 0, sizeof(e));
    e.hdr.kind = EG_EVENT_ESCAPE;
    e.hdr.size = sizeof(e);
    e.hdr.cgroup_id = CG_A1;
    e.hdr.tgid = e.hdr.pid = 4242;
    e.hdr.start_time_ns = 3000000000ULL;
    e.hdr.uid = 1000;
    memcpy(e.hdr.comm, "3", 2);
    e.technique = technique;
    e.ino = ino;
    e.dev = 7;
    snprintf(e.name, sizeof(e.name), "%s", name);
    snprintf(e.path2, sizeof(e.path2), "/dev/fd/3");
    return e;
}

static const char *ctx_str(const struct eg_finding *f, const char *key)
{
    struct json_object *x;
    assert_true(json_object_object_get_ex(f->context, key, &x));
    return json_object_get_string(x);
}

static struct eg_finding *of_type(struct collected *c, enum eg_finding_type t)
{
    for (int i = 0; i < c->n; i++)
        if (c->f[i]->type == t)
            return c->f[i];
    fail_msg("no finding of type %d", t);
    return NULL;
}

/* One task container, a detector and the finding table it records into. */
struct fixture {
    struct eg_container_table *containers;
    struct eg_proc_table *procs;
    struct eg_aggregator *findings;
    struct eg_escape_detector *d;
};

static int fixture_setup(void **state)
{
    static struct fixture fx;
    fx.containers = eg_container_table_new(-1);
    fx.procs = eg_proc_table_new();
    struct eg_aggregator_config ac = {.window_ms = 60000, .interval_ms = 1000, .max_findings = 8};
    fx.findings = eg_aggregator_new(&ac);
    if (!fx.containers || !fx.procs || !fx.findings ||
        !eg_container_table_add_cgroup(fx.containers, CG_A1, "/ecs/" TASK_A "/" CID_A1, 1))
        return -1;
    struct eg_detector_env env = {
        .findings = fx.findings, .procs = fx.procs, .containers = fx.containers};
    fx.d = eg_escape_detector_new(&env);
    *state = &fx;
    return fx.d ? 0 : -1;
}

static int fixture_teardown(void **state)
{
    struct fixture *fx = *state;
    eg_escape_detector_free(fx->d);
    eg_aggregator_free(fx->findings);
    eg_proc_table_free(fx->procs);
    eg_container_table_free(fx->containers);
    return 0;
}

static void techniques_are_findings_one_per_behaviour(void **state)
{
    struct fixture *fx = *state;
    struct eg_escape_detector *d = fx->d;

    /* Two memfds of one name (two inodes): one behaviour, counted twice. */
    struct eg_escape_event m1 = escape(EG_ESC_FILELESS_EXEC, 11, "memfd:payload");
    m1.esc_flags = EG_ESC_MEMFD;
    snprintf(m1.path, sizeof(m1.path), "/");
    struct eg_escape_event m2 = m1;
    m2.ino = 12;
    eg_escape_on_event(d, &m1.hdr, &m1, sizeof(m1));
    eg_escape_on_event(d, &m2.hdr, &m2, sizeof(m2));
    struct eg_escape_event up = escape(EG_ESC_ELEVATION_TO_ROOT, 21, "egprobe-suid");
    up.arg0 = 1000;
    snprintf(up.path, sizeof(up.path), "/bin/egprobe-suid");
    eg_escape_on_event(d, &up.hdr, &up, sizeof(up));
    struct eg_escape_event cwd = escape(EG_ESC_CWD_OTHER_MNT_NS, 31, "hostdir");
    cwd.arg0 = 4026531841u;
    cwd.arg1 = 4026532000u;
    snprintf(cwd.path, sizeof(cwd.path), "/tmp/hostdir");
    eg_escape_on_event(d, &cwd.hdr, &cwd, sizeof(cwd));
    /* An open technique's record carries the opens the kernel absorbed since the last one. */
    struct eg_escape_event ra = escape(EG_ESC_RELEASE_AGENT, 51, "release_agent");
    snprintf(ra.path, sizeof(ra.path), "/mnt/cg/release_agent");
    eg_escape_on_event(d, &ra.hdr, &ra, sizeof(ra));
    ra.arg1 = 2;
    eg_escape_on_event(d, &ra.hdr, &ra, sizeof(ra));
    struct eg_escape_event uf = escape(EG_ESC_USERFAULTFD, 61, "");
    uf.esc_flags = EG_ESC_UFFD_DEVICE;
    uf.arg0 = 02;
    snprintf(uf.path, sizeof(uf.path), "/bin/exploit");
    eg_escape_on_event(d, &uf.hdr, &uf, sizeof(uf));
    /* Not read: a truncated record, a technique this agent does not know. */
    eg_escape_on_event(d, &cwd.hdr, &cwd, sizeof(struct eg_event_header));
    struct eg_escape_event future = escape(99, 41, "x");
    eg_escape_on_event(d, &future.hdr, &future, sizeof(future));

    struct collected c = {0};
    eg_aggregator_foreach(fx->findings, collect, &c);
    assert_int_equal(c.n, 5);
    struct eg_finding *f = of_type(&c, EG_FT_FILELESS_EXEC);
    assert_int_equal(f->count, 2);
    assert_string_equal(f->where.container_id, CID_A1);
    assert_string_equal(ctx_str(f, "memfdName"), "memfd:payload");
    assert_string_equal(f->process.exe, "/memfd:payload (deleted)");
    f = of_type(&c, EG_FT_ELEVATION_TO_ROOT);
    assert_int_equal(f->count, 1);
    assert_string_equal(ctx_str(f, "setuidFilePath"), "/bin/egprobe-suid");
    assert_string_equal(f->file_path, "/bin/egprobe-suid");
    f = of_type(&c, EG_FT_RUNC_ESCAPE);
    assert_string_equal(ctx_str(f, "workingDirectory"), "/tmp/hostdir");
    f = of_type(&c, EG_FT_RELEASE_AGENT_MODIFIED);
    assert_int_equal(f->count, 4); /* 1 + (1 + 2 absorbed) */
    assert_string_equal(ctx_str(f, "releaseAgentPath"), "/mnt/cg/release_agent");
    f = of_type(&c, EG_FT_USERFAULTFD);
    assert_string_equal(f->process.exe, "/bin/exploit");
    assert_string_equal(f->file_path, ""); /* the executable is not the file of a file rule */

    struct eg_escape_detector_stats st;
    eg_escape_detector_get_stats(d, &st);
    assert_int_equal(st.events, 7);
    assert_int_equal(st.short_records, 1);
    assert_int_equal(st.unknown_techniques, 1);
    assert_string_equal(eg_severity_label(eg_finding_type_info(EG_FT_RUNC_ESCAPE)->severity),
                        "High");
}

/*
 * The techniques of host resources: a runtime's socket (named by its bound address, other host
 * sockets counted, not reported), a kernel module (by name), a block device's file system (by
 * device, with GuardDuty's mount members).
 */
static void host_resource_techniques(void **state)
{
    struct fixture *fx = *state;
    struct eg_escape_detector *d = fx->d;

    struct eg_escape_event sock = escape(EG_ESC_HOST_SOCKET, 71, "docker.sock");
    snprintf(sock.path, sizeof(sock.path), "/var/run/docker.sock");
    sock.arg0 = 2211;
    eg_escape_on_event(d, &sock.hdr, &sock, sizeof(sock));
    sock.arg1 = 4; /* four connects absorbed in the kernel since */
    eg_escape_on_event(d, &sock.hdr, &sock, sizeof(sock));
    struct eg_escape_event other = escape(EG_ESC_HOST_SOCKET, 72, "metrics.sock");
    snprintf(other.path, sizeof(other.path), "/run/agent/metrics.sock");
    eg_escape_on_event(d, &other.hdr, &other, sizeof(other));
    /* A name ending like a runtime's is not one: the last component decides. */
    struct eg_escape_event near = escape(EG_ESC_HOST_SOCKET, 73, "my-docker.sock");
    snprintf(near.path, sizeof(near.path), "/run/my-docker.sock");
    eg_escape_on_event(d, &near.hdr, &near, sizeof(near));
    /* containerd-shim's abstract socket (no file; keyed by its name, not the kernel's ino). */
    struct eg_escape_event shim = escape(EG_ESC_HOST_SOCKET, 0xffff888012345678ULL, "");
    shim.esc_flags = EG_ESC_SOCKET_ABSTRACT;
    shim.dev = 0;
    snprintf(shim.path, sizeof(shim.path), "@/containerd-shim/moby/abc/shim.sock");
    eg_escape_on_event(d, &shim.hdr, &shim, sizeof(shim));
    shim.ino = 0xffff888087654321ULL; /* the shim restarted: the same name, one behaviour */
    eg_escape_on_event(d, &shim.hdr, &shim, sizeof(shim));
    struct eg_escape_event abs_other = shim;
    snprintf(abs_other.path, sizeof(abs_other.path), "@/tmp/agent-metrics");
    eg_escape_on_event(d, &abs_other.hdr, &abs_other, sizeof(abs_other));
    struct eg_escape_event mod = escape(EG_ESC_MODULE_LOAD, 0, "dummy");
    mod.arg0 = EG_MODULE_FROM_FILE;
    snprintf(mod.path, sizeof(mod.path), "/modules/dummy.ko");
    eg_escape_on_event(d, &mod.hdr, &mod, sizeof(mod));
    struct eg_escape_event blk = escape(EG_ESC_BLOCK_MOUNT, 0, "ext4");
    blk.dev = (259u << 20) | 1u;
    blk.arg0 = 1u; /* SB_RDONLY */
    snprintf(blk.path, sizeof(blk.path), "/dev/nvme0n1p1");
    snprintf(blk.path2, sizeof(blk.path2), "/mnt/host");
    eg_escape_on_event(d, &blk.hdr, &blk, sizeof(blk));

    /* A host file written that is a runtime's binary: the CVE-2019-5736 pattern. */
    struct eg_escape_event bin = escape(EG_ESC_HOST_FILE_WRITE, 81, "runc");
    snprintf(bin.path, sizeof(bin.path), "/usr/bin/runc");
    eg_escape_on_event(d, &bin.hdr, &bin, sizeof(bin));

    struct collected c = {0};
    eg_aggregator_foreach(fx->findings, collect, &c);
    assert_int_equal(c.n, 5);
    struct eg_finding *rb = of_type(&c, EG_FT_RUNC_ESCAPE);
    assert_string_equal(ctx_str(rb, "runcBinaryPath"), "/usr/bin/runc");
    assert_string_equal(ctx_str(rb, "filePath"), "/usr/bin/runc");
    assert_true(eg_runtime_binary_path("/usr/sbin/containerd-shim-runc-v2"));
    assert_false(eg_runtime_binary_path("/usr/bin/runc-helper"));
    struct eg_finding *f = NULL, *shim_f = NULL;
    for (int i = 0; i < c.n; i++)
        if (c.f[i]->type == EG_FT_DOCKER_SOCKET) {
            if (strcmp(c.f[i]->file_path, "/var/run/docker.sock") == 0)
                f = c.f[i];
            else
                shim_f = c.f[i];
        }
    assert_non_null(f);
    assert_non_null(shim_f);
    assert_int_equal(shim_f->count, 2);
    assert_string_equal(ctx_str(shim_f, "socketPath"), "@/containerd-shim/moby/abc/shim.sock");
    assert_string_equal(ctx_str(shim_f, "abstractSocket"), "true");
    assert_false(json_object_object_get_ex(f->context, "abstractSocket", NULL));
    assert_int_equal(f->count, 6); /* 1 + (1 + 4 absorbed) */
    assert_string_equal(ctx_str(f, "socketPath"), "/var/run/docker.sock");
    assert_string_equal(ctx_str(f, "socketServerPid"), "2211");
    assert_string_equal(f->file_path, "/var/run/docker.sock");
    f = of_type(&c, EG_FT_KERNEL_MODULE_LOADED);
    assert_string_equal(ctx_str(f, "moduleName"), "dummy");
    assert_string_equal(ctx_str(f, "moduleFilePath"), "/modules/dummy.ko");
    assert_string_equal(ctx_str(f, "syscall"), "finit_module");
    f = of_type(&c, EG_FT_MOUNTS_HOST_DIRECTORY);
    assert_string_equal(ctx_str(f, "mountSource"), "/dev/nvme0n1p1");
    assert_string_equal(ctx_str(f, "fileSystemType"), "ext4");
    assert_string_equal(ctx_str(f, "blockDevice"), "259:1");
    assert_string_equal(ctx_str(f, "mountTarget"), "/mnt/host");
    assert_false(json_object_object_get_ex(f->context, "execPath", NULL));
    assert_string_equal(ctx_str(f, "flags"), "[ \"MS_RDONLY\" ]");

    struct eg_escape_detector_stats st;
    eg_escape_detector_get_stats(d, &st);
    assert_int_equal(st.other_host_sockets, 3);
    assert_true(eg_runtime_socket_address("@/containerd-shim/0123abcd.sock"));
    assert_false(eg_runtime_socket_address("@/tmp/containerd-shim/x.sock"));
    assert_true(eg_runtime_socket_address("/run/containerd/containerd.sock"));
    assert_true(eg_runtime_socket_address("containerd.sock.ttrpc"));
    assert_false(eg_runtime_socket_address("/var/run/docker.sock.bak"));
    assert_false(eg_runtime_socket_address(""));
}

/*
 * The new mount API: the set-up's record has no mount point; the attachment that follows
 * completes the same finding (count unchanged, an update due) with the first point only. An
 * attachment with no finding open (set up before the agent ran) makes the finding itself.
 */
static void new_mount_api_attachment_completes_the_finding(void **state)
{
    struct fixture *fx = *state;
    struct eg_escape_detector *d = fx->d;
    struct eg_escape_event blk = escape(EG_ESC_BLOCK_MOUNT, 0, "minix");
    blk.dev = (7u << 20) | 3u;
    snprintf(blk.path, sizeof(blk.path), "/dev/hostdisk");
    blk.path2[0] = '\0';
    eg_escape_on_event(d, &blk.hdr, &blk, sizeof(blk));
    struct collected c = {0};
    eg_aggregator_foreach(fx->findings, collect, &c);
    assert_int_equal(c.n, 1);
    struct eg_finding *f = c.f[0];
    assert_false(json_object_object_get_ex(f->context, "mountTarget", NULL));
    f->emitted = true; /* as after its first emission */
    f->emitted_count = f->count;

    struct eg_escape_event at = blk;
    at.technique = EG_ESC_MOUNT_ATTACHED;
    snprintf(at.path2, sizeof(at.path2), "/mnt/host");
    eg_escape_on_event(d, &at.hdr, &at, sizeof(at));
    snprintf(at.path2, sizeof(at.path2), "/mnt/again");
    eg_escape_on_event(d, &at.hdr, &at, sizeof(at));
    c.n = 0;
    eg_aggregator_foreach(fx->findings, collect, &c);
    assert_int_equal(c.n, 1);
    assert_ptr_equal(c.f[0], f);
    assert_int_equal(f->count, 1);
    assert_true(f->details_changed);
    assert_string_equal(ctx_str(f, "mountTarget"), "/mnt/host");
    assert_string_equal(ctx_str(f, "mountSource"), "/dev/hostdisk");

    /* Another device attached with no set-up seen: its own finding, from the attachment. */
    struct eg_escape_event lone = at;
    lone.dev = (7u << 20) | 4u;
    snprintf(lone.path2, sizeof(lone.path2), "/mnt/other");
    eg_escape_on_event(d, &lone.hdr, &lone, sizeof(lone));
    c.n = 0;
    eg_aggregator_foreach(fx->findings, collect, &c);
    assert_int_equal(c.n, 2);
    struct eg_finding *g = c.f[0] == f ? c.f[1] : c.f[0];
    assert_int_equal(g->type, EG_FT_MOUNTS_HOST_DIRECTORY);
    assert_int_equal(g->count, 1);
    assert_string_equal(ctx_str(g, "mountTarget"), "/mnt/other");
    assert_string_equal(ctx_str(g, "blockDevice"), "7:4");
}

/*
 * A runtime's executable opened through /proc/<pid>/exe (the first step of CVE-2019-5736): its
 * own RuncContainerEscape behaviour beside the overwrite of the same file; runc's memfd copy of
 * itself is one too; another host process's executable is only counted.
 */
static void runtime_executable_opened(void **state)
{
    struct fixture *fx = *state;
    struct eg_escape_detector *d = fx->d;

    struct eg_escape_event open = escape(EG_ESC_RUNTIME_EXE_OPEN, 81, "runc");
    snprintf(open.path, sizeof(open.path), "/usr/bin/runc");
    open.arg0 = 3131;
    eg_escape_on_event(d, &open.hdr, &open, sizeof(open));
    open.arg1 = 2; /* two more opens absorbed in the kernel */
    eg_escape_on_event(d, &open.hdr, &open, sizeof(open));
    struct eg_escape_event written = escape(EG_ESC_HOST_FILE_WRITE, 81, "runc");
    snprintf(written.path, sizeof(written.path), "/usr/bin/runc");
    eg_escape_on_event(d, &written.hdr, &written, sizeof(written));
    struct eg_escape_event memfd =
        escape(EG_ESC_RUNTIME_EXE_OPEN, 5, "memfd:runc_cloned:/proc/self/exe");
    memfd.esc_flags = EG_ESC_MEMFD;
    eg_escape_on_event(d, &memfd.hdr, &memfd, sizeof(memfd));
    /* Other host executables, including a memfd of another name: counted, no finding. */
    struct eg_escape_event init = escape(EG_ESC_RUNTIME_EXE_OPEN, 9, "systemd");
    snprintf(init.path, sizeof(init.path), "/usr/lib/systemd/systemd");
    eg_escape_on_event(d, &init.hdr, &init, sizeof(init));
    struct eg_escape_event jit = escape(EG_ESC_RUNTIME_EXE_OPEN, 6, "memfd:jit-cache");
    jit.esc_flags = EG_ESC_MEMFD;
    eg_escape_on_event(d, &jit.hdr, &jit, sizeof(jit));

    struct collected c = {0};
    eg_aggregator_foreach(fx->findings, collect, &c);
    assert_int_equal(c.n, 3);
    int opens = 0, modifies = 0;
    for (int i = 0; i < c.n; i++) {
        struct eg_finding *f = c.f[i];
        assert_int_equal(f->type, EG_FT_RUNC_ESCAPE);
        if (strcmp(ctx_str(f, "fileOperation"), "modify") == 0) {
            modifies++;
            continue;
        }
        opens++;
        assert_string_equal(ctx_str(f, "fileOperation"), "open");
        if (strcmp(ctx_str(f, "memoryBackedFile"), "true") == 0) {
            assert_string_equal(ctx_str(f, "runcBinaryPath"),
                                "/memfd:runc_cloned:/proc/self/exe (deleted)");
        } else {
            assert_string_equal(ctx_str(f, "runcBinaryPath"), "/usr/bin/runc");
            assert_string_equal(ctx_str(f, "runtimeProcessPid"), "3131");
            assert_string_equal(ctx_str(f, "procLinkFollowed"), "exe");
            assert_int_equal(f->count, 4); /* 1 + (1 + 2 absorbed) */
        }
    }
    assert_int_equal(opens, 2);
    assert_int_equal(modifies, 1);
    struct eg_escape_detector_stats st;
    eg_escape_detector_get_stats(d, &st);
    assert_int_equal(st.other_host_exe_opens, 2);
}

/*
 * A runtime's binary held through its text mapping (/proc/<pid>/map_files/<range>), then
 * reopened for writing through the opener's own descriptor (/proc/self/fd/N) while the kernel
 * refuses: one behaviour, named by the hold, counting every open; a host executable of no
 * runtime reached through a descriptor is only counted.
 */
static void runtime_binary_held_through_map_files_and_fd(void **state)
{
    struct fixture *fx = *state;
    struct eg_escape_detector *d = fx->d;

    struct eg_escape_event held = escape(EG_ESC_RUNTIME_EXE_OPEN, 81, "runc");
    snprintf(held.path, sizeof(held.path), "/usr/sbin/runc");
    held.esc_flags = EG_ESC_VIA_MAP_FILES;
    held.arg0 = 4242;
    eg_escape_on_event(d, &held.hdr, &held, sizeof(held));
    struct eg_escape_event retry = held;
    retry.esc_flags = EG_ESC_VIA_FD;
    retry.arg0 = 0; /* its own descriptor */
    retry.arg1 = 9; /* retries absorbed in the kernel */
    eg_escape_on_event(d, &retry.hdr, &retry, sizeof(retry));
    struct eg_escape_event other = escape(EG_ESC_RUNTIME_EXE_OPEN, 82, "sshd");
    snprintf(other.path, sizeof(other.path), "/usr/sbin/sshd");
    other.esc_flags = EG_ESC_VIA_FD;
    eg_escape_on_event(d, &other.hdr, &other, sizeof(other));

    struct collected c = {0};
    eg_aggregator_foreach(fx->findings, collect, &c);
    assert_int_equal(c.n, 1);
    struct eg_finding *f = c.f[0];
    assert_int_equal(f->type, EG_FT_RUNC_ESCAPE);
    assert_string_equal(ctx_str(f, "fileOperation"), "open");
    assert_string_equal(ctx_str(f, "procLinkFollowed"), "map_files");
    assert_string_equal(ctx_str(f, "runcBinaryPath"), "/usr/sbin/runc");
    assert_string_equal(ctx_str(f, "runtimeProcessPid"), "4242");
    assert_int_equal(f->count, 11); /* 1 + (1 + 9 absorbed) */
    struct eg_escape_detector_stats st;
    eg_escape_detector_get_stats(d, &st);
    assert_int_equal(st.other_host_exe_opens, 1);
}

/*
 * A module the kernel's modprobe loaded for a contained process (request_module): the same
 * KernelModuleLoaded, saying so and what was asked for, with no system call of the process.
 */
static void module_loaded_by_the_kernel(void **state)
{
    struct fixture *fx = *state;
    struct eg_escape_event mod = escape(EG_ESC_MODULE_LOAD, 0, "appletalk");
    mod.arg0 = EG_MODULE_FROM_FILE;
    mod.esc_flags = EG_ESC_MODULE_AUTOLOAD;
    snprintf(mod.path, sizeof(mod.path), "/lib/modules/6.1.0/kernel/net/appletalk/appletalk.ko");
    snprintf(mod.path2, sizeof(mod.path2), "net-pf-5");
    eg_escape_on_event(fx->d, &mod.hdr, &mod, sizeof(mod));

    struct collected c = {0};
    eg_aggregator_foreach(fx->findings, collect, &c);
    assert_int_equal(c.n, 1);
    struct eg_finding *f = of_type(&c, EG_FT_KERNEL_MODULE_LOADED);
    assert_string_equal(ctx_str(f, "moduleName"), "appletalk");
    assert_string_equal(ctx_str(f, "requestedModule"), "net-pf-5");
    assert_string_equal(ctx_str(f, "loadedByKernel"), "true");
    assert_string_equal(ctx_str(f, "moduleFilePath"),
                        "/lib/modules/6.1.0/kernel/net/appletalk/appletalk.ko");
    assert_false(json_object_object_get_ex(f->context, "syscall", NULL));
    assert_false(json_object_object_get_ex(f->context, "execPath", NULL));
}

/*
 * 32-bit compat syscalls: one finding per container and i386 number, whatever paths the caller
 * passed (its own bytes: never the finding's file_path, which allow rules match); the calls the
 * kernel absorbed are counted; the context names the call and the concern it went around.
 */
static void compat_syscalls(void **state)
{
    struct fixture *fx = *state;
    struct eg_escape_detector *d = fx->d;

    struct eg_escape_event open = escape(EG_ESC_COMPAT_SYSCALL, 0, "");
    open.ino = 0;
    open.dev = 0;
    open.arg0 = 5; /* i386 open */
    open.path2[0] = '\0';
    open.result = 01 | 0100 | 02000; /* O_WRONLY | O_CREAT | O_APPEND */
    snprintf(open.path, sizeof(open.path), "/etc/ld.so.preload");
    eg_escape_on_event(d, &open.hdr, &open, sizeof(open));
    open.arg1 = 4;                                            /* four more absorbed in the kernel */
    snprintf(open.path, sizeof(open.path), "/tmp/elsewhere"); /* another path: the same call */
    eg_escape_on_event(d, &open.hdr, &open, sizeof(open));
    struct eg_escape_event ren = escape(EG_ESC_COMPAT_SYSCALL, 0, "");
    ren.ino = 0;
    ren.dev = 0;
    ren.arg0 = 38; /* i386 rename */
    snprintf(ren.path, sizeof(ren.path), "/etc/a");
    snprintf(ren.path2, sizeof(ren.path2), "/etc/b");
    eg_escape_on_event(d, &ren.hdr, &ren, sizeof(ren));
    struct eg_escape_event kill = escape(EG_ESC_COMPAT_SYSCALL, 0, "");
    kill.ino = 0;
    kill.dev = 0;
    kill.arg0 = 37; /* i386 kill */
    kill.path2[0] = '\0';
    eg_escape_on_event(d, &kill.hdr, &kill, sizeof(kill));

    struct collected c = {0};
    eg_aggregator_foreach(fx->findings, collect, &c);
    assert_int_equal(c.n, 3);
    struct eg_finding *o = NULL, *r = NULL, *k = NULL;
    for (int i = 0; i < c.n; i++) {
        assert_int_equal(c.f[i]->type, EG_FT_COMPAT_SYSCALL);
        assert_string_equal(c.f[i]->file_path, "");
        const char *name = ctx_str(c.f[i], "syscall");
        if (strcmp(name, "open") == 0)
            o = c.f[i];
        else if (strcmp(name, "rename") == 0)
            r = c.f[i];
        else if (strcmp(name, "kill") == 0)
            k = c.f[i];
    }
    assert_non_null(o);
    assert_non_null(r);
    assert_non_null(k);
    assert_int_equal(o->count, 6); /* 1 + (1 + 4 absorbed) */
    assert_string_equal(ctx_str(o, "syscallAbi"), "i386");
    assert_string_equal(ctx_str(o, "syscallNumber"), "5");
    assert_string_equal(ctx_str(o, "bypassedConcern"), "rootfsWrites");
    assert_string_equal(ctx_str(o, "literalFilePath"), "/etc/ld.so.preload"); /* the first */
    assert_string_equal(ctx_str(o, "flags"), "[ \"O_WRONLY\", \"O_CREAT\" ]");
    assert_false(json_object_object_get_ex(o->context, "literalSecondFilePath", NULL));
    assert_string_equal(ctx_str(r, "literalSecondFilePath"), "/etc/b");
    assert_false(json_object_object_get_ex(r->context, "flags", NULL));
    assert_string_equal(ctx_str(k, "bypassedConcern"), "hostNamespaces");
    assert_false(json_object_object_get_ex(k->context, "literalFilePath", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(techniques_are_findings_one_per_behaviour, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(host_resource_techniques, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(compat_syscalls, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(runtime_executable_opened, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(runtime_binary_held_through_map_files_and_fd, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(new_mount_api_attachment_completes_the_finding,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(module_loaded_by_the_kernel, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
