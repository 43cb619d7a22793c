/* The client commands' shared plumbing (run, stop, list, status, logs, up,
 * down; later benchmark and files): where the stack is (flags, else the file
 * `stratus up` writes, else the defaults), the orchestrator's REST API, and an
 * MQTT session on the shared base's link, whose requests wait for their
 * answers with mq_request().
 *
 * Every function returns 0 on success and -1 with a message in err unless
 * said otherwise; messages are ready to print after "stratus CMD: ". */
#ifndef STRATUS_CLIENT_H
#define STRATUS_CLIENT_H

#include <getopt.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "net_address.h"

#define CLIENT_ERR_LEN 640
#define CLIENT_REALM_MAX 128

/* Defaults when neither a flag nor a running `stratus up` names them. */
#define CLIENT_DEFAULT_MQTT "localhost:1883"
#define CLIENT_DEFAULT_HTTP "127.0.0.1:8000"
#define CLIENT_DEFAULT_REALM "realm"

/* How long a command waits for the broker, the orchestrator's answers and
 * its REST API. */
#define CLIENT_CONNECT_MS 3000
#define CLIENT_ANSWER_MS 5000
#define CLIENT_HTTP_MS 5000

/* ---- where the stack is ---- */

struct client_target {
    struct net_address mqtt, http;
    char realm[CLIENT_REALM_MAX];
    unsigned given; /* CLIENT_GIVEN_* bits: set by a flag */
};
#define CLIENT_GIVEN_MQTT 1u
#define CLIENT_GIVEN_HTTP 2u
#define CLIENT_GIVEN_REALM 4u

/* getopt_long codes and rows of the flags every client command takes. */
enum { CLIENT_OPT_MQTT = 0x1000, CLIENT_OPT_HTTP, CLIENT_OPT_REALM };
#define CLIENT_COMMON_OPTIONS                                                                      \
    {"mqtt", required_argument, NULL, CLIENT_OPT_MQTT},                                            \
        {"http", required_argument, NULL, CLIENT_OPT_HTTP},                                        \
    {                                                                                              \
        "realm", required_argument, NULL, CLIENT_OPT_REALM                                         \
    }
/* Their lines of a command's --help. */
extern const char client_common_help[];

void client_target_init(struct client_target *t);
/* Take one common flag: 1 when opt was one (applied), 0 when it is not a
 * common flag, -1 on a bad value (err). */
int client_target_option(struct client_target *t, int opt, const char *arg,
                         char err[CLIENT_ERR_LEN]);
/* Fill what no flag gave from the running stack's file, else the defaults. */
void client_target_resolve(struct client_target *t);

/* The option loop every client command shares: getopt_long over argv with
 * shortopts and longopts (which hold CLIENT_COMMON_OPTIONS and
 * {"help", no_argument, NULL, 'h'}). Each call returns the next option that
 * is the command's own (optarg set), taking the common flags into target;
 * -1 at the end of the options (optind at the first operand); or
 * CLIENT_GETOPT_EXIT after --help (usage on stdout, status 0) or a bad or
 * unknown option (the error and usage on stderr, status 2). */
struct client_getopt {
    const char *cmd; /* "run", for messages */
    const char *shortopts;
    const struct option *longopts;
    void (*usage)(FILE *out);
    struct client_target *target;
    int status;  /* the exit status after CLIENT_GETOPT_EXIT */
    int started; /* 0 before the first call */
};
#define CLIENT_GETOPT_EXIT (-2)
int client_getopt(struct client_getopt *g, int argc, char **argv);

/* ---- the file of a running `stratus up` ----
 * JSON: {"pid", "mqtt", "http", "realm", "dashboard", "module_dir",
 * "state_dir", "logs"}; at $STRATUS_UP_FILE, else {state dir}/up.json (the
 * state directory of state_dir.h). */

/* Its path into buf (cap bytes); -1 when no state directory can be named. */
int client_up_file_path(char *buf, size_t cap);
/* The file of a stack that is up: 0 and *out (new reference) when the file
 * exists and its pid is alive; 1 when there is none (or a stale one). */
int client_up_file_read(json_t **out);

/* ---- REST ---- */

/* GET path (URL-encoded); 0 and *out (new reference) for a 200 JSON answer;
 * otherwise -1 with err: the API's own error text for 4xx/5xx ("no module
 * 'x'", "module 'x' is ambiguous: ..."), *status set to the HTTP status (0
 * when there was no answer). */
