/* Must not compile: collectors/ sits below policy/ (cmake/layers.cmake). */
#include "policy/policy.h"

int eg_layering_probe(void);
int eg_layering_probe(void)
{
    return 0;
}
