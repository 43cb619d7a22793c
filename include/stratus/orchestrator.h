/* The Stratus orchestrator (`stratus orchestrator`): its configuration, read
 * from a JSON file (the original Silverline keys) and the command line, and
 * the function that runs it until SIGINT or SIGTERM. docs/orchestrator.md
 * describes what it does. */
#ifndef STRATUS_ORCHESTRATOR_H
#define STRATUS_ORCHESTRATOR_H

#include <stdio.h>

/* Every string is owned by the configuration (orchestrator_config_clear). */
struct orchestrator_config {
    char *host; /* broker */
    int port;
    char *realm;
    char *db;        /* SQLite file, or ":memory:" */
    char *http_addr; /* REST API */
    int http_port;   /* 0: any free port (logged) */
    int keepalive;   /* seconds told to runtimes; 3 silent intervals end one */
    char *username, *password;
    int tls, tls_insecure;
    char *tls_ca, *tls_cert, *tls_key;
    int log_level;
    /* The module store: its directory (NULL: {db}.files beside the
     * database; a private temporary one for ":memory:"), the largest file
     * (bytes, default 64 MiB) and how long an unreferenced file is kept
     * (seconds, default 7 days). */
    char *files_dir;
    long long file_max_size;
    double files_retention;
    int help;
};

#define ORCHESTRATOR_ERR_LEN 256

/* Defaults: broker localhost:1883, realm "realm", db "stratus.db", HTTP
 * 127.0.0.1:8000, keepalive 5 s, log level info. */
void orchestrator_config_init(struct orchestrator_config *cfg);
void orchestrator_config_clear(struct orchestrator_config *cfg);

/* Apply a JSON configuration (len bytes): mqtt, mqtt_port, mqtt_username,
 * pwd, use_ssl, realm, http, http_port, db, keepalive, log_level, tls_ca,
 * tls_cert, tls_key, files_dir, file_max_size, files_retention. Returns 0 or -1 with err naming the
 * key. */
int orchestrator_config_apply_json(struct orchestrator_config *cfg, const char *text, size_t len,
                                   char err[ORCHESTRATOR_ERR_LEN]);

/* Parse `orchestrator` arguments (argv[0] = "orchestrator"): --config is
 * read first, flags override it. Returns 0, or -1 with err. */
int orchestrator_config_from_args(struct orchestrator_config *cfg, int argc, char **argv,
                                  char err[ORCHESTRATOR_ERR_LEN]);

void orchestrator_usage(FILE *out);

/* Run until SIGINT/SIGTERM; returns the process exit code. */
int orchestrator_run(const struct orchestrator_config *cfg);

#endif
