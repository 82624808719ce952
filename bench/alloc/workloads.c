/*
 * workloads.c — allocator benchmark workloads (see README.md beside it).
 *
 * One program, one subcommand per workload. Every workload calls only the
 * standard malloc/free/realloc, so the allocator under test is chosen at run
 * time with LD_PRELOAD and the same binary measures glibc, jemalloc,
 * mimalloc, tcmalloc and reclaim alike. run.sh does the timing from outside
 * (CPU time and peak RSS through wait4), so nothing here reads a clock.
 *
 * Each workload prints one result line "name: key=value ... checksum=X".
 * The checksum is a function of the data the workload wrote into its blocks
 * and read back before freeing them, never of addresses or timings, so it is
 * the same under every allocator; run.sh compares it with glibc's. Reading
 * every block back also keeps the compiler from deleting malloc/free pairs,
 * and escape() below makes each new pointer visible to the optimiser as
 * used, for the loops that touch their blocks least.
 *
 * Randomness comes from a fixed-seed xorshift64* generator, one per thread,
 * so a run is reproducible and threads never share generator state.
 *
 * Two workloads also look inside the allocator, through dlsym(RTLD_DEFAULT)
 * so that the binary links against none of them:
 *   frag    calls the allocator's "give memory back" function, found in the
 *           order rc_heap_trim, mi_collect, mallctl (jemalloc),
 *           MallocExtension_ReleaseFreeMemory (tcmalloc), and only when none
 *           exists malloc_trim: glibc exports malloc_trim even when another
 *           allocator is preloaded, and it would then trim an empty heap.
 *   live32  prints reclaim's bytes_mapped when rc_heap_get_stats exists.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../include/reclaim.h" /* only for the rc_heap_stats type */

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)

/* {==================================================================
 * Helpers: failure, PRNG, checksum, RSS
 * =================================================================== */

static _Noreturn void die(const char *what)
{
    fprintf(stderr, "workloads: %s\n", what);
    exit(2);
}

/* Tell the optimiser that p is used, so a malloc/free pair around it cannot
 * be folded away. Costs no instruction. */
static inline void escape(void *p)
{
    __asm__ volatile("" : : "g"(p) : "memory");
}

static inline void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (__builtin_expect(p == NULL, 0))
        die("out of memory");
    escape(p);
    return p;
}

static inline void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (__builtin_expect(q == NULL, 0))
        die("out of memory (realloc)");
    escape(q);
    return q;
}

/* xorshift64* (Vigna). State must never be 0; seed() makes sure of it. */
typedef struct rng {
    uint64_t s;
} rng;

static rng seed(uint64_t s)
{
    rng r = {s * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull};
    if (r.s == 0)
        r.s = 1;
    return r;
}

static inline uint64_t next(rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Uniform-enough integer in [lo, hi] (the bias of % is irrelevant here). */
static inline size_t range(rng *r, size_t lo, size_t hi)
{
    return lo + (size_t)((next(r) >> 11) % (hi - lo + 1));
}

/* Order-dependent 64-bit mix (FNV-1a step over a whole word). */
static inline uint64_t mix(uint64_t h, uint64_t v)
{
    return (h ^ v) * 0x100000001B3ull;
}

static double rss_mib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f == NULL)
        return -1.0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (double)resident * (double)sysconf(_SC_PAGESIZE) / (double)MiB;
}

/* A stamped block: [u32 size][u32 tag] ... [u8 tag] in its last byte.
 * Every block here is at least 16 bytes. stamp() writes it, unstamp() checks
 * it and returns a word for the checksum. */
static inline void stamp(void *p, size_t size, uint32_t tag)
{
    uint32_t *w = p;
    w[0] = (uint32_t)size;
    w[1] = tag;
    ((unsigned char *)p)[size - 1] = (unsigned char)tag;
}

static inline uint64_t unstamp(const void *p)
{
    const uint32_t *w = p;
    uint32_t size = w[0], tag = w[1];
    if (((const unsigned char *)p)[size - 1] != (unsigned char)tag)
        die("block contents changed (heap corruption?)");
    return ((uint64_t)size << 32) | tag;
}

static inline size_t stamped_size(const void *p)
{
    return ((const uint32_t *)p)[0];
}

/* }================================================================== */

/* {==================================================================
 * lifo, pair32: the fast path
 * =================================================================== */

