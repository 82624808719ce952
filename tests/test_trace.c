/*
 * test_trace.c — the allocation tracer and snapshots (include/reclaim.h
 * section 7, Python's tracemalloc): start/stop, traced memory and its
 * peak, exact sizes and counts by line, file, function and traceback on a
 * known workload, call sites from the RC_SITE macros, objects, frees,
 * reallocs, compare, filters, the dump/load round trip and the loader's
 * errors, tracebacks of several frames resolved to the right functions,
 * threads.
 *
 * The workload functions are not static and the binary links with
 * -rdynamic, so even the dladdr symbolizer names them; they are noinline
 * and built with frame pointers, so the frame walk sees each of them.
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "reclaim.h"
#include "internal/runtime.h"

#define NOINLINE __attribute__((noinline))

/* exported (not static), so the symbolizer finds them by name */
void *workload_a(void);
void *workload_b(void);
void *level1(void);
void *level2(void);
void *level3(void);

static int teardown(void **state) {
    (void)state;
    rc_trace_stop();
    return 0;
}

/* The line of each allocation below: the tests look for them. */
static unsigned line_a, line_b;

NOINLINE void *workload_a(void) { /* 100 blocks of 32 bytes */
    void **v = (rc_malloc)(100 * sizeof *v); /* plain call: not traced by site, see below */
    line_a = __LINE__ + 1;
    for (int i = 0; i < 100; i++) v[i] = rc_malloc(32);
    return v;
}

NOINLINE void *workload_b(void) { /* 50 blocks of 100 bytes */
    void **v = (rc_malloc)(50 * sizeof *v);
    line_b = __LINE__ + 1;
    for (int i = 0; i < 50; i++) v[i] = rc_malloc(100);
    return v;
}

static void free_all(void **v, int n) {
    for (int i = 0; i < n; i++) rc_free(v[i]);
    (rc_free)(v);
}

/* The row of rows[0..n) whose one frame is file:line, or NULL. */
static const rc_trace_stat *row_at(const rc_trace_stat *rows, int64_t n, unsigned line) {
    for (int64_t i = 0; i < n; i++)
        if (rows[i].nframes && rows[i].frames[0].line == line && strstr(rows[i].frames[0].file, "test_trace.c"))
            return &rows[i];
    return NULL;
}

static void test_start_stop(void **state) {
    (void)state;
    assert_false(rc_trace_is_tracing());
    _rc_set_error("%s", "");
    assert_int_equal(rc_trace_start(0), -1);
    assert_non_null(strstr(rc_last_error(), "nframes must be 1..64, not 0"));
    assert_int_equal(rc_trace_start(RC_TRACE_MAX_FRAMES + 1), -1);
    assert_false(rc_trace_is_tracing());
    assert_null(rc_snapshot_take());
    assert_non_null(strstr(rc_last_error(), "not tracing"));
    assert_int_equal(rc_trace_start(1), 0);
    assert_true(rc_trace_is_tracing());
    size_t cur = 1, peak = 1;
    rc_trace_get_traced_memory(&cur, &peak);
    assert_int_equal(cur, 0);
    assert_int_equal(peak, 0);
    void *p = rc_malloc(1000);
    rc_trace_get_traced_memory(&cur, &peak);
    assert_int_equal(cur, 1000);
    assert_int_equal(peak, 1000);
    assert_true(rc_trace_overhead() > 0);
    rc_trace_stop();
    assert_false(rc_trace_is_tracing());
    rc_trace_get_traced_memory(&cur, &peak);
    assert_int_equal(cur, 0);
    assert_int_equal(peak, 0);
    rc_free(p); /* freed after the stop: nothing to untrace */
    /* blocks from before a start are not traced, and freeing them is fine */
    void *before = rc_malloc(64);
    assert_int_equal(rc_trace_start(1), 0);
    rc_free(before);
    rc_trace_get_traced_memory(&cur, NULL);
    assert_int_equal(cur, 0);
}

