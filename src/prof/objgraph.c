/*
 * objgraph.c — live objects counted by type, as running counters
 * (objgraph.most_common_types, show_growth, count, by_type), and the
 * object hooks that keep them. The design essay is docs/objgraph.md.
 *
 * What is counted. The queries answer for the calling thread's world plus
 * the orphan world (objects of exited threads), as rc_gc_collect does.
 * Each world's objects are created and released on one thread at a time:
 * a thread's objects by that thread, orphans by whoever holds the orphan
 * lock. So the counters are kept per world with no atomics:
 *
 *   og_thread (one per thread, in TLS)   counts of its world's objects,
 *                                        its growth peaks, its leak region
 *   orphan_counts                        counts of the orphan world,
 *                                        under the orphan lock
 *
 * A table maps an rc_type pointer to {count, bytes} (open addressing on
 * the pointer, at most half full, rows never removed: a type seen once
 * stays known with count 0). Reports fold rows of one name together, as
 * objgraph counts by type name.
 *
 * How counting starts. Nothing is counted until the first query: then
 * _rc_objgraph_start sets the hook pointers (src/internal/object.h) and
 * only after that the RC_HOOK_OBJECTS bit of _rc_trace_on (rc_new and the
 * release take their hooked path while any bit is set; the untraced fast
 * path is untouched). A table is *seeded* by one walk of its world
 * (_rc_world_walk) the first time a query needs it; from then on the hooks
 * keep it exact:
 *
 *   new hook   (the creating thread, whose world the object joins)
 *              count[type] += 1, bytes[type] += rc_sizeof(obj)
 *   free hook  (after destroy; header still names the type)
 *              the object's world is the orphans': orphan_counts (the
 *              releasing thread holds the orphan lock); the calling
 *              thread's: its table; any other: ignored (a misuse)
 *
 * Seeding and hooks never race on a table: a thread's table is written by
 * its thread only, the orphan table under the orphan lock only. The bit
 * is set before the seeding walk, so an object created between the two is
 * seen by the walk and its earlier hook update is discarded with the
 * unseeded table. A thread that never queries keeps an unseeded table
 * (its updates are cheap and unused). A table that cannot grow (no
 * memory) drops its seed: the next query walks again.
 *
 * Threads that exit. world.c hands an exiting thread's objects to the
 * orphan world without telling anyone. Our thread state has a pthread key
 * whose destructor marks the orphan table dirty (the next query re-walks
 * the orphan world, once) — but only after the world has been handed over
 * (_rc_world_tls is NULL): if our destructor runs first, it re-arms itself
 * for the next round of destructors (POSIX runs them up to
 * PTHREAD_DESTRUCTOR_ITERATIONS times), so a query can never seed the
 * orphan table between the dirty mark and the hand-over and miss them.
 * So reads cost a table read, except the first query of a thread and the
 * first query after a thread exits (one walk of the orphan world).
 *
 * Growth. rc_objgraph_growth keeps, per thread, the peak count seen for
 * each type name at its calls, and reports the names whose count now
 * exceeds it (objgraph.growth's peak_stats): a type that shrank and grew
 * back is reported only when it passes its old peak.
 *
 * Leak regions (rc_leakcheck_begin/end, leakcheck.c) use the same hooks:
 * while a region is open, the thread's new hook adds the object to a
 * pointer set and the free hook removes it, so what remains at the end is
 * exactly what was created in between and is still alive, whatever the
 * addresses reused meanwhile.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal/prof_objgraph.h"

/* {==== tables: type -> count, bytes ==== */

typedef struct og_count {
    const rc_type *type; /* NULL: empty slot */
    int64_t count, bytes;
} og_count;

/* Invariant: used <= cap / 2; cap is 0 or a power of two. */
typedef struct og_table {
    og_count *slots;
    size_t cap, used;
    bool seeded; /* counts are exact (see the essay) */
} og_table;

static size_t hash_ptr(const void *p) {
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (size_t)x;
}

static og_count *table_slot(og_table *t, const rc_type *type) {
    size_t mask = t->cap - 1;
    for (size_t i = hash_ptr(type) & mask;; i = (i + 1) & mask)
        if (t->slots[i].type == type || t->slots[i].type == NULL) return &t->slots[i];
}

static bool table_grow(og_table *t) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    og_count *slots = rc_calloc(cap, sizeof *slots);
    if (!slots) return false;
    og_table nt = {slots, cap, 0, t->seeded};
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].type) {
            *table_slot(&nt, t->slots[i].type) = t->slots[i];
            nt.used++;
        }
    rc_free(t->slots);
    *t = nt;
    return true;
}

