/* String-keyed hash map (see strmap.h). */
#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211u;
    return (size_t)(h ^ (h >> 29));
}

void strmap_init(struct strmap *m)
{
    memset(m, 0, sizeof *m);
}

void strmap_clear(struct strmap *m)
{
    free(m->keys);
    free(m->values);
    strmap_init(m);
}

static size_t slot_of(const struct strmap *m, const char *key)
{
    size_t mask = m->cap - 1;
    size_t i = hash(key) & mask;
    while (m->keys[i] && strcmp(m->keys[i], key))
        i = (i + 1) & mask;
    return i;
}

void *strmap_get(const struct strmap *m, const char *key)
{
    if (!m->cap) return NULL;
    size_t i = slot_of(m, key);
    return m->keys[i] ? m->values[i] : NULL;
}

static int grow(struct strmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    struct strmap n = {calloc(cap, sizeof *n.keys), calloc(cap, sizeof *n.values), cap, 0};
    if (!n.keys || !n.values) {
        free(n.keys);
        free(n.values);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t j = slot_of(&n, m->keys[i]);
        n.keys[j] = m->keys[i];
        n.values[j] = m->values[i];
        n.count++;
    }
    free(m->keys);
    free(m->values);
    *m = n;
    return 0;
}

int strmap_put(struct strmap *m, const char *key, void *value)
{
    /* Load factor at most 1/2. */
    if ((m->count + 1) * 2 > m->cap && grow(m) < 0) return -1;
    size_t i = slot_of(m, key);
    if (!m->keys[i]) m->count++;
    m->keys[i] = key;
    m->values[i] = value;
    return 0;
}

void strmap_del(struct strmap *m, const char *key)
{
    if (!m->cap) return;
    size_t mask = m->cap - 1;
    size_t i = slot_of(m, key);
    if (!m->keys[i]) return;
    m->keys[i] = NULL;
    m->values[i] = NULL;
    m->count--;
    /* Move back the entries of the run after i that may no longer be found. */
    for (size_t j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
        size_t home = hash(m->keys[j]) & mask;
        /* j's entry may stay if its home lies cyclically in (i, j]. */
        int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays) continue;
        m->keys[i] = m->keys[j];
        m->values[i] = m->values[j];
        m->keys[j] = NULL;
        m->values[j] = NULL;
        i = j;
    }
}
