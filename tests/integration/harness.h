/* Integration test harness: real processes on the loopback interface. A
 * private mosquitto broker on a free port, `stratus manager` child processes
 * with their output captured to a file, and an MQTT v5 test client that
 * queues what it receives so a test can wait for "a message on topic F whose
 * JSON fields equal ..." with a deadline.
 *
 * Every process started here is remembered and killed (with its whole process
 * group) at exit, even when an assertion ends the test early; temporary
 * directories are removed. Functions return 0 on success and -1 on failure
 * (with a line on stderr saying why) unless documented otherwise. */
#ifndef STRATUS_ITEST_HARNESS_H
#define STRATUS_ITEST_HARNESS_H

#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/* Call once at program start: makes this process the reaper of orphaned
 * descendants, installs the exit-time cleanup, initialises libmosquitto, and
 * points STRATUS_STATE_DIR (the managers' identity files) at a private
 * directory of this program. */
void harness_init(void);

/* Kill and reap every process still alive, remove temporary directories. */
void harness_cleanup(void);

/* Paths of the programs under test (compiled in by CMake, overridable with
 * the environment variables STRATUS_BIN, FAKE_RUNTIME, MOSQUITTO). */
const char *harness_stratus_path(void);
const char *harness_fake_runtime_path(void);
const char *harness_mosquitto_path(void);

/* A new private directory (mode 0700) removed at cleanup. */
int harness_tmpdir(char out[PATH_MAX]);

/* Milliseconds on the monotonic clock. */
long long harness_now_ms(void);
/* The same in microseconds. */
long long harness_now_us(void);

/* A free TCP port on 127.0.0.1 (bound then released), or -1. */
int harness_free_port(void);

/* 1 if something accepts TCP connections on 127.0.0.1:port. */
int harness_port_accepts(int port);

/* ---- broker ---- */

struct broker {
    pid_t pid;
    int port;
    char dir[PATH_MAX];
    char log_path[PATH_MAX + 16]; /* mosquitto's own log, with subscribe lines */
};

/* Start mosquitto on a free loopback port and wait until it accepts
 * connections. `port` 0 picks one; otherwise that port is used. */
int broker_start(struct broker *b, int port);
/* The same with anonymous clients refused and users from a mosquitto
 * password file (made with mosquitto_passwd). */
int broker_start_auth(struct broker *b, int port, const char *password_file);
/* The same on a free port with extra lines of mosquitto configuration
 * (e.g. a bridge to another broker). */
int broker_start_conf(struct broker *b, const char *extra_conf);
/* The same with a second listener on *tls_port speaking TLS with the given
 * CA, certificate and key files (clients of b->port stay plain). */
int broker_start_tls(struct broker *b, const char *ca, const char *cert, const char *key,
                     int *tls_port);
void broker_stop(struct broker *b);

/* Number of lines of the broker log ending in " <topic>" after a SUBSCRIBE
 * log entry, i.e. how many times any client subscribed to exactly `topic`. */
int broker_subscribe_count(const struct broker *b, const char *topic);

/* Highest QoS any client subscribed to exactly `topic` with, or -1. */
int broker_subscribe_qos(const struct broker *b, const char *topic);

/* ---- processes ---- */

struct proc {
    pid_t pid;                    /* also its process group id */
    int exited;                   /* 1 once reaped */
    int status;                   /* waitpid status once exited */
    char log_path[PATH_MAX + 16]; /* stdout and stderr of the process */
};

/* Start argv (argv[0] a path) in its own process group with stdout and stderr
 * appended to a fresh file. */
int proc_start(struct proc *p, char *const argv[]);

/* Start `stratus manager --mqtt 127.0.0.1:PORT --realm R --name N` followed by
 * the NULL-terminated `extra` arguments (may be NULL). */
int manager_start(struct proc *p, const struct broker *b, const char *realm, const char *name,
                  const char *const *extra);

/* Wait up to timeout_ms for the process to exit; 0 when it did (p->status
 * set), -1 on timeout. */
int proc_wait_exit(struct proc *p, int timeout_ms);

/* 1 while the process runs (not yet exited). */
int proc_alive(struct proc *p);

/* Send a signal to the process alone. */
int proc_signal(struct proc *p, int sig);

/* SIGKILL the process group and reap. Safe to call twice. */
void proc_kill(struct proc *p);

/* Wait up to timeout_ms until no process is left in the group of p (the
 * process itself must have exited). Returns 0 if the group is empty. */
int proc_group_wait_empty(struct proc *p, int timeout_ms);

/* Wait up to timeout_ms until the process's log contains `needle`. */
int proc_log_wait(struct proc *p, const char *needle, int timeout_ms);

/* Whole log as a malloc'd string (caller frees), NULL if unreadable. */
char *proc_log_read(struct proc *p);

/* Reap exited children without blocking (orphans adopted by the harness). */
void harness_reap(void);

/* Copies a file (created or truncated at `to`); 0 or -1. */
int harness_copy_file(const char *from, const char *to);
/* Copies from_dir/name to to_dir/name (a module into a module directory). */
int harness_copy_into(const char *from_dir, const char *name, const char *to_dir);
/* Copies the WebAssembly module `from` to `to` with a custom section
 * ("pad") of pad random bytes appended (0: a plain copy), which the engine
 * skips: a bigger module, unique by its bytes. 0 or -1. */
int harness_copy_module_padded(const char *from, const char *to, size_t pad);

/* The pid written in a file (by a process that may not have written it
 * yet), waiting up to timeout_ms; -1 if none came. */
pid_t harness_read_pidfile(const char *path, int timeout_ms);

/* The pid of a child of `parent` whose command name is `comm`, or -1. */
pid_t proc_find_child(pid_t parent, const char *comm);
/* The resident set of a process in KiB, or -1. */
long proc_rss_kib(pid_t pid);
/* A "Name: N kB" field of /proc/PID/status (e.g. "RssAnon"), or -1. */
long proc_status_kib(pid_t pid, const char *field);

/* ---- MQTT test client ---- */

struct mqtt_client;

/* A received message; owned by the caller once returned. */
struct message {
    char *topic;
    char *payload; /* NUL-terminated copy of the payload */
    size_t len;
    json_t *json; /* the payload parsed as JSON, or NULL */
    long long t_ms;
    long long t_us; /* arrival, CLOCK_MONOTONIC µs */
};
void message_free(struct message *m);

/* Connect (MQTT v5, clean start) to 127.0.0.1:port and wait for CONNACK. */
int client_connect(struct mqtt_client **out, int port, const char *id);
/* The same with a user name and password. */
int client_connect_auth(struct mqtt_client **out, int port, const char *id, const char *user,
                        const char *password);
void client_free(struct mqtt_client *c);

/* Subscribe and wait for the SUBACK. */
int client_subscribe(struct mqtt_client *c, const char *filter, int qos);
int client_unsubscribe(struct mqtt_client *c, const char *filter);

int client_publish(struct mqtt_client *c, const char *topic, const void *payload, size_t len,
                   int qos);
int client_publish_str(struct mqtt_client *c, const char *topic, const char *text);
/* Publish the serialised JSON (borrowed). */
int client_publish_json(struct mqtt_client *c, const char *topic, const json_t *msg);

/* Predicate on a received message; return 1 to take it. */
typedef int (*message_pred)(const struct message *m, void *ctx);

/* Wait up to timeout_ms for a queued or future message whose topic matches
 * `filter` (MQTT rules) and, if pred is given, pred(m, ctx). The message is
 * removed from the queue and returned in *out (may be NULL to discard).
 * Returns 0, or -1 on timeout. */
int client_wait(struct mqtt_client *c, const char *filter, int timeout_ms, message_pred pred,
                void *ctx, struct message **out);

/* Like client_wait for a JSON message whose fields equal the given values:
 * the variable arguments are pairs of (dotted path, text value), ended by
 * NULL, e.g. "type", "resp", "data.result", "ok", NULL. A value compares with
 * strings as is, with integers in decimal, with booleans as "true"/"false". */
int client_wait_json(struct mqtt_client *c, const char *filter, int timeout_ms,
                     struct message **out, ...);

/* Number of queued messages matching filter (and pred), left in the queue. */
int client_count(struct mqtt_client *c, const char *filter, message_pred pred, void *ctx);

/* qsort comparator of long longs, ascending. */
int harness_cmp_ll(const void *a, const void *b);

/* Drop every queued message. */
void client_clear(struct mqtt_client *c);
/* Drop the queued messages matching filter (and pred); returns how many. */
int client_discard(struct mqtt_client *c, const char *filter, message_pred pred, void *ctx);

/* ---- JSON helpers ---- */

/* The value at a dotted path ("data.details.index"; a number indexes an
 * array: "results.0.uuid"), borrowed, or NULL. */
json_t *json_at(json_t *root, const char *path);
/* The string at a path, or NULL. */
const char *json_str_at(json_t *root, const char *path);
/* 1 if the value at path equals text by the rules of client_wait_json. */
int json_at_equals(json_t *root, const char *path, const char *text);

/* ---- Stratus protocol helpers ---- */

/* Build a request envelope {object_id, action, type "req", data}; steals data.
 * object_id NULL generates one; *object_id_out (if given) receives a copy
 * the caller frees. */
json_t *request_new(const char *action, json_t *data, char **object_id_out);

/* A fresh random UUID v4 text (caller frees). */
char *random_uuid(void);

#endif
