/* HTTP/1.x request heads (see http_request.h). */
#define _GNU_SOURCE
#include "http_request.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int fail(int *status, char *err, int code, const char *msg)
{
    *status = code;
    snprintf(err, 128, "%s", msg);
    return HTTP_PARSE_ERROR;
}

/* The end of the head: the offset just past the blank line, or 0. Bare LF
 * line ends are taken too (RFC 9112 §2.2). */
static size_t head_end(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '\n') continue;
        if (i + 1 < len && buf[i + 1] == '\n') return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n') return i + 3;
    }
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Percent-decode n bytes of s (and '+' as a space when plus is set) into a
 * new string; NULL for a bad escape, an encoded NUL or OOM. */
static char *decode(const char *s, size_t n, int plus)
{
    char *out = malloc(n + 1);
    if (!out) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (n - i < 3) {
                free(out);
                return NULL;
            }
            int a = hex_value(s[i + 1]), b = hex_value(s[i + 2]);
            if (a < 0 || b < 0 || (a == 0 && b == 0)) {
                free(out);
                return NULL;
            }
            c = (char)(a * 16 + b);
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        out[k++] = c;
    }
    out[k] = '\0';
    return out;
}

static int parse_query(struct http_head *h, const char *q, size_t n, int *status, char *err)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && q[j] != '&')
            j++;
        if (j > i) {
            if (h->nargs == HTTP_QUERY_MAX)
                return fail(status, err, 400, "too many query arguments");
            const char *eq = memchr(q + i, '=', j - i);
            size_t klen = eq ? (size_t)(eq - (q + i)) : j - i;
            char *key = decode(q + i, klen, 1);
            char *value = eq ? decode(eq + 1, (size_t)(q + j - (eq + 1)), 1) : strdup("");
            if (!key || !value) {
                free(key);
                free(value);
                return fail(status, err, 400, "malformed escape in the query");
            }
            h->keys[h->nargs] = key;
            h->values[h->nargs++] = value;
        }
        i = j + 1;
    }
    return 0;
}

static int is_token_char(char c)
{
    return c > 32 && c < 127 && !strchr("()<>@,;:\\\"/[]?={}", c);
}

/* One header line (name: value, without its line end). */
static int parse_header(struct http_head *h, const char *line, size_t n, int *seen_length,
                        size_t max_body, int *status, char *err)
{
    const char *colon = memchr(line, ':', n);
    if (!colon || colon == line) return fail(status, err, 400, "malformed header line");
    size_t nlen = (size_t)(colon - line);
    for (size_t i = 0; i < nlen; i++)
        if (!is_token_char(line[i])) return fail(status, err, 400, "malformed header name");
    const char *v = colon + 1, *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t vlen = (size_t)(end - v);
    for (size_t i = 0; i < vlen; i++)
        if ((unsigned char)v[i] < 32 && v[i] != '\t')
            return fail(status, err, 400, "control byte in a header value");
#define NAME_IS(lit) (nlen == sizeof lit - 1 && !strncasecmp(line, lit, nlen))
#define VALUE_IS(lit) (vlen == sizeof lit - 1 && !strncasecmp(v, lit, vlen))
    if (NAME_IS("Content-Length")) {
        if (!vlen || vlen > 18) return fail(status, err, 400, "bad Content-Length");
        size_t value = 0;
        for (size_t i = 0; i < vlen; i++) {
            if (!isdigit((unsigned char)v[i])) return fail(status, err, 400, "bad Content-Length");
            value = value * 10 + (size_t)(v[i] - '0');
        }
        if (*seen_length && value != h->content_length)
            return fail(status, err, 400, "conflicting Content-Length headers");
        if (value > max_body) {
            char msg[96];
            snprintf(msg, sizeof msg, "the request body is larger than %zu bytes", max_body);
            return fail(status, err, 413, msg);
        }
        h->content_length = value;
        *seen_length = 1;
    } else if (NAME_IS("Transfer-Encoding")) {
        return fail(status, err, 411, "send the body with a Content-Length (no transfer coding)");
    } else if (NAME_IS("Connection")) {
        if (VALUE_IS("close")) h->keep_alive = 0;
        if (VALUE_IS("keep-alive")) h->keep_alive = 1;
    } else if (NAME_IS("Expect")) {
        if (!VALUE_IS("100-continue")) return fail(status, err, 417, "unknown expectation");
        h->expect_continue = 1;
    }
#undef NAME_IS
#undef VALUE_IS
    return 0;
}

