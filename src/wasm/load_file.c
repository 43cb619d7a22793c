/* Loading a module from a file, for the embedders that run files (`stratus
 * exec`, the runtimes): one place that reads the file and says plainly, with
 * the file's name, what is wrong with it (a directory, an empty file, a text
 * file, a module that does not validate, ...). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* Prefixes err->message with "NAME: " unless name is "" (the reason stays
 * as it is). */
static void name_error(sw_error *err, const char *name)
{
    if (!err || !*name) return;
    char msg[sizeof err->message];
    snprintf(msg, sizeof msg, "%s", err->message);
    snprintf(err->message, sizeof err->message, "%.120s: %s", name, msg);
}

static sw_status file_error(sw_error *err, const char *name, const char *what)
{
    sw__set_error(err, SW_ERR_IO, NULL, 0, what);
    name_error(err, name);
    return SW_ERR_IO;
}

sw_status sw_module_load_fd(int fd, const char *name, sw_module **out, sw_error *err)
{
    if (!out || !name) return file_error(err, name ? name : "?", "invalid argument");
    *out = NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) return file_error(err, name, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return file_error(err, name, "is a directory, not a WebAssembly module file");
    if (!S_ISREG(st.st_mode))
        return file_error(err, name, "is not a regular file (a WebAssembly module file is)");
    if ((uint64_t)st.st_size > (uint64_t)SIZE_MAX / 2)
        return file_error(err, name, "is too large to load");
    size_t len = (size_t)st.st_size;
    uint8_t *bytes = malloc(len ? len : 1);
    if (!bytes) {
        sw__set_error(err, SW_ERR_NOMEM, NULL, 0, "out of memory reading the file");
        name_error(err, name);
        return SW_ERR_NOMEM;
    }
    size_t n = 0;
    while (n < len) {
        ssize_t got = pread(fd, bytes + n, len - n, (off_t)n);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            char what[96];
            snprintf(what, sizeof what, "cannot read: %s",
                     got < 0 ? strerror(errno) : "the file shrank while it was read");
            free(bytes);
            return file_error(err, name, what);
        }
        n += (size_t)got;
    }
    sw_status s = sw_module_load(bytes, len, out, err);
    free(bytes);
    if (s != SW_OK) name_error(err, name);
    return s;
}

sw_status sw_module_load_file(const char *path, sw_module **out, sw_error *err)
{
    if (!path) return file_error(err, "?", "invalid argument");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        char what[96];
        snprintf(what, sizeof what, "cannot read: %s", strerror(errno));
        return file_error(err, path, what);
    }
    sw_status s = sw_module_load_fd(fd, path, out, err);
    close(fd);
    return s;
}
