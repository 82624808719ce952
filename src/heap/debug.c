/*
 * debug.c — RECLAIM_MALLOC=debug: the heap's debug hooks, after CPython's
 * PYTHONMALLOC=debug.
 *
 * Every block is wrapped:
 *
 *   raw                                   p (what the user gets)
 *   | align gap | header (32 B) | 16 x FD | size bytes (CD when new) | 16 x FD |
 *
 * The header holds the size asked for, the gap back to raw, a state word
 * (LIVE or FREED) and a check word derived from the address and size, so a
 * header overwritten by an underrun is noticed too. A table of live blocks
 * (ptrmap.c) tells a pointer we gave out from one we did not without
 * reading memory that may not exist.
 *
 * Freed blocks are filled with DD and held in a FIFO quarantine
 * (RECLAIM_DEBUG_QUARANTINE blocks) before their memory goes back to the
 * heap; when a block leaves the quarantine, which is when its memory could
 * be reused, any byte that is no longer DD is a write to a freed block.
 *
 * Each problem found gets a report naming the block's address and size and
 * then abort(), as CPython's debug hooks do: buffer overrun and underrun
 * (checked at free and realloc), double free, free of a pointer the heap
 * never gave out, and write after free.
 */
#include <errno.h>
#include <string.h>

#include "internal/heap.h"

#define PAD 16
#define BYTE_PAD 0xFD
#define BYTE_NEW 0xCD
#define BYTE_DEAD 0xDD
#define STATE_LIVE 0x4C495645u  /* "LIVE" */
#define STATE_FREED 0x46524545u /* "FREE" */
#define QUARANTINE_MAX 4096

typedef struct dbg_header {
    size_t size;     /* bytes asked for */
    size_t gap;      /* p - raw */
    uint32_t state;  /* STATE_* */
    uint32_t pad;
    uint64_t check;  /* check_of(p, size) */
} dbg_header;

_Static_assert(sizeof(dbg_header) == 32, "debug header is 32 bytes");
#define PREFIX (sizeof(dbg_header) + PAD)

static pthread_mutex_t dbg_lock = PTHREAD_MUTEX_INITIALIZER;
static rc_ptrmap dbg_live; /* p -> (size, 0) */
static struct {
    void *ring[QUARANTINE_MAX];
    size_t head, count;
} q;

static uint64_t check_of(const void *p, size_t size) {
    return ((uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull) ^ (uint64_t)size ^ 0xA5A5A5A55A5A5A5Aull;
}

static dbg_header *header_of(const void *p) { return (dbg_header *)((uint8_t *)p - PREFIX); }

/* Offset of the first byte of [p, p+n) that is not b, or n. */
static size_t first_not(const uint8_t *p, size_t n, uint8_t b) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != b) return i;
    return n;
}

static void check_pads(const void *p, const char *fn) {
    dbg_header *h = header_of(p);
    if (h->check != check_of(p, h->size) || h->state != STATE_LIVE)
        _rc_fatal("reclaim: heap corruption in %s: the header of block %p was overwritten "
                  "(buffer underrun from an earlier block, or a wild write)",
                  fn, p);
    const uint8_t *front = (const uint8_t *)p - PAD;
    size_t i = first_not(front, PAD, BYTE_PAD);
    if (i < PAD)
        _rc_fatal("reclaim: heap corruption in %s: buffer underrun: %zu byte(s) before block %p (size %zu) "
                  "were overwritten",
                  fn, PAD - i, p, h->size);
    const uint8_t *back = (const uint8_t *)p + h->size;
    size_t j = first_not(back, PAD, BYTE_PAD);
    if (j < PAD)
        _rc_fatal("reclaim: heap corruption in %s: buffer overrun: byte %zu past the end of block %p (size %zu) "
                  "was overwritten",
                  fn, j, p, h->size);
}

/* Release a quarantined block for real, after checking nobody wrote to it. */
static void release(void *p) {
    dbg_header *h = header_of(p);
    size_t i = first_not(p, h->size, BYTE_DEAD);
    if (i < h->size)
        _rc_fatal("reclaim: heap corruption: write to freed block %p (size %zu): byte %zu changed after free "
                  "(detected when its memory was about to be reused)",
                  p, h->size, i);
    _rc_core_free((uint8_t *)p - h->gap);
}