/* Allocate 100 blocks of 32 bytes, free them in reverse; n pairs in all. */
static int wl_lifo(uint64_t n)
{
    enum { BATCH = 100 };
    void *p[BATCH];
    uint64_t cs = 0;
    uint64_t rounds = n / BATCH;

    for (uint64_t r = 0; r < rounds; r++) {
        for (int i = 0; i < BATCH; i++) {
            p[i] = xmalloc(32);
            *(uint64_t *)p[i] = r + (uint64_t)i;
        }
        for (int i = BATCH - 1; i >= 0; i--) {
            cs += *(uint64_t *)p[i];
            free(p[i]);
        }
    }
    printf("lifo: pairs=%" PRIu64 " checksum=%016" PRIx64 "\n", rounds * BATCH, cs);
    return 0;
}

/* A tight malloc(32)+free loop, for callgrind's instructions per pair. */
static int wl_pair32(uint64_t n)
{
    uint64_t cs = 0;
    for (uint64_t i = 0; i < n; i++) {
        unsigned char *p = xmalloc(32);
        p[0] = (unsigned char)i;
        escape(p);
        cs += p[0];
        free(p);
    }
    printf("pair32: pairs=%" PRIu64 " checksum=%016" PRIx64 "\n", n, cs);
    return 0;
}

/* }================================================================== */

/* {==================================================================
 * random: a large live set churned in random order
 * =================================================================== */

/* ops operations on ops/8 slots (1.25M at the default 10M ops), all filled
 * first. An op picks a random slot: a full slot is freed and, 3 times out
 * of 4, refilled with a new block of 16..512 bytes; an empty slot is filled.
 * The steady state keeps 80% of the slots live (1M blocks by default). */
static int wl_random(uint64_t ops)
{
    size_t nslots = (size_t)(ops / 8);
    if (nslots < 16)
        nslots = 16;
    void **slot = calloc(nslots, sizeof *slot);
    if (slot == NULL)
        die("out of memory");
    rng r = seed(1);
    uint64_t cs = 0;
    uint32_t tag = 0;
    size_t live = 0;

    for (size_t i = 0; i < nslots; i++) {
        size_t n = range(&r, 16, 512);
        slot[i] = xmalloc(n);
        stamp(slot[i], n, tag++);
    }
    live = nslots;
    for (uint64_t k = 0; k < ops; k++) {
        uint64_t x = next(&r);
        size_t i = (size_t)(x % nslots);
        if (slot[i] != NULL) {
            cs = mix(cs, unstamp(slot[i]));
            free(slot[i]);
            slot[i] = NULL;
            live--;
            if (((x >> 40) & 3) == 0)
                continue;
        }
        size_t n = range(&r, 16, 512);
        slot[i] = xmalloc(n);
        stamp(slot[i], n, tag++);
        live++;
    }
    size_t live_end = live;
    for (size_t i = 0; i < nslots; i++) {
        if (slot[i] != NULL) {
            cs = mix(cs, unstamp(slot[i]));
            free(slot[i]);
        }
    }
    free(slot);
    printf("random: ops=%" PRIu64 " slots=%zu live_at_end=%zu checksum=%016" PRIx64 "\n",
           ops, nslots, live_end, cs);
    return 0;
}

/* }================================================================== */

/* {==================================================================
 * prodcons: every block freed by another thread
 * =================================================================== */

/* A bounded ring of pointers guarded by one mutex. Both sides move whole
 * batches, so the lock is taken once per BATCH blocks and the allocator, not
 * the queue, dominates; a side that must wait sleeps on a condition variable
 * instead of spinning, so CPU time counts work only.
 * Invariant: 0 <= count <= RING_CAP; the items are buf[head .. head+count)
 * modulo RING_CAP, in the order they were produced. */
enum { RING_CAP = 8192, BATCH = 256 };

typedef struct ring {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    size_t head, count;
    bool done; /* set by the producer after its last push */
    void *buf[RING_CAP];
} ring;

static void ring_push(ring *q, void **items, size_t n)
{
    pthread_mutex_lock(&q->mu);
    while (RING_CAP - q->count < n)
        pthread_cond_wait(&q->not_full, &q->mu);
    for (size_t i = 0; i < n; i++)
        q->buf[(q->head + q->count + i) % RING_CAP] = items[i];
    q->count += n;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
}

