/* Sizes with K, M or G suffixes (see size_parse.h). */
#include "size_parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

int size_parse(const char *text, uint64_t *out)
{
    if (!text || !isdigit((unsigned char)text[0])) return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno) return -1;
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift) end++;
    if (*end || v > (1ull << 40) >> shift) return -1;
    *out = (uint64_t)v << shift;
    return 0;
}
