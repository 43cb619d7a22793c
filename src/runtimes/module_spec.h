/* What a create-module message asks the runtime to run: the file, its
 * arguments, environment and directories, taken from the create JSON
 * (PROTOCOL.md §4 and §6), and the confinement of paths to the module
 * directory. */
#ifndef STRATUS_MODULE_SPEC_H
#define STRATUS_MODULE_SPEC_H

#include <stddef.h>
#include <stdint.h>

#define SPEC_REASON_LEN 256

/* Every string and array is owned by the spec (module_spec_free). */
struct module_spec {
    char *uuid; /* as given, or NULL */
    char *file; /* relative to the module directory */
    size_t argc;
    char **argv; /* argv[0] is file, then args.argv */
    size_t envc;
    char **env; /* args.env, "NAME=value" */
    size_t ndirs;
    char **dirs; /* args.dirs, relative to the module directory */
};

/* Parse the payload of a create frame (a JSON object). Returns 0, or -1 with
 * a reason naming what is wrong; *out is then empty. */
int module_spec_parse(const uint8_t *payload, size_t len, struct module_spec *out,
                      char reason[SPEC_REASON_LEN]);

void module_spec_free(struct module_spec *spec);

/* Resolve `rel` inside `root` (an absolute path with symlinks resolved):
 * absolute paths are refused, and the real path (symlinks followed) must be
 * root or lie below it; `want_dir` asks for a directory, otherwise a regular
 * file. Returns 0 with *out malloc'd (caller frees), or -1 with a reason. */
int module_path_resolve(const char *root, const char *rel, int want_dir, char **out,
                        char reason[SPEC_REASON_LEN]);

#endif
