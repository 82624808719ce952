/*
 * refgraph.c — the reference index of the live objects, and the questions
 * asked of it: references from outside the heap, objects nothing holds
 * (objgraph.get_leaking_objects), the shortest chains of references
 * (find_backref_chain, find_ref_chain) and the cycles kept alive (for the
 * leak report). The design essay is docs/objgraph.md.
 *
 * Every query makes its own picture of the two worlds (the calling
 * thread's and the orphans'), under the orphan lock, in passes over the
 * pools with nothing written into the objects:
 *
 *   slots   each block of the worlds' pools (and each large object) gets a
 *           number, its slot, computed from its address (the arena's row
 *           in a small table, the span's first slot, the block's index by
 *           the span's magic multiply): no hash table of objects, and the
 *           header of a referent is never read;
 *   pass    each live object's traverse is called once, in slot order;
 *           the slots of its referents are appended to one edge array,
 *           which is already the forward adjacency in compressed form
 *           (CSR), and per slot a counter records gc_refs or referrers.
 *
 * The chain searches run on that, in a compact form of their own (2-byte
 * edge offsets, gc_refs in a byte, the references to dead ends dropped:
 * see "chains" below): find_backref_chain is a breadth-first search
 * forward from every root at once to the target (level bitmaps, stopping
 * at the level that reaches it), find_ref_chain one forward from obj;
 * get_leaking_objects needs only the counters. The full index of the
 * pictures and leak reports (rc_refgraph, src/internal/prof_objgraph.h)
 * renumbers the live slots as nodes, in heap order, and adds the reverse
 * adjacency (a counting sort) and an address -> node hash table.
 * O(objects + references) time, and no recursion anywhere: the searches
 * are breadth-first over arrays and bitmaps, the cycle finder is Tarjan's
 * algorithm with an explicit stack.
 *
 * References from outside the heap are the collector's gc_refs arithmetic
 * (docs/gc.md): an object's count minus the references the objects of the
 * two worlds hold to it. What is left is held by C code (a local, a
 * global, a structure outside the heap) — or by an rc_incref that was
 * never matched by its rc_decref, which is how this finds the missing
 * decref that no other tool sees. Unlike the collector, which needs only
 * tracked objects, the index counts the references of every object whose
 * type has traverse, tracked or not (an untracked tuple holding a str
 * holds a reference all the same). References from objects of other live
 * threads' worlds are not seen: they count as outside.
 *
 * A root of a backref chain is an object held from outside the heap
 * (external > 0); every object no other object refers to is one. The
 * target itself is a root only when nothing refers to it: the caller
 * asking about it usually holds it, and the answer sought is who else
 * does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal/prof_objgraph.h"

/* {==== slots: numbers from addresses ==== */

#define NONE UINT32_MAX       /* no slot; in a parent array: not reached yet */
#define ROOT (UINT32_MAX - 1) /* in a parent array: a start of the search */

/*
 * Every block of the two worlds' pools, and every large object, has a
 * slot: the pools' blocks carved so far numbered in heap order (the pools
 * of the thread's world, its large objects, then the same for the orphan
 * world: the order of _rc_world_walk), free and DYING blocks included.
 * A slot is computed from an address, with nothing written anywhere and
 * nothing of the object read: the arena's row in a table (by chunk:
 * directly indexed when the arenas lie close together, as they do, else
 * hashed), in the row the entry of the address's 16 KiB page (its span's
 * first slot, first page and size class), plus the block's index in the
 * span by the class's magic multiply (no division). A pointer in an arena
 * or a span none of our pools own has no slot: an object of another live
 * thread's world. Neither the referent's header nor the pool descriptors
 * are read — either is a cache miss per reference, which was the cost of
 * the first index here (an address hash table) and of keeping the number
 * in the header's gc_aux (as the collector keeps gc_refs).
 */
typedef struct segment {  /* a span of one of our pools, or one large object */
    uint8_t *start;       /* first block's header */
    uint32_t bs;          /* block size (0: a large object) */
    uint32_t blocks;      /* blocks carved (1 for a large object) */
    uint32_t base;        /* slot of the first block */
    uint8_t cls, npages;  /* pools: size class, span length in pages */
} segment;

typedef struct page_ent { /* a 16 KiB page of an arena */
    uint32_t base;        /* its span's first slot, or NONE: not ours */
    uint8_t head;         /* its span's first page in the arena */
    uint8_t cls;          /* the span's size class */
} page_ent;

#define ARENA_PAGES (1u << (RC_ARENA_SHIFT - RC_POOL_SHIFT))

typedef struct slots {
    segment *segs;
    size_t nsegs, n;      /* segments, slots */
    page_ent (*rows)[ARENA_PAGES]; /* direct: one row per chunk from chunk_min
                                      on; hashed: one per arena of ours */
    bool direct;
    uintptr_t chunk_min;
    size_t nrows;
    uintptr_t *chunks;    /* hashed: chunk (0: empty) ... */
    uint32_t *chunk_row;  /* ... -> row */
    size_t arena_mask;
    uint32_t *large;      /* large objects: hash of header -> segment + 1 (0: empty) */
    size_t large_mask;
    uint32_t *group_seg;  /* per 64 slots: the segment of the first (slot_obj) */
} slots;

typedef struct seg_list {
    rc_vec pools;
    bool oom;
} seg_list;

static void list_pool(rc_pool *pool, void *arg) {
    seg_list *l = arg;
    if (!_rc_vec_push(&l->pools, pool)) l->oom = true;
}

static size_t hash_word(uintptr_t x) {
    uint64_t h = (uint64_t)x;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (size_t)h;
}

/* A big array of n items of size bytes (zeroed when zero), with
 * transparent huge pages asked for (_rc_os_hugepages, a hint) on the whole
 * 2 MiB pages inside it before it is first touched: fresh memory costs a
 * page fault per 4 KiB page otherwise, which was a quarter of a chain
 * search for 5M objects. Freed with rc_free. */
#define HUGE_PAGE ((uintptr_t)2 << 20)

static void *big_alloc(size_t n, size_t size, bool zero) {
    size_t bytes = (n ? n : 1) * size;
    void *p = zero ? rc_calloc(1, bytes) : rc_malloc(bytes);
    uintptr_t a = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1), e = ((uintptr_t)p + bytes) & ~(HUGE_PAGE - 1);
    if (p && e > a) _rc_os_hugepages((void *)a, e - a);
    return p;
}

/* The same, not zeroed, for the arrays of a chain search, whose every
 * fault counts on a first call: from 2 MiB on, placed at a huge page's
 * start and rounded up to whole huge pages, all of them asked for (the
 * head of the block before, never touched, costs address space only;
 * big_alloc leaves up to 4 MiB of each array, most of a small one, in
 * 4 KiB pages). The block's own address is kept in the word before.
 * Freed with huge_free. */
static void *huge_alloc(size_t n, size_t size) {
    size_t bytes = (n ? n : 1) * size;
    if (bytes < HUGE_PAGE) {
        uint8_t *p = rc_malloc(bytes + 16);
        if (!p) return NULL;
        ((void **)(p + 16))[-1] = p;
        return p + 16;
    }
    size_t span = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    uint8_t *p = rc_malloc(span + HUGE_PAGE + 16);
    if (!p) return NULL;
    uint8_t *a = (uint8_t *)(((uintptr_t)p + 16 + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1));
    _rc_os_hugepages(a, span);
    ((void **)a)[-1] = p;
    return a;
}

