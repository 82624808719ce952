/*
 * init.c — start-up and shutdown of the library as a whole.
 *
 * Start-up is lazy: the first heap call reads the options and sets the
 * allocator mode (_rc_heap_init in src/heap/heap.c), so the library works
 * when its first caller is the C library itself, before main. rc_shutdown
 * is registered with atexit at that point; it prints the heap statistics
 * when RECLAIM_MALLOCSTATS is on, to a copy of stderr taken at start-up:
 * programs such as sort close stderr in their own exit handlers, which run
 * before ours. The object layers' exit work (final collection, pending
 * finalizers, leak report) runs first, through _rc_shutdown_hook.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "internal/heap.h"

uint64_t _rc_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int report_fd = -1;
void (*_rc_shutdown_hook)(void);

void _rc_runtime_start(void) {
    if (_rc_option(RC_OPT_MALLOCSTATS)) report_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
}

void rc_shutdown(void) {
    static _Atomic(int) done;
    if (atomic_exchange(&done, 1)) return;
    if (_rc_shutdown_hook) _rc_shutdown_hook();
    if (_rc_option(RC_OPT_MALLOCSTATS)) {
        FILE *out = report_fd >= 0 ? fdopen(report_fd, "w") : NULL;
        rc_heap_print_stats(out ? out : stderr);
        if (out) fclose(out);
        report_fd = -1;
    }
}

const char *rc_version(void) { return RC_VERSION_STRING; }
