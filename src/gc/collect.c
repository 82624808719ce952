/*
 * collect.c — the cycle collector's algorithm: one collection of one
 * world. The surface (thresholds, callbacks, stats, freeze, the gc-module
 * functions) is gc.c; the essay with the full story is docs/gc.md.
 *
 * What is collected. Generation g's collection examines every tracked
 * object of generations 0..g of the world. The young generations are side
 * vectors, so a young collection touches only them; a full collection
 * walks the world's pools and large objects and takes every tracked object
 * that is not frozen. No object carries list links: the set is marked in
 * the headers (COLLECTING), and gc_aux holds gc_refs.
 *
 * The steps, as CPython 3.11's gc_collect_main:
 *   1. gather   mark each examined object COLLECTING, gc_refs = refcount
 *   2. subtract for each, traverse and decrement gc_refs of every examined
 *               object it refers to: what is left counts references from
 *               outside the set (other generations, untracked objects,
 *               frozen objects, C variables)
 *   3. mark     objects with gc_refs > 0 are reachable, and so is all they
 *               reach inside the set: an explicit stack, no recursion
 *   4. sweep    reachable ones leave the set and move to generation g + 1
 *               (g = 2 stays 2); the rest form the unreachable list. Steps
 *               3 and 4 share one walk (CPython's move_unreachable).
 *   (Before step 2, an object of an RC_TYPE_IMMUTABLE type that references
 *   nothing tracked leaves the set untracked: it can never be in a cycle.)
 *   5. hold     the collector takes a reference to each unreachable object,
 *               so nothing it still has to look at is freed under it by the
 *               user code of the next steps (gc_aux becomes the slot in the
 *               unreachable list; a release that finds COLLECTING set
 *               clears its slot)
 *   6. weakrefs weak references to unreachable objects are cleared; the
 *               callbacks of those that are not themselves garbage run
 *   7. finalize finalize each unreachable object not finalized yet, once
 *   8. resurrect gc_refs again, over the unreachable list only, minus the
 *               hold: an object a finalizer made reachable, and all it
 *               reaches, survive intact (finalized, not finalized again).
 *               Then weak references that finalizers or callbacks made to
 *               objects still unreachable are cleared (callbacks run).
 *               Skipped when no finalizer or callback ran: nothing else
 *               could have made them reachable.
 *   9. clear    SAVEALL: every object moves to the garbage list (keeping the
 *               hold as its reference). Otherwise clear() each object, then
 *               drop the holds: the cycles fall apart by reference counting,
 *               and each object is released as any other (finalize does not
 *               run again, destroy runs, memory is freed).
 *  10. leftovers unreachable objects still alive after that (cycles whose
 *               types have no clear) are uncollectable: they go to the
 *               garbage list, in generation 2, as Python 2 kept its
 *               uncollectable cycles.
 *
 * Invariants between steps: outside steps 1-4, the objects with
 * COLLECTING set are exactly the non-NULL entries of the unreachable list,
 * and each one's gc_aux is its slot there. Steps 1-4 run no user code but
 * traverse, which must not change counts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>

#include "internal/gc.h"

/* A run's own mark bits. A thread's world uses RC_COLLECTING/RC_REACHABLE
 * and the orphan world RC_COLLECTING_O/RC_REACHABLE_O, so a thread whose
 * objects hold orphans, collecting its own world, never reads or writes
 * the marks of an orphan collection running on another thread. Functions
 * using them have the run in a variable named r. */
#define CB (r->cbit)
#define RB (r->rbit)

/* Young vectors up to this many slots are kept for reuse when emptied. */
#define YOUNG_KEEP 4096

typedef struct gc_run {
    rc_world *w;
    uintptr_t cbit, rbit; /* its COLLECTING and REACHABLE bits (see below) */
    int gen;            /* generation collected */
    unsigned target;    /* where survivors go */
    bool full;          /* walk the pools instead of the young vectors */
    rc_vec set;         /* a young collection's examined objects */
    rc_vec pools;       /* a full collection's pools */
    bool oom;
    size_t examined;
    size_t survivors;
    rc_vec stack;       /* the marking stack */
    rc_vec unreachable;
} gc_run;

