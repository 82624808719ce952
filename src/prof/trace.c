/*
 * trace.c — the allocation tracer (Python's tracemalloc): which traceback
 * allocated each live block, how many bytes are traced now and at the
 * peak.
 *
 * Hooks. The heap's and the object layer's public entry points call
 * _rc_trace_alloc_hook / _rc_trace_free_hook while _rc_trace_on is set
 * (src/internal/heap.h): one relaxed load and a predicted branch when
 * tracing is off, nothing else.
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
 * Traces. A trace is (block address, size asked for, traceback id) in one
 * of 32 hash tables chosen by the address, each with its own lock (linear
 * probing, deletion by backward shift, so no tombstones), so threads
 * allocating at the same time rarely meet. Objects are traced under their
 * payload pointer, other blocks under their address. The traced total and
 * its peak are atomics.
 *
 * Start, stop. rc_trace_stop clears _rc_trace_on first, then empties every
 * table under its lock; a hook re-checks the flag under the lock it takes,
 * so nothing is added after the clear. Table memory is kept for the next
 * start, never freed while a hook might read it; an epoch number makes
 * the per-thread caches forget the old traceback ids.
 *
 * Fork. The first start registers fork handlers that take every tracer
 * lock around fork; the child keeps tracing with none of the parent's
 * traces (tracefile.c names its snapshot file after its pid).
 *
 * The tracer's own memory comes from the heap (as everything's does), with
 * tracing suspended on the allocating thread, so it never traces itself.
 */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "internal/prof.h"
#include "internal/prof_symbols.h"
#include "internal/runtime.h"

#define SHARDS 32 /* a snapshot holds them all at once: ThreadSanitizer tracks at most 64 held locks */
#define CACHE_SLOTS 256

typedef struct trace_entry {
    uintptr_t key; /* 0: empty */
    size_t size;   /* bytes the trace stands for: the block's size, or its estimate when sampling */
    uint32_t stack;
    uint32_t count; /* blocks the trace stands for: 1, or the estimate when sampling */
} trace_entry;

/* Invariant: len * 4 <= cap * 3 (cap a power of two, or 0). len is read
 * without the lock by the free hook to skip empty shards (sampling). */
typedef struct shard {
    pthread_mutex_t lock;
    trace_entry *slots;
    size_t cap;
    _Atomic(size_t) len;
    char pad[64 - sizeof(pthread_mutex_t) % 64];
} shard;

/* A stored traceback: frames[n], immutable once published. */
typedef struct stack_rec {
    uint64_t hash;
    unsigned n;
    rc_tframe frames[];
} stack_rec;

static shard shards[SHARDS] = {[0 ... SHARDS - 1] = {.lock = PTHREAD_MUTEX_INITIALIZER}};

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

/* While sampling, a counting filter of the traced blocks: filter[f(block)]
 * counts the traces whose address hashes there (saturating at 255, never
 * decremented from 255). A free whose counter is 0 holds no trace and
 * skips the table and its lock: with 64 Ki counters and the few thousand
 * samples a program keeps, almost every unsampled free stops at one load. */
#define FILTER_SLOTS (1u << 16)
static _Atomic(uint8_t) filter[FILTER_SLOTS];

static inline size_t filter_slot(uintptr_t key) {
    return (size_t)(((uint64_t)(key >> 4) * 0x9e3779b97f4a7c15ull) >> 48);
}

static void filter_add(uintptr_t key) {
    _Atomic(uint8_t) *c = &filter[filter_slot(key)];
    uint8_t v = atomic_load_explicit(c, memory_order_relaxed);
    while (v < 255 && !atomic_compare_exchange_weak_explicit(c, &v, (uint8_t)(v + 1), memory_order_relaxed,
                                                             memory_order_relaxed)) {
    }
}

static void filter_remove(uintptr_t key) {
    _Atomic(uint8_t) *c = &filter[filter_slot(key)];
    uint8_t v = atomic_load_explicit(c, memory_order_relaxed);
    while (v > 0 && v < 255 && !atomic_compare_exchange_weak_explicit(c, &v, (uint8_t)(v - 1), memory_order_relaxed,
                                                                       memory_order_relaxed)) {
    }
}
static _Atomic(uint64_t) epoch = 1;
static _Atomic(size_t) traced_now, traced_peak;
static pthread_mutex_t control_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct cache_slot {
    uint64_t hash, epoch;
    stack_rec *rec;
    uint32_t id;
} cache_slot;

