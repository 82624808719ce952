/*
 * test_gc_full.c — full collections (generation 2) on heaps of many pools
 * and arenas, whose steps 1-4 keep their scratch beside the heap (see
 * "steps 1-4 of a full collection" in src/gc/collect.c): exactly the
 * unreachable objects are freed whichever way references point (to older
 * or to newer memory, so that the marking scan runs in either direction
 * and has to follow references against it), with garbage and live objects
 * sharing pools and large objects on both sides; objects held only by
 * untracked ones or by C survive; an immortal object keeps its cycle; and
 * immutable objects nested in one another leave the set untracked in one
 * collection even when the holder is older than what it holds.
 */
#include "test_object_util.h"

/* Many objects: 48-byte blocks, about 340 a pool: a few hundred pools in
 * several arenas. */
#define N 40000
#define BIG_EVERY 4000 /* big_type: test_object_util.h */

static node *make(long id) {
    if (id % BIG_EVERY != 0) return new_node(node_type(), id);
    node *n = rc_new(big_type());
    assert_non_null(n);
    return n;
}

/* Builds, interleaved in memory, a live graph L and a garbage graph G of N
 * objects each (every BIG_EVERY-th one large), where object i refers to
 * objects i - 1 and (i - 1) / 2 of its graph (down: to older ones), or to
 * i + 1 and 2i + 1 (up: to newer ones). L is acyclic; G's chain is closed
 * into one cycle by one reference the other way, and nothing outside
 * refers to G. The caller keeps one C reference: to L's newest object
 * (down) or its oldest (up), which reaches all of L. Returns it. */
static node *build(bool up) {
    node **live = malloc(N * sizeof *live), **dead = malloc(N * sizeof *dead);
    assert_non_null(live);
    assert_non_null(dead);
    for (long i = 0; i < N; i++) {
        live[i] = make(i);
        live[i]->id = i;
        dead[i] = make(N + i);
        dead[i]->id = N + i;
    }
    for (long i = 0; i < N; i++) {
        long a = up ? i + 1 : i - 1, b = up ? 2 * i + 1 : (i - 1) / 2;
        if (a >= 0 && a < N) {
            set_ref(live[i], 0, live[a]);
            set_ref(dead[i], 0, dead[a]);
        }
        if (i > 0 && b >= 0 && b < N) {
            set_ref(live[i], 1, live[b]);
            set_ref(dead[i], 1, dead[b]);
        }
    }
    if (up) set_ref(dead[N - 1], 2, dead[0]);
    else set_ref(dead[0], 2, dead[N - 1]);
    node *root = up ? live[0] : live[N - 1];
    rc_incref(root);
    for (long i = 0; i < N; i++) {
        rc_decref(live[i]);
        rc_decref(dead[i]);
    }
    free(live);
    free(dead);
    return root;
}

/* Counts the objects reachable from root (each once: ids mark them). */
static long reach(node *root) {
    static unsigned char seen[N];
    memset(seen, 0, sizeof seen);
    node **stack = malloc(N * sizeof *stack);
    assert_non_null(stack);
    long n = 0, top = 0;
    stack[top++] = root;
    seen[root->id] = 1;
    while (top) {
        node *x = stack[--top];
        n++;
        for (int k = 0; k < NODE_REFS; k++) {
            node *y = x->ref[k];
            if (y && !seen[y->id]) {
                seen[y->id] = 1;
                stack[top++] = y;
            }
        }
    }
    free(stack);
    return n;
}

static void check_direction(bool up) {
    node *root = build(up);
    S()->destroyed = 0;
    /* the first collection finds G; the live graph moves to generation 2 */
    assert_int_equal(rc_gc_collect(-1), N);
    assert_int_equal(S()->destroyed, N);
    assert_int_equal(reach(root), N);
    assert_int_equal(generation_of(root), 2);
    /* a settled heap: nothing more */
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(reach(root), N);
    /* once its root goes, the acyclic live graph is freed by counting */
    rc_decref(root);
    assert_int_equal(S()->destroyed, 2 * N);
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(rc_gc_get_objects(-1, NULL, NULL), 0);
}

static void test_references_to_older_objects(void **state) {
    (void)state;
    check_direction(false);
}

static void test_references_to_newer_objects(void **state) {
    (void)state;
    check_direction(true);
}

/* A cycle of many objects whose only outside reference is from the middle
 * of it, held by an untracked object, survives; dropped, all of it goes. */
