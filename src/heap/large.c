/*
 * large.c — blocks above RC_MEDIUM_MAX (256 KiB), mapped from the OS one by
 * one.
 *
 * A large block is its own mapping, aligned to 1 MiB, and the block starts
 * at the mapping's first byte: that satisfies every alignment up to 1 MiB
 * with no header and no offset. A table (ptrmap.c) from block address to
 * mapping size answers rc_owns/rc_usable_size for any pointer value without
 * touching memory, and the large chunk map gives rc_free a lock-free first
 * test. Growing with rc_realloc asks mremap to extend in place; when the
 * neighbouring addresses are taken it moves the pages (no copy) to a new
 * 1 MiB-aligned range.
 *
 * Freed mappings are kept in a small cache (RECLAIM_LARGE_CACHE entries,
 * within the RECLAIM_HEAP_RETAIN budget) for RECLAIM_PURGE_DELAY, so a
 * program that frees and reallocates big buffers in a loop does not pay a
 * system call and page faults each time. A request takes the smallest
 * cached mapping that holds it, whatever its size: its pages are resident
 * already, so using it costs no memory, and a block that later grows into
 * the rest needs no system call at all. A block that must grow beyond its
 * mapping moves into a cached mapping when one is big enough (a copy of
 * resident pages is cheaper than faulting fresh ones in), and is remapped
 * with mremap otherwise. rc_heap_trim empties the cache.
 *
 * A block's size and its mapping's size differ: the size is the request
 * rounded up to a page (what rc_usable_size reports and bytes_in_use
 * counts), the mapping may be larger (a cached mapping reused for a
 * smaller request, or the quarter of headroom a growing block is remapped
 * with). Growth within the mapping changes only the size: no system call.
 * The headroom is address space until the program touches it, so it is
 * counted only in the bytes mapped.
 *
 * Buffers that are mappings whatever their size. rc_malloc maps only what
 * the medium classes cannot hold, and rc_realloc of a large block down to
 * RC_MEDIUM_MAX or less moves it into a medium class. The typed arrays
 * (src/types/array.c) want every buffer above RC_SMALL_MAX to be a mapping
 * of its own, given back to the OS when the array dies: _rc_large_buffer
 * and _rc_large_buffer_realloc are rc_malloc and rc_realloc for them, with
 * the same mode dispatch (the debug and system modes have no mappings of
 * their own: there the buffer is the mode's ordinary block, so their
 * checks still cover it) and the same trace hooks, called here as the
 * public entry points call them. rc_free releases the buffers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "internal/heap.h"

#define CACHE_MAX 16

typedef struct cached_map {
    void *base;
    size_t size;
    uint64_t freed_ns;
} cached_map;

static pthread_mutex_t large_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    rc_ptrmap live;     /* block -> (mapping size a, block size b <= a) */
    size_t blocks;      /* live large blocks */
    size_t bytes;       /* their block sizes (bytes in use) */
    size_t mapped;      /* their mappings' sizes */
    cached_map cache[CACHE_MAX];
    size_t ncached;
    size_t cached_bytes;
} L;

/* L.mapped, readable without the lock (for the peak of committed bytes
 * noted on hot paths). */
static _Atomic(size_t) large_bytes_now;

static void bytes_changed(void) { atomic_store_explicit(&large_bytes_now, L.mapped, memory_order_relaxed); }

size_t _rc_large_bytes(void) { return atomic_load_explicit(&large_bytes_now, memory_order_relaxed); }

static void chunk_mark(const void *p, bool on) {
    uintptr_t c = (uintptr_t)p >> RC_ARENA_SHIFT;
    uint64_t bit = (uint64_t)1 << (c & 63);
    if (on) atomic_fetch_or_explicit(&_rc_large_map[c >> 6], bit, memory_order_relaxed);
    else atomic_fetch_and_explicit(&_rc_large_map[c >> 6], ~bit, memory_order_relaxed);
}

/* Unmap cache entries older than the purge delay (all when force). Lock
 * held. Returns bytes unmapped. */
static size_t cache_expire_locked(bool force) {
    uint64_t now = _rc_now_ns();
    uint64_t delay = (uint64_t)_rc_option(RC_OPT_PURGE_DELAY) * 1000000u;
    size_t released = 0;
    for (size_t i = 0; i < L.ncached;) {
        cached_map *c = &L.cache[i];
        if (force || now - c->freed_ns >= delay) {
            _rc_os_unmap(c->base, c->size);
            released += c->size;
            L.cached_bytes -= c->size;
            *c = L.cache[--L.ncached];
        } else {
            i++;
        }
    }
    return released;
}

static size_t round_page(size_t n) {
    size_t page = _rc_os_page_size();
    return (n + page - 1) & ~(page - 1);
}