static __thread unsigned suspended;
static __thread cache_slot cache[CACHE_SLOTS];
static __thread uintptr_t stack_lo, stack_hi;
static __thread int64_t until_sample; /* bytes before this thread's next sample */
static __thread uint64_t until_epoch;  /* the epoch it was drawn in */
static __thread uint64_t rng_state;

static inline bool tracing(void) {
    return (atomic_load_explicit(&_rc_trace_on, memory_order_relaxed) & RC_HOOK_TRACE) != 0;
}

void _rc_trace_suspend(void) { suspended++; }
void _rc_trace_resume(void) { suspended--; }

/* {==== tracebacks ==== */

static uint64_t hash_frames(const rc_tframe *f, unsigned n) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    for (unsigned i = 0; i < n; i++) {
        h ^= f[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return h ? h : 1;
}

/* This thread's stack, for checking frame pointers before they are read. */
static void stack_bounds(void) {
    pthread_attr_t attr;
    void *addr;
    size_t size;
    stack_hi = 1; /* tried: do not ask again */
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
        stack_lo = (uintptr_t)addr;
        stack_hi = (uintptr_t)addr + size;
    }
    pthread_attr_destroy(&attr);
}

/* Return addresses from the frame-pointer chain, starting at frame fp:
 * those after caller (which is frame 0, the entry point's return address)
 * go into out[0..max). Returns how many. */
static unsigned walk(uintptr_t fp, uintptr_t caller, rc_tframe *out, unsigned max) {
    if (!stack_hi) stack_bounds();
    unsigned n = 0;
    bool found = false;
    for (unsigned depth = 0; depth < 8 + RC_TRACE_MAX_FRAMES && n < max; depth++) {
        if (fp < stack_lo || fp + 2 * sizeof(uintptr_t) > stack_hi || (fp & 7)) break;
        const uintptr_t *frame = (const uintptr_t *)fp;
        uintptr_t ret = frame[1], next = frame[0];
        if (found) out[n++] = ret;
        else if (ret == caller) found = true;
        else if (depth >= 8) break; /* the entry point is never this far */
        if (next <= fp) break; /* the chain must go up the stack */
        fp = next;
    }
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
    uint64_t ep = atomic_load_explicit(&epoch, memory_order_acquire);
    cache_slot *c = &cache[(hash >> 7) & (CACHE_SLOTS - 1)];
    if (c->hash == hash && c->epoch == ep && c->rec->n == n &&
        (n == 1 ? c->rec->frames[0] == frames[0] : memcmp(c->rec->frames, frames, n * sizeof *frames) == 0))
        return c->id;
    pthread_mutex_lock(&stacks_lock);
    stack_rec *rec = NULL;
    uint32_t id = 0;
    if (tracing()) id = intern_locked(frames, n, hash, &rec);
    ep = atomic_load_explicit(&epoch, memory_order_relaxed);
    pthread_mutex_unlock(&stacks_lock);
    if (id) *c = (cache_slot){hash, ep, rec, id};
    return id;
}
/* }==== */

/* {==== traces ==== */

/* A block's shard and home slot: every bit of the address mixed into
 * every bit of the hash (blocks sit at regular strides in their pools, so
 * a plain multiply leaves the low bits patterned and the probe runs
 * long). */
static inline shard *shard_of(uintptr_t key, size_t *home) {
    uint64_t h = key;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    *home = (size_t)(h >> 5);
    return &shards[h & (SHARDS - 1)];
}

static bool shard_grow(shard *s) {
    size_t cap = s->cap ? s->cap * 2 : 256;
    trace_entry *slots = rc_calloc(cap, sizeof *slots);
    if (!slots) return false;
    for (size_t i = 0; i < s->cap; i++) {
        trace_entry *e = &s->slots[i];
        if (!e->key) continue;
        size_t home;
        shard_of(e->key, &home);
        size_t j = home & (cap - 1);
        while (slots[j].key) j = (j + 1) & (cap - 1);
        slots[j] = *e;
    }
    rc_free(s->slots);
    s->slots = slots;
    s->cap = cap;
    return true;
}