/* {==== visiting the examined set ==== */

/* Run body with h bound to each examined object (COLLECTING set): the
 * young set, or, in a full collection, every block of the world's pools
 * (listed once in r->pools) and its large objects. A macro rather than a
 * walker with a callback: each pass is a tight loop over the headers,
 * without an indirect call per object. */
#define FOR_EACH_EXAMINED(r, h, body)                                                          \
    do {                                                                                       \
        if ((r)->full) {                                                                       \
            for (size_t pi_ = 0; pi_ < (r)->pools.len; pi_++) {                                \
                rc_pool *pool_ = (r)->pools.items[pi_];                                        \
                size_t bs_ = _rc_pool_block_size(pool_);                                       \
                uint8_t *p_ = _rc_pool_start(pool_);                                           \
                uint8_t *end_ =                                                                \
                    p_ + (size_t)atomic_load_explicit(&pool_->capacity, memory_order_relaxed) * bs_; \
                for (; p_ < end_; p_ += bs_) {                                                 \
                    rc_object_head *h = (rc_object_head *)p_;                                  \
                    if (h->type_bits & (r)->cbit) { body }                                 \
                }                                                                              \
            }                                                                                  \
            for (rc_large_obj *l_ = (r)->w->large; l_; l_ = l_->next) {                        \
                rc_object_head *h = (rc_object_head *)(l_ + 1);                                \
                if (h->type_bits & (r)->cbit) { body }                                     \
            }                                                                                  \
        } else {                                                                               \
            for (size_t i_ = 0; i_ < (r)->set.len; i_++) {                                     \
                rc_object_head *h = _rc_head((r)->set.items[i_]);                              \
                if (h->type_bits & (r)->cbit) { body }                                     \
            }                                                                                  \
        }                                                                                      \
    } while (0)

/* Checked builds: what a traverse visits must be a live object (or a static
 * immortal one: None, a small int). from is the object whose traverse it is. */
static void check_visited(const void *p, const void *from) {
    if (RC_OBJECT_CHECKS && !_rc_is_live_object(p) && !_rc_is_static_object(p))
        _rc_fatal("reclaim: the traverse of object %p (type %s) visited %p, which is not a live object", from,
                  _rc_type_name(_rc_head_type(_rc_head(from))), p);
}
/* }==== */

/* {==== steps 1-4 ==== */

static inline void gather_one(gc_run *r, rc_object_head *h) {
    uintptr_t bits = h->type_bits;
    if ((bits & (RC_TRACKED | CB)) == RC_TRACKED && _rc_head_gen(h) != RC_GEN_PERMANENT) {
        h->type_bits |= CB;
        h->gc_aux = h->refcnt;
        r->examined++;
    }
}

/* A pool joins a full collection unless its hint says it holds no tracked
 * object. */
static void collect_pool(rc_pool *pool, void *arg) {
    gc_run *r = arg;
    if (pool->tracked_hint && !_rc_vec_push(&r->pools, pool)) r->oom = true;
}

/* What a visitor of the subtraction knows: the run, and the object whose
 * traverse this is (for the checked builds' report). */
typedef struct subtract_ctx {
    gc_run *r;
    void *from;
} subtract_ctx;

static int visit_subtract(void *obj, void *arg) {
    if (!obj) return 0;
    subtract_ctx *c = arg;
    check_visited(obj, c->from);
    rc_object_head *h = _rc_head(obj);
    if (h->type_bits & c->r->cbit) {
        if (RC_OBJECT_CHECKS && h->gc_aux == 0)
            _rc_fatal("reclaim: object %p (type %s) is visited by traverse more often than it is referenced: "
                      "its count is too low or a traverse visits a reference it does not hold",
                      obj, _rc_type_name(_rc_head_type(h)));
        h->gc_aux--;
    }
    return 0;
}

