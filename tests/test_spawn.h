/*
 * test_spawn.h — running a program in a child process with a clean
 * environment and capturing what it writes, for the tests that run
 * tests/debug_victim.c (test_debug_alloc.c, test_system_mode.c).
 *
 * The child gets this process's environment minus every RECLAIM_*
 * variable, plus RECLAIM_MALLOC=<mode> when a mode is given; its stdout and
 * stderr go to temporary files and come back NUL-terminated in static
 * buffers (so a failed assertion, which longjmps out of the test, leaks
 * nothing; each run overwrites the last one's output).
 *
 * Everything is static inline, so a file that uses only part of it
 * compiles without warnings. RC_DEBUG_VICTIM names the victim executable.
 */
#ifndef RC_TEST_SPAWN_H
#define RC_TEST_SPAWN_H

#include <errno.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#ifndef RC_DEBUG_VICTIM
#error "RC_DEBUG_VICTIM must name the debug_victim executable"
#endif

extern char **environ;

typedef struct run_result {
    int status;    /* from waitpid */
    char *out;     /* stdout, NUL-terminated (static storage) */
    char *err;     /* stderr, NUL-terminated (static storage) */
    char addr[64]; /* the address from "block <addr> size <n>", or "" */
    size_t size;   /* the size from that line, or 0 */
} run_result;

/* The whole of the temporary file f in buf (at most cap - 1 bytes and a
 * NUL); closes f. */
static inline char *slurp(FILE *f, char *buf, size_t cap) {
    fflush(f);
    rewind(f);
    size_t got = fread(buf, 1, cap - 1, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

/* Run argv (argv[0] is the program's path) in the clean environment, plus
 * RECLAIM_MALLOC=mode unless mode is NULL, and wait for it. */
static inline run_result run_child(char *const argv[], const char *mode) {
    static char out_buf[1 << 16], err_buf[1 << 16];
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
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, argv, env), 0);
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

/* Run the victim with argv[1..] = cmd, arg (arg may be NULL) and
 * RECLAIM_MALLOC=mode unless mode is NULL. */
static inline run_result run_victim(const char *mode, const char *cmd, const char *arg) {
    char *argv[] = {(char *)RC_DEBUG_VICTIM, (char *)cmd, (char *)arg, NULL};
    return run_child(argv, mode);
}

static inline void show(const run_result *r) {
    print_message("child status %#x\n--- stdout ---\n%s--- stderr ---\n%s--------------\n", r->status, r->out,
                  r->err);
}

static inline void expect_exit0(const run_result *r) {
    if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0) {
        show(r);
        fail_msg("the child did not exit with status 0");
    }
}

static inline void expect_silent(const run_result *r) {
    if (r->err[0] != '\0') {
        show(r);
        fail_msg("the child wrote to stderr");
    }
}

static inline void expect_out(const run_result *r, const char *what) {
    if (!strstr(r->out, what)) {
        show(r);
        fail_msg("stdout does not contain \"%s\"", what);
    }
}

static inline void expect_err(const run_result *r, const char *what) {
    if (!strstr(r->err, what)) {
        show(r);
        fail_msg("stderr does not contain \"%s\"", what);
    }
}

/* A bad free (victim subcommand cmd, arg) with RECLAIM_MALLOC=mode (unset
 * when NULL) is reported on stderr with the block's address and ignored:
 * the victim goes on and exits normally. */
static inline void expect_bad_free_ignored(const char *mode, const char *cmd, const char *arg) {
    run_result r = run_victim(mode, cmd, arg);
    expect_exit0(&r);
    expect_out(&r, "survived");
    assert_true(r.addr[0] != '\0');
    expect_err(&r, "was not allocated by reclaim");
    expect_err(&r, "ignored");
    expect_err(&r, r.addr);
    if (strstr(r.err, "aborting")) {
        show(&r);
        fail_msg("the bad free aborted with RECLAIM_MALLOC=%s", mode ? mode : "(unset)");
    }
}

#endif
