/*
 * src/internal/heap.h — the heap's internal data structures, sectioned by
 * the file that owns each group. The design essay is docs/heap.md.
 *
 *   arena (1 MiB, 1 MiB aligned)
 *   +--------+--------+--------+-----   ----+--------+
 *   | pool 0 | pool 1 | pool 2 |    ...    | pool 63|     16 KiB each
 *   | meta   | 32 B   | 48 B   |           | span.. |
 *   +--------+--------+--------+-----   ----+--------+
 *   pool 0 holds the rc_arena header with one rc_pool descriptor per pool.
 *   A block's arena is (addr & ~(1 MiB - 1)); its descriptor is
 *   arena->pools[(addr >> 14) & 63]. A medium class uses a span of several
 *   adjacent pools; the span's first descriptor describes it and the
 *   others point back to it (head_offset).
 */
#ifndef RC_INTERNAL_HEAP_H
#define RC_INTERNAL_HEAP_H
#ifndef RC_BUILDING_RECLAIM
#error "src/internal/heap.h is internal to reclaim: include <reclaim.h> instead"
#endif

#include <pthread.h>
#include <stdatomic.h>

#include "runtime.h"

#define RC_POOL_SHIFT 14
#define RC_POOL_SIZE ((size_t)1 << RC_POOL_SHIFT)          /* 16 KiB */
#define RC_ARENA_SHIFT 20
#define RC_ARENA_SIZE ((size_t)1 << RC_ARENA_SHIFT)        /* 1 MiB */
#define RC_ARENA_MASK (RC_ARENA_SIZE - 1)
#define RC_POOLS_PER_ARENA 64
#define RC_SMALL_CLASSES 32
#define RC_MAX_SPAN_POOLS 16
#define RC_ADDRESS_BITS 47                                  /* user space on x86-64 */
#define RC_CHUNKS ((size_t)1 << (RC_ADDRESS_BITS - RC_ARENA_SHIFT))

_Static_assert(RC_SIZE_CLASSES == RC_SMALL_CLASSES + 36, "size class count");

/* ====================================================================
 * Blocks and pools (page.c)
 * ==================================================================== */

typedef struct rc_block {
    struct rc_block *next;
} rc_block;

/* Pool states. Set under the arena lock when a span is taken or returned. */
enum {
    RC_POOL_FREE = 0,     /* in the arena's free map */
    RC_POOL_USED = 1,     /* head of a span that holds blocks */
    RC_POOL_INTERIOR = 2, /* a later pool of a multi-pool span */
    RC_POOL_META = 3      /* pool 0: the arena header */
};

/* Bit 0 of rc_pool.xfree: the owner marked the pool full and wants to be
 * told of the next remote free (the block then goes to heap->delayed). */
#define RC_XFREE_NOTIFY ((uintptr_t)1)

struct rc_heap;

/* Bit 0 of rc_pool.owner: the pool is exhausted and sits in its heap's
 * full list. Set and cleared by the owner only. */
#define RC_OWNER_FULL ((uintptr_t)1)

/*
 * A pool (or span) descriptor: 64 bytes, in the arena header, so the
 * descriptor of an address is arena->pools[(addr >> 14) & 63].
 *
 * `owner` is the owning heap's address, or that address | RC_OWNER_FULL,
 * or 0 for FREE, INTERIOR and META pools. The free fast path takes a block
 * back without a lock iff owner == the calling thread's heap, that is: the
 * caller owns the pool and the pool is not full.
 *
 * Invariants, for a USED pool owned by heap H:
 *   used == blocks handed out - blocks freed locally - remote frees collected
 *   used + |free| + (reserved - capacity) + |xfree| + |its blocks in
 *        H->delayed| == reserved
 *   owner == H                  iff the pool is in H->queues[cls]
 *   owner == H | RC_OWNER_FULL  iff the pool is in H->full; then xfree has
 *        RC_XFREE_NOTIFY until the first remote free clears it
 *   owner (but for the FULL bit), cls and magic never change, and limit
 *   and capacity only grow, while any block of the pool is live, so a
 *   remote thread holding a live block may read them without a lock.
 */
