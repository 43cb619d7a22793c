/* What a create-module message asks the runtime to run: the file, its
 * arguments, environment and directories, taken from the create JSON
 * (PROTOCOL.md §4 and §6), and the confinement of paths to the module
 * directory. */
#ifndef STRATUS_MODULE_SPEC_H
#define STRATUS_MODULE_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPEC_REASON_LEN 256

/* A channel the create message declares: the module opens `path` (or a
 * path below it) and reaches `topic` (plus the rest of the path). */
struct spec_channel {
    char *path;
    char *topic;
    uint8_t mode; /* CHANNEL_READ | CHANNEL_WRITE (stratus/frame.h) */
};

/* What to do when the module traps (args.fault_crash). */
enum fault_policy { FAULT_IGNORE, FAULT_RESTART };

/* Which tier runs the module (args.engine; stratus/aot.h's swaot_engine
 * values): compiled code when cached, else interpreted while it compiles in
 * the background (auto, the default); always compiled (aot); never (interp). */
enum spec_engine { SPEC_ENGINE_INTERP = 0, SPEC_ENGINE_AOT = 1, SPEC_ENGINE_AUTO = 2 };

/* Every string and array is owned by the spec (module_spec_free). */
struct module_spec {
    char *uuid; /* as given, or NULL */
    char *file; /* relative to the module directory (with file_sha256: its name, for display) */
    char *file_sha256; /* the file by content, in the node's file cache; NULL: by path */
    size_t argc;
    char **argv; /* argv[0] is file, then args.argv */
    size_t envc;
    char **env; /* args.env, "NAME=value" */
    size_t ndirs;
    char **dirs; /* args.dirs, relative to the module directory */
    size_t nchannels;
    struct spec_channel *channels;
    enum fault_policy fault;
    uint64_t period_ns, runtime_ns; /* args.resources, 0 when not asked for */
    uint32_t max_memory_mib;        /* args.max_memory (MiB), 0 when not asked for */
    enum spec_engine engine;        /* args.engine, default SPEC_ENGINE_AUTO */
};

/* Parse the payload of a create frame (a JSON object). Returns 0, or -1 with
 * a reason naming what is wrong; *out is then empty. */
int module_spec_parse(const uint8_t *payload, size_t len, struct module_spec *out,
                      char reason[SPEC_REASON_LEN]);

void module_spec_free(struct module_spec *spec);

/* The topic a module reaches when it opens channel `path` (len bytes, from
 * the module) with the CHANNEL_READ/WRITE bits of `want`: a declared
 * channel's topic when path is its path or lies below it (the longest such
 * path wins; "light/x" → topic + "/x"), `path` itself when it begins with
 * "$SL/" (the manager expands it) or when free topics are allowed. The
 * result must pass the manager's open rule (channel_open_check, topic.h,
 * for `realm`). Returns 0 with *topic malloc'd (caller frees), or a WASI
 * errno: EACCES (2) for a topic outside the declared channels, a mode the
 * declaration does not give, another module's `$SL/` topic or the control
 * plane, EINVAL (28) for an empty path, a NUL, a wildcard on a writable
 * channel or no mode bit, ENOMEM (48). */
int channel_topic_resolve(const struct module_spec *spec, const char *realm, bool free_topics,
                          const char *path, size_t len, uint8_t want, char **topic);

/* Resolve `rel` inside `root` (an absolute path with symlinks resolved):
 * absolute paths are refused, and the real path (symlinks followed) must be
 * root or lie below it; `want_dir` asks for a directory, otherwise a regular
 * file. Returns 0 with *out malloc'd (caller frees), or -1 with a reason. */
int module_path_resolve(const char *root, const char *rel, int want_dir, char **out,
                        char reason[SPEC_REASON_LEN]);

#endif
