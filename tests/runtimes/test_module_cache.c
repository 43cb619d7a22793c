/* Unit tests of the runtime's cache of loaded modules (module_cache.h): the
 * same file is loaded once while in use, a changed file is loaded anew, the
 * last user frees it, bad files give a reason, and threads may share it. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "module_cache.h"

static char dir[] = "/tmp/stratus-cache-XXXXXX";
static char path[64];

/* The smallest module: the header, plus `extra` empty custom sections so
 * that versions of the file differ in size. */
static void write_module(const char *where, int extra)
{
    FILE *f = fopen(where, "wb");
    assert_non_null(f);
    static const uint8_t header[] = {0, 'a', 's', 'm', 1, 0, 0, 0};
    static const uint8_t custom[] = {0, 2, 1, 'x'}; /* section 0, size 2, name "x" */
    assert_int_equal(fwrite(header, 1, sizeof header, f), sizeof header);
    for (int i = 0; i < extra; i++)
        assert_int_equal(fwrite(custom, 1, sizeof custom, f), sizeof custom);
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir)) return -1;
    snprintf(path, sizeof path, "%s/m.wasm", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    char other[80];
    snprintf(other, sizeof other, "%s/bad.wasm", dir);
    unlink(other);
    rmdir(dir);
    return 0;
}

static void test_shared_while_used(void **state)
{
    (void)state;
    write_module(path, 0);
    sw_module *a, *b, *c;
    char reason[200];
    assert_int_equal(module_cache_get(path, &a, reason, sizeof reason), 0);
    assert_int_equal(module_cache_get(path, &b, reason, sizeof reason), 0);
    assert_ptr_equal(a, b);
    assert_int_equal(module_cache_size(), 1);
    /* A new version of the file is another module. */
    write_module(path, 1);
    assert_int_equal(module_cache_get(path, &c, reason, sizeof reason), 0);
    assert_ptr_not_equal(a, c);
    assert_int_equal(module_cache_size(), 2);
    module_cache_put(a);
    assert_int_equal(module_cache_size(), 2);
    module_cache_put(b);
    assert_int_equal(module_cache_size(), 1);
    module_cache_put(c);
    assert_int_equal(module_cache_size(), 0);
}

static void test_bad_files(void **state)
{
    (void)state;
    sw_module *m = (sw_module *)1;
    char reason[200];
    char missing[80], bad[80];
    snprintf(missing, sizeof missing, "%s/none.wasm", dir);
    assert_int_equal(module_cache_get(missing, &m, reason, sizeof reason), -1);
    assert_null(m);
    assert_non_null(strstr(reason, "cannot read"));
    snprintf(bad, sizeof bad, "%s/bad.wasm", dir);
    FILE *f = fopen(bad, "wb");
    assert_non_null(f);
    fputs("not wasm at all", f);
    fclose(f);
    assert_int_equal(module_cache_get(bad, &m, reason, sizeof reason), -1);
    assert_non_null(strstr(reason, "magic"));
    assert_int_equal(module_cache_size(), 0);
}

static void *get_put_many(void *arg)
{
    (void)arg;
    for (int i = 0; i < 200; i++) {
        sw_module *m;
        char reason[200];
        if (module_cache_get(path, &m, reason, sizeof reason)) return (void *)1;
        module_cache_put(m);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    write_module(path, 2);
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&t[i], NULL, get_put_many, NULL), 0);
    for (int i = 0; i < 8; i++) {
        void *r;
        pthread_join(t[i], &r);
        assert_null(r);
    }
    assert_int_equal(module_cache_size(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_while_used),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
