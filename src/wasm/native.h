/* The engine's hooks for the compiled tier (src/aot): attaching a module's
 * compiled code, which then runs every instance made from the module
 * afterwards (native.c). Internal to Stratus; embedders use
 * include/stratus/aot.h. */
#ifndef STRATUS_WASM_NATIVE_H
#define STRATUS_WASM_NATIVE_H

#include "internal.h"
#include "native_abi.h"

/* Compiled code in memory, as a loader made it. */
struct sw_native_image {
    const struct sw_native_module *desc;
    void *handle; /* the loader's, passed back below */
    /* The index of the function (imports included) whose code holds pc, or
       -1: where a guard fault happened. */
    int64_t (*func_at)(void *handle, const void *pc);
    void (*release)(void *handle);    /* frees the code */
    const uint8_t *code_lo, *code_hi; /* where the executable code lies */
};

/* Attaches img to m when it was made for it: the ABI version, the count of
 * functions and the module's SHA-256 (`sha256`, as the caller computed it)
 * must match. On SW_OK the module owns a copy of *img (released with the
 * module); else *img stays the caller's and `why` says what did not match.
 * A module takes compiled code once: a second attach fails with SW_ERR_ARG.
 * Any thread; instances already made keep running as they were. */
sw_status sw__module_attach_native(sw_module *m, const struct sw_native_image *img,
                                   const uint8_t sha256[32], char *why, size_t cap);

/* Whether m has compiled code attached. */
bool sw__module_has_native(const sw_module *m);

/* The module's own copy of its bytes (for hashing and emission). */
const uint8_t *sw__module_bytes(const sw_module *m, size_t *len);

#endif
