/* A hash map from strings to pointers (open addressing, linear probing,
 * backward-shift deletion). Keys are borrowed: each key must live in its
 * value (e.g. a record's uuid) as long as the entry is in the map.
 * Find, insert and remove cost O(1) on average. */
#ifndef STRATUS_ORCHESTRATOR_STRMAP_H
#define STRATUS_ORCHESTRATOR_STRMAP_H

#include <stddef.h>

struct strmap {
    const char **keys;
    void **values;
    size_t cap, count; /* cap is a power of two */
};

void strmap_init(struct strmap *m);
void strmap_clear(struct strmap *m); /* frees the table, never keys or values */

void *strmap_get(const struct strmap *m, const char *key);
/* Insert or replace. Returns 0, or -1 on OOM. */
int strmap_put(struct strmap *m, const char *key, void *value);
/* Remove key if present. */
void strmap_del(struct strmap *m, const char *key);

#endif