static void huge_free(void *a) {
    if (a) rc_free(((void **)a)[-1]);
}

static void slots_free(slots *s) {
    rc_free(s->segs);
    rc_free(s->rows);
    rc_free(s->chunks);
    rc_free(s->chunk_row);
    rc_free(s->large);
    rc_free(s->group_seg);
    memset(s, 0, sizeof *s);
}

static bool seg_push(slots *s, size_t *cap, segment seg) {
    if (s->nsegs == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        segment *segs = rc_realloc(s->segs, c * sizeof *segs);
        if (!segs) return false;
        s->segs = segs;
        *cap = c;
    }
    s->segs[s->nsegs++] = seg;
    return true;
}

static bool list_world(slots *s, size_t *cap, rc_world *w, size_t *nlarge) {
    seg_list l = {0};
    if (w->heap) _rc_heap_pools(w->heap, list_pool, &l);
    for (size_t i = 0; i < w->heaps.len; i++) _rc_heap_pools(w->heaps.items[i], list_pool, &l);
    bool ok = !l.oom;
    for (size_t i = 0; ok && i < l.pools.len; i++) {
        rc_pool *pool = l.pools.items[i];
        uint32_t blocks = atomic_load_explicit(&pool->capacity, memory_order_relaxed);
        ok = seg_push(s, cap,
                      (segment){_rc_pool_start(pool), _rc_pool_block_size(pool), blocks, (uint32_t)s->n, pool->cls,
                                pool->npools});
        s->n += blocks;
    }
    for (rc_large_obj *lo = w->large; ok && lo; lo = lo->next) {
        ok = seg_push(s, cap, (segment){(uint8_t *)(lo + 1), 0, 1, (uint32_t)s->n, 0, 0});
        s->n++;
        ++*nlarge;
    }
    _rc_vec_free(&l.pools);
    return ok && s->n < UINT32_MAX / 2;
}

static int cmp_word(const void *x, const void *y) {
    uintptr_t a = *(const uintptr_t *)x, b = *(const uintptr_t *)y;
    return (a > b) - (a < b);
}

/* The entry of the page holding address a, or NULL (no row: no pool of
 * ours in that chunk). Direct: one load. */
static inline const page_ent *page_of(const slots *s, uintptr_t a) {
    if (RC_LIKELY(s->direct)) {
        uintptr_t i = (a >> RC_POOL_SHIFT) - (s->chunk_min << (RC_ARENA_SHIFT - RC_POOL_SHIFT));
        return i < s->nrows * ARENA_PAGES ? &s->rows[0][0] + i : NULL;
    }
    uintptr_t chunk = a >> RC_ARENA_SHIFT;
    for (size_t j = hash_word(chunk) & s->arena_mask; s->chunks[j]; j = (j + 1) & s->arena_mask)
        if (s->chunks[j] == chunk) return &s->rows[s->chunk_row[j]][(a >> RC_POOL_SHIFT) & (ARENA_PAGES - 1)];
    return NULL;
}

/* List the two worlds' segments and build the tables (the orphan lock
 * held). False when out of memory (s is then empty). */
static bool slots_build(slots *s) {
    memset(s, 0, sizeof *s);
    size_t cap = 0, nlarge = 0;
    bool ok = (!_rc_world_tls || list_world(s, &cap, _rc_world_tls, &nlarge)) &&
              list_world(s, &cap, &_rc_orphans, &nlarge);
    size_t npools = s->nsegs - nlarge, narenas = 0;
    uintptr_t *chunks = NULL;
    if (ok) ok = (chunks = rc_malloc((npools ? npools : 1) * sizeof *chunks)) != NULL;
    if (ok) {
        /* the distinct arenas, sorted */
        for (size_t i = 0; i < s->nsegs; i++)
            if (s->segs[i].bs) chunks[narenas++] = (uintptr_t)s->segs[i].start >> RC_ARENA_SHIFT;
        qsort(chunks, narenas, sizeof *chunks, cmp_word);
        size_t u = 0;
        for (size_t i = 0; i < narenas; i++)
            if (i == 0 || chunks[i] != chunks[i - 1]) chunks[u++] = chunks[i];
        narenas = u;
        size_t lcap = 16;
        while (lcap < 2 * nlarge) lcap *= 2;
        s->large_mask = lcap - 1;
        s->large = rc_calloc(lcap, sizeof *s->large);
        ok = s->large != NULL;
        uintptr_t range = narenas ? chunks[narenas - 1] - chunks[0] + 1 : 0;
        s->direct = range <= 4 * narenas + 64; /* close together (512 bytes a row) */
        s->nrows = s->direct ? range : narenas;
        s->chunk_min = narenas ? chunks[0] : 0;
        if (ok) ok = (s->rows = rc_malloc((s->nrows ? s->nrows : 1) * sizeof *s->rows)) != NULL;
        if (ok && !s->direct) {
            size_t acap = 16;
            while (acap < 2 * narenas) acap *= 2;
            s->arena_mask = acap - 1;
            s->chunks = rc_calloc(acap, sizeof *s->chunks);
            s->chunk_row = rc_malloc(acap * sizeof *s->chunk_row);
            ok = s->chunks && s->chunk_row;
            for (size_t r = 0; ok && r < narenas; r++) {
                size_t j = hash_word(chunks[r]) & s->arena_mask;
                while (s->chunks[j]) j = (j + 1) & s->arena_mask;
                s->chunks[j] = chunks[r];
                s->chunk_row[j] = (uint32_t)r;
            }
        }
    }
    rc_free(chunks);
    if (ok) {
        memset(s->rows, 0xff, (s->nrows ? s->nrows : 1) * sizeof *s->rows);
        for (size_t i = 0; i < s->nsegs; i++) {
            const segment *seg = &s->segs[i];
            uintptr_t a = (uintptr_t)seg->start;
            if (seg->bs == 0) { /* a large object */
                size_t j = hash_word(a) & s->large_mask;
                while (s->large[j]) j = (j + 1) & s->large_mask;
                s->large[j] = (uint32_t)i + 1;
                continue;
            }
            page_ent *row = (page_ent *)page_of(s, a) - ((a >> RC_POOL_SHIFT) & (ARENA_PAGES - 1));
            unsigned head = (unsigned)((a >> RC_POOL_SHIFT) & (ARENA_PAGES - 1));
            for (unsigned p = head; p < head + seg->npages && p < ARENA_PAGES; p++)
                row[p] = (page_ent){seg->base, (uint8_t)head, seg->cls};
        }
    }
    if (ok) {
        /* the segment of each group's first slot: the last one starting
         * at or before it (segments of no blocks share the next one's
         * start) */
        size_t groups = (s->n + 63) / 64;
        ok = (s->group_seg = rc_malloc((groups ? groups : 1) * sizeof *s->group_seg)) != NULL;
        for (size_t gi = 0, i = 0; ok && gi < groups; gi++) {
            while (i + 1 < s->nsegs && s->segs[i + 1].base <= gi * 64) i++;
            s->group_seg[gi] = (uint32_t)i;
        }
    }
    if (!ok) slots_free(s);
    return ok;
}

/*
 * The slot of obj, an object a traverse visited (or a query's target), or
 * NONE: a static immortal object (None, a small int) or an object of
 * another live thread's world. While the orphan lock is held (the
 * orphans' pools cannot change). obj is a live object, so its header is a
 * block start of a span carved that far.
 */
