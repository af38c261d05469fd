/*
 * What a policy means when it leaves `watch` or `sensitive_files` out.
 * policy/default.yaml lists the same values explicitly so users see them;
 * tests/unit/test_policy_default.c checks the two agree.
 */
#include "policy/policy_internal.h"

/* linux/capability.h numbers (see policy/capabilities.c). */
#define CAP_NET_ADMIN_NR 12
#define CAP_SYS_ADMIN_NR 21
#define CAP_BPF_NR 39

uint64_t eg_policy_default_watched_caps(void)
{
    return (UINT64_C(1) << CAP_SYS_ADMIN_NR) | (UINT64_C(1) << CAP_NET_ADMIN_NR) |
           (UINT64_C(1) << CAP_BPF_NR);
}

/*
 * Files whose modification inside a container is how attackers add accounts,
 * grant themselves privilege, preload code or make it run again later. A
 * trailing '/' covers a directory and everything in it.
 */
const char *const eg_policy_default_sensitive_files[] = {
    /* accounts and privilege */
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/gshadow",
    "/etc/sudoers",
    "/etc/sudoers.d/",
    "/etc/pam.d/",
    "/etc/security/",
    /* code injected into every process */
    "/etc/ld.so.preload",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d/",
    /* scheduled execution */
    "/etc/crontab",
    "/etc/anacrontab",
    "/etc/cron.d/",
    "/etc/cron.hourly/",
    "/etc/cron.daily/",
    "/etc/cron.weekly/",
    "/etc/cron.monthly/",
    "/var/spool/cron/",
    /* remote access */
    "/root/.ssh/authorized_keys",
    "/root/.ssh/authorized_keys2",
    "/home/*/.ssh/authorized_keys",
    "/home/*/.ssh/authorized_keys2",
    "/etc/ssh/sshd_config",
    "/etc/ssh/sshd_config.d/",
    /* shell start-up files */
    "/etc/profile",
    "/etc/profile.d/",
    "/etc/bash.bashrc",
    "/etc/bashrc",
    "/etc/environment",
    "/root/.bashrc",
    "/root/.bash_profile",
    "/root/.bash_login",
    "/root/.profile",
    "/home/*/.bashrc",
    "/home/*/.bash_profile",
    "/home/*/.bash_login",
    "/home/*/.profile",
    NULL,
};
