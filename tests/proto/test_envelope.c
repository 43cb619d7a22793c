/* Unit tests of JSON envelopes: parsing with errors that name the field,
 * bounded input, building requests and responses, and validation of
 * create/delete module data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stratus/envelope.h"
#include "stratus/uuid.h"

static void test_parse_request(void **state)
{
    const char *text = "{\"object_id\": \"id-1\", \"action\": \"create\", \"type\": \"req\", "
                       "\"data\": {\"type\": \"module\"}}";
    struct envelope env;
    char err[ENVELOPE_ERR_LEN] = "";
    assert_int_equal(envelope_parse(text, strlen(text), &env, err), 0);
    assert_string_equal(env.object_id, "id-1");
    assert_string_equal(env.action, "create");
    assert_int_equal(env.type, ENVELOPE_REQ);
    assert_true(json_is_object(env.data));
    assert_string_equal(json_string_value(json_object_get(env.data, "type")), "module");
    envelope_clear(&env);
    assert_null(env.root);
    envelope_clear(&env); /* twice is harmless */

    const char *resp = "{\"object_id\":\"x\",\"action\":\"delete\",\"type\":\"resp\",\"data\":{}}";
    assert_int_equal(envelope_parse(resp, strlen(resp), &env, err), 0);
    assert_int_equal(env.type, ENVELOPE_RESP);
    envelope_clear(&env);

    /* The original orchestrator's registration answer has no action. */
    const char *orig = "{\"object_id\": \"x\", \"type\": \"resp\", \"data\": {\"result\": \"ok\", "
                       "\"details\": {\"ka_interval_sec\": 2}}}";
    assert_int_equal(envelope_parse(orig, strlen(orig), &env, err), 0);
    assert_int_equal(env.type, ENVELOPE_RESP);
    assert_string_equal(env.action, "");
    envelope_clear(&env);
}

/* Only `len` bytes are read: whatever follows in memory does not count. */
static void test_parse_uses_len_only(void **state)
{
    const char *text =
        "{\"object_id\":\"a\",\"action\":\"update\",\"type\":\"req\",\"data\":{}}garbage";
    size_t len = strlen(text) - strlen("garbage");
    struct envelope env;
    char err[ENVELOPE_ERR_LEN];
    assert_int_equal(envelope_parse(text, len, &env, err), 0);
    envelope_clear(&env);
    assert_int_equal(envelope_parse(text, strlen(text), &env, err), -1);
    assert_non_null(strstr(err, "invalid JSON"));
    assert_null(env.root);
}

struct bad_case {
    const char *text, *error;
};

