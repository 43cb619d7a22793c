/* Unit tests of the topic helpers: `$SL/` expansion, filter and name rules,
 * MQTT matching from a table, and the subscription index checked against
 * brute-force matching on random filters and topics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stratus/topic.h"

static void expect_expand(const char *topic, const char *want)
{
    char *got = NULL;
    assert_int_equal(topic_expand(topic, "realm", "U", &got), TOPIC_EXPAND_OK);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void expect_refused(const char *topic)
{
    char *got = (char *)1;
    assert_int_equal(topic_expand(topic, "realm", "U", &got), TOPIC_EXPAND_REFUSED);
    assert_null(got);
}

static void test_expand(void **state)
{
    (void)state;
    /* A module's own topics: its stdio and its subtree. */
    expect_expand("$SL/proc/stdio", "realm/proc/stdio/U");
    expect_expand("$SL/a", "realm/mod/U/a");
    expect_expand("$SL/a/b/#", "realm/mod/U/a/b/#");
    expect_expand("$SL/#", "realm/mod/U/#");
    expect_expand("$SL/../../#", "realm/mod/U/../../#");
    /* Only the exact prefix: characters of "$SL" further in stay. */
    expect_expand("$SL/SL$/L", "realm/mod/U/SL$/L");
    expect_expand("$SL/procx", "realm/mod/U/procx");
    /* The control plane is never a module's. */
    expect_refused("$SL/proc/reg");
    expect_refused("$SL/proc/control");
    expect_refused("$SL/proc/keepalive");
    expect_refused("$SL/proc/profile");
    expect_refused("$SL/proc/log");
    expect_refused("$SL/proc/stdio/x");
    expect_refused("$SL/proc");
    expect_refused("$SL/proc/#");
    expect_refused("$SL/");
    /* Anything else is copied unchanged. */
    expect_expand("realm/kitchen/light", "realm/kitchen/light");
    expect_expand("$SLx/a", "$SLx/a");
    expect_expand("$SL", "$SL");
    expect_expand("SL/a", "SL/a");
    expect_expand("", "");
    char *other = NULL;
    assert_int_equal(
        topic_expand("$SL/proc/stdio", "r2", "123e4567-e89b-12d3-a456-426614174000", &other), 0);
    assert_string_equal(other, "r2/proc/stdio/123e4567-e89b-12d3-a456-426614174000");
    free(other);
}

