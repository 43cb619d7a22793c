/* fake_runtime: a scriptable runtime process for integration tests and the
 * manager benchmark. It speaks the local socket protocol of PROTOCOL.md §6
 * like a real runtime but runs no WebAssembly: each module it is asked to
 * create follows a script of steps given in the create message.
 *
 * Usage: fake_runtime SOCKET_PATH   (as the manager starts a runtime program)
 *        fake_runtime [--sl-dir DIR] INDEX   (the original Silverline way)
 * It connects to SOCKET_PATH and uses the legacy 6-byte header when the
 * environment variable STRATUS_RUNTIME_TYPE ends in "legacy", else the seed's
 * 4-byte header; started with a bare INDEX it connects to DIR/{INDEX as
 * %02x}.s (DIR default /tmp/sl) with the legacy header, as original runtimes
 * do. It exits on socket end-of-file or a stop-runtime frame.
 *
 * Script: the create payload's `args.fake` is a list of steps, run in order
 * for that module (steps of different modules interleave at sleeps):
 *   {"open": CH, "flags": F, "topic": "T"}  open channel CH (flags as §6)
 *   {"close": CH}                           close channel CH
 *   {"publish": CH, "data": "text"}         data frame on CH; optional
 *        "count": N to repeat it, or "size": N for an N-byte patterned payload
 *        (byte i = i % 251), used to test long (fragmented) messages; with
 *        "numbered": true each copy is the data followed by its number from 0
 *   {"echo": [FROM, TO]}                    from now on, republish every
 *        message received on channel FROM on channel TO
 *   {"exit": CODE}                          module exited {"status":"exited","exit_code":CODE}
 *   {"exit": {...}}                         module exited with this JSON object
 *   {"exit_raw": "text"}                    module exited with a non-JSON payload
 *   {"exit_echo": true}                     module exited {"status":"exited",
 *        "exit_code":0, "seen_index":I, "seen_uuid":U, "seen_runtime":NAME,
 *        "seen_env":{...}}: what this process received (index and uuid of the
 *        create, and the STRATUS_RUNTIME_TYPE/NAME/UUID, STRATUS_MODULE_DIR and
 *        STRATUS_REALM it was started with, keys type/name/uuid/module_dir/realm),
 *        "seen_vars": [the names of every environment variable it has],
 *        "seen_cwd": its working directory
 *   {"log": [LEVEL, "text"]}                module log at LEVEL (10..50)
 *   {"rtlog": [LEVEL, "text"]}              runtime log
 *   {"keepalive": {...}}                    runtime keepalive with this object
 *   {"raw": {"h1": N, "h2": N, "data": "text"}}  any frame at all
 *   {"sleep_ms": N}                         pause this module's script
 *   {"stall_ms": N}                         block the whole process for N ms,
 *        reading nothing (a runtime that stops reading its socket)
 *   {"pidfile": "PATH"}                     write this process's pid to PATH
 *   {"die": CODE}                           exit the whole process at once
 *   {"write_mode": "normal"|"bytes"|"packed"}  how frames are written from now
 *        on: "bytes" writes every frame one byte per write() with a short gap,
 *        "packed" gathers frames and writes them all with one write() when the
 *        script pauses or ends (or at {"flush": true})
 *   {"flood": {"ch": CH, "count": N, "size": S, "interval_us": U}}
 *        publish N messages of S bytes (at least 8) on CH, each starting with
 *        the send time (u64 little-endian, CLOCK_MONOTONIC ns); U > 0 paces
 *        them, 0 sends as fast as the socket takes them
 *   {"sink": {"ch": CH, "count": N, "report": RCH}}
 *        count messages received on CH; when N have arrived, publish on RCH a
 *        JSON report {"count","first_ns","last_ns","first_stamp_ns",
 *        "median_ns","p99_ns"} where latencies are receive time minus the
 *        time stamp in the first 8 bytes of each message; with "idle_ms": I
 *        it also reports when I ms pass without a message after the first
 *        (so lost messages cannot stall a benchmark)
 *   {"ignore_delete": true}                 delete frames for this module are
 *        ignored from now on (a runtime that never confirms a delete)
 *   {"spawn_child": "PATH"}                 start a child process that sleeps
 *        forever (in this process's group) and write its pid to PATH
 * A delete frame for a module is answered with exited {"status":"killed"}.
 * When a script ends the module stays alive (for echo/sink) until deleted. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "stratus/frame.h"

#define MAX_MODULES 128
#define MAX_ECHO 16
#define FLOOD_BATCH 256

enum write_mode { WRITE_NORMAL, WRITE_BYTES, WRITE_PACKED };

struct echo_rule {
    uint8_t from, to;
};

struct sink {
    int active;
    uint8_t ch, report;
    size_t want, got;
    uint64_t idle_ns; /* report early after this long without input; 0 never */
    uint64_t first_ns, last_ns, first_stamp_ns;
    uint64_t *lat; /* owned, `want` entries */
};