static void add_traced(size_t size) {
    size_t now = atomic_fetch_add_explicit(&traced_now, size, memory_order_relaxed) + size;
    size_t peak = atomic_load_explicit(&traced_peak, memory_order_relaxed);
    while (now > peak &&
           !atomic_compare_exchange_weak_explicit(&traced_peak, &peak, now, memory_order_relaxed, memory_order_relaxed)) {
    }
}

/* Remove key's trace; its size, or 0 when it had none. Lock held. */
static size_t remove_locked(shard *s, uintptr_t key, size_t home) {
    if (!s->cap) return 0;
    size_t mask = s->cap - 1, i = home & mask;
    while (s->slots[i].key != key) {
        if (!s->slots[i].key) return 0;
        i = (i + 1) & mask;
    }
    size_t size = s->slots[i].size;
    /* backward-shift deletion: pull later entries of the run back into the
     * hole when their home is not between the hole and them */
    for (size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
        if (!s->slots[j].key) break;
        size_t h;
        shard_of(s->slots[j].key, &h);
        h &= mask;
        bool movable = i <= j ? (h <= i || h > j) : (h <= i && h > j);
        if (movable) {
            s->slots[i] = s->slots[j];
            i = j;
        }
    }
    s->slots[i].key = 0;
    atomic_fetch_sub_explicit(&s->len, 1, memory_order_relaxed);
    return size;
}

/* {==== sampling ==== */

static double uniform01(void) {
    if (!rng_state) rng_state = ((uintptr_t)&rng_state * 0x9e3779b97f4a7c15ull) ^ 0x2545f4914f6cdd1dull;
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull); /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0; /* in (0, 1) */
}

/* Bytes to the next sample: exponential with the given mean, so samples
 * fall as a Poisson process over the bytes allocated (tcmalloc's and
 * jemalloc's heap profilers). */
static int64_t next_sample(size_t mean) {
    double d = -log(uniform01()) * (double)mean;
    return d > 4e18 ? (int64_t)4e18 : (int64_t)d + 1;
}

/* Is this block of size bytes sampled? Then *size_est and *count_est are
 * what it stands for: a block is sampled with probability
 * p = 1 - exp(-size / mean), so size / p and 1 / p are unbiased estimates
 * of the bytes and blocks allocated. */
static bool sampled(size_t mean, size_t size, size_t *size_est, uint32_t *count_est) {
    uint64_t ep = atomic_load_explicit(&epoch, memory_order_relaxed);
    if (until_epoch != ep) { /* a new start (maybe with another mean): draw afresh */
        until_epoch = ep;
        until_sample = next_sample(mean);
    }
    until_sample -= (int64_t)(size ? size : 1);
    if (until_sample > 0) return false;
    until_sample = next_sample(mean);
    double p = -expm1(-(double)(size ? size : 1) / (double)mean);
    double c = 1.0 / p;
    *size_est = (size_t)((double)size * c + 0.5);
    *count_est = c > 4e9 ? 4000000000u : (uint32_t)(c + 0.5);
    if (*count_est == 0) *count_est = 1;
    return true;
}
/* }==== */

