/*
 * trace.c — the allocation tracer (Python's tracemalloc): which traceback
 * allocated each live block, how many bytes are traced now and at the
 * peak.
 *
 * Hooks. The heap's and the object layer's public entry points call
 * _rc_trace_alloc_hook / _rc_trace_free_hook while _rc_trace_on is set
 * (src/internal/heap.h): one relaxed load and a predicted branch when
 * tracing is off, nothing else. While sampling, rc_malloc and rc_free
 * skip the hooks themselves for the blocks that are not sampled (the
 * countdown below and traceblocks.c's filter, which they read). The common cases
 * (exact tracing with one frame; sampling) run in the hooks without a
 * frame of their own; everything else goes to the general paths.
 *
 * Tracebacks. Frame 0 is the call site (an rc_site, passed by the
 * RC_SITE macros of reclaim.h: __FILE__, __LINE__, __func__, no
 * unwinding) or, for a caller that did not use the macros, the entry
 * point's return address. Frames 1.. (nframes > 1) are return addresses
 * found by walking the frame-pointer chain from the hook's own frame up to
 * the caller's, then beyond; every frame pointer is checked against the
 * thread's stack bounds before it is read, so code built without frame
 * pointers ends the walk instead of crashing it. Nothing is symbolized
 * here: snapshot.c resolves addresses when a snapshot is taken.
 *
 * Identical tracebacks are stored once, in the traceback table: an id per
 * distinct frame sequence, found through a hash table under one lock. The
 * common case never takes that lock: each thread keeps a small
 * direct-mapped cache from a traceback's hash to its id (verified against
 * the stored frames, which never move or change once stored).
 *
 * Where the traces live is traceblocks.c's concern (its essay tells the
 * why): a small block's trace in a side table of its pool (a traceback id
 * and a one-byte mark, indexed by the block's number in the pool), every
 * other trace (medium and large blocks, and every sampled trace, which
 * stands for many blocks) in 32 address-keyed hash tables, each under its
 * own lock. The hooks' fast paths read and write the side tables inline
 * (src/internal/prof.h), without a lock: a block is allocated and freed
 * by one thread at a time, and the heap orders a remote free before the
 * owner's reuse. Everything else there is a call. The traced total and
 * its peak are counted per thread and published every 64 KiB (see that
 * section); the address tables count in the same thread state.
 *
 * Start, stop. rc_trace_stop clears its bit of _rc_trace_on first, then
 * empties every table under its lock; a hook re-checks the flag under the
 * lock it takes, so nothing is added after the clear (a mark written by
 * a hook in flight carries the old epoch and reads as clear).
 * Table memory is kept for the next start, never freed while a hook might
 * read it; the epoch number also makes the per-thread caches forget the
 * old traceback ids.
 *
 * Fork. The first start registers fork handlers that take every tracer
 * lock around fork; the child keeps tracing with none of the parent's
 * traces (a new epoch makes every mark read as clear; tracefile.c names
 * its snapshot file after its pid).
 *
 * Lock order: control_lock, the 32 shard locks (traceblocks.c's),
 * stacks_lock, spare_lock (traceblocks.c's), then the heap's arena lock
 * (the fork handlers take them in that order: the tracer's registered
 * last, so they run first). The hooks take at most one of them at a time;
 * they allocate (the traceback table) holding stacks_lock only, and map
 * side-table chunks from the OS holding spare_lock only. The heap calls
 * _rc_tb_side_release under its arena lock: it takes no lock.
 *
 * The tracer's own memory comes from the heap (as everything's does), with
 * tracing suspended on the allocating thread, so it never traces itself.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal/object.h"
#include "internal/prof.h"
#include "internal/prof_symbols.h"
#include "internal/runtime.h"

#define CACHE_SLOTS 256

/* A stored traceback: frames[n], immutable once published. */
typedef struct stack_rec {
    uint64_t hash;
    unsigned n;
    rc_tframe frames[];
} stack_rec;



/* The traceback table, under stacks_lock. ids run from 1; by_id[id] is the
 * record; index is an open-addressing table of ids by hash. Records live
 * in chunks that are never freed or moved (a reader outside the lock may
 * look at one while the table is cleared: it then reads stale frames,
 * fails its check and takes the lock). */
static pthread_mutex_t stacks_lock = PTHREAD_MUTEX_INITIALIZER;
static stack_rec **by_id;
static size_t nstacks, by_id_cap;
static uint32_t *index_slots;
static size_t index_cap;
/* Chunks: 64 KiB blocks in a list (first word: the next chunk), used in
 * order; after a stop they are filled again from the first. CHUNK_SLACK
 * bytes at each end keep a stale reader's bounded compare inside. */
#define CHUNK_SIZE 65536
#define CHUNK_SLACK (RC_TRACE_MAX_FRAMES * sizeof(rc_tframe))
static char *chunks_first, *chunk_cur;    /* the list; the chunk in use */
static char *chunk, *chunk_end;           /* free space in chunk_cur */
static size_t chunk_bytes;                /* all chunks, for the overhead */

static _Atomic(unsigned) nframes_now = 1;
static _Atomic(size_t) sample_mean; /* 0: every block; else the mean bytes between samples */

_Atomic(uint64_t) _rc_trace_epoch = 1;
/* epoch while tracing exactly with one frame, else 0: the one word the
 * hooks' fast paths test for their mode, their frame count and the epoch
 * of the thread's caches at once (no cache slot holds epoch 0). Set under
 * control_lock by start and stop, and by the fork child. */
