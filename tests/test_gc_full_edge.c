/*
 * test_gc_full_edge.c — the edges of a full collection's steps 1-4 (the
 * section "steps 1-4 of a full collection" in src/gc/collect.c):
 *
 *   out of memory   each OS request that rc_gc_collect(-1) makes fails in
 *                   turn, on a heap of several arenas with old and young
 *                   garbage cycles (small, medium and large objects) and a
 *                   live graph: the collection finds all the garbage or
 *                   changes nothing; a following collection frees exactly
 *                   the rest; the live graph and the generation counts are
 *                   intact.
 *   medium objects  objects above RC_SMALL_MAX live in spans of several
 *                   pools, so an object's pool need not be its span's head:
 *                   cycles and live graphs mixing them with small objects,
 *                   references pointing either way, exact counts.
 *   release list    a large object waiting on the release list (its count
 *                   word is the list's link) while a destructor runs a full
 *                   collection: the collection must not write its header.
 *   big counts      an object referenced 2^29 times from outside, more
 *                   than an entry's 29 bits of count hold, is a root.
 */
#include "test_object_util.h"

#include "internal/heap.h" /* _rc_os_fail_nth, _rc_span_head */

/* ---- a medium node: 16 + payload > RC_SMALL_MAX ---- */

typedef struct medium_node {
    node n;
    char pad[1200]; /* 1216-byte objects: class 1280, spans of 3 pools */
} medium_node;

static const rc_type *medium_type(void) {
    static const rc_type t = {
        .name = "medium", .size = sizeof(medium_node), .traverse = node_traverse, .clear = node_clear,
        .destroy = node_destroy,
    };
    return &t;
}

/* ---- a live graph and its check ---- */

/* The kinds of object a graph is made of, chosen by id. */
static node *make_kind(long id) {
    const rc_type *t = node_type();
    if (id % 4999 == 0) t = big_type();
    else if (id % 13 == 0) t = medium_type();
    return new_node(t, id);
}

/* n live objects, ids id0..: i refers to i + 1 and to i / 2 (so the graph
 * holds cycles and has references both ways). Returns the first, which
 * reaches all; the caller owns that one reference. */
static node *make_live(long n, long id0) {
    node **v = malloc((size_t)n * sizeof *v);
    assert_non_null(v);
    for (long i = 0; i < n; i++) v[i] = make_kind(id0 + i);
    for (long i = 0; i < n; i++) {
        if (i + 1 < n) set_ref(v[i], 0, v[i + 1]);
        set_ref(v[i], 1, v[i / 2]);
    }
    node *root = v[0];
    for (long i = 1; i < n; i++) rc_decref(v[i]);
    free(v);
    return root;
}

/* Walks the graph of make_live(n, id0) from root: every object once, ids
 * and references intact, each count what the graph gives it (+1 for the
 * caller's reference to the root). */
static void check_live(node *root, long n, long id0) {
    unsigned char *seen = calloc((size_t)n, 1);
    assert_non_null(seen);
    node *x = root;
    for (long i = 0; i < n; i++) {
        assert_non_null(x);
        assert_int_equal(x->id, id0 + i);
        assert_false(seen[i]);
        seen[i] = 1;
        /* referents: i - 1 (ref 0), 2i and 2i + 1 (ref 1), itself when i == 0 */
        size_t expect = (i > 0) + (2 * i < n && i > 0) + (2 * i + 1 < n) + (i == 0);
        if (i == 0) expect++; /* the caller's */
        if (rc_refcount(x) != expect) fail_msg("object %ld: count %zu, expected %zu", i, rc_refcount(x), expect);
        node *half = x->ref[1];
        assert_non_null(half);
        assert_int_equal(half->id, id0 + i / 2);
        x = x->ref[0];
    }
    assert_null(x);
    free(seen);
}

/* Garbage: rings of every kind, count objects from id0 in rings of up to
 * 40. Returns how many. */
static long make_garbage(long count, long id0) {
    long made = 0;
    while (made < count) {
        int n = count - made < 40 ? (int)(count - made) : 40;
        node *v[40];
        for (int i = 0; i < n; i++) v[i] = make_kind(id0 + made + i);
        for (int i = 0; i < n; i++) set_ref(v[i], 0, v[(i + 1) % n]);
        for (int i = 0; i < n; i++) rc_decref(v[i]);
        made += n;
    }
    return made;
}