static inline uint32_t slot_of(const slots *s, const void *obj) {
    uintptr_t a = (uintptr_t)_rc_head(obj);
    const page_ent *pe = page_of(s, a);
    if (RC_LIKELY(pe != NULL) && RC_LIKELY(pe->base != NONE)) {
        uintptr_t off = a - ((a & ~(uintptr_t)RC_ARENA_MASK) + ((uintptr_t)pe->head << RC_POOL_SHIFT));
        return pe->base + (uint32_t)(((unsigned __int128)off * _rc_class_magic[pe->cls]) >> 64);
    }
    if (_rc_is_arena(a)) return NONE; /* a pool of another world */
    if (_rc_is_static_object(obj) || !(_rc_head(obj)->type_bits & RC_LARGE)) return NONE;
    for (size_t j = hash_word(a) & s->large_mask; s->large[j]; j = (j + 1) & s->large_mask) {
        const segment *seg = &s->segs[s->large[j] - 1];
        if ((uintptr_t)seg->start == a) return seg->base;
    }
    return NONE;
}

/* The object of slot k < n (a block's payload, live or not: no header is
 * read): from the segment of k's group on to the last one starting at or
 * before k (one step, mostly: a group of 64 slots spans few segments). */
static void *slot_obj(const slots *s, uint32_t k) {
    size_t lo = s->group_seg[k / 64];
    while (lo + 1 < s->nsegs && s->segs[lo + 1].base <= k) lo++;
    const segment *seg = &s->segs[lo];
    return _rc_payload((rc_object_head *)(seg->start + (size_t)(k - seg->base) * seg->bs));
}

static inline bool head_live(const rc_object_head *h) {
    return h->type_bits && !(h->type_bits & RC_DYING);
}
/* }==== */

/* {==== the pass over the references ==== */

/*
 * A small map from a slot to a 64-bit number (open addressing, power-of-two
 * size, at most half full; 0 for a slot never added): the rare slots whose
 * number does not fit the chain index's small fields (an edge offset of
 * 65535 or more, a count's high part and borrows: see chain_graph).
 */
typedef struct wide {
    uint32_t *keys;    /* slot, or NONE: empty */
    int64_t *vals;
    size_t mask, len;
} wide;

static void wide_free(wide *m) {
    rc_free(m->keys);
    rc_free(m->vals);
    memset(m, 0, sizeof *m);
}

static int64_t wide_get(const wide *m, uint32_t k) {
    if (!m->len) return 0;
    for (size_t i = hash_word(k) & m->mask;; i = (i + 1) & m->mask) {
        if (m->keys[i] == k) return m->vals[i];
        if (m->keys[i] == NONE) return 0;
    }
}

/* Add d to k's number. False when out of memory (m unchanged). */
static bool wide_add(wide *m, uint32_t k, int64_t d) {
    if (2 * (m->len + 1) > (m->keys ? m->mask + 1 : 0)) {
        size_t cap = m->keys ? 2 * (m->mask + 1) : 64;
        uint32_t *keys = rc_malloc(cap * sizeof *keys);
        int64_t *vals = rc_malloc(cap * sizeof *vals);
        if (!keys || !vals) {
            rc_free(keys);
            rc_free(vals);
            return false;
        }
        memset(keys, 0xff, cap * sizeof *keys);
        for (size_t i = 0; m->keys && i <= m->mask; i++) {
            if (m->keys[i] == NONE) continue;
            size_t j = hash_word(m->keys[i]) & (cap - 1);
            while (keys[j] != NONE) j = (j + 1) & (cap - 1);
            keys[j] = m->keys[i];
            vals[j] = m->vals[i];
        }
        rc_free(m->keys);
        rc_free(m->vals);
        m->keys = keys;
        m->vals = vals;
        m->mask = cap - 1;
    }
    size_t i = hash_word(k) & m->mask;
    while (m->keys[i] != NONE && m->keys[i] != k) i = (i + 1) & m->mask;
    if (m->keys[i] == NONE) {
        m->keys[i] = k;
        m->vals[i] = 0;
        m->len++;
    }
    m->vals[i] += d;
    return true;
}

/* One traverse of every live object, in slot order; what it records is
 * chosen by which pointers are set. run_pass (the full index, leaking
 * objects) uses indeg, csr and out_off; chain_pass the fields from off on
 * (the arrays of chain_graph). */
typedef struct pass {
    const slots *s;
    uint32_t *indeg;   /* += 1 per reference */
    bool csr;          /* append each referent's slot to out (forward CSR) */
    uint32_t *out;
    size_t len, cap;
    uint32_t *out_off; /* each slot's first edge (n + 1 entries) */
    uint16_t *off;     /* each slot's first edge less its group's base
                          (OFF_WIDE: the edge in wide_off), n + 1 entries */
    uint32_t *base;    /* each group of 64 slots' first edge */
    wide *wide_off;
    uint8_t *cnt;      /* the count at the object mod 256 ... */
    wide *cnt_hi;      /* ... and its high part (count >> 8, when not 0) */
    uint64_t *has_out; /* a bit per slot with an edge kept */
    uint64_t *live;    /* a bit per slot holding a live object */
    uint32_t target;   /* references to this slot are counted */
    size_t target_refs;
    uint32_t cur;      /* the slot whose traverse runs */
    bool prune;        /* drop the edges to dead ends passed (see chain_graph) */
    /* the direct page table, copied here for visit_chain: the entry of
     * page p (address >> RC_POOL_SHIFT) is rows0[p - page0] when below npages */
    const page_ent *rows0;
    uintptr_t page0;
    size_t npages;
    bool oom;
} pass;

#define OFF_WIDE UINT16_MAX

static bool out_grow(pass *c) {
    size_t cap = c->cap ? c->cap * 2 : 1024;
    uint32_t *out = rc_realloc(c->out, cap * sizeof *out);
    if (!out) return false;
    c->out = out;
    c->cap = cap;
    return true;
}

static int visit_ref(void *obj, void *arg) {
    pass *c = arg;
    if (!obj) return 0;
    uint32_t j = slot_of(c->s, obj);
    if (j == NONE) return 0;
    if (c->indeg) c->indeg[j]++;
    if (j == c->target) c->target_refs++;
    if (c->csr) {
        if (RC_UNLIKELY(c->len == c->cap) && !out_grow(c)) {
            c->oom = true;
            return 1;
        }
        c->out[c->len++] = j;
    }
    return 0;
}

/* The rare ways of chain_edge, out of line (so the common one keeps its
 * registers): a count's borrow, and the edge array's growth. */
static RC_NOINLINE int chain_borrow(pass *c, uint32_t j) {
    if (wide_add(c->cnt_hi, j, -1)) return 0;
    c->oom = true;
    return 1;
}

static RC_NOINLINE int chain_grow(pass *c, uint32_t j) {
    uint32_t *out = huge_alloc(2 * c->cap, sizeof *out);
    if (!out) {
        c->oom = true;
        return 1;
    }
    memcpy(out, c->out, c->len * sizeof *out);
    huge_free(c->out);
    c->out = out;
    c->cap *= 2;
    c->out[c->len++] = j;
    return 0;
}

/* A reference to slot j, from slot c->cur. An edge to a slot the pass
 * has passed (j < cur) that kept no edge of its own, other than the
 * target, leads nowhere a chain could go: its reference is taken off cnt
 * at once, and no edge is kept. That is a third of the references on the
 * benchmark's heap (those to ints and strs, and then to the objects that
 * hold only those). */