static _Atomic(uint64_t) fast_epoch;
static _Atomic(size_t) traced_now, traced_peak;
static pthread_mutex_t control_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct cache_slot {
    uint64_t hash, epoch;
    stack_rec *rec;
    uint32_t id;
} cache_slot;

/* The thread's state (src/internal/prof.h), under its short name here. */
RC_TRACE_TLS rc_trace_thread _rc_trace_tl;
#define tl _rc_trace_tl
static RC_TRACE_TLS cache_slot cache[CACHE_SLOTS];

/* The thread's countdown to its next sample is _rc_sample_countdown
 * (src/internal/heap.h: rc_malloc takes it down itself). Allocations
 * while suspended do not count: the outermost suspension keeps it and
 * gives it back. */
static inline void suspend(void) {
    if (tl.suspended++ == 0) tl.saved_countdown = _rc_sample_countdown;
}
static inline void resume(void) {
    if (--tl.suspended == 0) _rc_sample_countdown = tl.saved_countdown;
}
void _rc_trace_suspend(void) { suspend(); }
void _rc_trace_resume(void) { resume(); }

/* {==== tracebacks ==== */

static uint64_t hash_frames(const rc_tframe *f, unsigned n) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    for (unsigned i = 0; i < n; i++) h = (h ^ f[i]) * 0xff51afd7ed558ccdull + (h >> 29);
    h ^= h >> 32;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    return h ? h : 1;
}

/* This thread's stack, for checking frame pointers before they are read. */
static void stack_bounds(void) {
    pthread_attr_t attr;
    void *addr;
    size_t size;
    tl.stack_hi = 1; /* tried: do not ask again */
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
        tl.stack_lo = (uintptr_t)addr;
        tl.stack_hi = (uintptr_t)addr + size;
    }
    pthread_attr_destroy(&attr);
}

static bool in_libc(uintptr_t ret);

/* Return addresses from the frame-pointer chain, starting at frame fp:
 * those after caller (which is frame 0, the entry point's return address)
 * go into out[0..max). Returns how many; *broken tells whether the chain
 * broke (a frame pointer outside the stack, or going down it) before max
 * frames, rather than ending where it should: at a zero frame pointer (the
 * outermost frame) or in the C library (whose start-up code, built
 * without frame pointers, is where a program's own chain runs out). */
static unsigned walk(uintptr_t fp, uintptr_t caller, rc_tframe *out, unsigned max, bool *broken) {
    if (!tl.stack_hi) stack_bounds();
    const uintptr_t lo = tl.stack_lo, hi = tl.stack_hi - 2 * sizeof(uintptr_t);
    *broken = true;
    /* up to the entry point's frame, found by its return address */
    for (unsigned depth = 0;; depth++) {
        if (fp < lo || fp > hi || (fp & 7) || depth >= 8) return 0; /* the entry point is never this far */
        const uintptr_t *frame = (const uintptr_t *)fp;
        uintptr_t next = frame[0];
        if (frame[1] == caller) {
            if (next <= fp) {
                *broken = next != 0;
                return 0;
            }
            fp = next;
            break;
        }
        if (next <= fp) return 0;
        fp = next;
    }
    /* then the frames beyond it */
    unsigned n = 0;
    while (n < max) {
        if (fp < lo || fp > hi || (fp & 7)) {
            *broken = n == 0 || !in_libc(out[n - 1]);
            return n;
        }
        const uintptr_t *frame = (const uintptr_t *)fp;
        uintptr_t next = frame[0];
        out[n++] = frame[1];
        if (next <= fp) {
            *broken = next != 0 && !in_libc(out[n - 1]);
            return n;
        }
        fp = next;
    }
    *broken = false;
    return n;
}

/* libunwind, loaded when tracing with more than one frame starts (never
 * from a hook: dlopen allocates and takes the loader's locks): its
 * unw_backtrace reads the unwind tables (.eh_frame) of code built without
 * frame pointers. Not linked: a program gets it only when it is installed
 * (Debian's libunwind8) and tracing asks for it. */
typedef int (*unw_backtrace_fn)(void **buffer, int size);
static _Atomic(unw_backtrace_fn) unwinder;
static _Atomic(int) unwind_mode; /* RC_TRACE_UNWIND_* */

static void unwinder_load(void) {
    void *lib = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return;
    unw_backtrace_fn fn;
    *(void **)&fn = dlsym(lib, "unw_backtrace");
    if (fn) atomic_store(&unwinder, fn);
}

/* The text of the C library, where a frame-pointer chain may end. */
static uintptr_t libc_lo, libc_hi;
static int libc_range(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size, (void)arg;
    uintptr_t probe = (uintptr_t)&abort;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (probe >= lo && probe < hi) {
            libc_lo = lo;
            libc_hi = hi;
            return 1;
        }
    }
    return 0;
}

static bool in_libc(uintptr_t ret) { return ret >= libc_lo && ret < libc_hi; }

/* Return addresses after caller from libunwind, into out[0..max). */
static unsigned unwind(unw_backtrace_fn fn, uintptr_t caller, rc_tframe *out, unsigned max) {
    void *buf[RC_TRACE_MAX_FRAMES + 24];
    int got = fn(buf, (int)(sizeof buf / sizeof buf[0]));
    int i = 0;
    while (i < got && (uintptr_t)buf[i] != caller) i++;
    unsigned n = 0;
    for (i++; i < got && n < max; i++) out[n++] = (uintptr_t)buf[i];
    return n;
}

