/*
 * test_gc_threads.c — objects and the collector across threads.
 *
 * Objects belong to the thread that made them, and each thread's objects
 * form their own collector world; the settings are process-wide; a thread
 * that exits hands its objects to the orphan world, which every explicit
 * rc_gc_collect also collects.
 *
 *   per-thread worlds   a thread's allocations, collections and freezes
 *                       move its own counts, stats, generations and freeze
 *                       count, never another thread's
 *   collect own world   rc_gc_collect frees the calling thread's garbage
 *                       (and the orphans'), not that of another live thread;
 *                       two threads collecting at once
 *   settings            enable/disable, thresholds, debug flags and
 *                       callbacks set on one thread are seen on another;
 *                       automatic collection on a thread follows them
 *   orphans             a thread exits with garbage cycles, weak references
 *                       with callbacks, rc_finalize_on_death registrations
 *                       and live objects handed over through globals: the
 *                       main thread's rc_gc_collect frees the cycles
 *                       (finalizers and callbacks run once, on main), the
 *                       live objects stay valid, main changes and releases
 *                       them
 *   many threads        rounds of threads making objects, cycles and weak
 *                       references while the main thread collects: at the
 *                       end every object made has been destroyed
 *
 * Counters touched by several threads are atomic; the rest is handed over
 * at pthread_create/pthread_join or under a mutex. Every test starts and
 * ends with an empty orphan world (see settle()).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "reclaim.h"
#define TEST_SCALE_TSAN 0.5
#include "test_scale.h"

/* {==== types and counters ==== */

/* Objects carry a tag: the counters are kept per tag, so each test (and
 * each thread in it) counts its own objects. */
#define TAGS 64

typedef struct tnode {
    void *a, *b;     /* references */
    uint32_t tag;
    uint32_t value;
} tnode;

static atomic_size_t created[TAGS], destroyed[TAGS], finalized[TAGS];

static int tnode_traverse(void *self, rc_visit_fn visit, void *arg) {
    tnode *n = self;
    int r = visit(n->a, arg);
    return r ? r : visit(n->b, arg);
}

static void tnode_clear(void *self) {
    tnode *n = self;
    RC_CLEAR(n->a);
    RC_CLEAR(n->b);
}

static void tnode_destroy(void *self) {
    tnode *n = self;
    RC_CLEAR(n->a);
    RC_CLEAR(n->b);
    atomic_fetch_add(&destroyed[n->tag], 1);
}

static void tnode_finalize(void *self) {
    tnode *n = self;
    atomic_fetch_add(&finalized[n->tag], 1);
}

static const rc_type node_type = {
    .name = "gct_node",
    .size = sizeof(tnode),
    .traverse = tnode_traverse,
    .clear = tnode_clear,
    .destroy = tnode_destroy,
};

/* With a finalizer (PEP 442): runs once, before clear. */
static const rc_type fin_type = {
    .name = "gct_fin",
    .size = sizeof(tnode),
    .traverse = tnode_traverse,
    .clear = tnode_clear,
    .finalize = tnode_finalize,
    .destroy = tnode_destroy,
};

/* Untracked: references nothing. */
static const rc_type leaf_type = {
    .name = "gct_leaf",
    .size = sizeof(tnode),
    .destroy = tnode_destroy,
};

/* A check that may run on any thread (cmocka's assertions may not: they
 * jump back into the test's main thread). */
static void must(bool ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "test_gc_threads: %s failed: %s\n", what, rc_last_error());
        abort();
    }
}

static tnode *mk(const rc_type *t, uint32_t tag) {
    tnode *n = rc_new(t);
    must(n != NULL, "rc_new");
    n->tag = tag;
    atomic_fetch_add(&created[tag], 1);
    return n;
}

