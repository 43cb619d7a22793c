/* Integration test of a `linux` runtime's memory after churn: 10,000 short
 * modules (hello, 64 in flight) through a real manager and mosquitto, and the
 * runtime process's resident set read from /proc when it is idle before the
 * first module and after the last. The runtime caps glibc's arenas (each
 * module runs on a thread of its own) and trims freed memory when modules
 * end; without that its RSS grew from about 2 MB to 15 MB over 40,000
 * modules (and to 13 MB within the first 200).
 *
 * Bound: after the churn the RSS may exceed the idle RSS by at most
 * CHURN_SLACK_KIB (a loaded module, its translation and the allocator's
 * working set). The sanitizers replace glibc's allocator, so the runtime
 * under test is stratus-runtime-plain: the same sources built without them
 * (tests/runtimes/CMakeLists.txt). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "stack.h"

#define CHURN 10000
#define WARMUP 200
#define INFLIGHT 64
#define CHURN_SLACK_KIB 6144

static struct stack S;
static char MODDIR[PATH_MAX];
static char *RT;

static int group_setup(void **state)
{
    (void)state;
    if (stack_broker_up(&S) || harness_tmpdir(MODDIR)) return -1;
    char from[PATH_MAX + 32], to[PATH_MAX + 32];
    snprintf(from, sizeof from, "%s/hello.wasm", RT_EXAMPLES);
    snprintf(to, sizeof to, "%s/hello.wasm", MODDIR);
    return harness_copy_file(from, to);
}

static int is_exited(const struct message *m, void *ctx)
{
    (void)ctx;
    return m->json && json_at_equals(m->json, "action", "exited") &&
           json_at_equals(m->json, "data.status", "exited");
}

static int is_response(const struct message *m, void *ctx)
{
    (void)ctx;
    return m->json && json_at_equals(m->json, "type", "resp");
}

/* n hello modules, `INFLIGHT` at most at once; every one must exit 0. */
static void churn(int n)
{
    char topic[256];
    snprintf(topic, sizeof topic, "%s/proc/control/%s", S.realm, RT);
    int sent = 0, done = 0;
    while (done < n) {
        while (sent - done < INFLIGHT && sent < n) {
            char *u = random_uuid();
            json_t *data = json_pack("{s:s, s:s, s:s, s:s}", "type", "module", "uuid", u, "name",
                                     "churn", "file", "hello.wasm");
            json_t *req = request_new("create", data, NULL);
            assert_int_equal(client_publish_json(S.client, topic, req), 0);
            json_decref(req);
            free(u);
            sent++;
        }
        if (client_wait(S.client, topic, WAIT_MS, is_exited, NULL, NULL))
            fail_msg("module %d of %d did not exit", done, n);
        done++;
        /* Acknowledgements are not looked at: drop them. */
        if (done % 256 == 0) client_discard(S.client, topic, is_response, NULL);
    }
    client_clear(S.client);
}

static long runtime_rss(void)
{
    pid_t pid = proc_find_child(S.manager.pid, "stratus-runtime");
    assert_true(pid > 0);
    return proc_rss_kib(pid);
}

static void test_rss_after_churn(void **state)
{
    (void)state;
    RT = stack_start_runtime(&S, "linux", RT_PROGRAM, MODDIR, NULL);
    assert_non_null(RT);
    /* Only the runtime's control topic: its output is not looked at. */
    char filter[128], control[256];
    snprintf(filter, sizeof filter, "%s/#", S.realm);
    snprintf(control, sizeof control, "%s/proc/control/%s", S.realm, RT);
    assert_int_equal(client_unsubscribe(S.client, filter), 0);
    assert_int_equal(client_subscribe(S.client, control, 1), 0);
    client_clear(S.client);
    usleep(300 * 1000);
    long idle = runtime_rss();
    churn(WARMUP);
    usleep(300 * 1000);
    long warm = runtime_rss();
    churn(CHURN);
    usleep(300 * 1000);
    long end = runtime_rss();
    long bound = idle + CHURN_SLACK_KIB;
    printf("linux runtime RSS: %ld KiB idle, %ld KiB after %d modules, %ld KiB after %d more "
           "(bound %ld KiB)\n",
           idle, warm, WARMUP, end, CHURN, bound);
    if (warm > bound || end > bound)
        fail_msg("RSS grew from %ld KiB to %ld / %ld KiB (bound %ld KiB)", idle, warm, end, bound);
    free(RT);
}

int main(void)
{
    harness_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_rss_after_churn, stack_fixture_kill_manager),
    };
    return cmocka_run_group_tests(tests, group_setup, stack_fixture_group_teardown);
}