static void test_parse_errors_name_the_field(void **state)
{
    static const struct bad_case cases[] = {
        {"[]", "envelope must be a JSON object"},
        {"\"x\"", "envelope must be a JSON object"},
        {"{\"action\":\"create\",\"type\":\"req\",\"data\":{}}", "missing field 'object_id'"},
        {"{\"object_id\":5,\"action\":\"create\",\"type\":\"req\",\"data\":{}}",
         "field 'object_id' must be a string"},
        {"{\"object_id\":\"a\",\"type\":\"req\",\"data\":{}}", "missing field 'action'"},
        {"{\"object_id\":\"a\",\"action\":null,\"type\":\"req\",\"data\":{}}",
         "missing field 'action'"},
        {"{\"object_id\":\"a\",\"action\":7,\"type\":\"resp\",\"data\":{}}",
         "field 'action' must be a string"},
        {"{\"object_id\":\"a\",\"action\":\"\",\"type\":\"req\",\"data\":{}}",
         "field 'action' must not be empty"},
        {"{\"object_id\":\"a\",\"action\":\"create\",\"data\":{}}", "missing field 'type'"},
        {"{\"object_id\":\"a\",\"action\":\"create\",\"type\":\"request\",\"data\":{}}",
         "field 'type' must be 'req' or 'resp'"},
        {"{\"object_id\":\"a\",\"action\":\"create\",\"type\":1,\"data\":{}}",
         "field 'type' must be 'req' or 'resp'"},
        {"{\"object_id\":\"a\",\"action\":\"create\",\"type\":\"req\"}", "missing field 'data'"},
        {"{\"object_id\":\"a\",\"action\":\"create\",\"type\":\"req\",\"data\":[]}",
         "field 'data' must be an object"},
        {"{\"object_id\":\"a\",\"action\":\"create\",\"type\":\"req\",\"data\":\"{}\"}",
         "field 'data' must be an object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct envelope env;
        char err[ENVELOPE_ERR_LEN] = "";
        assert_int_equal(envelope_parse(cases[i].text, strlen(cases[i].text), &env, err), -1);
        assert_string_equal(err, cases[i].error);
        assert_null(env.root);
    }

    /* Not JSON at all, empty, NUL inside a string. */
    const char *not_json[] = {"", "{", "{\"object_id\":}", "nul", "{\"a\":\"\\u0000\"}"};
    for (size_t i = 0; i < sizeof not_json / sizeof *not_json; i++) {
        struct envelope env;
        char err[ENVELOPE_ERR_LEN] = "";
        assert_int_equal(envelope_parse(not_json[i], strlen(not_json[i]), &env, err), -1);
        assert_non_null(strstr(err, "invalid JSON"));
    }
}

static char *nested(int depth, const char *open, const char *close)
{
    const char *head = "{\"object_id\":\"a\",\"action\":\"x\",\"type\":\"req\",\"data\":{\"v\":";
    size_t hl = strlen(head);
    char *s = malloc(hl + (size_t)depth * 2 + 8);
    assert_non_null(s);
    memcpy(s, head, hl);
    size_t p = hl;
    for (int i = 0; i < depth; i++)
        s[p++] = open[0];
    for (int i = 0; i < depth; i++)
        s[p++] = close[0];
    memcpy(s + p, "}}", 3);
    return s;
}

static void test_parse_bounds(void **state)
{
    struct envelope env;
    char err[ENVELOPE_ERR_LEN];
    /* Envelope and data are two levels, so 62 more fit under the limit. */
    char *ok = nested(ENVELOPE_MAX_DEPTH - 2, "[", "]");
    assert_int_equal(envelope_parse(ok, strlen(ok), &env, err), 0);
    envelope_clear(&env);
    free(ok);

    char *deep = nested(ENVELOPE_MAX_DEPTH - 1, "[", "]");
    assert_int_equal(envelope_parse(deep, strlen(deep), &env, err), -1);
    assert_string_equal(err, "JSON nested deeper than 64 levels");
    free(deep);
    deep = nested(100000, "[", "]");
    assert_int_equal(envelope_parse(deep, strlen(deep), &env, err), -1);
    assert_string_equal(err, "JSON nested deeper than 64 levels");
    free(deep);

    /* Brackets inside strings are text, not nesting. */
    char text[600];
    char brackets[401];
    memset(brackets, '[', 400);
    brackets[400] = '\0';
    snprintf(text, sizeof text,
             "{\"object_id\":\"a\\\"[\",\"action\":\"x\",\"type\":\"req\",\"data\":{\"s\":\"%s\"}}",
             brackets);
    assert_int_equal(envelope_parse(text, strlen(text), &env, err), 0);
    envelope_clear(&env);

    size_t big = (size_t)ENVELOPE_MAX_BYTES + 1;
    char *huge = malloc(big);
    assert_non_null(huge);
    memset(huge, ' ', big);
    assert_int_equal(envelope_parse(huge, big, &env, err), -1);
    assert_string_equal(err, "envelope larger than 4194304 bytes");
    free(huge);
}

static void test_build_request(void **state)
{
    json_t *req = envelope_request("id-7", "create", json_pack("{s:i}", "a", 1));
    assert_non_null(req);
    char *text = envelope_dump(req);
    assert_string_equal(text,
                        "{\"object_id\":\"id-7\",\"action\":\"create\",\"type\":\"req\",\"data\":{"
                        "\"a\":1}}");
    free(text);
    json_decref(req);

    /* No object_id: a fresh UUID; no data: an empty object. Round trip. */
    req = envelope_request(NULL, "update", NULL);
    assert_non_null(req);
    text = envelope_dump(req);
    struct envelope env;
    char err[ENVELOPE_ERR_LEN];
    assert_int_equal(envelope_parse(text, strlen(text), &env, err), 0);
    assert_true(uuid_is_valid(env.object_id));
    assert_string_equal(env.action, "update");
    assert_int_equal(json_object_size(env.data), 0);
    envelope_clear(&env);
    free(text);
    json_decref(req);
}

static void test_build_response(void **state)
{
    json_t *resp = envelope_response("id-9", "delete", 0, json_pack("{s:s}", "reason", "gone"));
    assert_non_null(resp);
    char *text = envelope_dump(resp);
    assert_string_equal(text, "{\"object_id\":\"id-9\",\"action\":\"delete\",\"type\":\"resp\","
                              "\"data\":{\"result\":\"error\",\"details\":{\"reason\":\"gone\"}}}");
    free(text);
    json_decref(resp);

    resp = envelope_response("id-9", "create", 1, NULL);
    text = envelope_dump(resp);
    assert_string_equal(text, "{\"object_id\":\"id-9\",\"action\":\"create\",\"type\":\"resp\","
                              "\"data\":{\"result\":\"ok\",\"details\":{}}}");
    free(text);
    json_decref(resp);
}

static const char *full_create =
    "{\"type\": \"module\", \"uuid\": \"123e4567-e89b-42d3-a456-426614174000\", \"name\": "
    "\"hello\", \"parent\": \"rt\", \"file\": \"dir/hello.wasm\", \"apis\": [\"wasm\", "
    "\"wasi\"], \"args\": {\"argv\": [\"a\"], \"env\": [\"K=V\"], \"dirs\": [\"data\"], "
    "\"fault_crash\": \"ignore\", \"resources\": {\"period\": 10000000, \"runtime\": "
    "2000000}, \"repeat\": 1, "
    "\"limit\": 60.0}, \"channels\": [{\"path\": \"light\", \"mode\": \"rw\", \"topic\": "
    "\"realm/kitchen/light\"}, {\"path\": \"in\", \"mode\": \"r\", \"topic\": \"$SL/in\"}]}";

static void test_module_create_ok(void **state)
{
    json_t *data = json_loads(full_create, 0, NULL);
    assert_non_null(data);
    struct module_create m;
    char err[ENVELOPE_ERR_LEN] = "";
    assert_int_equal(envelope_module_create_parse(data, &m, err), 0);
    assert_string_equal(m.uuid, "123e4567-e89b-42d3-a456-426614174000");
    assert_string_equal(m.name, "hello");
    assert_string_equal(m.file, "dir/hello.wasm");
    assert_ptr_equal(m.data, data);
    json_decref(data);

    /* Minimal data; optional fields absent or null. */
    data = json_pack("{s:s, s:s, s:s, s:n, s:n}", "type", "module", "name", "m", "file", "m.wasm",
                     "uuid", "channels");
    assert_int_equal(envelope_module_create_parse(data, &m, err), 0);
    assert_null(m.uuid);
    json_decref(data);
}

/* Each case: set one field of the full example to a JSON value (or delete
 * it when value is NULL), expect this error. */
struct create_case {
    const char *path, *value, *error;
};

static void test_module_create_errors(void **state)
{
    static const struct create_case cases[] = {
        {"type", NULL, "missing field 'type'"},
        {"type", "\"runtime\"", "field 'type' must be 'module'"},
        {"type", "3", "field 'type' must be a string"},
        {"name", NULL, "missing field 'name'"},
        {"name", "5", "field 'name' must be a string"},
        {"name", "\"\"", "field 'name' must not be empty"},
        {"file", NULL, "missing field 'file'"},
        {"file", "[]", "field 'file' must be a string"},
        {"file", "\"/etc/passwd\"", "field 'file' must be a path relative to the module directory"},
        {"file", "\"a/../../x.wasm\"", "field 'file' may not leave the module directory ('..')"},
        {"file", "\"a\\u0000b\"", "field 'file' may not hold NUL bytes"},
        {"uuid", "\"not-a-uuid\"", "field 'uuid' must be a UUID"},
        {"uuid", "7", "field 'uuid' must be a string"},
        {"parent", "{}", "field 'parent' must be a string"},
        {"apis", "\"wasi\"", "field 'apis' must be an array of strings"},
        {"apis", "[\"wasi\", 3]", "field 'apis[1]' must be a string"},
        {"args", "[]", "field 'args' must be an object"},
        {"args", "{\"argv\": \"a b\"}", "field 'args.argv' must be an array of strings"},
        {"args", "{\"env\": [\"K=V\", null]}", "field 'args.env[1]' must be a string"},
        {"args", "{\"dirs\": {}}", "field 'args.dirs' must be an array of strings"},
        /* What only a runtime used to find, after answering ok. */
        {"args", "{\"env\": [\"NOEQUALS\"]}", "field 'args.env[0]' must be NAME=value"},
        {"args", "{\"env\": [\"=v\"]}", "field 'args.env[0]' must be NAME=value"},
        {"args", "{\"dirs\": [\"../up\"]}",
         "field 'args.dirs[0]' may not leave the module directory ('..')"},
        {"args", "{\"dirs\": [\"/etc\"]}",
         "field 'args.dirs[0]' must be a path relative to the module directory"},
        {"args", "{\"fault_crash\": \"often\"}",
         "field 'args.fault_crash' must be \"ignore\" or \"restart\""},
        {"args", "{\"resources\": {\"period\": 10}}",
         "field 'args.resources' must be {\"period\": ns, \"runtime\": ns} with integers"},
        {"args", "{\"resources\": {\"period\": 1000000, \"runtime\": 2000000}}",
         "field 'args.resources': the period must lie within 100 us..10 s and the runtime within "
         "1024 ns..period"},
        {"args", "{\"resources\": {\"period\": 10, \"runtime\": 5}}",
         "field 'args.resources': the period must lie within 100 us..10 s and the runtime within "
         "1024 ns..period"},
        {"channels", "[{\"path\":\"a\",\"mode\":\"w\",\"topic\":\"t/#\"}]",
         "field 'channels[0].topic': a writable channel may not hold + or #"},
        {"channels", "{}", "field 'channels' must be an array"},
        {"channels", "[5]", "field 'channels[0]' must be an object"},
        {"channels",
         "[{\"path\":\"a\",\"mode\":\"r\",\"topic\":\"t\"}, {\"mode\":\"r\","
         "\"topic\":\"t\"}]",
         "missing field 'channels[1].path'"},
        {"channels", "[{\"path\":\"a\",\"mode\":\"x\",\"topic\":\"t\"}]",
         "field 'channels[0].mode' must be 'r', 'w' or 'rw'"},
        {"channels", "[{\"path\":\"a\",\"mode\":1,\"topic\":\"t\"}]",
         "field 'channels[0].mode' must be a string"},
        {"channels", "[{\"path\":\"a\",\"mode\":\"w\"}]", "missing field 'channels[0].topic'"},
        {"channels", "[{\"path\":\"a\",\"mode\":\"w\",\"topic\":[]}]",
         "field 'channels[0].topic' must be a string"},
        {"channels", "[{\"path\":\"\",\"mode\":\"w\",\"topic\":\"t\"}]",
         "field 'channels[0].path' must not be empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *data = json_loads(full_create, 0, NULL);
        assert_non_null(data);
        if (cases[i].value) {
            json_t *v = json_loads(cases[i].value, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
            assert_non_null(v);
            json_object_set_new(data, cases[i].path, v);
        } else {
            json_object_del(data, cases[i].path);
        }
        struct module_create m;
        char err[ENVELOPE_ERR_LEN] = "";
        assert_int_equal(envelope_module_create_parse(data, &m, err), -1);
        if (strcmp(err, cases[i].error) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, cases[i].error);
        assert_null(m.name);
        json_decref(data);
    }
    struct module_create m;
    char err[ENVELOPE_ERR_LEN];
    json_t *arr = json_array();
    assert_int_equal(envelope_module_create_parse(arr, &m, err), -1);
    assert_string_equal(err, "field 'data' must be an object");
    assert_int_equal(envelope_module_create_parse(NULL, &m, err), -1);
    json_decref(arr);
}

static void test_module_delete(void **state)
{
    const char *uuid = NULL;
    char err[ENVELOPE_ERR_LEN] = "";
    json_t *d = json_pack("{s:s, s:s}", "type", "module", "uuid", "u-1");
    assert_int_equal(envelope_module_delete_parse(d, &uuid, err), 0);
    assert_string_equal(uuid, "u-1");
    json_decref(d);

    d = json_pack("{s:s}", "type", "module");
    assert_int_equal(envelope_module_delete_parse(d, &uuid, err), -1);
    assert_string_equal(err, "missing field 'uuid'");
    assert_null(uuid);
    json_decref(d);

    d = json_pack("{s:s, s:i}", "type", "module", "uuid", 4);
    assert_int_equal(envelope_module_delete_parse(d, &uuid, err), -1);
    assert_string_equal(err, "field 'uuid' must be a string");
    json_decref(d);

    d = json_pack("{s:s, s:s}", "type", "runtime", "uuid", "u");
    assert_int_equal(envelope_module_delete_parse(d, &uuid, err), -1);
    assert_string_equal(err, "field 'type' must be 'module'");
    json_decref(d);
}

static void test_json_kind_name(void **state)
{
    (void)state;
    json_t *v = json_loads("[{}, [], \"s\", 1, 1.5, true, false, null]", 0, NULL);
    static const char *const want[] = {"an object", "an integer"};
    assert_string_equal(json_kind_name(json_array_get(v, 0)), want[0]);
    assert_string_equal(json_kind_name(json_array_get(v, 1)), "an array");
    assert_string_equal(json_kind_name(json_array_get(v, 2)), "a string");
    assert_string_equal(json_kind_name(json_array_get(v, 3)), want[1]);
    assert_string_equal(json_kind_name(json_array_get(v, 4)), "a number");
    assert_string_equal(json_kind_name(json_array_get(v, 5)), "a boolean");
    assert_string_equal(json_kind_name(json_array_get(v, 6)), "a boolean");
    assert_string_equal(json_kind_name(json_array_get(v, 7)), "null");
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_request),
        cmocka_unit_test(test_parse_uses_len_only),
        cmocka_unit_test(test_parse_errors_name_the_field),
        cmocka_unit_test(test_parse_bounds),
        cmocka_unit_test(test_build_request),
        cmocka_unit_test(test_build_response),
        cmocka_unit_test(test_module_create_ok),
        cmocka_unit_test(test_module_create_errors),
        cmocka_unit_test(test_module_delete),
        cmocka_unit_test(test_json_kind_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
