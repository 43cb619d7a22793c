/* `stratus exec`: runs a WASI module here and now, the way a runtime would
 * but without a manager, with the host directories, environment and limits
 * given on the command line. Its exit status is the module's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
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
            "  --fuel N            stop the module with a trap after N units of fuel\n"
            "                      (one per call and loop iteration)\n"
            "  --count-opcodes     print the executed-opcode histogram to stderr at exit\n"
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

/* Mnemonics for the histogram, by first opcode byte. */
static const char *const opcode_names[256] = {
    [0x00] = "unreachable",
    [0x01] = "nop",
    [0x02] = "block",
    [0x03] = "loop",
    [0x04] = "if",
    [0x05] = "else",
    [0x0B] = "end",
    [0x0C] = "br",
    [0x0D] = "br_if",
    [0x0E] = "br_table",
    [0x0F] = "return",
    [0x10] = "call",
    [0x11] = "call_indirect",
    [0x1A] = "drop",
    [0x1B] = "select",
    [0x1C] = "select_t",
    [0x20] = "local.get",
    [0x21] = "local.set",
    [0x22] = "local.tee",
    [0x23] = "global.get",
    [0x24] = "global.set",
    [0x25] = "table.get",
    [0x26] = "table.set",
    [0x28] = "i32.load",
    [0x29] = "i64.load",
    [0x2A] = "f32.load",
    [0x2B] = "f64.load",
    [0x2C] = "i32.load8_s",
    [0x2D] = "i32.load8_u",
    [0x2E] = "i32.load16_s",
    [0x2F] = "i32.load16_u",
    [0x30] = "i64.load8_s",
    [0x31] = "i64.load8_u",
    [0x32] = "i64.load16_s",
    [0x33] = "i64.load16_u",
    [0x34] = "i64.load32_s",
    [0x35] = "i64.load32_u",
    [0x36] = "i32.store",
    [0x37] = "i64.store",
    [0x38] = "f32.store",
    [0x39] = "f64.store",
    [0x3A] = "i32.store8",
    [0x3B] = "i32.store16",
    [0x3C] = "i64.store8",
    [0x3D] = "i64.store16",
    [0x3E] = "i64.store32",
    [0x3F] = "memory.size",
    [0x40] = "memory.grow",
    [0x41] = "i32.const",
    [0x42] = "i64.const",
    [0x43] = "f32.const",
    [0x44] = "f64.const",
    [0x45] = "i32.eqz",
    [0x46] = "i32.eq",
    [0x47] = "i32.ne",
    [0x48] = "i32.lt_s",
    [0x49] = "i32.lt_u",
    [0x4A] = "i32.gt_s",
    [0x4B] = "i32.gt_u",
    [0x4C] = "i32.le_s",
    [0x4D] = "i32.le_u",
    [0x4E] = "i32.ge_s",
    [0x4F] = "i32.ge_u",
    [0x50] = "i64.eqz",
    [0x51] = "i64.eq",
    [0x52] = "i64.ne",
    [0x53] = "i64.lt_s",
    [0x54] = "i64.lt_u",
    [0x55] = "i64.gt_s",
    [0x56] = "i64.gt_u",
    [0x57] = "i64.le_s",
    [0x58] = "i64.le_u",
    [0x59] = "i64.ge_s",
    [0x5A] = "i64.ge_u",
    [0x5B] = "f32.eq",
    [0x5C] = "f32.ne",
    [0x5D] = "f32.lt",
    [0x5E] = "f32.gt",
    [0x5F] = "f32.le",
    [0x60] = "f32.ge",
    [0x61] = "f64.eq",
    [0x62] = "f64.ne",
    [0x63] = "f64.lt",
    [0x64] = "f64.gt",
    [0x65] = "f64.le",
    [0x66] = "f64.ge",
    [0x67] = "i32.clz",
    [0x68] = "i32.ctz",
    [0x69] = "i32.popcnt",
    [0x6A] = "i32.add",
    [0x6B] = "i32.sub",
    [0x6C] = "i32.mul",
    [0x6D] = "i32.div_s",
    [0x6E] = "i32.div_u",
    [0x6F] = "i32.rem_s",
    [0x70] = "i32.rem_u",
    [0x71] = "i32.and",
    [0x72] = "i32.or",
    [0x73] = "i32.xor",
    [0x74] = "i32.shl",
    [0x75] = "i32.shr_s",
    [0x76] = "i32.shr_u",
    [0x77] = "i32.rotl",
    [0x78] = "i32.rotr",
    [0x79] = "i64.clz",
    [0x7A] = "i64.ctz",
    [0x7B] = "i64.popcnt",
    [0x7C] = "i64.add",
    [0x7D] = "i64.sub",
    [0x7E] = "i64.mul",
    [0x7F] = "i64.div_s",
    [0x80] = "i64.div_u",
    [0x81] = "i64.rem_s",
    [0x82] = "i64.rem_u",
    [0x83] = "i64.and",
    [0x84] = "i64.or",
    [0x85] = "i64.xor",
    [0x86] = "i64.shl",
    [0x87] = "i64.shr_s",
    [0x88] = "i64.shr_u",
    [0x89] = "i64.rotl",
    [0x8A] = "i64.rotr",
    [0x8B] = "f32.abs",
    [0x8C] = "f32.neg",
    [0x8D] = "f32.ceil",
    [0x8E] = "f32.floor",
    [0x8F] = "f32.trunc",
    [0x90] = "f32.nearest",
    [0x91] = "f32.sqrt",
    [0x92] = "f32.add",
    [0x93] = "f32.sub",
    [0x94] = "f32.mul",
    [0x95] = "f32.div",
    [0x96] = "f32.min",
    [0x97] = "f32.max",
    [0x98] = "f32.copysign",
    [0x99] = "f64.abs",
    [0x9A] = "f64.neg",
    [0x9B] = "f64.ceil",
    [0x9C] = "f64.floor",
    [0x9D] = "f64.trunc",
    [0x9E] = "f64.nearest",
    [0x9F] = "f64.sqrt",
    [0xA0] = "f64.add",
    [0xA1] = "f64.sub",
    [0xA2] = "f64.mul",
    [0xA3] = "f64.div",
    [0xA4] = "f64.min",
    [0xA5] = "f64.max",
    [0xA6] = "f64.copysign",
    [0xA7] = "i32.wrap_i64",
    [0xA8] = "i32.trunc_f32_s",
    [0xA9] = "i32.trunc_f32_u",
    [0xAA] = "i32.trunc_f64_s",
    [0xAB] = "i32.trunc_f64_u",
    [0xAC] = "i64.extend_i32_s",
    [0xAD] = "i64.extend_i32_u",
    [0xAE] = "i64.trunc_f32_s",
    [0xAF] = "i64.trunc_f32_u",
    [0xB0] = "i64.trunc_f64_s",
    [0xB1] = "i64.trunc_f64_u",
    [0xB2] = "f32.convert_i32_s",
    [0xB3] = "f32.convert_i32_u",
    [0xB4] = "f32.convert_i64_s",
    [0xB5] = "f32.convert_i64_u",
    [0xB6] = "f32.demote_f64",
    [0xB7] = "f64.convert_i32_s",
    [0xB8] = "f64.convert_i32_u",
    [0xB9] = "f64.convert_i64_s",
    [0xBA] = "f64.convert_i64_u",
    [0xBB] = "f64.promote_f32",
    [0xBC] = "i32.reinterpret_f32",
    [0xBD] = "i64.reinterpret_f64",
    [0xBE] = "f32.reinterpret_i32",
    [0xBF] = "f64.reinterpret_i64",
    [0xC0] = "i32.extend8_s",
    [0xC1] = "i32.extend16_s",
    [0xC2] = "i64.extend8_s",
    [0xC3] = "i64.extend16_s",
    [0xC4] = "i64.extend32_s",
    [0xD0] = "ref.null",
    [0xD1] = "ref.is_null",
    [0xD2] = "ref.func",
    [0xFC] = "0xFC prefix (sat/bulk)",
};

