/*
 * test_set.c — sets (reclaim.h section 6.7) and what they answer to the
 * generic operations (rc_repr, rc_hash, rc_equal, rc_len, rc_contains,
 * rc_iter): every operation with its edge cases and errors, reference
 * counts, growth to 1M items and memory per item against CPython's,
 * dummies reused and tables shrunk, colliding keys and keys whose equal
 * changes the set, set algebra, mutation during iteration, and cycles.
 */
#include "types_util.h"

#include "internal/types.h"

/* An int outside the immortal small ints, so its count can be read. */
static void *big(int64_t v) { return rc_int_new(1000000 + v); }

/* The set's invariants hold (set.c's validator). */
#define SET_VALID(s)                                                          \
    do {                                                                      \
        if (!_rc_set_is_valid(s)) fail_msg("invalid set: %s", rc_last_error()); \
    } while (0)

/* Heap byte counts are exact only with the default allocator (the debug
 * one adds guards around every block): memory checks run only then. */
static bool exact_heap(void) { return _rc_option(RC_OPT_MALLOC) == RC_MALLOC_DEFAULT; }

static size_t heap_bytes(void) {
    rc_heap_stats st;
    rc_heap_get_stats(&st);
    return st.bytes_in_use;
}

/* A set of the ints in vals[0..n) (own references). */
static void *set_of(const int64_t *vals, size_t n) {
    void *s = rc_set_new();
    for (size_t i = 0; i < n; i++) {
        void *x = rc_int_new(vals[i]);
        assert_true(rc_set_add(s, x) >= 0);
        rc_decref(x);
    }
    return s;
}

static bool has_int(const void *s, int64_t v) {
    void *x = rc_int_new(v);
    int r = rc_set_contains(s, x);
    rc_decref(x);
    assert_true(r >= 0);
    return r == 1;
}

/* {==== colliding keys, keys that change the set, tracked objects ==== */

typedef struct coll {
    int64_t id;
} coll;

static uint64_t coll_hash(const void *self) {
    (void)self;
    return 7;
}
static bool coll_equal(const void *a, const void *b) { return ((const coll *)a)->id == ((const coll *)b)->id; }
static const rc_type coll_type = {.name = "Coll", .size = sizeof(coll), .hash = coll_hash, .equal = coll_equal};

static void *new_coll(int64_t id) {
    coll *c = rc_new(&coll_type);
    c->id = id;
    return c;
}

static void *evil_set;
static int evil_mode; /* 0 nothing, 1 clear once, 2 grow once, 3 add every time */
static int64_t evil_next = 500000;
static bool evil_equal(const void *a, const void *b) {
    if (evil_mode == 1) {
        evil_mode = 0;
        rc_set_clear(evil_set);
    } else if (evil_mode == 2 || evil_mode == 3) {
        if (evil_mode == 2) evil_mode = 0;
        for (int i = 0; i < (evil_mode == 3 ? 1 : 100); i++) {
            void *k = big(evil_next++);
            rc_set_add(evil_set, k);
            rc_decref(k);
        }
    }
    return ((const coll *)a)->id == ((const coll *)b)->id;
}
static const rc_type evil_type = {.name = "Evil", .size = sizeof(coll), .hash = coll_hash, .equal = evil_equal};

static void *new_evil(int64_t id) {
    coll *c = rc_new(&evil_type);
    c->id = id;
    return c;
}

typedef struct box {
    void *ref;
} box;
static int box_traverse(void *self, rc_visit_fn visit, void *arg) {
    box *b = self;
    return b->ref ? visit(b->ref, arg) : 0;
}
static void box_clear(void *self) { RC_CLEAR(((box *)self)->ref); }
static void *box_repr(const void *self) { return rc_str_format("Box(%R)", ((const box *)self)->ref); }
static const rc_type box_type = {.name = "Box",
                                 .size = sizeof(box),
                                 .traverse = box_traverse,
                                 .clear = box_clear,
                                 .destroy = box_clear,
                                 .repr = box_repr};
/* }==== */

/* {==== basic operations ==== */

static void test_empty_set(void **state) {
    (void)state;
    void *s = rc_set_new();
    assert_non_null(s);
    assert_ptr_equal(rc_type_of(s), &rc_set_type);
    assert_int_equal(rc_set_len(s), 0);
    assert_int_equal(rc_len(s), 0);
    assert_true(rc_gc_is_tracked(s)); /* always tracked, as CPython's */
    assert_true(rc_sizeof(s) <= 64);
    SET_VALID(s);
    REPR_EQ(s, "set()");
    void *x = big(1);
    assert_int_equal(rc_set_contains(s, x), 0);
    assert_int_equal(rc_contains(s, x), 0);
    assert_int_equal(rc_set_discard(s, x), 0);
    clear_error();
    assert_null(rc_set_pop(s));
    ERROR_HAS("rc_set_pop: pop from an empty set");
    rc_set_clear(s);
    void *it = rc_iter(s), *out = x;
    assert_int_equal(rc_next(it, &out), 0);
    assert_null(out);
    rc_decref(it);
    assert_int_equal(rc_refcount(x), 1);
    rc_decref(x);
    rc_decref(s);
}

