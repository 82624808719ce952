/*
 * heap.c — thread heaps and the allocation fast paths (rc_malloc, rc_free
 * and friends). The design essay is docs/heap.md; the data structures and
 * their invariants are in src/internal/heap.h.
 *
 * The fast paths. Each thread allocates from its own rc_heap, reached
 * through one initial-exec TLS load. rc_malloc of a small size indexes
 * heap->direct by (size + 15) >> 4, pops the pool's free list and counts
 * the block: no lock, no atomic read-modify-write, no call. rc_free masks
 * the address to its arena, checks one bit of the chunk map (so a pointer
 * we never gave out is noticed instead of followed), finds the descriptor
 * by index, and if the pool's owner word is the calling thread's heap,
 * pushes the block back. Everything else, from an exhausted pool to a
 * free from another thread, goes to a slow path out of line.
 *
 * Ownership of pools. A pool belongs to one heap from the moment it is
 * taken from its arena until it is returned; only that heap's thread
 * touches its free list. Another thread's free goes onto the pool's atomic
 * xfree list (one CAS); the owner takes the whole list with one exchange
 * when its free list runs dry. A pool the owner found exhausted is moved
 * to the heap's full list and its xfree word gets the NOTIFY bit; the first
 * remote free then clears the bit and sends the block to heap->delayed
 * instead, which tells the owner to put the pool back into service. The
 * block stays counted in `used` until the owner takes it, so the pool can
 * never be returned to its arena while a remote free is in flight.
 *
 * Threads that exit. A pthread key destructor collects everything the
 * heap can, returns its empty pools, and puts the heap on the abandoned
 * list; the next thread that starts adopts it whole (its pools, their
 * lists, pending remote frees). rc_heap_trim also processes abandoned
 * heaps, under the arena lock, so nothing is stranded. Heaps are never
 * freed, which is what makes reading a pool's owner safe for a remote free.
 *
 * fork. pthread_atfork takes the library's locks before fork and releases
 * them in both processes. Thread heaps have no lock, so in the child the
 * heaps of the threads that did not survive are marked lost (see
 * fork_child): never adopted or trimmed, since one may be mid-change.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal/heap.h"

rc_pool _rc_pool_empty;
rc_heap _rc_heap_empty = {
    .direct = {[0 ... RC_SMALL_CLASSES] = &_rc_pool_empty},
    .is_empty = true,
};
__thread rc_heap *_rc_heap_tls __attribute__((tls_model("initial-exec"))) = &_rc_heap_empty;
/* The heap the public fast paths use: the thread's heap in the default
 * mode, the empty placeholder in the debug and system modes (and before
 * start-up), so those paths need no mode test of their own. */
static __thread rc_heap *heap_public __attribute__((tls_model("initial-exec"))) = &_rc_heap_empty;
_Atomic(int) _rc_heap_mode = RC_MODE_UNINIT;
_Atomic(size_t) _rc_bytes_peak;

/* The registry of heaps; writes under _rc_arena_lock. */
static _Atomic(rc_heap *) all_heaps;
static rc_heap *abandoned_heaps;
static size_t abandoned_count;
/* Object heaps no world uses any more, for reuse (arena lock). */
static rc_heap *spare_object_heaps;
/* Metadata memory for heap structs (under the arena lock). */
static uint8_t *meta_next, *meta_end;

static pthread_key_t heap_key;
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(int) init_done;

#define RELAXED memory_order_relaxed

/* {==== counters the owner keeps (relaxed atomics: plain moves on x86) ==== */

static inline void used_add(rc_pool *pool, int32_t d) {
    atomic_store_explicit(&pool->used, atomic_load_explicit(&pool->used, RELAXED) + (uint32_t)d, RELAXED);
}

/* }==== */

/* {==== pool queues ==== */

static void direct_update(rc_heap *h, unsigned cls) {
    if (cls >= RC_SMALL_CLASSES) return;
    rc_pool *first = h->queues[cls].first;
    if (!first) first = &_rc_pool_empty;
    h->direct[cls + 1] = first;
    if (cls == 0) h->direct[0] = first;
}

static void list_remove(rc_pool_queue *q, rc_pool *pool) {
    if (pool->prev) pool->prev->next = pool->next;
    else q->first = pool->next;
    if (pool->next) pool->next->prev = pool->prev;
    else q->last = pool->prev;
    pool->next = pool->prev = NULL;
}

static void list_push_front(rc_pool_queue *q, rc_pool *pool) {
    pool->prev = NULL;
    pool->next = q->first;
    if (q->first) q->first->prev = pool;
    else q->last = pool;
    q->first = pool;
}

