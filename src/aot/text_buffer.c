/* The emitter's growing text buffer (text_buffer.h). */
#include "text_buffer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(struct text_buffer *b, size_t more)
{
    if (b->failed) return false;
    if (b->len + more + 1 <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *t = realloc(b->text, cap);
    if (!t) {
        b->failed = true;
        return false;
    }
    b->text = t;
    b->cap = cap;
    return true;
}

void tb_append(struct text_buffer *b, const char *s, size_t n)
{
    if (!reserve(b, n)) return;
    memcpy(b->text + b->len, s, n);
    b->len += n;
    b->text[b->len] = '\0';
}

void tb_puts(struct text_buffer *b, const char *s)
{
    tb_append(b, s, strlen(s));
}

void tb_printf(struct text_buffer *b, const char *fmt, ...)
{
    if (b->failed) return;
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        tb_append(b, small, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->text + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void tb_free(struct text_buffer *b)
{
    free(b->text);
    b->text = NULL;
    b->len = b->cap = 0;
}

char *tb_take(struct text_buffer *b, size_t *len)
{
    if (!b->text && !b->failed) reserve(b, 0);
    char *t = b->text;
    if (len) *len = b->len;
    b->text = NULL;
    b->len = b->cap = 0;
    return t;
}
