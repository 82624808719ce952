/*
 * test_heap_util.h — helpers shared by the single-threaded heap and option
 * tests (test_heap_*.c, test_options.c): capturing library messages and
 * stderr, blocks from glibc, reading the resident set size, saving and
 * restoring RECLAIM_* variables, fill patterns.
 *
 * Everything is static inline, and state lives in function-local statics,
 * so a test file that uses only part of it compiles without warnings.
 */
#ifndef RC_TEST_HEAP_UTIL_H
#define RC_TEST_HEAP_UTIL_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "reclaim.h"
#include "internal/heap.h"

#define MiB ((size_t)1 << 20)
#define KiB ((size_t)1 << 10)

#include "test_capture.h"

/* ---- stderr ---- */

/* stderr redirected to a temporary file. */
typedef struct stderr_capture {
    FILE *tmp;
    int saved; /* the real stderr */
} stderr_capture;

/* Send stderr to a temporary file, and library messages to stderr (no
 * message handler). */
static inline void stderr_capture_begin(stderr_capture *s) {
    s->tmp = tmpfile();
    assert_non_null(s->tmp);
    fflush(stderr);
    s->saved = dup(STDERR_FILENO);
    assert_true(s->saved >= 0);
    assert_true(dup2(fileno(s->tmp), STDERR_FILENO) >= 0);
    rc_set_message_handler(NULL, NULL);
}

/* Put stderr back and read what was written to it meanwhile into text (at
 * most cap - 1 bytes, NUL-terminated); returns the bytes read. */
static inline size_t stderr_capture_end(stderr_capture *s, char *text, size_t cap) {
    fflush(stderr);
    dup2(s->saved, STDERR_FILENO);
    close(s->saved);
    rewind(s->tmp);
    size_t n = fread(text, 1, cap - 1, s->tmp);
    text[n] = '\0';
    fclose(s->tmp);
    return n;
}

/* ---- memory from glibc ---- */

extern void *__libc_malloc(size_t size);
extern void __libc_free(void *p);

#define LIBC_SMALL_SIZE ((size_t)100)
#define LIBC_MAPPED_SIZE (4 * MiB)

/* Blocks the heap never gave out, from glibc. */
typedef struct libc_blocks {
    uint8_t *small;  /* malloc(LIBC_SMALL_SIZE) */
    uint8_t *libc;   /* __libc_malloc(LIBC_SMALL_SIZE) */
    uint8_t *mapped; /* malloc(LIBC_MAPPED_SIZE): glibc maps this one */
} libc_blocks;

static inline libc_blocks libc_blocks_alloc(void) {
    libc_blocks b;
    b.small = malloc(LIBC_SMALL_SIZE);
    b.libc = __libc_malloc(LIBC_SMALL_SIZE);
    b.mapped = malloc(LIBC_MAPPED_SIZE);
    assert_non_null(b.small);
    assert_non_null(b.libc);
    assert_non_null(b.mapped);
    return b;
}

static inline void libc_blocks_free(libc_blocks *b) {
    free(b->small);
    __libc_free(b->libc);
    free(b->mapped);
}

/* ---- resident memory ---- */

/* Resident set size of this process in bytes (from /proc/self/statm). */
static inline size_t rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    assert_non_null(f);
    unsigned long size = 0, resident = 0;
    int n = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    assert_int_equal(n, 2);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* ---- the RECLAIM_* environment ---- */

#define RC_TEST_NVARS 6
static inline const char *const *rc_test_var_names(void) {
    static const char *const names[RC_TEST_NVARS] = {
        "RECLAIM_MALLOC",      "RECLAIM_MALLOCSTATS", "RECLAIM_PURGE_DELAY",
        "RECLAIM_HEAP_RETAIN", "RECLAIM_LARGE_CACHE", "RECLAIM_DEBUG_QUARANTINE",
    };
    return names;
}

typedef struct saved_env {
    char *value[RC_TEST_NVARS]; /* strdup'd (glibc malloc) or NULL when unset */
} saved_env;

/* Save every RECLAIM_* variable and unset them all. */
static inline void env_save_and_clear(saved_env *s) {
    const char *const *names = rc_test_var_names();
    for (int i = 0; i < RC_TEST_NVARS; i++) {
        const char *v = getenv(names[i]);
        s->value[i] = v ? strdup(v) : NULL;
        unsetenv(names[i]);
    }
}

/* Put the saved variables back and re-read the options, with messages
 * captured so that a bad value in the caller's environment is not printed
 * a second time. */
static inline void env_restore(saved_env *s) {
    const char *const *names = rc_test_var_names();
    for (int i = 0; i < RC_TEST_NVARS; i++) {
        if (s->value[i]) setenv(names[i], s->value[i], 1);
        else unsetenv(names[i]);
        free(s->value[i]);
        s->value[i] = NULL;
    }
    capture_begin();
    _rc_options_reload();
    capture_end();
}

/* Save the environment, then run with the given RECLAIM_* settings (a
 * NULL-terminated list of name, value pairs) and re-read the options. */
static inline void env_set_options(saved_env *s, ...) {
    env_save_and_clear(s);
    va_list ap;
    va_start(ap, s);
    for (;;) {
        const char *name = va_arg(ap, const char *);
        if (!name) break;
        const char *value = va_arg(ap, const char *);
        setenv(name, value, 1);
    }
    va_end(ap);
    _rc_options_reload();
}

/* ---- fill patterns ---- */

static inline void fill_pattern(void *p, size_t n, unsigned seed) {
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(seed * 131u + i * 7u + (i >> 8));
}

/* Index of the first byte that does not hold the pattern, or n. */
static inline size_t check_pattern(const void *p, size_t n, unsigned seed) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != (uint8_t)(seed * 131u + i * 7u + (i >> 8))) return i;
    return n;
}

#define assert_pattern(p, n, seed) assert_int_equal(check_pattern((p), (n), (seed)), (n))

/* The heap validates; on failure the message names the problem. */
#define assert_heap_valid()                                                        \
    do {                                                                           \
        if (!_rc_heap_validate()) fail_msg("heap invalid: %s", rc_last_error());  \
    } while (0)

static inline bool is_aligned(const void *p, size_t a) { return ((uintptr_t)p & (a - 1)) == 0; }

#endif
