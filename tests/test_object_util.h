/*
 * test_object_util.h — helpers shared by the single-threaded object,
 * collector and weak-reference tests (test_object.c, test_gc.c,
 * test_gc_generations.c, test_weakref.c, test_finalize.c, test_gc_big.c).
 *
 *   node           a 32-byte payload holding up to NODE_REFS references and
 *                  an id; several rc_types share it:
 *     node_type      traverse + clear + destroy        (tracked, collectable)
 *     fin_type       node_type + finalize              (PEP 442 finalizer)
 *     noclear_type   traverse + destroy, no clear      (uncollectable cycles)
 *     holder_type    destroy only, no traverse         (untracked, yet holds
 *                                                       references)
 *     finholder_type holder_type + finalize            (untracked finalizer)
 *     big_type       node_type in a 300 KB payload     (a large object)
 *   Every clear, finalize and destroy is counted and logged as an event
 *   (kind, node id) and may call a per-test hook.
 *   objects_reset  puts the calling thread's collector back to a known
 *                  state (used as cmocka setup and teardown): hooks off,
 *                  test callbacks removed, debug flags 0, nothing frozen,
 *                  thresholds 700/10/10, enabled, garbage list empty, two
 *                  full collections, counters zeroed.
 *   gc callbacks   record_gc_cb logs every START/STOP with its info and arg;
 *                  gc_cb_add registers a pair so that objects_reset removes
 *                  it even when a test fails half-way.
 *   visit_log      a visitor that remembers what it saw and can stop early.
 *   messages       capture_begin/capture_end route library messages into a
 *                  static buffer (the handler must not allocate from reclaim).
 *   errors         clear_error() empties rc_last_error, so a test can see
 *                  that a call set it.
 *
 * Everything is static inline and state lives in function-local statics,
 * so a file that uses only part of it compiles without warnings.
 */
#ifndef RC_TEST_OBJECT_UTIL_H
#define RC_TEST_OBJECT_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "reclaim.h"
#include "test_capture.h"
#include "internal/runtime.h" /* _rc_set_error, to clear rc_last_error */

/* ---- the node payload ---- */

#define NODE_REFS 3

typedef struct node {
    void *ref[NODE_REFS];
    long id;
} node;

/* ---- events ---- */

enum {
    EV_FINALIZE = 1,
    EV_CLEAR,
    EV_DESTROY,
    EV_WEAKCB,   /* a weak-reference callback (id: its arg) */
    EV_FOD,      /* an rc_finalize_on_death function (id: its arg) */
    EV_GC_START,
    EV_GC_STOP,
};

#define EVENTS_MAX 512
#define KEEP_MAX 8
#define GC_CB_MAX 32

typedef struct event {
    int kind;
    long id;
} event;

typedef struct gc_cb_record {
    rc_gc_phase phase;
    rc_gc_info info;
    void *arg;
} gc_cb_record;

typedef struct obj_state {
    size_t finalized, cleared, destroyed; /* totals, also past EVENTS_MAX */
    int nevents;
    event ev[EVENTS_MAX];
    /* per-test hooks, called after the event is logged (before the
     * node's own work) */
    void (*on_finalize)(node *self);
    void (*on_clear)(node *self);
    void (*on_destroy)(node *self);
    /* strong references a test parks here (resurrection targets); dropped
     * by objects_reset */
    void *keep[KEEP_MAX];
    /* gc callback log (record_gc_cb) */
    int ngc;
    gc_cb_record gc[64];
    /* pairs registered with gc_cb_add, removed by objects_reset */
    int ncbs;
    rc_gc_callback cb_fn[GC_CB_MAX];
    void *cb_arg[GC_CB_MAX];
} obj_state;

static inline obj_state *S(void) {
    static obj_state s;
    return &s;
}

static inline void log_event(int kind, long id) {
    obj_state *s = S();
    if (s->nevents < EVENTS_MAX) s->ev[s->nevents++] = (event){kind, id};
}

/* Events of a kind (and id, unless id is -1). */
static inline int count_events(int kind, long id) {
    obj_state *s = S();
    int n = 0;
    for (int i = 0; i < s->nevents; i++)
        if (s->ev[i].kind == kind && (id == -1 || s->ev[i].id == id)) n++;
    return n;
}

/* Index of the first / last event of a kind (and id unless -1), or -1. */
static inline int first_event(int kind, long id) {
    obj_state *s = S();
    for (int i = 0; i < s->nevents; i++)
        if (s->ev[i].kind == kind && (id == -1 || s->ev[i].id == id)) return i;
    return -1;
}

