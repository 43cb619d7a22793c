/* Instances: instantiation (imports, globals, tables, memory, segments,
 * start function), the embedder's calls into exports, access to exported
 * globals and memory, the host call context, and the per-instance controls
 * (limits, interrupt, fuel, opcode counters). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "linker.h"

void sw_limits_default(sw_limits *limits)
{
    limits->max_memory_pages = SW_MAX_PAGES;
    limits->max_call_depth = 20000;
    limits->stack_slots = 1u << 20;
    limits->fuel = 0;
}

uint64_t sw__eval_cexpr(sw_instance *inst, const struct cexpr *ce)
{
    switch (ce->kind) {
    case CE_CONST: return ce->bits;
    case CE_GLOBAL_GET: return inst->globals[ce->index]->val;
    case CE_REF_NULL: return 0;
    case CE_REF_FUNC: return (uint64_t)(uintptr_t)inst->funcs[ce->index];
    }
    return 0;
}

static void set_trap_error(sw_error *err, struct exec *ex, sw_status st)
{
    if (!err) return;
    memset(err, 0, sizeof *err);
    err->status = st;
    if (st == SW_ERR_EXIT) {
        err->exit_code = ex->exit_code;
        snprintf(err->reason, sizeof err->reason, "exit");
        snprintf(err->message, sizeof err->message, "exit with code %d", ex->exit_code);
        return;
    }
    err->trap = ex->trap;
    snprintf(err->reason, sizeof err->reason, "%s", ex->message);
    snprintf(err->message, sizeof err->message, "%s", ex->message);
    err->func_index = -1;
    if (ex->trap_inst) {
        const sw_module *m = ex->trap_inst->module;
        /* compiled code names its function; the interpreter its code */
        err->func_index = ex->trap_code || ex->trap_func == SW_NO_NATIVE_FUNC
                              ? sw__func_index_of_code(m, ex->trap_code)
                              : ex->trap_func;
        if (err->func_index >= 0)
            sw__func_name(m, (uint32_t)err->func_index, err->func_name, sizeof err->func_name);
    }
}

void sw_error_trap_location(const sw_error *err, char *out, size_t cap)
{
    if (!cap) return;
    out[0] = '\0';
    if (!err || err->status != SW_ERR_TRAP || err->func_index < 0) return;
    if (err->func_name[0])
        snprintf(out, cap, "in function '%s', func[%lld]", err->func_name,
                 (long long)err->func_index);
    else
        snprintf(out, cap, "in func[%lld]", (long long)err->func_index);
}

void sw_error_describe(const sw_error *err, char *out, size_t cap)
{
    if (!cap) return;
    char where[128];
    sw_error_trap_location(err, where, sizeof where);
    if (where[0])
        snprintf(out, cap, "%s (%s)", err->message, where);
    else
        snprintf(out, cap, "%s", err ? err->message : "");
}

static sw_status make_exec(sw_instance *inst)
{
    struct exec *ex = &inst->ex;
    if (ex->stack) return SW_OK;
    size_t slots = inst->limits.stack_slots ? inst->limits.stack_slots : 1024;
    size_t frames = inst->limits.max_call_depth ? inst->limits.max_call_depth : 1;
    ex->stack = malloc(slots * sizeof *ex->stack);
    ex->frames = malloc((frames + 1) * sizeof *ex->frames);
    if (!ex->stack || !ex->frames) {
        free(ex->stack);
        free(ex->frames);
        ex->stack = NULL;
        ex->frames = NULL;
        return SW_ERR_NOMEM;
    }
    ex->stack_end = ex->stack + slots;
    ex->sp = ex->stack;
    ex->max_frames = (uint32_t)frames;
    ex->nframes = 0;
    return SW_OK;
}

void sw_instance_free(sw_instance *inst)
{
    if (!inst) return;
    for (uint32_t i = 0; i < inst->ntables_own; i++)
        free(inst->tables_own[i].elems);
    free(inst->tables_own);
    free(inst->tables);
    if (inst->memory_own) {
        sw__memory_release(inst->memory_own);
        free(inst->memory_own);
    }
    free(inst->globals_own);
    free(inst->globals);
    free(inst->funcs_own);
    free(inst->funcs);
    free(inst->data_dropped);
    free(inst->elem_dropped);
    free(inst->ex.stack);
    free(inst->ex.frames);
    sw__native_instance_free(inst);
    sw_module_free(inst->module);
    free(inst);
}

