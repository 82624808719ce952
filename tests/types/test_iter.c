/*
 * test_iter.c — the lazy building blocks of reclaim.h section 6.9: rc_range
 * against Python's list(range(...)) (negative and odd steps, the int64
 * limits), rc_map, rc_filter, rc_take, rc_islice (bounds, and how much of a
 * shared source it consumes), rc_enumerate, rc_zip, rc_chain, rc_batched,
 * rc_lines; exhaustion that stays; errors from callbacks and sources
 * propagating; the early release of sources; reference counts; cycles
 * through the blocks collected; constant memory of a long pipeline.
 */
#include <dirent.h>
#include <unistd.h>

#include "types_util.h"

/* {==== helpers ==== */

/* Drain it: ints into vals (up to max), the count in *n. Returns the last
 * rc_next result (0, or -1 on error). */
static int drain(void *it, int64_t *vals, size_t max, size_t *n) {
    *n = 0;
    void *x;
    int r;
    while ((r = rc_next(it, &x)) == 1) {
        if (vals && *n < max) vals[*n] = rc_int_value(x);
        ++*n;
        rc_decref(x);
    }
    return r;
}

static void assert_exhausted(void *it) {
    void *x = (void *)1;
    for (int k = 0; k < 3; k++) {
        assert_int_equal(rc_next(it, &x), 0);
        assert_null(x);
    }
}

/* Drain it (new reference, released here) and compare with want[0..n). */
static void expect_ints(void *it, const int64_t *want, size_t n) {
    assert_non_null(it);
    int64_t got[256];
    size_t k;
    assert_int_equal(drain(it, got, 256, &k), 0);
    assert_int_equal(k, n);
    for (size_t i = 0; i < n && i < 256; i++) assert_int_equal(got[i], want[i]);
    assert_exhausted(it);
    rc_decref(it);
}

/* Drain it and compare the reprs of its items, joined by " ". */
static void expect_reprs(void *it, const char *want) {
    assert_non_null(it);
    char buf[4096] = "";
    size_t len = 0;
    void *x;
    int r;
    while ((r = rc_next(it, &x)) == 1) {
        void *s = rc_repr(x);
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", len ? " " : "", rc_str_cstr(s));
        rc_decref(s);
        rc_decref(x);
    }
    assert_int_equal(r, 0);
    assert_string_equal(buf, want);
    assert_exhausted(it);
    rc_decref(it);
}

/* block, after releasing src: blocks take their own reference to what
 * they wrap, so a caller hands over a source it made with this. */
static void *give(void *block, void *src) {
    rc_decref(src);
    return block;
}

static void *next_item(void *it) {
    void *x;
    assert_int_equal(rc_next(it, &x), 1);
    return x;
}

static int64_t next_int(void *it) {
    void *x = next_item(it);
    int64_t v = rc_int_value(x);
    rc_decref(x);
    return v;
}

static void *tuple_of_ints(size_t n, const int64_t *v) {
    void *t = rc_tuple_new(n);
    for (size_t i = 0; i < n; i++) {
        void *x = rc_int_new(v[i]);
        rc_tuple_set(t, (int64_t)i, x);
        rc_decref(x);
    }
    return t;
}

static void *square(void *item, void *arg) {
    (void)arg;
    int64_t v = rc_int_value(item);
    return rc_int_new(v * v);
}

static int is_even(void *item, void *arg) {
    (void)arg;
    return rc_int_value(item) % 2 == 0;
}

/* Fails on the item equal to *(int64_t *)arg. */
static void *fail_at(void *item, void *arg) {
    if (rc_int_value(item) == *(int64_t *)arg) {
        _rc_set_error("fail_at: item %lld refused", (long long)*(int64_t *)arg);
        return NULL;
    }
    return rc_incref(item);
}

static int pred_fail_at(void *item, void *arg) {
    if (rc_int_value(item) == *(int64_t *)arg) {
        _rc_set_error("pred_fail_at: item %lld refused", (long long)*(int64_t *)arg);
        return -1;
    }
    return 1;
}

static char tmp_dir[256];

static const char *tmp_path(const char *name) {
    static char path[512];
    if (!tmp_dir[0]) {
        snprintf(tmp_dir, sizeof tmp_dir, "/tmp/rc_test_iter_XXXXXX");
        assert_non_null(mkdtemp(tmp_dir));
    }
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    return path;
}

