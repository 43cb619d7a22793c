/* The module decoder: reads the binary format section by section into a
 * struct sw_module, checking well-formedness and the module-level validation
 * rules (index spaces, limits, constant expressions, exports, segments).
 * Function bodies are handed to the validator/translator (validate.c). Every
 * count read from the input is checked against the bytes left before it sizes
 * an allocation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "reader.h"

void sw__set_error(sw_error *err, sw_status st, const char *section, uint64_t offset,
                   const char *reason)
{
    if (!err) return;
    memset(err, 0, sizeof *err);
    err->status = st;
    err->offset = offset;
    snprintf(err->section, sizeof err->section, "%s", section ? section : "");
    snprintf(err->reason, sizeof err->reason, "%s", reason);
    /* the spec's wording first, then what it means when it is terse */
    const char *plain = "";
    if (st == SW_ERR_MALFORMED &&
        (!strcmp(reason, "unexpected end") || !strcmp(reason, "length out of bounds") ||
         !strcmp(reason, "unexpected end of section or function")))
        plain = ": a length runs past the end of the file or section (is the file cut short?)";
    if (section && *section)
        snprintf(err->message, sizeof err->message, "%s%s (%s section, offset 0x%llx)", reason,
                 plain, section, (unsigned long long)offset);
    else
        snprintf(err->message, sizeof err->message, "%s", reason);
}

static const char *const section_names[] = {"custom", "type",   "import",   "function", "table",
                                            "memory", "global", "export",   "start",    "element",
                                            "code",   "data",   "datacount"};

struct dec {
    sw_module *m;
    struct reader r;
    const char *section;
    const char *why;  /* validation failure reason (the module is well-formed so far) */
    char why_buf[64]; /* storage for a formatted `why` */
    size_t why_at;
    uint32_t nfunc_decl; /* entries of the function section */
    bool saw_code;
    bool fn_failed; /* a function body failed: details in fn_err */
    sw_error fn_err;
};

/* Records a validation (not well-formedness) failure. */
static bool invalid(struct dec *d, const char *why)
{
    if (!d->why && !d->r.error) {
        d->why = why;
        d->why_at = rd_offset(&d->r);
    }
    return false;
}

/* "unknown global 3": the spec's wording names the index. */
static bool invalid_idx(struct dec *d, const char *what, uint32_t idx)
{
    if (d->why || d->r.error) return false;
    snprintf(d->why_buf, sizeof d->why_buf, "%s %u", what, idx);
    return invalid(d, d->why_buf);
}

static bool failed(struct dec *d)
{
    return d->r.error || d->why || d->fn_failed;
}

/* A vector count: more elements than bytes left is malformed (each takes one at least). */
static bool rd_count(struct dec *d, uint32_t *n)
{
    if (!rd_u32(&d->r, n)) return false;
    if (*n > rd_left(&d->r)) return rd_fail(&d->r, "unexpected end");
    return true;
}

static bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i < len) return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
        i += len;
    }
    return true;
}

/* A name: copied, NUL-terminated; the caller owns *out. */
static bool rd_name(struct dec *d, char **out, size_t *len)
{
    uint32_t n;
    const uint8_t *s;
    if (!rd_u32(&d->r, &n)) return false;
    if (n > rd_left(&d->r)) return rd_fail(&d->r, "length out of bounds");
    if (!rd_bytes(&d->r, n, &s)) return false;
    if (!utf8_valid(s, n)) return rd_fail(&d->r, "malformed UTF-8 encoding");
    char *c = malloc((size_t)n + 1);
    if (!c) return rd_fail(&d->r, "out of memory");
    memcpy(c, s, n);
    c[n] = 0;
    *out = c;
    *len = n;
    return true;
}