static void queue_remove(rc_heap *h, rc_pool *pool) {
    if (_rc_pool_full(pool)) {
        list_remove(&h->full, pool);
    } else {
        list_remove(&h->queues[pool->cls], pool);
        direct_update(h, pool->cls);
    }
}

static void queue_push_front(rc_heap *h, rc_pool *pool) {
    list_push_front(&h->queues[pool->cls], pool);
    direct_update(h, pool->cls);
}
/* }==== */

/* {==== pool state changes (owner only) ==== */

/* Mark an exhausted pool full. False when remote frees arrived meanwhile
 * (the caller collects them instead). */
static bool pool_mark_full(rc_heap *h, rc_pool *pool) {
    uintptr_t expected = 0;
    if (!atomic_compare_exchange_strong_explicit(&pool->xfree, &expected, RC_XFREE_NOTIFY, memory_order_acq_rel,
                                                 RELAXED))
        return false;
    queue_remove(h, pool);
    atomic_store_explicit(&pool->owner, (uintptr_t)h | RC_OWNER_FULL, RELAXED);
    list_push_front(&h->full, pool);
    return true;
}

static void pool_unfull(rc_heap *h, rc_pool *pool) {
    uintptr_t x = atomic_load_explicit(&pool->xfree, RELAXED);
    while ((x & RC_XFREE_NOTIFY) &&
           !atomic_compare_exchange_weak_explicit(&pool->xfree, &x, x & ~RC_XFREE_NOTIFY, memory_order_acq_rel,
                                                  RELAXED)) {
    }
    list_remove(&h->full, pool);
    atomic_store_explicit(&pool->owner, (uintptr_t)h, RELAXED);
    /* To the back: by the time allocation reaches it, more of its blocks
     * will have come back, so one slow path buys many fast ones. */
    rc_pool_queue *q = &h->queues[pool->cls];
    pool->next = NULL;
    pool->prev = q->last;
    if (q->last) q->last->next = pool;
    else q->first = pool;
    q->last = pool;
    direct_update(h, pool->cls);
}

/* Return an empty pool to its arena, unless it is the only pool of its class
 * in the heap and force is false (keeping it saves a lock round trip for a
 * program that allocates and frees one block in a loop). */
static void pool_retire(rc_heap *h, rc_pool *pool, bool force, bool locked) {
    assert(atomic_load_explicit(&pool->used, RELAXED) == 0);
    assert(_rc_pool_heap(pool) == h);
    if (!force && !pool->next && !pool->prev && !_rc_pool_full(pool)) return;
    queue_remove(h, pool);
    if (locked) _rc_arena_return_span_locked(pool);
    else _rc_arena_return_span(pool);
}

/* The owner frees b into pool, off the fast path. */
static void local_free(rc_heap *h, rc_pool *pool, rc_block *b, bool locked) {
    assert(_rc_pool_is_block(pool, b));
    assert(atomic_load_explicit(&pool->used, RELAXED) > 0);
    b->next = pool->free;
    pool->free = b;
    used_add(pool, -1);
    if (_rc_pool_full(pool)) pool_unfull(h, pool);
    if (atomic_load_explicit(&pool->used, RELAXED) == 0) pool_retire(h, pool, false, locked);
}

static void remote_free(rc_pool *pool, rc_block *b) {
    uintptr_t x = atomic_load_explicit(&pool->xfree, RELAXED);
    uintptr_t nx;
    bool delay;
    do {
        delay = (x & RC_XFREE_NOTIFY) != 0;
        if (delay) {
            nx = x & ~RC_XFREE_NOTIFY;
        } else {
            b->next = (rc_block *)x;
            nx = (uintptr_t)b;
        }
    } while (!atomic_compare_exchange_weak_explicit(&pool->xfree, &x, nx, memory_order_release, RELAXED));
    if (delay) {
        rc_heap *h = _rc_pool_heap(pool);
        rc_block *d = atomic_load_explicit(&h->delayed, RELAXED);
        do {
            b->next = d;
        } while (!atomic_compare_exchange_weak_explicit(&h->delayed, &d, b, memory_order_release, RELAXED));
    }
}

static void drain_delayed(rc_heap *h, bool locked) {
    if (!atomic_load_explicit(&h->delayed, RELAXED)) return;
    rc_block *b = atomic_exchange_explicit(&h->delayed, NULL, memory_order_acquire);
    while (b) {
        rc_block *next = b->next;
        local_free(h, _rc_pool_of(b), b, locked);
        b = next;
    }
}

