/*
 * The agent's health counters as one CloudWatch Embedded Metric Format
 * record: a JSON log line with an "_aws" member that CloudWatch turns into
 * metrics in namespace "ecsguard" when it lands in the log stream, so health
 * metrics need no extra API call or permission.
 */
#ifndef ECSGUARD_EMF_H
#define ECSGUARD_EMF_H

#include <stdint.h>

struct json_object;

#define EG_EMF_NAMESPACE "ecsguard"
#define EG_EMF_MAX_METRICS_PER_DIRECTIVE 100
#define EG_EMF_MAX_DIMENSIONS 9

/*
 * counters: object of metric name → number (non-numeric and non-finite
 * members are skipped). dimensions: object of name → string (e.g.
 * {"ClusterName": "prod"}), or NULL for none; at most 9. Units follow the
 * name: *_bytes → Bytes, *_pct / *_percent → Percent, *_ms → Milliseconds,
 * else Count. Returns a malloc'd single-line JSON record, or NULL when there
 * is no metric or too many dimensions.
 */
char *eg_emf_record(struct json_object *counters, struct json_object *dimensions, uint64_t ts_ms);

#endif
