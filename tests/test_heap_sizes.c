/*
 * test_heap_sizes.c — sizes, classes, alignment and ownership of heap
 * blocks: rc_malloc, rc_calloc, rc_aligned_alloc, rc_usable_size, rc_owns.
 *
 * Expected class sizes are computed here from the documented scheme (32
 * small classes in 16-byte steps up to 512, then four classes per power of
 * two up to 256 KiB), not read back from the library.
 */
#include "test_heap_util.h"
#include "test_pattern.h" /* all_zero */

static char global_buffer[256];

/* The documented class size for a pooled request of n bytes. */
static size_t expected_class_size(size_t n) {
    if (n == 0) n = 1;
    if (n <= RC_SMALL_MAX) return (n + 15) & ~(size_t)15;
    size_t k = 512; /* n is in (k, 2k] */
    while (2 * k < n) k *= 2;
    size_t step = k / 4;
    return k + (n - k + step - 1) / step * step;
}

static void check_block(void *p, size_t n) {
    assert_non_null(p);
    assert_true(is_aligned(p, RC_ALIGNMENT));
    assert_true(rc_owns(p));
    size_t u = rc_usable_size(p);
    assert_true(u >= n);
    if (n <= RC_MEDIUM_MAX) assert_int_equal(u, expected_class_size(n));
}

/* ---- the class table ---- */

static void test_class_table(void **state) {
    (void)state;
    void *p = rc_malloc(1); /* makes sure the heap is initialized */
    rc_free(p);
    assert_int_equal(_rc_class_size[0], 16);
    assert_int_equal(_rc_class_size[RC_SMALL_CLASSES - 1], RC_SMALL_MAX);
    assert_int_equal(_rc_class_size[RC_SMALL_CLASSES], 640);
    assert_int_equal(_rc_class_size[RC_SIZE_CLASSES - 1], RC_MEDIUM_MAX);
    for (unsigned c = 1; c < RC_SIZE_CLASSES; c++) {
        assert_true(_rc_class_size[c] > _rc_class_size[c - 1]);
        assert_int_equal(_rc_class_size[c] % RC_ALIGNMENT, 0);
    }
    /* Every pooled size maps to the smallest class that holds it. */
    for (size_t n = 1; n <= RC_MEDIUM_MAX; n++) {
        unsigned c = _rc_class_of(n);
        assert_true(c < RC_SIZE_CLASSES);
        if (_rc_class_size[c] < n || (c > 0 && _rc_class_size[c - 1] >= n))
            fail_msg("size %zu maps to class %u (%u bytes)", n, c, _rc_class_size[c]);
        assert_int_equal(_rc_class_size[c], expected_class_size(n));
    }
}

/* ---- sizes ---- */

static void test_every_small_size(void **state) {
    (void)state;
    for (size_t n = 0; n <= RC_SMALL_MAX; n++) {
        void *p = rc_malloc(n);
        check_block(p, n);
        memset(p, 0xA5, rc_usable_size(p));
        rc_free(p);
    }
    assert_heap_valid();
}

static void test_boundary_sizes(void **state) {
    (void)state;
    static const size_t sizes[] = {0,     1,      15,     16,     17,         511,        512,
                                   513,   640,    641,    4096,   100000,     262144,     262145,
                                   1 * MiB, 10 * MiB};
    void *blocks[sizeof sizes / sizeof *sizes];
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        blocks[i] = rc_malloc(sizes[i]);
        check_block(blocks[i], sizes[i]);
        fill_pattern(blocks[i], rc_usable_size(blocks[i]), (unsigned)i);
    }
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        assert_pattern(blocks[i], rc_usable_size(blocks[i]), (unsigned)i);
        rc_free(blocks[i]);
    }
    assert_heap_valid();
}

