/* The module thread (see module.h): load, link, run with WASI, stream stdout
 * and stderr as data frames on channel 0, report the exit. Output is sent
 * from the module's own thread with a blocking write, so a module that
 * prints faster than the manager reads simply waits: nothing is dropped and
 * the order of writes is the order of frames. */
#define _GNU_SOURCE
#include "module.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "bench_run.h"
#include "module_cache.h"
#include "rt_link.h"
#include "stratus/frame.h"

/* Output is cut into messages no longer than one seed frame. */
#define OUT_CHUNK 65534
/* Restart backoff for args.fault_crash "restart". */
#define RESTART_MAX 5
#define RESTART_FIRST_MS 100
#define RESTART_LAST_MS 2000

static uint64_t now_us(uint64_t clock)
{
    struct timespec ts;
    clock_gettime((clockid_t)clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint8_t control_h1(int index)
{
    return (uint8_t)(FRAME_CONTROL | ((unsigned)index & FRAME_INDEX_MASK));
}

static void send_exit(int index, json_t *exit_data)
{
    char *text = exit_data ? json_dumps(exit_data, JSON_COMPACT) : NULL;
    if (text) {
        rt_link_send(control_h1(index), FRAME_MODULE_EXITED, text, strlen(text));
    } else {
        /* Out of memory: still tell the manager, in a fixed form. */
        static const char fallback[] = "{\"status\":\"failed\",\"reason\":\"out of memory\"}";
        rt_link_send(control_h1(index), FRAME_MODULE_EXITED, fallback, sizeof fallback - 1);
    }
    free(text);
}

void module_report_failed(int index, const char *reason)
{
    json_t *data = json_pack("{s:s, s:s}", "status", "failed", "reason", reason);
    send_exit(index, data);
    json_decref(data);
}

static void note_memory(struct module *m)
{
    uint8_t *base;
    uint64_t size;
    if (m->inst[0] && sw_instance_memory(m->inst[0], NULL, &base, &size) == SW_OK)
        atomic_store(&m->mem_bytes, size);
}

/* stdout and stderr of the module: data frames on channel 0. */
static int on_output(void *user, const uint8_t *buf, size_t len)
{
    struct module *m = user;
    while (len) {
        size_t n = len < OUT_CHUNK ? len : OUT_CHUNK;
        if (rt_link_send((uint8_t)(m->index & FRAME_INDEX_MASK), CHANNEL_STDIO, buf, n) < 0)
            return SWASI_EIO;
        channel_counters_note(&m->counters, true); /* each chunk is a message */
        buf += n;
        len -= n;
    }
    /* Interference runs print from several threads: only a module of one
     * instance (the linux types, whose keepalives report it) notes memory. */
    if (m->env->mode == STRATUS_MODE_RUN) note_memory(m);
    return SWASI_ESUCCESS;
}

/* The deployed profile record (PROTOCOL.md §6), little-endian. CPU times are
 * the module thread's own; maxrss_kb is the whole runtime process's peak,
 * since threads share one address space and the kernel keeps no per-thread
 * figure. */
static void send_profile(struct module *m, uint64_t wall_us)
{
    struct rusage self, proc;
    memset(&self, 0, sizeof self);
    memset(&proc, 0, sizeof proc);
    getrusage(RUSAGE_THREAD, &self);
    getrusage(RUSAGE_SELF, &proc);
    uint64_t fields64[1] = {m->start_us};
    uint32_t fields32[6] = {
        (uint32_t)(wall_us > UINT32_MAX ? UINT32_MAX : wall_us),
        (uint32_t)(self.ru_utime.tv_sec * 1000000 + self.ru_utime.tv_usec),
        (uint32_t)(self.ru_stime.tv_sec * 1000000 + self.ru_stime.tv_usec),
        (uint32_t)proc.ru_maxrss,
        (uint32_t)atomic_load(&m->counters.ch_in),
        (uint32_t)atomic_load(&m->counters.ch_out),
    };
    uint8_t rec[8 + 6 * 4];
    for (int b = 0; b < 8; b++)
        rec[b] = (uint8_t)(fields64[0] >> (8 * b));
    for (int i = 0; i < 6; i++)
        for (int b = 0; b < 4; b++)
            rec[8 + 4 * i + b] = (uint8_t)(fields32[i] >> (8 * b));
    rt_link_send(control_h1(m->index), FRAME_PROFILE, rec, sizeof rec);
}

/* args.engine: compiled code for the module when the tier asked for has or
 * makes it (stratus/aot.h). A module that cannot be compiled runs in the
 * interpreter, and the module log says why; the exit record says which
 * tier ran. */
static void prepare_tier(struct module *m, sw_module *module, swaot_engine tier)
{
    if (!m->env->aot || tier == SWAOT_INTERP) return;
    sw_error err;
    swaot_result res;
    if (swaot_prepare(m->env->aot, module, tier, &res, &err) != SW_OK)
        rt_link_log(m->index, RT_LOG_WARNING, "args.engine \"aot\": %s; running in the interpreter",
                    err.message);
    else if (res.compiled)
        rt_link_log(m->index, RT_LOG_INFO, "compiled %s to native code in %.0f ms", m->spec.file,
                    res.compile_ms);
}

/* The exit record's "engine": the tier the module's code ran in. */
static void note_tier(json_t *result, bool native)
{
    if (result) json_object_set_new(result, "engine", json_string(native ? "aot" : "interp"));
}

static json_t *failed(const char *reason)
{
    return json_pack("{s:s, s:s}", "status", "failed", "reason", reason);
}

/* The exit JSON of a run that got as far as running: st and code from
 * swasi_ctx_run, note from sw_instance_limit_note. */
static json_t *run_result(struct module *m, sw_status st, int code, const sw_error *err,
                          const char *note)
{
    if (atomic_load(&m->killed))
        return json_pack("{s:s, s:s}", "status", "killed", "reason", "deleted");
    if (st == SW_OK && code != 0 && note[0])
        return json_pack("{s:s, s:i, s:s}", "status", "exited", "exit_code", code, "reason", note);
    if (st == SW_OK) return json_pack("{s:s, s:i}", "status", "exited", "exit_code", code);
    if (st == SW_ERR_TRAP) {
        char text[sizeof err->message + 128], full[sizeof text + 170];
        sw_error_describe(err, text, sizeof text);
        if (note[0])
            snprintf(full, sizeof full, "%s; %s", text, note);
        else
            snprintf(full, sizeof full, "%s", text);
        return json_pack("{s:s, s:s}", "status", "trapped", "reason", full);
    }
    if (st == SW_ERR_NOT_FOUND) return failed("the module exports no _start function");
    return failed(err->message);
}

static uint64_t thread_cpu_us(const struct timeval *tv)
{
    return (uint64_t)tv->tv_sec * 1000000u + (uint64_t)tv->tv_usec;
}

json_t *module_run_instance(struct module *m, sw_module *module, struct run_request *rq)
{
    char reason[SPEC_REASON_LEN];
    sw_error err;
    memset(&err, 0, sizeof err);
    json_t *result = NULL;
    sw_linker *linker = NULL;
    swasi_ctx *ctx = NULL;
    sw_instance *inst = NULL;
    swasi_preopen *preopens = calloc(m->spec.ndirs + 1, sizeof *preopens);
    char **hosts = calloc(m->spec.ndirs + 1, sizeof *hosts);
    int slot = rq->slot;
    prepare_tier(m, module, rq->tier);
    if (!preopens || !hosts) {
        result = failed("out of memory");
        goto out;
    }
    for (size_t i = 0; i < m->spec.ndirs; i++) {
        if (!m->env->module_dir) {
            result = json_pack("{s:s, s:s}", "status", "failed", "reason", m->env->dir_error);
            goto out;
        }
        if (module_path_resolve(m->env->module_dir, m->spec.dirs[i], 1, &hosts[i], reason) < 0) {
            result = failed(reason);
            goto out;
        }
        preopens[i].host_path = hosts[i];
        preopens[i].guest_path = m->spec.dirs[i];
    }

    swasi_config cfg;
    swasi_config_init(&cfg);
    cfg.argc = rq->argc;
    cfg.argv = (const char *const *)rq->argv;
    cfg.envc = m->spec.envc;
    cfg.env = (const char *const *)m->spec.env;
    cfg.npreopens = m->spec.ndirs;
    cfg.preopens = preopens;
    cfg.stdio[0] = (swasi_stdio){.host_fd = m->stdin_r};
    cfg.stdio[1] = (swasi_stdio){.host_fd = -1, .write = on_output, .user = m};
    cfg.stdio[2] = (swasi_stdio){.host_fd = -1, .write = on_output, .user = m};
    if (swasi_ctx_new(&cfg, &ctx, &err) != SW_OK) {
        result = failed(err.message);
        goto out;
    }
    if (slot == 0) m->channels.ctx = ctx;
    if (sw_linker_new(&linker) != SW_OK || swasi_ctx_link(ctx, linker) != SW_OK ||
        (m->env->channels && slot == 0 && channel_host_link(&m->channels, linker) != SW_OK)) {
        result = failed("cannot set up the linker");
        goto out;
    }
    uint32_t cap = m->env->max_memory_mib ? m->env->max_memory_mib : 4096;
    if (m->spec.max_memory_mib > cap) {
        snprintf(reason, sizeof reason,
                 "args.max_memory %u MiB is over this runtime's limit of %u MiB",
                 m->spec.max_memory_mib, cap);
        result = failed(reason);
        goto out;
    }
    if (m->spec.max_memory_mib) cap = m->spec.max_memory_mib;
    sw_limits limits;
    sw_limits_default(&limits);
    limits.max_memory_pages = cap * 16;

    /* The run's time: from the new instance (its start function and data
     * segments are the module's work) to the end of _start. */
    struct rusage ru0, ru1;
    getrusage(RUSAGE_THREAD, &ru0);
    uint64_t t0 = now_us(CLOCK_MONOTONIC);
    sw_status st = sw_instance_new(module, linker, &limits, &inst, &err);
    if (st == SW_ERR_TRAP) {
        result = json_pack("{s:s, s:s}", "status", atomic_load(&m->killed) ? "killed" : "trapped",
                           "reason", err.message);
        goto out;
    }
    if (st != SW_OK) {
        snprintf(reason, sizeof reason, "%.200s: %.200s", m->spec.file, err.message);
        result = failed(reason);
        goto out;
    }
    if (rq->count && sw_instance_set_counting(inst, true) != SW_OK) {
        result = failed("out of memory for opcode counting");
        goto out;
    }
    /* From here on a kill reaches the instance; a kill that came earlier
     * interrupts it before it runs a single instruction. */
    pthread_mutex_lock(&m->lock);
    m->inst[slot] = inst;
    m->ctx[slot] = ctx;
    if (atomic_load(&m->killed) || (rq->stop && atomic_load(rq->stop))) sw_instance_interrupt(inst);
    pthread_mutex_unlock(&m->lock);
    if (slot == 0) note_memory(m);

    int code = 0;
    st = swasi_ctx_run(ctx, inst, &code, &err);
    rq->wall_us = now_us(CLOCK_MONOTONIC) - t0;
    getrusage(RUSAGE_THREAD, &ru1);
    rq->utime_us = thread_cpu_us(&ru1.ru_utime) - thread_cpu_us(&ru0.ru_utime);
    rq->stime_us = thread_cpu_us(&ru1.ru_stime) - thread_cpu_us(&ru0.ru_stime);

    pthread_mutex_lock(&m->lock);
    m->inst[slot] = NULL;
    m->ctx[slot] = NULL;
    pthread_mutex_unlock(&m->lock);
    if (rq->count) {
        sw_instance_counts(inst, rq->counts);
        sw_instance_counts_fc(inst, rq->counts_fc);
    }

    bool native = sw_instance_native(inst);
    /* a module that ran short of memory says so in its exit reason */
    char note[160];
    sw_instance_limit_note(inst, note, sizeof note);
    result = run_result(m, st, code, &err, note);
    note_tier(result, native);
out:
    sw_instance_free(inst);
    sw_linker_free(linker);
    swasi_ctx_free(ctx); /* closes the module's channels */
    if (slot == 0) m->channels.ctx = NULL;
    free(preopens);
    for (size_t i = 0; hosts && i < m->spec.ndirs; i++)
        free(hosts[i]);
    free(hosts);
    return result;
}

int module_load(struct module *m, const char *file, sw_module **module, char **path,
                json_t **failure)
{
    char reason[SPEC_REASON_LEN];
    *module = NULL;
    *path = NULL;
    *failure = NULL;
    if (m->spec.file_sha256 && !strcmp(file, m->spec.file)) {
        /* The manager fetched and verified it before it sent the create;
         * the name is 64 hex digits (module_create_check), never a path. */
        if (!m->env->file_dir) {
            *failure = failed("this runtime was started without a file cache (STRATUS_FILE_CACHE)");
            return -1;
        }
        if (asprintf(path, "%s/%s", m->env->file_dir, m->spec.file_sha256) < 0) {
            *path = NULL;
            *failure = failed("out of memory");
            return -1;
        }
    } else if (!m->env->module_dir) {
        *failure = failed(m->env->dir_error);
        return -1;
    } else if (module_path_resolve(m->env->module_dir, file, 0, path, reason) < 0) {
        *failure = failed(reason);
        return -1;
    }
    char why[200];
    if (module_cache_get(*path, module, why, sizeof why) < 0) {
        snprintf(reason, sizeof reason, "%.200s: %s", file, why);
        *failure = failed(reason);
        free(*path);
        *path = NULL;
        return -1;
    }
    return 0;
}

/* Everything from the file to the exit status. Returns the exit JSON. */
static json_t *run_module(struct module *m)
{
    sw_module *module;
    char *path;
    json_t *result;
    if (module_load(m, m->spec.file, &module, &path, &result) < 0) return result;
    struct run_request rq = {
        .argc = m->spec.argc, .argv = m->spec.argv, .tier = (swaot_engine)m->spec.engine};
    result = module_run_instance(m, module, &rq);
    module_cache_put(module);
    free(path);
    return result;
}

/* Sleeps `ms` unless the module is killed first. Returns true when killed. */
static bool wait_unless_killed(struct module *m, unsigned ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until); /* killed_cond waits on this clock */
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&m->lock);
    while (!atomic_load(&m->killed))
        if (pthread_cond_timedwait(&m->killed_cond, &m->lock, &until) == ETIMEDOUT) break;
    pthread_mutex_unlock(&m->lock);
    return atomic_load(&m->killed);
}

