/* Profile records (PROTOCOL.md §6, docs/protocol.md "Profile records"): the
 * binary (and, for interference, JSON) records runtimes publish on
 * {realm}/proc/profile/{type}/{runtime}/{module}, and the typed profile frame
 * (FRAME_PROFILE_TYPED) that carries a record's type name from the runtime
 * process to the manager. The runtime encodes with these functions and the
 * collector (`stratus profile`) decodes with them, so both read one layout.
 *
 * Every number is little-endian. Functions return 0, or -1 with a message in
 * err (PROFILE_ERR_LEN) naming what is wrong; nothing here trusts its input. */
#ifndef STRATUS_PROFILE_RECORD_H
#define STRATUS_PROFILE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROFILE_ERR_LEN 160
/* A record type name is one topic level of 1..32 characters [a-z0-9_]. */
#define PROFILE_TYPE_MAX 32
/* Entries of an interference record, and runs of one of its modules. */
#define PROFILE_SERIES_MAX 64
#define PROFILE_RUNS_MAX (1u << 20)

enum profile_kind {
    PROFILE_BENCHMARKING,     /* "benchmarking": per run u32 wall_us, utime_us, stime_us */
    PROFILE_OPCODES,          /* "opcodes": 256 x u64, one per opcode byte */
    PROFILE_OPCODES_PREFIXED, /* "opcodes_prefixed": entries u32 prefix, u32 sub, u64 count */
    PROFILE_INTERFERENCE,     /* "interference": JSON {"i:file": [wall_us, ...], ...} */
    PROFILE_DEPLOYED,         /* "deployed": u64 start_us, u32 x 6 */
};

struct profile_run {
    uint32_t wall_us, utime_us, stime_us;
};

/* One prefixed instruction: prefix byte (0xFC), sub-opcode, times executed. */
struct profile_prefixed {
    uint32_t prefix, sub;
    uint64_t count;
};

struct profile_deployed {
    uint64_t start_us;
    uint32_t wall_us, utime_us, stime_us, maxrss_kb, ch_in, ch_out;
};

/* One module of an interference record: its key ("0:a.wasm") and run times. */
struct profile_series {
    char *key;
    size_t nruns;
    uint32_t *wall_us;
};

/* A decoded record; the arrays are owned by it (profile_record_free). Only
 * the fields of its kind are set. */
struct profile_record {
    enum profile_kind kind;
    size_t nruns;
    struct profile_run *runs;
    uint64_t opcodes[256];
    size_t nprefixed;
    struct profile_prefixed *prefixed;
    size_t nseries;
    struct profile_series *series;
    struct profile_deployed deployed;
};

/* The record type names, indexed by enum profile_kind. */
const char *profile_kind_name(enum profile_kind kind);
/* The kind named type (len bytes); -1 for an unknown name. */
int profile_kind_find(const char *type, size_t len);
/* True when name (len bytes) may be a record type (1..32 of [a-z0-9_]). */
bool profile_type_valid(const char *name, size_t len);

/* Decode a record of the named type. O(len). */
int profile_record_decode(const char *type, const uint8_t *buf, size_t len,
                          struct profile_record *out, char err[PROFILE_ERR_LEN]);
void profile_record_free(struct profile_record *r);

/* Encoders: *out is malloc'd (caller frees). */
int profile_encode_benchmarking(const struct profile_run *runs, size_t n, uint8_t **out,
                                size_t *len);
int profile_encode_opcodes(const uint64_t counts[256], uint8_t **out, size_t *len);
int profile_encode_prefixed(const struct profile_prefixed *entries, size_t n, uint8_t **out,
                            size_t *len);
/* The interference record's JSON text (no NUL counted in len). */
int profile_encode_interference(const struct profile_series *series, size_t n, uint8_t **out,
                                size_t *len);

/* The payload of a typed profile frame: u8 name length, the name, the
 * record. */
int profile_frame_build(const char *type, const uint8_t *rec, size_t len, uint8_t **out,
                        size_t *outlen);
/* Split a typed frame's payload: *type points into payload (type_len bytes,
 * a valid name), *rec and *rec_len at the record. */
int profile_frame_split(const uint8_t *payload, size_t len, const char **type, size_t *type_len,
                        const uint8_t **rec, size_t *rec_len, char err[PROFILE_ERR_LEN]);

#endif
