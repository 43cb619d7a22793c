/* relay: reads messages on channel "in", turns them to upper case and
 * publishes each on channel "out".
 *
 *   relay [N]   stop after N messages (0 or none: run until deleted).
 *
 * Create it with, e.g.,
 *   "channels": [{"path": "in", "mode": "r", "topic": "realm/demo/in"},
 *                {"path": "out", "mode": "w", "topic": "realm/demo/out"}]
 * publish on realm/demo/in and subscribe to realm/demo/out. It prints
 * "relay: ready" once both channels are open. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stratus/channel.h"

static int open_or_say(const char *path, int flags)
{
    int fd = stratus_channel_open(path, flags);
    if (fd < 0) fprintf(stderr, "relay: cannot open channel '%s': %s\n", path, strerror(errno));
    return fd;
}

int main(int argc, char **argv)
{
    long limit = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
    int in = open_or_say("in", STRATUS_CHANNEL_READ);
    int out = open_or_say("out", STRATUS_CHANNEL_WRITE);
    if (in < 0 || out < 0) return 1;
    /* Both channels are open (the manager subscribes before it forwards
     * this line): whoever watches the output may start publishing. */
    printf("relay: ready\n");
    fflush(stdout);
    static char msg[65536];
    for (long n = 0; limit <= 0 || n < limit; n++) {
        ssize_t len = read(in, msg, sizeof msg);
        if (len < 0) {
            fprintf(stderr, "relay: read failed: %s\n", strerror(errno));
            return 1;
        }
        for (ssize_t i = 0; i < len; i++)
            msg[i] = (char)toupper((unsigned char)msg[i]);
        if (write(out, msg, (size_t)len) != len) {
            fprintf(stderr, "relay: publish failed: %s\n", strerror(errno));
            return 1;
        }
    }
    return 0;
}
