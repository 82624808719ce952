/*
 * dominators.c — the analyses of a loaded heap dump: roots, the dominator
 * tree and retained sizes, per-type figures, the difference of two dumps,
 * and the shortest chain from a root ("why is this object alive").
 *
 * Roots. An object is a root when something outside the dump holds it:
 * its refcount is larger than the number of references to it from dumped
 * objects (the collector's own arithmetic, gc_refs = refcount - internal
 * references), or it is immortal. A C variable, another thread's object,
 * a static object: all show up the same way, as external references.
 *
 * The graph. A virtual super-root R (index n) has an edge to every root.
 * Objects that no root reaches (cyclic garbage not yet collected, or a
 * cycle leaked by a missing decref that the collector keeps) are attached
 * to R too, so that every object has a dominator: after the DFS from the
 * roots, the objects left are taken in file order, and each one that the
 * DFS from the ones attached before it has not reached is attached and
 * searched from. Such objects are flagged RC_HEAPDUMP_UNREACHABLE.
 *
 * Dominators. An object d dominates v when every path from R to v passes
 * through d; the immediate dominator idom(v) is the closest one, and the
 * idoms form a tree rooted at R. We use Cooper, Harvey and Kennedy's "A
 * Simple, Fast Dominance Algorithm" (2001): number the nodes in DFS
 * postorder, then repeat until nothing changes: for each node v in
 * reverse postorder, idom(v) = the intersection of the processed
 * predecessors' idoms, where intersecting walks the two candidates up the
 * current tree, always moving the one with the smaller postorder number.
 * On heap graphs (mostly trees with some sharing) it settles in two or
 * three passes. Everything is in flat uint32 arrays indexed by postorder
 * number: post (number -> node), num (node -> number), doms (number ->
 * number), the DFS stack; the predecessors are the reverse CSR of the
 * references (heapdump_load.c) plus R for the attached objects. The DFS
 * is iterative (a stack of node and next-edge position), so depth costs
 * memory, not C stack.
 *
 * Retained sizes. idom(v) comes after v in postorder (a dominator is a
 * DFS ancestor), so one pass in postorder adds each node's retained size
 * to its idom's: retained(v) = size(v) + sum of retained over v's
 * dominator-tree children. Per type, the retained size is that of the set
 * of its objects: the sum of retained(v) over objects v of the type with
 * no other object of the type above them in the dominator tree, found by
 * an iterative walk of the tree that counts, per type, the objects of
 * that type on the current path.
 *
 * Chains. A breadth-first search from all roots at once over the
 * references gives, through its parent array, a shortest chain to any
 * object; when no root reaches it, the search goes on from the attached
 * unreachable objects.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal/prof_heapdump.h"

/* {==== the dominator tree ==== */

void _rc_heapdump_analyses_free(rc_heapdump *d) {
    rc_free(d->idom);
    rc_free(d->retained);
    rc_free(d->attached);
    d->idom = NULL;
    d->retained = NULL;
    d->attached = NULL;
}

/* attached[] bits: src/internal/prof_heapdump.h */
enum { AT_ROOT = RC_HD_ATTACHED_ROOT, AT_UNREACHABLE = RC_HD_ATTACHED_LOST, AT_REACHED_LATE = RC_HD_UNREACHABLE };

typedef struct dfs_state {
    const rc_heapdump *d;
    uint32_t *num, *post, *stack, *pos;
    uint32_t count;
} dfs_state;

#define UNSEEN RC_HD_NONE

/* Iterative DFS from s, numbering nodes in postorder. */
static void dfs(dfs_state *S, uint32_t s, uint8_t *attached, bool late) {
    const rc_heapdump *d = S->d;
    size_t sp = 0;
    S->num[s] = UNSEEN - 1; /* on the stack */
    S->stack[sp] = s;
    S->pos[sp++] = d->first[s];
    if (late) attached[s] |= AT_REACHED_LATE;
    while (sp) {
        uint32_t v = S->stack[sp - 1];
        if (S->pos[sp - 1] < d->first[v + 1]) {
            uint32_t w = d->to[S->pos[sp - 1]++];
            if (S->num[w] != UNSEEN) continue;
            S->num[w] = UNSEEN - 1;
            if (late) attached[w] |= AT_REACHED_LATE;
            S->stack[sp] = w;
            S->pos[sp++] = d->first[w];
        } else {
            sp--;
            S->num[v] = S->count;
            S->post[S->count++] = v;
        }
    }
}

