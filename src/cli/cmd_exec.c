/* `stratus exec`: runs a WASI module here and now, the way a runtime would
 * but without a manager, with the host directories, environment and limits
 * given on the command line. Its exit status is the module's. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "stratus/aot.h"
#include "stratus/wasi.h"
#include "stratus/wasm.h"

/* Exit statuses of our own (documented in --help). */
#define EXEC_USAGE 2
#define EXEC_LOAD_FAILED 125
#define EXEC_TRAPPED 134

static void usage(FILE *out)
{
    fprintf(out,
            "usage: stratus exec [OPTIONS] FILE.wasm [ARGS...]\n"
            "\n"
            "Runs a WebAssembly module's _start with WASI preview1.\n"
            "\n"
            "options:\n"
            "  --dir HOST[:GUEST]  make host directory HOST visible as GUEST (default: HOST);\n"
            "                      nothing outside it can be reached (repeatable)\n"
            "  --env NAME=VALUE    set an environment variable for the module (repeatable;\n"
            "                      the module sees no other host variables)\n"
            "  --max-memory MIB    cap the module's linear memory at MIB mebibytes (default:\n"
            "                      none; pages are only committed when the module uses them)\n"
            "  --engine interp|aot|auto\n"
            "                      interp (default): the interpreter; aot: native code from\n"
            "                      the compiled tier (compiled now with the system C compiler\n"
            "                      unless `stratus compile` cached it); auto: native code when\n"
            "                      the cache has it, else the interpreter, and the module is\n"
            "                      compiled in the background for the next run\n"
            "  --fuel N            stop the module with a trap after N units of fuel\n"
            "                      (one per call and loop iteration; interpreter only)\n"
            "  --count-opcodes     print the executed-opcode histogram to stderr at exit\n"
            "                      (interpreter only)\n"
            "  --walk-paths        resolve paths without openat2 (the portable resolver)\n"
            "  --help              show this text\n"
            "\n"
            "exit status: the module's exit code (0 when _start returns);\n"
            "  %3d  the module trapped (the trap message is printed on stderr)\n"
            "  %3d  the module could not be read, decoded, validated, linked or set up\n"
            "  %3d  bad command line\n",
            EXEC_TRAPPED, EXEC_LOAD_FAILED, EXEC_USAGE);
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-') return false;
    *out = v;
    return true;
}

/* The histogram, most frequent first; 0xFC-prefixed instructions by their
 * own names (the 0xFC line is their total). */
static void print_counts(sw_instance *inst)
{
    enum { N = 256 + SW_FC_COUNT };
    uint64_t counts[N];
    uint32_t codes[N];
    sw_instance_counts(inst, counts);
    sw_instance_counts_fc(inst, counts + 256);
    uint64_t total = 0;
    for (uint32_t i = 0; i < N; i++) {
        codes[i] = i < 256 ? i : SW_OPCODE_FC(i - 256);
        if (i < 256) total += counts[i];
    }
    fprintf(stderr, "opcode histogram (%llu instructions):\n", (unsigned long long)total);
    /* Repeated selection is fine for 274 entries. */
    bool shown[N] = {false};
    for (;;) {
        int best = -1;
        for (int i = 0; i < N; i++)
            if (!shown[i] && counts[i] && (best < 0 || counts[i] > counts[best])) best = i;
        if (best < 0) break;
        shown[best] = true;
        const char *name = codes[best] == 0xFC ? "(0xFC prefix, all)" : sw_opcode_name(codes[best]);
        fprintf(stderr, "  %-6s %-22s %14llu %6.2f%%\n", codes[best] < 256 ? "" : "0xFC",
                name ? name : "?", (unsigned long long)counts[best],
                100.0 * (double)counts[best] / (double)total);
    }
}

struct exec_opts {
    swasi_preopen *dirs;
    size_t ndirs;
    const char **env;
    size_t nenv;
    uint64_t max_memory_mib, fuel;
    bool count, walk_only;
    swaot_engine engine;
    const char *file;
    int argc;
    char **argv;
};

