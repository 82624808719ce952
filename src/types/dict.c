/*
 * dict.c — the dict: an insertion-ordered hash table in CPython 3.6's
 * compact layout (Raymond Hettinger's design), and its three iterators.
 *
 * Layout. The dict object holds the counts and one pointer; the table is
 * one rc_malloc block of two arrays:
 *
 *   dict_obj (32-byte payload, a 48-byte object; CPython's empty dict is 64)
 *   +-------+-------+----------+---------+------+-------+
 *   | table | used  | nentries | version | log2 | shift |
 *   +-------+-------+----------+---------+------+-------+
 *       |
 *       v  one block: usable entries, then 2^log2 indices of 1 << shift bytes
 *   +-----------------------------------+--------------------------------+
 *   | entries[usable]: {hash, key, val} | indices: int8/16/32/64 each,   |
 *   | in insertion order; NULL key =    | -1 empty, -2 dummy, else the   |
 *   | a deleted entry (a hole)          | number of an entry             |
 *   +-----------------------------------+--------------------------------+
 *
 * The index table is what is hashed: open addressing over 2^log2 slots,
 * probing i = (5 i + 1 + perturb) mod 2^log2 with perturb = the hash,
 * shifted right 5 bits a step (so all the hash's bits take part, and once
 * perturb is 0 the recurrence visits every slot). A slot holds the number
 * of an entry, so a slot costs 1 byte for tables of up to 128 slots and 4
 * for up to 2^31, instead of the 24 of an entry: the sparse part of the
 * table is small, the dense part is full, and iteration walks the entries
 * in the order they were added.
 *
 * Sizes. usable = 2/3 of the slots (rounded down) entries fit before the
 * table must be rebuilt. A rebuild happens when an insertion finds the
 * entries full (nentries == usable), and makes a table of the smallest
 * power of two >= 3 * used slots (8 at least): the live entries are
 * copied in order, compacted (holes dropped, dummies gone), and the
 * indices rebuilt from the stored hashes, with no key compared. So a growing dict doubles or quadruples
 * (the sizes CPython 3.11 reaches: 1M int keys take a 2^21-slot table,
 * 24 * 1398101 + 4 * 2^21 bytes, 42 bytes an item), and a dict that lost
 * most of its items shrinks at the next rebuild. A dict whose live items
 * fall below 1/8 of usable is rebuilt at its next insertion once over
 * half its entries are used (so the rebuilds stay amortised) even before
 * they are full, so memory follows use. An
 * empty dict has no table until its first insertion; rc_dict_clear gives
 * the table back.
 *
 * Invariants (outside a call in progress):
 *   table == NULL  <=>  log2 == 0, used == nentries == 0
 *   used <= nentries <= usable(log2) < 2^log2
 *   slots holding an entry number or a dummy <= nentries, so every probe
 *     ends at an empty slot (a dummy may be reused by an insertion, which
 *     then also uses a new entry, keeping this)
 *   each live entry (key != NULL) is named by exactly one slot, found by
 *     probing from its hash; a hole (key == NULL, value == NULL) by none
 *   the dict owns one reference to each live key and value
 *   version changes whenever the set of keys or the table changes
 *     (insertion of a new key, deletion, clear, rebuild), not when a value
 *     is replaced: lookups that ran user code and iterators check it
 *
 * User code. Hashing or comparing keys of user types, and releasing a
 * replaced value, may run anything, including changes to this dict. So:
 * hashes are computed before the table is read; a comparison that may run
 * user code holds a reference to the stored key and afterwards checks the
 * version, restarting the lookup if the table changed (as CPython does);
 * old keys and values are released only once the dict is consistent.
 *
 * Collection. A dict is created untracked (RC_TYPE_UNTRACKED) and tracked
 * when it stores a key or value that is tracked or may become tracked (an
 * untracked dict: track_for, on every store), and the collector untracks
 * a dict that holds nothing tracked
 * (RC_TYPE_IMMUTABLE): CPython's dict untracking. A dict of ints and strs
 * is never looked at by the collector.
 */
