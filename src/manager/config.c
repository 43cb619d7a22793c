/* Configuration of `stratus manager` (see stratus/manager.h): defaults, the
 * JSON file with the original Silverline keys plus Stratus's own, and the
 * command-line flags, which override the file. Every error names the key or
 * flag at fault. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "net_address.h"
#include "size_parse.h"
#include "slog.h"
#include "stratus/envelope.h"
#include "stratus/manager.h"
#include "stratus/runtime_iface.h"

void manager_config_init(struct manager_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->port = 1883;
    cfg->log_level = SLOG_INFO;
    cfg->reg_timeout = 5.0;
    cfg->outbox_total = (size_t)4 << 20;
    cfg->outbox_per_module = (size_t)1 << 20;
    cfg->outbox_spill = 1;
    cfg->delete_timeout = 5.0;
    cfg->file_cache_size = (size_t)1 << 30;
    cfg->file_max_size = (size_t)64 << 20;
}

void manager_config_clear(struct manager_config *cfg)
{
    free(cfg->host);
    free(cfg->realm);
    free(cfg->name);
    free(cfg->uuid);
    for (size_t i = 0; i < cfg->nruntimes; i++) {
        free(cfg->runtimes[i].type);
        free(cfg->runtimes[i].name);
    }
    free(cfg->runtimes);
    for (size_t i = 0; i < cfg->ncommands; i++) {
        free(cfg->commands[i].type);
        free(cfg->commands[i].path);
    }
    free(cfg->commands);
    for (size_t i = 0; i < cfg->ntypes; i++) {
        struct manager_runtime_decl *d = &cfg->types[i];
        free(d->type);
        free(d->name);
        free(d->shortname);
        free(d->command);
        free(d->socket_dir);
        for (size_t k = 0; d->apis && d->apis[k]; k++)
            free(d->apis[k]);
        free(d->apis);
    }
    free(cfg->types);
    free(cfg->module_dir);
    free(cfg->state_dir);
    free(cfg->username);
    free(cfg->password);
    free(cfg->tls_ca);
    free(cfg->tls_cert);
    free(cfg->tls_key);
    manager_config_init(cfg);
}

static int set_string(char **field, const char *value)
{
    char *copy = strdup(value);
    if (!copy) return -1;
    free(*field);
    *field = copy;
    return 0;
}

/* The broker password from a file: its first line (a trailing newline is
 * not part of it). A file others may read is used with a warning. */
static int read_password_file(struct manager_config *cfg, const char *path, const char *what,
                              char *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, MANAGER_ERR_LEN, "%s %s: %s", what, path, strerror(errno));
        return -1;
    }
    char line[1024];
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
        slog(SLOG_WARNING, "mgr", "password file %s can be read by others (chmod 600 it)", path);
    if (!fgets(line, sizeof line, f)) line[0] = '\0';
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    if (!line[0]) {
        snprintf(err, MANAGER_ERR_LEN, "%s %s: the file holds no password", what, path);
        return -1;
    }
    int rc = set_string(&cfg->password, line);
    explicit_bzero(line, sizeof line);
    cfg->password_from_file = 1;
    return rc;
}

/* A size (size_parse) into a size_t. */
static int parse_size(const char *text, size_t *out)
{
    uint64_t v;
    if (size_parse(text, &v) < 0 || v > SIZE_MAX) return -1;
    *out = (size_t)v;
    return 0;
}

static int add_runtime(struct manager_config *cfg, const char *type, size_t type_len,
                       const char *name)
{
    struct manager_runtime_spec *r =
        realloc(cfg->runtimes, (cfg->nruntimes + 1) * sizeof *cfg->runtimes);
    if (!r) return -1;
    cfg->runtimes = r;
    struct manager_runtime_spec *s = &r[cfg->nruntimes];
    s->type = strndup(type, type_len);
    s->name = name ? strdup(name) : NULL;
    s->max_memory_mib = 0;
    if (!s->type || (name && !s->name)) {
        free(s->type);
        free(s->name);
        return -1;
    }
    cfg->nruntimes++;
    return 0;
}

