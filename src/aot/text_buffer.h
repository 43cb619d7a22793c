/* A growing NUL-terminated text buffer for the C emitter. Running out of
 * memory is sticky: later appends do nothing and `failed` stays set, so the
 * emitter checks once at the end. Ownership: the buffer owns `text`;
 * tb_take hands it over. */
#ifndef STRATUS_AOT_TEXT_BUFFER_H
#define STRATUS_AOT_TEXT_BUFFER_H

#include <stdbool.h>
#include <stddef.h>

struct text_buffer {
    char *text;
    size_t len, cap;
    bool failed;
};

/* Appends formatted text (printf rules). Amortised O(length). */
void tb_printf(struct text_buffer *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tb_append(struct text_buffer *b, const char *s, size_t n);
void tb_puts(struct text_buffer *b, const char *s);
void tb_free(struct text_buffer *b);
/* The text (never NULL when !failed) and its length; the buffer is empty after. */
char *tb_take(struct text_buffer *b, size_t *len);

#endif
