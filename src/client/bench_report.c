/* Benchmark campaign reports (see bench_report.h). */
#define _GNU_SOURCE
#include "bench_report.h"

#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "svg_plot.h"
#include "table.h"

#define MIX_TOP 16 /* instructions in the mix table and plot, per file */

static int cmp_unsigned(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? -1 : x > y;
}

void bench_stats_compute(unsigned *wall_us, size_t n, struct bench_stats *out)
{
    memset(out, 0, sizeof *out);
    qsort(wall_us, n, sizeof *wall_us, cmp_unsigned);
    size_t z = 0;
    while (z < n && wall_us[z] == 0)
        z++;
    out->failed = z;
    const unsigned *v = wall_us + z;
    size_t k = n - z;
    out->runs = k;
    if (!k) return;
    out->min = v[0];
    out->max = v[k - 1];
    out->median = k % 2 ? v[k / 2] : (v[k / 2 - 1] + (double)v[k / 2]) / 2;
    double sum = 0;
    for (size_t i = 0; i < k; i++)
        sum += v[i];
    out->mean = sum / (double)k;
    double sq = 0;
    for (size_t i = 0; i < k; i++)
        sq += (v[i] - out->mean) * (v[i] - out->mean);
    out->stddev = k > 1 ? sqrt(sq / (double)(k - 1)) : 0;
}

/* Write the plot to dir/name. */
static int plot_file_write(const char *dir, const char *name, const struct bar_plot *p,
                           char err[CLIENT_ERR_LEN])
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *svg = fopen(path, "w");
    int rc = -1;
    if (svg) {
        rc = svg_bar_plot_write(p, svg);
        if (fclose(svg)) rc = -1;
    }
    if (rc < 0) snprintf(err, CLIENT_ERR_LEN, "cannot write %s", path);
    return rc;
}

/* ---- timing rows ---- */

struct row {
    char *runtime, *file, *engine;
    unsigned *wall;
    size_t n, cap;
    struct bench_stats st;
};

struct rows {
    struct row *v;
    size_t n, cap;
};

static const char *text_or(const unsigned char *s, const char *dflt)
{
    return s && *s ? (const char *)s : dflt;
}

static struct row *row_find(struct rows *rs, const char *rt, const char *file, const char *engine)
{
    for (size_t i = 0; i < rs->n; i++)
        if (!strcmp(rs->v[i].runtime, rt) && !strcmp(rs->v[i].file, file) &&
            !strcmp(rs->v[i].engine, engine))
            return &rs->v[i];
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 16;
        struct row *p = realloc(rs->v, cap * sizeof *p);
        if (!p) return NULL;
        rs->v = p;
        rs->cap = cap;
    }
    struct row *r = &rs->v[rs->n];
    memset(r, 0, sizeof *r);
    r->runtime = strdup(rt);
    r->file = strdup(file);
    r->engine = strdup(engine);
    if (!r->runtime || !r->file || !r->engine) {
        free(r->runtime);
        free(r->file);
        free(r->engine);
        return NULL;
    }
    rs->n++;
    return r;
}

static int row_add(struct row *r, unsigned wall)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        unsigned *p = realloc(r->wall, cap * sizeof *p);
        if (!p) return -1;
        r->wall = p;
        r->cap = cap;
    }
    r->wall[r->n++] = wall;
    return 0;
}

static void rows_clear(struct rows *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->v[i].runtime);
        free(rs->v[i].file);
        free(rs->v[i].engine);
        free(rs->v[i].wall);
    }
    free(rs->v);
}

/* The file of an interference series key "i:file". */
static const char *series_file(const char *key)
{
    const char *c = strchr(key, ':');
    return c ? c + 1 : key;
}

