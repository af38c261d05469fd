/*
 * egprobe: a static helper copied into test container images. Each invocation performs exactly
 * one privileged or suspicious action, prints one result line on stdout and exits:
 *
 *   0  the action succeeded   ("ok <command> key=value...")
 *   1  the action failed      ("fail <command> errno=<NAME> (<message>) [key=value...]")
 *   2  usage error            (message on stderr)
 *
 * The integration tests and the demo use it to make a container do something the agent must
 * (or must not) report. Raw syscalls are used where libc has no wrapper. (About 1,700
 * lines: one static binary is copied into the images, so every action lives in this file.)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/sched.h>

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

static const char *g_cmd = "?";

static int usage(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "egprobe %s: ", g_cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_USAGE;
}

/* Prints the failure line for errno value err; extra is appended verbatim when not NULL. */
static int fail(int err, const char *extra)
{
    const char *name = strerrorname_np(err);
    printf("fail %s errno=%s (%s)%s%s\n", g_cmd, name ? name : "?", strerror(err), extra ? " " : "",
           extra ? extra : "");
    fflush(stdout);
    return EXIT_FAILED;
}

static int ok(const char *fmt, ...)
{
    va_list ap;
    printf("ok %s", g_cmd);
    if (fmt && *fmt) {
        putchar(' ');
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
    }
    putchar('\n');
    fflush(stdout);
    return EXIT_OK;
}

static int parse_long(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_pid(const char *s, pid_t *out)
{
    long v;
    if (parse_long(s, 1, INT_MAX, &v) != 0)
        return -1;
    *out = (pid_t)v;
    return 0;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * CPU time of this thread: what the loop's syscalls cost in its own context (kernel work and
 * BPF programs included), without the time it waited preempted or stolen by the hypervisor.
 * The benchmark reports it next to wall time because that noise dominates on a 2-vCPU VM.
 */
static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* bpf(BPF_MAP_CREATE) of a one-entry array map: needs CAP_BPF (or CAP_SYS_ADMIN). */
static int cmd_bpf_map_create(int argc, char **argv)
{
    if (argc != 0)
        return usage("takes no arguments");
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = sizeof(uint32_t);
    attr.value_size = sizeof(uint64_t);
    attr.max_entries = 1;
    long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
    if (fd < 0)
        return fail(errno, NULL);
    close((int)fd);
    return ok("fd=%ld", fd);
}

static int cmd_mount_tmpfs(int argc, char **argv)
{
    if (argc != 1)
        return usage("usage: mount-tmpfs DIR");
    if (mount("egprobe", argv[0], "tmpfs", 0, "size=1m") != 0)
        return fail(errno, NULL);
    return ok("dir=%s", argv[0]);
}

/* The names in directory `fd` (one getdents pass), joined by ',' into `out`. */
static void list_dir_fd(int fd, char *out, size_t len)
{
    out[0] = '\0';
    DIR *d = fdopendir(fd);
    if (!d)
        return;
    size_t used = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && used + 1 < len) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        int n = snprintf(out + used, len - used, "%s%s", used ? "," : "", de->d_name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    closedir(d);
}

/*
 * The new mount API (no libc wrappers): a file system of type FSTYPE on SOURCE set up read-only
 * (fsopen, fsconfig source and "ro", create), made a mount (fsmount); then attached at TARGET
 * (move_mount) SECONDS after (default 0) or, with "-", never attached: its root read through
 * the mount's descriptor. Prints the root's names either way.
 */
static int cmd_fsmount(int argc, char **argv)
{
    if (argc != 3 && argc != 4)
        return usage("usage: fsmount SOURCE FSTYPE TARGET|- [SECONDS]");
    int fs = (int)syscall(SYS_fsopen, argv[1], 0u);
    if (fs < 0)
        return fail(errno, "step=fsopen");
    if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "source", argv[0], 0) != 0)
        return fail(errno, "step=source");
    if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "ro", NULL, 0) != 0)
        return fail(errno, "step=ro");
    if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0)
        return fail(errno, "step=create");
    int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0u);
    if (mnt < 0)
        return fail(errno, "step=fsmount");
    close(fs);
    char names[256];
    if (strcmp(argv[2], "-") == 0) {
        int root = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
            return fail(errno, "step=open-root");
        list_dir_fd(root, names, sizeof(names));
        return ok("source=%s attached=no names=%s", argv[0], names);
    }
    if (argc == 4)
        sleep((unsigned)atoi(argv[3]));
    if (syscall(SYS_move_mount, mnt, "", AT_FDCWD, argv[2], MOVE_MOUNT_F_EMPTY_PATH) != 0)
        return fail(errno, "step=move_mount");
    int root = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return fail(errno, "step=open-target");
    list_dir_fd(root, names, sizeof(names));
    return ok("source=%s target=%s names=%s", argv[0], argv[2], names);
}

/* open_tree(OPEN_TREE_CLONE) of the mount at SOURCE, attached at TARGET by move_mount. */
static int cmd_clone_mount(int argc, char **argv)
{
    if (argc != 2)
        return usage("usage: clone-mount SOURCE TARGET");
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, argv[0], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0)
        return fail(errno, "step=open_tree");
    if (syscall(SYS_move_mount, tree, "", AT_FDCWD, argv[1], MOVE_MOUNT_F_EMPTY_PATH) != 0)
        return fail(errno, "step=move_mount");
    return ok("source=%s target=%s", argv[0], argv[1]);
}

/*
 * socket(FAMILY, TYPE, 0) and close it: the first socket of a family no module provides yet
 * makes the kernel ask for one (request_module("net-pf-FAMILY")).
 */
static int cmd_socket(int argc, char **argv)
{
    long family, type;
    if (argc != 2 || parse_long(argv[0], 0, 1024, &family) != 0 ||
        parse_long(argv[1], 0, 1024, &type) != 0)
        return usage("usage: socket FAMILY TYPE");
    int fd = socket((int)family, (int)type, 0);
    if (fd < 0)
        return fail(errno, NULL);
    close(fd);
    return ok("family=%ld type=%ld", family, type);
}

/*
 * mmap one anonymous page at ADDR exactly (MAP_FIXED_NOREPLACE): below vm.mmap_min_addr the
 * kernel asks for CAP_SYS_RAWIO (cap_mmap_addr), refused with EPERM without it.
 */
static int cmd_mmap_low(int argc, char **argv)
{
    long addr;
    if (argc != 1 || parse_long(argv[0], 0, LONG_MAX, &addr) != 0)
        return usage("usage: mmap-low ADDR");
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
    void *p = mmap((void *)addr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                   -1, 0);
    if (p == MAP_FAILED)
        return fail(errno, NULL);
    munmap(p, 4096);
    return ok("addr=%ld", addr);
}

/*
 * unshare(CLONE_NEWUSER | CLONE_NEWNS), then mount a tmpfs on DIR: the mount is checked against
 * the user namespace the process just created, not the host's (an unprivileged container can do
 * this wherever user namespaces are allowed; the unshare itself is checked against the new
 * namespace too).
 */
static int cmd_userns_mount_tmpfs(int argc, char **argv)
{
    if (argc != 1)
        return usage("usage: userns-mount-tmpfs DIR");
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
        return fail(errno, "step=unshare");
    if (mount("egprobe", argv[0], "tmpfs", 0, "size=1m") != 0)
        return fail(errno, "step=mount");
    return ok("dir=%s", argv[0]);
}

/*
 * bpf(BPF_PROG_LOAD) of a socket filter that returns 0 ("r0 = 0; exit"): with CAP_BPF it loads
 * whatever unprivileged_bpf_disabled says; the verifier then asks for CAP_PERFMON (pointer
 * leaks, Spectre bypasses), each with the kernel's CAP_SYS_ADMIN fallback.
 */
static int cmd_bpf_prog_load(int argc, char **argv)
{
    if (argc != 0)
        return usage("takes no arguments");
    struct bpf_insn insns[2];
    memset(insns, 0, sizeof(insns));
    insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K; /* r0 = 0 */
    insns[0].dst_reg = BPF_REG_0;
    insns[1].code = BPF_JMP | BPF_EXIT;
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attr.insns = (uint64_t)(uintptr_t)insns;
    attr.insn_cnt = 2;
    attr.license = (uint64_t)(uintptr_t) "GPL";
    long fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
    if (fd < 0)
        return fail(errno, NULL);
    close((int)fd);
    return ok("fd=%ld", fd);
}

static int cmd_sethostname(int argc, char **argv)
{
    long count = 1;
    if (argc < 1 || argc > 2)
        return usage("usage: sethostname NAME [COUNT]");
    if (argc == 2 && parse_long(argv[1], 1, LONG_MAX, &count) != 0)
        return usage("bad COUNT '%s'", argv[1]);
    size_t len = strlen(argv[0]);
    uint64_t start = now_ns(), cpu_start = cpu_ns();
    for (long i = 0; i < count; i++) {
        if (sethostname(argv[0], len) != 0) {
            char extra[64];
            snprintf(extra, sizeof(extra), "done=%ld", i);
            return fail(errno, extra);
        }
    }
    uint64_t elapsed = now_ns() - start, cpu = cpu_ns() - cpu_start;
    return ok("name=%s count=%ld ns_per_op=%" PRIu64 " cpu_ns_per_op=%" PRIu64, argv[0], count,
              elapsed / (uint64_t)count, cpu / (uint64_t)count);
}

