/* The benchmarking modes (see bench_run.h). A run is judged the same way
 * on every engine: it succeeded when the module exited with 0; any other
 * end is a failed run, recorded as zeros with its reason in the module
 * log. A run that the series' limit interrupts is not a run at all: the
 * series ends and reports the runs done. */
#define _GNU_SOURCE
#include "bench_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_external.h"
#include "bench_watchdog.h"
#include "module_cache.h"
#include "rt_link.h"
#include "stratus/aot.h"
#include "stratus/profile_record.h"
#include "stratus/runtime_types.h"

#define REASON_LEN 256

/* An engine of a run: a tier of the built-in engine, or a command
 * template. */
struct engine {
    const char *name;
    const char *command; /* NULL: built in */
    swaot_engine tier;   /* of the built-in engine */
};

static int engine_find(const struct module_env *env, const char *name, struct engine *out,
                       char *reason)
{
    out->name = name;
    out->command = NULL;
    out->tier = SWAOT_INTERP;
    if (stratus_engine_is_builtin(name, strlen(name))) {
        /* "stratus" is the interpreter; the others are the tiers' names */
        if (swaot_engine_parse(name, &out->tier) < 0) out->tier = SWAOT_INTERP;
        return 0;
    }
    const char *cmd = json_string_value(json_object_get(env->engines, name));
    if (cmd) {
        out->command = cmd;
        return 0;
    }
    char known[160] = "";
    size_t n = 0;
    const char *key;
    json_t *v;
    json_object_foreach(env->engines, key, v) if (n < sizeof known - 1) n +=
        (size_t)snprintf(known + n, sizeof known - n, ", %s", key);
    snprintf(reason, REASON_LEN, "no engine '%.64s' on this runtime (engines: %s%s)", name,
             stratus_builtin_engines_text, known);
    return -1;
}

/* One module file of a series with what its runs need. */
struct target {
    const char *file;  /* as given */
    char *path;        /* real path */
    sw_module *module; /* loaded, when a built-in engine runs it */
};

struct series {
    struct module *m;
    struct bench_watchdog dog;
    uint64_t deadline_us; /* the series' args.limit */
    struct engine *engines;
    size_t nengines;
};

/* How one run ended. */
enum run_end { RUN_OK, RUN_FAILED, RUN_CUT_BY_LIMIT, RUN_KILLED };

static void send_record(struct module *m, const char *type, const uint8_t *rec, size_t len)
{
    uint8_t *frame;
    size_t n;
    if (profile_frame_build(type, rec, len, &frame, &n) < 0) {
        rt_link_log(m->index, RT_LOG_ERROR, "out of memory: the %s record is lost", type);
        return;
    }
    rt_link_send((uint8_t)(FRAME_CONTROL | ((unsigned)m->index & FRAME_INDEX_MASK)),
                 FRAME_PROFILE_TYPED, frame, n);
    free(frame);
}

static int output_to_module(void *user, const uint8_t *buf, size_t len)
{
    struct module *m = user;
    rt_link_send((uint8_t)(m->index & FRAME_INDEX_MASK), CHANNEL_STDIO, buf, len);
    channel_counters_note(&m->counters, true);
    return 0;
}

/* The argv of run i with argv[0] (malloc'd array, borrowed strings). */
static char **run_argv(struct module *m, const char *file, size_t i, size_t *argc)
{
    char **extra = bench_spec_argv(&m->bench, i);
    size_t n = 0;
    if (extra)
        while (extra[n])
            n++;
    else
        n = m->spec.argc - 1;
    char **argv = calloc(n + 2, sizeof *argv);
    if (!argv) return NULL;
    argv[0] = (char *)file;
    for (size_t k = 0; k < n; k++)
        argv[k + 1] = extra ? extra[k] : m->spec.argv[k + 1];
    *argc = n + 1;
    return argv;
}

static const char *json_reason(json_t *result)
{
    const char *r = json_string_value(json_object_get(result, "reason"));
    return r ? r : json_string_value(json_object_get(result, "status"));
}

/* One run of target t on engine e in slot `slot`. Fills times (zeros unless
 * RUN_OK) and, for a failed run, reason. */
