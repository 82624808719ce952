/*
 * object.c — objects: creation, reference counts and the release.
 *
 * Header. 16 bytes before the payload (see src/internal/object.h): a
 * 32-bit count, 32 bits the collector uses (a young-generation slot, or
 * gc_refs while it runs), and the type pointer with the state bits in its
 * top 16 bits (user-space addresses fit in 48). Tracked objects pay no
 * more: the collector finds them by walking their pools.
 *
 * Counts. rc_incref/rc_decref are inline in reclaim.h: a load, an add and
 * a store on the owning thread, no atomic instruction. A count at or above
 * RC_IMMORTAL_REFCNT (bit 31 set) is immortal and is neither raised nor
 * lowered, so one sign test covers immortality.
 *
 * The release never recurses. When a count reaches zero, _rc_dealloc
 * releases the object: finalize (once, PEP 442; a finalizer that stores a
 * new reference resurrects the object and the release stops), the weak
 * references are cleared, destroy runs, the memory goes back to the pool,
 * and the weak-reference callbacks run last, when the object is gone. If
 * destroy drops the last reference to another object, that object's
 * release starts inside this one only while releases nest less than
 * RELEASE_NEST_MAX deep; deeper, the object is untracked, marked DYING and
 * pushed onto the thread's release list, linked through its (now unused)
 * count word, and the outermost _rc_dealloc takes it next. A
 * 10-million-node chain is released in a loop, with bounded stack
 * (CPython's trashcan, without allocating).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "internal/object.h"

/* The thread's release list, and how deeply releases nest now. */
static __thread rc_object_head *release_list __attribute__((tls_model("initial-exec")));
static __thread unsigned releasing __attribute__((tls_model("initial-exec")));
/* Releases nest directly up to this depth (a few KiB of stack), which
 * spares the list's bookkeeping for the shallow structures that are most of
 * them; deeper ones wait on the list. */
#define RELEASE_NEST_MAX 32

/* Checked builds give every pool object at least this many bytes, so a
 * freed object keeps its type in word 2 for the report of a later, wrong,
 * reference change (see free_memory). */
#define MIN_CHECKED_BLOCK 32

/* Checked builds also remember the last large objects freed (their
 * mappings are gone or reused), for the same report. */
#define FREED_LARGE_RING 64
static struct {
    pthread_mutex_t lock;
    struct {
        const void *obj;
        const rc_type *type;
    } ring[FREED_LARGE_RING];
    unsigned next;
} freed_large = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void note_freed_large(const void *obj, const rc_type *type) {
    pthread_mutex_lock(&freed_large.lock);
    freed_large.ring[freed_large.next].obj = obj;
    freed_large.ring[freed_large.next].type = type;
    freed_large.next = (freed_large.next + 1) % FREED_LARGE_RING;
    pthread_mutex_unlock(&freed_large.lock);
}

void _rc_object_fork_prepare(void) { pthread_mutex_lock(&freed_large.lock); }
void _rc_object_fork_parent(void) { pthread_mutex_unlock(&freed_large.lock); }

static const rc_type *freed_large_type(const void *obj) {
    const rc_type *t = NULL;
    pthread_mutex_lock(&freed_large.lock);
    for (unsigned i = 0; i < FREED_LARGE_RING; i++)
        if (freed_large.ring[i].obj == obj) t = freed_large.ring[i].type;
    pthread_mutex_unlock(&freed_large.lock);
    return t;
}

/* rc_new_var objects: rc_sizeof counts their whole block. Set at creation. */
#define RC_VAR RC_BIT(9)

/* {==== creation ==== */

/* Zero a payload in whole 16-byte units (a pool block is a multiple of 16
 * bytes); small ones with straight-line stores, others with a loop that
 * the empty asm keeps from becoming a call to memset, so that rc_new's
 * fast path calls nothing and saves no register. */
static inline void zero_payload(void *p, size_t payload) {
    uint64_t *q = p;
    size_t units = (payload + 15) >> 4;
    switch (units) {
    case 4: q[6] = q[7] = 0; /* fall through */
    case 3: q[4] = q[5] = 0; /* fall through */
    case 2: q[2] = q[3] = 0; /* fall through */
    case 1: q[0] = q[1] = 0; /* fall through */
    case 0: return;
    default:
        for (size_t i = 0; i < 2 * units; i += 2) {
            q[i] = q[i + 1] = 0;
            __asm__ volatile("" : : "r"(q) : "memory");
        }
    }
}

