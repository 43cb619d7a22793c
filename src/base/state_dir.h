/* Where Stratus keeps state on a machine (a node's identity, the local
 * stack's files): one rule for every command, so that `stratus up`, the
 * managers it starts and the client commands that look for it agree. */
#ifndef STRATUS_BASE_STATE_DIR_H
#define STRATUS_BASE_STATE_DIR_H

/* The state directory to use: `configured` when given, else
 * $STRATUS_STATE_DIR, else $XDG_STATE_HOME/stratus, else
 * $HOME/.local/state/stratus; NULL when none can be named. The result is
 * malloc'd (caller frees). */
char *state_dir_default(const char *configured);

/* mkdir -p with mode 0700 for the directories it creates. Returns 0, or -1
 * with errno. */
int state_dir_make(const char *dir);

#endif
