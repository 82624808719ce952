/*
 * test_object.c — objects and reference counting: rc_new/rc_new_var
 * payloads (zeroed, also on reused memory; aligned), rc_sizeof,
 * rc_refcount, rc_type_of, rc_incref/rc_decref (NULL included), destroy
 * exactly once at zero, RC_SET and RC_CLEAR ordering as seen from destroy,
 * immortal objects (PEP 683), and a long chain released by one decref.
 */
#include "test_object_util.h"

/* ---- payloads ---- */

static const size_t sizes[] = {0, 1, 8, 15, 16, 17, 24, 100, 496, 512, 1000, 4096, 65536, 262128, 300000};
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* One untracked type per size (no traverse, no destroy). */
static rc_type sized_types[NSIZES];

static const rc_type *sized_type(size_t i) {
    if (!sized_types[i].name) {
        sized_types[i].name = "sized";
        sized_types[i].size = sizes[i];
    }
    return &sized_types[i];
}

static bool all_zero(const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i]) return false;
    return true;
}

static void test_new_payload_zeroed_and_aligned(void **state) {
    (void)state;
    for (size_t i = 0; i < NSIZES; i++) {
        void *p = rc_new(sized_type(i));
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        if (!all_zero(p, sizes[i])) fail_msg("payload of %zu bytes is not zeroed", sizes[i]);
        assert_int_equal(rc_refcount(p), 1);
        assert_ptr_equal(rc_type_of(p), sized_type(i));
        rc_decref(p);
    }
}

/* Objects freed after their payload was dirtied come back zeroed, and the
 * memory really is reused (the same addresses come back). */
static void check_reuse_zeroed(const rc_type *t, size_t extra, size_t payload) {
    enum { N = 300 };
    uintptr_t old[N];
    for (int i = 0; i < N; i++) {
        void *p = extra ? rc_new_var(t, extra) : rc_new(t);
        assert_non_null(p);
        memset(p, 0xA5, payload);
        if (t->destroy) memset(p, 0, sizeof(node)); /* a node's destroy reads its references */
        if (payload) ((unsigned char *)p)[payload - 1] = 0xA5;
        old[i] = (uintptr_t)p;
        rc_decref(p);
    }
    void *again[N];
    size_t reused = 0;
    for (int i = 0; i < N; i++) {
        again[i] = extra ? rc_new_var(t, extra) : rc_new(t);
        assert_non_null(again[i]);
        if (!all_zero(again[i], payload)) fail_msg("reused %zu-byte payload is not zeroed", payload);
        for (int j = 0; j < N; j++)
            if (old[j] == (uintptr_t)again[i]) {
                reused++;
                break;
            }
    }
    for (int i = 0; i < N; i++) rc_decref(again[i]);
    /* otherwise the test proves nothing about reuse */
    assert_true(reused > 0);
}

static void test_new_payload_zeroed_when_memory_reused(void **state) {
    (void)state;
    for (size_t i = 0; i < NSIZES; i++)
        if (sizes[i] <= 4096) check_reuse_zeroed(sized_type(i), 0, sizes[i]);
    /* a tracked type too (its old payload held references) */
    check_reuse_zeroed(node_type(), 0, sizeof(node));
}

static void test_new_var_payload_zeroed_when_memory_reused(void **state) {
    (void)state;
    check_reuse_zeroed(sized_type(4) /* 16 */, 100, 116);
    check_reuse_zeroed(sized_type(0) /* 0 */, 1000, 1000);
    check_reuse_zeroed(node_type(), 40, sizeof(node) + 40);
}

