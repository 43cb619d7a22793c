/* REST handlers (see rest_api.h). Lists page through records in the order
 * they were first stored: O(start + limit) for managers and runtimes (in
 * memory) and for modules (from the store, which holds the ended ones). */
#include "rest_api.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orc.h"

static const char json_content_type[] = "application/json";

void rest_reply_json(struct rest_reply *reply, int status, json_t *body)
{
    reply->status = status;
    reply->content_type = json_content_type;
    reply->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
    reply->len = reply->body ? strlen(reply->body) : 0;
    json_decref(body);
    if (!reply->body) {
        reply->status = 500;
        reply->body = strdup("{\"error\":\"out of memory\",\"status\":500}");
        reply->len = reply->body ? strlen(reply->body) : 0;
    }
}

void rest_reply_error(struct rest_reply *reply, int status, const char *message)
{
    rest_reply_json(reply, status, json_pack("{s:s, s:i}", "error", message, "status", status));
}

/* ---- lists ---- */

typedef json_t *(*item_json_fn)(struct orc *o, size_t i);

/* ?start=&limit=, or a 400 answer and -1. */
static int paging(const struct rest_request *req, struct rest_reply *reply, size_t *start,
                  size_t *limit)
{
    char err[128];
    if (rest_paging_parse(req->arg(req->conn, "start"), req->arg(req->conn, "limit"), start, limit,
                          err) < 0) {
        rest_reply_error(reply, 400, err);
        return -1;
    }
    return 0;
}

/* A page of items 0..total-1 (only the page is visited). */
static void list(struct orc *o, const struct rest_request *req, struct rest_reply *reply,
                 size_t total, item_json_fn item)
{
    size_t start, limit;
    if (paging(req, reply, &start, &limit) < 0) return;
    json_t *results = json_array();
    for (size_t i = start; i < total && i - start < limit; i++)
        json_array_append_new(results, item(o, i));
    rest_reply_json(reply, 200,
                    json_pack("{s:I, s:I, s:o}", "count", (json_int_t)total, "start",
                              (json_int_t)start, "results", results));
}

static json_t *manager_item(struct orc *o, size_t i)
{
    return orc_manager_json(o, orc_manager_at(o, i));
}

static json_t *runtime_item(struct orc *o, size_t i)
{
    return orc_runtime_json(o, orc_runtime_at(o, i), 0);
}

/* Module lists come from the store, where ended modules are. */
static void module_list(struct orc *o, const struct rest_request *req, struct rest_reply *reply,
                        int queued_only)
{
    size_t start, limit;
    if (paging(req, reply, &start, &limit) < 0) return;
    json_t *page = orc_module_page(o, queued_only, start, limit);
    if (page)
        rest_reply_json(reply, 200, page);
    else
        rest_reply_error(reply, 500, "the module store cannot be read");
}

static void get_managers(void *ctx, const struct rest_request *req, struct rest_reply *reply)
{
    list(ctx, req, reply, orc_manager_count(ctx), manager_item);
}

static void get_runtimes(void *ctx, const struct rest_request *req, struct rest_reply *reply)
{
    list(ctx, req, reply, orc_runtime_count(ctx), runtime_item);
}

static void get_modules(void *ctx, const struct rest_request *req, struct rest_reply *reply)
{
    module_list(ctx, req, reply, 0);
}

static void get_queued(void *ctx, const struct rest_request *req, struct rest_reply *reply)
{
    module_list(ctx, req, reply, 1);
}

/* ---- lookups ---- */

static void get_runtime(void *ctx, const struct rest_request *req, struct rest_reply *reply)
{
    struct orc_runtime *r;
    char err[ORC_ERR_LEN];
    int rc = orc_find_runtime(ctx, req->param, &r, err);
    if (rc != ORC_OK)
        rest_reply_error(reply, rc, err);
    else
        rest_reply_json(reply, 200, orc_runtime_json(ctx, r, 1));
}

