/*
 * test_heap_realloc.c — rc_realloc: growing and shrinking across the small,
 * medium and large paths with contents kept, realloc(NULL, n), realloc to
 * 0, pointers the heap never gave out, and failure leaving the block as it
 * was (the OS layer's failure hook, _rc_os_fail_nth).
 */
#include "test_heap_util.h"

static char static_buffer[128];

/* Resize p from old to size bytes and check what must hold after. */
static void *resize_checked(void *p, size_t old, size_t size, unsigned seed) {
    void *q = rc_realloc(p, size);
    if (!q) fail_msg("rc_realloc(%p, %zu) failed: %s", p, size, rc_last_error());
    assert_true(is_aligned(q, RC_ALIGNMENT));
    assert_true(rc_owns(q));
    assert_true(rc_usable_size(q) >= size);
    size_t keep = old < size ? old : size;
    size_t bad = check_pattern(q, keep, seed);
    if (bad != keep) fail_msg("rc_realloc %zu -> %zu lost byte %zu of %zu", old, size, bad, keep);
    return q;
}

static void test_realloc_chain(void **state) {
    (void)state;
    static const size_t steps[] = {8, 100, 600, 300000, 5 * MiB, 20 * MiB, 1000, 16};
    rc_heap_stats before, after;
    rc_heap_get_stats(&before);
    size_t old = steps[0];
    void *p = rc_malloc(old);
    assert_non_null(p);
    fill_pattern(p, old, 1);
    for (size_t i = 1; i < sizeof steps / sizeof *steps; i++) {
        p = resize_checked(p, old, steps[i], (unsigned)i);
        old = steps[i];
        fill_pattern(p, rc_usable_size(p), (unsigned)i + 1);
    }
    assert_pattern(p, old, (unsigned)(sizeof steps / sizeof *steps));
    rc_free(p);
    assert_heap_valid();
    rc_heap_get_stats(&after);
    assert_int_equal(after.blocks_in_use, before.blocks_in_use);
    assert_int_equal(after.large_blocks, before.large_blocks);
}

/* Every small class up and down, then through the medium classes. */
static void test_realloc_across_classes(void **state) {
    (void)state;
    size_t old = 1;
    void *p = rc_malloc(old);
    assert_non_null(p);
    fill_pattern(p, old, 0);
    unsigned seed = 0;
    for (size_t n = 16; n <= RC_SMALL_MAX + 16; n += 16) {
        p = resize_checked(p, old, n, seed);
        fill_pattern(p, n, ++seed);
        old = n;
    }
    for (size_t n = RC_SMALL_MAX; n >= 16; n -= 16) {
        p = resize_checked(p, old, n, seed);
        fill_pattern(p, n, ++seed);
        old = n;
    }
    for (unsigned c = RC_SMALL_CLASSES; c < RC_SIZE_CLASSES; c++) {
        size_t n = _rc_class_size[c] + 1; /* just past the class: the next one */
        p = resize_checked(p, old, n, seed);
        fill_pattern(p, n, ++seed);
        old = n;
    }
    for (unsigned c = RC_SIZE_CLASSES; c-- > RC_SMALL_CLASSES;) {
        size_t n = _rc_class_size[c] - 1;
        p = resize_checked(p, old, n, seed);
        fill_pattern(p, n, ++seed);
        old = n;
    }
    rc_free(p);
    assert_heap_valid();
}

/* A buffer that grows by a quarter at a time to 8 MiB, then halves. */
static void test_realloc_vector_growth(void **state) {
    (void)state;
    void *p = NULL;
    size_t old = 0;
    unsigned seed = 7;
    for (size_t n = 1; n <= 8 * MiB; n = n + n / 4 + 1) {
        p = resize_checked(p, old, n, seed);
        fill_pattern(p, n, ++seed);
        old = n;
    }
    while (old > 1) {
        size_t n = old / 2;
        p = resize_checked(p, old, n, seed);
        fill_pattern(p, n, ++seed);
        old = n;
    }
    rc_free(p);
    assert_heap_valid();
}