static enum run_end run_once(struct series *s, struct target *t, const struct engine *e, int slot,
                             size_t i, bool count, struct run_request *rq, char *reason)
{
    struct module *m = s->m;
    uint64_t now = bench_now_us();
    if (atomic_load(&m->killed)) return RUN_KILLED;
    if (now >= s->deadline_us) return RUN_CUT_BY_LIMIT;
    uint64_t deadline = s->deadline_us;
    bool by_ilimit = false;
    if (m->bench.ilimit_s > 0) {
        uint64_t d = now + (uint64_t)(m->bench.ilimit_s * 1e6);
        if (d < deadline) {
            deadline = d;
            by_ilimit = true;
        }
    }
    size_t argc;
    char **argv = run_argv(m, t->file, i, &argc);
    if (!argv) {
        snprintf(reason, REASON_LEN, "out of memory");
        return RUN_FAILED;
    }
    enum run_end end = RUN_FAILED;
    memset(rq, 0, sizeof *rq);
    if (!e->command) {
        rq->slot = slot;
        rq->argc = argc;
        rq->argv = argv;
        rq->count = count;
        rq->tier = count ? SWAOT_INTERP : e->tier; /* only the interpreter counts */
        rq->stop = &s->dog.cut[slot];
        bench_watchdog_arm(&s->dog, slot, deadline);
        json_t *result = module_run_instance(m, t->module, rq);
        bench_watchdog_disarm(&s->dog, slot);
        const char *status = json_string_value(json_object_get(result, "status"));
        json_t *code = json_object_get(result, "exit_code");
        if (status && !strcmp(status, "exited") && json_integer_value(code) == 0) {
            end = RUN_OK;
        } else if (atomic_load(&m->killed)) {
            end = RUN_KILLED;
        } else if (atomic_load(&s->dog.cut[slot])) {
            end = by_ilimit ? RUN_FAILED : RUN_CUT_BY_LIMIT;
            snprintf(reason, REASON_LEN, "stopped at args.ilimit (%g s)", m->bench.ilimit_s);
        } else if (status && !strcmp(status, "exited")) {
            snprintf(reason, REASON_LEN, "exit code %lld", (long long)json_integer_value(code));
        } else {
            snprintf(reason, REASON_LEN, "%s: %.200s", status ? status : "failed",
                     json_reason(result));
        }
        json_decref(result);
    } else {
        char **cmd = NULL;
        if (external_argv_build(e->command, t->path, m->env->module_dir, argv + 1, &cmd, reason,
                                REASON_LEN) == 0) {
            struct external_run x = {.argv = cmd,
                                     .dir = m->env->module_dir,
                                     .env = m->spec.env,
                                     .deadline_us = deadline,
                                     .killed = &m->killed,
                                     .output = output_to_module,
                                     .user = m};
            if (external_run(&x, reason, REASON_LEN) == 0) {
                rq->wall_us = x.wall_us;
                rq->utime_us = x.utime_us;
                rq->stime_us = x.stime_us;
                if (x.stopped)
                    end = RUN_KILLED;
                else if (x.cut)
                    end = by_ilimit ? RUN_FAILED : RUN_CUT_BY_LIMIT;
                else
                    end = x.exit_code == 0 ? RUN_OK : RUN_FAILED;
                if (x.cut)
                    snprintf(reason, REASON_LEN, "stopped at args.ilimit (%g s)",
                             m->bench.ilimit_s);
                else if (x.exit_code)
                    snprintf(reason, REASON_LEN, "%s exited with status %d", e->name, x.exit_code);
            }
            external_argv_free(cmd);
        }
    }
    free(argv);
    return end;
}

static uint32_t clamp32(uint64_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Load what the engines need: the module itself for the built-in engine,
 * the real path for every engine. */
static int targets_load(struct series *s, struct target *t, size_t n, json_t **failure)
{
    bool builtin = false;
    for (size_t i = 0; i < s->nengines; i++)
        builtin |= !s->engines[i].command;
    for (size_t i = 0; i < n; i++) {
        t[i].file = s->m->bench.files[i];
        if (module_load(s->m, t[i].file, &t[i].module, &t[i].path, failure) < 0) return -1;
        if (!builtin) {
            /* An external engine reads the file itself; the load above only
             * proved it is a module the runtime may run. */
            module_cache_put(t[i].module);
            t[i].module = NULL;
        }
    }
    return 0;
}

static void targets_free(struct target *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i].module) module_cache_put(t[i].module);
        free(t[i].path);
    }
}

static void log_failed_run(struct module *m, const char *file, size_t i, const char *reason)
{
    rt_link_log(m->index, RT_LOG_WARNING, "run %zu of %.200s failed: %s", i + 1, file, reason);
}