static bool trapped(json_t *result)
{
    const char *status = json_string_value(json_object_get(result, "status"));
    return status && !strcmp(status, "trapped");
}

/* args.fault_crash "restart": a module that traps runs again after a
 * backoff that doubles from RESTART_FIRST_MS, at most RESTART_MAX times;
 * each restart is logged, and the exit finally reported says how many
 * there were. A kill during the backoff ends it as killed. */
static json_t *run_with_restarts(struct module *m)
{
    json_t *result = run_module(m);
    unsigned restarts = 0, delay = RESTART_FIRST_MS;
    while (m->spec.fault == FAULT_RESTART && trapped(result) && !atomic_load(&m->killed) &&
           restarts < RESTART_MAX) {
        restarts++;
        rt_link_log(m->index, RT_LOG_WARNING, "module trapped (%s): restart %u of %u in %u ms",
                    json_string_value(json_object_get(result, "reason")), restarts, RESTART_MAX,
                    delay);
        if (wait_unless_killed(m, delay)) {
            json_decref(result);
            result = json_pack("{s:s, s:s}", "status", "killed", "reason", "deleted");
            break;
        }
        delay = delay * 2 > RESTART_LAST_MS ? RESTART_LAST_MS : delay * 2;
        json_decref(result);
        result = run_module(m);
    }
    if (restarts && result) json_object_set_new(result, "restarts", json_integer(restarts));
    return result;
}