static char *chunk_alloc(size_t bytes) {
    bytes = (bytes + 15) & ~(size_t)15; /* at most 8 + 8 + 8 * 64 bytes */
    while ((size_t)(chunk_end - chunk) < bytes) {
        char *next = chunk_cur ? *(char **)chunk_cur : chunks_first;
        if (!next) {
            next = rc_malloc(CHUNK_SIZE);
            if (!next) return NULL;
            *(char **)next = NULL;
            if (chunk_cur) *(char **)chunk_cur = next;
            else chunks_first = next;
            chunk_bytes += CHUNK_SIZE;
        }
        chunk_cur = next;
        chunk = next + 16;
        chunk_end = next + CHUNK_SIZE - CHUNK_SLACK;
    }
    char *p = chunk;
    chunk += bytes;
    return p;
}

static bool index_grow(void) {
    size_t cap = index_cap ? index_cap * 2 : 1024;
    uint32_t *slots = rc_calloc(cap, sizeof *slots);
    if (!slots) return false;
    for (size_t id = 1; id <= nstacks; id++) {
        size_t i = by_id[id]->hash & (cap - 1);
        while (slots[i]) i = (i + 1) & (cap - 1);
        slots[i] = (uint32_t)id;
    }
    rc_free(index_slots);
    index_slots = slots;
    index_cap = cap;
    return true;
}

/* The id of frames[0..n), stored if new; 0 when out of memory. Lock held. */
static uint32_t intern_locked(const rc_tframe *frames, unsigned n, uint64_t hash, stack_rec **rec_out) {
    if (index_cap) {
        for (size_t i = hash & (index_cap - 1); index_slots[i]; i = (i + 1) & (index_cap - 1)) {
            stack_rec *r = by_id[index_slots[i]];
            if (r->hash == hash && r->n == n && memcmp(r->frames, frames, n * sizeof *frames) == 0) {
                *rec_out = r;
                return index_slots[i];
            }
        }
    }
    if ((nstacks + 1) * 4 > index_cap * 3 && !index_grow()) return 0;
    if (nstacks + 1 >= by_id_cap) {
        size_t cap = by_id_cap ? by_id_cap * 2 : 1024;
        stack_rec **ids = rc_realloc(by_id, cap * sizeof *ids);
        if (!ids) return 0;
        by_id = ids;
        by_id_cap = cap;
    }
    stack_rec *r = (stack_rec *)chunk_alloc(sizeof *r + n * sizeof *frames);
    if (!r) return 0;
    r->hash = hash;
    r->n = n;
    memcpy(r->frames, frames, n * sizeof *frames);
    uint32_t id = (uint32_t)++nstacks;
    by_id[id] = r;
    size_t i = hash & (index_cap - 1);
    while (index_slots[i]) i = (i + 1) & (index_cap - 1);
    index_slots[i] = id;
    *rec_out = r;
    return id;
}

/* The id of a traceback, through this thread's cache. 0: no memory, or
 * tracing stopped meanwhile. */
static uint32_t stack_id(const rc_tframe *frames, unsigned n) {
    uint64_t hash = hash_frames(frames, n);
    uint64_t ep = atomic_load_explicit(&_rc_trace_epoch, memory_order_acquire);
    cache_slot *c = &cache[(hash >> 7) & (CACHE_SLOTS - 1)];
    if (c->hash == hash && c->epoch == ep && c->rec && c->rec->n == n &&
        (n == 1 ? c->rec->frames[0] == frames[0] : memcmp(c->rec->frames, frames, n * sizeof *frames) == 0))
        return c->id;
    suspend(); /* interning allocates */
    pthread_mutex_lock(&stacks_lock);
    stack_rec *rec = NULL;
    uint32_t id = 0;
    if (_rc_trace_tracing()) id = intern_locked(frames, n, hash, &rec);
    ep = atomic_load_explicit(&_rc_trace_epoch, memory_order_relaxed);
    pthread_mutex_unlock(&stacks_lock);
    resume();
    if (id) *c = (cache_slot){hash, ep, rec, id};
    return id;
}
/* }==== */

/* {==== the traced total ==== */

/*
 * The traced total and its peak. A locked add on a shared counter at every
 * allocation and free would cost more than the rest of a hook: it waits
 * for every store before it (the side-table stores, the program's own),
 * which on a large heap miss the cache. So each thread counts in its own
 * state (tl.pend: bytes traced less bytes untraced since it last
 * published; tl.pend_max: the most pend reached since then) and adds them
 * to traced_now when pend moves by RC_TRACE_PUBLISH_BYTES, when it exits
 * (a key destructor), and when it reads the totals itself
 * (rc_trace_get_traced_memory, rc_trace_reset_peak, snapshots). The peak
 * is raised to the shared total at publication plus pend_max: exact while
 * one thread traces (the total cannot move between its publications but
 * by its own), and while several do, short of the truth by at most
 * RC_TRACE_PUBLISH_BYTES per other thread that allocates at that moment;
 * likewise the current total. Counts belong to the epoch they were made
 * in: a stop (or fork) drops what a thread had not published. The
 * counting itself (_rc_trace_count_add, _rc_trace_count_sub) is inline in
 * src/internal/prof.h: the hooks here and traceblocks.c's address tables
 * both count.
 */
static pthread_key_t publish_key;
static pthread_once_t publish_once = PTHREAD_ONCE_INIT;

