/*
 * set.c — the set: an unordered hash table of keys (CPython's set design)
 * and its iterator.
 *
 * Layout. One array of mask + 1 entries {hash, key}, a power of two long,
 * from rc_calloc; an empty set has none until its first insertion.
 *
 *   set_obj (48-byte payload, a 64-byte object; CPython's set is 200)
 *   | table | mask | used | fill | finger | version |
 *       |
 *       v
 *   | {h, key} | {0, NULL} | {h, DUMMY} | {h, key} | ...   mask + 1 entries
 *
 *   key NULL    an empty entry: ends every probe
 *   key DUMMY   a deleted entry: probes pass over it (the key that was
 *               there may have been a link in another key's probe), and
 *               an insertion may reuse it
 *   else        a live key, with its hash
 *
 * Probing. From i = hash & mask the probe first looks at the next 9
 * entries in a row (one or two cache lines: CPython's LINEAR_PROBES),
 * then jumps with i = (5 i + 1 + perturb) & mask, perturb being the hash
 * shifted right 5 bits per jump, so every bit of the hash takes part and,
 * once perturb is 0, the recurrence reaches every entry.
 *
 * Sizes. fill (live + dummy entries) stays below 60% of the table: an
 * insertion that would take an empty entry with fill * 5 >= mask * 3 first
 * rebuilds the table to the smallest power of two above 4 * used (2 * used
 * past 50000 items), 8 at least, dropping the dummies. So sizes follow
 * CPython's (a set of 1M ints: 2^21 entries of 16 bytes, 33.5 bytes per
 * item), and a set that lost most of its items to discards shrinks at its
 * next rebuild. rc_set_clear gives the table back.
 *
 * Invariants (outside a call in progress):
 *   table == NULL  <=>  mask == 0, used == fill == 0
 *   used <= fill and fill * 5 < mask * 3 + 5 (fill < mask + 1: there is
 *     always an empty entry, so every probe ends)
 *   each live key is reachable by probing from its hash without crossing
 *     an empty entry; keys are pairwise unequal; the set owns a reference
 *     to each
 *   version changes with every insertion, removal and rebuild: lookups
 *     that ran user code (a key's equal) restart when it moved, and
 *     iterators fail
 *
 * Collection: a set is tracked from creation (as CPython's), its traverse
 * visits the live keys (never the DUMMY marker, which is no object).
 */
#include <string.h>

#include "internal/types.h"

#define MIN_SIZE 8
#define LINEAR_PROBES 9
#define MAX_RESTARTS 1000

/* The marker of a deleted entry: an address that is no object. */
static const char dummy_marker;
#define DUMMY ((void *)&dummy_marker)

typedef struct set_entry {
    int64_t hash;
    void *key; /* NULL: empty; DUMMY: deleted */
} set_entry;

typedef struct set_obj {
    set_entry *table;  /* NULL, or mask + 1 entries */
    size_t mask;
    size_t used;       /* live keys */
    size_t fill;       /* live keys + dummies */
    size_t finger;     /* where rc_set_pop starts looking */
    uint32_t version;  /* changes with every insertion, removal, rebuild */
} set_obj;

typedef struct set_iter {
    set_obj *set;      /* NULL once exhausted (or failed) */
    size_t pos;
    size_t used;       /* set->used when made */
    uint32_t version;  /* set->version then */
} set_iter;

static int set_traverse(void *self, rc_visit_fn visit, void *arg);
static void set_clear_slot(void *self);
static bool set_equal(const void *a, const void *b);
static void *set_repr(const void *self);
static void *set_iter_slot(void *self);

const rc_type rc_set_type = {.name = "set",
                             .size = sizeof(set_obj),
                             .traverse = set_traverse,
                             .clear = set_clear_slot,
                             .destroy = set_clear_slot,
                             .equal = set_equal,
                             .repr = set_repr,
                             .iter = set_iter_slot,
                             .flags = RC_TYPE_BUILTIN | RC_TYPE_UNHASHABLE};

static inline bool is_set(const void *obj) {
    return RC_LIKELY(obj != NULL) && RC_LIKELY(_rc_head_type(_rc_head(obj)) == &rc_set_type);
}

static inline bool live(const void *key) { return key != NULL && key != DUMMY; }

/* {==== the table ==== */

/* The first empty entry on h's probe in a table with no dummies and
 * without the key (a rebuild): no comparisons. */
