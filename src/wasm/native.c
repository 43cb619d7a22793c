/* The engine's side of the compiled tier: a module's compiled code (made by
 * src/aot from the validated module, one C function per wasm function) is
 * attached to the module; each instance made afterwards gets a context
 * (native_abi.h) through which its compiled functions reach its memory,
 * globals, tables and functions, and the helpers below for what they do not
 * do inline (traps, imports, growth, bulk operations).
 *
 * The guarantees are the interpreter's, at no cost in the compiled code:
 * - it runs inside a guarded call (guard_fault.c), so an access past the
 *   memory faults in the guard region: "out of bounds memory access";
 * - a frame that would not fit on the thread's stack faults on its guard
 *   page (frames probe their pages in order): "call stack exhausted"; host
 *   calls and re-entries check that room is left for them;
 * - every other trap calls rt_trap, which records it and jumps back to the
 *   guarded call;
 * - an interrupt (sw_instance_interrupt, any thread) kicks the running
 *   thread with a signal: landing in compiled code it ends the call, and
 *   everywhere else (helpers, host functions) the interrupt flag is looked
 *   at before returning to compiled code; so even `while(1);` ends at once,
 *   without a test in the loop;
 * - host functions run with guard faults off.
 * Fuel and opcode counting are the interpreter's only (sw__invoke runs the
 * interpreter when either is on). */
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

/* Room a host call or a re-entry needs on the thread's stack; below it,
 * "call stack exhausted" (WASI keeps its buffers small). */
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

/* The instance the embedder called: its execution stack is the running
 * one, and its interrupt flag counts (as in the interpreter). */
static sw_instance *caller_of(struct exec *ex)
{
    return (sw_instance *)((char *)ex - offsetof(sw_instance, ex));
}

/* Before a helper returns to compiled code: a pending interrupt ends the
 * call (compiled code never looks itself). */
static void poll(struct sw_native_ctx *c, uint32_t func)
{
    if (atomic_load_explicit(&caller_of(running_exec())->interrupt, memory_order_relaxed))
        rt_trap(c, SW_TRAP_INTERRUPTED, func);
}

/* Calls any function from compiled code: a host function, another
 * instance's compiled code, or interpreted code. A trap or exit there ends
 * this call too (after putting the guard state back). */
