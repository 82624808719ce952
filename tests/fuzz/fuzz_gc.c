/*
 * fuzz_gc.c — a fuzz target for objects, the cycle collector and weak
 * references, checked against a model.
 *
 * The input is a program: one byte of settings (the collector's thresholds,
 * so automatic collections happen often, rarely or never), then steps of
 * one op byte and its operands (missing bytes read as 0). The ops work on
 * 64 object slots and 16 weak-reference slots:
 *
 *   create(kind, flags)     a new object, held by one C reference; the
 *                           kinds: with or without clear, with finalize
 *                           (which may resurrect the object by storing it
 *                           in its global resurrection slot) or not,
 *                           untracked leaves; now and then a large one, and
 *                           now and then a "noisy" one, whose finalize,
 *                           clear and destroy call into the collector:
 *                           they allocate a tracked object (which may start
 *                           an automatic collection) and call
 *                           rc_gc_collect (which must return 0 and start
 *                           nothing inside a collection, and collects when
 *                           called from a release)
 *   set/clear edge          RC_SET / RC_CLEAR of one of 4 fields
 *   drop/add C reference    the C-held roots
 *   track/untrack
 *   collect(gen)            rc_gc_collect(-1, 0, 1 or 2)
 *   weakref new/drop        with or without a callback, or with one that
 *                           drops the weak reference it is called for
 *   release resurrection    drop a resurrection slot's reference
 *   misc                    freeze, unfreeze, rc_gc_garbage_clear, and
 *                           checks of get_referents, get_referrers and of
 *                           each generation's objects (get_objects)
 *
 * The model keeps the graph: each object's fields, its C references, the
 * resurrection slot and the garbage list's references, so its reference
 * count; whether it is tracked and finalized; each weak reference's state
 * and the callbacks it must have had. Reference counting is simulated
 * exactly (a release runs finalize once, which may resurrect; then the weak
 * references are cleared and destroy drops the fields). After every step
 * the library must agree with the model: which objects are alive, their
 * fields, counts, tracked and finalized state, the finalize / clear /
 * destroy calls each received (finalize at most once, destroy exactly once
 * per death), weak references (NULL exactly for the cleared ones) and
 * their callbacks.
 *
 * Collections are simulated exactly too, generations included, as CPython
 * 3.11 does them: a collection of generation g examines the tracked objects
 * of generations 0..g that are not frozen (references from everything else
 * count as from outside); the unreachable ones have their weak references
 * cleared (callbacks run), are finalized once, and those a finalizer made
 * reachable survive; the rest are cleared (those with clear) and released,
 * and what outlives that (cycles without clear) goes to the garbage list;
 * survivors move to generation g + 1. New and newly tracked objects are in
 * generation 0, unfrozen ones in 2. The model then says exactly which
 * objects were destroyed, and the collection's result (rc_gc_collect's, and
 * the callback's collected + uncollectable) must be their number; after
 * each collection every generation's contents are compared. The one thing
 * not simulated is a collection started by a noisy hook in the middle of a
 * release (the model releases in another order): it is checked for safety
 * — nothing reachable from the C roots, the resurrection slots or the
 * garbage list was finalized, cleared, destroyed, unlinked, put in the
 * garbage list or had its weak references cleared — and the model then
 * takes over what the library did.
 *
 * At the end of each input every edge, root, weak reference, garbage entry
 * and resurrection slot is dropped and everything must be destroyed, so the
 * next input starts from an empty world.
 *
 * Built two ways (tests/fuzz.cmake): a libFuzzer binary (clang,
 * RECLAIM_FUZZ=ON), and always a replay driver (RC_FUZZ_REPLAY_MAIN) that
 * feeds 2000 pseudo-random inputs from a fixed seed, or the files and
 * directories named on its command line (a crash input from libFuzzer), and
 * writes a seed corpus with --write-corpus DIR.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reclaim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SLOTS 64
#define NF 4
#define WEAKS 16
#define MAX_STEPS 2048
#define MAX_ROOTS 3
#define MAX_BIG 2
#define BIG_EXTRA ((size_t)300 << 10) /* above the pooled sizes */
#define NONE (-1)

/* {==== failure reports ==== */

static size_t cur_step;
static const char *cur_op = "start";
static int cur_slot = NONE;

static size_t messages;
static char last_message[512];

static void on_message(const char *m, void *arg) {
    (void)arg;
    messages++;
    snprintf(last_message, sizeof last_message, "%s", m);
}

static void dump_slot(int x);

static _Noreturn void fail(int line, const char *what) {
    fprintf(stderr, "fuzz_gc: check failed at line %d: %s\n  step %zu, op %s, slot %d\n  rc_last_error: %s\n", line,
            what, cur_step, cur_op, cur_slot, rc_last_error());
    if (cur_slot >= 0) dump_slot(cur_slot);
    if (messages) fprintf(stderr, "  last library message: %s\n", last_message);
    fflush(stderr);
    abort();
}

