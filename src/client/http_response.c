/* HTTP/1.x response parsing (see http_response.h). */
#define _GNU_SOURCE
#include "http_response.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void http_response_clear(struct http_response *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

static int fail(char *err, const char *msg)
{
    snprintf(err, HTTP_RESPONSE_ERR_LEN, "%s", msg);
    return -1;
}

/* The next line of [p, end) ending in CRLF (or LF): its length without the
 * ending in *n, the start of the next line returned; NULL when no ending. */
static const char *next_line(const char *p, const char *end, size_t *n)
{
    const char *lf = memchr(p, '\n', (size_t)(end - p));
    if (!lf) return NULL;
    *n = (size_t)(lf - p);
    if (*n && p[*n - 1] == '\r') (*n)--;
    return lf + 1;
}

/* Decimal (base 10) or hex (base 16) digits of [p, p+n), trailing spaces
 * and (for chunk sizes) extensions after ';' ignored. */
static int parse_size(const char *p, size_t n, int base, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    size_t digits = 0;
    for (; i < n; i++, digits++) {
        int c = (unsigned char)p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (base == 16 && c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (base == 16 && c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            break;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) return -1;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    if (!digits) return -1;
    for (; i < n; i++) {
        if (base == 16 && p[i] == ';') break;
        if (p[i] != ' ' && p[i] != '\t') return -1;
    }
    *out = v;
    return 0;
}

static int header_is(const char *line, size_t n, const char *name, const char **value, size_t *vlen)
{
    size_t k = strlen(name);
    if (n <= k || line[k] != ':' || strncasecmp(line, name, k)) return 0;
    const char *v = line + k + 1, *e = line + n;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *value = v;
    *vlen = (size_t)(e - v);
    return 1;
}

static int decode_chunked(const char *p, const char *end, char *out, size_t *out_len, char *err)
{
    size_t len = 0;
    for (;;) {
        size_t n;
        const char *data = next_line(p, end, &n);
        if (!data) return fail(err, "the chunked body ends early");
        uint64_t size;
        if (parse_size(p, n, 16, &size) < 0) return fail(err, "a bad chunk size");
        if (size == 0) break; /* trailers, if any, are not needed */
        if (size > (uint64_t)(end - data)) return fail(err, "the chunked body ends early");
        memcpy(out + len, data, (size_t)size);
        len += (size_t)size;
        p = data + size;
        const char *after = next_line(p, end, &n);
        if (!after || n != 0) return fail(err, "a chunk is not followed by CRLF");
        p = after;
    }
    *out_len = len;
    return 0;
}

int http_response_parse(const char *buf, size_t len, struct http_response *out,
                        char err[HTTP_RESPONSE_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    const char *p = buf, *end = buf + len;
    size_t n;
    const char *next = next_line(p, end, &n);
    if (!next) return fail(err, len ? "the answer ends inside its status line" : "no answer");
    /* "HTTP/1.x NNN reason": the fixed part checked byte by byte. */
    if (n < 12 || memcmp(p, "HTTP/1.", 7) || !isdigit((unsigned char)p[7]) || p[8] != ' ' ||
        !isdigit((unsigned char)p[9]) || !isdigit((unsigned char)p[10]) ||
        !isdigit((unsigned char)p[11]) || (n > 12 && p[12] != ' '))
        return fail(err, "not an HTTP/1.x answer");
    int status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    if (status < 100 || status > 599) return fail(err, "not an HTTP/1.x answer");
    int64_t content_length = -1;
    int chunked = 0;
    for (p = next;;) {
        if (p - buf > (ptrdiff_t)HTTP_RESPONSE_HEAD_MAX) return fail(err, "headers too long");
        next = next_line(p, end, &n);
        if (!next) return fail(err, "the answer ends inside its headers");
        if (n == 0) {
            p = next;
            break;
        }
        const char *v;
        size_t vlen;
        if (header_is(p, n, "Content-Length", &v, &vlen)) {
            uint64_t cl;
            if (parse_size(v, vlen, 10, &cl) < 0 || cl > INT64_MAX)
                return fail(err, "a bad Content-Length");
            content_length = (int64_t)cl;
        } else if (header_is(p, n, "Transfer-Encoding", &v, &vlen)) {
            chunked = vlen >= 7 && !strncasecmp(v + vlen - 7, "chunked", 7);
        } else if (header_is(p, n, "Content-Type", &v, &vlen)) {
            if (vlen >= sizeof out->content_type) vlen = sizeof out->content_type - 1;
            memcpy(out->content_type, v, vlen);
            out->content_type[vlen] = '\0';
        }
        p = next;
    }
    size_t rest = (size_t)(end - p);
    out->body = malloc(rest + 1);
    if (!out->body) return fail(err, "out of memory");
    if (chunked) {
        if (decode_chunked(p, end, out->body, &out->body_len, err) < 0) {
            http_response_clear(out);
            return -1;
        }
    } else if (content_length >= 0) {
        if ((uint64_t)content_length > rest) {
            http_response_clear(out);
            return fail(err, "the body is shorter than its Content-Length");
        }
        out->body_len = (size_t)content_length;
        memcpy(out->body, p, out->body_len);
    } else {
        out->body_len = rest; /* ends with the connection */
        memcpy(out->body, p, rest);
    }
    out->body[out->body_len] = '\0';
    out->status = status;
    return 0;
}

int http_response_complete(const char *buf, size_t len)
{
    const char *end = buf + len;
    size_t n;
    const char *p = next_line(buf, end, &n);
    if (!p) return 0;
    int64_t content_length = -1;
    int chunked = 0;
    for (;;) {
        const char *next = next_line(p, end, &n);
        if (!next) return 0;
        if (n == 0) {
            p = next;
            break;
        }
        const char *v;
        size_t vlen;
        uint64_t cl;
        if (header_is(p, n, "Content-Length", &v, &vlen) && parse_size(v, vlen, 10, &cl) == 0 &&
            cl <= INT64_MAX)
            content_length = (int64_t)cl;
        else if (header_is(p, n, "Transfer-Encoding", &v, &vlen))
            chunked = vlen >= 7 && !strncasecmp(v + vlen - 7, "chunked", 7);
        p = next;
    }
    if (chunked) {
        /* Only a body ending in the last chunk can be whole. */
        if (end - p < 5 || memcmp(end - 5, "0\r\n\r\n", 5)) return 0;
    } else if (content_length < 0 || (uint64_t)(end - p) < (uint64_t)content_length) {
        return 0;
    }
    /* Whole by its length: whole only if it also parses (a malformed
     * answer is read to the end of the connection, and refused then). This
     * full parse happens once, when the length is reached. */
    struct http_response r;
    char err[HTTP_RESPONSE_ERR_LEN];
    if (http_response_parse(buf, len, &r, err) < 0) return 0;
    http_response_clear(&r);
    return 1;
}