static void print_counts(sw_instance *inst)
{
    uint64_t counts[256];
    sw_instance_counts(inst, counts);
    uint64_t total = 0;
    for (int i = 0; i < 256; i++)
        total += counts[i];
    fprintf(stderr, "opcode histogram (%llu instructions):\n", (unsigned long long)total);
    /* Most frequent first: repeated selection is fine for 256 entries. */
    bool shown[256] = {false};
    for (;;) {
        int best = -1;
        for (int i = 0; i < 256; i++)
            if (!shown[i] && counts[i] && (best < 0 || counts[i] > counts[best])) best = i;
        if (best < 0) break;
        shown[best] = true;
        fprintf(stderr, "  0x%02x %-22s %14llu %6.2f%%\n", best,
                opcode_names[best] ? opcode_names[best] : "?", (unsigned long long)counts[best],
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
    o->file = argv[i];
    o->argc = argc - i;
    o->argv = argv + i;
    return 0;
}

static int run(const struct exec_opts *o)
{
    int status = EXEC_LOAD_FAILED;
    sw_error err;
    sw_module *module = NULL;
    sw_linker *linker = NULL;
    swasi_ctx *ctx = NULL;
    sw_instance *inst = NULL;
    sw_status st = sw_module_load_file(o->file, &module, &err);
    if (st != SW_OK) {
        fprintf(stderr, "stratus exec: %s\n", err.message);
        goto out;
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
out:
    sw_instance_free(inst);
    sw_linker_free(linker);
    swasi_ctx_free(ctx);
    sw_module_free(module);
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