#include <string.h>

#include "internal/types.h"

#define IX_EMPTY (-1)
#define IX_DUMMY (-2)
#define MIN_LOG2 3                    /* 8 slots, 5 entries */
#define USABLE(size) (((size) << 1) / 3)
#define MAX_RESTARTS 1000             /* lookups restarted by user code changing the dict */

typedef struct entry {
    int64_t hash;
    void *key;   /* NULL: a hole left by a deletion */
    void *value;
} entry;

typedef struct dict_obj {
    void *table;       /* NULL, or the indices then the entries (one block) */
    size_t used;       /* live items */
    size_t nentries;   /* entries[0, nentries) written, live or holes */
    uint32_t version;  /* changes with the keys or the table (see above) */
    uint8_t log2;      /* 2^log2 index slots (0: no table) */
    uint8_t shift;     /* an index takes 1 << shift bytes */
} dict_obj;

/* The iterators: one layout, three types. */
typedef struct dict_iter {
    dict_obj *dict;    /* NULL once exhausted (or failed) */
    size_t pos;        /* next entry to look at */
    size_t used;       /* dict->used when the iterator was made */
    uint32_t version;  /* dict->version then */
} dict_iter;

static void *dict_repr(const void *self);
static bool dict_equal(const void *a, const void *b);
static int dict_traverse(void *self, rc_visit_fn visit, void *arg);
static void dict_clear_slot(void *self);
static void *dict_iter_slot(void *self);

const rc_type rc_dict_type = {.name = "dict",
                              .size = sizeof(dict_obj),
                              .traverse = dict_traverse,
                              .clear = dict_clear_slot,
                              .destroy = dict_clear_slot,
                              .equal = dict_equal,
                              .repr = dict_repr,
                              .iter = dict_iter_slot,
                              .flags = RC_TYPE_BUILTIN | RC_TYPE_UNHASHABLE | RC_TYPE_UNTRACKED |
                                       RC_TYPE_IMMUTABLE};

static inline bool is_dict(const void *obj) {
    return RC_LIKELY(obj != NULL) && RC_LIKELY(_rc_head_type(_rc_head(obj)) == &rc_dict_type);
}

/* {==== the table ==== */

static inline size_t nslots(const dict_obj *d) { return d->table ? (size_t)1 << d->log2 : 0; }
static inline size_t usable(const dict_obj *d) { return USABLE(nslots(d)); }

static inline entry *entries_of(const dict_obj *d) { return (entry *)d->table; }
static inline void *indices_of(const dict_obj *d) { return (char *)d->table + usable(d) * sizeof(entry); }

static inline int64_t ix_get(const void *ix, unsigned shift, size_t i) {
    switch (shift) {
    case 0: return ((const int8_t *)ix)[i];
    case 1: return ((const int16_t *)ix)[i];
    case 2: return ((const int32_t *)ix)[i];
    default: return ((const int64_t *)ix)[i];
    }
}

static inline void ix_set(void *ix, unsigned shift, size_t i, int64_t v) {
    switch (shift) {
    case 0: ((int8_t *)ix)[i] = (int8_t)v; break;
    case 1: ((int16_t *)ix)[i] = (int16_t)v; break;
    case 2: ((int32_t *)ix)[i] = (int32_t)v; break;
    default: ((int64_t *)ix)[i] = v; break;
    }
}

/* Bytes per index for a table of 2^log2 slots: the entry numbers go up to
 * usable - 1 (85 for 128 slots, 21845 for 2^15, 1.4e9 for 2^31). */
static inline unsigned shift_for(unsigned log2) { return log2 <= 7 ? 0 : log2 <= 15 ? 1 : log2 <= 31 ? 2 : 3; }

/* The empty slot where an entry of hash h goes, in a table known not to
 * hold the key (no comparisons). */
static size_t find_empty(const dict_obj *d, int64_t h) {
    size_t mask = ((size_t)1 << d->log2) - 1, i = (size_t)h & mask;
    uint64_t perturb = (uint64_t)h;
    const void *ix = indices_of(d);
    while (ix_get(ix, d->shift, i) != IX_EMPTY) {
        perturb >>= 5;
        i = (i * 5 + perturb + 1) & mask;
    }
    return i;
}

