/* The compiled tier's public side (include/stratus/aot.h): the cache of
 * artifacts, keyed and locked; compiling a module (emit C, run the
 * compiler, seal, rename into place); loading and attaching; background
 * compiles on threads of their own.
 *
 * Cache layout, one directory per node: MODULE-CONFIG.so where MODULE is
 * the module's SHA-256 in hex and CONFIG the first 16 hex digits of the
 * SHA-256 of everything else that decides the code (the engine's ABI, the
 * translator's version, the compiler's identity, target and flags); beside
 * each, MODULE-CONFIG.so.lock, which a compile holds (flock) while it runs,
 * so that concurrent compiles of one module, in any processes, produce one
 * artifact; and `compilers`, the versions of the compilers seen, so that
 * finding the compiler costs a stat and not a process. Files appear by
 * rename only, never half-written. */
#define _GNU_SOURCE
#include "stratus/aot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "artifact.h"
#include "c_emit.h"
#include "elf_image.h"
#include "native.h"
#include "stratus/sha256.h"
#include "toolchain.h"

struct bg_job {
    struct swaot *aot;
    sw_module *module; /* a reference of the job's own */
    uint8_t sha[SHA256_DIGEST_LEN];
    pthread_t thread;
    volatile pid_t child;
    atomic_bool done;
    struct bg_job *next;
};

struct swaot {
    char cache_dir[PATH_MAX];
    struct toolchain tc;
    bool have_tc;
    char no_tc[300];
    atomic_bool told_no_tc;
    char config_id[17];
    swaot_log_fn log;
    void *log_user;
    bool no_background;
    pthread_mutex_t lock;
    struct bg_job *jobs;
    /* modules whose compile failed: not tried again in the background */
    uint8_t (*failed)[SHA256_DIGEST_LEN];
    size_t nfailed;
    atomic_uint tmp_counter;
};

int swaot_engine_parse(const char *name, swaot_engine *out)
{
    static const char *const names[] = {"interp", "aot", "auto"};
    for (int i = 0; name && i < 3; i++)
        if (!strcmp(name, names[i])) {
            *out = (swaot_engine)i;
            return 0;
        }
    return -1;
}

const char *swaot_engine_name(swaot_engine engine)
{
    switch (engine) {
    case SWAOT_INTERP: return "interp";
    case SWAOT_AOT: return "aot";
    case SWAOT_AUTO: return "auto";
    }
    return "?";
}

void swaot_config_init(swaot_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
}