/* Add (count, bytes) to type's row. Out of memory: the table loses its
 * seed (the next query walks again). */
static void table_add(og_table *t, const rc_type *type, int64_t count, int64_t bytes) {
    if (t->used + 1 > t->cap / 2 && !table_grow(t)) {
        t->seeded = false;
        return;
    }
    og_count *c = table_slot(t, type);
    if (!c->type) {
        c->type = type;
        t->used++;
    }
    c->count += count;
    c->bytes += bytes;
}

static void table_clear(og_table *t) {
    if (t->slots) memset(t->slots, 0, t->cap * sizeof *t->slots);
    t->used = 0;
    t->seeded = false;
}

static void table_free(og_table *t) {
    rc_free(t->slots);
    *t = (og_table){0};
}

static void count_object(rc_object_head *h, void *arg) {
    table_add(arg, _rc_head_type(h), 1, (int64_t)rc_sizeof(_rc_payload(h)));
}

/* Seed t with a walk of w (NULL: no world yet, nothing to count). */
static void table_seed(og_table *t, rc_world *w) {
    table_clear(t);
    t->seeded = true;
    if (w) _rc_world_walk(w, count_object, t); /* table_add clears seeded on failure */
}
/* }==== */

/* {==== per-thread state, the orphan table, thread exit ==== */

/* A set of object pointers (open addressing; TOMB marks a removed one).
 * Invariant: used (live + tombstones) <= cap / 2. */
#define TOMB ((void *)1)
typedef struct og_set {
    void **slots;
    size_t cap, used, live;
} og_set;

typedef struct og_peak {
    char *name; /* rc_malloc'd copy */
    size_t peak;
} og_peak;

typedef struct og_thread {
    og_table counts;
    og_peak *peaks;
    size_t npeaks, peaks_cap;
    og_set region;
    bool region_open, region_lost;
    unsigned rearmed; /* destructor rounds waited for the world hand-over */
} og_thread;

static __thread og_thread *og_tls;
static __thread bool og_exited; /* the destructor has run: keep no state */
static pthread_key_t og_key;
static pthread_once_t og_once = PTHREAD_ONCE_INIT;

/* Under the orphan lock. */
static og_table orphan_counts;
static _Atomic(bool) orphans_dirty;

static void peaks_free(og_thread *t) {
    for (size_t i = 0; i < t->npeaks; i++) rc_free(t->peaks[i].name);
    rc_free(t->peaks);
    t->peaks = NULL;
    t->npeaks = t->peaks_cap = 0;
}

static void thread_exit(void *arg) {
    og_thread *t = arg;
    if (_rc_world_tls && t->rearmed < 3) {
        /* the world is not handed to the orphans yet: wait a round */
        t->rearmed++;
        pthread_setspecific(og_key, t);
        return;
    }
    _rc_orphans_lock();
    atomic_store(&orphans_dirty, true);
    _rc_orphans_unlock();
    og_tls = NULL;
    og_exited = true;
    table_free(&t->counts);
    peaks_free(t);
    rc_free(t->region.slots);
    rc_free(t);
}

static void hook_new(void *obj);
static void hook_free(void *obj);

static void start_once(void) {
    pthread_key_create(&og_key, thread_exit);
    _rc_object_new_hook = hook_new;
    _rc_object_free_hook = hook_free;
    atomic_fetch_or(&_rc_trace_on, RC_HOOK_OBJECTS);
}

void _rc_objgraph_start(void) { pthread_once(&og_once, start_once); }

/* The calling thread's state, made on first use; NULL when out of memory
 * or after the thread's destructor ran. */
static og_thread *thread_state(void) {
    og_thread *t = og_tls;
    if (RC_LIKELY(t != NULL) || og_exited) return t;
    _rc_objgraph_start();
    t = rc_calloc(1, sizeof *t);
    if (!t) return NULL;
    og_tls = t;
    pthread_setspecific(og_key, t);
    return t;
}
/* }==== */

/* {==== the hooks ==== */

static bool set_add(og_set *s, void *p);
static void set_remove(og_set *s, const void *p);

static void hook_new(void *obj) {
    og_thread *t = thread_state();
    if (!t) return;
    table_add(&t->counts, _rc_head_type(_rc_head(obj)), 1, (int64_t)rc_sizeof(obj));
    if (t->region_open && !set_add(&t->region, obj)) t->region_lost = true;
}

