/* The processes `stratus up` starts: each in a process group of its own
 * (so a Ctrl-C on the terminal reaches only `up`, which stops them in
 * order), with its output appended to a log file, and with the kernel told
 * to SIGKILL it when `up` dies (PR_SET_PDEATHSIG), so that nothing outlives
 * an `up` that was itself killed. */
#ifndef STRATUS_CLIENT_CHILD_PROC_H
#define STRATUS_CLIENT_CHILD_PROC_H

#include <sys/types.h>

struct child_proc {
    const char *what; /* "broker", "orchestrator", "manager" */
    pid_t pid;        /* 0 when not running */
    int status;       /* waitpid status once reaped */
};

/* Start argv (argv[0] a path) with stdout and stderr appended to log_path
 * and stdin from /dev/null. Returns 0, or -1 with errno. */
int child_proc_start(struct child_proc *c, char *const argv[], const char *log_path);

/* Reap c if it has exited (no waiting): 1 when it just ended, else 0. */
int child_proc_reap(struct child_proc *c);

/* SIGTERM the process group, wait up to grace_ms, then SIGKILL and reap.
 * Safe on a child that is not running. */
void child_proc_stop(struct child_proc *c, int grace_ms);

/* A free TCP port on 127.0.0.1 (bound, then released), or -1. */
int child_proc_free_port(void);
/* 1 if something accepts TCP connections on host:port (within 200 ms). */
int child_proc_port_accepts(const char *host, int port);

#endif