/* "TYPE" or "TYPE:NAME" (type paths have no colon). */
static int add_runtime_text(struct manager_config *cfg, const char *text, char *err)
{
    const char *colon = strchr(text, ':');
    size_t type_len = colon ? (size_t)(colon - text) : strlen(text);
    if (type_len == 0 || (colon && !colon[1])) {
        snprintf(err, MANAGER_ERR_LEN, "runtime '%s': expected TYPE or TYPE:NAME", text);
        return -1;
    }
    return add_runtime(cfg, text, type_len, colon ? colon + 1 : NULL);
}

static int set_command(struct manager_config *cfg, const char *type, size_t type_len,
                       const char *path)
{
    for (size_t i = 0; i < cfg->ncommands; i++) {
        if (strlen(cfg->commands[i].type) == type_len &&
            !strncmp(cfg->commands[i].type, type, type_len))
            return set_string(&cfg->commands[i].path, path);
    }
    struct manager_runtime_command *c =
        realloc(cfg->commands, (cfg->ncommands + 1) * sizeof *cfg->commands);
    if (!c) return -1;
    cfg->commands = c;
    c[cfg->ncommands].type = strndup(type, type_len);
    c[cfg->ncommands].path = strdup(path);
    if (!c[cfg->ncommands].type || !c[cfg->ncommands].path) {
        free(c[cfg->ncommands].type);
        free(c[cfg->ncommands].path);
        return -1;
    }
    cfg->ncommands++;
    return 0;
}

static int parse_port(const char *text, int *port)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < 1 || v > 65535) return -1;
    *port = (int)v;
    return 0;
}

/* "HOST:PORT" or "HOST" (the port kept); the rule is net_address_parse's. */
static int set_mqtt(struct manager_config *cfg, const char *text, char *err)
{
    struct net_address a;
    char aerr[NET_ADDRESS_ERR_LEN];
    if (net_address_parse("--mqtt", text, cfg->port, 1, &a, aerr) < 0) {
        snprintf(err, MANAGER_ERR_LEN, "%s", aerr);
        return -1;
    }
    cfg->port = a.port;
    return set_string(&cfg->host, a.host);
}

static int want_string(json_t *v, const char *key, char **field, char *err)
{
    if (!json_is_string(v)) {
        snprintf(err, MANAGER_ERR_LEN, "config key '%s' must be a string, not %s", key,
                 json_kind_name(v));
        return -1;
    }
    return set_string(field, json_string_value(v));
}

static int apply_runtimes(struct manager_config *cfg, json_t *v, char *err)
{
    if (!json_is_array(v)) {
        snprintf(err, MANAGER_ERR_LEN, "config key 'runtimes' must be an array");
        return -1;
    }
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        if (json_is_string(item)) {
            if (add_runtime_text(cfg, json_string_value(item), err) < 0) return -1;
            continue;
        }
        json_t *type = json_object_get(item, "type");
        json_t *name = json_object_get(item, "name");
        json_t *mem = json_object_get(item, "max_memory");
        if (!json_is_object(item) || !json_is_string(type) || json_string_length(type) == 0 ||
            (name && !json_is_string(name)) ||
            (mem && (!json_is_integer(mem) || json_integer_value(mem) < 1 ||
                     json_integer_value(mem) > 4096))) {
            snprintf(err, MANAGER_ERR_LEN,
                     "config key 'runtimes' item %zu: expected \"TYPE[:NAME]\" or "
                     "{\"type\": string, \"name\": string, \"max_memory\": MiB 1..4096}",
                     i);
            return -1;
        }
        if (add_runtime(cfg, json_string_value(type), json_string_length(type),
                        name ? json_string_value(name) : NULL) < 0)
            return -1;
        if (mem)
            cfg->runtimes[cfg->nruntimes - 1].max_memory_mib = (uint32_t)json_integer_value(mem);
    }
    return 0;
}

/* An optional string member of a runtime_types entry. */
static int decl_string(json_t *entry, size_t i, const char *key, char **out, char *err)
{
    json_t *v = json_object_get(entry, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v) || !json_string_length(v)) {
        snprintf(err, MANAGER_ERR_LEN,
                 "config key 'runtime_types' item %zu: '%s' must be a non-empty string", i, key);
        return -1;
    }
    free(*out);
    *out = strdup(json_string_value(v));
    return *out ? 0 : -1;
}