static set_entry *probe_empty(set_entry *table, size_t mask, int64_t h) {
    size_t i = (size_t)h & mask;
    uint64_t perturb = (uint64_t)h;
    for (;;) {
        set_entry *e = &table[i];
        if (!e->key) return e;
        if (i + LINEAR_PROBES <= mask) {
            for (int j = 0; j < LINEAR_PROBES; j++) {
                e++;
                if (!e->key) return e;
            }
        }
        perturb >>= 5;
        i = (i * 5 + 1 + perturb) & mask;
    }
}

/* Rebuild s with the smallest power of two above minused entries (8 at
 * least), dummies dropped. 0, or -1 (out of memory: s unchanged). */
static int resize(set_obj *s, size_t minused, const char *fn) {
    size_t size = MIN_SIZE;
    while (size <= minused) {
        if (size > (SIZE_MAX / sizeof(set_entry)) / 4) {
            _rc_set_error("%s: set too large", fn);
            return -1;
        }
        size <<= 1;
    }
    set_entry *t = rc_calloc(size, sizeof(set_entry));
    if (!t) {
        _rc_set_error("%s: out of memory", fn);
        return -1;
    }
    set_entry *old = s->table;
    size_t n = s->table ? s->mask + 1 : 0, mask = size - 1;
    for (size_t i = 0; i < n; i++) {
        if (!live(old[i].key)) continue;
        *probe_empty(t, mask, old[i].hash) = old[i];
    }
    rc_free(old);
    s->table = t;
    s->mask = mask;
    s->fill = s->used;
    s->version++;
    return 0;
}

/*
 * Find key (hash h) in s: the number of its entry; or -1 when absent, with
 * *slot where an insertion goes (the first dummy on the probe, else the
 * empty entry that ended it; meaningless while s has no table); or -2 on
 * error (user code kept changing s). A comparison that may run user code
 * holds a reference to the stored key and restarts the lookup if s
 * changed under it.
 */
static int64_t find(set_obj *s, const void *key, int64_t h, size_t *slot, const char *fn) {
    unsigned restarts = 0;
restart:
    if (!s->table) return -1;
    set_entry *table = s->table;
    size_t mask = s->mask, i = (size_t)h & mask, free_slot = SIZE_MAX;
    uint64_t perturb = (uint64_t)h;
    for (;;) {
        size_t run = i + LINEAR_PROBES <= mask ? LINEAR_PROBES + 1 : 1;
        for (size_t j = i; j < i + run; j++) {
            set_entry *e = &table[j];
            void *k = e->key;
            if (k == NULL) {
                *slot = free_slot != SIZE_MAX ? free_slot : j;
                return -1;
            }
            if (k == key) return (int64_t)j;
            if (k == DUMMY) {
                if (free_slot == SIZE_MAX) free_slot = j;
                continue;
            }
            if (e->hash != h) continue;
            int eq = _rc_key_equal_fast(k, key);
            if (eq < 0) {
                uint32_t version = s->version;
                rc_incref(k);
                eq = rc_equal(k, key);
                rc_decref(k);
                if (RC_UNLIKELY(s->version != version)) {
                    if (++restarts > MAX_RESTARTS) {
                        _rc_set_error("%s: set changed during lookup too many times", fn);
                        return -2;
                    }
                    goto restart;
                }
            }
            if (eq) return (int64_t)j;
        }
        perturb >>= 5;
        i = (i * 5 + 1 + perturb) & mask;
    }
}

/* Add key (hash h), taking a reference: 1 added, 0 already there, -1
 * error (s unchanged). */
static int insert(set_obj *s, void *key, int64_t h, const char *fn) {
    size_t slot = 0;
    int64_t n = find(s, key, h, &slot, fn);
    if (n >= 0) return 0;
    if (n == -2) return -1;
    if (!s->table || (!s->table[slot].key && (s->fill + 1) * 5 >= s->mask * 3)) {
        if (resize(s, s->used + 1 > 50000 ? (s->used + 1) * 2 : (s->used + 1) * 4, fn) < 0) return -1;
        slot = (size_t)(probe_empty(s->table, s->mask, h) - s->table);
    }
    set_entry *e = &s->table[slot];
    if (!e->key) s->fill++;
    e->key = rc_incref(key);
    e->hash = h;
    s->used++;
    s->version++;
    return 1;
}

