/*
 * objdebug_victim.c — a program of deliberately wrong object code, one bug
 * per subcommand, for test_object_debug.c. In a build with debug checks
 * (RECLAIM_DEBUG_CHECKS >= 1, so RC_OBJECT_CHECKS is 1 and rc_incref /
 * rc_decref are checked) each bug must be reported on stderr, naming the
 * object's address and its type, and abort.
 *
 * Before the bug, each subcommand prints the objects involved on stdout as
 * "object <address> type <name>" (or "pointer <address>" for a buffer that
 * is no object, and "holder <address> type <name>" for the object whose
 * traverse misbehaves) and flushes, so the test can look
 * for the same address in the report. If the bug goes unnoticed the program
 * prints "survived" and exits 0.
 *
 *   double_decref [large|empty]  decref an object twice after its last
 *                          reference (it was freed); "large": an object
 *                          mapped on its own (payload above the pool
 *                          classes); "empty": a type with a payload of 0
 *                          bytes
 *   incref_freed           incref an object after it was freed
 *   decref_in_destroy      destroy decrefs the object being released
 *   foreign_incref         a second thread increfs an object of the main
 *                          thread, which is alive (joining it)
 *   foreign_decref         the main thread decrefs an object made by a
 *                          thread that is still alive (waiting)
 *   traverse_dangling      a traverse visits a pointer to a freed object
 *   traverse_buffer rc|libc  a traverse visits a buffer from rc_malloc or
 *                          from the C library's malloc
 *   control                correct work only (objects, cycles, weak
 *                          references, threads, orphans): exits 0, prints
 *                          "ok", silent on stderr
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reclaim.h"

/* {==== types ==== */

typedef struct vnode {
    void *ref;      /* a reference (or, for the buggy holders, a bare pointer) */
    void *other;
    uint64_t value;
    uint64_t pad;   /* a 32-byte payload */
} vnode;

static int vnode_traverse(void *self, rc_visit_fn visit, void *arg) {
    vnode *n = self;
    int r = visit(n->ref, arg);
    return r ? r : visit(n->other, arg);
}

static void vnode_clear(void *self) {
    vnode *n = self;
    RC_CLEAR(n->ref);
    RC_CLEAR(n->other);
}

static size_t vnodes_destroyed;

static void vnode_destroy(void *self) {
    vnode_clear(self);
    vnodes_destroyed++;
}

static const rc_type vnode_type = {
    .name = "objdebug_node",
    .size = sizeof(vnode),
    .traverse = vnode_traverse,
    .clear = vnode_clear,
    .destroy = vnode_destroy,
};

/* An object with no references (untracked). */
static const rc_type leaf_type = {
    .name = "objdebug_leaf",
    .size = sizeof(vnode),
};

/* No payload at all: the object is its 16-byte header. */
static const rc_type empty_type = {
    .name = "objdebug_empty",
    .size = 0,
};

/* Large: the payload is above the pooled sizes (256 KiB). */
static const rc_type big_type = {
    .name = "objdebug_big",
    .size = (size_t)300 << 10,
};

/* A holder whose `ref` is a bare pointer it does not own: its traverse
 * visits it, its destroy does not drop it. */
static int holder_traverse(void *self, rc_visit_fn visit, void *arg) {
    vnode *n = self;
    return visit(n->ref, arg);
}

static const rc_type holder_type = {
    .name = "objdebug_holder",
    .size = sizeof(vnode),
    .traverse = holder_traverse,
};

/* destroy drops a reference to the object being released. */
static void selfish_destroy(void *self) { rc_decref(self); }

static const rc_type selfish_type = {
    .name = "objdebug_selfish",
    .size = sizeof(vnode),
    .destroy = selfish_destroy,
};
/* }==== */

/* {==== helpers ==== */

static void *must_new(const rc_type *t) {
    void *p = rc_new(t);
    if (!p) {
        printf("rc_new(%s) failed: %s\n", t->name, rc_last_error());
        exit(2);
    }
    return p;
}

static void show(const char *what, const void *obj, const rc_type *t) {
    printf("%s %p type %s\n", what, obj, t->name);
    fflush(stdout);
}

static int survived(void) {
    printf("survived\n");
    fflush(stdout);
    return 0;
}
/* }==== */

/* {==== (a) counts already at zero ==== */

static int do_double_decref(const char *arg) {
    const rc_type *t = !arg ? &leaf_type : strcmp(arg, "large") == 0 ? &big_type : &empty_type;
    void *keep = must_new(t); /* a neighbour, so the pool stays in use */
    void *obj = must_new(t);
    show("object", obj, t);
    rc_decref(obj); /* the last reference: freed */
    rc_decref(obj); /* the bug */
    rc_decref(keep);
    return survived();
}

