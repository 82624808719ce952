/*
 * gc.c — the collector's surface: Python's gc module for C. The algorithm
 * is collect.c; the essay docs/gc.md.
 *
 * When collections happen. As in CPython 3.11: rc_new of an object whose
 * type has traverse counts it in count[0]; when count[0] passes threshold
 * 0 (and collection is enabled, threshold 0 is not 0, and no collection is
 * running), the oldest generation g whose count[g] passes threshold[g] is
 * collected, except that generation 2 waits until the objects promoted
 * into it since the last full collection (long_lived_pending) exceed a
 * quarter of those that survived it (long_lived_total). A collection of g
 * adds one to count[g + 1] and zeroes count[0..g].
 *
 * Explicit rc_gc_collect also collects the orphan world (objects of exited
 * threads) under the orphan lock; automatic collections do not, since
 * they run inside rc_new while other threads may be using orphans.
 *
 * Re-entry. A world's `collecting` flag is set for the whole of a
 * collection, callbacks included, so a collection requested from a
 * callback, finalizer, clear, destroy or weak-reference callback returns 0
 * and starts nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal/gc.h"

/* {==== callbacks (process-wide) ==== */

typedef struct cb_entry {
    rc_gc_callback fn;
    void *arg;
} cb_entry;

static pthread_mutex_t cb_lock = PTHREAD_MUTEX_INITIALIZER;
static cb_entry *cbs;
static size_t ncbs, capcbs;

/* fork: the object layers' locks, in the order they nest (object.h) */
static void fork_prepare(void) {
    _rc_world_fork_prepare();
    pthread_mutex_lock(&cb_lock);
    _rc_weakref_fork_prepare();
    _rc_object_fork_prepare();
}

static void fork_release(void) {
    _rc_object_fork_parent();
    _rc_weakref_fork_parent();
    pthread_mutex_unlock(&cb_lock);
    _rc_world_fork_parent();
}

/* In the child, the heap layer (whose handler runs first) marked every heap
 * but the forking thread's malloc heap lost; that thread's object heap
 * lives on with it. */
static void fork_child(void) {
    fork_release();
    if (_rc_world_tls) _rc_world_tls->heap->lost = false;
}

static void atfork_register(void) { pthread_atfork(fork_prepare, fork_release, fork_child); }
void (*_rc_object_atfork_hook)(void) = atfork_register;

int rc_gc_callback_add(rc_gc_callback fn, void *arg) {
    if (!fn) {
        _rc_set_error("rc_gc_callback_add: callback is NULL");
        return -1;
    }
    pthread_mutex_lock(&cb_lock);
    if (ncbs == capcbs) {
        size_t cap = capcbs ? capcbs * 2 : 8;
        cb_entry *n = rc_realloc(cbs, cap * sizeof *n);
        if (!n) {
            pthread_mutex_unlock(&cb_lock);
            _rc_set_error("rc_gc_callback_add: out of memory");
            return -1;
        }
        cbs = n;
        capcbs = cap;
    }
    cbs[ncbs++] = (cb_entry){fn, arg};
    pthread_mutex_unlock(&cb_lock);
    return 0;
}

int rc_gc_callback_remove(rc_gc_callback fn, void *arg) {
    pthread_mutex_lock(&cb_lock);
    for (size_t i = 0; i < ncbs; i++)
        if (cbs[i].fn == fn && cbs[i].arg == arg) {
            memmove(&cbs[i], &cbs[i + 1], (ncbs - i - 1) * sizeof *cbs);
            ncbs--;
            pthread_mutex_unlock(&cb_lock);
            return 0;
        }
    pthread_mutex_unlock(&cb_lock);
    _rc_set_error("rc_gc_callback_remove: no callback %p registered with arg %p", (void *)(uintptr_t)fn, arg);
    return -1;
}

/* Call the callbacks registered now, in order, outside the lock. */
static void invoke_callbacks(rc_gc_phase phase, const rc_gc_info *info) {
    cb_entry local[16], *list = local;
    pthread_mutex_lock(&cb_lock);
    size_t n = ncbs;
    if (n > 16) list = rc_malloc(n * sizeof *list);
    if (list && n) memcpy(list, cbs, n * sizeof *list);
    pthread_mutex_unlock(&cb_lock);
    if (!list) return;
    for (size_t i = 0; i < n; i++) list[i].fn(phase, info, list[i].arg);
    if (list != local) rc_free(list);
}
/* }==== */

/* {==== collections ==== */