void *_rc_large_alloc(size_t size, size_t alignment, bool zero) {
    /* mappings are 1 MiB aligned, which serves every alignment up to that */
    size_t map_align = alignment > RC_ARENA_SIZE ? alignment : RC_ARENA_SIZE;
    _rc_heap_init();
    if (size > ((size_t)1 << 46)) {
        _rc_set_error("rc_malloc: %zu bytes is more than the address space holds", size);
        errno = ENOMEM;
        return NULL;
    }
    size_t need = round_page(size ? size : 1);
    void *base = NULL;
    size_t map = 0;
    pthread_mutex_lock(&large_lock);
    if (!_rc_ptrmap_reserve(&L.live)) {
        pthread_mutex_unlock(&large_lock);
        errno = ENOMEM;
        return NULL;
    }
    cache_expire_locked(false);
    size_t best = CACHE_MAX;
    for (size_t i = 0; i < L.ncached; i++) {
        size_t s = L.cache[i].size;
        if (s >= need && (best == CACHE_MAX || s < L.cache[best].size)) best = i;
    }
    if (best != CACHE_MAX && ((uintptr_t)L.cache[best].base & (map_align - 1)) == 0) {
        base = L.cache[best].base;
        map = L.cache[best].size;
        L.cached_bytes -= map;
        L.cache[best] = L.cache[--L.ncached];
    }
    pthread_mutex_unlock(&large_lock);
    if (base) {
        if (zero) memset(base, 0, size);
    } else {
        map = need;
        base = _rc_os_map_aligned(map, map_align);
        if (!base) {
            pthread_mutex_lock(&large_lock);
            _rc_ptrmap_cancel(&L.live);
            pthread_mutex_unlock(&large_lock);
            return NULL;
        }
    }
    pthread_mutex_lock(&large_lock);
    _rc_ptrmap_put(&L.live, (uintptr_t)base, map, need);
    L.blocks++;
    L.bytes += need;
    L.mapped += map;
    bytes_changed();
    chunk_mark(base, true);
    pthread_mutex_unlock(&large_lock);
    _rc_heap_note_peak();
    return base;
}

/* Cache a mapping no block uses any more, or unmap it. */
static void release_mapping(void *p, size_t map) {
    pthread_mutex_lock(&large_lock);
    cache_expire_locked(false);
    size_t limit = (size_t)_rc_option(RC_OPT_LARGE_CACHE);
    if (limit > CACHE_MAX) limit = CACHE_MAX;
    if (L.ncached < limit && L.cached_bytes + map <= (size_t)_rc_option(RC_OPT_HEAP_RETAIN) &&
        _rc_option(RC_OPT_PURGE_DELAY) > 0) {
        L.cache[L.ncached++] = (cached_map){p, map, _rc_now_ns()};
        L.cached_bytes += map;
        p = NULL;
    }
    pthread_mutex_unlock(&large_lock);
    if (p) _rc_os_unmap(p, map);
}

void _rc_large_free(void *p) {
    pthread_mutex_lock(&large_lock);
    rc_ptrmap_entry *e = _rc_ptrmap_get(&L.live, (uintptr_t)p);
    if (!e) {
        pthread_mutex_unlock(&large_lock);
        _rc_set_error("rc_free: %p was not allocated by reclaim (ignored)", p);
        _rc_message("reclaim: rc_free: %p was not allocated by reclaim (ignored)", p);
        return;
    }
    size_t map = e->a;
    L.bytes -= e->b;
    L.mapped -= map;
    _rc_ptrmap_del(&L.live, e);
    chunk_mark(p, false);
    L.blocks--;
    bytes_changed();
    pthread_mutex_unlock(&large_lock);
    release_mapping(p, map);
}

/* Move block p (size bytes in a mapping of map bytes) into a cached
 * mapping of at least need bytes; NULL when none is cached. */
static void *grow_into_cache(void *p, size_t map, size_t size, size_t need) {
    pthread_mutex_lock(&large_lock);
    size_t best = CACHE_MAX;
    for (size_t i = 0; i < L.ncached; i++) {
        size_t s = L.cache[i].size;
        if (s >= need && (best == CACHE_MAX || s < L.cache[best].size)) best = i;
    }
    if (best == CACHE_MAX || !_rc_ptrmap_reserve(&L.live)) {
        pthread_mutex_unlock(&large_lock);
        return NULL;
    }
    cached_map c = L.cache[best];
    L.cache[best] = L.cache[--L.ncached];
    L.cached_bytes -= c.size;
    rc_ptrmap_entry *e = _rc_ptrmap_get(&L.live, (uintptr_t)p);
    _rc_ptrmap_del(&L.live, e);
    chunk_mark(p, false);
    _rc_ptrmap_put(&L.live, (uintptr_t)c.base, c.size, need);
    chunk_mark(c.base, true);
    L.bytes = L.bytes - size + need;
    L.mapped = L.mapped - map + c.size;
    bytes_changed();
    pthread_mutex_unlock(&large_lock);
    memcpy(c.base, p, size);
    release_mapping(p, map);
    _rc_heap_note_peak();
    return c.base;
}

size_t _rc_large_usable(const void *p) {
    pthread_mutex_lock(&large_lock);
    rc_ptrmap_entry *e = _rc_ptrmap_get(&L.live, (uintptr_t)p);
    size_t n = e ? e->b : 0;
    pthread_mutex_unlock(&large_lock);
    return n;
}

