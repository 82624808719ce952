/*
 * test_gc_generations.c — when collections happen and what they examine:
 * rc_gc_get_count moving as gc.get_count() does, automatic collection
 * inside rc_new at threshold 0 and of older generations, threshold 0 and
 * rc_gc_disable turning it off (explicit collections still run),
 * promotion from generation 0 to 1 to 2, young collections leaving older
 * objects alone, CPython's 25% rule for full collections, and
 * rc_gc_freeze/unfreeze/get_freeze_count.
 */
#include "test_object_util.h"

/* ---- counts ---- */

static void test_count_moves_like_gc_get_count(void **state) {
    (void)state;
    assert_count(0, 0, 0); /* a full collection (the setup) reset them */
    node *v[5];
    for (int i = 0; i < 5; i++) v[i] = new_node(node_type(), i);
    assert_count(5, 0, 0);
    /* objects of a type without traverse are not counted */
    node *h[3];
    for (int i = 0; i < 3; i++) h[i] = new_node(holder_type(), 10 + i);
    assert_count(5, 0, 0);
    /* the death of a counted object takes one off */
    rc_decref(v[3]);
    rc_decref(v[4]);
    assert_count(3, 0, 0);
    for (int i = 0; i < 3; i++) rc_decref(h[i]);
    assert_count(3, 0, 0);
    /* a weak reference is a tracked object */
    rc_weakref *w = rc_weakref_new(v[0], NULL, NULL);
    assert_non_null(w);
    assert_count(4, 0, 0);
    rc_decref(w);
    assert_count(3, 0, 0);
    /* collections: count[g + 1] + 1, count[0..g] reset */
    rc_gc_collect(0);
    assert_count(0, 1, 0);
    node *x = new_node(node_type(), 20);
    node *y = new_node(node_type(), 21);
    assert_count(2, 1, 0);
    rc_gc_collect(0);
    assert_count(0, 2, 0);
    rc_gc_collect(1);
    assert_count(0, 0, 1);
    rc_gc_collect(0);
    assert_count(0, 1, 1);
    rc_gc_collect(1);
    assert_count(0, 0, 2);
    /* deaths after a collection do not take count[0] below zero */
    rc_decref(x);
    assert_count(0, 0, 2);
    rc_gc_collect(2);
    assert_count(0, 0, 0);
    rc_decref(y);
    for (int i = 0; i < 3; i++) rc_decref(v[i]);
    assert_count(0, 0, 0);
    /* rc_new_var counts as rc_new does */
    void *var = rc_new_var(node_type(), 64);
    assert_non_null(var);
    assert_count(1, 0, 0);
    rc_decref(var);
    assert_count(0, 0, 0);
}

static void test_get_set_threshold(void **state) {
    (void)state;
    size_t t[3];
    rc_gc_get_threshold(t);
    assert_int_equal(t[0], 700);
    assert_int_equal(t[1], 10);
    assert_int_equal(t[2], 10);
    rc_gc_set_threshold(5, 6, 7);
    rc_gc_get_threshold(t);
    assert_int_equal(t[0], 5);
    assert_int_equal(t[1], 6);
    assert_int_equal(t[2], 7);
    rc_gc_set_threshold(0, 0, 0);
    rc_gc_get_threshold(t);
    assert_int_equal(t[0] + t[1] + t[2], 0);
}

/* ---- automatic collection ---- */

static void test_automatic_collection_at_threshold(void **state) {
    (void)state;
    rc_gc_set_threshold(10, 10, 10);
    gc_cb_add(record_gc_cb, NULL);
    rc_gc_stats s0[3], s1[3];
    rc_gc_get_stats(s0);
    for (int i = 0; i < 5; i++) make_garbage_ring(node_type(), 1, i);
    node *live[5];
    for (int i = 0; i < 5; i++) live[i] = new_node(node_type(), 10 + i);
    /* count[0] == threshold: not yet */
    assert_count(10, 0, 0);
    assert_int_equal(S()->ngc, 0);
    assert_int_equal(S()->destroyed, 0);
    /* the rc_new that makes count[0] exceed it collects, before the new
     * object exists */
    node *x = new_node(node_type(), 20);
    assert_int_equal(S()->ngc, 2);
    assert_int_equal(S()->gc[0].info.generation, 0);
    assert_int_equal(S()->gc[1].phase, RC_GC_STOP);
    assert_int_equal(S()->gc[1].info.collected, 5);
    assert_int_equal(S()->destroyed, 5);
    rc_gc_get_stats(s1);
    assert_int_equal(s1[0].collections, s0[0].collections + 1);
    assert_int_equal(s1[0].collected, s0[0].collected + 5);
    assert_int_equal(s1[1].collections, s0[1].collections);
    for (int i = 0; i < 5; i++) assert_int_equal(generation_of(live[i]), 1);
    assert_int_equal(generation_of(x), 0);
    assert_count(0, 1, 0);
    /* objects of types without traverse never trigger one */
    node *h[30];
    for (int i = 0; i < 30; i++) h[i] = new_node(holder_type(), 100 + i);
    assert_int_equal(S()->ngc, 2);
    for (int i = 0; i < 30; i++) rc_decref(h[i]);
    for (int i = 0; i < 5; i++) rc_decref(live[i]);
    rc_decref(x);
}

