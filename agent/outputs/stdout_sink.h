/* Findings as JSON lines on stdout, for the ECS task's awslogs log driver. */
#ifndef ECSGUARD_STDOUT_SINK_H
#define ECSGUARD_STDOUT_SINK_H

#include "agent/outputs/sink.h"

/* Writes to `fd` (normally 1). One write per line, so lines never interleave. */
struct eg_sink *eg_stdout_sink_new(int fd);

#endif