/* Rebuild d with a table of the smallest power of two >= minsize slots (8
 * at least), the live entries copied over in order, compacted. 0, or -1
 * (out of memory: d unchanged). Runs no user code.
 *
 * (Growing the block in place with rc_realloc would save the copy, but a
 * large block grown that way keeps a quarter of headroom mapped, which
 * would cost 10 bytes an item more than CPython's table at 1M items.) */
static int resize(dict_obj *d, size_t minsize, const char *fn) {
    unsigned log2 = MIN_LOG2;
    while (((size_t)1 << log2) < minsize) {
        if (++log2 >= 8 * sizeof(size_t) - 6) {
            _rc_set_error("%s: dict too large", fn);
            return -1;
        }
    }
    size_t size = (size_t)1 << log2, use = USABLE(size);
    unsigned shift = shift_for(log2);
    size_t ixbytes = size << shift, bytes;
    if (__builtin_mul_overflow(use, sizeof(entry), &bytes) || __builtin_add_overflow(bytes, ixbytes, &bytes)) {
        _rc_set_error("%s: dict too large", fn);
        return -1;
    }
    entry *ents = rc_malloc(bytes);
    if (!ents) {
        _rc_set_error("%s: out of memory", fn);
        return -1;
    }
    if (d->table) {
        entry *src = entries_of(d);
        if (d->used == d->nentries) {
            memcpy(ents, src, d->used * sizeof(entry));
        } else {
            size_t j = 0;
            for (size_t i = 0; i < d->nentries; i++)
                if (src[i].key) ents[j++] = src[i];
        }
        rc_free(d->table);
    }
    d->table = ents;
    d->log2 = (uint8_t)log2;
    d->shift = (uint8_t)shift;
    d->nentries = d->used;
    d->version++;
    void *ix = indices_of(d);
    memset(ix, 0xff, ixbytes); /* every index IX_EMPTY */
    size_t mask = size - 1, n = d->used;
    /* the indices, one loop per width (the hot part of a growing dict) */
#define REBUILD(T)                                              \
    do {                                                        \
        T *x = ix;                                              \
        for (size_t j = 0; j < n; j++) {                        \
            size_t i = (size_t)ents[j].hash & mask;             \
            uint64_t perturb = (uint64_t)ents[j].hash;          \
            while (x[i] != IX_EMPTY) {                          \
                perturb >>= 5;                                  \
                i = (i * 5 + perturb + 1) & mask;               \
            }                                                   \
            x[i] = (T)j;                                        \
        }                                                       \
    } while (0)
    switch (shift) {
    case 0: REBUILD(int8_t); break;
    case 1: REBUILD(int16_t); break;
    case 2: REBUILD(int32_t); break;
    default: REBUILD(int64_t); break;
    }
#undef REBUILD
    return 0;
}

/*
 * Find key (hash h) in d. Returns the number of its entry and sets *slot
 * to the index slot naming it; or -1 when absent, *slot then being where
 * an insertion goes (the first dummy on the probe, else the empty slot
 * that ended it; meaningless while d has no table); or -2 on error (user
 * code kept changing d). Comparisons that may run user code hold a
 * reference to the stored key and restart the lookup if d changed.
 */
