/*
 * arena.c — arenas: 1 MiB of address space cut into 64 pools of 16 KiB.
 *
 * What it does. Thread heaps ask this file for spans (one pool for a small
 * class, a few adjacent pools for a medium class) and hand them back when
 * every block in them is free. It decides which arena a span comes from,
 * when free pools go back to the OS, and when a whole arena is unmapped.
 * All of it runs under one mutex, _rc_arena_lock: spans change hands a few
 * thousand times per second at most (a 16 KiB pool holds 32..1024 small
 * blocks), so the lock is far from the per-block fast paths, which take no
 * lock at all.
 *
 * Data. Pool 0 of every arena holds the rc_arena header: maps of free and
 * dirty pools and the 64 pool descriptors (src/internal/heap.h lists the
 * invariants). Arenas sit in bucket lists by their number of free pools,
 * like pymalloc's usable_arenas: a span is taken from the arena with the
 * FEWEST free pools that can hold it, so busy arenas fill up and quiet
 * ones drain until they are empty and can be unmapped. Within an arena a
 * one-pool span prefers a dirty (still resident) pool, so reuse does not
 * fault fresh pages in while purged memory stays purged.
 *
 * Purging. A returned pool is dirty: free but resident. After
 * RECLAIM_PURGE_DELAY milliseconds it is purged (MADV_DONTNEED), and an
 * arena whose pools are all free is unmapped instead. When dirty memory
 * exceeds RECLAIM_HEAP_RETAIN bytes everything dirty is purged at once.
 * rc_heap_trim() purges and unmaps everything free now. Any size class can
 * reuse a free pool: the pool is only a place, its class is set when taken.
 *
 * The chunk maps (one bit per 1 MiB of address space) say which chunks are
 * arenas; large.c keeps the second map for large blocks. Bits are set
 * before an arena's first block is handed out and cleared before it is
 * unmapped, so a thread holding a live block always sees its bit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "internal/heap.h"

_Atomic(uint8_t) _rc_arena_map[RC_CHUNKS];
_Atomic(uint64_t) _rc_large_map[RC_CHUNKS / 64];
pthread_mutex_t _rc_arena_lock = PTHREAD_MUTEX_INITIALIZER;
_Atomic(size_t) _rc_span_bytes;

/* The arena manager; everything under _rc_arena_lock. */
static struct {
    rc_arena *buckets[RC_POOLS_PER_ARENA]; /* by nfree, 0..63 */
    size_t narenas;
    size_t dirty_bytes;                    /* free pools still resident */
    uint64_t next_purge_ns;                /* earliest purge_at; 0: none */
    uint32_t seq;                          /* the last arena's seq */
} mgr;

#define ALL_POOLS (~(uint64_t)1) /* pools 1..63 */

static void chunk_set(uintptr_t p, bool on) {
    atomic_store_explicit(&_rc_arena_map[p >> RC_ARENA_SHIFT], on ? 1 : 0, memory_order_relaxed);
}

/* {==== buckets ==== */

static void bucket_remove(rc_arena *a) {
    if (a->prev) a->prev->next = a->next;
    else mgr.buckets[a->nfree] = a->next;
    if (a->next) a->next->prev = a->prev;
    a->next = a->prev = NULL;
}

static void bucket_insert(rc_arena *a) {
    a->prev = NULL;
    a->next = mgr.buckets[a->nfree];
    if (a->next) a->next->prev = a;
    mgr.buckets[a->nfree] = a;
}
/* }==== */

static rc_arena *arena_new(void) {
    rc_arena *a = _rc_os_map_aligned(RC_ARENA_SIZE, RC_ARENA_SIZE);
    if (!a) return NULL;
    /* Fresh mappings are zero: only non-zero fields need setting. */
    a->free_map = ALL_POOLS;
    a->nfree = RC_POOLS_PER_ARENA - 1;
    a->seq = ++mgr.seq;
    a->pools[0].state = RC_POOL_META;
    chunk_set((uintptr_t)a, true);
    mgr.narenas++;
    bucket_insert(a);
    return a;
}

/* Give the side tables of pools first..first+n-1 back to src/prof. */
static void side_drop(rc_arena *a, unsigned first, unsigned n) {
    for (unsigned i = first; i < first + n; i++)
        if (atomic_load_explicit(&a->side[i], memory_order_relaxed)) {
            _rc_arena_side_hook(a, first, n);
            return;
        }
}

static void arena_unmap(rc_arena *a) {
    side_drop(a, 1, RC_POOLS_PER_ARENA - 1);
    bucket_remove(a);
    mgr.dirty_bytes -= (size_t)__builtin_popcountll(a->dirty_map) << RC_POOL_SHIFT;
    chunk_set((uintptr_t)a, false);
    mgr.narenas--;
    _rc_os_unmap(a, RC_ARENA_SIZE);
}

/* First index of a run of n free pools in a, preferring dirty pools for a
 * single pool; -1 when there is none. */
