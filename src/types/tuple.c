/*
 * tuple.c — the tuple: a fixed-length, immutable sequence of references.
 *
 *   payload: n | items[0] ... items[n-1]     (one rc_new_var block)
 *   16 header + 8 + 8n bytes, rounded up to the pool's 16-byte class
 *   (CPython's tuple takes 16 of GC links + 24 + 8n).
 *
 * The items live inline, so a tuple is one allocation and an item is one
 * load away from the tuple pointer. A tuple is built by rc_tuple_new (every
 * item rc_none) and rc_tuple_set, or in one step by rc_tuple_pack and
 * rc_tuple_from_array; once it is shared it never changes.
 *
 * Invariants:
 *   every items[i] is a reference the tuple owns (rc_none when unset),
 *     except after the collector's clear, which leaves NULLs behind in a
 *     tuple that is garbage (every function here reads NULL as absent);
 *   the empty tuple is one static immortal object (RC_STATIC_OBJECT, as
 *     number.c's small ints): rc_tuple_new(0) and every other way of making
 *     an empty tuple return it, as CPython shares ().
 *
 * Collection: a tuple is tracked from creation, and its type is
 * RC_TYPE_IMMUTABLE, so a collection that finds none of its items tracked
 * untracks it (CPython's tuple untracking: a tuple of ints and strs can
 * never be in a cycle, and later collections skip it). A tuple still being
 * filled may be untracked that way while it holds only rc_none; rc_tuple_set
 * tracks it again when it stores a tracked item (_rc_track_if_needed).
 *
 * Python's semantics: hash((1, 2)) is CPython's exact value (the
 * xxHash-based combination of the items' hashes, object.c's
 * _rc_hash_tuple); an unhashable item makes the whole tuple unhashable;
 * equality is item by item; repr is "()", "(1,)", "(1, 2)", with "(...)"
 * for a tuple reached again while it is being printed (through a list).
 */
#include <string.h>

#include "internal/types.h"

typedef struct tuple_obj {
    size_t n;
    void *items[];
} tuple_obj;

/* The iterator: the tuple (NULL once exhausted) and the next index. */
typedef struct tuple_iter {
    tuple_obj *seq;
    size_t index;
} tuple_iter;

static inline bool is_tuple(const void *obj) { return _rc_head_type(_rc_head(obj)) == &rc_tuple_type; }

/* {==== slots ==== */

static int tuple_traverse(void *self, rc_visit_fn visit, void *arg) {
    tuple_obj *t = self;
    for (size_t i = 0; i < t->n; i++) {
        if (t->items[i]) {
            int r = visit(t->items[i], arg);
            if (r) return r;
        }
    }
    return 0;
}

static void tuple_clear(void *self) {
    tuple_obj *t = self;
    for (size_t i = 0; i < t->n; i++) RC_CLEAR(t->items[i]);
}

static void tuple_destroy(void *self) {
    tuple_obj *t = self;
    for (size_t i = 0; i < t->n; i++) RC_CLEAR(t->items[i]);
}

/* The items' hashes combined; (uint64_t)-1 when an item is unhashable
 * (rc_hash has set rc_last_error). */
static uint64_t tuple_hash(const void *self) {
    const tuple_obj *t = self;
    int64_t small[16];
    int64_t *hashes = small;
    if (t->n > 16) {
        hashes = rc_malloc(t->n * sizeof *hashes);
        if (!hashes) {
            _rc_set_error("rc_hash: out of memory");
            return (uint64_t)-1;
        }
    }
    uint64_t result = (uint64_t)-1;
    if (_rc_recursion_enter("rc_hash")) {
        size_t i = 0;
        for (; i < t->n; i++) {
            hashes[i] = rc_hash(t->items[i]);
            if (hashes[i] == -1) break;
        }
        _rc_recursion_leave();
        if (i == t->n) result = (uint64_t)_rc_hash_tuple(hashes, t->n);
    }
    if (hashes != small) rc_free(hashes);
    return result;
}

static bool tuple_equal(const void *a, const void *b) {
    const tuple_obj *x = a, *y = b;
    if (x->n != y->n) return false;
    if (!_rc_recursion_enter("rc_equal")) return false;
    bool eq = true;
    for (size_t i = 0; i < x->n && eq; i++) eq = rc_equal(x->items[i], y->items[i]);
    _rc_recursion_leave();
    return eq;
}

static void *tuple_repr(const void *self) {
    const tuple_obj *t = self;
    if (t->n == 0) return _rc_str_new_trusted("()", 2, 2);
    int entered = _rc_repr_enter(self);
    if (entered < 0) return NULL;
    if (entered > 0) return _rc_str_new_trusted("(...)", 5, 5);
    rc_sb sb;
    _rc_sb_init(&sb);
    _rc_sb_add(&sb, "(", 1);
    for (size_t i = 0; i < t->n && !sb.failed; i++) {
        if (i) _rc_sb_add(&sb, ", ", 2);
        _rc_sb_add_repr(&sb, t->items[i]);
    }
    _rc_sb_adds(&sb, t->n == 1 ? ",)" : ")");
    _rc_repr_leave(self);
    return _rc_sb_finish(&sb);
}

static void *tuple_iter_new(void *self);

const rc_type rc_tuple_type = {.name = "tuple",
                               .size = sizeof(tuple_obj),
                               .traverse = tuple_traverse,
                               .clear = tuple_clear,
                               .destroy = tuple_destroy,
                               .hash = tuple_hash,
                               .equal = tuple_equal,
                               .repr = tuple_repr,
                               .iter = tuple_iter_new,
                               .flags = RC_TYPE_BUILTIN | RC_TYPE_IMMUTABLE};
