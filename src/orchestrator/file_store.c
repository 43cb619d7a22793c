/* The orchestrator's module store (see file_store.h): files and their
 * descriptions in one directory, an array of them in memory. */
#define _GNU_SOURCE
#include "file_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "slog.h"
#include "stratus/sha256.h"
#include "stratus/wasm.h"

struct file_store {
    char *dir;
    uint64_t max_size;
    struct file_info *files;
    size_t n, cap;
};

static int path_of(const struct file_store *fs, const char *sha256, const char *suffix, char *buf,
                   size_t cap)
{
    int n = snprintf(buf, cap, "%s/%s%s", fs->dir, sha256, suffix);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static struct file_info *find(const struct file_store *fs, const char *sha256)
{
    if (!sha256) return NULL;
    for (size_t i = 0; i < fs->n; i++)
        if (!strcmp(fs->files[i].sha256, sha256)) return &fs->files[i];
    return NULL;
}

static int add(struct file_store *fs, const char *sha256, uint64_t size, const char *name,
               double uploaded_at, double used_at)
{
    if (fs->n == fs->cap) {
        size_t cap = fs->cap ? fs->cap * 2 : 16;
        struct file_info *p = realloc(fs->files, cap * sizeof *p);
        if (!p) return -1;
        fs->files = p;
        fs->cap = cap;
    }
    struct file_info *f = &fs->files[fs->n];
    memcpy(f->sha256, sha256, FILE_HASH_HEX + 1);
    f->size = size;
    f->name = strdup(name ? name : "module.wasm");
    if (!f->name) return -1;
    f->uploaded_at = uploaded_at;
    f->used_at = used_at;
    fs->n++;
    return 0;
}

static double mtime_of(const struct stat *st)
{
    return (double)st->st_mtim.tv_sec + st->st_mtim.tv_nsec / 1e9;
}

/* Take one stored file and its description (a missing or unreadable
 * description leaves the name unknown, the upload time its mtime). */
static void load_one(struct file_store *fs, const char *sha256, const struct stat *st)
{
    char path[PATH_MAX];
    const char *name = NULL;
    double uploaded = mtime_of(st);
    json_t *desc = NULL;
    if (path_of(fs, sha256, ".json", path, sizeof path) == 0) {
        desc = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
        name = json_string_value(json_object_get(desc, "name"));
        json_t *at = json_object_get(desc, "uploaded_at");
        if (json_is_number(at)) uploaded = json_number_value(at);
    }
    if (add(fs, sha256, (uint64_t)st->st_size, name, uploaded, mtime_of(st)) < 0)
        slog(SLOG_ERROR, "files", "out of memory loading the module store");
    json_decref(desc);
}

static int by_upload(const void *a, const void *b)
{
    const struct file_info *x = a, *y = b;
    return x->uploaded_at < y->uploaded_at ? -1 : x->uploaded_at > y->uploaded_at;
}

int file_store_open(const char *dir, uint64_t max_size, struct file_store **out,
                    char err[FILE_STORE_ERR_LEN])
{
    *out = NULL;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, FILE_STORE_ERR_LEN, "cannot make the module store %s: %s", dir,
                 strerror(errno));
        return -1;
    }
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, FILE_STORE_ERR_LEN, "cannot read the module store %s: %s", dir,
                 strerror(errno));
        return -1;
    }
    struct file_store *fs = calloc(1, sizeof *fs);
    if (!fs || !(fs->dir = strdup(dir))) {
        free(fs);
        closedir(d);
        snprintf(err, FILE_STORE_ERR_LEN, "out of memory");
        return -1;
    }
    fs->max_size = max_size ? max_size : FILE_SIZE_DEFAULT_MAX;
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st;
        if (!strncmp(de->d_name, ".tmp-", 5)) {
            unlinkat(dirfd(d), de->d_name, 0); /* an upload cut short */
            continue;
        }
        if (!file_hash_is_valid(de->d_name) ||
            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        load_one(fs, de->d_name, &st);
    }
    closedir(d);
    if (fs->n) qsort(fs->files, fs->n, sizeof *fs->files, by_upload);
    *out = fs;
    return 0;
}

void file_store_close(struct file_store *fs)
{
    if (!fs) return;
    for (size_t i = 0; i < fs->n; i++)
        free(fs->files[i].name);
    free(fs->files);
    free(fs->dir);
    free(fs);
}

uint64_t file_store_max_size(const struct file_store *fs)
{
    return fs->max_size;
}

const char *file_store_dir(const struct file_store *fs)
{
    return fs->dir;
}

/* Write len bytes to path through a temporary file renamed over it. */
static int write_whole(const struct file_store *fs, const char *path, const void *bytes, size_t len)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s/.tmp-XXXXXX", fs->dir) >= sizeof tmp) return -1;
    int fd = mkstemp(tmp);
    if (fd < 0) return -1;
    const char *p = bytes;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, p + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        off += (size_t)n;
    }
    int ok = off == len && fchmod(fd, 0600) == 0 && fsync(fd) == 0;
    int saved = errno;
    close(fd);
    if (!ok || rename(tmp, path) < 0) {
        saved = ok ? errno : saved;
        unlink(tmp);
        errno = saved;
        return -1;
    }
    return 0;
}