static void hook_free(void *obj) {
    rc_object_head *h = _rc_head(obj);
    rc_world *w = _rc_world_of(h);
    const rc_type *type = _rc_head_type(h);
    int64_t size = (int64_t)rc_sizeof(obj);
    if (w->orphan) {
        table_add(&orphan_counts, type, -1, -size); /* the release holds the orphan lock */
        return;
    }
    og_thread *t = og_tls;
    if (w != _rc_world_tls || !t) return;
    table_add(&t->counts, type, -1, -size);
    if (t->region_open) set_remove(&t->region, obj);
}
/* }==== */

/* {==== pointer sets (leak regions) ==== */

static size_t set_index(const og_set *s, const void *p, bool for_insert) {
    size_t mask = s->cap - 1, tomb = SIZE_MAX;
    for (size_t i = hash_ptr(p) & mask;; i = (i + 1) & mask) {
        void *q = s->slots[i];
        if (q == p) return i;
        if (q == TOMB && tomb == SIZE_MAX) tomb = i;
        if (q == NULL) return for_insert && tomb != SIZE_MAX ? tomb : i;
    }
}

static bool set_rehash(og_set *s) {
    size_t cap = s->cap ? s->cap : 64;
    while (s->live + 1 > cap / 4) cap *= 2;
    void **slots = rc_calloc(cap, sizeof *slots);
    if (!slots) return false;
    og_set ns = {slots, cap, 0, 0};
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i] && s->slots[i] != TOMB) {
            ns.slots[set_index(&ns, s->slots[i], true)] = s->slots[i];
            ns.used++;
            ns.live++;
        }
    rc_free(s->slots);
    *s = ns;
    return true;
}

static bool set_add(og_set *s, void *p) {
    if (s->used + 1 > s->cap / 2 && !set_rehash(s)) return false;
    size_t i = set_index(s, p, true);
    if (s->slots[i] == p) return true;
    if (s->slots[i] == NULL) s->used++;
    s->slots[i] = p;
    s->live++;
    return true;
}

static void set_remove(og_set *s, const void *p) {
    if (!s->cap) return;
    size_t i = set_index(s, p, false);
    if (s->slots[i] != p) return;
    s->slots[i] = TOMB;
    s->live--;
}

int _rc_objgraph_region_open(void) {
    og_thread *t = thread_state();
    if (!t) {
        _rc_set_error("rc_leakcheck_begin: out of memory");
        return -1;
    }
    if (t->region_open) {
        _rc_set_error("rc_leakcheck_begin: a leak check is already running on this thread");
        return -1;
    }
    rc_free(t->region.slots);
    t->region = (og_set){0};
    if (!set_rehash(&t->region)) {
        _rc_set_error("rc_leakcheck_begin: out of memory");
        return -1;
    }
    t->region_lost = false;
    t->region_open = true;
    return 0;
}

int _rc_objgraph_region_close(rc_vec *out) {
    og_thread *t = og_tls;
    *out = (rc_vec){0};
    if (!t || !t->region_open) return -1;
    t->region_open = false;
    int rc = t->region_lost ? -2 : 0;
    if (rc == 0 && !_rc_vec_reserve(out, t->region.live)) rc = -2;
    if (rc == 0)
        for (size_t i = 0; i < t->region.cap; i++) {
            void *p = t->region.slots[i];
            if (p && p != TOMB) out->items[out->len++] = p;
        }
    rc_free(t->region.slots);
    t->region = (og_set){0};
    return rc;
}
/* }==== */

/* {==== reading the counters ==== */

/* The rows of both worlds folded by name, in *rows (rc_malloc'd): counts
 * may be 0. Seeds what needs it. false with rc_last_error set. */
static bool gather(const char *fn, rc_objgraph_row **rows, size_t *n) {
    og_thread *t = thread_state();
    if (!t) {
        _rc_set_error("%s: out of memory", fn);
        return false;
    }
    if (!t->counts.seeded) table_seed(&t->counts, _rc_world_tls);
    if (!t->counts.seeded) {
        _rc_set_error("%s: out of memory", fn);
        return false;
    }
    _rc_orphans_lock();
    if (atomic_exchange(&orphans_dirty, false) || !orphan_counts.seeded) table_seed(&orphan_counts, &_rc_orphans);
    bool ok = orphan_counts.seeded;
    size_t cap = t->counts.used + orphan_counts.used, len = 0;
    rc_objgraph_row *r = ok && cap ? rc_malloc(cap * sizeof *r) : NULL;
    if (cap && !r) ok = false;
    const og_table *tables[2] = {&t->counts, &orphan_counts};
    for (int k = 0; k < 2 && ok; k++)
        for (size_t i = 0; i < tables[k]->cap; i++) {
            const og_count *c = &tables[k]->slots[i];
            if (!c->type) continue;
            const char *name = _rc_type_name(c->type);
            size_t j = 0;
            while (j < len && strcmp(r[j].name, name) != 0) j++;
            if (j == len) r[len++] = (rc_objgraph_row){name, 0, 0, 0};
            /* a count is below 0 only transiently (see the essay) */
            r[j].count = (size_t)((int64_t)r[j].count + c->count);
            r[j].bytes = (size_t)((int64_t)r[j].bytes + c->bytes);
        }
    _rc_orphans_unlock();
    if (!ok) {
        rc_free(r);
        _rc_set_error("%s: out of memory", fn);
        return false;
    }
    for (size_t j = 0; j < len; j++)
        if ((int64_t)r[j].count < 0) r[j].count = r[j].bytes = 0;
    *rows = r;
    *n = len;
    return true;
}