static const char *write_file_n(const char *name, const void *data, size_t n) {
    const char *path = tmp_path(name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
    return path;
}

static const char *write_file(const char *name, const char *text) { return write_file_n(name, text, strlen(text)); }

static int open_fds(void) {
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}
/* }==== */

/* {==== range ==== */

static void test_range_like_python(void **state) {
    (void)state;
    expect_ints(rc_range(0, 10, 3), (int64_t[]){0, 3, 6, 9}, 4);
    expect_ints(rc_range(10, 0, -3), (int64_t[]){10, 7, 4, 1}, 4);
    expect_ints(rc_range(-3, 3, 2), (int64_t[]){-3, -1, 1}, 3);
    expect_ints(rc_range(3, -3, -2), (int64_t[]){3, 1, -1}, 3);
    expect_ints(rc_range(5, 5, 1), NULL, 0);
    expect_ints(rc_range(5, 0, 1), NULL, 0);
    expect_ints(rc_range(0, 5, -1), NULL, 0);
    expect_ints(rc_range(0, 1, 1000), (int64_t[]){0}, 1);
    expect_ints(rc_range(-1, -10, -4), (int64_t[]){-1, -5, -9}, 3);
    /* every small combination against the definition */
    for (int64_t start = -7; start <= 7; start++)
        for (int64_t stop = -7; stop <= 7; stop++)
            for (int64_t step = -4; step <= 4; step++) {
                if (!step) continue;
                int64_t want[32];
                size_t n = 0;
                for (int64_t v = start; step > 0 ? v < stop : v > stop; v += step) want[n++] = v;
                expect_ints(rc_range(start, stop, step), want, n);
            }
}

static void test_range_limits(void **state) {
    (void)state;
    expect_ints(rc_range(INT64_MAX - 2, INT64_MAX, 1), (int64_t[]){INT64_MAX - 2, INT64_MAX - 1}, 2);
    expect_ints(rc_range(INT64_MIN, INT64_MIN + 3, 2), (int64_t[]){INT64_MIN, INT64_MIN + 2}, 2);
    expect_ints(rc_range(INT64_MAX, INT64_MIN, INT64_MIN), (int64_t[]){INT64_MAX, -1}, 2);
    expect_ints(rc_range(INT64_MIN, INT64_MAX, INT64_MAX), (int64_t[]){INT64_MIN, -1, INT64_MAX - 1}, 3);
    expect_ints(rc_range(INT64_MAX - 1, INT64_MAX, INT64_MAX), (int64_t[]){INT64_MAX - 1}, 1);
    expect_ints(rc_range(INT64_MIN + 1, INT64_MIN, -5), (int64_t[]){INT64_MIN + 1}, 1);
    expect_ints(rc_range(INT64_MAX, INT64_MAX - 5, INT64_MIN), (int64_t[]){INT64_MAX}, 1);
    /* 2^64 - 1 items: only the first few are taken */
    void *r = rc_range(INT64_MIN, INT64_MAX, 1);
    assert_int_equal(next_int(r), INT64_MIN);
    assert_int_equal(next_int(r), INT64_MIN + 1);
    rc_decref(r);
    r = rc_range(INT64_MAX, INT64_MIN, -1);
    assert_int_equal(next_int(r), INT64_MAX);
    assert_int_equal(next_int(r), INT64_MAX - 1);
    rc_decref(r);
}

static void test_range_errors_and_refs(void **state) {
    (void)state;
    clear_error();
    assert_null(rc_range(0, 10, 0));
    ERROR_HAS("rc_range: step must not be zero");
    void *r = rc_range(1000, 1003, 1);
    assert_false(rc_gc_is_tracked(r)); /* holds no references */
    void *x = next_item(r);
    assert_int_equal(rc_int_value(x), 1000);
    assert_int_equal(rc_refcount(x), 1);
    assert_ptr_equal(rc_iter(r), r); /* an iterator is its own iterator */
    assert_int_equal(rc_refcount(r), 2);
    rc_decref(r);
    rc_decref(x);
    assert_int_equal(next_int(r), 1001);
    assert_int_equal(next_int(r), 1002);
    assert_exhausted(r);
    rc_decref(r);
}
/* }==== */

/* {==== map and filter ==== */

static void test_map(void **state) {
    (void)state;
    void *r = rc_range(-3, 4, 1);
    expect_ints(give(rc_map(square, NULL, r), r), (int64_t[]){9, 4, 1, 0, 1, 4, 9}, 7);
    r = rc_range(0, 0, 1);
    expect_ints(rc_map(square, NULL, r), NULL, 0);
    rc_decref(r);
    /* over an iterable, not only an iterator */
    void *t = tuple_of_ints(3, (int64_t[]){5, 6, 7});
    expect_ints(rc_map(square, NULL, t), (int64_t[]){25, 36, 49}, 3);
    expect_ints(rc_map(square, NULL, t), (int64_t[]){25, 36, 49}, 3); /* a fresh iterator each time */
    assert_int_equal(rc_refcount(t), 1);
    rc_decref(t);
}

static void test_map_drops_source_when_exhausted(void **state) {
    (void)state;
    void *r = rc_range(0, 2, 1);
    void *m = rc_map(square, NULL, r);
    assert_int_equal(rc_refcount(r), 2); /* the map holds r itself */
    assert_int_equal(rc_refcount(m), 1);
    assert_false(rc_gc_is_tracked(m));   /* its source is not tracked */
    assert_int_equal(next_int(m), 0);
    assert_int_equal(next_int(m), 1);
    assert_int_equal(rc_refcount(r), 2);
    assert_exhausted(m);
    assert_int_equal(rc_refcount(r), 1); /* released at exhaustion */
    rc_decref(m);
    rc_decref(r);
}

static void test_map_shares_the_iterator(void **state) {
    (void)state;
    void *r = rc_range(0, 6, 1);
    void *m = rc_map(square, NULL, r);
    assert_int_equal(next_int(m), 0);
    assert_int_equal(next_int(r), 1); /* the map and r advance the same stream */
    assert_int_equal(next_int(m), 4);
    rc_decref(m);
    assert_int_equal(next_int(r), 3);
    rc_decref(r);
}

static void test_map_errors(void **state) {
    (void)state;
    void *r = rc_range(0, 3, 1);
    clear_error();
    assert_null(rc_map(NULL, NULL, r));
    ERROR_HAS("rc_map: function is NULL");
    clear_error();
    assert_null(rc_map(square, NULL, NULL));
    ERROR_HAS("rc_map: iterable is NULL");
    void *big = rc_int_new(100000);
    clear_error();
    assert_null(rc_map(square, NULL, big));
    ERROR_HAS("rc_map: 'int' object is not iterable");
    assert_int_equal(rc_refcount(big), 1);
    rc_decref(big);
    assert_int_equal(rc_refcount(r), 1);
    rc_decref(r);
    /* the function fails on the third item */
    int64_t bad = 2;
    r = rc_range(0, 10, 1);
    void *m = give(rc_map(fail_at, &bad, r), r);
    int64_t v[10];
    size_t n;
    clear_error();
    assert_int_equal(drain(m, v, 10, &n), -1);
    assert_int_equal(n, 2);
    ERROR_HAS("fail_at: item 2 refused");
    assert_exhausted(m);
    rc_decref(m);
}

static void test_filter(void **state) {
    (void)state;
    void *r = rc_range(0, 9, 1);
    expect_ints(give(rc_filter(is_even, NULL, r), r), (int64_t[]){0, 2, 4, 6, 8}, 5);
    r = rc_range(1, 9, 2);
    expect_ints(rc_filter(is_even, NULL, r), NULL, 0); /* nothing kept */
    assert_int_equal(rc_refcount(r), 1);
    rc_decref(r);
    r = rc_range(0, 0, 1);
    expect_ints(rc_filter(is_even, NULL, r), NULL, 0);
    rc_decref(r);
    /* kept items are the source's own objects */
    void *big = rc_int_new(1 << 20);
    void *t = rc_tuple_pack(2, big, big);
    void *f = rc_filter(is_even, NULL, t);
    void *x = next_item(f);
    assert_ptr_equal(x, big);
    assert_int_equal(rc_refcount(big), 4); /* big, the tuple twice, x */
    rc_decref(x);
    rc_decref(f);
    rc_decref(t);
    rc_decref(big);
    clear_error();
    assert_null(rc_filter(NULL, NULL, rc_none));
    ERROR_HAS("rc_filter: predicate is NULL");
    clear_error();
    assert_null(rc_filter(is_even, NULL, rc_none));
    ERROR_HAS("rc_filter: 'NoneType' object is not iterable");
}

static void test_filter_errors(void **state) {
    (void)state;
    int64_t bad = 4;
    void *r = rc_range(0, 10, 1);
    void *f = give(rc_filter(pred_fail_at, &bad, r), r);
    int64_t v[10];
    size_t n;
    clear_error();
    assert_int_equal(drain(f, v, 10, &n), -1);
    assert_int_equal(n, 4);
    ERROR_HAS("pred_fail_at: item 4 refused");
    assert_exhausted(f);
    rc_decref(f);
    /* an error deep in a pipeline reaches the top */
    bad = 5;
    r = rc_range(0, 10, 1);
    void *m = give(rc_map(fail_at, &bad, r), r);
    void *p = give(rc_filter(is_even, NULL, m), m);
    clear_error();
    assert_int_equal(drain(p, v, 10, &n), -1);
    assert_int_equal(n, 3); /* 0, 2, 4 */
    ERROR_HAS("fail_at: item 5 refused");
    assert_exhausted(p);
    rc_decref(p);
}

/* A map function that calls rc_next on its own map while running and
 * drains it: the source is exhausted and dropped inside the outer call. */
typedef struct reenter_arg {
    void *map;
    int depth;
    size_t inner;
} reenter_arg;

static void *reenter_fn(void *item, void *arg) {
    reenter_arg *a = arg;
    if (a->depth == 0) {
        a->depth++;
        void *x;
        while (rc_next(a->map, &x) == 1) {
            a->inner++;
            rc_decref(x);
        }
        a->depth--;
    }
    return rc_incref(item);
}

static void test_map_reentered(void **state) {
    (void)state;
    reenter_arg a = {0};
    void *r = rc_range(1000, 1005, 1);
    a.map = give(rc_map(reenter_fn, &a, r), r);
    assert_int_equal(next_int(a.map), 1000);
    assert_int_equal(a.inner, 4);
    assert_exhausted(a.map);
    rc_decref(a.map);
}
/* }==== */

/* {==== take and islice ==== */

static void test_take(void **state) {
    (void)state;
    void *r = rc_range(0, 10, 1);
    expect_ints(rc_take(r, 3), (int64_t[]){0, 1, 2}, 3);
    assert_int_equal(next_int(r), 3); /* take(3) took exactly three */
    expect_ints(rc_take(r, 0), NULL, 0);
    assert_int_equal(next_int(r), 4); /* take(0) took none */
    expect_ints(rc_take(r, 100), (int64_t[]){5, 6, 7, 8, 9}, 5);
    assert_exhausted(r);
    rc_decref(r);
}

static void test_islice_like_python(void **state) {
    (void)state;
    void *r = rc_range(0, 10, 1);
    /* islice(range(10), 2, 8, 3) */
    expect_ints(rc_islice(r, 2, 8, 3), (int64_t[]){2, 5}, 2);
    rc_decref(r);
    r = rc_range(0, 10, 1);
    expect_ints(rc_islice(r, 0, -1, 2), (int64_t[]){0, 2, 4, 6, 8}, 5); /* no end */
    rc_decref(r);
    r = rc_range(0, 10, 1);
    expect_ints(rc_islice(r, 12, 20, 1), NULL, 0);
    assert_exhausted(r); /* the source ran out first */
    rc_decref(r);
    r = rc_range(0, 10, 1);
    expect_ints(rc_islice(r, 5, 3, 1), NULL, 0); /* stop before start */
    assert_int_equal(next_int(r), 5);           /* Python consumes up to start */
    rc_decref(r);
    r = rc_range(0, 10, 1);
    expect_ints(rc_islice(r, 9, 10, 5), (int64_t[]){9}, 1);
    rc_decref(r);
    r = rc_range(0, 10, 1);
    expect_ints(rc_islice(r, 0, 0, 1), NULL, 0);
    assert_int_equal(next_int(r), 0);
    rc_decref(r);
}

static void test_islice_consumption(void **state) {
    (void)state;
    /* it = iter(range(10)); list(islice(it, 0, 3, 2)) == [0, 2]; next(it) == 3 */
    void *r = rc_range(0, 10, 1);
    expect_ints(rc_islice(r, 0, 3, 2), (int64_t[]){0, 2}, 2);
    assert_int_equal(next_int(r), 3);
    rc_decref(r);
    /* list(islice(it, 1, 6, 3)) == [1, 4]; next(it) == 6 */
    r = rc_range(0, 10, 1);
    expect_ints(rc_islice(r, 1, 6, 3), (int64_t[]){1, 4}, 2);
    assert_int_equal(next_int(r), 6);
    rc_decref(r);
    /* a huge step: one item, then nothing more is consumed beyond the end */
    r = rc_range(0, 5, 1);
    expect_ints(rc_islice(r, 1, -1, INT64_MAX), (int64_t[]){1}, 1);
    assert_exhausted(r);
    rc_decref(r);
}

static void test_islice_errors(void **state) {
    (void)state;
    void *r = rc_range(0, 10, 1);
    clear_error();
    assert_null(rc_islice(r, -1, 5, 1));
    ERROR_HAS("rc_islice: start must be >= 0 (got -1)");
    clear_error();
    assert_null(rc_islice(r, 0, 5, 0));
    ERROR_HAS("rc_islice: step must be >= 1 (got 0)");
    assert_null(rc_islice(r, 0, 5, -2));
    ERROR_HAS("(got -2)");
    assert_int_equal(rc_refcount(r), 1);
    clear_error();
    assert_null(rc_islice(NULL, 0, 5, 1));
    ERROR_HAS("rc_islice: iterable is NULL");
    assert_null(rc_take(NULL, 5));
    ERROR_HAS("rc_take: iterable is NULL");
    rc_decref(r);
}
/* }==== */

/* {==== enumerate, zip, chain, batched ==== */

static void test_enumerate(void **state) {
    (void)state;
    void *r = rc_range(0, 3, 1);
    expect_reprs(give(rc_enumerate(r, 0), r), "(0, 0) (1, 1) (2, 2)");
    void *s = rc_str_from_cstr("ab");
    expect_reprs(rc_enumerate(s, -1), "(-1, 'a') (0, 'b')");
    expect_reprs(rc_enumerate(s, 1000), "(1000, 'a') (1001, 'b')");
    rc_decref(s);
    r = rc_range(0, 0, 1);
    expect_reprs(rc_enumerate(r, 5), "");
    rc_decref(r);
    /* the item in the tuple is the source's object */
    void *big = rc_int_new(99999);
    void *t = rc_tuple_pack(1, big);
    void *e = rc_enumerate(t, 0);
    void *pair = next_item(e);
    assert_int_equal(rc_tuple_len(pair), 2);
    assert_ptr_equal(rc_tuple_get(pair, 1), big);
    assert_int_equal(rc_refcount(big), 3);
    assert_int_equal(rc_refcount(pair), 1);
    rc_decref(pair);
    assert_exhausted(e);
    rc_decref(e);
    rc_decref(t);
    assert_int_equal(rc_refcount(big), 1);
    rc_decref(big);
    /* the index does not overflow silently */
    r = rc_range(0, 5, 1);
    e = give(rc_enumerate(r, INT64_MAX), r);
    pair = next_item(e);
    REPR_EQ(pair, "(9223372036854775807, 0)");
    rc_decref(pair);
    void *x;
    clear_error();
    assert_int_equal(rc_next(e, &x), -1);
    ERROR_HAS("rc_enumerate: index overflows int64");
    assert_exhausted(e);
    rc_decref(e);
}

static void test_zip(void **state) {
    (void)state;
    void *a = rc_range(0, 3, 1), *b = rc_range(10, 15, 1);
    expect_reprs(rc_zip(2, a, b), "(0, 10) (1, 11) (2, 12)");
    /* the shorter one first: the longer one is not touched once the
     * shorter is found empty */
    assert_int_equal(next_int(b), 13);
    rc_decref(a);
    rc_decref(b);
    /* the longer first: like Python, it loses the item fetched before the
     * shorter one was found empty (12) */
    a = rc_range(0, 2, 1);
    b = rc_range(10, 15, 1);
    expect_reprs(rc_zip(2, b, a), "(10, 0) (11, 1)");
    assert_int_equal(next_int(b), 13);
    rc_decref(a);
    rc_decref(b);
    expect_reprs(rc_zip(0), "");
    a = rc_range(0, 2, 1);
    expect_reprs(rc_zip(1, a), "(0,) (1,)");
    rc_decref(a);
    a = rc_range(0, 0, 1);
    b = rc_range(0, 5, 1);
    expect_reprs(rc_zip(2, a, b), "");
    rc_decref(a);
    rc_decref(b);
    void *s = rc_str_from_cstr("xyz");
    void *t = tuple_of_ints(3, (int64_t[]){1, 2, 3});
    expect_reprs(rc_zip(3, s, t, s), "('x', 1, 'x') ('y', 2, 'y') ('z', 3, 'z')");
    assert_int_equal(rc_refcount(s), 1);
    assert_int_equal(rc_refcount(t), 1);
    rc_decref(s);
    rc_decref(t);
}

static void test_zip_many_and_errors(void **state) {
    (void)state;
    /* more sources than the on-stack gather array holds */
    void *r[20];
    for (int i = 0; i < 20; i++) r[i] = rc_range(i, 100, 1);
    void *z = rc_zip(20, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
                     r[13], r[14], r[15], r[16], r[17], r[18], r[19]);
    assert_non_null(z);
    void *t = next_item(z);
    assert_int_equal(rc_tuple_len(t), 20);
    for (int i = 0; i < 20; i++) assert_int_equal(rc_int_value(rc_tuple_get(t, i)), i);
    rc_decref(t);
    size_t n;
    assert_int_equal(drain(z, NULL, 0, &n), 0);
    assert_int_equal(n, 80); /* r[19] gives 81 items in all */
    for (int i = 0; i < 20; i++) assert_int_equal(rc_refcount(r[i]), 1);
    rc_decref(z);
    for (int i = 0; i < 20; i++) rc_decref(r[i]);
    /* a bad argument releases what was made and names its position */
    void *a = rc_range(0, 3, 1);
    void *big = rc_int_new(5000);
    clear_error();
    assert_null(rc_zip(3, a, a, big));
    ERROR_HAS("rc_zip: 'int' object is not iterable (argument 3)");
    assert_int_equal(rc_refcount(a), 1);
    clear_error();
    assert_null(rc_chain(2, NULL, a));
    ERROR_HAS("rc_chain: iterable is NULL (argument 1)");
    assert_int_equal(rc_refcount(a), 1);
    rc_decref(big);
    rc_decref(a);
}

static void test_chain(void **state) {
    (void)state;
    expect_ints(rc_chain(0), NULL, 0);
    void *a = rc_range(0, 2, 1), *e = rc_range(0, 0, 1), *b = rc_range(5, 7, 1);
    expect_ints(rc_chain(4, e, a, e, b), (int64_t[]){0, 1, 5, 6}, 4);
    rc_decref(a);
    rc_decref(b);
    rc_decref(e);
    void *s = rc_str_from_cstr("hi");
    void *t = tuple_of_ints(2, (int64_t[]){1, 2});
    expect_reprs(rc_chain(3, s, t, s), "'h' 'i' 1 2 'h' 'i'");
    /* sources are dropped as they run out */
    void *c = rc_chain(2, t, s);
    assert_int_equal(rc_refcount(t), 2); /* through the chain's tuple iterator */
    void *x = next_item(c);
    rc_decref(x);
    x = next_item(c);
    rc_decref(x);
    assert_int_equal(rc_refcount(t), 2);
    x = next_item(c); /* 'h': the tuple iterator ran out and is gone now */
    REPR_EQ(x, "'h'");
    assert_int_equal(rc_refcount(t), 1);
    rc_decref(x);
    rc_decref(c);
    rc_decref(s);
    rc_decref(t);
    /* an error from a source ends the chain */
    int64_t bad = 1;
    b = rc_range(0, 5, 1);
    a = give(rc_map(fail_at, &bad, b), b);
    b = rc_range(0, 5, 1);
    c = rc_chain(2, a, b);
    rc_decref(a);
    assert_int_equal(next_int(c), 0);
    clear_error();
    assert_int_equal(rc_next(c, &x), -1);
    ERROR_HAS("fail_at: item 1 refused");
    assert_exhausted(c);
    assert_int_equal(rc_refcount(b), 1);
    rc_decref(c);
    rc_decref(b);
}

static void test_batched(void **state) {
    (void)state;
    void *r = rc_range(0, 7, 1);
    expect_reprs(give(rc_batched(r, 3), r), "(0, 1, 2) (3, 4, 5) (6,)");
    r = rc_range(0, 6, 1);
    expect_reprs(rc_batched(r, 3), "(0, 1, 2) (3, 4, 5)");
    rc_decref(r);
    r = rc_range(0, 3, 1);
    expect_reprs(rc_batched(r, 1), "(0,) (1,) (2,)");
    rc_decref(r);
    r = rc_range(0, 0, 1);
    expect_reprs(rc_batched(r, 4), "");
    rc_decref(r);
    r = rc_range(0, 5, 1);
    expect_reprs(rc_batched(r, SIZE_MAX), "(0, 1, 2, 3, 4)"); /* memory only for the items there */
    rc_decref(r);
    clear_error();
    assert_null(rc_batched(rc_none, 0));
    ERROR_HAS("rc_batched: n must be at least 1");
    clear_error();
    assert_null(rc_batched(rc_none, 2));
    ERROR_HAS("rc_batched: 'NoneType' object is not iterable");
}

static void test_batched_large(void **state) {
    (void)state;
    /* batches larger than the first gather array, and a short last one */
    void *r = rc_range(0, 2600, 1);
    void *b = give(rc_batched(r, 1000), r);
    size_t sizes[3] = {1000, 1000, 600};
    int64_t next = 0;
    for (int k = 0; k < 3; k++) {
        void *t = next_item(b);
        assert_int_equal(rc_tuple_len(t), sizes[k]);
        for (size_t i = 0; i < sizes[k]; i++) assert_int_equal(rc_int_value(rc_tuple_get(t, (int64_t)i)), next++);
        rc_decref(t);
    }
    assert_exhausted(b);
    rc_decref(b);
    /* an error in the middle of a batch drops the partial batch */
    int64_t bad = 5;
    r = rc_range(0, 10, 1);
    void *m = give(rc_map(fail_at, &bad, r), r);
    b = give(rc_batched(m, 4), m);
    void *t = next_item(b);
    REPR_EQ(t, "(0, 1, 2, 3)");
    rc_decref(t);
    clear_error();
    assert_int_equal(rc_next(b, &t), -1);
    ERROR_HAS("fail_at: item 5 refused");
    assert_exhausted(b);
    rc_decref(b);
}
/* }==== */

/* {==== lines ==== */

static void test_lines_basic(void **state) {
    (void)state;
    const char *p = write_file("basic.txt", "one\ntwo\n\nlast");
    expect_reprs(rc_lines(p), "'one\\n' 'two\\n' '\\n' 'last'");
    p = write_file("trailing.txt", "a\nb\n");
    expect_reprs(rc_lines(p), "'a\\n' 'b\\n'");
    p = write_file("empty.txt", "");
    expect_reprs(rc_lines(p), "");
    p = write_file("crlf.txt", "a\r\nb\r\n");
    expect_reprs(rc_lines(p), "'a\\r\\n' 'b\\r\\n'"); /* bytes as they are: no newline translation */
    p = write_file("newline.txt", "\n");
    expect_reprs(rc_lines(p), "'\\n'");
    p = write_file("utf8.txt", "h\xc3\xa9\n\xe2\x82\xac");
    void *l = rc_lines(p);
    void *x = next_item(l);
    assert_int_equal(rc_str_len(x), 3);
    rc_decref(x);
    x = next_item(l);
    assert_int_equal(rc_str_len(x), 1);
    rc_decref(x);
    assert_exhausted(l);
    rc_decref(l);
}

static void test_lines_long(void **state) {
    (void)state;
    /* lines longer than the buffer, around it, and many short ones */
    size_t lens[] = {200000, 0, 70000, 16383, 16384, 16385, 5, 1 << 20, 3};
    size_t total = 0;
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) total += lens[i] + 1;
    char *data = malloc(total);
    size_t at = 0;
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        for (size_t k = 0; k < lens[i]; k++) data[at++] = (char)('a' + (i + k) % 26);
        data[at++] = '\n';
    }
    const char *p = write_file_n("long.txt", data, total - 1); /* the last line without '\n' */
    void *l = rc_lines(p);
    at = 0;
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        void *x = next_item(l);
        size_t want = lens[i] + (i + 1 < sizeof lens / sizeof lens[0]);
        assert_int_equal(rc_str_size(x), want);
        assert_memory_equal(rc_str_cstr(x), data + at, want);
        at += lens[i] + 1;
        rc_decref(x);
    }
    assert_exhausted(l);
    rc_decref(l);
    free(data);
    /* 100000 short lines */
    FILE *f = fopen(tmp_path("many.txt"), "w");
    for (int i = 0; i < 100000; i++) fprintf(f, "line %d\n", i);
    fclose(f);
    l = rc_lines(tmp_path("many.txt"));
    size_t n = 0;
    void *x;
    while (rc_next(l, &x) == 1) {
        char want[32];
        snprintf(want, sizeof want, "line %zu\n", n++);
        assert_string_equal(rc_str_cstr(x), want);
        rc_decref(x);
    }
    assert_int_equal(n, 100000);
    rc_decref(l);
}

