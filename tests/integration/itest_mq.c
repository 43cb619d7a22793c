/* Integration tests of the shared base's MQTT parts against a real broker:
 * routes (a message reaches exactly the handlers whose filters match, then
 * the catch-all; handlers may remove routes mid-dispatch; unrouted filters
 * are unsubscribed), and "publish, then wait for the answer" (answers matched
 * by type and object_id, stale and foreign answers ignored, deadlines, many
 * requests in flight answered out of order). Two links on one event loop: the
 * second plays the answering service. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "event_loop.h"
#include "harness.h"
#include "mq_link.h"
#include "mq_request.h"
#include "slog.h"
#include "stratus/envelope.h"

static struct broker broker;

struct side {
    struct event_loop *loop;
    struct mq_link *link;
    int connected;
    int catch_all;
};

static void on_connected(void *ctx)
{
    ((struct side *)ctx)->connected = 1;
}

static void on_any(void *ctx, const char *topic, const void *payload, size_t len)
{
    (void)topic, (void)payload, (void)len;
    ((struct side *)ctx)->catch_all++;
}

static void side_open(struct side *s, struct event_loop *loop, const char *id)
{
    memset(s, 0, sizeof *s);
    s->loop = loop;
    struct mq_link_options o = {.host = "127.0.0.1", .port = broker.port, .client_id = id};
    struct mq_link_callbacks cb = {.connected = on_connected, .message = on_any, .ctx = s};
    assert_int_equal(mq_link_new(loop, &o, &cb, &s->link), 0);
    assert_int_equal(mq_link_start(s->link), 0);
    assert_int_equal(mq_run_until(loop, &s->connected, 5000), 0);
}

static void side_close(struct side *s)
{
    mq_link_disconnect(s->link);
    mq_link_free(s->link);
}

/* Runs the loop until every subscription of link is acknowledged. */
static void wait_subscribed(struct event_loop *loop, struct mq_link *link)
{
    int zero = 0;
    for (int i = 0; i < 500 && !mq_link_subscribed(link); i++)
        mq_run_until(loop, &zero, 10);
    assert_int_equal(mq_link_subscribed(link), 1);
}

/* ---- routes ---- */

struct hits {
    struct mq_link *link;
    int a, b, c;
    int done;
    const char *remove_filter; /* a handler removes this route of the other */
};

static void route_b(void *ctx, const char *topic, const void *p, size_t n);

static void route_a(void *ctx, const char *topic, const void *p, size_t n)
{
    (void)topic, (void)p, (void)n;
    struct hits *h = ctx;
    h->a++;
    if (h->remove_filter) mq_link_unroute(h->link, h->remove_filter, route_b, h);
}

static void route_b(void *ctx, const char *topic, const void *p, size_t n)
{
    (void)topic, (void)p, (void)n;
    struct hits *h = ctx;
    h->b++;
    if (h->remove_filter) mq_link_unroute(h->link, "t/+/x", route_a, h);
}

static void route_done(void *ctx, const char *topic, const void *p, size_t n)
{
    (void)topic, (void)p, (void)n;
    struct hits *h = ctx;
    h->c++;
    h->done = 1;
}

