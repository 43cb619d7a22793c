/* Sealing and reading artifact files (artifact.h). Trailer, 56 bytes:
 * "STRATUS-AOT-v1\0\0" (16), SHA-256 of the bytes before it (32), their
 * length (8, little-endian). */
#include "artifact.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stratus/sha256.h"

#define TRAILER_LEN 56
static const char magic[16] = "STRATUS-AOT-v1";

/* Largest artifact read: far beyond any module's code. */
#define MAX_ARTIFACT (1u << 30)

static int read_all(int fd, uint8_t **out, size_t *len)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_ARTIFACT) return -1;
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) return -1;
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            free(buf);
            return -1;
        }
        got += (size_t)r;
    }
    *out = buf;
    *len = n;
    return 0;
}

int artifact_seal(const char *path, char *why, size_t cap)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, cap, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    uint8_t *code;
    size_t len;
    if (read_all(fd, &code, &len) != 0) {
        snprintf(why, cap, "cannot read %s", path);
        close(fd);
        return -1;
    }
    uint8_t trailer[TRAILER_LEN];
    memcpy(trailer, magic, sizeof magic);
    sha256(code, len, trailer + 16);
    for (int i = 0; i < 8; i++)
        trailer[48 + i] = (uint8_t)((uint64_t)len >> (8 * i));
    free(code);
    ssize_t w = pwrite(fd, trailer, sizeof trailer, (off_t)len);
    int rc = (w == (ssize_t)sizeof trailer && fsync(fd) == 0) ? 0 : -1;
    if (rc) snprintf(why, cap, "cannot write %s: %s", path, strerror(errno));
    if (close(fd) != 0 && rc == 0) {
        snprintf(why, cap, "cannot write %s", path);
        rc = -1;
    }
    return rc;
}

int artifact_read(const char *path, uint8_t **code, size_t *len, char *why, size_t cap)
{
    *code = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return 1;
        snprintf(why, cap, "cannot open: %s", strerror(errno));
        return -1;
    }
    uint8_t *buf;
    size_t n;
    int rc = read_all(fd, &buf, &n);
    close(fd);
    if (rc != 0) {
        snprintf(why, cap, "cannot read it");
        return -1;
    }
    if (n < TRAILER_LEN || memcmp(buf + n - TRAILER_LEN, magic, sizeof magic)) {
        free(buf);
        snprintf(why, cap, "no seal: not a whole artifact");
        return -1;
    }
    const uint8_t *t = buf + n - TRAILER_LEN;
    uint64_t body = 0;
    for (int i = 0; i < 8; i++)
        body |= (uint64_t)t[48 + i] << (8 * i);
    uint8_t digest[SHA256_DIGEST_LEN];
    if (body != n - TRAILER_LEN) {
        free(buf);
        snprintf(why, cap, "its length does not match its seal");
        return -1;
    }
    sha256(buf, (size_t)body, digest);
    if (memcmp(digest, t + 16, sizeof digest)) {
        free(buf);
        snprintf(why, cap, "its contents do not match their SHA-256");
        return -1;
    }
    *code = buf;
    *len = (size_t)body;
    return 0;
}
