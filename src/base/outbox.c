/* The outbox (see outbox.h). Every message is in one FIFO (doubly linked,
 * since output is dropped from the middle); output is also in an output FIFO
 * (oldest output overall: the total bound) and in its source's FIFO (oldest
 * of a source: the per-source bound). A source's oldest message is always
 * the first of its FIFO, so that list is singly linked. */
#define _GNU_SOURCE
#include "outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SOURCE_BUCKETS 256
#define SPILL_MAGIC "STRATUS-OUTBOX 1\n"
#define SPILL_TOPIC_MAX 65535u
#define SPILL_PAYLOAD_MAX (16u << 20)

struct source {
    char *name;
    size_t bytes; /* queued output bytes */
    uint64_t dropped;
    struct entry *first, *last; /* this source's messages, oldest first */
    struct source *next;        /* hash chain */
};

struct entry {
    struct outbox_msg msg;
    struct entry *prev, *next;         /* all messages */
    struct entry *out_prev, *out_next; /* output only */
    struct entry *src_next;            /* the source's messages */
    struct source *src;                /* NULL for control */
};

struct outbox {
    struct outbox_options opt;
    struct entry *head, *tail;
    struct entry *out_head, *out_tail;
    size_t count, output_bytes;
    uint64_t dropped_total;
    struct source *buckets[SOURCE_BUCKETS];
};

int outbox_new(const struct outbox_options *opt, struct outbox **out)
{
    struct outbox *ob = calloc(1, sizeof *ob);
    if (!ob) return -1;
    ob->opt = *opt;
    if (!ob->opt.output_per_source || ob->opt.output_per_source > ob->opt.output_total)
        ob->opt.output_per_source = ob->opt.output_total;
    *out = ob;
    return 0;
}

static void entry_free(struct entry *e)
{
    free(e->msg.topic);
    free(e->msg.payload);
    free(e);
}

void outbox_free(struct outbox *ob)
{
    if (!ob) return;
    for (struct entry *e = ob->head, *next; e; e = next) {
        next = e->next;
        entry_free(e);
    }
    for (size_t b = 0; b < SOURCE_BUCKETS; b++)
        for (struct source *s = ob->buckets[b], *next; s; s = next) {
            next = s->next;
            free(s->name);
            free(s);
        }
    free(ob);
}

static size_t bucket_of(const char *name)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % SOURCE_BUCKETS;
}

static struct source *source_get(struct outbox *ob, const char *name, int create)
{
    struct source **pp = &ob->buckets[bucket_of(name)];
    for (struct source *s = *pp; s; s = s->next)
        if (!strcmp(s->name, name)) return s;
    if (!create) return NULL;
    struct source *s = calloc(1, sizeof *s);
    if (!s || !(s->name = strdup(name))) {
        free(s);
        return NULL;
    }
    s->next = *pp;
    *pp = s;
    return s;
}

static void source_release(struct outbox *ob, struct source *s)
{
    struct source **pp = &ob->buckets[bucket_of(s->name)];
    while (*pp != s)
        pp = &(*pp)->next;
    *pp = s->next;
    free(s->name);
    free(s);
}

/* Take e out of every list it is in; the caller frees it. */
static void unlink_entry(struct outbox *ob, struct entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        ob->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        ob->tail = e->prev;
    ob->count--;
    struct source *s = e->src;
    if (!s) return;
    if (e->out_prev)
        e->out_prev->out_next = e->out_next;
    else
        ob->out_head = e->out_next;
    if (e->out_next)
        e->out_next->out_prev = e->out_prev;
    else
        ob->out_tail = e->out_prev;
    /* Always the oldest of its source (see the top of the file). */
    s->first = e->src_next;
    if (!s->first) s->last = NULL;
    s->bytes -= e->msg.len;
    ob->output_bytes -= e->msg.len;
}

/* Drop the oldest output of s (or of everything when s is NULL). */
static void drop_oldest(struct outbox *ob, struct source *s)
{
    struct entry *e = s ? s->first : ob->out_head;
    if (!e) return;
    s = e->src;
    unlink_entry(ob, e);
    entry_free(e);
    s->dropped++;
    ob->dropped_total++;
    if (ob->opt.dropped) ob->opt.dropped(ob->opt.ctx, s->name, s->dropped);
}

int outbox_push(struct outbox *ob, const char *topic, const void *payload, size_t len, int qos,
                const char *source)
{
    struct source *s = NULL;
    if (source) {
        if (!(s = source_get(ob, source, 1))) return -1;
        if (!ob->opt.output_per_source || len > ob->opt.output_per_source) {
            /* It could never fit: dropped at once. */
            s->dropped++;
            ob->dropped_total++;
            if (ob->opt.dropped) ob->opt.dropped(ob->opt.ctx, s->name, s->dropped);
            return 0;
        }
    }
    struct entry *e = calloc(1, sizeof *e);
    if (!e) return -1;
    e->msg.topic = strdup(topic);
    e->msg.payload = malloc(len ? len : 1);
    if (!e->msg.topic || !e->msg.payload) {
        entry_free(e);
        return -1;
    }
    if (len) memcpy(e->msg.payload, payload, len);
    e->msg.len = len;
    e->msg.qos = qos;
    if (s) {
        while (s->bytes + len > ob->opt.output_per_source)
            drop_oldest(ob, s);
        while (ob->output_bytes + len > ob->opt.output_total)
            drop_oldest(ob, NULL);
        e->src = s;
        e->msg.source = s->name;
        if (s->last)
            s->last->src_next = e;
        else
            s->first = e;
        s->last = e;
        s->bytes += len;
        ob->output_bytes += len;
        e->out_prev = ob->out_tail;
        if (ob->out_tail)
            ob->out_tail->out_next = e;
        else
            ob->out_head = e;
        ob->out_tail = e;
    }
    e->prev = ob->tail;
    if (ob->tail)
        ob->tail->next = e;
    else
        ob->head = e;
    ob->tail = e;
    ob->count++;
    return 0;
}

