/* Tests of the WASI embedding API (include/stratus/wasi.h) with the real
 * engine: stdio callbacks, exit codes, interrupting blocked calls from
 * another thread, sockets handed to the module, and configuration errors.
 * The module is t_embed.c, compiled at build time (EMBED_WASM). */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "stratus/wasi.h"

static uint8_t *wasm;
static size_t wasm_len;

struct buffer {
    char data[4096];
    size_t len;
    int calls;
};

static int capture(void *user, const uint8_t *buf, size_t len)
{
    struct buffer *b = user;
    if (b->len + len >= sizeof b->data) return SWASI_EIO;
    memcpy(b->data + b->len, buf, len);
    b->len += len;
    b->calls++;
    b->data[b->len] = '\0';
    return 0;
}

/* A config that runs t_embed in `mode`, its stdout captured into `out`
 * (NULL: inherited). swasi_ctx_new copies what it needs. */
static void embed_config(swasi_config *cfg, const char *mode, struct buffer *out)
{
    static const char *argv[2];
    argv[0] = "t_embed";
    argv[1] = mode;
    swasi_config_init(cfg);
    cfg->argc = 2;
    cfg->argv = argv;
    if (out) cfg->stdio[1] = (swasi_stdio){.host_fd = -1, .write = capture, .user = out};
}

struct feed {
    const char *text;
    size_t pos;
};

static int feed_stdin(void *user, uint8_t *buf, size_t cap, size_t *nread)
{
    struct feed *f = user;
    size_t left = strlen(f->text) - f->pos;
    /* Hand out at most 2 bytes at a time to exercise short reads. */
    size_t n = left < cap ? left : cap;
    if (n > 2) n = 2;
    memcpy(buf, f->text + f->pos, n);
    f->pos += n;
    *nread = n;
    return 0;
}

struct run {
    swasi_ctx *ctx;
    sw_linker *linker;
    sw_module *module;
    sw_instance *inst;
};

static void start(struct run *r, swasi_config *cfg)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(sw_module_load(wasm, wasm_len, &r->module, NULL), SW_OK);
    assert_int_equal(swasi_ctx_new(cfg, &r->ctx, NULL), SW_OK);
    assert_int_equal(sw_linker_new(&r->linker), SW_OK);
    assert_int_equal(swasi_ctx_link(r->ctx, r->linker), SW_OK);
    assert_int_equal(sw_instance_new(r->module, r->linker, NULL, &r->inst, NULL), SW_OK);
}

static void finish(struct run *r)
{
    sw_instance_free(r->inst);
    sw_linker_free(r->linker);
    swasi_ctx_free(r->ctx);
    sw_module_free(r->module);
}

/* Runs the started module to its end and expects exit code 0. */
static void run_to_clean_exit(struct run *r)
{
    int code = -1;
    assert_int_equal(swasi_ctx_run(r->ctx, r->inst, &code, NULL), SW_OK);
    assert_int_equal(code, 0);
}

static void test_stdio_callbacks(void **state)
{
    struct buffer out = {0}, err = {0};
    swasi_config cfg;
    embed_config(&cfg, "hello", &out);
    cfg.stdio[2] = (swasi_stdio){.host_fd = -1, .write = capture, .user = &err};
    struct run r;
    start(&r, &cfg);
    run_to_clean_exit(&r);
    assert_string_equal(out.data, "out\n");
    assert_string_equal(err.data, "err\n");
    finish(&r);
}

/* A stdout callback sees one fd_write as one call (one channel message). */
static void test_stdout_write_joined(void **state)
{
    struct buffer out = {0};
    swasi_config cfg;
    embed_config(&cfg, "iovecs", &out);
    struct run r;
    start(&r, &cfg);
    run_to_clean_exit(&r);
    assert_string_equal(out.data, "two parts\n");
    assert_int_equal(out.calls, 1);
    finish(&r);
}

static void test_stdin_callback(void **state)
{
    struct buffer out = {0};
    struct feed in = {.text = "fed through a callback\n"};
    swasi_config cfg;
    embed_config(&cfg, "echo", NULL);
    cfg.stdio[0] = (swasi_stdio){.host_fd = -1, .read = feed_stdin, .user = &in};
    cfg.stdio[1] = (swasi_stdio){.host_fd = -1, .write = capture, .user = &out};
    struct run r;
    start(&r, &cfg);
    run_to_clean_exit(&r);
    assert_string_equal(out.data, "fed through a callback\n");
    finish(&r);
}

/* A stdin callback that blocks on its own source (a pipe nobody writes)
 * and on the context's wake descriptor, as the header asks. */
struct blocking_source {
    int fd;
    swasi_ctx *ctx;
};