static RC_NOINLINE void *new_object(const char *fn, const rc_type *type, size_t extra, bool var) {
    if (!type) {
        _rc_set_error("%s: type is NULL", fn);
        errno = EINVAL;
        return NULL;
    }
    if (((uintptr_t)type & ~RC_TYPE_MASK) != 0 || ((uintptr_t)type & 7) != 0) {
        _rc_set_error("%s: type %p is not a usable rc_type address", fn, (const void *)type);
        errno = EINVAL;
        return NULL;
    }
    size_t payload, total;
    if (__builtin_add_overflow(type->size, extra, &payload) ||
        __builtin_add_overflow(payload, sizeof(rc_object_head) + sizeof(rc_large_obj), &total)) {
        _rc_set_error("%s: %s payload of %zu + %zu bytes overflows size_t", fn, _rc_type_name(type), type->size,
                      extra);
        errno = ENOMEM;
        return NULL;
    }
    total = payload + sizeof(rc_object_head);
    if (RC_OBJECT_CHECKS && total < MIN_CHECKED_BLOCK) total = MIN_CHECKED_BLOCK;
    rc_world *w = _rc_world_get();
    if (RC_UNLIKELY(!w)) {
        _rc_set_error("%s: out of memory for the thread's object world", fn);
        errno = ENOMEM;
        return NULL;
    }
    bool gc = type->traverse != NULL;
    if (gc) {
        /* CPython 3.11 counts in the allocation and collects there, before
         * the new object exists */
        size_t t0 = atomic_load_explicit(&_rc_gc_threshold[0], memory_order_relaxed);
        if (++w->count[0] > t0 && t0 != 0 && !w->collecting &&
            atomic_load_explicit(&_rc_gc_enabled, memory_order_relaxed))
            _rc_gc_auto_hook(w);
    }
    rc_object_head *h;
    uintptr_t bits = (uintptr_t)type | (var ? RC_VAR : 0);
    if (total <= RC_MEDIUM_MAX) {
        h = _rc_heap_alloc_in(w->heap, total);
        if (RC_LIKELY(h != NULL)) {
            zero_payload(h + 1, payload);
        }
    } else {
        rc_large_obj *l = _rc_large_alloc(total + sizeof(rc_large_obj), RC_ALIGNMENT, true);
        h = NULL;
        if (l) {
            l->world = w;
            l->payload = payload;
            l->prev = NULL;
            l->next = w->large;
            if (w->large) w->large->prev = l;
            w->large = l;
            h = (rc_object_head *)(l + 1);
            bits |= RC_LARGE;
        }
    }
    if (RC_UNLIKELY(!h)) {
        if (gc && w->count[0] > 0) w->count[0]--;
        _rc_set_error("%s: out of memory for a %zu-byte %s", fn, payload, _rc_type_name(type));
        errno = ENOMEM;
        return NULL;
    }
    h->refcnt = 1;
    h->gc_aux = 0;
    h->type_bits = bits;
    if (gc && !(type->flags & RC_TYPE_UNTRACKED)) _rc_world_track(w, h);
    return h + 1;
}

/* rc_new's fast path: a small object of a valid type on a thread that has a
 * world, with no collection due, from a pool with a free block; NULL for
 * anything else (including every error), which the caller hands to
 * new_object in a tail call, so that this path is a leaf that saves no
 * register. */
