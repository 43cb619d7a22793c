/* Orchestrator test helpers (see orc_stack.h). */
#define _GNU_SOURCE
#include "orc_stack.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

void http_answer_free(struct http_answer *a)
{
    free(a->body);
    free(a->headers);
    json_decref(a->json);
    memset(a, 0, sizeof *a);
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int http_request(int port, const char *method, const char *path, const char *body, size_t body_len,
                 struct http_answer *a)
{
    memset(a, 0, sizeof *a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     method, path, body ? body_len : 0);
    if (write_all(fd, head, (size_t)n) < 0 || (body && write_all(fd, body, body_len) < 0)) {
        /* The server may answer (413) before reading a large body. */
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 1024 > cap) buf = realloc(buf, cap *= 2);
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    char *sep = strstr(buf, "\r\n\r\n");
    if (!sep || sscanf(buf, "HTTP/1.%*d %d", &a->status) != 1) {
        free(buf);
        a->status = 0;
        return -1;
    }
    a->headers = strndup(buf, (size_t)(sep - buf));
    a->len = len - (size_t)(sep + 4 - buf);
    a->body = malloc(a->len + 1);
    memcpy(a->body, sep + 4, a->len);
    a->body[a->len] = '\0';
    a->json = json_loadb(a->body, a->len, 0, NULL);
    free(buf);
    return 0;
}

json_t *http_get_json(int port, const char *path)
{
    struct http_answer a;
    if (http_request(port, "GET", path, NULL, 0, &a) < 0 || a.status != 200) {
        http_answer_free(&a);
        return NULL;
    }
    json_t *j = json_incref(a.json);
    http_answer_free(&a);
    return j;
}

int http_wait_field(int port, const char *path, const char *field, const char *text, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    for (;;) {
        json_t *j = http_get_json(port, path);
        int ok = j && json_at_equals(j, field, text);
        json_decref(j);
        if (ok) return 0;
        if (harness_now_ms() >= deadline) {
            fprintf(stderr, "orc_stack: %s: %s never became %s\n", path, field, text);
            return -1;
        }
        usleep(20000);
    }
}

int orchestrator_start(struct orchestrator *o, int broker_port, const char *realm, const char *db,
                       const char *const *extra)
{
    memset(o, 0, sizeof *o);
    if (db) {
        snprintf(o->db, sizeof o->db, "%s", db);
    } else {
        char dir[PATH_MAX];
        if (harness_tmpdir(dir)) return -1;
        snprintf(o->db, sizeof o->db, "%s/orc.db", dir);
    }
    for (int attempt = 0; attempt < 3; attempt++) {
        o->http_port = harness_free_port();
        char mqtt[64], http[64];
        snprintf(mqtt, sizeof mqtt, "127.0.0.1:%d", broker_port);
        snprintf(http, sizeof http, "127.0.0.1:%d", o->http_port);
        const char *argv[48] = {harness_stratus_path(),
                                "orchestrator",
                                "--mqtt",
                                mqtt,
                                "--realm",
                                realm,
                                "--db",
                                o->db,
                                "--http",
                                http,
                                "--log-level",
                                "debug"};
        int n = 12;
        for (int i = 0; extra && extra[i] && n < 47; i++)
            argv[n++] = extra[i];
        argv[n] = NULL;
        if (proc_start(&o->proc, (char *const *)argv)) return -1;
        long long deadline = harness_now_ms() + 10000;
        while (harness_now_ms() < deadline && proc_alive(&o->proc)) {
            /* Serving, and connected to the broker (so subscribed). */
            json_t *h = http_get_json(o->http_port, "/healthz");
            int ok = h && json_at_equals(h, "broker", "true");
            json_decref(h);
            if (ok) return 0;
            usleep(20000);
        }
        proc_kill(&o->proc);
    }
    fprintf(stderr, "orc_stack: the orchestrator did not start\n");
    return -1;
}
