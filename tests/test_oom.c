/*
 * test_oom.c — out of memory, on every path that asks the OS for memory.
 *
 * The OOM walk: for n = 1, 2, 3, ... make the n-th OS request from now fail
 * (_rc_os_fail_nth) and run one scripted sequence that touches every
 * allocation path able to ask the OS for memory: fresh small classes that
 * need new pools and several new arenas, medium spans, large blocks,
 * rc_aligned_alloc with a large alignment, rc_calloc of a large block,
 * rc_realloc growing a large block, and rc_realloc from small and medium to
 * large. Every call must either succeed or return NULL with errno ==
 * ENOMEM, the heap must validate after every step, and a failed rc_realloc
 * must leave its block exactly as it was. After each run everything is
 * freed and trimmed and the statistics must be back at the baseline. The
 * walk ends at the first n whose run makes fewer than n requests (no
 * failure was injected); it must have seen NULL from every path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal/heap.h"
#include "reclaim.h"

#define TEST_PATTERN_SALT 0xA5A5A5A5DEADBEEFull
#include "test_pattern.h"

/* {==== the blocks a run holds ==== */

typedef struct held {
    void *p;
    size_t size;  /* bytes carrying the pattern */
    uint64_t tag;
} held;

typedef struct run {
    held *blocks;
    size_t n, cap;
    uint64_t next_tag;
    size_t nulls[16]; /* NULL returns per path in this run */
    size_t calls;
} run;

enum {
    PATH_SMALL,         /* fresh small classes: new pools, several new arenas */
    PATH_MEDIUM,        /* every medium class: new spans */
    PATH_LARGE,         /* rc_malloc above RC_MEDIUM_MAX */
    PATH_ALIGNED,       /* rc_aligned_alloc with alignment > a pool */
    PATH_ALIGNED_MED,   /* rc_aligned_alloc served from a medium class */
    PATH_CALLOC,        /* rc_calloc of a large block */
    PATH_REALLOC_GROW,  /* rc_realloc growing a large block */
    PATH_REALLOC_S2L,   /* rc_realloc from a small block to a large one */
    PATH_REALLOC_M2L,   /* rc_realloc from a medium block to a large one */
    PATH_COUNT
};

static const char *const path_names[PATH_COUNT] = {
    "small classes (new pools and arenas)", "medium spans", "large rc_malloc", "rc_aligned_alloc 1 MiB / 64 KiB",
    "rc_aligned_alloc medium",  "large rc_calloc", "rc_realloc growing large", "rc_realloc small to large",
    "rc_realloc medium to large",
};

static void hold(run *r, void *p, size_t size, uint64_t tag) {
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 1024;
        r->blocks = realloc(r->blocks, r->cap * sizeof *r->blocks);
        assert_non_null(r->blocks);
    }
    r->blocks[r->n++] = (held){p, size, tag};
}

static void validate_or_fail(const char *when) {
    if (!_rc_heap_validate()) fail_msg("heap does not validate after %s: %s", when, rc_last_error());
}

/* A call returned p (with errno as the call left it); NULL must be ENOMEM. */
static bool outcome(run *r, int path, void *p, int err, const char *what) {
    r->calls++;
    if (p) return true;
    if (err != ENOMEM) fail_msg("%s returned NULL with errno %d, not ENOMEM", what, err);
    r->nulls[path]++;
    validate_or_fail(what);
    return false;
}

/* rc_malloc / rc_calloc / rc_aligned_alloc of one block, recorded. */
static void take(run *r, int path, size_t size, size_t align, bool zero, const char *what) {
    errno = 0;
    void *p = align ? rc_aligned_alloc(align, size) : zero ? rc_calloc(1, size) : rc_malloc(size);
    int err = errno;
    if (!outcome(r, path, p, err, what)) return;
    size_t want = align ? align : RC_ALIGNMENT;
    if ((uintptr_t)p % want != 0) fail_msg("%s: %p is not aligned to %zu", what, p, want);
    if (rc_usable_size(p) < size) fail_msg("%s: usable size %zu < %zu", what, rc_usable_size(p), size);
    if (zero && !all_zero(p, size)) fail_msg("%s: rc_calloc block is not zeroed", what);
    uint64_t tag = ++r->next_tag;
    fill(p, size, tag);
    hold(r, p, size, tag);
}