static int g_gens[512];
static int g_ngens;

static void record_generation(rc_gc_phase phase, const rc_gc_info *info, void *arg) {
    (void)arg;
    if (phase == RC_GC_STOP && g_ngens < 512) g_gens[g_ngens++] = info->generation;
}

/* With thresholds 10, 10, 10 and only garbage: eleven generation-0
 * collections, then one of generation 1; after eleven of those, one of
 * generation 2 (nothing long-lived holds it back). */
static void test_automatic_collection_of_older_generations(void **state) {
    (void)state;
    rc_gc_set_threshold(10, 10, 10);
    g_ngens = 0;
    gc_cb_add(record_generation, NULL);
    int allocs = 0;
    while (g_ngens < 133 && allocs < 5000) {
        make_garbage_ring(node_type(), 1, allocs);
        allocs++;
    }
    assert_int_equal(g_ngens, 133);
    assert_int_equal(allocs, 133 * 11); /* one collection per 11 allocations */
    for (int k = 1; k <= 133; k++) {
        int want = k == 133 ? 2 : k % 12 == 0 ? 1 : 0;
        if (g_gens[k - 1] != want) fail_msg("collection %d: generation %d, expected %d", k, g_gens[k - 1], want);
    }
    rc_gc_stats st[3];
    rc_gc_get_stats(st);
    assert_true(st[2].collections >= 1);
    assert_count(0, 0, 0);
}

static void test_threshold_zero_disables_automatic_collection(void **state) {
    (void)state;
    rc_gc_set_threshold(0, 10, 10);
    gc_cb_add(record_gc_cb, NULL);
    for (int i = 0; i < 3000; i++) make_garbage_ring(node_type(), 1, i);
    assert_int_equal(S()->ngc, 0);
    assert_int_equal(S()->destroyed, 0);
    assert_count(3000, 0, 0);
    assert_true(rc_gc_isenabled()); /* only the threshold says no */
    assert_int_equal(rc_gc_collect(0), 3000);
    assert_int_equal(S()->ngc, 2);
    assert_int_equal(S()->destroyed, 3000);
}

static void test_disable_enable(void **state) {
    (void)state;
    assert_true(rc_gc_isenabled());
    rc_gc_set_threshold(10, 10, 10);
    gc_cb_add(record_gc_cb, NULL);
    rc_gc_disable();
    assert_false(rc_gc_isenabled());
    for (int i = 0; i < 30; i++) make_garbage_ring(node_type(), 1, i);
    assert_int_equal(S()->ngc, 0);
    assert_count(30, 0, 0);
    /* explicit collections still run, callbacks included */
    assert_int_equal(rc_gc_collect(0), 30);
    assert_int_equal(S()->ngc, 2);
    assert_count(0, 1, 0);
    for (int i = 0; i < 20; i++) make_garbage_ring(node_type(), 1, 100 + i);
    assert_int_equal(S()->ngc, 2);
    rc_gc_disable(); /* twice: still off */
    assert_false(rc_gc_isenabled());
    rc_gc_enable();
    assert_true(rc_gc_isenabled());
    assert_int_equal(S()->ngc, 2); /* enabling does not collect by itself */
    /* the next counted rc_new is past the threshold: it collects */
    node *x = new_node(node_type(), 200);
    assert_int_equal(S()->ngc, 4);
    assert_int_equal(S()->gc[3].info.collected, 20);
    rc_gc_enable();
    assert_true(rc_gc_isenabled());
    rc_decref(x);
}

/* ---- generations ---- */

