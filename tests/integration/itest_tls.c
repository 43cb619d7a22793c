/* Integration tests of the manager over TLS: a throwaway CA and a broker
 * certificate for 127.0.0.1 are made with the openssl command at test time;
 * mosquitto listens plain (for the test client) and with TLS (for the
 * manager). With --tls --tls-ca naming the right CA the manager registers;
 * with another CA it never connects and says why. */
#include <setjmp.h>
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
static char DIR_[PATH_MAX];
static char CA[PATH_MAX + 16], OTHER_CA[PATH_MAX + 16];
static int TLS_PORT;

static const char *openssl_path(void)
{
    const char *e = getenv("OPENSSL");
    if (e && *e) return e;
    return access("/usr/bin/openssl", X_OK) == 0 ? "/usr/bin/openssl" : "openssl";
}

/* Runs openssl with the arguments (NULL-terminated); 0 when it succeeded. */
static int openssl(const char *const *args)
{
    const char *argv[24];
    int n = 0;
    argv[n++] = openssl_path();
    for (int i = 0; args[i] && n < 23; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    struct proc p;
    int ok = !proc_start(&p, (char *const *)argv) && !proc_wait_exit(&p, WAIT_MS) &&
             WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0;
    proc_kill(&p);
    if (!ok) fprintf(stderr, "itest_tls: openssl %s failed\n", args[0]);
    return ok ? 0 : -1;
}

static int make_ca(const char *name, const char *key, const char *crt)
{
    char subject[64];
    snprintf(subject, sizeof subject, "/CN=%s", name);
    const char *args[] = {
        "req",    "-x509",   "-newkey", "ec",   "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", key,       "-out", crt,        "-subj",
        subject,  "-days",   "2",       NULL};
    return openssl(args);
}

static int group_setup(void **state)
{
    (void)state;
    harness_init();
    memset(&S, 0, sizeof S);
    stack_adopt(&S);
    if (harness_tmpdir(DIR_)) return -1;
    char ca_key[PATH_MAX + 16], other_key[PATH_MAX + 16], key[PATH_MAX + 16], csr[PATH_MAX + 16],
        crt[PATH_MAX + 16], san[PATH_MAX + 16];
    snprintf(CA, sizeof CA, "%s/ca.crt", DIR_);
    snprintf(ca_key, sizeof ca_key, "%s/ca.key", DIR_);
    snprintf(OTHER_CA, sizeof OTHER_CA, "%s/other.crt", DIR_);
    snprintf(other_key, sizeof other_key, "%s/other.key", DIR_);
    snprintf(key, sizeof key, "%s/server.key", DIR_);
    snprintf(csr, sizeof csr, "%s/server.csr", DIR_);
    snprintf(crt, sizeof crt, "%s/server.crt", DIR_);
    snprintf(san, sizeof san, "%s/san.cnf", DIR_);
    FILE *f = fopen(san, "w");
    if (!f) return -1;
    fputs("subjectAltName=IP:127.0.0.1\n", f);
    fclose(f);
    const char *req[] = {
        "req",    "-newkey",       "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout",       key,  "-out",     csr,
        "-subj",  "/CN=127.0.0.1", NULL};
    const char *sign[] = {
        "x509", "-req", "-in",   csr, "-CA",      CA,  "-CAkey", ca_key, "-CAcreateserial",
        "-out", crt,    "-days", "2", "-extfile", san, NULL};
    if (make_ca("itest-ca", ca_key, CA) || make_ca("other-ca", other_key, OTHER_CA) ||
        openssl(req) || openssl(sign))
        return -1;
    if (broker_start_tls(&S.broker, CA, crt, key, &TLS_PORT)) return -1;
    return client_connect(&S.client, S.broker.port, "itest-tls");
}

static void start_tls_manager(const char *name, const char *ca)
{
    char mqtt[64];
    snprintf(mqtt, sizeof mqtt, "127.0.0.1:%d", TLS_PORT);
    const char *extra[] = {"--mqtt", mqtt,        "--tls",      "--tls-ca",
                           ca,       "--runtime", "test/reg:r", NULL};
    assert_int_equal(stack_manager_start(&S, name, extra), 0);
}

static void test_registers_over_tls(void **state)
{
    (void)state;
    start_tls_manager("node-tls", CA);
    char *mgr = stack_wait_registration(&S, "manager", "node-tls", NULL);
    assert_non_null(mgr);
    char *rt = stack_wait_registration(&S, "runtime", "r", NULL);
    assert_non_null(rt);
    free(mgr);
    free(rt);
    assert_int_equal(proc_log_wait(&S.manager, "connected to 127.0.0.1", WAIT_MS), 0);
}

static void test_wrong_ca_refused_with_reason(void **state)
{
    (void)state;
    start_tls_manager("node-wrong-ca", OTHER_CA);
    assert_int_equal(
        proc_log_wait(&S.manager, "TLS handshake failed: check that --tls-ca", WAIT_MS), 0);
    /* and it never got through to the broker */
    char topic[256];
    snprintf(topic, sizeof topic, "%s/proc/reg/+", S.realm);
    assert_int_not_equal(client_wait(S.client, topic, QUIET_MS, NULL, NULL, NULL), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, stack_fixture_new_realm, stack_fixture_kill_manager)
    const struct CMUnitTest tests[] = {
        T(test_registers_over_tls),
        T(test_wrong_ca_refused_with_reason),
    };
    return cmocka_run_group_tests(tests, group_setup, stack_fixture_group_teardown);
}
