/*
 * make_snapshot.c — writes two snapshots of a known workload for
 * test_snapshots.sh, and prints what the test must find in them.
 *
 *   make_snapshot BEFORE AFTER
 *
 * Tracing with 4 frames (the call site, then the callers found by frame
 * pointers): before holds 100 blocks of 32 bytes from leaf_a (called by
 * mid_a, called by outer_a, called by main); after, 20 of them are freed
 * and leaf_b (under mid_b, outer_b, main) has added 50 blocks of 100 bytes
 * at one line and 10 of 1100 bytes at another. Nothing else is traced:
 * the block pointers live in static arrays. Prints one shell assignment
 * per line: file=... line_a=... line_b1=... line_b2=...
 *
 * The functions are exported and noinline, and the file is built with
 * frame pointers and without sibling calls, so each is a frame.
 */
#include <stdio.h>
#include <stdlib.h>

#include <reclaim.h>

#define NOINLINE __attribute__((noinline))

void leaf_a(void);
void mid_a(void);
void outer_a(void);
void leaf_b(void);
void mid_b(void);
void outer_b(void);

static void *blocks_a[100], *blocks_b1[50], *blocks_b2[10];
static unsigned line_a, line_b1, line_b2;

NOINLINE void leaf_a(void) {
    line_a = __LINE__ + 1;
    for (int i = 0; i < 100; i++) blocks_a[i] = rc_malloc(32);
}
NOINLINE void mid_a(void) {
    leaf_a();
    __asm__ volatile("" ::: "memory");
}
NOINLINE void outer_a(void) {
    mid_a();
    __asm__ volatile("" ::: "memory");
}

NOINLINE void leaf_b(void) {
    line_b1 = __LINE__ + 1;
    for (int i = 0; i < 50; i++) blocks_b1[i] = rc_malloc(100);
    line_b2 = __LINE__ + 1;
    for (int i = 0; i < 10; i++) blocks_b2[i] = rc_malloc(1100);
}
NOINLINE void mid_b(void) {
    leaf_b();
    __asm__ volatile("" ::: "memory");
}
NOINLINE void outer_b(void) {
    mid_b();
    __asm__ volatile("" ::: "memory");
}

static int dump(const char *path) {
    rc_snapshot *s = rc_snapshot_take();
    if (!s || rc_snapshot_dump(s, path) != 0) {
        fprintf(stderr, "make_snapshot: %s\n", rc_last_error());
        return -1;
    }
    rc_snapshot_free(s);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: make_snapshot BEFORE AFTER\n");
        return 2;
    }
    if (rc_trace_start(4) != 0) {
        fprintf(stderr, "make_snapshot: %s\n", rc_last_error());
        return 1;
    }
    outer_a();
    if (dump(argv[1]) != 0) return 1;
    for (int i = 0; i < 20; i++) rc_free(blocks_a[i]);
    outer_b();
    if (dump(argv[2]) != 0) return 1;
    rc_trace_stop();
    for (int i = 20; i < 100; i++) rc_free(blocks_a[i]);
    for (int i = 0; i < 50; i++) rc_free(blocks_b1[i]);
    for (int i = 0; i < 10; i++) rc_free(blocks_b2[i]);
    printf("file='%s'\nline_a=%u\nline_b1=%u\nline_b2=%u\n", __FILE__, line_a, line_b1, line_b2);
    return 0;
}
