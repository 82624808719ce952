/*
 * test_weakref.c — weak references (Python's weakref) and
 * rc_finalize_on_death (weakref.finalize): rc_weakref_get while alive and
 * once gone; callbacks after the object is gone, newest first, only for
 * weak references still alive, none for weak references in the garbage
 * themselves; clearing before finalize and clear in cyclic garbage;
 * sharing of callback-less weak references; rc_weakref_count; weak
 * references as tracked objects; finalize_on_death at death (count or
 * cycle), not keeping its object alive, and at rc_shutdown / exit (in
 * forked children, since rc_shutdown runs once per process).
 */
#include <sys/wait.h>
#include <unistd.h>

#include "test_object_util.h"

/* ---- a recording callback ---- */

static int g_cb_saw_object;       /* callbacks in which rc_weakref_get was not NULL */
static rc_weakref *g_cb_refs[16]; /* the ref each callback got */
static size_t g_cb_destroyed[16]; /* S()->destroyed when it ran */
static int g_ncb;

static void wr_cb(rc_weakref *ref, void *arg) {
    log_event(EV_WEAKCB, (long)(intptr_t)arg);
    void *o = rc_weakref_get(ref);
    if (o) {
        g_cb_saw_object++;
        rc_decref(o);
    }
    if (g_ncb < 16) {
        g_cb_refs[g_ncb] = ref;
        g_cb_destroyed[g_ncb] = S()->destroyed;
    }
    g_ncb++;
}

static void reset_cb(void) {
    g_cb_saw_object = 0;
    g_ncb = 0;
}

static rc_weakref *new_weakref(void *obj, rc_weakref_callback cb, long arg) {
    rc_weakref *w = rc_weakref_new(obj, cb, (void *)(intptr_t)arg);
    assert_non_null(w);
    return w;
}

/* ---- rc_weakref_get ---- */

static void test_get_returns_new_reference_while_alive(void **state) {
    (void)state;
    node *x = new_node(node_type(), 1);
    rc_weakref *w = new_weakref(x, NULL, 0);
    assert_int_equal(rc_refcount(x), 1); /* a weak reference adds none */
    node *g = rc_weakref_get(w);
    assert_ptr_equal(g, x);
    assert_int_equal(rc_refcount(x), 2);
    node *g2 = rc_weakref_get(w);
    assert_ptr_equal(g2, x);
    assert_int_equal(rc_refcount(x), 3);
    rc_decref(g);
    rc_decref(g2);
    assert_int_equal(rc_refcount(x), 1);
    assert_null(rc_weakref_get(NULL));
    rc_decref(x);
    assert_int_equal(S()->destroyed, 1);
    assert_null(rc_weakref_get(w));
    assert_null(rc_weakref_get(w));
    rc_decref(w);
}

static void test_get_null_after_cycle_collected(void **state) {
    (void)state;
    node *r[2];
    make_ring(node_type(), 2, 1, r);
    rc_weakref *w0 = new_weakref(r[0], NULL, 0);
    rc_weakref *w1 = new_weakref(r[1], wr_cb, 1);
    rc_decref(r[0]);
    rc_decref(r[1]);
    node *g = rc_weakref_get(w0); /* garbage, but not collected yet */
    assert_ptr_equal(g, r[0]);
    rc_decref(g);
    assert_int_equal(rc_gc_collect(-1), 2);
    assert_null(rc_weakref_get(w0));
    assert_null(rc_weakref_get(w1));
    rc_decref(w0);
    rc_decref(w1);
}

/* Every object can be weakly referenced: untracked ones, rc_new_var ones,
 * and weak references themselves. */
