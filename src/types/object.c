/*
 * object.c — what every object answers: rc_repr, rc_hash, rc_equal,
 * rc_compare, rc_len, rc_contains, rc_iter and rc_next; and the pieces
 * every built-in type shares (argument and index checks, slice clamping,
 * the recursion bound, the string builder, Python's hashes).
 *
 * Dispatch is through the rc_type slots (repr, hash, equal, iter, next),
 * so the built-in types and user types are treated alike; only numbers
 * compare across types (1 == 1.0 == True, and their hashes agree), as in
 * Python. The hashes of numbers and tuples are Python's own algorithms
 * (sys.hash_info: the modulus 2^61 - 1, the xxHash-based tuple hash), so
 * a C program and a Python one agree on them; strs hash their UTF-8 with
 * a fast 64-bit multiply-mix (Python's SipHash is keyed per process, so no
 * program can rely on its values anyway).
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal/types.h"

/* {==== checks ==== */

const char *_rc_obj_type_name(const void *obj) {
    if (!obj) return "NULL";
    const rc_type *t = rc_type_of(obj);
    return t && t->name ? t->name : "?";
}

bool _rc_expect(const char *fn, const void *obj, const rc_type *t, const char *what) {
    if (RC_LIKELY(obj != NULL) && RC_LIKELY(rc_type_of(obj) == t)) return true;
    _rc_set_error("%s: expected %s, got %s", fn, what, _rc_obj_type_name(obj));
    return false;
}

bool _rc_index(const char *fn, int64_t i, size_t len, size_t *out) {
    int64_t j = i < 0 ? i + (int64_t)len : i;
    if (RC_LIKELY(j >= 0 && (uint64_t)j < len)) {
        *out = (size_t)j;
        return true;
    }
    _rc_set_error("%s: index %lld out of range (len %zu)", fn, (long long)i, len);
    return false;
}

void _rc_slice(int64_t start, int64_t stop, size_t len, size_t *from, size_t *to) {
    int64_t n = (int64_t)len;
    if (start < 0) start = start + n < 0 ? 0 : start + n;
    if (stop < 0) stop = stop + n < 0 ? 0 : stop + n;
    if (start > n) start = n;
    if (stop > n) stop = n;
    if (stop < start) stop = start;
    *from = (size_t)start;
    *to = (size_t)stop;
}

static __thread unsigned recursion_depth;

bool _rc_recursion_enter(const char *fn) {
    if (RC_UNLIKELY(recursion_depth >= RC_RECURSION_LIMIT)) {
        _rc_set_error("%s: nesting deeper than %d levels", fn, RC_RECURSION_LIMIT);
        return false;
    }
    recursion_depth++;
    return true;
}

void _rc_recursion_leave(void) { recursion_depth--; }
/* }==== */

/* {==== the string builder ==== */

void _rc_sb_init(rc_sb *sb) { *sb = (rc_sb){0}; }

static bool sb_reserve(rc_sb *sb, size_t more) {
    if (sb->failed) return false;
    size_t need;
    if (__builtin_add_overflow(sb->len, more + 1, &need)) {
        sb->failed = true;
        return false;
    }
    if (need <= sb->cap) return true;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < need) cap = cap * 2 > cap ? cap * 2 : need;
    char *b = rc_realloc(sb->buf, cap);
    if (!b) {
        sb->failed = true;
        return false;
    }
    sb->buf = b;
    sb->cap = cap;
    return true;
}

void _rc_sb_add(rc_sb *sb, const char *s, size_t n) {
    if (!sb_reserve(sb, n)) return;
    memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
}

void _rc_sb_adds(rc_sb *sb, const char *cstr) { _rc_sb_add(sb, cstr, strlen(cstr)); }