struct flood {
    int active;
    uint8_t ch;
    size_t count, sent, size;
    uint64_t interval_ns, next_ns;
};

struct module {
    int active;
    char uuid[64];
    long long seen_index; /* "index" of the create payload, -1 if absent */
    json_t *steps;        /* owned reference to the args.fake array */
    size_t pos;
    uint64_t resume_ns;
    struct echo_rule echo[MAX_ECHO];
    int n_echo;
    struct sink sink;
    struct flood flood;
    int ignore_delete;
};

static int sock = -1;
static enum frame_header_kind header = FRAME_HEADER_SEED;
static enum write_mode mode = WRITE_NORMAL;
static uint8_t *packed;
static size_t packed_len, packed_cap;
static struct module modules[MAX_MODULES];

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fatal(const char *what)
{
    fprintf(stderr, "fake_runtime[%d]: %s\n", (int)getpid(), what);
    exit(1);
}

static void write_all(const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(sock, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) fatal("socket write failed");
        p += w;
        n -= (size_t)w;
    }
}

static void flush_packed(void)
{
    if (packed_len) write_all(packed, packed_len);
    packed_len = 0;
}

static void send_frame(uint8_t h1, uint8_t h2, const void *payload, size_t len)
{
    size_t need = frame_encoded_size(header, len), written = 0;
    uint8_t *buf = malloc(need ? need : 1);
    if (!buf) fatal("out of memory");
    if (frame_encode(header, h1, h2, payload, len, buf, need, &written) != FRAME_OK)
        fatal("frame_encode failed");
    switch (mode) {
    case WRITE_NORMAL: write_all(buf, written); break;
    case WRITE_BYTES:
        for (size_t i = 0; i < written; i++) {
            write_all(buf + i, 1);
            usleep(200);
        }
        break;
    case WRITE_PACKED:
        if (packed_len + written > packed_cap) {
            size_t cap = (packed_len + written) * 2;
            uint8_t *grown = realloc(packed, cap);
            if (!grown) fatal("out of memory");
            packed = grown;
            packed_cap = cap;
        }
        memcpy(packed + packed_len, buf, written);
        packed_len += written;
        break;
    }
    free(buf);
}

static void send_json(uint8_t h1, uint8_t h2, const json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    if (!text) fatal("json_dumps failed");
    send_frame(h1, h2, text, strlen(text));
    free(text);
}

static void send_log(uint8_t h1, uint8_t h2, json_t *spec)
{
    json_t *lv = json_array_get(spec, 0), *tx = json_array_get(spec, 1);
    const char *text = json_string_value(tx) ? json_string_value(tx) : "";
    size_t tl = strlen(text);
    uint8_t *buf = malloc(tl + 1);
    if (!buf) fatal("out of memory");
    buf[0] = (uint8_t)(0x80 | (json_integer_value(lv) & 0x7F));
    memcpy(buf + 1, text, tl);
    send_frame(h1, h2, buf, tl + 1);
    free(buf);
}

static void module_end(int idx)
{
    struct module *m = &modules[idx];
    if (m->steps) json_decref(m->steps);
    free(m->sink.lat);
    memset(m, 0, sizeof *m);
}

