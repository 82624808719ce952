/*
 * test_finalize.c — PEP 442 finalizers (rc_type.finalize) in cyclic
 * garbage and at plain reference-count death: once per object, before any
 * clear; resurrection keeps a cycle intact, is not finalized again, and a
 * later death frees it without finalizing; finalizers that create objects
 * or garbage, or ask for a collection; resurrection out of a nested
 * release; a collection started from a finalizer during a release.
 */
#include "test_object_util.h"

/* ---- in cyclic garbage ---- */

static void test_finalize_runs_once_per_object(void **state) {
    (void)state;
    make_garbage_ring(fin_type(), 3, 1);
    assert_int_equal(rc_gc_collect(-1), 3);
    for (long id = 1; id <= 3; id++) {
        assert_int_equal(count_events(EV_FINALIZE, id), 1);
        assert_int_equal(count_events(EV_DESTROY, id), 1);
    }
    assert_int_equal(S()->finalized, 3);
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(S()->finalized, 3);
}

static int g_intact_seen, g_broken_seen, g_unfinalized_at_clear;

/* finalize hook: the cycle is still whole */
static void check_ring_intact(node *self) {
    node *next = self->ref[0];
    if (next && next->ref[0] && ((node *)next->ref[0])->ref[0]) g_intact_seen++;
    else g_broken_seen++;
}

/* clear hook: every finalizer of the cycle has run */
static void check_finalized_at_clear(node *self) {
    if (rc_type_of(self) == fin_type() && !rc_gc_is_finalized(self)) g_unfinalized_at_clear++;
    node *next = self->ref[0];
    if (next && rc_type_of(next) == fin_type() && !rc_gc_is_finalized(next)) g_unfinalized_at_clear++;
}

static void test_finalize_runs_before_any_clear(void **state) {
    (void)state;
    g_intact_seen = g_broken_seen = g_unfinalized_at_clear = 0;
    S()->on_finalize = check_ring_intact;
    S()->on_clear = check_finalized_at_clear;
    /* a ring mixing types with and without finalize */
    node *r[6];
    for (int i = 0; i < 6; i++) r[i] = new_node(i % 2 ? fin_type() : node_type(), i + 1);
    for (int i = 0; i < 6; i++) set_ref(r[i], 0, r[(i + 1) % 6]);
    for (int i = 0; i < 6; i++) rc_decref(r[i]);
    assert_int_equal(rc_gc_collect(-1), 6);
    assert_int_equal(S()->finalized, 3);
    assert_int_equal(S()->cleared, 6);
    assert_int_equal(S()->destroyed, 6);
    int last_fin = last_event(EV_FINALIZE, -1), first_clear = first_event(EV_CLEAR, -1);
    assert_true(last_fin >= 0 && first_clear >= 0);
    if (last_fin > first_clear) fail_msg("a finalizer ran (event %d) after a clear (event %d)", last_fin, first_clear);
    assert_int_equal(g_intact_seen, 3);
    assert_int_equal(g_broken_seen, 0);
    assert_int_equal(g_unfinalized_at_clear, 0);
}

static void test_is_finalized(void **state) {
    (void)state;
    assert_false(rc_gc_is_finalized(NULL));
    node *a = new_node(fin_type(), 1);
    node *b = new_node(node_type(), 2);
    assert_false(rc_gc_is_finalized(a));
    assert_false(rc_gc_is_finalized(b));
    set_ref(a, 0, a);
    keep_ref(0, b); /* b: no finalize */
    set_ref(a, 1, b);
    rc_decref(a);
    rc_decref(b);
    assert_int_equal(rc_gc_collect(-1), 1);
    assert_false(rc_gc_is_finalized(b));
    assert_int_equal(S()->finalized, 1);
}

/* ---- resurrection ---- */

static long g_resurrect_id;

static void resurrect_one(node *self) {
    if (self->id == g_resurrect_id) keep_ref(0, self);
}

