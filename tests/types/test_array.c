/*
 * test_array.c — typed arrays (reclaim.h section 6.8) and what arrays
 * answer to rc_len, rc_contains, rc_iter, rc_repr, rc_equal and rc_hash.
 *
 * Tests that need rc_list (rc_array_from_iter of a list, rc_array_to_list)
 * skip themselves while src/types/list.c is still a scaffold.
 */
#include <math.h>
#include <unistd.h>

#include "types_util.h"
#include "internal/heap.h"
#include "internal/types.h"

#define NDT 10
static const rc_dtype ALL[NDT] = {RC_INT8,   RC_INT16,  RC_INT32,  RC_INT64,   RC_UINT8,
                                  RC_UINT16, RC_UINT32, RC_UINT64, RC_FLOAT32, RC_FLOAT64};
static const char *const NAMES[NDT] = {"int8",  "int16",  "int32",  "int64",   "uint8",
                                       "uint16", "uint32", "uint64", "float32", "float64"};

/* AddressSanitizer adds a shadow byte per 8 bytes touched to the RSS. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_SHADOW 8
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_SHADOW 8
#endif
#endif
#ifndef RSS_SHADOW
#define RSS_SHADOW 0
#endif

static bool is_float_dt(rc_dtype d) { return d == RC_FLOAT32 || d == RC_FLOAT64; }

/* A list, or skip the test while list.c is a scaffold. */
static void *list_or_skip(void) {
    void *l = rc_list_new();
    if (!l) {
        clear_error();
        skip();
    }
    return l;
}

/* The memory tests measure reclaim's own heap: skip them when
 * RECLAIM_MALLOC selects the debug allocator or the system malloc. */
static void skip_unless_default_heap(void) {
    const char *m = getenv("RECLAIM_MALLOC");
    if (m && *m && strcmp(m, "default") != 0) skip();
}

static size_t rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    assert_non_null(f);
    unsigned long size = 0, resident = 0;
    assert_int_equal(fscanf(f, "%lu %lu", &size, &resident), 2);
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* {==== dtypes, creation ==== */

static void test_dtype_sizes(void **state) {
    (void)state;
    static const size_t sizes[NDT] = {1, 2, 4, 8, 1, 2, 4, 8, 4, 8};
    for (int k = 0; k < NDT; k++) assert_int_equal(rc_dtype_size(ALL[k]), sizes[k]);
    clear_error();
    assert_int_equal(rc_dtype_size((rc_dtype)10), 0);
    ERROR_HAS("rc_dtype_size: bad dtype 10");
    assert_int_equal(rc_dtype_size((rc_dtype)-1), 0);
}

static void test_new_is_zeroed_every_dtype(void **state) {
    (void)state;
    static const size_t lens[] = {0, 1, 3, 64, 65, 1000, 100000};
    for (int k = 0; k < NDT; k++) {
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
            size_t n = lens[l];
            void *a = rc_array_new(ALL[k], n);
            assert_non_null(a);
            assert_ptr_equal(rc_type_of(a), &rc_array_type);
            assert_int_equal(rc_array_len(a), n);
            assert_int_equal(rc_array_dtype(a), ALL[k]);
            assert_int_equal(rc_refcount(a), 1);
            assert_false(rc_gc_is_tracked(a));
            unsigned char *d = rc_array_data(a);
            assert_non_null(d);
            assert_int_equal((uintptr_t)d % 16, 0);
            for (size_t i = 0; i < n * rc_dtype_size(ALL[k]); i++) assert_int_equal(d[i], 0);
            if (n) {
                assert_true(rc_array_get(a, 0) == 0.0);
                assert_true(rc_array_get(a, -1) == 0.0);
                assert_int_equal(rc_array_get_int(a, (int64_t)n - 1), 0);
            }
            rc_decref(a);
        }
    }
}

static void test_new_bad_arguments(void **state) {
    (void)state;
    clear_error();
    assert_null(rc_array_new((rc_dtype)42, 3));
    ERROR_HAS("rc_array_new: bad dtype 42");
    clear_error();
    assert_null(rc_array_new(RC_FLOAT64, SIZE_MAX / 4));
    ERROR_HAS("rc_array_new: ");
    ERROR_HAS("do not fit in memory");
    clear_error();
    assert_null(rc_array_from_buffer((rc_dtype)-3, "", 0));
    ERROR_HAS("rc_array_from_buffer: bad dtype -3");
    clear_error();
    assert_null(rc_array_from_buffer(RC_INT8, NULL, 2));
    ERROR_HAS("rc_array_from_buffer: data is NULL");
    void *e = rc_array_from_buffer(RC_INT8, NULL, 0);
    assert_non_null(e);
    assert_int_equal(rc_array_len(e), 0);
    rc_decref(e);
    clear_error();
    assert_null(rc_array_from_iter((rc_dtype)99, e));
    ERROR_HAS("rc_array_from_iter: bad dtype 99");
    clear_error();
    assert_null(rc_array_from_iter(RC_INT8, NULL));
    ERROR_HAS("rc_array_from_iter: iterable is NULL");
    void *i = rc_int_new(1000);
    clear_error();
    assert_null(rc_array_from_iter(RC_INT8, i));
    ERROR_HAS("not iterable");
    rc_decref(i);
}

static void test_inline_storage_is_one_block(void **state) {
    (void)state;
    void *a = rc_array_new(RC_FLOAT64, 4);
    /* header 16 + payload 32 + 32 bytes of elements, in one block */
    assert_int_equal(rc_sizeof(a), 80);
    char *d = rc_array_data(a);
    assert_true(d > (char *)a && d < (char *)a + 80);
    rc_decref(a);
    void *big = rc_array_new(RC_FLOAT64, 1000);
    assert_int_equal(rc_sizeof(big), 48); /* the elements are elsewhere */
    rc_decref(big);
    void *e = rc_array_new(RC_INT8, 0);
    assert_int_equal(rc_sizeof(e), 48);
    assert_non_null(rc_array_data(e));
    rc_decref(e);
}

static void test_from_buffer_copies(void **state) {
    (void)state;
    int16_t src[5] = {-32768, -1, 0, 1, 32767};
    void *a = rc_array_from_buffer(RC_INT16, src, 5);
    assert_non_null(a);
    assert_ptr_not_equal(rc_array_data(a), src);
    src[0] = 7;
    assert_int_equal(rc_array_get_int(a, 0), -32768);
    assert_int_equal(rc_array_get_int(a, 4), 32767);
    assert_true(rc_array_get(a, 1) == -1.0);
    rc_decref(a);

    enum { N = 5000 };
    double *big = malloc(N * sizeof *big);
    for (int i = 0; i < N; i++) big[i] = i * 0.5;
    a = rc_array_from_buffer(RC_FLOAT64, big, N);
    assert_non_null(a);
    assert_memory_equal(rc_array_data(a), big, N * sizeof *big);
    free(big);
    assert_true(rc_array_get(a, N - 1) == (N - 1) * 0.5);
    rc_decref(a);
}
/* }==== */

/* {==== get, set, conversions ==== */

typedef struct bounds {
    rc_dtype d;
    int64_t lo, hi;
    bool lo_below_fails, hi_above_fails;
} bounds;

