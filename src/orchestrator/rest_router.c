/* REST route matching and paging arguments (see rest_router.h). */
#include "rest_router.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

unsigned rest_method_parse(const char *method)
{
    if (!method) return 0;
    if (!strcmp(method, "GET") || !strcmp(method, "HEAD")) return REST_GET;
    if (!strcmp(method, "POST")) return REST_POST;
    if (!strcmp(method, "DELETE")) return REST_DELETE;
    if (!strcmp(method, "PUT")) return REST_PUT;
    if (!strcmp(method, "PATCH")) return REST_PATCH;
    return 0;
}

/* Next segment of a path: *p points at it (after any one '/'); returns its
 * length and advances *p past it. */
static size_t next_segment(const char **p)
{
    if (**p == '/') (*p)++;
    const char *s = *p;
    while (**p && **p != '/')
        (*p)++;
    return (size_t)(*p - s);
}

/* Whether path matches pattern; the {q} segment is copied into param. */
static int matches(const char *pattern, const char *path, char *param, int *bad)
{
    const char *a = pattern, *b = path;
    param[0] = '\0';
    for (;;) {
        /* A trailing slash is optional: "/x/" and "/x" are the same. */
        if ((!*a || !strcmp(a, "/")) && (!*b || !strcmp(b, "/"))) return 1;
        if (!*a || !*b) return 0;
        const char *sa = a[0] == '/' ? a + 1 : a, *sb = b[0] == '/' ? b + 1 : b;
        size_t la = next_segment(&a), lb = next_segment(&b);
        if (lb == 0) return 0; /* an empty segment ("//") names nothing */
        if (la == 3 && !memcmp(sa, "{q}", 3)) {
            if (lb >= REST_PARAM_MAX) {
                *bad = 1;
                return 0;
            }
            for (size_t i = 0; i < lb; i++)
                if ((unsigned char)sb[i] < 0x20 || sb[i] == 0x7f) {
                    *bad = 1;
                    return 0;
                }
            memcpy(param, sb, lb);
            param[lb] = '\0';
            continue;
        }
        if (la != lb || memcmp(sa, sb, la)) return 0;
    }
}

enum rest_find_result rest_route_find(const struct rest_route *table, size_t n, const char *method,
                                      const char *path, const struct rest_route **route,
                                      char param[REST_PARAM_MAX], unsigned *allowed)
{
    *route = NULL;
    *allowed = 0;
    param[0] = '\0';
    if (!path || path[0] != '/' || strlen(path) >= REST_PATH_MAX) return REST_BAD_PATH;
    unsigned m = rest_method_parse(method);
    int bad = 0;
    char scratch[REST_PARAM_MAX];
    for (size_t i = 0; i < n; i++) {
        if (!matches(table[i].pattern, path, scratch, &bad)) continue;
        *allowed |= table[i].methods;
        if (m && (table[i].methods & m) && !*route) {
            *route = &table[i];
            memcpy(param, scratch, REST_PARAM_MAX);
        }
    }
    if (*route) return REST_FOUND;
    if (*allowed) return REST_WRONG_METHOD;
    return bad ? REST_BAD_PATH : REST_NO_ROUTE;
}

static int parse_count(const char *text, const char *name, size_t min, size_t max, size_t *out,
                       char *err)
{
    if (!*text || strspn(text, "0123456789") != strlen(text) || strlen(text) > 12) {
        snprintf(err, 128, "'%s' must be a whole number", name);
        return -1;
    }
    errno = 0;
    unsigned long long v = strtoull(text, NULL, 10);
    if (errno || v < min || v > max) {
        snprintf(err, 128, "'%s' must be between %zu and %zu", name, min, max);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

int rest_paging_parse(const char *start, const char *limit, size_t *start_out, size_t *limit_out,
                      char err[128])
{
    *start_out = 0;
    *limit_out = REST_LIMIT_DEFAULT;
    if (start && parse_count(start, "start", 0, 1000000000000ull, start_out, err) < 0) return -1;
    if (limit && parse_count(limit, "limit", 1, REST_LIMIT_MAX, limit_out, err) < 0) return -1;
    return 0;
}
