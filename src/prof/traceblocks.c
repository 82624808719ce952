/*
 * traceblocks.c — where the allocation tracer (trace.c) keeps each traced
 * block's trace: the side tables of the small blocks' pools, and the
 * address tables of every other trace. trace.c's hooks decide what to
 * trace and with which traceback; this file stores, finds, counts and
 * forgets the traces. The hooks' fast paths read the side tables inline
 * (src/internal/prof.h: the mark format, the directory, the block index);
 * everything else here is called.
 *
 * Traces of small blocks: side tables. Most traced blocks are small (at
 * most 512 bytes, in the pools of the heap's small classes), and a trace
 * kept in a table keyed by address costs a cache miss into a table much
 * larger than the cache on every allocation and every free: that miss was
 * most of the tracer's cost, and the table (24 bytes a slot, 3/4 full at
 * most) most of its memory. So a small block's trace lives in a side
 * table of its pool, five bytes per block, indexed by the block's number
 * in the pool (one multiply by the class's magic, as the heap's own block
 * test): a 32-bit traceback id, written by the allocation and read only
 * by snapshots, and a one-byte mark, the only thing a free reads. The
 * arena header keeps one table address per pool (rc_arena.side), and the
 * heap hands a pool's table back whenever the pool starts a new span, so
 * a table's address tells its pool's class, and a free finds its mark
 * without the pool's descriptor. The hooks read a copy of those words in
 * a directory of their own (the arena headers' words alias in the
 * caches). Tables are cut from huge pages and never freed (a table
 * given back waits on a spare list of its class). The hooks touch only
 * their own block's entries, without a lock: a block is allocated and
 * freed by one thread at a time, and the heap orders a remote free before
 * the owner's reuse. The details are in the side-table section below.
 *
 * Other traces (medium and large blocks, and every sampled trace: a
 * sampled trace stands for many blocks) are (block address, size, count,
 * traceback id) in one of 32 hash tables chosen by the address, each with
 * its own lock (linear probing, deletion by backward shift, so no
 * tombstones). Every trace is keyed by its block's address (an object's
 * by its header, the start of its block: rc_trace_site_of maps an object
 * to it). While sampling, a counting filter of those traces lets most
 * frees skip the tables. Adding and removing a trace counts it in the
 * calling thread's share of the traced total (trace.c's), under the
 * shard's lock for an addition, so that a stop, which empties every shard
 * under its lock before it raises the epoch, leaves no count behind.
 *
 * Locks. The shard locks come second in the tracer's lock order (after
 * trace.c's control_lock, before its stacks_lock) and spare_lock last of
 * the tracer's, before the heap's arena lock. A hook takes one shard lock
 * at a time, and allocates under it only to grow that shard (with tracing
 * suspended); _rc_tb_side_make maps chunks from the OS holding spare_lock
 * only. The heap calls _rc_tb_side_release under its arena lock: it takes
 * no lock. The memory of the tables is kept for the next start, never freed
 * while a hook might read it.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "internal/prof.h"
#include "internal/runtime.h"

/* {==== address tables ==== */

#define SHARDS 32 /* a snapshot holds them all at once: ThreadSanitizer tracks at most 64 held locks */

typedef struct trace_entry {
    uintptr_t key; /* 0: empty */
    size_t size;   /* bytes the trace stands for: the block's size, or its estimate when sampling */
    uint32_t stack;
    uint32_t count; /* blocks the trace stands for: 1, or the estimate when sampling */
} trace_entry;

/* Invariant: len * 4 <= cap * 3 (cap a power of two, or 0). len is read
 * without the lock by the free hook to skip empty shards (sampling). */
typedef struct shard {
    pthread_mutex_t lock;
    trace_entry *slots;
    size_t cap;
    _Atomic(size_t) len;
    char pad[64 - sizeof(pthread_mutex_t) % 64];
} shard;

static shard shards[SHARDS] = {[0 ... SHARDS - 1] = {.lock = PTHREAD_MUTEX_INITIALIZER}};

