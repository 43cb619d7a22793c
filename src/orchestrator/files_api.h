/* The module store's REST routes (docs/orchestrator.md "Module files"):
 * list, upload, look up and remove files. Its own table and context, added
 * to the HTTP server beside the API's with bodies up to the store's size
 * limit (http_server_add_routes_max).
 *
 * Ownership: the caller owns it (files_api_free); the store and the orc are
 * borrowed. */
#ifndef STRATUS_ORCHESTRATOR_FILES_API_H
#define STRATUS_ORCHESTRATOR_FILES_API_H

#include <stddef.h>

#include "rest_router.h"

struct file_store;
struct orc;
struct files_api;

int files_api_new(struct file_store *store, struct orc *orc, struct files_api **out);
void files_api_free(struct files_api *fa);
/* The table (borrowed; lives as long as fa). */
const struct rest_route *files_api_routes(const struct files_api *fa, size_t *n);

#endif
