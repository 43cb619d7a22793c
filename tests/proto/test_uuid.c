/* Unit tests of UUID generation and validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stratus/uuid.h"

static void test_generate_is_v4(void **state)
{
    char u[UUID_STR_LEN];
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(uuid_v4_generate(u), 0);
        assert_int_equal(strlen(u), 36);
        assert_true(uuid_is_valid(u));
        assert_int_equal(u[14], '4');
        assert_non_null(strchr("89ab", u[19]));
        for (int k = 0; k < 36; k++)
            assert_false(u[k] >= 'A' && u[k] <= 'F'); /* lower case text */
    }
}

static void test_generate_differs(void **state)
{
    char a[UUID_STR_LEN], b[UUID_STR_LEN];
    assert_int_equal(uuid_v4_generate(a), 0);
    assert_int_equal(uuid_v4_generate(b), 0);
    assert_string_not_equal(a, b);
}

static void test_validation(void **state)
{
    assert_true(uuid_is_valid("123e4567-e89b-12d3-a456-426614174000"));
    assert_true(uuid_is_valid("ABCDEF01-2345-6789-ABCD-EF0123456789"));
    assert_false(uuid_is_valid(NULL));
    assert_false(uuid_is_valid(""));
    assert_false(uuid_is_valid("123e4567-e89b-12d3-a456-42661417400"));   /* short */
    assert_false(uuid_is_valid("123e4567-e89b-12d3-a456-4266141740000")); /* long */
    assert_false(uuid_is_valid("123e4567xe89b-12d3-a456-426614174000"));  /* dash */
    assert_false(uuid_is_valid("123e4567-e89b-12d3-a456-42661417400g"));  /* hex */
    assert_false(uuid_is_valid("123e4567-e89b-12d3-a456-4266141740/0"));
    assert_false(uuid_is_valid("123e4567e89b12d3a456426614174000"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_is_v4),
        cmocka_unit_test(test_generate_differs),
        cmocka_unit_test(test_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
