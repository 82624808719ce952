/*
 * test_gc_options.c — the collector's options and rc_shutdown, seen from
 * outside. The options are read once per process (the collector's settings
 * once more, by _rc_gc_settings_init, before the first object), so each
 * case runs this program again in a child process, with a subcommand and
 * the variables set, and checks its output and how it ended.
 *
 *   RECLAIM_GC_THRESHOLD=100,5,5   thresholds at start-up, and automatic
 *                                  collection follows them; 0,... turns it
 *                                  off
 *   malformed thresholds           reported once on stderr, naming the
 *                                  variable and the accepted forms; the
 *                                  default 700,10,10 is kept
 *   RECLAIM_GC_DEBUG=stats,saveall / leak / a bad value
 *   RECLAIM_LEAKCHECK=1            objects still alive at exit, counted by
 *                                  type (after the final collection)
 *   rc_shutdown                    at exit or called: a final full
 *                                  collection (this thread's world and the
 *                                  orphans') runs the destroy of garbage
 *                                  cycles, then the pending
 *                                  rc_finalize_on_death functions; once
 *   a plain run                    prints nothing on stderr
 *
 * The child side is child_main(): this file's main() runs it when argv[1]
 * is "child". Its reports go to stdout with write(2), unbuffered, so they
 * stay in order with the ones made during exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "reclaim.h"

extern char **environ;

/* {==== the child ==== */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n > sizeof buf - 2) n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(STDOUT_FILENO, buf + off, (size_t)(n - off));
        if (w <= 0) break;
        off += w;
    }
}

typedef struct cnode {
    void *a, *b;
    const char *name;  /* said by destroy when set */
} cnode;

static int cnode_traverse(void *self, rc_visit_fn visit, void *arg) {
    cnode *n = self;
    int r = visit(n->a, arg);
    return r ? r : visit(n->b, arg);
}

static void cnode_clear(void *self) {
    cnode *n = self;
    RC_CLEAR(n->a);
    RC_CLEAR(n->b);
}

static void cnode_destroy(void *self) {
    cnode *n = self;
    if (n->name) say("destroy %s", n->name);
    RC_CLEAR(n->a);
    RC_CLEAR(n->b);
}

static const rc_type cnode_type = {
    .name = "optnode",
    .size = sizeof(cnode),
    .traverse = cnode_traverse,
    .clear = cnode_clear,
    .destroy = cnode_destroy,
};

static const rc_type cycle_type = {
    .name = "optcycle",
    .size = sizeof(cnode),
    .traverse = cnode_traverse,
    .clear = cnode_clear,
    .destroy = cnode_destroy,
};

static const rc_type leaky_type = {
    .name = "leaky",
    .size = 24,
};

static const rc_type other_leak_type = {
    .name = "otherleak",
    .size = 40,
};

static cnode *child_new(const rc_type *t, const char *name) {
    cnode *n = rc_new(t);
    if (!n) {
        say("rc_new failed: %s", rc_last_error());
        exit(3);
    }
    n->name = name;
    return n;
}

/* A garbage cycle of two objects of type t. */
static void child_cycle(const rc_type *t, const char *name) {
    cnode *x = child_new(t, name), *y = child_new(t, name);
    RC_SET(x->a, y);
    RC_SET(y->a, x);
    rc_decref(x);
    rc_decref(y);
}

static size_t gen0_collections;

static void count_cb(rc_gc_phase phase, const rc_gc_info *info, void *arg) {
    (void)arg;
    if (phase == RC_GC_STOP && info->generation == 0) gen0_collections++;
}

/* The settings in effect, and whether automatic collection follows the
 * thresholds: "auto <collections after t0 objects> <after one more>". */
static int child_show(void) {
    size_t t[3];
    rc_gc_get_threshold(t);
    say("threshold %zu %zu %zu", t[0], t[1], t[2]);
    say("debug %u", rc_gc_get_debug());
    say("enabled %d", rc_gc_isenabled() ? 1 : 0);
    rc_gc_callback_add(count_cb, NULL);
    size_t n = t[0] ? t[0] : 1000;
    cnode **keep = rc_malloc((n + 1) * sizeof *keep);
    if (!keep) return 3;
    for (size_t i = 0; i < n; i++) keep[i] = child_new(&cnode_type, NULL);
    size_t after_t0 = gen0_collections;
    keep[n] = child_new(&cnode_type, NULL);
    say("auto %zu %zu", after_t0, gen0_collections);
    for (size_t i = 0; i <= n; i++) rc_decref(keep[i]);
    rc_free(keep);
    /* the options are not read again */
    void *p = rc_malloc(100);
    rc_free(p);
    rc_gc_collect(-1);
    return 0;
}