/*
 * ioctl(SIOCSIFMTU): the kernel checks CAP_NET_ADMIN in the interface's network namespace.
 * With COUNT, repeats it COUNT times (a benchmark loop) and prints ns_per_op.
 */
static int cmd_link_mtu(int argc, char **argv)
{
    long mtu;
    long count = 1;
    if (argc < 2 || argc > 3)
        return usage("usage: link-mtu IFNAME MTU [COUNT]");
    if (strlen(argv[0]) >= IFNAMSIZ)
        return usage("interface name too long");
    if (parse_long(argv[1], 68, INT_MAX, &mtu) != 0)
        return usage("bad MTU '%s'", argv[1]);
    if (argc == 3 && parse_long(argv[2], 1, LONG_MAX, &count) != 0)
        return usage("bad COUNT '%s'", argv[2]);
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return fail(errno, "step=socket");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, argv[0], strlen(argv[0]));
    ifr.ifr_mtu = (int)mtu;
    uint64_t start = now_ns(), cpu_start = cpu_ns();
    for (long i = 0; i < count; i++) {
        if (ioctl(sock, SIOCSIFMTU, &ifr) != 0) {
            int err = errno;
            close(sock);
            return fail(err, NULL);
        }
    }
    uint64_t elapsed = now_ns() - start, cpu = cpu_ns() - cpu_start;
    close(sock);
    if (argc == 3)
        return ok("ifname=%s mtu=%ld count=%ld ns_per_op=%" PRIu64 " cpu_ns_per_op=%" PRIu64,
                  argv[0], mtu, count, elapsed / (uint64_t)count, cpu / (uint64_t)count);
    return ok("ifname=%s mtu=%ld", argv[0], mtu);
}

static int cmd_ptrace_attach(int argc, char **argv)
{
    pid_t pid;
    if (argc != 1 || parse_pid(argv[0], &pid) != 0)
        return usage("usage: ptrace-attach PID");
    if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) != 0)
        return fail(errno, NULL);
    /* Let the target run on: wait for the attach stop, then detach. */
    int status = 0;
    if (waitpid(pid, &status, __WALL) < 0)
        return fail(errno, "step=waitpid");
    if (ptrace(PTRACE_DETACH, pid, NULL, NULL) != 0)
        return fail(errno, "step=detach");
    return ok("pid=%d", (int)pid);
}

/* Reads field number `field` (1-based, as in proc(5)) of /proc/PID/stat as an unsigned number. */
static int read_stat_field(pid_t pid, int field, unsigned long long *out)
{
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    /* comm (field 2) may contain spaces and parentheses: fields resume after the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    p++;
    for (int i = 3; i <= field; i++) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            return -1;
        if (i == field) {
            *out = strtoull(p, NULL, 10);
            return 0;
        }
        while (*p && *p != ' ')
            p++;
    }
    return -1;
}

/*
 * process_vm_writev of one byte into the target. The address is the start of the target's
 * argument strings (/proc/PID/stat arg_start, else startstack); the byte written is the first
 * byte of its command line, so a successful write leaves the target unchanged. The kernel
 * shows these addresses only to callers that may ptrace the target; otherwise they read 0 and
 * the call is still made (and fails) — the point is the syscall.
 */
static int cmd_vm_write(int argc, char **argv)
{
    pid_t pid;
    if (argc != 1 || parse_pid(argv[0], &pid) != 0)
        return usage("usage: vm-write PID");
    unsigned long long addr = 0;
    if (read_stat_field(pid, 48, &addr) != 0 || addr == 0)
        read_stat_field(pid, 28, &addr);
    unsigned char byte = 0;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &byte, 1) != 1)
            byte = 0;
        close(fd);
    }
    struct iovec local = {.iov_base = &byte, .iov_len = 1};
    struct iovec remote = {.iov_base = (void *)(uintptr_t)addr, .iov_len = 1};
    char extra[64];
    snprintf(extra, sizeof(extra), "addr=0x%llx", addr);
    ssize_t n = process_vm_writev(pid, &local, 1, &remote, 1, 0);
    if (n < 0)
        return fail(errno, extra);
    return ok("pid=%d %s bytes=%zd", (int)pid, extra, n);
}

/*
 * Opens FLAGS (O_WRONLY, O_RDWR...) of PATH through one system call: "openat" (what libc's
 * open() calls), "open" and "creat" (x86_64's older calls), "openat2" (flags in memory).
 */
static int open_via(const char *how, const char *path, int flags)
{
    if (strcmp(how, "openat") == 0)
        return (int)syscall(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC, 0600);
#ifdef SYS_open
    if (strcmp(how, "open") == 0)
        return (int)syscall(SYS_open, path, flags | O_CLOEXEC, 0600);
    if (strcmp(how, "creat") == 0)
        return (int)syscall(SYS_creat, path, 0600);
#endif
    if (strcmp(how, "openat2") == 0) {
        struct {
            uint64_t flags, mode, resolve;
        } open_how = {.flags = (uint64_t)(flags | O_CLOEXEC)};
        return (int)syscall(SYS_openat2, AT_FDCWD, path, &open_how, sizeof(open_how));
    }
    errno = ENOSYS;
    return -1;
}

static int cmd_proc_mem_open(int argc, char **argv)
{
    pid_t pid;
    if (argc < 1 || argc > 2 || parse_pid(argv[0], &pid) != 0)
        return usage("usage: proc-mem-open PID [openat|open|creat|openat2]");
    const char *how = argc == 2 ? argv[1] : "openat";
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
    int fd = open_via(how, path, O_RDWR);
    if (fd < 0)
        return fail(errno, how);
    close(fd);
    return ok("path=%s syscall=%s", path, how);
}

/*
 * openat2 keeps its flags in the caller's memory, which the kernel copies at entry: a thread
 * opens the FIFO at PATH write-only through openat2 and blocks there until a reader comes;
 * meanwhile this thread rewrites the struct open_how to read-only and then opens the FIFO for
 * reading, which lets the write open finish. What a program reading the flags back at the
 * syscall's exit finds is O_RDONLY, for a file opened for writing.
 */
struct openat2_race {
    const char *path;
    volatile uint64_t how[3]; /* struct open_how: flags, mode, resolve */
    int fd, err;
};

static void *openat2_blocking(void *arg)
{
    struct openat2_race *r = arg;
    r->fd = (int)syscall(SYS_openat2, AT_FDCWD, r->path, (void *)r->how, sizeof(r->how));
    r->err = r->fd < 0 ? errno : 0;
    return NULL;
}

static int cmd_openat2_flags_rewritten(int argc, char **argv)
{
    if (argc != 1)
        return usage("usage: openat2-flags-rewritten FIFO");
    struct openat2_race r = {.path = argv[0], .how = {O_WRONLY | O_CLOEXEC, 0, 0}, .fd = -1};
    pthread_t t;
    int err = pthread_create(&t, NULL, openat2_blocking, &r);
    if (err != 0)
        return fail(err, "step=pthread_create");
    /* Long enough for the thread to be blocked in the open (it copied the flags first). */
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 300 * 1000 * 1000};
    nanosleep(&pause, NULL);
    r.how[0] = O_RDONLY | O_CLOEXEC;
    int reader = open(argv[0], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    int reader_err = errno;
    pthread_join(t, NULL);
    if (reader < 0)
        return fail(reader_err, "step=reader");
    close(reader);
    if (r.fd < 0)
        return fail(r.err, "step=openat2");
    int mode = fcntl(r.fd, F_GETFL) & O_ACCMODE;
    close(r.fd);
    /* Opened read-only: the rewrite came before the kernel's copy, and nothing was tested. */
    if (mode != O_WRONLY)
        return fail(EAGAIN, "step=raced");
    return ok("path=%s opened=write-only flags-now=read-only", argv[0]);
}

/* Open PATH read-only for an fd-based metadata change (the open itself writes nothing). */
static int open_target(const char *path, int flags)
{
    return open(path, flags | O_CLOEXEC);
}

static int parse_mode(const char *s, mode_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 8);
    if (errno != 0 || end == s || *end != '\0' || v > 07777)
        return -1;
    *out = (mode_t)v;
    return 0;
}

/* fchmod(2) on an fd of PATH (MODE in octal, e.g. 4755 for setuid). */
static int cmd_fchmod(int argc, char **argv)
{
    mode_t mode;
    if (argc != 2 || parse_mode(argv[1], &mode) != 0)
        return usage("usage: fchmod PATH MODE");
    int fd = open_target(argv[0], O_RDONLY);
    if (fd < 0)
        return fail(errno, "step=open");
    int rc = fchmod(fd, mode);
    int err = errno;
    close(fd);
    return rc ? fail(err, "step=fchmod") : ok("path=%s mode=%o", argv[0], (unsigned)mode);
}

