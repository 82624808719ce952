/*
 * test_list.c — lists (reclaim.h section 6.5) and what they answer to the
 * generic operations: every list operation with its edge cases and error
 * messages, reference counts after each, CPython's growth and shrink
 * pattern, sorting (stability, the fast kinds, failures that leave the
 * list as it was), iteration while the list changes, repr of lists that
 * contain themselves, and cycles through lists.
 */
#include "types_util.h"

#include "internal/types.h"

/* An int outside the immortal small ints, so its count can be read. */
static void *big(int64_t v) { return rc_int_new(1000000 + v); }

/* A new list of new ints of the values given. */
static void *ints(size_t n, const int64_t *v) {
    void *l = rc_list_new();
    for (size_t i = 0; i < n; i++) assert_int_equal(rc_list_append_steal(l, rc_int_new(v[i])), 0);
    return l;
}
#define INTS(...) ints(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t), (int64_t[]){__VA_ARGS__})

/* {==== a user iterator that gives `limit` new ints and then fails ==== */

typedef struct failing_iter {
    int64_t next, limit;
} failing_iter;

static int failing_next(void *self, void **out) {
    failing_iter *it = self;
    if (it->next == it->limit) {
        _rc_set_error("failing_iter: boom");
        return -1;
    }
    *out = big(it->next++);
    return 1;
}

static const rc_type failing_iter_type = {.name = "failing_iter", .size = sizeof(failing_iter), .next = failing_next};

static void *failing_iter_new(int64_t limit) {
    failing_iter *it = rc_new(&failing_iter_type);
    it->limit = limit;
    return it;
}
/* }==== */

/* {==== creation, len, get ==== */

static void test_new_empty(void **state) {
    (void)state;
    void *l = rc_list_new();
    assert_non_null(l);
    assert_ptr_equal(rc_type_of(l), &rc_list_type);
    assert_int_equal(rc_refcount(l), 1);
    assert_int_equal(rc_list_len(l), 0);
    assert_int_equal(rc_len(l), 0);
    assert_int_equal(_rc_list_capacity(l), 0);
    assert_true(rc_gc_is_tracked(l)); /* always tracked, even empty */
    assert_int_equal(rc_sizeof(l), 40);
    REPR_EQ(l, "[]");
    clear_error();
    assert_null(rc_list_get(l, 0));
    ERROR_HAS("rc_list_get: index 0 out of range (len 0)");
    clear_error();
    assert_null(rc_list_get(l, -1));
    ERROR_HAS("rc_list_get: index -1 out of range (len 0)");
    rc_decref(l);
}

static void test_get_indices(void **state) {
    (void)state;
    void *l = INTS(10, 20, 30);
    assert_int_equal(rc_int_value(rc_list_get(l, 0)), 10);
    assert_int_equal(rc_int_value(rc_list_get(l, 2)), 30);
    assert_int_equal(rc_int_value(rc_list_get(l, -1)), 30);
    assert_int_equal(rc_int_value(rc_list_get(l, -3)), 10);
    clear_error();
    assert_null(rc_list_get(l, 7));
    ERROR_HAS("rc_list_get: index 7 out of range (len 3)");
    assert_string_equal(rc_last_error(), "rc_list_get: index 7 out of range (len 3)");
    clear_error();
    assert_null(rc_list_get(l, 3));
    ERROR_HAS("rc_list_get: index 3 out of range (len 3)");
    clear_error();
    assert_null(rc_list_get(l, -4));
    ERROR_HAS("rc_list_get: index -4 out of range (len 3)");
    clear_error();
    assert_null(rc_list_get(l, INT64_MIN));
    ERROR_HAS("out of range (len 3)");
    clear_error();
    assert_null(rc_list_get(l, INT64_MAX));
    ERROR_HAS("out of range (len 3)");
    rc_decref(l);
}

static void test_wrong_arguments(void **state) {
    (void)state;
    void *t = rc_tuple_new(1);
    void *l = rc_list_new();
    clear_error();
    rc_list_len(t);
    ERROR_HAS("rc_list_len: expected a list, got tuple");
    clear_error();
    assert_null(rc_list_get(t, 0));
    ERROR_HAS("rc_list_get: expected a list, got tuple");
    clear_error();
    assert_null(rc_list_get(NULL, 0));
    ERROR_HAS("rc_list_get: expected a list, got NULL");
    clear_error();
    assert_int_equal(rc_list_set(t, 0, rc_none), -1);
    ERROR_HAS("rc_list_set: expected a list, got tuple");
    clear_error();
    assert_int_equal(rc_list_set(l, 0, NULL), -1);
    ERROR_HAS("rc_list_set: item is NULL");
    clear_error();
    assert_int_equal(rc_list_append(t, rc_none), -1);
    ERROR_HAS("rc_list_append: expected a list, got tuple");
    clear_error();
    assert_int_equal(rc_list_append(l, NULL), -1);
    ERROR_HAS("rc_list_append: item is NULL");
    clear_error();
    assert_int_equal(rc_list_append_steal(l, NULL), -1);
    ERROR_HAS("rc_list_append_steal: item is NULL");
    clear_error();
    assert_int_equal(rc_list_insert(l, 0, NULL), -1);
    ERROR_HAS("rc_list_insert: item is NULL");
    clear_error();
    assert_null(rc_list_pop(t, 0));
    ERROR_HAS("rc_list_pop: expected a list, got tuple");
    clear_error();
    assert_int_equal(rc_list_del(NULL, 0), -1);
    ERROR_HAS("rc_list_del: expected a list, got NULL");
    clear_error();
    assert_null(rc_list_slice(t, 0, 1));
    ERROR_HAS("rc_list_slice: expected a list, got tuple");
    clear_error();
    assert_int_equal(rc_list_extend(l, NULL), -1);
    ERROR_HAS("rc_list_extend: iterable is NULL");
    clear_error();
    assert_int_equal(rc_list_extend(t, l), -1);
    ERROR_HAS("rc_list_extend: expected a list, got tuple");
    clear_error();
    assert_int_equal(rc_list_sort(t, NULL, NULL), -1);
    ERROR_HAS("rc_list_sort: expected a list, got tuple");
    clear_error();
    assert_int_equal(rc_list_reverse(NULL), -1);
    ERROR_HAS("rc_list_reverse: expected a list, got NULL");
    clear_error();
    assert_int_equal(rc_list_index(t, rc_none), -1);
    ERROR_HAS("rc_list_index: expected a list, got tuple");
    clear_error();
    assert_int_equal(rc_list_index(l, NULL), -1);
    ERROR_HAS("rc_list_index: item is NULL");
    clear_error();
    rc_list_clear(t);
    ERROR_HAS("rc_list_clear: expected a list, got tuple");
    clear_error();
    assert_null(rc_list_from_iter(NULL));
    ERROR_HAS("rc_list_from_iter: iterable is NULL");
    clear_error();
    assert_null(rc_list_from_iter(rc_int_new(3)));
    ERROR_HAS("rc_iter: 'int' object is not iterable");
    clear_error();
    assert_int_equal(_rc_list_capacity(t), 0);
    assert_int_equal(rc_list_len(l), 0); /* nothing above changed it */
    rc_decref(t);
    rc_decref(l);
}
/* }==== */

/* {==== append, growth and shrink ==== */