static void test_resurrected_cycle_survives_intact(void **state) {
    (void)state;
    g_resurrect_id = 2;
    S()->on_finalize = resurrect_one;
    node *r[3];
    make_ring(fin_type(), 3, 1, r);
    for (int i = 0; i < 3; i++) rc_decref(r[i]);
    assert_int_equal(rc_gc_collect(-1), 0); /* nothing was freed or kept as garbage */
    assert_int_equal(S()->finalized, 3);
    assert_int_equal(S()->cleared, 0);
    assert_int_equal(S()->destroyed, 0);
    assert_ptr_equal(S()->keep[0], r[1]);
    for (int i = 0; i < 3; i++) {
        assert_ptr_equal(r[i]->ref[0], r[(i + 1) % 3]);
        assert_true(rc_gc_is_finalized(r[i]));
        assert_true(rc_gc_is_tracked(r[i]));
        assert_int_equal(generation_of(r[i]), 2);
    }
    assert_int_equal(rc_refcount(r[0]), 1);
    assert_int_equal(rc_refcount(r[1]), 2);
    assert_int_equal(rc_gc_garbage(NULL, NULL), 0);
    /* still reachable: nothing more happens */
    S()->on_finalize = NULL;
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(S()->finalized, 3);
    /* dropped: freed, without finalizing again */
    RC_CLEAR(S()->keep[0]);
    assert_int_equal(S()->destroyed, 0);
    assert_int_equal(rc_gc_collect(-1), 3);
    assert_int_equal(S()->finalized, 3);
    assert_int_equal(S()->destroyed, 3);
}

static void test_resurrection_from_young_collection(void **state) {
    (void)state;
    g_resurrect_id = 1;
    S()->on_finalize = resurrect_one;
    node *r[2];
    make_ring(fin_type(), 2, 1, r);
    rc_decref(r[0]);
    rc_decref(r[1]);
    assert_int_equal(rc_gc_collect(0), 0);
    /* the survivors go where the collection's survivors go */
    assert_int_equal(generation_of(r[0]), 1);
    assert_int_equal(generation_of(r[1]), 1);
    RC_CLEAR(S()->keep[0]);
    assert_int_equal(rc_gc_collect(1), 2);
    assert_int_equal(S()->finalized, 2);
    assert_int_equal(S()->destroyed, 2);
}

/* Two cycles in one collection, one resurrected: the other is freed. */
static void test_partial_resurrection(void **state) {
    (void)state;
    g_resurrect_id = 1;
    S()->on_finalize = resurrect_one;
    make_garbage_ring(fin_type(), 2, 1);
    make_garbage_ring(fin_type(), 3, 10);
    gc_cb_add(record_gc_cb, NULL);
    assert_int_equal(rc_gc_collect(-1), 3);
    assert_int_equal(S()->gc[1].info.collected, 3);
    assert_int_equal(S()->finalized, 5);
    assert_int_equal(S()->destroyed, 3);
    assert_int_equal(count_events(EV_DESTROY, 1), 0);
    assert_int_equal(count_events(EV_DESTROY, 2), 0);
    RC_CLEAR(S()->keep[0]);
    assert_int_equal(rc_gc_collect(-1), 2);
    assert_int_equal(S()->finalized, 5);
}

/* A finalizer that breaks its own cycle: still unreachable, all freed. */
static void drop_own_refs(node *self) {
    for (int i = 0; i < NODE_REFS; i++) RC_CLEAR(self->ref[i]);
}

static void test_finalizer_breaking_its_cycle(void **state) {
    (void)state;
    S()->on_finalize = drop_own_refs;
    make_garbage_ring(fin_type(), 3, 1);
    assert_int_equal(rc_gc_collect(-1), 3);
    assert_int_equal(S()->finalized, 3);
    assert_int_equal(S()->destroyed, 3);
}

/* ---- finalizers that make objects or collect ---- */

static void make_things(node *self) {
    if (self->id != 1) return;
    node *kept = rc_new(node_type());
    if (!kept) return;
    kept->id = 100;
    keep_ref(1, kept);
    rc_decref(kept);
    node *g = rc_new(node_type()); /* new cyclic garbage */
    if (!g) return;
    g->id = 101;
    RC_SET(g->ref[0], g);
    rc_decref(g);
}

static void test_finalizer_creates_objects_and_garbage(void **state) {
    (void)state;
    S()->on_finalize = make_things;
    make_garbage_ring(fin_type(), 1, 1);
    assert_int_equal(rc_gc_collect(-1), 1);
    assert_int_equal(count_events(EV_DESTROY, 1), 1);
    /* made during the collection: not part of it */
    assert_int_equal(count_events(EV_DESTROY, 100), 0);
    assert_int_equal(count_events(EV_DESTROY, 101), 0);
    node *kept = S()->keep[1];
    assert_non_null(kept);
    assert_true(rc_gc_is_tracked(kept));
    assert_int_equal(generation_of(kept), 0);
    assert_int_equal(rc_refcount(kept), 1);
    /* the next collection finds the new garbage */
    assert_int_equal(rc_gc_collect(-1), 1);
    assert_int_equal(count_events(EV_DESTROY, 101), 1);
    assert_int_equal(count_events(EV_DESTROY, 100), 0);
    assert_int_equal(S()->finalized, 1);
}

