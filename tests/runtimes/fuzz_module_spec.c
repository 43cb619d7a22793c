/* libFuzzer target for what the runtime process parses from outside: the
 * create message (module_spec_parse) and the channel paths a module opens
 * (channel_topic_resolve). Input: JSON, optionally a newline and a channel
 * path. Any bytes give a spec or a reason, a topic or an errno, never a
 * crash or a leak; a parsed spec always has argv[0] equal to its file, and
 * a writable topic never holds a wildcard. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench_spec.h"
#include "module_spec.h"
#include "stratus/frame.h"

static void resolve_all_modes(const struct module_spec *spec, const char *path, size_t len)
{
    for (uint8_t want = 0; want < 4; want++)
        for (int free_topics = 0; free_topics < 2; free_topics++) {
            char *topic = (char *)1;
            int e = channel_topic_resolve(spec, "realm", free_topics, path, len, want, &topic);
            if (e ? topic != NULL : topic == NULL) abort();
            if (!e && (want & CHANNEL_WRITE) && strpbrk(topic, "+#")) abort();
            free(topic);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t json_len = nl ? (size_t)(nl - data) : size;
    struct module_spec spec;
    char reason[SPEC_REASON_LEN];
    if (module_spec_parse(data, json_len, &spec, reason) == 0) {
        if (spec.argc < 1 || strcmp(spec.argv[0], spec.file)) abort();
        if (nl) resolve_all_modes(&spec, (const char *)nl + 1, size - json_len - 1);
        module_spec_free(&spec);
    } else if (!reason[0]) {
        abort();
    }
    /* The benchmarking runtimes' reading of the same create. */
    struct bench_spec bench;
    reason[0] = '\0';
    if (bench_spec_parse(data, json_len, &bench, reason, sizeof reason) == 0) {
        if (!bench.nfiles || !bench.nengines || bench.nfiles > BENCH_FILES_MAX) abort();
        for (size_t i = 0; i < bench.nfiles; i++)
            if (!bench.files[i][0] || strchr(bench.files[i], ':')) abort();
        bench_spec_free(&bench);
    } else if (!reason[0]) {
        abort();
    }
    return 0;
}
