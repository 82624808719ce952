/*
 * demo.c — reclaim's private heap at work.
 *
 * Allocates a few million small blocks of mixed sizes, frees most of them,
 * trims, and prints the heap statistics before and after, as
 * sys._debugmallocstats() would show them for pymalloc.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <reclaim.h>

#define NBLOCKS 3000000

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Resident set size of this process, from /proc/self/statm. */
static double rss_mib(void) {
    unsigned long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%lu %lu", &pages, &resident) != 2) resident = 0;
        fclose(f);
    }
    return resident * 4096.0 / 1048576.0;
}

static void summary(const char *when) {
    rc_heap_stats s;
    rc_heap_get_stats(&s);
    printf("%-26s in use %7.1f MiB in %8zu blocks | mapped %7.1f MiB, %4zu arenas | RSS %7.1f MiB\n", when,
           s.bytes_in_use / 1048576.0, s.blocks_in_use, s.bytes_mapped / 1048576.0, s.arenas, rss_mib());
}

int main(void) {
    printf("reclaim %s: the private heap\n\n", rc_version());
    void **blocks = rc_malloc(NBLOCKS * sizeof *blocks);
    if (!blocks) {
        fprintf(stderr, "demo: out of memory: %s\n", rc_last_error());
        return 1;
    }
    for (size_t i = 0; i < NBLOCKS; i++) {
        size_t size = 8 + next_rand() % 500;
        if (i % 1000 == 0) size = 600 + next_rand() % 8000; /* a few medium blocks */
        blocks[i] = rc_malloc(size);
        if (!blocks[i]) {
            fprintf(stderr, "demo: out of memory at block %zu: %s\n", i, rc_last_error());
            return 1;
        }
        ((unsigned char *)blocks[i])[0] = (unsigned char)i;
    }
    summary("after 3M allocations:");
    size_t kept = 0;
    for (size_t i = 0; i < NBLOCKS; i++) {
        if (next_rand() % 10 == 0) {
            blocks[kept++] = blocks[i]; /* keep one in ten */
        } else {
            rc_free(blocks[i]);
        }
    }
    summary("after freeing 90%:");
    printf("\n--- rc_heap_print_stats before trim ---\n");
    rc_heap_print_stats(stdout);
    size_t released = rc_heap_trim();
    printf("\nrc_heap_trim() gave %.1f MiB back to the OS\n", released / 1048576.0);
    summary("after trim:");
    printf("\n--- rc_heap_print_stats after trim ---\n");
    rc_heap_print_stats(stdout);
    for (size_t i = 0; i < kept; i++) rc_free(blocks[i]);
    rc_free(blocks);
    rc_heap_trim();
    summary("after freeing everything:");
    return 0;
}
