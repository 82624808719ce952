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
    size_t large_bytes;       /* their sizes: requests rounded up to a page (a mapping
                                 may be larger: headroom counts in bytes_mapped) */
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
 * that nothing it references is tracked or of an RC_TYPE_UNTRACKED type
 * (which may become tracked later), as CPython does for tuples: it can
 * never be part of a cycle, and later collections skip it. A type whose
 * stores call rc_gc_track again when needed may use it too (dicts). */
#define RC_TYPE_IMMUTABLE 1u
/* Objects of a type with traverse start untracked; the type tracks one
 * (rc_gc_track) when it first stores a reference to a tracked object, as
 * CPython does for dicts. They still count as tracked-type allocations in
 * rc_gc_get_count. */
#define RC_TYPE_UNTRACKED 2u
/* Bits 16-31 are reserved for reclaim's own types. */

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
    /* Optional: the hash of self (rc_hash). NULL: hashed by identity, as
     * Python's object; objects that compare equal must hash equal. */
    uint64_t (*hash)(const void *self);
    /* Optional: are a and b equal (rc_equal)? Called only with two objects
     * of this type; NULL: equal only to itself. */
    bool (*equal)(const void *a, const void *b);
    unsigned flags;                                  /* RC_TYPE_* */
    /* Optional: a new reference to an rc_str describing self (rc_repr),
     * or NULL with rc_last_error set. NULL: "<name object at 0x...>". */
    void *(*repr)(const void *self);
    /* Optional: a new reference to an iterator over self (rc_iter). */
    void *(*iter)(void *self);
    /* Optional, for iterator types: store a new reference to the next item
     * in *out and return 1; return 0 when exhausted (and from then on); -1
     * with rc_last_error set on error (rc_next). */
    int (*next)(void *self, void **out);
    /* Optional, for pictures of references (rc_objgraph_show_refs): the
     * name of the field of self that holds ref ("next", "items[3]"),
     * either a static string or written into buf (len bytes) and buf
     * returned; NULL when self does not hold ref or cannot tell. */
    const char *(*field_name)(const void *self, const void *ref, char *buf, size_t len);
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
 * 6. Built-in types: numbers, strings, containers, typed arrays,
 *    iterators and generators (Python's built-ins)
 *
 * Every value below is an rc object (void *), released with rc_decref.
 * Containers take part in the cycle collector: a list, set or generator is
 * tracked; a tuple stops being tracked once a collection finds that none
 * of its items is tracked, and a dict starts untracked and is tracked once
 * it holds a tracked key or value (or a dict), as in CPython; a
 * collection untracks both again when that is no longer so. Containers allocate through the
 * heap only.
 *
 * Reference rules (API.md): getters return borrowed references, setters
 * take their own reference (they do not steal) unless the name ends in
 * _steal, and everything named new/from/copy/pop returns a new reference.
 * A wrong argument (NULL, an object of the wrong type, an index out of
 * range, an unhashable key) fails without side effects: NULL, false or a
 * negative int, with rc_last_error naming the function and the problem,
 * e.g. "rc_list_get: index 7 out of range (len 3)". Indices are int64_t
 * and negative ones count from the end, as in Python; slices clamp.
 * ==================================================================== */

/* The built-in types, for rc_type_of comparisons. */
RC_API extern const rc_type rc_none_type, rc_bool_type, rc_int_type, rc_float_type, rc_str_type,
    rc_bytes_type, rc_tuple_type, rc_list_type, rc_dict_type, rc_set_type, rc_array_type, rc_gen_type;

/* ---- 6.1 Singletons and numbers ---------------------------------------- */

/* The immortal singletons (never counted: rc_incref/rc_decref on them do
 * nothing, and they are shared by every thread). */
RC_API extern void *const rc_none;
RC_API extern void *const rc_true;
RC_API extern void *const rc_false;
/* rc_true or rc_false. */
RC_API void *rc_bool(bool value);

/* A new reference to an int. -5..256 are immortal and cached, as in
 * CPython. NULL only when out of memory. */
RC_API void *rc_int_new(int64_t value);
/* The value of an int (a bool reads as 0 or 1). Another object: 0 with
 * rc_last_error set. */
RC_API int64_t rc_int_value(const void *obj);
/* A new reference to a float. */
RC_API void *rc_float_new(double value);
/* The value of a float, or of an int or bool converted. Another object:
 * 0.0 with rc_last_error set. */
RC_API double rc_float_value(const void *obj);

/* ---- 6.2 Strings and bytes --------------------------------------------- */

/* A new str holding a copy of nbytes of UTF-8 (need not be NUL-terminated;
 * embedded NULs are kept). Invalid UTF-8: NULL with rc_last_error naming
 * the byte offset. Length in code points and the hash are cached. */
RC_API void *rc_str_new(const char *utf8, size_t nbytes);
/* rc_str_new of a NUL-terminated string. */
RC_API void *rc_str_from_cstr(const char *cstr);
/* The str's UTF-8, NUL-terminated, borrowed (valid while the str lives).
 * Not a str: NULL with rc_last_error set. */
RC_API const char *rc_str_cstr(const void *str);
/* Length in code points (Python's len). Not a str: 0 with rc_last_error. */
RC_API size_t rc_str_len(const void *str);
/* Length in bytes of the UTF-8. Not a str: 0 with rc_last_error. */
RC_API size_t rc_str_size(const void *str);
/* A new str a + b (a new reference to a or b itself when the other is
 * empty, as in CPython). */
RC_API void *rc_str_concat(const void *a, const void *b);
/* A new str of code points [start, stop), Python's s[start:stop]
 * (negative indices count from the end; out-of-range ones clamp). The
 * whole str gives str itself; an empty or one-ASCII-character result may
 * be a shared immortal str. O(1) offsets for ASCII text; long non-ASCII
 * strs build an index of code-point offsets on first use. */
RC_API void *rc_str_slice(const void *str, int64_t start, int64_t stop);
/* The code-point index of the first occurrence of sub in str at or after
 * code point start (Python's str.find): -1 when absent, -2 (rc_last_error
 * set) when an argument is not a str. */
RC_API int64_t rc_str_find(const void *str, const void *sub, int64_t start);
/* A new list of the pieces of str between occurrences of sep (a str;
 * empty sep is an error), or split on runs of whitespace (Python's
 * str.isspace, Unicode included) with empty pieces dropped when sep is
 * NULL (Python's str.split). */
RC_API void *rc_str_split(const void *str, const void *sep);
/* A new str: the items of iterable (any object rc_iter accepts; strs
 * only) with sep between them (Python's sep.join). A non-str item fails
 * with "rc_str_join: sequence item 1: expected str instance, int found". */
RC_API void *rc_str_join(const void *sep, void *iterable);
/* A new str from a printf format (PyUnicode_FromFormat): every printf
 * conversion of C, plus %R (an object's rc_repr) and %S (rc_str_of) taking
 * a void * object. %c and %lc take a code point and %ls a wide string,
 * written as UTF-8; for %s, %ls, %R and %S the width counts code points,
 * and the precision of %s and %ls counts bytes (never splitting a UTF-8
 * sequence), that of %R and %S code points. A bad format, or a result
 * that is not UTF-8: NULL with rc_last_error set. (No printf format
 * attribute: the compiler would reject %R and %S.) */
RC_API void *rc_str_format(const char *fmt, ...);
/* A new reference to the interned str equal to str: one immortal object
 * per distinct text, shared by every thread (sys.intern). Interned strs
 * compare equal by address. The first str interned for a text becomes
 * that object itself (it is made immortal, as CPython 3.12 does). */
RC_API void *rc_str_intern(const void *str);
/* rc_str_intern of a C string. */
RC_API void *rc_str_intern_cstr(const char *cstr);
/* str(obj): a new reference to obj itself for a str, else its rc_repr. */
RC_API void *rc_str_of(const void *obj);

/* A new bytes object holding a copy of n bytes (data may be NULL when n is
 * 0). */
RC_API void *rc_bytes_new(const void *data, size_t n);
/* The bytes' data (borrowed; followed by a NUL) and length. Not a bytes:
 * NULL / 0 with rc_last_error set. */
RC_API const uint8_t *rc_bytes_data(const void *bytes);
RC_API size_t rc_bytes_len(const void *bytes);

/* ---- 6.3 Operations on every object --------------------------------------- */

/* A new str describing obj, as Python's repr(): 42, 1.5, 'text',
 * b'\x00', (1,), [1, 2], {'a': 1}, {1, 2}, None, True, array('d', [1.0]),
 * <generator object at 0x...>; user types through rc_type.repr, else
 * "<Name object at 0x...>". Containers that contain themselves print
 * [...]. NULL obj gives "NULL". NULL only when out of memory. */
RC_API void *rc_repr(const void *obj);
/* Python's hash(): numbers that compare equal hash equal (hash(1) ==
 * hash(1.0) == hash(True)), strs and bytes by content, tuples from their
 * items, user types through rc_type.hash, other objects by identity. The
 * result is never -1; -1 means failure: an unhashable object (a list,
 * dict, set or array: "rc_hash: unhashable type: 'list'") or NULL. */
RC_API int64_t rc_hash(const void *obj);
/* Python's ==: identity, numbers by value across int, float and bool,
 * strs, bytes, tuples, lists, dicts and sets by content, arrays by length
 * and element values compared exactly across dtypes (Python's array ==:
 * an int8 array equals a float64 array of the same numbers; NaN equals
 * nothing), user types through rc_type.equal (only between two objects
 * of that type), else identity. NULL equals only NULL. */
RC_API bool rc_equal(const void *a, const void *b);
/* Python's ordering, for sorting: numbers by value, strs by code point,
 * bytes by byte, tuples and lists lexicographically. Stores -1, 0 or 1 in
 * *result and returns 0; two objects that have no order between them
 * (types that differ, None, dicts...) return -1 with rc_last_error set
 * ("rc_compare: '<' not supported between 'str' and 'int'"). */
RC_API int rc_compare(const void *a, const void *b, int *result);
/* len(obj) for a str (code points), bytes, tuple, list, dict, set or
 * array; -1 with rc_last_error set for other objects. */
RC_API int64_t rc_len(const void *obj);
/* Python's `item in container` for a str (substring), tuple, list, dict
 * (keys), set or array: 1 or 0; -1 with rc_last_error set on error (an
 * unhashable item for a dict or set, a container that is none of these). */
RC_API int rc_contains(const void *container, const void *item);

/* ---- 6.4 Tuples (immutable) -------------------------------------------- */

/* A new tuple of n items, each rc_none, to be filled with rc_tuple_set
 * before it is shared (as CPython's PyTuple_New). */
RC_API void *rc_tuple_new(size_t n);
/* A new tuple of the n objects after n (each gets its own reference; NULL
 * items read as rc_none). */
RC_API void *rc_tuple_pack(size_t n, ...);
/* A new tuple of items[0..n) (own references). */
RC_API void *rc_tuple_from_array(void *const *items, size_t n);
RC_API size_t rc_tuple_len(const void *tuple); /* 0 with rc_last_error for a non-tuple */
/* Item i, borrowed. */
RC_API void *rc_tuple_get(const void *tuple, int64_t i);
/* Store item (own reference) at i of a tuple being filled; returns 0 or
 * -1. A tuple is immutable once shared: this is for building one, and a
 * tuple with more than one reference is refused (PyTuple_SetItem's rule). */
RC_API int rc_tuple_set(void *tuple, int64_t i, void *item);

/* ---- 6.5 Lists ------------------------------------------------------------ */

/* Comparison for rc_list_sort: <0, 0, >0 as a before, equal to, after b.
 * Set *failed and return 0 to abort the sort (the list is then left as it
 * was). */
typedef int (*rc_compare_fn)(const void *a, const void *b, void *arg, bool *failed);

/* A new empty list. */
RC_API void *rc_list_new(void);
RC_API size_t rc_list_len(const void *list); /* 0 with rc_last_error for a non-list */
/* Item i, borrowed. */
RC_API void *rc_list_get(const void *list, int64_t i);
/* Replace item i (own reference to item; the old item is released). */
RC_API int rc_list_set(void *list, int64_t i, void *item);
/* Append item (own reference). Grows as CPython's list (about 1/8 spare). */
RC_API int rc_list_append(void *list, void *item);
/* Append item, taking over the caller's reference (also on failure, when
 * item is released). */
RC_API int rc_list_append_steal(void *list, void *item);
/* Insert item before index i (clamped, as list.insert). */
RC_API int rc_list_insert(void *list, int64_t i, void *item);
/* Remove item i and return it (a new reference); i = -1 is the last. */
RC_API void *rc_list_pop(void *list, int64_t i);
/* Delete item i. */
RC_API int rc_list_del(void *list, int64_t i);
/* Remove every item. */
RC_API void rc_list_clear(void *list);
/* A new list of items [start, stop) (Python's l[start:stop]). */
RC_API void *rc_list_slice(const void *list, int64_t start, int64_t stop);
/* Append every item of iterable (any object rc_iter accepts; the list
 * itself too). On failure the list keeps what it had before the call. */
RC_API int rc_list_extend(void *list, void *iterable);
/* Stable sort in place with cmp(a, b, arg, failed), or with rc_compare
 * when cmp is NULL. On failure (incomparable items, a cmp that failed, the
 * list changed by cmp) the list is left as it was. */
RC_API int rc_list_sort(void *list, rc_compare_fn cmp, void *arg);
RC_API int rc_list_reverse(void *list);
/* The first index whose item rc_equal's item; -1 with rc_last_error set
 * when absent ("rc_list_index: item not in list"). */
RC_API int64_t rc_list_index(const void *list, const void *item);
/* A new list of the items an iterator or iterable gives (list(it)). */
RC_API void *rc_list_from_iter(void *iterable);

/* ---- 6.6 Dicts (insertion-ordered, CPython's compact layout) ------------ */

/* A new empty dict. Keys must be hashable (rc_hash). */
RC_API void *rc_dict_new(void);
RC_API size_t rc_dict_len(const void *dict); /* 0 with rc_last_error for a non-dict */
/* Set dict[key] = value (own references to both; an existing key keeps
 * its place and its original key object). */
RC_API int rc_dict_set(void *dict, void *key, void *value);
/* dict[key], borrowed; NULL when absent or on error (an unhashable key
 * sets rc_last_error; rc_dict_lookup tells the two apart). */
RC_API void *rc_dict_get(const void *dict, const void *key);
/* 1 and *value (borrowed) when key is present, 0 when absent, -1 on
 * error. value may be NULL. */
RC_API int rc_dict_lookup(const void *dict, const void *key, void **value);
/* Remove key and return its value (a new reference); NULL when absent
 * ("rc_dict_pop: key not found") or on error. */
RC_API void *rc_dict_pop(void *dict, const void *key);
/* Remove key: 0, or -1 when absent or on error. */
RC_API int rc_dict_del(void *dict, const void *key);
/* 1, 0 or -1 (error). */
RC_API int rc_dict_contains(const void *dict, const void *key);
/* Set every key of other (a dict) to its value, in other's order. */
RC_API int rc_dict_update(void *dict, const void *other);
RC_API void rc_dict_clear(void *dict);
/* Iterate in insertion order without an iterator object: start with *pos
 * = 0; each call that returns true stores borrowed key and value (either
 * may be NULL to skip it). The dict must not change during the loop
 * (checked: false with rc_last_error set). */
RC_API bool rc_dict_next(const void *dict, size_t *pos, void **key, void **value);
/* New iterators over the keys, values, and (key, value) tuples, in
 * insertion order. A dict that changes size while one is in use makes its
 * rc_next fail ("dictionary changed size during iteration"), and so does
 * one whose keys changed at the same size ("dictionary keys changed during
 * iteration"); replacing values is fine. rc_iter of a dict iterates its
 * keys. */
RC_API void *rc_dict_keys(void *dict);
RC_API void *rc_dict_values(void *dict);
RC_API void *rc_dict_items(void *dict);

/* ---- 6.7 Sets ------------------------------------------------------------- */

/* A new empty set; rc_set_from_iter: of the items of an iterable. */
RC_API void *rc_set_new(void);
RC_API void *rc_set_from_iter(void *iterable);
RC_API size_t rc_set_len(const void *set); /* 0 with rc_last_error for a non-set */
/* Add item (own reference): 1 added, 0 already there, -1 error. */
RC_API int rc_set_add(void *set, void *item);
/* Remove item if present: 1 removed, 0 absent, -1 error. */
RC_API int rc_set_discard(void *set, const void *item);
RC_API int rc_set_contains(const void *set, const void *item); /* 1, 0 or -1 */
/* New sets a | b, a & b, a - b (both sets). */
RC_API void *rc_set_union(const void *a, const void *b);
RC_API void *rc_set_intersection(const void *a, const void *b);
RC_API void *rc_set_difference(const void *a, const void *b);
/* Remove and return an arbitrary item (a new reference); NULL when empty. */
RC_API void *rc_set_pop(void *set);
RC_API void rc_set_clear(void *set);
/* rc_iter of a set iterates its items; an addition or removal while the
 * iterator is in use makes its rc_next fail ("Set changed size during
 * iteration"). */

/* ---- 6.8 Typed arrays (numpy's role) ---------------------------------- */

typedef enum rc_dtype {
    RC_INT8, RC_INT16, RC_INT32, RC_INT64,
    RC_UINT8, RC_UINT16, RC_UINT32, RC_UINT64,
    RC_FLOAT32, RC_FLOAT64
} rc_dtype;

/* A new array of n zeroed elements. Up to RC_SMALL_MAX bytes of elements
 * live inside the array object; a larger buffer is a mapping of its own
 * from the OS, whatever its size (in the default heap mode: page-aligned,
 * at least a page, one of rc_heap_stats large_blocks), unmapped when the
 * array dies or kept briefly in the heap's cache of freed mappings
 * (rc_heap_trim empties it). A bad dtype: NULL with rc_last_error set. */
RC_API void *rc_array_new(rc_dtype dtype, size_t n);
/* A new array holding a copy of n elements of dtype at data. */
RC_API void *rc_array_from_buffer(rc_dtype dtype, const void *data, size_t n);
/* A new array of the numbers (ints, floats, bools) an iterable gives,
 * converted to dtype (an int out of dtype's range, or a float to an
 * integer dtype that is not finite or out of range, is an error). */
RC_API void *rc_array_from_iter(rc_dtype dtype, void *iterable);
/* A new list of ints (integer dtypes) or floats. A uint64 above INT64_MAX,
 * which no rc_int holds, becomes the nearest float (so in rc_iter too). */
RC_API void *rc_array_to_list(const void *array);
RC_API size_t rc_array_len(const void *array); /* 0 with rc_last_error for a non-array */
RC_API rc_dtype rc_array_dtype(const void *array); /* (rc_dtype)-1 with rc_last_error for a non-array */
/* Bytes per element of a dtype (0 for a bad one). */
RC_API size_t rc_dtype_size(rc_dtype dtype);
/* The elements, contiguous (borrowed; valid until the array grows). */
RC_API void *rc_array_data(void *array);
/* Element i as a double, or as an int64_t (a float element truncated
 * toward zero; NaN, infinities, floats out of int64's range and uint64
 * above INT64_MAX are errors). Bad index: NAN / 0 with rc_last_error set. */
RC_API double rc_array_get(const void *array, int64_t i);
RC_API int64_t rc_array_get_int(const void *array, int64_t i);
/* Store value at i, converted to the dtype: a double truncated toward zero
 * for integer dtypes (2.7 -> 2), rounded for float32. Out of the dtype's
 * range, or NaN / an infinity to an integer dtype: -1, nothing stored. */
RC_API int rc_array_set(void *array, int64_t i, double value);
RC_API int rc_array_set_int(void *array, int64_t i, int64_t value);
/* Append with amortized growth (large buffers grow in place with mremap
 * where they can). An array whose buffer is shared with views, or a
 * view, cannot grow: -1 with rc_last_error set. */
RC_API int rc_array_append(void *array, double value);
RC_API int rc_array_append_int(void *array, int64_t value);
/* A new array of elements [start, stop) (clamped as Python's slices)
 * sharing array's buffer (a view; it keeps the buffer alive, and a view of
 * a view refers to the array that owns the buffer). */
RC_API void *rc_array_view(void *array, int64_t start, int64_t stop);
/* Reductions, as doubles (integer sums exact, then converted once; float
 * sums pairwise in double). min and max propagate NaN, as numpy's. min,
 * max and mean of an empty array: NAN with rc_last_error set; sum of an
 * empty array is 0. */
RC_API double rc_array_sum(const void *array);
RC_API double rc_array_min(const void *array);
RC_API double rc_array_max(const void *array);
RC_API double rc_array_mean(const void *array);

/* ---- 6.9 Iterators -------------------------------------------------------- */

/* A new iterator over obj (a str by code point, bytes as ints, tuple,
 * list, dict keys, set, array elements as ints or floats), or a new
 * reference to obj itself when it is an iterator or a generator. */
RC_API void *rc_iter(void *obj);
/* Advance: 1 and *out = a new reference to the next item; 0 when
 * exhausted (and on every later call); -1 with rc_last_error set on error
 * (then also exhausted). */
RC_API int rc_next(void *iterator, void **out);

/* Lazy building blocks (itertools). Each returns a new iterator that holds
 * its own references to what it is given, and costs constant memory
 * however long the stream. */
/* A new reference to the ints start, start + step, ... before stop
 * (Python's range; step 0 is an error). */
RC_API void *rc_range(int64_t start, int64_t stop, int64_t step);
/* fn(item, arg) returns a new reference to the mapped item, or NULL with
 * rc_last_error set to fail the iteration; item is borrowed. */
typedef void *(*rc_map_fn)(void *item, void *arg);
/* pred(item, arg): 1 keep, 0 drop, -1 fail the iteration. */
typedef int (*rc_pred_fn)(void *item, void *arg);
RC_API void *rc_map(rc_map_fn fn, void *arg, void *iterable);
RC_API void *rc_filter(rc_pred_fn pred, void *arg, void *iterable);
/* The first n items (itertools.islice(it, n)). */
RC_API void *rc_take(void *iterable, size_t n);
/* itertools.islice(it, start, stop, step); stop < 0 means no end. */
RC_API void *rc_islice(void *iterable, int64_t start, int64_t stop, int64_t step);
/* (index, item) tuples from start (enumerate). */
RC_API void *rc_enumerate(void *iterable, int64_t start);
/* Tuples of the n iterables' items, ending with the shortest (zip). zip
 * and chain take rc_iter of every argument at once: one that is not
 * iterable fails the call, the message naming its position. */
RC_API void *rc_zip(size_t n, ...);
/* The items of each of the n iterables in turn (itertools.chain). */
RC_API void *rc_chain(size_t n, ...);
/* Tuples of n items, the last one shorter (itertools.batched). */
RC_API void *rc_batched(void *iterable, size_t n);
/* The lines of the file at path, each a str ending with its '\n' (as
 * Python's iteration over a text file), read in constant memory; the file
 * is closed when the iterator is exhausted or dies. Cannot open: NULL with
 * rc_last_error naming the path and the reason. The bytes are kept as
 * they are ("\r\n" stays); a line that is not valid UTF-8 fails the
 * iteration with rc_last_error naming the line number. */
RC_API void *rc_lines(const char *path);

/* ---- 6.10 Generators ------------------------------------------------------ */

/* A generator is a C function that suspends at each RC_YIELD and resumes
 * after it on the next rc_next, without a stack of its own (the switch
 * technique of protothreads). Its locals live in the generator object:
 * C locals of the function do not survive a yield. The first nrefs
 * fields of the locals struct are object references (void *) that the
 * generator owns: they are traversed by the collector (a suspended
 * generator holding references takes part in cycles) and released when
 * the generator finishes or dies.
 *
 *   typedef struct { void *source; int64_t i, n; } range_locals;
 *   static int large_range(void *gen, void **out) {
 *       range_locals *l = rc_gen_locals(gen);
 *       RC_GEN_BEGIN(gen);
 *       for (l->i = 0; l->i < l->n; l->i++)
 *           RC_YIELD(gen, out, rc_int_new(l->i));
 *       RC_GEN_END(gen);
 *   }
 *   void *g = rc_gen_new(large_range, sizeof(range_locals), 0);
 *   ((range_locals *)rc_gen_locals(g))->n = 1000000;
 *
 * The body returns 1 after storing a new reference in *out (RC_YIELD does
 * this), 0 when finished (RC_GEN_END), or -1 with rc_last_error set to
 * fail (RC_GEN_FAIL). RC_YIELD takes over the reference it is given; a
 * NULL value (an allocation that failed) fails the generator. After 0 or
 * -1 the generator is finished: its references are released at once and
 * every later rc_next returns 0. rc_next on a generator whose body is
 * running (the body reaching its own generator again) fails with
 * "rc_next: generator already executing" and leaves the running call
 * undisturbed. A generator that dies suspended just releases its locals'
 * references (there is no GeneratorExit). */
typedef int (*rc_gen_fn)(void *gen, void **out);
/* A new generator running fn, with locals_size zeroed bytes of locals
 * whose first nrefs fields are object references (nrefs * sizeof(void *)
 * <= locals_size). */
RC_API void *rc_gen_new(rc_gen_fn fn, size_t locals_size, size_t nrefs);
/* The generator's locals (borrowed, 16-byte aligned). */
RC_API void *rc_gen_locals(void *gen);
/* Where the body resumes (the macros' bookkeeping): 0 at the start, -1
 * once finished. */
RC_API int *rc_gen_resume_point(void *gen);

/* The body's frame: RC_GEN_BEGIN first, RC_GEN_END last, RC_YIELD and
 * RC_GEN_FAIL anywhere between, inside loops and ifs too, but not inside
 * a switch of the body's own (its case labels would belong to that
 * switch). Each RC_YIELD gets its own resume point from __COUNTER__, so
 * several may share a line. No case falls through to another, so the
 * macros are quiet under -Wimplicit-fallthrough without annotations. */
#define RC_GEN_BEGIN(gen) switch (*rc_gen_resume_point(gen)) { default: return 0; case 0:;
#define RC_YIELD(gen, out, value) RC_YIELD_AT_(gen, out, value, __COUNTER__ + 1)
#define RC_YIELD_AT_(gen, out, value, point)               \
    do {                                                   \
        *rc_gen_resume_point(gen) = (point);               \
        if ((*(out) = (value)) == NULL) return -1;         \
        return 1;                                          \
        case (point):;                                     \
    } while (0)
#define RC_GEN_FAIL(gen)                                   \
    do {                                                   \
        *rc_gen_resume_point(gen) = -1;                    \
        return -1;                                         \
    } while (0)
#define RC_GEN_END(gen)                                    \
    }                                                      \
    *rc_gen_resume_point(gen) = -1;                        \
    return 0