static size_t g_inner[8];
static int g_ninner;

static void collect_from_finalizer(node *self) {
    (void)self;
    if (g_ninner < 8) g_inner[g_ninner] = rc_gc_collect(-1);
    g_ninner++;
}

static void test_finalizer_requesting_collection_gets_0(void **state) {
    (void)state;
    g_ninner = 0;
    S()->on_finalize = collect_from_finalizer;
    gc_cb_add(record_gc_cb, NULL);
    make_garbage_ring(fin_type(), 2, 1);
    make_garbage_ring(node_type(), 2, 10);
    assert_int_equal(rc_gc_collect(-1), 4);
    assert_int_equal(g_ninner, 2);
    assert_int_equal(g_inner[0], 0);
    assert_int_equal(g_inner[1], 0);
    assert_int_equal(S()->ngc, 2);
    assert_int_equal(S()->destroyed, 4);
}

/* No collection runs while a plain release runs a finalizer: one asked
 * for there runs, and does its work fully (as gc.collect() in a __del__
 * outside a collection). Here the garbage is a cycle in which only one
 * object has clear: that is enough to free it all. */
static void test_collection_from_finalizer_during_release(void **state) {
    (void)state;
    g_ninner = 0;
    gc_cb_add(record_gc_cb, NULL);
    node *a = new_node(node_type(), 1);
    node *b = new_node(noclear_type(), 2);
    set_ref(a, 0, b);
    set_ref(b, 0, a);
    rc_decref(a);
    rc_decref(b);
    node *x = new_node(fin_type(), 3);
    S()->on_finalize = collect_from_finalizer;
    rc_decref(x);
    S()->on_finalize = NULL;
    assert_int_equal(g_ninner, 1);
    assert_int_equal(g_inner[0], 2);
    assert_int_equal(S()->ngc, 2);
    assert_int_equal(S()->gc[1].info.uncollectable, 0);
    assert_int_equal(S()->gc[1].info.collected, 2);
    assert_int_equal(rc_gc_garbage(NULL, NULL), 0);
    assert_int_equal(S()->destroyed, 3);
}

/* The same through an automatic collection: a finalizer running in a
 * release makes a tracked object, and that rc_new collects. */
static void make_one_node(node *self) {
    (void)self;
    node *n = rc_new(node_type());
    if (n) {
        n->id = 50;
        rc_decref(n);
    }
}

static void test_automatic_collection_from_finalizer_during_release(void **state) {
    (void)state;
    gc_cb_add(record_gc_cb, NULL);
    rc_gc_set_threshold(10, 10, 10);
    node *a = new_node(node_type(), 1);
    node *b = new_node(noclear_type(), 2);
    set_ref(a, 0, b);
    set_ref(b, 0, a);
    rc_decref(a);
    rc_decref(b);
    node *x = new_node(fin_type(), 3);
    for (int i = 0; i < 7; i++) rc_decref(new_node(holder_type(), 10 + i));
    node *pad[7];
    for (int i = 0; i < 7; i++) pad[i] = new_node(node_type(), 20 + i);
    assert_count(10, 0, 0);
    assert_int_equal(S()->ngc, 0);
    S()->on_finalize = make_one_node;
    rc_decref(x); /* its finalizer's rc_new is the eleventh */
    S()->on_finalize = NULL;
    assert_int_equal(S()->ngc, 2);
    assert_int_equal(S()->gc[1].info.collected, 2);
    assert_int_equal(S()->gc[1].info.uncollectable, 0);
    assert_int_equal(rc_gc_garbage(NULL, NULL), 0);
    assert_int_equal(count_events(EV_DESTROY, 1), 1);
    assert_int_equal(count_events(EV_DESTROY, 2), 1);
    for (int i = 0; i < 7; i++) rc_decref(pad[i]);
}

/* ---- plain reference-count death ---- */

static void test_finalize_before_destroy_at_refcount_death(void **state) {
    (void)state;
    node *x = new_node(fin_type(), 1);
    rc_incref(x);
    rc_decref(x);
    assert_int_equal(S()->finalized, 0);
    rc_decref(x);
    assert_int_equal(count_events(EV_FINALIZE, 1), 1);
    assert_int_equal(count_events(EV_DESTROY, 1), 1);
    assert_true(first_event(EV_FINALIZE, 1) < first_event(EV_DESTROY, 1));
    assert_int_equal(S()->cleared, 0); /* clear is for cycles only */
}

