/*
 * test_tuple.c — tuples (reclaim.h section 6.4) and what they answer to
 * the generic operations (rc_repr, rc_hash, rc_equal, rc_compare, rc_len,
 * rc_contains, rc_iter): construction, access and its errors, reference
 * counts, Python's exact hashes, untracking by the collector and tracking
 * again by rc_tuple_set, and cycles through tuples.
 */
#include "types_util.h"

#include "internal/types.h"

/* An int outside the immortal small ints, so its count can be read. */
static void *big(int64_t v) { return rc_int_new(1000000 + v); }

/* {==== construction ==== */

static void test_empty_tuple_is_shared(void **state) {
    (void)state;
    void *a = rc_tuple_new(0), *b = rc_tuple_pack(0), *c = rc_tuple_from_array(NULL, 0);
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_ptr_equal(a, c);
    assert_true(rc_refcount(a) >= RC_IMMORTAL_REFCNT); /* immortal: counting does nothing */
    assert_ptr_equal(rc_type_of(a), &rc_tuple_type);
    assert_int_equal(rc_tuple_len(a), 0);
    assert_int_equal(rc_len(a), 0);
    assert_false(rc_gc_is_tracked(a));
    REPR_EQ(a, "()");
    clear_error();
    assert_null(rc_tuple_get(a, 0));
    ERROR_HAS("rc_tuple_get: index 0 out of range (len 0)");
    assert_int_equal(rc_tuple_set(a, 0, rc_none), -1);
    ERROR_HAS("rc_tuple_set: index 0 out of range (len 0)");
    rc_decref(a);
    rc_decref(b);
    rc_decref(c);
}

static void test_new_fills_with_none(void **state) {
    (void)state;
    void *t = rc_tuple_new(3);
    assert_non_null(t);
    assert_int_equal(rc_refcount(t), 1);
    assert_int_equal(rc_tuple_len(t), 3);
    for (int64_t i = 0; i < 3; i++) assert_ptr_equal(rc_tuple_get(t, i), rc_none);
    REPR_EQ(t, "(None, None, None)");
    /* header + n + 3 items = 48 bytes, one pool block */
    assert_int_equal(rc_sizeof(t), 48);
    rc_decref(t);
}

static void test_pack_takes_own_references(void **state) {
    (void)state;
    void *a = big(1), *b = rc_str_from_cstr("text");
    void *t = rc_tuple_pack(3, a, NULL, b);
    assert_non_null(t);
    assert_int_equal(rc_refcount(a), 2);
    assert_int_equal(rc_refcount(b), 2);
    assert_ptr_equal(rc_tuple_get(t, 0), a);
    assert_ptr_equal(rc_tuple_get(t, 1), rc_none); /* NULL reads as None */
    assert_ptr_equal(rc_tuple_get(t, 2), b);
    REPR_EQ(t, "(1000001, None, 'text')");
    rc_decref(t);
    assert_int_equal(rc_refcount(a), 1);
    assert_int_equal(rc_refcount(b), 1);
    rc_decref(a);
    rc_decref(b);
}

static void test_from_array(void **state) {
    (void)state;
    void *items[4] = {big(1), big(2), rc_float_new(1.5), NULL};
    void *t = rc_tuple_from_array(items, 4);
    assert_non_null(t);
    assert_int_equal(rc_tuple_len(t), 4);
    for (int i = 0; i < 3; i++) {
        assert_ptr_equal(rc_tuple_get(t, i), items[i]);
        assert_int_equal(rc_refcount(items[i]), 2);
    }
    assert_ptr_equal(rc_tuple_get(t, 3), rc_none);
    REPR_EQ(t, "(1000001, 1000002, 1.5, None)");
    rc_decref(t);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rc_refcount(items[i]), 1);
        rc_decref(items[i]);
    }
    clear_error();
    assert_null(rc_tuple_from_array(NULL, 2));
    ERROR_HAS("rc_tuple_from_array: items is NULL");
}

