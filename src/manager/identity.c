/* The node's stable identity file (see identity.h). */
#define _GNU_SOURCE
#include "identity.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state_dir.h"

struct identity {
    char path[PATH_MAX];
    int lock_fd; /* {path}.lock, locked while the manager runs */
    json_t *doc; /* {"uuid": ..., "runtimes": {...}} */
};

char *identity_default_dir(const char *configured)
{
    return state_dir_default(configured);
}

/* Names become file names: anything but [A-Za-z0-9._-] turns into '_'. */
static void file_safe(const char *name, char *out, size_t cap)
{
    size_t i = 0;
    for (; name[i] && i + 1 < cap; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        out[i] = ok && !(i == 0 && c == '.') ? c : '_';
    }
    out[i] = '\0';
}

static int save(struct identity *id, char err[IDENTITY_ERR_LEN])
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", id->path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    char *text = json_dumps(id->doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    int ok = fd >= 0 && text;
    if (ok) {
        size_t len = strlen(text), done = 0;
        while (ok && done < len) {
            ssize_t w = write(fd, text + done, len - done);
            if (w < 0 && errno == EINTR) continue;
            ok = w > 0;
            if (ok) done += (size_t)w;
        }
        ok = ok && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    }
    int saved_errno = errno;
    if (fd >= 0) close(fd);
    free(text);
    if (!ok || rename(tmp, id->path) < 0) {
        if (ok) saved_errno = errno;
        unlink(tmp);
        snprintf(err, IDENTITY_ERR_LEN, "cannot write %s: %s", id->path, strerror(saved_errno));
        return -1;
    }
    return 0;
}

/* Read the stored document; an empty or missing file is a new identity. */
static json_t *read_doc(int fd, const char *path, char err[IDENTITY_ERR_LEN])
{
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size > 1 << 20) {
        snprintf(err, IDENTITY_ERR_LEN, "%s: unreadable or too large", path);
        return NULL;
    }
    if (st.st_size == 0) return json_object();
    json_error_t jerr;
    json_t *doc = json_loadfd(fd, 0, &jerr);
    if (!json_is_object(doc)) {
        snprintf(err, IDENTITY_ERR_LEN,
                 "%s is not a manager identity file (%s); move it away to start afresh", path,
                 doc ? "not a JSON object" : jerr.text);
        json_decref(doc);
        return NULL;
    }
    return doc;
}

int identity_open(const char *dir, const char *name, const char *uuid_override,
                  struct identity **out, char err[IDENTITY_ERR_LEN])
{
    struct identity *id = calloc(1, sizeof *id);
    if (!id) {
        snprintf(err, IDENTITY_ERR_LEN, "out of memory");
        return -1;
    }
    id->lock_fd = -1;
    char safe[128];
    file_safe(name, safe, sizeof safe);
    if ((size_t)snprintf(id->path, sizeof id->path, "%s/manager-%s.json", dir, safe) >=
        sizeof id->path) {
        snprintf(err, IDENTITY_ERR_LEN, "state directory path too long");
        goto fail;
    }
    if (state_dir_make(dir) < 0) {
        snprintf(err, IDENTITY_ERR_LEN, "cannot create state directory %s: %s", dir,
                 strerror(errno));
        goto fail;
    }
    /* The lock is a file of its own: the identity file is replaced by
     * renames, which would leave a lock on it behind on the old inode. */
    char lock_path[PATH_MAX + 8];
    snprintf(lock_path, sizeof lock_path, "%s.lock", id->path);
    id->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (id->lock_fd < 0) {
        snprintf(err, IDENTITY_ERR_LEN, "cannot open %s: %s", lock_path, strerror(errno));
        goto fail;
    }
    if (flock(id->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        snprintf(err, IDENTITY_ERR_LEN,
                 "another manager named '%s' runs with state directory %s (%s is locked); "
                 "give this one another --name or --state-dir",
                 name, dir, lock_path);
        goto fail;
    }
    int fd = open(id->path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, IDENTITY_ERR_LEN, "cannot open %s: %s", id->path, strerror(errno));
        goto fail;
    }
    id->doc = read_doc(fd, id->path, err);
    close(fd);
    if (!id->doc) goto fail;
    const char *stored = json_string_value(json_object_get(id->doc, "uuid"));
    char fresh[UUID_STR_LEN];
    if (uuid_override) {
        json_object_set_new(id->doc, "uuid", json_string(uuid_override));
    } else if (!stored || !uuid_is_valid(stored)) {
        if (uuid_v4_generate(fresh) < 0) {
            snprintf(err, IDENTITY_ERR_LEN, "no randomness for a UUID");
            goto fail;
        }
        json_object_set_new(id->doc, "uuid", json_string(fresh));
    }
    if (!json_is_object(json_object_get(id->doc, "runtimes")))
        json_object_set_new(id->doc, "runtimes", json_object());
    if (save(id, err) < 0) goto fail;
    *out = id;
    return 0;
fail:
    identity_close(id);
    return -1;
}

void identity_close(struct identity *id)
{
    if (!id) return;
    if (id->lock_fd >= 0) close(id->lock_fd); /* releases the lock */
    json_decref(id->doc);
    free(id);
}

const char *identity_manager_uuid(const struct identity *id)
{
    return json_string_value(json_object_get(id->doc, "uuid"));
}

const char *identity_path(const struct identity *id)
{
    return id->path;
}

int identity_runtime_uuid(struct identity *id, const char *key, char out[UUID_STR_LEN],
                          char err[IDENTITY_ERR_LEN])
{
    json_t *runtimes = json_object_get(id->doc, "runtimes");
    const char *stored = json_string_value(json_object_get(runtimes, key));
    if (stored && uuid_is_valid(stored)) {
        snprintf(out, UUID_STR_LEN, "%s", stored);
        return 0;
    }
    if (uuid_v4_generate(out) < 0) {
        snprintf(err, IDENTITY_ERR_LEN, "no randomness for a UUID");
        return -1;
    }
    json_object_set_new(runtimes, key, json_string(out));
    return save(id, err);
}
