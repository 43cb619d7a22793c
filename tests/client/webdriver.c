/* WebDriver over HTTP (see webdriver.h). */
#define _GNU_SOURCE
#include "webdriver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_client.h"
#include "orc_stack.h"

#define ELEMENT_KEY "element-6066-11e4-a52e-4f735466cecf"

/* One request to chromedriver (which keeps connections open, so the
 * client library's reader, which stops at the end of an answer). */
static int request(struct webdriver *w, const char *method, const char *path, const char *body,
                   int *status, json_t **json)
{
    struct net_address addr = {.host = "127.0.0.1", .port = w->port};
    struct http_response r;
    char err[HTTP_CLIENT_ERR_LEN];
    if (http_client_request(&addr, method, path, body, body ? strlen(body) : 0, 30000, &r, err) <
        0) {
        fprintf(stderr, "webdriver: %s %s: %s\n", method, path, err);
        return -1;
    }
    *status = r.status;
    *json = json_loadb(r.body, r.body_len, 0, NULL);
    if (r.status != 200 && r.status != 404)
        fprintf(stderr, "webdriver: %s %s: %d %s\n", method, path, r.status, r.body);
    http_response_clear(&r);
    return 0;
}

/* One command; *value (may be NULL) gets the answer's "value". */
static int command(struct webdriver *w, const char *method, const char *path, json_t *body,
                   json_t **value)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    int status;
    json_t *answer = NULL;
    int rc = request(w, method, path, text, &status, &answer);
    free(text);
    if (rc == 0 && status == 200 && value) *value = json_incref(json_object_get(answer, "value"));
    json_decref(answer);
    return rc == 0 && status == 200 ? 0 : -1;
}

int webdriver_start(struct webdriver *w, const char *chromedriver, const char *chromium)
{
    memset(w, 0, sizeof *w);
    if (harness_tmpdir(w->profile)) return -1;
    for (int attempt = 0; attempt < 3; attempt++) {
        w->port = harness_free_port();
        char port_flag[32];
        snprintf(port_flag, sizeof port_flag, "--port=%d", w->port);
        const char *argv[] = {chromedriver, port_flag, NULL};
        if (proc_start(&w->driver, (char *const *)argv)) return -1;
        long long deadline = harness_now_ms() + 10000;
        int ready = 0;
        while (!ready && harness_now_ms() < deadline && proc_alive(&w->driver)) {
            int code;
            json_t *status = NULL;
            ready = request(w, "GET", "/status", NULL, &code, &status) == 0 && code == 200 &&
                    json_is_true(json_at(status, "value.ready"));
            json_decref(status);
            if (!ready) usleep(20000);
        }
        if (ready) break;
        proc_kill(&w->driver);
        if (attempt == 2) {
            fprintf(stderr, "webdriver: chromedriver did not start\n");
            return -1;
        }
    }
    char profile_flag[PATH_MAX + 32];
    snprintf(profile_flag, sizeof profile_flag, "--user-data-dir=%s", w->profile);
    json_t *args =
        json_pack("[s, s, s, s, s, s, s, s, s, s, s]", "--headless=new", "--no-sandbox",
                  "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--window-size=1400,1000", profile_flag,
                  /* a small /dev/shm (containers) would crash tabs */
                  "--disable-dev-shm-usage", "--disable-crash-reporter");
    json_t *caps = json_pack("{s:{s:{s:{s:s, s:o}}}}", "capabilities", "alwaysMatch",
                             "goog:chromeOptions", "binary", chromium, "args", args);
    json_t *value = NULL;
    if (command(w, "POST", "/session", caps, &value) < 0) return -1;
    const char *id = json_string_value(json_object_get(value, "sessionId"));
    if (!id) {
        json_decref(value);
        return -1;
    }
    snprintf(w->session, sizeof w->session, "%s", id);
    json_decref(value);
    return 0;
}

void webdriver_stop(struct webdriver *w)
{
    if (w->session[0]) {
        char path[256];
        snprintf(path, sizeof path, "/session/%s", w->session);
        command(w, "DELETE", path, NULL, NULL);
        w->session[0] = '\0';
    }
    proc_kill(&w->driver);
}

static int session_command(struct webdriver *w, const char *method, const char *what, json_t *body,
                           json_t **value)
{
    char path[512];
    snprintf(path, sizeof path, "/session/%s/%s", w->session, what);
    return command(w, method, path, body, value);
}

int webdriver_open(struct webdriver *w, const char *url)
{
    return session_command(w, "POST", "url", json_pack("{s:s}", "url", url), NULL);
}

int webdriver_script(struct webdriver *w, const char *script, json_t **value)
{
    return session_command(w, "POST", "execute/sync",
                           json_pack("{s:s, s:[]}", "script", script, "args"), value);
}

int webdriver_find(struct webdriver *w, const char *css, char id[128])
{
    char path[512];
    snprintf(path, sizeof path, "/session/%s/element", w->session);
    json_t *body = json_pack("{s:s, s:s}", "using", "css selector", "value", css);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    int status;
    json_t *answer = NULL;
    int rc = request(w, "POST", path, text, &status, &answer);
    free(text);
    /* 404: no such element (yet). */
    const char *eid =
        rc == 0 && status == 200
            ? json_string_value(json_object_get(json_object_get(answer, "value"), ELEMENT_KEY))
            : NULL;
    if (eid) snprintf(id, 128, "%s", eid);
    json_decref(answer);
    return eid ? 0 : -1;
}

int webdriver_click(struct webdriver *w, const char *id)
{
    char what[256];
    snprintf(what, sizeof what, "element/%s/click", id);
    return session_command(w, "POST", what, json_object(), NULL);
}

int webdriver_type(struct webdriver *w, const char *id, const char *text)
{
    char what[256];
    snprintf(what, sizeof what, "element/%s/value", id);
    return session_command(w, "POST", what, json_pack("{s:s}", "text", text), NULL);
}

/* Base64 decoding of the screenshot. */
static int b64(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

int webdriver_screenshot(struct webdriver *w, const char *png_path)
{
    json_t *value;
    if (session_command(w, "GET", "screenshot", NULL, &value) < 0) return -1;
    const char *text = json_string_value(value);
    FILE *f = text ? fopen(png_path, "wb") : NULL;
    if (!f) {
        json_decref(value);
        return -1;
    }
    unsigned acc = 0;
    int bits = 0;
    for (const char *p = text; *p; p++) {
        int v = b64((unsigned char)*p);
        if (v < 0) continue;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            fputc((int)((acc >> bits) & 0xff), f);
        }
    }
    fclose(f);
    json_decref(value);
    return 0;
}
