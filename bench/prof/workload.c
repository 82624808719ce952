/* workload.c — the allocation-heavy program of the tracing benchmark
 * (bench/prof/run.sh; see README.md there).
 *
 *     workload MODE LIVE TOTAL
 *
 * Allocates TOTAL small blocks in all: first LIVE of them, kept in an
 * array of slots (the live set grows to LIVE blocks: the peak), then
 * TOTAL - LIVE more, each replacing a slot chosen at random (the old block
 * is freed first: the live set churns at its peak), then frees them all.
 *
 * Sizes are log-uniform over 16..511 bytes (a power-of-two band 16 << k,
 * k in 0..4, chosen uniformly, then a uniform size inside the band: mean
 * about 149 B), as small blocks dominate most programs' heaps. Each block
 * is allocated at one of six call sites (six leaf functions, one
 * allocation each), reached through one of two chains of twelve noinline
 * functions, so a 16-frame traceback has sixteen real frames to walk and
 * the program has twelve distinct tracebacks. The program writes one word
 * into each block and nothing more: allocation dominates its time, the
 * harshest case for a tracer's overhead.
 *
 * Built two ways from this one file:
 *   - against libreclaim.a: blocks come from rc_malloc / rc_free, with the
 *     call-site macros of reclaim.h (every leaf is its own rc_site);
 *   - with -DUSE_MALLOC: plain malloc / free from glibc, the program that
 *     heaptrack and Valgrind's massif run.
 *
 * MODE (the reclaim build):
 *   plain     no tracing
 *   trace1    rc_trace_start(1): call sites only
 *   trace16   rc_trace_start(16): tracebacks of 16 frames
 *   sampled   rc_trace_start_sampled(0, 16): the default 512 KiB mean, 16 frames
 *   check16   trace16, then print the depth and first frames of one block's
 *             traceback (not timed by run.sh: symbolizing costs time)
 * The -DUSE_MALLOC build takes plain only.
 *
 * It prints one line run.sh parses:
 *   RESULT mode=M live=L total=T checksum=C cpu_s=S maxrss_kib=K
 *          traced_bytes=B overhead_bytes=O end_traced_bytes=B2 end_overhead_bytes=O2
 * traced_bytes and overhead_bytes are rc_trace_get_traced_memory's current
 * figure and rc_trace_overhead() taken when the live set is largest (right
 * after the fill); end_* the same just before the final frees (after the
 * churn); all 0 when not tracing. cpu_s is getrusage's user + sys of the
 * whole process so far; run.sh times the process from outside. The
 * checksum depends on the sizes and sites only, so every mode and both
 * builds print the same one for the same LIVE and TOTAL, and so does
 * workload.py.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#ifdef USE_MALLOC
#define ALLOC(n) malloc(n)
#define FREE(p) free(p)
#else
#include <reclaim.h>
#define ALLOC(n) rc_malloc(n)
#define FREE(p) rc_free(p)
#endif

#define NOINLINE __attribute__((noinline))
/* After a call: keeps the call a real call (no tail call), so the frame stays on the stack. */
#define BARRIER() __asm__ volatile("" ::: "memory")

static void die(const char *what) {
#ifdef USE_MALLOC
    fprintf(stderr, "workload (malloc): %s\n", what);
#else
    fprintf(stderr, "workload (reclaim): %s\n  rc_last_error: %s\n", what, rc_last_error());
#endif
    exit(1);
}

/* {==== the random sequence (workload.py computes the same one) ==== */

/* xorshift64*, fixed seed: the same sizes and sites in every run and mode. */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t rng(void) {
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1Du;
}

/* }==== */

/* {==== six call sites ==== */

/* Each leaf allocates at its own line: six rc_site records under reclaim,
 * six return addresses under malloc. The word written is the block's tag. */
