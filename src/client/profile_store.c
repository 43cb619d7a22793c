/* The profile store (see profile_store.h). Each record type has one row
 * of columns here, used for its SQLite table, its CSV header and its rows,
 * so that the two copies cannot drift apart. */
#define _GNU_SOURCE
#include "profile_store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stratus/wasm.h"

#define KINDS 5
#define COLS_MAX 8

/* The metadata columns every record carries, in the order of profile_meta. */
static const char *const meta_cols[] = {"runtime",  "runtime_name", "runtime_type",
                                        "platform", "module",       "module_name",
                                        "file",     "argv",         "engine"};
#define META_COLS (sizeof meta_cols / sizeof meta_cols[0])

/* A type's own columns; "name" and "series" are text, the rest integers. */
static const char *const kind_cols[KINDS][COLS_MAX] = {
    [PROFILE_BENCHMARKING] = {"run", "wall_us", "utime_us", "stime_us"},
    [PROFILE_OPCODES] = {"opcode", "name", "count"},
    [PROFILE_OPCODES_PREFIXED] = {"prefix", "sub", "name", "count"},
    [PROFILE_INTERFERENCE] = {"series", "run", "wall_us"},
    [PROFILE_DEPLOYED] = {"start_us", "wall_us", "utime_us", "stime_us", "maxrss_kb", "ch_in",
                          "ch_out"},
};

static int col_is_text(const char *name)
{
    return !strcmp(name, "name") || !strcmp(name, "series");
}

static size_t ncols(int kind)
{
    size_t n = 0;
    while (n < COLS_MAX && kind_cols[kind][n])
        n++;
    return n;
}

/* One cell of a row: text when s is set, else the integer. */
struct cell {
    const char *s;
    int64_t i;
};

struct profile_store {
    sqlite3 *db;
    sqlite3_stmt *put_record;
    sqlite3_stmt *put_row[KINDS];
    int csv[KINDS]; /* -1 until the type's first record */
    char *dir;
};

static int db_fail(struct profile_store *s, const char *what, char err[CLIENT_ERR_LEN])
{
    snprintf(err, CLIENT_ERR_LEN, "%s: %s", what, sqlite3_errmsg(s->db));
    return -1;
}