static int find_run(const rc_arena *a, unsigned n) {
    uint64_t m = a->free_map;
    if (n == 1) {
        uint64_t d = a->dirty_map ? a->dirty_map : m;
        return d ? __builtin_ctzll(d) : -1;
    }
    /* bits where a run of n free pools starts */
    uint64_t run = m;
    for (unsigned k = 1; k < n && run; k++) run &= m >> k;
    return run ? __builtin_ctzll(run) : -1;
}

rc_pool *_rc_arena_take_span(rc_heap *heap, unsigned cls, unsigned n) {
    pthread_mutex_lock(&_rc_arena_lock);
    rc_arena *a = NULL;
    int at = -1;
    for (unsigned f = n; f < RC_POOLS_PER_ARENA && at < 0; f++) {
        for (a = mgr.buckets[f]; a; a = a->next) {
            at = find_run(a, n);
            if (at >= 0) break;
        }
    }
    if (at < 0) {
        a = arena_new();
        if (!a) {
            pthread_mutex_unlock(&_rc_arena_lock);
            errno = ENOMEM;
            return NULL;
        }
        at = find_run(a, n);
    }
    uint64_t bits = (n == 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1)) << at;
    bucket_remove(a);
    a->free_map &= ~bits;
    mgr.dirty_bytes -= (size_t)__builtin_popcountll(a->dirty_map & bits) << RC_POOL_SHIFT;
    a->dirty_map &= ~bits;
    a->nfree -= n;
    bucket_insert(a);
    atomic_fetch_add_explicit(&_rc_span_bytes, (size_t)n << RC_POOL_SHIFT, memory_order_relaxed);

    side_drop(a, (unsigned)at, n);
    rc_pool *head = &a->pools[at];
    for (unsigned k = 1; k < n; k++) {
        rc_pool *q = head + k;
        q->state = RC_POOL_INTERIOR;
        q->head_offset = (uint8_t)k;
        atomic_store_explicit(&q->owner, 0, memory_order_relaxed);
    }
    head->state = RC_POOL_USED;
    head->npools = (uint8_t)n;
    head->head_offset = 0;
    head->cls = (uint8_t)cls;
    head->magic = _rc_class_magic[cls];
    atomic_store_explicit(&head->limit, 0, memory_order_relaxed); /* nothing carved: only offset 0 */
    atomic_store_explicit(&head->capacity, 0, memory_order_relaxed);
    head->parked = 0;
    head->free = NULL;
    head->next = head->prev = NULL;
    atomic_store_explicit(&head->used, 0, memory_order_relaxed);
    atomic_store_explicit(&head->xfree, 0, memory_order_relaxed);
    atomic_store_explicit(&head->owner, (uintptr_t)heap, memory_order_relaxed);
    pthread_mutex_unlock(&_rc_arena_lock);
    return head;
}

static rc_arena *arena_of(const void *p) {
    return (rc_arena *)((uintptr_t)p & ~(uintptr_t)RC_ARENA_MASK);
}

static size_t purge_arena(rc_arena *a) {
    if (a->nfree == RC_POOLS_PER_ARENA - 1) {
        arena_unmap(a);
        return RC_ARENA_SIZE;
    }
    size_t released = 0;
    uint64_t d = a->dirty_map;
    while (d) {
        unsigned i = (unsigned)__builtin_ctzll(d);
        unsigned j = i;
        while (j < 64 && (d >> j) & 1) j++;
        _rc_os_purge((uint8_t *)a + ((size_t)i << RC_POOL_SHIFT), (size_t)(j - i) << RC_POOL_SHIFT);
        released += (size_t)(j - i) << RC_POOL_SHIFT;
        d &= (j == 64) ? 0 : ~(((uint64_t)1 << j) - 1);
    }
    mgr.dirty_bytes -= released;
    a->dirty_map = 0;
    a->purge_at_ns = 0;
    return released;
}

/* Purge what is due at time now (everything when force). Lock held. */
static size_t purge_due(uint64_t now, bool force) {
    if (!force && (mgr.next_purge_ns == 0 || now < mgr.next_purge_ns)) return 0;
    size_t released = 0;
    uint64_t next = 0;
    for (unsigned f = 0; f < RC_POOLS_PER_ARENA; f++) {
        rc_arena *a = mgr.buckets[f];
        while (a) {
            rc_arena *nx = a->next;
            if (a->dirty_map || a->nfree == RC_POOLS_PER_ARENA - 1) {
                if (force || a->purge_at_ns <= now) released += purge_arena(a);
                else if (next == 0 || a->purge_at_ns < next) next = a->purge_at_ns;
            }
            a = nx;
        }
    }
    mgr.next_purge_ns = next;
    return released;
}

size_t _rc_arena_purge_locked(bool force) { return purge_due(_rc_now_ns(), force); }