static inline int chain_edge(pass *c, uint32_t j) {
    if (j == c->target) c->target_refs++;
    else if (c->prune && j < c->cur && !(c->has_out[j / 64] >> (j % 64) & 1)) {
        uint8_t v = c->cnt[j];
        c->cnt[j] = (uint8_t)(v - 1);
        return RC_UNLIKELY(v == 0) ? chain_borrow(c, j) : 0;
    }
    if (RC_UNLIKELY(c->len == c->cap)) return chain_grow(c, j);
    c->out[c->len++] = j;
    return 0;
}

/* NULL, static objects, large objects, another world's objects and the
 * hashed page table: slot_of's whole way. */
static RC_NOINLINE int visit_chain_slow(pass *c, void *obj) {
    uint32_t j;
    if (!obj || (j = slot_of(c->s, obj)) == NONE) return 0;
    return chain_edge(c, j);
}

/* The chain searches' visitor (chain_pass): visit_ref's work with the
 * direct table's lookup inline, and chain_edge's dead ends. */
static int visit_chain(void *obj, void *arg) {
    pass *c = arg;
    uintptr_t a = (uintptr_t)obj - sizeof(rc_object_head), i = (a >> RC_POOL_SHIFT) - c->page0;
    if (RC_UNLIKELY(i >= c->npages) || RC_UNLIKELY(c->rows0[i].base == NONE)) return visit_chain_slow(c, obj);
    const page_ent *pe = &c->rows0[i];
    uintptr_t off = a - ((a & ~(uintptr_t)RC_ARENA_MASK) + ((uintptr_t)pe->head << RC_POOL_SHIFT));
    return chain_edge(c, pe->base + (uint32_t)(((unsigned __int128)off * _rc_class_magic[pe->cls]) >> 64));
}

/* Record that slot k's edges start at c->len (off and base). */
static inline void note_first(pass *c, uint16_t *off, uint32_t *base, uint32_t k) {
    if (k % 64 == 0) base[k / 64] = (uint32_t)c->len;
    size_t o = c->len - base[k / 64];
    off[k] = o < OFF_WIDE ? (uint16_t)o : OFF_WIDE;
    if (RC_UNLIKELY(o >= OFF_WIDE) && !wide_add(c->wide_off, k, (int64_t)c->len)) c->oom = true;
}

/* Run the pass (the orphan lock held); out_off (n + 1 entries) gets each
 * slot's first edge when c->csr. indeg starts at zero. False when out of
 * memory. */
static bool run_pass(const slots *s, pass *c) {
    c->s = s;
    if (c->csr && !c->out) {
        c->cap = 2 * s->n + 1024;
        c->out = big_alloc(c->cap, sizeof *c->out, false);
        if (!c->out) return false;
    }
    for (size_t i = 0; i < s->nsegs && !c->oom; i++) {
        const segment *seg = &s->segs[i];
        uint8_t *p = seg->start;
        for (uint32_t b = 0; b < seg->blocks && !c->oom; b++, p += seg->bs) {
            uint32_t k = seg->base + b;
            if (c->out_off) c->out_off[k] = (uint32_t)c->len;
            rc_object_head *h = (rc_object_head *)p;
            uintptr_t bits = h->type_bits;
            if (!bits || (bits & RC_DYING)) continue;
            const rc_type *t = _rc_head_type(h);
            if (t->traverse) t->traverse(_rc_payload(h), visit_ref, c);
            if (c->len >= UINT32_MAX / 2) c->oom = true;
        }
    }
    if (c->out_off) c->out_off[s->n] = (uint32_t)c->len;
    return !c->oom;
}

/* The chain searches' pass (the orphan lock held): c->off and c->base
 * get where each slot's edges start, c->has_out which slots kept an edge,
 * c->cnt and c->cnt_hi the counts (backward; see chain_graph), c->live
 * the live slots (forward). The arrays are written whole, not read first.
 * False when out of memory. */
static bool chain_pass(const slots *s, pass *c) {
    c->s = s;
    c->cap = 2 * s->n + 1024;
    c->out = huge_alloc(c->cap, sizeof *c->out);
    if (!c->out) return false;
    c->rows0 = s->direct ? &s->rows[0][0] : NULL;
    c->page0 = s->direct ? s->chunk_min << (RC_ARENA_SHIFT - RC_POOL_SHIFT) : 0;
    c->npages = s->direct ? s->nrows * ARENA_PAGES : 0;
    uint16_t *off = c->off;
    uint32_t *base = c->base;
    uint64_t *has_out = c->has_out, *live = c->live;
    uint8_t *cnt = c->cnt;
    for (size_t i = 0; i < s->nsegs && !c->oom; i++) {
        const segment *seg = &s->segs[i];
        uint8_t *p = seg->start;
        for (uint32_t b = 0; b < seg->blocks && !c->oom; b++, p += seg->bs) {
            uint32_t k = seg->base + b;
            size_t first = c->len;
            note_first(c, off, base, k);
            if (k % 64 == 0) has_out[k / 64] = 0;
            rc_object_head *h = (rc_object_head *)p;
            uintptr_t bits = h->type_bits;
            if (!bits || (bits & RC_DYING)) {
                if (cnt) cnt[k] = 0;
                continue;
            }
            if (live) live[k / 64] |= (uint64_t)1 << (k % 64);
            if (cnt) {
                /* immortal (or, impossibly, zero): 1, so that gc_refs stays
                 * above zero exactly when nothing refers to it */
                uint32_t n = h->refcnt;
                if (_rc_is_immortal(h) || n == 0) n = 1;
                cnt[k] = (uint8_t)n;
                if (RC_UNLIKELY(n >> 8) && !wide_add(c->cnt_hi, k, n >> 8)) c->oom = true;
            }
            const rc_type *t = _rc_head_type(h);
            if (!t->traverse) continue;
            c->cur = k;
            t->traverse(_rc_payload(h), visit_chain, c);
            if (c->len > first) has_out[k / 64] |= (uint64_t)1 << (k % 64);
            if (c->len >= UINT32_MAX / 2) c->oom = true;
        }
    }
    note_first(c, off, base, (uint32_t)s->n);
    return !c->oom;
}
/* }==== */

/* {==== the full index (pictures, leak reports) ==== */

int64_t _rc_refgraph_find(const rc_refgraph *g, const void *obj) {
    if (!g->map || !obj) return -1;
    for (size_t i = hash_word((uintptr_t)obj) & g->map_mask;; i = (i + 1) & g->map_mask) {
        uint32_t k = g->map[i];
        if (k == 0) return -1;
        if (g->nodes[k - 1] == obj) return (int64_t)k - 1;
    }
}

void _rc_refgraph_free(rc_refgraph *g) {
    rc_free(g->nodes);
    rc_free(g->out_off);
    rc_free(g->out);
    rc_free(g->in_off);
    rc_free(g->in);
    rc_free(g->map);
    memset(g, 0, sizeof *g);
}

