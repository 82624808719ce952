/*
 * test_objgraph_chain.c — the chain searches (src/prof/chain.c) and
 * leaking objects (refgraph.c) on graphs that exercise how they number objects
 * (slots computed from addresses, docs/objgraph.md sections 3 and 5):
 * chains through medium objects (spans of several pages: blocks in pages
 * after the span's first), a large object (mapped on its own), static
 * immortal referents (None), a chain longer than the levels the backref
 * search keeps (its parent-array search), several roots at different
 * distances, tens of thousands of objects over several arenas, and an
 * object of another live thread's world. Exact chains on graphs built for
 * each test; each test releases what it made, so the leaking objects are
 * exact too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "objgraph_util.h"

OG_NODE_TYPE(chain_node, "ChainNode");

static int is_target(void *obj, void *arg) { return obj == arg; }

static void expect_chain(void **chain, int64_t n, void *const *want, int64_t want_n) {
    assert_int_equal(n, want_n);
    for (int64_t i = 0; i < n; i++)
        if (chain[i] != want[i]) fail_msg("chain[%lld] is %p, wanted %p", (long long)i, chain[i], want[i]);
}

/* {==== a chain longer than the kept levels ==== */

#define DEEP 40

static void test_deep_chain(void **state) {
    (void)state;
    void *nodes[DEEP];
    void *next = NULL;
    for (int i = DEEP - 1; i >= 0; i--) { /* node i refers to node i + 1 */
        nodes[i] = og_new(&chain_node, i, next, rc_none);
        assert_non_null(nodes[i]);
        if (next) rc_decref(next);
        next = nodes[i];
    }
    void **chain;
    int64_t n = rc_objgraph_find_backref_chain(nodes[DEEP - 1], 100, &chain);
    expect_chain(chain, n, nodes, DEEP);
    rc_free(chain);
    n = rc_objgraph_find_backref_chain(nodes[DEEP - 1], DEEP - 1, &chain); /* exactly deep enough */
    expect_chain(chain, n, nodes, DEEP);
    rc_free(chain);
    assert_int_equal(rc_objgraph_find_backref_chain(nodes[DEEP - 1], DEEP - 2, &chain), 0);
    assert_null(chain);
    n = rc_objgraph_find_backref_chain(nodes[20], 25, &chain); /* within the kept levels */
    expect_chain(chain, n, nodes, 21);
    rc_free(chain);

    n = rc_objgraph_find_ref_chain(nodes[0], is_target, nodes[DEEP - 1], 100, &chain);
    expect_chain(chain, n, nodes, DEEP);
    rc_free(chain);
    assert_int_equal(rc_objgraph_find_ref_chain(nodes[0], is_target, nodes[DEEP - 1], DEEP - 2, &chain), 0);

    void **list;
    assert_int_equal(rc_objgraph_get_leaking_objects(&list), 1);
    assert_ptr_equal(list[0], nodes[0]);
    rc_free(list);
    rc_decref(nodes[0]);
    assert_int_equal(rc_objgraph_get_leaking_objects(&list), 0);
}
/* }==== */

/* {==== medium and large objects, several roots ==== */

#define MEDIUMS 8

static void test_medium_and_large(void **state) {
    (void)state;
    /* medium blocks of 20 KB: spans of several 16 KiB pages, most blocks
     * starting in a page after the span's first */
    void *med[MEDIUMS];
    for (int i = 0; i < MEDIUMS; i++) {
        med[i] = rc_new_var(&chain_node, 20000);
        assert_non_null(med[i]);
        ((og_node *)med[i])->id = 100 + i;
    }
    void *big = rc_new_var(&chain_node, 300000); /* above RC_MEDIUM_MAX: mapped alone */
    assert_non_null(big);
    void *t = og_new(&chain_node, 1, rc_none, NULL);
    /* root -> med[1] -> med[3] -> big -> med[6] -> t */
    RC_SET(((og_node *)med[6])->a, t);
    RC_SET(((og_node *)big)->a, med[6]);
    RC_SET(((og_node *)med[3])->a, big);
    RC_SET(((og_node *)med[1])->a, med[3]);
    void *root = og_new(&chain_node, 0, med[1], NULL);
    /* a second root, farther: root2 -> d1 -> ... -> d5 -> t */
    void *d = rc_incref(t);
    for (int i = 5; i >= 1; i--) {
        void *x = og_new(&chain_node, 10 + i, d, NULL);
        rc_decref(d);
        d = x;
    }
    void *root2 = og_new(&chain_node, 2, d, NULL);
    rc_decref(d);
    rc_decref(t);
    rc_decref(med[6]);
    rc_decref(big);
    rc_decref(med[3]);
    rc_decref(med[1]);

    void *want[] = {root, med[1], med[3], big, med[6], t};
    void **chain;
    int64_t n = rc_objgraph_find_backref_chain(t, 20, &chain);
    expect_chain(chain, n, want, 6);
    rc_free(chain);
    /* too shallow for root; root2's chain is longer still */
    assert_int_equal(rc_objgraph_find_backref_chain(t, 4, &chain), 0);
    n = rc_objgraph_find_backref_chain(big, 20, &chain);
    expect_chain(chain, n, want, 4);
    rc_free(chain);
    n = rc_objgraph_find_ref_chain(root, is_target, t, 20, &chain);
    expect_chain(chain, n, want, 6);
    rc_free(chain);
    n = rc_objgraph_find_ref_chain(root, is_target, big, 20, &chain);
    expect_chain(chain, n, want, 4);
    rc_free(chain);

    /* a forgotten decref makes med[3] a root: the chain starts there */
    rc_incref(med[3]);
    n = rc_objgraph_find_backref_chain(t, 20, &chain);
    expect_chain(chain, n, want + 2, 4);
    rc_free(chain);
    rc_decref(med[3]);

    /* nothing refers to: root, root2 and the five mediums held only here */
    void **list;
    n = rc_objgraph_get_leaking_objects(&list);
    assert_int_equal(n, 7);
    int seen_root = 0, seen_root2 = 0, seen_med = 0;
    for (int64_t i = 0; i < n; i++) {
        seen_root += list[i] == root;
        seen_root2 += list[i] == root2;
        for (int m = 0; m < MEDIUMS; m++) seen_med += list[i] == med[m] && m != 1 && m != 3 && m != 6;
    }
    assert_int_equal(seen_root, 1);
    assert_int_equal(seen_root2, 1);
    assert_int_equal(seen_med, 5);
    rc_free(list);

    rc_decref(root);
    rc_decref(root2);
    for (int i = 0; i < MEDIUMS; i++)
        if (i != 1 && i != 3 && i != 6) rc_decref(med[i]);
    assert_int_equal(rc_objgraph_get_leaking_objects(&list), 0);
}
/* }==== */

