/*
 * mprof_phases.c — a program with known memory phases, for
 * tests/cli/test_mprof.sh under `reclaim mprof run`:
 *
 *   ~100 ms  baseline
 *   "grow"   64 blocks of 1 MiB from rc_malloc, every page written
 *   300 ms   hold (the scope "hold", begun and ended with the plain
 *            functions, inside which "inner" nests)
 *   "shrink" free them all, rc_heap_trim: the memory goes back to the OS
 *   "cycles" 2000 objects in 1000 two-object cycles, dropped, kept 40 ms
 *            (heap records count them), then a full collection (which
 *            finds exactly 2000 unreachable objects)
 *   ~100 ms  tail
 *
 * With an argument "status N" it exits with N at the end; "fork" also
 * forks a child that marks a scope "child" of its own. "flood N" does
 * nothing but mark N scopes "f" as fast as it can, print "flooded" and
 * wait for a byte on stdin before it exits (tests/test_mprof_channel.c:
 * a full channel drops and counts, never blocks).
 * Under `reclaim mprof run` it checks that the scope functions give
 * tokens; without it, or with "off" (RECLAIM_MPROF_FD names something
 * that is not the sampler's socket), that they give 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <reclaim.h>

#define MIB ((size_t)1 << 20)
#define BLOCKS 64

typedef struct pair {
    struct pair *other;
} pair;

static int pair_traverse(void *self, rc_visit_fn visit, void *arg) {
    pair *p = self;
    return p->other ? visit(p->other, arg) : 0;
}
static void pair_clear(void *self) { RC_CLEAR(((pair *)self)->other); }
static void pair_destroy(void *self) { RC_CLEAR(((pair *)self)->other); }

static const rc_type pair_type = {
    .name = "pair", .size = sizeof(pair), .traverse = pair_traverse, .clear = pair_clear, .destroy = pair_destroy};

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
}

static void *blocks[BLOCKS];

static void grow(void) {
    RC_PROFILE_SCOPE("grow");
    for (int i = 0; i < BLOCKS; i++) {
        blocks[i] = rc_malloc(MIB);
        if (!blocks[i]) {
            fprintf(stderr, "mprof_phases: out of memory\n");
            exit(1);
        }
        memset(blocks[i], 0x5a, MIB);
    }
    sleep_ms(100);
}

static void shrink(void) {
    RC_PROFILE_SCOPE("shrink");
    for (int i = 0; i < BLOCKS; i++) rc_free(blocks[i]);
    rc_heap_trim();
    sleep_ms(50);
}

static size_t cycles(void) {
    RC_PROFILE_SCOPE("cycles");
    for (int i = 0; i < 1000; i++) {
        pair *a = rc_new(&pair_type), *b = rc_new(&pair_type);
        RC_SET(a->other, b);
        RC_SET(b->other, a);
        rc_decref(a);
        rc_decref(b);
    }
    sleep_ms(40);
    return rc_gc_collect(-1);
}

int main(int argc, char **argv) {
    int status = 0;
    bool do_fork = false, expect_off = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "status") == 0 && i + 1 < argc) status = atoi(argv[++i]);
        else if (strcmp(argv[i], "fork") == 0) do_fork = true;
        else if (strcmp(argv[i], "off") == 0) expect_off = true;
        else if (strcmp(argv[i], "flood") == 0 && i + 1 < argc) {
            long n = atol(argv[++i]);
            for (long k = 0; k < n; k++) {
                RC_PROFILE_SCOPE("f");
            }
            /* tell the reader, and wait until it has emptied the socket */
            puts("flooded");
            fflush(stdout);
            char c;
            if (read(0, &c, 1) < 0) return 1;
            return 0;
        }
    }
    rc_gc_disable(); /* the one collection is the one below */
    bool active = rc_profile_is_active();
    if (active != (getenv("RECLAIM_MPROF_FD") != NULL && !expect_off)) {
        fprintf(stderr, "mprof_phases: rc_profile_is_active() is %d\n", active);
        return 1;
    }
    uint64_t t = rc_profile_scope_begin("probe");
    if ((t != 0) != active) {
        fprintf(stderr, "mprof_phases: scope token %llu while active is %d\n", (unsigned long long)t, active);
        return 1;
    }
    rc_profile_scope_end(t);

    sleep_ms(100);
    grow();
    uint64_t hold = rc_profile_scope_begin("hold");
    {
        RC_PROFILE_SCOPE("inner");
        sleep_ms(100);
    }
    sleep_ms(200);
    rc_profile_scope_end(hold);
    shrink();
    sleep_ms(50);
    size_t found = cycles();
    if (found != 2000) {
        fprintf(stderr, "mprof_phases: the collection found %zu objects, not 2000\n", found);
        return 1;
    }
    if (do_fork) {
        pid_t pid = fork();
        if (pid == 0) {
            {
                RC_PROFILE_SCOPE("child");
                sleep_ms(50);
            }
            _exit(0);
        }
        waitpid(pid, NULL, 0);
    }
    sleep_ms(100);
    return status;
}
