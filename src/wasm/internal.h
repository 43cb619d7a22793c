/* Internal data structures of the engine shared by the decoder, the
 * validator/translator, the interpreter and the instance code. Nothing here is
 * part of the public API (include/stratus/wasm.h). */
#ifndef STRATUS_WASM_INTERNAL_H
#define STRATUS_WASM_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops.h"
#include "stratus/wasm.h"

struct sw_native_image; /* compiled code of a module (native.c) */
struct sw_native_ctx;   /* an instance's context for it (native_abi.h) */

#define SW_PAGE 65536u
#define SW_MAX_PAGES 65536u
/* Address space reserved for a guarded memory: any i32 address plus any
 * memarg offset plus an 8-byte access ends inside it. */
#define SW_GUARD_RESERVE ((1ull << 33) + SW_PAGE)

/* A function type owned by its module: params then results in `types`. */
struct ftype {
    uint32_t nparams, nresults;
    sw_valtype *types;
};

/* A constant expression, decoded (2.0 allows exactly one instruction). */
enum cexpr_kind { CE_CONST, CE_GLOBAL_GET, CE_REF_NULL, CE_REF_FUNC };
struct cexpr {
    enum cexpr_kind kind;
    uint64_t bits;  /* CE_CONST: value bits */
    uint32_t index; /* CE_GLOBAL_GET / CE_REF_FUNC */
};

struct mod_import {
    char *module, *name;
    size_t module_len, name_len;
    sw_extern_kind kind;
    uint32_t typeidx;   /* funcs */
    sw_externtype type; /* func type arrays point into the module's ftype */
};

struct mod_export {
    char *name;
    size_t name_len;
    sw_extern_kind kind;
    uint32_t index;
};

struct mod_table {
    sw_valtype type;
    uint32_t min, max;
};

struct mod_memory {
    uint32_t min, max;
};

struct mod_global {
    sw_valtype type;
    bool mut;
    struct cexpr init;
};

enum seg_mode { SEG_ACTIVE, SEG_PASSIVE, SEG_DECLARATIVE };

struct mod_elem {
    enum seg_mode mode;
    uint32_t table;
    struct cexpr offset;
    sw_valtype type;
    uint32_t count;
    struct cexpr *items;
};

struct mod_data {
    enum seg_mode mode;
    uint32_t memory;
    struct cexpr offset;
    uint32_t len;
    const uint8_t *bytes; /* points into the module's copy of the binary */
};

/* A translated function body. */
struct fcode {
    uint32_t *ops;
    /* The same function translated for opcode counting: made on first use
     * (sw__module_ensure_counted), so modules that never count pay neither
     * the time nor the memory. */
    _Atomic(uint32_t *) ops_counted;
    size_t nops;
    uint32_t nparams;
    uint32_t nlocals;    /* params + declared locals */
    uint32_t max_height; /* locals + deepest operand stack */
};

struct mod_func {
    uint32_t typeidx;
    struct fcode code;
    size_t body_at, body_len; /* the body in the module's bytes */
};

struct sw_module {
    atomic_int refs;          /* the embedder's handle + one per instance */
    atomic_flag counted_lock; /* held while counting code is being made */
    uint8_t *bytes;           /* private copy of the binary */
    size_t len;
    struct ftype *types;
    uint32_t ntypes;
    struct mod_import *imports;
    uint32_t nimports;
    uint32_t nfunc_imports, ntable_imports, nmem_imports, nglobal_imports;
    /* functions, tables, memories, globals: imports first, then definitions */
    uint32_t *func_types; /* type index per function (imports included) */
    uint32_t nfuncs;
    struct mod_func *funcs; /* defined functions only: index - nfunc_imports */
    struct mod_table *tables;
    uint32_t ntables;
    struct mod_memory *memories;
    uint32_t nmemories;
    struct mod_global *globals; /* imports included (init unused for those) */
    uint32_t nglobals;
    struct mod_export *exports;
    uint32_t nexports;
    int64_t start; /* -1 = none */
    struct mod_elem *elems;
    uint32_t nelems;
    struct mod_data *datas;
    uint32_t ndatas;
    bool has_datacount;
    uint32_t datacount;
    uint8_t *declared_funcs; /* bitmap: functions that ref.func may name */
    /* Compiled code of the module (the compiled tier, native.c): attached
       once, owned by the module, used by instances made after it. */
    _Atomic(struct sw_native_image *) native;
};

/* --- runtime objects ------------------------------------------------- */

/* A linear memory (memory.c). data[0, size) is readable and writable;
 * when guarded, data[size, reserved) is mapped PROT_NONE and data never
 * moves; otherwise reserved == size and growth may move data. */