/* {==== many objects ==== */

#define LEVELS 16 /* a complete binary tree: 65535 nodes */

static void *tree(int depth, long *id, void **rightmost) {
    void *l = depth > 1 ? tree(depth - 1, id, NULL) : NULL;
    void *r = depth > 1 ? tree(depth - 1, id, rightmost ? rightmost + 1 : NULL) : NULL;
    void *n = og_new(&chain_node, (*id)++, l, r);
    assert_non_null(n);
    if (l) rc_decref(l);
    if (r) rc_decref(r);
    if (rightmost) rightmost[0] = n;
    return n;
}

static void test_many_objects(void **state) {
    (void)state;
    long id = 0;
    void *path[LEVELS];
    void *root = tree(LEVELS, &id, path);
    assert_ptr_equal(root, path[0]);
    void **chain;
    int64_t n = rc_objgraph_find_backref_chain(path[LEVELS - 1], 20, &chain);
    expect_chain(chain, n, path, LEVELS);
    rc_free(chain);
    n = rc_objgraph_find_ref_chain(root, is_target, path[LEVELS - 1], 20, &chain);
    expect_chain(chain, n, path, LEVELS);
    rc_free(chain);
    void **list;
    assert_int_equal(rc_objgraph_get_leaking_objects(&list), 1);
    assert_ptr_equal(list[0], root);
    rc_free(list);
    rc_decref(root);
}
/* }==== */

/* {==== another thread's world ==== */

typedef struct job {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    void *obj;
    int stage; /* 1: obj made, 2: main is done with it */
} job;

static void *owner(void *arg) {
    job *j = arg;
    void *obj = og_new(&chain_node, 7, NULL, NULL);
    pthread_mutex_lock(&j->lock);
    j->obj = obj;
    j->stage = 1;
    pthread_cond_broadcast(&j->cond);
    while (j->stage != 2) pthread_cond_wait(&j->cond, &j->lock);
    pthread_mutex_unlock(&j->lock);
    rc_decref(obj);
    return NULL;
}

static void test_other_world(void **state) {
    (void)state;
    job j = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, owner, &j), 0);
    pthread_mutex_lock(&j.lock);
    while (j.stage != 1) pthread_cond_wait(&j.cond, &j.lock);
    pthread_mutex_unlock(&j.lock);
    void *mine = og_new(&chain_node, 8, NULL, NULL); /* this thread has a world too */
    void **chain;
    assert_int_equal(rc_objgraph_find_backref_chain(j.obj, 5, &chain), -1);
    assert_non_null(strstr(rc_last_error(), "another thread's world"));
    assert_int_equal(rc_objgraph_find_ref_chain(j.obj, is_target, NULL, 5, &chain), -1);
    assert_non_null(strstr(rc_last_error(), "another thread's world"));
    assert_int_equal(rc_objgraph_find_backref_chain(mine, 5, &chain), 1);
    assert_ptr_equal(chain[0], mine);
    rc_free(chain);
    pthread_mutex_lock(&j.lock);
    j.stage = 2;
    pthread_cond_broadcast(&j.cond);
    pthread_mutex_unlock(&j.lock);
    pthread_join(th, NULL);
    rc_decref(mine);
}
/* }==== */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deep_chain),
        cmocka_unit_test(test_medium_and_large),
        cmocka_unit_test(test_many_objects),
        cmocka_unit_test(test_other_world),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