/* Collect the orphan world (lock taken here). Returns the objects freed. */
static size_t collect_orphans(unsigned debug, size_t *uncollectable) {
    *uncollectable = 0;
    _rc_orphans_lock();
    rc_world *o = &_rc_orphans;
    size_t n = 0;
    if (!o->collecting && (o->heaps.len != 0 || o->large != NULL)) {
        o->collecting = true;
        for (size_t i = 0; i < o->heaps.len; i++) _rc_heap_reclaim(o->heaps.items[i], true);
        n = _rc_gc_collect_world(o, 2, debug, uncollectable);
        size_t kept = 0;
        for (size_t i = 0; i < o->heaps.len; i++) {
            rc_heap *h = o->heaps.items[i];
            _rc_heap_reclaim(h, true);
            if (_rc_heap_is_unused(h)) _rc_heap_recycle(h);
            else o->heaps.items[kept++] = h;
        }
        o->heaps.len = kept;
        o->collecting = false;
    }
    _rc_orphans_unlock();
    return n;
}

static size_t collect_with_callbacks(rc_world *w, int gen, bool orphans) {
    unsigned debug = atomic_load_explicit(&_rc_gc_debug, memory_order_relaxed);
    w->collecting = true;
    rc_release_state outer;
    _rc_release_suspend(&outer);
    rc_gc_info info = {.generation = gen};
    invoke_callbacks(RC_GC_START, &info);
    uint64_t t0 = _rc_now_ns();
    if (debug & RC_GC_DEBUG_STATS) {
        _rc_message("gc: collecting generation %d...", gen);
        _rc_message("gc: objects in each generation: %zu %zu %zu", w->gen_size[0], w->gen_size[1], w->gen_size[2]);
        _rc_message("gc: objects in permanent generation: %zu", w->gen_size[3]);
    }
    if (gen + 1 < 3) w->count[gen + 1]++;
    for (int i = 0; i <= gen; i++) w->count[i] = 0;
    size_t uncollectable = 0, orphan_unc = 0;
    size_t collected = _rc_gc_collect_world(w, gen, debug, &uncollectable);
    if (orphans) {
        collected += collect_orphans(debug, &orphan_unc);
        uncollectable += orphan_unc;
    }
    uint64_t dt = _rc_now_ns() - t0;
    w->stats[gen].collections++;
    w->stats[gen].collected += collected;
    w->stats[gen].uncollectable += uncollectable;
    if (debug & RC_GC_DEBUG_STATS)
        _rc_message("gc: done, %zu unreachable, %zu uncollectable, %.4fs elapsed", collected + uncollectable,
                    uncollectable, (double)dt / 1e9);
    info.collected = collected;
    info.uncollectable = uncollectable;
    info.duration_ns = dt;
    invoke_callbacks(RC_GC_STOP, &info);
    _rc_release_resume(&outer);
    w->collecting = false;
    return collected + uncollectable;
}

/* rc_new's automatic collection (count[0] passed threshold 0). */
static void collect_generations(rc_world *w) {
    for (int i = 2; i >= 0; i--) {
        if (w->count[i] <= atomic_load_explicit(&_rc_gc_threshold[i], memory_order_relaxed)) continue;
        if (i == 2 && w->long_lived_pending < w->long_lived_total / 4) continue;
        collect_with_callbacks(w, i, false);
        break;
    }
}

void (*_rc_gc_auto_hook)(rc_world *w) = collect_generations;

size_t rc_gc_collect(int generation) {
    if (generation < -1 || generation > 2) {
        _rc_set_error("rc_gc_collect: generation %d is not 0, 1, 2 or -1", generation);
        return 0;
    }
    rc_world *w = _rc_world_get();
    if (!w) {
        _rc_set_error("rc_gc_collect: out of memory");
        return 0;
    }
    if (w->collecting || (_rc_orphans_held() && _rc_orphans.collecting)) return 0;
    return collect_with_callbacks(w, generation < 0 ? 2 : generation, true);
}
/* }==== */

/* {==== settings ==== */

void rc_gc_enable(void) {
    _rc_gc_settings_init();
    atomic_store(&_rc_gc_enabled, true);
    _rc_gc_settings_changed();
}

void rc_gc_disable(void) {
    _rc_gc_settings_init();
    atomic_store(&_rc_gc_enabled, false);
    _rc_gc_settings_changed();
}

bool rc_gc_isenabled(void) {
    _rc_gc_settings_init();
    return atomic_load(&_rc_gc_enabled);
}

void rc_gc_get_threshold(size_t threshold[3]) {
    _rc_gc_settings_init();
    if (!threshold) return;
    for (int i = 0; i < 3; i++) threshold[i] = atomic_load(&_rc_gc_threshold[i]);
}

void rc_gc_set_threshold(size_t t0, size_t t1, size_t t2) {
    _rc_gc_settings_init();
    atomic_store(&_rc_gc_threshold[0], t0);
    atomic_store(&_rc_gc_threshold[1], t1);
    atomic_store(&_rc_gc_threshold[2], t2);
    _rc_gc_settings_changed();
}