/* Take up to max items; 0 means the producer is done and the ring empty. */
static size_t ring_pop(ring *q, void **items, size_t max)
{
    pthread_mutex_lock(&q->mu);
    while (q->count == 0 && !q->done)
        pthread_cond_wait(&q->not_empty, &q->mu);
    size_t n = q->count < max ? q->count : max;
    for (size_t i = 0; i < n; i++)
        items[i] = q->buf[(q->head + i) % RING_CAP];
    q->head = (q->head + n) % RING_CAP;
    q->count -= n;
    pthread_cond_signal(&q->not_full);
    pthread_mutex_unlock(&q->mu);
    return n;
}

typedef struct prodcons {
    ring q;
    uint64_t n;
    uint64_t cs; /* written by the consumer */
} prodcons;

static void *producer(void *arg)
{
    prodcons *pc = arg;
    void *batch[BATCH];
    size_t m = 0;
    rng r = seed(2);
    for (uint64_t i = 0; i < pc->n; i++) {
        size_t n = range(&r, 16, 256);
        void *p = xmalloc(n);
        stamp(p, n, (uint32_t)i);
        batch[m++] = p;
        if (m == BATCH) {
            ring_push(&pc->q, batch, m);
            m = 0;
        }
    }
    if (m > 0)
        ring_push(&pc->q, batch, m);
    pthread_mutex_lock(&pc->q.mu);
    pc->q.done = true;
    pthread_cond_broadcast(&pc->q.not_empty);
    pthread_mutex_unlock(&pc->q.mu);
    return NULL;
}

static void *consumer(void *arg)
{
    prodcons *pc = arg;
    void *batch[BATCH];
    uint64_t cs = 0, seen = 0;
    size_t m;
    while ((m = ring_pop(&pc->q, batch, BATCH)) > 0) {
        for (size_t i = 0; i < m; i++) {
            uint64_t w = unstamp(batch[i]);
            if ((uint32_t)w != (uint32_t)seen++)
                die("prodcons: blocks arrived out of order");
            cs = mix(cs, w);
            free(batch[i]);
        }
    }
    if (seen != pc->n)
        die("prodcons: blocks lost");
    pc->cs = cs;
    return NULL;
}

static int wl_prodcons(uint64_t n)
{
    prodcons *pc = calloc(1, sizeof *pc);
    if (pc == NULL)
        die("out of memory");
    pthread_mutex_init(&pc->q.mu, NULL);
    pthread_cond_init(&pc->q.not_empty, NULL);
    pthread_cond_init(&pc->q.not_full, NULL);
    pc->n = n;
    pthread_t tp, tc;
    if (pthread_create(&tc, NULL, consumer, pc) != 0 ||
        pthread_create(&tp, NULL, producer, pc) != 0)
        die("pthread_create failed");
    pthread_join(tp, NULL);
    pthread_join(tc, NULL);
    printf("prodcons: blocks=%" PRIu64 " checksum=%016" PRIx64 "\n", n, pc->cs);
    pthread_cond_destroy(&pc->q.not_full);
    pthread_cond_destroy(&pc->q.not_empty);
    pthread_mutex_destroy(&pc->q.mu);
    free(pc);
    return 0;
}

/* }================================================================== */

/* {==================================================================
 * larson: a server whose connections move between threads
 * =================================================================== */

/* LARSON_THREADS threads, each starting with its own array of slots. In
 * round r thread t works on array (t + r) % LARSON_THREADS, replacing random
 * slots with new blocks of 16..1000 bytes; a barrier ends each round, and
 * the arrays move on to the next thread, so from round 1 on most frees are
 * of blocks another thread allocated. Each thread has its own generator and
 * each array one owner per round, so the checksum is deterministic. */
enum { LARSON_THREADS = 2, LARSON_SLOTS = 10000, LARSON_ROUNDS = 100 };

typedef struct larson {
    void **arrays[LARSON_THREADS];
    uint64_t per_round; /* replacements per thread per round */
    pthread_barrier_t bar;
    uint64_t cs[LARSON_THREADS];
} larson;

typedef struct larson_arg {
    larson *l;
    int t;
} larson_arg;

