/* Finding and running the system C compiler (toolchain.h).
 *
 * The flags make a self-contained shared object the loader accepts
 * (elf_image.h): position-independent, no C library, no stack protector
 * (it would need the library's canary and failure function), no loop-idiom
 * calls to memset/memcpy, every undefined symbol an error (-z defs). The
 * arithmetic flags keep WebAssembly's semantics: no contraction of a*b+c
 * (wasm rounds each), wrapping integers, no type-based aliasing (memory is
 * bytes), and no sibling calls: a wasm call that recurses forever must
 * exhaust the stack (and trap), not become a loop. Stack-clash protection
 * makes every large frame touch its pages in order, so an overflow always
 * faults on the thread's guard page (which becomes "call stack exhausted")
 * and never jumps over it. On x86-64, SSE4.2 and POPCNT are used when this CPU has them
 * (one instruction for floor/ceil/trunc/nearest and popcnt); the target
 * string, part of the cache key, says so. */
#define _GNU_SOURCE
#include "toolchain.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

extern char **environ;

/* A compile that takes longer than this is given up (and the module keeps
 * running in the interpreter). */
#define COMPILE_TIMEOUT_S 600

static const char common_flags[] =
    "-O2 -fPIC -shared -nostdlib -ffreestanding -fno-builtin -fno-stack-protector "
    "-fno-asynchronous-unwind-tables -fvisibility=hidden -ffp-contract=off -fno-math-errno "
    "-fno-strict-aliasing -fwrapv -fno-optimize-sibling-calls -fstack-clash-protection -w "
    "-Wl,-z,defs -Wl,-z,noexecstack "
    "-Wl,--build-id=none";
static const char gcc_flags[] = "-fno-tree-loop-distribute-patterns";

/* Looks for `name` in each directory of PATH; the real path into out. */
static bool find_on_path(const char *name, char *out, size_t cap)
{
    if (strchr(name, '/')) {
        char real[PATH_MAX];
        if (!realpath(name, real) || access(real, X_OK) != 0) return false;
        return (size_t)snprintf(out, cap, "%s", real) < cap;
    }
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        char candidate[PATH_MAX], real[PATH_MAX];
        if (n && n + strlen(name) + 2 < sizeof candidate) {
            snprintf(candidate, sizeof candidate, "%.*s/%s", (int)n, path, name);
            if (access(candidate, X_OK) == 0 && realpath(candidate, real))
                return (size_t)snprintf(out, cap, "%s", real) < cap;
        }
        path += n;
        if (*path == ':') path++;
    }
    return false;
}

/* The child's environment: ours, with a PATH (the runtimes get a minimal
 * environment, and the compiler driver needs its assembler and linker) and
 * plain messages. The strings live in `storage`. */
static char **child_env(char *storage[2])
{
    size_t n = 0;
    bool has_path = false;
    while (environ && environ[n]) {
        if (!strncmp(environ[n], "PATH=", 5)) has_path = true;
        n++;
    }
    char **env = calloc(n + 3, sizeof *env);
    if (!env) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LC_ALL=", 7)) env[k++] = environ[i];
    storage[0] = strdup("LC_ALL=C");
    storage[1] = has_path ? NULL : strdup("PATH=/usr/local/bin:/usr/bin:/bin");
    if (storage[0]) env[k++] = storage[0];
    if (storage[1]) env[k++] = storage[1];
    env[k] = NULL;
    return env;
}

/* The compiler has ended: *child back to 0, unless a cancel marked it -1
   (which stays, so that no later compile of the job starts). */
static void forget_child(volatile pid_t *child, pid_t pid)
{
    if (child)
        __atomic_compare_exchange_n((pid_t *)child, &pid, 0, false, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST);
}

/* Runs argv with stdout and stderr to the file `log`; waits at most
 * COMPILE_TIMEOUT_S. Returns the exit status, or -1 (with errno) when it
 * could not run or did not finish. */
