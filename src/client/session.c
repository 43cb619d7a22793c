/* A client command's MQTT session (see client.h): the shared event loop and
 * link, requests answered through mq_request(), and SIGINT/SIGTERM read
 * from a signalfd so that a command can stop what it started before it
 * exits. */
#define _GNU_SOURCE
#include <errno.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "client.h"
#include "event_loop.h"
#include "mq_link.h"
#include "mq_request.h"
#include "slog.h"
#include "stratus/envelope.h"
#include "stratus/topic.h"

struct session_route {
    char *filter;
    client_message_fn fn;
    void *ctx;
    struct session_route *next;
};

struct client_session {
    struct event_loop *loop;
    struct mq_link *link;
    struct mq_waiter *waiter;
    char realm[CLIENT_REALM_MAX];
    int sigfd;
    sigset_t old_mask;
    int signals;
    int connected;
    struct session_route *routes;
};

static void on_connected(void *ctx)
{
    struct client_session *s = ctx;
    s->connected = 1;
}

static void on_signal(void *ctx, uint32_t events)
{
    (void)events;
    struct client_session *s = ctx;
    struct signalfd_siginfo si;
    while (read(s->sigfd, &si, sizeof si) == (ssize_t)sizeof si)
        s->signals++;
    loop_stop(s->loop);
}

static int watch_signals(struct client_session *s)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &set, &s->old_mask) < 0) return -1;
    s->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s->sigfd < 0) return -1;
    return loop_add_fd(s->loop, s->sigfd, EPOLLIN, on_signal, s);
}

int client_session_open(const struct client_target *t, struct client_session **out,
                        char err[CLIENT_ERR_LEN])
{
    /* The link's own notes (connects, reconnects) are not for the user. */
    slog_set_level(SLOG_ERROR);
    mosquitto_lib_init();
    struct client_session *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, CLIENT_ERR_LEN, "out of memory");
        return -1;
    }
    s->sigfd = -1;
    snprintf(s->realm, sizeof s->realm, "%s", t->realm);
    signal(SIGPIPE, SIG_IGN);
    struct mq_link_options mo = {.host = t->mqtt.host, .port = t->mqtt.port, .keepalive_sec = 30};
    struct mq_link_callbacks cb = {.connected = on_connected, .ctx = s};
    if (loop_new(&s->loop) < 0 || watch_signals(s) < 0 ||
        mq_link_new(s->loop, &mo, &cb, &s->link) < 0 ||
        mq_waiter_new(s->loop, s->link, &s->waiter) < 0 || mq_link_start(s->link) < 0) {
        snprintf(err, CLIENT_ERR_LEN, "cannot set up the MQTT connection to %s:%d", t->mqtt.host,
                 t->mqtt.port);
        client_session_close(s);
        return -1;
    }
    int rc = client_session_run(s, &s->connected, CLIENT_CONNECT_MS);
    if (rc != 0) {
        snprintf(err, CLIENT_ERR_LEN,
                 rc == 2 ? "interrupted"
                         : "cannot reach the broker at %s:%d (is a stack running? `stratus up` "
                           "starts one)",
                 t->mqtt.host, t->mqtt.port);
        client_session_close(s);
        return -1;
    }
    *out = s;
    return 0;
}

void client_session_close(struct client_session *s)
{
    if (!s) return;
    mq_waiter_free(s->waiter);
    if (s->link) {
        /* Let what was published reach the broker (a delete on Ctrl-C). */
        int settled = 0;
        for (int i = 0; i < 50 && s->connected && mq_link_unsettled(s->link) > 0; i++)
            client_session_run(s, &settled, 20);
        mq_link_disconnect(s->link);
        mq_link_free(s->link);
    }
    while (s->routes) {
        struct session_route *r = s->routes;
        s->routes = r->next;
        free(r->filter);
        free(r);
    }
    if (s->sigfd >= 0) {
        loop_del_fd(s->loop, s->sigfd);
        close(s->sigfd);
        sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
    }
    loop_free(s->loop);
    free(s);
    mosquitto_lib_cleanup();
}

