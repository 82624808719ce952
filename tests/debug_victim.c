/*
 * debug_victim.c — a program of deliberately wrong code, one heap bug per
 * subcommand, for test_debug_alloc.c and test_system_mode.c to run under
 * RECLAIM_MALLOC=debug|malloc (the mode is read from the environment at the
 * first heap call, so it has to be set before the process starts).
 *
 * Every buggy subcommand first prints the block it is about to misuse on
 * stdout, as "block <address> size <n>", and flushes, so the test can look
 * for the same address and size in the report on stderr. If the bug goes
 * unnoticed the program prints "survived" and exits 0; under the debug
 * allocator it is expected to die of SIGABRT before that.
 *
 *   overrun                write 1 byte past the end of a 24-byte block, free
 *   underrun               write 1 byte before its start, free
 *   double_free            free a block twice
 *   foreign_free stack|libc|interior  free a pointer to a stack variable, one
 *                          from __libc_malloc, or one 16 bytes into a live
 *                          64-byte block
 *   write_after_free [trim]  free a block, write to it, then push it out of
 *                          the quarantine by freeing other blocks of its size
 *                          (or flush the quarantine with rc_heap_trim)
 *   header_smash           overwrite the 32 bytes before a block, free
 *   realloc_overrun        overrun a block, then rc_realloc it
 *   clean                  correct work only: must exit 0, silent on stderr
 *   checks [basic|aligned] property checks of the heap API in the mode given
 *                          by RECLAIM_MALLOC (both parts by default); prints
 *                          "OK" (exit 0) or one "FAIL" line per failed check
 *                          (exit 1)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal/heap.h"
#include "reclaim.h"

extern void *__libc_malloc(size_t size);
extern void __libc_free(void *p);

#define VICTIM_SIZE 24

static void show(const void *p, size_t size) {
    printf("block %p size %zu\n", p, size);
    fflush(stdout);
}

static int survived(void) {
    printf("survived\n");
    fflush(stdout);
    return 0;
}

static void *must_alloc(size_t size) {
    void *p = rc_malloc(size);
    if (!p) {
        printf("rc_malloc(%zu) failed: %s\n", size, rc_last_error());
        exit(2);
    }
    return p;
}

/* {==== the bugs ==== */

static int do_overrun(void) {
    volatile uint8_t *p = must_alloc(VICTIM_SIZE);
    show((void *)p, VICTIM_SIZE);
    p[VICTIM_SIZE] = 0x55;
    rc_free((void *)p);
    return survived();
}

static int do_underrun(void) {
    volatile uint8_t *p = must_alloc(VICTIM_SIZE);
    show((void *)p, VICTIM_SIZE);
    p[-1] = 0x55;
    rc_free((void *)p);
    return survived();
}

static int do_double_free(void) {
    void *p = must_alloc(VICTIM_SIZE);
    show(p, VICTIM_SIZE);
    rc_free(p);
    rc_free(p);
    return survived();
}

static int do_foreign_free(const char *what) {
    if (what && strcmp(what, "libc") == 0) {
        void *p = __libc_malloc(VICTIM_SIZE);
        if (!p) return 2;
        show(p, VICTIM_SIZE);
        rc_free(p);
        __libc_free(p);
        return survived();
    }
    if (what && strcmp(what, "interior") == 0) {
        /* 16 bytes into a live 64-byte block: never the start of a block. */
        uint8_t *a = must_alloc(64);
        memset(a, 0x61, 64);
        show(a + 16, 48);
        rc_free(a + 16);
        /* If the heap took a+16 back, the next blocks overlap a. */
        uint8_t *b = must_alloc(64), *c = must_alloc(64);
        memset(b, 0x62, 64);
        memset(c, 0x63, 64);
        for (int i = 0; i < 64; i++)
            if (a[i] != 0x61) {
                printf("heap corrupted: a live block was handed out again\n");
                return 3;
            }
        rc_free(a);
        rc_free(b);
        rc_free(c);
        return survived();
    }
    if (what && strcmp(what, "stack") != 0) {
        fprintf(stderr, "foreign_free: say stack, libc or interior\n");
        return 2;
    }
    volatile uint64_t local[4] = {1, 2, 3, 4};
    show((void *)local, sizeof local);
    rc_free((void *)local);
    return local[0] == 1 && local[3] == 4 ? survived() : 3;
}

