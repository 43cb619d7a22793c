/* The compiled tier's interrupt, sent as its code is being entered: a loop
 * with no exit, compiled, is called on a new thread and interrupted 0 to
 * 100 µs later, over and over, so that interrupts land before, during and
 * after the entry into compiled code: every call must end "interrupted",
 * and a call still running 5 s after its interrupt fails the test. The
 * narrowest case (a kick in the few instructions between the engine's last
 * look at the flag and the jump, which guard_fault.c kicks again) is too
 * narrow to be hit on purpose: with that kick again disabled, runs of this
 * test still passed. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "stratus/aot.h"
#include "stratus/wasm.h"

#define ROUNDS 1000

/* (module (func (export "spin") (loop (br 0)))) */
static const uint8_t spin_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,                   /* header */
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00,                               /* type () -> () */
    0x03, 0x02, 0x01, 0x00,                                           /* one function */
    0x07, 0x08, 0x01, 0x04, 's',  'p',  'i',  'n',  0x00, 0x00,       /* export "spin" */
    0x0a, 0x09, 0x01, 0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b, /* loop br 0 */
};

struct call {
    sw_instance *inst;
    sw_status status;
    sw_trap trap;
    atomic_bool done;
};

static void *run_spin(void *arg)
{
    struct call *c = arg;
    sw_error err;
    c->status = sw_instance_call(c->inst, "spin", NULL, 0, NULL, 0, &err);
    c->trap = err.trap;
    atomic_store(&c->done, true);
    return NULL;
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void test_interrupt_as_code_is_entered(void **state)
{
    (void)state;
    char dir[] = "/tmp/stratus-aot-interrupt-XXXXXX";
    assert_non_null(mkdtemp(dir));
    swaot_config cfg;
    swaot_config_init(&cfg);
    cfg.cache_dir = dir;
    swaot *aot;
    sw_error err;
    assert_int_equal(swaot_open(&cfg, &aot, &err), SW_OK);
    const char *why;
    if (!swaot_has_compiler(aot, &why)) fail_msg("no C compiler: %s", why);
    sw_module *mod;
    assert_int_equal(sw_module_load(spin_wasm, sizeof spin_wasm, &mod, &err), SW_OK);
    swaot_result res;
    if (swaot_prepare(aot, mod, SWAOT_AOT, &res, &err) != SW_OK) fail_msg("%s", err.message);
    assert_true(res.native);

    for (int i = 0; i < ROUNDS; i++) {
        struct call c = {.status = SW_OK};
        atomic_init(&c.done, false);
        assert_int_equal(sw_instance_new(mod, NULL, NULL, &c.inst, &err), SW_OK);
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, run_spin, &c), 0);
        /* 0 to 100 µs, spun: the thread's start and its entry into the
           compiled code fall somewhere in that range */
        long long until = now_ns() + (i % 101) * 1000LL;
        while (now_ns() < until) {
        }
        sw_instance_interrupt(c.inst);
        long long deadline = now_us() + 5000000;
        while (!atomic_load(&c.done) && now_us() < deadline)
            usleep(200);
        if (!atomic_load(&c.done))
            fail_msg("round %d: the call still runs 5 s after its interrupt", i);
        pthread_join(t, NULL);
        assert_int_equal(c.status, SW_ERR_TRAP);
        assert_int_equal(c.trap, SW_TRAP_INTERRUPTED);
        sw_instance_free(c.inst);
    }
    sw_module_free(mod);
    swaot_close(aot);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_interrupt_as_code_is_entered)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
