/*
 * test_gen.c — generators (reclaim.h section 6.10): the yield sequence,
 * finishing for good, the locals' references (released when the generator
 * finishes, fails or dies suspended, traversed while suspended so cycles
 * through them are collected), re-entry refused, failure through
 * RC_GEN_FAIL and through a yield of NULL, and generators feeding rc_map
 * and rc_list_from_iter. The macros are compiled here with -Wextra
 * (-Wimplicit-fallthrough) under gcc and clang.
 */
#include "types_util.h"

/* {==== bodies ==== */

typedef struct count_locals {
    int64_t i, n;
} count_locals;

/* Yields i*i + big for i in [0, n): ints outside the small-int cache, so
 * reference counts are real. */
static int squares(void *gen, void **out) {
    count_locals *l = rc_gen_locals(gen);
    RC_GEN_BEGIN(gen);
    for (l->i = 0; l->i < l->n; l->i++) RC_YIELD(gen, out, rc_int_new(l->i * l->i + 1000));
    RC_GEN_END(gen);
}

static void *make_squares(int64_t n) {
    void *g = rc_gen_new(squares, sizeof(count_locals), 0);
    assert_non_null(g);
    ((count_locals *)rc_gen_locals(g))->n = n;
    return g;
}

/* Several yields per line, in nested loops, ifs and a while. */
static int shapes(void *gen, void **out) {
    count_locals *l = rc_gen_locals(gen);
    RC_GEN_BEGIN(gen);
    RC_YIELD(gen, out, rc_int_new(-1)); RC_YIELD(gen, out, rc_int_new(-2));
    for (l->i = 0; l->i < 3; l->i++) {
        if (l->i % 2 == 0) RC_YIELD(gen, out, rc_int_new(l->i));
        else RC_YIELD(gen, out, rc_int_new(100 + l->i));
        l->n = 0;
        while (l->n < l->i) {
            RC_YIELD(gen, out, rc_int_new(1000 + l->n));
            l->n++;
        }
    }
    RC_GEN_END(gen);
}

/* Locals with one owned reference, then counters. */
typedef struct ref_locals {
    void *obj;
    int64_t i, n;
} ref_locals;

/* Yields n new references to its obj. */
static int repeat_obj(void *gen, void **out) {
    ref_locals *l = rc_gen_locals(gen);
    RC_GEN_BEGIN(gen);
    for (l->i = 0; l->i < l->n; l->i++) RC_YIELD(gen, out, rc_incref(l->obj));
    RC_GEN_END(gen);
}

static void *make_repeat(void *obj, int64_t n) {
    void *g = rc_gen_new(repeat_obj, sizeof(ref_locals), 1);
    assert_non_null(g);
    ref_locals *l = rc_gen_locals(g);
    l->obj = rc_incref(obj);
    l->n = n;
    return g;
}

static int fail_after_two(void *gen, void **out) {
    count_locals *l = rc_gen_locals(gen);
    (void)l;
    RC_GEN_BEGIN(gen);
    RC_YIELD(gen, out, rc_int_new(1));
    RC_YIELD(gen, out, rc_int_new(2));
    _rc_set_error("fail_after_two: no third item");
    RC_GEN_FAIL(gen);
    RC_GEN_END(gen);
}

static int yield_null(void *gen, void **out) {
    RC_GEN_BEGIN(gen);
    RC_YIELD(gen, out, rc_int_new(7));
    _rc_set_error("yield_null: the allocation failed");
    RC_YIELD(gen, out, NULL);
    RC_YIELD(gen, out, rc_int_new(8)); /* never reached */
    RC_GEN_END(gen);
}

/* Calls rc_next on itself while running and yields what that returned,
 * then the error message's first letter as an int. */
typedef struct reenter_locals {
    int inner_rc;
    char inner_error[96];
} reenter_locals;

static int reenter(void *gen, void **out) {
    reenter_locals *l = rc_gen_locals(gen);
    RC_GEN_BEGIN(gen);
    {
        void *x = (void *)1;
        l->inner_rc = rc_next(gen, &x);
        snprintf(l->inner_error, sizeof l->inner_error, "%s", rc_last_error());
        if (x != NULL) l->inner_rc = 99; /* *out must be NULL on failure */
    }
    RC_YIELD(gen, out, rc_int_new(l->inner_rc));
    RC_YIELD(gen, out, rc_int_new(5));
    RC_GEN_END(gen);
}

/* Drops the reference its caller handed over (in locals, not owned) and
 * then yields: the generator must stay alive until the call returns. */