/* Large blocks: grow in place or by moving pages, shrink a little and a lot. */
static void test_realloc_large(void **state) {
    (void)state;
    static const size_t steps[] = {2 * MiB, 6 * MiB, 6 * MiB + 1, 5 * MiB, 40 * MiB, 35 * MiB, 3 * MiB, 300 * KiB};
    size_t old = steps[0];
    void *p = rc_malloc(old);
    assert_non_null(p);
    fill_pattern(p, old, 3);
    for (size_t i = 1; i < sizeof steps / sizeof *steps; i++) {
        p = resize_checked(p, old, steps[i], (unsigned)i + 2);
        old = steps[i];
        fill_pattern(p, rc_usable_size(p), (unsigned)i + 3);
    }
    rc_free(p);
    assert_heap_valid();
}

static void test_realloc_null_is_malloc(void **state) {
    (void)state;
    static const size_t sizes[] = {0, 1, 24, 512, 1000, 262144, 300000, 2 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        rc_heap_stats before, after;
        rc_heap_get_stats(&before);
        void *p = rc_realloc(NULL, sizes[i]);
        assert_non_null(p);
        assert_true(is_aligned(p, RC_ALIGNMENT));
        assert_true(rc_owns(p));
        assert_true(rc_usable_size(p) >= sizes[i]);
        memset(p, 0x11, rc_usable_size(p));
        rc_heap_get_stats(&after);
        assert_int_equal(after.blocks_in_use, before.blocks_in_use + 1);
        rc_free(p);
    }
}

static void test_realloc_to_zero(void **state) {
    (void)state;
    static const size_t sizes[] = {1, 100, 5000, 2 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        rc_heap_stats before, after;
        rc_heap_get_stats(&before);
        void *p = rc_malloc(sizes[i]);
        assert_non_null(p);
        void *q = rc_realloc(p, 0);
        assert_non_null(q);
        assert_true(rc_owns(q));
        rc_heap_get_stats(&after); /* the old block was freed: one block more, not two */
        assert_int_equal(after.blocks_in_use, before.blocks_in_use + 1);
        rc_free(q);
    }
    assert_heap_valid();
}

/* Pointers the heap never gave out: NULL, rc_last_error set, nothing freed. */
static void test_realloc_foreign(void **state) {
    (void)state;
    int on_stack = 42;
    void *g = malloc(64);
    void *lg = __libc_malloc(64);
    uint8_t *small = rc_malloc(64);
    uint8_t *medium = rc_malloc(3000);
    uint8_t *large = rc_malloc(2 * MiB);
    assert_non_null(g);
    assert_non_null(lg);
    assert_non_null(small);
    assert_non_null(medium);
    assert_non_null(large);
    fill_pattern(small, 64, 1);
    fill_pattern(medium, 3000, 2);
    fill_pattern(large, 2 * MiB, 3);
    void *foreign[] = {&on_stack, static_buffer, g, lg, small + 8, medium + 16, large + 4096, large + MiB};
    for (size_t i = 0; i < sizeof foreign / sizeof *foreign; i++) {
        void *ok = rc_aligned_alloc(3, 1); /* leaves a different error behind */
        assert_null(ok);
        captured *c = capture_begin();
        void *q = rc_realloc(foreign[i], 100);
        capture_end();
        if (q) fail_msg("rc_realloc(%p) of a foreign pointer returned %p", foreign[i], q);
        const char *msg = rc_last_error();
        if (!strstr(msg, "rc_realloc")) fail_msg("after rc_realloc(%p): rc_last_error() is \"%s\"", foreign[i], msg);
        assert_true(c->count <= 1);
    }
    assert_int_equal(on_stack, 42);
    assert_pattern(small, 64, 1);
    assert_pattern(medium, 3000, 2);
    assert_pattern(large, 2 * MiB, 3);
    assert_true(rc_owns(small) && rc_owns(medium) && rc_owns(large));
    rc_free(small);
    rc_free(medium);
    rc_free(large);
    free(g);
    __libc_free(lg);
    assert_heap_valid();
}

