/* Confined path resolution for WASI (see sandbox.h): the openat2 fast path,
 * and the component walker that gives the same guarantees without it. */
#define _GNU_SOURCE
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* 0 = not probed yet, 1 = available, 2 = missing. */
static atomic_int openat2_state;

static int sys_openat2(int dirfd, const char *path, int flags, mode_t mode)
{
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (unsigned)flags | O_CLOEXEC;
    how.mode = ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

bool sbx_have_openat2(void)
{
    int state = atomic_load(&openat2_state);
    if (state == 0) {
        /* Resolving "." beneath "/" always works where openat2 does; any
         * failure (ENOSYS, a seccomp EPERM, an unknown struct size) means the
         * walker is used instead, which is always correct. */
        state = 2;
        int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root >= 0) {
            int fd = sys_openat2(root, ".", O_PATH | O_DIRECTORY, 0);
            if (fd >= 0) {
                close(fd);
                state = 1;
            }
            close(root);
        }
        atomic_store(&openat2_state, state);
    }
    return state == 1;
}

/* The path as a C string; rejects embedded NULs, which the guest could use to
 * make the host see a different path than the one it checked. */
static int copy_path(const char *path, size_t len, char **out)
{
    if (len > SBX_MAX_PATH) return ENAMETOOLONG;
    if (memchr(path, '\0', len)) return EINVAL;
    char *s = malloc(len + 1);
    if (!s) return ENOMEM;
    memcpy(s, path, len);
    s[len] = '\0';
    *out = s;
    return 0;
}

/* ---- the walker ---- */

struct walk_state {
    int root;
    int *stack; /* directories entered below root, each owned */
    size_t depth, cap;
};

static int current_dir(const struct walk_state *w)
{
    return w->depth ? w->stack[w->depth - 1] : w->root;
}

static int push_dir(struct walk_state *w, int fd)
{
    if (w->depth == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 8;
        int *s = realloc(w->stack, cap * sizeof *s);
        if (!s) {
            close(fd);
            return ENOMEM;
        }
        w->stack = s;
        w->cap = cap;
    }
    w->stack[w->depth++] = fd;
    return 0;
}

static void release_dirs(struct walk_state *w)
{
    while (w->depth)
        close(w->stack[--w->depth]);
    free(w->stack);
    w->stack = NULL;
}

/* Replaces rest[0..end) (a symlink's name) with its target. */
static int splice_target(char **rest, size_t end, const char *target, size_t tlen)
{
    size_t tail = strlen(*rest + end);
    char *s = malloc(tlen + tail + 1);
    if (!s) return ENOMEM;
    memcpy(s, target, tlen);
    memcpy(s + tlen, *rest + end, tail + 1);
    free(*rest);
    *rest = s;
    return 0;
}

/* Walks `path` (a C string) beneath root. On success the containing directory
 * (owned) and the final component (owned) are returned; the final component
 * is "." when the path ends at a directory itself. */
static int walk(int root, const char *path, bool follow_final, int *out_dir, char **out_name,
                bool *out_trailing)
{
    struct walk_state w = {.root = root};
    char *rest = strdup(path);
    char *name = NULL;
    unsigned links = 0;
    bool trailing = false;
    int err = 0;
    if (!rest) return ENOMEM;
    if (rest[0] == '\0') {
        free(rest);
        return ENOENT;
    }
    size_t pos = 0;
    for (;;) {
        if (rest[pos] == '/') {
            /* Only the very start of the path, or of a symlink target, can
             * be absolute; separators between components are skipped below. */
            err = SBX_ENOTCAPABLE;
            break;
        }
        size_t start = pos, end = pos;
        while (rest[end] && rest[end] != '/')
            end++;
        size_t after = end;
        while (rest[after] == '/')
            after++;
        bool last = rest[after] == '\0';
        bool slash_follows = rest[end] == '/';
        size_t clen = end - start;
        const char *comp = rest + start;

        if (clen == 0 || (clen == 1 && comp[0] == '.')) {
            if (last) {
                name = strdup(".");
                trailing = true;
                break;
            }
            pos = after;
            continue;
        }
        if (clen == 2 && comp[0] == '.' && comp[1] == '.') {
            if (w.depth == 0) {
                err = SBX_ENOTCAPABLE;
                break;
            }
            close(w.stack[--w.depth]);
            if (last) {
                name = strdup(".");
                trailing = true;
                break;
            }
            pos = after;
            continue;
        }

        char compbuf[NAME_MAX + 2];
        if (clen > NAME_MAX) {
            err = ENAMETOOLONG;
            break;
        }
        memcpy(compbuf, comp, clen);
        compbuf[clen] = '\0';

        if (!last || follow_final || slash_follows) {
            char target[PATH_MAX];
            ssize_t n = readlinkat(current_dir(&w), compbuf, target, sizeof target);
            if (n >= 0) {
                if ((size_t)n >= sizeof target) {
                    err = ENAMETOOLONG;
                    break;
                }
                if (++links > SBX_MAX_SYMLINKS) {
                    err = ELOOP;
                    break;
                }
                if (n == 0) {
                    err = ENOENT;
                    break;
                }
                /* Replace "prefix/name" by the target; the prefix is already
                 * consumed, so the target starts the remaining path. */
                err = splice_target(&rest, end, target, (size_t)n);
                if (err) break;
                pos = 0;
                continue;
            }
            if (errno != EINVAL && (!last || errno != ENOENT)) {
                err = errno;
                break;
            }
        }
        if (last) {
            name = strdup(compbuf);
            trailing = slash_follows;
            break;
        }
        int fd = openat(current_dir(&w), compbuf, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            err = errno;
            break;
        }
        err = push_dir(&w, fd);
        if (err) break;
        pos = after;
    }
    free(rest);
    if (!err && !name) err = ENOMEM;
    if (!err) {
        int dir;
        if (w.depth) {
            dir = w.stack[--w.depth];
        } else {
            dir = fcntl(root, F_DUPFD_CLOEXEC, 0);
            if (dir < 0) err = errno;
        }
        if (!err) {
            *out_dir = dir;
            *out_name = name;
            if (out_trailing) *out_trailing = trailing;
            name = NULL;
        }
    }
    free(name);
    release_dirs(&w);
    return err;
}