const struct outbox_msg *outbox_peek(const struct outbox *ob)
{
    return ob->head ? &ob->head->msg : NULL;
}

void outbox_pop(struct outbox *ob)
{
    struct entry *e = ob->head;
    if (!e) return;
    struct source *s = e->src;
    unlink_entry(ob, e);
    entry_free(e);
    /* Its output went out: the next drop of this source starts a new count. */
    if (s && !s->first) source_release(ob, s);
}

size_t outbox_count(const struct outbox *ob)
{
    return ob->count;
}

size_t outbox_output_bytes(const struct outbox *ob)
{
    return ob->output_bytes;
}

uint64_t outbox_dropped_total(const struct outbox *ob)
{
    return ob->dropped_total;
}

/* ---- spill file: SPILL_MAGIC, then per message u8 qos, u32 topic length,
 * topic, u32 payload length, payload (little-endian) ---- */

static int put_u32(FILE *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return fwrite(b, 1, 4, f) == 4 ? 0 : -1;
}

int outbox_spill_write(const struct outbox *ob, const char *path)
{
    int any = 0;
    for (struct entry *e = ob->head; e && !any; e = e->next)
        any = !e->src;
    if (!any) {
        if (unlink(path) < 0 && errno != ENOENT) return -1;
        return 0;
    }
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp", path) < 0) return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        if (fd >= 0) close(fd);
        free(tmp);
        return -1;
    }
    int rc = fputs(SPILL_MAGIC, f) < 0 ? -1 : 0;
    for (struct entry *e = ob->head; e && !rc; e = e->next) {
        if (e->src) continue;
        size_t tl = strlen(e->msg.topic);
        if (fputc(e->msg.qos, f) == EOF || put_u32(f, (uint32_t)tl) ||
            fwrite(e->msg.topic, 1, tl, f) != tl || put_u32(f, (uint32_t)e->msg.len) ||
            fwrite(e->msg.payload, 1, e->msg.len, f) != e->msg.len)
            rc = -1;
    }
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) rc = -1;
    if (fclose(f) != 0) rc = -1;
    if (!rc && rename(tmp, path) < 0) rc = -1;
    if (rc) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
    }
    free(tmp);
    return rc;
}

static int take_u32(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
    if (end - *p < 4) return -1;
    const uint8_t *b = *p;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    *p += 4;
    return 0;
}

int outbox_spill_parse(struct outbox *ob, const uint8_t *data, size_t len, size_t *loaded,
                       char err[OUTBOX_ERR_LEN])
{
    *loaded = 0;
    size_t ml = strlen(SPILL_MAGIC);
    if (len < ml || memcmp(data, SPILL_MAGIC, ml)) {
        snprintf(err, OUTBOX_ERR_LEN, "not an outbox spill file");
        return -1;
    }
    /* Checked whole before anything is queued: all or nothing. */
    for (int pass = 0; pass < 2; pass++) {
        const uint8_t *p = data + ml, *end = data + len;
        size_t n = 0;
        while (p < end) {
            uint32_t tl, pl;
            int qos = *p++;
            if (qos > 2 || take_u32(&p, end, &tl) || tl == 0 || tl > SPILL_TOPIC_MAX ||
                (size_t)(end - p) < tl || memchr(p, '\0', tl)) {
                snprintf(err, OUTBOX_ERR_LEN, "spill file: bad record %zu", n + 1);
                return -1;
            }
            const uint8_t *topic = p;
            p += tl;
            if (take_u32(&p, end, &pl) || pl > SPILL_PAYLOAD_MAX || (size_t)(end - p) < pl) {
                snprintf(err, OUTBOX_ERR_LEN, "spill file: record %zu is cut short", n + 1);
                return -1;
            }
            if (pass == 1) {
                char *t = strndup((const char *)topic, tl);
                int rc = t ? outbox_push(ob, t, p, pl, qos, NULL) : -1;
                free(t);
                if (rc < 0) {
                    snprintf(err, OUTBOX_ERR_LEN, "out of memory");
                    return -1;
                }
            }
            p += pl;
            n++;
        }
        *loaded = n;
    }
    return 0;
}

int outbox_spill_load(struct outbox *ob, const char *path, size_t *loaded, char err[OUTBOX_ERR_LEN])
{
    *loaded = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return 0;
        snprintf(err, OUTBOX_ERR_LEN, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    uint8_t *buf = NULL;
    int rc = -1;
    if (fstat(fd, &st) < 0 || st.st_size > (off_t)64 << 20) {
        snprintf(err, OUTBOX_ERR_LEN, "%s: unreadable or larger than 64 MiB", path);
        goto out;
    }
    size_t size = (size_t)st.st_size, got = 0;
    if (!(buf = malloc(size ? size : 1))) {
        snprintf(err, OUTBOX_ERR_LEN, "out of memory");
        goto out;
    }
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            snprintf(err, OUTBOX_ERR_LEN, "%s: read failed", path);
            goto out;
        }
        got += (size_t)n;
    }
    rc = outbox_spill_parse(ob, buf, size, loaded, err);
out:
    free(buf);
    close(fd);
    return rc;
}
