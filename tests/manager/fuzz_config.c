/* libFuzzer target: the manager's JSON configuration. Any input must give a
 * configuration or a clear error, never a crash or a leak. The input is used
 * twice: as raw text, and as a recipe for a JSON object over the keys the
 * manager knows (records of key index, value kind, value bytes), so the
 * fuzzer reaches every key's handling without first having to learn JSON. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "slog.h"
#include "stratus/manager.h"

static const char *const keys[] = {
    "mqtt",       "mqtt_port", "mqtt_username", "pwd",       "use_ssl",
    "realm",      "http",      "name",          "uuid",      "runtimes",
    "module_dir", "log_level", "unknown",       "http_port", "runtime_commands",
};

static json_t *value_from(uint8_t kind, const uint8_t *p, size_t n)
{
    switch (kind % 8) {
    case 0: return json_stringn_nocheck((const char *)p, n);
    case 1: return json_integer(n ? (json_int_t)(int8_t)p[0] * 1000 + (n > 1 ? p[1] : 0) : 0);
    case 2: return json_boolean(n && (p[0] & 1));
    case 3: return json_null();
    case 4: { /* array of strings and objects */
        json_t *a = json_array();
        for (size_t i = 0; i + 1 < n; i += 2) {
            if (p[i] & 1)
                json_array_append_new(a, json_stringn_nocheck((const char *)p + i + 1, 1));
            else
                json_array_append_new(a, json_pack("{s:s#}", (p[i] & 2) ? "type" : "name",
                                                   (const char *)p + i + 1, (int)1));
        }
        return a;
    }
    case 5: return json_pack("{s:s#}", "test/fake", (const char *)p, (int)n);
    case 6: return json_real(n ? p[0] / 3.0 : 0.5);
    default: return json_object();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    slog_set_level(100); /* unknown keys would log; keep the run quiet */
    struct manager_config cfg;
    char err[MANAGER_ERR_LEN];
    manager_config_init(&cfg);
    manager_config_apply_json(&cfg, (const char *)data, size, err);
    manager_config_clear(&cfg);

    json_t *obj = json_object();
    size_t pos = 0;
    while (obj && pos + 3 <= size) {
        const char *key = keys[data[pos] % (sizeof keys / sizeof keys[0])];
        uint8_t kind = data[pos + 1];
        size_t n = data[pos + 2] % 32;
        pos += 3;
        if (n > size - pos) n = size - pos;
        json_t *v = value_from(kind, data + pos, n);
        if (v) json_object_set_new(obj, key, v);
        pos += n;
    }
    char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (text) {
        manager_config_init(&cfg);
        manager_config_apply_json(&cfg, text, strlen(text), err);
        manager_config_clear(&cfg);
        free(text);
    }
    return 0;
}
