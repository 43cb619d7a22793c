/* The modules of one runtime: index allocation (lowest free index first, up
 * to the runtime's max_nmodules) and lookup by module UUID. Indexes are what
 * frames carry in h1 bits 0-6, so there are at most 128. */
#ifndef STRATUS_MANAGER_MODULE_TABLE_H
#define STRATUS_MANAGER_MODULE_TABLE_H

#include "stratus/uuid.h"

#define MODULE_TABLE_MAX 128

enum module_table_error {
    MT_OK = 0,
    MT_ERR_FULL = -1,    /* every index up to the capacity is taken */
    MT_ERR_EXISTS = -2,  /* the UUID already has an index (returned in *index) */
    MT_ERR_INVALID = -3, /* bad UUID or index */
};

struct module_table {
    int capacity;
    int count;
    struct {
        int used;
        char uuid[UUID_STR_LEN];
    } slots[MODULE_TABLE_MAX];
};

/* capacity is clamped to 0..MODULE_TABLE_MAX. */
void module_table_init(struct module_table *t, int capacity);

/* Give uuid the lowest free index. Returns MT_OK with *index, MT_ERR_EXISTS
 * with the index it already has, MT_ERR_FULL, or MT_ERR_INVALID (uuid longer
 * than a UUID text). */
int module_table_insert(struct module_table *t, const char *uuid, int *index);

/* Index of uuid, or -1. */
int module_table_find(const struct module_table *t, const char *uuid);

/* UUID at index, or NULL if the index is free or out of range. */
const char *module_table_uuid(const struct module_table *t, int index);

/* Free an index. Returns MT_OK or MT_ERR_INVALID if it was not taken. */
int module_table_remove(struct module_table *t, int index);

#endif