static int count_visit(void *obj, void *arg) {
    (void)obj;
    ++*(size_t *)arg;
    return 0;
}

/* The debug flags, and what they do to a collection of one garbage cycle:
 * "garbage <objects in the garbage list>". */
static int child_flags(void) {
    say("debug %u", rc_gc_get_debug());
    child_cycle(&cycle_type, NULL);
    size_t found = rc_gc_collect(-1);
    size_t garbage = rc_gc_garbage(NULL, NULL);
    say("found %zu garbage %zu", found, garbage);
    return 0;
}

/* Three objects of type "leaky" and one "otherleak" never released, a
 * garbage cycle the final collection frees, and an immortal object (an
 * interned str: alive by design, never reported). */
static int child_leaky(void) {
    for (int i = 0; i < 3; i++) {
        void *p = rc_new(&leaky_type);
        if (!p) return 3;
    }
    if (!rc_new(&other_leak_type)) return 3;
    if (!rc_str_intern_cstr("an interned text")) return 3;
    child_cycle(&cycle_type, "exitcycle");
    say("main done");
    return 0;
}

static void fod_say(void *arg) { say("fod %s", (const char *)arg); }

/* An orphaned garbage cycle (its thread has exited). */
static void *orphan_cycle_thread(void *arg) {
    (void)arg;
    child_cycle(&cnode_type, "orphan");
    return NULL;
}

/* Garbage cycles at exit (one of this thread, one orphaned), and
 * finalize_on_death on an object that dies before exit, one that stays
 * alive and a member of a garbage cycle. arg "explicit": rc_shutdown is
 * called (twice) before returning; otherwise it runs at exit. */
static int child_shutdown(const char *how) {
    pthread_t t;
    if (pthread_create(&t, NULL, orphan_cycle_thread, NULL) != 0) return 3;
    pthread_join(t, NULL);
    cnode *x = child_new(&cycle_type, "cycle"), *y = child_new(&cycle_type, "cycle");
    RC_SET(x->a, y);
    RC_SET(y->a, x);
    rc_finalize_on_death(x, fod_say, "cyclemember");
    rc_decref(x);
    rc_decref(y);
    cnode *dies = child_new(&cnode_type, "dies");
    rc_finalize_on_death(dies, fod_say, "dead");
    rc_decref(dies);
    cnode *lives = child_new(&cnode_type, NULL); /* never released */
    rc_finalize_on_death(lives, fod_say, "alive");
    if (how && strcmp(how, "explicit") == 0) {
        say("shutdown");
        rc_shutdown();
        say("shutdown again");
        rc_shutdown();
    }
    say("main done");
    return 0;
}

static void *plain_thread(void *arg) {
    (void)arg;
    for (int i = 0; i < 100; i++) child_cycle(&cnode_type, NULL);
    rc_gc_collect(0);
    for (int i = 0; i < 10; i++) child_cycle(&cnode_type, NULL);
    return NULL;
}

static void weak_cb(rc_weakref *ref, void *arg) {
    (void)ref;
    ++*(size_t *)arg;
}

static void fod_count(void *arg) { ++*(size_t *)arg; }

/* Ordinary work, no options: nothing on stderr. */
static int child_plain(void) {
    size_t cbs = 0, fods = 0, tracked = 0;
    for (int i = 0; i < 2000; i++) child_cycle(&cnode_type, NULL); /* automatic collections */
    cnode *x = child_new(&cnode_type, NULL);
    rc_weakref *w = rc_weakref_new(x, weak_cb, &cbs);
    rc_finalize_on_death(x, fod_count, &fods);
    RC_SET(x->a, x);
    rc_decref(x);
    rc_gc_collect(-1);
    rc_gc_get_objects(-1, count_visit, &tracked);
    rc_gc_garbage_clear();
    pthread_t t;
    if (pthread_create(&t, NULL, plain_thread, NULL) != 0) return 3;
    pthread_join(t, NULL);
    rc_gc_collect(-1);
    say("callbacks %zu fod %zu weak %s", cbs, fods, rc_weakref_get(w) ? "alive" : "dead");
    rc_decref(w);
    child_cycle(&cnode_type, NULL); /* for the final collection */
    rc_new(&leaky_type);            /* a leak, not reported without RECLAIM_LEAKCHECK */
    return 0;
}