static bool rd_valtype(struct dec *d, sw_valtype *out)
{
    uint8_t b;
    if (!rd_u8(&d->r, &b)) return false;
    switch (b) {
    case 0x7F:
    case 0x7E:
    case 0x7D:
    case 0x7C:
    case 0x70:
    case 0x6F: *out = (sw_valtype)b; return true;
    case 0x7B: return invalid(d, "SIMD not supported");
    default: d->r.p--; return rd_fail(&d->r, "malformed value type");
    }
}

static bool rd_reftype(struct dec *d, sw_valtype *out)
{
    uint8_t b;
    if (!rd_u8(&d->r, &b)) return false;
    if (b != 0x70 && b != 0x6F) {
        d->r.p--;
        return rd_fail(&d->r, "malformed reference type");
    }
    *out = (sw_valtype)b;
    return true;
}

static bool rd_limits(struct dec *d, uint32_t *min, uint32_t *max, bool memory)
{
    uint8_t flag;
    if (!rd_u8(&d->r, &flag)) return false;
    if (flag > 1) {
        d->r.p--;
        return rd_fail(&d->r, "integer too large");
    }
    if (!rd_u32(&d->r, min)) return false;
    *max = SW_NO_MAX;
    if (flag == 1 && !rd_u32(&d->r, max)) return false;
    if (memory && (*min > SW_MAX_PAGES || (flag == 1 && *max > SW_MAX_PAGES)))
        return invalid(d, "memory size must be at most 65536 pages (4GiB)");
    if (flag == 1 && *min > *max)
        return invalid(d, "size minimum must not be greater than maximum");
    return true;
}

static bool rd_tabletype(struct dec *d, struct mod_table *t)
{
    return rd_reftype(d, &t->type) && rd_limits(d, &t->min, &t->max, false);
}

static bool rd_globaltype(struct dec *d, sw_valtype *type, bool *mut)
{
    uint8_t b;
    if (!rd_valtype(d, type) || !rd_u8(&d->r, &b)) return false;
    if (b > 1) {
        d->r.p--;
        return rd_fail(&d->r, "malformed mutability");
    }
    *mut = b == 1;
    return true;
}

static void declare_func(sw_module *m, uint32_t idx)
{
    if (m->declared_funcs && idx < m->nfuncs)
        m->declared_funcs[idx / 8] |= (uint8_t)(1u << (idx % 8));
}

/* A constant expression of type `want`; `nglobals` bounds global.get. */
static bool rd_cexpr(struct dec *d, sw_valtype want, uint32_t nglobals, struct cexpr *ce)
{
    sw_module *m = d->m;
    int n = 0;
    sw_valtype got = 0;
    for (;;) {
        uint8_t op;
        if (!rd_u8(&d->r, &op)) return false;
        if (op == 0x0B) break;
        n++;
        switch (op) {
        case 0x41: {
            int64_t v;
            if (!rd_sleb(&d->r, 32, &v)) return false;
            ce->kind = CE_CONST;
            ce->bits = (uint32_t)(int32_t)v;
            got = SW_I32;
            break;
        }
        case 0x42: {
            int64_t v;
            if (!rd_sleb(&d->r, 64, &v)) return false;
            ce->kind = CE_CONST;
            ce->bits = (uint64_t)v;
            got = SW_I64;
            break;
        }
        case 0x43: {
            const uint8_t *b;
            if (!rd_bytes(&d->r, 4, &b)) return false;
            uint32_t v;
            memcpy(&v, b, 4);
            ce->kind = CE_CONST;
            ce->bits = v;
            got = SW_F32;
            break;
        }
        case 0x44: {
            const uint8_t *b;
            if (!rd_bytes(&d->r, 8, &b)) return false;
            memcpy(&ce->bits, b, 8);
            ce->kind = CE_CONST;
            got = SW_F64;
            break;
        }
        case 0x23: {
            uint32_t idx;
            if (!rd_u32(&d->r, &idx)) return false;
            if (idx >= nglobals) return invalid_idx(d, "unknown global", idx);
            if (m->globals[idx].mut) return invalid(d, "constant expression required");
            ce->kind = CE_GLOBAL_GET;
            ce->index = idx;
            got = m->globals[idx].type;
            break;
        }
        case 0xD0: {
            sw_valtype t;
            if (!rd_reftype(d, &t)) return false;
            ce->kind = CE_REF_NULL;
            got = t;
            break;
        }
        case 0xD2: {
            uint32_t idx;
            if (!rd_u32(&d->r, &idx)) return false;
            if (idx >= m->nfuncs) return invalid_idx(d, "unknown function", idx);
            declare_func(m, idx);
            ce->kind = CE_REF_FUNC;
            ce->index = idx;
            got = SW_FUNCREF;
            break;
        }
        default: d->r.p--; return invalid(d, "constant expression required");
        }
    }
    if (n != 1 || got != want) return invalid(d, "type mismatch");
    return true;
}

