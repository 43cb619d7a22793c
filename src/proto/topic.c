/* MQTT topic helpers behind include/stratus/topic.h: `$SL/` expansion, the
 * validity rules for filters and names, and matching of one filter against
 * one name. The subscription index (topic_index.c) follows the same rules
 * and the tests hold the two against each other. */
#include "stratus/topic.h"

#include <stdlib.h>
#include <string.h>

#define SL_PREFIX "$SL/"
#define TOPIC_MAX_LEN 65535u /* MQTT: a topic is a string of at most 65535 bytes */

char *topic_expand(const char *topic, const char *realm, const char *module_uuid)
{
    if (!topic) return NULL;
    size_t plen = strlen(SL_PREFIX);
    if (strncmp(topic, SL_PREFIX, plen) != 0 || !realm || !module_uuid) return strdup(topic);
    /* "$SL/rest" -> "realm/rest/uuid": exactly the prefix goes, nothing more. */
    const char *rest = topic + plen;
    size_t rl = strlen(realm), sl = strlen(rest), ul = strlen(module_uuid);
    char *out = malloc(rl + 1 + sl + 1 + ul + 1);
    if (!out) return NULL;
    char *p = out;
    memcpy(p, realm, rl);
    p += rl;
    *p++ = '/';
    memcpy(p, rest, sl);
    p += sl;
    *p++ = '/';
    memcpy(p, module_uuid, ul);
    p[ul] = '\0';
    return out;
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
