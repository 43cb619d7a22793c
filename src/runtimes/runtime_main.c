/* stratus-runtime: the runtime process of the `linux/minimal` and `linux`
 * runtime types (PROTOCOL.md §6). Started by the Stratus manager as
 * `stratus-runtime SOCKET_PATH` with STRATUS_RUNTIME_TYPE and friends in the
 * environment, or by the original Silverline manager as `stratus-runtime
 * INDEX` (its socket {dir}/{INDEX %02x}.s, the 6-byte legacy header, modules
 * from the working directory); connects, then serves create / delete / stop
 * and channel data until told to stop or the manager goes away.
 *
 * The main thread owns the socket's reading side, the module table and every
 * module's stdin queue; each module runs on a thread of its own (module.c).
 * A poll loop waits on the socket, on stdin pipes with queued bytes, and on
 * an eventfd through which finished module threads ask to be joined. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "module.h"
#include "rt_link.h"
#include "stratus/frame.h"
#include "stratus/runtime_types.h"

#define MAX_MODULES 128
#define KEEPALIVE_MS 5000

/* This process: what the manager's `struct runtime` talks to. */
struct runtime_process {
    const struct stratus_runtime_type *type; /* stratus/runtime_types.h */
    int sock;
    struct module_env env;
    char dir_error[SPEC_REASON_LEN];
    struct module *modules[MAX_MODULES];
    long long next_keepalive_ms;
    struct timespec last_cpu[MAX_MODULES];
    long long last_sample_ms;
    long long last_trim_ms;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_socket(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path) {
        fprintf(stderr, "stratus-runtime: socket path too long\n");
        return -1;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        fprintf(stderr, "stratus-runtime: connect %s: %s\n", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Join the threads of modules that have reported their exit. Memory the
 * finished modules freed goes back to the system when nothing runs, or at
 * most once a second (malloc_trim walks every arena). */
static void reap_finished(struct runtime_process *rt)
{
    int joined = 0, running = 0;
    for (int i = 0; i < MAX_MODULES; i++) {
        struct module *m = rt->modules[i];
        if (m && atomic_load(&m->finishing) == 2) {
            module_join(m);
            rt->modules[i] = NULL;
            joined++;
        } else if (m) {
            running++;
        }
    }
    long long t = now_ms();
    if (joined && (!running || t - rt->last_trim_ms >= 1000)) {
        malloc_trim(0);
        rt->last_trim_ms = t;
    }
}

static void handle_create(struct runtime_process *rt, int index, const struct frame_message *msg)
{
    struct module *old = rt->modules[index];
    if (old) {
        if (!atomic_load(&old->finishing)) {
            /* The manager reuses an index only after its exit; anything else is
             * a confused peer, and the running module must not be disturbed. */
            rt_link_log(-1, RT_LOG_ERROR, "create for index %d, which is still running: ignored",
                        index);
            return;
        }
        /* It has sent (or is sending) its exit: wait for the last bytes. */
        module_join(old);
        rt->modules[index] = NULL;
    }
    if (index >= rt->type->max_nmodules) {
        char reason[128];
        snprintf(reason, sizeof reason, "runtime type %s runs at most %d module%s at once",
                 rt->type->type, rt->type->max_nmodules, rt->type->max_nmodules == 1 ? "" : "s");
        module_report_failed(index, reason);
        return;
    }
    struct module_spec spec;
    char reason[SPEC_REASON_LEN];
    if (module_spec_parse(msg->payload, msg->len, &spec, reason) < 0) {
        module_report_failed(index, reason);
        return;
    }
    if (rt->type->mode == STRATUS_MODE_RUN && spec.engine == SPEC_ENGINE_OTHER) {
        module_spec_free(&spec);
        module_report_failed(index, SPEC_ENGINE_ERROR);
        return;
    }
    struct bench_spec bench;
    memset(&bench, 0, sizeof bench);
    if (rt->type->mode != STRATUS_MODE_RUN &&
        bench_spec_parse(msg->payload, msg->len, &bench, reason, sizeof reason) < 0) {
        module_spec_free(&spec);
        module_report_failed(index, reason);
        return;
    }
    /* The module's standard I/O: channel 0, read-write, on its stdio topic. */
    static const char topic[] = "$SL/proc/stdio";
    channel_send_open(index, CHANNEL_STDIO, CHANNEL_READ | CHANNEL_WRITE, topic, sizeof topic - 1);
    if (module_start(&rt->modules[index], index, &rt->env, &spec,
                     rt->type->mode != STRATUS_MODE_RUN ? &bench : NULL) < 0)
        module_report_failed(index, "cannot start a thread for the module");
}

static void handle_delete(struct runtime_process *rt, int index)
{
    struct module *m = rt->modules[index];
    if (!m) {
        rt_link_log(-1, RT_LOG_WARNING, "delete of index %d, where nothing runs: ignored", index);
        return;
    }
    module_kill(m);
}

static void handle_data(struct runtime_process *rt, int index, const struct frame_message *msg)
{
    struct module *m = rt->modules[index];
    if (!m || atomic_load(&m->finishing)) return;
    if (msg->h2 != CHANNEL_STDIO) {
        channel_host_deliver(&m->channels, msg->h2, msg->payload, msg->len);
        return;
    }
    if (module_feed_stdin(m, msg->payload, msg->len) < 0)
        rt_link_log(index, RT_LOG_ERROR, "out of memory: %zu bytes of stdin lost", msg->len);
}

static void kill_all(struct runtime_process *rt)
{
    for (int i = 0; i < MAX_MODULES; i++)
        if (rt->modules[i]) module_kill(rt->modules[i]);
    for (int i = 0; i < MAX_MODULES; i++)
        if (rt->modules[i]) {
            module_join(rt->modules[i]);
            rt->modules[i] = NULL;
        }
}

/* Keepalive of the `linux` type: the state of every module (PROTOCOL.md §4). */
static void send_keepalive(struct runtime_process *rt)
{
    long long t = now_ms();
    long long span = rt->last_sample_ms ? t - rt->last_sample_ms : 0;
    json_t *children = json_array();
    for (int i = 0; i < MAX_MODULES; i++) {
        struct module *m = rt->modules[i];
        if (!m || atomic_load(&m->finishing)) continue;
        double cpu = 0;
        clockid_t cid;
        struct timespec ts;
        if (pthread_getcpuclockid(m->thread, &cid) == 0 && clock_gettime(cid, &ts) == 0) {
            long long used_ns = (ts.tv_sec - rt->last_cpu[i].tv_sec) * 1000000000LL +
                                (ts.tv_nsec - rt->last_cpu[i].tv_nsec);
            if (span > 0 && used_ns > 0) cpu = 100.0 * (double)used_ns / ((double)span * 1e6);
            rt->last_cpu[i] = ts;
        }
        json_t *child =
            json_pack("{s:s?, s:I, s:f, s:I}", "uuid", m->spec.uuid, "active",
                      (json_int_t)atomic_load(&m->counters.last_active_ms), "cpu_usage_percent",
                      cpu, "mem_usage", (json_int_t)atomic_load(&m->mem_bytes));
        if (child) json_array_append_new(children, child);
    }
    rt->last_sample_ms = t;
    json_t *ka = json_pack("{s:o}", "children", children);
    char *text = ka ? json_dumps(ka, JSON_COMPACT) : NULL;
    if (text) rt_link_send(FRAME_CONTROL, FRAME_KEEPALIVE, text, strlen(text));
    free(text);
    json_decref(ka);
}

/* Returns 1 to go on, 0 when told to stop. */
static int dispatch(struct runtime_process *rt, const struct frame_message *msg)
{
    int index = msg->h1 & FRAME_INDEX_MASK;
    if (!(msg->h1 & FRAME_CONTROL)) {
        handle_data(rt, index, msg);
        return 1;
    }
    switch (msg->h2) {
    case FRAME_CREATE_MODULE: handle_create(rt, index, msg); break;
    case FRAME_DELETE_MODULE: handle_delete(rt, index); break;
    case FRAME_STOP_RUNTIME: return 0;
    default:
        rt_link_log(-1, RT_LOG_WARNING, "unknown control code 0x%02x from the manager: ignored",
                    msg->h2);
    }
    return 1;
}

static void serve(struct runtime_process *rt, struct frame_reader *reader)
{
    static uint8_t buf[65536];
    struct pollfd fds[2 + MAX_MODULES];
    int owners[2 + MAX_MODULES];
    for (;;) {
        int n = 0;
        fds[n++] = (struct pollfd){.fd = rt->sock, .events = POLLIN};
        fds[n++] = (struct pollfd){.fd = rt->env.wake_fd, .events = POLLIN};
        for (int i = 0; i < MAX_MODULES; i++) {
            struct module *m = rt->modules[i];
            if (m && m->pending_len) {
                owners[n] = i;
                fds[n++] = (struct pollfd){.fd = m->stdin_w, .events = POLLOUT};
            }
        }
        int timeout = -1;
        if (rt->type->keepalive) {
            long long left = rt->next_keepalive_ms - now_ms();
            timeout = left < 0 ? 0 : (int)left;
        }
        int rc = poll(fds, (nfds_t)n, timeout);
        if (rc < 0 && errno != EINTR) {
            rt_link_log(-1, RT_LOG_ERROR, "poll: %s", strerror(errno));
            return;
        }
        if (rt->type->keepalive && now_ms() >= rt->next_keepalive_ms) {
            send_keepalive(rt);
            rt->next_keepalive_ms = now_ms() + KEEPALIVE_MS;
        }
        if (rc <= 0) continue;
        if (fds[1].revents) {
            uint64_t count;
            if (read(rt->env.wake_fd, &count, sizeof count) < 0 && errno != EAGAIN) return;
            reap_finished(rt);
        }
        for (int k = 2; k < n; k++)
            if (fds[k].revents && rt->modules[owners[k]])
                module_flush_stdin(rt->modules[owners[k]]);
        if (fds[0].revents) {
            ssize_t got = read(rt->sock, buf, sizeof buf);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) return; /* the manager is gone */
            if (frame_reader_feed(reader, buf, (size_t)got) != FRAME_OK) return;
            struct frame_message msg;
            int r;
            while ((r = frame_reader_next(reader, &msg)) == 1)
                if (!dispatch(rt, &msg)) return;
            if (r < 0) {
                rt_link_log(-1, RT_LOG_ERROR, "bad stream from the manager: %s", frame_strerror(r));
                return;
            }
        }
    }
}

/* The compiled tier's log lines go to the runtime log. */
static void aot_log(void *user, swaot_log_level level, const char *message)
{
    (void)user;
    rt_link_log(-1,
                level == SWAOT_LOG_INFO      ? RT_LOG_INFO
                : level == SWAOT_LOG_WARNING ? RT_LOG_WARNING
                                             : RT_LOG_ERROR,
                "compiled tier: %s", message);
}

/* The compiled tier: cache from $STRATUS_AOT_CACHE (the manager sets it to
 * its state directory's), compiler from $STRATUS_CC or PATH. Without a
 * compiler modules are interpreted (swaot_prepare says so once). */
static void open_compiled_tier(struct module_env *env)
{
    swaot_config cfg;
    swaot_config_init(&cfg);
    cfg.log = aot_log;
    sw_error err;
    if (swaot_open(&cfg, &env->aot, &err) != SW_OK) {
        rt_link_log(-1, RT_LOG_WARNING, "compiled tier unavailable: %s", err.message);
        env->aot = NULL;
        return;
    }
    if (swaot_has_compiler(env->aot, NULL))
        rt_link_log(-1, RT_LOG_INFO, "compiled tier: cache %s", swaot_cache_dir(env->aot));
}

static void usage(FILE *out)
{
    fputs("usage: stratus-runtime SOCKET_PATH\n"
          "       stratus-runtime [--type TYPE] [--socket-dir DIR] INDEX\n"
          "\n"
          "The runtime process of the linux/minimal and linux runtime types. `stratus\n"
          "manager` starts it with the path of its socket (type from STRATUS_RUNTIME_TYPE).\n"
          "Started with a bare INDEX, as the original Silverline manager starts its\n"
          "runtimes, it connects to DIR/{INDEX as %02x}.s (default /tmp/sl), frames with\n"
          "the 6-byte legacy header and resolves files in its working directory.\n"
          "\n"
          "  --type TYPE        linux/minimal (default), linux, benchmarking,\n"
          "                     benchmarking/opcodes or benchmarking/interference;\n"
          "                     STRATUS_RUNTIME_TYPE too\n"
          "  --socket-dir DIR   where the original manager's socket is (default /tmp/sl)\n"
          "  --help             this text\n",
          out);
}

/* The command line: the socket to connect to and the header to speak. */
static int parse_args(int argc, char **argv, char *path, size_t cap, const char **type,
                      enum frame_header_kind *header)
{
    const char *dir = "/tmp/sl", *target = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(argv[i], "--type") && i + 1 < argc) {
            *type = argv[++i];
        } else if (!strcmp(argv[i], "--socket-dir") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!target && argv[i][0] != '-') {
            target = argv[i];
        } else {
            return -1;
        }
    }
    if (!target) return -1;
    size_t digits = strspn(target, "0123456789");
    if (digits && !target[digits]) {
        /* The original convention: a runtime index. */
        long index = strtol(target, NULL, 10);
        if (index > 255 || (size_t)snprintf(path, cap, "%s/%02lx.s", dir, index) >= cap) return -1;
        *header = FRAME_HEADER_LEGACY;
    } else {
        if ((size_t)snprintf(path, cap, "%s", target) >= cap) return -1;
        *header = FRAME_HEADER_SEED;
    }
    return 0;
}

