/*
 * src/internal/types.h — the internal interface of src/types, the built-in
 * types of reclaim.h section 6. Sectioned by defining file. Every file of
 * src/types includes this header and reclaim.h; the layers below (objects,
 * collector, heap) are reached through their internal headers.
 *
 * Conventions of the built-in types:
 *   - Each type's payload struct is private to its file; other files use
 *     the public functions, or the internal ones declared here.
 *   - Argument checks go through _rc_expect, index checks through
 *     _rc_index, so every message has the same shape:
 *       "rc_list_get: expected a list, got int"
 *       "rc_list_get: index 7 out of range (len 3)"
 *   - A function that fails leaves its arguments as they were.
 *   - Containers allocate their item storage with rc_malloc/rc_realloc
 *     (the heap), never the system malloc.
 */
#ifndef RC_INTERNAL_TYPES_H
#define RC_INTERNAL_TYPES_H
#ifndef RC_BUILDING_RECLAIM
#error "src/internal/types.h is internal to reclaim: include <reclaim.h> instead"
#endif

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "object.h"
#include "runtime.h"

/* RC_USER_FRAME(); at the top of a public function of src/types that may
 * allocate (directly or through what it calls): while any hook is on, the
 * outermost such function on the thread notes its caller's return address
 * in _rc_user_ra (src/internal/heap.h), which the tracer records as frame
 * 0 of the allocations made inside (the user's call site, not the line of
 * src/types that allocates), and clears it on the way out. Off, it costs
 * a load and a predicted branch. gcc and clang (cleanup attribute), like
 * the rest of the library. */
static inline void _rc_user_frame_leave(const bool *set) {
    if (RC_UNLIKELY(*set)) _rc_user_ra = NULL;
}
#define RC_USER_FRAME()                                                                                  \
    __attribute__((cleanup(_rc_user_frame_leave), unused)) const bool rc_user_frame_ =                 \
        RC_TRACING() && !_rc_user_ra ? (_rc_user_ra = __builtin_return_address(0), true) : false

/* ====================================================================
 * object.c: dispatch (rc_repr, rc_hash, rc_equal, rc_compare, rc_len,
 * rc_contains, rc_iter, rc_next), argument checks, the string builder
 * ==================================================================== */

/* rc_type.flags bits of the built-in types (reclaim.h reserves 16-31). */
#define RC_TYPE_BUILTIN (1u << 16)    /* a type of src/types: its hash slot returns (uint64_t)-1 on failure */
#define RC_TYPE_UNHASHABLE (1u << 17) /* rc_hash fails ("unhashable type"): list, dict, set, array */

/* The type's name for messages ("?" for a type without one, "NULL"). */
RC_INTERNAL const char *_rc_obj_type_name(const void *obj);

/* Is obj (not NULL) of type t? Else false with rc_last_error set to
 * "<fn>: expected <what>, got <type name>". */
RC_INTERNAL bool _rc_expect(const char *fn, const void *obj, const rc_type *t, const char *what);

/* Normalise index i (negative counts from the end) into [0, len); false
 * with "<fn>: index <i> out of range (len <len>)" otherwise. */
RC_INTERNAL bool _rc_index(const char *fn, int64_t i, size_t len, size_t *out);

/* Python's slice clamping of [start, stop) on a sequence of len items;
 * *from <= *to always. */
RC_INTERNAL void _rc_slice(int64_t start, int64_t stop, size_t len, size_t *from, size_t *to);

/* Track container (rc_gc_track) if it is untracked and item is tracked or
 * may become tracked by itself (its type is RC_TYPE_UNTRACKED: an empty
 * dict; CPython's _PyObject_GC_MAY_BE_TRACKED): for types created
 * untracked (RC_TYPE_UNTRACKED) or untracked by the collector
 * (RC_TYPE_IMMUTABLE) whose contents may still change. collect.c's
 * untracking rule is the same, so a collection never undoes this. */
static inline void _rc_track_if_needed(void *container, const void *item) {
    if (!item) return;
    const rc_object_head *c = _rc_head(container), *i = _rc_head(item);
    if (RC_UNLIKELY(!(c->type_bits & RC_TRACKED)) &&
        ((i->type_bits & RC_TRACKED) || (_rc_head_type(i)->flags & RC_TYPE_UNTRACKED)) &&
        !(c->type_bits & RC_DYING))
        rc_gc_track(container);
}

