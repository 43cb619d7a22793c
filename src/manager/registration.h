/* Registration of the manager and its runtimes with the orchestrator
 * (PROTOCOL.md §4): a request on {realm}/proc/reg/{uuid} for each entry, an
 * answer matched by type "resp" and object_id, retries with exponential
 * backoff while no answer comes, re-registration of everything after a broker
 * reconnect, and deletes on shutdown.
 *
 * The table never blocks and never reads a clock itself: the caller passes
 * the time in and arms a timer for the returned deadline, which is how the
 * unit tests drive it with a fake clock. */
#ifndef STRATUS_MANAGER_REGISTRATION_H
#define STRATUS_MANAGER_REGISTRATION_H

#include <jansson.h>
#include <stdint.h>

struct envelope;
struct reg_table;

enum reg_state {
    REG_UNSENT = 0,     /* not yet published (e.g. not connected) */
    REG_PENDING = 1,    /* published, waiting for the answer */
    REG_REGISTERED = 2, /* answered ok */
    REG_REFUSED = 3,    /* answered error: not retried */
};

/* Publishes msg (borrowed) on topic; returns 0 if it went out (or, with
 * keep set, was kept to go out after a reconnect). Requests are published
 * with keep 0: the table sends them again itself; deletes with keep 1. */
typedef int (*reg_publish_fn)(void *ctx, const char *topic, const json_t *msg, int keep);

struct reg_options {
    const char *realm;
    uint64_t timeout_ms;     /* first retry after this long without an answer */
    uint64_t max_backoff_ms; /* retries never wait longer than this */
    reg_publish_fn publish;
    void *ctx;
};

int reg_table_new(const struct reg_options *opt, struct reg_table **out);
void reg_table_free(struct reg_table *t);

/* Add an entry; data ({type, uuid, name, ...}) is stolen and must hold a
 * string "uuid". Nothing is published until reg_table_send_all or
 * reg_table_tick. Returns 0, or -1 (data freed) on error. */
int reg_table_add(struct reg_table *t, json_t *data);

/* Publish a fresh request for every entry (after connecting). */
void reg_table_send_all(struct reg_table *t, uint64_t now_ms);

/* Retry every entry whose answer is overdue, and send unsent ones. Returns
 * the time of the next retry, or UINT64_MAX when nothing waits. */
uint64_t reg_table_tick(struct reg_table *t, uint64_t now_ms);

/* Offer a message received on {realm}/proc/reg/{uuid}. Returns 1 if it was
 * the answer to the entry's current request (the entry is then registered
 * or refused), 0 otherwise (requests, stale answers, other uuids). */
int reg_table_handle(struct reg_table *t, const char *uuid, const struct envelope *env);

/* State of an entry, or -1 if unknown. */
int reg_table_state(const struct reg_table *t, const char *uuid);
/* The "details" of the answer (borrowed), or NULL. */
json_t *reg_table_answer(const struct reg_table *t, const char *uuid);
/* Number of requests published for the entry so far, or -1. */
int reg_table_attempts(const struct reg_table *t, const char *uuid);

/* Publish a delete for one entry and forget it. Returns 0, or -1 if unknown. */
int reg_table_unregister(struct reg_table *t, const char *uuid);
/* Publish deletes for all entries, last added first (runtimes before their
 * manager), and forget them. */
void reg_table_unregister_all(struct reg_table *t);

/* Build the delete request for registration data (borrowed): {type, uuid,
 * name} with a fresh object_id. Used for the manager's last will too. */
json_t *reg_delete_request(const json_t *data);

#endif
