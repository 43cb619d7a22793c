/* The node's stable identity: the manager's UUID and one UUID per runtime,
 * kept in a small JSON file in the manager's state directory so that a
 * manager restarted on the same node (after a crash, a reboot or an upgrade)
 * registers with the same UUIDs, and the orchestrator brings its modules back
 * without anyone passing UUIDs.
 *
 * The file is `{state_dir}/manager-{name}.json` ({"uuid": ..., "runtimes":
 * {KEY: uuid}}), written atomically (temporary file, fsync, rename). A lock
 * on `manager-{name}.json.lock` is held while the manager runs, so that a
 * second manager of the same name and state directory is refused instead of
 * sharing the UUIDs. */
#ifndef STRATUS_MANAGER_IDENTITY_H
#define STRATUS_MANAGER_IDENTITY_H

#include <stddef.h>

#include "stratus/uuid.h"

struct identity;

#define IDENTITY_ERR_LEN 512

/* The state directory to use: `configured` when given, else
 * $STRATUS_STATE_DIR, else $XDG_STATE_HOME/stratus, else
 * $HOME/.local/state/stratus; NULL when none can be named. The result is
 * malloc'd (caller frees). */
char *identity_default_dir(const char *configured);

/* Open (creating the directory and file as needed) and lock the identity of
 * manager `name` in dir. uuid_override, when given, replaces the stored
 * manager UUID. Returns 0 and *out (identity_close), or -1 with err. */
int identity_open(const char *dir, const char *name, const char *uuid_override,
                  struct identity **out, char err[IDENTITY_ERR_LEN]);
/* Unlock and free. */
void identity_close(struct identity *id);

/* The manager's UUID (borrowed). */
const char *identity_manager_uuid(const struct identity *id);

/* The UUID of the runtime known by key (e.g. "linux:linux"), made and saved
 * on first use. Returns 0 with the text in out, or -1 with err (the file
 * could not be written). Cost: linear in the number of runtimes. */
int identity_runtime_uuid(struct identity *id, const char *key, char out[UUID_STR_LEN],
                          char err[IDENTITY_ERR_LEN]);

/* The identity file's path (borrowed). */
const char *identity_path(const struct identity *id);

#endif
