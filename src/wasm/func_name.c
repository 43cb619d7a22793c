/* What a trap message says about where it happened: the index of the
 * function that was running and a name for it, from the module's "name"
 * custom section (what compilers emit for debugging) or else its export.
 * Only the trap path comes here, so the name section is read from the
 * module's bytes then, not kept decoded. */
#include <stdio.h>

#include "internal.h"
#include "reader.h"

int64_t sw__func_index_of_code(const sw_module *m, const uint32_t *code)
{
    if (!m || !code) return -1;
    for (uint32_t i = 0; i + m->nfunc_imports < m->nfuncs; i++)
        if (m->funcs[i].code.ops == code || atomic_load(&m->funcs[i].code.ops_counted) == code)
            return (int64_t)m->nfunc_imports + i;
    return -1;
}

/* Copies `len` bytes of a name into out, printable ASCII only. */
static void copy_name(char *out, size_t cap, const uint8_t *name, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < cap; i++)
        out[n++] = (name[i] >= 0x20 && name[i] < 0x7f) ? (char)name[i] : '?';
    out[n] = '\0';
}

/* The function-names subsection (id 1) of a "name" section payload. */
static bool name_in_section(struct reader *r, uint32_t index, char *out, size_t cap)
{
    while (!r->error && rd_left(r)) {
        uint8_t id;
        uint64_t size;
        const uint8_t *body;
        if (!rd_u8(r, &id) || !rd_uleb(r, 32, &size) || !rd_bytes(r, size, &body)) return false;
        if (id != 1) continue;
        struct reader sub = {.base = r->base, .p = body, .end = body + size};
        uint64_t count;
        if (!rd_uleb(&sub, 32, &count)) return false;
        for (uint64_t i = 0; i < count; i++) {
            uint64_t idx, len;
            const uint8_t *name;
            if (!rd_uleb(&sub, 32, &idx) || !rd_uleb(&sub, 32, &len) || !rd_bytes(&sub, len, &name))
                return false;
            if (idx == index) {
                copy_name(out, cap, name, len);
                return true;
            }
        }
        return false;
    }
    return false;
}

/* Looks through the module's custom sections for "name". */
static bool name_from_names(const sw_module *m, uint32_t index, char *out, size_t cap)
{
    if (!m->bytes || m->len < 8) return false;
    struct reader r = {.base = m->bytes, .p = m->bytes + 8, .end = m->bytes + m->len};
    while (!r.error && rd_left(&r)) {
        uint8_t id;
        uint64_t size;
        const uint8_t *body;
        if (!rd_u8(&r, &id) || !rd_uleb(&r, 32, &size) || !rd_bytes(&r, size, &body)) return false;
        if (id != 0) continue;
        struct reader sec = {.base = m->bytes, .p = body, .end = body + size};
        uint64_t nlen;
        const uint8_t *sname;
        if (!rd_uleb(&sec, 32, &nlen) || !rd_bytes(&sec, nlen, &sname)) continue;
        if (nlen == 4 && !memcmp(sname, "name", 4)) return name_in_section(&sec, index, out, cap);
    }
    return false;
}

void sw__func_name(const sw_module *m, uint32_t index, char *out, size_t cap)
{
    out[0] = '\0';
    if (!m || !cap) return;
    /* the export name is the one the embedder called it by */
    for (uint32_t i = 0; i < m->nexports; i++)
        if (m->exports[i].kind == SW_EXTERN_FUNC && m->exports[i].index == index) {
            copy_name(out, cap, (const uint8_t *)m->exports[i].name, m->exports[i].name_len);
            return;
        }
    if (!name_from_names(m, index, out, cap)) out[0] = '\0';
}