int swaot_default_cache_dir(char *out, size_t cap)
{
    const char *v = getenv("STRATUS_AOT_CACHE");
    int n;
    if (v && *v)
        n = snprintf(out, cap, "%s", v);
    else if ((v = getenv("XDG_CACHE_HOME")) && *v == '/')
        n = snprintf(out, cap, "%s/stratus/aot", v);
    else if ((v = getenv("HOME")) && *v == '/')
        n = snprintf(out, cap, "%s/.cache/stratus/aot", v);
    else
        n = snprintf(out, cap, "/tmp/stratus-aot-%ld", (long)getuid());
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

static void say(struct swaot *a, swaot_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(struct swaot *a, swaot_log_level level, const char *fmt, ...)
{
    if (!a->log) return;
    char line[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    a->log(a->log_user, level, line);
}

static void set_err(sw_error *err, sw_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(sw_error *err, sw_status st, const char *fmt, ...)
{
    if (!err) return;
    memset(err, 0, sizeof *err);
    err->status = st;
    err->func_index = -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    snprintf(err->reason, sizeof err->reason, "%s", err->message);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* mkdir -p, private to the node's user. */
static int make_dirs(const char *path)
{
    char p[PATH_MAX];
    if ((size_t)snprintf(p, sizeof p, "%s", path) >= sizeof p) return -1;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) return -1;
        *s = '/';
    }
    return mkdir(p, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

sw_status swaot_open(const swaot_config *cfg, swaot **out, sw_error *err)
{
    *out = NULL;
    struct swaot *a = calloc(1, sizeof *a);
    if (!a) {
        set_err(err, SW_ERR_NOMEM, "out of memory");
        return SW_ERR_NOMEM;
    }
    if (cfg && cfg->cache_dir) {
        if ((size_t)snprintf(a->cache_dir, sizeof a->cache_dir, "%s", cfg->cache_dir) >=
            sizeof a->cache_dir) {
            free(a);
            set_err(err, SW_ERR_ARG, "cache directory name too long");
            return SW_ERR_ARG;
        }
    } else if (swaot_default_cache_dir(a->cache_dir, sizeof a->cache_dir) != 0) {
        free(a);
        set_err(err, SW_ERR_ARG, "cache directory name too long");
        return SW_ERR_ARG;
    }
    if (cfg) {
        a->log = cfg->log;
        a->log_user = cfg->log_user;
        a->no_background = cfg->no_background;
    }
    pthread_mutex_init(&a->lock, NULL);
    char ids[PATH_MAX + 16];
    snprintf(ids, sizeof ids, "%s/compilers", a->cache_dir);
    make_dirs(a->cache_dir); /* best effort: without it nothing is cached */
    a->have_tc =
        toolchain_find(cfg ? cfg->compiler : NULL, ids, &a->tc, a->no_tc, sizeof a->no_tc) == 0;
    if (a->have_tc) {
        char key[sizeof a->tc.identity + 128];
        snprintf(key, sizeof key, "abi=%d;emitter=%s;%s", SW_NATIVE_ABI_VERSION, aot_emitter_id,
                 a->tc.identity);
        uint8_t d[SHA256_DIGEST_LEN];
        sha256(key, strlen(key), d);
        char hex[SHA256_HEX_LEN];
        sha256_hex(d, hex);
        memcpy(a->config_id, hex, 16);
    }
    *out = a;
    return SW_OK;
}

bool swaot_has_compiler(const swaot *aot, const char **why)
{
    if (why) *why = aot->have_tc ? "" : aot->no_tc;
    return aot->have_tc;
}

const char *swaot_cache_dir(const swaot *aot)
{
    return aot->cache_dir;
}

static void module_sha(const sw_module *m, uint8_t out[SHA256_DIGEST_LEN])
{
    size_t len;
    const uint8_t *bytes = sw__module_bytes(m, &len);
    sha256(bytes, len, out);
}

static int entry_path(const struct swaot *a, const uint8_t sha[SHA256_DIGEST_LEN], char *out,
                      size_t cap)
{
    char hex[SHA256_HEX_LEN];
    sha256_hex(sha, hex);
    int n = snprintf(out, cap, "%s/%s-%s.so", a->cache_dir, hex, a->config_id);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* Loads the artifact at path and attaches it. 0 (attached, or another
 * thread attached first), 1 (no such file), -1 (not a good artifact for
 * this module: why). */
static int load_attach(sw_module *m, const uint8_t sha[SHA256_DIGEST_LEN], const char *path,
                       char *why, size_t cap)
{
    uint8_t *code;
    size_t len;
    int rc = artifact_read(path, &code, &len, why, cap);
    if (rc != 0) return rc;
    struct elf_image *img;
    const void *desc;
    rc = elf_image_load(code, len, SW_NATIVE_SYMBOL, &img, &desc, why, cap);
    free(code);
    if (rc != 0) return -1;
    struct sw_native_image ni = {
        .desc = desc, .handle = img, .func_at = elf_image_func_at, .release = elf_image_free};
    elf_image_code(img, &ni.code_lo, &ni.code_hi);
    sw_status st = sw__module_attach_native(m, &ni, sha, why, cap);
    if (st == SW_OK) return 0;
    elf_image_free(img);
    return sw__module_has_native(m) ? 0 : -1;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Writes len bytes to a new file. */
static int write_file(const char *path, const char *text, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)w;
    }
    return close(fd);
}

/* Compiles m into `final` under its lock: nothing to do when a good
 * artifact is already there (res->from_cache), unless `force`. */
static sw_status compile_into(struct swaot *a, const sw_module *m,
                              const uint8_t sha[SHA256_DIGEST_LEN], const char *final, bool force,
                              bool background, volatile pid_t *child, swaot_result *res,
                              sw_error *err)
{
    char lock[PATH_MAX + 8], dir[PATH_MAX];
    snprintf(lock, sizeof lock, "%s.lock", final);
    snprintf(dir, sizeof dir, "%s", final);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, slash ? "/" : ".");
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd < 0) {
        set_err(err, SW_ERR_IO, "cannot use the cache %s: %s", dir, strerror(errno));
        return SW_ERR_IO;
    }
    while (flock(lfd, LOCK_EX) != 0 && errno == EINTR) {
    }
    sw_status st = SW_OK;
    char why[400];
    uint8_t *code = NULL;
    size_t code_len = 0;
    if (!force && artifact_read(final, &code, &code_len, why, sizeof why) == 0) {
        free(code);
        res->from_cache = true;
        res->code_bytes = code_len;
        goto out;
    }
    double t0 = now_ms();
    char *text = NULL;
    size_t len = 0;
    st = aot_emit_c(m, sha, &text, &len, why, sizeof why);
    if (st != SW_OK) {
        set_err(err, st, "cannot translate the module: %s", why);
        goto out;
    }
    char tmp_c[PATH_MAX], tmp_so[PATH_MAX];
    unsigned n = atomic_fetch_add(&a->tmp_counter, 1);
    snprintf(tmp_c, sizeof tmp_c, "%s/.tmp-%ld-%u.c", dir, (long)getpid(), n);
    snprintf(tmp_so, sizeof tmp_so, "%s/.tmp-%ld-%u.so", dir, (long)getpid(), n);
    if (write_file(tmp_c, text, len) != 0) {
        set_err(err, SW_ERR_IO, "cannot write %s: %s", tmp_c, strerror(errno));
        free(text);
        unlink(tmp_c);
        st = SW_ERR_IO;
        goto out;
    }
    free(text);
    res->c_bytes = len;
    if (toolchain_compile(&a->tc, tmp_c, tmp_so, background, child, why, sizeof why) != 0) {
        set_err(err, SW_ERR_INVALID, "cannot compile the module: %s", why);
        st = SW_ERR_INVALID;
    } else if (artifact_seal(tmp_so, why, sizeof why) != 0 || rename(tmp_so, final) != 0) {
        set_err(err, SW_ERR_IO, "cannot store the artifact %s: %s", final,
                why[0] ? why : strerror(errno));
        st = SW_ERR_IO;
    }
    if (st == SW_OK || !getenv("STRATUS_AOT_KEEP_C")) unlink(tmp_c);
    unlink(tmp_so);
    if (st == SW_OK) {
        res->compiled = true;
        res->compile_ms = now_ms() - t0;
        long size = file_size(final);
        res->code_bytes = size > 0 ? (size_t)size : 0;
    }
out:
    flock(lfd, LOCK_UN);
    close(lfd);
    if (st == SW_OK) snprintf(res->path, sizeof res->path, "%s", final);
    return st;
}

static bool failed_before(struct swaot *a, const uint8_t sha[SHA256_DIGEST_LEN])
{
    for (size_t i = 0; i < a->nfailed; i++)
        if (!memcmp(a->failed[i], sha, SHA256_DIGEST_LEN)) return true;
    return false;
}

static void note_failed(struct swaot *a, const uint8_t sha[SHA256_DIGEST_LEN])
{
    pthread_mutex_lock(&a->lock);
    if (!failed_before(a, sha)) {
        uint8_t(*f)[SHA256_DIGEST_LEN] = realloc(a->failed, (a->nfailed + 1) * sizeof *f);
        if (f) {
            a->failed = f;
            memcpy(a->failed[a->nfailed++], sha, SHA256_DIGEST_LEN);
        }
    }
    pthread_mutex_unlock(&a->lock);
}

static void *background_compile(void *arg)
{
    struct bg_job *job = arg;
    struct swaot *a = job->aot;
    char path[PATH_MAX], hex[SHA256_HEX_LEN];
    sha256_hex(job->sha, hex);
    swaot_result res;
    memset(&res, 0, sizeof res);
    sw_error err;
    memset(&err, 0, sizeof err);
    if (entry_path(a, job->sha, path, sizeof path) != 0) {
        set_err(&err, SW_ERR_ARG, "cache path too long");
    } else if (compile_into(a, job->module, job->sha, path, false, true, &job->child, &res, &err) ==
               SW_OK) {
        char why[300];
        if (load_attach(job->module, job->sha, path, why, sizeof why) == 0) {
            if (res.compiled)
                say(a, SWAOT_LOG_INFO,
                    "compiled module %.12s in the background (%.0f ms): later runs use "
                    "native code",
                    hex, res.compile_ms);
        } else {
            set_err(&err, SW_ERR_INVALID, "%s", why);
        }
    }
    if (err.message[0]) {
        say(a, SWAOT_LOG_WARNING, "background compile of module %.12s failed: %s", hex,
            err.message);
        note_failed(a, job->sha);
    }
    sw_module_free(job->module);
    job->module = NULL;
    atomic_store(&job->done, true);
    return NULL;
}

/* Joins and frees finished jobs (all jobs when `all`); call with a->lock
 * not held. */
static void reap(struct swaot *a, bool all)
{
    for (;;) {
        pthread_mutex_lock(&a->lock);
        struct bg_job **p = &a->jobs, *job = NULL;
        while (*p && !(all || atomic_load(&(*p)->done)))
            p = &(*p)->next;
        if (*p) {
            job = *p;
            *p = job->next;
        }
        pthread_mutex_unlock(&a->lock);
        if (!job) return;
        pthread_join(job->thread, NULL);
        free(job);
    }
}

static void start_background(struct swaot *a, sw_module *m, const uint8_t sha[SHA256_DIGEST_LEN],
                             swaot_result *res)
{
    reap(a, false);
    pthread_mutex_lock(&a->lock);
    bool busy = failed_before(a, sha);
    for (struct bg_job *j = a->jobs; j && !busy; j = j->next)
        busy = !memcmp(j->sha, sha, SHA256_DIGEST_LEN);
    struct bg_job *job = busy ? NULL : calloc(1, sizeof *job);
    if (job) {
        job->aot = a;
        job->module = m;
        sw__module_ref(m);
        memcpy(job->sha, sha, SHA256_DIGEST_LEN);
        atomic_init(&job->done, false);
        if (pthread_create(&job->thread, NULL, background_compile, job) == 0) {
            job->next = a->jobs;
            a->jobs = job;
            res->background = true;
        } else {
            sw_module_free(m);
            free(job);
        }
    }
    pthread_mutex_unlock(&a->lock);
}

sw_status swaot_prepare(swaot *a, sw_module *m, swaot_engine engine, swaot_result *res,
                        sw_error *err)
{
    swaot_result local;
    if (!res) res = &local;
    memset(res, 0, sizeof *res);
    if (engine == SWAOT_INTERP) return SW_OK;
    if (sw__module_has_native(m)) {
        res->native = true;
        res->from_cache = true;
        return SW_OK;
    }
    if (!a->have_tc) {
        if (!atomic_exchange(&a->told_no_tc, true))
            say(a, SWAOT_LOG_WARNING, "%s: modules run in the interpreter", a->no_tc);
        if (engine == SWAOT_AUTO) return SW_OK;
        set_err(err, SW_ERR_NOT_FOUND, "cannot compile: %s", a->no_tc);
        return SW_ERR_NOT_FOUND;
    }
    uint8_t sha[SHA256_DIGEST_LEN];
    module_sha(m, sha);
    char path[PATH_MAX], hex[SHA256_HEX_LEN], why[400];
    sha256_hex(sha, hex);
    if (entry_path(a, sha, path, sizeof path) != 0) {
        set_err(err, SW_ERR_ARG, "cache path too long");
        return SW_ERR_ARG;
    }
    int rc = load_attach(m, sha, path, why, sizeof why);
    if (rc == 0) {
        res->native = true;
        res->from_cache = true;
        snprintf(res->path, sizeof res->path, "%s", path);
        return SW_OK;
    }
    bool force = false;
    if (rc < 0) {
        say(a, SWAOT_LOG_WARNING, "cache entry %s is not good (%s): compiling it again", path, why);
        force = true;
    }
    if (engine == SWAOT_AUTO) {
        /* a bad entry is left to the background compile, which replaces it */
        if (force) unlink(path);
        if (!a->no_background) start_background(a, m, sha, res);
        return SW_OK;
    }
    sw_status st = compile_into(a, m, sha, path, force, false, NULL, res, err);
    if (st != SW_OK) return st;
    rc = load_attach(m, sha, path, why, sizeof why);
    if (rc != 0) {
        set_err(err, SW_ERR_INVALID, "cannot load the compiled module %s: %s", path,
                rc > 0 ? "it vanished" : why);
        return SW_ERR_INVALID;
    }
    res->native = true;
    if (res->compiled)
        say(a, SWAOT_LOG_INFO, "compiled module %.12s (%zu KiB of C) in %.0f ms", hex,
            res->c_bytes / 1024, res->compile_ms);
    return SW_OK;
}

sw_status swaot_compile(swaot *a, const sw_module *m, const char *out_path, swaot_result *res,
                        sw_error *err)
{
    swaot_result local;
    if (!res) res = &local;
    memset(res, 0, sizeof *res);
    if (!a->have_tc) {
        set_err(err, SW_ERR_NOT_FOUND, "cannot compile: %s", a->no_tc);
        return SW_ERR_NOT_FOUND;
    }
    uint8_t sha[SHA256_DIGEST_LEN];
    module_sha(m, sha);
    char path[PATH_MAX];
    if (out_path) {
        if ((size_t)snprintf(path, sizeof path, "%s", out_path) >= sizeof path) {
            set_err(err, SW_ERR_ARG, "output path too long");
            return SW_ERR_ARG;
        }
    } else if (entry_path(a, sha, path, sizeof path) != 0) {
        set_err(err, SW_ERR_ARG, "cache path too long");
        return SW_ERR_ARG;
    }
    if (!out_path && make_dirs(a->cache_dir) != 0) {
        set_err(err, SW_ERR_IO, "cannot make the cache directory %s: %s", a->cache_dir,
                strerror(errno));
        return SW_ERR_IO;
    }
    /* a bad entry in the cache is compiled again */
    bool force = out_path != NULL;
    if (!force) {
        uint8_t *code;
        size_t len;
        char why[300];
        int rc = artifact_read(path, &code, &len, why, sizeof why);
        free(code);
        if (rc < 0) {
            say(a, SWAOT_LOG_WARNING, "cache entry %s is not good (%s): compiling it again", path,
                why);
            force = true;
        }
    }
    return compile_into(a, m, sha, path, force, false, NULL, res, err);
}

sw_status swaot_emit_c(const sw_module *m, char **text, size_t *len, sw_error *err)
{
    uint8_t sha[SHA256_DIGEST_LEN];
    module_sha(m, sha);
    char why[300];
    sw_status st = aot_emit_c(m, sha, text, len, why, sizeof why);
    if (st != SW_OK) set_err(err, st, "cannot translate the module: %s", why);
    return st;
}

void swaot_wait(swaot *a)
{
    reap(a, true);
}

void swaot_close(swaot *a)
{
    if (!a) return;
    pthread_mutex_lock(&a->lock);
    for (struct bg_job *j = a->jobs; j; j = j->next)
        toolchain_cancel(&j->child);
    pthread_mutex_unlock(&a->lock);
    reap(a, true);
    pthread_mutex_destroy(&a->lock);
    free(a->failed);
    free(a);
}
