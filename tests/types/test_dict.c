/*
 * test_dict.c — dicts (reclaim.h section 6.6) and what they answer to the
 * generic operations (rc_repr, rc_hash, rc_equal, rc_len, rc_contains,
 * rc_iter): every operation with its edge cases and errors, reference
 * counts after each one, insertion order across deletions and rebuilds,
 * growth to 1M keys and memory per item against CPython's, shrinking,
 * colliding keys and keys whose equal changes the dict, mutation during
 * iteration, tracking and untracking by the collector, and cycles.
 */
#include "types_util.h"

#include "internal/types.h"

/* An int outside the immortal small ints, so its count can be read. */
static void *big(int64_t v) { return rc_int_new(1000000 + v); }

/* The dict's invariants hold (dict.c's validator). */
#define DICT_VALID(d)                                                          \
    do {                                                                       \
        if (!_rc_dict_is_valid(d)) fail_msg("invalid dict: %s", rc_last_error()); \
    } while (0)

/* Heap byte counts are exact only with the default allocator (the debug
 * one adds guards around every block): memory checks run only then. */
static bool exact_heap(void) { return _rc_option(RC_OPT_MALLOC) == RC_MALLOC_DEFAULT; }

static size_t heap_bytes(void) {
    rc_heap_stats st;
    rc_heap_get_stats(&st);
    return st.bytes_in_use;
}

/* The dict's keys as ints, in iteration order (rc_dict_next). */
static size_t keys_of(const void *d, int64_t *out, size_t max) {
    size_t pos = 0, n = 0;
    void *k;
    while (rc_dict_next(d, &pos, &k, NULL)) {
        assert_true(n < max);
        out[n++] = rc_int_value(k);
    }
    return n;
}

/* {==== a key type whose hashes all collide, and one that changes dicts ==== */

typedef struct coll {
    int64_t id;
} coll;

static int coll_equal_calls;
static uint64_t coll_hash(const void *self) {
    (void)self;
    return 42;
}
static bool coll_equal(const void *a, const void *b) {
    coll_equal_calls++;
    return ((const coll *)a)->id == ((const coll *)b)->id;
}
static const rc_type coll_type = {.name = "Coll", .size = sizeof(coll), .hash = coll_hash, .equal = coll_equal};

static void *new_coll(int64_t id) {
    coll *c = rc_new(&coll_type);
    c->id = id;
    return c;
}

/* Evil: equal does something to evil_dict first, by evil_mode. */
static void *evil_dict;
static int evil_mode;   /* 0 nothing, 1 clear once, 2 grow once (a rebuild), 3 insert every time */
static int64_t evil_next = 500000;
static bool evil_equal(const void *a, const void *b) {
    if (evil_mode == 1) {
        evil_mode = 0;
        rc_dict_clear(evil_dict);
    } else if (evil_mode == 2) {
        evil_mode = 0;
        for (int i = 0; i < 100; i++) {
            void *k = big(evil_next++);
            assert_int_equal(rc_dict_set(evil_dict, k, rc_none), 0);
            rc_decref(k);
        }
    } else if (evil_mode == 3) {
        void *k = big(evil_next++);
        rc_dict_set(evil_dict, k, rc_none);
        rc_decref(k);
    }
    return ((const coll *)a)->id == ((const coll *)b)->id;
}
static const rc_type evil_type = {.name = "Evil", .size = sizeof(coll), .hash = coll_hash, .equal = evil_equal};

static void *new_evil(int64_t id) {
    coll *c = rc_new(&evil_type);
    c->id = id;
    return c;
}

/* A tracked user object (it has traverse): refs one object. */
typedef struct box {
    void *ref;
} box;
static int box_traverse(void *self, rc_visit_fn visit, void *arg) {
    box *b = self;
    return b->ref ? visit(b->ref, arg) : 0;
}
static void box_clear(void *self) { RC_CLEAR(((box *)self)->ref); }
static const rc_type box_type = {
    .name = "Box", .size = sizeof(box), .traverse = box_traverse, .clear = box_clear, .destroy = box_clear};
/* }==== */

/* {==== empty and one key ==== */

static void test_empty_dict(void **state) {
    (void)state;
    void *d = rc_dict_new();
    assert_non_null(d);
    assert_ptr_equal(rc_type_of(d), &rc_dict_type);
    assert_int_equal(rc_refcount(d), 1);
    assert_int_equal(rc_dict_len(d), 0);
    assert_int_equal(rc_len(d), 0);
    DICT_VALID(d);
    assert_true(rc_sizeof(d) <= 64); /* CPython's empty dict: 64 bytes */
    assert_false(rc_gc_is_tracked(d));
    REPR_EQ(d, "{}");
    void *k = big(1);
    clear_error();
    assert_null(rc_dict_get(d, k));
    assert_string_equal(rc_last_error(), ""); /* absent is no error */
    void *v = k;
    assert_int_equal(rc_dict_lookup(d, k, &v), 0);
    assert_null(v);
    assert_int_equal(rc_dict_contains(d, k), 0);
    assert_int_equal(rc_contains(d, k), 0);
    assert_null(rc_dict_pop(d, k));
    ERROR_HAS("rc_dict_pop: key not found");
    clear_error();
    assert_int_equal(rc_dict_del(d, k), -1);
    ERROR_HAS("rc_dict_del: key not found");
    rc_dict_clear(d);
    size_t pos = 0;
    assert_false(rc_dict_next(d, &pos, NULL, NULL));
    void *it = rc_dict_keys(d), *out = k;
    assert_int_equal(rc_next(it, &out), 0);
    assert_null(out);
    rc_decref(it);
    assert_int_equal(rc_refcount(k), 1);
    rc_decref(k);
    rc_decref(d);
}

