/* The interface between the engine and compiled code (the compiled tier,
 * docs/engine.md): what a compiled module's shared object exports, what each
 * instance's context gives compiled functions, and the helpers they call
 * back into the engine for. This one file is both a header of the engine
 * (native.c) and, copied verbatim, the first part of every generated C file
 * (src/aot/c_emit.c), so the two sides cannot disagree; native.c checks that
 * the mirrors below match the engine's own structures.
 *
 * Self-contained on purpose: freestanding headers only, no engine types. */
#ifndef STRATUS_NATIVE_ABI_H
#define STRATUS_NATIVE_ABI_H

#include <stdint.h>

/* Bumped on any change of this file's structures or of their meaning. */
#define SW_NATIVE_ABI_VERSION 1

/* The name of the one symbol an artifact exports: a struct sw_native_module. */
#define SW_NATIVE_SYMBOL "stratus_native_module"

struct sw_native_ctx;

/* Mirrors of the engine's objects, only the fields compiled code reads. */
struct sw_native_memory { /* struct sw_memory_obj */
    uint8_t *data;
    uint64_t size;
    uint64_t reserved;
    uint32_t pages;
};

struct sw_native_table { /* struct sw_table_obj */
    uint32_t type;
    uint32_t size, max;
    uint64_t *elems; /* struct sw_native_func * or externref bits; 0 = null */
};

struct sw_native_func { /* struct sw_func */
    const void *type;
    void *inst;
    const void *code;
    void *host;
    void *user;
    /* When the function is compiled code of an instance that runs it: its
       typed entry and that instance's context (else both NULL). */
    const void *native;
    struct sw_native_ctx *native_ctx;
};

/* Helpers compiled code calls; `func` is always the calling function's index
 * (imports included), for the trap's location. Arguments and results travel
 * in `slots` as the interpreter keeps them: i32 zero-extended, floats as
 * their bits, references as pointers. Every helper that returns first looks
 * at the instance's interrupt flag (and traps when it is set): compiled code
 * itself never does (an interrupt reaches it as a signal, native.c). */
struct sw_native_rt {
    /* Ends the call with a trap of kind `trap` (an sw_trap). */
    __attribute__((noreturn)) void (*trap)(struct sw_native_ctx *c, uint32_t trap, uint32_t func);
    /* "uninitialized element N": call_indirect of a null table entry. */
    __attribute__((noreturn)) void (*trap_uninitialized)(struct sw_native_ctx *c, uint32_t index,
                                                         uint32_t func);
    /* Calls function `index` of the instance (an import: host or another
       instance), or function object `f` (call_indirect to anything but this
       instance's compiled code). */
    void (*call_index)(struct sw_native_ctx *c, uint32_t index, uint64_t *slots, uint32_t func);
    void (*call_ref)(struct sw_native_ctx *c, struct sw_native_func *f, uint64_t *slots,
                     uint32_t func);
    /* 1 when two function types are the same (structurally). */
    int (*type_equal)(struct sw_native_ctx *c, const void *a, const void *b, uint32_t func);
    uint32_t (*memory_grow)(struct sw_native_ctx *c, uint32_t delta, uint32_t func);
    void (*memory_fill)(struct sw_native_ctx *c, uint32_t d, uint32_t value, uint32_t n,
                        uint32_t func);
    void (*memory_copy)(struct sw_native_ctx *c, uint32_t d, uint32_t s, uint32_t n, uint32_t func);
    void (*memory_init)(struct sw_native_ctx *c, uint32_t seg, uint32_t d, uint32_t s, uint32_t n,
                        uint32_t func);
    void (*data_drop)(struct sw_native_ctx *c, uint32_t seg, uint32_t func);
    uint32_t (*table_grow)(struct sw_native_ctx *c, uint32_t table, uint64_t init, uint32_t n,
                           uint32_t func);
    void (*table_fill)(struct sw_native_ctx *c, uint32_t table, uint32_t i, uint64_t value,
                       uint32_t n, uint32_t func);
    void (*table_copy)(struct sw_native_ctx *c, uint32_t dt, uint32_t st, uint32_t d, uint32_t s,
                       uint32_t n, uint32_t func);
    void (*table_init)(struct sw_native_ctx *c, uint32_t table, uint32_t seg, uint32_t d,
                       uint32_t s, uint32_t n, uint32_t func);
    void (*elem_drop)(struct sw_native_ctx *c, uint32_t seg, uint32_t func);
};

/* One per instance that runs compiled code; made and owned by the engine. */
struct sw_native_ctx {
    uint8_t *mem;                    /* memory 0's base (guarded: it never moves), or NULL */
    struct sw_native_memory *memory; /* memory 0, or NULL */
    uint64_t **globals;              /* the value of every global, imports first */
    struct sw_native_table **tables;
    struct sw_native_func **funcs; /* every function, imports first */
    const void *const *types;      /* the module's function types, by type index */
    const struct sw_native_rt *rt;
    void *instance; /* the sw_instance */
};

/* The entry the engine calls a compiled function through: arguments in
 * slots[0..nparams), results written to slots[0..nresults). */
typedef void (*sw_native_trampoline)(struct sw_native_ctx *c, uint64_t *slots);

/* What an artifact exports under SW_NATIVE_SYMBOL. */
struct sw_native_module {
    uint32_t abi;    /* SW_NATIVE_ABI_VERSION */
    uint32_t nfuncs; /* defined functions (imports excluded) */
    uint8_t module_sha256[32];
    const void *const *entries; /* typed entry of each defined function */
    const sw_native_trampoline *trampolines;
};

#endif
