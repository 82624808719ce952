/*
 * array.c — typed arrays: contiguous numbers of one dtype (numpy's role,
 * with the repr and equality of Python's array module).
 *
 * Layout. One 48-byte object (16-byte header + the 32-byte payload below)
 * and the elements, which live in one of four places:
 *
 *   INLINE  inside the object, right after the payload (rc_new_var): for
 *           arrays created with a fixed size of at most RC_SMALL_MAX bytes
 *           (rc_array_new, rc_array_from_buffer, an empty array). The
 *           capacity is the whole pool block, so a few appends may still
 *           fit. One allocation, one block, no pointer chase.
 *   HEAP    a pool block of its own (rc_malloc / rc_realloc) of at most
 *           RC_SMALL_MAX bytes: only for an array built by appends while
 *           its elements fit in a small block.
 *   MAPPED  a buffer above RC_SMALL_MAX bytes: a mapping of its own,
 *           straight from the OS, whatever its size, as issue 4 asks
 *           ("buffers above the small-object limit come straight from the
 *           OS and go back to it when the array dies"). The heap's
 *           _rc_large_buffer / _rc_large_buffer_realloc (src/heap/large.c)
 *           serve it as a large block: 1 MiB-aligned, its size rounded up
 *           to a page, counted in rc_heap_stats (large_blocks, large_bytes,
 *           bytes_in_use), subject to fault injection and traced like
 *           rc_malloc's blocks; rc_free unmaps it when the array dies, or
 *           keeps it briefly in the heap's small cache of freed mappings
 *           (RECLAIM_LARGE_CACHE entries within RECLAIM_HEAP_RETAIN, for
 *           RECLAIM_PURGE_DELAY) which rc_heap_trim empties. rc_realloc
 *           would move a large block of RC_MEDIUM_MAX bytes or less into a
 *           medium class; _rc_large_buffer_realloc keeps it a mapping at
 *           any size. The price: the smallest mapped buffer is a 4 KiB page
 *           (an array of 65 float64 uses 4096 bytes for 520), each mapping
 *           is a system call to make and one to unmap (the cache absorbs
 *           the pairs of a program that frees and reallocates), and each
 *           live one is a kernel mapping of its own (Linux allows about
 *           65530 per process by default, vm.max_map_count; beyond that
 *           the array calls fail as out of memory). In the debug
 *           and system heap modes (RECLAIM_MALLOC=debug|malloc) there are
 *           no mappings of the heap's own: the buffer is the mode's
 *           ordinary block, so the debug allocator's checks cover it.
 *   VIEW    a slice of another array's buffer (rc_array_view). The view
 *           holds a reference to the root array that owns the buffer (a
 *           view of a view refers to the root, never to the middle view),
 *           so the buffer lives as long as any view of it.
 *
 * Growth (append). A full INLINE or HEAP buffer grows to 1.5x (at least 64
 * bytes), copied into a new pool block, up to RC_SMALL_MAX bytes; the
 * first growth beyond that (elements needing more than 512 bytes) copies
 * the elements into a mapping. A MAPPED buffer grows by 1/16 (CPython's
 * array module grows by as much), which stays cheap because the heap
 * rarely copies: it grows the block in place within its mapping, or
 * remaps it (mremap, in place or by moving the pages, no copy) with a
 * quarter of address-space headroom, or moves it into a cached freed
 * mapping that holds it (a copy of resident pages). Each step is a
 * constant factor larger than the last, so growth is amortized O(1) per
 * element, only O(log n) steps are system calls, and growth inside the
 * headroom is none at all. The capacity is always what
 * rc_usable_size reports (for a mapping, the request rounded up to a
 * page), so no slack is left unused. An INLINE array that outgrows its
 * block moves out; the inline bytes then stay unused until the array dies.
 * A MAPPED buffer stays MAPPED: shrinking it (rc_array_from_iter's fit)
 * keeps the mapping, as the heap shrinks large blocks.
 *
 * Views and growth. Growing may move the buffer, which would leave a view
 * pointing at freed memory, so an array with live views (exports > 0) and
 * a view itself never grow: rc_array_append fails and names the reason,
 * whatever spare capacity there is, as Python's array refuses to resize
 * while it exports buffers. Once the last view dies the base grows again.
 *
 * Collector. An array references no object but its root base, and a root
 * base is never a view, so references between arrays form no cycle, and
 * nothing else can be stored in an array: the type has no traverse and
 * arrays are never tracked (like CPython's bytes). The iterator likewise
 * holds only its array.
 *
 * Reductions (sum, min, max, mean) run one loop per dtype over restrict
 * pointers, in fixed-width lanes (an accumulator array of LANES elements
 * updated by an inner loop of constant trip count) that gcc and clang turn
 * into SIMD code. Integer sums are exact: narrow types are added in int64
 * / uint64 lanes over blocks short enough not to overflow, 64-bit types as
 * separate sums of their 32-bit halves, and the blocks into a 128-bit
 * total, converted to double once. Float sums are pairwise (blocks of 128
 * summed in LANES accumulators, halves added recursively), in double, so
 * the error grows with log n, as numpy's. min and max propagate NaN, as
 * numpy's do.
 *
 * Conversions. Storing an int or a double into an integer dtype checks the
 * range (a double must be finite; it is truncated toward zero, 2.7 -> 2);
 * storing into float32 rounds, to +-inf beyond its range, as a C cast
 * does on IEEE hardware. Nothing is stored when a conversion fails.
 *
 * Equality (rc_equal) is Python's array ==: same length and equal values
 * element by element, compared exactly across dtypes (an int8 array equals
 * a float64 array of the same numbers); NaN equals nothing.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal/types.h"

/* {==== the object ==== */

enum { KIND_INLINE = 0, KIND_HEAP = 1, KIND_VIEW = 2, KIND_MAPPED = 3 };

/*
 * Invariants:
 *   INLINE: data == inline_data, len <= cap, and cap * size fits in the
 *           object's block.
 *   HEAP:   data is an rc_malloc block (a pool block) of at least
 *           cap * size bytes, owned; len <= cap; cap * size <= RC_SMALL_MAX.
 *   MAPPED: data is a _rc_large_buffer block (a mapping of its own in the
 *           default heap mode) of at least cap * size bytes, owned;
 *           len <= cap; cap * size > RC_SMALL_MAX. It stays MAPPED until
 *           the array dies, whatever it shrinks to.
 *   VIEW:   base is a root array (never a view) holding one reference for
 *           this view, counted in base->exports; data lies inside base's
 *           buffer, data + len * size within base's len elements at the
 *           time of creation; exports == 0.
 *   exports > 0 or kind == VIEW  =>  data never moves and len never grows.
 */
