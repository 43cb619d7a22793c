/* Frames of the local socket between a manager and a runtime process
 * (PROTOCOL.md §6): encoding, and an incremental reader that turns a byte
 * stream, split anywhere, into whole messages.
 *
 * Two header formats exist: the seed's 4-byte header (u16 length, h1, h2) with
 * 0xFFFF-length fragments for long messages, and the legacy 6-byte header
 * (u32 length, h1, h2) without fragments. */
#ifndef STRATUS_FRAME_H
#define STRATUS_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_CONTROL 0x80u           /* h1 bit 7: control message */
#define FRAME_INDEX_MASK 0x7Fu        /* h1 bits 0-6: module index */
#define FRAME_FRAGMENT_LEN 0xFFFFu    /* 4-byte header: "message continues" */
#define FRAME_DEFAULT_MAX (16u << 20) /* default cap on one message: 16 MiB */

/* h2 control codes, manager -> runtime */
enum frame_to_runtime {
    FRAME_CREATE_MODULE = 0x00,
    FRAME_DELETE_MODULE = 0x01,
    FRAME_STOP_RUNTIME = 0x02,
};

/* h2 control codes, runtime -> manager */
enum frame_from_runtime {
    FRAME_KEEPALIVE = 0x00,
    FRAME_RUNTIME_LOG = 0x01,
    FRAME_MODULE_EXITED = 0x02,
    FRAME_OPEN_CHANNEL = 0x03,
    FRAME_CLOSE_CHANNEL = 0x04,
    FRAME_MODULE_LOG = 0x05,
    FRAME_PROFILE = 0x06,
    /* ext: a profile record with its type name (stratus/profile_record.h) */
    FRAME_PROFILE_TYPED = 0x07,
};

/* Channel flags of an open-channel message. */
#define CHANNEL_READ 0x01u
#define CHANNEL_WRITE 0x02u
#define CHANNEL_QOS_SHIFT 2
#define CHANNEL_QOS_MASK 0x0Cu

enum frame_header_kind {
    FRAME_HEADER_SEED = 0,   /* 4 bytes, fragments for messages >= 65535 bytes */
    FRAME_HEADER_LEGACY = 1, /* 6 bytes, u32 length, no fragments */
};

/* Error codes of this module (negative); 0 is success. */
enum frame_error {
    FRAME_OK = 0,
    FRAME_ERR_TOO_LARGE = -1, /* message exceeds the reader's cap */
    FRAME_ERR_NOMEM = -2,
    FRAME_ERR_TRUNCATED = -3, /* stream ended inside a frame */
    FRAME_ERR_MISMATCH = -4,  /* fragment continued with different h1/h2 */
};

const char *frame_strerror(int err);

/* One whole message. */
struct frame_message {
    uint8_t h1, h2;
    const uint8_t *payload; /* owned by whoever produced the message */
    size_t len;
};

/* Size of the encoding of a message of `len` payload bytes with `kind` headers. */
size_t frame_encoded_size(enum frame_header_kind kind, size_t len);

/* Encode one message into `out` (capacity `cap`, at least frame_encoded_size()).
 * Returns FRAME_OK and sets *written, or FRAME_ERR_TOO_LARGE if cap is short or
 * the legacy length does not fit 32 bits. */
int frame_encode(enum frame_header_kind kind, uint8_t h1, uint8_t h2, const uint8_t *payload,
                 size_t len, uint8_t *out, size_t cap, size_t *written);

/* Incremental reader. Feed bytes as they arrive; take messages out with
 * frame_reader_next(). The reader owns its buffers. */
struct frame_reader;

/* Create a reader; max_message 0 means FRAME_DEFAULT_MAX. Returns NULL on OOM. */
struct frame_reader *frame_reader_new(enum frame_header_kind kind, size_t max_message);
void frame_reader_free(struct frame_reader *r);

/* Append bytes. Returns FRAME_OK or FRAME_ERR_NOMEM. */
int frame_reader_feed(struct frame_reader *r, const uint8_t *data, size_t len);

/* Take the next whole message, if any. Returns 1 with *msg filled (payload
 * valid until the next call on this reader), 0 when more bytes are needed, or
 * a negative frame_error; after an error the stream is unusable and every
 * further call returns the same error. A message over the cap fails as soon
 * as the header that takes it past the cap arrives, before its payload. */
int frame_reader_next(struct frame_reader *r, struct frame_message *msg);

/* Whether bytes of an unfinished message are buffered (used at EOF to report
 * FRAME_ERR_TRUNCATED). */
int frame_reader_pending(const struct frame_reader *r);

#endif