/* ====================================================================
 * 7. Allocation tracing and snapshots (Python's tracemalloc)
 *
 * While tracing is on, every block the heap hands out (rc_malloc and
 * friends, objects, containers, and through libreclaim-malloc.so any
 * program's malloc) records where it was allocated: a traceback of up to
 * nframes frames, the innermost first. A frame is the call site of
 * rc_malloc / rc_new when the caller compiled against this header (the
 * macros below record __FILE__, __LINE__ and __func__, no unwinding),
 * else the return address into the caller; further frames are return
 * addresses found by walking frame pointers. Addresses are turned into
 * function, file and line only when a snapshot is taken, never on the
 * allocation path. Identical tracebacks are stored once.
 * ==================================================================== */

/* Most frames a traceback keeps. */
#define RC_TRACE_MAX_FRAMES 64

/* Start tracing with tracebacks of nframes frames (1..RC_TRACE_MAX_FRAMES),
 * as tracemalloc.start(nframes). Blocks allocated before are not traced.
 * Already tracing: the traceback length changes for later blocks. Returns
 * 0, or -1 with rc_last_error set for a bad nframes or no memory. */
RC_API int rc_trace_start(unsigned nframes);
/* The default mean of rc_trace_start_sampled: 512 KiB between samples. */
#define RC_TRACE_SAMPLE_MEAN ((size_t)512 * 1024)
/* Start tracing a sample of the blocks: samples fall as a Poisson process
 * over the bytes allocated, mean_bytes apart on average (0: the default,
 * RC_TRACE_SAMPLE_MEAN), as tcmalloc's and jemalloc's heap profilers do.
 * A block of s bytes is sampled with probability p = 1 - exp(-s / mean)
 * and then stands for s / p bytes and 1 / p blocks, so every figure
 * (traced memory, snapshot sizes and counts) is an unbiased estimate.
 * Unsampled allocations cost a subtraction. Returns 0, or -1 with
 * rc_last_error set for a bad nframes or a mean above 1 TiB. */
