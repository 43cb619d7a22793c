/* The startup benchmark's module: an ordinary C program built against the C
 * library (wasm32-wasi), so its size and shape (libc's printf and friends,
 * many functions, data and element segments) are those of a real module.
 * bench_engine only loads, validates and instantiates it; running it needs
 * WASI. It reads numbers and words, and prints statistics about them. */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct word_count {
    char *word;
    unsigned count;
};

struct table {
    struct word_count *items;
    size_t len, cap;
};

static unsigned long hash_string(const char *s)
{
    unsigned long h = 5381;
    while (*s)
        h = h * 33 + (unsigned char)*s++;
    return h;
}

static int table_add(struct table *t, const char *word)
{
    for (size_t i = 0; i < t->len; i++) {
        if (!strcmp(t->items[i].word, word)) {
            t->items[i].count++;
            return 0;
        }
    }
    if (t->len == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        struct word_count *bigger = realloc(t->items, cap * sizeof *bigger);
        if (!bigger) return -1;
        t->items = bigger;
        t->cap = cap;
    }
    t->items[t->len].word = strdup(word);
    if (!t->items[t->len].word) return -1;
    t->items[t->len++].count = 1;
    return 0;
}

static int by_count(const void *a, const void *b)
{
    const struct word_count *x = a, *y = b;
    if (x->count != y->count) return x->count < y->count ? 1 : -1;
    return strcmp(x->word, y->word);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct stats {
    double min, max, mean, stddev, median, geomean;
};

static void compute_stats(double *v, size_t n, struct stats *s)
{
    memset(s, 0, sizeof *s);
    if (!n) return;
    qsort(v, n, sizeof *v, by_value);
    double sum = 0, logsum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += v[i];
        logsum += log(fabs(v[i]) + 1e-12);
    }
    s->min = v[0];
    s->max = v[n - 1];
    s->mean = sum / (double)n;
    double var = 0;
    for (size_t i = 0; i < n; i++)
        var += (v[i] - s->mean) * (v[i] - s->mean);
    s->stddev = sqrt(var / (double)n);
    s->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    s->geomean = exp(logsum / (double)n);
}

/* A small expression evaluator: + - * / ^ and parentheses, numbers, and the
 * functions sin, cos, sqrt, log. */
struct parser {
    const char *p;
    int error;
};

static double parse_expr(struct parser *ps);

static void skip_space(struct parser *ps)
{
    while (isspace((unsigned char)*ps->p))
        ps->p++;
}

static double parse_primary(struct parser *ps)
{
    skip_space(ps);
    if (*ps->p == '(') {
        ps->p++;
        double v = parse_expr(ps);
        skip_space(ps);
        if (*ps->p == ')')
            ps->p++;
        else
            ps->error = 1;
        return v;
    }
    if (*ps->p == '-') {
        ps->p++;
        return -parse_primary(ps);
    }
    if (isalpha((unsigned char)*ps->p)) {
        char name[16];
        size_t n = 0;
        while (isalpha((unsigned char)*ps->p) && n < sizeof name - 1)
            name[n++] = *ps->p++;
        name[n] = 0;
        double arg = parse_primary(ps);
        if (!strcmp(name, "sin")) return sin(arg);
        if (!strcmp(name, "cos")) return cos(arg);
        if (!strcmp(name, "sqrt")) return sqrt(arg);
        if (!strcmp(name, "log")) return log(arg);
        if (!strcmp(name, "tan")) return tan(arg);
        if (!strcmp(name, "atan")) return atan(arg);
        ps->error = 1;
        return 0;
    }
    char *end;
    double v = strtod(ps->p, &end);
    if (end == ps->p) ps->error = 1;
    ps->p = end;
    return v;
}

static double parse_power(struct parser *ps)
{
    double base = parse_primary(ps);
    skip_space(ps);
    if (*ps->p == '^') {
        ps->p++;
        return pow(base, parse_power(ps));
    }
    return base;
}

static double parse_term(struct parser *ps)
{
    double v = parse_power(ps);
    for (;;) {
        skip_space(ps);
        if (*ps->p == '*') {
            ps->p++;
            v *= parse_power(ps);
        } else if (*ps->p == '/') {
            ps->p++;
            v /= parse_power(ps);
        } else if (*ps->p == '%') {
            ps->p++;
            v = fmod(v, parse_power(ps));
        } else {
            return v;
        }
    }
}

static double parse_expr(struct parser *ps)
{
    double v = parse_term(ps);
    for (;;) {
        skip_space(ps);
        if (*ps->p == '+') {
            ps->p++;
            v += parse_term(ps);
        } else if (*ps->p == '-') {
            ps->p++;
            v -= parse_term(ps);
        } else {
            return v;
        }
    }
}