/* Add every live key of src with its stored hash. 0 or -1. src may change
 * under user code: it is re-read at every step. */
static int insert_all(set_obj *s, set_obj *src, const char *fn) {
    for (size_t i = 0; src->table && i <= src->mask; i++) {
        set_entry *e = &src->table[i];
        if (!live(e->key)) continue;
        void *k = rc_incref(e->key);
        int r = insert(s, k, e->hash, fn);
        rc_decref(k);
        if (r < 0) return -1;
    }
    return 0;
}

/* Empty s, then release its keys (user code may fill s again meanwhile:
 * that is a new table). */
static void clear_all(set_obj *s) {
    set_entry *t = s->table;
    if (!t) return;
    size_t n = s->mask + 1;
    s->table = NULL;
    s->mask = s->used = s->fill = s->finger = 0;
    s->version++;
    for (size_t i = 0; i < n; i++)
        if (live(t[i].key)) rc_decref(t[i].key);
    rc_free(t);
}

#define INVALID(...)                   \
    do {                               \
        _rc_set_error(__VA_ARGS__);    \
        return false;                  \
    } while (0)

bool _rc_set_is_valid(const void *set) {
    if (!_rc_expect("_rc_set_is_valid", set, &rc_set_type, "a set")) return false;
    const set_obj *s = set;
    if (!s->table) {
        if (s->mask || s->used || s->fill) INVALID("set: no table, but counts are set");
        return true;
    }
    size_t size = s->mask + 1;
    if (size < MIN_SIZE || (size & s->mask)) INVALID("set: bad mask %zu", s->mask);
    if (!(s->used <= s->fill && s->fill * 5 < s->mask * 3))
        INVALID("set: used %zu, fill %zu, mask %zu out of order", s->used, s->fill, s->mask);
    size_t live_n = 0, fill = 0;
    for (size_t i = 0; i < size; i++) {
        void *k = s->table[i].key;
        if (!k) continue;
        fill++;
        if (k == DUMMY) continue;
        live_n++;
        /* the probe from its hash reaches it before an empty entry */
        int64_t h = s->table[i].hash;
        size_t j = (size_t)h & s->mask;
        uint64_t perturb = (uint64_t)h;
        bool found = false;
        for (size_t steps = 0; !found && steps < 4 * size + 64; steps++) {
            size_t run = j + LINEAR_PROBES <= s->mask ? LINEAR_PROBES + 1 : 1, x;
            for (x = j; x < j + run; x++) {
                if (x == i) {
                    found = true;
                    break;
                }
                if (!s->table[x].key) INVALID("set: entry %zu cannot be found from its hash", i);
            }
            perturb >>= 5;
            j = (j * 5 + 1 + perturb) & s->mask;
        }
        if (!found) INVALID("set: entry %zu cannot be found from its hash", i);
    }
    if (live_n != s->used) INVALID("set: %zu live entries, used says %zu", live_n, s->used);
    if (fill != s->fill) INVALID("set: %zu entries taken, fill says %zu", fill, s->fill);
    return true;
}

/* Check s and item, and hash item. */
static inline bool prepare(const char *fn, const void *s, const void *item, int64_t *h) {
    return _rc_key_prepare(fn, s, &rc_set_type, "a set", item, "item", h);
}
/* }==== */

/* {==== the public functions ==== */

void *rc_set_new(void) {
    RC_USER_FRAME();
    return rc_new(&rc_set_type);
}

size_t rc_set_len(const void *set) {
    if (RC_UNLIKELY(!is_set(set))) {
        _rc_expect("rc_set_len", set, &rc_set_type, "a set");
        return 0;
    }
    return ((const set_obj *)set)->used;
}

int rc_set_add(void *set, void *item) {
    RC_USER_FRAME();
    int64_t h;
    if (!prepare("rc_set_add", set, item, &h)) return -1;
    return insert(set, item, h, "rc_set_add");
}

int rc_set_contains(const void *set, const void *item) {
    int64_t h;
    if (!prepare("rc_set_contains", set, item, &h)) return -1;
    size_t slot;
    int64_t n = find((set_obj *)set, item, h, &slot, "rc_set_contains");
    return n >= 0 ? 1 : n == -1 ? 0 : -1;
}