static void test_set_int_boundaries_every_integer_dtype(void **state) {
    (void)state;
    static const bounds b[] = {
        {RC_INT8, -128, 127, true, true},
        {RC_INT16, -32768, 32767, true, true},
        {RC_INT32, INT32_MIN, INT32_MAX, true, true},
        {RC_INT64, INT64_MIN, INT64_MAX, false, false},
        {RC_UINT8, 0, 255, true, true},
        {RC_UINT16, 0, 65535, true, true},
        {RC_UINT32, 0, UINT32_MAX, true, true},
        {RC_UINT64, 0, INT64_MAX, true, false},
    };
    for (size_t k = 0; k < sizeof b / sizeof b[0]; k++) {
        void *a = rc_array_new(b[k].d, 2);
        assert_int_equal(rc_array_set_int(a, 0, b[k].lo), 0);
        assert_int_equal(rc_array_set_int(a, -1, b[k].hi), 0);
        assert_int_equal(rc_array_get_int(a, 0), b[k].lo);
        assert_int_equal(rc_array_get_int(a, 1), b[k].hi);
        assert_true(rc_array_get(a, 0) == (double)b[k].lo);
        assert_true(rc_array_get(a, 1) == (double)b[k].hi);
        if (b[k].lo_below_fails) {
            clear_error();
            assert_int_equal(rc_array_set_int(a, 0, b[k].lo - 1), -1);
            ERROR_HAS("rc_array_set_int: ");
            ERROR_HAS("out of range for ");
            ERROR_HAS(NAMES[k]);
            assert_int_equal(rc_array_get_int(a, 0), b[k].lo); /* nothing stored */
            assert_int_equal(rc_array_set(a, 0, (double)b[k].lo - 1.0), -1);
            ERROR_HAS("rc_array_set: ");
            assert_int_equal(rc_array_get_int(a, 0), b[k].lo);
            assert_int_equal(rc_array_append_int(a, b[k].lo - 1), -1);
            assert_int_equal(rc_array_len(a), 2);
        }
        if (b[k].hi_above_fails) {
            clear_error();
            assert_int_equal(rc_array_set_int(a, 1, b[k].hi + 1), -1);
            ERROR_HAS("out of range");
            assert_int_equal(rc_array_get_int(a, 1), b[k].hi);
            assert_int_equal(rc_array_set(a, 1, (double)b[k].hi + 1.0), -1);
            assert_int_equal(rc_array_get_int(a, 1), b[k].hi);
        }
        rc_decref(a);
    }
    void *i8 = rc_array_new(RC_INT8, 1);
    clear_error();
    assert_int_equal(rc_array_set_int(i8, 0, 128), -1);
    assert_string_equal(rc_last_error(), "rc_array_set_int: 128 out of range for int8");
    rc_decref(i8);
}

static void test_uint64_beyond_int64(void **state) {
    (void)state;
    void *a = rc_array_new(RC_UINT64, 2);
    /* -1 cannot be stored, and set_int cannot reach above INT64_MAX */
    clear_error();
    assert_int_equal(rc_array_set_int(a, 0, -1), -1);
    assert_string_equal(rc_last_error(), "rc_array_set_int: -1 out of range for uint64");
    /* the largest double below 2^64 fits; 2^64 does not */
    assert_int_equal(rc_array_set(a, 0, 18446744073709549568.0), 0);
    assert_true(rc_array_get(a, 0) == 18446744073709549568.0);
    assert_int_equal(rc_array_set(a, 1, 18446744073709551616.0), -1);
    ERROR_HAS("out of range for uint64");
    clear_error();
    assert_int_equal(rc_array_get_int(a, 0), 0);
    ERROR_HAS("rc_array_get_int: element 0 (18446744073709549568) does not fit in an int64");
    uint64_t max = UINT64_MAX;
    void *m = rc_array_from_buffer(RC_UINT64, &max, 1);
    assert_true(rc_array_get(m, 0) == 18446744073709551616.0);
    clear_error();
    assert_int_equal(rc_array_get_int(m, 0), 0);
    ERROR_HAS("(18446744073709551615) does not fit in an int64");
    REPR_EQ(m, "array('Q', [18446744073709551615])");
    rc_decref(m);
    rc_decref(a);
}

static void test_double_to_integer_conversion(void **state) {
    (void)state;
    void *a = rc_array_new(RC_INT32, 1);
    assert_int_equal(rc_array_set(a, 0, 2.7), 0);
    assert_int_equal(rc_array_get_int(a, 0), 2);
    assert_int_equal(rc_array_set(a, 0, -2.7), 0);
    assert_int_equal(rc_array_get_int(a, 0), -2);
    clear_error();
    assert_int_equal(rc_array_set(a, 0, NAN), -1);
    assert_string_equal(rc_last_error(), "rc_array_set: nan cannot be converted to int32");
    assert_int_equal(rc_array_get_int(a, 0), -2);
    assert_int_equal(rc_array_set(a, 0, INFINITY), -1);
    ERROR_HAS("inf cannot be converted to int32");
    assert_int_equal(rc_array_set(a, 0, -INFINITY), -1);
    assert_int_equal(rc_array_set(a, 0, 2147483647.9), 0);
    assert_int_equal(rc_array_get_int(a, 0), INT32_MAX);
    assert_int_equal(rc_array_set(a, 0, 2147483648.0), -1);
    assert_string_equal(rc_last_error(), "rc_array_set: 2147483648 out of range for int32");
    assert_int_equal(rc_array_append(a, NAN), -1);
    assert_int_equal(rc_array_len(a), 1);
    rc_decref(a);

    void *b = rc_array_new(RC_INT8, 1);
    assert_int_equal(rc_array_set(b, 0, 127.9), 0);
    assert_int_equal(rc_array_get_int(b, 0), 127);
    assert_int_equal(rc_array_set(b, 0, -128.9), 0);
    assert_int_equal(rc_array_get_int(b, 0), -128);
    assert_int_equal(rc_array_set(b, 0, 128.0), -1);
    assert_int_equal(rc_array_set(b, 0, -129.0), -1);
    clear_error();
    assert_int_equal(rc_array_set(b, 0, 128.5), -1);
    assert_string_equal(rc_last_error(), "rc_array_set: 128.5 out of range for int8");
    rc_decref(b);

    void *u = rc_array_new(RC_UINT8, 1);
    assert_int_equal(rc_array_set(u, 0, -0.5), 0);
    assert_int_equal(rc_array_get_int(u, 0), 0);
    assert_int_equal(rc_array_set(u, 0, -1.0), -1);
    assert_int_equal(rc_array_set(u, 0, 255.99), 0);
    assert_int_equal(rc_array_get_int(u, 0), 255);
    rc_decref(u);

    void *q = rc_array_new(RC_INT64, 1);
    assert_int_equal(rc_array_set(q, 0, -9223372036854775808.0), 0);
    assert_int_equal(rc_array_get_int(q, 0), INT64_MIN);
    assert_int_equal(rc_array_set(q, 0, 9223372036854775808.0), -1);
    rc_decref(q);
}

static void test_float_elements(void **state) {
    (void)state;
    void *f = rc_array_new(RC_FLOAT32, 4);
    assert_int_equal(rc_array_set(f, 0, 0.1), 0);
    assert_true(rc_array_get(f, 0) == (double)0.1f);
    assert_int_equal(rc_array_set(f, 1, 1e300), 0); /* narrowing: to inf */
    assert_true(isinf(rc_array_get(f, 1)) && rc_array_get(f, 1) > 0);
    assert_int_equal(rc_array_set(f, 2, -1e300), 0);
    assert_true(isinf(rc_array_get(f, 2)) && rc_array_get(f, 2) < 0);
    assert_int_equal(rc_array_set(f, 3, NAN), 0);
    assert_true(isnan(rc_array_get(f, 3)));
    /* get_int of floats: truncated; NaN and inf are errors */
    assert_int_equal(rc_array_set(f, 0, -7.9), 0);
    assert_int_equal(rc_array_get_int(f, 0), -7);
    clear_error();
    assert_int_equal(rc_array_get_int(f, 3), 0);
    ERROR_HAS("rc_array_get_int: element 3 (nan) does not fit in an int64");
    assert_int_equal(rc_array_get_int(f, 1), 0);
    ERROR_HAS("(inf)");
    assert_int_equal(rc_array_set_int(f, 0, 16777217), 0); /* rounds to 2^24 */
    assert_true(rc_array_get(f, 0) == 16777216.0);
    rc_decref(f);

    void *d = rc_array_new(RC_FLOAT64, 1);
    assert_int_equal(rc_array_set_int(d, 0, INT64_MAX), 0);
    assert_true(rc_array_get(d, 0) == 9223372036854775808.0);
    clear_error();
    assert_int_equal(rc_array_get_int(d, 0), 0);
    ERROR_HAS("does not fit in an int64");
    assert_int_equal(rc_array_set(d, 0, 1e308), 0);
    assert_true(rc_array_get(d, 0) == 1e308);
    rc_decref(d);
}