void _rc_sb_addf(rc_sb *sb, const char *fmt, ...) {
    char small[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        sb->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        _rc_sb_add(sb, small, (size_t)n);
        return;
    }
    if (!sb_reserve(sb, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

bool _rc_sb_add_repr(rc_sb *sb, const void *obj) {
    if (sb->failed) return false;
    void *r = rc_repr(obj);
    if (!r) {
        sb->failed = true;
        return false;
    }
    _rc_sb_add(sb, rc_str_cstr(r), rc_str_size(r));
    rc_decref(r);
    return !sb->failed;
}

void *_rc_sb_finish(rc_sb *sb) {
    if (sb->failed) {
        _rc_sb_discard(sb);
        if (!rc_last_error()[0]) _rc_set_error("rc_repr: out of memory");
        return NULL;
    }
    void *s = _rc_str_new_trusted(sb->buf ? sb->buf : "", sb->len, _rc_utf8_count(sb->buf ? sb->buf : "", sb->len));
    _rc_sb_discard(sb);
    return s;
}

void _rc_sb_discard(rc_sb *sb) {
    rc_free(sb->buf);
    *sb = (rc_sb){0};
}
/* }==== */

/* {==== repr ==== */

/* Objects being printed on this thread, innermost last. */
static __thread const void *repr_stack[RC_RECURSION_LIMIT];
static __thread unsigned repr_depth;

int _rc_repr_enter(const void *obj) {
    for (unsigned i = 0; i < repr_depth; i++)
        if (repr_stack[i] == obj) return 1;
    if (repr_depth >= RC_RECURSION_LIMIT) {
        _rc_set_error("rc_repr: nesting deeper than %d levels", RC_RECURSION_LIMIT);
        return -1;
    }
    repr_stack[repr_depth++] = obj;
    return 0;
}

void _rc_repr_leave(const void *obj) {
    (void)obj;
    repr_depth--;
}

void *rc_repr(const void *obj) {
    RC_USER_FRAME();
    if (!obj) return _rc_str_new_trusted("NULL", 4, 4);
    const rc_type *t = rc_type_of(obj);
    if (t->repr) {
        void *r = t->repr(obj);
        if (RC_UNLIKELY(r && rc_type_of(r) != &rc_str_type)) {
            /* Python's TypeError: __repr__ returned non-string */
            _rc_set_error("rc_repr: repr of '%s' returned non-str (type %s)", t->name ? t->name : "?",
                          _rc_obj_type_name(r));
            rc_decref(r);
            return NULL;
        }
        return r;
    }
    /* the user's type name is text we did not check: validate it (a name
     * that is not UTF-8 reads as "?") */
    char buf[256];
    int n = snprintf(buf, sizeof buf, "<%s object at %p>", t->name ? t->name : "?", obj);
    void *r = n > 0 && (size_t)n < sizeof buf ? rc_str_new(buf, (size_t)n) : NULL;
    if (!r) {
        n = snprintf(buf, sizeof buf, "<? object at %p>", obj);
        r = _rc_str_new_trusted(buf, (size_t)n, (size_t)n);
    }
    return r;
}
/* }==== */

/* {==== hashes ==== */

#define HASH_BITS 61
#define HASH_MODULUS (((uint64_t)1 << HASH_BITS) - 1)

int64_t _rc_hash_int(int64_t v) {
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int64_t h = (int64_t)(mag % HASH_MODULUS);
    if (v < 0) h = -h;
    return h == -1 ? -2 : h;
}

/* The value of a finite double reduced modulo 2^61 - 1, 28 bits of
 * mantissa at a time, then multiplied by 2^e in the modular field (a
 * rotation, since 2^61 == 1 there). */
int64_t _rc_hash_double(double v) {
    if (isinf(v)) return v > 0 ? 314159 : -314159;
    if (isnan(v)) return 0;
    int e;
    double m = frexp(v, &e);
    int sign = 1;
    if (m < 0) {
        sign = -1;
        m = -m;
    }
    uint64_t x = 0;
    while (m != 0.0) {
        x = ((x << 28) & HASH_MODULUS) | x >> (HASH_BITS - 28);
        m *= 268435456.0; /* 2^28 */
        e -= 28;
        uint64_t y = (uint64_t)m;
        m -= (double)y;
        x += y;
        if (x >= HASH_MODULUS) x -= HASH_MODULUS;
    }
    e = e >= 0 ? e % HASH_BITS : HASH_BITS - 1 - ((-1 - e) % HASH_BITS);
    x = ((x << e) & HASH_MODULUS) | x >> (HASH_BITS - e);
    int64_t h = (int64_t)x * sign;
    return h == -1 ? -2 : h;
}

static inline uint64_t load64(const unsigned char *p) {
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

static inline uint64_t mix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

int64_t _rc_hash_bytes(const void *data, size_t n) {
    const unsigned char *p = data;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * 0xc2b2ae3d27d4eb4fULL);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = load64(p + i) * 0x87c37b91114253d5ULL;
        w = (w << 31) | (w >> 33);
        h = ((h ^ w) << 27 | (h ^ w) >> 37) * 5 + 0x52dce729;
    }
    uint64_t tail = 0;
    for (size_t k = 0; i + k < n; k++) tail |= (uint64_t)p[i + k] << (8 * k);
    h ^= tail * 0x4cf5ad432745937fULL;
    int64_t r = (int64_t)mix64(h);
    return r == -1 ? -2 : r;
}

int64_t _rc_hash_tuple(const int64_t *hashes, size_t n) {
    const uint64_t p1 = 11400714785074694791ULL, p2 = 14029467366897019727ULL, p5 = 2870177450012600261ULL;
    uint64_t acc = p5;
    for (size_t i = 0; i < n; i++) {
        acc += (uint64_t)hashes[i] * p2;
        acc = (acc << 31) | (acc >> 33);
        acc *= p1;
    }
    acc += n ^ (p5 ^ 3527539UL);
    return acc == (uint64_t)-1 ? 1546275796 : (int64_t)acc;
}

int64_t rc_hash(const void *obj) {
    RC_USER_FRAME();
    if (!obj) {
        _rc_set_error("rc_hash: object is NULL");
        return -1;
    }
    const rc_type *t = rc_type_of(obj);
    if (t->hash) {
        uint64_t h = t->hash(obj);
        /* the built-in types' hash slots report failure as (uint64_t)-1
         * (an unhashable item inside a tuple); a user's -1 becomes -2 */
        if (h == (uint64_t)-1) {
            if (t->flags & RC_TYPE_BUILTIN) return -1;
            return -2;
        }
        return (int64_t)h;
    }
    if (t->flags & RC_TYPE_UNHASHABLE) {
        _rc_set_error("rc_hash: unhashable type: '%s'", t->name);
        return -1;
    }
    /* identity, as Python's object.__hash__: the address without its
     * always-zero low bits */
    uintptr_t a = (uintptr_t)obj;
    int64_t h = (int64_t)((a >> 4) | (a << (8 * sizeof a - 4)));
    return h == -1 ? -2 : h;
}
/* }==== */

/* {==== equality and ordering ==== */

bool rc_equal(const void *a, const void *b) {
    if (a == b) return true;
    if (!a || !b) return false;
    const rc_type *ta = rc_type_of(a), *tb = rc_type_of(b);
    if (ta == tb) return ta->equal ? ta->equal(a, b) : false;
    if (_rc_is_number(a) && _rc_is_number(b)) return _rc_number_compare(a, b) == 0;
    return false;
}

int rc_compare(const void *a, const void *b, int *result) {
    if (!result) {
        _rc_set_error("rc_compare: result is NULL");
        return -1;
    }
    if (!a || !b) {
        _rc_set_error("rc_compare: object is NULL");
        return -1;
    }
    const rc_type *ta = rc_type_of(a), *tb = rc_type_of(b);
    if (_rc_is_number(a) && _rc_is_number(b)) {
        int c = _rc_number_compare(a, b);
        if (c == 2) {
            /* NaN: Python's < and > are both false; sort it as equal */
            c = 0;
        }
        *result = c;
        return 0;
    }
    if (ta == tb) {
        if (ta == &rc_str_type) {
            *result = _rc_str_compare(a, b);
            return 0;
        }
        if (ta == &rc_bytes_type) {
            *result = _rc_bytes_compare(a, b);
            return 0;
        }
        if (ta == &rc_tuple_type || ta == &rc_list_type) return _rc_sequence_compare(a, b, result);
    }
    _rc_set_error("rc_compare: '<' not supported between '%s' and '%s'", _rc_obj_type_name(a), _rc_obj_type_name(b));
    return -1;
}
/* }==== */

/* {==== len, contains ==== */

int64_t rc_len(const void *obj) {
    const rc_type *t = obj ? rc_type_of(obj) : NULL;
    if (t == &rc_str_type) return (int64_t)rc_str_len(obj);
    if (t == &rc_bytes_type) return (int64_t)rc_bytes_len(obj);
    if (t == &rc_tuple_type) return (int64_t)rc_tuple_len(obj);
    if (t == &rc_list_type) return (int64_t)rc_list_len(obj);
    if (t == &rc_dict_type) return (int64_t)rc_dict_len(obj);
    if (t == &rc_set_type) return (int64_t)rc_set_len(obj);
    if (t == &rc_array_type) return (int64_t)rc_array_len(obj);
    _rc_set_error("rc_len: object of type '%s' has no len()", _rc_obj_type_name(obj));
    return -1;
}

int rc_contains(const void *container, const void *item) {
    const rc_type *t = container ? rc_type_of(container) : NULL;
    if (t == &rc_dict_type) return rc_dict_contains(container, item);
    if (t == &rc_set_type) return rc_set_contains(container, item);
    if (!item) {
        _rc_set_error("rc_contains: item is NULL");
        return -1;
    }
    if (t == &rc_str_type) {
        if (!_rc_expect("rc_contains", item, &rc_str_type, "a str (substring of a str)")) return -1;
        return rc_str_find(container, item, 0) >= 0;
    }
    if (t == &rc_tuple_type || t == &rc_list_type) {
        for (size_t i = 0;; i++) {
            size_t n; /* re-read each time: rc_equal may run user code */
            void *const *items = _rc_sequence_items(container, &n);
            if (i >= n) break;
            void *x = rc_incref(items[i]);
            bool eq = rc_equal(x, item);
            rc_decref(x);
            if (eq) return 1;
        }
        return 0;
    }
    if (t == &rc_array_type) return _rc_array_contains(container, item);
    if (t == &rc_bytes_type) {
        /* Python's `97 in b'abc'` and `b'bc' in b'abc'` */
        const uint8_t *hay = rc_bytes_data(container);
        size_t n = rc_bytes_len(container);
        const rc_type *it = rc_type_of(item);
        if (it == &rc_int_type || it == &rc_bool_type) {
            int64_t v = rc_int_value(item);
            if (v < 0 || v > 255) {
                _rc_set_error("rc_contains: byte must be in range(0, 256), got %lld", (long long)v);
                return -1;
            }
            return n && memchr(hay, (int)v, n) != NULL;
        }
        if (it == &rc_bytes_type)
            return rc_bytes_len(item) == 0 || memmem(hay, n, rc_bytes_data(item), rc_bytes_len(item)) != NULL;
        _rc_set_error("rc_contains: a bytes-like object or int is required, not '%s'", _rc_obj_type_name(item));
        return -1;
    }
    _rc_set_error("rc_contains: argument of type '%s' is not a container", _rc_obj_type_name(container));
    return -1;
}
/* }==== */

/* {==== iteration ==== */

void *rc_iter(void *obj) {
    RC_USER_FRAME();
    if (!obj) {
        _rc_set_error("rc_iter: object is NULL");
        return NULL;
    }
    const rc_type *t = rc_type_of(obj);
    if (t->next) return rc_incref(obj);
    if (t->iter) return t->iter(obj);
    _rc_set_error("rc_iter: '%s' object is not iterable", t->name ? t->name : "?");
    return NULL;
}

int rc_next(void *it, void **out) {
    RC_USER_FRAME();
    if (!out) {
        _rc_set_error("rc_next: out is NULL");
        return -1;
    }
    *out = NULL;
    if (!it) {
        _rc_set_error("rc_next: iterator is NULL");
        return -1;
    }
    const rc_type *t = rc_type_of(it);
    if (!t->next) {
        _rc_set_error("rc_next: '%s' object is not an iterator", t->name ? t->name : "?");
        return -1;
    }
    return t->next(it, out);
}
/* }==== */
