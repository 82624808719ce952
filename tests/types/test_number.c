/*
 * test_number.c — None, bools, ints and floats (reclaim.h 6.1) and what
 * rc_repr, rc_hash, rc_equal and rc_compare do with them. Expected reprs
 * and hashes are the values python3 (3.11) prints for the same numbers.
 */
#include <math.h>

#include "types_util.h"

static bool is_immortal(const void *obj) { return rc_refcount(obj) >= RC_IMMORTAL_REFCNT; }

static void test_singletons(void **state) {
    (void)state;
    REPR_EQ(rc_none, "None");
    REPR_EQ(rc_true, "True");
    REPR_EQ(rc_false, "False");
    assert_ptr_equal(rc_type_of(rc_none), &rc_none_type);
    assert_ptr_equal(rc_type_of(rc_true), &rc_bool_type);
    assert_ptr_equal(rc_type_of(rc_false), &rc_bool_type);
    assert_ptr_equal(rc_bool(true), rc_true);
    assert_ptr_equal(rc_bool(false), rc_false);
    /* immortal: counting them changes nothing, and they survive any decref */
    void *singles[] = {rc_none, rc_true, rc_false};
    for (size_t i = 0; i < 3; i++) {
        assert_true(is_immortal(singles[i]));
        size_t before = rc_refcount(singles[i]);
        for (int k = 0; k < 10; k++) rc_decref(singles[i]);
        rc_incref(singles[i]);
        assert_int_equal(rc_refcount(singles[i]), before);
    }
    assert_int_equal(rc_refcount(rc_none), RC_IMMORTAL_REFCNT);
    REPR_EQ(rc_none, "None"); /* still alive after the decrefs */
    /* None is neither a number nor ordered */
    int r = 7;
    clear_error();
    assert_int_equal(rc_compare(rc_none, rc_none, &r), -1);
    ERROR_HAS("rc_compare: '<' not supported between 'NoneType' and 'NoneType'");
    assert_int_equal(r, 7);
    assert_true(rc_equal(rc_none, rc_none));
    assert_false(rc_equal(rc_none, rc_false));
    assert_int_equal(rc_hash(rc_none), rc_hash(rc_none));
    assert_int_not_equal(rc_hash(rc_none), -1);
}

static void test_small_int_cache(void **state) {
    (void)state;
    for (int64_t v = -5; v <= 256; v++) {
        void *a = rc_int_new(v), *b = rc_int_new(v);
        assert_ptr_equal(a, b);
        assert_true(is_immortal(a));
        assert_int_equal(rc_refcount(a), RC_IMMORTAL_REFCNT);
        assert_int_equal(rc_int_value(a), v);
        rc_decref(a); /* no effect */
        assert_int_equal(rc_int_value(a), v);
    }
    int64_t fresh[] = {-6, 257, 1000, INT64_MAX, INT64_MIN, -1000000};
    for (size_t i = 0; i < sizeof fresh / sizeof fresh[0]; i++) {
        void *a = rc_int_new(fresh[i]), *b = rc_int_new(fresh[i]);
        assert_non_null(a);
        assert_ptr_not_equal(a, b);
        assert_int_equal(rc_refcount(a), 1);
        assert_int_equal(rc_int_value(a), fresh[i]);
        assert_true(rc_equal(a, b));
        assert_int_equal(rc_hash(a), rc_hash(b));
        rc_incref(a);
        assert_int_equal(rc_refcount(a), 2);
        rc_decref(a);
        assert_int_equal(rc_refcount(a), 1);
        rc_decref(a);
        rc_decref(b);
    }
}