static void test_medium_sizes(void **state) {
    (void)state;
    /* Every class boundary, one byte each side, and a sweep between. */
    for (unsigned c = RC_SMALL_CLASSES - 1; c < RC_SIZE_CLASSES; c++) {
        size_t b = _rc_class_size[c];
        size_t probe[3] = {b - 1, b, b + 1};
        for (int k = 0; k < 3; k++) {
            void *p = rc_malloc(probe[k]);
            check_block(p, probe[k]);
            memset(p, 0x5A, rc_usable_size(p));
            rc_free(p);
        }
    }
    for (size_t n = RC_SMALL_MAX + 1; n <= RC_MEDIUM_MAX; n += 997) {
        void *p = rc_malloc(n);
        check_block(p, n);
        rc_free(p);
    }
    assert_heap_valid();
}

static void test_large_sizes(void **state) {
    (void)state;
    static const size_t sizes[] = {RC_MEDIUM_MAX + 1, RC_MEDIUM_MAX + 4096, 1 * MiB - 1, 1 * MiB,
                                   1 * MiB + 1,       3 * MiB + 12345,      10 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        void *p = rc_malloc(sizes[i]);
        check_block(p, sizes[i]);
        size_t u = rc_usable_size(p);
        fill_pattern(p, u, (unsigned)i);
        assert_pattern(p, u, (unsigned)i);
        rc_free(p);
    }
    assert_heap_valid();
}

/* Huge requests fail cleanly: NULL, ENOMEM, heap intact. */
static void test_huge_request_fails(void **state) {
    (void)state;
    static const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 15, SIZE_MAX / 2, (size_t)1 << 60};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        errno = 0;
        void *p = rc_malloc(sizes[i]);
        assert_null(p);
        assert_int_equal(errno, ENOMEM);
    }
    void *p = rc_malloc(100);
    assert_non_null(p);
    rc_free(p);
    assert_heap_valid();
}

/* ---- many blocks at once: patterns survive, no two blocks overlap ---- */

typedef struct live_block {
    uint8_t *p;
    size_t size;
    unsigned seed;
} live_block;

static int by_address(const void *a, const void *b) {
    uintptr_t x = (uintptr_t)((const live_block *)a)->p, y = (uintptr_t)((const live_block *)b)->p;
    return x < y ? -1 : x > y;
}

static void test_patterns_many_blocks(void **state) {
    (void)state;
    static const size_t sizes[] = {0,   1,   15,   16,   17,     48,     100,    511,     512,     513,
                                   640, 641, 1000, 4096, 100000, 262144, 262145, 1 * MiB, 10 * MiB};
    enum { NSIZES = sizeof sizes / sizeof *sizes };
    unsigned count[NSIZES];
    size_t total = 0;
    for (int i = 0; i < NSIZES; i++) {
        count[i] = sizes[i] <= 1000 ? 300 : sizes[i] <= 4096 ? 60 : sizes[i] <= RC_MEDIUM_MAX ? 12 : 2;
        total += count[i];
    }
    live_block *b = calloc(total, sizeof *b);
    assert_non_null(b);
    /* Interleave the sizes so neighbouring blocks come from every path. */
    size_t n = 0;
    for (unsigned round = 0; n < total; round++)
        for (int i = 0; i < NSIZES; i++) {
            if (round >= count[i]) continue;
            b[n].p = rc_malloc(sizes[i]);
            check_block(b[n].p, sizes[i]);
            b[n].size = rc_usable_size(b[n].p);
            b[n].seed = (unsigned)n;
            fill_pattern(b[n].p, b[n].size, b[n].seed);
            n++;
        }
    for (size_t k = 0; k < total; k++) assert_pattern(b[k].p, b[k].size, b[k].seed);

    /* Free every other block and allocate again: reuse disturbs nothing. */
    for (size_t k = 0; k < total; k += 2) rc_free(b[k].p);
    for (size_t k = 0; k < total; k += 2) {
        size_t want = b[k].size;
        b[k].p = rc_malloc(want);
        check_block(b[k].p, want);
        b[k].size = rc_usable_size(b[k].p);
        b[k].seed = (unsigned)(k + total);
        fill_pattern(b[k].p, b[k].size, b[k].seed);
    }
    for (size_t k = 0; k < total; k++) assert_pattern(b[k].p, b[k].size, b[k].seed);

    /* The usable ranges are disjoint. */
    qsort(b, total, sizeof *b, by_address);
    for (size_t k = 1; k < total; k++)
        if (b[k - 1].p + b[k - 1].size > b[k].p)
            fail_msg("blocks %p (+%zu) and %p overlap", (void *)b[k - 1].p, b[k - 1].size, (void *)b[k].p);

    for (size_t k = 0; k < total; k++) rc_free(b[k].p);
    free(b);
    assert_heap_valid();
}