static void test_any_object_can_be_weakly_referenced(void **state) {
    (void)state;
    reset_cb();
    node *h = new_node(holder_type(), 1);
    void *v = rc_new_var(node_type(), 5000);
    assert_non_null(v);
    rc_weakref *wh = new_weakref(h, wr_cb, 1);
    rc_weakref *wv = new_weakref(v, wr_cb, 2);
    rc_weakref *ww = new_weakref(wh, wr_cb, 3);
    assert_int_equal(rc_weakref_count(h), 1);
    assert_int_equal(rc_weakref_count(wh), 1);
    rc_decref(h);
    rc_decref(v);
    assert_int_equal(count_events(EV_WEAKCB, 1), 1);
    assert_int_equal(count_events(EV_WEAKCB, 2), 1);
    assert_int_equal(count_events(EV_WEAKCB, 3), 0);
    rc_decref(wh);
    assert_int_equal(count_events(EV_WEAKCB, 3), 1);
    rc_decref(wv);
    rc_decref(ww);
    assert_int_equal(g_cb_saw_object, 0);
}

/* ---- callbacks ---- */

static size_t blocks_in_use(void) {
    static rc_heap_stats st; /* large: not on the stack */
    rc_heap_get_stats(&st);
    return st.blocks_in_use;
}

static size_t g_blocks_in_cb;

static void blocks_cb(rc_weakref *ref, void *arg) {
    g_blocks_in_cb = blocks_in_use();
    wr_cb(ref, arg);
}

static void test_callback_runs_after_object_is_gone(void **state) {
    (void)state;
    reset_cb();
    node *x = new_node(node_type(), 1);
    rc_weakref *w = new_weakref(x, blocks_cb, 7);
    size_t before = blocks_in_use();
    rc_decref(x);
    assert_int_equal(g_blocks_in_cb, before - 1); /* its memory was freed */
    assert_int_equal(g_ncb, 1);
    assert_ptr_equal(g_cb_refs[0], w);
    assert_int_equal(g_cb_saw_object, 0);
    assert_int_equal(g_cb_destroyed[0], 1); /* destroy had run */
    assert_true(first_event(EV_DESTROY, 1) < first_event(EV_WEAKCB, 7));
    assert_null(rc_weakref_get(w));
    rc_decref(w);
    assert_int_equal(g_ncb, 1); /* once */
}

static rc_weakref *g_watched;
static int g_live_in_destroy;

static void get_in_destroy(node *self) {
    (void)self;
    void *o = rc_weakref_get(g_watched);
    if (o) {
        g_live_in_destroy++;
        rc_decref(o);
    }
}

/* destroy already sees the weak references cleared (count and cycle) */
static void test_weakrefs_cleared_before_destroy(void **state) {
    (void)state;
    reset_cb();
    g_live_in_destroy = 0;
    S()->on_destroy = get_in_destroy;
    node *x = new_node(node_type(), 1);
    g_watched = new_weakref(x, wr_cb, 1);
    rc_decref(x);
    assert_int_equal(S()->destroyed, 1);
    assert_int_equal(g_live_in_destroy, 0);
    assert_int_equal(g_ncb, 1);
    rc_decref(g_watched);
    node *r[1];
    make_ring(node_type(), 1, 2, r);
    g_watched = new_weakref(r[0], NULL, 0);
    rc_decref(r[0]);
    assert_int_equal(rc_gc_collect(-1), 1);
    assert_int_equal(S()->destroyed, 2);
    assert_int_equal(g_live_in_destroy, 0);
    rc_decref(g_watched);
    g_watched = NULL;
}

/* An object whose count reaches zero inside another object's release
 * reads as gone at once, even if its own release comes later. */
static rc_weakref *g_child_wr;
static void *g_got_in_parent;

static void drop_child_then_get(node *self) {
    if (self->id != 1) return;
    RC_CLEAR(self->ref[1]); /* another release is already queued */
    RC_CLEAR(self->ref[0]);
    g_got_in_parent = rc_weakref_get(g_child_wr);
}