RC_NOINLINE void _rc_trace_publish(void) {
    uint64_t ep = atomic_load_explicit(&_rc_trace_epoch, memory_order_acquire);
    if (tl.pend_epoch == ep && (tl.pend != 0 || tl.pend_max != 0)) {
        size_t old = atomic_fetch_add_explicit(&traced_now, (size_t)tl.pend, memory_order_relaxed);
        size_t high = old + (size_t)tl.pend_max, peak = atomic_load_explicit(&traced_peak, memory_order_relaxed);
        while (high > peak && !atomic_compare_exchange_weak_explicit(&traced_peak, &peak, high, memory_order_relaxed,
                                                                     memory_order_relaxed)) {
        }
    }
    tl.pend = tl.pend_max = 0;
    tl.pend_epoch = ep;
    tl.mark_tag = _rc_tb_mark(ep, 0);
    if (!tl.publishes_at_exit) { /* the key's slot is in the thread's own block: no allocation */
        tl.publishes_at_exit = true;
        pthread_setspecific(publish_key, &tl);
    }
}

static void publish_at_exit(void *arg) {
    (void)arg;
    _rc_trace_publish();
}
static void publish_key_make(void) { pthread_key_create(&publish_key, publish_at_exit); }
/* }==== */

/* {==== sampling ==== */

static double uniform01(void) {
    if (!tl.rng_state) tl.rng_state = ((uintptr_t)&tl * 0x9e3779b97f4a7c15ull) ^ 0x2545f4914f6cdd1dull;
    uint64_t z = (tl.rng_state += 0x9e3779b97f4a7c15ull); /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0; /* in (0, 1) */
}

/* The countdown (_rc_sample_countdown, which rc_malloc takes down
 * itself: src/internal/heap.h) runs down to _rc_sample_floor, and is drawn
 * at most FLOOR_STEP above it. Every start and stop (and a fork's child)
 * raises the floor by FLOOR_STEP, so the countdowns other threads drew
 * before all read as due, and each thread draws afresh (with the new
 * mean) at its next allocation. The floor wraps after 2^19 starts. */
#define FLOOR_STEP ((int64_t)1 << 44) /* 16 TiB: 16 means of the largest (1 TiB) */

static void floor_raise(void) {
    int64_t f = atomic_load(&_rc_sample_floor);
    atomic_store(&_rc_sample_floor, f < INT64_MAX - 2 * FLOOR_STEP ? f + FLOOR_STEP : 0);
}

/* Bytes to the next sample: exponential with the given mean, so samples
 * fall as a Poisson process over the bytes allocated (tcmalloc's and
 * jemalloc's heap profilers). */
static int64_t next_sample(size_t mean) {
    double d = -log(uniform01()) * (double)mean;
    return d >= (double)FLOOR_STEP ? FLOOR_STEP : (int64_t)d + 1;
}

/* Is this block of size bytes sampled? The countdown, inline in the hook:
 * most allocations stop here. */
static inline bool sample_due(size_t size) {
    _rc_sample_countdown -= (int64_t)(size ? size : 1);
    return _rc_sample_countdown <= atomic_load_explicit(&_rc_sample_floor, memory_order_relaxed);
}

/* A block the countdown picked (or the first after a new start, which
 * draws afresh). False when it is not sampled after all; else *size_est
 * and *count_est are what it stands for: a block is sampled with
 * probability p = 1 - exp(-size / mean), so size / p and 1 / p are
 * unbiased estimates of the bytes and blocks allocated. */
static bool sampled(size_t mean, size_t size, size_t *size_est, uint32_t *count_est) {
    int64_t floor = atomic_load_explicit(&_rc_sample_floor, memory_order_relaxed);
    if (tl.until_floor != floor) { /* a new start (maybe with another mean): draw afresh */
        tl.until_floor = floor;
        _rc_sample_countdown = floor + next_sample(mean) - (int64_t)(size ? size : 1);
        if (_rc_sample_countdown > floor) return false;
    }
    _rc_sample_countdown = floor + next_sample(mean);
    double p = -expm1(-(double)(size ? size : 1) / (double)mean);
    double c = 1.0 / p;
    *size_est = (size_t)((double)size * c + 0.5);
    *count_est = c > 4e9 ? 4000000000u : (uint32_t)(c + 0.5);
    if (*count_est == 0) *count_est = 1;
    return true;
}
/* }==== */

/* {==== the hooks ==== */

/* The traceback id of this allocation: frame 0 is the site (or the entry
 * point's return address), then the frame-pointer walk, or libunwind. 0
 * when out of memory. */
static RC_NOINLINE uint32_t capture(rc_site *site, void *caller) {
    rc_tframe frames[RC_TRACE_MAX_FRAMES];
    unsigned want = atomic_load_explicit(&nframes_now, memory_order_relaxed);
    frames[0] = site ? ((uintptr_t)site | RC_TFRAME_SITE) : (uintptr_t)caller;
    unsigned n = 1;
    if (want > 1) {
        int mode = atomic_load_explicit(&unwind_mode, memory_order_relaxed);
        unw_backtrace_fn unw = atomic_load_explicit(&unwinder, memory_order_relaxed);
        bool broken = true;
        if (mode != RC_TRACE_UNWIND_LIBUNWIND || !unw)
            n += walk((uintptr_t)__builtin_frame_address(0), (uintptr_t)caller, frames + 1, want - 1, &broken);
        if (broken && unw && mode != RC_TRACE_UNWIND_FP) {
            rc_tframe more[RC_TRACE_MAX_FRAMES];
            suspend(); /* libunwind may allocate */
            unsigned m = unwind(unw, (uintptr_t)caller, more, want - 1);
            resume();
            if (m + 1 > n) {
                memcpy(frames + 1, more, m * sizeof *more);
                n = m + 1;
            }
        }
    }
    return stack_id(frames, n);
}

