/*
 * leakcheck.c — what is still alive, and why: the exit report of
 * RECLAIM_LEAKCHECK and the rc_leakcheck_begin / rc_leakcheck_end checks
 * for unit tests. The design essay is docs/objgraph.md.
 *
 * At exit. rc_shutdown's object work (src/gc: the final collection of this
 * thread's world and the orphans', then the pending rc_finalize_on_death
 * functions) calls _rc_leakcheck_hook when RECLAIM_LEAKCHECK is on, before
 * anything is torn down. The pointer is defined here, so every program
 * that makes objects links this file, statically or not (as tracefile.c
 * holds the heap's hooks). The report builds the reference index
 * (refgraph.c) once and prints, through the message path:
 *
 *   the live objects (immortal ones, such as interned strs, left out),
 *   grouped by type name and allocation site (the innermost frame of
 *   rc_trace_site_of when tracing; "site unknown (set
 *   RECLAIM_TRACEMALLOC=1)" otherwise), biggest group first, each with its
 *   references from outside the heap and a few examples (address, repr,
 *   refcount, outside references);
 *   the cycles kept alive (strongly connected components, Tarjan), each
 *   with its size, its types and the outside references holding it;
 *   the garbage lists (rc_gc_garbage of this thread, and the orphans').
 *
 * RECLAIM_LEAKCHECK=error also makes the exit status 1 when anything is
 * alive. An exit handler cannot change the status exit() was given except
 * by ending the process itself: the report flushes every stdio stream
 * (fflush(NULL)) and calls _exit(1). The exit handlers registered before
 * reclaim started (that is, before the program's first allocation through
 * reclaim) and the MALLOCSTATS report are skipped then; a program that
 * calls rc_shutdown itself ends there with status 1.
 *
 * In a test. rc_leakcheck_begin opens a region on the calling thread: the
 * object hooks (objgraph.c) put every object the thread creates into a
 * set and take out every one released, so at rc_leakcheck_end, after a
 * full collection, the set holds exactly the objects made in between and
 * still alive, and the same report is printed for them.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal/prof_objgraph.h"

#define EXAMPLES 3     /* objects shown per group */
#define LIST_MAX 10    /* cycles and garbage objects listed */

typedef struct leak_row {
    uint32_t node;
    const char *type;
    rc_frame site; /* file NULL: unknown */
} leak_row;

typedef struct leak_group {
    size_t first, count; /* rows[first .. first + count) */
    size_t bytes, held, refs;
} leak_group;

static int cmp_str(const char *a, const char *b) {
    if (a == b) return 0;
    if (!a) return -1;
    if (!b) return 1;
    return strcmp(a, b);
}

static int by_key(const void *pa, const void *pb) {
    const leak_row *a = pa, *b = pb;
    int c = strcmp(a->type, b->type);
    if (!c) c = cmp_str(a->site.file, b->site.file);
    if (!c) c = a->site.line < b->site.line ? -1 : a->site.line > b->site.line;
    if (!c) c = cmp_str(a->site.function, b->site.function);
    if (!c) c = a->node < b->node ? -1 : a->node > b->node;
    return c;
}

/* Biggest group first; arg is the rows array (qsort_r: no shared state
 * between threads reporting at once). */
static int by_size(const void *pa, const void *pb, void *arg) {
    const leak_group *a = pa, *b = pb;
    const leak_row *rows = arg;
    if (a->count != b->count) return a->count < b->count ? 1 : -1;
    if (a->bytes != b->bytes) return a->bytes < b->bytes ? 1 : -1;
    return by_key(&rows[a->first], &rows[b->first]);
}

static bool same_key(const leak_row *a, const leak_row *b) {
    return strcmp(a->type, b->type) == 0 && cmp_str(a->site.file, b->site.file) == 0 &&
           a->site.line == b->site.line && cmp_str(a->site.function, b->site.function) == 0;
}

typedef struct garbage_ctx {
    size_t n;
} garbage_ctx;

static int list_garbage(void *obj, void *arg) {
    garbage_ctx *c = arg;
    if (c->n++ < LIST_MAX) {
        char repr[256];
        _rc_objgraph_repr(obj, repr, sizeof repr, 60);
        _rc_message("reclaim: leakcheck:   garbage %p %s", obj, repr);
    }
    return 0;
}

/* Report the objects picked[0..n) (nodes of g) under the title; prints
 * the cycles among them and, at exit, the garbage lists. */
