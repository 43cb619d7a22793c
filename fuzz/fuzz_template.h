/* Shared by fuzz targets that build JSON from a template: the pieces of the
 * input go into the template's holes, so that field checks are reached
 * without the fuzzer first having to invent the field names. */
#ifndef STRATUS_FUZZ_TEMPLATE_H
#define STRATUS_FUZZ_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

/* Join the pieces of `in` (separated by byte 0x01) into the `@` holes of
 * tpl; holes left over stay empty. Returns the text (malloc'd, not
 * NUL-terminated) and its length in *len; aborts on OOM. */
char *fuzz_fill_template(const char *tpl, const uint8_t *in, size_t n, size_t *len);

#endif
