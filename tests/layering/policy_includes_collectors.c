/*
 * Must compile: the downward include the negative cases are measured against, so a failure
 * there is the layer rule and not a broken probe.
 */
#include "bpf/events.h"
#include "collectors/container_table.h"
#include "policy/finding.h"

int eg_layering_probe(void);
int eg_layering_probe(void)
{
    return (int)sizeof(struct eg_container) > 0 && EG_MAX_CONTAINERS > 0;
}
