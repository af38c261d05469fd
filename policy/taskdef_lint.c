/*
 * The controls, one function each, over one parsed task definition. Each returns its
 * results (FAIL or UNKNOWN, with the key that decides them) and the control's verdict for
 * the definition. A value the file does not make known (a CloudFormation intrinsic)
 * decides nothing: where it could change the outcome the result is UNKNOWN, which fails a
 * run like a failure until an allow entry says why it is fine (docs/posture.md).
 *
 * (Over 500 lines: one short function per control, in the order of the control list.)
 */
#include "policy/taskdef_lint_internal.h"
#include "policy/policy_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void eg_lint_verdict(struct eg_lint_ctx *L, enum eg_lint_control c, enum eg_lint_verdict v)
{
    if (v > L->out->verdicts[c])
        L->out->verdicts[c] = v;
}

void eg_lint_add(struct eg_lint_ctx *L, enum eg_lint_control c, enum eg_lint_verdict v,
                 enum eg_lint_severity sev, unsigned line, unsigned column, int container,
                 const char *fmt, ...)
{
    eg_lint_verdict(L, c, v);
    struct eg_lint_report *r = L->out;
    if (r->count == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct eg_lint_result *items = realloc(r->results, cap * sizeof(*items));
        if (!items) {
            L->failed_alloc = true;
            return;
        }
        r->results = items;
        r->cap = cap;
    }
    struct eg_lint_result *res = &r->results[r->count++];
    memset(res, 0, sizeof(*res));
    res->control = c;
    res->verdict = v;
    res->severity = sev;
    res->line = line ? line : L->td->line;
    res->column = line ? column : L->td->column;
    res->container = container;
    res->allowed_by = -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof(res->message), fmt, ap);
    va_end(ap);
}

void eg_lint_set_subject(struct eg_lint_ctx *L, const struct eg_td_value *v)
{
    if (L->out->count && v->state == EG_TD_KNOWN)
        eg_td_value_quote(v, L->out->results[L->out->count - 1].subject,
                          sizeof(L->out->results[0].subject));
}

/* "container 'app'" (or "container #2" when the name is not known), for messages. */
void eg_lint_who(const struct eg_td_container *c, size_t i, char *buf, size_t len)
{
    char q[72];
    eg_td_value_quote(&c->name, q, sizeof(q));
    if (c->name.state == EG_TD_KNOWN)
        snprintf(buf, len, "container '%s'", q);
    else
        snprintf(buf, len, "container #%zu", i + 1);
}

/* The key's position when it is written, else the container's. */
static void at(const struct eg_td_value *v, const struct eg_td_container *c, unsigned *line,
               unsigned *column)
{
    *line = v->line ? v->line : c->line;
    *column = v->line ? v->column : c->column;
}

#define UNKNOWN_FMT "%s: %s is %s%s; the template alone does not decide this control"

static void branch_value(const struct eg_td_value *v, int k, struct eg_td_value *out)
{
    *out = *v;
    out->state = v->branches[k].state;
    out->str = v->branches[k].str;
    out->len = v->branches[k].len;
    out->flag = v->branches[k].flag;
    out->nbranches = 0;
}

const struct eg_td_value *eg_lint_decide(const struct eg_td_value *v, eg_lint_fails_fn fails,
                                         struct eg_td_value *tmp)
{
    if (v->state != EG_TD_UNKNOWN || v->nbranches != 2)
        return v;
    struct eg_td_value other;
    branch_value(v, 0, tmp);
    branch_value(v, 1, &other);
    return fails(tmp) == fails(&other) ? tmp : v;
}

static bool is_true(const struct eg_td_value *v)
{
    return v->state == EG_TD_KNOWN && v->flag;
}

static bool not_true(const struct eg_td_value *v)
{
    return !is_true(v);
}