static int visit_reach(void *obj, void *arg) {
    if (!obj) return 0;
    gc_run *r = arg;
    rc_object_head *h = _rc_head(obj);
    if ((h->type_bits & (CB | RB)) == CB) {
        h->type_bits |= RB;
        r->stack.items[r->stack.len++] = obj; /* reserved for every examined object */
    }
    return 0;
}

/* Mark everything reachable from h when it has gc_refs > 0. */
static inline void mark_from(gc_run *r, rc_object_head *h) {
    if (h->gc_aux == 0 || (h->type_bits & RB)) return;
    h->type_bits |= RB;
    rc_vec *stack = &r->stack;
    stack->items[stack->len++] = _rc_payload(h);
    while (stack->len) {
        void *obj = stack->items[--stack->len];
        _rc_head_type(_rc_head(obj))->traverse(obj, visit_reach, r);
    }
}

/* Take the examined objects out of their generations and mark them. */
static bool gather(gc_run *r) {
    rc_world *w = r->w;
    if (r->full) {
        if (w->heap) _rc_heap_pools(w->heap, collect_pool, r);
        for (size_t i = 0; i < w->heaps.len; i++) _rc_heap_pools(w->heaps.items[i], collect_pool, r);
        if (r->oom) {
            _rc_vec_free(&r->pools);
            return false;
        }
        size_t kept = 0;
        for (size_t pi = 0; pi < r->pools.len; pi++) {
            rc_pool *pool = r->pools.items[pi];
            size_t bs = _rc_pool_block_size(pool);
            uint8_t *p = _rc_pool_start(pool);
            uint8_t *end = p + (size_t)atomic_load_explicit(&pool->capacity, memory_order_relaxed) * bs;
            uintptr_t any = 0;
            for (; p < end; p += bs) {
                any |= ((rc_object_head *)p)->type_bits & RC_TRACKED;
                gather_one(r, (rc_object_head *)p);
            }
            /* no tracked object (frozen ones count): later full collections
             * skip the pool until something in it is tracked again */
            if (any) r->pools.items[kept++] = pool;
            else pool->tracked_hint = 0;
        }
        r->pools.len = kept;
        for (rc_large_obj *l = w->large; l; l = l->next) gather_one(r, (rc_object_head *)(l + 1));
        for (unsigned g = 0; g < 2; g++) w->young[g].len = 0;
        w->gen_size[0] = w->gen_size[1] = w->gen_size[2] = 0;
    } else {
        /* the vectors of generations 0..gen, less their holes, become the set */
        if (r->gen == 1 && !_rc_vec_reserve(&w->young[1], w->young[0].len)) return false;
        if (r->gen == 1) {
            for (size_t i = 0; i < w->young[0].len; i++)
                if (w->young[0].items[i]) w->young[1].items[w->young[1].len++] = w->young[0].items[i];
            w->young[0].len = 0;
        }
        r->set = w->young[r->gen];
        w->young[r->gen] = (rc_vec){0};
        size_t n = 0;
        for (size_t i = 0; i < r->set.len; i++)
            if (r->set.items[i]) r->set.items[n++] = r->set.items[i];
        r->set.len = n;
        for (int g = 0; g <= r->gen; g++) w->gen_size[g] = 0;
        for (size_t i = 0; i < r->set.len; i++) gather_one(r, _rc_head(r->set.items[i]));
    }
    return true;
}

/* Is obj tracked, or may it become tracked later by itself (an object of
 * an RC_TYPE_UNTRACKED type, such as an empty dict: CPython's
 * _PyObject_GC_MAY_BE_TRACKED)? Either keeps an immutable holder tracked. */
static int visit_tracked(void *obj, void *arg) {
    (void)arg;
    if (!obj) return 0;
    const rc_object_head *h = _rc_head(obj);
    return (h->type_bits & RC_TRACKED) || (_rc_head_type(h)->flags & RC_TYPE_UNTRACKED);
}

/* An examined object of an RC_TYPE_IMMUTABLE type that references nothing
 * tracked (nor anything of an RC_TYPE_UNTRACKED type) can never be part of
 * a cycle: it leaves the set untracked
 * (CPython's tuple untracking), before the subtraction. If garbage holds
 * it, it dies by its count when the garbage goes. In a young collection
 * the set is in creation order, so a tree built bottom-up is untracked
 * whole in one pass. */