static void test_bad_index(void **state) {
    (void)state;
    void *a = rc_array_new(RC_INT64, 3);
    for (int i = 0; i < 3; i++) assert_int_equal(rc_array_set_int(a, i, 10 + i), 0);
    assert_int_equal(rc_array_get_int(a, -1), 12);
    assert_int_equal(rc_array_get_int(a, -3), 10);
    clear_error();
    assert_true(isnan(rc_array_get(a, 7)));
    assert_string_equal(rc_last_error(), "rc_array_get: index 7 out of range (len 3)");
    clear_error();
    assert_int_equal(rc_array_get_int(a, -4), 0);
    assert_string_equal(rc_last_error(), "rc_array_get_int: index -4 out of range (len 3)");
    clear_error();
    assert_int_equal(rc_array_set(a, 3, 1.0), -1);
    assert_string_equal(rc_last_error(), "rc_array_set: index 3 out of range (len 3)");
    clear_error();
    assert_int_equal(rc_array_set_int(a, INT64_MIN, 1), -1);
    ERROR_HAS("rc_array_set_int: index");
    void *e = rc_array_new(RC_INT64, 0);
    clear_error();
    assert_true(isnan(rc_array_get(e, 0)));
    assert_string_equal(rc_last_error(), "rc_array_get: index 0 out of range (len 0)");
    rc_decref(e);
    rc_decref(a);
}

static void test_wrong_argument_types(void **state) {
    (void)state;
    void *s = rc_str_from_cstr("text");
    void *objs[2] = {NULL, s};
    const char *got[2] = {"got NULL", "got str"};
    for (int k = 0; k < 2; k++) {
        void *o = objs[k];
        clear_error();
        assert_int_equal(rc_array_len(o), 0);
        ERROR_HAS("rc_array_len: expected an array");
        ERROR_HAS(got[k]);
        assert_int_equal((int)rc_array_dtype(o), -1);
        ERROR_HAS("rc_array_dtype: expected an array");
        assert_null(rc_array_data(o));
        ERROR_HAS("rc_array_data: expected an array");
        assert_true(isnan(rc_array_get(o, 0)));
        ERROR_HAS("rc_array_get: expected an array");
        assert_int_equal(rc_array_get_int(o, 0), 0);
        ERROR_HAS("rc_array_get_int: expected an array");
        assert_int_equal(rc_array_set(o, 0, 1.0), -1);
        ERROR_HAS("rc_array_set: expected an array");
        assert_int_equal(rc_array_set_int(o, 0, 1), -1);
        ERROR_HAS("rc_array_set_int: expected an array");
        assert_int_equal(rc_array_append(o, 1.0), -1);
        ERROR_HAS("rc_array_append: expected an array");
        assert_int_equal(rc_array_append_int(o, 1), -1);
        ERROR_HAS("rc_array_append_int: expected an array");
        assert_null(rc_array_view(o, 0, 1));
        ERROR_HAS("rc_array_view: expected an array");
        assert_null(rc_array_to_list(o));
        ERROR_HAS("rc_array_to_list: expected an array");
        assert_true(isnan(rc_array_sum(o)));
        ERROR_HAS("rc_array_sum: expected an array");
        assert_true(isnan(rc_array_min(o)));
        ERROR_HAS("rc_array_min: expected an array");
        assert_true(isnan(rc_array_max(o)));
        ERROR_HAS("rc_array_max: expected an array");
        assert_true(isnan(rc_array_mean(o)));
        ERROR_HAS("rc_array_mean: expected an array");
        ERROR_HAS(got[k]);
    }
    rc_decref(s);
}
/* }==== */

/* {==== append and growth ==== */

static void test_append_grows_from_inline_to_heap(void **state) {
    (void)state;
    void *a = rc_array_new(RC_INT32, 3);
    for (int i = 0; i < 3; i++) rc_array_set_int(a, i, -i);
    for (int i = 3; i < 5000; i++) assert_int_equal(rc_array_append_int(a, i % 2 ? i : -i), 0);
    assert_int_equal(rc_array_len(a), 5000);
    for (int i = 0; i < 5000; i++) assert_int_equal(rc_array_get_int(a, i), i % 2 && i >= 3 ? i : -i);
    assert_int_equal(rc_sizeof(a), 64); /* still the same (inline) block */
    rc_decref(a);

    void *e = rc_array_new(RC_UINT8, 0);
    assert_int_equal(rc_array_append(e, 255.5), 0);
    assert_int_equal(rc_array_append_int(e, 0), 0);
    clear_error();
    assert_int_equal(rc_array_append_int(e, 256), -1);
    assert_string_equal(rc_last_error(), "rc_array_append_int: 256 out of range for uint8");
    assert_int_equal(rc_array_append(e, -1.0), -1);
    ERROR_HAS("rc_array_append: -1 out of range for uint8");
    assert_int_equal(rc_array_len(e), 2);
    assert_int_equal(rc_array_get_int(e, 0), 255);
    rc_decref(e);
}

/* A value that does not convert fails before the array grows: a full
 * array's buffer does not move (rc_array_data stays valid, as the
 * contract promises until the array grows), and nothing changes. */
static void test_failed_append_to_full_array_keeps_buffer(void **state) {
    (void)state;
    void *a = rc_array_new(RC_INT8, 16); /* inline, and full: the block holds 16 bytes of elements */
    for (int i = 0; i < 16; i++) assert_int_equal(rc_array_set_int(a, i, i), 0);
    void *data = rc_array_data(a);
    clear_error();
    assert_int_equal(rc_array_append_int(a, 1000), -1);
    assert_string_equal(rc_last_error(), "rc_array_append_int: 1000 out of range for int8");
    assert_ptr_equal(rc_array_data(a), data);
    clear_error();
    assert_int_equal(rc_array_append(a, NAN), -1);
    assert_string_equal(rc_last_error(), "rc_array_append: nan cannot be converted to int8");
    assert_ptr_equal(rc_array_data(a), data);
    assert_int_equal(rc_array_append(a, 300.0), -1);
    ERROR_HAS("rc_array_append: 300 out of range for int8");
    assert_ptr_equal(rc_array_data(a), data);
    assert_int_equal(rc_array_len(a), 16);
    for (int i = 0; i < 16; i++) assert_int_equal(rc_array_get_int(a, i), i);
    /* a value that converts still grows the array */
    assert_int_equal(rc_array_append_int(a, 16), 0);
    assert_int_equal(rc_array_len(a), 17);
    assert_int_equal(rc_array_get_int(a, 16), 16);
    rc_decref(a);
}

/* NaN prints as Python prints it, whatever its sign bit. */
static void test_negative_nan_message(void **state) {
    (void)state;
    void *a = rc_array_new(RC_INT16, 1);
    clear_error();
    assert_int_equal(rc_array_set(a, 0, -NAN), -1);
    assert_string_equal(rc_last_error(), "rc_array_set: nan cannot be converted to int16");
    rc_decref(a);
}

static void test_append_million_floats_small_to_mapped(void **state) {
    (void)state;
    skip_unless_default_heap();
    enum { N = 1000000 };
    rc_heap_stats before, during;
    rc_heap_trim();
    rc_heap_get_stats(&before);
    void *a = rc_array_new(RC_FLOAT64, 0);
    void *data = rc_array_data(a);
    size_t moves = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(rc_array_append(a, i * 0.25), 0);
        void *now = rc_array_data(a);
        if (now != data) {
            /* the buffer moved: the values so far moved with it */
            moves++;
            assert_true(((double *)now)[i / 2] == (i / 2) * 0.25);
            data = now;
        }
    }
    /* amortized growth: a few dozen reallocations for a million appends */
    assert_true(moves > 5 && moves < 80);
    assert_int_equal(rc_array_len(a), N);
    const double *d = rc_array_data(a);
    for (int i = 0; i < N; i++) assert_true(d[i] == i * 0.25);
    rc_heap_get_stats(&during);
    /* the buffer is a mapping of its own now, not much bigger than 8 MB */
    assert_true(during.large_blocks >= before.large_blocks + 1);
    assert_true(during.large_bytes >= before.large_bytes + 8000000);
    assert_true(during.large_bytes <= before.large_bytes + 8000000 + 8000000 / 2);
    assert_true(rc_array_sum(a) == 0.25 * ((double)N * (N - 1) / 2));
    rc_decref(a);
}