/* Allocate size bytes with pattern, then rc_realloc it to new_size. On
 * failure the old block must be intact; either way the block is recorded. */
static void grow(run *r, int first_path, int path, size_t size, size_t new_size, const char *what) {
    errno = 0;
    void *p = rc_malloc(size);
    if (!p) {
        /* the first allocation itself may take the injected failure */
        outcome(r, first_path, p, errno, what);
        return;
    }
    uint64_t tag = ++r->next_tag;
    fill(p, size, tag);
    size_t usable = rc_usable_size(p);
    errno = 0;
    void *q = rc_realloc(p, new_size);
    int err = errno;
    if (!outcome(r, path, q, err, what)) {
        if (!check(p, size, tag)) fail_msg("%s failed and the original block's contents changed", what);
        if (!rc_owns(p) || rc_usable_size(p) != usable) fail_msg("%s failed and the original block changed", what);
        hold(r, p, size, tag);
        return;
    }
    if (!check(q, size, tag)) fail_msg("%s: contents not preserved", what);
    if (rc_usable_size(q) < new_size) fail_msg("%s: usable size %zu < %zu", what, rc_usable_size(q), new_size);
    /* extend the pattern over the new size under a new tag */
    uint64_t tag2 = ++r->next_tag;
    fill(q, new_size, tag2);
    hold(r, q, new_size, tag2);
}

/* The scripted sequence. */
static void run_sequence(run *r) {
    /* Small: each of the 32 classes fills 8 pools: 256 pools, 4+ arenas. */
    for (unsigned c = 0; c < RC_SMALL_CLASSES; c++) {
        size_t size = (size_t)(c + 1) * 16;
        size_t count = 8 * (RC_POOL_SIZE / size);
        for (size_t i = 0; i < count; i++) {
            errno = 0;
            void *p = rc_malloc(size);
            int err = errno;
            if (!outcome(r, PATH_SMALL, p, err, "rc_malloc (small)")) continue;
            uint64_t tag = ++r->next_tag;
            memcpy(p, &tag, sizeof tag); /* small blocks: a tag word only */
            hold(r, p, 0, tag);
        }
        validate_or_fail("a small class");
    }
    /* Medium: two blocks of every medium class, at the class size. */
    for (unsigned c = RC_SMALL_CLASSES; c < RC_SIZE_CLASSES; c++) {
        size_t size = _rc_class_size[c];
        take(r, PATH_MEDIUM, size, 0, false, "rc_malloc (medium)");
        take(r, PATH_MEDIUM, size - 100, 0, false, "rc_malloc (medium)");
    }
    validate_or_fail("medium classes");
    /* Large. */
    take(r, PATH_LARGE, 300 * 1024, 0, false, "rc_malloc (300 KiB)");
    take(r, PATH_LARGE, (size_t)1 << 20, 0, false, "rc_malloc (1 MiB)");
    take(r, PATH_LARGE, (size_t)5 << 20, 0, false, "rc_malloc (5 MiB)");
    validate_or_fail("large blocks");
    /* Aligned: above a pool's alignment the block is mapped directly. */
    take(r, PATH_ALIGNED, 4096, (size_t)1 << 20, false, "rc_aligned_alloc(1 MiB, 4096)");
    take(r, PATH_ALIGNED, 100, (size_t)1 << 16, false, "rc_aligned_alloc(64 KiB, 100)");
    take(r, PATH_ALIGNED, 300 * 1024, (size_t)1 << 17, false, "rc_aligned_alloc(128 KiB, 300 KiB)");
    take(r, PATH_ALIGNED_MED, 5000, 4096, false, "rc_aligned_alloc(4096, 5000)");
    take(r, PATH_ALIGNED_MED, 40000, 8192, false, "rc_aligned_alloc(8192, 40000)");
    validate_or_fail("aligned blocks");
    /* Calloc of large blocks. */
    take(r, PATH_CALLOC, (size_t)2 << 20, 0, true, "rc_calloc (2 MiB)");
    take(r, PATH_CALLOC, 1000 * 1000, 0, true, "rc_calloc (1000 x 1000)");
    validate_or_fail("large calloc");
    /* Realloc paths. */
    grow(r, PATH_LARGE, PATH_REALLOC_GROW, 400 * 1024, (size_t)4 << 20, "rc_realloc (400 KiB to 4 MiB)");
    grow(r, PATH_LARGE, PATH_REALLOC_GROW, (size_t)1 << 20, (size_t)9 << 20, "rc_realloc (1 MiB to 9 MiB)");
    grow(r, PATH_SMALL, PATH_REALLOC_S2L, 200, 600 * 1024, "rc_realloc (200 B to 600 KiB)");
    grow(r, PATH_MEDIUM, PATH_REALLOC_M2L, 100 * 1024, (size_t)2 << 20, "rc_realloc (100 KiB to 2 MiB)");
    validate_or_fail("realloc");
}