typedef struct rc_pool {
    rc_block *free;             /* owner only: ready blocks */
    _Atomic(uint32_t) used;     /* owner writes; stats read */
    _Atomic(uint32_t) limit;    /* block-start test, with magic: see below;
                                   grows with capacity (owner writes) */
    _Atomic(uintptr_t) owner;   /* see above */
    uint64_t magic;             /* ceil(2^64 / block size) */
    _Atomic(uintptr_t) xfree;   /* remote frees | RC_XFREE_NOTIFY */
    _Atomic(uint16_t) capacity; /* blocks carved so far: owner writes,
                                   rc_owns on any thread reads */
    union {
        uint16_t parked;        /* malloc heaps, owner only: OS pages of the
                                   span (the first 16) purged while the pool
                                   is in use; the free blocks touching them
                                   are off the free list until the page is
                                   taken back */
        uint16_t tracked_hint;  /* object heaps (never purged in use):
                                   nonzero when the pool may hold tracked
                                   objects. Set by tracking, cleared by a
                                   full collection that finds none, so full
                                   collections skip pools of untracked
                                   objects. */
    };
    uint8_t cls;                /* size class: gives block size and count */
    uint8_t npools;             /* span length (head only) */
    uint8_t head_offset;        /* INTERIOR: pools back to the head */
    uint8_t state;              /* RC_POOL_*, under the arena lock */
    struct rc_pool *next, *prev; /* owner only: queue or full list */
} rc_pool;

_Static_assert(sizeof(rc_pool) == 64, "a pool descriptor is one cache line");

/*
 * Is an offset into a span the start of a block handed out so far? With
 * magic = ceil(2^64 / size) (plus one when size is a power of two) and
 * r = size * magic mod 2^64 (0 < r <= size), a multiple k * size maps to
 * off * magic == k * r, small and growing with k, while any other offset
 * maps above magic - 1 (Lemire, Kaser and Kurz, "Faster remainder by direct
 * computation", 2019). So one multiply and one compare against
 * limit = (capacity - 1) * r accept exactly the starts of the blocks carved
 * so far: no division on the free path, and a pointer into a block, into
 * the uncarved part or into the span's tail is never taken for a block.
 * A thread holding a live block was ordered after its carving, so it sees
 * a limit at least that large.
 */
static inline bool _rc_pool_offset_ok(const rc_pool *pool, uintptr_t off) {
    return (uint64_t)off * pool->magic <= atomic_load_explicit(&((rc_pool *)pool)->limit, memory_order_relaxed);
}

static inline struct rc_heap *_rc_pool_heap(const rc_pool *pool) {
    return (struct rc_heap *)(atomic_load_explicit(&((rc_pool *)pool)->owner, memory_order_relaxed) &
                              ~RC_OWNER_FULL);
}

static inline bool _rc_pool_full(const rc_pool *pool) {
    return (atomic_load_explicit(&((rc_pool *)pool)->owner, memory_order_relaxed) & RC_OWNER_FULL) != 0;
}

/* First block of the pool: the pool's own 16 KiB in its arena. */
static inline uint8_t *_rc_pool_start(const rc_pool *pool) {
    uintptr_t arena = (uintptr_t)pool & ~(uintptr_t)((1u << 20) - 1);
    uintptr_t index = ((uintptr_t)pool - arena - 64) / sizeof(rc_pool);
    return (uint8_t *)(arena + (index << 14));
}

/* The descriptor of the pool holding address a of an arena: in the arena
 * header, &arena->pools[(a >> 14) & 63], the index scaled in one step
 * (descriptors are 64 bytes at offset 64). A later pool of a multi-pool
 * span: its head is that descriptor minus head_offset. */
static inline rc_pool *_rc_pool_desc(uintptr_t a) {
    _Static_assert(sizeof(rc_pool) == 64 && RC_POOL_SHIFT == 14, "descriptor arithmetic");
    return (rc_pool *)((a & ~(uintptr_t)RC_ARENA_MASK) + 64 + ((a >> 8) & 0xFC0));
}

/* The head descriptor of the span holding a, which must be in a used span
 * (unchecked: for addresses known to be blocks). */
static inline rc_pool *_rc_span_head(uintptr_t a) {
    rc_pool *pool = _rc_pool_desc(a);
    return pool - pool->head_offset;
}

/* ====================================================================
 * Arenas (arena.c)
 * ==================================================================== */