static int blocking_read(void *user, uint8_t *buf, size_t cap, size_t *nread)
{
    struct blocking_source *b = user;
    struct pollfd p[2] = {{.fd = b->fd, .events = POLLIN},
                          {.fd = swasi_ctx_wake_fd(b->ctx), .events = POLLIN}};
    if (poll(p, 2, -1) < 0 || p[1].revents) return SWASI_EINTR;
    ssize_t n = read(b->fd, buf, cap);
    if (n < 0) return SWASI_EIO;
    *nread = (size_t)n;
    return 0;
}

static void *interrupt_later(void *arg);

static void test_interrupt_blocking_callback(void **state)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct blocking_source src = {.fd = p[0]};
    swasi_config cfg;
    embed_config(&cfg, "echo", NULL);
    cfg.stdio[0] = (swasi_stdio){.host_fd = -1, .read = blocking_read, .user = &src};
    struct run r;
    start(&r, &cfg);
    src.ctx = r.ctx;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, interrupt_later, r.inst), 0);
    int code = -1;
    sw_error err;
    assert_int_equal(swasi_ctx_run(r.ctx, r.inst, &code, &err), SW_ERR_TRAP);
    assert_non_null(strstr(err.message, "interrupted"));
    pthread_join(t, NULL);
    finish(&r);
    close(p[0]);
    close(p[1]);
}

static void test_exit_code(void **state)
{
    const char *argv[] = {"t_embed", "exit", "77"};
    swasi_config cfg;
    swasi_config_init(&cfg);
    cfg.argc = 3;
    cfg.argv = argv;
    struct run r;
    start(&r, &cfg);
    int code = -1;
    assert_int_equal(swasi_ctx_run(r.ctx, r.inst, &code, NULL), SW_OK);
    assert_int_equal(code, 77);
    finish(&r);
}

static void *interrupt_later(void *arg)
{
    usleep(200 * 1000);
    sw_instance_interrupt(arg);
    return NULL;
}

/* A blocked call must end when another thread interrupts the instance. */
static void run_interrupted(const char *mode, int stdin_fd)
{
    swasi_config cfg;
    embed_config(&cfg, mode, NULL);
    cfg.stdio[0].host_fd = stdin_fd;
    struct run r;
    start(&r, &cfg);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, interrupt_later, r.inst), 0);
    int code = -1;
    sw_error err;
    assert_int_equal(swasi_ctx_run(r.ctx, r.inst, &code, &err), SW_ERR_TRAP);
    assert_non_null(strstr(err.message, "interrupted"));
    pthread_join(t, NULL);
    finish(&r);
}

static void test_interrupt_blocked_read(void **state)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    run_interrupted("echo", p[0]); /* nobody ever writes to the pipe */
    close(p[0]);
    close(p[1]);
}

static void test_interrupt_sleep(void **state)
{
    run_interrupted("sleep", 0);
}

static void test_socket_handed_over(void **state)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(write(sv[0], "ping", 4), 4);
    swasi_config cfg;
    embed_config(&cfg, "sock", NULL);
    cfg.nsockets = 1;
    cfg.sockets = &sv[1];
    struct run r;
    start(&r, &cfg);
    run_to_clean_exit(&r);
    char buf[16] = {0};
    assert_int_equal(read(sv[0], buf, sizeof buf), 4);
    assert_string_equal(buf, "PING");
    assert_int_equal(read(sv[0], buf, sizeof buf), 0); /* the module shut down writing */
    finish(&r);
    close(sv[0]);
    close(sv[1]);
}

static void *write_later(void *arg)
{
    usleep(100 * 1000);
    if (write(*(int *)arg, "xyz", 3) != 3) abort();
    return NULL;
}

/* poll_oneoff on a pipe wakes when data arrives, before its clock. */
static void test_poll_fd_readiness(void **state)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct buffer out = {0};
    swasi_config cfg;
    embed_config(&cfg, "poll", NULL);
    cfg.stdio[0].host_fd = p[0];
    cfg.stdio[1] = (swasi_stdio){.host_fd = -1, .write = capture, .user = &out};
    struct run r;
    start(&r, &cfg);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, write_later, &p[1]), 0);
    int code = -1;
    assert_int_equal(swasi_ctx_run(r.ctx, r.inst, &code, NULL), SW_OK);
    pthread_join(t, NULL);
    assert_int_equal(code, 0);
    assert_string_equal(out.data, "event 1 type 1 nbytes 3\n");
    finish(&r);
    close(p[0]);
    close(p[1]);
}

/* ---- descriptors served by the embedder ---- */

/* A one-message mailbox behind a vfd; `ready` is an eventfd readable while
 * a message waits. */
