/* Test program: every file operation a C program uses, in the preopened
 * directory /sandbox (the runner provides data.txt holding "hello file\n").
 * Each step prints its outcome, so the expected output pins all of them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

#define CHECK(what, expr) printf("%-28s %s\n", what, (expr) ? "ok" : strerror(errno))

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        printf("opendir %s: %s\n", dir, strerror(errno));
        return;
    }
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64)
        names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp);
    printf("ls %s:", dir);
    for (int i = 0; i < n; i++) {
        struct stat st;
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        char kind = '?';
        if (lstat(path, &st) == 0)
            kind = S_ISDIR(st.st_mode)   ? 'd'
                   : S_ISLNK(st.st_mode) ? 'l'
                   : S_ISREG(st.st_mode) ? 'f'
                                         : 'o';
        printf(" %s(%c)", names[i], kind);
        free(names[i]);
    }
    printf("\n");
}

static void cat(const char *path)
{
    char buf[256];
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("cat %s: %s\n", path, strerror(errno));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = '\0';
    printf("cat %s: [%s]\n", path, buf);
}

/* Lists a directory through raw fd_readdir calls with a 40-byte buffer. */
static void raw_readdir_listing(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    uint8_t buf[40];
    char *names[16];
    int n = 0, calls = 0;
    __wasi_dircookie_t cookie = 0;
    for (;;) {
        __wasi_size_t used = 0;
        if (__wasi_fd_readdir((__wasi_fd_t)fd, buf, sizeof buf, cookie, &used) != 0 ||
            ++calls > 100)
            break;
        size_t at = 0;
        while (at + sizeof(__wasi_dirent_t) <= used) {
            __wasi_dirent_t d;
            memcpy(&d, buf + at, sizeof d);
            if (at + sizeof d + d.d_namlen > used)
                break; /* truncated: ask again from this entry's cookie */
            if (n < 16) names[n++] = strndup((char *)buf + at + sizeof d, d.d_namlen);
            cookie = d.d_next;
            at += sizeof d + d.d_namlen;
        }
        if (used < sizeof buf) break;
    }
    close(fd);
    qsort(names, (size_t)n, sizeof *names, cmp);
    printf("raw readdir %s:", dir);
    for (int i = 0; i < n; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

int main(void)
{
    cat("/sandbox/data.txt");

    int fd = open("/sandbox/new.txt", O_RDWR | O_CREAT | O_EXCL, 0644);
    CHECK("create new.txt", fd >= 0);
    CHECK("write 10 bytes", write(fd, "0123456789", 10) == 10);
    CHECK("tell is 10", lseek(fd, 0, SEEK_CUR) == 10);
    CHECK("seek to 3", lseek(fd, 3, SEEK_SET) == 3);
    char buf[64] = {0};
    CHECK("read 4 from 3", read(fd, buf, 4) == 4 && !memcmp(buf, "3456", 4));
    CHECK("seek end-2", lseek(fd, -2, SEEK_END) == 8);
    CHECK("pwrite at 2", pwrite(fd, "AB", 2, 2) == 2);
    CHECK("pread at 1", pread(fd, buf, 3, 1) == 3 && !memcmp(buf, "1AB", 3));
    CHECK("tell unchanged by p*", lseek(fd, 0, SEEK_CUR) == 8);
    CHECK("seek past end", lseek(fd, 20, SEEK_SET) == 20);
    CHECK("write leaves a hole", write(fd, "Z", 1) == 1);
    struct stat st;
    CHECK("fstat size 21", fstat(fd, &st) == 0 && st.st_size == 21 && S_ISREG(st.st_mode));
    CHECK("ftruncate to 5", ftruncate(fd, 5) == 0);
    CHECK("fstat size 5", fstat(fd, &st) == 0 && st.st_size == 5);
    CHECK("negative seek fails", lseek(fd, -100, SEEK_SET) == -1 && errno == EINVAL);
    CHECK("fsync", fsync(fd) == 0);
    CHECK("fdatasync", fdatasync(fd) == 0);
    CHECK("posix_fadvise", posix_fadvise(fd, 0, 5, POSIX_FADV_SEQUENTIAL) == 0);
    CHECK("posix_fallocate",
          posix_fallocate(fd, 0, 100) == 0 && fstat(fd, &st) == 0 && st.st_size == 100);
    CHECK("close", close(fd) == 0);
    CHECK("close again fails", close(fd) == -1 && errno == EBADF);

    fd = open("/sandbox/new.txt", O_WRONLY | O_APPEND);
    CHECK("open append", fd >= 0);
    CHECK("append write", write(fd, "END", 3) == 3);
    CHECK("append went to end", fstat(fd, &st) == 0 && st.st_size == 103);
    CHECK("O_APPEND reported", (fcntl(fd, F_GETFL) & O_APPEND) != 0);
    close(fd);
    fd = open("/sandbox/new.txt", O_RDONLY);
    CHECK("write on read-only fails", write(fd, "x", 1) == -1 && errno == EBADF);
    close(fd);
    CHECK("O_TRUNC empties", (fd = open("/sandbox/new.txt", O_WRONLY | O_TRUNC)) >= 0 &&
                                 fstat(fd, &st) == 0 && st.st_size == 0);
    close(fd);
    CHECK("O_EXCL on existing fails",
          open("/sandbox/new.txt", O_WRONLY | O_CREAT | O_EXCL, 0644) == -1 && errno == EEXIST);
    CHECK("missing file is ENOENT", open("/sandbox/nope", O_RDONLY) == -1 && errno == ENOENT);

    CHECK("mkdir dir", mkdir("/sandbox/dir", 0755) == 0);
    CHECK("mkdir again is EEXIST", mkdir("/sandbox/dir", 0755) == -1 && errno == EEXIST);
    CHECK("mkdir dir/sub", mkdir("/sandbox/dir/sub", 0755) == 0);
    CHECK("rename file into dir", rename("/sandbox/new.txt", "/sandbox/dir/moved.txt") == 0);
    CHECK("old name gone", stat("/sandbox/new.txt", &st) == -1 && errno == ENOENT);
    CHECK("rmdir non-empty fails", rmdir("/sandbox/dir") == -1 && errno == ENOTEMPTY);
    CHECK("symlink", symlink("moved.txt", "/sandbox/dir/link") == 0);
    char target[64] = {0};
    CHECK("readlink", readlink("/sandbox/dir/link", target, sizeof target) == 9 &&
                          !memcmp(target, "moved.txt", 9));
    CHECK("lstat sees a link", lstat("/sandbox/dir/link", &st) == 0 && S_ISLNK(st.st_mode));
    CHECK("stat follows it", stat("/sandbox/dir/link", &st) == 0 && S_ISREG(st.st_mode));
    CHECK("hard link", link("/sandbox/data.txt", "/sandbox/dir/hard.txt") == 0);
    CHECK("nlink is 2", stat("/sandbox/data.txt", &st) == 0 && st.st_nlink == 2);
    list("/sandbox");
    list("/sandbox/dir");
    cat("/sandbox/dir/hard.txt");

    struct timespec times[2] = {{1000000000, 0}, {1234567890, 500}};
    CHECK("utimensat", utimensat(AT_FDCWD, "/sandbox/data.txt", times, 0) == 0);
    CHECK("stat times", stat("/sandbox/data.txt", &st) == 0 && st.st_atim.tv_sec == 1000000000 &&
                            st.st_mtim.tv_sec == 1234567890 && st.st_mtim.tv_nsec == 500);
    fd = open("/sandbox/dir/moved.txt", O_RDWR);
    struct timespec t2[2] = {{0, UTIME_OMIT}, {2000000000, 0}};
    CHECK("futimens",
          futimens(fd, t2) == 0 && fstat(fd, &st) == 0 && st.st_mtim.tv_sec == 2000000000);
    close(fd);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    fd = open("/sandbox/fresh", O_WRONLY | O_CREAT, 0644);
    CHECK("new file mtime is now",
          fstat(fd, &st) == 0 && labs((long)(st.st_mtim.tv_sec - now.tv_sec)) < 60);
    close(fd);

    CHECK("unlink link", unlink("/sandbox/dir/link") == 0);
    CHECK("unlink hard", unlink("/sandbox/dir/hard.txt") == 0);
    CHECK("unlink moved", unlink("/sandbox/dir/moved.txt") == 0);
    CHECK("unlink dir fails", unlink("/sandbox/dir/sub") == -1);
    CHECK("rmdir sub", rmdir("/sandbox/dir/sub") == 0);
    CHECK("rmdir dir", rmdir("/sandbox/dir") == 0);
    CHECK("unlink fresh", unlink("/sandbox/fresh") == 0);
    list("/sandbox");

    /* fd_readdir with a buffer that holds about one entry: cookies must
     * resume exactly after the last whole entry. */
    char path[64];
    CHECK("mkdir small", mkdir("/sandbox/small", 0755) == 0);
    const char *small[] = {"a", "bb", "ccc", "dddd", "eeeeeeeeeeeeeeee"};
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "/sandbox/small/%s", small[i]);
        close(open(path, O_WRONLY | O_CREAT, 0644));
    }
    raw_readdir_listing("/sandbox/small");
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "/sandbox/small/%s", small[i]);
        unlink(path);
    }
    CHECK("rmdir small", rmdir("/sandbox/small") == 0);

    /* Many entries: readdir must page through fd_readdir with cookies. */
    CHECK("mkdir many", mkdir("/sandbox/many", 0755) == 0);
    for (int i = 0; i < 300; i++) {
        snprintf(path, sizeof path, "/sandbox/many/entry-with-a-long-name-%03d", i);
        close(open(path, O_WRONLY | O_CREAT, 0644));
    }
    DIR *d = opendir("/sandbox/many");
    int count = 0;
    long sum = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        count++;
        sum += atoi(e->d_name + strlen("entry-with-a-long-name-"));
    }
    rewinddir(d);
    int again = 0;
    while ((e = readdir(d)))
        again++;
    closedir(d);
    printf("many: %d entries, index sum %ld, after rewind %d\n", count, sum, again);
    for (int i = 0; i < 300; i++) {
        snprintf(path, sizeof path, "/sandbox/many/entry-with-a-long-name-%03d", i);
        unlink(path);
    }
    CHECK("rmdir many", rmdir("/sandbox/many") == 0);
    return 0;
}