/* Collect remote frees of every pool, put full pools that got blocks back
 * into service, and return empty pools (all of them when force). */
static size_t heap_collect(rc_heap *h, bool force, bool locked) {
    drain_delayed(h, locked);
    size_t purged = 0;
    for (unsigned c = 0; c < RC_SIZE_CLASSES; c++) {
        rc_pool *pool = h->queues[c].first;
        while (pool) {
            rc_pool *next = pool->next;
            _rc_pool_collect(pool);
            if (atomic_load_explicit(&pool->used, RELAXED) == 0) pool_retire(h, pool, force, locked);
            else if (force && !h->objects) purged += _rc_pool_purge_pages(pool);
            pool = next;
        }
    }
    rc_pool *pool = h->full.first;
    while (pool) {
        rc_pool *next = pool->next;
        if (_rc_pool_collect(pool)) {
            pool_unfull(h, pool);
            if (atomic_load_explicit(&pool->used, RELAXED) == 0) pool_retire(h, pool, force, locked);
            else if (force && !h->objects) purged += _rc_pool_purge_pages(pool);
        }
        pool = next;
    }
    return purged;
}
/* }==== */

/* {==== heaps of threads ==== */

static void thread_done(void *arg) {
    rc_heap *h = arg;
    if (!h || h->is_empty) return;
    heap_collect(h, true, false);
    pthread_mutex_lock(&_rc_arena_lock);
    h->abandoned = true;
    h->next_abandoned = abandoned_heaps;
    abandoned_heaps = h;
    abandoned_count++;
    pthread_mutex_unlock(&_rc_arena_lock);
    _rc_heap_tls = &_rc_heap_empty;
    heap_public = &_rc_heap_empty;
}

static rc_heap *heap_new_locked(void) {
    size_t need = (sizeof(rc_heap) + 63) & ~(size_t)63;
    if (meta_next == NULL || (size_t)(meta_end - meta_next) < need) {
        size_t chunk = 64 * 1024;
        uint8_t *m = _rc_os_map_aligned(chunk, _rc_os_page_size());
        if (!m) return NULL;
        meta_next = m;
        meta_end = m + chunk;
    }
    rc_heap *h = (rc_heap *)meta_next;
    meta_next += need;
    for (unsigned i = 0; i <= RC_SMALL_CLASSES; i++) h->direct[i] = &_rc_pool_empty;
    h->next_all = atomic_load_explicit(&all_heaps, RELAXED);
    atomic_store_explicit(&all_heaps, h, memory_order_release);
    return h;
}

/* Give the calling thread a heap: adopt an abandoned one or make one. */
static rc_heap *heap_attach(void) {
    _rc_heap_init();
    pthread_mutex_lock(&_rc_arena_lock);
    rc_heap *h = abandoned_heaps;
    if (h) {
        abandoned_heaps = h->next_abandoned;
        abandoned_count--;
        h->next_abandoned = NULL;
        h->abandoned = false;
    } else {
        h = heap_new_locked();
    }
    pthread_mutex_unlock(&_rc_arena_lock);
    if (!h) {
        errno = ENOMEM;
        return NULL;
    }
    _rc_heap_tls = h;
    if (atomic_load_explicit(&_rc_heap_mode, RELAXED) == RC_MODE_FAST) heap_public = h;
    pthread_setspecific(heap_key, h);
    return h;
}

size_t _rc_heap_count(size_t *abandoned) {
    size_t n = 0;
    pthread_mutex_lock(&_rc_arena_lock);
    for (rc_heap *h = atomic_load_explicit(&all_heaps, memory_order_acquire); h; h = h->next_all)
        if (!h->lost && !h->objects) n++;
    size_t ab = abandoned_count;
    pthread_mutex_unlock(&_rc_arena_lock);
    if (abandoned) *abandoned = ab;
    return n - ab;
}

void _rc_heap_note_peak(void) {
    size_t live = atomic_load_explicit(&_rc_span_bytes, RELAXED) + _rc_large_bytes();
    size_t peak = atomic_load_explicit(&_rc_bytes_peak, RELAXED);
    while (live > peak && !atomic_compare_exchange_weak_explicit(&_rc_bytes_peak, &peak, live, RELAXED, RELAXED)) {
    }
}
/* }==== */

/* {==== the allocation slow path ==== */

static rc_heap *heap_get(void) {
    rc_heap *h = _rc_heap_tls;
    if (RC_UNLIKELY(h->is_empty)) h = heap_attach();
    return h;
}