static void test_one_key_and_refcounts(void **state) {
    (void)state;
    void *d = rc_dict_new(), *k = big(1), *v = big(2), *w = big(3);
    assert_int_equal(rc_dict_set(d, k, v), 0);
    assert_int_equal(rc_dict_len(d), 1);
    assert_int_equal(rc_refcount(k), 2);
    assert_int_equal(rc_refcount(v), 2);
    assert_ptr_equal(rc_dict_get(d, k), v); /* borrowed */
    assert_int_equal(rc_refcount(v), 2);
    void *got = NULL;
    assert_int_equal(rc_dict_lookup(d, k, &got), 1);
    assert_ptr_equal(got, v);
    assert_int_equal(rc_dict_lookup(d, k, NULL), 1);
    assert_int_equal(rc_dict_contains(d, k), 1);
    assert_false(rc_gc_is_tracked(d));

    /* an equal key object finds it; replacing keeps the original key */
    void *k2 = big(1);
    assert_ptr_equal(rc_dict_get(d, k2), v);
    assert_int_equal(rc_dict_set(d, k2, w), 0);
    assert_int_equal(rc_dict_len(d), 1);
    assert_int_equal(rc_refcount(k2), 1); /* not stored */
    assert_int_equal(rc_refcount(k), 2);
    assert_int_equal(rc_refcount(v), 1); /* the old value was released */
    assert_int_equal(rc_refcount(w), 2);
    size_t pos = 0;
    void *kk, *vv;
    assert_true(rc_dict_next(d, &pos, &kk, &vv));
    assert_ptr_equal(kk, k);
    assert_ptr_equal(vv, w);
    assert_false(rc_dict_next(d, &pos, &kk, &vv));
    REPR_EQ(d, "{1000001: 1000003}");

    /* setting the same value again changes nothing */
    assert_int_equal(rc_dict_set(d, k, w), 0);
    assert_int_equal(rc_refcount(w), 2);

    /* pop gives the dict's reference to the value to the caller */
    void *p = rc_dict_pop(d, k2);
    assert_ptr_equal(p, w);
    assert_int_equal(rc_refcount(w), 2);
    assert_int_equal(rc_refcount(k), 1);
    assert_int_equal(rc_dict_len(d), 0);
    rc_decref(p);
    assert_int_equal(rc_refcount(w), 1);

    /* del releases both */
    assert_int_equal(rc_dict_set(d, k, v), 0);
    assert_int_equal(rc_dict_del(d, k2), 0);
    assert_int_equal(rc_refcount(k), 1);
    assert_int_equal(rc_refcount(v), 1);
    assert_int_equal(rc_dict_len(d), 0);
    REPR_EQ(d, "{}");
    rc_decref(d);
    rc_decref(k);
    rc_decref(k2);
    rc_decref(v);
    rc_decref(w);
}

static void test_wrong_arguments(void **state) {
    (void)state;
    void *d = rc_dict_new(), *k = big(1), *i = big(2);
    assert_int_equal(rc_dict_set(d, k, k), 0);
    clear_error();
    assert_int_equal(rc_dict_set(NULL, k, k), -1);
    ERROR_HAS("rc_dict_set: expected a dict, got NULL");
    clear_error();
    assert_int_equal(rc_dict_set(i, k, k), -1);
    ERROR_HAS("rc_dict_set: expected a dict, got int");
    clear_error();
    assert_int_equal(rc_dict_set(d, NULL, k), -1);
    ERROR_HAS("rc_dict_set: key is NULL");
    clear_error();
    assert_int_equal(rc_dict_set(d, i, NULL), -1);
    ERROR_HAS("rc_dict_set: value is NULL");
    assert_int_equal(rc_dict_contains(d, i), 0); /* nothing was stored */
    clear_error();
    assert_int_equal(rc_dict_len(i), 0);
    ERROR_HAS("rc_dict_len: expected a dict, got int");
    clear_error();
    assert_null(rc_dict_get(i, k));
    ERROR_HAS("rc_dict_get: expected a dict, got int");
    clear_error();
    assert_null(rc_dict_get(d, NULL));
    ERROR_HAS("rc_dict_get: key is NULL");
    clear_error();
    assert_int_equal(rc_dict_lookup(NULL, k, NULL), -1);
    ERROR_HAS("rc_dict_lookup: expected a dict, got NULL");
    clear_error();
    assert_int_equal(rc_dict_contains(i, k), -1);
    ERROR_HAS("rc_dict_contains: expected a dict");
    clear_error();
    assert_null(rc_dict_pop(i, k));
    ERROR_HAS("rc_dict_pop: expected a dict, got int");
    clear_error();
    assert_int_equal(rc_dict_del(d, NULL), -1);
    ERROR_HAS("rc_dict_del: key is NULL");
    clear_error();
    rc_dict_clear(i);
    ERROR_HAS("rc_dict_clear: expected a dict, got int");
    clear_error();
    assert_int_equal(rc_dict_update(d, i), -1);
    ERROR_HAS("rc_dict_update: expected a dict, got int");
    clear_error();
    assert_int_equal(rc_dict_update(NULL, d), -1);
    ERROR_HAS("rc_dict_update: expected a dict, got NULL");
    clear_error();
    assert_null(rc_dict_keys(i));
    ERROR_HAS("rc_dict_keys: expected a dict, got int");
    clear_error();
    assert_null(rc_dict_values(NULL));
    ERROR_HAS("rc_dict_values: expected a dict, got NULL");
    clear_error();
    assert_null(rc_dict_items(k));
    ERROR_HAS("rc_dict_items: expected a dict, got int");
    size_t pos = 0;
    clear_error();
    assert_false(rc_dict_next(i, &pos, NULL, NULL));
    ERROR_HAS("rc_dict_next: expected a dict, got int");
    clear_error();
    assert_false(rc_dict_next(d, NULL, NULL, NULL));
    ERROR_HAS("rc_dict_next: pos is NULL");
    pos = 5; /* not a position rc_dict_next gave */
    clear_error();
    assert_false(rc_dict_next(d, &pos, NULL, NULL));
    ERROR_HAS("rc_dict_next: bad position");
    assert_int_equal(rc_dict_len(d), 1);
    assert_int_equal(rc_refcount(k), 3);
    rc_decref(d);
    rc_decref(k);
    rc_decref(i);
}

static void test_unhashable_keys(void **state) {
    (void)state;
    void *d = rc_dict_new(), *l = rc_list_new(), *e = rc_dict_new(), *s = rc_set_new(), *v = big(1);
    clear_error();
    assert_int_equal(rc_dict_set(d, l, v), -1);
    ERROR_HAS("rc_dict_set: unhashable type: 'list'");
    clear_error();
    assert_int_equal(rc_dict_set(d, e, v), -1);
    ERROR_HAS("rc_dict_set: unhashable type: 'dict'");
    clear_error();
    assert_int_equal(rc_dict_set(d, s, v), -1);
    ERROR_HAS("rc_dict_set: unhashable type: 'set'");
    clear_error();
    assert_null(rc_dict_get(d, l));
    ERROR_HAS("rc_dict_get: unhashable type: 'list'");
    clear_error();
    assert_int_equal(rc_dict_lookup(d, l, NULL), -1); /* tells an error from absence */
    ERROR_HAS("rc_dict_lookup: unhashable type: 'list'");
    clear_error();
    assert_int_equal(rc_dict_contains(d, l), -1);
    ERROR_HAS("rc_dict_contains: unhashable type: 'list'");
    clear_error();
    assert_int_equal(rc_contains(d, l), -1);
    ERROR_HAS("unhashable type: 'list'");
    clear_error();
    assert_null(rc_dict_pop(d, l));
    ERROR_HAS("rc_dict_pop: unhashable type: 'list'");
    clear_error();
    assert_int_equal(rc_dict_del(d, l), -1);
    ERROR_HAS("rc_dict_del: unhashable type: 'list'");
    /* a tuple holding a list is unhashable too */
    void *t = rc_tuple_pack(2, v, l);
    clear_error();
    assert_int_equal(rc_dict_set(d, t, v), -1);
    ERROR_HAS("rc_dict_set: unhashable type: 'list'");
    /* nothing changed, nothing kept */
    assert_int_equal(rc_dict_len(d), 0);
    assert_int_equal(rc_refcount(v), 2); /* the tuple's */
    assert_int_equal(rc_refcount(l), 2);
    rc_decref(t);
    assert_int_equal(rc_refcount(l), 1);
    /* a dict is itself unhashable */
    clear_error();
    assert_int_equal(rc_hash(d), -1);
    ERROR_HAS("rc_hash: unhashable type: 'dict'");
    rc_decref(d);
    rc_decref(l);
    rc_decref(e);
    rc_decref(s);
    rc_decref(v);
}