typedef struct drop_locals {
    void *caller_ref;
} drop_locals;

static int drop_self(void *gen, void **out) {
    drop_locals *l = rc_gen_locals(gen);
    RC_GEN_BEGIN(gen);
    rc_decref(l->caller_ref);
    l->caller_ref = NULL;
    RC_YIELD(gen, out, rc_int_new(12345));
    RC_GEN_END(gen);
}

/* Runs a full collection while it holds, in its locals only, the sole
 * reference to a fresh object; yields that object afterwards. */
static int collect_inside(void *gen, void **out) {
    ref_locals *l = rc_gen_locals(gen);
    RC_GEN_BEGIN(gen);
    l->obj = rc_str_from_cstr("kept across a collection");
    if (!l->obj) RC_GEN_FAIL(gen);
    RC_YIELD(gen, out, rc_int_new(1));
    rc_gc_collect(-1);
    RC_YIELD(gen, out, rc_incref(l->obj));
    RC_GEN_END(gen);
}

static int empty_body(void *gen, void **out) {
    (void)out;
    RC_GEN_BEGIN(gen);
    RC_GEN_END(gen);
}
/* }==== */

/* {==== helpers ==== */

/* Drain it into vals (up to max); returns the count, or -1 if rc_next
 * failed (the count so far in *n). */
static int drain(void *it, int64_t *vals, size_t max, size_t *n) {
    *n = 0;
    void *x;
    int r;
    while ((r = rc_next(it, &x)) == 1) {
        if (*n < max) vals[*n] = rc_int_value(x);
        ++*n;
        rc_decref(x);
    }
    return r;
}

static void assert_exhausted(void *it) {
    void *x = (void *)1;
    for (int k = 0; k < 3; k++) {
        assert_int_equal(rc_next(it, &x), 0);
        assert_null(x);
    }
}
/* }==== */

static void test_yield_sequence(void **state) {
    (void)state;
    void *g = make_squares(5);
    assert_true(rc_type_of(g) == &rc_gen_type);
    assert_int_equal(*rc_gen_resume_point(g), 0);
    void *x;
    for (int64_t i = 0; i < 5; i++) {
        assert_int_equal(rc_next(g, &x), 1);
        assert_int_equal(rc_int_value(x), i * i + 1000);
        assert_int_equal(rc_refcount(x), 1); /* the caller owns the only reference */
        rc_decref(x);
        assert_true(*rc_gen_resume_point(g) > 0);
    }
    assert_int_equal(rc_next(g, &x), 0);
    assert_int_equal(*rc_gen_resume_point(g), -1);
    assert_exhausted(g);
    assert_int_equal(rc_refcount(g), 1);
    rc_decref(g);
}

static void test_rc_iter_returns_itself(void **state) {
    (void)state;
    void *g = make_squares(1);
    void *it = rc_iter(g);
    assert_ptr_equal(it, g);
    assert_int_equal(rc_refcount(g), 2);
    rc_decref(it);
    rc_decref(g);
}

static void test_empty_and_zero_locals(void **state) {
    (void)state;
    void *g = rc_gen_new(empty_body, 0, 0);
    assert_non_null(g);
    assert_exhausted(g);
    rc_decref(g);
    g = make_squares(0);
    assert_exhausted(g);
    rc_decref(g);
}

static void test_shapes(void **state) {
    (void)state;
    void *g = rc_gen_new(shapes, sizeof(count_locals), 0);
    int64_t v[32];
    size_t n;
    assert_int_equal(drain(g, v, 32, &n), 0);
    int64_t want[] = {-1, -2, 0, 101, 1000, 2, 1000, 1001};
    assert_int_equal(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++) assert_int_equal(v[i], want[i]);
    assert_exhausted(g);
    rc_decref(g);
}

static void test_locals_aligned_and_zeroed(void **state) {
    (void)state;
    for (size_t size = 1; size < 200; size += 37) {
        void *g = rc_gen_new(empty_body, size, 0);
        assert_non_null(g);
        unsigned char *l = rc_gen_locals(g);
        assert_int_equal((uintptr_t)l % 16, 0);
        for (size_t i = 0; i < size; i++) assert_int_equal(l[i], 0);
        rc_decref(g);
    }
}

static void test_repr_and_tracking(void **state) {
    (void)state;
    void *g = make_squares(3);
    void *r = rc_repr(g);
    assert_non_null(r);
    assert_true(strncmp(rc_str_cstr(r), "<generator object at 0x", 23) == 0);
    assert_int_equal(rc_str_cstr(r)[rc_str_size(r) - 1], '>');
    rc_decref(r);
    assert_true(rc_gc_is_tracked(g));
    rc_decref(g);
}