/* Take parked pages back until a block is free or none is parked. */
static bool unpark(rc_pool *pool) {
    while (!pool->free && _rc_pool_unpark(pool)) {
    }
    return pool->free != NULL;
}

/* A pool of class cls with a free block, made first in its queue; NULL
 * when the OS refuses memory. */
static RC_NOINLINE rc_pool *heap_find_pool(rc_heap *h, unsigned cls) {
    drain_delayed(h, false);
    if (RC_UNLIKELY(atomic_load_explicit(&h->trim_requested, RELAXED))) {
        atomic_store_explicit(&h->trim_requested, false, RELAXED);
        heap_collect(h, true, false);
    }
    rc_pool_queue *q = &h->queues[cls];
    rc_pool *pool = q->first;
    while (pool) {
        rc_pool *next = pool->next;
        if (pool->free || _rc_pool_collect(pool) || (!h->objects && unpark(pool)) ||
            _rc_pool_extend(pool, h->objects)) {
            if (pool != q->first) {
                list_remove(q, pool);
                queue_push_front(h, pool);
            }
            return pool;
        }
        if (!pool_mark_full(h, pool)) continue; /* remote frees came in: look again */
        pool = next;
    }
#if RC_DEBUG_CHECKS >= 2
    if (!_rc_heap_validate()) _rc_fatal("reclaim: heap corruption found by validation: %s", rc_last_error());
#endif
    pool = _rc_arena_take_span(h, cls, _rc_class_pools[cls]);
    if (!pool) return NULL;
    queue_push_front(h, pool);
    _rc_pool_extend(pool, h->objects);
    _rc_heap_note_peak();
    return pool;
}

static void *alloc_class(rc_heap *h, unsigned cls) {
    rc_pool *pool = h->queues[cls].first;
    if (!pool || !pool->free) {
        pool = heap_find_pool(h, cls);
        if (!pool) {
            errno = ENOMEM;
            return NULL;
        }
    }
    rc_block *b = pool->free;
    pool->free = b->next;
    used_add(pool, 1);
    return b;
}

static RC_NOINLINE void *core_malloc_slow(size_t size) {
    if (size > RC_MEDIUM_MAX) return _rc_large_alloc(size, RC_ALIGNMENT, false);
    rc_heap *h = heap_get();
    if (!h) return NULL;
    return alloc_class(h, _rc_class_of(size));
}

/* The owner's lock-free allocation of a small or medium block, or NULL. */
static inline void *malloc_fast(rc_heap *h, size_t size) {
    rc_pool *pool;
    if (RC_LIKELY(size <= RC_SMALL_MAX)) {
        pool = h->direct[(size + 15) >> 4];
    } else {
        if (size > RC_MEDIUM_MAX) return NULL;
        pool = h->queues[_rc_class_of(size)].first;
        if (!pool) return NULL;
    }
    rc_block *b = pool->free;
    if (RC_UNLIKELY(b == NULL)) return NULL;
    pool->free = b->next;
    used_add(pool, 1);
    return b;
}

static inline void *core_malloc(size_t size) {
    void *b = malloc_fast(_rc_heap_tls, size);
    if (RC_LIKELY(b != NULL)) return b;
    return core_malloc_slow(size);
}


void *_rc_core_aligned(size_t alignment, size_t size) {
    if (alignment <= RC_ALIGNMENT) return core_malloc(size);
    size_t n = size == 0 ? alignment : (size + alignment - 1) & ~(alignment - 1);
    if (n >= size && n <= RC_MEDIUM_MAX && alignment <= RC_POOL_SIZE) {
        unsigned c = _rc_class_of(n);
        while (c < RC_SIZE_CLASSES && _rc_class_size[c] % alignment != 0) c++;
        if (c < RC_SIZE_CLASSES) {
            rc_heap *h = heap_get();
            return h ? alloc_class(h, c) : NULL;
        }
    }
    return _rc_large_alloc(size, alignment, false);
}
/* }==== */

/* {==== free ==== */

static void report_foreign(const char *fn, const void *p) {
    _rc_set_error("%s: %p was not allocated by reclaim (ignored)", fn, p);
    _rc_message("reclaim: %s: %p was not allocated by reclaim (ignored)", fn, p);
}

