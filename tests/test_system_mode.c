/*
 * test_system_mode.c — RECLAIM_MALLOC=malloc, where every block comes from
 * the C library so that Valgrind and friends see each one as asked for.
 * The mode is read once, at the first heap call, so each case runs
 * tests/debug_victim.c in a child process with the variable set and checks
 * how it ended and what it printed:
 *   - the heap API keeps its promises (blocks work, rc_owns is true for live
 *     blocks only, rc_usable_size is the size asked for, realloc keeps the
 *     contents, aligned allocations are aligned, calloc gives zeros);
 *   - a free of a pointer reclaim never gave out (or a second free) is
 *     reported and ignored, not a crash;
 *   - a correct program runs clean under valgrind --error-exitcode=1
 *     (skipped without valgrind and in sanitizer builds).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#ifndef RC_DEBUG_VICTIM
#error "RC_DEBUG_VICTIM must name the debug_victim executable"
#endif
#ifndef RC_VALGRIND
#define RC_VALGRIND ""
#endif
#ifndef RC_SANITIZE
#define RC_SANITIZE ""
#endif

extern char **environ;

/* {==== running the victim ==== */

typedef struct run_result {
    int status;    /* from waitpid */
    char *out;     /* stdout, NUL-terminated (static storage) */
    char *err;     /* stderr, NUL-terminated (static storage) */
    char addr[64]; /* the address from "block <addr> size <n>", or "" */
} run_result;

/* Output of the last child. Static, so that a failed assertion (which
 * longjmps out of the test) leaks nothing. */
static char out_buf[1 << 16], err_buf[1 << 16];

static char *slurp(FILE *f, char *buf, size_t cap) {
    fflush(f);
    rewind(f);
    size_t got = fread(buf, 1, cap - 1, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

/* Run argv with this process's environment minus every RECLAIM_* variable,
 * plus RECLAIM_MALLOC=malloc. */
static run_result run_system(char *const argv[]) {
    size_t n = 0;
    while (environ[n]) n++;
    static char *env[4096];
    assert_true(n + 2 <= sizeof env / sizeof env[0]);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "RECLAIM_", 8) != 0) env[k++] = environ[i];
    env[k++] = (char *)"RECLAIM_MALLOC=malloc";
    env[k] = NULL;

    FILE *out = tmpfile(), *err = tmpfile();
    assert_non_null(out);
    assert_non_null(err);
    posix_spawn_file_actions_t fa;
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, fileno(out), STDOUT_FILENO), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, fileno(err), STDERR_FILENO), 0);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, argv, env), 0);
    posix_spawn_file_actions_destroy(&fa);

    run_result r = {0};
    while (waitpid(pid, &r.status, 0) < 0) assert_int_equal(errno, EINTR);
    r.out = slurp(out, out_buf, sizeof out_buf);
    r.err = slurp(err, err_buf, sizeof err_buf);
    const char *b = strstr(r.out, "block ");
    if (b && sscanf(b, "block %63s", r.addr) != 1) r.addr[0] = '\0';
    return r;
}

static run_result run_victim(const char *cmd, const char *arg) {
    char *argv[] = {(char *)RC_DEBUG_VICTIM, (char *)cmd, (char *)arg, NULL};
    return run_system(argv);
}

static void show(const run_result *r) {
    print_message("child status %#x\n--- stdout ---\n%s--- stderr ---\n%s--------------\n", r->status, r->out,
                  r->err);
}

static void expect_exit0(const run_result *r) {
    if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0) {
        show(r);
        fail_msg("the child did not exit with status 0");
    }
}

static void expect_silent(const run_result *r) {
    if (r->err[0] != '\0') {
        show(r);
        fail_msg("the child wrote to stderr");
    }
}

static void expect_out(const run_result *r, const char *what) {
    if (!strstr(r->out, what)) {
        show(r);
        fail_msg("stdout does not contain \"%s\"", what);
    }
}

