/*
 * test_objgraph_chain_index.c — the compact index of the chain searches
 * (src/prof/chain.c; docs/objgraph.md section 5) on graphs
 * built to reach its rare paths:
 *
 *   counts       objects referred to 255 .. 1000 times (gc_refs kept as a
 *                byte plus a high part and borrows): a root exactly when
 *                one reference more is held from outside;
 *   wide         lists of 70000 references, so that the next slots' first
 *                edges lie 65535 or more past their group's (the 16-bit
 *                offsets' escape);
 *   dead ends    references to objects that refer to nothing (dropped by
 *                the pass, or never entered by the search), the target
 *                among them;
 *   changed      the same queries after the graph changed, with the index's
 *                memory reused (its arrays are not zeroed): the new answer.
 *
 * Exact chains on graphs built for each test; each test releases what it
 * made.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "objgraph_util.h"

OG_NODE_TYPE(ix_node, "IndexNode");
OG_LEAF_TYPE(ix_leaf, "IndexLeaf");

static int is_target(void *obj, void *arg) { return obj == arg; }

static void expect_chain(void **chain, int64_t n, void *const *want, int64_t want_n) {
    assert_int_equal(n, want_n);
    for (int64_t i = 0; i < n; i++)
        if (chain[i] != want[i]) fail_msg("chain[%lld] is %p, wanted %p", (long long)i, chain[i], want[i]);
}

static void backref_is(void *obj, void *const *want, int64_t want_n) {
    void **chain = NULL;
    int64_t n = rc_objgraph_find_backref_chain(obj, 50, &chain);
    expect_chain(chain, n, want, want_n);
    rc_free(chain);
}

/* {==== counts of 255 and more ==== */

static void test_counts_above_a_byte(void **state) {
    (void)state;
    static const int counts[] = {255, 256, 257, 300, 511, 512, 513, 1000};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        /* holder -> x (counts[c] times) -> t; holder held here */
        void *t = og_new(&ix_node, 1, NULL, NULL);
        void *x = og_new(&ix_node, 2, t, NULL);
        void *holder = rc_list_new();
        assert_non_null(t);
        assert_non_null(x);
        assert_non_null(holder);
        for (int i = 0; i < counts[c]; i++) assert_int_equal(rc_list_append(holder, x), 0);
        rc_decref(t);
        rc_decref(x); /* x's count is now exactly its references: not a root */
        void *via_holder[] = {holder, x, t};
        backref_is(t, via_holder, 3);
        /* one reference more from outside: x is a root */
        rc_incref(x);
        backref_is(t, via_holder + 1, 2);
        /* and more than a byte's worth from outside */
        for (int i = 0; i < 300; i++) rc_incref(x);
        backref_is(t, via_holder + 1, 2);
        for (int i = 0; i < 301; i++) rc_decref(x);
        backref_is(t, via_holder, 3);
        rc_decref(holder);
    }
}
/* }==== */

/* {==== first edges 65535 and more past their group's ==== */

#define WIDE 70000

static void test_wide_offsets(void **state) {
    (void)state;
    /* self refers to itself (an edge the pass keeps: never a dead end) */
    void *self = og_new(&ix_node, 1, NULL, NULL);
    assert_non_null(self);
    RC_SET(((og_node *)self)->a, self);
    /* three lists made one after the other (neighbouring slots, most
     * likely in one group of 64): the first two with WIDE references each,
     * so the first edges of the second and third lie WIDE or more past the
     * group's first, then a chain from each */
    void *lists[3], *mid[3], *end[3];
    for (int i = 0; i < 3; i++) {
        lists[i] = rc_list_new();
        assert_non_null(lists[i]);
    }
    for (int i = 0; i < 3; i++) {
        end[i] = og_new(&ix_node, 10 + i, NULL, NULL);
        mid[i] = og_new(&ix_node, 20 + i, end[i], NULL);
        assert_non_null(mid[i]);
        for (int k = 0; i < 2 && k < WIDE; k++) assert_int_equal(rc_list_append(lists[i], self), 0);
        assert_int_equal(rc_list_append(lists[i], mid[i]), 0);
        rc_decref(mid[i]);
        rc_decref(end[i]);
    }
    rc_decref(self); /* held by the lists and itself now */
    for (int i = 0; i < 3; i++) {
        void *want[] = {lists[i], mid[i], end[i]};
        backref_is(end[i], want, 3);
        void **chain;
        int64_t n = rc_objgraph_find_ref_chain(lists[i], is_target, end[i], 5, &chain);
        expect_chain(chain, n, want, 3);
        rc_free(chain);
    }
    /* self: from the first of the two lists in slot order */
    void **chain;
    assert_int_equal(rc_objgraph_find_backref_chain(self, 5, &chain), 2);
    assert_true(chain[0] == lists[0] || chain[0] == lists[1]);
    assert_ptr_equal(chain[1], self);
    rc_free(chain);
    for (int i = 0; i < 3; i++) rc_decref(lists[i]);
    /* self is cyclic garbage now: no root, so no chain */
    assert_int_equal(rc_objgraph_find_backref_chain(self, 5, &chain), 0);
    assert_null(chain);
    assert_int_equal(rc_gc_collect(2), 1);
}
/* }==== */

