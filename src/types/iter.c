/*
 * iter.c — the lazy building blocks of reclaim.h section 6.9 (Python's
 * range iterator, map, filter and the itertools islice, enumerate, zip,
 * chain, batched), and rc_lines, the lines of a text file.
 *
 * Each building block is its own small rc_type whose next slot pulls from
 * the iterators it wraps, so a pipeline such as
 *
 *     void *r = rc_range(0, N, 1);
 *     void *m = rc_map(fn, NULL, r);     rc_decref(r);
 *     void *f = rc_filter(pred, NULL, m); rc_decref(m);
 *
 * holds one item at a time: memory stays constant however long the stream.
 *
 * Ownership. A building block takes its own reference to what it wraps
 * (it does not steal the caller's, hence the decrefs above), always
 * through rc_iter on the argument (so it accepts any iterable, and an
 * iterator is shared, not copied, as in Python). The source references
 * are the only object references a block holds; the map's callback
 * argument is a plain C pointer the block does not own.
 *
 * Exhaustion is final. The first time next returns 0 or -1 the block drops
 * its source references (RC_CLEAR), freeing the sources early; from then on
 * every call finds them NULL and returns 0. Once cleared by the collector
 * (clear slot) a block reads as exhausted too, so "source is NULL" is the
 * one test for "done".
 *
 * Re-entrance. A next slot calls code it does not control (the sources'
 * next, the map's function, the filter's predicate, a generator body),
 * which may call rc_next on this same block again and exhaust it, dropping
 * the source while an outer call is still inside the source's next. So
 * each next holds its own reference to the source for the length of the
 * call (one increment and one decrement, no atomics) and never keeps a
 * pointer into its own storage across such a call.
 *
 * Collector. A block can be part of a cycle only through a source that
 * holds references (a generator whose locals reference the block, a list
 * iterator over a list holding the block...). The blocks are
 * RC_TYPE_UNTRACKED and are tracked at construction when one of their
 * sources' types has traverse (whether or not that source is tracked right
 * now: a user type may start untracked and be tracked later), so a
 * pipeline over a range or a file never costs the collector any work.
 * Their sources never change after construction (they are only cleared),
 * so that decision stays right.
 *
 * Tuples (enumerate, zip, batched) are built with rc_tuple_from_array once
 * all their items are in hand: a tuple is immutable and its references
 * must all be stored at creation (RC_TYPE_IMMUTABLE).
 *
 * rc_lines reads with its own buffer from the heap (read(2) straight into
 * it: no stdio buffer from the system malloc, the bytes are not copied
 * twice, and a pipe's lines come as they arrive): a window [start, end) of
 * unread bytes, of which [start, scanned) is known to hold no '\n', so a
 * long line is scanned once however many reads it takes. The buffer grows
 * (doubling) to hold the longest line and shrinks back once a long line
 * has been consumed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal/types.h"

typedef int (*next_fn)(void *self, void **out);

/* {==== shared helpers ==== */

/* The next slot of an iterator made by rc_iter (checked to exist at
 * construction). */
static inline next_fn next_of(const void *it) { return _rc_head_type(_rc_head(it))->next; }

/* Pull one item from src with the rc_next contract: 1 (item stored), 0
 * (exhausted), -1 (error). Any other value from a user's next slot is an
 * error. */
static inline int pull(void *src, void **out) {
    int r = next_of(src)(src, out);
    if (RC_LIKELY(r == 1)) {
        if (RC_LIKELY(*out != NULL)) return 1;
        _rc_set_error("rc_next: a '%s' iterator returned 1 without an item", _rc_obj_type_name(src));
        return -1;
    }
    if (r == 0) return 0;
    if (r != -1) _rc_set_error("rc_next: a '%s' iterator returned %d", _rc_obj_type_name(src), r);
    return -1;
}

/* A new iterator over iterable for building block fn, or NULL with
 * rc_last_error set ("rc_map: 'int' object is not iterable"). */
