/*
 * types_util.h — helpers shared by the tests of the built-in types
 * (tests/types/test_*.c).
 *
 *   types_setup / types_teardown   cmocka setup and teardown: teardown
 *       runs a full collection and fails the test if any object made by it
 *       is still alive (immortal objects — None, small ints, interned
 *       strs — do not count). So every test also checks its reference
 *       counts: a missing decref leaves an object behind, an extra one
 *       trips the debug build's checked rc_decref.
 *   live_objects()     objects of this thread's world still alive.
 *   REPR_EQ(obj, "text")  assert rc_repr(obj) is text.
 *   clear_error()      empty rc_last_error, so a test sees a call set it.
 *   ERROR_HAS("text")  assert rc_last_error() contains text.
 *
 * Run a test with TYPES_TEST(fn) in the cmocka table.
 */
#ifndef RC_TYPES_UTIL_H
#define RC_TYPES_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "reclaim.h"
#include "internal/object.h"
#include "internal/runtime.h"

static void count_live(rc_object_head *h, void *arg) {
    if ((int32_t)h->refcnt >= 0) ++*(size_t *)arg;
}

static inline size_t live_objects(void) {
    size_t n = 0;
    rc_world *w = _rc_world_get();
    if (w) _rc_world_walk(w, count_live, &n);
    return n;
}

static size_t types_baseline;

static inline int types_setup(void **state) {
    (void)state;
    rc_gc_collect(-1);
    types_baseline = live_objects();
    return 0;
}

static inline int types_teardown(void **state) {
    (void)state;
    rc_gc_collect(-1);
    size_t now = live_objects();
    if (now != types_baseline) {
        fprintf(stderr, "leak check: %zu objects alive after the test, %zu before\n", now, types_baseline);
        return -1; /* cmocka reports the teardown failure */
    }
    return 0;
}

#define TYPES_TEST(fn) cmocka_unit_test_setup_teardown(fn, types_setup, types_teardown)

static inline void clear_error(void) { _rc_set_error("%s", ""); }

#define ERROR_HAS(text)                                                                  \
    do {                                                                                 \
        if (!strstr(rc_last_error(), (text)))                                            \
            fail_msg("rc_last_error() is \"%s\", expected it to contain \"%s\"", rc_last_error(), (text)); \
    } while (0)

#define REPR_EQ(obj, text)                                                                \
    do {                                                                                  \
        void *repr_eq_r_ = rc_repr(obj);                                                  \
        assert_non_null(repr_eq_r_);                                                      \
        assert_string_equal(rc_str_cstr(repr_eq_r_), (text));                             \
        rc_decref(repr_eq_r_);                                                            \
    } while (0)

#endif
