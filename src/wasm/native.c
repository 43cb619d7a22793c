/* The engine's side of the compiled tier: a module's compiled code (made by
 * src/aot from the validated module, one C function per wasm function) is
 * attached to the module; each instance made afterwards gets a context
 * (native_abi.h) through which its compiled functions reach its memory,
 * globals, tables and functions, and the helpers below for what they do not
 * do inline (traps, imports, growth, bulk operations).
 *
 * The guarantees are the interpreter's: compiled code runs inside a guarded
 * call (guard_fault.c), so an access past the memory faults in the guard
 * region and becomes "out of bounds memory access"; every other trap calls
 * rt_trap, which records it and jumps back to the guarded call; host
 * functions run with guard faults off; a function whose frame would reach
 * the end of the thread's stack traps with "call stack exhausted" instead of
 * overflowing it; loop headers and function entries test the instance's
 * attention flag, so an interrupt ends even `while(1);`. Fuel and opcode
 * counting are the interpreter's only (sw__invoke runs the interpreter when
 * either is on). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"

/* The mirrors of native_abi.h must be the engine's structures. */
#define SAME_FIELD(a, fa, b, fb)                                                                   \
    _Static_assert(offsetof(a, fa) == offsetof(b, fb) &&                                           \
                       sizeof(((a *)0)->fa) == sizeof(((b *)0)->fb),                               \
                   #a "." #fa " is not mirrored")
SAME_FIELD(struct sw_memory_obj, data, struct sw_native_memory, data);
SAME_FIELD(struct sw_memory_obj, size, struct sw_native_memory, size);
SAME_FIELD(struct sw_memory_obj, reserved, struct sw_native_memory, reserved);
SAME_FIELD(struct sw_memory_obj, pages, struct sw_native_memory, pages);
SAME_FIELD(struct sw_table_obj, type, struct sw_native_table, type);
SAME_FIELD(struct sw_table_obj, size, struct sw_native_table, size);
SAME_FIELD(struct sw_table_obj, max, struct sw_native_table, max);
SAME_FIELD(struct sw_table_obj, elems, struct sw_native_table, elems);
SAME_FIELD(struct sw_func, type, struct sw_native_func, type);
SAME_FIELD(struct sw_func, inst, struct sw_native_func, inst);
SAME_FIELD(struct sw_func, code, struct sw_native_func, code);
SAME_FIELD(struct sw_func, host, struct sw_native_func, host);
SAME_FIELD(struct sw_func, user, struct sw_native_func, user);
SAME_FIELD(struct sw_func, native, struct sw_native_func, native);
SAME_FIELD(struct sw_func, native_ctx, struct sw_native_func, native_ctx);
_Static_assert(sizeof(atomic_bool) == 1, "the attention flag is read as a byte");

/* Room left on the thread's stack below the deepest compiled frame, for the
 * helpers and host functions it calls (WASI keeps its buffers small). */
#define STACK_MARGIN (256 * 1024)

/* --- attaching ----------------------------------------------------------- */

sw_status sw__module_attach_native(sw_module *m, const struct sw_native_image *img,
                                   const uint8_t sha256[32], char *why, size_t cap)
{
    const struct sw_native_module *d = img->desc;
    if (!d || d->abi != SW_NATIVE_ABI_VERSION) {
        snprintf(why, cap, "made for another engine version (ABI %u, this engine %u)",
                 d ? d->abi : 0, SW_NATIVE_ABI_VERSION);
        return SW_ERR_ARG;
    }
    if (d->nfuncs != m->nfuncs - m->nfunc_imports || memcmp(d->module_sha256, sha256, 32)) {
        snprintf(why, cap, "made from another module");
        return SW_ERR_ARG;
    }
    for (uint32_t i = 0; i < d->nfuncs; i++)
        if (!d->entries[i] || !d->trampolines[i]) {
            snprintf(why, cap, "function %u has no code", i);
            return SW_ERR_ARG;
        }
    struct sw_native_image *own = malloc(sizeof *own);
    if (!own) {
        snprintf(why, cap, "out of memory");
        return SW_ERR_NOMEM;
    }
    *own = *img;
    struct sw_native_image *none = NULL;
    if (!atomic_compare_exchange_strong(&m->native, &none, own)) {
        free(own);
        snprintf(why, cap, "the module has compiled code already");
        return SW_ERR_ARG;
    }
    return SW_OK;
}

bool sw__module_has_native(const sw_module *m)
{
    return atomic_load(&((sw_module *)m)->native) != NULL;
}

const uint8_t *sw__module_bytes(const sw_module *m, size_t *len)
{
    *len = m->len;
    return m->bytes;
}

void sw__native_image_release(struct sw_native_image *img)
{
    if (!img) return;
    if (img->release) img->release(img->handle);
    free(img);
}

bool sw_instance_native(const sw_instance *instance)
{
    return instance && instance->native && !instance->fuel_on && !instance->counting;
}

/* --- the helpers compiled code calls ------------------------------------ */

static sw_instance *inst_of(struct sw_native_ctx *c)
{
    return c->instance;
}

/* The execution stack of the running call (guarded: compiled code only runs
 * inside one). */
static struct exec *running_exec(void)
{
    return sw__guard_exec();
}

static __attribute__((noreturn)) void raise_trap(struct sw_native_ctx *c, sw_trap trap,
                                                 uint32_t func, const char *message)
{
    struct exec *ex = running_exec();
    ex->trap = trap;
    ex->status = SW_ERR_TRAP;
    ex->trap_code = NULL;
    ex->trap_inst = inst_of(c);
    ex->trap_func = func;
    snprintf(ex->message, sizeof ex->message, "%s", message);
    sw__guard_raise();
}

static __attribute__((noreturn)) void rt_trap(struct sw_native_ctx *c, uint32_t trap, uint32_t func)
{
    raise_trap(c, (sw_trap)trap, func, sw_trap_message((sw_trap)trap));
}

static void rt_attention(struct sw_native_ctx *c, uint32_t func)
{
    /* c->attention is the flag of the instance the embedder called (see
       sw__native_invoke): that instance's interrupt counts. */
    const sw_instance *who =
        (const sw_instance *)((const char *)c->attention - offsetof(sw_instance, attention));
    if (atomic_load(&who->interrupt)) rt_trap(c, SW_TRAP_INTERRUPTED, func);
}

/* Calls any function from compiled code: a host function, another
 * instance's compiled code, or interpreted code. A trap or exit there ends
 * this call too (after putting the guard state back). */
static void call_func(struct sw_native_ctx *c, sw_func *f, uint64_t *slots, uint32_t func)
{
    sw_instance *inst = inst_of(c);
    struct exec *ex = running_exec();
    sw_instance *ctx = (sw_instance *)((char *)ex - offsetof(sw_instance, ex));
    const struct sw_memory_obj *mem = ex->cur_mem;
    sw_status st;
    if (!f->code) {
        void *guard = sw__guard_suspend(); /* a fault in host code is the host's */
        st = sw__call_host(inst, ex, f, slots);
        sw__guard_resume(guard);
        if (st == SW_ERR_TRAP) {
            /* a host trap keeps the place of a wasm trap beneath it */
            if (!ex->trap_code && ex->trap_func == SW_NO_NATIVE_FUNC) {
                ex->trap_inst = inst;
                ex->trap_func = func;
            }
            ex->trap = SW_TRAP_HOST;
            ex->status = SW_ERR_TRAP;
        } else if (st != SW_OK) {
            ex->status = st;
        }
    } else {
        /* wasm of another instance (or interpreted): a call of its own on
           this execution stack, so its traps come back here first */
        st = sw__call_on_stack(ctx, f, slots);
    }
    ex->cur_mem = mem;
    ex->cur_inst = inst;
    if (st != SW_OK) sw__guard_raise();
}

static void rt_call_index(struct sw_native_ctx *c, uint32_t index, uint64_t *slots, uint32_t func)
{
    call_func(c, inst_of(c)->funcs[index], slots, func);
}

static void rt_call_ref(struct sw_native_ctx *c, struct sw_native_func *f, uint64_t *slots,
                        uint32_t func)
{
    call_func(c, (sw_func *)f, slots, func);
}

static int rt_type_equal(const void *a, const void *b)
{
    return sw__ftype_equal(a, b);
}

static uint32_t rt_memory_grow(struct sw_native_ctx *c, uint32_t delta)
{
    return (uint32_t)sw__memory_grow(inst_of(c)->memory, delta);
}

static void rt_memory_fill(struct sw_native_ctx *c, uint32_t d, uint32_t value, uint32_t n,
                           uint32_t func)
{
    struct sw_memory_obj *m = inst_of(c)->memory;
    if ((uint64_t)d + n > m->size) rt_trap(c, SW_TRAP_MEMORY_OOB, func);
    if (n) memset(m->data + d, (int)(uint8_t)value, n);
}

static void rt_memory_copy(struct sw_native_ctx *c, uint32_t d, uint32_t s, uint32_t n,
                           uint32_t func)
{
    struct sw_memory_obj *m = inst_of(c)->memory;
    if ((uint64_t)s + n > m->size || (uint64_t)d + n > m->size)
        rt_trap(c, SW_TRAP_MEMORY_OOB, func);
    if (n) memmove(m->data + d, m->data + s, n);
}

static void rt_memory_init(struct sw_native_ctx *c, uint32_t seg, uint32_t d, uint32_t s,
                           uint32_t n, uint32_t func)
{
    sw_trap t = sw__memory_init(inst_of(c), seg, d, s, n);
    if (t) rt_trap(c, t, func);
}

static void rt_data_drop(struct sw_native_ctx *c, uint32_t seg)
{
    inst_of(c)->data_dropped[seg] = 1;
}

static uint32_t rt_table_grow(struct sw_native_ctx *c, uint32_t table, uint64_t init, uint32_t n)
{
    return (uint32_t)sw__table_grow(inst_of(c)->tables[table], n, init);
}

static void rt_table_fill(struct sw_native_ctx *c, uint32_t table, uint32_t i, uint64_t value,
                          uint32_t n, uint32_t func)
{
    struct sw_table_obj *t = inst_of(c)->tables[table];
    if ((uint64_t)i + n > t->size) rt_trap(c, SW_TRAP_TABLE_OOB, func);
    for (uint32_t k = 0; k < n; k++)
        t->elems[i + k] = value;
}

static void rt_table_copy(struct sw_native_ctx *c, uint32_t dt, uint32_t st, uint32_t d,
                          uint32_t s, uint32_t n, uint32_t func)
{
    struct sw_table_obj *to = inst_of(c)->tables[dt], *from = inst_of(c)->tables[st];
    if ((uint64_t)s + n > from->size || (uint64_t)d + n > to->size)
        rt_trap(c, SW_TRAP_TABLE_OOB, func);
    if (n) memmove(to->elems + d, from->elems + s, n * sizeof *to->elems);
}

static void rt_table_init(struct sw_native_ctx *c, uint32_t table, uint32_t seg, uint32_t d,
                          uint32_t s, uint32_t n, uint32_t func)
{
    sw_trap t = sw__table_init(inst_of(c), seg, table, d, s, n);
    if (t) rt_trap(c, t, func);
}

static void rt_elem_drop(struct sw_native_ctx *c, uint32_t seg)
{
    inst_of(c)->elem_dropped[seg] = 1;
}

static __attribute__((noreturn)) void rt_trap_uninitialized(struct sw_native_ctx *c, uint32_t index, uint32_t func)
{
    char message[64];
    snprintf(message, sizeof message, "%s %u", sw_trap_message(SW_TRAP_UNINITIALIZED_ELEMENT),
             index);
    raise_trap(c, SW_TRAP_UNINITIALIZED_ELEMENT, func, message);
}

static const struct sw_native_rt runtime_helpers = {
    .trap = rt_trap,
    .trap_uninitialized = rt_trap_uninitialized,
    .attention = rt_attention,
    .call_index = rt_call_index,
    .call_ref = rt_call_ref,
    .type_equal = rt_type_equal,
    .memory_grow = rt_memory_grow,
    .memory_fill = rt_memory_fill,
    .memory_copy = rt_memory_copy,
    .memory_init = rt_memory_init,
    .data_drop = rt_data_drop,
    .table_grow = rt_table_grow,
    .table_fill = rt_table_fill,
    .table_copy = rt_table_copy,
    .table_init = rt_table_init,
    .elem_drop = rt_elem_drop,
};

/* --- instances ------------------------------------------------------------ */

sw_status sw__native_instance_init(sw_instance *inst)
{
    sw_module *m = inst->module;
    struct sw_native_image *img = atomic_load(&m->native);
    if (!img) return SW_OK;
    /* Compiled code has no bounds checks: it needs guard regions. */
    if (inst->memory && !inst->memory->guarded) return SW_OK;
    struct sw_native_ctx *c = calloc(1, sizeof *c);
    uint64_t **globals = calloc(m->nglobals + 1, sizeof *globals);
    const void **types = calloc(m->ntypes + 1, sizeof *types);
    if (!c || !globals || !types) {
        free(c);
        free(globals);
        free(types);
        return SW_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < m->nglobals; i++)
        globals[i] = &inst->globals[i]->val;
    for (uint32_t i = 0; i < m->ntypes; i++)
        types[i] = &m->types[i];
    c->memory = (struct sw_native_memory *)inst->memory;
    c->mem = inst->memory ? inst->memory->data : NULL;
    c->globals = globals;
    c->tables = (struct sw_native_table **)inst->tables;
    c->funcs = (struct sw_native_func **)inst->funcs;
    c->types = types;
    c->attention = (const unsigned char *)&inst->attention;
    c->rt = &runtime_helpers;
    c->instance = inst;
    inst->native = c;
    const struct sw_native_module *d = img->desc;
    for (uint32_t i = 0; i < d->nfuncs; i++) {
        sw_func *f = &inst->funcs_own[i];
        f->native = d->entries[i];
        f->native_tramp = d->trampolines[i];
        f->native_ctx = c;
    }
    return SW_OK;
}

void sw__native_instance_free(sw_instance *inst)
{
    struct sw_native_ctx *c = inst->native;
    if (!c) return;
    free(c->globals);
    free((void *)c->types);
    free(c);
    inst->native = NULL;
}

/* --- running -------------------------------------------------------------- */

static _Thread_local uintptr_t thread_stack_limit;

/* The lowest address compiled frames of this thread may use, or 0 when the
 * thread's stack cannot be found (then compiled code does not run). */
static uintptr_t stack_limit(void)
{
    if (thread_stack_limit) return thread_stack_limit;
    pthread_attr_t attr;
    void *low = NULL;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        if (pthread_attr_getstack(&attr, &low, &size) != 0) low = NULL;
        pthread_attr_destroy(&attr);
    }
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    uintptr_t bottom = (uintptr_t)low;
    if (!low || here <= bottom || here - bottom < 2 * STACK_MARGIN) return 0;
    thread_stack_limit = bottom + STACK_MARGIN;
    return thread_stack_limit;
}