RC_API int rc_trace_start_sampled(size_t mean_bytes, unsigned nframes);
/* Stop tracing and forget every trace (tracemalloc.stop). */
RC_API void rc_trace_stop(void);
RC_API bool rc_trace_is_tracing(void);
/* Bytes in traced blocks now and at their peak since tracing started or
 * the last rc_trace_reset_peak (tracemalloc.get_traced_memory). Sizes are
 * the bytes asked for. NULL pointers are ignored; both 0 when not
 * tracing. Exact for the calling thread's allocations and for threads
 * that have exited; each other thread's running count joins the total
 * every 64 KiB it moves, so while other threads allocate, both figures
 * may be short by up to 64 KiB per such thread (docs/profiling.md). */
RC_API void rc_trace_get_traced_memory(size_t *current, size_t *peak);
/* Set the peak to the current figure (tracemalloc.reset_peak). */
RC_API void rc_trace_reset_peak(void);
/* Bytes the tracer itself uses: its tables of traces and tracebacks
 * (tracemalloc.get_tracemalloc_memory). */
RC_API size_t rc_trace_overhead(void);

/* One frame of a traceback. The strings live as long as the snapshot (for
 * rc_trace_site_of: as long as the process). An address with no symbol
 * reads in a snapshot as file = its module's path, function = "+0xOFFSET"
 * in it, line 0 (file "?" and function its hex when no module holds it),
 * and from rc_trace_site_of as "?". */