static void test_one_item_repr_and_nesting(void **state) {
    (void)state;
    void *one = rc_tuple_pack(1, rc_int_new(1));
    REPR_EQ(one, "(1,)");
    void *two = rc_tuple_pack(2, rc_int_new(1), rc_int_new(2));
    REPR_EQ(two, "(1, 2)");
    void *s = rc_str_from_cstr("a");
    void *nested = rc_tuple_pack(3, one, two, s);
    REPR_EQ(nested, "((1,), (1, 2), 'a')");
    void *empty = rc_tuple_new(0);
    void *with_empty = rc_tuple_pack(1, empty);
    REPR_EQ(with_empty, "((),)");
    rc_decref(with_empty);
    rc_decref(nested);
    rc_decref(one);
    rc_decref(two);
    rc_decref(s);
}
/* }==== */

/* {==== access and its errors ==== */

static void test_get_indices(void **state) {
    (void)state;
    void *t = rc_tuple_pack(3, rc_int_new(10), rc_int_new(20), rc_int_new(30));
    assert_int_equal(rc_int_value(rc_tuple_get(t, 0)), 10);
    assert_int_equal(rc_int_value(rc_tuple_get(t, 2)), 30);
    assert_int_equal(rc_int_value(rc_tuple_get(t, -1)), 30);
    assert_int_equal(rc_int_value(rc_tuple_get(t, -3)), 10);
    clear_error();
    assert_null(rc_tuple_get(t, 3));
    ERROR_HAS("rc_tuple_get: index 3 out of range (len 3)");
    clear_error();
    assert_null(rc_tuple_get(t, -4));
    ERROR_HAS("rc_tuple_get: index -4 out of range (len 3)");
    clear_error();
    assert_null(rc_tuple_get(t, INT64_MIN));
    ERROR_HAS("out of range (len 3)");
    clear_error();
    assert_null(rc_tuple_get(t, INT64_MAX));
    ERROR_HAS("out of range (len 3)");
    rc_decref(t);
}

static void test_wrong_arguments(void **state) {
    (void)state;
    void *l = rc_list_new();
    clear_error();
    assert_int_equal(rc_tuple_len(l), 0);
    ERROR_HAS("rc_tuple_len: expected a tuple, got list");
    clear_error();
    assert_int_equal(rc_tuple_len(NULL), 0);
    ERROR_HAS("rc_tuple_len: expected a tuple, got NULL");
    clear_error();
    assert_null(rc_tuple_get(l, 0));
    ERROR_HAS("rc_tuple_get: expected a tuple, got list");
    clear_error();
    assert_null(rc_tuple_get(NULL, 0));
    ERROR_HAS("rc_tuple_get: expected a tuple, got NULL");
    clear_error();
    assert_int_equal(rc_tuple_set(l, 0, rc_none), -1);
    ERROR_HAS("rc_tuple_set: expected a tuple, got list");
    void *t = rc_tuple_new(1);
    clear_error();
    assert_int_equal(rc_tuple_set(t, 0, NULL), -1);
    ERROR_HAS("rc_tuple_set: item is NULL");
    assert_ptr_equal(rc_tuple_get(t, 0), rc_none);
    clear_error();
    assert_int_equal(rc_tuple_set(t, 1, rc_none), -1);
    ERROR_HAS("rc_tuple_set: index 1 out of range (len 1)");
    clear_error();
    assert_int_equal(rc_tuple_set(t, -2, rc_none), -1);
    ERROR_HAS("rc_tuple_set: index -2 out of range (len 1)");
    rc_decref(t);
    rc_decref(l);
}

static void test_set_counts_references(void **state) {
    (void)state;
    void *t = rc_tuple_new(2);
    void *a = big(1), *b = big(2);
    assert_int_equal(rc_tuple_set(t, 0, a), 0);
    assert_int_equal(rc_refcount(a), 2);
    assert_int_equal(rc_tuple_set(t, -1, a), 0); /* negative index */
    assert_int_equal(rc_refcount(a), 3);
    assert_int_equal(rc_tuple_set(t, 1, b), 0); /* releases the old item */
    assert_int_equal(rc_refcount(a), 2);
    assert_int_equal(rc_refcount(b), 2);
    assert_int_equal(rc_tuple_set(t, 0, a), 0); /* the same object again */
    assert_int_equal(rc_refcount(a), 2);
    REPR_EQ(t, "(1000001, 1000002)");
    rc_decref(t);
    assert_int_equal(rc_refcount(a), 1);
    assert_int_equal(rc_refcount(b), 1);
    rc_decref(a);
    rc_decref(b);
}
/* }==== */

