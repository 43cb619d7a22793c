/* Unit tests of the manager's configuration: command-line flags, the JSON
 * file with the original keys, flags overriding the file, and errors that
 * name the key or flag at fault. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "stratus/manager.h"

static int parse(struct manager_config *cfg, char *err, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    va_start(ap, err);
    argv[argc++] = "manager";
    char *a;
    while ((a = va_arg(ap, char *)) && argc < 31)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    err[0] = '\0';
    return manager_config_from_args(cfg, argc, argv, err);
}

static void test_flags(void **state)
{
    (void)state;
    struct manager_config cfg;
    char err[MANAGER_ERR_LEN];
    manager_config_init(&cfg);
    assert_int_equal(parse(&cfg, err, "--mqtt", "10.0.0.1:1999", "--realm", "r", "--name", "n",
                           "--runtime", "test/reg:one", "--runtime=test/fake", "--runtime-command",
                           "test/fake=/bin/x", "--log-level", "debug", "--reg-timeout", "0.5",
                           "--username", "u", "--password", "p", "--tls-ca", "/ca", NULL),
                     0);
    assert_string_equal(cfg.host, "10.0.0.1");
    assert_int_equal(cfg.port, 1999);
    assert_string_equal(cfg.realm, "r");
    assert_string_equal(cfg.name, "n");
    assert_int_equal(cfg.nruntimes, 2);
    assert_string_equal(cfg.runtimes[0].type, "test/reg");
    assert_string_equal(cfg.runtimes[0].name, "one");
    assert_string_equal(cfg.runtimes[1].type, "test/fake");
    assert_null(cfg.runtimes[1].name);
    assert_int_equal(cfg.ncommands, 1);
    assert_string_equal(cfg.commands[0].path, "/bin/x");
    assert_int_equal(cfg.log_level, 10);
    assert_true(cfg.reg_timeout > 0.49 && cfg.reg_timeout < 0.51);
    assert_string_equal(cfg.username, "u");
    assert_string_equal(cfg.password, "p");
    assert_true(cfg.tls);
    assert_string_equal(cfg.tls_ca, "/ca");
    manager_config_clear(&cfg);

    /* Addresses as every command spells them: IPv6 in brackets, the port
     * kept when only a host is given. */
    manager_config_init(&cfg);
    assert_int_equal(parse(&cfg, err, "--mqtt", "[::1]:1884", "--realm", "r", NULL), 0);
    assert_string_equal(cfg.host, "::1");
    assert_int_equal(cfg.port, 1884);
    assert_int_equal(parse(&cfg, err, "--mqtt", "broker", NULL), 0);
    assert_string_equal(cfg.host, "broker");
    assert_int_equal(cfg.port, 1884);
    manager_config_clear(&cfg);
}

