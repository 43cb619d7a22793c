/* Internal view of the linker shared by linker.c and instance.c: the list of
 * named definitions and the import resolution that instantiation uses. */
#ifndef STRATUS_WASM_LINKER_H
#define STRATUS_WASM_LINKER_H

#include "internal.h"

/* One importable definition. `owned` ones (host definitions) are freed with
 * the linker; the others belong to a registered instance. */
struct link_entry {
    char *module, *name;
    sw_extern_kind kind;
    bool owned;
    sw_func *func;
    struct sw_global_obj *global;
    struct sw_memory_obj *memory;
    struct sw_table_obj *table;
};

struct sw_linker {
    struct link_entry *entries;
    size_t n, cap;
    sw_instance *zombies; /* instances whose instantiation trapped */
};

/* Finds the definition for an import and checks its type; NULL with *why
 * ("unknown import" / "incompatible import type") when there is none. */
const struct link_entry *sw__linker_resolve(const sw_linker *linker, const sw_module *m,
                                            const struct mod_import *im, const char **why);

/* Hands a partially instantiated instance to the linker to free later. */
void sw__linker_keep(sw_linker *linker, sw_instance *zombie);

#endif
