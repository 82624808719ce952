/*
 * test_trace_fast.c — the tracer's fast paths (docs/profiling.md section
 * 9): what rc_malloc and rc_free decide without the tracer while sampling
 * (the thread's countdown, the filter), and the directory of side-table
 * words that the exact hooks read instead of the arena headers.
 *
 *   - a countdown drawn under one start does not carry over to the next
 *     on any thread: a worker draws one under a 1 GiB mean, the tracing
 *     restarts with a mean of 1 byte, and the worker's next block is
 *     sampled;
 *   - rc_free of a sampled block reaches the tracer (its filter counter
 *     is not 0) and untraces it;
 *   - exact tracing stays exact when the heap gives pools back and hands
 *     them to blocks of another class (the directory's words go with the
 *     arena's);
 *   - rc_new and the release of objects sample as rc_malloc and rc_free
 *     do: the estimate is unbiased and the dead are untraced.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "reclaim.h"

static int teardown(void **state) {
    (void)state;
    rc_trace_stop();
    return 0;
}

/* {==== sampling: the countdown across a restart ==== */

typedef struct worker {
    pthread_barrier_t step;
    size_t traced_after; /* the worker's own reading, after its block */
} worker;

static void *worker_main(void *arg) {
    worker *w = arg;
    /* under the 1 GiB mean: draws a countdown of about a GiB */
    void *a = rc_malloc(64);
    rc_free(a);
    pthread_barrier_wait(&w->step); /* the main thread restarts with a mean of 1 byte */
    pthread_barrier_wait(&w->step);
    void *b = rc_malloc(3000); /* p = 1 - exp(-3000): sampled, weight 1 */
    rc_trace_get_traced_memory(&w->traced_after, NULL); /* publishes this thread's count */
    rc_free(b);
    return NULL;
}

static void test_restart_draws_afresh_on_every_thread(void **state) {
    (void)state;
    worker w = {.traced_after = 0};
    pthread_barrier_init(&w.step, NULL, 2);
    assert_int_equal(rc_trace_start_sampled((size_t)1 << 30, 1), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, worker_main, &w), 0);
    pthread_barrier_wait(&w.step);
    assert_int_equal(rc_trace_start_sampled(1, 1), 0);
    pthread_barrier_wait(&w.step);
    pthread_join(t, NULL);
    pthread_barrier_destroy(&w.step);
    assert_int_equal(w.traced_after, 3000);
}

/* }==== */

/* {==== sampling: rc_free of a sampled block ==== */

static void test_sampled_free_untraces(void **state) {
    (void)state;
    assert_int_equal(rc_trace_start_sampled(1, 1), 0);
    void *v[8];
    for (int i = 0; i < 8; i++) v[i] = rc_malloc(1000 + (size_t)i);
    size_t cur;
    rc_trace_get_traced_memory(&cur, NULL);
    assert_int_equal(cur, 8 * 1000 + 28);
    for (int i = 0; i < 8; i += 2) rc_free(v[i]);
    rc_trace_get_traced_memory(&cur, NULL);
    assert_int_equal(cur, 1001 + 1003 + 1005 + 1007);
    for (int i = 1; i < 8; i += 2) rc_free(v[i]);
    rc_trace_get_traced_memory(&cur, NULL);
    assert_int_equal(cur, 0);
}

/* }==== */

/* {==== exact: pools given back and reused by another class ==== */

#define N 20000

/* size bytes each, n blocks; checks the traced total, a snapshot's row
 * for this line, and the total after freeing them. */
