/* SHA-256 (FIPS 180-4): the one implementation of the project, for content
 * addresses (the compiled tier's cache keys, the module store) and integrity
 * checks. Incremental or one-shot; no allocation, no I/O.
 *
 * Usage: sha256_init(&s); sha256_update(&s, p, n) any number of times;
 * sha256_final(&s, digest). sha256_hex writes the 64 lower-case hex digits. */
#ifndef STRATUS_SHA256_H
#define STRATUS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_HEX_LEN 65 /* 64 hex digits and the terminating NUL */

typedef struct sha256_state {
    uint32_t h[8];
    uint64_t length; /* bytes hashed so far */
    uint8_t block[64];
    size_t used; /* bytes waiting in block */
} sha256_state;

void sha256_init(sha256_state *s);
/* Cost: O(len). */
void sha256_update(sha256_state *s, const void *data, size_t len);
/* Writes the digest; the state must be initialised again before reuse. */
void sha256_final(sha256_state *s, uint8_t digest[SHA256_DIGEST_LEN]);

/* One call: the digest of len bytes. */
void sha256(const void *data, size_t len, uint8_t digest[SHA256_DIGEST_LEN]);

/* The digest as 64 lower-case hex digits and a NUL. */
void sha256_hex(const uint8_t digest[SHA256_DIGEST_LEN], char out[SHA256_HEX_LEN]);

#endif