typedef struct array_obj {
    uint8_t dtype;    /* rc_dtype */
    uint8_t kind;     /* KIND_*: set at creation; grow() changes INLINE or HEAP
                         to HEAP (up to RC_SMALL_MAX bytes) or MAPPED (beyond) */
    uint8_t shift;    /* log2 of the element size */
    uint8_t pad;
    uint32_t exports; /* live views of this buffer: +1 by rc_array_view, -1 when a view dies */
    size_t len;       /* elements */
    union {
        size_t cap;              /* INLINE, HEAP, MAPPED: elements the buffer holds */
        struct array_obj *base;  /* VIEW: the root array (own reference) */
    };
    char *data;       /* the elements, aligned to their size; never NULL */
    unsigned char inline_data[];
} array_obj;

_Static_assert(sizeof(array_obj) == 32, "the array payload is 32 bytes");
_Static_assert(offsetof(array_obj, inline_data) % 16 == 0, "inline elements are 16-byte aligned");

static const struct dtype_info {
    const char *name;
    char code;     /* Python's array typecode */
    uint8_t shift; /* log2 of the size */
} dtypes[] = {
    [RC_INT8] = {"int8", 'b', 0},     [RC_INT16] = {"int16", 'h', 1},   [RC_INT32] = {"int32", 'i', 2},
    [RC_INT64] = {"int64", 'q', 3},   [RC_UINT8] = {"uint8", 'B', 0},   [RC_UINT16] = {"uint16", 'H', 1},
    [RC_UINT32] = {"uint32", 'I', 2}, [RC_UINT64] = {"uint64", 'Q', 3}, [RC_FLOAT32] = {"float32", 'f', 2},
    [RC_FLOAT64] = {"float64", 'd', 3},
};

#define NDTYPES (sizeof dtypes / sizeof dtypes[0])

static bool dtype_ok(rc_dtype d) { return (unsigned)d < NDTYPES; }
static bool is_float(rc_dtype d) { return d == RC_FLOAT32 || d == RC_FLOAT64; }

size_t rc_dtype_size(rc_dtype dtype) {
    if (!dtype_ok(dtype)) {
        _rc_set_error("rc_dtype_size: bad dtype %d", (int)dtype);
        return 0;
    }
    return (size_t)1 << dtypes[dtype].shift;
}

static void array_destroy(void *self);
static void *array_repr(const void *self);
static bool array_equal(const void *a, const void *b);
static void *array_iter(void *self);

const rc_type rc_array_type = {.name = "array",
                               .size = sizeof(array_obj),
                               .destroy = array_destroy,
                               .equal = array_equal,
                               .repr = array_repr,
                               .iter = array_iter,
                               .flags = RC_TYPE_BUILTIN | RC_TYPE_UNHASHABLE};

static void array_destroy(void *self) {
    array_obj *a = self;
    if (a->kind == KIND_HEAP || a->kind == KIND_MAPPED) {
        rc_free(a->data); /* a mapping goes back to the OS (or the heap's cache of mappings) */
    } else if (a->kind == KIND_VIEW) {
        array_obj *base = a->base;
        a->base = NULL;
        base->exports--;
        rc_decref(base);
    }
    a->data = NULL;
}

/* Check that obj is an array, with the shared message shape (the test
 * inline: it is on every hot path). */
static inline bool is_array(const char *fn, const void *obj) {
    if (RC_LIKELY(obj != NULL) && RC_LIKELY(_rc_head_type(_rc_head(obj)) == &rc_array_type)) return true;
    return _rc_expect(fn, obj, &rc_array_type, "an array");
}

/* Normalise index i of a (negative counts from the end) into *k, or set
 * the error of fn; the common in-range case inline. */
static inline bool index_ok(const char *fn, const array_obj *a, int64_t i, size_t *k) {
    if (RC_LIKELY((uint64_t)i < a->len)) {
        *k = (size_t)i;
        return true;
    }
    return _rc_index(fn, i, a->len, k);
}

/* A new array of n elements of dtype (validated), inline when they fit in
 * RC_SMALL_MAX bytes, else in a mapping of its own; zeroed, or left for the
 * caller to fill when zero is false (then a buffer fresh from the OS is
 * not written twice). */
static array_obj *array_alloc(const char *fn, rc_dtype dtype, size_t n, bool zero) {
    unsigned shift = dtypes[dtype].shift;
    if (n > (SIZE_MAX >> 1) >> shift) {
        _rc_set_error("%s: %zu elements of %s do not fit in memory", fn, n, dtypes[dtype].name);
        return NULL;
    }
    size_t bytes = n << shift;
    array_obj *a;
    if (bytes <= RC_SMALL_MAX) {
        a = rc_new_var(&rc_array_type, bytes);
        if (!a) return NULL;
        a->kind = KIND_INLINE;
        a->data = (char *)a->inline_data;
        /* the whole block is usable: spare bytes are spare capacity */
        size_t room = bytes ? rc_sizeof(a) - sizeof(rc_object_head) - sizeof(array_obj) : 0;
        a->cap = room >> shift;
    } else {
        char *buf = _rc_large_buffer(bytes, zero);
        if (!buf) {
            _rc_set_error("%s: out of memory for %zu elements of %s", fn, n, dtypes[dtype].name);
            return NULL;
        }
        a = rc_new(&rc_array_type);
        if (!a) {
            rc_free(buf);
            return NULL;
        }
        a->kind = KIND_MAPPED;
        a->data = buf;
        a->cap = rc_usable_size(buf) >> shift;
    }
    a->dtype = (uint8_t)dtype;
    a->shift = (uint8_t)shift;
    a->len = n;
    return a;
}
/* }==== */

/* {==== conversions ==== */

/* v for messages: an integral value below 1e16 as an integer ("300"),
 * else the shortest %g form that reads back as v ("128.5", "1e+300"). */
static void fmt_double(char *buf, size_t size, double v) {
    if (isnan(v)) { /* Python prints every NaN as nan, whatever its sign bit */
        snprintf(buf, size, "nan");
        return;
    }
    if (fabs(v) < 1e16 && v == (double)(int64_t)v) {
        snprintf(buf, size, "%.0f", v);
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, size, "%.*g", p, v);
        if (strtod(buf, NULL) == v) return;
    }
}