/* n garbage cycles of two objects of type t; returns the objects made. */
static size_t make_cycles(const rc_type *t, uint32_t tag, size_t n) {
    for (size_t i = 0; i < n; i++) {
        tnode *x = mk(t, tag), *y = mk(t, tag);
        RC_SET(x->a, y);
        RC_SET(y->a, x);
        rc_decref(x);
        rc_decref(y);
    }
    return 2 * n;
}

static size_t ncreated(uint32_t tag) { return atomic_load(&created[tag]); }
static size_t ndestroyed(uint32_t tag) { return atomic_load(&destroyed[tag]); }
static size_t nfinalized(uint32_t tag) { return atomic_load(&finalized[tag]); }

static int count_visit(void *obj, void *arg) {
    (void)obj;
    ++*(size_t *)arg;
    return 0;
}
/* }==== */

/* {==== threads: a start, and a two-party handshake ==== */

typedef struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int step;  /* raised by either side */
} gate;

static void gate_init(gate *g) {
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->cond, NULL);
    g->step = 0;
}

static void gate_destroy(gate *g) {
    pthread_mutex_destroy(&g->lock);
    pthread_cond_destroy(&g->cond);
}

/* Set step to s and wake the other side. */
static void gate_post(gate *g, int s) {
    pthread_mutex_lock(&g->lock);
    g->step = s;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

/* Wait until step reaches s. */
static void gate_wait(gate *g, int s) {
    pthread_mutex_lock(&g->lock);
    while (g->step < s) pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

static pthread_t start(void *(*fn)(void *), void *arg) {
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fn, arg), 0);
    return t;
}

static void join(pthread_t t) { assert_int_equal(pthread_join(t, NULL), 0); }

/* The main thread's world and the orphan world hold no garbage: after a
 * full collection, with the default settings. */
static void settle(void) {
    rc_gc_set_threshold(700, 10, 10);
    rc_gc_enable();
    rc_gc_set_debug(0);
    rc_gc_collect(-1);
    rc_gc_collect(-1);
}

static int setup(void **state) {
    (void)state;
    settle();
    return 0;
}

static int teardown(void **state) {
    (void)state;
    settle();
    return 0;
}
/* }==== */

/* {==== per-thread worlds ==== */

enum { T_COUNTS = 1, T_COUNTS_MAIN, T_OWN_MAIN, T_OWN_THREAD, T_OWN_OTHER, T_SETTINGS, T_ORPHAN_CYCLE,
       T_ORPHAN_FIN, T_ORPHAN_LIVE, T_ORPHAN_LIVE_CYCLE, T_ORPHAN_MAIN, T_FROZEN, T_MANY_BASE };

typedef struct counts_ctx {
    gate g;
    size_t count[3];       /* the thread's counts after its allocations */
    size_t objects;        /* its rc_gc_get_objects(-1) */
    size_t frozen;         /* its freeze count after rc_gc_freeze */
    size_t collected;      /* its rc_gc_collect(0) */
    rc_gc_stats stats[3];  /* its stats after that */
    size_t fresh[3];       /* its counts before its first object */
} counts_ctx;

/* Step 1: the thread has made 25 garbage cycles and holds 10 live objects,
 * frozen; it waits for step 2, then unfreezes, collects generation 0 and
 * exits. */
static void *counts_thread(void *arg) {
    counts_ctx *c = arg;
    rc_gc_get_count(c->fresh);
    make_cycles(&node_type, T_COUNTS, 25);
    tnode *live[10];
    for (int i = 0; i < 10; i++) live[i] = mk(&node_type, T_COUNTS);
    rc_gc_get_count(c->count);
    c->objects = rc_gc_get_objects(-1, NULL, NULL);
    rc_gc_freeze();
    c->frozen = rc_gc_get_freeze_count();
    gate_post(&c->g, 1);
    gate_wait(&c->g, 2);
    rc_gc_unfreeze();
    c->collected = rc_gc_collect(2);
    rc_gc_get_stats(c->stats);
    for (int i = 0; i < 10; i++) rc_decref(live[i]);
    return NULL;
}