void _rc_arena_return_span_locked(rc_pool *pool) {
    rc_arena *a = arena_of(pool);
    unsigned at = (unsigned)(pool - a->pools);
    unsigned n = pool->npools;
    uint64_t bits = (((uint64_t)1 << n) - 1) << at;
    for (unsigned k = 0; k < n; k++) {
        rc_pool *q = pool + k;
        atomic_store_explicit(&q->owner, 0, memory_order_relaxed);
        q->state = RC_POOL_FREE;
        q->npools = 0;
        q->head_offset = 0;
        q->free = NULL;
        q->next = q->prev = NULL;
    }
    bucket_remove(a);
    a->free_map |= bits;
    a->dirty_map |= bits;
    a->nfree += n;
    bucket_insert(a);
    mgr.dirty_bytes += (size_t)n << RC_POOL_SHIFT;
    atomic_fetch_sub_explicit(&_rc_span_bytes, (size_t)n << RC_POOL_SHIFT, memory_order_relaxed);

    uint64_t delay = (uint64_t)_rc_option(RC_OPT_PURGE_DELAY) * 1000000u;
    if (delay == 0 || mgr.dirty_bytes > (size_t)_rc_option(RC_OPT_HEAP_RETAIN)) {
        if (delay == 0) purge_arena(a);
        else _rc_arena_purge_locked(true);
        return;
    }
    uint64_t now = _rc_now_ns(); /* one clock read per return */
    if (a->purge_at_ns == 0) {
        a->purge_at_ns = now + delay;
        if (mgr.next_purge_ns == 0 || a->purge_at_ns < mgr.next_purge_ns) mgr.next_purge_ns = a->purge_at_ns;
    }
    purge_due(now, false);
}

void _rc_arena_return_span(rc_pool *pool) {
    pthread_mutex_lock(&_rc_arena_lock);
    _rc_arena_return_span_locked(pool);
    pthread_mutex_unlock(&_rc_arena_lock);
}

rc_pool *_rc_pool_of(const void *p) {
    if (!_rc_is_arena((uintptr_t)p)) return NULL;
    rc_arena *a = arena_of(p);
    rc_pool *pool = &a->pools[((uintptr_t)p >> RC_POOL_SHIFT) & (RC_POOLS_PER_ARENA - 1)];
    if (pool->state == RC_POOL_INTERIOR) pool -= pool->head_offset;
    return pool->state == RC_POOL_USED ? pool : NULL;
}

void _rc_arena_walk_locked(rc_span_visit fn, void *arg) {
    for (unsigned f = 0; f < RC_POOLS_PER_ARENA; f++)
        for (rc_arena *a = mgr.buckets[f]; a; a = a->next)
            for (unsigned i = 1; i < RC_POOLS_PER_ARENA; i++)
                if (a->pools[i].state == RC_POOL_USED) fn(&a->pools[i], arg);
}

size_t _rc_arena_count_locked(size_t *free_pools, size_t *dirty_bytes) {
    size_t nf = 0;
    for (unsigned f = 0; f < RC_POOLS_PER_ARENA; f++)
        for (rc_arena *a = mgr.buckets[f]; a; a = a->next) nf += a->nfree;
    if (free_pools) *free_pools = nf;
    if (dirty_bytes) *dirty_bytes = mgr.dirty_bytes;
    return mgr.narenas;
}

static bool arena_is_valid(const rc_arena *a, unsigned bucket) {
    if (a->nfree != bucket) return false;
    if ((unsigned)__builtin_popcountll(a->free_map) != a->nfree) return false;
    if (a->free_map & 1) return false;
    if (a->dirty_map & ~a->free_map) return false;
    if (!_rc_is_arena((uintptr_t)a)) return false;
    for (unsigned i = 1; i < RC_POOLS_PER_ARENA; i++) {
        const rc_pool *q = &a->pools[i];
        bool is_free = (a->free_map >> i) & 1;
        if (is_free != (q->state == RC_POOL_FREE)) return false;
        if (q->state == RC_POOL_USED) {
            if (q->npools == 0 || i + q->npools > RC_POOLS_PER_ARENA) return false;
            for (unsigned k = 1; k < q->npools; k++)
                if (q[k].state != RC_POOL_INTERIOR || q[k].head_offset != k) return false;
        }
    }
    return true;
}

bool _rc_arena_validate(void) {
    pthread_mutex_lock(&_rc_arena_lock);
    bool ok = true;
    size_t n = 0, dirty = 0;
    for (unsigned f = 0; f < RC_POOLS_PER_ARENA && ok; f++)
        for (rc_arena *a = mgr.buckets[f]; a && ok; a = a->next) {
            n++;
            dirty += (size_t)__builtin_popcountll(a->dirty_map) << RC_POOL_SHIFT;
            if (!arena_is_valid(a, f)) {
                _rc_set_error("heap validation: arena %p is inconsistent", (void *)a);
                ok = false;
            }
        }
    if (ok && (n != mgr.narenas || dirty != mgr.dirty_bytes)) {
        _rc_set_error("heap validation: arena counts disagree (%zu arenas listed, %zu counted)", n, mgr.narenas);
        ok = false;
    }
    pthread_mutex_unlock(&_rc_arena_lock);
    return ok;
}

void _rc_arena_fork_child(void) { pthread_mutex_init(&_rc_arena_lock, NULL); }
