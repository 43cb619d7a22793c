/* "Publish, then wait for the matching answer or a deadline" on an MQTT link
 * (PROTOCOL.md §3): a request envelope goes out on a topic; the answer is the
 * message on the reply topic whose type is "resp" and whose object_id is the
 * request's. Every daemon and client command waits for answers this way.
 *
 * Pending requests are kept in a hash table by object_id (an answer is found
 * in O(1) on average) with one loop timer each for the deadline (O(log n) to
 * arm and cancel). A reply topic is routed once however many requests wait
 * on it. */
#ifndef STRATUS_BASE_MQ_REQUEST_H
#define STRATUS_BASE_MQ_REQUEST_H

#include <jansson.h>
#include <stdint.h>

struct envelope;
struct event_loop;
struct mq_link;
struct mq_waiter;

/* Called once per request: with the answer (borrowed, valid during the call)
 * or with NULL when the deadline passed first. */
typedef void (*mq_answer_fn)(void *ctx, const struct envelope *answer);

/* A waiter for requests on link. Returns 0 and *out (owned by the caller,
 * mq_waiter_free), or -1 on OOM. */
int mq_waiter_new(struct event_loop *loop, struct mq_link *link, struct mq_waiter **out);
/* Forget every pending request without calling its fn. */
void mq_waiter_free(struct mq_waiter *w);

/* Publish request (borrowed; must hold a string "object_id") on topic at QoS
 * 1 and call fn(ctx, answer) when the answer arrives on reply_topic, or
 * fn(ctx, NULL) after timeout_ms. Returns 0, or -1 when the request could not
 * be published (not connected, no object_id, OOM): fn is then never called. */
int mq_request(struct mq_waiter *w, const char *topic, const json_t *request,
               const char *reply_topic, uint64_t timeout_ms, mq_answer_fn fn, void *ctx);

/* Requests still waiting for an answer. */
size_t mq_waiter_pending(const struct mq_waiter *w);

/* For client commands, which run one step at a time: run the loop until
 * *done is non-zero or timeout_ms passed. Returns 0 when *done was set, 1 on
 * timeout, -1 if the loop failed. Not to be called from inside the loop. */
int mq_run_until(struct event_loop *loop, const int *done, uint64_t timeout_ms);

#endif
