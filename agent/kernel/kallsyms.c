#include "agent/kernel/kallsyms.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * One line of /proc/kallsyms: "ffffffff815d3ce0 T __vm_enough_memory" (module symbols end in
 * "\t[module]"). Parsed by hand rather than with sscanf("%s"): ~120k lines at start-up.
 */
static bool parse_line(const char *line, uint64_t *addr, const char **name, size_t *name_len)
{
    char *end;
    unsigned long long a = strtoull(line, &end, 16);
    if (end == line || end[0] != ' ' || end[1] == '\0' || end[2] != ' ')
        return false;
    const char *p = end + 3;
    size_t len = strcspn(p, " \t\r\n");
    if (len == 0)
        return false;
    *addr = (uint64_t)a;
    *name = p;
    *name_len = len;
    return true;
}

/*
 * One pass: note each function's start and keep every address (~1 MiB for ~120k symbols,
 * freed before returning), then each end is the lowest address above its start. kallsyms
 * is not sorted by address, and generating the file is most of the cost (~35 ms a read
 * here), so it is read once.
 */
int eg_kallsyms_resolve(const char *path, struct eg_ksym_range *ranges, int n)
{
    for (int i = 0; i < n; i++)
        ranges[i].start = ranges[i].end = 0;
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    char *buf = malloc(1 << 16); /* fewer, larger reads of the generated file */
    if (buf)
        setvbuf(f, buf, _IOFBF, 1 << 16);
    uint64_t *addrs = NULL;
    size_t n_addrs = 0, cap = 0;
    bool complete = true;
    char line[512];
    const char *name;
    size_t len;
    uint64_t addr;
    while (fgets(line, sizeof(line), f)) {
        if (!parse_line(line, &addr, &name, &len))
            continue;
        if (n_addrs == cap) {
            size_t next = cap ? cap * 2 : 65536;
            uint64_t *grown = realloc(addrs, next * sizeof(*addrs));
            if (!grown) {
                complete = false; /* an end could be missed: resolve nothing */
                break;
            }
            addrs = grown;
            cap = next;
        }
        addrs[n_addrs++] = addr;
        if (!addr)
            continue;
        for (int i = 0; i < n; i++)
            if (!ranges[i].start && strlen(ranges[i].name) == len &&
                memcmp(name, ranges[i].name, len) == 0)
                ranges[i].start = addr;
    }
    fclose(f);
    free(buf);
    for (int i = 0; i < n; i++)
        ranges[i].end = UINT64_MAX;
    for (size_t k = 0; complete && k < n_addrs; k++)
        for (int i = 0; i < n; i++)
            if (ranges[i].start && addrs[k] > ranges[i].start && addrs[k] < ranges[i].end)
                ranges[i].end = addrs[k];
    free(addrs);
    int resolved = 0;
    for (int i = 0; i < n; i++) {
        if (complete && ranges[i].start && ranges[i].end != UINT64_MAX)
            resolved++;
        else
            ranges[i].start = ranges[i].end = 0;
    }
    return resolved;
}
