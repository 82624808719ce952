/*
 * src/internal/prof.h — the internal interface of src/prof: the tracer
 * (trace.c) and what the snapshots (snapshot.c) read from it. The design
 * essay is docs/profiling.md.
 */
#ifndef RC_INTERNAL_PROF_H
#define RC_INTERNAL_PROF_H
#ifndef RC_BUILDING_RECLAIM
#error "src/internal/prof.h is internal to reclaim: include <reclaim.h> instead"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap.h"

/* A frame as the tracer stores it: a call site (RC_TFRAME_SITE set, the
 * rest the rc_site pointer) or a return address into the caller. */
typedef uintptr_t rc_tframe;
#define RC_TFRAME_SITE ((uintptr_t)1 << 63)

/* ---- trace.c ------------------------------------------------------------ */

/* While a thread is inside the tracer or builds a report, the hooks ignore
 * its allocations (the tracer's own tables, a snapshot's arrays, the
 * symbolizer's caches): suspend/resume nest. */
RC_INTERNAL void _rc_trace_suspend(void);
RC_INTERNAL void _rc_trace_resume(void);

/* Visit every live trace and its traceback, with the tracer's tables
 * locked (so the figures are one consistent moment): fn(size, count,
 * frames, n, stack id, arg) once per trace in the address tables and
 * once per traceback for the traces of the side tables, where size and
 * count are what they stand for (sizes and block counts when tracing
 * exactly; the unbiased estimates when sampling). The
 * frames are valid during the call only. The caller has suspended tracing
 * on its thread (fn may allocate). */
typedef void (*rc_trace_visit)(size_t size, size_t count, const rc_tframe *frames, unsigned nframes,
                               uint32_t stack, void *arg);
/* Returns 1; 0 when not tracing; -1 when out of memory. */
RC_INTERNAL int _rc_trace_walk(rc_trace_visit fn, void *arg, size_t *current, size_t *peak);

/* Install the heap's and the object layer's allocation hooks (trace.c's,
 * which also call the per-line profiler's when RC_HOOK_LINES is set).
 * Idempotent; call before setting a hook bit. */
RC_INTERNAL void _rc_trace_hooks_install(void);

/* mprof.c: open the channel to `reclaim mprof run` when RECLAIM_MPROF_FD
 * names one. Called once, from tracefile.c's constructor (which every
 * program that allocates links, statically or not). */
RC_INTERNAL void _rc_mprof_from_environment(void);

/* Fork handlers (registered by the first rc_trace_start): the child keeps
 * tracing with none of the parent's traces. */
RC_INTERNAL void _rc_trace_fork_prepare(void);
RC_INTERNAL void _rc_trace_fork_parent(void);
RC_INTERNAL void _rc_trace_fork_child(void);

#endif