bool _rc_refgraph_build(rc_refgraph *g, const char *fn) {
    memset(g, 0, sizeof *g);
    slots s;
    pass c = {.csr = true, .target = NONE};
    uint32_t *soff = NULL, *node = NULL;
    _rc_orphans_lock();
    bool ok = slots_build(&s);
    if (ok) {
        c.out_off = soff = big_alloc(s.n + 1, sizeof *soff, false);
        node = big_alloc(s.n, sizeof *node, false);
        g->nodes = big_alloc(s.n, sizeof *g->nodes, false);
        ok = soff && node && g->nodes && run_pass(&s, &c);
    }
    if (ok) {
        /* the nodes: the live objects, in slot order */
        for (size_t i = 0; i < s.nsegs; i++) {
            const segment *seg = &s.segs[i];
            for (uint32_t b = 0; b < seg->blocks; b++) {
                rc_object_head *h = (rc_object_head *)(seg->start + (size_t)b * seg->bs);
                node[seg->base + b] = head_live(h) ? (uint32_t)g->n : NONE;
                if (head_live(h)) g->nodes[g->n++] = _rc_payload(h);
            }
        }
    }
    _rc_orphans_unlock();
    if (ok) {
        g->out_off = rc_malloc((g->n + 1) * sizeof *g->out_off);
        g->in_off = rc_calloc(g->n + 1, sizeof *g->in_off);
        ok = g->out_off && g->in_off;
    }
    if (ok) {
        /* the edges renumbered from slots to nodes, in place (those to a
         * DYING object dropped); in_off[j + 1] counts j's referrers */
        size_t w = 0, v = 0;
        for (size_t k = 0; k < s.n; k++) {
            if (node[k] == NONE) continue;
            g->out_off[v++] = (uint32_t)w;
            for (uint32_t e = soff[k]; e < soff[k + 1]; e++) {
                uint32_t j = node[c.out[e]];
                if (j == NONE) continue;
                c.out[w++] = j;
                g->in_off[j + 1]++;
            }
        }
        g->out_off[g->n] = (uint32_t)w;
        g->edges = w;
    }
    g->out = c.out;
    rc_free(soff);
    rc_free(node);
    slots_free(&s);
    size_t cap = 16;
    while (cap < 2 * g->n) cap *= 2;
    if (ok) {
        g->in = rc_malloc((g->edges ? g->edges : 1) * sizeof *g->in);
        g->map = rc_calloc(cap, sizeof *g->map);
        ok = g->in && g->map;
    }
    if (ok) {
        /* prefix sums of the counts, then each source placed at its
         * target's cursor (a counting sort of the edges by target) */
        for (size_t k = 0; k < g->n; k++) g->in_off[k + 1] += g->in_off[k];
        uint32_t *cursor = rc_malloc((g->n + 1) * sizeof *cursor);
        ok = cursor != NULL;
        if (ok) {
            memcpy(cursor, g->in_off, (g->n + 1) * sizeof *cursor);
            for (size_t k = 0; k < g->n; k++)
                for (uint32_t e = g->out_off[k]; e < g->out_off[k + 1]; e++) g->in[cursor[g->out[e]]++] = (uint32_t)k;
            rc_free(cursor);
        }
        g->map_mask = cap - 1;
        for (size_t k = 0; ok && k < g->n; k++) {
            size_t i = hash_word((uintptr_t)g->nodes[k]) & g->map_mask;
            while (g->map[i]) i = (i + 1) & g->map_mask;
            g->map[i] = (uint32_t)k + 1;
        }
    }
    if (!ok) {
        _rc_refgraph_free(g);
        _rc_set_error("%s: out of memory", fn);
        errno = ENOMEM;
        return false;
    }
    return true;
}

size_t _rc_refgraph_external(const rc_refgraph *g, size_t i) {
    const rc_object_head *h = _rc_head(g->nodes[i]);
    if (_rc_is_immortal(h)) return 0;
    size_t in = g->in_off[i + 1] - g->in_off[i];
    return h->refcnt > in ? h->refcnt - in : 0;
}
/* }==== */

/* {==== cycles (Tarjan, iterative) ==== */

int64_t _rc_refgraph_cycles(const rc_refgraph *g, uint32_t *comp) {
    const uint32_t none = UINT32_MAX;
    size_t n = g->n;
    uint32_t *index = rc_malloc((n + 1) * sizeof *index), *low = rc_malloc((n + 1) * sizeof *low);
    uint32_t *stack = rc_malloc((n + 1) * sizeof *stack), *frames = rc_malloc((n + 1) * sizeof *frames);
    uint32_t *next = rc_malloc((n + 1) * sizeof *next);
    bool *on = rc_calloc(n + 1, sizeof *on);
    int64_t cycles = -1;
    if (!index || !low || !stack || !frames || !next || !on) goto done;
    for (size_t i = 0; i < n; i++) index[i] = none, comp[i] = 0;
    uint32_t counter = 0;
    size_t sp = 0, fp = 0;
    cycles = 0;
    for (size_t root = 0; root < n; root++) {
        if (index[root] != none) continue;
        frames[fp++] = (uint32_t)root;
        index[root] = low[root] = counter++;
        next[root] = g->out_off[root];
        stack[sp++] = (uint32_t)root;
        on[root] = true;
        while (fp) {
            uint32_t v = frames[fp - 1];
            if (next[v] < g->out_off[v + 1]) {
                uint32_t w = g->out[next[v]++];
                if (index[w] == none) {
                    index[w] = low[w] = counter++;
                    next[w] = g->out_off[w];
                    stack[sp++] = w;
                    on[w] = true;
                    frames[fp++] = w;
                } else if (on[w] && index[w] < low[v]) {
                    low[v] = index[w];
                }
                continue;
            }
            fp--;
            if (fp && low[v] < low[frames[fp - 1]]) low[frames[fp - 1]] = low[v];
            if (low[v] != index[v]) continue;
            /* v heads a component: pop it */
            size_t start = sp;
            while (stack[start - 1] != v) start--;
            start--;
            bool cyclic = sp - start > 1;
            for (uint32_t e = g->out_off[v]; e < g->out_off[v + 1] && !cyclic; e++) cyclic = g->out[e] == v;
            if (cyclic) cycles++;
            for (size_t k = start; k < sp; k++) {
                on[stack[k]] = false;
                if (cyclic) comp[stack[k]] = (uint32_t)cycles;
            }
            sp = start;
        }
    }
done:
    rc_free(index);
    rc_free(low);
    rc_free(stack);
    rc_free(frames);
    rc_free(next);
    rc_free(on);
    return cycles;
}
/* }==== */

/* {==== external references, leaking objects ==== */

typedef struct refs_ctx {
    const void *target;
    size_t refs;
    bool found;
} refs_ctx;

static int count_target(void *obj, void *arg) {
    refs_ctx *c = arg;
    if (obj == c->target) c->refs++;
    return 0;
}

static void scan_refs(rc_object_head *h, void *arg) {
    refs_ctx *c = arg;
    if (h->type_bits & RC_DYING) return;
    void *obj = _rc_payload(h);
    if (obj == c->target) c->found = true;
    const rc_type *t = _rc_head_type(h);
    if (t->traverse) t->traverse(obj, count_target, c);
}

int64_t rc_objgraph_external_refs(const void *obj) {
    static const char *const fn = "rc_objgraph_external_refs";
    if (!obj) {
        _rc_set_error("%s: object is NULL", fn);
        return -1;
    }
    if (!_rc_is_live_object(obj)) {
        _rc_set_error("%s: %p is not a live object", fn, obj);
        return -1;
    }
    /* one walk, no index: count the references to obj and meet it */
    refs_ctx c = {obj, 0, false};
    _rc_orphans_lock();
    if (_rc_world_tls) _rc_world_walk(_rc_world_tls, scan_refs, &c);
    _rc_world_walk(&_rc_orphans, scan_refs, &c);
    _rc_orphans_unlock();
    if (!c.found) {
        _rc_set_error("%s: %p belongs to another thread's world", fn, obj);
        return -1;
    }
    const rc_object_head *h = _rc_head(obj);
    if (_rc_is_immortal(h)) return 0;
    return h->refcnt > c.refs ? (int64_t)(h->refcnt - c.refs) : 0;
}