static void test_append_counts_references(void **state) {
    (void)state;
    void *l = rc_list_new();
    void *a = big(1);
    assert_int_equal(rc_list_append(l, a), 0);
    assert_int_equal(rc_refcount(a), 2);
    assert_int_equal(rc_list_append(l, a), 0);
    assert_int_equal(rc_refcount(a), 3);
    assert_ptr_equal(rc_list_get(l, 1), a);
    void *b = big(2);
    assert_int_equal(rc_list_append_steal(l, b), 0); /* takes the caller's reference */
    assert_int_equal(rc_refcount(b), 1);
    assert_int_equal(rc_list_len(l), 3);
    REPR_EQ(l, "[1000001, 1000001, 1000002]");
    rc_decref(l);
    assert_int_equal(rc_refcount(a), 1);
    rc_decref(a);
}

static void test_append_steal_releases_on_failure(void **state) {
    (void)state;
    void *a = big(1);
    rc_incref(a);
    void *t = rc_tuple_new(0);
    clear_error();
    assert_int_equal(rc_list_append_steal(t, a), -1);
    ERROR_HAS("rc_list_append_steal: expected a list, got tuple");
    assert_int_equal(rc_refcount(a), 1); /* the stolen reference was released */
    clear_error();
    assert_int_equal(rc_list_append_steal(NULL, a), -1); /* releases the last one */
    ERROR_HAS("rc_list_append_steal: expected a list, got NULL");
}

static void test_growth_follows_cpython(void **state) {
    (void)state;
    /* sys.getsizeof of a list appended to one item at a time in CPython
     * 3.11, as slots: */
    static const size_t expected[] = {4, 8, 16, 24, 32, 40, 52, 64, 76, 92, 108, 128};
    size_t seen[16], nseen = 0;
    void *l = rc_list_new();
    for (int i = 0; i < 120; i++) {
        assert_int_equal(rc_list_append(l, rc_int_new(i)), 0);
        size_t cap = _rc_list_capacity(l);
        assert_true(cap >= rc_list_len(l));
        if (nseen == 0 || seen[nseen - 1] != cap) seen[nseen++] = cap;
    }
    assert_int_equal(nseen, sizeof expected / sizeof *expected);
    for (size_t i = 0; i < nseen; i++) assert_int_equal(seen[i], expected[i]);
    /* popping: the slots CPython keeps at each length where it shrinks */
    static const size_t shrink[][2] = {{63, 76}, {37, 44}, {21, 28}, {13, 20}, {9, 16}, {7, 12},
                                       {5, 8},   {1, 4},   {0, 0}};
    size_t k = 0;
    while (rc_list_len(l) > 0) {
        size_t before = _rc_list_capacity(l);
        void *x = rc_list_pop(l, -1);
        assert_non_null(x);
        size_t len = rc_list_len(l), cap = _rc_list_capacity(l);
        if (cap != before) {
            assert_true(k < sizeof shrink / sizeof *shrink);
            assert_int_equal(len, shrink[k][0]);
            assert_int_equal(cap, shrink[k][1]);
            k++;
        }
        /* at least half full, or just shrunk to len's over-allocation */
        assert_true(len >= cap / 2 || cap == ((len + (len >> 3) + 6) & ~(size_t)3));
    }
    assert_int_equal(k, sizeof shrink / sizeof *shrink);
    assert_int_equal(_rc_list_capacity(l), 0); /* an empty list frees its array */
    rc_decref(l);
}

static void test_many_appends(void **state) {
    (void)state;
    void *l = rc_list_new();
    for (int64_t i = 0; i < 200000; i++) assert_int_equal(rc_list_append_steal(l, rc_int_new(i)), 0);
    assert_int_equal(rc_list_len(l), 200000);
    size_t cap = _rc_list_capacity(l);
    assert_true(cap >= 200000 && cap <= 200000 + 200000 / 8 + 6); /* about 1/8 spare at most */
    for (int64_t i = 0; i < 200000; i += 997) assert_int_equal(rc_int_value(rc_list_get(l, i)), i);
    assert_int_equal(rc_int_value(rc_list_get(l, -1)), 199999);
    rc_list_clear(l);
    assert_int_equal(rc_list_len(l), 0);
    assert_int_equal(_rc_list_capacity(l), 0);
    rc_decref(l);
}
/* }==== */

/* {==== set, insert, pop, del, clear ==== */

static void test_set(void **state) {
    (void)state;
    void *a = big(1), *b = big(2);
    void *l = rc_list_new();
    rc_list_append(l, a);
    rc_list_append(l, a);
    assert_int_equal(rc_refcount(a), 3);
    assert_int_equal(rc_list_set(l, 0, b), 0);
    assert_int_equal(rc_refcount(a), 2); /* the old item is released */
    assert_int_equal(rc_refcount(b), 2);
    assert_int_equal(rc_list_set(l, -1, b), 0);
    assert_int_equal(rc_refcount(a), 1);
    assert_int_equal(rc_refcount(b), 3);
    assert_int_equal(rc_list_set(l, 1, b), 0); /* the same object again */
    assert_int_equal(rc_refcount(b), 3);
    clear_error();
    assert_int_equal(rc_list_set(l, 2, a), -1);
    ERROR_HAS("rc_list_set: index 2 out of range (len 2)");
    clear_error();
    assert_int_equal(rc_list_set(l, -3, a), -1);
    ERROR_HAS("rc_list_set: index -3 out of range (len 2)");
    assert_int_equal(rc_refcount(a), 1);
    REPR_EQ(l, "[1000002, 1000002]");
    rc_decref(l);
    assert_int_equal(rc_refcount(b), 1);
    rc_decref(a);
    rc_decref(b);
}

static void test_insert_clamps(void **state) {
    (void)state;
    void *l = rc_list_new();
    void *a = big(1);
    assert_int_equal(rc_list_insert(l, 5, rc_int_new(1)), 0); /* empty: at 0 */
    REPR_EQ(l, "[1]");
    assert_int_equal(rc_list_insert(l, 0, rc_int_new(0)), 0);
    REPR_EQ(l, "[0, 1]");
    assert_int_equal(rc_list_insert(l, 2, rc_int_new(3)), 0); /* at the end */
    REPR_EQ(l, "[0, 1, 3]");
    assert_int_equal(rc_list_insert(l, -1, rc_int_new(2)), 0); /* before the last */
    REPR_EQ(l, "[0, 1, 2, 3]");
    assert_int_equal(rc_list_insert(l, -100, rc_int_new(-1)), 0); /* clamped to 0 */
    REPR_EQ(l, "[-1, 0, 1, 2, 3]");
    assert_int_equal(rc_list_insert(l, 100, rc_int_new(4)), 0); /* clamped to the end */
    REPR_EQ(l, "[-1, 0, 1, 2, 3, 4]");
    assert_int_equal(rc_list_insert(l, INT64_MIN, rc_int_new(-2)), 0);
    assert_int_equal(rc_list_insert(l, INT64_MAX, rc_int_new(5)), 0);
    REPR_EQ(l, "[-2, -1, 0, 1, 2, 3, 4, 5]");
    assert_int_equal(rc_list_insert(l, 3, a), 0);
    assert_int_equal(rc_refcount(a), 2);
    assert_ptr_equal(rc_list_get(l, 3), a);
    assert_int_equal(rc_list_len(l), 9);
    /* inserting at the front across growth keeps every item */
    for (int i = 0; i < 100; i++) assert_int_equal(rc_list_insert(l, 0, rc_int_new(i)), 0);
    assert_int_equal(rc_list_len(l), 109);
    assert_int_equal(rc_int_value(rc_list_get(l, 0)), 99);
    assert_int_equal(rc_int_value(rc_list_get(l, 99)), 0);
    assert_ptr_equal(rc_list_get(l, 103), a);
    rc_decref(l);
    assert_int_equal(rc_refcount(a), 1);
    rc_decref(a);
}