static void expect_err(const run_result *r, const char *what) {
    if (!strstr(r->err, what)) {
        show(r);
        fail_msg("stderr does not contain \"%s\"", what);
    }
}
/* }==== */

/* Live blocks work, rc_owns is true for them and false after free and for
 * foreign pointers, rc_usable_size is the size asked for, realloc keeps the
 * contents, calloc zeroes, and the blocks are the C library's, not reclaim's
 * pools' (debug_victim checks). */
static void test_properties(void **state) {
    (void)state;
    run_result r = run_victim("checks", "basic");
    expect_out(&r, "mode malloc");
    expect_out(&r, "OK");
    expect_exit0(&r);
    expect_silent(&r);
}

/* Aligned allocations (1 B .. 1 MiB) are aligned, owned, of the size asked
 * for, and free cleanly. */
static void test_aligned(void **state) {
    (void)state;
    run_result r = run_victim("checks", "aligned");
    expect_out(&r, "mode malloc");
    expect_out(&r, "OK");
    expect_exit0(&r);
    expect_silent(&r);
}

static void test_clean_is_silent(void **state) {
    (void)state;
    run_result r = run_victim("clean", NULL);
    expect_exit0(&r);
    expect_out(&r, "clean done");
    expect_silent(&r);
}

/* Bad frees: reported on stderr with the address, then ignored. */
static void expect_ignored(const char *cmd, const char *arg) {
    run_result r = run_victim(cmd, arg);
    expect_exit0(&r);
    expect_out(&r, "survived");
    assert_true(r.addr[0] != '\0');
    expect_err(&r, "was not allocated by reclaim");
    expect_err(&r, "ignored");
    expect_err(&r, r.addr);
    if (strstr(r.err, "aborting")) {
        show(&r);
        fail_msg("the system mode aborted");
    }
}

static void test_foreign_free_stack(void **state) {
    (void)state;
    expect_ignored("foreign_free", "stack");
}

static void test_foreign_free_libc(void **state) {
    (void)state;
    expect_ignored("foreign_free", "libc");
}

static void test_foreign_free_interior(void **state) {
    (void)state;
    expect_ignored("foreign_free", "interior");
}

static void test_double_free_ignored(void **state) {
    (void)state;
    expect_ignored("double_free", NULL);
}

/* {==== valgrind ==== */

static void run_under_valgrind(const char *cmd) {
    if (RC_SANITIZE[0] != '\0') {
        print_message("skipped: a sanitizer build (RECLAIM_SANITIZE=%s) does not run under valgrind\n", RC_SANITIZE);
        skip();
    }
    if (RC_VALGRIND[0] == '\0' || access(RC_VALGRIND, X_OK) != 0) {
        print_message("skipped: valgrind is not installed\n");
        skip();
    }
    char *argv[] = {(char *)RC_VALGRIND,
                    (char *)"--error-exitcode=1",
                    (char *)"--leak-check=full",
                    (char *)"--errors-for-leak-kinds=definite",
                    (char *)"--quiet",
                    (char *)RC_DEBUG_VICTIM,
                    (char *)cmd,
                    NULL};
    run_result r = run_system(argv);
    expect_exit0(&r);
    expect_silent(&r);
}

static void test_valgrind_clean(void **state) {
    (void)state;
    run_under_valgrind("clean");
}

static void test_valgrind_checks(void **state) {
    (void)state;
    run_under_valgrind("checks");
}
/* }==== */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_properties),
        cmocka_unit_test(test_aligned),
        cmocka_unit_test(test_clean_is_silent),
        cmocka_unit_test(test_foreign_free_stack),
        cmocka_unit_test(test_foreign_free_libc),
        cmocka_unit_test(test_foreign_free_interior),
        cmocka_unit_test(test_double_free_ignored),
        cmocka_unit_test(test_valgrind_clean),
        cmocka_unit_test(test_valgrind_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