/* While sampling, a counting filter of the traced blocks: filter[f(block)]
 * counts the traces whose address hashes there (saturating at 255, never
 * decremented from 255). A free whose counter is 0 holds no trace and
 * skips the table and its lock. 16 Ki counters stay in the first-level
 * cache; a program keeps its live bytes / mean samples (a few hundred for
 * a 150 MB heap at the default 512 KiB), so almost every unsampled free
 * stops at one load that hits: rc_free makes it itself, and calls the
 * free hook only when the counter is not 0 (_rc_sample_filter,
 * src/internal/heap.h, defined in tracefile.c). trace.c's rc_trace_stop
 * clears it. */

static void filter_add(uintptr_t key) {
    _Atomic(uint8_t) *c = &_rc_sample_filter[_rc_sample_slot(key)];
    uint8_t v = atomic_load_explicit(c, memory_order_relaxed);
    while (v < 255 && !atomic_compare_exchange_weak_explicit(c, &v, (uint8_t)(v + 1), memory_order_relaxed,
                                                             memory_order_relaxed)) {
    }
}

static void filter_remove(uintptr_t key) {
    _Atomic(uint8_t) *c = &_rc_sample_filter[_rc_sample_slot(key)];
    uint8_t v = atomic_load_explicit(c, memory_order_relaxed);
    while (v > 0 && v < 255 && !atomic_compare_exchange_weak_explicit(c, &v, (uint8_t)(v - 1), memory_order_relaxed,
                                                                       memory_order_relaxed)) {
    }
}

/* A block's shard and home slot: every bit of the address mixed into
 * every bit of the hash (blocks sit at regular strides in their pools, so
 * a plain multiply leaves the low bits patterned and the probe runs
 * long). */
static inline shard *shard_of(uintptr_t key, size_t *home) {
    uint64_t h = key;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    *home = (size_t)(h >> 5);
    return &shards[h & (SHARDS - 1)];
}

static bool shard_grow(shard *s) {
    size_t cap = s->cap ? s->cap * 2 : 256;
    _rc_trace_suspend();
    trace_entry *slots = rc_calloc(cap, sizeof *slots);
    _rc_trace_resume();
    if (!slots) return false;
    for (size_t i = 0; i < s->cap; i++) {
        trace_entry *e = &s->slots[i];
        if (!e->key) continue;
        size_t home;
        shard_of(e->key, &home);
        size_t j = home & (cap - 1);
        while (slots[j].key) j = (j + 1) & (cap - 1);
        slots[j] = *e;
    }
    _rc_trace_suspend();
    rc_free(s->slots);
    _rc_trace_resume();
    s->slots = slots;
    s->cap = cap;
    return true;
}

/* Remove key's trace; its size, or 0 when it had none. Lock held. */
static size_t remove_locked(shard *s, uintptr_t key, size_t home) {
    if (!s->cap) return 0;
    size_t mask = s->cap - 1, i = home & mask;
    while (s->slots[i].key != key) {
        if (!s->slots[i].key) return 0;
        i = (i + 1) & mask;
    }
    size_t size = s->slots[i].size;
    /* backward-shift deletion: pull later entries of the run back into the
     * hole when their home is not between the hole and them */
    for (size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
        if (!s->slots[j].key) break;
        size_t h;
        shard_of(s->slots[j].key, &h);
        h &= mask;
        bool movable = i <= j ? (h <= i || h > j) : (h <= i && h > j);
        if (movable) {
            s->slots[i] = s->slots[j];
            i = j;
        }
    }
    s->slots[i].key = 0;
    atomic_fetch_sub_explicit(&s->len, 1, memory_order_relaxed);
    return size;
}