/* ---- out of memory during a full collection ---- */

#define LIVE_OLD 60000 /* about three arenas of small blocks, plus spans */
#define LIVE_YOUNG 300
#define GARBAGE_OLD 2000
#define GARBAGE_MID 150
#define GARBAGE_YOUNG 700

static void test_full_collection_out_of_memory(void **state) {
    (void)state;
    rc_gc_disable(); /* no automatic collection between the steps */
    node *old = make_live(LIVE_OLD, 0);
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(gen_objects(2), LIVE_OLD);
    size_t failed = 0, succeeded = 0;
    size_t n;
    for (n = 1;; n++) {
        /* old garbage (a cyclic graph, in generation 2 once it has
         * survived a full collection), a young live graph and garbage in
         * generation 1 (survivors of a generation-0 collection), garbage
         * rings in generation 0 */
        node *hold = make_live(GARBAGE_OLD, 3000000);
        assert_int_equal(rc_gc_collect(-1), 0);
        rc_decref(hold);
        node *young = make_live(LIVE_YOUNG, 5000000);
        node *mid = make_live(GARBAGE_MID, 6000000);
        assert_int_equal(rc_gc_collect(0), 0);
        rc_decref(mid);
        long young_garbage = make_garbage(GARBAGE_YOUNG, 4000000);
        size_t live = LIVE_OLD + LIVE_YOUNG;
        size_t garbage = GARBAGE_OLD + GARBAGE_MID + (size_t)young_garbage;
        size_t g0 = gen_objects(0), g1 = gen_objects(1), g2 = gen_objects(2);
        assert_int_equal(g0, GARBAGE_YOUNG);
        assert_int_equal(g1, LIVE_YOUNG + GARBAGE_MID);
        assert_int_equal(g2, LIVE_OLD + GARBAGE_OLD);
        S()->destroyed = 0;
        rc_heap_trim(); /* no cached mappings: the collection asks the OS */

        size_t before = _rc_os_fail_nth(n);
        size_t got = rc_gc_collect(-1);
        size_t requests = _rc_os_requests() - before;
        _rc_os_fail_nth(0);

        if (got == 0) {
            /* nothing changed: every object where it was */
            failed++;
            assert_int_equal(S()->destroyed, 0);
            assert_int_equal(gen_objects(0), g0);
            assert_int_equal(gen_objects(1), g1);
            assert_int_equal(gen_objects(2), g2);
            check_live(old, LIVE_OLD, 0);
            check_live(young, LIVE_YOUNG, 5000000);
            assert_int_equal(rc_gc_collect(-1), garbage);
        } else {
            succeeded++;
            assert_int_equal(got, garbage);
        }
        assert_int_equal(S()->destroyed, garbage);
        assert_int_equal(gen_objects(0), 0);
        assert_int_equal(gen_objects(1), 0);
        assert_int_equal(gen_objects(2), live);
        check_live(old, LIVE_OLD, 0);
        check_live(young, LIVE_YOUNG, 5000000);
        assert_int_equal(rc_gc_collect(-1), 0);
        rc_decref(young);
        assert_int_equal(rc_gc_collect(-1), LIVE_YOUNG);
        if (requests < n) break; /* no failure was injected: done */
    }
    /* the walk went through failures in the collection, and ended */
    assert_true(failed >= 2);
    assert_true(succeeded >= 1); /* at least the last run, without a failure */
    check_live(old, LIVE_OLD, 0);
    rc_decref(old);
    assert_int_equal(rc_gc_collect(-1), LIVE_OLD);
    assert_int_equal(rc_gc_get_objects(-1, NULL, NULL), 0);
}

/* ---- medium objects ---- */

/* Medium objects sit in spans of several pools, and some in a pool that is
 * not its span's head. */