static void test_add_discard_contains_refcounts(void **state) {
    (void)state;
    void *s = rc_set_new(), *x = big(1), *y = big(1), *z = big(2);
    assert_int_equal(rc_set_add(s, x), 1);
    assert_int_equal(rc_refcount(x), 2);
    assert_int_equal(rc_set_len(s), 1);
    assert_int_equal(rc_set_add(s, x), 0); /* already there */
    assert_int_equal(rc_set_add(s, y), 0); /* an equal object: not stored */
    assert_int_equal(rc_refcount(x), 2);
    assert_int_equal(rc_refcount(y), 1);
    assert_int_equal(rc_set_len(s), 1);
    assert_int_equal(rc_set_contains(s, y), 1);
    assert_int_equal(rc_set_contains(s, z), 0);
    REPR_EQ(s, "{1000001}");
    assert_int_equal(rc_set_add(s, z), 1);
    assert_int_equal(rc_set_len(s), 2);
    assert_int_equal(rc_set_discard(s, y), 1); /* removes x */
    assert_int_equal(rc_refcount(x), 1);
    assert_int_equal(rc_set_discard(s, x), 0);
    assert_int_equal(rc_set_len(s), 1);
    assert_int_equal(rc_set_contains(s, x), 0);
    assert_int_equal(rc_set_contains(s, z), 1);
    /* added again after its discard */
    assert_int_equal(rc_set_add(s, y), 1);
    assert_int_equal(rc_refcount(y), 2);
    assert_int_equal(rc_set_len(s), 2);
    rc_decref(s);
    assert_int_equal(rc_refcount(y), 1);
    assert_int_equal(rc_refcount(z), 1);
    rc_decref(x);
    rc_decref(y);
    rc_decref(z);
}

static void test_wrong_arguments(void **state) {
    (void)state;
    void *s = rc_set_new(), *i = big(1), *l = rc_list_new(), *d = rc_dict_new();
    clear_error();
    assert_int_equal(rc_set_add(NULL, i), -1);
    ERROR_HAS("rc_set_add: expected a set, got NULL");
    clear_error();
    assert_int_equal(rc_set_add(l, i), -1);
    ERROR_HAS("rc_set_add: expected a set, got list");
    clear_error();
    assert_int_equal(rc_set_add(s, NULL), -1);
    ERROR_HAS("rc_set_add: item is NULL");
    clear_error();
    assert_int_equal(rc_set_add(s, l), -1);
    ERROR_HAS("rc_set_add: unhashable type: 'list'");
    clear_error();
    assert_int_equal(rc_set_add(s, d), -1);
    ERROR_HAS("rc_set_add: unhashable type: 'dict'");
    clear_error();
    assert_int_equal(rc_set_add(s, s), -1);
    ERROR_HAS("rc_set_add: unhashable type: 'set'");
    clear_error();
    assert_int_equal(rc_set_contains(s, l), -1);
    ERROR_HAS("rc_set_contains: unhashable type: 'list'");
    clear_error();
    assert_int_equal(rc_contains(s, l), -1);
    ERROR_HAS("unhashable type: 'list'");
    clear_error();
    assert_int_equal(rc_set_discard(s, l), -1);
    ERROR_HAS("rc_set_discard: unhashable type: 'list'");
    clear_error();
    assert_int_equal(rc_set_discard(i, i), -1);
    ERROR_HAS("rc_set_discard: expected a set, got int");
    clear_error();
    assert_int_equal(rc_set_contains(s, NULL), -1);
    ERROR_HAS("rc_set_contains: item is NULL");
    clear_error();
    assert_int_equal(rc_set_len(d), 0);
    ERROR_HAS("rc_set_len: expected a set, got dict");
    clear_error();
    assert_null(rc_set_pop(NULL));
    ERROR_HAS("rc_set_pop: expected a set, got NULL");
    clear_error();
    rc_set_clear(l);
    ERROR_HAS("rc_set_clear: expected a set, got list");
    clear_error();
    assert_null(rc_set_union(s, l));
    ERROR_HAS("rc_set_union: expected a set, got list");
    clear_error();
    assert_null(rc_set_intersection(NULL, s));
    ERROR_HAS("rc_set_intersection: expected a set, got NULL");
    clear_error();
    assert_null(rc_set_difference(s, d));
    ERROR_HAS("rc_set_difference: expected a set, got dict");
    clear_error();
    assert_int_equal(rc_hash(s), -1);
    ERROR_HAS("rc_hash: unhashable type: 'set'");
    assert_int_equal(rc_set_len(s), 0); /* nothing was stored */
    assert_int_equal(rc_refcount(l), 1);
    rc_decref(s);
    rc_decref(i);
    rc_decref(l);
    rc_decref(d);
}

