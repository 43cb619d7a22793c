/* Stratus WebAssembly engine: the public embedding API.
 *
 * The engine decodes and validates WebAssembly 2.0 core modules (without
 * SIMD), links them against host definitions and other instances, and runs
 * them in an interpreter. This header is the whole contract between the engine
 * and its embedders (the spec-test runner, WASI, the runtimes); it only ever
 * grows by addition.
 *
 * Conventions:
 * - every function that can fail returns an sw_status (SW_OK = 0) and writes
 *   its results through out-parameters; an optional sw_error* receives the
 *   details (pass NULL when not wanted);
 * - ownership: whoever creates an object with *_new / sw_module_load frees it
 *   with the matching *_free. Borrowed pointers returned by getters live as
 *   long as the object they came from.
 * - threads: no global mutable state. Independent instances may run on
 *   different threads at once; one instance (and the instances linked to it)
 *   is used by one thread at a time, except sw_instance_interrupt, which any
 *   thread may call at any time. */
#ifndef STRATUS_WASM_H
#define STRATUS_WASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Status, traps and errors
 * ---------------------------------------------------------------------- */

typedef enum sw_status {
    SW_OK = 0,
    SW_ERR_MALFORMED,  /* bytes are not a well-formed binary module */
    SW_ERR_INVALID,    /* well-formed but fails validation */
    SW_ERR_UNLINKABLE, /* an import is missing or has an incompatible type */
    SW_ERR_TRAP,       /* execution trapped (see sw_error.trap) */
    SW_ERR_EXIT,       /* a host function requested exit (see sw_error.exit_code) */
    SW_ERR_NOMEM,      /* an allocation failed */
    SW_ERR_ARG,        /* bad argument from the embedder (wrong count/type, NULL) */
    SW_ERR_NOT_FOUND,  /* no export / definition of that name and kind */
    SW_ERR_LIMIT,      /* over a limit of sw_limits (e.g. a memory larger than the cap) */
    SW_ERR_IO,         /* a module file could not be read (see sw_module_load_file) */
} sw_status;

typedef enum sw_trap {
    SW_TRAP_NONE = 0,
    SW_TRAP_UNREACHABLE,            /* "unreachable" */
    SW_TRAP_MEMORY_OOB,             /* "out of bounds memory access" */
    SW_TRAP_TABLE_OOB,              /* "out of bounds table access" */
    SW_TRAP_DIV_ZERO,               /* "integer divide by zero" */
    SW_TRAP_INT_OVERFLOW,           /* "integer overflow" */
    SW_TRAP_INVALID_CONVERSION,     /* "invalid conversion to integer" */
    SW_TRAP_INDIRECT_TYPE_MISMATCH, /* "indirect call type mismatch" */
    SW_TRAP_UNDEFINED_ELEMENT,      /* "undefined element" */
    SW_TRAP_UNINITIALIZED_ELEMENT,  /* "uninitialized element" */
    SW_TRAP_NULL_REFERENCE,         /* "null reference" */
    SW_TRAP_STACK_EXHAUSTED,        /* "call stack exhausted" */
    SW_TRAP_INTERRUPTED,            /* "interrupted" */
    SW_TRAP_OUT_OF_FUEL,            /* "out of fuel" */
    SW_TRAP_HOST,                   /* a host function trapped; message is its text */
} sw_trap;

/* The spec's wording for a trap kind ("integer divide by zero", ...). */
const char *sw_trap_message(sw_trap trap);

/* Details of a failure. Fixed size, no allocation: keep it on the stack.
 * For load errors `section` names the section ("type", "code", ... or
 * "header"), `offset` is the byte offset in the module and `reason` the
 * spec's wording ("unexpected end", "type mismatch", "unknown local", ...).
 * `message` is always a complete human-readable line, e.g.
 * "code section, offset 0x2a: type mismatch" or "integer divide by zero".
 * For traps, `reason` and `message` both start with the trap's spec wording. */
