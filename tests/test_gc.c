/*
 * test_gc.c — the cycle collector's surface, single-threaded: which
 * objects a collection frees and what rc_gc_collect returns (self-cycles,
 * two- and three-object cycles, cycles kept by live, untracked or C
 * references), bad generations, -1 counted as generation 2, gc callbacks
 * (START/STOP info, order, removal), tracking, the visitor walks
 * (rc_gc_get_objects, _get_referrers, _get_referents, rc_gc_garbage),
 * collections requested while one runs, SAVEALL and uncollectable cycles,
 * and the RC_GC_DEBUG_* messages. Counts, thresholds, generations and
 * freezing are in test_gc_generations.c.
 */
#include <sys/wait.h>
#include <unistd.h>

#include "test_object_util.h"

/* ---- a fresh process (the test binary re-runs itself) ---- */

#define FRESH_ARG "--fresh-process"

#define FRESH_CHECK(c)                                                 \
    do {                                                               \
        if (!(c)) {                                                    \
            fprintf(stderr, "fresh process: %s is false\n", #c);       \
            return 1;                                                  \
        }                                                              \
    } while (0)

/* Runs in a new process, before anything else touches the library. */
static int fresh_process_main(void) {
    for (int g = -1; g <= 2; g++) FRESH_CHECK(rc_gc_get_objects(g, NULL, NULL) == 0);
    size_t c[3] = {9, 9, 9};
    rc_gc_get_count(c);
    FRESH_CHECK(c[0] == 0 && c[1] == 0 && c[2] == 0);
    FRESH_CHECK(rc_gc_get_freeze_count() == 0);
    FRESH_CHECK(rc_gc_garbage(NULL, NULL) == 0);
    /* the documented defaults (RECLAIM_GC_* are unset for this process) */
    size_t t[3];
    rc_gc_get_threshold(t);
    FRESH_CHECK(t[0] == 700 && t[1] == 10 && t[2] == 10);
    FRESH_CHECK(rc_gc_isenabled());
    FRESH_CHECK(rc_gc_get_debug() == 0);
    /* starting the object layer (an untracked object, a full collection)
     * creates no tracked object either */
    void *p = rc_new(holder_type());
    FRESH_CHECK(p != NULL);
    FRESH_CHECK(!rc_gc_is_tracked(p));
    for (int g = -1; g <= 2; g++) FRESH_CHECK(rc_gc_get_objects(g, NULL, NULL) == 0);
    rc_decref(p);
    FRESH_CHECK(rc_gc_collect(-1) == 0);
    for (int g = -1; g <= 2; g++) FRESH_CHECK(rc_gc_get_objects(g, NULL, NULL) == 0);
    rc_gc_stats st[3];
    rc_gc_get_stats(st);
    FRESH_CHECK(st[2].collections == 1 && st[2].collected == 0 && st[2].uncollectable == 0);
    FRESH_CHECK(st[0].collections == 0 && st[1].collections == 0);
    rc_gc_freeze();
    FRESH_CHECK(rc_gc_get_freeze_count() == 0);
    return 0;
}

static void test_fresh_process_has_no_tracked_objects(void **state) {
    (void)state;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        unsetenv("RECLAIM_GC_THRESHOLD");
        unsetenv("RECLAIM_GC_DEBUG");
        unsetenv("RECLAIM_LEAKCHECK");
        execl("/proc/self/exe", "test_gc", FRESH_ARG, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- cycles ---- */

static void test_self_cycle_collected(void **state) {
    (void)state;
    make_garbage_ring(node_type(), 1, 1);
    assert_int_equal(S()->destroyed, 0);
    assert_int_equal(rc_gc_collect(-1), 1);
    assert_int_equal(count_events(EV_CLEAR, 1), 1);
    assert_int_equal(count_events(EV_DESTROY, 1), 1);
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(count_events(EV_DESTROY, 1), 1);
}

static void test_two_object_cycle_collected(void **state) {
    (void)state;
    make_garbage_ring(node_type(), 2, 1);
    assert_int_equal(S()->destroyed, 0);
    assert_int_equal(rc_gc_collect(-1), 2);
    assert_int_equal(count_events(EV_DESTROY, 1), 1);
    assert_int_equal(count_events(EV_DESTROY, 2), 1);
    assert_int_equal(rc_gc_collect(-1), 0);
}

static void test_three_object_cycle_collected(void **state) {
    (void)state;
    node *r[3];
    make_ring(node_type(), 3, 1, r);
    set_ref(r[0], 1, r[2]); /* and a chord */
    for (int i = 0; i < 3; i++) rc_decref(r[i]);
    assert_int_equal(rc_gc_collect(-1), 3);
    assert_int_equal(S()->destroyed, 3);
    for (long id = 1; id <= 3; id++) assert_int_equal(count_events(EV_DESTROY, id), 1);
    assert_int_equal(rc_gc_collect(-1), 0);
}

/* Objects only a cycle references are unreachable too, and counted. */
static void test_cycle_with_dependents_counted(void **state) {
    (void)state;
    node *r[2];
    make_ring(node_type(), 2, 1, r);
    node *tail = new_node(node_type(), 3);
    node *leaf = new_node(holder_type(), 4); /* untracked: freed with them, not counted */
    set_ref(r[1], 1, tail);
    set_ref(tail, 0, leaf);
    rc_decref(leaf);
    rc_decref(tail);
    rc_decref(r[0]);
    rc_decref(r[1]);
    assert_int_equal(rc_gc_collect(-1), 3);
    assert_int_equal(S()->destroyed, 4);
}

/* Several separate cycles in one collection: the sum. */
static void test_collect_returns_sum_of_cycles(void **state) {
    (void)state;
    make_garbage_ring(node_type(), 1, 10);
    make_garbage_ring(node_type(), 2, 20);
    make_garbage_ring(node_type(), 3, 30);
    make_garbage_ring(node_type(), 4, 40);
    node *live[2];
    make_ring(node_type(), 2, 50, live); /* a live cycle is not counted */
    assert_int_equal(rc_gc_collect(-1), 10);
    assert_int_equal(S()->destroyed, 10);
    rc_decref(live[0]);
    rc_decref(live[1]);
    assert_int_equal(rc_gc_collect(-1), 2);
}

static void test_cycle_reachable_from_live_object_survives(void **state) {
    (void)state;
    node *r[2];
    make_ring(node_type(), 2, 1, r);
    node *live = new_node(node_type(), 3);
    set_ref(live, 0, r[1]);
    rc_decref(r[0]);
    rc_decref(r[1]);
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(S()->destroyed, 0);
    assert_int_equal(S()->cleared, 0);
    assert_ptr_equal(r[0]->ref[0], r[1]); /* intact */
    assert_ptr_equal(r[1]->ref[0], r[0]);
    rc_decref(live); /* freed by its count; the cycle becomes garbage */
    assert_int_equal(count_events(EV_DESTROY, 3), 1);
    assert_int_equal(S()->destroyed, 1);
    assert_int_equal(rc_gc_collect(-1), 2);
    assert_int_equal(S()->destroyed, 3);
}

static void test_cycle_held_by_c_reference_survives(void **state) {
    (void)state;
    node *r[3];
    make_ring(node_type(), 3, 1, r);
    rc_decref(r[0]);
    rc_decref(r[1]); /* r[2]'s reference stays, in this C variable */
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(S()->destroyed, 0);
    rc_decref(r[2]);
    assert_int_equal(rc_gc_collect(-1), 3);
}

/* holder_type has no traverse: the collector cannot see its reference,
 * so it must count it as coming from outside. */
static void test_cycle_reachable_through_untracked_object_survives(void **state) {
    (void)state;
    node *r[2];
    make_ring(node_type(), 2, 1, r);
    node *h = new_node(holder_type(), 3);
    assert_false(rc_gc_is_tracked(h));
    set_ref(h, 0, r[0]);
    rc_decref(r[0]);
    rc_decref(r[1]);
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(rc_gc_collect(0), 0);
    assert_int_equal(S()->destroyed, 0);
    assert_ptr_equal(r[0]->ref[0], r[1]);
    rc_decref(h);
    assert_int_equal(S()->destroyed, 1);
    assert_int_equal(rc_gc_collect(-1), 2);
    assert_int_equal(S()->destroyed, 3);
}

/* A cycle that passes through an untracked object is never freed by the
 * collector (as in CPython): the untracked link looks external. */
static void test_cycle_through_untracked_object_not_freed(void **state) {
    (void)state;
    node *a = new_node(node_type(), 1);
    node *h = new_node(holder_type(), 2);
    set_ref(a, 0, h);
    set_ref(h, 0, a);
    rc_decref(a);
    rc_decref(h);
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(S()->destroyed, 0);
    assert_ptr_equal(a->ref[0], h);
    assert_ptr_equal(h->ref[0], a);
    /* break it by hand: both die by their counts */
    RC_CLEAR(h->ref[0]);
    assert_int_equal(S()->destroyed, 2);
}

/* One object with clear is enough to break a cycle. */
static void test_cycle_with_one_clear_is_collectable(void **state) {
    (void)state;
    node *a = new_node(node_type(), 1);
    node *b = new_node(noclear_type(), 2);
    node *c = new_node(noclear_type(), 3);
    set_ref(a, 0, b);
    set_ref(b, 0, c);
    set_ref(c, 0, a);
    rc_decref(a);
    rc_decref(b);
    rc_decref(c);
    assert_int_equal(rc_gc_collect(-1), 3);
    assert_int_equal(S()->destroyed, 3);
    assert_int_equal(rc_gc_garbage(NULL, NULL), 0);
    rc_gc_stats st[3];
    rc_gc_get_stats(st);
    assert_int_equal(st[2].uncollectable, 0);
}

/* Objects too big for the pools (mapped on their own) are tracked,
 * walked and collected like any other. */
static void test_large_objects_tracked_and_collected(void **state) {
    (void)state;
    big_node *a = rc_new(big_type()), *b = rc_new(big_type());
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(rc_sizeof(a), 16 + sizeof(big_node));
    a->n.id = 1;
    b->n.id = 2;
    assert_true(rc_gc_is_tracked(a));
    assert_int_equal(generation_of(a), 0);
    set_ref(&a->n, 0, b);
    set_ref(&b->n, 0, a);
    node *small = new_node(node_type(), 3);
    set_ref(small, 0, a); /* keeps the pair alive for now */
    rc_decref(a);
    rc_decref(b);
    assert_int_equal(rc_gc_collect(0), 0);
    assert_int_equal(generation_of(b), 1);
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(generation_of(b), 2);
    visit_log log = {0};
    rc_gc_get_referrers(a, visit_record, &log);
    assert_int_equal(log.n, 2);
    assert_true(visit_saw(&log, small) && visit_saw(&log, b));
    rc_gc_freeze();
    assert_int_equal(in_generation(a, -1), 0);
    rc_gc_unfreeze();
    assert_int_equal(generation_of(a), 2);
    rc_decref(small);
    assert_int_equal(rc_gc_collect(-1), 2);
    assert_int_equal(S()->destroyed, 3);
}

/* ---- bad generations, -1 ---- */

static void test_collect_bad_generation_changes_nothing(void **state) {
    (void)state;
    make_garbage_ring(node_type(), 2, 1);
    node *young = new_node(node_type(), 3);
    gc_cb_add(record_gc_cb, NULL);
    static const int bad[] = {3, -2, 100, -100, 2147483647, -2147483647 - 1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t c0[3], c1[3];
        rc_gc_stats s0[3], s1[3];
        rc_gc_get_count(c0);
        rc_gc_get_stats(s0);
        clear_error();
        assert_int_equal(rc_gc_collect(bad[i]), 0);
        if (!strstr(rc_last_error(), "rc_gc_collect"))
            fail_msg("rc_gc_collect(%d): rc_last_error is \"%s\"", bad[i], rc_last_error());
        rc_gc_get_count(c1);
        rc_gc_get_stats(s1);
        assert_memory_equal(c0, c1, sizeof c0);
        assert_memory_equal(s0, s1, sizeof s0);
        assert_int_equal(S()->ngc, 0);
        assert_int_equal(S()->destroyed, 0);
        assert_int_equal(generation_of(young), 0);
    }
    rc_decref(young);
    assert_int_equal(rc_gc_collect(-1), 2);
}

static void test_collect_minus_one_is_generation_2(void **state) {
    (void)state;
    make_garbage_ring(node_type(), 2, 1);
    gc_cb_add(record_gc_cb, NULL);
    rc_gc_stats s0[3], s1[3];
    rc_gc_get_stats(s0);
    assert_int_equal(rc_gc_collect(-1), 2);
    rc_gc_get_stats(s1);
    assert_int_equal(s1[2].collections, s0[2].collections + 1);
    assert_int_equal(s1[2].collected, s0[2].collected + 2);
    assert_int_equal(s1[0].collections, s0[0].collections);
    assert_int_equal(s1[1].collections, s0[1].collections);
    assert_int_equal(S()->ngc, 2);
    assert_int_equal(S()->gc[0].phase, RC_GC_START);
    assert_int_equal(S()->gc[0].info.generation, 2);
    assert_int_equal(S()->gc[1].phase, RC_GC_STOP);
    assert_int_equal(S()->gc[1].info.generation, 2);
    assert_int_equal(S()->gc[1].info.collected, 2);
}

/* ---- callbacks ---- */

/* A garbage-list visitor: break an uncollectable cycle by hand. */
static int break_node(void *obj, void *arg) {
    (void)arg;
    node *n = obj;
    for (int i = 0; i < NODE_REFS; i++) RC_CLEAR(n->ref[i]);
    return 0;
}


static void test_callback_start_stop_info(void **state) {
    (void)state;
    gc_cb_add(record_gc_cb, (void *)(intptr_t)5);
    make_garbage_ring(node_type(), 2, 1);
    make_garbage_ring(noclear_type(), 2, 10);
    rc_gc_stats s0[3], s1[3];
    rc_gc_get_stats(s0);
    assert_int_equal(rc_gc_collect(-1), 4);
    rc_gc_get_stats(s1);
    obj_state *s = S();
    assert_int_equal(s->ngc, 2);
    assert_int_equal(s->gc[0].phase, RC_GC_START);
    assert_int_equal(s->gc[0].info.generation, 2);
    assert_int_equal(s->gc[0].info.collected, 0);
    assert_int_equal(s->gc[0].info.uncollectable, 0);
    assert_ptr_equal(s->gc[0].arg, (void *)(intptr_t)5);
    assert_int_equal(s->gc[1].phase, RC_GC_STOP);
    assert_int_equal(s->gc[1].info.generation, 2);
    assert_int_equal(s->gc[1].info.collected, 2);
    assert_int_equal(s->gc[1].info.uncollectable, 2);
    assert_true(s->gc[1].info.duration_ns > 0);
    assert_int_equal(s1[2].collected, s0[2].collected + 2);
    assert_int_equal(s1[2].uncollectable, s0[2].uncollectable + 2);
    /* START came before any object of the collection was touched, STOP
     * after all were freed */
    assert_true(first_event(EV_GC_START, 5) < first_event(EV_CLEAR, -1));
    assert_true(first_event(EV_GC_STOP, 5) > last_event(EV_DESTROY, -1));
    /* generations 0 and 1 are reported as such */
    s->ngc = 0;
    rc_gc_collect(0);
    rc_gc_collect(1);
    assert_int_equal(s->ngc, 4);
    assert_int_equal(s->gc[0].info.generation, 0);
    assert_int_equal(s->gc[1].info.generation, 0);
    assert_int_equal(s->gc[2].info.generation, 1);
    assert_int_equal(s->gc[3].info.generation, 1);
    assert_int_equal(s->gc[3].phase, RC_GC_STOP);
    /* the uncollectable pair: break it by hand */
    rc_gc_garbage(break_node, NULL);
}

static void test_callbacks_run_in_registration_order(void **state) {
    (void)state;
    for (intptr_t i = 1; i <= 4; i++) gc_cb_add(record_gc_cb, (void *)i);
    rc_gc_collect(0);
    obj_state *s = S();
    assert_int_equal(s->ngc, 8);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(s->gc[i].phase, RC_GC_START);
        assert_ptr_equal(s->gc[i].arg, (void *)(intptr_t)(i + 1));
        assert_int_equal(s->gc[4 + i].phase, RC_GC_STOP);
        assert_ptr_equal(s->gc[4 + i].arg, (void *)(intptr_t)(i + 1));
    }
    /* many of them */
    for (intptr_t i = 5; i <= 24; i++) gc_cb_add(record_gc_cb, (void *)i);
    s->ngc = 0;
    rc_gc_collect(-1);
    assert_int_equal(s->ngc, 48);
    for (int i = 0; i < 24; i++) {
        assert_int_equal(s->gc[i].phase, RC_GC_START);
        assert_ptr_equal(s->gc[i].arg, (void *)(intptr_t)(i + 1));
        assert_int_equal(s->gc[24 + i].phase, RC_GC_STOP);
        assert_ptr_equal(s->gc[24 + i].arg, (void *)(intptr_t)(i + 1));
    }
}

static void other_cb(rc_gc_phase phase, const rc_gc_info *info, void *arg) {
    (void)phase, (void)info, (void)arg;
    log_event(EV_GC_START, 99);
}

static void test_callback_remove_matches_fn_and_arg(void **state) {
    (void)state;
    void *a1 = (void *)(intptr_t)1, *a2 = (void *)(intptr_t)2, *a3 = (void *)(intptr_t)3;
    gc_cb_add(record_gc_cb, a1);
    gc_cb_add(record_gc_cb, a2);
    gc_cb_add(record_gc_cb, a1);
    gc_cb_add(other_cb, a3);
    /* pairs never registered */
    clear_error();
    assert_int_equal(rc_gc_callback_remove(record_gc_cb, a3), -1);
    assert_true(rc_last_error()[0] != '\0');
    clear_error();
    assert_int_equal(rc_gc_callback_remove(other_cb, a1), -1);
    assert_true(rc_last_error()[0] != '\0');
    assert_int_equal(rc_gc_callback_remove(record_gc_cb, NULL), -1);
    /* removes the first (record_gc_cb, 1) only */
    assert_int_equal(gc_cb_remove(record_gc_cb, a1), 0);
    rc_gc_collect(0);
    obj_state *s = S();
    assert_int_equal(s->ngc, 4);
    assert_ptr_equal(s->gc[0].arg, a2);
    assert_ptr_equal(s->gc[1].arg, a1);
    assert_int_equal(count_events(EV_GC_START, 99), 2); /* other_cb: START and STOP */
    assert_int_equal(gc_cb_remove(other_cb, a3), 0);
    assert_int_equal(gc_cb_remove(record_gc_cb, a1), 0);
    assert_int_equal(gc_cb_remove(record_gc_cb, a2), 0);
    clear_error();
    assert_int_equal(rc_gc_callback_remove(record_gc_cb, a2), -1); /* already gone */
    assert_true(rc_last_error()[0] != '\0');
    s->ngc = 0;
    s->nevents = 0;
    rc_gc_collect(0);
    assert_int_equal(s->ngc, 0);
    assert_int_equal(count_events(EV_GC_START, 99), 0);
    /* a NULL callback cannot be added */
    clear_error();
    assert_true(rc_gc_callback_add(NULL, NULL) < 0);
    assert_true(rc_last_error()[0] != '\0');
}

/* ---- tracking ---- */

static void test_track_untrack(void **state) {
    (void)state;
    node *n = new_node(node_type(), 1);
    assert_true(rc_gc_is_tracked(n));
    assert_int_equal(in_generation(n, 0), 1);
    size_t g0 = gen_objects(0);
    rc_gc_untrack(n);
    assert_false(rc_gc_is_tracked(n));
    assert_int_equal(in_generation(n, -1), 0);
    assert_int_equal(gen_objects(0), g0 - 1);
    rc_gc_untrack(n); /* again: nothing */
    assert_false(rc_gc_is_tracked(n));
    assert_int_equal(gen_objects(0), g0 - 1);
    rc_gc_track(n);
    assert_true(rc_gc_is_tracked(n));
    assert_int_equal(in_generation(n, 0), 1);
    rc_gc_track(n); /* again: not twice */
    assert_int_equal(in_generation(n, 0), 1);
    assert_int_equal(gen_objects(0), g0);
    /* a type without traverse cannot be tracked */
    node *h = new_node(holder_type(), 2);
    assert_false(rc_gc_is_tracked(h));
    clear_error();
    rc_gc_track(h);
    assert_false(rc_gc_is_tracked(h));
    assert_true(rc_last_error()[0] != '\0');
    assert_non_null(strstr(rc_last_error(), "rc_gc_track"));
    assert_int_equal(gen_objects(0), g0);
    assert_int_equal(in_generation(h, -1), 0);
    /* NULL */
    rc_gc_track(NULL);
    rc_gc_untrack(NULL);
    assert_false(rc_gc_is_tracked(NULL));
    /* an untracked object that survived collections can be tracked again */
    rc_gc_untrack(n);
    rc_gc_collect(-1);
    rc_gc_track(n);
    assert_true(rc_gc_is_tracked(n));
    assert_int_equal(in_generation(n, 0), 1);
    rc_decref(h);
    rc_decref(n);
    assert_int_equal(S()->destroyed, 2);
}

static void test_untracked_cycle_not_collected_until_tracked(void **state) {
    (void)state;
    node *r[2];
    make_ring(node_type(), 2, 1, r);
    rc_gc_untrack(r[0]);
    rc_gc_untrack(r[1]);
    rc_decref(r[0]);
    rc_decref(r[1]);
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(S()->destroyed, 0);
    /* half tracked: the untracked member's reference looks external */
    rc_gc_track(r[1]);
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(S()->destroyed, 0);
    rc_gc_track(r[0]);
    assert_int_equal(rc_gc_collect(-1), 2);
    assert_int_equal(S()->destroyed, 2);
}

/* ---- walks ---- */

static void test_get_objects_counts_and_early_stop(void **state) {
    (void)state;
    node *v[5];
    for (int i = 0; i < 5; i++) v[i] = new_node(node_type(), i);
    node *h = new_node(holder_type(), 9);
    visit_log all = {0};
    assert_int_equal(rc_gc_get_objects(0, visit_record, &all), 5);
    assert_int_equal(all.n, 5);
    for (int i = 0; i < 5; i++) assert_true(visit_saw(&all, v[i]));
    assert_false(visit_saw(&all, h));
    /* the visitor's nonzero return stops the walk; the count stays whole */
    visit_log some = {.stop_after = 2};
    assert_int_equal(rc_gc_get_objects(0, visit_record, &some), 5);
    assert_int_equal(some.n, 2);
    visit_log one = {.stop_after = 1};
    assert_int_equal(rc_gc_get_objects(-1, visit_record, &one), gen_objects(-1));
    assert_int_equal(one.n, 1);
    /* count only */
    assert_int_equal(rc_gc_get_objects(0, NULL, NULL), 5);
    assert_int_equal(gen_objects(1), 0);
    assert_int_equal(gen_objects(-1), gen_objects(0) + gen_objects(1) + gen_objects(2));
    /* generation by generation */
    rc_gc_collect(0);
    assert_int_equal(gen_objects(0), 0);
    visit_log g1 = {0};
    assert_int_equal(rc_gc_get_objects(1, visit_record, &g1), 5);
    for (int i = 0; i < 5; i++) assert_true(visit_saw(&g1, v[i]));
    size_t g2 = gen_objects(2);
    rc_gc_collect(1);
    assert_int_equal(gen_objects(1), 0);
    assert_int_equal(gen_objects(2), g2 + 5);
    /* the walk's references are borrowed: counts are as they were */
    for (int i = 0; i < 5; i++) assert_int_equal(rc_refcount(v[i]), 1);
    /* bad generations */
    for (int g = -3; g <= 4; g += 7) {
        visit_log bad = {0};
        clear_error();
        assert_int_equal(rc_gc_get_objects(g, visit_record, &bad), 0);
        assert_int_equal(bad.n, 0);
        assert_true(rc_last_error()[0] != '\0');
    }
    for (int i = 0; i < 5; i++) rc_decref(v[i]);
    rc_decref(h);
    assert_int_equal(S()->destroyed, 6);
}

static void test_get_referrers(void **state) {
    (void)state;
    node *x = new_node(node_type(), 1);
    node *a = new_node(node_type(), 2);
    node *b = new_node(node_type(), 3);
    node *c = new_node(node_type(), 4);
    node *h = new_node(holder_type(), 5);
    set_ref(a, 0, x);
    set_ref(b, 2, x);
    set_ref(b, 1, x); /* two references from b: b is one referrer */
    set_ref(h, 0, x); /* untracked: not found */
    set_ref(c, 0, a);
    visit_log log = {0};
    assert_int_equal(rc_gc_get_referrers(x, visit_record, &log), 2);
    assert_int_equal(log.n, 2);
    assert_true(visit_saw(&log, a));
    assert_true(visit_saw(&log, b));
    visit_log first = {.stop_after = 1};
    assert_int_equal(rc_gc_get_referrers(x, visit_record, &first), 2);
    assert_int_equal(first.n, 1);
    assert_int_equal(rc_gc_get_referrers(x, NULL, NULL), 2);
    visit_log la = {0};
    assert_int_equal(rc_gc_get_referrers(a, visit_record, &la), 1);
    assert_ptr_equal(la.items[0], c);
    assert_int_equal(rc_gc_get_referrers(c, NULL, NULL), 0);
    assert_int_equal(rc_gc_get_referrers(NULL, NULL, NULL), 0);
    /* also across generations */
    rc_gc_collect(0);
    node *d = new_node(node_type(), 6);
    set_ref(d, 0, x);
    assert_int_equal(rc_gc_get_referrers(x, NULL, NULL), 3);
    /* a self-reference makes an object its own referrer */
    set_ref(x, 0, x);
    visit_log self = {0};
    assert_int_equal(rc_gc_get_referrers(x, visit_record, &self), 4);
    assert_true(visit_saw(&self, x));
    RC_CLEAR(x->ref[0]);
    node *all[] = {x, a, b, c, h, d};
    for (size_t i = 0; i < 6; i++) rc_decref(all[i]);
    assert_int_equal(S()->destroyed, 6);
}

static void test_get_referents(void **state) {
    (void)state;
    node *x = new_node(node_type(), 1);
    node *y = new_node(holder_type(), 2);
    node *a = new_node(node_type(), 3);
    set_ref(a, 0, x);
    set_ref(a, 2, y); /* ref[1] stays NULL: not visited */
    visit_log log = {0};
    assert_int_equal(rc_gc_get_referents(a, visit_record, &log), 2);
    assert_int_equal(log.n, 2);
    assert_true(visit_saw(&log, x));
    assert_true(visit_saw(&log, y)); /* untracked referents are visited too */
    visit_log first = {.stop_after = 1};
    assert_int_equal(rc_gc_get_referents(a, visit_record, &first), 2);
    assert_int_equal(first.n, 1);
    assert_int_equal(rc_gc_get_referents(x, NULL, NULL), 0);
    /* a type without traverse has none, whatever it holds */
    set_ref(y, 0, x);
    assert_int_equal(rc_gc_get_referents(y, NULL, NULL), 0);
    assert_int_equal(rc_gc_get_referents(NULL, NULL, NULL), 0);
    assert_int_equal(rc_refcount(x), 3); /* borrowed */
    rc_decref(a);
    rc_decref(y);
    rc_decref(x);
    assert_int_equal(S()->destroyed, 3);
}

/* ---- collections requested while one runs ---- */

#define INNER_MAX 32
static size_t g_inner[INNER_MAX];
static int g_ninner;

static void note_inner(size_t n) {
    if (g_ninner < INNER_MAX) g_inner[g_ninner] = n;
    g_ninner++;
}

static void collect_in_callback(rc_gc_phase phase, const rc_gc_info *info, void *arg) {
    (void)phase, (void)info, (void)arg;
    note_inner(rc_gc_collect(-1));
    note_inner(rc_gc_collect(0));
}

static void test_collect_inside_callback_returns_0(void **state) {
    (void)state;
    g_ninner = 0;
    gc_cb_add(collect_in_callback, NULL);
    gc_cb_add(record_gc_cb, NULL);
    make_garbage_ring(node_type(), 2, 1);
    assert_int_equal(rc_gc_collect(-1), 2);
    assert_int_equal(g_ninner, 4);
    for (int i = 0; i < 4; i++) assert_int_equal(g_inner[i], 0);
    assert_int_equal(S()->ngc, 2); /* no nested collection */
    /* also for automatic collections */
    rc_gc_set_threshold(10, 10, 10);
    g_ninner = 0;
    S()->ngc = 0;
    for (int i = 0; i < 11; i++) make_garbage_ring(node_type(), 1, 100 + i);
    assert_int_equal(S()->ngc, 2);
    assert_int_equal(g_ninner, 4);
    for (int i = 0; i < 4; i++) assert_int_equal(g_inner[i], 0);
}

static void collect_in_hook(node *self) {
    (void)self;
    note_inner(rc_gc_collect(-1));
}

static void test_collect_inside_clear_and_destroy_returns_0(void **state) {
    (void)state;
    gc_cb_add(record_gc_cb, NULL);
    g_ninner = 0;
    S()->on_clear = collect_in_hook;
    S()->on_destroy = collect_in_hook;
    make_garbage_ring(node_type(), 3, 1);
    assert_int_equal(rc_gc_collect(-1), 3);
    assert_int_equal(g_ninner, 6); /* three clears, three destroys */
    for (int i = 0; i < 6; i++) assert_int_equal(g_inner[i], 0);
    assert_int_equal(S()->ngc, 2);
    assert_int_equal(S()->destroyed, 3);
}

/* ---- SAVEALL and uncollectable cycles ---- */

static void test_saveall_keeps_unreachable_objects(void **state) {
    (void)state;
    rc_gc_set_debug(RC_GC_DEBUG_SAVEALL);
    assert_int_equal(rc_gc_get_debug(), RC_GC_DEBUG_SAVEALL);
    node *r[2];
    make_ring(node_type(), 2, 1, r);
    node *tail = new_node(node_type(), 3);
    set_ref(r[0], 1, tail);
    rc_decref(tail);
    rc_weakref *w = rc_weakref_new(r[0], NULL, NULL);
    assert_non_null(w);
    rc_decref(r[0]);
    rc_decref(r[1]);
    rc_gc_stats s0[3], s1[3];
    rc_gc_get_stats(s0);
    assert_int_equal(rc_gc_collect(-1), 3);
    rc_gc_get_stats(s1);
    assert_int_equal(s1[2].collected, s0[2].collected + 3);
    assert_int_equal(S()->destroyed, 0);
    assert_int_equal(S()->cleared, 0);
    visit_log log = {0};
    assert_int_equal(rc_gc_garbage(visit_record, &log), 3);
    assert_true(visit_saw(&log, r[0]));
    assert_true(visit_saw(&log, r[1]));
    assert_true(visit_saw(&log, tail));
    assert_ptr_equal(r[0]->ref[0], r[1]); /* intact */
    /* weak references to them were cleared all the same (as in CPython) */
    assert_null(rc_weakref_get(w));
    /* early stop */
    visit_log first = {.stop_after = 1};
    assert_int_equal(rc_gc_garbage(visit_record, &first), 3);
    assert_int_equal(first.n, 1);
    /* the garbage list keeps them reachable: not found again */
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(rc_gc_garbage(NULL, NULL), 3);
    /* dropped from the list, they are cyclic garbage again */
    rc_gc_set_debug(0);
    rc_gc_garbage_clear();
    assert_int_equal(rc_gc_garbage(NULL, NULL), 0);
    assert_int_equal(S()->destroyed, 0);
    assert_int_equal(rc_gc_collect(-1), 3);
    assert_int_equal(S()->destroyed, 3);
    rc_decref(w);
}

static void break_own_cycle(node *self) { RC_CLEAR(self->ref[0]); }

/* Saved objects whose cycle a finalizer broke die as soon as the list lets
 * go of them, without another collection. */
static void test_saveall_garbage_clear_frees(void **state) {
    (void)state;
    rc_gc_set_debug(RC_GC_DEBUG_SAVEALL);
    S()->on_finalize = break_own_cycle;
    make_garbage_ring(fin_type(), 2, 1);
    assert_int_equal(rc_gc_collect(-1), 2);
    assert_int_equal(S()->finalized, 2);
    assert_int_equal(S()->destroyed, 0);
    assert_int_equal(rc_gc_garbage(NULL, NULL), 2);
    rc_gc_garbage_clear();
    assert_int_equal(S()->destroyed, 2);
    assert_int_equal(S()->finalized, 2);
    assert_int_equal(rc_gc_garbage(NULL, NULL), 0);
}

static void test_uncollectable_cycle_reported_and_kept(void **state) {
    (void)state;
    gc_cb_add(record_gc_cb, NULL);
    node *r[2];
    make_ring(noclear_type(), 2, 1, r);
    rc_decref(r[0]);
    rc_decref(r[1]);
    rc_gc_stats s0[3], s1[3];
    rc_gc_get_stats(s0);
    assert_int_equal(rc_gc_collect(-1), 2);
    rc_gc_get_stats(s1);
    assert_int_equal(s1[2].uncollectable, s0[2].uncollectable + 2);
    assert_int_equal(s1[2].collected, s0[2].collected);
    assert_int_equal(S()->gc[1].info.uncollectable, 2);
    assert_int_equal(S()->gc[1].info.collected, 0);
    assert_int_equal(S()->destroyed, 0);
    visit_log log = {0};
    assert_int_equal(rc_gc_garbage(visit_record, &log), 2);
    assert_true(visit_saw(&log, r[0]));
    assert_true(visit_saw(&log, r[1]));
    assert_ptr_equal(r[0]->ref[0], r[1]);
    /* kept: a later collection does not report them again */
    assert_int_equal(rc_gc_collect(-1), 0);
    rc_gc_get_stats(s1);
    assert_int_equal(s1[2].uncollectable, s0[2].uncollectable + 2);
    assert_int_equal(rc_gc_garbage(NULL, NULL), 2);
    /* the program breaks the cycle itself, then clears the list */
    rc_gc_garbage(break_node, NULL);
    assert_int_equal(S()->destroyed, 0);
    rc_gc_garbage_clear();
    assert_int_equal(S()->destroyed, 2);
}

/* ---- debug output ---- */

static void resurrect_into_keep(node *self) { keep_ref(1, self); }


static bool is_elapsed(const char *s) {
    /* digits '.' four digits "s elapsed" */
    const char *p = s;
    if (!(*p >= '0' && *p <= '9')) return false;
    while (*p >= '0' && *p <= '9') p++;
    if (*p++ != '.') return false;
    for (int i = 0; i < 4; i++, p++)
        if (!(*p >= '0' && *p <= '9')) return false;
    return strcmp(p, "s elapsed") == 0;
}

static void test_debug_stats_output(void **state) {
    (void)state;
    node *live = new_node(node_type(), 100);
    make_garbage_ring(node_type(), 2, 1);
    make_garbage_ring(noclear_type(), 2, 10);
    size_t g2 = gen_objects(2);
    captured *c = capture_begin();
    rc_gc_set_debug(RC_GC_DEBUG_STATS);
    assert_int_equal(rc_gc_collect(-1), 4);
    rc_gc_set_debug(0);
    capture_end();
    int i0 = capture_find(c, "gc: collecting generation");
    assert_true(i0 >= 0);
    assert_string_equal(c->text[i0], "gc: collecting generation 2...");
    int i1 = capture_find(c, "gc: objects in each generation:");
    assert_true(i1 > i0);
    char want[128];
    snprintf(want, sizeof want, "gc: objects in each generation: 5 0 %zu", g2);
    assert_string_equal(c->text[i1], want);
    int i2 = capture_find(c, "gc: done, ");
    assert_true(i2 > i1);
    const char *prefix = "gc: done, 4 unreachable, 2 uncollectable, ";
    if (strncmp(c->text[i2], prefix, strlen(prefix)) != 0 || !is_elapsed(c->text[i2] + strlen(prefix)))
        fail_msg("unexpected line: \"%s\"", c->text[i2]);
    /* nothing but the report: at most one more line (the permanent
     * generation's size) */
    for (int i = 0; i < c->count && i < CAPTURE_MAX; i++)
        if (strncmp(c->text[i], "gc: ", 4) != 0) fail_msg("unexpected message \"%s\"", c->text[i]);
    assert_true(c->count >= 3 && c->count <= 4);
    /* a young collection */
    c = capture_begin();
    rc_gc_set_debug(RC_GC_DEBUG_STATS);
    rc_gc_collect(0);
    rc_gc_set_debug(0);
    capture_end();
    assert_true(capture_find(c, "gc: collecting generation 0...") >= 0);
    i2 = capture_find(c, "gc: done, 0 unreachable, 0 uncollectable, ");
    assert_true(i2 >= 0);
    assert_true(is_elapsed(c->text[i2] + strlen("gc: done, 0 unreachable, 0 uncollectable, ")));
    rc_gc_garbage(break_node, NULL);
    rc_decref(live);
}

/* Without debug flags a collection prints nothing. */
static void test_no_debug_flags_no_output(void **state) {
    (void)state;
    make_garbage_ring(node_type(), 2, 1);
    make_garbage_ring(noclear_type(), 2, 10);
    captured *c = capture_begin();
    assert_int_equal(rc_gc_collect(-1), 4);
    rc_gc_collect(0);
    capture_end();
    assert_int_equal(c->count, 0);
    rc_gc_garbage(break_node, NULL);
}

static void test_debug_collectable_output(void **state) {
    (void)state;
    node *r[2];
    make_ring(node_type(), 2, 1, r);
    char want[2][128];
    for (int i = 0; i < 2; i++) snprintf(want[i], sizeof want[i], "gc: collectable <node %p>", (void *)r[i]);
    rc_decref(r[0]);
    rc_decref(r[1]);
    captured *c = capture_begin();
    rc_gc_set_debug(RC_GC_DEBUG_COLLECTABLE);
    assert_int_equal(rc_gc_collect(-1), 2);
    rc_gc_set_debug(0);
    capture_end();
    assert_int_equal(c->count, 2);
    for (int i = 0; i < 2; i++) {
        bool found = false;
        for (int j = 0; j < 2; j++) found |= strcmp(c->text[j], want[i]) == 0;
        if (!found) fail_msg("no line \"%s\" (got \"%s\", \"%s\")", want[i], c->text[0], c->text[1]);
    }
    assert_int_equal(S()->destroyed, 2); /* printed, and freed */
}

static void test_debug_uncollectable_output(void **state) {
    (void)state;
    node *r[2];
    make_ring(noclear_type(), 2, 1, r);
    char want[2][128];
    for (int i = 0; i < 2; i++) snprintf(want[i], sizeof want[i], "gc: uncollectable <noclear %p>", (void *)r[i]);
    rc_decref(r[0]);
    rc_decref(r[1]);
    make_garbage_ring(node_type(), 1, 5); /* collectable: not printed */
    captured *c = capture_begin();
    rc_gc_set_debug(RC_GC_DEBUG_UNCOLLECTABLE);
    assert_int_equal(rc_gc_collect(-1), 3);
    rc_gc_set_debug(0);
    capture_end();
    assert_int_equal(c->count, 2);
    for (int i = 0; i < 2; i++) {
        bool found = false;
        for (int j = 0; j < 2; j++) found |= strcmp(c->text[j], want[i]) == 0;
        if (!found) fail_msg("no line \"%s\" (got \"%s\", \"%s\")", want[i], c->text[0], c->text[1]);
    }
    rc_gc_garbage(break_node, NULL);
}

/* RC_GC_DEBUG_LEAK: collectable lines, and everything saved. */
static void test_debug_leak_flags(void **state) {
    (void)state;
    assert_int_equal(RC_GC_DEBUG_LEAK,
                     RC_GC_DEBUG_COLLECTABLE | RC_GC_DEBUG_UNCOLLECTABLE | RC_GC_DEBUG_SAVEALL);
    rc_gc_set_debug(RC_GC_DEBUG_STATS | RC_GC_DEBUG_SAVEALL);
    assert_int_equal(rc_gc_get_debug(), RC_GC_DEBUG_STATS | RC_GC_DEBUG_SAVEALL);
    make_garbage_ring(node_type(), 2, 1);
    captured *c = capture_begin();
    rc_gc_set_debug(RC_GC_DEBUG_LEAK);
    assert_int_equal(rc_gc_get_debug(), RC_GC_DEBUG_LEAK);
    assert_int_equal(rc_gc_collect(-1), 2);
    rc_gc_set_debug(0);
    capture_end();
    assert_int_equal(c->count, 2);
    assert_non_null(strstr(c->text[0], "gc: collectable <node 0x"));
    assert_int_equal(rc_gc_garbage(NULL, NULL), 2);
    assert_int_equal(S()->destroyed, 0);
    rc_gc_garbage_clear();
    assert_int_equal(rc_gc_collect(-1), 2);
    assert_int_equal(S()->destroyed, 2);
}

/* The sizes the STATS report prints are those rc_gc_get_objects sees at
 * the start of each collection, through freezing, SAVEALL, uncollectable
 * garbage, resurrection, untracking from a finalizer and re-tracking. */
#define SIZES_MAX 16
static size_t g_sizes[SIZES_MAX][4];
static int g_nsizes;

static void record_sizes(rc_gc_phase phase, const rc_gc_info *info, void *arg) {
    (void)info, (void)arg;
    if (phase != RC_GC_START || g_nsizes >= SIZES_MAX) return;
    for (int g = 0; g < 3; g++) g_sizes[g_nsizes][g] = rc_gc_get_objects(g, NULL, NULL);
    g_sizes[g_nsizes][3] = rc_gc_get_freeze_count();
    g_nsizes++;
}

static void untrack_and_keep(node *self) {
    rc_gc_untrack(self);
    keep_ref(2, self);
}

static void test_debug_stats_sizes_match_get_objects(void **state) {
    (void)state;
    g_nsizes = 0;
    gc_cb_add(record_sizes, NULL);
    captured *c = capture_begin();
    rc_gc_set_debug(RC_GC_DEBUG_STATS);
    node *live[3];
    for (int i = 0; i < 3; i++) live[i] = new_node(node_type(), i);
    rc_gc_collect(0);
    rc_gc_freeze();
    node *more[2];
    for (int i = 0; i < 2; i++) more[i] = new_node(node_type(), 10 + i);
    rc_gc_collect(0);
    rc_gc_unfreeze();
    rc_gc_collect(1);
    rc_gc_set_debug(RC_GC_DEBUG_STATS | RC_GC_DEBUG_SAVEALL);
    make_garbage_ring(node_type(), 2, 20);
    rc_gc_collect(0);
    rc_gc_set_debug(RC_GC_DEBUG_STATS);
    make_garbage_ring(noclear_type(), 2, 30);
    rc_gc_collect(0);
    S()->on_finalize = resurrect_into_keep;
    make_garbage_ring(fin_type(), 1, 40);
    rc_gc_collect(0);
    S()->on_finalize = untrack_and_keep;
    make_garbage_ring(fin_type(), 1, 50);
    rc_gc_collect(0);
    S()->on_finalize = NULL;
    rc_gc_untrack(live[1]);
    rc_gc_track(live[1]);
    rc_gc_collect(1);
    rc_gc_collect(-1);
    rc_gc_set_debug(0);
    capture_end();
    assert_int_equal(g_nsizes, 9);
    int k = 0;
    for (int i = 0; i < c->count && i < CAPTURE_MAX; i++) {
        size_t a, b, d, p;
        if (sscanf(c->text[i], "gc: objects in each generation: %zu %zu %zu", &a, &b, &d) == 3) {
            assert_true(k < g_nsizes);
            if (a != g_sizes[k][0] || b != g_sizes[k][1] || d != g_sizes[k][2])
                fail_msg("collection %d: printed %zu %zu %zu, rc_gc_get_objects %zu %zu %zu", k, a, b, d,
                         g_sizes[k][0], g_sizes[k][1], g_sizes[k][2]);
        } else if (sscanf(c->text[i], "gc: objects in permanent generation: %zu", &p) == 1) {
            assert_true(k < g_nsizes);
            if (p != g_sizes[k][3])
                fail_msg("collection %d: printed %zu frozen, rc_gc_get_freeze_count %zu", k, p, g_sizes[k][3]);
            k++;
        }
    }
    assert_int_equal(k, 9);
    rc_gc_garbage(break_node, NULL);
    rc_gc_garbage_clear();
    for (int i = 0; i < 3; i++) rc_decref(live[i]);
    for (int i = 0; i < 2; i++) rc_decref(more[i]);
}

/* No collection runs while a plain release runs destroy: one asked for
 * there runs, and does its work fully. The garbage is a cycle in which
 * only one object has clear, which is enough to free it. */
static size_t g_from_destroy;

static void collect_from_destroy(node *self) {
    if (self->id == 3) g_from_destroy = rc_gc_collect(-1);
}

static void test_collection_from_destroy_during_release(void **state) {
    (void)state;
    gc_cb_add(record_gc_cb, NULL);
    node *a = new_node(node_type(), 1);
    node *b = new_node(noclear_type(), 2);
    set_ref(a, 0, b);
    set_ref(b, 0, a);
    rc_decref(a);
    rc_decref(b);
    node *x = new_node(holder_type(), 3);
    S()->on_destroy = collect_from_destroy;
    g_from_destroy = 0;
    rc_decref(x);
    S()->on_destroy = NULL;
    assert_int_equal(g_from_destroy, 2);
    assert_int_equal(S()->ngc, 2);
    assert_int_equal(S()->gc[1].info.collected, 2);
    assert_int_equal(S()->gc[1].info.uncollectable, 0);
    assert_int_equal(rc_gc_garbage(NULL, NULL), 0);
    assert_int_equal(S()->destroyed, 3);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], FRESH_ARG) == 0) return fresh_process_main();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_process_has_no_tracked_objects),
        OBJ_TEST(test_self_cycle_collected),
        OBJ_TEST(test_two_object_cycle_collected),
        OBJ_TEST(test_three_object_cycle_collected),
        OBJ_TEST(test_cycle_with_dependents_counted),
        OBJ_TEST(test_collect_returns_sum_of_cycles),
        OBJ_TEST(test_cycle_reachable_from_live_object_survives),
        OBJ_TEST(test_cycle_held_by_c_reference_survives),
        OBJ_TEST(test_cycle_reachable_through_untracked_object_survives),
        OBJ_TEST(test_cycle_through_untracked_object_not_freed),
        OBJ_TEST(test_cycle_with_one_clear_is_collectable),
        OBJ_TEST(test_large_objects_tracked_and_collected),
        OBJ_TEST(test_collect_bad_generation_changes_nothing),
        OBJ_TEST(test_collect_minus_one_is_generation_2),
        OBJ_TEST(test_callback_start_stop_info),
        OBJ_TEST(test_callbacks_run_in_registration_order),
        OBJ_TEST(test_callback_remove_matches_fn_and_arg),
        OBJ_TEST(test_track_untrack),
        OBJ_TEST(test_untracked_cycle_not_collected_until_tracked),
        OBJ_TEST(test_get_objects_counts_and_early_stop),
        OBJ_TEST(test_get_referrers),
        OBJ_TEST(test_get_referents),
        OBJ_TEST(test_collect_inside_callback_returns_0),
        OBJ_TEST(test_collect_inside_clear_and_destroy_returns_0),
        OBJ_TEST(test_saveall_keeps_unreachable_objects),
        OBJ_TEST(test_saveall_garbage_clear_frees),
        OBJ_TEST(test_uncollectable_cycle_reported_and_kept),
        OBJ_TEST(test_debug_stats_output),
        OBJ_TEST(test_no_debug_flags_no_output),
        OBJ_TEST(test_debug_collectable_output),
        OBJ_TEST(test_debug_uncollectable_output),
        OBJ_TEST(test_debug_leak_flags),
        OBJ_TEST(test_debug_stats_sizes_match_get_objects),
        OBJ_TEST(test_collection_from_destroy_during_release),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
