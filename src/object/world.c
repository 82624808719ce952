/*
 * world.c — collector worlds: whose objects are where.
 *
 * Each thread that creates an object gets a world: an object heap (pools
 * that hold only objects, see heap.h) and the collector's state for those
 * objects: the two young generations as side vectors of pointers, counts,
 * stats, the garbage list. Generation 2 and the permanent generation have
 * no list at all: they are "every tracked object in the pools whose header
 * says generation 2 (or 3)", found by walking the pools. A young object's
 * header holds its slot in its vector (gc_aux), so untracking or freeing
 * it empties the slot in O(1), without touching any other object; a
 * vector that fills up with as many holes as objects is compacted instead
 * of grown, and collections skip the holes.
 *
 * When a thread exits, its world becomes part of the orphan world: its
 * young and frozen objects move to generation 2, its heap and large objects are
 * handed over, and the world itself is freed. The orphan world is changed
 * only under the orphan lock (reentrant per thread, since releasing an
 * orphan can release another). An orphan heap that empties is recycled for
 * a new thread's world.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal/object.h"

__thread rc_world *_rc_world_tls __attribute__((tls_model("initial-exec")));
rc_world _rc_orphans = {.orphan = true};

_Atomic(bool) _rc_gc_enabled = true;
_Atomic(size_t) _rc_gc_threshold[3] = {700, 10, 10};
_Atomic(unsigned) _rc_gc_debug;
_Atomic(size_t) _rc_gc_auto_at = 700;
static pthread_once_t settings_once = PTHREAD_ONCE_INIT;

static pthread_mutex_t orphan_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread unsigned orphan_depth;
static pthread_key_t world_key;
static pthread_once_t world_once = PTHREAD_ONCE_INIT;

/* {==== process-wide collector settings ==== */

static void settings_read(void) {
    int64_t t = _rc_option(RC_OPT_GC_THRESHOLD);
    for (int i = 0; i < 3; i++) atomic_store(&_rc_gc_threshold[i], RC_OPT_UNPACK3(t, i));
    atomic_store(&_rc_gc_debug, (unsigned)_rc_option(RC_OPT_GC_DEBUG));
    _rc_gc_settings_changed();
}

void _rc_gc_settings_changed(void) {
    size_t t0 = atomic_load(&_rc_gc_threshold[0]);
    atomic_store(&_rc_gc_auto_at, atomic_load(&_rc_gc_enabled) && t0 != 0 ? t0 : SIZE_MAX);
}

void _rc_gc_settings_init(void) { pthread_once(&settings_once, settings_read); }
/* }==== */

/* {==== vectors ==== */

bool _rc_vec_reserve(rc_vec *v, size_t extra) {
    if (v->cap - v->len >= extra) return true;
    size_t cap = v->cap ? v->cap : 16;
    while (cap - v->len < extra) {
        if (cap > SIZE_MAX / 2 / sizeof(void *)) {
            errno = ENOMEM;
            return false;
        }
        cap *= 2;
    }
    void **items = rc_realloc(v->items, cap * sizeof(void *));
    if (!items) return false;
    v->items = items;
    v->cap = cap;
    return true;
}

bool _rc_vec_push(rc_vec *v, void *item) {
    if (RC_UNLIKELY(v->len == v->cap) && !_rc_vec_reserve(v, 1)) return false;
    v->items[v->len++] = item;
    return true;
}

void _rc_vec_free(rc_vec *v) {
    rc_free(v->items);
    v->items = NULL;
    v->len = v->cap = 0;
}
/* }==== */

/* {==== the orphan lock ==== */

void _rc_orphans_lock(void) {
    if (orphan_depth++ == 0) pthread_mutex_lock(&orphan_lock);
}

void _rc_orphans_unlock(void) {
    if (--orphan_depth == 0) pthread_mutex_unlock(&orphan_lock);
}

bool _rc_orphans_held(void) { return orphan_depth > 0; }
/* }==== */

/* {==== generations ==== */

bool _rc_young_make_room(rc_world *w, unsigned g) {
    rc_vec *v = &w->young[g];
    if (v->len >= 2 * w->gen_size[g] + 64) {
        /* as many holes as objects: compact instead of growing */
        size_t n = 0;
        for (size_t i = 0; i < v->len; i++) {
            void *obj = v->items[i];
            if (!obj) continue;
            _rc_head(obj)->gc_aux = (uint32_t)n;
            v->items[n++] = obj;
        }
        v->len = n;
        if (n < v->cap) return true;
    }
    return _rc_vec_reserve(v, 1);
}

void _rc_world_place(rc_world *w, rc_object_head *h, unsigned gen) {
    h->type_bits |= RC_TRACKED;
    _rc_note_tracked(h);
    if (gen < 2 && !w->orphan && (w->young[gen].len < w->young[gen].cap || _rc_young_make_room(w, gen))) {
        h->gc_aux = (uint32_t)w->young[gen].len;
        w->young[gen].items[w->young[gen].len++] = _rc_payload(h);
    } else if (gen < 2) {
        gen = 2; /* no memory for a slot: tracked all the same, in generation 2 */
    }
    _rc_head_set_gen(h, gen);
    w->gen_size[gen]++;
}
/* }==== */

/* {==== finding objects ==== */

typedef struct walk_ctx {
    rc_head_visit fn;
    void *arg;
} walk_ctx;