int main(int argc, char **argv)
{
    char path[sizeof((struct sockaddr_un *)0)->sun_path];
    const char *type_name = getenv("STRATUS_RUNTIME_TYPE");
    enum frame_header_kind header;
    if (parse_args(argc, argv, path, sizeof path, &type_name, &header) < 0) {
        usage(stderr);
        return 2;
    }
    struct runtime_process rt;
    memset(&rt, 0, sizeof rt);
    /* Started the original way there is no type in the environment. */
    rt.type = stratus_runtime_type_find(type_name ? type_name : "linux/minimal");
    if (!rt.type) {
        fprintf(stderr,
                "stratus-runtime: unknown runtime type '%s' (linux/minimal, linux, benchmarking, "
                "benchmarking/opcodes, benchmarking/interference)\n",
                type_name);
        return 2;
    }
    /* Writes to vanished peers are errors, not deaths. */
    signal(SIGPIPE, SIG_IGN);
    /* Every module runs on a thread of its own; glibc would give each new
     * thread an arena of its own, up to 8 per core, whose freed memory is
     * rarely returned: a few arenas serve short modules as well. A
     * MALLOC_ARENA_MAX in the environment (glibc's own setting) wins. */
    if (!getenv("MALLOC_ARENA_MAX")) mallopt(M_ARENA_MAX, 2);
    rt.sock = connect_socket(path);
    if (rt.sock < 0) return 1;
    rt_link_init(rt.sock, header);

    const char *dir = getenv("STRATUS_MODULE_DIR");
    char *real = realpath(dir && *dir ? dir : ".", NULL);
    if (!real) {
        snprintf(rt.dir_error, sizeof rt.dir_error, "module directory '%.200s': %s",
                 dir ? dir : ".", strerror(errno));
        rt.env.dir_error = rt.dir_error;
        rt_link_log(-1, RT_LOG_ERROR, "%s", rt.dir_error);
    }
    rt.env.module_dir = real;
    const char *file_dir = getenv("STRATUS_FILE_CACHE");
    rt.env.file_dir = file_dir && *file_dir ? file_dir : NULL;
    rt.env.profile = rt.type->profile;
    rt.env.channels = rt.type->channels;
    rt.env.max_memory_mib = rt.type->max_memory_mib;
    rt.env.mode = rt.type->mode;
    const char *engines = getenv("STRATUS_RUNTIME_ENGINES");
    if (engines && *engines) {
        rt.env.engines = json_loads(engines, 0, NULL);
        if (!json_is_object(rt.env.engines)) {
            rt_link_log(-1, RT_LOG_ERROR, "STRATUS_RUNTIME_ENGINES is not a JSON object: ignored");
            json_decref(rt.env.engines);
            rt.env.engines = NULL;
        }
    }
    const char *cap = getenv("STRATUS_RUNTIME_MAX_MEMORY");
    if (cap && *cap) {
        char *end;
        unsigned long v = strtoul(cap, &end, 10);
        if (*end || v < 1 || v > 4096)
            rt_link_log(-1, RT_LOG_ERROR,
                        "STRATUS_RUNTIME_MAX_MEMORY=%s is not 1..4096 (MiB); keeping %u MiB", cap,
                        rt.env.max_memory_mib);
        else
            rt.env.max_memory_mib = (uint32_t)v;
    }
    const char *free_topics = getenv("STRATUS_ALLOW_FREE_TOPICS");
    rt.env.free_topics = free_topics && *free_topics && strcmp(free_topics, "0");
    const char *realm = getenv("STRATUS_REALM");
    rt.env.realm = realm && *realm ? realm : "realm";
    rt.env.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct frame_reader *reader = frame_reader_new(header, 0);
    if (rt.env.wake_fd < 0 || !reader) {
        fprintf(stderr, "stratus-runtime: out of resources\n");
        return 1;
    }
    open_compiled_tier(&rt.env);
    rt.next_keepalive_ms = now_ms() + KEEPALIVE_MS;
    rt_link_log(-1, RT_LOG_INFO, "%s runtime ready, modules from %s", rt.type->type,
                real ? real : "(none)");

    serve(&rt, reader);

    kill_all(&rt);
    swaot_close(rt.env.aot); /* ends background compiles */
    frame_reader_free(reader);
    close(rt.env.wake_fd);
    close(rt.sock);
    json_decref(rt.env.engines);
    free(real);
    return 0;
}