/* fchown(2) on an fd of PATH, or with `at`, fchownat(fd, "", AT_EMPTY_PATH) on an O_PATH fd. */
static int fd_chown(int argc, char **argv, bool at)
{
    long uid, gid;
    if (argc != 3 || parse_long(argv[1], 0, INT_MAX, &uid) != 0 ||
        parse_long(argv[2], 0, INT_MAX, &gid) != 0)
        return usage("usage: %s PATH UID GID", g_cmd);
    int fd = open_target(argv[0], at ? O_PATH : O_RDONLY);
    if (fd < 0)
        return fail(errno, "step=open");
    int rc = at ? fchownat(fd, "", (uid_t)uid, (gid_t)gid, AT_EMPTY_PATH)
                : fchown(fd, (uid_t)uid, (gid_t)gid);
    int err = errno;
    close(fd);
    return rc ? fail(err, "step=chown") : ok("path=%s uid=%ld gid=%ld", argv[0], uid, gid);
}

static int cmd_fchown(int argc, char **argv)
{
    return fd_chown(argc, argv, false);
}

static int cmd_fchownat_fd(int argc, char **argv)
{
    return fd_chown(argc, argv, true);
}

/* futimens(3): utimensat(fd, NULL, NULL, 0) on an fd of PATH, timestamps set to now. */
static int cmd_futimens(int argc, char **argv)
{
    if (argc != 1)
        return usage("usage: futimens PATH");
    int fd = open_target(argv[0], O_RDONLY);
    if (fd < 0)
        return fail(errno, "step=open");
    int rc = futimens(fd, NULL);
    int err = errno;
    close(fd);
    return rc ? fail(err, "step=futimens") : ok("path=%s", argv[0]);
}

/* utimensat(AT_FDCWD, PATH, NULL, 0): timestamps of PATH set to now, by name. */
static int cmd_utimensat(int argc, char **argv)
{
    if (argc != 1)
        return usage("usage: utimensat PATH");
    if (utimensat(AT_FDCWD, argv[0], NULL, 0) != 0)
        return fail(errno, NULL);
    return ok("path=%s", argv[0]);
}

/*
 * mknodat of each PATH as TYPE (fifo or reg) in turn, from this one thread, going on after a
 * failure: a call that fails after the kernel's LSM hook ran, followed by one that passes no
 * such hook (a regular file), is what could reuse a verdict the first left behind.
 */
static int cmd_mknod_seq(int argc, char **argv)
{
    if (argc < 2 || argc % 2 != 0)
        return usage("usage: mknod-seq PATH fifo|reg [PATH fifo|reg]...");
    int failed = 0, last_err = 0;
    for (int i = 0; i < argc; i += 2) {
        mode_t type = strcmp(argv[i + 1], "fifo") == 0 ? S_IFIFO : S_IFREG;
        if (mknodat(AT_FDCWD, argv[i], type | 0644, 0) != 0) {
            failed++;
            last_err = errno;
        }
    }
    if (failed == argc / 2)
        return fail(last_err, "every call failed");
    return ok("calls=%d failed=%d last_errno=%d", argc / 2, failed, last_err);
}

/*
 * An unnamed file (O_TMPFILE in DIR, mode 0755, a copy of this egprobe binary, so the name can
 * be executed) given the name NEWPATH by
 * linkat: from "/proc/self/fd/N" with AT_SYMLINK_FOLLOW ("proc"), or from the fd itself with
 * AT_EMPTY_PATH ("fd"; needs CAP_DAC_READ_SEARCH).
 */
static int cmd_tmpfile_link(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[2], "proc") != 0 && strcmp(argv[2], "fd") != 0))
        return usage("usage: tmpfile-link DIR NEWPATH proc|fd");
    int fd = open(argv[0], O_TMPFILE | O_WRONLY | O_CLOEXEC, 0755);
    if (fd < 0)
        return fail(errno, "step=open");
    int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (self < 0)
        return fail(errno, "step=open-self");
    char buf[65536];
    ssize_t n;
    while ((n = read(self, buf, sizeof(buf))) > 0) {
        if (write(fd, buf, (size_t)n) != n)
            return fail(errno, "step=write");
    }
    close(self);
    if (n < 0)
        return fail(errno, "step=read-self");
    int rc;
    if (strcmp(argv[2], "proc") == 0) {
        char src[64];
        snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
        rc = linkat(AT_FDCWD, src, AT_FDCWD, argv[1], AT_SYMLINK_FOLLOW);
    } else {
        rc = linkat(fd, "", AT_FDCWD, argv[1], AT_EMPTY_PATH);
    }
    int err = errno;
    close(fd);
    return rc ? fail(err, "step=linkat") : ok("path=%s from=%s", argv[1], argv[2]);
}

/*
 * chroot(NEWROOT) keeping an fd of the old root, then create OLDREL relative to that fd (a file
 * of the container's root filesystem, written from outside the new root), NEWPATH and the
 * directory NEWPATH.d inside the new root. Needs CAP_SYS_CHROOT (in Docker's default set).
 */
static int cmd_chroot_write(int argc, char **argv)
{
    if (argc != 3)
        return usage("usage: chroot-write NEWROOT OLDREL NEWPATH");
    int old_root = open("/", O_DIRECTORY | O_PATH | O_CLOEXEC);
    if (old_root < 0)
        return fail(errno, "step=open-root");
    if (chroot(argv[0]) != 0 || chdir("/") != 0)
        return fail(errno, "step=chroot");
    int fd = openat(old_root, argv[1], O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return fail(errno, "step=open-old");
    close(fd);
    fd = open(argv[2], O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return fail(errno, "step=open-new");
    close(fd);
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s.d", argv[2]);
    if (mkdir(dir, 0755) != 0)
        return fail(errno, "step=mkdir-new");
    return ok("root=%s old=%s new=%s", argv[0], argv[1], argv[2]);
}

static const struct {
    const char *name;
    int sig;
} signal_names[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL}, {"USR1", SIGUSR1},
    {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"CONT", SIGCONT}, {"STOP", SIGSTOP},
};

static int parse_signal(const char *s, int *out)
{
    long v;
    if (parse_long(s, 0, 64, &v) == 0) {
        *out = (int)v;
        return 0;
    }
    if (strncmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof(signal_names) / sizeof(signal_names[0]); i++) {
        if (strcmp(s, signal_names[i].name) == 0) {
            *out = signal_names[i].sig;
            return 0;
        }
    }
    return -1;
}

static int cmd_kill(int argc, char **argv)
{
    pid_t pid;
    int sig;
    if (argc != 2 || parse_pid(argv[0], &pid) != 0)
        return usage("usage: kill PID SIG");
    if (parse_signal(argv[1], &sig) != 0)
        return usage("bad signal '%s'", argv[1]);
    if (kill(pid, sig) != 0)
        return fail(errno, NULL);
    return ok("pid=%d sig=%d", (int)pid, sig);
}

static const struct {
    const char *name;
    int flag;
} ns_types[] = {
    {"mnt", CLONE_NEWNS},        {"pid", CLONE_NEWPID},
    {"net", CLONE_NEWNET},       {"uts", CLONE_NEWUTS},
    {"ipc", CLONE_NEWIPC},       {"user", CLONE_NEWUSER},
    {"cgroup", CLONE_NEWCGROUP}, {"time", 0x00000080 /* CLONE_NEWTIME */},
};

static int cmd_setns(int argc, char **argv)
{
    pid_t pid;
    if (argc != 2 || parse_pid(argv[0], &pid) != 0)
        return usage("usage: setns PID NSTYPE (mnt|pid|net|uts|ipc|user|cgroup|time)");
    int flag = -1;
    for (size_t i = 0; i < sizeof(ns_types) / sizeof(ns_types[0]); i++) {
        if (strcmp(argv[1], ns_types[i].name) == 0)
            flag = ns_types[i].flag;
    }
    if (flag < 0)
        return usage("unknown namespace type '%s'", argv[1]);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, argv[1]);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(errno, "step=open");
    int rc = setns(fd, flag);
    int err = errno;
    close(fd);
    if (rc != 0)
        return fail(err, NULL);
    return ok("path=%s", path);
}

static int cmd_write_files(int argc, char **argv)
{
    long n;
    if (argc != 2 || parse_long(argv[1], 0, LONG_MAX, &n) != 0)
        return usage("usage: write-files DIR N");
    char path[PATH_MAX];
    for (long i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/egprobe-%ld", argv[0], i);
        int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            char extra[64];
            snprintf(extra, sizeof(extra), "done=%ld", i);
            return fail(errno, extra);
        }
        ssize_t w = write(fd, "egprobe\n", 8);
        int err = errno;
        close(fd);
        if (w != 8)
            return fail(w < 0 ? err : EIO, "step=write");
    }
    return ok("dir=%s count=%ld", argv[0], n);
}