static void trace_alloc(void *p, size_t size, rc_site *site, void *caller) {
    if (suspended || !tracing()) return;
    size_t mean = atomic_load_explicit(&sample_mean, memory_order_relaxed);
    uint32_t count = 1;
    if (mean && !sampled(mean, size, &size, &count)) return;
    suspended++;
    rc_tframe frames[RC_TRACE_MAX_FRAMES];
    unsigned want = atomic_load_explicit(&nframes_now, memory_order_relaxed);
    frames[0] = site ? ((uintptr_t)site | RC_TFRAME_SITE) : (uintptr_t)caller;
    unsigned n = 1;
    if (want > 1) n += walk((uintptr_t)__builtin_frame_address(0), (uintptr_t)caller, frames + 1, want - 1);
    uint32_t id = stack_id(frames, n);
    if (id) {
        uintptr_t key = (uintptr_t)p;
        size_t home;
        shard *s = shard_of(key, &home);
        pthread_mutex_lock(&s->lock);
        if (tracing() &&
            ((s->len + 1) * 4 <= s->cap * 3 || shard_grow(s))) {
            size_t old = remove_locked(s, key, home); /* a block traced twice: the newer wins */
            size_t mask = s->cap - 1, i = home & mask;
            while (s->slots[i].key) i = (i + 1) & mask;
            s->slots[i] = (trace_entry){key, size, id, count};
            atomic_fetch_add_explicit(&s->len, 1, memory_order_relaxed);
            if (mean && !old) filter_add(key);
            if (old) atomic_fetch_sub_explicit(&traced_now, old, memory_order_relaxed);
            add_traced(size);
        }
        pthread_mutex_unlock(&s->lock);
    }
    suspended--;
}

static void trace_free(void *p) {
    if (suspended || !tracing()) return;
    uintptr_t key = (uintptr_t)p;
    bool sampling = atomic_load_explicit(&sample_mean, memory_order_relaxed) != 0;
    if (sampling && atomic_load_explicit(&filter[filter_slot(key)], memory_order_relaxed) == 0) return;
    size_t home;
    shard *s = shard_of(key, &home);
    /* an empty shard holds no trace of p (when sampling, most are empty);
     * a trace added concurrently is of another block, so the race is
     * harmless */
    if (atomic_load_explicit(&s->len, memory_order_relaxed) == 0) return;
    pthread_mutex_lock(&s->lock);
    size_t size = remove_locked(s, key, home);
    pthread_mutex_unlock(&s->lock);
    if (size) {
        atomic_fetch_sub_explicit(&traced_now, size, memory_order_relaxed);
        if (sampling) filter_remove(key);
    }
}
/* }==== */

/* {==== control ==== */

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static void fork_register(void) {
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
    if (rc_trace_is_tracing() && atomic_load(&sample_mean) != mean) rc_trace_stop();
    pthread_mutex_lock(&control_lock);
    atomic_store(&sample_mean, mean);
    atomic_store(&nframes_now, nframes);
    _rc_trace_alloc_hook = trace_alloc;
    _rc_trace_free_hook = trace_free;
    atomic_fetch_or(&_rc_trace_on, RC_HOOK_TRACE);
    pthread_mutex_unlock(&control_lock);
    return 0;
}

int rc_trace_start(unsigned nframes) { return start("rc_trace_start", nframes, 0); }

int rc_trace_start_sampled(size_t mean_bytes, unsigned nframes) {
    return start("rc_trace_start_sampled", nframes, mean_bytes ? mean_bytes : RC_TRACE_SAMPLE_MEAN);
}

void rc_trace_stop(void) {
    pthread_mutex_lock(&control_lock);
    atomic_fetch_and(&_rc_trace_on, ~RC_HOOK_TRACE);
    for (unsigned k = 0; k < SHARDS; k++) {
        pthread_mutex_lock(&shards[k].lock);
        if (shards[k].cap) memset(shards[k].slots, 0, shards[k].cap * sizeof *shards[k].slots);
        atomic_store(&shards[k].len, 0);
        pthread_mutex_unlock(&shards[k].lock);
    }
    pthread_mutex_lock(&stacks_lock);
    atomic_fetch_add(&epoch, 1);
    nstacks = 0;
    if (index_cap) memset(index_slots, 0, index_cap * sizeof *index_slots);
    /* the chunks stay (a reader may still look at a record): the next
     * start fills them again from the first */
    chunk_cur = NULL;
    chunk = chunk_end = NULL;
    pthread_mutex_unlock(&stacks_lock);
    atomic_store(&traced_now, 0);
    atomic_store(&traced_peak, 0);
    for (size_t i = 0; i < FILTER_SLOTS; i++) atomic_store_explicit(&filter[i], 0, memory_order_relaxed);
    pthread_mutex_unlock(&control_lock);
}

bool rc_trace_is_tracing(void) { return (atomic_load(&_rc_trace_on) & RC_HOOK_TRACE) != 0; }

