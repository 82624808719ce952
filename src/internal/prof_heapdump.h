/*
 * src/internal/prof_heapdump.h — a loaded heap dump (rc_heapdump), shared
 * by its reader (src/prof/heapdump_load.c) and its analyses
 * (src/prof/dominators.c). The format and the algorithms are described in
 * docs/heapdump.md.
 */
#ifndef RC_INTERNAL_PROF_HEAPDUMP_H
#define RC_INTERNAL_PROF_HEAPDUMP_H
#ifndef RC_BUILDING_RECLAIM
#error "src/internal/prof_heapdump.h is internal to reclaim: include <reclaim.h> instead"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <reclaim.h>

#include "runtime.h"

/* "No object" in the uint32 index arrays. */
#define RC_HD_NONE UINT32_MAX

/*
 * Every per-object figure is a flat array indexed by the object's number
 * (0..n-1, file order); references are a compressed sparse row:
 *
 *   the references of object i are to[first[i] .. first[i+1])
 *   first[0] == 0, first[n] == nrefs, each to[k] < n
 *   internal(i) == |{k : to[k] == i}|
 *   external[i] == max(0, refcount[i] - internal(i))
 *   ROOT set in flags[i] <=> external[i] > 0 or IMMORTAL set
 *
 * The referrers (rfirst/rfrom: the same layout, reversed) and the
 * dominator tree are computed on first use and are NULL until then.
 * Once dominators are done:
 *   idom[i] == n for the super-root, else an object index
 *   retained[i] == size[i] + the sum of retained[c] over c with idom[c] == i
 *   attached[i] & RC_HD_ATTACHED_ROOT <=> ROOT set in flags[i]
 *   attached[i] & RC_HD_ATTACHED_LOST <=> i is an unreachable object
 *     attached to the super-root (no DFS from before reached it)
 *   attached[i] & RC_HD_UNREACHABLE <=> no root reaches i
 * The super-root's children are the objects with either ATTACHED bit.
 */
#define RC_HD_ATTACHED_ROOT 1u
#define RC_HD_ATTACHED_LOST 2u
#define RC_HD_UNREACHABLE 4u
struct rc_heapdump {
    size_t n, nrefs;
    uint64_t *addr, *size, *refcount, *external;
    uint32_t *type, *site, *flags;
    uint32_t *first, *to;
    uint64_t bytes, outside_refs;
    /* address -> index: open addressing, index + 1 (0: empty); cap a power of two >= 2n */
    uint32_t *addr_table;
    size_t addr_cap;
    /* types (merged by name) and sites; their strings are in strings */
    char **type_names;
    size_t ntypes;
    rc_frame *sites;
    size_t nsites;
    char **strings; /* every string the dump owns, each from rc_malloc */
    size_t nstrings, strings_cap;
    /* lazily */
    uint32_t *rfirst, *rfrom;
    uint32_t *idom;
    uint64_t *retained;
    uint8_t *attached;
};

/* heapdump_load.c: build rfirst/rfrom if absent; false (rc_last_error
 * set, naming fn) when out of memory. */
RC_INTERNAL bool _rc_heapdump_referrers_build(rc_heapdump *d, const char *fn);
/* dominators.c: free the analyses' arrays. */
RC_INTERNAL void _rc_heapdump_analyses_free(rc_heapdump *d);

#endif
