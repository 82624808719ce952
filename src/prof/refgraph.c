/*
 * refgraph.c — the reference index of the live objects, and the questions
 * it answers: references from outside the heap, objects nothing holds
 * (objgraph.get_leaking_objects), and the full index of the pictures and
 * leak reports with the cycles kept alive. The shortest chains of
 * references (find_backref_chain, find_ref_chain) are chain.c's, on the
 * slots built here. The design essay is docs/objgraph.md.
 *
 * Every query makes its own picture of the two worlds (the calling
 * thread's and the orphans'), under the orphan lock, in passes over the
 * pools with nothing written into the objects:
 *
 *   slots   each block of the worlds' pools (and each large object) gets a
 *           number, its slot, computed from its address (the arena's row
 *           in a small table, the span's first slot, the block's index by
 *           the span's magic multiply): no hash table of objects, and the
 *           header of a referent is never read (the tables and the lookup
 *           are in src/internal/prof_objgraph.h, shared with chain.c);
 *   pass    each live object's traverse is called once, in slot order;
 *           the slots of its referents are appended to one edge array,
 *           which is already the forward adjacency in compressed form
 *           (CSR), and per slot a counter records referrers.
 *
 * get_leaking_objects needs only the counters. The full index of the
 * pictures and leak reports (rc_refgraph, src/internal/prof_objgraph.h)
 * renumbers the live slots as nodes, in heap order, and adds the reverse
 * adjacency (a counting sort) and an address -> node hash table. The
 * chain searches make a pass of their own over the same slots, into a
 * compact form (chain.c). O(objects + references) time, and no recursion
 * anywhere: the cycle finder is Tarjan's algorithm with an explicit stack.
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
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal/prof_objgraph.h"

/* {==== slots: numbers from addresses ==== */

/* The tables (rc_slots), their invariants and the lookups from an address
 * to a slot and back are in src/internal/prof_objgraph.h; here they are
 * built. */

typedef struct seg_list {
    rc_vec pools;
    bool oom;
} seg_list;

static void list_pool(rc_pool *pool, void *arg) {
    seg_list *l = arg;
    if (!_rc_vec_push(&l->pools, pool)) l->oom = true;
}

/* A big array of n items of size bytes (zeroed when zero), with
 * transparent huge pages asked for (_rc_os_hugepages, a hint) on the whole
 * 2 MiB pages inside it before it is first touched: fresh memory costs a
 * page fault per 4 KiB page otherwise, which was a quarter of a chain
 * search for 5M objects (chain.c's huge_alloc goes further). Freed with
 * rc_free. */
static void *big_alloc(size_t n, size_t size, bool zero) {
    size_t bytes = (n ? n : 1) * size;
    void *p = zero ? rc_calloc(1, bytes) : rc_malloc(bytes);
    uintptr_t a = ((uintptr_t)p + RC_HUGE_PAGE - 1) & ~(RC_HUGE_PAGE - 1);
    uintptr_t e = ((uintptr_t)p + bytes) & ~(RC_HUGE_PAGE - 1);
    if (p && e > a) _rc_os_hugepages((void *)a, e - a);
    return p;
}

void _rc_slots_free(rc_slots *s) {
    rc_free(s->segs);
    rc_free(s->rows);
    rc_free(s->chunks);
    rc_free(s->chunk_row);
    rc_free(s->large);
    rc_free(s->group_seg);
    memset(s, 0, sizeof *s);
}

static bool seg_push(rc_slots *s, size_t *cap, rc_slot_seg seg) {
    if (s->nsegs == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        rc_slot_seg *segs = rc_realloc(s->segs, c * sizeof *segs);
        if (!segs) return false;
        s->segs = segs;
        *cap = c;
    }
    s->segs[s->nsegs++] = seg;
    return true;
}