/* Verify and free every block of a run. */
static void release_all(run *r) {
    for (size_t i = 0; i < r->n; i++) {
        held *h = &r->blocks[i];
        if (h->size == 0) {
            uint64_t t;
            memcpy(&t, h->p, sizeof t);
            if (t != h->tag) fail_msg("small block %p lost its tag", h->p);
        } else if (!check(h->p, h->size, h->tag)) {
            fail_msg("block %p (%zu bytes) lost its contents", h->p, h->size);
        }
        rc_free(h->p);
    }
    r->n = 0;
}
/* }==== */

/* {==== stats ==== */

static void expect_baseline(const rc_heap_stats *base, const char *when) {
    rc_heap_stats s;
    rc_heap_get_stats(&s);
    if (s.blocks_in_use != base->blocks_in_use || s.bytes_in_use != base->bytes_in_use ||
        s.large_blocks != base->large_blocks || s.large_bytes != base->large_bytes || s.arenas != base->arenas ||
        s.pools_in_use != base->pools_in_use)
        fail_msg("%s: stats not back at the baseline: blocks %zu (was %zu), bytes %zu (was %zu), large %zu/%zu "
                 "(was %zu/%zu), arenas %zu (was %zu), pools %zu (was %zu)",
                 when, s.blocks_in_use, base->blocks_in_use, s.bytes_in_use, base->bytes_in_use, s.large_blocks,
                 s.large_bytes, base->large_blocks, base->large_bytes, s.arenas, base->arenas, s.pools_in_use,
                 base->pools_in_use);
}

/* One of each kind, freed, then everything given back: afterwards the
 * thread has its heap and the large table exists. */
static void warm_up(void) {
    void *p[4] = {rc_malloc(32), rc_malloc(100000), rc_malloc(1 << 20), rc_aligned_alloc(1 << 20, 64)};
    for (int i = 0; i < 4; i++) {
        assert_non_null(p[i]);
        rc_free(p[i]);
    }
    rc_heap_trim();
}
/* }==== */