static void test_new_var_size_and_sizeof(void **state) {
    (void)state;
    /* no extra: exactly rc_new */
    void *p = rc_new_var(sized_type(4), 0);
    assert_non_null(p);
    assert_int_equal(rc_sizeof(p), 32);
    rc_decref(p);
    static const size_t extras[] = {1, 7, 100, 5000, 1 << 20};
    for (size_t i = 0; i < sizeof extras / sizeof extras[0]; i++) {
        p = rc_new_var(sized_type(4), extras[i]);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        size_t want = 16 + 16 + extras[i];
        size_t got = rc_sizeof(p);
        if (got < want) fail_msg("rc_sizeof %zu < 16 + 16 + %zu", got, extras[i]);
        assert_true(all_zero(p, 16 + extras[i]));
        memset(p, 0x5A, got - 16); /* all of it is usable */
        rc_decref(p);
    }
}

static void test_sizeof_is_header_plus_payload(void **state) {
    (void)state;
    for (size_t i = 0; i < NSIZES; i++) {
        void *p = rc_new(sized_type(i));
        assert_non_null(p);
        if (rc_sizeof(p) != 16 + sizes[i]) fail_msg("rc_sizeof = %zu for a %zu-byte payload", rc_sizeof(p), sizes[i]);
        rc_decref(p);
    }
    void *p = rc_new(sized_type(4));
    assert_int_equal(sizes[4], 16);
    assert_int_equal(rc_sizeof(p), 32);
    rc_decref(p);
    node *n = new_node(node_type(), 1); /* tracked objects: the same header */
    assert_int_equal(rc_sizeof(n), 16 + sizeof(node));
    rc_decref(n);
    assert_int_equal(rc_sizeof(NULL), 0);
}

static void test_new_null_type_fails(void **state) {
    (void)state;
    clear_error();
    assert_null(rc_new(NULL));
    const char *e1 = rc_last_error();
    assert_true(e1[0] != '\0');
    assert_non_null(strstr(e1, "rc_new"));
    clear_error();
    assert_null(rc_new_var(NULL, 16));
    assert_non_null(strstr(rc_last_error(), "rc_new_var"));
    /* nothing was counted for them */
    assert_count(0, 0, 0);
}

/* ---- counts ---- */

static void test_refcount_basics(void **state) {
    (void)state;
    node *n = new_node(holder_type(), 1);
    assert_int_equal(rc_refcount(n), 1);
    assert_ptr_equal(rc_type_of(n), holder_type());
    assert_ptr_equal(rc_incref(n), n);
    assert_int_equal(rc_refcount(n), 2);
    rc_incref(n);
    assert_int_equal(rc_refcount(n), 3);
    rc_decref(n);
    assert_int_equal(rc_refcount(n), 2);
    rc_decref(n);
    assert_int_equal(rc_refcount(n), 1);
    assert_int_equal(S()->destroyed, 0);
    rc_decref(n);
    assert_int_equal(S()->destroyed, 1);
    assert_int_equal(rc_refcount(NULL), 0);
    assert_null(rc_type_of(NULL));
}

static void test_incref_decref_null(void **state) {
    (void)state;
    assert_null(rc_incref(NULL));
    rc_decref(NULL);
    assert_int_equal(S()->destroyed, 0);
    assert_count(0, 0, 0);
}

static void test_destroy_runs_exactly_once_at_zero(void **state) {
    (void)state;
    node *n = new_node(node_type(), 7);
    rc_incref(n);
    rc_incref(n);
    rc_decref(n);
    rc_decref(n);
    assert_int_equal(count_events(EV_DESTROY, 7), 0);
    rc_decref(n);
    assert_int_equal(count_events(EV_DESTROY, 7), 1);
    /* nothing else of it runs later */
    rc_gc_collect(-1);
    assert_int_equal(count_events(EV_DESTROY, 7), 1);
    assert_int_equal(count_events(EV_CLEAR, 7), 0);
}

/* destroy dropping the last references of others releases them too, each
 * exactly once */
static void test_destroy_releases_what_it_holds(void **state) {
    (void)state;
    node *a = new_node(node_type(), 1);
    node *b = new_node(holder_type(), 2);
    node *c = new_node(node_type(), 3);
    set_ref(a, 0, b);
    set_ref(a, 1, c);
    set_ref(b, 0, c);
    rc_decref(b);
    rc_decref(c);
    assert_int_equal(rc_refcount(c), 2);
    rc_decref(a);
    assert_int_equal(count_events(EV_DESTROY, 1), 1);
    assert_int_equal(count_events(EV_DESTROY, 2), 1);
    assert_int_equal(count_events(EV_DESTROY, 3), 1);
    assert_int_equal(S()->destroyed, 3);
}

