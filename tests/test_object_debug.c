/*
 * test_object_debug.c — the checked reference operations and traverse
 * checks of a debug-checks build (RECLAIM_DEBUG_CHECKS >= 1), seen from
 * outside: each case runs tests/objdebug_victim.c in a child process,
 * captures its stdout and stderr, and checks that it died of SIGABRT after
 * a report that names the object's address (the victim prints it first),
 * its type and what went wrong.
 *
 *   (a) a count already at zero: decref twice after the last reference
 *       (a small object, a large one, one with an empty payload), incref
 *       of a freed object, decref from inside the destroy of the object
 *       being released
 *   (b) a count changed by a thread that does not own the object, while
 *       its owner is alive (incref by another thread, decref by main)
 *   (c) a traverse that visits something that is not a live object during
 *       rc_gc_collect: a dangling pointer to a freed object, a buffer from
 *       rc_malloc, one from the C library
 *   and the control: correct work exits 0 with nothing on stderr.
 *
 * Built with checks off (test_object_clean, the release build), only the
 * control runs: correct code stays clean and silent.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "test_spawn.h"

#if RC_OBJECT_CHECKS
/* {==== what the victim printed, how it ended ==== */

/* The address on the victim's line "<what> <address> ..." (static). */
static const char *printed(const run_result *r, const char *what) {
    static char addr[4][64];
    static int next;
    char key[32];
    snprintf(key, sizeof key, "%s ", what);
    const char *line = r->out;
    while (line && *line) {
        if (strncmp(line, key, strlen(key)) == 0) {
            char *a = addr[next++ % 4];
            if (sscanf(line + strlen(key), "%63s", a) == 1) return a;
        }
        line = strchr(line, '\n');
        if (line) line++;
    }
    show(r);
    fail_msg("the victim printed no \"%s\" line", what);
    return "";
}

static void expect_abort(const run_result *r) {
    if (!WIFSIGNALED(r->status) || WTERMSIG(r->status) != SIGABRT) {
        show(r);
        fail_msg("the victim was not killed by SIGABRT");
    }
    expect_err(r, "reclaim: aborting");
    if (strstr(r->out, "survived")) {
        show(r);
        fail_msg("the victim went on after the bug");
    }
}

/* The victim, run with cmd/arg, aborts with a report naming the object's
 * address and type and containing each of the phrases (NULL-terminated). */
static run_result expect_object_report(const char *cmd, const char *arg, const char *type, ...) {
    run_result r = run_victim(NULL, cmd, arg);
    expect_abort(&r);
    expect_err(&r, printed(&r, "object"));
    expect_err(&r, type);
    va_list ap;
    va_start(ap, type);
    for (const char *p; (p = va_arg(ap, const char *)) != NULL;) expect_err(&r, p);
    va_end(ap);
    return r;
}
/* }==== */

/* {==== (a) counts already at zero ==== */

static void test_double_decref(void **state) {
    (void)state;
    expect_object_report("double_decref", NULL, "objdebug_leaf", "rc_decref", "already zero", (char *)NULL);
}

static void test_double_decref_large(void **state) {
    (void)state;
    expect_object_report("double_decref", "large", "objdebug_big", "rc_decref", "already zero", (char *)NULL);
}

/* An object that is all header (a type with a 0-byte payload). */
static void test_double_decref_empty(void **state) {
    (void)state;
    expect_object_report("double_decref", "empty", "objdebug_empty", "rc_decref", "already zero", (char *)NULL);
}

static void test_incref_freed(void **state) {
    (void)state;
    expect_object_report("incref_freed", NULL, "objdebug_leaf", "rc_incref", "already zero", (char *)NULL);
}

static void test_decref_in_destroy(void **state) {
    (void)state;
    expect_object_report("decref_in_destroy", NULL, "objdebug_selfish", "rc_decref", "already zero", (char *)NULL);
}
/* }==== */

/* {==== (b) another thread's object ==== */

static void test_foreign_incref(void **state) {
    (void)state;
    expect_object_report("foreign_incref", NULL, "objdebug_node", "rc_incref", "does not own", (char *)NULL);
}

static void test_foreign_decref(void **state) {
    (void)state;
    /* the victim increfs first: either operation must be caught */
    expect_object_report("foreign_decref", NULL, "objdebug_node", "rc_incref", "does not own", (char *)NULL);
}
/* }==== */

/* {==== (c) traverse visits what is not a live object ==== */

/* The report names the bad pointer, says it is not a live object, and
 * names the type of the object whose traverse visited it. */
static void test_traverse_dangling(void **state) {
    (void)state;
    expect_object_report("traverse_dangling", NULL, "objdebug_holder", "traverse", "not a live object",
                         (char *)NULL);
}

static void expect_traverse_buffer(const char *how) {
    run_result r = run_victim(NULL, "traverse_buffer", how);
    expect_abort(&r);
    expect_err(&r, printed(&r, "pointer"));
    expect_err(&r, "traverse");
    expect_err(&r, "not a live object");
    expect_err(&r, "objdebug_holder");
}

static void test_traverse_rc_buffer(void **state) {
    (void)state;
    expect_traverse_buffer("rc");
}

static void test_traverse_libc_buffer(void **state) {
    (void)state;
    expect_traverse_buffer("libc");
}
/* }==== */
#endif

/* {==== the control: correct work is clean ==== */

static void test_control(void **state) {
    (void)state;
    run_result r = run_victim(NULL, "control", NULL);
    expect_exit0(&r);
    expect_out(&r, "ok");
    expect_silent(&r);
}
/* }==== */

int main(void) {
    const struct CMUnitTest tests[] = {
#if RC_OBJECT_CHECKS
        cmocka_unit_test(test_double_decref),
        cmocka_unit_test(test_double_decref_large),
        cmocka_unit_test(test_double_decref_empty),
        cmocka_unit_test(test_incref_freed),
        cmocka_unit_test(test_decref_in_destroy),
        cmocka_unit_test(test_foreign_incref),
        cmocka_unit_test(test_foreign_decref),
        cmocka_unit_test(test_traverse_dangling),
        cmocka_unit_test(test_traverse_rc_buffer),
        cmocka_unit_test(test_traverse_libc_buffer),
#endif
        cmocka_unit_test(test_control),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
