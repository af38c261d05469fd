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

bool eg_utf8_valid(const char *s, size_t len);

#endif
