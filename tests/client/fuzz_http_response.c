/* libFuzzer target: the client's HTTP response parser with any bytes, as a
 * REST API (or anything listening on its port) could answer. Nothing may
 * crash, read out of bounds or leak; a parsed body is NUL-terminated and
 * no longer than the input; an answer said to be complete parses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so any read past the end is caught. */
    char *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    struct http_response r;
    char err[HTTP_RESPONSE_ERR_LEN];
    int complete = http_response_complete(buf, size);
    if (http_response_parse(buf, size, &r, err) == 0) {
        if (r.body_len > size || r.body[r.body_len] != '\0' || r.status < 100 || r.status > 599)
            abort();
        http_response_clear(&r);
    } else if (complete) {
        abort(); /* "whole" must parse */
    }
    free(buf);
    return 0;
}