static void set_mtime(const char *path, double when)
{
    struct timespec ts[2];
    ts[0].tv_sec = ts[1].tv_sec = (time_t)when;
    ts[0].tv_nsec = ts[1].tv_nsec = (long)((when - (double)(time_t)when) * 1e9);
    utimensat(AT_FDCWD, path, ts, 0);
}

int file_store_put(struct file_store *fs, const void *bytes, size_t len, const char *name,
                   double now, char hex[FILE_HASH_HEX + 1], int *created,
                   char err[FILE_STORE_ERR_LEN])
{
    *created = 0;
    if ((uint64_t)len > fs->max_size) {
        snprintf(err, FILE_STORE_ERR_LEN, "the file is %zu bytes, over the store's limit of %llu",
                 len, (unsigned long long)fs->max_size);
        return 413;
    }
    if (!len) {
        snprintf(err, FILE_STORE_ERR_LEN, "the body is empty: send the module's bytes");
        return 400;
    }
    uint8_t digest[SHA256_DIGEST_LEN];
    sha256(bytes, len, digest);
    file_hash_to_hex(digest, hex);
    if (find(fs, hex)) {
        file_store_touch(fs, hex, now);
        return 0;
    }
    /* The engine's own loader decides: the same message a node would give. */
    sw_module *module = NULL;
    sw_error werr;
    memset(&werr, 0, sizeof werr);
    if (sw_module_load(bytes, len, &module, &werr) != SW_OK) {
        snprintf(err, FILE_STORE_ERR_LEN, "not a valid WebAssembly module: %s", werr.message);
        return 400;
    }
    sw_module_free(module);
    char path[PATH_MAX], desc_path[PATH_MAX];
    if (path_of(fs, hex, "", path, sizeof path) < 0 ||
        path_of(fs, hex, ".json", desc_path, sizeof desc_path) < 0) {
        snprintf(err, FILE_STORE_ERR_LEN, "the store's path is too long");
        return 500;
    }
    json_t *desc = json_pack("{s:s, s:I, s:f}", "name", name ? name : "module.wasm", "size",
                             (json_int_t)len, "uploaded_at", now);
    char *text = desc ? json_dumps(desc, JSON_COMPACT) : NULL;
    json_decref(desc);
    /* The description first: a file is listed only once both are there. */
    if (!text || write_whole(fs, desc_path, text, strlen(text)) < 0 ||
        write_whole(fs, path, bytes, len) < 0) {
        snprintf(err, FILE_STORE_ERR_LEN, "cannot write to the module store: %s",
                 text ? strerror(errno) : "out of memory");
        free(text);
        unlink(desc_path);
        return 500;
    }
    free(text);
    set_mtime(path, now);
    if (add(fs, hex, len, name, now, now) < 0) {
        snprintf(err, FILE_STORE_ERR_LEN, "out of memory");
        return 500;
    }
    *created = 1;
    slog(SLOG_INFO, "files", "stored %s (%s, %zu bytes)", hex, name ? name : "module.wasm", len);
    return 0;
}

const struct file_info *file_store_find(const struct file_store *fs, const char *sha256)
{
    return find(fs, sha256);
}

size_t file_store_count(const struct file_store *fs)
{
    return fs->n;
}

const struct file_info *file_store_at(const struct file_store *fs, size_t i)
{
    return i < fs->n ? &fs->files[i] : NULL;
}

void file_store_touch(struct file_store *fs, const char *sha256, double now)
{
    struct file_info *f = find(fs, sha256);
    if (!f) return;
    f->used_at = now;
    char path[PATH_MAX];
    if (path_of(fs, sha256, "", path, sizeof path) == 0) set_mtime(path, now);
}

int file_store_remove(struct file_store *fs, const char *sha256)
{
    struct file_info *f = find(fs, sha256);
    if (!f) return -1;
    char path[PATH_MAX];
    if (path_of(fs, sha256, "", path, sizeof path) == 0) unlink(path);
    if (path_of(fs, sha256, ".json", path, sizeof path) == 0) unlink(path);
    free(f->name);
    size_t i = (size_t)(f - fs->files);
    memmove(f, f + 1, (fs->n - i - 1) * sizeof *f);
    fs->n--;
    return 0;
}

int file_store_open_file(const struct file_store *fs, const char *sha256)
{
    char path[PATH_MAX];
    if (!find(fs, sha256) || path_of(fs, sha256, "", path, sizeof path) < 0) return -1;
    return open(path, O_RDONLY | O_CLOEXEC);
}

size_t file_store_sweep(struct file_store *fs, double now, double retention_sec,
                        int (*in_use)(void *ctx, const char *sha256), void *ctx)
{
    size_t removed = 0;
    for (size_t i = 0; i < fs->n;) {
        struct file_info *f = &fs->files[i];
        if (now - f->used_at >= retention_sec && !(in_use && in_use(ctx, f->sha256))) {
            slog(SLOG_INFO, "files", "removed %s (%s): unused for %.0f s", f->sha256, f->name,
                 now - f->used_at);
            char hex[FILE_HASH_HEX + 1];
            memcpy(hex, f->sha256, sizeof hex);
            file_store_remove(fs, hex);
            removed++;
            continue;
        }
        i++;
    }
    return removed;
}
