/* Unit tests of the runtime process's create-message parser and of the
 * confinement of module paths to the module directory (module_spec.h). */
#define _GNU_SOURCE
#include <limits.h>
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

#include "module_spec.h"
#include "stratus/frame.h"
#include "stratus/wasi.h"

static int parse(const char *text, struct module_spec *spec, char reason[SPEC_REASON_LEN])
{
    return module_spec_parse((const uint8_t *)text, strlen(text), spec, reason);
}

static void test_full_spec(void **state)
{
    (void)state;
    struct module_spec s;
    char reason[SPEC_REASON_LEN];
    assert_int_equal(parse("{\"uuid\": \"123e4567-e89b-42d3-a456-426614174000\", \"file\": "
                           "\"a/b.wasm\", \"index\": 3, \"args\": "
                           "{\"argv\": [\"x\", \"y z\"], \"env\": [\"K=V\", \"E=\"], "
                           "\"dirs\": [\"data\"], \"other\": 1}}",
                           &s, reason),
                     0);
    assert_string_equal(s.uuid, "123e4567-e89b-42d3-a456-426614174000");
    assert_string_equal(s.file, "a/b.wasm");
    assert_int_equal(s.argc, 3);
    assert_string_equal(s.argv[0], "a/b.wasm");
    assert_string_equal(s.argv[1], "x");
    assert_string_equal(s.argv[2], "y z");
    assert_int_equal(s.envc, 2);
    assert_string_equal(s.env[1], "E=");
    assert_int_equal(s.ndirs, 1);
    assert_string_equal(s.dirs[0], "data");
    module_spec_free(&s);
}

static void test_minimal_spec(void **state)
{
    (void)state;
    struct module_spec s;
    char reason[SPEC_REASON_LEN];
    assert_int_equal(parse("{\"file\": \"m.wasm\", \"args\": null}", &s, reason), 0);
    assert_null(s.uuid);
    assert_int_equal(s.argc, 1);
    assert_int_equal(s.envc, 0);
    assert_int_equal(s.ndirs, 0);
    module_spec_free(&s);
}

static void test_channels_and_policies(void **state)
{
    (void)state;
    struct module_spec s;
    char reason[SPEC_REASON_LEN];
    assert_int_equal(parse("{\"file\": \"m.wasm\", \"channels\": ["
                           "{\"path\": \"light\", \"mode\": \"rw\", \"topic\": \"r/k/light\"},"
                           "{\"path\": \"in\", \"mode\": \"r\", \"topic\": \"r/s/+\"}],"
                           "\"args\": {\"fault_crash\": \"restart\", "
                           "\"resources\": {\"period\": 10000000, \"runtime\": 2000000}}}",
                           &s, reason),
                     0);
    assert_int_equal(s.nchannels, 2);
    assert_string_equal(s.channels[0].path, "light");
    assert_string_equal(s.channels[0].topic, "r/k/light");
    assert_int_equal(s.channels[0].mode, CHANNEL_READ | CHANNEL_WRITE);
    assert_int_equal(s.channels[1].mode, CHANNEL_READ);
    assert_int_equal(s.fault, FAULT_RESTART);
    assert_int_equal(s.period_ns, 10000000);
    assert_int_equal(s.runtime_ns, 2000000);
    module_spec_free(&s);

    /* engines of the benchmarking types are not tiers: left for them */
    assert_int_equal(parse("{\"file\": \"m.wasm\", \"args\": {\"engine\": \"iwasm\"}}", &s, reason),
                     0);
    assert_int_equal(s.engine, SPEC_ENGINE_OTHER);
    module_spec_free(&s);
    assert_int_equal(parse("{\"file\": \"m.wasm\", \"args\": {\"engine\": \"aot\"}}", &s, reason),
                     0);
    assert_int_equal(s.engine, SPEC_ENGINE_AOT);
    module_spec_free(&s);

    assert_int_equal(parse("{\"file\": \"m.wasm\"}", &s, reason), 0);
    assert_int_equal(s.nchannels, 0);
    assert_int_equal(s.fault, FAULT_IGNORE);
    assert_int_equal(s.period_ns, 0);
    module_spec_free(&s);
}

static void expect_topic(const struct module_spec *s, bool free_topics, const char *path,
                         uint8_t want, int err, const char *topic)
{
    char *t = NULL;
    assert_int_equal(channel_topic_resolve(s, "realm", free_topics, path, strlen(path), want, &t),
                     err);
    if (topic)
        assert_string_equal(t, topic);
    else
        assert_null(t);
    free(t);
}