void rc_gc_set_debug(unsigned flags) {
    _rc_gc_settings_init();
    atomic_store(&_rc_gc_debug, flags);
}

unsigned rc_gc_get_debug(void) {
    _rc_gc_settings_init();
    return atomic_load(&_rc_gc_debug);
}

void rc_gc_get_count(size_t count[3]) {
    if (!count) return;
    rc_world *w = _rc_world_tls;
    for (int i = 0; i < 3; i++) count[i] = w ? w->count[i] : 0;
}

void rc_gc_get_stats(rc_gc_stats stats[3]) {
    if (!stats) return;
    rc_world *w = _rc_world_tls;
    for (int i = 0; i < 3; i++) stats[i] = w ? w->stats[i] : (rc_gc_stats){0};
}
/* }==== */

/* {==== tracking ==== */

void rc_gc_track(void *obj) {
    if (!obj) return;
    rc_object_head *h = _rc_head(obj);
    if (!_rc_head_type(h)->traverse) {
        _rc_set_error("rc_gc_track: type %s has no traverse, so its objects cannot be tracked",
                      _rc_type_name(_rc_head_type(h)));
        return;
    }
    if (h->type_bits & (RC_TRACKED | RC_DYING)) return;
    rc_world *w = _rc_world_of(h);
    if (w->orphan) _rc_orphans_lock();
    _rc_world_track(w, h);
    if (w->orphan) _rc_orphans_unlock();
}

void rc_gc_untrack(void *obj) {
    if (!obj) return;
    rc_object_head *h = _rc_head(obj);
    if (!(h->type_bits & RC_TRACKED)) return;
    rc_world *w = _rc_world_of(h);
    if (w->orphan) _rc_orphans_lock();
    _rc_world_untrack(w, h);
    if (w->orphan) _rc_orphans_unlock();
}

bool rc_gc_is_tracked(const void *obj) { return obj && (_rc_head(obj)->type_bits & RC_TRACKED); }

bool rc_gc_is_finalized(const void *obj) { return obj && (_rc_head(obj)->type_bits & RC_FINALIZED); }
/* }==== */

/* {==== freeze ==== */

static void set_gen_from(rc_object_head *h, void *arg) {
    unsigned *fromto = arg;
    if ((h->type_bits & (RC_TRACKED | RC_IN_COLLECTION)) == RC_TRACKED && _rc_head_gen(h) == fromto[0])
        _rc_head_set_gen(h, fromto[1]);
}

void rc_gc_freeze(void) {
    rc_world *w = _rc_world_tls;
    if (!w) return;
    unsigned fromto[2] = {2, RC_GEN_PERMANENT};
    _rc_world_walk(w, set_gen_from, fromto);
    for (unsigned g = 0; g < 2; g++) {
        for (size_t i = 0; i < w->young[g].len; i++)
            if (w->young[g].items[i]) _rc_head_set_gen(_rc_head(w->young[g].items[i]), RC_GEN_PERMANENT);
        w->young[g].len = 0;
    }
    w->gen_size[3] += w->gen_size[0] + w->gen_size[1] + w->gen_size[2];
    w->gen_size[0] = w->gen_size[1] = w->gen_size[2] = 0;
    w->count[0] = 0;
}

void rc_gc_unfreeze(void) {
    rc_world *w = _rc_world_tls;
    if (!w || !w->gen_size[3]) return;
    unsigned fromto[2] = {RC_GEN_PERMANENT, 2};
    _rc_world_walk(w, set_gen_from, fromto);
    w->gen_size[2] += w->gen_size[3];
    w->gen_size[3] = 0;
}

size_t rc_gc_get_freeze_count(void) {
    rc_world *w = _rc_world_tls;
    return w ? w->gen_size[3] : 0;
}
/* }==== */

/* {==== walks handing objects to the user ==== */

/* Hand each object of list to fn (borrowed: the walk holds a reference to
 * each, so fn may drop others) until fn returns nonzero; free the list.
 * Returns its length. */
static size_t hand_out(rc_vec *list, rc_visit_fn fn, void *arg) {
    for (size_t i = 0; i < list->len; i++) rc_incref(list->items[i]);
    bool stopped = fn == NULL;
    for (size_t i = 0; i < list->len && !stopped; i++) stopped = fn(list->items[i], arg) != 0;
    for (size_t i = 0; i < list->len; i++) rc_decref(list->items[i]);
    size_t n = list->len;
    _rc_vec_free(list);
    return n;
}

typedef struct gather_ctx {
    rc_vec *list;
    int generation;
    bool oom;
} gather_ctx;