struct mailbox {
    pthread_mutex_t lock;
    char msg[64];
    size_t len, off;
    bool full;
    int ready;
    char written[64];
    int writes, closes;
    atomic_int reads; /* calls of mailbox_read, answered or not */
};

static int mailbox_write(void *user, const uint8_t *buf, size_t len)
{
    struct mailbox *m = user;
    if (len >= sizeof m->written) return SWASI_EIO;
    memcpy(m->written, buf, len);
    m->written[len] = '\0';
    m->writes++;
    return 0;
}

static int mailbox_read(void *user, uint8_t *buf, size_t cap, size_t *nread)
{
    struct mailbox *m = user;
    atomic_fetch_add(&m->reads, 1);
    pthread_mutex_lock(&m->lock);
    if (!m->full) {
        pthread_mutex_unlock(&m->lock);
        return SWASI_EAGAIN;
    }
    size_t n = m->len - m->off < cap ? m->len - m->off : cap;
    memcpy(buf, m->msg + m->off, n);
    m->off += n;
    *nread = n;
    if (m->off == m->len) {
        uint64_t v;
        m->full = false;
        if (read(m->ready, &v, sizeof v) != sizeof v) abort();
    }
    pthread_mutex_unlock(&m->lock);
    return 0;
}

static void mailbox_close(void *user)
{
    ((struct mailbox *)user)->closes++;
}

static void mailbox_put(struct mailbox *m, const char *text)
{
    pthread_mutex_lock(&m->lock);
    snprintf(m->msg, sizeof m->msg, "%s", text);
    m->len = strlen(text);
    m->off = 0;
    m->full = true;
    uint64_t one = 1;
    if (write(m->ready, &one, sizeof one) != sizeof one) abort();
    pthread_mutex_unlock(&m->lock);
}

static void mailbox_init(struct mailbox *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->lock, NULL);
    m->ready = eventfd(0, EFD_NONBLOCK);
    assert_true(m->ready >= 0);
}

static struct mailbox box3, box4;

static void wait_until(atomic_int *counter, int at_least)
{
    while (atomic_load(counter) < at_least)
        usleep(1000);
}

/* Delivers to fd 4 once the module has made its non-blocking read of fd 3
 * (so it is on its way to poll), then to fd 3 once it has read fd 4 (so it
 * is on its way to the blocking read). The module can only get past each
 * wait once the message is there. */
static void *deliver_later(void *arg)
{
    (void)arg;
    wait_until(&box3.reads, 1);
    usleep(20 * 1000);
    mailbox_put(&box4, "hello vfd");
    wait_until(&box4.reads, 1);
    usleep(20 * 1000);
    mailbox_put(&box3, "late");
    return NULL;
}

/* swasi_ctx_add_vfd: one fd_write is one call with the iovecs joined; a
 * read-only descriptor refuses writes; non-blocking reads say EAGAIN;
 * poll_oneoff and blocking reads wait for the embedder's ready fd; a
 * message is scattered over several iovecs; close callbacks run once, on
 * fd_close or when the context is freed. */
static void test_vfd(void **state)
{
    struct buffer out = {0};
    swasi_config cfg;
    embed_config(&cfg, "vfd", &out);
    struct run r;
    start(&r, &cfg);
    mailbox_init(&box3);
    mailbox_init(&box4);
    static const swasi_vfd_ops rw = {mailbox_write, mailbox_read, mailbox_close};
    static const swasi_vfd_ops ro = {NULL, mailbox_read, mailbox_close};
    static const swasi_vfd_ops none = {NULL, NULL, NULL};
    uint32_t fd3, fd4, bad;
    assert_int_equal(swasi_ctx_add_vfd(r.ctx, &rw, &box3, box3.ready, &fd3), SW_OK);
    assert_int_equal(swasi_ctx_add_vfd(r.ctx, &ro, &box4, box4.ready, &fd4), SW_OK);
    assert_int_equal(swasi_ctx_add_vfd(r.ctx, &none, &box4, -1, &bad), SW_ERR_ARG);
    assert_int_equal(fd3, 3);
    assert_int_equal(fd4, 4);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, deliver_later, NULL), 0);
    run_to_clean_exit(&r);
    pthread_join(t, NULL);
    assert_string_equal(out.data, "write on read-only: 76\n"
                                  "filetype 5\n"
                                  "non-blocking read: 6\n"
                                  "poll: fd 4\n"
                                  "fd 4: 9 bytes [he|llo vfd]\n"
                                  "fd 3: [late]\n");
    assert_string_equal(box3.written, "abcd");
    assert_int_equal(box3.writes, 1);
    assert_int_equal(box3.closes, 1); /* fd_close */
    assert_int_equal(box4.closes, 0);
    finish(&r);
    assert_int_equal(box4.closes, 1); /* swasi_ctx_free */
    assert_int_equal(box3.closes, 1);
    close(box3.ready);
    close(box4.ready);
}