/* Other blocks of the victim's size: more than the largest quarantine. */
#define PUSH_OUT 4200

static int do_write_after_free(const char *how) {
    bool trim = how && strcmp(how, "trim") == 0;
    void **others = calloc(PUSH_OUT, sizeof *others);
    if (!others) return 2;
    if (!trim)
        for (size_t i = 0; i < PUSH_OUT; i++) others[i] = must_alloc(VICTIM_SIZE);
    volatile uint8_t *p = must_alloc(VICTIM_SIZE);
    show((void *)p, VICTIM_SIZE);
    rc_free((void *)p);
    p[5] = 0x55;
    if (trim) {
        rc_heap_trim();
    } else {
        for (size_t i = 0; i < PUSH_OUT; i++) rc_free(others[i]);
    }
    free(others);
    return survived();
}

static int do_header_smash(void) {
    uint8_t *p = must_alloc(VICTIM_SIZE);
    show(p, VICTIM_SIZE);
    memset(p - 32, 0x41, 32);
    rc_free(p);
    return survived();
}

static int do_realloc_overrun(void) {
    uint8_t *p = must_alloc(VICTIM_SIZE);
    show(p, VICTIM_SIZE);
    memset(p, 'a', VICTIM_SIZE + 1);
    void *q = rc_realloc(p, 100);
    rc_free(q);
    return survived();
}
/* }==== */

/* {==== clean: correct work in every corner of the API ==== */

static void *clean_thread(void *arg) {
    void **blocks = arg;
    for (size_t i = 0; i < 256; i++) {
        blocks[i] = rc_malloc(16 + i * 8);
        if (blocks[i]) memset(blocks[i], (int)i, 16 + i * 8);
    }
    return NULL;
}

static int do_clean(void) {
    static const size_t sizes[] = {0, 1, 15, 16, 17, 24, 100, 511, 512, 513, 1000, 4096, 10000, 65536, 262144, 262145,
                                   1 << 20, 3 << 20};
    enum { N = sizeof sizes / sizeof sizes[0] };
    void *p[N];
    for (size_t i = 0; i < N; i++) {
        p[i] = rc_malloc(sizes[i]);
        if (!p[i]) return 2;
        memset(p[i], 0x11, sizes[i]);
    }
    for (size_t i = 0; i < N; i++) {
        p[i] = rc_realloc(p[i], sizes[(i + 5) % N] + 3);
        if (!p[i]) return 2;
        memset(p[i], 0x22, sizes[(i + 5) % N] + 3);
    }
    for (size_t i = 0; i < N; i += 2) {
        rc_free(p[i]);
        p[i] = rc_calloc(3, sizes[i]);
        if (!p[i]) return 2;
    }
    for (size_t align = 1; align <= ((size_t)1 << 20); align <<= 1) {
        void *a = rc_aligned_alloc(align, 100);
        if (!a || (uintptr_t)a % (align < 16 ? 16 : align) != 0) return 2;
        memset(a, 0x33, 100);
        rc_free(a);
    }
    /* Blocks allocated by another thread, freed here. */
    void *blocks[256];
    pthread_t t;
    if (pthread_create(&t, NULL, clean_thread, blocks) != 0) return 2;
    pthread_join(t, NULL);
    for (size_t i = 0; i < 256; i++) rc_free(blocks[i]);
    for (size_t i = 0; i < N; i++) rc_free(p[i]);
    /* A churn of small blocks through the quarantine and the pools. */
    void *ring[64] = {0};
    for (size_t i = 0; i < 20000; i++) {
        size_t k = (i * 7) % 64;
        rc_free(ring[k]);
        ring[k] = rc_malloc((i * 13) % 700);
        if (!ring[k]) return 2;
        memset(ring[k], (int)i, (i * 13) % 700);
    }
    for (size_t k = 0; k < 64; k++) rc_free(ring[k]);
    rc_free(NULL);
    rc_heap_trim();
    rc_heap_stats st;
    rc_heap_get_stats(&st);
    printf("clean done\n");
    return 0;
}
/* }==== */

/* {==== checks: the heap API's promises in the current mode ==== */

static int failures;