/*
 * Invariants (all under the arena lock):
 *   free_map bit i == 1  iff  pools[i].state == RC_POOL_FREE   (bit 0 == 0)
 *   dirty_map is a subset of free_map: free pools still resident
 *   nfree == popcount(free_map)
 *   the arena is in bucket list nfree of the arena manager.
 */
typedef struct rc_arena {
    struct rc_arena *next, *prev; /* bucket list (by nfree) */
    uint64_t free_map;
    uint64_t dirty_map;
    uint64_t purge_at_ns;         /* dirty pools may be purged after this; 0: none */
    uint32_t nfree;
    uint32_t seq;                 /* arenas are numbered in the order they
                                     were mapped (wrapping): an order of
                                     their memory's age that addresses do
                                     not give (set once, before use) */
    uint32_t pad[4];
    rc_pool pools[RC_POOLS_PER_ARENA]; /* at offset 64 */
    /* Side tables of the watchers in src/prof (the tracer's per-block
     * records), owned and written by src/prof: one per pool, the table's
     * address with a tag of src/prof's in the top byte (RC_SIDE_TAG_SHIFT),
     * or 0. The heap hands a pool's table back (_rc_arena_side_hook, under
     * the arena lock) whenever it gives the pool to a new span and before
     * it unmaps the arena: so a pool with a table holds blocks of the
     * table's making, or none. */
    _Atomic(uintptr_t) side[RC_POOLS_PER_ARENA];
    /* The cycle collector's scratch (src/gc/collect.c): while a full
     * collection of the world that owns pool i's span runs, gc_base[i] of
     * the span's head is the index of the span's first block in that
     * collection's count array. Written and read only by that collection
     * (the world's own thread, or the orphan collector under the orphan
     * lock), after it has checked that the span is its world's; stale
     * otherwise. The heap never reads it. */
    size_t gc_base[RC_POOLS_PER_ARENA];
} rc_arena;

#define RC_SIDE_TAG_SHIFT 56

/* Called with the arena lock held, with pools first..first+n-1 of arena,
 * at least one of which has a side table, when they become a new span or
 * the arena is about to be unmapped; must clear their side words, and
 * must not allocate or take the arena lock. Never NULL (a no-op until
 * src/prof sets it; defined in src/prof/tracefile.c). */
RC_INTERNAL extern void (*_rc_arena_side_hook)(rc_arena *arena, unsigned first, unsigned n);

static inline rc_arena *_rc_arena_of(uintptr_t a) { return (rc_arena *)(a & ~(uintptr_t)RC_ARENA_MASK); }

_Static_assert(__builtin_offsetof(rc_arena, pools) == 64, "pools start at offset 64");

_Static_assert(sizeof(rc_arena) <= RC_POOL_SIZE, "arena header must fit pool 0");

/* Chunk maps, one entry per 1 MiB of address space. Set under the arena
 * (or large) lock before the chunk's first block is handed out, cleared
 * before it is unmapped, read without a lock. The arena map is a byte per
 * chunk (128 MiB of address space in .bss, of which only the pages for the
 * address ranges in use are ever touched) so the free fast path tests it
 * with one load; the large map is a bit per chunk. */
RC_INTERNAL extern _Atomic(uint8_t) _rc_arena_map[RC_CHUNKS];
RC_INTERNAL extern _Atomic(uint64_t) _rc_large_map[RC_CHUNKS / 64];

static inline bool _rc_is_arena(uintptr_t p) {
    uintptr_t c = p >> RC_ARENA_SHIFT;
    if (RC_UNLIKELY(c >= RC_CHUNKS)) return false;
    return atomic_load_explicit(&_rc_arena_map[c], memory_order_relaxed) != 0;
}

static inline bool _rc_chunk_bit(_Atomic(uint64_t) *map, uintptr_t p) {
    uintptr_t c = p >> RC_ARENA_SHIFT;
    if (RC_UNLIKELY(c >= RC_CHUNKS)) return false;
    return (atomic_load_explicit(&map[c >> 6], memory_order_relaxed) >> (c & 63)) & 1;
}

RC_INTERNAL extern pthread_mutex_t _rc_arena_lock;
/* Bytes of spans holding blocks (taken and not returned). */
RC_INTERNAL extern _Atomic(size_t) _rc_span_bytes;

/* Take a span of n pools for size class cls, owned by heap. Locks. NULL when
 * the OS refuses memory (errno = ENOMEM). */