static void test_per_thread_worlds(void **state) {
    (void)state;
    /* the main thread has some objects of its own */
    tnode *mine[5];
    for (int i = 0; i < 5; i++) mine[i] = mk(&node_type, T_COUNTS_MAIN);
    size_t count0[3], count1[3], objects0, objects1;
    rc_gc_stats stats0[3], stats1[3];
    rc_gc_get_count(count0);
    rc_gc_get_stats(stats0);
    objects0 = rc_gc_get_objects(-1, NULL, NULL);
    assert_int_equal(objects0, 5);
    assert_int_equal(rc_gc_get_freeze_count(), 0);

    counts_ctx c = {0};
    gate_init(&c.g);
    pthread_t t = start(counts_thread, &c);
    gate_wait(&c.g, 1);
    /* the thread's world: its own counts, objects and frozen ones */
    assert_int_equal(c.fresh[0], 0);
    assert_int_equal(c.count[0], 60);
    assert_int_equal(c.objects, 60);
    assert_int_equal(c.frozen, 60);
    /* the main thread's world did not move */
    rc_gc_get_count(count1);
    rc_gc_get_stats(stats1);
    objects1 = rc_gc_get_objects(-1, NULL, NULL);
    assert_memory_equal(count0, count1, sizeof count0);
    assert_memory_equal(stats0, stats1, sizeof stats0);
    assert_int_equal(objects1, objects0);
    assert_int_equal(rc_gc_get_freeze_count(), 0);
    gate_post(&c.g, 2);
    join(t);
    /* its full collection found its 50 garbage objects; counted in its stats */
    assert_int_equal(c.collected, 50);
    assert_int_equal(c.stats[2].collections, 1);
    assert_int_equal(c.stats[2].collected, 50);
    assert_int_equal(ndestroyed(T_COUNTS), 60);
    rc_gc_get_stats(stats1);
    rc_gc_get_count(count1);
    assert_memory_equal(stats0, stats1, sizeof stats0);
    assert_memory_equal(count0, count1, sizeof count0);
    assert_int_equal(rc_gc_get_objects(-1, NULL, NULL), 5);
    for (int i = 0; i < 5; i++) rc_decref(mine[i]);
    assert_int_equal(ndestroyed(T_COUNTS_MAIN), 5);
    gate_destroy(&c.g);
}
/* }==== */

/* {==== rc_gc_collect collects the calling thread's world ==== */

typedef struct own_ctx {
    gate g;
    size_t collected;
} own_ctx;

/* Makes 20 garbage cycles, waits (step 1 .. 2), collects its world. */
static void *own_thread(void *arg) {
    own_ctx *c = arg;
    make_cycles(&node_type, T_OWN_THREAD, 20);
    gate_post(&c->g, 1);
    gate_wait(&c->g, 2);
    c->collected = rc_gc_collect(-1);
    return NULL;
}

/* Collects its own cycles over and over while the main thread does too. */
static void *busy_collector(void *arg) {
    size_t rounds = *(size_t *)arg;
    for (size_t i = 0; i < rounds; i++) {
        make_cycles(&fin_type, T_OWN_OTHER, 10);
        rc_gc_collect((int)(i % 4) - 1);
    }
    rc_gc_collect(-1);
    return NULL;
}

