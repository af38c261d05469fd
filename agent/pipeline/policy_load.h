/*
 * The policy in force: loaded at start-up (--policy, else the built-in default) and replaced
 * by a reload (SIGHUP) only when the new file is valid. Detectors and emission read it through
 * &policy, so a reload is seen by the next event.
 */
#ifndef ECSGUARD_POLICY_LOAD_H
#define ECSGUARD_POLICY_LOAD_H

#include <stdint.h>

struct eg_policy;

struct eg_policy_state {
    struct eg_policy *policy; /* in force */
    const char *file;         /* --policy; NULL: the built-in default */
    uint64_t watched_caps;    /* --watch-caps; 0: the policy's own set */
    uint64_t reloads, reload_failures;
};

/* Load the first policy. 0, or -1 (the file's problems are logged). */
int eg_policy_state_load(struct eg_policy_state *s, const char *file, uint64_t watched_caps);
/* The capabilities the kernel should report: --watch-caps, else the policy's. */
uint64_t eg_policy_state_watched_caps(const struct eg_policy_state *s);
/*
 * Load the file again. 0 when a new policy is in force (the caller gives the kernel its
 * watched set); -1 when the previous one stays (no file, or the new one is invalid: logged
 * and counted). `installed` (may be NULL) runs once the new policy is in force and before the
 * old one is freed, so whatever held the old one's patterns (the detectors) can take the new.
 */
int eg_policy_state_reload(struct eg_policy_state *s,
                           void (*installed)(void *ctx, const struct eg_policy *p), void *ctx);
void eg_policy_state_free(struct eg_policy_state *s);

#endif