/* {==== hash, equality, ordering ==== */

static void test_hash_matches_python(void **state) {
    (void)state;
    /* values printed by python3 on a 64-bit build */
    void *t12 = rc_tuple_pack(2, rc_int_new(1), rc_int_new(2));
    assert_int_equal(rc_hash(t12), -3550055125485641917LL);
    void *f = rc_float_new(1.0);
    void *t12f = rc_tuple_pack(2, f, rc_int_new(2));
    assert_int_equal(rc_hash(t12f), -3550055125485641917LL); /* hash((1.0, 2)) */
    void *empty = rc_tuple_new(0);
    assert_int_equal(rc_hash(empty), 5740354900026072187LL);
    void *t1 = rc_tuple_pack(1, rc_int_new(1));
    assert_int_equal(rc_hash(t1), -6644214454873602895LL);
    void *tt = rc_tuple_pack(1, rc_true);
    assert_int_equal(rc_hash(tt), -6644214454873602895LL); /* hash((True,)) */
    void *tm1 = rc_tuple_pack(1, rc_int_new(-1));
    assert_int_equal(rc_hash(tm1), 8078679518589016365LL);
    void *te = rc_tuple_pack(1, empty);
    assert_int_equal(rc_hash(te), -5486347211504344842LL);
    void *x = rc_float_new(1.5), *y = rc_int_new(-2);
    void *tf = rc_tuple_pack(2, x, y);
    assert_int_equal(rc_hash(tf), -9002791676578425913LL);
    void *b62 = rc_int_new((int64_t)1 << 62);
    void *t62 = rc_tuple_pack(1, b62);
    assert_int_equal(rc_hash(t62), 6909455589863252355LL);
    void *t3 = rc_tuple_pack(1, rc_int_new(3));
    void *nest = rc_tuple_pack(2, t12, t3);
    assert_int_equal(rc_hash(nest), -8303551883679707139LL); /* hash(((1, 2), (3,))) */
    /* more than 16 items: the hashes are gathered in a heap buffer */
    void *r20 = rc_tuple_new(20), *r100 = rc_tuple_new(100);
    for (int i = 0; i < 20; i++) rc_tuple_set(r20, i, rc_int_new(i));
    for (int i = 0; i < 100; i++) rc_tuple_set(r100, i, rc_int_new(i));
    assert_int_equal(rc_hash(r20), -9217304902224717415LL);
    assert_int_equal(rc_hash(r100), 4479737025582696436LL);
    void *objs[] = {t12, f, t12f, t1, tt, tm1, te, x, y, tf, b62, t62, t3, nest, r20, r100};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) rc_decref(objs[i]);
}

static void test_hash_of_equal_strs_agrees(void **state) {
    (void)state;
    void *a = rc_tuple_pack(2, rc_str_from_cstr("x"), rc_int_new(5));
    void *b = rc_tuple_pack(2, rc_str_from_cstr("x"), rc_int_new(5));
    /* the packed strs were new references: the tuples own one each more */
    rc_decref(rc_tuple_get(a, 0));
    rc_decref(rc_tuple_get(b, 0));
    assert_int_equal(rc_refcount(rc_tuple_get(a, 0)), 1);
    assert_true(rc_equal(a, b));
    assert_int_equal(rc_hash(a), rc_hash(b));
    rc_decref(a);
    rc_decref(b);
}

static void test_unhashable_item(void **state) {
    (void)state;
    void *l = rc_list_new();
    void *t = rc_tuple_pack(2, rc_int_new(1), l);
    clear_error();
    assert_int_equal(rc_hash(t), -1);
    ERROR_HAS("rc_hash: unhashable type: 'list'");
    void *outer = rc_tuple_pack(1, t);
    clear_error();
    assert_int_equal(rc_hash(outer), -1);
    ERROR_HAS("rc_hash: unhashable type: 'list'");
    /* many items, the unhashable one last (the heap buffer is freed) */
    void *many = rc_tuple_new(40);
    rc_tuple_set(many, 39, l);
    clear_error();
    assert_int_equal(rc_hash(many), -1);
    ERROR_HAS("unhashable type: 'list'");
    rc_decref(many);
    rc_decref(outer);
    rc_decref(t);
    rc_decref(l);
}

