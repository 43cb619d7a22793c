/* REST handlers of the module store (see files_api.h). {q} names a file by
 * its SHA-256, a unique prefix of it (at least 8 digits) or a unique name;
 * lookups are O(files). */
#include "files_api.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event_loop.h"
#include "file_store.h"
#include "orc.h"
#include "rest_api.h"

struct files_api {
    struct file_store *store;
    struct orc *orc;
    struct rest_route routes[2];
};

static json_t *file_json(const struct files_api *fa, const struct file_info *f)
{
    return json_pack("{s:s, s:s, s:I, s:f, s:f, s:b}", "sha256", f->sha256, "name", f->name, "size",
                     (json_int_t)f->size, "uploaded_at", f->uploaded_at, "used_at", f->used_at,
                     "in_use", orc_file_in_use(fa->orc, f->sha256));
}

/* The file {q} names; 404 or 409 (ambiguous) with err otherwise. */
static int find_file(const struct files_api *fa, const char *q, const struct file_info **out,
                     char err[256])
{
    *out = file_store_find(fa->store, q);
    if (*out) return 0;
    size_t qlen = strlen(q), n = file_store_count(fa->store), matches = 0;
    int by_prefix = qlen >= 8 && qlen < FILE_HASH_HEX && strspn(q, "0123456789abcdef") == qlen;
    for (size_t i = 0; i < n; i++) {
        const struct file_info *f = file_store_at(fa->store, i);
        if (by_prefix ? !strncmp(f->sha256, q, qlen) : !strcmp(f->name, q)) {
            *out = f;
            matches++;
        }
    }
    if (matches == 1) return 0;
    *out = NULL;
    if (matches > 1) {
        snprintf(err, 256, "%zu files match '%.64s': name one by its SHA-256", matches, q);
        return 409;
    }
    snprintf(err, 256, "no file '%.64s' in the module store", q);
    return 404;
}

static void list_files(struct files_api *fa, const struct rest_request *req,
                       struct rest_reply *reply)
{
    size_t start, limit;
    char err[128];
    if (rest_paging_parse(req->arg(req->conn, "start"), req->arg(req->conn, "limit"), &start,
                          &limit, err) < 0) {
        rest_reply_error(reply, 400, err);
        return;
    }
    size_t n = file_store_count(fa->store);
    json_t *results = json_array();
    for (size_t i = start; i < n && i - start < limit; i++)
        json_array_append_new(results, file_json(fa, file_store_at(fa->store, i)));
    rest_reply_json(reply, 200,
                    json_pack("{s:I, s:I, s:o}", "count", (json_int_t)n, "start", (json_int_t)start,
                              "results", results));
}

static void upload(struct files_api *fa, const struct rest_request *req, struct rest_reply *reply)
{
    const char *name = req->arg(req->conn, "name");
    if (name && (!*name || strlen(name) > 255 || strpbrk(name, "\n\r\t"))) {
        rest_reply_error(reply, 400, "?name= must be 1..255 characters without control characters");
        return;
    }
    char hex[FILE_HASH_HEX + 1], err[FILE_STORE_ERR_LEN];
    int created = 0;
    int rc = file_store_put(fa->store, req->body, req->body ? req->body_len : 0, name,
                            loop_wall_seconds(), hex, &created, err);
    if (rc) {
        rest_reply_error(reply, rc, err);
        return;
    }
    json_t *j = file_json(fa, file_store_find(fa->store, hex));
    json_object_set_new(j, "created", json_boolean(created));
    rest_reply_json(reply, created ? 201 : 200, j);
}

static void files_root(void *ctx, const struct rest_request *req, struct rest_reply *reply)
{
    if (req->method == REST_POST)
        upload(ctx, req, reply);
    else
        list_files(ctx, req, reply);
}

static void one_file(void *ctx, const struct rest_request *req, struct rest_reply *reply)
{
    struct files_api *fa = ctx;
    const struct file_info *f;
    char err[256];
    int rc = find_file(fa, req->param, &f, err);
    if (rc) {
        rest_reply_error(reply, rc, err);
        return;
    }
    json_t *j = file_json(fa, f);
    if (req->method != REST_DELETE) {
        rest_reply_json(reply, 200, j);
        return;
    }
    if (orc_file_in_use(fa->orc, f->sha256)) {
        json_decref(j);
        snprintf(err, sizeof err, "file %.16s... is in use by a module that has not ended",
                 f->sha256);
        rest_reply_error(reply, 409, err);
        return;
    }
    char hex[FILE_HASH_HEX + 1];
    memcpy(hex, f->sha256, sizeof hex);
    file_store_remove(fa->store, hex);
    rest_reply_json(reply, 200, j);
}

int files_api_new(struct file_store *store, struct orc *orc, struct files_api **out)
{
    struct files_api *fa = calloc(1, sizeof *fa);
    if (!fa) return -1;
    fa->store = store;
    fa->orc = orc;
    fa->routes[0] = (struct rest_route){"/api/files/", REST_GET | REST_POST, files_root};
    fa->routes[1] = (struct rest_route){"/api/files/{q}/", REST_GET | REST_DELETE, one_file};
    *out = fa;
    return 0;
}

void files_api_free(struct files_api *fa)
{
    free(fa);
}

const struct rest_route *files_api_routes(const struct files_api *fa, size_t *n)
{
    *n = sizeof fa->routes / sizeof fa->routes[0];
    return fa->routes;
}
