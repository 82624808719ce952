/*
 * src/internal/object.h — objects, collector worlds and weak references:
 * the internal interface of src/object (object.c, world.c, weakref.c) and
 * of src/gc (collect.c, gc.c). The design essay is docs/gc.md.
 *
 *   block in an object pool (16 + payload bytes, rounded to a size class)
 *   +----------+----------+----------------------------+---------------
 *   | refcnt   | gc_aux   | type | state bits << 48    | payload ...
 *   +----------+----------+----------------------------+---------------
 *   0          4          8                            16
 *   A free block's first word is the heap's free-list link; its word 1 (the
 *   type word) is zero. A walk of the pools reads word 1: nonzero means a
 *   live object (or one being released), zero a free block.
 */
#ifndef RC_INTERNAL_OBJECT_H
#define RC_INTERNAL_OBJECT_H
#ifndef RC_BUILDING_RECLAIM
#error "src/internal/object.h is internal to reclaim: include <reclaim.h> instead"
#endif

#include <pthread.h>

#include "heap.h"

/* Checked reference operations (reclaim.h): on in debug-checks builds. */
#ifndef RC_OBJECT_CHECKS
#define RC_OBJECT_CHECKS 0
#endif

/* ====================================================================
 * The header's state bits (object.c)
 *
 * Each bit says who sets and clears it. The generation is meaningful only
 * while TRACKED is set.
 * ==================================================================== */

#define RC_TYPE_MASK (((uintptr_t)1 << 48) - 1)
#define RC_BIT(n) ((uintptr_t)1 << (48 + (n)))
/* Generation 0..2, or 3 = permanent (frozen). Set by tracking (0), by the
 * collector's promotion, by freeze/unfreeze and when a world is orphaned. */
#define RC_GEN_SHIFT 48
#define RC_GEN_MASK ((uintptr_t)3 << RC_GEN_SHIFT)
#define RC_GEN_PERMANENT 3u
/* Tracked by the collector: set by rc_new (types with traverse) and
 * rc_gc_track, cleared by rc_gc_untrack and when the release starts. */
#define RC_TRACKED RC_BIT(2)
/* finalize has run: set before finalize is called (by the release or by
 * the collector); never cleared. */
#define RC_FINALIZED RC_BIT(3)
/* Weak references may point here (the weak table has an entry): set by
 * rc_weakref_new, cleared when the table entry is dropped. */
#define RC_WEAKREFS RC_BIT(4)
/* The object was mapped on its own (payload above the pool classes): a
 * rc_large_obj prefix sits before the header. Set at creation. */
#define RC_LARGE RC_BIT(5)
/* In the set a running collection examines; while set, gc_aux is the
 * collector's scratch (gc_refs, or a slot in its unreachable list) rather
 * than a young-generation slot. Set and cleared by the collector only. */
#define RC_COLLECTING RC_BIT(6)
/* Reached from outside the collected set (collector scratch). */
#define RC_REACHABLE RC_BIT(7)
/* The same two marks for a collection of the orphan world, which may run
 * on one thread while another collects its own world: each collection
 * reads and writes only its own pair. */
#define RC_COLLECTING_O RC_BIT(11)
#define RC_REACHABLE_O RC_BIT(12)
#define RC_IN_COLLECTION (RC_COLLECTING | RC_COLLECTING_O)
/* The count reached zero and the release is under way (word 0 may be the
 * release list's link): set by _rc_dealloc, cleared if finalize
 * resurrects. Weak references to it read as dead. */
#define RC_DYING RC_BIT(8)

/* Was tracked when its release began: a finalizer that resurrects it
 * tracks it again. Set by the release, cleared when it resurrects or dies. */
#define RC_RETRACK RC_BIT(10)

/* Statically allocated immortal objects (None, True, False, the small
 * ints...) are defined with RC_STATIC_OBJECT: they live in one linker
 * section, outside every heap, and belong to no world. */
#define RC_STATIC_OBJECT __attribute__((section("rc_static_objects"), aligned(16), used))
RC_INTERNAL bool _rc_is_static_object(const void *obj);

