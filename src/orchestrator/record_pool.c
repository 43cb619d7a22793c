/* Fixed-size records in mmap'd blocks (see record_pool.h). */
#include "record_pool.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Under AddressSanitizer every item is a heap allocation of its own, so that
 * a record used after it was given back is reported, not read silently. */
#if defined(__SANITIZE_ADDRESS__)
#define POOL_CHECKED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_CHECKED 1
#endif
#endif

void record_pool_init(struct record_pool *p, size_t item_size)
{
    memset(p, 0, sizeof *p);
    size_t align = sizeof(void *) > 8 ? sizeof(void *) : 8;
    if (item_size < sizeof(void *)) item_size = sizeof(void *);
    p->item_size = (item_size + align - 1) / align * align;
    p->per_block = RECORD_POOL_BLOCK / p->item_size;
}

void *record_pool_alloc(struct record_pool *p)
{
#ifdef POOL_CHECKED
    return calloc(1, p->item_size);
#endif
    if (p->free_list) {
        void *item = p->free_list;
        p->free_list = *(void **)item;
        memset(item, 0, p->item_size);
        return item;
    }
    if (!p->nblocks || p->used_last == p->per_block) {
        void **blocks = realloc(p->blocks, (p->nblocks + 1) * sizeof *blocks);
        if (!blocks) return NULL;
        p->blocks = blocks;
        void *b = mmap(NULL, RECORD_POOL_BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
        if (b == MAP_FAILED) return NULL;
        p->blocks[p->nblocks++] = b;
        p->used_last = 0;
    }
    /* Fresh pages of an anonymous mapping are zero. */
    return (char *)p->blocks[p->nblocks - 1] + p->item_size * p->used_last++;
}

void record_pool_free(struct record_pool *p, void *item)
{
    if (!item) return;
#ifdef POOL_CHECKED
    free(item);
    return;
#endif
    *(void **)item = p->free_list;
    p->free_list = item;
}

void record_pool_clear(struct record_pool *p)
{
    for (size_t i = 0; i < p->nblocks; i++)
        munmap(p->blocks[i], RECORD_POOL_BLOCK);
    free(p->blocks);
    size_t size = p->item_size;
    record_pool_init(p, size);
}