static int cmd_spin_fork(int argc, char **argv)
{
    long n;
    if (argc != 1 || parse_long(argv[0], 1, LONG_MAX, &n) != 0)
        return usage("usage: spin-fork N");
    uint64_t start = now_ns();
    for (long i = 0; i < n; i++) {
        pid_t child = fork();
        if (child < 0)
            return fail(errno, "step=fork");
        if (child == 0) {
            char *const args[] = {"true", NULL};
            execv("/bin/true", args);
            _exit(127);
        }
        int status = 0;
        if (waitpid(child, &status, 0) < 0)
            return fail(errno, "step=waitpid");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            return fail(ENOEXEC, "step=exec");
    }
    uint64_t elapsed = now_ns() - start;
    return ok("count=%ld ns_per_op=%" PRIu64, n, elapsed / (uint64_t)n);
}

static int cmd_sleep(int argc, char **argv)
{
    if (argc != 1)
        return usage("usage: sleep SECONDS");
    char *end = NULL;
    errno = 0;
    double secs = strtod(argv[0], &end);
    if (errno != 0 || end == argv[0] || *end != '\0' || secs < 0 || secs > 1e9)
        return usage("bad SECONDS '%s'", argv[0]);
    struct timespec ts = {.tv_sec = (time_t)secs,
                          .tv_nsec = (long)((secs - (double)(time_t)secs) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {
        if (errno != EINTR)
            return fail(errno, NULL);
    }
    return ok("seconds=%s", argv[0]);
}

/*
 * sethostname over and over until PATH exists (up to 60 s), then exec PROG ARGS in this same
 * task: checks made by one process right before and right after something changes under it
 * (a cgroup migration), so per-CPU caches in the kernel programs are exercised across the
 * change. The process pins itself to its CPU and never sleeps, so no other task runs on that
 * CPU between the two sides (it would replace the cache entry and hide a stale one).
 */
static int cmd_sethostname_until_exec(int argc, char **argv)
{
    if (argc < 3)
        return usage("usage: sethostname-until-exec NAME PATH PROG [ARGS...]");
    int cpu = sched_getcpu();
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu < 0 ? 0 : cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0)
        return fail(errno, "sched_setaffinity");
    size_t len = strlen(argv[0]);
    uint64_t deadline = now_ns() + 60ULL * 1000 * 1000 * 1000;
    do {
        if (sethostname(argv[0], len) != 0)
            return fail(errno, NULL);
        if (now_ns() > deadline)
            return fail(ETIMEDOUT, "waiting for PATH");
    } while (access(argv[1], F_OK) != 0);
    execv(argv[2], argv + 2);
    return fail(errno, "exec");
}

/*
 * clone3(CLONE_INTO_CGROUP) into cgroup (v2) directory DIR, the child exec'ing PROG ARGS; waits
 * for it and exits with its status: a process born straight into another cgroup.
 */
static int cmd_clone_into_cgroup(int argc, char **argv)
{
    if (argc < 2)
        return usage("usage: clone-into-cgroup DIR PROG [ARGS...]");
    int cg = open(argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cg < 0)
        return fail(errno, "step=open");
    struct clone_args args;
    memset(&args, 0, sizeof(args));
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = (uint64_t)cg;
    long pid = syscall(SYS_clone3, &args, sizeof(args));
    if (pid < 0)
        return fail(errno, "step=clone3");
    if (pid == 0) {
        execv(argv[1], argv + 1);
        _exit(127);
    }
    int status;
    if (waitpid((pid_t)pid, &status, 0) < 0)
        return fail(errno, "step=wait");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return fail(ECHILD, "step=child");
    return ok("pid=%ld", pid);
}

/*
 * A path storm: a chain of directories with 255-byte names until the absolute path is within
 * 300 bytes of PATH_MAX, then N files created there with distinct ~200-byte names and each
 * renamed to another distinct name. Every other file is opened by its whole absolute path
 * (near PATH_MAX), the rest relative to the deepest directory (dirfd): both forms a hostile
 * container can use. Prints the absolute directory's length and the counts.
 */
static int cmd_path_storm(int argc, char **argv)
{
    long n;
    if (argc != 2 || parse_long(argv[1], 1, LONG_MAX, &n) != 0)
        return usage("usage: path-storm DIR N");
    static char abs_dir[PATH_MAX], path[PATH_MAX + 1], name[256], name2[256];
    size_t len = (size_t)snprintf(abs_dir, sizeof(abs_dir), "%s", argv[0]);
    int dfd = open(argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return fail(errno, "step=open-dir");
    int depth = 0;
    memset(name, 'd', 255);
    name[255] = '\0';
    /* 255-byte components, the last one shorter: the directory ends 300 bytes short of
     * PATH_MAX, room for "/" and a ~192-byte file name. */
    while (len + 1 < PATH_MAX - 300) {
        size_t room = PATH_MAX - 300 - len - 1;
        size_t n_len = room < 255 ? room : 255;
        name[n_len] = '\0';
        name[0] = (char)('a' + depth % 26);
        if (mkdirat(dfd, name, 0755) != 0 && errno != EEXIST)
            return fail(errno, "step=mkdir");
        int next = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (next < 0)
            return fail(errno, "step=open-subdir");
        close(dfd);
        dfd = next;
        abs_dir[len++] = '/';
        memcpy(abs_dir + len, name, n_len + 1);
        len += n_len;
        depth++;
    }
    long created = 0, renamed = 0;
    for (long i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%0190ld-a", i);
        snprintf(name2, sizeof(name2), "%0190ld-b", i);
        int fd;
        if (i % 2 == 0) {
            snprintf(path, sizeof(path), "%s/%s", abs_dir, name);
            fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
        } else {
            fd = openat(dfd, name, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
        }
        if (fd < 0)
            return fail(errno, "step=create");
        if (write(fd, "x", 1) != 1)
            return fail(errno, "step=write");
        close(fd);
        created++;
        if (renameat(dfd, name, dfd, name2) != 0)
            return fail(errno, "step=rename");
        renamed++;
    }
    close(dfd);
    return ok("depth=%d dir_len=%zu created=%ld renamed=%ld", depth, len, created, renamed);
}

/*
 * exec PATH with argv[0] = ARG0 and pieces of 100,000 bytes each (under the kernel's 128 KiB
 * per-string limit) adding up to BYTES, as arguments (exec-big-argv: an argument bomb near
 * ARG_MAX) or as environment variables EGBOMB<n>=AAA... with only ARG0 as argument
 * (exec-big-env). Waits for the child and reports how many pieces and bytes were passed.
 */
static int exec_big(int argc, char **argv, bool in_env)
{
    long bytes;
    if (argc != 3 || parse_long(argv[0], 1, 64L << 20, &bytes) != 0)
        return usage(in_env ? "usage: exec-big-env BYTES PATH ARG0"
                            : "usage: exec-big-argv BYTES PATH ARG0");
    enum { PIECE = 100000 };
    size_t n = (size_t)(bytes + PIECE - 1) / PIECE;
    char **args = calloc(n + 2, sizeof(*args));
    char **env = calloc(n + 1, sizeof(*env));
    char *piece = malloc(PIECE + 1);
    if (!args || !env || !piece)
        return fail(ENOMEM, NULL);
    memset(piece, 'A', PIECE);
    piece[PIECE] = '\0';
    args[0] = argv[2];
    for (size_t i = 0; i < n; i++) {
        if (!in_env) {
            args[i + 1] = piece;
            continue;
        }
        /* A name of its own per variable: the pieces must all reach the new image. */
        env[i] = malloc(PIECE + 16);
        if (!env[i])
            return fail(ENOMEM, NULL);
        snprintf(env[i], PIECE + 16, "EGBOMB%zu=%s", i, piece);
    }
    pid_t child = fork();
    if (child < 0)
        return fail(errno, "step=fork");
    if (child == 0) {
        execve(argv[1], args, env);
        _exit(errno == E2BIG ? 7 : 127);
    }
    int status = 0;
    if (waitpid(child, &status, 0) < 0)
        return fail(errno, "step=waitpid");
    if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0))
        return fail(WIFEXITED(status) && WEXITSTATUS(status) == 7 ? E2BIG : ENOEXEC, "step=exec");
    return ok("%s=%zu bytes=%zu", in_env ? "vars" : "args", n, n * (size_t)(PIECE + 1));
}

static int cmd_exec_big_argv(int argc, char **argv)
{
    return exec_big(argc, argv, false);
}

static int cmd_exec_big_env(int argc, char **argv)
{
    return exec_big(argc, argv, true);
}

/* Benchmark loop: open(O_CREAT|O_WRONLY) + write one byte + close, N times, on one file. */
static int cmd_loop_open_write(int argc, char **argv)
{
    long n;
    if (argc != 2 || parse_long(argv[1], 1, LONG_MAX, &n) != 0)
        return usage("usage: loop-open-write DIR N");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/egprobe-loop", argv[0]);
    uint64_t start = now_ns(), cpu_start = cpu_ns();
    for (long i = 0; i < n; i++) {
        int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0)
            return fail(errno, "step=open");
        ssize_t w = write(fd, "x", 1);
        int err = errno;
        close(fd);
        if (w != 1)
            return fail(w < 0 ? err : EIO, "step=write");
    }
    uint64_t elapsed = now_ns() - start, cpu = cpu_ns() - cpu_start;
    return ok("path=%s count=%ld ns_per_op=%" PRIu64 " cpu_ns_per_op=%" PRIu64, path, n,
              elapsed / (uint64_t)n, cpu / (uint64_t)n);
}

