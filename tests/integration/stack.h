/* A Stratus test stack for integration tests: one broker per test program,
 * a test client subscribed to the realm's protocol topics, and helpers for
 * the manager's protocol (registration, module create/delete with their
 * acknowledgements). Builds on harness.h. */
#ifndef STRATUS_ITEST_STACK_H
#define STRATUS_ITEST_STACK_H

#include "harness.h"

/* Time limit for anything the manager should do promptly. Generous, so that
 * a loaded CI machine under sanitizers does not turn a slow pass into a
 * failure; the benchmark measures speed. */
#define WAIT_MS 10000
/* How long to watch for something that must NOT happen. */
#define QUIET_MS 700

struct stack {
    struct broker broker;
    struct mqtt_client *client; /* subscribed to {realm}/proc/# */
    char realm[64];
    struct proc manager;
    int manager_started;
};

/* Start the broker (once per program) and connect the client. */
int stack_broker_up(struct stack *s);
void stack_broker_down(struct stack *s);

/* cmocka fixtures shared by the test programs, acting on the program's
 * stack: the last one stack_broker_up started or stack_adopt named.
 * stack_fixture_group_teardown stops its broker and removes the harness's
 * files; stack_fixture_new_realm (test setup) starts a new realm;
 * stack_fixture_kill_manager (test teardown) kills the manager if any. */
void stack_adopt(struct stack *s);
int stack_fixture_group_teardown(void **state);
int stack_fixture_new_realm(void **state);
int stack_fixture_kill_manager(void **state);

/* A new realm for the next test (so late messages of an earlier test cannot
 * match), subscribe to {realm}/proc/#, and clear the client's queue. */
int stack_new_realm(struct stack *s);

/* Start a manager named `name` in the current realm with the NULL-terminated
 * extra arguments. The fake runtime's program is always passed for the
 * test/fake and test/fake-legacy types. */
int stack_manager_start(struct stack *s, const char *name, const char *const *extra);
/* A new realm and a manager named "node" hosting one runtime "rt" of `type`,
 * run by `program`, with modules from `module_dir`, plus the NULL-terminated
 * `more` arguments (may be NULL). Returns the runtime's uuid (malloc'd)
 * once it registered, or NULL. */
char *stack_start_runtime(struct stack *s, const char *type, const char *program,
                          const char *module_dir, const char *const *more);
/* Kill the manager (and its process group) if it is running. */
void stack_manager_kill(struct stack *s);

/* For benchmarks: "PROG: what" on stderr, the stack's manager and broker
 * stopped, the harness's files removed, exit(1). */
_Noreturn void stack_die(struct stack *s, const char *prog, const char *what);

/* Wait for a registration (action "create") on {realm}/proc/reg/+ whose
 * data.type and data.name match; returns the registered uuid (malloc'd) or
 * NULL. *out (optional) receives the message. */
char *stack_wait_registration(struct stack *s, const char *type, const char *name,
                              struct message **out);

/* Build create data {type: module, uuid, name, file, args: {fake: steps}}.
 * Steals steps (may be NULL). */
json_t *module_data(const char *uuid, const char *name, json_t *steps);

/* Send a create of `data` (stolen) to {realm}/proc/control/{runtime} and wait
 * for its response. Returns the response message (caller frees) or NULL on
 * timeout. */
struct message *stack_create(struct stack *s, const char *runtime, json_t *data);
/* The same, waiting up to wait_ms for the response. */
struct message *stack_create_within(struct stack *s, const char *runtime, json_t *data,
                                    int wait_ms);

/* Send a delete of module `uuid` and wait for its outcome: the manager's
 * refusal (a response with result "error"), or, for a delete carried out,
 * the module's exited message, for which a stand-in {"type": "resp",
 * "data": {"result": "ok"}} is returned while the exited message stays
 * queued (a successful delete has no acknowledgement of its own: the
 * original orchestrator refuses delete responses). NULL on timeout. */
struct message *stack_delete(struct stack *s, const char *runtime, const char *uuid);

/* Publish a delete of module `uuid` without waiting for anything. 0 or -1. */
int stack_publish_delete(struct stack *s, const char *runtime, const char *uuid);

/* Predicate for client_wait/client_count: an "exited" message of the module
 * whose uuid is ctx. */
int stack_is_exit_of(const struct message *m, void *uuid);

/* Wait for an "exited" request for module `uuid` on control/{runtime}. */
struct message *stack_wait_exited(struct stack *s, const char *runtime, const char *uuid,
                                  int timeout_ms);

/* JSON array of steps from JSON text (the scripts read best as text). */
json_t *steps(const char *json_text);

#endif
