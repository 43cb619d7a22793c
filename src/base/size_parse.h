/* Sizes on command lines and in configuration ("64M", "2500K", "1G"): one
 * rule for the manager's and the orchestrator's flags. */
#ifndef STRATUS_BASE_SIZE_PARSE_H
#define STRATUS_BASE_SIZE_PARSE_H

#include <stdint.h>

/* Bytes as decimal digits with an optional K, M or G suffix (powers of
 * 1024, either case), at most 1 TiB. Returns 0 with *out, or -1 (empty, a
 * sign, other characters, too large). Callers check their own minimum. */
int size_parse(const char *text, uint64_t *out);

#endif