static bool sec_type(struct dec *d)
{
    sw_module *m = d->m;
    uint32_t n;
    if (!rd_count(d, &n)) return false;
    m->types = calloc(n ? n : 1, sizeof *m->types);
    if (!m->types) return rd_fail(&d->r, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        uint8_t form;
        if (!rd_u8(&d->r, &form)) return false;
        if (form != 0x60) {
            d->r.p--;
            return rd_fail(&d->r, "integer representation too long");
        }
        uint32_t np, nr;
        if (!rd_count(d, &np)) return false;
        struct ftype *t = &m->types[i];
        t->types = malloc(((size_t)np + 1) * sizeof(sw_valtype));
        if (!t->types) return rd_fail(&d->r, "out of memory");
        m->ntypes = i + 1;
        t->nparams = np;
        for (uint32_t k = 0; k < np; k++)
            if (!rd_valtype(d, &t->types[k])) return false;
        if (!rd_count(d, &nr)) return false;
        sw_valtype *grown = realloc(t->types, ((size_t)np + nr + 1) * sizeof(sw_valtype));
        if (!grown) return rd_fail(&d->r, "out of memory");
        t->types = grown;
        t->nresults = nr;
        for (uint32_t k = 0; k < nr; k++)
            if (!rd_valtype(d, &t->types[np + k])) return false;
    }
    return true;
}

static void fill_functype(const struct ftype *t, sw_functype *out)
{
    out->nparams = t->nparams;
    out->nresults = t->nresults;
    out->params = t->types;
    out->results = t->types + t->nparams;
}

static bool sec_import(struct dec *d)
{
    sw_module *m = d->m;
    uint32_t n;
    if (!rd_count(d, &n)) return false;
    m->imports = calloc(n ? n : 1, sizeof *m->imports);
    /* index spaces of imported things; grown again by later sections */
    m->func_types = calloc(n ? n : 1, sizeof *m->func_types);
    m->tables = calloc(n ? n : 1, sizeof *m->tables);
    m->memories = calloc(n ? n : 1, sizeof *m->memories);
    m->globals = calloc(n ? n : 1, sizeof *m->globals);
    if (!m->imports || !m->func_types || !m->tables || !m->memories || !m->globals)
        return rd_fail(&d->r, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        struct mod_import *im = &m->imports[i];
        m->nimports = i + 1;
        if (!rd_name(d, &im->module, &im->module_len) || !rd_name(d, &im->name, &im->name_len))
            return false;
        uint8_t kind;
        if (!rd_u8(&d->r, &kind)) return false;
        im->type.kind = im->kind = (sw_extern_kind)kind;
        switch (kind) {
        case 0: {
            uint32_t t;
            if (!rd_u32(&d->r, &t)) return false;
            if (t >= m->ntypes) return invalid_idx(d, "unknown type", t);
            im->typeidx = t;
            fill_functype(&m->types[t], &im->type.of.func);
            m->func_types[m->nfuncs++] = t;
            m->nfunc_imports++;
            break;
        }
        case 1: {
            struct mod_table *t = &m->tables[m->ntables];
            if (!rd_tabletype(d, t)) return false;
            im->type.of.table.reftype = t->type;
            im->type.of.table.min = t->min;
            im->type.of.table.max = t->max;
            m->ntables++;
            m->ntable_imports++;
            break;
        }
        case 2: {
            struct mod_memory *mm = &m->memories[m->nmemories];
            if (!rd_limits(d, &mm->min, &mm->max, true)) return false;
            im->type.of.memory.min = mm->min;
            im->type.of.memory.max = mm->max;
            m->nmemories++;
            m->nmem_imports++;
            break;
        }
        case 3: {
            struct mod_global *g = &m->globals[m->nglobals];
            if (!rd_globaltype(d, &g->type, &g->mut)) return false;
            im->type.of.global.type = g->type;
            im->type.of.global.mutable_ = g->mut;
            m->nglobals++;
            m->nglobal_imports++;
            break;
        }
        default: d->r.p--; return rd_fail(&d->r, "malformed import kind");
        }
    }
    if (m->nmemories > 1) return invalid(d, "multiple memories");
    return true;
}

