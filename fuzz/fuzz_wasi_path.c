/* Fuzz target for WASI path resolution (src/wasi/sandbox.c): arbitrary path
 * strings, with either resolver, against a sandbox in a temporary directory
 * that holds escaping, looping and benign symlinks. Whatever resolves must
 * lie inside the sandbox, and the directory next to it must stay unchanged.
 *
 * Input: byte 0 picks the operation and options, the rest is the path; with
 * the "plant" option, the path is split at the first '\n' into a symlink
 * target the module plants as "fz" and the path to resolve. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox.h"

static char top[64];
static char box_real[PATH_MAX];
static int box_fd = -1, outside_fd = -1;

static void remove_tree(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", top);
}

static void build_tree(void)
{
    strcpy(top, "/tmp/stratus-fuzz-path-XXXXXX");
    if (!mkdtemp(top)) abort();
    atexit(remove_tree);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/outside", top);
    mkdir(path, 0755);
    outside_fd = open(path, O_RDONLY | O_DIRECTORY);
    close(openat(outside_fd, "secret", O_WRONLY | O_CREAT, 0644));
    snprintf(path, sizeof path, "%s/box", top);
    mkdir(path, 0755);
    box_fd = open(path, O_RDONLY | O_DIRECTORY);
    if (box_fd < 0 || outside_fd < 0 || !realpath(path, box_real)) abort();
    mkdirat(box_fd, "d", 0755);
    mkdirat(box_fd, "d/e", 0755);
    close(openat(box_fd, "f", O_WRONLY | O_CREAT, 0644));
    symlinkat("../outside", box_fd, "up");
    symlinkat("/etc", box_fd, "etc");
    symlinkat("..", box_fd, "d/parent");
    symlinkat("../../..", box_fd, "d/e/far");
    symlinkat("l2", box_fd, "l1");
    symlinkat("l1", box_fd, "l2");
    symlinkat("d/e", box_fd, "de");
}

static int count_outside(void)
{
    int fd = dup(outside_fd);
    DIR *d = fdopendir(fd);
    if (!d) abort();
    rewinddir(d); /* the dup shares its offset with earlier counts */
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* Aborts unless fd refers to the sandbox or something in it. */
static void check_inside(int fd, char *where, size_t cap)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, where, cap - 1);
    if (n < 0) abort();
    where[n] = '\0';
    size_t blen = strlen(box_real);
    if (strncmp(where, box_real, blen) != 0 || (where[blen] != '\0' && where[blen] != '/')) {
        fprintf(stderr, "escaped to %s\n", where);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (box_fd < 0) build_tree();
    if (size < 1 || size > 512) return 0;
    uint8_t op = data[0];
    const char *path = (const char *)data + 1;
    size_t len = size - 1;
    bool walk_only = op & 1, follow = op & 2, parent = op & 4, create = op & 8, plant = op & 16;
    if (plant) {
        const char *nl = memchr(path, '\n', len);
        if (!nl) return 0;
        char target[512];
        size_t tlen = (size_t)(nl - path);
        if (memchr(path, '\0', tlen)) return 0;
        memcpy(target, path, tlen);
        target[tlen] = '\0';
        unlinkat(box_fd, "fz", 0);
        if (tlen) symlinkat(target, box_fd, "fz");
        len -= tlen + 1;
        path = nl + 1;
    }
    char where[PATH_MAX];
    if (parent) {
        int dir;
        char *name;
        if (!sbx_parent(box_fd, path, len, follow, walk_only, &dir, &name)) {
            if (strchr(name, '/') || !name[0]) abort();
            check_inside(dir, where, sizeof where);
            free(name);
            close(dir);
        }
    } else {
        int flags = create ? O_WRONLY | O_CREAT | O_EXCL : O_RDONLY;
        int fd;
        if (!sbx_open(box_fd, path, len, flags, 0644, follow, walk_only, &fd)) {
            check_inside(fd, where, sizeof where);
            close(fd);
            if (create) unlink(where); /* keep the tree the same size between runs */
        }
    }
    if (count_outside() != 1) abort();
    return 0;
}
