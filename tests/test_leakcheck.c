/*
 * test_leakcheck.c — leak checks. In process: rc_leakcheck_begin/end
 * catching a planted leak (with its references from outside the heap and
 * its allocation site when tracing), silent on a clean block, cyclic
 * garbage not counted, addresses reused inside the block, and the error
 * paths. At exit: leakcheck_victim run with RECLAIM_LEAKCHECK=1 / error /
 * unset: the report grouped by type with outside references, cycles kept
 * alive and the garbage list; exit status 1 with =error only when
 * something is alive, 0 otherwise.
 */
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "objgraph_util.h"
#include "test_capture.h"

#ifndef RC_LEAKCHECK_VICTIM
#error "RC_LEAKCHECK_VICTIM must name leakcheck_victim"
#endif

extern char **environ;

OG_NODE_TYPE(lc_node, "LcNode");
OG_NODE_TYPE(lc_other, "LcOther");

static int matching(const captured *c, const char *a, const char *b) {
    const char *needles[] = {a, b, NULL};
    return capture_count_matching(c, needles);
}

/* {==== in process ==== */

static void test_clean_block(void **state) {
    (void)state;
    void *outside = og_new(&lc_node, 1, NULL, NULL); /* made before: not the block's */
    assert_int_equal(rc_leakcheck_begin(), 0);
    void *a = og_new(&lc_node, 2, outside, NULL);
    void *l = rc_list_new();
    rc_list_append(l, a);
    rc_decref(a);
    rc_decref(l);
    /* a cycle dropped in the block is garbage, not a leak */
    void *x = og_new(&lc_node, 3, NULL, NULL), *y = og_new(&lc_node, 4, x, NULL);
    RC_SET(((og_node *)x)->a, y);
    rc_decref(x);
    rc_decref(y);
    captured *c = capture_begin();
    int64_t n = rc_leakcheck_end();
    capture_end();
    assert_int_equal(n, 0);
    assert_int_equal(c->count, 0);
    rc_decref(outside);
}

static void test_planted_leak(void **state) {
    (void)state;
    assert_int_equal(rc_leakcheck_begin(), 0);
    void *keep = og_new(&lc_other, 1, NULL, NULL);
    void *leak = og_new(&lc_node, 2, NULL, NULL);
    void *held = og_new(&lc_node, 3, leak, NULL); /* held by keep below */
    RC_SET(((og_node *)keep)->a, held);
    rc_decref(held);
    rc_incref(leak); /* the forgotten decref */
    rc_decref(leak);
    rc_decref(keep); /* frees keep and held; leak keeps one reference */
    captured *c = capture_begin();
    int64_t n = rc_leakcheck_end();
    capture_end();
    assert_int_equal(n, 1);
    assert_true(c->count >= 3);
    assert_int_equal(matching(c, "1 objects made since rc_leakcheck_begin still alive", "bytes"), 1);
    assert_int_equal(matching(c, "LcNode", "1 held from outside the heap (1 references)"), 1);
    assert_int_equal(matching(c, "LcNode(2)", "refcount 1, 1 from outside the heap"), 1);
    assert_int_equal(matching(c, "LcOther", "objects"), 0);
    assert_int_equal(matching(c, "site unknown (set RECLAIM_TRACEMALLOC=1)", "LcNode"), 1);
    rc_decref(leak);
}

static void test_leak_cycle(void **state) {
    (void)state;
    assert_int_equal(rc_leakcheck_begin(), 0);
    og_node *x = rc_new(&lc_node);
    og_node *y = rc_new(&lc_node);
    RC_SET(x->a, y);
    RC_SET(y->a, x);
    rc_decref(y); /* the cycle is held by the test's reference to x */
    captured *c = capture_begin();
    int64_t n = rc_leakcheck_end();
    capture_end();
    assert_int_equal(n, 2);
    assert_int_equal(matching(c, "2 objects made since rc_leakcheck_begin still alive", "80 bytes"), 1);
    assert_int_equal(matching(c, "cycle #", "kept alive: 2 objects (LcNode), held by 1 references from outside the cycle"),
                     1);
    assert_int_equal(matching(c, "in cycle #", "refcount 2, 1 from outside the heap"), 1);
    assert_int_equal(matching(c, "in cycle #", "refcount 1, 0 from outside the heap"), 1);
    rc_decref(x);
    assert_int_equal(rc_gc_collect(-1), 2);
}

/* With tracing on, the report names the allocation site. */
static void test_leak_site(void **state) {
    (void)state;
    assert_int_equal(rc_trace_start(4), 0);
    assert_int_equal(rc_leakcheck_begin(), 0);
    og_node *x = rc_new(&lc_node); /* the line named below */
    int line = __LINE__ - 1;
    captured *c = capture_begin();
    int64_t n = rc_leakcheck_end();
    capture_end();
    rc_trace_stop();
    assert_int_equal(n, 1);
    char site[64];
    snprintf(site, sizeof site, "test_leakcheck.c:%d in test_leak_site", line);
    assert_int_equal(matching(c, site, "LcNode"), 1);
    rc_decref(x);
}

static void test_reused_addresses(void **state) {
    (void)state;
    /* an object freed in the block and another made at its address: only
     * the second is the block's leak */
    void *before = og_new(&lc_node, 1, NULL, NULL);
    assert_int_equal(rc_leakcheck_begin(), 0);
    rc_decref(before);
    void *again = og_new(&lc_node, 2, NULL, NULL);
    void *gone = og_new(&lc_node, 3, NULL, NULL);
    rc_decref(gone);
    captured *c = capture_begin();
    assert_int_equal(rc_leakcheck_end(), 1);
    capture_end();
    assert_int_equal(matching(c, "LcNode(2)", "refcount 1"), 1);
    rc_decref(again);
}