/* Splits HOST[:GUEST]; the guest name defaults to the host path. */
static int add_dir(struct exec_opts *o, char *spec)
{
    swasi_preopen *d = realloc(o->dirs, (o->ndirs + 1) * sizeof *d);
    if (!d) return -1;
    o->dirs = d;
    char *colon = strchr(spec, ':');
    if (colon) {
        *colon = '\0';
        d[o->ndirs].guest_path = colon + 1;
    } else {
        d[o->ndirs].guest_path = spec;
    }
    d[o->ndirs].host_path = spec;
    o->ndirs++;
    return 0;
}

static int parse_args(int argc, char **argv, struct exec_opts *o)
{
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (a[0] != '-') break;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        }
        if (!strcmp(a, "--count-opcodes")) {
            o->count = true;
            continue;
        }
        if (!strcmp(a, "--walk-paths")) {
            o->walk_only = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "stratus exec: %s needs a value\n", a);
            return -1;
        }
        char *v = argv[++i];
        if (!strcmp(a, "--dir")) {
            if (add_dir(o, v)) return -1;
        } else if (!strcmp(a, "--env")) {
            if (!strchr(v, '=')) {
                fprintf(stderr, "stratus exec: --env wants NAME=VALUE, got '%s'\n", v);
                return -1;
            }
            const char **e = realloc(o->env, (o->nenv + 1) * sizeof *e);
            if (!e) return -1;
            o->env = e;
            e[o->nenv++] = v;
        } else if (!strcmp(a, "--max-memory")) {
            if (!parse_u64(v, &o->max_memory_mib) || o->max_memory_mib == 0 ||
                o->max_memory_mib > 4096) {
                fprintf(stderr, "stratus exec: --max-memory wants 1..4096 (MiB)\n");
                return -1;
            }
        } else if (!strcmp(a, "--engine")) {
            if (swaot_engine_parse(v, &o->engine)) {
                fprintf(stderr, "stratus exec: --engine wants interp, aot or auto\n");
                return -1;
            }
        } else if (!strcmp(a, "--fuel")) {
            if (!parse_u64(v, &o->fuel) || o->fuel == 0) {
                fprintf(stderr, "stratus exec: --fuel wants a positive number\n");
                return -1;
            }
        } else {
            fprintf(stderr, "stratus exec: unknown option '%s'\n", a);
            return -1;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "stratus exec: no module given\n");
        usage(stderr);
        return -1;
    }
    if (o->engine == SWAOT_AOT && (o->fuel || o->count)) {
        fprintf(stderr, "stratus exec: --fuel and --count-opcodes run in the interpreter only "
                        "(--engine interp or auto)\n");
        return -1;
    }
    o->file = argv[i];
    o->argc = argc - i;
    o->argv = argv + i;
    return 0;
}

static void aot_log(void *user, swaot_log_level level, const char *message)
{
    (void)user;
    if (level != SWAOT_LOG_INFO) fprintf(stderr, "stratus exec: warning: %s\n", message);
}

/* --engine auto without a cached artifact: `stratus compile` of the module
 * in a process of its own, at low priority, detached from this one (which
 * ends now), so that the next run finds native code. */
static void compile_later(const char *file)
{
    char self[PATH_MAX], real[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0 || !realpath(file, real)) return;
    self[n] = '\0';
    char *argv[] = {self, "compile", "--quiet", "--", real, NULL};
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    extern char **environ;
    pid_t pid;
    if (posix_spawn(&pid, self, &fa, &attr, argv, environ) == 0)
        setpriority(PRIO_PROCESS, (id_t)pid, 10);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
}