/* One of two words (0 or 1), left as it is when absent. */
static int decl_choice(json_t *entry, size_t i, const char *key, const char *zero, const char *one,
                       int *out, char *err)
{
    json_t *v = json_object_get(entry, key);
    if (!v || json_is_null(v)) return 0;
    const char *s = json_string_value(v);
    if (s && (!strcmp(s, zero) || !strcmp(s, one))) {
        *out = !strcmp(s, one);
        return 0;
    }
    snprintf(err, MANAGER_ERR_LEN,
             "config key 'runtime_types' item %zu: '%s' must be \"%s\" or \"%s\"", i, key, zero,
             one);
    return -1;
}

static int decl_apis(json_t *entry, size_t i, struct manager_runtime_decl *d, char *err)
{
    json_t *apis = json_object_get(entry, "apis");
    if (apis && !json_is_array(apis)) goto bad;
    size_t n = apis ? json_array_size(apis) : 0;
    if (!(d->apis = calloc(n + 1, sizeof *d->apis))) return -1;
    for (size_t k = 0; k < n; k++) {
        const char *a = json_string_value(json_array_get(apis, k));
        if (!a) goto bad;
        if (!(d->apis[k] = strdup(a))) return -1;
    }
    return 0;
bad:
    snprintf(err, MANAGER_ERR_LEN,
             "config key 'runtime_types' item %zu: 'apis' must be an array of strings", i);
    return -1;
}

/* runtime_types: [{type, command, apis, max_nmodules, header, launch, name,
 * shortname, socket_dir}]; checked further when declared (runtime_iface.h). */
static int apply_runtime_types(struct manager_config *cfg, json_t *v, char *err)
{
    if (!json_is_array(v)) {
        snprintf(err, MANAGER_ERR_LEN, "config key 'runtime_types' must be an array");
        return -1;
    }
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        struct manager_runtime_decl *t = realloc(cfg->types, (cfg->ntypes + 1) * sizeof *t);
        if (!t) return -1;
        cfg->types = t;
        struct manager_runtime_decl *d = &t[cfg->ntypes++];
        memset(d, 0, sizeof *d);
        d->max_nmodules = 1;
        if (!json_is_object(e)) {
            snprintf(err, MANAGER_ERR_LEN, "config key 'runtime_types' item %zu must be an object",
                     i);
            return -1;
        }
        if (decl_string(e, i, "type", &d->type, err) ||
            decl_string(e, i, "command", &d->command, err) ||
            decl_string(e, i, "name", &d->name, err) ||
            decl_string(e, i, "shortname", &d->shortname, err) ||
            decl_string(e, i, "socket_dir", &d->socket_dir, err) ||
            decl_choice(e, i, "header", "seed", "legacy", &d->legacy_header, err) ||
            decl_choice(e, i, "launch", "stratus", "original", &d->original_launch, err) ||
            decl_apis(e, i, d, err))
            return -1;
        if (!d->type || !d->command) {
            snprintf(err, MANAGER_ERR_LEN,
                     "config key 'runtime_types' item %zu needs \"type\" and \"command\"", i);
            return -1;
        }
        json_t *n = json_object_get(e, "max_nmodules");
        if (n &&
            (!json_is_integer(n) || json_integer_value(n) < 1 || json_integer_value(n) > 128)) {
            snprintf(err, MANAGER_ERR_LEN,
                     "config key 'runtime_types' item %zu: 'max_nmodules' must be 1..128", i);
            return -1;
        }
        if (n) d->max_nmodules = (int)json_integer_value(n);
    }
    return 0;
}

