#include "collectors/cgroup_procs.h"

#include <stdio.h>

int eg_cgroup_procs(const char *cgroup_mount, const char *cgroup_path, uint32_t *out, int max)
{
    if (!cgroup_mount || !cgroup_mount[0] || !cgroup_path || !cgroup_path[0])
        return 0;
    char path[4608];
    int n = snprintf(path, sizeof(path), "%s%s/cgroup.procs", cgroup_mount, cgroup_path);
    if (n < 0 || (size_t)n >= sizeof(path))
        return 0;
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    int count = 0;
    unsigned v;
    while (count < max && fscanf(f, "%u", &v) == 1)
        out[count++] = v;
    fclose(f);
    return count;
}
