/*
 * refgraph.c — the reference index of the live objects, and the questions
 * asked of it: references from outside the heap, objects nothing holds
 * (objgraph.get_leaking_objects), the shortest chains of references
 * (find_backref_chain, find_ref_chain) and the cycles kept alive (for the
 * leak report). The design essay is docs/objgraph.md.
 *
 * The index (rc_refgraph, src/internal/prof_objgraph.h) is built once per
 * query: one walk of the two worlds (the calling thread's and the
 * orphans') numbers every live object in heap order and fills an address
 * -> node hash table; then each node's traverse is called once, its
 * references to other nodes appended to one edge array in node order,
 * which is already the compressed forward adjacency (CSR); a counting
 * pass turns it into the reverse adjacency. O(objects + references) time,
 * 4 words per object and 2 per reference, and no recursion anywhere: the
 * chain searches are breadth-first with an array as the queue, the cycle
 * finder is Tarjan's algorithm with an explicit stack.
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
#include <string.h>

#include "internal/prof_objgraph.h"

/* {==== building the index ==== */

static size_t hash_ptr(const void *p) {
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (size_t)x;
}

typedef struct u32vec {
    uint32_t *items;
    size_t len, cap;
} u32vec;

static bool u32_push(u32vec *v, uint32_t x) {
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 1024;
        uint32_t *items = rc_realloc(v->items, cap * sizeof *items);
        if (!items) return false;
        v->items = items;
        v->cap = cap;
    }
    v->items[v->len++] = x;
    return true;
}

typedef struct node_ctx {
    rc_vec *nodes;
    bool oom;
} node_ctx;

static void gather_node(rc_object_head *h, void *arg) {
    node_ctx *c = arg;
    if (h->type_bits & RC_DYING) return;
    if (!_rc_vec_push(c->nodes, _rc_payload(h))) c->oom = true;
}

int64_t _rc_refgraph_find(const rc_refgraph *g, const void *obj) {
    if (!g->map || !obj) return -1;
    for (size_t i = hash_ptr(obj) & g->map_mask;; i = (i + 1) & g->map_mask) {
        uint32_t k = g->map[i];
        if (k == 0) return -1;
        if (g->nodes[k - 1] == obj) return (int64_t)k - 1;
    }
}

typedef struct edge_ctx {
    const rc_refgraph *g;
    u32vec *edges;
    bool oom;
} edge_ctx;