/* A control that cannot be decided at `v` (an intrinsic) for container `i`. */
void eg_lint_unknown_at(struct eg_lint_ctx *L, enum eg_lint_control ctl,
                        const struct eg_td_value *v, const struct eg_td_container *c, size_t i,
                        const char *setting)
{
    char w[96];
    unsigned line, column;
    if (c) {
        eg_lint_who(c, i, w, sizeof(w));
        at(v, c, &line, &column);
    } else {
        snprintf(w, sizeof(w), "the task definition");
        line = v->line;
        column = v->column;
    }
    eg_lint_add(L, ctl, EG_LINT_UNKNOWN, eg_lint_controls[ctl].severity, line, column,
                c ? (int)i : -1, UNKNOWN_FMT, w, setting,
                v->intrinsic[0] ? v->intrinsic : "an intrinsic",
                v->nbranches == 2 ? " and one of its branches fails, the other passes" : "");
}

bool eg_lint_user_is_root(const char *user, size_t len)
{
    const char *colon = memchr(user, ':', len);
    size_t n = colon ? (size_t)(colon - user) : len;
    if (n == 0)
        return true; /* ":group" keeps the image's user */
    if (n == 4 && memcmp(user, "root", 4) == 0)
        return true;
    for (size_t i = 0; i < n; i++)
        if (user[i] != '0')
            return false;
    return true;
}

static bool user_known_root(const struct eg_td_value *u)
{
    return u->state == EG_TD_ABSENT ||
           (u->state == EG_TD_KNOWN && eg_lint_user_is_root(u->str, u->len));
}

/* ECS.1: in host network mode a container must be privileged (a deliberate choice) or run
 * as a non-root user. */
static void check_ecs1(struct eg_lint_ctx *L, const struct eg_td_container *c, size_t i)
{
    const struct eg_td_value *net = &L->td->network_mode;
    if (L->td->kind == EG_TD_DAEMON || net->state == EG_TD_ABSENT ||
        (net->state == EG_TD_KNOWN && !eg_td_value_is(net, "host")))
        return;
    eg_lint_verdict(L, EG_LINT_ECS1, EG_LINT_PASS);
    struct eg_td_value tp, tu;
    const struct eg_td_value *pv = eg_lint_decide(&c->privileged, not_true, &tp);
    const struct eg_td_value *uv = eg_lint_decide(&c->user, user_known_root, &tu);
    bool priv = is_true(pv);
    bool nonroot = uv->state == EG_TD_KNOWN && !eg_lint_user_is_root(uv->str, uv->len);
    if (priv || nonroot)
        return;
    if (pv->state == EG_TD_UNKNOWN) {
        eg_lint_unknown_at(L, EG_LINT_ECS1, pv, c, i, "privileged");
        return;
    }
    if (uv->state == EG_TD_UNKNOWN) {
        eg_lint_unknown_at(L, EG_LINT_ECS1, uv, c, i, "user");
        return;
    }
    if (net->state == EG_TD_UNKNOWN) {
        eg_lint_unknown_at(L, EG_LINT_ECS1, net, NULL, i, "networkMode");
        return;
    }
    char w[96], q[72];
    unsigned line, column;
    eg_lint_who(c, i, w, sizeof(w));
    eg_td_value_quote(uv, q, sizeof(q));
    at(uv, c, &line, &column);
    eg_lint_add(
        L, EG_LINT_ECS1, EG_LINT_FAIL, EG_LINT_HIGH, line, column, (int)i,
        "%s shares the host's network namespace (networkMode host) as root (%s%s%s) without "
        "privileged: true",
        w, uv->state == EG_TD_ABSENT ? "user not set" : "user '", q,
        uv->state == EG_TD_ABSENT ? "" : "'");
}

static void check_ecs4(struct eg_lint_ctx *L, const struct eg_td_container *c, size_t i)
{
    eg_lint_verdict(L, EG_LINT_ECS4, EG_LINT_PASS);
    struct eg_td_value tmp;
    const struct eg_td_value *v = eg_lint_decide(&c->privileged, is_true, &tmp);
    if (v->state == EG_TD_UNKNOWN) {
        eg_lint_unknown_at(L, EG_LINT_ECS4, v, c, i, "privileged");
        return;
    }
    if (is_true(v)) {
        char w[96];
        eg_lint_who(c, i, w, sizeof(w));
        eg_lint_add(L, EG_LINT_ECS4, EG_LINT_FAIL, EG_LINT_HIGH, v->line, v->column, (int)i,
                    "%s is privileged (privileged: true): every capability, every device, no "
                    "seccomp or LSM confinement",
                    w);
    }
}