static void *iter_arg(const char *fn, void *iterable) {
    if (!iterable) {
        _rc_set_error("%s: iterable is NULL", fn);
        return NULL;
    }
    const rc_type *t = rc_type_of(iterable);
    if (!t->next && !t->iter) {
        _rc_set_error("%s: '%s' object is not iterable", fn, _rc_obj_type_name(iterable));
        return NULL;
    }
    void *it = rc_iter(iterable);
    if (!it) return NULL;
    if (!rc_type_of(it)->next) {
        _rc_set_error("%s: iter of '%s' returned a '%s', which is not an iterator", fn,
                      _rc_obj_type_name(iterable), _rc_obj_type_name(it));
        rc_decref(it);
        return NULL;
    }
    return it;
}

/* Items of a tuple being gathered: a small array on the stack, a heap one
 * beyond it. */
#define GATHER_STACK 16
typedef struct gather {
    void **items;
    size_t len, cap;
    void *stack[GATHER_STACK];
} gather;

static void gather_init(gather *g) {
    g->items = g->stack;
    g->len = 0;
    g->cap = GATHER_STACK;
}

static bool gather_reserve(gather *g, size_t cap, const char *fn) {
    if (cap <= g->cap) return true;
    if (cap > SIZE_MAX / sizeof(void *)) {
        _rc_set_error("%s: %zu items is too many", fn, cap);
        return false;
    }
    void **p = g->items == g->stack ? rc_malloc(cap * sizeof *p) : rc_realloc(g->items, cap * sizeof *p);
    if (!p) {
        _rc_set_error("%s: out of memory", fn);
        return false;
    }
    if (g->items == g->stack) memcpy(p, g->stack, g->len * sizeof *p);
    g->items = p;
    g->cap = cap;
    return true;
}

/* Release the gathered items and the heap array. */
static void gather_drop(gather *g) {
    for (size_t i = 0; i < g->len; i++) rc_decref(g->items[i]);
    g->len = 0;
    if (g->items != g->stack) rc_free(g->items);
    g->items = g->stack;
}

/* A new tuple of the gathered items; the gather is emptied either way. */
static void *gather_tuple(gather *g) {
    void *t = rc_tuple_from_array(g->items, g->len);
    gather_drop(g);
    return t;
}

static int visit_one(void *obj, rc_visit_fn visit, void *arg) { return obj ? visit(obj, arg) : 0; }

/* Track block if src may ever reference anything (see the essay). */
static void track_for(void *block, const void *src) {
    if (_rc_head_type(_rc_head(src))->traverse && !rc_gc_is_tracked(block)) rc_gc_track(block);
}
/* }==== */

/* {==== range ==== */

/* Python's range iterator. Invariant: left items remain, the next one is
 * cur; cur is kept as uint64 so that stepping past the last item (which
 * may leave the int64 range) is defined. */
typedef struct range_obj {
    uint64_t cur;
    uint64_t step;
    uint64_t left;
} range_obj;

static int range_next(void *self, void **out) {
    range_obj *r = self;
    if (r->left == 0) return 0;
    void *v = rc_int_new((int64_t)r->cur);
    if (RC_UNLIKELY(!v)) {
        r->left = 0;
        return -1;
    }
    r->cur += r->step;
    r->left--;
    *out = v;
    return 1;
}

static const rc_type range_type = {
    .name = "range_iterator", .size = sizeof(range_obj), .next = range_next, .flags = RC_TYPE_BUILTIN};

void *rc_range(int64_t start, int64_t stop, int64_t step) {
    RC_USER_FRAME();
    if (step == 0) {
        _rc_set_error("rc_range: step must not be zero");
        return NULL;
    }
    /* the count, as Python's range computes it, in unsigned arithmetic so
     * that spans up to 2^64 - 1 do not overflow */
    uint64_t left = 0;
    if (step > 0 && start < stop)
        left = ((uint64_t)stop - (uint64_t)start - 1) / (uint64_t)step + 1;
    else if (step < 0 && start > stop)
        left = ((uint64_t)start - (uint64_t)stop - 1) / ((uint64_t)0 - (uint64_t)step) + 1;
    range_obj *r = rc_new(&range_type);
    if (!r) return NULL;
    r->cur = (uint64_t)start;
    r->step = (uint64_t)step;
    r->left = left;
    return r;
}
/* }==== */