void _rc_tb_table_add(uintptr_t key, size_t size, uint32_t id, uint32_t count, bool sampling) {
    size_t home;
    shard *s = shard_of(key, &home);
    pthread_mutex_lock(&s->lock);
    if (_rc_trace_tracing() && ((s->len + 1) * 4 <= s->cap * 3 || shard_grow(s))) {
        size_t old = remove_locked(s, key, home);
        size_t mask = s->cap - 1, i = home & mask;
        while (s->slots[i].key) i = (i + 1) & mask;
        s->slots[i] = (trace_entry){key, size, id, count};
        atomic_fetch_add_explicit(&s->len, 1, memory_order_relaxed);
        if (sampling && !old) filter_add(key);
        uint64_t ep = atomic_load_explicit(&_rc_trace_epoch, memory_order_relaxed);
        if (old) _rc_trace_count_sub(old, ep);
        _rc_trace_count_add(size, ep);
    }
    pthread_mutex_unlock(&s->lock);
}

void _rc_tb_table_remove(uintptr_t key, bool sampling) {
    size_t home;
    shard *s = shard_of(key, &home);
    /* an empty shard holds no trace of key (when sampling, most are
     * empty); a trace added concurrently is of another block, so the race
     * is harmless */
    if (atomic_load_explicit(&s->len, memory_order_relaxed) == 0) return;
    pthread_mutex_lock(&s->lock);
    size_t size = remove_locked(s, key, home);
    pthread_mutex_unlock(&s->lock);
    if (size) {
        _rc_trace_count_sub(size, atomic_load_explicit(&_rc_trace_epoch, memory_order_relaxed));
        if (sampling) filter_remove(key);
    }
}

void _rc_tb_table_clear(void) {
    for (unsigned k = 0; k < SHARDS; k++) {
        pthread_mutex_lock(&shards[k].lock);
        if (shards[k].cap) memset(shards[k].slots, 0, shards[k].cap * sizeof *shards[k].slots);
        atomic_store(&shards[k].len, 0);
        pthread_mutex_unlock(&shards[k].lock);
    }
}

void _rc_tb_table_lock(void) {
    for (unsigned k = 0; k < SHARDS; k++) pthread_mutex_lock(&shards[k].lock);
}

void _rc_tb_table_unlock(void) {
    for (unsigned k = SHARDS; k-- > 0;) pthread_mutex_unlock(&shards[k].lock);
}

void _rc_tb_table_each(void (*fn)(size_t size, size_t count, uint32_t stack, void *arg), void *arg) {
    for (unsigned k = 0; k < SHARDS; k++) {
        shard *s = &shards[k];
        for (size_t i = 0; i < s->cap; i++) {
            trace_entry *e = &s->slots[i];
            if (e->key) fn(e->size, e->count, e->stack, arg);
        }
    }
}
/* }==== */

/* {==== side tables ==== */

/*
 * A small block's trace is two entries in its pool's side table
 * (rc_arena.side[i], tagged with the class it was made for), indexed by
 * the block's number in the pool:
 *   ids[k]    its traceback id (written by an allocation, read by a
 *             snapshot);
 *   marks[k]  RC_TB_MARK_ON | (epoch & 3) << 5 | delta, where the block
 *             is of its class's size - delta bytes (delta 31,
 *             RC_TB_MARK_ELSEWHERE: traced in the address tables instead).
 *             0, or a mark of an older epoch: not traced.
 * A free reads and clears the mark only: one byte per block, so the marks
 * of a million blocks are a megabyte, which mostly stays in the cache. The
 * heap drops a pool's table when the pool starts a new span, so a table's
 * tag is true while any block of its pool lives: a free needs the table's
 * word (from the directory below) and the mark, not the pool's
 * descriptor. The mark format and the readers the hooks inline are in
 * src/internal/prof.h.
 */

static inline size_t side_size(unsigned cls) { return (size_t)_rc_class_blocks[cls] * (sizeof(uint32_t) + 1); }

/* Spare tables by class, linked through their first word; under
 * spare_lock. New tables are cut from 2 MiB chunks of huge pages, under
 * spare_lock too: the tables of a million blocks span five megabytes, and
 * a free that found its mark through a TLB miss (as it would in tables
 * spread over small pages) would wait twice as long. */