static void test_million_float64_cost_8_bytes_each(void **state) {
    (void)state;
    skip_unless_default_heap();
    enum { N = 1000000 };
    const size_t want = 8u * N, slack = 8u * N / 100;
    const size_t shadow = RSS_SHADOW ? want / RSS_SHADOW : 0;
    rc_heap_stats s0, s1;
    /* rc_array_new: heap stats and RSS, every page touched */
    rc_heap_trim(); /* no cached mappings: the array gets an exact one */
    size_t rss0 = rss_bytes();
    rc_heap_get_stats(&s0);
    void *a = rc_array_new(RC_FLOAT64, N);
    assert_non_null(a);
    double *d = rc_array_data(a);
    for (int i = 0; i < N; i++) d[i] = i;
    size_t rss1 = rss_bytes();
    rc_heap_get_stats(&s1);
    assert_true(s1.bytes_in_use - s0.bytes_in_use >= want);
    assert_true(s1.bytes_in_use - s0.bytes_in_use <= want + slack);
    assert_true(s1.large_bytes - s0.large_bytes <= want + slack);
    assert_true(rss1 - rss0 >= want - slack);
    assert_true(rss1 - rss0 <= want + slack + shadow);
    rc_decref(a);

    /* rc_array_from_buffer: the array's share, measured after the source
     * (from the heap too) exists */
    double *src = rc_malloc(N * sizeof(double));
    for (int i = 0; i < N; i++) src[i] = -i;
    rc_heap_trim();
    rc_heap_get_stats(&s0);
    rss0 = rss_bytes();
    a = rc_array_from_buffer(RC_FLOAT64, src, N);
    rss1 = rss_bytes();
    rc_heap_get_stats(&s1);
    assert_true(s1.bytes_in_use - s0.bytes_in_use >= want);
    assert_true(s1.bytes_in_use - s0.bytes_in_use <= want + slack);
    assert_true(rss1 - rss0 >= want - slack);
    assert_true(rss1 - rss0 <= want + slack + shadow);
    assert_true(rc_array_get(a, 12345) == -12345.0);
    rc_decref(a);
    rc_free(src);
}

static void test_big_array_memory_returns_to_os(void **state) {
    (void)state;
    skip_unless_default_heap();
    const size_t n = 100u << 20 >> 3; /* 100 MiB of float64 */
    rc_heap_trim();
    rc_heap_stats s0, s1, s2;
    rc_heap_get_stats(&s0);
    void *a = rc_array_new(RC_FLOAT64, n);
    assert_non_null(a);
    double *d = rc_array_data(a);
    for (size_t i = 0; i < n; i += 512) d[i] = 1.0;
    size_t rss1 = rss_bytes();
    rc_heap_get_stats(&s1);
    assert_true(s1.bytes_mapped - s0.bytes_mapped >= n * 8);
    assert_int_equal(s1.large_blocks, s0.large_blocks + 1);
    assert_true(rc_array_sum(a) == (double)(n / 512));
    rc_decref(a);
    size_t rss2 = rss_bytes();
    rc_heap_get_stats(&s2);
    assert_true(rss1 - rss2 >= n * 8 - (n * 8) / 20);
    assert_int_equal(s2.large_blocks, s0.large_blocks);
    assert_true(s2.bytes_mapped <= s0.bytes_mapped + (1u << 20));
}
static void test_out_of_memory_leaves_array_unchanged(void **state) {
    (void)state;
    skip_unless_default_heap();
    void *a = rc_array_new(RC_FLOAT64, 0);
    for (int i = 0; i < 100000; i++) assert_int_equal(rc_array_append(a, i), 0); /* mapped by now */
    rc_heap_trim(); /* no cached mapping to grow into */
    _rc_os_fail_nth(1);
    int failed_at = -1;
    void *data = NULL;
    for (int i = 100000; i < 1000000; i++) {
        data = rc_array_data(a);
        clear_error();
        if (rc_array_append(a, i) < 0) {
            failed_at = i;
            break;
        }
    }
    _rc_os_fail_nth(0);
    assert_true(failed_at > 0);
    ERROR_HAS("rc_array_append: out of memory growing to ");
    assert_int_equal(rc_array_len(a), failed_at);
    assert_ptr_equal(rc_array_data(a), data);
    for (int i = 0; i < failed_at; i++) assert_true(rc_array_get(a, i) == i);
    assert_int_equal(rc_array_append(a, failed_at), 0);
    assert_true(rc_array_get(a, -1) == failed_at);
    rc_decref(a);

    rc_heap_trim();
    _rc_os_fail_nth(1);
    clear_error();
    assert_null(rc_array_new(RC_FLOAT64, 1u << 20));
    _rc_os_fail_nth(0);
    ERROR_HAS("rc_array_new: out of memory for 1048576 elements of float64");
}
/* }==== */

/* {==== views ==== */

static void test_view_shares_buffer_both_ways(void **state) {
    (void)state;
    void *a = rc_array_new(RC_INT16, 6);
    for (int i = 0; i < 6; i++) rc_array_set_int(a, i, i * 10);
    void *v = rc_array_view(a, 1, 4);
    assert_non_null(v);
    assert_ptr_equal(rc_type_of(v), &rc_array_type);
    assert_false(rc_gc_is_tracked(v));
    assert_int_equal(rc_array_len(v), 3);
    assert_int_equal(rc_array_dtype(v), RC_INT16);
    assert_ptr_equal(rc_array_data(v), (int16_t *)rc_array_data(a) + 1);
    assert_int_equal(rc_refcount(a), 2);
    assert_int_equal(rc_refcount(v), 1);
    assert_int_equal(rc_array_get_int(v, 0), 10);
    assert_int_equal(rc_array_get_int(v, -1), 30);
    assert_int_equal(rc_array_set_int(v, 0, -1), 0);
    assert_int_equal(rc_array_get_int(a, 1), -1);
    assert_int_equal(rc_array_set_int(a, 3, 333), 0);
    assert_int_equal(rc_array_get_int(v, 2), 333);
    clear_error();
    assert_true(isnan(rc_array_get(v, 3)));
    assert_string_equal(rc_last_error(), "rc_array_get: index 3 out of range (len 3)");
    REPR_EQ(v, "array('h', [-1, 20, 333])");
    assert_true(rc_array_sum(v) == 352.0);
    /* the view keeps the base alive */
    rc_decref(a);
    assert_int_equal(rc_refcount(a), 1);
    assert_int_equal(rc_array_get_int(v, 1), 20);
    assert_int_equal(rc_array_set_int(v, 1, 21), 0);
    assert_int_equal(rc_array_get_int(v, 1), 21);
    rc_decref(v); /* frees both */
}

static void test_view_slices_clamp(void **state) {
    (void)state;
    void *a = rc_array_new(RC_UINT32, 5);
    for (int i = 0; i < 5; i++) rc_array_set_int(a, i, i);
    static const struct {
        int64_t start, stop;
        size_t len;
        int64_t first;
    } cases[] = {{-2, 100, 2, 3}, {4, 2, 0, 0}, {-100, 2, 2, 0},
                 {0, -1, 4, 0},   {5, 9, 0, 0}, {INT64_MIN, INT64_MAX, 5, 0}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        void *v = rc_array_view(a, cases[k].start, cases[k].stop);
        assert_non_null(v);
        assert_int_equal(rc_array_len(v), cases[k].len);
        if (cases[k].len) assert_int_equal(rc_array_get_int(v, 0), cases[k].first);
        assert_non_null(rc_array_data(v));
        rc_decref(v);
    }
    assert_int_equal(rc_refcount(a), 1);
    rc_decref(a);
}