/* `benchmarking`: the series. */
static json_t *run_series(struct series *s, struct target *t)
{
    struct module *m = s->m;
    struct profile_run *runs = calloc(m->bench.repeat, sizeof *runs);
    if (!runs) return json_pack("{s:s, s:s}", "status", "failed", "reason", "out of memory");
    size_t done = 0, failed = 0;
    enum run_end end = RUN_OK;
    for (size_t i = 0; i < m->bench.repeat; i++) {
        struct run_request rq;
        char reason[REASON_LEN] = "";
        end = run_once(s, t, &s->engines[i % s->nengines], 0, i, false, &rq, reason);
        if (end == RUN_KILLED || end == RUN_CUT_BY_LIMIT) break;
        if (end == RUN_OK) {
            runs[done] = (struct profile_run){clamp32(rq.wall_us), clamp32(rq.utime_us),
                                              clamp32(rq.stime_us)};
        } else {
            log_failed_run(m, t->file, i, reason);
            failed++;
        }
        done++;
    }
    uint8_t *rec;
    size_t len;
    if (profile_encode_benchmarking(runs, done, &rec, &len) == 0) {
        send_record(m, profile_kind_name(PROFILE_BENCHMARKING), rec, len);
        free(rec);
    }
    free(runs);
    if (end == RUN_KILLED)
        return json_pack("{s:s, s:s, s:I}", "status", "killed", "reason", "deleted", "runs",
                         (json_int_t)done);
    json_t *exit =
        json_pack("{s:s, s:i, s:I, s:I}", "status", "exited", "exit_code", failed ? 1 : 0, "runs",
                  (json_int_t)done, "failed", (json_int_t)failed);
    if (end == RUN_CUT_BY_LIMIT && exit) {
        char why[128];
        snprintf(why, sizeof why, "args.limit (%g s) reached after %zu of %u runs",
                 m->bench.limit_s, done, m->bench.repeat);
        json_object_set_new(exit, "reason", json_string(why));
    }
    return exit;
}

/* `benchmarking/opcodes`: one counted run. */
static json_t *run_opcodes(struct series *s, struct target *t)
{
    struct module *m = s->m;
    if (s->engines[0].command)
        return json_pack("{s:s, s:s}", "status", "failed", "reason",
                         "opcode counting needs the built-in engine (stratus)");
    struct run_request *rq = calloc(1, sizeof *rq);
    if (!rq) return json_pack("{s:s, s:s}", "status", "failed", "reason", "out of memory");
    char reason[REASON_LEN] = "";
    enum run_end end = run_once(s, t, &s->engines[0], 0, 0, true, rq, reason);
    if (end == RUN_KILLED) {
        free(rq);
        return json_pack("{s:s, s:s}", "status", "killed", "reason", "deleted");
    }
    if (end != RUN_OK) log_failed_run(m, t->file, 0, reason);
    uint8_t *rec;
    size_t len;
    if (profile_encode_opcodes(rq->counts, &rec, &len) == 0) {
        send_record(m, profile_kind_name(PROFILE_OPCODES), rec, len);
        free(rec);
    }
    struct profile_prefixed fc[SW_FC_COUNT];
    for (int i = 0; i < SW_FC_COUNT; i++)
        fc[i] = (struct profile_prefixed){0xFC, (uint32_t)i, rq->counts_fc[i]};
    if (profile_encode_prefixed(fc, SW_FC_COUNT, &rec, &len) == 0) {
        send_record(m, profile_kind_name(PROFILE_OPCODES_PREFIXED), rec, len);
        free(rec);
    }
    free(rq);
    json_t *exit =
        json_pack("{s:s, s:i, s:I, s:I}", "status", "exited", "exit_code", end == RUN_OK ? 0 : 1,
                  "runs", (json_int_t)1, "failed", (json_int_t)(end != RUN_OK));
    if (end != RUN_OK && exit) json_object_set_new(exit, "reason", json_string(reason));
    return exit;
}

/* `benchmarking/interference`: one looping thread per module. */
struct looper {
    struct series *s;
    struct target *t;
    int slot;
    pthread_t thread;
    bool started;
    uint32_t *walls;
    size_t n, cap, failed;
    bool oom;
};

static void *loop_thread(void *arg)
{
    struct looper *l = arg;
    struct module *m = l->s->m;
    for (size_t i = 0;; i++) {
        if (m->bench.repeat_given && i >= m->bench.repeat) break;
        struct run_request rq;
        char reason[REASON_LEN] = "";
        enum run_end end = run_once(l->s, l->t, &l->s->engines[(size_t)l->slot % l->s->nengines],
                                    l->slot, i, false, &rq, reason);
        if (end == RUN_KILLED || end == RUN_CUT_BY_LIMIT) break;
        if (end != RUN_OK) {
            log_failed_run(m, l->t->file, i, reason);
            l->failed++;
        }
        if (l->n == l->cap) {
            size_t cap = l->cap ? 2 * l->cap : 64;
            uint32_t *grown =
                cap <= PROFILE_RUNS_MAX ? realloc(l->walls, cap * sizeof *grown) : NULL;
            if (!grown) {
                l->oom = true;
                break;
            }
            l->walls = grown;
            l->cap = cap;
        }
        l->walls[l->n++] = end == RUN_OK ? clamp32(rq.wall_us) : 0;
    }
    return NULL;
}

