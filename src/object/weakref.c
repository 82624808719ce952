/*
 * weakref.c — weak references and rc_finalize_on_death (Python's weakref
 * module).
 *
 * A weak reference is a tracked rc object: { referent, callback, arg,
 * next }. The header has no room for a list head, so the weak references
 * of each object hang off a process-wide table (object address -> newest
 * weak reference), under one lock; the object's RC_WEAKREFS bit says an
 * entry exists, so an object without weak references pays nothing when it
 * dies. A list is newest first, which is the order callbacks run in (as
 * CPython's PyObject_ClearWeakRefs does), and callback-less weak
 * references to one object are shared.
 *
 * Clearing. When an object dies (its release, or the collector finding it
 * unreachable) every weak reference to it is cleared under the lock: its
 * referent becomes NULL, so rc_weakref_get returns NULL from then on. The
 * weak references whose callbacks must run are taken out with a new
 * reference each and run after the lock is released, and after the object
 * is gone. A weak reference that is itself dying (count at zero) or that
 * is itself unreachable garbage of the same collection gets no callback.
 *
 * rc_finalize_on_death is weakref.finalize: a weak reference with an
 * internal callback, kept alive by a registry until it fires or until
 * rc_shutdown runs what is still pending.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>

#include "internal/object.h"

struct rc_weakref {
    void *obj;                /* referent; NULL once cleared (weak lock) */
    rc_weakref_callback cb;   /* may be NULL */
    void *arg;
    rc_weakref *next;         /* the referent's list, or a callback list */
};

static pthread_mutex_t weak_lock = PTHREAD_MUTEX_INITIALIZER;
/* the rc_finalize_on_death registry's lock (taken before weak_lock) */
static pthread_mutex_t fod_lock = PTHREAD_MUTEX_INITIALIZER;
/* object address -> its newest weak reference (entry.a); under weak_lock */
static rc_ptrmap weak_table;

static int weakref_traverse(void *self, rc_visit_fn visit, void *arg) {
    (void)self, (void)visit, (void)arg;
    return 0; /* the callback's arg is the user's, not an object */
}

static void weakref_destroy(void *self) {
    rc_weakref *wr = self;
    pthread_mutex_lock(&weak_lock);
    if (wr->obj) {
        rc_ptrmap_entry *e = _rc_ptrmap_get(&weak_table, (uintptr_t)wr->obj);
        if (e) {
            rc_weakref *head = (rc_weakref *)e->a;
            if (head == wr) {
                e->a = (size_t)wr->next;
            } else {
                while (head && head->next != wr) head = head->next;
                if (head) head->next = wr->next;
            }
            if (!e->a) {
                _rc_head(wr->obj)->type_bits &= ~RC_WEAKREFS;
                _rc_ptrmap_del(&weak_table, e);
            }
        }
        wr->obj = NULL;
    }
    pthread_mutex_unlock(&weak_lock);
}

static const rc_type weakref_type = {
    .name = "weakref",
    .size = sizeof(rc_weakref),
    .traverse = weakref_traverse,
    .destroy = weakref_destroy,
};

static bool dying(const void *obj) { return (_rc_head(obj)->type_bits & RC_DYING) != 0; }

/* {==== weak references ==== */

rc_weakref *rc_weakref_new(void *obj, rc_weakref_callback cb, void *arg) {
    if (!obj) {
        _rc_set_error("rc_weakref_new: object is NULL");
        errno = EINVAL;
        return NULL;
    }
    if (RC_OBJECT_CHECKS && !_rc_is_live_object(obj)) {
        _rc_set_error("rc_weakref_new: %p is not a live object", obj);
        errno = EINVAL;
        return NULL;
    }
    if (dying(obj)) {
        _rc_set_error("rc_weakref_new: object %p (type %s) is being released", obj,
                      _rc_type_name(_rc_head_type(_rc_head(obj))));
        errno = EINVAL;
        return NULL;
    }
    /* made before the lock: rc_new may collect, and clearing takes it */
    rc_weakref *wr = rc_new(&weakref_type);
    if (!wr) return NULL;
    pthread_mutex_lock(&weak_lock);
    rc_ptrmap_entry *e = _rc_ptrmap_get(&weak_table, (uintptr_t)obj);
    if (!cb && e) {
        for (rc_weakref *r = (rc_weakref *)e->a; r; r = r->next)
            if (!r->cb && !dying(r)) {
                rc_incref(r);
                pthread_mutex_unlock(&weak_lock);
                rc_decref(wr);
                return r;
            }
    }
    if (!e) {
        if (!_rc_ptrmap_reserve(&weak_table)) {
            pthread_mutex_unlock(&weak_lock);
            rc_decref(wr);
            _rc_set_error("rc_weakref_new: out of memory for the weak reference table");
            errno = ENOMEM;
            return NULL;
        }
        _rc_ptrmap_put(&weak_table, (uintptr_t)obj, 0, 0);
        e = _rc_ptrmap_get(&weak_table, (uintptr_t)obj);
        _rc_head(obj)->type_bits |= RC_WEAKREFS;
    }
    wr->obj = obj;
    wr->cb = cb;
    wr->arg = arg;
    wr->next = (rc_weakref *)e->a;
    e->a = (size_t)wr;
    pthread_mutex_unlock(&weak_lock);
    return wr;
}