static inline __attribute__((always_inline)) void *new_fast(const rc_type *type) {
    rc_world *w = _rc_world_tls;
    if (RC_UNLIKELY(!w || !type || ((uintptr_t)type & (~RC_TYPE_MASK | 7)) != 0)) return NULL;
    size_t payload = type->size;
    if (RC_UNLIKELY(payload > RC_SMALL_MAX - sizeof(rc_object_head))) return NULL;
    bool gc = type->traverse != NULL;
    if (gc && RC_UNLIKELY(w->count[0] >= atomic_load_explicit(&_rc_gc_auto_at, memory_order_relaxed))) return NULL;
    size_t total = payload + sizeof(rc_object_head);
    if (RC_OBJECT_CHECKS && total < MIN_CHECKED_BLOCK) total = MIN_CHECKED_BLOCK;
    rc_pool *pool = w->heap->direct[(total + 15) >> 4];
    rc_object_head *h = (rc_object_head *)pool->free;
    if (RC_UNLIKELY(!h)) return NULL;
    rc_vec *young = &w->young[0];
    if (gc && RC_UNLIKELY(young->len == young->cap)) return NULL;
    pool->free = ((rc_block *)h)->next;
    atomic_store_explicit(&pool->used, atomic_load_explicit(&pool->used, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    zero_payload(h + 1, payload);
    h->refcnt = 1;
    if (gc && RC_LIKELY(!(type->flags & RC_TYPE_UNTRACKED))) {
        /* tracked, in generation 0 (a thread's world is never the orphans') */
        if (RC_UNLIKELY(!pool->tracked_hint)) pool->tracked_hint = 1;
        w->count[0]++;
        h->gc_aux = (uint32_t)young->len;
        young->items[young->len++] = h + 1;
        w->gen_size[0]++;
        h->type_bits = (uintptr_t)type | RC_TRACKED;
    } else {
        if (gc) w->count[0]++; /* RC_TYPE_UNTRACKED: counted, not tracked */
        h->gc_aux = 0;
        h->type_bits = (uintptr_t)type;
    }
    return h + 1;
}

/* Tracing: an object is traced under its header, the start of its block
 * (rc_trace_site_of maps an object to it), at 16 + payload bytes. Out of
 * line, so that rc_new's untraced path stays a leaf with a tail call. */
static RC_NOINLINE void trace_new(void *obj, size_t extra, rc_site *site, void *caller) {
    (void)_rc_trace_alloc_hook(_rc_head(obj), sizeof(rc_object_head) + _rc_head_type(_rc_head(obj))->size + extra,
                               site, caller);
    if (atomic_load_explicit(&_rc_trace_on, memory_order_relaxed) & RC_HOOK_OBJECTS) _rc_object_new_hook(obj);
}

static RC_NOINLINE void *new_slow(const rc_type *type) { return new_object("rc_new", type, 0, false); }

/* Tracing is on: trace the new object, unless sampling passes over it
 * (_rc_tracing_alloc: the heap's entry points decide the same way). */
static inline void maybe_trace_new(void *o, size_t extra, rc_site *site, void *caller) {
    if (o && _rc_tracing_alloc(sizeof(rc_object_head) + _rc_head_type(_rc_head(o))->size + extra))
        trace_new(o, extra, site, caller);
}

static RC_NOINLINE void *new_traced(const rc_type *type, rc_site *site, void *caller) {
    void *o = new_fast(type);
    if (!o) o = new_slow(type);
    maybe_trace_new(o, 0, site, caller);
    return o;
}

void *rc_new(const rc_type *type) {
    if (RC_TRACING()) return new_traced(type, NULL, __builtin_return_address(0));
    void *o = new_fast(type);
    return RC_LIKELY(o != NULL) ? o : new_slow(type);
}

void *rc_new_at(const rc_type *type, rc_site *site) {
    if (RC_TRACING()) return new_traced(type, site, __builtin_return_address(0));
    void *o = new_fast(type);
    return RC_LIKELY(o != NULL) ? o : new_slow(type);
}

void *rc_new_var(const rc_type *type, size_t extra) {
    void *o = new_object("rc_new_var", type, extra, extra != 0);
    if (RC_TRACING()) maybe_trace_new(o, extra, NULL, __builtin_return_address(0));
    return o;
}

void *rc_new_var_at(const rc_type *type, size_t extra, rc_site *site) {
    void *o = new_object("rc_new_var", type, extra, extra != 0);
    if (RC_TRACING()) maybe_trace_new(o, extra, site, __builtin_return_address(0));
    return o;
}
/* }==== */

/* {==== the release ==== */

/* Give the memory of a released object back. */
static void free_memory(rc_world *w, rc_object_head *h) {
    if (RC_TRACING()) {
        if (atomic_load_explicit(&_rc_trace_on, memory_order_relaxed) & RC_HOOK_OBJECTS) _rc_object_free_hook(h + 1);
        if (_rc_tracing_free(h)) _rc_trace_free_hook(h); /* sampling: only blocks that may be sampled */
    }
    uintptr_t bits = h->type_bits;
    /* keep the type in word 2 for the report of a later, wrong, reference
     * change (checked builds); the block's payload is dead anyway */
    if (RC_OBJECT_CHECKS && !(bits & RC_LARGE) && _rc_pool_block_size(_rc_pool_of(h)) >= 32)
        ((uintptr_t *)h)[2] = bits & RC_TYPE_MASK;
    h->type_bits = 0;
    if (bits & RC_LARGE) {
        rc_large_obj *l = (rc_large_obj *)h - 1;
        if (l->prev) l->prev->next = l->next;
        else w->large = l->next;
        if (l->next) l->next->prev = l->prev;
        if (RC_OBJECT_CHECKS) note_freed_large(h + 1, (const rc_type *)(bits & RC_TYPE_MASK));
        _rc_large_free(l);
    } else {
        /* the world's own thread takes its pools' blocks back directly;
         * anyone else (orphans) through the remote path */
        rc_heap *owner = w == _rc_world_tls ? w->heap : NULL;
        if (!owner || !_rc_heap_free_owned(owner, h)) _rc_heap_free_in(owner, h);
    }
}

/* Stop tracking an object whose release starts; a collector holding it in
 * its unreachable list forgets it. A tracked object keeps RC_RETRACK, so a
 * finalizer that resurrects it (even after it waited on the release list)
 * leaves it tracked as before. */
static inline void release_untrack(rc_world *w, rc_object_head *h) {
    uintptr_t bits = h->type_bits;
    if (RC_UNLIKELY(bits & RC_IN_COLLECTION)) {
        /* held by a collection (even if untracked since): leave its list */
        if (w->unreachable) w->unreachable->items[h->gc_aux] = NULL;
        h->type_bits = (bits & ~(RC_IN_COLLECTION | RC_REACHABLE | RC_REACHABLE_O | RC_TRACKED)) |
                       ((bits & RC_TRACKED) ? RC_RETRACK : 0);
        return;
    }
    if (!(bits & RC_TRACKED)) return;
    h->type_bits = (bits & ~RC_TRACKED) | RC_RETRACK;
    unsigned g = _rc_head_gen(h);
    if (g < 2) w->young[g].items[h->gc_aux] = NULL;
    w->gen_size[g]--;
}

/* finalize, at most once; true when it resurrected the object. */
static RC_NOINLINE bool release_finalize(rc_world *w, rc_object_head *h, const rc_type *t) {
    h->type_bits = (h->type_bits | RC_FINALIZED) & ~RC_DYING;
    h->refcnt = 1;
    t->finalize(h + 1);
    if (--h->refcnt == 0) return false;
    /* resurrected: alive again, and tracked as before */
    if (h->type_bits & RC_RETRACK) {
        h->type_bits &= ~RC_RETRACK;
        _rc_world_track(w, h);
    }
    return true;
}

/* The world of an object being released: usually the calling thread's,
 * recognised from the pool's owner word alone (no load of the heap's world
 * pointer in the way). */
static inline rc_world *release_world(const rc_object_head *h) {
    rc_world *me = _rc_world_tls;
    if (RC_LIKELY(me != NULL) && RC_LIKELY(!(h->type_bits & RC_LARGE))) {
        uintptr_t a = (uintptr_t)h;
        rc_pool *pool = _rc_span_head(a);
        if (_rc_pool_heap(pool) == me->heap) return me;
    }
    return _rc_world_of(h);
}

static void release(rc_object_head *h) {
    void *obj = h + 1;
    const rc_type *t = _rc_head_type(h);
    rc_world *w = release_world(h);
    bool locked = RC_UNLIKELY(w->orphan);
    if (locked) _rc_orphans_lock();
    release_untrack(w, h);
    if (RC_UNLIKELY(t->finalize != NULL) && !(h->type_bits & RC_FINALIZED)) {
        if (release_finalize(w, h, t)) {
            if (locked) _rc_orphans_unlock();
            return;
        }
        /* a finalizer that tracked its object without resurrecting it */
        if (h->type_bits & RC_TRACKED) release_untrack(w, h);
    }
    uintptr_t bits = (h->type_bits | RC_DYING) & ~RC_RETRACK;
    h->type_bits = bits;
    rc_weakref *callbacks = NULL;
    if (RC_UNLIKELY(bits & RC_WEAKREFS)) _rc_weakref_clear(obj, false, &callbacks);
    if (t->destroy) t->destroy(obj);
    if (t->traverse && w->count[0] > 0 && !w->orphan) w->count[0]--;
    free_memory(w, h);
    if (locked) _rc_orphans_unlock();
    if (RC_UNLIKELY(callbacks != NULL)) _rc_weakref_run(callbacks);
}

void _rc_dealloc(void *obj) {
    rc_object_head *h = _rc_head(obj);
    if (releasing && releasing < RELEASE_NEST_MAX) {
        releasing++;
        release(h);
        releasing--;
        return;
    }
    if (releasing) {
        /* inside another release: queue it (see the essay above) */
        rc_world *w = _rc_world_of(h);
        bool locked = w->orphan;
        if (locked) _rc_orphans_lock();
        release_untrack(w, h);
        h->type_bits |= RC_DYING;
        if (locked) _rc_orphans_unlock();
        *(rc_object_head **)h = release_list;
        release_list = h;
        return;
    }
    releasing = 1;
    release(h);
    while (release_list) {
        h = release_list;
        release_list = *(rc_object_head **)h;
        release(h);
    }
    releasing = 0;
}

void _rc_release_suspend(rc_release_state *saved) {
    saved->list = release_list;
    saved->releasing = releasing;
    release_list = NULL;
    releasing = 0;
}

void _rc_release_resume(const rc_release_state *saved) {
    release_list = saved->list;
    releasing = saved->releasing;
}
/* }==== */

/* {==== inspection ==== */

size_t rc_refcount(const void *obj) { return obj ? _rc_head(obj)->refcnt : 0; }

const rc_type *rc_type_of(const void *obj) { return obj ? _rc_head_type(_rc_head(obj)) : NULL; }

size_t rc_sizeof(const void *obj) {
    if (!obj) return 0;
    const rc_object_head *h = _rc_head(obj);
    if (h->type_bits & RC_LARGE) return sizeof *h + ((const rc_large_obj *)h - 1)->payload;
    if (h->type_bits & RC_VAR) return _rc_pool_block_size(_rc_pool_of(h));
    return sizeof *h + _rc_head_type(h)->size;
}

void rc_immortalize(void *obj) {
    if (obj) _rc_head(obj)->refcnt = RC_IMMORTAL_REFCNT;
}
/* }==== */

/* {==== checked reference operations (debug builds) ==== */

/* The linker's bounds of the RC_STATIC_OBJECT section (weak: a program
 * may have none). */
extern const char __start_rc_static_objects[] __attribute__((weak, visibility("hidden")));
extern const char __stop_rc_static_objects[] __attribute__((weak, visibility("hidden")));

bool _rc_is_static_object(const void *obj) {
    const char *p = obj;
    return __start_rc_static_objects && p > __start_rc_static_objects && p < __stop_rc_static_objects;
}

/* Is h the header of a block of an object pool (live or not)? Safe on any
 * pointer value. */
static bool object_block(const rc_object_head *h) {
    if (!_rc_is_arena((uintptr_t)h) || ((uintptr_t)h & 15) != 0) return false;
    rc_pool *pool = _rc_pool_of(h);
    return pool && _rc_pool_heap(pool) && _rc_pool_heap(pool)->objects && _rc_pool_is_block(pool, h);
}

static void check_object(const char *op, void *obj) {
    rc_object_head *h = _rc_head(obj);
    if (RC_UNLIKELY(!_rc_is_live_object(obj))) {
        if (_rc_is_static_object(obj)) return; /* None, small ints: immortal */
        bool block = object_block(h);
        if (block && (h->type_bits & RC_DYING))
            _rc_fatal("reclaim: %s of object %p (type %s) whose reference count is already zero (it is being "
                      "released)",
                      op, obj, _rc_type_name(_rc_head_type(h)));
        /* a freed pool object keeps its type in word 2 (see free_memory); a
         * freed large one is remembered in a ring */
        const rc_type *freed = NULL;
        if (block && h->type_bits == 0 && _rc_pool_block_size(_rc_pool_of(h)) >= 32)
            freed = (const rc_type *)((uintptr_t *)h)[2];
        else if (!block)
            freed = freed_large_type(obj);
        if (freed)
            _rc_fatal("reclaim: %s of object %p (type %s) whose reference count is already zero (it was freed)", op,
                      obj, _rc_type_name(freed));
        _rc_fatal("reclaim: %s of %p, which is not a live object", op, obj);
    }
    if ((int32_t)h->refcnt < 0) return; /* immortal: shared by every thread, never counted */
    rc_world *w = _rc_world_of(h);
    if (!w->orphan && w != _rc_world_tls)
        _rc_fatal("reclaim: %s of object %p (type %s) from a thread that does not own it", op, obj,
                  _rc_type_name(_rc_head_type(h)));
}

void _rc_incref_checked(void *obj) {
    check_object("rc_incref", obj);
    rc_object_head *h = _rc_head(obj);
    if ((int32_t)h->refcnt >= 0) h->refcnt++;
}

void _rc_decref_checked(void *obj) {
    check_object("rc_decref", obj);
    rc_object_head *h = _rc_head(obj);
    if (h->refcnt == 0)
        _rc_fatal("reclaim: rc_decref of object %p (type %s) whose reference count is already zero", obj,
                  _rc_type_name(_rc_head_type(h)));
    if ((int32_t)h->refcnt >= 0 && --h->refcnt == 0) _rc_dealloc(obj);
}
/* }==== */