static void test_collect_own_world(void **state) {
    (void)state;
    own_ctx c = {0};
    gate_init(&c.g);
    pthread_t t = start(own_thread, &c);
    gate_wait(&c.g, 1);
    make_cycles(&node_type, T_OWN_MAIN, 10);
    /* only the main thread's garbage (and no orphans: there are none) */
    assert_int_equal(rc_gc_collect(-1), 20);
    assert_int_equal(ndestroyed(T_OWN_MAIN), 20);
    assert_int_equal(ndestroyed(T_OWN_THREAD), 0);
    assert_int_equal(rc_gc_collect(0), 0);
    assert_int_equal(ndestroyed(T_OWN_THREAD), 0);
    gate_post(&c.g, 2);
    join(t);
    assert_int_equal(c.collected, 40);
    assert_int_equal(ndestroyed(T_OWN_THREAD), 40);
    assert_int_equal(ndestroyed(T_OWN_MAIN), 20);

    /* two threads collecting at the same time, each its own world */
    size_t rounds = scaled(200, 20);
    t = start(busy_collector, &rounds);
    for (size_t i = 0; i < rounds; i++) {
        size_t before = ndestroyed(T_OWN_MAIN);
        make_cycles(&node_type, T_OWN_MAIN, 10);
        rc_gc_collect(-1);
        assert_int_equal(ndestroyed(T_OWN_MAIN) - before, 20);
    }
    join(t);
    rc_gc_collect(-1);
    assert_int_equal(ndestroyed(T_OWN_OTHER), ncreated(T_OWN_OTHER));
    assert_int_equal(nfinalized(T_OWN_OTHER), ncreated(T_OWN_OTHER));
    gate_destroy(&c.g);
}
/* }==== */

/* {==== process-wide settings ==== */

static atomic_size_t cb_calls, cb_gen0_stops;
static pthread_mutex_t cb_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t cb_last_thread;

static void settings_cb(rc_gc_phase phase, const rc_gc_info *info, void *arg) {
    (void)arg;
    atomic_fetch_add(&cb_calls, 1);
    if (phase == RC_GC_STOP && info->generation == 0) atomic_fetch_add(&cb_gen0_stops, 1);
    pthread_mutex_lock(&cb_lock);
    cb_last_thread = pthread_self();
    pthread_mutex_unlock(&cb_lock);
}

static bool cb_ran_on(pthread_t t) {
    pthread_mutex_lock(&cb_lock);
    bool same = pthread_equal(cb_last_thread, t) != 0;
    pthread_mutex_unlock(&cb_lock);
    return same;
}

typedef struct settings_ctx {
    gate g;
    pthread_t self;
    /* what the thread saw at step 1 */
    size_t threshold[3];
    bool enabled;
    unsigned debug;
    size_t calls_after_collect;
    /* at step 3: automatic collection while disabled, then enabled */
    size_t count_disabled;
    size_t gen0_while_disabled;
    size_t gen0_after_enable;
    bool cb_on_thread;
    int remove_result;
} settings_ctx;

static void *settings_thread(void *arg) {
    settings_ctx *c = arg;
    c->self = pthread_self();
    rc_gc_get_threshold(c->threshold);
    c->enabled = rc_gc_isenabled();
    c->debug = rc_gc_get_debug();
    size_t before = atomic_load(&cb_calls);
    rc_gc_collect(0); /* the main thread's callback runs here */
    c->calls_after_collect = atomic_load(&cb_calls) - before;
    c->cb_on_thread = cb_ran_on(pthread_self());
    /* change the settings for the main thread to see */
    rc_gc_set_threshold(101, 11, 12);
    rc_gc_disable();
    rc_gc_set_debug(RC_GC_DEBUG_UNCOLLECTABLE);
    gate_post(&c->g, 1);

    gate_wait(&c->g, 2); /* main: threshold 100, still disabled */
    size_t gen0 = atomic_load(&cb_gen0_stops);
    tnode *live[160];
    for (int i = 0; i < 150; i++) live[i] = mk(&node_type, T_SETTINGS);
    size_t count[3];
    rc_gc_get_count(count);
    c->count_disabled = count[0];
    c->gen0_while_disabled = atomic_load(&cb_gen0_stops) - gen0;
    gate_post(&c->g, 3);

    gate_wait(&c->g, 4); /* main: enabled */
    gen0 = atomic_load(&cb_gen0_stops);
    live[150] = mk(&node_type, T_SETTINGS); /* count[0] passes 100: collects */
    c->gen0_after_enable = atomic_load(&cb_gen0_stops) - gen0;
    c->cb_on_thread = c->cb_on_thread && cb_ran_on(pthread_self());
    c->remove_result = rc_gc_callback_remove(settings_cb, &cb_calls);
    for (int i = 0; i <= 150; i++) rc_decref(live[i]);
    return NULL;
}

