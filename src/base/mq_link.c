/* libmosquitto driven by a daemon's event loop (see mq_link.h).
 *
 * The client socket is watched for input always and for output while
 * libmosquitto has queued packets; a prepare hook flushes queued packets once
 * per loop iteration, so everything published while handling one batch of
 * events leaves in as few writes as possible. Connection loss (reported by a
 * failing read or write, or by the disconnect callback) unwatches the socket
 * and schedules a reconnect with exponential backoff. */
#include "mq_link.h"

#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "event_loop.h"
#include "outbox.h"
#include "slog.h"
#include "stratus/topic.h"

#define RECONNECT_MIN_MS 100
#define RECONNECT_MAX_MS 5000
#define MISC_INTERVAL_MS 1000

/* Counted, because the manager's own topics and a module's channel may
 * name the same filter: one must not unsubscribe the other. Each has an MQTT
 * 5 subscription identifier (see pick_copy). */
struct subscription {
    char *filter;
    int qos;
    int refs;
    uint32_t id;
    int unsub_mid;             /* a tombstone: unsubscribed, waiting for the UNSUBACK */
    struct subscription *next; /* tombstones */
};

#define SUB_ID_MAX 268435455u /* the largest MQTT variable byte integer */

/* A route lives in the topic index as its value. Removed routes are only
 * marked while a dispatch runs and freed after it. */
struct route {
    char *filter;
    mq_route_fn fn;
    void *ctx;
    int dead;
    struct route *next; /* all routes */
};

struct mq_link {
    struct event_loop *loop;
    struct mosquitto *mosq;
    struct mq_link_callbacks cb;
    char *host;
    int port;
    int keepalive;
    int v5;
    int fd;          /* watched socket, or -1 */
    uint32_t events; /* events the watch asks for */
    int connected;   /* CONNACK accepted */
    /* SUBSCRIBEs sent since the last CONNACK and not yet acknowledged: a
       message published to one of those filters meanwhile may be lost */
    unsigned subacks_due;
    int lost;     /* set by callbacks when the connection ended */
    int stopping; /* disconnect requested: never reconnect */
    int started;  /* a connect was ever attempted */
    int inflight; /* QoS>0 publishes not yet acknowledged */
    int drain;    /* a CONNACK came: send the outbox from the loop */
    struct outbox *outbox;
    int warned; /* an unreachable broker was reported since the last connect */
    uint64_t backoff_ms;
    loop_timer_id reconnect_timer;
    loop_timer_id misc_timer;
    struct subscription **subs;
    size_t nsubs, subs_cap;
    struct topic_index *subs_index; /* filter -> struct subscription, tombstones included */
    struct subscription *tombstones;
    uint32_t next_sub_id;
    struct topic_index *routes_index;
    struct route *routes;
    int dispatching;        /* depth of message dispatches under way */
    struct route **matched; /* scratch list of one dispatch */
    size_t nmatched, matched_cap;
};

static void schedule_reconnect(struct mq_link *link);

static void unwatch(struct mq_link *link)
{
    if (link->fd >= 0) {
        loop_del_fd(link->loop, link->fd);
        link->fd = -1;
    }
}

/* The library's text for a failure, with what to check for TLS ones (the
 * library says no more than "A TLS error occurred"). */
static const char *link_error_text(int rc)
{
    if (rc == MOSQ_ERR_TLS)
        return "TLS handshake failed: check that --tls-ca holds the CA that signed the "
               "broker's certificate and that the certificate names the host connected to";
    return mosquitto_strerror(rc);
}