int rc_heapdump_dominators(rc_heapdump *d) {
    if (!d) {
        _rc_set_error("rc_heapdump_dominators: dump is NULL");
        return -1;
    }
    if (d->idom) return 0;
    if (!_rc_heapdump_referrers_build(d, "rc_heapdump_dominators")) return -1;
    size_t n = d->n;
    dfs_state S = {.d = d};
    S.num = rc_malloc((n + 1) * sizeof *S.num);
    S.post = rc_malloc((n + 1) * sizeof *S.post);
    S.stack = rc_malloc((n + 1) * sizeof *S.stack);
    S.pos = rc_malloc((n + 1) * sizeof *S.pos);
    uint32_t *doms = rc_malloc((n + 1) * sizeof *doms);
    uint8_t *attached = rc_calloc(n + 1, 1);
    uint32_t *idom = rc_malloc((n + 1) * sizeof *idom);
    uint64_t *retained = rc_malloc((n + 1) * sizeof *retained);
    if (!S.num || !S.post || !S.stack || !S.pos || !doms || !attached || !idom || !retained) {
        rc_free(S.num);
        rc_free(S.post);
        rc_free(S.stack);
        rc_free(S.pos);
        rc_free(doms);
        rc_free(attached);
        rc_free(idom);
        rc_free(retained);
        _rc_set_error("rc_heapdump_dominators: out of memory");
        return -1;
    }
    for (size_t i = 0; i <= n; i++) S.num[i] = UNSEEN;
    /* the roots, then what is left, in file order */
    for (size_t i = 0; i < n; i++)
        if (d->flags[i] & RC_HEAPDUMP_ROOT) {
            attached[i] = AT_ROOT;
            if (S.num[i] == UNSEEN) dfs(&S, (uint32_t)i, attached, false);
        }
    for (size_t i = 0; i < n; i++)
        if (S.num[i] == UNSEEN) {
            attached[i] |= AT_UNREACHABLE;
            dfs(&S, (uint32_t)i, attached, true);
        }
    uint32_t R = (uint32_t)n;
    S.num[R] = S.count;
    S.post[S.count++] = R;

    /* Cooper-Harvey-Kennedy over postorder numbers; doms[number] */
    for (size_t k = 0; k <= n; k++) doms[k] = UNSEEN;
    doms[S.num[R]] = S.num[R];
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t k = n; k-- > 0;) { /* reverse postorder, R (number n) excluded */
            uint32_t v = S.post[k];
            uint32_t new_idom = UNSEEN;
            if (attached[v] & (AT_ROOT | AT_UNREACHABLE)) new_idom = S.num[R];
            for (size_t e = d->rfirst[v]; e < d->rfirst[v + 1]; e++) {
                uint32_t p = S.num[d->rfrom[e]];
                if (doms[p] == UNSEEN) continue;
                if (new_idom == UNSEEN) {
                    new_idom = p;
                    continue;
                }
                uint32_t a = p, b = new_idom;
                while (a != b) {
                    while (a < b) a = doms[a];
                    while (b < a) b = doms[b];
                }
                new_idom = a;
            }
            if (doms[k] != new_idom) {
                doms[k] = new_idom;
                changed = true;
            }
        }
    }
    /* back to node indices; retained sizes in postorder */
    for (size_t i = 0; i < n; i++) {
        idom[i] = S.post[doms[S.num[i]]];
        retained[i] = d->size[i];
    }
    idom[R] = R;
    retained[R] = 0;
    for (size_t k = 0; k < n; k++) {
        uint32_t v = S.post[k];
        retained[idom[v]] += retained[v];
    }
    rc_free(S.num);
    rc_free(S.post);
    rc_free(S.stack);
    rc_free(S.pos);
    rc_free(doms);
    d->idom = idom;
    d->retained = retained;
    d->attached = attached;
    return 0;
}

int64_t rc_heapdump_idom(rc_heapdump *d, size_t i) {
    if (!d || i >= d->n) {
        _rc_set_error("rc_heapdump_idom: %s", d ? "index out of range" : "dump is NULL");
        return -2;
    }
    if (rc_heapdump_dominators(d) != 0) return -2;
    return d->idom[i] == d->n ? -1 : (int64_t)d->idom[i];
}

uint64_t rc_heapdump_retained(rc_heapdump *d, size_t i) {
    if (!d || i >= d->n) {
        _rc_set_error("rc_heapdump_retained: %s", d ? "index out of range" : "dump is NULL");
        return 0;
    }
    if (rc_heapdump_dominators(d) != 0) return 0;
    return d->retained[i];
}
/* }==== */