int64_t rc_objgraph_get_leaking_objects(void ***out) {
    static const char *const fn = "rc_objgraph_get_leaking_objects";
    if (!out) {
        _rc_set_error("%s: out is NULL", fn);
        return -1;
    }
    *out = NULL;
    /* one pass counting each slot's referrers, then the live ones with none */
    slots s;
    pass c = {.target = NONE};
    void **list = NULL;
    size_t k = 0;
    _rc_orphans_lock();
    bool ok = slots_build(&s);
    if (ok) {
        c.indeg = big_alloc(s.n, sizeof *c.indeg, true);
        ok = c.indeg && run_pass(&s, &c);
    }
    for (int round = 0; ok && round < 2; round++) { /* count, then fill */
        k = 0;
        for (size_t i = 0; i < s.nsegs; i++) {
            const segment *seg = &s.segs[i];
            for (uint32_t b = 0; b < seg->blocks; b++) {
                rc_object_head *h = (rc_object_head *)(seg->start + (size_t)b * seg->bs);
                if (c.indeg[seg->base + b] || !head_live(h) || _rc_is_immortal(h)) continue;
                if (list) list[k] = _rc_payload(h);
                k++;
            }
        }
        if (round == 0 && k == 0) break;
        if (round == 0) ok = (list = rc_malloc(k * sizeof *list)) != NULL;
    }
    _rc_orphans_unlock();
    slots_free(&s);
    rc_free(c.indeg);
    if (!ok) {
        rc_free(list);
        _rc_set_error("%s: out of memory", fn);
        errno = ENOMEM;
        return -1;
    }
    *out = list;
    return (int64_t)k;
}
/* }==== */

/* {==== chains ==== */

/*
 * What a chain search needs, built per call: the slots, and one pass
 * (chain_pass, visit_chain) that records the forward adjacency and, for
 * find_backref_chain, gc_refs and the references to the target. Small
 * per-slot arrays, because each is fresh memory that costs a page fault
 * per 4 KiB (or a huge page's zeroing) on the first query of a process,
 * which was most of the difference between a first call and a second:
 *
 *   out[e]       the edges kept, in slot order and traverse order (4 bytes)
 *   base[k / 64] the first edge of the group of 64 slots holding k
 *   off[k]       slot k's first edge less its group's base (2 bytes): k's
 *                edges are out[first(k)] .. out[first(k + 1) - 1], with
 *                first(k) == base[k / 64] + off[k] for k = 0 .. n. An
 *                offset of 65535 or more (a group holding a list of 65535
 *                items) is OFF_WIDE, and first(k) is then in wide_off.
 *   has_out      a bit per slot that kept an edge
 *   cnt[k]       gc_refs mod 256 (backward only): the count at the object
 *                (1 when immortal) mod 256, less one per reference to it,
 *                wrapping; the high part (count >> 8) and the borrows (-1
 *                each time a decrement wrapped from 0) are summed in
 *                cnt_hi, for the few slots that have either. Then
 *                gc_refs(k) == 256 * cnt_hi(k) + cnt[k] exactly, in one
 *                byte per slot where an int32 was four.
 *   live         a bit per live slot (forward only: DYING objects are no
 *                nodes)
 *
 * Dead ends (backward only). A slot that kept no edge and is not the
 * target leads nowhere a chain to the target could go: the pass drops a
 * reference to one when the pass has passed it (its slot below the
 * referrer's: has_out is final there), taking it off cnt at once, so that
 * a slot whose references all went to dead ends is a dead end in turn for
 * the slots after it; the search never enters the dead ends left (they are
 * marked seen from the start). On the benchmark's heap the pass drops a
 * third of the references (those to ints, strs and the objects holding
 * only those) and the search skips half the rest.
 *
 * About 3.2 bytes per slot and 4 per reference kept (plus a bit per slot
 * and level in the search), where the first version took 8 per slot and 4
 * per reference. The orphan lock is released before the search itself
 * (which calls pred, user code, in find_ref_chain).
 */
typedef struct chain_graph {
    slots s;
    void *block;         /* base, off, has_out and cnt, in one huge_alloc */
    uint32_t *base, *out;
    size_t words;        /* groups of 64 slots */
    uint16_t *off;
    wide wide_off;
    uint64_t *has_out;
    uint8_t *cnt;        /* NULL, or gc_refs mod 256 (find_backref_chain) */
    wide cnt_hi;
    uint64_t *live;      /* NULL, or a bit per slot holding a live object */
    uint32_t target;     /* obj's slot */
    size_t target_refs;  /* references to it from the live objects */
} chain_graph;

static void chain_graph_free(chain_graph *g) {
    slots_free(&g->s);
    huge_free(g->block);
    huge_free(g->out);
    wide_free(&g->wide_off);
    wide_free(&g->cnt_hi);
    rc_free(g->live);
    memset(g, 0, sizeof *g);
}

/* Slot v's first edge (v <= n); its edges end where slot v + 1's start. */
static inline uint32_t edge_first(const chain_graph *g, uint32_t v) {
    uint16_t o = g->off[v];
    return RC_LIKELY(o != OFF_WIDE) ? g->base[v / 64] + o : (uint32_t)wide_get(&g->wide_off, v);
}

/* Common checks, then the graph. False with rc_last_error set. */
static bool chain_setup(const char *fn, void *obj, size_t max_depth, void ***chain, bool backward,
                        chain_graph *g) {
    memset(g, 0, sizeof *g);
    if (chain) *chain = NULL;
    if (!obj) {
        _rc_set_error("%s: object is NULL", fn);
        return false;
    }
    if (!chain) {
        _rc_set_error("%s: chain is NULL", fn);
        return false;
    }
    if (max_depth == 0) {
        _rc_set_error("%s: max_depth must be at least 1", fn);
        return false;
    }
    if (!_rc_is_live_object(obj)) {
        _rc_set_error("%s: %p is not a live object", fn, obj);
        return false;
    }
    pass c = {.csr = true, .target = NONE, .wide_off = &g->wide_off, .cnt_hi = &g->cnt_hi, .prune = backward};
    _rc_orphans_lock();
    bool ok = slots_build(&g->s);
    /* checked again under the lock: an orphan may have been released */
    bool live = _rc_is_live_object(obj);
    if (ok && live) g->target = slot_of(&g->s, obj);
    if (ok && live && g->target != NONE) {
        size_t n = g->s.n ? g->s.n : 1;
        g->words = (g->s.n + 63) / 64;
        c.target = g->target;
        /* the per-slot arrays in one block (fewer huge pages part used) */
        size_t o_off = ((g->s.n / 64 + 1) * sizeof *g->base + 7) & ~(size_t)7;
        size_t o_has = o_off + (((g->s.n + 1) * sizeof *g->off + 7) & ~(size_t)7);
        size_t o_cnt = o_has + (g->words ? g->words : 1) * sizeof *g->has_out;
        uint8_t *block = g->block = huge_alloc(o_cnt + (backward ? n : 0), 1);
        if (block) {
            g->base = c.base = (uint32_t *)block;
            g->off = c.off = (uint16_t *)(block + o_off);
            g->has_out = c.has_out = (uint64_t *)(block + o_has);
            if (backward) g->cnt = c.cnt = block + o_cnt;
        }
        if (!backward) g->live = c.live = rc_calloc(g->words ? g->words : 1, sizeof *g->live);
        ok = block && (backward || g->live != NULL) && chain_pass(&g->s, &c);
    }
    _rc_orphans_unlock();
    g->out = c.out;
    g->target_refs = c.target_refs;
    if (ok && live && g->target != NONE && backward) {
        /* one less per reference kept (the pass took off the ones it
         * dropped); a loop of independent decrements overlaps its cache
         * misses better than the same decrements spread over the traverse
         * calls. A wrap from 0 is a borrow (rare: only slots with 256
         * references or more, or more than their count). */
        uint8_t *cnt = g->cnt;
        for (size_t e = 0; e < c.len && ok; e++) {
            uint32_t j = g->out[e];
            uint8_t v = cnt[j];
            cnt[j] = (uint8_t)(v - 1);
            if (RC_UNLIKELY(v == 0)) ok = wide_add(&g->cnt_hi, j, -1);
        }
    }
    if (!ok) {
        chain_graph_free(g);
        _rc_set_error("%s: out of memory", fn);
        errno = ENOMEM;
        return false;
    }
    if (!live || g->target == NONE) {
        chain_graph_free(g);
        if (!live) _rc_set_error("%s: %p is not a live object", fn, obj);
        else _rc_set_error("%s: %p belongs to another thread's world", fn, obj);
        return false;
    }
    return true;
}

