/* The WASI context: configuration copies, the descriptor table, binding the
 * preview1 functions to an engine linker, and running `_start`. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi_internal.h"

void swasi_config_init(swasi_config *config)
{
    memset(config, 0, sizeof *config);
    for (int i = 0; i < 3; i++)
        config->stdio[i].host_fd = i;
}

/* ---- descriptor table ---- */

int fd_lookup(swasi_ctx *ctx, uint32_t fd, uint64_t rights, struct wasi_fd **out)
{
    if (fd >= ctx->nfds || !ctx->fds[fd].used) return WE_BADF;
    if ((ctx->fds[fd].rights & rights) != rights) return WE_NOTCAPABLE;
    *out = &ctx->fds[fd];
    return 0;
}

int fd_insert(swasi_ctx *ctx, int host, uint8_t filetype, uint64_t rights, uint64_t inheriting,
              uint32_t *out)
{
    uint32_t i = 0;
    while (i < ctx->nfds && ctx->fds[i].used)
        i++;
    if (i == ctx->nfds) {
        uint32_t n = ctx->nfds ? ctx->nfds * 2 : 16;
        if (n > 65536) return 33; /* EMFILE */
        struct wasi_fd *f = realloc(ctx->fds, n * sizeof *f);
        if (!f) return WE_NOMEM;
        memset(f + ctx->nfds, 0, (n - ctx->nfds) * sizeof *f);
        ctx->fds = f;
        ctx->nfds = n;
    }
    struct wasi_fd *f = &ctx->fds[i];
    memset(f, 0, sizeof *f);
    f->used = true;
    f->owned = true;
    f->host = host;
    f->stdio = -1;
    f->filetype = filetype;
    f->rights = rights;
    f->inheriting = inheriting;
    *out = i;
    return 0;
}

void fd_release(struct wasi_fd *f)
{
    if (!f->used) return;
    if (f->vfd && f->vfd->close) f->vfd->close(f->vfd_user);
    if (f->dir) closedir(f->dir);
    if (f->owned && f->host >= 0) close(f->host);
    free(f->preopen);
    memset(f, 0, sizeof *f);
}

/* ---- context ---- */

static char **copy_strings(const char *const *src, size_t n)
{
    char **dst = calloc(n + 1, sizeof *dst);
    if (!dst) return NULL;
    for (size_t i = 0; i < n; i++) {
        dst[i] = strdup(src[i] ? src[i] : "");
        if (!dst[i]) {
            for (size_t j = 0; j < i; j++)
                free(dst[j]);
            free(dst);
            return NULL;
        }
    }
    return dst;
}

