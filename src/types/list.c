/*
 * list.c — the list: a mutable sequence of references, growing at the end
 * in amortized constant time; and what tuples and lists share (their
 * lexicographic order, a borrowed view of their items).
 *
 *   payload: len | cap | items ─────> [ item 0 | ... | item len-1 | spare ]
 *            24 bytes, a 48-byte block with the header     (rc_malloc'd)
 *
 * Invariants:
 *   0 <= len <= cap; items == NULL exactly when cap == 0;
 *   items[0..len) are references the list owns (never NULL);
 *   items[len..cap) are spare slots with no meaning.
 *
 * Growth policy (CPython's list_resize): a resize to n items that does not
 * fit, or that would use fewer than half the slots, reallocates to
 * n + n/8 + 6 slots rounded down to a multiple of 4, about 12% spare
 * (0, 4, 8, 16, 24, 32, 40, 52, 64, 76, ... as appends arrive); a jump
 * larger than that spare (an extend) allocates n rounded up to 4 instead
 * (exactly n when the list was empty, as for a copy or a slice); and an
 * empty list frees its array. So appends cost amortized O(1) with
 * 1/8 spare memory, and a list that shrinks gives its memory back.
 *
 * The hot paths — rc_list_append, rc_list_append_steal, rc_list_get and
 * the iterator's next — are a type check, a bounds check and a store or a
 * load; everything else (growth, errors) is out of line.
 *
 * Mutation safety: user code can run inside rc_decref (destroy,
 * finalizers), rc_equal/rc_repr/rc_hash of user types, a sort's cmp, and
 * an rc_new of a tracked object (an automatic collection runs finalizers).
 * So no raw pointer into items is kept across such a call: loops re-read
 * len and items at every step and hold a reference to the item they are
 * looking at, and old items are released only once the list is
 * consistent again. The iterator holds the list and re-checks len at each
 * step, so a list changed during iteration is never read out of bounds.
 *
 * Sorting is a simplified timsort (natural runs, binary insertion up to a
 * minimum run length, the run-stack merge rules, no galloping): stable,
 * O(n) on sorted or reversed input. A sort that only compares ints,
 * floats or strs (cmp NULL) cannot fail or run user code, and sorts the
 * items in place; ints and floats (without NaNs) go further, as (key, item)
 * pairs sorted by an integer key. Any other sort works on a private copy
 * holding its own references, and writes the result back only when it
 * succeeded and the list still holds exactly what it held at the start;
 * otherwise the list is left as it was.
 */
#include <string.h>

#include "internal/types.h"

typedef struct list_obj {
    size_t len;
    size_t cap;
    void **items;
} list_obj;

/* The iterator: the list (NULL once exhausted) and the next index. */
typedef struct list_iter {
    list_obj *seq;
    size_t index;
} list_iter;

/* Bounds lengths so that slot counts and byte sizes never overflow, and
 * every index fits an int64_t. */
#define LIST_MAX_LEN ((size_t)PTRDIFF_MAX / sizeof(void *) - 8)

static inline bool is_list(const void *obj) { return _rc_head_type(_rc_head(obj)) == &rc_list_type; }

/* {==== storage ==== */

/* Make room for n items (len is not changed): reallocates per the growth
 * policy above. False with rc_last_error set when out of memory or n is
 * too large; the list is then unchanged. A shrink that cannot reallocate
 * keeps the larger array and succeeds. */
static bool list_resize(list_obj *l, size_t n, const char *fn) {
    size_t cap = l->cap;
    if (n <= cap && n >= cap / 2) return true;
    if (n > LIST_MAX_LEN) {
        _rc_set_error("%s: list too long (%zu items)", fn, n);
        return false;
    }
    size_t want = 0;
    if (n > 0) {
        want = (n + (n >> 3) + 6) & ~(size_t)3;
        if (n > l->len && n - l->len > want - n) want = (n + 3) & ~(size_t)3;
    }
    if (want == 0) {
        rc_free(l->items);
        l->items = NULL;
        l->cap = 0;
        return true;
    }
    void **items = rc_realloc(l->items, want * sizeof(void *));
    if (!items) {
        if (n <= cap) return true; /* a shrink: keep the old array */
        _rc_set_error("%s: out of memory (%zu items)", fn, n);
        return false;
    }
    l->items = items;
    l->cap = want;
    return true;
}

/* Detach the items and release them (the list is empty and consistent
 * before any item's release runs). */
/* Empty the list, then release what it held. Releasing may run user code
 * that stores into the list again (a destroy, a finalizer): loop until it
 * stays empty, so nothing is left behind in a list being destroyed. */