static inline bool maybe_untrack(gc_run *r, rc_object_head *h) {
    const rc_type *t = _rc_head_type(h);
    if (RC_LIKELY(!(t->flags & RC_TYPE_IMMUTABLE))) return false;
    if (t->traverse(_rc_payload(h), visit_tracked, NULL) != 0) return false;
    h->type_bits &= ~(CB | RB | RC_TRACKED);
    return true;
}

/* A reachable examined object leaves the set for generation r->target (or
 * stops being tracked). */
static inline void survive(gc_run *r, rc_object_head *h) {
    uintptr_t bits = h->type_bits & ~(CB | RB | RC_GEN_MASK); /* stays TRACKED: its pool's hint is set */
    unsigned gen = r->target;
    if (gen < 2) {
        rc_vec *v = &r->w->young[gen];
        if (RC_LIKELY(v->len < v->cap) || _rc_young_make_room(r->w, gen)) {
            h->gc_aux = (uint32_t)v->len;
            v->items[v->len++] = _rc_payload(h);
        } else {
            gen = 2; /* no memory for a slot: generation 2 */
        }
    }
    h->type_bits = bits | ((uintptr_t)gen << RC_GEN_SHIFT);
    r->w->gen_size[gen]++;
    r->survivors++;
}

static inline void subtract_one(gc_run *r, rc_object_head *h) {
    subtract_ctx c = {.r = r, .from = _rc_payload(h)};
    _rc_head_type(h)->traverse(_rc_payload(h), visit_subtract, &c);
}

/* Steps 2-4. Marking and sweeping share one walk, as CPython's
 * move_unreachable does: an object with gc_refs > 0, or already reached, is
 * reachable: everything it reaches is marked (an explicit stack) and it
 * leaves the set; one with gc_refs == 0 not reached yet is tentatively
 * unreachable. A tentative one that a later root reaches is taken back when
 * the walk is done. */
static void find_unreachable(gc_run *r) {
    FOR_EACH_EXAMINED(r, h, {
        if (maybe_untrack(r, h)) continue;
        subtract_one(r, h);
    });
    rc_vec *u = &r->unreachable;
    FOR_EACH_EXAMINED(r, h, {
        if (!(h->type_bits & RB)) {
            if (h->gc_aux == 0) {
                u->items[u->len++] = _rc_payload(h); /* reserved */
                continue;
            }
            mark_from(r, h);
        }
        survive(r, h);
    });
    size_t n = 0;
    for (size_t i = 0; i < u->len; i++) {
        rc_object_head *h = _rc_head(u->items[i]);
        if (h->type_bits & RB) {
            survive(r, h);
            continue;
        }
        h->gc_aux = (uint32_t)n;
        u->items[n++] = u->items[i];
    }
    u->len = n;
}

/* Undo gather when memory for the marking runs out: everything survives. */
static void abandon(gc_run *r) {
    FOR_EACH_EXAMINED(r, h, {
        h->type_bits &= ~(CB | RB | RC_TRACKED);
        _rc_world_place(r->w, h, r->target);
    });
}
/* }==== */

/* {==== steps 5-10 ==== */

static void debug_object(const char *what, void *obj) {
    _rc_message("gc: %s <%s %p>", what, _rc_type_name(_rc_head_type(_rc_head(obj))), obj);
}

/* Remove the entries that are NULL or no longer COLLECTING; renumber. */
static void compact_unreachable(gc_run *r, rc_vec *u) {
    size_t n = 0;
    for (size_t i = 0; i < u->len; i++) {
        void *obj = u->items[i];
        if (!obj || !(_rc_head(obj)->type_bits & CB)) continue;
        _rc_head(obj)->gc_aux = (uint32_t)n;
        u->items[n++] = obj;
    }
    u->len = n;
}