const sw_module *sw_instance_module(const sw_instance *instance)
{
    return instance->module;
}

/* Runs func with args copied to the instance's current stack top; its
 * results are copied to results. */
static sw_status run_at_top(sw_instance *ctx, sw_func *func, const uint64_t *args,
                            uint64_t *results)
{
    struct exec *ex = &ctx->ex;
    const struct ftype *t = func->type;
    size_t need = (t->nparams > t->nresults ? t->nparams : t->nresults) + 1;
    uint64_t *base = ex->sp;
    if ((size_t)(ex->stack_end - base) < need) {
        ex->trap = SW_TRAP_STACK_EXHAUSTED;
        ex->status = SW_ERR_TRAP;
        snprintf(ex->message, sizeof ex->message, "%s", sw_trap_message(ex->trap));
        return SW_ERR_TRAP;
    }
    memcpy(base, args, t->nparams * sizeof *base);
    ex->sp = base + need;
    sw_status st = sw__invoke(ctx, func, base);
    ex->sp = base;
    if (st == SW_OK) memcpy(results, base, t->nresults * sizeof *base);
    return st;
}

sw_status sw__call_on_stack(sw_instance *ctx, sw_func *func, uint64_t *slots)
{
    return run_at_top(ctx, func, slots, slots);
}

/* An embedder's call: runs func with args at the instance's stack top. */
static sw_status run(sw_instance *ctx, sw_func *func, const uint64_t *args, uint64_t *results,
                     sw_error *err)
{
    if (make_exec(ctx) != SW_OK) {
        sw__set_error(err, SW_ERR_NOMEM, NULL, 0, "out of memory");
        return SW_ERR_NOMEM;
    }
    struct exec *ex = &ctx->ex;
    ex->trap_code = NULL;
    ex->trap_inst = NULL;
    ex->trap_func = SW_NO_NATIVE_FUNC;
    sw_status st = run_at_top(ctx, func, args, results);
    if (st != SW_OK) set_trap_error(err, ex, st);
    return st;
}

static sw_status instantiate_body(sw_instance *inst, sw_error *err)
{
    const sw_module *m = inst->module;
    /* active element segments, then declarative drops */
    for (uint32_t i = 0; i < m->nelems; i++) {
        const struct mod_elem *e = &m->elems[i];
        if (e->mode == SEG_ACTIVE) {
            uint32_t off = (uint32_t)sw__eval_cexpr(inst, &e->offset);
            sw_trap tr = sw__table_init(inst, i, e->table, off, 0, e->count);
            if (tr) {
                inst->ex.trap = tr;
                snprintf(inst->ex.message, sizeof inst->ex.message, "%s", sw_trap_message(tr));
                set_trap_error(err, &inst->ex, SW_ERR_TRAP);
                return SW_ERR_TRAP;
            }
        }
        if (e->mode != SEG_PASSIVE) inst->elem_dropped[i] = 1;
    }
    for (uint32_t i = 0; i < m->ndatas; i++) {
        const struct mod_data *d = &m->datas[i];
        if (d->mode != SEG_ACTIVE) continue;
        uint32_t off = (uint32_t)sw__eval_cexpr(inst, &d->offset);
        sw_trap tr = sw__memory_init(inst, i, off, 0, d->len);
        if (tr) {
            inst->ex.trap = tr;
            snprintf(inst->ex.message, sizeof inst->ex.message, "%s", sw_trap_message(tr));
            set_trap_error(err, &inst->ex, SW_ERR_TRAP);
            return SW_ERR_TRAP;
        }
        inst->data_dropped[i] = 1;
    }
    if (m->start >= 0) {
        uint64_t none = 0;
        return run(inst, inst->funcs[m->start], &none, &none, err);
    }
    return SW_OK;
}

