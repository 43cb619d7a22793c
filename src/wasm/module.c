/* Modules: loading (copy + decode + validate), reference-counted lifetime
 * (instances keep their module alive, so the embedder may free its handle
 * early), and introspection of imports and exports. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void sw__module_ref(sw_module *m)
{
    atomic_fetch_add(&m->refs, 1);
}

static void module_destroy(sw_module *m)
{
    for (uint32_t i = 0; i < m->ntypes; i++)
        free(m->types[i].types);
    free(m->types);
    for (uint32_t i = 0; i < m->nimports; i++) {
        free(m->imports[i].module);
        free(m->imports[i].name);
    }
    free(m->imports);
    free(m->func_types);
    if (m->funcs)
        for (uint32_t i = 0; i < m->nfuncs - m->nfunc_imports; i++) {
            free(m->funcs[i].code.ops);
            free(atomic_load(&m->funcs[i].code.ops_counted));
        }
    free(m->funcs);
    free(m->tables);
    free(m->memories);
    free(m->globals);
    for (uint32_t i = 0; i < m->nexports; i++)
        free(m->exports[i].name);
    free(m->exports);
    for (uint32_t i = 0; i < m->nelems; i++)
        free(m->elems[i].items);
    free(m->elems);
    free(m->datas);
    free(m->declared_funcs);
    sw__native_image_release(atomic_load(&m->native));
    free(m->bytes);
    free(m);
}

void sw_module_free(sw_module *module)
{
    if (module && atomic_fetch_sub(&module->refs, 1) == 1) module_destroy(module);
}

sw_status sw_module_load(const uint8_t *bytes, size_t len, sw_module **out, sw_error *err)
{
    if (!out || (!bytes && len)) {
        sw__set_error(err, SW_ERR_ARG, NULL, 0, "invalid argument");
        return SW_ERR_ARG;
    }
    *out = NULL;
    sw_module *m = calloc(1, sizeof *m);
    if (!m) {
        sw__set_error(err, SW_ERR_NOMEM, NULL, 0, "out of memory");
        return SW_ERR_NOMEM;
    }
    atomic_init(&m->refs, 1);
    atomic_flag_clear(&m->counted_lock);
    m->bytes = malloc(len ? len : 1);
    if (!m->bytes) {
        free(m);
        sw__set_error(err, SW_ERR_NOMEM, NULL, 0, "out of memory");
        return SW_ERR_NOMEM;
    }
    if (len) memcpy(m->bytes, bytes, len);
    m->len = len;
    sw_status st = sw__decode(m, err);
    if (st != SW_OK) {
        module_destroy(m);
        return st;
    }
    *out = m;
    return SW_OK;
}

uint32_t sw_module_import_count(const sw_module *module)
{
    return module->nimports;
}

sw_status sw_module_import(const sw_module *module, uint32_t index, sw_import *out)
{
    if (index >= module->nimports) return SW_ERR_NOT_FOUND;
    const struct mod_import *im = &module->imports[index];
    out->module = im->module;
    out->module_len = im->module_len;
    out->name = im->name;
    out->name_len = im->name_len;
    out->type = im->type;
    return SW_OK;
}

uint32_t sw_module_export_count(const sw_module *module)
{
    return module->nexports;
}

sw_status sw_module_export(const sw_module *module, uint32_t index, sw_export *out)
{
    if (index >= module->nexports) return SW_ERR_NOT_FOUND;
    const struct mod_export *e = &module->exports[index];
    memset(out, 0, sizeof *out);
    out->name = e->name;
    out->name_len = e->name_len;
    out->kind = e->kind;
    out->type.kind = e->kind;
    switch (e->kind) {
    case SW_EXTERN_FUNC: {
        const struct ftype *t = &module->types[module->func_types[e->index]];
        out->type.of.func.nparams = t->nparams;
        out->type.of.func.nresults = t->nresults;
        out->type.of.func.params = t->types;
        out->type.of.func.results = t->types + t->nparams;
        break;
    }
    case SW_EXTERN_TABLE:
        out->type.of.table.reftype = module->tables[e->index].type;
        out->type.of.table.min = module->tables[e->index].min;
        out->type.of.table.max = module->tables[e->index].max;
        break;
    case SW_EXTERN_MEMORY:
        out->type.of.memory.min = module->memories[e->index].min;
        out->type.of.memory.max = module->memories[e->index].max;
        break;
    case SW_EXTERN_GLOBAL:
        out->type.of.global.type = module->globals[e->index].type;
        out->type.of.global.mutable_ = module->globals[e->index].mut;
        break;
    }
    return SW_OK;
}
