/* Grouped bar charts in SVG (see svg_plot.h). */
#include "svg_plot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define PLOT_W_MIN 640
#define PLOT_H 420
#define MARGIN_L 80
#define MARGIN_R 200 /* the legend */
#define MARGIN_T 40
#define MARGIN_B 90
#define BAR_W 18
#define GROUP_GAP 24

static void xml_text(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '<')
            fputs("&lt;", out);
        else if (c == '>')
            fputs("&gt;", out);
        else if (c == '&')
            fputs("&amp;", out);
        else if (c == '"')
            fputs("&quot;", out);
        else if (c < 0x20 && c != '\t')
            fputc(' ', out); /* control characters are not XML */
        else
            fputc(c, out);
    }
}

/* Distinct hues for the series. */
static const char *const palette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                      "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
#define PALETTE (sizeof palette / sizeof palette[0])

/* Series s of n: the palette's colour, or hues spread round the wheel when
 * there are more series than colours. buf: at least 32 bytes. */
static const char *series_colour(size_t s, size_t n, char *buf)
{
    if (n <= PALETTE) return palette[s];
    snprintf(buf, 32, "hsl(%zu,55%%,%d%%)", s * 360 / n, s % 2 ? 40 : 60);
    return buf;
}

struct axis {
    int log;
    double lo, hi; /* the axis range (log10 values when log) */
    double top;    /* pixel y of hi */
    double height; /* pixels */
};

static double axis_y(const struct axis *a, double v)
{
    double x = a->log ? log10(v > 0 ? v : pow(10, a->lo)) : v;
    if (x < a->lo) x = a->lo;
    if (x > a->hi) x = a->hi;
    return a->top + a->height * (1 - (x - a->lo) / (a->hi - a->lo));
}

static void axis_setup(const struct bar_plot *p, struct axis *a)
{
    double min = INFINITY, max = 0;
    for (size_t i = 0; i < p->ngroups * p->nseries; i++) {
        const struct plot_bar *b = &p->bars[i];
        if (!b->present) continue;
        if (b->value > 0 && b->value < min) min = b->value;
        if (b->lo > 0 && b->lo < min) min = b->lo;
        if (b->hi > max) max = b->hi;
        if (b->value > max) max = b->value;
    }
    if (max <= 0) max = 1;
    if (!isfinite(min)) min = max;
    a->log = max / min > PLOT_LOG_RANGE;
    if (a->log) {
        a->lo = floor(log10(min));
        a->hi = ceil(log10(max));
        if (a->hi <= a->lo) a->hi = a->lo + 1;
    } else {
        a->lo = 0;
        a->hi = max * 1.1;
    }
    a->top = MARGIN_T;
    a->height = PLOT_H - MARGIN_T - MARGIN_B;
}

static void draw_ticks(const struct axis *a, FILE *out, double x0, double x1)
{
    int n = a->log ? (int)(a->hi - a->lo) : 5;
    for (int i = 0; i <= n; i++) {
        double v = a->log ? pow(10, a->lo + i) : a->lo + (a->hi - a->lo) * i / n;
        double y = axis_y(a, v);
        fprintf(out,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\">%.3g</text>\n",
                x0, y, x1, y, x0 - 6, y + 4, v);
    }
}

int svg_bar_plot_write(const struct bar_plot *p, FILE *out)
{
    struct axis a;
    axis_setup(p, &a);
    double group_w = (double)(p->nseries * BAR_W + GROUP_GAP);
    double plot_w = group_w * (double)p->ngroups;
    double width = MARGIN_L + plot_w + MARGIN_R;
    if (width < PLOT_W_MIN) width = PLOT_W_MIN;
    double base = a.top + a.height;
    char colour[32];
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%d\" "
            "viewBox=\"0 0 %.0f %d\" font-family=\"sans-serif\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<text x=\"%d\" y=\"24\" font-size=\"15\">",
            width, PLOT_H, width, PLOT_H, MARGIN_L);
    xml_text(out, p->title);
    fprintf(out, "%s</text>\n", a.log ? " (log scale)" : "");
    draw_ticks(&a, out, MARGIN_L, MARGIN_L + plot_w);
    fprintf(out,
            "<text transform=\"translate(18,%.1f) rotate(-90)\" text-anchor=\"middle\" "
            "font-size=\"12\">",
            a.top + a.height / 2);
    xml_text(out, p->y_label);
    fputs("</text>\n", out);
    for (size_t g = 0; g < p->ngroups; g++) {
        double gx = MARGIN_L + group_w * (double)g + GROUP_GAP / 2.0;
        for (size_t s = 0; s < p->nseries; s++) {
            const struct plot_bar *b = &p->bars[g * p->nseries + s];
            if (!b->present) continue;
            double x = gx + (double)(s * BAR_W);
            double y = axis_y(&a, b->value);
            fprintf(out,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"%s\">"
                    "<title>",
                    x, y, BAR_W - 2, base - y, series_colour(s, p->nseries, colour));
            xml_text(out, p->series[s]);
            fprintf(out, ": %.4g (%.4g .. %.4g)</title></rect>\n", b->value, b->lo, b->hi);
            if (!(b->hi > b->lo)) continue; /* no spread to show */
            double cx = x + (BAR_W - 2) / 2.0;
            double ylo = axis_y(&a, b->lo), yhi = axis_y(&a, b->hi);
            fprintf(out,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n"
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n"
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n",
                    cx, ylo, cx, yhi, cx - 4, ylo, cx + 4, ylo, cx - 4, yhi, cx + 4, yhi);
        }
        fprintf(out, "<text transform=\"translate(%.1f,%.1f) rotate(30)\" font-size=\"11\">", gx,
                base + 14);
        xml_text(out, p->groups[g]);
        fputs("</text>\n", out);
    }
    fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n",
            MARGIN_L, base, MARGIN_L + plot_w, base);
    double lx = MARGIN_L + plot_w + 16; /* the legend beside the bars */
    for (size_t s = 0; s < p->nseries; s++) {
        double ly = MARGIN_T + 18.0 * (double)s;
        fprintf(out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">",
                lx, ly, series_colour(s, p->nseries, colour), lx + 18, ly + 10);
        xml_text(out, p->series[s]);
        fputs("</text>\n", out);
    }
    fputs("</svg>\n", out);
    return ferror(out) ? -1 : 0;
}
