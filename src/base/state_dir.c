/* The state directory rule (see state_dir.h). */
#define _GNU_SOURCE
#include "state_dir.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char *state_dir_default(const char *configured)
{
    if (configured && *configured) return strdup(configured);
    const char *env = getenv("STRATUS_STATE_DIR");
    if (env && *env) return strdup(env);
    char *out = NULL;
    const char *xdg = getenv("XDG_STATE_HOME");
    if (xdg && *xdg) return asprintf(&out, "%s/stratus", xdg) < 0 ? NULL : out;
    const char *home = getenv("HOME");
    if (home && *home) return asprintf(&out, "%s/.local/state/stratus", home) < 0 ? NULL : out;
    return NULL;
}

int state_dir_make(const char *dir)
{
    char buf[PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, dir, n + 1);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0700) < 0 && errno != EEXIST) return -1;
            *p = c;
            if (!c) break;
        }
    }
    return 0;
}