static int run(char *const argv[], const char *log, bool background, volatile pid_t *child)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    char *storage[2] = {NULL, NULL};
    char **env = NULL;
    pid_t pid;
    int rc = ECANCELED; /* toolchain_cancel came before the compiler started */
    if (!child || __atomic_load_n((pid_t *)child, __ATOMIC_SEQ_CST) != -1) {
        env = child_env(storage);
        rc = env ? posix_spawn(&pid, argv[0], &fa, NULL, argv, env) : ENOMEM;
    }
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    free(storage[0]);
    free(storage[1]);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    if (background) setpriority(PRIO_PROCESS, (id_t)pid, 10);
    /* a cancel either finds the pid here or left -1 for us to find */
    if (child && __atomic_exchange_n((pid_t *)child, pid, __ATOMIC_SEQ_CST) == -1) {
        kill(pid, SIGTERM);
        __atomic_store_n((pid_t *)child, -1, __ATOMIC_SEQ_CST);
    }
    int status = 0;
    struct timespec tick = {0, 10 * 1000 * 1000};
    for (long waited = 0;; waited += 10) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) {
            status = -1;
            break;
        }
        if (waited > COMPILE_TIMEOUT_S * 1000L) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            forget_child(child, pid);
            errno = ETIMEDOUT;
            return -1;
        }
        nanosleep(&tick, NULL);
    }
    forget_child(child, pid);
    if (status == -1) return -1;
    if (WIFSIGNALED(status)) {
        errno = EINTR;
        return -1;
    }
    return WEXITSTATUS(status);
}

/* The first `cap`-1 bytes of a file, NUL-terminated, without a trailing
 * newline. */
static void read_head(const char *path, char *out, size_t cap)
{
    out[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n = read(fd, out, cap - 1);
    close(fd);
    if (n < 0) n = 0;
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
}

/* `compiler --version`, first line. */
static int read_version(const char *compiler, char *out, size_t cap)
{
    char log[] = "/tmp/stratus-cc-version-XXXXXX";
    int fd = mkstemp(log);
    if (fd < 0) return -1;
    close(fd);
    char *argv[] = {(char *)compiler, "--version", NULL};
    int rc = run(argv, log, false, NULL);
    char text[512];
    read_head(log, text, sizeof text);
    unlink(log);
    if (rc != 0) return -1;
    text[strcspn(text, "\n")] = '\0';
    snprintf(out, cap, "%s", text);
    return out[0] ? 0 : -1;
}

/* The remembered version of this very file, or -1. Lines:
 * "dev ino size mtime_s mtime_ns path\tversion". */
static int remembered_version(const char *id_cache, const char *path, const struct stat *st,
                              char *out, size_t cap)
{
    FILE *f = id_cache ? fopen(id_cache, "re") : NULL;
    if (!f) return -1;
    char line[2048];
    int rc = -1;
    while (rc < 0 && fgets(line, sizeof line, f)) {
        unsigned long long dev, ino, size, sec, nsec;
        int used = 0;
        if (sscanf(line, "%llu %llu %llu %llu %llu %n", &dev, &ino, &size, &sec, &nsec, &used) !=
                5 ||
            !used)
            continue;
        char *name = line + used, *tab = strchr(name, '\t');
        if (!tab) continue;
        *tab = '\0';
        char *version = tab + 1;
        version[strcspn(version, "\n")] = '\0';
        if (!strcmp(name, path) && dev == (unsigned long long)st->st_dev &&
            ino == (unsigned long long)st->st_ino && size == (unsigned long long)st->st_size &&
            sec == (unsigned long long)st->st_mtim.tv_sec &&
            nsec == (unsigned long long)st->st_mtim.tv_nsec && version[0]) {
            snprintf(out, cap, "%s", version);
            rc = 0;
        }
    }
    fclose(f);
    return rc;
}

/* Adds this compiler's line to the file (a new copy renamed over it, so
 * readers never see half a file). */
static void remember_version(const char *id_cache, const char *path, const struct stat *st,
                             const char *version)
{
    if (!id_cache) return;
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.%ld.tmp", id_cache, (long)getpid()) >= sizeof tmp)
        return;
    FILE *out = fopen(tmp, "we");
    if (!out) return;
    FILE *in = fopen(id_cache, "re");
    char line[2048];
    while (in && fgets(line, sizeof line, in)) {
        char *tab = strchr(line, '\t');
        /* drop older lines of the same path */
        char *name = tab ? tab : line;
        while (name > line && name[-1] != ' ')
            name--;
        if (tab && (size_t)(tab - name) == strlen(path) && !strncmp(name, path, strlen(path)))
            continue;
        fputs(line, out);
    }
    if (in) fclose(in);
    fprintf(out, "%llu %llu %llu %llu %llu %s\t%s\n", (unsigned long long)st->st_dev,
            (unsigned long long)st->st_ino, (unsigned long long)st->st_size,
            (unsigned long long)st->st_mtim.tv_sec, (unsigned long long)st->st_mtim.tv_nsec, path,
            version);
    if (fclose(out) != 0 || rename(tmp, id_cache) != 0) unlink(tmp);
}

/* Whether this x86-64 processor has SSE4.2 and POPCNT, asked of the
   processor itself: /proc/cpuinfo, formatted by the kernel for every CPU,
   cost tens of microseconds on every start of a cached module. */
static bool cpu_has_sse42_popcnt(void)
{
#if defined(__x86_64__)
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_2) && (c & bit_POPCNT);
#else
    return false;
#endif
}