static void *larson_thread(void *arg)
{
    larson_arg *a = arg;
    larson *l = a->l;
    int t = a->t;
    rng r = seed(100 + (uint64_t)t);
    uint64_t cs = 0;
    uint32_t tag = (uint32_t)t << 28;

    void **mine = malloc(LARSON_SLOTS * sizeof *mine);
    if (mine == NULL)
        die("out of memory");
    for (size_t i = 0; i < LARSON_SLOTS; i++) {
        size_t n = range(&r, 16, 1000);
        mine[i] = xmalloc(n);
        stamp(mine[i], n, tag++);
    }
    l->arrays[t] = mine;
    pthread_barrier_wait(&l->bar);

    for (int round = 0; round < LARSON_ROUNDS; round++) {
        void **s = l->arrays[(t + round) % LARSON_THREADS];
        for (uint64_t k = 0; k < l->per_round; k++) {
            size_t i = (size_t)(next(&r) % LARSON_SLOTS);
            cs = mix(cs, unstamp(s[i]));
            free(s[i]);
            size_t n = range(&r, 16, 1000);
            s[i] = xmalloc(n);
            stamp(s[i], n, tag++);
        }
        pthread_barrier_wait(&l->bar);
    }

    void **s = l->arrays[(t + LARSON_ROUNDS) % LARSON_THREADS];
    for (size_t i = 0; i < LARSON_SLOTS; i++) {
        cs = mix(cs, unstamp(s[i]));
        free(s[i]);
    }
    pthread_barrier_wait(&l->bar); /* nobody still reads an array */
    free(l->arrays[t]);
    l->cs[t] = cs;
    return NULL;
}

static int wl_larson(uint64_t n)
{
    larson l;
    memset(&l, 0, sizeof l);
    l.per_round = n / LARSON_ROUNDS / LARSON_THREADS;
    pthread_barrier_init(&l.bar, NULL, LARSON_THREADS);
    pthread_t th[LARSON_THREADS];
    larson_arg args[LARSON_THREADS];
    for (int t = 0; t < LARSON_THREADS; t++) {
        args[t] = (larson_arg){&l, t};
        if (pthread_create(&th[t], NULL, larson_thread, &args[t]) != 0)
            die("pthread_create failed");
    }
    uint64_t cs = 0;
    for (int t = 0; t < LARSON_THREADS; t++) {
        pthread_join(th[t], NULL);
        cs = mix(cs, l.cs[t]);
    }
    pthread_barrier_destroy(&l.bar);
    printf("larson: threads=%d replacements=%" PRIu64 " checksum=%016" PRIx64 "\n",
           LARSON_THREADS, l.per_round * LARSON_ROUNDS * LARSON_THREADS, cs);
    return 0;
}

/* }================================================================== */

/* {==================================================================
 * mixed: large blocks and realloc growth among small ones
 * =================================================================== */

/* Large blocks carry one 8-byte stamp at the start of every 4 KiB page:
 * writing it touches (faults in) the page, checking it proves realloc kept
 * the data. A block of len bytes holds the stamps at off with off + 8 <= len;
 * stamp_pages(p, from, to, id) adds those that fit in to but not in from. */
static inline uint64_t page_word(uint64_t id, size_t off)
{
    return mix(id * 0x9E3779B97F4A7C15ull, off) | 1;
}

static void stamp_pages(unsigned char *p, size_t from, size_t to, uint64_t id)
{
    size_t first = from > 7 ? from - 7 : 0; /* first off with off + 8 > from */
    for (size_t off = (first + 4095) & ~(size_t)4095; off + 8 <= to; off += 4096)
        memcpy(p + off, &(uint64_t){page_word(id, off)}, 8);
}

static uint64_t check_pages(const unsigned char *p, size_t len, uint64_t id, uint64_t cs)
{
    for (size_t off = 0; off + 8 <= len; off += 4096) {
        uint64_t w;
        memcpy(&w, p + off, 8);
        if (w != page_word(id, off))
            die("mixed: realloc lost the contents of a block");
        cs = mix(cs, w);
    }
    return cs;
}

enum { MIXED_SMALL = 4096, MIXED_LARGE = 8 };

/* iters iterations. Each grows one buffer by realloc from 64 KiB to a random
 * 64 KiB..4 MiB in random steps of 4..256 KiB, checking after every step
 * that the old pages kept their stamps and replacing 8 of 4096 small blocks
 * (16..1024 bytes) between steps; then frees the buffer and replaces one of
 * 8 long-lived large blocks (64 KiB..4 MiB). */