/* Store v into the element at p of dtype d: 0, or -1 when v is outside
 * the dtype's range (nothing stored). */
static inline int put_int(rc_dtype d, void *p, int64_t v) {
    switch (d) {
    case RC_INT8:
        if (v < INT8_MIN || v > INT8_MAX) return -1;
        *(int8_t *)p = (int8_t)v;
        return 0;
    case RC_INT16:
        if (v < INT16_MIN || v > INT16_MAX) return -1;
        *(int16_t *)p = (int16_t)v;
        return 0;
    case RC_INT32:
        if (v < INT32_MIN || v > INT32_MAX) return -1;
        *(int32_t *)p = (int32_t)v;
        return 0;
    case RC_INT64: *(int64_t *)p = v; return 0;
    case RC_UINT8:
        if (v < 0 || v > UINT8_MAX) return -1;
        *(uint8_t *)p = (uint8_t)v;
        return 0;
    case RC_UINT16:
        if (v < 0 || v > UINT16_MAX) return -1;
        *(uint16_t *)p = (uint16_t)v;
        return 0;
    case RC_UINT32:
        if (v < 0 || v > (int64_t)UINT32_MAX) return -1;
        *(uint32_t *)p = (uint32_t)v;
        return 0;
    case RC_UINT64:
        if (v < 0) return -1;
        *(uint64_t *)p = (uint64_t)v;
        return 0;
    case RC_FLOAT32: *(float *)p = (float)v; return 0;
    case RC_FLOAT64: *(double *)p = (double)v; return 0;
    }
    return -1;
}

/* The float nearest to v, as IEEE rounding gives it: values beyond the
 * largest float by half an ulp or more become infinite (a plain cast of
 * such a double is undefined behaviour in C). */
static inline float narrow_float(double v) {
    if (RC_UNLIKELY(fabs(v) > FLT_MAX)) {
        if (isnan(v)) return (float)v;
        if (fabs(v) < 0x1.ffffffp127) return v > 0 ? FLT_MAX : -FLT_MAX;
        return v > 0 ? INFINITY : -INFINITY;
    }
    return (float)v;
}

/* Store v into the element at p of dtype d, truncated toward zero for
 * integer dtypes: 0; -1 when out of range; -2 when v is NaN or infinite
 * and d is an integer dtype. Nothing is stored on failure. The bounds are
 * exclusive and exactly representable, so a value that truncates into
 * range is accepted (-128.9 -> -128 for int8). */
static inline int put_double(rc_dtype d, void *p, double v) {
    if (d == RC_FLOAT64) {
        *(double *)p = v;
        return 0;
    }
    if (d == RC_FLOAT32) {
        *(float *)p = narrow_float(v);
        return 0;
    }
    if (!isfinite(v)) return -2;
    switch (d) {
    case RC_INT8:
        if (!(v > -129.0 && v < 128.0)) return -1;
        *(int8_t *)p = (int8_t)v;
        return 0;
    case RC_INT16:
        if (!(v > -32769.0 && v < 32768.0)) return -1;
        *(int16_t *)p = (int16_t)v;
        return 0;
    case RC_INT32:
        if (!(v > -2147483649.0 && v < 2147483648.0)) return -1;
        *(int32_t *)p = (int32_t)v;
        return 0;
    case RC_INT64:
        /* -2^63 - 1 is no double: the bound is -2^63 inclusive */
        if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) return -1;
        *(int64_t *)p = (int64_t)v;
        return 0;
    case RC_UINT8:
        if (!(v > -1.0 && v < 256.0)) return -1;
        *(uint8_t *)p = (uint8_t)v;
        return 0;
    case RC_UINT16:
        if (!(v > -1.0 && v < 65536.0)) return -1;
        *(uint16_t *)p = (uint16_t)v;
        return 0;
    case RC_UINT32:
        if (!(v > -1.0 && v < 4294967296.0)) return -1;
        *(uint32_t *)p = (uint32_t)v;
        return 0;
    case RC_UINT64:
        if (!(v > -1.0 && v < 18446744073709551616.0)) return -1;
        *(uint64_t *)p = (uint64_t)v;
        return 0;
    default: return -1;
    }
}

/* Set the error of a failed put_int / put_double. where is "" or
 * "item 3: ". */
static void put_int_error(const char *fn, const char *where, rc_dtype d, int64_t v) {
    _rc_set_error("%s: %s%lld out of range for %s", fn, where, (long long)v, dtypes[d].name);
}

static void put_double_error(const char *fn, const char *where, rc_dtype d, double v, int why) {
    char num[40];
    fmt_double(num, sizeof num, v);
    if (why == -2) _rc_set_error("%s: %s%s cannot be converted to %s", fn, where, num, dtypes[d].name);
    else _rc_set_error("%s: %s%s out of range for %s", fn, where, num, dtypes[d].name);
}

/* An element, as a number of its class: for exact comparisons. */
typedef enum { NUM_SIGNED, NUM_UNSIGNED, NUM_FLOAT } num_class;
typedef struct num {
    num_class cls;
    union {
        int64_t i;
        uint64_t u;
        double f;
    };
} num;

static inline num load(const array_obj *a, size_t i) {
    const char *p = a->data;
    switch ((rc_dtype)a->dtype) {
    case RC_INT8: return (num){NUM_SIGNED, {.i = ((const int8_t *)p)[i]}};
    case RC_INT16: return (num){NUM_SIGNED, {.i = ((const int16_t *)p)[i]}};
    case RC_INT32: return (num){NUM_SIGNED, {.i = ((const int32_t *)p)[i]}};
    case RC_INT64: return (num){NUM_SIGNED, {.i = ((const int64_t *)p)[i]}};
    case RC_UINT8: return (num){NUM_UNSIGNED, {.u = ((const uint8_t *)p)[i]}};
    case RC_UINT16: return (num){NUM_UNSIGNED, {.u = ((const uint16_t *)p)[i]}};
    case RC_UINT32: return (num){NUM_UNSIGNED, {.u = ((const uint32_t *)p)[i]}};
    case RC_UINT64: return (num){NUM_UNSIGNED, {.u = ((const uint64_t *)p)[i]}};
    case RC_FLOAT32: return (num){NUM_FLOAT, {.f = ((const float *)p)[i]}};
    case RC_FLOAT64: return (num){NUM_FLOAT, {.f = ((const double *)p)[i]}};
    }
    return (num){NUM_FLOAT, {.f = NAN}};
}