typedef struct sw_error {
    sw_status status;
    sw_trap trap;     /* SW_ERR_TRAP only */
    int exit_code;    /* SW_ERR_EXIT only */
    char section[16]; /* load errors: section name; else "" */
    uint64_t offset;  /* load errors: byte offset of the problem */
    char reason[128];
    char message[256];
    /* SW_ERR_TRAP only: the index of the function that was running (for a
     * trap in a host function, the wasm function that called it), or -1 when
     * none was (e.g. a trap while instantiating segments); and its name: its
     * export name, else the module's "name" section's, else "". */
    int64_t func_index;
    char func_name[64];
} sw_error;

/* Where a trap happened, for messages: "in function 'NAME', func[N]",
 * "in func[N]" without a name, or "" when err says nothing of it (not a
 * trap, or no function was running). Always NUL-terminates out. */
void sw_error_trap_location(const sw_error *err, char *out, size_t cap);

/* err->message followed by " (" location ")" when sw_error_trap_location
 * gives one: the line to show a user. Always NUL-terminates out. */
void sw_error_describe(const sw_error *err, char *out, size_t cap);

/* ------------------------------------------------------------------------
 * Types and values
 * ---------------------------------------------------------------------- */

/* Value types carry their binary encoding. */
typedef enum sw_valtype {
    SW_I32 = 0x7F,
    SW_I64 = 0x7E,
    SW_F32 = 0x7D,
    SW_F64 = 0x7C,
    SW_FUNCREF = 0x70,
    SW_EXTERNREF = 0x6F,
} sw_valtype;

/* A function instance (wasm or host). Opaque; a funcref value is a pointer to
 * one, or NULL for the null reference. Owned by its instance or linker. */
typedef struct sw_func sw_func;

/* A tagged value. f32/f64 share storage with i32/i64, so the exact bits of a
 * float (including NaN payloads) are of.i32 / of.i64; use those to pass NaNs
 * bit-exactly. funcref: of.ref is an sw_func* or NULL. externref: of.ref is
 * any pointer-sized host value, NULL being the null reference (a host that
 * wants to pass the integer 0 must encode it, e.g. as N+1). */
typedef struct sw_value {
    sw_valtype type;
    union {
        int32_t i32;
        int64_t i64;
        float f32;
        double f64;
        void *ref;
    } of;
} sw_value;

/* A function type: params and results point into storage owned by whoever
 * produced the struct (the module, the engine, or the embedder's own arrays). */
typedef struct sw_functype {
    uint32_t nparams, nresults;
    const sw_valtype *params;
    const sw_valtype *results;
} sw_functype;

#define SW_NO_MAX UINT32_MAX /* "no maximum" in limits */

typedef enum sw_extern_kind {
    SW_EXTERN_FUNC = 0,
    SW_EXTERN_TABLE = 1,
    SW_EXTERN_MEMORY = 2,
    SW_EXTERN_GLOBAL = 3,
} sw_extern_kind;

/* The type of an import or export. max is SW_NO_MAX when absent. */
typedef struct sw_externtype {
    sw_extern_kind kind;
    union {
        sw_functype func;
        struct {
            sw_valtype reftype;
            uint32_t min, max;
        } table;
        struct {
            uint32_t min, max; /* in 64 KiB pages */
        } memory;
        struct {
            sw_valtype type;
            bool mutable_;
        } global;
    } of;
} sw_externtype;

/* ------------------------------------------------------------------------
 * Modules
 * ---------------------------------------------------------------------- */

typedef struct sw_module sw_module;

/* Decodes and validates `len` bytes. The bytes are copied as needed; the
 * caller keeps ownership of `bytes`. On success *out is a new module the
 * caller frees with sw_module_free. Returns SW_ERR_MALFORMED / SW_ERR_INVALID
 * (with details in *err) for bad modules; "SIMD not supported" is reported as
 * SW_ERR_INVALID. */
sw_status sw_module_load(const uint8_t *bytes, size_t len, sw_module **out, sw_error *err);

