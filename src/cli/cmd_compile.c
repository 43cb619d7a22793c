/* `stratus compile`: translates modules to native code for this machine
 * with the compiled tier (include/stratus/aot.h) and stores the artifacts in
 * the node's cache, where `stratus exec --engine aot|auto` and the runtimes
 * find them; or writes one to a file to look at, or prints the C. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "stratus/aot.h"
#include "stratus/wasm.h"

#define COMPILE_USAGE 2
#define COMPILE_FAILED 1

static void usage(FILE *out)
{
    fprintf(out,
            "usage: stratus compile [OPTIONS] FILE.wasm...\n"
            "\n"
            "Translates each WebAssembly module (after validating it) to C, compiles that\n"
            "with the system C compiler into native code for this machine and stores the\n"
            "result in the compiled tier's cache, keyed by the module's SHA-256, the target\n"
            "and the compiler's version. `stratus exec --engine aot|auto` and the runtimes\n"
            "(args.engine) run cached modules as native code; nothing else is ever loaded.\n"
            "A module already in the cache is not compiled again.\n"
            "\n"
            "options:\n"
            "  -o DIR          use DIR as the cache (default: $STRATUS_AOT_CACHE, else\n"
            "                  $XDG_CACHE_HOME/stratus/aot or ~/.cache/stratus/aot)\n"
            "  -o FILE.so      write the artifact of the one module given to FILE.so instead\n"
            "                  (to inspect it; Stratus loads artifacts from its cache only)\n"
            "  --cc COMPILER   the C compiler (default: $STRATUS_CC, else clang, gcc or cc)\n"
            "  --emit-c        print the C translation on stdout, compile nothing\n"
            "  -q, --quiet     print nothing but errors\n"
            "  --help          show this text\n"
            "\n"
            "Prints one line per module: the artifact, whether it came from the cache, the\n"
            "compile time and sizes. Exit status: 0; %d when a module could not be read,\n"
            "validated or compiled (or there is no C compiler); %d on a bad command line.\n",
            COMPILE_FAILED, COMPILE_USAGE);
}

struct compile_opts {
    const char *out, *cc;
    bool emit_c, quiet;
    int first, argc;
    char **argv;
};

static void log_line(void *user, swaot_log_level level, const char *message)
{
    const struct compile_opts *o = user;
    if (level == SWAOT_LOG_INFO && o->quiet) return;
    fprintf(stderr, "stratus compile: %s%s\n", level == SWAOT_LOG_INFO ? "" : "warning: ", message);
}

static bool is_dir(const char *path)
{
    struct stat st;
    size_t n = strlen(path);
    return (n && path[n - 1] == '/') || (stat(path, &st) == 0 && S_ISDIR(st.st_mode));
}

static int emit_one(const char *file)
{
    sw_error err;
    sw_module *m;
    if (sw_module_load_file(file, &m, &err) != SW_OK) {
        fprintf(stderr, "stratus compile: %s\n", err.message);
        return COMPILE_FAILED;
    }
    char *text;
    size_t len;
    sw_status st = swaot_emit_c(m, &text, &len, &err);
    sw_module_free(m);
    if (st != SW_OK) {
        fprintf(stderr, "stratus compile: %s: %s\n", file, err.message);
        return COMPILE_FAILED;
    }
    int rc = fwrite(text, 1, len, stdout) == len ? 0 : COMPILE_FAILED;
    free(text);
    return rc;
}

static int compile_one(swaot *aot, const char *file, const char *out_file, bool quiet)
{
    sw_error err;
    sw_module *m;
    if (sw_module_load_file(file, &m, &err) != SW_OK) {
        fprintf(stderr, "stratus compile: %s\n", err.message);
        return COMPILE_FAILED;
    }
    swaot_result res;
    sw_status st = swaot_compile(aot, m, out_file, &res, &err);
    sw_module_free(m);
    if (st != SW_OK) {
        fprintf(stderr, "stratus compile: %s: %s\n", file, err.message);
        return COMPILE_FAILED;
    }
    if (!quiet) {
        if (res.from_cache)
            printf("%s: %s (in the cache already, %zu KiB)\n", file, res.path,
                   res.code_bytes / 1024);
        else
            printf("%s: %s (compiled in %.0f ms: %zu KiB of C, %zu KiB of code)\n", file, res.path,
                   res.compile_ms, res.c_bytes / 1024, res.code_bytes / 1024);
    }
    return 0;
}

/* 0, 1 after --help, or -1 (said on stderr). */
static int parse_args(int argc, char **argv, struct compile_opts *o)
{
    enum { OPT_CC = 1000, OPT_EMIT_C };
    static const struct option longs[] = {
        {"cc", required_argument, NULL, OPT_CC},
        {"emit-c", no_argument, NULL, OPT_EMIT_C},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+o:qh", longs, NULL)) != -1) {
        switch (c) {
        case 'o': o->out = optarg; break;
        case OPT_CC: o->cc = optarg; break;
        case OPT_EMIT_C: o->emit_c = true; break;
        case 'q': o->quiet = true; break;
        case 'h': usage(stdout); return 1;
        default:
            fprintf(stderr, "stratus compile: unknown option or missing value '%s'\n",
                    argv[optind - 1]);
            return -1;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "stratus compile: no module given\n");
        usage(stderr);
        return -1;
    }
    o->first = optind;
    o->argc = argc;
    o->argv = argv;
    return 0;
}

int cmd_compile_main(int argc, char **argv)
{
    struct compile_opts o;
    memset(&o, 0, sizeof o);
    int r = parse_args(argc, argv, &o);
    if (r) return r > 0 ? 0 : COMPILE_USAGE;
    int status = 0;
    if (o.emit_c) {
        for (int i = o.first; i < argc; i++)
            if (emit_one(argv[i])) status = COMPILE_FAILED;
        return status;
    }
    const char *out_file = NULL, *cache = NULL;
    if (o.out && is_dir(o.out))
        cache = o.out;
    else if (o.out)
        out_file = o.out;
    if (out_file && argc - o.first != 1) {
        fprintf(stderr, "stratus compile: -o FILE.so takes one module (or give a directory)\n");
        return COMPILE_USAGE;
    }
    swaot_config cfg;
    swaot_config_init(&cfg);
    cfg.cache_dir = cache;
    cfg.compiler = o.cc;
    cfg.log = log_line;
    cfg.log_user = &o;
    swaot *aot;
    sw_error err;
    if (swaot_open(&cfg, &aot, &err) != SW_OK) {
        fprintf(stderr, "stratus compile: %s\n", err.message);
        return COMPILE_FAILED;
    }
    const char *why;
    if (!swaot_has_compiler(aot, &why)) {
        fprintf(stderr, "stratus compile: %s\n", why);
        swaot_close(aot);
        return COMPILE_FAILED;
    }
    for (int i = o.first; i < argc; i++)
        if (compile_one(aot, argv[i], out_file, o.quiet)) status = COMPILE_FAILED;
    swaot_close(aot);
    return status;
}