static void test_settings_process_wide(void **state) {
    (void)state;
    rc_gc_set_threshold(1234, 7, 8);
    rc_gc_set_debug(RC_GC_DEBUG_SAVEALL);
    rc_gc_enable();
    assert_int_equal(rc_gc_callback_add(settings_cb, &cb_calls), 0);

    settings_ctx c = {0};
    gate_init(&c.g);
    pthread_t t = start(settings_thread, &c);
    gate_wait(&c.g, 1);
    assert_int_equal(c.threshold[0], 1234);
    assert_int_equal(c.threshold[1], 7);
    assert_int_equal(c.threshold[2], 8);
    assert_true(c.enabled);
    assert_int_equal(c.debug, RC_GC_DEBUG_SAVEALL);
    assert_int_equal(c.calls_after_collect, 2); /* START and STOP, on the thread */
    assert_true(c.cb_on_thread);
    /* what the thread set */
    size_t th[3];
    rc_gc_get_threshold(th);
    assert_int_equal(th[0], 101);
    assert_int_equal(th[1], 11);
    assert_int_equal(th[2], 12);
    assert_false(rc_gc_isenabled());
    assert_int_equal(rc_gc_get_debug(), RC_GC_DEBUG_UNCOLLECTABLE);
    rc_gc_set_debug(0);

    rc_gc_set_threshold(100, 10, 10);
    gate_post(&c.g, 2);
    gate_wait(&c.g, 3);
    assert_int_equal(c.count_disabled, 150);
    assert_int_equal(c.gen0_while_disabled, 0);
    rc_gc_enable();
    gate_post(&c.g, 4);
    join(t);
    assert_int_equal(c.gen0_after_enable, 1);
    assert_true(c.cb_on_thread);
    /* the thread removed the main thread's registration */
    assert_int_equal(c.remove_result, 0);
    assert_int_equal(rc_gc_callback_remove(settings_cb, &cb_calls), -1);
    size_t calls = atomic_load(&cb_calls);
    rc_gc_collect(0);
    assert_int_equal(atomic_load(&cb_calls), calls);
    assert_int_equal(ndestroyed(T_SETTINGS), 151);
    gate_destroy(&c.g);
}
/* }==== */

/* {==== orphans ==== */

#define ORPHAN_CYCLES 50
#define ORPHAN_FIN_CYCLES 10
#define ORPHAN_WEAK 5
#define ORPHAN_CHAIN 100

/* What the thread leaves behind, in globals. */
static tnode *orphan_chain;          /* a chain of ORPHAN_CHAIN nodes, values 0.. from the head */
static tnode *orphan_cycle;          /* a live cycle of three */
static rc_weakref *orphan_weak[ORPHAN_WEAK]; /* to members of garbage cycles, with callbacks */
static rc_weakref *orphan_chain_weak;        /* to the chain's head, no callback */
static atomic_size_t orphan_callbacks;
static atomic_size_t orphan_fod_cycle, orphan_fod_chain; /* rc_finalize_on_death */
static atomic_int orphan_callback_bad;
static pthread_t orphan_main;

static void orphan_cb(rc_weakref *ref, void *arg) {
    atomic_fetch_add(&orphan_callbacks, 1);
    /* runs on the thread that collects the orphans, once per weakref */
    if (!pthread_equal(pthread_self(), orphan_main) || ref != *(rc_weakref **)arg)
        atomic_store(&orphan_callback_bad, 1);
}