static void list_release_items(list_obj *l) {
    while (l->items) {
        void **items = l->items;
        size_t n = l->len;
        l->items = NULL;
        l->len = l->cap = 0;
        for (size_t i = 0; i < n; i++) rc_decref(items[i]);
        rc_free(items);
    }
}

size_t _rc_list_capacity(const void *list) {
    return list && is_list(list) ? ((const list_obj *)list)->cap : 0;
}
/* }==== */

/* {==== slots ==== */

static int list_traverse(void *self, rc_visit_fn visit, void *arg) {
    list_obj *l = self;
    for (size_t i = 0; i < l->len; i++) {
        int r = visit(l->items[i], arg);
        if (r) return r;
    }
    return 0;
}

static void list_clear_slot(void *self) { list_release_items(self); }

static bool list_equal(const void *a, const void *b) {
    const list_obj *x = a, *y = b;
    if (x->len != y->len) return false;
    if (!_rc_recursion_enter("rc_equal")) return false;
    bool eq = true;
    for (size_t i = 0; eq && i < x->len && i < y->len; i++) {
        /* hold both items: a user type's equal may change either list */
        void *p = rc_incref(x->items[i]), *q = rc_incref(y->items[i]);
        eq = rc_equal(p, q);
        rc_decref(p);
        rc_decref(q);
    }
    _rc_recursion_leave();
    return eq && x->len == y->len;
}

static void *list_repr(const void *self) {
    const list_obj *l = self;
    if (l->len == 0) return _rc_str_new_trusted("[]", 2, 2);
    int entered = _rc_repr_enter(self);
    if (entered < 0) return NULL;
    if (entered > 0) return _rc_str_new_trusted("[...]", 5, 5);
    rc_sb sb;
    _rc_sb_init(&sb);
    _rc_sb_add(&sb, "[", 1);
    for (size_t i = 0; i < l->len && !sb.failed; i++) {
        if (i) _rc_sb_add(&sb, ", ", 2);
        void *x = rc_incref(l->items[i]); /* a user repr may change the list */
        _rc_sb_add_repr(&sb, x);
        rc_decref(x);
    }
    _rc_sb_add(&sb, "]", 1);
    _rc_repr_leave(self);
    return _rc_sb_finish(&sb);
}

static void *list_iter_new(void *self);

const rc_type rc_list_type = {.name = "list",
                              .size = sizeof(list_obj),
                              .traverse = list_traverse,
                              .clear = list_clear_slot,
                              .destroy = list_clear_slot,
                              .equal = list_equal,
                              .repr = list_repr,
                              .iter = list_iter_new,
                              .flags = RC_TYPE_BUILTIN | RC_TYPE_UNHASHABLE};
/* }==== */

/* {==== the iterator ==== */

static int list_iter_traverse(void *self, rc_visit_fn visit, void *arg) {
    list_iter *it = self;
    return it->seq ? visit(it->seq, arg) : 0;
}

static void list_iter_clear(void *self) { RC_CLEAR(((list_iter *)self)->seq); }

static int list_iter_next(void *self, void **out) {
    list_iter *it = self;
    list_obj *l = it->seq;
    if (RC_LIKELY(l != NULL) && RC_LIKELY(it->index < l->len)) {
        *out = rc_incref(l->items[it->index++]);
        return 1;
    }
    RC_CLEAR(it->seq);
    return 0;
}

static const rc_type list_iter_type = {.name = "list_iterator",
                                       .size = sizeof(list_iter),
                                       .traverse = list_iter_traverse,
                                       .clear = list_iter_clear,
                                       .destroy = list_iter_clear,
                                       .next = list_iter_next,
                                       .flags = RC_TYPE_BUILTIN};

static void *list_iter_new(void *self) {
    list_iter *it = rc_new(&list_iter_type);
    if (!it) return NULL;
    it->seq = rc_incref(self);
    return it;
}
/* }==== */

/* {==== access: the hot paths ==== */

void *rc_list_new(void) {
    RC_USER_FRAME();
    return rc_new(&rc_list_type);
}

size_t rc_list_len(const void *list) {
    if (RC_LIKELY(list != NULL) && RC_LIKELY(is_list(list))) return ((const list_obj *)list)->len;
    _rc_expect("rc_list_len", list, &rc_list_type, "a list");
    return 0;
}

static RC_NOINLINE void *get_error(const void *list, int64_t i) {
    size_t k;
    if (_rc_expect("rc_list_get", list, &rc_list_type, "a list"))
        _rc_index("rc_list_get", i, ((const list_obj *)list)->len, &k);
    return NULL;
}