static void test_pop(void **state) {
    (void)state;
    void *l = rc_list_new();
    clear_error();
    assert_null(rc_list_pop(l, -1));
    ERROR_HAS("rc_list_pop: pop from empty list");
    void *a = big(1), *b = big(2), *c = big(3);
    rc_list_append(l, a);
    rc_list_append(l, b);
    rc_list_append(l, c);
    void *x = rc_list_pop(l, -1); /* the last */
    assert_ptr_equal(x, c);
    assert_int_equal(rc_refcount(c), 2); /* the list's reference, now ours */
    rc_decref(x);
    x = rc_list_pop(l, 0);
    assert_ptr_equal(x, a);
    rc_decref(x);
    assert_int_equal(rc_refcount(a), 1);
    clear_error();
    assert_null(rc_list_pop(l, 1));
    ERROR_HAS("rc_list_pop: index 1 out of range (len 1)");
    clear_error();
    assert_null(rc_list_pop(l, -2));
    ERROR_HAS("rc_list_pop: index -2 out of range (len 1)");
    x = rc_list_pop(l, 0); /* one element */
    assert_ptr_equal(x, b);
    rc_decref(x);
    assert_int_equal(rc_list_len(l), 0);
    assert_int_equal(_rc_list_capacity(l), 0);
    /* from the middle */
    void *m = INTS(0, 1, 2, 3, 4);
    x = rc_list_pop(m, 2);
    assert_int_equal(rc_int_value(x), 2);
    REPR_EQ(m, "[0, 1, 3, 4]");
    x = rc_list_pop(m, -3);
    assert_int_equal(rc_int_value(x), 1);
    REPR_EQ(m, "[0, 3, 4]");
    rc_decref(m);
    rc_decref(l);
    rc_decref(a);
    rc_decref(b);
    rc_decref(c);
}

static void test_del(void **state) {
    (void)state;
    void *a = big(1), *b = big(2);
    void *l = rc_list_new();
    rc_list_append(l, a);
    rc_list_append(l, b);
    rc_list_append(l, a);
    assert_int_equal(rc_refcount(a), 3);
    assert_int_equal(rc_list_del(l, 0), 0);
    assert_int_equal(rc_refcount(a), 2);
    assert_int_equal(rc_list_del(l, -1), 0);
    assert_int_equal(rc_refcount(a), 1);
    assert_ptr_equal(rc_list_get(l, 0), b);
    clear_error();
    assert_int_equal(rc_list_del(l, 1), -1);
    ERROR_HAS("rc_list_del: index 1 out of range (len 1)");
    assert_int_equal(rc_list_del(l, 0), 0);
    assert_int_equal(rc_refcount(b), 1);
    clear_error();
    assert_int_equal(rc_list_del(l, 0), -1);
    ERROR_HAS("rc_list_del: index 0 out of range (len 0)");
    rc_decref(l);
    rc_decref(a);
    rc_decref(b);
}

static void test_clear(void **state) {
    (void)state;
    void *a = big(1);
    void *l = rc_list_new();
    rc_list_clear(l); /* empty: fine */
    for (int i = 0; i < 10; i++) rc_list_append(l, a);
    assert_int_equal(rc_refcount(a), 11);
    rc_list_clear(l);
    assert_int_equal(rc_refcount(a), 1);
    assert_int_equal(rc_list_len(l), 0);
    assert_int_equal(_rc_list_capacity(l), 0);
    REPR_EQ(l, "[]");
    assert_int_equal(rc_list_append(l, a), 0); /* usable after */
    assert_int_equal(rc_list_len(l), 1);
    rc_decref(l);
    rc_decref(a);
}

static void test_reverse(void **state) {
    (void)state;
    void *l = rc_list_new();
    assert_int_equal(rc_list_reverse(l), 0);
    REPR_EQ(l, "[]");
    rc_list_append(l, rc_int_new(1));
    assert_int_equal(rc_list_reverse(l), 0);
    REPR_EQ(l, "[1]");
    rc_decref(l);
    l = INTS(1, 2, 3, 4);
    assert_int_equal(rc_list_reverse(l), 0);
    REPR_EQ(l, "[4, 3, 2, 1]");
    rc_decref(l);
    l = INTS(1, 2, 3, 4, 5);
    assert_int_equal(rc_list_reverse(l), 0);
    REPR_EQ(l, "[5, 4, 3, 2, 1]");
    rc_decref(l);
}
/* }==== */

/* {==== slices, extend, from_iter ==== */

