/* The runtime's cache of loaded modules (see module_cache.h): a short list
 * under one mutex. Loading happens outside the lock, so one slow file does
 * not hold up modules of other files; two threads that load the same new
 * file at once keep the first copy and drop the second. */
#define _GNU_SOURCE
#include "module_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct file_key {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

struct cache_entry {
    struct cache_entry *next;
    struct file_key key;
    sw_module *module;
    unsigned users;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_entry *entries;

static bool same_key(const struct file_key *a, const struct file_key *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* Takes a user of the entry with `key`, if there is one. */
static sw_module *lookup(const struct file_key *key)
{
    for (struct cache_entry *e = entries; e; e = e->next)
        if (same_key(&e->key, key)) {
            e->users++;
            return e->module;
        }
    return NULL;
}

int module_cache_get(const char *path, sw_module **out, char *reason, size_t cap)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(reason, cap, "cannot read: %s", strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    struct file_key key = {st.st_dev, st.st_ino, st.st_size, st.st_mtim};
    pthread_mutex_lock(&cache_lock);
    sw_module *found = lookup(&key);
    pthread_mutex_unlock(&cache_lock);
    if (found) {
        close(fd);
        *out = found;
        return 0;
    }
    sw_module *module = NULL;
    sw_error err;
    /* "" : the caller names the file itself */
    sw_status status = sw_module_load_fd(fd, "", &module, &err);
    close(fd);
    if (status != SW_OK) {
        snprintf(reason, cap, "%s", err.message);
        return -1;
    }
    struct cache_entry *entry = calloc(1, sizeof *entry);
    pthread_mutex_lock(&cache_lock);
    found = lookup(&key);
    if (!found && entry) {
        entry->key = key;
        entry->module = module;
        entry->users = 1;
        entry->next = entries;
        entries = entry;
        entry = NULL;
        found = module;
        module = NULL;
    }
    pthread_mutex_unlock(&cache_lock);
    free(entry);
    sw_module_free(module); /* another thread's copy won, no entry could be had, or NULL */
    if (!found) {
        snprintf(reason, cap, "out of memory");
        return -1;
    }
    *out = found;
    return 0;
}

void module_cache_put(sw_module *module)
{
    if (!module) return;
    sw_module *drop = NULL;
    pthread_mutex_lock(&cache_lock);
    for (struct cache_entry **p = &entries; *p; p = &(*p)->next)
        if ((*p)->module == module) {
            struct cache_entry *e = *p;
            if (--e->users == 0) {
                *p = e->next;
                drop = e->module;
                free(e);
            }
            break;
        }
    pthread_mutex_unlock(&cache_lock);
    sw_module_free(drop);
}

size_t module_cache_size(void)
{
    size_t n = 0;
    pthread_mutex_lock(&cache_lock);
    for (struct cache_entry *e = entries; e; e = e->next)
        n++;
    pthread_mutex_unlock(&cache_lock);
    return n;
}