static void orphan_fod(void *arg) {
    atomic_fetch_add((atomic_size_t *)arg, 1);
    if (!pthread_equal(pthread_self(), orphan_main)) atomic_store(&orphan_callback_bad, 1);
}

static void *orphan_thread(void *arg) {
    (void)arg;
    make_cycles(&node_type, T_ORPHAN_CYCLE, ORPHAN_CYCLES);
    make_cycles(&fin_type, T_ORPHAN_FIN, ORPHAN_FIN_CYCLES);
    for (int i = 0; i < ORPHAN_WEAK; i++) {
        tnode *x = mk(&node_type, T_ORPHAN_CYCLE), *y = mk(&leaf_type, T_ORPHAN_CYCLE);
        RC_SET(x->a, x); /* a cycle of one, holding an untracked leaf */
        RC_SET(x->b, y);
        orphan_weak[i] = rc_weakref_new(x, orphan_cb, &orphan_weak[i]);
        must(orphan_weak[i] != NULL, "rc_weakref_new");
        must(rc_finalize_on_death(x, orphan_fod, &orphan_fod_cycle) == 0, "rc_finalize_on_death");
        rc_decref(x);
        rc_decref(y);
    }
    tnode *head = NULL;
    for (uint32_t i = 0; i < ORPHAN_CHAIN; i++) {
        tnode *n = mk(&node_type, T_ORPHAN_LIVE);
        n->value = ORPHAN_CHAIN - 1 - i;
        n->a = head; /* steals */
        n->b = mk(&leaf_type, T_ORPHAN_LIVE);
        head = n;
    }
    orphan_chain = head;
    orphan_chain_weak = rc_weakref_new(head, NULL, NULL);
    must(orphan_chain_weak != NULL, "rc_weakref_new");
    must(rc_finalize_on_death(head, orphan_fod, &orphan_fod_chain) == 0, "rc_finalize_on_death");
    tnode *x = mk(&node_type, T_ORPHAN_LIVE_CYCLE), *y = mk(&node_type, T_ORPHAN_LIVE_CYCLE),
          *z = mk(&fin_type, T_ORPHAN_LIVE_CYCLE);
    RC_SET(x->a, y);
    RC_SET(y->a, z);
    RC_SET(z->a, x);
    rc_decref(y);
    rc_decref(z);
    orphan_cycle = x;
    return NULL;
}