static void test_numbers_as_keys(void **state) {
    (void)state;
    void *d = rc_dict_new(), *one = rc_int_new(1), *onef = rc_float_new(1.0), *a = big(10), *b = big(20);
    assert_int_equal(rc_dict_set(d, one, a), 0);
    assert_int_equal(rc_dict_set(d, onef, b), 0); /* 1.0 == 1: the same key */
    assert_int_equal(rc_dict_len(d), 1);
    assert_ptr_equal(rc_dict_get(d, rc_true), b); /* True == 1 as well */
    assert_int_equal(rc_refcount(a), 1);
    REPR_EQ(d, "{1: 1000020}"); /* the first key object stays */
    assert_int_equal(rc_dict_set(d, rc_true, a), 0);
    assert_int_equal(rc_dict_len(d), 1);
    REPR_EQ(d, "{1: 1000010}");
    /* hash(-1) == hash(-2) in Python: distinct keys all the same */
    void *m1 = rc_int_new(-1), *m2 = rc_int_new(-2);
    assert_int_equal(rc_hash(m1), rc_hash(m2));
    assert_int_equal(rc_dict_set(d, m1, a), 0);
    assert_int_equal(rc_dict_set(d, m2, b), 0);
    assert_int_equal(rc_dict_len(d), 3);
    assert_ptr_equal(rc_dict_get(d, m1), a);
    assert_ptr_equal(rc_dict_get(d, m2), b);
    /* 2.5, 'a', b'a', None, 0 and False: keys of their own except 0 == False */
    void *f = rc_float_new(2.5), *s = rc_str_from_cstr("a"), *by = rc_bytes_new("a", 1);
    assert_int_equal(rc_dict_set(d, f, a), 0);
    assert_int_equal(rc_dict_set(d, s, a), 0);
    assert_int_equal(rc_dict_set(d, by, a), 0);
    assert_int_equal(rc_dict_set(d, rc_none, a), 0);
    assert_int_equal(rc_dict_set(d, rc_int_new(0), a), 0);
    assert_int_equal(rc_dict_set(d, rc_false, b), 0);
    assert_int_equal(rc_dict_len(d), 8);
    void *s2 = rc_str_from_cstr("a"), *f2 = rc_float_new(2.5);
    assert_ptr_equal(rc_dict_get(d, s2), a);
    assert_ptr_equal(rc_dict_get(d, f2), a);
    assert_ptr_equal(rc_dict_get(d, rc_int_new(0)), b);
    REPR_EQ(d, "{1: 1000010, -1: 1000010, -2: 1000020, 2.5: 1000010, 'a': 1000010, b'a': 1000010, None: 1000010, "
               "0: 1000020}");
    rc_decref(d);
    assert_int_equal(rc_refcount(a), 1);
    assert_int_equal(rc_refcount(b), 1);
    void *objs[] = {onef, a, b, m1, m2, f, s, by, s2, f2};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) rc_decref(objs[i]);
}

static void test_str_keys(void **state) {
    (void)state;
    void *d = rc_dict_new();
    char buf[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(buf, sizeof buf, "key%d", i);
        void *k = rc_str_from_cstr(buf), *v = rc_int_new(i);
        assert_int_equal(rc_dict_set(d, k, v), 0);
        rc_decref(k);
        rc_decref(v);
    }
    assert_int_equal(rc_dict_len(d), 1000);
    for (int i = 0; i < 1000; i++) {
        snprintf(buf, sizeof buf, "key%d", i);
        void *k = rc_str_from_cstr(buf);
        assert_int_equal(rc_int_value(rc_dict_get(d, k)), i);
        rc_decref(k);
    }
    void *k = rc_str_from_cstr("key1000");
    assert_null(rc_dict_get(d, k));
    rc_decref(k);
    rc_decref(d);
}
/* }==== */

/* {==== growth, deletion, order, shrink ==== */

static void test_growth_across_many_resizes(void **state) {
    (void)state;
    enum { N = 100000 };
    void *d = rc_dict_new();
    void **keys = malloc(N * sizeof *keys);
    for (int i = 0; i < N; i++) {
        keys[i] = big(i * 7);
        void *v = rc_int_new(i);
        assert_int_equal(rc_dict_set(d, keys[i], v), 0);
        rc_decref(v);
        assert_int_equal(rc_dict_len(d), (size_t)i + 1);
        if (i % 997 == 0) DICT_VALID(d);
    }
    DICT_VALID(d);
    for (int i = 0; i < N; i++) {
        assert_int_equal(rc_refcount(keys[i]), 2);
        void *k = big(i * 7);
        assert_int_equal(rc_int_value(rc_dict_get(d, k)), i);
        rc_decref(k);
        k = big(i * 7 + 1);
        assert_int_equal(rc_dict_contains(d, k), 0);
        rc_decref(k);
    }
    /* insertion order survives every rebuild */
    size_t pos = 0, n = 0;
    void *k, *v;
    while (rc_dict_next(d, &pos, &k, &v)) {
        assert_ptr_equal(k, keys[n]);
        assert_int_equal(rc_int_value(v), (int64_t)n);
        n++;
    }
    assert_int_equal(n, N);
    rc_decref(d);
    for (int i = 0; i < N; i++) {
        assert_int_equal(rc_refcount(keys[i]), 1);
        rc_decref(keys[i]);
    }
    free(keys);
}

static void test_order_across_deletes_and_resizes(void **state) {
    (void)state;
    enum { N = 1000 };
    void *d = rc_dict_new();
    for (int i = 0; i < N; i++) assert_int_equal(rc_dict_set(d, rc_int_new(i % 200), rc_none), 0); /* small ints */
    assert_int_equal(rc_dict_len(d), 200);
    /* delete the multiples of 3, then add 1000..1999 (rebuilds on the way) */
    for (int i = 0; i < 200; i += 3) {
        void *k = rc_int_new(i);
        assert_int_equal(rc_dict_del(d, k), 0);
    }
    for (int i = 1000; i < 2000; i++) {
        void *k = big(i);
        assert_int_equal(rc_dict_set(d, k, rc_none), 0);
        rc_decref(k);
    }
    DICT_VALID(d);
    int64_t expect[2000], got[2000];
    size_t n = 0;
    for (int i = 0; i < 200; i++)
        if (i % 3) expect[n++] = i;
    for (int i = 1000; i < 2000; i++) expect[n++] = 1000000 + i;
    assert_int_equal(keys_of(d, got, 2000), n);
    assert_memory_equal(got, expect, n * sizeof *got);
    /* a deleted key inserted again goes to the end */
    assert_int_equal(rc_dict_set(d, rc_int_new(3), rc_none), 0);
    expect[n++] = 3;
    /* an existing key set again keeps its place */
    assert_int_equal(rc_dict_set(d, rc_int_new(1), rc_true), 0);
    assert_int_equal(keys_of(d, got, 2000), n);
    assert_memory_equal(got, expect, n * sizeof *got);
    assert_int_equal(rc_dict_len(d), n);
    rc_decref(d);
}