static inline double num_to_double(num x) {
    return x.cls == NUM_SIGNED ? (double)x.i : x.cls == NUM_UNSIGNED ? (double)x.u : x.f;
}

/* A new int or float object for x. */
static inline void *num_object(num x) {
    if (x.cls == NUM_FLOAT) return rc_float_new(x.f);
    if (x.cls == NUM_SIGNED || x.u <= INT64_MAX) return rc_int_new(x.i);
    /* a uint64 above INT64_MAX: no rc_int holds it, a float comes closest */
    return rc_float_new((double)x.u);
}

/* Is double d exactly the integer i / u? */
static bool double_is_int(double d, int64_t i) {
    return d >= -9223372036854775808.0 && d < 9223372036854775808.0 && (int64_t)d == i && (double)i == d;
}

static bool double_is_uint(double d, uint64_t u) {
    return d >= 0.0 && d < 18446744073709551616.0 && (uint64_t)d == u && (double)u == d;
}

/* x == y exactly, across classes (NaN equals nothing). */
static bool num_equal(num x, num y) {
    if (x.cls == y.cls) {
        if (x.cls == NUM_FLOAT) return x.f == y.f;
        return x.u == y.u;
    }
    if (x.cls == NUM_FLOAT) return y.cls == NUM_SIGNED ? double_is_int(x.f, y.i) : double_is_uint(x.f, y.u);
    if (y.cls == NUM_FLOAT) return x.cls == NUM_SIGNED ? double_is_int(y.f, x.i) : double_is_uint(y.f, x.u);
    /* signed against unsigned */
    int64_t i = x.cls == NUM_SIGNED ? x.i : y.i;
    uint64_t u = x.cls == NUM_SIGNED ? y.u : x.u;
    return i >= 0 && (uint64_t)i == u;
}

/* Store number object item into element i of a (its dtype), or set the
 * error of fn naming item index `index` and return -1. */
static int put_object(const char *fn, array_obj *a, size_t i, const void *item, size_t index) {
    rc_dtype d = (rc_dtype)a->dtype;
    void *p = a->data + (i << a->shift);
    const rc_type *t = item ? rc_type_of(item) : NULL;
    char where[48];
    if (t == &rc_int_type || t == &rc_bool_type) {
        int64_t v = rc_int_value(item);
        if (RC_LIKELY(put_int(d, p, v) == 0)) return 0;
        snprintf(where, sizeof where, "item %zu: ", index);
        put_int_error(fn, where, d, v);
        return -1;
    }
    if (t == &rc_float_type) {
        double v = rc_float_value(item);
        int r = put_double(d, p, v);
        if (RC_LIKELY(r == 0)) return 0;
        snprintf(where, sizeof where, "item %zu: ", index);
        put_double_error(fn, where, d, v, r);
        return -1;
    }
    _rc_set_error("%s: item %zu: expected a number, got %s", fn, index, _rc_obj_type_name(item));
    return -1;
}
/* }==== */

/* {==== creation ==== */

void *rc_array_new(rc_dtype dtype, size_t n) {
    RC_USER_FRAME();
    if (!dtype_ok(dtype)) {
        _rc_set_error("rc_array_new: bad dtype %d", (int)dtype);
        return NULL;
    }
    return array_alloc("rc_array_new", dtype, n, true);
}

void *rc_array_from_buffer(rc_dtype dtype, const void *data, size_t n) {
    RC_USER_FRAME();
    if (!dtype_ok(dtype)) {
        _rc_set_error("rc_array_from_buffer: bad dtype %d", (int)dtype);
        return NULL;
    }
    if (!data && n) {
        _rc_set_error("rc_array_from_buffer: data is NULL");
        return NULL;
    }
    array_obj *a = array_alloc("rc_array_from_buffer", dtype, n, false);
    if (a && n) memcpy(a->data, data, n << a->shift);
    return a;
}
/* }==== */

/* {==== growth ==== */

/* Make room for one more element: 0, or -1 with the error of fn set (the
 * array unchanged). */
static RC_NOINLINE int grow(const char *fn, array_obj *a) {
    if (a->kind == KIND_VIEW) {
        _rc_set_error("%s: a view cannot grow (it shares its base array's buffer)", fn);
        return -1;
    }
    if (a->exports) {
        _rc_set_error("%s: the array has %u live view%s sharing its buffer, so it cannot grow", fn,
                      (unsigned)a->exports, a->exports == 1 ? "" : "s");
        return -1;
    }
    if (a->len < a->cap) return 0;
    size_t old = a->cap << a->shift, want;
    if (old < 64) want = 64;
    else if (a->kind != KIND_MAPPED) want = old + old / 2;
    else want = old + old / 16;
    if (want < old || want > (SIZE_MAX >> 1)) {
        _rc_set_error("%s: the array cannot grow beyond %zu elements", fn, a->len);
        return -1;
    }
    /* a pool buffer becomes a mapping only once the elements need more
     * than RC_SMALL_MAX bytes: until then it stops at the largest small
     * block (so a mapping always holds more than a small block could) */
    size_t need = (a->len + 1) << a->shift;
    if (a->kind != KIND_MAPPED && want > RC_SMALL_MAX && need <= RC_SMALL_MAX) want = RC_SMALL_MAX;
    char *buf;
    uint8_t kind = want > RC_SMALL_MAX ? KIND_MAPPED : KIND_HEAP;
    if (a->kind == kind) {
        buf = kind == KIND_MAPPED ? _rc_large_buffer_realloc(a->data, want) : rc_realloc(a->data, want);
    } else {
        /* INLINE to HEAP or MAPPED, HEAP to MAPPED: a new buffer, copied */
        buf = kind == KIND_MAPPED ? _rc_large_buffer(want, false) : rc_malloc(want);
        if (buf) {
            memcpy(buf, a->data, a->len << a->shift);
            if (a->kind == KIND_HEAP) rc_free(a->data);
        }
    }
    if (!buf) {
        _rc_set_error("%s: out of memory growing to %zu bytes", fn, want);
        return -1;
    }
    a->kind = kind;
    a->data = buf;
    a->cap = rc_usable_size(buf) >> a->shift;
    return 0;
}

static inline bool can_append(const array_obj *a) {
    return a->kind != KIND_VIEW && a->exports == 0 && a->len < a->cap;
}