int manager_config_apply_json(struct manager_config *cfg, const char *text, size_t len,
                              char err[MANAGER_ERR_LEN])
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, MANAGER_ERR_LEN, "config is not valid JSON: line %d: %s", jerr.line,
                 jerr.text);
        return -1;
    }
    int rc = -1;
    if (!json_is_object(root)) {
        snprintf(err, MANAGER_ERR_LEN, "config must be a JSON object");
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        int r = 0;
        if (!strcmp(key, "mqtt")) {
            r = want_string(v, key, &cfg->host, err);
        } else if (!strcmp(key, "mqtt_port")) {
            if (json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= 65535)
                cfg->port = (int)json_integer_value(v);
            else if (!json_is_string(v) || parse_port(json_string_value(v), &cfg->port) < 0) {
                snprintf(err, MANAGER_ERR_LEN, "config key 'mqtt_port' must be a port number");
                r = -1;
            }
        } else if (!strcmp(key, "mqtt_username")) {
            r = json_is_null(v) ? 0 : want_string(v, key, &cfg->username, err);
        } else if (!strcmp(key, "pwd")) {
            r = json_is_null(v) ? 0 : want_string(v, key, &cfg->password, err);
        } else if (!strcmp(key, "pwd_file")) {
            const char *path = json_string_value(v);
            if (!path) {
                snprintf(err, MANAGER_ERR_LEN, "config key 'pwd_file' must be a string");
                r = -1;
            } else {
                r = read_password_file(cfg, path, "config key 'pwd_file'", err);
            }
        } else if (!strcmp(key, "outbox_total") || !strcmp(key, "outbox_per_module") ||
                   !strcmp(key, "file_cache_size") || !strcmp(key, "file_max_size")) {
            size_t *field = !strcmp(key, "outbox_total")        ? &cfg->outbox_total
                            : !strcmp(key, "outbox_per_module") ? &cfg->outbox_per_module
                            : !strcmp(key, "file_cache_size")   ? &cfg->file_cache_size
                                                                : &cfg->file_max_size;
            if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) > ((json_int_t)1 << 40)) {
                snprintf(err, MANAGER_ERR_LEN, "config key '%s' must be a number of bytes", key);
                r = -1;
            } else {
                *field = (size_t)json_integer_value(v);
            }
        } else if (!strcmp(key, "outbox_spill")) {
            if (!json_is_boolean(v)) {
                snprintf(err, MANAGER_ERR_LEN, "config key 'outbox_spill' must be a boolean");
                r = -1;
            } else {
                cfg->outbox_spill = json_is_true(v);
            }
        } else if (!strcmp(key, "use_ssl")) {
            if (!json_is_boolean(v)) {
                snprintf(err, MANAGER_ERR_LEN, "config key 'use_ssl' must be a boolean");
                r = -1;
            } else {
                cfg->tls = json_is_true(v);
            }
        } else if (!strcmp(key, "realm")) {
            r = want_string(v, key, &cfg->realm, err);
        } else if (!strcmp(key, "name")) {
            r = want_string(v, key, &cfg->name, err);
        } else if (!strcmp(key, "uuid")) {
            r = want_string(v, key, &cfg->uuid, err);
        } else if (!strcmp(key, "module_dir")) {
            r = want_string(v, key, &cfg->module_dir, err);
        } else if (!strcmp(key, "state_dir")) {
            r = want_string(v, key, &cfg->state_dir, err);
        } else if (!strcmp(key, "runtimes")) {
            r = apply_runtimes(cfg, v, err);
        } else if (!strcmp(key, "runtime_types")) {
            r = apply_runtime_types(cfg, v, err);
        } else if (!strcmp(key, "delete_timeout")) {
            if (!json_is_number(v) || !(json_number_value(v) > 0) || json_number_value(v) > 3600) {
                snprintf(err, MANAGER_ERR_LEN,
                         "config key 'delete_timeout' must be seconds (0-3600]");
                r = -1;
            } else {
                cfg->delete_timeout = json_number_value(v);
            }
        } else if (!strcmp(key, "runtime_commands")) {
            const char *type;
            json_t *path;
            if (!json_is_object(v)) {
                snprintf(err, MANAGER_ERR_LEN, "config key 'runtime_commands' must be an object");
                r = -1;
            } else {
                json_object_foreach(v, type, path)
                {
                    if (!json_is_string(path)) {
                        snprintf(err, MANAGER_ERR_LEN,
                                 "config key 'runtime_commands.%.64s' must be a string", type);
                        r = -1;
                        break;
                    }
                    if (set_command(cfg, type, strlen(type), json_string_value(path)) < 0) {
                        r = -1;
                        snprintf(err, MANAGER_ERR_LEN, "out of memory");
                        break;
                    }
                }
            }
        } else if (!strcmp(key, "log_level")) {
            if (!json_is_string(v) || slog_level_parse(json_string_value(v), &cfg->log_level)) {
                snprintf(err, MANAGER_ERR_LEN,
                         "config key 'log_level' must be debug, info, warning or error");
                r = -1;
            }
        } else if (!strcmp(key, "http") || !strcmp(key, "http_port")) {
            /* The orchestrator's; accepted so one file serves both. */
        } else {
            slog(SLOG_WARNING, "mgr", "config key '%.64s' is unknown; ignored", key);
        }
        if (r < 0) goto out;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