static bool list_world(rc_slots *s, size_t *cap, rc_world *w, size_t *nlarge) {
    seg_list l = {0};
    if (w->heap) _rc_heap_pools(w->heap, list_pool, &l);
    for (size_t i = 0; i < w->heaps.len; i++) _rc_heap_pools(w->heaps.items[i], list_pool, &l);
    bool ok = !l.oom;
    for (size_t i = 0; ok && i < l.pools.len; i++) {
        rc_pool *pool = l.pools.items[i];
        uint32_t blocks = atomic_load_explicit(&pool->capacity, memory_order_relaxed);
        ok = seg_push(s, cap,
                      (rc_slot_seg){_rc_pool_start(pool), _rc_pool_block_size(pool), blocks, (uint32_t)s->n,
                                    pool->cls, pool->npools});
        s->n += blocks;
    }
    for (rc_large_obj *lo = w->large; ok && lo; lo = lo->next) {
        ok = seg_push(s, cap, (rc_slot_seg){(uint8_t *)(lo + 1), 0, 1, (uint32_t)s->n, 0, 0});
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

/* The two worlds' segments, then the tables (the orphan lock held). */
bool _rc_slots_build(rc_slots *s) {
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
                size_t j = _rc_hash_word(chunks[r]) & s->arena_mask;
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
            const rc_slot_seg *seg = &s->segs[i];
            uintptr_t a = (uintptr_t)seg->start;
            if (seg->bs == 0) { /* a large object */
                size_t j = _rc_hash_word(a) & s->large_mask;
                while (s->large[j]) j = (j + 1) & s->large_mask;
                s->large[j] = (uint32_t)i + 1;
                continue;
            }
            rc_page_ent *row = (rc_page_ent *)_rc_slots_page(s, a) - ((a >> RC_POOL_SHIFT) & (RC_ARENA_PAGES - 1));
            unsigned head = (unsigned)((a >> RC_POOL_SHIFT) & (RC_ARENA_PAGES - 1));
            for (unsigned p = head; p < head + seg->npages && p < RC_ARENA_PAGES; p++)
                row[p] = (rc_page_ent){seg->base, (uint8_t)head, seg->cls};
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
    if (!ok) _rc_slots_free(s);
    return ok;
}

static inline bool head_live(const rc_object_head *h) {
    return h->type_bits && !(h->type_bits & RC_DYING);
}
/* }==== */

/* {==== the pass over the references ==== */

/* One traverse of every live object, in slot order, for the full index
 * and the leaking objects; what it records is chosen by which pointers
 * are set: indeg, or csr and out_off. (The chain searches' pass, with a
 * record of its own, is chain.c's.) */
typedef struct pass {
    const rc_slots *s;
    uint32_t *indeg;   /* += 1 per reference */
    bool csr;          /* append each referent's slot to out (forward CSR) */
    uint32_t *out;
    size_t len, cap;
    uint32_t *out_off; /* each slot's first edge (n + 1 entries) */
    bool oom;
} pass;

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
    uint32_t j = _rc_slot_of(c->s, obj);
    if (j == RC_SLOT_NONE) return 0;
    if (c->indeg) c->indeg[j]++;
    if (c->csr) {
        if (RC_UNLIKELY(c->len == c->cap) && !out_grow(c)) {
            c->oom = true;
            return 1;
        }
        c->out[c->len++] = j;
    }
    return 0;
}

/* Run the pass (the orphan lock held); out_off (n + 1 entries) gets each
 * slot's first edge when c->csr. indeg starts at zero. False when out of
 * memory. */
static bool run_pass(const rc_slots *s, pass *c) {
    c->s = s;
    if (c->csr && !c->out) {
        c->cap = 2 * s->n + 1024;
        c->out = big_alloc(c->cap, sizeof *c->out, false);
        if (!c->out) return false;
    }
    for (size_t i = 0; i < s->nsegs && !c->oom; i++) {
        const rc_slot_seg *seg = &s->segs[i];
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
/* }==== */

/* {==== the full index (pictures, leak reports) ==== */

int64_t _rc_refgraph_find(const rc_refgraph *g, const void *obj) {
    if (!g->map || !obj) return -1;
    for (size_t i = _rc_hash_word((uintptr_t)obj) & g->map_mask;; i = (i + 1) & g->map_mask) {
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
    rc_slots s;
    pass c = {.csr = true};
    uint32_t *soff = NULL, *node = NULL;
    _rc_orphans_lock();
    bool ok = _rc_slots_build(&s);
    if (ok) {
        c.out_off = soff = big_alloc(s.n + 1, sizeof *soff, false);
        node = big_alloc(s.n, sizeof *node, false);
        g->nodes = big_alloc(s.n, sizeof *g->nodes, false);
        ok = soff && node && g->nodes && run_pass(&s, &c);
    }
    if (ok) {
        /* the nodes: the live objects, in slot order */
        for (size_t i = 0; i < s.nsegs; i++) {
            const rc_slot_seg *seg = &s.segs[i];
            for (uint32_t b = 0; b < seg->blocks; b++) {
                rc_object_head *h = (rc_object_head *)(seg->start + (size_t)b * seg->bs);
                node[seg->base + b] = head_live(h) ? (uint32_t)g->n : RC_SLOT_NONE;
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
            if (node[k] == RC_SLOT_NONE) continue;
            g->out_off[v++] = (uint32_t)w;
            for (uint32_t e = soff[k]; e < soff[k + 1]; e++) {
                uint32_t j = node[c.out[e]];
                if (j == RC_SLOT_NONE) continue;
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
    _rc_slots_free(&s);
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
            size_t i = _rc_hash_word((uintptr_t)g->nodes[k]) & g->map_mask;
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
    rc_slots s;
    pass c = {0};
    void **list = NULL;
    size_t k = 0;
    _rc_orphans_lock();
    bool ok = _rc_slots_build(&s);
    if (ok) {
        c.indeg = big_alloc(s.n, sizeof *c.indeg, true);
        ok = c.indeg && run_pass(&s, &c);
    }
    for (int round = 0; ok && round < 2; round++) { /* count, then fill */
        k = 0;
        for (size_t i = 0; i < s.nsegs; i++) {
            const rc_slot_seg *seg = &s.segs[i];
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
    _rc_slots_free(&s);
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
