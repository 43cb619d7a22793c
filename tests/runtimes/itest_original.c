/* Integration test of stratus-runtime under the original Silverline
 * manager's convention, driven by a small fake "original manager" written
 * here from PROTOCOL.md §6 (legacy) and the original's description: it
 * listens on {dir}/{index %02x}.s, starts `sh -c "stratus-runtime INDEX"`
 * in a new session with the module directory as working directory, frames
 * with the 6-byte header ([u32 len LE][h1][h2][payload], no fragments), sends
 * a create of hello.wasm and reads what the runtime sends back: the stdio
 * channel's open, the greeting, the exit; then a stop. The frames are built
 * and parsed by hand, not with the protocol library, so the test holds the
 * runtime to the original's byte layout. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define INDEX 3
#define WAIT_MS 10000

static char DIR_[] = "/tmp/stratus-orig-XXXXXX";
static char MODDIR[PATH_MAX];

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int copy(const char *from, const char *to)
{
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    return system(cmd) == 0 ? 0 : -1;
}

static int group_setup(void **state)
{
    (void)state;
    if (!mkdtemp(DIR_)) return -1;
    snprintf(MODDIR, sizeof MODDIR, "%s/modules", DIR_);
    if (mkdir(MODDIR, 0700)) return -1;
    char from[PATH_MAX + 32], to[PATH_MAX + 32];
    snprintf(from, sizeof from, "%s/hello.wasm", RT_EXAMPLES);
    snprintf(to, sizeof to, "%s/hello.wasm", MODDIR);
    return copy(from, to);
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", DIR_);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        assert_true(w > 0);
        b += w;
        n -= (size_t)w;
    }
}

/* [u32 len little-endian][h1][h2][payload] */
static void send_legacy(int fd, uint8_t h1, uint8_t h2, const char *payload)
{
    size_t len = payload ? strlen(payload) : 0;
    uint8_t head[6] = {
        (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24), h1, h2};
    write_all(fd, head, sizeof head);
    if (len) write_all(fd, payload, len);
}

static int read_full(int fd, void *p, size_t n, long long deadline)
{
    uint8_t *b = p;
    while (n) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        long long left = deadline - now_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) return -1;
        ssize_t r = read(fd, b, n);
        if (r <= 0) return -1;
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

struct frame {
    uint8_t h1, h2;
    char *payload; /* NUL-terminated copy */
    size_t len;
};

static int recv_legacy(int fd, struct frame *f)
{
    uint8_t head[6];
    long long deadline = now_ms() + WAIT_MS;
    if (read_full(fd, head, sizeof head, deadline)) return -1;
    f->len = (size_t)head[0] | (size_t)head[1] << 8 | (size_t)head[2] << 16 | (size_t)head[3] << 24;
    f->h1 = head[4];
    f->h2 = head[5];
    if (f->len > (1u << 24)) return -1;
    f->payload = malloc(f->len + 1);
    if (!f->payload || read_full(fd, f->payload, f->len, deadline)) return -1;
    f->payload[f->len] = '\0';
    return 0;
}

static void test_runtime_under_original_manager(void **state)
{
    (void)state;
    char path[sizeof((struct sockaddr_un *)0)->sun_path];
    snprintf(path, sizeof path, "%s/%02x.s", DIR_, INDEX);
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    assert_int_equal(bind(lfd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(lfd, 1), 0);

    /* As the original manager starts a runtime. */
    char command[2 * PATH_MAX];
    snprintf(command, sizeof command, "%s --socket-dir %s %d", RT_PROGRAM, DIR_, INDEX);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setsid();
        if (chdir(MODDIR)) _exit(126);
        execl("/bin/sh", "sh", "-c", command, (char *)NULL);
        _exit(127);
    }
    struct pollfd pfd = {.fd = lfd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
    int fd = accept(lfd, NULL, NULL);
    assert_true(fd >= 0);

    const char *uuid = "6f1c2a9e-3b4d-4c5e-8f70-112233445566";
    char create[512];
    snprintf(create, sizeof create,
             "{\"type\": \"module\", \"uuid\": \"%s\", \"name\": \"hello\", \"file\": "
             "\"hello.wasm\", \"args\": {\"argv\": [\"original\"]}, \"channels\": [], "
             "\"index\": 0}",
             uuid);
    send_legacy(fd, 0x80, 0x00, create);

    int opened = 0, exited = 0;
    char output[4096] = "";
    while (!exited) {
        struct frame f;
        if (recv_legacy(fd, &f)) fail_msg("the runtime sent no exit (output so far: %s)", output);
        if (f.h1 == 0x80 && f.h2 == 0x03) {
            /* open channel: u8 channel, u8 flags, topic */
            assert_true(f.len >= 2);
            if (f.payload[0] == 0 && !strcmp(f.payload + 2, "$SL/proc/stdio")) opened = 1;
        } else if (f.h1 == 0x00 && f.h2 == 0x00) {
            strncat(output, f.payload, sizeof output - strlen(output) - 1);
        } else if (f.h1 == 0x80 && f.h2 == 0x02) {
            json_t *exit = json_loads(f.payload, 0, NULL);
            assert_non_null(exit);
            assert_string_equal(json_string_value(json_object_get(exit, "status")), "exited");
            assert_int_equal(json_integer_value(json_object_get(exit, "exit_code")), 0);
            json_decref(exit);
            exited = 1;
        } else if (f.h1 == 0x80 && (f.h2 == 0x01 || f.h2 == 0x05 || f.h2 == 0x00)) {
            /* runtime log, module log, keepalive: fine */
        } else {
            fail_msg("unexpected frame h1=0x%02x h2=0x%02x", f.h1, f.h2);
        }
        free(f.payload);
    }
    assert_true(opened);
    assert_string_equal(output, "Hello from Stratus!\narg 1: original\n");

    /* Stop: the runtime ends by itself. */
    send_legacy(fd, 0x80, 0x02, NULL);
    int status = 0;
    long long end = now_ms() + WAIT_MS;
    pid_t r = 0;
    while ((r = waitpid(pid, &status, WNOHANG)) == 0 && now_ms() < end)
        usleep(10000);
    if (r != pid) {
        kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("the runtime did not stop");
    }
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(fd);
    close(lfd);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_under_original_manager),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