static void check_ecs5(struct eg_lint_ctx *L, const struct eg_td_container *c, size_t i)
{
    struct eg_td_value tmp;
    const struct eg_td_value *v = eg_lint_decide(&c->readonly_root, not_true, &tmp);
    eg_lint_verdict(L, EG_LINT_ECS5, EG_LINT_PASS);
    if (v->state == EG_TD_UNKNOWN) {
        eg_lint_unknown_at(L, EG_LINT_ECS5, v, c, i, "readonlyRootFilesystem");
        return;
    }
    if (v->state == EG_TD_KNOWN && v->flag)
        return;
    char w[96];
    unsigned line, column;
    eg_lint_who(c, i, w, sizeof(w));
    at(v, c, &line, &column);
    eg_lint_add(L, EG_LINT_ECS5, EG_LINT_FAIL, EG_LINT_HIGH, line, column, (int)i,
                "%s has a writable root filesystem (readonlyRootFilesystem %s)", w,
                v->state == EG_TD_ABSENT ? "not set" : "false");
}

/* The keys ecs-no-environment-secrets looks for (not customisable in the control). */
static const char *const secret_keys[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                          "ECS_ENGINE_AUTH_DATA"};

static void check_ecs8(struct eg_lint_ctx *L, const struct eg_td_container *c, size_t i)
{
    eg_lint_verdict(L, EG_LINT_ECS8, EG_LINT_PASS);
    if (c->environment.state == EG_TD_UNKNOWN) {
        eg_lint_unknown_at(L, EG_LINT_ECS8, &c->environment, c, i, "environment");
        return;
    }
    char w[96];
    eg_lint_who(c, i, w, sizeof(w));
    for (size_t e = 0; e < c->nenv; e++) {
        const struct eg_td_value *name = &c->env[e].name;
        if (name->state == EG_TD_UNKNOWN) {
            eg_lint_unknown_at(L, EG_LINT_ECS8, name, c, i, "an environment variable's name");
            continue;
        }
        for (size_t k = 0; k < sizeof(secret_keys) / sizeof(secret_keys[0]); k++) {
            if (!eg_td_value_is(name, secret_keys[k]))
                continue;
            eg_lint_add(L, EG_LINT_ECS8, EG_LINT_FAIL, EG_LINT_HIGH, name->line, name->column,
                        (int)i,
                        "%s passes %s as a plain environment variable; use 'secrets' (Secrets "
                        "Manager or SSM Parameter Store)",
                        w, secret_keys[k]);
            eg_lint_set_subject(L, name);
        }
    }
}

static bool no_driver(const struct eg_td_value *v)
{
    return !(v->state == EG_TD_KNOWN && v->len > 0);
}

static void check_ecs9(struct eg_lint_ctx *L, const struct eg_td_container *c, size_t i)
{
    eg_lint_verdict(L, EG_LINT_ECS9, EG_LINT_PASS);
    struct eg_td_value tmp;
    const struct eg_td_value *lc = &c->log_configuration,
                             *drv = eg_lint_decide(&c->log_driver, no_driver, &tmp);
    if (lc->state == EG_TD_UNKNOWN) {
        eg_lint_unknown_at(L, EG_LINT_ECS9, lc, c, i, "logConfiguration");
        return;
    }
    if (lc->state == EG_TD_KNOWN && drv->state == EG_TD_UNKNOWN) {
        eg_lint_unknown_at(L, EG_LINT_ECS9, drv, c, i, "logDriver");
        return;
    }
    if (lc->state == EG_TD_KNOWN && drv->state == EG_TD_KNOWN && drv->len > 0)
        return;
    char w[96];
    unsigned line, column;
    eg_lint_who(c, i, w, sizeof(w));
    at(lc, c, &line, &column);
    eg_lint_add(L, EG_LINT_ECS9, EG_LINT_FAIL, EG_LINT_HIGH, line, column, (int)i,
                lc->state == EG_TD_ABSENT ? "%s has no logConfiguration"
                                          : "%s has a logConfiguration without a logDriver",
                w);
}