void *rc_list_get(const void *list, int64_t i) {
    if (RC_LIKELY(list != NULL) && RC_LIKELY(is_list(list))) {
        const list_obj *l = list;
        uint64_t k = (uint64_t)(i < 0 ? i + (int64_t)l->len : i);
        if (RC_LIKELY(k < l->len)) return l->items[k];
    }
    return get_error(list, i);
}

/* The slow path of both appends: errors, and growth. steal: item's
 * reference is the caller's, released on failure. */
static RC_NOINLINE int append_slow(void *list, void *item, bool steal, const char *fn) {
    if (!_rc_expect(fn, list, &rc_list_type, "a list")) goto fail;
    if (!item) {
        _rc_set_error("%s: item is NULL", fn);
        return -1;
    }
    list_obj *l = list;
    if (!list_resize(l, l->len + 1, fn)) goto fail;
    l->items[l->len++] = steal ? item : rc_incref(item);
    return 0;
fail:
    if (steal) rc_decref(item);
    return -1;
}

int rc_list_append(void *list, void *item) {
    RC_USER_FRAME();
    if (RC_LIKELY(list != NULL) && RC_LIKELY(item != NULL) && RC_LIKELY(is_list(list))) {
        list_obj *l = list;
        size_t n = l->len;
        if (RC_LIKELY(n < l->cap)) {
            l->items[n] = rc_incref(item);
            l->len = n + 1;
            return 0;
        }
    }
    return append_slow(list, item, false, "rc_list_append");
}

int rc_list_append_steal(void *list, void *item) {
    RC_USER_FRAME();
    if (RC_LIKELY(list != NULL) && RC_LIKELY(item != NULL) && RC_LIKELY(is_list(list))) {
        list_obj *l = list;
        size_t n = l->len;
        if (RC_LIKELY(n < l->cap)) {
            l->items[n] = item;
            l->len = n + 1;
            return 0;
        }
    }
    return append_slow(list, item, true, "rc_list_append_steal");
}

int rc_list_set(void *list, int64_t i, void *item) {
    if (!_rc_expect("rc_list_set", list, &rc_list_type, "a list")) return -1;
    if (!item) {
        _rc_set_error("rc_list_set: item is NULL");
        return -1;
    }
    list_obj *l = list;
    size_t k;
    if (!_rc_index("rc_list_set", i, l->len, &k)) return -1;
    void *old = l->items[k];
    l->items[k] = rc_incref(item);
    rc_decref(old);
    return 0;
}
/* }==== */

/* {==== insertion and removal ==== */

int rc_list_insert(void *list, int64_t i, void *item) {
    RC_USER_FRAME();
    if (!_rc_expect("rc_list_insert", list, &rc_list_type, "a list")) return -1;
    if (!item) {
        _rc_set_error("rc_list_insert: item is NULL");
        return -1;
    }
    list_obj *l = list;
    int64_t n = (int64_t)l->len;
    if (i < 0) i = i + n < 0 ? 0 : i + n;
    if (i > n) i = n;
    if (!list_resize(l, l->len + 1, "rc_list_insert")) return -1;
    size_t k = (size_t)i;
    memmove(l->items + k + 1, l->items + k, (l->len - k) * sizeof(void *));
    l->items[k] = rc_incref(item);
    l->len++;
    return 0;
}

/* Remove item k (in range) and return its reference. */
static void *list_take(list_obj *l, size_t k) {
    void *item = l->items[k];
    memmove(l->items + k, l->items + k + 1, (l->len - k - 1) * sizeof(void *));
    l->len--;
    list_resize(l, l->len, "rc_list_pop"); /* a shrink: cannot fail */
    return item;
}

void *rc_list_pop(void *list, int64_t i) {
    RC_USER_FRAME();
    if (!_rc_expect("rc_list_pop", list, &rc_list_type, "a list")) return NULL;
    list_obj *l = list;
    if (l->len == 0) {
        _rc_set_error("rc_list_pop: pop from empty list");
        return NULL;
    }
    size_t k;
    if (!_rc_index("rc_list_pop", i, l->len, &k)) return NULL;
    return list_take(l, k);
}

int rc_list_del(void *list, int64_t i) {
    RC_USER_FRAME();
    if (!_rc_expect("rc_list_del", list, &rc_list_type, "a list")) return -1;
    list_obj *l = list;
    size_t k;
    if (!_rc_index("rc_list_del", i, l->len, &k)) return -1;
    rc_decref(list_take(l, k)); /* after the list is consistent */
    return 0;
}

