/*
 * src/internal/prof_objgraph.h — the internal interface of the object-graph
 * tools in src/prof: the per-type counters (objgraph.c), the reference
 * index and the slots it numbers objects by (refgraph.c), the chain
 * searches that share those slots (chain.c) and the leak checks
 * (leakcheck.c). The design essay is docs/objgraph.md (and the top of
 * each file).
 */
#ifndef RC_INTERNAL_PROF_OBJGRAPH_H
#define RC_INTERNAL_PROF_OBJGRAPH_H
#ifndef RC_BUILDING_RECLAIM
#error "src/internal/prof_objgraph.h is internal to reclaim: include <reclaim.h> instead"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "object.h"

/* ---- objgraph.c: the counters and the object hooks -------------------- */

/* Install the object hooks and set RC_HOOK_OBJECTS (once per process). */
RC_INTERNAL void _rc_objgraph_start(void);
/* Leak-check regions (leakcheck.c) ride on the same hooks: while a region
 * is open on a thread, the new hook adds each object the thread creates to
 * the region's set and the free hook removes it. */
RC_INTERNAL int _rc_objgraph_region_open(void);
RC_INTERNAL bool _rc_objgraph_region_active(void);
/* The objects of the open region still alive (a new rc_vec of borrowed
 * pointers in *out); closes the region. -1 when none was open, -2 when
 * its set ran out of memory (then *out is empty). */
RC_INTERNAL int _rc_objgraph_region_close(rc_vec *out);

/* ---- refgraph.c: slots, the numbers of a query's objects (chain.c too) -- */

/*
 * Every block of the two worlds' pools (the calling thread's and the
 * orphans'), and every large object, has a slot: the pools' blocks carved
 * so far numbered in heap order (the pools of the thread's world, its
 * large objects, then the same for the orphan world: the order of
 * _rc_world_walk), free and DYING blocks included. A slot is computed
 * from an address, with nothing written anywhere and nothing of the
 * object read: the arena's row in a table (by chunk: directly indexed
 * when the arenas lie close together, as they do, else hashed), in the
 * row the entry of the address's 16 KiB page (its span's first slot,
 * first page and size class), plus the block's index in the span by the
 * class's magic multiply (no division). A pointer in an arena or a span
 * none of our pools own has no slot: an object of another live thread's
 * world. Neither the referent's header nor the pool descriptors are read
 * — either is a cache miss per reference, which was the cost of the first
 * index here (an address hash table) and of keeping the number in the
 * header's gc_aux (as the collector keeps gc_refs).
 *
 * Built per query by _rc_slots_build with the orphan lock held, and owned
 * by that query until _rc_slots_free. The tables describe the pools as
 * they were when built: _rc_slot_of is exact only while the lock is still
 * held (the orphans' pools cannot change); _rc_slot_obj reads no header,
 * only the tables, so it may be called after the lock is released (it
 * gives the block's payload address; whether an object still lives there
 * is the caller's concern).
 */
#define RC_SLOT_NONE UINT32_MAX /* no slot */

typedef struct rc_slot_seg { /* a span of one of our pools, or one large object */
    uint8_t *start;          /* first block's header */
    uint32_t bs;             /* block size (0: a large object) */
    uint32_t blocks;         /* blocks carved (1 for a large object) */
    uint32_t base;           /* slot of the first block */
    uint8_t cls, npages;     /* pools: size class, span length in pages */
} rc_slot_seg;

typedef struct rc_page_ent { /* a 16 KiB page of an arena */
    uint32_t base;           /* its span's first slot, or RC_SLOT_NONE: not ours */
    uint8_t head;            /* its span's first page in the arena */
    uint8_t cls;             /* the span's size class */
} rc_page_ent;

#define RC_ARENA_PAGES (1u << (RC_ARENA_SHIFT - RC_POOL_SHIFT))

/*
 *   segs[0].base == 0, segs[i + 1].base == segs[i].base + segs[i].blocks,
 *   and n == the last one's base + blocks < UINT32_MAX / 2
 *   (segments of no blocks share the next one's base)
 */
typedef struct rc_slots {
    rc_slot_seg *segs;
    size_t nsegs, n;      /* segments, slots */
    rc_page_ent (*rows)[RC_ARENA_PAGES]; /* direct: one row per chunk from
                                            chunk_min on; hashed: one per arena of ours */
    bool direct;
    uintptr_t chunk_min;
    size_t nrows;
    uintptr_t *chunks;    /* hashed: chunk (0: empty) ... */
    uint32_t *chunk_row;  /* ... -> row */
    size_t arena_mask;
    uint32_t *large;      /* large objects: hash of header -> segment + 1 (0: empty) */
    size_t large_mask;
    uint32_t *group_seg;  /* per 64 slots: the segment of the first (_rc_slot_obj) */
} rc_slots;

/* List the two worlds' segments and build the tables; the caller holds
 * the orphan lock. False when out of memory, with s then empty (nothing to
 * free) and no error set: the caller names itself in the message. */
RC_INTERNAL bool _rc_slots_build(rc_slots *s);
/* Free the tables and zero s (an empty or zeroed s is fine). */
RC_INTERNAL void _rc_slots_free(rc_slots *s);

/* The huge page that big per-query arrays are aligned to and hinted for
 * (_rc_os_hugepages) before they are first touched. */
#define RC_HUGE_PAGE ((uintptr_t)2 << 20)

/* The hash of the slot tables and of the per-query maps (chunks, large
 * objects, addresses, slots). */
static inline size_t _rc_hash_word(uintptr_t x) {
    uint64_t h = (uint64_t)x;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (size_t)h;
}

