/* Helpers shared by envelope.c and module_data.c (internal to the protocol
 * library): error formatting and the checked read of one string field. */
#ifndef STRATUS_PROTO_ENVELOPE_UTIL_H
#define STRATUS_PROTO_ENVELOPE_UTIL_H

#include <jansson.h>

/* Format an error message into err (ENVELOPE_ERR_LEN bytes, may be NULL);
 * always returns -1 so callers can `return envelope_fail(...)`. */
int envelope_fail(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Read obj[field] as a string into *out. A missing (or, when optional, null)
 * field leaves *out NULL and is an error only if required; error messages
 * name the field as prefix + field, e.g. "channels[0]." + "mode". */
int envelope_string_field(json_t *obj, const char *prefix, const char *field, int required,
                          const char **out, char *err);

#endif