static int64_t find(dict_obj *d, const void *key, int64_t h, size_t *slot, const char *fn) {
    unsigned restarts = 0;
restart:
    if (!d->table) return -1;
    const void *ix = indices_of(d);
    unsigned shift = d->shift;
    entry *ents = entries_of(d);
    size_t mask = ((size_t)1 << d->log2) - 1, i = (size_t)h & mask, free_slot = SIZE_MAX;
    uint64_t perturb = (uint64_t)h;
    for (;;) {
        int64_t n = ix_get(ix, shift, i);
        if (n >= 0) {
            entry *e = &ents[n];
            if (e->key == key) {
                *slot = i;
                return n;
            }
            if (e->hash == h) {
                int eq = _rc_key_equal_fast(e->key, key);
                if (eq < 0) {
                    void *k = rc_incref(e->key);
                    uint32_t version = d->version;
                    eq = rc_equal(k, key);
                    rc_decref(k);
                    if (RC_UNLIKELY(d->version != version)) {
                        if (++restarts > MAX_RESTARTS) {
                            _rc_set_error("%s: dict changed during lookup too many times", fn);
                            return -2;
                        }
                        goto restart;
                    }
                }
                if (eq) {
                    *slot = i;
                    return n;
                }
            }
        } else if (n == IX_EMPTY) {
            *slot = free_slot != SIZE_MAX ? free_slot : i;
            return -1;
        } else if (free_slot == SIZE_MAX) {
            free_slot = i;
        }
        perturb >>= 5;
        i = (i * 5 + perturb + 1) & mask;
    }
}

/* Track d (if it is not) when it stores item and item is tracked, or is
 * an untracked object that may become tracked later (a dict, or another
 * object of an RC_TYPE_UNTRACKED type): CPython's
 * _PyObject_GC_MAY_BE_TRACKED. Otherwise a dict holding itself, or a dict
 * that gets a list later, would never be looked at by the collector. */
static inline void track_for(dict_obj *d, const void *item) {
    const rc_object_head *dh = _rc_head(d);
    if (RC_LIKELY(dh->type_bits & RC_TRACKED)) return;
    const rc_object_head *ih = _rc_head(item);
    const rc_type *t = _rc_head_type(ih);
    if (((ih->type_bits & RC_TRACKED) || ((t->flags & RC_TYPE_UNTRACKED) && t->traverse)) &&
        !(dh->type_bits & RC_DYING))
        rc_gc_track(d);
}

/* Store key -> value, key's hash being h. Own references are taken. 0, or
 * -1 on error (d unchanged). */
static int insert(dict_obj *d, void *key, int64_t h, void *value, const char *fn) {
    size_t slot = 0;
    int64_t n = find(d, key, h, &slot, fn);
    if (n >= 0) {
        entry *e = &entries_of(d)[n];
        void *old = e->value;
        e->value = rc_incref(value);
        track_for(d, value);
        rc_decref(old); /* last: may run user code */
        return 0;
    }
    if (n == -2) return -1;
    size_t use = usable(d);
    /* full entries; or mostly holes (deletions) and under 1/8 live: shrink */
    if (RC_UNLIKELY(d->nentries >= use) || RC_UNLIKELY(d->used < use / 8 && d->nentries > use / 2)) {
        if (resize(d, d->used * 3, fn) < 0) return -1;
        slot = find_empty(d, h);
    }
    size_t k = d->nentries++;
    ix_set(indices_of(d), d->shift, slot, (int64_t)k);
    entry *e = &entries_of(d)[k];
    e->hash = h;
    e->key = rc_incref(key);
    e->value = rc_incref(value);
    d->used++;
    d->version++;
    track_for(d, key);
    track_for(d, value);
    return 0;
}

/* Unlink the entry n named by index slot `slot`; its key and value
 * references pass to the caller, to release once nothing reads d. */
static void unlink_entry(dict_obj *d, size_t slot, int64_t n, void **key, void **value) {
    entry *e = &entries_of(d)[n];
    *key = e->key;
    *value = e->value;
    e->key = e->value = NULL;
    ix_set(indices_of(d), d->shift, slot, IX_DUMMY);
    d->used--;
    d->version++;
}

/* Empty d, then release what it held (which may run user code that fills d
 * again: that is a new table). */
static void clear_all(dict_obj *d) {
    void *t = d->table;
    if (!t) return;
    entry *ents = entries_of(d);
    size_t n = d->nentries;
    d->table = NULL;
    d->used = d->nentries = 0;
    d->log2 = d->shift = 0;
    d->version++;
    for (size_t i = 0; i < n; i++) {
        if (!ents[i].key) continue;
        rc_decref(ents[i].key);
        rc_decref(ents[i].value);
    }
    rc_free(t);
}
/* }==== */