/* True when user code ran (weak-reference callbacks). */
static bool handle_weakrefs(gc_run *r) {
    rc_weakref *all = NULL, **tail = &all;
    for (size_t i = 0; i < r->unreachable.len; i++) {
        void *obj = r->unreachable.items[i];
        if (!obj || !(_rc_head(obj)->type_bits & RC_WEAKREFS)) continue;
        tail = _rc_weakref_clear(obj, true, tail);
    }
    if (!all) return false;
    _rc_weakref_run(all);
    return true;
}

/* True when a finalizer ran. */
static bool finalize_garbage(gc_run *r) {
    bool ran = false;
    for (size_t i = 0; i < r->unreachable.len; i++) {
        void *obj = r->unreachable.items[i];
        if (!obj) continue;
        rc_object_head *h = _rc_head(obj);
        const rc_type *t = _rc_head_type(h);
        if (t->finalize && !(h->type_bits & RC_FINALIZED)) {
            h->type_bits |= RC_FINALIZED;
            t->finalize(obj);
            ran = true;
        }
    }
    return ran;
}

/* Step 8: objects of the list that a finalizer made reachable survive. */
static void handle_resurrected(gc_run *r) {
    rc_vec *u = &r->unreachable;
    compact_unreachable(r, u);
    for (size_t i = 0; i < u->len; i++) {
        rc_object_head *h = _rc_head(u->items[i]);
        h->gc_aux = h->refcnt - 1; /* less the hold */
    }
    for (size_t i = 0; i < u->len; i++) {
        rc_object_head *h = _rc_head(u->items[i]);
        subtract_ctx c = {r, u->items[i]};
        if (h->type_bits & RC_TRACKED) _rc_head_type(h)->traverse(u->items[i], visit_subtract, &c);
    }
    /* untracked by a finalizer: the collector lets go of it (after the
     * subtraction, which must not take it back to zero) */
    for (size_t i = 0; i < u->len; i++) {
        rc_object_head *h = _rc_head(u->items[i]);
        if (!(h->type_bits & RC_TRACKED)) h->gc_aux = 1;
    }
    r->stack.len = 0;
    for (size_t i = 0; i < u->len; i++) mark_from(r, _rc_head(u->items[i]));
    /* the survivors leave the list; their holds are dropped afterwards, as
     * real decrefs, since a finalizer may have dropped every other
     * reference to one it untracked (the stack is free again and has room
     * for all of them) */
    rc_vec *release = &r->stack;
    release->len = 0;
    size_t n = 0;
    for (size_t i = 0; i < u->len; i++) {
        void *obj = u->items[i];
        rc_object_head *h = _rc_head(obj);
        if (h->type_bits & RB) {
            h->type_bits &= ~(CB | RB);
            if (h->type_bits & RC_TRACKED) {
                h->type_bits &= ~RC_TRACKED;
                _rc_world_place(r->w, h, r->target);
            }
            release->items[release->len++] = obj;
            continue;
        }
        h->gc_aux = (uint32_t)n;
        u->items[n++] = obj;
    }
    u->len = n;
    for (size_t i = 0; i < release->len; i++) rc_decref(release->items[i]);
    release->len = 0;
}

/* Weak references made by finalizers or callbacks to objects that stay
 * unreachable are cleared too, before any clear runs, so none can hand out
 * a half-cleared object; the callbacks of those still alive run now, and
 * see them cleared. */
static void clear_new_weakrefs(gc_run *r) {
    rc_weakref *all = NULL, **tail = &all;
    for (size_t i = 0; i < r->unreachable.len; i++) {
        void *obj = r->unreachable.items[i];
        if (obj && (_rc_head(obj)->type_bits & RC_WEAKREFS)) tail = _rc_weakref_clear(obj, true, tail);
    }
    if (all) _rc_weakref_run(all);
}

static void to_garbage(gc_run *r, void *obj) {
    rc_object_head *h = _rc_head(obj);
    h->type_bits &= ~(CB | RB | RC_TRACKED);
    _rc_world_place(r->w, h, 2);
    if (!_rc_vec_push(&r->w->garbage, obj)) h->refcnt--; /* no room: it stays alive, unlisted */
}