static void test_slice(void **state) {
    (void)state;
    void *l = INTS(0, 1, 2, 3, 4);
    struct {
        int64_t start, stop;
        const char *repr;
    } cases[] = {
        {1, 3, "[1, 2]"},    {0, 5, "[0, 1, 2, 3, 4]"}, {-2, 5, "[3, 4]"},   {-100, 2, "[0, 1]"},
        {3, 100, "[3, 4]"},  {3, 1, "[]"},             {5, 10, "[]"},       {0, -1, "[0, 1, 2, 3]"},
        {-3, -1, "[2, 3]"},  {0, 0, "[]"},             {INT64_MIN, INT64_MAX, "[0, 1, 2, 3, 4]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        void *s = rc_list_slice(l, cases[i].start, cases[i].stop);
        assert_non_null(s);
        REPR_EQ(s, cases[i].repr);
        assert_int_equal(_rc_list_capacity(s), rc_list_len(s)); /* exact */
        rc_decref(s);
    }
    void *e = rc_list_new();
    void *s = rc_list_slice(e, 0, 10);
    REPR_EQ(s, "[]");
    rc_decref(s);
    rc_decref(e);
    /* references: the slice holds its own; it is a new list */
    void *a = big(1);
    rc_list_set(l, 1, a);
    s = rc_list_slice(l, 0, 3);
    assert_int_equal(rc_refcount(a), 3);
    assert_ptr_not_equal(s, l);
    rc_list_set(s, 1, rc_none);
    assert_ptr_equal(rc_list_get(l, 1), a); /* the original is untouched */
    assert_int_equal(rc_refcount(a), 2);
    rc_decref(s);
    rc_decref(l);
    assert_int_equal(rc_refcount(a), 1);
    rc_decref(a);
}

static void test_extend(void **state) {
    (void)state;
    void *a = big(1);
    void *l = rc_list_new();
    rc_list_append(l, a);
    rc_list_append(l, rc_int_new(2));
    /* with itself: a.extend(a) */
    assert_int_equal(rc_list_extend(l, l), 0);
    REPR_EQ(l, "[1000001, 2, 1000001, 2]");
    assert_int_equal(rc_refcount(a), 3);
    /* with a tuple */
    void *t = rc_tuple_pack(2, rc_int_new(3), a);
    assert_int_equal(rc_list_extend(l, t), 0);
    REPR_EQ(l, "[1000001, 2, 1000001, 2, 3, 1000001]");
    assert_int_equal(rc_refcount(a), 5);
    /* with an iterator */
    void *it = rc_iter(t);
    assert_int_equal(rc_list_extend(l, it), 0);
    rc_decref(it);
    assert_int_equal(rc_list_len(l), 8);
    assert_int_equal(rc_refcount(a), 6);
    /* with an empty list and the empty tuple */
    void *e = rc_list_new();
    assert_int_equal(rc_list_extend(l, e), 0);
    assert_int_equal(rc_list_extend(l, rc_tuple_new(0)), 0);
    assert_int_equal(rc_list_len(l), 8);
    /* an empty list extended gets exactly the slots it needs */
    assert_int_equal(rc_list_extend(e, t), 0);
    assert_int_equal(_rc_list_capacity(e), 2);
    REPR_EQ(e, "[3, 1000001]");
    /* with an empty list extended by itself */
    void *z = rc_list_new();
    assert_int_equal(rc_list_extend(z, z), 0);
    assert_int_equal(rc_list_len(z), 0);
    /* a non-iterable */
    clear_error();
    assert_int_equal(rc_list_extend(l, rc_int_new(5)), -1);
    ERROR_HAS("rc_iter: 'int' object is not iterable");
    assert_int_equal(rc_list_len(l), 8);
    rc_decref(z);
    rc_decref(e);
    rc_decref(t);
    rc_decref(l);
    assert_int_equal(rc_refcount(a), 1);
    rc_decref(a);
}

static void test_extend_failure_keeps_list(void **state) {
    (void)state;
    void *l = INTS(7, 8);
    void *it = failing_iter_new(50); /* 50 items, then an error: growth on the way */
    clear_error();
    assert_int_equal(rc_list_extend(l, it), -1);
    ERROR_HAS("failing_iter: boom");
    REPR_EQ(l, "[7, 8]"); /* what it had before the call */
    assert_true(_rc_list_capacity(l) <= 8); /* and gave back the growth */
    rc_decref(it);
    /* an iterator that fails at once */
    it = failing_iter_new(0);
    assert_int_equal(rc_list_extend(l, it), -1);
    REPR_EQ(l, "[7, 8]");
    rc_decref(it);
    rc_decref(l); /* the leak check finds any of the 50 ints not released */
}

static void test_from_iter(void **state) {
    (void)state;
    void *a = big(1);
    void *t = rc_tuple_pack(3, rc_int_new(1), a, rc_none);
    void *l = rc_list_from_iter(t);
    assert_non_null(l);
    REPR_EQ(l, "[1, 1000001, None]");
    assert_int_equal(_rc_list_capacity(l), 3);
    assert_int_equal(rc_refcount(a), 3);
    void *l2 = rc_list_from_iter(l); /* a copy of a list */
    REPR_EQ(l2, "[1, 1000001, None]");
    assert_ptr_not_equal(l2, l);
    assert_int_equal(rc_refcount(a), 4);
    void *it = rc_iter(t);
    void *l3 = rc_list_from_iter(it); /* from an iterator */
    REPR_EQ(l3, "[1, 1000001, None]");
    assert_int_equal(rc_refcount(a), 5);
    rc_decref(it);
    void *e = rc_list_new();
    void *l4 = rc_list_from_iter(e);
    REPR_EQ(l4, "[]");
    void *l5 = rc_list_from_iter(rc_tuple_new(0));
    REPR_EQ(l5, "[]");
    void *f = failing_iter_new(20);
    clear_error();
    assert_null(rc_list_from_iter(f));
    ERROR_HAS("failing_iter: boom");
    void *objs[] = {f, l5, l4, e, l3, l2, l, t};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) rc_decref(objs[i]);
    assert_int_equal(rc_refcount(a), 1);
    rc_decref(a);
}
/* }==== */

/* {==== index, contains, equality, ordering, hash ==== */

static void test_index_and_contains(void **state) {
    (void)state;
    void *f = rc_float_new(1.0), *s = rc_str_from_cstr("x"), *s2 = rc_str_from_cstr("x");
    void *l = rc_list_new();
    rc_list_append(l, rc_int_new(5));
    rc_list_append(l, f);
    rc_list_append(l, s);
    rc_list_append(l, rc_int_new(1));
    assert_int_equal(rc_list_index(l, rc_int_new(1)), 1); /* 1 == 1.0, the first */
    assert_int_equal(rc_list_index(l, rc_true), 1);
    assert_int_equal(rc_list_index(l, s2), 2);
    assert_int_equal(rc_list_index(l, rc_int_new(5)), 0);
    clear_error();
    assert_int_equal(rc_list_index(l, rc_int_new(6)), -1);
    ERROR_HAS("rc_list_index: item not in list");
    assert_int_equal(rc_contains(l, rc_int_new(1)), 1);
    assert_int_equal(rc_contains(l, s2), 1);
    assert_int_equal(rc_contains(l, rc_none), 0);
    void *e = rc_list_new();
    assert_int_equal(rc_contains(e, rc_none), 0);
    clear_error();
    assert_int_equal(rc_list_index(e, rc_none), -1);
    ERROR_HAS("rc_list_index: item not in list");
    void *objs[] = {e, l, f, s, s2};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) rc_decref(objs[i]);
}

static void test_equal(void **state) {
    (void)state;
    void *f = rc_float_new(2.0);
    void *a = INTS(1, 2), *b = rc_list_new(), *c = INTS(1, 2, 3), *d = INTS(1, 3), *e = rc_list_new();
    rc_list_append(b, rc_true);
    rc_list_append(b, f);
    assert_true(rc_equal(a, a));
    assert_true(rc_equal(a, b)); /* [True, 2.0] == [1, 2] */
    assert_false(rc_equal(a, c));
    assert_false(rc_equal(c, a));
    assert_false(rc_equal(a, d));
    assert_false(rc_equal(a, e));
    void *e2 = rc_list_new();
    assert_true(rc_equal(e, e2));
    void *t = rc_tuple_pack(2, rc_int_new(1), rc_int_new(2));
    assert_false(rc_equal(a, t));
    /* nested */
    rc_list_append(e, a);
    rc_list_append(e2, b);
    assert_true(rc_equal(e, e2));
    /* a list that contains itself equals itself */
    void *self = rc_list_new();
    rc_list_append(self, self);
    assert_true(rc_equal(self, self));
    rc_list_clear(self);
    void *objs[] = {f, a, b, c, d, e, e2, t, self};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) rc_decref(objs[i]);
}

static void test_compare(void **state) {
    (void)state;
    int r = 99;
    void *a = INTS(1, 2), *b = INTS(1, 3), *c = INTS(1, 2, 0), *e = rc_list_new();
    assert_int_equal(rc_compare(a, b, &r), 0);
    assert_int_equal(r, -1);
    assert_int_equal(rc_compare(b, a, &r), 0);
    assert_int_equal(r, 1);
    assert_int_equal(rc_compare(a, c, &r), 0);
    assert_int_equal(r, -1);
    assert_int_equal(rc_compare(c, a, &r), 0);
    assert_int_equal(r, 1);
    assert_int_equal(rc_compare(e, a, &r), 0);
    assert_int_equal(r, -1);
    void *a2 = INTS(1, 2);
    assert_int_equal(rc_compare(a, a2, &r), 0);
    assert_int_equal(r, 0);
    /* nested lists */
    void *n1 = rc_list_new(), *n2 = rc_list_new();
    rc_list_append(n1, a);
    rc_list_append(n2, b);
    assert_int_equal(rc_compare(n1, n2, &r), 0);
    assert_int_equal(r, -1);
    void *s = rc_str_from_cstr("s");
    void *x = rc_list_new();
    rc_list_append(x, s);
    clear_error();
    assert_int_equal(rc_compare(x, a, &r), -1);
    ERROR_HAS("rc_compare: '<' not supported between 'str' and 'int'");
    void *objs[] = {a, b, c, e, a2, n1, n2, s, x};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) rc_decref(objs[i]);
}