/* ---- rc_malloc(0), rc_usable_size, rc_owns ---- */

static int by_pointer(const void *a, const void *b) {
    uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
    return x < y ? -1 : x > y;
}

static void test_malloc_zero_unique(void **state) {
    (void)state;
    enum { N = 2000 };
    void **p = malloc(N * sizeof *p);
    assert_non_null(p);
    for (int i = 0; i < N; i++) {
        p[i] = rc_malloc(0);
        assert_non_null(p[i]);
        assert_true(is_aligned(p[i], RC_ALIGNMENT));
        assert_true(rc_owns(p[i]));
        memset(p[i], 0xEE, rc_usable_size(p[i]));
    }
    qsort(p, N, sizeof *p, by_pointer);
    for (int i = 1; i < N; i++) assert_ptr_not_equal(p[i - 1], p[i]);
    for (int i = 0; i < N; i++) rc_free(p[i]);
    free(p);
    assert_heap_valid();
}

static void test_usable_size_foreign(void **state) {
    (void)state;
    int on_stack = 0;
    assert_int_equal(rc_usable_size(NULL), 0);
    assert_int_equal(rc_usable_size(&on_stack), 0);
    assert_int_equal(rc_usable_size(global_buffer), 0);
    void *g = malloc(64);
    assert_non_null(g);
    assert_int_equal(rc_usable_size(g), 0);
    free(g);
    static const size_t sizes[] = {32, 1000, 2 * MiB};
    for (size_t i = 0; i < 3; i++) {
        uint8_t *p = rc_malloc(sizes[i]);
        assert_non_null(p);
        assert_int_equal(rc_usable_size(p + 8), 0);
        rc_free(p);
    }
}

static void test_owns(void **state) {
    (void)state;
    int on_stack = 0;
    static int static_int;
    assert_false(rc_owns(NULL));
    assert_false(rc_owns(&on_stack));
    assert_false(rc_owns(&static_int));
    assert_false(rc_owns(global_buffer));
    assert_false(rc_owns((void *)test_owns));
    libc_blocks lb = libc_blocks_alloc();
    assert_false(rc_owns(lb.small));
    assert_false(rc_owns(lb.libc));
    assert_false(rc_owns(lb.mapped));
    libc_blocks_free(&lb);

    static const size_t sizes[] = {0, 16, 48, 512, 640, 4096, 100000, 262144, 262145, 1 * MiB, 10 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        uint8_t *p = rc_malloc(sizes[i]);
        assert_non_null(p);
        assert_true(rc_owns(p));
        assert_false(rc_owns(p + 8));
        assert_false(rc_owns(p + 1));
        if (sizes[i] > 16) assert_false(rc_owns(p + 24)); /* not a multiple of any class from 32 */
        rc_free(p);
    }
    /* Addresses inside an arena that are no block: the arena header. */
    uint8_t *p = rc_malloc(64);
    uint8_t *arena = (uint8_t *)((uintptr_t)p & ~(uintptr_t)(RC_ARENA_SIZE - 1));
    assert_false(rc_owns(arena));
    assert_false(rc_owns(arena + 64));
    assert_true(rc_owns(p));
    rc_free(p);
}