static int by_count(const void *a, const void *b) {
    const rc_objgraph_row *x = a, *y = b;
    if (x->count != y->count) return x->count < y->count ? 1 : -1;
    return strcmp(x->name, y->name);
}

static int by_delta(const void *a, const void *b) {
    const rc_objgraph_row *x = a, *y = b;
    if (x->delta != y->delta) return x->delta < y->delta ? 1 : -1;
    return strcmp(x->name, y->name);
}

/* Keep rows with count > 0 (or grown), sort, cut at limit, hand out. */
static int64_t hand_rows(rc_objgraph_row *r, size_t len, size_t limit, bool growth, rc_objgraph_row **out) {
    size_t k = 0;
    for (size_t j = 0; j < len; j++)
        if (growth ? r[j].delta > 0 : r[j].count > 0) r[k++] = r[j];
    qsort(r, k, sizeof *r, growth ? by_delta : by_count);
    if (limit && k > limit) k = limit;
    if (k == 0) {
        rc_free(r);
        r = NULL;
    }
    *out = r;
    return (int64_t)k;
}

int64_t rc_objgraph_most_common_types(size_t n, rc_objgraph_row **out) {
    if (!out) {
        _rc_set_error("rc_objgraph_most_common_types: out is NULL");
        return -1;
    }
    *out = NULL;
    rc_objgraph_row *r;
    size_t len;
    if (!gather("rc_objgraph_most_common_types", &r, &len)) return -1;
    return hand_rows(r, len, n, false, out);
}

int rc_objgraph_type_stats(const char *name, size_t *count, size_t *bytes) {
    static const char *const fn = "rc_objgraph_type_stats";
    if (!name) {
        _rc_set_error("%s: name is NULL", fn);
        return -1;
    }
    rc_objgraph_row *r;
    size_t len;
    if (!gather(fn, &r, &len)) return -1;
    size_t j = 0;
    while (j < len && strcmp(r[j].name, name) != 0) j++;
    if (j == len) {
        rc_free(r);
        _rc_set_error("%s: unknown type '%.200s' (no object of that name since counting started)", fn, name);
        return -1;
    }
    if (count) *count = r[j].count;
    if (bytes) *bytes = r[j].bytes;
    rc_free(r);
    return 0;
}

int64_t rc_objgraph_count(const char *name) {
    size_t count;
    if (!name) {
        _rc_set_error("rc_objgraph_count: name is NULL");
        return -1;
    }
    if (rc_objgraph_type_stats(name, &count, NULL) < 0) {
        _rc_set_error("rc_objgraph_count: unknown type '%.200s' (no object of that name since counting started)",
                      name);
        return -1;
    }
    return (int64_t)count;
}

typedef struct by_type_ctx {
    const char *name;
    rc_vec list;
    bool oom;
} by_type_ctx;

static void gather_named(rc_object_head *h, void *arg) {
    by_type_ctx *c = arg;
    if ((h->type_bits & RC_DYING) || strcmp(_rc_type_name(_rc_head_type(h)), c->name) != 0) return;
    if (!_rc_vec_push(&c->list, _rc_payload(h))) c->oom = true;
}

