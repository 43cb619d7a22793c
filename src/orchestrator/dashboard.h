/* The dashboard (docs/orchestrator.md): `GET /` serves one page (HTML, CSS
 * and JS built into the program, dashboard.html), `GET /api/dashboard` the
 * state it shows as one JSON document, and `GET /api/events` the same as
 * server-sent events: the state at once, then again within a quarter of a
 * second of any change, and a comment line every 15 s so that dead clients
 * are found. Stopping and starting modules go through the REST API's
 * DELETE and POST.
 *
 * The state is every manager and runtime, the modules that have not ended
 * (at most DASHBOARD_LIVE_MAX) and the latest ended ones (at most
 * DASHBOARD_ENDED_MAX), with the count of each state. Building it costs
 * O(managers + runtimes) and two store queries (the modules shown); it is
 * built only while a page is open. */
#ifndef STRATUS_ORCHESTRATOR_DASHBOARD_H
#define STRATUS_ORCHESTRATOR_DASHBOARD_H

#include <stddef.h>

#include "rest_router.h"

struct event_loop;
struct orc;
struct dashboard;

#define DASHBOARD_LIVE_MAX 2000
#define DASHBOARD_ENDED_MAX 200
#define DASHBOARD_STREAMS_MAX 64
#define DASHBOARD_CHECK_MS 250
#define DASHBOARD_HEARTBEAT_MS 15000

/* Returns 0 and *out (dashboard_free), or -1. orc is borrowed. */
int dashboard_new(struct event_loop *loop, struct orc *orc, struct dashboard **out);
/* Free after the HTTP server (which ends the streams) is gone. */
void dashboard_free(struct dashboard *d);

/* The routes; their handlers take the struct dashboard as context. */
extern const struct rest_route dashboard_routes[];
extern const size_t dashboard_nroutes;

/* The page (dashboard_page.c, generated from dashboard.html at build time). */
extern const unsigned char dashboard_page[];
extern const size_t dashboard_page_len;

#endif