static void test_orphans(void **state) {
    (void)state;
    orphan_main = pthread_self();
    join(start(orphan_thread, NULL));
    /* the thread is gone: its garbage is the orphan world's, found by the
     * main thread's collection */
    size_t found = rc_gc_collect(-1);
    assert_int_equal(found, 2 * ORPHAN_CYCLES + 2 * ORPHAN_FIN_CYCLES + ORPHAN_WEAK);
    assert_int_equal(ndestroyed(T_ORPHAN_CYCLE), 2 * ORPHAN_CYCLES + 2 * ORPHAN_WEAK);
    assert_int_equal(ndestroyed(T_ORPHAN_FIN), 2 * ORPHAN_FIN_CYCLES);
    assert_int_equal(nfinalized(T_ORPHAN_FIN), 2 * ORPHAN_FIN_CYCLES);
    assert_int_equal(atomic_load(&orphan_callbacks), ORPHAN_WEAK);
    assert_int_equal(atomic_load(&orphan_fod_cycle), ORPHAN_WEAK);
    assert_int_equal(atomic_load(&orphan_fod_chain), 0);
    assert_int_equal(atomic_load(&orphan_callback_bad), 0);
    for (int i = 0; i < ORPHAN_WEAK; i++) {
        assert_null(rc_weakref_get(orphan_weak[i]));
        rc_decref(orphan_weak[i]);
    }
    /* the live objects are intact */
    assert_int_equal(ndestroyed(T_ORPHAN_LIVE), 0);
    assert_int_equal(ndestroyed(T_ORPHAN_LIVE_CYCLE), 0);
    assert_int_equal(nfinalized(T_ORPHAN_LIVE_CYCLE), 0);
    uint32_t expect = 0;
    for (tnode *n = orphan_chain; n; n = n->a, expect++) {
        assert_int_equal(n->tag, T_ORPHAN_LIVE);
        assert_int_equal(n->value, expect);
        assert_non_null(n->b);
        assert_int_equal(rc_refcount(n), 1);
        assert_false(rc_gc_is_finalized(n));
    }
    assert_int_equal(expect, ORPHAN_CHAIN);
    tnode *got = rc_weakref_get(orphan_chain_weak);
    assert_ptr_equal(got, orphan_chain);
    assert_int_equal(rc_refcount(got), 2);
    rc_decref(got);
    /* the main thread changes them: a node of its own into the chain */
    tnode *mine = mk(&node_type, T_ORPHAN_MAIN);
    RC_SET(orphan_chain->b, mine);
    rc_decref(mine);
    assert_int_equal(ndestroyed(T_ORPHAN_LIVE), 1); /* the head's leaf */
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(ndestroyed(T_ORPHAN_LIVE), 1);
    /* and releases them: the chain by counting, the cycle by collecting */
    RC_CLEAR(orphan_chain);
    assert_int_equal(ndestroyed(T_ORPHAN_LIVE), 2 * ORPHAN_CHAIN);
    assert_int_equal(atomic_load(&orphan_fod_chain), 1);
    assert_int_equal(atomic_load(&orphan_callback_bad), 0);
    assert_int_equal(ndestroyed(T_ORPHAN_MAIN), 1);
    assert_null(rc_weakref_get(orphan_chain_weak));
    rc_decref(orphan_chain_weak);
    RC_CLEAR(orphan_cycle);
    assert_int_equal(ndestroyed(T_ORPHAN_LIVE_CYCLE), 0);
    assert_int_equal(rc_gc_collect(-1), 3);
    assert_int_equal(ndestroyed(T_ORPHAN_LIVE_CYCLE), 3);
    assert_int_equal(nfinalized(T_ORPHAN_LIVE_CYCLE), 1);
    for (uint32_t tag = T_ORPHAN_CYCLE; tag <= T_ORPHAN_MAIN; tag++)
        assert_int_equal(ndestroyed(tag), ncreated(tag));
}
/* }==== */

/* {==== many threads ==== */

#define MANY_THREADS 4
#define MANY_ROUNDS 8

typedef struct many_ctx {
    uint32_t tag;
    size_t iters;
    tnode *handed;             /* a live chain for the main thread */
    size_t weak_made, weak_called, weak_bad;
} many_ctx;

static void many_cb(rc_weakref *ref, void *arg) {
    (void)ref;
    many_ctx *c = arg;
    c->weak_called++; /* runs on the thread that owns the referent */
}

static void *many_thread(void *arg) {
    many_ctx *c = arg;
    uint32_t tag = c->tag;
    tnode *keep = NULL;
    for (size_t i = 0; i < c->iters; i++) {
        /* a short chain freed by counting */
        tnode *head = NULL;
        for (int k = 0; k < 8; k++) {
            tnode *n = mk(k % 3 ? &node_type : &leaf_type, tag);
            if (k % 3) n->a = head; /* steals */
            else rc_decref(head);
            head = n;
        }
        rc_decref(head);
        /* cycles: most left to automatic collection and to the orphans */
        make_cycles(i % 5 ? &node_type : &fin_type, tag, 3);
        /* a weak reference to a garbage cycle: the callback fires when this
         * thread collects it */
        if (i % 16 == 0) {
            tnode *x = mk(&node_type, tag), *y = mk(&fin_type, tag);
            RC_SET(x->a, y);
            RC_SET(y->a, x);
            rc_weakref *w = rc_weakref_new(y, many_cb, c);
            must(w != NULL, "rc_weakref_new");
            c->weak_made++;
            rc_decref(x);
            rc_decref(y);
            size_t before = c->weak_called;
            rc_gc_collect(i % 32 == 0 ? -1 : 2);
            if (c->weak_called != before + 1 || rc_weakref_get(w) != NULL) c->weak_bad++;
            rc_decref(w);
        }
        /* live objects, some kept to the end and handed over */
        tnode *n = mk(&node_type, tag);
        n->value = (uint32_t)i;
        if (i % 4 == 0) {
            n->a = keep;
            keep = n;
        } else {
            rc_decref(n);
        }
    }
    c->handed = keep;
    make_cycles(&fin_type, tag, 5); /* garbage left at exit */
    return NULL;
}