RC_INTERNAL rc_pool *_rc_arena_take_span(struct rc_heap *heap, unsigned cls, unsigned n);
/* Return a span whose blocks are all free. The _locked form expects the
 * arena lock held. */
RC_INTERNAL void _rc_arena_return_span(rc_pool *pool);
RC_INTERNAL void _rc_arena_return_span_locked(rc_pool *pool);
/* Purge what is due (or everything when force), unmap empty arenas. Lock
 * held. Returns bytes released. */
RC_INTERNAL size_t _rc_arena_purge_locked(bool force);
/* Walk every used span head (lock held). */
typedef void (*rc_span_visit)(rc_pool *pool, void *arg);
RC_INTERNAL void _rc_arena_walk_locked(rc_span_visit fn, void *arg);
RC_INTERNAL size_t _rc_arena_count_locked(size_t *free_pools, size_t *dirty_bytes);
/* The descriptor of p's span, or NULL when p is in no used span. */
RC_INTERNAL rc_pool *_rc_pool_of(const void *p);
/* Validate every arena's maps and descriptors; returns false and sets
 * rc_last_error on the first inconsistency. Lock taken. */
RC_INTERNAL bool _rc_arena_validate(void);
/* The fork child: reset the lock. */
RC_INTERNAL void _rc_arena_fork_child(void);

/* ====================================================================
 * Size classes (page.c)
 * ==================================================================== */

RC_INTERNAL extern uint32_t _rc_class_size[RC_SIZE_CLASSES];
RC_INTERNAL extern uint8_t _rc_class_pools[RC_SIZE_CLASSES];
RC_INTERNAL extern uint16_t _rc_class_blocks[RC_SIZE_CLASSES]; /* per span */
RC_INTERNAL extern uint64_t _rc_class_magic[RC_SIZE_CLASSES];
RC_INTERNAL extern uint32_t _rc_class_r[RC_SIZE_CLASSES]; /* size * magic mod 2^64 */

static inline uint32_t _rc_pool_block_size(const rc_pool *pool) { return _rc_class_size[pool->cls]; }
static inline uint32_t _rc_pool_reserved(const rc_pool *pool) { return _rc_class_blocks[pool->cls]; }

/* Class of a request of size bytes, 0 < size <= RC_MEDIUM_MAX. */
static inline unsigned _rc_class_of(size_t size) {
    if (size <= RC_SMALL_MAX) return size == 0 ? 0 : (unsigned)((size - 1) >> 4);
    size_t s = size - 1;
    unsigned k = 63u - (unsigned)__builtin_clzll(s);
    return RC_SMALL_CLASSES + (k - 9) * 4 + (unsigned)((s >> (k - 2)) & 3);
}

RC_INTERNAL void _rc_classes_init(void);
/* Carve more blocks onto pool->free; false when the pool is exhausted.
 * With objects, word 1 (offset 8: an object's type word) of each new block
 * is zeroed, so a walk of the pool reads it as "no object". */
RC_INTERNAL bool _rc_pool_extend(rc_pool *pool, bool objects);
/* Move remote frees onto pool->free. Returns blocks collected. */
RC_INTERNAL size_t _rc_pool_collect(rc_pool *pool);
/* Purge the OS pages of a pool in use that hold only free blocks (trim).
 * Returns bytes purged. Owner only. */
RC_INTERNAL size_t _rc_pool_purge_pages(rc_pool *pool);
/* Take one purged page back into service: its blocks go onto the free
 * list. False when no page is parked. Owner only. */
RC_INTERNAL bool _rc_pool_unpark(rc_pool *pool);
/* True when p is the start of a block of pool (carved, within bounds). */
RC_INTERNAL bool _rc_pool_is_block(const rc_pool *pool, const void *p);
/* Check the free list of a pool owned by the calling thread. */
RC_INTERNAL bool _rc_pool_is_valid(const rc_pool *pool);

/* ====================================================================
 * Thread heaps (heap.c)
 * ==================================================================== */

typedef struct rc_pool_queue {
    rc_pool *first, *last;
} rc_pool_queue;

/*
 * One per thread that allocates; never freed (an exited thread's heap is
 * abandoned and later adopted by a new thread, or trimmed under the arena
 * lock).
 *   direct[i] == queues[class of (i*16)].first, or &_rc_pool_empty
 *   a pool alone in its queue (next == prev == NULL) is kept when empty
 */
