/*
 * test_heap_trim.c — memory really goes back to the OS: rc_heap_trim after
 * freeing ~200 MiB of small, medium or large blocks brings the resident set
 * (from /proc/self/statm) and bytes_mapped back near where they started;
 * the RECLAIM_HEAP_RETAIN budget caps free resident memory between trims;
 * RECLAIM_PURGE_DELAY purges free pools and cached large mappings without a
 * trim once the delay has passed and the heap is used again.
 *
 * Each test sets the options it relies on (setenv + _rc_options_reload)
 * and restores the environment after. Timing checks only assert what a
 * slow machine cannot break: a sleep is a lower bound on elapsed time.
 */
#include <time.h>

#include "test_heap_util.h"

#define SLACK (20 * MiB)

static saved_env env;

static int restore_env(void **state) {
    (void)state;
    env_restore(&env);
    rc_heap_trim();
    return 0;
}

/* Free pools stay resident until a trim: nothing is purged behind the
 * test's back, so what the trim releases is measurable. */
static int keep_everything(void **state) {
    (void)state;
    env_set_options(&env, "RECLAIM_PURGE_DELAY", "3600000", "RECLAIM_HEAP_RETAIN", "1G", (const char *)NULL);
    rc_heap_trim();
    return 0;
}

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Allocate about total bytes in blocks of the sizes size(i), each written
 * over its whole usable size and linked through its first word. */
typedef size_t (*size_fn)(size_t i);

static void **alloc_chain(size_t total, size_fn size) {
    void **head = NULL;
    size_t got = 0;
    for (size_t i = 0; got < total; i++) {
        size_t n = size(i);
        void **b = rc_malloc(n);
        if (!b) fail_msg("rc_malloc(%zu) failed after %zu bytes: %s", n, got, rc_last_error());
        memset(b, (int)(i & 0xFF) | 1, rc_usable_size(b));
        *b = head;
        head = b;
        got += n;
    }
    return head;
}

static void free_chain(void **head) {
    while (head) {
        void **next = *head;
        rc_free(head);
        head = next;
    }
}

static size_t small_size(size_t i) { return 16 + (i % 32) * 16; }
static size_t medium_size(size_t i) { return 600 + (i * 7919) % (RC_MEDIUM_MAX - 600); }
static size_t one_size_256(size_t i) {
    (void)i;
    return 256;
}

/* Allocate total bytes, free them, trim: RSS and bytes_mapped come back. */
static void check_trim_returns_memory(size_t total, size_fn size) {
    rc_heap_stats s0, s_full, s_freed, s_end;
    size_t rss0 = rss_bytes();
    rc_heap_get_stats(&s0);

    void **chain = alloc_chain(total, size);
    size_t rss_full = rss_bytes();
    rc_heap_get_stats(&s_full);
    if (rss_full < rss0 + total * 9 / 10)
        fail_msg("RSS grew by %zu MiB only for %zu MiB written", (rss_full - rss0) >> 20, total >> 20);
    assert_true(s_full.bytes_mapped >= s0.bytes_mapped + total);

    free_chain(chain);
    rc_heap_get_stats(&s_freed);
    assert_int_equal(s_freed.bytes_in_use, s0.bytes_in_use);
    assert_int_equal(s_freed.blocks_in_use, s0.blocks_in_use);
    /* With these options nothing was given back yet. */
    size_t rss_freed = rss_bytes();
    assert_true(rss_freed >= rss0 + total * 3 / 4);

    size_t released = rc_heap_trim();
    size_t rss_end = rss_bytes();
    rc_heap_get_stats(&s_end);
    if (released < total * 3 / 4) fail_msg("rc_heap_trim released %zu bytes of %zu freed", released, total);
    if (rss_end > rss0 + SLACK)
        fail_msg("RSS after trim %zu MiB, at start %zu MiB, full %zu MiB", rss_end >> 20, rss0 >> 20, rss_full >> 20);
    if (s_end.bytes_mapped > s0.bytes_mapped + SLACK)
        fail_msg("bytes_mapped after trim %zu MiB, at start %zu MiB", s_end.bytes_mapped >> 20, s0.bytes_mapped >> 20);
    assert_true(s_end.bytes_mapped + total * 3 / 4 <= s_full.bytes_mapped);
    assert_int_equal(s_end.bytes_resident_free, 0);
    assert_int_equal(s_end.large_cached, 0);
    assert_true(s_end.bytes_mapped_peak >= s_full.bytes_mapped);
    assert_heap_valid();
    print_message("RSS MiB: start %zu, full %zu, freed %zu, trimmed %zu; mapped MiB: %zu -> %zu -> %zu; "
                  "trim released %zu MiB\n",
                  rss0 >> 20, rss_full >> 20, rss_freed >> 20, rss_end >> 20, s0.bytes_mapped >> 20,
                  s_full.bytes_mapped >> 20, s_end.bytes_mapped >> 20, released >> 20);
}