static int do_incref_freed(void) {
    void *keep = must_new(&leaf_type);
    void *obj = must_new(&leaf_type);
    show("object", obj, &leaf_type);
    rc_decref(obj);
    rc_incref(obj); /* the bug */
    rc_decref(keep);
    return survived();
}

static int do_decref_in_destroy(void) {
    void *obj = must_new(&selfish_type);
    show("object", obj, &selfish_type);
    rc_decref(obj); /* its destroy decrefs it again */
    return survived();
}
/* }==== */

/* {==== (b) another thread's object ==== */

static void *foreign_incref_thread(void *arg) {
    void *mine = must_new(&leaf_type); /* this thread has objects of its own */
    rc_incref(arg); /* the bug: arg belongs to the main thread */
    rc_decref(arg);
    rc_decref(mine);
    return NULL;
}

static int do_foreign_incref(void) {
    void *obj = must_new(&vnode_type);
    show("object", obj, &vnode_type);
    pthread_t t;
    if (pthread_create(&t, NULL, foreign_incref_thread, obj) != 0) return 2;
    pthread_join(t, NULL);
    rc_decref(obj);
    return survived();
}

/* The owner thread makes an object, hands it over and waits (alive) until
 * the main thread is done with it. */
static pthread_mutex_t owner_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t owner_cond = PTHREAD_COND_INITIALIZER;
static void *owner_obj;
static int owner_release;

static void *owner_thread(void *arg) {
    (void)arg;
    void *obj = must_new(&vnode_type);
    pthread_mutex_lock(&owner_lock);
    owner_obj = obj;
    pthread_cond_broadcast(&owner_cond);
    while (!owner_release) pthread_cond_wait(&owner_cond, &owner_lock);
    pthread_mutex_unlock(&owner_lock);
    rc_decref(obj);
    return NULL;
}

static int do_foreign_decref(void) {
    void *mine = must_new(&leaf_type); /* the main thread has a world too */
    pthread_t t;
    if (pthread_create(&t, NULL, owner_thread, NULL) != 0) return 2;
    pthread_mutex_lock(&owner_lock);
    while (!owner_obj) pthread_cond_wait(&owner_cond, &owner_lock);
    void *obj = owner_obj;
    pthread_mutex_unlock(&owner_lock);
    show("object", obj, &vnode_type);
    rc_incref(obj); /* the bug: the owner is alive */
    rc_decref(obj);
    pthread_mutex_lock(&owner_lock);
    owner_release = 1;
    pthread_cond_broadcast(&owner_cond);
    pthread_mutex_unlock(&owner_lock);
    pthread_join(t, NULL);
    rc_decref(mine);
    return survived();
}
/* }==== */

/* {==== (c) traverse visits what is not a live object ==== */

static int do_traverse_dangling(void) {
    void *keep = must_new(&leaf_type);
    vnode *holder = must_new(&holder_type);
    void *victim = must_new(&leaf_type);
    holder->ref = victim; /* a bare pointer: no reference taken */
    show("holder", holder, &holder_type);
    show("object", victim, &leaf_type);
    rc_decref(victim); /* freed; holder->ref dangles */
    rc_gc_collect(-1);
    holder->ref = NULL;
    rc_decref(holder);
    rc_decref(keep);
    return survived();
}

static int do_traverse_buffer(const char *how) {
    bool libc = how && strcmp(how, "libc") == 0;
    vnode *holder = must_new(&holder_type);
    void *buf = libc ? malloc(64) : rc_malloc(64);
    if (!buf) return 2;
    memset(buf, 0, 64);
    holder->ref = buf;
    show("holder", holder, &holder_type);
    printf("pointer %p\n", buf);
    fflush(stdout);
    rc_gc_collect(-1);
    holder->ref = NULL;
    rc_decref(holder);
    if (libc) free(buf);
    else rc_free(buf);
    return survived();
}
/* }==== */

/* {==== control: everything right ==== */

static size_t weak_callbacks, fod_calls;

static void on_weak(rc_weakref *ref, void *arg) {
    (void)ref;
    (void)arg;
    weak_callbacks++;
}

static void on_death(void *arg) {
    (void)arg;
    fod_calls++;
}

