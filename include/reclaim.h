/*
 * reclaim.h — the whole public API of reclaim.
 *
 * reclaim brings Python's memory model to C: a private heap tuned for small
 * blocks (pymalloc's design), reference-counted objects with a generational
 * cycle collector and weak references (Python's gc and weakref), and, in
 * later steps, the profiling tools Python users know.
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
 * 2. Objects and reference counting
 *
 * An object is a pointer to its payload: a user struct described by one
 * rc_type. A 16-byte header sits just before the payload (the same for
 * tracked objects: the collector finds them by walking the pools they
 * live in, so no list links are needed). Objects belong to the thread that
 * created them: only that thread changes their reference counts, and the
 * debug build (RECLAIM_DEBUG_CHECKS >= 1) reports any other thread that
 * does. When a thread exits, its surviving objects pass to a process-wide
 * orphan world (see section 3) and may then be used by one thread at a
 * time.
 * ==================================================================== */

/* A visitor: return nonzero to stop the walk. */
typedef int (*rc_visit_fn)(void *obj, void *arg);

/* Bits of rc_type.flags. */
#define RC_TYPE_DEFAULT 0u
/* The references an object of this type holds are all stored before the
 * next rc_new after its creation and never change afterwards (a tuple's
 * items). The collector then stops tracking such an object when it finds
 * that nothing it references is tracked, as CPython does for tuples: it can
 * never be part of a cycle, and later collections skip it. */
#define RC_TYPE_IMMUTABLE 1u

/* One per struct type. The type must outlive every object of it. */
typedef struct rc_type {
    const char *name;  /* shown in reports; NULL reads as "?" */
    size_t size;       /* payload bytes */
    /* Call visit(ref, arg) on each object this one holds a reference to,
     * and return the first nonzero result (or 0). NULL refs may be passed
     * (they are skipped). A type with traverse is tracked by the collector
     * from creation; NULL: references no object, never tracked. */
    int (*traverse)(void *self, rc_visit_fn visit, void *arg);
    /* Drop the references that may form cycles (set fields to NULL with
     * RC_CLEAR), leaving the object valid. Runs only on cyclic garbage. A
     * cycle in which no object has clear cannot be freed ("uncollectable"). */
    void (*clear)(void *self);
    /* Runs at most once per object, before any clear or destroy; may store
     * a new reference to self somewhere (resurrection, PEP 442). */
    void (*finalize)(void *self);
    /* Release what the object owns (references, outside resources). Runs
     * once, when the object dies; the memory is freed after it. */
    void (*destroy)(void *self);
    uint64_t (*hash)(const void *self);              /* optional */
    bool (*equal)(const void *a, const void *b);     /* optional */
    unsigned flags;                                  /* RC_TYPE_* */
} rc_type;

/* The header before every payload. Not for users to touch: it is here for
 * the inline rc_incref/rc_decref. A refcnt with bit 31 set means immortal
 * (never counted, never freed): rc_immortalize sets RC_IMMORTAL_REFCNT,
 * and a count that climbs to 2^31 references saturates there (PEP 683). */
typedef struct rc_object_head {
    uint32_t refcnt;
    uint32_t gc_aux;     /* collector's: young-generation slot or gc_refs */
    uintptr_t type_bits; /* the rc_type pointer | state bits << 48 */
} rc_object_head;

#define RC_IMMORTAL_REFCNT 0xC0000000u

/* Not part of the API: the release path of rc_decref and the checked
 * reference operations of the debug build. */
RC_API void _rc_dealloc(void *obj);
RC_API void _rc_incref_checked(void *obj);
RC_API void _rc_decref_checked(void *obj);

/* A new object of type, payload zeroed, reference count 1 (a new
 * reference). Tracked by the collector when the type has traverse; may run
 * an automatic collection first (see rc_gc_set_threshold). A NULL or
 * unusable type pointer (misaligned, or above 48 bits): NULL, errno =
 * EINVAL; no memory, or a payload size that overflows: NULL, errno =
 * ENOMEM; rc_last_error says which. */