static void test_routes(void **state)
{
    (void)state;
    struct event_loop *loop;
    assert_int_equal(loop_new(&loop), 0);
    struct side rx, tx;
    side_open(&rx, loop, "itest-mq-rx");
    side_open(&tx, loop, "itest-mq-tx");
    struct hits h = {.link = rx.link};
    assert_int_equal(mq_link_route(rx.link, "t/+/x", 1, route_a, &h), 0);
    assert_int_equal(mq_link_route(rx.link, "t/#", 1, route_b, &h), 0);
    assert_int_equal(mq_link_route(rx.link, "done", 1, route_done, &h), 0);
    assert_int_equal(mq_link_route(rx.link, "bad/#/x", 1, route_done, &h), -1);
    /* The subscriptions reach the broker once the loop runs: not yet
     * acknowledged right after they were added, and once they are, even
     * messages of QoS 0 published after that all arrive. */
    assert_int_equal(mq_link_subscribed(rx.link), 0);
    wait_subscribed(loop, rx.link);
    int zero = 0;
    assert_int_equal(mq_link_publish(tx.link, "t/1/x", "m", 1, 0, NULL), 0);
    assert_int_equal(mq_link_publish(tx.link, "t/2/y", "m", 1, 0, NULL), 0);
    assert_int_equal(mq_link_publish(tx.link, "u/1/x", "m", 1, 0, NULL), 0);
    assert_int_equal(mq_link_publish(tx.link, "done", "m", 1, 0, NULL), 0);
    assert_int_equal(mq_run_until(loop, &h.done, 5000), 0);
    assert_int_equal(h.a, 1);
    assert_int_equal(h.b, 2);
    assert_int_equal(h.c, 1);
    assert_int_equal(rx.catch_all, 3); /* t/1/x, t/2/y, done; u/1/x was never subscribed */

    /* Each handler removes the other: whichever runs first, the other must
     * not run, and the removed route's subscription goes away. */
    h = (struct hits){.link = rx.link, .remove_filter = "t/#"};
    assert_int_equal(mq_link_publish(tx.link, "t/3/x", "m", 1, 1, NULL), 0);
    assert_int_equal(mq_link_publish(tx.link, "done", "m", 1, 1, NULL), 0);
    assert_int_equal(mq_run_until(loop, &h.done, 5000), 0);
    assert_int_equal(h.a + h.b, 1);
    /* The one that ran removed the other; the survivor is removed now. */
    int left_a = mq_link_unroute(rx.link, "t/+/x", route_a, &h);
    int left_b = mq_link_unroute(rx.link, "t/#", route_b, &h);
    assert_int_equal(left_a + left_b, -1);
    assert_int_equal(h.a ? left_a : left_b, 0);
    h = (struct hits){.link = rx.link};
    mq_run_until(loop, &zero, 200);
    assert_int_equal(mq_link_publish(tx.link, "t/4/x", "m", 1, 1, NULL), 0);
    assert_int_equal(mq_link_publish(tx.link, "done", "m", 1, 1, NULL), 0);
    assert_int_equal(mq_run_until(loop, &h.done, 5000), 0);
    assert_int_equal(h.a + h.b, 0);
    side_close(&rx);
    side_close(&tx);
    loop_free(loop);
}

/* ---- requests ---- */

/* The service: answers every request on svc/req after a stale answer with
 * another object_id and a request-typed echo, both to be ignored. Requests
 * whose data says "silent" get no answer; "later" ones are answered in
 * reverse order when "flush" arrives. */
struct service {
    struct mq_link *link;
    json_t *held; /* array of held requests */
};

static void answer(struct service *s, const char *oid, const char *action)
{
    json_t *resp = envelope_response(oid, action, 1, json_pack("{s:s}", "echo", oid));
    mq_link_publish_json(s->link, "svc/req", resp, 1, NULL);
    json_decref(resp);
}

static void on_service(void *ctx, const char *topic, const void *payload, size_t len)
{
    (void)topic;
    struct service *s = ctx;
    struct envelope env;
    char err[ENVELOPE_ERR_LEN];
    if (envelope_parse(payload, len, &env, err) < 0) return;
    if (env.type != ENVELOPE_REQ) {
        envelope_clear(&env);
        return;
    }
    const char *mode = json_string_value(json_object_get(env.data, "mode"));
    if (mode && !strcmp(mode, "flush")) {
        for (size_t i = json_array_size(s->held); i-- > 0;)
            answer(s, json_string_value(json_array_get(s->held, i)), "create");
        json_array_clear(s->held);
        answer(s, env.object_id, env.action);
    } else if (mode && !strcmp(mode, "later")) {
        json_array_append_new(s->held, json_string(env.object_id));
    } else if (!mode || strcmp(mode, "silent")) {
        json_t *stale =
            envelope_response("00000000-0000-4000-8000-000000000000", "create", 1, json_object());
        mq_link_publish_json(s->link, "svc/req", stale, 1, NULL);
        json_decref(stale);
        answer(s, env.object_id, env.action);
    }
    envelope_clear(&env);
}

struct outcome {
    int answered, timed_out;
    char echo[64];
};