static RC_NOINLINE void core_free_slow(void *p) {
    if (!p) return;
    uintptr_t a = (uintptr_t)p;
    if (_rc_is_arena(a)) {
        rc_pool *pool = _rc_span_head(a); /* a later pool of a span: its head */
        uintptr_t start = (uintptr_t)_rc_pool_start(pool);
        if (pool->state != RC_POOL_USED || a < start || !_rc_pool_offset_ok(pool, a - start)) {
            report_foreign("rc_free", p);
            return;
        }
        rc_heap *h = _rc_heap_tls;
        if (_rc_pool_heap(pool) == h && !h->is_empty) local_free(h, pool, p, false);
        else remote_free(pool, p);
        return;
    }
    if (_rc_chunk_bit(_rc_large_map, a) && _rc_large_owns(p)) {
        _rc_large_free(p);
        return;
    }
    report_foreign("rc_free", p);
}

/* The owner's lock-free free, or false when the slow path must decide. */
static inline bool free_fast(rc_heap *h, void *p) {
    uintptr_t a = (uintptr_t)p;
    if (RC_UNLIKELY(!_rc_is_arena(a))) return false;
    /* a later pool of a multi-pool span has owner 0: the slow path finds
     * its head */
    rc_pool *pool = _rc_pool_desc(a);
    if (RC_UNLIKELY(atomic_load_explicit(&pool->owner, RELAXED) != (uintptr_t)h)) return false;
    /* not a block start (a pointer into a block): the slow path reports it */
    if (RC_UNLIKELY(!_rc_pool_offset_ok(pool, a & (RC_POOL_SIZE - 1)))) return false;
    rc_block *b = p;
    b->next = pool->free;
    pool->free = b;
    uint32_t used = atomic_load_explicit(&pool->used, RELAXED) - 1;
    atomic_store_explicit(&pool->used, used, RELAXED);
    /* An empty pool alone in its queue stays: see pool_retire. */
    if (RC_UNLIKELY(used == 0) && (pool->next || pool->prev)) pool_retire(h, pool, false, false);
    return true;
}

static inline void core_free(void *p) {
    if (!free_fast(_rc_heap_tls, p)) core_free_slow(p);
}

void _rc_core_free(void *p) { core_free(p); }
/* }==== */

/* {==== sizes, ownership, realloc ==== */

/* Block size of p when it is a block start in a used span, else 0. Safe on
 * any pointer value: the arena lock keeps the arena from being unmapped and
 * its descriptors from changing while they are read. */
static size_t arena_block_size(const void *p) {
    pthread_mutex_lock(&_rc_arena_lock);
    size_t size = 0;
    if (_rc_is_arena((uintptr_t)p)) {
        rc_pool *pool = _rc_pool_of(p);
        if (pool && _rc_pool_is_block(pool, p)) size = _rc_pool_block_size(pool);
    }
    pthread_mutex_unlock(&_rc_arena_lock);
    return size;
}

size_t _rc_core_usable(const void *p) {
    if (!p) return 0;
    if (_rc_is_arena((uintptr_t)p)) return arena_block_size(p);
    if (_rc_chunk_bit(_rc_large_map, (uintptr_t)p)) return _rc_large_usable(p);
    return 0;
}

bool _rc_core_owns(const void *p) {
    if (!p) return false;
    if (_rc_is_arena((uintptr_t)p)) return arena_block_size(p) != 0;
    return _rc_chunk_bit(_rc_large_map, (uintptr_t)p) && _rc_large_owns(p);
}

void *_rc_core_realloc(void *p, size_t size) {
    if (!p) return core_malloc(size);
    size_t usable;
    if (_rc_is_arena((uintptr_t)p)) {
        rc_pool *pool = _rc_pool_of(p);
        if (!pool || !_rc_pool_is_block(pool, p)) goto foreign;
        usable = _rc_pool_block_size(pool);
        if (size <= usable && size * 2 > usable) return p;
    } else if (_rc_chunk_bit(_rc_large_map, (uintptr_t)p) && _rc_large_owns(p)) {
        if (size > RC_MEDIUM_MAX) return _rc_large_realloc(p, size);
        usable = _rc_large_usable(p);
    } else {
        goto foreign;
    }
    void *q = core_malloc(size);
    if (!q) return NULL;
    memcpy(q, p, size < usable ? size : usable);
    core_free(p);
    return q;
foreign:
    _rc_set_error("rc_realloc: %p was not allocated by reclaim", p);
    errno = EINVAL;
    return NULL;
}
/* }==== */

/* {==== object heaps (see heap.h) ==== */

rc_heap *_rc_heap_new_objects(void *world) {
    _rc_heap_init();
    pthread_mutex_lock(&_rc_arena_lock);
    rc_heap *h = spare_object_heaps;
    if (h) spare_object_heaps = h->next_abandoned;
    else h = heap_new_locked();
    if (h) {
        h->next_abandoned = NULL;
        h->objects = true;
        h->world = world;
    }
    pthread_mutex_unlock(&_rc_arena_lock);
    if (!h) errno = ENOMEM;
    return h;
}