static void test_equal(void **state) {
    (void)state;
    void *f = rc_float_new(2.0);
    void *a = rc_tuple_pack(2, rc_int_new(1), rc_int_new(2));
    void *b = rc_tuple_pack(2, rc_true, f); /* (True, 2.0) == (1, 2) */
    void *c = rc_tuple_pack(3, rc_int_new(1), rc_int_new(2), rc_int_new(3));
    void *d = rc_tuple_pack(2, rc_int_new(1), rc_int_new(3));
    assert_true(rc_equal(a, a));
    assert_true(rc_equal(a, b));
    assert_false(rc_equal(a, c));
    assert_false(rc_equal(a, d));
    void *e = rc_tuple_new(0);
    assert_false(rc_equal(a, e));
    void *l = rc_list_new();
    rc_list_append(l, rc_int_new(1));
    rc_list_append(l, rc_int_new(2));
    assert_false(rc_equal(a, l)); /* (1, 2) != [1, 2] */
    void *na = rc_tuple_pack(2, a, l), *nb = rc_tuple_pack(2, b, l);
    assert_true(rc_equal(na, nb));
    void *objs[] = {f, a, b, c, d, l, na, nb};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) rc_decref(objs[i]);
}

static void test_compare(void **state) {
    (void)state;
    int r = 99;
    void *a = rc_tuple_pack(2, rc_int_new(1), rc_int_new(2));
    void *b = rc_tuple_pack(2, rc_int_new(1), rc_int_new(3));
    void *c = rc_tuple_pack(3, rc_int_new(1), rc_int_new(2), rc_int_new(0));
    void *f = rc_float_new(2.0);
    void *d = rc_tuple_pack(2, rc_int_new(1), f);
    void *e = rc_tuple_new(0);
    assert_int_equal(rc_compare(a, b, &r), 0);
    assert_int_equal(r, -1);
    assert_int_equal(rc_compare(b, a, &r), 0);
    assert_int_equal(r, 1);
    assert_int_equal(rc_compare(a, c, &r), 0); /* a prefix sorts first */
    assert_int_equal(r, -1);
    assert_int_equal(rc_compare(a, d, &r), 0); /* (1, 2) == (1, 2.0) */
    assert_int_equal(r, 0);
    assert_int_equal(rc_compare(e, a, &r), 0);
    assert_int_equal(r, -1);
    assert_int_equal(rc_compare(e, e, &r), 0);
    assert_int_equal(r, 0);
    /* equal items that have no order are skipped, as in Python:
     * (None, 1) < (None, 2) */
    void *n1 = rc_tuple_pack(2, rc_none, rc_int_new(1)), *n2 = rc_tuple_pack(2, rc_none, rc_int_new(2));
    assert_int_equal(rc_compare(n1, n2, &r), 0);
    assert_int_equal(r, -1);
    /* strs by code point */
    void *sa = rc_tuple_pack(1, rc_str_from_cstr("apple")), *sb = rc_tuple_pack(1, rc_str_from_cstr("banana"));
    rc_decref(rc_tuple_get(sa, 0));
    rc_decref(rc_tuple_get(sb, 0));
    assert_int_equal(rc_compare(sa, sb, &r), 0);
    assert_int_equal(r, -1);
    /* the first differing items have no order */
    void *s = rc_str_from_cstr("a");
    void *x = rc_tuple_pack(2, rc_int_new(1), s), *y = rc_tuple_pack(2, rc_int_new(1), rc_int_new(2));
    clear_error();
    assert_int_equal(rc_compare(x, y, &r), -1);
    ERROR_HAS("rc_compare: '<' not supported between 'str' and 'int'");
    /* a tuple and a list have no order */
    void *l = rc_list_new();
    clear_error();
    assert_int_equal(rc_compare(a, l, &r), -1);
    ERROR_HAS("'<' not supported between 'tuple' and 'list'");
    void *objs[] = {a, b, c, f, d, n1, n2, sa, sb, s, x, y, l};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) rc_decref(objs[i]);
}