/* {==== per-type figures ==== */

static int cmp_stat(const void *pa, const void *pb) {
    const rc_heapdump_type_stat *a = pa, *b = pb;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    if (a->bytes != b->bytes) return a->bytes > b->bytes ? -1 : 1;
    return strcmp(a->type, b->type);
}

/* Per-type retained sizes: a walk of the dominator tree (children in CSR
 * form) with, per type, how many of its objects are on the path. */
static bool type_retained(rc_heapdump *d, uint64_t *out) {
    size_t n = d->n;
    uint32_t *cfirst = rc_calloc(n + 2, sizeof *cfirst);
    uint32_t *child = rc_malloc((n ? n : 1) * sizeof *child);
    uint32_t *stack = rc_malloc((n + 1) * sizeof *stack);
    uint32_t *pos = rc_malloc((n + 1) * sizeof *pos);
    uint32_t *active = rc_calloc(d->ntypes ? d->ntypes : 1, sizeof *active);
    bool ok = cfirst && child && stack && pos && active;
    if (ok) {
        for (size_t i = 0; i < n; i++) cfirst[d->idom[i] + 1]++;
        for (size_t i = 0; i <= n; i++) cfirst[i + 1] += cfirst[i];
        for (size_t i = 0; i < n; i++) child[cfirst[d->idom[i]]++] = (uint32_t)i;
        for (size_t i = n + 1; i > 0; i--) cfirst[i] = cfirst[i - 1];
        cfirst[0] = 0;
        size_t sp = 0;
        stack[sp] = (uint32_t)n;
        pos[sp++] = cfirst[n];
        while (sp) {
            uint32_t v = stack[sp - 1];
            if (pos[sp - 1] < cfirst[v + 1]) {
                uint32_t c = child[pos[sp - 1]++];
                if (active[d->type[c]]++ == 0) out[d->type[c]] += d->retained[c];
                stack[sp] = c;
                pos[sp++] = cfirst[c];
            } else {
                sp--;
                if (v != n) active[d->type[v]]--;
            }
        }
    }
    rc_free(cfirst);
    rc_free(child);
    rc_free(stack);
    rc_free(pos);
    rc_free(active);
    return ok;
}

int64_t rc_heapdump_type_stats(rc_heapdump *d, rc_heapdump_type_stat **out) {
    if (!d || !out) {
        _rc_set_error("rc_heapdump_type_stats: %s is NULL", d ? "out" : "dump");
        return -1;
    }
    if (rc_heapdump_dominators(d) != 0) return -1;
    size_t nt = d->ntypes;
    rc_heapdump_type_stat *rows = rc_calloc(nt ? nt : 1, sizeof *rows);
    uint64_t *ret = rc_calloc(nt ? nt : 1, sizeof *ret);
    if (!rows || !ret || !type_retained(d, ret)) {
        rc_free(rows);
        rc_free(ret);
        _rc_set_error("rc_heapdump_type_stats: out of memory");
        return -1;
    }
    for (size_t t = 0; t < nt; t++) rows[t].type = d->type_names[t];
    for (size_t i = 0; i < d->n; i++) {
        rows[d->type[i]].count++;
        rows[d->type[i]].bytes += d->size[i];
    }
    size_t m = 0;
    for (size_t t = 0; t < nt; t++)
        if (rows[t].count) {
            rows[t].retained = ret[t];
            rows[m++] = rows[t];
        }
    rc_free(ret);
    qsort(rows, m, sizeof *rows, cmp_stat);
    *out = rows;
    return (int64_t)m;
}

typedef struct name_row {
    const char *name;
    uint64_t count, bytes;
} name_row;

static int cmp_name_row(const void *a, const void *b) {
    return strcmp(((const name_row *)a)->name, ((const name_row *)b)->name);
}

/* One row per type name (the loader merged equal names), sorted by name. */
static name_row *by_name(const rc_heapdump *d) {
    name_row *rows = rc_calloc(d->ntypes ? d->ntypes : 1, sizeof *rows);
    if (!rows) return NULL;
    for (size_t t = 0; t < d->ntypes; t++) rows[t].name = d->type_names[t];
    for (size_t i = 0; i < d->n; i++) {
        rows[d->type[i]].count++;
        rows[d->type[i]].bytes += d->size[i];
    }
    qsort(rows, d->ntypes, sizeof *rows, cmp_name_row);
    return rows;
}

static uint64_t abs64(int64_t v) { return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v; }