RC_API void *rc_new(const rc_type *type);

/* rc_new with a payload of type->size + extra bytes. */
RC_API void *rc_new_var(const rc_type *type, size_t extra);

/* Add a reference; returns obj. NULL is fine. No atomic operation: the
 * object belongs to the calling thread. */
static inline void *rc_incref(void *obj) {
#if defined(RC_OBJECT_CHECKS) && RC_OBJECT_CHECKS
    if (obj) _rc_incref_checked(obj);
#else
    if (obj) {
        rc_object_head *h = (rc_object_head *)obj - 1;
        if ((int32_t)h->refcnt >= 0) h->refcnt++;
    }
#endif
    return obj;
}

/* Drop a reference. NULL is fine. At zero: finalize (once), weak
 * references cleared, destroy, memory freed, then weak-reference callbacks.
 * Releasing a long chain takes constant C stack. */
static inline void rc_decref(void *obj) {
#if defined(RC_OBJECT_CHECKS) && RC_OBJECT_CHECKS
    if (obj) _rc_decref_checked(obj);
#else
    if (obj) {
        rc_object_head *h = (rc_object_head *)obj - 1;
        if ((int32_t)h->refcnt >= 0 && --h->refcnt == 0) _rc_dealloc(obj);
    }
#endif
}

/* The reference count (2^31 or more for immortal objects).
 * 0 for NULL. */
RC_API size_t rc_refcount(const void *obj);
/* The object's type; NULL for NULL. */
RC_API const rc_type *rc_type_of(const void *obj);
/* Header + payload bytes, like sys.getsizeof: 16 + type->size (+ extra);
 * for rc_new_var with extra > 0 in a pool block, the whole block (all of it
 * is usable). 0 for NULL. */
RC_API size_t rc_sizeof(const void *obj);
/* Make obj immortal (PEP 683): its count never changes again and it is
 * never freed. NULL is ignored. */
RC_API void rc_immortalize(void *obj);

/* Store obj (may be NULL) in slot with a new reference, then drop the old
 * value's reference (after the store, as the old value's release may look
 * at the slot). */
#define RC_SET(slot, obj)                     \
    do {                                      \
        void *rc_set_new_ = (void *)(obj);    \
        void *rc_set_old_ = (void *)(slot);   \
        rc_incref(rc_set_new_);               \
        (slot) = rc_set_new_;                 \
        rc_decref(rc_set_old_);               \
    } while (0)

/* Set slot to NULL, then drop the reference it held (Py_CLEAR). */
#define RC_CLEAR(slot)                        \
    do {                                      \
        void *rc_clear_old_ = (void *)(slot); \
        if (rc_clear_old_) {                  \
            (slot) = NULL;                    \
            rc_decref(rc_clear_old_);         \
        }                                     \
    } while (0)

/* ====================================================================
 * 3. The cycle collector (Python's gc module)
 *
 * CPython 3.11's generational collector. Unreachable cycles are found by
 * subtracting the references tracked objects hold to each other from their
 * reference counts. Per thread: each thread's objects form their own world
 * (generations, counts, stats, garbage list, frozen objects), and
 * rc_gc_collect collects the calling thread's world. Process-wide: the
 * settings (enabled, thresholds, debug flags, callbacks), changeable from
 * any thread. An exited thread's objects join the orphan world, which every
 * explicit rc_gc_collect (on any thread) and rc_shutdown also collect, under
 * a lock; do not call it while another thread uses orphaned objects.
 * ==================================================================== */

typedef struct rc_gc_stats {
    size_t collections;    /* collections of this generation */
    size_t collected;      /* objects freed by them (or saved by SAVEALL) */
    size_t uncollectable;  /* unreachable objects that outlived them */
} rc_gc_stats;

