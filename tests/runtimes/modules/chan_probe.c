/* A module that checks what its channels allow, for itest_runtime: declared
 * channels "ro" (read), "wo" (write) and "rw" (read-write). It prints one
 * line per check, then "ready", then waits for messages the test publishes. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "stratus/channel.h"

static const char *err_name(int e)
{
    switch (e) {
    case 0: return "ok";
    case EACCES: return "EACCES";
    case EAGAIN: return "EAGAIN";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case ENOTCAPABLE: return "ENOTCAPABLE";
    default: return "other";
    }
}

static int try_open(const char *label, const char *path, int flags)
{
    errno = 0;
    int fd = stratus_channel_open(path, flags);
    printf("%s: %s\n", label, fd >= 0 ? "ok" : err_name(errno));
    return fd;
}

/* Reads one message from fd and prints it under `label`. */
static void show_message(const char *label, int fd)
{
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n < 0) {
        printf("%s: read %s\n", label, err_name(errno));
        return;
    }
    buf[n] = '\0';
    printf("%s: [%s]\n", label, buf);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    try_open("ro as writer", "ro", STRATUS_CHANNEL_WRITE);
    try_open("undeclared", "elsewhere", STRATUS_CHANNEL_READ);
    try_open("wildcard writer", "rw/+", STRATUS_CHANNEL_WRITE);
    /* The control plane: refused here, never a descriptor that goes nowhere. */
    try_open("$SL/proc/reg writer", "$SL/proc/reg", STRATUS_CHANNEL_WRITE);
    try_open("$SL/proc/control reader", "$SL/proc/control", STRATUS_CHANNEL_READ);
    try_open("$SL/proc/keepalive writer", "$SL/proc/keepalive", STRATUS_CHANNEL_WRITE);
    int own = try_open("$SL/own reader", "$SL/own/#", STRATUS_CHANNEL_READ);
    if (own >= 0) close(own);
    int ro = try_open("ro as reader", "ro", STRATUS_CHANNEL_READ);
    int sub = try_open("wildcard reader", "rw/+", STRATUS_CHANNEL_READ);
    int wo = try_open("wo as writer", "wo", STRATUS_CHANNEL_WRITE);
    if (ro < 0 || sub < 0 || wo < 0) return 1;

    errno = 0;
    ssize_t w = write(ro, "x", 1);
    printf("publish on ro: %s\n", w == 1 ? "ok" : err_name(errno));
    w = write(wo, "probe", 5);
    printf("publish on wo: %s\n", w == 5 ? "ok" : err_name(errno));

    int flags = fcntl(ro, F_GETFL);
    fcntl(ro, F_SETFL, flags | O_NONBLOCK);
    char c;
    errno = 0;
    printf("non-blocking read: %s\n", read(ro, &c, 1) < 0 ? err_name(errno) : "data?");
    fcntl(ro, F_SETFL, flags);

    struct pollfd fds[2] = {{.fd = ro, .events = POLLIN}, {.fd = sub, .events = POLLIN}};
    printf("poll, nothing sent: %d\n", poll(fds, 2, 50));

    printf("ready\n");
    int n = poll(fds, 2, -1);
    printf("poll: %d, ro %s, rw/+ %s\n", n, fds[0].revents & POLLIN ? "in" : "-",
           fds[1].revents & POLLIN ? "in" : "-");
    show_message("rw/+ got", sub);
    show_message("ro got", ro);
    close(ro);
    close(sub);
    close(wo);
    return 0;
}
