/* How a module's end becomes a command's exit status: the one rule of
 * `stratus run --wait` (and of any later command that waits for modules),
 * matching `stratus exec`. */
#ifndef STRATUS_CLIENT_EXIT_STATUS_H
#define STRATUS_CLIENT_EXIT_STATUS_H

#include <jansson.h>

#define CLIENT_EXIT_TRAPPED 134 /* as `stratus exec` */
#define CLIENT_EXIT_KILLED 137  /* 128 + SIGKILL */
#define CLIENT_EXIT_FAILED 125  /* could not be started; the reason is printed */
#define CLIENT_EXIT_INTERRUPTED 130

/* The exit status for an `exited` message's data (borrowed): "exited" gives
 * its exit_code (0..255; other values as the low byte, as a shell shows
 * them), "trapped" and "crashed" 134, "killed" 137, "failed" or anything
 * else 125. */
int client_exit_status(const json_t *exit_data);

#endif
