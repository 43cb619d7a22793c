/* The node's content-addressed file cache (see file_cache.h): an array of
 * entries ordered by a use counter, the files themselves in one directory. */
#define _GNU_SOURCE
#include "file_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "slog.h"
#include "stratus/file_transfer.h"

struct cache_entry {
    char sha256[FILE_HASH_HEX + 1];
    uint64_t size;
    uint64_t used; /* use counter: larger is more recent */
    int pins;
};

struct file_cache {
    char *dir;
    uint64_t limit, bytes, clock;
    struct cache_entry *entries;
    size_t n, cap;
};

static struct cache_entry *find(const struct file_cache *c, const char *sha256)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->entries[i].sha256, sha256)) return &c->entries[i];
    return NULL;
}

static int entry_path(const struct file_cache *c, const char *sha256, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s/%s", c->dir, sha256);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static void drop_entry(struct file_cache *c, struct cache_entry *e)
{
    c->bytes -= e->size;
    *e = c->entries[--c->n];
}

static int add_entry(struct file_cache *c, const char *sha256, uint64_t size, uint64_t used)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct cache_entry *p = realloc(c->entries, cap * sizeof *p);
        if (!p) return -1;
        c->entries = p;
        c->cap = cap;
    }
    struct cache_entry *e = &c->entries[c->n++];
    memcpy(e->sha256, sha256, FILE_HASH_HEX + 1);
    e->size = size;
    e->used = used;
    e->pins = 0;
    c->bytes += size;
    return 0;
}

/* Remove unpinned files, least recently used first, while over the limit. */
static void evict(struct file_cache *c)
{
    while (c->bytes > c->limit) {
        struct cache_entry *victim = NULL;
        for (size_t i = 0; i < c->n; i++)
            if (!c->entries[i].pins && (!victim || c->entries[i].used < victim->used))
                victim = &c->entries[i];
        if (!victim) return; /* everything left is in use */
        char path[PATH_MAX];
        if (entry_path(c, victim->sha256, path, sizeof path) == 0 && unlink(path) < 0 &&
            errno != ENOENT)
            slog(SLOG_WARNING, "files", "cannot evict %s: %s", path, strerror(errno));
        slog(SLOG_INFO, "files", "evicted %s (%llu bytes) from the file cache", victim->sha256,
             (unsigned long long)victim->size);
        drop_entry(c, victim);
    }
}

struct scanned {
    char sha256[FILE_HASH_HEX + 1];
    uint64_t size;
    struct timespec mtime;
};

static int by_mtime(const void *a, const void *b)
{
    const struct scanned *x = a, *y = b;
    if (x->mtime.tv_sec != y->mtime.tv_sec) return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
    if (x->mtime.tv_nsec != y->mtime.tv_nsec) return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
    return strcmp(x->sha256, y->sha256);
}

/* Take the whole files of the directory, oldest use first. */
static int scan(struct file_cache *c, char *err)
{
    DIR *d = opendir(c->dir);
    if (!d) {
        snprintf(err, FILE_CACHE_ERR_LEN, "cannot read %s: %s", c->dir, strerror(errno));
        return -1;
    }
    struct scanned *list = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d))) {
        struct stat st;
        if (!file_hash_is_valid(de->d_name) ||
            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            struct scanned *p = realloc(list, cap * sizeof *p);
            if (!p) {
                rc = -1;
                break;
            }
            list = p;
        }
        memcpy(list[n].sha256, de->d_name, FILE_HASH_HEX + 1);
        list[n].size = (uint64_t)st.st_size;
        list[n].mtime = st.st_mtim;
        n++;
    }
    closedir(d);
    if (n) qsort(list, n, sizeof *list, by_mtime);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = add_entry(c, list[i].sha256, list[i].size, ++c->clock);
    free(list);
    if (rc < 0) snprintf(err, FILE_CACHE_ERR_LEN, "out of memory");
    return rc;
}

int file_cache_open(const char *dir, uint64_t limit, struct file_cache **out,
                    char err[FILE_CACHE_ERR_LEN])
{
    *out = NULL;
    struct file_cache *c = calloc(1, sizeof *c);
    if (!c || !(c->dir = strdup(dir))) {
        free(c);
        snprintf(err, FILE_CACHE_ERR_LEN, "out of memory");
        return -1;
    }
    c->limit = limit;
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/tmp", dir);
    if ((mkdir(dir, 0700) < 0 && errno != EEXIST) || (mkdir(tmp, 0700) < 0 && errno != EEXIST)) {
        snprintf(err, FILE_CACHE_ERR_LEN, "cannot make the file cache %s: %s", dir,
                 strerror(errno));
        file_cache_close(c);
        return -1;
    }
    if (scan(c, err) < 0) {
        file_cache_close(c);
        return -1;
    }
    evict(c);
    *out = c;
    return 0;
}

void file_cache_close(struct file_cache *c)
{
    if (!c) return;
    free(c->entries);
    free(c->dir);
    free(c);
}

const char *file_cache_dir(const struct file_cache *c)
{
    return c->dir;
}

uint64_t file_cache_limit(const struct file_cache *c)
{
    return c->limit;
}

uint64_t file_cache_used(const struct file_cache *c)
{
    return c->bytes;
}

size_t file_cache_count(const struct file_cache *c)
{
    return c->n;
}

int file_cache_acquire(struct file_cache *c, const char *sha256)
{
    struct cache_entry *e = find(c, sha256);
    if (!e) return 0;
    char path[PATH_MAX];
    if (entry_path(c, sha256, path, sizeof path) < 0) return 0;
    /* The modification time records the use for the next start. */
    if (utimensat(AT_FDCWD, path, NULL, 0) < 0) {
        if (errno == ENOENT) {
            slog(SLOG_WARNING, "files", "%s left the file cache behind the manager's back", path);
            if (!e->pins) drop_entry(c, e);
            return 0;
        }
    }
    e->used = ++c->clock;
    e->pins++;
    return 1;
}

void file_cache_release(struct file_cache *c, const char *sha256)
{
    struct cache_entry *e = find(c, sha256);
    if (!e || e->pins == 0) return;
    e->pins--;
    if (!e->pins) evict(c);
}

int file_cache_pins(const struct file_cache *c, const char *sha256)
{
    const struct cache_entry *e = find(c, sha256);
    return e ? e->pins : 0;
}

int file_cache_partial_path(const struct file_cache *c, const char *sha256, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s/tmp/%s.part", c->dir, sha256);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int file_cache_install(struct file_cache *c, const char *sha256, uint64_t size, int pins,
                       char err[FILE_CACHE_ERR_LEN])
{
    char part[PATH_MAX], path[PATH_MAX];
    if (file_cache_partial_path(c, sha256, part, sizeof part) < 0 ||
        entry_path(c, sha256, path, sizeof path) < 0) {
        snprintf(err, FILE_CACHE_ERR_LEN, "path too long");
        return -1;
    }
    struct cache_entry *old = find(c, sha256);
    if (old) {
        /* Already whole (another fetch finished first): keep that one. */
        unlink(part);
        old->used = ++c->clock;
        old->pins += pins;
        return 0;
    }
    if (rename(part, path) < 0) {
        snprintf(err, FILE_CACHE_ERR_LEN, "cannot move the file into the cache: %s",
                 strerror(errno));
        unlink(part);
        return -1;
    }
    if (add_entry(c, sha256, size, ++c->clock) < 0) {
        snprintf(err, FILE_CACHE_ERR_LEN, "out of memory");
        unlink(path);
        return -1;
    }
    c->entries[c->n - 1].pins = pins;
    evict(c);
    return 0;
}
