/*
 * The agent's confinement of itself (see self_confine.h): capabilities, no_new_privs, seccomp.
 */
#include "agent/hardening/self_confine.h"

#include "agent/hardening/syscall_allowlist.h"

#include <errno.h>
#include <json-c/json.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static atomic_uint_fast64_t refused_count;
static atomic_int last_refused = -1;

int eg_seccomp_mode_parse(const char *text, enum eg_seccomp_mode *mode)
{
    static const char *const names[] = {"enforce", "trap", "off"};
    for (int i = 0; i < 3; i++)
        if (strcmp(text, names[i]) == 0) {
            *mode = (enum eg_seccomp_mode)i;
            return 0;
        }
    return -1;
}

const char *eg_seccomp_mode_name(enum eg_seccomp_mode mode)
{
    return mode == EG_SECCOMP_TRAP ? "trap" : mode == EG_SECCOMP_OFF ? "off" : "enforce";
}

uint64_t eg_confine_kept_capabilities(void)
{
    /*
     * Measured (docs/hardening.md): once loaded, the agent's own capability checks are
     * - CAP_SYS_PTRACE: /proc/<pid>/ns, root and exe of processes whose credentials exceed the
     *   agent's (a privileged container) or that are not dumpable;
     * - CAP_DAC_READ_SEARCH: the container paths it resolves through /proc/<pid>/root, whose
     *   directories belong to the container's users;
     * - CAP_BPF: kernels before 6.5 (6.1, 5.10) check bpf_capable() on every bpf() call when
     *   unprivileged BPF is off (the default), including the map reads of a running agent.
     *   Where the agent was not given CAP_BPF (ECS task definitions cannot add it: the
     *   unprivileged daemon variant adds SYS_ADMIN, which bpf_capable() accepts instead), it
     *   keeps CAP_SYS_ADMIN for that check (eg_confine_kept_for).
     */
    return 1ull << CAP_SYS_PTRACE | 1ull << CAP_DAC_READ_SEARCH | 1ull << CAP_BPF;
}

uint64_t eg_confine_kept_for(uint64_t permitted)
{
    uint64_t keep = eg_confine_kept_capabilities();
    if (!(permitted >> CAP_BPF & 1))
        keep |= 1ull << CAP_SYS_ADMIN;
    return keep & permitted;
}

static int capabilities_get(struct __user_cap_data_struct data[2])
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    return (int)syscall(SYS_capget, &hdr, data);
}

static int capabilities_keep(uint64_t *effective)
{
    struct __user_cap_data_struct data[2];
    if (capabilities_get(data) != 0)
        return -1;
    uint64_t permitted = (uint64_t)data[1].permitted << 32 | data[0].permitted;
    /* A capability the runtime never granted is not kept; SYS_ADMIN stands in for BPF. */
    uint64_t now = eg_confine_kept_for(permitted);
    for (int i = 0; i < 2; i++) {
        data[i].effective = data[i].permitted = (uint32_t)(now >> (32 * i));
        data[i].inheritable = 0;
    }
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    if (syscall(SYS_capset, &hdr, data) != 0)
        return -1;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        return -1;
    *effective = now;
    return 0;
}

