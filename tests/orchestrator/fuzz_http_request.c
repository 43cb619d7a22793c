/* libFuzzer target: the REST server's request-head parser with any bytes.
 * Nothing may crash, leak or read out of bounds; a parsed head must lie
 * within the input, and its path must start with '/' and hold no NUL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_head h;
    int status = 0;
    char err[128];
    enum http_parse_result r =
        http_head_parse((const char *)data, size, 1u << 20, &h, &status, err);
    if (r == HTTP_PARSE_DONE) {
        if (h.head_len > size || !h.path || h.path[0] != '/' || h.content_length > (1u << 20))
            abort();
        for (size_t i = 0; i < h.nargs; i++)
            if (!h.keys[i] || !h.values[i] || http_head_arg(&h, h.keys[i]) == NULL) abort();
        http_head_clear(&h);
    } else if (r == HTTP_PARSE_ERROR) {
        if (status < 400 || status > 599 || !err[0]) abort();
    }
    return 0;
}
