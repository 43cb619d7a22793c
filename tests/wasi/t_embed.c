/* Test program for the embedding API tests (test_embed.c): one behaviour per
 * first argument, each exercising one thing the embedder controls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "hello")) {
        fputs("out\n", stdout);
        fputs("err\n", stderr);
        return 0;
    }
    if (!strcmp(mode, "iovecs")) {
        /* One fd_write with three iovecs, one of them empty. */
        __wasi_ciovec_t iov[3] = {{(const uint8_t *)"two ", 4},
                                  {(const uint8_t *)"", 0},
                                  {(const uint8_t *)"parts\n", 6}};
        __wasi_size_t written = 0;
        return __wasi_fd_write(1, iov, 3, &written) || written != 10;
    }
    if (!strcmp(mode, "echo")) {
        char buf[256];
        ssize_t n;
        while ((n = read(0, buf, sizeof buf)) > 0)
            fwrite(buf, 1, (size_t)n, stdout);
        return n < 0 ? 1 : 0;
    }
    if (!strcmp(mode, "sleep")) {
        struct timespec ts = {60, 0};
        nanosleep(&ts, NULL);
        return 0;
    }
    if (!strcmp(mode, "poll")) {
        /* Wait for stdin to become readable, with a 10 s clock as a bound. */
        __wasi_subscription_t subs[2];
        memset(subs, 0, sizeof subs);
        subs[0].userdata = 1;
        subs[0].u.tag = __WASI_EVENTTYPE_FD_READ;
        subs[0].u.u.fd_read.file_descriptor = 0;
        subs[1].userdata = 2;
        subs[1].u.tag = __WASI_EVENTTYPE_CLOCK;
        subs[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
        subs[1].u.u.clock.timeout = 10000000000u;
        __wasi_event_t ev[2];
        __wasi_size_t n = 0;
        if (__wasi_poll_oneoff(subs, ev, 2, &n) || n != 1) return 2;
        printf("event %llu type %u nbytes %llu\n", (unsigned long long)ev[0].userdata,
               (unsigned)ev[0].type, (unsigned long long)ev[0].fd_readwrite.nbytes);
        return 0;
    }
    if (!strcmp(mode, "accept")) {
        /* fd 3 is a listening socket: serve one connection. */
        __wasi_fd_t conn;
        if (__wasi_sock_accept(3, 0, &conn)) return 5;
        char buf[64];
        __wasi_iovec_t in = {(uint8_t *)buf, sizeof buf};
        __wasi_size_t n = 0;
        __wasi_roflags_t flags = 0;
        if (__wasi_sock_recv(conn, &in, 1, 0, &n, &flags)) return 6;
        printf("accepted fd %u, got %.*s\n", (unsigned)conn, (int)n, buf);
        __wasi_ciovec_t out = {(const uint8_t *)"pong", 4};
        __wasi_size_t sent = 0;
        if (__wasi_sock_send(conn, &out, 1, 0, &sent) || sent != 4) return 7;
        return __wasi_fd_close(conn) ? 8 : 0;
    }
    if (!strcmp(mode, "sock")) {
        /* fd 3 is the socket handed over (no preopens in this test). */
        char buf[64];
        __wasi_iovec_t in = {(uint8_t *)buf, sizeof buf};
        __wasi_size_t n = 0;
        __wasi_roflags_t flags = 0;
        if (__wasi_sock_recv(3, &in, 1, 0, &n, &flags)) return 2;
        for (__wasi_size_t i = 0; i < n; i++)
            if (buf[i] >= 'a' && buf[i] <= 'z') buf[i] = (char)(buf[i] - 'a' + 'A');
        __wasi_ciovec_t out = {(const uint8_t *)buf, n};
        __wasi_size_t sent = 0;
        if (__wasi_sock_send(3, &out, 1, 0, &sent) || sent != n) return 3;
        if (__wasi_sock_shutdown(3, __WASI_SDFLAGS_WR)) return 4;
        return 0;
    }
    if (!strcmp(mode, "vfd")) {
        /* fd 3: a read-write descriptor served by the embedder, fd 4 a
         * read-only one (test_embed.c, test_vfd). */
        __wasi_ciovec_t parts[2] = {{(const uint8_t *)"ab", 2}, {(const uint8_t *)"cd", 2}};
        __wasi_size_t n = 0;
        if (__wasi_fd_write(3, parts, 2, &n) || n != 4) return 2;
        printf("write on read-only: %d\n", __wasi_fd_write(4, parts, 1, &n));
        __wasi_fdstat_t st;
        if (__wasi_fd_fdstat_get(3, &st)) return 3;
        printf("filetype %d\n", st.fs_filetype);
        if (__wasi_fd_fdstat_set_flags(3, __WASI_FDFLAGS_NONBLOCK)) return 4;
        char buf[64];
        __wasi_iovec_t in = {(uint8_t *)buf, sizeof buf};
        printf("non-blocking read: %d\n", __wasi_fd_read(3, &in, 1, &n));
        if (__wasi_fd_fdstat_set_flags(3, 0)) return 5;
        __wasi_subscription_t subs[3];
        memset(subs, 0, sizeof subs);
        for (int i = 0; i < 2; i++) {
            subs[i].userdata = (uint64_t)(3 + i);
            subs[i].u.tag = __WASI_EVENTTYPE_FD_READ;
            subs[i].u.u.fd_read.file_descriptor = (__wasi_fd_t)(3 + i);
        }
        subs[2].userdata = 99;
        subs[2].u.tag = __WASI_EVENTTYPE_CLOCK;
        subs[2].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
        subs[2].u.u.clock.timeout = 10000000000u;
        __wasi_event_t ev[3];
        if (__wasi_poll_oneoff(subs, ev, 3, &n) || n != 1) return 6;
        printf("poll: fd %llu\n", (unsigned long long)ev[0].userdata);
        /* Two iovecs: the message is scattered over them. */
        char a[3] = {0}, b[16] = {0};
        __wasi_iovec_t two[2] = {{(uint8_t *)a, 2}, {(uint8_t *)b, sizeof b - 1}};
        if (__wasi_fd_read(4, two, 2, &n)) return 7;
        printf("fd 4: %u bytes [%s|%s]\n", (unsigned)n, a, b);
        /* Blocks until the embedder delivers. */
        if (__wasi_fd_read(3, &in, 1, &n)) return 8;
        printf("fd 3: [%.*s]\n", (int)n, buf);
        return __wasi_fd_close(3) ? 9 : 0;
    }
    if (!strcmp(mode, "exit")) exit(atoi(argv[2]));
    return 100;
}
