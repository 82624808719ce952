/*
 * collect.c — the cycle collector's algorithm: one collection of one
 * world. The surface (thresholds, callbacks, stats, freeze, the gc-module
 * functions) is gc.c; the essay with the full story is docs/gc.md.
 *
 * What is collected. Generation g's collection examines every tracked
 * object of generations 0..g of the world. The young generations are side
 * vectors, so a young collection touches only them; a full collection
 * walks the world's pools and large objects and takes every tracked object
 * that is not frozen. No object carries list links. A young collection
 * marks its set in the headers (COLLECTING) and keeps gc_refs in gc_aux;
 * a full collection, which examines most of the heap, keeps steps 1-4's
 * scratch in arrays of its own instead, so that it reads the heap twice in
 * address order and writes almost nothing into it (the section "steps 1-4
 * of a full collection" below). From step 5 on both are the same.
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
#include <stdlib.h>

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
    rc_vec pools;       /* a full collection's pools (span heads) */
    struct full_span *spans; /* a full collection's spans, as pools */
    uint32_t *counts;   /* a full collection's count array (see below) */
    uint64_t *inset;    /* and its bitmap of the entries in the set */
    size_t sink;        /* the last entry: objects not examined */
    size_t scan;        /* the entry the marking scan is at */
    bool up;            /* the marking scan goes up the entries */
    struct full_cache {  /* where recently visited pools' entries are */
        uintptr_t key;   /* pool address >> RC_POOL_SHIFT; 0: empty */
        uintptr_t start; /* the pool's span's first block */
        size_t base;     /* its entry */
        uint64_t magic;  /* ceil(2^64 / block size) */
    } cache[64];
    bool oom;
    size_t examined;
    size_t survivors;
    rc_vec stack;       /* the marking stack */
    rc_vec unreachable;
} gc_run;

/* {==== visiting the examined set ==== */

/* Run body with h bound to each examined object (COLLECTING set) of a
 * young collection. A macro rather than a walker with a callback: each
 * pass is a tight loop without an indirect call per object. */