static void test_view_of_view_refers_to_root(void **state) {
    (void)state;
    void *a = rc_array_new(RC_FLOAT64, 10);
    for (int i = 0; i < 10; i++) rc_array_set(a, i, i + 0.5);
    void *v1 = rc_array_view(a, 2, 8);
    void *v2 = rc_array_view(v1, 1, -1);
    assert_int_equal(rc_array_len(v2), 4);
    assert_true(rc_array_get(v2, 0) == 3.5);
    assert_int_equal(rc_refcount(a), 3);  /* v1 and v2 hold the root */
    assert_int_equal(rc_refcount(v1), 1); /* v2 does not hold v1 */
    rc_decref(v1);
    rc_decref(a);
    assert_int_equal(rc_refcount(a), 1);
    assert_true(rc_array_get(v2, 3) == 6.5);
    assert_int_equal(rc_array_set(v2, 0, -1.0), 0);
    void *v3 = rc_array_view(v2, 0, 1);
    assert_int_equal(rc_refcount(a), 2);
    assert_true(rc_array_get(v3, 0) == -1.0);
    rc_decref(v2);
    rc_decref(v3);
}

static void test_view_and_base_growth(void **state) {
    (void)state;
    void *a = rc_array_new(RC_INT64, 0);
    for (int i = 0; i < 100; i++) rc_array_append_int(a, i);
    void *v = rc_array_view(a, 0, 10);
    clear_error();
    assert_int_equal(rc_array_append_int(v, 1), -1);
    ERROR_HAS("rc_array_append_int: a view cannot grow");
    assert_int_equal(rc_array_append(v, 1.0), -1);
    ERROR_HAS("rc_array_append: a view cannot grow");
    assert_int_equal(rc_array_len(v), 10);
    /* the base has spare capacity, but a live view forbids growth anyway */
    clear_error();
    assert_int_equal(rc_array_append_int(a, 100), -1);
    assert_string_equal(rc_last_error(),
                        "rc_array_append_int: the array has 1 live view sharing its buffer, so it cannot grow");
    void *w = rc_array_view(v, 2, 3);
    assert_int_equal(rc_array_append(a, 100.0), -1);
    ERROR_HAS("2 live views");
    assert_int_equal(rc_array_len(a), 100);
    /* setting through the base is fine */
    assert_int_equal(rc_array_set_int(a, 2, -2), 0);
    assert_int_equal(rc_array_get_int(w, 0), -2);
    rc_decref(v);
    assert_int_equal(rc_array_append_int(a, 100), -1);
    rc_decref(w);
    /* no view left: the base grows again */
    for (int i = 100; i < 10000; i++) assert_int_equal(rc_array_append_int(a, i), 0);
    assert_int_equal(rc_array_get_int(a, 9999), 9999);
    assert_int_equal(rc_array_get_int(a, 2), -2);
    rc_decref(a);
}
/* }==== */

/* {==== reductions ==== */

/* Fill element i of a with value v (within every dtype's range). */
static void put(void *a, size_t i, int64_t v) { assert_int_equal(rc_array_set_int(a, (int64_t)i, v), 0); }

static void test_reductions_every_dtype_and_length(void **state) {
    (void)state;
    static const size_t lens[] = {1, 2, 7, 8, 9, 15, 16, 17, 127, 128, 129, 255, 1000, 4099};
    for (int k = 0; k < NDT; k++) {
        rc_dtype d = ALL[k];
        bool is_signed = d <= RC_INT64 || is_float_dt(d);
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
            size_t n = lens[l];
            /* the extremes go to the last position (the scalar tail), then
             * the first, then the middle */
            for (int where = 0; where < 3; where++) {
                void *a = rc_array_new(d, n);
                int64_t sum = 0;
                for (size_t i = 0; i < n; i++) {
                    int64_t v = (int64_t)(i % 50) + 10;
                    put(a, i, v);
                    sum += v;
                }
                size_t lo_at = where == 0 ? n - 1 : where == 1 ? 0 : n / 2;
                size_t hi_at = n > 1 ? (where == 0 ? n - 2 : where == 1 ? 1 : n / 2 + 1) % n : 0;
                int64_t lo = is_signed ? -5 : 1, hi = 100;
                sum -= (int64_t)(lo_at % 50) + 10;
                put(a, lo_at, lo);
                sum += lo;
                if (n > 1) {
                    sum -= (int64_t)(hi_at % 50) + 10;
                    put(a, hi_at, hi);
                    sum += hi;
                }
                assert_true(rc_array_sum(a) == (double)sum);
                assert_true(rc_array_min(a) == (double)lo);
                assert_true(rc_array_max(a) == (double)(n > 1 ? hi : lo));
                assert_true(fabs(rc_array_mean(a) - (double)sum / (double)n) < 1e-12 * fabs((double)sum) + 1e-12);
                rc_decref(a);
            }
        }
    }
}

static void test_reductions_empty(void **state) {
    (void)state;
    for (int k = 0; k < NDT; k++) {
        void *a = rc_array_new(ALL[k], 0);
        clear_error();
        assert_true(rc_array_sum(a) == 0.0);
        assert_string_equal(rc_last_error(), "");
        assert_true(isnan(rc_array_min(a)));
        assert_string_equal(rc_last_error(), "rc_array_min: the array is empty");
        assert_true(isnan(rc_array_max(a)));
        assert_string_equal(rc_last_error(), "rc_array_max: the array is empty");
        assert_true(isnan(rc_array_mean(a)));
        assert_string_equal(rc_last_error(), "rc_array_mean: the array is empty");
        rc_decref(a);
    }
}

static void test_integer_sums_are_exact(void **state) {
    (void)state;
    /* int64: partial sums overflow 64 bits, the total is exact */
    int64_t q[] = {INT64_MAX, INT64_MAX, -INT64_MAX, 1, -1};
    void *a = rc_array_from_buffer(RC_INT64, q, 5);
    assert_true(rc_array_sum(a) == 9223372036854775807.0);
    assert_true(rc_array_min(a) == -9223372036854775807.0);
    rc_decref(a);
    int64_t two[] = {INT64_MAX, INT64_MAX};
    a = rc_array_from_buffer(RC_INT64, two, 2);
    assert_true(rc_array_sum(a) == 18446744073709551614.0);
    rc_decref(a);
    int64_t neg[20];
    for (int i = 0; i < 20; i++) neg[i] = INT64_MIN;
    a = rc_array_from_buffer(RC_INT64, neg, 20);
    assert_true(rc_array_sum(a) == -20 * 9223372036854775808.0);
    assert_true(rc_array_mean(a) == -9223372036854775808.0);
    rc_decref(a);
    /* 2^53 + 1 + 1: a double running sum would lose the ones */
    int64_t fine[] = {(int64_t)1 << 53, 1, 1};
    a = rc_array_from_buffer(RC_INT64, fine, 3);
    assert_true(rc_array_sum(a) == 9007199254740994.0);
    rc_decref(a);
    /* uint64 near the top */
    uint64_t u[17];
    for (int i = 0; i < 17; i++) u[i] = UINT64_MAX;
    a = rc_array_from_buffer(RC_UINT64, u, 17);
    assert_true(rc_array_sum(a) == 17.0 * 18446744073709551615.0);
    assert_true(rc_array_max(a) == 18446744073709551616.0);
    rc_decref(a);
    /* many narrow elements */
    enum { N = 300000 };
    a = rc_array_new(RC_INT8, N);
    int8_t *p = rc_array_data(a);
    for (int i = 0; i < N; i++) p[i] = -128;
    assert_true(rc_array_sum(a) == -128.0 * N);
    assert_true(rc_array_mean(a) == -128.0);
    rc_decref(a);
    a = rc_array_new(RC_UINT32, N);
    uint32_t *w = rc_array_data(a);
    for (int i = 0; i < N; i++) w[i] = UINT32_MAX;
    assert_true(rc_array_sum(a) == (double)N * 4294967295.0);
    rc_decref(a);
}