static int load_file(struct manager_config *cfg, const char *path, char *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, MANAGER_ERR_LEN, "--config %s: %s", path, strerror(errno));
        return -1;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            if (cap > (1u << 24)) {
                snprintf(err, MANAGER_ERR_LEN, "--config %s: file too large", path);
                free(text);
                fclose(f);
                return -1;
            }
            char *t = realloc(text, cap);
            if (!t) {
                free(text);
                fclose(f);
                return -1;
            }
            text = t;
        }
        size_t n = fread(text + len, 1, cap - len, f);
        len += n;
        if (n == 0) break;
    }
    fclose(f);
    char inner[MANAGER_ERR_LEN];
    int rc = manager_config_apply_json(cfg, text, len, inner);
    if (rc < 0) snprintf(err, MANAGER_ERR_LEN, "%s: %s", path, inner);
    free(text);
    return rc;
}

/* The flags that take a value, for both passes over argv. */
static const char *const valued[] = {
    "--mqtt",
    "--realm",
    "--name",
    "--uuid",
    "--runtime",
    "--runtime-command",
    "--module-dir",
    "--config",
    "--username",
    "--password",
    "--tls-ca",
    "--tls-cert",
    "--tls-key",
    "--log-level",
    "--reg-timeout",
    "--state-dir",
    "--password-file",
    "--outbox-total",
    "--outbox-per-module",
    "--delete-timeout",
    "--file-cache-size",
    "--file-max-size",
};

static int takes_value(const char *flag, size_t len)
{
    for (size_t i = 0; i < sizeof valued / sizeof valued[0]; i++)
        if (strlen(valued[i]) == len && !strncmp(valued[i], flag, len)) return 1;
    return 0;
}

/* Split argv[*i] into flag and value ("--x=v" or "--x v"). */
static int next_flag(int argc, char **argv, int *i, char *flag, size_t flag_cap, const char **value,
                     char *err)
{
    const char *arg = argv[*i];
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    if (len >= flag_cap) len = flag_cap - 1;
    memcpy(flag, arg, len);
    flag[len] = '\0';
    *value = NULL;
    if (takes_value(flag, len)) {
        if (eq) {
            *value = eq + 1;
        } else if (*i + 1 < argc) {
            *value = argv[++*i];
        } else {
            snprintf(err, MANAGER_ERR_LEN, "%s needs a value", flag);
            return -1;
        }
    } else if (eq) {
        snprintf(err, MANAGER_ERR_LEN, "%s takes no value", flag);
        return -1;
    }
    return 0;
}