/* The open rule both processes apply (channel_open_check). */
static void test_channel_open_rule(void **state)
{
    (void)state;
    const unsigned R = 1, W = 2, RW = 3;
    struct {
        unsigned flags;
        const char *topic;
        int want;
        const char *expanded;
    } cases[] = {
        {RW, "$SL/proc/stdio", CHANNEL_OPEN_OK, "realm/proc/stdio/U"},
        {W, "$SL/out", CHANNEL_OPEN_OK, "realm/mod/U/out"},
        {R, "$SL/#", CHANNEL_OPEN_OK, "realm/mod/U/#"},
        {W, "$SL/proc/reg", CHANNEL_OPEN_DENIED, NULL},
        {R, "$SL/proc/control", CHANNEL_OPEN_DENIED, NULL},
        {W, "realm/proc/reg/x", CHANNEL_OPEN_DENIED, NULL},
        {W, "realm/proc/control", CHANNEL_OPEN_DENIED, NULL},
        {W, "realm/proc/control/x", CHANNEL_OPEN_DENIED, NULL},
        {W, "realm/proc/keepalive/x", CHANNEL_OPEN_DENIED, NULL},
        {W, "realm/proc/profile/a/b/c", CHANNEL_OPEN_DENIED, NULL},
        {W, "realm/proc/log/orchestrator", CHANNEL_OPEN_DENIED, NULL},
        {R, "realm/proc/control/x", CHANNEL_OPEN_OK, "realm/proc/control/x"},
        {W, "realm/proc/stdio/x", CHANNEL_OPEN_OK, "realm/proc/stdio/x"},
        {W, "realm/proc/controlx", CHANNEL_OPEN_OK, "realm/proc/controlx"},
        {W, "other/proc/reg/x", CHANNEL_OPEN_OK, "other/proc/reg/x"},
        {W, "a/+", CHANNEL_OPEN_WILDCARD, NULL},
        {W, "$SL/#", CHANNEL_OPEN_WILDCARD, NULL},
        {R, "a/#/b", CHANNEL_OPEN_TOPIC, NULL},
        {0, "a", CHANNEL_OPEN_FLAGS, NULL},
        {R | 0x0C, "a", CHANNEL_OPEN_FLAGS, NULL},
        {R, "", CHANNEL_OPEN_TOPIC, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *e = NULL;
        int rc = channel_open_check("realm", "U", cases[i].flags, cases[i].topic,
                                    strlen(cases[i].topic), &e);
        if (rc != cases[i].want)
            fail_msg("case %zu (%s): %d, want %d", i, cases[i].topic, rc, cases[i].want);
        if (cases[i].expanded)
            assert_string_equal(e, cases[i].expanded);
        else
            assert_null(e);
        free(e);
    }
    assert_int_equal(channel_open_check("realm", "U", R, "a\0b", 3, NULL), CHANNEL_OPEN_TOPIC);
    assert_non_null(strstr(channel_open_strerror(CHANNEL_OPEN_DENIED), "control plane"));
}

static void test_wildcards_and_validity(void **state)
{
    assert_true(topic_has_wildcard("a/+/b"));
    assert_true(topic_has_wildcard("a/#"));
    assert_true(topic_has_wildcard("a+b"));
    assert_false(topic_has_wildcard("a/b/c"));
    assert_false(topic_has_wildcard(""));

    const char *good[] = {"#", "+",  "a",    "a/b",    "a/+",   "a/#", "+/+/#",
                          "/", "//", "a//b", "$SYS/#", "+/a/#", "/#",  "a/+/c"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_true(topic_filter_is_valid(good[i]));
    const char *bad[] = {"",     "a#",   "a/#/b", "#/a", "a+",  "+a/b",
                         "a/b+", "a/#b", "##",    "++",  "a/+#"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(topic_filter_is_valid(bad[i]));
    assert_false(topic_filter_is_valid(NULL));

    assert_true(topic_name_is_valid("a/b"));
    assert_true(topic_name_is_valid("/"));
    assert_true(topic_name_is_valid("$SYS/x"));
    assert_false(topic_name_is_valid(""));
    assert_false(topic_name_is_valid("a/+"));
    assert_false(topic_name_is_valid("a/#"));
    assert_false(topic_name_is_valid(NULL));

    /* Over 65535 bytes is not an MQTT topic. */
    char *longest = malloc(65537);
    assert_non_null(longest);
    memset(longest, 'a', 65536);
    longest[65535] = '\0';
    assert_true(topic_name_is_valid(longest));
    assert_true(topic_filter_is_valid(longest));
    longest[65535] = 'a';
    longest[65536] = '\0';
    assert_false(topic_name_is_valid(longest));
    assert_false(topic_filter_is_valid(longest));
    free(longest);
}

struct match_case {
    const char *filter, *name;
    int match;
};

static const struct match_case match_table[] = {
    {"a/b/c", "a/b/c", 1},
    {"a/b/c", "a/b", 0},
    {"a/b", "a/b/c", 0},
    {"a/b/c", "a/b/d", 0},
    {"a/+/c", "a/b/c", 1},
    {"a/+/c", "a/b/d", 0},
    {"a/+/c", "a//c", 1}, /* `+` matches an empty level */
    {"a/+", "a/", 1},
    {"a/+", "a", 0},
    {"a/+", "a/b/c", 0},
    {"+", "a", 1},
    {"+", "/a", 0},
    {"+/+", "/a", 1},
    {"+", "", 0}, /* not a topic */
    {"#", "a", 1},
    {"#", "a/b/c", 1},
    {"#", "/", 1},
    {"a/#", "a", 1}, /* `#` includes the parent level */
    {"a/#", "a/", 1},
    {"a/#", "a/b", 1},
    {"a/#", "a/b/c/d", 1},
    {"a/#", "b", 0},
    {"a/#", "ab", 0},
    {"a/b/#", "a", 0},
    {"+/#", "a", 1},
    {"+/+/#", "a", 0},
    {"/#", "/a", 1},
    {"/#", "a", 0},
    {"/+", "/", 1},
    {"a//b", "a//b", 1},
    {"a//b", "a/b", 0},
    {"#", "$SYS/x", 0}, /* `$` topics: no leading wildcard */
    {"+/x", "$SYS/x", 0},
    {"+", "$x", 0},
    {"$SYS/#", "$SYS/x", 1},
    {"$SYS/+", "$SYS/x", 1},
    {"$SYS/#", "$SYS", 1},
    {"a/$b", "a/$b", 1},
    {"a/+", "a/$b", 1}, /* `$` only matters at the start */
    {"realm/proc/stdio/+", "realm/proc/stdio/123", 1},
    {"Realm/x", "realm/x", 0}, /* case matters */
    {"a/b", "a/+", 0},         /* wildcards in a name: not a topic */
    {"a/#/b", "a/x/b", 0},     /* invalid filter */
    {"a+", "a+", 0},
};

static void test_match_table(void **state)
{
    for (size_t i = 0; i < sizeof match_table / sizeof *match_table; i++) {
        const struct match_case *c = &match_table[i];
        if (topic_matches(c->filter, c->name) != c->match)
            fail_msg("topic_matches(\"%s\", \"%s\") should be %d", c->filter, c->name, c->match);
    }
}

static void count_visit(void *value, void *ctx)
{
    (*(size_t *)ctx)++;
}

/* The same table through the index: one filter at a time. */
static void test_index_match_table(void **state)
{
    for (size_t i = 0; i < sizeof match_table / sizeof *match_table; i++) {
        const struct match_case *c = &match_table[i];
        struct topic_index *idx = topic_index_new();
        assert_non_null(idx);
        int added = topic_index_add(idx, c->filter, (void *)c);
        assert_int_equal(added, topic_filter_is_valid(c->filter) ? 1 : -1);
        size_t seen = 0;
        size_t calls = topic_index_match(idx, c->name, count_visit, &seen);
        assert_int_equal(calls, seen);
        if (calls != (size_t)c->match)
            fail_msg("index: \"%s\" on \"%s\" gave %zu calls", c->filter, c->name, calls);
        topic_index_free(idx);
    }
}

static void test_index_add_remove(void **state)
{
    struct topic_index *idx = topic_index_new();
    assert_non_null(idx);
    int a, b, c;
    assert_int_equal(topic_index_add(idx, "x/+", &a), 1); /* subscribe */
    assert_int_equal(topic_index_add(idx, "x/+", &b), 0); /* already subscribed */
    assert_int_equal(topic_index_add(idx, "x/y", &c), 1);
    assert_int_equal(topic_index_filter_count(idx), 2);
    assert_int_equal(topic_index_add(idx, "x/#/y", &c), -1);
    assert_int_equal(topic_index_add(idx, "", &c), -1);

    size_t seen = 0;
    assert_int_equal(topic_index_match(idx, "x/y", count_visit, &seen), 3);
    assert_int_equal(topic_index_match(idx, "x/z", count_visit, &seen), 2);
    assert_int_equal(topic_index_match(idx, "x", count_visit, &seen), 0);
    assert_int_equal(seen, 5);

    assert_int_equal(topic_index_remove(idx, "x/+", &c), -1); /* not under that filter */
    assert_int_equal(topic_index_remove(idx, "x/q", &a), -1); /* no such filter */
    assert_int_equal(topic_index_remove(idx, "x/+", &a), 0);  /* b remains */
    assert_int_equal(topic_index_remove(idx, "x/+", &a), -1); /* already gone */
    assert_int_equal(topic_index_remove(idx, "x/+", &b), 1);  /* unsubscribe */
    assert_int_equal(topic_index_filter_count(idx), 1);
    assert_int_equal(topic_index_match(idx, "x/z", count_visit, &seen), 0);
    assert_int_equal(topic_index_match(idx, "x/y", count_visit, &seen), 1);
    assert_int_equal(topic_index_remove(idx, "x/y", &c), 1);
    assert_int_equal(topic_index_filter_count(idx), 0);
    assert_int_equal(topic_index_match(idx, "x/y", count_visit, &seen), 0);

    /* Re-adding after everything was pruned subscribes again. */
    assert_int_equal(topic_index_add(idx, "x/+", &a), 1);
    topic_index_free(idx);
}

/* The values a match visits, with multiplicity. */
struct visit_log {
    int hits[512];
};

/* Value k of the property test is &slot_of_base[k]. */
static int slot_of_base[512];

static void log_visit_slot(void *value, void *ctx)
{
    struct visit_log *log = ctx;
    log->hits[(int *)value - slot_of_base]++;
}

/* Random topics from a small alphabet of levels so that filters and names
 * collide often, including empty levels and `$` names. */
static void random_levels(char *out, size_t cap, int wildcards)
{
    static const char *words[] = {"a", "b", "c", "", "$s", "ab"};
    int n = 1 + rand() % 5;
    size_t pos = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        const char *w = words[rand() % 6];
        if (wildcards) {
            int r = rand() % 10;
            if (r < 3)
                w = "+";
            else if (r == 3 && i == n - 1)
                w = "#";
        }
        pos += (size_t)snprintf(out + pos, cap - pos, "%s%s", i ? "/" : "", w);
    }
    if (pos == 0) snprintf(out, cap, "c"); /* the empty string is no topic */
}

static void test_index_vs_brute_force(void **state)
{
    srand(4242);
    for (int round = 0; round < 40; round++) {
        enum { NF = 300 };
        static char filters[NF][64];
        static int present[NF];
        struct topic_index *idx = topic_index_new();
        assert_non_null(idx);
        memset(present, 0, sizeof present);

        /* Random adds and removes; check the subscribe/unsubscribe answers
         * against a count of values per filter string. */
        for (int op = 0; op < 2000; op++) {
            int k = rand() % NF;
            if (!present[k]) {
                random_levels(filters[k], sizeof filters[k], 1);
                int before = 0;
                for (int j = 0; j < NF; j++)
                    before += present[j] && strcmp(filters[j], filters[k]) == 0;
                int rc = topic_index_add(idx, filters[k], &slot_of_base[k]);
                if (rc < 0) fail_msg("add \"%s\" failed", filters[k]);
                assert_int_equal(rc, before == 0 ? 1 : 0);
                present[k] = 1;
            } else if (rand() % 3 == 0) {
                present[k] = 0;
                int after = 0;
                for (int j = 0; j < NF; j++)
                    after += present[j] && strcmp(filters[j], filters[k]) == 0;
                int rc = topic_index_remove(idx, filters[k], &slot_of_base[k]);
                assert_int_equal(rc, after == 0 ? 1 : 0);
            }
        }
        size_t distinct = 0;
        for (int j = 0; j < NF; j++) {
            if (!present[j]) continue;
            int first = 1;
            for (int i = 0; i < j; i++)
                first &= !(present[i] && strcmp(filters[i], filters[j]) == 0);
            distinct += (size_t)first;
        }
        assert_int_equal(topic_index_filter_count(idx), distinct);

        for (int q = 0; q < 300; q++) {
            char name[64];
            random_levels(name, sizeof name, 0);
            struct visit_log log;
            memset(&log, 0, sizeof log);
            size_t calls = topic_index_match(idx, name, log_visit_slot, &log);
            size_t want_calls = 0;
            for (int j = 0; j < NF; j++) {
                int want = present[j] && topic_matches(filters[j], name);
                want_calls += (size_t)want;
                if (log.hits[j] != want)
                    fail_msg("filter \"%s\" on \"%s\": index %d, brute force %d", filters[j], name,
                             log.hits[j], want);
            }
            assert_int_equal(calls, want_calls);
        }
        topic_index_free(idx);
    }
}

/* Filters and names with tens of thousands of levels: no recursion to
 * exhaust the stack, and matching still exact. */
static void test_deep_topics(void **state)
{
    size_t levels = 30000;
    char *deep = malloc(levels * 2);
    assert_non_null(deep);
    for (size_t i = 0; i < levels; i++) {
        deep[2 * i] = 'x';
        deep[2 * i + 1] = '/';
    }
    deep[levels * 2 - 1] = '\0';
    struct topic_index *idx = topic_index_new();
    assert_non_null(idx);
    int v;
    assert_int_equal(topic_index_add(idx, deep, &v), 1);
    char *plus = strdup(deep);
    for (size_t i = 0; i < levels; i += 2)
        plus[2 * i] = '+';
    assert_int_equal(topic_index_add(idx, plus, &v), 1);
    size_t seen = 0;
    assert_int_equal(topic_index_match(idx, deep, count_visit, &seen), 2);
    assert_true(topic_matches(plus, deep));
    assert_int_equal(topic_index_remove(idx, deep, &v), 1);
    topic_index_free(idx); /* frees the remaining deep branch */
    free(plus);
    free(deep);
}

static void expect_layout(const char *topic, enum topic_kind kind, const char *id)
{
    struct topic_ref ref;
    assert_int_equal(topic_parse("realm", topic, &ref), kind);
    assert_int_equal(ref.kind, kind);
    if (kind == TOPIC_OTHER) return;
    assert_string_equal(ref.id, id);
    char again[TOPIC_LAYOUT_MAX];
    assert_int_equal(topic_format(again, sizeof again, "realm", kind, id), 0);
    assert_string_equal(again, topic);
}

static void test_layout(void **state)
{
    (void)state;
    expect_layout("realm/proc/reg/U1", TOPIC_REG, "U1");
    expect_layout("realm/proc/keepalive/R", TOPIC_KEEPALIVE, "R");
    expect_layout("realm/proc/control", TOPIC_CONTROL, "");
    expect_layout("realm/proc/control/R", TOPIC_CONTROL_RUNTIME, "R");
    expect_layout("realm/proc/log/orchestrator", TOPIC_LOG, "orchestrator");
    expect_layout("realm/proc/stdio/M", TOPIC_STDIO, "M");
    expect_layout("realm/proc/profile/deployed/R/M", TOPIC_PROFILE, "deployed/R/M");
    /* Wrong realm, extra or missing levels, empty levels, wildcards. */
    expect_layout("other/proc/reg/U1", TOPIC_OTHER, NULL);
    expect_layout("realmx/proc/reg/U1", TOPIC_OTHER, NULL);
    expect_layout("realm/proc/reg/U1/x", TOPIC_OTHER, NULL);
    expect_layout("realm/proc/reg/", TOPIC_OTHER, NULL);
    expect_layout("realm/proc/reg", TOPIC_OTHER, NULL);
    expect_layout("realm/proc/reg/+", TOPIC_OTHER, NULL);
    expect_layout("realm/proc/controlx", TOPIC_OTHER, NULL);
    expect_layout("realm/proc/control//", TOPIC_OTHER, NULL);
    expect_layout("realm/proc/profile/deployed/R", TOPIC_OTHER, NULL);
    expect_layout("realm/kitchen/light", TOPIC_OTHER, NULL);

    struct topic_ref ref;
    assert_int_equal(topic_parse("realm", "realm/proc/profile/opcodes/R1/M22", &ref),
                     TOPIC_PROFILE);
    assert_int_equal(ref.type_len, 7);
    assert_memory_equal(ref.type, "opcodes", 7);
    assert_int_equal(ref.runtime_len, 2);
    assert_memory_equal(ref.runtime, "R1", 2);
    assert_string_equal(ref.module, "M22");

    char buf[TOPIC_LAYOUT_MAX];
    assert_int_equal(topic_format(buf, sizeof buf, "r2", TOPIC_REG, "+"), 0);
    assert_string_equal(buf, "r2/proc/reg/+");
    assert_int_equal(topic_format_profile(buf, sizeof buf, "r", "deployed", "R", "M"), 0);
    assert_string_equal(buf, "r/proc/profile/deployed/R/M");
    /* Errors: no id where one is needed, empty realm, too small a buffer. */
    assert_int_equal(topic_format(buf, sizeof buf, "r", TOPIC_REG, NULL), -1);
    assert_int_equal(topic_format(buf, sizeof buf, "r", TOPIC_REG, ""), -1);
    assert_int_equal(topic_format(buf, sizeof buf, "", TOPIC_CONTROL, NULL), -1);
    assert_int_equal(topic_format(buf, 8, "realm", TOPIC_CONTROL, NULL), -1);
    assert_int_equal(topic_format(buf, sizeof buf, "r", TOPIC_OTHER, "x"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expand),
        cmocka_unit_test(test_channel_open_rule),
        cmocka_unit_test(test_wildcards_and_validity),
        cmocka_unit_test(test_match_table),
        cmocka_unit_test(test_index_match_table),
        cmocka_unit_test(test_index_add_remove),
        cmocka_unit_test(test_index_vs_brute_force),
        cmocka_unit_test(test_deep_topics),
        cmocka_unit_test(test_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