static void test_float_reductions(void **state) {
    (void)state;
    enum { N = 100003 };
    void *a = rc_array_new(RC_FLOAT64, N);
    double *d = rc_array_data(a);
    long double exact = 0;
    for (int i = 0; i < N; i++) {
        d[i] = 1.0 / (i + 1);
        exact += d[i];
    }
    assert_true(fabs(rc_array_sum(a) - (double)exact) < 1e-12);
    assert_true(rc_array_max(a) == 1.0);
    assert_true(rc_array_min(a) == 1.0 / N);
    rc_decref(a);

    void *f = rc_array_new(RC_FLOAT32, 1000);
    float *g = rc_array_data(f);
    for (int i = 0; i < 1000; i++) g[i] = 0.1f;
    /* float32 elements summed in double */
    assert_true(fabs(rc_array_sum(f) - 1000 * (double)0.1f) < 1e-9);
    rc_decref(f);

    double inf[] = {1.0, INFINITY, -INFINITY, 2.0};
    a = rc_array_from_buffer(RC_FLOAT64, inf, 4);
    assert_true(rc_array_max(a) == INFINITY);
    assert_true(rc_array_min(a) == -INFINITY);
    assert_true(isnan(rc_array_sum(a)));
    rc_decref(a);
}

static void test_min_max_propagate_nan(void **state) {
    (void)state;
    static const size_t lens[] = {1, 5, 8, 9, 16, 33, 1000};
    for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
        size_t n = lens[l];
        for (size_t at = 0; at < n; at += (n > 20 ? 97 : 1)) {
            void *a = rc_array_new(RC_FLOAT64, n);
            void *f = rc_array_new(RC_FLOAT32, n);
            for (size_t i = 0; i < n; i++) {
                rc_array_set(a, (int64_t)i, (double)i);
                rc_array_set(f, (int64_t)i, -(double)i);
            }
            rc_array_set(a, (int64_t)at, NAN);
            rc_array_set(f, (int64_t)at, NAN);
            assert_true(isnan(rc_array_min(a)));
            assert_true(isnan(rc_array_max(a)));
            assert_true(isnan(rc_array_min(f)));
            assert_true(isnan(rc_array_max(f)));
            assert_true(isnan(rc_array_sum(a)));
            assert_true(isnan(rc_array_mean(f)));
            rc_decref(a);
            rc_decref(f);
        }
    }
}
/* }==== */

/* {==== the object protocols ==== */

static void test_repr(void **state) {
    (void)state;
    double dv[] = {1.0, 2.5};
    void *a = rc_array_from_buffer(RC_FLOAT64, dv, 2);
    REPR_EQ(a, "array('d', [1.0, 2.5])");
    rc_decref(a);
    static const char *const empty[NDT] = {"array('b')", "array('h')", "array('i')", "array('q')", "array('B')",
                                           "array('H')", "array('I')", "array('Q')", "array('f')", "array('d')"};
    for (int k = 0; k < NDT; k++) {
        void *e = rc_array_new(ALL[k], 0);
        REPR_EQ(e, empty[k]);
        rc_decref(e);
    }
    int8_t bv[] = {-1, 2, -128};
    a = rc_array_from_buffer(RC_INT8, bv, 3);
    REPR_EQ(a, "array('b', [-1, 2, -128])");
    rc_decref(a);
    a = rc_array_new(RC_FLOAT32, 3);
    rc_array_set(a, 0, 0.5);
    rc_array_set(a, 1, 0.1);
    rc_array_set(a, 2, NAN);
    REPR_EQ(a, "array('f', [0.5, 0.10000000149011612, nan])");
    rc_decref(a);
    a = rc_array_new(RC_INT64, 1);
    rc_array_set_int(a, 0, INT64_MIN);
    REPR_EQ(a, "array('q', [-9223372036854775808])");
    rc_decref(a);
    a = rc_array_new(RC_FLOAT64, 2);
    rc_array_set(a, 0, 1e16);
    rc_array_set(a, 1, -INFINITY);
    REPR_EQ(a, "array('d', [1e+16, -inf])");
    rc_decref(a);
}

static void test_len_hash_compare(void **state) {
    (void)state;
    void *a = rc_array_new(RC_UINT16, 7);
    assert_int_equal(rc_len(a), 7);
    void *e = rc_array_new(RC_UINT16, 0);
    assert_int_equal(rc_len(e), 0);
    clear_error();
    assert_int_equal(rc_hash(a), -1);
    ERROR_HAS("rc_hash: unhashable type: 'array'");
    int r;
    clear_error();
    assert_int_equal(rc_compare(a, e, &r), -1);
    ERROR_HAS("not supported");
    rc_decref(a);
    rc_decref(e);
}

static void test_contains(void **state) {
    (void)state;
    void *a = rc_array_new(RC_INT32, 0);
    for (int i = 0; i < 10; i++) rc_array_append_int(a, i * 1000);
    void *x = rc_int_new(3000), *y = rc_int_new(3001), *f = rc_float_new(9000.0), *g = rc_float_new(9000.5);
    void *s = rc_str_from_cstr("3000");
    assert_int_equal(rc_contains(a, x), 1);
    assert_int_equal(rc_contains(a, y), 0);
    assert_int_equal(rc_contains(a, f), 1);
    assert_int_equal(rc_contains(a, g), 0);
    assert_int_equal(rc_contains(a, rc_false), 1); /* False == 0 */
    assert_int_equal(rc_contains(a, rc_true), 0);
    assert_int_equal(rc_contains(a, s), 0);
    void *d = rc_array_new(RC_FLOAT64, 2);
    rc_array_set(d, 1, 3000.0);
    assert_int_equal(rc_contains(d, x), 1);
    assert_int_equal(rc_contains(d, g), 0);
    void *v = rc_array_view(a, 4, 10);
    assert_int_equal(rc_contains(v, x), 0);
    assert_int_equal(rc_contains(v, f), 1);
    assert_int_equal(rc_refcount(x), 1);
    rc_decref(v);
    rc_decref(d);
    rc_decref(s);
    rc_decref(x);
    rc_decref(y);
    rc_decref(f);
    rc_decref(g);
    rc_decref(a);
}

/* The typed scan behind rc_contains (src/internal/types.h). */
static void test_array_contains_exact(void **state) {
    (void)state;
    uint64_t um = UINT64_MAX;
    void *u = rc_array_from_buffer(RC_UINT64, &um, 1);
    void *zero = rc_int_new(0), *two = rc_int_new(2), *big = rc_int_new(1000);
    void *f264 = rc_float_new(18446744073709551616.0), *f2 = rc_float_new(2.0), *f25 = rc_float_new(2.5);
    void *nan = rc_float_new(NAN), *tenth = rc_float_new(0.1), *tenth32 = rc_float_new((double)0.1f);
    void *s = rc_str_from_cstr("2");
    assert_int_equal(_rc_array_contains(u, zero), 0);
    assert_int_equal(_rc_array_contains(u, f264), 0); /* 2^64 is not 2^64 - 1 */
    int8_t bv[] = {1, 2, 3};
    void *b = rc_array_from_buffer(RC_INT8, bv, 3);
    assert_int_equal(_rc_array_contains(b, two), 1);
    assert_int_equal(_rc_array_contains(b, f2), 1);
    assert_int_equal(_rc_array_contains(b, f25), 0);
    assert_int_equal(_rc_array_contains(b, big), 0);
    assert_int_equal(_rc_array_contains(b, rc_true), 1);
    assert_int_equal(_rc_array_contains(b, rc_false), 0);
    assert_int_equal(_rc_array_contains(b, nan), 0);
    assert_int_equal(_rc_array_contains(b, s), 0);
    assert_int_equal(_rc_array_contains(b, NULL), 0);
    void *f = rc_array_new(RC_FLOAT32, 3);
    rc_array_set(f, 2, 0.1);
    assert_int_equal(_rc_array_contains(f, tenth), 0); /* 0.1f is not 0.1 */
    assert_int_equal(_rc_array_contains(f, tenth32), 1);
    void *d = rc_array_new(RC_FLOAT64, 2);
    rc_array_set(d, 0, -0.0);
    rc_array_set(d, 1, NAN);
    assert_int_equal(_rc_array_contains(d, zero), 1); /* -0.0 == 0 */
    assert_int_equal(_rc_array_contains(d, nan), 0);
    int64_t odd = ((int64_t)1 << 53) + 1;
    void *aodd = rc_int_new(odd);
    rc_array_set(d, 1, 9007199254740992.0);
    assert_int_equal(_rc_array_contains(d, aodd), 0);
    void *e = rc_array_new(RC_INT16, 0);
    assert_int_equal(_rc_array_contains(e, zero), 0);
    void *w = rc_array_new(RC_UINT32, 1000);
    rc_array_set_int(w, 999, 4000000000);
    void *x = rc_int_new(4000000000);
    assert_int_equal(_rc_array_contains(w, x), 1);
    clear_error();
    assert_int_equal(_rc_array_contains(s, zero), -1);
    ERROR_HAS("rc_contains: expected an array, got str");
    void *objs[] = {u, zero, two, big, f264, f2, f25, nan, tenth, tenth32, s, b, f, d, aodd, e, w, x};
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) rc_decref(objs[i]);
}