int toolchain_find(const char *wanted, const char *id_cache, struct toolchain *tc, char *why,
                   size_t cap)
{
    memset(tc, 0, sizeof *tc);
    const char *env = getenv("STRATUS_CC");
    if (!wanted && env && *env) wanted = env;
    if (wanted) {
        if (!find_on_path(wanted, tc->path, sizeof tc->path)) {
            snprintf(why, cap, "no C compiler found: '%s' is not an executable program", wanted);
            return -1;
        }
    } else if (!find_on_path("clang", tc->path, sizeof tc->path) &&
               !find_on_path("gcc", tc->path, sizeof tc->path) &&
               !find_on_path("cc", tc->path, sizeof tc->path)) {
        snprintf(why, cap, "no C compiler found (clang, gcc or cc on PATH, or STRATUS_CC)");
        return -1;
    }
    struct stat st;
    if (stat(tc->path, &st) != 0) {
        snprintf(why, cap, "no C compiler found: %s: %s", tc->path, strerror(errno));
        return -1;
    }
    if (remembered_version(id_cache, tc->path, &st, tc->version, sizeof tc->version) != 0) {
        if (read_version(tc->path, tc->version, sizeof tc->version) != 0) {
            snprintf(why, cap, "no C compiler found: %s --version failed", tc->path);
            return -1;
        }
        remember_version(id_cache, tc->path, &st, tc->version);
    }
    tc->clang = strstr(tc->version, "clang") != NULL;
    struct utsname u;
    if (uname(&u) != 0) snprintf(u.machine, sizeof u.machine, "unknown");
    const char *isa = "";
    if (!strcmp(u.machine, "x86_64") && cpu_has_sse42_popcnt()) isa = " -msse4.2 -mpopcnt";
    snprintf(tc->target, sizeof tc->target, "%s%s", u.machine, *isa ? "+sse4.2+popcnt" : "");
    snprintf(tc->flags, sizeof tc->flags, "%s%s%s%s", common_flags, tc->clang ? "" : " ",
             tc->clang ? "" : gcc_flags, isa);
    snprintf(tc->identity, sizeof tc->identity, "cc=%s;version=%s;target=%s;flags=%s", tc->path,
             tc->version, tc->target, tc->flags);
    return 0;
}

int toolchain_compile(const struct toolchain *tc, const char *c_path, const char *so_path,
                      bool background, volatile pid_t *child, char *why, size_t cap)
{
    char flags[sizeof tc->flags];
    snprintf(flags, sizeof flags, "%s", tc->flags);
    char *argv[64];
    int n = 0;
    argv[n++] = (char *)tc->path;
    for (char *save = NULL, *f = strtok_r(flags, " ", &save); f && n < 58;
         f = strtok_r(NULL, " ", &save))
        argv[n++] = f;
    argv[n++] = "-o";
    argv[n++] = (char *)so_path;
    argv[n++] = (char *)c_path;
    argv[n] = NULL;
    char log[PATH_MAX];
    if ((size_t)snprintf(log, sizeof log, "%s.log", so_path) >= sizeof log) {
        snprintf(why, cap, "path too long");
        return -1;
    }
    int rc = run(argv, log, background, child);
    if (rc != 0) {
        char text[400];
        read_head(log, text, sizeof text);
        if (rc < 0)
            snprintf(why, cap, "%s: %s", tc->path,
                     errno == ETIMEDOUT ? "took too long" : strerror(errno));
        else
            snprintf(why, cap, "%s failed (exit %d): %s", tc->path, rc, text);
    }
    unlink(log);
    return rc == 0 ? 0 : -1;
}

void toolchain_cancel(volatile pid_t *child)
{
    /* -1 also stops a compiler not started yet (run() looks before and
       after starting it), so a cancel during the translation to C or
       between the two is not lost */
    pid_t pid = __atomic_exchange_n((pid_t *)child, -1, __ATOMIC_SEQ_CST);
    if (pid > 0) kill(pid, SIGTERM);
}
