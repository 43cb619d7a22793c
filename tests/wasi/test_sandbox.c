/* Unit tests of the confined path resolution (src/wasi/sandbox.c): the same
 * escape attempts against the openat2 path and the forced component walker,
 * in a temporary tree that holds a sandbox and a directory outside it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sandbox.h"

struct fixture {
    char top[64];
    int top_fd;
    int box; /* the sandbox root */
    bool walk_only;
};

static void put_file(int dir, const char *name, const char *text)
{
    int fd = openat(dir, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static int setup(void **state, bool walk_only)
{
    struct fixture *f = calloc(1, sizeof *f);
    strcpy(f->top, "/tmp/stratus-sbx-XXXXXX");
    assert_non_null(mkdtemp(f->top));
    f->top_fd = open(f->top, O_RDONLY | O_DIRECTORY);
    assert_int_equal(mkdirat(f->top_fd, "outside", 0755), 0);
    assert_int_equal(mkdirat(f->top_fd, "box", 0755), 0);
    int out = openat(f->top_fd, "outside", O_RDONLY | O_DIRECTORY);
    put_file(out, "secret", "secret");
    close(out);
    f->box = openat(f->top_fd, "box", O_RDONLY | O_DIRECTORY);
    assert_true(f->box >= 0);
    put_file(f->box, "file", "hello");
    assert_int_equal(mkdirat(f->box, "sub", 0755), 0);
    put_file(f->box, "sub/inner", "x");
    assert_int_equal(symlinkat("../outside", f->box, "link_up"), 0);
    assert_int_equal(symlinkat("/etc", f->box, "link_etc"), 0);
    assert_int_equal(symlinkat("/etc/passwd", f->box, "link_abs_file"), 0);
    assert_int_equal(symlinkat("loop2", f->box, "loop1"), 0);
    assert_int_equal(symlinkat("loop1", f->box, "loop2"), 0);
    assert_int_equal(symlinkat("sub/inner", f->box, "good"), 0);
    assert_int_equal(symlinkat("sub", f->box, "gooddir"), 0);
    assert_int_equal(symlinkat("..", f->box, "sub/dotdot"), 0);
    assert_int_equal(symlinkat("../..", f->box, "sub/dotdot2"), 0);
    assert_int_equal(symlinkat("../outside/created", f->box, "dangle"), 0);
    assert_int_equal(symlinkat("made", f->box, "dangle_in"), 0);
    f->walk_only = walk_only;
    *state = f;
    return 0;
}

static int setup_kernel(void **state)
{
    return setup(state, false);
}

static int setup_walk(void **state)
{
    return setup(state, true);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->top);
    close(f->box);
    close(f->top_fd);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static int try_open(struct fixture *f, const char *path, int flags, bool follow)
{
    int fd = -1;
    int err = sbx_open(f->box, path, strlen(path), flags, 0644, follow, f->walk_only, &fd);
    if (!err) {
        assert_true(fd >= 0);
        close(fd);
    }
    return err;
}

static void read_is(struct fixture *f, const char *path, const char *want)
{
    int fd = -1;
    assert_int_equal(sbx_open(f->box, path, strlen(path), O_RDONLY, 0, true, f->walk_only, &fd), 0);
    char buf[64] = {0};
    assert_true(read(fd, buf, sizeof buf - 1) >= 0);
    close(fd);
    assert_string_equal(buf, want);
}

/* The directory outside the sandbox must hold exactly its one file. */
static void outside_untouched(struct fixture *f)
{
    struct stat st;
    assert_int_equal(fstatat(f->top_fd, "outside/created", &st, AT_SYMLINK_NOFOLLOW), -1);
    assert_int_equal(fstatat(f->top_fd, "outside/new", &st, AT_SYMLINK_NOFOLLOW), -1);
    assert_int_equal(fstatat(f->top_fd, "outside/secret", &st, 0), 0);
    assert_int_equal(st.st_size, 6);
}

static void test_inside_paths_work(void **state)
{
    struct fixture *f = *state;
    read_is(f, "file", "hello");
    read_is(f, "./sub/../file", "hello");
    read_is(f, "sub//inner", "x");
    read_is(f, "good", "x");
    read_is(f, "gooddir/inner", "x");
    read_is(f, "sub/dotdot/file", "hello");
    assert_int_equal(try_open(f, ".", O_RDONLY | O_DIRECTORY, true), 0);
    assert_int_equal(try_open(f, "sub/", O_RDONLY | O_DIRECTORY, true), 0);
    assert_int_equal(try_open(f, "sub/..", O_RDONLY | O_DIRECTORY, true), 0);
    /* Creating through a symlink whose target stays inside is fine. */
    assert_int_equal(try_open(f, "dangle_in", O_WRONLY | O_CREAT, true), 0);
    struct stat st;
    assert_int_equal(fstatat(f->box, "made", &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_true(S_ISREG(st.st_mode));
}

static void test_dotdot_and_absolute_refused(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(try_open(f, "../outside/secret", O_RDONLY, true), SBX_ENOTCAPABLE);
    assert_int_equal(try_open(f, "..", O_RDONLY, true), SBX_ENOTCAPABLE);
    assert_int_equal(try_open(f, "sub/../../outside/secret", O_RDONLY, true), SBX_ENOTCAPABLE);
    assert_int_equal(try_open(f, "/etc/passwd", O_RDONLY, true), SBX_ENOTCAPABLE);
    assert_int_equal(try_open(f, "/", O_RDONLY, true), SBX_ENOTCAPABLE);
    assert_int_equal(try_open(f, "../new", O_WRONLY | O_CREAT, true), SBX_ENOTCAPABLE);
    outside_untouched(f);
}

static void test_symlink_escapes_refused(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(try_open(f, "link_up/secret", O_RDONLY, true), SBX_ENOTCAPABLE);
    assert_int_equal(try_open(f, "link_etc/passwd", O_RDONLY, true), SBX_ENOTCAPABLE);
    assert_int_equal(try_open(f, "link_abs_file", O_RDONLY, true), SBX_ENOTCAPABLE);
    assert_int_equal(try_open(f, "link_abs_file", O_RDONLY, false), ELOOP);
    assert_int_equal(try_open(f, "sub/dotdot2/outside/secret", O_RDONLY, true), SBX_ENOTCAPABLE);
    assert_int_equal(try_open(f, "dangle", O_WRONLY | O_CREAT, true), SBX_ENOTCAPABLE);
    assert_int_equal(try_open(f, "link_up/new", O_WRONLY | O_CREAT, true), SBX_ENOTCAPABLE);
    /* A link the module plants itself is no better. */
    assert_int_equal(symlinkat("../../outside", f->box, "sub/planted"), 0);
    assert_int_equal(try_open(f, "sub/planted/secret", O_RDONLY, true), SBX_ENOTCAPABLE);
    outside_untouched(f);
}

static void test_loops_and_bad_paths(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(try_open(f, "loop1", O_RDONLY, true), ELOOP);
    assert_int_equal(try_open(f, "loop1/x", O_RDONLY, true), ELOOP);
    assert_int_equal(try_open(f, "", O_RDONLY, true), ENOENT);
    assert_int_equal(try_open(f, "nothing/x", O_RDONLY, true), ENOENT);
    assert_int_equal(try_open(f, "file/x", O_RDONLY, true), ENOTDIR);
    int fd = -1;
    assert_int_equal(sbx_open(f->box, "fi\0le", 5, O_RDONLY, 0, true, f->walk_only, &fd), EINVAL);
}

static int parent_of(struct fixture *f, const char *path, bool follow, char *name_out)
{
    int dir = -1;
    char *name = NULL;
    int err = sbx_parent(f->box, path, strlen(path), follow, f->walk_only, &dir, &name);
    if (!err) {
        assert_true(dir >= 0);
        assert_non_null(name);
        assert_null(strchr(name, '/'));
        strcpy(name_out, name);
        free(name);
        close(dir);
    }
    return err;
}

static void test_parent_resolution(void **state)
{
    struct fixture *f = *state;
    char name[300];
    assert_int_equal(parent_of(f, "sub/inner", false, name), 0);
    assert_string_equal(name, "inner");
    assert_int_equal(parent_of(f, "newname", false, name), 0);
    assert_string_equal(name, "newname");
    assert_int_equal(parent_of(f, "sub/", false, name), 0);
    assert_string_equal(name, "sub");
    assert_int_equal(parent_of(f, "sub/..", false, name), 0);
    assert_string_equal(name, ".");
    assert_int_equal(parent_of(f, "link_abs_file", false, name), 0);
    assert_string_equal(name, "link_abs_file");
    assert_int_equal(parent_of(f, "good", true, name), 0);
    assert_string_equal(name, "inner");
    assert_int_equal(parent_of(f, "link_abs_file", true, name), SBX_ENOTCAPABLE);
    assert_int_equal(parent_of(f, "..", false, name), SBX_ENOTCAPABLE);
    assert_int_equal(parent_of(f, "../outside/moved", false, name), SBX_ENOTCAPABLE);
    assert_int_equal(parent_of(f, "link_up/moved", false, name), SBX_ENOTCAPABLE);
    assert_int_equal(parent_of(f, "/tmp/x", false, name), SBX_ENOTCAPABLE);
    assert_int_equal(parent_of(f, "loop1/x", false, name), ELOOP);
    assert_int_equal(parent_of(f, "", false, name), ENOENT);
}

/* Renaming and hard-linking go through sbx_parent on both ends, so a target
 * outside is refused and nothing moves. */
static void test_rename_and_link_out_refused(void **state)
{
    struct fixture *f = *state;
    int dir = -1;
    char *name = NULL;
    const char *to = "link_up/stolen";
    assert_int_equal(sbx_parent(f->box, to, strlen(to), false, f->walk_only, &dir, &name),
                     SBX_ENOTCAPABLE);
    to = "sub/dotdot2/outside/stolen";
    assert_int_equal(sbx_parent(f->box, to, strlen(to), false, f->walk_only, &dir, &name),
                     SBX_ENOTCAPABLE);
    /* A hard link to a symlink stays a link to the symlink, not its target. */
    const char *from = "link_abs_file";
    assert_int_equal(sbx_parent(f->box, from, strlen(from), false, f->walk_only, &dir, &name), 0);
    assert_int_equal(linkat(dir, name, f->box, "hard", 0), 0);
    free(name);
    close(dir);
    assert_int_equal(try_open(f, "hard", O_RDONLY, true), SBX_ENOTCAPABLE);
    outside_untouched(f);
}

#define BOTH(fn)                                                                                   \
    cmocka_unit_test_setup_teardown(fn, setup_kernel, teardown),                                   \
        cmocka_unit_test_setup_teardown(fn, setup_walk, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_inside_paths_work),       BOTH(test_dotdot_and_absolute_refused),
        BOTH(test_symlink_escapes_refused), BOTH(test_loops_and_bad_paths),
        BOTH(test_parent_resolution),       BOTH(test_rename_and_link_out_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