/* {==== the validator ==== */

#define INVALID(...)                   \
    do {                               \
        _rc_set_error(__VA_ARGS__);    \
        return false;                  \
    } while (0)

bool _rc_dict_is_valid(const void *dict) {
    if (!_rc_expect("_rc_dict_is_valid", dict, &rc_dict_type, "a dict")) return false;
    const dict_obj *d = dict;
    if (!d->table) {
        if (d->log2 || d->shift || d->used || d->nentries) INVALID("dict: no table, but counts are set");
        return true;
    }
    size_t size = (size_t)1 << d->log2, mask = size - 1;
    if (d->log2 < MIN_LOG2 || d->shift != shift_for(d->log2))
        INVALID("dict: bad log2 %u / shift %u", d->log2, d->shift);
    if (!(d->used <= d->nentries && d->nentries <= USABLE(size) && USABLE(size) < size))
        INVALID("dict: used %zu, nentries %zu, usable %zu out of order", d->used, d->nentries, USABLE(size));
    const entry *ents = entries_of(d);
    size_t live = 0, taken = 0;
    for (size_t i = 0; i < d->nentries; i++) {
        if (!ents[i].key) {
            if (ents[i].value) INVALID("dict: hole %zu has a value", i);
            continue;
        }
        live++;
        if (!ents[i].value) INVALID("dict: entry %zu has no value", i);
        /* the probe from its hash reaches the slot naming it before an empty one */
        size_t j = (size_t)ents[i].hash & mask;
        uint64_t perturb = (uint64_t)ents[i].hash;
        for (size_t steps = 0;; steps++) {
            int64_t n = ix_get(indices_of(d), d->shift, j);
            if (n == (int64_t)i) break;
            if (n == IX_EMPTY || steps > 4 * size + 64) INVALID("dict: entry %zu cannot be found from its hash", i);
            perturb >>= 5;
            j = (j * 5 + perturb + 1) & mask;
        }
    }
    if (live != d->used) INVALID("dict: %zu live entries, used says %zu", live, d->used);
    for (size_t j = 0; j < size; j++) {
        int64_t n = ix_get(indices_of(d), d->shift, j);
        if (n == IX_EMPTY) continue;
        taken++;
        if (n == IX_DUMMY) continue;
        if (n < 0 || (size_t)n >= d->nentries || !ents[n].key)
            INVALID("dict: slot %zu names entry %lld", j, (long long)n);
    }
    /* live entries are each found from their own slot, so with used
     * entry-naming slots none is named twice */
    size_t naming = 0;
    for (size_t j = 0; j < size; j++) naming += ix_get(indices_of(d), d->shift, j) >= 0;
    if (naming != d->used) INVALID("dict: %zu slots name entries, %zu are live", naming, d->used);
    if (taken > d->nentries) INVALID("dict: %zu slots taken, more than %zu entries", taken, d->nentries);
    return true;
}
/* }==== */

/* {==== keys: checks and hashing ==== */

int64_t _rc_key_hash_slow(const char *fn, const void *key) {
    int64_t h = rc_hash(key);
    if (RC_UNLIKELY(h == -1)) {
        /* rc_hash says "rc_hash: unhashable type: 'list'": name fn instead */
        char msg[256];
        const char *e = rc_last_error();
        if (strncmp(e, "rc_hash: ", 9) == 0) e += 9;
        snprintf(msg, sizeof msg, "%s", e);
        _rc_set_error("%s: %s", fn, msg);
    }
    return h;
}

/* Check dict and key, and hash key: true with *h set, or false with
 * rc_last_error set. */
static inline bool prepare(const char *fn, const void *dict, const void *key, int64_t *h) {
    return _rc_key_prepare(fn, dict, &rc_dict_type, "a dict", key, "key", h);
}
/* }==== */

/* {==== the public functions ==== */

void *rc_dict_new(void) {
    RC_USER_FRAME();
    return rc_new(&rc_dict_type);
}