typedef struct rc_frame {
    const char *file;
    const char *function;
    unsigned line;
} rc_frame;

/* The traceback of a traced block (tracemalloc.get_object_traceback): up
 * to max frames stored in frames, innermost first; returns how many the
 * traceback has (which may exceed max), or 0 when p is not traced (or not
 * tracing). For an object, pass the object pointer. */
RC_API unsigned rc_trace_site_of(const void *p, rc_frame *frames, unsigned max);

/* ---- call sites: the macros that record __FILE__/__LINE__/__func__ ---- */

/* A call site, one static per place in the source (RC_SITE makes it). id
 * is reserved for the tracer (0). */
typedef struct rc_site {
    const char *file;
    const char *function;
    unsigned line;
    unsigned id;
} rc_site;

/* The allocation functions with an explicit call site (NULL site: the
 * caller's return address is used, as for the plain functions). */
RC_API void *rc_malloc_at(size_t size, rc_site *site) RC_MALLOC_LIKE;
RC_API void *rc_calloc_at(size_t count, size_t size, rc_site *site) RC_MALLOC_LIKE;
RC_API void *rc_realloc_at(void *p, size_t size, rc_site *site) RC_MALLOC_LIKE;
RC_API void *rc_aligned_alloc_at(size_t alignment, size_t size, rc_site *site) RC_MALLOC_LIKE;
RC_API void *rc_new_at(const rc_type *type, rc_site *site);
RC_API void *rc_new_var_at(const rc_type *type, size_t extra, rc_site *site);

