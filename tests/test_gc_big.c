/*
 * test_gc_big.c — ten million objects on a thread with an 8 MiB stack (the
 * usual default): a chain released by one rc_decref (untracked and
 * tracked objects, the tracked one built with automatic collections on),
 * a ten-million-object cycle found and freed by one rc_gc_collect, and a
 * garbage cycle whose release frees a ten-million-node chain inside the
 * collection. None of it may take stack in proportion to the length.
 *
 * Each case runs on its own thread (objects belong to the thread that
 * made them); the thread reports back and the test asserts after joining.
 */
#include <pthread.h>

#include "test_object_util.h"

#define BIG 10000000L
#define STACK_BYTES ((size_t)8 << 20)

typedef struct chain {
    void *next;
    long id;
} chain; /* 16-byte payload: 32-byte objects */

static size_t g_destroyed; /* written by the worker thread only */

static int chain_traverse(void *self, rc_visit_fn visit, void *arg) {
    chain *c = self;
    return c->next ? visit(c->next, arg) : 0;
}

static void chain_clear(void *self) {
    chain *c = self;
    RC_CLEAR(c->next);
}

static void chain_destroy(void *self) {
    chain *c = self;
    g_destroyed++;
    RC_CLEAR(c->next);
}

static const rc_type untracked_chain = {.name = "chain", .size = sizeof(chain), .destroy = chain_destroy};
static const rc_type tracked_chain = {
    .name = "tchain", .size = sizeof(chain), .traverse = chain_traverse, .clear = chain_clear,
    .destroy = chain_destroy,
};

typedef struct big_result {
    int failed;          /* nonzero: the step that went wrong */
    size_t destroyed;    /* destroy calls */
    size_t collected;    /* rc_gc_collect's result */
    size_t left;         /* tracked objects of the thread afterwards */
    size_t collections;  /* automatic collections while building */
} big_result;

static void run_on_8mib_stack(void *(*fn)(void *), big_result *r) {
    pthread_attr_t a;
    assert_int_equal(pthread_attr_init(&a), 0);
    assert_int_equal(pthread_attr_setstacksize(&a, STACK_BYTES), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, &a, fn, r), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    pthread_attr_destroy(&a);
}

/* A chain of n objects of type t; returns the head (the only reference
 * the caller holds); each node holds the next. */
static chain *build_chain(const rc_type *t, long n) {
    chain *head = rc_new(t);
    if (!head) return NULL;
    chain *tail = head;
    for (long i = 1; i < n; i++) {
        chain *c = rc_new(t);
        if (!c) return NULL;
        c->id = i;
        tail->next = c; /* steals the new reference */
        tail = c;
    }
    return head;
}

static size_t all_collections(void) {
    rc_gc_stats st[3];
    rc_gc_get_stats(st);
    return st[0].collections + st[1].collections + st[2].collections;
}

/* ---- a chain released by its count ---- */

static void *release_untracked_chain(void *arg) {
    big_result *r = arg;
    g_destroyed = 0;
    chain *head = build_chain(&untracked_chain, BIG);
    if (!head) {
        r->failed = 1;
        return NULL;
    }
    if (g_destroyed != 0) r->failed = 2;
    rc_decref(head);
    r->destroyed = g_destroyed;
    r->left = rc_gc_get_objects(-1, NULL, NULL);
    return NULL;
}

static void test_release_10m_untracked_chain(void **state) {
    (void)state;
    big_result r = {0};
    run_on_8mib_stack(release_untracked_chain, &r);
    assert_int_equal(r.failed, 0);
    assert_int_equal(r.destroyed, BIG);
    assert_int_equal(r.left, 0);
}

static void *release_tracked_chain(void *arg) {
    big_result *r = arg;
    g_destroyed = 0;
    size_t c0 = all_collections();
    chain *head = build_chain(&tracked_chain, BIG); /* collections run meanwhile */
    if (!head) {
        r->failed = 1;
        return NULL;
    }
    r->collections = all_collections() - c0;
    if (g_destroyed != 0) r->failed = 2;
    if (rc_gc_get_objects(-1, NULL, NULL) != (size_t)BIG) r->failed = 3;
    rc_decref(head);
    r->destroyed = g_destroyed;
    r->left = rc_gc_get_objects(-1, NULL, NULL);
    return NULL;
}

static void test_release_10m_tracked_chain(void **state) {
    (void)state;
    big_result r = {0};
    run_on_8mib_stack(release_tracked_chain, &r);
    assert_int_equal(r.failed, 0);
    assert_true(r.collections > 0);
    assert_int_equal(r.destroyed, BIG);
    assert_int_equal(r.left, 0);
}

/* ---- a ten-million-object cycle ---- */

static void *collect_big_cycle(void *arg) {
    big_result *r = arg;
    g_destroyed = 0;
    rc_gc_disable(); /* keep the build quick: one collection at the end */
    chain *head = build_chain(&tracked_chain, BIG);
    if (!head) {
        r->failed = 1;
        rc_gc_enable();
        return NULL;
    }
    chain *tail = head;
    while (tail->next) tail = tail->next;
    tail->next = rc_incref(head); /* closes the ring */
    rc_gc_enable();
    if (rc_gc_collect(-1) != 0 || g_destroyed != 0) r->failed = 2; /* held by head */
    rc_decref(head); /* now the whole ring is garbage */
    r->collected = rc_gc_collect(-1);
    r->destroyed = g_destroyed;
    r->left = rc_gc_get_objects(-1, NULL, NULL);
    return NULL;
}

static void test_collect_10m_cycle(void **state) {
    (void)state;
    big_result r = {0};
    run_on_8mib_stack(collect_big_cycle, &r);
    assert_int_equal(r.failed, 0);
    assert_int_equal(r.collected, BIG);
    assert_int_equal(r.destroyed, BIG);
    assert_int_equal(r.left, 0);
}

/* ---- a collection whose garbage frees a long chain ---- */

static void *cycle_holding_chain(void *arg) {
    big_result *r = arg;
    g_destroyed = 0;
    S()->destroyed = 0;
    node *a = rc_new(node_type()), *b = rc_new(node_type());
    chain *list = build_chain(&untracked_chain, BIG);
    if (!a || !b || !list) {
        r->failed = 1;
        return NULL;
    }
    RC_SET(a->ref[0], b);
    RC_SET(b->ref[0], a);
    b->ref[1] = list; /* steals: the cycle holds the chain */
    rc_decref(a);
    rc_decref(b);
    if (g_destroyed != 0 || S()->destroyed != 0) r->failed = 2;
    /* clear() drops the chain: it is released inside the collection */
    r->collected = rc_gc_collect(-1);
    r->destroyed = g_destroyed + S()->destroyed;
    r->left = rc_gc_get_objects(-1, NULL, NULL);
    return NULL;
}

static void test_collect_cycle_holding_10m_chain(void **state) {
    (void)state;
    big_result r = {0};
    run_on_8mib_stack(cycle_holding_chain, &r);
    assert_int_equal(r.failed, 0);
    assert_int_equal(r.collected, 2);
    assert_int_equal(r.destroyed, BIG + 2);
    assert_int_equal(r.left, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_release_10m_untracked_chain),
        cmocka_unit_test(test_release_10m_tracked_chain),
        cmocka_unit_test(test_collect_10m_cycle),
        cmocka_unit_test(test_collect_cycle_holding_10m_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
