/*
 * test_bytes.c — bytes objects (reclaim.h 6.2): creation, data and
 * length, repr (Python's escaping and quote choice), hash, equality,
 * ordering, rc_len / rc_contains / rc_iter, and the iterator.
 */
#include "types_util.h"

static void *B(const void *data, size_t n) {
    void *b = rc_bytes_new(data, n);
    assert_non_null(b);
    return b;
}

static void test_new_data_len(void **state) {
    (void)state;
    const uint8_t raw[] = {0, 1, 'a', 0x7f, 0x80, 0xff, 0};
    void *b = B(raw, 6);
    assert_ptr_equal(rc_type_of(b), &rc_bytes_type);
    assert_int_equal(rc_refcount(b), 1);
    assert_int_equal(rc_bytes_len(b), 6);
    assert_int_equal(rc_len(b), 6);
    assert_memory_equal(rc_bytes_data(b), raw, 7); /* a NUL after the data */
    assert_ptr_not_equal(rc_bytes_data(b), raw);  /* a copy */
    assert_false(rc_gc_is_tracked(b));
    /* header 16 + hash 8 + length 8 + data + NUL: CPython's bytes is 33 + n */
    assert_true(rc_sizeof(b) <= 16 + 16 + 7 + 15);
    rc_decref(b);

    void *e = B(NULL, 0), *e2 = B("ignored", 0);
    assert_int_equal(rc_bytes_len(e), 0);
    assert_int_equal(rc_bytes_data(e)[0], 0);
    assert_true(rc_equal(e, e2));
    rc_decref(e);
    rc_decref(e2);

    /* a large one */
    uint8_t *big = malloc(100000);
    for (size_t i = 0; i < 100000; i++) big[i] = (uint8_t)(i * 7);
    void *bb = B(big, 100000);
    assert_int_equal(rc_bytes_len(bb), 100000);
    assert_memory_equal(rc_bytes_data(bb), big, 100000);
    rc_decref(bb);
    free(big);

    clear_error();
    assert_null(rc_bytes_new(NULL, 3));
    ERROR_HAS("rc_bytes_new: data is NULL");
    void *s = rc_str_from_cstr("abc");
    clear_error();
    assert_null(rc_bytes_data(s));
    ERROR_HAS("rc_bytes_data: expected a bytes, got str");
    clear_error();
    assert_int_equal(rc_bytes_len(s), 0);
    ERROR_HAS("rc_bytes_len: expected a bytes, got str");
    clear_error();
    assert_int_equal(rc_bytes_len(NULL), 0);
    ERROR_HAS("rc_bytes_len: expected a bytes, got NULL");
    clear_error();
    assert_null(rc_bytes_data(NULL));
    ERROR_HAS("got NULL");
    rc_decref(s);
}

static void repr_is(const void *data, size_t n, const char *expected) {
    void *b = B(data, n);
    REPR_EQ(b, expected);
    rc_decref(b);
}

static void test_repr(void **state) {
    (void)state;
    repr_is("", 0, "b''");
    repr_is("abc", 3, "b'abc'");
    repr_is("it's", 4, "b\"it's\"");
    repr_is("say \"hi\"", 8, "b'say \"hi\"'");
    repr_is("both ' and \"", 12, "b'both \\' and \"'");
    repr_is("\x00\x01\x7f\x80\xff", 5, "b'\\x00\\x01\\x7f\\x80\\xff'");
    repr_is("\t\n\r", 3, "b'\\t\\n\\r'");
    repr_is("back\\slash", 10, "b'back\\\\slash'");
    repr_is(" ~", 2, "b' ~'");
    const uint8_t r37[] = {0, 37, 74, 111, 148, 185, 222}; /* bytes(range(0, 256, 37)) */
    repr_is(r37, sizeof r37, "b'\\x00%Jo\\x94\\xb9\\xde'");
    /* UTF-8 is not decoded: each byte above 0x7e is escaped */
    repr_is("\xc3\xa9", 2, "b'\\xc3\\xa9'");
    /* str(bytes) is its repr */
    void *b = B("x", 1), *s = rc_str_of(b);
    assert_string_equal(rc_str_cstr(s), "b'x'");
    rc_decref(s);
    rc_decref(b);
}

static void test_hash_equal_compare(void **state) {
    (void)state;
    void *a = B("abc", 3), *a2 = B("abc", 3), *ab = B("ab", 2), *z = B("\x00", 1), *ff = B("\xff", 1);
    void *bb = B("b", 1), *e = B(NULL, 0), *nul = B("ab\0", 3);
    assert_true(rc_equal(a, a2));
    assert_int_equal(rc_hash(a), rc_hash(a2));
    assert_int_not_equal(rc_hash(a), -1);
    assert_int_not_equal(rc_hash(e), -1);
    assert_false(rc_equal(a, ab));
    assert_false(rc_equal(ab, nul)); /* an embedded NUL counts */
    assert_int_not_equal(rc_hash(ab), rc_hash(nul));
    /* bytes and str never compare equal (Python 3) */
    void *s = rc_str_from_cstr("abc");
    assert_false(rc_equal(a, s));
    int r = 5;
    clear_error();
    assert_int_equal(rc_compare(a, s, &r), -1);
    ERROR_HAS("rc_compare: '<' not supported between 'bytes' and 'str'");
    assert_int_equal(r, 5);
    rc_decref(s);
    /* ordering: bytewise, unsigned, shorter prefix first */
    assert_int_equal(rc_compare(ab, a, &r), 0);
    assert_int_equal(r, -1);
    assert_int_equal(rc_compare(z, ff, &r), 0);
    assert_int_equal(r, -1);
    assert_int_equal(rc_compare(bb, a, &r), 0);
    assert_int_equal(r, 1);
    assert_int_equal(rc_compare(a, a2, &r), 0);
    assert_int_equal(r, 0);
    assert_int_equal(rc_compare(e, z, &r), 0);
    assert_int_equal(r, -1);
    assert_int_equal(rc_compare(e, e, &r), 0);
    assert_int_equal(r, 0);
    assert_int_equal(rc_compare(nul, ab, &r), 0);
    assert_int_equal(r, 1);
    void *objs[] = {a, a2, ab, z, ff, bb, e, nul};
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) {
        assert_int_equal(rc_refcount(objs[i]), 1);
        rc_decref(objs[i]);
    }
}

