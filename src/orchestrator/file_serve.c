/* Serving file chunks over MQTT with a bounded number in flight (see
 * file_serve.h): a FIFO of requests, each served one chunk per turn. */
#define _GNU_SOURCE
#include "file_serve.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_store.h"
#include "slog.h"
#include "stratus/envelope.h"
#include "stratus/file_transfer.h"
#include "stratus/topic.h"

struct serve_job {
    char sha256[FILE_HASH_HEX + 1];
    uint8_t raw[32];
    char topic[TOPIC_LAYOUT_MAX];
    uint64_t next, end, total;
    struct serve_job *next_job;
};

struct file_server {
    char *realm;
    struct file_store *store;
    struct file_server_io io;
    struct serve_job *head, *tail;
    size_t waiting;
    int mids[FILE_SERVE_INFLIGHT];
    int inflight;
    uint8_t *buf;
    uint64_t chunks, bytes;
    uint64_t corrupt_at; /* test hook; 0: off */
};

int file_server_new(const char *realm, struct file_store *store, const struct file_server_io *io,
                    struct file_server **out)
{
    *out = NULL;
    struct file_server *s = calloc(1, sizeof *s);
    if (!s) return -1;
    s->realm = strdup(realm);
    s->buf = malloc(FILE_CHUNK_HEADER + FILE_CHUNK_MAX);
    if (!s->realm || !s->buf) {
        file_server_free(s);
        return -1;
    }
    s->store = store;
    s->io = *io;
    const char *hook = getenv("STRATUS_TEST_CORRUPT_CHUNK");
    if (hook && *hook) {
        s->corrupt_at = strtoull(hook, NULL, 10);
        slog(SLOG_WARNING, "files", "test hook: chunk %llu sent will be corrupted",
             (unsigned long long)s->corrupt_at);
    }
    *out = s;
    return 0;
}

void file_server_free(struct file_server *s)
{
    if (!s) return;
    while (s->head) {
        struct serve_job *j = s->head;
        s->head = j->next_job;
        free(j);
    }
    free(s->realm);
    free(s->buf);
    free(s);
}

static void answer_error(struct file_server *s, const char *topic, const char *object_id,
                         const char *sha256, const char *reason)
{
    json_t *msg = file_error_build(object_id, sha256, reason);
    char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    int mid;
    if (text) s->io.publish(s->io.ctx, topic, text, strlen(text), &mid);
    free(text);
    slog(SLOG_WARNING, "files", "file request for %.16s... refused: %s", sha256, reason);
}

/* Send the next chunk of the job at the head; 0, or -1 when the job is
 * done (or failed) and must leave the queue. */
static int send_chunk(struct file_server *s, struct serve_job *j)
{
    int fd = file_store_open_file(s->store, j->sha256);
    if (fd < 0) {
        answer_error(s, j->topic, NULL, j->sha256, "the file left the module store");
        return -1;
    }
    uint64_t want = j->end - j->next;
    if (want > FILE_CHUNK_MAX) want = FILE_CHUNK_MAX;
    size_t got = 0;
    while (got < want) {
        ssize_t n = pread(fd, s->buf + FILE_CHUNK_HEADER + got, want - got, (off_t)(j->next + got));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    if (got < want) {
        answer_error(s, j->topic, NULL, j->sha256, "the stored file cannot be read");
        return -1;
    }
    file_chunk_header(s->buf, j->raw, j->next, j->total);
    s->chunks++;
    if (s->corrupt_at && s->chunks == s->corrupt_at && got) s->buf[FILE_CHUNK_HEADER] ^= 0xff;
    int mid = 0;
    if (s->io.publish(s->io.ctx, j->topic, s->buf, FILE_CHUNK_HEADER + got, &mid) < 0)
        return -1; /* not connected: the node asks again */
    s->mids[s->inflight++] = mid;
    s->bytes += got;
    j->next += got;
    return j->next >= j->end ? -1 : 0;
}

/* Serve chunks, one per job in turn, while the window has room. */
static void pump(struct file_server *s)
{
    while (s->head && s->inflight < FILE_SERVE_INFLIGHT) {
        struct serve_job *j = s->head;
        s->head = j->next_job;
        if (!s->head) s->tail = NULL;
        j->next_job = NULL;
        if (send_chunk(s, j) < 0) {
            free(j);
            s->waiting--;
            continue;
        }
        if (s->tail)
            s->tail->next_job = j;
        else
            s->head = j;
        s->tail = j;
    }
}

void file_server_request(struct file_server *s, const void *payload, size_t len)
{
    struct envelope env;
    char err[ENVELOPE_ERR_LEN];
    if (envelope_parse(payload, len, &env, err) < 0) {
        slog(SLOG_WARNING, "files", "bad file request: %s", err);
        return;
    }
    struct file_request req;
    char rerr[FILE_ERR_LEN];
    if (env.type != ENVELOPE_REQ || strcmp(env.action, "file_get") != 0) {
        envelope_clear(&env);
        return;
    }
    if (file_request_parse(env.root, &req, rerr) < 0) {
        slog(SLOG_WARNING, "files", "bad file request: %s", rerr);
        envelope_clear(&env);
        return;
    }
    char topic[TOPIC_LAYOUT_MAX];
    if (topic_format(topic, sizeof topic, s->realm, TOPIC_FILE_DATA, req.node) < 0) {
        envelope_clear(&env);
        return;
    }
    const struct file_info *f = file_store_find(s->store, req.sha256);
    if (!f) {
        answer_error(s, topic, req.object_id, req.sha256, "no such file in the module store");
    } else if (req.offset > f->size) {
        answer_error(s, topic, req.object_id, req.sha256, "the offset lies beyond the file's end");
    } else if (s->waiting >= FILE_SERVE_QUEUE) {
        slog(SLOG_WARNING, "files", "%zu file requests waiting: one dropped (the node asks again)",
             s->waiting);
    } else {
        struct serve_job *j = calloc(1, sizeof *j);
        if (j) {
            memcpy(j->sha256, req.sha256, sizeof j->sha256);
            file_hash_to_raw(req.sha256, j->raw);
            snprintf(j->topic, sizeof j->topic, "%s", topic);
            j->next = req.offset;
            j->total = f->size;
            j->end = req.length > f->size - req.offset ? f->size : req.offset + req.length;
            if (j->next == j->end) {
                /* Nothing left: an empty chunk at the end says the size. */
                int mid;
                file_chunk_header(s->buf, j->raw, j->next, j->total);
                s->io.publish(s->io.ctx, topic, s->buf, FILE_CHUNK_HEADER, &mid);
                free(j);
            } else {
                if (s->tail)
                    s->tail->next_job = j;
                else
                    s->head = j;
                s->tail = j;
                s->waiting++;
            }
        }
    }
    envelope_clear(&env);
    pump(s);
}

void file_server_published(struct file_server *s, int mid)
{
    for (int i = 0; i < s->inflight; i++)
        if (s->mids[i] == mid) {
            s->mids[i] = s->mids[--s->inflight];
            pump(s);
            return;
        }
}

void file_server_connected(struct file_server *s)
{
    s->inflight = 0;
    pump(s);
}

uint64_t file_server_chunks(const struct file_server *s)
{
    return s->chunks;
}

uint64_t file_server_bytes(const struct file_server *s)
{
    return s->bytes;
}

size_t file_server_waiting(const struct file_server *s)
{
    return s->waiting;
}