static void test_get_null_for_object_released_inside_another_release(void **state) {
    (void)state;
    reset_cb();
    node *parent = new_node(node_type(), 1);
    node *child = new_node(node_type(), 2);
    node *other = new_node(node_type(), 3);
    set_ref(parent, 0, child);
    set_ref(parent, 1, other);
    rc_decref(other);
    g_child_wr = new_weakref(child, wr_cb, 2);
    rc_decref(child);
    g_got_in_parent = (void *)&g_got_in_parent;
    S()->on_destroy = drop_child_then_get;
    rc_decref(parent);
    S()->on_destroy = NULL;
    assert_null(g_got_in_parent);
    assert_int_equal(S()->destroyed, 3);
    assert_int_equal(g_ncb, 1);
    assert_null(rc_weakref_get(g_child_wr));
    rc_decref(g_child_wr);
}

static void test_callbacks_run_newest_first(void **state) {
    (void)state;
    reset_cb();
    node *x = new_node(node_type(), 1);
    rc_weakref *w[4];
    for (int i = 0; i < 4; i++) w[i] = new_weakref(x, wr_cb, i + 1);
    rc_decref(x);
    assert_int_equal(g_ncb, 4);
    for (int i = 0; i < 4; i++) assert_ptr_equal(g_cb_refs[i], w[3 - i]);
    assert_true(first_event(EV_WEAKCB, 4) < first_event(EV_WEAKCB, 3));
    assert_true(first_event(EV_WEAKCB, 3) < first_event(EV_WEAKCB, 2));
    assert_true(first_event(EV_WEAKCB, 2) < first_event(EV_WEAKCB, 1));
    for (int i = 0; i < 4; i++) rc_decref(w[i]);
    /* in a collection too */
    reset_cb();
    node *r[1];
    make_ring(node_type(), 1, 10, r);
    for (int i = 0; i < 3; i++) w[i] = new_weakref(r[0], wr_cb, 11 + i);
    rc_decref(r[0]);
    assert_int_equal(rc_gc_collect(-1), 1);
    assert_int_equal(g_ncb, 3);
    for (int i = 0; i < 3; i++) assert_ptr_equal(g_cb_refs[i], w[2 - i]);
    assert_int_equal(g_cb_saw_object, 0);
    for (int i = 0; i < 3; i++) rc_decref(w[i]);
}

static void test_callbacks_only_for_live_weakrefs(void **state) {
    (void)state;
    reset_cb();
    node *x = new_node(node_type(), 1);
    rc_weakref *w1 = new_weakref(x, wr_cb, 1);
    rc_weakref *w2 = new_weakref(x, wr_cb, 2);
    rc_weakref *w3 = new_weakref(x, wr_cb, 3);
    assert_int_equal(rc_weakref_count(x), 3);
    rc_decref(w2);
    assert_int_equal(rc_weakref_count(x), 2);
    rc_decref(x);
    assert_int_equal(g_ncb, 2);
    assert_int_equal(count_events(EV_WEAKCB, 2), 0);
    assert_int_equal(count_events(EV_WEAKCB, 1), 1);
    assert_int_equal(count_events(EV_WEAKCB, 3), 1);
    rc_decref(w1);
    rc_decref(w3);
}

static void test_weakref_dying_first_never_calls_back(void **state) {
    (void)state;
    reset_cb();
    node *x = new_node(node_type(), 1);
    rc_weakref *w = new_weakref(x, wr_cb, 1);
    assert_int_equal(rc_weakref_count(x), 1);
    rc_decref(w);
    assert_int_equal(rc_weakref_count(x), 0);
    rc_decref(x);
    assert_int_equal(g_ncb, 0);
    /* in a cycle too */
    node *r[2];
    make_ring(node_type(), 2, 10, r);
    w = new_weakref(r[0], wr_cb, 2);
    rc_decref(w);
    rc_decref(r[0]);
    rc_decref(r[1]);
    assert_int_equal(rc_gc_collect(-1), 2);
    assert_int_equal(g_ncb, 0);
}

/* A callback usually owns its weak reference and drops it. */
static void drop_ref_cb(rc_weakref *ref, void *arg) {
    log_event(EV_WEAKCB, (long)(intptr_t)arg);
    rc_decref(ref);
}

