/*
 * override.c — libreclaim-malloc.so: the C library's allocation functions,
 * served by reclaim's heap, for LD_PRELOAD (or linking first).
 *
 * Each function is the C standard's or glibc's contract mapped onto the
 * heap API: errno is ENOMEM on failure, posix_memalign returns its error
 * instead of setting errno, memalign rounds a non-power-of-two alignment
 * up as glibc does, pvalloc rounds the size up to whole pages. The heap
 * starts itself on the first call, which may come from the C library
 * before main, and survives fork (see src/heap/heap.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal/heap.h"
#include "reclaim.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT void *malloc(size_t size) { return rc_malloc(size); }
EXPORT void free(void *p) { rc_free(p); }
EXPORT void *calloc(size_t n, size_t size) { return rc_calloc(n, size); }
EXPORT void *realloc(void *p, size_t size) { return rc_realloc(p, size); }

EXPORT void *reallocarray(void *p, size_t n, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return rc_realloc(p, total);
}

/* The next power of two (glibc rounds memalign's alignment up); 0 when
 * there is none. */
static size_t round_pow2(size_t a) {
    if (a <= RC_ALIGNMENT) return RC_ALIGNMENT;
    if ((a & (a - 1)) == 0) return a;
    if (a > (SIZE_MAX >> 1) + 1) return 0;
    return (size_t)1 << (64 - __builtin_clzll(a));
}

EXPORT int posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    void *p = _rc_aligned_any(alignment, size);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

EXPORT void *aligned_alloc(size_t alignment, size_t size) {
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
        errno = EINVAL;
        return NULL;
    }
    return _rc_aligned_any(alignment, size);
}

EXPORT void *memalign(size_t alignment, size_t size) {
    size_t a = round_pow2(alignment);
    if (a == 0) {
        errno = EINVAL;
        return NULL;
    }
    return _rc_aligned_any(a, size);
}

static size_t page_size(void) {
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

EXPORT void *valloc(size_t size) { return _rc_aligned_any(page_size(), size); }

EXPORT void *pvalloc(size_t size) {
    size_t page = page_size();
    size_t rounded = (size + page - 1) & ~(page - 1);
    if (rounded < size) {
        errno = ENOMEM;
        return NULL;
    }
    return _rc_aligned_any(page, rounded ? rounded : page);
}

EXPORT size_t malloc_usable_size(void *p) { return rc_usable_size(p); }

EXPORT int malloc_trim(size_t pad) {
    (void)pad;
    return rc_heap_trim() != 0;
}

EXPORT void malloc_stats(void) { rc_heap_print_stats(stderr); }