static void test_delete_then_reinsert_reuses_room(void **state) {
    (void)state;
    void *d = rc_dict_new(), *v = big(0);
    for (int i = 0; i < 4; i++) assert_int_equal(rc_dict_set(d, rc_int_new(i), v), 0);
    size_t before = heap_bytes();
    /* add and delete a key over and over: holes and dummies are reclaimed
     * by rebuilds, so the dict stays at its size */
    for (int i = 0; i < 100000; i++) {
        void *k = big(i);
        assert_int_equal(rc_dict_set(d, k, v), 0);
        assert_int_equal(rc_dict_len(d), 5);
        assert_int_equal(rc_dict_del(d, k), 0);
        rc_decref(k);
        if (i % 101 == 0) DICT_VALID(d);
    }
    assert_int_equal(rc_dict_len(d), 4);
    if (exact_heap()) assert_true(heap_bytes() <= before + 256);
    /* the same key each time */
    void *k = big(1);
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(rc_dict_set(d, k, v), 0);
        assert_int_equal(rc_dict_del(d, k), 0);
    }
    if (exact_heap()) assert_true(heap_bytes() <= before + 256);
    assert_int_equal(rc_refcount(k), 1);
    assert_int_equal(rc_refcount(v), 5);
    for (int i = 0; i < 4; i++) assert_ptr_equal(rc_dict_get(d, rc_int_new(i)), v);
    rc_decref(k);
    rc_decref(d);
    assert_int_equal(rc_refcount(v), 1);
    rc_decref(v);
}

static void test_shrink_after_deletions(void **state) {
    (void)state;
    enum { N = 20000 };
    void *d = rc_dict_new();
    size_t empty = heap_bytes();
    for (int i = 0; i < N; i++) {
        void *k = big(i);
        assert_int_equal(rc_dict_set(d, k, rc_none), 0);
        rc_decref(k);
    }
    size_t full = heap_bytes();
    if (exact_heap()) assert_true(full - empty > (size_t)N * 32);
    for (int i = 10; i < N; i++) {
        void *kk = big(i);
        assert_int_equal(rc_dict_del(d, kk), 0);
        rc_decref(kk);
    }
    assert_int_equal(rc_dict_len(d), 10);
    DICT_VALID(d);
    /* the next insertion rebuilds the table to fit what is left */
    void *n = big(-1);
    assert_int_equal(rc_dict_set(d, n, rc_none), 0);
    rc_decref(n);
    if (exact_heap()) assert_true(heap_bytes() - empty < 2048);
    DICT_VALID(d);
    int64_t got[16];
    assert_int_equal(keys_of(d, got, 16), 11);
    for (int i = 0; i < 10; i++) assert_int_equal(got[i], 1000000 + i);
    assert_int_equal(got[10], 999999);
    /* clear gives the table back */
    rc_dict_clear(d);
    assert_int_equal(rc_dict_len(d), 0);
    if (exact_heap()) assert_true(heap_bytes() - empty < 64);
    assert_int_equal(rc_dict_set(d, rc_int_new(5), rc_none), 0); /* usable after clear */
    assert_int_equal(rc_dict_len(d), 1);
    rc_decref(d);
}

/* A dict of 1M int -> int takes no more bytes per item than CPython's
 * (sys.getsizeof of such a dict: 41943136 bytes, 4 * 2^21 index bytes and
 * 24 * 1398101 entry bytes). */
static void test_memory_per_item_1m(void **state) {
    (void)state;
    enum { N = 1000000 };
    void **keys = malloc(N * sizeof *keys);
    for (int i = 0; i < N; i++) keys[i] = big(i);
    size_t before = heap_bytes();
    void *d = rc_dict_new();
    for (int i = 0; i < N; i++) assert_int_equal(rc_dict_set(d, keys[i], keys[i]), 0);
    size_t used = heap_bytes() - before;
    if (exact_heap()) assert_true(used <= 41943136);
    for (int i = 0; i < N; i += 1000) assert_ptr_equal(rc_dict_get(d, keys[i]), keys[i]);
    rc_decref(d);
    for (int i = 0; i < N; i++) rc_decref(keys[i]);
    free(keys);
}

/* A rebuild that cannot get memory fails the store and leaves the dict as
 * it was. The table of 2^14 slots (288 KiB) is mapped from the OS, so the
 * heap's OS-failure hook reaches it. */
static void test_out_of_memory_leaves_dict_unchanged(void **state) {
    (void)state;
    if (!exact_heap()) skip(); /* the failure hook is the default heap's */
    enum { FULL = 5461 }; /* usable entries of 2^13 slots */
    void *d = rc_dict_new();
    for (int i = 0; i < FULL; i++) {
        void *k = big(i);
        assert_int_equal(rc_dict_set(d, k, k), 0);
        rc_decref(k);
    }
    void *k = big(-5), *v = big(-6), *o = rc_dict_new();
    assert_int_equal(rc_dict_set(o, k, v), 0);
    rc_heap_trim(); /* no cached mapping may serve the request */
    _rc_os_fail_nth(1);
    clear_error();
    assert_int_equal(rc_dict_set(d, v, k), -1);
    ERROR_HAS("rc_dict_set: out of memory");
    _rc_os_fail_nth(1);
    clear_error();
    assert_int_equal(rc_dict_update(d, o), -1);
    ERROR_HAS("rc_dict_update: out of memory");
    _rc_os_fail_nth(0);
    assert_int_equal(rc_dict_len(d), FULL);
    DICT_VALID(d);
    assert_int_equal(rc_dict_contains(d, v), 0);
    assert_int_equal(rc_dict_contains(d, k), 0);
    assert_int_equal(rc_refcount(k), 2); /* ours and o's */
    assert_int_equal(rc_refcount(v), 2);
    int64_t *got = malloc(FULL * sizeof *got);
    assert_int_equal(keys_of(d, got, FULL), FULL);
    for (int i = 0; i < FULL; i++) assert_int_equal(got[i], 1000000 + i);
    free(got);
    /* with memory, both work */
    assert_int_equal(rc_dict_set(d, v, k), 0);
    assert_int_equal(rc_dict_update(d, o), 0);
    assert_int_equal(rc_dict_len(d), FULL + 2);
    DICT_VALID(d);
    rc_decref(o);
    rc_decref(d);
    rc_decref(k);
    rc_decref(v);
}
/* }==== */