sw_status sw_instance_new(const sw_module *module, sw_linker *linker, const sw_limits *limits,
                          sw_instance **out, sw_error *err)
{
    if (!module || !out) {
        sw__set_error(err, SW_ERR_ARG, NULL, 0, "invalid argument");
        return SW_ERR_ARG;
    }
    *out = NULL;
    sw_module *m = (sw_module *)module;
    /* resolve every import first: a link error changes nothing */
    const struct link_entry **found = calloc(m->nimports + 1, sizeof *found);
    if (!found) {
        sw__set_error(err, SW_ERR_NOMEM, NULL, 0, "out of memory");
        return SW_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < m->nimports; i++) {
        const char *why = NULL;
        found[i] = sw__linker_resolve(linker, m, &m->imports[i], &why);
        if (!found[i]) {
            sw__set_error(err, SW_ERR_UNLINKABLE, NULL, 0, why);
            if (err)
                snprintf(err->message, sizeof err->message, "%s: %s.%s", why, m->imports[i].module,
                         m->imports[i].name);
            free(found);
            return SW_ERR_UNLINKABLE;
        }
    }
    sw_instance *inst = calloc(1, sizeof *inst);
    if (!inst) {
        free(found);
        sw__set_error(err, SW_ERR_NOMEM, NULL, 0, "out of memory");
        return SW_ERR_NOMEM;
    }
    sw__module_ref(m);
    inst->module = m;
    atomic_init(&inst->interrupt, false);
    if (limits)
        inst->limits = *limits;
    else
        sw_limits_default(&inst->limits);
    if (inst->limits.fuel) {
        inst->fuel = inst->limits.fuel;
        inst->fuel_on = true;
    }
    atomic_init(&inst->attention, inst->fuel_on);
    uint32_t ndef = m->nfuncs - m->nfunc_imports;
    uint32_t ntab_own = m->ntables - m->ntable_imports;
    uint32_t nglob_own = m->nglobals - m->nglobal_imports;
    inst->funcs = calloc(m->nfuncs + 1, sizeof *inst->funcs);
    inst->funcs_own = calloc(ndef + 1, sizeof *inst->funcs_own);
    inst->tables = calloc(m->ntables + 1, sizeof *inst->tables);
    inst->tables_own = calloc(ntab_own + 1, sizeof *inst->tables_own);
    inst->globals = calloc(m->nglobals + 1, sizeof *inst->globals);
    inst->globals_own = calloc(nglob_own + 1, sizeof *inst->globals_own);
    inst->data_dropped = calloc(m->ndatas + 1, 1);
    inst->elem_dropped = calloc(m->nelems + 1, 1);
    sw_status st = SW_OK;
    if (!inst->funcs || !inst->funcs_own || !inst->tables || !inst->tables_own || !inst->globals ||
        !inst->globals_own || !inst->data_dropped || !inst->elem_dropped)
        st = SW_ERR_NOMEM;
    uint32_t fi = 0, ti = 0, gi = 0;
    for (uint32_t i = 0; st == SW_OK && i < m->nimports; i++) {
        switch (m->imports[i].kind) {
        case SW_EXTERN_FUNC: inst->funcs[fi++] = found[i]->func; break;
        case SW_EXTERN_TABLE: inst->tables[ti++] = found[i]->table; break;
        case SW_EXTERN_MEMORY: inst->memory = found[i]->memory; break;
        case SW_EXTERN_GLOBAL: inst->globals[gi++] = found[i]->global; break;
        }
    }
    free(found);
    for (uint32_t i = 0; st == SW_OK && i < ndef; i++) {
        sw_func *f = &inst->funcs_own[i];
        f->type = &m->types[m->funcs[i].typeidx];
        f->inst = inst;
        f->code = &m->funcs[i].code;
        inst->funcs[m->nfunc_imports + i] = f;
    }
    for (uint32_t i = 0; st == SW_OK && i < ntab_own; i++) {
        const struct mod_table *mt = &m->tables[m->ntable_imports + i];
        struct sw_table_obj *t = &inst->tables_own[i];
        t->type = mt->type;
        t->max = mt->max;
        inst->ntables_own = i + 1;
        if (mt->min && sw__table_grow(t, mt->min, 0) < 0) {
            st = SW_ERR_NOMEM;
            break;
        }
        inst->tables[m->ntable_imports + i] = t;
    }
    char why[160] = "out of memory";
    if (st == SW_OK && m->nmemories > m->nmem_imports) {
        const struct mod_memory *mm = &m->memories[0];
        uint32_t limit = inst->limits.max_memory_pages;
        inst->memory_own = calloc(1, sizeof *inst->memory_own);
        if (!inst->memory_own) {
            st = SW_ERR_NOMEM;
        } else if (mm->min > limit) {
            st = SW_ERR_LIMIT;
            snprintf(why, sizeof why,
                     "memory of %u pages (%u MiB) is over the limit of %u pages (%u MiB)", mm->min,
                     mm->min / 16, limit, limit / 16);
        } else if ((st = sw__memory_create(inst->memory_own, mm->min, mm->max, limit)) != SW_OK) {
            snprintf(why, sizeof why, "cannot map a memory of %u pages (%u MiB)", mm->min,
                     mm->min / 16);
        } else {
            inst->memory = inst->memory_own;
        }
    }
    for (uint32_t i = 0; st == SW_OK && i < nglob_own; i++) {
        const struct mod_global *mg = &m->globals[m->nglobal_imports + i];
        struct sw_global_obj *g = &inst->globals_own[i];
        g->type = mg->type;
        g->mut = mg->mut;
        g->val = sw__eval_cexpr(inst, &mg->init);
        inst->globals[m->nglobal_imports + i] = g;
    }
    /* compiled code, when the module has some: the start function runs it */
    if (st == SW_OK) st = sw__native_instance_init(inst);
    if (st != SW_OK) {
        sw_instance_free(inst);
        sw__set_error(err, st, NULL, 0, why);
        return st;
    }
    st = instantiate_body(inst, err);
    if (st != SW_OK) {
        if (linker)
            sw__linker_keep(linker, inst);
        else
            sw_instance_free(inst);
        return st;
    }
    *out = inst;
    return SW_OK;
}