static void *control_thread(void *arg) {
    void **out = arg;
    /* a garbage cycle and a live chain, left behind at exit */
    vnode *a = must_new(&vnode_type), *b = must_new(&vnode_type);
    RC_SET(a->ref, b);
    RC_SET(b->ref, a);
    rc_decref(a);
    rc_decref(b);
    vnode *head = NULL;
    for (int i = 0; i < 100; i++) {
        vnode *n = must_new(&vnode_type);
        n->value = (uint64_t)i;
        n->ref = head; /* steals head */
        head = n;
    }
    *out = head; /* handed to the main thread */
    return NULL;
}

static int fail(const char *what) {
    printf("FAIL %s\n", what);
    return 1;
}

static int do_control(void) {
    size_t before = vnodes_destroyed;
    /* a chain released by counting, with RC_SET and RC_CLEAR */
    vnode *head = NULL;
    for (int i = 0; i < 1000; i++) {
        vnode *n = must_new(&vnode_type);
        RC_SET(n->ref, head);
        rc_decref(head);
        head = n;
    }
    rc_incref(head);
    rc_decref(head);
    RC_CLEAR(head);
    if (vnodes_destroyed - before != 1000) return fail("chain");

    /* cycles freed by the collector, weak references with callbacks */
    rc_weakref *w[10];
    for (int i = 0; i < 10; i++) {
        vnode *a = must_new(&vnode_type), *b = must_new(&vnode_type);
        RC_SET(a->ref, b);
        RC_SET(b->other, a);
        w[i] = rc_weakref_new(a, on_weak, NULL);
        if (!w[i]) return fail("rc_weakref_new");
        void *got = rc_weakref_get(w[i]);
        if (got != a) return fail("rc_weakref_get");
        rc_decref(got);
        rc_decref(a);
        rc_decref(b);
    }
    vnode *lone = must_new(&vnode_type);
    if (rc_finalize_on_death(lone, on_death, NULL) != 0) return fail("rc_finalize_on_death");
    before = vnodes_destroyed;
    rc_gc_collect(-1);
    if (vnodes_destroyed - before != 20) return fail("cycles");
    if (weak_callbacks != 10) return fail("weak callbacks");
    for (int i = 0; i < 10; i++) {
        if (rc_weakref_get(w[i]) != NULL) return fail("cleared weak reference");
        rc_decref(w[i]);
    }
    rc_decref(lone);
    if (fod_calls != 1) return fail("finalize_on_death");

    /* untracked, large and immortal objects */
    void *leaf = must_new(&leaf_type);
    void *big = must_new(&big_type);
    void *forever = must_new(&leaf_type);
    rc_immortalize(forever);
    rc_incref(forever);
    rc_decref(forever);
    rc_decref(forever);
    rc_gc_collect(0);
    rc_decref(leaf);
    rc_decref(big);

    /* a thread's objects, used by this thread after it exits */
    void *handed = NULL;
    pthread_t t;
    if (pthread_create(&t, NULL, control_thread, &handed) != 0) return fail("pthread_create");
    pthread_join(t, NULL);
    before = vnodes_destroyed;
    rc_gc_collect(-1); /* the orphaned cycle */
    if (vnodes_destroyed - before != 2) return fail("orphaned cycle");
    uint64_t expect = 99;
    for (vnode *n = handed; n; n = n->ref, expect--)
        if (n->value != expect) return fail("orphaned chain contents");
    rc_incref(handed);
    rc_decref(handed);
    rc_decref(handed);
    if (vnodes_destroyed - before != 102) return fail("orphaned chain release");
    printf("ok\n");
    return 0;
}
/* }==== */

int main(int argc, char **argv) {
    const char *cmd = argc > 1 ? argv[1] : "";
    const char *arg = argc > 2 ? argv[2] : NULL;
    if (strcmp(cmd, "double_decref") == 0) return do_double_decref(arg);
    if (strcmp(cmd, "incref_freed") == 0) return do_incref_freed();
    if (strcmp(cmd, "decref_in_destroy") == 0) return do_decref_in_destroy();
    if (strcmp(cmd, "foreign_incref") == 0) return do_foreign_incref();
    if (strcmp(cmd, "foreign_decref") == 0) return do_foreign_decref();
    if (strcmp(cmd, "traverse_dangling") == 0) return do_traverse_dangling();
    if (strcmp(cmd, "traverse_buffer") == 0) return do_traverse_buffer(arg);
    if (strcmp(cmd, "control") == 0) return do_control();
    fprintf(stderr, "usage: objdebug_victim double_decref [large] | incref_freed | decref_in_destroy |\n"
                    "       foreign_incref | foreign_decref | traverse_dangling | traverse_buffer rc|libc | control\n");
    return 2;
}