static void gather_tracked(rc_object_head *h, void *arg) {
    gather_ctx *c = arg;
    if ((h->type_bits & (RC_TRACKED | RC_IN_COLLECTION | RC_DYING)) != RC_TRACKED) return;
    unsigned g = _rc_head_gen(h);
    if (g == RC_GEN_PERMANENT || (c->generation >= 0 && g != (unsigned)c->generation)) return;
    if (!_rc_vec_push(c->list, _rc_payload(h))) c->oom = true;
}

size_t rc_gc_get_objects(int generation, rc_visit_fn fn, void *arg) {
    if (generation < -1 || generation > 2) {
        _rc_set_error("rc_gc_get_objects: generation %d is not 0, 1, 2 or -1", generation);
        return 0;
    }
    rc_world *w = _rc_world_tls;
    if (!w) return 0;
    rc_vec list = {0};
    gather_ctx c = {&list, generation, false};
    if (generation == 0 || generation == 1) {
        rc_vec *y = &w->young[generation];
        c.oom = !_rc_vec_reserve(&list, y->len);
        for (size_t i = 0; i < y->len && !c.oom; i++)
            if (y->items[i] && !(_rc_head(y->items[i])->type_bits & RC_DYING)) list.items[list.len++] = y->items[i];
    } else {
        _rc_world_walk(w, gather_tracked, &c);
    }
    if (c.oom) {
        _rc_vec_free(&list);
        _rc_set_error("rc_gc_get_objects: out of memory");
        return 0;
    }
    return hand_out(&list, fn, arg);
}

typedef struct referrer_ctx {
    const void *target;
    bool found;
    rc_vec *list;
    bool oom;
} referrer_ctx;

static int visit_is_target(void *obj, void *arg) {
    referrer_ctx *c = arg;
    if (obj == c->target) c->found = true;
    return c->found;
}

static void find_referrer(rc_object_head *h, void *arg) {
    referrer_ctx *c = arg;
    if ((h->type_bits & (RC_TRACKED | RC_IN_COLLECTION | RC_DYING)) != RC_TRACKED) return;
    if (_rc_head_gen(h) == RC_GEN_PERMANENT) return;
    c->found = false;
    _rc_head_type(h)->traverse(_rc_payload(h), visit_is_target, c);
    if (c->found && !_rc_vec_push(c->list, _rc_payload(h))) c->oom = true;
}

size_t rc_gc_get_referrers(const void *obj, rc_visit_fn fn, void *arg) {
    rc_world *w = _rc_world_tls;
    if (!obj || !w) return 0;
    rc_vec list = {0};
    referrer_ctx c = {obj, false, &list, false};
    _rc_world_walk(w, find_referrer, &c);
    if (c.oom) {
        _rc_vec_free(&list);
        _rc_set_error("rc_gc_get_referrers: out of memory");
        return 0;
    }
    return hand_out(&list, fn, arg);
}

static int visit_collect(void *obj, void *arg) {
    if (obj && !_rc_vec_push(arg, obj)) return -1;
    return 0;
}

size_t rc_gc_get_referents(const void *obj, rc_visit_fn fn, void *arg) {
    if (!obj) return 0;
    const rc_type *t = _rc_head_type(_rc_head(obj));
    if (!t->traverse) return 0;
    rc_vec list = {0};
    if (t->traverse((void *)obj, visit_collect, &list) != 0) {
        _rc_vec_free(&list);
        _rc_set_error("rc_gc_get_referents: out of memory");
        return 0;
    }
    return hand_out(&list, fn, arg);
}

size_t rc_gc_garbage(rc_visit_fn fn, void *arg) {
    rc_world *w = _rc_world_tls;
    if (!w) return 0;
    rc_vec list = {0};
    if (!_rc_vec_reserve(&list, w->garbage.len)) {
        _rc_set_error("rc_gc_garbage: out of memory");
        return 0;
    }
    if (w->garbage.len) memcpy(list.items, w->garbage.items, w->garbage.len * sizeof(void *));
    list.len = w->garbage.len;
    return hand_out(&list, fn, arg);
}

void rc_gc_garbage_clear(void) {
    rc_world *w = _rc_world_tls;
    if (!w) return;
    rc_vec g = w->garbage;
    w->garbage = (rc_vec){0};
    for (size_t i = 0; i < g.len; i++) rc_decref(g.items[i]);
    _rc_vec_free(&g);
}
/* }==== */

/* {==== shutdown and the leak report ==== */

static void gc_shutdown(void) {
    rc_world *w = _rc_world_tls;
    if (!(w && w->collecting)) rc_gc_collect(2);
    _rc_finalizers_run_all();
    if (_rc_option(RC_OPT_LEAKCHECK)) _rc_leakcheck_hook(); /* src/prof/leakcheck.c */
}

void (*_rc_object_shutdown_hook)(void) = gc_shutdown;
/* }==== */
