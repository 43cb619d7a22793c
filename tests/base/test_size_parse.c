/* Unit test of size_parse: digits with K, M, G suffixes; refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "size_parse.h"

static void test_sizes(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(size_parse("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(size_parse("4096", &v), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(size_parse("2500K", &v), 0);
    assert_int_equal(v, 2500u << 10);
    assert_int_equal(size_parse("64m", &v), 0);
    assert_int_equal(v, 64u << 20);
    assert_int_equal(size_parse("1G", &v), 0);
    assert_int_equal(v, 1u << 30);
    assert_int_equal(size_parse("1024G", &v), 0);
    assert_int_equal(v, (uint64_t)1 << 40);
    const char *bad[] = {"",     "-1", "+1", " 1",    "1 ",
                         "1KB",  "1T", "K",  "1025G", "99999999999999999999",
                         "0x10", NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(size_parse(bad[i], &v), -1);
    assert_int_equal(size_parse(NULL, &v), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_sizes)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