static int load_times(sqlite3 *db, struct rows *rs, char err[CLIENT_ERR_LEN])
{
    static const char *const queries[] = {
        "SELECT r.runtime_name, r.file, r.engine, b.wall_us, NULL FROM benchmarking b JOIN "
        "records r ON b.record = r.id ORDER BY r.id, b.run",
        "SELECT r.runtime_name, r.file, r.engine, i.wall_us, i.series FROM interference i JOIN "
        "records r ON i.record = r.id ORDER BY r.id, i.series, i.run",
    };
    for (size_t q = 0; q < 2; q++) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, queries[q], -1, &st, NULL) != SQLITE_OK) {
            snprintf(err, CLIENT_ERR_LEN, "reading the runs: %s", sqlite3_errmsg(db));
            return -1;
        }
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *rt = text_or(sqlite3_column_text(st, 0), "?");
            const char *file = text_or(sqlite3_column_text(st, 1), "?");
            const char *engine = text_or(sqlite3_column_text(st, 2), "stratus");
            const unsigned char *series = sqlite3_column_text(st, 4);
            if (series) file = series_file((const char *)series);
            struct row *r = row_find(rs, rt, file, engine);
            if (!r || row_add(r, (unsigned)sqlite3_column_int64(st, 3)) < 0) {
                sqlite3_finalize(st);
                snprintf(err, CLIENT_ERR_LEN, "out of memory");
                return -1;
            }
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            snprintf(err, CLIENT_ERR_LEN, "reading the runs: %s", sqlite3_errmsg(db));
            return -1;
        }
    }
    return 0;
}

/* The row rows[i] is compared with, or NULL. */
static const struct row *baseline_of(const struct rows *rs, size_t i, const char *base,
                                     int by_engine)
{
    const struct row *r = &rs->v[i];
    for (size_t j = 0; j < rs->n; j++) {
        const struct row *b = &rs->v[j];
        if (strcmp(b->file, r->file)) continue;
        if (by_engine && !strcmp(b->engine, base) && !strcmp(b->runtime, r->runtime)) return b;
        if (!by_engine && !strcmp(b->runtime, base) && !strcmp(b->engine, r->engine)) return b;
    }
    return NULL;
}

static void ms(char *buf, size_t cap, double us)
{
    snprintf(buf, cap, "%.3f", us / 1000.0);
}

/* The position of the first row with the same value of a field, so rows
 * sort in the order their files, engines and runtimes first appeared. */
static size_t first_seen(const struct rows *rs, size_t i, int field)
{
    const struct row *r = &rs->v[i];
    for (size_t j = 0; j < i; j++) {
        const struct row *o = &rs->v[j];
        if (field == 0 && !strcmp(o->file, r->file)) return j;
        if (field == 1 && !strcmp(o->engine, r->engine)) return j;
        if (field == 2 && !strcmp(o->runtime, r->runtime)) return j;
    }
    return i;
}

struct row_key {
    size_t file, engine, runtime;
    struct row row;
};

static int key_cmp(const void *a, const void *b)
{
    const struct row_key *x = a, *y = b;
    if (x->file != y->file) return x->file < y->file ? -1 : 1;
    if (x->engine != y->engine) return x->engine < y->engine ? -1 : 1;
    return x->runtime < y->runtime ? -1 : x->runtime > y->runtime;
}

/* Rows grouped by file, then engine, then runtime. O(rows^2). */
static int rows_sort(struct rows *rs)
{
    struct row_key *k = calloc(rs->n ? rs->n : 1, sizeof *k);
    if (!k) return -1;
    for (size_t i = 0; i < rs->n; i++)
        k[i] = (struct row_key){first_seen(rs, i, 0), first_seen(rs, i, 1), first_seen(rs, i, 2),
                                rs->v[i]};
    qsort(k, rs->n, sizeof *k, key_cmp);
    for (size_t i = 0; i < rs->n; i++)
        rs->v[i] = k[i].row;
    free(k);
    return 0;
}

