#include "agent/pipeline/guardduty_model.h"

#include <stdlib.h>
#include <string.h>

/*
 * RuntimeContext's wire names in @aws-sdk/client-guardduty 3.1178.0 (tests/finding-schema
 * pins it), sorted for bsearch: a line looks up each of its context members once.
 */
static const char *const runtime_context[] = {
    "addressFamily",      "commandLineExample",   "fileOperation",
    "filePath",           "fileSystemType",       "flags",
    "ianaProtocolNumber", "ldPreloadValue",       "libraryPath",
    "memoryRegions",      "modifiedAt",           "modifyingProcess",
    "moduleFilePath",     "moduleName",           "moduleSha256",
    "mountSource",        "mountTarget",          "relatedFilePaths",
    "releaseAgentPath",   "runcBinaryPath",       "scriptPath",
    "serviceName",        "shellHistoryFilePath", "socketPath",
    "targetProcess",      "threatFilePath",       "toolCategory",
    "toolName",
};

static int cmp(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

bool eg_gd_runtime_context_member(const char *wire_name)
{
    return bsearch(wire_name, runtime_context, sizeof(runtime_context) / sizeof(*runtime_context),
                   sizeof(*runtime_context), cmp) != NULL;
}
