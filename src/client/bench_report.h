/* The results of a benchmark campaign, read back from its profile store
 * (profile_store.h) in DIR: per runtime x file x engine the runs' wall
 * times (benchmarking records, and interference records pooled per
 * module), summarised as a table on the terminal, DIR/summary.csv and the
 * plot DIR/summary.svg; and for opcode campaigns the instruction mix per
 * file as a table, DIR/mix.csv and DIR/mix.svg. `stratus benchmark` writes
 * them at the end of a campaign and `stratus benchmark report DIR` again
 * from what is stored. */
#ifndef STRATUS_CLIENT_BENCH_REPORT_H
#define STRATUS_CLIENT_BENCH_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "client.h"

/* The summary of one runtime x file x engine, times in microseconds. */
struct bench_stats {
    size_t runs, failed; /* runs with a time, and failed runs (zeros) */
    double median, mean, stddev, min, max;
};

/* Summarise n wall times (zeros are failed runs). Sorts wall_us in
 * place. O(n log n). */
void bench_stats_compute(unsigned *wall_us, size_t n, struct bench_stats *out);

/* Write the table to out, and the CSV and SVG files in dir. baseline names
 * the engine or runtime the ratio column compares with (NULL: the first
 * engine when there are several, else the first runtime). *rows is the
 * number of rows (may be NULL). Cost: O(runs log runs). */
int bench_report_write(const char *dir, const char *baseline, FILE *out, size_t *rows,
                       char err[CLIENT_ERR_LEN]);

#endif