static void on_answer(void *ctx, const struct envelope *a)
{
    struct outcome *o = ctx;
    if (!a) {
        o->timed_out++;
        return;
    }
    o->answered++;
    const char *echo =
        json_string_value(json_object_get(json_object_get(a->data, "details"), "echo"));
    snprintf(o->echo, sizeof o->echo, "%s", echo ? echo : "");
}

static json_t *req(const char *mode, char oid_out[64])
{
    json_t *r =
        envelope_request(NULL, "create", mode ? json_pack("{s:s}", "mode", mode) : json_object());
    snprintf(oid_out, 64, "%s", json_string_value(json_object_get(r, "object_id")));
    return r;
}

static void test_requests(void **state)
{
    (void)state;
    struct event_loop *loop;
    assert_int_equal(loop_new(&loop), 0);
    struct side cl, sv;
    side_open(&cl, loop, "itest-mq-client");
    side_open(&sv, loop, "itest-mq-service");
    struct service svc = {.link = sv.link, .held = json_array()};
    assert_int_equal(mq_link_route(sv.link, "svc/req", 1, on_service, &svc), 0);
    int zero = 0;
    mq_run_until(loop, &zero, 200);
    struct mq_waiter *w;
    assert_int_equal(mq_waiter_new(loop, cl.link, &w), 0);

    /* One answered request: the stale answer before it is ignored. */
    char oid[64];
    struct outcome one = {0};
    json_t *r = req(NULL, oid);
    assert_int_equal(mq_request(w, "svc/req", r, "svc/req", 5000, on_answer, &one), 0);
    assert_int_equal(mq_request(w, "svc/req", r, "svc/req", 5000, on_answer, &one), -1);
    json_decref(r);
    assert_int_equal(mq_run_until(loop, &one.answered, 5000), 0);
    assert_string_equal(one.echo, oid);
    assert_int_equal((int)mq_waiter_pending(w), 0);

    /* No answer: the deadline calls back with NULL, once. */
    struct outcome silent = {0};
    r = req("silent", oid);
    assert_int_equal(mq_request(w, "svc/req", r, "svc/req", 150, on_answer, &silent), 0);
    json_decref(r);
    assert_int_equal(mq_run_until(loop, &silent.timed_out, 5000), 0);
    mq_run_until(loop, &zero, 200);
    assert_int_equal(silent.timed_out, 1);
    assert_int_equal(silent.answered, 0);

    /* 300 requests held, then answered in reverse order: each matched to its
     * own request (the table grows past its first size meanwhile). */
    enum { N = 300 };
    static struct outcome many[N];
    static char oids[N][64];
    memset(many, 0, sizeof many);
    for (int i = 0; i < N; i++) {
        r = req("later", oids[i]);
        assert_int_equal(mq_request(w, "svc/req", r, "svc/req", 10000, on_answer, &many[i]), 0);
        json_decref(r);
    }
    assert_int_equal((int)mq_waiter_pending(w), N);
    struct outcome flush = {0};
    r = req("flush", oid);
    assert_int_equal(mq_request(w, "svc/req", r, "svc/req", 10000, on_answer, &flush), 0);
    json_decref(r);
    assert_int_equal(mq_run_until(loop, &flush.answered, 10000), 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(many[i].answered, 1);
        assert_string_equal(many[i].echo, oids[i]);
    }
    assert_int_equal((int)mq_waiter_pending(w), 0);

    /* A waiter freed with requests pending calls nobody. */
    struct outcome dropped = {0};
    r = req("silent", oid);
    assert_int_equal(mq_request(w, "svc/req", r, "svc/req", 100, on_answer, &dropped), 0);
    json_decref(r);
    mq_waiter_free(w);
    mq_run_until(loop, &zero, 300);
    assert_int_equal(dropped.answered + dropped.timed_out, 0);

    json_decref(svc.held);
    side_close(&cl);
    side_close(&sv);
    loop_free(loop);
}

static int setup(void **state)
{
    (void)state;
    slog_set_level(SLOG_WARNING);
    return broker_start(&broker, 0);
}

static int teardown(void **state)
{
    (void)state;
    broker_stop(&broker);
    return 0;
}

int main(void)
{
    harness_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_requests),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    harness_cleanup();
    return rc;
}