static void test_trim_small_blocks(void **state) {
    (void)state;
    check_trim_returns_memory(200 * MiB, small_size);
}

static void test_trim_medium_blocks(void **state) {
    (void)state;
    check_trim_returns_memory(200 * MiB, medium_size);
}

static void test_trim_large_blocks(void **state) {
    (void)state;
    enum { N = 50 };
    rc_heap_stats s0, s_freed, s_end;
    size_t rss0 = rss_bytes();
    rc_heap_get_stats(&s0);
    void *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = rc_malloc(4 * MiB);
        assert_non_null(p[i]);
        memset(p[i], 0x77, 4 * MiB);
    }
    assert_true(rss_bytes() >= rss0 + 180 * MiB);
    for (int i = 0; i < N; i++) rc_free(p[i]);
    rc_heap_get_stats(&s_freed);
    assert_int_equal(s_freed.large_blocks, s0.large_blocks);
    assert_true(s_freed.large_cached > 0); /* kept for reuse until the trim */

    size_t released = rc_heap_trim();
    rc_heap_get_stats(&s_end);
    size_t rss_end = rss_bytes();
    assert_true(released >= s_freed.large_cached * 4 * MiB);
    assert_int_equal(s_end.large_cached, 0);
    if (rss_end > rss0 + SLACK) fail_msg("RSS after trim %zu MiB, at start %zu MiB", rss_end >> 20, rss0 >> 20);
    assert_true(s_end.bytes_mapped <= s0.bytes_mapped + SLACK);
    assert_true(s_end.bytes_mapped + released <= s_freed.bytes_mapped);
}

static void test_trim_twice(void **state) {
    (void)state;
    free_chain(alloc_chain(8 * MiB, small_size));
    void *big = rc_malloc(2 * MiB);
    rc_free(big);
    assert_true(rc_heap_trim() > 0);
    assert_int_equal(rc_heap_trim(), 0); /* nothing left to give back */
}

/* Live blocks survive a trim untouched. */
static void test_trim_keeps_live_blocks(void **state) {
    (void)state;
    enum { N = 5000 };
    void **p = malloc(N * sizeof *p);
    assert_non_null(p);
    for (int i = 0; i < N; i++) {
        p[i] = rc_malloc(small_size((size_t)i) + (i % 50 == 0 ? 4000 : 0));
        assert_non_null(p[i]);
        fill_pattern(p[i], rc_usable_size(p[i]), (unsigned)i);
    }
    for (int i = 0; i < N; i += 3) rc_free(p[i]);
    rc_heap_trim();
    for (int i = 0; i < N; i++)
        if (i % 3) assert_pattern(p[i], rc_usable_size(p[i]), (unsigned)i);
    for (int i = 0; i < N; i++)
        if (i % 3) rc_free(p[i]);
    free(p);
    assert_heap_valid();
}

/* ---- the retain budget and the purge delay, without trimming ---- */

static void test_retain_budget(void **state) {
    (void)state;
    env_restore(&env);
    env_set_options(&env, "RECLAIM_PURGE_DELAY", "3600000", "RECLAIM_HEAP_RETAIN", "16M", (const char *)NULL);
    rc_heap_trim();
    size_t rss0 = rss_bytes();
    free_chain(alloc_chain(120 * MiB, small_size));
    rc_heap_stats s;
    rc_heap_get_stats(&s);
    if (s.bytes_resident_free > 16 * MiB)
        fail_msg("%zu MiB free but resident with RECLAIM_HEAP_RETAIN=16M", s.bytes_resident_free >> 20);
    size_t rss = rss_bytes();
    if (rss > rss0 + 16 * MiB + SLACK) fail_msg("RSS %zu MiB above the start after freeing", (rss - rss0) >> 20);
}

static void test_purge_delay_zero(void **state) {
    (void)state;
    env_restore(&env);
    env_set_options(&env, "RECLAIM_PURGE_DELAY", "0", "RECLAIM_HEAP_RETAIN", "1G", (const char *)NULL);
    rc_heap_trim();
    size_t rss0 = rss_bytes();
    free_chain(alloc_chain(64 * MiB, small_size));
    void *big = rc_malloc(8 * MiB);
    assert_non_null(big);
    memset(big, 1, 8 * MiB);
    rc_free(big);
    rc_heap_stats s;
    rc_heap_get_stats(&s);
    assert_int_equal(s.bytes_resident_free, 0);
    assert_int_equal(s.large_cached, 0);
    size_t rss = rss_bytes();
    if (rss > rss0 + SLACK) fail_msg("RSS %zu MiB above the start with RECLAIM_PURGE_DELAY=0", (rss - rss0) >> 20);
}