static void test_survivors_promoted_gen0_gen1_gen2(void **state) {
    (void)state;
    node *n = new_node(node_type(), 1);
    assert_int_equal(generation_of(n), 0);
    assert_int_equal(in_generation(n, -1), 1);
    rc_gc_collect(0);
    assert_int_equal(generation_of(n), 1);
    assert_int_equal(in_generation(n, 0), 0);
    node *m = new_node(node_type(), 2);
    assert_int_equal(generation_of(m), 0);
    rc_gc_collect(0); /* generation 1 is not examined by a young collection */
    assert_int_equal(generation_of(n), 1);
    assert_int_equal(generation_of(m), 1);
    rc_gc_collect(1);
    assert_int_equal(generation_of(n), 2);
    assert_int_equal(generation_of(m), 2);
    assert_int_equal(in_generation(n, 1), 0);
    rc_gc_collect(1);
    rc_gc_collect(2);
    assert_int_equal(generation_of(n), 2);
    assert_int_equal(in_generation(n, -1), 1);
    /* a full collection sends young survivors straight to generation 2 */
    node *k = new_node(node_type(), 3);
    rc_gc_collect(-1);
    assert_int_equal(generation_of(k), 2);
    rc_decref(n);
    rc_decref(m);
    rc_decref(k);
}

static void test_young_collections_leave_older_garbage(void **state) {
    (void)state;
    node *old[2], *mid[2];
    make_ring(node_type(), 2, 1, old);
    rc_gc_collect(-1); /* old: generation 2 */
    make_ring(node_type(), 2, 10, mid);
    rc_gc_collect(0); /* mid: generation 1 */
    assert_int_equal(generation_of(old[0]), 2);
    assert_int_equal(generation_of(mid[0]), 1);
    for (int i = 0; i < 2; i++) {
        rc_decref(old[i]);
        rc_decref(mid[i]);
    }
    make_garbage_ring(node_type(), 3, 20); /* young garbage */
    assert_int_equal(rc_gc_collect(0), 3);
    assert_int_equal(S()->destroyed, 3);
    assert_int_equal(rc_gc_collect(0), 0);
    assert_int_equal(rc_gc_collect(1), 2);
    assert_int_equal(count_events(EV_DESTROY, 10), 1);
    assert_int_equal(count_events(EV_DESTROY, 1), 0);
    assert_int_equal(rc_gc_collect(1), 0);
    assert_int_equal(rc_gc_collect(2), 2);
    assert_int_equal(count_events(EV_DESTROY, 1), 1);
    assert_int_equal(S()->destroyed, 7);
}

/* References from generations a collection does not examine count as
 * external: a young cycle held by an old object survives, and so does a
 * young object held only by old garbage. */
static void test_references_from_older_generations_are_external(void **state) {
    (void)state;
    node *o = new_node(node_type(), 1);
    rc_gc_collect(-1); /* o: generation 2 */
    node *r[2];
    make_ring(node_type(), 2, 10, r);
    set_ref(o, 0, r[0]);
    rc_decref(r[0]);
    rc_decref(r[1]);
    assert_int_equal(rc_gc_collect(0), 0);
    assert_int_equal(rc_gc_collect(1), 0);
    assert_int_equal(S()->destroyed, 0);
    rc_decref(o); /* o dies by its count; the ring (now in generation 2) is garbage */
    assert_int_equal(S()->destroyed, 1);
    assert_int_equal(rc_gc_collect(2), 2);
    /* old garbage holding a young object */
    node *g[2];
    make_ring(node_type(), 2, 20, g);
    rc_gc_collect(-1);
    node *y = new_node(node_type(), 30);
    set_ref(g[1], 1, y);
    rc_decref(y);
    rc_decref(g[0]);
    rc_decref(g[1]);
    assert_int_equal(rc_gc_collect(0), 0);
    assert_int_equal(count_events(EV_DESTROY, 30), 0);
    assert_int_equal(rc_gc_collect(2), 3);
    assert_int_equal(count_events(EV_DESTROY, 30), 1);
}

/* ---- the long-lived 25% rule ---- */

static size_t g_live_made;
static size_t g_live_at_first_full;

static void note_full(rc_gc_phase phase, const rc_gc_info *info, void *arg) {
    (void)arg;
    if (phase == RC_GC_START && info->generation == 2 && g_live_at_first_full == (size_t)-1)
        g_live_at_first_full = g_live_made;
}

/* Phase A: only garbage: generation 2's count passes its threshold again
 * and again, but with no object promoted into it since the last full
 * collection, the full collection is skipped (0 < 400 / 4). Phase B: live
 * objects: a full collection only once more than 100 have been promoted. */