static void walk_pool(rc_pool *pool, void *arg) {
    walk_ctx *c = arg;
    uint8_t *p = _rc_pool_start(pool);
    size_t bs = _rc_pool_block_size(pool);
    uint8_t *end = p + (size_t)atomic_load_explicit(&pool->capacity, memory_order_relaxed) * bs;
    for (; p < end; p += bs) {
        rc_object_head *h = (rc_object_head *)p;
        if (h->type_bits) c->fn(h, c->arg);
    }
}

void _rc_world_walk(rc_world *w, rc_head_visit fn, void *arg) {
    walk_ctx c = {fn, arg};
    if (w->heap) _rc_heap_pools(w->heap, walk_pool, &c);
    for (size_t i = 0; i < w->heaps.len; i++) _rc_heap_pools(w->heaps.items[i], walk_pool, &c);
    for (rc_large_obj *l = w->large; l;) {
        rc_large_obj *next = l->next;
        fn((rc_object_head *)(l + 1), arg);
        l = next;
    }
}

static bool large_list_has(const rc_world *w, const rc_object_head *h) {
    for (rc_large_obj *l = w->large; l; l = l->next)
        if ((rc_object_head *)(l + 1) == h) return true;
    return false;
}

bool _rc_is_live_object(const void *p) {
    if (!p || ((uintptr_t)p & 15) != 0) return false;
    const rc_object_head *h = _rc_head(p);
    uintptr_t a = (uintptr_t)h;
    if (_rc_is_arena(a)) {
        rc_pool *pool = _rc_pool_of(h);
        if (!pool || !_rc_pool_is_block(pool, h)) return false;
        rc_heap *heap = _rc_pool_heap(pool);
        if (!heap || !heap->objects) return false;
        return h->type_bits != 0 && !(h->type_bits & RC_DYING);
    }
    /* a large object: its prefix starts a mapping */
    uintptr_t base = a - sizeof(rc_large_obj);
    if ((base & RC_ARENA_MASK) != 0 || !_rc_chunk_bit(_rc_large_map, base) || !_rc_large_owns((void *)base))
        return false;
    rc_world *w = ((const rc_large_obj *)base)->world;
    return w && (h->type_bits & RC_LARGE) && !(h->type_bits & RC_DYING) &&
           (w != &_rc_orphans || large_list_has(w, h));
}
/* }==== */

/* {==== thread worlds: birth and hand-over ==== */

static void thaw(rc_object_head *h, void *arg) {
    (void)arg;
    if ((h->type_bits & RC_TRACKED) && _rc_head_gen(h) == RC_GEN_PERMANENT) _rc_head_set_gen(h, 2);
}

/* Hand a finished thread's world to the orphans. */
static void world_orphan(void *arg) {
    rc_world *w = arg;
    if (!w) return;
    _rc_orphans_lock();
    rc_world *o = &_rc_orphans;
    for (unsigned g = 0; g < 2; g++) {
        for (size_t i = 0; i < w->young[g].len; i++)
            if (w->young[g].items[i]) _rc_head_set_gen(_rc_head(w->young[g].items[i]), 2);
        o->gen_size[2] += w->gen_size[g];
        _rc_vec_free(&w->young[g]);
    }
    /* frozen objects belonged to the thread's freeze: they thaw into
     * generation 2, so the orphan collections see them and nothing stays
     * out of reach for good */
    if (w->gen_size[3]) _rc_world_walk(w, thaw, NULL);
    o->gen_size[2] += w->gen_size[2] + w->gen_size[3];
    while (w->large) {
        rc_large_obj *l = w->large;
        w->large = l->next;
        l->world = o;
        l->prev = NULL;
        l->next = o->large;
        if (o->large) o->large->prev = l;
        o->large = l;
    }
    for (size_t i = 0; i < w->garbage.len; i++)
        if (!_rc_vec_push(&o->garbage, w->garbage.items[i])) break; /* keep it alive */
    _rc_vec_free(&w->garbage);
    w->heap->world = o;
    _rc_heap_reclaim(w->heap, true);
    if (_rc_heap_is_unused(w->heap)) _rc_heap_recycle(w->heap);
    else if (!_rc_vec_push(&o->heaps, w->heap)) w->heap->world = o; /* unreachable for walks: leaks */
    _rc_orphans_unlock();
    _rc_world_tls = NULL;
    rc_free(w);
}

/* fork: the orphan lock, for src/gc's handler, which takes the object
 * layers' locks in their order (see _rc_object_atfork_hook). */
void _rc_world_fork_prepare(void) {
    if (orphan_depth == 0) pthread_mutex_lock(&orphan_lock);
}

void _rc_world_fork_parent(void) {
    if (orphan_depth == 0) pthread_mutex_unlock(&orphan_lock);
}

static void world_key_init(void) {
    pthread_key_create(&world_key, world_orphan);
    _rc_object_atfork_hook();
    _rc_shutdown_hook = _rc_object_shutdown_hook;
}

rc_world *_rc_world_make(void) {
    rc_world *w;
    pthread_once(&world_once, world_key_init);
    _rc_gc_settings_init();
    w = rc_calloc(1, sizeof *w);
    if (!w) return NULL;
    w->heap = _rc_heap_new_objects(w);
    if (!w->heap) {
        rc_free(w);
        return NULL;
    }
    w->thread = pthread_self();
    _rc_world_tls = w;
    pthread_setspecific(world_key, w);
    return w;
}
/* }==== */