static void test_lines_errors(void **state) {
    (void)state;
    clear_error();
    assert_null(rc_lines(tmp_path("does-not-exist.txt")));
    ERROR_HAS("rc_lines: cannot open '");
    ERROR_HAS("does-not-exist.txt': No such file or directory");
    clear_error();
    assert_null(rc_lines(NULL));
    ERROR_HAS("rc_lines: path is NULL");
    const char *p = write_file("bad.txt", "fine\nbad \xff here\nnever\n");
    void *l = rc_lines(p);
    void *x = next_item(l);
    assert_string_equal(rc_str_cstr(x), "fine\n");
    rc_decref(x);
    clear_error();
    assert_int_equal(rc_next(l, &x), -1);
    ERROR_HAS("rc_lines: line 2 of '");
    ERROR_HAS("bad.txt': invalid UTF-8 at byte offset 4");
    assert_exhausted(l);
    rc_decref(l);
    /* a directory opens but cannot be read */
    l = rc_lines(tmp_dir);
    if (l) {
        clear_error();
        assert_int_equal(rc_next(l, &x), -1);
        ERROR_HAS("rc_lines: cannot read '");
        rc_decref(l);
    }
}

static void test_lines_shrink(void **state) {
    (void)state;
    /* a long line grows the buffer; the short lines after it are read
     * through a buffer shrunk back */
    size_t longlen = 300000, nshort = 100000;
    size_t total = longlen + 1 + nshort * 4;
    char *data = malloc(total);
    memset(data, 'L', longlen);
    data[longlen] = '\n';
    for (size_t i = 0; i < nshort; i++) /* a short line, then an empty one */
        memcpy(data + longlen + 1 + 4 * i, i % 2 ? "yy\n\n" : "xx\n\n", 4);
    const char *p = write_file_n("shrink.txt", data, total);
    void *l = rc_lines(p);
    void *x = next_item(l);
    assert_int_equal(rc_str_size(x), longlen + 1);
    rc_decref(x);
    for (size_t i = 0; i < nshort; i++) {
        x = next_item(l);
        assert_string_equal(rc_str_cstr(x), i % 2 ? "yy\n" : "xx\n");
        rc_decref(x);
        x = next_item(l);
        assert_string_equal(rc_str_cstr(x), "\n");
        rc_decref(x);
    }
    assert_exhausted(l);
    rc_decref(l);
    free(data);
}