static bool privileged(const struct eg_td_container *c)
{
    struct eg_td_value tmp;
    return is_true(eg_lint_decide(&c->privileged, is_true, &tmp));
}

/* The capability's name without "CAP_", compared the way Docker does (any case). */
static bool cap_is(const struct eg_td_value *v, const char *name)
{
    const char *s = v->str;
    size_t len = v->len;
    if (len > 4 && strncasecmp(s, "CAP_", 4) == 0) {
        s += 4;
        len -= 4;
    }
    return len == strlen(name) && strncasecmp(s, name, len) == 0;
}

/* Capabilities that give power over the host or other tasks (the agent watches them). */
static const char *const high_caps[] = {
    "ALL",        "SYS_ADMIN", "NET_ADMIN",       "BPF",      "PERFMON",   "SYS_PTRACE",
    "SYS_MODULE", "SYS_RAWIO", "DAC_READ_SEARCH", "SYS_BOOT", "MAC_ADMIN", "MAC_OVERRIDE",
    "SYS_TIME",   "SYSLOG"};
/* Docker's default set: adding one of these changes nothing unless something dropped it. */
static const char *const default_caps[] = {
    "CHOWN",   "DAC_OVERRIDE", "FSETID",           "FOWNER",
    "MKNOD",   "NET_RAW",      "SETGID",           "SETUID",
    "SETFCAP", "SETPCAP",      "NET_BIND_SERVICE", "SYS_CHROOT",
    "KILL",    "AUDIT_WRITE"};

static enum eg_lint_severity cap_severity(const struct eg_td_value *v)
{
    for (size_t k = 0; k < sizeof(high_caps) / sizeof(high_caps[0]); k++)
        if (cap_is(v, high_caps[k]))
            return EG_LINT_HIGH;
    for (size_t k = 0; k < sizeof(default_caps) / sizeof(default_caps[0]); k++)
        if (cap_is(v, default_caps[k]))
            return EG_LINT_LOW;
    return EG_LINT_MEDIUM;
}

/* linuxParameters, then capabilities, then the list: the first of them that is an
 * intrinsic, or NULL. */
static const struct eg_td_value *caps_unknown(const struct eg_td_container *c,
                                              const struct eg_td_value *list)
{
    if (c->linux_parameters.state == EG_TD_UNKNOWN)
        return &c->linux_parameters;
    if (c->capabilities.state == EG_TD_UNKNOWN)
        return &c->capabilities;
    return list->state == EG_TD_UNKNOWN ? list : NULL;
}

static void check_cap_add(struct eg_lint_ctx *L, const struct eg_td_container *c, size_t i)
{
    if (privileged(c))
        return; /* ECS.4 already says it: privileged is every capability */
    eg_lint_verdict(L, EG_LINT_CAP_ADD, EG_LINT_PASS);
    const struct eg_td_value *u = caps_unknown(c, &c->cap_add_list);
    if (u) {
        eg_lint_unknown_at(L, EG_LINT_CAP_ADD, u, c, i, "linuxParameters.capabilities.add");
        return;
    }
    char w[96], q[72];
    eg_lint_who(c, i, w, sizeof(w));
    for (size_t k = 0; k < c->ncap_add; k++) {
        const struct eg_td_value *v = &c->cap_add[k];
        if (v->state == EG_TD_UNKNOWN) {
            eg_lint_unknown_at(L, EG_LINT_CAP_ADD, v, c, i, "an added capability");
            continue;
        }
        eg_td_value_quote(v, q, sizeof(q));
        enum eg_lint_severity sev = cap_severity(v);
        eg_lint_add(L, EG_LINT_CAP_ADD, EG_LINT_FAIL, sev, v->line, v->column, (int)i,
                    "%s adds capability %s%s", w, q,
                    sev == EG_LINT_HIGH  ? " (power over the host or other tasks)"
                    : sev == EG_LINT_LOW ? " (in Docker's default set)"
                                         : "");
        eg_lint_set_subject(L, v);
    }
}

