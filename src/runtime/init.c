/*
 * init.c — start-up and shutdown of the library as a whole.
 *
 * Start-up is lazy: the first heap call reads the options and sets the
 * allocator mode (_rc_heap_init in src/heap/heap.c), so the library works
 * when its first caller is the C library itself, before main. rc_shutdown
 * is registered with atexit at that point; it prints the heap statistics
 * when RECLAIM_MALLOCSTATS is on. Later layers add their exit work here.
 */
#include <stdatomic.h>
#include <time.h>

#include "internal/heap.h"

uint64_t _rc_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void rc_shutdown(void) {
    static _Atomic(int) done;
    if (atomic_exchange(&done, 1)) return;
    if (_rc_option(RC_OPT_MALLOCSTATS)) rc_heap_print_stats(stderr);
}

const char *rc_version(void) { return RC_VERSION_STRING; }