#define FOR_EACH_EXAMINED(r, h, body)                                 \
    do {                                                              \
        for (size_t i_ = 0; i_ < (r)->set.len; i_++) {                \
            rc_object_head *h = _rc_head((r)->set.items[i_]);         \
            if (h->type_bits & (r)->cbit) { body }                    \
        }                                                             \
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

/* A young collection: the vectors of generations 0..gen, less their
 * holes, become the examined set, marked. */
static bool gather(gc_run *r) {
    rc_world *w = r->w;
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

/* {==== steps 1-4 of a full collection ====
 *
 * A full collection examines every tracked object of the world that is not
 * frozen: in practice most of its heap. Done as a young collection does
 * them, steps 1-4 would read every examined header three times and write
 * it as often (the mark and gc_refs, the decrements, the verdict), and on a
 * big heap memory traffic is most of the cost. So they keep their scratch
 * outside the objects: a count array with a 32-bit entry per block of the
 * examined pools and per large object, in the order of the memory's age
 * (arenas in the order they were mapped, pools within), a bitmap of the
 * entries in the set, and a small cache from pool address to the pool's
 * first entry, so that finding the entry of a referenced object does not
 * read the object. The heap is read in two passes in order, plus where
 * marking must follow references the other way; written only where an
 * object changes generation or is found unreachable.
 *
 *   setup     list the pools that may hold tracked objects (a pool of the
 *             world that does not gets NO_SLOT as its base), sort them by
 *             age, give each a base entry (the arena header's gc_base) and
 *             each large object one after them (its gc_aux); allocate the
 *             arrays, the marking stack and the unreachable list for the
 *             worst case. Nothing is changed before all of that succeeded.
 *   subtract  walk the pools; an examined object adds 1 + refcount to its
 *             entry and sets its bit in the bitmap; every other block adds
 *             FULL_MARK | FULL_OUT; and each object a traverse visits has
 *             1 taken off its entry, whatever it is (an object of another
 *             world, or not in an examined pool, maps to the sink entry,
 *             which is never in the set). Addition commutes, so the order
 *             does not matter: afterwards an examined object's entry holds
 *             1 + gc_refs (1 when only objects of the set refer to it).
 *             The walk also counts which way references point: to older
 *             or to newer memory.
 *   mark      scan the entries the way most references point; an object
 *             that is a root (gc_refs > 0) or marked has its referents
 *             marked (bit 31), and those the scan has passed are followed
 *             at once, depth first (see "Marking" below).
 *   sweep     scan the bitmap: a marked object survives into generation 2
 *             (its header is written only if it was younger); an unmarked
 *             one is unreachable: it gets COLLECTING and its slot in the
 *             unreachable list, and steps 5-10 go on from the headers.
 *
 * Invariants during these steps: no user code runs (traverse must not
 * change counts), so refcounts, pool capacities and the set are fixed. An
 * entry of the set holds 1 + min(refcount, FULL_REF_CAP) - (references to
 * it visited so far), plus FULL_YOUNG for an object of generation 0 or 1,
 * plus FULL_MARK once marked (from the subtraction on for an object of
 * FULL_REF_CAP references or more: a root, whatever refers to it); an entry out of the set has FULL_MARK set
 * from the subtraction on (no object has 2^30 references), so marking
 * passes over it without a look at the bitmap. An object of another world
 * (orphans a thread's objects hold) is never written, nor is its arena's
 * scratch read: a pool's base is read only after its heap was found to be
 * this world's.
 * ==================================================================== */

#define FULL_MARK 0x80000000u     /* reached */
#define FULL_OUT 0x40000000u      /* with FULL_MARK: not in the set (see below) */
#define FULL_YOUNG 0x20000000u    /* the object is in generation 0 or 1 */
#define FULL_REF_CAP 0x08000000u  /* refcounts above (immortal) count as this */
#define FULL_COUNT (FULL_YOUNG - 1)
#define NO_SLOT SIZE_MAX

/* A span of the collection: where its blocks are and where its entries
 * start. */
typedef struct full_span {
    rc_pool *head;
    uint8_t *start;
    size_t base;
    uint32_t bs, cap;
} full_span;

/* A pool joins a full collection unless its hint says it holds no tracked
 * object; one that does not gets no entries (NO_SLOT as its base). */
static void collect_pool(rc_pool *pool, void *arg) {
    gc_run *r = arg;
    if (pool->tracked_hint) {
        if (!_rc_vec_push(&r->pools, pool)) r->oom = true;
    } else {
        rc_arena *arena = _rc_arena_of((uintptr_t)pool);
        arena->gc_base[pool - arena->pools] = NO_SLOT;
    }
}

static inline bool full_examinable(uintptr_t bits) {
    return (bits & RC_TRACKED) && ((bits & RC_GEN_MASK) >> RC_GEN_SHIFT) != RC_GEN_PERMANENT;
}

/* The entry of the object at payload obj; the sink entry (the last, never
 * in the set) when obj is not this world's or its pool is not examined.
 * Does not read the object: once its pool has been seen, only a small
 * cache, indexed by pool address, is read; the first time, the span's
 * descriptor and heap, and then, for a span of this world only, the
 * arena's scratch. A large object (never cached) is recognised from its
 * header. */
static bool orphan_listed(const rc_world *w, const rc_heap *heap) {
    for (size_t i = 0; i < w->heaps.len; i++)
        if (w->heaps.items[i] == heap) return true;
    return false;
}

static RC_NOINLINE size_t full_slot_miss(gc_run *r, uintptr_t a) {
    if (!_rc_is_arena(a)) {
        const rc_object_head *h = (const rc_object_head *)a;
        if (!(h->type_bits & RC_LARGE) || ((const rc_large_obj *)h - 1)->world != r->w) return r->sink;
        if (h->type_bits & RC_DYING) return r->sink; /* no entry: see full_setup */
        return h->gc_aux;
    }
    rc_pool *head = _rc_span_head(a);
    rc_heap *heap = _rc_pool_heap(head);
    struct full_cache *c = &r->cache[(a >> RC_POOL_SHIFT) & 63];
    c->key = a >> RC_POOL_SHIFT;
    /* not this world's, or (base NO_SLOT, set by collect_pool) a pool
     * without tracked objects: every block maps to the sink */
    c->base = r->sink;
    c->start = 0;
    c->magic = 0;
    /* a thread's world has one heap; the orphan world's heaps name it
     * (read under the orphan lock, which their handover takes) and are in
     * its list, whose pools the collection walks (one that could not be
     * listed, for want of memory, names it too, and its arena scratch is
     * stale) */
    if (heap != r->w->heap && !(r->w->orphan && (rc_world *)heap->world == r->w && orphan_listed(r->w, heap)))
        return r->sink;
    const rc_arena *arena = _rc_arena_of(a);
    size_t base = arena->gc_base[head - arena->pools];
    if (base == NO_SLOT) return r->sink;
    c->base = base;
    c->start = (uintptr_t)_rc_pool_start(head);
    c->magic = head->magic;
    /* (a - start) / block size, exact for the start of a block (see
     * _rc_pool_offset_ok): the high word of the offset times
     * ceil(2^64 / size) */
    return c->base + (size_t)(((unsigned __int128)(a - c->start) * c->magic) >> 64);
}

static inline size_t full_slot(gc_run *r, const void *obj) {
    uintptr_t a = (uintptr_t)_rc_head(obj);
    const struct full_cache *c = &r->cache[(a >> RC_POOL_SHIFT) & 63];
    if (RC_LIKELY(c->key == a >> RC_POOL_SHIFT))
        return c->base + (size_t)(((unsigned __int128)(a - c->start) * c->magic) >> 64);
    return full_slot_miss(r, a);
}

static inline bool full_inset(const gc_run *r, size_t slot) { return (r->inset[slot >> 6] >> (slot & 63)) & 1; }

/* Pools in the order their memory was first used: the arenas' mapping
 * order, then the pools' order in the arena (carved lowest first). */
static inline uint64_t age_key(const rc_pool *pool) {
    const rc_arena *arena = _rc_arena_of((uintptr_t)pool);
    return (uint64_t)arena->seq << 6 | (uint64_t)(pool - arena->pools);
}
static int by_age(const void *a, const void *b) {
    uint64_t x = age_key(*(rc_pool *const *)a), y = age_key(*(rc_pool *const *)b);
    return (x > y) - (x < y);
}

/* Free a full collection's arrays (not the stack and the unreachable list,
 * which steps 5-10 use). */
static void full_free(gc_run *r) {
    rc_free(r->counts);
    rc_free(r->inset);
    rc_free(r->spans);
    r->counts = NULL;
    r->inset = NULL;
    r->spans = NULL;
    _rc_vec_free(&r->pools);
}

static bool full_setup(gc_run *r) {
    rc_world *w = r->w;
    if (w->heap) _rc_heap_pools(w->heap, collect_pool, r);
    for (size_t i = 0; i < w->heaps.len; i++) _rc_heap_pools(w->heaps.items[i], collect_pool, r);
    /* entries in the order of the memory's age (see the marking) */
    if (r->pools.len) qsort(r->pools.items, r->pools.len, sizeof *r->pools.items, by_age);
    size_t nlarge = 0;
    for (rc_large_obj *l = w->large; l; l = l->next) nlarge++;
    size_t slots = 0;
    bool ok = !r->oom;
    if (ok) r->spans = rc_malloc((r->pools.len ? r->pools.len : 1) * sizeof *r->spans);
    ok = ok && r->spans;
    for (size_t i = 0; ok && i < r->pools.len; i++) {
        rc_pool *head = r->pools.items[i];
        full_span *s = &r->spans[i];
        s->head = head;
        s->start = _rc_pool_start(head);
        s->bs = _rc_pool_block_size(head);
        s->cap = atomic_load_explicit(&head->capacity, memory_order_relaxed);
        s->base = slots;
        slots += s->cap;
    }
    slots += nlarge;
    r->sink = slots++;
    /* large objects' entries are numbered in their 32-bit gc_aux */
    ok = ok && slots < UINT32_MAX;
    ok = ok && (r->counts = rc_calloc(slots, sizeof *r->counts)) != NULL;
    ok = ok && (r->inset = rc_calloc(slots / 64 + 1, sizeof *r->inset)) != NULL;
    ok = ok && _rc_vec_reserve(&r->stack, slots) && _rc_vec_reserve(&r->unreachable, slots);
    if (!ok) {
        full_free(r);
        _rc_vec_free(&r->stack);
        _rc_vec_free(&r->unreachable);
        _rc_set_error("rc_gc_collect: no memory for a full collection's arrays (%zu entries): nothing collected",
                      slots);
        errno = ENOMEM;
        return false;
    }
    r->counts[r->sink] = FULL_MARK | FULL_OUT;
    for (size_t i = 0; i < r->pools.len; i++) {
        rc_arena *arena = _rc_arena_of((uintptr_t)r->spans[i].head);
        arena->gc_base[r->spans[i].head - arena->pools] = r->spans[i].base;
    }
    /* the large objects' entries come last, the first in the list highest,
     * so that the list's order is the marking scan's (descending). A dying
     * one (its release under way, or waiting on the release list, whose
     * link is its count word, gc_aux included) is not written: its entry
     * stays unused, and the walks below skip it. */
    size_t next = r->sink;
    for (rc_large_obj *l = w->large; l; l = l->next) {
        rc_object_head *h = (rc_object_head *)(l + 1);
        --next;
        if (!(h->type_bits & RC_DYING)) h->gc_aux = (uint32_t)next;
    }
    return true;
}

typedef struct full_ctx {
    gc_run *r;
    void *from;
    size_t slot;
    ptrdiff_t down;     /* references seen to lower entries, less those to higher */
} full_ctx;

static int visit_full_subtract(void *obj, void *arg) {
    if (!obj) return 0;
    full_ctx *c = arg;
    check_visited(obj, c->from);
    /* whether obj is in the set or not: an entry out of it is ignored */
    size_t slot = full_slot(c->r, obj);
    c->r->counts[slot]--;
    c->down += slot < c->slot ? 1 : -1;
    return 0;
}

/* An immutable object that references nothing tracked leaves the set
 * untracked, as in a young collection (maybe_untrack). A young collection
 * sees its objects in creation order, so the items of a tuple of tuples
 * are untracked before the tuple; the walk here goes by pool, so an item
 * may come after its holder: a tracked immutable item the walk has not
 * reached yet (a higher entry, which has no count yet) is looked at first,
 * to a small depth. */
#define UNTRACK_DEPTH 4

typedef struct untrack_ctx {
    gc_run *r;
    size_t walk;    /* the walk's entry: higher ones are still to come */
    unsigned depth;
} untrack_ctx;

static bool full_maybe_untrack(gc_run *r, rc_object_head *h, size_t walk, unsigned depth);

static int visit_full_tracked(void *obj, void *arg) {
    if (!obj) return 0;
    untrack_ctx *c = arg;
    rc_object_head *h = _rc_head(obj);
    if (_rc_head_type(h)->flags & RC_TYPE_UNTRACKED) return 1; /* may become tracked by itself */
    uintptr_t bits = h->type_bits;
    if (!(bits & RC_TRACKED)) return 0;
    if (c->depth >= UNTRACK_DEPTH || !full_examinable(bits) || (bits & RC_LARGE)) return 1;
    size_t slot = full_slot(c->r, obj);
    return !(slot > c->walk && slot != c->r->sink && full_maybe_untrack(c->r, h, c->walk, c->depth + 1));
}

static bool full_maybe_untrack(gc_run *r, rc_object_head *h, size_t walk, unsigned depth) {
    const rc_type *t = _rc_head_type(h);
    if (RC_LIKELY(!(t->flags & RC_TYPE_IMMUTABLE))) return false;
    untrack_ctx c = {r, walk, depth};
    if (t->traverse(_rc_payload(h), visit_full_tracked, &c) != 0) return false;
    h->type_bits &= ~RC_TRACKED;
    return true;
}

/* The subtraction's walk at block slot, header h. Every entry gets its
 * base value here (the visitors' decrements may come before or after): an
 * examined object 1 + refcount, anything else FULL_MARK | FULL_OUT, which
 * the decrements cannot take below FULL_MARK, so marking skips it. */
static inline void full_subtract_one(gc_run *r, full_ctx *c, rc_object_head *h, size_t slot) {
    if (!full_examinable(h->type_bits) || full_maybe_untrack(r, h, slot, 0)) {
        r->counts[slot] += FULL_MARK | FULL_OUT;
        return;
    }
    /* an object with FULL_REF_CAP references or more (an immortal one
     * among them) is a root whatever refers to it from inside: marked now,
     * with a count of 1 + FULL_REF_CAP for the decrements to take from */
    uint32_t rc = h->refcnt;
    r->counts[slot] += (rc < FULL_REF_CAP ? 1 + rc : FULL_MARK + 1 + FULL_REF_CAP) + (_rc_head_gen(h) < 2 ? FULL_YOUNG : 0);
    r->inset[slot >> 6] |= (uint64_t)1 << (slot & 63);
    r->examined++;
    c->from = _rc_payload(h);
    c->slot = slot;
    _rc_head_type(h)->traverse(_rc_payload(h), visit_full_subtract, c);
}

static void full_subtract(gc_run *r) {
    full_ctx c = {.r = r};
    for (size_t i = 0; i < r->pools.len; i++) {
        full_span *s = &r->spans[i];
        uint8_t *p = s->start;
        uintptr_t any = 0;
        for (size_t k = 0; k < s->cap; k++, p += s->bs) {
            rc_object_head *h = (rc_object_head *)p;
            any |= h->type_bits & RC_TRACKED;
            full_subtract_one(r, &c, h, s->base + k);
        }
        /* no tracked object (frozen ones count): later full collections
         * skip the pool until something in it is tracked again */
        if (!any) s->head->tracked_hint = 0;
    }
    for (rc_large_obj *l = r->w->large; l; l = l->next) {
        rc_object_head *h = (rc_object_head *)(l + 1);
        if (h->type_bits & RC_DYING) continue; /* no entry (full_setup) */
        full_subtract_one(r, &c, h, h->gc_aux);
    }
    r->up = c.down < 0;
    /* the sink took every reference out of the world: back to its value,
     * so that no number of them can clear its FULL_MARK */
    r->counts[r->sink] = FULL_MARK | FULL_OUT;
}

/* Checked builds: an entry below 1 means traverse visited an object more
 * often than it is referenced. */
static void full_check(gc_run *r, size_t slot, rc_object_head *h) {
    /* (an object with FULL_REF_CAP references or more may be referenced
     * that often from inside the set: its entry cannot tell) */
    if (RC_OBJECT_CHECKS && (r->counts[slot] & FULL_COUNT) > FULL_REF_CAP + 1 && h->refcnt < FULL_REF_CAP)
        _rc_fatal("reclaim: object %p (type %s) is visited by traverse more often than it is referenced: "
                  "its count is too low or a traverse visits a reference it does not hold",
                  _rc_payload(h), _rc_type_name(_rc_head_type(h)));
}

/* Marking. A scan goes through the entries in order (the objects in the
 * order of their memory's age); an object it reaches that is marked
 * (reached earlier) or a root (an entry above 1) has its referents marked.
 * A referent whose entry the scan has still to reach is only marked: the
 * scan gets to it. One the scan has passed is marked and followed at once,
 * depth first, with the explicit stack. The scan goes the way most
 * references point, as the subtraction counted them: down (to older
 * memory) when objects were mostly built before the objects that refer to
 * them (children before parents, items before their container), up when
 * after (trees built from the root). Then most of the graph is marked by
 * a sequential pass over memory, which the hardware prefetches, rather
 * than by a walk in reference order, which misses the cache at most
 * steps; and the worst case is that walk. */
static inline bool full_passed(const gc_run *r, size_t slot) { return r->up ? slot < r->scan : slot > r->scan; }

static int visit_full_reach(void *obj, void *arg) {
    if (!obj) return 0;
    gc_run *r = arg;
    size_t slot = full_slot(r, obj);
    uint32_t v = r->counts[slot]; /* FULL_MARK when not in the set */
    if (!(v & FULL_MARK)) {
        r->counts[slot] = v | FULL_MARK;
        if (full_passed(r, slot)) r->stack.items[r->stack.len++] = obj; /* reserved for every entry */
    }
    return 0;
}

/* Follow the objects on the stack (marked, passed by the scan) and all
 * they reach that the scan has passed, depth first. Their memory is in no
 * useful order, so each object taken off the stack waits in a small
 * window, its memory prefetched, while the ones taken before it are
 * traversed (Cher, Hosking and Vijaykumar, "Software prefetching for
 * mark-sweep garbage collection", 2004). The order of marking does not
 * matter. */
#define FOLLOW_WINDOW 8
static RC_NOINLINE void full_follow(gc_run *r) {
    rc_vec *stack = &r->stack;
    void *window[FOLLOW_WINDOW];
    unsigned first = 0, n = 0;
    for (;;) {
        while (n < FOLLOW_WINDOW && stack->len) {
            void *obj = stack->items[--stack->len];
            __builtin_prefetch(_rc_head(obj));
            window[(first + n++) % FOLLOW_WINDOW] = obj;
        }
        if (!n) return;
        void *obj = window[first];
        first = (first + 1) % FOLLOW_WINDOW;
        n--;
        _rc_head_type(_rc_head(obj))->traverse(obj, visit_full_reach, r);
    }
}

/* The scan is at entry slot, object h: mark from it if it is marked or a
 * root. */
static inline void full_scan_one(gc_run *r, size_t slot, rc_object_head *h) {
    uint32_t v = r->counts[slot];
    if (RC_OBJECT_CHECKS) full_check(r, slot, h);
    if (!(v & FULL_MARK)) {
        if ((v & FULL_COUNT) <= 1) return; /* not reached (yet?), no outside reference */
        r->counts[slot] = v | FULL_MARK;
    }
    r->scan = slot;
    _rc_head_type(h)->traverse(_rc_payload(h), visit_full_reach, r);
    if (r->stack.len) full_follow(r);
}

static void full_scan_large(gc_run *r, rc_large_obj *l) {
    rc_object_head *h = (rc_object_head *)(l + 1);
    if (!(h->type_bits & RC_DYING) && full_inset(r, h->gc_aux)) full_scan_one(r, h->gc_aux, h);
}

static void full_scan_span(gc_run *r, const full_span *s) {
    for (size_t i = 0; i < s->cap; i++) {
        size_t k = r->up ? i : s->cap - 1 - i;
        size_t slot = s->base + k;
        if (full_inset(r, slot)) full_scan_one(r, slot, (rc_object_head *)(s->start + k * s->bs));
    }
}

static void full_mark(gc_run *r) {
    if (r->up) {
        for (size_t si = 0; si < r->pools.len; si++) full_scan_span(r, &r->spans[si]);
        /* the large objects' entries (the list's first has the highest) */
        rc_large_obj *last = r->w->large;
        while (last && last->next) last = last->next;
        for (rc_large_obj *l = last; l; l = l->prev) full_scan_large(r, l);
    } else {
        for (rc_large_obj *l = r->w->large; l; l = l->next) full_scan_large(r, l);
        for (size_t si = r->pools.len; si-- > 0;) full_scan_span(r, &r->spans[si]);
    }
}

/* The verdict on the object of entry slot, in the set: marked, it survives
 * into generation 2; else it is unreachable. */
static inline void full_judge(gc_run *r, size_t slot, rc_object_head *h) {
    uint32_t v = r->counts[slot];
    if (v & FULL_MARK) {
        /* a count out of range (more references from inside the set than
         * FULL_REF_CAP: it borrowed from the flags) leaves the header to
         * say whether the object was young */
        if ((v & FULL_YOUNG) || RC_UNLIKELY((v & FULL_COUNT) > FULL_REF_CAP + 1)) _rc_head_set_gen(h, 2);
        r->w->gen_size[2]++;
        r->survivors++;
    } else {
        h->type_bits |= CB;
        h->gc_aux = (uint32_t)r->unreachable.len;
        r->unreachable.items[r->unreachable.len++] = _rc_payload(h); /* reserved */
    }
}

static void full_sweep(gc_run *r) {
    rc_world *w = r->w;
    /* every examined object is judged below: the young generations empty */
    for (unsigned g = 0; g < 2; g++) w->young[g].len = 0;
    w->gen_size[0] = w->gen_size[1] = w->gen_size[2] = 0;
    for (size_t si = 0; si < r->pools.len; si++) {
        const full_span *s = &r->spans[si];
        for (size_t k = 0; k < s->cap; k++)
            if (full_inset(r, s->base + k)) full_judge(r, s->base + k, (rc_object_head *)(s->start + k * s->bs));
    }
    for (rc_large_obj *l = w->large; l; l = l->next) {
        rc_object_head *h = (rc_object_head *)(l + 1);
        if (!(h->type_bits & RC_DYING) && full_inset(r, h->gc_aux)) full_judge(r, h->gc_aux, h);
    }
}

/* Steps 1-4 of a full collection. False (nothing changed) when there is no
 * memory for the arrays. */
static bool full_find_unreachable(gc_run *r) {
    if (!full_setup(r)) return false;
    full_subtract(r);
    full_mark(r);
    full_sweep(r);
    full_free(r);
    return true;
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
    if (r.full) {
        if (!full_find_unreachable(&r)) return 0;
    } else {
        if (!gather(&r)) return 0;
        /* room for the worst case, so marking and sweeping never allocate */
        if (!_rc_vec_reserve(&r.stack, r.examined) || !_rc_vec_reserve(&r.unreachable, r.examined)) {
            abandon(&r);
            _rc_vec_free(&r.stack);
            _rc_vec_free(&r.unreachable);
            _rc_vec_free(&r.set);
            return 0;
        }
        find_unreachable(&r);
    }
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