static void test_numbers_are_one_item(void **state) {
    (void)state;
    void *s = rc_set_new(), *f = rc_float_new(1.0);
    assert_int_equal(rc_set_add(s, rc_int_new(1)), 1);
    assert_int_equal(rc_set_add(s, f), 0);
    assert_int_equal(rc_set_add(s, rc_true), 0);
    assert_int_equal(rc_set_len(s), 1);
    REPR_EQ(s, "{1}");
    assert_int_equal(rc_set_contains(s, f), 1);
    assert_int_equal(rc_set_add(s, rc_int_new(0)), 1);
    assert_int_equal(rc_set_add(s, rc_false), 0);
    assert_int_equal(rc_set_add(s, rc_int_new(-1)), 1); /* hash(-1) == hash(-2) */
    assert_int_equal(rc_set_add(s, rc_int_new(-2)), 1);
    assert_int_equal(rc_set_len(s), 4);
    assert_int_equal(rc_set_discard(s, rc_true), 1);
    assert_int_equal(rc_set_len(s), 3);
    assert_false(has_int(s, 1));
    assert_true(has_int(s, -1));
    assert_true(has_int(s, -2));
    void *st = rc_str_from_cstr("a"), *by = rc_bytes_new("a", 1), *st2 = rc_str_from_cstr("a");
    assert_int_equal(rc_set_add(s, st), 1);
    assert_int_equal(rc_set_add(s, by), 1);
    assert_int_equal(rc_set_add(s, st2), 0);
    assert_int_equal(rc_set_add(s, rc_none), 1);
    assert_int_equal(rc_set_len(s), 6);
    rc_decref(s);
    rc_decref(f);
    rc_decref(st);
    rc_decref(st2);
    rc_decref(by);
}
/* }==== */

/* {==== growth, dummies, shrink, memory ==== */

static void test_growth_across_many_resizes(void **state) {
    (void)state;
    enum { N = 100000 };
    void *s = rc_set_new();
    for (int i = 0; i < N; i++) {
        void *x = big(i * 3);
        assert_int_equal(rc_set_add(s, x), 1);
        rc_decref(x);
        assert_int_equal(rc_set_len(s), (size_t)i + 1);
        if (i % 997 == 0) SET_VALID(s);
    }
    SET_VALID(s);
    for (int i = 0; i < N; i++) {
        assert_true(has_int(s, 1000000 + i * 3));
        assert_false(has_int(s, 1000000 + i * 3 + 1));
    }
    /* iteration sees each item once */
    void *it = rc_iter(s), *x;
    char *seen = calloc(N, 1);
    size_t n = 0;
    while (rc_next(it, &x) == 1) {
        int64_t v = rc_int_value(x) - 1000000;
        assert_true(v % 3 == 0 && v / 3 < N);
        assert_false(seen[v / 3]);
        seen[v / 3] = 1;
        n++;
        rc_decref(x);
    }
    assert_int_equal(n, N);
    free(seen);
    rc_decref(it);
    /* discard all, then add back: every item found again */
    for (int i = 0; i < N; i++) {
        void *y = big(i * 3);
        assert_int_equal(rc_set_discard(s, y), 1);
        rc_decref(y);
    }
    assert_int_equal(rc_set_len(s), 0);
    SET_VALID(s);
    REPR_EQ(s, "set()");
    for (int i = 0; i < N; i += 2) {
        void *y = big(i * 3);
        assert_int_equal(rc_set_add(s, y), 1);
        rc_decref(y);
    }
    assert_int_equal(rc_set_len(s), N / 2);
    SET_VALID(s);
    for (int i = 0; i < N; i++) assert_int_equal(has_int(s, 1000000 + i * 3), i % 2 == 0);
    rc_decref(s);
}

