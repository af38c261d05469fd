/* Must not compile: policy/ sits below agent/ (cmake/layers.cmake). */
#include "agent/detectors/detector.h"

int eg_layering_probe(void);
int eg_layering_probe(void)
{
    return 0;
}