typedef struct rc_heap {
    rc_pool *direct[RC_SMALL_CLASSES + 1]; /* index (size + 15) >> 4 */
    rc_pool_queue queues[RC_SIZE_CLASSES];
    rc_pool_queue full;
    _Atomic(rc_block *) delayed;           /* remote frees to full pools */
    _Atomic(bool) trim_requested;          /* set by rc_heap_trim elsewhere */
    bool abandoned;                        /* under the arena lock */
    bool lost;                             /* fork child: owner thread gone
                                              mid-operation; never adopted */
    bool is_empty;                         /* the static placeholder heap */
    bool objects;                          /* holds rc objects (see below) */
    void *world;                           /* objects: the collector world
                                              that owns it (rc_world) */
    struct rc_heap *next_all;              /* all heaps (arena lock) */
    struct rc_heap *next_abandoned;        /* arena lock */
} rc_heap;

RC_INTERNAL extern rc_pool _rc_pool_empty;
RC_INTERNAL extern rc_heap _rc_heap_empty;
RC_INTERNAL extern __thread rc_heap *_rc_heap_tls __attribute__((tls_model("initial-exec")));
RC_INTERNAL extern _Atomic(int) _rc_heap_mode; /* RC_MODE_* */

enum { RC_MODE_FAST = 0, RC_MODE_UNINIT = 1, RC_MODE_DEBUG = 2, RC_MODE_SYSTEM = 3 };

/* Hooks (defined in src/prof/tracefile.c, so that a statically linked
 * program always gets the tracer's start-up from the environment).
 * _rc_trace_on holds RC_HOOK_* bits, one per watcher in src/prof; while
 * any is set, every public allocation entry point (rc_malloc and friends
 * here, rc_new and the release in src/object) takes its hooked path and
 * calls _rc_trace_alloc_hook(block, size asked for, site or NULL, the entry
 * point's return address) after a successful allocation and
 * _rc_trace_free_hook(block) before a block goes back, from the entry
 * point itself (so the hook's own frame walk starts one frame below the
 * caller's). The hook pointers are never NULL (no-ops until a watcher
 * sets them); each hook tests its own bit. The hooks never allocate
 * through the hooked paths. */
enum { RC_HOOK_TRACE = 1, RC_HOOK_OBJECTS = 2, RC_HOOK_LINES = 4, RC_HOOK_SAMPLED = 8 /* with TRACE: sampling */ };
RC_INTERNAL extern _Atomic(int) _rc_trace_on;
/* The alloc hook returns p, so that an entry point can end with it (a
 * tail call: no frame of its own around the hook). */
RC_INTERNAL extern void *(*_rc_trace_alloc_hook)(void *p, size_t size, rc_site *site, void *caller);
RC_INTERNAL extern void (*_rc_trace_free_hook)(void *p);
/* The per-line profiler's hooks (RC_HOOK_LINES), called by the tracer's
 * hooks above with the same arguments (before the tracer's own work, and
 * whether or not the tracer is on); no-ops until set. */
RC_INTERNAL extern void (*_rc_line_alloc_hook)(void *p, size_t size, void *caller);
RC_INTERNAL extern void (*_rc_line_free_hook)(void *p);

/* The user's call site of the library function this thread is in, for
 * allocations the library makes on the user's behalf (a list's items, a
 * dict's table): set by RC_USER_FRAME (src/internal/types.h) at the entry
 * of the outermost such function while any hook is on, NULL otherwise.
 * The tracer takes it as frame 0 of the allocations made inside. */
RC_INTERNAL extern __thread void *_rc_user_ra __attribute__((tls_model("initial-exec")));
#define RC_TRACING() RC_UNLIKELY(atomic_load_explicit(&_rc_trace_on, memory_order_relaxed) != 0)

/* Sampling in the entry points (tcmalloc's sampler). While _rc_trace_on is
 * exactly RC_HOOK_TRACE | RC_HOOK_SAMPLED, rc_malloc and rc_malloc_at
 * subtract the size from the thread's countdown and call the alloc hook
 * only when it would reach the floor (then without subtracting: the hook
 * counts), and rc_free calls the free hook only for a block whose filter
 * counter is not zero. The tracer owns all three (src/prof/trace.c draws
 * the countdown above the floor, and raises the floor above every
 * countdown drawn before when tracing starts or stops, so a countdown of
 * another start reads as due; filter[_rc_sample_slot(p)] counts the
 * sampled blocks whose address hashes there, saturating); the other
 * entry points call the hooks as always. Defined in src/prof/tracefile.c. */