/* The entry of the page holding address a, or NULL (no row: no pool of
 * ours in that chunk). Direct: one load. */
static inline const rc_page_ent *_rc_slots_page(const rc_slots *s, uintptr_t a) {
    if (RC_LIKELY(s->direct)) {
        uintptr_t i = (a >> RC_POOL_SHIFT) - (s->chunk_min << (RC_ARENA_SHIFT - RC_POOL_SHIFT));
        return i < s->nrows * RC_ARENA_PAGES ? &s->rows[0][0] + i : NULL;
    }
    uintptr_t chunk = a >> RC_ARENA_SHIFT;
    for (size_t j = _rc_hash_word(chunk) & s->arena_mask; s->chunks[j]; j = (j + 1) & s->arena_mask)
        if (s->chunks[j] == chunk) return &s->rows[s->chunk_row[j]][(a >> RC_POOL_SHIFT) & (RC_ARENA_PAGES - 1)];
    return NULL;
}

/*
 * The slot of obj, an object a traverse visited (or a query's target), or
 * RC_SLOT_NONE: a static immortal object (None, a small int) or an object
 * of another live thread's world. While the orphan lock is held (the
 * orphans' pools cannot change). obj is a live object, so its header is a
 * block start of a span carved that far.
 */
static inline uint32_t _rc_slot_of(const rc_slots *s, const void *obj) {
    uintptr_t a = (uintptr_t)_rc_head(obj);
    const rc_page_ent *pe = _rc_slots_page(s, a);
    if (RC_LIKELY(pe != NULL) && RC_LIKELY(pe->base != RC_SLOT_NONE)) {
        uintptr_t off = a - ((a & ~(uintptr_t)RC_ARENA_MASK) + ((uintptr_t)pe->head << RC_POOL_SHIFT));
        return pe->base + (uint32_t)(((unsigned __int128)off * _rc_class_magic[pe->cls]) >> 64);
    }
    if (_rc_is_arena(a)) return RC_SLOT_NONE; /* a pool of another world */
    if (_rc_is_static_object(obj) || !(_rc_head(obj)->type_bits & RC_LARGE)) return RC_SLOT_NONE;
    for (size_t j = _rc_hash_word(a) & s->large_mask; s->large[j]; j = (j + 1) & s->large_mask) {
        const rc_slot_seg *seg = &s->segs[s->large[j] - 1];
        if ((uintptr_t)seg->start == a) return seg->base;
    }
    return RC_SLOT_NONE;
}

/* The object of slot k < n (a block's payload, live or not: no header is
 * read): from the segment of k's group on to the last one starting at or
 * before k (one step, mostly: a group of 64 slots spans few segments). */
static inline void *_rc_slot_obj(const rc_slots *s, uint32_t k) {
    size_t lo = s->group_seg[k / 64];
    while (lo + 1 < s->nsegs && s->segs[lo + 1].base <= k) lo++;
    const rc_slot_seg *seg = &s->segs[lo];
    return _rc_payload((rc_object_head *)(seg->start + (size_t)(k - seg->base) * seg->bs));
}

/* ---- refgraph.c: the reference index ----------------------------------- */

/*
 * A frozen picture of the two worlds (the calling thread's and the
 * orphans'): every live object (DYING ones left out) as a node numbered in
 * heap order, and every reference one node's traverse visits to another
 * node as an edge, in both directions, compressed (CSR):
 *
 *   out_off[i] .. out_off[i+1]   indices into out[]: the nodes i refers to
 *   in_off[i]  .. in_off[i+1]    indices into in[]:  the nodes referring to i
 *   in_off[n] == out_off[n] == edges      (a reference held twice counts twice)
 *   external(i) == refcnt(i) - (in_off[i+1] - in_off[i])   (never below 0)
 *
 * A hash table (open addressing, power-of-two size, at most half full)
 * maps an object's address to its node. Built in O(objects + references)
 * with no recursion; the orphan lock is held while it is built only.
 */
typedef struct rc_refgraph {
    void **nodes;
    size_t n, edges;
    uint32_t *out_off, *out;
    uint32_t *in_off, *in;
    uint32_t *map; /* node + 1, 0 = empty */
    size_t map_mask;
} rc_refgraph;

/* Build g; false with rc_last_error set ("fn: out of memory") on failure
 * (g is then empty). */
RC_INTERNAL bool _rc_refgraph_build(rc_refgraph *g, const char *fn);
RC_INTERNAL void _rc_refgraph_free(rc_refgraph *g);
/* The node of obj, or -1 when obj is no node. */
RC_INTERNAL int64_t _rc_refgraph_find(const rc_refgraph *g, const void *obj);
/* References to node i from outside the heap (0 for immortal objects). */
RC_INTERNAL size_t _rc_refgraph_external(const rc_refgraph *g, size_t i);
/* Strongly connected components that form cycles (more than one node, or
 * a node referring to itself): comp[i] gets the cycle number of node i
 * (1, 2, ...) or 0. Iterative Tarjan. Returns the number of cycles, or -1
 * when out of memory. comp has g->n entries. */
RC_INTERNAL int64_t _rc_refgraph_cycles(const rc_refgraph *g, uint32_t *comp);

/* ---- dot.c / leakcheck.c: shared text helpers --------------------------- */

/* obj's rc_repr as C text cut at max code points (with "..." when cut),
 * in buf (NUL-terminated); "?" when repr fails (the error is cleared). */
RC_INTERNAL void _rc_objgraph_repr(const void *obj, char *buf, size_t len, size_t max);

#endif