static void free_strings(char **s, size_t n)
{
    if (!s) return;
    for (size_t i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

static sw_status fail(sw_error *err, sw_status st, const char *fmt, const char *what, int e)
{
    if (err) {
        memset(err, 0, sizeof *err);
        err->status = st;
        snprintf(err->message, sizeof err->message, fmt, what, e ? strerror(e) : "");
        snprintf(err->reason, sizeof err->reason, "%s", err->message);
    }
    return st;
}

static int add_stdio(swasi_ctx *ctx, int i, const swasi_stdio *s)
{
    uint32_t fd;
    uint8_t ft = FT_CHAR;
    uint64_t rights = R_TTY;
    if (!s->read && !s->write && s->host_fd >= 0) {
        struct stat st;
        if (fstat(s->host_fd, &st) == 0) {
            ft = filetype_of_mode(st.st_mode);
            if (S_ISREG(st.st_mode)) rights = R_FILE;
        }
    }
    int e = fd_insert(ctx, -1, ft, rights, 0, &fd);
    if (e) return e;
    struct wasi_fd *f = &ctx->fds[fd];
    f->owned = false;
    if (s->read || s->write || s->host_fd < 0)
        f->stdio = i;
    else
        f->host = s->host_fd;
    return 0;
}

sw_status swasi_ctx_new(const swasi_config *config, swasi_ctx **out, sw_error *err)
{
    if ((config->argc && !config->argv) || (config->envc && !config->env) ||
        (config->npreopens && !config->preopens) || (config->nsockets && !config->sockets))
        return fail(err, SW_ERR_ARG, "WASI config: a count without its array%s%s", "", 0);
    swasi_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return fail(err, SW_ERR_NOMEM, "out of memory%s%s", "", 0);
    ctx->wake_fd = -1;
    ctx->argc = config->argc;
    ctx->envc = config->envc;
    ctx->argv = copy_strings(config->argv, config->argc);
    ctx->env = copy_strings(config->env, config->envc);
    ctx->walk_only = config->walk_only;
    memcpy(ctx->stdio, config->stdio, sizeof ctx->stdio);
    ctx->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!ctx->argv || !ctx->env || ctx->wake_fd < 0) {
        swasi_ctx_free(ctx);
        return fail(err, SW_ERR_NOMEM, "cannot set up the WASI context%s%s", "", 0);
    }
    for (int i = 0; i < 3; i++) {
        if (add_stdio(ctx, i, &config->stdio[i])) {
            swasi_ctx_free(ctx);
            return fail(err, SW_ERR_NOMEM, "out of memory%s%s", "", 0);
        }
    }
    for (size_t i = 0; i < config->npreopens; i++) {
        const swasi_preopen *p = &config->preopens[i];
        if (!p->host_path || !p->guest_path) {
            swasi_ctx_free(ctx);
            return fail(err, SW_ERR_ARG, "preopen %s without a path%s", "", 0);
        }
        int host = open(p->host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (host < 0) {
            int e = errno;
            swasi_ctx_free(ctx);
            return fail(err, SW_ERR_ARG, "cannot open directory %s: %s", p->host_path, e);
        }
        uint32_t fd;
        char *name = strdup(p->guest_path);
        if (!name || fd_insert(ctx, host, FT_DIR, R_DIR, R_DIR | R_FILE, &fd)) {
            free(name);
            close(host);
            swasi_ctx_free(ctx);
            return fail(err, SW_ERR_NOMEM, "out of memory%s%s", "", 0);
        }
        ctx->fds[fd].preopen = name;
        struct stat st;
        struct wasi_root *roots = realloc(ctx->roots, (ctx->nroots + 1) * sizeof *roots);
        if (!roots || fstat(host, &st) != 0) {
            if (roots) ctx->roots = roots;
            swasi_ctx_free(ctx);
            return fail(err, SW_ERR_NOMEM, "out of memory%s%s", "", 0);
        }
        ctx->roots = roots;
        roots[ctx->nroots++] = (struct wasi_root){st.st_dev, st.st_ino};
    }
    for (size_t i = 0; i < config->nsockets; i++) {
        int type = 0;
        socklen_t len = sizeof type;
        if (getsockopt(config->sockets[i], SOL_SOCKET, SO_TYPE, &type, &len) != 0) {
            swasi_ctx_free(ctx);
            return fail(err, SW_ERR_ARG, "handed-over descriptor %s is not a socket%s", "", 0);
        }
        uint32_t fd;
        if (fd_insert(ctx, config->sockets[i], type == SOCK_DGRAM ? FT_DGRAM : FT_STREAM, R_SOCK, 0,
                      &fd)) {
            swasi_ctx_free(ctx);
            return fail(err, SW_ERR_NOMEM, "out of memory%s%s", "", 0);
        }
        ctx->fds[fd].owned = false;
    }
    *out = ctx;
    return SW_OK;
}

void swasi_ctx_free(swasi_ctx *ctx)
{
    if (!ctx) return;
    for (uint32_t i = 0; i < ctx->nfds; i++)
        fd_release(&ctx->fds[i]);
    free(ctx->fds);
    free_strings(ctx->argv, ctx->argc);
    free_strings(ctx->env, ctx->envc);
    if (ctx->wake_fd >= 0) close(ctx->wake_fd);
    free(ctx->bindings);
    free(ctx->roots);
    free(ctx);
}

/* ---- binding to the linker ---- */

struct wasi_def {
    const char *name;
    const char *params; /* 'i' = i32, 'I' = i64 */
    bool has_result;
    wasi_impl impl;
};

#define DEF(n, p)                                                                                  \
    {                                                                                              \
#n, p, true, wasi_##n                                                                      \
    }
static const struct wasi_def defs[] = {
    DEF(args_get, "ii"),
    DEF(args_sizes_get, "ii"),
    DEF(environ_get, "ii"),
    DEF(environ_sizes_get, "ii"),
    DEF(clock_res_get, "ii"),
    DEF(clock_time_get, "iIi"),
    DEF(fd_advise, "iIIi"),
    DEF(fd_allocate, "iII"),
    DEF(fd_close, "i"),
    DEF(fd_datasync, "i"),
    DEF(fd_fdstat_get, "ii"),
    DEF(fd_fdstat_set_flags, "ii"),
    DEF(fd_fdstat_set_rights, "iII"),
    DEF(fd_filestat_get, "ii"),
    DEF(fd_filestat_set_size, "iI"),
    DEF(fd_filestat_set_times, "iIIi"),
    DEF(fd_pread, "iiiIi"),
    DEF(fd_prestat_get, "ii"),
    DEF(fd_prestat_dir_name, "iii"),
    DEF(fd_pwrite, "iiiIi"),
    DEF(fd_read, "iiii"),
    DEF(fd_readdir, "iiiIi"),
    DEF(fd_renumber, "ii"),
    DEF(fd_seek, "iIii"),
    DEF(fd_sync, "i"),
    DEF(fd_tell, "ii"),
    DEF(fd_write, "iiii"),
    DEF(path_create_directory, "iii"),
    DEF(path_filestat_get, "iiiii"),
    DEF(path_filestat_set_times, "iiiiIIi"),
    DEF(path_link, "iiiiiii"),
    DEF(path_open, "iiiiiIIii"),
    DEF(path_readlink, "iiiiii"),
    DEF(path_remove_directory, "iii"),
    DEF(path_rename, "iiiiii"),
    DEF(path_symlink, "iiiii"),
    DEF(path_unlink_file, "iii"),
    DEF(poll_oneoff, "iiii"),
    {"proc_exit", "i", false, wasi_proc_exit},
    DEF(proc_raise, "i"),
    DEF(sched_yield, ""),
    DEF(random_get, "ii"),
    DEF(sock_accept, "iii"),
    DEF(sock_recv, "iiiiii"),
    DEF(sock_send, "iiiii"),
    DEF(sock_shutdown, "ii"),
};
#define NDEFS (sizeof defs / sizeof defs[0])

static sw_status trampoline(sw_call *call, void *user, const sw_value *args, sw_value *results)
{
    struct wasi_binding *b = user;
    struct wasi_call wc = {.ctx = b->ctx, .call = call};
    if (sw_call_memory(call, &wc.mem, &wc.size) != SW_OK) {
        wc.mem = NULL;
        wc.size = 0;
    }
    int e = b->impl(&wc, args);
    if (wc.status != SW_OK) return wc.status;
    if (b->has_result) {
        results[0].type = SW_I32;
        results[0].of.i32 = e;
    }
    return SW_OK;
}

sw_status swasi_ctx_link(swasi_ctx *ctx, sw_linker *linker)
{
    if (!ctx->bindings) {
        ctx->bindings = calloc(NDEFS, sizeof *ctx->bindings);
        if (!ctx->bindings) return SW_ERR_NOMEM;
        ctx->nbindings = NDEFS;
    }
    static const sw_valtype i32_result[1] = {SW_I32};
    for (size_t i = 0; i < NDEFS; i++) {
        sw_valtype params[16];
        uint32_t n = 0;
        for (const char *p = defs[i].params; *p; p++)
            params[n++] = *p == 'I' ? SW_I64 : SW_I32;
        sw_functype type = {
            .nparams = n,
            .params = params,
            .nresults = defs[i].has_result ? 1 : 0,
            .results = i32_result,
        };
        ctx->bindings[i] = (struct wasi_binding){ctx, defs[i].impl, defs[i].has_result};
        sw_status st = sw_linker_define_func(linker, "wasi_snapshot_preview1", defs[i].name, &type,
                                             trampoline, &ctx->bindings[i]);
        if (st != SW_OK) return st;
    }
    return SW_OK;
}

/* ---- running ---- */

void swasi_ctx_wake(swasi_ctx *ctx)
{
    uint64_t one = 1;
    /* A full counter already wakes everyone; nothing to do on failure. */
    if (write(ctx->wake_fd, &one, sizeof one) < 0) return;
}

int swasi_ctx_wake_fd(const swasi_ctx *ctx)
{
    return ctx->wake_fd;
}

static void interrupt_hook(void *user)
{
    swasi_ctx_wake(user);
}

sw_status swasi_ctx_run(swasi_ctx *ctx, sw_instance *instance, int *exit_code, sw_error *err)
{
    uint64_t drain;
    while (read(ctx->wake_fd, &drain, sizeof drain) > 0)
        ;
    sw_instance_set_interrupt_hook(instance, interrupt_hook, ctx);
    sw_error local;
    sw_status st = sw_instance_call(instance, "_start", NULL, 0, NULL, 0, &local);
    sw_instance_set_interrupt_hook(instance, NULL, NULL);
    if (st == SW_OK) {
        *exit_code = 0;
    } else if (st == SW_ERR_EXIT) {
        *exit_code = local.exit_code;
        st = SW_OK;
    }
    if (err) *err = local;
    return st;
}