static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static void *spare[RC_SMALL_CLASSES];
/* Tables the heap gave back (_rc_tb_side_release runs under the arena
 * lock, so it takes no lock of ours): a lock-free list of tagged table words, each
 * table's first word the next one's; drained into the spares under
 * spare_lock (whole, by one exchange: no ABA). */
static _Atomic(uintptr_t) returned;
static char *side_chunk, *side_chunk_end;
static _Atomic(size_t) side_bytes; /* every chunk mapped, for the overhead */
#define SIDE_CHUNK ((size_t)2 << 20)

/* A new table of bytes (zeroed), NULL when out of memory. spare_lock held. */
static void *side_cut(size_t bytes) {
    bytes = (bytes + 15) & ~(size_t)15;
    if ((size_t)(side_chunk_end - side_chunk) < bytes) {
        char *c = _rc_os_map_aligned(SIDE_CHUNK, SIDE_CHUNK);
        if (!c) return NULL;
        _rc_os_hugepages(c, SIDE_CHUNK);
        atomic_fetch_add_explicit(&side_bytes, SIDE_CHUNK, memory_order_relaxed);
        side_chunk = c; /* the rest of the old chunk, at most a table's size, is left */
        side_chunk_end = c + SIDE_CHUNK;
    }
    void *t = side_chunk;
    side_chunk += bytes;
    return t;
}

/* The arena header's word for key's pool: what the heap's hook clears. */
static inline _Atomic(uintptr_t) *side_slot(uintptr_t key) {
    return &_rc_arena_of(key)->side[(key >> RC_POOL_SHIFT) & (RC_POOLS_PER_ARENA - 1)];
}

/*
 * The directory: a copy of every pool's side word, which the hooks read
 * instead of the arena header's. Arenas are 1 MiB-aligned, so the side
 * words of all arenas (at one offset in their headers) fall into the same
 * few sets of every cache: a heap of 160 arenas has 1280 lines of them,
 * competing for 8 sets, and a free missed its table's word in the cache
 * nine times out of ten. Here the words of one GiB of address space
 * (1024 arenas) are one array of 64 Ki words (512 KiB, mapped on first
 * use, never freed), so the words of neighbouring arenas are neighbours.
 * _rc_tb_dir[a >> 30] is that array or NULL. Written beside the arena's
 * word (_rc_tb_side_make under spare_lock, _rc_tb_side_release under the
 * arena lock), so the two are equal whenever a hook reads them
 * (_rc_tb_side_word, src/internal/prof.h).
 */
_Atomic(_Atomic(uintptr_t) *) _rc_tb_dir[(size_t)1 << (RC_ADDRESS_BITS - RC_TB_DIR_SHIFT)];

/* Make the table of a pool of this thread's, on its first traced
 * allocation since it became a span: from the spare list of its class, or
 * new. 0 when out of memory. */
RC_NOINLINE uintptr_t _rc_tb_side_make(uintptr_t key, unsigned cls) {
    size_t bytes = side_size(cls);
    pthread_mutex_lock(&spare_lock);
    _Atomic(uintptr_t) *leaf = atomic_load_explicit(&_rc_tb_dir[key >> RC_TB_DIR_SHIFT], memory_order_relaxed);
    if (!leaf) {
        leaf = _rc_os_map_aligned(RC_TB_DIR_LEAF * sizeof *leaf, _rc_os_page_size());
        if (!leaf) {
            pthread_mutex_unlock(&spare_lock);
            return 0;
        }
        atomic_fetch_add_explicit(&side_bytes, RC_TB_DIR_LEAF * sizeof *leaf, memory_order_relaxed);
        atomic_store_explicit(&_rc_tb_dir[key >> RC_TB_DIR_SHIFT], leaf, memory_order_release);
    }
    for (uintptr_t l = atomic_exchange(&returned, 0); l;) {
        uintptr_t next = *(uintptr_t *)_rc_tb_ids(l);
        *(void **)_rc_tb_ids(l) = spare[_rc_tb_class(l)];
        spare[_rc_tb_class(l)] = _rc_tb_ids(l);
        l = next;
    }
    void *t = spare[cls];
    bool reused = t != NULL;
    if (reused) spare[cls] = *(void **)t;
    else t = side_cut(bytes);
    pthread_mutex_unlock(&spare_lock);
    if (!t) return 0;
    /* a spare is cleared with atomic stores: a snapshot may still read it */
    _Atomic(uint8_t) *b = t;
    if (reused) for (size_t i = 0; i < bytes; i++) atomic_store_explicit(&b[i], 0, memory_order_relaxed);
    uintptr_t v = (uintptr_t)t | (uintptr_t)cls << RC_SIDE_TAG_SHIFT;
    atomic_store_explicit(side_slot(key), v, memory_order_release);
    atomic_store_explicit(_rc_tb_dir_slot(leaf, key), v, memory_order_release);
    return v;
}