static void on_route(void *ctx, const char *topic, const void *payload, size_t len)
{
    struct session_route *r = ctx;
    r->fn(r->ctx, topic, payload, len);
}

int client_session_route(struct client_session *s, const char *filter, client_message_fn fn,
                         void *ctx, char err[CLIENT_ERR_LEN])
{
    struct session_route *r = calloc(1, sizeof *r);
    if (!r || !(r->filter = strdup(filter))) {
        free(r);
        snprintf(err, CLIENT_ERR_LEN, "out of memory");
        return -1;
    }
    r->fn = fn;
    r->ctx = ctx;
    if (mq_link_route(s->link, filter, 1, on_route, r) < 0) {
        free(r->filter);
        free(r);
        snprintf(err, CLIENT_ERR_LEN, "cannot subscribe to %s", filter);
        return -1;
    }
    r->next = s->routes;
    s->routes = r;
    return 0;
}

struct ask {
    int done;
    json_t *answer;
};

static void on_answer(void *ctx, const struct envelope *answer)
{
    struct ask *a = ctx;
    a->done = 1;
    if (answer) a->answer = json_incref(answer->root);
}

int client_session_ask(struct client_session *s, const json_t *request, uint64_t timeout_ms,
                       json_t **answer, char err[CLIENT_ERR_LEN])
{
    char topic[TOPIC_LAYOUT_MAX];
    *answer = NULL;
    if (topic_format(topic, sizeof topic, s->realm, TOPIC_CONTROL, NULL) < 0) {
        snprintf(err, CLIENT_ERR_LEN, "realm '%s' makes no topic", s->realm);
        return -1;
    }
    /* The struct lives on this stack frame: the request must be answered or
     * forgotten before it returns. */
    struct ask a = {0};
    if (mq_request(s->waiter, topic, request, topic, timeout_ms, on_answer, &a) < 0) {
        snprintf(err, CLIENT_ERR_LEN, "cannot publish on %s", topic);
        return -1;
    }
    int rc = client_session_run(s, &a.done, timeout_ms + 1000);
    if (!a.done) {
        /* Interrupted: forget the request so that its answer finds nothing. */
        mq_waiter_free(s->waiter);
        s->waiter = NULL;
        mq_waiter_new(s->loop, s->link, &s->waiter);
    }
    if (!a.answer) {
        snprintf(err, CLIENT_ERR_LEN,
                 rc == 2 ? "interrupted"
                         : "no answer from the orchestrator of realm '%s' within %llu s (is it "
                           "running? `stratus up` starts a stack)",
                 s->realm, (unsigned long long)(timeout_ms / 1000));
        return -1;
    }
    *answer = a.answer;
    return 0;
}

int client_session_publish(struct client_session *s, const char *topic, const json_t *msg)
{
    return mq_link_publish_json(s->link, topic, msg, 1, NULL);
}

int client_session_run(struct client_session *s, const int *done, uint64_t timeout_ms)
{
    int seen = s->signals;
    for (;;) {
        if (*done) return 0;
        uint64_t step = timeout_ms > 3600000 ? 3600000 : timeout_ms;
        uint64_t start = loop_now_ms();
        int rc = mq_run_until(s->loop, done, step);
        if (rc == 0) return 0;
        if (s->signals != seen) return 2;
        if (rc < 0) return 1;
        uint64_t spent = loop_now_ms() - start;
        if (timeout_ms != UINT64_MAX) {
            if (spent >= timeout_ms) return 1;
            timeout_ms -= spent;
        }
    }
}

int client_session_interrupted(const struct client_session *s)
{
    return s->signals;
}

const char *client_session_realm(const struct client_session *s)
{
    return s->realm;
}