static void test_dummies_reused_and_shrink(void **state) {
    (void)state;
    void *s = rc_set_new(), *k = big(0);
    /* five items: a table of 32 entries (8 hold four at most) */
    for (int i = 0; i < 5; i++) assert_int_equal(rc_set_add(s, rc_int_new(i)), 1);
    size_t before = heap_bytes();
    /* the same key added and discarded: its dummy is reused every time */
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(rc_set_add(s, k), 1);
        assert_int_equal(rc_set_discard(s, k), 1);
    }
    if (exact_heap()) assert_true(heap_bytes() <= before);
    /* new keys each time: dummies pile up until a rebuild drops them */
    for (int i = 0; i < 100000; i++) {
        void *x = big(i);
        assert_int_equal(rc_set_add(s, x), 1);
        assert_int_equal(rc_set_discard(s, x), 1);
        rc_decref(x);
    }
    if (exact_heap()) assert_true(heap_bytes() <= before);
    assert_int_equal(rc_set_len(s), 5);
    for (int i = 0; i < 5; i++) assert_true(has_int(s, i));
    /* a big set that loses most of its items shrinks at its next rebuilds */
    enum { N = 20000 };
    size_t small = heap_bytes();
    for (int i = 0; i < N; i++) {
        void *x = big(i);
        assert_int_equal(rc_set_add(s, x), 1);
        rc_decref(x);
    }
    size_t full = heap_bytes();
    if (exact_heap()) assert_true(full - small > (size_t)N * 16);
    for (int i = 0; i < N; i++) {
        void *x = big(i);
        assert_int_equal(rc_set_discard(s, x), 1);
        rc_decref(x);
    }
    for (int i = 0; i < 5 * N; i++) { /* other keys, one at a time, until a rebuild */
        void *x = big(-1 - i);
        assert_int_equal(rc_set_add(s, x), 1);
        assert_int_equal(rc_set_discard(s, x), 1);
        rc_decref(x);
    }
    if (exact_heap()) assert_true(heap_bytes() <= small);
    SET_VALID(s);
    assert_int_equal(rc_set_len(s), 5);
    /* clear gives the table back; the set is usable after */
    rc_set_clear(s);
    if (exact_heap()) assert_true(heap_bytes() < before);
    assert_int_equal(rc_set_add(s, k), 1);
    assert_int_equal(rc_refcount(k), 2);
    rc_decref(s);
    assert_int_equal(rc_refcount(k), 1);
    rc_decref(k);
}

/* A set of 1M ints takes no more bytes per item than CPython's
 * (sys.getsizeof of such a set: 33554648, 2^21 entries of 16 bytes). */
static void test_memory_per_item_1m(void **state) {
    (void)state;
    enum { N = 1000000 };
    void **keys = malloc(N * sizeof *keys);
    for (int i = 0; i < N; i++) keys[i] = big(i);
    size_t before = heap_bytes();
    void *s = rc_set_new();
    for (int i = 0; i < N; i++) assert_int_equal(rc_set_add(s, keys[i]), 1);
    if (exact_heap()) assert_true(heap_bytes() - before <= 33554648);
    for (int i = 0; i < N; i += 1000) assert_int_equal(rc_set_contains(s, keys[i]), 1);
    rc_decref(s);
    for (int i = 0; i < N; i++) rc_decref(keys[i]);
    free(keys);
}

/* A rebuild that cannot get memory fails the addition and leaves the set
 * as it was. 4914 items fill 2^13 entries to the brim; the next table, 2^15
 * entries (512 KiB), is mapped from the OS, where the heap's failure hook
 * reaches it. */
static void test_out_of_memory_leaves_set_unchanged(void **state) {
    (void)state;
    if (!exact_heap()) skip(); /* the failure hook is the default heap's */
    enum { FULL = 4914 };
    void *s = rc_set_new();
    for (int i = 0; i < FULL; i++) {
        void *x = big(i);
        assert_int_equal(rc_set_add(s, x), 1);
        rc_decref(x);
    }
    void *x = big(-5);
    rc_heap_trim(); /* no cached mapping may serve the request */
    _rc_os_fail_nth(1);
    clear_error();
    assert_int_equal(rc_set_add(s, x), -1);
    ERROR_HAS("rc_set_add: out of memory");
    _rc_os_fail_nth(0);
    assert_int_equal(rc_refcount(x), 1);
    assert_int_equal(rc_set_len(s), FULL);
    SET_VALID(s);
    assert_int_equal(rc_set_contains(s, x), 0);
    for (int i = 0; i < FULL; i++) assert_true(has_int(s, 1000000 + i));
    assert_int_equal(rc_set_add(s, x), 1);
    assert_int_equal(rc_set_len(s), FULL + 1);
    SET_VALID(s);
    rc_decref(s);
    rc_decref(x);
}
/* }==== */

/* {==== pop, clear ==== */

static void test_pop_and_clear(void **state) {
    (void)state;
    enum { N = 50 };
    void *s = rc_set_new(), *items[N];
    for (int i = 0; i < N; i++) {
        items[i] = big(i);
        assert_int_equal(rc_set_add(s, items[i]), 1);
    }
    char seen[N] = {0};
    for (int i = 0; i < N; i++) {
        void *x = rc_set_pop(s);
        assert_non_null(x);
        int64_t v = rc_int_value(x) - 1000000;
        assert_true(v >= 0 && v < N);
        assert_false(seen[v]);
        seen[v] = 1;
        assert_ptr_equal(x, items[v]); /* the stored object, its reference passed on */
        assert_int_equal(rc_refcount(x), 2);
        rc_decref(x);
        assert_int_equal(rc_set_len(s), (size_t)(N - i - 1));
        SET_VALID(s);
    }
    clear_error();
    assert_null(rc_set_pop(s));
    ERROR_HAS("pop from an empty set");
    for (int i = 0; i < N; i++) assert_int_equal(rc_set_add(s, items[i]), 1);
    rc_set_clear(s);
    assert_int_equal(rc_set_len(s), 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(rc_refcount(items[i]), 1);
        rc_decref(items[i]);
    }
    rc_set_clear(s);
    rc_decref(s);
}
/* }==== */