/* Reads the file at `path` and loads it as sw_module_load does. Every
 * failure's err->message starts with the path and says plainly what is
 * wrong: "PATH: cannot read: No such file or directory", "PATH: is a
 * directory, not a WebAssembly module file", "PATH: magic header not
 * detected: this looks like WebAssembly text (.wat), ...", "PATH: type
 * mismatch (code section, offset 0x2a)". SW_ERR_IO when the file cannot be
 * read, else as sw_module_load. */
sw_status sw_module_load_file(const char *path, sw_module **out, sw_error *err);

/* The same for an open file descriptor (not closed; read with pread from
 * offset 0); `name` is what messages call the file ("" for none). */
sw_status sw_module_load_fd(int fd, const char *name, sw_module **out, sw_error *err);

/* Frees a module. Instances made from it must be freed first. NULL is fine. */
void sw_module_free(sw_module *module);

/* Imports, in module order. Names are NUL-terminated copies (a name holding a
 * NUL byte is cut there; *_len gives the full length). Pointers in the result
 * live as long as the module. */
typedef struct sw_import {
    const char *module;
    size_t module_len;
    const char *name;
    size_t name_len;
    sw_externtype type;
} sw_import;

uint32_t sw_module_import_count(const sw_module *module);
sw_status sw_module_import(const sw_module *module, uint32_t index, sw_import *out);

typedef struct sw_export {
    const char *name;
    size_t name_len;
    sw_extern_kind kind;
    sw_externtype type;
} sw_export;

uint32_t sw_module_export_count(const sw_module *module);
sw_status sw_module_export(const sw_module *module, uint32_t index, sw_export *out);

/* ------------------------------------------------------------------------
 * Host functions and the call context
 * ---------------------------------------------------------------------- */

typedef struct sw_instance sw_instance;

/* What a host function sees of its caller. Valid only during the callback. */
typedef struct sw_call sw_call;

/* A host function. args holds type->nparams values, results has room for
 * type->nresults values, which the callback must fill (with the right types).
 * Return SW_OK, or the result of sw_call_trap / sw_call_exit. */
typedef sw_status (*sw_host_fn)(sw_call *call, void *user, const sw_value *args, sw_value *results);

/* The instance whose code made the call (the instance passed to sw_func_call
 * when the embedder called the host function directly). */
sw_instance *sw_call_instance(sw_call *call);

/* Memory 0 of the calling instance: base and size in bytes. Both change when
 * the memory grows, so read them again after anything that may grow it.
 * Returns SW_ERR_NOT_FOUND when the instance has no memory. */
sw_status sw_call_memory(sw_call *call, uint8_t **base, uint64_t *size);

/* Makes the call trap with `message` (copied). Returns SW_ERR_TRAP, which the
 * callback returns. */
sw_status sw_call_trap(sw_call *call, const char *message);

/* Makes execution unwind with an exit request (WASI proc_exit): the
 * embedder's call returns SW_ERR_EXIT with err->exit_code = code. Returns
 * SW_ERR_EXIT, which the callback returns. */
sw_status sw_call_exit(sw_call *call, int code);

/* ------------------------------------------------------------------------
 * Linker: the definitions imports resolve against
 * ---------------------------------------------------------------------- */

typedef struct sw_linker sw_linker;

sw_status sw_linker_new(sw_linker **out);

/* Frees the linker, its host definitions, and any instance whose
 * instantiation trapped through it (see sw_instance_new). Instances created
 * with the linker may share its host memories/tables/globals and must be
 * freed first. NULL is fine. */
void sw_linker_free(sw_linker *linker);

/* Defines a host function. The type arrays are copied; `user` is passed to
 * every call and stays owned by the caller. A later definition of the same
 * module/name/kind replaces the earlier one. */
sw_status sw_linker_define_func(sw_linker *linker, const char *module, const char *name,
                                const sw_functype *type, sw_host_fn fn, void *user);

/* Defines a host global of `value.type` with its initial value. */
sw_status sw_linker_define_global(sw_linker *linker, const char *module, const char *name,
                                  bool mutable_, sw_value value);

/* Defines a host memory of `min` pages (zeroed); max may be SW_NO_MAX. Every
 * instance importing it shares it. */