static void test_bad_arguments(void **state) {
    (void)state;
    clear_error();
    assert_null(rc_gen_new(NULL, 8, 0));
    ERROR_HAS("rc_gen_new: function is NULL");
    clear_error();
    assert_null(rc_gen_new(squares, 8, 2));
    ERROR_HAS("rc_gen_new: 2 references do not fit in 8 bytes");
    assert_null(rc_gen_new(squares, 0, 1));
    void *s = rc_str_from_cstr("not a generator");
    clear_error();
    assert_null(rc_gen_locals(s));
    ERROR_HAS("rc_gen_locals: expected a generator, got str");
    clear_error();
    assert_null(rc_gen_resume_point(s));
    ERROR_HAS("rc_gen_resume_point: expected a generator, got str");
    assert_null(rc_gen_locals(NULL));
    ERROR_HAS("got NULL");
    rc_decref(s);
    /* a generator with exactly nrefs * 8 bytes of locals is fine */
    void *g = rc_gen_new(squares, 2 * sizeof(void *), 2);
    assert_non_null(g);
    rc_decref(g);
}

static void test_refs_released_when_finished(void **state) {
    (void)state;
    void *s = rc_str_from_cstr("held by the generator");
    void *g = make_repeat(s, 2);
    assert_int_equal(rc_refcount(s), 2);
    void *x;
    assert_int_equal(rc_next(g, &x), 1);
    assert_ptr_equal(x, s);
    assert_int_equal(rc_refcount(s), 3);
    rc_decref(x);
    assert_int_equal(rc_next(g, &x), 1);
    rc_decref(x);
    assert_int_equal(rc_refcount(s), 2); /* suspended: still held */
    assert_int_equal(rc_next(g, &x), 0);
    assert_int_equal(rc_refcount(s), 1); /* finished: released at once */
    assert_null(((ref_locals *)rc_gen_locals(g))->obj);
    assert_exhausted(g);
    rc_decref(g);
    assert_int_equal(rc_refcount(s), 1);
    rc_decref(s);
}

static void test_refs_released_when_dying_suspended(void **state) {
    (void)state;
    void *s = rc_str_from_cstr("held");
    void *g = make_repeat(s, 10);
    void *x;
    assert_int_equal(rc_next(g, &x), 1);
    rc_decref(x);
    assert_int_equal(rc_refcount(s), 2);
    rc_decref(g);
    assert_int_equal(rc_refcount(s), 1);
    /* never started */
    g = make_repeat(s, 10);
    assert_int_equal(rc_refcount(s), 2);
    rc_decref(g);
    assert_int_equal(rc_refcount(s), 1);
    rc_decref(s);
}

static void test_self_cycle_collected(void **state) {
    (void)state;
    /* the generator's own locals reference it: a cycle of one */
    void *g = rc_gen_new(repeat_obj, sizeof(ref_locals), 1);
    ref_locals *l = rc_gen_locals(g);
    l->obj = rc_incref(g);
    l->n = 5;
    void *x;
    assert_int_equal(rc_next(g, &x), 1);
    assert_ptr_equal(x, g);
    rc_decref(x);
    rc_weakref *w = rc_weakref_new(g, NULL, NULL);
    assert_non_null(w);
    rc_decref(g); /* suspended, unreachable, kept alive by the cycle */
    void *alive = rc_weakref_get(w);
    assert_ptr_equal(alive, g);
    rc_decref(alive);
    assert_true(rc_gc_collect(-1) >= 1);
    assert_null(rc_weakref_get(w));
    rc_decref(w);
}

static void test_two_generator_cycle_collected(void **state) {
    (void)state;
    void *a = rc_gen_new(repeat_obj, sizeof(ref_locals), 1);
    void *b = rc_gen_new(repeat_obj, sizeof(ref_locals), 1);
    ((ref_locals *)rc_gen_locals(a))->obj = rc_incref(b);
    ((ref_locals *)rc_gen_locals(b))->obj = rc_incref(a);
    ((ref_locals *)rc_gen_locals(a))->n = 3;
    void *x;
    assert_int_equal(rc_next(a, &x), 1);
    assert_ptr_equal(x, b);
    rc_decref(x);
    rc_decref(a);
    rc_decref(b);
    assert_true(rc_gc_collect(-1) >= 2);
}