struct sw_memory_obj {
    uint8_t *data;
    uint64_t size;     /* bytes */
    uint64_t reserved; /* bytes of address space mapped at data */
    uint32_t pages, max;
    uint32_t limit;   /* pages the owner's limits allow */
    uint32_t refused; /* size in pages of the last growth the limit refused; 0 = none */
    bool guarded;
};

struct sw_table_obj {
    sw_valtype type;
    uint32_t size, max;
    uint64_t *elems; /* sw_func* or externref bits; 0 = null */
};

struct sw_global_obj {
    sw_valtype type;
    bool mut;
    uint64_t val;
};

struct sw_func {
    const struct ftype *type; /* owned by the module, or by the linker for host funcs */
    sw_instance *inst;        /* NULL for host functions */
    const struct fcode *code; /* wasm functions */
    sw_host_fn host;
    void *user;
    /* Compiled code (native.c), when the function's instance runs it: the
       typed entry, the instance's context and the uniform entry. These two
       fields follow the five above in the order native_abi.h mirrors. */
    const void *native;
    struct sw_native_ctx *native_ctx;
    void (*native_tramp)(struct sw_native_ctx *c, uint64_t *slots);
};

struct frame {
    const uint32_t *ret_ip;
    const uint32_t *code; /* start of the caller's code: branch targets are relative to it */
    uint64_t *fp;
    sw_instance *inst;
};

/* The execution stack of an instance: value slots and frames. */
struct exec {
    uint64_t *stack, *stack_end, *sp;
    struct frame *frames;
    uint32_t nframes, max_frames;
    sw_trap trap;
    sw_status status; /* why the loop stopped (trap or exit) */
    int exit_code;
    char message[200];
    /* Where the last trap happened: the running function's code and
     * instance (a host function's trap: its wasm caller). */
    const uint32_t *trap_code;
    sw_instance *trap_inst;
    /* Kept by the threaded loop for guard faults (interp_loop.inc): the
       running function's code, its instance and that instance's memory. */
    const uint32_t *cur_code;
    sw_instance *cur_inst;
    const struct sw_memory_obj *cur_mem;
    /* Compiled code (native.c): the index of the compiled function where
       the last trap happened, when it was one (else SW_NO_NATIVE_FUNC: the
       location is trap_code's), and the address of the last guard fault. */
    int64_t trap_func;
    const void *fault_pc;
    /* While compiled code runs on this stack: the range of its code (a kick
       that lands there ends the call), and the thread to kick on an
       interrupt (native_depth > 0; both under kick_lock). */
    const uint8_t *native_lo, *native_hi;
    pthread_t native_thread;
    atomic_int native_depth;
    atomic_flag kick_lock;
};

#define SW_NO_NATIVE_FUNC (-2)

struct sw_instance {
    sw_module *module;
    sw_func *funcs_own;           /* defined functions */
    sw_func **funcs;              /* all functions, imports first */
    struct sw_table_obj **tables; /* all tables */
    struct sw_table_obj *tables_own;
    uint32_t ntables_own;
    struct sw_memory_obj *memory; /* memory 0 or NULL */
    struct sw_memory_obj *memory_own;
    struct sw_global_obj **globals;
    struct sw_global_obj *globals_own;
    uint8_t *data_dropped, *elem_dropped;
    sw_limits limits;
    struct exec ex;
    atomic_bool interrupt;
    /* interrupt || fuel_on: the one word the interpreter's loops and calls
     * test before looking at either */
    atomic_bool attention;
    sw_interrupt_hook hook;
    void *hook_user;
    uint64_t fuel;
    bool fuel_on;
    bool counting;
    uint64_t counts[256];
    uint64_t counts_fc[SW_FC_COUNT];
    struct sw_instance *next_zombie; /* partial instances kept by a linker */
    struct sw_native_ctx *native;    /* when it runs compiled code (native.c) */
};

struct sw_call {
    sw_instance *inst;
    struct exec *ex;
};

/* translate.c: makes the opcode-counting code of every function of m that
 * lacks it. Any thread; SW_OK or SW_ERR_NOMEM. */
sw_status sw__module_ensure_counted(sw_module *m);

/* func_name.c: for trap messages. */
int64_t sw__func_index_of_code(const sw_module *m, const uint32_t *code);
void sw__func_name(const sw_module *m, uint32_t index, char *out, size_t cap);

/* decode.c */
sw_status sw__decode(sw_module *m, sw_error *err);
void sw__set_error(sw_error *err, sw_status st, const char *section, uint64_t offset,
                   const char *reason);

/* translate.c: validates and translates one body into f->code. */
sw_status sw__translate(sw_module *m, uint32_t defidx, const uint8_t *body, size_t len,
                        size_t body_offset, sw_error *err);
bool sw__ftype_equal(const struct ftype *a, const struct ftype *b);