/* CRC-32 and a run-length encoder, to have a few more ordinary functions. */
static uint32_t crc32_bytes(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

static size_t rle_encode(const unsigned char *in, size_t n, unsigned char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t run = 1;
        while (i + run < n && in[i + run] == in[i] && run < 255)
            run++;
        if (o + 2 > cap) return 0;
        out[o++] = (unsigned char)run;
        out[o++] = in[i];
        i += run;
    }
    return o;
}

static void print_histogram(const double *v, size_t n, double lo, double hi)
{
    unsigned buckets[10] = {0};
    for (size_t i = 0; i < n; i++) {
        int b = hi > lo ? (int)((v[i] - lo) / (hi - lo) * 10) : 0;
        if (b < 0) b = 0;
        if (b > 9) b = 9;
        buckets[b]++;
    }
    for (int b = 0; b < 10; b++) {
        printf("%10.3g | ", lo + (hi - lo) * b / 10);
        for (unsigned k = 0; k < buckets[b] && k < 60; k++)
            putchar('#');
        printf(" %u\n", buckets[b]);
    }
}

/* Base64 encoding of the digest report, and decoding to check it. */
static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t base64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? b64_alphabet[v & 63] : '=';
    }
    out[o] = 0;
    return o;
}

static int base64_value(char c)
{
    const char *p = strchr(b64_alphabet, c);
    return c && p ? (int)(p - b64_alphabet) : -1;
}

static long base64_decode(const char *in, unsigned char *out)
{
    size_t n = strlen(in), o = 0;
    if (n % 4) return -1;
    for (size_t i = 0; i < n; i += 4) {
        int a = base64_value(in[i]), b = base64_value(in[i + 1]);
        int c = in[i + 2] == '=' ? 0 : base64_value(in[i + 2]);
        int d = in[i + 3] == '=' ? 0 : base64_value(in[i + 3]);
        if (a < 0 || b < 0 || c < 0 || d < 0) return -1;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        out[o++] = (unsigned char)(v >> 16);
        if (in[i + 2] != '=') out[o++] = (unsigned char)(v >> 8);
        if (in[i + 3] != '=') out[o++] = (unsigned char)v;
    }
    return (long)o;
}

/* Least-squares line through (index, value) by solving the normal equations
 * with Gaussian elimination, to exercise some floating point. */
static int solve(double m[3][4], int n, double *x)
{
    for (int col = 0; col < n; col++) {
        int pivot = col;
        for (int r = col + 1; r < n; r++)
            if (fabs(m[r][col]) > fabs(m[pivot][col])) pivot = r;
        if (fabs(m[pivot][col]) < 1e-15) return -1;
        for (int k = 0; k <= n; k++) {
            double t = m[col][k];
            m[col][k] = m[pivot][k];
            m[pivot][k] = t;
        }
        for (int r = 0; r < n; r++) {
            if (r == col) continue;
            double f = m[r][col] / m[col][col];
            for (int k = col; k <= n; k++)
                m[r][k] -= f * m[col][k];
        }
    }
    for (int i = 0; i < n; i++)
        x[i] = m[i][n] / m[i][i];
    return 0;
}

static void fit_line(const double *v, size_t n)
{
    double m[3][4] = {{0}};
    for (size_t i = 0; i < n; i++) {
        double x = (double)i, y = v[i];
        m[0][0] += x * x * x * x;
        m[0][1] += x * x * x;
        m[0][2] += x * x;
        m[0][3] += x * x * y;
        m[1][1] += x * x;
        m[1][2] += x;
        m[1][3] += x * y;
        m[2][2] += 1;
        m[2][3] += y;
    }
    m[1][0] = m[0][1];
    m[2][0] = m[0][2];
    m[2][1] = m[1][2];
    double coef[3];
    if (solve(m, 3, coef))
        printf("no quadratic fit\n");
    else
        printf("fit: %.6e x^2 + %.6e x + %.6e (angle %.3f deg)\n", coef[0], coef[1], coef[2],
               atan2(coef[1], 1.0) * 180.0 / 3.14159265358979);
}

/* Reads "key = value" settings given on the command line. */
static void read_settings(int argc, char **argv, long *width, double *scale, char *title,
                          size_t title_len)
{
    for (int i = 1; i < argc; i++) {
        char key[32], value[128];
        if (sscanf(argv[i], "%31[a-z]=%127s", key, value) != 2) continue;
        if (!strcmp(key, "width"))
            *width = strtol(value, NULL, 0);
        else if (!strcmp(key, "scale"))
            *scale = atof(value);
        else if (!strcmp(key, "title"))
            snprintf(title, title_len, "%s", value);
    }
}