/* {==== colliding keys and user code in equal ==== */

static void test_colliding_keys(void **state) {
    (void)state;
    enum { N = 300 };
    void *s = rc_set_new(), *keys[N];
    for (int i = 0; i < N; i++) {
        keys[i] = new_coll(i);
        assert_int_equal(rc_set_add(s, keys[i]), 1);
    }
    assert_int_equal(rc_set_add(s, rc_int_new(7)), 1); /* same hash, another type */
    assert_int_equal(rc_set_len(s), N + 1);
    for (int i = 0; i < N; i++) {
        void *p = new_coll(i);
        assert_int_equal(rc_set_contains(s, p), 1);
        assert_int_equal(rc_set_add(s, p), 0);
        rc_decref(p);
    }
    for (int i = 0; i < N; i += 2) {
        void *p = new_coll(i);
        assert_int_equal(rc_set_discard(s, p), 1);
        assert_int_equal(rc_set_contains(s, p), 0);
        rc_decref(p);
    }
    assert_int_equal(rc_set_len(s), N / 2 + 1);
    SET_VALID(s);
    for (int i = 1; i < N; i += 2) assert_int_equal(rc_set_contains(s, keys[i]), 1);
    for (int i = 0; i < N; i += 2) assert_int_equal(rc_set_add(s, keys[i]), 1);
    assert_int_equal(rc_set_len(s), N + 1);
    rc_decref(s);
    for (int i = 0; i < N; i++) {
        assert_int_equal(rc_refcount(keys[i]), 1);
        rc_decref(keys[i]);
    }
}

static void test_equal_that_changes_the_set(void **state) {
    (void)state;
    void *s = rc_set_new(), *a = new_evil(1), *b = new_evil(1);
    evil_set = s;
    assert_int_equal(rc_set_add(s, a), 1);
    rc_decref(a); /* the set holds the only reference */
    evil_mode = 1;
    assert_int_equal(rc_set_contains(s, b), 0); /* cleared under the lookup */
    assert_int_equal(rc_set_len(s), 0);
    a = new_evil(1);
    assert_int_equal(rc_set_add(s, a), 1);
    evil_mode = 2; /* a rebuild under the lookup: restarted, found */
    assert_int_equal(rc_set_contains(s, b), 1);
    assert_int_equal(rc_set_len(s), 101);
    evil_mode = 2;
    assert_int_equal(rc_set_add(s, b), 0);
    assert_int_equal(rc_set_len(s), 201);
    assert_int_equal(rc_refcount(b), 1);
    evil_mode = 2;
    assert_int_equal(rc_set_discard(s, b), 1);
    assert_int_equal(rc_set_len(s), 300);
    SET_VALID(s);
    assert_int_equal(rc_refcount(a), 1);
    assert_int_equal(rc_set_add(s, a), 1);
    evil_mode = 3; /* changes the set on every call: the lookup gives up */
    clear_error();
    assert_int_equal(rc_set_contains(s, b), -1);
    ERROR_HAS("rc_set_contains: set changed during lookup too many times");
    evil_mode = 0;
    assert_int_equal(rc_set_contains(s, b), 1);
    evil_set = NULL;
    rc_decref(s);
    rc_decref(a);
    rc_decref(b);
}
/* }==== */

/* {==== algebra, from_iter, equality, repr ==== */

/* Equal keys of two types (1 and 1.0): the result keeps the ones Python's
 * set algebra keeps. a | b starts from a copy of a, then adds b's;
 * a & b walks the smaller set, b when the sizes are equal. */