void rc_list_clear(void *list) {
    if (!_rc_expect("rc_list_clear", list, &rc_list_type, "a list")) return;
    list_release_items(list);
}

int rc_list_reverse(void *list) {
    if (!_rc_expect("rc_list_reverse", list, &rc_list_type, "a list")) return -1;
    list_obj *l = list;
    if (l->len < 2) return 0;
    for (void **lo = l->items, **hi = l->items + l->len - 1; lo < hi; lo++, hi--) {
        void *t = *lo;
        *lo = *hi;
        *hi = t;
    }
    return 0;
}

int64_t rc_list_index(const void *list, const void *item) {
    if (!_rc_expect("rc_list_index", list, &rc_list_type, "a list")) return -1;
    if (!item) {
        _rc_set_error("rc_list_index: item is NULL");
        return -1;
    }
    const list_obj *l = list;
    for (size_t i = 0; i < l->len; i++) { /* len re-read: rc_equal may run user code */
        void *x = l->items[i];
        if (x == item) return (int64_t)i;
        rc_incref(x);
        bool eq = rc_equal(x, item);
        rc_decref(x);
        if (eq) return (int64_t)i;
    }
    _rc_set_error("rc_list_index: item not in list");
    return -1;
}
/* }==== */

/* {==== slices, extend, from_iter ==== */

/* A new list holding items[0..n) of a tuple or list (own references),
 * allocated exactly. seq is read after the list is made: the rc_new may
 * run a collection, and so code that changes seq. */
static list_obj *list_copy_of(const char *fn, const void *seq, int64_t start, int64_t stop) {
    list_obj *l = rc_list_new();
    if (!l) return NULL;
    size_t n, from, to;
    void *const *src = _rc_sequence_items(seq, &n);
    _rc_slice(start, stop, n, &from, &to);
    if (to > from) {
        l->items = rc_malloc((to - from) * sizeof(void *));
        if (!l->items) {
            _rc_set_error("%s: out of memory (%zu items)", fn, to - from);
            rc_decref(l);
            return NULL;
        }
        l->cap = to - from;
        for (size_t i = from; i < to; i++) l->items[l->len++] = rc_incref(src[i]);
    }
    return l;
}

void *rc_list_slice(const void *list, int64_t start, int64_t stop) {
    RC_USER_FRAME();
    if (!_rc_expect("rc_list_slice", list, &rc_list_type, "a list")) return NULL;
    return list_copy_of("rc_list_slice", list, start, stop);
}

static inline bool is_sequence(const void *obj) {
    const rc_type *t = _rc_head_type(_rc_head(obj));
    return t == &rc_list_type || t == &rc_tuple_type;
}

int rc_list_extend(void *list, void *iterable) {
    RC_USER_FRAME();
    if (!_rc_expect("rc_list_extend", list, &rc_list_type, "a list")) return -1;
    if (!iterable) {
        _rc_set_error("rc_list_extend: iterable is NULL");
        return -1;
    }
    list_obj *l = list;
    if (is_sequence(iterable)) {
        size_t n;
        _rc_sequence_items(iterable, &n);
        if (n == 0) return 0;
        if (n > LIST_MAX_LEN - l->len) {
            _rc_set_error("rc_list_extend: list too long");
            return -1;
        }
        if (l->len == 0 && l->cap < n) {
            /* an empty list gets exactly n slots (as CPython's) */
            void **items = rc_realloc(l->items, n * sizeof(void *));
            if (!items) {
                _rc_set_error("rc_list_extend: out of memory (%zu items)", n);
                return -1;
            }
            l->items = items;
            l->cap = n;
        } else if (!list_resize(l, l->len + n, "rc_list_extend")) {
            return -1;
        }
        /* re-read: the resize moved the items when iterable is list */
        void *const *src = _rc_sequence_items(iterable, &n);
        void **dst = l->items + l->len;
        for (size_t i = 0; i < n; i++) dst[i] = rc_incref(src[i]);
        l->len += n;
        return 0;
    }
    void *it = rc_iter(iterable);
    if (!it) return -1;
    size_t before = l->len;
    void *item;
    int r;
    while ((r = rc_next(it, &item)) > 0)
        if (rc_list_append_steal(l, item) < 0) break;
    rc_decref(it);
    if (r == 0) return 0;
    /* failed: take back what this call appended (the iterator's code may
     * have shortened the list meanwhile: remove only what is past the
     * original length) */
    if (l->len > before) {
        size_t extra = l->len - before;
        void **gone = rc_malloc(extra * sizeof(void *));
        if (gone) {
            memcpy(gone, l->items + before, extra * sizeof(void *));
            l->len = before;
            list_resize(l, before, "rc_list_extend");
            for (size_t i = 0; i < extra; i++) rc_decref(gone[i]);
            rc_free(gone);
        } else {
            /* no memory for the side array: release from the end, one
             * at a time, the list consistent before each release */
            while (l->len > before) rc_decref(l->items[--l->len]);
        }
    }
    return -1;
}