static void test_cycle_held_by_untracked_object(void **state) {
    (void)state;
    node *ring[64];
    make_ring(node_type(), 64, 1, ring);
    node *holder = new_node(holder_type(), 100);
    set_ref(holder, 0, ring[37]);
    for (int i = 0; i < 64; i++) rc_decref(ring[i]);
    /* untracked objects fill pools of their own, which the collection does
     * not examine, between the ring's */
    node *filler[2000];
    for (int i = 0; i < 2000; i++) filler[i] = new_node(holder_type(), 1000 + i);
    S()->destroyed = 0;
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(S()->destroyed, 0);
    rc_decref(holder); /* its destroy drops ring[37] */
    assert_int_equal(rc_gc_collect(-1), 64);
    assert_int_equal(S()->destroyed, 65);
    for (int i = 0; i < 2000; i++) rc_decref(filler[i]);
}

/* An immortal object is never counted: its references from outside are
 * unknown, so it and all it reaches survive every collection. */
static void test_immortal_object_keeps_its_cycle(void **state) {
    (void)state;
    node *ring[3];
    make_ring(node_type(), 3, 1, ring);
    rc_immortalize(ring[1]);
    for (int i = 0; i < 3; i++) rc_decref(ring[i]);
    S()->destroyed = 0;
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(S()->destroyed, 0);
    assert_int_equal(rc_refcount(ring[0]), 1);
    assert_true(rc_gc_is_tracked(ring[0]));
    rc_gc_untrack(ring[0]); /* out of the way of the next tests' counts */
    rc_gc_untrack(ring[1]);
    rc_gc_untrack(ring[2]);
}

/* An immutable node (its references are set once, right after rc_new). */
static const rc_type *frozen_node_type(void) {
    static const rc_type t = {
        .name = "inode", .size = sizeof(node), .traverse = node_traverse, .clear = node_clear,
        .destroy = node_destroy, .flags = RC_TYPE_IMMUTABLE,
    };
    return &t;
}

static int by_address(const void *a, const void *b) {
    uintptr_t x = (uintptr_t) * (node *const *)a, y = (uintptr_t) * (node *const *)b;
    return (x > y) - (x < y);
}

/* A holder that comes before its items in the heap, and they before
 * theirs: the full collection's walk meets the holder first, and still
 * untracks all three, as a young collection (in creation order) untracks a
 * tuple of tuples built bottom-up. One that holds a tracked mutable object
 * stays tracked. */
static void test_nested_immutables_untracked_in_one_collection(void **state) {
    (void)state;
    /* three immutable nodes of one pool, in address order */
    node *v[16], *chain[3];
    int n = 0;
    for (int i = 0; i < 16; i++) v[i] = new_node(frozen_node_type(), 10 + i);
    for (int i = 0; i < 16 && n < 3; i++)
        if (((uintptr_t)v[i] >> 14) == ((uintptr_t)v[0] >> 14)) chain[n++] = v[i];
    assert_int_equal(n, 3);
    qsort(chain, 3, sizeof *chain, by_address);
    node *outer = chain[0], *mid = chain[1], *inner = chain[2];
    node *atom = new_node(holder_type(), 4); /* untracked */
    node *keeper = new_node(frozen_node_type(), 5);
    node *list = new_node(node_type(), 6); /* tracked, mutable */
    set_ref(outer, 0, mid);
    set_ref(mid, 0, inner);
    set_ref(inner, 0, atom);
    set_ref(keeper, 0, list);
    assert_true(rc_gc_is_tracked(outer) && rc_gc_is_tracked(mid) && rc_gc_is_tracked(inner));
    rc_gc_collect(-1);
    assert_false(rc_gc_is_tracked(outer));
    assert_false(rc_gc_is_tracked(mid));
    assert_false(rc_gc_is_tracked(inner));
    assert_true(rc_gc_is_tracked(keeper));
    assert_true(rc_gc_is_tracked(list));
    S()->destroyed = 0;
    rc_decref(atom);
    rc_decref(list);
    rc_decref(keeper);
    assert_int_equal(S()->destroyed, 2);
    for (int i = 0; i < 16; i++) rc_decref(v[i]);
    assert_int_equal(S()->destroyed, 19); /* and the atom, with inner */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        OBJ_TEST(test_references_to_older_objects),
        OBJ_TEST(test_references_to_newer_objects),
        OBJ_TEST(test_cycle_held_by_untracked_object),
        OBJ_TEST(test_immortal_object_keeps_its_cycle),
        OBJ_TEST(test_nested_immutables_untracked_in_one_collection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