static const struct mod_export *find_export_n(const sw_instance *inst, const char *name, size_t len,
                                              sw_extern_kind kind)
{
    const sw_module *m = inst->module;
    for (uint32_t i = 0; i < m->nexports; i++)
        if (m->exports[i].kind == kind && m->exports[i].name_len == len &&
            !memcmp(m->exports[i].name, name, len))
            return &m->exports[i];
    return NULL;
}

static const struct mod_export *find_export(const sw_instance *inst, const char *name,
                                            sw_extern_kind kind)
{
    return find_export_n(inst, name, strlen(name), kind);
}

sw_status sw_instance_find_func_n(sw_instance *instance, const char *name, size_t len,
                                  sw_func **out)
{
    if (!instance || (!name && len) || !out) return SW_ERR_ARG;
    const struct mod_export *e = find_export_n(instance, name ? name : "", len, SW_EXTERN_FUNC);
    if (!e) return SW_ERR_NOT_FOUND;
    *out = instance->funcs[e->index];
    return SW_OK;
}

sw_status sw_instance_find_func(sw_instance *instance, const char *name, sw_func **out)
{
    if (!instance || !name || !out) return SW_ERR_ARG;
    const struct mod_export *e = find_export(instance, name, SW_EXTERN_FUNC);
    if (!e) return SW_ERR_NOT_FOUND;
    *out = instance->funcs[e->index];
    return SW_OK;
}

void sw_func_type(const sw_func *func, sw_functype *out)
{
    out->nparams = func->type->nparams;
    out->nresults = func->type->nresults;
    out->params = func->type->types;
    out->results = func->type->types + func->type->nparams;
}

sw_status sw_func_call(sw_instance *instance, sw_func *func, const sw_value *args, size_t nargs,
                       sw_value *results, size_t nresults, sw_error *err)
{
    if (!instance || !func || (nargs && !args) || (nresults && !results)) {
        sw__set_error(err, SW_ERR_ARG, NULL, 0, "invalid argument");
        return SW_ERR_ARG;
    }
    const struct ftype *t = func->type;
    if (nargs != t->nparams || nresults != t->nresults) {
        sw__set_error(err, SW_ERR_ARG, NULL, 0, "wrong number of arguments or results");
        return SW_ERR_ARG;
    }
    uint64_t small[16];
    uint64_t *bits = small;
    size_t nbits = nargs > nresults ? nargs : nresults;
    if (nbits > 16 && !(bits = calloc(nbits, sizeof *bits))) {
        sw__set_error(err, SW_ERR_NOMEM, NULL, 0, "out of memory");
        return SW_ERR_NOMEM;
    }
    sw_status st = SW_OK;
    for (size_t i = 0; i < nargs; i++) {
        if (args[i].type != t->types[i]) {
            sw__set_error(err, SW_ERR_ARG, NULL, 0, "argument type mismatch");
            st = SW_ERR_ARG;
            break;
        }
        bits[i] = sw__value_bits(&args[i]);
    }
    if (st == SW_OK) st = run(instance, func, bits, bits, err);
    if (st == SW_OK)
        for (size_t i = 0; i < nresults; i++)
            results[i] = sw__value_of(t->types[t->nparams + i], bits[i]);
    if (bits != small) free(bits);
    return st;
}