static int child_main(int argc, char **argv) {
    const char *cmd = argc > 2 ? argv[2] : "";
    const char *arg = argc > 3 ? argv[3] : NULL;
    if (strcmp(cmd, "show") == 0) return child_show();
    if (strcmp(cmd, "flags") == 0) return child_flags();
    if (strcmp(cmd, "leaky") == 0) return child_leaky();
    if (strcmp(cmd, "shutdown") == 0) return child_shutdown(arg);
    if (strcmp(cmd, "plain") == 0) return child_plain();
    say("unknown child command %s", cmd);
    return 2;
}
/* }==== */

/* {==== running a child ==== */

typedef struct run_result {
    int status;
    char out[1 << 16];
    char err[1 << 16];
} run_result;

static char *slurp(FILE *f, char *buf, size_t cap) {
    fflush(f);
    rewind(f);
    size_t got = fread(buf, 1, cap - 1, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

/* This program as a child: "child cmd [arg]", with this environment minus
 * every RECLAIM_* variable, plus var (may be NULL: "NAME=VALUE"). */
static run_result *run(const char *var, const char *cmd, const char *arg) {
    static run_result r;
    static char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    assert_true(len > 0);
    self[len] = '\0';
    static char *env[4096];
    size_t k = 0;
    for (size_t i = 0; environ[i] && k + 2 < sizeof env / sizeof env[0]; i++)
        if (strncmp(environ[i], "RECLAIM_", 8) != 0) env[k++] = environ[i];
    if (var) env[k++] = (char *)var;
    env[k] = NULL;
    char *argv[] = {self, "child", (char *)cmd, (char *)arg, NULL};

    FILE *out = tmpfile(), *err = tmpfile();
    assert_non_null(out);
    assert_non_null(err);
    posix_spawn_file_actions_t fa;
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, fileno(out), STDOUT_FILENO), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, fileno(err), STDERR_FILENO), 0);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, self, &fa, NULL, argv, env), 0);
    posix_spawn_file_actions_destroy(&fa);
    while (waitpid(pid, &r.status, 0) < 0) assert_int_equal(errno, EINTR);
    slurp(out, r.out, sizeof r.out);
    slurp(err, r.err, sizeof r.err);
    return &r;
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

static void expect_in(const run_result *r, const char *text, const char *what, const char *where) {
    if (!strstr(text, what)) {
        show(r);
        fail_msg("%s does not contain \"%s\"", where, what);
    }
}

static void expect_out(const run_result *r, const char *what) { expect_in(r, r->out, what, "stdout"); }
static void expect_err(const run_result *r, const char *what) { expect_in(r, r->err, what, "stderr"); }

static void expect_not_in(const run_result *r, const char *text, const char *what, const char *where) {
    if (strstr(text, what)) {
        show(r);
        fail_msg("%s contains \"%s\"", where, what);
    }
}

/* Occurrences of what in text. */
static int occurrences(const char *text, const char *what) {
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)) != NULL; p += strlen(what)) n++;
    return n;
}

/* Lines of text that contain every one of the NULL-terminated words. */
static int lines_with(const char *text, ...) {
    int n = 0;
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[1024];
        snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), line);
        bool all = true;
        va_list ap;
        va_start(ap, text);
        for (const char *w; (w = va_arg(ap, const char *)) != NULL;)
            if (!strstr(buf, w)) all = false;
        va_end(ap);
        n += all;
        line += len + (end != NULL);
    }
    return n;
}

/* Where what starts in text; fails when absent. */
static size_t position(const run_result *r, const char *text, const char *what) {
    const char *p = strstr(text, what);
    if (!p) {
        show(r);
        fail_msg("\"%s\" not found", what);
    }
    return (size_t)(p - text);
}
/* }==== */

/* {==== RECLAIM_GC_THRESHOLD ==== */

static void test_threshold_default(void **state) {
    (void)state;
    run_result *r = run(NULL, "show", NULL);
    expect_exit0(r);
    expect_silent(r);
    expect_out(r, "threshold 700 10 10\n");
    expect_out(r, "debug 0\n");
    expect_out(r, "enabled 1\n");
    expect_out(r, "auto 0 1\n");
}

static void test_threshold_set(void **state) {
    (void)state;
    run_result *r = run("RECLAIM_GC_THRESHOLD=100,5,5", "show", NULL);
    expect_exit0(r);
    expect_silent(r);
    expect_out(r, "threshold 100 5 5\n");
    expect_out(r, "auto 0 1\n");
    r = run("RECLAIM_GC_THRESHOLD=2000,1,2", "show", NULL);
    expect_exit0(r);
    expect_silent(r);
    expect_out(r, "threshold 2000 1 2\n");
    expect_out(r, "auto 0 1\n");
}

