/* Helpers of the orchestrator's integration tests, on top of harness.h: a
 * small HTTP/1.1 client for the REST API, starting `stratus orchestrator`
 * and waiting until it serves, and polling a REST resource until a field has
 * a value. */
#ifndef STRATUS_ITEST_ORC_STACK_H
#define STRATUS_ITEST_ORC_STACK_H

#include <jansson.h>

#include "harness.h"

struct http_answer {
    int status; /* 0 when no answer came */
    char *body; /* NUL-terminated, malloc'd */
    size_t len;
    json_t *json; /* the body as JSON, or NULL */
    char *headers;
};
void http_answer_free(struct http_answer *a);

/* One request to 127.0.0.1:port (Connection: close). body may be NULL.
 * Returns 0 when an answer was read (its status in a->status), else -1. */
int http_request(int port, const char *method, const char *path, const char *body, size_t body_len,
                 struct http_answer *a);
/* GET path and return its JSON (caller decrefs), or NULL unless status 200. */
json_t *http_get_json(int port, const char *path);

/* Poll GET path until the value at the dotted json path equals text (rules of
 * json_at_equals), or timeout_ms passes. 0 when it did. */
int http_wait_field(int port, const char *path, const char *field, const char *text,
                    int timeout_ms);

struct orchestrator {
    struct proc proc;
    int http_port;
    char db[PATH_MAX + 16];
};

/* Start `stratus orchestrator` on broker b in realm with its database at db
 * (NULL: a fresh file in a private directory) and a free HTTP port, plus the
 * NULL-terminated extra arguments; waits until /healthz answers. */
int orchestrator_start(struct orchestrator *o, int broker_port, const char *realm, const char *db,
                       const char *const *extra);

#endif
