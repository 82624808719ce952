/*
 * test_trace_env.c — tracing from the environment (src/prof/tracefile.c):
 * RECLAIM_TRACEMALLOC starts tracing before main, RECLAIM_TRACE_FILE gets
 * a snapshot at exit and one per trace signal (SIGUSR2, or SIGUSR1 with
 * RECLAIM_TRACE_SIGNAL=usr1), a forked child writes its own file named
 * after its pid with only its own traces, and a bad value is reported and
 * ignored. Each case runs this binary again as a child with the variables
 * set (the constructor reads them at start-up) and then loads the files it
 * wrote.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "reclaim.h"

static char self[4096];
static unsigned site_line; /* the line of the workload's allocations */

/* 100 blocks of 32 bytes at one call site, kept alive. */
static void **workload(void) {
    void **v = (rc_malloc)(100 * sizeof *v);
    site_line = __LINE__ + 1;
    for (int i = 0; i < 100; i++) v[i] = rc_malloc(32);
    return v;
}

static bool exists(const char *path) { return access(path, F_OK) == 0; }

static void wait_for(const char *path) {
    for (int i = 0; i < 500 && !exists(path); i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* {==== the child ==== */

static int child(const char *mode, const char *path) {
    void **v = workload();
    printf("line %u tracing %d\n", site_line, rc_trace_is_tracing());
    fflush(stdout);
    if (strcmp(mode, "signal") == 0 || strcmp(mode, "usr1") == 0) {
        char first[4200];
        snprintf(first, sizeof first, "%s.1", path);
        raise(strcmp(mode, "usr1") == 0 ? SIGUSR1 : SIGUSR2);
        wait_for(first);
        if (!exists(first)) return 4;
    } else if (strcmp(mode, "fork") == 0) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) return 5;
        if (pid == 0) {
            /* the child's own blocks: 50 of 100 bytes */
            static void *mine[50];
            for (int i = 0; i < 50; i++) mine[i] = rc_malloc(100);
            printf("child %d %p\n", (int)getpid(), mine[49]);
            fflush(stdout);
            exit(0); /* its snapshot at exit goes to PATH.PID */
        }
        int st;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return 6;
    }
    (void)v; /* alive at exit: the snapshot at exit holds them */
    return 0;
}
/* }==== */

typedef struct result {
    int status;
    char out[4096], err[4096];
} result;

static void slurp(const char *file, char *buf, size_t size) {
    FILE *f = fopen(file, "r");
    size_t n = f ? fread(buf, 1, size - 1, f) : 0;
    buf[n] = '\0';
    if (f) fclose(f);
}

/* Run this binary as a child with env (NULL-terminated NAME=VALUE list). */
static void run(result *r, const char *mode, const char *path, const char *const *env) {
    char out[256], err[256];
    snprintf(out, sizeof out, "%s/trace-env-%d.out", RC_TEST_BINARY_DIR, (int)getpid());
    snprintf(err, sizeof err, "%s/trace-env-%d.err", RC_TEST_BINARY_DIR, (int)getpid());
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen(out, "w", stdout) || !freopen(err, "w", stderr)) _exit(99);
        unsetenv("RECLAIM_TRACEMALLOC");
        unsetenv("RECLAIM_TRACE_FILE");
        unsetenv("RECLAIM_TRACE_SIGNAL");
        for (int i = 0; env[i]; i++) putenv((char *)env[i]);
        execl(self, self, "--child", mode, path, (char *)NULL);
        _exit(98);
    }
    int st;
    waitpid(pid, &st, 0);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    slurp(out, r->out, sizeof r->out);
    slurp(err, r->err, sizeof r->err);
    unlink(out);
    unlink(err);
}

/* The size and count of the row at the workload's line, by line. */
static void site_row(const char *file, unsigned line, size_t *size, size_t *count) {
    rc_snapshot *s = rc_snapshot_load(file);
    if (!s) fail_msg("cannot load %s: %s", file, rc_last_error());
    rc_trace_stat *rows;
    int64_t n = rc_snapshot_statistics(s, RC_BY_LINE, &rows);
    *size = *count = 0;
    for (int64_t i = 0; i < n; i++)
        if (rows[i].frames[0].line == line && strstr(rows[i].frames[0].file, "test_trace_env.c")) {
            *size = rows[i].size;
            *count = rows[i].count;
        }
    rc_free(rows);
    rc_snapshot_free(s);
}

static void path_for(char *buf, size_t size, const char *name) {
    snprintf(buf, size, "%s/%s-%d.rcsnap", RC_TEST_BINARY_DIR, name, (int)getpid());
}