typedef enum rc_gc_phase { RC_GC_START = 0, RC_GC_STOP = 1 } rc_gc_phase;

typedef struct rc_gc_info {
    int generation;        /* 0, 1 or 2 */
    size_t collected;      /* RC_GC_STOP only */
    size_t uncollectable;  /* RC_GC_STOP only */
    uint64_t duration_ns;  /* RC_GC_STOP only */
} rc_gc_info;

typedef void (*rc_gc_callback)(rc_gc_phase phase, const rc_gc_info *info, void *arg);

/* Debug flags (CPython's values). */
#define RC_GC_DEBUG_STATS 1u          /* a report per collection on stderr */
#define RC_GC_DEBUG_COLLECTABLE 2u    /* print each collectable object found */
#define RC_GC_DEBUG_UNCOLLECTABLE 4u  /* print each uncollectable object */
#define RC_GC_DEBUG_SAVEALL 32u       /* keep unreachable objects in the garbage list */
#define RC_GC_DEBUG_LEAK (RC_GC_DEBUG_COLLECTABLE | RC_GC_DEBUG_UNCOLLECTABLE | RC_GC_DEBUG_SAVEALL)

/* Collect generation 0, 1 or 2 (and the younger ones), or -1 for a full
 * collection (counted as generation 2). Also runs a full collection of the
 * orphan world (waiting for its lock); its counts are included in the
 * result, in this thread's stats[generation] and in the callbacks' info.
 * (Garbage the orphan world keeps is visible to no thread's
 * rc_gc_garbage.)
 * Returns the unreachable objects found (freed, or kept in the garbage list
 * as uncollectable or by SAVEALL). Returns 0 without collecting when a
 * collection is already running on this thread, or for a bad generation
 * (then rc_last_error says so). Runs even while automatic collection is
 * disabled. */
RC_API size_t rc_gc_collect(int generation);
RC_API void rc_gc_enable(void);     /* automatic collection on (default) */
RC_API void rc_gc_disable(void);
RC_API bool rc_gc_isenabled(void);
/* The calling thread's counts, as gc.get_count(): count[0] = tracked-type
 * allocations minus deallocations since the last collection, count[1] and
 * count[2] = collections of the next younger generation since the last
 * collection of this one. */
RC_API void rc_gc_get_count(size_t count[3]); /* NULL is ignored */
/* The process-wide thresholds. NULL is ignored. */
RC_API void rc_gc_get_threshold(size_t threshold[3]);
/* Default 700, 10, 10 (RECLAIM_GC_THRESHOLD). t0 == 0 disables automatic
 * collection. */
RC_API void rc_gc_set_threshold(size_t t0, size_t t1, size_t t2);
/* Track obj (into generation 0; an orphaned object into 2). Already
 * tracked, or being released: nothing. A type without traverse cannot be
 * tracked (rc_last_error is set). NULL is ignored. */
RC_API void rc_gc_track(void *obj);
/* Stop tracking obj; the collector then never looks at it. NULL is fine. */
RC_API void rc_gc_untrack(void *obj);
RC_API bool rc_gc_is_tracked(const void *obj);   /* false for NULL */
RC_API bool rc_gc_is_finalized(const void *obj); /* finalize has run; false for NULL */
/* Move every tracked object of this thread into the permanent generation,
 * which no collection looks at (and reset count[0]). When the thread exits,
 * its frozen objects thaw into the orphan world's generation 2. */
RC_API void rc_gc_freeze(void);
/* Move the permanent generation back into generation 2. */
RC_API void rc_gc_unfreeze(void);
/* Objects of this thread in the permanent generation. */
RC_API size_t rc_gc_get_freeze_count(void);
/* Visit the tracked objects of generation 0, 1 or 2, or of all three (-1);
 * frozen objects are not visited, as in CPython. fn may be NULL (count
 * only). Returns the objects a complete walk visits; a bad generation
 * returns 0 with rc_last_error set. Pointers are borrowed. */