/* With gcc and clang, rc_malloc, rc_calloc, rc_realloc, rc_aligned_alloc,
 * rc_new and rc_new_var are macros that pass the call site. Define
 * RC_NO_SITE_MACROS before including this header to call the plain
 * functions (they then record the return address). (rc_malloc)(n) and
 * &rc_malloc still name the functions. */
#if defined(__GNUC__) && !defined(RC_NO_SITE_MACROS)
#define RC_SITE                                                              \
    (__extension__({                                                         \
        static rc_site rc_site_ = {__FILE__, __func__, __LINE__, 0};         \
        &rc_site_;                                                           \
    }))
#define rc_malloc(size) rc_malloc_at((size), RC_SITE)
#define rc_calloc(count, size) rc_calloc_at((count), (size), RC_SITE)
#define rc_realloc(p, size) rc_realloc_at((p), (size), RC_SITE)
#define rc_aligned_alloc(alignment, size) rc_aligned_alloc_at((alignment), (size), RC_SITE)
#define rc_new(type) rc_new_at((type), RC_SITE)
#define rc_new_var(type, extra) rc_new_var_at((type), (extra), RC_SITE)
#endif

/* ---- snapshots ---------------------------------------------------------- */

/* A snapshot of the traced blocks: for each distinct traceback, the size
 * and count of the blocks allocated there and alive at the time, with the
 * frames resolved (tracemalloc.take_snapshot). Not an rc object: freed
 * with rc_snapshot_free. */
typedef struct rc_snapshot rc_snapshot;

/* How statistics group the traces (tracemalloc's key_type): the innermost
 * frame's file and line, its file, its function, or the whole traceback. */
typedef enum rc_trace_key { RC_BY_LINE, RC_BY_FILE, RC_BY_FUNCTION, RC_BY_TRACEBACK } rc_trace_key;

/* One row of statistics (tracemalloc.Statistic / StatisticDiff). frames
 * lives in the returned array (its strings in the snapshot): the whole
 * traceback for RC_BY_TRACEBACK, else the one frame, with line 0 for
 * RC_BY_FILE and RC_BY_FUNCTION;
 * the _diff fields are set by rc_snapshot_compare (new minus old). */
typedef struct rc_trace_stat {
    const rc_frame *frames;
    unsigned nframes;
    size_t size;
    size_t count;
    int64_t size_diff;
    int64_t count_diff;
} rc_trace_stat;

/* A new snapshot of the traces now; NULL with rc_last_error set when not
 * tracing or out of memory. */
RC_API rc_snapshot *rc_snapshot_take(void);
RC_API void rc_snapshot_free(rc_snapshot *snap); /* NULL is fine */
/* Statistics grouped by key, biggest size first (then count, then
 * frames): a new array of n rows in *out, freed with rc_free (the frames'
 * strings belong to the snapshot). Returns n, or -1 with rc_last_error
 * set. */
RC_API int64_t rc_snapshot_statistics(const rc_snapshot *snap, rc_trace_key key, rc_trace_stat **out);
/* The same rows for new against old (tracemalloc's compare_to): each
 * group of either snapshot, with new's size and count and the
 * differences, sorted by the absolute size difference, then size. */
