/* libFuzzer target for topics: the input is lines, each an operation on a
 * subscription index (add, remove, match) or a call of the topic helpers.
 * Topics of the control layout must round-trip through topic_parse and
 * topic_format. A model list of (filter, value) pairs predicts every answer of the index:
 * subscribe/unsubscribe results, and for a match exactly the values whose
 * filter topic_matches() the name. Any difference aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stratus/topic.h"

#define MAX_PAIRS 64

struct pair {
    char *filter;
    int value;
};

static int values[MAX_PAIRS + 1];
static int hits[MAX_PAIRS + 1];

static void on_visit(void *value, void *ctx)
{
    hits[(int *)value - values]++;
}

static size_t count_filter(const struct pair *p, size_t n, const char *f)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += strcmp(p[i].filter, f) == 0;
    return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct topic_index *idx = topic_index_new();
    if (!idx) abort();
    struct pair pairs[MAX_PAIRS];
    size_t np = 0;
    int next_value = 0;

    for (size_t pos = 0; pos < size;) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - (data + pos)) : size - pos;
        if (len == 0) {
            pos++;
            continue;
        }
        uint8_t op = data[pos];
        char *s = malloc(len);
        if (!s) abort();
        memcpy(s, data + pos + 1, len - 1);
        s[len - 1] = '\0'; /* an embedded NUL just ends the string early */
        pos += len + 1;

        switch (op % 4) {
        case 0: { /* add */
            if (np == MAX_PAIRS) break;
            int *v = &values[next_value++ % (MAX_PAIRS + 1)];
            int rc = topic_index_add(idx, s, v);
            int want = !topic_filter_is_valid(s) ? -1 : count_filter(pairs, np, s) == 0;
            if (rc != want) abort();
            if (rc >= 0) {
                pairs[np].filter = s;
                pairs[np].value = (int)(v - values);
                np++;
                s = NULL;
            }
            break;
        }
        case 1: { /* remove a present pair, or a made-up one */
            if (np && (op & 4)) {
                size_t i = (op >> 3) % np;
                struct pair p = pairs[i];
                pairs[i] = pairs[--np];
                int want = count_filter(pairs, np, p.filter) == 0;
                if (topic_index_remove(idx, p.filter, &values[p.value]) != want) abort();
                free(p.filter);
            } else {
                int present = 0;
                for (size_t i = 0; i < np; i++)
                    present |= strcmp(pairs[i].filter, s) == 0 && pairs[i].value == MAX_PAIRS;
                if (!present && topic_index_remove(idx, s, &values[MAX_PAIRS]) != -1) abort();
            }
            break;
        }
        case 2: { /* match */
            memset(hits, 0, sizeof hits);
            size_t calls = topic_index_match(idx, s, on_visit, NULL), want_calls = 0;
            int want[MAX_PAIRS + 1] = {0};
            for (size_t i = 0; i < np; i++)
                if (topic_matches(pairs[i].filter, s)) want[pairs[i].value]++, want_calls++;
            if (calls != want_calls || memcmp(want, hits, sizeof hits) != 0) abort();
            break;
        }
        default: { /* helpers */
            char *e = NULL;
            int ex = topic_expand(s, "realm", "u", &e);
            if (ex == TOPIC_EXPAND_OK) {
                if (strncmp(s, "$SL/", 4) == 0 ? strncmp(e, "realm/", 6) != 0 : strcmp(e, s) != 0)
                    abort();
                /* What $SL/ reaches is never the control plane. */
                if (!strncmp(s, "$SL/", 4) && topic_is_control_plane("realm", e)) abort();
            } else if (ex != TOPIC_EXPAND_REFUSED || e || strncmp(s, "$SL/", 4)) {
                abort();
            }
            free(e);
            char *x = NULL;
            for (unsigned fl = 0; fl < 16; fl++) {
                int oc = channel_open_check("realm", "u", fl, s, strlen(s), &x);
                if ((oc == CHANNEL_OPEN_OK) != (x != NULL)) abort();
                if (oc == CHANNEL_OPEN_OK && (fl & 2) &&
                    (topic_has_wildcard(x) || topic_is_control_plane("realm", x)))
                    abort();
                free(x);
                x = NULL;
            }
            if (topic_name_is_valid(s) && (topic_has_wildcard(s) || !topic_filter_is_valid(s)))
                abort(); /* every valid name is also a valid filter */
            if (topic_name_is_valid(s) && !topic_matches(s, s)) abort();
            /* The layout parses what it builds: a parsed topic rebuilt from
             * its kind and id is the same topic. */
            struct topic_ref ref;
            if (topic_parse("realm", s, &ref) != TOPIC_OTHER) {
                char again[TOPIC_LAYOUT_MAX];
                if (!topic_name_is_valid(s)) abort();
                if (strlen(s) < sizeof again &&
                    (topic_format(again, sizeof again, "realm", ref.kind,
                                  ref.kind == TOPIC_CONTROL ? NULL : ref.id) < 0 ||
                     strcmp(again, s) != 0))
                    abort();
            }
            break;
        }
        }
        free(s);
    }
    if (topic_index_filter_count(idx) > np) abort();
    for (size_t i = 0; i < np; i++)
        free(pairs[i].filter);
    topic_index_free(idx);
    return 0;
}