static void test_algebra_keeps_pythons_keys(void **state) {
    (void)state;
    void *one = rc_int_new(1), *onef = rc_float_new(1.0), *two = rc_int_new(2), *five = rc_int_new(5000),
         *six = rc_int_new(6), *fivef = rc_float_new(5000.0);
    void *a = rc_set_new(), *b = rc_set_new();
    assert_int_equal(rc_set_add(a, one), 1);
    assert_int_equal(rc_set_add(b, onef), 1);
    assert_int_equal(rc_set_add(b, two), 1);
    void *r = rc_set_union(a, b); /* {1} | {1.0, 2} == {1, 2} */
    REPR_EQ(r, "{1, 2}");
    assert_true(_rc_set_is_valid(r));
    rc_decref(r);
    r = rc_set_union(b, a); /* {1.0, 2} | {1} == {1.0, 2} */
    REPR_EQ(r, "{1.0, 2}");
    rc_decref(r);
    r = rc_set_intersection(b, a); /* {1.0, 2} & {1} == {1}: the smaller */
    REPR_EQ(r, "{1}");
    rc_decref(r);
    r = rc_set_intersection(a, b); /* {1} & {1.0, 2} == {1} */
    REPR_EQ(r, "{1}");
    rc_decref(r);
    rc_set_discard(b, two);
    r = rc_set_intersection(a, b); /* {1} & {1.0} == {1.0}: equal sizes walk b */
    REPR_EQ(r, "{1.0}");
    rc_decref(r);
    r = rc_set_intersection(b, a); /* {1.0} & {1} == {1} */
    REPR_EQ(r, "{1}");
    rc_decref(r);
    /* {1.0, 5000} & {1, 6} == {1} and {5000.0, 2} | {5000} == {5000.0, 2} */
    rc_set_add(b, five);
    rc_set_add(a, six);
    r = rc_set_intersection(b, a);
    REPR_EQ(r, "{1}");
    rc_decref(r);
    rc_set_clear(a);
    rc_set_clear(b);
    rc_set_add(a, fivef);
    rc_set_add(a, two);
    rc_set_add(b, five);
    r = rc_set_union(a, b);
    assert_int_equal(rc_set_len(r), 2);
    assert_int_equal(rc_set_contains(r, fivef), 1);
    assert_int_equal(rc_refcount(fivef), 3);
    assert_int_equal(rc_refcount(five), 2); /* b's only */
    rc_decref(r);
    rc_decref(a);
    rc_decref(b);
    rc_decref(one);
    rc_decref(onef);
    rc_decref(two);
    rc_decref(five);
    rc_decref(six);
    rc_decref(fivef);
}

static void test_algebra(void **state) {
    (void)state;
    int64_t av[] = {1, 2, 3, 4, 1000}, bv[] = {3, 4, 5, 6, 1000};
    void *a = set_of(av, 5), *b = set_of(bv, 5), *e = rc_set_new();
    void *u = rc_set_union(a, b), *i = rc_set_intersection(a, b), *d = rc_set_difference(a, b),
         *d2 = rc_set_difference(b, a);
    assert_int_equal(rc_set_len(u), 7);
    for (int64_t v = 1; v <= 6; v++) assert_true(has_int(u, v));
    assert_true(has_int(u, 1000));
    assert_int_equal(rc_set_len(i), 3);
    assert_true(has_int(i, 3) && has_int(i, 4) && has_int(i, 1000));
    assert_int_equal(rc_set_len(d), 2);
    assert_true(has_int(d, 1) && has_int(d, 2));
    assert_int_equal(rc_set_len(d2), 2);
    assert_true(has_int(d2, 5) && has_int(d2, 6));
    REPR_EQ(d, "{1, 2}");
    /* the inputs are unchanged, results are new sets */
    assert_int_equal(rc_set_len(a), 5);
    assert_int_equal(rc_set_len(b), 5);
    assert_int_equal(rc_refcount(u), 1);
    assert_true(rc_gc_is_tracked(u));
    /* with the empty set and with itself */
    void *r;
    r = rc_set_union(a, e);
    assert_true(rc_equal(r, a));
    rc_decref(r);
    r = rc_set_union(e, e);
    assert_int_equal(rc_set_len(r), 0);
    rc_decref(r);
    r = rc_set_intersection(a, e);
    assert_int_equal(rc_set_len(r), 0);
    rc_decref(r);
    r = rc_set_intersection(a, a);
    assert_true(rc_equal(r, a));
    assert_ptr_not_equal(r, a);
    rc_decref(r);
    r = rc_set_difference(a, a);
    assert_int_equal(rc_set_len(r), 0);
    rc_decref(r);
    r = rc_set_difference(e, a);
    assert_int_equal(rc_set_len(r), 0);
    rc_decref(r);
    r = rc_set_difference(a, e);
    assert_true(rc_equal(r, a));
    rc_decref(r);
    /* results hold their own references to the items */
    void *x = big(5);
    void *sx = rc_set_new();
    assert_int_equal(rc_set_add(sx, x), 1);
    r = rc_set_union(sx, e);
    assert_int_equal(rc_refcount(x), 3);
    rc_decref(r);
    r = rc_set_intersection(sx, sx);
    assert_int_equal(rc_refcount(x), 3);
    rc_decref(r);
    assert_int_equal(rc_refcount(x), 2);
    rc_decref(sx);
    rc_decref(x);
    /* bigger sets */
    void *p = rc_set_new(), *q = rc_set_new();
    for (int k = 0; k < 3000; k++) {
        void *y = big(k);
        if (k % 2 == 0) assert_int_equal(rc_set_add(p, y), 1);
        if (k % 3 == 0) assert_int_equal(rc_set_add(q, y), 1);
        rc_decref(y);
    }
    void *pu = rc_set_union(p, q), *pi = rc_set_intersection(p, q), *pd = rc_set_difference(p, q);
    assert_int_equal(rc_set_len(pu), 2000);
    assert_int_equal(rc_set_len(pi), 500);
    assert_int_equal(rc_set_len(pd), 1000);
    SET_VALID(pu);
    SET_VALID(pi);
    SET_VALID(pd);
    for (int k = 0; k < 3000; k++) {
        assert_int_equal(has_int(pu, 1000000 + k), k % 2 == 0 || k % 3 == 0);
        assert_int_equal(has_int(pi, 1000000 + k), k % 6 == 0);
        assert_int_equal(has_int(pd, 1000000 + k), k % 2 == 0 && k % 3 != 0);
    }
    void *objs[] = {a, b, e, u, i, d, d2, p, q, pu, pi, pd};
    for (size_t k = 0; k < sizeof objs / sizeof *objs; k++) rc_decref(objs[k]);
}