static void test_cycle_through_list_collected(void **state) {
    (void)state;
    /* a suspended generator whose locals reference a list that references
     * the generator */
    void *list = rc_list_new();
    assert_non_null(list);
    void *g = make_repeat(list, 3);
    assert_int_equal(rc_list_append(list, g), 0);
    void *x;
    assert_int_equal(rc_next(g, &x), 1);
    assert_ptr_equal(x, list);
    rc_decref(x);
    rc_weakref *w = rc_weakref_new(list, NULL, NULL);
    rc_decref(list);
    rc_decref(g);
    assert_true(rc_gc_collect(-1) >= 2);
    assert_null(rc_weakref_get(w));
    rc_decref(w);
}

static void test_finished_generator_leaves_cycle(void **state) {
    (void)state;
    /* once finished, the generator drops its locals, so the list that
     * references it is freed by reference counting alone */
    void *list = rc_list_new();
    void *g = make_repeat(list, 1);
    assert_int_equal(rc_list_append(list, g), 0);
    rc_decref(list);
    assert_int_equal(rc_refcount(g), 2);
    void *x;
    assert_int_equal(rc_next(g, &x), 1);
    rc_decref(x);
    assert_int_equal(rc_next(g, &x), 0); /* releases the list, which releases g */
    assert_int_equal(rc_refcount(g), 1);
    rc_decref(g);
}

static void test_reentry_refused(void **state) {
    (void)state;
    void *g = rc_gen_new(reenter, sizeof(reenter_locals), 0);
    void *x;
    assert_int_equal(rc_next(g, &x), 1);
    assert_int_equal(rc_int_value(x), -1);
    rc_decref(x);
    reenter_locals *l = rc_gen_locals(g);
    assert_string_equal(l->inner_error, "rc_next: generator already executing");
    /* the refused call did not disturb the outer one */
    assert_int_equal(rc_next(g, &x), 1);
    assert_int_equal(rc_int_value(x), 5);
    rc_decref(x);
    assert_exhausted(g);
    rc_decref(g);
}

static void test_gen_fail(void **state) {
    (void)state;
    void *s = rc_str_from_cstr("released on failure");
    void *g = rc_gen_new(fail_after_two, sizeof(ref_locals), 1);
    ((ref_locals *)rc_gen_locals(g))->obj = rc_incref(s);
    int64_t v[4];
    size_t n;
    clear_error();
    assert_int_equal(drain(g, v, 4, &n), -1);
    assert_int_equal(n, 2);
    assert_int_equal(v[0], 1);
    assert_int_equal(v[1], 2);
    ERROR_HAS("fail_after_two: no third item");
    assert_int_equal(*rc_gen_resume_point(g), -1);
    assert_int_equal(rc_refcount(s), 1);
    assert_exhausted(g);
    rc_decref(g);
    rc_decref(s);
}

static void test_yield_null_fails(void **state) {
    (void)state;
    void *g = rc_gen_new(yield_null, 0, 0);
    void *x;
    assert_int_equal(rc_next(g, &x), 1);
    assert_int_equal(rc_int_value(x), 7);
    clear_error();
    assert_int_equal(rc_next(g, &x), -1);
    assert_null(x);
    ERROR_HAS("yield_null: the allocation failed");
    assert_exhausted(g);
    rc_decref(g);
}

static void test_alive_while_running(void **state) {
    (void)state;
    void *g = rc_gen_new(drop_self, sizeof(drop_locals), 0);
    rc_weakref *w = rc_weakref_new(g, NULL, NULL);
    ((drop_locals *)rc_gen_locals(g))->caller_ref = g; /* the body drops our reference */
    void *x;
    assert_int_equal(rc_next(g, &x), 1); /* g dies when this call returns */
    assert_int_equal(rc_int_value(x), 12345);
    rc_decref(x);
    assert_null(rc_weakref_get(w));
    rc_decref(w);
}

static void test_collection_inside_body(void **state) {
    (void)state;
    void *g = rc_gen_new(collect_inside, sizeof(ref_locals), 1);
    void *x;
    assert_int_equal(rc_next(g, &x), 1);
    rc_decref(x);
    assert_int_equal(rc_next(g, &x), 1); /* collects while running */
    assert_string_equal(rc_str_cstr(x), "kept across a collection");
    assert_int_equal(rc_refcount(x), 2);
    void *y;
    assert_int_equal(rc_next(g, &y), 0); /* finished: the locals let go */
    assert_int_equal(rc_refcount(x), 1);
    rc_decref(g);
    rc_decref(x);
}

