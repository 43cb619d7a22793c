/* The linker: named definitions (host functions, globals, memories, tables,
 * and the exports of registered instances) that imports resolve against,
 * with the spec's import matching rules. It also keeps alive instances whose
 * instantiation trapped, since their functions may already sit in shared
 * tables. */
#include <stdlib.h>
#include <string.h>

#include "linker.h"

sw_status sw_linker_new(sw_linker **out)
{
    if (!out) return SW_ERR_ARG;
    *out = calloc(1, sizeof **out);
    return *out ? SW_OK : SW_ERR_NOMEM;
}

static void free_entry(struct link_entry *e)
{
    free(e->module);
    free(e->name);
    if (!e->owned) return;
    switch (e->kind) {
    case SW_EXTERN_FUNC:
        free(e->func->type->types);
        free((void *)e->func->type);
        free(e->func);
        break;
    case SW_EXTERN_GLOBAL: free(e->global); break;
    case SW_EXTERN_MEMORY:
        sw__memory_release(e->memory);
        free(e->memory);
        break;
    case SW_EXTERN_TABLE:
        free(e->table->elems);
        free(e->table);
        break;
    }
}

void sw_linker_free(sw_linker *linker)
{
    if (!linker) return;
    while (linker->zombies) {
        sw_instance *z = linker->zombies;
        linker->zombies = z->next_zombie;
        sw_instance_free(z);
    }
    for (size_t i = 0; i < linker->n; i++)
        free_entry(&linker->entries[i]);
    free(linker->entries);
    free(linker);
}

static struct link_entry *add_entry(sw_linker *l, const char *module, const char *name,
                                    sw_extern_kind kind)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct link_entry *e = realloc(l->entries, cap * sizeof *e);
        if (!e) return NULL;
        l->entries = e;
        l->cap = cap;
    }
    struct link_entry *e = &l->entries[l->n];
    memset(e, 0, sizeof *e);
    e->module = strdup(module);
    e->name = strdup(name);
    if (!e->module || !e->name) {
        free(e->module);
        free(e->name);
        return NULL;
    }
    e->kind = kind;
    l->n++;
    return e;
}

static bool valid_valtype(sw_valtype t)
{
    return t == SW_I32 || t == SW_I64 || t == SW_F32 || t == SW_F64 || t == SW_FUNCREF ||
           t == SW_EXTERNREF;
}

sw_status sw_linker_define_func(sw_linker *linker, const char *module, const char *name,
                                const sw_functype *type, sw_host_fn fn, void *user)
{
    if (!linker || !module || !name || !type || !fn) return SW_ERR_ARG;
    for (uint32_t i = 0; i < type->nparams; i++)
        if (!valid_valtype(type->params[i])) return SW_ERR_ARG;
    for (uint32_t i = 0; i < type->nresults; i++)
        if (!valid_valtype(type->results[i])) return SW_ERR_ARG;
    sw_func *f = calloc(1, sizeof *f);
    struct ftype *t = calloc(1, sizeof *t);
    sw_valtype *types = malloc(((size_t)type->nparams + type->nresults + 1) * sizeof *types);
    if (!f || !t || !types) {
        free(f);
        free(t);
        free(types);
        return SW_ERR_NOMEM;
    }
    if (type->nparams) memcpy(types, type->params, type->nparams * sizeof *types);
    if (type->nresults)
        memcpy(types + type->nparams, type->results, type->nresults * sizeof *types);
    t->nparams = type->nparams;
    t->nresults = type->nresults;
    t->types = types;
    f->type = t;
    f->host = fn;
    f->user = user;
    struct link_entry *e = add_entry(linker, module, name, SW_EXTERN_FUNC);
    if (!e) {
        free(types);
        free(t);
        free(f);
        return SW_ERR_NOMEM;
    }
    e->func = f;
    e->owned = true;
    return SW_OK;
}

sw_status sw_linker_define_global(sw_linker *linker, const char *module, const char *name,
                                  bool mutable_, sw_value value)
{
    if (!linker || !module || !name || !valid_valtype(value.type)) return SW_ERR_ARG;
    struct sw_global_obj *g = calloc(1, sizeof *g);
    if (!g) return SW_ERR_NOMEM;
    g->type = value.type;
    g->mut = mutable_;
    g->val = sw__value_bits(&value);
    struct link_entry *e = add_entry(linker, module, name, SW_EXTERN_GLOBAL);
    if (!e) {
        free(g);
        return SW_ERR_NOMEM;
    }
    e->global = g;
    e->owned = true;
    return SW_OK;
}