/* Copy this egprobe binary into the open file `fd`; 0 or an errno. */
static int copy_self_to(int fd)
{
    int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (self < 0)
        return errno;
    char buf[65536];
    ssize_t n;
    int err = 0;
    while ((n = read(self, buf, sizeof(buf))) > 0) {
        if (write(fd, buf, (size_t)n) != n) {
            err = errno ? errno : EIO;
            break;
        }
    }
    if (n < 0)
        err = errno;
    close(self);
    return err;
}

/*
 * Fileless execution: a memfd named NAME holding a copy of egprobe, executed through its fd
 * (fexecve: execveat(fd, "", AT_EMPTY_PATH)) with the egprobe command ARGS, whose result line
 * is what this prints.
 */
static int cmd_memfd_exec(int argc, char **argv)
{
    if (argc < 2)
        return usage("usage: memfd-exec NAME COMMAND [ARGS...]");
    int fd = (int)syscall(SYS_memfd_create, argv[0], 0u);
    if (fd < 0)
        return fail(errno, "step=memfd_create");
    int err = copy_self_to(fd);
    if (err)
        return fail(err, "step=copy");
    char *args[64];
    int n = 0;
    args[n++] = "egprobe";
    for (int i = 1; i < argc && n < 63; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    extern char **environ;
    fexecve(fd, args, environ);
    return fail(errno, "step=fexecve");
}

/*
 * What a JIT does: a memfd named NAME written and mapped executable (PROT_READ|PROT_EXEC), never
 * executed as a program.
 */
static int cmd_memfd_map(int argc, char **argv)
{
    if (argc != 1)
        return usage("usage: memfd-map NAME");
    int fd = (int)syscall(SYS_memfd_create, argv[0], 1u /* MFD_CLOEXEC */);
    if (fd < 0)
        return fail(errno, "step=memfd_create");
    int err = copy_self_to(fd);
    if (err)
        return fail(err, "step=copy");
    void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    err = errno;
    close(fd);
    if (p == MAP_FAILED)
        return fail(err, "step=mmap");
    munmap(p, 4096);
    return ok("name=%s", argv[0]);
}

/*
 * Fileless execution from disk: an O_TMPFILE file in DIR (never linked) holding a copy of
 * egprobe, executed through its fd with the egprobe command ARGS.
 */
static int cmd_tmpfile_exec(int argc, char **argv)
{
    if (argc < 2)
        return usage("usage: tmpfile-exec DIR COMMAND [ARGS...]");
    int fd = open(argv[0], O_TMPFILE | O_RDWR, 0755);
    if (fd < 0)
        return fail(errno, "step=open");
    int err = copy_self_to(fd);
    if (err)
        return fail(err, "step=copy");
    /* Executing needs no writer left: reopen read-only through /proc, close the writer. */
    char self[64];
    snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
    int ro = open(self, O_RDONLY);
    if (ro < 0)
        return fail(errno, "step=reopen");
    close(fd);
    char *args[64];
    int n = 0;
    args[n++] = "egprobe";
    for (int i = 1; i < argc && n < 63; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    extern char **environ;
    fexecve(ro, args, environ);
    return fail(errno, "step=fexecve");
}

#define EG_UFFD_USER_MODE_ONLY 1               /* uapi linux/userfaultfd.h */
#define EG_USERFAULTFD_IOC_NEW _IO(0xAA, 0x00) /* same */

/*
 * A userfaultfd object: userfaultfd(2) with O_CLOEXEC, plus UFFD_USER_MODE_ONLY with "user-only"
 * (allowed without CAP_SYS_PTRACE when vm.unprivileged_userfaultfd is 0).
 */
static int cmd_userfaultfd(int argc, char **argv)
{
    if (argc > 1 || (argc == 1 && strcmp(argv[0], "user-only") != 0))
        return usage("usage: userfaultfd [user-only]");
    int flags = O_CLOEXEC | (argc == 1 ? EG_UFFD_USER_MODE_ONLY : 0);
    int fd = (int)syscall(SYS_userfaultfd, flags);
    if (fd < 0)
        return fail(errno, "step=userfaultfd");
    close(fd);
    return ok("flags=%d", flags);
}

/* A userfaultfd object through /dev/userfaultfd (open, then USERFAULTFD_IOC_NEW). */
static int cmd_userfaultfd_dev(int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return usage("usage: userfaultfd-dev");
    int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
    if (dev < 0)
        return fail(errno, "step=open");
    int fd = ioctl(dev, EG_USERFAULTFD_IOC_NEW, O_CLOEXEC | EG_UFFD_USER_MODE_ONLY);
    int err = errno;
    close(dev);
    if (fd < 0)
        return fail(err, "step=ioctl");
    close(fd);
    return ok("device=/dev/userfaultfd");
}

/*
 * The address of PATH and its length; "@NAME" is NAME in the abstract namespace (a leading NUL,
 * the length exactly the name's, as ss shows it). -1 when it does not fit.
 */
static int unix_address(const char *path, struct sockaddr_un *sa, socklen_t *len)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (n >= sizeof(sa->sun_path))
        return -1;
    memcpy(sa->sun_path, path, n);
    if (path[0] == '@') {
        sa->sun_path[0] = '\0';
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        *len = (socklen_t)sizeof(*sa);
    }
    return 0;
}

/* N stream connects to the unix socket at PATH (a runtime's API socket bind-mounted in). */
static int cmd_unix_connect(int argc, char **argv)
{
    struct sockaddr_un sa;
    socklen_t len;
    if (argc < 1 || argc > 2 || unix_address(argv[0], &sa, &len) != 0)
        return usage("usage: unix-connect PATH|@NAME [COUNT]");
    long count = argc == 2 ? strtol(argv[1], NULL, 10) : 1;
    for (long i = 0; i < count; i++) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return fail(errno, "step=socket");
        if (connect(fd, (struct sockaddr *)&sa, len) != 0) {
            int err = errno;
            close(fd);
            return fail(err, "step=connect");
        }
        close(fd);
    }
    return ok("path=%s count=%ld", argv[0], count);
}

/* A socket of its own bound at PATH (e.g. a decoy named docker.sock), listened on and connected to.
 */
static int cmd_unix_self(int argc, char **argv)
{
    struct sockaddr_un sa;
    socklen_t len;
    if (argc != 1 || unix_address(argv[0], &sa, &len) != 0)
        return usage("usage: unix-self PATH|@NAME");
    if (argv[0][0] != '@')
        unlink(argv[0]);
    int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (srv < 0 || bind(srv, (struct sockaddr *)&sa, len) != 0 || listen(srv, 4) != 0)
        return fail(errno, "step=listen");
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, len) != 0)
        return fail(errno, "step=connect");
    close(fd);
    close(srv);
    return ok("path=%s", argv[0]);
}

/*
 * The entry of /proc/PID/`dir` (fd, map_files) that leads to the same file as /proc/PID/exe,
 * written into `out` as "/proc/PID/dir/NAME". stat(2) follows each link without opening it.
 */