#define RC_SAMPLE_FILTER_BITS 14
RC_INTERNAL extern __thread int64_t _rc_sample_countdown __attribute__((tls_model("initial-exec")));
RC_INTERNAL extern _Atomic(int64_t) _rc_sample_floor;
RC_INTERNAL extern _Atomic(uint8_t) _rc_sample_filter[1u << RC_SAMPLE_FILTER_BITS];
static inline size_t _rc_sample_slot(uintptr_t p) {
    return (size_t)(((uint64_t)(p >> 4) * 0x9e3779b97f4a7c15ull) >> (64 - RC_SAMPLE_FILTER_BITS));
}
/* RC_TRACING() for rc_malloc(_at): false too when sampling skips this
 * allocation of size bytes (the countdown then taken down by size). */
static inline bool _rc_tracing_alloc(size_t size) {
    int on = atomic_load_explicit(&_rc_trace_on, memory_order_relaxed);
    if (RC_LIKELY(on == 0)) return false;
    if (on != (RC_HOOK_TRACE | RC_HOOK_SAMPLED)) return true;
    int64_t left = _rc_sample_countdown - (int64_t)size;
    if (RC_UNLIKELY(left <= atomic_load_explicit(&_rc_sample_floor, memory_order_relaxed)) || RC_UNLIKELY(size == 0))
        return true;
    _rc_sample_countdown = left;
    return false;
}
/* RC_TRACING() for rc_free: false too when sampling and p holds no
 * sampled trace. */
static inline bool _rc_tracing_free(const void *p) {
    int on = atomic_load_explicit(&_rc_trace_on, memory_order_relaxed);
    if (RC_LIKELY(on == 0)) return false;
    return on != (RC_HOOK_TRACE | RC_HOOK_SAMPLED) ||
           atomic_load_explicit(&_rc_sample_filter[_rc_sample_slot((uintptr_t)p)], memory_order_relaxed) != 0;
}

/* The core allocator (no mode dispatch): used by the public functions in
 * fast mode and by the debug layer underneath its own bookkeeping. */
RC_INTERNAL void *_rc_core_aligned(size_t alignment, size_t size);
RC_INTERNAL void _rc_core_free(void *p);
RC_INTERNAL size_t _rc_core_usable(const void *p);
RC_INTERNAL bool _rc_core_owns(const void *p);
RC_INTERNAL void *_rc_core_realloc(void *p, size_t size);
/* rc_aligned_alloc without its 1 MiB limit (any power of two), for the
 * drop-in posix_memalign/aligned_alloc/memalign. */
RC_INTERNAL void *_rc_aligned_any(size_t alignment, size_t size);
RC_INTERNAL void _rc_heap_init(void);
RC_INTERNAL size_t _rc_heap_trim_all(void);
RC_INTERNAL size_t _rc_heap_count(size_t *abandoned);
/* Raise _rc_bytes_peak to the bytes now in used spans and large blocks. */
RC_INTERNAL void _rc_heap_note_peak(void);
/* Live objects in the pools of object heaps, every thread's (stats.c: one
 * walk under the arena lock; objects of more than 256 KiB, which are
 * large blocks, are not counted). */
RC_INTERNAL size_t _rc_heap_pool_objects(void);
RC_INTERNAL extern _Atomic(size_t) _rc_bytes_peak;

/* ====================================================================
 * Pointer maps (ptrmap.c): address -> two words, open addressing. Not
 * thread-safe: the owner locks. Storage comes from the OS layer.
 * ==================================================================== */

typedef struct rc_ptrmap_entry {
    uintptr_t key; /* 0: empty, 1: deleted */
    size_t a, b;
} rc_ptrmap_entry;

/* Invariant: (count + deleted + pending) * 4 < cap * 3 whenever cap > 0. */
typedef struct rc_ptrmap {
    rc_ptrmap_entry *slots;
    size_t cap, count, deleted;
    size_t pending; /* reserved puts not made yet */
} rc_ptrmap;