int rc_set_discard(void *set, const void *item) {
    RC_USER_FRAME();
    int64_t h;
    if (!prepare("rc_set_discard", set, item, &h)) return -1;
    set_obj *s = set;
    size_t slot;
    int64_t n = find(s, item, h, &slot, "rc_set_discard");
    if (n < 0) return n == -1 ? 0 : -1;
    void *k = s->table[n].key;
    s->table[n].key = DUMMY;
    s->used--;
    s->version++;
    rc_decref(k);
    return 1;
}

void *rc_set_pop(void *set) {
    if (!_rc_expect("rc_set_pop", set, &rc_set_type, "a set")) return NULL;
    set_obj *s = set;
    if (s->used == 0) {
        _rc_set_error("rc_set_pop: pop from an empty set");
        return NULL;
    }
    size_t i = s->finger & s->mask;
    while (!live(s->table[i].key)) i = (i + 1) & s->mask;
    void *k = s->table[i].key;
    s->table[i].key = DUMMY;
    s->used--;
    s->version++;
    s->finger = i + 1;
    return k;
}

void rc_set_clear(void *set) {
    if (!_rc_expect("rc_set_clear", set, &rc_set_type, "a set")) return;
    clear_all(set);
}

/* A new set holding a copy of src's keys (src unchanged), with a table
 * sized for at least room keys. */
static set_obj *copy(set_obj *src, size_t room, const char *fn) {
    set_obj *s = rc_new(&rc_set_type);
    if (!s) return NULL;
    if (room < src->used) room = src->used;
    if (room == 0) return s;
    /* the size room keys take right after a rebuild, as adding them would */
    if (resize(s, room > 50000 ? room * 2 : room * 4, fn) < 0 || insert_all(s, src, fn) < 0) {
        rc_decref(s);
        return NULL;
    }
    return s;
}

void *rc_set_from_iter(void *iterable) {
    RC_USER_FRAME();
    const char *fn = "rc_set_from_iter";
    if (!iterable) {
        _rc_set_error("rc_set_from_iter: iterable is NULL");
        return NULL;
    }
    if (is_set(iterable)) return copy(iterable, 0, fn);
    void *it = rc_iter(iterable);
    if (!it) return NULL;
    set_obj *s = rc_new(&rc_set_type);
    if (!s) {
        rc_decref(it);
        return NULL;
    }
    void *x;
    int r;
    while ((r = rc_next(it, &x)) == 1) {
        int64_t h = _rc_key_hash(fn, x);
        int ok = h == -1 ? -1 : insert(s, x, h, fn);
        rc_decref(x);
        if (ok < 0) {
            r = -1;
            break;
        }
    }
    rc_decref(it);
    if (r < 0) {
        rc_decref(s);
        return NULL;
    }
    return s;
}

static bool both_sets(const char *fn, const void *a, const void *b) {
    return _rc_expect(fn, a, &rc_set_type, "a set") && _rc_expect(fn, b, &rc_set_type, "a set");
}

void *rc_set_union(const void *a, const void *b) {
    RC_USER_FRAME();
    if (!both_sets("rc_set_union", a, b)) return NULL;
    /* a's keys first, then b's that are new (Python's a | b keeps a's 1
     * over b's 1.0); sized for the larger of the two, which the result
     * holds at least */
    set_obj *x = (set_obj *)a, *y = (set_obj *)b;
    set_obj *s = copy(x, y->used, "rc_set_union");
    if (s && insert_all(s, y, "rc_set_union") < 0) {
        rc_decref(s);
        return NULL;
    }
    return s;
}

/* The keys of a that are (keep = 1) or are not (keep = 0) in b. */
static void *filter(const char *fn, set_obj *a, set_obj *b, int keep) {
    set_obj *s = rc_new(&rc_set_type);
    if (!s) return NULL;
    for (size_t i = 0; a->table && i <= a->mask; i++) {
        set_entry *e = &a->table[i];
        if (!live(e->key)) continue;
        void *k = rc_incref(e->key);
        int64_t h = e->hash;
        size_t slot;
        int64_t n = find(b, k, h, &slot, fn);
        int r = n == -2 ? -1 : (n >= 0) == keep ? insert(s, k, h, fn) : 0;
        rc_decref(k);
        if (r < 0) {
            rc_decref(s);
            return NULL;
        }
    }
    return s;
}

