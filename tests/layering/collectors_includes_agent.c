/* Must not compile: collectors/ sits below agent/ (cmake/layers.cmake). */
#include "agent/pipeline/aggregator.h"

int eg_layering_probe(void);
int eg_layering_probe(void)
{
    return 0;
}