RC_API int64_t rc_snapshot_compare(const rc_snapshot *new_snap, const rc_snapshot *old_snap, rc_trace_key key,
                                   rc_trace_stat **out);
/* A new snapshot keeping only the traces whose innermost frame's file
 * matches pattern (fnmatch), or only those that do not (include false),
 * as tracemalloc.Filter; pattern NULL: an error. */
RC_API rc_snapshot *rc_snapshot_filter(const rc_snapshot *snap, const char *pattern, bool include);
/* Bytes and blocks traced in the snapshot, and the tracer's current and
 * peak figures when it was taken. Any pointer may be NULL. */
RC_API void rc_snapshot_totals(const rc_snapshot *snap, size_t *size, size_t *count, size_t *traced_peak);
/* Write the snapshot to path in reclaim's snapshot format (docs/
 * profiling.md: versioned text, a frame table, a traceback table and one
 * line per traceback, never one per block; written beside path and
 * renamed into place, so a reader never sees half a file); load one back.
 * Returns 0 /
 * the snapshot, or -1 / NULL with rc_last_error naming the problem (the
 * path, the line of a malformed file). */
RC_API int rc_snapshot_dump(const rc_snapshot *snap, const char *path);
RC_API rc_snapshot *rc_snapshot_load(const char *path);

/* ====================================================================
 * 8. Object graphs and leak checks (objgraph)
 *
 * objgraph's questions about the live objects, answered exactly: how many
 * of each type and how many bytes, which types grew, who holds an object
 * and why it is still alive, which objects nothing in the heap holds, and
 * pictures of the references (Graphviz). Every query sees the calling
 * thread's world plus the orphan world of exited threads, as rc_gc_collect
 * does (hold no orphaned object in use on another thread meanwhile), and
 * never runs a collection. The first call starts per-type counters, kept
 * by hooks on every object's creation and release from then on (rc_new
 * takes its hooked path while they run), so that counts cost a table read;
 * the graph queries build a reference index once per call from the
 * types' traverse. Pointers handed out are borrowed (valid while the
 * objects live); arrays handed out are the caller's, freed with rc_free.
 * Design and a worked example: docs/objgraph.md.
 * ==================================================================== */

/* One row per type name (types of one name count together). */
typedef struct rc_objgraph_row {
    const char *name;  /* the type's name ("?" for NULL), borrowed from the
                          rc_type (types outlive their objects) */
    size_t count;      /* live objects */
    size_t bytes;      /* their rc_sizeof total */
    int64_t delta;     /* rc_objgraph_growth: rise over the previous peak;
                          0 elsewhere */
} rc_objgraph_row;

/* The n types with most live objects (n == 0: every type with one), most
 * first, ties by name (objgraph.most_common_types): a new array of rows in
 * *out (NULL when there are none). Returns the number of rows, or -1 with
 * rc_last_error set (NULL out, no memory). */
RC_API int64_t rc_objgraph_most_common_types(size_t n, rc_objgraph_row **out);
/* Print those rows as objgraph.show_most_common_types does, one line
 * "name count" each, names padded to one width: to out, or through the
 * library's message path (rc_set_message_handler; stderr by default)
 * when out is NULL. Returns 0, or -1 with rc_last_error set. */
RC_API int rc_objgraph_show_most_common_types(size_t n, FILE *out);
/* Live objects of the types named name, and their bytes (either pointer
 * may be NULL). Returns 0; -1 with rc_last_error set for a NULL name or a
 * name no object has had since counting started ("unknown type"). */
RC_API int rc_objgraph_type_stats(const char *name, size_t *count, size_t *bytes);
/* Live objects of the types named name (objgraph.count): >= 0, or -1 as
 * rc_objgraph_type_stats fails. */
RC_API int64_t rc_objgraph_count(const char *name);
/* Visit each live object of the types named name (objgraph.by_type), each
 * held by a reference for the walk (fn may release others); fn NULL:
 * count only. Stops at fn's first nonzero return. Returns the number a
 * complete walk visits, or -1 as rc_objgraph_count fails (or no memory). */
RC_API int64_t rc_objgraph_by_type(const char *name, rc_visit_fn fn, void *arg);
/* The types whose live count rose above their peak at the previous call
 * of rc_objgraph_growth or rc_objgraph_show_growth on this thread (the
 * first call: every live type), as objgraph.growth: rows with count and
 * delta (count minus that peak), biggest delta first, ties by name, at
 * most limit (0: all); the peaks become the counts now. New array in *out
 * (NULL when nothing grew). Returns the number of rows, or -1 with
 * rc_last_error set. */
RC_API int64_t rc_objgraph_growth(size_t limit, rc_objgraph_row **out);
/* rc_objgraph_growth printed as objgraph.show_growth does, one line
 * "name  count  +delta" each (printf "%-*s%9zu %+9lld"), to out or, when
 * out is NULL, through the message path. Returns 0, or -1. */
RC_API int rc_objgraph_show_growth(size_t limit, FILE *out);

/* References to obj from outside the heap: its reference count minus the
 * references every object of the two worlds holds to it (through the
 * types' traverse: the collector's gc_refs arithmetic, untracked objects
 * with traverse included). A local variable's reference counts here; so
 * does an rc_incref that was never matched by its rc_decref. 0 for an
 * immortal object. -1 with rc_last_error set for NULL, or for what is no
 * live object of the calling thread's world or the orphan world. */
RC_API int64_t rc_objgraph_external_refs(const void *obj);
/* The live objects that no object of the two worlds refers to (held only
 * from C, or leaked; objgraph.get_leaking_objects), immortal objects left
 * out, in heap order: a new array of borrowed pointers in *out (NULL when
 * there are none). Returns how many, or -1 with rc_last_error set. */
RC_API int64_t rc_objgraph_get_leaking_objects(void ***out);
/* Why is obj alive? The shortest chain of references from a root to obj
 * (objgraph.find_backref_chain), found breadth first over the referrers:
 * a root is an object held from outside the heap (rc_objgraph_external_refs
 * > 0, which includes every object no object refers to); obj itself is
 * taken as a root only when no object refers to it (the caller's own
 * reference, if any, is not the answer sought). *chain gets a new array
 * [root, ..., obj] of borrowed pointers, where each refers to the next.
 * Returns its length (1 when obj is the root); 0 and *chain NULL when no
 * root lies within max_depth references (e.g. obj is kept only by a cycle
 * of garbage); -1 with rc_last_error set for a NULL obj or chain, an obj
 * that is no live object of the two worlds, max_depth 0, or no memory. */
RC_API int64_t rc_objgraph_find_backref_chain(void *obj, size_t max_depth, void ***chain);
/* The shortest chain of references from obj to an object for which
 * pred(object, arg) returns 1 (obj itself included; objgraph.find_ref_chain),
 * breadth first over the referents, at most max_depth references long:
 * *chain gets [obj, ..., match]. Returns its length, 0 (and *chain NULL)
 * when none matches, -1 with rc_last_error set as above, for a NULL pred,
 * or when pred returns -1 (its own message is kept). */