bool _rc_large_owns(const void *p) { return _rc_large_usable(p) != 0; }

void *_rc_large_realloc(void *p, size_t size) {
    size_t need = size > ((size_t)1 << 46) ? 0 : round_page(size);
    pthread_mutex_lock(&large_lock);
    rc_ptrmap_entry *e = _rc_ptrmap_get(&L.live, (uintptr_t)p);
    size_t map = e ? e->a : 0, size_now = e ? e->b : 0;
    if (e && need != 0 && need <= map && (need * 2 > map || map - need < ((size_t)8 << 20))) {
        /* Within the mapping: only the size changes. Shrinking keeps the
         * mapping unless more than half of it and over 8 MiB would sit
         * unused: the pages are resident and the block may grow again. */
        e->b = need;
        L.bytes = L.bytes - size_now + need;
        pthread_mutex_unlock(&large_lock);
        return p;
    }
    pthread_mutex_unlock(&large_lock);
    if (!map) {
        _rc_set_error("rc_realloc: %p was not allocated by reclaim", p);
        errno = EINVAL;
        return NULL;
    }
    if (need == 0) {
        _rc_set_error("rc_realloc: %zu bytes cannot be had", size);
        errno = ENOMEM;
        return NULL;
    }
    if (need > map) {
        void *moved = grow_into_cache(p, map, size_now, need);
        if (moved) return moved;
    }
    /* Growing: leave a quarter of headroom (address space only, until the
     * program touches it), so a buffer grown step by step is remapped a
     * few times rather than at every step. */
    size_t want = need;
    if (need > map && need <= ((size_t)1 << 44)) want = round_page(need + need / 4);
    pthread_mutex_lock(&large_lock);
    bool room = _rc_ptrmap_reserve(&L.live);
    pthread_mutex_unlock(&large_lock);
    if (!room) return NULL;
    void *q = _rc_os_remap(p, map, want, RC_ARENA_SIZE);
    pthread_mutex_lock(&large_lock);
    if (!q) {
        _rc_ptrmap_cancel(&L.live);
        pthread_mutex_unlock(&large_lock);
        return NULL;
    }
    e = _rc_ptrmap_get(&L.live, (uintptr_t)p);
    _rc_ptrmap_del(&L.live, e);
    chunk_mark(p, false);
    _rc_ptrmap_put(&L.live, (uintptr_t)q, want, need);
    chunk_mark(q, true);
    L.bytes = L.bytes - size_now + need;
    L.mapped = L.mapped - map + want;
    bytes_changed();
    pthread_mutex_unlock(&large_lock);
    _rc_heap_note_peak();
    return q;
}

/* {==== buffers that stay mappings (see the essay) ==== */

/* The heap's mode, starting the library first if it has not started. */
static int heap_mode(void) {
    int m = atomic_load_explicit(&_rc_heap_mode, memory_order_relaxed);
    if (RC_UNLIKELY(m == RC_MODE_UNINIT)) {
        _rc_heap_init();
        m = atomic_load_explicit(&_rc_heap_mode, memory_order_relaxed);
    }
    return m;
}

void *_rc_large_buffer(size_t size, bool zero) {
    if (heap_mode() != RC_MODE_FAST) return zero ? rc_calloc(1, size) : rc_malloc(size);
    void *p = _rc_large_alloc(size, RC_ALIGNMENT, zero);
    if (RC_TRACING() && p) _rc_trace_alloc_hook(p, size, NULL, __builtin_return_address(0));
    return p;
}

void *_rc_large_buffer_realloc(void *p, size_t size) {
    if (heap_mode() != RC_MODE_FAST) return rc_realloc(p, size);
    if (!p) return _rc_large_buffer(size, false);
    if (!RC_TRACING()) return _rc_large_realloc(p, size);
    /* as rc_realloc traces: the old block's record goes, the result is
     * traced anew; on failure the old block is traced again, as it was */
    _rc_trace_free_hook(p);
    void *q = _rc_large_realloc(p, size);
    if (q) _rc_trace_alloc_hook(q, size, NULL, __builtin_return_address(0));
    else _rc_trace_alloc_hook(p, _rc_large_usable(p), NULL, __builtin_return_address(0));
    return q;
}
/* }==== */

size_t _rc_large_trim(bool force) {
    pthread_mutex_lock(&large_lock);
    size_t n = cache_expire_locked(force);
    pthread_mutex_unlock(&large_lock);
    return n;
}

void _rc_large_stats(size_t *blocks, size_t *bytes, size_t *usable, size_t *cached) {
    pthread_mutex_lock(&large_lock);
    if (blocks) *blocks = L.blocks;
    if (bytes) *bytes = L.bytes;
    if (usable) *usable = L.bytes;
    if (cached) *cached = L.ncached;
    pthread_mutex_unlock(&large_lock);
}

void _rc_large_fork_prepare(void) { pthread_mutex_lock(&large_lock); }
void _rc_large_fork_parent(void) { pthread_mutex_unlock(&large_lock); }
void _rc_large_fork_child(void) { pthread_mutex_init(&large_lock, NULL); }