static void test_traced_memory_and_peak(void **state) {
    (void)state;
    assert_int_equal(rc_trace_start(1), 0);
    void *a = rc_malloc(5000), *b = rc_calloc(10, 100);
    size_t cur, peak;
    rc_trace_get_traced_memory(&cur, &peak);
    assert_int_equal(cur, 6000);
    assert_int_equal(peak, 6000);
    rc_free(a);
    rc_trace_get_traced_memory(&cur, &peak);
    assert_int_equal(cur, 1000);
    assert_int_equal(peak, 6000);
    rc_trace_reset_peak();
    rc_trace_get_traced_memory(&cur, &peak);
    assert_int_equal(peak, 1000);
    b = rc_realloc(b, 3000); /* the old trace goes, the new size counts */
    rc_trace_get_traced_memory(&cur, &peak);
    assert_int_equal(cur, 3000);
    assert_int_equal(peak, 3000);
    rc_free(b);
    rc_trace_get_traced_memory(&cur, &peak);
    assert_int_equal(cur, 0);
}

static void test_statistics_by_line_file_function(void **state) {
    (void)state;
    assert_int_equal(rc_trace_start(1), 0);
    void **a = workload_a(), **b = workload_b();
    rc_snapshot *s = rc_snapshot_take();
    assert_non_null(s);
    size_t size, count;
    rc_snapshot_totals(s, &size, &count, NULL);
    /* the two plain-called vectors are traced too (by return address) */
    assert_int_equal(count, 150 + 2);
    assert_int_equal(size, 100 * 32 + 50 * 100 + 150 * sizeof(void *));

    rc_trace_stat *rows;
    int64_t n = rc_snapshot_statistics(s, RC_BY_LINE, &rows);
    assert_true(n >= 2);
    const rc_trace_stat *ra = row_at(rows, n, line_a), *rb = row_at(rows, n, line_b);
    assert_non_null(ra);
    assert_non_null(rb);
    assert_int_equal(ra->size, 3200);
    assert_int_equal(ra->count, 100);
    assert_int_equal(rb->size, 5000);
    assert_int_equal(rb->count, 50);
    assert_string_equal(ra->frames[0].function, "workload_a");
    assert_string_equal(rb->frames[0].function, "workload_b");
    assert_ptr_equal(&rows[0], rb); /* biggest first */
    rc_free(rows);

    /* by function: the site's 100 blocks (and, when the symbolizer gives
     * the same file name, the vector workload_a got with a plain call) */
    n = rc_snapshot_statistics(s, RC_BY_FUNCTION, &rows);
    size_t in_a = 0;
    for (int64_t i = 0; i < n; i++) {
        if (strcmp(rows[i].frames[0].function, "workload_a") == 0) {
            in_a += rows[i].count;
            assert_int_equal(rows[i].frames[0].line, 0);
        }
    }
    assert_int_equal(in_a, 101);
    rc_free(rows);

    /* by file: everything allocated at sites of this file */
    n = rc_snapshot_statistics(s, RC_BY_FILE, &rows);
    const rc_trace_stat *mine = NULL;
    for (int64_t i = 0; i < n; i++)
        if (strstr(rows[i].frames[0].file, "test_trace.c") && (!mine || rows[i].count > mine->count)) mine = &rows[i];
    assert_non_null(mine);
    assert_true(mine->count >= 150);
    assert_int_equal(mine->frames[0].line, 0);
    rc_free(rows);

    _rc_set_error("%s", "");
    assert_int_equal(rc_snapshot_statistics(s, (rc_trace_key)9, &rows), -1);
    assert_non_null(strstr(rc_last_error(), "unknown key 9"));
    assert_int_equal(rc_snapshot_statistics(NULL, RC_BY_LINE, &rows), -1);
    rc_snapshot_free(s);
    free_all(a, 100);
    free_all(b, 50);
}

typedef struct pair {
    void *a, *b;
} pair;

static const rc_type pair_type = {.name = "pair", .size = sizeof(pair)};