void *_rc_heap_alloc_in(rc_heap *h, size_t size) {
    assert(size <= RC_MEDIUM_MAX);
    void *b = malloc_fast(h, size);
    return b ? b : alloc_class(h, _rc_class_of(size));
}

void _rc_heap_free_in(rc_heap *owner, void *p) {
    if (owner && free_fast(owner, p)) return;
    rc_pool *pool = _rc_pool_of(p);
    if (owner && _rc_pool_heap(pool) == owner) local_free(owner, pool, p, false);
    else remote_free(pool, p);
}

void _rc_heap_reclaim(rc_heap *h, bool all) { heap_collect(h, all, false); }

void _rc_heap_recycle(rc_heap *h) {
    assert(h->objects && _rc_heap_is_unused(h));
    pthread_mutex_lock(&_rc_arena_lock);
    h->world = NULL;
    h->next_abandoned = spare_object_heaps;
    spare_object_heaps = h;
    pthread_mutex_unlock(&_rc_arena_lock);
}

bool _rc_heap_is_unused(const rc_heap *h) {
    if (h->full.first || atomic_load_explicit(&((rc_heap *)h)->delayed, RELAXED)) return false;
    for (unsigned c = 0; c < RC_SIZE_CLASSES; c++)
        if (h->queues[c].first) return false;
    return true;
}

void _rc_heap_pools(rc_heap *h, rc_span_visit fn, void *arg) {
    for (unsigned c = 0; c < RC_SIZE_CLASSES; c++)
        for (rc_pool *pool = h->queues[c].first; pool; pool = pool->next) fn(pool, arg);
    for (rc_pool *pool = h->full.first; pool; pool = pool->next) fn(pool, arg);
}
/* }==== */

/* {==== trim, validation, fork ==== */

size_t _rc_heap_trim_all(void) {
    rc_heap *me = _rc_heap_tls;
    size_t released = 0;
    if (!me->is_empty) released += heap_collect(me, true, false);
    pthread_mutex_lock(&_rc_arena_lock);
    for (rc_heap *h = abandoned_heaps; h; h = h->next_abandoned) released += heap_collect(h, true, true);
    for (rc_heap *h = atomic_load_explicit(&all_heaps, RELAXED); h; h = h->next_all)
        if (h != me && !h->abandoned && !h->lost) atomic_store_explicit(&h->trim_requested, true, RELAXED);
    released += _rc_arena_purge_locked(true);
    pthread_mutex_unlock(&_rc_arena_lock);
    return released + _rc_large_trim(true);
}

bool _rc_heap_validate(void) {
    if (!_rc_arena_validate()) return false;
    rc_heap *h = _rc_heap_tls;
    if (h->is_empty) return true;
    for (unsigned c = 0; c < RC_SIZE_CLASSES; c++) {
        for (rc_pool *pool = h->queues[c].first; pool; pool = pool->next) {
            if (atomic_load_explicit(&pool->owner, RELAXED) != (uintptr_t)h || pool->cls != c) {
                _rc_set_error("heap validation: pool %p is in the wrong queue", (void *)pool);
                return false;
            }
            if (!_rc_pool_is_valid(pool)) return false;
        }
        if (c < RC_SMALL_CLASSES) {
            rc_pool *want = h->queues[c].first ? h->queues[c].first : &_rc_pool_empty;
            if (h->direct[c + 1] != want) {
                _rc_set_error("heap validation: direct entry of class %u is stale", c);
                return false;
            }
        }
    }
    for (rc_pool *pool = h->full.first; pool; pool = pool->next)
        if (!_rc_pool_full(pool) || _rc_pool_heap(pool) != h || !_rc_pool_is_valid(pool)) {
            if (!_rc_pool_full(pool)) _rc_set_error("heap validation: pool %p in the full list is not full", (void *)pool);
            return false;
        }
    return true;
}

static void fork_prepare(void) {
    _rc_debug_fork_prepare();
    _rc_system_fork_prepare();
    _rc_large_fork_prepare();
    pthread_mutex_lock(&_rc_arena_lock);
}

static void fork_parent(void) {
    pthread_mutex_unlock(&_rc_arena_lock);
    _rc_large_fork_parent();
    _rc_system_fork_parent();
    _rc_debug_fork_parent();
}