/* A failed realloc returns NULL with ENOMEM and leaves the block intact. */
static void check_failed_grow(size_t from, size_t to) {
    rc_heap_trim(); /* no cached mapping may serve the grow without the OS */
    void *p = rc_malloc(from);
    assert_non_null(p);
    size_t usable = rc_usable_size(p);
    fill_pattern(p, usable, 9);
    rc_heap_stats before, after;
    rc_heap_get_stats(&before);

    _rc_os_fail_nth(1);
    errno = 0;
    void *q = rc_realloc(p, to);
    int err = errno;
    _rc_os_fail_nth(0);
    if (q) fail_msg("rc_realloc(%zu -> %zu) succeeded though the OS refused", from, to);
    assert_int_equal(err, ENOMEM);

    assert_true(rc_owns(p));
    assert_int_equal(rc_usable_size(p), usable);
    assert_pattern(p, usable, 9);
    rc_heap_get_stats(&after);
    assert_int_equal(after.blocks_in_use, before.blocks_in_use);
    assert_int_equal(after.large_blocks, before.large_blocks);
    assert_int_equal(after.large_bytes, before.large_bytes);
    assert_heap_valid();

    /* Still usable: write it, and now the same grow succeeds. */
    fill_pattern(p, usable, 10);
    q = rc_realloc(p, to);
    assert_non_null(q);
    assert_pattern(q, usable < to ? usable : to, 10);
    rc_free(q);
    assert_heap_valid();
}

static void test_realloc_failure_keeps_block(void **state) {
    (void)state;
    check_failed_grow(5 * MiB, 64 * MiB); /* large to larger: mremap path */
    check_failed_grow(2 * MiB, 3 * MiB);
    check_failed_grow(100, 8 * MiB);      /* small to large: new mapping */
    check_failed_grow(100000, 1 * MiB);   /* medium to large */
}

/* A large block grown by rc_realloc is remapped with headroom, which is
 * address space only: rc_usable_size and bytes_in_use count the request
 * rounded up to a page, not the mapping, and growth into the headroom
 * keeps the pointer (no system call, no move). */
static void test_realloc_large_headroom_not_in_use(void **state) {
    (void)state;
    if (_rc_option(RC_OPT_MALLOC) != RC_MALLOC_DEFAULT) skip();
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    rc_heap_stats before, mid, after;
    rc_heap_get_stats(&before);
    char *p = rc_malloc(1 * MiB);
    assert_non_null(p);
    p = rc_realloc(p, 4 * MiB + 100); /* remapped with a quarter of headroom */
    assert_non_null(p);
    size_t want = (4 * MiB + 100 + page - 1) & ~(page - 1);
    assert_int_equal(rc_usable_size(p), want);
    rc_heap_get_stats(&mid);
    assert_int_equal(mid.large_bytes - before.large_bytes, want);
    assert_int_equal(mid.bytes_in_use - before.bytes_in_use, want);
    char *q = rc_realloc(p, 4 * MiB + 512 * 1024); /* inside the headroom */
    assert_ptr_equal(q, p);
    assert_int_equal(rc_usable_size(q), 4 * MiB + 512 * 1024);
    rc_heap_get_stats(&after);
    assert_int_equal(after.large_bytes - before.large_bytes, 4 * MiB + 512 * 1024);
    rc_free(q);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_realloc_chain),
        cmocka_unit_test(test_realloc_across_classes),
        cmocka_unit_test(test_realloc_vector_growth),
        cmocka_unit_test(test_realloc_large),
        cmocka_unit_test(test_realloc_null_is_malloc),
        cmocka_unit_test(test_realloc_to_zero),
        cmocka_unit_test(test_realloc_foreign),
        cmocka_unit_test(test_realloc_failure_keeps_block),
        cmocka_unit_test(test_realloc_large_headroom_not_in_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