/* Can the array grow (not a view, no live views)? Then a full array
 * checks its value's conversion before growing: a value that fails must
 * not move the buffer (rc_array_data stays valid until the array grows). */
static inline bool may_grow(const array_obj *a) { return a->kind != KIND_VIEW && a->exports == 0; }

int rc_array_append(void *array, double value) {
    RC_USER_FRAME();
    if (!is_array("rc_array_append", array)) return -1;
    array_obj *a = array;
    rc_dtype d = (rc_dtype)a->dtype;
    int r;
    if (RC_UNLIKELY(!can_append(a))) {
        uint64_t probe;
        if (may_grow(a) && (r = put_double(d, &probe, value)) < 0) {
            put_double_error("rc_array_append", "", d, value, r);
            return -1;
        }
        if (grow("rc_array_append", a) < 0) return -1;
    }
    r = put_double(d, a->data + (a->len << a->shift), value);
    if (RC_UNLIKELY(r < 0)) {
        put_double_error("rc_array_append", "", d, value, r);
        return -1;
    }
    a->len++;
    return 0;
}

int rc_array_append_int(void *array, int64_t value) {
    RC_USER_FRAME();
    if (!is_array("rc_array_append_int", array)) return -1;
    array_obj *a = array;
    rc_dtype d = (rc_dtype)a->dtype;
    if (RC_UNLIKELY(!can_append(a))) {
        uint64_t probe;
        if (may_grow(a) && put_int(d, &probe, value) < 0) {
            put_int_error("rc_array_append_int", "", d, value);
            return -1;
        }
        if (grow("rc_array_append_int", a) < 0) return -1;
    }
    if (RC_UNLIKELY(put_int(d, a->data + (a->len << a->shift), value) < 0)) {
        put_int_error("rc_array_append_int", "", d, value);
        return -1;
    }
    a->len++;
    return 0;
}

/* Give back the spare capacity of a HEAP or MAPPED array built by
 * appending, when more than an eighth of it is unused (rc_array_from_iter).
 * A mapping stays a mapping (the heap keeps the pages unless more than
 * half of the mapping and over 8 MiB would be unused: see large.c). */
static void shrink_to_fit(array_obj *a) {
    if ((a->kind != KIND_HEAP && a->kind != KIND_MAPPED) || a->cap - a->len <= a->cap / 8) return;
    size_t bytes = a->len << a->shift;
    if (!bytes) bytes = 1;
    if (a->kind == KIND_MAPPED && bytes <= RC_SMALL_MAX) bytes = RC_SMALL_MAX + 1; /* MAPPED stays above */
    char *buf = a->kind == KIND_MAPPED ? _rc_large_buffer_realloc(a->data, bytes) : rc_realloc(a->data, bytes);
    if (!buf) return; /* keeping the bigger buffer is fine */
    a->data = buf;
    a->cap = rc_usable_size(buf) >> a->shift;
}
/* }==== */

/* {==== conversions from and to other objects ==== */

void *rc_array_from_iter(rc_dtype dtype, void *iterable) {
    RC_USER_FRAME();
    static const char fn[] = "rc_array_from_iter";
    if (!dtype_ok(dtype)) {
        _rc_set_error("%s: bad dtype %d", fn, (int)dtype);
        return NULL;
    }
    if (!iterable) {
        _rc_set_error("%s: iterable is NULL", fn);
        return NULL;
    }
    const rc_type *t = rc_type_of(iterable);
    if (t == &rc_array_type) {
        const array_obj *src = iterable;
        array_obj *a = array_alloc(fn, dtype, src->len, false);
        if (!a) return NULL;
        if (src->dtype == dtype) {
            memcpy(a->data, src->data, src->len << src->shift);
            return a;
        }
        for (size_t i = 0; i < src->len; i++) {
            num x = load(src, i);
            void *p = a->data + (i << a->shift);
            int r = x.cls == NUM_FLOAT ? put_double(dtype, p, x.f)
                    : x.cls == NUM_SIGNED || x.u <= INT64_MAX ? put_int(dtype, p, x.i)
                    : put_double(dtype, p, (double)x.u);
            if (r < 0) {
                char where[48];
                snprintf(where, sizeof where, "item %zu: ", i);
                if (x.cls == NUM_FLOAT) put_double_error(fn, where, dtype, x.f, r);
                else if (x.cls == NUM_SIGNED) put_int_error(fn, where, dtype, x.i);
                else _rc_set_error("%s: %s%llu out of range for %s", fn, where, (unsigned long long)x.u,
                                   dtypes[dtype].name);
                rc_decref(a);
                return NULL;
            }
        }
        return a;
    }
    if (t == &rc_list_type || t == &rc_tuple_type) {
        /* the length is known: one exact allocation, no growth. Converting
         * numbers runs no user code, so the items cannot change under us. */
        size_t n;
        _rc_sequence_items(iterable, &n);
        array_obj *a = array_alloc(fn, dtype, n, false);
        if (!a) return NULL;
        void *const *items = _rc_sequence_items(iterable, &n);
        if (n < a->len) a->len = n; /* cannot happen: nothing ran since */
        n = a->len;
        for (size_t i = 0; i < n; i++) {
            if (put_object(fn, a, i, items[i], i) < 0) {
                rc_decref(a);
                return NULL;
            }
        }
        return a;
    }
    void *it = rc_iter(iterable);
    if (!it) return NULL;
    array_obj *a = array_alloc(fn, dtype, 0, true);
    if (!a) {
        rc_decref(it);
        return NULL;
    }
    void *item;
    int r;
    while ((r = rc_next(it, &item)) == 1) {
        if (RC_UNLIKELY(!can_append(a)) && grow(fn, a) < 0) r = -1;
        else if (put_object(fn, a, a->len, item, a->len) < 0) r = -1;
        else a->len++;
        rc_decref(item);
        if (r < 0) break;
    }
    rc_decref(it);
    if (r < 0) {
        rc_decref(a);
        return NULL;
    }
    shrink_to_fit(a);
    return a;
}

void *rc_array_to_list(const void *array) {
    RC_USER_FRAME();
    if (!is_array("rc_array_to_list", array)) return NULL;
    const array_obj *a = array;
    void *list = rc_list_new();
    if (!list) return NULL;
    for (size_t i = 0; i < a->len; i++) {
        void *x = num_object(load(a, i));
        if (!x || rc_list_append_steal(list, x) < 0) {
            rc_decref(list);
            return NULL;
        }
    }
    return list;
}
/* }==== */