/* Grows an index-space array to hold `extra` more entries. */
static bool grow(struct dec *d, void **arr, uint32_t have, uint32_t extra, size_t size)
{
    void *p = realloc(*arr, ((size_t)have + extra + 1) * size);
    if (!p) return rd_fail(&d->r, "out of memory");
    *arr = p;
    return true;
}

static bool sec_function(struct dec *d)
{
    sw_module *m = d->m;
    uint32_t n;
    if (!rd_count(d, &n)) return false;
    if (!grow(d, (void **)&m->func_types, m->nfuncs, n, sizeof(uint32_t))) return false;
    m->funcs = calloc(n ? n : 1, sizeof *m->funcs);
    if (!m->funcs) return rd_fail(&d->r, "out of memory");
    d->nfunc_decl = n;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t t;
        if (!rd_u32(&d->r, &t)) return false;
        if (t >= m->ntypes) return invalid_idx(d, "unknown type", t);
        m->funcs[i].typeidx = t;
        m->func_types[m->nfuncs++] = t;
    }
    return true;
}

static bool sec_table(struct dec *d)
{
    sw_module *m = d->m;
    uint32_t n;
    if (!rd_count(d, &n) || !grow(d, (void **)&m->tables, m->ntables, n, sizeof *m->tables))
        return false;
    for (uint32_t i = 0; i < n; i++) {
        if (!rd_tabletype(d, &m->tables[m->ntables])) return false;
        m->ntables++;
    }
    return true;
}

static bool sec_memory(struct dec *d)
{
    sw_module *m = d->m;
    uint32_t n;
    if (!rd_count(d, &n) || !grow(d, (void **)&m->memories, m->nmemories, n, sizeof *m->memories))
        return false;
    for (uint32_t i = 0; i < n; i++) {
        struct mod_memory *mm = &m->memories[m->nmemories];
        if (!rd_limits(d, &mm->min, &mm->max, true)) return false;
        m->nmemories++;
    }
    if (m->nmemories > 1) return invalid(d, "multiple memories");
    return true;
}

static bool sec_global(struct dec *d)
{
    sw_module *m = d->m;
    uint32_t n;
    if (!rd_count(d, &n) || !grow(d, (void **)&m->globals, m->nglobals, n, sizeof *m->globals))
        return false;
    for (uint32_t i = 0; i < n; i++) {
        struct mod_global *g = &m->globals[m->nglobals];
        if (!rd_globaltype(d, &g->type, &g->mut) ||
            !rd_cexpr(d, g->type, m->nglobal_imports, &g->init))
            return false;
        m->nglobals++;
    }
    return true;
}