/* ---- RC_SET and RC_CLEAR ---- */

static node *g_owner;
static void *g_slot_seen;
static long g_watch_id;

/* destroy hook: what the owner's slot 0 held when the watched node died */
static void observe_owner_slot(node *self) {
    if (self->id == g_watch_id && g_owner) g_slot_seen = g_owner->ref[0];
}

static void test_set_stores_before_decref_of_old(void **state) {
    (void)state;
    node *owner = new_node(node_type(), 1);
    node *old = new_node(node_type(), 2);
    node *neu = new_node(node_type(), 3);
    set_ref(owner, 0, old);
    rc_decref(old); /* the slot holds the only reference */
    g_owner = owner;
    g_watch_id = 2;
    g_slot_seen = (void *)&g_slot_seen;
    S()->on_destroy = observe_owner_slot;
    RC_SET(owner->ref[0], neu);
    assert_int_equal(count_events(EV_DESTROY, 2), 1);
    assert_ptr_equal(g_slot_seen, neu); /* stored before the old value died */
    assert_ptr_equal(owner->ref[0], neu);
    assert_int_equal(rc_refcount(neu), 2);
    S()->on_destroy = NULL;
    g_owner = NULL;
    rc_decref(neu);
    rc_decref(owner);
    assert_int_equal(S()->destroyed, 3);
}

static void test_set_accepts_null(void **state) {
    (void)state;
    node *owner = new_node(node_type(), 1);
    node *x = new_node(node_type(), 2);
    /* NULL slot, new value */
    RC_SET(owner->ref[0], x);
    assert_int_equal(rc_refcount(x), 2);
    rc_decref(x);
    /* NULL new value: the old one is dropped, slot NULL when it dies */
    g_owner = owner;
    g_watch_id = 2;
    g_slot_seen = (void *)&g_slot_seen;
    S()->on_destroy = observe_owner_slot;
    RC_SET(owner->ref[0], NULL);
    assert_null(owner->ref[0]);
    assert_int_equal(count_events(EV_DESTROY, 2), 1);
    assert_null(g_slot_seen);
    /* NULL over NULL */
    RC_SET(owner->ref[0], NULL);
    assert_null(owner->ref[0]);
    S()->on_destroy = NULL;
    g_owner = NULL;
    rc_decref(owner);
}

static void test_set_same_object_keeps_it_alive(void **state) {
    (void)state;
    node *owner = new_node(node_type(), 1);
    node *x = new_node(node_type(), 2);
    set_ref(owner, 0, x);
    rc_decref(x); /* only the slot holds x */
    RC_SET(owner->ref[0], owner->ref[0]);
    assert_int_equal(count_events(EV_DESTROY, 2), 0);
    assert_ptr_equal(owner->ref[0], x);
    assert_int_equal(rc_refcount(x), 1);
    rc_decref(owner);
    assert_int_equal(count_events(EV_DESTROY, 2), 1);
}

static void test_clear_sets_null_before_decref(void **state) {
    (void)state;
    node *owner = new_node(node_type(), 1);
    node *x = new_node(node_type(), 2);
    set_ref(owner, 0, x);
    rc_decref(x);
    g_owner = owner;
    g_watch_id = 2;
    g_slot_seen = (void *)&g_slot_seen;
    S()->on_destroy = observe_owner_slot;
    RC_CLEAR(owner->ref[0]);
    assert_int_equal(count_events(EV_DESTROY, 2), 1);
    assert_null(g_slot_seen); /* the slot was NULL when x died */
    assert_null(owner->ref[0]);
    /* RC_CLEAR of an empty slot does nothing */
    RC_CLEAR(owner->ref[0]);
    assert_null(owner->ref[0]);
    /* RC_CLEAR of a shared object only drops one reference */
    node *y = new_node(node_type(), 3);
    set_ref(owner, 1, y);
    RC_CLEAR(owner->ref[1]);
    assert_null(owner->ref[1]);
    assert_int_equal(rc_refcount(y), 1);
    assert_int_equal(count_events(EV_DESTROY, 3), 0);
    S()->on_destroy = NULL;
    g_owner = NULL;
    rc_decref(y);
    rc_decref(owner);
    assert_int_equal(S()->destroyed, 3);
}