sw_status sw_linker_define_memory(sw_linker *linker, const char *module, const char *name,
                                  uint32_t min, uint32_t max);

/* Defines a host table of `reftype` (SW_FUNCREF / SW_EXTERNREF), `min`
 * elements initialised to null; max may be SW_NO_MAX. */
sw_status sw_linker_define_table(sw_linker *linker, const char *module, const char *name,
                                 sw_valtype reftype, uint32_t min, uint32_t max);

/* Makes every export of `instance` importable under `module` (the spec
 * `register` command, and linking instances together). The instance must
 * outlive every instance that imports from it. */
sw_status sw_linker_define_instance(sw_linker *linker, const char *module, sw_instance *instance);

/* ------------------------------------------------------------------------
 * Instances
 * ---------------------------------------------------------------------- */

/* Per-instance limits. Get defaults from sw_limits_default, then adjust. */
typedef struct sw_limits {
    uint32_t max_memory_pages; /* cap on the memory this instance defines, growth included
                                  (an imported memory keeps its owner's cap); default
                                  65536, i.e. none. A module whose minimum is over it
                                  fails to instantiate with SW_ERR_LIMIT; memory.grow
                                  past it returns -1 (see sw_instance_limit_note) */
    uint32_t max_call_depth;   /* wasm frames; deeper -> "call stack exhausted" */
    uint32_t stack_slots;      /* value-stack size in 8-byte slots */
    uint64_t fuel;             /* 0 = unlimited; else units (one per call and per
                                  backward jump, i.e. loop iteration) before "out of fuel" */
} sw_limits;

void sw_limits_default(sw_limits *limits);

/* Instantiates `module`: resolves imports against `linker` (may be NULL when
 * there are none), creates globals/tables/memories, applies element and data
 * segments, runs the start function. `limits` may be NULL for defaults.
 * Returns SW_ERR_UNLINKABLE ("unknown import ...", "incompatible import
 * type ...") when imports do not match (nothing was changed), SW_ERR_TRAP
 * when a segment or the start function trapped. After a trap, imported tables
 * and memories may already have been written (as the spec says), so the
 * partial instance is kept alive by the linker (freed with it) and *out is
 * NULL. On success the caller owns *out (free with sw_instance_free). */
sw_status sw_instance_new(const sw_module *module, sw_linker *linker, const sw_limits *limits,
                          sw_instance **out, sw_error *err);

/* Linear memory: every memory is reserved up front (with guard regions where
 * the address space allows: 8 GiB per memory, so that loads and stores need
 * no bounds check) and its pages are committed only when first touched, so a
 * module declaring 65,536 pages costs what it uses. memory.grow changes
 * protection; the base address of a guarded memory never moves. */

/* Why the instance may have run short of memory: when a memory.grow of its
 * memory was refused by sw_limits.max_memory_pages (not by the module's own
 * maximum), "memory.grow to N pages refused: limit M pages"; else "".
 * Always NUL-terminates out. For exit reasons. */
void sw_instance_limit_note(const sw_instance *instance, char *out, size_t cap);

/* Frees an instance. Free instances that import from it first. NULL is fine. */
void sw_instance_free(sw_instance *instance);

/* The tier the instance runs in: true when its calls run compiled code (its
 * module had compiled code attached when it was made, see
 * include/stratus/aot.h, its memory has guard regions, and neither fuel nor
 * opcode counting is on: those two are the interpreter's only), false when
 * they run in the interpreter. */
bool sw_instance_native(const sw_instance *instance);

/* The module the instance was made from. */
const sw_module *sw_instance_module(const sw_instance *instance);

/* Finds an exported function; *out lives as long as the instance. */
sw_status sw_instance_find_func(sw_instance *instance, const char *name, sw_func **out);

/* Like sw_instance_find_func for a name of `len` bytes that may contain NUL
 * bytes (wasm names may). */
sw_status sw_instance_find_func_n(sw_instance *instance, const char *name, size_t len,
                                  sw_func **out);

