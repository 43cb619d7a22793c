/* Encoding and decoding of profile records (see stratus/profile_record.h).
 * The binary layouts are fixed-size fields, little-endian, so each decoder
 * checks the length first and then reads; the interference record is JSON
 * and is checked key by key. */
#define _GNU_SOURCE
#include "stratus/profile_record.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {"benchmarking", "opcodes", "opcodes_prefixed",
                                         "interference", "deployed"};
#define NKINDS (sizeof kind_names / sizeof kind_names[0])
#define DEPLOYED_LEN (8 + 6 * 4)
#define PREFIXED_LEN 16

static int fail(char *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, PROFILE_ERR_LEN, fmt, ap);
    va_end(ap);
    return -1;
}

const char *profile_kind_name(enum profile_kind kind)
{
    return (size_t)kind < NKINDS ? kind_names[kind] : "?";
}

int profile_kind_find(const char *type, size_t len)
{
    for (size_t i = 0; i < NKINDS; i++)
        if (strlen(kind_names[i]) == len && !memcmp(kind_names[i], type, len)) return (int)i;
    return -1;
}

bool profile_type_valid(const char *name, size_t len)
{
    if (!len || len > PROFILE_TYPE_MAX) return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    }
    return true;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int b = 0; b < 4; b++)
        p[b] = (uint8_t)(v >> (8 * b));
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

void profile_record_free(struct profile_record *r)
{
    free(r->runs);
    free(r->prefixed);
    for (size_t i = 0; i < r->nseries; i++) {
        free(r->series[i].key);
        free(r->series[i].wall_us);
    }
    free(r->series);
    memset(r, 0, sizeof *r);
}

static int decode_interference(const uint8_t *buf, size_t len, struct profile_record *out,
                               char *err)
{
    json_error_t jerr;
    json_t *root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return fail(err, "interference record is not a JSON object");
    }
    int rc = -1;
    size_t n = json_object_size(root);
    if (n > PROFILE_SERIES_MAX) {
        fail(err, "interference record has more than %d modules", PROFILE_SERIES_MAX);
        goto out;
    }
    if (n && !(out->series = calloc(n, sizeof *out->series))) {
        fail(err, "out of memory");
        goto out;
    }
    const char *key;
    json_t *list;
    json_object_foreach(root, key, list)
    {
        size_t nruns = json_array_size(list);
        if (!json_is_array(list) || nruns > PROFILE_RUNS_MAX) {
            fail(err, "interference record: '%.64s' is not a list of run times", key);
            goto out;
        }
        /* Keys are "index:file" (jansson refuses NUL bytes in keys). */
        if (!strchr(key, ':')) {
            fail(err, "interference record: key '%.64s' is not INDEX:FILE", key);
            goto out;
        }
        struct profile_series *s = &out->series[out->nseries];
        if (!(s->key = strdup(key)) ||
            (nruns && !(s->wall_us = calloc(nruns, sizeof *s->wall_us)))) {
            free(s->key);
            s->key = NULL;
            fail(err, "out of memory");
            goto out;
        }
        out->nseries++;
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v)
        {
            json_int_t us = json_integer_value(v);
            if (!json_is_integer(v) || us < 0 || us > (json_int_t)UINT32_MAX) {
                fail(err, "interference record: '%.64s'[%zu] is not a time in µs", key, i);
                goto out;
            }
            s->wall_us[i] = (uint32_t)us;
        }
        s->nruns = nruns;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int profile_record_decode(const char *type, const uint8_t *buf, size_t len,
                          struct profile_record *out, char err[PROFILE_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    int kind = type ? profile_kind_find(type, strlen(type)) : -1;
    if (kind < 0) return fail(err, "unknown record type '%.40s'", type ? type : "");
    out->kind = (enum profile_kind)kind;
    switch (out->kind) {
    case PROFILE_BENCHMARKING:
        if (len % 12) return fail(err, "benchmarking record of %zu bytes: not runs of 12", len);
        if (len / 12 > PROFILE_RUNS_MAX) return fail(err, "benchmarking record: too many runs");
        out->nruns = len / 12;
        if (out->nruns && !(out->runs = calloc(out->nruns, sizeof *out->runs)))
            return fail(err, "out of memory");
        for (size_t i = 0; i < out->nruns; i++) {
            out->runs[i].wall_us = get32(buf + 12 * i);
            out->runs[i].utime_us = get32(buf + 12 * i + 4);
            out->runs[i].stime_us = get32(buf + 12 * i + 8);
        }
        return 0;
    case PROFILE_OPCODES:
        if (len != 256 * 8) return fail(err, "opcodes record of %zu bytes, not 2048", len);
        for (size_t i = 0; i < 256; i++)
            out->opcodes[i] = get64(buf + 8 * i);
        return 0;
    case PROFILE_OPCODES_PREFIXED:
        if (len % PREFIXED_LEN)
            return fail(err, "opcodes_prefixed record of %zu bytes: not entries of 16", len);
        if (len / PREFIXED_LEN > 65536) return fail(err, "opcodes_prefixed record: too long");
        out->nprefixed = len / PREFIXED_LEN;
        if (out->nprefixed && !(out->prefixed = calloc(out->nprefixed, sizeof *out->prefixed)))
            return fail(err, "out of memory");
        for (size_t i = 0; i < out->nprefixed; i++) {
            const uint8_t *p = buf + PREFIXED_LEN * i;
            out->prefixed[i] = (struct profile_prefixed){get32(p), get32(p + 4), get64(p + 8)};
            if (out->prefixed[i].prefix > 0xFF) {
                profile_record_free(out);
                return fail(err, "opcodes_prefixed entry %zu: prefix is not a byte", i);
            }
        }
        return 0;
    case PROFILE_INTERFERENCE:
        if (decode_interference(buf, len, out, err) < 0) {
            profile_record_free(out);
            return -1;
        }
        return 0;
    case PROFILE_DEPLOYED:
        if (len != DEPLOYED_LEN) return fail(err, "deployed record of %zu bytes, not 32", len);
        out->deployed = (struct profile_deployed){get64(buf),      get32(buf + 8),  get32(buf + 12),
                                                  get32(buf + 16), get32(buf + 20), get32(buf + 24),
                                                  get32(buf + 28)};
        return 0;
    }
    return fail(err, "unknown record type");
}

int profile_encode_benchmarking(const struct profile_run *runs, size_t n, uint8_t **out,
                                size_t *len)
{
    *out = malloc(n ? 12 * n : 1);
    if (!*out) return -1;
    for (size_t i = 0; i < n; i++) {
        put32(*out + 12 * i, runs[i].wall_us);
        put32(*out + 12 * i + 4, runs[i].utime_us);
        put32(*out + 12 * i + 8, runs[i].stime_us);
    }
    *len = 12 * n;
    return 0;
}

int profile_encode_opcodes(const uint64_t counts[256], uint8_t **out, size_t *len)
{
    if (!(*out = malloc(256 * 8))) return -1;
    for (size_t i = 0; i < 256; i++)
        put64(*out + 8 * i, counts[i]);
    *len = 256 * 8;
    return 0;
}

int profile_encode_prefixed(const struct profile_prefixed *entries, size_t n, uint8_t **out,
                            size_t *len)
{
    if (!(*out = malloc(n ? PREFIXED_LEN * n : 1))) return -1;
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = *out + PREFIXED_LEN * i;
        put32(p, entries[i].prefix);
        put32(p + 4, entries[i].sub);
        put64(p + 8, entries[i].count);
    }
    *len = PREFIXED_LEN * n;
    return 0;
}