static void check_cap_drop(struct eg_lint_ctx *L, const struct eg_td_container *c, size_t i)
{
    if (privileged(c))
        return;
    eg_lint_verdict(L, EG_LINT_CAP_DROP, EG_LINT_PASS);
    const struct eg_td_value *u = caps_unknown(c, &c->cap_drop_list);
    if (u) {
        eg_lint_unknown_at(L, EG_LINT_CAP_DROP, u, c, i, "linuxParameters.capabilities.drop");
        return;
    }
    bool some_unknown = false;
    for (size_t k = 0; k < c->ncap_drop; k++) {
        if (c->cap_drop[k].state == EG_TD_KNOWN && cap_is(&c->cap_drop[k], "ALL"))
            return;
        some_unknown |= c->cap_drop[k].state == EG_TD_UNKNOWN;
    }
    for (size_t k = 0; some_unknown && k < c->ncap_drop; k++)
        if (c->cap_drop[k].state == EG_TD_UNKNOWN) {
            eg_lint_unknown_at(L, EG_LINT_CAP_DROP, &c->cap_drop[k], c, i, "a dropped capability");
            return;
        }
    char w[96];
    unsigned line, column;
    eg_lint_who(c, i, w, sizeof(w));
    const struct eg_td_value *where = c->cap_drop_list.line  ? &c->cap_drop_list
                                      : c->capabilities.line ? &c->capabilities
                                                             : &c->linux_parameters;
    at(where, c, &line, &column);
    eg_lint_add(L, EG_LINT_CAP_DROP, EG_LINT_FAIL, EG_LINT_MEDIUM, line, column, (int)i,
                "%s keeps the runtime's default capabilities (no linuxParameters.capabilities.drop "
                "[\"ALL\"])",
                w);
}

static void check_user(struct eg_lint_ctx *L, const struct eg_td_container *c, size_t i)
{
    eg_lint_verdict(L, EG_LINT_USER, EG_LINT_PASS);
    struct eg_td_value tmp;
    const struct eg_td_value *u = eg_lint_decide(&c->user, user_known_root, &tmp);
    if (u->state == EG_TD_UNKNOWN) {
        eg_lint_unknown_at(L, EG_LINT_USER, u, c, i, "user");
        return;
    }
    if (!user_known_root(u))
        return;
    char w[96], q[72];
    unsigned line, column;
    eg_lint_who(c, i, w, sizeof(w));
    eg_td_value_quote(u, q, sizeof(q));
    at(u, c, &line, &column);
    if (u->state == EG_TD_ABSENT)
        eg_lint_add(L, EG_LINT_USER, EG_LINT_FAIL, EG_LINT_MEDIUM, line, column, (int)i,
                    "%s sets no user: it runs as the image's user, root unless the image says "
                    "otherwise",
                    w);
    else
        eg_lint_add(L, EG_LINT_USER, EG_LINT_FAIL, EG_LINT_MEDIUM, line, column, (int)i,
                    "%s runs as root (user '%s')", w, q);
}

static void check_init(struct eg_lint_ctx *L, const struct eg_td_container *c, size_t i)
{
    eg_lint_verdict(L, EG_LINT_INIT, EG_LINT_PASS);
    if (c->linux_parameters.state == EG_TD_UNKNOWN) {
        eg_lint_unknown_at(L, EG_LINT_INIT, &c->linux_parameters, c, i, "linuxParameters");
        return;
    }
    struct eg_td_value tmp;
    const struct eg_td_value *v = eg_lint_decide(&c->init_process, not_true, &tmp);
    if (v->state == EG_TD_UNKNOWN) {
        eg_lint_unknown_at(L, EG_LINT_INIT, v, c, i, "initProcessEnabled");
        return;
    }
    if (is_true(v))
        return;
    char w[96];
    unsigned line, column;
    eg_lint_who(c, i, w, sizeof(w));
    at(v->line ? v : &c->linux_parameters, c, &line, &column);
    eg_lint_add(L, EG_LINT_INIT, EG_LINT_FAIL, EG_LINT_LOW, line, column, (int)i,
                "%s has no init process (linuxParameters.initProcessEnabled %s): the entrypoint is "
                "PID 1, so orphans are not reaped and signals not forwarded",
                w, v->state == EG_TD_ABSENT ? "not set" : "false");
}

/* Sharing a host namespace: pidMode or ipcMode "host", or "shared" in a daemon. */
static bool shares_host(const struct eg_td_value *v)
{
    return eg_td_value_is(v, "host") || eg_td_value_is(v, "shared");
}

