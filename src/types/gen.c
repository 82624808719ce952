/*
 * gen.c — generators (reclaim.h section 6.10): a C function that yields a
 * stream of items, suspended between items without a stack of its own.
 *
 * The technique is the protothreads one: the body is a switch over a
 * resume point, RC_YIELD stores a case label's number as the resume point
 * and returns, and the next call jumps straight back to that label. A C
 * local does not survive the return, so whatever the body needs across a
 * yield lives in the generator object, in a locals struct the user
 * declares:
 *
 *   payload: fn | resume point | nrefs, running | locals (16-byte aligned)
 *   one block of 16 (header) + 16 + locals_size bytes; CPython's
 *   generator with its frame takes about 200 bytes before any local.
 *
 * The first nrefs fields of the locals are object references the
 * generator owns: the collector traverses them (a suspended generator
 * takes part in cycles), and they are released the moment the generator
 * finishes (so a generator run to its end holds nothing) or dies
 * suspended.
 *
 * States, and who moves between them:
 *   resume == 0      created, not started            (rc_gen_new)
 *   resume > 0       suspended at a yield            (RC_YIELD)
 *   running == 1     inside the body                 (set and cleared by gen_next)
 *   resume == -1     finished: the locals' references are released and
 *                    every rc_next returns 0          (RC_GEN_END, RC_GEN_FAIL,
 *                    gen_next on 0, -1 or a yield of NULL, the collector's clear)
 * A running generator refuses rc_next ("generator already executing",
 * as Python's ValueError) without changing state: the outer call goes on.
 * While running, the generator holds a reference to itself, so code in the
 * body that drops the last outside reference cannot free it under the
 * body's feet.
 */
#include <string.h>

#include "internal/types.h"

typedef struct gen_obj {
    rc_gen_fn fn;
    int resume;           /* 0 start, > 0 a yield's label, -1 finished */
    uint32_t nrefs : 31;  /* leading void * fields of locals that are owned references */
    uint32_t running : 1; /* inside fn right now */
    _Alignas(16) unsigned char locals[];
} gen_obj;

_Static_assert(sizeof(gen_obj) == 16, "the locals start 16 bytes into the payload, 16-byte aligned");

static inline void **gen_refs(gen_obj *g) { return (void **)(void *)g->locals; }

static int gen_traverse(void *self, rc_visit_fn visit, void *arg) {
    gen_obj *g = self;
    void **refs = gen_refs(g);
    for (size_t i = 0; i < g->nrefs; i++) {
        if (refs[i]) {
            int r = visit(refs[i], arg);
            if (r) return r;
        }
    }
    return 0;
}

/* Release the locals' references (each slot is NULL before its decref,
 * which may run user code). */
static void gen_release(gen_obj *g) {
    void **refs = gen_refs(g);
    for (size_t i = 0; i < g->nrefs; i++) RC_CLEAR(refs[i]);
}

static void gen_clear(void *self) {
    gen_obj *g = self;
    g->resume = -1; /* its locals are gone: it must never resume */
    gen_release(g);
}

static void gen_destroy(void *self) { gen_release(self); }

static int gen_next(void *self, void **out) {
    gen_obj *g = self;
    if (g->resume == -1) return 0;
    if (RC_UNLIKELY(g->running)) {
        _rc_set_error("rc_next: generator already executing");
        return -1;
    }
    g->running = 1;
    rc_incref(g);
    *out = NULL;
    int r = g->fn(g, out);
    g->running = 0;
    if (RC_LIKELY(r == 1 && *out != NULL)) {
        rc_decref(g);
        return 1;
    }
    if (r == 1) {
        if (!rc_last_error()[0]) _rc_set_error("rc_next: generator yielded NULL");
        r = -1;
    } else if (r < 0) {
        if (!rc_last_error()[0]) _rc_set_error("rc_next: generator failed");
        r = -1;
    } else if (r > 1) {
        _rc_set_error("rc_next: generator function returned %d", r);
        r = -1;
    }
    *out = NULL;
    g->resume = -1;
    gen_release(g);
    rc_decref(g);
    return r;
}

const rc_type rc_gen_type = {.name = "generator", /* the default repr: <generator object at 0x...> */
                             .size = sizeof(gen_obj),
                             .traverse = gen_traverse,
                             .clear = gen_clear,
                             .destroy = gen_destroy,
                             .next = gen_next,
                             .flags = RC_TYPE_BUILTIN};

void *rc_gen_new(rc_gen_fn fn, size_t locals_size, size_t nrefs) {
    RC_USER_FRAME();
    if (!fn) {
        _rc_set_error("rc_gen_new: function is NULL");
        return NULL;
    }
    if (nrefs > locals_size / sizeof(void *) || nrefs > INT32_MAX) {
        _rc_set_error("rc_gen_new: %zu references do not fit in %zu bytes of locals", nrefs, locals_size);
        return NULL;
    }
    gen_obj *g = rc_new_var(&rc_gen_type, locals_size);
    if (!g) return NULL;
    g->fn = fn;
    g->nrefs = (uint32_t)nrefs & INT32_MAX;
    return g;
}

void *rc_gen_locals(void *gen) {
    if (!_rc_expect("rc_gen_locals", gen, &rc_gen_type, "a generator")) return NULL;
    return ((gen_obj *)gen)->locals;
}

int *rc_gen_resume_point(void *gen) {
    if (!_rc_expect("rc_gen_resume_point", gen, &rc_gen_type, "a generator")) return NULL;
    return &((gen_obj *)gen)->resume;
}
