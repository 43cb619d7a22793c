/* CPU reservations for module threads (see resources.h). SCHED_DEADLINE
 * gives the guarantee the request describes (runtime every period); the
 * cgroup v2 fallback only caps the thread at that share, which is the next
 * best thing where deadline scheduling is refused (no CAP_SYS_NICE,
 * admission control). */
#define _GNU_SOURCE
#include "resources.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif

/* The kernel's struct sched_attr (glibc 2.36 has no wrapper). */
struct dl_attr {
    uint32_t size;
    uint32_t policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
};

static int try_sched_deadline(uint64_t period, uint64_t runtime, char *why, size_t cap)
{
    struct dl_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.policy = SCHED_DEADLINE;
    a.runtime = runtime;
    a.deadline = period;
    a.period = period;
    if (syscall(SYS_sched_setattr, 0, &a, 0) == 0) return 0;
    snprintf(why, cap, "SCHED_DEADLINE: %s", strerror(errno));
    return -1;
}

static int write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = write(fd, text, strlen(text));
    int e = errno;
    close(fd);
    errno = e;
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* The cgroup v2 directory the process is in: the "0::" line of
 * /proc/self/cgroup under the cgroup2 mount point from /proc/self/mounts. */
static int own_cgroup_dir(char *out, size_t cap)
{
    char mount_point[256] = "", rel[256] = "", line[1024];
    FILE *f = fopen("/proc/self/mounts", "re");
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        char dev[64], dir[256], type[32];
        if (sscanf(line, "%63s %255s %31s", dev, dir, type) == 3 && !strcmp(type, "cgroup2")) {
            snprintf(mount_point, sizeof mount_point, "%s", dir);
            break;
        }
    }
    fclose(f);
    if (!(f = fopen("/proc/self/cgroup", "re"))) return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "0::", 3)) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(rel, sizeof rel, "%s", line + 3);
        }
    fclose(f);
    if (!mount_point[0] || !rel[0]) return -1;
    if ((size_t)snprintf(out, cap, "%s%s", mount_point, strcmp(rel, "/") ? rel : "") >= cap)
        return -1;
    return 0;
}

static int try_cgroup(uint64_t period, uint64_t runtime, char *dir, size_t dircap, char *why,
                      size_t cap)
{
    char parent[256], controllers[256] = "";
    dir[0] = '\0';
    if (own_cgroup_dir(parent, sizeof parent)) {
        snprintf(why, cap, "cgroup v2: not mounted, or this process is in none");
        return -1;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/cgroup.controllers", parent);
    FILE *f = fopen(path, "re");
    if (f) {
        if (!fgets(controllers, sizeof controllers, f)) controllers[0] = '\0';
        fclose(f);
    }
    /* A word of its own: "cpuset" is another controller. */
    bool has_cpu = false;
    for (char *w = strtok(controllers, " \n"); w && !has_cpu; w = strtok(NULL, " \n"))
        has_cpu = !strcmp(w, "cpu");
    if (!has_cpu) {
        snprintf(why, cap, "cgroup v2: no cpu controller in %s", parent);
        return -1;
    }
    long tid = (long)syscall(SYS_gettid);
    if ((size_t)snprintf(dir, dircap, "%s/stratus-%ld-%ld", parent, (long)getpid(), tid) >=
            dircap ||
        mkdir(dir, 0755)) {
        snprintf(why, cap, "cgroup v2: cannot create a cgroup in %s: %s", parent, strerror(errno));
        dir[0] = '\0';
        return -1;
    }
    char quota[64], thread[32];
    snprintf(quota, sizeof quota, "%llu %llu", (unsigned long long)(runtime / 1000),
             (unsigned long long)(period / 1000));
    snprintf(thread, sizeof thread, "%ld", tid);
    /* A threaded cgroup of our own, the cpu controller on for it, the
     * quota, then the thread moved in. */
    const struct {
        const char *dir, *file, *text;
    } steps[] = {
        {dir, "cgroup.type", "threaded"},
        {parent, "cgroup.subtree_control", "+cpu"},
        {dir, "cpu.max", quota},
        {dir, "cgroup.threads", thread},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (write_file(steps[i].dir, steps[i].file, steps[i].text)) {
            snprintf(why, cap, "cgroup v2: %s in %s: %s", steps[i].file, steps[i].dir,
                     strerror(errno));
            rmdir(dir);
            dir[0] = '\0';
            return -1;
        }
    return 0;
}

void resources_apply(uint64_t period_ns, uint64_t runtime_ns, int try_deadline,
                     struct resources_result *out)
{
    memset(out, 0, sizeof *out);
    if (period_ns < RES_PERIOD_MIN_NS || period_ns > RES_PERIOD_MAX_NS ||
        runtime_ns < RES_RUNTIME_MIN_NS || runtime_ns > period_ns) {
        out->outcome = RES_INVALID;
        snprintf(out->message, sizeof out->message,
                 "CPU reservation %llu/%llu ns refused: the period must lie within "
                 "100 us..10 s and the runtime within 1024 ns..period",
                 (unsigned long long)runtime_ns, (unsigned long long)period_ns);
        return;
    }
    char why_dl[160] = "SCHED_DEADLINE: not tried", why_cg[300];
    if (try_deadline && !try_sched_deadline(period_ns, runtime_ns, why_dl, sizeof why_dl)) {
        out->outcome = RES_DEADLINE;
        snprintf(out->message, sizeof out->message,
                 "CPU reservation %llu/%llu ns applied with SCHED_DEADLINE",
                 (unsigned long long)runtime_ns, (unsigned long long)period_ns);
        return;
    }
    if (!try_cgroup(period_ns, runtime_ns, out->cgroup_dir, sizeof out->cgroup_dir, why_cg,
                    sizeof why_cg)) {
        out->outcome = RES_CGROUP;
        snprintf(out->message, sizeof out->message,
                 "CPU reservation %llu/%llu ns applied with cgroup cpu.max at %s",
                 (unsigned long long)runtime_ns, (unsigned long long)period_ns, out->cgroup_dir);
        return;
    }
    out->outcome = RES_NOT_APPLIED;
    snprintf(out->message, sizeof out->message,
             "CPU reservation %llu/%llu ns could not be applied (%s; %s): the module runs "
             "without it",
             (unsigned long long)runtime_ns, (unsigned long long)period_ns, why_dl, why_cg);
}

void resources_release(struct resources_result *res)
{
    if (res->outcome == RES_CGROUP && res->cgroup_dir[0]) rmdir(res->cgroup_dir);
    res->cgroup_dir[0] = '\0';
}
