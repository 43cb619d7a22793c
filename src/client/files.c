/* `stratus files [ls|put|rm]`: the orchestrator's module store, and the
 * upload that `stratus run` does for a file that exists on this machine
 * (client_file_upload): the file is hashed here (or its hash remembered,
 * file_hash_memo.h, when it has not changed) and sent only when the store
 * lacks that SHA-256. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "file_hash_memo.h"
#include "http_client.h"
#include "stratus/sha256.h"
#include "table.h"

/* Read a whole regular file (at most 4 GiB); *st as it was opened. */
static int read_whole(const char *path, uint8_t **out, size_t *len, struct stat *st, char *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || st->st_size > (4ll << 30)) {
        snprintf(err, CLIENT_ERR_LEN, "%s: %s", path,
                 fd < 0 || errno ? strerror(errno) : "not a regular file of at most 4 GiB");
        if (fd >= 0) close(fd);
        return -1;
    }
    size_t size = (size_t)st->st_size;
    uint8_t *buf = malloc(size ? size : 1);
    size_t got = 0;
    while (buf && got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    if (!buf || got < size) {
        snprintf(err, CLIENT_ERR_LEN, "%s: %s", path, buf ? "cannot read it whole" : "no memory");
        free(buf);
        return -1;
    }
    *out = buf;
    *len = size;
    return 0;
}

int client_file_upload(const struct client_target *t, const char *path, char hex[65],
                       uint64_t *size, int *uploaded, char err[CLIENT_ERR_LEN])
{
    *uploaded = 0;
    char route[200];
    json_t *info = NULL;
    int status = 0;
    /* A file sent before and not changed since: its hash from memory, and
     * nothing to read when the store still has it. */
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && file_hash_memo_get(path, &st, hex)) {
        snprintf(route, sizeof route, "/api/files/%s/", hex);
        int rc = client_rest_get(t, route, &info, &status, err);
        json_decref(info);
        if (rc == 0) {
            *size = (uint64_t)st.st_size;
            return 0;
        }
        if (status != 404) return -1;
    }
    uint8_t *bytes;
    size_t len;
    if (read_whole(path, &bytes, &len, &st, err) < 0) return -1;
    uint8_t digest[SHA256_DIGEST_LEN];
    sha256(bytes, len, digest);
    sha256_hex(digest, hex);
    *size = len;
    file_hash_memo_put(path, &st, hex);
    snprintf(route, sizeof route, "/api/files/%s/", hex);
    info = NULL;
    status = 0;
    int rc = client_rest_get(t, route, &info, &status, err);
    json_decref(info);
    if (rc < 0 && status == 404) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        char seg[768], post[900];
        if (http_path_segment_encode(base, seg, sizeof seg) < 0) seg[0] = '\0';
        snprintf(post, sizeof post, "/api/files/%s%s", seg[0] ? "?name=" : "", seg);
        rc = client_rest_send(t, "POST", post, bytes, len, &info, &status, err);
        json_decref(info);
        *uploaded = rc == 0;
        if (rc < 0) {
            char inner[CLIENT_ERR_LEN];
            snprintf(inner, sizeof inner, "%s", err);
            snprintf(err, CLIENT_ERR_LEN, "%s: %s", path, inner);
        }
    }
    free(bytes);
    return rc;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: stratus files [options] [ls]\n"
            "       stratus files [options] put FILE...\n"
            "       stratus files [options] rm FILE...\n"
            "\n"
            "The orchestrator's module store: the module files `stratus run FILE` uploads\n"
            "(named by the SHA-256 of their bytes) for nodes to fetch. `ls` lists them\n"
            "(the default), `put` stores local files (sent only when the store lacks\n"
            "them), `rm` removes files named by SHA-256, a prefix of it (8 digits or more)\n"
            "or name; a file a module still uses is not removed. Files no module uses\n"
            "are removed after the orchestrator's --files-retention.\n"
            "\n"
            "  --json                ls: print the list as JSON\n"
            "%s",
            client_common_help);
}