static void test_deep_nesting_is_bounded(void **state) {
    (void)state;
    void *t = rc_tuple_pack(1, rc_int_new(0));
    for (int i = 0; i < 1500; i++) {
        void *outer = rc_tuple_pack(1, t);
        rc_decref(t);
        t = outer;
    }
    clear_error();
    assert_int_equal(rc_hash(t), -1);
    ERROR_HAS("nesting deeper than 1000 levels");
    clear_error();
    assert_null(rc_repr(t));
    ERROR_HAS("nesting deeper than 1000 levels");
    /* a shallower one hashes and prints */
    void *inner = rc_tuple_get(t, 0);
    for (int i = 0; i < 800; i++) inner = rc_tuple_get(inner, 0);
    assert_int_not_equal(rc_hash(inner), -1);
    void *r = rc_repr(inner);
    assert_non_null(r);
    rc_decref(r);
    rc_decref(t); /* released without deep recursion */
}
/* }==== */

/* {==== len, contains, iteration ==== */

static void test_len_and_contains(void **state) {
    (void)state;
    void *f = rc_float_new(1.0), *s = rc_str_from_cstr("x"), *s2 = rc_str_from_cstr("x");
    void *t = rc_tuple_pack(3, f, s, rc_none);
    assert_int_equal(rc_len(t), 3);
    assert_int_equal(rc_contains(t, rc_int_new(1)), 1); /* 1 == 1.0 */
    assert_int_equal(rc_contains(t, s2), 1);
    assert_int_equal(rc_contains(t, rc_none), 1);
    assert_int_equal(rc_contains(t, rc_int_new(2)), 0);
    void *e = rc_tuple_new(0);
    assert_int_equal(rc_contains(e, rc_none), 0);
    rc_decref(t);
    rc_decref(f);
    rc_decref(s);
    rc_decref(s2);
}

static void test_iteration(void **state) {
    (void)state;
    void *a = big(1), *b = big(2);
    void *t = rc_tuple_pack(2, a, b);
    void *it = rc_iter(t);
    assert_non_null(it);
    assert_int_equal(rc_refcount(t), 2); /* the iterator holds the tuple */
    assert_ptr_equal(rc_iter(it), it);   /* an iterator is its own iterator */
    rc_decref(it);
    void *x = NULL;
    assert_int_equal(rc_next(it, &x), 1);
    assert_ptr_equal(x, a);
    assert_int_equal(rc_refcount(a), 3); /* a new reference */
    rc_decref(x);
    assert_int_equal(rc_next(it, &x), 1);
    assert_ptr_equal(x, b);
    rc_decref(x);
    assert_int_equal(rc_next(it, &x), 0);
    assert_null(x);
    assert_int_equal(rc_refcount(t), 1); /* released when exhausted */
    assert_int_equal(rc_next(it, &x), 0); /* and stays exhausted */
    rc_decref(it);
    /* the empty tuple */
    void *e = rc_tuple_new(0);
    it = rc_iter(e);
    assert_non_null(it);
    assert_int_equal(rc_next(it, &x), 0);
    rc_decref(it);
    /* an iterator dropped before the end releases the tuple */
    it = rc_iter(t);
    rc_decref(t);
    assert_int_equal(rc_next(it, &x), 1);
    rc_decref(x);
    rc_decref(it);
    assert_int_equal(rc_refcount(a), 1);
    rc_decref(a);
    rc_decref(b);
}
/* }==== */

/* {==== the collector ==== */

static void test_untracked_when_items_are_untracked(void **state) {
    (void)state;
    void *s = rc_str_from_cstr("s");
    void *f = rc_float_new(2.5);
    void *t = rc_tuple_pack(3, rc_int_new(1), s, f);
    assert_true(rc_gc_is_tracked(t)); /* tracked from creation */
    rc_gc_collect(-1);
    assert_false(rc_gc_is_tracked(t)); /* nothing it holds is tracked */
    /* a tuple of tuples of atoms is untracked whole */
    void *inner = rc_tuple_pack(1, rc_int_new(2));
    void *outer = rc_tuple_pack(2, inner, t);
    rc_gc_collect(-1);
    assert_false(rc_gc_is_tracked(inner));
    assert_false(rc_gc_is_tracked(outer));
    /* one that holds a list stays tracked */
    void *l = rc_list_new();
    void *tl = rc_tuple_pack(1, l);
    rc_gc_collect(-1);
    assert_true(rc_gc_is_tracked(tl));
    void *objs[] = {s, f, t, inner, outer, l, tl};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) rc_decref(objs[i]);
}

