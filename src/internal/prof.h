/*
 * src/internal/prof.h — the internal interface of src/prof: the tracer
 * (trace.c: the hooks, tracebacks, sampling, the traced total, start and
 * stop), where it keeps each block's trace (traceblocks.c: the side
 * tables and the address tables), and what the snapshots (snapshot.c)
 * read from them. The design essay is docs/profiling.md.
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

/* ---- trace.c: the thread state and the traced total --------------------- */

/* Per thread, owned by trace.c; traceblocks.c's address tables count in
 * it (under their shard's lock). Only its own thread reads or writes it.
 * Between two counts: pend <= pend_max and -RC_TRACE_PUBLISH_BYTES < pend
 * < RC_TRACE_PUBLISH_BYTES (a count that reaches either bound publishes,
 * which zeroes both). Initial-exec TLS: the drop-in library is loaded at
 * start-up, and a hook must not call __tls_get_addr. */
typedef struct rc_trace_thread {
    unsigned suspended;      /* > 0: the hooks ignore this thread */
    int64_t saved_countdown; /* _rc_sample_countdown while suspended */
    int64_t until_floor;     /* _rc_sample_floor when it was drawn */
    uint64_t rng_state;
    uintptr_t stack_lo, stack_hi;
    int64_t pend, pend_max;  /* traced bytes not yet in the shared total (see _rc_trace_publish) */
    uint64_t pend_epoch;     /* the epoch they were counted in */
    uint8_t mark_tag;        /* the marks of pend_epoch, less their delta:
                                _rc_tb_mark(pend_epoch, 0), set with it */
    bool publishes_at_exit;  /* the thread-exit key set */
} rc_trace_thread;
#define RC_TRACE_TLS __thread __attribute__((tls_model("initial-exec")))
RC_INTERNAL extern RC_TRACE_TLS rc_trace_thread _rc_trace_tl;

/* The tracer's epoch: raised by every stop and in a fork's child, under
 * trace.c's locks; never 0. Traceback ids, side-table marks and a
 * thread's pending counts belong to the epoch they were made in. */
RC_INTERNAL extern _Atomic(uint64_t) _rc_trace_epoch;

/* Is the tracer on (exact or sampled)? A hook re-checks it under the lock
 * it takes, so that nothing is added after rc_trace_stop's clear. */
static inline bool _rc_trace_tracing(void) {
    return (atomic_load_explicit(&_rc_trace_on, memory_order_relaxed) & RC_HOOK_TRACE) != 0;
}

/* The traced total: each thread counts in _rc_trace_tl.pend and publishes
 * (adds it to the shared total) when it moves by RC_TRACE_PUBLISH_BYTES
 * (the essay is in trace.c). */
#define RC_TRACE_PUBLISH_BYTES ((int64_t)64 << 10)
RC_INTERNAL RC_NOINLINE void _rc_trace_publish(void);

static inline void _rc_trace_count_add(size_t size, uint64_t ep) {
    if (RC_UNLIKELY(_rc_trace_tl.pend_epoch != ep)) _rc_trace_publish(); /* drops an older epoch's counts */
    _rc_trace_tl.pend += (int64_t)size;
    if (_rc_trace_tl.pend > _rc_trace_tl.pend_max) {
        _rc_trace_tl.pend_max = _rc_trace_tl.pend;
        if (RC_UNLIKELY(_rc_trace_tl.pend >= RC_TRACE_PUBLISH_BYTES)) _rc_trace_publish();
    }
}

static inline void _rc_trace_count_sub(size_t size, uint64_t ep) {
    if (RC_UNLIKELY(_rc_trace_tl.pend_epoch != ep)) _rc_trace_publish();
    _rc_trace_tl.pend -= (int64_t)size;
    if (RC_UNLIKELY(_rc_trace_tl.pend <= -RC_TRACE_PUBLISH_BYTES)) _rc_trace_publish();
}

/* ---- traceblocks.c: where each traced block's trace is kept -------------- */

/* A small block's mark in its pool's side table: RC_TB_MARK_ON |
 * (epoch & 3) << 5 | delta, where the block is of its class's size -
 * delta bytes (delta RC_TB_MARK_ELSEWHERE: traced in the address tables
 * instead). 0, or a mark of an older epoch: not traced. Written by the
 * allocating thread's hook, cleared by the freeing thread's hook and by
 * rc_trace_stop. */
#define RC_TB_MARK_ON 0x80u
#define RC_TB_MARK_ELSEWHERE 31u

static inline uint8_t _rc_tb_mark(uint64_t ep, uint32_t delta) {
    return (uint8_t)(RC_TB_MARK_ON | (ep & 3) << 5 | delta);
}
static inline bool _rc_tb_mark_valid(uint8_t m, uint64_t ep) {
    return (m & RC_TB_MARK_ON) && ((m >> 5) & 3) == (ep & 3);
}

/* A side-table word (rc_arena.side[i], and its copy in the directory):
 * the table's address, tagged above RC_SIDE_TAG_SHIFT with the class it
 * was made for; 0: no table. The table: ids[blocks of the class] (the
 * traceback ids), then marks[blocks of the class]. */
static inline _Atomic(uint32_t) *_rc_tb_ids(uintptr_t v) {
    return (_Atomic(uint32_t) *)(v & (((uintptr_t)1 << RC_SIDE_TAG_SHIFT) - 1));
}
static inline unsigned _rc_tb_class(uintptr_t v) { return (unsigned)(v >> RC_SIDE_TAG_SHIFT); }
static inline _Atomic(uint8_t) *_rc_tb_marks(uintptr_t v) {
    return (_Atomic(uint8_t) *)(_rc_tb_ids(v) + _rc_class_blocks[_rc_tb_class(v)]);
}