#define LEAF(name)                                          \
    static NOINLINE void *name(size_t n, uint64_t tag) {   \
        uint64_t *p = ALLOC(n);                             \
        if (!p) die(#name ": out of memory");               \
        p[0] = tag;                                         \
        return p;                                           \
    }
LEAF(site_node)
LEAF(site_string)
LEAF(site_buffer)
LEAF(site_vector)
LEAF(site_key)
LEAF(site_value)

static NOINLINE void *leaf(unsigned site, size_t n, uint64_t tag) {
    void *p;
    switch (site) {
    case 0: p = site_node(n, tag); break;
    case 1: p = site_string(n, tag); break;
    case 2: p = site_buffer(n, tag); break;
    case 3: p = site_vector(n, tag); break;
    case 4: p = site_key(n, tag); break;
    default: p = site_value(n, tag); break;
    }
    BARRIER();
    return p;
}

/* }==== */

/* {==== two chains of twelve frames ==== */

#define LEVEL(name, next)                                              \
    static NOINLINE void *name(unsigned site, size_t n, uint64_t tag) { \
        void *p = next(site, n, tag);                                  \
        BARRIER();                                                     \
        return p;                                                      \
    }
LEVEL(parse_12, leaf)
LEVEL(parse_11, parse_12)
LEVEL(parse_10, parse_11)
LEVEL(parse_9, parse_10)
LEVEL(parse_8, parse_9)
LEVEL(parse_7, parse_8)
LEVEL(parse_6, parse_7)
LEVEL(parse_5, parse_6)
LEVEL(parse_4, parse_5)
LEVEL(parse_3, parse_4)
LEVEL(parse_2, parse_3)
LEVEL(parse_1, parse_2)
LEVEL(build_12, leaf)
LEVEL(build_11, build_12)
LEVEL(build_10, build_11)
LEVEL(build_9, build_10)
LEVEL(build_8, build_9)
LEVEL(build_7, build_8)
LEVEL(build_6, build_7)
LEVEL(build_5, build_6)
LEVEL(build_4, build_5)
LEVEL(build_3, build_4)
LEVEL(build_2, build_3)
LEVEL(build_1, build_2)

/* One block: its size, site and chain drawn from the sequence; adds them
 * to the checksum. */
static uint64_t checksum;
static NOINLINE void *one_block(void) {
    uint64_t r = rng();
    unsigned band = (unsigned)(r % 5);
    size_t n = ((size_t)16 << band) + (size_t)((r >> 8) % ((uint64_t)16 << band));
    unsigned site = (unsigned)((r >> 32) % 6);
    unsigned chain = (unsigned)((r >> 40) & 1);
    checksum = checksum * 31 + n * 8 + site * 2 + chain;
    void *p = chain ? build_1(site, n, r) : parse_1(site, n, r);
    BARRIER();
    return p;
}

/* }==== */

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static long maxrss_kib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* The tracer's figures now: traced bytes and its own bytes (0, 0 without tracing). */
static void trace_figures(size_t *traced, size_t *overhead) {
    *traced = *overhead = 0;
#ifndef USE_MALLOC
    if (rc_trace_is_tracing()) {
        rc_trace_get_traced_memory(traced, NULL);
        *overhead = rc_trace_overhead();
    }
#endif
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: workload MODE LIVE TOTAL (see the comment at the top of workload.c)\n");
        return 2;
    }
    const char *mode = argv[1];
    char *end;
    unsigned long long live = strtoull(argv[2], &end, 10);
    if (*end || live == 0) die("LIVE must be a positive integer");
    unsigned long long total = strtoull(argv[3], &end, 10);
    if (*end || total < live) die("TOTAL must be an integer >= LIVE");

#ifdef USE_MALLOC
    if (strcmp(mode, "plain")) die("this build (-DUSE_MALLOC) has mode plain only");
#else
    int rc = 0, check = 0;
    if (!strcmp(mode, "plain")) rc = 0;
    else if (!strcmp(mode, "trace1")) rc = rc_trace_start(1);
    else if (!strcmp(mode, "trace16")) rc = rc_trace_start(16);
    else if (!strcmp(mode, "check16")) rc = rc_trace_start(16), check = 1;
    else if (!strcmp(mode, "sampled")) rc = rc_trace_start_sampled(0, 16);
    else die("unknown mode (plain, trace1, trace16, sampled, check16)");
    if (rc != 0) die("starting the tracer failed");
#endif

    /* The slots come from the C library's malloc in both builds: not traced,
     * and the same bytes in every mode. */
    void **slots = malloc((size_t)live * sizeof *slots);
    if (!slots) die("out of memory for the slots");

    /* fill: the live set grows to LIVE blocks */
    for (size_t i = 0; i < live; i++) slots[i] = one_block();
    size_t traced, overhead;
    trace_figures(&traced, &overhead);

    /* churn at the peak: free a random slot, allocate in its place */
    for (unsigned long long j = live; j < total; j++) {
        size_t k = (size_t)(rng() % live);
        FREE(slots[k]);
        slots[k] = one_block();
    }
    size_t end_traced, end_overhead;
    trace_figures(&end_traced, &end_overhead);

#ifndef USE_MALLOC
    if (check) {
        rc_frame fr[RC_TRACE_MAX_FRAMES];
        unsigned depth = rc_trace_site_of(slots[0], fr, RC_TRACE_MAX_FRAMES);
        printf("CHECK depth=%u", depth);
        for (unsigned i = 0; i < depth && i < RC_TRACE_MAX_FRAMES; i++)
            printf(" %s", fr[i].function ? fr[i].function : "?");
        printf("\n");
    }
#endif

    for (size_t i = 0; i < live; i++) FREE(slots[i]);
    free(slots);

    printf("RESULT mode=%s live=%llu total=%llu checksum=%llu cpu_s=%.3f maxrss_kib=%ld traced_bytes=%zu "
           "overhead_bytes=%zu end_traced_bytes=%zu end_overhead_bytes=%zu\n",
           mode, live, total, (unsigned long long)checksum, cpu_seconds(), maxrss_kib(), traced,
           overhead, end_traced, end_overhead);
#ifndef USE_MALLOC
    rc_trace_stop();
#endif
    return 0;
}
