/* Integration tests of the manager on a broker that refuses anonymous
 * clients: credentials given with --username/--password, or with the
 * original configuration file keys `mqtt_username` and `pwd`, let it connect
 * and register. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "stack.h"

#define USER "itest-user"
#define PASSWORD "itest-secret"

static struct stack S;
static char DIR_[PATH_MAX];

static const char *mosquitto_passwd_path(void)
{
    const char *e = getenv("MOSQUITTO_PASSWD");
    if (e && *e) return e;
    const char *fixed[] = {"/usr/bin/mosquitto_passwd", "/usr/local/bin/mosquitto_passwd",
                           "/usr/sbin/mosquitto_passwd"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (access(fixed[i], X_OK) == 0) return fixed[i];
    return "mosquitto_passwd";
}

static int group_setup(void **state)
{
    (void)state;
    harness_init();
    memset(&S, 0, sizeof S);
    stack_adopt(&S);
    if (harness_tmpdir(DIR_)) return -1;
    char pwfile[PATH_MAX + 16];
    snprintf(pwfile, sizeof pwfile, "%s/passwords", DIR_);
    struct proc p;
    const char *argv[] = {mosquitto_passwd_path(), "-b", "-c", pwfile, USER, PASSWORD, NULL};
    if (proc_start(&p, (char *const *)argv) || proc_wait_exit(&p, WAIT_MS) ||
        !WIFEXITED(p.status) || WEXITSTATUS(p.status) != 0) {
        fprintf(stderr, "itest_auth: mosquitto_passwd failed\n");
        return -1;
    }
    proc_kill(&p);
    if (broker_start_auth(&S.broker, 0, pwfile)) return -1;
    return client_connect_auth(&S.client, S.broker.port, "itest-auth", USER, PASSWORD);
}

static void test_credentials_from_flags(void **state)
{
    (void)state;
    const char *extra[] = {"--username", USER,         "--password", PASSWORD,
                           "--runtime",  "test/reg:r", NULL};
    assert_int_equal(stack_manager_start(&S, "node-auth", extra), 0);
    char *mgr = stack_wait_registration(&S, "manager", "node-auth", NULL);
    assert_non_null(mgr);
    char *rt = stack_wait_registration(&S, "runtime", "r", NULL);
    assert_non_null(rt);
    free(mgr);
    free(rt);
}

static void test_credentials_from_config_file(void **state)
{
    (void)state;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s.json", DIR_, S.realm);
    json_t *cfg = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:[s]}", "mqtt", "127.0.0.1",
                            "mqtt_port", S.broker.port, "mqtt_username", USER, "pwd", PASSWORD,
                            "realm", S.realm, "name", "node-cfg-auth", "runtimes", "test/reg");
    assert_non_null(cfg);
    assert_int_equal(json_dump_file(cfg, path, 0), 0);
    json_decref(cfg);
    const char *argv[] = {harness_stratus_path(), "manager", "--config", path, NULL};
    assert_int_equal(proc_start(&S.manager, (char *const *)argv), 0);
    S.manager_started = 1;
    char *mgr = stack_wait_registration(&S, "manager", "node-cfg-auth", NULL);
    assert_non_null(mgr);
    free(mgr);
}

/* The password from a file (never on the command line, where every local
 * user can read it), and from the environment. */
static void test_credentials_from_file_and_environment(void **state)
{
    (void)state;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s.pw", DIR_, S.realm);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", PASSWORD);
    fclose(f);
    chmod(path, 0600);
    const char *extra[] = {"--username", USER, "--password-file", path, "--runtime",
                           "test/reg:r", NULL};
    assert_int_equal(stack_manager_start(&S, "node-pwfile", extra), 0);
    char *mgr = stack_wait_registration(&S, "manager", "node-pwfile", NULL);
    assert_non_null(mgr);
    free(mgr);
    char cmdline[128];
    snprintf(cmdline, sizeof cmdline, "/proc/%d/cmdline", (int)S.manager.pid);
    FILE *c = fopen(cmdline, "r");
    assert_non_null(c);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, c);
    fclose(c);
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (!buf[i]) buf[i] = ' ';
    assert_null(strstr(buf, PASSWORD));
    stack_manager_kill(&S);

    setenv("STRATUS_MQTT_PASSWORD", PASSWORD, 1);
    const char *env_extra[] = {"--username", USER, "--runtime", "test/reg:r", NULL};
    int rc = stack_manager_start(&S, "node-pwenv", env_extra);
    unsetenv("STRATUS_MQTT_PASSWORD");
    assert_int_equal(rc, 0);
    mgr = stack_wait_registration(&S, "manager", "node-pwenv", NULL);
    assert_non_null(mgr);
    free(mgr);
}

int main(void)
{
    harness_init();
#define T(name)                                                                                    \
    cmocka_unit_test_setup_teardown(name, stack_fixture_new_realm, stack_fixture_kill_manager)
    const struct CMUnitTest tests[] = {
        T(test_credentials_from_flags),
        T(test_credentials_from_config_file),
        T(test_credentials_from_file_and_environment),
    };
    return cmocka_run_group_tests(tests, group_setup, stack_fixture_group_teardown);
}