static void delete_garbage(gc_run *r, unsigned debug, size_t *collected, size_t *uncollectable) {
    rc_vec *u = &r->unreachable;
    *collected = u->len;
    *uncollectable = 0;
    if (debug & RC_GC_DEBUG_SAVEALL) {
        for (size_t i = 0; i < u->len; i++) to_garbage(r, u->items[i]); /* the hold is the list's reference */
        u->len = 0;
        return;
    }
    for (size_t i = 0; i < u->len; i++) {
        void *obj = u->items[i];
        if (!obj) continue;
        const rc_type *t = _rc_head_type(_rc_head(obj));
        if (t->clear) t->clear(obj);
    }
    /* drop the holds: cycles that clear broke fall apart */
    for (size_t i = 0; i < u->len; i++) {
        void *obj = u->items[i];
        if (!obj) continue;
        rc_object_head *h = _rc_head(obj);
        if (h->refcnt == 1) {
            h->refcnt = 0;
            _rc_dealloc(obj); /* clears its slot */
        } else {
            h->refcnt--;
        }
    }
    for (size_t i = 0; i < u->len; i++) {
        void *obj = u->items[i];
        if (!obj) continue;
        if (debug & RC_GC_DEBUG_UNCOLLECTABLE) debug_object("uncollectable", obj);
        rc_incref(obj);
        to_garbage(r, obj);
        ++*uncollectable;
    }
    *collected -= *uncollectable;
    u->len = 0;
}
/* }==== */

size_t _rc_gc_collect_world(rc_world *w, int gen, unsigned debug, size_t *uncollectable) {
    gc_run r = {.w = w,
                .cbit = w->orphan ? RC_COLLECTING_O : RC_COLLECTING,
                .rbit = w->orphan ? RC_REACHABLE_O : RC_REACHABLE,
                .gen = gen,
                .target = gen < 2 ? (unsigned)gen + 1 : 2,
                .full = gen == 2};
    *uncollectable = 0;
    if (!gather(&r)) return 0;
    /* room for the worst case, so marking and sweeping never allocate */
    if (!_rc_vec_reserve(&r.stack, r.examined) || !_rc_vec_reserve(&r.unreachable, r.examined)) {
        abandon(&r);
        _rc_vec_free(&r.stack);
        _rc_vec_free(&r.unreachable);
        _rc_vec_free(&r.set);
        _rc_vec_free(&r.pools);
        return 0;
    }
    find_unreachable(&r);
    _rc_vec_free(&r.pools);
    if (!r.full && w->young[0].items == NULL && r.set.cap <= YOUNG_KEEP) {
        r.set.len = 0;
        w->young[0] = r.set; /* keep the buffer for the next generation 0 */
    } else {
        _rc_vec_free(&r.set);
    }
    if (r.full)
        for (unsigned g = 0; g < 2; g++)
            if (w->young[g].cap > YOUNG_KEEP) _rc_vec_free(&w->young[g]); /* empty now: give big ones back */
    if (gen == 1) {
        w->long_lived_pending += r.survivors;
    } else if (gen == 2) {
        w->long_lived_pending = 0;
        w->long_lived_total = r.survivors;
    }
    size_t collected = 0;
    if (r.unreachable.len) {
        w->unreachable = &r.unreachable;
        for (size_t i = 0; i < r.unreachable.len; i++) _rc_head(r.unreachable.items[i])->refcnt++; /* the hold */
        if (debug & RC_GC_DEBUG_COLLECTABLE)
            for (size_t i = 0; i < r.unreachable.len; i++) debug_object("collectable", r.unreachable.items[i]);
        bool user_code = handle_weakrefs(&r);
        user_code |= finalize_garbage(&r);
        /* only user code can have made an unreachable object reachable */
        if (user_code) {
            handle_resurrected(&r);
            clear_new_weakrefs(&r);
        }
        delete_garbage(&r, debug, &collected, uncollectable);
        w->unreachable = NULL;
    }
    _rc_vec_free(&r.stack);
    _rc_vec_free(&r.unreachable);
    return collected;
}
