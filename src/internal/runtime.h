/*
 * src/internal/runtime.h — internal interface of src/runtime: options,
 * errors and messages, start-up and shutdown. Sectioned by defining file.
 */
#ifndef RC_INTERNAL_RUNTIME_H
#define RC_INTERNAL_RUNTIME_H
#ifndef RC_BUILDING_RECLAIM
#error "src/internal/runtime.h is internal to reclaim: include <reclaim.h> instead"
#endif

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reclaim.h"

#define RC_INTERNAL __attribute__((visibility("hidden")))
#define RC_LIKELY(x) __builtin_expect(!!(x), 1)
#define RC_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define RC_NOINLINE __attribute__((noinline))
#define RC_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* ---- options.c: every RECLAIM_* variable, one table ------------------ */

typedef enum rc_option_id {
    RC_OPT_MALLOC,        /* RECLAIM_MALLOC: default | debug | malloc */
    RC_OPT_MALLOCSTATS,   /* RECLAIM_MALLOCSTATS: print heap stats at exit */
    RC_OPT_PURGE_DELAY,   /* RECLAIM_PURGE_DELAY: ms a free pool stays resident */
    RC_OPT_HEAP_RETAIN,   /* RECLAIM_HEAP_RETAIN: bytes of free memory kept resident */
    RC_OPT_LARGE_CACHE,   /* RECLAIM_LARGE_CACHE: freed large mappings kept for reuse */
    RC_OPT_DEBUG_QUARANTINE, /* RECLAIM_DEBUG_QUARANTINE: freed blocks held by the debug allocator */
    RC_OPT_GC_THRESHOLD,  /* RECLAIM_GC_THRESHOLD: t0,t1,t2 (packed: RC_OPT_UNPACK3) */
    RC_OPT_GC_DEBUG,      /* RECLAIM_GC_DEBUG: RC_GC_DEBUG_* flags */
    RC_OPT_LEAKCHECK,     /* RECLAIM_LEAKCHECK: report live objects at exit */
    RC_OPT_TRACEMALLOC,   /* RECLAIM_TRACEMALLOC: frames to trace from start-up (0: off) */
    RC_OPT_TRACE_FILE,    /* RECLAIM_TRACE_FILE: snapshot path (_rc_option_path) */
    RC_OPT_TRACE_SIGNAL,  /* RECLAIM_TRACE_SIGNAL: RC_TRACE_SIG_* */
    RC_OPT_TRACE_UNWIND,  /* RECLAIM_TRACE_UNWIND: RC_TRACE_UNWIND_* */
    RC_OPT_MPROF_FD,      /* RECLAIM_MPROF_FD: the channel to `reclaim mprof run` (-1: none) */
    RC_OPT_MPROF_INTERVAL, /* RECLAIM_MPROF_INTERVAL: ms between heap records on that channel */
    RC_OPT_PROFILE_OUT,   /* RECLAIM_PROFILE_OUT: file the RC_PROFILE_FUNCTION tables go to (_rc_option_path) */
    RC_OPT_COUNT
} rc_option_id;

/* RC_OPT_GC_THRESHOLD holds three 21-bit numbers. */
#define RC_OPT_UNPACK3(v, i) ((size_t)(((uint64_t)(v) >> (21 * (i))) & 0x1FFFFF))

/* Values of RC_OPT_TRACE_SIGNAL. */
enum { RC_TRACE_SIG_USR2 = 0, RC_TRACE_SIG_USR1 = 1, RC_TRACE_SIG_NONE = 2 };

/* Values of RC_OPT_TRACE_UNWIND: frame pointers, falling back to
 * libunwind when the chain breaks; frame pointers only; libunwind only. */
enum { RC_TRACE_UNWIND_AUTO = 0, RC_TRACE_UNWIND_FP = 1, RC_TRACE_UNWIND_LIBUNWIND = 2 };

/* Bits of RC_OPT_LEAKCHECK: report at exit; also exit with status 1. */
enum { RC_LEAKCHECK_REPORT = 1, RC_LEAKCHECK_ERROR = 2 };

/* Values of RC_OPT_MALLOC. */
enum { RC_MALLOC_DEFAULT = 0, RC_MALLOC_DEBUG = 1, RC_MALLOC_SYSTEM = 2 };

/* Read every RECLAIM_* variable once (idempotent, thread-safe, allocation
 * free). Bad values are reported once each through _rc_message and the
 * default is kept. */
RC_INTERNAL void _rc_options_init(void);
/* The value of an option (reads the environment on first use). */
RC_INTERNAL int64_t _rc_option(rc_option_id id);
/* The text of a path option (RECLAIM_TRACE_FILE), or NULL when unset. */
RC_INTERNAL const char *_rc_option_path(rc_option_id id);
/* Test hook: re-read the environment (tests change variables). */
RC_INTERNAL void _rc_options_reload(void);

/* ---- error.c: the one error path --------------------------------------- */

/* Record the calling thread's last error (what rc_last_error returns). */
RC_INTERNAL void _rc_set_error(const char *fmt, ...) RC_PRINTF(1, 2);
/* Emit one message line through the user's handler or to stderr, without
 * allocating from the heap. */
RC_INTERNAL void _rc_message(const char *fmt, ...) RC_PRINTF(1, 2);
/* Report detected heap corruption, then abort. */
RC_INTERNAL _Noreturn void _rc_fatal(const char *fmt, ...) RC_PRINTF(1, 2);

/* ---- init.c: start-up and shutdown -------------------------------------- */

/* Start-up work once the options are read (called by the heap's init). */
RC_INTERNAL void _rc_runtime_start(void);
/* Work of the upper layers for rc_shutdown (the final collection and the
 * exit reports), set when the first object is made; NULL before. */
RC_INTERNAL extern void (*_rc_shutdown_hook)(void);
/* Monotonic clock in nanoseconds. */
RC_INTERNAL uint64_t _rc_now_ns(void);

#endif