/* {==== access ==== */

size_t rc_array_len(const void *array) {
    if (!is_array("rc_array_len", array)) return 0;
    return ((const array_obj *)array)->len;
}

rc_dtype rc_array_dtype(const void *array) {
    if (!is_array("rc_array_dtype", array)) return (rc_dtype)-1;
    return (rc_dtype)((const array_obj *)array)->dtype;
}

void *rc_array_data(void *array) {
    if (!is_array("rc_array_data", array)) return NULL;
    return ((array_obj *)array)->data;
}

double rc_array_get(const void *array, int64_t i) {
    size_t k;
    if (!is_array("rc_array_get", array)) return NAN;
    const array_obj *a = array;
    if (!index_ok("rc_array_get", a, i, &k)) return NAN;
    return num_to_double(load(a, k));
}

int64_t rc_array_get_int(const void *array, int64_t i) {
    size_t k;
    if (!is_array("rc_array_get_int", array)) return 0;
    const array_obj *a = array;
    if (!index_ok("rc_array_get_int", a, i, &k)) return 0;
    num x = load(a, k);
    if (x.cls == NUM_SIGNED) return x.i;
    if (x.cls == NUM_UNSIGNED) {
        if (x.u <= INT64_MAX) return (int64_t)x.u;
        _rc_set_error("rc_array_get_int: element %zu (%llu) does not fit in an int64", k, (unsigned long long)x.u);
        return 0;
    }
    if (isfinite(x.f) && x.f >= -9223372036854775808.0 && x.f < 9223372036854775808.0) return (int64_t)x.f;
    char num_text[40];
    fmt_double(num_text, sizeof num_text, x.f);
    _rc_set_error("rc_array_get_int: element %zu (%s) does not fit in an int64", k, num_text);
    return 0;
}

int rc_array_set(void *array, int64_t i, double value) {
    size_t k;
    if (!is_array("rc_array_set", array)) return -1;
    array_obj *a = array;
    if (!index_ok("rc_array_set", a, i, &k)) return -1;
    int r = put_double((rc_dtype)a->dtype, a->data + (k << a->shift), value);
    if (RC_UNLIKELY(r < 0)) {
        put_double_error("rc_array_set", "", (rc_dtype)a->dtype, value, r);
        return -1;
    }
    return 0;
}

int rc_array_set_int(void *array, int64_t i, int64_t value) {
    size_t k;
    if (!is_array("rc_array_set_int", array)) return -1;
    array_obj *a = array;
    if (!index_ok("rc_array_set_int", a, i, &k)) return -1;
    if (RC_UNLIKELY(put_int((rc_dtype)a->dtype, a->data + (k << a->shift), value) < 0)) {
        put_int_error("rc_array_set_int", "", (rc_dtype)a->dtype, value);
        return -1;
    }
    return 0;
}

void *rc_array_view(void *array, int64_t start, int64_t stop) {
    RC_USER_FRAME();
    if (!is_array("rc_array_view", array)) return NULL;
    array_obj *a = array;
    array_obj *root = a->kind == KIND_VIEW ? a->base : a;
    if (root->exports == UINT32_MAX) {
        _rc_set_error("rc_array_view: the array has too many live views");
        return NULL;
    }
    size_t from, to;
    _rc_slice(start, stop, a->len, &from, &to);
    array_obj *v = rc_new(&rc_array_type);
    if (!v) return NULL;
    v->dtype = a->dtype;
    v->shift = a->shift;
    v->kind = KIND_VIEW;
    v->len = to - from;
    v->data = a->data + (from << a->shift);
    v->base = rc_incref(root);
    root->exports++;
    return v;
}
/* }==== */

/* {==== reductions ==== */

/* Lanes of the reduction loops: an accumulator array this wide, updated by
 * an inner loop of constant trip count, which compilers map onto SIMD
 * registers (two or four of them, with SSE2 or AVX2, for 64-bit lanes). */
#define LANES 8
/* Pairwise summation: blocks of this many floats are summed directly. */
#define PAIRWISE_BLOCK 128

/* Exact integer sums. A narrow type (8, 16 or 32 bits) is added in 64-bit
 * lanes over blocks of at most 2^31 elements (|sum| < 2^31 * 2^32 for
 * int32), each block's sum then added into a 128-bit total. */
#define SUM_NARROW(name, T, ACC, TOTAL)                                         \
    static double name(const T *restrict x, size_t n) {                        \
        TOTAL total = 0;                                                        \
        while (n) {                                                             \
            size_t m = n < ((size_t)1 << 31) ? n : ((size_t)1 << 31), i = 0;    \
            ACC acc[LANES] = {0};                                               \
            for (; i + LANES <= m; i += LANES)                                  \
                for (int j = 0; j < LANES; j++) acc[j] += x[i + j];             \
            ACC s = 0;                                                          \
            for (; i < m; i++) s += x[i];                                       \
            for (int j = 0; j < LANES; j++) s += acc[j];                        \
            total += s;                                                         \
            x += m;                                                             \
            n -= m;                                                             \
        }                                                                       \
        return (double)total;                                                   \
    }

SUM_NARROW(sum_i8, int8_t, int64_t, __int128)
SUM_NARROW(sum_i16, int16_t, int64_t, __int128)
SUM_NARROW(sum_i32, int32_t, int64_t, __int128)
SUM_NARROW(sum_u8, uint8_t, uint64_t, unsigned __int128)
SUM_NARROW(sum_u16, uint16_t, uint64_t, unsigned __int128)
SUM_NARROW(sum_u32, uint32_t, uint64_t, unsigned __int128)

/* A 64-bit element as bits u is hi * 2^32 + lo with hi = u >> 32 and
 * lo = u & 0xffffffff (both below 2^32, so 2^31 of them sum without
 * overflow in 64 bits); a negative int64 is its bits minus 2^64. Only
 * logical shifts, masks and adds: every SIMD level has them. */