/* Guard against infinite recursion in repr of a container that contains
 * itself (Py_ReprEnter / Py_ReprLeave): _rc_repr_enter returns 1 when obj
 * is already being printed on this thread (print "[...]"), 0 when it was
 * entered (call _rc_repr_leave after), -1 when nesting is too deep
 * (rc_last_error set). */
RC_INTERNAL int _rc_repr_enter(const void *obj);
RC_INTERNAL void _rc_repr_leave(const void *obj);

/* Recursion through nested containers (rc_equal, rc_hash, rc_compare,
 * rc_repr of a list inside a list...) is bounded, as Python's recursion
 * limit bounds it: _rc_recursion_enter returns false, with
 * "<fn>: nesting deeper than 1000 levels" set, when the calling thread is
 * already that deep; every true is matched by _rc_recursion_leave. */
#define RC_RECURSION_LIMIT 1000
RC_INTERNAL bool _rc_recursion_enter(const char *fn);
RC_INTERNAL void _rc_recursion_leave(void);

/* A growing UTF-8 buffer from the heap, for building strs. Any append that
 * fails (no memory) marks the builder failed; _rc_sb_finish then returns
 * NULL (rc_last_error set) and frees the buffer. */
typedef struct rc_sb {
    char *buf;
    size_t len, cap;
    bool failed;
} rc_sb;
RC_INTERNAL void _rc_sb_init(rc_sb *sb);
RC_INTERNAL void _rc_sb_add(rc_sb *sb, const char *s, size_t n);
RC_INTERNAL void _rc_sb_adds(rc_sb *sb, const char *cstr);
RC_INTERNAL void _rc_sb_addf(rc_sb *sb, const char *fmt, ...) RC_PRINTF(2, 3);
/* Append rc_repr(obj); false (and the builder failed) if repr failed. */
RC_INTERNAL bool _rc_sb_add_repr(rc_sb *sb, const void *obj);
/* A new str of the built text (its UTF-8 is trusted), or NULL. */
RC_INTERNAL void *_rc_sb_finish(rc_sb *sb);
/* Free the buffer without making a str. */
RC_INTERNAL void _rc_sb_discard(rc_sb *sb);

/* Python's numeric hash (sys.hash_info: modulus 2^61 - 1), so that
 * hash(n) == hash(float(n)); never -1. */
RC_INTERNAL int64_t _rc_hash_int(int64_t v);
RC_INTERNAL int64_t _rc_hash_double(double v);
/* The hash of bytes of text (strs and bytes hash their content the same
 * way); never -1. */
RC_INTERNAL int64_t _rc_hash_bytes(const void *data, size_t n);
/* Combine item hashes into a tuple's hash (CPython's xxHash-based
 * scheme); never -1. */
RC_INTERNAL int64_t _rc_hash_tuple(const int64_t *hashes, size_t n);

/* ====================================================================
 * number.c: None, bools, ints, floats
 * ==================================================================== */

/* Is obj an int, a bool or a float? (for rc_equal, rc_compare) */
RC_INTERNAL bool _rc_is_number(const void *obj);
/* Compare two numbers exactly (int64 against double without rounding):
 * -1, 0, 1; 2 when one is NaN (unordered, not equal). */
RC_INTERNAL int _rc_number_compare(const void *a, const void *b);

/* ====================================================================
 * str.c / bytes.c
 * ==================================================================== */

/* Ordering of two strs by code point (equal to byte order in UTF-8) and
 * of two bytes objects. */
RC_INTERNAL int _rc_str_compare(const void *a, const void *b);
RC_INTERNAL int _rc_bytes_compare(const void *a, const void *b);
/* A new str from UTF-8 known to be valid (skips validation). */
RC_INTERNAL void *_rc_str_new_trusted(const char *utf8, size_t nbytes, size_t nchars);
/* A new str of nbytes whose text (NUL-terminated, *text) the caller fills
 * with valid UTF-8 of nchars code points before the str is shared. */
RC_INTERNAL void *_rc_str_alloc(size_t nbytes, size_t nchars, char **text);
/* The immortal static one-character str of ASCII c (< 128), and the
 * immortal static empty str; borrowed (counting them is a no-op). */
RC_INTERNAL void *_rc_str_ascii_char(unsigned char c);
RC_INTERNAL void *_rc_str_empty(void);
/* Code points in valid UTF-8. */
RC_INTERNAL size_t _rc_utf8_count(const char *s, size_t n);
/* Byte offset of code point k in valid UTF-8 s[0..n) (n when k >= the
 * count). */