static void test_channel_topics(void **state)
{
    (void)state;
    struct module_spec s;
    char reason[SPEC_REASON_LEN];
    assert_int_equal(parse("{\"file\": \"m.wasm\", \"channels\": ["
                           "{\"path\": \"light\", \"mode\": \"rw\", \"topic\": \"r/k/light\"},"
                           "{\"path\": \"light/ro\", \"mode\": \"r\", \"topic\": \"r/other\"},"
                           "{\"path\": \"out\", \"mode\": \"w\", \"topic\": \"r/out\"}]}",
                           &s, reason),
                     0);
    const uint8_t R = CHANNEL_READ, W = CHANNEL_WRITE;
    expect_topic(&s, false, "light", R | W, 0, "r/k/light");
    expect_topic(&s, false, "light/status", W, 0, "r/k/light/status");
    expect_topic(&s, false, "light/+", R, 0, "r/k/light/+");
    expect_topic(&s, false, "light/+", W, SWASI_EINVAL, NULL);
    expect_topic(&s, false, "light/ro/x", R, 0, "r/other/x"); /* the longer path wins */
    expect_topic(&s, false, "light/ro", W, SWASI_EACCES, NULL);
    expect_topic(&s, false, "lightbulb", R, SWASI_EACCES, NULL); /* not below "light" */
    expect_topic(&s, false, "out", R, SWASI_EACCES, NULL);
    expect_topic(&s, false, "out", W, 0, "r/out");
    expect_topic(&s, false, "elsewhere/t", R, SWASI_EACCES, NULL);
    expect_topic(&s, true, "elsewhere/t", R, 0, "elsewhere/t");
    expect_topic(&s, false, "$SL/data/x", W, 0, "$SL/data/x");
    /* The control plane is refused before the module has a descriptor. */
    expect_topic(&s, false, "$SL/proc/reg", W, SWASI_EACCES, NULL);
    expect_topic(&s, false, "$SL/proc/control", R | W, SWASI_EACCES, NULL);
    expect_topic(&s, true, "realm/proc/keepalive/x", W, SWASI_EACCES, NULL);
    expect_topic(&s, true, "realm/proc/keepalive/x", R, 0, "realm/proc/keepalive/x");
    expect_topic(&s, false, "", R, SWASI_EINVAL, NULL);
    expect_topic(&s, false, "light", 0, SWASI_EINVAL, NULL);
    char *t = NULL;
    assert_int_equal(channel_topic_resolve(&s, "realm", false, "light\0x", 7, R, &t), SWASI_EINVAL);
    module_spec_free(&s);
}

static void expect_error(const char *text, const char *needle)
{
    struct module_spec s;
    char reason[SPEC_REASON_LEN] = "";
    assert_int_equal(parse(text, &s, reason), -1);
    if (!strstr(reason, needle)) fail_msg("reason '%s' lacks '%s'", reason, needle);
    assert_null(s.file);
    assert_null(s.argv);
}

static void test_bad_specs(void **state)
{
    (void)state;
    expect_error("not json", "not JSON");
    expect_error("[1]", "not a JSON object");
    expect_error("{}", "'file'");
    expect_error("{\"file\": \"\"}", "'file'");
    expect_error("{\"file\": 3}", "'file'");
    expect_error("{\"file\": \"a\\u0000b\"}", "not JSON");
    expect_error("{\"file\": \"m\", \"args\": []}", "'args'");
    expect_error("{\"file\": \"m\", \"args\": {\"argv\": \"x\"}}", "'args.argv'");
    expect_error("{\"file\": \"m\", \"args\": {\"argv\": [\"x\", 2]}}", "'args.argv[1]'");
    expect_error("{\"file\": \"m\", \"args\": {\"env\": [\"NOEQUALS\"]}}", "'args.env[0]'");
    expect_error("{\"file\": \"m\", \"args\": {\"env\": [\"=v\"]}}", "'args.env[0]'");
    expect_error("{\"file\": \"m\", \"args\": {\"dirs\": [null]}}", "'args.dirs[0]'");
    expect_error("{\"file\": \"m\", \"file\": \"n\"}", "not JSON");
    expect_error("{\"file\": \"m\", \"channels\": {}}", "'channels'");
    expect_error("{\"file\": \"m\", \"channels\": [1]}", "'channels[0]'");
    expect_error("{\"file\": \"m\", \"channels\": [{\"mode\": \"r\", \"topic\": \"t\"}]}",
                 "'channels[0].path'");
    expect_error("{\"file\": \"m\", \"channels\": [{\"path\": \"p\", \"mode\": \"r\"}]}",
                 "'channels[0].topic'");
    expect_error("{\"file\": \"m\", \"channels\": [{\"path\": \"p\", \"mode\": \"x\", "
                 "\"topic\": \"t\"}]}",
                 "'channels[0].mode'");
    expect_error("{\"file\": \"m\", \"channels\": [{\"path\": \"p\", \"mode\": \"w\", "
                 "\"topic\": \"t/#\"}]}",
                 "may not hold");
    expect_error("{\"file\": \"m\", \"args\": {\"fault_crash\": \"retry\"}}", "'args.fault_crash'");
    expect_error("{\"file\": \"m\", \"args\": {\"resources\": {\"period\": 5}}}",
                 "'args.resources'");
    expect_error("{\"file\": \"m\", \"args\": {\"resources\": {\"period\": 5, "
                 "\"runtime\": -1}}}",
                 "'args.resources'");
}