static inline rc_object_head *_rc_head(const void *obj) { return (rc_object_head *)obj - 1; }
static inline void *_rc_payload(const rc_object_head *h) { return (void *)(h + 1); }
static inline const rc_type *_rc_head_type(const rc_object_head *h) {
    return (const rc_type *)(h->type_bits & RC_TYPE_MASK);
}
static inline unsigned _rc_head_gen(const rc_object_head *h) {
    return (unsigned)((h->type_bits & RC_GEN_MASK) >> RC_GEN_SHIFT);
}
static inline void _rc_head_set_gen(rc_object_head *h, unsigned gen) {
    h->type_bits = (h->type_bits & ~RC_GEN_MASK) | ((uintptr_t)gen << RC_GEN_SHIFT);
}
static inline bool _rc_is_immortal(const rc_object_head *h) { return (int32_t)h->refcnt < 0; }
static inline const char *_rc_type_name(const rc_type *t) { return t && t->name ? t->name : "?"; }

/* ====================================================================
 * Vectors of object pointers (world.c). Storage from rc_malloc.
 * ==================================================================== */

typedef struct rc_vec {
    void **items;
    size_t len, cap;
} rc_vec;

/* Append; false (errno = ENOMEM) when the vector cannot grow. */
RC_INTERNAL bool _rc_vec_push(rc_vec *v, void *item);
RC_INTERNAL bool _rc_vec_reserve(rc_vec *v, size_t extra);
RC_INTERNAL void _rc_vec_free(rc_vec *v);

/* ====================================================================
 * Collector worlds (world.c)
 * ==================================================================== */

/* The prefix of an object mapped on its own (RC_LARGE), 32 bytes, so the
 * payload keeps its 16-byte alignment. In its world's `large` list. */
typedef struct rc_large_obj {
    struct rc_large_obj *prev, *next;
    struct rc_world *world;
    size_t payload;               /* payload bytes */
} rc_large_obj;

/*
 * A world: the objects of one thread (or the orphans of exited threads)
 * and the collector's state for them.
 *
 * Invariants, for a world W (on its thread, outside a collection):
 *   every live object of W is a block of W's heap (of one of W's heaps,
 *     for the orphan world) or is in W->large
 *   a tracked object of generation g < 2 is young[g].items[gc_aux]; the
 *     other entries of young[g] are NULL (holes left by untracking)
 *   gen_size[g] == tracked objects of generation g (young[g].len for g < 2;
 *     3 is the permanent generation)
 *   count[0] == allocations minus deallocations of objects whose type has
 *     traverse since the last collection (never below 0); count[g], g > 0:
 *     collections of generation g - 1 since the last of generation g
 *   the orphan world has no young generations: its objects are in 2 or 3
 */
typedef struct rc_world {
    rc_heap *heap;              /* a thread's world: its object pools */
    rc_vec heaps;               /* the orphan world: heaps of exited threads */
    rc_vec young[2];            /* generations 0 and 1 */
    size_t gen_size[4];
    size_t count[3];
    size_t long_lived_total;    /* survivors of the last full collection */
    size_t long_lived_pending;  /* promoted into generation 2 since */
    rc_gc_stats stats[3];
    rc_vec garbage;             /* gc.garbage: strong references */
    rc_large_obj *large;
    rc_vec *unreachable;        /* during a collection: its unreachable list */
    bool collecting;
    bool orphan;
    pthread_t thread;
} rc_world;

/* The calling thread's world, or NULL before its first object. */
RC_INTERNAL extern __thread rc_world *_rc_world_tls __attribute__((tls_model("initial-exec")));
RC_INTERNAL extern rc_world _rc_orphans;
/* The calling thread's world, made on first use; NULL (ENOMEM) on failure. */
RC_INTERNAL rc_world *_rc_world_make(void);
static inline rc_world *_rc_world_get(void) {
    rc_world *w = _rc_world_tls;
    return RC_LIKELY(w != NULL) ? w : _rc_world_make();
}
/* The world an object belongs to: its large prefix says, or the owner of its
 * pool (an object heap, whose world never changes while it holds objects
 * but when a thread's world is handed to the orphans). */