static int proc_entry_of_exe(const char *pid, const char *dir, char *out, size_t outlen)
{
    char path[PATH_MAX];
    struct stat exe, st;
    snprintf(path, sizeof(path), "/proc/%s/exe", pid);
    if (stat(path, &exe) != 0)
        return -errno;
    snprintf(path, sizeof(path), "/proc/%s/%s", pid, dir);
    DIR *dp = opendir(path);
    if (!dp)
        return -errno;
    int rc = -ENOENT;
    struct dirent *de;
    while ((de = readdir(dp)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(out, outlen, "/proc/%s/%s/%s", pid, dir, de->d_name);
        if (stat(out, &st) == 0 && st.st_dev == exe.st_dev && st.st_ino == exe.st_ino) {
            rc = 0;
            break;
        }
    }
    closedir(dp);
    return rc;
}

/*
 * The CVE-2019-5736 pattern against a stand-in: hold the binary of a host process running the
 * runtime's binary (O_PATH) through one of its /proc links (VIA: exe, the default; fd, a
 * descriptor the process keeps to it; map_files, its mapping, which needs CAP_SYS_ADMIN), retry
 * opening it for writing through /proc/self/fd/N while the kernel refuses (ETXTBSY: still
 * executed), and write over it once it is not. Until SECONDS have passed.
 */
static int cmd_overwrite_exe(int argc, char **argv)
{
    if (argc != 2 && argc != 3)
        return usage("usage: overwrite-exe PID SECONDS [exe|fd|map_files]");
    const char *via = argc == 3 ? argv[2] : "exe";
    char path[PATH_MAX];
    if (strcmp(via, "exe") == 0) {
        snprintf(path, sizeof(path), "/proc/%s/exe", argv[0]);
    } else if (strcmp(via, "fd") == 0 || strcmp(via, "map_files") == 0) {
        int rc = proc_entry_of_exe(argv[0], via, path, sizeof(path));
        if (rc != 0)
            return fail(-rc, "step=find");
    } else {
        return usage("bad VIA '%s'", via);
    }
    int held = open(path, O_PATH | O_CLOEXEC);
    if (held < 0)
        return fail(errno, "step=hold");
    snprintf(path, sizeof(path), "/proc/self/fd/%d", held);
    long refused = 0;
    time_t deadline = time(NULL) + strtol(argv[1], NULL, 10);
    for (;;) {
        int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd >= 0) {
            static const char marker[] = "overwritten\n";
            ssize_t n = write(fd, marker, sizeof(marker) - 1);
            close(fd);
            if (n != (ssize_t)sizeof(marker) - 1)
                return fail(errno, "step=write");
            return ok("refused=%ld", refused);
        }
        if (errno != ETXTBSY)
            return fail(errno, "step=open");
        refused++;
        if (time(NULL) > deadline) {
            char extra[64];
            snprintf(extra, sizeof(extra), "step=deadline refused=%ld", refused);
            return fail(ETXTBSY, extra);
        }
        usleep(10000);
    }
}

/*
 * A runtime's process keeping a descriptor to its own binary (read-only) while it runs: what
 * a container can reach through /proc/PID/fd/N. Then sleeps SECONDS.
 */
static int cmd_hold_self(int argc, char **argv)
{
    if (argc != 1)
        return usage("usage: hold-self SECONDS");
    int fd = open("/proc/self/exe", O_RDONLY);
    if (fd < 0)
        return fail(errno, "step=open");
    sleep((unsigned)strtoul(argv[0], NULL, 10));
    close(fd);
    return ok("fd=%d", fd);
}

/* finit_module(2) of the module file at PATH (a privileged container loading a module). */
static int cmd_finit_module(int argc, char **argv)
{
    if (argc != 1)
        return usage("usage: finit-module PATH");
    int fd = open(argv[0], O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(errno, "step=open");
    long rc = syscall(SYS_finit_module, fd, "", 0);
    int err = errno;
    close(fd);
    if (rc != 0)
        return fail(err, "step=finit_module");
    return ok("path=%s", argv[0]);
}

/* delete_module(2) of the module NAME, to leave the kernel as it was. */
static int cmd_delete_module(int argc, char **argv)
{
    if (argc != 1)
        return usage("usage: delete-module NAME");
    if (syscall(SYS_delete_module, argv[0], O_NONBLOCK) != 0)
        return fail(errno, "step=delete_module");
    return ok("name=%s", argv[0]);
}

static void *exec_in_thread(void *arg)
{
    char **argv = arg;
    execv(argv[0], argv);
    return (void *)(long)errno; /* only when the exec failed */
}

/* execv(PATH, [PATH, ARGS...]) from a thread that is not the process's leader. */
static int cmd_exec_from_thread(int argc, char **argv)
{
    if (argc < 1)
        return usage("usage: exec-from-thread PATH [ARGS...]");
    pthread_t t;
    int err = pthread_create(&t, NULL, exec_in_thread, argv);
    if (err != 0)
        return fail(err, "step=thread");
    void *res = NULL;
    pthread_join(t, &res);
    return fail((int)(long)res, "step=exec");
}

/* The real, effective and saved user ids. */
static int cmd_ids(int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return usage("usage: ids");
    uid_t r, e, s;
    if (getresuid(&r, &e, &s) != 0)
        return fail(errno, "step=getresuid");
    return ok("uid=%u euid=%u suid=%u", (unsigned)r, (unsigned)e, (unsigned)s);
}

/* Map PATH executable (PROT_READ|PROT_EXEC, MAP_PRIVATE), as a loader does with a library. */
static int cmd_mmap_exec(int argc, char **argv)
{
    if (argc != 1)
        return usage("usage: mmap-exec PATH");
    int fd = open(argv[0], O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(errno, "step=open");
    void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd);
    if (p == MAP_FAILED)
        return fail(err, "step=mmap");
    munmap(p, 4096);
    return ok("path=%s", argv[0]);
}

/*
 * Map PATH with PROT_READ only, under the READ_IMPLIES_EXEC personality: the kernel makes the
 * mapping executable (what it also does for a 32-bit ELF without PT_GNU_STACK).
 */
/* The first page of PATH mapped PROT_READ, MAP_PRIVATE, its fd closed; 0 or fail()'s code. */
static int map_readable(const char *path, void **out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(errno, "step=open");
    void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd);
    if (p == MAP_FAILED)
        return fail(err, "step=mmap");
    *out = p;
    return 0;
}

static int cmd_mmap_read_implies_exec(int argc, char **argv)
{
    if (argc != 1)
        return usage("usage: mmap-read-implies-exec PATH");
    if (personality(READ_IMPLIES_EXEC) < 0)
        return fail(errno, "step=personality");
    void *p = NULL;
    int rc = map_readable(argv[0], &p);
    if (rc != 0)
        return rc;
    /* The kernel's view of the mapping: "r-xp" when it made it executable. */
    char want[32], line[512];
    snprintf(want, sizeof(want), "%lx-", (unsigned long)(uintptr_t)p);
    bool exec = false;
    FILE *maps = fopen("/proc/self/maps", "r");
    while (maps && fgets(line, sizeof(line), maps))
        if (strncmp(line, want, strlen(want)) == 0)
            exec = strchr(line, ' ') && strchr(line, ' ')[3] == 'x';
    if (maps)
        fclose(maps);
    munmap(p, 4096);
    if (!exec)
        return fail(EINVAL, "step=not-executable");
    return ok("path=%s mapped=r-x", argv[0]);
}

/*
 * Map PATH readable only, close the fd, then make the mapping executable with mprotect: the
 * loader trick that avoids mmap(PROT_EXEC) of an fd.
 */
static int cmd_mprotect_exec(int argc, char **argv)
{
    if (argc != 1)
        return usage("usage: mprotect-exec PATH");
    void *p = NULL;
    int rc = map_readable(argv[0], &p);
    if (rc != 0)
        return rc;
    rc = mprotect(p, 4096, PROT_READ | PROT_EXEC);
    int err = errno;
    munmap(p, 4096);
    if (rc != 0)
        return fail(err, "step=mprotect");
    return ok("path=%s", argv[0]);
}

/* Benchmark loop: N × getppid(), a syscall no hook watches; prints ns_per_op. */
static int cmd_null_syscall(int argc, char **argv)
{
    long n;
    if (argc != 1 || parse_long(argv[0], 1, LONG_MAX, &n) != 0)
        return usage("usage: null-syscall N");
    uint64_t start = now_ns(), cpu_start = cpu_ns();
    for (long i = 0; i < n; i++)
        syscall(SYS_getppid);
    uint64_t elapsed = now_ns() - start, cpu = cpu_ns() - cpu_start;
    return ok("count=%ld ns_per_op=%" PRIu64 " cpu_ns_per_op=%" PRIu64, n, elapsed / (uint64_t)n,
              cpu / (uint64_t)n);
}

/* ---- path-syscalls: every watched path-only and fd syscall, by number ------------------- */

static char ps_report[4096];
static char **ps_steps; /* the steps asked for; none: all */
static int ps_n_steps;

static bool ps_wanted(const char *name)
{
    for (int i = 0; i < ps_n_steps; i++)
        if (strcmp(ps_steps[i], name) == 0)
            return true;
    return ps_n_steps == 0;
}

/* A file of this container's own (an O_EXCL create: a write event of its own); exits on error. */
static void ps_create(const char *name)
{
    int fd = openat(AT_FDCWD, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) {
        fail(errno, "step=create");
        exit(EXIT_FAILED);
    }
    close(fd);
}

/* "NAME:ok" or "NAME:ERRNO@pre|call" appended to the report. */
static void ps_note(const char *name, const char *stage, long r, int err)
{
    size_t used = strlen(ps_report);
    const char *e = r < 0 ? strerrorname_np(err) : NULL;
    snprintf(ps_report + used, sizeof(ps_report) - used, "%s%s:%s%s%s", used ? "," : "", name,
             r < 0 ? (e ? e : "?") : "ok", r < 0 ? "@" : "", r < 0 ? stage : "");
}

/* Run `pre` (0 on success) then `call` (a raw syscall's result), noting how it ended. */
#define PS_STEP(name, pre, call)                                                                   \
    do {                                                                                           \
        long pre_ = (pre);                                                                         \
        if (pre_ < 0) {                                                                            \
            ps_note(name, "pre", pre_, errno);                                                     \
            break;                                                                                 \
        }                                                                                          \
        long r_ = (call);                                                                          \
        ps_note(name, "call", r_, errno);                                                          \
    } while (0)

