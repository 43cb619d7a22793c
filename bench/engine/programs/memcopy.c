/* Memory copies: memcpy and memmove of blocks of many sizes between and
 * within buffers (what serialisers and buffer managers do), with a checksum
 * over the result. Built with libc, so the copies are the C library's. */
#include <string.h>

#include "bench_io.h"

#define SIZE (1 << 20)
static unsigned char src[SIZE], dst[SIZE];

void run(void)
{
    unsigned seed = 12345;
    for (unsigned i = 0; i < SIZE; i++) {
        seed = seed * 1103515245u + 12345u;
        src[i] = (unsigned char)(seed >> 16);
    }
    unsigned long long sum = 0;
    for (int round = 0; round < 40; round++) {
        for (unsigned len = 1, off = 0; off + 4096 < SIZE;
             off += len + 17, len = len * 3 % 4093 + 1)
            memcpy(dst + off, src + (off * 7 + round) % (SIZE - 4096), len);
        memmove(dst + 1, dst, SIZE - 64);
        memmove(dst, dst + 3, SIZE - 64);
        for (unsigned i = 0; i < SIZE; i += 61)
            sum += dst[i] * (i | 1);
    }
    print_u64(sum);
}