static void test_collect_suspended_reachable(void **state) {
    (void)state;
    /* a suspended generator that is reachable keeps its locals across a
     * collection */
    void *s = rc_str_from_cstr("kept");
    void *g = make_repeat(s, 3);
    rc_decref(s);
    void *x;
    assert_int_equal(rc_next(g, &x), 1);
    rc_decref(x);
    rc_gc_collect(-1);
    assert_int_equal(rc_next(g, &x), 1);
    assert_string_equal(rc_str_cstr(x), "kept");
    rc_decref(x);
    rc_decref(g);
}

static void *plus_one(void *item, void *arg) {
    (void)arg;
    return rc_int_new(rc_int_value(item) + 1);
}

static void test_generator_as_map_source(void **state) {
    (void)state;
    void *g = make_squares(4);
    void *m = rc_map(plus_one, NULL, g);
    assert_non_null(m);
    assert_int_equal(rc_refcount(g), 2);
    assert_true(rc_gc_is_tracked(m)); /* its source is tracked */
    int64_t v[8];
    size_t n;
    assert_int_equal(drain(m, v, 8, &n), 0);
    assert_int_equal(n, 4);
    for (int64_t i = 0; i < 4; i++) assert_int_equal(v[i], i * i + 1001);
    assert_int_equal(rc_refcount(g), 1); /* the map dropped it when exhausted */
    assert_exhausted(g);
    rc_decref(m);
    rc_decref(g);
}

static void test_generator_failure_through_map(void **state) {
    (void)state;
    void *g = rc_gen_new(fail_after_two, sizeof(count_locals), 0);
    void *m = rc_map(plus_one, NULL, g);
    rc_decref(g);
    int64_t v[8];
    size_t n;
    clear_error();
    assert_int_equal(drain(m, v, 8, &n), -1);
    assert_int_equal(n, 2);
    ERROR_HAS("fail_after_two");
    assert_exhausted(m);
    rc_decref(m);
}

static void test_list_from_generator(void **state) {
    (void)state;
    void *g = make_squares(300);
    void *list = rc_list_from_iter(g);
    assert_non_null(list);
    assert_int_equal(rc_list_len(list), 300);
    for (int64_t i = 0; i < 300; i++) assert_int_equal(rc_int_value(rc_list_get(list, i)), i * i + 1000);
    assert_int_equal(rc_refcount(rc_list_get(list, 299)), 1);
    assert_exhausted(g);
    rc_decref(list);
    list = rc_list_from_iter(g); /* finished: empty */
    assert_int_equal(rc_list_len(list), 0);
    rc_decref(list);
    rc_decref(g);
}

static void test_many_generators(void **state) {
    (void)state;
    /* many generators alive at once, each half-run, freed in a cycle-free
     * way: exercises automatic collections while they are suspended */
    enum { N = 5000 };
    void **gens = malloc(N * sizeof *gens);
    void *s = rc_str_from_cstr("shared");
    for (int i = 0; i < N; i++) {
        gens[i] = make_repeat(s, 2);
        void *x;
        assert_int_equal(rc_next(gens[i], &x), 1);
        rc_decref(x);
    }
    assert_int_equal(rc_refcount(s), N + 1);
    for (int i = 0; i < N; i++) rc_decref(gens[i]);
    assert_int_equal(rc_refcount(s), 1);
    rc_decref(s);
    free(gens);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        TYPES_TEST(test_yield_sequence),
        TYPES_TEST(test_rc_iter_returns_itself),
        TYPES_TEST(test_empty_and_zero_locals),
        TYPES_TEST(test_shapes),
        TYPES_TEST(test_locals_aligned_and_zeroed),
        TYPES_TEST(test_repr_and_tracking),
        TYPES_TEST(test_bad_arguments),
        TYPES_TEST(test_refs_released_when_finished),
        TYPES_TEST(test_refs_released_when_dying_suspended),
        TYPES_TEST(test_self_cycle_collected),
        TYPES_TEST(test_two_generator_cycle_collected),
        TYPES_TEST(test_cycle_through_list_collected),
        TYPES_TEST(test_finished_generator_leaves_cycle),
        TYPES_TEST(test_reentry_refused),
        TYPES_TEST(test_gen_fail),
        TYPES_TEST(test_yield_null_fails),
        TYPES_TEST(test_alive_while_running),
        TYPES_TEST(test_collection_inside_body),
        TYPES_TEST(test_collect_suspended_reachable),
        TYPES_TEST(test_generator_as_map_source),
        TYPES_TEST(test_generator_failure_through_map),
        TYPES_TEST(test_list_from_generator),
        TYPES_TEST(test_many_generators),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