static void free_tombstone(struct mq_link *link, struct subscription *s)
{
    for (struct subscription **pp = &link->tombstones; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    topic_index_remove(link->subs_index, s->filter, s);
    free(s->filter);
    free(s);
}

static void connection_lost(struct mq_link *link, const char *why)
{
    /* A new session starts with no subscriptions at the broker. */
    while (link->tombstones)
        free_tombstone(link, link->tombstones);
    int was_connected = link->connected;
    link->connected = 0;
    /* inflight stays: libmosquitto sends those messages again after the
     * reconnect, and they are settled only when acknowledged then. */
    link->drain = 0;
    link->lost = 0;
    unwatch(link);
    if (link->stopping) return;
    if (was_connected)
        slog(SLOG_WARNING, "mq", "connection to %s:%d lost (%s)", link->host, link->port, why);
    else
        /* Said once per outage; the retries go on quietly. */
        slog(link->warned ? SLOG_DEBUG : SLOG_WARNING, "mq",
             "cannot connect to %s:%d (%s); retrying", link->host, link->port, why);
    link->warned = 1;
    schedule_reconnect(link);
}

static void update_events(struct mq_link *link)
{
    if (link->fd < 0) return;
    uint32_t want = EPOLLIN | (mosquitto_want_write(link->mosq) ? EPOLLOUT : 0);
    if (want != link->events) {
        loop_mod_fd(link->loop, link->fd, want);
        link->events = want;
    }
}

static void on_socket(void *ctx, uint32_t events)
{
    struct mq_link *link = ctx;
    int rc = MOSQ_ERR_SUCCESS;
    if (events & (EPOLLERR | EPOLLHUP)) {
        /* A failed connect: libmosquitto's TLS path does not always notice,
         * and the level-triggered error would then spin the loop. */
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(link->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err) {
            connection_lost(link, strerror(err));
            return;
        }
        if ((events & EPOLLHUP) && !link->connected) {
            connection_lost(link, "connection refused or closed");
            return;
        }
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) rc = mosquitto_loop_read(link->mosq, 1);
    if (rc == MOSQ_ERR_SUCCESS && !link->lost && (events & EPOLLOUT))
        rc = mosquitto_loop_write(link->mosq, 1);
    if (rc != MOSQ_ERR_SUCCESS || link->lost) {
        connection_lost(link, rc != MOSQ_ERR_SUCCESS ? link_error_text(rc) : "closed");
        return;
    }
    update_events(link);
}

/* Hand one message to libmosquitto. Returns 0 when libmosquitto has it
 * (a QoS>0 message it could not write yet stays in its queue and is sent
 * again after a reconnect), -1 when it is not sent (QoS 0 on a broken
 * connection, or an error). */
static int hand_over(struct mq_link *link, const char *topic, const void *payload, size_t len,
                     int qos, int *mid)
{
    int rc = mosquitto_publish(link->mosq, mid, topic, (int)len, payload, qos, false);
    if (rc == MOSQ_ERR_SUCCESS ||
        (qos > 0 && (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO))) {
        if (qos > 0) link->inflight++;
        if (rc != MOSQ_ERR_SUCCESS) link->lost = 1;
        return 0;
    }
    if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO) link->lost = 1;
    slog(SLOG_DEBUG, "mq", "publish %s: %s", topic, mosquitto_strerror(rc));
    return -1;
}

/* After a CONNACK (and after libmosquitto's resends, which it makes once
 * the connect callback returned): everything kept, oldest first. */
static void drain_outbox(struct mq_link *link)
{
    link->drain = 0;
    const struct outbox_msg *m;
    size_t sent = 0;
    while (link->connected && !link->lost && (m = outbox_peek(link->outbox))) {
        if (hand_over(link, m->topic, m->payload, m->len, m->qos, NULL) < 0) break;
        outbox_pop(link->outbox);
        sent++;
    }
    if (sent)
        slog(SLOG_INFO, "mq", "sent %zu message(s) kept while disconnected%s", sent,
             outbox_count(link->outbox) ? "; the rest waits for the next connection" : "");
}

