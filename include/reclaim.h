/*
 * reclaim.h — the whole public API of reclaim.
 *
 * reclaim brings Python's memory model to C: a private heap tuned for small
 * blocks (pymalloc's design), and, in later steps, reference-counted objects,
 * a generational cycle collector and the profiling tools Python users know.
 *
 * Conventions (see docs/ and API.md):
 *   - A function that can fail returns NULL, false or a negative int, and
 *     rc_last_error() returns a static message naming the problem.
 *   - Allocation failure returns NULL with errno == ENOMEM; the heap stays
 *     consistent.
 *   - Every heap call is thread-safe; a block may be freed by any thread.
 *   - Nothing here aborts on bad input, except a detected heap corruption
 *     (debug allocator), which prints a report and then aborts.
 */
#ifndef RECLAIM_H
#define RECLAIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RC_VERSION_MAJOR 0
#define RC_VERSION_MINOR 1
#define RC_VERSION_PATCH 0
#define RC_VERSION_STRING "0.1.0"

#if defined(__GNUC__)
#define RC_API __attribute__((visibility("default")))
#define RC_MALLOC_LIKE __attribute__((malloc, warn_unused_result))
#else
#define RC_API
#define RC_MALLOC_LIKE
#endif

/* ====================================================================
 * 1. The private heap
 * ==================================================================== */

/* Alignment of every block the heap returns. */
#define RC_ALIGNMENT 16
/* Largest request served from the small-block pools (16-byte classes). */
#define RC_SMALL_MAX 512
/* Largest request served from medium classes inside arenas; larger requests
 * are mapped from the OS directly. */
#define RC_MEDIUM_MAX (256u * 1024u)
/* Number of pooled size classes: 32 small (16..512 in steps of 16) and 36
 * medium (four per power of two, 640..256 KiB). */
#define RC_SIZE_CLASSES 68

/* Allocate size bytes, 16-byte aligned. size 0 gives a unique, freeable
 * pointer. Returns a block the caller owns and frees with rc_free, or NULL
 * with errno = ENOMEM. */
RC_API void *rc_malloc(size_t size) RC_MALLOC_LIKE;

/* Allocate count * size zeroed bytes. Returns NULL with errno = ENOMEM on
 * overflow of count * size (rc_last_error says so) or when memory runs out. */
RC_API void *rc_calloc(size_t count, size_t size) RC_MALLOC_LIKE;

/* Resize p to size bytes, keeping min(old, new) bytes of contents.
 * p == NULL acts as rc_malloc(size). size == 0 returns a minimal block, as
 * rc_malloc(0) does (the old one is freed). On failure returns NULL, sets
 * errno = ENOMEM, and p is left exactly as it was (still owned by the
 * caller). A p the heap never gave out returns NULL with rc_last_error set. */
RC_API void *rc_realloc(void *p, size_t size) RC_MALLOC_LIKE;

/* Allocate size bytes aligned to alignment, a power of two from 16 to 1 MiB
 * (smaller powers of two are rounded up to 16). A bad alignment returns NULL
 * with errno = EINVAL and rc_last_error set. Free with rc_free. */
RC_API void *rc_aligned_alloc(size_t alignment, size_t size) RC_MALLOC_LIKE;

/* Free a block from this heap, from any thread. NULL is fine. A pointer the
 * heap never gave out (outside its memory, into the middle of a block, or a
 * block not handed out yet) is reported on stderr, sets rc_last_error and is
 * ignored. A second free of the same block is not detected in the default
 * mode: RECLAIM_MALLOC=debug reports it, with the other misuses, and aborts. */
RC_API void rc_free(void *p);

/* Bytes usable in the block p (at least what was asked). 0 for NULL and for
 * pointers the heap never gave out. */
RC_API size_t rc_usable_size(const void *p);

/* True when p is the address of a block of this heap: one it handed out,
 * live or freed while its pool is still in use (this is not a liveness
 * test). False for NULL, for pointers into the middle of a block, and for
 * any pointer the heap never gave out; safe on any pointer value. */
RC_API bool rc_owns(const void *p);

/* Give free memory back to the OS now: purge free pools, unmap empty arenas
 * and the cache of large mappings, collect blocks freed by other threads into
 * this thread's heap and into heaps of exited threads. Returns the bytes
 * released (purged or unmapped). Other live threads' heaps are trimmed at
 * their next slow path. */
RC_API size_t rc_heap_trim(void);

typedef struct rc_heap_class_stats {
    size_t block_size;     /* bytes per block of this class */
    size_t blocks_in_use;  /* live blocks (a block freed by another thread
                              counts until its owner collects it) */
    size_t blocks_free;    /* free blocks in pools of this class */
    size_t pools;          /* pools (or spans) of this class */
} rc_heap_class_stats;

typedef struct rc_heap_stats {
    size_t bytes_in_use;      /* bytes in live blocks, counted at block size */
    size_t bytes_peak;        /* high-water mark of the bytes committed to blocks
                                 (pools holding blocks, and large blocks): an
                                 upper bound of the peak of bytes_in_use,
                                 exact to a pool */
    size_t bytes_mapped;      /* bytes taken from the OS now */
    size_t bytes_mapped_peak; /* high-water mark of bytes_mapped */
    size_t bytes_resident_free; /* free bytes in pools not yet purged */
    size_t arenas;            /* 1 MiB arenas mapped */
    size_t pools_in_use;      /* 16 KiB pools holding blocks */
    size_t pools_free;        /* free pools inside arenas */
    size_t blocks_in_use;     /* live blocks, every class and large */
    size_t large_blocks;      /* live blocks mapped directly from the OS */
    size_t large_bytes;       /* their mapped bytes */
    size_t large_cached;      /* freed mappings kept for reuse */
    size_t threads;           /* thread heaps in use */
    size_t abandoned_heaps;   /* heaps of exited threads, awaiting reuse */
    rc_heap_class_stats classes[RC_SIZE_CLASSES]; /* increasing block_size, from 16 */
} rc_heap_stats;

/* Fill *out with statistics for the whole process (every thread's heap).
 * out must not be NULL (a NULL out is ignored and sets rc_last_error). */
RC_API void rc_heap_get_stats(rc_heap_stats *out);

/* Print the stats as text shaped like CPython's sys._debugmallocstats().
 * out NULL means stderr. */
RC_API void rc_heap_print_stats(FILE *out);

/* Print the stats as one JSON object (documented in docs/heap.md).
 * out NULL means stdout. Returns 0, or -1 if writing failed. */
RC_API int rc_heap_print_stats_json(FILE *out);

/* ====================================================================
 * 5. Runtime, options and shutdown
 * ==================================================================== */

/* Final work at exit: print stats if RECLAIM_MALLOCSTATS=1. Also registered
 * with atexit; calling it twice is harmless. */
RC_API void rc_shutdown(void);

/* The last error message of the calling thread: a static string naming the
 * problem, or "" when there was none. Never NULL. */
RC_API const char *rc_last_error(void);

/* The library version, "MAJOR.MINOR.PATCH". */
RC_API const char *rc_version(void);

/* Messages the library prints (option warnings, reports) go through one
 * function. A handler receives each whole message (one line, no newline);
 * NULL restores the default, which writes to stderr. The handler must not
 * call back into reclaim's allocator. */
typedef void (*rc_message_handler)(const char *message, void *arg);
RC_API void rc_set_message_handler(rc_message_handler fn, void *arg);

#ifdef __cplusplus
}
#endif
#endif /* RECLAIM_H */