static int cmp_diff(const void *pa, const void *pb) {
    const rc_heapdump_type_stat *a = pa, *b = pb;
    if (abs64(a->bytes_diff) != abs64(b->bytes_diff)) return abs64(a->bytes_diff) > abs64(b->bytes_diff) ? -1 : 1;
    if (abs64(a->count_diff) != abs64(b->count_diff)) return abs64(a->count_diff) > abs64(b->count_diff) ? -1 : 1;
    return strcmp(a->type, b->type);
}

int64_t rc_heapdump_compare(const rc_heapdump *new_dump, const rc_heapdump *old_dump, rc_heapdump_type_stat **out) {
    if (!new_dump || !old_dump || !out) {
        _rc_set_error("rc_heapdump_compare: %s is NULL", !new_dump ? "new_dump" : !old_dump ? "old_dump" : "out");
        return -1;
    }
    name_row *a = by_name(new_dump), *b = by_name(old_dump);
    rc_heapdump_type_stat *rows = rc_calloc(new_dump->ntypes + old_dump->ntypes + 1, sizeof *rows);
    if (!a || !b || !rows) {
        rc_free(a);
        rc_free(b);
        rc_free(rows);
        _rc_set_error("rc_heapdump_compare: out of memory");
        return -1;
    }
    size_t i = 0, j = 0, m = 0;
    while (i < new_dump->ntypes || j < old_dump->ntypes) {
        int c = i >= new_dump->ntypes ? 1 : j >= old_dump->ntypes ? -1 : strcmp(a[i].name, b[j].name);
        name_row nw = {0}, ol = {0};
        if (c <= 0) nw = a[i++];
        if (c >= 0) ol = b[j++];
        rc_heapdump_type_stat r = {
            .type = c <= 0 ? nw.name : ol.name,
            .count = nw.count,
            .bytes = nw.bytes,
            .count_diff = (int64_t)nw.count - (int64_t)ol.count,
            .bytes_diff = (int64_t)nw.bytes - (int64_t)ol.bytes,
        };
        if (r.count_diff || r.bytes_diff) rows[m++] = r;
    }
    rc_free(a);
    rc_free(b);
    qsort(rows, m, sizeof *rows, cmp_diff);
    *out = rows;
    return (int64_t)m;
}
/* }==== */

/* {==== chains: why is this alive ==== */

int64_t rc_heapdump_chain(rc_heapdump *d, size_t target, uint32_t **out) {
    if (!d || !out || target >= d->n) {
        if (!d || !out) _rc_set_error("rc_heapdump_chain: %s is NULL", d ? "out" : "dump");
        else _rc_set_error("rc_heapdump_chain: index %zu out of range (%zu objects)", target, d->n);
        return -1;
    }
    if (rc_heapdump_dominators(d) != 0) return -1;
    size_t n = d->n;
    uint32_t *parent = rc_malloc(n * sizeof *parent);
    uint32_t *queue = rc_malloc(n * sizeof *queue);
    if (!parent || !queue) {
        rc_free(parent);
        rc_free(queue);
        _rc_set_error("rc_heapdump_chain: out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) parent[i] = UNSEEN;
    size_t head = 0, tail = 0;
    /* pass 0: the roots; pass 1: also the attached unreachable objects */
    for (int pass = 0; pass < 2 && parent[target] == UNSEEN; pass++) {
        for (size_t i = 0; i < n; i++)
            if (parent[i] == UNSEEN && (d->attached[i] & (pass == 0 ? AT_ROOT : AT_UNREACHABLE))) {
                parent[i] = (uint32_t)i; /* a source is its own parent */
                queue[tail++] = (uint32_t)i;
            }
        while (head < tail && parent[target] == UNSEEN) {
            uint32_t v = queue[head++];
            for (size_t e = d->first[v]; e < d->first[v + 1]; e++) {
                uint32_t w = d->to[e];
                if (parent[w] != UNSEEN) continue;
                parent[w] = v;
                queue[tail++] = w;
            }
        }
    }
    rc_free(queue);
    size_t len = 1;
    for (uint32_t v = (uint32_t)target; parent[v] != v; v = parent[v]) len++;
    uint32_t *chain = rc_malloc(len * sizeof *chain);
    if (!chain) {
        rc_free(parent);
        _rc_set_error("rc_heapdump_chain: out of memory");
        return -1;
    }
    size_t k = len;
    for (uint32_t v = (uint32_t)target;; v = parent[v]) {
        chain[--k] = v;
        if (parent[v] == v) break;
    }
    rc_free(parent);
    *out = chain;
    return (int64_t)len;
}
/* }==== */