/* Before each wait: send what was queued during this iteration. */
static void flush_output(void *ctx)
{
    struct mq_link *link = ctx;
    if (link->drain && link->connected && !link->dispatching) drain_outbox(link);
    if (link->lost && link->fd >= 0) {
        connection_lost(link, "closed");
        return;
    }
    if (link->fd < 0 || !mosquitto_want_write(link->mosq)) return;
    int rc = mosquitto_loop_write(link->mosq, 1);
    if (rc != MOSQ_ERR_SUCCESS || link->lost) {
        connection_lost(link, rc != MOSQ_ERR_SUCCESS ? link_error_text(rc) : "closed");
        return;
    }
    update_events(link);
}

static void on_misc_timer(void *ctx)
{
    struct mq_link *link = ctx;
    link->misc_timer = 0;
    if (link->fd >= 0) {
        /* Keepalive pings and retries of unacknowledged messages. */
        if (mosquitto_loop_misc(link->mosq) != MOSQ_ERR_SUCCESS || link->lost)
            connection_lost(link, "keepalive");
        else
            update_events(link);
    }
    if (!link->stopping)
        loop_timer_add(link->loop, MISC_INTERVAL_MS, on_misc_timer, link, &link->misc_timer);
}

static void set_nodelay(int fd)
{
    int one = 1;
    /* Small control messages must not wait for earlier ones to be acked. */
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
        slog(SLOG_DEBUG, "mq", "TCP_NODELAY: %s", strerror(errno));
}

static int watch_socket(struct mq_link *link)
{
    int fd = mosquitto_socket(link->mosq);
    if (fd < 0) return -1;
    set_nodelay(fd);
    link->events = EPOLLIN | EPOLLOUT;
    if (loop_add_fd(link->loop, fd, link->events, on_socket, link) < 0) return -1;
    link->fd = fd;
    return 0;
}

static void try_connect(struct mq_link *link)
{
    int rc;
    link->lost = 0;
    if (!link->started) {
        link->started = 1;
        rc = mosquitto_connect_async(link->mosq, link->host, link->port, link->keepalive);
    } else {
        rc = mosquitto_reconnect_async(link->mosq);
    }
    if (rc != MOSQ_ERR_SUCCESS) {
        slog(link->warned ? SLOG_DEBUG : SLOG_WARNING, "mq",
             "cannot connect to %s:%d (%s); retrying", link->host, link->port,
             rc == MOSQ_ERR_ERRNO ? strerror(errno) : link_error_text(rc));
        link->warned = 1;
        schedule_reconnect(link);
        return;
    }
    if (watch_socket(link) < 0) {
        slog(SLOG_ERROR, "mq", "cannot watch the MQTT socket");
        schedule_reconnect(link);
    }
}

static void on_reconnect_timer(void *ctx)
{
    struct mq_link *link = ctx;
    link->reconnect_timer = 0;
    if (!link->stopping) try_connect(link);
}

static void schedule_reconnect(struct mq_link *link)
{
    if (link->reconnect_timer || link->stopping) return;
    uint64_t delay = link->backoff_ms;
    link->backoff_ms =
        link->backoff_ms * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : link->backoff_ms * 2;
    loop_timer_add(link->loop, delay, on_reconnect_timer, link, &link->reconnect_timer);
}