static void test_callback_may_drop_its_weakref(void **state) {
    (void)state;
    size_t base = gen_objects(-1);
    node *x = new_node(node_type(), 1);
    new_weakref(x, drop_ref_cb, 1); /* owned by the callback */
    new_weakref(x, drop_ref_cb, 2);
    assert_int_equal(gen_objects(-1), base + 3);
    rc_decref(x);
    assert_int_equal(count_events(EV_WEAKCB, 1), 1);
    assert_int_equal(count_events(EV_WEAKCB, 2), 1);
    assert_int_equal(gen_objects(-1), base); /* both weak references are gone */
    /* in a collection */
    node *r[2];
    make_ring(node_type(), 2, 10, r);
    new_weakref(r[1], drop_ref_cb, 3);
    rc_decref(r[0]);
    rc_decref(r[1]);
    assert_int_equal(rc_gc_collect(-1), 2);
    assert_int_equal(count_events(EV_WEAKCB, 3), 1);
    assert_int_equal(gen_objects(-1), base);
}

/* ---- weak references and cyclic garbage ---- */

static rc_weakref *g_wrs[3];
static int g_live_at_finalize, g_live_at_clear;

static int live_weakrefs(void) {
    int n = 0;
    for (int i = 0; i < 3; i++) {
        void *o = rc_weakref_get(g_wrs[i]);
        if (o) {
            n++;
            rc_decref(o);
        }
    }
    return n;
}

static void at_finalize(node *self) {
    (void)self;
    g_live_at_finalize += live_weakrefs();
}

static void at_clear(node *self) {
    (void)self;
    g_live_at_clear += live_weakrefs();
}

static void test_weakrefs_cleared_before_finalize_and_clear(void **state) {
    (void)state;
    reset_cb();
    g_live_at_finalize = g_live_at_clear = 0;
    node *r[3];
    make_ring(fin_type(), 3, 1, r);
    g_wrs[0] = new_weakref(r[0], NULL, 0);
    g_wrs[1] = new_weakref(r[1], wr_cb, 11);
    g_wrs[2] = new_weakref(r[2], wr_cb, 12);
    S()->on_finalize = at_finalize;
    S()->on_clear = at_clear;
    for (int i = 0; i < 3; i++) rc_decref(r[i]);
    assert_int_equal(rc_gc_collect(-1), 3);
    assert_int_equal(S()->finalized, 3);
    assert_int_equal(S()->cleared, 3);
    assert_int_equal(g_live_at_finalize, 0);
    assert_int_equal(g_live_at_clear, 0);
    /* the callbacks of the surviving weak references ran, before any
     * finalize or clear, and saw no object */
    assert_int_equal(g_ncb, 2);
    assert_int_equal(g_cb_saw_object, 0);
    int last_cb = last_event(EV_WEAKCB, -1);
    assert_true(last_cb < first_event(EV_FINALIZE, -1));
    assert_true(last_cb < first_event(EV_CLEAR, -1));
    for (int i = 0; i < 3; i++) {
        assert_null(rc_weakref_get(g_wrs[i]));
        rc_decref(g_wrs[i]);
    }
}

/* A weak reference that is itself part of the garbage gets no callback;
 * one held from outside does. */
static void test_weakref_in_garbage_gets_no_callback(void **state) {
    (void)state;
    reset_cb();
    node *r[2];
    make_ring(node_type(), 2, 1, r);
    rc_weakref *inside = new_weakref(r[1], wr_cb, 1);
    rc_weakref *outside = new_weakref(r[1], wr_cb, 2);
    rc_weakref *self = new_weakref(r[0], wr_cb, 3);
    set_ref(r[0], 1, inside); /* held only by the cycle */
    set_ref(r[0], 2, self);   /* a weak reference to its own holder */
    rc_decref(inside);
    rc_decref(self);
    rc_decref(r[0]);
    rc_decref(r[1]);
    assert_true(rc_gc_is_tracked(inside));
    assert_int_equal(rc_gc_collect(-1), 4); /* two nodes, two weak references */
    assert_int_equal(count_events(EV_WEAKCB, 1), 0);
    assert_int_equal(count_events(EV_WEAKCB, 3), 0);
    assert_int_equal(count_events(EV_WEAKCB, 2), 1);
    assert_int_equal(g_ncb, 1);
    assert_int_equal(S()->destroyed, 2);
    assert_null(rc_weakref_get(outside));
    rc_decref(outside);
}