static inline int last_event(int kind, long id) {
    obj_state *s = S();
    for (int i = s->nevents - 1; i >= 0; i--)
        if (s->ev[i].kind == kind && (id == -1 || s->ev[i].id == id)) return i;
    return -1;
}

/* ---- the node types ---- */

static inline int node_traverse(void *self, rc_visit_fn visit, void *arg) {
    node *n = self;
    for (int i = 0; i < NODE_REFS; i++) {
        if (n->ref[i]) {
            int r = visit(n->ref[i], arg);
            if (r) return r;
        }
    }
    return 0;
}

static inline void node_clear(void *self) {
    node *n = self;
    S()->cleared++;
    log_event(EV_CLEAR, n->id);
    if (S()->on_clear) S()->on_clear(n);
    for (int i = 0; i < NODE_REFS; i++) RC_CLEAR(n->ref[i]);
}

static inline void node_finalize(void *self) {
    node *n = self;
    S()->finalized++;
    log_event(EV_FINALIZE, n->id);
    if (S()->on_finalize) S()->on_finalize(n);
}

static inline void node_destroy(void *self) {
    node *n = self;
    S()->destroyed++;
    log_event(EV_DESTROY, n->id);
    if (S()->on_destroy) S()->on_destroy(n);
    for (int i = 0; i < NODE_REFS; i++) RC_CLEAR(n->ref[i]);
}

static inline const rc_type *node_type(void) {
    static const rc_type t = {
        .name = "node", .size = sizeof(node), .traverse = node_traverse, .clear = node_clear,
        .destroy = node_destroy,
    };
    return &t;
}

static inline const rc_type *fin_type(void) {
    static const rc_type t = {
        .name = "finode", .size = sizeof(node), .traverse = node_traverse, .clear = node_clear,
        .finalize = node_finalize, .destroy = node_destroy,
    };
    return &t;
}

static inline const rc_type *noclear_type(void) {
    static const rc_type t = {
        .name = "noclear", .size = sizeof(node), .traverse = node_traverse, .destroy = node_destroy,
    };
    return &t;
}

static inline const rc_type *holder_type(void) {
    static const rc_type t = {.name = "holder", .size = sizeof(node), .destroy = node_destroy};
    return &t;
}

static inline const rc_type *finholder_type(void) {
    static const rc_type t = {
        .name = "finholder", .size = sizeof(node), .finalize = node_finalize, .destroy = node_destroy,
    };
    return &t;
}

/* A node too big for the pools: mapped on its own (a large object). */
typedef struct big_node {
    node n;
    char payload[300000];
} big_node;

static inline const rc_type *big_type(void) {
    static const rc_type t = {
        .name = "big", .size = sizeof(big_node), .traverse = node_traverse, .clear = node_clear,
        .destroy = node_destroy,
    };
    return &t;
}

/* A new node of type t with the given id (a new reference). */
static inline node *new_node(const rc_type *t, long id) {
    node *n = rc_new(t);
    assert_non_null(n);
    n->id = id;
    return n;
}

/* a->ref[slot] = b, with a new reference to b (dropping the old one). */
static inline void set_ref(node *a, int slot, void *b) { RC_SET(a->ref[slot], b); }

/* n nodes of type t, ids id0.., each ref[0] pointing to the next and the
 * last to the first (n == 1: a self-cycle). The caller owns one reference
 * to each (out[i]). */
static inline void make_ring(const rc_type *t, int n, long id0, node **out) {
    for (int i = 0; i < n; i++) out[i] = new_node(t, id0 + i);
    for (int i = 0; i < n; i++) set_ref(out[i], 0, out[(i + 1) % n]);
}

/* make_ring, then drop the caller's references: n objects of cyclic
 * garbage, alive until a collection. */
static inline void make_garbage_ring(const rc_type *t, int n, long id0) {
    node *v[64];
    assert_true(n <= 64);
    make_ring(t, n, id0, v);
    for (int i = 0; i < n; i++) rc_decref(v[i]);
}

/* Park a strong reference to obj in S()->keep[i] (resurrection). */
static inline void keep_ref(int i, void *obj) { RC_SET(S()->keep[i], obj); }

/* ---- gc callbacks ---- */

static inline void record_gc_cb(rc_gc_phase phase, const rc_gc_info *info, void *arg) {
    obj_state *s = S();
    if (s->ngc < (int)(sizeof s->gc / sizeof s->gc[0])) s->gc[s->ngc++] = (gc_cb_record){phase, *info, arg};
    log_event(phase == RC_GC_START ? EV_GC_START : EV_GC_STOP, (long)(intptr_t)arg);
}

