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
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test_spawn.h"

#ifndef RC_VALGRIND
#define RC_VALGRIND ""
#endif
#ifndef RC_SANITIZE
#define RC_SANITIZE ""
#endif

/* Live blocks work, rc_owns is true for them and false after free and for
 * foreign pointers, rc_usable_size is the size asked for, realloc keeps the
 * contents, calloc zeroes, and the blocks are the C library's, not reclaim's
 * pools' (debug_victim checks). */
static void test_properties(void **state) {
    (void)state;
    run_result r = run_victim("malloc", "checks", "basic");
    expect_out(&r, "mode malloc");
    expect_out(&r, "OK");
    expect_exit0(&r);
    expect_silent(&r);
}

/* Aligned allocations (1 B .. 1 MiB) are aligned, owned, of the size asked
 * for, and free cleanly. */
static void test_aligned(void **state) {
    (void)state;
    run_result r = run_victim("malloc", "checks", "aligned");
    expect_out(&r, "mode malloc");
    expect_out(&r, "OK");
    expect_exit0(&r);
    expect_silent(&r);
}

static void test_clean_is_silent(void **state) {
    (void)state;
    run_result r = run_victim("malloc", "clean", NULL);
    expect_exit0(&r);
    expect_out(&r, "clean done");
    expect_silent(&r);
}

/* Bad frees: reported on stderr with the address, then ignored. */
static void test_foreign_free_stack(void **state) {
    (void)state;
    expect_bad_free_ignored("malloc", "foreign_free", "stack");
}

static void test_foreign_free_libc(void **state) {
    (void)state;
    expect_bad_free_ignored("malloc", "foreign_free", "libc");
}

static void test_foreign_free_interior(void **state) {
    (void)state;
    expect_bad_free_ignored("malloc", "foreign_free", "interior");
}

static void test_double_free_ignored(void **state) {
    (void)state;
    expect_bad_free_ignored("malloc", "double_free", NULL);
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
    run_result r = run_child(argv, "malloc");
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