int profile_encode_interference(const struct profile_series *series, size_t n, uint8_t **out,
                                size_t *len)
{
    json_t *root = json_object();
    for (size_t i = 0; root && i < n; i++) {
        json_t *list = json_array();
        for (size_t k = 0; list && k < series[i].nruns; k++)
            json_array_append_new(list, json_integer(series[i].wall_us[k]));
        if (!list || json_object_set_new(root, series[i].key, list) < 0) {
            json_decref(root);
            return -1;
        }
    }
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (!text) return -1;
    *out = (uint8_t *)text;
    *len = strlen(text);
    return 0;
}

int profile_frame_build(const char *type, const uint8_t *rec, size_t len, uint8_t **out,
                        size_t *outlen)
{
    size_t n = strlen(type);
    if (!profile_type_valid(type, n)) return -1;
    if (!(*out = malloc(1 + n + len))) return -1;
    (*out)[0] = (uint8_t)n;
    memcpy(*out + 1, type, n);
    if (len) memcpy(*out + 1 + n, rec, len);
    *outlen = 1 + n + len;
    return 0;
}

int profile_frame_split(const uint8_t *payload, size_t len, const char **type, size_t *type_len,
                        const uint8_t **rec, size_t *rec_len, char err[PROFILE_ERR_LEN])
{
    if (len < 1 || (size_t)payload[0] + 1 > len)
        return fail(err, "typed profile frame of %zu bytes is shorter than its type name", len);
    size_t n = payload[0];
    if (!profile_type_valid((const char *)payload + 1, n))
        return fail(err, "typed profile frame: the type name is not 1..32 of [a-z0-9_]");
    *type = (const char *)payload + 1;
    *type_len = n;
    *rec = payload + 1 + n;
    *rec_len = len - 1 - n;
    return 0;
}