static void get_module(void *ctx, const struct rest_request *req, struct rest_reply *reply)
{
    struct orc_module *m;
    char err[ORC_ERR_LEN];
    int rc = orc_find_module(ctx, req->param, &m, err);
    if (rc != ORC_OK)
        rest_reply_error(reply, rc, err);
    else
        rest_reply_json(reply, 200, orc_module_json(ctx, m, 1));
}

static void delete_module(void *ctx, const struct rest_request *req, struct rest_reply *reply)
{
    json_t *record = NULL;
    char err[ORC_ERR_LEN];
    int rc = orc_delete_module(ctx, req->param, &record, err);
    if (rc != ORC_OK)
        rest_reply_error(reply, rc, err);
    else
        rest_reply_json(reply, 202, record);
}

static void module_or_delete(void *ctx, const struct rest_request *req, struct rest_reply *reply)
{
    if (req->method == REST_DELETE)
        delete_module(ctx, req, reply);
    else
        get_module(ctx, req, reply);
}

static void get_output(void *ctx, const struct rest_request *req, struct rest_reply *reply)
{
    struct orc_module *m;
    char err[ORC_ERR_LEN];
    int rc = orc_find_module(ctx, req->param, &m, err);
    if (rc != ORC_OK) {
        rest_reply_error(reply, rc, err);
        return;
    }
    char *data;
    size_t len;
    if (orc_module_output(ctx, m, &data, &len) < 0) {
        rest_reply_error(reply, 500, "the module's output cannot be read");
        return;
    }
    reply->status = 200;
    reply->content_type = "application/octet-stream";
    reply->body = data;
    reply->len = len;
}

static void post_module(void *ctx, const struct rest_request *req, struct rest_reply *reply)
{
    json_error_t jerr;
    json_t *data =
        req->body ? json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!data) {
        char msg[256];
        snprintf(msg, sizeof msg, "the body must be the module's create data as JSON%s%s",
                 req->body ? ": " : "", req->body ? jerr.text : "");
        rest_reply_error(reply, 400, msg);
        return;
    }
    json_t *record = NULL;
    char err[ORC_ERR_LEN];
    int rc = orc_create_module(ctx, data, &record, err);
    json_decref(data);
    if (rc != ORC_OK)
        rest_reply_error(reply, rc, err);
    else
        rest_reply_json(reply, 201, record);
}

static void modules_root(void *ctx, const struct rest_request *req, struct rest_reply *reply)
{
    if (req->method == REST_POST)
        post_module(ctx, req, reply);
    else
        get_modules(ctx, req, reply);
}

static void get_metrics(void *ctx, const struct rest_request *req, struct rest_reply *reply)
{
    (void)req;
    char *text = orc_metrics_text(ctx);
    if (!text) {
        rest_reply_error(reply, 500, "out of memory");
        return;
    }
    reply->status = 200;
    reply->content_type = "text/plain; version=0.0.4";
    reply->body = text;
    reply->len = strlen(text);
}

static void get_healthz(void *ctx, const struct rest_request *req, struct rest_reply *reply)
{
    (void)req;
    rest_reply_json(reply, 200,
                    json_pack("{s:s, s:b, s:I, s:I, s:I}", "status", "ok", "broker",
                              orc_broker_connected(ctx), "managers",
                              (json_int_t)orc_manager_count(ctx), "runtimes",
                              (json_int_t)orc_runtime_count(ctx), "modules",
                              (json_int_t)orc_module_count(ctx)));
}

const struct rest_route rest_api_routes[] = {
    {"/api/managers/", REST_GET, get_managers},
    {"/api/runtimes/", REST_GET, get_runtimes},
    {"/api/runtimes/{q}/", REST_GET, get_runtime},
    {"/api/modules/", REST_GET | REST_POST, modules_root},
    {"/api/modules/{q}/", REST_GET | REST_DELETE, module_or_delete},
    {"/api/modules/{q}/output", REST_GET, get_output},
    {"/api/queued/", REST_GET, get_queued},
    {"/metrics", REST_GET, get_metrics},
    {"/healthz", REST_GET, get_healthz},
};
const size_t rest_api_nroutes = sizeof rest_api_routes / sizeof rest_api_routes[0];
