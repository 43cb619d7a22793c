/* Unit tests of the node's identity file: a new directory gets fresh UUIDs
 * that a reopen gives back (manager and runtimes), --uuid replaces the
 * manager's and keeps the runtimes', a second holder of the same name is
 * refused while the first runs, names become safe file names, and a damaged
 * file is a clear error, not a new identity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "identity.h"

static char dir[64];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/stratus-identity-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_stable_across_reopen(void **state)
{
    (void)state;
    char sub[128], err[IDENTITY_ERR_LEN];
    snprintf(sub, sizeof sub, "%s/a/b", dir); /* created on the way */
    struct identity *id;
    assert_int_equal(identity_open(sub, "node", NULL, &id, err), 0);
    char mgr[UUID_STR_LEN], rt1[UUID_STR_LEN], rt2[UUID_STR_LEN], again[UUID_STR_LEN];
    snprintf(mgr, sizeof mgr, "%s", identity_manager_uuid(id));
    assert_true(uuid_is_valid(mgr));
    assert_int_equal(identity_runtime_uuid(id, "linux:linux", rt1, err), 0);
    assert_int_equal(identity_runtime_uuid(id, "linux:linux#2", rt2, err), 0);
    assert_string_not_equal(rt1, rt2);
    assert_string_not_equal(rt1, mgr);

    /* While it is open, the same name is refused; another name is not. */
    struct identity *other;
    assert_int_equal(identity_open(sub, "node", NULL, &other, err), -1);
    assert_non_null(strstr(err, "another manager named 'node'"));
    assert_int_equal(identity_open(sub, "node2", NULL, &other, err), 0);
    assert_string_not_equal(identity_manager_uuid(other), mgr);
    identity_close(other);
    identity_close(id);

    assert_int_equal(identity_open(sub, "node", NULL, &id, err), 0);
    assert_string_equal(identity_manager_uuid(id), mgr);
    assert_int_equal(identity_runtime_uuid(id, "linux:linux", again, err), 0);
    assert_string_equal(again, rt1);
    identity_close(id);

    /* An explicit UUID replaces the manager's and keeps the runtimes'. */
    const char *forced = "123e4567-e89b-42d3-a456-426614174000";
    assert_int_equal(identity_open(sub, "node", forced, &id, err), 0);
    assert_string_equal(identity_manager_uuid(id), forced);
    assert_int_equal(identity_runtime_uuid(id, "linux:linux", again, err), 0);
    assert_string_equal(again, rt1);
    identity_close(id);
}

static void test_names_and_damage(void **state)
{
    (void)state;
    char err[IDENTITY_ERR_LEN];
    struct identity *id;
    assert_int_equal(identity_open(dir, "../evil/name", NULL, &id, err), 0);
    const char *path = identity_path(id);
    assert_non_null(strstr(path, "/manager-_._evil_name.json"));
    assert_null(strstr(path + strlen(dir), ".."));
    identity_close(id);

    char bad[256];
    snprintf(bad, sizeof bad, "%s/manager-broken.json", dir);
    FILE *f = fopen(bad, "w");
    assert_non_null(f);
    fputs("{not json", f);
    fclose(f);
    assert_int_equal(identity_open(dir, "broken", NULL, &id, err), -1);
    assert_non_null(strstr(err, "is not a manager identity file"));
}

static void test_default_dir(void **state)
{
    (void)state;
    char *d = identity_default_dir("/given");
    assert_string_equal(d, "/given");
    free(d);
    setenv("STRATUS_STATE_DIR", "/from-env", 1);
    d = identity_default_dir(NULL);
    assert_string_equal(d, "/from-env");
    free(d);
    unsetenv("STRATUS_STATE_DIR");
    setenv("XDG_STATE_HOME", "/xdg", 1);
    d = identity_default_dir(NULL);
    assert_string_equal(d, "/xdg/stratus");
    free(d);
    unsetenv("XDG_STATE_HOME");
    setenv("HOME", "/home/u", 1);
    d = identity_default_dir(NULL);
    assert_string_equal(d, "/home/u/.local/state/stratus");
    free(d);
    unsetenv("HOME");
    assert_null(identity_default_dir(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stable_across_reopen),
        cmocka_unit_test(test_names_and_damage),
        cmocka_unit_test(test_default_dir),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