/*
 * Step `name` on a file of that name: its attribute set through an fd (another event than the
 * removal's), then removed by name with syscall `nr` (removexattr or lremovexattr).
 */
static void ps_remove_xattr_by_name(const char *name, long nr)
{
    ps_create(name);
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    PS_STEP(name, syscall(SYS_fsetxattr, fd, "user.eg", "1", 1, 0), syscall(nr, name, "user.eg"));
    close(fd);
}

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452 /* Linux 6.6, the generic table's number (x86_64 and arm64) */
#endif

/*
 * Each path-only and fd syscall the root filesystem concern watches (bpf/events.h: the lists
 * its kernel programs and the agent's syscall table are built from), once, through syscall(2)
 * by its number, so the C library cannot route it to another: the *at forms on names relative
 * to an fd on DIR, the older forms and the ones without a directory fd on names relative to
 * DIR as the working directory; FILE (an existing file of the image, not written by the
 * container) for fchown. Only the STEPs named (syscall names), when any are. Files a call needs
 * are created first (O_EXCL). Prints each step as NAME:ok, or NAME:ERRNO@pre|call (xattrs and
 * fchmodat2 can be missing) in `steps=`.
 */
static int cmd_path_syscalls(int argc, char **argv)
{
    if (argc < 2)
        return usage("usage: path-syscalls DIR FILE [STEP...]");
    int dfd = open(argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || chdir(argv[0]) != 0)
        return fail(errno, "step=dir");
    ps_steps = argv + 2;
    ps_n_steps = argc - 2;
    int fd;
    ps_report[0] = '\0';
    if (ps_wanted("unlinkat")) {
        ps_create("unlinkat");
        PS_STEP("unlinkat", 0, syscall(SYS_unlinkat, dfd, "unlinkat", 0));
    }
    if (ps_wanted("renameat")) {
        ps_create("renameat-from");
        PS_STEP("renameat", 0, syscall(SYS_renameat, dfd, "renameat-from", dfd, "renameat"));
    }
    if (ps_wanted("renameat2")) {
        ps_create("renameat2-from");
        PS_STEP("renameat2", 0, syscall(SYS_renameat2, dfd, "renameat2-from", dfd, "renameat2", 0));
    }
    if (ps_wanted("mkdirat"))
        PS_STEP("mkdirat", 0, syscall(SYS_mkdirat, dfd, "mkdirat", 0755));
    if (ps_wanted("linkat")) {
        ps_create("linkat-from");
        PS_STEP("linkat", 0, syscall(SYS_linkat, dfd, "linkat-from", dfd, "linkat", 0));
    }
    if (ps_wanted("symlinkat"))
        PS_STEP("symlinkat", 0, syscall(SYS_symlinkat, "elsewhere", dfd, "symlinkat"));
    if (ps_wanted("mknodat"))
        PS_STEP("mknodat", 0, syscall(SYS_mknodat, dfd, "mknodat", S_IFIFO | 0644, 0));
    if (ps_wanted("fchmodat")) {
        ps_create("fchmodat");
        PS_STEP("fchmodat", 0, syscall(SYS_fchmodat, dfd, "fchmodat", 04755));
    }
    if (ps_wanted("fchmodat2")) {
        ps_create("fchmodat2");
        PS_STEP("fchmodat2", 0, syscall(SYS_fchmodat2, dfd, "fchmodat2", 02755, 0));
    }
    if (ps_wanted("fchownat")) {
        ps_create("fchownat");
        PS_STEP("fchownat", 0, syscall(SYS_fchownat, dfd, "fchownat", 0, 0, 0));
    }
    if (ps_wanted("utimensat")) {
        ps_create("utimensat");
        PS_STEP("utimensat", 0, syscall(SYS_utimensat, dfd, "utimensat", NULL, 0));
    }
    if (ps_wanted("setxattr")) {
        ps_create("setxattr");
        PS_STEP("setxattr", 0, syscall(SYS_setxattr, "setxattr", "user.eg", "1", 1, 0));
    }
    if (ps_wanted("lsetxattr")) {
        ps_create("lsetxattr");
        PS_STEP("lsetxattr", 0, syscall(SYS_lsetxattr, "lsetxattr", "user.eg", "1", 1, 0));
    }
    if (ps_wanted("removexattr"))
        ps_remove_xattr_by_name("removexattr", SYS_removexattr);
    if (ps_wanted("lremovexattr"))
        ps_remove_xattr_by_name("lremovexattr", SYS_lremovexattr);
    if (ps_wanted("truncate")) {
        ps_create("truncate");
        PS_STEP("truncate", 0, syscall(SYS_truncate, "truncate", 0));
    }
    if (ps_wanted("fchmod")) {
        ps_create("fchmod");
        fd = open("fchmod", O_RDONLY | O_CLOEXEC);
        PS_STEP("fchmod", 0, syscall(SYS_fchmod, fd, 04711));
        close(fd);
    }
    if (ps_wanted("fchown")) {
        fd = open(argv[1], O_RDONLY | O_CLOEXEC);
        PS_STEP("fchown", fd, syscall(SYS_fchown, fd, 0, 0));
        close(fd);
    }
    if (ps_wanted("fsetxattr")) {
        ps_create("fsetxattr");
        fd = open("fsetxattr", O_RDONLY | O_CLOEXEC);
        PS_STEP("fsetxattr", 0, syscall(SYS_fsetxattr, fd, "user.eg", "1", 1, 0));
        close(fd);
    }
    /* Set by name (a path event), removed through the fd (an fd event). */
    if (ps_wanted("fremovexattr")) {
        ps_create("fremovexattr");
        fd = open("fremovexattr", O_RDONLY | O_CLOEXEC);
        PS_STEP("fremovexattr", syscall(SYS_setxattr, "fremovexattr", "user.eg", "1", 1, 0),
                syscall(SYS_fremovexattr, fd, "user.eg"));
        close(fd);
    }
#if defined(__x86_64__)
    if (ps_wanted("unlink")) {
        ps_create("unlink");
        PS_STEP("unlink", 0, syscall(SYS_unlink, "unlink"));
    }
    if (ps_wanted("rmdir"))
        PS_STEP("rmdir", syscall(SYS_mkdir, "rmdir", 0755), syscall(SYS_rmdir, "rmdir"));
    if (ps_wanted("rename")) {
        ps_create("rename-from");
        PS_STEP("rename", 0, syscall(SYS_rename, "rename-from", "rename"));
    }
    if (ps_wanted("mkdir"))
        PS_STEP("mkdir", 0, syscall(SYS_mkdir, "mkdir", 0755));
    if (ps_wanted("link")) {
        ps_create("link-from");
        PS_STEP("link", 0, syscall(SYS_link, "link-from", "link"));
    }
    if (ps_wanted("symlink"))
        PS_STEP("symlink", 0, syscall(SYS_symlink, "elsewhere", "symlink"));
    if (ps_wanted("mknod"))
        PS_STEP("mknod", 0, syscall(SYS_mknod, "mknod", S_IFIFO | 0644, 0));
    if (ps_wanted("chmod")) {
        ps_create("chmod");
        PS_STEP("chmod", 0, syscall(SYS_chmod, "chmod", 02711));
    }
    if (ps_wanted("chown")) {
        ps_create("chown");
        PS_STEP("chown", 0, syscall(SYS_chown, "chown", 0, 0));
    }
    if (ps_wanted("lchown")) {
        ps_create("lchown");
        PS_STEP("lchown", 0, syscall(SYS_lchown, "lchown", 0, 0));
    }
    if (ps_wanted("utime")) {
        ps_create("utime");
        PS_STEP("utime", 0, syscall(SYS_utime, "utime", NULL));
    }
    if (ps_wanted("utimes")) {
        ps_create("utimes");
        PS_STEP("utimes", 0, syscall(SYS_utimes, "utimes", NULL));
    }
    if (ps_wanted("futimesat")) {
        ps_create("futimesat");
        PS_STEP("futimesat", 0, syscall(SYS_futimesat, dfd, "futimesat", NULL));
    }
#endif
    close(dfd);
    return ok("steps=%s", ps_report);
}

#if defined(__x86_64__)
/*
 * int80 OP ARGS [COUNT]: the i386 ABI's form of a watched syscall, made from this 64-bit
 * process with `int $0x80` (what a 32-bit binary's calls are, and what an evasion would use).
 * The i386 ABI passes 32-bit values: the path strings are copied below 4 GiB (MAP_32BIT).
 * COUNT: the same call that many times (the agent counts repeats into one finding).
 */
static long int80_call(long nr, long a1, long a2, long a3)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a1), "c"(a2), "d"(a3) : "memory");
    return ret;
}

