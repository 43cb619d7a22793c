/* The client's memory of local module files' SHA-256 (see
 * file_hash_memo.h). */
#define _GNU_SOURCE
#include "file_hash_memo.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state_dir.h"
#include "stratus/file_transfer.h"

/* The memory's file, and the canonical form of path. 0 or -1. */
static int memo_paths(const char *path, char memo[PATH_MAX], char canon[PATH_MAX])
{
    if (!realpath(path, canon) || strchr(canon, '\n')) return -1;
    char *dir = state_dir_default(NULL);
    if (!dir) return -1;
    int n = snprintf(memo, PATH_MAX, "%s/file-hashes", dir);
    free(dir);
    return n > 0 && n < PATH_MAX ? 0 : -1;
}

struct memo_entry {
    char hex[65];
    unsigned long long dev, ino, size, ms, mns, cs, cns;
    char path[PATH_MAX];
};

/* Parse one line; 0 or -1. */
static int parse_line(const char *line, struct memo_entry *e)
{
    int used = 0;
    if (sscanf(line, "%64s %llu %llu %llu %llu %llu %llu %llu %n", e->hex, &e->dev, &e->ino,
               &e->size, &e->ms, &e->mns, &e->cs, &e->cns, &used) != 8 ||
        !used || !file_hash_is_valid(e->hex))
        return -1;
    size_t n = strcspn(line + used, "\n");
    if (n == 0 || n >= PATH_MAX) return -1;
    memcpy(e->path, line + used, n);
    e->path[n] = '\0';
    return 0;
}

static void entry_of(struct memo_entry *e, const char *canon, const struct stat *st,
                     const char *hex)
{
    snprintf(e->hex, sizeof e->hex, "%s", hex ? hex : "");
    e->dev = (unsigned long long)st->st_dev;
    e->ino = (unsigned long long)st->st_ino;
    e->size = (unsigned long long)st->st_size;
    e->ms = (unsigned long long)st->st_mtim.tv_sec;
    e->mns = (unsigned long long)st->st_mtim.tv_nsec;
    e->cs = (unsigned long long)st->st_ctim.tv_sec;
    e->cns = (unsigned long long)st->st_ctim.tv_nsec;
    snprintf(e->path, sizeof e->path, "%s", canon);
}

static int same_file(const struct memo_entry *a, const struct memo_entry *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->ms == b->ms &&
           a->mns == b->mns && a->cs == b->cs && a->cns == b->cns && !strcmp(a->path, b->path);
}

int file_hash_memo_get(const char *path, const struct stat *st, char hex[65])
{
    char memo[PATH_MAX], canon[PATH_MAX];
    if (memo_paths(path, memo, canon) < 0) return 0;
    FILE *f = fopen(memo, "re");
    if (!f) return 0;
    struct memo_entry want, e;
    entry_of(&want, canon, st, NULL);
    char line[PATH_MAX + 256];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        if (parse_line(line, &e) == 0 && same_file(&e, &want)) {
            memcpy(hex, e.hex, 65);
            found = 1;
        }
    fclose(f);
    return found;
}

static void write_entry(FILE *f, const struct memo_entry *e)
{
    fprintf(f, "%s %llu %llu %llu %llu %llu %llu %llu %s\n", e->hex, e->dev, e->ino, e->size, e->ms,
            e->mns, e->cs, e->cns, e->path);
}

void file_hash_memo_put(const char *path, const struct stat *st, const char hex[65])
{
    char memo[PATH_MAX], canon[PATH_MAX];
    if (!file_hash_is_valid(hex) || memo_paths(path, memo, canon) < 0) return;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", memo);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    if (state_dir_make(dir) < 0) return;
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", memo, (long)getpid());
    FILE *out = fopen(tmp, "we");
    if (!out) return;
    struct memo_entry e;
    entry_of(&e, canon, st, hex);
    write_entry(out, &e);
    /* The others, older ones after; none for the same path (it changed). */
    FILE *in = fopen(memo, "re");
    char line[PATH_MAX + 256];
    int kept = 1;
    while (in && kept < FILE_HASH_MEMO_MAX && fgets(line, sizeof line, in)) {
        struct memo_entry old;
        if (parse_line(line, &old) < 0 || !strcmp(old.path, canon)) continue;
        write_entry(out, &old);
        kept++;
    }
    if (in) fclose(in);
    if (fclose(out) != 0 || rename(tmp, memo) != 0) unlink(tmp);
}