RC_API int64_t rc_objgraph_find_ref_chain(void *obj, rc_pred_fn pred, void *arg, size_t max_depth, void ***chain);
/* Write a Graphviz picture of what the n objects in objs refer to
 * (show_refs), or of what refers to them (show_backrefs), up to max_depth
 * references away (>= 1): one node per object labelled with its type name
 * and its rc_repr (cut at 60 code points), edges labelled with the field
 * name when the type has field_name (section 2; lists, tuples and dicts
 * name theirs "[3]", "['key']", "key"), the objects in objs
 * highlighted (filled red), roots of a backrefs picture (held from outside
 * the heap) drawn with a double border. path ending in ".svg" or ".png":
 * the DOT text goes to path with that suffix replaced by ".dot", then
 * Graphviz's dot renders path from it, as objgraph does; any other path
 * gets the DOT text itself. Returns 0, or -1 with rc_last_error set: NULL
 * or empty objs, an object that is not live in the two worlds, max_depth
 * 0, NULL path, a path that cannot be written (naming it), or dot missing
 * ("Graphviz's dot is not installed") or failing (the .dot stays). */
RC_API int rc_objgraph_show_refs(void *const *objs, size_t n, size_t max_depth, const char *path);
RC_API int rc_objgraph_show_backrefs(void *const *objs, size_t n, size_t max_depth, const char *path);

/* Leak checks for unit tests: rc_leakcheck_begin starts remembering the
 * objects this thread creates; rc_leakcheck_end runs a full collection
 * (cyclic garbage is not a leak), reports the ones still alive through the
 * message path (grouped by type and allocation site, with their references
 * from outside the heap), stops, and returns how many there are (0: the
 * block left nothing behind). begin returns 0, or -1 when a check is
 * already running on this thread or out of memory; end returns -1 when no
 * check runs (or its memory ran out: the count would be wrong). */
RC_API int rc_leakcheck_begin(void);
RC_API int64_t rc_leakcheck_end(void);

/* RECLAIM_LEAKCHECK=1 at exit (rc_shutdown, after its final collection):
 * the objects still alive, grouped by type and allocation site (with
 * RECLAIM_TRACEMALLOC), with their references from outside the heap, the
 * cycles they keep alive and the garbage list; =error also makes the exit
 * status 1 when anything is alive (see docs/objgraph.md). */

/* ====================================================================
 * 9. Heap dumps
 * ==================================================================== */

/* A heap dump: every object of the calling thread's world and of the
 * orphan world (objects of threads that have exited), written to a file
 * for later analysis, as a browser's heap snapshot is. The format, the
 * analyses and the `reclaim heap` commands are described in
 * docs/heapdump.md. */

/* Write every object (address, type, size, refcount, referents, state
 * bits, and the innermost frame of its allocation site while tracing is
 * on) to path, in reclaim's heap-dump format (versioned text, one line per
 * object, types and sites as numbered tables). Written beside path and
 * renamed into place: a reader never sees half a file. Walks the heap
 * without recursion and allocates only for the type and site tables (and a
 * copy of the garbage list). Must not run from inside a traverse function.
 * Returns 0, or -1 with rc_last_error naming the problem (path NULL, a
 * file that cannot be written, no memory). */
RC_API int rc_heap_dump(const char *path);

/* A loaded heap dump with its analyses. Not an rc object: freed with
 * rc_heapdump_free. Objects are numbered 0..count-1 in file order; every
 * index below is one of those numbers. */
typedef struct rc_heapdump rc_heapdump;

/* State bits of a dumped object (rc_heapdump_object.flags). The first six
 * come from the file; ROOT and UNREACHABLE are computed by the loader. */
#define RC_HEAPDUMP_TRACKED 0x01u     /* tracked by the cycle collector */
#define RC_HEAPDUMP_FROZEN 0x02u      /* in the permanent generation (rc_gc_freeze) */
#define RC_HEAPDUMP_FINALIZED 0x04u   /* its finalize has run */
#define RC_HEAPDUMP_GARBAGE 0x08u     /* in the garbage list (RC_GC_DEBUG_SAVEALL) */
#define RC_HEAPDUMP_ORPHAN 0x10u      /* of the orphan world */
#define RC_HEAPDUMP_IMMORTAL 0x20u    /* rc_immortalize'd */
#define RC_HEAPDUMP_ROOT 0x100u       /* held from outside the heap: external > 0, or immortal */
#define RC_HEAPDUMP_UNREACHABLE 0x200u /* not reachable from any root */

/* One object of a dump. The pointers live as long as the dump. */
typedef struct rc_heapdump_object {
    uint64_t address;        /* the object pointer in the dumped process */
    const char *type;        /* its type's name */
    uint32_t type_index;     /* 0..rc_heapdump_type_count-1 */
    uint64_t size;           /* rc_sizeof */
    uint64_t refcount;       /* rc_refcount when dumped */
    uint64_t external;       /* refcount minus references from dumped objects (0 when negative) */
    unsigned flags;          /* RC_HEAPDUMP_* */
    const rc_frame *site;    /* innermost allocation frame, NULL when untraced */
    const uint32_t *refs;    /* the objects it references (dumped ones only), in traverse order */
    size_t nrefs;
} rc_heapdump_object;

/* Load a dump written by rc_heap_dump. NULL with rc_last_error naming the
 * file and the problem: cannot be opened, not a heap dump, an unknown
 * version, a malformed or truncated file (with the line), no memory.
 * References to objects that are not in the dump (static objects, other
 * threads' objects) are dropped and counted (rc_heapdump_totals). */
RC_API rc_heapdump *rc_heapdump_load(const char *path);
RC_API void rc_heapdump_free(rc_heapdump *d); /* NULL is fine */

/* Number of objects and of types; totals: bytes in objects, references
 * between dumped objects, references to objects outside the dump. Any
 * pointer may be NULL. */
RC_API size_t rc_heapdump_count(const rc_heapdump *d);
RC_API size_t rc_heapdump_type_count(const rc_heapdump *d);
RC_API const char *rc_heapdump_type_name(const rc_heapdump *d, size_t type_index); /* NULL when out of range */
RC_API void rc_heapdump_totals(const rc_heapdump *d, uint64_t *bytes, uint64_t *refs, uint64_t *outside_refs);
/* Object i in *out; -1 with rc_last_error set when i is out of range. */
RC_API int rc_heapdump_object_at(const rc_heapdump *d, size_t i, rc_heapdump_object *out);
/* The index of the object at address, or -1 (rc_last_error set) when no
 * dumped object starts there. */
RC_API int64_t rc_heapdump_find(const rc_heapdump *d, uint64_t address);
/* The objects that reference object i (each once per reference), in *out
 * (borrowed from the dump); returns how many, or -1 with rc_last_error. */
RC_API int64_t rc_heapdump_referrers(rc_heapdump *d, size_t i, const uint32_t **out);