static void test_errors(void **state) {
    (void)state;
    assert_int_equal(rc_leakcheck_end(), -1);
    assert_non_null(strstr(rc_last_error(), "rc_leakcheck_end: no leak check is running"));
    assert_int_equal(rc_leakcheck_begin(), 0);
    assert_int_equal(rc_leakcheck_begin(), -1);
    assert_non_null(strstr(rc_last_error(), "rc_leakcheck_begin: a leak check is already running"));
    assert_int_equal(rc_leakcheck_end(), 0);
    assert_int_equal(rc_leakcheck_end(), -1);
}
/* }==== */

/* {==== at exit: the victim ==== */

typedef struct run_out {
    int status;
    char out[1 << 14], err[1 << 16];
} run_out;

static void slurp_file(FILE *f, char *buf, size_t cap) {
    fflush(f);
    rewind(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Run the victim's subcommand with this environment minus RECLAIM_*, plus
 * var (may be NULL). */
static run_out *run(const char *var, const char *cmd) {
    static run_out r;
    static char *env[4096];
    size_t k = 0;
    for (size_t i = 0; environ[i] && k < 4090; i++)
        if (strncmp(environ[i], "RECLAIM_", 8) != 0) env[k++] = environ[i];
    if (var) env[k++] = (char *)var;
    env[k] = NULL;
    FILE *out = tmpfile(), *err = tmpfile();
    assert_non_null(out);
    assert_non_null(err);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fileno(out), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, fileno(err), STDERR_FILENO);
    char *argv[] = {(char *)RC_LEAKCHECK_VICTIM, (char *)cmd, NULL};
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, argv, env), 0);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(waitpid(pid, &r.status, 0), pid);
    slurp_file(out, r.out, sizeof r.out);
    slurp_file(err, r.err, sizeof r.err);
    return &r;
}

static void expect_exit(const run_out *r, int code) {
    if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != code)
        fail_msg("exit status %d (wanted %d); stderr:\n%s", WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1, code,
                 r->err);
    assert_string_equal(r->out, "main done\n");
}

static bool line_has(const char *text, const char *a, const char *b) {
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[1024];
        snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), line);
        if (strstr(buf, a) && (!b || strstr(buf, b))) return true;
        line += len + (end != NULL);
    }
    return false;
}

static void expect_line(const run_out *r, const char *a, const char *b) {
    if (!line_has(r->err, a, b)) fail_msg("no line with '%s' and '%s' in stderr:\n%s", a, b ? b : "", r->err);
}

static void test_exit_report(void **state) {
    (void)state;
    run_out *r = run("RECLAIM_LEAKCHECK=1", "leak");
    expect_exit(r, 0);
    expect_line(r, "reclaim: leakcheck: 4 objects still alive at exit", "by type and allocation site");
    expect_line(r, "         3 objects", "VictimLeak  at site unknown (set RECLAIM_TRACEMALLOC=1); 3 held from "
                                         "outside the heap (3 references)");
    expect_line(r, "         1 objects", "VictimOther");
    expect_line(r, "VictimLeak(1)", "refcount 2, 1 from outside the heap");
    expect_line(r, "garbage list", ": 0 objects");
}

static void test_exit_error_status(void **state) {
    (void)state;
    run_out *r = run("RECLAIM_LEAKCHECK=error", "leak");
    expect_exit(r, 1);
    expect_line(r, "4 objects still alive at exit", NULL);
    r = run("RECLAIM_LEAKCHECK=error", "clean");
    expect_exit(r, 0);
    assert_string_equal(r->err, "reclaim: leakcheck: no objects alive\n");
    r = run("RECLAIM_LEAKCHECK=1", "clean");
    expect_exit(r, 0);
    assert_string_equal(r->err, "reclaim: leakcheck: no objects alive\n");
    /* without the variable (or =0): silent, status 0 */
    r = run(NULL, "leak");
    expect_exit(r, 0);
    assert_string_equal(r->err, "");
    r = run("RECLAIM_LEAKCHECK=0", "leak");
    expect_exit(r, 0);
    assert_string_equal(r->err, "");
    /* a bad value: warned once, default (off) used */
    r = run("RECLAIM_LEAKCHECK=loud", "leak");
    expect_exit(r, 0);
    expect_line(r, "RECLAIM_LEAKCHECK=loud is not valid", "error");
}

static void test_exit_cycles_and_garbage(void **state) {
    (void)state;
    run_out *r = run("RECLAIM_LEAKCHECK=1", "cycle");
    expect_exit(r, 0);
    expect_line(r, "3 objects still alive at exit", NULL);
    expect_line(r, "cycle #1 kept alive: 2 objects (VictimCycle)", "held by 1 references from outside the cycle");
    expect_line(r, "VictimLeak(9)", "refcount 1, 1 from outside the heap");
    r = run("RECLAIM_LEAKCHECK=error", "garbage");
    expect_exit(r, 1);
    expect_line(r, "garbage list", ": 2 objects");
    expect_line(r, "garbage 0x", "VictimCycle(1)");
}

static void test_exit_site(void **state) {
    (void)state;
    run_out *r = run("RECLAIM_LEAKCHECK=1", "traced");
    expect_exit(r, 0);
    expect_line(r, "VictimLeak  at ", "leakcheck_victim.c:75 in traced_main");
}
/* }==== */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_block),
        cmocka_unit_test(test_planted_leak),
        cmocka_unit_test(test_leak_cycle),
        cmocka_unit_test(test_reused_addresses),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_exit_report),
        cmocka_unit_test(test_exit_error_status),
        cmocka_unit_test(test_exit_cycles_and_garbage),
        cmocka_unit_test(test_leak_site),
        cmocka_unit_test(test_exit_site),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