void *rc_list_from_iter(void *iterable) {
    RC_USER_FRAME();
    if (!iterable) {
        _rc_set_error("rc_list_from_iter: iterable is NULL");
        return NULL;
    }
    if (is_sequence(iterable)) return list_copy_of("rc_list_from_iter", iterable, 0, INT64_MAX);
    void *it = rc_iter(iterable);
    if (!it) return NULL;
    list_obj *l = rc_list_new();
    if (!l) {
        rc_decref(it);
        return NULL;
    }
    void *item;
    int r;
    while ((r = rc_next(it, &item)) > 0)
        if (rc_list_append_steal(l, item) < 0) break;
    rc_decref(it);
    if (r != 0) {
        rc_decref(l);
        return NULL;
    }
    return l;
}
/* }==== */

/* {==== sorting ==== */

/* How two items are compared: a user's cmp, rc_compare, or a fast path
 * for lists of one kind that rc_compare would order the same way (these
 * cannot fail and run no user code). */
typedef enum sort_kind {
    SORT_USER, SORT_GENERAL, SORT_TUPLE, /* may fail, may run user code */
    SORT_INT, SORT_FLOAT, SORT_NUMBER, SORT_STR /* cannot fail, run no user code */
} sort_kind;

typedef struct sorter {
    sort_kind kind;
    rc_compare_fn cmp;
    void *arg;
    void **tmp; /* merge scratch: n / 2 + 1 slots */
} sorter;

/* 1 when a sorts before b, 0 when not, -1 on failure (rc_last_error set). */
static inline int sort_less(sorter *s, void *a, void *b) {
    switch (s->kind) {
    case SORT_INT: return rc_int_value(a) < rc_int_value(b);
    case SORT_FLOAT: return rc_float_value(a) < rc_float_value(b);
    case SORT_NUMBER: return _rc_number_compare(a, b) == -1;
    case SORT_STR: return _rc_str_compare(a, b) < 0;
    case SORT_GENERAL: {
        int c;
        if (rc_compare(a, b, &c) < 0) return -1;
        return c < 0;
    }
    case SORT_TUPLE: {
        int c;
        if (_rc_sequence_compare(a, b, &c) < 0) return -1;
        return c < 0;
    }
    case SORT_USER: default: {
        bool failed = false;
        int c = s->cmp(a, b, s->arg, &failed);
        if (failed) {
            if (!rc_last_error()[0]) _rc_set_error("rc_list_sort: the comparison failed");
            return -1;
        }
        return c < 0;
    }
    }
}