/* A one-frame traceback's frame. */
static inline rc_tframe frame0(rc_site *site, void *caller) {
    return site ? ((uintptr_t)site | RC_TFRAME_SITE) : (uintptr_t)caller;
}

/* The id of a one-frame traceback, through this thread's cache without
 * hashing (the common case of call sites). */
static inline uint32_t capture1(rc_tframe f) {
    uint64_t ep = atomic_load_explicit(&_rc_trace_epoch, memory_order_acquire);
    cache_slot *c = &cache[(f >> 4) & (CACHE_SLOTS - 1)];
    if (RC_LIKELY(c->hash == f && c->epoch == ep && !c->rec)) return c->id;
    uint32_t id = stack_id(&f, 1);
    if (id) *c = (cache_slot){f, ep, NULL, id};
    return id;
}

/* Trace block key, just allocated by this thread, exactly: in its pool's
 * side table when it is a small block (the table made on first use),
 * else in the address tables. */
static RC_NOINLINE void record_slow(uintptr_t key, size_t size, uint32_t id, unsigned cls);
static inline void record(uintptr_t key, size_t size, uint32_t id) {
    if (_rc_is_arena(key)) {
        const rc_pool *pool = _rc_pool_desc(key);
        unsigned cls = pool->cls;
        if (pool->state == RC_POOL_USED && cls < RC_SMALL_CLASSES) {
            uintptr_t v = _rc_tb_side_word(key);
            /* a table of another class cannot be there: the heap drops it
             * when the pool starts a new span */
            if (RC_UNLIKELY(!v)) {
                record_slow(key, size, id, cls);
                return;
            }
            /* Written, not read: every free of a traced block clears its
             * mark (a stop, a fork and the epoch make the others read as
             * clear), so a block just allocated has no trace to replace,
             * and stores that miss the cache do not wait. */
            uint32_t csize = _rc_class_size[cls], bi = _rc_tb_block_index(key, cls);
            atomic_store_explicit(&_rc_tb_ids(v)[bi], id, memory_order_relaxed);
            if (RC_LIKELY(size <= csize && csize - size < RC_TB_MARK_ELSEWHERE)) {
                uint64_t ep = atomic_load_explicit(&_rc_trace_epoch, memory_order_relaxed);
                atomic_store_explicit(&_rc_tb_marks(v)[bi], _rc_tb_mark(ep, (uint32_t)(csize - size)),
                                      memory_order_relaxed);
                _rc_trace_count_add(size, ep);
                return;
            }
            uint64_t ep = atomic_load_explicit(&_rc_trace_epoch, memory_order_relaxed);
            atomic_store_explicit(&_rc_tb_marks(v)[bi], _rc_tb_mark(ep, RC_TB_MARK_ELSEWHERE), memory_order_relaxed);
        }
    }
    _rc_tb_table_add(key, size, id, 1, false);
}

static RC_NOINLINE void record_slow(uintptr_t key, size_t size, uint32_t id, unsigned cls) {
    if (_rc_tb_side_make(key, cls)) record(key, size, id);
    /* else no memory for the table: the block goes untraced */
}

static RC_NOINLINE void trace_sampled(void *p, size_t size, rc_site *site, void *caller, size_t mean) {
    uint32_t count = 1;
    if (!sampled(mean, size, &size, &count)) return;
    uint32_t id = capture(site, caller);
    if (id) _rc_tb_table_add((uintptr_t)p, size, id, count, true);
}

/*
 * Exact tracing of a small block in a pool with a table, in a few dozen
 * instructions and no frame (the common case, with the traceback id
 * from the thread's cache): true when it traced block key, false (with
 * nothing done) when record must (no table yet, a size the mark cannot
 * hold, counts of another epoch than ep, a publication due).
 */
static inline bool record_fast(uintptr_t key, size_t size, uint32_t id, uint64_t ep) {
    /* a table is there only while its pool is a span of the table's
     * class (the heap drops it when the pool starts a new span), so the
     * pool's descriptor need not be read, nor the arena map */
    uintptr_t v = _rc_tb_side_word(key);
    if (RC_UNLIKELY(!v)) return false;
    unsigned cls = _rc_tb_class(v);
    size_t delta = _rc_class_size[cls] - size; /* wraps above when size is larger */
    if (RC_UNLIKELY(delta >= RC_TB_MARK_ELSEWHERE) || RC_UNLIKELY(tl.pend_epoch != ep) ||
        RC_UNLIKELY(tl.pend + (int64_t)size >= RC_TRACE_PUBLISH_BYTES))
        return false;
    uint32_t bi = _rc_tb_block_index(key, cls);
    atomic_store_explicit(&_rc_tb_ids(v)[bi], id, memory_order_relaxed);
    atomic_store_explicit(&_rc_tb_marks(v)[bi], (uint8_t)(tl.mark_tag | delta), memory_order_relaxed);
    tl.pend += (int64_t)size;
    if (tl.pend > tl.pend_max) tl.pend_max = tl.pend;
    return true;
}

/* Every case but the common one (exact tracing, one frame, a known
 * traceback): the per-line profiler's hook, sampling, deeper tracebacks,
 * a traceback not in this thread's cache. */