static int send_subscribe(struct mq_link *link, const struct subscription *s)
{
    int rc;
    if (link->v5) {
        mosquitto_property *props = NULL;
        rc = mosquitto_property_add_varint(&props, MQTT_PROP_SUBSCRIPTION_IDENTIFIER, s->id);
        if (rc == MOSQ_ERR_SUCCESS)
            rc = mosquitto_subscribe_v5(link->mosq, NULL, s->filter, s->qos, MQTT_SUB_OPT_NO_LOCAL,
                                        props);
        mosquitto_property_free_all(&props);
    } else
        rc = mosquitto_subscribe(link->mosq, NULL, s->filter, s->qos);
    if (rc == MOSQ_ERR_SUCCESS) link->subacks_due++;
    if (rc != MOSQ_ERR_SUCCESS)
        slog(SLOG_WARNING, "mq", "subscribe %s: %s", s->filter, mosquitto_strerror(rc));
    return rc == MOSQ_ERR_SUCCESS ? 0 : -1;
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
    (void)mosq;
    (void)flags;
    (void)props;
    struct mq_link *link = obj;
    if (rc != 0) {
        if (link->v5 && (rc == MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION ||
                         rc == CONNACK_REFUSED_PROTOCOL_VERSION)) {
            slog(SLOG_WARNING, "mq",
                 "broker refuses MQTT v5; using 3.1.1 (no no-local: own messages come back)");
            link->v5 = 0;
            mosquitto_int_option(link->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
            link->backoff_ms = 0;
        } else {
            slog(SLOG_ERROR, "mq", "broker refused the connection: %s",
                 link->v5 ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc));
        }
        link->lost = 1;
        return;
    }
    link->connected = 1;
    link->subacks_due = 0;
    link->drain = outbox_count(link->outbox) > 0;
    link->warned = 0;
    link->backoff_ms = RECONNECT_MIN_MS;
    slog(SLOG_INFO, "mq", "connected to %s:%d (MQTT %s)", link->host, link->port,
         link->v5 ? "5" : "3.1.1");
    for (size_t i = 0; i < link->nsubs; i++)
        send_subscribe(link, link->subs[i]);
    if (link->cb.connected) link->cb.connected(link->cb.ctx);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc, const mosquitto_property *p)
{
    (void)mosq;
    (void)rc;
    (void)p;
    struct mq_link *link = obj;
    link->lost = 1;
}

static void collect_route(void *value, void *ctx)
{
    struct mq_link *link = ctx;
    if (link->nmatched == link->matched_cap) {
        size_t cap = link->matched_cap ? link->matched_cap * 2 : 8;
        struct route **m = realloc(link->matched, cap * sizeof *m);
        if (!m) return; /* that route misses this one message; logged below */
        link->matched = m;
        link->matched_cap = cap;
    }
    link->matched[link->nmatched++] = value;
}

static void free_dead_routes(struct mq_link *link)
{
    struct route **pp = &link->routes;
    while (*pp) {
        struct route *r = *pp;
        if (r->dead) {
            *pp = r->next;
            free(r->filter);
            free(r);
        } else {
            pp = &r->next;
        }
    }
}

/* Handlers may change the routes: the matches are collected first, and a
 * route removed meanwhile is skipped (it stays allocated until the end). */
static void dispatch(struct mq_link *link, const char *topic, const void *payload, size_t len)
{
    if (link->dispatching) {
        /* Only mq_link_disconnect reads from inside a handler; what arrives
         * then is past its routes' interest, so only the catch-all sees it. */
        slog(SLOG_WARNING, "mq", "nested dispatch of %s: routes skipped", topic);
    } else {
        link->nmatched = 0;
        size_t want = topic_index_match(link->routes_index, topic, collect_route, link);
        if (want != link->nmatched)
            slog(SLOG_ERROR, "mq", "out of memory routing %s: %zu handler(s) skipped", topic,
                 want - link->nmatched);
        link->dispatching = 1;
        for (size_t i = 0; i < link->nmatched; i++)
            if (!link->matched[i]->dead)
                link->matched[i]->fn(link->matched[i]->ctx, topic, payload, len);
        link->dispatching = 0;
        free_dead_routes(link);
    }
    if (link->cb.message) link->cb.message(link->cb.ctx, topic, payload, len);
}

struct lowest_sub {
    uint32_t id;
};

static void note_lowest(void *value, void *ctx)
{
    const struct subscription *s = value;
    struct lowest_sub *l = ctx;
    if (s->id < l->id) l->id = s->id;
}

/* A broker sends a client one copy of a message per matching subscription
 * (mosquitto does), or one copy naming all of them: either way, exactly one
 * copy carries the lowest identifier among this link's subscriptions that
 * match the topic, and only that copy is handled. The choice holds while
 * subscriptions change: identifiers only grow, so a new subscription never
 * becomes the lowest of a message routed before the broker had it, and an
 * unsubscribed filter stays in the index as a tombstone until its UNSUBACK,
 * after which the broker sends no more copies for it. Without identifiers
 * (MQTT 3.1.1) every copy is handled. */