static void test_objects_and_site_of(void **state) {
    (void)state;
    rc_decref(rc_new(&pair_type)); /* the thread's object world exists before tracing */
    assert_int_equal(rc_trace_start(1), 0);
    unsigned line = __LINE__ + 1;
    pair *p = rc_new(&pair_type);
    rc_frame f[4];
    assert_int_equal(rc_trace_site_of(p, f, 4), 1);
    assert_int_equal(f[0].line, line);
    assert_non_null(strstr(f[0].file, "test_trace.c"));
    assert_string_equal(f[0].function, "test_objects_and_site_of");
    size_t cur;
    rc_trace_get_traced_memory(&cur, NULL);
    assert_int_equal(cur, 16 + sizeof(pair)); /* header + payload */
    rc_decref(p); /* the release untraces it */
    rc_trace_get_traced_memory(&cur, NULL);
    assert_int_equal(cur, 0);
    assert_int_equal(rc_trace_site_of(p, f, 4), 0);
    int local;
    assert_int_equal(rc_trace_site_of(&local, f, 4), 0);
    assert_int_equal(rc_trace_site_of(NULL, f, 4), 0);
}

static void test_compare(void **state) {
    (void)state;
    assert_int_equal(rc_trace_start(1), 0);
    void **a = workload_a();
    rc_snapshot *old = rc_snapshot_take();
    void **b = workload_b();
    free_all(a, 100);
    rc_snapshot *now = rc_snapshot_take();
    rc_trace_stat *rows;
    int64_t n = rc_snapshot_compare(now, old, RC_BY_LINE, &rows);
    assert_true(n >= 2);
    const rc_trace_stat *ra = row_at(rows, n, line_a), *rb = row_at(rows, n, line_b);
    assert_non_null(ra);
    assert_non_null(rb);
    assert_int_equal(rb->size, 5000);
    assert_int_equal(rb->size_diff, 5000);
    assert_int_equal(rb->count_diff, 50);
    assert_int_equal(ra->size, 0);
    assert_int_equal(ra->size_diff, -3200);
    assert_int_equal(ra->count_diff, -100);
    assert_ptr_equal(&rows[0], rb); /* the biggest change first */
    rc_free(rows);
    rc_snapshot_free(old);
    rc_snapshot_free(now);
    free_all(b, 50);
}