static void fork_child(void) {
    _rc_arena_fork_child();
    _rc_large_fork_child();
    _rc_system_fork_child();
    _rc_debug_fork_child();
    /* Only the forking thread lives on. The other threads' heaps may have
     * been in the middle of a lock-free change (their owners take no lock),
     * so they are not handed to anyone: they are marked lost. Frees into
     * their pools still work (the remote path only pushes atomically); the
     * memory is not reused in this process. */
    rc_heap *me = _rc_heap_tls;
    for (rc_heap *h = atomic_load_explicit(&all_heaps, RELAXED); h; h = h->next_all)
        if (h != me && !h->abandoned) h->lost = true;
}

static void at_exit(void) { rc_shutdown(); }

void _rc_heap_init(void) {
    if (RC_LIKELY(atomic_load_explicit(&init_done, memory_order_acquire))) return;
    pthread_mutex_lock(&init_lock);
    if (atomic_load_explicit(&init_done, RELAXED)) {
        pthread_mutex_unlock(&init_lock);
        return;
    }
    _rc_options_init();
    _rc_classes_init();
    pthread_key_create(&heap_key, thread_done);
    int m = (int)_rc_option(RC_OPT_MALLOC);
    atomic_store(&_rc_heap_mode, m == RC_MALLOC_DEBUG    ? RC_MODE_DEBUG
                                 : m == RC_MALLOC_SYSTEM ? RC_MODE_SYSTEM
                                                         : RC_MODE_FAST);
    atomic_store_explicit(&init_done, 1, memory_order_release);
    pthread_mutex_unlock(&init_lock);
    /* These may allocate: the heap is ready for them now. */
    _rc_runtime_start();
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    atexit(at_exit);
}
/* }==== */

/* {==== the public heap API: mode dispatch over the fast paths ==== */

#define MODE() atomic_load_explicit(&_rc_heap_mode, RELAXED)

static RC_NOINLINE int mode_slow(void) {
    _rc_heap_init();
    return MODE();
}

/* The allocator mode, starting the library first if it has not started. */
static inline int mode(void) {
    int m = MODE();
    return m == RC_MODE_FAST ? m : mode_slow();
}

static RC_NOINLINE void *malloc_slow(size_t size) {
    switch (mode()) {
    case RC_MODE_DEBUG: return _rc_debug_malloc(size, RC_ALIGNMENT, false);
    case RC_MODE_SYSTEM: return _rc_system_malloc(size, RC_ALIGNMENT, false);
    default: return core_malloc_slow(size);
    }
}

static RC_NOINLINE void *malloc_traced_slow(size_t size, rc_site *site, void *caller) {
    void *b = malloc_slow(size);
    return b ? _rc_trace_alloc_hook(b, size, site, caller) : NULL;
}

/* While tracing, the entry points go here, out of line, so that their
 * untraced path stays a leaf with a tail call (no frame to set up); and
 * this one ends in tail calls too (the hook, or its slow path), so that
 * it needs no frame either. */
static RC_NOINLINE void *malloc_traced(size_t size, rc_site *site, void *caller) {
    void *b = malloc_fast(heap_public, size);
    if (RC_UNLIKELY(b == NULL)) return malloc_traced_slow(size, site, caller);
    return _rc_trace_alloc_hook(b, size, site, caller);
}

static void free_slow(void *p);

static RC_NOINLINE void free_traced(void *p) {
    if (p) _rc_trace_free_hook(p);
    if (!free_fast(heap_public, p)) free_slow(p);
}

void *rc_malloc(size_t size) {
    if (RC_UNLIKELY(_rc_tracing_alloc(size))) return malloc_traced(size, NULL, __builtin_return_address(0));
    void *b = malloc_fast(heap_public, size);
    if (RC_LIKELY(b != NULL)) return b;
    return malloc_slow(size);
}

void *rc_malloc_at(size_t size, rc_site *site) {
    if (RC_UNLIKELY(_rc_tracing_alloc(size))) return malloc_traced(size, site, __builtin_return_address(0));
    void *b = malloc_fast(heap_public, size);
    if (RC_LIKELY(b != NULL)) return b;
    return malloc_slow(size);
}

static RC_NOINLINE void free_slow(void *p) {
    if (!p) return;
    switch (mode()) {
    case RC_MODE_DEBUG: _rc_debug_free(p); break;
    case RC_MODE_SYSTEM: _rc_system_free(p); break;
    default: core_free_slow(p); break;
    }
}

void rc_free(void *p) {
    if (RC_UNLIKELY(_rc_tracing_free(p))) {
        free_traced(p);
        return;
    }
    if (RC_LIKELY(free_fast(heap_public, p))) return;
    free_slow(p);
}

