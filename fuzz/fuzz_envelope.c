/* libFuzzer target for JSON envelopes: envelope_parse on arbitrary bytes, and
 * on success the create/delete module validators on its data plus a dump and
 * re-parse. Inputs starting with 'E' or 'M' fill the fields of an envelope or
 * of module data with JSON fragments from the input, so the field checks are
 * reached without the fuzzer first having to invent the field names. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_template.h"
#include "stratus/envelope.h"
#include "stratus/file_transfer.h"

static void check_module(json_t *data)
{
    char err[ENVELOPE_ERR_LEN];
    struct module_create m;
    if (envelope_module_create_parse(data, &m, err) == 0) {
        if (!m.name || !m.file || m.data != data) abort();
        if (m.file_sha256 && !file_hash_is_valid(m.file_sha256)) abort();
    } else if (!memchr(err, '\0', sizeof err) || !err[0]) {
        abort(); /* every refusal says why */
    }
    const char *uuid;
    if (envelope_module_delete_parse(data, &uuid, err) == 0 && !uuid) abort();
}

static void check_envelope(const char *text, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 0 && (data[0] == 'E' || data[0] == 'M')) {
        static const char *envelope_tpl = "{\"object_id\":@,\"action\":@,\"type\":@,\"data\":@}";
        static const char *module_tpl =
            "{\"type\":@,\"name\":@,\"file\":@,\"uuid\":@,\"apis\":@,\"args\":@,"
            "\"channels\":[{\"path\":@,\"mode\":@,\"topic\":@},@],\"file_sha256\":@,"
            "\"file_size\":@}";
        size_t len;
        char *text = fuzz_fill_template(data[0] == 'E' ? envelope_tpl : module_tpl, data + 1,
                                        size - 1, &len);
        if (data[0] == 'E') {
            check_envelope(text, len);
        } else {
            json_t *d = json_loadb(text, len, JSON_DECODE_ANY, NULL);
            check_module(d);
            json_decref(d);
        }
        free(text);
        return 0;
    }
    check_envelope((const char *)data, size);
    return 0;
}

static void check_envelope(const char *text_in, size_t size)
{
    char err[ENVELOPE_ERR_LEN];
    struct envelope env;
    if (envelope_parse(text_in, size, &env, err) != 0) {
        if (env.root || !err[0]) abort();
        return;
    }
    if (!env.object_id || !env.action || !json_is_object(env.data)) abort();
    check_module(env.data);

    /* A valid envelope survives dump and parse unchanged in its fields. */
    char *text = envelope_dump(env.root);
    if (!text) abort();
    struct envelope again;
    if (envelope_parse(text, strlen(text), &again, err) != 0 ||
        strcmp(again.object_id, env.object_id) != 0 || strcmp(again.action, env.action) != 0 ||
        again.type != env.type || !json_equal(again.data, env.data))
        abort();
    envelope_clear(&again);
    free(text);

    json_t *resp = envelope_response(env.object_id, env.action, 1, json_deep_copy(env.data));
    char *rtext = envelope_dump(resp);
    if (!resp || !rtext) abort();
    free(rtext);
    json_decref(resp);
    envelope_clear(&env);
}