static void test_filter(void **state) {
    (void)state;
    assert_int_equal(rc_trace_start(1), 0);
    void **a = workload_a();
    rc_snapshot *s = rc_snapshot_take();
    rc_snapshot *in = rc_snapshot_filter(s, "*test_trace.c", true);
    rc_snapshot *out = rc_snapshot_filter(s, "*test_trace.c", false);
    assert_non_null(in);
    assert_non_null(out);
    size_t n_all, n_in, n_out;
    rc_snapshot_totals(s, NULL, &n_all, NULL);
    rc_snapshot_totals(in, NULL, &n_in, NULL);
    rc_snapshot_totals(out, NULL, &n_out, NULL);
    assert_true(n_in >= 100 && n_in <= 101);
    assert_int_equal(n_in + n_out, n_all);
    rc_snapshot *none = rc_snapshot_filter(s, "*nothing-matches*", true);
    rc_snapshot_totals(none, NULL, &n_in, NULL);
    assert_int_equal(n_in, 0);
    assert_null(rc_snapshot_filter(s, NULL, true));
    rc_snapshot_free(s);
    rc_snapshot_free(in);
    rc_snapshot_free(out);
    rc_snapshot_free(none);
    free_all(a, 100);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_dump_load(void **state) {
    (void)state;
    assert_int_equal(rc_trace_start(1), 0);
    void **a = workload_a(), **b = workload_b();
    rc_snapshot *s = rc_snapshot_take();
    char path[256];
    snprintf(path, sizeof path, "%s/trace-%d.rcsnap", RC_TEST_BINARY_DIR, (int)getpid());
    assert_int_equal(rc_snapshot_dump(s, path), 0);
    /* written beside the path and renamed over it: no temporary is left */
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
    assert_int_equal(access(tmp, F_OK), -1);
    rc_snapshot *back = rc_snapshot_load(path);
    assert_non_null(back);
    for (rc_trace_key key = RC_BY_LINE; key <= RC_BY_TRACEBACK; key++) {
        rc_trace_stat *r1, *r2;
        int64_t n1 = rc_snapshot_statistics(s, key, &r1), n2 = rc_snapshot_statistics(back, key, &r2);
        assert_int_equal(n1, n2);
        for (int64_t i = 0; i < n1; i++) {
            assert_int_equal(r1[i].size, r2[i].size);
            assert_int_equal(r1[i].count, r2[i].count);
            assert_int_equal(r1[i].nframes, r2[i].nframes);
            for (unsigned k = 0; k < r1[i].nframes; k++) {
                assert_string_equal(r1[i].frames[k].file, r2[i].frames[k].file);
                assert_string_equal(r1[i].frames[k].function, r2[i].frames[k].function);
                assert_int_equal(r1[i].frames[k].line, r2[i].frames[k].line);
            }
        }
        rc_free(r1);
        rc_free(r2);
    }
    size_t p1, p2;
    rc_snapshot_totals(s, NULL, NULL, &p1);
    rc_snapshot_totals(back, NULL, NULL, &p2);
    assert_int_equal(p1, p2);
    /* compact: one line per traceback, not per block */
    FILE *f = fopen(path, "r");
    int lines = 0, c;
    while ((c = fgetc(f)) != EOF) lines += c == '\n';
    fclose(f);
    assert_true(lines < 40);
    rc_snapshot_free(back);

    /* errors: each names the file and what is wrong */
    assert_null(rc_snapshot_load("/nonexistent/x.rcsnap"));
    assert_non_null(strstr(rc_last_error(), "cannot open '/nonexistent/x.rcsnap'"));
    write_file(path, "hello\n");
    assert_null(rc_snapshot_load(path));
    assert_non_null(strstr(rc_last_error(), "not a reclaim snapshot"));
    write_file(path, "reclaim-snapshot 1\ntraced 10 20\nstrings 1\ns a.c\nframes 1\nf 0 0 3\nrows 1\nr 10 1 1 0\n");
    assert_null(rc_snapshot_load(path));
    assert_non_null(strstr(rc_last_error(), "truncated"));
    write_file(path, "reclaim-snapshot 1\ntraced 10 20\nstrings 1\ns a.c\nframes 1\nf 0 5 3\nrows 0\nend\n");
    assert_null(rc_snapshot_load(path));
    assert_non_null(strstr(rc_last_error(), "line 6"));
    write_file(path, "reclaim-snapshot 1\ntraced 10 20\nstrings 2\ns a.c\ns f\\tg\nframes 1\nf 0 1 3\nrows 1\n"
                     "r 10 1 1 0\nend\n");
    rc_snapshot *tiny = rc_snapshot_load(path);
    assert_non_null(tiny);
    rc_trace_stat *rows;
    assert_int_equal(rc_snapshot_statistics(tiny, RC_BY_LINE, &rows), 1);
    assert_string_equal(rows[0].frames[0].function, "f\tg");
    assert_int_equal(rows[0].size, 10);
    rc_free(rows);
    rc_snapshot_free(tiny);
    unlink(path);
    rc_snapshot_free(s);
    free_all(a, 100);
    free_all(b, 50);
}

/* Three nested functions, the innermost allocating with a plain call:
 * with 4 frames the traceback names all three, innermost first. */
NOINLINE void *level3(void) {
    void *p = (rc_malloc)(777);
    __asm__ volatile("" ::: "memory"); /* no tail call */
    return p;
}
NOINLINE void *level2(void) {
    void *p = level3();
    __asm__ volatile("" ::: "memory");
    return p;
}
NOINLINE void *level1(void) {
    void *p = level2();
    __asm__ volatile("" ::: "memory");
    return p;
}

static void test_tracebacks(void **state) {
    (void)state;
    assert_int_equal(rc_trace_start(4), 0);
    void *p = level1();
    rc_frame f[8];
    unsigned n = rc_trace_site_of(p, f, 8);
    assert_true(n >= 3);
    assert_string_equal(f[0].function, "level3");
    assert_string_equal(f[1].function, "level2");
    assert_string_equal(f[2].function, "level1");
    rc_snapshot *s = rc_snapshot_take();
    rc_trace_stat *rows;
    int64_t rn = rc_snapshot_statistics(s, RC_BY_TRACEBACK, &rows);
    assert_int_equal(rn, 1);
    assert_int_equal(rows[0].size, 777);
    assert_true(rows[0].nframes >= 3 && rows[0].nframes <= 4);
    assert_string_equal(rows[0].frames[2].function, "level1");
    rc_free(rows);
    rc_snapshot_free(s);
    rc_free(p);
}

/* Several tracebacks sharing frames: each row's frames are its own
 * traceback's, in order (a row's frames are not next to each other in the
 * snapshot's frame table). Was a bug: rows read neighbouring frames. */
static void test_traceback_rows(void **state) {
    (void)state;
    assert_int_equal(rc_trace_start(4), 0);
    void *a = level1(); /* level3 <- level2 <- level1 <- here */
    void *b = level2(); /* level3 <- level2 <- here */
    void *c = level3(); /* level3 <- here */
    rc_snapshot *s = rc_snapshot_take();
    rc_trace_stat *rows;
    int64_t n = rc_snapshot_statistics(s, RC_BY_TRACEBACK, &rows);
    assert_int_equal(n, 3);
    int seen = 0;
    for (int64_t i = 0; i < n; i++) {
        assert_int_equal(rows[i].size, 777);
        assert_string_equal(rows[i].frames[0].function, "level3");
        const char *second = rows[i].frames[1].function;
        if (strcmp(second, "level2") == 0 && strcmp(rows[i].frames[2].function, "level1") == 0) {
            assert_string_equal(rows[i].frames[3].function, "test_traceback_rows");
            seen |= 1;
        } else if (strcmp(second, "level2") == 0) {
            assert_string_equal(rows[i].frames[2].function, "test_traceback_rows");
            seen |= 2;
        } else {
            assert_string_equal(second, "test_traceback_rows");
            seen |= 4;
        }
    }
    assert_int_equal(seen, 7);
    rc_free(rows);
    /* and an empty snapshot gives no rows */
    rc_free(a);
    rc_free(b);
    rc_free(c);
    rc_snapshot *empty = rc_snapshot_filter(s, "*nothing*", true);
    assert_int_equal(rc_snapshot_statistics(empty, RC_BY_TRACEBACK, &rows), 0);
    rc_free(rows);
    rc_snapshot_free(empty);
    rc_snapshot_free(s);
}

/* Threads allocating and freeing at once: the totals come out exact. */
static void *thread_work(void *arg) {
    (void)arg;
    void *keep[200];
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 200; i++) keep[i] = rc_malloc(48);
        for (int i = 0; i < 200; i++) rc_free(keep[i]);
    }
    for (int i = 0; i < 100; i++) keep[i] = rc_malloc(16);
    void **out = (rc_malloc)(100 * sizeof *out);
    memcpy(out, keep, 100 * sizeof *out);
    return out;
}