static void format_time(double when, char *buf, size_t cap)
{
    time_t t = (time_t)when;
    struct tm tm;
    if (when <= 0 || !localtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf(buf, cap, "-");
}

static int list_files(const struct client_target *t, int as_json)
{
    json_t *all;
    char err[CLIENT_ERR_LEN];
    if (client_rest_list(t, "/api/files/", &all, err) < 0) {
        fprintf(stderr, "stratus files: %s\n", err);
        return 1;
    }
    if (as_json) {
        char *text = json_dumps(all, JSON_INDENT(2));
        if (text) puts(text);
        free(text);
        json_decref(all);
        return 0;
    }
    static const char *const heads[] = {"SHA256", "NAME",   "SIZE", "UPLOADED",
                                        "USED",   "IN USE", NULL};
    struct table tb;
    table_init(&tb, heads);
    size_t i;
    json_t *f;
    json_array_foreach(all, i, f)
    {
        char hash[17], size[32], up[32], used[32];
        snprintf(hash, sizeof hash, "%.16s", client_json_str(f, "sha256"));
        snprintf(size, sizeof size, "%lld",
                 (long long)json_integer_value(json_object_get(f, "size")));
        format_time(json_number_value(json_object_get(f, "uploaded_at")), up, sizeof up);
        format_time(json_number_value(json_object_get(f, "used_at")), used, sizeof used);
        const char *row[] = {hash, client_json_str(f, "name"),
                             size, up,
                             used, json_is_true(json_object_get(f, "in_use")) ? "yes" : "no"};
        table_add(&tb, row);
    }
    if (json_array_size(all) == 0)
        printf("no files in the module store\n");
    else
        table_print(&tb, stdout, table_terminal_width(stdout));
    table_clear(&tb);
    json_decref(all);
    return 0;
}

static int put_files(const struct client_target *t, int n, char **paths)
{
    int failed = 0;
    for (int i = 0; i < n; i++) {
        char hex[65], err[CLIENT_ERR_LEN];
        uint64_t size;
        int uploaded;
        if (client_file_upload(t, paths[i], hex, &size, &uploaded, err) < 0) {
            fprintf(stderr, "stratus files: %s\n", err);
            failed = 1;
            continue;
        }
        printf("%s %s (%llu bytes%s)\n", hex, paths[i], (unsigned long long)size,
               uploaded ? "" : ", already stored");
    }
    return failed;
}

static int remove_files(const struct client_target *t, int n, char **names)
{
    int failed = 0;
    for (int i = 0; i < n; i++) {
        char seg[768], path[900], err[CLIENT_ERR_LEN];
        if (!*names[i] || http_path_segment_encode(names[i], seg, sizeof seg) < 0) {
            fprintf(stderr, "stratus files: '%.100s' is not a file name\n", names[i]);
            failed = 1;
            continue;
        }
        snprintf(path, sizeof path, "/api/files/%s/", seg);
        json_t *info;
        if (client_rest_send(t, "DELETE", path, NULL, 0, &info, NULL, err) < 0) {
            fprintf(stderr, "stratus files: %s\n", err);
            failed = 1;
            continue;
        }
        printf("removed %s (%s)\n", client_json_str(info, "sha256"), client_json_str(info, "name"));
        json_decref(info);
    }
    return failed;
}

int client_files_main(int argc, char **argv)
{
    enum { OPT_JSON = 1 };
    static const struct option longopts[] = {{"json", no_argument, NULL, OPT_JSON},
                                             {"help", no_argument, NULL, 'h'},
                                             CLIENT_COMMON_OPTIONS,
                                             {NULL, 0, NULL, 0}};
    struct client_target t;
    client_target_init(&t);
    struct client_getopt g = {"files", "h", longopts, usage, &t, 0, 0};
    int c, as_json = 0;
    while ((c = client_getopt(&g, argc, argv)) != -1) {
        if (c == CLIENT_GETOPT_EXIT) return g.status;
        if (c == OPT_JSON) as_json = 1;
    }
    const char *verb = optind < argc ? argv[optind++] : "ls";
    client_target_resolve(&t);
    if (!strcmp(verb, "ls") && optind == argc) return list_files(&t, as_json);
    if (!strcmp(verb, "put") && optind < argc) return put_files(&t, argc - optind, argv + optind);
    if (!strcmp(verb, "rm") && optind < argc) return remove_files(&t, argc - optind, argv + optind);
    usage(stderr);
    return 2;
}