int manager_config_from_args(struct manager_config *cfg, int argc, char **argv,
                             char err[MANAGER_ERR_LEN])
{
    char flag[64];
    const char *value;
    /* First pass: the file, so that flags override it whatever the order. */
    for (int i = 1; i < argc; i++) {
        if (next_flag(argc, argv, &i, flag, sizeof flag, &value, err) < 0) return -1;
        if (!strcmp(flag, "--config") && load_file(cfg, value, err) < 0) return -1;
        if (!strcmp(flag, "--help") || !strcmp(flag, "-h")) {
            cfg->help = 1;
            return 0;
        }
    }
    for (int i = 1; i < argc; i++) {
        if (next_flag(argc, argv, &i, flag, sizeof flag, &value, err) < 0) return -1;
        int r = 0;
        if (!strcmp(flag, "--config")) {
            /* read above */
        } else if (!strcmp(flag, "--mqtt")) {
            r = set_mqtt(cfg, value, err);
        } else if (!strcmp(flag, "--realm")) {
            r = set_string(&cfg->realm, value);
        } else if (!strcmp(flag, "--name")) {
            r = set_string(&cfg->name, value);
        } else if (!strcmp(flag, "--uuid")) {
            r = set_string(&cfg->uuid, value);
        } else if (!strcmp(flag, "--runtime")) {
            r = add_runtime_text(cfg, value, err);
        } else if (!strcmp(flag, "--runtime-command")) {
            const char *eq = strchr(value, '=');
            if (!eq || eq == value || !eq[1]) {
                snprintf(err, MANAGER_ERR_LEN, "--runtime-command '%s': expected TYPE=PATH", value);
                return -1;
            }
            r = set_command(cfg, value, (size_t)(eq - value), eq + 1);
        } else if (!strcmp(flag, "--module-dir")) {
            r = set_string(&cfg->module_dir, value);
        } else if (!strcmp(flag, "--state-dir")) {
            r = set_string(&cfg->state_dir, value);
        } else if (!strcmp(flag, "--username")) {
            r = set_string(&cfg->username, value);
        } else if (!strcmp(flag, "--password")) {
            if (!cfg->password_from_file) r = set_string(&cfg->password, value);
        } else if (!strcmp(flag, "--password-file")) {
            r = read_password_file(cfg, value, "--password-file", err);
        } else if (!strcmp(flag, "--outbox-total") || !strcmp(flag, "--outbox-per-module")) {
            if (parse_size(value, !strcmp(flag, "--outbox-total") ? &cfg->outbox_total
                                                                  : &cfg->outbox_per_module) < 0) {
                snprintf(err, MANAGER_ERR_LEN, "%s '%s': expected bytes (K, M, G suffixes)", flag,
                         value);
                return -1;
            }
        } else if (!strcmp(flag, "--file-cache-size") || !strcmp(flag, "--file-max-size")) {
            if (parse_size(value, !strcmp(flag, "--file-cache-size") ? &cfg->file_cache_size
                                                                     : &cfg->file_max_size) < 0 ||
                !(!strcmp(flag, "--file-cache-size") ? cfg->file_cache_size : cfg->file_max_size)) {
                snprintf(err, MANAGER_ERR_LEN, "%s '%s': expected bytes >= 1 (K, M, G suffixes)",
                         flag, value);
                return -1;
            }
        } else if (!strcmp(flag, "--no-outbox-spill")) {
            cfg->outbox_spill = 0;
        } else if (!strcmp(flag, "--no-outbox")) {
            cfg->no_outbox = 1;
        } else if (!strcmp(flag, "--tls")) {
            cfg->tls = 1;
        } else if (!strcmp(flag, "--tls-insecure")) {
            cfg->tls = 1;
            cfg->tls_insecure = 1;
        } else if (!strcmp(flag, "--tls-ca")) {
            cfg->tls = 1;
            r = set_string(&cfg->tls_ca, value);
        } else if (!strcmp(flag, "--tls-cert")) {
            cfg->tls = 1;
            r = set_string(&cfg->tls_cert, value);
        } else if (!strcmp(flag, "--tls-key")) {
            cfg->tls = 1;
            r = set_string(&cfg->tls_key, value);
        } else if (!strcmp(flag, "--log-level")) {
            if (slog_level_parse(value, &cfg->log_level) < 0) {
                snprintf(err, MANAGER_ERR_LEN,
                         "--log-level '%s': expected debug, info, warning or error", value);
                return -1;
            }
        } else if (!strcmp(flag, "--reg-timeout")) {
            char *end;
            double d = strtod(value, &end);
            if (end == value || *end || !(d > 0 && d <= 3600)) {
                snprintf(err, MANAGER_ERR_LEN, "--reg-timeout '%s': expected seconds (0-3600]",
                         value);
                return -1;
            }
            cfg->reg_timeout = d;
        } else if (!strcmp(flag, "--delete-timeout")) {
            char *end;
            double d = strtod(value, &end);
            if (end == value || *end || !(d > 0 && d <= 3600)) {
                snprintf(err, MANAGER_ERR_LEN, "--delete-timeout '%s': expected seconds (0-3600]",
                         value);
                return -1;
            }
            cfg->delete_timeout = d;
        } else {
            snprintf(err, MANAGER_ERR_LEN, "unknown option '%s' (see --help)", argv[i]);
            return -1;
        }
        if (r < 0) {
            if (!*err) snprintf(err, MANAGER_ERR_LEN, "out of memory");
            return -1;
        }
    }
    const char *env_password = getenv("STRATUS_MQTT_PASSWORD");
    if (!cfg->password_from_file && env_password && *env_password &&
        set_string(&cfg->password, env_password) < 0) {
        snprintf(err, MANAGER_ERR_LEN, "out of memory");
        return -1;
    }
    return 0;
}