static int pick_copy(struct mq_link *link, const char *topic, const mosquitto_property *props)
{
    uint32_t got;
    const mosquitto_property *p =
        mosquitto_property_read_varint(props, MQTT_PROP_SUBSCRIPTION_IDENTIFIER, &got, false);
    if (!p) return 1;
    struct lowest_sub lowest = {UINT32_MAX};
    topic_index_match(link->subs_index, topic, note_lowest, &lowest);
    while (p) {
        if (got == lowest.id) return 1;
        p = mosquitto_property_read_varint(p, MQTT_PROP_SUBSCRIPTION_IDENTIFIER, &got, true);
    }
    return 0;
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m,
                       const mosquitto_property *props)
{
    (void)mosq;
    struct mq_link *link = obj;
    if (pick_copy(link, m->topic, props))
        dispatch(link, m->topic, m->payload, (size_t)m->payloadlen);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
                         const int *granted_qos)
{
    (void)mosq;
    (void)mid;
    (void)qos_count;
    (void)granted_qos;
    struct mq_link *link = obj;
    if (link->subacks_due) link->subacks_due--;
}

static void on_unsubscribe(struct mosquitto *mosq, void *obj, int mid)
{
    (void)mosq;
    struct mq_link *link = obj;
    for (struct subscription *s = link->tombstones; s; s = s->next) {
        if (s->unsub_mid == mid) {
            free_tombstone(link, s);
            return;
        }
    }
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    (void)mosq;
    struct mq_link *link = obj;
    if (link->inflight > 0) link->inflight--;
    if (link->cb.published) link->cb.published(link->cb.ctx, mid);
}