/* {==== map and filter ==== */

typedef struct map_obj {
    void *src; /* owned; NULL once exhausted */
    union {
        rc_map_fn map;
        rc_pred_fn pred;
    } fn;
    void *arg; /* the callback's argument, not owned */
} map_obj;

/* The one-source blocks (map, filter, islice, enumerate, batched) all
 * start with their source, void *src, so they share these slots. */
static int source_traverse(void *self, rc_visit_fn visit, void *arg) { return visit_one(*(void **)self, visit, arg); }

static void source_clear(void *self) { RC_CLEAR(*(void **)self); }

/* Exhaust m: drop its source (the caller's own reference to src is
 * released after). r < 0 reports an error. */
static int map_done(map_obj *m, void *src, int r) {
    RC_CLEAR(m->src);
    rc_decref(src);
    return r < 0 ? -1 : 0;
}

static int map_next(void *self, void **out) {
    map_obj *m = self;
    void *src = m->src;
    if (!src) return 0;
    rc_incref(src);
    void *item;
    int r = pull(src, &item);
    if (RC_LIKELY(r == 1)) {
        void *y = m->fn.map(item, m->arg);
        rc_decref(item);
        if (RC_LIKELY(y != NULL)) {
            rc_decref(src);
            *out = y;
            return 1;
        }
        if (!rc_last_error()[0]) _rc_set_error("rc_map: the function returned NULL");
        r = -1;
    }
    return map_done(m, src, r);
}

static int filter_next(void *self, void **out) {
    map_obj *m = self;
    void *src = m->src;
    if (!src) return 0;
    rc_incref(src);
    for (;;) {
        void *item;
        int r = pull(src, &item);
        if (RC_UNLIKELY(r != 1)) return map_done(m, src, r);
        int keep = m->fn.pred(item, m->arg);
        if (keep > 0) {
            rc_decref(src);
            *out = item;
            return 1;
        }
        rc_decref(item);
        if (RC_UNLIKELY(keep < 0)) {
            if (!rc_last_error()[0]) _rc_set_error("rc_filter: the predicate failed");
            return map_done(m, src, -1);
        }
    }
}

static const rc_type map_type = {.name = "map",
                                 .size = sizeof(map_obj),
                                 .traverse = source_traverse,
                                 .clear = source_clear,
                                 .destroy = source_clear,
                                 .next = map_next,
                                 .flags = RC_TYPE_BUILTIN | RC_TYPE_UNTRACKED};

static const rc_type filter_type = {.name = "filter",
                                    .size = sizeof(map_obj),
                                    .traverse = source_traverse,
                                    .clear = source_clear,
                                    .destroy = source_clear,
                                    .next = filter_next,
                                    .flags = RC_TYPE_BUILTIN | RC_TYPE_UNTRACKED};

/* A new block of type t over iterable (one source). */
static void *one_source(const char *fn, const rc_type *t, void *iterable) {
    void *src = iter_arg(fn, iterable);
    if (!src) return NULL;
    void **obj = rc_new(t); /* a one-source block starts with its src */
    if (!obj) {
        rc_decref(src);
        return NULL;
    }
    obj[0] = src;
    track_for(obj, src);
    return obj;
}

void *rc_map(rc_map_fn fn, void *arg, void *iterable) {
    RC_USER_FRAME();
    if (!fn) {
        _rc_set_error("rc_map: function is NULL");
        return NULL;
    }
    map_obj *m = one_source("rc_map", &map_type, iterable);
    if (!m) return NULL;
    m->fn.map = fn;
    m->arg = arg;
    return m;
}

void *rc_filter(rc_pred_fn pred, void *arg, void *iterable) {
    RC_USER_FRAME();
    if (!pred) {
        _rc_set_error("rc_filter: predicate is NULL");
        return NULL;
    }
    map_obj *m = one_source("rc_filter", &filter_type, iterable);
    if (!m) return NULL;
    m->fn.pred = pred;
    m->arg = arg;
    return m;
}
/* }==== */