static int create_schema(struct profile_store *s, char err[CLIENT_ERR_LEN])
{
    char sql[2048];
    int n = snprintf(sql, sizeof sql,
                     "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000;"
                     "CREATE TABLE IF NOT EXISTS records (id INTEGER PRIMARY KEY, type TEXT NOT "
                     "NULL, received_at REAL NOT NULL");
    for (size_t i = 0; i < META_COLS; i++)
        n += snprintf(sql + n, sizeof sql - (size_t)n, ", %s TEXT", meta_cols[i]);
    n += snprintf(sql + n, sizeof sql - (size_t)n, ");");
    for (int k = 0; k < KINDS; k++) {
        n += snprintf(sql + n, sizeof sql - (size_t)n,
                      "CREATE TABLE IF NOT EXISTS %s (record INTEGER NOT NULL REFERENCES "
                      "records(id)",
                      profile_kind_name((enum profile_kind)k));
        for (size_t c = 0; c < ncols(k); c++)
            n += snprintf(sql + n, sizeof sql - (size_t)n, ", %s %s", kind_cols[k][c],
                          col_is_text(kind_cols[k][c]) ? "TEXT" : "INTEGER");
        n += snprintf(sql + n, sizeof sql - (size_t)n,
                      "); CREATE INDEX IF NOT EXISTS %s_by_record ON %s(record);",
                      profile_kind_name((enum profile_kind)k),
                      profile_kind_name((enum profile_kind)k));
    }
    if ((size_t)n >= sizeof sql) {
        snprintf(err, CLIENT_ERR_LEN, "schema text too long");
        return -1;
    }
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, CLIENT_ERR_LEN, "creating the tables: %s", msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int prepare(struct profile_store *s, char err[CLIENT_ERR_LEN])
{
    char sql[1024];
    int n = snprintf(sql, sizeof sql, "INSERT INTO records (type, received_at");
    for (size_t i = 0; i < META_COLS; i++)
        n += snprintf(sql + n, sizeof sql - (size_t)n, ", %s", meta_cols[i]);
    n += snprintf(sql + n, sizeof sql - (size_t)n, ") VALUES (?, ?");
    for (size_t i = 0; i < META_COLS; i++)
        n += snprintf(sql + n, sizeof sql - (size_t)n, ", ?");
    snprintf(sql + n, sizeof sql - (size_t)n, ")");
    if (sqlite3_prepare_v2(s->db, sql, -1, &s->put_record, NULL) != SQLITE_OK)
        return db_fail(s, "preparing", err);
    for (int k = 0; k < KINDS; k++) {
        n = snprintf(sql, sizeof sql, "INSERT INTO %s VALUES (?",
                     profile_kind_name((enum profile_kind)k));
        for (size_t c = 0; c < ncols(k); c++)
            n += snprintf(sql + n, sizeof sql - (size_t)n, ", ?");
        snprintf(sql + n, sizeof sql - (size_t)n, ")");
        if (sqlite3_prepare_v2(s->db, sql, -1, &s->put_row[k], NULL) != SQLITE_OK)
            return db_fail(s, "preparing", err);
    }
    return 0;
}

int profile_store_open(const char *dir, struct profile_store **out, char err[CLIENT_ERR_LEN])
{
    *out = NULL;
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        snprintf(err, CLIENT_ERR_LEN, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    struct profile_store *s = calloc(1, sizeof *s);
    if (!s || !(s->dir = strdup(dir))) {
        free(s);
        snprintf(err, CLIENT_ERR_LEN, "out of memory");
        return -1;
    }
    for (int k = 0; k < KINDS; k++)
        s->csv[k] = -1;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/profile.sqlite", dir);
    if (sqlite3_open(path, &s->db) != SQLITE_OK) {
        snprintf(err, CLIENT_ERR_LEN, "cannot open %s: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
        profile_store_close(s);
        return -1;
    }
    if (create_schema(s, err) < 0 || prepare(s, err) < 0) {
        profile_store_close(s);
        return -1;
    }
    *out = s;
    return 0;
}

void profile_store_close(struct profile_store *s)
{
    if (!s) return;
    sqlite3_finalize(s->put_record);
    for (int k = 0; k < KINDS; k++) {
        sqlite3_finalize(s->put_row[k]);
        if (s->csv[k] >= 0) close(s->csv[k]);
    }
    sqlite3_close(s->db);
    free(s->dir);
    free(s);
}

struct sqlite3 *profile_store_db(struct profile_store *s)
{
    return s->db;
}

/* ---- CSV ---- */

struct text {
    char *buf;
    size_t len, cap;
    int oom;
};

static void text_add(struct text *t, const char *p, size_t n)
{
    if (t->oom) return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *b = realloc(t->buf, cap);
        if (!b) {
            t->oom = 1;
            return;
        }
        t->buf = b;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, p, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

/* A CSV field (RFC 4180): quoted when it holds a comma, quote or line end. */
static void csv_field(struct text *t, const char *v, int first)
{
    if (!first) text_add(t, ",", 1);
    if (!v) return;
    if (!strpbrk(v, ",\"\r\n")) {
        text_add(t, v, strlen(v));
        return;
    }
    text_add(t, "\"", 1);
    for (const char *p = v; *p; p++) {
        if (*p == '"') text_add(t, "\"", 1);
        text_add(t, p, 1);
    }
    text_add(t, "\"", 1);
}

static void csv_int(struct text *t, int64_t v)
{
    char num[32];
    int n = snprintf(num, sizeof num, ",%" PRId64, v);
    text_add(t, num, (size_t)n);
}

/* Open TYPE.csv for appending: a header when it is empty, a line end when
 * its last line was cut short. */
static int csv_open(struct profile_store *s, int kind, char err[CLIENT_ERR_LEN])
{
    if (s->csv[kind] >= 0) return 0;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s.csv", s->dir, profile_kind_name((enum profile_kind)kind));
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(err, CLIENT_ERR_LEN, "cannot open %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    struct text t = {0};
    if (st.st_size == 0) {
        csv_field(&t, "record", 1);
        csv_field(&t, "received_at", 0);
        for (size_t i = 0; i < META_COLS; i++)
            csv_field(&t, meta_cols[i], 0);
        for (size_t c = 0; c < ncols(kind); c++)
            csv_field(&t, kind_cols[kind][c], 0);
        text_add(&t, "\n", 1);
    } else {
        char last;
        if (pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') text_add(&t, "\n", 1);
    }
    if (t.oom || (t.len && write(fd, t.buf, t.len) != (ssize_t)t.len)) {
        snprintf(err, CLIENT_ERR_LEN, "cannot write %s: %s", path, strerror(errno));
        free(t.buf);
        close(fd);
        return -1;
    }
    free(t.buf);
    s->csv[kind] = fd;
    return 0;
}

/* ---- rows ---- */

/* The rows of a record, one call of emit per row. */
typedef int (*row_fn)(void *ctx, const struct cell *cells);

static int record_rows(const struct profile_record *r, row_fn emit, void *ctx)
{
    struct cell c[COLS_MAX] = {{0}};
    switch (r->kind) {
    case PROFILE_BENCHMARKING:
        for (size_t i = 0; i < r->nruns; i++) {
            c[0].i = (int64_t)i;
            c[1].i = r->runs[i].wall_us;
            c[2].i = r->runs[i].utime_us;
            c[3].i = r->runs[i].stime_us;
            if (emit(ctx, c)) return -1;
        }
        return 0;
    case PROFILE_OPCODES:
        for (unsigned op = 0; op < 256; op++) {
            if (!r->opcodes[op]) continue;
            c[0].i = op;
            c[1].s = sw_opcode_name(op);
            if (!c[1].s) c[1].s = "";
            c[2].i = (int64_t)r->opcodes[op];
            if (emit(ctx, c)) return -1;
        }
        return 0;
    case PROFILE_OPCODES_PREFIXED:
        for (size_t i = 0; i < r->nprefixed; i++) {
            const struct profile_prefixed *p = &r->prefixed[i];
            c[0].i = p->prefix;
            c[1].i = p->sub;
            c[2].s = p->prefix == 0xFC ? sw_opcode_name(SW_OPCODE_FC(p->sub)) : NULL;
            if (!c[2].s) c[2].s = "";
            c[3].i = (int64_t)p->count;
            if (emit(ctx, c)) return -1;
        }
        return 0;
    case PROFILE_INTERFERENCE:
        for (size_t i = 0; i < r->nseries; i++) {
            for (size_t j = 0; j < r->series[i].nruns; j++) {
                c[0].s = r->series[i].key;
                c[1].i = (int64_t)j;
                c[2].i = r->series[i].wall_us[j];
                if (emit(ctx, c)) return -1;
            }
        }
        return 0;
    case PROFILE_DEPLOYED: {
        const struct profile_deployed *d = &r->deployed;
        int64_t v[7] = {(int64_t)d->start_us, d->wall_us, d->utime_us, d->stime_us,
                        d->maxrss_kb,         d->ch_in,   d->ch_out};
        for (int i = 0; i < 7; i++)
            c[i].i = v[i];
        return emit(ctx, c);
    }
    }
    return -1;
}

struct add_ctx {
    struct profile_store *s;
    int kind;
    long long id;
    struct text csv;
    const char *prefix; /* the CSV line's record, time and metadata fields */
};

static int add_row(void *ctx, const struct cell *cells)
{
    struct add_ctx *a = ctx;
    sqlite3_stmt *st = a->s->put_row[a->kind];
    sqlite3_bind_int64(st, 1, a->id);
    text_add(&a->csv, a->prefix, strlen(a->prefix));
    for (size_t c = 0; c < ncols(a->kind); c++) {
        if (col_is_text(kind_cols[a->kind][c])) {
            sqlite3_bind_text(st, (int)c + 2, cells[c].s, -1, SQLITE_STATIC);
            csv_field(&a->csv, cells[c].s, 0);
        } else {
            sqlite3_bind_int64(st, (int)c + 2, cells[c].i);
            csv_int(&a->csv, cells[c].i);
        }
    }
    text_add(&a->csv, "\n", 1);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE && !a->csv.oom ? 0 : -1;
}

int profile_store_add(struct profile_store *s, double received_at, const struct profile_meta *m,
                      const struct profile_record *r, long long *id, char err[CLIENT_ERR_LEN])
{
    int kind = (int)r->kind;
    if (kind < 0 || kind >= KINDS) {
        snprintf(err, CLIENT_ERR_LEN, "unknown record kind %d", kind);
        return -1;
    }
    if (csv_open(s, kind, err) < 0) return -1;
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(s, "beginning a transaction", err);
    const char *meta[META_COLS] = {m->runtime,  m->runtime_name, m->runtime_type,
                                   m->platform, m->module,       m->module_name,
                                   m->file,     m->argv,         m->engine};
    sqlite3_bind_text(s->put_record, 1, profile_kind_name(r->kind), -1, SQLITE_STATIC);
    sqlite3_bind_double(s->put_record, 2, received_at);
    for (size_t i = 0; i < META_COLS; i++)
        sqlite3_bind_text(s->put_record, (int)i + 3, meta[i], -1, SQLITE_STATIC);
    int rc = sqlite3_step(s->put_record);
    sqlite3_reset(s->put_record);
    sqlite3_clear_bindings(s->put_record);
    struct add_ctx a = {.s = s, .kind = kind, .id = sqlite3_last_insert_rowid(s->db)};
    struct text prefix = {0};
    char head[64];
    int n = snprintf(head, sizeof head, "%lld,%.6f", a.id, received_at);
    text_add(&prefix, head, (size_t)n);
    for (size_t i = 0; i < META_COLS; i++)
        csv_field(&prefix, meta[i], 0);
    a.prefix = prefix.buf;
    if (rc != SQLITE_DONE || prefix.oom || record_rows(r, add_row, &a) < 0) {
        db_fail(s, "storing the record", err);
        goto fail;
    }
    /* The database is the authority: the CSV lines go out once the record
     * is committed, so they never name an id the database lacks. */
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        db_fail(s, "committing", err);
        goto fail;
    }
    if (a.csv.len && write(s->csv[kind], a.csv.buf, a.csv.len) != (ssize_t)a.csv.len) {
        snprintf(err, CLIENT_ERR_LEN, "record %lld stored, but cannot write %s.csv: %s", a.id,
                 profile_kind_name(r->kind), strerror(errno));
        free(prefix.buf);
        free(a.csv.buf);
        return -1;
    }
    if (id) *id = a.id;
    free(prefix.buf);
    free(a.csv.buf);
    return 0;
fail:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    free(prefix.buf);
    free(a.csv.buf);
    return -1;
}