RC_API size_t rc_gc_get_objects(int generation, rc_visit_fn fn, void *arg);
/* Visit the tracked, unfrozen objects of this thread whose traverse visits
 * obj; returns how many. NULL obj: 0. Out of memory: 0 with rc_last_error
 * set. Borrowed pointers. */
RC_API size_t rc_gc_get_referrers(const void *obj, rc_visit_fn fn, void *arg);
/* Visit what obj's traverse visits (NULL refs skipped); returns how many.
 * 0 for NULL, for a type without traverse, or when out of memory (then
 * rc_last_error is set). Borrowed pointers. */
RC_API size_t rc_gc_get_referents(const void *obj, rc_visit_fn fn, void *arg);
/* Copy the calling thread's per-generation statistics. */
RC_API void rc_gc_get_stats(rc_gc_stats stats[3]); /* NULL is ignored */
/* Call fn(RC_GC_START, ...) and fn(RC_GC_STOP, ...) around every
 * collection, automatic ones included, in registration order, on the
 * collecting thread; info is borrowed for the call. Returns 0, or -1 for a
 * NULL fn or no memory. */
RC_API int rc_gc_callback_add(rc_gc_callback fn, void *arg);
/* Remove the first registration of (fn, arg). -1 when there is none. */
RC_API int rc_gc_callback_remove(rc_gc_callback fn, void *arg);
RC_API void rc_gc_set_debug(unsigned flags);   /* RC_GC_DEBUG_* (RECLAIM_GC_DEBUG) */
RC_API unsigned rc_gc_get_debug(void);
/* Visit the calling thread's garbage list (gc.garbage): objects kept by
 * RC_GC_DEBUG_SAVEALL, and uncollectable cycles. fn may be NULL. Returns
 * how many; 0 with rc_last_error set when out of memory. Borrowed
 * pointers. */
RC_API size_t rc_gc_garbage(rc_visit_fn fn, void *arg);
/* Drop the garbage list's references. */
RC_API void rc_gc_garbage_clear(void);

/* ====================================================================
 * 4. Weak references
 * ==================================================================== */

typedef struct rc_weakref rc_weakref;
typedef void (*rc_weakref_callback)(rc_weakref *ref, void *arg);

/* A new reference to a weak reference to obj (itself a tracked object,
 * released with rc_decref). cb (may be NULL) runs once obj is dead, or
 * found unreachable by a collection (then before its finalizer), if the
 * weak reference is still alive then; ref is borrowed for the call, and
 * callbacks of one object run newest first. Callback-less weak references
 * to one object are shared. NULL obj, an obj being released, or no memory:
 * NULL with rc_last_error set (errno EINVAL or ENOMEM). */
RC_API rc_weakref *rc_weakref_new(void *obj, rc_weakref_callback cb, void *arg);
/* A new reference to the referent, or NULL once it is gone (or ref is
 * NULL). */
RC_API void *rc_weakref_get(rc_weakref *ref);
/* Weak references to obj now alive. 0 for NULL. */
RC_API size_t rc_weakref_count(const void *obj);
/* Run fn(arg) exactly once: when obj dies, or at rc_shutdown if it is
 * still alive then (weakref.finalize). Does not keep obj alive. Returns 0,
 * or -1 (rc_last_error set) for NULL obj or fn, an obj being released, or
 * no memory. */
RC_API int rc_finalize_on_death(void *obj, void (*fn)(void *arg), void *arg);

/* ====================================================================
 * 5. Runtime, options and shutdown
 * ==================================================================== */

/* Final work, also run at exit (a second call does nothing): a full
 * collection (this thread's world and the orphan world), the pending
 * rc_finalize_on_death functions, the objects still alive by type when
 * RECLAIM_LEAKCHECK=1, and the heap stats when RECLAIM_MALLOCSTATS=1. */
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