static int write_times(const char *dir, struct rows *rs, const char *baseline, FILE *out,
                       char err[CLIENT_ERR_LEN])
{
    if (rows_sort(rs) < 0) {
        snprintf(err, CLIENT_ERR_LEN, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < rs->n; i++)
        bench_stats_compute(rs->v[i].wall, rs->v[i].n, &rs->v[i].st);
    /* The baseline: an engine or runtime name. */
    int by_engine = 1;
    const char *base = baseline;
    if (base) {
        by_engine = 0;
        for (size_t i = 0; i < rs->n; i++)
            if (!strcmp(rs->v[i].engine, base)) by_engine = 1;
    } else {
        base = rs->v[0].engine;
        for (size_t i = 0; i < rs->n; i++)
            if (strcmp(rs->v[i].engine, base)) goto chosen;
        by_engine = 0;
        base = rs->v[0].runtime;
    }
chosen:;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    FILE *csv = fopen(path, "w");
    if (!csv) {
        snprintf(err, CLIENT_ERR_LEN, "cannot write %s", path);
        return -1;
    }
    fprintf(csv, "runtime,file,engine,runs,failed,median_us,mean_us,stddev_us,min_us,max_us,"
                 "ratio\n");
    static const char *const heads[] = {"RUNTIME", "FILE",      "ENGINE",  "RUNS",
                                        "FAILED",  "MEDIAN ms", "MEAN ms", "STDDEV ms",
                                        "MIN ms",  "MAX ms",    "RATIO",   NULL};
    struct table t;
    table_init(&t, heads);
    for (size_t i = 0; i < rs->n; i++) {
        const struct row *r = &rs->v[i];
        const struct row *b = baseline_of(rs, i, base, by_engine);
        char runs[24], failed[24], c[5][32], ratio[32] = "-";
        snprintf(runs, sizeof runs, "%zu", r->st.runs);
        snprintf(failed, sizeof failed, "%zu", r->st.failed);
        ms(c[0], sizeof c[0], r->st.median);
        ms(c[1], sizeof c[1], r->st.mean);
        ms(c[2], sizeof c[2], r->st.stddev);
        ms(c[3], sizeof c[3], r->st.min);
        ms(c[4], sizeof c[4], r->st.max);
        if (b && b->st.runs && r->st.runs)
            snprintf(ratio, sizeof ratio, "%.3f", r->st.median / b->st.median);
        const char *cells[] = {r->runtime, r->file, r->engine, runs, failed, c[0],
                               c[1],       c[2],    c[3],      c[4], ratio};
        table_add(&t, cells);
        /* CSV fields from names that may hold a comma are quoted. */
        const char *names[3] = {r->runtime, r->file, r->engine};
        for (int k = 0; k < 3; k++) {
            if (strpbrk(names[k], ",\"\n")) {
                fputc('"', csv);
                for (const char *p = names[k]; *p; p++) {
                    if (*p == '"') fputc('"', csv);
                    fputc(*p, csv);
                }
                fputs("\",", csv);
            } else {
                fprintf(csv, "%s,", names[k]);
            }
        }
        fprintf(csv, "%zu,%zu,%.1f,%.1f,%.1f,%.0f,%.0f,%s\n", r->st.runs, r->st.failed,
                r->st.median, r->st.mean, r->st.stddev, r->st.min, r->st.max,
                strcmp(ratio, "-") ? ratio : "");
    }
    int bad = ferror(csv);
    bad |= fclose(csv) != 0;
    if (out) {
        table_print(&t, out, table_terminal_width(out));
        fprintf(out, "ratio: median against %s %s\n", by_engine ? "engine" : "runtime", base);
    }
    table_clear(&t);
    if (bad) {
        snprintf(err, CLIENT_ERR_LEN, "cannot write %s", path);
        return -1;
    }

    /* The plot: files as groups, runtime/engine as series. */
    size_t nf = 0, ns = 0;
    const char **files = calloc(rs->n, sizeof *files);
    char **series = calloc(rs->n, sizeof *series);
    struct plot_bar *bars = calloc(rs->n * rs->n, sizeof *bars);
    int rc = -1;
    if (!files || !series || !bars) goto plot_out;
    for (size_t i = 0; i < rs->n; i++) {
        const struct row *r = &rs->v[i];
        size_t f = 0, s = 0;
        while (f < nf && strcmp(files[f], r->file))
            f++;
        if (f == nf) files[nf++] = r->file;
        char name[512];
        snprintf(name, sizeof name, "%s / %s", r->runtime, r->engine);
        while (s < ns && strcmp(series[s], name))
            s++;
        if (s == ns && !(series[ns++] = strdup(name))) goto plot_out;
        /* indices settle once all are known: store by (f, s) in an
         * n x n grid */
        bars[f * rs->n + s] = (struct plot_bar){r->st.runs > 0, r->st.median / 1000.0,
                                                r->st.min / 1000.0, r->st.max / 1000.0};
    }
    struct plot_bar *grid = calloc(nf * ns ? nf * ns : 1, sizeof *grid);
    if (!grid) goto plot_out;
    for (size_t f = 0; f < nf; f++)
        for (size_t s = 0; s < ns; s++)
            grid[f * ns + s] = bars[f * rs->n + s];
    struct bar_plot p = {"wall time per run: median, whiskers min..max",
                         "ms",
                         nf,
                         ns,
                         files,
                         (const char *const *)series,
                         grid};
    rc = plot_file_write(dir, "summary.svg", &p, err);
    free(grid);
plot_out:
    if (rc < 0 && !err[0]) snprintf(err, CLIENT_ERR_LEN, "out of memory");
    if (series)
        for (size_t s = 0; s < ns; s++)
            free(series[s]);
    free(series);
    free(files);
    free(bars);
    return rc;
}

/* ---- instruction mix ---- */

struct mix_item {
    char *file, *name;
    long long count;
};

static int mix_cmp(const void *a, const void *b)
{
    const struct mix_item *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    if (c) return c;
    return x->count < y->count ? 1 : x->count > y->count ? -1 : strcmp(x->name, y->name);
}

/* The mix: opcodes without the lumped 0xFC counter, plus the prefixed
 * instructions by name. */
static int write_mix(sqlite3 *db, const char *dir, FILE *out, size_t *nrows,
                     char err[CLIENT_ERR_LEN])
{
    const char *sql =
        "SELECT r.file, o.name, sum(o.count) FROM opcodes o JOIN records r ON o.record = r.id "
        "WHERE o.opcode <> 252 GROUP BY r.file, o.name UNION ALL "
        "SELECT r.file, p.name, sum(p.count) FROM opcodes_prefixed p JOIN records r ON "
        "p.record = r.id WHERE p.count > 0 GROUP BY r.file, p.name";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, CLIENT_ERR_LEN, "reading the opcode counts: %s", sqlite3_errmsg(db));
        return -1;
    }
    struct mix_item *v = NULL;
    size_t n = 0, cap = 0;
    int rc = -1;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            struct mix_item *p = realloc(v, cap * sizeof *p);
            if (!p) goto out;
            v = p;
        }
        v[n].file = strdup(text_or(sqlite3_column_text(st, 0), "?"));
        v[n].name = strdup(text_or(sqlite3_column_text(st, 1), "?"));
        v[n].count = sqlite3_column_int64(st, 2);
        n++;
        if (!v[n - 1].file || !v[n - 1].name) goto out;
    }
    qsort(v, n, sizeof *v, mix_cmp);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/mix.csv", dir);
    FILE *csv = fopen(path, "w");
    if (!csv) {
        snprintf(err, CLIENT_ERR_LEN, "cannot write %s", path);
        goto out;
    }
    fprintf(csv, "file,instruction,count,share\n");
    static const char *const heads[] = {"FILE", "INSTRUCTION", "COUNT", "SHARE %", NULL};
    struct table t;
    table_init(&t, heads);
    /* Groups: files; series: the instructions in any file's top MIX_TOP. */
    const char *files[64], *names[MIX_TOP * 4];
    size_t nf = 0, nn = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        long long total = 0;
        while (j < n && !strcmp(v[j].file, v[i].file))
            total += v[j++].count;
        if (nf < 64) files[nf++] = v[i].file;
        for (size_t k = i; k < j; k++) {
            double share = total ? 100.0 * (double)v[k].count / (double)total : 0;
            fprintf(csv, "%s,%s,%lld,%.4f\n", v[k].file, v[k].name, v[k].count, share);
            if (k - i >= MIX_TOP) continue;
            char count[32], sh[32];
            snprintf(count, sizeof count, "%lld", v[k].count);
            snprintf(sh, sizeof sh, "%.2f", share);
            const char *cells[] = {v[k].file, v[k].name, count, sh};
            table_add(&t, cells);
            size_t m = 0;
            while (m < nn && strcmp(names[m], v[k].name))
                m++;
            if (m == nn && nn < sizeof names / sizeof names[0]) names[nn++] = v[k].name;
        }
        i = j;
    }
    int bad = ferror(csv);
    bad |= fclose(csv) != 0;
    if (out) table_print(&t, out, table_terminal_width(out));
    if (nrows) *nrows = t.nrows;
    table_clear(&t);
    if (bad) {
        snprintf(err, CLIENT_ERR_LEN, "cannot write %s", path);
        goto out;
    }
    struct plot_bar *grid = calloc(nf * nn ? nf * nn : 1, sizeof *grid);
    if (!grid) goto out;
    for (size_t k = 0; k < n; k++) {
        size_t f = 0, m = 0;
        while (f < nf && strcmp(files[f], v[k].file))
            f++;
        while (m < nn && strcmp(names[m], v[k].name))
            m++;
        if (f < nf && m < nn) {
            double c = (double)v[k].count;
            grid[f * nn + m] = (struct plot_bar){1, c, c, c};
        }
    }
    struct bar_plot p = {"instruction mix: times executed", "count", nf, nn, files, names, grid};
    rc = plot_file_write(dir, "mix.svg", &p, err);
    free(grid);