static void test_oom_walk(void **state) {
    (void)state;
    warm_up();
    rc_heap_stats base;
    rc_heap_get_stats(&base);
    validate_or_fail("warm-up");

    run r = {0};
    size_t total_nulls[PATH_COUNT] = {0};
    size_t hits = 0, absorbed = 0, n;
    for (n = 1;; n++) {
        memset(r.nulls, 0, sizeof r.nulls);
        size_t start = _rc_os_fail_nth(n);
        run_sequence(&r);
        size_t made = _rc_os_requests() - start;
        _rc_os_fail_nth(0);
        bool hit = made >= n;
        size_t nulls = 0;
        for (int k = 0; k < PATH_COUNT; k++) {
            nulls += r.nulls[k];
            total_nulls[k] += r.nulls[k];
        }
        if (nulls > 1) fail_msg("n = %zu: one injected failure gave %zu NULL returns", n, nulls);
        if (nulls == 1 && !hit) fail_msg("n = %zu: NULL returned but no OS request failed", n);
        if (hit && nulls == 0) absorbed++;
        release_all(&r);
        rc_heap_trim();
        validate_or_fail("freeing a run");
        char when[64];
        snprintf(when, sizeof when, "after run n = %zu", n);
        expect_baseline(&base, when);
        if (!hit) break;
        hits++;
        if (n > 10000) fail_msg("the OOM walk does not end");
    }
    print_message("OOM walk: %zu runs, %zu with an injected failure (%zu absorbed without NULL)\n", n, hits,
                  absorbed);
    int paths_hit = 0;
    for (int k = 0; k < PATH_COUNT; k++) {
        print_message("  %-40s %zu NULL returns\n", path_names[k], total_nulls[k]);
        if (total_nulls[k]) paths_hit++;
    }
    /* Every path asks the OS for memory at least once on a trimmed heap. */
    for (int k = 0; k < PATH_COUNT; k++)
        if (k != PATH_ALIGNED_MED && total_nulls[k] == 0)
            fail_msg("the walk never saw %s fail", path_names[k]);
    assert_true(paths_hit >= 8);
    assert_true(hits >= 12); /* several arenas of small pools, medium spans, 10+ large requests */

    /* Injection off: a fresh allocation of each kind still works. */
    _rc_os_fail_nth(0);
    memset(r.nulls, 0, sizeof r.nulls);
    run_sequence(&r);
    for (int k = 0; k < PATH_COUNT; k++)
        if (r.nulls[k]) fail_msg("%s failed with no injected failure", path_names[k]);
    release_all(&r);
    rc_heap_trim();
    validate_or_fail("the final run");
    expect_baseline(&base, "after the final run");
    free(r.blocks);
}

