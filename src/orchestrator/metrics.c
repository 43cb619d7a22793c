/* The orchestrator's metrics in the Prometheus text format (GET /metrics):
 * managers, runtimes and modules by state, queue lengths, requests by action
 * and result, the placement latency histogram and the seconds since each
 * runtime's last keepalive. Computed on demand: O(records). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orc_internal.h"

/* Label values are escaped as the format asks (backslash, quote, newline). */
static void label(FILE *f, const char *v)
{
    for (; v && *v; v++) {
        if (*v == '\\' || *v == '"')
            fprintf(f, "\\%c", *v);
        else if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
}

char *orc_metrics_text(struct orc *o)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;

    size_t managers[2] = {0}, runtimes[2] = {0};
    for (size_t i = 0; i < o->managers.n; i++)
        managers[((struct orc_manager *)o->managers.v[i])->alive ? 1 : 0]++;
    for (size_t i = 0; i < o->runtimes.n; i++)
        runtimes[((struct orc_runtime *)o->runtimes.v[i])->alive ? 1 : 0]++;
    fputs("# HELP stratus_managers Managers known, by state (alive or dead).\n"
          "# TYPE stratus_managers gauge\n",
          f);
    fprintf(f, "stratus_managers{state=\"alive\"} %zu\nstratus_managers{state=\"dead\"} %zu\n",
            managers[1], managers[0]);
    fputs("# HELP stratus_runtimes Runtimes known, by state (alive or dead).\n"
          "# TYPE stratus_runtimes gauge\n",
          f);
    fprintf(f, "stratus_runtimes{state=\"alive\"} %zu\nstratus_runtimes{state=\"dead\"} %zu\n",
            runtimes[1], runtimes[0]);

    static const char states[] = {MOD_ALIVE, MOD_DEAD, MOD_EXITING, MOD_KILLED, MOD_QUEUED};
    size_t by_state[sizeof states] = {0}, realm_queued = 0;
    for (size_t k = 0; k < sizeof states; k++)
        by_state[k] = orc_module_count_in(o, states[k]);
    for (struct orc_link *l = o->realm_queue.next; l != &o->realm_queue; l = l->next)
        realm_queued++;
    fputs("# HELP stratus_modules Modules stored, by state (A alive, D dead, E exiting, K "
          "killed, Q queued).\n# TYPE stratus_modules gauge\n",
          f);
    for (size_t k = 0; k < sizeof states; k++)
        fprintf(f, "stratus_modules{state=\"%c\"} %zu\n", states[k], by_state[k]);
    fputs("# HELP stratus_queue_length Modules waiting, in the realm queue and in each "
          "runtime's queue.\n# TYPE stratus_queue_length gauge\n",
          f);
    fprintf(f, "stratus_queue_length{queue=\"realm\"} %zu\n", realm_queued);
    fputs("# HELP stratus_runtime_modules Modules alive or exiting on each runtime.\n"
          "# TYPE stratus_runtime_modules gauge\n",
          f);
    for (size_t i = 0; i < o->runtimes.n; i++) {
        struct orc_runtime *r = o->runtimes.v[i];
        fprintf(f, "stratus_runtime_modules{runtime=\"%s\",name=\"", r->uuid);
        label(f, r->name);
        fprintf(f, "\"} %d\n", r->nlive);
    }
    for (size_t i = 0; i < o->runtimes.n; i++) {
        struct orc_runtime *r = o->runtimes.v[i];
        size_t n = 0;
        for (struct orc_link *l = r->queue.next; l != &r->queue; l = l->next)
            n++;
        if (!n) continue;
        fprintf(f, "stratus_queue_length{queue=\"%s\"} %zu\n", r->uuid, n);
    }
    fputs("# HELP stratus_runtime_keepalive_age_seconds Seconds since each live runtime was "
          "last heard (registration or keepalive).\n"
          "# TYPE stratus_runtime_keepalive_age_seconds gauge\n",
          f);
    double now = orc_wall(o);
    for (size_t i = 0; i < o->runtimes.n; i++) {
        struct orc_runtime *r = o->runtimes.v[i];
        if (!r->alive) continue;
        fprintf(f, "stratus_runtime_keepalive_age_seconds{runtime=\"%s\",name=\"", r->uuid);
        label(f, r->name);
        fprintf(f, "\"} %.3f\n", r->last_seen > 0 ? now - r->last_seen : 0.0);
    }
    fputs("# HELP stratus_requests_total Requests handled, by action and result.\n"
          "# TYPE stratus_requests_total counter\n",
          f);
    for (size_t i = 0; i < o->nrequests; i++)
        fprintf(f, "stratus_requests_total{action=\"%s\",result=\"%s\"} %llu\n",
                o->requests[i].action, o->requests[i].ok ? "ok" : "error",
                (unsigned long long)o->requests[i].count);
    fprintf(f,
            "# HELP stratus_bad_messages_total Messages refused as malformed or invalid.\n"
            "# TYPE stratus_bad_messages_total counter\nstratus_bad_messages_total %llu\n",
            (unsigned long long)o->bad_messages);
    fprintf(f,
            "# HELP stratus_store_errors_total Changes the store could not write.\n"
            "# TYPE stratus_store_errors_total counter\nstratus_store_errors_total %llu\n",
            (unsigned long long)o->store_errors);
    fputs("# HELP stratus_placement_latency_seconds From a module's request (or its entering a "
          "queue) to its create being sent to a runtime.\n"
          "# TYPE stratus_placement_latency_seconds histogram\n",
          f);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < ORC_LATENCY_BUCKETS; i++) {
        cumulative += o->latency_counts[i];
        fprintf(f, "stratus_placement_latency_seconds_bucket{le=\"%g\"} %llu\n",
                orc_latency_bounds[i], (unsigned long long)cumulative);
    }
    cumulative += o->latency_counts[ORC_LATENCY_BUCKETS];
    fprintf(f, "stratus_placement_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
            (unsigned long long)cumulative);
    fprintf(f, "stratus_placement_latency_seconds_sum %.6f\n", o->latency_sum);
    fprintf(f, "stratus_placement_latency_seconds_count %llu\n",
            (unsigned long long)o->latency_total);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