static int wl_mixed(uint64_t iters)
{
    void *small[MIXED_SMALL];
    struct {
        unsigned char *p;
        size_t n;
        uint64_t id;
    } large[MIXED_LARGE];
    rng r = seed(3);
    uint64_t cs = 0;
    uint32_t tag = 0;
    uint64_t id = 0, reallocs = 0;

    for (size_t i = 0; i < MIXED_SMALL; i++) {
        size_t n = range(&r, 16, 1024);
        small[i] = xmalloc(n);
        stamp(small[i], n, tag++);
    }
    for (size_t i = 0; i < MIXED_LARGE; i++) {
        large[i].n = range(&r, 64 * KiB, 4 * MiB);
        large[i].p = xmalloc(large[i].n);
        large[i].id = ++id;
        stamp_pages(large[i].p, 0, large[i].n, large[i].id);
    }

    for (uint64_t it = 0; it < iters; it++) {
        size_t target = range(&r, 64 * KiB, 4 * MiB);
        uint64_t bid = ++id;
        size_t len = 64 * KiB;
        unsigned char *buf = xmalloc(len);
        stamp_pages(buf, 0, len, bid);
        while (len < target) {
            size_t grow = range(&r, 4 * KiB, 256 * KiB);
            size_t newlen = len + grow < target ? len + grow : target;
            buf = xrealloc(buf, newlen);
            reallocs++;
            cs = check_pages(buf, len, bid, cs);
            stamp_pages(buf, len, newlen, bid);
            len = newlen;
            for (int k = 0; k < 8; k++) {
                size_t i = (size_t)(next(&r) % MIXED_SMALL);
                cs = mix(cs, unstamp(small[i]));
                free(small[i]);
                size_t n = range(&r, 16, 1024);
                small[i] = xmalloc(n);
                stamp(small[i], n, tag++);
            }
        }
        cs = check_pages(buf, len, bid, cs);
        free(buf);

        size_t j = (size_t)(next(&r) % MIXED_LARGE);
        cs = check_pages(large[j].p, large[j].n, large[j].id, cs);
        free(large[j].p);
        large[j].n = range(&r, 64 * KiB, 4 * MiB);
        large[j].p = xmalloc(large[j].n);
        large[j].id = ++id;
        stamp_pages(large[j].p, 0, large[j].n, large[j].id);
    }

    for (size_t i = 0; i < MIXED_SMALL; i++) {
        cs = mix(cs, unstamp(small[i]));
        free(small[i]);
    }
    for (size_t i = 0; i < MIXED_LARGE; i++) {
        cs = check_pages(large[i].p, large[i].n, large[i].id, cs);
        free(large[i].p);
    }
    printf("mixed: iterations=%" PRIu64 " reallocs=%" PRIu64 " checksum=%016" PRIx64 "\n",
           iters, reallocs, cs);
    return 0;
}

/* }================================================================== */

/* {==================================================================
 * frag: does freed memory go back, and can other sizes reuse it?
 * =================================================================== */

/* dlsym into a function pointer without the object-to-function cast that
 * ISO C leaves undefined (the POSIX-blessed copy instead). */
#define LOOKUP(fn, name) \
    do { \
        void *sym_ = dlsym(RTLD_DEFAULT, name); \
        memcpy(&(fn), &sym_, sizeof(fn)); \
    } while (0)

/* Find and call the allocator's trim function; returns its name. */
static const char *trim(void)
{
    size_t (*rc_trim)(void);
    void (*mi_collect)(bool);
    int (*mallctl)(const char *, void *, size_t *, void *, size_t);
    void (*tc_release)(void);
    int (*malloc_trim)(size_t);

    LOOKUP(rc_trim, "rc_heap_trim");
    if (rc_trim != NULL) {
        rc_trim();
        return "rc_heap_trim";
    }
    LOOKUP(mi_collect, "mi_collect");
    if (mi_collect != NULL) {
        mi_collect(true);
        return "mi_collect";
    }
    LOOKUP(mallctl, "mallctl");
    if (mallctl != NULL) {
        /* "arena.<MALLCTL_ARENAS_ALL>.purge", MALLCTL_ARENAS_ALL == 4096 */
        mallctl("arena.4096.purge", NULL, NULL, NULL, 0);
        return "mallctl-purge";
    }
    LOOKUP(tc_release, "MallocExtension_ReleaseFreeMemory");
    if (tc_release != NULL) {
        tc_release();
        return "ReleaseFreeMemory";
    }
    LOOKUP(malloc_trim, "malloc_trim");
    if (malloc_trim != NULL) {
        malloc_trim(0);
        return "malloc_trim";
    }
    return "none";
}