static void test_unhashable(void **state) {
    (void)state;
    void *l = INTS(1, 2);
    clear_error();
    assert_int_equal(rc_hash(l), -1);
    assert_string_equal(rc_last_error(), "rc_hash: unhashable type: 'list'");
    rc_decref(l);
}
/* }==== */

/* {==== repr ==== */

static void test_repr(void **state) {
    (void)state;
    void *l = INTS(1, 2);
    REPR_EQ(l, "[1, 2]");
    void *one = INTS(7);
    REPR_EQ(one, "[7]");
    void *s = rc_str_from_cstr("it's");
    void *f = rc_float_new(0.5);
    void *t = rc_tuple_pack(1, rc_int_new(3));
    void *n = rc_list_new();
    rc_list_append(n, l);
    rc_list_append(n, t);
    rc_list_append(n, s);
    rc_list_append(n, f);
    rc_list_append(n, rc_none);
    rc_list_append(n, rc_list_new());
    rc_decref(rc_list_get(n, -1));
    REPR_EQ(n, "[[1, 2], (3,), \"it's\", 0.5, None, []]");
    void *objs[] = {l, one, s, f, t, n};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) rc_decref(objs[i]);
}

static void test_repr_self_containing(void **state) {
    (void)state;
    void *a = rc_list_new();
    rc_list_append(a, a);
    REPR_EQ(a, "[[...]]");
    rc_list_append(a, rc_int_new(1));
    REPR_EQ(a, "[[...], 1]");
    void *b = rc_list_new();
    rc_list_append(b, a);
    REPR_EQ(b, "[[[...], 1]]");
    /* two lists that hold each other */
    void *x = rc_list_new(), *y = rc_list_new();
    rc_list_append(x, y);
    rc_list_append(y, x);
    REPR_EQ(x, "[[[...]]]");
    /* the same list twice, not nested, prints twice */
    void *d = rc_list_new(), *in = INTS(1);
    rc_list_append(d, in);
    rc_list_append(d, in);
    REPR_EQ(d, "[[1], [1]]");
    rc_decref(d);
    rc_decref(in);
    rc_decref(a);
    rc_decref(b);
    rc_decref(x);
    rc_decref(y);
    assert_int_equal(rc_gc_collect(-1), 3); /* a, x, y */
}

static void test_deep_nesting_is_bounded(void **state) {
    (void)state;
    void *l = rc_list_new();
    for (int i = 0; i < 1500; i++) {
        void *outer = rc_list_new();
        rc_list_append_steal(outer, l);
        l = outer;
    }
    clear_error();
    assert_null(rc_repr(l));
    ERROR_HAS("nesting deeper than 1000 levels");
    void *m = rc_list_new();
    for (int i = 0; i < 1500; i++) {
        void *outer = rc_list_new();
        rc_list_append_steal(outer, m);
        m = outer;
    }
    clear_error();
    assert_false(rc_equal(l, m)); /* too deep to tell: false, with the error */
    ERROR_HAS("nesting deeper than 1000 levels");
    int r;
    clear_error();
    assert_int_equal(rc_compare(l, m, &r), -1);
    ERROR_HAS("nesting deeper than 1000 levels");
    rc_decref(l);
    rc_decref(m);
}

static void test_long_chain_released(void **state) {
    (void)state;
    /* a 300000-deep chain of lists is released without deep recursion */
    void *l = rc_list_new();
    for (int i = 0; i < 300000; i++) {
        void *outer = rc_list_new();
        assert_int_equal(rc_list_append_steal(outer, l), 0);
        l = outer;
    }
    rc_decref(l);
}
/* }==== */

/* {==== iteration ==== */

static void test_iteration(void **state) {
    (void)state;
    void *a = big(1), *b = big(2);
    void *l = rc_list_new();
    rc_list_append(l, a);
    rc_list_append(l, b);
    void *it = rc_iter(l);
    assert_non_null(it);
    assert_int_equal(rc_refcount(l), 2); /* the iterator holds the list */
    assert_true(rc_gc_is_tracked(it));
    void *x = NULL;
    assert_int_equal(rc_next(it, &x), 1);
    assert_ptr_equal(x, a);
    assert_int_equal(rc_refcount(a), 3);
    rc_decref(x);
    assert_int_equal(rc_next(it, &x), 1);
    assert_ptr_equal(x, b);
    rc_decref(x);
    assert_int_equal(rc_next(it, &x), 0);
    assert_null(x);
    assert_int_equal(rc_refcount(l), 1); /* released at the end */
    /* exhausted stays exhausted, even if the list grows */
    rc_list_append(l, a);
    assert_int_equal(rc_next(it, &x), 0);
    rc_decref(it);
    /* empty */
    void *e = rc_list_new();
    it = rc_iter(e);
    assert_int_equal(rc_next(it, &x), 0);
    rc_decref(it);
    rc_decref(e);
    rc_decref(l);
    assert_int_equal(rc_refcount(a), 1);
    rc_decref(a);
    rc_decref(b);
}

static void test_iteration_while_mutating(void **state) {
    (void)state;
    void *l = INTS(1, 2, 3);
    void *it = rc_iter(l);
    void *x;
    int64_t sum = 0;
    int n = 0;
    /* appends during the loop are seen */
    while (rc_next(it, &x) == 1) {
        sum += rc_int_value(x);
        if (rc_int_value(x) == 1) rc_list_append(l, rc_int_new(10));
        rc_decref(x);
        n++;
    }
    assert_int_equal(n, 4);
    assert_int_equal(sum, 16);
    rc_decref(it);
    /* a list emptied during the loop ends it */
    it = rc_iter(l);
    assert_int_equal(rc_next(it, &x), 1);
    rc_decref(x);
    rc_list_clear(l);
    assert_int_equal(rc_next(it, &x), 0);
    rc_decref(it);
    /* a list shrunk by pops: the iterator never reads past the end */
    for (int i = 0; i < 100; i++) rc_list_append_steal(l, big(i));
    it = rc_iter(l);
    n = 0;
    while (rc_next(it, &x) == 1) {
        rc_decref(x);
        rc_decref(rc_list_pop(l, -1));
        rc_decref(rc_list_pop(l, -1));
        n++;
    }
    assert_int_equal(n, 34);
    rc_decref(it);
    rc_decref(l);
}
/* }==== */

