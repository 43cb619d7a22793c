/* Running client commands in the tests: `stratus CMD ARGS...` as a child
 * process (its own process group, killed at the harness's cleanup) with its
 * standard output and error captured apart, and its exit status. */
#ifndef STRATUS_TEST_CLIENT_CMD_H
#define STRATUS_TEST_CLIENT_CMD_H

#include <sys/types.h>

struct cmd {
    pid_t pid;
    int out_fd, err_fd;
    char *out, *err; /* NUL-terminated once finished (malloc'd) */
    size_t out_len, err_len;
    int status; /* exit status, 128 + signal when killed, -1 on timeout */
};

/* Start harness_stratus_path() with argv (NULL-terminated, argv[0] the
 * command name). When flags is given (NULL-terminated, e.g. --mqtt ...) its
 * items are put right after the command name. */
int cmd_start(struct cmd *c, const char *const *flags, const char *const *argv);
/* Read until the command ends or timeout_ms passes (then SIGKILL, status
 * -1). Returns the status. */
int cmd_finish(struct cmd *c, int timeout_ms);
/* Both at once. */
int cmd_run(struct cmd *c, int timeout_ms, const char *const *flags, const char *const *argv);
/* Read what is available for up to timeout_ms until stdout contains
 * needle. 0 when it does. */
int cmd_wait_output(struct cmd *c, const char *needle, int timeout_ms);
/* The same until stdout holds needle `count` times (e.g. redraws). */
int cmd_wait_output_count(struct cmd *c, const char *needle, int count, int timeout_ms);
void cmd_free(struct cmd *c);

#endif
