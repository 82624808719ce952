/*
 * test_debug_alloc.c — the debug allocator (RECLAIM_MALLOC=debug) and the
 * default mode's handling of bad frees, seen from outside: each case runs
 * tests/debug_victim.c in a child process with the variable set (the mode is
 * read once, at the first heap call), captures its stdout and stderr, and
 * checks how it ended and what it reported.
 *
 * A debug-mode bug must end in SIGABRT with a report naming the bug, the
 * block's address (the victim prints it on stdout first) and its size.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "test_spawn.h"

/* {==== how the victim ended, what it reported ==== */

static void expect_abort(const run_result *r) {
    if (!WIFSIGNALED(r->status) || WTERMSIG(r->status) != SIGABRT) {
        show(r);
        fail_msg("the victim was not killed by SIGABRT");
    }
    expect_err(r, "reclaim: aborting");
}

/* The debug allocator reports bug `what` about the printed block. */
static void expect_report(const char *cmd, const char *arg, const char *what, bool with_size) {
    run_result r = run_victim("debug", cmd, arg);
    if (r.addr[0] == '\0') {
        show(&r);
        fail_msg("the victim printed no block address");
    }
    expect_abort(&r);
    expect_err(&r, "heap corruption");
    expect_err(&r, what);
    expect_err(&r, r.addr);
    if (with_size) {
        char size[64];
        snprintf(size, sizeof size, "size %zu", r.size);
        expect_err(&r, size);
    }
    if (strstr(r.out, "survived")) {
        show(&r);
        fail_msg("the victim went on after the bug");
    }
}
/* }==== */

/* {==== debug mode: each bug is reported and aborts ==== */

static void test_overrun(void **state) {
    (void)state;
    expect_report("overrun", NULL, "buffer overrun", true);
}

static void test_underrun(void **state) {
    (void)state;
    expect_report("underrun", NULL, "buffer underrun", true);
}

static void test_double_free(void **state) {
    (void)state;
    expect_report("double_free", NULL, "double free", true);
}

static void test_foreign_free_stack(void **state) {
    (void)state;
    expect_report("foreign_free", "stack", "never gave out", false);
}

static void test_foreign_free_libc(void **state) {
    (void)state;
    expect_report("foreign_free", "libc", "never gave out", false);
}

static void test_foreign_free_interior(void **state) {
    (void)state;
    expect_report("foreign_free", "interior", "never gave out", false);
}

static void test_write_after_free_quarantine(void **state) {
    (void)state;
    expect_report("write_after_free", NULL, "write to freed block", true);
}

static void test_write_after_free_trim(void **state) {
    (void)state;
    expect_report("write_after_free", "trim", "write to freed block", true);
}

static void test_header_smash(void **state) {
    (void)state;
    expect_report("header_smash", NULL, "header", false);
}

static void test_realloc_overrun(void **state) {
    (void)state;
    expect_report("realloc_overrun", NULL, "rc_realloc", true);
    run_result r = run_victim("debug", "realloc_overrun", NULL);
    expect_err(&r, "buffer overrun");
}
/* }==== */

/* {==== debug mode: correct programs ==== */

static void test_debug_clean_is_silent(void **state) {
    (void)state;
    run_result r = run_victim("debug", "clean", NULL);
    expect_exit0(&r);
    expect_silent(&r);
}

/* Fresh blocks are CD, calloc gives zeros, rc_usable_size is the size asked
 * for, rc_owns tracks live blocks, alignments hold (debug_victim checks). */
static void test_debug_properties(void **state) {
    (void)state;
    run_result r = run_victim("debug", "checks", NULL);
    if (!strstr(r.out, "mode debug") || !strstr(r.out, "OK")) {
        show(&r);
        fail_msg("property checks failed under RECLAIM_MALLOC=debug");
    }
    expect_exit0(&r);
    expect_silent(&r);
}
/* }==== */

/* {==== default mode: a foreign free is reported and ignored ==== */

static void test_default_foreign_free_stack(void **state) {
    (void)state;
    expect_bad_free_ignored(NULL, "foreign_free", "stack");
}

static void test_default_foreign_free_libc(void **state) {
    (void)state;
    expect_bad_free_ignored(NULL, "foreign_free", "libc");
}

/* A pointer into the middle of a live block was never given out either. */
static void test_default_foreign_free_interior(void **state) {
    (void)state;
    expect_bad_free_ignored(NULL, "foreign_free", "interior");
}

static void test_default_clean_is_silent(void **state) {
    (void)state;
    run_result r = run_victim(NULL, "clean", NULL);
    expect_exit0(&r);
    expect_silent(&r);
    r = run_victim("default", "clean", NULL);
    expect_exit0(&r);
    expect_silent(&r);
}

static void test_default_properties(void **state) {
    (void)state;
    run_result r = run_victim(NULL, "checks", NULL);
    if (!strstr(r.out, "mode default") || !strstr(r.out, "OK")) {
        show(&r);
        fail_msg("property checks failed in the default mode");
    }
    expect_exit0(&r);
    expect_silent(&r);
}

/* A malformed RECLAIM_MALLOC is reported once, with the accepted forms, and
 * the default allocator is used: the overrun (into the block's rounding
 * slack) then goes unnoticed. */
static void test_bad_mode_value(void **state) {
    (void)state;
    run_result r = run_victim("debgu", "overrun", NULL);
    expect_exit0(&r);
    if (!strstr(r.out, "survived")) {
        show(&r);
        fail_msg("a bad RECLAIM_MALLOC did not fall back to the default allocator");
    }
    expect_err(&r, "RECLAIM_MALLOC=debgu");
    expect_err(&r, "default, debug or malloc");
    const char *first = strstr(r.err, "RECLAIM_MALLOC=debgu");
    if (first && strstr(first + 1, "RECLAIM_MALLOC=debgu")) {
        show(&r);
        fail_msg("the bad value was reported more than once");
    }
}
/* }==== */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overrun),
        cmocka_unit_test(test_underrun),
        cmocka_unit_test(test_double_free),
        cmocka_unit_test(test_foreign_free_stack),
        cmocka_unit_test(test_foreign_free_libc),
        cmocka_unit_test(test_foreign_free_interior),
        cmocka_unit_test(test_write_after_free_quarantine),
        cmocka_unit_test(test_write_after_free_trim),
        cmocka_unit_test(test_header_smash),
        cmocka_unit_test(test_realloc_overrun),
        cmocka_unit_test(test_debug_clean_is_silent),
        cmocka_unit_test(test_debug_properties),
        cmocka_unit_test(test_default_foreign_free_stack),
        cmocka_unit_test(test_default_foreign_free_libc),
        cmocka_unit_test(test_default_foreign_free_interior),
        cmocka_unit_test(test_default_clean_is_silent),
        cmocka_unit_test(test_default_properties),
        cmocka_unit_test(test_bad_mode_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
