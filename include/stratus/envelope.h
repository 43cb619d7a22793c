/* JSON envelopes of the MQTT control protocol (PROTOCOL.md §3-4): building
 * requests and responses, and validating incoming ones with errors that name
 * the missing or wrong field. Uses jansson; every json_t returned is a new
 * reference owned by the caller. */
#ifndef STRATUS_ENVELOPE_H
#define STRATUS_ENVELOPE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define ENVELOPE_ERR_LEN 256
#define ENVELOPE_MAX_BYTES (4u << 20) /* envelope_parse refuses larger input */
#define ENVELOPE_MAX_DEPTH 64         /* and JSON nested deeper than this */

enum envelope_type { ENVELOPE_REQ, ENVELOPE_RESP };

/* A parsed envelope. Strings point into `root` and live as long as it. */
struct envelope {
    json_t *root; /* owned: json_decref via envelope_clear() */
    const char *object_id;
    /* "create", "delete", "update", "exited", "create_batch", "error"; "" in a
     * response that has none (the original orchestrator's answers) */
    const char *action;
    enum envelope_type type;
    json_t *data; /* borrowed from root; always an object */
};

/* Parse and validate an envelope from bytes (not NUL-terminated; at most
 * ENVELOPE_MAX_BYTES, nesting at most ENVELOPE_MAX_DEPTH). Returns 0 and fills
 * *out, or -1 with a message in err such as "missing field 'action'" or
 * "field 'data' must be an object"; on error *out holds nothing to clear.
 * `action` is any non-empty string, required in a request and optional in a
 * response: which actions a receiver serves is its own decision. */
int envelope_parse(const char *bytes, size_t len, struct envelope *out, char err[ENVELOPE_ERR_LEN]);
void envelope_clear(struct envelope *env);

/* Build {"object_id", "action", "type": "req", "data"}. object_id NULL means
 * a fresh UUID v4. Steals the reference to data. NULL on OOM. */
json_t *envelope_request(const char *object_id, const char *action, json_t *data);

/* Build the response to a request: same object_id and action, type "resp",
 * data {"result": "ok"|"error", "details": details}. Steals details. */
json_t *envelope_response(const char *object_id, const char *action, int ok, json_t *details);

/* Serialise compactly; malloc'd string the caller frees. */
char *envelope_dump(const json_t *msg);

/* What a JSON value is, for error messages ("field 'x' must be a string, not
 * an integer"): "an object", "an array", "a string", "an integer", "a
 * number", "a boolean" or "null". */
const char *json_kind_name(const json_t *v);

/* A module create request's data, validated. Strings point into `data`. */
struct module_create {
    const char *uuid; /* may be NULL when absent: the caller generates one */
    const char *name;
    const char *file;
    /* file_sha256: the file named by its content (file_transfer.h), NULL
     * when `file` is a path in the module directory; file_size its size
     * in bytes when the request says (0: not said). */
    const char *file_sha256;
    uint64_t file_size;
    json_t *data; /* borrowed: the whole data object */
};

/* Validate create-module data: type "module" and a name (the request's
 * envelope), then module_create_check. Optional fields may be JSON null,
 * meaning absent. Returns 0 or -1 with a message naming the field, such as
 * "field 'channels[1].mode' must be 'r', 'w' or 'rw'". */
int envelope_module_create_parse(json_t *data, struct module_create *out,
                                 char err[ENVELOPE_ERR_LEN]);

/* ---- The rules of a create request (PROTOCOL.md §4) ----
 * One place for what the manager checks before it answers `ok` and what the
 * runtime process checks again before it runs anything, so that a request
 * that can never run is refused up front with its first problem. */

/* Lists of args.argv / args.env / args.dirs hold at most this many entries;
 * `channels` at most MODULE_CHANNELS_MAX. */
#define MODULE_LIST_MAX 1024
#define MODULE_CHANNELS_MAX 255
/* args.resources: the period lies within 100 µs..10 s, the runtime within
 * 1024 ns..period. */
#define MODULE_RES_PERIOD_MIN_NS 100000ull
#define MODULE_RES_PERIOD_MAX_NS 10000000000ull
#define MODULE_RES_RUNTIME_MIN_NS 1024ull

/* A path inside the module directory, by its text alone (symlinks are the
 * runtime's to follow): non-empty, relative, no ".." level. */
enum module_path_result {
    MODULE_PATH_OK = 0,
    MODULE_PATH_EMPTY = -1,
    MODULE_PATH_ABSOLUTE = -2,
    MODULE_PATH_PARENT = -3,
};
int module_path_check(const char *rel);
/* "must be ..." text for a module_path_result, e.g. "must be a path relative
 * to the module directory". */
const char *module_path_strerror(int result);

/* A channel mode: "r", "w", "rw" (or "wr") to CHANNEL_READ|CHANNEL_WRITE
 * bits. Returns 0, or -1 for anything else. */
int channel_mode_parse(const char *mode, unsigned *bits);

/* Everything of a create but its envelope (type, name): file, file_sha256
 * (64 lower-case hex digits) and file_size (an integer >= 1), uuid, apis,
 * args (argv, env "NAME=value", dirs, fault_crash "ignore"|"restart",
 * resources {period, runtime}), channels ({path, mode, topic}, writable
 * ones without wildcards). Strings may not hold NUL bytes. Where a module
 * may publish is checked again when it opens a channel (topic.h,
 * channel_open_check). Returns 0 or -1 with err naming the field. */
int module_create_check(json_t *data, char err[ENVELOPE_ERR_LEN]);

/* Validate delete-module data ({type: "module", uuid}). */
int envelope_module_delete_parse(json_t *data, const char **uuid, char err[ENVELOPE_ERR_LEN]);

#endif
