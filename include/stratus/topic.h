/* MQTT topics as Stratus uses them: `$SL/` expansion, wildcard checks, MQTT
 * matching (`+` one level, `#` the rest), and a subscription index that finds
 * every subscription matching a published topic without scanning them all. */
#ifndef STRATUS_TOPIC_H
#define STRATUS_TOPIC_H

#include <stddef.h>

/* ---- The Silverline topic layout (PROTOCOL.md §2) ----
 * Every daemon builds and parses the control topics here and nowhere else. */
enum topic_kind {
    TOPIC_OTHER = 0,       /* not a topic of the layout (e.g. a module channel) */
    TOPIC_REG,             /* {realm}/proc/reg/{uuid} */
    TOPIC_KEEPALIVE,       /* {realm}/proc/keepalive/{runtime} */
    TOPIC_CONTROL,         /* {realm}/proc/control (to the orchestrator) */
    TOPIC_CONTROL_RUNTIME, /* {realm}/proc/control/{runtime} */
    TOPIC_PROFILE,         /* {realm}/proc/profile/{type}/{runtime}/{module} */
    TOPIC_LOG,             /* {realm}/proc/log/{source}, e.g. .../log/orchestrator */
    TOPIC_STDIO,           /* {realm}/proc/stdio/{module} */
    TOPIC_FILE_GET,        /* {realm}/proc/file/get (file requests, to the orchestrator) */
    TOPIC_FILE_DATA,       /* {realm}/proc/file/data/{node}: chunks for one node */
};

/* The longest topic the layout builds into a fixed buffer, NUL included. */
#define TOPIC_LAYOUT_MAX 512

/* Build the topic of `kind` for `id` into buf (cap bytes): the uuid, runtime,
 * module or log source; NULL for TOPIC_CONTROL, and "+" builds the filter of
 * every id (e.g. "realm/proc/reg/+"). TOPIC_PROFILE takes "type/runtime/module"
 * as id (topic_format_profile builds it from parts). Returns 0, or -1 if it
 * does not fit, the realm or id is empty, or the kind is not one of the layout. */
int topic_format(char *buf, size_t cap, const char *realm, enum topic_kind kind, const char *id);
int topic_format_profile(char *buf, size_t cap, const char *realm, const char *type,
                         const char *runtime, const char *module);

/* A topic taken apart by topic_parse. Pointers go into the parsed topic. */
struct topic_ref {
    enum topic_kind kind;
    const char *id; /* after the kind's prefix ("" for TOPIC_CONTROL); NUL-terminated */
    /* TOPIC_PROFILE only: the three levels of id, not NUL-terminated. */
    const char *type, *runtime, *module;
    size_t type_len, runtime_len, module_len;
};

/* Classify a concrete topic of `realm`. An id must be exactly one level
 * (TOPIC_PROFILE: exactly three), without wildcards. Anything else, including
 * topics of other realms, is TOPIC_OTHER. Returns the kind (also in out). */
enum topic_kind topic_parse(const char *realm, const char *topic, struct topic_ref *out);

/* ---- A module's own topics and the control plane (docs/protocol.md) ----
 * `$SL/` reaches only what belongs to the module:
 *   "$SL/proc/stdio"  -> "{realm}/proc/stdio/{module_uuid}" (its stdio)
 *   "$SL/REST"        -> "{realm}/mod/{module_uuid}/REST"   (its subtree)
 * and any other "$SL/proc/..." (reg, control, keepalive, profile, log) or
 * an empty REST is refused. A topic without the prefix is copied unchanged. */
enum topic_expand_result {
    TOPIC_EXPAND_OK = 0,
    TOPIC_EXPAND_NOMEM = -1,
    TOPIC_EXPAND_REFUSED = -2, /* a `$SL/` topic that is not the module's */
};
/* Returns a topic_expand_result; on OK *out is malloc'd (caller frees). */
int topic_expand(const char *topic, const char *realm, const char *module_uuid, char **out);

/* 1 if `topic` is one of the realm's control topics (reg, keepalive,
 * control, control/{runtime}, profile, log, file, or a filter reaching only
 * those), which no module may publish on. */
int topic_is_control_plane(const char *realm, const char *topic);

/* The one rule for a module's channel open, applied by the runtime process
 * before it gives the module a descriptor and by the manager when the open
 * frame arrives: flags (CHANNEL_READ/WRITE, a QoS of 0..2), a topic of len
 * bytes without NUL, `$SL/` expanded as above, a writable channel without
 * wildcards and never on the control plane, a readable one a valid filter.
 * Returns a channel_open_result; on OK *expanded is malloc'd (caller frees;
 * expanded may be NULL when only the verdict is wanted). */
enum channel_open_result {
    CHANNEL_OPEN_OK = 0,
    CHANNEL_OPEN_NOMEM = -1,
    CHANNEL_OPEN_FLAGS = -2,    /* neither read nor write, or a bad QoS */
    CHANNEL_OPEN_TOPIC = -3,    /* empty, a NUL, or not a valid topic/filter */
    CHANNEL_OPEN_WILDCARD = -4, /* a writable channel with + or # */
    CHANNEL_OPEN_DENIED = -5,   /* another module's or the control plane's topic */
};
int channel_open_check(const char *realm, const char *module_uuid, unsigned flags,
                       const char *topic, size_t len, char **expanded);
const char *channel_open_strerror(int result);

/* 1 if the topic contains an MQTT wildcard (`+` or `#`) anywhere. */
int topic_has_wildcard(const char *topic);

/* 1 if `filter` is a valid MQTT subscription filter (wildcards only as whole
 * levels, `#` last), 0 otherwise. Empty strings are invalid. */
int topic_filter_is_valid(const char *filter);

/* 1 if `filter` is a valid publish topic (non-empty, no wildcards). */
int topic_name_is_valid(const char *name);

/* 1 if the concrete topic `name` matches subscription `filter` by MQTT rules;
 * 0 also when either is invalid. Names beginning with `$` are not matched by a
 * leading `+` or `#`. */
int topic_matches(const char *filter, const char *name);

/* Subscription index: a trie over topic levels. Each subscription is a filter
 * and an opaque value; lookups call back for every value whose filter matches
 * a topic. The index owns its nodes and copies of filter strings, never the
 * values. */
struct topic_index;

struct topic_index *topic_index_new(void);
void topic_index_free(struct topic_index *idx);

/* Add (filter, value). Returns 1 if this is the first value under this exact
 * filter (the caller should subscribe on the broker), 0 if the filter was
 * already present, -1 on error (OOM or invalid filter). Adding the same pair
 * twice stores it twice: it is visited twice and removed one at a time. */
int topic_index_add(struct topic_index *idx, const char *filter, void *value);

/* Remove one (filter, value) pair. Returns 1 if the filter has no values left
 * (the caller should unsubscribe), 0 if values remain, -1 if not found. */
int topic_index_remove(struct topic_index *idx, const char *filter, void *value);

/* Call fn(value, ctx) for every value whose filter matches `name` (same rules
 * as topic_matches(); an invalid name matches nothing). Returns the number of
 * calls. fn must not modify the index. */
typedef void (*topic_index_visit_fn)(void *value, void *ctx);
size_t topic_index_match(const struct topic_index *idx, const char *name, topic_index_visit_fn fn,
                         void *ctx);

/* Number of distinct filters in the index. */
size_t topic_index_filter_count(const struct topic_index *idx);

#endif