static RC_NOINLINE void *trace_alloc_general(void *p, size_t size, rc_site *site, void *caller, int on) {
    if (tl.suspended) return p;
    /* an allocation the library makes for the user (a container's): the
     * user's call site is frame 0 */
    if (!site && _rc_user_ra) caller = _rc_user_ra;
    if (on & RC_HOOK_LINES) _rc_line_alloc_hook(p, size, caller);
    if (!(on & RC_HOOK_TRACE)) return p;
    if (on & RC_HOOK_SAMPLED) {
        size_t mean = atomic_load_explicit(&sample_mean, memory_order_relaxed);
        if (mean && sample_due(size)) trace_sampled(p, size, site, caller, mean);
        return p;
    }
    uint32_t id = atomic_load_explicit(&nframes_now, memory_order_relaxed) == 1 ? capture1(frame0(site, caller))
                                                                                : capture(site, caller);
    if (id && !record_fast((uintptr_t)p, size, id, atomic_load_explicit(&_rc_trace_epoch, memory_order_relaxed)))
        record((uintptr_t)p, size, id);
    return p;
}

/* The alloc hook. Every path out of it is a return of p or a tail call,
 * so its fast paths set up no frame. */
static void *trace_alloc(void *p, size_t size, rc_site *site, void *caller) {
    int on = atomic_load_explicit(&_rc_trace_on, memory_order_relaxed);
    if (RC_LIKELY(on == RC_HOOK_TRACE)) {
        uint64_t ep = atomic_load_explicit(&fast_epoch, memory_order_acquire);
        rc_tframe f = frame0(site, caller);
        const cache_slot *c = &cache[(f >> 4) & (CACHE_SLOTS - 1)];
        if (RC_LIKELY(c->hash == f) && RC_LIKELY(c->epoch == ep) && RC_LIKELY(!c->rec) &&
            RC_LIKELY(!tl.suspended) && RC_LIKELY(!_rc_user_ra) && RC_LIKELY(record_fast((uintptr_t)p, size, c->id, ep)))
            return p;
    } else if (on == (RC_HOOK_TRACE | RC_HOOK_SAMPLED) && RC_LIKELY(!tl.suspended)) {
        /* sampling, from the entry points that do not count down
         * themselves (heap.h): most allocations stop at the countdown */
        int64_t left = _rc_sample_countdown - (int64_t)(size ? size : 1);
        if (RC_LIKELY(left > atomic_load_explicit(&_rc_sample_floor, memory_order_relaxed))) {
            _rc_sample_countdown = left;
            return p;
        }
    }
    return trace_alloc_general(p, size, site, caller, on);
}

/* The free of block key, in a pool with side table v: its mark goes. */
static inline void forget(uintptr_t key, uintptr_t v) {
    unsigned cls = _rc_tb_class(v);
    uint32_t bi = _rc_tb_block_index(key, cls);
    if (RC_UNLIKELY(bi >= _rc_class_blocks[cls])) return;
    _Atomic(uint8_t) *mark = &_rc_tb_marks(v)[bi];
    uint8_t m = atomic_load_explicit(mark, memory_order_relaxed);
    if (!m) return;
    atomic_store_explicit(mark, 0, memory_order_relaxed);
    uint64_t ep = atomic_load_explicit(&_rc_trace_epoch, memory_order_relaxed);
    if (RC_UNLIKELY(!_rc_tb_mark_valid(m, ep))) return;
    if (RC_UNLIKELY((m & 31) == RC_TB_MARK_ELSEWHERE)) _rc_tb_table_remove(key, false);
    else _rc_trace_count_sub(_rc_class_size[cls] - (m & 31u), ep);
}

static RC_NOINLINE void trace_free_general(void *p, int on) {
    if (tl.suspended) return;
    if (on & RC_HOOK_LINES) _rc_line_free_hook(p);
    if (!(on & RC_HOOK_TRACE)) return;
    uintptr_t key = (uintptr_t)p;
    if (on & RC_HOOK_SAMPLED) {
        if (atomic_load_explicit(&_rc_sample_filter[_rc_sample_slot(key)], memory_order_relaxed) != 0)
            _rc_tb_table_remove(key, true);
        return;
    }
    uintptr_t v = _rc_is_arena(key) ? _rc_tb_side_word(key) : 0;
    if (v) forget(key, v);
    else if (!_rc_is_arena(key) || !_rc_tb_in_small_pool(key)) _rc_tb_table_remove(key, false);
}

/* The free hook. As the alloc hook, no frame on its fast paths: exact
 * tracing, a small block in a pool with a table, whose mark is clear or
 * is a side-table trace of this epoch that leaves the thread's count
 * short of a publication. Everything else goes to the general path, with
 * nothing done. */
