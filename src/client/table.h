/* Text tables for the terminal (list, status): columns as wide as their
 * widest cell, shrunk to fit the terminal's width (the widest column first,
 * down to a minimum; cut cells end in "~"). */
#ifndef STRATUS_CLIENT_TABLE_H
#define STRATUS_CLIENT_TABLE_H

#include <stddef.h>
#include <stdio.h>

#define TABLE_MAX_COLS 12

struct table {
    size_t ncols;
    const char *heads[TABLE_MAX_COLS];
    char **cells; /* nrows * ncols, malloc'd strings */
    size_t nrows, cap;
};

/* A table with the given column heads (NULL-terminated, borrowed). */
void table_init(struct table *t, const char *const *heads);
/* Add a row of ncols cells (copied; NULL prints as "-"). -1 on OOM. */
int table_add(struct table *t, const char *const *cells);
/* Print with two spaces between columns, fitting width (0: no limit). */
void table_print(const struct table *t, FILE *out, size_t width);
void table_clear(struct table *t);

/* The terminal's width for out (COLUMNS, else the tty's, else 0). */
size_t table_terminal_width(FILE *out);

#endif
