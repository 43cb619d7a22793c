/* Configuration of `stratus orchestrator` (see stratus/orchestrator.h):
 * defaults, the JSON file with the original Silverline keys, and the flags
 * (getopt_long), which override the file. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_address.h"
#include "size_parse.h"
#include "slog.h"
#include "stratus/orchestrator.h"

void orchestrator_config_init(struct orchestrator_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->port = 1883;
    cfg->http_port = 8000;
    cfg->keepalive = 5;
    cfg->log_level = SLOG_INFO;
    cfg->file_max_size = 64ll << 20;
    cfg->files_retention = 7 * 86400.0;
}

void orchestrator_config_clear(struct orchestrator_config *cfg)
{
    char **strings[] = {&cfg->host,     &cfg->realm,    &cfg->db,     &cfg->http_addr,
                        &cfg->username, &cfg->password, &cfg->tls_ca, &cfg->tls_cert,
                        &cfg->tls_key,  &cfg->files_dir};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        free(*strings[i]);
    orchestrator_config_init(cfg);
}

static int set_string(char **field, const char *value, char *err)
{
    char *copy = strdup(value);
    if (!copy) {
        snprintf(err, ORCHESTRATOR_ERR_LEN, "out of memory");
        return -1;
    }
    free(*field);
    *field = copy;
    return 0;
}

static int parse_int(const char *text, long min, long max, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max) return -1;
    *out = (int)v;
    return 0;
}

/* A size (size_parse), at least 1 byte. */
static int parse_size(const char *text, long long *out)
{
    uint64_t v;
    if (size_parse(text, &v) < 0 || v < 1) return -1;
    *out = (long long)v;
    return 0;
}

/* "HOST:PORT" (or "[V6]:PORT") or "HOST" (the port kept): host into
 * *host, port into *port; the rule is net_address_parse's. */
static int set_address(const char *flag, const char *text, char **host, int *port, int min_port,
                       char *err)
{
    struct net_address a;
    char aerr[NET_ADDRESS_ERR_LEN];
    if (net_address_parse(flag, text, *port, min_port, &a, aerr) < 0) {
        snprintf(err, ORCHESTRATOR_ERR_LEN, "%s", aerr);
        return -1;
    }
    *port = a.port;
    return set_string(host, a.host, err);
}

static int want_string(json_t *v, const char *key, char **field, char *err)
{
    if (!json_is_string(v)) {
        snprintf(err, ORCHESTRATOR_ERR_LEN, "config key '%s' must be a string", key);
        return -1;
    }
    return set_string(field, json_string_value(v), err);
}

static int want_int(json_t *v, const char *key, long min, long max, int *field, char *err)
{
    if (json_is_integer(v) && json_integer_value(v) >= min && json_integer_value(v) <= max) {
        *field = (int)json_integer_value(v);
        return 0;
    }
    if (json_is_string(v) && parse_int(json_string_value(v), min, max, field) == 0) return 0;
    snprintf(err, ORCHESTRATOR_ERR_LEN, "config key '%s' must be an integer %ld-%ld", key, min,
             max);
    return -1;
}