/* Trap mode: async-signal-safe — count, remember, say so on stderr, make the call fail ENOSYS. */
static void on_sigsys(int sig, siginfo_t *info, void *ucontext)
{
    (void)sig;
    int saved = errno;
    int nr = info->si_syscall;
    atomic_fetch_add(&refused_count, 1);
    atomic_store(&last_refused, nr);
    ucontext_t *uc = ucontext;
#if defined(__x86_64__)
    uc->uc_mcontext.gregs[REG_RAX] = -ENOSYS;
#elif defined(__aarch64__)
    uc->uc_mcontext.regs[0] = (unsigned long long)-ENOSYS;
#else
#error "trap mode: set the syscall return register for this architecture"
#endif
    char msg[96] = "ecsguard seccomp: refused system call ";
    size_t n = strlen(msg);
    char digits[12];
    int d = 0;
    unsigned v = nr < 0 ? 0u : (unsigned)nr;
    do {
        digits[d++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && d < (int)sizeof(digits));
    while (d > 0 && n < sizeof(msg) - 40)
        msg[n++] = digits[--d];
    const char tail[] = " (trap mode: it failed with ENOSYS)\n";
    memcpy(msg + n, tail, sizeof(tail) - 1);
    n += sizeof(tail) - 1;
    ssize_t w = write(STDERR_FILENO, msg, n);
    (void)w;
    errno = saved;
}

static int load_filter(enum eg_seccomp_mode mode, char *err, size_t errlen)
{
    uint32_t deflt = mode == EG_SECCOMP_TRAP ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS;
    scmp_filter_ctx ctx = seccomp_init(deflt);
    if (!ctx) {
        snprintf(err, errlen, "seccomp_init failed");
        return -1;
    }
    const char *failed = "?";
    /* Every thread (the introspection and CloudWatch workers exist already), and NNP with it. */
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (rc == 0)
        rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
    if (rc == 0 && (rc = eg_syscall_allowlist_add(ctx, &failed)) != 0)
        snprintf(err, errlen, "seccomp rule for %s: %s", failed, strerror(-rc));
    else if (rc != 0)
        snprintf(err, errlen, "seccomp attributes: %s", strerror(-rc));
    if (rc == 0 && (rc = seccomp_load(ctx)) != 0)
        snprintf(err, errlen, "seccomp_load: %s", strerror(-rc));
    seccomp_release(ctx);
    return rc == 0 ? 0 : -1;
}

int eg_confine_self(enum eg_seccomp_mode mode, struct eg_confinement *out)
{
    memset(out, 0, sizeof(*out));
    out->mode = mode;
    if (capabilities_keep(&out->capabilities) != 0) {
        snprintf(out->error, sizeof(out->error), "dropping capabilities: %s", strerror(errno));
        return -1;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        snprintf(out->error, sizeof(out->error), "no_new_privs: %s", strerror(errno));
        return -1;
    }
    out->no_new_privs = true;
    if (mode == EG_SECCOMP_OFF)
        return 0;
    if (mode == EG_SECCOMP_TRAP) {
        struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGSYS, &sa, NULL) != 0) {
            snprintf(out->error, sizeof(out->error), "SIGSYS handler: %s", strerror(errno));
            return -1;
        }
    }
    if (load_filter(mode, out->error, sizeof(out->error)) != 0)
        return -1;
    out->filter_loaded = true;
    return 0;
}

uint64_t eg_confine_refused_count(void)
{
    return atomic_load(&refused_count);
}

int eg_confine_last_refused(void)
{
    return atomic_load(&last_refused);
}

static const char *const cap_names[] = {
    [CAP_SYS_PTRACE] = "CAP_SYS_PTRACE",
    [CAP_DAC_READ_SEARCH] = "CAP_DAC_READ_SEARCH",
    [CAP_BPF] = "CAP_BPF",
    [CAP_SYS_ADMIN] = "CAP_SYS_ADMIN",
};

void eg_confinement_report(const struct eg_confinement *c, struct json_object *health)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "seccomp", json_object_new_string(eg_seccomp_mode_name(c->mode)));
    json_object_object_add(o, "filterLoaded", json_object_new_boolean(c->filter_loaded));
    json_object_object_add(o, "noNewPrivs", json_object_new_boolean(c->no_new_privs));
    struct json_object *caps = json_object_new_array();
    for (unsigned i = 0; i < 64; i++) {
        if (!(c->capabilities >> i & 1))
            continue;
        const char *name =
            i < sizeof(cap_names) / sizeof(cap_names[0]) && cap_names[i] ? cap_names[i] : NULL;
        char buf[16];
        if (!name) {
            snprintf(buf, sizeof(buf), "%u", i);
            name = buf;
        }
        json_object_array_add(caps, json_object_new_string(name));
    }
    json_object_object_add(o, "capabilities", caps);
    if (c->mode == EG_SECCOMP_TRAP) {
        json_object_object_add(o, "refusedSyscalls",
                               json_object_new_uint64(eg_confine_refused_count()));
        int nr = eg_confine_last_refused();
        char *name = nr >= 0 ? seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr) : NULL;
        json_object_object_add(o, "lastRefused", name ? json_object_new_string(name) : NULL);
        free(name);
    }
    if (c->error[0])
        json_object_object_add(o, "error", json_object_new_string(c->error));
    json_object_object_add(health, "confinement", o);
}