int client_rest_get(const struct client_target *t, const char *path, json_t **out, int *status,
                    char err[CLIENT_ERR_LEN]);
/* The same for any method, with a body (may be NULL) sent as is; any 2xx
 * answer is success. */
int client_rest_send(const struct client_target *t, const char *method, const char *path,
                     const void *body, size_t len, json_t **out, int *status,
                     char err[CLIENT_ERR_LEN]);
/* Store the local file at path in the orchestrator's module store unless
 * it holds it already (looked up by SHA-256 first). Returns 0 with its
 * SHA-256 in hex and its size, or -1 with err (unreadable, the store's
 * refusal such as the loader's message for a file that is not
 * WebAssembly, no orchestrator). *uploaded says whether bytes were sent. */
int client_file_upload(const struct client_target *t, const char *path, char hex[65],
                       uint64_t *size, int *uploaded, char err[CLIENT_ERR_LEN]);
/* Every item of a paged list ("/api/modules/"), as one array (new ref). */
int client_rest_list(const struct client_target *t, const char *path, json_t **out,
                     char err[CLIENT_ERR_LEN]);
/* The raw body of GET path (malloc'd into *body, caller frees). */
int client_rest_get_raw(const struct client_target *t, const char *path, char **body, size_t *len,
                        char err[CLIENT_ERR_LEN]);
/* A module or runtime named by UUID, name or UUID suffix, resolved by the
 * orchestrator's one rule (unknown and ambiguous names are errors listing
 * the candidates). *out is the full record (new reference). */
int client_find_module(const struct client_target *t, const char *query, json_t **out,
                       char err[CLIENT_ERR_LEN]);
int client_find_runtime(const struct client_target *t, const char *query, json_t **out,
                        char err[CLIENT_ERR_LEN]);

/* The string at key of a JSON object, or NULL (borrowed). */
const char *client_json_str(const json_t *obj, const char *key);

/* ---- MQTT session ---- */

struct client_session;
struct envelope;

/* A message on a topic the command subscribed to (payload not
 * NUL-terminated, valid during the call). */
typedef void (*client_message_fn)(void *ctx, const char *topic, const void *payload, size_t len);

/* Connect to the target's broker (waits up to CLIENT_CONNECT_MS) with
 * SIGINT and SIGTERM taken by the session (client_session_interrupted).
 * *out is owned by the caller (client_session_close). */
int client_session_open(const struct client_target *t, struct client_session **out,
                        char err[CLIENT_ERR_LEN]);
void client_session_close(struct client_session *s);

/* Route messages on filter to fn. */
int client_session_route(struct client_session *s, const char *filter, client_message_fn fn,
                         void *ctx, char err[CLIENT_ERR_LEN]);

/* Publish request (borrowed; with an object_id) on {realm}/proc/control and
 * wait up to timeout_ms for its answer (mq_request). 0 and *answer (the
 * answer's root, new reference) when one came; -1 with err when none did,
 * or the wait was interrupted (*answer NULL). */
int client_session_ask(struct client_session *s, const json_t *request, uint64_t timeout_ms,
                       json_t **answer, char err[CLIENT_ERR_LEN]);

/* Publish msg (borrowed) on topic at QoS 1. */
int client_session_publish(struct client_session *s, const char *topic, const json_t *msg);

/* Run the loop until *done, a signal, or timeout_ms (UINT64_MAX: no limit).
 * Returns 0 when *done was set, 1 on timeout, 2 on a signal. */
int client_session_run(struct client_session *s, const int *done, uint64_t timeout_ms);

/* Signals (SIGINT, SIGTERM) received so far. */
int client_session_interrupted(const struct client_session *s);

/* The realm's topic of kind (topic.h) for id into buf (TOPIC_LAYOUT_MAX). */
const char *client_session_realm(const struct client_session *s);

/* ---- commands (argv[0] is the command name) ---- */

int client_run_main(int argc, char **argv);
int client_stop_main(int argc, char **argv);
int client_list_main(int argc, char **argv);
int client_status_main(int argc, char **argv);
int client_logs_main(int argc, char **argv);
int client_up_main(int argc, char **argv);
int client_down_main(int argc, char **argv);
int client_files_main(int argc, char **argv);

#endif