#define CHECK(cond)                                                                                                   \
    do {                                                                                                              \
        if (!(cond)) {                                                                                                \
            printf("FAIL line %d: %s\n", __LINE__, #cond);                                                            \
            failures++;                                                                                               \
        }                                                                                                             \
    } while (0)

static bool all_bytes(const void *p, size_t n, uint8_t b) {
    const uint8_t *q = p;
    for (size_t i = 0; i < n; i++)
        if (q[i] != b) return false;
    return true;
}

static void *free_from_thread(void *p) {
    rc_free(p);
    return NULL;
}

static void checks_basic(bool debug, bool sys) {
    bool exact = debug || sys; /* rc_usable_size is the size asked for */
    static const size_t sizes[] = {0,    1,     7,     16,     24,     100,    512,    513,
                                   4000, 16384, 70000, 262144, 262145, 300000, 2 << 20};
    enum { N = sizeof sizes / sizeof sizes[0] };
    void *p[N];
    for (size_t i = 0; i < N; i++) {
        size_t n = sizes[i];
        p[i] = rc_malloc(n);
        CHECK(p[i] != NULL);
        if (!p[i]) return;
        CHECK((uintptr_t)p[i] % RC_ALIGNMENT == 0);
        CHECK(rc_owns(p[i]));
        size_t u = rc_usable_size(p[i]);
        CHECK(u >= n);
        if (exact && n) CHECK(u == n);
        if (debug) CHECK(all_bytes(p[i], n, 0xCD));
        /* The block is not one of the fast heap's own blocks: it is wrapped
         * (debug) or comes from the C library (malloc). */
        if (exact) CHECK(!_rc_core_owns(p[i]));
        memset(p[i], (int)(0x40 + i), n);
        if (n > 1) CHECK(!rc_owns((uint8_t *)p[i] + 1));
    }
    for (size_t i = 0; i < N; i++) CHECK(all_bytes(p[i], sizes[i], (uint8_t)(0x40 + i)));

    /* Distinct blocks, even of size 0. */
    void *z1 = rc_malloc(0), *z2 = rc_malloc(0);
    CHECK(z1 && z2 && z1 != z2);
    rc_free(z1);
    rc_free(z2);

    /* Freed blocks are no longer ours. In debug mode a freed block sits in
     * the quarantine filled with DD. */
    for (size_t i = 0; i < N; i++) {
        rc_free(p[i]);
        if (exact) CHECK(!rc_owns(p[i]));
        if (exact) CHECK(rc_usable_size(p[i]) == 0);
        if (debug && sizes[i]) CHECK(all_bytes(p[i], sizes[i], 0xDD));
    }

    /* calloc gives zeros, also in reused memory. */
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < N; i++) {
            size_t n = sizes[i] / 3;
            uint8_t *c = rc_calloc(3, n);
            CHECK(c != NULL);
            if (!c) continue;
            CHECK(all_bytes(c, 3 * n, 0));
            if (exact && n) CHECK(rc_usable_size(c) == 3 * n);
            memset(c, 0xEE, 3 * n);
            rc_free(c);
        }
    errno = 0;
    CHECK(rc_calloc(SIZE_MAX / 2 + 2, 2) == NULL && errno == ENOMEM);

    /* realloc keeps the contents through every size range. */
    static const size_t steps[] = {24, 100, 600, 5000, 70000, 300000, 2 << 20, 1000, 40, 1};
    uint8_t *r = rc_realloc(NULL, 10);
    CHECK(r != NULL);
    size_t have = 10;
    for (size_t i = 0; r && i < 10; i++) r[i] = (uint8_t)(i * 31 + 7);
    for (size_t s = 0; r && s < sizeof steps / sizeof steps[0]; s++) {
        size_t n = steps[s];
        uint8_t *q = rc_realloc(r, n);
        CHECK(q != NULL);
        if (!q) break;
        r = q;
        size_t keep = have < n ? have : n;
        bool same = true;
        for (size_t i = 0; i < keep; i++)
            if (r[i] != (uint8_t)(i * 31 + 7)) same = false;
        CHECK(same);
        if (debug && n > have) CHECK(all_bytes(r + have, n - have, 0xCD));
        if (exact) CHECK(rc_usable_size(r) == n);
        CHECK(rc_owns(r));
        for (size_t i = 0; i < n; i++) r[i] = (uint8_t)(i * 31 + 7);
        have = n;
    }
    rc_free(r);

    /* Pointers the heap never gave out. */
    uint64_t local = 0;
    void *libc = __libc_malloc(32);
    CHECK(!rc_owns(&local));
    CHECK(!rc_owns(libc));
    CHECK(!rc_owns(NULL));
    CHECK(rc_usable_size(&local) == 0);
    CHECK(rc_usable_size(libc) == 0);
    CHECK(rc_usable_size(NULL) == 0);
    if (!debug) { /* the debug allocator aborts here instead */
        errno = 0;
        CHECK(rc_realloc(&local, 10) == NULL && rc_last_error()[0] != '\0');
    }
    __libc_free(libc);

    /* A block freed by another thread. */
    void *x = rc_malloc(200);
    pthread_t t;
    CHECK(x != NULL);
    int made = x ? pthread_create(&t, NULL, free_from_thread, x) : -1;
    CHECK(made == 0);
    if (made == 0) {
        pthread_join(t, NULL);
        if (exact) CHECK(!rc_owns(x));
    }
}