/* Reserve room for one entry: the put that uses it cannot fail. False
 * (errno = ENOMEM) when the table cannot grow. Each reserve is followed by
 * exactly one _rc_ptrmap_put or _rc_ptrmap_cancel. */
RC_INTERNAL bool _rc_ptrmap_reserve(rc_ptrmap *m);
RC_INTERNAL void _rc_ptrmap_cancel(rc_ptrmap *m);
/* Insert a key that is not in the table, using a reservation. */
RC_INTERNAL void _rc_ptrmap_put(rc_ptrmap *m, uintptr_t key, size_t a, size_t b);
/* The entry of key, or NULL. Valid until the next reserve. */
RC_INTERNAL rc_ptrmap_entry *_rc_ptrmap_get(const rc_ptrmap *m, uintptr_t key);
RC_INTERNAL void _rc_ptrmap_del(rc_ptrmap *m, rc_ptrmap_entry *e);
/* Look key up under lock: true when present, with its first word in *a
 * (a may be NULL). */
RC_INTERNAL bool _rc_ptrmap_find(pthread_mutex_t *lock, const rc_ptrmap *m, uintptr_t key, size_t *a);

/* ====================================================================
 * Large blocks (large.c)
 * ==================================================================== */

RC_INTERNAL void *_rc_large_alloc(size_t size, size_t alignment, bool zero);
RC_INTERNAL void _rc_large_free(void *p);
RC_INTERNAL size_t _rc_large_usable(const void *p);
RC_INTERNAL bool _rc_large_owns(const void *p);
RC_INTERNAL void *_rc_large_realloc(void *p, size_t size);
/* A buffer that is a mapping of its own whatever its size, for the typed
 * arrays (src/types/array.c): in the default mode a large block (its own
 * 1 MiB-aligned mapping, its size rounded up to a page, counted in
 * large_blocks and bytes_in_use, subject to fault injection, unmapped or
 * cached by rc_free); in the debug and system modes the mode's ordinary
 * block, as rc_malloc gives it. Zeroed when zero. Traced as rc_malloc's
 * blocks are. Released with rc_free. NULL (errno = ENOMEM, rc_last_error
 * set when the size is impossible) on failure. */
RC_INTERNAL void *_rc_large_buffer(size_t size, bool zero);
/* Resize a block of _rc_large_buffer (NULL p: allocate one) keeping it a
 * mapping of its own at any size, where rc_realloc would move a block of
 * RC_MEDIUM_MAX bytes or less into the medium classes: grown in place or
 * with mremap, shrunk as _rc_large_realloc shrinks. Traced as rc_realloc.
 * On failure NULL, and p is left as it was. */
RC_INTERNAL void *_rc_large_buffer_realloc(void *p, size_t size);
RC_INTERNAL size_t _rc_large_trim(bool force);
RC_INTERNAL void _rc_large_stats(size_t *blocks, size_t *bytes, size_t *usable, size_t *cached);
/* Bytes of live large blocks, without taking the large lock. */
RC_INTERNAL size_t _rc_large_bytes(void);
RC_INTERNAL void _rc_large_fork_prepare(void);
RC_INTERNAL void _rc_large_fork_parent(void);
RC_INTERNAL void _rc_large_fork_child(void);

/* ====================================================================
 * The OS (os.c)
 * ==================================================================== */

/* Map size bytes aligned to align (a power of two >= page size), zeroed.
 * NULL with errno = ENOMEM on failure. */
RC_INTERNAL void *_rc_os_map_aligned(size_t size, size_t align);
RC_INTERNAL void _rc_os_unmap(void *p, size_t size);
RC_INTERNAL void _rc_os_purge(void *p, size_t size);
/* Ask for transparent huge pages on [p, p + size) (a hint: ignored where
 * the system has none). */
RC_INTERNAL void _rc_os_hugepages(void *p, size_t size);
/* Grow or shrink a mapping to new_size keeping its 1 MiB alignment; returns
 * the (maybe moved) address or NULL with the old mapping intact. */
RC_INTERNAL void *_rc_os_remap(void *p, size_t old_size, size_t new_size, size_t align);
RC_INTERNAL size_t _rc_os_page_size(void);
RC_INTERNAL extern _Atomic(size_t) _rc_os_mapped;
RC_INTERNAL extern _Atomic(size_t) _rc_os_mapped_peak;
/* Test hook: make the n-th OS request from now fail (n >= 1); 0 disables.
 * Returns the number of OS requests made so far. */
