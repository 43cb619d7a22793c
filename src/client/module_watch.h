/* Watching modules end: a route on {realm}/proc/control/+ that picks out,
 * for a set of module UUIDs, the creates sent to their runtimes (a queued
 * module starting), a manager's refusal of a create, and their `exited`
 * messages. Used by every command that waits for modules (run --wait, stop,
 * logs -f). Matching a message costs O(modules watched). */
#ifndef STRATUS_CLIENT_MODULE_WATCH_H
#define STRATUS_CLIENT_MODULE_WATCH_H

#include <jansson.h>
#include <stddef.h>

#include "client.h"
#include "stratus/uuid.h"

struct watched_module {
    char uuid[UUID_STR_LEN];
    char name[128];
    char runtime[UUID_STR_LEN]; /* "" until known */
    int ended;
    json_t *exit; /* the exited data, or {"status": "failed", "reason"} on a refusal */
};

struct module_watch {
    struct watched_module *mods;
    size_t n;
    size_t ended; /* how many have ended */
    int all_ended;
    /* Called as things happen (each may be NULL). */
    void (*started)(void *ctx, struct watched_module *m);
    void (*ended_fn)(void *ctx, struct watched_module *m);
    void *ctx;
};

/* n modules (uuids filled in by the caller afterwards). */
int module_watch_init(struct module_watch *w, size_t n);
void module_watch_clear(struct module_watch *w);
/* Subscribe on the session (before anything is created or deleted). */
int module_watch_start(struct module_watch *w, struct client_session *s, char err[CLIENT_ERR_LEN]);
/* Mark a module ended from outside (e.g. the orchestrator said so). */
void module_watch_end(struct module_watch *w, struct watched_module *m, json_t *exit_data);
struct watched_module *module_watch_find(struct module_watch *w, const char *uuid);

#endif