static bool sec_export(struct dec *d)
{
    sw_module *m = d->m;
    uint32_t n;
    if (!rd_count(d, &n)) return false;
    m->exports = calloc(n ? n : 1, sizeof *m->exports);
    if (!m->exports) return rd_fail(&d->r, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        struct mod_export *e = &m->exports[i];
        uint8_t kind;
        uint32_t idx;
        if (!rd_name(d, &e->name, &e->name_len)) return false;
        m->nexports = i + 1;
        if (!rd_u8(&d->r, &kind)) return false;
        if (kind > 3) {
            d->r.p--;
            return rd_fail(&d->r, "malformed export kind");
        }
        if (!rd_u32(&d->r, &idx)) return false;
        e->kind = (sw_extern_kind)kind;
        e->index = idx;
        static const char *const unknown[] = {"unknown function", "unknown table", "unknown memory",
                                              "unknown global"};
        uint32_t limit[] = {m->nfuncs, m->ntables, m->nmemories, m->nglobals};
        if (idx >= limit[kind]) return invalid_idx(d, unknown[kind], idx);
        if (kind == 0) declare_func(m, idx);
        for (uint32_t k = 0; k < i; k++)
            if (m->exports[k].name_len == e->name_len &&
                !memcmp(m->exports[k].name, e->name, e->name_len))
                return invalid(d, "duplicate export name");
    }
    return true;
}

static bool sec_start(struct dec *d)
{
    sw_module *m = d->m;
    uint32_t idx;
    if (!rd_u32(&d->r, &idx)) return false;
    if (idx >= m->nfuncs) return invalid_idx(d, "unknown function", idx);
    const struct ftype *t = &m->types[m->func_types[idx]];
    if (t->nparams || t->nresults) return invalid(d, "start function");
    m->start = idx;
    return true;
}

static bool sec_element(struct dec *d)
{
    sw_module *m = d->m;
    uint32_t n;
    if (!rd_count(d, &n)) return false;
    m->elems = calloc(n ? n : 1, sizeof *m->elems);
    if (!m->elems) return rd_fail(&d->r, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        struct mod_elem *e = &m->elems[i];
        uint32_t flags;
        if (!rd_u32(&d->r, &flags)) return false;
        m->nelems = i + 1;
        if (flags > 7) return rd_fail(&d->r, "malformed elements segment kind");
        e->mode = (flags & 1) ? ((flags & 2) ? SEG_DECLARATIVE : SEG_PASSIVE) : SEG_ACTIVE;
        e->table = 0;
        e->type = SW_FUNCREF;
        if (e->mode == SEG_ACTIVE) {
            if ((flags & 2) && !rd_u32(&d->r, &e->table)) return false;
            if (e->table >= m->ntables) return invalid_idx(d, "unknown table", e->table);
            if (!rd_cexpr(d, SW_I32, m->nglobal_imports, &e->offset)) return false;
        }
        bool exprs = flags & 4;
        if (flags & 3) {
            if (exprs) {
                if (!rd_reftype(d, &e->type)) return false;
            } else {
                uint8_t kind;
                if (!rd_u8(&d->r, &kind)) return false;
                if (kind != 0) return rd_fail(&d->r, "malformed element kind");
            }
        }
        uint32_t cnt;
        if (!rd_count(d, &cnt)) return false;
        e->items = calloc(cnt ? cnt : 1, sizeof *e->items);
        if (!e->items) return rd_fail(&d->r, "out of memory");
        e->count = cnt;
        for (uint32_t k = 0; k < cnt; k++) {
            if (exprs) {
                if (!rd_cexpr(d, e->type, m->nglobal_imports, &e->items[k])) return false;
            } else {
                uint32_t idx;
                if (!rd_u32(&d->r, &idx)) return false;
                if (idx >= m->nfuncs) return invalid_idx(d, "unknown function", idx);
                declare_func(m, idx);
                e->items[k].kind = CE_REF_FUNC;
                e->items[k].index = idx;
            }
        }
        if (e->mode == SEG_ACTIVE && m->tables[e->table].type != e->type)
            return invalid(d, "type mismatch");
    }
    return true;
}

static bool sec_datacount(struct dec *d)
{
    d->m->has_datacount = true;
    return rd_u32(&d->r, &d->m->datacount);
}