out:
    sqlite3_finalize(st);
    for (size_t i = 0; i < n; i++) {
        free(v[i].file);
        free(v[i].name);
    }
    free(v);
    if (rc < 0 && !err[0]) snprintf(err, CLIENT_ERR_LEN, "out of memory");
    return rc;
}

int bench_report_write(const char *dir, const char *baseline, FILE *out, size_t *nrows,
                       char err[CLIENT_ERR_LEN])
{
    err[0] = '\0';
    if (nrows) *nrows = 0;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/profile.sqlite", dir);
    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(err, CLIENT_ERR_LEN, "cannot open %s: %s", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return -1;
    }
    struct rows rs = {0};
    int rc = load_times(db, &rs, err);
    if (rc == 0 && rs.n) {
        rc = write_times(dir, &rs, baseline, out, err);
        if (nrows) *nrows = rs.n;
    }
    sqlite3_stmt *st;
    long long nops = 0;
    if (rc == 0 &&
        sqlite3_prepare_v2(db, "SELECT count(*) FROM opcodes", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) nops = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    if (rc == 0 && nops) {
        size_t mixrows = 0;
        rc = write_mix(db, dir, out, &mixrows, err);
        if (nrows && !rs.n) *nrows = mixrows;
    }
    if (rc == 0 && !rs.n && !nops) {
        snprintf(err, CLIENT_ERR_LEN, "%s holds no benchmarking, interference or opcode records",
                 path);
        rc = -1;
    }
    rows_clear(&rs);
    sqlite3_close(db);
    return rc;
}