/* CPython clears the weak references of unreachable objects before the
 * finalizers run: a resurrected cycle has lost them. A plain finalizer
 * that resurrects runs before they are cleared and keeps them. */
static void resurrect(node *self) { keep_ref(0, self); }

static void test_weakrefs_and_resurrection(void **state) {
    (void)state;
    reset_cb();
    S()->on_finalize = resurrect;
    node *r[1];
    make_ring(fin_type(), 1, 1, r);
    rc_weakref *w = new_weakref(r[0], wr_cb, 1);
    rc_decref(r[0]);
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_ptr_equal(S()->keep[0], r[0]);
    assert_null(rc_weakref_get(w));
    assert_int_equal(g_ncb, 1);
    assert_int_equal(rc_weakref_count(r[0]), 0);
    rc_decref(w);
    RC_CLEAR(S()->keep[0]);
    assert_int_equal(rc_gc_collect(-1), 1);
    /* at count death */
    reset_cb();
    node *x = new_node(fin_type(), 2);
    w = new_weakref(x, wr_cb, 2);
    rc_decref(x);
    assert_ptr_equal(S()->keep[0], x);
    node *g = rc_weakref_get(w);
    assert_ptr_equal(g, x);
    rc_decref(g);
    assert_int_equal(g_ncb, 0);
    S()->on_finalize = NULL;
    RC_CLEAR(S()->keep[0]);
    assert_null(rc_weakref_get(w));
    assert_int_equal(g_ncb, 1);
    rc_decref(w);
}

/* A weak reference made by the object's own finalizer (which does not
 * resurrect it) is cleared, and calls back, when the object dies. */
static rc_weakref *g_made_in_finalizer;

static void weakref_to_self(node *self) {
    rc_weakref *w = rc_weakref_new(self, wr_cb, (void *)(intptr_t)(100 + self->id));
    if (w) g_made_in_finalizer = w;
}

static void test_weakref_made_in_finalizer(void **state) {
    (void)state;
    reset_cb();
    S()->on_finalize = weakref_to_self;
    g_made_in_finalizer = NULL;
    node *x = new_node(fin_type(), 1);
    rc_decref(x);
    assert_non_null(g_made_in_finalizer);
    assert_int_equal(S()->destroyed, 1);
    assert_int_equal(count_events(EV_WEAKCB, 101), 1);
    assert_null(rc_weakref_get(g_made_in_finalizer));
    rc_decref(g_made_in_finalizer);
    /* in a collection */
    g_made_in_finalizer = NULL;
    make_garbage_ring(fin_type(), 1, 2);
    assert_int_equal(rc_gc_collect(-1), 1);
    assert_non_null(g_made_in_finalizer);
    assert_int_equal(S()->destroyed, 2);
    assert_int_equal(count_events(EV_WEAKCB, 102), 1);
    assert_null(rc_weakref_get(g_made_in_finalizer));
    assert_int_equal(g_cb_saw_object, 0);
    rc_decref(g_made_in_finalizer);
}

static size_t g_collect_in_cb[4];
static int g_ncollect_in_cb;

static void collect_cb(rc_weakref *ref, void *arg) {
    (void)ref, (void)arg;
    if (g_ncollect_in_cb < 4) g_collect_in_cb[g_ncollect_in_cb] = rc_gc_collect(-1);
    g_ncollect_in_cb++;
}