static inline rc_world *_rc_world_of(const rc_object_head *h) {
    if (RC_UNLIKELY(h->type_bits & RC_LARGE)) return ((const rc_large_obj *)h - 1)->world;
    uintptr_t a = (uintptr_t)h;
    rc_pool *pool = _rc_span_head(a);
    return (rc_world *)_rc_pool_heap(pool)->world;
}
/* The orphan lock, held by the calling thread (reentrant). */
RC_INTERNAL void _rc_orphans_lock(void);
RC_INTERNAL void _rc_orphans_unlock(void);
RC_INTERNAL bool _rc_orphans_held(void);
/* Note that h's pool may hold tracked objects (see rc_pool.tracked_hint). */
static inline void _rc_note_tracked(rc_object_head *h) {
    if (RC_UNLIKELY(h->type_bits & RC_LARGE)) return;
    uintptr_t a = (uintptr_t)h;
    rc_pool *pool = _rc_span_head(a);
    if (!pool->tracked_hint) pool->tracked_hint = 1;
}

/* Room for one more slot in young[g]: compacts a vector that is half holes,
 * else grows it. False when out of memory. */
RC_INTERNAL bool _rc_young_make_room(rc_world *w, unsigned g);

/* Track h in w (generation 0; generation 2 in the orphan world, or when
 * there is no memory for a slot). */
static inline void _rc_world_track(rc_world *w, rc_object_head *h) {
    uintptr_t bits = h->type_bits;
    if (bits & RC_TRACKED) return;
    bits |= RC_TRACKED;
    _rc_note_tracked(h);
    if (bits & RC_IN_COLLECTION) { /* the collector places it when done */
        h->type_bits = bits;
        return;
    }
    rc_vec *v = &w->young[0];
    if (RC_LIKELY(!w->orphan) && RC_LIKELY(v->len < v->cap || _rc_young_make_room(w, 0))) {
        h->gc_aux = (uint32_t)v->len;
        v->items[v->len++] = _rc_payload(h);
        h->type_bits = bits & ~RC_GEN_MASK;
        w->gen_size[0]++;
    } else {
        h->type_bits = (bits & ~RC_GEN_MASK) | ((uintptr_t)2 << RC_GEN_SHIFT);
        w->gen_size[2]++;
    }
}

/* Untrack h (no-op when untracked). A young object's slot becomes a hole. */
static inline void _rc_world_untrack(rc_world *w, rc_object_head *h) {
    uintptr_t bits = h->type_bits;
    if (!(bits & RC_TRACKED)) return;
    h->type_bits = bits & ~RC_TRACKED;
    if (bits & RC_IN_COLLECTION) return; /* the collector accounts for it */
    unsigned g = _rc_head_gen(h);
    if (g < 2) w->young[g].items[h->gc_aux] = NULL;
    w->gen_size[g]--;
}

/* Put h, tracked, in generation gen (>= 1) of w, after a collection. */
RC_INTERNAL void _rc_world_place(rc_world *w, rc_object_head *h, unsigned gen);
/* Call fn on every live object of w (tracked or not) in pool order, then
 * its large objects. fn must not free or allocate objects of w. */
typedef void (*rc_head_visit)(rc_object_head *h, void *arg);
RC_INTERNAL void _rc_world_walk(rc_world *w, rc_head_visit fn, void *arg);
/* Is p the payload of a live object (of any world)? Debug checks. */
RC_INTERNAL bool _rc_is_live_object(const void *p);

/* ====================================================================
 * Objects (object.c)
 * ==================================================================== */

/* A collection runs in a release context of its own: the releases it
 * causes complete before it returns, even when it was started from inside
 * another release (a destroy or finalizer that collects or allocates). */
typedef struct rc_release_state {
    rc_object_head *list;
    unsigned releasing;
} rc_release_state;
RC_INTERNAL void _rc_release_suspend(rc_release_state *saved);
RC_INTERNAL void _rc_release_resume(const rc_release_state *saved);

