/*
 * page.c — size classes and the blocks inside one pool or span.
 *
 * Size classes. Requests up to 512 bytes use 32 classes in 16-byte steps,
 * as pymalloc does (pymalloc uses 8- or 16-byte steps); 513 bytes to 256 KiB
 * use four classes per power of two (640, 768, 896, 1024, 1280, ...), so the
 * space lost to rounding stays under 25% and averages about 10%. A small
 * class lives in one 16 KiB pool; a medium class in a span of 1..16 pools
 * chosen at start-up so that the span's tail waste is under 1/64 of it
 * (a 640-byte class uses 2 pools: 51 blocks, 128 bytes lost).
 *
 * Blocks carry no header. A free block's first word links it into one of
 * three lists:
 *   free     the owner's list; rc_malloc pops from it (no lock, no atomic)
 *   xfree    frees from other threads, pushed with a CAS; the owner takes
 *            the whole list with one atomic exchange when `free` runs dry
 *   delayed  (in the heap) remote frees to a pool its owner marked full
 * Blocks are carved lazily: `capacity` counts blocks ever linked into
 * `free`, and each extension carves about one OS page, so a fresh pool
 * touches memory only as it is used (pymalloc's nextoffset, in batches).
 */
#include <string.h>

#include "internal/heap.h"

static bool block_touches(const rc_pool *pool, uint32_t idx, uint32_t mask);

uint32_t _rc_class_size[RC_SIZE_CLASSES];
uint8_t _rc_class_pools[RC_SIZE_CLASSES];
uint16_t _rc_class_blocks[RC_SIZE_CLASSES];
uint64_t _rc_class_magic[RC_SIZE_CLASSES];
uint32_t _rc_class_r[RC_SIZE_CLASSES];

void _rc_classes_init(void) {
    for (unsigned c = 0; c < RC_SMALL_CLASSES; c++) {
        _rc_class_size[c] = (c + 1) * 16;
        _rc_class_pools[c] = 1;
    }
    for (unsigned k = 9, c = RC_SMALL_CLASSES; c < RC_SIZE_CLASSES; k++)
        for (unsigned j = 1; j <= 4; j++, c++) {
            uint32_t size = (uint32_t)((1u << k) + j * (1u << (k - 2)));
            _rc_class_size[c] = size;
            unsigned best = 0;
            size_t best_waste = (size_t)-1;
            for (unsigned n = 1; n <= RC_MAX_SPAN_POOLS; n++) {
                size_t span = (size_t)n << RC_POOL_SHIFT;
                if (span < size) continue;
                size_t waste = span % size;
                if (waste * 64 <= span) {
                    best = n;
                    break;
                }
                if (waste < best_waste) {
                    best_waste = waste;
                    best = n;
                }
            }
            _rc_class_pools[c] = (uint8_t)best;
        }
    for (unsigned c = 0; c < RC_SIZE_CLASSES; c++) {
        uint64_t d = _rc_class_size[c];
        uint64_t blocks = ((uint64_t)_rc_class_pools[c] << RC_POOL_SHIFT) / d;
        /* ceil(2^64 / d); for a power of two one more, so that r = d
         * rather than 0 and the multiples stay ordered (see heap.h) */
        uint64_t magic = UINT64_MAX / d + 1 + ((d & (d - 1)) == 0 ? 1 : 0);
        _rc_class_blocks[c] = (uint16_t)blocks;
        _rc_class_magic[c] = magic;
        _rc_class_r[c] = (uint32_t)(d * magic);
    }
}