static void *module_thread(void *arg)
{
    struct module *m = arg;
    if (m->spec.period_ns) {
        resources_apply(m->spec.period_ns, m->spec.runtime_ns, 1, &m->reservation);
        rt_link_log(m->index,
                    m->reservation.outcome == RES_DEADLINE || m->reservation.outcome == RES_CGROUP
                        ? RT_LOG_INFO
                        : RT_LOG_WARNING,
                    "%s", m->reservation.message);
    }
    uint64_t t0 = now_us(CLOCK_MONOTONIC);
    json_t *result = m->env->mode == STRATUS_MODE_RUN ? run_with_restarts(m) : bench_module_run(m);
    uint64_t wall = now_us(CLOCK_MONOTONIC) - t0;
    if (m->env->profile) send_profile(m, wall);
    atomic_store(&m->finishing, 1);
    send_exit(m->index, result);
    json_decref(result);
    atomic_store(&m->finishing, 2);
    uint64_t one = 1;
    if (write(m->env->wake_fd, &one, sizeof one) < 0) {
        /* The main thread also checks modules when a create needs the slot. */
    }
    return NULL;
}

int module_start(struct module **out, int index, const struct module_env *env,
                 struct module_spec *spec, struct bench_spec *bench)
{
    *out = NULL;
    struct module *m = calloc(1, sizeof *m);
    if (!m) {
        module_spec_free(spec);
        if (bench) bench_spec_free(bench);
        return -1;
    }
    m->index = index;
    m->env = env;
    m->spec = *spec;
    memset(spec, 0, sizeof *spec);
    if (bench) {
        m->bench = *bench;
        memset(bench, 0, sizeof *bench);
    }
    m->stdin_r = m->stdin_w = -1;
    atomic_init(&m->finishing, 0);
    atomic_init(&m->killed, false);
    atomic_init(&m->counters.ch_in, 0);
    atomic_init(&m->counters.ch_out, 0);
    atomic_init(&m->counters.last_active_ms, -1);
    atomic_init(&m->mem_bytes, 0);
    m->start_us = now_us(CLOCK_REALTIME);
    pthread_mutex_init(&m->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&m->killed_cond, &attr);
    pthread_condattr_destroy(&attr);
    channel_host_init(&m->channels, index, &m->spec, env->realm, env->free_topics, &m->counters);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) goto fail;
    m->stdin_r = fds[0];
    m->stdin_w = fds[1];
    if (fcntl(m->stdin_w, F_SETFL, O_NONBLOCK) < 0) goto fail;
    if (pthread_create(&m->thread, NULL, module_thread, m) != 0) goto fail;
    *out = m;
    return 0;