/* The heap gives pools first..first+n-1 of arena a new span, or unmaps
 * the arena (its lock held): their tables go to the returned list (no
 * block of those pools lives, so no hook writes them). */
void _rc_tb_side_release(rc_arena *a, unsigned first, unsigned n) {
    for (unsigned i = first; i < first + n; i++) {
        uintptr_t v = atomic_load_explicit(&a->side[i], memory_order_acquire); /* then its leaf */
        if (!v) continue;
        atomic_store_explicit(&a->side[i], 0, memory_order_relaxed);
        uintptr_t pool = (uintptr_t)a + ((uintptr_t)i << RC_POOL_SHIFT);
        _Atomic(uintptr_t) *leaf = atomic_load_explicit(&_rc_tb_dir[pool >> RC_TB_DIR_SHIFT], memory_order_relaxed);
        atomic_store_explicit(_rc_tb_dir_slot(leaf, pool), 0, memory_order_relaxed); /* made with the table */
        uintptr_t head = atomic_load_explicit(&returned, memory_order_relaxed);
        do *(uintptr_t *)_rc_tb_ids(v) = head;
        while (!atomic_compare_exchange_weak_explicit(&returned, &head, v, memory_order_release,
                                                      memory_order_relaxed));
    }
}

/* Every pool in use with a table (arena lock held: tables go only under
 * it): fn(pool, its table word). */
typedef void (*side_visit)(const rc_pool *pool, uintptr_t v, void *arg);
typedef struct side_walk_ctx {
    side_visit fn;
    void *arg;
} side_walk_ctx;

static void side_walk_pool(rc_pool *pool, void *arg) {
    side_walk_ctx *c = arg;
    if (pool->cls >= RC_SMALL_CLASSES) return;
    uintptr_t v = atomic_load_explicit(side_slot((uintptr_t)_rc_pool_start(pool)), memory_order_acquire);
    if (v && _rc_tb_class(v) == pool->cls) c->fn(pool, v, c->arg);
}

static void side_walk(side_visit fn, void *arg) {
    side_walk_ctx c = {fn, arg};
    pthread_mutex_lock(&_rc_arena_lock);
    _rc_arena_walk_locked(side_walk_pool, &c);
    pthread_mutex_unlock(&_rc_arena_lock);
}

/* rc_trace_stop: every mark of the pools in use goes (the others are
 * clear: their blocks were freed). */
static void side_clear_visit(const rc_pool *pool, uintptr_t v, void *arg) {
    (void)pool, (void)arg;
    _Atomic(uint8_t) *marks = _rc_tb_marks(v);
    for (size_t i = 0, n = _rc_class_blocks[_rc_tb_class(v)]; i < n; i++)
        atomic_store_explicit(&marks[i], 0, memory_order_relaxed);
}

void _rc_tb_side_clear(void) { side_walk(side_clear_visit, NULL); }

/* Side-table traces summed by traceback id (ids 1..n). */
typedef struct side_sum {
    rc_tb_sum *by_id;
    size_t n;
    uint64_t epoch;
} side_sum;

