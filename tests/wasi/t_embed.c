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
    if (!strcmp(mode, "exit")) exit(atoi(argv[2]));
    return 100;
}