static void test_iter(void **state) {
    (void)state;
    void *a = rc_array_new(RC_INT64, 0);
    rc_array_append_int(a, 1000);
    rc_array_append_int(a, -7);
    void *it = rc_iter(a);
    assert_non_null(it);
    assert_false(rc_gc_is_tracked(it));
    assert_int_equal(rc_refcount(a), 2); /* the iterator holds the array */
    assert_ptr_equal(rc_iter(it), it);   /* an iterator is its own iterator */
    assert_int_equal(rc_refcount(it), 2);
    rc_decref(it);
    void *item;
    assert_int_equal(rc_next(it, &item), 1);
    assert_ptr_equal(rc_type_of(item), &rc_int_type);
    assert_int_equal(rc_int_value(item), 1000);
    assert_int_equal(rc_refcount(item), 1);
    rc_decref(item);
    /* the length is re-read at every step */
    rc_array_append_int(a, 5000);
    assert_int_equal(rc_next(it, &item), 1);
    assert_int_equal(rc_int_value(item), -7);
    rc_decref(item);
    assert_int_equal(rc_next(it, &item), 1);
    assert_int_equal(rc_int_value(item), 5000);
    rc_decref(item);
    assert_int_equal(rc_next(it, &item), 0);
    assert_null(item);
    assert_int_equal(rc_refcount(a), 1); /* dropped once exhausted */
    rc_array_append_int(a, 1);
    assert_int_equal(rc_next(it, &item), 0); /* and stays exhausted */
    rc_decref(it);
    rc_decref(a);

    double dv[] = {2.5, -0.0};
    void *d = rc_array_from_buffer(RC_FLOAT32, (float[]){2.5f, -0.0f}, 2);
    it = rc_iter(d);
    assert_int_equal(rc_next(it, &item), 1);
    assert_ptr_equal(rc_type_of(item), &rc_float_type);
    assert_true(rc_float_value(item) == dv[0]);
    assert_int_equal(rc_refcount(item), 1);
    rc_decref(item);
    assert_int_equal(rc_next(it, &item), 1);
    assert_true(rc_float_value(item) == 0.0 && signbit(rc_float_value(item)));
    rc_decref(item);
    /* the iterator dies before exhaustion: it releases the array */
    rc_decref(it);
    assert_int_equal(rc_refcount(d), 1);
    rc_decref(d);

    void *e = rc_array_new(RC_UINT8, 0);
    it = rc_iter(e);
    assert_int_equal(rc_next(it, &item), 0);
    rc_decref(it);
    rc_decref(e);
}

static void test_equal(void **state) {
    (void)state;
    int8_t b[] = {1, 2, -3};
    double d[] = {1.0, 2.0, -3.0};
    int64_t q[] = {1, 2, -3};
    void *ab = rc_array_from_buffer(RC_INT8, b, 3);
    void *ad = rc_array_from_buffer(RC_FLOAT64, d, 3);
    void *aq = rc_array_from_buffer(RC_INT64, q, 3);
    void *ab2 = rc_array_from_buffer(RC_INT8, b, 3);
    assert_true(rc_equal(ab, ab2));
    assert_true(rc_equal(ab, ad)); /* values, across dtypes */
    assert_true(rc_equal(ad, aq));
    assert_true(rc_equal(aq, ab));
    rc_array_set(ad, 2, -3.5);
    assert_false(rc_equal(ab, ad));
    assert_false(rc_equal(ad, ab));
    rc_array_set_int(ab2, 0, 9);
    assert_false(rc_equal(ab, ab2));
    void *shorter = rc_array_view(ab, 0, 2);
    assert_false(rc_equal(ab, shorter));
    void *whole = rc_array_view(ab, 0, 3);
    assert_true(rc_equal(ab, whole));
    void *nan = rc_array_new(RC_FLOAT64, 1);
    rc_array_set(nan, 0, NAN);
    void *nan2 = rc_array_new(RC_FLOAT64, 1);
    rc_array_set(nan2, 0, NAN);
    assert_false(rc_equal(nan, nan2));
    assert_true(rc_equal(nan, nan)); /* identity */
    /* uint64 max is not int64 -1; 2^63 as uint64 against a float */
    uint64_t um = UINT64_MAX, big = (uint64_t)1 << 63;
    int64_t m1 = -1;
    void *au = rc_array_from_buffer(RC_UINT64, &um, 1);
    void *ai = rc_array_from_buffer(RC_INT64, &m1, 1);
    assert_false(rc_equal(au, ai));
    void *a63 = rc_array_from_buffer(RC_UINT64, &big, 1);
    void *f63 = rc_array_new(RC_FLOAT64, 1);
    rc_array_set(f63, 0, 9223372036854775808.0);
    assert_true(rc_equal(a63, f63));
    /* 2^53 + 1 as int64 is not the double 2^53 */
    int64_t odd = ((int64_t)1 << 53) + 1;
    void *aodd = rc_array_from_buffer(RC_INT64, &odd, 1);
    void *f53 = rc_array_new(RC_FLOAT64, 1);
    rc_array_set(f53, 0, 9007199254740992.0);
    assert_false(rc_equal(aodd, f53));
    /* empty arrays of any dtype are equal; an array is not a number */
    void *e1 = rc_array_new(RC_INT8, 0), *e2 = rc_array_new(RC_FLOAT32, 0);
    assert_true(rc_equal(e1, e2));
    void *one = rc_int_new(1000);
    assert_false(rc_equal(e1, one));
    void *objs[] = {ab, ad, aq, ab2, shorter, whole, nan, nan2, au, ai, a63, f63, aodd, f53, e1, e2, one};
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) rc_decref(objs[i]);
}
/* }==== */

/* {==== from_iter, to_list ==== */

