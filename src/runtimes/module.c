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
    if (m->inst && sw_instance_memory(m->inst, NULL, &base, &size) == SW_OK)
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
    note_memory(m);
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
static void prepare_tier(struct module *m, sw_module *module)
{
    if (!m->env->aot || m->spec.engine == SPEC_ENGINE_INTERP) return;
    sw_error err;
    swaot_result res;
    if (swaot_prepare(m->env->aot, module, (swaot_engine)m->spec.engine, &res, &err) != SW_OK)
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

/* Everything from the file to the exit status. Returns the exit JSON. */
static json_t *run_module(struct module *m)
{
    char reason[SPEC_REASON_LEN];
    sw_error err;
    memset(&err, 0, sizeof err);
    char *path = NULL;
    if (m->spec.file_sha256) {
        /* The manager fetched and verified it before it sent the create;
         * the name is 64 hex digits (module_create_check), never a path. */
        if (!m->env->file_dir)
            return json_pack("{s:s, s:s}", "status", "failed", "reason",
                             "this runtime was started without a file cache (STRATUS_FILE_CACHE)");
        if (asprintf(&path, "%s/%s", m->env->file_dir, m->spec.file_sha256) < 0)
            return json_pack("{s:s, s:s}", "status", "failed", "reason", "out of memory");
    } else if (!m->env->module_dir) {
        return json_pack("{s:s, s:s}", "status", "failed", "reason", m->env->dir_error);
    } else if (module_path_resolve(m->env->module_dir, m->spec.file, 0, &path, reason) < 0) {
        return json_pack("{s:s, s:s}", "status", "failed", "reason", reason);
    }

    json_t *result = NULL;
    sw_module *module = NULL;
    sw_linker *linker = NULL;
    swasi_ctx *ctx = NULL;
    sw_instance *inst = NULL;
    swasi_preopen *preopens = NULL;
    char **hosts = NULL;

    char why[200];
    if (module_cache_get(path, &module, why, sizeof why) < 0) {
        snprintf(reason, sizeof reason, "%.200s: %s", m->spec.file, why);
        result = json_pack("{s:s, s:s}", "status", "failed", "reason", reason);
        goto out;
    }
    prepare_tier(m, module);

    preopens = calloc(m->spec.ndirs + 1, sizeof *preopens);
    hosts = calloc(m->spec.ndirs + 1, sizeof *hosts);
    if (!preopens || !hosts) {
        result = json_pack("{s:s, s:s}", "status", "failed", "reason", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < m->spec.ndirs; i++) {
        if (!m->env->module_dir) {
            result = json_pack("{s:s, s:s}", "status", "failed", "reason", m->env->dir_error);
            goto out;
        }
        if (module_path_resolve(m->env->module_dir, m->spec.dirs[i], 1, &hosts[i], reason) < 0) {
            result = json_pack("{s:s, s:s}", "status", "failed", "reason", reason);
            goto out;
        }
        preopens[i].host_path = hosts[i];
        preopens[i].guest_path = m->spec.dirs[i];
    }

    swasi_config cfg;
    swasi_config_init(&cfg);
    cfg.argc = m->spec.argc;
    cfg.argv = (const char *const *)m->spec.argv;
    cfg.envc = m->spec.envc;
    cfg.env = (const char *const *)m->spec.env;
    cfg.npreopens = m->spec.ndirs;
    cfg.preopens = preopens;
    cfg.stdio[0] = (swasi_stdio){.host_fd = m->stdin_r};
    cfg.stdio[1] = (swasi_stdio){.host_fd = -1, .write = on_output, .user = m};
    cfg.stdio[2] = (swasi_stdio){.host_fd = -1, .write = on_output, .user = m};
    if (swasi_ctx_new(&cfg, &ctx, &err) != SW_OK) {
        result = json_pack("{s:s, s:s}", "status", "failed", "reason", err.message);
        goto out;
    }
    m->channels.ctx = ctx;
    if (sw_linker_new(&linker) != SW_OK || swasi_ctx_link(ctx, linker) != SW_OK ||
        (m->env->channels && channel_host_link(&m->channels, linker) != SW_OK)) {
        result = json_pack("{s:s, s:s}", "status", "failed", "reason", "cannot set up the linker");
        goto out;
    }
    uint32_t cap = m->env->max_memory_mib ? m->env->max_memory_mib : 4096;
    if (m->spec.max_memory_mib > cap) {
        snprintf(reason, sizeof reason,
                 "args.max_memory %u MiB is over this runtime's limit of %u MiB",
                 m->spec.max_memory_mib, cap);
        result = json_pack("{s:s, s:s}", "status", "failed", "reason", reason);
        goto out;
    }
    if (m->spec.max_memory_mib) cap = m->spec.max_memory_mib;
    sw_limits limits;
    sw_limits_default(&limits);
    limits.max_memory_pages = cap * 16;
    sw_status st = sw_instance_new(module, linker, &limits, &inst, &err);
    if (st == SW_ERR_TRAP) {
        result = json_pack("{s:s, s:s}", "status", atomic_load(&m->killed) ? "killed" : "trapped",
                           "reason", err.message);
        goto out;
    }
    if (st != SW_OK) {
        snprintf(reason, sizeof reason, "%.200s: %.200s", m->spec.file, err.message);
        result = json_pack("{s:s, s:s}", "status", "failed", "reason", reason);
        goto out;
    }
    /* From here on a kill reaches the instance; a kill that came earlier
     * interrupts it before it runs a single instruction. */
    pthread_mutex_lock(&m->lock);
    m->inst = inst;
    m->ctx = ctx;
    if (atomic_load(&m->killed)) sw_instance_interrupt(inst);
    pthread_mutex_unlock(&m->lock);
    note_memory(m);

    int code = 0;
    st = swasi_ctx_run(ctx, inst, &code, &err);

    pthread_mutex_lock(&m->lock);
    m->inst = NULL;
    m->ctx = NULL;
    pthread_mutex_unlock(&m->lock);

    bool native = sw_instance_native(inst);
    /* a module that ran short of memory says so in its exit reason */
    char note[160];
    sw_instance_limit_note(inst, note, sizeof note);
    if (atomic_load(&m->killed)) {
        result = json_pack("{s:s, s:s}", "status", "killed", "reason", "deleted");
    } else if (st == SW_OK && code != 0 && note[0]) {
        result =
            json_pack("{s:s, s:i, s:s}", "status", "exited", "exit_code", code, "reason", note);
    } else if (st == SW_OK) {
        result = json_pack("{s:s, s:i}", "status", "exited", "exit_code", code);
    } else if (st == SW_ERR_TRAP) {
        char text[sizeof err.message + 128], full[sizeof text + 170];
        sw_error_describe(&err, text, sizeof text);
        if (note[0])
            snprintf(full, sizeof full, "%s; %s", text, note);
        else
            snprintf(full, sizeof full, "%s", text);
        result = json_pack("{s:s, s:s}", "status", "trapped", "reason", full);
    } else if (st == SW_ERR_NOT_FOUND) {
        result = json_pack("{s:s, s:s}", "status", "failed", "reason",
                           "the module exports no _start function");
    } else {
        result = json_pack("{s:s, s:s}", "status", "failed", "reason", err.message);
    }
    note_tier(result, native);
out:
    sw_instance_free(inst);
    sw_linker_free(linker);
    swasi_ctx_free(ctx); /* closes the module's channels */
    m->channels.ctx = NULL;
    module_cache_put(module);
    free(preopens);
    for (size_t i = 0; hosts && i < m->spec.ndirs; i++)
        free(hosts[i]);
    free(hosts);
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
    json_t *result = run_with_restarts(m);
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
                 struct module_spec *spec)
{
    *out = NULL;
    struct module *m = calloc(1, sizeof *m);
    if (!m) {
        module_spec_free(spec);
        return -1;
    }
    m->index = index;
    m->env = env;
    m->spec = *spec;
    memset(spec, 0, sizeof *spec);
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
    free(m);
    return -1;
}

void module_kill(struct module *m)
{
    atomic_store(&m->killed, true);
    pthread_mutex_lock(&m->lock);
    /* The interrupt hook (installed by swasi_ctx_run) wakes blocking WASI
     * calls; the explicit wake covers a kill before the hook is in place. */
    if (m->inst) sw_instance_interrupt(m->inst);
    if (m->ctx) swasi_ctx_wake(m->ctx);
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
    free(m->pending);
    free(m);
}