static void test_threads(void **state) {
    (void)state;
    assert_int_equal(rc_trace_start(2), 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&t[i], NULL, thread_work, NULL), 0);
    void *res[4];
    for (int i = 0; i < 4; i++) pthread_join(t[i], &res[i]);
    size_t cur;
    rc_trace_get_traced_memory(&cur, NULL);
    assert_int_equal(cur, 4 * (100 * 16 + 100 * sizeof(void *)));
    rc_snapshot *s = rc_snapshot_take();
    size_t count;
    rc_snapshot_totals(s, NULL, &count, NULL);
    assert_int_equal(count, 4 * 101);
    rc_snapshot_free(s);
    for (int i = 0; i < 4; i++) free_all(res[i], 100);
    rc_trace_get_traced_memory(&cur, NULL);
    assert_int_equal(cur, 0);
}

/* Sampling: on a known workload (three sites, 120 MB in 300k blocks of
 * sizes from 16 bytes to 2 KiB), the sampled estimates of each site's
 * bytes come within 10% of the exact figures, and the blocks within 15%;
 * freeing everything brings the estimate back to zero. */
static unsigned sample_lines[3];

static size_t sample_size(unsigned i) { return 16 + (i * 2654435761u) % 2033; }

NOINLINE static void sample_workload(void **v, unsigned n) {
    for (unsigned i = 0; i < n; i++) {
        switch (i % 3) {
        case 0: sample_lines[0] = __LINE__; v[i] = rc_malloc(sample_size(i)); break;
        case 1: sample_lines[1] = __LINE__; v[i] = rc_malloc(sample_size(i) / 2 + 8); break;
        default: sample_lines[2] = __LINE__; v[i] = rc_malloc(3 * sample_size(i)); break;
        }
    }
}

