/*
 * test_scale.h — sanitizer detection and work scaling for the threaded
 * tests (test_threads.c, test_fork.c).
 *
 * RC_TEST_TSAN and RC_TEST_ASAN are 1 in a ThreadSanitizer or
 * AddressSanitizer build (gcc or clang), else 0. scaled(n, least) is n
 * times the scale, at least `least`: the scale is RECLAIM_TEST_SCALE when
 * set (1 is the release size), else TEST_SCALE_TSAN under ThreadSanitizer,
 * 0.5 under AddressSanitizer and 1 otherwise. A file may define
 * TEST_SCALE_TSAN before including this header.
 */
#ifndef RC_TEST_SCALE_H
#define RC_TEST_SCALE_H

#include <stddef.h>
#include <stdlib.h>

#if defined(__SANITIZE_THREAD__)
#define RC_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RC_TEST_TSAN 1
#endif
#endif
#ifndef RC_TEST_TSAN
#define RC_TEST_TSAN 0
#endif
#if defined(__SANITIZE_ADDRESS__)
#define RC_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RC_TEST_ASAN 1
#endif
#endif
#ifndef RC_TEST_ASAN
#define RC_TEST_ASAN 0
#endif

#ifndef TEST_SCALE_TSAN
#define TEST_SCALE_TSAN 0.2
#endif

static inline double scale(void) {
    const char *s = getenv("RECLAIM_TEST_SCALE");
    if (s && *s) {
        double v = strtod(s, NULL);
        if (v > 0) return v;
    }
    return RC_TEST_TSAN ? TEST_SCALE_TSAN : RC_TEST_ASAN ? 0.5 : 1.0;
}

static inline size_t scaled(size_t n, size_t least) {
    double v = (double)n * scale();
    return v < (double)least ? least : (size_t)v;
}

#endif