/* `text` copied into `low` (a MAP_32BIT page) at `off`; its 32-bit address. */
static long int80_string(char *low, size_t *off, const char *text)
{
    size_t n = strlen(text) + 1;
    if (*off + n > 4096)
        return 0;
    memcpy(low + *off, text, n);
    long addr = (long)(uintptr_t)(low + *off);
    *off += n;
    return addr;
}

static int cmd_int80(int argc, char **argv)
{
    /* i386 numbers (arch/x86/entry/syscalls/syscall_32.tbl). */
    enum {
        I386_KILL = 37,
        I386_OPEN = 5,
        I386_UNLINK = 10,
        I386_RENAME = 38,
        I386_CHMOD = 15,
        I386_SETNS = 346,
        I386_OLD_MMAP = 90 /* one argument: a struct of the six, below 4 GiB */
    };
    if (argc < 2)
        return usage("usage: int80 open PATH [COUNT] | read PATH | unlink PATH | rename OLD NEW | "
                     "chmod PATH MODE | kill PID SIG | setns PID NSTYPE | mmap-exec PATH");
    char *low =
        mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (low == MAP_FAILED)
        return fail(errno, "step=mmap");
    size_t off = 0;
    const char *op = argv[0];
    long nr, a1 = 0, a2 = 0, a3 = 0;
    int count = 1, count_arg = -1;
    if (strcmp(op, "open") == 0) {
        /* O_WRONLY | O_CREAT | O_APPEND (i386's values are x86_64's) */
        nr = I386_OPEN, a1 = int80_string(low, &off, argv[1]), a2 = 02101, a3 = 0644;
        count_arg = 2;
    } else if (strcmp(op, "read") == 0) {
        nr = I386_OPEN, a1 = int80_string(low, &off, argv[1]), a2 = 0; /* O_RDONLY */
    } else if (strcmp(op, "unlink") == 0) {
        nr = I386_UNLINK, a1 = int80_string(low, &off, argv[1]);
    } else if (strcmp(op, "rename") == 0 && argc >= 3) {
        nr = I386_RENAME, a1 = int80_string(low, &off, argv[1]);
        a2 = int80_string(low, &off, argv[2]);
    } else if (strcmp(op, "chmod") == 0 && argc >= 3) {
        nr = I386_CHMOD, a1 = int80_string(low, &off, argv[1]), a2 = strtol(argv[2], NULL, 8);
    } else if (strcmp(op, "kill") == 0 && argc >= 3) {
        nr = I386_KILL, a1 = atol(argv[1]), a2 = atol(argv[2]);
    } else if (strcmp(op, "setns") == 0 && argc >= 3) {
        int flag = -1;
        for (size_t i = 0; i < sizeof(ns_types) / sizeof(ns_types[0]); i++)
            if (strcmp(argv[2], ns_types[i].name) == 0)
                flag = ns_types[i].flag;
        if (flag < 0)
            return usage("unknown namespace type '%s'", argv[2]);
        char path[64];
        snprintf(path, sizeof(path), "/proc/%s/ns/%s", argv[1], argv[2]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return fail(errno, "step=open");
        nr = I386_SETNS, a1 = fd, a2 = flag;
    } else if (strcmp(op, "mmap-exec") == 0) {
        /* i386's old mmap: PROT_READ|PROT_EXEC, MAP_PRIVATE of the file (opened natively) */
        int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return fail(errno, "step=open");
        uint32_t *args = (uint32_t *)(void *)(low + 2048);
        args[0] = 0, args[1] = 4096, args[2] = PROT_READ | PROT_EXEC, args[3] = MAP_PRIVATE;
        args[4] = (uint32_t)fd, args[5] = 0;
        nr = I386_OLD_MMAP, a1 = (long)(uintptr_t)args;
    } else {
        return usage("unknown or incomplete int80 operation '%s'", op);
    }
    if (count_arg > 0 && argc > count_arg && (count = atoi(argv[count_arg])) < 1)
        return usage("bad COUNT '%s'", argv[count_arg]);
    long ret = 0;
    for (int i = 0; i < count; i++) {
        ret = int80_call(nr, a1, a2, a3);
        if (ret < 0)
            return fail((int)-ret, NULL);
        if (nr == I386_OPEN)
            close((int)ret);
        if (nr == I386_OLD_MMAP)
            munmap((void *)(uintptr_t)(unsigned long)ret, 4096);
    }
    return ok("nr=%ld count=%d", nr, count);
}
#endif

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *args;
} commands[] = {
    {"bpf-map-create", cmd_bpf_map_create, ""},
    {"mount-tmpfs", cmd_mount_tmpfs, "DIR"},
    {"userns-mount-tmpfs", cmd_userns_mount_tmpfs, "DIR"},
    {"bpf-prog-load", cmd_bpf_prog_load, ""},
    {"sethostname", cmd_sethostname, "NAME [COUNT]"},
    {"sethostname-until-exec", cmd_sethostname_until_exec, "NAME PATH PROG [ARGS...]"},
    {"link-mtu", cmd_link_mtu, "IFNAME MTU [COUNT]"},
    {"ptrace-attach", cmd_ptrace_attach, "PID"},
    {"vm-write", cmd_vm_write, "PID"},
    {"openat2-flags-rewritten", cmd_openat2_flags_rewritten, "FIFO"},
    {"proc-mem-open", cmd_proc_mem_open, "PID [openat|open|creat|openat2]"},
    {"kill", cmd_kill, "PID SIG"},
    {"setns", cmd_setns, "PID NSTYPE"},
    {"write-files", cmd_write_files, "DIR N"},
    {"spin-fork", cmd_spin_fork, "N"},
    {"sleep", cmd_sleep, "SECONDS"},
    {"loop-open-write", cmd_loop_open_write, "DIR N"},
    {"mmap-exec", cmd_mmap_exec, "PATH"},
    {"mmap-read-implies-exec", cmd_mmap_read_implies_exec, "PATH"},
    {"mprotect-exec", cmd_mprotect_exec, "PATH"},
    {"null-syscall", cmd_null_syscall, "N"},
    {"fchmod", cmd_fchmod, "PATH MODE"},
    {"fchown", cmd_fchown, "PATH UID GID"},
    {"fchownat-fd", cmd_fchownat_fd, "PATH UID GID"},
    {"futimens", cmd_futimens, "PATH"},
    {"utimensat", cmd_utimensat, "PATH"},
    {"mknod-seq", cmd_mknod_seq, "PATH fifo|reg [PATH fifo|reg]..."},
    {"tmpfile-link", cmd_tmpfile_link, "DIR NEWPATH proc|fd"},
    {"chroot-write", cmd_chroot_write, "NEWROOT OLDREL NEWPATH"},
    {"clone-into-cgroup", cmd_clone_into_cgroup, "DIR PROG [ARGS...]"},
    {"path-storm", cmd_path_storm, "DIR N"},
    {"path-syscalls", cmd_path_syscalls, "DIR FILE [STEP...]"},
    {"exec-big-argv", cmd_exec_big_argv, "BYTES PATH ARG0"},
    {"exec-big-env", cmd_exec_big_env, "BYTES PATH ARG0"},
    {"mmap-low", cmd_mmap_low, "ADDR"},
    {"socket", cmd_socket, "FAMILY TYPE"},
    {"memfd-exec", cmd_memfd_exec, "NAME COMMAND [ARGS...]"},
    {"memfd-map", cmd_memfd_map, "NAME"},
    {"tmpfile-exec", cmd_tmpfile_exec, "DIR COMMAND [ARGS...]"},
    {"ids", cmd_ids, ""},
    {"userfaultfd", cmd_userfaultfd, "[user-only]"},
    {"userfaultfd-dev", cmd_userfaultfd_dev, ""},
    {"unix-connect", cmd_unix_connect, "PATH|@NAME [COUNT]"},
    {"unix-self", cmd_unix_self, "PATH|@NAME"},
    {"finit-module", cmd_finit_module, "PATH"},
    {"overwrite-exe", cmd_overwrite_exe, "PID SECONDS [exe|fd|map_files]"},
    {"hold-self", cmd_hold_self, "SECONDS"},
    {"exec-from-thread", cmd_exec_from_thread, "PATH [ARGS...]"},
    {"delete-module", cmd_delete_module, "NAME"},
    {"fsmount", cmd_fsmount, "SOURCE FSTYPE TARGET|- [SECONDS]"},
    {"clone-mount", cmd_clone_mount, "SOURCE TARGET"},
#if defined(__x86_64__)
    {"int80", cmd_int80,
     "open PATH [COUNT]|read PATH|unlink PATH|rename OLD NEW|chmod PATH MODE|kill PID SIG|setns "
     "PID NSTYPE"},
#endif
};

int main(int argc, char **argv)
{
    if (argc >= 2) {
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
            if (strcmp(argv[1], commands[i].name) == 0) {
                g_cmd = commands[i].name;
                return commands[i].fn(argc - 2, argv + 2);
            }
        }
    }
    fprintf(stderr, "usage: egprobe COMMAND [ARGS]\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(stderr, "  %s %s\n", commands[i].name, commands[i].args);
    return EXIT_USAGE;
}