static void test_int_repr(void **state) {
    (void)state;
    struct { int64_t v; const char *text; } cases[] = {
        {0, "0"}, {-5, "-5"}, {256, "256"}, {257, "257"}, {-1234567, "-1234567"},
        {INT64_MAX, "9223372036854775807"}, {INT64_MIN, "-9223372036854775808"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        void *x = rc_int_new(cases[i].v);
        REPR_EQ(x, cases[i].text);
        rc_decref(x);
    }
}

static void test_int_value_errors(void **state) {
    (void)state;
    assert_int_equal(rc_int_value(rc_true), 1);
    assert_int_equal(rc_int_value(rc_false), 0);
    void *f = rc_float_new(2.5);
    clear_error();
    assert_int_equal(rc_int_value(f), 0);
    ERROR_HAS("rc_int_value: expected an int, got float");
    clear_error();
    assert_int_equal(rc_int_value(NULL), 0);
    ERROR_HAS("rc_int_value: expected an int, got NULL");
    clear_error();
    assert_int_equal(rc_int_value(rc_none), 0);
    ERROR_HAS("got NoneType");
    void *s = rc_str_from_cstr("12");
    clear_error();
    assert_int_equal(rc_int_value(s), 0);
    ERROR_HAS("got str");
    rc_decref(s);
    rc_decref(f);
}

static void test_float_value(void **state) {
    (void)state;
    void *f = rc_float_new(-2.25), *i = rc_int_new(1000000007);
    assert_int_equal(rc_refcount(f), 1);
    assert_true(rc_float_value(f) == -2.25);
    assert_true(rc_float_value(i) == 1000000007.0);
    assert_true(rc_float_value(rc_true) == 1.0);
    assert_true(rc_float_value(rc_false) == 0.0);
    clear_error();
    assert_true(rc_float_value(rc_none) == 0.0);
    ERROR_HAS("rc_float_value: expected a float or an int, got NoneType");
    clear_error();
    assert_true(rc_float_value(NULL) == 0.0);
    ERROR_HAS("got NULL");
    /* floats are never cached: two equal values are two objects */
    void *g = rc_float_new(-2.25);
    assert_ptr_not_equal(f, g);
    assert_true(rc_equal(f, g));
    rc_decref(g);
    rc_decref(f);
    rc_decref(i);
}

static void test_float_repr(void **state) {
    (void)state;
    struct { double v; const char *text; } cases[] = {
        {0.1, "0.1"},
        {1e16, "1e+16"},
        {1.5e-07, "1.5e-07"},
        {100.5, "100.5"},
        {-0.0, "-0.0"},
        {0.0, "0.0"},
        {1.0, "1.0"},
        {1e22, "1e+22"},
        {1.0 / 3, "0.3333333333333333"},
        {9007199254740994.0, "9007199254740994.0"},
        {0.0001, "0.0001"},
        {1e-05, "1e-05"},
        {123456789012345.6, "123456789012345.6"},
        {1e15, "1000000000000000.0"},
        {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        /* powers of two, where the values that read back as v reach half
         * as far below it as above: the shortest digits round up */
        {0x1p-24, "5.960464477539063e-08"},
        {-0x1p-44, "-5.684341886080802e-14"},
        {0x1p-1022, "2.2250738585072014e-308"},
        {2.225073858507201e-308, "2.225073858507201e-308"},
        {0x1p1023, "8.98846567431158e+307"},
        {0x1p60, "1.152921504606847e+18"},
        {0x1p54, "1.8014398509481984e+16"},
        {0x1p-14, "6.103515625e-05"},
        {0.3, "0.3"},
        {2.0 / 3, "0.6666666666666666"},
        {9.999999999999999e-05, "9.999999999999999e-05"},
        {9999999999999998.0, "9999999999999998.0"},
        {123.456789, "123.456789"},
        {1.1, "1.1"},
        {4.35, "4.35"},
        {0.1 + 0.2, "0.30000000000000004"},
        {1e23, "1e+23"},
        {8.41e21, "8.41e+21"},
        {5e-310, "5e-310"},
        {1.2345678901234567e-5, "1.2345678901234568e-05"},
        {-12.5, "-12.5"},
        {3.0000000000000004, "3.0000000000000004"},
        {INFINITY, "inf"},
        {-INFINITY, "-inf"},
        {NAN, "nan"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        void *x = rc_float_new(cases[i].v);
        REPR_EQ(x, cases[i].text);
        rc_decref(x);
    }
}

/* For random doubles of every magnitude: the repr reads back as the same
 * double, and no decimal with one digit fewer does (the shortest form).
 * (A run of a million values against python3's repr agreed exactly.) */
static void test_float_repr_round_trip(void **state) {
    (void)state;
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (int k = 0; k < 200000; k++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v;
        if (k % 2) {
            memcpy(&v, &x, sizeof v);
            if (!isfinite(v)) continue;
        } else {
            v = (double)(x >> 11) * 0x1p-53 * pow(10.0, (double)(int)(x % 40) - 20.0);
        }
        void *f = rc_float_new(v), *r = rc_repr(f);
        const char *text = rc_str_cstr(r);
        if (strtod(text, NULL) != v) fail_msg("repr %s of %a does not read back", text, v);
        /* the significant digits, one fewer (correctly rounded) must not read back */
        int digits = 0;
        for (const char *p = text; *p && *p != 'e'; p++)
            if (*p >= '0' && *p <= '9' && (digits || *p != '0')) digits++;
        const char *dot = strchr(text, '.');
        bool integral = dot && !strcmp(dot, ".0");
        if (digits > 1 && !integral) {
            char shorter[40];
            snprintf(shorter, sizeof shorter, "%.*e", digits - 2, v);
            if (strtod(shorter, NULL) == v) fail_msg("repr %s of %a is not the shortest (%s)", text, v, shorter);
        }
        rc_decref(r);
        rc_decref(f);
    }
}

/* The hash python3's hash() gives, for an int. */
static void int_hash_is(int64_t v, int64_t expected) {
    void *x = rc_int_new(v);
    assert_int_equal(rc_hash(x), expected);
    rc_decref(x);
}

static void float_hash_is(double v, int64_t expected) {
    void *x = rc_float_new(v);
    assert_int_equal(rc_hash(x), expected);
    rc_decref(x);
}

static void test_hash_matches_python(void **state) {
    (void)state;
    int_hash_is(0, 0);
    int_hash_is(1, 1);
    int_hash_is(-1, -2); /* -1 is reserved */
    int_hash_is(-2, -2);
    int_hash_is(((int64_t)1 << 61) - 1, 0);
    int_hash_is((int64_t)1 << 61, 1);
    int_hash_is(((int64_t)1 << 61) + 5, 6);
    int_hash_is(-((int64_t)1 << 61), -2);
    int_hash_is(INT64_MAX, 3);
    int_hash_is(INT64_MIN, -4);
    int_hash_is(12345678901234567, 12345678901234567);
    float_hash_is(0.1, 230584300921369408);
    float_hash_is(1.5, 1152921504606846977);
    float_hash_is(-1.5, -1152921504606846977);
    float_hash_is(1e16, 10000000000000000);
    float_hash_is(1e22, 1864712049423028464);
    float_hash_is(1e300, 1224995262755759164);
    float_hash_is(-0.0, 0);
    float_hash_is(INFINITY, 314159);
    float_hash_is(-INFINITY, -314159);
    float_hash_is(ldexp(1.0, 70), 512);
    float_hash_is(5e-324, 16777216);
    float_hash_is(123.456, 1051464412201451643);
    /* equal numbers hash equal: hash(1) == hash(1.0) == hash(True) */
    void *one = rc_int_new(1), *onef = rc_float_new(1.0);
    assert_int_equal(rc_hash(one), 1);
    assert_int_equal(rc_hash(onef), 1);
    assert_int_equal(rc_hash(rc_true), 1);
    assert_int_equal(rc_hash(rc_false), 0);
    rc_decref(onef);
    void *big = rc_int_new((int64_t)1 << 60), *bigf = rc_float_new(ldexp(1.0, 60));
    assert_int_equal(rc_hash(big), rc_hash(bigf));
    rc_decref(big);
    rc_decref(bigf);
    void *mone = rc_int_new(-1), *monef = rc_float_new(-1.0);
    assert_int_equal(rc_hash(mone), rc_hash(monef));
    assert_int_equal(rc_hash(monef), -2);
    rc_decref(monef);
    clear_error();
    assert_int_equal(rc_hash(NULL), -1);
    ERROR_HAS("rc_hash: object is NULL");
}

static void test_equal_across_types(void **state) {
    (void)state;
    void *i1 = rc_int_new(1), *f1 = rc_float_new(1.0), *f15 = rc_float_new(1.5), *i0 = rc_int_new(0);
    void *fneg0 = rc_float_new(-0.0), *nan1 = rc_float_new(NAN), *nan2 = rc_float_new(NAN);
    void *big = rc_int_new(9007199254740993), *bigf = rc_float_new(9007199254740992.0);
    assert_true(rc_equal(i1, f1));
    assert_true(rc_equal(f1, i1));
    assert_true(rc_equal(rc_true, i1));
    assert_true(rc_equal(rc_true, f1));
    assert_true(rc_equal(rc_false, i0));
    assert_true(rc_equal(rc_false, fneg0));
    assert_true(rc_equal(i0, fneg0));
    assert_false(rc_equal(i1, f15));
    assert_false(rc_equal(rc_true, rc_false));
    assert_false(rc_equal(nan1, nan2));   /* NaN != NaN */
    assert_true(rc_equal(nan1, nan1));    /* identity first, as Python's containers */
    assert_false(rc_equal(big, bigf));    /* 2**53 + 1 != 2.0**53: no rounding */
    assert_false(rc_equal(i0, rc_none));
    assert_false(rc_equal(i0, NULL));
    assert_true(rc_equal(NULL, NULL));
    void *s = rc_str_from_cstr("1");
    assert_false(rc_equal(s, i1));
    rc_decref(s);
    rc_decref(f1);
    rc_decref(f15);
    rc_decref(fneg0);
    rc_decref(nan1);
    rc_decref(nan2);
    rc_decref(big);
    rc_decref(bigf);
}

static int compare(const void *a, const void *b) {
    int r = 99;
    assert_int_equal(rc_compare(a, b, &r), 0);
    return r;
}

static void test_compare(void **state) {
    (void)state;
    void *i2 = rc_int_new(2), *i3 = rc_int_new(3), *f25 = rc_float_new(2.5), *fm = rc_float_new(-1e300);
    assert_int_equal(compare(i2, i3), -1);
    assert_int_equal(compare(i3, i2), 1);
    assert_int_equal(compare(i2, i2), 0);
    assert_int_equal(compare(i2, f25), -1);
    assert_int_equal(compare(f25, i3), -1);
    assert_int_equal(compare(f25, i2), 1);
    assert_int_equal(compare(fm, rc_false), -1);
    assert_int_equal(compare(rc_true, rc_false), 1);
    assert_int_equal(compare(rc_true, i2), -1);
    /* exact at 2**53 + 1, where (double)i would round to 2**53 */
    void *big = rc_int_new(9007199254740993), *bigf = rc_float_new(9007199254740992.0);
    assert_int_equal(compare(big, bigf), 1);
    assert_int_equal(compare(bigf, big), -1);
    /* the ends of int64 against 2**63 */
    void *imax = rc_int_new(INT64_MAX), *imin = rc_int_new(INT64_MIN);
    void *two63 = rc_float_new(9223372036854775808.0), *mtwo63 = rc_float_new(-9223372036854775808.0);
    assert_int_equal(compare(imax, two63), -1);
    assert_int_equal(compare(two63, imax), 1);
    assert_int_equal(compare(imin, mtwo63), 0);
    void *inf = rc_float_new(INFINITY), *ninf = rc_float_new(-INFINITY);
    assert_int_equal(compare(imax, inf), -1);
    assert_int_equal(compare(imin, ninf), 1);
    /* NaN is unordered: rc_compare calls it equal (a stable sort keeps it in place) */
    void *nan = rc_float_new(NAN);
    assert_int_equal(compare(nan, i2), 0);
    assert_int_equal(compare(i2, nan), 0);
    assert_int_equal(compare(nan, nan), 0);
    /* types with no order between them */
    void *s = rc_str_from_cstr("a");
    int r = 42;
    clear_error();
    assert_int_equal(rc_compare(s, i2, &r), -1);
    ERROR_HAS("rc_compare: '<' not supported between 'str' and 'int'");
    assert_int_equal(r, 42);
    clear_error();
    assert_int_equal(rc_compare(i2, rc_none, &r), -1);
    ERROR_HAS("rc_compare: '<' not supported between 'int' and 'NoneType'");
    clear_error();
    assert_int_equal(rc_compare(i2, NULL, &r), -1);
    ERROR_HAS("rc_compare: object is NULL");
    clear_error();
    assert_int_equal(rc_compare(i2, i3, NULL), -1);
    ERROR_HAS("rc_compare: result is NULL");
    rc_decref(s);
    rc_decref(f25);
    rc_decref(fm);
    rc_decref(big);
    rc_decref(bigf);
    rc_decref(imax);
    rc_decref(imin);
    rc_decref(two63);
    rc_decref(mtwo63);
    rc_decref(inf);
    rc_decref(ninf);
    rc_decref(nan);
}

static void test_numbers_not_containers(void **state) {
    (void)state;
    void *x = rc_int_new(1000);
    clear_error();
    assert_int_equal(rc_len(x), -1);
    ERROR_HAS("rc_len: object of type 'int' has no len()");
    clear_error();
    assert_int_equal(rc_contains(x, x), -1);
    ERROR_HAS("rc_contains: argument of type 'int' is not a container");
    clear_error();
    assert_null(rc_iter(x));
    ERROR_HAS("rc_iter: 'int' object is not iterable");
    clear_error();
    assert_null(rc_iter(rc_none));
    ERROR_HAS("'NoneType' object is not iterable");
    assert_int_equal(rc_refcount(x), 1);
    rc_decref(x);
    /* sizes: header + 8-byte payload, as small as CPython's */
    void *f = rc_float_new(1.0);
    assert_true(rc_sizeof(f) <= 32);
    rc_decref(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        TYPES_TEST(test_singletons),         TYPES_TEST(test_small_int_cache),
        TYPES_TEST(test_int_repr),           TYPES_TEST(test_int_value_errors),
        TYPES_TEST(test_float_value),        TYPES_TEST(test_float_repr),
        TYPES_TEST(test_float_repr_round_trip),
        TYPES_TEST(test_hash_matches_python), TYPES_TEST(test_equal_across_types),
        TYPES_TEST(test_compare),            TYPES_TEST(test_numbers_not_containers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
