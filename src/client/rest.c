/* The orchestrator's REST API as the client commands use it (see client.h):
 * JSON answers, its error texts, paged lists and the lookups by the
 * orchestrator's own name rule. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "http_client.h"

const char *client_json_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* The API's error text of an answer, or a generic one. */
static void answer_error(const struct http_response *r, const char *method, const char *path,
                         char *err)
{
    json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
    const char *text = json_string_value(json_object_get(j, "error"));
    if (text)
        snprintf(err, CLIENT_ERR_LEN, "%s", text);
    else
        snprintf(err, CLIENT_ERR_LEN, "%s %s: HTTP status %d", method, path, r->status);
    json_decref(j);
}

/* One exchange; a 2xx answer is success. */
static int exchange(const struct client_target *t, const char *method, const char *path,
                    const void *body, size_t len, struct http_response *r, int *status, char *err)
{
    char herr[HTTP_CLIENT_ERR_LEN];
    if (status) *status = 0;
    /* Uploads get a second for every MiB on top of the usual deadline: the
     * orchestrator hashes, validates and writes the whole file before it
     * answers, and a slow machine does that at a few MiB/s. */
    int timeout = CLIENT_HTTP_MS + (int)(len >> 10);
    if (http_client_request(&t->http, method, path, body, len, timeout, r, herr) < 0) {
        snprintf(err, CLIENT_ERR_LEN,
                 "%s (is the orchestrator running? `stratus up` starts a stack)", herr);
        return -1;
    }
    if (status) *status = r->status;
    if (r->status < 200 || r->status > 299) {
        answer_error(r, method, path, err);
        http_response_clear(r);
        return -1;
    }
    return 0;
}

static int get(const struct client_target *t, const char *path, struct http_response *r,
               int *status, char *err)
{
    return exchange(t, "GET", path, NULL, 0, r, status, err);
}

int client_rest_send(const struct client_target *t, const char *method, const char *path,
                     const void *body, size_t len, json_t **out, int *status,
                     char err[CLIENT_ERR_LEN])
{
    struct http_response r;
    *out = NULL;
    if (exchange(t, method, path, body, len, &r, status, err) < 0) return -1;
    json_error_t jerr;
    *out = json_loadb(r.body, r.body_len, 0, &jerr);
    http_response_clear(&r);
    if (!*out) {
        snprintf(err, CLIENT_ERR_LEN, "%s %s: the answer is not JSON: %s", method, path, jerr.text);
        return -1;
    }
    return 0;
}

int client_rest_get(const struct client_target *t, const char *path, json_t **out, int *status,
                    char err[CLIENT_ERR_LEN])
{
    struct http_response r;
    *out = NULL;
    if (get(t, path, &r, status, err) < 0) return -1;
    json_error_t jerr;
    *out = json_loadb(r.body, r.body_len, 0, &jerr);
    http_response_clear(&r);
    if (!*out) {
        snprintf(err, CLIENT_ERR_LEN, "GET %s: the answer is not JSON: %s", path, jerr.text);
        return -1;
    }
    return 0;
}

int client_rest_get_raw(const struct client_target *t, const char *path, char **body, size_t *len,
                        char err[CLIENT_ERR_LEN])
{
    struct http_response r;
    if (get(t, path, &r, NULL, err) < 0) return -1;
    *body = r.body;
    *len = r.body_len;
    r.body = NULL;
    http_response_clear(&r);
    return 0;
}

/* Pages of 10,000 (the API's largest). */
int client_rest_list(const struct client_target *t, const char *path, json_t **out,
                     char err[CLIENT_ERR_LEN])
{
    json_t *all = json_array();
    if (!all) return -1;
    for (size_t start = 0;;) {
        char page[512];
        snprintf(page, sizeof page, "%s?start=%zu&limit=10000", path, start);
        json_t *j;
        if (client_rest_get(t, page, &j, NULL, err) < 0) {
            json_decref(all);
            return -1;
        }
        json_t *results = json_object_get(j, "results");
        json_int_t count = json_integer_value(json_object_get(j, "count"));
        if (!json_is_array(results)) {
            snprintf(err, CLIENT_ERR_LEN, "GET %s: no results in the answer", path);
            json_decref(j);
            json_decref(all);
            return -1;
        }
        size_t got = json_array_size(results);
        json_array_extend(all, results);
        json_decref(j);
        start += got;
        if (got == 0 || (json_int_t)start >= count) break;
    }
    *out = all;
    return 0;
}

static int find(const struct client_target *t, const char *kind, const char *query, json_t **out,
                char err[CLIENT_ERR_LEN])
{
    char seg[768], path[900];
    if (!*query || http_path_segment_encode(query, seg, sizeof seg) < 0) {
        snprintf(err, CLIENT_ERR_LEN, "'%.100s' is not a %s name", query, kind);
        return -1;
    }
    snprintf(path, sizeof path, "/api/%ss/%s/", kind, seg);
    return client_rest_get(t, path, out, NULL, err);
}

int client_find_module(const struct client_target *t, const char *query, json_t **out,
                       char err[CLIENT_ERR_LEN])
{
    return find(t, "module", query, out, err);
}

int client_find_runtime(const struct client_target *t, const char *query, json_t **out,
                        char err[CLIENT_ERR_LEN])
{
    return find(t, "runtime", query, out, err);
}
