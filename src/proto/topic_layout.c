/* The Silverline topic layout behind topic_format/topic_parse
 * (include/stratus/topic.h): the one table that says which kind of topic
 * lives under which prefix, used in both directions. */
#include <stdio.h>
#include <string.h>

#include "stratus/topic.h"

struct layout_entry {
    enum topic_kind kind;
    const char *suffix; /* after "{realm}/" */
    int levels;         /* levels of id after the suffix: 0, 1 or 3 */
};

static const struct layout_entry layout[] = {
    {TOPIC_REG, "proc/reg", 1},
    {TOPIC_KEEPALIVE, "proc/keepalive", 1},
    {TOPIC_CONTROL, "proc/control", 0},
    {TOPIC_CONTROL_RUNTIME, "proc/control", 1},
    {TOPIC_PROFILE, "proc/profile", 3},
    {TOPIC_LOG, "proc/log", 1},
    {TOPIC_STDIO, "proc/stdio", 1},
    {TOPIC_FILE_GET, "proc/file/get", 0},
    {TOPIC_FILE_DATA, "proc/file/data", 1},
};

static const struct layout_entry *entry_of(enum topic_kind kind)
{
    for (size_t i = 0; i < sizeof layout / sizeof layout[0]; i++)
        if (layout[i].kind == kind) return &layout[i];
    return NULL;
}

int topic_format(char *buf, size_t cap, const char *realm, enum topic_kind kind, const char *id)
{
    const struct layout_entry *e = entry_of(kind);
    if (!e || !realm || !*realm || !buf || cap == 0) return -1;
    int n;
    if (e->levels == 0)
        n = snprintf(buf, cap, "%s/%s", realm, e->suffix);
    else if (!id || !*id)
        return -1;
    else
        n = snprintf(buf, cap, "%s/%s/%s", realm, e->suffix, id);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int topic_format_profile(char *buf, size_t cap, const char *realm, const char *type,
                         const char *runtime, const char *module)
{
    if (!type || !*type || !runtime || !*runtime || !module || !*module || cap == 0) return -1;
    char id[TOPIC_LAYOUT_MAX];
    int n = snprintf(id, sizeof id, "%s/%s/%s", type, runtime, module);
    if (n < 0 || (size_t)n >= sizeof id) return -1;
    return topic_format(buf, cap, realm, TOPIC_PROFILE, id);
}

/* Count the levels of s (non-empty, no wildcards in any); -1 when a level is
 * empty or holds a wildcard. */
static int count_levels(const char *s)
{
    if (!*s) return -1;
    int levels = 1;
    const char *level = s;
    for (const char *p = s;; p++) {
        if (*p == '/' || *p == '\0') {
            if (p == level) return -1;
            if (*p == '\0') return levels;
            levels++;
            level = p + 1;
        } else if (*p == '+' || *p == '#') {
            return -1;
        }
    }
}

enum topic_kind topic_parse(const char *realm, const char *topic, struct topic_ref *out)
{
    memset(out, 0, sizeof *out);
    out->kind = TOPIC_OTHER;
    if (!realm || !topic) return TOPIC_OTHER;
    size_t rl = strlen(realm);
    if (!rl || strncmp(topic, realm, rl) != 0 || topic[rl] != '/') return TOPIC_OTHER;
    const char *rest = topic + rl + 1;
    for (size_t i = 0; i < sizeof layout / sizeof layout[0]; i++) {
        const struct layout_entry *e = &layout[i];
        size_t sl = strlen(e->suffix);
        if (strncmp(rest, e->suffix, sl) != 0) continue;
        const char *after = rest + sl;
        if (e->levels == 0) {
            if (*after != '\0') continue;
            out->kind = e->kind;
            out->id = after;
            return out->kind;
        }
        if (*after != '/' || count_levels(after + 1) != e->levels) continue;
        out->kind = e->kind;
        out->id = after + 1;
        if (e->kind == TOPIC_PROFILE) {
            const char *a = out->id, *b = strchr(a, '/') + 1, *c = strchr(b, '/') + 1;
            out->type = a;
            out->type_len = (size_t)(b - 1 - a);
            out->runtime = b;
            out->runtime_len = (size_t)(c - 1 - b);
            out->module = c;
            out->module_len = strlen(c);
        }
        return out->kind;
    }
    return TOPIC_OTHER;
}
