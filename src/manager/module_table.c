/* Module index allocation for one runtime (see module_table.h). A linear scan
 * over at most 128 slots is cheaper than any index structure here. */
#include "module_table.h"

#include <string.h>

void module_table_init(struct module_table *t, int capacity)
{
    memset(t, 0, sizeof *t);
    if (capacity < 0) capacity = 0;
    if (capacity > MODULE_TABLE_MAX) capacity = MODULE_TABLE_MAX;
    t->capacity = capacity;
}

int module_table_find(const struct module_table *t, const char *uuid)
{
    for (int i = 0; i < t->capacity; i++)
        if (t->slots[i].used && !strcmp(t->slots[i].uuid, uuid)) return i;
    return -1;
}

int module_table_insert(struct module_table *t, const char *uuid, int *index)
{
    if (!uuid || !*uuid || strlen(uuid) >= UUID_STR_LEN) return MT_ERR_INVALID;
    int existing = module_table_find(t, uuid);
    if (existing >= 0) {
        *index = existing;
        return MT_ERR_EXISTS;
    }
    for (int i = 0; i < t->capacity; i++) {
        if (!t->slots[i].used) {
            t->slots[i].used = 1;
            strcpy(t->slots[i].uuid, uuid);
            t->count++;
            *index = i;
            return MT_OK;
        }
    }
    return MT_ERR_FULL;
}

const char *module_table_uuid(const struct module_table *t, int index)
{
    if (index < 0 || index >= t->capacity || !t->slots[index].used) return NULL;
    return t->slots[index].uuid;
}

int module_table_remove(struct module_table *t, int index)
{
    if (index < 0 || index >= t->capacity || !t->slots[index].used) return MT_ERR_INVALID;
    t->slots[index].used = 0;
    t->slots[index].uuid[0] = '\0';
    t->count--;
    return MT_OK;
}
