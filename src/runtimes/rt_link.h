/* The runtime process's side of the manager socket: whole messages written
 * under one lock, so module threads and the main thread can all send without
 * interleaving their frames (PROTOCOL.md §6: the seed's 4-byte header, or
 * the legacy 6-byte one under the original manager). */
#ifndef STRATUS_RT_LINK_H
#define STRATUS_RT_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "stratus/frame.h"

/* Log levels of runtime and module log frames (Python numbering). */
enum rt_log_level {
    RT_LOG_DEBUG = 10,
    RT_LOG_INFO = 20,
    RT_LOG_WARNING = 30,
    RT_LOG_ERROR = 40,
};

/* Use connected stream socket `fd`, framed with `header`, for every later
 * send. The link does not own the descriptor. */
void rt_link_init(int fd, enum frame_header_kind header);

/* Send one message (fragmented as needed). Blocks until the whole message is
 * in the socket. Returns 0, or -1 when the connection is gone. Any thread. */
int rt_link_send(uint8_t h1, uint8_t h2, const void *payload, size_t len);

/* A runtime log frame (module < 0) or a module log frame, printf-style. */
int rt_link_log(int module, enum rt_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