static void call_func(struct sw_native_ctx *c, sw_func *f, uint64_t *slots, uint32_t func)
{
    sw_instance *inst = inst_of(c);
    struct exec *ex = running_exec();
    sw_instance *ctx = caller_of(ex);
    const struct sw_memory_obj *mem = ex->cur_mem;
    sw_status st;
    uintptr_t low = sw__guard_stack_low();
    if ((uintptr_t)__builtin_frame_address(0) - low < STACK_MARGIN)
        rt_trap(c, SW_TRAP_STACK_EXHAUSTED, func);
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
    poll(c, func);
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

static int rt_type_equal(struct sw_native_ctx *c, const void *a, const void *b, uint32_t func)
{
    poll(c, func);
    return sw__ftype_equal(a, b);
}

static uint32_t rt_memory_grow(struct sw_native_ctx *c, uint32_t delta, uint32_t func)
{
    poll(c, func);
    return (uint32_t)sw__memory_grow(inst_of(c)->memory, delta);
}

static void rt_memory_fill(struct sw_native_ctx *c, uint32_t d, uint32_t value, uint32_t n,
                           uint32_t func)
{
    struct sw_memory_obj *m = inst_of(c)->memory;
    if ((uint64_t)d + n > m->size) rt_trap(c, SW_TRAP_MEMORY_OOB, func);
    if (n) memset(m->data + d, (int)(uint8_t)value, n);
    poll(c, func);
}

static void rt_memory_copy(struct sw_native_ctx *c, uint32_t d, uint32_t s, uint32_t n,
                           uint32_t func)
{
    struct sw_memory_obj *m = inst_of(c)->memory;
    if ((uint64_t)s + n > m->size || (uint64_t)d + n > m->size)
        rt_trap(c, SW_TRAP_MEMORY_OOB, func);
    if (n) memmove(m->data + d, m->data + s, n);
    poll(c, func);
}

static void rt_memory_init(struct sw_native_ctx *c, uint32_t seg, uint32_t d, uint32_t s,
                           uint32_t n, uint32_t func)
{
    sw_trap t = sw__memory_init(inst_of(c), seg, d, s, n);
    if (t) rt_trap(c, t, func);
    poll(c, func);
}

static void rt_data_drop(struct sw_native_ctx *c, uint32_t seg, uint32_t func)
{
    inst_of(c)->data_dropped[seg] = 1;
    poll(c, func);
}

static uint32_t rt_table_grow(struct sw_native_ctx *c, uint32_t table, uint64_t init, uint32_t n,
                              uint32_t func)
{
    poll(c, func);
    return (uint32_t)sw__table_grow(inst_of(c)->tables[table], n, init);
}

static void rt_table_fill(struct sw_native_ctx *c, uint32_t table, uint32_t i, uint64_t value,
                          uint32_t n, uint32_t func)
{
    struct sw_table_obj *t = inst_of(c)->tables[table];
    if ((uint64_t)i + n > t->size) rt_trap(c, SW_TRAP_TABLE_OOB, func);
    for (uint32_t k = 0; k < n; k++)
        t->elems[i + k] = value;
    poll(c, func);
}

static void rt_table_copy(struct sw_native_ctx *c, uint32_t dt, uint32_t st, uint32_t d, uint32_t s,
                          uint32_t n, uint32_t func)
{
    struct sw_table_obj *to = inst_of(c)->tables[dt], *from = inst_of(c)->tables[st];
    if ((uint64_t)s + n > from->size || (uint64_t)d + n > to->size)
        rt_trap(c, SW_TRAP_TABLE_OOB, func);
    if (n) memmove(to->elems + d, from->elems + s, n * sizeof *to->elems);
    poll(c, func);
}

static void rt_table_init(struct sw_native_ctx *c, uint32_t table, uint32_t seg, uint32_t d,
                          uint32_t s, uint32_t n, uint32_t func)
{
    sw_trap t = sw__table_init(inst_of(c), seg, table, d, s, n);
    if (t) rt_trap(c, t, func);
    poll(c, func);
}

static void rt_elem_drop(struct sw_native_ctx *c, uint32_t seg, uint32_t func)
{
    inst_of(c)->elem_dropped[seg] = 1;
    poll(c, func);
}

static __attribute__((noreturn)) void rt_trap_uninitialized(struct sw_native_ctx *c, uint32_t index,
                                                            uint32_t func)
{
    char message[64];
    snprintf(message, sizeof message, "%s %u", sw_trap_message(SW_TRAP_UNINITIALIZED_ELEMENT),
             index);
    raise_trap(c, SW_TRAP_UNINITIALIZED_ELEMENT, func, message);
}

static const struct sw_native_rt runtime_helpers = {
    .trap = rt_trap,
    .trap_uninitialized = rt_trap_uninitialized,
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

void sw__native_kick(sw_instance *inst)
{
    struct exec *ex = &inst->ex;
    while (atomic_flag_test_and_set_explicit(&ex->kick_lock, memory_order_acquire)) {
    }
    if (atomic_load(&ex->native_depth) > 0) pthread_kill(ex->native_thread, SW_KICK_SIGNAL);
    atomic_flag_clear_explicit(&ex->kick_lock, memory_order_release);
}

/* Notes that this thread runs compiled code on ex (nested calls count). */
static void enter_native(struct exec *ex, int delta)
{
    while (atomic_flag_test_and_set_explicit(&ex->kick_lock, memory_order_acquire)) {
    }
    if (delta > 0 && atomic_load(&ex->native_depth) == 0) ex->native_thread = pthread_self();
    atomic_fetch_add(&ex->native_depth, delta);
    atomic_flag_clear_explicit(&ex->kick_lock, memory_order_release);
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

/* A trap before any compiled code ran. */
static sw_status trap_now(struct exec *ex, sw_instance *owner, sw_trap trap)
{
    ex->trap = trap;
    ex->status = SW_ERR_TRAP;
    ex->trap_code = NULL;
    ex->trap_inst = owner;
    ex->trap_func = -1;
    snprintf(ex->message, sizeof ex->message, "%s", sw_trap_message(trap));
    return SW_ERR_TRAP;
}

sw_status sw__native_invoke(sw_instance *ctx, sw_func *func, uint64_t *slots, bool *unavailable)
{
    *unavailable = false;
    struct sw_native_ctx *c = func->native_ctx;
    sw_instance *owner = c->instance;
    struct sw_native_image *img = atomic_load(&owner->module->native);
    uintptr_t low = sw__guard_stack_low();
    if (!low) { /* without the stack's bounds, overflows could not be caught */
        *unavailable = true;
        return SW_OK;
    }
    struct exec *ex = &ctx->ex;
    if ((uintptr_t)__builtin_frame_address(0) - low < STACK_MARGIN)
        return trap_now(ex, owner, SW_TRAP_STACK_EXHAUSTED);
    const struct sw_memory_obj *mem = ex->cur_mem;
    sw_instance *cur = ex->cur_inst;
    const uint8_t *lo = ex->native_lo, *hi = ex->native_hi;
    ex->cur_mem = owner->memory;
    ex->cur_inst = owner;
    ex->fault_pc = NULL;
    ex->native_lo = img->code_lo;
    ex->native_hi = img->code_hi;
    /* first noted, then the flag read: an interrupt either kicks this
       thread (again, until a kick lands in compiled code) or is seen here */
    sw_instance *was_running = sw__guard_native_running(ctx);
    enter_native(ex, 1);
    sw_status st = atomic_load(&ctx->interrupt)
                       ? trap_now(ex, owner, SW_TRAP_INTERRUPTED)
                       : sw__guarded_invoke(ctx, func, slots, run_compiled, unavailable);
    enter_native(ex, -1);
    sw__guard_native_running(was_running);
    const uint8_t *pc = ex->fault_pc;
    if (st == SW_ERR_TRAP && pc && ex->trap_inst == owner && pc >= img->code_lo &&
        pc < img->code_hi) {
        /* a fault or a kick in compiled code: which function */
        ex->trap_code = NULL;
        ex->trap_func = img->func_at ? img->func_at(img->handle, pc) : -1;
    }
    ex->native_lo = lo;
    ex->native_hi = hi;
    ex->cur_mem = mem;
    ex->cur_inst = cur;
    return st;
}