static void test_from_iter(void **state) {
    (void)state;
    void *l = rc_list_new();
    for (int k = 0; k < 10; k++) assert_int_equal(rc_list_append(l, rc_int_new(k % 4)), 0);
    void *s = rc_set_from_iter(l);
    assert_non_null(s);
    assert_int_equal(rc_set_len(s), 4);
    REPR_EQ(s, "{0, 1, 2, 3}");
    /* from a set: a copy */
    void *c = rc_set_from_iter(s);
    assert_ptr_not_equal(c, s);
    assert_true(rc_equal(c, s));
    /* from a dict: its keys */
    void *d = rc_dict_new();
    assert_int_equal(rc_dict_set(d, rc_int_new(9), rc_none), 0);
    assert_int_equal(rc_dict_set(d, rc_int_new(8), rc_none), 0);
    void *sd = rc_set_from_iter(d);
    assert_int_equal(rc_set_len(sd), 2);
    assert_true(has_int(sd, 9) && has_int(sd, 8));
    /* from a str: its code points */
    void *str = rc_str_from_cstr("abca");
    void *ss = rc_set_from_iter(str);
    assert_int_equal(rc_set_len(ss), 3);
    /* from an empty list */
    void *el = rc_list_new();
    void *se = rc_set_from_iter(el);
    assert_int_equal(rc_set_len(se), 0);
    /* errors: not iterable, NULL, an unhashable item (nothing kept) */
    void *x = big(1);
    clear_error();
    assert_null(rc_set_from_iter(x));
    ERROR_HAS("not iterable");
    clear_error();
    assert_null(rc_set_from_iter(NULL));
    ERROR_HAS("rc_set_from_iter: iterable is NULL");
    void *bad = rc_list_new(), *inner = rc_list_new();
    assert_int_equal(rc_list_append(bad, x), 0);
    assert_int_equal(rc_list_append(bad, inner), 0);
    clear_error();
    assert_null(rc_set_from_iter(bad));
    ERROR_HAS("rc_set_from_iter: unhashable type: 'list'");
    assert_int_equal(rc_refcount(x), 2); /* the list's; the failed set let go of its own */
    void *objs[] = {l, s, c, d, sd, str, ss, el, se, x, bad, inner};
    for (size_t k = 0; k < sizeof objs / sizeof *objs; k++) rc_decref(objs[k]);
}

static void test_equal_and_repr(void **state) {
    (void)state;
    int64_t av[] = {1, 2, 3}, bv[] = {3, 2, 1}, cv[] = {1, 2, 4};
    void *a = set_of(av, 3), *b = set_of(bv, 3), *c = set_of(cv, 3), *e = rc_set_new(), *l = rc_list_new();
    assert_true(rc_equal(a, b));
    assert_false(rc_equal(a, c));
    assert_false(rc_equal(a, e));
    assert_true(rc_equal(e, e));
    void *e2 = rc_set_new();
    assert_true(rc_equal(e, e2));
    assert_false(rc_equal(e, l)); /* a set is not a list */
    void *f = rc_float_new(3.0);
    assert_int_equal(rc_set_discard(b, rc_int_new(3)), 1);
    assert_int_equal(rc_set_add(b, f), 1);
    assert_true(rc_equal(a, b)); /* 3.0 == 3 */
    REPR_EQ(a, "{1, 2, 3}");
    REPR_EQ(e, "set()");
    void *str = rc_str_from_cstr("x"), *s1 = rc_set_new();
    assert_int_equal(rc_set_add(s1, str), 1);
    REPR_EQ(s1, "{'x'}");
    /* a set reached from its own item's repr prints set(...) */
    box *bx = rc_new(&box_type);
    void *s2 = rc_set_new();
    assert_int_equal(rc_set_add(s2, bx), 1);
    bx->ref = rc_incref(s2);
    REPR_EQ(s2, "{Box(set(...))}");
    rc_set_clear(s2);
    rc_decref(bx);
    rc_decref(s2);
    void *objs[] = {a, b, c, e, e2, l, f, str, s1};
    for (size_t k = 0; k < sizeof objs / sizeof *objs; k++) rc_decref(objs[k]);
}