static void test_lines_close_file(void **state) {
    (void)state;
    const char *p = write_file("fd.txt", "1\n2\n3\n");
    int before = open_fds();
    void *l = rc_lines(p);
    assert_int_equal(open_fds(), before + 1);
    void *x = next_item(l);
    rc_decref(x);
    rc_decref(l); /* dies before the end: closes the file */
    assert_int_equal(open_fds(), before);
    l = rc_lines(p);
    size_t n;
    assert_int_equal(drain(l, NULL, 0, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(open_fds(), before); /* exhausted: closed before it dies */
    rc_decref(l);
    /* lines feed the other blocks */
    l = rc_lines(p);
    expect_reprs(rc_enumerate(l, 1), "(1, '1\\n') (2, '2\\n') (3, '3\\n')");
    rc_decref(l);
}
/* }==== */

/* {==== user iterator types ==== */

/* A user iterator whose next misbehaves as told by its mode. */
typedef struct odd_iter {
    int mode, calls;
} odd_iter;

static int odd_next(void *self, void **out) {
    odd_iter *o = self;
    o->calls++;
    switch (o->mode) {
    case 0: *out = NULL; return 1; /* an item that is not there */
    case 1: return 7;              /* not a rc_next result */
    default: *out = rc_int_new(o->calls); return o->calls <= 2;
    }
}

static const rc_type odd_type = {.name = "odd", .size = sizeof(odd_iter), .next = odd_next};

static void *not_an_iterator(void *self) {
    (void)self;
    return rc_int_new(123456);
}

static const rc_type fake_iterable_type = {.name = "fake", .size = 8, .iter = not_an_iterator};

static void test_user_iterators(void **state) {
    (void)state;
    odd_iter *o = rc_new(&odd_type);
    void *m = rc_map(square, NULL, o);
    void *x;
    clear_error();
    assert_int_equal(rc_next(m, &x), -1);
    ERROR_HAS("rc_next: a 'odd' iterator returned 1 without an item");
    assert_exhausted(m);
    rc_decref(m);
    o->mode = 1;
    m = rc_filter(is_even, NULL, o);
    clear_error();
    assert_int_equal(rc_next(m, &x), -1);
    ERROR_HAS("rc_next: a 'odd' iterator returned 7");
    rc_decref(m);
    /* a well-behaved user iterator feeds the blocks like any other */
    o->mode = 2;
    o->calls = 0;
    expect_reprs(rc_chain(1, o), "1 2");
    assert_int_equal(rc_refcount(o), 1);
    rc_decref(o);
    void *fake = rc_new(&fake_iterable_type);
    clear_error();
    assert_null(rc_map(square, NULL, fake));
    ERROR_HAS("rc_map: iter of 'fake' returned a 'int', which is not an iterator");
    rc_decref(fake);
}
/* }==== */

/* {==== cycles, memory ==== */

typedef struct holder_locals {
    void *held;
    int64_t i;
} holder_locals;

/* Yields 0, 1, 2, ... forever; its locals hold one reference. */
static int count_up(void *gen, void **out) {
    holder_locals *l = rc_gen_locals(gen);
    RC_GEN_BEGIN(gen);
    for (;; l->i++) RC_YIELD(gen, out, rc_int_new(l->i));
    RC_GEN_END(gen);
}

static void test_cycles_collected(void **state) {
    (void)state;
    /* generator -> block -> generator, for each block holding sources */
    for (int kind = 0; kind < 7; kind++) {
        void *g = rc_gen_new(count_up, sizeof(holder_locals), 1);
        void *b = NULL;
        switch (kind) {
        case 0: b = rc_map(square, NULL, g); break;
        case 1: b = rc_filter(is_even, NULL, g); break;
        case 2: b = rc_islice(g, 1, -1, 2); break;
        case 3: b = rc_enumerate(g, 0); break;
        case 4: b = rc_zip(2, g, g); break;
        case 5: b = rc_chain(2, g, g); break;
        case 6: b = rc_batched(g, 3); break;
        }
        assert_non_null(b);
        assert_true(rc_gc_is_tracked(b));
        ((holder_locals *)rc_gen_locals(g))->held = rc_incref(b);
        void *x = next_item(b);
        rc_decref(x);
        rc_weakref *w = rc_weakref_new(b, NULL, NULL);
        rc_decref(b);
        rc_decref(g);
        void *alive = rc_weakref_get(w);
        assert_non_null(alive); /* kept by the cycle */
        rc_decref(alive);
        assert_true(rc_gc_collect(-1) >= 2);
        assert_null(rc_weakref_get(w));
        rc_decref(w);
    }
}

static void test_untracked_over_untracked(void **state) {
    (void)state;
    /* blocks over a range (which holds no references) are not tracked */
    void *r = rc_range(0, 3, 1);
    void *blocks[] = {rc_map(square, NULL, r), rc_filter(is_even, NULL, r), rc_take(r, 2),
                      rc_enumerate(r, 0), rc_zip(2, r, r), rc_chain(2, r, r), rc_batched(r, 2)};
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) {
        assert_non_null(blocks[i]);
        assert_false(rc_gc_is_tracked(blocks[i]));
        rc_decref(blocks[i]);
    }
    rc_decref(r);
}

static void *add_one(void *item, void *arg) {
    (void)arg;
    return rc_int_new(rc_int_value(item) + 1);
}

static int multiple_of_3(void *item, void *arg) {
    (void)arg;
    return rc_int_value(item) % 3 == 0;
}

static void test_constant_memory_pipeline(void **state) {
    (void)state;
    const int64_t N = 10000000;
    size_t base = live_objects();
    void *r = rc_range(0, N, 1);
    void *m = give(rc_map(add_one, NULL, r), r);
    void *p = give(rc_filter(multiple_of_3, NULL, m), m);
    int64_t sum = 0, count = 0;
    size_t middle = 0;
    rc_heap_stats st0, st1;
    void *x;
    while (rc_next(p, &x) == 1) {
        sum += rc_int_value(x);
        rc_decref(x);
        if (++count == N / 6) {
            middle = live_objects();
            rc_heap_get_stats(&st0);
        }
    }
    rc_heap_get_stats(&st1);
    /* the three blocks, nothing that grows with N */
    assert_true(middle <= base + 4);
    assert_true(st0.bytes_in_use < (size_t)1 << 20);
    int64_t want = 0;
    for (int64_t v = 1; v <= N; v++)
        if (v % 3 == 0) want += v;
    assert_int_equal(sum, want);
    assert_int_equal(count, N / 3);
    rc_decref(p);
}
/* }==== */

int main(void) {
    const struct CMUnitTest tests[] = {
        TYPES_TEST(test_range_like_python),
        TYPES_TEST(test_range_limits),
        TYPES_TEST(test_range_errors_and_refs),
        TYPES_TEST(test_map),
        TYPES_TEST(test_map_drops_source_when_exhausted),
        TYPES_TEST(test_map_shares_the_iterator),
        TYPES_TEST(test_map_errors),
        TYPES_TEST(test_filter),
        TYPES_TEST(test_filter_errors),
        TYPES_TEST(test_map_reentered),
        TYPES_TEST(test_take),
        TYPES_TEST(test_islice_like_python),
        TYPES_TEST(test_islice_consumption),
        TYPES_TEST(test_islice_errors),
        TYPES_TEST(test_enumerate),
        TYPES_TEST(test_zip),
        TYPES_TEST(test_zip_many_and_errors),
        TYPES_TEST(test_chain),
        TYPES_TEST(test_batched),
        TYPES_TEST(test_batched_large),
        TYPES_TEST(test_lines_basic),
        TYPES_TEST(test_lines_long),
        TYPES_TEST(test_lines_errors),
        TYPES_TEST(test_lines_close_file),
        TYPES_TEST(test_user_iterators),
        TYPES_TEST(test_lines_shrink),
        TYPES_TEST(test_cycles_collected),
        TYPES_TEST(test_untracked_over_untracked),
        TYPES_TEST(test_constant_memory_pipeline),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    if (tmp_dir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
        int rm = system(cmd);
        (void)rm;
    }
    return r;
}
