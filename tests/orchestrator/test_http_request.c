/* Unit tests of the REST server's request-head parser: a request line with
 * its path and query decoded, Content-Length and keep-alive rules, partial
 * heads, and each refusal with its status (bad lines, escapes, sizes,
 * versions, transfer codings). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http_request.h"

static int parse(const char *text, struct http_head *h, int *status)
{
    char err[128];
    return http_head_parse(text, strlen(text), 1024, h, status, err);
}

static void test_get_with_query(void **state)
{
    (void)state;
    struct http_head h;
    int status = 0;
    const char *req = "GET /api/modules/a%20b/?start=10&limit=5&name=x+y%2Fz&flag HTTP/1.1\r\n"
                      "Host: 127.0.0.1\r\nAccept: */*\r\n\r\nNEXT";
    assert_int_equal(parse(req, &h, &status), HTTP_PARSE_DONE);
    assert_string_equal(h.method, "GET");
    assert_string_equal(h.path, "/api/modules/a b/");
    assert_string_equal(http_head_arg(&h, "start"), "10");
    assert_string_equal(http_head_arg(&h, "limit"), "5");
    assert_string_equal(http_head_arg(&h, "name"), "x y/z");
    assert_string_equal(http_head_arg(&h, "flag"), "");
    assert_null(http_head_arg(&h, "other"));
    assert_int_equal(h.keep_alive, 1);
    assert_int_equal(h.content_length, 0);
    assert_int_equal(h.head_len, strlen(req) - 4);
    http_head_clear(&h);
}

static void test_post_body_and_connection(void **state)
{
    (void)state;
    struct http_head h;
    int status = 0;
    assert_int_equal(parse("POST /api/modules/ HTTP/1.1\r\ncontent-length: 12\r\n"
                           "Connection: close\r\nExpect: 100-continue\r\n\r\n",
                           &h, &status),
                     HTTP_PARSE_DONE);
    assert_int_equal(h.content_length, 12);
    assert_int_equal(h.keep_alive, 0);
    assert_int_equal(h.expect_continue, 1);
    http_head_clear(&h);
    /* HTTP/1.0 closes unless asked; bare LF line ends are taken. */
    assert_int_equal(parse("GET / HTTP/1.0\n\n", &h, &status), HTTP_PARSE_DONE);
    assert_int_equal(h.keep_alive, 0);
    http_head_clear(&h);
    assert_int_equal(parse("\r\nGET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &h, &status),
                     HTTP_PARSE_DONE);
    assert_int_equal(h.keep_alive, 1);
    http_head_clear(&h);
    /* The same length twice is fine. */
    assert_int_equal(
        parse("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", &h, &status),
        HTTP_PARSE_DONE);
    http_head_clear(&h);
}

static void test_partial_heads(void **state)
{
    (void)state;
    struct http_head h;
    int status = 0;
    assert_int_equal(parse("GET /healthz HTTP/1.1\r\nHost: x\r\n", &h, &status), HTTP_PARSE_MORE);
    assert_int_equal(parse("", &h, &status), HTTP_PARSE_MORE);
    /* A head that never ends, past the limit. */
    static char big[HTTP_HEAD_MAX + 64];
    memset(big, 'a', sizeof big);
    memcpy(big, "GET /", 5);
    char err[128];
    assert_int_equal(http_head_parse(big, sizeof big, 1024, &h, &status, err), HTTP_PARSE_ERROR);
    assert_int_equal(status, 431);
}

static void expect_refused(const char *text, int want)
{
    struct http_head h;
    int status = 0;
    char err[128] = "";
    assert_int_equal(http_head_parse(text, strlen(text), 1024, &h, &status, err), HTTP_PARSE_ERROR);
    if (status != want) fail_msg("%s: status %d, wanted %d (%s)", text, status, want, err);
    assert_true(err[0] != '\0');
}

static void test_refusals(void **state)
{
    (void)state;
    expect_refused("GET\r\n\r\n", 400);
    expect_refused("GET /x\r\n\r\n", 400);
    expect_refused("GET /x HTTP/2.0\r\n\r\n", 505);
    expect_refused("GET /x FTP/1.1\r\n\r\n", 505);
    expect_refused("GET x HTTP/1.1\r\n\r\n", 400);
    expect_refused("GET /a%2 HTTP/1.1\r\n\r\n", 400);
    expect_refused("GET /a%zz HTTP/1.1\r\n\r\n", 400);
    expect_refused("GET /a%00b HTTP/1.1\r\n\r\n", 400);
    expect_refused("GET /a?x=%0 HTTP/1.1\r\n\r\n", 400);
    expect_refused("GET /a#frag HTTP/1.1\r\n\r\n", 400);
    expect_refused("VERYLONGMETHODNAME / HTTP/1.1\r\n\r\n", 501);
    expect_refused("GE(T / HTTP/1.1\r\n\r\n", 400);
    expect_refused("GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400);
    expect_refused("GET / HTTP/1.1\r\n: empty\r\n\r\n", 400);
    expect_refused("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400);
    expect_refused("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", 400);
    expect_refused("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", 400);
    expect_refused("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400);
    expect_refused("POST / HTTP/1.1\r\nContent-Length: 12a\r\n\r\n", 400);
    expect_refused("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400);
    expect_refused("POST / HTTP/1.1\r\nContent-Length: 1025\r\n\r\n", 413);
    expect_refused("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 400);
    expect_refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411);
    expect_refused("GET / HTTP/1.1\r\nExpect: magic\r\n\r\n", 417);
    char many[2048] = "GET /?";
    for (int i = 0; i < HTTP_QUERY_MAX + 1; i++)
        strcat(many, "a=1&");
    strcat(many, " HTTP/1.1\r\n\r\n");
    expect_refused(many, 400);
    assert_string_equal(http_status_text(404), "Not Found");
    assert_string_equal(http_status_text(299), "Unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_with_query),
        cmocka_unit_test(test_post_body_and_connection),
        cmocka_unit_test(test_partial_heads),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