/* Callback stdin with a ready_fd: poll_oneoff waits for it instead of
 * reporting stdin ready at once. */
static atomic_bool stdin_signalled;

static void *signal_stdin_later(void *arg)
{
    usleep(50 * 1000);
    atomic_store(&stdin_signalled, true);
    uint64_t one = 1;
    if (write(*(int *)arg, &one, sizeof one) != sizeof one) abort();
    return NULL;
}

static int capture_after_signal(void *user, const uint8_t *buf, size_t len)
{
    if (!atomic_load(&stdin_signalled)) return SWASI_EIO; /* poll came back too early */
    return capture(user, buf, len);
}

static void test_stdin_callback_ready_fd(void **state)
{
    struct buffer out = {0};
    struct feed in = {.text = "abc"};
    int ready = eventfd(0, 0);
    assert_true(ready >= 0);
    swasi_config cfg;
    embed_config(&cfg, "poll", NULL);
    cfg.stdio[0] = (swasi_stdio){.host_fd = -1, .read = feed_stdin, .user = &in, .ready_fd = ready};
    cfg.stdio[1] = (swasi_stdio){.host_fd = -1, .write = capture_after_signal, .user = &out};
    struct run r;
    start(&r, &cfg);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, signal_stdin_later, &ready), 0);
    run_to_clean_exit(&r);
    pthread_join(t, NULL);
    assert_string_equal(out.data, "event 1 type 1 nbytes 0\n");
    finish(&r);
    close(ready);
}

static void *connect_later(void *arg)
{
    const struct sockaddr_un *addr = arg;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    usleep(50 * 1000);
    if (s < 0 || connect(s, (const struct sockaddr *)addr, sizeof *addr) != 0 ||
        write(s, "ping", 4) != 4)
        abort();
    char *reply = calloc(1, 16);
    if (read(s, reply, 15) < 0) abort();
    close(s);
    return reply;
}

/* A listening socket handed over: the module accepts and serves a client. */
static void test_sock_accept(void **state)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path + 1, sizeof addr.sun_path - 1, "stratus-wasi-test-%d", getpid());
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(l >= 0);
    assert_int_equal(bind(l, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(l, 1), 0);
    struct buffer out = {0};
    swasi_config cfg;
    embed_config(&cfg, "accept", NULL);
    cfg.nsockets = 1;
    cfg.sockets = &l;
    cfg.stdio[1] = (swasi_stdio){.host_fd = -1, .write = capture, .user = &out};
    struct run r;
    start(&r, &cfg);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, connect_later, &addr), 0);
    int code = -1;
    assert_int_equal(swasi_ctx_run(r.ctx, r.inst, &code, NULL), SW_OK);
    void *reply;
    pthread_join(t, &reply);
    assert_int_equal(code, 0);
    assert_string_equal(out.data, "accepted fd 4, got ping\n");
    assert_string_equal(reply, "pong");
    free(reply);
    finish(&r);
    close(l);
}

static void test_bad_preopen(void **state)
{
    swasi_preopen pre = {"/nonexistent/stratus-dir", "/data"};
    swasi_config cfg;
    swasi_config_init(&cfg);
    cfg.npreopens = 1;
    cfg.preopens = &pre;
    swasi_ctx *ctx = NULL;
    sw_error err;
    assert_int_equal(swasi_ctx_new(&cfg, &ctx, &err), SW_ERR_ARG);
    assert_null(ctx);
    assert_non_null(strstr(err.message, "/nonexistent/stratus-dir"));
}

int main(void)
{
    FILE *f = fopen(EMBED_WASM, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", EMBED_WASM);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    wasm_len = (size_t)ftell(f);
    rewind(f);
    wasm = malloc(wasm_len);
    if (!wasm || fread(wasm, 1, wasm_len, f) != wasm_len) return 1;
    fclose(f);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stdio_callbacks),
        cmocka_unit_test(test_stdout_write_joined),
        cmocka_unit_test(test_stdin_callback),
        cmocka_unit_test(test_exit_code),
        cmocka_unit_test(test_interrupt_blocked_read),
        cmocka_unit_test(test_interrupt_sleep),
        cmocka_unit_test(test_socket_handed_over),
        cmocka_unit_test(test_bad_preopen),
        cmocka_unit_test(test_vfd),
        cmocka_unit_test(test_stdin_callback_ready_fd),
        cmocka_unit_test(test_poll_fd_readiness),
        cmocka_unit_test(test_sock_accept),
        cmocka_unit_test(test_interrupt_blocking_callback),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    free(wasm);
    return failed;
}
