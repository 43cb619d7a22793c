/* The dashboard in a real headless chromium, driven over WebDriver
 * (chromedriver): the page served at / goes live over its event stream; a
 * module created with `stratus run` shows within 2 s; clicking its stop
 * button ends it (the REST API says killed, the page shows it ended); the
 * start form starts a module with arguments, and one uploaded from this
 * computer (a non-wasm upload refused with the reason); with hundreds of
 * modules the page lists them all and still follows changes. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "client_cmd.h"
#include "client_stack.h"
#include "webdriver.h"

#define CMD_MS 30000
#define WAIT_MS 10000
/* The bound: a new module shows "within a second or two". */
#define SHOWS_WITHIN_MS 2000

static struct client_stack stack;
static struct webdriver wd;

static int setup(void **state)
{
    (void)state;
    if (client_stack_start(&stack, "dash")) return -1;
    if (webdriver_start(&wd, DASH_CHROMEDRIVER, DASH_CHROMIUM)) return -1;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", stack.orc.http_port);
    return webdriver_open(&wd, url);
}

static int teardown(void **state)
{
    (void)state;
    webdriver_stop(&wd);
    harness_cleanup();
    return 0;
}

/* Poll a script until it returns the string want (or a true boolean when
 * want is NULL); the time it took in ms, or -1 after timeout_ms. */
static long long wait_script(const char *script, const char *want, int timeout_ms)
{
    long long start = harness_now_ms();
    for (;;) {
        json_t *v = NULL;
        int ok =
            webdriver_script(&wd, script, &v) == 0 &&
            (want ? json_is_string(v) && !strcmp(json_string_value(v), want) : json_is_true(v));
        long long spent = harness_now_ms() - start;
        if (!ok && spent > timeout_ms) {
            char *text = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
            fprintf(stderr, "the page's answer was %s to: %s\n", text ? text : "none", script);
            free(text);
        }
        json_decref(v);
        if (ok) return spent;
        if (spent > timeout_ms) return -1;
        usleep(20000);
    }
}

/* Wait until the module's row shows state; the ms it took, or -1. */
static long long wait_row_state(const char *uuid, const char *state, int timeout_ms)
{
    char script[512];
    snprintf(script, sizeof script,
             "const r = document.querySelector('tr[data-uuid=\"%s\"]');"
             "return r ? r.querySelector('.state').textContent : 'absent'",
             uuid);
    return wait_script(script, state, timeout_ms);
}

static void run_ok(const char *const *argv, char uuid[37])
{
    struct cmd c;
    assert_int_equal(cmd_run(&c, CMD_MS, stack.flags, argv), 0);
    if (uuid) assert_int_equal(sscanf(c.out, "%36s", uuid), 1);
    cmd_free(&c);
}

static void test_live_module_and_stop(void **state)
{
    (void)state;
    assert_true(
        wait_script("return document.getElementById('conn').textContent", "live", WAIT_MS) >= 0);
    /* The runtimes and the manager are listed. */
    assert_true(wait_script("return document.getElementById('runtimes').textContent"
                            ".includes('linux/minimal')",
                            NULL, WAIT_MS) >= 0);
    assert_true(wait_script("return document.getElementById('managers').textContent"
                            ".includes('node')",
                            NULL, WAIT_MS) >= 0);

    char uuid[37];
    run_ok((const char *const[]){"run", "--name", "in-browser", "--runtime", "linux", "spin.wasm",
                                 NULL},
           uuid);
    long long took = wait_row_state(uuid, "A", WAIT_MS);
    fprintf(stderr, "the new module showed alive after %lld ms\n", took);
    assert_true(took >= 0);
    assert_true(took <= SHOWS_WITHIN_MS);

    char css[128], id[128];
    snprintf(css, sizeof css, "tr[data-uuid=\"%s\"] button.stop", uuid);
    assert_int_equal(webdriver_find(&wd, css, id), 0);
    assert_int_equal(webdriver_click(&wd, id), 0);
    char path[128];
    snprintf(path, sizeof path, "/api/modules/%s/", uuid);
    assert_int_equal(http_wait_field(stack.orc.http_port, path, "status", "killed", WAIT_MS), 0);
    /* The page shows it ended, with how. */
    assert_true(wait_row_state(uuid, "D", SHOWS_WITHIN_MS + 1000) >= 0);
    char script[512];
    snprintf(script, sizeof script,
             "return document.querySelector('tr[data-uuid=\"%s\"]').textContent"
             ".includes('killed')",
             uuid);
    assert_true(wait_script(script, NULL, WAIT_MS) >= 0);
    webdriver_screenshot(&wd, "dashboard-stop.png");
}

static void test_start_form(void **state)
{
    (void)state;
    char id[128];
    assert_int_equal(webdriver_find(&wd, "#start-file", id), 0);
    assert_int_equal(webdriver_type(&wd, id, "hello.wasm"), 0);
    assert_int_equal(webdriver_find(&wd, "#start-args", id), 0);
    assert_int_equal(webdriver_type(&wd, id, "from the browser"), 0);
    assert_int_equal(webdriver_find(&wd, "#start-name", id), 0);
    assert_int_equal(webdriver_type(&wd, id, "form-hello"), 0);
    assert_int_equal(webdriver_find(&wd, "#start-button", id), 0);
    assert_int_equal(webdriver_click(&wd, id), 0);
    assert_true(wait_script("return document.getElementById('start-result').textContent"
                            ".startsWith('started form-hello')",
                            NULL, WAIT_MS) >= 0);
    assert_int_equal(
        http_wait_field(stack.orc.http_port, "/api/modules/form-hello/", "exit_code", "0", WAIT_MS),
        0);
    struct http_answer a;
    assert_int_equal(
        http_request(stack.orc.http_port, "GET", "/api/modules/form-hello/output", NULL, 0, &a), 0);
    assert_string_equal(a.body, "Hello from Stratus!\narg 1: from\narg 2: the\narg 3: browser\n");
    http_answer_free(&a);
    /* A refusal is shown, not swallowed. */
    assert_int_equal(webdriver_find(&wd, "#start-file", id), 0);
    assert_int_equal(webdriver_script(&wd,
                                      "document.getElementById('start-file').value = '../x.wasm';"
                                      "document.getElementById('start-button').click(); return 1",
                                      NULL),
                     0);
    assert_true(wait_script("return document.getElementById('start-result').textContent"
                            ".startsWith('refused')",
                            NULL, WAIT_MS) >= 0);
}