static void module_exited(int idx, const json_t *obj)
{
    send_json((uint8_t)(FRAME_CONTROL | idx), FRAME_MODULE_EXITED, obj);
    module_end(idx);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void sink_report(int idx)
{
    struct sink *s = &modules[idx].sink;
    qsort(s->lat, s->got, sizeof *s->lat, cmp_u64);
    size_t p99 = s->got ? (s->got * 99) / 100 : 0;
    if (p99 >= s->got && s->got) p99 = s->got - 1;
    json_t *r = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "count", (json_int_t)s->got, "first_ns",
                          (json_int_t)s->first_ns, "last_ns", (json_int_t)s->last_ns,
                          "first_stamp_ns", (json_int_t)s->first_stamp_ns, "median_ns",
                          (json_int_t)(s->got ? s->lat[s->got / 2] : 0), "p99_ns",
                          (json_int_t)(s->got ? s->lat[p99] : 0));
    if (!r) fatal("out of memory");
    send_json((uint8_t)idx, s->report, r);
    json_decref(r);
    s->active = 0;
}

static uint64_t read_stamp(const uint8_t *p, size_t len)
{
    uint64_t v = 0;
    if (len < 8) return 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void on_data(int idx, uint8_t ch, const uint8_t *payload, size_t len)
{
    struct module *m = &modules[idx];
    if (!m->active) return;
    for (int i = 0; i < m->n_echo; i++)
        if (m->echo[i].from == ch) send_frame((uint8_t)idx, m->echo[i].to, payload, len);
    struct sink *s = &m->sink;
    if (s->active && s->ch == ch && s->got < s->want) {
        uint64_t t = now_ns(), stamp = read_stamp(payload, len);
        if (!s->got) {
            s->first_ns = t;
            s->first_stamp_ns = stamp;
        }
        s->last_ns = t;
        s->lat[s->got++] = stamp && t > stamp ? t - stamp : 0;
        if (s->got == s->want) sink_report(idx);
    }
}

static void flood_some(int idx)
{
    struct flood *f = &modules[idx].flood;
    uint8_t buf[65536];
    size_t size = f->size < 8 ? 8 : (f->size > sizeof buf ? sizeof buf : f->size);
    for (size_t i = 8; i < size; i++)
        buf[i] = (uint8_t)('a' + i % 26);
    for (int batch = 0; batch < FLOOD_BATCH && f->sent < f->count; batch++) {
        uint64_t t = now_ns();
        if (f->interval_ns && t < f->next_ns) break;
        for (int b = 0; b < 8; b++)
            buf[b] = (uint8_t)(t >> (8 * b));
        send_frame((uint8_t)idx, f->ch, buf, size);
        f->sent++;
        f->next_ns = t + f->interval_ns;
    }
    if (f->sent >= f->count) f->active = 0;
}

/* Run the script of one module until it pauses, ends, or the module exits. */
static void run_steps(int idx)
{
    struct module *m = &modules[idx];
    uint8_t ctl = (uint8_t)(FRAME_CONTROL | idx);
    while (m->active && m->steps && m->pos < json_array_size(m->steps)) {
        if (m->flood.active) return; /* a flood finishes before the next step */
        json_t *st = json_array_get(m->steps, m->pos++);
        json_t *v;
        if ((v = json_object_get(st, "open"))) {
            const char *topic = json_string_value(json_object_get(st, "topic"));
            size_t tl = topic ? strlen(topic) : 0;
            uint8_t *buf = malloc(tl + 2);
            if (!buf) fatal("out of memory");
            buf[0] = (uint8_t)json_integer_value(v);
            buf[1] = (uint8_t)json_integer_value(json_object_get(st, "flags"));
            if (tl) memcpy(buf + 2, topic, tl);
            send_frame(ctl, FRAME_OPEN_CHANNEL, buf, tl + 2);
            free(buf);
        } else if ((v = json_object_get(st, "close"))) {
            uint8_t ch = (uint8_t)json_integer_value(v);
            send_frame(ctl, FRAME_CLOSE_CHANNEL, &ch, 1);
        } else if ((v = json_object_get(st, "publish"))) {
            uint8_t ch = (uint8_t)json_integer_value(v);
            json_t *size = json_object_get(st, "size");
            json_int_t count = json_integer_value(json_object_get(st, "count"));
            if (count <= 0) count = 1;
            for (json_int_t k = 0; k < count; k++) {
                if (size) {
                    size_t n = (size_t)json_integer_value(size);
                    uint8_t *buf = malloc(n ? n : 1);
                    if (!buf) fatal("out of memory");
                    for (size_t i = 0; i < n; i++)
                        buf[i] = (uint8_t)(i % 251);
                    send_frame((uint8_t)idx, ch, buf, n);
                    free(buf);
                } else if (json_is_true(json_object_get(st, "numbered"))) {
                    const char *data = json_string_value(json_object_get(st, "data"));
                    char text[1024];
                    int n = snprintf(text, sizeof text, "%s%lld", data ? data : "", (long long)k);
                    send_frame((uint8_t)idx, ch, text, (size_t)n < sizeof text ? (size_t)n : 0);
                } else {
                    const char *data = json_string_value(json_object_get(st, "data"));
                    send_frame((uint8_t)idx, ch, data ? data : "", data ? strlen(data) : 0);
                }
            }
        } else if ((v = json_object_get(st, "echo"))) {
            if (m->n_echo < MAX_ECHO) {
                m->echo[m->n_echo].from = (uint8_t)json_integer_value(json_array_get(v, 0));
                m->echo[m->n_echo].to = (uint8_t)json_integer_value(json_array_get(v, 1));
                m->n_echo++;
            }
        } else if ((v = json_object_get(st, "exit"))) {
            if (json_is_object(v)) {
                module_exited(idx, v);
            } else {
                json_t *o =
                    json_pack("{s:s, s:I}", "status", "exited", "exit_code", json_integer_value(v));
                module_exited(idx, o);
                json_decref(o);
            }
        } else if ((v = json_object_get(st, "exit_echo"))) {
            const char *name = getenv("STRATUS_RUNTIME_NAME");
            json_t *env = json_object();
            const char *vars[][2] = {{"type", "STRATUS_RUNTIME_TYPE"},
                                     {"name", "STRATUS_RUNTIME_NAME"},
                                     {"uuid", "STRATUS_RUNTIME_UUID"},
                                     {"module_dir", "STRATUS_MODULE_DIR"},
                                     {"realm", "STRATUS_REALM"}};
            for (size_t k = 0; env && k < sizeof vars / sizeof vars[0]; k++)
                if (getenv(vars[k][1]))
                    json_object_set_new(env, vars[k][0], json_string(getenv(vars[k][1])));
            /* The names of every variable of the environment. */
            extern char **environ;
            json_t *names = json_array();
            for (char **e = environ; names && e && *e; e++)
                json_array_append_new(names, json_stringn(*e, strcspn(*e, "=")));
            char cwd[4096];
            if (!getcwd(cwd, sizeof cwd)) cwd[0] = '\0';
            json_t *o = json_pack("{s:s, s:i, s:I, s:s, s:s, s:o, s:o, s:s}", "status", "exited",
                                  "exit_code", 0, "seen_index", (json_int_t)m->seen_index,
                                  "seen_uuid", m->uuid, "seen_runtime", name ? name : "",
                                  "seen_env", env, "seen_vars", names, "seen_cwd", cwd);
            module_exited(idx, o);
            json_decref(o);
        } else if ((v = json_object_get(st, "exit_raw"))) {
            const char *t = json_string_value(v) ? json_string_value(v) : "";
            send_frame(ctl, FRAME_MODULE_EXITED, t, strlen(t));
            module_end(idx);
        } else if ((v = json_object_get(st, "log"))) {
            send_log(ctl, FRAME_MODULE_LOG, v);
        } else if ((v = json_object_get(st, "rtlog"))) {
            send_log(FRAME_CONTROL, FRAME_RUNTIME_LOG, v);
        } else if ((v = json_object_get(st, "keepalive"))) {
            send_json(FRAME_CONTROL, FRAME_KEEPALIVE, v);
        } else if ((v = json_object_get(st, "raw"))) {
            const char *d = json_string_value(json_object_get(v, "data"));
            send_frame((uint8_t)json_integer_value(json_object_get(v, "h1")),
                       (uint8_t)json_integer_value(json_object_get(v, "h2")), d ? d : "",
                       d ? strlen(d) : 0);
        } else if ((v = json_object_get(st, "sleep_ms"))) {
            m->resume_ns = now_ns() + (uint64_t)json_integer_value(v) * 1000000u;
            return;
        } else if ((v = json_object_get(st, "stall_ms"))) {
            flush_packed();
            usleep((useconds_t)json_integer_value(v) * 1000u);
        } else if (json_is_true(json_object_get(st, "ignore_delete"))) {
            m->ignore_delete = 1;
        } else if ((v = json_object_get(st, "spawn_child"))) {
            pid_t child = fork();
            if (child == 0) {
                close(sock);
                for (;;)
                    pause();
            }
            FILE *f = fopen(json_string_value(v) ? json_string_value(v) : "", "w");
            if (f) {
                fprintf(f, "%d\n", (int)child);
                fclose(f);
            }
        } else if ((v = json_object_get(st, "pidfile"))) {
            FILE *f = fopen(json_string_value(v) ? json_string_value(v) : "", "w");
            if (f) {
                fprintf(f, "%d\n", (int)getpid());
                fclose(f);
            }
        } else if ((v = json_object_get(st, "die"))) {
            flush_packed();
            _exit((int)json_integer_value(v));
        } else if ((v = json_object_get(st, "write_mode"))) {
            const char *w = json_string_value(v) ? json_string_value(v) : "";
            flush_packed();
            mode = !strcmp(w, "bytes")    ? WRITE_BYTES
                   : !strcmp(w, "packed") ? WRITE_PACKED
                                          : WRITE_NORMAL;
        } else if (json_object_get(st, "flush")) {
            flush_packed();
        } else if ((v = json_object_get(st, "flood"))) {
            struct flood *f = &m->flood;
            f->active = 1;
            f->ch = (uint8_t)json_integer_value(json_object_get(v, "ch"));
            f->count = (size_t)json_integer_value(json_object_get(v, "count"));
            f->size = (size_t)json_integer_value(json_object_get(v, "size"));
            f->interval_ns =
                (uint64_t)json_integer_value(json_object_get(v, "interval_us")) * 1000u;
            f->sent = 0;
            f->next_ns = 0;
            return;
        } else if ((v = json_object_get(st, "sink"))) {
            struct sink *s = &m->sink;
            free(s->lat);
            memset(s, 0, sizeof *s);
            s->ch = (uint8_t)json_integer_value(json_object_get(v, "ch"));
            s->report = (uint8_t)json_integer_value(json_object_get(v, "report"));
            s->want = (size_t)json_integer_value(json_object_get(v, "count"));
            s->idle_ns = (uint64_t)json_integer_value(json_object_get(v, "idle_ms")) * 1000000u;
            s->lat = calloc(s->want ? s->want : 1, sizeof *s->lat);
            if (!s->lat) fatal("out of memory");
            s->active = 1;
        } else {
            char *text = json_dumps(st, JSON_COMPACT);
            fprintf(stderr, "fake_runtime: unknown step %s\n", text ? text : "?");
            free(text);
        }
    }
}

static void on_create(int idx, const uint8_t *payload, size_t len)
{
    json_error_t err;
    json_t *data = json_loadb((const char *)payload, len, 0, &err);
    if (modules[idx].active) module_end(idx);
    struct module *m = &modules[idx];
    if (!data) {
        fprintf(stderr, "fake_runtime: create is not JSON: %s\n", err.text);
        json_t *o = json_pack("{s:s, s:s}", "status", "failed", "reason", "create not JSON");
        m->active = 1;
        module_exited(idx, o);
        json_decref(o);
        return;
    }
    m->active = 1;
    const char *uuid = json_string_value(json_object_get(data, "uuid"));
    snprintf(m->uuid, sizeof m->uuid, "%s", uuid ? uuid : "");
    json_t *index = json_object_get(data, "index");
    m->seen_index = json_is_integer(index) ? (long long)json_integer_value(index) : -1;
    json_t *steps = json_object_get(json_object_get(data, "args"), "fake");
    if (json_is_array(steps)) m->steps = json_incref(steps);
    json_decref(data);
}

static void on_message(const struct frame_message *msg)
{
    int idx = msg->h1 & FRAME_INDEX_MASK;
    if (!(msg->h1 & FRAME_CONTROL)) {
        on_data(idx, msg->h2, msg->payload, msg->len);
        return;
    }
    switch (msg->h2) {
    case FRAME_CREATE_MODULE: on_create(idx, msg->payload, msg->len); break;
    case FRAME_DELETE_MODULE:
        if (modules[idx].active && !modules[idx].ignore_delete) {
            json_t *o = json_pack("{s:s}", "status", "killed");
            module_exited(idx, o);
            json_decref(o);
        }
        break;
    case FRAME_STOP_RUNTIME: flush_packed(); exit(0);
    default: fprintf(stderr, "fake_runtime: unknown control code %u\n", msg->h2);
    }
}

int main(int argc, char **argv)
{
    const char *sl_dir = "/tmp/sl";
    if (argc == 4 && !strcmp(argv[1], "--sl-dir")) {
        sl_dir = argv[2];
        argv += 2;
        argc -= 2;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: fake_runtime SOCKET_PATH | fake_runtime [--sl-dir DIR] INDEX\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    const char *type = getenv("STRATUS_RUNTIME_TYPE");
    size_t tl = type ? strlen(type) : 0;
    if (tl >= 6 && !strcmp(type + tl - 6, "legacy")) header = FRAME_HEADER_LEGACY;

    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    char path[sizeof addr.sun_path];
    const char *target = argv[1];
    if (strspn(argv[1], "0123456789") == strlen(argv[1])) {
        /* The original convention: a bare runtime index. */
        snprintf(path, sizeof path, "%s/%02x.s", sl_dir, atoi(argv[1]));
        target = path;
        header = FRAME_HEADER_LEGACY;
    }
    if (strlen(target) >= sizeof addr.sun_path) fatal("socket path too long");
    strcpy(addr.sun_path, target);
    sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof addr) < 0)
        fatal("cannot connect to the manager's socket");

    struct frame_reader *reader = frame_reader_new(header, 0);
    if (!reader) fatal("out of memory");
    static uint8_t buf[65536];
    for (;;) {
        /* Run every module whose script or flood is due; find the next wake. */
        uint64_t t = now_ns(), wake = UINT64_MAX;
        for (int i = 0; i < MAX_MODULES; i++) {
            struct module *m = &modules[i];
            if (!m->active) continue;
            struct sink *sk = &m->sink;
            if (sk->active && sk->idle_ns && sk->got) {
                if (t >= sk->last_ns + sk->idle_ns)
                    sink_report(i);
                else
                    wake = sk->last_ns + sk->idle_ns < wake ? sk->last_ns + sk->idle_ns : wake;
            }
            if (m->flood.active) {
                if (!m->flood.interval_ns || t >= m->flood.next_ns) flood_some(i);
                if (!m->active) continue;
                if (m->flood.active) {
                    uint64_t w = m->flood.interval_ns ? m->flood.next_ns : t;
                    wake = w < wake ? w : wake;
                    continue;
                }
            }
            if (m->resume_ns && t < m->resume_ns) {
                wake = m->resume_ns < wake ? m->resume_ns : wake;
                continue;
            }
            m->resume_ns = 0;
            run_steps(i);
            if (m->active && (m->resume_ns || m->flood.active)) {
                uint64_t w = m->flood.active ? t : m->resume_ns;
                wake = w < wake ? w : wake;
            }
        }
        flush_packed();

        int timeout = -1;
        if (wake != UINT64_MAX) {
            uint64_t n = now_ns();
            timeout = wake <= n ? 0 : (int)((wake - n) / 1000000u) + 1;
        }
        struct pollfd pfd = {.fd = sock, .events = POLLIN};
        int pr = poll(&pfd, 1, timeout);
        if (pr < 0 && errno != EINTR) fatal("poll failed");
        if (pr <= 0) continue;
        ssize_t r = recv(sock, buf, sizeof buf, MSG_DONTWAIT);
        if (r == 0) break; /* the manager went away: a runtime ends with it */
        if (r < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            fatal("socket read failed");
        }
        if (frame_reader_feed(reader, buf, (size_t)r) != FRAME_OK)
            fatal("frame reader out of memory");
        struct frame_message msg;
        int rc;
        while ((rc = frame_reader_next(reader, &msg)) == 1)
            on_message(&msg);
        if (rc < 0) fatal(frame_strerror(rc));
    }
    frame_reader_free(reader);
    for (int i = 0; i < MAX_MODULES; i++)
        if (modules[i].active) module_end(i);
    free(packed);
    close(sock);
    return 0;
}