sw_status sw_linker_define_memory(sw_linker *linker, const char *module, const char *name,
                                  uint32_t min, uint32_t max)
{
    if (!linker || !module || !name || min > SW_MAX_PAGES || (max != SW_NO_MAX && max < min))
        return SW_ERR_ARG;
    struct sw_memory_obj *m = calloc(1, sizeof *m);
    if (!m) return SW_ERR_NOMEM;
    if (sw__memory_create(m, min, max, SW_MAX_PAGES) != SW_OK) {
        free(m);
        return SW_ERR_NOMEM;
    }
    struct link_entry *e = add_entry(linker, module, name, SW_EXTERN_MEMORY);
    if (!e) {
        sw__memory_release(m);
        free(m);
        return SW_ERR_NOMEM;
    }
    e->memory = m;
    e->owned = true;
    return SW_OK;
}

sw_status sw_linker_define_table(sw_linker *linker, const char *module, const char *name,
                                 sw_valtype reftype, uint32_t min, uint32_t max)
{
    if (!linker || !module || !name || (reftype != SW_FUNCREF && reftype != SW_EXTERNREF) ||
        (max != SW_NO_MAX && max < min))
        return SW_ERR_ARG;
    struct sw_table_obj *t = calloc(1, sizeof *t);
    if (!t) return SW_ERR_NOMEM;
    t->type = reftype;
    t->max = max;
    if (min && sw__table_grow(t, min, 0) < 0) {
        free(t);
        return SW_ERR_NOMEM;
    }
    struct link_entry *e = add_entry(linker, module, name, SW_EXTERN_TABLE);
    if (!e) {
        free(t->elems);
        free(t);
        return SW_ERR_NOMEM;
    }
    e->table = t;
    e->owned = true;
    return SW_OK;
}

sw_status sw_linker_define_instance(sw_linker *linker, const char *module, sw_instance *instance)
{
    if (!linker || !module || !instance) return SW_ERR_ARG;
    const sw_module *m = instance->module;
    for (uint32_t i = 0; i < m->nexports; i++) {
        const struct mod_export *x = &m->exports[i];
        struct link_entry *e = add_entry(linker, module, x->name, x->kind);
        if (!e) return SW_ERR_NOMEM;
        switch (x->kind) {
        case SW_EXTERN_FUNC: e->func = instance->funcs[x->index]; break;
        case SW_EXTERN_TABLE: e->table = instance->tables[x->index]; break;
        case SW_EXTERN_MEMORY: e->memory = instance->memory; break;
        case SW_EXTERN_GLOBAL: e->global = instance->globals[x->index]; break;
        }
    }
    return SW_OK;
}

void sw__linker_keep(sw_linker *linker, sw_instance *zombie)
{
    zombie->next_zombie = linker->zombies;
    linker->zombies = zombie;
}

static bool limits_match(uint32_t have_min, uint32_t have_max, uint32_t want_min, uint32_t want_max)
{
    if (have_min < want_min) return false;
    if (want_max == SW_NO_MAX) return true;
    return have_max != SW_NO_MAX && have_max <= want_max;
}

const struct link_entry *sw__linker_resolve(const sw_linker *linker, const sw_module *m,
                                            const struct mod_import *im, const char **why)
{
    const struct link_entry *found = NULL;
    bool name_seen = false;
    for (size_t i = linker ? linker->n : 0; i-- > 0;) {
        const struct link_entry *e = &linker->entries[i];
        if (strcmp(e->module, im->module) || strcmp(e->name, im->name)) continue;
        name_seen = true;
        if (e->kind == im->kind) {
            found = e;
            break;
        }
    }
    if (!found) {
        *why = name_seen ? "incompatible import type" : "unknown import";
        return NULL;
    }
    bool ok = false;
    switch (im->kind) {
    case SW_EXTERN_FUNC: ok = sw__ftype_equal(found->func->type, &m->types[im->typeidx]); break;
    case SW_EXTERN_TABLE:
        ok = found->table->type == im->type.of.table.reftype &&
             limits_match(found->table->size, found->table->max, im->type.of.table.min,
                          im->type.of.table.max);
        break;
    case SW_EXTERN_MEMORY:
        ok = limits_match(found->memory->pages, found->memory->max, im->type.of.memory.min,
                          im->type.of.memory.max);
        break;
    case SW_EXTERN_GLOBAL:
        ok = found->global->type == im->type.of.global.type &&
             found->global->mut == im->type.of.global.mutable_;
        break;
    }
    if (!ok) {
        *why = "incompatible import type";
        return NULL;
    }
    return found;
}