static void test_at_exit(void **state) {
    (void)state;
    char path[512], file_env[600];
    path_for(path, sizeof path, "exit");
    snprintf(file_env, sizeof file_env, "RECLAIM_TRACE_FILE=%s", path);
    const char *env[] = {"RECLAIM_TRACEMALLOC=1", file_env, NULL};
    result r;
    run(&r, "plain", path, env);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    unsigned line;
    int tracing;
    assert_int_equal(sscanf(r.out, "line %u tracing %d", &line, &tracing), 2);
    assert_int_equal(tracing, 1);
    size_t size, count;
    site_row(path, line, &size, &count);
    assert_int_equal(size, 3200);
    assert_int_equal(count, 100);
    unlink(path);
}

static void test_off_and_bad_value(void **state) {
    (void)state;
    char path[512], file_env[600];
    path_for(path, sizeof path, "off");
    snprintf(file_env, sizeof file_env, "RECLAIM_TRACE_FILE=%s", path);
    const char *env[] = {file_env, NULL}; /* a file without RECLAIM_TRACEMALLOC: no tracing */
    result r;
    run(&r, "plain", path, env);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "tracing 0"));
    assert_false(exists(path));
    const char *bad[] = {"RECLAIM_TRACEMALLOC=65", file_env, NULL};
    run(&r, "plain", path, bad);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "tracing 0"));
    assert_non_null(strstr(r.err, "RECLAIM_TRACEMALLOC=65 is not valid (accepted: a count of frames from 0 (off) to 64)"));
    assert_false(exists(path));
}

static void signal_case(const char *mode, const char *extra) {
    char path[512], file_env[600], first[600];
    path_for(path, sizeof path, mode);
    snprintf(file_env, sizeof file_env, "RECLAIM_TRACE_FILE=%s", path);
    snprintf(first, sizeof first, "%s.1", path);
    const char *env[] = {"RECLAIM_TRACEMALLOC=2", file_env, extra, NULL};
    result r;
    run(&r, mode, path, env);
    if (r.status != 0) fail_msg("child status %d, stderr: %s", r.status, r.err);
    unsigned line;
    assert_int_equal(sscanf(r.out, "line %u", &line), 1);
    size_t size, count;
    site_row(first, line, &size, &count); /* written on the signal, while running */
    assert_int_equal(size, 3200);
    site_row(path, line, &size, &count); /* and the one at exit */
    assert_int_equal(count, 100);
    unlink(first);
    unlink(path);
}

static void test_signal(void **state) {
    (void)state;
    signal_case("signal", NULL);
}

static void test_signal_usr1(void **state) {
    (void)state;
    signal_case("usr1", "RECLAIM_TRACE_SIGNAL=usr1");
}

static void test_fork(void **state) {
    (void)state;
    char path[512], file_env[600], child_file[600];
    path_for(path, sizeof path, "fork");
    snprintf(file_env, sizeof file_env, "RECLAIM_TRACE_FILE=%s", path);
    const char *env[] = {"RECLAIM_TRACEMALLOC=1", file_env, NULL};
    result r;
    run(&r, "fork", path, env);
    assert_int_equal(r.status, 0);
    unsigned line;
    int pid;
    assert_int_equal(sscanf(r.out, "line %u", &line), 1);
    const char *c = strstr(r.out, "child ");
    assert_non_null(c);
    assert_int_equal(sscanf(c, "child %d", &pid), 1);
    snprintf(child_file, sizeof child_file, "%s.%d", path, pid);
    /* the parent's file has the workload, the child's does not (it started
     * fresh) but has its own 50 blocks of 100 bytes */
    size_t size, count;
    site_row(path, line, &size, &count);
    assert_int_equal(count, 100);
    site_row(child_file, line, &size, &count);
    assert_int_equal(count, 0);
    rc_snapshot *s = rc_snapshot_load(child_file);
    assert_non_null(s);
    size_t total, blocks;
    rc_snapshot_totals(s, &total, &blocks, NULL);
    assert_true(blocks >= 50);
    assert_true(total >= 5000);
    rc_snapshot_free(s);
    unlink(path);
    unlink(child_file);
}

int main(int argc, char **argv) {
    if (argc >= 4 && strcmp(argv[1], "--child") == 0) return child(argv[2], argv[3]);
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return 1;
    self[n] = '\0';
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_at_exit),  cmocka_unit_test(test_off_and_bad_value), cmocka_unit_test(test_signal),
        cmocka_unit_test(test_signal_usr1), cmocka_unit_test(test_fork),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
