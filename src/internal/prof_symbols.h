/*
 * src/internal/prof_symbols.h — the allocation tracer's symbolizer
 * (src/prof/symbols.c): code addresses to function, source file and line,
 * as tracemalloc's tracebacks show them. Used only when a report is made
 * (snapshots, rc_trace_site_of), never on the allocation path.
 */
#ifndef RC_INTERNAL_PROF_SYMBOLS_H
#define RC_INTERNAL_PROF_SYMBOLS_H
#ifndef RC_BUILDING_RECLAIM
#error "src/internal/prof_symbols.h is internal to reclaim: include <reclaim.h> instead"
#endif

#include <stdbool.h>
#include <stdint.h>

#include "runtime.h"

/* ---- symbols.c ----------------------------------------------------------- */

/* Resolve a code address — a return address: the caller's instruction
 * after the call — to its function, source file and line. Returns true
 * with the three set when at least the function is known; file is then
 * the source file (line > 0) or, without line information, the path of
 * the module (executable or shared library) holding the code (line 0).
 * The strings are interned and live until the process ends (never freed;
 * the same address or name gives the same pointer). Returns false when
 * nothing is known; *function, *file and *line are then untouched.
 * Thread-safe (one lock). Allocates from reclaim's heap (rc_malloc) and,
 * with libdw, libdw allocates with the system malloc: the tracer must not
 * trace while it builds a report. */
RC_INTERNAL bool _rc_symbolize(uintptr_t addr, const char **function, const char **file, unsigned *line);

/* A call made from code inlined into function (its name): the line in
 * function of the inlined call that holds the call returning to ret, from
 * the DWARF scopes (DW_AT_call_line), and in *file (when known, interned)
 * that line's file; 0 when the call is not in code inlined into function,
 * or nothing is known (always without libdw). Same lock and libdw session
 * as _rc_symbolize. For RC_PROFILE_FUNCTION's table (lineprof.c). */
RC_INTERNAL unsigned _rc_symbolize_inlined_call(uintptr_t ret, const char *function, const char **file);

/* Forget the cached module list and the address cache (after dlopen or
 * dlclose, or in a forked child); interned strings stay valid. Optional:
 * an address found in no module re-reads the module list once anyway. */
RC_INTERNAL void _rc_symbols_reset(void);

#endif