/* {==== islice and take ==== */

/* itertools.islice. Invariants: cnt items have been taken from the
 * source; the next item yielded is the one at index next (>= cnt), if
 * next < stop; stop is UINT64_MAX for "no end". As in Python, the items
 * before start are consumed even when start >= stop, and none after the
 * last index below stop. */
typedef struct islice_obj {
    void *src; /* owned; NULL once exhausted */
    uint64_t cnt, next, stop, step;
} islice_obj;

static int islice_next(void *self, void **out) {
    islice_obj *s = self;
    void *src = s->src;
    if (!src) return 0;
    rc_incref(src);
    void *item;
    int r;
    while (s->cnt < s->next) { /* skip to the next index */
        r = pull(src, &item);
        if (r != 1) goto done;
        s->cnt++;
        rc_decref(item);
    }
    if (s->cnt >= s->stop) {
        r = 0; /* the source is not touched past stop */
        goto done;
    }
    r = pull(src, &item);
    if (r != 1) goto done;
    s->cnt++;
    uint64_t n = s->next + s->step;
    s->next = n < s->next || n > s->stop ? s->stop : n;
    rc_decref(src);
    *out = item;
    return 1;
done:
    RC_CLEAR(s->src);
    rc_decref(src);
    return r < 0 ? -1 : 0;
}

static const rc_type islice_type = {.name = "islice",
                                    .size = sizeof(islice_obj),
                                    .traverse = source_traverse,
                                    .clear = source_clear,
                                    .destroy = source_clear,
                                    .next = islice_next,
                                    .flags = RC_TYPE_BUILTIN | RC_TYPE_UNTRACKED};

static void *islice_make(const char *fn, void *iterable, uint64_t start, uint64_t stop, uint64_t step) {
    islice_obj *s = one_source(fn, &islice_type, iterable);
    if (!s) return NULL;
    s->next = start;
    s->stop = stop;
    s->step = step;
    return s;
}

void *rc_take(void *iterable, size_t n) {
    RC_USER_FRAME();
    return islice_make("rc_take", iterable, 0, n, 1);
}

void *rc_islice(void *iterable, int64_t start, int64_t stop, int64_t step) {
    RC_USER_FRAME();
    if (start < 0) {
        _rc_set_error("rc_islice: start must be >= 0 (got %lld)", (long long)start);
        return NULL;
    }
    if (step < 1) {
        _rc_set_error("rc_islice: step must be >= 1 (got %lld)", (long long)step);
        return NULL;
    }
    return islice_make("rc_islice", iterable, (uint64_t)start, stop < 0 ? UINT64_MAX : (uint64_t)stop,
                       (uint64_t)step);
}
/* }==== */

/* {==== enumerate ==== */

typedef struct enumerate_obj {
    void *src;     /* owned; NULL once exhausted */
    int64_t index; /* of the next item */
    bool at_max;   /* index is INT64_MAX and has been given out */
} enumerate_obj;

static int enumerate_next(void *self, void **out) {
    enumerate_obj *e = self;
    void *src = e->src;
    if (!src) return 0;
    rc_incref(src);
    gather g;
    gather_init(&g);
    int r = pull(src, &g.stack[1]);
    if (r == 1) {
        g.len = 2;
        if (e->at_max) {
            g.stack[0] = NULL;
            _rc_set_error("rc_enumerate: index overflows int64");
        } else {
            g.stack[0] = rc_int_new(e->index);
        }
        if (g.stack[0]) {
            if (e->index == INT64_MAX) e->at_max = true;
            else e->index++;
            void *t = gather_tuple(&g);
            if (t) {
                rc_decref(src);
                *out = t;
                return 1;
            }
        } else {
            gather_drop(&g);
        }
        r = -1;
    }
    RC_CLEAR(e->src);
    rc_decref(src);
    return r < 0 ? -1 : 0;
}