RC_INTERNAL size_t _rc_utf8_offset(const char *s, size_t n, size_t k);
/* Byte offset of code point k in the str (k <= len). */
RC_INTERNAL size_t _rc_str_offset(const void *str, size_t k);
/* str's iter slot (strops.c): a new iterator over the code points. */
RC_INTERNAL void *_rc_str_iter(void *self);
/* Append the Python repr of text (quotes and escapes) to sb. */
RC_INTERNAL void _rc_sb_add_str_repr(rc_sb *sb, const char *s, size_t n);

/* ====================================================================
 * dict.c / set.c: hashing and comparing keys
 * ==================================================================== */

/* rc_hash(key) for a key that is not NULL; -1 on failure, with
 * rc_last_error rewritten to name fn ("rc_dict_set: unhashable type:
 * 'list'"). _rc_key_hash is the inline fast path of int and str keys. */
RC_INTERNAL int64_t _rc_key_hash_slow(const char *fn, const void *key);
static inline int64_t _rc_key_hash(const char *fn, const void *key) {
    const rc_type *t = _rc_head_type(_rc_head(key));
    if (RC_LIKELY(t == &rc_int_type || t == &rc_str_type)) return (int64_t)t->hash(key);
    return _rc_key_hash_slow(fn, key);
}

/* The common start of a dict or set operation: container must be of type
 * t (else "<fn>: expected <what>, got ..."), key not NULL ("<fn>: <noun>
 * is NULL"), and key hashable; true with *h set, or false with
 * rc_last_error set. */
static inline bool _rc_key_prepare(const char *fn, const void *container, const rc_type *t, const char *what,
                                   const void *key, const char *noun, int64_t *h) {
    if (RC_UNLIKELY(!container || _rc_head_type(_rc_head(container)) != t)) {
        _rc_expect(fn, container, t, what);
        return false;
    }
    if (RC_UNLIKELY(!key)) {
        _rc_set_error("%s: %s is NULL", fn, noun);
        return false;
    }
    *h = _rc_key_hash(fn, key);
    return *h != -1;
}

/* Are keys a and b (not NULL, equal hashes) equal, when answering cannot
 * run user code? 1 or 0; -1 when rc_equal may run user code (a user type,
 * a tuple): the caller then guards its table (a reference to the stored
 * key, a version check after the call). */
static inline int _rc_key_equal_fast(const void *a, const void *b) {
    const rc_type *ta = _rc_head_type(_rc_head(a)), *tb = _rc_head_type(_rc_head(b));
    if (RC_LIKELY(ta == tb)) {
        if (RC_LIKELY(ta == &rc_int_type || ta == &rc_str_type)) return ta->equal(a, b);
        if (ta == &rc_float_type || ta == &rc_bool_type || ta == &rc_bytes_type || ta == &rc_none_type)
            return rc_equal(a, b);
        return -1;
    }
    /* objects of two types are equal only as numbers (rc_equal) */
    return _rc_is_number(a) && _rc_is_number(b) && rc_equal(a, b);
}

/* The validators of the two tables (for tests): check every invariant
 * written at the top of dict.c / set.c, walking the whole table; false
 * with rc_last_error naming the first one broken. */
RC_INTERNAL bool _rc_dict_is_valid(const void *dict);
RC_INTERNAL bool _rc_set_is_valid(const void *set);

/* ====================================================================
 * tuple.c / list.c: lexicographic ordering of two tuples or two lists
 * (rc_compare's rule); -1 with rc_last_error set when items have no order.
 * ==================================================================== */
RC_INTERNAL int _rc_sequence_compare(const void *a, const void *b, int *result);

/* The items of a tuple or list as a borrowed array (valid until the list
 * changes), for fast paths in other files. */
RC_INTERNAL void *const *_rc_sequence_items(const void *seq, size_t *n);

/* ====================================================================
 * array.c
 * ==================================================================== */

/* rc_contains for an array: 1 when an element equals item exactly (numbers
 * only, across int, bool and float; NaN is in no array), else 0; -1 with
 * rc_last_error set when array is not an array. One typed scan, no call
 * per element. */
RC_INTERNAL int _rc_array_contains(const void *array, const void *item);

/* tuple.c: a tuple's items (borrowed) and count; tuple must be a tuple. */
RC_INTERNAL void *const *_rc_tuple_items(const void *tuple, size_t *n);

/* list.c: the slots allocated for a list's items (len <= capacity), for
 * tests of the growth policy; 0 for a non-list. */
RC_INTERNAL size_t _rc_list_capacity(const void *list);

#endif