/* "METHOD SP TARGET SP HTTP/1.x" */
static int parse_request_line(struct http_head *h, const char *line, size_t n, int *status,
                              char *err)
{
    const char *sp1 = memchr(line, ' ', n);
    if (!sp1 || sp1 == line) return fail(status, err, 400, "malformed request line");
    size_t mlen = (size_t)(sp1 - line);
    if (mlen > HTTP_METHOD_MAX) return fail(status, err, 501, "unknown method");
    for (size_t i = 0; i < mlen; i++)
        if (!is_token_char(line[i])) return fail(status, err, 400, "malformed method");
    memcpy(h->method, line, mlen);
    h->method[mlen] = '\0';
    const char *target = sp1 + 1, *end = line + n;
    const char *sp2 = memchr(target, ' ', (size_t)(end - target));
    if (!sp2 || sp2 == target) return fail(status, err, 400, "malformed request line");
    const char *version = sp2 + 1;
    size_t vlen = (size_t)(end - version);
    if (vlen != 8 || memcmp(version, "HTTP/1.", 7) || (version[7] != '0' && version[7] != '1'))
        return fail(status, err, 505, "only HTTP/1.0 and HTTP/1.1 are served");
    h->keep_alive = version[7] == '1';
    size_t tlen = (size_t)(sp2 - target);
    if (target[0] != '/') return fail(status, err, 400, "the target must be a path");
    if (tlen > REST_PATH_MAX) return fail(status, err, 414, "the path is too long");
    for (size_t i = 0; i < tlen; i++)
        if ((unsigned char)target[i] <= 32 || (unsigned char)target[i] == 127)
            return fail(status, err, 400, "control byte in the path");
    const char *q = memchr(target, '?', tlen);
    size_t plen = q ? (size_t)(q - target) : tlen;
    const char *frag = memchr(target, '#', tlen);
    if (frag) return fail(status, err, 400, "a fragment in the target");
    h->path = decode(target, plen, 0);
    if (!h->path) return fail(status, err, 400, "malformed escape in the path");
    if (q && parse_query(h, q + 1, (size_t)(sp2 - (q + 1)), status, err) < 0)
        return HTTP_PARSE_ERROR;
    return 0;
}

enum http_parse_result http_head_parse(const char *buf, size_t len, size_t max_body,
                                       struct http_head *out, int *status, char err[128])
{
    memset(out, 0, sizeof *out);
    /* Blank lines before a request are ignored (RFC 9112 §2.2). */
    size_t skip = 0;
    while (skip < len && (buf[skip] == '\r' || buf[skip] == '\n'))
        skip++;
    size_t end = head_end(buf + skip, len - skip);
    if (!end) {
        if (len >= HTTP_HEAD_MAX)
            return fail(status, err, 431, "the request head is larger than 16 KiB");
        return HTTP_PARSE_MORE;
    }
    if (skip + end > HTTP_HEAD_MAX)
        return fail(status, err, 431, "the request head is larger than 16 KiB");
    const char *p = buf + skip, *stop = buf + skip + end;
    int seen_length = 0, first = 1, rc = 0;
    while (p < stop && rc == 0) {
        const char *nl = memchr(p, '\n', (size_t)(stop - p));
        size_t n = (size_t)(nl - p);
        if (n && p[n - 1] == '\r') n--;
        if (!n) break; /* the blank line */
        if (memchr(p, '\r', n) || memchr(p, '\0', n))
            rc = fail(status, err, 400, "stray CR or NUL in the head");
        else if (first)
            rc = parse_request_line(out, p, n, status, err);
        else if (*p == ' ' || *p == '\t')
            rc = fail(status, err, 400, "folded header lines are not accepted");
        else
            rc = parse_header(out, p, n, &seen_length, max_body, status, err);
        first = 0;
        p = nl + 1;
    }
    if (rc < 0) {
        http_head_clear(out);
        return HTTP_PARSE_ERROR;
    }
    out->head_len = skip + end;
    return HTTP_PARSE_DONE;
}

void http_head_clear(struct http_head *h)
{
    free(h->path);
    for (size_t i = 0; i < h->nargs; i++) {
        free(h->keys[i]);
        free(h->values[i]);
    }
    memset(h, 0, sizeof *h);
}

const char *http_head_arg(const struct http_head *h, const char *key)
{
    for (size_t i = 0; i < h->nargs; i++)
        if (!strcmp(h->keys[i], key)) return h->values[i];
    return NULL;
}

const char *http_status_text(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    }
    return "Unknown";
}
