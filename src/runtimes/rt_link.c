/* Socket writes of the runtime process (see rt_link.h). A message is encoded
 * into one buffer and written with a single lock held from the first byte to
 * the last, because the manager's frame reader cannot untangle two messages
 * whose fragments interleave. */
#define _GNU_SOURCE
#include "rt_link.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "stratus/frame.h"

static pthread_mutex_t link_lock = PTHREAD_MUTEX_INITIALIZER;
static int link_fd = -1;
static enum frame_header_kind link_header = FRAME_HEADER_SEED;

void rt_link_init(int fd, enum frame_header_kind header)
{
    link_fd = fd;
    link_header = header;
}

/* Writes all of buf; MSG_NOSIGNAL so a vanished manager is an error, not a
 * SIGPIPE. */
static int write_all(const uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t n = send(link_fd, buf, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int rt_link_send(uint8_t h1, uint8_t h2, const void *payload, size_t len)
{
    size_t size = frame_encoded_size(link_header, len);
    uint8_t small[1024];
    uint8_t *buf = size <= sizeof small ? small : malloc(size);
    if (!buf) return -1;
    size_t written = 0;
    int rc = frame_encode(link_header, h1, h2, payload, len, buf, size, &written);
    if (rc == FRAME_OK) {
        pthread_mutex_lock(&link_lock);
        rc = link_fd >= 0 ? write_all(buf, written) : -1;
        pthread_mutex_unlock(&link_lock);
    }
    if (buf != small) free(buf);
    return rc == FRAME_OK ? 0 : -1;
}

int rt_link_log(int module, enum rt_log_level level, const char *fmt, ...)
{
    char text[512];
    text[0] = (char)(0x80 | (level & 0x7f));
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text + 1, sizeof text - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return -1;
    size_t len = 1 + ((size_t)n < sizeof text - 1 ? (size_t)n : sizeof text - 2);
    if (module < 0) return rt_link_send(FRAME_CONTROL, FRAME_RUNTIME_LOG, text, len);
    return rt_link_send(FRAME_CONTROL | ((uint8_t)module & FRAME_INDEX_MASK), FRAME_MODULE_LOG,
                        text, len);
}
