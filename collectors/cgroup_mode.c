#include "collectors/cgroup_mode.h"

#include <stdio.h>
#include <string.h>

const char *eg_cgroup_mode_name(enum eg_cgroup_mode m)
{
    switch (m) {
    case EG_CGROUP_V1:
        return "v1";
    case EG_CGROUP_V2:
        return "v2";
    case EG_CGROUP_HYBRID:
        return "hybrid";
    default:
        return "unknown";
    }
}

struct v1_controller {
    char name[32];
    unsigned index;
    unsigned hierarchy;
    bool enabled;
};

/* /proc/cgroups lists subsystems in kernel index order: the line number is the index. */
static int read_proc_cgroups(const char *path, struct v1_controller *ctl, unsigned max, unsigned *n)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    char line[256];
    unsigned idx = 0;
    *n = 0;
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '#')
            continue;
        char name[32];
        unsigned hier, num, enabled;
        if (sscanf(line, "%31s %u %u %u", name, &hier, &num, &enabled) != 4)
            continue;
        if (*n < max) {
            snprintf(ctl[*n].name, sizeof(ctl[*n].name), "%s", name);
            ctl[*n].index = idx;
            ctl[*n].hierarchy = hier;
            ctl[*n].enabled = enabled != 0;
            (*n)++;
        }
        idx++;
    }
    fclose(f);
    return 0;
}

/* Find the mount point of a cgroup v1 hierarchy carrying `controller`, or of cgroup2. */
static bool find_mount(const char *mountinfo, const char *fstype, const char *controller, char *out,
                       unsigned outlen)
{
    FILE *f = fopen(mountinfo, "re");
    if (!f)
        return false;
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f)) {
        /* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
        char *sep = strstr(line, " - ");
        if (!sep)
            continue;
        char mnt[1024], fs[64], src[256], superopts[1024] = "";
        if (sscanf(line, "%*s %*s %*s %*s %1023s", mnt) != 1)
            continue;
        if (sscanf(sep + 3, "%63s %255s %1023s", fs, src, superopts) < 2)
            continue;
        if (strcmp(fs, fstype) != 0)
            continue;
        if (controller) {
            /* super options are comma separated: rw,memory or rw,cpu,cpuacct */
            bool has = false;
            char *save = NULL;
            for (char *tok = strtok_r(superopts, ",\n", &save); tok;
                 tok = strtok_r(NULL, ",\n", &save))
                if (strcmp(tok, controller) == 0)
                    has = true;
            if (!has)
                continue;
        }
        size_t n = strnlen(mnt, sizeof(mnt));
        if (n >= outlen)
            continue; /* a mount point longer than we keep cannot be used */
        memcpy(out, mnt, n + 1);
        found = true;
    }
    fclose(f);
    return found;
}

int eg_cgroup_setup_probe(const char *proc_cgroups, const char *mountinfo,
                          struct eg_cgroup_setup *out, char *err, unsigned errlen)
{
    memset(out, 0, sizeof(*out));
    struct v1_controller ctl[64];
    unsigned n = 0;
    if (read_proc_cgroups(proc_cgroups, ctl, 64, &n) != 0) {
        snprintf(err, errlen, "cannot read %s", proc_cgroups);
        return -1;
    }
    bool has_v2 =
        find_mount(mountinfo, "cgroup2", NULL, out->v2_mount_point, sizeof(out->v2_mount_point));
    /* Controllers bound to a v1 hierarchy have a non-zero hierarchy id. */
    static const char *const preferred[] = {"memory", "pids", "cpuset"};
    const struct v1_controller *chosen = NULL;
    for (unsigned p = 0; p < 3 && !chosen; p++)
        for (unsigned i = 0; i < n; i++)
            if (ctl[i].enabled && ctl[i].hierarchy != 0 && strcmp(ctl[i].name, preferred[p]) == 0)
                chosen = &ctl[i];
    if (chosen) {
        if (!find_mount(mountinfo, "cgroup", chosen->name, out->mount_point,
                        sizeof(out->mount_point))) {
            snprintf(err, errlen, "v1 controller %s has no mount", chosen->name);
            return -1;
        }
        out->mode = has_v2 ? EG_CGROUP_HYBRID : EG_CGROUP_V1;
        out->use_v1 = true;
        snprintf(out->controller, sizeof(out->controller), "%s", chosen->name);
        out->subsys_index = chosen->index;
        out->hierarchy_id = chosen->hierarchy;
        return 0;
    }
    if (has_v2) {
        out->mode = EG_CGROUP_V2;
        out->use_v1 = false;
        out->hierarchy_id = 0;
        snprintf(out->mount_point, sizeof(out->mount_point), "%s", out->v2_mount_point);
        return 0;
    }
    snprintf(err, errlen,
             "no usable cgroup hierarchy (no memory/pids/cpuset v1 controller, no "
             "cgroup2 mount)");
    return -1;
}