bool _rc_pool_extend(rc_pool *pool, bool objects) {
    uint32_t cap = atomic_load_explicit(&pool->capacity, memory_order_relaxed);
    uint32_t left = _rc_pool_reserved(pool) - cap;
    if (left == 0) return false;
    uint32_t bs = _rc_pool_block_size(pool);
    uint32_t n = (uint32_t)(4096 / bs);
    if (n == 0) n = 1;
    if (n > left) n = left;
    uint8_t *first = _rc_pool_start(pool) + (size_t)cap * bs;
    uint8_t *last = first + (size_t)(n - 1) * bs;
    for (uint8_t *p = first; p < last; p += bs) ((rc_block *)p)->next = (rc_block *)(p + bs);
    ((rc_block *)last)->next = pool->free;
    if (objects)
        for (uint8_t *p = first; p <= last; p += bs) ((uintptr_t *)p)[1] = 0;
    pool->free = (rc_block *)first;
    atomic_store_explicit(&pool->capacity, (uint16_t)(cap + n), memory_order_relaxed);
    atomic_store_explicit(&pool->limit, (cap + n - 1) * _rc_class_r[pool->cls], memory_order_relaxed);
    return true;
}

size_t _rc_pool_collect(rc_pool *pool) {
    uintptr_t x = atomic_load_explicit(&pool->xfree, memory_order_relaxed);
    if ((x & ~RC_XFREE_NOTIFY) == 0) return 0;
    x = atomic_exchange_explicit(&pool->xfree, 0, memory_order_acquire);
    rc_block *list = (rc_block *)(x & ~RC_XFREE_NOTIFY);
    if (!list) return 0;
    size_t n = 1;
    rc_block *last = list;
    while (last->next) {
        last = last->next;
        n++;
    }
    last->next = pool->free;
    pool->free = list;
    uint32_t used = atomic_load_explicit(&pool->used, memory_order_relaxed);
    atomic_store_explicit(&pool->used, used - (uint32_t)n, memory_order_relaxed);
    return n;
}

bool _rc_pool_is_block(const rc_pool *pool, const void *p) {
    uintptr_t start = (uintptr_t)_rc_pool_start(pool);
    uintptr_t off = (uintptr_t)p - start;
    if ((uintptr_t)p < start) return false;
    if (!_rc_pool_offset_ok(pool, off)) return false;
    return off / _rc_pool_block_size(pool) < atomic_load_explicit(&((rc_pool *)pool)->capacity, memory_order_relaxed);
}

bool _rc_pool_is_valid(const rc_pool *pool) {
    uint32_t nfree = 0, capacity = atomic_load_explicit(&((rc_pool *)pool)->capacity, memory_order_relaxed);
    const struct rc_heap *owner = _rc_pool_heap(pool);
    uint16_t parked = owner && owner->objects ? 0 : pool->parked; /* object heaps: a tracking hint */
    for (const rc_block *b = pool->free; b; b = b->next) {
        uint32_t idx = (uint32_t)(((const uint8_t *)b - _rc_pool_start(pool)) / _rc_pool_block_size(pool));
        if (!_rc_pool_is_block(pool, b) || block_touches(pool, idx, parked)) {
            _rc_set_error("heap validation: pool %p free list holds %p, not a block of it", (const void *)pool,
                          (const void *)b);
            return false;
        }
        if (++nfree > capacity) {
            _rc_set_error("heap validation: pool %p free list is longer than its capacity", (const void *)pool);
            return false;
        }
    }
    uint32_t used = atomic_load_explicit(&pool->used, memory_order_relaxed);
    if (used + nfree > capacity || capacity > _rc_pool_reserved(pool)) {
        _rc_set_error("heap validation: pool %p counts disagree (used %u, free %u, capacity %u, reserved %u)",
                      (const void *)pool, used, nfree, capacity, (unsigned)_rc_pool_reserved(pool));
        return false;
    }
    return true;
}

/* {==== purging pages inside pools in use ====
 *
 * After a program frees most of its blocks, pools are rarely empty: a few
 * survivors keep each pool, and its 16 KiB, resident. rc_heap_trim then
 * looks inside: an OS page (4 KiB) of a pool whose blocks are all free is
 * purged, and the free blocks that touch it leave the free list (they are
 * "parked"), since their links would read back as zero. When the pool's
 * free list runs dry, a parked page is taken back and its blocks return to
 * the list. Only pages wholly inside the carved part of the span are
 * parked, so carving never writes into a parked page. parked bit i means:
 * page i is purged and no block touching it is on the free list.
 */