/* {==== update, clear, pop ==== */

static void test_update(void **state) {
    (void)state;
    void *a = rc_dict_new(), *b = rc_dict_new(), *v1 = big(1), *v2 = big(2);
    for (int i = 0; i < 5; i++) assert_int_equal(rc_dict_set(a, rc_int_new(i), v1), 0);
    for (int i = 8; i >= 3; i--) assert_int_equal(rc_dict_set(b, rc_int_new(i), v2), 0);
    assert_int_equal(rc_dict_update(a, b), 0);
    assert_int_equal(rc_dict_len(a), 9);
    assert_int_equal(rc_dict_len(b), 6);
    int64_t got[16], expect[] = {0, 1, 2, 3, 4, 8, 7, 6, 5};
    assert_int_equal(keys_of(a, got, 16), 9);
    assert_memory_equal(got, expect, sizeof expect);
    REPR_EQ(a, "{0: 1000001, 1: 1000001, 2: 1000001, 3: 1000002, 4: 1000002, 8: 1000002, 7: 1000002, "
               "6: 1000002, 5: 1000002}");
    assert_int_equal(rc_refcount(v1), 4);
    assert_int_equal(rc_refcount(v2), 13);
    /* with itself, with an empty dict, into an empty dict */
    assert_int_equal(rc_dict_update(a, a), 0);
    assert_int_equal(rc_dict_len(a), 9);
    void *e = rc_dict_new();
    assert_int_equal(rc_dict_update(a, e), 0);
    assert_int_equal(rc_dict_len(a), 9);
    assert_int_equal(rc_dict_update(e, a), 0);
    assert_true(rc_equal(e, a));
    assert_int_equal(keys_of(e, got, 16), 9);
    assert_memory_equal(got, expect, sizeof expect);
    assert_int_equal(rc_refcount(v2), 19);
    /* a big update (rebuilds once, up front) */
    void *big_d = rc_dict_new();
    for (int i = 0; i < 5000; i++) {
        void *k = big(i);
        assert_int_equal(rc_dict_set(big_d, k, k), 0);
        rc_decref(k);
    }
    assert_int_equal(rc_dict_update(e, big_d), 0);
    assert_int_equal(rc_dict_len(e), 5009);
    DICT_VALID(e);
    DICT_VALID(a);
    void *k = big(4999);
    assert_int_equal(rc_int_value(rc_dict_get(e, k)), 1004999);
    rc_decref(k);
    rc_decref(big_d);
    rc_decref(e);
    rc_decref(a);
    rc_decref(b);
    assert_int_equal(rc_refcount(v1), 1);
    assert_int_equal(rc_refcount(v2), 1);
    rc_decref(v1);
    rc_decref(v2);
}

static void test_clear_and_pop(void **state) {
    (void)state;
    void *d = rc_dict_new(), *k = big(1), *v = big(2);
    for (int i = 0; i < 100; i++) assert_int_equal(rc_dict_set(d, rc_int_new(i), v), 0);
    assert_int_equal(rc_dict_set(d, k, v), 0);
    assert_int_equal(rc_refcount(v), 102);
    rc_dict_clear(d);
    assert_int_equal(rc_dict_len(d), 0);
    assert_int_equal(rc_refcount(v), 1);
    assert_int_equal(rc_refcount(k), 1);
    REPR_EQ(d, "{}");
    rc_dict_clear(d); /* twice is fine */
    assert_int_equal(rc_dict_set(d, k, v), 0);
    clear_error();
    void *absent = big(3);
    assert_null(rc_dict_pop(d, absent));
    ERROR_HAS("rc_dict_pop: key not found");
    assert_int_equal(rc_dict_len(d), 1);
    rc_decref(absent);
    void *p = rc_dict_pop(d, k);
    assert_ptr_equal(p, v);
    assert_int_equal(rc_refcount(v), 2); /* ours and the caller's */
    assert_int_equal(rc_refcount(k), 1);
    clear_error();
    assert_null(rc_dict_pop(d, k)); /* popped already */
    ERROR_HAS("rc_dict_pop: key not found");
    rc_decref(p);
    rc_decref(d);
    rc_decref(k);
    rc_decref(v);
}

/* A value whose release stores into the dict being cleared. */
static void *refill_dict;
static void refill_destroy(void *self) {
    (void)self;
    void *k = big(77);
    rc_dict_set(refill_dict, k, rc_none);
    rc_decref(k);
}
static const rc_type refill_type = {.name = "Refill", .size = 8, .destroy = refill_destroy};

static void test_clear_while_release_refills(void **state) {
    (void)state;
    void *d = rc_dict_new(), *r = rc_new(&refill_type);
    refill_dict = d;
    assert_int_equal(rc_dict_set(d, rc_int_new(1), r), 0);
    rc_decref(r);
    rc_dict_clear(d); /* releases r, whose destroy stores 1000077 */
    assert_int_equal(rc_dict_len(d), 1);
    DICT_VALID(d);
    REPR_EQ(d, "{1000077: None}");
    rc_decref(d);
    refill_dict = NULL;
}
/* }==== */

/* {==== colliding keys and user code in equal ==== */

static void test_colliding_keys(void **state) {
    (void)state;
    enum { N = 200 };
    void *d = rc_dict_new(), *keys[N];
    for (int i = 0; i < N; i++) {
        keys[i] = new_coll(i);
        void *v = rc_int_new(i);
        assert_int_equal(rc_dict_set(d, keys[i], v), 0);
    }
    assert_int_equal(rc_dict_len(d), N);
    /* the int 42 hashes as they do, but is another key */
    assert_int_equal(rc_dict_set(d, rc_int_new(42), rc_none), 0);
    assert_int_equal(rc_dict_len(d), N + 1);
    for (int i = 0; i < N; i++) {
        void *probe = new_coll(i);
        coll_equal_calls = 0;
        assert_int_equal(rc_int_value(rc_dict_get(d, probe)), i);
        assert_true(coll_equal_calls >= 1);
        rc_decref(probe);
    }
    /* delete the even ones, they are gone, the odd ones stay */
    for (int i = 0; i < N; i += 2) {
        void *probe = new_coll(i);
        assert_int_equal(rc_dict_del(d, probe), 0);
        assert_int_equal(rc_dict_contains(d, probe), 0);
        rc_decref(probe);
    }
    assert_int_equal(rc_dict_len(d), N / 2 + 1);
    DICT_VALID(d);
    for (int i = 1; i < N; i += 2) assert_int_equal(rc_int_value(rc_dict_get(d, keys[i])), i);
    /* and come back (reusing dummies) */
    for (int i = 0; i < N; i += 2) assert_int_equal(rc_dict_set(d, keys[i], rc_true), 0);
    assert_int_equal(rc_dict_len(d), N + 1);
    DICT_VALID(d);
    for (int i = 0; i < N; i += 2) assert_ptr_equal(rc_dict_get(d, keys[i]), rc_true);
    for (int i = 0; i < N; i++) assert_int_equal(rc_refcount(keys[i]), 2);
    rc_decref(d);
    for (int i = 0; i < N; i++) {
        assert_int_equal(rc_refcount(keys[i]), 1);
        rc_decref(keys[i]);
    }
}