/* A failed rc_realloc leaves the block exactly as it was. */
static void test_failed_realloc_keeps_block(void **state) {
    (void)state;
    warm_up();
    rc_heap_stats base;
    rc_heap_get_stats(&base);
    static const struct {
        size_t from, to;
        const char *what;
    } cases[] = {
        {400 * 1024, (size_t)8 << 20, "large grows"},
        {(size_t)3 << 20, (size_t)64 << 20, "large grows a lot"},
        {100, (size_t)1 << 20, "small to large"},
        {500, 300 * 1024, "small to large (just above medium)"},
        {70000, (size_t)2 << 20, "medium to large"},
        {RC_MEDIUM_MAX, RC_MEDIUM_MAX + 1, "medium to large by one byte"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t from = cases[i].from, to = cases[i].to;
        void *p = rc_malloc(from);
        assert_non_null(p);
        fill(p, from, 1000 + i);
        size_t usable = rc_usable_size(p);
        for (size_t nth = 1; nth <= 3; nth++) {
            size_t start = _rc_os_fail_nth(nth);
            errno = 0;
            void *q = rc_realloc(p, to);
            int err = errno;
            bool hit = _rc_os_requests() - start >= nth;
            _rc_os_fail_nth(0);
            if (q) {
                /* the n-th request was never made: the realloc succeeded */
                if (hit) fail_msg("%s: the injected failure was hit but rc_realloc succeeded", cases[i].what);
                assert_true(check(q, from, 1000 + i));
                p = rc_realloc(q, from); /* shrink back; keeps the contents */
                assert_non_null(p);
                assert_true(check(p, from, 1000 + i));
                usable = rc_usable_size(p);
                continue;
            }
            if (!hit) fail_msg("%s: rc_realloc failed with no injected failure", cases[i].what);
            if (err != ENOMEM) fail_msg("%s: errno %d, not ENOMEM", cases[i].what, err);
            if (!check(p, from, 1000 + i)) fail_msg("%s: failed rc_realloc changed the block", cases[i].what);
            assert_true(rc_owns(p));
            assert_int_equal(rc_usable_size(p), usable);
            validate_or_fail(cases[i].what);
        }
        /* Without injection the same rc_realloc works and keeps the contents. */
        void *q = rc_realloc(p, to);
        assert_non_null(q);
        assert_true(check(q, from, 1000 + i));
        assert_true(rc_usable_size(q) >= to);
        rc_free(q);
    }
    rc_heap_trim();
    validate_or_fail("failed reallocs");
    expect_baseline(&base, "after the failed reallocs");
}

/* Failures while a thread's first small pool, a medium span and a large
 * block are taken, then the same calls again: nothing is left half made. */
static void test_failure_then_retry(void **state) {
    (void)state;
    warm_up();
    rc_heap_stats base;
    rc_heap_get_stats(&base);
    static const size_t sizes[] = {48, 512, 700, 20000, 65536, RC_MEDIUM_MAX, RC_MEDIUM_MAX + 1, (size_t)3 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t start = _rc_os_fail_nth(1);
        errno = 0;
        void *p = rc_malloc(sizes[i]);
        int err = errno;
        bool hit = _rc_os_requests() - start >= 1;
        _rc_os_fail_nth(0);
        /* on a trimmed heap each of these needs the OS */
        if (p) fail_msg("rc_malloc(%zu) succeeded though its OS request was made to fail", sizes[i]);
        assert_true(hit);
        assert_int_equal(err, ENOMEM);
        validate_or_fail("a failed allocation");
        expect_baseline(&base, "a failed allocation");
        p = rc_malloc(sizes[i]);
        assert_non_null(p);
        fill(p, sizes[i], i);
        assert_true(check(p, sizes[i], i));
        rc_free(p);
        rc_heap_trim();
        expect_baseline(&base, "a retried allocation");
    }
}

/* The large-block table grows (an OS request of its own) while large
 * blocks are live: walk every request of every allocation. A failure
 * leaves the table intact: every live block is still known. */
static void test_large_table_growth(void **state) {
    (void)state;
    warm_up();
    rc_heap_stats base;
    rc_heap_get_stats(&base);
    enum { N = 600 };
    static void *blocks[N];
    size_t failed = 0;
    for (size_t i = 0; i < N; i++) {
        size_t size = RC_MEDIUM_MAX + 1 + (i % 7) * 4096; /* mapped, never touched but its first bytes */
        for (size_t n = 1;; n++) {
            size_t start = _rc_os_fail_nth(n);
            errno = 0;
            void *p = rc_malloc(size);
            int err = errno;
            bool hit = _rc_os_requests() - start >= n;
            _rc_os_fail_nth(0);
            if (p) {
                if (hit) fail_msg("block %zu: the injected failure was hit but rc_malloc succeeded", i);
                memcpy(p, &i, sizeof i);
                blocks[i] = p;
                break;
            }
            if (!hit || err != ENOMEM) fail_msg("block %zu: NULL with errno %d (failure injected: %d)", i, err, hit);
            failed++;
            if (n > 4) fail_msg("block %zu: more than 4 OS requests for one large block", i);
        }
        if (i % 50 == 0 || i == N - 1)
            for (size_t k = 0; k <= i; k++) {
                size_t v;
                memcpy(&v, blocks[k], sizeof v);
                if (!rc_owns(blocks[k]) || rc_usable_size(blocks[k]) < RC_MEDIUM_MAX + 1 || v != k)
                    fail_msg("after %zu large blocks, block %zu is no longer known", i + 1, k);
            }
    }
    print_message("%zu large blocks, %zu injected failures\n", (size_t)N, failed);
    assert_true(failed > N); /* one per mapping, plus the table's growth */
    rc_heap_stats s;
    rc_heap_get_stats(&s);
    assert_int_equal(s.large_blocks, base.large_blocks + N);
    for (size_t i = 0; i < N; i++) rc_free(blocks[i]);
    rc_heap_trim();
    validate_or_fail("the large-table walk");
    expect_baseline(&base, "after the large-table walk");
}

/* A new thread's heap is carved from metadata mapped in chunks: when a
 * chunk is used up, the next thread's first allocation asks the OS. Make
 * each new thread's first OS request fail: its allocation returns NULL
 * with ENOMEM and the retry works, whether the request was for its heap or
 * for its first pool. Threads stay alive so that every one needs a heap. */
enum { MAX_THREADS = 400 };
static pthread_mutex_t th_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t th_cond = PTHREAD_COND_INITIALIZER;
static int th_step;      /* threads that finished their first allocation */
static bool th_release;  /* all may exit */
static bool th_saw_heap_failure;
static int th_bad;       /* first failing check, 0: none */
static void *th_blocks[MAX_THREADS];

static void *new_thread(void *arg) {
    size_t id = (size_t)(uintptr_t)arg;
    int bad = 0;
    size_t start = _rc_os_fail_nth(1);
    errno = 0;
    void *p = rc_malloc(16);
    int err = errno;
    bool hit = _rc_os_requests() - start >= 1;
    _rc_os_fail_nth(0);
    bool heap_failed = !p && _rc_heap_tls->is_empty; /* no heap: its metadata request failed */
    if (p) {
        if (hit) bad = 1;
    } else {
        if (!hit) bad = 2;
        else if (err != ENOMEM) bad = 3;
        else if (!_rc_heap_validate()) bad = 4;
        p = rc_malloc(16); /* retry without injection */
        if (!p) bad = 5;
    }
    th_blocks[id] = p;
    pthread_mutex_lock(&th_lock);
    if (heap_failed && p) th_saw_heap_failure = true;
    if (!th_bad && bad) th_bad = bad;
    th_step++;
    pthread_cond_broadcast(&th_cond);
    while (!th_release) pthread_cond_wait(&th_cond, &th_lock);
    pthread_mutex_unlock(&th_lock);
    return NULL;
}

static void test_new_thread_heap(void **state) {
    (void)state;
    warm_up();
    rc_heap_stats base;
    rc_heap_get_stats(&base);
    /* how many heaps fit in a metadata chunk; enough threads to need a new one */
    size_t per_chunk = (64 * 1024) / ((sizeof(rc_heap) + 63) & ~(size_t)63);
    size_t want = per_chunk + 8 < MAX_THREADS ? per_chunk + 8 : MAX_THREADS;
    static pthread_t th[MAX_THREADS];
    size_t started = 0;
    for (; started < want; started++) {
        if (pthread_create(&th[started], NULL, new_thread, (void *)(uintptr_t)started) != 0) break;
        pthread_mutex_lock(&th_lock);
        while (th_step < (int)started + 1) pthread_cond_wait(&th_cond, &th_lock);
        bool bad = th_bad != 0;
        pthread_mutex_unlock(&th_lock);
        if (bad) break;
    }
    rc_heap_stats s;
    rc_heap_get_stats(&s);
    pthread_mutex_lock(&th_lock);
    th_release = true;
    pthread_cond_broadcast(&th_cond);
    pthread_mutex_unlock(&th_lock);
    for (size_t i = 0; i < started; i++) pthread_join(th[i], NULL);
    if (th_bad) fail_msg("a new thread's first allocation misbehaved (check %d)", th_bad);
    assert_int_equal(started, want);
    assert_true(s.threads >= base.threads + started);
    assert_true(th_saw_heap_failure); /* a new heap's metadata request failed, and the retry worked */
    for (size_t i = 0; i < started; i++) rc_free(th_blocks[i]);
    rc_heap_trim();
    validate_or_fail("the new-thread walk");
    expect_baseline(&base, "after the new-thread walk");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failure_then_retry),
        cmocka_unit_test(test_failed_realloc_keeps_block),
        cmocka_unit_test(test_oom_walk),
        cmocka_unit_test(test_large_table_growth),
        cmocka_unit_test(test_new_thread_heap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