static void check_resurrected_by_count(const rc_type *t, bool tracked) {
    g_resurrect_id = 1;
    S()->on_finalize = resurrect_one;
    node *x = new_node(t, 1);
    node *child = new_node(node_type(), 2);
    set_ref(x, 0, child);
    rc_decref(child);
    rc_decref(x);
    assert_int_equal(S()->finalized, 1);
    assert_int_equal(S()->destroyed, 0);
    assert_ptr_equal(S()->keep[0], x);
    assert_int_equal(rc_refcount(x), 1);
    assert_true(rc_gc_is_finalized(x));
    assert_int_equal(rc_gc_is_tracked(x), tracked);
    assert_ptr_equal(x->ref[0], child); /* intact */
    assert_int_equal(x->id, 1);
    /* its next death does not finalize it again */
    RC_CLEAR(S()->keep[0]);
    assert_int_equal(S()->finalized, 1);
    assert_int_equal(count_events(EV_DESTROY, 1), 1);
    assert_int_equal(count_events(EV_DESTROY, 2), 1);
}

static void test_resurrection_at_refcount_death(void **state) {
    (void)state;
    check_resurrected_by_count(fin_type(), true);
}

static void test_resurrection_at_refcount_death_untracked(void **state) {
    (void)state;
    check_resurrected_by_count(finholder_type(), false);
}

/* The finalizer of an object released from another object's destroy (a
 * nested release) resurrects it: it stays tracked, so a cycle through it
 * is still collected. */
static void test_resurrection_in_nested_release_stays_tracked(void **state) {
    (void)state;
    g_resurrect_id = 2;
    S()->on_finalize = resurrect_one;
    node *owner = new_node(node_type(), 1);
    node *x = new_node(fin_type(), 2);
    set_ref(owner, 0, x);
    rc_decref(x);
    rc_decref(owner); /* destroy(owner) drops x's last reference */
    assert_int_equal(count_events(EV_DESTROY, 1), 1);
    assert_int_equal(count_events(EV_FINALIZE, 2), 1);
    assert_int_equal(count_events(EV_DESTROY, 2), 0);
    assert_ptr_equal(S()->keep[0], x);
    assert_true(rc_gc_is_tracked(x));
    /* make it cyclic garbage: the collector must find it */
    set_ref(x, 0, x);
    RC_CLEAR(S()->keep[0]);
    assert_int_equal(rc_gc_collect(-1), 1);
    assert_int_equal(count_events(EV_DESTROY, 2), 1);
    assert_int_equal(S()->finalized, 1);
}

/* ---- with SAVEALL ---- */

static void test_saved_objects_not_finalized_again(void **state) {
    (void)state;
    rc_gc_set_debug(RC_GC_DEBUG_SAVEALL);
    make_garbage_ring(fin_type(), 2, 1);
    assert_int_equal(rc_gc_collect(-1), 2);
    assert_int_equal(S()->finalized, 2);
    assert_int_equal(S()->destroyed, 0);
    rc_gc_set_debug(0);
    rc_gc_garbage_clear();
    assert_int_equal(rc_gc_collect(-1), 2);
    assert_int_equal(S()->finalized, 2);
    assert_int_equal(S()->destroyed, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        OBJ_TEST(test_finalize_runs_once_per_object),
        OBJ_TEST(test_finalize_runs_before_any_clear),
        OBJ_TEST(test_is_finalized),
        OBJ_TEST(test_resurrected_cycle_survives_intact),
        OBJ_TEST(test_resurrection_from_young_collection),
        OBJ_TEST(test_partial_resurrection),
        OBJ_TEST(test_finalizer_breaking_its_cycle),
        OBJ_TEST(test_finalizer_creates_objects_and_garbage),
        OBJ_TEST(test_finalizer_requesting_collection_gets_0),
        OBJ_TEST(test_collection_from_finalizer_during_release),
        OBJ_TEST(test_automatic_collection_from_finalizer_during_release),
        OBJ_TEST(test_finalize_before_destroy_at_refcount_death),
        OBJ_TEST(test_resurrection_at_refcount_death),
        OBJ_TEST(test_resurrection_at_refcount_death_untracked),
        OBJ_TEST(test_resurrection_in_nested_release_stays_tracked),
        OBJ_TEST(test_saved_objects_not_finalized_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