/* A thread that froze its garbage and exited: the frozen objects thaw into
 * the orphan world's generation 2, so a collection on another thread frees
 * them (frozen objects are per thread; nothing stays out of reach). */
enum { FROZEN_CYCLES = 50 };

static void *frozen_thread(void *arg) {
    (void)arg;
    make_cycles(&node_type, T_FROZEN, FROZEN_CYCLES);
    rc_gc_freeze();
    must(rc_gc_get_freeze_count() >= 2 * FROZEN_CYCLES, "the thread froze its cycles");
    must(rc_gc_collect(-1) == 0, "frozen cycles are not collected while frozen");
    return NULL;
}

static void test_frozen_objects_of_exited_thread_thaw(void **state) {
    (void)state;
    join(start(frozen_thread, NULL));
    assert_int_equal(ndestroyed(T_FROZEN), 0);
    rc_gc_collect(-1);
    assert_int_equal(ndestroyed(T_FROZEN), ncreated(T_FROZEN));
    assert_int_equal(ncreated(T_FROZEN), 2 * FROZEN_CYCLES);
}

static void test_many_threads(void **state) {
    (void)state;
    size_t iters = scaled(4000, 100);
    many_ctx ctx[MANY_THREADS];
    pthread_t t[MANY_THREADS];
    for (int round = 0; round < MANY_ROUNDS; round++) {
        for (int i = 0; i < MANY_THREADS; i++) {
            ctx[i] = (many_ctx){.tag = (uint32_t)(T_MANY_BASE + i), .iters = iters};
            t[i] = start(many_thread, &ctx[i]);
        }
        /* collect while they run: the orphans of the threads that exit */
        for (int k = 0; k < 20; k++) {
            make_cycles(&node_type, T_MANY_BASE + MANY_THREADS, 2);
            rc_gc_collect(k % 2 ? -1 : 0);
        }
        /* all joined before the main thread touches their orphans: an
         * orphan collection (by a thread still running) must not run while
         * another thread uses orphaned objects */
        for (int i = 0; i < MANY_THREADS; i++) join(t[i]);
        for (int i = 0; i < MANY_THREADS; i++) {
            assert_int_equal(ctx[i].weak_bad, 0);
            assert_int_equal(ctx[i].weak_called, ctx[i].weak_made);
            /* the handed chain is intact: values i % 4 == 0, newest first */
            size_t expect = (iters - 1) / 4 * 4, n = 0;
            for (tnode *x = ctx[i].handed; x; x = x->a, n++, expect -= 4) assert_int_equal(x->value, expect);
            assert_int_equal(n, (iters + 3) / 4);
            rc_decref(ctx[i].handed);
        }
    }
    rc_gc_collect(-1);
    for (int i = 0; i <= MANY_THREADS; i++) {
        uint32_t tag = (uint32_t)(T_MANY_BASE + i);
        assert_true(ncreated(tag) > 0);
        assert_int_equal(ndestroyed(tag), ncreated(tag));
    }
    size_t all = 0;
    rc_gc_get_objects(-1, count_visit, &all);
    assert_int_equal(all, 0);
}
/* }==== */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_per_thread_worlds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collect_own_world, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settings_process_wide, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orphans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frozen_objects_of_exited_thread_thaw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
