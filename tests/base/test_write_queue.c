/* Unit tests of the bounded write queue: appends past the bound are refused
 * whole (and counted), a peer that does not read leaves the queue holding at
 * most the bound, and flushing delivers the bytes in order. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "write_queue.h"

static void test_bound_refuses_whole_messages(void **state)
{
    (void)state;
    struct write_queue q;
    wq_init(&q, 100);
    uint8_t data[40];
    memset(data, 7, sizeof data);
    assert_int_equal(wq_push(&q, data, 40), 0);
    assert_int_equal(wq_push(&q, data, 40), 0);
    assert_int_equal(wq_push(&q, data, 40), -1); /* 120 > 100 */
    assert_int_equal(wq_pending(&q), 80);
    assert_int_equal(q.dropped, 1);
    assert_int_equal(wq_push(&q, data, 20), 0); /* exactly at the bound */
    assert_int_equal(wq_pending(&q), 100);
    assert_int_equal(wq_push(&q, data, 1), -1);
    assert_null(wq_reserve(&q, 101));
    wq_free(&q);
}

static void set_nonblocking(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void test_stalled_peer_bounds_memory(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    set_nonblocking(sv[0]);
    struct write_queue q;
    const size_t limit = 1 << 20;
    wq_init(&q, limit);
    uint8_t msg[1000];
    memset(msg, 1, sizeof msg);
    size_t accepted = 0, refused = 0;
    /* The peer never reads: the socket buffer fills, then the queue. */
    for (int i = 0; i < 20000; i++) {
        if (wq_push(&q, msg, sizeof msg) == 0)
            accepted++;
        else
            refused++;
        assert_int_equal(wq_flush(&q, sv[0]), 0);
        assert_true(wq_pending(&q) <= limit);
    }
    assert_true(refused > 0);
    assert_int_equal(q.dropped, refused);
    assert_true(accepted > 0);
    wq_free(&q);
    close(sv[0]);
    close(sv[1]);
}

static void test_flush_keeps_order(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    set_nonblocking(sv[0]);
    set_nonblocking(sv[1]);
    struct write_queue q;
    wq_init(&q, 0);
    size_t total = 0;
    uint8_t *got = malloc(1 << 21);
    size_t got_len = 0;
    assert_non_null(got);
    for (int round = 0; round < 200; round++) {
        uint8_t chunk[5000];
        for (size_t i = 0; i < sizeof chunk; i++)
            chunk[i] = (uint8_t)((total + i) % 251);
        assert_int_equal(wq_push(&q, chunk, sizeof chunk), 0);
        total += sizeof chunk;
        assert_int_equal(wq_flush(&q, sv[0]), 0);
        ssize_t n;
        while ((n = read(sv[1], got + got_len, (1 << 21) - got_len)) > 0)
            got_len += (size_t)n;
    }
    while (wq_pending(&q)) {
        assert_int_equal(wq_flush(&q, sv[0]), 0);
        ssize_t n;
        while ((n = read(sv[1], got + got_len, (1 << 21) - got_len)) > 0)
            got_len += (size_t)n;
    }
    assert_int_equal(got_len, total);
    for (size_t i = 0; i < got_len; i++)
        if (got[i] != (uint8_t)(i % 251)) fail_msg("byte %zu out of order", i);
    free(got);
    wq_free(&q);
    close(sv[0]);
    close(sv[1]);
}

static void test_write_error_reported(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[1]);
    struct write_queue q;
    wq_init(&q, 0);
    assert_int_equal(wq_push(&q, "abc", 3), 0);
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(wq_flush(&q, sv[0]), -1);
    wq_free(&q);
    close(sv[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bound_refuses_whole_messages),
        cmocka_unit_test(test_stalled_peer_bounds_memory),
        cmocka_unit_test(test_flush_keeps_order),
        cmocka_unit_test(test_write_error_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