static void test_iteration_and_mutation(void **state) {
    (void)state;
    int64_t v[] = {1, 2, 3, 4};
    void *s = set_of(v, 4), *it = rc_iter(s), *x;
    assert_int_equal(rc_refcount(s), 2);
    int sum = 0;
    while (rc_next(it, &x) == 1) {
        sum += (int)rc_int_value(x);
        rc_decref(x);
    }
    assert_int_equal(sum, 10);
    assert_int_equal(rc_next(it, &x), 0);
    assert_int_equal(rc_refcount(s), 1); /* exhausted: let go */
    rc_decref(it);
    /* an addition during iteration */
    it = rc_iter(s);
    assert_int_equal(rc_next(it, &x), 1);
    rc_decref(x);
    assert_int_equal(rc_set_add(s, rc_int_new(5)), 1);
    clear_error();
    assert_int_equal(rc_next(it, &x), -1);
    assert_null(x);
    ERROR_HAS("Set changed size during iteration");
    assert_int_equal(rc_next(it, &x), 0);
    rc_decref(it);
    /* a discard */
    it = rc_iter(s);
    assert_int_equal(rc_set_discard(s, rc_int_new(5)), 1);
    clear_error();
    assert_int_equal(rc_next(it, &x), -1);
    ERROR_HAS("Set changed size during iteration");
    rc_decref(it);
    /* a discard and an addition: same size, still caught */
    it = rc_iter(s);
    assert_int_equal(rc_set_discard(s, rc_int_new(1)), 1);
    assert_int_equal(rc_set_add(s, rc_int_new(9)), 1);
    clear_error();
    assert_int_equal(rc_next(it, &x), -1);
    ERROR_HAS("Set changed during iteration");
    rc_decref(it);
    /* an addition of an item already there is no change */
    it = rc_iter(s);
    assert_int_equal(rc_set_add(s, rc_int_new(9)), 0);
    int n = 0;
    while (rc_next(it, &x) == 1) {
        n++;
        rc_decref(x);
    }
    assert_int_equal(n, 4);
    rc_decref(it);
    rc_decref(s);
}
/* }==== */

/* {==== cycles ==== */

static void test_cycles_collected(void **state) {
    (void)state;
    /* set -> box -> set */
    void *s = rc_set_new();
    box *bx = rc_new(&box_type);
    bx->ref = rc_incref(s);
    assert_int_equal(rc_set_add(s, bx), 1);
    rc_decref(bx);
    rc_decref(s);
    assert_int_equal(rc_gc_collect(-1), 2);
    /* set -> iterator of itself inside a box -> set */
    s = rc_set_new();
    bx = rc_new(&box_type);
    bx->ref = rc_iter(s);
    assert_int_equal(rc_set_add(s, bx), 1);
    assert_int_equal(rc_set_add(s, rc_int_new(3)), 1);
    rc_decref(bx);
    rc_decref(s);
    assert_int_equal(rc_gc_collect(-1), 3);
    /* set -> box -> dict -> set */
    s = rc_set_new();
    void *d = rc_dict_new();
    bx = rc_new(&box_type);
    bx->ref = rc_incref(d);
    assert_int_equal(rc_dict_set(d, rc_int_new(1), s), 0);
    assert_int_equal(rc_set_add(s, bx), 1);
    rc_decref(bx);
    rc_decref(d);
    rc_decref(s);
    assert_int_equal(rc_gc_collect(-1), 3);
}
/* }==== */

int main(void) {
    const struct CMUnitTest tests[] = {
        TYPES_TEST(test_empty_set),
        TYPES_TEST(test_add_discard_contains_refcounts),
        TYPES_TEST(test_wrong_arguments),
        TYPES_TEST(test_numbers_are_one_item),
        TYPES_TEST(test_growth_across_many_resizes),
        TYPES_TEST(test_dummies_reused_and_shrink),
        TYPES_TEST(test_memory_per_item_1m),
        TYPES_TEST(test_out_of_memory_leaves_set_unchanged),
        TYPES_TEST(test_pop_and_clear),
        TYPES_TEST(test_colliding_keys),
        TYPES_TEST(test_equal_that_changes_the_set),
        TYPES_TEST(test_algebra),
        TYPES_TEST(test_algebra_keeps_pythons_keys),
        TYPES_TEST(test_from_iter),
        TYPES_TEST(test_equal_and_repr),
        TYPES_TEST(test_iteration_and_mutation),
        TYPES_TEST(test_cycles_collected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