static const rc_type enumerate_type = {.name = "enumerate",
                                       .size = sizeof(enumerate_obj),
                                       .traverse = source_traverse,
                                       .clear = source_clear,
                                       .destroy = source_clear,
                                       .next = enumerate_next,
                                       .flags = RC_TYPE_BUILTIN | RC_TYPE_UNTRACKED};

void *rc_enumerate(void *iterable, int64_t start) {
    RC_USER_FRAME();
    enumerate_obj *e = one_source("rc_enumerate", &enumerate_type, iterable);
    if (!e) return NULL;
    e->index = start;
    return e;
}
/* }==== */

/* {==== zip and chain: n sources ==== */

/* zip: srcs[0..n) all owned, or all NULL once exhausted. chain: the
 * sources before cur are exhausted and NULL; cur == n when done. */
typedef struct multi_obj {
    size_t n, cur;
    void *srcs[];
} multi_obj;

static int multi_traverse(void *self, rc_visit_fn visit, void *arg) {
    multi_obj *m = self;
    for (size_t i = 0; i < m->n; i++) {
        int r = visit_one(m->srcs[i], visit, arg);
        if (r) return r;
    }
    return 0;
}

static void multi_clear(void *self) {
    multi_obj *m = self;
    for (size_t i = 0; i < m->n; i++) RC_CLEAR(m->srcs[i]);
    m->cur = m->n;
}

static int zip_next(void *self, void **out) {
    multi_obj *z = self;
    size_t n = z->n;
    if (z->cur == n) return 0; /* exhausted, or zip() of nothing */
    gather g;
    gather_init(&g);
    int r = 1;
    if (!gather_reserve(&g, n, "rc_zip")) {
        r = -1;
    } else {
        for (size_t i = 0; i < n; i++) {
            void *src = z->srcs[i];
            if (!src) { /* exhausted by a nested call */
                r = 0;
                break;
            }
            rc_incref(src);
            r = pull(src, &g.items[i]);
            rc_decref(src);
            if (r != 1) break;
            g.len++;
        }
    }
    if (r == 1) {
        void *t = gather_tuple(&g);
        if (t) {
            *out = t;
            return 1;
        }
        r = -1;
    }
    gather_drop(&g);
    multi_clear(z);
    return r < 0 ? -1 : 0;
}

static int chain_next(void *self, void **out) {
    multi_obj *c = self;
    while (c->cur < c->n) {
        size_t i = c->cur;
        void *src = c->srcs[i];
        if (src) {
            rc_incref(src);
            int r = pull(src, out);
            if (r == 1) {
                rc_decref(src);
                return 1;
            }
            *out = NULL;
            if (r < 0) {
                rc_decref(src);
                multi_clear(c);
                return -1;
            }
            RC_CLEAR(c->srcs[i]);
            rc_decref(src);
        }
        if (c->cur == i) c->cur = i + 1;
    }
    return 0;
}

static const rc_type zip_type = {.name = "zip",
                                 .size = sizeof(multi_obj),
                                 .traverse = multi_traverse,
                                 .clear = multi_clear,
                                 .destroy = multi_clear,
                                 .next = zip_next,
                                 .flags = RC_TYPE_BUILTIN | RC_TYPE_UNTRACKED};

static const rc_type chain_type = {.name = "chain",
                                   .size = sizeof(multi_obj),
                                   .traverse = multi_traverse,
                                   .clear = multi_clear,
                                   .destroy = multi_clear,
                                   .next = chain_next,
                                   .flags = RC_TYPE_BUILTIN | RC_TYPE_UNTRACKED};

/* A new zip or chain over the n iterables in ap. On failure every
 * iterator made so far is released. */
static void *multi_make(const char *fn, const rc_type *t, size_t n, va_list ap) {
    if (n > (SIZE_MAX - 64) / sizeof(void *)) {
        _rc_set_error("%s: %zu iterables is too many", fn, n);
        return NULL;
    }
    multi_obj *m = rc_new_var(t, n * sizeof(void *));
    if (!m) return NULL;
    m->n = n; /* while filling, srcs[i..n) are NULL: destroy is safe */
    for (size_t i = 0; i < n; i++) {
        void *it = iter_arg(fn, va_arg(ap, void *));
        if (!it) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s", rc_last_error());
            rc_decref(m);
            _rc_set_error("%s (argument %zu)", msg, i + 1);
            return NULL;
        }
        m->srcs[i] = it;
        track_for(m, it);
    }
    return m;
}