static int visit_edge(void *obj, void *arg) {
    edge_ctx *c = arg;
    if (!obj) return 0;
    int64_t k = _rc_refgraph_find(c->g, obj);
    if (k >= 0 && !u32_push(c->edges, (uint32_t)k)) {
        c->oom = true;
        return 1;
    }
    return 0;
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
    rc_vec nodes = {0};
    node_ctx nc = {&nodes, false};
    u32vec edges = {0};
    _rc_orphans_lock();
    if (_rc_world_tls) _rc_world_walk(_rc_world_tls, gather_node, &nc);
    _rc_world_walk(&_rc_orphans, gather_node, &nc);
    bool ok = !nc.oom && nodes.len < UINT32_MAX / 2;
    g->nodes = nodes.items;
    g->n = nodes.len;
    size_t cap = 16;
    while (cap < 2 * g->n) cap *= 2;
    if (ok) {
        g->map = rc_calloc(cap, sizeof *g->map);
        g->out_off = rc_malloc((g->n + 1) * sizeof *g->out_off);
        ok = g->map && g->out_off;
    }
    if (ok) {
        g->map_mask = cap - 1;
        for (size_t k = 0; k < g->n; k++) {
            size_t i = hash_ptr(g->nodes[k]) & g->map_mask;
            while (g->map[i]) i = (i + 1) & g->map_mask;
            g->map[i] = (uint32_t)k + 1;
        }
        edge_ctx ec = {g, &edges, false};
        for (size_t k = 0; k < g->n && !ec.oom; k++) {
            g->out_off[k] = (uint32_t)edges.len;
            const rc_type *t = _rc_head_type(_rc_head(g->nodes[k]));
            if (t->traverse) t->traverse(g->nodes[k], visit_edge, &ec);
            if (edges.len >= UINT32_MAX) ec.oom = true;
        }
        g->out_off[g->n] = (uint32_t)edges.len;
        ok = !ec.oom;
    }
    _rc_orphans_unlock();
    g->out = edges.items;
    g->edges = edges.len;
    if (ok) {
        g->in_off = rc_calloc(g->n + 1, sizeof *g->in_off);
        g->in = rc_malloc((g->edges ? g->edges : 1) * sizeof *g->in);
        ok = g->in_off && g->in;
    }
    if (ok) {
        /* counting sort of the edges by target: in_off[t + 1] counts, then
         * prefix sums, then each source placed at its target's cursor */
        for (size_t e = 0; e < g->edges; e++) g->in_off[g->out[e] + 1]++;
        for (size_t k = 0; k < g->n; k++) g->in_off[k + 1] += g->in_off[k];
        uint32_t *cursor = rc_malloc((g->n + 1) * sizeof *cursor);
        ok = cursor != NULL;
        if (ok) {
            memcpy(cursor, g->in_off, (g->n + 1) * sizeof *cursor);
            for (size_t k = 0; k < g->n; k++)
                for (uint32_t e = g->out_off[k]; e < g->out_off[k + 1]; e++) g->in[cursor[g->out[e]]++] = (uint32_t)k;
            rc_free(cursor);
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
    rc_refgraph g;
    if (!_rc_refgraph_build(&g, fn)) return -1;
    size_t k = 0;
    for (size_t i = 0; i < g.n; i++)
        if (g.in_off[i] == g.in_off[i + 1] && !_rc_is_immortal(_rc_head(g.nodes[i]))) g.nodes[k++] = g.nodes[i];
    if (k) {
        void **list = rc_malloc(k * sizeof *list);
        if (!list) {
            _rc_refgraph_free(&g);
            _rc_set_error("%s: out of memory", fn);
            return -1;
        }
        memcpy(list, g.nodes, k * sizeof *list);
        *out = list;
    }
    _rc_refgraph_free(&g);
    return (int64_t)k;
}
/* }==== */

/* {==== chains ==== */

/* Common checks and the index, with obj's node in *start. */
static bool chain_setup(const char *fn, const void *obj, size_t max_depth, void ***chain, rc_refgraph *g,
                        size_t *start) {
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
    if (!_rc_refgraph_build(g, fn)) return false;
    int64_t k = _rc_refgraph_find(g, obj);
    if (k < 0) {
        _rc_refgraph_free(g);
        _rc_set_error("%s: %p belongs to another thread's world", fn, obj);
        return false;
    }
    *start = (size_t)k;
    return true;
}

/* The chain from node `from` following parent links to the BFS start, as
 * a new array: forward (from first) or reversed. */
static int64_t make_chain(const char *fn, const rc_refgraph *g, const uint32_t *parent, size_t from, bool reverse,
                          void ***chain) {
    size_t len = 1;
    for (size_t v = from; parent[v] != UINT32_MAX; v = parent[v]) len++;
    void **c = rc_malloc(len * sizeof *c);
    if (!c) {
        _rc_set_error("%s: out of memory", fn);
        return -1;
    }
    size_t i = 0;
    for (size_t v = from;; v = parent[v]) {
        c[reverse ? len - 1 - i : i] = g->nodes[v];
        i++;
        if (parent[v] == UINT32_MAX) break;
    }
    *chain = c;
    return (int64_t)len;
}

typedef struct bfs {
    uint32_t *parent, *depth, *queue;
} bfs;

static bool bfs_init(bfs *b, size_t n, size_t start) {
    b->parent = rc_malloc(n * sizeof *b->parent);
    b->depth = rc_malloc(n * sizeof *b->depth);
    b->queue = rc_malloc(n * sizeof *b->queue);
    if (!b->parent || !b->depth || !b->queue) return false;
    memset(b->parent, 0xff, n * sizeof *b->parent);
    memset(b->depth, 0xff, n * sizeof *b->depth);
    b->depth[start] = 0;
    b->queue[0] = (uint32_t)start;
    return true;
}

static void bfs_free(bfs *b) {
    rc_free(b->parent);
    rc_free(b->depth);
    rc_free(b->queue);
}

int64_t rc_objgraph_find_backref_chain(void *obj, size_t max_depth, void ***chain) {
    static const char *const fn = "rc_objgraph_find_backref_chain";
    rc_refgraph g;
    size_t start;
    if (!chain_setup(fn, obj, max_depth, chain, &g, &start)) return -1;
    int64_t result = 0;
    bfs b;
    if (!bfs_init(&b, g.n, start)) {
        _rc_set_error("%s: out of memory", fn);
        result = -1;
        goto done;
    }
    if (g.in_off[start] == g.in_off[start + 1]) { /* nothing refers to obj */
        result = make_chain(fn, &g, b.parent, start, false, chain);
        goto done;
    }
    size_t head = 0, tail = 1;
    while (head < tail) {
        uint32_t v = b.queue[head++];
        if (b.depth[v] >= max_depth) continue;
        for (uint32_t e = g.in_off[v]; e < g.in_off[v + 1]; e++) {
            uint32_t u = g.in[e];
            if (b.depth[u] != UINT32_MAX) continue;
            b.depth[u] = b.depth[v] + 1;
            b.parent[u] = v;
            if (_rc_refgraph_external(&g, u) > 0 || g.in_off[u] == g.in_off[u + 1]) {
                result = make_chain(fn, &g, b.parent, u, false, chain);
                goto done;
            }
            b.queue[tail++] = u;
        }
    }
done:
    bfs_free(&b);
    _rc_refgraph_free(&g);
    return result;
}

int64_t rc_objgraph_find_ref_chain(void *obj, rc_pred_fn pred, void *arg, size_t max_depth, void ***chain) {
    static const char *const fn = "rc_objgraph_find_ref_chain";
    if (!pred && obj && chain) {
        *chain = NULL;
        _rc_set_error("%s: pred is NULL", fn);
        return -1;
    }
    rc_refgraph g;
    size_t start;
    if (!chain_setup(fn, obj, max_depth, chain, &g, &start)) return -1;
    int64_t result = 0;
    bfs b;
    if (!bfs_init(&b, g.n, start)) {
        _rc_set_error("%s: out of memory", fn);
        result = -1;
        goto done;
    }
    size_t head = 0, tail = 1;
    while (head < tail) {
        uint32_t v = b.queue[head++];
        int hit = pred(g.nodes[v], arg);
        if (hit < 0) {
            result = -1; /* pred's own message stays */
            goto done;
        }
        if (hit > 0) {
            result = make_chain(fn, &g, b.parent, v, true, chain);
            goto done;
        }
        if (b.depth[v] >= max_depth) continue;
        for (uint32_t e = g.out_off[v]; e < g.out_off[v + 1]; e++) {
            uint32_t u = g.out[e];
            if (b.depth[u] != UINT32_MAX) continue;
            b.depth[u] = b.depth[v] + 1;
            b.parent[u] = v;
            b.queue[tail++] = u;
        }
    }
done:
    bfs_free(&b);
    _rc_refgraph_free(&g);
    return result;
}
/* }==== */