RC_INTERNAL size_t _rc_os_fail_nth(size_t n);
RC_INTERNAL size_t _rc_os_requests(void);

/* ====================================================================
 * Debug and system modes (debug.c, system.c)
 * ==================================================================== */

RC_INTERNAL void *_rc_debug_malloc(size_t size, size_t alignment, bool zero);
RC_INTERNAL void _rc_debug_free(void *p);
RC_INTERNAL void *_rc_debug_realloc(void *p, size_t size);
RC_INTERNAL size_t _rc_debug_usable(const void *p);
RC_INTERNAL bool _rc_debug_owns(const void *p);
RC_INTERNAL void _rc_debug_flush(void);
RC_INTERNAL void _rc_debug_fork_prepare(void);
RC_INTERNAL void _rc_debug_fork_parent(void);
RC_INTERNAL void _rc_debug_fork_child(void);

RC_INTERNAL void *_rc_system_malloc(size_t size, size_t alignment, bool zero);
RC_INTERNAL void _rc_system_free(void *p);
RC_INTERNAL void *_rc_system_realloc(void *p, size_t size);
RC_INTERNAL size_t _rc_system_usable(const void *p);
RC_INTERNAL bool _rc_system_owns(const void *p);
RC_INTERNAL void _rc_system_fork_prepare(void);
RC_INTERNAL void _rc_system_fork_parent(void);
RC_INTERNAL void _rc_system_fork_child(void);

/*
 * Object heaps (heap.c). The objects of one collector world live in pools
 * of their own: an rc_heap with `objects` set, not tied to a thread's TLS
 * and never adopted by another thread. Its owner is whoever acts for the
 * world (the world's thread, or the holder of the orphan lock). Its pools
 * are never purged while in use, and every block below a pool's capacity
 * has a zero word 1 unless it holds a live object, so the collector finds
 * objects by walking the pools (_rc_heap_pools).
 */
RC_INTERNAL rc_heap *_rc_heap_new_objects(void *world);
/* A block of size <= RC_MEDIUM_MAX from h (the caller owns h), or NULL with
 * errno = ENOMEM. */
RC_INTERNAL void *_rc_heap_alloc_in(rc_heap *h, size_t size);
/* Free p, a block of an object heap. owner is the heap the caller acts as
 * owner of (or NULL): p's pool is taken back directly when it belongs to
 * owner, otherwise through the lock-free remote path. */
RC_INTERNAL void _rc_heap_free_in(rc_heap *owner, void *p);
/* The owner's free of p, a block start it handed out from one of h's small
 * pools (no checks: object heaps know their blocks). False, with nothing
 * changed, when the slow path must decide (another owner, a full pool, a
 * pool about to empty, a medium span). */
static inline bool _rc_heap_free_owned(rc_heap *h, void *p) {
    uintptr_t a = (uintptr_t)p;
    rc_pool *pool = _rc_pool_desc(a);
    if (atomic_load_explicit(&pool->owner, memory_order_relaxed) != (uintptr_t)h) return false;
    uint32_t used = atomic_load_explicit(&pool->used, memory_order_relaxed);
    if (RC_UNLIKELY(used <= 1)) return false;
    rc_block *b = p;
    b->next = pool->free;
    pool->free = b;
    atomic_store_explicit(&pool->used, used - 1, memory_order_relaxed);
    return true;
}
/* The owner takes remote frees back and returns empty pools (all of them,
 * or all but the last of each class). */
RC_INTERNAL void _rc_heap_reclaim(rc_heap *h, bool all);
/* Keep an unused object heap for the next _rc_heap_new_objects. */
RC_INTERNAL void _rc_heap_recycle(rc_heap *h);
/* True when h holds no pool (and so no block). */
RC_INTERNAL bool _rc_heap_is_unused(const rc_heap *h);
/* Visit every pool (span head) of h: its queues and its full list. */
RC_INTERNAL void _rc_heap_pools(rc_heap *h, rc_span_visit fn, void *arg);

/* Validate the whole heap (arenas, and the calling thread's pools). */
RC_INTERNAL bool _rc_heap_validate(void);

#endif