void *_rc_debug_malloc(size_t size, size_t alignment, bool zero) {
    size_t gap = PREFIX;
    if (alignment > RC_ALIGNMENT) gap = (PREFIX + alignment - 1) & ~(alignment - 1);
    /* the block must start aligned: ask the core for that alignment */
    size_t total;
    if (__builtin_add_overflow(size, gap + PAD, &total)) {
        _rc_set_error("rc_malloc: %zu bytes is more than the address space holds", size);
        errno = ENOMEM;
        return NULL;
    }
    pthread_mutex_lock(&dbg_lock);
    bool room = _rc_ptrmap_reserve(&dbg_live);
    pthread_mutex_unlock(&dbg_lock);
    if (!room) return NULL;
    uint8_t *raw = _rc_core_aligned(alignment, total);
    if (!raw) {
        pthread_mutex_lock(&dbg_lock);
        _rc_ptrmap_cancel(&dbg_live);
        pthread_mutex_unlock(&dbg_lock);
        return NULL;
    }
    uint8_t *p = raw + gap;
    dbg_header *h = header_of(p);
    h->size = size;
    h->gap = gap;
    h->state = STATE_LIVE;
    h->pad = 0;
    h->check = check_of(p, size);
    memset(p - PAD, BYTE_PAD, PAD);
    memset(p, zero ? 0 : BYTE_NEW, size);
    memset(p + size, BYTE_PAD, PAD);
    pthread_mutex_lock(&dbg_lock);
    _rc_ptrmap_put(&dbg_live, (uintptr_t)p, size, 0);
    pthread_mutex_unlock(&dbg_lock);
    return p;
}

/* Is p the address of a block this allocator freed earlier? Reads the
 * would-be header only when it lies in memory the heap holds. */
static bool was_freed(const void *p) {
    uintptr_t h = (uintptr_t)p - PREFIX;
    if ((uintptr_t)p < PREFIX) return false;
    /* under the arena lock: the arena cannot be unmapped while we look */
    pthread_mutex_lock(&_rc_arena_lock);
    bool freed = _rc_is_arena(h) && _rc_pool_of((const void *)h) != NULL && header_of(p)->state == STATE_FREED;
    pthread_mutex_unlock(&_rc_arena_lock);
    if (!freed && _rc_chunk_bit(_rc_large_map, h)) {
        uintptr_t base = h & ~(uintptr_t)RC_ARENA_MASK;
        bool readable = h + sizeof(dbg_header) <= base + _rc_large_usable((const void *)base);
        freed = readable && header_of(p)->state == STATE_FREED;
    }
    return freed;
}

/* The table entry of live block p, its guards checked; anything else is
 * reported, then abort. what is "free" or "realloc". dbg_lock held. */
static rc_ptrmap_entry *live_entry(void *p, const char *what) {
    rc_ptrmap_entry *e = _rc_ptrmap_get(&dbg_live, (uintptr_t)p);
    if (!e) {
        bool is_free = strcmp(what, "free") == 0;
        if (was_freed(p))
            _rc_fatal("reclaim: heap corruption: %s block %p (size %zu)",
                      is_free ? "double free of" : "realloc of freed", p, header_of(p)->size);
        _rc_fatal("reclaim: heap corruption: %s of %p, a pointer the heap never gave out", what, p);
    }
    check_pads(p, strcmp(what, "free") == 0 ? "rc_free" : "rc_realloc");
    return e;
}

void _rc_debug_free(void *p) {
    pthread_mutex_lock(&dbg_lock);
    rc_ptrmap_entry *e = live_entry(p, "free");
    _rc_ptrmap_del(&dbg_live, e);
    dbg_header *h = header_of(p);
    h->state = STATE_FREED;
    memset(p, BYTE_DEAD, h->size);
    size_t limit = (size_t)_rc_option(RC_OPT_DEBUG_QUARANTINE);
    if (limit > QUARANTINE_MAX) limit = QUARANTINE_MAX;
    void *evict = NULL;
    if (limit == 0) {
        evict = p;
    } else {
        if (q.count == limit) {
            evict = q.ring[q.head];
            q.head = (q.head + 1) % QUARANTINE_MAX;
            q.count--;
        }
        q.ring[(q.head + q.count) % QUARANTINE_MAX] = p;
        q.count++;
    }
    if (evict) release(evict);
    pthread_mutex_unlock(&dbg_lock);
}

void *_rc_debug_realloc(void *p, size_t size) {
    if (!p) return _rc_debug_malloc(size, RC_ALIGNMENT, false);
    pthread_mutex_lock(&dbg_lock);
    live_entry(p, "realloc");
    size_t old = header_of(p)->size;
    pthread_mutex_unlock(&dbg_lock);
    void *n = _rc_debug_malloc(size, RC_ALIGNMENT, false);
    if (!n) return NULL;
    memcpy(n, p, old < size ? old : size);
    _rc_debug_free(p);
    return n;
}

size_t _rc_debug_usable(const void *p) {
    size_t n = 0;
    return _rc_ptrmap_find(&dbg_lock, &dbg_live, (uintptr_t)p, &n) ? n : 0;
}

bool _rc_debug_owns(const void *p) { return _rc_ptrmap_find(&dbg_lock, &dbg_live, (uintptr_t)p, NULL); }

void _rc_debug_flush(void) {
    pthread_mutex_lock(&dbg_lock);
    while (q.count) {
        void *p = q.ring[q.head];
        q.head = (q.head + 1) % QUARANTINE_MAX;
        q.count--;
        release(p);
    }
    pthread_mutex_unlock(&dbg_lock);
}

void _rc_debug_fork_prepare(void) { pthread_mutex_lock(&dbg_lock); }
void _rc_debug_fork_parent(void) { pthread_mutex_unlock(&dbg_lock); }
void _rc_debug_fork_child(void) { pthread_mutex_init(&dbg_lock, NULL); }
