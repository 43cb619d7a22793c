/* Grouped bar charts as SVG files that open in a browser: groups along the
 * x axis (e.g. module files), one bar per series in each group (e.g.
 * runtime x engine) with a whisker for its spread, a legend, and a log
 * scale when the values span more than PLOT_LOG_RANGE. Text is escaped, so
 * names from outside cannot break the XML. */
#ifndef STRATUS_CLIENT_SVG_PLOT_H
#define STRATUS_CLIENT_SVG_PLOT_H

#include <stddef.h>
#include <stdio.h>

/* The ratio of largest to smallest bar above which the axis is logarithmic. */
#define PLOT_LOG_RANGE 20.0

struct plot_bar {
    int present;          /* 0: no bar */
    double value, lo, hi; /* the bar and its whisker (lo <= value <= hi) */
};

struct bar_plot {
    const char *title, *y_label;
    size_t ngroups, nseries;
    const char *const *groups;   /* ngroups names (borrowed) */
    const char *const *series;   /* nseries names (borrowed) */
    const struct plot_bar *bars; /* ngroups * nseries, group-major */
};

/* Write the chart; 0, or -1 when out fails. Cost: O(groups * series). */
int svg_bar_plot_write(const struct bar_plot *p, FILE *out);

#endif
