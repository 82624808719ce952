/*
 * chain.c — the shortest chains of references, objgraph's two searches:
 * find_backref_chain (from an object held from outside the heap, or held
 * by nothing, to obj) and find_ref_chain (from obj to the first object a
 * predicate accepts). The design essay is docs/objgraph.md.
 *
 * Every call numbers the objects of the two worlds (the calling thread's
 * and the orphans') by their slots, computed from their addresses
 * (refgraph.c builds the tables; src/internal/prof_objgraph.h), and makes
 * under the orphan lock one pass of its own over the pools, with nothing
 * written into the objects: each live object's traverse is called once,
 * in slot order, and the slots of its referents are appended to one edge
 * array, which is already the forward adjacency in compressed form (CSR).
 * The pass keeps it in a compact form (2-byte edge offsets, gc_refs in a
 * byte, the references to dead ends dropped: see "chains" below), as
 * each per-slot array is fresh memory, and its page faults were most of
 * a first query's time. refgraph.c's full index (the reverse adjacency,
 * an address hash table) is never built here.
 *
 * find_backref_chain is a breadth-first search forward from every root at
 * once to the target (level bitmaps, stopping at the level that reaches
 * it), find_ref_chain one forward from obj (a parent array and a queue).
 * O(objects + references) time, and no recursion: the searches are
 * breadth-first over arrays and bitmaps. The orphan lock is released
 * before the search itself, which calls pred (user code) in
 * find_ref_chain.
 *
 * The roots are found with the collector's gc_refs arithmetic (docs/gc.md),
 * as refgraph.c finds references from outside the heap: an object's count
 * minus the references the objects of the two worlds hold to it; what is
 * left is held by C code, or by an rc_incref never matched by its
 * rc_decref. A root of a backref chain is an object held from outside the
 * heap (external > 0); every object no other object refers to is one. The
 * target itself is a root only when nothing refers to it: the caller
 * asking about it usually holds it, and the answer sought is who else
 * does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal/prof_objgraph.h"

#define NONE RC_SLOT_NONE       /* no slot; in a parent array: not reached yet */
#define ROOT (RC_SLOT_NONE - 1) /* in a parent array: a start of the search */

/* {==== memory: arrays in huge pages, the wide map ==== */

/* A big array of n items of size bytes, not zeroed, for the arrays of a
 * chain search, whose every fault counts on a first call: from 2 MiB on,
 * placed at a huge page's start and rounded up to whole huge pages, all
 * of them asked for (_rc_os_hugepages, a hint; the head of the block
 * before, never touched, costs address space only; refgraph.c's big_alloc
 * leaves up to 4 MiB of each array, most of a small one, in 4 KiB pages).
 * The block's own address is kept in the word before. Freed with
 * huge_free. */
static void *huge_alloc(size_t n, size_t size) {
    size_t bytes = (n ? n : 1) * size;
    if (bytes < RC_HUGE_PAGE) {
        uint8_t *p = rc_malloc(bytes + 16);
        if (!p) return NULL;
        ((void **)(p + 16))[-1] = p;
        return p + 16;
    }
    size_t span = (bytes + RC_HUGE_PAGE - 1) & ~(RC_HUGE_PAGE - 1);
    uint8_t *p = rc_malloc(span + RC_HUGE_PAGE + 16);
    if (!p) return NULL;
    uint8_t *a = (uint8_t *)(((uintptr_t)p + 16 + RC_HUGE_PAGE - 1) & ~(RC_HUGE_PAGE - 1));
    _rc_os_hugepages(a, span);
    ((void **)a)[-1] = p;
    return a;
}

static void huge_free(void *a) {
    if (a) rc_free(((void **)a)[-1]);
}

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
    for (size_t i = _rc_hash_word(k) & m->mask;; i = (i + 1) & m->mask) {
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
            size_t j = _rc_hash_word(m->keys[i]) & (cap - 1);
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
    size_t i = _rc_hash_word(k) & m->mask;
    while (m->keys[i] != NONE && m->keys[i] != k) i = (i + 1) & m->mask;
    if (m->keys[i] == NONE) {
        m->keys[i] = k;
        m->vals[i] = 0;
        m->len++;
    }
    m->vals[i] += d;
    return true;
}

/* }==== */

/* {==== the pass over the references ==== */

/* One traverse of every live object, in slot order (chain_pass): the
 * arrays of chain_graph, from off on; cnt and cnt_hi backward only, live
 * forward only. */
typedef struct pass {
    const rc_slots *s;
    uint32_t *out;     /* the edges kept (see chain_graph) */
    size_t len, cap;
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
    const rc_page_ent *rows0;
    uintptr_t page0;
    size_t npages;
    bool oom;
} pass;

#define OFF_WIDE UINT16_MAX

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
 * hashed page table: _rc_slot_of's whole way. */
static RC_NOINLINE int visit_chain_slow(pass *c, void *obj) {
    uint32_t j;
    if (!obj || (j = _rc_slot_of(c->s, obj)) == NONE) return 0;
    return chain_edge(c, j);
}

/* The chain searches' visitor (chain_pass): _rc_slot_of with the direct
 * table's lookup inline, and chain_edge's dead ends. */
static int visit_chain(void *obj, void *arg) {
    pass *c = arg;
    uintptr_t a = (uintptr_t)obj - sizeof(rc_object_head), i = (a >> RC_POOL_SHIFT) - c->page0;
    if (RC_UNLIKELY(i >= c->npages) || RC_UNLIKELY(c->rows0[i].base == NONE)) return visit_chain_slow(c, obj);
    const rc_page_ent *pe = &c->rows0[i];
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

/* The chain searches' pass (the orphan lock held): c->off and c->base
 * get where each slot's edges start, c->has_out which slots kept an edge,
 * c->cnt and c->cnt_hi the counts (backward; see chain_graph), c->live
 * the live slots (forward). The arrays are written whole, not read first.
 * False when out of memory. */
static bool chain_pass(const rc_slots *s, pass *c) {
    c->s = s;
    c->cap = 2 * s->n + 1024;
    c->out = huge_alloc(c->cap, sizeof *c->out);
    if (!c->out) return false;
    c->rows0 = s->direct ? &s->rows[0][0] : NULL;
    c->page0 = s->direct ? s->chunk_min << (RC_ARENA_SHIFT - RC_POOL_SHIFT) : 0;
    c->npages = s->direct ? s->nrows * RC_ARENA_PAGES : 0;
    uint16_t *off = c->off;
    uint32_t *base = c->base;
    uint64_t *has_out = c->has_out, *live = c->live;
    uint8_t *cnt = c->cnt;
    for (size_t i = 0; i < s->nsegs && !c->oom; i++) {
        const rc_slot_seg *seg = &s->segs[i];
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
    rc_slots s;
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
    _rc_slots_free(&g->s);
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
    pass c = {.target = NONE, .wide_off = &g->wide_off, .cnt_hi = &g->cnt_hi, .prune = backward};
    _rc_orphans_lock();
    bool ok = _rc_slots_build(&g->s);
    /* checked again under the lock: an orphan may have been released */
    bool live = _rc_is_live_object(obj);
    if (ok && live) g->target = _rc_slot_of(&g->s, obj);
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
        c[reverse ? len - 1 - i : i] = _rc_slot_obj(&g->s, v);
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
    c[depth] = _rc_slot_obj(&g->s, t);
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
        c[l] = _rc_slot_obj(&g->s, cur);
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
            int hit = pred(_rc_slot_obj(&g.s, v), arg);
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