static void test_full_collection_waits_for_25_percent_long_lived(void **state) {
    (void)state;
    enum { LONG_LIVED = 400, LIVE = 200 };
    static node *old[LONG_LIVED], *live[LIVE];
    for (int i = 0; i < LONG_LIVED; i++) old[i] = new_node(node_type(), i);
    rc_gc_collect(2); /* 400 long-lived objects */
    rc_gc_set_threshold(5, 1, 1);
    g_live_made = 0;
    g_live_at_first_full = (size_t)-1;
    gc_cb_add(note_full, NULL);
    rc_gc_stats s0[3], s1[3];
    rc_gc_get_stats(s0);
    for (int i = 0; i < 300; i++) make_garbage_ring(node_type(), 1, 1000 + i);
    rc_gc_get_stats(s1);
    assert_int_equal(s1[2].collections, s0[2].collections); /* held back */
    assert_true(s1[1].collections >= s0[1].collections + 10);
    assert_true(s1[0].collections >= s0[0].collections + 20);
    size_t c[3];
    rc_gc_get_count(c);
    assert_true(c[2] > 1); /* its threshold is passed */
    assert_true(S()->destroyed >= 290); /* all but those made since the last collection */
    /* phase B */
    for (int i = 0; i < LIVE; i++) {
        live[i] = new_node(node_type(), 2000 + i);
        g_live_made++;
    }
    rc_gc_get_stats(s1);
    assert_true(s1[2].collections > s0[2].collections);
    if (g_live_at_first_full < 100 || g_live_at_first_full > 140)
        fail_msg("first full collection after %zu live objects, expected just past 100", g_live_at_first_full);
    for (int i = 0; i < LIVE; i++) rc_decref(live[i]);
    for (int i = 0; i < LONG_LIVED; i++) rc_decref(old[i]);
}

/* The same garbage with nothing long-lived: full collections are not held
 * back. */
static void test_full_collection_not_delayed_without_long_lived(void **state) {
    (void)state;
    rc_gc_set_threshold(5, 1, 1);
    rc_gc_stats s0[3], s1[3];
    rc_gc_get_stats(s0);
    for (int i = 0; i < 300; i++) make_garbage_ring(node_type(), 1, i);
    rc_gc_get_stats(s1);
    assert_true(s1[2].collections >= s0[2].collections + 5);
}

/* ---- freezing ---- */

/* RC_TYPE_IMMUTABLE: like CPython's tuples, a survivor that references
 * nothing tracked stops being tracked; one that references a tracked
 * (mutable) object stays tracked. */
static const rc_type *imm_type(void) {
    static const rc_type t = {.name = "imm", .size = sizeof(node), .traverse = node_traverse,
                              .clear = node_clear, .destroy = node_destroy, .flags = RC_TYPE_IMMUTABLE};
    return &t;
}

static node *imm_tree(int depth, long *id) {
    node *l = depth ? imm_tree(depth - 1, id) : NULL;
    node *r = depth ? imm_tree(depth - 1, id) : NULL;
    node *n = new_node(imm_type(), ++*id);
    n->ref[0] = l; /* stored before the next rc_new, never changed: immutable */
    n->ref[1] = r;
    return n;
}

static void test_immutable_untracked_when_referencing_nothing_tracked(void **state) {
    (void)state;
    long id = 0;
    node *tree = imm_tree(6, &id); /* 127 nodes, built bottom-up */
    node *mutable_leaf = new_node(node_type(), 1000);
    node *holder = new_node(imm_type(), 1001);
    holder->ref[0] = rc_incref(mutable_leaf);
    assert_true(rc_gc_is_tracked(tree));
    assert_true(rc_gc_is_tracked(holder));
    rc_gc_collect(0);
    /* the whole tree in one young collection: children come first */
    assert_false(rc_gc_is_tracked(tree));
    assert_false(rc_gc_is_tracked(tree->ref[0]));
    assert_false(rc_gc_is_tracked(((node *)tree->ref[1])->ref[1]));
    assert_int_equal(in_generation(tree, -1), 0);
    /* it references a tracked object: it may yet be part of a cycle */
    assert_true(rc_gc_is_tracked(holder));
    assert_true(rc_gc_is_tracked(mutable_leaf));
    assert_int_equal(generation_of(holder), 1);
    /* untracked objects still die by their count */
    int before = count_events(EV_DESTROY, -1);
    rc_decref(tree);
    assert_int_equal(count_events(EV_DESTROY, -1) - before, 127);
    rc_decref(holder);
    rc_decref(mutable_leaf);
}

/* A full collection stops reading pools that hold no tracked object; an
 * object tracked again later in such a pool must still be found. */
