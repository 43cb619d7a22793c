/* Fuzz target for the WASI functions themselves: arbitrary arguments and
 * arbitrary guest memory (iovecs, paths, subscriptions, buffers) against a
 * context whose only preopen is a temporary directory. Nothing may crash,
 * hang, leak or touch the directory next to the sandbox.
 *
 * Input: up to 4096 bytes of guest memory image, then calls of 1 byte
 * (function) + 9 x 8 bytes (arguments). The functions are called directly,
 * without the engine, on a 64 KiB memory; proc_exit and proc_raise (which
 * need the engine's call context) and sockets (none exist) are left out. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi_internal.h"

#define MEM_SIZE 65536
#define IMAGE_MAX 4096
#define CALL_SIZE (1 + 9 * 8)
#define MAX_CALLS 8

struct fn {
    wasi_impl impl;
    bool clamp; /* 64-bit args limited to 1 MiB (sizes and offsets that fill disks) */
};

static const struct fn fns[] = {
    {wasi_args_get, 0},
    {wasi_args_sizes_get, 0},
    {wasi_environ_get, 0},
    {wasi_environ_sizes_get, 0},
    {wasi_clock_res_get, 0},
    {wasi_clock_time_get, 0},
    {wasi_random_get, 0},
    {wasi_sched_yield, 0},
    {wasi_fd_advise, 0},
    {wasi_fd_allocate, 1},
    {wasi_fd_close, 0},
    {wasi_fd_datasync, 0},
    {wasi_fd_fdstat_get, 0},
    {wasi_fd_fdstat_set_flags, 0},
    {wasi_fd_fdstat_set_rights, 0},
    {wasi_fd_filestat_get, 0},
    {wasi_fd_filestat_set_size, 1},
    {wasi_fd_filestat_set_times, 0},
    {wasi_fd_pread, 0},
    {wasi_fd_prestat_get, 0},
    {wasi_fd_prestat_dir_name, 0},
    {wasi_fd_pwrite, 1},
    {wasi_fd_read, 0},
    {wasi_fd_readdir, 0},
    {wasi_fd_renumber, 0},
    {wasi_fd_seek, 1},
    {wasi_fd_sync, 0},
    {wasi_fd_tell, 0},
    {wasi_fd_write, 0},
    {wasi_path_create_directory, 0},
    {wasi_path_filestat_get, 0},
    {wasi_path_filestat_set_times, 0},
    {wasi_path_link, 0},
    {wasi_path_open, 0},
    {wasi_path_readlink, 0},
    {wasi_path_remove_directory, 0},
    {wasi_path_rename, 0},
    {wasi_path_symlink, 0},
    {wasi_path_unlink_file, 0},
    {wasi_poll_oneoff, 0},
    {wasi_sock_accept, 0},
    {wasi_sock_recv, 0},
    {wasi_sock_send, 0},
    {wasi_sock_shutdown, 0},
};
#define NFNS (sizeof fns / sizeof fns[0])

static char top[64], box[80], outside[80];
static unsigned runs;

static void remove_tree(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", top);
}

/* A fresh sandbox content: files, a directory, and escaping symlinks. */
static void fill_box(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir '%s'", box, box);
    if (system(cmd) != 0) abort();
    int b = open(box, O_RDONLY | O_DIRECTORY);
    mkdirat(b, "d", 0755);
    int f = openat(b, "f", O_WRONLY | O_CREAT, 0644);
    if (f < 0 || write(f, "content", 7) != 7) abort();
    close(f);
    symlinkat("../outside", b, "up");
    symlinkat("/etc", b, "etc");
    symlinkat("f", b, "lf");
    close(b);
}

static int outside_entries(void)
{
    DIR *d = opendir(outside);
    if (!d) abort();
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n++;
    closedir(d);
    return n;
}

static void setup(void)
{
    strcpy(top, "/tmp/stratus-fuzz-wasi-XXXXXX");
    if (!mkdtemp(top)) abort();
    atexit(remove_tree);
    snprintf(box, sizeof box, "%s/box", top);
    snprintf(outside, sizeof outside, "%s/outside", top);
    mkdir(outside, 0755);
    char secret[120];
    snprintf(secret, sizeof secret, "%s/secret", outside);
    close(open(secret, O_WRONLY | O_CREAT, 0644));
    fill_box();
}

static int sink(void *user, const uint8_t *buf, size_t len)
{
    return 0;
}

static int source(void *user, uint8_t *buf, size_t cap, size_t *nread)
{
    static const char text[] = "input line\n";
    size_t n = cap < sizeof text - 1 ? cap : sizeof text - 1;
    memcpy(buf, text, n);
    *nread = n;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *mem;
    if (!mem) {
        setup();
        mem = malloc(MEM_SIZE);
    }
    if (size < 2) return 0;
    if (++runs % 2000 == 0) fill_box();
    size_t image = data[0] * 16u + data[1];
    data += 2;
    size -= 2;
    if (image > IMAGE_MAX) image = IMAGE_MAX;
    if (image > size) image = size;
    memset(mem, 0, MEM_SIZE);
    memcpy(mem, data, image);
    data += image;
    size -= image;

    const char *argv[] = {"fuzz", "arg"};
    const char *env[] = {"A=1"};
    swasi_preopen pre = {box, "/sandbox"};
    swasi_config cfg;
    swasi_config_init(&cfg);
    cfg.argc = 2;
    cfg.argv = argv;
    cfg.envc = 1;
    cfg.env = env;
    cfg.npreopens = 1;
    cfg.preopens = &pre;
    cfg.walk_only = image & 1;
    cfg.stdio[0] = (swasi_stdio){.host_fd = -1, .read = source};
    cfg.stdio[1] = (swasi_stdio){.host_fd = -1, .write = sink};
    cfg.stdio[2] = (swasi_stdio){.host_fd = -1, .write = sink};
    swasi_ctx *ctx;
    if (swasi_ctx_new(&cfg, &ctx, NULL) != SW_OK) abort();
    ctx->max_wait_ns = 1000000;

    for (int c = 0; c < MAX_CALLS && size >= CALL_SIZE; c++, data += CALL_SIZE, size -= CALL_SIZE) {
        const struct fn *fn = &fns[data[0] % NFNS];
        sw_value args[9];
        for (int i = 0; i < 9; i++) {
            uint64_t v;
            memcpy(&v, data + 1 + 8 * i, 8);
            if (fn->clamp) v &= 0xFFFFF;
            /* i32 parameters read the low half of the same storage. */
            args[i].type = SW_I64;
            args[i].of.i64 = (int64_t)v;
        }
        struct wasi_call wc = {.ctx = ctx, .mem = mem, .size = MEM_SIZE};
        int e = fn->impl(&wc, args);
        if (e < 0 || e > 76 || wc.status != SW_OK) abort();
    }
    swasi_ctx_free(ctx);
    if (outside_entries() != 3) abort();
    return 0;
}