/* The "loop" sw__guarded_invoke runs: the function's uniform entry. */
static sw_status run_compiled(sw_instance *ctx, sw_func *func, uint64_t *slots,
                              const void *const **unused)
{
    (void)ctx;
    (void)unused;
    func->native_tramp(func->native_ctx, slots);
    return SW_OK;
}

sw_status sw__native_invoke(sw_instance *ctx, sw_func *func, uint64_t *slots, bool *unavailable)
{
    *unavailable = false;
    struct sw_native_ctx *c = func->native_ctx;
    sw_instance *owner = c->instance;
    uintptr_t limit = stack_limit();
    if (!limit) {
        *unavailable = true;
        return SW_OK;
    }
    struct exec *ex = &ctx->ex;
    /* The embedder's instance decides interrupts (as in the interpreter);
       saved and put back, since calls nest (host -> wasm). */
    const unsigned char *attention = c->attention;
    const struct sw_memory_obj *mem = ex->cur_mem;
    sw_instance *cur = ex->cur_inst;
    c->attention = (const unsigned char *)&ctx->attention;
    c->stack_limit = limit;
    ex->cur_mem = owner->memory;
    ex->cur_inst = owner;
    ex->fault_pc = NULL;
    sw_status st = sw__guarded_invoke(ctx, func, slots, run_compiled, unavailable);
    if (st == SW_ERR_TRAP && ex->trap == SW_TRAP_MEMORY_OOB && ex->fault_pc &&
        ex->trap_inst == owner) {
        /* a guard fault in compiled code: which function */
        struct sw_native_image *img = atomic_load(&owner->module->native);
        ex->trap_code = NULL;
        ex->trap_func = img->func_at ? img->func_at(img->handle, ex->fault_pc) : -1;
    }
    c->attention = attention;
    ex->cur_mem = mem;
    ex->cur_inst = cur;
    return st;
}
