/* Templates for the fuzz targets (see fuzz_template.h). */
#include "fuzz_template.h"

#include <stdlib.h>
#include <string.h>

char *fuzz_fill_template(const char *tpl, const uint8_t *in, size_t n, size_t *len)
{
    char *out = malloc(strlen(tpl) + n + 1);
    if (!out) abort();
    size_t o = 0, i = 0;
    for (const char *t = tpl; *t; t++) {
        if (*t != '@') {
            out[o++] = *t;
            continue;
        }
        while (i < n && in[i] != 1)
            out[o++] = (char)in[i++];
        if (i < n) i++; /* the separator */
    }
    *len = o;
    return out;
}