static double sum_64(const uint64_t *restrict x, size_t n, bool is_signed) {
    unsigned __int128 total = 0; /* mod 2^128: the signed total's bits */
    while (n) {
        size_t m = n < ((size_t)1 << 31) ? n : ((size_t)1 << 31), i = 0;
        uint64_t lo[LANES] = {0}, hi[LANES] = {0}, neg[LANES] = {0};
        for (; i + LANES <= m; i += LANES)
            for (int j = 0; j < LANES; j++) {
                lo[j] += x[i + j] & 0xffffffffu;
                hi[j] += x[i + j] >> 32;
                neg[j] += x[i + j] >> 63;
            }
        uint64_t l = 0, h = 0, g = 0;
        for (; i < m; i++) {
            l += x[i] & 0xffffffffu;
            h += x[i] >> 32;
            g += x[i] >> 63;
        }
        for (int j = 0; j < LANES; j++) {
            l += lo[j];
            h += hi[j];
            g += neg[j];
        }
        total += ((unsigned __int128)h << 32) + l;
        if (is_signed) total -= (unsigned __int128)g << 64;
        x += m;
        n -= m;
    }
    return is_signed ? (double)(__int128)total : (double)total;
}

/* Pairwise float sums, accumulated in double. */
#define SUM_FLOAT(name, T)                                                      \
    static double name(const T *restrict x, size_t n) {                        \
        if (n > PAIRWISE_BLOCK) {                                               \
            size_t half = (n / 2) & ~(size_t)(LANES - 1);                       \
            return name(x, half) + name(x + half, n - half);                    \
        }                                                                       \
        double acc[LANES] = {0};                                                \
        size_t i = 0;                                                           \
        for (; i + LANES <= n; i += LANES)                                      \
            for (int j = 0; j < LANES; j++) acc[j] += (double)x[i + j];         \
        double s = 0;                                                           \
        for (; i < n; i++) s += (double)x[i];                                   \
        return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + s; \
    }

_Static_assert(LANES == 8, "SUM_FLOAT combines eight lanes");

SUM_FLOAT(sum_f32, float)
SUM_FLOAT(sum_f64, double)

/* min / max of n >= 1 elements. For floats, the select also takes x when
 * x is NaN (x != x), and a NaN lane then keeps its NaN (nothing compares
 * below it): NaN propagates, as in numpy. */
#define MINMAX(name, T, OP, NANCHECK)                                           \
    static double name(const T *restrict x, size_t n) {                        \
        T acc[LANES];                                                           \
        for (int j = 0; j < LANES; j++) acc[j] = x[0];                          \
        size_t i = 0;                                                           \
        for (; i + LANES <= n; i += LANES)                                      \
            for (int j = 0; j < LANES; j++) {                                   \
                T v = x[i + j];                                                 \
                acc[j] = (v OP acc[j] NANCHECK) ? v : acc[j];                   \
            }                                                                   \
        T r = acc[0];                                                           \
        for (; i < n; i++) {                                                    \
            T v = x[i];                                                         \
            r = (v OP r NANCHECK) ? v : r;                                      \
        }                                                                       \
        for (int j = 0; j < LANES; j++) {                                       \
            T v = acc[j];                                                       \
            r = (v OP r NANCHECK) ? v : r;                                      \
        }                                                                       \
        return (double)r;                                                       \
    }

#define NO_NAN
#define OR_NAN || v != v

MINMAX(min_i8, int8_t, <, NO_NAN)
MINMAX(min_i16, int16_t, <, NO_NAN)
MINMAX(min_i32, int32_t, <, NO_NAN)
MINMAX(min_i64, int64_t, <, NO_NAN)
MINMAX(min_u8, uint8_t, <, NO_NAN)
MINMAX(min_u16, uint16_t, <, NO_NAN)
MINMAX(min_u32, uint32_t, <, NO_NAN)
MINMAX(min_u64, uint64_t, <, NO_NAN)
MINMAX(min_f32, float, <, OR_NAN)
MINMAX(min_f64, double, <, OR_NAN)
MINMAX(max_i8, int8_t, >, NO_NAN)
MINMAX(max_i16, int16_t, >, NO_NAN)
MINMAX(max_i32, int32_t, >, NO_NAN)
MINMAX(max_i64, int64_t, >, NO_NAN)
MINMAX(max_u8, uint8_t, >, NO_NAN)
MINMAX(max_u16, uint16_t, >, NO_NAN)
MINMAX(max_u32, uint32_t, >, NO_NAN)
MINMAX(max_u64, uint64_t, >, NO_NAN)
MINMAX(max_f32, float, >, OR_NAN)
MINMAX(max_f64, double, >, OR_NAN)

static double array_sum(const array_obj *a) {
    const void *p = a->data;
    size_t n = a->len;
    switch ((rc_dtype)a->dtype) {
    case RC_INT8: return sum_i8(p, n);
    case RC_INT16: return sum_i16(p, n);
    case RC_INT32: return sum_i32(p, n);
    case RC_INT64: return sum_64(p, n, true);
    case RC_UINT8: return sum_u8(p, n);
    case RC_UINT16: return sum_u16(p, n);
    case RC_UINT32: return sum_u32(p, n);
    case RC_UINT64: return sum_64(p, n, false);
    case RC_FLOAT32: return sum_f32(p, n);
    case RC_FLOAT64: return sum_f64(p, n);
    }
    return NAN;
}

double rc_array_sum(const void *array) {
    if (!is_array("rc_array_sum", array)) return NAN;
    return array_sum(array);
}

double rc_array_mean(const void *array) {
    if (!is_array("rc_array_mean", array)) return NAN;
    const array_obj *a = array;
    if (a->len == 0) {
        _rc_set_error("rc_array_mean: the array is empty");
        return NAN;
    }
    return array_sum(a) / (double)a->len;
}

double rc_array_min(const void *array) {
    if (!is_array("rc_array_min", array)) return NAN;
    const array_obj *a = array;
    const void *p = a->data;
    size_t n = a->len;
    if (n == 0) {
        _rc_set_error("rc_array_min: the array is empty");
        return NAN;
    }
    switch ((rc_dtype)a->dtype) {
    case RC_INT8: return min_i8(p, n);
    case RC_INT16: return min_i16(p, n);
    case RC_INT32: return min_i32(p, n);
    case RC_INT64: return min_i64(p, n);
    case RC_UINT8: return min_u8(p, n);
    case RC_UINT16: return min_u16(p, n);
    case RC_UINT32: return min_u32(p, n);
    case RC_UINT64: return min_u64(p, n);
    case RC_FLOAT32: return min_f32(p, n);
    case RC_FLOAT64: return min_f64(p, n);
    }
    return NAN;
}