static const rc_type *wide_type(void) {
    static const rc_type t = {.name = "wide", .size = 200, .traverse = node_traverse, .clear = node_clear,
                              .destroy = node_destroy};
    return &t;
}

static void test_pool_of_untracked_objects_found_once_tracked_again(void **state) {
    (void)state;
    enum { N = 2000 };
    node **all = malloc(N * sizeof *all);
    assert_non_null(all);
    for (int i = 0; i < N; i++) {
        all[i] = new_node(wide_type(), 5000 + i);
        rc_gc_untrack(all[i]);
    }
    rc_gc_collect(-1); /* finds their pools without tracked objects */
    rc_gc_collect(-1);
    node *x = all[N / 2];
    set_ref(x, 0, x); /* a self-cycle, tracked again */
    rc_gc_track(x);
    for (int i = 0; i < N; i++) rc_decref(all[i]);
    long before = S()->destroyed;
    assert_int_equal(rc_gc_collect(-1), 1);
    assert_int_equal(S()->destroyed - before, 1);
    free(all);
}

static void test_freeze_unfreeze(void **state) {
    (void)state;
    size_t before = gen_objects(-1);
    assert_int_equal(rc_gc_get_freeze_count(), 0);
    node *r[2];
    make_ring(node_type(), 2, 1, r);
    node *l = new_node(node_type(), 3);
    node *keep = new_node(node_type(), 4);
    rc_gc_collect(0); /* some in generation 1 too */
    node *y = new_node(node_type(), 5);
    rc_gc_freeze();
    assert_int_equal(rc_gc_get_freeze_count(), before + 5);
    assert_int_equal(gen_objects(-1), 0); /* frozen objects are not visited */
    assert_int_equal(gen_objects(0) + gen_objects(1) + gen_objects(2), 0);
    assert_count(0, 1, 0); /* count[0] reset */
    assert_true(rc_gc_is_tracked(r[0]));
    /* a frozen garbage cycle is not examined */
    rc_decref(r[0]);
    rc_decref(r[1]);
    assert_int_equal(rc_gc_collect(0), 0);
    assert_int_equal(rc_gc_collect(1), 0);
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(S()->destroyed, 0);
    assert_int_equal(rc_gc_get_freeze_count(), before + 5);
    /* frozen objects still die by their counts */
    rc_decref(l);
    assert_int_equal(count_events(EV_DESTROY, 3), 1);
    assert_int_equal(rc_gc_get_freeze_count(), before + 4);
    /* new objects are not frozen, and a frozen object's reference to one
     * counts as external */
    node *n = new_node(node_type(), 6);
    set_ref(keep, 0, n);
    set_ref(n, 0, n);
    rc_decref(n);
    assert_int_equal(generation_of(n), 0);
    assert_int_equal(rc_gc_get_freeze_count(), before + 4);
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(generation_of(n), 2);
    /* unfreeze: back into generation 2, and collectable */
    rc_gc_unfreeze();
    assert_int_equal(rc_gc_get_freeze_count(), 0);
    assert_int_equal(generation_of(r[0]), 2);
    assert_int_equal(generation_of(y), 2);
    assert_int_equal(gen_objects(-1), before + 5);
    assert_int_equal(rc_gc_collect(-1), 2);
    assert_int_equal(count_events(EV_DESTROY, 1), 1);
    assert_int_equal(count_events(EV_DESTROY, 2), 1);
    rc_gc_unfreeze(); /* nothing frozen: nothing happens */
    assert_int_equal(gen_objects(-1), before + 3);
    rc_decref(keep);
    assert_int_equal(rc_gc_collect(-1), 1); /* n's self-cycle */
    rc_decref(y);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        OBJ_TEST(test_count_moves_like_gc_get_count),
        OBJ_TEST(test_get_set_threshold),
        OBJ_TEST(test_automatic_collection_at_threshold),
        OBJ_TEST(test_automatic_collection_of_older_generations),
        OBJ_TEST(test_threshold_zero_disables_automatic_collection),
        OBJ_TEST(test_disable_enable),
        OBJ_TEST(test_survivors_promoted_gen0_gen1_gen2),
        OBJ_TEST(test_young_collections_leave_older_garbage),
        OBJ_TEST(test_references_from_older_generations_are_external),
        OBJ_TEST(test_full_collection_waits_for_25_percent_long_lived),
        OBJ_TEST(test_full_collection_not_delayed_without_long_lived),
        OBJ_TEST(test_freeze_unfreeze),
        OBJ_TEST(test_immutable_untracked_when_referencing_nothing_tracked),
        OBJ_TEST(test_pool_of_untracked_objects_found_once_tracked_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
