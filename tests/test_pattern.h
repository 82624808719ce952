/*
 * test_pattern.h — random numbers and block patterns shared by the stress
 * tests (test_threads.c, test_fork.c, test_oom.c) and test_heap_sizes.c.
 *
 * fill() writes a pattern derived from a tag over a block and check() tells
 * whether the block still holds it. The pattern of a tag differs between
 * test files: a file may define TEST_PATTERN_SALT (a uint64_t constant)
 * before including this header to choose its own.
 *
 * Everything is static inline, so a file that uses only part of it
 * compiles without warnings.
 */
#ifndef RC_TEST_PATTERN_H
#define RC_TEST_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifndef TEST_PATTERN_SALT
#define TEST_PATTERN_SALT 0xA5A5A5A5DEADBEEFull
#endif

/* xorshift64*: the next number from the state *s (which must not be 0). */
static inline uint64_t rnd(uint64_t *s) {
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static inline uint64_t word_of(uint64_t tag, size_t i) {
    return (tag ^ (uint64_t)TEST_PATTERN_SALT) + i * 0x9E3779B97F4A7C15ull;
}

/* Byte i is byte i % 8 of word_of(tag, i / 8): a prefix of a block carries
 * the pattern of the prefix, so realloc can be checked. */
static inline void fill(void *p, size_t n, uint64_t tag) {
    unsigned char *b = p;
    size_t words = n / 8;
    for (size_t i = 0; i < words; i++) {
        uint64_t w = word_of(tag, i);
        memcpy(b + i * 8, &w, 8);
    }
    uint64_t last = word_of(tag, words);
    memcpy(b + words * 8, &last, n - words * 8);
}

/* The n bytes at p hold the pattern fill(p, n, tag) wrote. */
static inline bool check(const void *p, size_t n, uint64_t tag) {
    const unsigned char *b = p;
    size_t words = n / 8;
    for (size_t i = 0; i < words; i++) {
        uint64_t w;
        memcpy(&w, b + i * 8, 8);
        if (w != word_of(tag, i)) return false;
    }
    uint64_t last = word_of(tag, words);
    return memcmp(b + words * 8, &last, n - words * 8) == 0;
}

static inline bool all_zero(const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i]) return false;
    return true;
}

#endif