static void test_bad_flags_named(void **state)
{
    (void)state;
    struct manager_config cfg;
    char err[MANAGER_ERR_LEN];
    struct {
        const char *a, *b, *needle;
    } cases[] = {
        {"--mqtt", "host:notaport", "--mqtt"},
        {"--mqtt", "host:70000", "--mqtt"},
        {"--mqtt", "[::1", "--mqtt"},
        {"--runtime", ":x", "runtime"},
        {"--runtime-command", "nopath", "--runtime-command"},
        {"--log-level", "loud", "--log-level"},
        {"--reg-timeout", "-1", "--reg-timeout"},
        {"--bogus", NULL, "--bogus"},
        {"--realm", NULL, "--realm"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        manager_config_init(&cfg);
        assert_int_equal(parse(&cfg, err, cases[i].a, cases[i].b, NULL), -1);
        if (!strstr(err, cases[i].needle)) fail_msg("case %zu: error '%s'", i, err);
        manager_config_clear(&cfg);
    }
}

static void test_json_original_keys(void **state)
{
    (void)state;
    struct manager_config cfg;
    char err[MANAGER_ERR_LEN];
    manager_config_init(&cfg);
    const char *text = "{\"mqtt\": \"broker\", \"mqtt_port\": 8883, \"mqtt_username\": \"u\","
                       " \"pwd\": \"p\", \"use_ssl\": true, \"realm\": \"r\", \"http\": \"h\","
                       " \"http_port\": 8000, \"name\": \"n\", \"runtimes\": [{\"type\": "
                       "\"test/reg\", \"name\": \"a\"}, \"test/reg:b\", \"test/fake\"],"
                       " \"runtime_commands\": {\"test/fake\": \"/x\"}, \"module_dir\": \"/m\","
                       " \"log_level\": \"warning\"}";
    assert_int_equal(manager_config_apply_json(&cfg, text, strlen(text), err), 0);
    assert_string_equal(cfg.host, "broker");
    assert_int_equal(cfg.port, 8883);
    assert_string_equal(cfg.username, "u");
    assert_string_equal(cfg.password, "p");
    assert_true(cfg.tls);
    assert_string_equal(cfg.realm, "r");
    assert_string_equal(cfg.name, "n");
    assert_int_equal(cfg.nruntimes, 3);
    assert_string_equal(cfg.runtimes[0].name, "a");
    assert_string_equal(cfg.runtimes[1].name, "b");
    assert_null(cfg.runtimes[2].name);
    assert_string_equal(cfg.commands[0].path, "/x");
    assert_string_equal(cfg.module_dir, "/m");
    assert_int_equal(cfg.log_level, 30);
    manager_config_clear(&cfg);
}

static void test_json_errors_name_the_key(void **state)
{
    (void)state;
    struct {
        const char *text, *needle;
    } cases[] = {
        {"[1]", "object"},
        {"{\"mqtt\": 5}", "mqtt"},
        {"{\"mqtt_port\": 0}", "mqtt_port"},
        {"{\"use_ssl\": \"yes\"}", "use_ssl"},
        {"{\"runtimes\": {}}", "runtimes"},
        {"{\"runtimes\": [{\"name\": \"x\"}]}", "runtimes"},
        {"{\"runtime_commands\": {\"a\": 1}}", "runtime_commands"},
        {"{\"log_level\": \"x\"}", "log_level"},
        {"{\"realm\": \"a\", \"realm\": \"b\"}", "JSON"},
        {"{", "JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct manager_config cfg;
        char err[MANAGER_ERR_LEN] = "";
        manager_config_init(&cfg);
        assert_int_equal(manager_config_apply_json(&cfg, cases[i].text, strlen(cases[i].text), err),
                         -1);
        if (!strstr(err, cases[i].needle)) fail_msg("case %zu: error '%s'", i, err);
        manager_config_clear(&cfg);
    }
}

static void test_flags_override_file(void **state)
{
    (void)state;
    char path[] = "/tmp/stratus-config-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "{\"mqtt\": \"filehost\", \"mqtt_port\": 1000, \"realm\": \"fr\","
                       " \"name\": \"fn\", \"runtimes\": [\"test/reg:fromfile\"]}";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct manager_config cfg;
    char err[MANAGER_ERR_LEN];
    manager_config_init(&cfg);
    /* The file is read first wherever --config stands. */
    assert_int_equal(
        parse(&cfg, err, "--realm", "flagrealm", "--config", path, "--runtime", "test/reg", NULL),
        0);
    unlink(path);
    assert_string_equal(cfg.realm, "flagrealm");
    assert_string_equal(cfg.host, "filehost");
    assert_int_equal(cfg.port, 1000);
    assert_string_equal(cfg.name, "fn");
    assert_int_equal(cfg.nruntimes, 2);
    manager_config_clear(&cfg);
    manager_config_init(&cfg);
    assert_int_equal(parse(&cfg, err, "--config", "/nonexistent/stratus.json", NULL), -1);
    assert_non_null(strstr(err, "/nonexistent/stratus.json"));
    manager_config_clear(&cfg);
}

static void test_help(void **state)
{
    (void)state;
    struct manager_config cfg;
    char err[MANAGER_ERR_LEN];
    manager_config_init(&cfg);
    assert_int_equal(parse(&cfg, err, "--help", NULL), 0);
    assert_true(cfg.help);
    manager_config_clear(&cfg);
}

/* Outbox sizes, the delete timeout and password sources. */
static void test_outbox_and_password(void **state)
{
    (void)state;
    struct manager_config cfg;
    char err[MANAGER_ERR_LEN];
    manager_config_init(&cfg);
    assert_int_equal(cfg.outbox_total, (size_t)4 << 20);
    assert_int_equal(cfg.outbox_per_module, (size_t)1 << 20);
    assert_true(cfg.outbox_spill);
    assert_int_equal(parse(&cfg, err, "--outbox-total", "8M", "--outbox-per-module", "64K",
                           "--no-outbox-spill", "--delete-timeout", "2.5", NULL),
                     0);
    assert_int_equal(cfg.outbox_total, (size_t)8 << 20);
    assert_int_equal(cfg.outbox_per_module, (size_t)64 << 10);
    assert_false(cfg.outbox_spill);
    assert_true(cfg.delete_timeout > 2.49 && cfg.delete_timeout < 2.51);
    assert_int_equal(parse(&cfg, err, "--outbox-total", "lots", NULL), -1);
    assert_non_null(strstr(err, "--outbox-total"));
    assert_int_equal(parse(&cfg, err, "--delete-timeout", "0", NULL), -1);
    manager_config_clear(&cfg);

    /* The password file wins over the environment, which wins over the flag. */
    char path[] = "/tmp/stratus-pw-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "from-file\nignored\n", 19), 19);
    close(fd);
    manager_config_init(&cfg);
    setenv("STRATUS_MQTT_PASSWORD", "from-env", 1);
    assert_int_equal(parse(&cfg, err, "--password", "from-flag", NULL), 0);
    assert_string_equal(cfg.password, "from-env");
    assert_int_equal(parse(&cfg, err, "--password-file", path, "--password", "from-flag", NULL), 0);
    assert_string_equal(cfg.password, "from-file");
    unsetenv("STRATUS_MQTT_PASSWORD");
    manager_config_clear(&cfg);
    manager_config_init(&cfg);
    assert_int_equal(parse(&cfg, err, "--password-file", "/nonexistent/pw", NULL), -1);
    assert_non_null(strstr(err, "--password-file"));
    manager_config_clear(&cfg);
    unlink(path);
}

/* runtime_types: declared runtime types and the errors naming the item. */
static void test_json_runtime_types(void **state)
{
    (void)state;
    struct manager_config cfg;
    char err[MANAGER_ERR_LEN];
    manager_config_init(&cfg);
    const char *good =
        "{\"runtime_types\": [{\"type\": \"linux/min/wamr\", \"command\": \"/opt/wamr\","
        " \"apis\": [\"wasm\", \"wasi\"], \"max_nmodules\": 1, \"header\": \"legacy\","
        " \"launch\": \"original\", \"socket_dir\": \"/run/sl\"}], \"delete_timeout\": 3}";
    assert_int_equal(manager_config_apply_json(&cfg, good, strlen(good), err), 0);
    assert_int_equal(cfg.ntypes, 1);
    assert_string_equal(cfg.types[0].type, "linux/min/wamr");
    assert_string_equal(cfg.types[0].command, "/opt/wamr");
    assert_string_equal(cfg.types[0].apis[1], "wasi");
    assert_null(cfg.types[0].apis[2]);
    assert_int_equal(cfg.types[0].max_nmodules, 1);
    assert_true(cfg.types[0].legacy_header);
    assert_true(cfg.types[0].original_launch);
    assert_string_equal(cfg.types[0].socket_dir, "/run/sl");
    assert_true(cfg.delete_timeout > 2.99 && cfg.delete_timeout < 3.01);
    manager_config_clear(&cfg);
    struct {
        const char *json, *error;
    } bad[] = {
        {"{\"runtime_types\": {}}", "'runtime_types' must be an array"},
        {"{\"runtime_types\": [{\"type\": \"x\"}]}", "needs \"type\" and \"command\""},
        {"{\"runtime_types\": [{\"type\": \"x\", \"command\": \"c\", \"header\": \"big\"}]}",
         "'header' must be \"seed\" or \"legacy\""},
        {"{\"runtime_types\": [{\"type\": \"x\", \"command\": \"c\", \"launch\": 1}]}",
         "'launch' must be \"stratus\" or \"original\""},
        {"{\"runtime_types\": [{\"type\": \"x\", \"command\": \"c\", \"max_nmodules\": 0}]}",
         "'max_nmodules' must be 1..128"},
        {"{\"runtime_types\": [{\"type\": \"x\", \"command\": \"c\", \"apis\": [1]}]}",
         "'apis' must be an array of strings"},
        {"{\"runtime_types\": [5]}", "item 0 must be an object"},
        {"{\"outbox_total\": -1}", "'outbox_total' must be a number of bytes"},
        {"{\"delete_timeout\": \"soon\"}", "'delete_timeout' must be seconds"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        manager_config_init(&cfg);
        assert_int_equal(manager_config_apply_json(&cfg, bad[i].json, strlen(bad[i].json), err),
                         -1);
        if (!strstr(err, bad[i].error)) fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i].error);
        manager_config_clear(&cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_bad_flags_named),
        cmocka_unit_test(test_json_original_keys),
        cmocka_unit_test(test_json_errors_name_the_key),
        cmocka_unit_test(test_flags_override_file),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_outbox_and_password),
        cmocka_unit_test(test_json_runtime_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