static void trace_free(void *p) {
    int on = atomic_load_explicit(&_rc_trace_on, memory_order_relaxed);
    uintptr_t key = (uintptr_t)p;
    if (RC_LIKELY(on == RC_HOOK_TRACE)) {
        __builtin_prefetch(_rc_pool_desc(key)); /* the free reads it next */
        uintptr_t v = _rc_tb_side_word(key);
        if (RC_LIKELY(v != 0)) {
            unsigned cls = _rc_tb_class(v);
            uint32_t bi = _rc_tb_block_index(key, cls);
            if (RC_UNLIKELY(bi >= _rc_class_blocks[cls])) return;
            _Atomic(uint8_t) *mark = &_rc_tb_marks(v)[bi];
            uint8_t m = atomic_load_explicit(mark, memory_order_relaxed);
            if (!m) return; /* untraced */
            /* m ^ tag < RC_TB_MARK_ELSEWHERE: this epoch's mark, with a delta */
            uint32_t delta = (uint32_t)(m ^ tl.mark_tag);
            int64_t pend = tl.pend - (int64_t)(_rc_class_size[cls] - delta);
            if (RC_LIKELY(delta < RC_TB_MARK_ELSEWHERE) && RC_LIKELY(!tl.suspended) &&
                RC_LIKELY(tl.pend_epoch == atomic_load_explicit(&_rc_trace_epoch, memory_order_relaxed)) &&
                RC_LIKELY(pend > -RC_TRACE_PUBLISH_BYTES)) {
                atomic_store_explicit(mark, 0, memory_order_relaxed);
                tl.pend = pend;
                return;
            }
        }
    } else if (on == (RC_HOOK_TRACE | RC_HOOK_SAMPLED) &&
               atomic_load_explicit(&_rc_sample_filter[_rc_sample_slot(key)], memory_order_relaxed) == 0) {
        return; /* sampling: most blocks hold no trace */
    }
    trace_free_general(p, on);
}
/* }==== */

/* {==== control ==== */

void _rc_trace_hooks_install(void) {
    _rc_trace_alloc_hook = trace_alloc;
    _rc_trace_free_hook = trace_free;
    _rc_arena_side_hook = _rc_tb_side_release;
}

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static void fork_register(void) {
    dl_iterate_phdr(libc_range, NULL);
    pthread_atfork(_rc_trace_fork_prepare, _rc_trace_fork_parent, _rc_trace_fork_child);
}

/* Start (or change) tracing. Switching between exact and sampled tracing
 * (or to another mean) starts afresh: the two kinds of traces do not mix
 * (a sampled trace stands for many blocks, and the free path's filter
 * knows only sampled ones). */
static int start(const char *fn, unsigned nframes, size_t mean) {
    if (nframes < 1 || nframes > RC_TRACE_MAX_FRAMES) {
        _rc_set_error("%s: nframes must be 1..%d, not %u", fn, RC_TRACE_MAX_FRAMES, nframes);
        return -1;
    }
    if (mean > ((size_t)1 << 40)) {
        _rc_set_error("%s: a mean of %zu bytes between samples is more than 1 TiB", fn, mean);
        return -1;
    }
    pthread_once(&fork_once, fork_register);
    pthread_once(&publish_once, publish_key_make);
    if (nframes > 1) {
        static pthread_once_t unwinder_once = PTHREAD_ONCE_INIT;
        atomic_store(&unwind_mode, (int)_rc_option(RC_OPT_TRACE_UNWIND));
        if (atomic_load(&unwind_mode) != RC_TRACE_UNWIND_FP) {
            _rc_trace_suspend(); /* the loader's allocations are not the program's */
            pthread_once(&unwinder_once, unwinder_load);
            _rc_trace_resume();
        }
    }
    if (rc_trace_is_tracing() && atomic_load(&sample_mean) != mean) rc_trace_stop();
    pthread_mutex_lock(&control_lock);
    atomic_store(&sample_mean, mean);
    atomic_store(&nframes_now, nframes);
    _rc_trace_hooks_install();
    atomic_fetch_and(&_rc_trace_on, ~RC_HOOK_SAMPLED);
    atomic_fetch_or(&_rc_trace_on, RC_HOOK_TRACE | (mean ? RC_HOOK_SAMPLED : 0));
    atomic_store(&fast_epoch, nframes == 1 && !mean ? atomic_load(&_rc_trace_epoch) : 0);
    floor_raise();
    pthread_mutex_unlock(&control_lock);
    return 0;
}

int rc_trace_start(unsigned nframes) { return start("rc_trace_start", nframes, 0); }

int rc_trace_start_sampled(size_t mean_bytes, unsigned nframes) {
    return start("rc_trace_start_sampled", nframes, mean_bytes ? mean_bytes : RC_TRACE_SAMPLE_MEAN);
}

/* The sampling filter's counters (traceblocks.c counts in them), all
 * cleared by a stop. */
#define FILTER_SLOTS (1u << RC_SAMPLE_FILTER_BITS)

void rc_trace_stop(void) {
    pthread_mutex_lock(&control_lock);
    atomic_fetch_and(&_rc_trace_on, ~(RC_HOOK_TRACE | RC_HOOK_SAMPLED));
    atomic_store(&fast_epoch, 0);
    floor_raise();
    _rc_tb_table_clear();
    pthread_mutex_lock(&stacks_lock);
    atomic_fetch_add(&_rc_trace_epoch, 1);
    nstacks = 0;
    if (index_cap) memset(index_slots, 0, index_cap * sizeof *index_slots);
    /* the chunks stay (a reader may still look at a record): the next
     * start fills them again from the first */
    chunk_cur = NULL;
    chunk = chunk_end = NULL;
    pthread_mutex_unlock(&stacks_lock);
    _rc_tb_side_clear();
    atomic_store(&traced_now, 0);
    atomic_store(&traced_peak, 0);
    for (size_t i = 0; i < FILTER_SLOTS; i++) atomic_store_explicit(&_rc_sample_filter[i], 0, memory_order_relaxed);
    pthread_mutex_unlock(&control_lock);
}

bool rc_trace_is_tracing(void) { return (atomic_load(&_rc_trace_on) & RC_HOOK_TRACE) != 0; }

void rc_trace_get_traced_memory(size_t *current, size_t *peak) {
    bool on = rc_trace_is_tracing();
    if (on) _rc_trace_publish();
    if (current) *current = on ? atomic_load(&traced_now) : 0;
    if (peak) *peak = on ? atomic_load(&traced_peak) : 0;
}