/* The dominator tree, computed on first use (iteratively: Cooper, Harvey
 * and Kennedy's algorithm over a super-root whose children are the roots,
 * then each object no root reaches, in file order, when nothing attached
 * before reaches it). Returns 0, or -1 with rc_last_error (no memory). */
RC_API int rc_heapdump_dominators(rc_heapdump *d);
/* The immediate dominator of object i: an object index, -1 for the
 * super-root, -2 with rc_last_error set for a bad i or no memory. */
RC_API int64_t rc_heapdump_idom(rc_heapdump *d, size_t i);
/* Bytes that would be freed with object i: its size plus the sizes of the
 * objects it dominates. 0 with rc_last_error set for a bad i. */
RC_API uint64_t rc_heapdump_retained(rc_heapdump *d, size_t i);

/* Per-type figures. retained: bytes retained by the type's objects as a
 * set (each object whose dominator chain holds no other object of the
 * type counts its retained size). The _diff fields are set by
 * rc_heapdump_compare (new minus old). */
typedef struct rc_heapdump_type_stat {
    const char *type; /* in the dump (for compare: in new, else in old) */
    uint64_t count, bytes, retained;
    int64_t count_diff, bytes_diff;
} rc_heapdump_type_stat;

/* Per-type rows, most objects first (then bytes, then name): a new array
 * of n rows in *out, freed with rc_free. Computes the dominators. Returns
 * n, or -1 with rc_last_error set. */
RC_API int64_t rc_heapdump_type_stats(rc_heapdump *d, rc_heapdump_type_stat **out);
/* Types of either dump matched by name, with new's count and bytes
 * (retained 0) and the differences, biggest absolute byte change first
 * (then count change, then name); types with no change are left out.
 * Returns n, or -1 with rc_last_error set. */
RC_API int64_t rc_heapdump_compare(const rc_heapdump *new_dump, const rc_heapdump *old_dump,
                                   rc_heapdump_type_stat **out);

/* Why is object i alive: the shortest chain of references from a root to
 * it, root first, i last, as a new array of n indices in *out (freed with
 * rc_free). When no root reaches i (garbage kept by a cycle), the chain
 * starts at the unreachable object the dominator tree attached. Returns n
 * (>= 1), or -1 with rc_last_error set. */
RC_API int64_t rc_heapdump_chain(rc_heapdump *d, size_t i, uint32_t **out);

/* ====================================================================
 * 10. Memory over time (memory_profiler / mprof)
 *
 * `reclaim mprof run -- CMD` samples the resident memory of CMD and its
 * children and passes it a channel (RECLAIM_MPROF_FD); a process linked
 * with reclaim then sends its heap figures (with its live objects), a
 * marker per collection and the markers of the scopes below, which land
 * in the same data file on the same clock (docs/mprof.md). Without the channel every call here
 * does nothing, cheaply. Records are sent without blocking and without
 * allocating, from any thread; when the sampler cannot keep up they are
 * dropped and counted.
 * ==================================================================== */

/* 1 when this process reports to `reclaim mprof run`, else 0. Set once,
 * before main, by the library; read by RC_PROFILE_SCOPE; never write it. */
RC_API extern int rc_profile_active;

/* True while the channel is open (false also once the sampler went away). */
RC_API bool rc_profile_is_active(void);

/* Mark the beginning of a scope named name (NULL or "": "?"; the first
 * 120 bytes are sent, control characters as '?'; name is not kept).
 * Returns a token for rc_profile_scope_end, or 0 when not under mprof.
 * Scopes may nest and may run on several threads at once. */
RC_API uint64_t rc_profile_scope_begin(const char *name);
/* Mark the end of the scope token began. 0 is ignored. */
RC_API void rc_profile_scope_end(uint64_t token);

/* RC_PROFILE_SCOPE("name"); marks the rest of the enclosing block as the
 * scope "name": its end is marked when the block is left by return,
 * break, goto or its closing brace (not by longjmp or exit), through GNU
 * C's __attribute__((cleanup)), so gcc or clang is needed (other
 * compilers: call rc_profile_scope_begin / _end). It is a declaration, so
 * it cannot directly follow a label. Not under mprof, it costs one
 * predicted branch at each end. */
#if defined(__GNUC__)
static inline void rc_profile_scope_cleanup_(uint64_t *token) {
    if (__builtin_expect(*token != 0, 0)) rc_profile_scope_end(*token);
}
#define RC_PROFILE_CAT_(a, b) a##b
#define RC_PROFILE_CAT(a, b) RC_PROFILE_CAT_(a, b)
#define RC_PROFILE_SCOPE(name)                                                                     \
    __attribute__((cleanup(rc_profile_scope_cleanup_), unused)) uint64_t RC_PROFILE_CAT(          \
        rc_profile_scope_, __COUNTER__) = __builtin_expect(rc_profile_active, 0) ? rc_profile_scope_begin(name) : 0u
#endif

/* Memory by source line (memory_profiler's @profile): RC_PROFILE_FUNCTION();
 * as the first statement of a function prints, when the function returns,
 * a table of every line of the function with the heap's bytes in use
 * after the line's last allocator call, the line's increment (bytes
 * allocated minus bytes freed while it ran, callees included) and its
 * occurrences (allocator calls made while it ran), read from the source
 * file (docs/mprof.md, section 7). The table goes through the message
 * path (stderr, or rc_set_message_handler's handler, one line a message)
 * or is appended to the file RECLAIM_PROFILE_OUT names. Allocations of
 * the calling thread only. The function's file needs -g (line numbers,
 * with libdw) and frame pointers (-fno-omit-frame-pointer), as do the
 * callees whose allocations should land on the calling line. While any
 * profiled function runs, every allocation in the process takes the
 * hooked path; each of the thread's costs a frame-pointer walk. */

/* Begin profiling the function function (kept, not copied: a string
 * literal such as __func__), defined in file (kept; the source read for
 * the table) whose first statement is at line, running with frame
 * address frame (__builtin_frame_address(0) inside it; NULL: only the
 * allocations it makes itself, calling the allocator directly, are
 * placed on lines). Returns a token for rc_profile_function_end, or 0
 * with rc_last_error set (function or file NULL or empty, 32 profiled
 * functions already active on the thread, out of memory). Nests. */
RC_API unsigned rc_profile_function_begin(const char *function, const char *file, unsigned line, void *frame);
/* End the profile token began, on the thread that began it, and print its
 * table; profiles begun after it and still active (left by longjmp) end
 * first. 0 is ignored; an unknown token sets rc_last_error. */
RC_API void rc_profile_function_end(unsigned token);

#if defined(__GNUC__)
static inline void rc_profile_function_cleanup_(unsigned *token) { rc_profile_function_end(*token); }
/* A declaration (gcc, clang): the table is printed when the enclosing
 * block is left by return or its closing brace (not by longjmp or exit). */
#define RC_PROFILE_FUNCTION()                                                                      \
    __attribute__((cleanup(rc_profile_function_cleanup_), unused)) unsigned rc_profile_function_ = \
        rc_profile_function_begin(__func__, __FILE__, __LINE__, __builtin_frame_address(0))
#endif

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