#define OS_PAGE 4096u
#define MAX_PARKED_PAGES 16u
#define MAX_BLOCKS 1024u /* most blocks any pool holds (16-byte class) */

static unsigned tracked_pages(const rc_pool *pool) {
    size_t pages = ((size_t)pool->npools << RC_POOL_SHIFT) / OS_PAGE;
    return pages > MAX_PARKED_PAGES ? MAX_PARKED_PAGES : (unsigned)pages;
}

/* Does block idx touch a page in mask? */
static bool block_touches(const rc_pool *pool, uint32_t idx, uint32_t mask) {
    size_t bs = _rc_pool_block_size(pool);
    size_t lo = (size_t)idx * bs;
    size_t first = lo / OS_PAGE, last = (lo + bs - 1) / OS_PAGE;
    for (size_t pg = first; pg <= last && pg < MAX_PARKED_PAGES; pg++)
        if ((mask >> pg) & 1) return true;
    return false;
}

size_t _rc_pool_purge_pages(rc_pool *pool) {
    if (_rc_os_page_size() != OS_PAGE || _rc_pool_reserved(pool) > MAX_BLOCKS) return 0;
    uint64_t free_bits[MAX_BLOCKS / 64] = {0};
    uint8_t *start = _rc_pool_start(pool);
    uint32_t bs = _rc_pool_block_size(pool);
    for (rc_block *b = pool->free; b; b = b->next) {
        uint32_t idx = (uint32_t)(((uint8_t *)b - start) / bs);
        free_bits[idx >> 6] |= (uint64_t)1 << (idx & 63);
    }
    size_t carved_end = (size_t)atomic_load_explicit(&pool->capacity, memory_order_relaxed) * bs;
    uint32_t purge = 0;
    unsigned pages = tracked_pages(pool);
    for (unsigned pg = 0; pg < pages; pg++) {
        size_t lo = (size_t)pg * OS_PAGE, hi = lo + OS_PAGE;
        if (hi > carved_end) break;
        if ((pool->parked >> pg) & 1) continue;
        bool all_free = true;
        for (size_t idx = lo / bs; idx <= (hi - 1) / bs && all_free; idx++)
            all_free = (free_bits[idx >> 6] >> (idx & 63)) & 1;
        if (all_free) purge |= (uint32_t)1 << pg;
    }
    if (!purge) return 0;
    uint32_t parked = pool->parked | purge;
    rc_block **link = &pool->free;
    while (*link) {
        rc_block *b = *link;
        uint32_t idx = (uint32_t)(((uint8_t *)b - start) / bs);
        if (block_touches(pool, idx, parked)) *link = b->next;
        else link = &b->next;
    }
    size_t released = 0;
    for (uint32_t m = purge; m;) {
        unsigned pg = (unsigned)__builtin_ctz(m), end = pg;
        while (end < 32 && ((m >> end) & 1)) end++;
        _rc_os_purge(start + (size_t)pg * OS_PAGE, (size_t)(end - pg) * OS_PAGE);
        released += (size_t)(end - pg) * OS_PAGE;
        m &= end >= 32 ? 0 : ~(((uint32_t)1 << end) - 1);
    }
    pool->parked = (uint16_t)parked;
    return released;
}

bool _rc_pool_unpark(rc_pool *pool) {
    if (!pool->parked) return false;
    unsigned pg = (unsigned)__builtin_ctz(pool->parked);
    pool->parked = (uint16_t)(pool->parked & ~(1u << pg));
    uint8_t *start = _rc_pool_start(pool);
    uint32_t bs = _rc_pool_block_size(pool);
    size_t lo = (size_t)pg * OS_PAGE, hi = lo + OS_PAGE;
    for (size_t idx = lo / bs; idx <= (hi - 1) / bs; idx++) {
        if (block_touches(pool, (uint32_t)idx, pool->parked)) continue;
        rc_block *b = (rc_block *)(start + idx * bs);
        b->next = pool->free;
        pool->free = b;
    }
    return true;
}
/* }==== */
