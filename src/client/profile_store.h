/* Where `stratus profile` and `stratus benchmark` keep profile records: a
 * directory with profile.sqlite (table `records`: one row per record with
 * the module and runtime metadata; one table per record type with its rows)
 * and one CSV file per record type (TYPE.csv: the metadata and the type's
 * columns on every line, a header when the file is new).
 *
 * Appending is safe across restarts: the database takes each record in one
 * transaction; a CSV file is opened for appending, a line cut short by a
 * crash is ended before new lines go on, and a record's lines are written
 * with one write(). Rows of both carry the record's id from `records`. */
#ifndef STRATUS_CLIENT_PROFILE_STORE_H
#define STRATUS_CLIENT_PROFILE_STORE_H

#include <stddef.h>

#include "client.h"
#include "stratus/profile_record.h"

/* What is known of a record's module and runtime (each may be NULL). */
struct profile_meta {
    const char *runtime, *runtime_name, *runtime_type, *platform;
    const char *module, *module_name, *file, *argv, *engine;
};

struct profile_store;

/* Open (creating dir, the database and its tables when missing). *out is
 * owned by the caller (profile_store_close). */
int profile_store_open(const char *dir, struct profile_store **out, char err[CLIENT_ERR_LEN]);
void profile_store_close(struct profile_store *s);

/* Store one decoded record; *id (may be NULL) is its id in `records`.
 * Cost: O(rows of the record). */
int profile_store_add(struct profile_store *s, double received_at, const struct profile_meta *m,
                      const struct profile_record *r, long long *id, char err[CLIENT_ERR_LEN]);

/* The levels of a profile topic {realm}/proc/profile/{type}/{runtime}/{module}
 * (helpers of the collector, profile.c, shared with `stratus benchmark`). */
#define PROFILE_ID_MAX 128
int profile_topic_levels(const char *realm, const char *topic, char type[PROFILE_TYPE_MAX + 1],
                         char runtime[PROFILE_ID_MAX], char module[PROFILE_ID_MAX],
                         char err[CLIENT_ERR_LEN]);
/* The wall clock in seconds since the epoch (the received_at of records). */

/* The database handle, for readers of the store (the benchmark report). */
struct sqlite3 *profile_store_db(struct profile_store *s);

#endif