/* n blocks of 16..512 bytes; free about 90% at random, trim, measure; then
 * allocate blocks of 600..4096 bytes (sizes the freed ones never had) until
 * they hold 90% of the freed bytes, and measure again. Live MiB counts the
 * bytes asked for in live blocks, not the two pointer tables (8 bytes per
 * block, in RSS too). */
static int wl_frag(uint64_t nblocks)
{
    size_t n = (size_t)nblocks;
    void **blk = malloc(n * sizeof *blk);
    if (blk == NULL)
        die("out of memory");
    rng r = seed(4);
    uint64_t cs = 0;
    uint32_t tag = 0;
    size_t live = 0, freed = 0;

    for (size_t i = 0; i < n; i++) {
        size_t sz = range(&r, 16, 512);
        blk[i] = xmalloc(sz);
        stamp(blk[i], sz, tag++);
        live += sz;
    }
    for (size_t i = 0; i < n; i++) {
        if (next(&r) % 10 != 0) {
            size_t sz = stamped_size(blk[i]);
            cs = mix(cs, unstamp(blk[i]));
            free(blk[i]);
            blk[i] = NULL;
            live -= sz;
            freed += sz;
        }
    }
    const char *how = trim();
    double rss1 = rss_mib(), live1 = (double)live / (double)MiB;

    size_t want = freed / 10 * 9, got = 0, m = 0;
    size_t cap = want / 600 + 1;
    void **big = malloc(cap * sizeof *big);
    if (big == NULL)
        die("out of memory");
    while (got < want && m < cap) {
        size_t sz = range(&r, 600, 4096);
        big[m] = xmalloc(sz);
        stamp(big[m], sz, tag++);
        got += sz;
        m++;
    }
    live += got;
    double rss2 = rss_mib(), live2 = (double)live / (double)MiB;

    for (size_t i = 0; i < n; i++) {
        if (blk[i] != NULL) {
            cs = mix(cs, unstamp(blk[i]));
            free(blk[i]);
        }
    }
    for (size_t i = 0; i < m; i++) {
        cs = mix(cs, unstamp(big[i]));
        free(big[i]);
    }
    free(big);
    free(blk);
    printf("frag: blocks=%zu trim=%s rss_trim_mib=%.1f live_mib=%.1f "
           "rss_refill_mib=%.1f live_refill_mib=%.1f checksum=%016" PRIx64 "\n",
           n, how, rss1, live1, rss2, live2, cs);
    return 0;
}

/* }================================================================== */

/* {==================================================================
 * bintree: the benchmarks-game binary-trees, one malloc per node
 * =================================================================== */

typedef struct node {
    struct node *left, *right;
} node;

static node *tree_make(int depth)
{
    node *t = xmalloc(sizeof *t);
    if (depth > 0) {
        t->left = tree_make(depth - 1);
        t->right = tree_make(depth - 1);
    } else {
        t->left = t->right = NULL;
    }
    return t;
}

static uint32_t tree_check(const node *t)
{
    uint32_t c = 1;
    if (t->left != NULL)
        c += tree_check(t->left) + tree_check(t->right);
    return c;
}

static void tree_free(node *t)
{
    if (t->left != NULL) {
        tree_free(t->left);
        tree_free(t->right);
    }
    free(t);
}