/* }==== */

/* {==== the iterator ==== */

static int tuple_iter_traverse(void *self, rc_visit_fn visit, void *arg) {
    tuple_iter *it = self;
    return it->seq ? visit(it->seq, arg) : 0;
}

static void tuple_iter_clear(void *self) { RC_CLEAR(((tuple_iter *)self)->seq); }

static int tuple_iter_next(void *self, void **out) {
    tuple_iter *it = self;
    tuple_obj *t = it->seq;
    if (RC_LIKELY(t != NULL) && RC_LIKELY(it->index < t->n) && RC_LIKELY(t->items[it->index] != NULL)) {
        *out = rc_incref(t->items[it->index++]);
        return 1;
    }
    RC_CLEAR(it->seq);
    return 0;
}

static const rc_type tuple_iter_type = {.name = "tuple_iterator",
                                        .size = sizeof(tuple_iter),
                                        .traverse = tuple_iter_traverse,
                                        .clear = tuple_iter_clear,
                                        .destroy = tuple_iter_clear,
                                        .next = tuple_iter_next,
                                        .flags = RC_TYPE_BUILTIN};

static void *tuple_iter_new(void *self) {
    tuple_iter *it = rc_new(&tuple_iter_type);
    if (!it) return NULL;
    it->seq = rc_incref(self);
    return it;
}
/* }==== */

/* {==== construction and access ==== */

/* The empty tuple, shared: immortal and static (never counted, in no
 * world, so a fresh process still has no tracked objects). */
static struct {
    rc_object_head head;
    size_t n; /* the payload: a tuple_obj of no items */
    size_t pad;
} empty_tuple RC_STATIC_OBJECT = {
    .head = {.refcnt = RC_IMMORTAL_REFCNT, .gc_aux = 0, .type_bits = (uintptr_t)&rc_tuple_type}, .n = 0};

/* A new tuple of n slots, all rc_none. */
static tuple_obj *tuple_alloc(const char *fn, size_t n) {
    if (n == 0) return (tuple_obj *)(void *)&empty_tuple.n;
    if (n > (SIZE_MAX - 64) / sizeof(void *)) {
        _rc_set_error("%s: too many items (%zu)", fn, n);
        return NULL;
    }
    tuple_obj *t = rc_new_var(&rc_tuple_type, n * sizeof(void *));
    if (!t) return NULL;
    t->n = n;
    for (size_t i = 0; i < n; i++) t->items[i] = rc_none;
    return t;
}

void *rc_tuple_new(size_t n) {
    RC_USER_FRAME();
    return tuple_alloc("rc_tuple_new", n);
}

void *rc_tuple_pack(size_t n, ...) {
    RC_USER_FRAME();
    tuple_obj *t = tuple_alloc("rc_tuple_pack", n);
    if (!t) return NULL;
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) {
        void *item = va_arg(ap, void *);
        if (item) t->items[i] = rc_incref(item);
    }
    va_end(ap);
    return t;
}

void *rc_tuple_from_array(void *const *items, size_t n) {
    RC_USER_FRAME();
    if (!items && n) {
        _rc_set_error("rc_tuple_from_array: items is NULL");
        return NULL;
    }
    tuple_obj *t = tuple_alloc("rc_tuple_from_array", n);
    if (!t) return NULL;
    /* items is read after the allocation: a collection inside it may run
     * code that changes a list whose items the caller passed */
    for (size_t i = 0; i < n; i++)
        if (items[i]) t->items[i] = rc_incref(items[i]);
    return t;
}

size_t rc_tuple_len(const void *tuple) {
    if (RC_LIKELY(tuple != NULL) && RC_LIKELY(is_tuple(tuple))) return ((const tuple_obj *)tuple)->n;
    _rc_expect("rc_tuple_len", tuple, &rc_tuple_type, "a tuple");
    return 0;
}

void *rc_tuple_get(const void *tuple, int64_t i) {
    if (!_rc_expect("rc_tuple_get", tuple, &rc_tuple_type, "a tuple")) return NULL;
    const tuple_obj *t = tuple;
    size_t k;
    if (!_rc_index("rc_tuple_get", i, t->n, &k)) return NULL;
    return t->items[k];
}

int rc_tuple_set(void *tuple, int64_t i, void *item) {
    if (!_rc_expect("rc_tuple_set", tuple, &rc_tuple_type, "a tuple")) return -1;
    if (!item) {
        _rc_set_error("rc_tuple_set: item is NULL");
        return -1;
    }
    tuple_obj *t = tuple;
    size_t k;
    if (!_rc_index("rc_tuple_set", i, t->n, &k)) return -1;
    /* as CPython's PyTuple_SetItem: only the one reference that is filling
     * it may change a tuple (a shared one may be a dict key already) */
    if (rc_refcount(t) != 1) {
        _rc_set_error("rc_tuple_set: the tuple is shared (%zu references); a tuple is immutable once shared",
                      rc_refcount(t));
        return -1;
    }
    _rc_track_if_needed(t, item);
    RC_SET(t->items[k], item);
    return 0;
}

void *const *_rc_tuple_items(const void *tuple, size_t *n) {
    const tuple_obj *t = tuple;
    *n = t->n;
    return t->items;
}
/* }==== */