static void *calloc_any(size_t count, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        _rc_set_error("rc_calloc: %zu * %zu bytes overflows size_t", count, size);
        errno = ENOMEM;
        return NULL;
    }
    switch (mode()) {
    case RC_MODE_DEBUG: return _rc_debug_malloc(total, RC_ALIGNMENT, true);
    case RC_MODE_SYSTEM: return _rc_system_malloc(total, RC_ALIGNMENT, true);
    default: break;
    }
    if (total > RC_MEDIUM_MAX) return _rc_large_alloc(total, RC_ALIGNMENT, true);
    void *p = core_malloc(total);
    if (p) memset(p, 0, total);
    return p;
}

void *rc_calloc(size_t count, size_t size) {
    void *b = calloc_any(count, size);
    if (RC_TRACING() && b) _rc_trace_alloc_hook(b, count * size, NULL, __builtin_return_address(0));
    return b;
}

void *rc_calloc_at(size_t count, size_t size, rc_site *site) {
    void *b = calloc_any(count, size);
    if (RC_TRACING() && b) _rc_trace_alloc_hook(b, count * size, site, __builtin_return_address(0));
    return b;
}

static void *realloc_any(void *p, size_t size) {
    switch (mode()) {
    case RC_MODE_DEBUG: return _rc_debug_realloc(p, size);
    case RC_MODE_SYSTEM: return _rc_system_realloc(p, size);
    default: return _rc_core_realloc(p, size);
    }
}

/* A traced realloc: the old block's trace goes (a block that moved or
 * stayed: tracemalloc does the same), the result is traced anew; on
 * failure the old block is traced again, as it was. */
static RC_NOINLINE void *realloc_traced(void *p, size_t size, rc_site *site, void *caller) {
    if (p) _rc_trace_free_hook(p);
    void *q = realloc_any(p, size);
    if (q) _rc_trace_alloc_hook(q, size, site, caller);
    else if (p) _rc_trace_alloc_hook(p, rc_usable_size(p), site, caller);
    return q;
}

void *rc_realloc(void *p, size_t size) {
    if (RC_TRACING()) return realloc_traced(p, size, NULL, __builtin_return_address(0));
    return realloc_any(p, size);
}

void *rc_realloc_at(void *p, size_t size, rc_site *site) {
    if (RC_TRACING()) return realloc_traced(p, size, site, __builtin_return_address(0));
    return realloc_any(p, size);
}

static void *aligned_checked(size_t alignment, size_t size) {
    if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > RC_ARENA_SIZE) {
        _rc_set_error("rc_aligned_alloc: alignment %zu is not a power of two from 16 to 1 MiB", alignment);
        errno = EINVAL;
        return NULL;
    }
    return _rc_aligned_any(alignment, size);
}

void *rc_aligned_alloc(size_t alignment, size_t size) {
    void *b = aligned_checked(alignment, size);
    if (RC_TRACING() && b) _rc_trace_alloc_hook(b, size, NULL, __builtin_return_address(0));
    return b;
}

void *rc_aligned_alloc_at(size_t alignment, size_t size, rc_site *site) {
    void *b = aligned_checked(alignment, size);
    if (RC_TRACING() && b) _rc_trace_alloc_hook(b, size, site, __builtin_return_address(0));
    return b;
}

void *_rc_aligned_any(size_t alignment, size_t size) {
    if (alignment < RC_ALIGNMENT) alignment = RC_ALIGNMENT;
    switch (mode()) {
    case RC_MODE_DEBUG: return _rc_debug_malloc(size, alignment, false);
    case RC_MODE_SYSTEM: return _rc_system_malloc(size, alignment, false);
    default: return _rc_core_aligned(alignment, size);
    }
}

size_t rc_usable_size(const void *p) {
    if (!p) return 0;
    switch (mode()) {
    case RC_MODE_DEBUG: return _rc_debug_usable(p);
    case RC_MODE_SYSTEM: return _rc_system_usable(p);
    default: return _rc_core_usable(p);
    }
}

bool rc_owns(const void *p) {
    if (!p) return false;
    switch (mode()) {
    case RC_MODE_DEBUG: return _rc_debug_owns(p);
    case RC_MODE_SYSTEM: return _rc_system_owns(p);
    default: return _rc_core_owns(p);
    }
}

size_t rc_heap_trim(void) {
    _rc_heap_init();
    if (MODE() == RC_MODE_DEBUG) _rc_debug_flush();
    return _rc_heap_trim_all();
}
/* }==== */