int mq_link_new(struct event_loop *loop, const struct mq_link_options *opt,
                const struct mq_link_callbacks *cb, struct mq_link **out)
{
    struct mq_link *link = calloc(1, sizeof *link);
    if (!link) return -1;
    link->loop = loop;
    link->cb = *cb;
    link->fd = -1;
    link->v5 = 1;
    link->port = opt->port;
    link->keepalive = opt->keepalive_sec > 0 ? opt->keepalive_sec : 30;
    link->backoff_ms = RECONNECT_MIN_MS;
    link->host = strdup(opt->host);
    link->mosq = mosquitto_new(opt->client_id, true, link);
    link->routes_index = topic_index_new();
    link->subs_index = topic_index_new();
    link->next_sub_id = 1;
    struct outbox_options oo = {
        .output_total = opt->outbox_total,
        .output_per_source = opt->outbox_per_source,
        .dropped = cb->dropped,
        .ctx = cb->ctx,
    };
    if (!link->host || !link->mosq || !link->routes_index || !link->subs_index ||
        outbox_new(&oo, &link->outbox) < 0)
        goto fail;
    mosquitto_int_option(link->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_connect_v5_callback_set(link->mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(link->mosq, on_disconnect);
    mosquitto_message_v5_callback_set(link->mosq, on_message);
    mosquitto_unsubscribe_callback_set(link->mosq, on_unsubscribe);
    mosquitto_subscribe_callback_set(link->mosq, on_subscribe);
    mosquitto_publish_callback_set(link->mosq, on_publish);
    if (opt->username &&
        mosquitto_username_pw_set(link->mosq, opt->username, opt->password) != MOSQ_ERR_SUCCESS)
        goto fail;
    if (opt->tls) {
        const char *capath = opt->tls_ca ? NULL : "/etc/ssl/certs";
        int rc =
            mosquitto_tls_set(link->mosq, opt->tls_ca, capath, opt->tls_cert, opt->tls_key, NULL);
        if (rc != MOSQ_ERR_SUCCESS) {
            slog(SLOG_ERROR, "mq", "TLS setup: %s", mosquitto_strerror(rc));
            goto fail;
        }
        if (opt->tls_insecure) mosquitto_tls_insecure_set(link->mosq, true);
    }
    if (opt->will_topic &&
        mosquitto_will_set(link->mosq, opt->will_topic, (int)strlen(opt->will_payload),
                           opt->will_payload, opt->will_qos, false) != MOSQ_ERR_SUCCESS)
        goto fail;
    if (loop_add_prepare(loop, flush_output, link) < 0) goto fail;
    *out = link;
    return 0;
fail:
    if (link->mosq) mosquitto_destroy(link->mosq);
    outbox_free(link->outbox);
    topic_index_free(link->routes_index);
    topic_index_free(link->subs_index);
    free(link->host);
    free(link);
    return -1;
}

void mq_link_free(struct mq_link *link)
{
    if (!link) return;
    unwatch(link);
    loop_del_prepare(link->loop, flush_output, link);
    if (link->reconnect_timer) loop_timer_cancel(link->loop, link->reconnect_timer);
    if (link->misc_timer) loop_timer_cancel(link->loop, link->misc_timer);
    mosquitto_destroy(link->mosq);
    for (size_t i = 0; i < link->nsubs; i++) {
        free(link->subs[i]->filter);
        free(link->subs[i]);
    }
    free(link->subs);
    while (link->tombstones)
        free_tombstone(link, link->tombstones);
    topic_index_free(link->subs_index);
    for (struct route *r = link->routes; r; r = r->next)
        r->dead = 1;
    free_dead_routes(link);
    topic_index_free(link->routes_index);
    free(link->matched);
    free(link->host);
    outbox_free(link->outbox);
    free(link);
}

int mq_link_start(struct mq_link *link)
{
    try_connect(link);
    return loop_timer_add(link->loop, MISC_INTERVAL_MS, on_misc_timer, link, &link->misc_timer);
}

int mq_link_connected(const struct mq_link *link)
{
    return link->connected;
}

int mq_link_subscribed(const struct mq_link *link)
{
    return link->connected && link->subacks_due == 0;
}

int mq_link_is_v5(const struct mq_link *link)
{
    return link->v5;
}

/* Cost: a linear search of the distinct filters (subscribing is rare next to
 * messages, which find their subscriptions through subs_index). */
static struct subscription *find_subscription(struct mq_link *link, const char *filter, size_t *pos)
{
    for (size_t i = 0; i < link->nsubs; i++) {
        if (!strcmp(link->subs[i]->filter, filter)) {
            if (pos) *pos = i;
            return link->subs[i];
        }
    }
    return NULL;
}

int mq_link_subscribe(struct mq_link *link, const char *filter, int qos)
{
    struct subscription *s = find_subscription(link, filter, NULL);
    if (s) {
        s->refs++;
        return 0;
    }
    if (link->nsubs == link->subs_cap) {
        size_t cap = link->subs_cap ? link->subs_cap * 2 : 16;
        struct subscription **t = realloc(link->subs, cap * sizeof *t);
        if (!t) return -1;
        link->subs = t;
        link->subs_cap = cap;
    }
    if (link->next_sub_id > SUB_ID_MAX) {
        slog(SLOG_ERROR, "mq", "out of subscription identifiers");
        return -1;
    }
    s = calloc(1, sizeof *s);
    if (!s || !(s->filter = strdup(filter))) {
        free(s);
        return -1;
    }
    if (topic_index_add(link->subs_index, filter, s) < 0) {
        free(s->filter);
        free(s);
        return -1;
    }
    s->qos = qos;
    s->refs = 1;
    s->id = link->next_sub_id++;
    link->subs[link->nsubs++] = s;
    if (link->connected) return send_subscribe(link, s);
    return 0;
}

int mq_link_unsubscribe(struct mq_link *link, const char *filter)
{
    size_t i;
    struct subscription *s = find_subscription(link, filter, &i);
    if (!s) return -1;
    if (--s->refs > 0) return 0;
    link->subs[i] = link->subs[--link->nsubs];
    int mid;
    if (link->connected && mosquitto_unsubscribe(link->mosq, &mid, filter) == MOSQ_ERR_SUCCESS) {
        s->unsub_mid = mid;
        s->next = link->tombstones;
        link->tombstones = s;
        return 0;
    }
    topic_index_remove(link->subs_index, filter, s);
    free(s->filter);
    free(s);
    return 0;
}

int mq_link_route(struct mq_link *link, const char *filter, int qos, mq_route_fn fn, void *ctx)
{
    if (!topic_filter_is_valid(filter)) return -1;
    struct route *r = calloc(1, sizeof *r);
    if (!r || !(r->filter = strdup(filter))) {
        free(r);
        return -1;
    }
    r->fn = fn;
    r->ctx = ctx;
    if (topic_index_add(link->routes_index, filter, r) < 0) goto fail;
    if (mq_link_subscribe(link, filter, qos) < 0) {
        topic_index_remove(link->routes_index, filter, r);
        goto fail;
    }
    r->next = link->routes;
    link->routes = r;
    return 0;
fail:
    free(r->filter);
    free(r);
    return -1;
}

int mq_link_unroute(struct mq_link *link, const char *filter, mq_route_fn fn, void *ctx)
{
    for (struct route *r = link->routes; r; r = r->next) {
        if (r->dead || r->fn != fn || r->ctx != ctx || strcmp(r->filter, filter)) continue;
        topic_index_remove(link->routes_index, filter, r);
        mq_link_unsubscribe(link, filter);
        r->dead = 1;
        if (!link->dispatching) free_dead_routes(link);
        return 0;
    }
    return -1;
}

int mq_link_publish(struct mq_link *link, const char *topic, const void *payload, size_t len,
                    int qos, int *mid)
{
    if (!link->connected || link->lost) return -1;
    if (len > (size_t)MQTT_MAX_PAYLOAD) return -1;
    return hand_over(link, topic, payload, len, qos, mid);
}

int mq_link_post(struct mq_link *link, const char *topic, const void *payload, size_t len, int qos,
                 const char *source)
{
    if (len > (size_t)MQTT_MAX_PAYLOAD) return -1;
    /* Straight through while connected and nothing older waits: no copy. */
    if (link->connected && !link->lost && !link->drain && !outbox_count(link->outbox) &&
        hand_over(link, topic, payload, len, qos, NULL) == 0)
        return 0;
    return outbox_push(link->outbox, topic, payload, len, qos, source);
}

size_t mq_link_unsettled(const struct mq_link *link)
{
    return (size_t)link->inflight + outbox_count(link->outbox);
}

struct outbox *mq_link_outbox(struct mq_link *link)
{
    return link->outbox;
}

int mq_link_publish_json(struct mq_link *link, const char *topic, const json_t *msg, int qos,
                         int *mid)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    if (!text) return -1;
    int rc = mq_link_publish(link, topic, text, strlen(text), qos, mid);
    free(text);
    return rc;
}

void mq_link_disconnect(struct mq_link *link)
{
    link->stopping = 1;
    if (link->reconnect_timer) {
        loop_timer_cancel(link->loop, link->reconnect_timer);
        link->reconnect_timer = 0;
    }
    if (link->fd >= 0) {
        /* Flush what is queued and take in what arrived (closing a socket
         * with unread input resets the connection, and the broker may then
         * lose the DISCONNECT and publish the will), then say goodbye. */
        mosquitto_loop_write(link->mosq, 1);
        mosquitto_loop_read(link->mosq, 1);
        mosquitto_disconnect(link->mosq);
        mosquitto_loop_write(link->mosq, 1);
    }
    link->connected = 0;
    unwatch(link);
}

int mq_link_inflight(const struct mq_link *link)
{
    return link->inflight;
}

int mq_link_want_write(const struct mq_link *link)
{
    return link->fd >= 0 && mosquitto_want_write(link->mosq);
}