static void churn(void **v, size_t n, size_t size) {
    size_t cur;
    rc_trace_get_traced_memory(&cur, NULL);
    size_t before = cur;
    unsigned line = __LINE__ + 1;
    for (size_t i = 0; i < n; i++) v[i] = rc_malloc(size);
    rc_trace_get_traced_memory(&cur, NULL);
    assert_int_equal(cur - before, n * size);
    rc_snapshot *s = rc_snapshot_take();
    assert_non_null(s);
    rc_trace_stat *rows;
    int64_t nrows = rc_snapshot_statistics(s, RC_BY_LINE, &rows);
    assert_true(nrows > 0);
    const rc_trace_stat *row = NULL;
    for (int64_t k = 0; k < nrows; k++)
        if (rows[k].frames[0].line == line) row = &rows[k];
    assert_non_null(row);
    assert_int_equal(row->count, n);
    assert_int_equal(row->size, n * size);
    rc_free(rows);
    rc_snapshot_free(s);
    for (size_t i = 0; i < n; i++) rc_free(v[i]);
    rc_trace_get_traced_memory(&cur, NULL);
    assert_int_equal(cur, before);
}

static void test_exact_across_pool_reuse(void **state) {
    (void)state;
    void **v = (rc_malloc)(N * sizeof *v); /* untraced: before the start */
    assert_non_null(v);
    assert_int_equal(rc_trace_start(1), 0);
    churn(v, N, 40);  /* class 48: 1 - 8 bytes short of the class */
    rc_heap_trim();   /* the pools go back (their tables and words with them) */
    churn(v, N, 100); /* class 112, in pools that may have been class 48's */
    rc_heap_trim();
    churn(v, N, 17);  /* class 32 */
    rc_trace_stop();
    (rc_free)(v);
}

/* }==== */

/* {==== sampling objects ==== */

/* A 48-byte payload: 64-byte objects. */
typedef struct thing {
    char bytes[48];
} thing;
static const rc_type thing_type = {.name = "thing", .size = sizeof(thing)};

/* rc_new and the release decide as rc_malloc and rc_free do: under a mean
 * of 2 KiB, 100,000 objects of 64 bytes (6.4 MB, some 3,100 samples: the
 * estimate's standard error is under 2%) are estimated within 10%; every
 * sampled one is untraced when it dies, so the traced total comes back to
 * 0; and with a mean of 1 byte each one is traced, at exactly 64 bytes.
 * The thread's first object is made before tracing starts, so that the
 * thread's collector world (allocated with it, and alive after) is not
 * among the traced blocks. */
#define THINGS 100000
static void test_sampled_objects(void **state) {
    (void)state;
    void **v = (rc_malloc)(THINGS * sizeof *v);
    assert_non_null(v);
    rc_decref(rc_new(&thing_type)); /* the world, untraced */
    assert_int_equal(rc_trace_start_sampled(2 * 1024, 1), 0);
    for (int i = 0; i < THINGS; i++) assert_non_null(v[i] = rc_new(&thing_type));
    size_t cur;
    rc_trace_get_traced_memory(&cur, NULL);
    double exact = 64.0 * THINGS;
    if (cur < 0.9 * exact || cur > 1.1 * exact) fail_msg("estimated %zu bytes, exact %.0f", cur, exact);
    for (int i = 0; i < THINGS; i++) rc_decref(v[i]);
    rc_trace_get_traced_memory(&cur, NULL);
    assert_int_equal(cur, 0);
    assert_int_equal(rc_trace_start_sampled(1, 1), 0);
    for (int i = 0; i < 1000; i++) v[i] = rc_new(&thing_type);
    rc_trace_get_traced_memory(&cur, NULL);
    assert_int_equal(cur, 64 * 1000);
    for (int i = 0; i < 1000; i++) rc_decref(v[i]);
    rc_trace_get_traced_memory(&cur, NULL);
    assert_int_equal(cur, 0);
    (rc_free)(v);
}
/* }==== */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_sampled_objects, teardown),
        cmocka_unit_test_teardown(test_restart_draws_afresh_on_every_thread, teardown),
        cmocka_unit_test_teardown(test_sampled_free_untraces, teardown),
        cmocka_unit_test_teardown(test_exact_across_pool_reuse, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