/* interp.c: value conversion, host calls, growth and segment helpers */
uint64_t sw__value_bits(const sw_value *v);
sw_value sw__value_of(sw_valtype type, uint64_t bits);
sw_status sw__call_host(sw_instance *caller, struct exec *ex, sw_func *f, uint64_t *slots);

/* memory.c: a memory of min pages (zeroed, committed on touch) that may
 * grow to max, and no further than limit (refusals are noted in `refused`).
 * SW_OK or SW_ERR_NOMEM; release with sw__memory_release. */
sw_status sw__memory_create(struct sw_memory_obj *m, uint32_t min, uint32_t max, uint32_t limit);
void sw__memory_release(struct sw_memory_obj *m);
/* Old size in pages, or -1 when refused. Cost: one mprotect (or mremap). */
int64_t sw__memory_grow(struct sw_memory_obj *m, uint32_t delta);
/* Set once any memory had to be made without guard regions: from then on
   every call runs in the bounds-checking loop. */
extern atomic_bool sw__guards_failed;

/* guard_fault.c: runs loop (the threaded interpreter) so that a fault in the
 * guard region of the memory it uses becomes an SW_TRAP_MEMORY_OOB trap.
 * *unavailable (nothing ran) when the fault handler or this thread's
 * alternate signal stack could not be set up. */
sw_status sw__guarded_invoke(sw_instance *ctx, sw_func *func, uint64_t *args_results,
                             sw_status (*loop)(sw_instance *, sw_func *, uint64_t *,
                                               const void *const **),
                             bool *unavailable);
/* Around host calls from the threaded loop: faults there are not traps. */
void *sw__guard_suspend(void);
void sw__guard_resume(void *saved);
int64_t sw__table_grow(struct sw_table_obj *t, uint32_t delta, uint64_t init);
sw_trap sw__memory_init(sw_instance *inst, uint32_t seg, uint32_t d, uint32_t s, uint32_t n);
sw_trap sw__table_init(sw_instance *inst, uint32_t seg, uint32_t table, uint32_t d, uint32_t s,
                       uint32_t n);

/* instance.c: value of a constant expression in an instance */
uint64_t sw__eval_cexpr(sw_instance *inst, const struct cexpr *ce);

/* module.c: reference counting shared by modules and their instances */
void sw__module_ref(sw_module *m);

/* interp.c: turns the opcodes of a fast translation into handler distances
 * (direct threading); false if the code is not as the translator makes it. */
bool sw__thread_code(uint32_t *code, size_t n);

/* interp.c: runs func with args at ex->sp; results replace them. */
sw_status sw__invoke(sw_instance *ctx, sw_func *func, uint64_t *args_results);

/* instance.c: runs func on ctx's execution stack with its arguments copied
 * from slots (results written back there), as the embedder's calls do;
 * ex->trap etc. describe a failure. */
sw_status sw__call_on_stack(sw_instance *ctx, sw_func *func, uint64_t *slots);

/* native.c: the compiled tier's side of the engine. */
struct sw_native_image;
/* Gives the instance a context for the module's compiled code when it has
 * some and the instance can run it (memory with guard regions). SW_OK or
 * SW_ERR_NOMEM. */
sw_status sw__native_instance_init(sw_instance *inst);
void sw__native_instance_free(sw_instance *inst);
void sw__native_image_release(struct sw_native_image *img);
/* Runs compiled func (func->native_ctx set) for ctx as sw__invoke does;
 * *unavailable (nothing ran) when this thread cannot take guard faults. */
sw_status sw__native_invoke(sw_instance *ctx, sw_func *func, uint64_t *slots, bool *unavailable);

/* native.c: an interrupt of an instance whose compiled code runs: kicks its
 * thread with SW_KICK_SIGNAL (a signal ignored by default, so a late kick
 * does nothing). */
#define SW_KICK_SIGNAL SIGURG
void sw__native_kick(sw_instance *inst);

/* guard_fault.c: the lowest address of this thread's stack (0 when it
 * cannot be known); faults just below it are stack exhaustion. */
uintptr_t sw__guard_stack_low(void);

/* guard_fault.c: compiled code of `inst` (or of none: NULL) runs on this
 * thread from now on; returns the one that ran before, to be put back when
 * the call returns. A kick that lands outside compiled code while `inst` is
 * interrupted kicks this thread again a millisecond later (a timer of the
 * thread's own, made at its first call), until one lands in compiled code
 * or the call has returned: so no kick is lost in the instructions between
 * the last look at the flag and the jump into compiled code. */
sw_instance *sw__guard_native_running(sw_instance *inst);

/* guard_fault.c, for compiled code: the execution stack of the innermost
 * guarded call of this thread (NULL outside one), and the jump back to that
 * call, which then returns ex->status (set by the caller). */
struct exec *sw__guard_exec(void);
__attribute__((noreturn)) void sw__guard_raise(void);

#endif
