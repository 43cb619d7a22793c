/* The Stratus node manager (`stratus manager`): its configuration, read from
 * a JSON file and the command line, and the function that runs it until
 * SIGINT or SIGTERM. See PROTOCOL.md for what it speaks and ARCHITECTURE.md
 * for how it is built. */
#ifndef STRATUS_MANAGER_H
#define STRATUS_MANAGER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct manager_runtime_spec {
    char *type;              /* runtime type path, e.g. "test/reg" */
    char *name;              /* NULL: the type's default name */
    uint32_t max_memory_mib; /* modules' memory cap; 0: the runtime type's default */
};

struct manager_runtime_command {
    char *type;
    char *path; /* program of a socket-backed type */
};

/* Every string is owned by the configuration (manager_config_clear). */
struct manager_config {
    char *host;
    int port;
    char *realm;
    char *name;
    char *uuid;      /* NULL: the one kept in the state directory */
    char *state_dir; /* NULL: the default (see manager_usage) */
    struct manager_runtime_spec *runtimes;
    size_t nruntimes;
    struct manager_runtime_command *commands;
    size_t ncommands;
    char *module_dir;
    char *username, *password;
    int tls, tls_insecure;
    char *tls_ca, *tls_cert, *tls_key;
    int log_level;      /* mlog level: 10 debug .. 40 error */
    double reg_timeout; /* seconds before a registration is retried */
    int help;           /* --help was given */
};

#define MANAGER_ERR_LEN 256

/* Defaults: localhost:1883, realm "realm", name "manager", info, 5 s. */
void manager_config_init(struct manager_config *cfg);
void manager_config_clear(struct manager_config *cfg);

/* Apply a JSON configuration (text of len bytes) on top of cfg: the keys
 * mqtt, mqtt_port, mqtt_username, pwd, use_ssl, realm (http, http_port
 * accepted and ignored), name, uuid, runtimes ([{"type","name"}] or
 * "TYPE[:NAME]" strings), runtime_commands ({"TYPE": "PATH"}), module_dir,
 * state_dir, log_level. Returns 0, or -1 with a message naming the key in err. */
int manager_config_apply_json(struct manager_config *cfg, const char *text, size_t len,
                              char err[MANAGER_ERR_LEN]);

/* Parse `manager` arguments (argv[0] = "manager"): --config FILE is read
 * first, then the other flags override it. Returns 0, or -1 with err. */
int manager_config_from_args(struct manager_config *cfg, int argc, char **argv,
                             char err[MANAGER_ERR_LEN]);

/* Usage text for --help. */
void manager_usage(FILE *out);

/* Run the manager until SIGINT/SIGTERM. Returns the process exit code:
 * 0 after a clean shutdown, non-zero if it could not start. */
int manager_run(const struct manager_config *cfg);

#endif