static void check_host_ns(struct eg_lint_ctx *L, enum eg_lint_control ctl,
                          const struct eg_td_value *setting, const char *key, const char *what)
{
    struct eg_td_value tmp;
    const struct eg_td_value *v = eg_lint_decide(setting, shares_host, &tmp);
    eg_lint_verdict(L, ctl, EG_LINT_PASS);
    if (v->state == EG_TD_UNKNOWN) {
        eg_lint_unknown_at(L, ctl, v, NULL, 0, key);
        return;
    }
    if (!shares_host(v))
        return;
    char q[16];
    eg_td_value_quote(v, q, sizeof(q));
    eg_lint_add(L, ctl, EG_LINT_FAIL, EG_LINT_HIGH, v->line, v->column, -1,
                "the task's containers share the host's %s namespace (%s: %s)%s", what, key, q,
                ctl == EG_LINT_ECS3 ? ": they can see, signal and (with SYS_PTRACE) trace host "
                                      "processes"
                                    : "");
}

/* Run every container-level check (or mark them all unknown at `v`). */
static void each_container_check(struct eg_lint_ctx *L, const struct eg_td_container *c, size_t i)
{
    check_ecs1(L, c, i);
    check_ecs4(L, c, i);
    check_ecs5(L, c, i);
    check_ecs8(L, c, i);
    check_ecs9(L, c, i);
    check_cap_add(L, c, i);
    check_cap_drop(L, c, i);
    check_user(L, c, i);
    check_init(L, c, i);
}

static const enum eg_lint_control container_controls[] = {
    EG_LINT_ECS1,    EG_LINT_ECS4,     EG_LINT_ECS5, EG_LINT_ECS8, EG_LINT_ECS9,
    EG_LINT_CAP_ADD, EG_LINT_CAP_DROP, EG_LINT_USER, EG_LINT_INIT};

static void all_unknown(struct eg_lint_ctx *L, const struct eg_td_value *v,
                        const struct eg_td_container *c, size_t i, const char *what)
{
    for (size_t k = 0; k < sizeof(container_controls) / sizeof(container_controls[0]); k++) {
        enum eg_lint_control ctl = container_controls[k];
        if (ctl == EG_LINT_ECS1 &&
            (L->td->kind == EG_TD_DAEMON || L->td->network_mode.state == EG_TD_ABSENT ||
             (L->td->network_mode.state == EG_TD_KNOWN &&
              !eg_td_value_is(&L->td->network_mode, "host"))))
            continue;
        eg_lint_unknown_at(L, ctl, v, c, i, what);
    }
}

/* File order, so that output reads top to bottom; then the control's order. */
static int by_position(const void *a, const void *b)
{
    const struct eg_lint_result *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->column != y->column)
        return x->column < y->column ? -1 : 1;
    if (x->control != y->control)
        return x->control < y->control ? -1 : 1;
    return strcmp(x->subject, y->subject);
}

int eg_lint_taskdef(const struct eg_taskdef *td, struct eg_lint_report *out)
{
    eg_lint_report_free(out);
    struct eg_lint_ctx L = {.td = td, .out = out};
    check_host_ns(&L, EG_LINT_ECS3, &td->pid_mode, "pidMode", "PID");
    check_host_ns(&L, EG_LINT_IPC_HOST, &td->ipc_mode, "ipcMode", "IPC");
    if (td->container_definitions.state == EG_TD_UNKNOWN)
        all_unknown(&L, &td->container_definitions, NULL, 0, "containerDefinitions");
    for (size_t i = 0; i < td->ncontainers; i++) {
        const struct eg_td_container *c = &td->containers[i];
        if (c->unknown)
            all_unknown(&L, &c->name, c, i, "the container definition");
        else
            each_container_check(&L, c, i);
    }
    eg_lint_check_host_paths(&L);
    if (out->count > 1)
        qsort(out->results, out->count, sizeof(*out->results), by_position);
    return L.failed_alloc ? -1 : 0;
}

void eg_lint_report_free(struct eg_lint_report *r)
{
    free(r->results);
    memset(r, 0, sizeof(*r));
}
