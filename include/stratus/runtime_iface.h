/* The runtime interface of the node manager: what a runtime type is (its
 * configuration and a table of operations, the C form of the seed's
 * RuntimeManager) and what the manager offers the code behind it.
 *
 * A type's required operations are start, send and receive; create_module,
 * delete_module and cleanup_module are optional, and NULL means the default
 * behaviour (runtime_default_*), which an override may call to add steps.
 * Types are found by path ("test/reg", "linux/minimal"); most run a separate
 * runtime process and reuse runtime_socket_ops, so a new type is mostly a
 * row in the type table: its configuration and its program.
 *
 * Everything runs on the manager's single event-loop thread. */
#ifndef STRATUS_RUNTIME_IFACE_H
#define STRATUS_RUNTIME_IFACE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "stratus/frame.h"

struct runtime;    /* one runtime instance; owned by the manager */
struct event_loop; /* the manager's event loop */

#define RUNTIME_REASON_LEN 256

/* Results of runtime_ops.receive. */
enum runtime_receive_result {
    RUNTIME_RECV_NONE = 0,  /* nothing buffered now */
    RUNTIME_RECV_FRAME = 1, /* *msg holds one whole message */
};

struct runtime_ops {
    /* Start the runtime. `registration` is the registration data the manager
     * built ({type, uuid, name, runtime_type, max_nmodules, apis, parent,
     * platform, metadata}); start may add to it. Called again (with the same
     * data) to restart after the runtime died. Returns 0 or -1. */
    int (*start)(struct runtime *rt, json_t *registration);
    /* Queue one message for the runtime. Returns 0, or -1 if it could not be
     * queued (no process, or the bounded output queue is full). */
    int (*send)(struct runtime *rt, uint8_t h1, uint8_t h2, const void *payload, size_t len);
    /* Take the next message from the runtime, if one is buffered. msg->payload
     * stays valid until the next receive. Returns a runtime_receive_result. */
    int (*receive)(struct runtime *rt, struct frame_message *msg);

    /* Optional (NULL = default). Create a module from its create data (which
     * the operation may change), returning its index; on error fill reason. */
    int (*create_module)(struct runtime *rt, json_t *data, int *index,
                         char reason[RUNTIME_REASON_LEN]);
    /* Ask the runtime to end a module; unknown module -> -1 with reason. */
    int (*delete_module)(struct runtime *rt, const char *uuid, int *index,
                         char reason[RUNTIME_REASON_LEN]);
    /* A module ended: publish exited with `exit_data` (borrowed; the JSON
     * object of the exit, already holding type and uuid), close its channels,
     * free its index. */
    void (*cleanup_module)(struct runtime *rt, int index, json_t *exit_data);

    /* Optional. Begin stopping for good (manager shutdown); the backend calls
     * runtime_stopped() once nothing of it runs. NULL: stopped at once. */
    void (*stop)(struct runtime *rt);
    /* Optional. A child process of the manager was reaped; return 1 if it
     * was this runtime's. */
    int (*child_exited)(struct runtime *rt, pid_t pid, int status);
    /* Optional. Free the backend's state (runtime_backend()). */
    void (*release)(struct runtime *rt);
};

/* How a socket-backed runtime process is started. */
enum runtime_launch {
    /* `PROGRAM SOCKET_PATH`, the socket in the manager's private directory,
     * STRATUS_* variables in the environment. */
    RUNTIME_LAUNCH_STRATUS = 0,
    /* The original Silverline manager's way: `sh -c "COMMAND INDEX"` in the
     * module directory, the socket at {socket_dir}/{INDEX as %02x}.s. */
    RUNTIME_LAUNCH_ORIGINAL = 1,
};

struct runtime_type {
    const char *type;         /* runtime_type, e.g. "linux/minimal" */
    const char *const *apis;  /* NULL-terminated */
    int max_nmodules;         /* 0..128 */
    const char *default_name; /* used when --runtime gives no name */
    const char *default_shortname;
    const struct runtime_ops *ops;
    /* For socket-backed types: frame header of the runtime process. */
    enum frame_header_kind header;
    /* Program to run when none is configured (NULL: must be configured). */
    const char *default_command;
    /* Profile records are published under this type ("deployed" if NULL). */
    const char *profile_type;
    /* Socket-backed types: how the process is started; for the original
     * launch, the directory of its socket (NULL: /tmp/sl). */
    enum runtime_launch launch;
    const char *socket_dir;
    int test_only; /* a type for Stratus's own tests (test/...) */
    int declared;  /* declared in the manager's configuration */
};