#define DELAY_MS 200

/* Free pools are purged once the delay has passed and the heap is used
 * again (any pool going back to its arena), without rc_heap_trim. */
static void test_purge_delay_pools(void **state) {
    (void)state;
    env_restore(&env);
    env_set_options(&env, "RECLAIM_PURGE_DELAY", "200ms", "RECLAIM_HEAP_RETAIN", "1G", (const char *)NULL);
    assert_int_equal(_rc_option(RC_OPT_PURGE_DELAY), DELAY_MS);
    rc_heap_trim();
    rc_heap_stats s0, s1, s2;
    rc_heap_get_stats(&s0);
    size_t rss0 = rss_bytes();

    void **chain = alloc_chain(32 * MiB, one_size_256);
    uint64_t t0 = now_ms();
    free_chain(chain);
    rc_heap_get_stats(&s1);
    uint64_t t1 = now_ms();
    if (t1 - t0 < DELAY_MS / 2) {
        /* The delay has not run out: the free pools are still resident. */
        assert_true(s1.bytes_resident_free >= 24 * MiB);
        assert_true(s1.bytes_mapped >= s0.bytes_mapped + 24 * MiB);
    } else {
        print_message("freeing took %llu ms: skipped the before-delay check\n", (unsigned long long)(t1 - t0));
    }

    sleep_ms(DELAY_MS + 100);
    /* Use the heap: 48 blocks of 512 bytes take two pools; freeing them
     * returns one to its arena, which runs the due purge. */
    void *p[48];
    for (int i = 0; i < 48; i++) {
        p[i] = rc_malloc(512);
        assert_non_null(p[i]);
    }
    for (int i = 0; i < 48; i++) rc_free(p[i]);
    rc_heap_get_stats(&s2);
    size_t rss2 = rss_bytes();
    if (s2.bytes_resident_free > 1 * MiB)
        fail_msg("%zu KiB still resident and free %u ms after freeing", s2.bytes_resident_free >> 10, DELAY_MS + 100);
    if (s2.bytes_mapped > s0.bytes_mapped + 4 * MiB)
        fail_msg("bytes_mapped %zu MiB, at start %zu MiB", s2.bytes_mapped >> 20, s0.bytes_mapped >> 20);
    if (rss2 > rss0 + 8 * MiB) fail_msg("RSS %zu MiB above the start after the purge delay", (rss2 - rss0) >> 20);
}

/* A freed large mapping is cached, and unmapped once the delay has passed
 * and a large block is allocated or freed again. */
static void test_purge_delay_large_cache(void **state) {
    (void)state;
    env_restore(&env);
    env_set_options(&env, "RECLAIM_PURGE_DELAY", "200", "RECLAIM_HEAP_RETAIN", "1G", (const char *)NULL);
    rc_heap_trim();
    rc_heap_stats s0, s1, s2;
    rc_heap_get_stats(&s0);
    void *big = rc_malloc(6 * MiB);
    assert_non_null(big);
    memset(big, 3, 6 * MiB);
    rc_free(big);
    rc_heap_get_stats(&s1);
    assert_int_equal(s1.large_cached, s0.large_cached + 1);
    assert_true(s1.bytes_mapped >= s0.bytes_mapped + 6 * MiB);

    sleep_ms(DELAY_MS + 100);
    void *small_large = rc_malloc(300 * KiB); /* too small to reuse the 6 MiB mapping */
    assert_non_null(small_large);
    rc_free(small_large);
    rc_heap_get_stats(&s2);
    assert_true(s2.large_cached <= 1); /* at most the 300 KiB one */
    if (s2.bytes_mapped + 5 * MiB > s1.bytes_mapped)
        fail_msg("bytes_mapped %zu KiB, %zu KiB with the 6 MiB mapping cached", s2.bytes_mapped >> 10,
                 s1.bytes_mapped >> 10);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_trim_small_blocks, keep_everything, restore_env),
        cmocka_unit_test_setup_teardown(test_trim_medium_blocks, keep_everything, restore_env),
        cmocka_unit_test_setup_teardown(test_trim_large_blocks, keep_everything, restore_env),
        cmocka_unit_test_setup_teardown(test_trim_twice, keep_everything, restore_env),
        cmocka_unit_test_setup_teardown(test_trim_keeps_live_blocks, keep_everything, restore_env),
        cmocka_unit_test_setup_teardown(test_retain_budget, keep_everything, restore_env),
        cmocka_unit_test_setup_teardown(test_purge_delay_zero, keep_everything, restore_env),
        cmocka_unit_test_setup_teardown(test_purge_delay_pools, keep_everything, restore_env),
        cmocka_unit_test_setup_teardown(test_purge_delay_large_cache, keep_everything, restore_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
