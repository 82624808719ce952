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

extern char **environ;

/* {==== running the victim ==== */

typedef struct run_result {
    int status;    /* from waitpid */
    char *out;     /* stdout, NUL-terminated (static storage) */
    char *err;     /* stderr, NUL-terminated (static storage) */
    char addr[64]; /* the address from "block <addr> size <n>", or "" */
    size_t size;   /* the size from that line */
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

/* Run the victim with argv[1..] = cmd, arg (arg may be NULL) and the
 * environment of this process minus every RECLAIM_* variable, plus
 * RECLAIM_MALLOC=mode unless mode is NULL. */
static run_result run_victim(const char *mode, const char *cmd, const char *arg) {
    size_t n = 0;
    while (environ[n]) n++;
    static char *env[4096];
    assert_true(n + 2 <= sizeof env / sizeof env[0]);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "RECLAIM_", 8) != 0) env[k++] = environ[i];
    char modevar[64];
    if (mode) {
        snprintf(modevar, sizeof modevar, "RECLAIM_MALLOC=%s", mode);
        env[k++] = modevar;
    }
    env[k] = NULL;

    FILE *out = tmpfile(), *err = tmpfile();
    assert_non_null(out);
    assert_non_null(err);
    posix_spawn_file_actions_t fa;
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, fileno(out), STDOUT_FILENO), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, fileno(err), STDERR_FILENO), 0);
    char *argv[] = {(char *)RC_DEBUG_VICTIM, (char *)cmd, (char *)arg, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, RC_DEBUG_VICTIM, &fa, NULL, argv, env);
    assert_int_equal(rc, 0);
    posix_spawn_file_actions_destroy(&fa);

    run_result r = {0};
    while (waitpid(pid, &r.status, 0) < 0) assert_int_equal(errno, EINTR);
    r.out = slurp(out, out_buf, sizeof out_buf);
    r.err = slurp(err, err_buf, sizeof err_buf);
    const char *b = strstr(r.out, "block ");
    if (b) {
        unsigned long long sz = 0;
        if (sscanf(b, "block %63s size %llu", r.addr, &sz) == 2) r.size = (size_t)sz;
    }
    return r;
}

static void show(const run_result *r) {
    print_message("victim status %#x\n--- stdout ---\n%s--- stderr ---\n%s--------------\n", r->status, r->out,
                  r->err);
}

static void expect_contains(const run_result *r, const char *what) {
    if (!strstr(r->err, what)) {
        show(r);
        fail_msg("the report does not contain \"%s\"", what);
    }
}

static void expect_abort(const run_result *r) {
    if (!WIFSIGNALED(r->status) || WTERMSIG(r->status) != SIGABRT) {
        show(r);
        fail_msg("the victim was not killed by SIGABRT");
    }
    expect_contains(r, "reclaim: aborting");
}

static void expect_exit0(const run_result *r) {
    if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0) {
        show(r);
        fail_msg("the victim did not exit with status 0");
    }
}

static void expect_silent(const run_result *r) {
    if (r->err[0] != '\0') {
        show(r);
        fail_msg("the victim wrote to stderr");
    }
}

/* The debug allocator reports bug `what` about the printed block. */
static void expect_report(const char *cmd, const char *arg, const char *what, bool with_size) {
    run_result r = run_victim("debug", cmd, arg);
    if (r.addr[0] == '\0') {
        show(&r);
        fail_msg("the victim printed no block address");
    }
    expect_abort(&r);
    expect_contains(&r, "heap corruption");
    expect_contains(&r, what);
    expect_contains(&r, r.addr);
    if (with_size) {
        char size[64];
        snprintf(size, sizeof size, "size %zu", r.size);
        expect_contains(&r, size);
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
    expect_contains(&r, "buffer overrun");
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

static void expect_foreign_ignored(const char *mode, const char *arg) {
    run_result r = run_victim(mode, "foreign_free", arg);
    expect_exit0(&r);
    if (!strstr(r.out, "survived")) {
        show(&r);
        fail_msg("the victim did not go on after the foreign free");
    }
    assert_true(r.addr[0] != '\0');
    expect_contains(&r, "was not allocated by reclaim");
    expect_contains(&r, "ignored");
    expect_contains(&r, r.addr);
    if (strstr(r.err, "aborting")) {
        show(&r);
        fail_msg("the default mode aborted");
    }
}

static void test_default_foreign_free_stack(void **state) {
    (void)state;
    expect_foreign_ignored(NULL, "stack");
}

static void test_default_foreign_free_libc(void **state) {
    (void)state;
    expect_foreign_ignored(NULL, "libc");
}

/* A pointer into the middle of a live block was never given out either. */
static void test_default_foreign_free_interior(void **state) {
    (void)state;
    expect_foreign_ignored(NULL, "interior");
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
    expect_contains(&r, "RECLAIM_MALLOC=debgu");
    expect_contains(&r, "default, debug or malloc");
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
