/* Where the stack is (see client.h): flags, else the file of a running
 * `stratus up`, else the defaults, address by address. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "state_dir.h"

const char client_common_help[] =
    "  --mqtt HOST:PORT   the broker (default: the running `stratus up`'s, "
    "else " CLIENT_DEFAULT_MQTT ")\n"
    "  --http HOST:PORT   the orchestrator's REST API (default: `stratus up`'s, else "
    "" CLIENT_DEFAULT_HTTP ")\n"
    "  --realm R          topic prefix (default: `stratus up`'s, else \"" CLIENT_DEFAULT_REALM
    "\")\n"
    "  --help             this text\n";

void client_target_init(struct client_target *t)
{
    memset(t, 0, sizeof *t);
}

int client_target_option(struct client_target *t, int opt, const char *arg,
                         char err[CLIENT_ERR_LEN])
{
    char aerr[NET_ADDRESS_ERR_LEN];
    switch (opt) {
    case CLIENT_OPT_MQTT:
        if (net_address_parse("--mqtt", arg, 1883, 1, &t->mqtt, aerr) < 0) goto bad;
        t->given |= CLIENT_GIVEN_MQTT;
        return 1;
    case CLIENT_OPT_HTTP:
        if (net_address_parse("--http", arg, 8000, 1, &t->http, aerr) < 0) goto bad;
        t->given |= CLIENT_GIVEN_HTTP;
        return 1;
    case CLIENT_OPT_REALM:
        if (!*arg || strlen(arg) >= sizeof t->realm || strpbrk(arg, "+#/")) {
            snprintf(err, CLIENT_ERR_LEN,
                     "--realm '%.100s': a non-empty topic level without /, + or #", arg);
            return -1;
        }
        snprintf(t->realm, sizeof t->realm, "%s", arg);
        t->given |= CLIENT_GIVEN_REALM;
        return 1;
    default: return 0;
    }
bad:
    snprintf(err, CLIENT_ERR_LEN, "%s", aerr);
    return -1;
}

int client_up_file_path(char *buf, size_t cap)
{
    const char *env = getenv("STRATUS_UP_FILE");
    if (env && *env) return snprintf(buf, cap, "%s", env) < (int)cap ? 0 : -1;
    char *dir = state_dir_default(NULL);
    if (!dir) return -1;
    int n = snprintf(buf, cap, "%s/up.json", dir);
    free(dir);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int client_up_file_read(json_t **out)
{
    char path[PATH_MAX];
    *out = NULL;
    if (client_up_file_path(path, sizeof path) < 0) return 1;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
    json_t *pid = json_object_get(doc, "pid");
    if (!json_is_integer(pid) || json_integer_value(pid) <= 0 ||
        json_integer_value(pid) > INT_MAX ||
        (kill((pid_t)json_integer_value(pid), 0) < 0 && errno == ESRCH)) {
        json_decref(doc);
        return 1;
    }
    *out = doc;
    return 0;
}

static void take_address(json_t *up, const char *key, int default_port, struct net_address *a,
                         const char *fallback)
{
    char err[NET_ADDRESS_ERR_LEN];
    const char *text = json_string_value(json_object_get(up, key));
    if (text && net_address_parse(key, text, default_port, 1, a, err) == 0) return;
    net_address_parse(key, fallback, default_port, 1, a, err);
}

void client_target_resolve(struct client_target *t)
{
    json_t *up = NULL;
    if ((t->given & 7u) != 7u) client_up_file_read(&up);
    if (!(t->given & CLIENT_GIVEN_MQTT))
        take_address(up, "mqtt", 1883, &t->mqtt, CLIENT_DEFAULT_MQTT);
    if (!(t->given & CLIENT_GIVEN_HTTP))
        take_address(up, "http", 8000, &t->http, CLIENT_DEFAULT_HTTP);
    if (!(t->given & CLIENT_GIVEN_REALM)) {
        const char *realm = json_string_value(json_object_get(up, "realm"));
        snprintf(t->realm, sizeof t->realm, "%s",
                 realm && *realm && strlen(realm) < sizeof t->realm ? realm : CLIENT_DEFAULT_REALM);
    }
    json_decref(up);
}

int client_getopt(struct client_getopt *g, int argc, char **argv)
{
    if (!g->started) {
        g->started = 1;
        optind = 1;
        opterr = 0;
    }
    for (;;) {
        int c = getopt_long(argc, argv, g->shortopts, g->longopts, NULL);
        if (c == -1) return -1;
        char err[CLIENT_ERR_LEN];
        int common = client_target_option(g->target, c, optarg, err);
        if (common > 0) continue;
        if (common < 0) {
            fprintf(stderr, "stratus %s: %s\n", g->cmd, err);
            g->status = 2;
            return CLIENT_GETOPT_EXIT;
        }
        if (c == 'h') {
            g->usage(stdout);
            g->status = 0;
            return CLIENT_GETOPT_EXIT;
        }
        if (c == '?' || c == ':') {
            fprintf(stderr, "stratus %s: unknown or incomplete option '%s'\n", g->cmd,
                    argv[optind - 1]);
            g->usage(stderr);
            g->status = 2;
            return CLIENT_GETOPT_EXIT;
        }
        return c;
    }
}