/* rc_owns answers "is p a block address of this heap?" (the header's
 * contract): a freed pooled block stays one while its pool is in use, and
 * stops being one when its memory goes back to the OS. A freed large block
 * is unmapped (or cached), so it is no longer one at once. */
static void test_owns_after_free(void **state) {
    (void)state;
    static const size_t sizes[] = {16, 100, 512, 640, 100000};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        void *keep = rc_malloc(sizes[i]);
        void *p = rc_malloc(sizes[i]);
        assert_non_null(keep);
        assert_non_null(p);
        assert_true(rc_owns(p));
        rc_free(p);
        assert_true(rc_owns(p)); /* same pool, still a block of the heap */
        rc_free(keep);
        rc_heap_trim(); /* the pool is empty: its arena is unmapped */
        if (rc_owns(p) || rc_owns(keep))
            fail_msg("rc_owns true for size %zu after its memory was released", sizes[i]);
    }
    void *big = rc_malloc(4 * MiB);
    assert_true(rc_owns(big));
    rc_free(big);
    assert_false(rc_owns(big));
}

/* ---- rc_aligned_alloc ---- */

static void test_aligned_alloc_every_power(void **state) {
    (void)state;
    static const size_t sizes[] = {0, 1, 100, 512, 5000, 100000, RC_MEDIUM_MAX, RC_MEDIUM_MAX + 1, 3 * MiB};
    enum { NS = sizeof sizes / sizeof *sizes };
    for (size_t align = 16; align <= RC_ARENA_SIZE; align *= 2) {
        void *p[NS];
        for (size_t i = 0; i < NS; i++) {
            errno = 0;
            p[i] = rc_aligned_alloc(align, sizes[i]);
            if (!p[i]) fail_msg("rc_aligned_alloc(%zu, %zu) failed: %s", align, sizes[i], rc_last_error());
            if (!is_aligned(p[i], align)) fail_msg("rc_aligned_alloc(%zu, %zu) = %p", align, sizes[i], p[i]);
            assert_true(rc_owns(p[i]));
            assert_true(rc_usable_size(p[i]) >= sizes[i]);
            fill_pattern(p[i], rc_usable_size(p[i]), (unsigned)(i + align));
        }
        for (size_t i = 0; i < NS; i++) {
            assert_pattern(p[i], rc_usable_size(p[i]), (unsigned)(i + align));
            rc_free(p[i]);
        }
    }
    assert_heap_valid();
}

static void test_aligned_alloc_small_alignments(void **state) {
    (void)state;
    /* Powers of two below 16 are rounded up to 16. */
    for (size_t align = 1; align < 16; align *= 2) {
        void *p = rc_aligned_alloc(align, 24);
        assert_non_null(p);
        assert_true(is_aligned(p, 16));
        assert_true(rc_usable_size(p) >= 24);
        rc_free(p);
    }
}

static void test_aligned_alloc_bad_alignment(void **state) {
    (void)state;
    static const size_t bad[] = {0, 3, 24, 48, 1000, 2 * MiB, 4 * MiB, (size_t)1 << 40, SIZE_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        void *ok = rc_malloc(1); /* a success in between: the error is this call's */
        rc_free(ok);
        errno = 0;
        void *p = rc_aligned_alloc(bad[i], 64);
        if (p) fail_msg("rc_aligned_alloc(%zu, 64) succeeded", bad[i]);
        assert_int_equal(errno, EINVAL);
        const char *msg = rc_last_error();
        assert_non_null(msg);
        char num[32];
        snprintf(num, sizeof num, "%zu", bad[i]);
        if (!strstr(msg, "alignment") || !strstr(msg, num))
            fail_msg("rc_last_error() for alignment %zu is \"%s\"", bad[i], msg);
    }
    assert_heap_valid();
}

/* ---- rc_calloc ---- */