int64_t rc_objgraph_by_type(const char *name, rc_visit_fn fn, void *arg) {
    static const char *const me = "rc_objgraph_by_type";
    if (!name) {
        _rc_set_error("%s: name is NULL", me);
        return -1;
    }
    if (rc_objgraph_type_stats(name, NULL, NULL) < 0) {
        _rc_set_error("%s: unknown type '%.200s' (no object of that name since counting started)", me, name);
        return -1;
    }
    by_type_ctx c = {name, {0}, false};
    if (_rc_world_tls) _rc_world_walk(_rc_world_tls, gather_named, &c);
    _rc_orphans_lock();
    _rc_world_walk(&_rc_orphans, gather_named, &c);
    /* held before the lock goes, so no orphan dies between */
    for (size_t i = 0; i < c.list.len && !c.oom; i++) rc_incref(c.list.items[i]);
    _rc_orphans_unlock();
    if (c.oom) {
        _rc_vec_free(&c.list);
        _rc_set_error("%s: out of memory", me);
        return -1;
    }
    bool stopped = fn == NULL;
    for (size_t i = 0; i < c.list.len && !stopped; i++) stopped = fn(c.list.items[i], arg) != 0;
    for (size_t i = 0; i < c.list.len; i++) rc_decref(c.list.items[i]);
    int64_t n = (int64_t)c.list.len;
    _rc_vec_free(&c.list);
    return n;
}
/* }==== */

/* {==== growth ==== */

int64_t rc_objgraph_growth(size_t limit, rc_objgraph_row **out) {
    static const char *const fn = "rc_objgraph_growth";
    if (!out) {
        _rc_set_error("%s: out is NULL", fn);
        return -1;
    }
    *out = NULL;
    rc_objgraph_row *r;
    size_t len;
    if (!gather(fn, &r, &len)) return -1;
    og_thread *t = og_tls;
    for (size_t j = 0; j < len; j++) {
        size_t i = 0;
        while (i < t->npeaks && strcmp(t->peaks[i].name, r[j].name) != 0) i++;
        if (i == t->npeaks) {
            if (r[j].count == 0) continue;
            if (t->npeaks == t->peaks_cap) {
                size_t cap = t->peaks_cap ? t->peaks_cap * 2 : 32;
                og_peak *p = rc_realloc(t->peaks, cap * sizeof *p);
                if (!p) goto oom;
                t->peaks = p;
                t->peaks_cap = cap;
            }
            char *copy = rc_malloc(strlen(r[j].name) + 1);
            if (!copy) goto oom;
            strcpy(copy, r[j].name);
            t->peaks[t->npeaks++] = (og_peak){copy, 0};
        }
        if (r[j].count > t->peaks[i].peak) {
            r[j].delta = (int64_t)(r[j].count - t->peaks[i].peak);
            t->peaks[i].peak = r[j].count;
        }
    }
    return hand_rows(r, len, limit, true, out);
oom:
    rc_free(r);
    _rc_set_error("%s: out of memory", fn);
    return -1;
}

/* Print rows: objgraph's "%-*s %i" (most common) or "%-*s%9d %+9d"
 * (growth), to out or through the message path. */
static int print_rows(const char *fn, const rc_objgraph_row *r, int64_t n, bool growth, FILE *out) {
    int width = 0;
    for (int64_t j = 0; j < n; j++) {
        int w = (int)strnlen(r[j].name, 200);
        if (w > width) width = w;
    }
    for (int64_t j = 0; j < n; j++) {
        if (out) {
            int wr = growth ? fprintf(out, "%-*.200s%9zu %+9lld\n", width, r[j].name, r[j].count, (long long)r[j].delta)
                            : fprintf(out, "%-*.200s %zu\n", width, r[j].name, r[j].count);
            if (wr < 0) {
                _rc_set_error("%s: cannot write: %s", fn, strerror(errno));
                return -1;
            }
        } else if (growth) {
            _rc_message("%-*.200s%9zu %+9lld", width, r[j].name, r[j].count, (long long)r[j].delta);
        } else {
            _rc_message("%-*.200s %zu", width, r[j].name, r[j].count);
        }
    }
    if (out && fflush(out) != 0) {
        _rc_set_error("%s: cannot write: %s", fn, strerror(errno));
        return -1;
    }
    return 0;
}

int rc_objgraph_show_most_common_types(size_t n, FILE *out) {
    rc_objgraph_row *r;
    int64_t k = rc_objgraph_most_common_types(n, &r);
    if (k < 0) {
        _rc_set_error("rc_objgraph_show_most_common_types: out of memory");
        return -1;
    }
    int rc = print_rows("rc_objgraph_show_most_common_types", r, k, false, out);
    rc_free(r);
    return rc;
}

int rc_objgraph_show_growth(size_t limit, FILE *out) {
    rc_objgraph_row *r;
    int64_t k = rc_objgraph_growth(limit, &r);
    if (k < 0) {
        _rc_set_error("rc_objgraph_show_growth: out of memory");
        return -1;
    }
    int rc = print_rows("rc_objgraph_show_growth", r, k, true, out);
    rc_free(r);
    return rc;
}
/* }==== */

bool _rc_objgraph_region_active(void) { return og_tls && og_tls->region_open; }
