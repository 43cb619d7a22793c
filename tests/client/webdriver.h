/* A small WebDriver client for the dashboard test: chromedriver started on
 * a free loopback port, one headless chromium session (fresh profile, no
 * network services), and the few commands the test needs, spoken as JSON
 * over HTTP with the harness's REST client. */
#ifndef STRATUS_TEST_WEBDRIVER_H
#define STRATUS_TEST_WEBDRIVER_H

#include <jansson.h>

#include "harness.h"

struct webdriver {
    struct proc driver;
    int port;
    char session[128];
    char profile[PATH_MAX];
};

/* Start chromedriver (path) and a session of chromium (binary). 0 or -1. */
int webdriver_start(struct webdriver *w, const char *chromedriver, const char *chromium);
/* End the session (chromium exits) and chromedriver. */
void webdriver_stop(struct webdriver *w);

int webdriver_open(struct webdriver *w, const char *url);
/* Run script in the page (WebDriver "execute sync"); *value is what it
 * returned (new reference; may be json null). 0 or -1. */
int webdriver_script(struct webdriver *w, const char *script, json_t **value);
/* The element id of the first match of a CSS selector, into id (128
 * bytes); -1 when there is none. */
int webdriver_find(struct webdriver *w, const char *css, char id[128]);
int webdriver_click(struct webdriver *w, const char *id);
/* Type text into the element. */
int webdriver_type(struct webdriver *w, const char *id, const char *text);
/* Save a PNG of the page (for people looking at a failure). */
int webdriver_screenshot(struct webdriver *w, const char *png_path);

#endif
