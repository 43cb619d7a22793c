/* libFuzzer target for profile records (stratus/profile_record.h): the first
 * byte picks a record type (or a typed profile frame), the rest is the
 * record. A decoded record is encoded again and must decode to the same
 * thing, and the typed frame splitter must keep within its input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stratus/profile_record.h"

static void round_trip(const struct profile_record *r)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = -1;
    switch (r->kind) {
    case PROFILE_BENCHMARKING:
        rc = profile_encode_benchmarking(r->runs, r->nruns, &buf, &len);
        break;
    case PROFILE_OPCODES: rc = profile_encode_opcodes(r->opcodes, &buf, &len); break;
    case PROFILE_OPCODES_PREFIXED:
        rc = profile_encode_prefixed(r->prefixed, r->nprefixed, &buf, &len);
        break;
    case PROFILE_INTERFERENCE:
        rc = profile_encode_interference(r->series, r->nseries, &buf, &len);
        break;
    case PROFILE_DEPLOYED: return;
    }
    if (rc) abort();
    struct profile_record again;
    char err[PROFILE_ERR_LEN];
    if (profile_record_decode(profile_kind_name(r->kind), buf, len, &again, err)) abort();
    if (again.nruns != r->nruns || again.nprefixed != r->nprefixed || again.nseries != r->nseries)
        abort();
    if (r->nruns && memcmp(again.runs, r->runs, r->nruns * sizeof *r->runs)) abort();
    if (memcmp(again.opcodes, r->opcodes, sizeof r->opcodes)) abort();
    profile_record_free(&again);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size) return 0;
    const uint8_t *rec = data + 1;
    size_t len = size - 1;
    char err[PROFILE_ERR_LEN] = "";
    unsigned pick = data[0] % 6;
    if (pick == 5) {
        const char *type;
        const uint8_t *body;
        size_t type_len, body_len;
        if (profile_frame_split(rec, len, &type, &type_len, &body, &body_len, err) == 0) {
            if (type_len + body_len + 1 != len || body + body_len != rec + len) abort();
            if (!profile_type_valid(type, type_len)) abort();
        } else if (!err[0]) {
            abort();
        }
        return 0;
    }
    struct profile_record r;
    if (profile_record_decode(profile_kind_name((enum profile_kind)pick), rec, len, &r, err) == 0) {
        round_trip(&r);
        profile_record_free(&r);
    } else if (!err[0]) {
        abort(); /* every refusal says why */
    }
    return 0;
}
