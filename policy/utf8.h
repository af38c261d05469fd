/*
 * Well-formed UTF-8 (RFC 3629), strictly: no overlong forms, no surrogates, nothing above
 * U+10FFFF. json-c's own check (JSON_TOKENER_VALIDATE_UTF8) lets overlong forms through
 * ("\xc1\xae" for '.'); libyaml, which reads task definitions, refuses them. A reader whose
 * text goes on into a task definition (the inventory's paths, through `ecsguard advise`)
 * holds it to the stricter rule.
 */
#ifndef ECSGUARD_UTF8_H
#define ECSGUARD_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Length (1-4) of the well-formed UTF-8 sequence at s, or 0 when ill-formed or cut short by
 * `avail` (at least 1). The one definition: the agent's sanitizers (agent/common/json_text.c,
 * the CloudWatch batcher) replace what it refuses with U+FFFD.
 */
size_t eg_utf8_seq_len(const unsigned char *s, size_t avail);

/* Whether all `len` bytes at s are well-formed UTF-8 (NUL included: the caller's business). */
bool eg_utf8_valid(const char *s, size_t len);

#endif