static void test_collect_in_weakref_callback_during_collection(void **state) {
    (void)state;
    g_ncollect_in_cb = 0;
    gc_cb_add(record_gc_cb, NULL);
    node *r[2];
    make_ring(node_type(), 2, 1, r);
    rc_weakref *w = new_weakref(r[0], collect_cb, 0);
    rc_decref(r[0]);
    rc_decref(r[1]);
    make_garbage_ring(node_type(), 1, 10);
    assert_int_equal(rc_gc_collect(-1), 3);
    assert_int_equal(g_ncollect_in_cb, 1);
    assert_int_equal(g_collect_in_cb[0], 0);
    assert_int_equal(S()->ngc, 2);
    rc_decref(w);
}

/* ---- sharing, counting, creation ---- */

static void test_callbackless_weakrefs_shared(void **state) {
    (void)state;
    node *x = new_node(node_type(), 1);
    rc_weakref *a = new_weakref(x, NULL, 0);
    rc_weakref *b = new_weakref(x, NULL, 0);
    assert_ptr_equal(a, b);
    assert_int_equal(rc_refcount(a), 2);
    assert_int_equal(rc_weakref_count(x), 1);
    rc_weakref *c = new_weakref(x, wr_cb, 1);
    rc_weakref *d = new_weakref(x, wr_cb, 1);
    assert_ptr_not_equal(c, a);
    assert_ptr_not_equal(d, c); /* with a callback: never shared */
    assert_int_equal(rc_weakref_count(x), 3);
    rc_weakref *e = new_weakref(x, NULL, 0);
    assert_ptr_equal(e, a);
    assert_int_equal(rc_refcount(a), 3);
    rc_decref(a);
    rc_decref(b);
    rc_decref(e);
    assert_int_equal(rc_weakref_count(x), 2);
    rc_decref(c);
    rc_decref(d);
    assert_int_equal(rc_weakref_count(x), 0);
    rc_decref(x);
}

static void test_weakref_count(void **state) {
    (void)state;
    reset_cb();
    node *x = new_node(node_type(), 1);
    assert_int_equal(rc_weakref_count(x), 0);
    assert_int_equal(rc_weakref_count(NULL), 0);
    rc_weakref *w[5];
    for (int i = 0; i < 5; i++) w[i] = new_weakref(x, wr_cb, i);
    assert_int_equal(rc_weakref_count(x), 5);
    node *y = new_node(node_type(), 2);
    rc_weakref *wy = new_weakref(y, NULL, 0);
    assert_int_equal(rc_weakref_count(y), 1);
    assert_int_equal(rc_weakref_count(x), 5);
    rc_decref(w[0]);
    rc_decref(w[4]);
    assert_int_equal(rc_weakref_count(x), 3);
    rc_decref(x);
    for (int i = 1; i < 4; i++) rc_decref(w[i]);
    assert_int_equal(g_ncb, 3);
    rc_decref(wy);
    assert_int_equal(rc_weakref_count(y), 0);
    rc_decref(y);
}

static void test_weakref_new_null_fails(void **state) {
    (void)state;
    clear_error();
    assert_null(rc_weakref_new(NULL, NULL, NULL));
    assert_non_null(strstr(rc_last_error(), "rc_weakref_new"));
    clear_error();
    assert_null(rc_weakref_new(NULL, wr_cb, (void *)1));
    assert_true(rc_last_error()[0] != '\0');
    assert_count(0, 0, 0); /* nothing was made */
}

static void test_weakref_is_tracked_object(void **state) {
    (void)state;
    node *x = new_node(holder_type(), 1);
    size_t g0 = gen_objects(0);
    rc_weakref *w = new_weakref(x, wr_cb, 1);
    assert_true(rc_gc_is_tracked(w));
    assert_int_equal(in_generation(w, 0), 1);
    assert_int_equal(gen_objects(0), g0 + 1);
    assert_int_equal(rc_refcount(w), 1);
    assert_non_null(rc_type_of(w));
    assert_true(rc_sizeof(w) > 16);
    rc_incref(w);
    rc_decref(w);
    assert_int_equal(in_generation(w, 0), 1);
    rc_decref(w); /* released */
    assert_int_equal(gen_objects(0), g0);
    assert_int_equal(rc_weakref_count(x), 0);
    reset_cb();
    rc_decref(x);
    assert_int_equal(g_ncb, 0);
}