/* {==== sorting ==== */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_sort_ints_floats_strs(void **state) {
    (void)state;
    void *l = rc_list_new();
    assert_int_equal(rc_list_sort(l, NULL, NULL), 0); /* empty */
    rc_list_append(l, rc_int_new(5));
    assert_int_equal(rc_list_sort(l, NULL, NULL), 0); /* one */
    REPR_EQ(l, "[5]");
    rc_decref(l);
    l = INTS(3, -1, 2, 2, 0, 100, -50);
    assert_int_equal(rc_list_sort(l, NULL, NULL), 0);
    REPR_EQ(l, "[-50, -1, 0, 2, 2, 3, 100]");
    rc_decref(l);
    /* floats */
    l = rc_list_new();
    double fv[] = {2.5, -1.0, 0.1, 1e10, -3.75};
    for (int i = 0; i < 5; i++) rc_list_append_steal(l, rc_float_new(fv[i]));
    assert_int_equal(rc_list_sort(l, NULL, NULL), 0);
    REPR_EQ(l, "[-3.75, -1.0, 0.1, 2.5, 10000000000.0]");
    rc_decref(l);
    /* mixed numbers, bools among them: [3, 1.5, True, -2.0, 0] */
    l = rc_list_new();
    rc_list_append(l, rc_int_new(3));
    rc_list_append_steal(l, rc_float_new(1.5));
    rc_list_append(l, rc_true);
    rc_list_append_steal(l, rc_float_new(-2.0));
    rc_list_append(l, rc_int_new(0));
    assert_int_equal(rc_list_sort(l, NULL, NULL), 0);
    REPR_EQ(l, "[-2.0, 0, True, 1.5, 3]");
    rc_decref(l);
    /* strs by code point */
    l = rc_list_new();
    const char *sv[] = {"b", "a", "\xc3\xa9", "ab", "", "B"};
    for (int i = 0; i < 6; i++) rc_list_append_steal(l, rc_str_from_cstr(sv[i]));
    assert_int_equal(rc_list_sort(l, NULL, NULL), 0);
    REPR_EQ(l, "['', 'B', 'a', 'ab', 'b', '\xc3\xa9']");
    rc_decref(l);
}

static int cmp_int64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void test_sort_large_random(void **state) {
    (void)state;
    enum { N = 50000 };
    int64_t *ref = malloc(N * sizeof *ref);
    void *l = rc_list_new();
    for (int i = 0; i < N; i++) {
        ref[i] = (int64_t)(rnd() % 20000) - 10000; /* duplicates, both signs, big ints too */
        rc_list_append_steal(l, rc_int_new(ref[i]));
    }
    qsort(ref, N, sizeof *ref, cmp_int64);
    assert_int_equal(rc_list_sort(l, NULL, NULL), 0);
    for (int i = 0; i < N; i++) assert_int_equal(rc_int_value(rc_list_get(l, i)), ref[i]);
    /* sorted input, and reversed input, stay linear and right */
    assert_int_equal(rc_list_sort(l, NULL, NULL), 0);
    rc_list_reverse(l);
    assert_int_equal(rc_list_sort(l, NULL, NULL), 0);
    for (int i = 0; i < N; i++) assert_int_equal(rc_int_value(rc_list_get(l, i)), ref[i]);
    rc_decref(l);
    free(ref);
}

/* Orders (key, index) tuples by key only. */
static int by_key(const void *a, const void *b, void *arg, bool *failed) {
    (void)failed;
    ++*(size_t *)arg;
    int64_t x = rc_int_value(rc_tuple_get(a, 0)), y = rc_int_value(rc_tuple_get(b, 0));
    return (x > y) - (x < y);
}

static void test_sort_is_stable(void **state) {
    (void)state;
    enum { N = 3000 };
    void *l = rc_list_new();
    for (int i = 0; i < N; i++) {
        void *idx = rc_int_new(i);
        rc_list_append_steal(l, rc_tuple_pack(2, rc_int_new((int64_t)(rnd() % 10)), idx));
        rc_decref(idx);
    }
    size_t calls = 0;
    assert_int_equal(rc_list_sort(l, by_key, &calls), 0);
    assert_true(calls > 0 && calls < (size_t)N * 20); /* n log n, not n^2 */
    for (int i = 1; i < N; i++) {
        void *p = rc_list_get(l, i - 1), *q = rc_list_get(l, i);
        int64_t kp = rc_int_value(rc_tuple_get(p, 0)), kq = rc_int_value(rc_tuple_get(q, 0));
        assert_true(kp <= kq);
        if (kp == kq) assert_true(rc_int_value(rc_tuple_get(p, 1)) < rc_int_value(rc_tuple_get(q, 1)));
    }
    /* descending runs with equal keys are not reversed past each other */
    rc_list_clear(l);
    for (int i = 0; i < 10; i++) rc_list_append_steal(l, rc_tuple_pack(2, rc_int_new(9 - i / 2), rc_int_new(i)));
    assert_int_equal(rc_list_sort(l, by_key, &calls), 0);
    REPR_EQ(l, "[(5, 8), (5, 9), (6, 6), (6, 7), (7, 4), (7, 5), (8, 2), (8, 3), (9, 0), (9, 1)]");
    rc_decref(l);
}

static void test_sort_tuples_with_rc_compare(void **state) {
    (void)state;
    void *l = rc_list_new();
    const char *names[] = {"b", "z", "a", "b"};
    int64_t keys[] = {2, 1, 2, 1};
    for (int i = 0; i < 4; i++) {
        void *s = rc_str_from_cstr(names[i]);
        rc_list_append_steal(l, rc_tuple_pack(2, rc_int_new(keys[i]), s));
        rc_decref(s);
    }
    assert_int_equal(rc_list_sort(l, NULL, NULL), 0);
    REPR_EQ(l, "[(1, 'b'), (1, 'z'), (2, 'a'), (2, 'b')]");
    /* lists of lists */
    void *m = rc_list_new();
    void *x = INTS(1, 2), *y = INTS(1), *z = INTS(0, 5);
    rc_list_append(m, x);
    rc_list_append(m, y);
    rc_list_append(m, z);
    assert_int_equal(rc_list_sort(m, NULL, NULL), 0);
    REPR_EQ(m, "[[0, 5], [1], [1, 2]]");
    void *objs[] = {l, m, x, y, z};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) rc_decref(objs[i]);
}

static void test_sort_incomparable_leaves_list(void **state) {
    (void)state;
    void *s = rc_str_from_cstr("a"), *b = big(5);
    void *l = rc_list_new();
    rc_list_append(l, rc_int_new(3));
    rc_list_append(l, s);
    rc_list_append(l, b);
    rc_list_append(l, rc_int_new(1));
    clear_error();
    assert_int_equal(rc_list_sort(l, NULL, NULL), -1);
    ERROR_HAS("rc_compare: '<' not supported between");
    REPR_EQ(l, "[3, 'a', 1000005, 1]");
    assert_int_equal(rc_refcount(s), 2);
    assert_int_equal(rc_refcount(b), 2);
    /* None among ints, found late in a long list */
    rc_list_clear(l);
    for (int i = 0; i < 200; i++) rc_list_append(l, rc_int_new(200 - i));
    rc_list_append(l, rc_none);
    void *before = rc_repr(l);
    assert_int_equal(rc_list_sort(l, NULL, NULL), -1);
    ERROR_HAS("'<' not supported between");
    void *after = rc_repr(l);
    assert_string_equal(rc_str_cstr(before), rc_str_cstr(after));
    rc_decref(before);
    rc_decref(after);
    rc_decref(l);
    rc_decref(s);
    rc_decref(b);
}

typedef struct cmp_ctx {
    void *list;
    int calls, fail_at;
    int mode; /* 0 fail silently, 1 fail with a message, 2 append, 3 set, 4 clear */
} cmp_ctx;

static int troublesome(const void *a, const void *b, void *arg, bool *failed) {
    cmp_ctx *c = arg;
    if (++c->calls == c->fail_at) {
        switch (c->mode) {
        case 0: *failed = true; return 0;
        case 1: _rc_set_error("troublesome: boom"); *failed = true; return 0;
        case 2: rc_list_append_steal(c->list, big(99)); break;
        case 3: rc_list_set(c->list, 0, rc_list_get(c->list, 1)); break;
        case 4: rc_list_clear(c->list); break;
        default: break;
        }
    }
    int64_t x = rc_int_value(a), y = rc_int_value(b);
    return (x > y) - (x < y);
}