/* The chain from slot `from` following parent links to a start (ROOT), as
 * a new array: forward (from first) or reversed. */
static int64_t make_chain(const char *fn, const chain_graph *g, const uint32_t *parent, uint32_t from, bool reverse,
                          void ***chain) {
    size_t len = 1;
    for (uint32_t v = from; parent[v] != ROOT; v = parent[v]) len++;
    void **c = rc_malloc(len * sizeof *c);
    if (!c) {
        _rc_set_error("%s: out of memory", fn);
        return -1;
    }
    size_t i = 0;
    for (uint32_t v = from;; v = parent[v]) {
        c[reverse ? len - 1 - i : i] = slot_obj(&g->s, v);
        i++;
        if (parent[v] == ROOT) break;
    }
    *chain = c;
    return (int64_t)len;
}

/*
 * find_backref_chain: a breadth-first search forward from every root at
 * once, level by level, to the target. The roots are the slots with
 * gc_refs > 0 after the pass: the object's count (1 for an immortal
 * object) less one per reference from a live object, above 0 exactly when
 * the object is held from outside the heap or nothing refers to it (free
 * and DYING slots end at 0 or below). The target is excluded: it is its
 * own chain only when nothing refers to it. The first level that reaches
 * the target gives a shortest chain from a root — the length a search
 * backward over the referrers finds, with no reverse index to build — and
 * the search stops there.
 *
 * Dead ends (no edge kept) are in the bitmap of the slots seen from the
 * start, so no level holds one but the target. Each level is a bitmap,
 * taken a group (a word) at a time in slot order, so the offsets and
 * edges are read in the order the pass wrote them; a bitmap of the slots
 * seen stays in cache where a parent array (4 bytes per slot, written at
 * random) would not. The chain is then read back from the levels: from
 * the target, at each level the first slot (in slot order) that refers to
 * the next one. Past LEVELS_KEPT levels (n / 8 bytes each) the search
 * starts over with a parent array instead, as deep chains are rare.
 */
#define LEVELS_KEPT 32
#define AHEAD 4 /* groups of a level whose offsets are fetched ahead */
#define LAG 8   /* slots of a level whose edges are fetched ahead */
#define PIPE 16 /* the ring of located slots (at least LAG) */

/* The roots (gc_refs > 0; the target and dead ends left out) as a bitmap
 * in level, and in seen with the dead ends but the target; their number. */
static size_t mark_roots(const chain_graph *g, uint64_t *level, uint64_t *seen) {
    size_t found = 0;
    const uint64_t low7 = 0x7f7f7f7f7f7f7f7full, high = 0x8080808080808080ull;
    for (size_t w = 0; w < g->words; w++) {
        uint64_t bits = 0;
        size_t k0 = w * 64, m = g->s.n - k0 < 64 ? g->s.n - k0 : 64;
        if (m == 64) {
            /* eight counts at a time: the high bit of each byte set when
             * the byte is not 0, gathered into eight bits by a multiply */
            for (size_t i = 0; i < 64; i += 8) {
                uint64_t x;
                memcpy(&x, g->cnt + k0 + i, sizeof x);
                uint64_t nz = (((x & low7) + low7) | x) & high;
                bits |= ((nz >> 7) * 0x0102040810204080ull >> 56) << i;
            }
        } else {
            for (size_t i = 0; i < m; i++) bits |= (uint64_t)(g->cnt[k0 + i] != 0) << i;
        }
        level[w] = bits;
    }
    /* the slots whose gc_refs has a high part or a borrow */
    for (size_t i = 0; g->cnt_hi.len && i <= g->cnt_hi.mask; i++) {
        uint32_t k = g->cnt_hi.keys[i];
        if (k == NONE) continue;
        uint64_t bit = (uint64_t)1 << (k % 64);
        if (256 * g->cnt_hi.vals[i] + g->cnt[k] > 0) level[k / 64] |= bit;
        else level[k / 64] &= ~bit;
    }
    /* dead ends (no edge kept) are never entered: seen from the start */
    for (size_t w = 0; w < g->words; w++) {
        level[w] &= g->has_out[w];
        seen[w] = level[w] | ~g->has_out[w];
    }
    if (g->words) {
        level[g->target / 64] &= ~((uint64_t)1 << (g->target % 64));
        seen[g->target / 64] &= ~((uint64_t)1 << (g->target % 64));
    }
    for (size_t w = 0; w < g->words; w++) found += (size_t)__builtin_popcountll(level[w]);
    return found;
}

static bool has_edge(const chain_graph *g, uint32_t v, uint32_t u) {
    uint32_t e = edge_first(g, v), end = edge_first(g, v + 1);
    for (; e < end; e++)
        if (g->out[e] == u) return true;
    return false;
}

/* The search with kept levels: the chain's length, 0 for none within
 * max_depth, -1 when out of memory, -2 when deeper than LEVELS_KEPT. */
