/* Unit tests of the per-runtime module table: lowest-free index allocation,
 * the capacity limit, idempotent insertion by UUID, reuse after removal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "module_table.h"

static void uuid_n(char out[UUID_STR_LEN], int n)
{
    snprintf(out, UUID_STR_LEN, "00000000-0000-4000-8000-%012d", n);
}

static void test_lowest_free_index_first(void **state)
{
    (void)state;
    struct module_table t;
    module_table_init(&t, 4);
    char u[4][UUID_STR_LEN];
    for (int i = 0; i < 4; i++) {
        uuid_n(u[i], i);
        int index = -1;
        assert_int_equal(module_table_insert(&t, u[i], &index), MT_OK);
        assert_int_equal(index, i);
    }
    assert_int_equal(t.count, 4);
    assert_int_equal(module_table_remove(&t, 1), MT_OK);
    char v[UUID_STR_LEN];
    uuid_n(v, 99);
    int index = -1;
    assert_int_equal(module_table_insert(&t, v, &index), MT_OK);
    assert_int_equal(index, 1);
    assert_string_equal(module_table_uuid(&t, 1), v);
}

static void test_full_table_refuses(void **state)
{
    (void)state;
    struct module_table t;
    module_table_init(&t, 2);
    char a[UUID_STR_LEN], b[UUID_STR_LEN], c[UUID_STR_LEN];
    uuid_n(a, 1);
    uuid_n(b, 2);
    uuid_n(c, 3);
    int index;
    assert_int_equal(module_table_insert(&t, a, &index), MT_OK);
    assert_int_equal(module_table_insert(&t, b, &index), MT_OK);
    assert_int_equal(module_table_insert(&t, c, &index), MT_ERR_FULL);
    assert_int_equal(module_table_find(&t, c), -1);
    assert_int_equal(t.count, 2);
}

static void test_zero_capacity(void **state)
{
    (void)state;
    struct module_table t;
    module_table_init(&t, 0);
    char a[UUID_STR_LEN];
    uuid_n(a, 1);
    int index;
    assert_int_equal(module_table_insert(&t, a, &index), MT_ERR_FULL);
}

static void test_same_uuid_keeps_its_index(void **state)
{
    (void)state;
    struct module_table t;
    module_table_init(&t, 4);
    char a[UUID_STR_LEN], b[UUID_STR_LEN];
    uuid_n(a, 1);
    uuid_n(b, 2);
    int ia, ib, again = -1;
    assert_int_equal(module_table_insert(&t, a, &ia), MT_OK);
    assert_int_equal(module_table_insert(&t, b, &ib), MT_OK);
    assert_int_equal(module_table_insert(&t, b, &again), MT_ERR_EXISTS);
    assert_int_equal(again, ib);
    assert_int_equal(t.count, 2);
}

static void test_bad_input(void **state)
{
    (void)state;
    struct module_table t;
    module_table_init(&t, 500);
    assert_int_equal(t.capacity, MODULE_TABLE_MAX);
    int index;
    char longer[64];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(module_table_insert(&t, longer, &index), MT_ERR_INVALID);
    assert_int_equal(module_table_insert(&t, "", &index), MT_ERR_INVALID);
    assert_int_equal(module_table_remove(&t, 5), MT_ERR_INVALID);
    assert_int_equal(module_table_remove(&t, -1), MT_ERR_INVALID);
    assert_int_equal(module_table_remove(&t, 1000), MT_ERR_INVALID);
    assert_null(module_table_uuid(&t, 1000));
    assert_null(module_table_uuid(&t, 0));
}

static void test_full_128(void **state)
{
    (void)state;
    struct module_table t;
    module_table_init(&t, 128);
    char u[UUID_STR_LEN];
    for (int i = 0; i < 128; i++) {
        int index;
        uuid_n(u, i);
        assert_int_equal(module_table_insert(&t, u, &index), MT_OK);
        assert_int_equal(index, i);
    }
    uuid_n(u, 128);
    int index;
    assert_int_equal(module_table_insert(&t, u, &index), MT_ERR_FULL);
    uuid_n(u, 77);
    assert_int_equal(module_table_find(&t, u), 77);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lowest_free_index_first),
        cmocka_unit_test(test_full_table_refuses),
        cmocka_unit_test(test_zero_capacity),
        cmocka_unit_test(test_same_uuid_keeps_its_index),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_full_128),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