void rc_trace_reset_peak(void) {
    _rc_trace_publish();
    atomic_store(&traced_peak, atomic_load(&traced_now));
}

size_t rc_trace_overhead(void) {
    size_t bytes = _rc_tb_overhead();
    pthread_mutex_lock(&stacks_lock);
    bytes += chunk_bytes + by_id_cap * sizeof *by_id + index_cap * sizeof *index_slots;
    pthread_mutex_unlock(&stacks_lock);
    return bytes;
}
/* }==== */

/* {==== fork ==== */

/* Every lock of the tracer, in the order the tracer takes them, so that
 * a fork never copies one held by another thread. */
void _rc_trace_fork_prepare(void) {
    pthread_mutex_lock(&control_lock);
    _rc_tb_table_lock();
    pthread_mutex_lock(&stacks_lock);
    _rc_tb_spare_lock();
}

void _rc_trace_fork_parent(void) {
    _rc_tb_spare_unlock();
    pthread_mutex_unlock(&stacks_lock);
    _rc_tb_table_unlock();
    pthread_mutex_unlock(&control_lock);
}

/* The child starts fresh: still tracing (with the same settings), with
 * none of the parent's traces (a new epoch makes every mark read as
 * clear); the
 * tracebacks stay (their ids are valid). */
void _rc_trace_fork_child(void) {
    pthread_mutex_init(&control_lock, NULL);
    pthread_mutex_init(&stacks_lock, NULL);
    _rc_tb_fork_child(); /* its locks made anew, the address tables emptied */
    uint64_t ep = atomic_fetch_add(&_rc_trace_epoch, 1) + 1;
    if (atomic_load(&fast_epoch)) atomic_store(&fast_epoch, ep);
    floor_raise();
    atomic_store(&traced_now, 0);
    atomic_store(&traced_peak, 0);
}
/* }==== */

/* {==== readers: rc_trace_site_of, snapshots ==== */

unsigned rc_trace_site_of(const void *p, rc_frame *frames, unsigned max) {
    if (!p || !rc_trace_is_tracing()) return 0;
    if (max && !frames) {
        _rc_set_error("rc_trace_site_of: frames is NULL");
        return 0;
    }
    _rc_trace_suspend();
    rc_tframe raw[RC_TRACE_MAX_FRAMES];
    unsigned n = 0;
    /* an object is traced under its header, the start of its block */
    uint32_t id = _rc_tb_lookup(_rc_is_live_object(p) ? (uintptr_t)_rc_head(p) : (uintptr_t)p,
                                atomic_load_explicit(&sample_mean, memory_order_relaxed) != 0);
    if (id) {
        pthread_mutex_lock(&stacks_lock);
        if (id <= nstacks) {
            n = by_id[id]->n;
            memcpy(raw, by_id[id]->frames, n * sizeof *raw);
        }
        pthread_mutex_unlock(&stacks_lock);
    }
    for (unsigned k = 0; k < n && k < max; k++) {
        if (raw[k] & RC_TFRAME_SITE) {
            const rc_site *site = (const rc_site *)(raw[k] & ~RC_TFRAME_SITE);
            frames[k] = (rc_frame){site->file ? site->file : "?", site->function ? site->function : "?", site->line};
            continue;
        }
        frames[k] = (rc_frame){"?", "?", 0};
        const char *function = NULL, *file = NULL;
        unsigned line = 0;
        if (_rc_symbolize(raw[k], &function, &file, &line) && function)
            frames[k] = (rc_frame){file ? file : "?", function, line};
    }
    _rc_trace_resume();
    return n;
}

/* The address tables' traces, to the caller's visitor (every lock held). */
typedef struct walk_ctx {
    rc_trace_visit fn;
    void *arg;
} walk_ctx;

static void walk_trace(size_t size, size_t count, uint32_t stack, void *arg) {
    walk_ctx *c = arg;
    if (stack == 0 || stack > nstacks) return;
    stack_rec *r = by_id[stack];
    c->fn(size, count, r->frames, r->n, stack, c->arg);
}

int _rc_trace_walk(rc_trace_visit fn, void *arg, size_t *current, size_t *peak) {
    pthread_mutex_lock(&control_lock);
    if (!_rc_trace_tracing()) {
        pthread_mutex_unlock(&control_lock);
        return 0;
    }
    _rc_tb_table_lock();
    pthread_mutex_lock(&stacks_lock);
    uint64_t ep = atomic_load(&_rc_trace_epoch);
    suspend();
    rc_tb_sum *sum = rc_calloc(nstacks + 1, sizeof *sum);
    resume();
    if (sum) {
        _rc_trace_publish();
        if (current) *current = atomic_load(&traced_now);
        if (peak) *peak = atomic_load(&traced_peak);
        if (!atomic_load(&sample_mean)) _rc_tb_side_sum(sum, nstacks, ep);
        _rc_tb_table_each(walk_trace, &(walk_ctx){fn, arg});
        for (uint32_t id = 1; id <= nstacks; id++)
            if (sum[id].count) fn(sum[id].size, sum[id].count, by_id[id]->frames, by_id[id]->n, id, arg);
    }
    pthread_mutex_unlock(&stacks_lock);
    _rc_tb_table_unlock();
    pthread_mutex_unlock(&control_lock);
    suspend();
    bool ok = sum != NULL;
    rc_free(sum);
    resume();
    return ok ? 1 : -1;
}
/* }==== */