/* rc_gc_callback_add, remembered so objects_reset removes it. */
static inline void gc_cb_add(rc_gc_callback fn, void *arg) {
    obj_state *s = S();
    assert_true(s->ncbs < GC_CB_MAX);
    assert_int_equal(rc_gc_callback_add(fn, arg), 0);
    s->cb_fn[s->ncbs] = fn;
    s->cb_arg[s->ncbs] = arg;
    s->ncbs++;
}

/* rc_gc_callback_remove of a pair added with gc_cb_add; returns its result. */
static inline int gc_cb_remove(rc_gc_callback fn, void *arg) {
    obj_state *s = S();
    int r = rc_gc_callback_remove(fn, arg);
    if (r == 0) {
        for (int i = 0; i < s->ncbs; i++)
            if (s->cb_fn[i] == fn && s->cb_arg[i] == arg) {
                memmove(&s->cb_fn[i], &s->cb_fn[i + 1], (size_t)(s->ncbs - i - 1) * sizeof s->cb_fn[0]);
                memmove(&s->cb_arg[i], &s->cb_arg[i + 1], (size_t)(s->ncbs - i - 1) * sizeof s->cb_arg[0]);
                s->ncbs--;
                break;
            }
    }
    return r;
}

/* ---- visitors ---- */

#define VISIT_MAX 256

typedef struct visit_log {
    size_t n;             /* objects seen */
    size_t stop_after;    /* return nonzero once n reaches this (0: never) */
    void *items[VISIT_MAX];
} visit_log;

static inline int visit_record(void *obj, void *arg) {
    visit_log *v = arg;
    if (v->n < VISIT_MAX) v->items[v->n] = obj;
    v->n++;
    return v->stop_after && v->n >= v->stop_after;
}

static inline bool visit_saw(const visit_log *v, const void *obj) {
    for (size_t i = 0; i < v->n && i < VISIT_MAX; i++)
        if (v->items[i] == obj) return true;
    return false;
}

typedef struct find_ctx {
    const void *target;
    size_t seen; /* how often target was visited */
} find_ctx;

static inline int visit_find(void *obj, void *arg) {
    find_ctx *f = arg;
    if (obj == f->target) f->seen++;
    return 0;
}

/* How often rc_gc_get_objects(generation) visits obj (0 or 1). */
static inline size_t in_generation(const void *obj, int generation) {
    find_ctx f = {obj, 0};
    rc_gc_get_objects(generation, visit_find, &f);
    return f.seen;
}

/* The generation rc_gc_get_objects places obj in: 0, 1, 2, or -1 (none). */
static inline int generation_of(const void *obj) {
    for (int g = 0; g < 3; g++)
        if (in_generation(obj, g)) return g;
    return -1;
}

/* ---- messages: test_capture.h ---- */

/* ---- errors ---- */

static inline void clear_error(void) { _rc_set_error("%s", ""); }

/* ---- counts and stats ---- */

static inline size_t gen_objects(int generation) { return rc_gc_get_objects(generation, NULL, NULL); }

static inline void assert_count(size_t c0, size_t c1, size_t c2) {
    size_t c[3];
    rc_gc_get_count(c);
    if (c[0] != c0 || c[1] != c1 || c[2] != c2)
        fail_msg("rc_gc_get_count: {%zu, %zu, %zu}, expected {%zu, %zu, %zu}", c[0], c[1], c[2], c0, c1, c2);
}

/* ---- reset ---- */

static inline void objects_reset(void) {
    obj_state *s = S();
    s->on_finalize = NULL;
    s->on_clear = NULL;
    s->on_destroy = NULL;
    rc_set_message_handler(NULL, NULL);
    while (s->ncbs > 0) {
        s->ncbs--;
        rc_gc_callback_remove(s->cb_fn[s->ncbs], s->cb_arg[s->ncbs]);
    }
    for (int i = 0; i < KEEP_MAX; i++) RC_CLEAR(s->keep[i]);
    rc_gc_set_debug(0);
    rc_gc_unfreeze();
    rc_gc_set_threshold(700, 10, 10);
    rc_gc_enable();
    rc_gc_garbage_clear();
    rc_gc_collect(-1);
    rc_gc_garbage_clear();
    rc_gc_collect(-1);
    s->finalized = s->cleared = s->destroyed = 0;
    s->nevents = 0;
    s->ngc = 0;
    clear_error();
}

static inline int objects_setup(void **state) {
    (void)state;
    objects_reset();
    return 0;
}

static inline int objects_teardown(void **state) {
    (void)state;
    objects_reset();
    return 0;
}

#define OBJ_TEST(f) cmocka_unit_test_setup_teardown(f, objects_setup, objects_teardown)

#endif
