/* The agent's own log: human-readable lines on stderr (stdout carries only findings). */
#ifndef ECSGUARD_LOG_H
#define ECSGUARD_LOG_H

#include <stdbool.h>

enum eg_log_level { EG_LOG_ERROR = 0, EG_LOG_WARN, EG_LOG_INFO, EG_LOG_DEBUG };

void eg_log_set_level(enum eg_log_level level);
/* Parse "error", "warn", "info", "debug"; -1 when unknown. */
int eg_log_level_parse(const char *s);
bool eg_log_verbose(void);
bool eg_log_debug_enabled(void);

void eg_log(enum eg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define eg_log_error(...) eg_log(EG_LOG_ERROR, __VA_ARGS__)
#define eg_log_warn(...) eg_log(EG_LOG_WARN, __VA_ARGS__)
#define eg_log_info(...) eg_log(EG_LOG_INFO, __VA_ARGS__)
#define eg_log_debug(...) eg_log(EG_LOG_DEBUG, __VA_ARGS__)

#endif