/* The directory: the side words of one GiB of address space per leaf
 * (_rc_tb_dir[a >> RC_TB_DIR_SHIFT], NULL until a table is made there;
 * a leaf is never freed). Each word equals its arena header's word
 * whenever a hook reads it (both written together: by _rc_tb_side_make
 * under traceblocks.c's spare lock, by _rc_tb_side_release under the
 * heap's arena lock). */
#define RC_TB_DIR_SHIFT 30
#define RC_TB_DIR_LEAF ((size_t)1 << (RC_TB_DIR_SHIFT - RC_POOL_SHIFT))
RC_INTERNAL extern _Atomic(_Atomic(uintptr_t) *) _rc_tb_dir[(size_t)1 << (RC_ADDRESS_BITS - RC_TB_DIR_SHIFT)];

static inline _Atomic(uintptr_t) *_rc_tb_dir_slot(_Atomic(uintptr_t) *leaf, uintptr_t key) {
    return &leaf[(key >> RC_POOL_SHIFT) & (RC_TB_DIR_LEAF - 1)];
}

/* The side word of key's pool: 0 when it has no table, and for any
 * address in no arena (the heap's hook clears the words of an arena's
 * pools before it unmaps the arena), so no arena test is needed first. */
static inline uintptr_t _rc_tb_side_word(uintptr_t key) {
    if (RC_UNLIKELY(key >> RC_ADDRESS_BITS)) return 0;
    _Atomic(uintptr_t) *leaf = atomic_load_explicit(&_rc_tb_dir[key >> RC_TB_DIR_SHIFT], memory_order_acquire);
    return RC_LIKELY(leaf != NULL) ? atomic_load_explicit(_rc_tb_dir_slot(leaf, key), memory_order_acquire) : 0;
}
/* Block key's number in its pool of class cls (the heap's magic multiply). */
static inline uint32_t _rc_tb_block_index(uintptr_t key, unsigned cls) {
    return (uint32_t)(((unsigned __int128)(key & (RC_POOL_SIZE - 1)) * _rc_class_magic[cls]) >> 64);
}

/* Is key (in an arena) in a pool of a small class (its blocks are traced
 * in the side tables, but for those marked RC_TB_MARK_ELSEWHERE)? */
static inline bool _rc_tb_in_small_pool(uintptr_t key) {
    const rc_pool *pool = _rc_pool_desc(key);
    return pool->state == RC_POOL_USED && pool->cls < RC_SMALL_CLASSES;
}

/* Make the side table of key's pool (a pool of this thread's, of class
 * cls, just allocated from, with none yet): its word, 0 when out of
 * memory. Takes the spare lock. */
RC_INTERNAL RC_NOINLINE uintptr_t _rc_tb_side_make(uintptr_t key, unsigned cls);

/* The heap's side hook (_rc_arena_side_hook): pools first..first+n-1 of
 * arena a start a new span or are unmapped, arena lock held; their tables
 * go back for reuse. Takes no lock. */
RC_INTERNAL void _rc_tb_side_release(rc_arena *a, unsigned first, unsigned n);

/* rc_trace_stop: clear every mark of the pools in use. Takes the arena
 * lock. */
RC_INTERNAL void _rc_tb_side_clear(void);

/* Side-table traces of epoch ep summed by traceback id: by_id[id] for ids
 * 1..n (by_id[0..n], zeroed by the caller). Takes the arena lock. */
typedef struct rc_tb_sum {
    size_t size, count;
} rc_tb_sum;
RC_INTERNAL void _rc_tb_side_sum(rc_tb_sum *by_id, size_t n, uint64_t ep);

/* The address tables: (block address, size, count, traceback id) in 32
 * shards, each under its own lock. Add a trace for key (a block traced
 * twice: the newer trace wins), counting it in the calling thread's
 * total, when tracing (checked under the shard's lock); sampling: the
 * trace is a sampled one (it goes into the free path's filter). Nothing
 * when out of memory. */
RC_INTERNAL void _rc_tb_table_add(uintptr_t key, size_t size, uint32_t id, uint32_t count, bool sampling);
/* Remove key's trace, if any, and uncount it. */
RC_INTERNAL void _rc_tb_table_remove(uintptr_t key, bool sampling);
/* Empty every shard (each under its lock). */
RC_INTERNAL void _rc_tb_table_clear(void);
/* Take (and give back, in the reverse order) every shard's lock, in the
 * tracer's lock order (docs in trace.c). */
RC_INTERNAL void _rc_tb_table_lock(void);
RC_INTERNAL void _rc_tb_table_unlock(void);
/* Every trace in the address tables, all their locks held by the caller
 * (_rc_tb_table_lock): fn(size, count, traceback id, arg). */
RC_INTERNAL void _rc_tb_table_each(void (*fn)(size_t size, size_t count, uint32_t stack, void *arg), void *arg);

/* The traceback id of the block (or object header) key, 0 when untraced;
 * sampling: the tracer samples (every trace is in the address tables).
 * Only a block's own address finds its trace. */
RC_INTERNAL uint32_t _rc_tb_lookup(uintptr_t key, bool sampling);

/* Bytes of the address tables and the side tables (with the directory). */
RC_INTERNAL size_t _rc_tb_overhead(void);

/* Fork: the spare lock, taken last of the tracer's (after trace.c's
 * traceback lock); in the child, every lock of traceblocks.c made anew
 * and the address tables emptied. */
RC_INTERNAL void _rc_tb_spare_lock(void);
RC_INTERNAL void _rc_tb_spare_unlock(void);
RC_INTERNAL void _rc_tb_fork_child(void);

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