void *rc_set_intersection(const void *a, const void *b) {
    RC_USER_FRAME();
    if (!both_sets("rc_set_intersection", a, b)) return NULL;
    set_obj *x = (set_obj *)a, *y = (set_obj *)b;
    /* walk the smaller one, b when the sizes are equal: the keys kept are
     * the walked set's (Python's a & b) */
    return x->used < y->used ? filter("rc_set_intersection", x, y, 1) : filter("rc_set_intersection", y, x, 1);
}

void *rc_set_difference(const void *a, const void *b) {
    RC_USER_FRAME();
    if (!both_sets("rc_set_difference", a, b)) return NULL;
    return filter("rc_set_difference", (set_obj *)a, (set_obj *)b, 0);
}
/* }==== */

/* {==== the type's slots ==== */

static int set_traverse(void *self, rc_visit_fn visit, void *arg) {
    set_obj *s = self;
    for (size_t i = 0; s->table && i <= s->mask; i++) {
        if (!live(s->table[i].key)) continue;
        int r = visit(s->table[i].key, arg);
        if (r) return r;
    }
    return 0;
}

static void set_clear_slot(void *self) {
    set_obj *s = self;
    while (s->table) clear_all(s);
}

static bool set_equal(const void *a, const void *b) {
    set_obj *x = (set_obj *)a, *y = (set_obj *)b;
    if (x->used != y->used) return false;
    if (!_rc_recursion_enter("rc_equal")) return false;
    bool eq = true;
    for (size_t i = 0; eq && x->table && i <= x->mask; i++) {
        set_entry *e = &x->table[i];
        if (!live(e->key)) continue;
        void *k = rc_incref(e->key);
        size_t slot;
        eq = find(y, k, e->hash, &slot, "rc_equal") >= 0;
        rc_decref(k);
    }
    if (eq && x->used != y->used) eq = false;
    _rc_recursion_leave();
    return eq;
}

static void *set_repr(const void *self) {
    const set_obj *s = self;
    if (s->used == 0) return _rc_str_new_trusted("set()", 5, 5);
    int r = _rc_repr_enter(self);
    if (r < 0) return NULL;
    if (r > 0) return _rc_str_new_trusted("set(...)", 8, 8);
    rc_sb sb;
    _rc_sb_init(&sb);
    _rc_sb_add(&sb, "{", 1);
    bool first = true;
    /* a repr of user code may change s: re-read it every step */
    for (size_t i = 0; s->table && i <= s->mask && !sb.failed; i++) {
        void *k = s->table[i].key;
        if (!live(k)) continue;
        if (!first) _rc_sb_add(&sb, ", ", 2);
        first = false;
        rc_incref(k);
        _rc_sb_add_repr(&sb, k);
        rc_decref(k);
    }
    _rc_sb_add(&sb, "}", 1);
    _rc_repr_leave(self);
    return _rc_sb_finish(&sb);
}
/* }==== */

/* {==== the iterator ==== */

static int set_iter_traverse(void *self, rc_visit_fn visit, void *arg) {
    set_iter *it = self;
    return it->set ? visit(it->set, arg) : 0;
}

static void set_iter_clear(void *self) { RC_CLEAR(((set_iter *)self)->set); }

static int set_iter_next(void *self, void **out) {
    set_iter *it = self;
    set_obj *s = it->set;
    if (!s) return 0;
    if (RC_UNLIKELY(s->used != it->used || s->version != it->version)) {
        _rc_set_error(s->used != it->used ? "rc_next: Set changed size during iteration"
                                          : "rc_next: Set changed during iteration");
        RC_CLEAR(it->set);
        return -1;
    }
    for (size_t i = it->pos; s->table && i <= s->mask; i++) {
        if (!live(s->table[i].key)) continue;
        it->pos = i + 1;
        *out = rc_incref(s->table[i].key);
        return 1;
    }
    RC_CLEAR(it->set);
    return 0;
}

static const rc_type set_iter_type = {.name = "set_iterator",
                                      .size = sizeof(set_iter),
                                      .traverse = set_iter_traverse,
                                      .clear = set_iter_clear,
                                      .destroy = set_iter_clear,
                                      .next = set_iter_next,
                                      .flags = RC_TYPE_BUILTIN};

static void *set_iter_slot(void *self) {
    set_obj *s = self;
    set_iter *it = rc_new(&set_iter_type);
    if (!it) return NULL;
    it->set = rc_incref(s);
    it->used = s->used;
    it->version = s->version;
    return it;
}
/* }==== */