static bool sec_code(struct dec *d)
{
    sw_module *m = d->m;
    uint32_t n;
    if (!rd_count(d, &n)) return false;
    if (n != d->nfunc_decl)
        return rd_fail(&d->r, "function and code section have inconsistent lengths");
    d->saw_code = true;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t size;
        const uint8_t *body;
        if (!rd_u32(&d->r, &size)) return false;
        size_t at = rd_offset(&d->r);
        if (!rd_bytes(&d->r, size, &body)) return false;
        if (sw__translate(m, i, body, size, at, &d->fn_err) != SW_OK) {
            d->fn_failed = true;
            return false;
        }
    }
    return true;
}

static bool sec_data(struct dec *d)
{
    sw_module *m = d->m;
    uint32_t n;
    if (!rd_count(d, &n)) return false;
    if (m->has_datacount && n != m->datacount)
        return rd_fail(&d->r, "data count and data section have inconsistent lengths");
    m->datas = calloc(n ? n : 1, sizeof *m->datas);
    if (!m->datas) return rd_fail(&d->r, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        struct mod_data *s = &m->datas[i];
        uint32_t flags;
        if (!rd_u32(&d->r, &flags)) return false;
        m->ndatas = i + 1;
        if (flags > 2) return rd_fail(&d->r, "malformed data segment kind");
        s->mode = flags == 1 ? SEG_PASSIVE : SEG_ACTIVE;
        if (flags == 2 && !rd_u32(&d->r, &s->memory)) return false;
        if (s->mode == SEG_ACTIVE) {
            if (s->memory >= m->nmemories) return invalid_idx(d, "unknown memory", s->memory);
            if (!rd_cexpr(d, SW_I32, m->nglobal_imports, &s->offset)) return false;
        }
        if (!rd_u32(&d->r, &s->len)) return false;
        if (s->len > rd_left(&d->r)) return rd_fail(&d->r, "unexpected end of section or function");
        if (!rd_bytes(&d->r, s->len, &s->bytes)) return false;
    }
    return true;
}

/* Order rank of each section id (datacount sits between element and code). */
static int section_rank(uint8_t id)
{
    static const int rank[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10};
    return rank[id];
}

/* A bad header: the spec's wording first (what the conformance tests
 * compare), then what the bytes look like, in plain words. */
static void header_error(const sw_module *m, sw_error *err)
{
    static const uint8_t magic[4] = {0, 'a', 's', 'm'};
    const char *reason = "unexpected end", *plain;
    uint64_t at = m->len;
    size_t i = 0;
    while (i < m->len && (m->bytes[i] == ' ' || m->bytes[i] == '\t' || m->bytes[i] == '\n' ||
                          m->bytes[i] == '\r'))
        i++;
    if (m->len == 0) {
        plain = "the file is empty, not a WebAssembly module";
    } else if (memcmp(m->bytes, magic, m->len < 4 ? m->len : 4)) {
        reason = "magic header not detected";
        at = 0;
        plain = (i < m->len && (m->bytes[i] == '(' || m->bytes[i] == ';'))
                    ? "this looks like WebAssembly text (.wat), not a binary module: "
                      "convert it with wat2wasm"
                    : "not a WebAssembly binary module (it does not start with \"\\0asm\")";
    } else if (m->len < 8) {
        plain = "the file ends inside the 8-byte module header";
    } else {
        reason = "unknown binary version";
        at = 4;
        plain = (m->bytes[4] == 0x0d || m->bytes[6] == 1)
                    ? "a WebAssembly component or a newer binary format, not a core module "
                      "of version 1"
                    : "not version 1 of the WebAssembly binary format";
    }
    sw__set_error(err, SW_ERR_MALFORMED, "header", at, reason);
    if (err)
        snprintf(err->message, sizeof err->message, "%s: %s (header, offset 0x%llx)", reason, plain,
                 (unsigned long long)at);
}