static int remember(void *obj, void *arg) {
    void **seen = arg;
    if (obj == seen[0]) seen[1] = obj;
    return 0;
}

static void test_iter(void **state) {
    (void)state;
    void *b = B("\x00\x7f\xff", 3);
    void *it = rc_iter(b);
    assert_non_null(it);
    assert_int_equal(rc_refcount(b), 2);
    assert_false(rc_gc_is_tracked(it));
    assert_ptr_equal(rc_iter(it), it);
    rc_decref(it);
    void *seen[2] = {b, NULL};
    assert_int_equal(rc_gc_get_referents(it, remember, seen), 1);
    assert_ptr_equal(seen[1], b);
    int64_t expect[] = {0, 127, 255};
    void *x;
    for (int k = 0; k < 3; k++) {
        assert_int_equal(rc_next(it, &x), 1);
        assert_ptr_equal(rc_type_of(x), &rc_int_type);
        assert_int_equal(rc_int_value(x), expect[k]);
        rc_decref(x);
    }
    assert_int_equal(rc_next(it, &x), 0);
    assert_null(x);
    assert_int_equal(rc_refcount(b), 1); /* released once exhausted */
    assert_int_equal(rc_next(it, &x), 0);
    rc_decref(it);
    /* dropped early: the bytes are released */
    void *it2 = rc_iter(b);
    assert_int_equal(rc_next(it2, &x), 1);
    rc_decref(it2);
    assert_int_equal(rc_refcount(b), 1);
    /* empty */
    void *e = B(NULL, 0), *ie = rc_iter(e);
    assert_int_equal(rc_next(ie, &x), 0);
    rc_decref(ie);
    rc_decref(e);
    /* every byte value */
    uint8_t all[256];
    for (int i = 0; i < 256; i++) all[i] = (uint8_t)i;
    void *a = B(all, 256), *ia = rc_iter(a);
    int64_t want = 0;
    while (rc_next(ia, &x) == 1) {
        assert_int_equal(rc_int_value(x), want++);
        rc_decref(x);
    }
    assert_int_equal(want, 256);
    rc_decref(ia);
    rc_decref(a);
    rc_decref(b);
}

static void test_bytes_as_keys(void **state) {
    (void)state;
    /* hashable by content: usable as dict keys */
    void *d = rc_dict_new();
    assert_non_null(d);
    void *k1 = B("key", 3), *k2 = B("key", 3), *v = rc_int_new(1000);
    assert_int_equal(rc_dict_set(d, k1, v), 0);
    assert_ptr_equal(rc_dict_get(d, k2), v);
    assert_int_equal(rc_refcount(k1), 2);
    rc_decref(d);
    assert_int_equal(rc_refcount(k1), 1);
    rc_decref(k1);
    rc_decref(k2);
    rc_decref(v);
}

/* Python's `97 in b'abc'`, `b'bc' in b'abc'`, and the errors of a byte
 * out of range or an item of another type. */
static void test_contains(void **state) {
    (void)state;
    void *b = B("abc", 3), *sub = B("bc", 2), *miss = B("ca", 2), *empty = B("", 0);
    void *big = rc_int_new(256), *s = rc_str_from_cstr("a");
    assert_int_equal(rc_contains(b, rc_int_new(97)), 1);
    assert_int_equal(rc_contains(b, rc_int_new(100)), 0);
    assert_int_equal(rc_contains(b, rc_true), 0); /* True == 1, not in b'abc' */
    assert_int_equal(rc_contains(b, sub), 1);
    assert_int_equal(rc_contains(b, miss), 0);
    assert_int_equal(rc_contains(b, empty), 1);
    assert_int_equal(rc_contains(empty, rc_int_new(0)), 0);
    clear_error();
    assert_int_equal(rc_contains(b, big), -1);
    ERROR_HAS("byte must be in range(0, 256), got 256");
    clear_error();
    assert_int_equal(rc_contains(b, s), -1);
    ERROR_HAS("a bytes-like object or int is required, not 'str'");
    rc_decref(b);
    rc_decref(sub);
    rc_decref(miss);
    rc_decref(empty);
    rc_decref(big);
    rc_decref(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        TYPES_TEST(test_new_data_len),  TYPES_TEST(test_repr),
        TYPES_TEST(test_hash_equal_compare), TYPES_TEST(test_iter),
        TYPES_TEST(test_bytes_as_keys), TYPES_TEST(test_contains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