void rc_trace_get_traced_memory(size_t *current, size_t *peak) {
    bool on = rc_trace_is_tracing();
    if (current) *current = on ? atomic_load(&traced_now) : 0;
    if (peak) *peak = on ? atomic_load(&traced_peak) : 0;
}

void rc_trace_reset_peak(void) { atomic_store(&traced_peak, atomic_load(&traced_now)); }

size_t rc_trace_overhead(void) {
    size_t bytes = 0;
    for (unsigned k = 0; k < SHARDS; k++) {
        pthread_mutex_lock(&shards[k].lock);
        bytes += shards[k].cap * sizeof(trace_entry);
        pthread_mutex_unlock(&shards[k].lock);
    }
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
    for (unsigned k = 0; k < SHARDS; k++) pthread_mutex_lock(&shards[k].lock);
    pthread_mutex_lock(&stacks_lock);
}

void _rc_trace_fork_parent(void) {
    pthread_mutex_unlock(&stacks_lock);
    for (unsigned k = SHARDS; k-- > 0;) pthread_mutex_unlock(&shards[k].lock);
    pthread_mutex_unlock(&control_lock);
}

/* The child starts fresh: still tracing (with the same settings), with
 * none of the parent's traces; the tracebacks stay (their ids are valid). */
void _rc_trace_fork_child(void) {
    pthread_mutex_init(&control_lock, NULL);
    pthread_mutex_init(&stacks_lock, NULL);
    for (unsigned k = 0; k < SHARDS; k++) {
        pthread_mutex_init(&shards[k].lock, NULL);
        if (shards[k].cap) memset(shards[k].slots, 0, shards[k].cap * sizeof *shards[k].slots);
        atomic_store(&shards[k].len, 0);
    }
    atomic_store(&traced_now, 0);
    atomic_store(&traced_peak, 0);
}
/* }==== */

/* {==== readers: rc_trace_site_of, snapshots ==== */

/* The traceback id of key, 0 when untraced, and its size. */
static uint32_t lookup(uintptr_t key, size_t *size) {
    size_t home;
    shard *s = shard_of(key, &home);
    uint32_t id = 0;
    pthread_mutex_lock(&s->lock);
    if (s->cap) {
        size_t mask = s->cap - 1;
        for (size_t i = home & mask; s->slots[i].key; i = (i + 1) & mask)
            if (s->slots[i].key == key) {
                id = s->slots[i].stack;
                if (size) *size = s->slots[i].size;
                break;
            }
    }
    pthread_mutex_unlock(&s->lock);
    return id;
}

unsigned rc_trace_site_of(const void *p, rc_frame *frames, unsigned max) {
    if (!p || !rc_trace_is_tracing()) return 0;
    if (max && !frames) {
        _rc_set_error("rc_trace_site_of: frames is NULL");
        return 0;
    }
    _rc_trace_suspend();
    rc_tframe raw[RC_TRACE_MAX_FRAMES];
    unsigned n = 0;
    uint32_t id = lookup((uintptr_t)p, NULL);
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

bool _rc_trace_walk(rc_trace_visit fn, void *arg, size_t *current, size_t *peak) {
    pthread_mutex_lock(&control_lock);
    if (!tracing()) {
        pthread_mutex_unlock(&control_lock);
        return false;
    }
    for (unsigned k = 0; k < SHARDS; k++) pthread_mutex_lock(&shards[k].lock);
    pthread_mutex_lock(&stacks_lock);
    if (current) *current = atomic_load(&traced_now);
    if (peak) *peak = atomic_load(&traced_peak);
    for (unsigned k = 0; k < SHARDS; k++) {
        shard *s = &shards[k];
        for (size_t i = 0; i < s->cap; i++) {
            trace_entry *e = &s->slots[i];
            if (!e->key || e->stack == 0 || e->stack > nstacks) continue;
            stack_rec *r = by_id[e->stack];
            fn(e->size, e->count, r->frames, r->n, e->stack, arg);
        }
    }
    pthread_mutex_unlock(&stacks_lock);
    for (unsigned k = SHARDS; k-- > 0;) pthread_mutex_unlock(&shards[k].lock);
    pthread_mutex_unlock(&control_lock);
    return true;
}
/* }==== */