size_t rc_dict_len(const void *dict) {
    if (RC_UNLIKELY(!is_dict(dict))) {
        _rc_expect("rc_dict_len", dict, &rc_dict_type, "a dict");
        return 0;
    }
    return ((const dict_obj *)dict)->used;
}

int rc_dict_set(void *dict, void *key, void *value) {
    RC_USER_FRAME();
    int64_t h;
    if (!prepare("rc_dict_set", dict, key, &h)) return -1;
    if (RC_UNLIKELY(!value)) {
        _rc_set_error("rc_dict_set: value is NULL");
        return -1;
    }
    return insert(dict, key, h, value, "rc_dict_set");
}

/* The shared lookup of get, lookup and contains: the entry number or -1
 * (absent) or -2 (error). */
static inline int64_t lookup(const char *fn, const void *dict, const void *key) {
    int64_t h;
    if (!prepare(fn, dict, key, &h)) return -2;
    size_t slot;
    return find((dict_obj *)dict, key, h, &slot, fn);
}

void *rc_dict_get(const void *dict, const void *key) {
    int64_t n = lookup("rc_dict_get", dict, key);
    return n >= 0 ? entries_of(dict)[n].value : NULL;
}

int rc_dict_lookup(const void *dict, const void *key, void **value) {
    int64_t n = lookup("rc_dict_lookup", dict, key);
    if (n < 0) {
        if (value) *value = NULL;
        return n == -1 ? 0 : -1;
    }
    if (value) *value = entries_of(dict)[n].value;
    return 1;
}

int rc_dict_contains(const void *dict, const void *key) {
    int64_t n = lookup("rc_dict_contains", dict, key);
    return n >= 0 ? 1 : n == -1 ? 0 : -1;
}

/* Remove key; its value (a reference for the caller) in *value. 1 removed,
 * 0 absent, -1 error. */
static int remove_key(const char *fn, dict_obj *d, const void *key, void **value) {
    int64_t h;
    if (!prepare(fn, d, key, &h)) return -1;
    size_t slot;
    int64_t n = find(d, key, h, &slot, fn);
    if (n < 0) return n == -1 ? 0 : -1;
    void *k;
    unlink_entry(d, slot, n, &k, value);
    rc_decref(k);
    return 1;
}

void *rc_dict_pop(void *dict, const void *key) {
    RC_USER_FRAME();
    void *value = NULL;
    int r = remove_key("rc_dict_pop", dict, key, &value);
    if (r == 0) _rc_set_error("rc_dict_pop: key not found");
    return r == 1 ? value : NULL;
}

int rc_dict_del(void *dict, const void *key) {
    RC_USER_FRAME();
    void *value = NULL;
    int r = remove_key("rc_dict_del", dict, key, &value);
    if (r == 0) _rc_set_error("rc_dict_del: key not found");
    rc_decref(value);
    return r == 1 ? 0 : -1;
}

void rc_dict_clear(void *dict) {
    if (!_rc_expect("rc_dict_clear", dict, &rc_dict_type, "a dict")) return;
    clear_all(dict);
}

/*
 * Each key of other goes in with its stored hash (no rc_hash calls). Room
 * for all of other's items is made first, so the update cannot run out of
 * memory halfway; only user code (a key's equal) that changes other, or
 * fills dict past that room when memory then runs out, stops it early
 * (-1, the items stored so far kept).
 */
int rc_dict_update(void *dict, const void *other) {
    RC_USER_FRAME();
    if (!_rc_expect("rc_dict_update", dict, &rc_dict_type, "a dict") ||
        !_rc_expect("rc_dict_update", other, &rc_dict_type, "a dict"))
        return -1;
    dict_obj *d = dict, *o = (dict_obj *)other;
    if (d == o || o->used == 0) return 0;
    size_t want = d->used + o->used;
    if (usable(d) - d->nentries < o->used && resize(d, want * 3 / 2 + 1, "rc_dict_update") < 0) return -1;
    uint32_t version = o->version;
    for (size_t i = 0; i < o->nentries; i++) {
        entry *e = &entries_of(o)[i];
        if (!e->key) continue;
        void *k = rc_incref(e->key), *v = rc_incref(e->value);
        int r = insert(d, k, e->hash, v, "rc_dict_update");
        rc_decref(k);
        rc_decref(v);
        if (r < 0) return -1;
        if (RC_UNLIKELY(o->version != version)) {
            _rc_set_error("rc_dict_update: dictionary changed size during update");
            return -1;
        }
    }
    return 0;
}