sw_status sw_instance_call(sw_instance *instance, const char *name, const sw_value *args,
                           size_t nargs, sw_value *results, size_t nresults, sw_error *err)
{
    sw_func *f;
    sw_status st = sw_instance_find_func(instance, name, &f);
    if (st != SW_OK) {
        sw__set_error(err, st, NULL, 0, "unknown export");
        return st;
    }
    return sw_func_call(instance, f, args, nargs, results, nresults, err);
}

sw_status sw_instance_global_get(sw_instance *instance, const char *name, sw_value *out)
{
    if (!instance || !name || !out) return SW_ERR_ARG;
    const struct mod_export *e = find_export(instance, name, SW_EXTERN_GLOBAL);
    if (!e) return SW_ERR_NOT_FOUND;
    struct sw_global_obj *g = instance->globals[e->index];
    *out = sw__value_of(g->type, g->val);
    return SW_OK;
}

sw_status sw_instance_global_set(sw_instance *instance, const char *name, sw_value value)
{
    if (!instance || !name) return SW_ERR_ARG;
    const struct mod_export *e = find_export(instance, name, SW_EXTERN_GLOBAL);
    if (!e) return SW_ERR_NOT_FOUND;
    struct sw_global_obj *g = instance->globals[e->index];
    if (!g->mut || g->type != value.type) return SW_ERR_ARG;
    g->val = sw__value_bits(&value);
    return SW_OK;
}

sw_status sw_instance_memory(sw_instance *instance, const char *name, uint8_t **base,
                             uint64_t *size)
{
    if (!instance || !base || !size) return SW_ERR_ARG;
    if (name && !find_export(instance, name, SW_EXTERN_MEMORY)) return SW_ERR_NOT_FOUND;
    if (!instance->memory) return SW_ERR_NOT_FOUND;
    *base = instance->memory->data;
    *size = instance->memory->size;
    return SW_OK;
}

/* --- the host call context ---------------------------------------------- */

sw_instance *sw_call_instance(sw_call *call)
{
    return call->inst;
}

sw_status sw_call_memory(sw_call *call, uint8_t **base, uint64_t *size)
{
    if (!call->inst || !call->inst->memory) return SW_ERR_NOT_FOUND;
    *base = call->inst->memory->data;
    *size = call->inst->memory->size;
    return SW_OK;
}

sw_status sw_call_trap(sw_call *call, const char *message)
{
    snprintf(call->ex->message, sizeof call->ex->message, "%s",
             message && *message ? message : "host trap");
    return SW_ERR_TRAP;
}

sw_status sw_call_exit(sw_call *call, int code)
{
    call->ex->exit_code = code;
    return SW_ERR_EXIT;
}

/* --- controls ------------------------------------------------------------ */

void sw_instance_interrupt(sw_instance *instance)
{
    atomic_store(&instance->interrupt, true);
    atomic_store(&instance->attention, true);
    sw__native_kick(instance);
    sw_interrupt_hook hook = instance->hook;
    if (hook) hook(instance->hook_user);
}

void sw_instance_clear_interrupt(sw_instance *instance)
{
    atomic_store(&instance->interrupt, false);
    atomic_store(&instance->attention, instance->fuel_on);
}

void sw_instance_set_interrupt_hook(sw_instance *instance, sw_interrupt_hook fn, void *user)
{
    instance->hook_user = user;
    instance->hook = fn;
}

void sw_instance_set_fuel(sw_instance *instance, uint64_t fuel)
{
    instance->fuel = fuel;
    instance->fuel_on = fuel != 0;
    atomic_store(&instance->attention, instance->fuel_on || atomic_load(&instance->interrupt));
}

uint64_t sw_instance_fuel(const sw_instance *instance)
{
    return instance->fuel;
}

sw_status sw_instance_set_counting(sw_instance *instance, bool on)
{
    if (on && sw__module_ensure_counted(instance->module) != SW_OK) return SW_ERR_NOMEM;
    instance->counting = on;
    return SW_OK;
}

void sw_instance_counts(const sw_instance *instance, uint64_t counts[256])
{
    memcpy(counts, instance->counts, sizeof instance->counts);
}

void sw_instance_counts_fc(const sw_instance *instance, uint64_t counts[SW_FC_COUNT])
{
    memcpy(counts, instance->counts_fc, sizeof instance->counts_fc);
}

void sw_instance_reset_counts(sw_instance *instance)
{
    memset(instance->counts, 0, sizeof instance->counts);
    memset(instance->counts_fc, 0, sizeof instance->counts_fc);
}