static char BASE[PATH_MAX], ROOT[PATH_MAX + 8], OUT[PATH_MAX + 16];

static int make_tree(void **state)
{
    (void)state;
    char base[] = "/tmp/stratus-spec-XXXXXX";
    if (!mkdtemp(base)) return -1;
    char *real = realpath(base, NULL);
    if (!real) return -1;
    snprintf(BASE, sizeof BASE, "%s", real);
    snprintf(ROOT, sizeof ROOT, "%s/mods", real);
    snprintf(OUT, sizeof OUT, "%s/outside", real);
    free(real);
    char p[PATH_MAX + 64], q[PATH_MAX + 64];
    if (mkdir(ROOT, 0700) || mkdir(OUT, 0700)) return -1;
    snprintf(p, sizeof p, "%s/sub", ROOT);
    if (mkdir(p, 0700)) return -1;
    snprintf(p, sizeof p, "%s/m.wasm", ROOT);
    FILE *f = fopen(p, "w");
    if (!f) return -1;
    fclose(f);
    snprintf(p, sizeof p, "%s/secret", OUT);
    if (!(f = fopen(p, "w"))) return -1;
    fclose(f);
    snprintf(q, sizeof q, "%s/out-link", ROOT);
    if (symlink(p, q)) return -1;
    snprintf(q, sizeof q, "%s/in-link", ROOT);
    if (symlink("sub/../m.wasm", q)) return -1;
    return 0;
}

static int remove_tree(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", BASE);
    return system(cmd) == 0 ? 0 : -1;
}

static void expect_resolved(const char *rel, int want_dir, const char *tail)
{
    char *out = NULL;
    char reason[SPEC_REASON_LEN] = "";
    if (module_path_resolve(ROOT, rel, want_dir, &out, reason))
        fail_msg("%s refused: %s", rel, reason);
    char expected[PATH_MAX + 64];
    snprintf(expected, sizeof expected, "%s%s", ROOT, tail);
    assert_string_equal(out, expected);
    free(out);
}

static void expect_refused(const char *rel, int want_dir, const char *needle)
{
    char *out = (char *)1;
    char reason[SPEC_REASON_LEN] = "";
    assert_int_equal(module_path_resolve(ROOT, rel, want_dir, &out, reason), -1);
    assert_null(out);
    if (!strstr(reason, needle)) fail_msg("%s: reason '%s' lacks '%s'", rel, reason, needle);
}

static void test_paths(void **state)
{
    (void)state;
    expect_resolved("m.wasm", 0, "/m.wasm");
    /* A '..' level is refused by its text (the rule the manager applies
     * before answering); a symlink whose target has one is followed. */
    expect_refused("./sub/../m.wasm", 0, "may not leave the module directory");
    expect_resolved("in-link", 0, "/m.wasm");
    expect_resolved("sub", 1, "/sub");
    expect_resolved(".", 1, "");
    expect_refused("out-link", 0, "leaves the module directory");
    expect_refused("../outside/secret", 0, "leave the module directory");
    expect_refused("..", 1, "leave the module directory");
    expect_refused("/etc/passwd", 0, "relative");
    expect_refused("", 0, "must not be empty");
    expect_refused("missing.wasm", 0, "cannot open");
    expect_refused("sub", 0, "not a regular file");
    expect_refused("m.wasm", 1, "not a directory");
}

/* A sibling whose name starts with the root's name is not inside it. */
static void test_prefix_sibling(void **state)
{
    (void)state;
    char sib[PATH_MAX + 16], p[PATH_MAX + 32], link[PATH_MAX + 32];
    snprintf(sib, sizeof sib, "%s-evil", ROOT);
    assert_int_equal(mkdir(sib, 0700), 0);
    snprintf(p, sizeof p, "%s/x.wasm", sib);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(link, sizeof link, "%s/sib-link", ROOT);
    assert_int_equal(symlink(p, link), 0);
    expect_refused("sib-link", 0, "leaves the module directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_spec),      cmocka_unit_test(test_minimal_spec),
        cmocka_unit_test(test_bad_specs),      cmocka_unit_test(test_paths),
        cmocka_unit_test(test_prefix_sibling), cmocka_unit_test(test_channels_and_policies),
        cmocka_unit_test(test_channel_topics),
    };
    return cmocka_run_group_tests(tests, make_tree, remove_tree);
}