static int64_t search_levels(const char *fn, const chain_graph *g, size_t max_depth, void ***chain) {
    size_t words = g->words ? g->words : 1;
    uint64_t *levels[LEVELS_KEPT + 1] = {0};
    /* the seen bitmap and the levels, in one mapping (huge pages hinted)
     * of which only the levels used are touched, each zeroed when begun */
    uint64_t *seen = huge_alloc((LEVELS_KEPT + 2) * words, sizeof *seen);
    int64_t result = -1;
    if (!seen) goto done;
    levels[0] = seen + words;
    size_t found = mark_roots(g, levels[0], seen), depth = 0;
    uint32_t t = g->target;
    bool reached = false;
    for (; found && depth < max_depth && !reached; depth++) {
        if (depth == LEVELS_KEPT) {
            result = -2;
            goto done;
        }
        uint64_t *level = levels[depth], *next = levels[depth + 1] = level + words;
        memset(next, 0, words * sizeof *next);
        found = 0;
        /* A level's slots come in slot order but sparse, which no hardware
         * prefetcher follows. Two stages: the offsets and base of the next
         * AHEAD groups with slots in the level are fetched ahead of their
         * turn; then each slot's edges are located (in cache by then) and
         * fetched, and the slot waits in a ring until LAG more are
         * located. The order they are taken in is unchanged. */
        struct {
            uint32_t e, end;
        } ring[PIPE];
        size_t ahead = 0, inflight = 0, in = 0, taken = 0;
        for (size_t w = 0; w <= g->words && !reached; w++) {
            uint64_t bits = w < g->words ? level[w] : 0;
            if (bits) {
                if (w < ahead) inflight--;
                else ahead = w + 1, inflight = 0;
                for (; inflight < AHEAD && ahead < g->words; ahead++)
                    if (level[ahead]) {
                        __builtin_prefetch(&g->off[ahead * 64]);
                        __builtin_prefetch(&g->off[ahead * 64 + 32]);
                        __builtin_prefetch(&g->base[ahead]);
                        inflight++;
                    }
            }
            /* past the last group: drain the ring */
            while (!reached && (bits || (w == g->words && taken < in))) {
                if (bits) {
                    uint32_t v = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(bits));
                    bits &= bits - 1;
                    uint32_t e = edge_first(g, v);
                    __builtin_prefetch(&g->out[e]);
                    ring[in % PIPE].e = e;
                    ring[in % PIPE].end = edge_first(g, v + 1);
                    in++;
                    if (in - taken < LAG) continue;
                }
                uint32_t f = ring[taken % PIPE].e, fend = ring[taken % PIPE].end;
                taken++;
                for (; f < fend; f++) {
                    uint32_t u = g->out[f];
                    uint64_t bit = (uint64_t)1 << (u % 64);
                    if (seen[u / 64] & bit) continue;
                    seen[u / 64] |= bit;
                    next[u / 64] |= bit;
                    found++;
                    if (u == t) {
                        reached = true;
                        break;
                    }
                }
            }
        }
    }
    if (!reached) {
        result = 0;
        goto done;
    }
    /* t is at level depth: back to a root, one level at a time */
    void **c = rc_malloc((depth + 1) * sizeof *c);
    if (!c) goto done;
    uint32_t cur = t;
    c[depth] = slot_obj(&g->s, t);
    for (size_t l = depth; l-- > 0;) {
        uint32_t pick = NONE;
        for (size_t w = 0; w < g->words && pick == NONE; w++)
            for (uint64_t bits = levels[l][w]; bits; bits &= bits - 1) {
                uint32_t v = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(bits));
                if (has_edge(g, v, cur)) {
                    pick = v;
                    break;
                }
            }
        if (pick == NONE) { /* cannot be: cur was reached from level l */
            rc_free(c);
            result = 0;
            goto done;
        }
        cur = pick;
        c[l] = slot_obj(&g->s, cur);
    }
    *chain = c;
    result = (int64_t)depth + 1;
done:
    if (result == -1) {
        _rc_set_error("%s: out of memory", fn);
        errno = ENOMEM;
    }
    huge_free(seen);
    return result;
}

/* The search with a parent array and a queue (deep chains). */
static int64_t search_parents(const char *fn, const chain_graph *g, size_t max_depth, void ***chain) {
    size_t n = g->s.n ? g->s.n : 1, words = g->words ? g->words : 1;
    uint32_t t = g->target;
    uint32_t *parent = rc_malloc(n * sizeof *parent), *queue = rc_malloc(n * sizeof *queue);
    uint64_t *roots = rc_malloc(words * sizeof *roots), *seen = rc_malloc(words * sizeof *seen);
    int64_t result = 0;
    if (!parent || !queue || !roots || !seen) {
        _rc_set_error("%s: out of memory", fn);
        errno = ENOMEM;
        result = -1;
        goto done;
    }
    mark_roots(g, roots, seen);
    size_t tail = 0;
    for (uint32_t k = 0; k < g->s.n; k++) {
        if (roots[k / 64] >> (k % 64) & 1) {
            parent[k] = ROOT;
            queue[tail++] = k;
        } else {
            parent[k] = NONE;
        }
    }
    size_t head = 0;
    for (size_t depth = 0; head < tail && depth < max_depth && !result; depth++) {
        size_t level_end = tail;
        for (; head < level_end && !result; head++) {
            uint32_t v = queue[head];
            for (uint32_t e = edge_first(g, v), end = edge_first(g, v + 1); e < end; e++) {
                uint32_t u = g->out[e];
                if (parent[u] != NONE) continue;
                parent[u] = v;
                if (u == t) {
                    result = make_chain(fn, g, parent, t, true, chain);
                    break;
                }
                queue[tail++] = u;
            }
        }
    }
done:
    rc_free(parent);
    rc_free(queue);
    rc_free(roots);
    rc_free(seen);
    return result;
}

int64_t rc_objgraph_find_backref_chain(void *obj, size_t max_depth, void ***chain) {
    static const char *const fn = "rc_objgraph_find_backref_chain";
    chain_graph g;
    if (!chain_setup(fn, obj, max_depth, chain, true, &g)) return -1;
    int64_t result;
    if (g.target_refs == 0) { /* nothing refers to obj */
        void **c = rc_malloc(sizeof *c);
        if (c) {
            c[0] = obj;
            *chain = c;
            result = 1;
        } else {
            _rc_set_error("%s: out of memory", fn);
            result = -1;
        }
    } else {
        result = search_levels(fn, &g, max_depth, chain);
        if (result == -2) result = search_parents(fn, &g, max_depth, chain);
    }
    chain_graph_free(&g);
    return result;
}

int64_t rc_objgraph_find_ref_chain(void *obj, rc_pred_fn pred, void *arg, size_t max_depth, void ***chain) {
    static const char *const fn = "rc_objgraph_find_ref_chain";
    if (!pred && obj && chain) {
        *chain = NULL;
        _rc_set_error("%s: pred is NULL", fn);
        return -1;
    }
    chain_graph g;
    if (!chain_setup(fn, obj, max_depth, chain, false, &g)) return -1;
    int64_t result = 0;
    size_t n = g.s.n ? g.s.n : 1;
    uint32_t *parent = huge_alloc(n, sizeof *parent), *queue = huge_alloc(n, sizeof *queue);
    if (!parent || !queue) {
        _rc_set_error("%s: out of memory", fn);
        errno = ENOMEM;
        result = -1;
        goto done;
    }
    memset(parent, 0xff, n * sizeof *parent);
    parent[g.target] = ROOT;
    queue[0] = g.target;
    size_t head = 0, tail = 1;
    for (size_t depth = 0; head < tail; depth++) {
        size_t level_end = tail;
        for (; head < level_end; head++) {
            uint32_t v = queue[head];
            int hit = pred(slot_obj(&g.s, v), arg);
            if (hit < 0) {
                result = -1; /* pred's own message stays */
                goto done;
            }
            if (hit > 0) {
                result = make_chain(fn, &g, parent, v, true, chain);
                goto done;
            }
            if (depth >= max_depth) continue;
            for (uint32_t e = edge_first(&g, v), end = edge_first(&g, v + 1); e < end; e++) {
                uint32_t u = g.out[e];
                if (parent[u] != NONE || !(g.live[u / 64] >> (u % 64) & 1)) continue; /* DYING: no node */
                parent[u] = v;
                queue[tail++] = u;
            }
        }
    }
done:
    huge_free(parent);
    huge_free(queue);
    chain_graph_free(&g);
    return result;
}
/* }==== */