void manager_usage(FILE *out)
{
    fputs(
        "usage: stratus manager --mqtt HOST:PORT --realm R --name N [--uuid UUID]\n"
        "                       --runtime TYPE[:NAME] ... [options]\n"
        "\n"
        "Runs a node manager: connects to the MQTT broker, registers itself and its\n"
        "runtimes with the orchestrator, and serves module requests sent to them.\n"
        "\n"
        "  --mqtt HOST:PORT          broker address (default localhost:1883)\n"
        "  --realm R                 topic prefix (default \"realm\")\n"
        "  --name N                  manager name (default \"manager\")\n"
        "  --uuid UUID               manager UUID (default: the one kept in the state\n"
        "                            directory, made at the first start)\n"
        "  --state-dir DIR           where the node keeps its identity (the manager's and\n"
        "                            runtimes' UUIDs, so a restart registers the same\n"
        "                            ones); default $STRATUS_STATE_DIR, else\n"
        "                            $XDG_STATE_HOME/stratus, else ~/.local/state/stratus\n"
        "  --runtime TYPE[:NAME]     host a runtime of TYPE (repeatable)\n"
        "  --runtime-command TYPE=PATH  program of a socket-backed runtime type\n"
        "  --module-dir DIR          where module files live (told to runtimes)\n"
        "  --config FILE             JSON configuration; flags override it. Keys: mqtt,\n"
        "                            mqtt_port, mqtt_username, pwd, use_ssl, realm, name,\n"
        "                            uuid, runtimes, runtime_commands, module_dir,\n"
        "                            state_dir, log_level, pwd_file, outbox_total,\n"
        "                            outbox_per_module, outbox_spill, delete_timeout,\n"
        "                            file_cache_size, file_max_size,\n"
        "                            runtime_types (runtime types of your own, e.g. an\n"
        "                            original Silverline runtime: [{\"type\", \"command\",\n"
        "                            \"apis\", \"max_nmodules\", \"header\": \"seed\"|\"legacy\",\n"
        "                            \"launch\": \"stratus\"|\"original\", \"socket_dir\"}];\n"
        "                            see docs/compatibility.md)\n"
        "                            (http, http_port are accepted and ignored)\n"
        "  --username U              broker user name\n"
        "  --password-file FILE      broker password: the first line of FILE (the\n"
        "                            environment variable STRATUS_MQTT_PASSWORD works\n"
        "                            too; --password P is visible to every local user)\n"
        "  --outbox-total SIZE       module output kept while the broker is unreachable,\n"
        "                            in all (default 4M; control messages are always\n"
        "                            kept)\n"
        "  --outbox-per-module SIZE  the same per module (default 1M)\n"
        "  --file-cache-size SIZE    bound of the node's cache of module files named by\n"
        "                            content, in the state directory (default 1G; least\n"
        "                            recently used files go first, never one in use)\n"
        "  --file-max-size SIZE      largest module file the node fetches (default 64M)\n"
        "  --no-outbox-spill         do not keep unsent control messages in the state\n"
        "                            directory when the manager stops\n"
        "  --no-outbox               publish at once or drop, keeping nothing across an\n"
        "                            outage (loses exits; for measurements only)\n"
        "  --tls                     connect with TLS (system CAs unless --tls-ca)\n"
        "  --tls-ca FILE, --tls-cert FILE, --tls-key FILE, --tls-insecure\n"
        "  --log-level LEVEL         debug, info, warning or error (default info)\n"
        "  --reg-timeout SEC         retry an unanswered registration after SEC\n"
        "                            seconds, then with backoff (default 5)\n"
        "  --delete-timeout SEC      a deleted module whose runtime reports no exit\n"
        "                            within SEC seconds is reported killed (default 5)\n"
        "  --help                    this text\n"
        "\n"
        "Runtime types:\n",
        out);
    const struct runtime_type *t;
    for (size_t i = 0; (t = runtime_type_at(i)); i++) {
        fprintf(out, "  %-18s max_nmodules %d, apis [", t->type, t->max_nmodules);
        for (const char *const *a = t->apis; a && *a; a++)
            fprintf(out, "%s%s", a == t->apis ? "" : ", ", *a);
        fprintf(out, "]%s%s\n",
                t->ops == &runtime_socket_ops && !t->default_command ? ", needs --runtime-command"
                                                                     : "",
                t->test_only ? " (Stratus's tests only)" : "");
    }
}
