/* Terminal tables (see table.h). Widths count bytes, which is what the
 * cells hold (names, UUIDs, states, numbers). */
#define _GNU_SOURCE
#include "table.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MIN_COL 6

void table_init(struct table *t, const char *const *heads)
{
    memset(t, 0, sizeof *t);
    while (t->ncols < TABLE_MAX_COLS && heads[t->ncols]) {
        t->heads[t->ncols] = heads[t->ncols];
        t->ncols++;
    }
}

int table_add(struct table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **p = realloc(t->cells, cap * t->ncols * sizeof *p);
        if (!p) return -1;
        t->cells = p;
        t->cap = cap;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        const char *v = cells[c] && *cells[c] ? cells[c] : "-";
        char *copy = strdup(v);
        if (!copy) {
            while (c--)
                free(t->cells[t->nrows * t->ncols + c]);
            return -1;
        }
        /* Control characters would break the layout. */
        for (char *q = copy; *q; q++)
            if ((unsigned char)*q < 0x20 || *q == 0x7f) *q = ' ';
        t->cells[t->nrows * t->ncols + c] = copy;
    }
    t->nrows++;
    return 0;
}

void table_clear(struct table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

static void print_cell(FILE *out, const char *v, size_t w, int last)
{
    size_t n = strlen(v);
    if (n > w) {
        fprintf(out, "%.*s~", (int)(w ? w - 1 : 0), v);
    } else if (last) {
        fputs(v, out);
    } else {
        fprintf(out, "%s%*s", v, (int)(w - n), "");
    }
}

void table_print(const struct table *t, FILE *out, size_t width)
{
    size_t w[TABLE_MAX_COLS];
    for (size_t c = 0; c < t->ncols; c++) {
        w[c] = strlen(t->heads[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t n = strlen(t->cells[r * t->ncols + c]);
            if (n > w[c]) w[c] = n;
        }
    }
    if (width) {
        for (;;) {
            size_t total = 0, widest = 0;
            for (size_t c = 0; c < t->ncols; c++) {
                total += w[c] + (c ? 2 : 0);
                if (w[c] > w[widest]) widest = c;
            }
            if (total <= width || w[widest] <= MIN_COL) break;
            size_t over = total - width;
            size_t cut = w[widest] - MIN_COL < over ? w[widest] - MIN_COL : over;
            w[widest] -= cut ? cut : 1;
        }
    }
    for (size_t c = 0; c < t->ncols; c++) {
        if (c) fputs("  ", out);
        print_cell(out, t->heads[c], w[c], c + 1 == t->ncols);
    }
    fputc('\n', out);
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            if (c) fputs("  ", out);
            print_cell(out, t->cells[r * t->ncols + c], w[c], c + 1 == t->ncols);
        }
        fputc('\n', out);
    }
}

size_t table_terminal_width(FILE *out)
{
    const char *cols = getenv("COLUMNS");
    if (cols && atoi(cols) > 0) return (size_t)atoi(cols);
    struct winsize ws;
    if (isatty(fileno(out)) && ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 0;
}