/* ---- rc_finalize_on_death ---- */

static int g_fod_runs[8];
static size_t g_fod_destroyed_at[8];

static void fod_fn(void *arg) {
    intptr_t i = (intptr_t)arg;
    log_event(EV_FOD, (long)i);
    if (i >= 0 && i < 8) {
        g_fod_runs[i]++;
        g_fod_destroyed_at[i] = S()->destroyed;
    }
}

static void test_finalize_on_death_at_refcount_death(void **state) {
    (void)state;
    memset(g_fod_runs, 0, sizeof g_fod_runs);
    node *x = new_node(node_type(), 1);
    assert_int_equal(rc_finalize_on_death(x, fod_fn, (void *)1), 0);
    assert_int_equal(rc_finalize_on_death(x, fod_fn, (void *)2), 0);
    assert_int_equal(rc_refcount(x), 1); /* does not keep it alive */
    assert_int_equal(g_fod_runs[1], 0);
    rc_decref(x);
    assert_int_equal(S()->destroyed, 1);
    assert_int_equal(g_fod_runs[1], 1);
    assert_int_equal(g_fod_runs[2], 1);
    assert_int_equal(g_fod_destroyed_at[1], 1); /* after the object died */
    rc_gc_collect(-1);
    assert_int_equal(g_fod_runs[1], 1);
    assert_int_equal(g_fod_runs[2], 1);
}

static void test_finalize_on_death_in_cycle(void **state) {
    (void)state;
    memset(g_fod_runs, 0, sizeof g_fod_runs);
    node *r[2];
    make_ring(node_type(), 2, 1, r);
    assert_int_equal(rc_finalize_on_death(r[0], fod_fn, (void *)3), 0);
    rc_decref(r[0]);
    rc_decref(r[1]);
    assert_int_equal(g_fod_runs[3], 0);
    assert_int_equal(rc_gc_collect(-1), 2); /* the registration does not keep it */
    assert_int_equal(g_fod_runs[3], 1);
    assert_int_equal(S()->destroyed, 2);
    assert_int_equal(rc_gc_collect(-1), 0);
    assert_int_equal(g_fod_runs[3], 1);
}

static void test_finalize_on_death_bad_arguments(void **state) {
    (void)state;
    node *x = new_node(node_type(), 1);
    clear_error();
    assert_true(rc_finalize_on_death(NULL, fod_fn, NULL) < 0);
    char e1[256];
    snprintf(e1, sizeof e1, "%s", rc_last_error());
    assert_true(e1[0] != '\0');
    clear_error();
    assert_true(rc_finalize_on_death(x, NULL, NULL) < 0);
    assert_true(rc_last_error()[0] != '\0');
    assert_string_not_equal(e1, rc_last_error()); /* different problems */
    assert_int_equal(rc_weakref_count(x), 0);
    rc_decref(x);
}

/* In a child: rc_shutdown runs what is pending, once, after its final
 * collection, and the objects it ran for stay alive. */
static int g_child_runs[4];

static void child_fod(void *arg) { g_child_runs[(intptr_t)arg]++; }