static void test_equal_that_changes_the_dict(void **state) {
    (void)state;
    void *d = rc_dict_new(), *a = new_evil(1), *b = new_evil(1), *v = big(0);
    evil_dict = d;
    /* equal clears the dict (a is freed by the clear if not held) */
    assert_int_equal(rc_dict_set(d, a, v), 0);
    rc_decref(a);
    evil_mode = 1;
    void *got = v;
    assert_int_equal(rc_dict_lookup(d, b, &got), 0); /* restarted: the dict is empty now */
    assert_null(got);
    assert_int_equal(rc_dict_len(d), 0);
    assert_int_equal(rc_refcount(v), 1);

    /* equal rebuilds the table: the lookup restarts and finds the key */
    a = new_evil(1);
    assert_int_equal(rc_dict_set(d, a, v), 0);
    evil_mode = 2;
    assert_ptr_equal(rc_dict_get(d, b), v);
    assert_int_equal(rc_dict_len(d), 101);
    /* the same in a store: the value is replaced, not added */
    evil_mode = 2;
    assert_int_equal(rc_dict_set(d, b, rc_none), 0);
    assert_int_equal(rc_dict_len(d), 201);
    DICT_VALID(d);
    assert_ptr_equal(rc_dict_get(d, a), rc_none);
    assert_int_equal(rc_refcount(b), 1); /* the first key object stays */
    /* and in a deletion */
    evil_mode = 1;
    assert_int_equal(rc_dict_del(d, b), -1);
    ERROR_HAS("rc_dict_del: key not found");
    assert_int_equal(rc_dict_len(d), 0);
    rc_decref(a);

    /* an equal that changes the dict every time: the lookup gives up */
    a = new_evil(1);
    assert_int_equal(rc_dict_set(d, a, v), 0);
    evil_mode = 3;
    clear_error();
    assert_int_equal(rc_dict_lookup(d, b, NULL), -1);
    ERROR_HAS("rc_dict_lookup: dict changed during lookup too many times");
    evil_mode = 0;
    assert_true(rc_dict_len(d) > 1000);
    DICT_VALID(d);
    assert_ptr_equal(rc_dict_get(d, b), v);
    evil_dict = NULL;
    rc_decref(d);
    rc_decref(a);
    rc_decref(b);
    rc_decref(v);
}
/* }==== */

/* {==== iteration ==== */

static void test_iterators(void **state) {
    (void)state;
    void *d = rc_dict_new(), *vals[3] = {big(10), big(20), big(30)};
    for (int i = 0; i < 3; i++) assert_int_equal(rc_dict_set(d, rc_int_new(i), vals[i]), 0);
    void *ki = rc_dict_keys(d), *vi = rc_dict_values(d), *ii = rc_dict_items(d), *di = rc_iter(d);
    assert_int_equal(rc_refcount(d), 5); /* each iterator holds the dict */
    for (int i = 0; i < 3; i++) {
        void *out;
        assert_int_equal(rc_next(ki, &out), 1);
        assert_int_equal(rc_int_value(out), i);
        rc_decref(out);
        assert_int_equal(rc_next(di, &out), 1);
        assert_int_equal(rc_int_value(out), i);
        rc_decref(out);
        assert_int_equal(rc_next(vi, &out), 1);
        assert_ptr_equal(out, vals[i]);
        assert_int_equal(rc_refcount(vals[i]), 3);
        rc_decref(out);
        assert_int_equal(rc_next(ii, &out), 1);
        assert_int_equal(rc_tuple_len(out), 2);
        assert_int_equal(rc_int_value(rc_tuple_get(out, 0)), i);
        assert_ptr_equal(rc_tuple_get(out, 1), vals[i]);
        rc_decref(out);
    }
    void *out = d;
    assert_int_equal(rc_next(ki, &out), 0);
    assert_null(out);
    assert_int_equal(rc_next(ki, &out), 0); /* and stays exhausted */
    assert_int_equal(rc_next(vi, &out), 0);
    assert_int_equal(rc_next(ii, &out), 0);
    assert_int_equal(rc_next(di, &out), 0);
    assert_int_equal(rc_refcount(d), 1); /* exhausted iterators let the dict go */
    rc_decref(ki);
    rc_decref(vi);
    rc_decref(ii);
    rc_decref(di);
    rc_decref(d);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rc_refcount(vals[i]), 1);
        rc_decref(vals[i]);
    }
}

static void test_iterator_holes_and_values_replaced(void **state) {
    (void)state;
    void *d = rc_dict_new();
    for (int i = 0; i < 10; i++) assert_int_equal(rc_dict_set(d, rc_int_new(i), rc_none), 0);
    for (int i = 0; i < 10; i += 2) assert_int_equal(rc_dict_del(d, rc_int_new(i)), 0);
    void *it = rc_dict_keys(d), *out;
    int64_t seen[10];
    int n = 0, r;
    while ((r = rc_next(it, &out)) == 1) {
        seen[n++] = rc_int_value(out);
        /* replacing a value is no change of size or keys */
        assert_int_equal(rc_dict_set(d, out, rc_true), 0);
        rc_decref(out);
    }
    assert_int_equal(r, 0);
    assert_int_equal(n, 5);
    for (int i = 0; i < 5; i++) assert_int_equal(seen[i], 2 * i + 1);
    rc_decref(it);
    rc_decref(d);
}

static void test_mutation_during_iteration(void **state) {
    (void)state;
    void *(*makers[3])(void *) = {rc_dict_keys, rc_dict_values, rc_dict_items};
    for (int m = 0; m < 3; m++) {
        void *d = rc_dict_new(), *out;
        for (int i = 0; i < 5; i++) assert_int_equal(rc_dict_set(d, rc_int_new(i), rc_none), 0);
        /* an insertion */
        void *it = makers[m](d);
        assert_int_equal(rc_next(it, &out), 1);
        rc_decref(out);
        assert_int_equal(rc_dict_set(d, rc_int_new(99), rc_none), 0);
        clear_error();
        assert_int_equal(rc_next(it, &out), -1);
        assert_null(out);
        ERROR_HAS("dictionary changed size during iteration");
        assert_int_equal(rc_next(it, &out), 0); /* exhausted after the error */
        assert_int_equal(rc_refcount(d), 1);
        rc_decref(it);
        /* a deletion */
        it = makers[m](d);
        assert_int_equal(rc_dict_del(d, rc_int_new(99)), 0);
        clear_error();
        assert_int_equal(rc_next(it, &out), -1);
        ERROR_HAS("dictionary changed size during iteration");
        rc_decref(it);
        /* a deletion and an insertion: same size, other keys */
        it = makers[m](d);
        assert_int_equal(rc_dict_del(d, rc_int_new(0)), 0);
        assert_int_equal(rc_dict_set(d, rc_int_new(100), rc_none), 0);
        clear_error();
        assert_int_equal(rc_next(it, &out), -1);
        ERROR_HAS("dictionary keys changed during iteration");
        rc_decref(it);
        /* clear */
        it = makers[m](d);
        rc_dict_clear(d);
        assert_int_equal(rc_next(it, &out), -1);
        rc_decref(it);
        rc_decref(d);
    }
}

