/*
 * The agent's confinement of itself (agent/hardening): each claim tried by a child process that
 * confines itself and then attempts what a compromised agent would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/hardening/self_confine.h"
#include "agent/hardening/syscall_allowlist.h"

#define CONFINE_FAILED 100

/* Runs attempt() in a child confined with mode; returns its wait status. */
static int run_confined(enum eg_seccomp_mode mode, int (*attempt)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct eg_confinement c;
        if (eg_confine_self(mode, &c) != 0) {
            fprintf(stderr, "confine: %s\n", c.error);
            _exit(CONFINE_FAILED);
        }
        _exit(attempt()); /* _exit: no atexit handlers (the sanitizers' leak check) */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void assert_exited_zero(int status)
{
    if (WIFSIGNALED(status))
        fail_msg("killed by signal %d", WTERMSIG(status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void assert_killed_by_filter(int status)
{
    if (WIFEXITED(status))
        fail_msg("exited %d: the filter let the call through", WEXITSTATUS(status));
    assert_int_equal(WTERMSIG(status), SIGSYS);
}

static void *thread_main(void *arg)
{
    return arg;
}

/* What the running agent does: files, /proc, sockets, memory, threads, map reads, liveness. */
static int ordinary_work(void)
{
    char buf[256];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0)
        return 1;
    close(fd);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return 2;
    close(s);
    void *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return 3;
    munmap(m, 1 << 20);
    pthread_t t; /* clone3 is refused with ENOSYS: the C library falls back to clone */
    if (pthread_create(&t, NULL, thread_main, NULL) != 0 || pthread_join(t, NULL) != 0)
        return 4;
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.map_fd = (uint32_t)-1;
    if (syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, &attr, sizeof(attr)) != -1 || errno != EBADF)
        return 5; /* allowed, and fails on the bad descriptor */
    if (kill(getpid(), 0) != 0)
        return 6;
    return 0;
}

static int attempt_exec(void)
{
    char *argv[] = {"/bin/true", NULL};
    execv(argv[0], argv);
    return errno == ENOSYS ? 0 : 1; /* trap mode: refused, not run */
}

static int attempt_prog_load(void)
{
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
    return 1;
}

static int attempt_map_create(void)
{
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
    return 1;
}

static int attempt_raw_socket(void)
{
    socket(AF_PACKET, SOCK_RAW, 0);
    return 1;
}

#ifndef ECSGUARD_SANITIZER_BUILD
/* Only where the filter refuses them: not in the sanitizer build (see below). */
static int attempt_fork(void)
{
    pid_t p = fork();
    if (p == 0)
        _exit(0);
    return 1;
}

static int attempt_signal(void)
{
    kill(getpid(), SIGCONT); /* harmless if it went through */
    return 1;
}

static int attempt_ptrace(void)
{
    ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    return 1;
}

#endif

static int attempt_executable_memory(void)
{
    void *m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m != MAP_FAILED || errno != EPERM)
        return 1;
    void *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (w == MAP_FAILED)
        return 2;
    if (mprotect(w, 4096, PROT_READ | PROT_EXEC) == 0 || errno != EPERM)
        return 3;
    return 0;
}

static int status_value(const char *key)
{
    char line[256];
    FILE *f = fopen("/proc/self/status", "re");
    int v = -1;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, key, strlen(key)) == 0)
            v = atoi(line + strlen(key));
    if (f)
        fclose(f);
    return v;
}

static int status_is_confined(void)
{
    return status_value("Seccomp:") == 2 && status_value("NoNewPrivs:") == 1 ? 0 : 1;
}

static int status_without_filter(void)
{
    return status_value("Seccomp:") == 0 && status_value("NoNewPrivs:") == 1 ? 0 : 1;
}

static int capabilities_reduced(void)
{
    char line[256];
    unsigned long long eff = ~0ull;
    FILE *f = fopen("/proc/self/status", "re");
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "CapEff:", 7) == 0)
            eff = strtoull(line + 7, NULL, 16);
    if (f)
        fclose(f);
    return (eff & ~(eg_confine_kept_capabilities() | 1ull << 21 /* CAP_SYS_ADMIN */)) == 0 ? 0 : 1;
}

static int trap_refuses_and_counts(void)
{
    if (attempt_exec() != 0)
        return 1;
    if (eg_confine_refused_count() != 1 || eg_confine_last_refused() != SYS_execve)
        return 2;
    return ordinary_work() == 0 ? 0 : 3; /* and the agent goes on */
}

static void ordinary_work_is_allowed(void **state)
{
    (void)state;
    assert_exited_zero(run_confined(EG_SECCOMP_ENFORCE, ordinary_work));
    assert_exited_zero(run_confined(EG_SECCOMP_ENFORCE, status_is_confined));
    assert_exited_zero(run_confined(EG_SECCOMP_ENFORCE, capabilities_reduced));
}