static int shutdown_child(void) {
    node *alive = rc_new(node_type());
    node *dead = rc_new(node_type());
    node *cyc = rc_new(node_type());
    if (!alive || !dead || !cyc) return 10;
    RC_SET(cyc->ref[0], cyc);
    if (rc_finalize_on_death(alive, child_fod, (void *)0) != 0) return 11;
    if (rc_finalize_on_death(dead, child_fod, (void *)1) != 0) return 11;
    if (rc_finalize_on_death(cyc, child_fod, (void *)2) != 0) return 11;
    rc_decref(dead);
    rc_decref(cyc);
    if (g_child_runs[0] != 0 || g_child_runs[1] != 1 || g_child_runs[2] != 0) return 12;
    size_t destroyed = S()->destroyed;
    rc_shutdown();
    if (g_child_runs[0] != 1) return 13; /* still alive: run at shutdown */
    if (g_child_runs[1] != 1) return 14; /* already ran: not again */
    if (g_child_runs[2] != 1) return 15; /* freed by the final collection */
    if (S()->destroyed != destroyed + 1) return 16;
    if (alive->id != 0 || rc_refcount(alive) != 1) return 17;
    rc_shutdown(); /* a second call does nothing */
    if (g_child_runs[0] != 1 || g_child_runs[1] != 1 || g_child_runs[2] != 1) return 18;
    rc_decref(alive);
    if (g_child_runs[0] != 1) return 19;
    if (S()->destroyed != destroyed + 2) return 20;
    return 0;
}

static void test_finalize_on_death_at_shutdown(void **state) {
    (void)state;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(shutdown_child());
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0) fail_msg("child failed check %d", WEXITSTATUS(status));
}

static int g_exit_pipe = -1;

static void write_at_exit(void *arg) {
    char c = (char)(intptr_t)arg;
    if (write(g_exit_pipe, &c, 1) != 1) _exit(3);
}

/* rc_shutdown also runs at exit. */
static void test_finalize_on_death_at_exit(void **state) {
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        g_exit_pipe = p[1];
        node *alive = rc_new(node_type());
        node *gone = rc_new(node_type());
        if (!alive || !gone) _exit(2);
        if (rc_finalize_on_death(alive, write_at_exit, (void *)'A') != 0) _exit(2);
        if (rc_finalize_on_death(gone, write_at_exit, (void *)'G') != 0) _exit(2);
        rc_decref(gone);
        exit(0);
    }
    close(p[1]);
    char buf[16];
    size_t n = 0;
    for (;;) {
        ssize_t r = read(p[0], buf + n, sizeof buf - 1 - n);
        if (r <= 0) break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    close(p[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_string_equal(buf, "GA");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        OBJ_TEST(test_get_returns_new_reference_while_alive),
        OBJ_TEST(test_get_null_after_cycle_collected),
        OBJ_TEST(test_any_object_can_be_weakly_referenced),
        OBJ_TEST(test_callback_runs_after_object_is_gone),
        OBJ_TEST(test_weakrefs_cleared_before_destroy),
        OBJ_TEST(test_get_null_for_object_released_inside_another_release),
        OBJ_TEST(test_callbacks_run_newest_first),
        OBJ_TEST(test_callbacks_only_for_live_weakrefs),
        OBJ_TEST(test_weakref_dying_first_never_calls_back),
        OBJ_TEST(test_callback_may_drop_its_weakref),
        OBJ_TEST(test_weakrefs_cleared_before_finalize_and_clear),
        OBJ_TEST(test_weakref_in_garbage_gets_no_callback),
        OBJ_TEST(test_weakrefs_and_resurrection),
        OBJ_TEST(test_weakref_made_in_finalizer),
        OBJ_TEST(test_collect_in_weakref_callback_during_collection),
        OBJ_TEST(test_callbackless_weakrefs_shared),
        OBJ_TEST(test_weakref_count),
        OBJ_TEST(test_weakref_new_null_fails),
        OBJ_TEST(test_weakref_is_tracked_object),
        OBJ_TEST(test_finalize_on_death_at_refcount_death),
        OBJ_TEST(test_finalize_on_death_in_cycle),
        OBJ_TEST(test_finalize_on_death_bad_arguments),
        OBJ_TEST(test_finalize_on_death_at_shutdown),
        OBJ_TEST(test_finalize_on_death_at_exit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