/* The type of a function; the arrays live as long as the function. */
void sw_func_type(const sw_func *func, sw_functype *out);

/* Calls `func` with `nargs` args (types must match exactly) on the execution
 * stack of `instance` (the instance whose limits, fuel and interrupt flag
 * apply; normally the one func came from). On success writes nresults values
 * (nresults must equal the function's result count). */
sw_status sw_func_call(sw_instance *instance, sw_func *func, const sw_value *args, size_t nargs,
                       sw_value *results, size_t nresults, sw_error *err);

/* Shorthand: find the export `name` and call it on its own instance. */
sw_status sw_instance_call(sw_instance *instance, const char *name, const sw_value *args,
                           size_t nargs, sw_value *results, size_t nresults, sw_error *err);

/* Reads an exported global. */
sw_status sw_instance_global_get(sw_instance *instance, const char *name, sw_value *out);

/* Sets an exported mutable global (SW_ERR_ARG if immutable or wrong type). */
sw_status sw_instance_global_set(sw_instance *instance, const char *name, sw_value value);

/* An exported memory by name, or memory 0 when name is NULL: base and size in
 * bytes, valid until the memory grows. */
sw_status sw_instance_memory(sw_instance *instance, const char *name, uint8_t **base,
                             uint64_t *size);

/* ------------------------------------------------------------------------
 * Interruption, fuel, opcode counting
 * ---------------------------------------------------------------------- */

/* Asks the running code of `instance` to stop: it traps with
 * SW_TRAP_INTERRUPTED at the next loop iteration or call (within
 * milliseconds). Safe from any thread, also when nothing runs; the flag stays
 * set (later calls trap at once) until sw_instance_clear_interrupt. Calls the
 * interrupt hook, if any, from the calling thread. */
void sw_instance_interrupt(sw_instance *instance);

/* Clears the interrupt flag so the instance can run again. */
void sw_instance_clear_interrupt(sw_instance *instance);

/* A hook run by sw_instance_interrupt on the interrupting thread, e.g. to wake
 * a blocking host call. NULL fn removes it. */
typedef void (*sw_interrupt_hook)(void *user);
void sw_instance_set_interrupt_hook(sw_instance *instance, sw_interrupt_hook fn, void *user);

/* Fuel: sets the remaining units (0 = unlimited) / reads them. */
void sw_instance_set_fuel(sw_instance *instance, uint64_t fuel);
uint64_t sw_instance_fuel(const sw_instance *instance);

/* Opcode counting: when on, every executed instruction adds one to the
 * counter of its first opcode byte (0xFC-prefixed ones count under 0xFC).
 * Off by default; when off the interpreter pays nothing for it. The first
 * time a module counts, its functions are translated once more for it:
 * SW_OK, or SW_ERR_NOMEM (counting stays off). */
sw_status sw_instance_set_counting(sw_instance *instance, bool on);

/* Copies the 256 counters into counts (accumulated since the last reset). */
void sw_instance_counts(const sw_instance *instance, uint64_t counts[256]);

/* The 0xFC-prefixed instructions, counted by sub-opcode too (their sum is
 * counts[0xFC] of sw_instance_counts). */
#define SW_FC_COUNT 18 /* sub-opcodes 0 (i32.trunc_sat_f32_s) .. 17 (table.fill) */
void sw_instance_counts_fc(const sw_instance *instance, uint64_t counts[SW_FC_COUNT]);

/* An opcode as the two functions below take it: the byte, or for an
 * 0xFC-prefixed instruction SW_OPCODE_FC(sub-opcode). */
#define SW_OPCODE_FC(sub) (0xFC00u | (uint32_t)(sub))

/* The text-format name of a WebAssembly opcode ("i32.add", "br_table",
 * "memory.copy" for SW_OPCODE_FC(10)), or NULL when no such opcode exists (or
 * this engine does not know it: SIMD). */
const char *sw_opcode_name(uint32_t opcode);
void sw_instance_reset_counts(sw_instance *instance);

#ifdef __cplusplus
}
#endif

#endif