void *rc_weakref_get(rc_weakref *ref) {
    if (!ref) return NULL;
    pthread_mutex_lock(&weak_lock);
    void *obj = ref->obj;
    if (obj && (dying(obj) || _rc_head(obj)->refcnt == 0)) obj = NULL;
    if (obj) rc_incref(obj);
    pthread_mutex_unlock(&weak_lock);
    return obj;
}

size_t rc_weakref_count(const void *obj) {
    if (!obj) return 0;
    size_t n = 0;
    pthread_mutex_lock(&weak_lock);
    if (_rc_head(obj)->type_bits & RC_WEAKREFS) {
        rc_ptrmap_entry *e = _rc_ptrmap_get(&weak_table, (uintptr_t)obj);
        for (rc_weakref *r = e ? (rc_weakref *)e->a : NULL; r; r = r->next)
            if (!dying(r)) n++;
    }
    pthread_mutex_unlock(&weak_lock);
    return n;
}

rc_weakref **_rc_weakref_clear(void *obj, bool skip_collecting, rc_weakref **tail) {
    pthread_mutex_lock(&weak_lock);
    _rc_head(obj)->type_bits &= ~RC_WEAKREFS;
    rc_ptrmap_entry *e = _rc_ptrmap_get(&weak_table, (uintptr_t)obj);
    rc_weakref *r = e ? (rc_weakref *)e->a : NULL;
    if (e) _rc_ptrmap_del(&weak_table, e);
    while (r) {
        rc_weakref *next = r->next;
        r->obj = NULL;
        r->next = NULL;
        uintptr_t bits = _rc_head(r)->type_bits;
        if (tail && r->cb && !(bits & RC_DYING) && !(skip_collecting && (bits & RC_IN_COLLECTION))) {
            rc_incref(r);
            *tail = r;
            tail = &r->next;
        }
        r = next;
    }
    pthread_mutex_unlock(&weak_lock);
    return tail;
}

void _rc_weakref_run(rc_weakref *list) {
    while (list) {
        rc_weakref *r = list;
        list = r->next;
        r->next = NULL;
        rc_weakref_callback cb = r->cb;
        if (cb) cb(r, r->arg);
        rc_decref(r);
    }
}
/* }==== */

/* fork (see object.h): finalize-on-death lock, then the weak lock */
void _rc_weakref_fork_prepare(void) {
    pthread_mutex_lock(&fod_lock);
    pthread_mutex_lock(&weak_lock);
}

void _rc_weakref_fork_parent(void) {
    pthread_mutex_unlock(&weak_lock);
    pthread_mutex_unlock(&fod_lock);
}

/* {==== finalize on death ==== */

typedef struct fod_node {
    void (*fn)(void *arg);
    void *arg;
    rc_weakref *wr;           /* the registry's reference */
    bool done;                /* fired or run at shutdown (fod_lock) */
    struct fod_node *prev, *next;
} fod_node;

static fod_node *fod_list;

static void fod_unlink(fod_node *n) {
    if (n->prev) n->prev->next = n->next;
    else fod_list = n->next;
    if (n->next) n->next->prev = n->prev;
    n->prev = n->next = NULL;
}

static void fod_fire(rc_weakref *wr, void *arg) {
    fod_node *n = arg;
    pthread_mutex_lock(&fod_lock);
    bool run = !n->done;
    if (run) {
        n->done = true;
        fod_unlink(n);
    }
    pthread_mutex_unlock(&fod_lock);
    if (!run) return;
    n->fn(n->arg);
    rc_decref(wr);
    rc_free(n);
}

int rc_finalize_on_death(void *obj, void (*fn)(void *arg), void *arg) {
    if (!obj || !fn) {
        _rc_set_error("rc_finalize_on_death: %s is NULL", obj ? "fn" : "object");
        errno = EINVAL;
        return -1;
    }
    fod_node *n = rc_calloc(1, sizeof *n);
    if (!n) {
        _rc_set_error("rc_finalize_on_death: out of memory");
        return -1;
    }
    n->fn = fn;
    n->arg = arg;
    n->wr = rc_weakref_new(obj, fod_fire, n);
    if (!n->wr) {
        rc_free(n);
        return -1;
    }
    pthread_mutex_lock(&fod_lock);
    n->next = fod_list;
    if (fod_list) fod_list->prev = n;
    fod_list = n;
    pthread_mutex_unlock(&fod_lock);
    return 0;
}

void _rc_finalizers_run_all(void) {
    for (;;) {
        pthread_mutex_lock(&fod_lock);
        fod_node *n = fod_list;
        if (n) {
            n->done = true;
            fod_unlink(n);
        }
        pthread_mutex_unlock(&fod_lock);
        if (!n) return;
        pthread_mutex_lock(&weak_lock);
        n->wr->cb = NULL; /* it must not fire later */
        pthread_mutex_unlock(&weak_lock);
        n->fn(n->arg);
        rc_world *w = _rc_world_of(_rc_head(n->wr));
        if (w == _rc_world_tls || w->orphan) rc_decref(n->wr); /* another live thread's: left to it */
        /* n is not freed: a callback already under way on another thread
         * may still be about to look at n->done (a few bytes, at exit) */
    }
}
/* }==== */
