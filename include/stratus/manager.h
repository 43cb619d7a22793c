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

/* A runtime type declared in the configuration (key runtime_types). */
struct manager_runtime_decl {
    char *type, *name, *shortname, *command, *socket_dir; /* name..socket_dir may be NULL */
    char **apis;                                          /* NULL-terminated */
    int max_nmodules;
    int legacy_header;   /* "header": "legacy" (6-byte) rather than "seed" (4-byte) */
    int original_launch; /* "launch": "original" (`COMMAND INDEX`) rather than "stratus" */
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
    struct manager_runtime_decl *types;
    size_t ntypes;
    double delete_timeout; /* seconds a delete may go without an exit (default 5) */
    char *module_dir;
    char *username, *password;
    int password_from_file; /* set by --password-file / pwd_file: wins */
    int tls, tls_insecure;
    char *tls_ca, *tls_cert, *tls_key;
    int log_level;      /* mlog level: 10 debug .. 40 error */
    double reg_timeout; /* seconds before a registration is retried */
    /* The outbox (kept while the broker is unreachable): bytes of module
     * output in all and per module; spill control messages to the state
     * directory at shutdown (default on). */
    size_t outbox_total, outbox_per_module;
    int outbox_spill;
    /* Module files named by content: the node's file cache in the state
     * directory (bytes; default 1 GiB) and the largest file it fetches
     * (default 64 MiB). */
    size_t file_cache_size, file_max_size;
    int no_outbox; /* --no-outbox: publish now or drop (the benchmark's reference) */
    int help;      /* --help was given */
};

#define MANAGER_ERR_LEN 256

/* Defaults: localhost:1883, realm "realm", name "manager", info, 5 s, an
 * outbox of 4 MiB (1 MiB per module) with spilling. */
void manager_config_init(struct manager_config *cfg);
void manager_config_clear(struct manager_config *cfg);

/* Apply a JSON configuration (text of len bytes) on top of cfg: the keys
 * mqtt, mqtt_port, mqtt_username, pwd, use_ssl, realm (http, http_port
 * accepted and ignored), name, uuid, runtimes ([{"type","name"}] or
 * "TYPE[:NAME]" strings), runtime_commands ({"TYPE": "PATH"}), runtime_types
 * ([{"type", "command", "apis", "max_nmodules", "header": "seed"|"legacy",
 * "launch": "stratus"|"original", "name", "shortname", "socket_dir"}]),
 * module_dir, state_dir, log_level, delete_timeout, file_cache_size,
 * file_max_size. Returns 0, or -1 with a
 * message naming the key in err. */
int manager_config_apply_json(struct manager_config *cfg, const char *text, size_t len,
                              char err[MANAGER_ERR_LEN]);

/* Parse `manager` arguments (argv[0] = "manager"): --config FILE is read
 * first, then the other flags override it. The broker password comes from
 * --password-file (or the key pwd_file), else $STRATUS_MQTT_PASSWORD, else
 * --password / pwd. Returns 0, or -1 with err. */
int manager_config_from_args(struct manager_config *cfg, int argc, char **argv,
                             char err[MANAGER_ERR_LEN]);

/* Usage text for --help. */
void manager_usage(FILE *out);

/* Run the manager until SIGINT/SIGTERM. Returns the process exit code:
 * 0 after a clean shutdown, non-zero if it could not start. */
int manager_run(const struct manager_config *cfg);

#endif