/* A runtime type declared by a user (configuration key runtime_types). The
 * strings are copied. */
struct runtime_type_decl {
    const char *type;              /* may not be a built-in type or start with "test/" */
    const char *name, *shortname;  /* defaults: the type, its last level */
    const char *command;           /* program, or for the original launch a shell command */
    const char *const *apis;       /* NULL-terminated */
    int max_nmodules;              /* 1..128 */
    enum frame_header_kind header; /* seed (4-byte) or legacy (6-byte) */
    enum runtime_launch launch;
    const char *socket_dir; /* original launch only; NULL: /tmp/sl */
};

/* Add a declared type to the table (runtime_type_find finds it). Returns 0,
 * or -1 with err saying what is wrong. Not thread-safe: configuration time. */
int runtime_type_declare(const struct runtime_type_decl *decl, char err[RUNTIME_REASON_LEN]);
/* Forget every declared type (tests). */
void runtime_types_forget_declared(void);

/* The type table. */
const struct runtime_type *runtime_type_find(const char *type);
/* i-th type, NULL past the end (for --help). */
const struct runtime_type *runtime_type_at(size_t i);

/* ---- what a runtime's code may ask of the manager ---- */
const struct runtime_type *runtime_get_type(const struct runtime *rt);
const char *runtime_name(const struct runtime *rt);
const char *runtime_uuid(const struct runtime *rt);
const char *runtime_realm(const struct runtime *rt);
const char *runtime_module_dir(const struct runtime *rt); /* may be NULL */
/* The node's cache of files named by content (STRATUS_FILE_CACHE of the
 * runtime process), or NULL. */
const char *runtime_file_dir(const struct runtime *rt);
/* The memory cap of the runtime's modules (MiB) from the configuration; 0:
 * the runtime program's default for its type. */
uint32_t runtime_max_memory(const struct runtime *rt);
void runtime_set_max_memory(struct runtime *rt, uint32_t mib);
const char *runtime_socket_dir(const struct runtime *rt); /* private, mode 0700 */
const char *runtime_command(const struct runtime *rt);    /* program, or NULL */
/* The runtime's position among the manager's runtimes (0, 1, ...): the
 * INDEX of the original launch convention. */
int runtime_index(const struct runtime *rt);
/* How long a delete may go unanswered by an exit before the module is
 * reported killed anyway (ms). */
uint64_t runtime_delete_timeout_ms(const struct runtime *rt);
/* Component name for the manager's log ("if.NAME"). */
const char *runtime_log_component(const struct runtime *rt);
struct event_loop *runtime_loop(const struct runtime *rt);
/* The backend's private state, set by start(). Owned by the backend. */
void *runtime_backend(const struct runtime *rt);
void runtime_set_backend(struct runtime *rt, void *backend);

/* The backend has messages for receive(): the manager drains them now. */
void runtime_frames_ready(struct runtime *rt);
/* The connection to the runtime ended (EOF, error, process gone): its
 * modules are reported crashed and the runtime is restarted or given up. */
void runtime_connection_lost(struct runtime *rt, const char *why);
/* After stop(): nothing of the runtime runs any more. */
void runtime_stopped(struct runtime *rt);

/* ---- the default module operations ---- */
int runtime_default_create_module(struct runtime *rt, json_t *data, int *index,
                                  char reason[RUNTIME_REASON_LEN]);
int runtime_default_delete_module(struct runtime *rt, const char *uuid, int *index,
                                  char reason[RUNTIME_REASON_LEN]);
void runtime_default_cleanup_module(struct runtime *rt, int index, json_t *exit_data);

/* ---- shared implementations ---- */
/* Socket-backed runtime process: start() makes a listening socket (mode 0600)
 * in runtime_socket_dir() (or, for the original launch, the type's
 * socket_dir), runs runtime_command() in a session and process group of its
 * own, as `PROGRAM SOCKET_PATH` or `sh -c "COMMAND INDEX"`, with
 * STRATUS_RUNTIME_TYPE/_NAME/_UUID, STRATUS_MODULE_DIR and STRATUS_REALM in
 * a minimal environment (PATH, HOME, locale, TMPDIR, sanitizer options;
 * never the manager's secrets), accepts one connection and speaks frames
 * with the type's header over it, with a bounded output queue (a message
 * that would pass the bound is dropped and logged). Stopping or dropping
 * the runtime signals its whole process group, children included. */
extern const struct runtime_ops runtime_socket_ops;
/* No process at all: start does nothing, send fails, receive has nothing. */
extern const struct runtime_ops runtime_null_ops;

#endif