/*
 * rc_dict_next's *pos: bits 0-39 the next entry to look at, bits 40-63 a
 * tag of the dict's version when the loop started (1..2^24-1; 0 before
 * the first call). A change to the keys between two calls changes the
 * version, so the tag no longer matches: the call fails. (A version that
 * moved by a multiple of 2^24 - 1 would go unseen: 16 million changes
 * between two steps of one loop.)
 */
#define POS_BITS 40
#define POS_MASK (((size_t)1 << POS_BITS) - 1)

bool rc_dict_next(const void *dict, size_t *pos, void **key, void **value) {
    if (!_rc_expect("rc_dict_next", dict, &rc_dict_type, "a dict")) return false;
    if (!pos) {
        _rc_set_error("rc_dict_next: pos is NULL");
        return false;
    }
    const dict_obj *d = dict;
    size_t tag = (size_t)(d->version % 0xFFFFFFu) + 1, i = *pos & POS_MASK, given = *pos >> POS_BITS;
    if (given == 0 && i != 0) {
        _rc_set_error("rc_dict_next: bad position %zu (start with 0)", *pos);
        return false;
    }
    if (given != 0 && given != tag) {
        _rc_set_error("rc_dict_next: dictionary changed during iteration");
        return false;
    }
    for (; i < d->nentries; i++) {
        entry *e = &entries_of(d)[i];
        if (!e->key) continue;
        if (key) *key = e->key;
        if (value) *value = e->value;
        *pos = tag << POS_BITS | (i + 1);
        return true;
    }
    *pos = tag << POS_BITS | i;
    return false;
}
/* }==== */

/* {==== the type's slots ==== */

static int dict_traverse(void *self, rc_visit_fn visit, void *arg) {
    dict_obj *d = self;
    if (!d->table) return 0;
    entry *ents = entries_of(d);
    for (size_t i = 0; i < d->nentries; i++) {
        if (!ents[i].key) continue;
        int r = visit(ents[i].key, arg);
        if (r) return r;
        if ((r = visit(ents[i].value, arg))) return r;
    }
    return 0;
}

/* clear and destroy: a destructor run by the release may store into the
 * dict again, so empty it until it stays empty. */
static void dict_clear_slot(void *self) {
    dict_obj *d = self;
    while (d->table) clear_all(d);
}

static bool dict_equal(const void *a, const void *b) {
    dict_obj *x = (dict_obj *)a, *y = (dict_obj *)b;
    if (x->used != y->used) return false;
    if (!_rc_recursion_enter("rc_equal")) return false;
    bool eq = true;
    /* x and y may change under the user code of rc_equal: re-read them */
    for (size_t i = 0; eq && i < x->nentries; i++) {
        entry *e = &entries_of(x)[i];
        if (!e->key) continue;
        void *k = rc_incref(e->key), *v = rc_incref(e->value);
        size_t slot;
        int64_t n = find(y, k, e->hash, &slot, "rc_equal");
        void *w = n >= 0 ? rc_incref(entries_of(y)[n].value) : NULL;
        eq = w && rc_equal(v, w);
        rc_decref(w);
        rc_decref(v);
        rc_decref(k);
    }
    if (eq && x->used != y->used) eq = false;
    _rc_recursion_leave();
    return eq;
}