static void report(const rc_refgraph *g, const uint32_t *picked, size_t n, const char *title, bool at_exit) {
    leak_row *rows = rc_malloc((n ? n : 1) * sizeof *rows);
    leak_group *groups = rc_malloc((n ? n : 1) * sizeof *groups);
    uint32_t *comp = rc_malloc((g->n ? g->n : 1) * sizeof *comp);
    if (!rows || !groups || !comp) {
        _rc_message("reclaim: leakcheck: %zu objects %s (out of memory for the details)", n, title);
        goto done;
    }
    size_t total_bytes = 0;
    for (size_t i = 0; i < n; i++) {
        void *obj = g->nodes[picked[i]];
        rows[i].node = picked[i];
        rows[i].type = _rc_type_name(rc_type_of(obj));
        rows[i].site = (rc_frame){NULL, NULL, 0};
        rc_frame f;
        if (rc_trace_site_of(obj, &f, 1) > 0) rows[i].site = f;
        total_bytes += rc_sizeof(obj);
    }
    qsort(rows, n, sizeof *rows, by_key);
    size_t ng = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || !same_key(&rows[i - 1], &rows[i])) groups[ng++] = (leak_group){i, 0, 0, 0, 0};
        leak_group *gr = &groups[ng - 1];
        size_t ext = _rc_refgraph_external(g, rows[i].node);
        gr->count++;
        gr->bytes += rc_sizeof(g->nodes[rows[i].node]);
        gr->held += ext > 0;
        gr->refs += ext;
    }
    qsort_r(groups, ng, sizeof *groups, by_size, rows);
    int64_t ncycles = _rc_refgraph_cycles(g, comp);

    _rc_message("reclaim: leakcheck: %zu objects %s (%zu bytes), by type and allocation site:", n, title,
                total_bytes);
    for (size_t k = 0; k < ng; k++) {
        const leak_group *gr = &groups[k];
        const leak_row *r = &rows[gr->first];
        char site[512];
        if (r->site.file)
            snprintf(site, sizeof site, "%.200s:%u in %.200s", r->site.file, r->site.line,
                     r->site.function ? r->site.function : "?");
        else
            snprintf(site, sizeof site, "site unknown (set RECLAIM_TRACEMALLOC=1)");
        _rc_message("reclaim: leakcheck: %10zu objects %10zu bytes  %.200s  at %s; %zu held from outside the heap "
                    "(%zu references)",
                    gr->count, gr->bytes, r->type, site, gr->held, gr->refs);
        for (size_t e = 0; e < gr->count && e < EXAMPLES; e++) {
            uint32_t v = r[e].node;
            char repr[256];
            _rc_objgraph_repr(g->nodes[v], repr, sizeof repr, 60);
            char cyc[48] = "";
            if (ncycles > 0 && comp[v]) snprintf(cyc, sizeof cyc, ", in cycle #%u", comp[v]);
            _rc_message("reclaim: leakcheck:     %p %s  refcount %zu, %zu from outside the heap%s", g->nodes[v],
                        repr, rc_refcount(g->nodes[v]), _rc_refgraph_external(g, v), cyc);
        }
    }

    /* cycles among the reported objects */
    if (ncycles > 0) {
        size_t shown = 0;
        for (uint32_t c = 1; c <= (uint32_t)ncycles; c++) {
            size_t members = 0, refs = 0, internal = 0;
            const char *types[3] = {NULL, NULL, NULL};
            size_t ntypes = 0;
            bool reported = false;
            for (size_t i = 0; i < n; i++)
                if (comp[rows[i].node] == c) reported = true;
            if (!reported) continue;
            for (size_t v = 0; v < g->n; v++) {
                if (comp[v] != c) continue;
                members++;
                if (_rc_is_immortal(_rc_head(g->nodes[v]))) continue;
                refs += rc_refcount(g->nodes[v]);
                for (uint32_t e = g->in_off[v]; e < g->in_off[v + 1]; e++) internal += comp[g->in[e]] == c;
                const char *t = _rc_type_name(rc_type_of(g->nodes[v]));
                bool seen = false;
                for (size_t j = 0; j < ntypes; j++) seen = seen || strcmp(types[j], t) == 0;
                if (!seen && ntypes < 3) types[ntypes++] = t;
            }
            if (shown++ >= LIST_MAX) continue;
            _rc_message("reclaim: leakcheck: cycle #%u kept alive: %zu objects (%.80s%s%.80s%s%.80s), held by %zu "
                        "references from outside the cycle",
                        c, members, types[0], ntypes > 1 ? ", " : "", ntypes > 1 ? types[1] : "",
                        ntypes > 2 ? ", " : "", ntypes > 2 ? types[2] : "", refs - internal);
        }
        if (shown > LIST_MAX) _rc_message("reclaim: leakcheck: ... and %zu more cycles", shown - LIST_MAX);
    }

    if (at_exit) {
        garbage_ctx gc = {0};
        rc_gc_garbage(list_garbage, &gc);
        _rc_orphans_lock();
        size_t orphan_garbage = _rc_orphans.garbage.len;
        for (size_t i = 0; i < orphan_garbage; i++) list_garbage(_rc_orphans.garbage.items[i], &gc);
        _rc_orphans_unlock();
        if (gc.n > LIST_MAX) _rc_message("reclaim: leakcheck:   ... and %zu more", gc.n - LIST_MAX);
        _rc_message("reclaim: leakcheck: garbage list (rc_gc_garbage, exited threads' included): %zu objects", gc.n);
    }
