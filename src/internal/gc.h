/*
 * src/internal/gc.h — internal interface of src/gc: the collector's
 * algorithm (collect.c) for its surface (gc.c). The essay is docs/gc.md.
 */
#ifndef RC_INTERNAL_GC_H
#define RC_INTERNAL_GC_H
#ifndef RC_BUILDING_RECLAIM
#error "src/internal/gc.h is internal to reclaim: include <reclaim.h> instead"
#endif

#include "object.h"

/* ---- collect.c ---------------------------------------------------------- */

/* Collect generation gen (0..2; 2 walks every pool) of w. The caller has
 * set w->collecting (and holds the orphan lock for the orphan world).
 * debug: RC_GC_DEBUG_* in effect. Returns the objects freed (or saved by
 * SAVEALL); *uncollectable gets the unreachable ones that outlived it. */
RC_INTERNAL size_t _rc_gc_collect_world(rc_world *w, int gen, unsigned debug, size_t *uncollectable);

#endif