void *rc_zip(size_t n, ...) {
    RC_USER_FRAME();
    va_list ap;
    va_start(ap, n);
    void *z = multi_make("rc_zip", &zip_type, n, ap);
    va_end(ap);
    return z;
}

void *rc_chain(size_t n, ...) {
    RC_USER_FRAME();
    va_list ap;
    va_start(ap, n);
    void *c = multi_make("rc_chain", &chain_type, n, ap);
    va_end(ap);
    return c;
}
/* }==== */

/* {==== batched ==== */

typedef struct batched_obj {
    void *src; /* owned; NULL once exhausted */
    size_t n;  /* items per batch, >= 1 */
} batched_obj;

/* The gather array starts at this many items and doubles up to n, so a
 * huge n costs memory only for the items actually there. */
#define BATCH_FIRST 256

static int batched_next(void *self, void **out) {
    batched_obj *b = self;
    void *src = b->src;
    if (!src) return 0;
    rc_incref(src);
    size_t n = b->n;
    gather g;
    gather_init(&g);
    int r = 1;
    while (g.len < n) {
        if (g.len == g.cap) {
            size_t cap = g.cap < BATCH_FIRST ? BATCH_FIRST : g.cap * 2;
            if (cap > n || cap < g.cap) cap = n;
            if (!gather_reserve(&g, cap, "rc_batched")) {
                r = -1;
                break;
            }
        }
        r = pull(src, &g.items[g.len]);
        if (r != 1) break;
        g.len++;
    }
    if (r >= 0 && g.len > 0) {
        /* a full batch, or the shorter last one */
        void *t = gather_tuple(&g);
        if (t) {
            if (r == 0) RC_CLEAR(b->src);
            rc_decref(src);
            *out = t;
            return 1;
        }
        r = -1;
    }
    gather_drop(&g);
    RC_CLEAR(b->src);
    rc_decref(src);
    return r < 0 ? -1 : 0;
}

static const rc_type batched_type = {.name = "batched",
                                     .size = sizeof(batched_obj),
                                     .traverse = source_traverse,
                                     .clear = source_clear,
                                     .destroy = source_clear,
                                     .next = batched_next,
                                     .flags = RC_TYPE_BUILTIN | RC_TYPE_UNTRACKED};

void *rc_batched(void *iterable, size_t n) {
    RC_USER_FRAME();
    if (n == 0) {
        _rc_set_error("rc_batched: n must be at least 1");
        return NULL;
    }
    batched_obj *b = one_source("rc_batched", &batched_type, iterable);
    if (!b) return NULL;
    b->n = n;
    return b;
}
/* }==== */

/* {==== lines of a file ==== */

#define LINES_BUF 16384

/* Invariants: buf[start, end) holds bytes read and not yet returned;
 * buf[start, scanned) has no '\n'; start <= scanned <= end <= cap.
 * fd is -1 and buf NULL once exhausted (end of file, error or death). */
typedef struct lines_obj {
    int fd;
    char *buf;
    size_t cap, start, end, scanned;
    uint64_t lineno; /* lines returned so far */
    bool eof;        /* read(2) has returned 0 */
    char path[];     /* for messages */
} lines_obj;

static void lines_close(lines_obj *l) {
    if (l->fd >= 0) close(l->fd);
    rc_free(l->buf);
    l->fd = -1;
    l->buf = NULL;
    l->cap = l->start = l->end = l->scanned = 0;
}

static void lines_destroy(void *self) { lines_close(self); }

/* Make room for more bytes after end: move the unread bytes to the front,
 * then grow the buffer when it is full (or shrink it back after a long
 * line). */
