/*
 * test_gc_regress.c — user code doing unusual things at awkward moments of
 * a collection or a release, each once a bug (found by review):
 *   an object that clear() untracks while the collector holds it as garbage
 *   a finalizer that tracks its object without resurrecting it
 *   a finalizer that untracks and drops the only reference to a garbage
 *     object (its hold must still be dropped as a real decref)
 *   a weak reference that a finalizer makes to another garbage object must
 *     be cleared before any clear() runs
 * Each test checks the observable outcome (destroy counts, the garbage
 * list, generation 0, what rc_weakref_get returns).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "reclaim.h"

typedef struct pair {
    struct pair *other, *extra;
    int cleared;
    int named;
} pair;

static int destroyed, destroyed_named;

static int pair_traverse(void *self, rc_visit_fn visit, void *arg) {
    pair *p = self;
    int r = visit(p->other, arg);
    return r ? r : visit(p->extra, arg);
}

static void pair_clear(void *self) {
    pair *p = self;
    p->cleared = 1;
    RC_CLEAR(p->other);
    RC_CLEAR(p->extra);
}

static void pair_destroy(void *self) {
    pair *p = self;
    destroyed++;
    if (p->named) destroyed_named++;
    RC_CLEAR(p->other);
    RC_CLEAR(p->extra);
}

static int reset(void **state) {
    (void)state;
    rc_gc_collect(-1);
    rc_gc_garbage_clear();
    destroyed = destroyed_named = 0;
    return 0;
}

/* two objects a <-> b, both handed back without a C reference */
static void make_cycle(const rc_type *t, pair **a_out, pair **b_out) {
    pair *a = rc_new(t), *b = rc_new(t);
    assert_non_null(a);
    assert_non_null(b);
    a->other = rc_incref(b);
    b->other = rc_incref(a);
    *a_out = a;
    *b_out = b;
    rc_decref(a);
    rc_decref(b);
}

/* {==== clear() untracks its own object ==== */

static void untrack_clear(void *self) {
    rc_gc_untrack(self);
    pair_clear(self);
}

static const rc_type untrack_in_clear_type = {.name = "untrack_in_clear", .size = sizeof(pair),
                                              .traverse = pair_traverse, .clear = untrack_clear,
                                              .destroy = pair_destroy};

static void test_untrack_in_clear_frees_cleanly(void **state) {
    (void)state;
    pair *a, *b;
    make_cycle(&untrack_in_clear_type, &a, &b);
    assert_int_equal(rc_gc_collect(-1), 2);
    assert_int_equal(destroyed, 2);
    /* nothing freed may be listed as garbage */
    assert_int_equal(rc_gc_garbage(NULL, NULL), 0);
    pair *c = rc_new(&untrack_in_clear_type); /* reuses a freed block */
    rc_gc_garbage_clear();
    assert_int_equal(rc_refcount(c), 1);
    rc_decref(c);
}
/* }==== */

/* {==== finalize tracks its object, then lets it die ==== */

static void track_finalize(void *self) { rc_gc_track(self); }

static const rc_type track_in_finalize_type = {.name = "track_in_finalize", .size = sizeof(pair),
                                               .traverse = pair_traverse, .finalize = track_finalize,
                                               .destroy = pair_destroy};

static void test_track_in_finalize_leaves_nothing_tracked(void **state) {
    (void)state;
    size_t before = rc_gc_get_objects(0, NULL, NULL);
    pair *a = rc_new(&track_in_finalize_type);
    rc_gc_untrack(a);
    rc_decref(a); /* finalize tracks it; it dies anyway */
    assert_int_equal(destroyed, 1);
    assert_int_equal(rc_gc_get_objects(0, NULL, NULL), before);
    assert_int_equal(rc_gc_collect(0), 0);
}
/* }==== */

/* {==== finalize untracks and drops a garbage object ==== */

static void drop_extra_finalize(void *self) {
    pair *p = self;
    if (p->extra) {
        rc_gc_untrack(p->extra);
        RC_CLEAR(p->extra);
    }
}

static const rc_type drop_extra_type = {.name = "drop_extra", .size = sizeof(pair), .traverse = pair_traverse,
                                        .clear = pair_clear, .finalize = drop_extra_finalize,
                                        .destroy = pair_destroy};
static const rc_type plain_type = {.name = "plain", .size = sizeof(pair), .traverse = pair_traverse,
                                   .clear = pair_clear, .destroy = pair_destroy};

static void test_finalizer_dropping_garbage_object_frees_it(void **state) {
    (void)state;
    pair *a = rc_new(&drop_extra_type), *b = rc_new(&drop_extra_type), *x = rc_new(&plain_type);
    x->named = 1;
    a->other = rc_incref(b);
    b->other = rc_incref(a);
    a->extra = x; /* a holds the only reference to x */
    rc_decref(a);
    rc_decref(b);
    rc_gc_collect(-1);
    assert_int_equal(destroyed_named, 1); /* x was released, not leaked */
    assert_int_equal(destroyed, 3);
}
/* }==== */

/* {==== a weak reference made by a finalizer to garbage ==== */

static rc_weakref *made_in_finalizer;
static int got_half_cleared;

static void weak_finalize(void *self) {
    pair *p = self;
    if (!p->named && !made_in_finalizer) made_in_finalizer = rc_weakref_new(p->other, NULL, NULL);
}

static void weak_clear(void *self) {
    pair_clear(self);
    if (made_in_finalizer) {
        pair *got = rc_weakref_get(made_in_finalizer);
        if (got) got_half_cleared = 1;
        rc_decref(got);
    }
}

static const rc_type weak_in_finalizer_type = {.name = "weak_in_finalizer", .size = sizeof(pair),
                                               .traverse = pair_traverse, .clear = weak_clear,
                                               .finalize = weak_finalize, .destroy = pair_destroy};

static void test_weakref_made_by_finalizer_cleared_before_clear(void **state) {
    (void)state;
    made_in_finalizer = NULL;
    got_half_cleared = 0;
    pair *b = rc_new(&weak_in_finalizer_type);
    b->named = 1;
    pair *a = rc_new(&weak_in_finalizer_type);
    a->other = rc_incref(b);
    b->other = rc_incref(a);
    rc_decref(a);
    rc_decref(b);
    assert_int_equal(rc_gc_collect(-1), 2);
    assert_non_null(made_in_finalizer);
    assert_int_equal(got_half_cleared, 0);
    assert_null(rc_weakref_get(made_in_finalizer));
    rc_decref(made_in_finalizer);
    made_in_finalizer = NULL;
}
/* }==== */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_untrack_in_clear_frees_cleanly, reset, reset),
        cmocka_unit_test_setup_teardown(test_track_in_finalize_leaves_nothing_tracked, reset, reset),
        cmocka_unit_test_setup_teardown(test_finalizer_dropping_garbage_object_frees_it, reset, reset),
        cmocka_unit_test_setup_teardown(test_weakref_made_by_finalizer_cleared_before_clear, reset, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
