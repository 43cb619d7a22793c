/* Integration test of the manager's clean shutdown: on SIGTERM it
 * unregisters its runtimes and itself, stops its runtime processes and exits
 * with status 0, leaving no process behind. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "stack.h"

static struct stack S;

static int group_setup(void **state)
{
    (void)state;
    return stack_broker_up(&S);
}

static void test_sigterm_unregisters_and_leaves_nothing(void **state)
{
    (void)state;
    const char *extra[] = {"--runtime", "test/reg:r", "--runtime", "test/fake:f", NULL};
    assert_int_equal(stack_manager_start(&S, "node-t", extra), 0);
    char *mgr = stack_wait_registration(&S, "manager", "node-t", NULL);
    char *reg = stack_wait_registration(&S, "runtime", "r", NULL);
    char *fake = stack_wait_registration(&S, "runtime", "f", NULL);
    assert_non_null(mgr);
    assert_non_null(reg);
    assert_non_null(fake);
    /* A module on the fake runtime, so a runtime process surely runs. */
    char *mod = random_uuid();
    struct message *r = stack_create(&S, fake, module_data(mod, "m", NULL));
    assert_non_null(r);
    assert_true(json_at_equals(r->json, "data.result", "ok"));
    message_free(r);

    assert_int_equal(proc_signal(&S.manager, SIGTERM), 0);
    char filter[128];
    const char *uuids[] = {reg, fake, mgr};
    const char *types[] = {"runtime", "runtime", "manager"};
    for (int i = 0; i < 3; i++) {
        snprintf(filter, sizeof filter, "%s/proc/reg/%s", S.realm, uuids[i]);
        assert_int_equal(client_wait_json(S.client, filter, WAIT_MS, NULL, "action", "delete",
                                          "type", "req", "data.type", types[i], "data.uuid",
                                          uuids[i], NULL),
                         0);
    }
    assert_int_equal(proc_wait_exit(&S.manager, WAIT_MS), 0);
    assert_true(WIFEXITED(S.manager.status));
    assert_int_equal(WEXITSTATUS(S.manager.status), 0);
    /* The runtime process ended with its manager. */
    assert_int_equal(proc_group_wait_empty(&S.manager, WAIT_MS), 0);
    free(mod);
    free(mgr);
    free(reg);
    free(fake);
}

int main(void)
{
    harness_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sigterm_unregisters_and_leaves_nothing,
                                        stack_fixture_new_realm, stack_fixture_kill_manager),
    };
    return cmocka_run_group_tests(tests, group_setup, stack_fixture_group_teardown);
}
