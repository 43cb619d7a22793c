/* Unit tests of the benchmark report's pieces: the run statistics (failed
 * runs apart, median of odd and even counts, sample stddev) and the SVG
 * bar chart (names escaped, log scale only for a wide range, no bar for a
 * missing value). The files end to end are itest_benchmark's. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench_report.h"
#include "svg_plot.h"

static void test_stats(void **state)
{
    (void)state;
    unsigned v[] = {30, 0, 10, 20};
    struct bench_stats st;
    bench_stats_compute(v, 4, &st);
    assert_int_equal(st.runs, 3);
    assert_int_equal(st.failed, 1);
    assert_true(st.median == 20 && st.mean == 20 && st.min == 10 && st.max == 30);
    assert_true(st.stddev > 9.999 && st.stddev < 10.001);
    unsigned even[] = {4, 1, 3, 2};
    bench_stats_compute(even, 4, &st);
    assert_true(st.median == 2.5);
    unsigned none[] = {0, 0};
    bench_stats_compute(none, 2, &st);
    assert_int_equal(st.runs, 0);
    assert_int_equal(st.failed, 2);
    assert_true(st.median == 0);
}

/* The chart of bars as text (caller frees). */
static char *plot_text(const struct plot_bar *bars, size_t ngroups, size_t nseries,
                       const char *const *groups, const char *const *series)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    struct bar_plot p = {"t & <title>", "ms", ngroups, nseries, groups, series, bars};
    assert_int_equal(svg_bar_plot_write(&p, f), 0);
    fclose(f);
    return buf;
}

static size_t count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void test_svg(void **state)
{
    (void)state;
    const char *groups[] = {"a<b>.wasm", "c.wasm"};
    const char *series[] = {"rt / \"x\"", "rt / y&z"};
    struct plot_bar narrow[4] = {{1, 10, 9, 11}, {1, 12, 10, 14}, {1, 20, 20, 20}, {0, 0, 0, 0}};
    char *svg = plot_text(narrow, 2, 2, groups, series);
    assert_non_null(strstr(svg, "<?xml"));
    assert_non_null(strstr(svg, "a&lt;b&gt;.wasm"));
    assert_non_null(strstr(svg, "rt / &quot;x&quot;"));
    assert_non_null(strstr(svg, "y&amp;z"));
    assert_non_null(strstr(svg, "t &amp; &lt;title&gt;"));
    assert_null(strstr(svg, "log scale"));
    /* three bars (one missing) and two legend swatches */
    assert_int_equal(count(svg, "<rect x="), 3 + 2);
    /* whiskers: three lines for each bar with a spread */
    assert_int_equal(count(svg, "stroke=\"black\"/>"), 3 * 2 + 1);
    free(svg);
    struct plot_bar wide[4] = {{1, 0.05, 0.04, 0.06}, {1, 40, 30, 50}, {1, 1, 1, 1}, {1, 2, 1, 3}};
    svg = plot_text(wide, 2, 2, groups, series);
    assert_non_null(strstr(svg, "(log scale)"));
    free(svg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_svg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