static int walk_open(int root, const char *path, int flags, mode_t mode, bool follow, int *out_fd)
{
    int dir;
    char *name;
    bool trailing;
    /* O_CREAT|O_EXCL never follows a final symlink (POSIX). */
    bool follow_final = follow && !((flags & O_CREAT) && (flags & O_EXCL));
    int err = walk(root, path, follow_final, &dir, &name, &trailing);
    if (err) return err;
    int extra = O_CLOEXEC;
    if (strcmp(name, ".") != 0) extra |= O_NOFOLLOW;
    if (trailing) extra |= O_DIRECTORY;
    int fd = openat(dir, name, flags | extra, mode);
    if (fd < 0)
        err = errno;
    else
        *out_fd = fd;
    free(name);
    close(dir);
    return err;
}

int sbx_open(int root, const char *path, size_t len, int flags, mode_t mode, bool follow,
             bool walk_only, int *out_fd)
{
    char *p;
    int err = copy_path(path, len, &p);
    if (err) return err;
    if (p[0] == '\0') {
        err = ENOENT;
    } else if (!walk_only && sbx_have_openat2()) {
        int fd = sys_openat2(root, p, flags | (follow ? 0 : O_NOFOLLOW), mode);
        if (fd >= 0)
            *out_fd = fd;
        else
            err = errno == EXDEV ? SBX_ENOTCAPABLE : errno;
    } else {
        err = walk_open(root, p, flags, mode, follow, out_fd);
    }
    free(p);
    return err;
}

/* The last component of p (trailing slashes ignored) and where it starts;
 * p holds at least one non-slash character. */
static void split_last(char *p, char **last)
{
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    char *slash = strrchr(p, '/');
    *last = slash ? slash + 1 : p;
}

int sbx_parent(int root, const char *path, size_t len, bool follow_final, bool walk_only,
               int *out_dir, char **out_name)
{
    char *p;
    int err = copy_path(path, len, &p);
    if (err) return err;
    if (p[0] == '\0') {
        err = ENOENT;
    } else if (p[0] == '/') {
        err = SBX_ENOTCAPABLE;
    } else if (walk_only || follow_final || !sbx_have_openat2()) {
        err = walk(root, p, follow_final, out_dir, out_name, NULL);
    } else {
        char *last;
        split_last(p, &last);
        int fd;
        char *name;
        if (!strcmp(last, ".") || !strcmp(last, "..")) {
            /* The path names a directory by "." or ".."; resolve all of it. */
            fd = sys_openat2(root, p, O_PATH | O_DIRECTORY, 0);
            name = strdup(".");
        } else {
            name = strdup(last);
            if (last == p) {
                fd = sys_openat2(root, ".", O_PATH | O_DIRECTORY, 0);
            } else {
                last[-1] = '\0';
                fd = sys_openat2(root, p[0] ? p : "/", O_PATH | O_DIRECTORY, 0);
            }
        }
        if (fd < 0)
            err = errno == EXDEV ? SBX_ENOTCAPABLE : errno;
        else if (!name)
            err = ENOMEM;
        if (err) {
            if (fd >= 0) close(fd);
            free(name);
        } else {
            *out_dir = fd;
            *out_name = name;
        }
    }
    free(p);
    return err;
}
