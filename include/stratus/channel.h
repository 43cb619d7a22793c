/* Channels for Stratus modules: the header a module's C source includes to
 * talk over pub/sub channels when it runs on a `linux` runtime. Compile the
 * module with `clang --target=wasm32-wasi -I<stratus>/include`.
 *
 * A channel is a WASI file descriptor:
 *   - write(fd, buf, n) publishes one message of n bytes (writev: the
 *     buffers joined into one message);
 *   - read(fd, buf, cap) takes the next message; a message longer than cap
 *     comes in pieces on the following reads, and a read never joins two
 *     messages; an empty message reads as 0 bytes. It blocks until a message
 *     is there, unless the descriptor is non-blocking
 *     (fcntl(fd, F_SETFL, O_NONBLOCK)), then it fails with EAGAIN;
 *   - poll() waits on several channels (POLLIN) and a timeout;
 *   - close(fd) closes the channel.
 *
 * What a module may open is set by the create request's `channels` list,
 * entries {path, mode, topic}: opening `path` (or `path/more`) reaches
 * `topic` (or `topic/more`), with at most the entry's mode ("r", "w", "rw").
 * Paths beginning with "$SL/" are the module's own topics
 * (`{realm}/{rest}/{module uuid}`). Anything else fails with EACCES unless
 * the runtime allows free topics (STRATUS_ALLOW_FREE_TOPICS=1 in the
 * manager's environment); then the path is the MQTT topic itself. A read
 * channel may use MQTT wildcards (`+`, `#`); a write channel may not.
 *
 * The host function behind it, for other languages: import module
 * "stratus", name "channel_open", type (i32 path, i32 path_len, i32 flags,
 * i32 fd_out) -> i32. flags: STRATUS_CHANNEL_* below; path_len bytes at
 * path (no NUL needed); on success it stores the descriptor (u32) at fd_out
 * and returns 0, else a WASI errno: EACCES (2) not permitted, EINVAL (28)
 * bad flags or path, EMFILE (33) more than 255 open channels, EFAULT (21),
 * ENOMEM (48), EIO (29). */
#ifndef STRATUS_CHANNEL_H
#define STRATUS_CHANNEL_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define STRATUS_CHANNEL_READ 0x1
#define STRATUS_CHANNEL_WRITE 0x2
#define STRATUS_CHANNEL_QOS1 0x4 /* publish and subscribe at MQTT QoS 1 */
#define STRATUS_CHANNEL_QOS2 0x8 /* ... at QoS 2 */

#ifdef __wasm__
__attribute__((import_module("stratus"), import_name("channel_open"))) int32_t
stratus_channel_open_raw(const char *path, uint32_t path_len, int32_t flags, uint32_t *fd_out);

/* Opens channel `path` with STRATUS_CHANNEL_* flags. Returns the descriptor,
 * or -1 with errno set. */
static inline int stratus_channel_open(const char *path, int flags)
{
    uint32_t fd = 0;
    int32_t err = stratus_channel_open_raw(path, (uint32_t)strlen(path), flags, &fd);
    if (err) {
        errno = err;
        return -1;
    }
    return (int)fd;
}
#endif

#endif
