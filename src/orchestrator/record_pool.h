/* A pool of fixed-size records in blocks of their own (mmap), apart from the
 * heap. The orchestrator's module records live for as long as the modules;
 * allocated from the heap during a burst of requests they end up scattered
 * between the burst's short-lived buffers and keep every page of it
 * resident after those are freed (12 MiB of heap for 1.7 MiB in use after
 * 8,000 creates). In blocks of their own they fill whole pages, and the heap
 * can give the rest back. (Built with AddressSanitizer, each item is a heap
 * allocation, so that use after free is caught.) */
#ifndef STRATUS_ORCHESTRATOR_RECORD_POOL_H
#define STRATUS_ORCHESTRATOR_RECORD_POOL_H

#include <stddef.h>

struct record_pool {
    size_t item_size; /* at least a pointer */
    size_t per_block; /* items in one block */
    void **blocks;    /* each RECORD_POOL_BLOCK bytes */
    size_t nblocks;
    size_t used_last; /* items handed out of the last block */
    void *free_list;  /* freed items, linked through their first bytes */
};

#define RECORD_POOL_BLOCK (256u * 1024u)

void record_pool_init(struct record_pool *p, size_t item_size);
/* A zeroed item, or NULL on OOM. O(1). */
void *record_pool_alloc(struct record_pool *p);
/* Give an item back (NULL allowed). O(1). */
void record_pool_free(struct record_pool *p, void *item);
/* Unmap every block: every item is gone. */
void record_pool_clear(struct record_pool *p);

#endif