static void *shuffled_bigs(int n) {
    void *l = rc_list_new();
    for (int i = 0; i < n; i++) rc_list_append_steal(l, big((int64_t)((i * 7919) % n)));
    return l;
}

static void test_sort_failing_cmp_leaves_list(void **state) {
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        void *l = shuffled_bigs(100);
        void *before = rc_repr(l);
        cmp_ctx c = {.list = l, .fail_at = 150, .mode = mode};
        assert_int_equal(rc_list_sort(l, troublesome, &c), -1);
        if (mode == 0) ERROR_HAS("rc_list_sort: the comparison failed");
        else ERROR_HAS("troublesome: boom");
        void *after = rc_repr(l);
        assert_string_equal(rc_str_cstr(before), rc_str_cstr(after));
        for (int i = 0; i < 100; i++) assert_int_equal(rc_refcount(rc_list_get(l, i)), 1);
        rc_decref(before);
        rc_decref(after);
        rc_decref(l);
    }
}

static void test_sort_cmp_mutating_list(void **state) {
    (void)state;
    /* appending */
    void *l = shuffled_bigs(50);
    void *before = rc_repr(l);
    cmp_ctx c = {.list = l, .fail_at = 10, .mode = 2};
    clear_error();
    assert_int_equal(rc_list_sort(l, troublesome, &c), -1);
    ERROR_HAS("rc_list_sort: list modified during sort");
    assert_int_equal(rc_list_len(l), 51);
    rc_decref(rc_list_pop(l, -1));
    void *after = rc_repr(l);
    assert_string_equal(rc_str_cstr(before), rc_str_cstr(after)); /* not reordered */
    rc_decref(after);
    /* replacing an item: same length, same array */
    c = (cmp_ctx){.list = l, .fail_at = 10, .mode = 3};
    clear_error();
    assert_int_equal(rc_list_sort(l, troublesome, &c), -1);
    ERROR_HAS("rc_list_sort: list modified during sort");
    assert_ptr_equal(rc_list_get(l, 0), rc_list_get(l, 1));
    assert_int_equal(rc_refcount(rc_list_get(l, 1)), 2);
    /* clearing: the items the sort holds stay valid until it ends */
    c = (cmp_ctx){.list = l, .fail_at = 3, .mode = 4};
    assert_int_equal(rc_list_sort(l, troublesome, &c), -1);
    ERROR_HAS("rc_list_sort: list modified during sort");
    assert_int_equal(rc_list_len(l), 0);
    rc_decref(before);
    rc_decref(l);
}
/* }==== */

/* {==== sorting numbers by key; user code that changes lists ==== */

static void test_sort_numbers_by_key(void **state) {
    (void)state;
    /* equal values in distinct objects keep their order (stability seen
     * through identity), across the insertion blocks and the merges */
    enum { N = 1000 };
    void *l = rc_list_new();
    for (int i = 0; i < N; i++) rc_list_append_steal(l, big((int64_t)(rnd() % 7)));
    void **before = malloc(N * sizeof *before);
    for (int i = 0; i < N; i++) before[i] = rc_list_get(l, i);
    assert_int_equal(rc_list_sort(l, NULL, NULL), 0);
    for (int i = 1; i < N; i++) {
        void *p = rc_list_get(l, i - 1), *q = rc_list_get(l, i);
        assert_true(rc_int_value(p) <= rc_int_value(q));
        if (rc_int_value(p) == rc_int_value(q)) {
            int ip = -1, iq = -1;
            for (int k = 0; k < N; k++) {
                if (before[k] == p) ip = k;
                if (before[k] == q) iq = k;
            }
            assert_true(ip < iq);
        }
    }
    free(before);
    /* extremes of int64 */
    rc_list_clear(l);
    int64_t ext[] = {0, INT64_MAX, -1, INT64_MIN, 1, INT64_MIN + 1, INT64_MAX - 1};
    for (int i = 0; i < 7; i++) rc_list_append_steal(l, rc_int_new(ext[i]));
    assert_int_equal(rc_list_sort(l, NULL, NULL), 0);
    REPR_EQ(l, "[-9223372036854775808, -9223372036854775807, -1, 0, 1, 9223372036854775806, 9223372036854775807]");
    /* strictly descending: reversed; descending with ties: stable */
    rc_list_clear(l);
    for (int i = 0; i < 100; i++) rc_list_append_steal(l, rc_int_new(100 - i));
    assert_int_equal(rc_list_sort(l, NULL, NULL), 0);
    for (int i = 0; i < 100; i++) assert_int_equal(rc_int_value(rc_list_get(l, i)), i + 1);
    rc_list_clear(l);
    void *f1 = rc_float_new(2.0), *f2 = rc_float_new(2.0), *z1 = rc_float_new(0.0), *z2 = rc_float_new(-0.0);
    void *vals[] = {f1, z1, f2, z2};
    for (int i = 0; i < 4; i++) rc_list_append(l, vals[i]);
    assert_int_equal(rc_list_sort(l, NULL, NULL), 0); /* -0.0 == 0.0: they keep their order */
    assert_ptr_equal(rc_list_get(l, 0), z1);
    assert_ptr_equal(rc_list_get(l, 1), z2);
    assert_ptr_equal(rc_list_get(l, 2), f1);
    assert_ptr_equal(rc_list_get(l, 3), f2);
    /* floats: random, infinities, negatives */
    rc_list_clear(l);
    enum { M = 5000 };
    double *ref = malloc(M * sizeof *ref);
    for (int i = 0; i < M; i++) {
        ref[i] = i == 0 ? -1.0 / 0.0 : i == 1 ? 1.0 / 0.0 : ((double)(int64_t)(rnd() % 2000001) - 1e6) / 7.0;
        rc_list_append_steal(l, rc_float_new(ref[i]));
    }
    assert_int_equal(rc_list_sort(l, NULL, NULL), 0);
    for (int i = 1; i < M; i++) assert_true(rc_float_value(rc_list_get(l, i - 1)) <= rc_float_value(rc_list_get(l, i)));
    assert_true(rc_float_value(rc_list_get(l, 0)) < -1e300);
    assert_true(rc_float_value(rc_list_get(l, -1)) > 1e300);
    free(ref);
    /* a NaN: sorted the slow way, as rc_compare orders it (equal to all) */
    rc_list_clear(l);
    rc_list_append_steal(l, rc_float_new(3.0));
    rc_list_append_steal(l, rc_float_new(0.0 / 0.0));
    rc_list_append_steal(l, rc_float_new(1.0));
    assert_int_equal(rc_list_sort(l, NULL, NULL), 0);
    assert_int_equal(rc_list_len(l), 3);
    for (int i = 0; i < 4; i++) rc_decref(vals[i]);
    rc_decref(l);
}

/* A user type whose == empties the list `victim` (mutation during a
 * comparison). */
static void *victim;
static bool clearing_equal(const void *a, const void *b) {
    (void)a;
    (void)b;
    if (victim) rc_list_clear(victim);
    return false;
}
static const rc_type clearing_type = {.name = "clearing", .size = 8, .equal = clearing_equal};

