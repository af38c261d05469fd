#include "agent/kallsyms.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/*
 * Two passes: find each function's start, then the lowest symbol address
 * above it (its end). kallsyms is not sorted by address, and a single sorted
 * copy of ~200k symbols is more memory than this needs.
 */
int eg_kallsyms_resolve(const char *path, struct eg_ksym_range *ranges, int n)
{
    for (int i = 0; i < n; i++)
        ranges[i].start = ranges[i].end = 0;
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    char line[512], sym[256];
    char type;
    uint64_t addr;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%" SCNx64 " %c %255s", &addr, &type, sym) != 3)
            continue;
        for (int i = 0; i < n; i++)
            if (!ranges[i].start && addr && strcmp(sym, ranges[i].name) == 0)
                ranges[i].start = addr;
    }
    rewind(f);
    for (int i = 0; i < n; i++)
        ranges[i].end = UINT64_MAX;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%" SCNx64 " %c %255s", &addr, &type, sym) != 3)
            continue;
        for (int i = 0; i < n; i++)
            if (ranges[i].start && addr > ranges[i].start && addr < ranges[i].end)
                ranges[i].end = addr;
    }
    fclose(f);
    int resolved = 0;
    for (int i = 0; i < n; i++) {
        if (ranges[i].start && ranges[i].end != UINT64_MAX)
            resolved++;
        else
            ranges[i].start = ranges[i].end = 0;
    }
    return resolved;
}
