/* `ecsguard run`: the agent's lifecycle (start-up, event loop, shutdown). */
#ifndef ECSGUARD_RUN_H
#define ECSGUARD_RUN_H

struct eg_aggregator;
struct eg_container_table;
struct eg_ecs_client;
struct eg_ringbuf_reader;
struct eg_run_options;
struct eg_sink;

/* argv[0] is "run". Returns the process exit status. */
int eg_run_main(int argc, char **argv);

/*
 * The agent's userspace pipeline without kernel programs, signals or event
 * loop (bench/pipeline_bench.c): the same handlers, detectors, aggregation,
 * ECS task lookup, policy and JSON serialization as `ecsguard run`, fed by
 * eg_ringbuf_dispatch(eg_agent_reader(a), record, size) instead of the ring
 * buffer. Findings go to `sink` (owned by the agent from here on; may be NULL).
 */
struct eg_agent;
struct eg_agent *eg_agent_pipeline_new(const struct eg_run_options *opt, struct eg_sink *sink);
struct eg_ringbuf_reader *eg_agent_reader(struct eg_agent *a);
struct eg_container_table *eg_agent_containers(struct eg_agent *a);
struct eg_ecs_client *eg_agent_ecs(struct eg_agent *a);
struct eg_aggregator *eg_agent_findings(struct eg_agent *a);
/* What the event loop does on every wakeup: drain, emit due findings, ticks, health. */
void eg_agent_periodic(struct eg_agent *a);
/* What shutdown does after the last drain: fold repeats, emit every pending change. */
void eg_agent_shutdown_flush(struct eg_agent *a);
void eg_agent_free(struct eg_agent *a);

#endif