done:
    rc_free(rows);
    rc_free(groups);
    rc_free(comp);
}

/* Run with automatic collection held off: the reprs make objects, and a
 * collection must not free what the index points to. */
static void report_quietly(const rc_refgraph *g, const uint32_t *picked, size_t n, const char *title, bool at_exit) {
    bool was = rc_gc_isenabled();
    rc_gc_disable();
    report(g, picked, n, title, at_exit);
    if (was) rc_gc_enable();
}

static void leakcheck_at_exit(void) {
    rc_refgraph g;
    if (!_rc_refgraph_build(&g, "leakcheck")) {
        _rc_message("reclaim: leakcheck: out of memory for the report");
        return;
    }
    uint32_t *picked = rc_malloc((g.n ? g.n : 1) * sizeof *picked);
    size_t n = 0;
    if (picked)
        for (size_t i = 0; i < g.n; i++)
            if (!_rc_is_immortal(_rc_head(g.nodes[i]))) picked[n++] = (uint32_t)i;
    if (!picked) _rc_message("reclaim: leakcheck: out of memory for the report");
    else if (n == 0) _rc_message("reclaim: leakcheck: no objects alive");
    else report_quietly(&g, picked, n, "still alive at exit", true);
    rc_free(picked);
    _rc_refgraph_free(&g);
    if (n > 0 && (_rc_option(RC_OPT_LEAKCHECK) & RC_LEAKCHECK_ERROR)) {
        /* see the essay: the only way an exit handler sets the status */
        fflush(NULL);
        _exit(1);
    }
}

void (*_rc_leakcheck_hook)(void) = leakcheck_at_exit;

int rc_leakcheck_begin(void) { return _rc_objgraph_region_open(); }

int64_t rc_leakcheck_end(void) {
    static const char *const fn = "rc_leakcheck_end";
    if (!_rc_objgraph_region_active()) {
        _rc_set_error("%s: no leak check is running on this thread (call rc_leakcheck_begin first)", fn);
        return -1;
    }
    rc_gc_collect(-1); /* cyclic garbage is not a leak */
    rc_vec live;
    int rc = _rc_objgraph_region_close(&live);
    if (rc < 0) {
        _rc_set_error("%s: out of memory while the check ran: the objects made in it are unknown", fn);
        return -1;
    }
    size_t keep = 0;
    for (size_t i = 0; i < live.len; i++)
        if (!_rc_is_immortal(_rc_head(live.items[i]))) live.items[keep++] = live.items[i];
    live.len = keep;
    if (keep == 0) {
        _rc_vec_free(&live);
        return 0;
    }
    rc_refgraph g;
    uint32_t *picked = NULL;
    if (_rc_refgraph_build(&g, fn)) {
        picked = rc_malloc(keep * sizeof *picked);
        size_t n = 0;
        for (size_t i = 0; picked && i < keep; i++) {
            int64_t k = _rc_refgraph_find(&g, live.items[i]);
            if (k >= 0) picked[n++] = (uint32_t)k;
        }
        if (picked) report_quietly(&g, picked, n, "made since rc_leakcheck_begin still alive", false);
        _rc_refgraph_free(&g);
    }
    if (!picked) _rc_message("reclaim: leakcheck: %zu objects made since rc_leakcheck_begin still alive", keep);
    rc_free(picked);
    _rc_vec_free(&live);
    return (int64_t)keep;
}
