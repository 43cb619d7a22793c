/* MQTT topic helpers behind include/stratus/topic.h: `$SL/` expansion, the
 * validity rules for filters and names, and matching of one filter against
 * one name; the channel open rule shared by manager and runtime process.
 * The subscription index (topic_index.c) follows the same rules
 * and the tests hold the two against each other. */
#define _GNU_SOURCE
#include "stratus/topic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stratus/frame.h"

#define SL_PREFIX "$SL/"
#define TOPIC_MAX_LEN 65535u /* MQTT: a topic is a string of at most 65535 bytes */

int topic_expand(const char *topic, const char *realm, const char *module_uuid, char **out)
{
    *out = NULL;
    size_t plen = strlen(SL_PREFIX);
    if (strncmp(topic, SL_PREFIX, plen) != 0) {
        *out = strdup(topic);
        return *out ? TOPIC_EXPAND_OK : TOPIC_EXPAND_NOMEM;
    }
    /* Exactly the prefix goes, nothing more; what follows names one of the
     * module's own topics or nothing. */
    const char *rest = topic + plen;
    if (!realm || !*realm || !module_uuid || !*module_uuid || !*rest) return TOPIC_EXPAND_REFUSED;
    int n;
    if (!strcmp(rest, "proc/stdio"))
        n = asprintf(out, "%s/proc/stdio/%s", realm, module_uuid);
    else if (!strncmp(rest, "proc/", 5) || !strcmp(rest, "proc"))
        return TOPIC_EXPAND_REFUSED;
    else
        n = asprintf(out, "%s/mod/%s/%s", realm, module_uuid, rest);
    if (n < 0) {
        *out = NULL;
        return TOPIC_EXPAND_NOMEM;
    }
    return TOPIC_EXPAND_OK;
}

int topic_is_control_plane(const char *realm, const char *topic)
{
    if (!realm || !*realm) return 0;
    size_t rl = strlen(realm);
    if (strncmp(topic, realm, rl) || topic[rl] != '/') return 0;
    const char *rest = topic + rl + 1;
    static const char *const control[] = {"proc/reg",     "proc/keepalive", "proc/control",
                                          "proc/profile", "proc/log",       "proc/file"};
    for (size_t i = 0; i < sizeof control / sizeof control[0]; i++) {
        size_t cl = strlen(control[i]);
        if (!strncmp(rest, control[i], cl) && (rest[cl] == '\0' || rest[cl] == '/')) return 1;
    }
    return 0;
}

const char *channel_open_strerror(int result)
{
    switch (result) {
    case CHANNEL_OPEN_OK: return "ok";
    case CHANNEL_OPEN_NOMEM: return "out of memory";
    case CHANNEL_OPEN_FLAGS: return "invalid channel flags";
    case CHANNEL_OPEN_TOPIC: return "invalid topic";
    case CHANNEL_OPEN_WILDCARD: return "a writable channel's topic may not contain + or #";
    case CHANNEL_OPEN_DENIED:
        return "not the module's topic ($SL/ reaches only its stdio and $SL/... subtree; "
               "the control plane is off limits)";
    }
    return "unknown error";
}

int channel_open_check(const char *realm, const char *module_uuid, unsigned flags,
                       const char *topic, size_t len, char **expanded)
{
    if (expanded) *expanded = NULL;
    if (!(flags & (CHANNEL_READ | CHANNEL_WRITE)) ||
        ((flags & CHANNEL_QOS_MASK) >> CHANNEL_QOS_SHIFT) > 2)
        return CHANNEL_OPEN_FLAGS;
    if (len == 0 || memchr(topic, '\0', len)) return CHANNEL_OPEN_TOPIC;
    char *raw = strndup(topic, len);
    if (!raw) return CHANNEL_OPEN_NOMEM;
    char *full;
    int rc = topic_expand(raw, realm, module_uuid, &full);
    free(raw);
    if (rc == TOPIC_EXPAND_NOMEM) return CHANNEL_OPEN_NOMEM;
    if (rc == TOPIC_EXPAND_REFUSED) return CHANNEL_OPEN_DENIED;
    if ((flags & CHANNEL_WRITE) && topic_has_wildcard(full))
        rc = CHANNEL_OPEN_WILDCARD;
    else if ((flags & CHANNEL_READ) ? !topic_filter_is_valid(full) : !topic_name_is_valid(full))
        rc = CHANNEL_OPEN_TOPIC;
    else if ((flags & CHANNEL_WRITE) && topic_is_control_plane(realm, full))
        rc = CHANNEL_OPEN_DENIED;
    if (rc || !expanded)
        free(full);
    else
        *expanded = full;
    return rc;
}

int topic_has_wildcard(const char *topic)
{
    return topic && strpbrk(topic, "+#") != NULL;
}

int topic_filter_is_valid(const char *filter)
{
    if (!filter || !*filter) return 0;
    size_t len = strlen(filter);
    if (len > TOPIC_MAX_LEN) return 0;
    const char *level = filter;
    for (;;) {
        const char *end = strchr(level, '/');
        size_t n = end ? (size_t)(end - level) : strlen(level);
        /* A wildcard must be a whole level, and `#` only the last one. */
        if (memchr(level, '+', n) && !(n == 1 && level[0] == '+')) return 0;
        if (memchr(level, '#', n) && !(n == 1 && level[0] == '#' && !end)) return 0;
        if (!end) return 1;
        level = end + 1;
    }
}

int topic_name_is_valid(const char *name)
{
    return name && *name && strlen(name) <= TOPIC_MAX_LEN && !topic_has_wildcard(name);
}

/* The level starting at p: its length in *len; returns where the next level
 * starts, or NULL after the last one. */
static const char *split_level(const char *p, size_t *len)
{
    const char *slash = strchr(p, '/');
    *len = slash ? (size_t)(slash - p) : strlen(p);
    return slash ? slash + 1 : NULL;
}

int topic_matches(const char *filter, const char *name)
{
    if (!topic_filter_is_valid(filter) || !topic_name_is_valid(name)) return 0;
    /* Names beginning with `$` are for the system: no leading wildcard
     * reaches them. */
    if (name[0] == '$' && (filter[0] == '+' || filter[0] == '#')) return 0;
    const char *f = filter, *n = name;
    while (f) {
        size_t fl, nl;
        const char *fnext = split_level(f, &fl);
        if (fl == 1 && f[0] == '#')
            return 1; /* the rest, including no level at all ("a/#" matches "a") */
        if (!n) return 0;
        const char *nnext = split_level(n, &nl);
        int plus = fl == 1 && f[0] == '+';
        if (!plus && (fl != nl || memcmp(f, n, fl) != 0)) return 0;
        f = fnext;
        n = nnext;
    }
    return n == NULL;
}