int orchestrator_config_apply_json(struct orchestrator_config *cfg, const char *text, size_t len,
                                   char err[ORCHESTRATOR_ERR_LEN])
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, ORCHESTRATOR_ERR_LEN, "config is not valid JSON: line %d: %s", jerr.line,
                 jerr.text);
        return -1;
    }
    int rc = -1;
    if (!json_is_object(root)) {
        snprintf(err, ORCHESTRATOR_ERR_LEN, "config must be a JSON object");
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        int r = 0;
        if (!strcmp(key, "mqtt"))
            r = want_string(v, key, &cfg->host, err);
        else if (!strcmp(key, "mqtt_port"))
            r = want_int(v, key, 1, 65535, &cfg->port, err);
        else if (!strcmp(key, "mqtt_username"))
            r = json_is_null(v) ? 0 : want_string(v, key, &cfg->username, err);
        else if (!strcmp(key, "pwd"))
            r = json_is_null(v) ? 0 : want_string(v, key, &cfg->password, err);
        else if (!strcmp(key, "use_ssl")) {
            if (!json_is_boolean(v)) {
                snprintf(err, ORCHESTRATOR_ERR_LEN, "config key 'use_ssl' must be a boolean");
                r = -1;
            } else {
                cfg->tls = json_is_true(v);
            }
        } else if (!strcmp(key, "realm"))
            r = want_string(v, key, &cfg->realm, err);
        else if (!strcmp(key, "http"))
            r = want_string(v, key, &cfg->http_addr, err);
        else if (!strcmp(key, "http_port"))
            r = want_int(v, key, 0, 65535, &cfg->http_port, err);
        else if (!strcmp(key, "db"))
            r = want_string(v, key, &cfg->db, err);
        else if (!strcmp(key, "keepalive"))
            r = want_int(v, key, 0, 3600, &cfg->keepalive, err);
        else if (!strcmp(key, "tls_ca"))
            r = want_string(v, key, &cfg->tls_ca, err);
        else if (!strcmp(key, "tls_cert"))
            r = want_string(v, key, &cfg->tls_cert, err);
        else if (!strcmp(key, "tls_key"))
            r = want_string(v, key, &cfg->tls_key, err);
        else if (!strcmp(key, "files_dir"))
            r = want_string(v, key, &cfg->files_dir, err);
        else if (!strcmp(key, "file_max_size") || !strcmp(key, "files_retention")) {
            if (!json_is_number(v) || json_number_value(v) < (key[5] == 'm' ? 1 : 0) ||
                json_number_value(v) > 1e12) {
                snprintf(err, ORCHESTRATOR_ERR_LEN, "config key '%s' must be a number %s", key,
                         key[5] == 'm' ? "of bytes >= 1" : "of seconds >= 0");
                r = -1;
            } else if (key[5] == 'm') {
                cfg->file_max_size = (long long)json_number_value(v);
            } else {
                cfg->files_retention = json_number_value(v);
            }
        } else if (!strcmp(key, "log_level")) {
            if (!json_is_string(v) || slog_level_parse(json_string_value(v), &cfg->log_level)) {
                snprintf(err, ORCHESTRATOR_ERR_LEN,
                         "config key 'log_level' must be debug, info, warning or error");
                r = -1;
            }
        } else
            slog(SLOG_WARNING, "orc", "config key '%.64s' is unknown; ignored", key);
        if (r < 0) goto out;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

static int load_file(struct orchestrator_config *cfg, const char *path, char *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, ORCHESTRATOR_ERR_LEN, "--config %s: %s", path, strerror(errno));
        return -1;
    }
    char *text = malloc(1u << 20);
    size_t len = text ? fread(text, 1, 1u << 20, f) : 0;
    int too_big = text && len == (1u << 20);
    fclose(f);
    if (!text || too_big) {
        free(text);
        snprintf(err, ORCHESTRATOR_ERR_LEN, "--config %s: %s", path,
                 too_big ? "larger than 1 MiB" : "out of memory");
        return -1;
    }
    char inner[ORCHESTRATOR_ERR_LEN];
    int rc = orchestrator_config_apply_json(cfg, text, len, inner);
    if (rc < 0) snprintf(err, ORCHESTRATOR_ERR_LEN, "%.64s: %s", path, inner);
    free(text);
    return rc;
}

enum {
    OPT_MQTT = 256,
    OPT_REALM,
    OPT_DB,
    OPT_HTTP,
    OPT_KEEPALIVE,
    OPT_CONFIG,
    OPT_USERNAME,
    OPT_PASSWORD,
    OPT_TLS,
    OPT_TLS_CA,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_TLS_INSECURE,
    OPT_LOG_LEVEL,
    OPT_FILES_DIR,
    OPT_FILE_MAX_SIZE,
    OPT_FILES_RETENTION,
};

