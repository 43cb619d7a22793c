/* Children of `stratus up` (see child_proc.h). */
#define _GNU_SOURCE
#include "child_proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int child_proc_start(struct child_proc *c, char *const argv[], const char *log_path)
{
    int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log < 0) return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(log);
        return -1;
    }
    if (pid == 0) {
        /* Signals blocked in `up` (read from its signalfd) are unblocked. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127); /* `up` died before the line above */
        int in = open("/dev/null", O_RDONLY);
        if (in >= 0) dup2(in, 0);
        dup2(log, 1);
        dup2(log, 2);
        execv(argv[0], argv);
        dprintf(2, "stratus up: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(log);
    setpgid(pid, pid); /* also here, so the group exists before we signal it */
    c->pid = pid;
    c->status = 0;
    return 0;
}

int child_proc_reap(struct child_proc *c)
{
    if (c->pid <= 0) return 0;
    int status;
    pid_t r = waitpid(c->pid, &status, WNOHANG);
    if (r != c->pid) return 0;
    c->status = status;
    c->pid = 0;
    return 1;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void child_proc_stop(struct child_proc *c, int grace_ms)
{
    if (c->pid <= 0) return;
    kill(-c->pid, SIGTERM);
    long long deadline = now_ms() + grace_ms;
    while (now_ms() < deadline) {
        if (child_proc_reap(c)) break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (c->pid > 0) {
        kill(-c->pid, SIGKILL);
        int status;
        if (waitpid(c->pid, &status, 0) == c->pid) c->status = status;
        c->pid = 0;
    }
}

int child_proc_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

int child_proc_port_accepts(const char *host, int port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    if (getaddrinfo(host, service, &hints, &ai) != 0 || !ai) return 0;
    int ok = 0;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd >= 0) {
        int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc == 0) {
            ok = 1;
        } else if (errno == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int so = 1;
            socklen_t sl = sizeof so;
            if (poll(&p, 1, 200) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) == 0)
                ok = so == 0;
        }
        close(fd);
    }
    freeaddrinfo(ai);
    return ok;
}