sw_status sw__decode(sw_module *m, sw_error *err)
{
    struct dec d = {.m = m, .section = "header"};
    d.r.base = d.r.p = m->bytes;
    d.r.end = m->bytes + m->len;
    m->start = -1;
    static const uint8_t magic[4] = {0, 'a', 's', 'm'};
    static const uint8_t version[4] = {1, 0, 0, 0};
    if (m->len < 8 || memcmp(m->bytes, magic, 4) || memcmp(m->bytes + 4, version, 4)) {
        header_error(m, err);
        return SW_ERR_MALFORMED;
    }
    d.r.p += 8;
    int last = 0;
    bool ok = true;
    while (ok && rd_left(&d.r) > 0) {
        uint8_t id;
        uint32_t size;
        rd_u8(&d.r, &id);
        if (id > 12) {
            d.r.p--;
            rd_fail(&d.r, "malformed section id");
            break;
        }
        d.section = section_names[id];
        if (!rd_u32(&d.r, &size)) break;
        if (size > rd_left(&d.r)) {
            rd_fail(&d.r, "length out of bounds");
            break;
        }
        if (id != 0) {
            if (section_rank(id) <= last) {
                rd_fail(&d.r, "unexpected content after last section");
                break;
            }
            last = section_rank(id);
        }
        if (!m->declared_funcs && id != 0 && section_rank(id) >= 6) {
            /* from the global section on, ref.func operands mark functions */
            m->declared_funcs = calloc((size_t)m->nfuncs / 8 + 1, 1);
            if (!m->declared_funcs) {
                rd_fail(&d.r, "out of memory");
                break;
            }
        }
        const uint8_t *sec_end = d.r.p + size;
        const uint8_t *outer_end = d.r.end;
        d.r.end = sec_end;
        switch (id) {
        case 0: {
            char *name;
            size_t nlen;
            ok = rd_name(&d, &name, &nlen);
            if (ok) free(name);
            d.r.p = sec_end;
            break;
        }
        case 1: ok = sec_type(&d); break;
        case 2: ok = sec_import(&d); break;
        case 3: ok = sec_function(&d); break;
        case 4: ok = sec_table(&d); break;
        case 5: ok = sec_memory(&d); break;
        case 6: ok = sec_global(&d); break;
        case 7: ok = sec_export(&d); break;
        case 8: ok = sec_start(&d); break;
        case 9: ok = sec_element(&d); break;
        case 10: ok = sec_code(&d); break;
        case 11: ok = sec_data(&d); break;
        case 12: ok = sec_datacount(&d); break;
        }
        if (d.fn_failed) break;
        if (ok && d.r.p != sec_end) {
            rd_fail(&d.r, "section size mismatch");
            ok = false;
        }
        if (!ok && d.r.error && !strcmp(d.r.error, "unexpected end"))
            d.r.error = "unexpected end of section or function";
        d.r.end = outer_end;
    }
    if (!failed(&d)) {
        if (!d.saw_code && d.nfunc_decl > 0) {
            d.section = "code";
            rd_fail(&d.r, "function and code section have inconsistent lengths");
        } else if (m->has_datacount && m->datacount != m->ndatas) {
            d.section = "data";
            rd_fail(&d.r, "data count and data section have inconsistent lengths");
        }
    }
    if (!m->declared_funcs && !failed(&d)) {
        m->declared_funcs = calloc((size_t)m->nfuncs / 8 + 1, 1);
        if (!m->declared_funcs) rd_fail(&d.r, "out of memory");
    }
    if (d.fn_failed) {
        if (err) *err = d.fn_err;
        return d.fn_err.status;
    }
    if (d.r.error) {
        sw__set_error(err, SW_ERR_MALFORMED, d.section, d.r.error_at, d.r.error);
        return SW_ERR_MALFORMED;
    }
    if (d.why) {
        sw__set_error(err, SW_ERR_INVALID, d.section, d.why_at, d.why);
        return SW_ERR_INVALID;
    }
    return SW_OK;
}
