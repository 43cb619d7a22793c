/* libFuzzer target: the REST router and paging parser with any method, path
 * and query values. Input: METHOD '\n' PATH '\n' START '\n' LIMIT (missing
 * parts are absent). Nothing may crash or read out of bounds, and a found
 * route's {q} value must be a non-empty segment of the path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rest_api.h"
#include "rest_router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *parts[4] = {NULL, NULL, NULL, NULL};
    char *p = text;
    for (int i = 0; i < 4 && p; i++) {
        parts[i] = p;
        p = strchr(p, '\n');
        if (p) *p++ = '\0';
    }
    const struct rest_route *route;
    char param[REST_PARAM_MAX];
    unsigned allowed;
    enum rest_find_result r = rest_route_find(rest_api_routes, rest_api_nroutes, parts[0],
                                              parts[1] ? parts[1] : "/", &route, param, &allowed);
    if (r == REST_FOUND) {
        if (!route) abort();
        if (strstr(route->pattern, "{q}") &&
            (!param[0] || strchr(param, '/') || !strstr(parts[1] ? parts[1] : "/", param)))
            abort();
    }
    size_t start, limit;
    char err[128];
    if (rest_paging_parse(parts[2], parts[3], &start, &limit, err) == 0 &&
        (limit < 1 || limit > REST_LIMIT_MAX))
        abort();
    free(text);
    return 0;
}
