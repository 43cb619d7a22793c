/* Small helpers of the records (see records.h): intrusive lists and
 * NULL-terminated string arrays. */
#include "records.h"

#include <stdlib.h>
#include <string.h>

void orc_list_init(struct orc_link *head)
{
    head->prev = head->next = head;
}

int orc_list_empty(const struct orc_link *head)
{
    return head->next == head;
}

void orc_list_append(struct orc_link *head, struct orc_link *l)
{
    l->prev = head->prev;
    l->next = head;
    head->prev->next = l;
    head->prev = l;
}

void orc_list_remove(struct orc_link *l)
{
    if (!l->next) return;
    l->prev->next = l->next;
    l->next->prev = l->prev;
    l->prev = l->next = NULL;
}

int orc_list_linked(const struct orc_link *l)
{
    return l->next != NULL;
}

char **orc_strv_dup(const char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    char **out = calloc(n + 1, sizeof *out);
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        out[i] = strdup(v[i]);
        if (!out[i]) {
            orc_strv_free(out);
            return NULL;
        }
    }
    return out;
}

/* Most modules ask for the default apis: they share one array. */
static char api_wasm[] = "wasm", api_wasi[] = "wasi";
static char *default_apis[] = {api_wasm, api_wasi, NULL};

char **orc_default_apis(void)
{
    return default_apis;
}

void orc_strv_free(char **v)
{
    if (!v || v == default_apis) return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

int orc_strv_covers(char *const *have, char *const *want)
{
    for (char *const *w = want; w && *w; w++) {
        int found = 0;
        for (char *const *h = have; h && *h && !found; h++)
            found = !strcmp(*h, *w);
        if (!found) return 0;
    }
    return 1;
}

const char *orc_state_name(char state)
{
    switch (state) {
    case MOD_ALIVE: return "A";
    case MOD_DEAD: return "D";
    case MOD_EXITING: return "E";
    case MOD_KILLED: return "K";
    case MOD_QUEUED: return "Q";
    }
    return "?";
}

void orc_detail_clear(struct orc_module_detail *d)
{
    free(d->name);
    free(d->file);
    free(d->data);
    free(d->pinned);
    free(d->reason);
    free(d->status);
    memset(d, 0, sizeof *d);
}