static void test_dict_next(void **state) {
    (void)state;
    void *d = rc_dict_new();
    for (int i = 0; i < 6; i++) assert_int_equal(rc_dict_set(d, rc_int_new(i), rc_int_new(10 * i)), 0);
    assert_int_equal(rc_dict_del(d, rc_int_new(2)), 0);
    size_t pos = 0;
    void *k, *v;
    int64_t ks[6];
    int n = 0;
    while (rc_dict_next(d, &pos, &k, &v)) {
        assert_int_equal(rc_int_value(v), 10 * rc_int_value(k));
        ks[n++] = rc_int_value(k);
    }
    assert_int_equal(n, 5);
    int64_t expect[] = {0, 1, 3, 4, 5};
    assert_memory_equal(ks, expect, sizeof expect);
    assert_false(rc_dict_next(d, &pos, &k, &v)); /* stays at the end */
    /* NULL key and value are fine */
    pos = 0;
    n = 0;
    while (rc_dict_next(d, &pos, NULL, NULL)) n++;
    assert_int_equal(n, 5);
    /* a change between two calls is detected */
    pos = 0;
    assert_true(rc_dict_next(d, &pos, &k, NULL));
    assert_int_equal(rc_dict_set(d, rc_int_new(50), rc_none), 0);
    clear_error();
    assert_false(rc_dict_next(d, &pos, &k, NULL));
    ERROR_HAS("rc_dict_next: dictionary changed during iteration");
    pos = 0;
    assert_true(rc_dict_next(d, &pos, &k, NULL));
    assert_int_equal(rc_dict_del(d, rc_int_new(50)), 0);
    clear_error();
    assert_false(rc_dict_next(d, &pos, &k, NULL));
    ERROR_HAS("changed during iteration");
    /* replacing a value is allowed */
    pos = 0;
    n = 0;
    while (rc_dict_next(d, &pos, &k, NULL)) {
        assert_int_equal(rc_dict_set(d, k, rc_none), 0);
        n++;
    }
    assert_int_equal(n, 5);
    rc_decref(d);
}
/* }==== */

/* {==== repr, equality, generic operations ==== */

static void test_repr(void **state) {
    (void)state;
    void *d = rc_dict_new(), *a = rc_str_from_cstr("a"), *l = rc_list_new();
    assert_int_equal(rc_list_append(l, rc_int_new(3)), 0);
    assert_int_equal(rc_dict_set(d, a, rc_int_new(1)), 0);
    assert_int_equal(rc_dict_set(d, rc_int_new(2), l), 0);
    REPR_EQ(d, "{'a': 1, 2: [3]}");
    /* a dict inside itself prints {...} */
    assert_int_equal(rc_dict_set(d, a, d), 0);
    REPR_EQ(d, "{'a': {...}, 2: [3]}");
    void *outer = rc_dict_new();
    assert_int_equal(rc_dict_set(outer, rc_none, d), 0);
    REPR_EQ(outer, "{None: {'a': {...}, 2: [3]}}");
    /* through a list: d -> l -> d */
    assert_int_equal(rc_list_append(l, d), 0);
    REPR_EQ(d, "{'a': {...}, 2: [3, {...}]}");
    void *s = rc_str_of(d);
    assert_string_equal(rc_str_cstr(s), "{'a': {...}, 2: [3, {...}]}");
    rc_decref(s);
    rc_dict_clear(d); /* breaks the cycles */
    rc_decref(outer);
    rc_decref(d);
    rc_decref(a);
    rc_decref(l);
}

static void test_equal(void **state) {
    (void)state;
    void *a = rc_dict_new(), *b = rc_dict_new();
    assert_true(rc_equal(a, b));
    for (int i = 0; i < 50; i++) {
        void *v = big(i);
        assert_int_equal(rc_dict_set(a, rc_int_new(i), v), 0);
        rc_decref(v);
    }
    assert_false(rc_equal(a, b));
    for (int i = 49; i >= 0; i--) { /* other order, equal values */
        void *v = big(i);
        assert_int_equal(rc_dict_set(b, rc_int_new(i), v), 0);
        rc_decref(v);
    }
    assert_true(rc_equal(a, b));
    assert_true(rc_equal(b, a));
    /* 1.0 == 1 as a value */
    void *f = rc_float_new(1000007.0);
    assert_int_equal(rc_dict_set(b, rc_int_new(7), f), 0);
    assert_true(rc_equal(a, b));
    assert_int_equal(rc_dict_set(b, rc_int_new(7), rc_none), 0);
    assert_false(rc_equal(a, b));
    /* same length, one other key */
    assert_int_equal(rc_dict_del(b, rc_int_new(7)), 0);
    assert_int_equal(rc_dict_set(b, rc_int_new(70), rc_none), 0);
    assert_false(rc_equal(a, b));
    /* nested dicts by content; a dict is not equal to a list */
    void *x = rc_dict_new(), *y = rc_dict_new(), *l = rc_list_new();
    assert_int_equal(rc_dict_set(x, rc_none, a), 0);
    assert_int_equal(rc_dict_set(y, rc_none, a), 0);
    assert_true(rc_equal(x, y));
    assert_false(rc_equal(x, l));
    rc_decref(f);
    rc_decref(a);
    rc_decref(b);
    rc_decref(x);
    rc_decref(y);
    rc_decref(l);
}

static void test_generic_operations(void **state) {
    (void)state;
    void *d = rc_dict_new();
    assert_int_equal(rc_dict_set(d, rc_int_new(1), rc_none), 0);
    assert_int_equal(rc_len(d), 1);
    assert_int_equal(rc_contains(d, rc_int_new(1)), 1);
    assert_int_equal(rc_contains(d, rc_int_new(2)), 0);
    int c;
    clear_error();
    assert_int_equal(rc_compare(d, d, &c), -1);
    void *it = rc_iter(d), *out;
    assert_int_equal(rc_next(it, &out), 1);
    assert_ptr_equal(out, rc_int_new(1));
    assert_ptr_equal(rc_iter(it), it); /* an iterator is its own iterator */
    rc_decref(it);
    rc_decref(it);
    void *r = rc_repr(it = rc_dict_items(d));
    assert_non_null(strstr(rc_str_cstr(r), "dict_itemiterator"));
    rc_decref(r);
    rc_decref(it);
    rc_decref(d);
}
/* }==== */

/* {==== collection: tracking and cycles ==== */