fail:
    if (m->stdin_r >= 0) close(m->stdin_r);
    if (m->stdin_w >= 0) close(m->stdin_w);
    channel_host_destroy(&m->channels);
    pthread_cond_destroy(&m->killed_cond);
    pthread_mutex_destroy(&m->lock);
    module_spec_free(&m->spec);
    bench_spec_free(&m->bench);
    free(m);
    return -1;
}

void module_kill(struct module *m)
{
    atomic_store(&m->killed, true);
    pthread_mutex_lock(&m->lock);
    /* The interrupt hook (installed by swasi_ctx_run) wakes blocking WASI
     * calls; the explicit wake covers a kill before the hook is in place. */
    for (int i = 0; i < MODULE_SLOTS; i++) {
        if (m->inst[i]) sw_instance_interrupt(m->inst[i]);
        if (m->ctx[i]) swasi_ctx_wake(m->ctx[i]);
    }
    pthread_cond_broadcast(&m->killed_cond);
    pthread_mutex_unlock(&m->lock);
}

void module_flush_stdin(struct module *m)
{
    while (m->pending_len && m->stdin_w >= 0) {
        ssize_t n = write(m->stdin_w, m->pending, m->pending_len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n < 0) {
            /* The module is gone (EPIPE): nobody will read this. */
            m->pending_len = 0;
            return;
        }
        memmove(m->pending, m->pending + n, m->pending_len - (size_t)n);
        m->pending_len -= (size_t)n;
    }
}

int module_feed_stdin(struct module *m, const uint8_t *data, size_t len)
{
    channel_counters_note(&m->counters, false);
    if (m->pending_len + len > m->pending_cap) {
        size_t cap = m->pending_cap ? m->pending_cap : 4096;
        while (cap < m->pending_len + len)
            cap *= 2;
        uint8_t *p = realloc(m->pending, cap);
        if (!p) return -1;
        m->pending = p;
        m->pending_cap = cap;
    }
    memcpy(m->pending + m->pending_len, data, len);
    m->pending_len += len;
    module_flush_stdin(m);
    return 0;
}

void module_join(struct module *m)
{
    if (!m) return;
    pthread_join(m->thread, NULL);
    resources_release(&m->reservation);
    if (m->stdin_r >= 0) close(m->stdin_r);
    if (m->stdin_w >= 0) close(m->stdin_w);
    channel_host_destroy(&m->channels);
    pthread_cond_destroy(&m->killed_cond);
    pthread_mutex_destroy(&m->lock);
    module_spec_free(&m->spec);
    bench_spec_free(&m->bench);
    free(m->pending);
    free(m);
}
