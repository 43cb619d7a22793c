/* MQTT topics as Stratus uses them: `$SL/` expansion, wildcard checks, MQTT
 * matching (`+` one level, `#` the rest), and a subscription index that finds
 * every subscription matching a published topic without scanning them all. */
#ifndef STRATUS_TOPIC_H
#define STRATUS_TOPIC_H

#include <stddef.h>

/* Expand a channel topic: "$SL/rest" -> "{realm}/rest/{module_uuid}"; any
 * other topic is copied unchanged. Returns a malloc'd string the caller frees,
 * or NULL on OOM. */
char *topic_expand(const char *topic, const char *realm, const char *module_uuid);

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
