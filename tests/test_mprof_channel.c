/*
 * test_mprof_channel.c — the library's side of `reclaim mprof run`
 * (src/prof/mprof.c), without the sampler:
 *
 *   - not under mprof, the scope calls and RC_PROFILE_SCOPE do nothing;
 *   - a RECLAIM_MPROF_FD that names another kind of socket (a stream, a
 *     datagram socket with a named peer) is left alone;
 *   - under a channel nobody reads, a program that marks 20000 scopes
 *     never blocks: what the socket cannot hold is dropped, and the drops
 *     it reports in its last record account for every missing record
 *     (received + dropped == sent, exactly).
 *
 * The second test plays the sampler: it opens the socket pair, starts
 * tests/cli/mprof_phases in its flood mode with RECLAIM_MPROF_FD naming
 * one end (and a heap interval of 10 s, so no heap record comes between),
 * reads nothing until the child says the flood is over, empties the
 * socket, then lets the child exit (so its last records find room) and
 * reads them too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <reclaim.h>

#ifndef RC_MPROF_PHASES
#error "RC_MPROF_PHASES must name the mprof_phases executable"
#endif

#define FLOOD 20000

static void test_inactive(void **state) {
    (void)state;
    if (getenv("RECLAIM_MPROF_FD")) skip();
    assert_int_equal(rc_profile_active, 0);
    assert_false(rc_profile_is_active());
    assert_int_equal(rc_profile_scope_begin("x"), 0);
    assert_int_equal(rc_profile_scope_begin(NULL), 0);
    errno = 1234;
    rc_profile_scope_end(0);
    rc_profile_scope_end(12345); /* not a token of ours: nothing to send to */
    for (int i = 0; i < 3; i++) {
        RC_PROFILE_SCOPE("loop");
        RC_PROFILE_SCOPE("twice on one line"); RC_PROFILE_SCOPE("is fine");
    }
    assert_int_equal(errno, 1234);
}

static void test_full_channel_drops_and_counts(void **state) {
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
    int small = 4096;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    int to_child[2], from_child[2];
    assert_int_equal(pipe2(to_child, O_CLOEXEC), 0);
    assert_int_equal(pipe2(from_child, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(to_child[0], 0);
        dup2(from_child[1], 1);
        int fd = dup(sv[1]); /* without close-on-exec */
        char text[16];
        snprintf(text, sizeof text, "%d", fd);
        setenv("RECLAIM_MPROF_FD", text, 1);
        setenv("RECLAIM_MPROF_INTERVAL", "10000", 1);
        char count[16];
        snprintf(count, sizeof count, "%d", FLOOD);
        execl(RC_MPROF_PHASES, "mprof_phases", "flood", count, (char *)NULL);
        _exit(127);
    }
    close(sv[1]);
    close(to_child[0]);
    close(from_child[1]);
    /* read nothing until the flood is over: the socket fills, the rest drops */
    char line[16] = "";
    size_t got = 0;
    while (got < 8) {
        ssize_t n = read(from_child[0], line + got, 8 - got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    assert_memory_equal(line, "flooded\n", 8);
    close(from_child[0]);
    bool released = false;

    long begins = 0, ends = 0, hello = 0, bye = 0, other = 0, bad = 0;
    unsigned long long drops = 0;
    bool exited = false;
    int status = 0;
    for (;;) {
        char buf[512];
        ssize_t n = recv(sv[0], buf, sizeof buf - 1, MSG_DONTWAIT);
        if (n < 0) {
            if (!released) { /* the socket is empty: let the child send its last records and exit */
                assert_int_equal(write(to_child[1], "x", 1), 1);
                close(to_child[1]);
                released = true;
            }
            if (exited) break;
            if (waitpid(pid, &status, WNOHANG) == pid) {
                exited = true; /* one more pass takes what is left */
                continue;
            }
            struct pollfd p = {sv[0], POLLIN, 0};
            poll(&p, 1, 20);
            continue;
        }
        buf[n] = '\0';
        unsigned long long t, rpid, tid, token, d;
        char word[16];
        if (n < 2 || buf[n - 1] != '\n') bad++;
        else if (sscanf(buf, "S %llu %llu %llu %llu %15s", &t, &rpid, &tid, &token, word) == 5) {
            if (strcmp(word, "begin") == 0 && strcmp(buf + strlen(buf) - 3, " f\n") == 0) begins++;
            else if (strcmp(word, "end") == 0) ends++;
            else bad++;
        } else if (sscanf(buf, "P %llu %llu %15s %llu", &t, &rpid, word, &d) == 4) {
            if (strcmp(word, "hello") == 0) hello++;
            else if (strcmp(word, "bye") == 0) {
                bye++;
                drops = d;
            } else bad++;
        } else other++;
    }
    close(sv[0]);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(bad, 0);
    assert_int_equal(hello, 1);
    assert_int_equal(bye, 1);
    /* the heap records at start and at exit; no collection ran */
    assert_int_equal(other, 2);
    print_message("received %ld begins and %ld ends, %llu dropped\n", begins, ends, drops);
    if (drops == 0) fail_msg("nothing dropped: %ld begins, %ld ends received of %d scopes", begins, ends, FLOOD);
    assert_true(begins > 0);
    if ((unsigned long long)(begins + ends) + drops != 2ull * FLOOD)
        fail_msg("%ld begins + %ld ends + %llu dropped != %d", begins, ends, drops, 2 * FLOOD);
}

/* Run mprof_phases "off" with RECLAIM_MPROF_FD naming fd; its status. */
static int run_off(int fd) {
    pid_t pid = fork();
    if (pid == 0) {
        int keep = dup(fd); /* without close-on-exec */
        char text[16];
        snprintf(text, sizeof text, "%d", keep);
        setenv("RECLAIM_MPROF_FD", text, 1);
        execl(RC_MPROF_PHASES, "mprof_phases", "off", (char *)NULL);
        _exit(127);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static size_t pending(int fd) {
    size_t n = 0;
    char buf[512];
    while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) n++;
    return n;
}

/* Sockets that are not the sampler's (a stream, a datagram socket with a
 * named peer such as syslog's): the library sends nothing there. */
static void test_other_sockets_are_left_alone(void **state) {
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(run_off(sv[1]), 0);
    assert_int_equal(pending(sv[0]), 0);
    close(sv[0]);
    close(sv[1]);

    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s/mprof-named-%d.sock", RC_TEST_BINARY_DIR, (int)getpid());
    unlink(addr.sun_path);
    int server = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_int_equal(bind(server, (struct sockaddr *)&addr, sizeof addr), 0);
    int client = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(client, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(run_off(client), 0);
    assert_int_equal(pending(server), 0);
    close(client);
    close(server);
    unlink(addr.sun_path);

    /* and the sampler's kind of socket is taken (the control case) */
    assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_not_equal(run_off(sv[1]), 0); /* "off" was wrong: it reports */
    assert_true(pending(sv[0]) > 0);
    close(sv[0]);
    close(sv[1]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inactive),
        cmocka_unit_test(test_full_channel_drops_and_counts),
        cmocka_unit_test(test_other_sockets_are_left_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
