/* Unit tests of the REST router and paging parser, the output ring and the
 * string map: routes with and without a trailing slash, {q} segments, 404,
 * 405 with the allowed methods, bad paths; paging bounds; the ring keeping
 * the last bytes; map insert, find and delete under collisions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "output_ring.h"
#include "rest_api.h"
#include "rest_router.h"
#include "strmap.h"

static const struct rest_route *find(const char *method, const char *path, char *param,
                                     enum rest_find_result *res, unsigned *allowed)
{
    const struct rest_route *r;
    *res = rest_route_find(rest_api_routes, rest_api_nroutes, method, path, &r, param, allowed);
    return r;
}

static void test_routes(void **state)
{
    (void)state;
    char param[REST_PARAM_MAX];
    enum rest_find_result res;
    unsigned allowed;
    const struct rest_route *r = find("GET", "/api/modules/", param, &res, &allowed);
    assert_int_equal(res, REST_FOUND);
    assert_string_equal(r->pattern, "/api/modules/");
    assert_string_equal(param, "");
    assert_ptr_equal(find("GET", "/api/modules", param, &res, &allowed), r);
    assert_ptr_equal(find("POST", "/api/modules/", param, &res, &allowed), r);
    r = find("GET", "/api/modules/abc-123/", param, &res, &allowed);
    assert_int_equal(res, REST_FOUND);
    assert_string_equal(r->pattern, "/api/modules/{q}/");
    assert_string_equal(param, "abc-123");
    r = find("HEAD", "/api/modules/abc/output", param, &res, &allowed);
    assert_string_equal(r->pattern, "/api/modules/{q}/output");
    assert_string_equal(param, "abc");
    r = find("DELETE", "/api/modules/x", param, &res, &allowed);
    assert_string_equal(r->pattern, "/api/modules/{q}/");
    assert_non_null(find("GET", "/metrics", param, &res, &allowed));
    assert_non_null(find("GET", "/healthz/", param, &res, &allowed));

    assert_null(find("GET", "/api/nothing/", param, &res, &allowed));
    assert_int_equal(res, REST_NO_ROUTE);
    assert_null(find("GET", "/api/modules//", param, &res, &allowed));
    assert_int_equal(res, REST_NO_ROUTE);
    assert_null(find("GET", "/api/modules/a/b/c", param, &res, &allowed));
    assert_int_equal(res, REST_NO_ROUTE);
    assert_null(find("DELETE", "/api/runtimes/", param, &res, &allowed));
    assert_int_equal(res, REST_WRONG_METHOD);
    assert_int_equal(allowed, REST_GET);
    assert_null(find("PUT", "/api/modules/", param, &res, &allowed));
    assert_int_equal(res, REST_WRONG_METHOD);
    assert_int_equal(allowed, REST_GET | REST_POST);
    assert_null(find("BREW", "/api/modules/", param, &res, &allowed));
    assert_int_equal(res, REST_WRONG_METHOD);
    assert_null(find("GET", "relative", param, &res, &allowed));
    assert_int_equal(res, REST_BAD_PATH);
    assert_null(find("GET", "/api/modules/a\x01z/", param, &res, &allowed));
    assert_int_equal(res, REST_BAD_PATH);
    char longp[REST_PARAM_MAX + 32];
    snprintf(longp, sizeof longp, "/api/modules/%0*d/", REST_PARAM_MAX, 0);
    assert_null(find("GET", longp, param, &res, &allowed));
    assert_int_equal(res, REST_BAD_PATH);
}

static void test_paging(void **state)
{
    (void)state;
    size_t start, limit;
    char err[128];
    assert_int_equal(rest_paging_parse(NULL, NULL, &start, &limit, err), 0);
    assert_int_equal(start, 0);
    assert_int_equal(limit, REST_LIMIT_DEFAULT);
    assert_int_equal(rest_paging_parse("20", "5", &start, &limit, err), 0);
    assert_int_equal(start, 20);
    assert_int_equal(limit, 5);
    assert_int_equal(rest_paging_parse("-1", NULL, &start, &limit, err), -1);
    assert_non_null(strstr(err, "start"));
    assert_int_equal(rest_paging_parse(NULL, "0", &start, &limit, err), -1);
    assert_non_null(strstr(err, "limit"));
    assert_int_equal(rest_paging_parse(NULL, "10001", &start, &limit, err), -1);
    assert_int_equal(rest_paging_parse("1x", NULL, &start, &limit, err), -1);
    assert_int_equal(rest_paging_parse("", NULL, &start, &limit, err), -1);
    assert_int_equal(rest_paging_parse("99999999999999999999", NULL, &start, &limit, err), -1);
}

static void test_output_ring(void **state)
{
    (void)state;
    struct output_ring r = {0};
    char *buf = malloc(OUTPUT_RING_CAP);
    assert_int_equal(output_ring_append(&r, "abc", 3), 0);
    output_ring_copy(&r, buf);
    assert_memory_equal(buf, "abc", 3);
    /* Fill past the cap in odd-sized pieces: the last OUTPUT_RING_CAP bytes stay, in order. */
    size_t total = 3;
    char piece[777];
    while (total < 3 * OUTPUT_RING_CAP) {
        for (size_t i = 0; i < sizeof piece; i++)
            piece[i] = (char)((total + i) % 251);
        assert_int_equal(output_ring_append(&r, piece, sizeof piece), 0);
        total += sizeof piece;
    }
    assert_int_equal(r.len, OUTPUT_RING_CAP);
    output_ring_copy(&r, buf);
    for (size_t i = 0; i < OUTPUT_RING_CAP; i++) {
        size_t pos = total - OUTPUT_RING_CAP + i;
        if (pos < 3) continue;
        assert_int_equal((unsigned char)buf[i], pos % 251);
    }
    /* One append larger than the cap keeps its tail only. */
    char *huge = malloc(OUTPUT_RING_CAP + 10);
    memset(huge, 'x', OUTPUT_RING_CAP + 10);
    huge[OUTPUT_RING_CAP + 9] = 'y';
    assert_int_equal(output_ring_append(&r, huge, OUTPUT_RING_CAP + 10), 0);
    output_ring_copy(&r, buf);
    assert_int_equal(r.len, OUTPUT_RING_CAP);
    assert_int_equal(buf[OUTPUT_RING_CAP - 1], 'y');
    free(huge);
    free(buf);
    output_ring_clear(&r);
}

static void test_strmap(void **state)
{
    (void)state;
    struct strmap m;
    strmap_init(&m);
    enum { N = 5000 };
    static char keys[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        assert_int_equal(strmap_put(&m, keys[i], keys[i]), 0);
    }
    assert_int_equal(m.count, N);
    for (int i = 0; i < N; i += 2)
        strmap_del(&m, keys[i]);
    for (int i = 0; i < N; i++) {
        void *v = strmap_get(&m, keys[i]);
        if (i % 2)
            assert_ptr_equal(v, keys[i]);
        else
            assert_null(v);
    }
    assert_int_equal(m.count, N / 2);
    strmap_del(&m, "absent");
    assert_null(strmap_get(&m, "absent"));
    strmap_clear(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_paging),
        cmocka_unit_test(test_output_ring),
        cmocka_unit_test(test_strmap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