static bool lines_room(lines_obj *l) {
    size_t used = l->end - l->start;
    if (l->start > 0) {
        memmove(l->buf, l->buf + l->start, used);
        l->scanned -= l->start;
        l->end = used;
        l->start = 0;
    }
    size_t cap = l->cap;
    if (used == cap) {
        if (cap > SIZE_MAX / 2) return false;
        cap *= 2;
    } else if (cap > 4 * LINES_BUF && used < LINES_BUF / 2) {
        cap = LINES_BUF;
    }
    if (cap != l->cap) {
        char *b = rc_realloc(l->buf, cap);
        if (!b) return used < l->cap; /* a failed shrink is harmless */
        l->buf = b;
        l->cap = cap;
    }
    return true;
}

/* Make a str of the line buf[start, start + n) and consume it. */
static void *lines_emit(lines_obj *l, size_t n) {
    void *s = rc_str_new(l->buf + l->start, n);
    if (!s) {
        const char *why = rc_last_error();
        const char *at = strstr(why, "invalid UTF-8");
        if (at) {
            char detail[128];
            snprintf(detail, sizeof detail, "%s", at);
            _rc_set_error("rc_lines: line %llu of '%s': %s", (unsigned long long)l->lineno + 1, l->path, detail);
        } else {
            _rc_set_error("rc_lines: out of memory at line %llu of '%s'", (unsigned long long)l->lineno + 1,
                          l->path);
        }
        return NULL;
    }
    l->start += n;
    l->scanned = l->start;
    l->lineno++;
    return s;
}

static int lines_next(void *self, void **out) {
    lines_obj *l = self;
    if (l->fd < 0) return 0;
    for (;;) {
        char *nl = memchr(l->buf + l->scanned, '\n', l->end - l->scanned);
        if (nl) {
            void *s = lines_emit(l, (size_t)(nl - (l->buf + l->start)) + 1);
            if (!s) break;
            *out = s;
            return 1;
        }
        l->scanned = l->end;
        if (l->eof) {
            if (l->end == l->start) { /* exhausted */
                lines_close(l);
                return 0;
            }
            void *s = lines_emit(l, l->end - l->start); /* the last line, without '\n' */
            if (!s) break;
            *out = s;
            return 1;
        }
        if (!lines_room(l)) {
            _rc_set_error("rc_lines: out of memory at line %llu of '%s' (%zu bytes without a newline)",
                          (unsigned long long)l->lineno + 1, l->path, l->end - l->start);
            break;
        }
        /* one read(2), not fread: from a pipe or a terminal, the lines
         * come as soon as they arrive, not when a whole buffer is full */
        ssize_t got;
        do got = read(l->fd, l->buf + l->end, l->cap - l->end);
        while (got < 0 && errno == EINTR);
        if (got < 0) {
            _rc_set_error("rc_lines: cannot read '%s': %s", l->path, strerror(errno));
            break;
        }
        if (got == 0) l->eof = true;
        l->end += (size_t)got;
    }
    lines_close(l);
    return -1;
}

static const rc_type lines_type = {.name = "lines",
                                   .size = sizeof(lines_obj),
                                   .destroy = lines_destroy,
                                   .next = lines_next,
                                   .flags = RC_TYPE_BUILTIN};

void *rc_lines(const char *path) {
    RC_USER_FRAME();
    if (!path) {
        _rc_set_error("rc_lines: path is NULL");
        return NULL;
    }
    size_t plen = strlen(path);
    lines_obj *l = rc_new_var(&lines_type, plen + 1);
    if (!l) return NULL;
    l->fd = -1;
    memcpy(l->path, path, plen + 1);
    l->buf = rc_malloc(LINES_BUF);
    if (!l->buf) {
        rc_decref(l);
        _rc_set_error("rc_lines: out of memory");
        return NULL;
    }
    l->cap = LINES_BUF;
    do l->fd = open(path, O_RDONLY | O_CLOEXEC);
    while (l->fd < 0 && errno == EINTR);
    if (l->fd < 0) {
        int e = errno;
        rc_decref(l);
        _rc_set_error("rc_lines: cannot open '%s': %s", path, strerror(e));
        return NULL;
    }
    return l;
}
/* }==== */