static void test_user_code_changing_lists(void **state) {
    (void)state;
    void *e1 = rc_new(&clearing_type), *e2 = rc_new(&clearing_type);
    /* rc_equal of two lists, the first emptied by the items' == */
    void *a = rc_list_new(), *b = rc_list_new();
    rc_list_append(a, e1);
    rc_list_append_steal(a, big(1));
    rc_list_append(b, e2);
    rc_list_append_steal(b, big(1));
    victim = a;
    assert_false(rc_equal(a, b));
    assert_int_equal(rc_list_len(a), 0);
    /* rc_compare: the same, then lengths decide */
    rc_list_append(a, e1);
    rc_list_append_steal(a, big(2));
    int r = 99;
    clear_error(); /* e1 == e2 is false, and they have no order (Python's TypeError) */
    assert_int_equal(rc_compare(a, b, &r), -1);
    ERROR_HAS("'<' not supported between 'clearing' and 'clearing'");
    assert_int_equal(rc_list_len(a), 0);
    /* rc_list_index and rc_contains see the list shrink */
    rc_list_append(a, e1);
    rc_list_append_steal(a, big(3));
    clear_error();
    assert_int_equal(rc_list_index(a, e2), -1);
    ERROR_HAS("rc_list_index: item not in list");
    rc_list_append(a, e1);
    rc_list_append_steal(a, big(3));
    assert_int_equal(rc_contains(a, e2), 0);
    assert_int_equal(rc_list_len(a), 0);
    /* a sort whose comparisons (through tuples) empty the list */
    void *t1 = rc_tuple_pack(2, e1, rc_int_new(2)), *t2 = rc_tuple_pack(2, e2, rc_int_new(1));
    rc_list_append(a, t1);
    rc_list_append(a, t2);
    clear_error();
    assert_int_equal(rc_list_sort(a, NULL, NULL), -1);
    ERROR_HAS("'<' not supported between 'clearing' and 'clearing'");
    assert_int_equal(rc_list_len(a), 0);
    victim = NULL;
    void *objs[] = {t1, t2, a, b, e1, e2};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) rc_decref(objs[i]);
}
/* }==== */

/* {==== the collector ==== */

static void test_cycles_collected(void **state) {
    (void)state;
    /* a list that contains itself */
    void *a = rc_list_new();
    rc_list_append(a, a);
    assert_int_equal(rc_refcount(a), 2);
    rc_decref(a);
    assert_int_equal(rc_gc_collect(-1), 1);
    /* two lists that hold each other */
    void *x = rc_list_new(), *y = rc_list_new();
    rc_list_append(x, y);
    rc_list_append(y, x);
    void *inside = big(1);
    rc_list_append(x, inside); /* and something else, released with them */
    rc_decref(x);
    rc_decref(y);
    assert_int_equal(rc_refcount(inside), 2);
    assert_int_equal(rc_gc_collect(-1), 2); /* the tracked objects found */
    assert_int_equal(rc_refcount(inside), 1);
    rc_decref(inside);
    /* list <-> tuple */
    void *l = rc_list_new();
    void *t = rc_tuple_pack(1, l);
    rc_list_append(l, t);
    rc_decref(t);
    rc_decref(l);
    assert_int_equal(rc_gc_collect(-1), 2);
    /* a list holding its own iterator */
    l = rc_list_new();
    void *it = rc_iter(l);
    rc_list_append_steal(l, it);
    rc_decref(l);
    assert_int_equal(rc_gc_collect(-1), 2);
    /* a reachable cycle survives */
    l = rc_list_new();
    rc_list_append(l, l);
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(rc_list_len(l), 1);
    rc_list_clear(l);
    rc_decref(l);
    /* a long ring of lists */
    void *first = rc_list_new(), *prev = first;
    for (int i = 0; i < 10000; i++) {
        void *n = rc_list_new();
        rc_list_append_steal(prev, n);
        prev = n;
    }
    rc_list_append(prev, first);
    rc_decref(first);
    assert_int_equal(rc_gc_collect(-1), 10001);
}

static int collect_referent(void *obj, void *arg) {
    void **out = arg;
    while (*out) out++;
    *out = obj;
    return 0;
}

static void test_referents(void **state) {
    (void)state;
    void *a = big(1), *b = big(2);
    void *l = rc_list_new();
    rc_list_append(l, a);
    rc_list_append(l, b);
    rc_list_append(l, a);
    void *seen[8] = {0};
    assert_int_equal(rc_gc_get_referents(l, collect_referent, seen), 3); /* traverse visits every item */
    assert_ptr_equal(seen[0], a);
    assert_ptr_equal(seen[1], b);
    assert_ptr_equal(seen[2], a);
    void *t = rc_tuple_pack(2, b, rc_none);
    void *seen2[8] = {0};
    assert_int_equal(rc_gc_get_referents(t, collect_referent, seen2), 2);
    assert_ptr_equal(seen2[0], b);
    rc_decref(t);
    rc_decref(l);
    rc_decref(a);
    rc_decref(b);
}
/* }==== */

/* A destroy that stores into the list being destroyed (through a pointer
 * it kept): what it stores is released too, not left behind. */
static void *refill_target;
static int refills;
static void refill_destroy(void *self) {
    (void)self;
    if (refill_target && refills++ < 3) {
        void *x = rc_float_new(2.5);
        rc_list_append(refill_target, x);
        rc_decref(x);
    }
}
static const rc_type refill_type = {.name = "Refill", .size = 16, .destroy = refill_destroy};

static void test_destroy_refilling_the_list(void **state) {
    (void)state;
    void *l = rc_list_new();
    void *x = rc_new(&refill_type);
    assert_int_equal(rc_list_append(l, x), 0);
    rc_decref(x);
    refill_target = l;
    refills = 0;
    rc_decref(l); /* the leak check of the teardown sees the float if it stayed */
    refill_target = NULL;
    assert_int_equal(refills, 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        TYPES_TEST(test_new_empty),
        TYPES_TEST(test_get_indices),
        TYPES_TEST(test_wrong_arguments),
        TYPES_TEST(test_append_counts_references),
        TYPES_TEST(test_append_steal_releases_on_failure),
        TYPES_TEST(test_growth_follows_cpython),
        TYPES_TEST(test_many_appends),
        TYPES_TEST(test_destroy_refilling_the_list),
        TYPES_TEST(test_set),
        TYPES_TEST(test_insert_clamps),
        TYPES_TEST(test_pop),
        TYPES_TEST(test_del),
        TYPES_TEST(test_clear),
        TYPES_TEST(test_reverse),
        TYPES_TEST(test_slice),
        TYPES_TEST(test_extend),
        TYPES_TEST(test_extend_failure_keeps_list),
        TYPES_TEST(test_from_iter),
        TYPES_TEST(test_index_and_contains),
        TYPES_TEST(test_equal),
        TYPES_TEST(test_compare),
        TYPES_TEST(test_unhashable),
        TYPES_TEST(test_repr),
        TYPES_TEST(test_repr_self_containing),
        TYPES_TEST(test_deep_nesting_is_bounded),
        TYPES_TEST(test_long_chain_released),
        TYPES_TEST(test_iteration),
        TYPES_TEST(test_iteration_while_mutating),
        TYPES_TEST(test_sort_ints_floats_strs),
        TYPES_TEST(test_sort_large_random),
        TYPES_TEST(test_sort_is_stable),
        TYPES_TEST(test_sort_tuples_with_rc_compare),
        TYPES_TEST(test_sort_incomparable_leaves_list),
        TYPES_TEST(test_sort_failing_cmp_leaves_list),
        TYPES_TEST(test_sort_cmp_mutating_list),
        TYPES_TEST(test_sort_numbers_by_key),
        TYPES_TEST(test_user_code_changing_lists),
        TYPES_TEST(test_cycles_collected),
        TYPES_TEST(test_referents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