static void print_report_header(const char *title)
{
    char stamp[64];
    time_t now = time(NULL);
    struct tm *tm = gmtime(&now);
    if (!tm || !strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S UTC", tm))
        snprintf(stamp, sizeof stamp, "(no clock)");
    printf("== %s == %s\n", title, stamp);
}

int main(int argc, char **argv)
{
    long width = 80;
    double scale = 1.0;
    char title[64] = "report";
    read_settings(argc, argv, &width, &scale, title, sizeof title);
    print_report_header(title);
    struct table words = {0};
    double *numbers = NULL;
    size_t nnumbers = 0, cap = 0;
    char line[1024];
    unsigned long lines = 0, chars = 0, digest = 0;
    time_t start = time(NULL);

    if (argc > 1 && !strcmp(argv[1], "--eval")) {
        for (int i = 2; i < argc; i++) {
            struct parser ps = {argv[i], 0};
            double v = parse_expr(&ps);
            if (ps.error)
                fprintf(stderr, "cannot evaluate '%s'\n", argv[i]);
            else
                printf("%s = %.17g\n", argv[i], v);
        }
        return 0;
    }
    while (fgets(line, sizeof line, stdin)) {
        lines++;
        chars += strlen(line);
        digest ^= crc32_bytes((const unsigned char *)line, strlen(line));
        for (char *tok = strtok(line, " \t\r\n,;"); tok; tok = strtok(NULL, " \t\r\n,;")) {
            char *end;
            double v = strtod(tok, &end);
            if (*end == 0 && end != tok) {
                if (nnumbers == cap) {
                    cap = cap ? cap * 2 : 64;
                    double *bigger = realloc(numbers, cap * sizeof *bigger);
                    if (!bigger) {
                        perror("realloc");
                        return 1;
                    }
                    numbers = bigger;
                }
                numbers[nnumbers++] = v;
            } else {
                for (char *c = tok; *c; c++)
                    *c = (char)tolower((unsigned char)*c);
                if (table_add(&words, tok)) {
                    perror("table_add");
                    return 1;
                }
            }
        }
    }
    printf("%lu lines, %lu characters, crc %08lx\n", lines, chars, digest);
    qsort(words.items, words.len, sizeof *words.items, by_count);
    for (size_t i = 0; i < words.len && i < 10; i++)
        printf("%-20s %6u  (hash %08lx)\n", words.items[i].word, words.items[i].count,
               hash_string(words.items[i].word) & 0xffffffffUL);
    if (nnumbers) {
        struct stats s;
        compute_stats(numbers, nnumbers, &s);
        printf("numbers: %zu  min %g  max %g  mean %.6f  sd %.6f  median %g  geomean %g\n",
               nnumbers, s.min, s.max, s.mean, s.stddev, s.median, s.geomean);
        print_histogram(numbers, nnumbers, s.min * scale, s.max * scale);
        fit_line(numbers, nnumbers);
        /* The exact sum, in the widest type there is. */
        long double exact = 0;
        for (size_t i = 0; i < nnumbers; i++)
            exact += (long double)numbers[i];
        printf("sum %.21Lg\n", exact);
    }
    char encoded[64];
    unsigned char decoded[48];
    unsigned char raw[8] = {(unsigned char)digest,         (unsigned char)(digest >> 8),
                            (unsigned char)(digest >> 16), (unsigned char)(digest >> 24),
                            (unsigned char)lines,          (unsigned char)chars,
                            (unsigned char)width,          (unsigned char)words.len};
    base64_encode(raw, sizeof raw, encoded);
    printf("digest %s (%ld bytes back)\n", encoded, base64_decode(encoded, decoded));
    unsigned char packed[2048];
    size_t plen = rle_encode((const unsigned char *)line, strlen(line), packed, sizeof packed);
    printf("last line packs to %zu bytes; took %lds\n", plen, (long)(time(NULL) - start));
    /* Optionally keep the word list in a file, written to a temporary name
     * and renamed into place so a reader never sees half of it. */
    const char *report = getenv("REPORT");
    if (report) {
        char tmp[256];
        snprintf(tmp, sizeof tmp, "%s.tmp", report);
        FILE *f = fopen(tmp, "w");
        if (!f) {
            perror(tmp);
        } else {
            for (size_t i = 0; i < words.len; i++)
                fprintf(f, "%s\t%u\n", words.items[i].word, words.items[i].count);
            if (fclose(f) || rename(tmp, report)) {
                perror(report);
                remove(tmp);
            }
        }
    }
    for (size_t i = 0; i < words.len; i++)
        free(words.items[i].word);
    free(words.items);
    free(numbers);
    return 0;
}