static void test_threshold_zero_disables(void **state) {
    (void)state;
    run_result *r = run("RECLAIM_GC_THRESHOLD=0,10,10", "show", NULL);
    expect_exit0(r);
    expect_silent(r);
    expect_out(r, "threshold 0 10 10\n");
    expect_out(r, "auto 0 0\n");
}

static void test_threshold_malformed(void **state) {
    (void)state;
    static const char *const bad[] = {
        "abc", "100,5", "100,5,5,5", "100,,5", "-1,5,5", "100 5 5", "100;5;5", "3000000,5,5", "100,5,5x", ",100,5,5",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char var[128];
        snprintf(var, sizeof var, "RECLAIM_GC_THRESHOLD=%s", bad[i]);
        run_result *r = run(var, "show", NULL);
        expect_exit0(r);
        expect_out(r, "threshold 700 10 10\n");
        expect_out(r, "auto 0 1\n");
        /* once, naming the variable, the value and the accepted forms */
        if (occurrences(r->err, "RECLAIM_GC_THRESHOLD") != 1 || occurrences(r->err, "\n") != 1) {
            show(r);
            fail_msg("%s: not reported exactly once, in one line", var);
        }
        expect_err(r, var);
        expect_err(r, "700,10,10");
        expect_err(r, "accepted");
    }
}
/* }==== */

/* {==== RECLAIM_GC_DEBUG ==== */

static void test_debug_stats_saveall(void **state) {
    (void)state;
    run_result *r = run("RECLAIM_GC_DEBUG=stats,saveall", "flags", NULL);
    expect_exit0(r);
    char want[64];
    snprintf(want, sizeof want, "debug %u\n", RC_GC_DEBUG_STATS | RC_GC_DEBUG_SAVEALL);
    expect_out(r, want);
    /* saveall: the cycle stays, in the garbage list */
    expect_out(r, "found 2 garbage 2\n");
    /* stats: a report of the collection on stderr */
    expect_err(r, "gc: collecting generation 2");
    expect_err(r, "gc: done");
    expect_not_in(r, r->err, "optcycle", "stderr");
}

static void test_debug_leak(void **state) {
    (void)state;
    run_result *r = run("RECLAIM_GC_DEBUG=leak", "flags", NULL);
    expect_exit0(r);
    char want[64];
    snprintf(want, sizeof want, "debug %u\n", RC_GC_DEBUG_LEAK);
    expect_out(r, want);
    expect_out(r, "found 2 garbage 2\n");
    /* collectable: each object of the cycle is printed, with its type */
    if (lines_with(r->err, "collectable", "optcycle", (char *)NULL) < 2) {
        show(r);
        fail_msg("the two collectable objects are not printed");
    }
    expect_not_in(r, r->err, "collecting generation", "stderr");
}

static void test_debug_combined(void **state) {
    (void)state;
    run_result *r = run("RECLAIM_GC_DEBUG=collectable,uncollectable", "flags", NULL);
    expect_exit0(r);
    char want[64];
    snprintf(want, sizeof want, "debug %u\n", RC_GC_DEBUG_COLLECTABLE | RC_GC_DEBUG_UNCOLLECTABLE);
    expect_out(r, want);
    expect_out(r, "found 2 garbage 0\n");
}

static void test_debug_malformed(void **state) {
    (void)state;
    static const char *const bad[] = {"bogus", "stats,bogus", "stats;saveall", "1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char var[128];
        snprintf(var, sizeof var, "RECLAIM_GC_DEBUG=%s", bad[i]);
        run_result *r = run(var, "flags", NULL);
        expect_exit0(r);
        expect_out(r, "debug 0\n");
        expect_out(r, "found 2 garbage 0\n");
        if (occurrences(r->err, "RECLAIM_GC_DEBUG") != 1 || occurrences(r->err, "\n") != 1) {
            show(r);
            fail_msg("%s: not reported exactly once, in one line", var);
        }
        expect_err(r, var);
        expect_err(r, "saveall");
        expect_err(r, "leak");
    }
}
/* }==== */

/* {==== RECLAIM_LEAKCHECK ==== */