static int wl_bintree(uint64_t n)
{
    const int min_depth = 4;
    int max_depth = (int)n < min_depth + 2 ? min_depth + 2 : (int)n;
    uint64_t cs = 0;

    node *stretch = tree_make(max_depth + 1);
    uint32_t c = tree_check(stretch);
    printf("stretch tree of depth %d\t check: %" PRIu32 "\n", max_depth + 1, c);
    cs = mix(cs, c);
    tree_free(stretch);

    node *long_lived = tree_make(max_depth);
    for (int d = min_depth; d <= max_depth; d += 2) {
        uint32_t iterations = 1u << (max_depth - d + min_depth);
        uint32_t check = 0;
        for (uint32_t i = 0; i < iterations; i++) {
            node *t = tree_make(d);
            check += tree_check(t);
            tree_free(t);
        }
        printf("%" PRIu32 "\t trees of depth %d\t check: %" PRIu32 "\n", iterations, d, check);
        cs = mix(cs, check);
    }
    c = tree_check(long_lived);
    printf("long lived tree of depth %d\t check: %" PRIu32 "\n", max_depth, c);
    cs = mix(cs, c);
    tree_free(long_lived);
    printf("bintree: depth=%d checksum=%016" PRIx64 "\n", max_depth, cs);
    return 0;
}

/* }================================================================== */

/* {==================================================================
 * live32: memory cost of many small live blocks
 * =================================================================== */

/* n live 32-byte blocks chained through their first word (so no pointer
 * table adds to RSS), RSS measured with all of them live. */
static int wl_live32(uint64_t n)
{
    typedef struct link {
        struct link *next;
        uint64_t value;
        uint64_t pad[2];
    } link;
    _Static_assert(sizeof(link) == 32, "link must be 32 bytes");
    link *head = NULL;
    for (uint64_t i = 0; i < n; i++) {
        link *l = xmalloc(sizeof *l);
        l->next = head;
        l->value = i;
        head = l;
    }
    double rss = rss_mib();
    double data = (double)n * 32.0 / (double)MiB;

    char mapped[64] = "";
    void (*get_stats)(rc_heap_stats *);
    LOOKUP(get_stats, "rc_heap_get_stats");
    if (get_stats != NULL) {
        rc_heap_stats st;
        memset(&st, 0, sizeof st);
        get_stats(&st);
        snprintf(mapped, sizeof mapped, " rc_mapped_mib=%.1f",
                 (double)st.bytes_mapped / (double)MiB);
    }

    uint64_t cs = 0, count = 0;
    while (head != NULL) {
        link *next_l = head->next;
        cs = mix(cs, head->value);
        count++;
        free(head);
        head = next_l;
    }
    if (count != n)
        die("live32: list lost blocks");
    printf("live32: blocks=%" PRIu64 " data_mib=%.1f rss_mib=%.1f%s checksum=%016" PRIx64 "\n",
           n, data, rss, mapped, cs);
    return 0;
}

/* }================================================================== */

typedef struct workload {
    const char *name;
    int (*run)(uint64_t);
    uint64_t dflt;
    const char *what;
} workload;

static const workload workloads[] = {
    {"lifo", wl_lifo, 50000000, "N malloc(32)/free pairs, 100 live, LIFO"},
    {"random", wl_random, 10000000, "N random ops on N/8 slots of 16..512 B"},
    {"prodcons", wl_prodcons, 10000000, "N blocks made by one thread, freed by another"},
    {"larson", wl_larson, 20000000, "N slot replacements (16..1000 B), 2 threads swap arrays"},
    {"mixed", wl_mixed, 3000, "N realloc growth runs to 64K..4M among small blocks"},
    {"frag", wl_frag, 2000000, "N blocks of 16..512 B, free 90%, trim, refill with 600..4K"},
    {"bintree", wl_bintree, 20, "binary-trees of max depth N"},
    {"live32", wl_live32, 10000000, "RSS with N live 32-byte blocks"},
    {"pair32", wl_pair32, 100000000, "N malloc(32)+free pairs"},
};

int main(int argc, char **argv)
{
    size_t count = sizeof workloads / sizeof workloads[0];
    if (argc >= 2) {
        for (size_t i = 0; i < count; i++) {
            if (strcmp(argv[1], workloads[i].name) != 0)
                continue;
            uint64_t n = workloads[i].dflt;
            if (argc >= 3) {
                char *end;
                n = strtoull(argv[2], &end, 10);
                if (*end != '\0' || n == 0)
                    die("N must be a positive integer");
            }
            int rc = workloads[i].run(n);
            fflush(stdout);
            return rc;
        }
    }
    fprintf(stderr, "usage: %s WORKLOAD [N]\n", argv[0]);
    for (size_t i = 0; i < count; i++)
        fprintf(stderr, "  %-9s N=%-10" PRIu64 " %s\n", workloads[i].name,
                workloads[i].dflt, workloads[i].what);
    return 2;
}