static int run(const struct exec_opts *o)
{
    int status = EXEC_LOAD_FAILED;
    sw_error err;
    sw_module *module = NULL;
    sw_linker *linker = NULL;
    swasi_ctx *ctx = NULL;
    sw_instance *inst = NULL;
    swaot *aot = NULL;
    bool compile_afterwards = false;
    sw_status st = sw_module_load_file(o->file, &module, &err);
    if (st != SW_OK) {
        fprintf(stderr, "stratus exec: %s\n", err.message);
        goto out;
    }
    /* fuel and opcode counting are the interpreter's: auto runs there */
    if (o->engine != SWAOT_INTERP && !o->fuel && !o->count) {
        swaot_config acfg;
        swaot_config_init(&acfg);
        acfg.log = aot_log;
        acfg.no_background = true;
        swaot_result res;
        if ((st = swaot_open(&acfg, &aot, &err)) != SW_OK ||
            (st = swaot_prepare(aot, module, o->engine, &res, &err)) != SW_OK) {
            fprintf(stderr, "stratus exec: %s: %s\n", o->file, err.message);
            goto out;
        }
        compile_afterwards = !res.native && swaot_has_compiler(aot, NULL);
    }
    swasi_config cfg;
    swasi_config_init(&cfg);
    cfg.argc = (size_t)o->argc;
    cfg.argv = (const char *const *)o->argv;
    cfg.envc = o->nenv;
    cfg.env = o->env;
    cfg.npreopens = o->ndirs;
    cfg.preopens = o->dirs;
    cfg.walk_only = o->walk_only;
    if ((st = swasi_ctx_new(&cfg, &ctx, &err)) != SW_OK) {
        fprintf(stderr, "stratus exec: %s\n", err.message);
        goto out;
    }
    if ((st = sw_linker_new(&linker)) != SW_OK || (st = swasi_ctx_link(ctx, linker)) != SW_OK) {
        fprintf(stderr, "stratus exec: cannot set up the linker\n");
        goto out;
    }
    sw_limits limits;
    sw_limits_default(&limits);
    if (o->max_memory_mib) limits.max_memory_pages = (uint32_t)(o->max_memory_mib * 16);
    if (o->fuel) limits.fuel = o->fuel;
    st = sw_instance_new(module, linker, &limits, &inst, &err);
    if (st == SW_ERR_TRAP) {
        fprintf(stderr, "stratus exec: trap while instantiating: %s\n", err.message);
        status = EXEC_TRAPPED;
        goto out;
    }
    if (st != SW_OK) {
        fprintf(stderr, "stratus exec: %s: %s\n", o->file, err.message);
        goto out;
    }
    if (o->count && sw_instance_set_counting(inst, true) != SW_OK) {
        fprintf(stderr, "stratus exec: out of memory for opcode counting\n");
        goto out;
    }
    int code = 0;
    fflush(stdout);
    st = swasi_ctx_run(ctx, inst, &code, &err);
    if (st == SW_OK) {
        status = code & 0xFF;
    } else if (st == SW_ERR_TRAP) {
        char text[sizeof err.message + 128];
        sw_error_describe(&err, text, sizeof text);
        fprintf(stderr, "stratus exec: trap: %s\n", text);
        status = EXEC_TRAPPED;
    } else {
        fprintf(stderr, "stratus exec: %s: %s\n", o->file,
                st == SW_ERR_NOT_FOUND ? "no _start function exported" : err.message);
    }
    if (status != 0) {
        char note[160];
        sw_instance_limit_note(inst, note, sizeof note);
        if (note[0]) fprintf(stderr, "stratus exec: %s (--max-memory)\n", note);
    }
    if (o->count) print_counts(inst);
    if (compile_afterwards) compile_later(o->file);
out:
    sw_instance_free(inst);
    sw_linker_free(linker);
    swasi_ctx_free(ctx);
    sw_module_free(module);
    swaot_close(aot);
    return status;
}

int cmd_exec_main(int argc, char **argv)
{
    struct exec_opts o;
    memset(&o, 0, sizeof o);
    int r = parse_args(argc, argv, &o);
    int status = r > 0 ? 0 : r < 0 ? EXEC_USAGE : run(&o);
    free(o.dirs);
    free(o.env);
    return status;
}
