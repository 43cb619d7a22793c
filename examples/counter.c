/* counter: publishes 1, 2, 3, ... on channel "count" every 100 ms.
 *
 *   counter [N [PATH]]   stop after N messages (0 or none: run until deleted),
 *                        publish on channel PATH instead of "count".
 *
 * Create it with a writable channel, e.g.
 *   "channels": [{"path": "count", "mode": "w", "topic": "realm/demo/count"}]
 * and subscribe to realm/demo/count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stratus/channel.h"

int main(int argc, char **argv)
{
    long limit = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
    const char *path = argc > 2 ? argv[2] : "count";
    int fd = stratus_channel_open(path, STRATUS_CHANNEL_WRITE);
    if (fd < 0) {
        fprintf(stderr, "counter: cannot open channel '%s': %s\n", path, strerror(errno));
        return 1;
    }
    for (long n = 1; limit <= 0 || n <= limit; n++) {
        char text[32];
        int len = snprintf(text, sizeof text, "%ld", n);
        if (write(fd, text, (size_t)len) != len) {
            fprintf(stderr, "counter: publish failed: %s\n", strerror(errno));
            return 1;
        }
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    close(fd);
    return 0;
}