static bool is_count_line(const char *err, const char *type, const char *count) {
    /* a line naming the type whose words include the count */
    for (const char *line = err; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[1024];
        snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), line);
        if (strstr(buf, type)) {
            char *save = NULL;
            for (char *w = strtok_r(buf, " \t:,()", &save); w; w = strtok_r(NULL, " \t:,()", &save))
                if (strcmp(w, count) == 0) return true;
        }
        line += len + (end != NULL);
    }
    return false;
}

static void test_leakcheck(void **state) {
    (void)state;
    run_result *r = run("RECLAIM_LEAKCHECK=1", "leaky", NULL);
    expect_exit0(r);
    expect_out(r, "main done\n");
    if (!is_count_line(r->err, "leaky", "3") || !is_count_line(r->err, "otherleak", "1")) {
        show(r);
        fail_msg("no line counting 3 leaky and 1 otherleak");
    }
    /* the final collection ran first: the cycle is gone, not reported */
    expect_out(r, "destroy exitcycle\n");
    expect_not_in(r, r->err, "optcycle", "stderr");
    expect_not_in(r, r->err, " str", "stderr"); /* the immortal interned str */
}

static void test_leakcheck_off(void **state) {
    (void)state;
    run_result *r = run(NULL, "leaky", NULL);
    expect_exit0(r);
    expect_silent(r);
    r = run("RECLAIM_LEAKCHECK=0", "leaky", NULL);
    expect_exit0(r);
    expect_silent(r);
}
/* }==== */

/* {==== rc_shutdown ==== */

static void expect_shutdown_work(const run_result *r) {
    expect_exit0(r);
    expect_silent(r);
    /* the final collection freed both garbage cycles */
    assert_int_equal(occurrences(r->out, "destroy cycle\n"), 2);
    assert_int_equal(occurrences(r->out, "destroy orphan\n"), 2);
    /* each finalize_on_death function ran exactly once */
    assert_int_equal(occurrences(r->out, "fod dead\n"), 1);
    assert_int_equal(occurrences(r->out, "fod cyclemember\n"), 1);
    assert_int_equal(occurrences(r->out, "fod alive\n"), 1);
    assert_int_equal(occurrences(r->out, "destroy dies\n"), 1);
    /* "dead" fired when its object died, before the end of main */
    assert_true(position(r, r->out, "fod dead\n") < position(r, r->out, "main done\n"));
}

static void test_shutdown_at_exit(void **state) {
    (void)state;
    run_result *r = run(NULL, "shutdown", NULL);
    expect_shutdown_work(r);
    size_t done = position(r, r->out, "main done\n");
    assert_true(position(r, r->out, "destroy cycle\n") > done);
    assert_true(position(r, r->out, "destroy orphan\n") > done);
    assert_true(position(r, r->out, "fod alive\n") > done);
    assert_true(position(r, r->out, "fod cyclemember\n") > done);
}

static void test_shutdown_explicit(void **state) {
    (void)state;
    run_result *r = run(NULL, "shutdown", "explicit");
    expect_shutdown_work(r);
    /* all of it inside the first rc_shutdown; the second did nothing */
    size_t start = position(r, r->out, "shutdown\n"), again = position(r, r->out, "shutdown again\n");
    const char *inside[] = {"destroy cycle\n", "destroy orphan\n", "fod alive\n", "fod cyclemember\n"};
    for (size_t i = 0; i < sizeof inside / sizeof inside[0]; i++) {
        size_t at = position(r, r->out, inside[i]);
        if (at < start || at > again) {
            show(r);
            fail_msg("\"%s\" not printed inside rc_shutdown", inside[i]);
        }
    }
}
/* }==== */

/* {==== a plain run ==== */

static void test_plain_run_is_silent(void **state) {
    (void)state;
    run_result *r = run(NULL, "plain", NULL);
    expect_exit0(r);
    expect_silent(r);
    expect_out(r, "callbacks 1 fod 1 weak dead\n");
}
/* }==== */

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) return child_main(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threshold_default),
        cmocka_unit_test(test_threshold_set),
        cmocka_unit_test(test_threshold_zero_disables),
        cmocka_unit_test(test_threshold_malformed),
        cmocka_unit_test(test_debug_stats_saveall),
        cmocka_unit_test(test_debug_leak),
        cmocka_unit_test(test_debug_combined),
        cmocka_unit_test(test_debug_malformed),
        cmocka_unit_test(test_leakcheck),
        cmocka_unit_test(test_leakcheck_off),
        cmocka_unit_test(test_shutdown_at_exit),
        cmocka_unit_test(test_shutdown_explicit),
        cmocka_unit_test(test_plain_run_is_silent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