/* Aligned allocations, every alignment from 1 to 1 MiB. */
static void checks_aligned(bool debug, bool sys) {
    bool exact = debug || sys;
    for (size_t align = 1; align <= ((size_t)1 << 20); align <<= 1) {
        static const size_t asz[] = {0, 1, 100, 5000, 300000};
        for (size_t k = 0; k < sizeof asz / sizeof asz[0]; k++) {
            uint8_t *a = rc_aligned_alloc(align, asz[k]);
            CHECK(a != NULL);
            if (!a) continue;
            CHECK((uintptr_t)a % (align < RC_ALIGNMENT ? RC_ALIGNMENT : align) == 0);
            CHECK(rc_owns(a));
            CHECK(rc_usable_size(a) >= asz[k]);
            if (exact && asz[k]) CHECK(rc_usable_size(a) == asz[k]);
            if (debug) CHECK(all_bytes(a, asz[k], 0xCD));
            memset(a, 0x77, asz[k]);
            rc_free(a);
            if (exact) CHECK(!rc_owns(a));
        }
    }
    errno = 0;
    CHECK(rc_aligned_alloc(24, 10) == NULL && errno == EINVAL && rc_last_error()[0] != '\0');
    errno = 0;
    CHECK(rc_aligned_alloc((size_t)2 << 20, 10) == NULL && errno == EINVAL);
}

static int do_checks(const char *part) {
    bool basic = !part || strcmp(part, "aligned") != 0;
    bool aligned = !part || strcmp(part, "basic") != 0;
    const char *mode = getenv("RECLAIM_MALLOC");
    bool debug = mode && strcmp(mode, "debug") == 0;
    bool sys = mode && strcmp(mode, "malloc") == 0;
    printf("mode %s\n", debug ? "debug" : sys ? "malloc" : "default");

    if (basic) checks_basic(debug, sys);
    if (aligned) checks_aligned(debug, sys);
    rc_free(NULL);
    rc_heap_trim(); /* debug: checks every quarantined block was left alone */
    if (failures) {
        printf("%d check(s) failed\n", failures);
        return 1;
    }
    printf("OK\n");
    return 0;
}
/* }==== */

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *cmd = argc > 1 ? argv[1] : "";
    const char *arg = argc > 2 ? argv[2] : NULL;
    if (!strcmp(cmd, "overrun")) return do_overrun();
    if (!strcmp(cmd, "underrun")) return do_underrun();
    if (!strcmp(cmd, "double_free")) return do_double_free();
    if (!strcmp(cmd, "foreign_free")) return do_foreign_free(arg ? arg : "stack");
    if (!strcmp(cmd, "write_after_free")) return do_write_after_free(arg);
    if (!strcmp(cmd, "header_smash")) return do_header_smash();
    if (!strcmp(cmd, "realloc_overrun")) return do_realloc_overrun();
    if (!strcmp(cmd, "clean")) return do_clean();
    if (!strcmp(cmd, "checks")) return do_checks(arg);
    fprintf(stderr,
            "usage: %s overrun|underrun|double_free|foreign_free [stack|libc|interior]|write_after_free [trim]|"
            "header_smash|realloc_overrun|clean|checks [basic|aligned]\n",
            argv[0]);
    return 2;
}