static void test_from_iter_of_arrays_and_iterators(void **state) {
    (void)state;
    double dv[] = {1.0, 2.7, -3.9, 100.0};
    void *src = rc_array_from_buffer(RC_FLOAT64, dv, 4);
    void *a = rc_array_from_iter(RC_INT8, src);
    assert_non_null(a);
    REPR_EQ(a, "array('b', [1, 2, -3, 100])");
    assert_int_equal(rc_refcount(src), 1);
    rc_decref(a);
    /* the same dtype: a copy */
    a = rc_array_from_iter(RC_FLOAT64, src);
    assert_true(rc_equal(a, src));
    assert_ptr_not_equal(rc_array_data(a), rc_array_data(src));
    rc_decref(a);
    /* through an iterator: the generic path */
    void *it = rc_iter(src);
    a = rc_array_from_iter(RC_INT16, it);
    assert_non_null(a);
    REPR_EQ(a, "array('h', [1, 2, -3, 100])");
    rc_decref(a);
    rc_decref(it);
    rc_array_set(src, 3, 300.0);
    it = rc_iter(src);
    clear_error();
    assert_null(rc_array_from_iter(RC_INT8, it));
    assert_string_equal(rc_last_error(), "rc_array_from_iter: item 3: 300 out of range for int8");
    rc_decref(it);
    clear_error();
    assert_null(rc_array_from_iter(RC_UINT8, src));
    assert_string_equal(rc_last_error(), "rc_array_from_iter: item 2: -3.9 out of range for uint8");
    rc_array_set(src, 0, NAN);
    assert_null(rc_array_from_iter(RC_INT64, src));
    assert_string_equal(rc_last_error(), "rc_array_from_iter: item 0: nan cannot be converted to int64");
    uint64_t um[] = {1, UINT64_MAX};
    void *u = rc_array_from_buffer(RC_UINT64, um, 2);
    assert_null(rc_array_from_iter(RC_INT64, u));
    ERROR_HAS("item 1: 18446744073709551615 out of range for int64");
    a = rc_array_from_iter(RC_FLOAT64, u);
    assert_true(rc_array_get(a, 1) == 18446744073709551616.0);
    rc_decref(a);
    /* a big one through the iterator: growth, then shrink to fit */
    void *big = rc_array_new(RC_INT32, 100000);
    for (int i = 0; i < 100000; i++) rc_array_set_int(big, i, i);
    it = rc_iter(big);
    a = rc_array_from_iter(RC_INT64, it);
    assert_int_equal(rc_array_len(a), 100000);
    assert_true(rc_array_sum(a) == 4999950000.0);
    assert_true(rc_equal(a, big));
    rc_decref(a);
    rc_decref(it);
    rc_decref(big);
    rc_decref(u);
    rc_decref(src);
}

static void test_from_iter_of_lists(void **state) {
    (void)state;
    void *l = list_or_skip();
    void *items[] = {rc_int_new(1), rc_float_new(2.7), rc_true, rc_int_new(-1000), rc_float_new(-0.5)};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(rc_list_append(l, items[i]), 0);
        rc_decref(items[i]);
    }
    void *a = rc_array_from_iter(RC_INT16, l);
    assert_non_null(a);
    REPR_EQ(a, "array('h', [1, 2, 1, -1000, 0])");
    rc_decref(a);
    a = rc_array_from_iter(RC_FLOAT32, l);
    REPR_EQ(a, "array('f', [1.0, 2.700000047683716, 1.0, -1000.0, -0.5])");
    rc_decref(a);
    clear_error();
    assert_null(rc_array_from_iter(RC_INT8, l));
    assert_string_equal(rc_last_error(), "rc_array_from_iter: item 3: -1000 out of range for int8");
    assert_null(rc_array_from_iter(RC_UINT16, l));
    ERROR_HAS("item 3: -1000 out of range for uint16");
    void *s = rc_str_from_cstr("x");
    rc_list_append(l, s);
    rc_decref(s);
    assert_null(rc_array_from_iter(RC_FLOAT64, l));
    assert_string_equal(rc_last_error(), "rc_array_from_iter: item 5: expected a number, got str");
    void *e = rc_list_new();
    a = rc_array_from_iter(RC_FLOAT64, e);
    assert_int_equal(rc_array_len(a), 0);
    rc_decref(a);
    rc_decref(e);
    /* a tuple, and an iterator over the list (the generic path) */
    void *t = rc_tuple_pack(2, rc_true, rc_false);
    assert_non_null(t);
    a = rc_array_from_iter(RC_UINT8, t);
    REPR_EQ(a, "array('B', [1, 0])");
    rc_decref(a);
    rc_decref(t);
    rc_decref(rc_list_pop(l, -1)); /* the str */
    void *it = rc_iter(l);
    assert_non_null(it);
    a = rc_array_from_iter(RC_FLOAT64, it);
    REPR_EQ(a, "array('d', [1.0, 2.7, 1.0, -1000.0, -0.5])");
    rc_decref(a);
    rc_decref(it);
    assert_int_equal(rc_refcount(l), 1);
    rc_decref(l);
}

static void test_to_list(void **state) {
    (void)state;
    void *probe = list_or_skip();
    rc_decref(probe);
    int32_t iv[] = {5, -1000, 70000};
    void *a = rc_array_from_buffer(RC_INT32, iv, 3);
    void *l = rc_array_to_list(a);
    assert_non_null(l);
    REPR_EQ(l, "[5, -1000, 70000]");
    assert_int_equal(rc_refcount(rc_list_get(l, 1)), 1);
    assert_ptr_equal(rc_type_of(rc_list_get(l, 1)), &rc_int_type);
    rc_decref(l);
    rc_decref(a);
    a = rc_array_from_buffer(RC_FLOAT32, (float[]){0.5f, 2.0f}, 2);
    l = rc_array_to_list(a);
    REPR_EQ(l, "[0.5, 2.0]");
    assert_ptr_equal(rc_type_of(rc_list_get(l, 0)), &rc_float_type);
    rc_decref(l);
    rc_decref(a);
    uint64_t um = UINT64_MAX;
    a = rc_array_from_buffer(RC_UINT64, &um, 1);
    l = rc_array_to_list(a);
    REPR_EQ(l, "[1.8446744073709552e+19]");
    rc_decref(l);
    rc_decref(a);
    a = rc_array_new(RC_INT8, 0);
    l = rc_array_to_list(a);
    REPR_EQ(l, "[]");
    /* the round trip */
    void *b = rc_array_from_iter(RC_INT8, l);
    assert_true(rc_equal(a, b));
    rc_decref(b);
    rc_decref(l);
    rc_decref(a);
}
/* }==== */

int main(void) {
    const struct CMUnitTest tests[] = {
        TYPES_TEST(test_dtype_sizes),
        TYPES_TEST(test_new_is_zeroed_every_dtype),
        TYPES_TEST(test_new_bad_arguments),
        TYPES_TEST(test_inline_storage_is_one_block),
        TYPES_TEST(test_from_buffer_copies),
        TYPES_TEST(test_set_int_boundaries_every_integer_dtype),
        TYPES_TEST(test_uint64_beyond_int64),
        TYPES_TEST(test_double_to_integer_conversion),
        TYPES_TEST(test_float_elements),
        TYPES_TEST(test_bad_index),
        TYPES_TEST(test_wrong_argument_types),
        TYPES_TEST(test_append_grows_from_inline_to_heap),
        TYPES_TEST(test_failed_append_to_full_array_keeps_buffer),
        TYPES_TEST(test_negative_nan_message),
        TYPES_TEST(test_append_million_floats_small_to_mapped),
        TYPES_TEST(test_million_float64_cost_8_bytes_each),
        TYPES_TEST(test_big_array_memory_returns_to_os),
        TYPES_TEST(test_out_of_memory_leaves_array_unchanged),
        TYPES_TEST(test_view_shares_buffer_both_ways),
        TYPES_TEST(test_view_slices_clamp),
        TYPES_TEST(test_view_of_view_refers_to_root),
        TYPES_TEST(test_view_and_base_growth),
        TYPES_TEST(test_reductions_every_dtype_and_length),
        TYPES_TEST(test_reductions_empty),
        TYPES_TEST(test_integer_sums_are_exact),
        TYPES_TEST(test_float_reductions),
        TYPES_TEST(test_min_max_propagate_nan),
        TYPES_TEST(test_repr),
        TYPES_TEST(test_len_hash_compare),
        TYPES_TEST(test_contains),
        TYPES_TEST(test_array_contains_exact),
        TYPES_TEST(test_iter),
        TYPES_TEST(test_equal),
        TYPES_TEST(test_from_iter_of_arrays_and_iterators),
        TYPES_TEST(test_from_iter_of_lists),
        TYPES_TEST(test_to_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