static void a_compromised_agent_cannot_exec_load_programs_or_open_raw_sockets(void **state)
{
    (void)state;
    assert_killed_by_filter(run_confined(EG_SECCOMP_ENFORCE, attempt_exec));
    assert_killed_by_filter(run_confined(EG_SECCOMP_ENFORCE, attempt_prog_load));
    assert_killed_by_filter(run_confined(EG_SECCOMP_ENFORCE, attempt_map_create));
    assert_killed_by_filter(run_confined(EG_SECCOMP_ENFORCE, attempt_raw_socket));
    assert_exited_zero(run_confined(EG_SECCOMP_ENFORCE, attempt_executable_memory));
}

static void a_compromised_agent_cannot_fork_signal_or_trace(void **state)
{
    (void)state;
#ifdef ECSGUARD_SANITIZER_BUILD
    /* The sanitizer build admits clone, kill and ptrace for LeakSanitizer (syscall_allowlist.c);
     * the release build's unit run (CI) proves this one. */
    skip();
#else
    assert_killed_by_filter(run_confined(EG_SECCOMP_ENFORCE, attempt_fork));
    assert_killed_by_filter(run_confined(EG_SECCOMP_ENFORCE, attempt_signal));
    assert_killed_by_filter(run_confined(EG_SECCOMP_ENFORCE, attempt_ptrace));
#endif
}

static void trap_mode_refuses_logs_and_goes_on(void **state)
{
    (void)state;
    assert_exited_zero(run_confined(EG_SECCOMP_TRAP, trap_refuses_and_counts));
}

static void off_keeps_no_new_privs_and_the_capability_drop(void **state)
{
    (void)state;
    assert_exited_zero(run_confined(EG_SECCOMP_OFF, status_without_filter));
    assert_exited_zero(run_confined(EG_SECCOMP_OFF, capabilities_reduced));
}

/* The same list builds for arm64 (names it lacks, like open and poll, are skipped there). */
static void the_filter_builds_for_arm64_and_x86_64(void **state)
{
    (void)state;
    const uint32_t arches[] = {SCMP_ARCH_AARCH64, SCMP_ARCH_X86_64};
    for (int i = 0; i < 2; i++) {
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
        assert_non_null(ctx);
        if (seccomp_arch_native() != arches[i]) {
            assert_int_equal(seccomp_arch_add(ctx, arches[i]), 0);
            assert_int_equal(seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE), 0);
        }
        const char *failed = NULL;
        assert_int_equal(eg_syscall_allowlist_add(ctx, &failed), 0);
        char path[] = "/tmp/eg-seccomp-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        unlink(path);
        assert_int_equal(seccomp_export_bpf(ctx, fd), 0);
        assert_true(lseek(fd, 0, SEEK_END) > 100 * 8); /* instructions for ~100 calls */
        close(fd);
        seccomp_release(ctx);
    }
}

/* CAP_SYS_ADMIN is kept only in place of a CAP_BPF the runtime did not grant. */
static void sys_admin_stands_in_for_a_missing_cap_bpf(void **state)
{
    (void)state;
    const uint64_t bpf = 1ull << 39, sys_admin = 1ull << 21, ptrace = 1ull << 19,
                   dac_read = 1ull << 2, perfmon = 1ull << 38;
    uint64_t privileged = ~0ull >> (64 - 41); /* every capability of a privileged container */
    assert_int_equal(eg_confine_kept_for(privileged), bpf | ptrace | dac_read);
    uint64_t ecs_add = sys_admin | ptrace | dac_read | 1ull << 34 | 1ull << 24;
    assert_int_equal(eg_confine_kept_for(ecs_add), sys_admin | ptrace | dac_read);
    assert_int_equal(eg_confine_kept_for(bpf | perfmon | ptrace), bpf | ptrace);
    assert_int_equal(eg_confine_kept_for(0), 0);
}

static void mode_names_round_trip(void **state)
{
    (void)state;
    enum eg_seccomp_mode m;
    assert_int_equal(eg_seccomp_mode_parse("trap", &m), 0);
    assert_int_equal(m, EG_SECCOMP_TRAP);
    assert_string_equal(eg_seccomp_mode_name(m), "trap");
    assert_int_equal(eg_seccomp_mode_parse("off", &m), 0);
    assert_int_equal(eg_seccomp_mode_parse("enforce", &m), 0);
    assert_int_equal(m, EG_SECCOMP_ENFORCE);
    assert_int_equal(eg_seccomp_mode_parse("log", &m), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ordinary_work_is_allowed),
        cmocka_unit_test(a_compromised_agent_cannot_exec_load_programs_or_open_raw_sockets),
        cmocka_unit_test(a_compromised_agent_cannot_fork_signal_or_trace),
        cmocka_unit_test(trap_mode_refuses_logs_and_goes_on),
        cmocka_unit_test(off_keeps_no_new_privs_and_the_capability_drop),
        cmocka_unit_test(the_filter_builds_for_arm64_and_x86_64),
        cmocka_unit_test(sys_admin_stands_in_for_a_missing_cap_bpf),
        cmocka_unit_test(mode_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
