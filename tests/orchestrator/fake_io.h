/* Test doubles for the orchestrator's logic: a store that counts what it is
 * asked to write (and can be told to fail) and keeps it in a SQLite
 * database in memory, and I/O that
 * captures every publish and request with a clock the test moves by hand.
 * Shared by the unit tests and the fuzz target of the request handler. */
#ifndef STRATUS_TEST_ORC_FAKE_IO_H
#define STRATUS_TEST_ORC_FAKE_IO_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "orc.h"
#include "store.h"

struct fake_store {
    struct store base;
    struct store *inner; /* the SQLite store in memory */
    int begins, commits, rollbacks, puts;
    int fail; /* 1: every write fails */
};

/* A fresh fake store (static storage, reset by each call: the previous
 * one's records are gone). */
struct store *fake_store_new(void);
struct fake_store *fake_store_of(struct store *s);

#define FAKE_MAX_SENT 4096

struct sent {
    char *topic;
    json_t *msg;
    int is_request;
};

struct fake_io {
    uint64_t now_ms;
    double wall;
    int offline; /* 1: publishes and requests fail */
    struct sent sent[FAKE_MAX_SENT];
    size_t nsent;
};

/* io functions bound to f. */
struct orc_io fake_io_bind(struct fake_io *f);
void fake_io_clear(struct fake_io *f);

#endif
