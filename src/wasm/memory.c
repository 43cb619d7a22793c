/* Linear memories: address space reserved up front, pages committed by the
 * kernel only when first touched, growth by changing protection.
 *
 * A guarded memory reserves SW_GUARD_RESERVE bytes of PROT_NONE address
 * space: every i32 address plus every memarg offset plus the widest access
 * (2^32-1 + 2^32-1 + 8 bytes) falls inside it, so an access past the
 * accessible size faults in the guard region instead of needing a bounds
 * check; guard_fault.c turns that fault into a trap. The base never moves.
 *
 * When the address space does not allow the reservation (RLIMIT_AS, a
 * 32-bit host), the memory is an ordinary anonymous mapping of exactly its
 * size that grows with mremap (it may move), and the interpreter checks
 * bounds explicitly for it; once that has happened in a process, every
 * later call uses the bounds-checking loop (sw__guards_failed). The
 * environment variable STRATUS_NO_GUARD_PAGES=1 asks for that mode from the
 * start (for hosts that must not take SIGSEGV, and to test the mode). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

atomic_bool sw__guards_failed;

sw_status sw__memory_create(struct sw_memory_obj *m, uint32_t min, uint32_t max, uint32_t limit)
{
    memset(m, 0, sizeof *m);
    m->max = max;
    m->limit = limit;
    void *p = MAP_FAILED;
    const char *no_guards = getenv("STRATUS_NO_GUARD_PAGES");
    if (sizeof(void *) == 8 && !(no_guards && !strcmp(no_guards, "1")))
        p = mmap(NULL, SW_GUARD_RESERVE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
                 0);
    if (p != MAP_FAILED) {
        m->data = p;
        m->reserved = SW_GUARD_RESERVE;
        m->guarded = true;
    } else {
        atomic_store(&sw__guards_failed, true);
    }
    if (min && sw__memory_grow(m, min) < 0) {
        sw__memory_release(m);
        return SW_ERR_NOMEM;
    }
    return SW_OK;
}

void sw__memory_release(struct sw_memory_obj *m)
{
    if (m->data && m->reserved) munmap(m->data, m->reserved);
    m->data = NULL;
    m->reserved = 0;
    m->size = 0;
    m->pages = 0;
}

/* Makes [size, bytes) accessible: a protection change when guarded, else a
 * new or bigger mapping. */
static bool commit(struct sw_memory_obj *m, uint64_t bytes)
{
    if (m->guarded)
        return mprotect(m->data + m->size, bytes - m->size, PROT_READ | PROT_WRITE) == 0;
    void *p;
    if (!m->data)
        p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
    else
        p = mremap(m->data, m->reserved, bytes, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) return false;
    m->data = p;
    m->reserved = bytes;
    return true;
}

int64_t sw__memory_grow(struct sw_memory_obj *m, uint32_t delta)
{
    uint32_t old = m->pages;
    uint64_t want = (uint64_t)old + delta;
    if (want > m->max || want > SW_MAX_PAGES) return -1;
    if (want > m->limit) {
        m->refused = (uint32_t)want;
        return -1;
    }
    if (delta == 0) return old;
    uint64_t bytes = want * SW_PAGE;
    if (!commit(m, bytes)) return -1;
    m->size = bytes;
    m->pages = (uint32_t)want;
    return old;
}

void sw_instance_limit_note(const sw_instance *instance, char *out, size_t cap)
{
    if (!cap) return;
    out[0] = '\0';
    const struct sw_memory_obj *m = instance ? instance->memory : NULL;
    if (m && m->refused)
        snprintf(out, cap, "memory.grow to %u pages refused: limit %u pages (%u MiB)", m->refused,
                 m->limit, m->limit / 16);
}