/* ---- immortal objects ---- */

static void test_immortal_count_never_changes(void **state) {
    (void)state;
    node *n = new_node(holder_type(), 1);
    rc_immortalize(n);
    size_t c = rc_refcount(n);
    assert_true(c >= RC_IMMORTAL_REFCNT);
    for (int i = 0; i < 1000; i++) rc_incref(n);
    assert_int_equal(rc_refcount(n), c);
    for (int i = 0; i < 2000; i++) rc_decref(n); /* far more than it ever had */
    assert_int_equal(rc_refcount(n), c);
    assert_int_equal(S()->destroyed, 0);
    assert_int_equal(n->id, 1);
    rc_immortalize(NULL); /* ignored */
}

static void test_immortal_survives_collection(void **state) {
    (void)state;
    /* an immortal self-cycle that nothing else references */
    node *n = new_node(node_type(), 1);
    set_ref(n, 0, n);
    rc_immortalize(n);
    rc_decref(n);
    rc_decref(n);
    assert_true(rc_gc_is_tracked(n));
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(S()->destroyed, 0);
    assert_int_equal(S()->cleared, 0);
    assert_ptr_equal(n->ref[0], n);
    assert_true(rc_refcount(n) >= RC_IMMORTAL_REFCNT);
    /* what an immortal object references survives with it */
    node *m = new_node(node_type(), 2);
    set_ref(n, 1, m);
    rc_decref(m);
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(count_events(EV_DESTROY, 2), 0);
    /* leave it out of the collector for the later tests (it is never freed) */
    rc_gc_untrack(m);
    rc_gc_untrack(n);
}

/* ---- long chains ---- */

static void test_release_long_chain(void **state) {
    (void)state;
    enum { N = 200000 };
    node *head = new_node(holder_type(), 0);
    node *tail = head;
    for (long i = 1; i < N; i++) {
        node *n = new_node(i % 2 ? node_type() : holder_type(), i);
        tail->ref[0] = n; /* steals the new reference */
        tail = n;
    }
    assert_int_equal(S()->destroyed, 0);
    rc_decref(head);
    assert_int_equal(S()->destroyed, N);
    assert_int_equal(count_events(EV_DESTROY, 0), 1);
    assert_int_equal(gen_objects(0), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        OBJ_TEST(test_new_payload_zeroed_and_aligned),
        OBJ_TEST(test_new_payload_zeroed_when_memory_reused),
        OBJ_TEST(test_new_var_payload_zeroed_when_memory_reused),
        OBJ_TEST(test_new_var_size_and_sizeof),
        OBJ_TEST(test_sizeof_is_header_plus_payload),
        OBJ_TEST(test_new_null_type_fails),
        OBJ_TEST(test_refcount_basics),
        OBJ_TEST(test_incref_decref_null),
        OBJ_TEST(test_destroy_runs_exactly_once_at_zero),
        OBJ_TEST(test_destroy_releases_what_it_holds),
        OBJ_TEST(test_set_stores_before_decref_of_old),
        OBJ_TEST(test_set_accepts_null),
        OBJ_TEST(test_set_same_object_keeps_it_alive),
        OBJ_TEST(test_clear_sets_null_before_decref),
        OBJ_TEST(test_immortal_count_never_changes),
        OBJ_TEST(test_immortal_survives_collection),
        OBJ_TEST(test_release_long_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