static void test_calloc_zeroes(void **state) {
    (void)state;
    static const size_t sizes[] = {1, 16, 17, 100, 512, 513, 4000, 100000, 262144, 262145, 1 * MiB, 5 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t n = sizes[i];
        void *a = rc_calloc(1, n);
        void *b = rc_calloc(n, 1);
        void *c = rc_calloc(n < 4 ? 1 : 4, n < 4 ? n : n / 4);
        assert_non_null(a);
        assert_non_null(b);
        assert_non_null(c);
        assert_true(is_aligned(a, 16) && is_aligned(b, 16) && is_aligned(c, 16));
        assert_true(all_zero(a, n));
        assert_true(all_zero(b, n));
        assert_true(all_zero(c, n < 4 ? n : n / 4 * 4));
        rc_free(a);
        rc_free(b);
        rc_free(c);
    }
    void *z1 = rc_calloc(0, 0), *z2 = rc_calloc(0, 8), *z3 = rc_calloc(8, 0);
    assert_non_null(z1);
    assert_non_null(z2);
    assert_non_null(z3);
    assert_true(z1 != z2 && z2 != z3 && z1 != z3);
    rc_free(z1);
    rc_free(z2);
    rc_free(z3);
}

/* Memory that comes back from a free is zeroed by rc_calloc too. */
static void test_calloc_zeroes_reused_memory(void **state) {
    (void)state;
    static const size_t sizes[] = {16, 48, 200, 512, 700, 5000, 100000, 262144, 300000, 2 * MiB};
    enum { N = 40 };
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t n = sizes[i];
        unsigned k = n > RC_MEDIUM_MAX ? 3 : N;
        void *p[N];
        for (unsigned j = 0; j < k; j++) {
            p[j] = rc_malloc(n);
            assert_non_null(p[j]);
            memset(p[j], 0xCD, rc_usable_size(p[j]));
        }
        for (unsigned j = 0; j < k; j++) rc_free(p[j]);
        for (unsigned j = 0; j < k; j++) {
            p[j] = rc_calloc(1, n);
            assert_non_null(p[j]);
            if (!all_zero(p[j], n)) fail_msg("rc_calloc(1, %zu) = %p is not zeroed", n, p[j]);
        }
        for (unsigned j = 0; j < k; j++) rc_free(p[j]);
    }
    assert_heap_valid();
}

static void test_calloc_overflow(void **state) {
    (void)state;
    static const size_t pairs[][2] = {
        {SIZE_MAX / 2 + 1, 4}, {4, SIZE_MAX / 2 + 1}, {SIZE_MAX, SIZE_MAX}, {SIZE_MAX / 3 + 1, 3}, {(size_t)1 << 32, (size_t)1 << 32},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        errno = 0;
        void *p = rc_calloc(pairs[i][0], pairs[i][1]);
        assert_null(p);
        assert_int_equal(errno, ENOMEM);
        if (!strstr(rc_last_error(), "overflow"))
            fail_msg("rc_calloc(%zu, %zu): rc_last_error() is \"%s\"", pairs[i][0], pairs[i][1], rc_last_error());
    }
    assert_heap_valid();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_class_table),
        cmocka_unit_test(test_every_small_size),
        cmocka_unit_test(test_boundary_sizes),
        cmocka_unit_test(test_medium_sizes),
        cmocka_unit_test(test_large_sizes),
        cmocka_unit_test(test_huge_request_fails),
        cmocka_unit_test(test_patterns_many_blocks),
        cmocka_unit_test(test_malloc_zero_unique),
        cmocka_unit_test(test_usable_size_foreign),
        cmocka_unit_test(test_owns),
        cmocka_unit_test(test_owns_after_free),
        cmocka_unit_test(test_aligned_alloc_every_power),
        cmocka_unit_test(test_aligned_alloc_small_alignments),
        cmocka_unit_test(test_aligned_alloc_bad_alignment),
        cmocka_unit_test(test_calloc_zeroes),
        cmocka_unit_test(test_calloc_zeroes_reused_memory),
        cmocka_unit_test(test_calloc_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