static void reverse_range(void **a, size_t n) {
    for (size_t i = 0, j = n - 1; i < j; i++, j--) {
        void *t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* Length of the run at a (n >= 1): ascending (a[i] <= a[i+1]) or strictly
 * descending (reversed here into ascending; strict, so stability holds).
 * 0 on failure. */
static size_t count_run(sorter *s, void **a, size_t n) {
    if (n == 1) return 1;
    int c = sort_less(s, a[1], a[0]);
    if (c < 0) return 0;
    size_t i = 2;
    if (c) {
        for (; i < n; i++) {
            c = sort_less(s, a[i], a[i - 1]);
            if (c < 0) return 0;
            if (!c) break;
        }
        reverse_range(a, i);
    } else {
        for (; i < n; i++) {
            c = sort_less(s, a[i], a[i - 1]);
            if (c < 0) return 0;
            if (c) break;
        }
    }
    return i;
}

/* Sort a[0..n) given a[0..sorted) is sorted: binary insertion. */
static int insertion_sort(sorter *s, void **a, size_t n, size_t sorted) {
    for (size_t i = sorted; i < n; i++) {
        void *pivot = a[i];
        size_t lo = 0, hi = i;
        while (lo < hi) { /* the first place whose item sorts after pivot */
            size_t mid = lo + (hi - lo) / 2;
            int c = sort_less(s, pivot, a[mid]);
            if (c < 0) return -1;
            if (c) hi = mid;
            else lo = mid + 1;
        }
        memmove(a + lo + 1, a + lo, (i - lo) * sizeof(void *));
        a[lo] = pivot;
    }
    return 0;
}

/* Merge the sorted runs a[0..na) and a[na..na+nb), copying the shorter one
 * to the scratch. Ties keep a's item first. On failure a holds the same
 * items in some order. */
static int merge(sorter *s, void **a, size_t na, size_t nb) {
    void **b = a + na, **t = s->tmp;
    int c = sort_less(s, b[0], a[na - 1]);
    if (c <= 0) return c; /* already in order (or failed) */
    if (na <= nb) {
        memcpy(t, a, na * sizeof(void *));
        size_t i = 0, j = 0, k = 0;
        while (i < na && j < nb) {
            c = sort_less(s, b[j], t[i]);
            if (c < 0) break;
            a[k++] = c ? b[j++] : t[i++];
        }
        memcpy(a + k, t + i, (na - i) * sizeof(void *)); /* the rest of b is in place */
        return c < 0 ? -1 : 0;
    }
    memcpy(t, b, nb * sizeof(void *));
    size_t i = na, j = nb, k = na + nb; /* counts left: a[0..i), t[0..j) */
    while (i > 0 && j > 0) {
        c = sort_less(s, t[j - 1], a[i - 1]);
        if (c < 0) break;
        a[--k] = c ? a[--i] : t[--j];
    }
    memcpy(a + k - j, t, j * sizeof(void *)); /* the rest of a is in place */
    return c < 0 ? -1 : 0;
}

/* Timsort's minimum run: n itself below 64, else a length in 32..64 that
 * splits n into a power of two of runs, or slightly fewer. */
static size_t min_run(size_t n) {
    size_t r = 0;
    while (n >= 64) {
        r |= n & 1;
        n >>= 1;
    }
    return n + r;
}

typedef struct run {
    size_t base, len;
} run;

static int merge_at(sorter *s, void **a, run *runs, size_t *nruns, size_t i) {
    int r = merge(s, a + runs[i].base, runs[i].len, runs[i + 1].len);
    runs[i].len += runs[i + 1].len;
    if (i + 2 < *nruns) runs[i + 1] = runs[i + 2];
    --*nruns;
    return r;
}

/* Keep the run stack's lengths growing faster than Fibonacci from the
 * top down (timsort's invariants, with the 2015 correction), so it stays
 * shallow and merges stay balanced. */
static int merge_collapse(sorter *s, void **a, run *runs, size_t *nruns) {
    while (*nruns > 1) {
        size_t k = *nruns - 2;
        if ((k > 0 && runs[k - 1].len <= runs[k].len + runs[k + 1].len) ||
            (k > 1 && runs[k - 2].len <= runs[k - 1].len + runs[k].len)) {
            if (runs[k - 1].len < runs[k + 1].len) k--;
        } else if (runs[k].len > runs[k + 1].len) {
            break;
        }
        if (merge_at(s, a, runs, nruns, k) < 0) return -1;
    }
    return 0;
}

static int sort_items(sorter *s, void **a, size_t n) {
    run runs[128]; /* the invariants bound the depth by log_phi(2^64) < 100 */
    size_t nruns = 0, minrun = min_run(n);
    for (size_t lo = 0; lo < n;) {
        size_t len = count_run(s, a + lo, n - lo);
        if (len == 0) return -1;
        if (len < minrun) {
            size_t force = n - lo < minrun ? n - lo : minrun;
            if (insertion_sort(s, a + lo, force, len) < 0) return -1;
            len = force;
        }
        runs[nruns++] = (run){lo, len};
        if (merge_collapse(s, a, runs, &nruns) < 0) return -1;
        lo += len;
    }
    while (nruns > 1) {
        size_t k = nruns - 2;
        if (k > 0 && runs[k - 1].len < runs[k + 1].len) k--;
        if (merge_at(s, a, runs, &nruns, k) < 0) return -1;
    }
    return 0;
}

/* The fast kind for items, when cmp is NULL. */
static sort_kind kind_of(void *const *items, size_t n) {
    bool ints = true, floats = true, numbers = true, strs = true, tuples = true;
    for (size_t i = 0; i < n && (numbers || strs || tuples); i++) {
        const rc_type *t = _rc_head_type(_rc_head(items[i]));
        bool is_int = t == &rc_int_type || t == &rc_bool_type, is_float = t == &rc_float_type;
        ints &= is_int;
        floats &= is_float;
        numbers &= is_int || is_float;
        strs &= t == &rc_str_type;
        tuples &= t == &rc_tuple_type;
    }
    if (ints) return SORT_INT;
    if (floats) return SORT_FLOAT;
    if (numbers) return SORT_NUMBER;
    if (strs) return SORT_STR;
    if (tuples) return SORT_TUPLE;
    return SORT_GENERAL;
}

/* Lists of ints, or of floats none of which is a NaN, sort as (key, item)
 * pairs whose unsigned keys order as the numbers do: the comparisons read
 * a contiguous array instead of chasing a pointer to each item, and cost
 * one instruction. The pairs take 16 bytes an item, the merge scratch 8
 * (CPython's sort with key= takes 16 as well). A plain stable merge sort:
 * insertion-sorted blocks, then merges that copy the shorter side and skip
 * two runs already in order, so sorted and reversed input cost O(n). */
typedef struct keyed {
    uint64_t key;
    void *item;
} keyed;

#define KEYED_BLOCK 32

/* The key of a number of the kind (a float that is not a NaN). */
static inline uint64_t key_of(sort_kind kind, const void *x) {
    const uint64_t top = (uint64_t)1 << 63;
    if (kind == SORT_INT) return (uint64_t)rc_int_value(x) ^ top;
    double d = rc_float_value(x);
    if (d == 0) d = 0; /* -0.0 == 0.0: equal keys */
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u & top ? ~u : u | top;
}

static void keyed_insertion(keyed *a, size_t n) {
    for (size_t i = 1; i < n; i++) {
        keyed x = a[i];
        size_t j = i;
        for (; j > 0 && x.key < a[j - 1].key; j--) a[j] = a[j - 1];
        a[j] = x;
    }
}

static void keyed_merge(keyed *a, size_t na, size_t nb, keyed *t) {
    keyed *b = a + na;
    if (a[na - 1].key <= b[0].key) return;
    if (na <= nb) {
        memcpy(t, a, na * sizeof *t);
        size_t i = 0, j = 0, k = 0;
        while (i < na && j < nb) a[k++] = b[j].key < t[i].key ? b[j++] : t[i++];
        memcpy(a + k, t + i, (na - i) * sizeof *t);
    } else {
        memcpy(t, b, nb * sizeof *t);
        size_t i = na, j = nb, k = na + nb;
        while (i > 0 && j > 0) a[--k] = t[j - 1].key < a[i - 1].key ? a[--i] : t[--j];
        memcpy(a, t, j * sizeof *t); /* i == 0 here when j > 0 */
    }
}

/* Sort the items of l (ints, or floats without NaN) by key. False when out
 * of memory (nothing changed). */
static bool sort_keyed(list_obj *l, sort_kind kind) {
    size_t n = l->len;
    if (n > SIZE_MAX / (2 * sizeof(keyed))) return false;
    keyed *a = rc_malloc((n + n / 2 + 1) * sizeof *a);
    if (!a) return false;
    keyed *t = a + n;
    bool ascending = true, descending = true;
    for (size_t i = 0; i < n; i++) {
        a[i] = (keyed){key_of(kind, l->items[i]), l->items[i]};
        if (i) {
            ascending &= a[i - 1].key <= a[i].key;
            descending &= a[i - 1].key > a[i].key;
        }
    }
    if (descending) {
        rc_list_reverse(l);
    } else if (!ascending) {
        for (size_t lo = 0; lo < n; lo += KEYED_BLOCK)
            keyed_insertion(a + lo, n - lo < KEYED_BLOCK ? n - lo : KEYED_BLOCK);
        for (size_t w = KEYED_BLOCK; w < n; w *= 2)
            for (size_t lo = 0; lo + w < n; lo += 2 * w) keyed_merge(a + lo, w, n - lo - w < w ? n - lo - w : w, t);
        for (size_t i = 0; i < n; i++) l->items[i] = a[i].item;
    }
    rc_free(a);
    return true;
}

/* Does a list of floats hold a NaN? (NaNs sort as rc_compare orders them:
 * equal to everything, which no key can say.) */
static bool has_nan(void *const *items, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double d = rc_float_value(items[i]);
        if (d != d) return true;
    }
    return false;
}

int rc_list_sort(void *list, rc_compare_fn cmp, void *arg) {
    RC_USER_FRAME();
    if (!_rc_expect("rc_list_sort", list, &rc_list_type, "a list")) return -1;
    list_obj *l = list;
    size_t n = l->len;
    if (n < 2) return 0;
    sorter s = {.kind = cmp ? SORT_USER : kind_of(l->items, n), .cmp = cmp, .arg = arg};
    if ((s.kind == SORT_INT || (s.kind == SORT_FLOAT && !has_nan(l->items, n))) && sort_keyed(l, s.kind)) return 0;
    bool safe = s.kind >= SORT_INT; /* no failure, no user code */
    /* one block: scratch, and for a sort that may fail a snapshot of the
     * items (holding references) and the working copy */
    size_t slots = n / 2 + 1 + (safe ? 0 : 2 * n);
    void **block = n <= SIZE_MAX / (3 * sizeof(void *)) ? rc_malloc(slots * sizeof(void *)) : NULL;
    if (!block) {
        _rc_set_error("rc_list_sort: out of memory (%zu items)", n);
        return -1;
    }
    s.tmp = block;
    if (safe) {
        sort_items(&s, l->items, n);
        rc_free(block);
        return 0;
    }
    void **orig = block + n / 2 + 1, **work = orig + n;
    for (size_t i = 0; i < n; i++) orig[i] = rc_incref(l->items[i]);
    memcpy(work, orig, n * sizeof(void *));
    if (cmp) _rc_set_error("%s", ""); /* so a cmp that fails silently gets a message */
    int r = sort_items(&s, work, n);
    if (r == 0) {
        if (l->len == n && memcmp(l->items, orig, n * sizeof(void *)) == 0) {
            /* same items, so the list's references cover work's */
            memcpy(l->items, work, n * sizeof(void *));
        } else {
            _rc_set_error("rc_list_sort: list modified during sort");
            r = -1;
        }
    }
    for (size_t i = 0; i < n; i++) rc_decref(orig[i]);
    rc_free(block);
    return r;
}
/* }==== */

/* {==== what tuples and lists share ==== */

void *const *_rc_sequence_items(const void *seq, size_t *n) {
    const rc_type *t = seq ? _rc_head_type(_rc_head(seq)) : NULL;
    if (t == &rc_list_type) {
        *n = ((const list_obj *)seq)->len;
        return ((const list_obj *)seq)->items;
    }
    if (t == &rc_tuple_type) return _rc_tuple_items(seq, n);
    *n = 0;
    return NULL;
}

static inline bool is_number_type(const rc_type *t) {
    return t == &rc_int_type || t == &rc_float_type || t == &rc_bool_type;
}

/* Where x and y stand for a sequence comparison: 1 with *c = their order
 * when they differ (or are unordered NaNs: *c = 0), 0 when they are equal,
 * -1 when they differ but have no order. */
static inline int item_order(const void *x, const void *y, int *c) {
    if (x == y) return 0;
    if (RC_UNLIKELY(!x || !y)) { /* a tuple cleared by the collector */
        _rc_set_error("rc_compare: object is NULL");
        return -1;
    }
    const rc_type *tx = _rc_head_type(_rc_head(x)), *ty = _rc_head_type(_rc_head(y));
    if (is_number_type(tx) && is_number_type(ty)) {
        int k = _rc_number_compare(x, y);
        if (k == 0) return 0;
        *c = k == 2 ? 0 : k;
        return 1;
    }
    if (tx == &rc_str_type && ty == &rc_str_type) {
        *c = _rc_str_compare(x, y);
        return *c != 0;
    }
    /* Python's rule: the first items that are not == decide, by < */
    if (rc_equal(x, y)) return 0;
    return rc_compare(x, y, c) < 0 ? -1 : 1;
}

int _rc_sequence_compare(const void *a, const void *b, int *result) {
    if (!_rc_recursion_enter("rc_compare")) return -1;
    /* two tuples never change, and hold their items: read them once. A
     * list may change under rc_equal's user code: re-read it at every
     * step and hold the two items being compared. */
    bool fixed = _rc_head_type(_rc_head(a)) == &rc_tuple_type && _rc_head_type(_rc_head(b)) == &rc_tuple_type;
    size_t na, nb;
    void *const *xa = _rc_sequence_items(a, &na);
    void *const *xb = _rc_sequence_items(b, &nb);
    int r = 0;
    for (size_t i = 0;; i++) {
        if (!fixed) {
            xa = _rc_sequence_items(a, &na);
            xb = _rc_sequence_items(b, &nb);
        }
        if (i >= na || i >= nb) {
            *result = (na > nb) - (na < nb);
            break;
        }
        void *x = xa[i], *y = xb[i];
        int c = 0, k;
        if (fixed) {
            k = item_order(x, y, &c);
        } else {
            rc_incref(x);
            rc_incref(y);
            k = item_order(x, y, &c);
            rc_decref(x);
            rc_decref(y);
        }
        if (k < 0) {
            r = -1;
            break;
        }
        if (k > 0) {
            *result = c;
            break;
        }
    }
    _rc_recursion_leave();
    return r;
}
/* }==== */