double rc_array_max(const void *array) {
    if (!is_array("rc_array_max", array)) return NAN;
    const array_obj *a = array;
    const void *p = a->data;
    size_t n = a->len;
    if (n == 0) {
        _rc_set_error("rc_array_max: the array is empty");
        return NAN;
    }
    switch ((rc_dtype)a->dtype) {
    case RC_INT8: return max_i8(p, n);
    case RC_INT16: return max_i16(p, n);
    case RC_INT32: return max_i32(p, n);
    case RC_INT64: return max_i64(p, n);
    case RC_UINT8: return max_u8(p, n);
    case RC_UINT16: return max_u16(p, n);
    case RC_UINT32: return max_u32(p, n);
    case RC_UINT64: return max_u64(p, n);
    case RC_FLOAT32: return max_f32(p, n);
    case RC_FLOAT64: return max_f64(p, n);
    }
    return NAN;
}
/* }==== */

/* {==== membership ==== */

/* Is there an element i with elements[i] == *elem (of a's dtype)? Floats
 * compare by value (0.0 == -0.0; elem is never NaN), integers by bits. */
static bool scan_equal(const array_obj *a, const void *elem) {
    size_t n = a->len;
    switch ((rc_dtype)a->dtype) {
    case RC_FLOAT32: {
        const float *restrict p = (const float *)a->data, x = *(const float *)elem;
        for (size_t i = 0; i < n; i++)
            if (p[i] == x) return true;
        return false;
    }
    case RC_FLOAT64: {
        const double *restrict p = (const double *)a->data, x = *(const double *)elem;
        for (size_t i = 0; i < n; i++)
            if (p[i] == x) return true;
        return false;
    }
    default: break;
    }
    switch (a->shift) {
    case 0: return memchr(a->data, *(const uint8_t *)elem, n) != NULL;
#define SCAN_BITS(T)                                                            \
    {                                                                           \
        const T *restrict p = (const T *)a->data, x = *(const T *)elem;         \
        for (size_t i = 0; i < n; i++)                                          \
            if (p[i] == x) return true;                                         \
        return false;                                                           \
    }
    case 1: SCAN_BITS(uint16_t)
    case 2: SCAN_BITS(uint32_t)
    default: SCAN_BITS(uint64_t)
#undef SCAN_BITS
    }
}

int _rc_array_contains(const void *array, const void *item) {
    if (!is_array("rc_contains", array)) return -1;
    const array_obj *a = array;
    const rc_type *t = item ? rc_type_of(item) : NULL;
    num want;
    if (t == &rc_int_type || t == &rc_bool_type) want = (num){NUM_SIGNED, {.i = rc_int_value(item)}};
    else if (t == &rc_float_type) want = (num){NUM_FLOAT, {.f = rc_float_value(item)}};
    else return 0; /* only numbers are ever equal to an element */
    /* item as an element of the dtype; when that element is not exactly
     * item (out of range, a fraction, rounded, NaN), no element equals it */
    uint64_t buf = 0;
    rc_dtype d = (rc_dtype)a->dtype;
    int r = want.cls == NUM_FLOAT ? put_double(d, &buf, want.f) : put_int(d, &buf, want.i);
    array_obj one = {.dtype = a->dtype, .shift = a->shift, .len = 1, .data = (char *)&buf};
    if (r < 0 || !num_equal(load(&one, 0), want)) return 0;
    return scan_equal(a, &buf);
}
/* }==== */

/* {==== repr, equality ==== */

/* array('d', [1.0, 2.5]); array('d') when empty, as Python prints it. */
static void *array_repr(const void *self) {
    const array_obj *a = self;
    rc_sb sb;
    _rc_sb_init(&sb);
    _rc_sb_addf(&sb, "array('%c'", dtypes[a->dtype].code);
    if (a->len) _rc_sb_adds(&sb, ", [");
    for (size_t i = 0; i < a->len && !sb.failed; i++) {
        if (i) _rc_sb_add(&sb, ", ", 2);
        num x = load(a, i);
        if (x.cls == NUM_SIGNED) {
            _rc_sb_addf(&sb, "%lld", (long long)x.i);
        } else if (x.cls == NUM_UNSIGNED) {
            _rc_sb_addf(&sb, "%llu", (unsigned long long)x.u);
        } else {
            void *f = rc_float_new(x.f);
            if (!f) sb.failed = true;
            else _rc_sb_add_repr(&sb, f);
            rc_decref(f);
        }
    }
    _rc_sb_adds(&sb, a->len ? "])" : ")");
    return _rc_sb_finish(&sb);
}

static bool array_equal(const void *x, const void *y) {
    const array_obj *a = x, *b = y;
    if (a->len != b->len) return false;
    if (a->dtype == b->dtype && !is_float((rc_dtype)a->dtype))
        return memcmp(a->data, b->data, a->len << a->shift) == 0;
    if (a->dtype == b->dtype && a->dtype == RC_FLOAT64) {
        const double *p = (const double *)a->data, *q = (const double *)b->data;
        for (size_t i = 0; i < a->len; i++)
            if (!(p[i] == q[i])) return false;
        return true;
    }
    for (size_t i = 0; i < a->len; i++)
        if (!num_equal(load(a, i), load(b, i))) return false;
    return true;
}
/* }==== */

/* {==== the iterator ==== */

/* Holds its array until exhausted (then drops it, as CPython's iterators
 * do); the length is read at every step, so an array that grows while
 * being iterated yields its new elements too. */
typedef struct array_iter_obj {
    array_obj *array; /* own reference; NULL once exhausted */
    size_t next;      /* index of the next element */
} array_iter_obj;

static void array_iter_destroy(void *self) { RC_CLEAR(((array_iter_obj *)self)->array); }

static int array_iter_next(void *self, void **out) {
    array_iter_obj *it = self;
    array_obj *a = it->array;
    if (!a) return 0;
    if (it->next >= a->len) {
        RC_CLEAR(it->array);
        return 0;
    }
    void *x = num_object(load(a, it->next));
    if (!x) {
        _rc_set_error("rc_next: out of memory");
        RC_CLEAR(it->array);
        return -1;
    }
    it->next++;
    *out = x;
    return 1;
}

static const rc_type array_iter_type = {.name = "array_iterator",
                                        .size = sizeof(array_iter_obj),
                                        .destroy = array_iter_destroy,
                                        .next = array_iter_next,
                                        .flags = RC_TYPE_BUILTIN};

static void *array_iter(void *self) {
    array_iter_obj *it = rc_new(&array_iter_type);
    if (!it) return NULL;
    it->array = rc_incref(self);
    return it;
}
/* }==== */
