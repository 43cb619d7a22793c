/* Hashing: CRC-32 (table driven, table built at start) and 64-bit FNV-1a over
 * a pseudo-random buffer, byte by byte, many times. */
#include "bench_io.h"

#define BUF_SIZE (1 << 20)
static unsigned char buf[BUF_SIZE];
static unsigned crc_table[256];

static void build_crc_table(void)
{
    for (unsigned n = 0; n < 256; n++) {
        unsigned c = n;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

static unsigned crc32(const unsigned char *p, unsigned len, unsigned crc)
{
    crc = ~crc;
    for (unsigned i = 0; i < len; i++)
        crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static unsigned long long fnv1a(const unsigned char *p, unsigned len, unsigned long long h)
{
    for (unsigned i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

void run(void)
{
    build_crc_table();
    unsigned long long seed = 88172645463325252ULL;
    for (unsigned i = 0; i < BUF_SIZE; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        buf[i] = (unsigned char)(seed >> 32);
    }
    unsigned crc = 0;
    unsigned long long fnv = 14695981039346656037ULL;
    for (int round = 0; round < 24; round++) {
        crc = crc32(buf, BUF_SIZE, crc);
        fnv = fnv1a(buf, BUF_SIZE, fnv);
        buf[round] ^= (unsigned char)crc;
    }
    print_u64(crc);
    print_u64(fnv);
}