static void test_sampling_estimates(void **state) {
    (void)state;
    enum { N = 300000 };
    void **v = (rc_malloc)(N * sizeof *v);
    assert_non_null(v);
    size_t exact_size[3] = {0}, exact_count[3] = {0};
    for (unsigned i = 0; i < N; i++) {
        size_t s = i % 3 == 0 ? sample_size(i) : i % 3 == 1 ? sample_size(i) / 2 + 8 : 3 * sample_size(i);
        exact_size[i % 3] += s;
        exact_count[i % 3]++;
    }
    _rc_set_error("%s", "");
    assert_int_equal(rc_trace_start_sampled((size_t)1 << 41, 1), -1);
    assert_non_null(strstr(rc_last_error(), "more than 1 TiB"));
    assert_int_equal(rc_trace_start_sampled(0, 0), -1);
    assert_int_equal(rc_trace_start_sampled(16 * 1024, 1), 0);
    sample_workload(v, N);
    rc_snapshot *s = rc_snapshot_take();
    rc_trace_stat *rows;
    int64_t n = rc_snapshot_statistics(s, RC_BY_LINE, &rows);
    for (int k = 0; k < 3; k++) {
        const rc_trace_stat *r = row_at(rows, n, sample_lines[k]);
        assert_non_null(r);
        double err_size = fabs((double)r->size - (double)exact_size[k]) / (double)exact_size[k];
        double err_count = fabs((double)r->count - (double)exact_count[k]) / (double)exact_count[k];
        if (err_size > 0.10 || err_count > 0.15)
            fail_msg("site %d: estimated %zu bytes in %zu blocks, exact %zu in %zu", k, r->size, r->count,
                     exact_size[k], exact_count[k]);
    }
    rc_free(rows);
    rc_snapshot_free(s);
    size_t cur;
    rc_trace_get_traced_memory(&cur, NULL);
    size_t total = exact_size[0] + exact_size[1] + exact_size[2];
    assert_true(fabs((double)cur - (double)total) / (double)total < 0.10);
    for (unsigned i = 0; i < N; i++) rc_free(v[i]);
    rc_trace_get_traced_memory(&cur, NULL);
    assert_int_equal(cur, 0);
    (rc_free)(v);
}

/* Switching between exact and sampled tracing starts afresh (the two kinds
 * of traces do not mix); changing only the frames keeps the traces. */
static void test_switching_modes(void **state) {
    (void)state;
    assert_int_equal(rc_trace_start(1), 0);
    void *a = rc_malloc(4000);
    assert_int_equal(rc_trace_start(8), 0); /* same kind: traces kept */
    size_t cur;
    rc_trace_get_traced_memory(&cur, NULL);
    assert_int_equal(cur, 4000);
    assert_int_equal(rc_trace_start_sampled(1, 1), 0); /* a mean of 1 byte samples every block */
    rc_trace_get_traced_memory(&cur, NULL);
    assert_int_equal(cur, 0);
    void *b = rc_malloc(3000);
    rc_trace_get_traced_memory(&cur, NULL);
    assert_int_equal(cur, 3000); /* p = 1 - exp(-3000): weight 1 */
    rc_free(a); /* traced before the switch: nothing to remove */
    rc_free(b);
    rc_trace_get_traced_memory(&cur, NULL);
    assert_int_equal(cur, 0);
    assert_int_equal(rc_trace_start(1), 0); /* back to exact: afresh again */
    rc_trace_get_traced_memory(&cur, NULL);
    assert_int_equal(cur, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_start_stop, teardown),
        cmocka_unit_test_teardown(test_traced_memory_and_peak, teardown),
        cmocka_unit_test_teardown(test_statistics_by_line_file_function, teardown),
        cmocka_unit_test_teardown(test_objects_and_site_of, teardown),
        cmocka_unit_test_teardown(test_compare, teardown),
        cmocka_unit_test_teardown(test_filter, teardown),
        cmocka_unit_test_teardown(test_dump_load, teardown),
        cmocka_unit_test_teardown(test_tracebacks, teardown),
        cmocka_unit_test_teardown(test_traceback_rows, teardown),
        cmocka_unit_test_teardown(test_threads, teardown),
        cmocka_unit_test_teardown(test_sampling_estimates, teardown),
        cmocka_unit_test_teardown(test_switching_modes, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