static const struct option options[] = {
    {"mqtt", required_argument, NULL, OPT_MQTT},
    {"realm", required_argument, NULL, OPT_REALM},
    {"db", required_argument, NULL, OPT_DB},
    {"http", required_argument, NULL, OPT_HTTP},
    {"keepalive", required_argument, NULL, OPT_KEEPALIVE},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"username", required_argument, NULL, OPT_USERNAME},
    {"password", required_argument, NULL, OPT_PASSWORD},
    {"tls", no_argument, NULL, OPT_TLS},
    {"tls-ca", required_argument, NULL, OPT_TLS_CA},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"tls-insecure", no_argument, NULL, OPT_TLS_INSECURE},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"files-dir", required_argument, NULL, OPT_FILES_DIR},
    {"file-max-size", required_argument, NULL, OPT_FILE_MAX_SIZE},
    {"files-retention", required_argument, NULL, OPT_FILES_RETENTION},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int orchestrator_config_from_args(struct orchestrator_config *cfg, int argc, char **argv,
                                  char err[ORCHESTRATOR_ERR_LEN])
{
    /* First pass: the file and --help, so flags override the file. */
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (c == 'h') {
            cfg->help = 1;
            return 0;
        }
        if (c == OPT_CONFIG && load_file(cfg, optarg, err) < 0) return -1;
        if (c == '?') {
            snprintf(err, ORCHESTRATOR_ERR_LEN, "unknown option or missing value '%s' (see --help)",
                     argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        snprintf(err, ORCHESTRATOR_ERR_LEN, "unexpected argument '%s' (see --help)", argv[optind]);
        return -1;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        int r = 0;
        switch (c) {
        case OPT_MQTT: r = set_address("--mqtt", optarg, &cfg->host, &cfg->port, 1, err); break;
        case OPT_REALM:
            if (!*optarg || strchr(optarg, '+') || strchr(optarg, '#')) {
                snprintf(err, ORCHESTRATOR_ERR_LEN, "--realm '%s': a topic level without wildcards",
                         optarg);
                r = -1;
            } else {
                r = set_string(&cfg->realm, optarg, err);
            }
            break;
        case OPT_DB: r = set_string(&cfg->db, optarg, err); break;
        case OPT_HTTP:
            r = set_address("--http", optarg, &cfg->http_addr, &cfg->http_port, 0, err);
            break;
        case OPT_KEEPALIVE:
            if (parse_int(optarg, 0, 3600, &cfg->keepalive) < 0) {
                snprintf(err, ORCHESTRATOR_ERR_LEN, "--keepalive '%s': expected seconds 0-3600",
                         optarg);
                r = -1;
            }
            break;
        case OPT_USERNAME: r = set_string(&cfg->username, optarg, err); break;
        case OPT_PASSWORD: r = set_string(&cfg->password, optarg, err); break;
        case OPT_TLS: cfg->tls = 1; break;
        case OPT_TLS_INSECURE: cfg->tls = cfg->tls_insecure = 1; break;
        case OPT_TLS_CA:
            cfg->tls = 1;
            r = set_string(&cfg->tls_ca, optarg, err);
            break;
        case OPT_TLS_CERT:
            cfg->tls = 1;
            r = set_string(&cfg->tls_cert, optarg, err);
            break;
        case OPT_TLS_KEY:
            cfg->tls = 1;
            r = set_string(&cfg->tls_key, optarg, err);
            break;
        case OPT_LOG_LEVEL:
            if (slog_level_parse(optarg, &cfg->log_level) < 0) {
                snprintf(err, ORCHESTRATOR_ERR_LEN,
                         "--log-level '%s': expected debug, info, warning or error", optarg);
                r = -1;
            }
            break;
        case OPT_FILES_DIR: r = set_string(&cfg->files_dir, optarg, err); break;
        case OPT_FILE_MAX_SIZE:
            if (parse_size(optarg, &cfg->file_max_size) < 0) {
                snprintf(err, ORCHESTRATOR_ERR_LEN,
                         "--file-max-size '%s': expected bytes >= 1 (K, M, G suffixes)", optarg);
                r = -1;
            }
            break;
        case OPT_FILES_RETENTION: {
            char *end;
            errno = 0;
            double v = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(v >= 0) || v > 1e12) {
                snprintf(err, ORCHESTRATOR_ERR_LEN, "--files-retention '%s': expected seconds >= 0",
                         optarg);
                r = -1;
            } else {
                cfg->files_retention = v;
            }
            break;
        }
        default: break;
        }
        if (r < 0) return -1;
    }
    return 0;
}

void orchestrator_usage(FILE *out)
{
    fputs("usage: stratus orchestrator [--mqtt HOST:PORT] [--realm R] [--db FILE]\n"
          "                            [--http ADDR:PORT] [--keepalive SECONDS] [options]\n"
          "\n"
          "Runs the orchestrator: keeps the registry of managers, runtimes and modules,\n"
          "places modules on runtimes, queues them when nothing has room, brings them\n"
          "back when their runtime returns, and serves a REST API with metrics.\n"
          "\n"
          "  --mqtt HOST:PORT      broker address (default localhost:1883)\n"
          "  --realm R             topic prefix (default \"realm\")\n"
          "  --db FILE             SQLite database, created when missing (default\n"
          "                        stratus.db in the working directory; :memory: keeps\n"
          "                        nothing after exit)\n"
          "  --http ADDR:PORT      REST API address (default 127.0.0.1:8000; port 0 picks\n"
          "                        a free port, logged at start)\n"
          "  --keepalive SECONDS   keepalive period told to runtimes (default 5); a runtime\n"
          "                        silent for 3 periods is treated as ended; 0 = none\n"
          "  --config FILE         JSON configuration; flags override it. Keys: mqtt,\n"
          "                        mqtt_port, mqtt_username, pwd, use_ssl, realm, http,\n"
          "                        http_port, db, keepalive, log_level, tls_ca, tls_cert,\n"
          "                        tls_key\n"
          "  --username U, --password P  broker credentials\n"
          "  --tls                 connect with TLS (system CAs unless --tls-ca)\n"
          "  --tls-ca FILE, --tls-cert FILE, --tls-key FILE, --tls-insecure\n"
          "  --log-level LEVEL     debug, info, warning or error (default info)\n"
          "  --files-dir DIR       the module store: files uploaded by clients, named by\n"
          "                        their SHA-256 (default DB.files beside the database; a\n"
          "                        temporary directory for --db :memory:)\n"
          "  --file-max-size SIZE  largest file the store takes (default 64M)\n"
          "  --files-retention SEC how long a file no module uses is kept (default\n"
          "                        604800, 7 days)\n"
          "  --help                this text\n"
          "\n"
          "REST: GET /api/managers/, /api/runtimes/[Q/], /api/modules/[Q/], /api/queued/,\n"
          "/api/modules/Q/output, /api/files/[F/], /metrics, /healthz; POST /api/modules/,\n"
          "/api/files/?name=N (the file's bytes); DELETE /api/modules/Q/, /api/files/F/\n"
          "(Q: a UUID, a name or a UUID suffix; F: a SHA-256, a prefix or a name). See\n"
          "docs/orchestrator.md.\n",
          out);
}