static void test_set_tracks_again(void **state) {
    (void)state;
    void *t = rc_tuple_new(2);
    rc_gc_collect(-1);
    assert_false(rc_gc_is_tracked(t)); /* holds only None so far */
    void *l = rc_list_new();
    assert_int_equal(rc_tuple_set(t, 0, l), 0);
    assert_true(rc_gc_is_tracked(t)); /* a tracked item: tracked again */
    /* and a cycle through it is now found */
    rc_list_append(l, t);
    rc_decref(l);
    rc_decref(t);
    assert_int_equal(rc_gc_collect(-1), 2);
    /* an untracked item does not track it */
    void *u = rc_tuple_new(1);
    rc_gc_collect(-1);
    void *f = rc_float_new(1.0);
    rc_tuple_set(u, 0, f);
    assert_false(rc_gc_is_tracked(u));
    rc_decref(f);
    rc_decref(u);
}

static void test_cycles_collected(void **state) {
    (void)state;
    /* t = ([t],) : tuple -> list -> tuple */
    void *l = rc_list_new();
    void *t = rc_tuple_pack(1, l);
    rc_list_append(l, t);
    REPR_EQ(t, "([(...)],)");
    REPR_EQ(l, "[([...],)]");
    rc_decref(l);
    rc_decref(t);
    assert_int_equal(rc_gc_collect(-1), 2);
    /* a longer ring: tuple -> tuple -> list -> tuple, plus an iterator
     * inside the ring */
    void *l2 = rc_list_new();
    void *a = rc_tuple_pack(1, l2);
    void *b = rc_tuple_pack(1, a);
    rc_list_append(l2, b);
    void *it = rc_iter(a);
    rc_list_append(l2, it);
    rc_decref(it);
    rc_decref(l2);
    rc_decref(a);
    rc_decref(b);
    assert_int_equal(rc_gc_collect(-1), 4);
}
/* }==== */

/* A shared tuple cannot be changed (PyTuple_SetItem's rule): it may be a
 * dict key already, whose hash would go stale. */
static void test_set_refuses_shared_tuple(void **state) {
    (void)state;
    void *t = rc_tuple_new(2);
    void *x = rc_float_new(1.5);
    assert_int_equal(rc_tuple_set(t, 0, x), 0);
    rc_incref(t); /* shared now */
    clear_error();
    assert_int_equal(rc_tuple_set(t, 1, x), -1);
    ERROR_HAS("rc_tuple_set: the tuple is shared (2 references)");
    assert_ptr_equal(rc_tuple_get(t, 1), rc_none);
    assert_int_equal(rc_refcount(x), 2);
    rc_decref(t);
    assert_int_equal(rc_tuple_set(t, 1, x), 0); /* one reference again: filling is fine */
    assert_ptr_equal(rc_tuple_get(t, 1), x);
    rc_decref(t);
    rc_decref(x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        TYPES_TEST(test_empty_tuple_is_shared),
        TYPES_TEST(test_new_fills_with_none),
        TYPES_TEST(test_pack_takes_own_references),
        TYPES_TEST(test_from_array),
        TYPES_TEST(test_one_item_repr_and_nesting),
        TYPES_TEST(test_get_indices),
        TYPES_TEST(test_wrong_arguments),
        TYPES_TEST(test_set_counts_references),
        TYPES_TEST(test_hash_matches_python),
        TYPES_TEST(test_hash_of_equal_strs_agrees),
        TYPES_TEST(test_unhashable_item),
        TYPES_TEST(test_equal),
        TYPES_TEST(test_compare),
        TYPES_TEST(test_deep_nesting_is_bounded),
        TYPES_TEST(test_len_and_contains),
        TYPES_TEST(test_iteration),
        TYPES_TEST(test_untracked_when_items_are_untracked),
        TYPES_TEST(test_set_tracks_again),
        TYPES_TEST(test_cycles_collected),
        TYPES_TEST(test_set_refuses_shared_tuple),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