#define CHECK(cond)                                                                                                   \
    do {                                                                                                              \
        if (!(cond)) fail(__LINE__, #cond);                                                                           \
    } while (0)
/* }==== */

/* {==== the object kinds ==== */

typedef struct fobj {
    uint32_t slot;
    uint32_t serial;
    uint16_t resurrect; /* finalize stores the object in its resurrection slot */
    uint16_t noisy;     /* finalize, clear and destroy call into the collector */
    uint32_t pad;
    void *f[NF];
} fobj;

enum { K_NODE, K_NOCLEAR, K_FINAL, K_FINAL_NOCLEAR, K_LEAF, K_LEAF_FINAL, NKINDS };

/* What the library did to the object in each slot, from the hooks. */
typedef struct actual {
    uint32_t serial;     /* of the object in the slot now */
    uint32_t finalizes, clears, destroys;
} actual;

static actual act[SLOTS];
static void *objs[SLOTS];         /* the object in each slot (maybe dead) */
static void *resurrected[SLOTS];  /* the resurrection slots: strong references */
static uint32_t next_serial = 1;

/* The slot of an object the hooks are called on. */
static uint32_t hook_slot(const fobj *o) {
    CHECK(o->slot < SLOTS);
    CHECK(objs[o->slot] == o);
    CHECK(act[o->slot].serial == o->serial);
    return o->slot;
}

/* Collections seen through a callback (on_gc): started and stopped. */
static size_t gc_starts, gc_stops;
static size_t hook_collections; /* started by noisy hooks */

/* A tracked kind with nothing to do, for the noisy hooks' allocations. */
static int temp_traverse(void *self, rc_visit_fn visit, void *arg) {
    (void)self, (void)visit, (void)arg;
    return 0;
}

static const rc_type temp_kind = {.name = "fz_temp", .size = 16, .traverse = temp_traverse};

/* A noisy hook calls into the collector: an allocation that may collect,
 * and an explicit collection, which must do nothing inside a collection. */
static void noise(const fobj *o) {
    if (!o->noisy) return;
    bool inside = gc_starts != gc_stops;
    size_t starts = gc_starts;
    void *t = rc_new(&temp_kind);
    CHECK(t != NULL);
    rc_decref(t);
    if (inside) CHECK(gc_starts == starts); /* no automatic collection inside one */
    size_t got = rc_gc_collect(o->noisy == 1 ? -1 : 0);
    if (inside) CHECK(got == 0 && gc_starts == starts);
    hook_collections += gc_starts - starts;
}

static int fz_traverse(void *self, rc_visit_fn visit, void *arg) {
    fobj *o = self;
    for (int k = 0; k < NF; k++) {
        int r = visit(o->f[k], arg);
        if (r) return r;
    }
    return 0;
}

static void fz_clear(void *self) {
    fobj *o = self;
    act[hook_slot(o)].clears++;
    for (int k = 0; k < NF; k++) RC_CLEAR(o->f[k]);
    noise(o);
}

static void fz_finalize(void *self) {
    fobj *o = self;
    uint32_t s = hook_slot(o);
    act[s].finalizes++;
    if (o->resurrect) {
        CHECK(resurrected[s] == NULL);
        resurrected[s] = rc_incref(self);
    }
    noise(o);
}

static void check_weak_dead(uint32_t slot);

static void fz_destroy(void *self) {
    fobj *o = self;
    uint32_t s = hook_slot(o);
    act[s].destroys++;
    check_weak_dead(s); /* the object is dying: its weak references read NULL */
    for (int k = 0; k < NF; k++) RC_CLEAR(o->f[k]);
    noise(o);
}

static const rc_type kinds[NKINDS] = {
    [K_NODE] = {.name = "fz_node", .size = sizeof(fobj), .traverse = fz_traverse, .clear = fz_clear,
                .destroy = fz_destroy},
    [K_NOCLEAR] = {.name = "fz_noclear", .size = sizeof(fobj), .traverse = fz_traverse, .destroy = fz_destroy},
    [K_FINAL] = {.name = "fz_final", .size = sizeof(fobj), .traverse = fz_traverse, .clear = fz_clear,
                 .finalize = fz_finalize, .destroy = fz_destroy},
    [K_FINAL_NOCLEAR] = {.name = "fz_final_noclear", .size = sizeof(fobj), .traverse = fz_traverse,
                         .finalize = fz_finalize, .destroy = fz_destroy},
    [K_LEAF] = {.name = "fz_leaf", .size = sizeof(fobj), .destroy = fz_destroy},
    [K_LEAF_FINAL] = {.name = "fz_leaf_final", .size = sizeof(fobj), .finalize = fz_finalize,
                      .destroy = fz_destroy},
};

static bool has_fields(int kind) { return kinds[kind].traverse != NULL; }
/* }==== */

/* {==== the model ==== */

typedef struct mobj {
    bool used;       /* the slot holds an object, alive or dead but not yet checked */
    bool alive;
    bool big;
    bool resurrect;
    uint8_t noisy;
    bool tracked;
    bool frozen;     /* in the permanent generation (tracked) */
    uint8_t gen;     /* 0..2 while tracked and not frozen */
    bool finalized;
    bool res_held;   /* its resurrection slot holds it */
    uint8_t kind;
    uint32_t roots;  /* C references */
    uint32_t garbage; /* references from the garbage list */
    uint32_t rc;     /* the reference count */
    uint32_t clears; /* clear calls */
    int f[NF];       /* fields: slots, or NONE */
} mobj;

enum { WEAK_PLAIN, WEAK_CB, WEAK_CB_DROPS };

typedef struct wslot {
    rc_weakref *w;   /* the library's side: our reference, or NULL */
    bool present;    /* the model's side: the slot holds a weak reference */
    bool used;       /* since the last check */
    uint8_t mode;    /* WEAK_*: no callback, one, one that drops the reference */
    bool cleared;
    int target;
    uint32_t cb_expected, cb_actual;
} wslot;

static mobj M[SLOTS];
static wslot W[WEAKS];

static void m_decref(int x);

/* The model clears weak reference i: its callback is due. */
static void m_weak_clear(int i) {
    wslot *w = &W[i];
    w->cleared = true;
    if (w->mode != WEAK_PLAIN) w->cb_expected++;
    if (w->mode == WEAK_CB_DROPS) w->present = false;
}

/* The release of x, whose count reached zero (object.c's release). */
static void m_release(int x) {
    mobj *m = &M[x];
    if (kinds[m->kind].finalize && !m->finalized) {
        m->finalized = true;
        if (m->resurrect) {
            m->res_held = true;
            m->rc = 1;
            /* alive again, and tracked again (a young object) if it was */
            m->gen = 0;
            m->frozen = false;
            return;
        }
    }
    m->alive = false;
    for (int i = 0; i < WEAKS; i++)
        if (W[i].present && W[i].target == x && !W[i].cleared) m_weak_clear(i);
    for (int k = 0; k < NF; k++) {
        int t = m->f[k];
        m->f[k] = NONE;
        if (t != NONE) m_decref(t);
    }
}

static void m_decref(int x) {
    CHECK(M[x].alive && M[x].rc > 0);
    if (--M[x].rc == 0) m_release(x);
}

/* The counts the model's graph gives every live object. */
static void m_counts(uint32_t count[SLOTS]) {
    for (int x = 0; x < SLOTS; x++) count[x] = M[x].roots + M[x].garbage + (M[x].res_held ? 1 : 0);
    for (int y = 0; y < SLOTS; y++)
        if (M[y].alive)
            for (int k = 0; k < NF; k++)
                if (M[y].f[k] != NONE) count[M[y].f[k]]++;
}

/* Objects reachable from the C roots, the resurrection slots and the
 * garbage list, through every live object's fields. */
static void m_reachable(bool reach[SLOTS]) {
    int stack[SLOTS * (NF + 1)], sp = 0;
    memset(reach, 0, SLOTS * sizeof reach[0]);
    for (int x = 0; x < SLOTS; x++)
        if (M[x].alive && (M[x].roots || M[x].garbage || M[x].res_held)) {
            reach[x] = true;
            stack[sp++] = x;
        }
    while (sp) {
        int y = stack[--sp];
        for (int k = 0; k < NF; k++) {
            int t = M[y].f[k];
            if (t != NONE && !reach[t]) {
                reach[t] = true;
                stack[sp++] = t;
            }
        }
    }
}

/* Within set `in`, mark what is reachable from the members whose refs[] is
 * above zero, following the members' fields. */
static void m_mark(const bool in[SLOTS], const int refs[SLOTS], bool reach[SLOTS]) {
    int stack[SLOTS * (NF + 1)], sp = 0;
    memset(reach, 0, SLOTS * sizeof reach[0]);
    for (int x = 0; x < SLOTS; x++)
        if (in[x] && refs[x] > 0) {
            reach[x] = true;
            stack[sp++] = x;
        }
    while (sp) {
        int y = stack[--sp];
        for (int k = 0; k < NF; k++) {
            int t = M[y].f[k];
            if (t != NONE && in[t] && !reach[t]) {
                reach[t] = true;
                stack[sp++] = t;
            }
        }
    }
}

/* A collection of generation g on the model (CPython 3.11's
 * gc_collect_main): the tracked objects of generations 0..g, not frozen,
 * are examined; references from everything else count as from outside.
 * Survivors move to generation g + 1 (2 stays 2). Returns the unreachable
 * objects found (after resurrection): those freed plus those left in the
 * garbage list. */
static size_t m_collect(int g) {
    bool inS[SLOTS], reach[SLOTS], inU[SLOTS];
    int refs[SLOTS];
    uint8_t target = (uint8_t)(g < 2 ? g + 1 : 2);
    for (int x = 0; x < SLOTS; x++) {
        inS[x] = M[x].alive && M[x].tracked && !M[x].frozen && M[x].gen <= g;
        refs[x] = inS[x] ? (int)M[x].rc : 0;
    }
    for (int y = 0; y < SLOTS; y++)
        if (inS[y])
            for (int k = 0; k < NF; k++)
                if (M[y].f[k] != NONE && inS[M[y].f[k]]) refs[M[y].f[k]]--;
    for (int x = 0; x < SLOTS; x++) CHECK(refs[x] >= 0);
    m_mark(inS, refs, reach);
    bool any = false;
    for (int x = 0; x < SLOTS; x++) {
        inU[x] = inS[x] && !reach[x];
        any |= inU[x];
        if (inS[x] && reach[x]) M[x].gen = target;
    }
    if (!any) return 0;
    /* the collector's hold */
    for (int x = 0; x < SLOTS; x++)
        if (inU[x]) M[x].rc++;
    /* weak references to unreachable objects: cleared, callbacks run */
    for (int i = 0; i < WEAKS; i++)
        if (W[i].present && !W[i].cleared && inU[W[i].target]) m_weak_clear(i);
    /* finalize, once; a finalizer may resurrect */
    for (int x = 0; x < SLOTS; x++)
        if (inU[x] && kinds[M[x].kind].finalize && !M[x].finalized) {
            M[x].finalized = true;
            if (M[x].resurrect) {
                M[x].res_held = true;
                M[x].rc++;
            }
        }
    /* what a finalizer made reachable survives */
    for (int x = 0; x < SLOTS; x++) refs[x] = inU[x] ? (int)M[x].rc - 1 : 0;
    for (int y = 0; y < SLOTS; y++)
        if (inU[y])
            for (int k = 0; k < NF; k++)
                if (M[y].f[k] != NONE && inU[M[y].f[k]]) refs[M[y].f[k]]--;
    for (int x = 0; x < SLOTS; x++) CHECK(refs[x] >= 0);
    m_mark(inU, refs, reach);
    size_t n = 0;
    for (int x = 0; x < SLOTS; x++) {
        if (!inU[x]) continue;
        if (reach[x]) {
            inU[x] = false;
            M[x].rc--; /* the hold */
            M[x].gen = target;
        } else {
            n++;
        }
    }
    /* clear, then drop the holds: cycles with a clear fall apart */
    for (int x = 0; x < SLOTS; x++)
        if (inU[x] && kinds[M[x].kind].clear) {
            CHECK(M[x].alive);
            M[x].clears++;
            for (int k = 0; k < NF; k++) {
                int t = M[x].f[k];
                M[x].f[k] = NONE;
                if (t != NONE) m_decref(t);
            }
        }
    for (int x = 0; x < SLOTS; x++)
        if (inU[x]) m_decref(x);
    /* what is left is uncollectable: the garbage list keeps it */
    for (int x = 0; x < SLOTS; x++)
        if (inU[x] && M[x].alive) {
            M[x].garbage++;
            M[x].rc++;
            M[x].gen = 2;
        }
    return n;
}
/* }==== */

/* What the model and the library say about slot x (failure reports). */
static void dump_slot(int x) {
    const mobj *m = &M[x];
    const actual *a = &act[x];
    fprintf(stderr,
            "  model:   %s, kind %s%s%s%s, roots %u, garbage %u, count %u, %stracked (gen %u%s), %sfinalized%s, "
            "clears %u, "
            "fields %d %d %d %d\n",
            m->alive ? "alive" : m->used ? "dead" : "unused", kinds[m->kind].name, m->big ? " (large)" : "",
            m->resurrect ? " (resurrects)" : "", m->noisy ? " (noisy)" : "", m->roots, m->garbage, m->rc, m->tracked ? "" : "un", m->gen, m->frozen ? ", frozen" : "",
            m->finalized ? "" : "not ", m->res_held ? ", resurrected" : "", m->clears, m->f[0], m->f[1], m->f[2],
            m->f[3]);
    fprintf(stderr, "  library: object %p, finalize %u, clear %u, destroy %u calls", objs[x], a->finalizes, a->clears,
            a->destroys);
    if (m->alive && !a->destroys)
        fprintf(stderr, ", count %zu, %stracked, %sfinalized", rc_refcount(objs[x]),
                rc_gc_is_tracked(objs[x]) ? "" : "un", rc_gc_is_finalized(objs[x]) ? "" : "not ");
    fprintf(stderr, "\n");
}

/* {==== the library against the model ==== */

static void weak_cb(rc_weakref *ref, void *arg) {
    wslot *w = arg;
    CHECK(w >= W && w < W + WEAKS);
    CHECK(w->w == ref);
    CHECK(rc_weakref_get(ref) == NULL);
    w->cb_actual++;
    if (w->mode == WEAK_CB_DROPS) {
        w->w = NULL;
        rc_decref(ref); /* the library holds its own reference while we run */
    }
}

static void check_weak_dead(uint32_t slot) {
    for (int i = 0; i < WEAKS; i++)
        if (W[i].w && W[i].target == (int)slot) CHECK(rc_weakref_get(W[i].w) == NULL);
}

static int slot_of(const void *p) {
    if (!p) return NONE;
    const fobj *o = p;
    CHECK(o->slot < SLOTS);
    CHECK(objs[o->slot] == p);
    CHECK(M[o->slot].alive);
    return (int)o->slot;
}

static size_t unique_weakrefs(void) {
    size_t n = 0;
    for (int i = 0; i < WEAKS; i++) {
        if (!W[i].w) continue;
        bool first = true;
        for (int j = 0; j < i; j++) first &= W[j].w != W[i].w;
        n += first;
    }
    return n;
}

static size_t model_tracked(void) {
    size_t n = 0;
    for (int x = 0; x < SLOTS; x++) n += M[x].alive && M[x].tracked;
    return n;
}

typedef struct garbage_walk {
    uint32_t count[SLOTS];
    size_t others;
} garbage_walk;

static int garbage_visit(void *obj, void *arg) {
    garbage_walk *g = arg;
    const fobj *o = obj;
    if (o->slot < SLOTS && objs[o->slot] == obj && M[o->slot].alive) g->count[o->slot]++;
    else g->others++;
    return 0;
}

/* A walk of a generation (or of all, gen -1): each object is a tracked
 * live object of the model, in that generation, or one of our weak
 * references. */
typedef struct gen_walk {
    int gen;
    size_t model;      /* model objects visited */
    bool seen[SLOTS];
} gen_walk;

static int tracked_visit(void *obj, void *arg) {
    gen_walk *g = arg;
    for (int i = 0; i < WEAKS; i++)
        if (W[i].w == obj) return 0;
    int x = slot_of(obj);
    cur_slot = x;
    CHECK(M[x].tracked && !M[x].frozen);
    CHECK(g->gen < 0 || M[x].gen == g->gen);
    CHECK(!g->seen[x]);
    g->seen[x] = true;
    g->model++;
    cur_slot = NONE;
    return 0;
}

static size_t model_in_gen(int gen) {
    size_t n = 0;
    for (int x = 0; x < SLOTS; x++) n += M[x].alive && M[x].tracked && !M[x].frozen && (gen < 0 || M[x].gen == gen);
    return n;
}

static size_t model_frozen(void) {
    size_t n = 0;
    for (int x = 0; x < SLOTS; x++) n += M[x].alive && M[x].tracked && M[x].frozen;
    return n;
}

/* The generations agree with the model's. */
static void check_generations(void) {
    gen_walk all = {.gen = -1};
    size_t total = rc_gc_get_objects(-1, tracked_visit, &all), by_gen = 0;
    CHECK(all.model == model_in_gen(-1));
    for (int gen = 0; gen < 3; gen++) {
        gen_walk g = {.gen = gen};
        by_gen += rc_gc_get_objects(gen, tracked_visit, &g);
        CHECK(g.model == model_in_gen(gen));
    }
    CHECK(total == by_gen);
    /* the rest of the frozen ones are weak references */
    size_t frozen = rc_gc_get_freeze_count();
    CHECK(frozen >= model_frozen() && frozen - model_frozen() <= unique_weakrefs());
}

/* The library agrees with the model. full: also the garbage list entry by
 * entry and the tracked-object walk. */
static void verify(bool full) {
    uint32_t garbage_total = 0, count[SLOTS];
    m_counts(count);
    for (int x = 0; x < SLOTS; x++) {
        cur_slot = x;
        mobj *m = &M[x];
        if (!m->used) continue;
        const actual *a = &act[x];
        CHECK(a->finalizes == (m->finalized ? 1u : 0u));
        CHECK(a->clears == m->clears);
        if (!m->alive) {
            /* died in this step: destroyed exactly once */
            CHECK(a->destroys == 1);
            CHECK(resurrected[x] == NULL);
            m->used = false;
            continue;
        }
        CHECK(a->destroys == 0);
        fobj *o = objs[x];
        CHECK(m->rc == count[x]); /* the model is consistent */
        CHECK(rc_refcount(o) == m->rc);
        CHECK(rc_type_of(o) == &kinds[m->kind]);
        CHECK(rc_gc_is_tracked(o) == m->tracked);
        CHECK(rc_gc_is_finalized(o) == m->finalized);
        CHECK((resurrected[x] != NULL) == m->res_held);
        if (m->res_held) CHECK(resurrected[x] == o);
        for (int k = 0; k < NF; k++) CHECK(o->f[k] == (m->f[k] == NONE ? NULL : objs[m->f[k]]));
        garbage_total += m->garbage;
    }
    cur_slot = NONE;
    for (int i = 0; i < WEAKS; i++) {
        wslot *w = &W[i];
        if (!w->used) continue;
        cur_slot = w->target;
        CHECK(w->cb_actual == w->cb_expected);
        CHECK((w->w != NULL) == w->present);
        if (!w->present) {
            w->used = false;
            continue;
        }
        void *got = rc_weakref_get(w->w);
        if (w->cleared) {
            CHECK(got == NULL);
        } else {
            CHECK(M[w->target].alive);
            CHECK(got == objs[w->target]);
            rc_decref(got);
        }
    }
    cur_slot = NONE;
    CHECK(rc_gc_garbage(NULL, NULL) == garbage_total);
    if (full) {
        garbage_walk g;
        memset(&g, 0, sizeof g);
        rc_gc_garbage(garbage_visit, &g);
        CHECK(g.others == 0);
        for (int x = 0; x < SLOTS; x++) CHECK(g.count[x] == (M[x].alive ? M[x].garbage : 0));
        check_generations();
    }
}

/* After a young collection, or one with frozen objects: the library may
 * have done only what is safe — touched nothing reachable from the roots
 * (computed on the model, which is still the state before the step) —
 * and the model takes over what it did. */
static void resync(void) {
    bool reach[SLOTS];
    m_reachable(reach);
    garbage_walk g;
    memset(&g, 0, sizeof g);
    rc_gc_garbage(garbage_visit, &g);
    CHECK(g.others == 0);
    /* weak references first: their referents' state is still the model's */
    for (int i = 0; i < WEAKS; i++) {
        wslot *w = &W[i];
        if (!w->present || w->cleared) continue;
        cur_slot = w->target;
        void *got = w->w ? rc_weakref_get(w->w) : NULL; /* none: its callback dropped it */
        if (got) {
            CHECK(got == objs[w->target]);
            CHECK(act[w->target].destroys == 0);
            rc_decref(got);
        } else {
            CHECK(!reach[w->target]);
            m_weak_clear(i);
        }
    }
    for (int x = 0; x < SLOTS; x++) {
        cur_slot = x;
        mobj *m = &M[x];
        if (!m->alive) continue;
        const actual *a = &act[x];
        bool touched = false;
        if (a->destroys) {
            CHECK(a->destroys == 1);
            CHECK(!reach[x]);
            m->alive = false;
            m->res_held = false;
            m->garbage = 0;
            for (int k = 0; k < NF; k++) m->f[k] = NONE;
            touched = true;
        }
        if (a->finalizes != (m->finalized ? 1u : 0u)) {
            CHECK(a->finalizes == 1 && !m->finalized && kinds[m->kind].finalize);
            m->finalized = true;
            touched = true;
        }
        if (a->clears != m->clears) {
            CHECK(a->clears == m->clears + 1 && kinds[m->kind].clear);
            m->clears = a->clears;
            touched = true;
        }
        if (!m->alive) {
            CHECK(!touched || !reach[x]);
            continue;
        }
        fobj *o = objs[x];
        for (int k = 0; k < NF; k++) {
            void *want = m->f[k] == NONE ? NULL : objs[m->f[k]];
            if (o->f[k] == want) continue;
            CHECK(o->f[k] == NULL); /* only clear changes fields */
            m->f[k] = NONE;
            touched = true;
        }
        bool held = resurrected[x] != NULL;
        if (held != m->res_held) {
            CHECK(held && resurrected[x] == o && m->finalized && m->resurrect);
            m->res_held = true;
            touched = true;
        }
        if (g.count[x] != m->garbage) {
            CHECK(g.count[x] > m->garbage);
            m->garbage = g.count[x];
            touched = true;
        }
        CHECK(!touched || !reach[x]);
        CHECK(rc_gc_is_tracked(o) == m->tracked);
    }
    cur_slot = NONE;
    uint32_t count[SLOTS];
    m_counts(count);
    for (int x = 0; x < SLOTS; x++)
        if (M[x].alive) M[x].rc = count[x];
    /* and the generations the library put them in (frozen: in none) */
    for (int x = 0; x < SLOTS; x++) M[x].frozen = false;
    gen_walk seen = {.gen = -1};
    for (int gen = 0; gen < 3; gen++) {
        gen_walk gw = {.gen = -1};
        rc_gc_get_objects(gen, tracked_visit, &gw);
        for (int x = 0; x < SLOTS; x++)
            if (gw.seen[x]) {
                CHECK(!seen.seen[x]);
                seen.seen[x] = true;
                M[x].gen = (uint8_t)gen;
            }
    }
    for (int x = 0; x < SLOTS; x++)
        if (M[x].alive && M[x].tracked && !seen.seen[x]) M[x].frozen = true;
}
/* }==== */

/* {==== collections seen through a callback ==== */

static int gc_last_gen;
static size_t gc_last_found;

static void on_gc(rc_gc_phase phase, const rc_gc_info *info, void *arg) {
    (void)arg;
    if (phase == RC_GC_START) {
        gc_starts++;
        gc_last_gen = info->generation;
    } else {
        gc_stops++;
        CHECK(info->generation == gc_last_gen);
        gc_last_found = info->collected + info->uncollectable;
    }
}

/* Collections predicted exactly, and checked for safety only. */
static size_t exact_collections, safe_collections;

typedef struct before_op {
    size_t starts;
} before_op;

static before_op before(void) { return (before_op){gc_starts}; }

/* A step that may have collected once (rc_new, rc_weakref_new,
 * rc_gc_collect): apply the collection to the model. Returns the model's
 * count of the objects it found (0 when none ran). */
static size_t after(before_op b) {
    CHECK(gc_starts == gc_stops);
    if (gc_starts == b.starts) return 0;
    CHECK(gc_starts == b.starts + 1);
    size_t n = m_collect(gc_last_gen);
    CHECK(gc_last_found == n);
    exact_collections++;
    return n;
}

/* After a step whose references are dropped from the model's graph (fields,
 * roots, slots) but whose counts are not: the `n` objects of `pending` each
 * lost one. With no collection inside the step, the model releases them
 * exactly; a collection started by a noisy hook in the middle of a release
 * is checked for safety and taken over. */
static void settle(before_op b, const int *pending, size_t n) {
    CHECK(gc_starts == gc_stops);
    if (gc_starts == b.starts) {
        for (size_t i = 0; i < n; i++) m_decref(pending[i]);
        return;
    }
    safe_collections++;
    resync();
}
/* }==== */

/* {==== reading the program ==== */

typedef struct reader {
    const uint8_t *d;
    size_t n, i;
} reader;

static uint8_t u8(reader *r) { return r->i < r->n ? r->d[r->i++] : 0; }

/* The first live slot from b (wrapping), or NONE. */
static int pick_alive(uint8_t b) {
    for (int i = 0; i < SLOTS; i++) {
        int x = (b + i) % SLOTS;
        if (M[x].alive) return x;
    }
    return NONE;
}

static int pick_free(void) {
    for (int x = 0; x < SLOTS; x++)
        if (!M[x].used) return x;
    return NONE;
}

static size_t big_alive(void) {
    size_t n = 0;
    for (int x = 0; x < SLOTS; x++) n += M[x].alive && M[x].big;
    return n;
}
/* }==== */

/* {==== the ops ==== */

static void op_create(reader *r) {
    cur_op = "create";
    int kind = u8(r) % NKINDS;
    uint8_t flags = u8(r);
    int x = pick_free();
    if (x == NONE) return;
    cur_slot = x;
    bool big = (flags & 0x3E) == 0 && big_alive() < MAX_BIG;
    uint8_t noisy = (flags >> 5) == 7 ? 1 : (flags >> 5) == 6 ? 2 : 0; /* 1: collects -1, 2: collects 0 */
    before_op b = before();
    fobj *o = big ? rc_new_var(&kinds[kind], BIG_EXTRA) : rc_new(&kinds[kind]);
    CHECK(o != NULL);
    after(b); /* a collection runs before the object exists */
    for (int k = 0; k < NF; k++) CHECK(o->f[k] == NULL);
    o->slot = (uint32_t)x;
    o->serial = next_serial++;
    o->resurrect = flags & 1;
    o->noisy = noisy;
    objs[x] = o;
    act[x] = (actual){.serial = o->serial};
    M[x] = (mobj){.used = true, .alive = true, .big = big, .resurrect = flags & 1, .noisy = noisy,
                  .tracked = has_fields(kind),
                  .kind = (uint8_t)kind, .roots = 1, .rc = 1, .f = {NONE, NONE, NONE, NONE}};
    if (big) CHECK(rc_sizeof(o) >= sizeof(fobj) + BIG_EXTRA);
}

static void op_set_edge(reader *r) {
    cur_op = "set edge";
    int x = pick_alive(u8(r));
    int k = u8(r) % NF;
    uint8_t tb = u8(r);
    int t = tb % 9 == 8 ? NONE : pick_alive(tb);
    if (x == NONE || !has_fields(M[x].kind)) return;
    cur_slot = x;
    fobj *o = objs[x];
    int old = M[x].f[k];
    if (t != NONE) M[t].rc++;
    M[x].f[k] = t;
    before_op b = before();
    RC_SET(o->f[k], t == NONE ? NULL : objs[t]);
    settle(b, &old, old != NONE);
}

static void op_clear_edge(reader *r) {
    cur_op = "clear edge";
    int x = pick_alive(u8(r));
    int k = u8(r) % NF;
    if (x == NONE || !has_fields(M[x].kind)) return;
    cur_slot = x;
    fobj *o = objs[x];
    int old = M[x].f[k];
    M[x].f[k] = NONE;
    before_op b = before();
    RC_CLEAR(o->f[k]);
    settle(b, &old, old != NONE);
}

static void op_drop_root(reader *r) {
    cur_op = "drop root";
    uint8_t from = u8(r);
    for (int i = 0; i < SLOTS; i++) {
        int x = (from + i) % SLOTS;
        if (M[x].alive && M[x].roots) {
            cur_slot = x;
            M[x].roots--;
            before_op b = before();
            rc_decref(objs[x]);
            settle(b, &x, 1);
            return;
        }
    }
}

static void op_add_root(reader *r) {
    cur_op = "add root";
    int x = pick_alive(u8(r));
    if (x == NONE || M[x].roots >= MAX_ROOTS) return;
    cur_slot = x;
    rc_incref(objs[x]);
    M[x].roots++;
    M[x].rc++;
}

static void op_track(reader *r) {
    cur_op = "track/untrack";
    int x = pick_alive(u8(r));
    bool track = u8(r) & 1;
    if (x == NONE) return;
    cur_slot = x;
    if (track) {
        rc_gc_track(objs[x]); /* an error for a kind without traverse */
        if (has_fields(M[x].kind) && !M[x].tracked) {
            M[x].tracked = true;
            M[x].gen = 0;
            M[x].frozen = false;
        }
    } else {
        rc_gc_untrack(objs[x]);
        M[x].tracked = false;
        M[x].frozen = false;
    }
}

static void op_collect(reader *r) {
    cur_op = "collect";
    int gen = u8(r) % 4 - 1;
    before_op b = before();
    size_t got = rc_gc_collect(gen);
    CHECK(gc_starts == b.starts + 1);
    CHECK(gc_last_gen == (gen < 0 ? 2 : gen));
    CHECK(got == after(b));
    verify(true);
}

static void op_weak_new(reader *r) {
    cur_op = "weakref new";
    int x = pick_alive(u8(r));
    uint8_t mode = u8(r) % 3;
    int i;
    for (i = 0; i < WEAKS && (W[i].present || W[i].w); i++) continue;
    if (x == NONE || i == WEAKS) return;
    cur_slot = x;
    /* held by the caller for the call (rc_new inside may collect) */
    rc_incref(objs[x]);
    M[x].roots++;
    M[x].rc++;
    before_op b = before();
    bool cb = mode != WEAK_PLAIN;
    W[i] = (wslot){.target = x, .mode = mode}; /* no callback can come for it yet */
    rc_weakref *w = rc_weakref_new(objs[x], cb ? weak_cb : NULL, cb ? &W[i] : NULL);
    CHECK(w != NULL);
    after(b);
    CHECK(!M[x].alive || !W[i].cleared);
    W[i] = (wslot){.w = w, .present = true, .used = true, .target = x, .mode = mode};
    M[x].roots--;
    b = before();
    rc_decref(objs[x]);
    settle(b, &x, 1);
}

static void op_weak_drop(reader *r) {
    cur_op = "weakref drop";
    int i = u8(r) % WEAKS;
    if (!W[i].present) return;
    rc_weakref *w = W[i].w;
    W[i].w = NULL;
    W[i].present = false;
    rc_decref(w);
}

static void op_release_resurrected(reader *r) {
    cur_op = "release resurrected";
    uint8_t from = u8(r);
    for (int i = 0; i < SLOTS; i++) {
        int x = (from + i) % SLOTS;
        if (M[x].alive && M[x].res_held) {
            cur_slot = x;
            M[x].res_held = false;
            before_op b = before();
            RC_CLEAR(resurrected[x]);
            settle(b, &x, 1);
            return;
        }
    }
}

/* rc_gc_garbage_clear, in the model too. */
static void garbage_clear(void) {
    int pending[SLOTS * 4];
    size_t n = 0;
    for (int y = 0; y < SLOTS; y++)
        for (; M[y].alive && M[y].garbage; M[y].garbage--) {
            CHECK(n < sizeof pending / sizeof pending[0]);
            pending[n++] = y;
        }
    before_op b = before();
    rc_gc_garbage_clear();
    settle(b, pending, n);
}

typedef struct referrer_walk {
    int target;
    size_t count;
} referrer_walk;

static int referent_visit(void *obj, void *arg) {
    referrer_walk *w = arg;
    (void)slot_of(obj);
    w->count++;
    return 0;
}

static void op_misc(reader *r) {
    uint8_t what = u8(r) % 6;
    int x = pick_alive(u8(r));
    switch (what) {
    case 0:
        cur_op = "freeze";
        rc_gc_freeze();
        for (int y = 0; y < SLOTS; y++)
            if (M[y].alive && M[y].tracked) M[y].frozen = true;
        CHECK(rc_gc_get_freeze_count() == model_tracked() + unique_weakrefs());
        CHECK(rc_gc_get_objects(-1, NULL, NULL) == 0);
        break;
    case 1:
        cur_op = "unfreeze";
        rc_gc_unfreeze();
        for (int y = 0; y < SLOTS; y++)
            if (M[y].frozen) {
                M[y].frozen = false;
                M[y].gen = 2;
            }
        CHECK(rc_gc_get_freeze_count() == 0);
        check_generations();
        break;
    case 2:
        cur_op = "garbage clear";
        garbage_clear();
        break;
    case 3: {
        cur_op = "referents";
        if (x == NONE) break;
        cur_slot = x;
        referrer_walk w = {x, 0};
        size_t n = rc_gc_get_referents(objs[x], referent_visit, &w);
        size_t want = 0;
        for (int k = 0; k < NF; k++) want += M[x].f[k] != NONE;
        CHECK(n == want && w.count == want);
        break;
    }
    case 4: {
        cur_op = "referrers";
        if (x == NONE) break;
        cur_slot = x;
        referrer_walk w = {x, 0};
        size_t n = rc_gc_get_referrers(objs[x], referent_visit, &w);
        size_t want = 0;
        for (int y = 0; y < SLOTS; y++) {
            if (!M[y].alive || !M[y].tracked || M[y].frozen) continue;
            bool refers = false;
            for (int k = 0; k < NF; k++) refers |= M[y].f[k] == x;
            want += refers;
        }
        CHECK(n == want && w.count == want);
        break;
    }
    default:
        cur_op = "generations";
        check_generations();
        break;
    }
}

/* Drop everything; every object must die. */
static void release_all(void) {
    cur_op = "release all";
    rc_gc_unfreeze();
    for (int y = 0; y < SLOTS; y++)
        if (M[y].frozen) {
            M[y].frozen = false;
            M[y].gen = 2;
        }
    for (int x = 0; x < SLOTS; x++)
        for (int k = 0; k < NF && M[x].alive; k++) {
            int t = M[x].f[k];
            if (t == NONE) continue;
            cur_slot = x;
            fobj *o = objs[x];
            M[x].f[k] = NONE;
            before_op b = before();
            RC_CLEAR(o->f[k]);
            settle(b, &t, 1);
        }
    verify(false);
    for (int x = 0; x < SLOTS; x++)
        while (M[x].alive && M[x].roots) {
            cur_slot = x;
            M[x].roots--;
            before_op b = before();
            rc_decref(objs[x]);
            settle(b, &x, 1);
        }
    for (int i = 0; i < WEAKS; i++)
        if (W[i].present) {
            rc_decref(W[i].w);
            W[i].w = NULL;
            W[i].present = false;
        }
    garbage_clear();
    verify(false);
    for (int round = 0; round < 2; round++) /* a hook's collection may resurrect more */
        for (int x = 0; x < SLOTS; x++)
            if (M[x].alive && M[x].res_held) {
                cur_slot = x;
                M[x].res_held = false;
                before_op b = before();
                RC_CLEAR(resurrected[x]);
                settle(b, &x, 1);
            }
    cur_slot = NONE;
    verify(false);
    for (int x = 0; x < SLOTS; x++) CHECK(!M[x].alive);
    verify(true);
    CHECK(rc_gc_collect(-1) == 0);
    CHECK(rc_gc_get_objects(-1, NULL, NULL) == 0);
    CHECK(rc_gc_get_freeze_count() == 0);
    CHECK(rc_gc_garbage(NULL, NULL) == 0);
    for (int x = 0; x < SLOTS; x++) CHECK(!M[x].used && resurrected[x] == NULL);
}
/* }==== */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bool initialized;
    if (!initialized) {
        initialized = true;
        rc_set_message_handler(on_message, NULL);
        if (rc_gc_callback_add(on_gc, NULL) != 0) abort();
    }
    reader r = {data, size, 0};
    cur_step = 0;
    cur_slot = NONE;
    cur_op = "start";
    memset(M, 0, sizeof M);
    memset(W, 0, sizeof W);
    /* the settings, then a clean start: counts and generations at zero */
    static const size_t thresholds[8][3] = {{0, 10, 10}, {1, 1, 1},  {3, 2, 2},    {5, 3, 2},
                                            {10, 2, 5},  {20, 5, 5}, {700, 10, 10}, {0, 0, 0}};
    const size_t *t = thresholds[u8(&r) % 8];
    rc_gc_set_debug(0);
    rc_gc_enable();
    rc_gc_set_threshold(0, 10, 10);
    rc_gc_collect(-1);
    CHECK(rc_gc_get_objects(-1, NULL, NULL) == 0);
    CHECK(rc_gc_garbage(NULL, NULL) == 0);
    rc_gc_set_threshold(t[0], t[1], t[2]);

    while (r.i < r.n && cur_step < MAX_STEPS) {
        cur_step++;
        cur_slot = NONE;
        switch (u8(&r) % 16) {
        case 0:
        case 1: op_create(&r); break;
        case 2:
        case 3:
        case 4: op_set_edge(&r); break;
        case 5: op_clear_edge(&r); break;
        case 6:
        case 7: op_drop_root(&r); break;
        case 8: op_add_root(&r); break;
        case 9: op_track(&r); break;
        case 10:
        case 11: op_collect(&r); break;
        case 12: op_weak_new(&r); break;
        case 13: op_weak_drop(&r); break;
        case 14: op_release_resurrected(&r); break;
        default: op_misc(&r); break;
        }
        CHECK(gc_starts == gc_stops);
        verify(false);
    }
    /* a last full collection */
    cur_op = "final collect";
    before_op b = before();
    size_t got = rc_gc_collect(-1);
    CHECK(got == after(b));
    verify(true);
    release_all();
    CHECK(messages == 0);
    rc_gc_set_threshold(700, 10, 10);
    return 0;
}

#ifdef RC_FUZZ_REPLAY_MAIN
/* {==== the replay driver (fuzz_replay.h) ==== */
#define FUZZ_REPLAY_SEED 0x6C0FFEE5EED5EEDull
#include "fuzz_replay.h"

int main(int argc, char **argv) {
    int status = fuzz_replay_args(argc, argv, "fuzz_gc_replay");
    if (status >= 0) return status;
    size_t steps = fuzz_replay_inputs(2000, &cur_step);
    printf("fuzz_gc_replay: 2000 inputs, %zu steps, %zu collections predicted exactly, %zu steps with collections "
           "checked for safety (%zu started by hooks); all checks passed\n",
           steps, exact_collections, safe_collections, hook_collections);
    return 0;
}
/* }==== */
#endif
