/* Test program: attempts to leave the sandbox, and lies about memory. Uses
 * the raw WASI calls on the preopen (fd 3), so that nothing in wasi-libc
 * filters a path before the host sees it. The runner provides data.txt, the
 * symlinks etc_link -> /etc and up -> ../outside, and checks afterwards that
 * nothing outside the sandbox changed. Symlinks the module makes may not
 * point out of the preopen, and readlink shows no absolute host path. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

#define IMPORT(name) __attribute__((import_module("wasi_snapshot_preview1"), import_name(name)))
IMPORT("fd_write") int raw_fd_write(int fd, int iovs, int n, int nwritten);
IMPORT("path_open")
int raw_path_open(int fd, int dirflags, int path, int len, int oflags, int64_t base,
                  int64_t inheriting, int fdflags, int out);
IMPORT("random_get") int raw_random_get(int buf, int len);
IMPORT("args_get") int raw_args_get(int argv, int buf);
IMPORT("fd_read") int raw_fd_read(int fd, int iovs, int n, int nread);

#define PRE 3
#define ALL_RIGHTS ((__wasi_rights_t)0x1FFFFFFF)

static void show(const char *what, __wasi_errno_t e)
{
    printf("%-40s errno %u\n", what, (unsigned)e);
}

static __wasi_errno_t try_open(const char *path, int follow, __wasi_oflags_t oflags)
{
    __wasi_fd_t fd;
    __wasi_errno_t e = __wasi_path_open(PRE, follow ? __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW : 0, path,
                                        oflags, ALL_RIGHTS, ALL_RIGHTS, 0, &fd);
    if (e == 0) (void)__wasi_fd_close(fd);
    return e;
}

int main(void)
{
    show("open data.txt (inside)", try_open("data.txt", 1, 0));
    show("open ../outside/secret", try_open("../outside/secret", 1, 0));
    show("open /etc/passwd", try_open("/etc/passwd", 1, 0));
    show("open etc_link/passwd", try_open("etc_link/passwd", 1, 0));
    show("open etc_link (follow)", try_open("etc_link", 1, 0));
    show("open etc_link (nofollow)", try_open("etc_link", 0, 0));
    show("open up/secret", try_open("up/secret", 1, 0));
    show("mkdir dir", __wasi_path_create_directory(PRE, "dir"));
    show("open dir/../../outside/secret", try_open("dir/../../outside/secret", 1, 0));
    show("open dir/../data.txt (inside)", try_open("dir/../data.txt", 1, 0));
    show("create /etc/stratus_escape_test", try_open("/etc/stratus_escape_test", 1, 1));
    show("create etc_link/stratus_escape_test", try_open("etc_link/stratus_escape_test", 1, 1));
    show("open empty path", try_open("", 1, 0));

    show("symlink loop_a -> loop_b", __wasi_path_symlink("loop_b", PRE, "loop_a"));
    show("symlink loop_b -> loop_a", __wasi_path_symlink("loop_a", PRE, "loop_b"));
    show("open loop_a", try_open("loop_a", 1, 0));
    show("symlink self -> self", __wasi_path_symlink("self", PRE, "self"));
    show("open self/x", try_open("self/x", 1, 0));
    show("plant planted -> ../outside", __wasi_path_symlink("../outside", PRE, "planted"));
    show("open planted/secret", try_open("planted/secret", 1, 0));
    show("create planted/new", try_open("planted/new", 1, 1));
    show("plant abs -> /etc/passwd", __wasi_path_symlink("/etc/passwd", PRE, "abs"));
    show("open abs", try_open("abs", 1, 0));
    show("plant deep -> dir/../../outside", __wasi_path_symlink("dir/../../outside", PRE, "deep"));
    show("open deep/secret", try_open("deep/secret", 1, 0));
    show("symlink dir/up1 -> ../data.txt (inside)",
         __wasi_path_symlink("../data.txt", PRE, "dir/up1"));
    show("symlink dir/up2 -> ../../outside", __wasi_path_symlink("../../outside", PRE, "dir/up2"));
    show("symlink dir/up3 -> x/../../../outside",
         __wasi_path_symlink("x/../../../outside", PRE, "dir/up3"));
    show("symlink in -> ./dir/../data.txt", __wasi_path_symlink("./dir/../data.txt", PRE, "in"));
    show("open in (inside)", try_open("in", 1, 0));
    /* names ending in '/' must be directories (wasi-testsuite) */
    show("symlink data.txt -> target/", __wasi_path_symlink("data.txt", PRE, "target/"));
    show("symlink data.txt -> dir/", __wasi_path_symlink("data.txt", PRE, "dir/"));
    show("link data.txt link/", __wasi_path_link(PRE, 0, "data.txt", PRE, "link/"));
    __wasi_fd_t dfd;
    show("open dir O_DIRECTORY with write rights",
         __wasi_path_open(PRE, 0, "dir", __WASI_OFLAGS_DIRECTORY,
                          __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE, 0, 0, &dfd));

    show("rename data.txt ../outside/stolen",
         __wasi_path_rename(PRE, "data.txt", PRE, "../outside/stolen"));
    show("rename data.txt up/stolen", __wasi_path_rename(PRE, "data.txt", PRE, "up/stolen"));
    show("rename data.txt planted/stolen",
         __wasi_path_rename(PRE, "data.txt", PRE, "planted/stolen"));
    show("rename up/secret mine", __wasi_path_rename(PRE, "up/secret", PRE, "mine"));
    show("link data.txt up/hard", __wasi_path_link(PRE, 0, "data.txt", PRE, "up/hard"));
    show("link (follow) abs hard2",
         __wasi_path_link(PRE, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "abs", PRE, "hard2"));
    show("link up/secret hard3", __wasi_path_link(PRE, 0, "up/secret", PRE, "hard3"));
    show("mkdir ../newdir", __wasi_path_create_directory(PRE, "../newdir"));
    show("mkdir up/newdir", __wasi_path_create_directory(PRE, "up/newdir"));
    show("unlink up/secret", __wasi_path_unlink_file(PRE, "up/secret"));
    show("unlink data.txt/ (not a directory)", __wasi_path_unlink_file(PRE, "data.txt/"));
    show("rmdir ..", __wasi_path_remove_directory(PRE, ".."));
    __wasi_filestat_t st;
    show("stat up (follow)",
         __wasi_path_filestat_get(PRE, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "up", &st));
    show("stat up (nofollow)", __wasi_path_filestat_get(PRE, 0, "up", &st));
    show("set times up/secret",
         __wasi_path_filestat_set_times(PRE, 0, "up/secret", 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
    uint8_t buf[64] = {0};
    __wasi_size_t used = 0;
    __wasi_errno_t e = __wasi_path_readlink(PRE, "up", buf, sizeof buf, &used);
    printf("%-40s errno %u [%.*s]\n", "readlink up", (unsigned)e, (int)used, buf);
    /* etc_link -> /etc: the host's absolute path stays hidden */
    memset(buf, 0, sizeof buf);
    used = 0;
    e = __wasi_path_readlink(PRE, "etc_link", buf, sizeof buf, &used);
    printf("%-40s errno %u [%.*s]\n", "readlink etc_link", (unsigned)e, (int)used, buf);

    /* Rights: a read-only descriptor cannot write, a file is no directory. */
    __wasi_fd_t ro;
    e = __wasi_path_open(PRE, 0, "data.txt", 0, __WASI_RIGHTS_FD_READ, 0, 0, &ro);
    show("open data.txt read-only", e);
    __wasi_ciovec_t iov = {(const uint8_t *)"x", 1};
    __wasi_size_t n;
    show("write to read-only fd", __wasi_fd_write(ro, &iov, 1, &n));
    __wasi_fd_t sub;
    show("path_open relative to a file", __wasi_path_open(ro, 0, "x", 0, 0, 0, 0, &sub));
    show("drop rights", __wasi_fd_fdstat_set_rights(ro, 0, 0));
    show("read after dropping rights", __wasi_fd_read(ro, (const __wasi_iovec_t *)&iov, 1, &n));
    show("regain rights", __wasi_fd_fdstat_set_rights(ro, __WASI_RIGHTS_FD_READ, 0));
    (void)__wasi_fd_close(ro);
    show("write to bad fd", __wasi_fd_write(99, &iov, 1, &n));
    show("sock_accept on a directory", __wasi_sock_accept(PRE, 0, &sub));
    show("sock_shutdown on stdout", __wasi_sock_shutdown(1, __WASI_SDFLAGS_WR));

    /* Lying pointers. */
    static uint32_t fake_iov[2] = {0xFFFFFF00u, 0x1000};
    show("fd_write iovs out of bounds", raw_fd_write(1, (int)0xFFFFFFF0u, 1, (int)(uintptr_t)&n));
    show("fd_write buffer out of bounds",
         raw_fd_write(1, (int)(uintptr_t)fake_iov, 1, (int)(uintptr_t)&n));
    show("fd_write result out of bounds", raw_fd_write(1, (int)(uintptr_t)&iov, 1, -4));
    show("fd_read buffer out of bounds",
         raw_fd_read(0, (int)(uintptr_t)fake_iov, 1, (int)(uintptr_t)&n));
    show("path_open path out of bounds",
         raw_path_open(PRE, 0, (int)0xFFFFFFF0u, 100, 0, 0, 0, 0, (int)(uintptr_t)&sub));
    show("random_get out of bounds", raw_random_get((int)0xFFFFFF00u, 0x1000));
    show("args_get out of bounds", raw_args_get((int)0xFFFFFFFCu, 0));
    return 0;
}