static json_t *run_interference(struct series *s, struct target *t, size_t n)
{
    struct module *m = s->m;
    struct looper loopers[BENCH_FILES_MAX];
    memset(loopers, 0, sizeof loopers);
    for (size_t i = 0; i < n; i++) {
        loopers[i] = (struct looper){.s = s, .t = &t[i], .slot = (int)i};
        loopers[i].started =
            pthread_create(&loopers[i].thread, NULL, loop_thread, &loopers[i]) == 0;
        if (!loopers[i].started) module_kill(m); /* ends the others too */
    }
    for (size_t i = 0; i < n; i++)
        if (loopers[i].started) pthread_join(loopers[i].thread, NULL);
    struct profile_series series[BENCH_FILES_MAX];
    size_t total = 0, failed = 0;
    bool oom = false;
    char keys[BENCH_FILES_MAX][300];
    for (size_t i = 0; i < n; i++) {
        snprintf(keys[i], sizeof keys[i], "%zu:%.250s", i, t[i].file);
        series[i] = (struct profile_series){keys[i], loopers[i].n, loopers[i].walls};
        total += loopers[i].n;
        failed += loopers[i].failed;
        oom |= loopers[i].oom || !loopers[i].started;
    }
    uint8_t *rec;
    size_t len;
    if (profile_encode_interference(series, n, &rec, &len) == 0) {
        send_record(m, profile_kind_name(PROFILE_INTERFERENCE), rec, len);
        free(rec);
    }
    for (size_t i = 0; i < n; i++)
        free(loopers[i].walls);
    if (atomic_load(&m->killed))
        return json_pack("{s:s, s:s, s:I}", "status", "killed", "reason", "deleted", "runs",
                         (json_int_t)total);
    json_t *exit =
        json_pack("{s:s, s:i, s:I, s:I}", "status", "exited", "exit_code", failed || oom ? 1 : 0,
                  "runs", (json_int_t)total, "failed", (json_int_t)failed);
    if (oom && exit)
        json_object_set_new(exit, "reason",
                            json_string("out of memory (or threads): some series ended early"));
    return exit;
}

json_t *bench_module_run(struct module *m)
{
    char reason[REASON_LEN];
    struct series s = {.m = m, .nengines = m->bench.nengines};
    s.deadline_us = bench_now_us() + (uint64_t)(m->bench.limit_s * 1e6);
    size_t nfiles = m->env->mode == STRATUS_MODE_INTERFERENCE ? m->bench.nfiles : 1;
    if (m->env->mode != STRATUS_MODE_INTERFERENCE && m->bench.nfiles > 1)
        return json_pack("{s:s, s:s}", "status", "failed", "reason",
                         "several module files (a:b) are for benchmarking/interference");
    if (!nfiles || !m->bench.nengines)
        return json_pack("{s:s, s:s}", "status", "failed", "reason", "no module file or engine");
    s.engines = calloc(s.nengines, sizeof *s.engines);
    if (!s.engines) return json_pack("{s:s, s:s}", "status", "failed", "reason", "out of memory");
    for (size_t i = 0; i < s.nengines; i++)
        if (engine_find(m->env, m->bench.engines[i], &s.engines[i], reason) < 0) {
            free(s.engines);
            return json_pack("{s:s, s:s}", "status", "failed", "reason", reason);
        }
    struct target targets[BENCH_FILES_MAX];
    memset(targets, 0, sizeof targets);
    json_t *result = NULL;
    if (targets_load(&s, targets, nfiles, &result) < 0) goto out;
    if (bench_watchdog_start(&s.dog, m) < 0) {
        result = json_pack("{s:s, s:s}", "status", "failed", "reason", "cannot start a thread");
        goto out;
    }
    switch (m->env->mode) {
    case STRATUS_MODE_OPCODES: result = run_opcodes(&s, targets); break;
    case STRATUS_MODE_INTERFERENCE: result = run_interference(&s, targets, nfiles); break;
    default: result = run_series(&s, targets); break;
    }
    bench_watchdog_stop(&s.dog);
out:
    targets_free(targets, nfiles);
    free(s.engines);
    return result;
}
