/* Stratus's compiled tier: WebAssembly modules translated to C by Stratus
 * (from the validated module) and compiled by the system's C compiler into
 * native code, kept in the node's own cache and attached to loaded modules,
 * so that their instances run it (include/stratus/wasm.h runs everything
 * else unchanged: WASI, host functions, memory caps, traps, interrupts).
 *
 * Artifacts are keyed by the module's SHA-256, the engine's ABI and
 * translator version, the target and the compiler's identity (path,
 * version, flags); a file is only loaded from the cache this handle uses,
 * only when its seal (a SHA-256 over its bytes) holds, and only into the
 * module it was made from. Nothing supplied by a user is ever loaded as
 * code. Fuel and opcode counting stay interpreter-only: an instance with
 * either on runs in the interpreter (sw_instance_native says which tier).
 *
 * Conventions as in wasm.h (sw_status, sw_error, ownership). A handle may be
 * used from several threads at once. */
#ifndef STRATUS_AOT_H
#define STRATUS_AOT_H

#include <stdbool.h>
#include <stddef.h>

#include "stratus/wasm.h"

/* Which tier runs a module: the interpreter only; compiled code (compiled
 * now when the cache lacks it); or compiled code when the cache has it,
 * else the interpreter while it is compiled in the background. */
typedef enum swaot_engine {
    SWAOT_INTERP = 0,
    SWAOT_AOT = 1,
    SWAOT_AUTO = 2,
} swaot_engine;

/* "interp", "aot", "auto": 0 and *out; else -1. */
int swaot_engine_parse(const char *name, swaot_engine *out);
const char *swaot_engine_name(swaot_engine engine);

typedef enum swaot_log_level {
    SWAOT_LOG_INFO = 0,
    SWAOT_LOG_WARNING = 1,
    SWAOT_LOG_ERROR = 2,
} swaot_log_level;

/* One line, without a newline. Called from any thread that uses the
 * handle, including its background compiles. */
typedef void (*swaot_log_fn)(void *user, swaot_log_level level, const char *message);

typedef struct swaot_config {
    const char *cache_dir; /* NULL: swaot_default_cache_dir */
    const char *compiler;  /* NULL: $STRATUS_CC, else clang, gcc, cc on PATH */
    swaot_log_fn log;      /* NULL: silent */
    void *log_user;
    /* SWAOT_AUTO compiles in the background on a thread of the handle's
       (default); false: SWAOT_AUTO only uses what the cache has (for
       short-lived processes, which compile in a process of their own) */
    bool no_background;
} swaot_config;

void swaot_config_init(swaot_config *cfg);

/* $STRATUS_AOT_CACHE, else $XDG_CACHE_HOME/stratus/aot, else
 * $HOME/.cache/stratus/aot, else /tmp/stratus-aot-UID. 0, or -1 when it
 * does not fit in cap. */
int swaot_default_cache_dir(char *out, size_t cap);

typedef struct swaot swaot;

/* A handle on the cache and the compiler. A missing compiler is no error
 * (swaot_has_compiler says so; the handle then only interprets). */
sw_status swaot_open(const swaot_config *cfg, swaot **out, sw_error *err);

/* Ends background compiles still running (their modules stay interpreted)
 * and frees the handle. NULL is fine. */
void swaot_close(swaot *aot);

/* Whether a compiler was found; *why (may be NULL) says why not. */
bool swaot_has_compiler(const swaot *aot, const char **why);

/* The cache directory the handle uses. */
const char *swaot_cache_dir(const swaot *aot);

typedef struct swaot_result {
    bool native;       /* the module has compiled code attached */
    bool from_cache;   /* ... that was found in the cache */
    bool compiled;     /* this call compiled the module */
    bool background;   /* a background compile was started (auto) */
    double compile_ms; /* translating and compiling, when compiled */
    size_t c_bytes;    /* size of the generated C */
    size_t code_bytes; /* size of the artifact */
    char path[1024];   /* the artifact's file, when there is one */
} swaot_result;

/* Gets `module` ready to run in the tier `engine` asks for: for SWAOT_AOT
 * and SWAOT_AUTO, attaches its compiled code when the cache has a good
 * entry (a corrupt one is logged, removed and rebuilt). Otherwise SWAOT_AOT
 * compiles it now (SW_ERR_NOT_FOUND when there is no compiler, another
 * status with err's message when compiling failed) and SWAOT_AUTO starts a
 * background compile, whose result later instances use; without a compiler
 * SWAOT_AUTO logs once per handle and the module stays interpreted. Only
 * instances made after the call run compiled code. res may be NULL. */
sw_status swaot_prepare(swaot *aot, sw_module *module, swaot_engine engine, swaot_result *res,
                        sw_error *err);

/* Compiles `module` into the cache (nothing to do when a good entry is
 * there: res->from_cache), or into the file out_path when given (an
 * artifact for inspection: the runtimes only ever load the cache's). Safe
 * against other processes compiling the same module at once: one compiles,
 * the others find its result. */
sw_status swaot_compile(swaot *aot, const sw_module *module, const char *out_path,
                        swaot_result *res, sw_error *err);

/* The C text the compiled tier makes of `module` (to read, not to build:
 * swaot_compile passes it to the compiler itself). *text is malloc'd and
 * NUL-terminated; the caller frees it. */
sw_status swaot_emit_c(const sw_module *module, char **text, size_t *len, sw_error *err);

/* Waits until the background compiles started so far have ended. */
void swaot_wait(swaot *aot);

#endif
