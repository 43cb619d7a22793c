/* The orchestrator's REST API (docs/orchestrator.md): the route table over
 * the registry. Handlers answer JSON (lists as {"count", "start",
 * "results"}), errors as {"error": text, "status": code}. */
#ifndef STRATUS_ORCHESTRATOR_REST_API_H
#define STRATUS_ORCHESTRATOR_REST_API_H

#include <jansson.h>

#include "rest_router.h"

struct orc;

/* The routes; every handler takes the struct orc as its context. */
extern const struct rest_route rest_api_routes[];
extern const size_t rest_api_nroutes;

/* Fill reply with JSON (steals body; NULL or unserialisable: a 500). */
void rest_reply_json(struct rest_reply *reply, int status, json_t *body);
/* Fill reply with a JSON error. */
void rest_reply_error(struct rest_reply *reply, int status, const char *message);

#endif
