/*
 * src/internal/prof_objgraph.h — the internal interface of the object-graph
 * tools in src/prof: the per-type counters (objgraph.c), the reference
 * index (refgraph.c) and the leak checks (leakcheck.c). The design essay
 * is docs/objgraph.md (and the top of each file).
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
