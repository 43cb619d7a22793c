/* The orchestrator's records: managers, runtimes and modules as plain data,
 * kept in memory (the registry) and written through to the store. Every
 * string is owned by its record; the intrusive list links belong to the
 * registry and placement code, which keep the lists consistent. */
#ifndef STRATUS_ORCHESTRATOR_RECORDS_H
#define STRATUS_ORCHESTRATOR_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "output_ring.h"
#include "stratus/uuid.h"

/* Module states (PROTOCOL.md §5). */
enum orc_module_state {
    MOD_ALIVE = 'A',   /* sent to its runtime (or running there) */
    MOD_DEAD = 'D',    /* ended: status, exit_code and reason say how */
    MOD_EXITING = 'E', /* a delete was sent; the exit is awaited */
    MOD_KILLED = 'K',  /* its runtime ended; waits to be re-created */
    MOD_QUEUED = 'Q',  /* waits for room (reason says why) */
};

/* A doubly linked list link; a module is on at most one runtime list and one
 * queue at a time. */
struct orc_link {
    struct orc_link *prev, *next;
};

struct orc_manager {
    char uuid[UUID_STR_LEN];
    char *name;
    int alive;
    double registered_at, seen_at; /* wall clock, Unix seconds */
    uint64_t seq;                  /* registration order */
    int dirty;
};

struct orc_runtime {
    char uuid[UUID_STR_LEN];
    char *name;
    char *runtime_type;
    int max_nmodules;
    char **apis;                     /* NULL-terminated */
    char manager_uuid[UUID_STR_LEN]; /* "" when the registration named none */
    char *registration;              /* the registration data, JSON text */
    int alive;
    /* 1 once a keepalive was heard from it: only then does silence end it
     * (an original manager's minimal runtimes never send one). */
    int keepalives;
    double registered_at, last_seen; /* wall clock */
    uint64_t seq;
    /* In memory only. */
    uint64_t ka_deadline_ms; /* monotonic; 0 = none */
    int nlive;               /* modules in state A or E on it */
    struct orc_link modules; /* modules placed on it (A, E, K) */
    struct orc_link queue;   /* pinned modules waiting for it (Q), oldest first */
    int dirty;
};

/* The part of a module's record the logic does not need at every moment:
 * it lives in the store and is in memory only while a request changes it or
 * a reader asks for it (orc_module_detail), so that a module costs its
 * struct orc_module (about 150 bytes) and not its create data. */
struct orc_module_detail {
    char *name;
    char *file;
    char *data;   /* the create data, JSON text (re-sent when re-created) */
    char *pinned; /* the requested parent (as given) or NULL: placed freely */
    char *reason; /* why it waits or ended; NULL when none */
    char *status; /* how it ended: the runtime's status */
    int has_exit_code, exit_code;
    double created_at, started_at, ended_at; /* wall clock; 0 = not yet */
    int runs;                                /* creates of this UUID that started a run */
    int restarts;                            /* re-creates after a lost runtime */
    /* Statistics from keepalives. */
    int active; /* -1 unknown */
    double cpu_usage_percent;
    int64_t mem_usage;
    int unreadable; /* the store could not give it: never written back */
};

/* The answer awaited to a create or delete sent for a module. */
struct orc_ack {
    char object_id[UUID_STR_LEN];
    int direct;    /* 1: a create sent by someone else, 0: forwarded by us */
    int is_delete; /* the awaited answer is a delete's */
};

struct orc_module {
    char uuid[UUID_STR_LEN];
    char state;
    unsigned pinned : 1;         /* placed on the runtime it asked for (detail->pinned) */
    unsigned dirty : 1;          /* to be written at the end of the request */
    unsigned out_dirty : 1;      /* output the store lacks */
    unsigned out_loaded : 1;     /* out holds what the store had */
    unsigned ended_listed : 1;   /* on the registry's list of records to evict */
    struct orc_runtime *runtime; /* placed on (A, E, K) or pinned to (Q) */
    char **apis;                 /* NULL-terminated; from data.apis or the default */
    char *file_sha256;           /* data.file_sha256 (malloc'd), or NULL: a module file in use */
    uint64_t seq, queue_seq;
    uint64_t wait_since_ms; /* monotonic: request or enqueue time (in memory only) */
    struct orc_link on_runtime, in_queue;
    struct orc_module_detail *detail; /* NULL: only in the store */
    struct orc_ack *ack;              /* NULL: no answer awaited */
    struct output_ring *out;          /* last output; NULL until something arrives */
};

/* Lists (intrusive, circular, with a head link). */
void orc_list_init(struct orc_link *head);
int orc_list_empty(const struct orc_link *head);
void orc_list_append(struct orc_link *head, struct orc_link *l);
void orc_list_remove(struct orc_link *l); /* a no-op for an unlinked link */
int orc_list_linked(const struct orc_link *l);

#define ORC_CONTAINER(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* NULL-terminated string arrays. orc_strv_free frees any array but the
 * shared one of orc_default_apis (["wasm", "wasi"]), which it leaves. */
char **orc_strv_dup(const char *const *v);
void orc_strv_free(char **v);
char **orc_default_apis(void);
/* 1 if every string of want is in have. */
int orc_strv_covers(char *const *have, char *const *want);

const char *orc_state_name(char state);

/* Free the strings of d and zero it. */
void orc_detail_clear(struct orc_module_detail *d);

#endif