static void assert_spans(node *const *v, long n) {
    bool multi = false, interior = false;
    for (long i = 0; i < n; i++) {
        if (rc_type_of(v[i]) != medium_type()) continue;
        uintptr_t a = (uintptr_t)v[i] - 16;
        rc_pool *head = _rc_span_head(a);
        if (head->npools > 1) multi = true;
        if (_rc_pool_desc(a) != head) interior = true;
    }
    assert_true(multi);
    assert_true(interior);
}

#define MIX 6000

/* A live graph L and a garbage graph G of MIX objects each, interleaved,
 * every other one medium (some large), where i refers to i - 1 and
 * (i - 1) / 2 (up false) or to i + 1 and 2i + 1 (up true); L is rooted at
 * its newest (up false) or oldest (up true) object, G closed into a cycle. */
static void check_mixed(bool up) {
    rc_gc_disable();
    node **live = malloc(MIX * sizeof *live), **dead = malloc(MIX * sizeof *dead);
    assert_non_null(live);
    assert_non_null(dead);
    for (long i = 0; i < MIX; i++) {
        const rc_type *t = i % 2 ? medium_type() : i % 501 == 0 ? big_type() : node_type();
        live[i] = new_node(t, i);
        dead[i] = new_node(t, MIX + i);
    }
    assert_spans(live, MIX);
    for (long i = 0; i < MIX; i++) {
        long a = up ? i + 1 : i - 1, b = up ? 2 * i + 1 : (i - 1) / 2;
        if (a >= 0 && a < MIX) {
            set_ref(live[i], 0, live[a]);
            set_ref(dead[i], 0, dead[a]);
        }
        if (i > 0 && b >= 0 && b < MIX) {
            set_ref(live[i], 1, live[b]);
            set_ref(dead[i], 1, dead[b]);
        }
    }
    if (up) set_ref(dead[MIX - 1], 2, dead[0]);
    else set_ref(dead[0], 2, dead[MIX - 1]);
    node *root = up ? live[0] : live[MIX - 1];
    rc_incref(root);
    /* half the objects old (generation 2), half young */
    for (long i = 0; i < MIX / 2; i++) {
        rc_decref(live[i]);
        rc_decref(dead[i]);
    }
    assert_int_equal(rc_gc_collect(-1), 0);
    for (long i = MIX / 2; i < MIX; i++) {
        rc_decref(live[i]);
        rc_decref(dead[i]);
    }
    S()->destroyed = 0;
    assert_int_equal(rc_gc_collect(-1), MIX);
    assert_int_equal(S()->destroyed, MIX);
    assert_int_equal(gen_objects(2), MIX);
    assert_int_equal(gen_objects(0) + gen_objects(1), 0);
    /* every live object intact, with its count */
    for (long i = 0; i < MIX; i++) {
        assert_int_equal(live[i]->id, i);
        long a = up ? i + 1 : i - 1, b = up ? 2 * i + 1 : (i - 1) / 2;
        node *ea = a >= 0 && a < MIX ? live[a] : NULL, *eb = i > 0 && b >= 0 && b < MIX ? live[b] : NULL;
        assert_ptr_equal(live[i]->ref[0], ea);
        assert_ptr_equal(live[i]->ref[1], eb);
    }
    assert_int_equal(rc_gc_collect(-1), 0);
    rc_decref(root); /* acyclic: freed by counting */
    assert_int_equal(S()->destroyed, 2 * MIX);
    assert_int_equal(rc_gc_get_objects(-1, NULL, NULL), 0);
    free(live);
    free(dead);
}

static void test_medium_objects_down(void **state) {
    (void)state;
    check_mixed(false);
}

static void test_medium_objects_up(void **state) {
    (void)state;
    check_mixed(true);
}

/* Rings of medium objects only, each garbage ring held by a live one's
 * object until that reference is dropped. */
static void test_medium_rings(void **state) {
    (void)state;
    rc_gc_disable();
    node *live[30], *dead[30];
    make_ring(medium_type(), 30, 0, live);
    make_ring(medium_type(), 30, 100, dead);
    set_ref(live[7], 1, dead[29]);
    for (int i = 0; i < 30; i++) rc_decref(dead[i]);
    for (int i = 1; i < 30; i++) rc_decref(live[i]);
    S()->destroyed = 0;
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(S()->destroyed, 0);
    set_ref(live[7], 1, NULL);
    assert_int_equal(rc_gc_collect(-1), 30);
    assert_int_equal(S()->destroyed, 30);
    rc_decref(live[0]);
    assert_int_equal(rc_gc_collect(-1), 30);
    assert_int_equal(S()->destroyed, 60);
    assert_int_equal(rc_gc_get_objects(-1, NULL, NULL), 0);
}