/* Choose a local file in the form's upload field (chromedriver takes the
 * path as the "typed" text of a file input) and start it. */
static void start_upload(const char *path, const char *name)
{
    char id[128];
    assert_int_equal(webdriver_script(&wd,
                                      "document.getElementById('start-file').value = '';"
                                      "document.getElementById('start-args').value = '';"
                                      "document.getElementById('start-result').textContent = '';"
                                      "return 1",
                                      NULL),
                     0);
    assert_int_equal(webdriver_find(&wd, "#start-upload", id), 0);
    assert_int_equal(webdriver_type(&wd, id, path), 0);
    assert_int_equal(webdriver_find(&wd, "#start-name", id), 0);
    assert_int_equal(webdriver_script(&wd,
                                      "document.getElementById('start-name').value = '';"
                                      "return 1",
                                      NULL),
                     0);
    assert_int_equal(webdriver_type(&wd, id, name), 0);
    assert_int_equal(webdriver_find(&wd, "#start-button", id), 0);
    assert_int_equal(webdriver_click(&wd, id), 0);
}

static void test_start_form_upload(void **state)
{
    (void)state;
    /* A module that no module directory holds: uploaded by the page,
     * fetched by the node, run. */
    char dir[PATH_MAX], path[PATH_MAX + 32], from[PATH_MAX];
    assert_int_equal(harness_tmpdir(dir), 0);
    snprintf(path, sizeof path, "%s/from-browser.wasm", dir);
    snprintf(from, sizeof from, "%s/hello.wasm", CLIENT_EXAMPLES);
    assert_int_equal(harness_copy_file(from, path), 0);
    start_upload(path, "uploaded-hello");
    assert_true(wait_script("return document.getElementById('start-result').textContent"
                            ".startsWith('started uploaded-hello')",
                            NULL, WAIT_MS) >= 0);
    assert_int_equal(http_wait_field(stack.orc.http_port, "/api/modules/uploaded-hello/",
                                     "exit_code", "0", WAIT_MS),
                     0);
    json_t *rec = http_get_json(stack.orc.http_port, "/api/modules/uploaded-hello/");
    assert_non_null(rec);
    assert_true(json_at_equals(rec, "file", "from-browser.wasm"));
    json_decref(rec);
    json_t *files = http_get_json(stack.orc.http_port, "/api/files/from-browser.wasm/");
    assert_non_null(files);
    json_decref(files);
    struct http_answer a;
    assert_int_equal(
        http_request(stack.orc.http_port, "GET", "/api/modules/uploaded-hello/output", NULL, 0, &a),
        0);
    assert_non_null(strstr(a.body, "Hello from Stratus!"));
    http_answer_free(&a);
    /* Not WebAssembly: refused with the loader's message, nothing started. */
    snprintf(path, sizeof path, "%s/notes.wasm", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("plain text\n", f);
    fclose(f);
    start_upload(path, "not-wasm");
    assert_true(wait_script("return document.getElementById('start-result').textContent"
                            ".startsWith('refused') && document.getElementById('start-result')"
                            ".textContent.includes('magic')",
                            NULL, WAIT_MS) >= 0);
    assert_null(http_get_json(stack.orc.http_port, "/api/modules/not-wasm/"));
}

static void test_hundreds_of_modules(void **state)
{
    (void)state;
    /* 300 modules on the one-module runtime: one runs, 299 wait. */
    run_ok((const char *const[]){"run", "--copies", "300", "--name", "many", "--runtime", "minimal",
                                 "spin.wasm", NULL},
           NULL);
    assert_true(wait_script("return document.querySelectorAll('#modules tr[data-uuid]').length"
                            " >= 300",
                            NULL, WAIT_MS) >= 0);
    /* Still following changes: the filter narrows the list, and a new
     * module shows up promptly among the 300. */
    assert_int_equal(webdriver_script(&wd,
                                      "const f = document.getElementById('filter');"
                                      "f.value = 'many-299'; f.dispatchEvent(new Event('input'));"
                                      "return 1",
                                      NULL),
                     0);
    assert_true(wait_script("return document.querySelectorAll('#modules tr[data-uuid]').length"
                            " === 1",
                            NULL, WAIT_MS) >= 0);
    webdriver_script(&wd,
                     "const f = document.getElementById('filter');"
                     "f.value = ''; f.dispatchEvent(new Event('input')); return 1",
                     NULL);
    char uuid[37];
    run_ok(
        (const char *const[]){"run", "--name", "one-more", "--runtime", "linux", "spin.wasm", NULL},
        uuid);
    long long took = wait_row_state(uuid, "A", WAIT_MS);
    fprintf(stderr, "with 300 modules, a new one showed after %lld ms\n", took);
    assert_true(took >= 0 && took <= SHOWS_WITHIN_MS);
    webdriver_screenshot(&wd, "dashboard-hundreds.png");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_module_and_stop),
        cmocka_unit_test(test_start_form),
        cmocka_unit_test(test_start_form_upload),
        cmocka_unit_test(test_hundreds_of_modules),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
