/* The compiled tier's translator: a validated module as one C file that the
 * system C compiler turns into an artifact (native_abi.h says what the file
 * exports and what it may call). Internal to src/aot. */
#ifndef STRATUS_AOT_C_EMIT_H
#define STRATUS_AOT_C_EMIT_H

#include <stddef.h>
#include <stdint.h>

#include "stratus/wasm.h"

/* The version of the translation: part of every cache key, so changing what
 * the emitter writes (or the prelude) makes old artifacts unused. Generated
 * at build time from the hash of the emitter's sources (c_emit_id.h). */
extern const char aot_emitter_id[];

/* Writes the C text of `module` (which must have loaded, i.e. validated),
 * whose bytes hash to `sha256`, into *text (malloc'd, NUL-terminated, the
 * caller frees it) and *len. SW_OK, SW_ERR_NOMEM, or SW_ERR_INVALID with
 * `why` when the body holds something the translator does not know (never
 * for a module the engine loaded). Cost: linear in the module's size. */
sw_status aot_emit_c(const sw_module *module, const uint8_t sha256[32], char **text, size_t *len,
                     char *why, size_t cap);

#endif