static void *dict_repr(const void *self) {
    const dict_obj *d = self;
    int r = _rc_repr_enter(self);
    if (r < 0) return NULL;
    if (r > 0) return _rc_str_new_trusted("{...}", 5, 5);
    rc_sb sb;
    _rc_sb_init(&sb);
    _rc_sb_add(&sb, "{", 1);
    bool first = true;
    /* a repr of user code may change d: re-read it every step */
    for (size_t i = 0; i < d->nentries && !sb.failed; i++) {
        entry *e = &entries_of(d)[i];
        if (!e->key) continue;
        void *k = rc_incref(e->key), *v = rc_incref(e->value);
        if (!first) _rc_sb_add(&sb, ", ", 2);
        first = false;
        if (_rc_sb_add_repr(&sb, k)) {
            _rc_sb_add(&sb, ": ", 2);
            _rc_sb_add_repr(&sb, v);
        }
        rc_decref(k);
        rc_decref(v);
    }
    _rc_sb_add(&sb, "}", 1);
    _rc_repr_leave(self);
    return _rc_sb_finish(&sb);
}
/* }==== */

/* {==== iterators ==== */

static int dict_iter_traverse(void *self, rc_visit_fn visit, void *arg) {
    dict_iter *it = self;
    return it->dict ? visit(it->dict, arg) : 0;
}

static void dict_iter_clear(void *self) { RC_CLEAR(((dict_iter *)self)->dict); }

static int dict_iter_next(void *self, void **out);

#define DICT_ITER_TYPE(var, tname)                                                                  \
    static const rc_type var = {.name = tname,                                                     \
                                .size = sizeof(dict_iter),                                         \
                                .traverse = dict_iter_traverse,                                    \
                                .clear = dict_iter_clear,                                          \
                                .destroy = dict_iter_clear,                                        \
                                .next = dict_iter_next,                                            \
                                .flags = RC_TYPE_BUILTIN}
DICT_ITER_TYPE(keys_iter_type, "dict_keyiterator");
DICT_ITER_TYPE(values_iter_type, "dict_valueiterator");
DICT_ITER_TYPE(items_iter_type, "dict_itemiterator");

static int dict_iter_next(void *self, void **out) {
    dict_iter *it = self;
    dict_obj *d = it->dict;
    if (!d) return 0;
    if (RC_UNLIKELY(d->used != it->used || d->version != it->version)) {
        _rc_set_error(d->used != it->used ? "rc_next: dictionary changed size during iteration"
                                          : "rc_next: dictionary keys changed during iteration");
        RC_CLEAR(it->dict);
        return -1;
    }
    for (size_t i = it->pos; i < d->nentries; i++) {
        entry *e = &entries_of(d)[i];
        if (!e->key) continue;
        it->pos = i + 1;
        const rc_type *t = _rc_head_type(_rc_head(self));
        if (t == &keys_iter_type) {
            *out = rc_incref(e->key);
        } else if (t == &values_iter_type) {
            *out = rc_incref(e->value);
        } else {
            void *k = rc_incref(e->key), *v = rc_incref(e->value);
            *out = rc_tuple_pack(2, k, v); /* may collect, running user code: k, v held */
            rc_decref(k);
            rc_decref(v);
            if (!*out) {
                RC_CLEAR(it->dict);
                return -1;
            }
        }
        return 1;
    }
    it->pos = d->nentries;
    RC_CLEAR(it->dict);
    return 0;
}

static void *new_iter(const char *fn, void *dict, const rc_type *type) {
    if (!_rc_expect(fn, dict, &rc_dict_type, "a dict")) return NULL;
    dict_iter *it = rc_new(type);
    if (!it) return NULL;
    dict_obj *d = dict;
    it->dict = rc_incref(d);
    it->used = d->used;
    it->version = d->version;
    return it;
}

void *rc_dict_keys(void *dict) {
    RC_USER_FRAME();
    return new_iter("rc_dict_keys", dict, &keys_iter_type);
}
void *rc_dict_values(void *dict) {
    RC_USER_FRAME();
    return new_iter("rc_dict_values", dict, &values_iter_type);
}
void *rc_dict_items(void *dict) {
    RC_USER_FRAME();
    return new_iter("rc_dict_items", dict, &items_iter_type);
}

static void *dict_iter_slot(void *self) { return new_iter("rc_iter", self, &keys_iter_type); }
/* }==== */