/* Object watchers (src/prof, e.g. per-type counters): while
 * _rc_trace_on has RC_HOOK_OBJECTS (src/internal/heap.h), rc_new and
 * rc_new_var call _rc_object_new_hook(obj) once the object is whole, and
 * the release calls _rc_object_free_hook(obj) after destroy, before the
 * memory goes back (the header still names the type). Never NULL (no-ops
 * until set); defined in src/prof/tracefile.c beside the heap's hooks. */
RC_INTERNAL extern void (*_rc_object_new_hook)(void *obj);
RC_INTERNAL extern void (*_rc_object_free_hook)(void *obj);

/* The automatic-collection hook rc_new calls when count[0] passes
 * threshold 0 (set by src/gc; a pointer so the object layer calls
 * nothing above it). */
RC_INTERNAL extern void (*_rc_gc_auto_hook)(rc_world *w);
/* Process-wide collector settings (world.c), read by rc_new, written by
 * gc.c; read from RECLAIM_GC_THRESHOLD and RECLAIM_GC_DEBUG once, by
 * _rc_gc_settings_init, before the first object or setting call. */
RC_INTERNAL extern _Atomic(bool) _rc_gc_enabled;
RC_INTERNAL extern _Atomic(size_t) _rc_gc_threshold[3];
RC_INTERNAL extern _Atomic(unsigned) _rc_gc_debug;
/* count[0] at which rc_new must look at collecting: threshold 0 while
 * automatic collection is on, else SIZE_MAX (kept by the setters). */
RC_INTERNAL extern _Atomic(size_t) _rc_gc_auto_at;
RC_INTERNAL void _rc_gc_settings_init(void);
RC_INTERNAL void _rc_gc_settings_changed(void);
/* Work run by rc_shutdown before the heap report (defined by src/gc;
 * installed as _rc_shutdown_hook when the first world is made). */
RC_INTERNAL extern void (*_rc_object_shutdown_hook)(void);
/* The exit leak report of RECLAIM_LEAKCHECK, run by that work after the
 * final collection and the pending finalize-on-death functions. Defined in
 * src/prof/leakcheck.c (so every program with objects links it); a
 * pointer, so the layers below call nothing above them. */
RC_INTERNAL extern void (*_rc_leakcheck_hook)(void);

/* ====================================================================
 * Weak references (weakref.c)
 * ==================================================================== */

/* Clear every weak reference to obj (now dying or unreachable). Those whose
 * callbacks must run are appended at *tail, each held by a new reference,
 * newest first; returns the new tail. skip_collecting: do not queue weak
 * references that are themselves unreachable garbage. tail NULL: queue
 * none. */
RC_INTERNAL rc_weakref **_rc_weakref_clear(void *obj, bool skip_collecting, rc_weakref **tail);
/* Run the callbacks of a list from _rc_weakref_clear and drop its
 * references. */
RC_INTERNAL void _rc_weakref_run(rc_weakref *list);
/* fork. src/gc registers one handler (installed through
 * _rc_object_atfork_hook when the first world is made) that takes the
 * object layers' locks in the order they nest in normal operation: the
 * orphan lock, the collector's callback lock, the finalize-on-death and
 * weak-reference locks, the checked builds' freed-large lock; and releases
 * them in reverse, in parent and child. */
RC_INTERNAL extern void (*_rc_object_atfork_hook)(void);
RC_INTERNAL void _rc_world_fork_prepare(void);
RC_INTERNAL void _rc_world_fork_parent(void);
RC_INTERNAL void _rc_object_fork_prepare(void);
RC_INTERNAL void _rc_object_fork_parent(void);
RC_INTERNAL void _rc_weakref_fork_prepare(void);
RC_INTERNAL void _rc_weakref_fork_parent(void);
/* rc_shutdown: run the pending rc_finalize_on_death functions. */
RC_INTERNAL void _rc_finalizers_run_all(void);

#endif