/* ---- a large object on the release list ---- */

#define CHAIN 40
#define TRIGGER_ID 777

static size_t trigger_found;

static void collect_on_destroy(node *n) {
    if (n->id == TRIGGER_ID) trigger_found = rc_gc_collect(-1);
}

/* A chain of CHAIN nodes released by one decref: the release nests 32
 * deep, then queues (node 32, a large object, waits on the release list,
 * linked through its count word). Node 30's second reference is the
 * trigger, whose destroy runs a full collection while node 32 waits. The
 * collection must leave the waiting object's header alone; the chain is
 * then freed whole, and a garbage ring is found meanwhile. */
static void test_large_object_waiting_on_release_list(void **state) {
    (void)state;
    rc_gc_disable();
    make_garbage_ring(node_type(), 5, 900);
    make_garbage_ring(big_type(), 2, 950);
    node *chain[CHAIN];
    for (int i = 0; i < CHAIN; i++) chain[i] = new_node(i == 32 || i == 35 ? big_type() : node_type(), i);
    for (int i = 0; i + 1 < CHAIN; i++) set_ref(chain[i], 0, chain[i + 1]);
    node *trigger = new_node(node_type(), TRIGGER_ID);
    set_ref(chain[30], 1, trigger);
    rc_decref(trigger);
    for (int i = 1; i < CHAIN; i++) rc_decref(chain[i]);
    S()->destroyed = 0;
    trigger_found = 0;
    S()->on_destroy = collect_on_destroy;
    rc_decref(chain[0]);
    S()->on_destroy = NULL;
    assert_int_equal(trigger_found, 7);
    assert_int_equal(S()->destroyed, CHAIN + 1 + 7);
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(rc_gc_get_objects(-1, NULL, NULL), 0);
}

/* ---- counts the entries cannot hold ---- */

/* Objects with 2^29 references from outside (as if C held them: the
 * count is raised directly, 2^29 increments would be slow) and 2^29 - 1,
 * each in a ring whose only other reference is from inside: the entries
 * (29 bits of count) see a capped count, so each ring survives; with the
 * extra references gone, both rings are garbage. */
static void test_counts_above_the_entry_width(void **state) {
    (void)state;
    rc_gc_disable();
    const uint32_t extra[2] = {0x20000000u, 0x1FFFFFFFu};
    node *a[3], *b[3];
    make_ring(node_type(), 3, 10, a);
    make_ring(medium_type(), 3, 20, b);
    for (int i = 0; i < 3; i++) {
        rc_decref(a[i]);
        rc_decref(b[i]);
    }
    /* all six young (generation 0) */
    ((rc_object_head *)a[1] - 1)->refcnt += extra[0];
    ((rc_object_head *)b[2] - 1)->refcnt += extra[1];
    S()->destroyed = 0;
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(S()->destroyed, 0);
    assert_int_equal(rc_refcount(a[1]), 1 + (size_t)extra[0]);
    assert_int_equal(generation_of(a[0]), 2);
    assert_int_equal(rc_gc_collect(-1), 0); /* old now: again */
    assert_int_equal(S()->destroyed, 0);
    ((rc_object_head *)a[1] - 1)->refcnt -= extra[0];
    ((rc_object_head *)b[2] - 1)->refcnt -= extra[1];
    assert_int_equal(rc_gc_collect(-1), 6);
    assert_int_equal(S()->destroyed, 6);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        OBJ_TEST(test_full_collection_out_of_memory),
        OBJ_TEST(test_medium_objects_down),
        OBJ_TEST(test_medium_objects_up),
        OBJ_TEST(test_medium_rings),
        OBJ_TEST(test_large_object_waiting_on_release_list),
        OBJ_TEST(test_counts_above_the_entry_width),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