static void side_sum_visit(const rc_pool *pool, uintptr_t v, void *arg) {
    side_sum *c = arg;
    uint32_t csize = _rc_class_size[pool->cls];
    size_t carved = atomic_load_explicit(&((rc_pool *)pool)->capacity, memory_order_relaxed);
    _Atomic(uint8_t) *marks = _rc_tb_marks(v);
    _Atomic(uint32_t) *ids = _rc_tb_ids(v);
    for (size_t i = 0; i < carved; i++) {
        uint8_t m = atomic_load_explicit(&marks[i], memory_order_relaxed);
        if (!_rc_tb_mark_valid(m, c->epoch) || (m & 31) == RC_TB_MARK_ELSEWHERE) continue;
        uint32_t id = atomic_load_explicit(&ids[i], memory_order_relaxed);
        if (!id || id > c->n) continue;
        c->by_id[id].size += csize - (m & 31u);
        c->by_id[id].count++;
    }
}

void _rc_tb_side_sum(rc_tb_sum *by_id, size_t n, uint64_t ep) {
    side_sum sum = {by_id, n, ep};
    side_walk(side_sum_visit, &sum);
}
/* }==== */

/* {==== readers ==== */

/* The traceback id of key in the address tables, 0 when not there. */
static uint32_t table_lookup(uintptr_t key) {
    size_t home;
    shard *s = shard_of(key, &home);
    uint32_t id = 0;
    pthread_mutex_lock(&s->lock);
    if (s->cap) {
        size_t mask = s->cap - 1;
        for (size_t i = home & mask; s->slots[i].key; i = (i + 1) & mask)
            if (s->slots[i].key == key) {
                id = s->slots[i].stack;
                break;
            }
    }
    pthread_mutex_unlock(&s->lock);
    return id;
}

uint32_t _rc_tb_lookup(uintptr_t key, bool sampling) {
    if (sampling || !_rc_is_arena(key) || !_rc_tb_in_small_pool(key))
        return table_lookup(key);
    uintptr_t v = _rc_tb_side_word(key);
    if (!v) return 0;
    unsigned cls = _rc_tb_class(v);
    uint32_t bi = _rc_tb_block_index(key, cls);
    if ((key & ~(uintptr_t)(RC_POOL_SIZE - 1)) + (uintptr_t)bi * _rc_class_size[cls] != key ||
        bi >= _rc_class_blocks[cls])
        return 0;
    uint8_t m = atomic_load_explicit(&_rc_tb_marks(v)[bi], memory_order_relaxed);
    if (!_rc_tb_mark_valid(m, atomic_load_explicit(&_rc_trace_epoch, memory_order_relaxed))) return 0;
    if ((m & 31) == RC_TB_MARK_ELSEWHERE) return table_lookup(key);
    return atomic_load_explicit(&_rc_tb_ids(v)[bi], memory_order_relaxed);
}

size_t _rc_tb_overhead(void) {
    size_t bytes = 0;
    for (unsigned k = 0; k < SHARDS; k++) {
        pthread_mutex_lock(&shards[k].lock);
        bytes += shards[k].cap * sizeof(trace_entry);
        pthread_mutex_unlock(&shards[k].lock);
    }
    return bytes + atomic_load(&side_bytes);
}
/* }==== */

/* {==== fork ==== */

void _rc_tb_spare_lock(void) { pthread_mutex_lock(&spare_lock); }
void _rc_tb_spare_unlock(void) { pthread_mutex_unlock(&spare_lock); }

void _rc_tb_fork_child(void) {
    pthread_mutex_init(&spare_lock, NULL);
    for (unsigned k = 0; k < SHARDS; k++) {
        pthread_mutex_init(&shards[k].lock, NULL);
        if (shards[k].cap) memset(shards[k].slots, 0, shards[k].cap * sizeof *shards[k].slots);
        atomic_store(&shards[k].len, 0);
    }
}
/* }==== */