/* {==== dead ends ==== */

#define LEAVES 100

static void test_dead_ends(void **state) {
    (void)state;
    /* root -> list [leaf x LEAVES, t (a leaf), n] ; n -> leaf ; n2 -> t */
    void *list = rc_list_new();
    assert_non_null(list);
    void *leaves[LEAVES];
    for (int i = 0; i < LEAVES; i++) {
        leaves[i] = rc_new(&ix_leaf);
        assert_non_null(leaves[i]);
        assert_int_equal(rc_list_append(list, leaves[i]), 0);
    }
    void *t = rc_new(&ix_leaf);
    assert_non_null(t);
    assert_int_equal(rc_list_append(list, t), 0);
    void *n = og_new(&ix_node, 1, leaves[0], leaves[1]); /* refers only to dead ends */
    assert_non_null(n);
    assert_int_equal(rc_list_append(list, n), 0);
    rc_decref(n); /* the list holds it */
    void *root = og_new(&ix_node, 2, list, NULL);
    assert_non_null(root);
    rc_decref(list);
    for (int i = 0; i < LEAVES; i++) rc_decref(leaves[i]);

    void *want[] = {root, list, t};
    backref_is(t, want, 3);
    void *want_leaf[] = {root, list, leaves[7]};
    backref_is(leaves[7], want_leaf, 3);
    void *want_n[] = {root, list, n};
    backref_is(n, want_n, 3);
    /* a leaf the list holds too, reached first through the list */
    void *want_l0[] = {root, list, leaves[0]};
    backref_is(leaves[0], want_l0, 3);
    /* the target a dead end no root reaches but through n: drop it from
     * the list and give it to n instead */
    RC_SET(((og_node *)n)->b, t);
    assert_int_equal(rc_list_set(list, LEAVES, rc_none), 0);
    void *want_via_n[] = {root, list, n, t};
    backref_is(t, want_via_n, 4);
    /* forward from root to t */
    void **chain;
    int64_t k = rc_objgraph_find_ref_chain(root, is_target, t, 5, &chain);
    expect_chain(chain, k, want_via_n, 4);
    rc_free(chain);
    rc_decref(t);
    rc_decref(root);
}
/* }==== */

/* {==== the same queries on a changed graph ==== */

#define LEVELS 15 /* a complete binary tree: 32767 nodes */

static void *tree(int depth, long *id, void **rightmost) {
    void *l = depth > 1 ? tree(depth - 1, id, NULL) : NULL;
    void *r = depth > 1 ? tree(depth - 1, id, rightmost ? rightmost + 1 : NULL) : NULL;
    void *n = og_new(&ix_node, (*id)++, l, r);
    assert_non_null(n);
    if (l) rc_decref(l);
    if (r) rc_decref(r);
    if (rightmost) rightmost[0] = n;
    return n;
}

static void test_changed_graph(void **state) {
    (void)state;
    long id = 0;
    void *path[LEVELS];
    void *root = tree(LEVELS, &id, path);
    void *deep = path[LEVELS - 1];
    backref_is(deep, path, LEVELS);
    /* a short cut: root.a -> the deep node's parent (the left subtree goes) */
    RC_SET(((og_node *)root)->a, path[LEVELS - 2]);
    void *cut[] = {root, path[LEVELS - 2], deep};
    backref_is(deep, cut, 3);
    /* the second-to-last node held from outside: the chain starts there */
    rc_incref(path[LEVELS - 2]);
    backref_is(deep, cut + 1, 2);
    rc_decref(path[LEVELS - 2]);
    /* many objects more, so the slots move, and the query again */
    void *path2[LEVELS];
    long id2 = 0;
    void *root2 = tree(LEVELS, &id2, path2);
    backref_is(deep, cut, 3);
    backref_is(path2[LEVELS - 1], path2, LEVELS);
    /* the cut undone: root.a -> root2's deepest node's parent */
    RC_SET(((og_node *)root)->a, path2[LEVELS - 2]);
    void *cross[] = {root, path2[LEVELS - 2], path2[LEVELS - 1]};
    backref_is(path2[LEVELS - 1], cross, 3);
    void **chain;
    int64_t n = rc_objgraph_find_ref_chain(root, is_target, path2[LEVELS - 1], 20, &chain);
    expect_chain(chain, n, cross, 3);
    rc_free(chain);
    rc_decref(root);
    rc_decref(root2);
    void **list;
    assert_int_equal(rc_objgraph_get_leaking_objects(&list), 0);
}
/* }==== */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_above_a_byte),
        cmocka_unit_test(test_wide_offsets),
        cmocka_unit_test(test_dead_ends),
        cmocka_unit_test(test_changed_graph),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