static void test_tracking(void **state) {
    (void)state;
    void *d = rc_dict_new();
    assert_false(rc_gc_is_tracked(d));
    /* atoms keep it untracked */
    void *s = rc_str_from_cstr("x");
    assert_int_equal(rc_dict_set(d, s, rc_int_new(1)), 0);
    assert_int_equal(rc_dict_set(d, rc_int_new(2), s), 0);
    assert_false(rc_gc_is_tracked(d));
    rc_gc_collect(-1);
    assert_false(rc_gc_is_tracked(d));
    /* a list value tracks it */
    void *l = rc_list_new();
    assert_int_equal(rc_dict_set(d, rc_int_new(3), l), 0);
    assert_true(rc_gc_is_tracked(d));
    rc_gc_collect(-1);
    assert_true(rc_gc_is_tracked(d)); /* still holds the list */
    /* the list gone, a collection untracks it */
    assert_int_equal(rc_dict_del(d, rc_int_new(3)), 0);
    rc_gc_collect(-1);
    assert_false(rc_gc_is_tracked(d));
    /* a tracked key (a user object with traverse) tracks it too */
    void *bx = rc_new(&box_type);
    assert_true(rc_gc_is_tracked(bx));
    assert_int_equal(rc_dict_set(d, bx, rc_none), 0);
    assert_true(rc_gc_is_tracked(d));
    rc_dict_clear(d);
    rc_gc_collect(-1);
    assert_false(rc_gc_is_tracked(d));
    /* an update that brings a list in */
    void *o = rc_dict_new();
    assert_int_equal(rc_dict_set(o, rc_int_new(4), l), 0);
    assert_int_equal(rc_dict_update(d, o), 0);
    assert_true(rc_gc_is_tracked(d));
    /* a dict value, untracked now but able to get a list later, tracks it
     * (CPython's _PyObject_GC_MAY_BE_TRACKED); so does the dict itself */
    void *d2 = rc_dict_new(), *e = rc_dict_new();
    assert_int_equal(rc_dict_set(d2, rc_int_new(1), e), 0);
    assert_true(rc_gc_is_tracked(d2));
    assert_false(rc_gc_is_tracked(e));
    assert_int_equal(rc_dict_set(e, rc_int_new(1), e), 0);
    assert_true(rc_gc_is_tracked(e));
    assert_int_equal(rc_dict_del(e, rc_int_new(1)), 0);
    rc_decref(d2);
    rc_decref(e);
    rc_decref(o);
    rc_decref(bx);
    rc_decref(l);
    rc_decref(s);
    rc_decref(d);
}

static void test_cycles_collected(void **state) {
    (void)state;
    /* a dict that holds itself */
    void *d = rc_dict_new();
    assert_int_equal(rc_dict_set(d, rc_int_new(1), d), 0);
    assert_true(rc_gc_is_tracked(d));
    assert_int_equal(rc_refcount(d), 2);
    rc_decref(d);
    assert_int_equal(rc_gc_collect(-1), 1);
    /* dict -> list -> dict */
    d = rc_dict_new();
    void *l = rc_list_new();
    assert_int_equal(rc_list_append(l, d), 0);
    assert_int_equal(rc_dict_set(d, rc_int_new(1), l), 0);
    rc_decref(l);
    rc_decref(d);
    assert_int_equal(rc_gc_collect(-1), 2);
    /* a dict as its own key's referent: key box -> dict */
    d = rc_dict_new();
    box *bx = rc_new(&box_type);
    bx->ref = rc_incref(d);
    assert_int_equal(rc_dict_set(d, bx, rc_none), 0);
    rc_decref(bx);
    rc_decref(d);
    assert_int_equal(rc_gc_collect(-1), 2);
    /* through an iterator: dict -> keys iterator -> dict */
    d = rc_dict_new();
    void *it = rc_dict_keys(d);
    assert_int_equal(rc_dict_set(d, rc_int_new(1), it), 0);
    rc_decref(it);
    rc_decref(d);
    assert_int_equal(rc_gc_collect(-1), 2);
    /* a long chain of nested dicts is released by reference counting */
    void *top = rc_dict_new(), *cur = top;
    for (int i = 0; i < 10000; i++) {
        void *n = rc_dict_new();
        assert_int_equal(rc_dict_set(cur, rc_int_new(0), n), 0);
        rc_decref(n);
        cur = n;
    }
    rc_decref(top);
}
/* }==== */

/* A dict holding an empty dict stays tracked through collections (the
 * inner one may become tracked later, CPython's "may be tracked"), so a
 * cycle made later through the inner dict is collected. Was a leak: the
 * collector untracked the outer dict. The same for a tuple holding a dict. */
static void test_untracked_inner_dict_keeps_holder_tracked(void **state) {
    (void)state;
    void *d = rc_dict_new(), *e = rc_dict_new(), *one = rc_int_new(1);
    assert_int_equal(rc_dict_set(d, one, e), 0);
    void *t = rc_tuple_pack(1, e);
    rc_gc_collect(-1);
    assert_true(rc_gc_is_tracked(d));
    assert_true(rc_gc_is_tracked(t));
    assert_false(rc_gc_is_tracked(e));
    void *l = rc_list_new();
    assert_int_equal(rc_list_append(l, d), 0);
    assert_int_equal(rc_list_append(l, t), 0);
    assert_int_equal(rc_dict_set(e, one, l), 0); /* d -> e -> l -> d, and l -> t -> e */
    assert_true(rc_gc_is_tracked(e));
    rc_decref(l);
    rc_decref(e);
    rc_decref(d);
    rc_decref(t);
    assert_int_equal(rc_gc_collect(-1), 4);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        TYPES_TEST(test_empty_dict),
        TYPES_TEST(test_one_key_and_refcounts),
        TYPES_TEST(test_wrong_arguments),
        TYPES_TEST(test_unhashable_keys),
        TYPES_TEST(test_numbers_as_keys),
        TYPES_TEST(test_str_keys),
        TYPES_TEST(test_growth_across_many_resizes),
        TYPES_TEST(test_order_across_deletes_and_resizes),
        TYPES_TEST(test_delete_then_reinsert_reuses_room),
        TYPES_TEST(test_shrink_after_deletions),
        TYPES_TEST(test_memory_per_item_1m),
        TYPES_TEST(test_out_of_memory_leaves_dict_unchanged),
        TYPES_TEST(test_update),
        TYPES_TEST(test_clear_and_pop),
        TYPES_TEST(test_clear_while_release_refills),
        TYPES_TEST(test_colliding_keys),
        TYPES_TEST(test_equal_that_changes_the_dict),
        TYPES_TEST(test_iterators),
        TYPES_TEST(test_iterator_holes_and_values_replaced),
        TYPES_TEST(test_mutation_during_iteration),
        TYPES_TEST(test_dict_next),
        TYPES_TEST(test_repr),
        TYPES_TEST(test_equal),
        TYPES_TEST(test_generic_operations),
        TYPES_TEST(test_tracking),
        TYPES_TEST(test_cycles_collected),
        TYPES_TEST(test_untracked_inner_dict_keeps_holder_tracked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
