/*
 * test_type_sites.c — the allocations the built-in types make for the user
 * (a list's item array, a dict's table, the str rc_str_concat returns, the
 * iterator rc_iter makes, the float rc_next boxes...) are traced to the
 * user's call of the container function, not to the line of src/types
 * that allocates (RC_USER_FRAME, src/internal/types.h; docs/profiling.md).
 *
 * Each operation runs on a line of its own, through OP(), which notes the
 * line and the traced bytes the call added (rc_trace_get_traced_memory
 * before and after). The operations are chosen so that none frees a block
 * traced at another line, so the snapshot's row for that line must hold
 * exactly those bytes, and the rows together exactly the sum: nothing may
 * be left to a frame inside the library.
 *
 * By function, every byte must be the workload function's. With libdw
 * (RC_HAVE_LIBDW) a frame also reads as this file and the line of the
 * call, checked row by row. Without it the symbolizer (dladdr) gives the
 * executable's path, line 0 and the exported function's name (a frame
 * left in the library reads "+0x..."): the workload functions are
 * therefore not static, noinline, and the binary exports them
 * (ENABLE_EXPORTS, see tests/types.cmake).
 *
 *   by_line      one call of each allocating function that keeps what it
 *                allocates: each call's bytes at its own line, no row in
 *                src/types
 *   nested       rc_list_extend (rc_iter, rc_next boxing ints,
 *                rc_list_append_steal inside), rc_array_to_list,
 *                rc_str_join over an iterator, rc_set_from_iter: the outer
 *                call's line takes everything made inside
 *   cleared      after each call (a failing one too) the noted return
 *                address is gone: a plain (rc_malloc) right after is traced
 *                to its own line
 *   off          with no hook on, the calls note nothing
 */
#include "types_util.h"

#define NOINLINE __attribute__((noinline))

/* exported (not static), so the symbolizer names them without libdw */
void sites_by_line(void);
void sites_nested(void);
void sites_cleared(void);

typedef struct op {
    unsigned line;
    size_t bytes;
    const char *what;
} op;

static op ops[128];
static int nops;

static size_t traced_now(void) {
    size_t cur;
    rc_trace_get_traced_memory(&cur, NULL);
    return cur;
}

/* Run stmt (written on the same line as OP) and note its line and the
 * traced bytes it added. */
#define OP(what, stmt)                                                   \
    do {                                                                 \
        size_t op_before_ = traced_now();                                \
        unsigned op_line_ = __LINE__;                                    \
        stmt;                                                            \
        assert_true(nops < (int)(sizeof ops / sizeof ops[0]));           \
        ops[nops++] = (op){op_line_, traced_now() - op_before_, (what)}; \
        assert_null(_rc_user_ra);                                        \
    } while (0)

/* Room in generation 0 for more objects than a test makes, before
 * tracing starts: the collector's vector of young objects, which grows
 * inside whatever call makes a tracked object, then never moves during a
 * test (a block traced at one line, reallocated at another, would spoil
 * the count of both). A young collection keeps the vector it examined for
 * the next generation 0, empty. */
static void young_room(void) {
    static void *tmp[2000];
    for (size_t i = 0; i < sizeof tmp / sizeof tmp[0]; i++) assert_non_null(tmp[i] = rc_list_new());
    rc_gc_collect(0);
    for (size_t i = 0; i < sizeof tmp / sizeof tmp[0]; i++) rc_decref(tmp[i]);
}

static int setup(void **state) {
    nops = 0;
    rc_gc_disable(); /* no collection inside a constructor: exact bytes */
    int r = types_setup(state);
    young_room();
    return r;
}

static int teardown(void **state) {
    rc_trace_stop();
    rc_gc_enable();
    return types_teardown(state);
}

/* Check the snapshot against ops[0..nops), made by the function named fn:
 * by function, one row, fn's, holding every byte (a frame left inside the
 * library is another function: with libdw its own name, without it the
 * nearest export's or "+0x..."); with libdw also by line, one row per call
 * at its line holding what the call added, and none in src/types. */
static void check_rows(const char *fn) {
    rc_snapshot *s = rc_snapshot_take();
    assert_non_null(s);
    size_t want = 0;
    for (int i = 0; i < nops; i++) {
        if (ops[i].bytes == 0) fail_msg("%s (line %u) allocated nothing traced", ops[i].what, ops[i].line);
        want += ops[i].bytes;
    }
    rc_trace_stat *rows;
    int64_t n = rc_snapshot_statistics(s, RC_BY_FUNCTION, &rows);
    for (int64_t r = 0; r < n; r++)
        if (strcmp(rows[r].frames[0].function, fn) != 0)
            fail_msg("%zu bytes traced to %s in %s, not to %s", rows[r].size, rows[r].frames[0].function,
                     rows[r].frames[0].file, fn);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].size, want);
    rc_free(rows);
#if RC_HAVE_LIBDW
    n = rc_snapshot_statistics(s, RC_BY_LINE, &rows);
    for (int64_t r = 0; r < n; r++) {
        const rc_frame *f = &rows[r].frames[0];
        if (strstr(f->file, "src/types") || !strstr(f->file, "test_type_sites.c"))
            fail_msg("row %s:%u (%s), %zu bytes: not this file", f->file, f->line, f->function, rows[r].size);
    }
    for (int i = 0; i < nops; i++) {
        const rc_trace_stat *row = NULL;
        for (int64_t r = 0; r < n && !row; r++)
            if (rows[r].frames[0].line == ops[i].line) row = &rows[r];
        if (!row) fail_msg("%s: no row at line %u", ops[i].what, ops[i].line);
        if (row->size != ops[i].bytes)
            fail_msg("%s: line %u holds %zu bytes, the call added %zu", ops[i].what, ops[i].line, row->size,
                     ops[i].bytes);
    }
    assert_int_equal(n, nops); /* one row per call, no other */
    rc_free(rows);
#endif
    rc_snapshot_free(s);
}

/* ---- every kind of allocating function, one call per line ---------------- */

static void *bl_objs[96];
static int bl_n;
#define KEEP(x) (assert_true(bl_n < (int)(sizeof bl_objs / sizeof bl_objs[0])), bl_objs[bl_n++] = (x))

static int empty_body(void *gen, void **out) {
    (void)out;
    RC_GEN_BEGIN(gen);
    RC_GEN_END(gen);
}
static void *same(void *item, void *arg) {
    (void)arg;
    return rc_incref(item);
}
static int keep_all(void *item, void *arg) {
    (void)item;
    (void)arg;
    return 1;
}

/* A list of n references to the immortal 1 (its item array untraced when
 * made before tracing starts). */
static void *ones(int n) {
    void *l = rc_list_new();
    for (int i = 0; i < n; i++) assert_int_equal(rc_list_append(l, rc_int_new(1)), 0);
    return l;
}

/* A non-ASCII str of 600 bytes: long enough for a code-point index. */
static void *long_text(void) {
    char buf[601];
    for (int i = 0; i < 600; i += 2) memcpy(buf + i, "\xc3\xa9", 2); /* U+00E9 */
    return rc_str_new(buf, 600);
}

NOINLINE void sites_by_line(void) {
    void *one = rc_int_new(1); /* immortal: no allocation */
    /* made before tracing starts: not traced */
    void *a = KEEP(rc_str_from_cstr("alpha beta")), *b = KEEP(rc_str_from_cstr(" gamma delta"));
    void *sep = KEEP(rc_str_from_cstr(", ")), *e_acute = KEEP(rc_str_from_cstr("\xc3\xa9"));
    void *long1 = KEEP(long_text()), *long2 = KEEP(long_text());
    void *popped = KEEP(ones(100)), *deleted = KEEP(ones(100));
    void *rng = KEEP(rc_range(0, 100, 1)), *rng2 = KEEP(rc_range(0, 100, 1));
    void *sa = KEEP(rc_set_new()), *sb = KEEP(rc_set_new());
    for (int i = 0; i < 20; i++) {
        assert_int_equal(rc_set_add(sa, rc_int_new(i)), 1);
        assert_int_equal(rc_set_add(sb, rc_int_new(i + 10)), 1);
    }
    void *pair[2] = {a, b};
    assert_int_equal(rc_trace_start(1), 0);
    void *l, *l2, *l3, *d, *d2, *s, *arr, *arr2, *arr3, *it, *x, *kv, *parts, *items;
    /* lists */
    OP("rc_list_new", l = KEEP(rc_list_new()));
    OP("rc_list_append", for (int i = 0; i < 100; i++) assert_int_equal(rc_list_append(l, one), 0));
    OP("rc_list_new", l2 = KEEP(rc_list_new()));
    OP("rc_list_append_steal", for (int i = 0; i < 40; i++) assert_int_equal(rc_list_append_steal(l2, one), 0));
    OP("rc_list_new", l3 = KEEP(rc_list_new()));
    OP("rc_list_insert", for (int i = 0; i < 40; i++) assert_int_equal(rc_list_insert(l3, 0, one), 0));
    OP("rc_list_pop (shrinks)", for (int i = 0; i < 70; i++) assert_ptr_equal(rc_list_pop(popped, -1), one));
    OP("rc_list_del (shrinks)", for (int i = 0; i < 70; i++) assert_int_equal(rc_list_del(deleted, 0), 0));
    OP("rc_list_slice", KEEP(rc_list_slice(l, 0, 50)));
    OP("rc_list_from_iter", KEEP(rc_list_from_iter(rng2)));
    /* numbers, strs, bytes */
    OP("rc_int_new", KEEP(rc_int_new(1000000)));
    OP("rc_float_new", KEEP(rc_float_new(2.5)));
    OP("rc_bytes_new", KEEP(rc_bytes_new("xyz", 3)));
    OP("rc_str_new", KEEP(rc_str_new("h\xc3\xa9llo", 6)));
    OP("rc_str_from_cstr", KEEP(rc_str_from_cstr("from a C string")));
    OP("rc_str_concat", KEEP(rc_str_concat(a, b)));
    OP("rc_str_split", parts = KEEP(rc_str_split(b, NULL)));
    OP("rc_str_join", KEEP(rc_str_join(sep, parts)));
    OP("rc_str_format", KEEP(rc_str_format("%d items: %R", 42, parts)));
    OP("rc_str_slice", KEEP(rc_str_slice(a, 1, 8)));
    OP("rc_str_slice (builds the index)", KEEP(rc_str_slice(long1, 150, 160)));
    OP("rc_str_find (builds the index)", assert_int_equal(rc_str_find(long2, e_acute, 200), 200));
    OP("rc_str_of", KEEP(rc_str_of(rc_list_get(l, 0))));
    OP("rc_str_intern_cstr", rc_str_intern_cstr("test_type_sites: a text interned once")); /* immortal */
    OP("rc_repr", KEEP(rc_repr(l2)));
    /* tuples */
    OP("rc_tuple_new", KEEP(rc_tuple_new(3)));
    OP("rc_tuple_pack", KEEP(rc_tuple_pack(2, a, b)));
    OP("rc_tuple_from_array", KEEP(rc_tuple_from_array(pair, 2)));
    /* dicts */
    OP("rc_dict_new", d = KEEP(rc_dict_new()));
    OP("rc_dict_set", for (int i = 0; i < 50; i++) assert_int_equal(rc_dict_set(d, rc_int_new(i), one), 0));
    OP("rc_dict_new", d2 = KEEP(rc_dict_new()));
    OP("rc_dict_update", assert_int_equal(rc_dict_update(d2, d), 0));
    OP("rc_dict_keys", KEEP(rc_dict_keys(d)));
    OP("rc_dict_values", KEEP(rc_dict_values(d)));
    OP("rc_dict_items", items = KEEP(rc_dict_items(d)));
    OP("rc_next (packs a tuple)", assert_int_equal(rc_next(items, &kv), 1));
    KEEP(kv);
    /* sets */
    OP("rc_set_new", s = KEEP(rc_set_new()));
    OP("rc_set_add", for (int i = 0; i < 50; i++) assert_int_equal(rc_set_add(s, rc_int_new(i)), 1));
    OP("rc_set_from_iter", KEEP(rc_set_from_iter(l)));
    OP("rc_set_union", KEEP(rc_set_union(sa, sb)));
    OP("rc_set_intersection", KEEP(rc_set_intersection(sa, sb)));
    OP("rc_set_difference", KEEP(rc_set_difference(sa, sb)));
    /* arrays */
    OP("rc_array_new", arr = KEEP(rc_array_new(RC_FLOAT64, 1000)));
    OP("rc_array_new (inline)", arr2 = KEEP(rc_array_new(RC_INT32, 0)));
    OP("rc_array_append_int", for (int i = 0; i < 300; i++) assert_int_equal(rc_array_append_int(arr2, i), 0));
    OP("rc_array_new (inline)", arr3 = KEEP(rc_array_new(RC_FLOAT64, 0)));
    OP("rc_array_append", for (int i = 0; i < 300; i++) assert_int_equal(rc_array_append(arr3, i), 0));
    OP("rc_array_from_buffer", KEEP(rc_array_from_buffer(RC_INT32, rc_array_data(arr2), 300)));
    OP("rc_array_from_iter (iterator)", KEEP(rc_array_from_iter(RC_INT64, rng)));
    OP("rc_array_from_iter (list)", KEEP(rc_array_from_iter(RC_FLOAT32, l)));
    OP("rc_array_to_list", KEEP(rc_array_to_list(arr2)));
    OP("rc_array_view", KEEP(rc_array_view(arr, 10, 20)));
    /* iterators and generators */
    OP("rc_iter", it = KEEP(rc_iter(arr)));
    OP("rc_next (boxes a float)", assert_int_equal(rc_next(it, &x), 1));
    KEEP(x);
    OP("rc_range", KEEP(rc_range(0, 10, 1)));
    OP("rc_map", KEEP(rc_map(same, NULL, l)));
    OP("rc_filter", KEEP(rc_filter(keep_all, NULL, l)));
    OP("rc_take", KEEP(rc_take(l, 3)));
    OP("rc_islice", KEEP(rc_islice(l, 0, 10, 2)));
    OP("rc_enumerate", KEEP(rc_enumerate(l, 0)));
    OP("rc_zip", KEEP(rc_zip(2, l, l2)));
    OP("rc_chain", KEEP(rc_chain(2, l, l2)));
    OP("rc_batched", KEEP(rc_batched(l, 4)));
    OP("rc_lines", KEEP(rc_lines("/dev/null")));
    OP("rc_gen_new", KEEP(rc_gen_new(empty_body, 32, 0)));
}

static void test_by_line(void **state) {
    (void)state;
    bl_n = 0;
    sites_by_line();
    check_rows("sites_by_line");
    rc_trace_stop();
    for (int i = bl_n - 1; i >= 0; i--) rc_decref(bl_objs[i]);
}

/* ---- nested calls: the outermost call's line wins ------------------------- */

NOINLINE void sites_nested(void) {
    void *src = rc_range(1000, 1300, 1); /* not traced: made before the start */
    void *l = rc_list_new(), *arr = rc_array_new(RC_FLOAT64, 40);
    void *text = rc_str_from_cstr("one two three four");
    void *sep = rc_str_from_cstr("-");
    assert_int_equal(rc_trace_start(1), 0);
    void *l2, *joined, *set, *dup;
    /* rc_iter (the range itself), rc_next making ints above 256, and
     * rc_list_append_steal growing the items: all at this line */
    OP("rc_list_extend", assert_int_equal(rc_list_extend(l, src), 0));
    assert_int_equal(rc_list_len(l), 300);
    /* rc_list_new, rc_float_new through rc_next's boxing, append_steal */
    OP("rc_array_to_list", l2 = rc_array_to_list(arr));
    assert_int_equal(rc_list_len(l2), 40);
    /* rc_str_split's list and pieces; then a join through an iterator
     * (the list is not read in place when given as an iterator) */
    void *parts, *pit;
    OP("rc_str_split", parts = rc_str_split(text, NULL));
    OP("rc_iter", pit = rc_iter(parts));
    OP("rc_str_join (iterator)", joined = rc_str_join(sep, pit));
    assert_string_equal(rc_str_cstr(joined), "one-two-three-four");
    /* a set of the 300 ints: rc_iter, rc_next and the table */
    OP("rc_set_from_iter", set = rc_set_from_iter(l));
    assert_int_equal(rc_set_len(set), 300);
    OP("rc_list_from_iter", dup = rc_list_from_iter(set));
    check_rows("sites_nested");
    rc_trace_stop();
    void *all[] = {dup, set, joined, pit, parts, l2, sep, text, arr, l, src};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) rc_decref(all[i]);
}

static void test_nested(void **state) {
    (void)state;
    sites_nested();
}

/* ---- the noted address is cleared on every way out ------------------------ */

NOINLINE void sites_cleared(void) {
    void *one = rc_int_new(1), *d = rc_dict_new();
    assert_int_equal(rc_trace_start(1), 0);
    void *l, *p, *q, *r;
    OP("rc_list_new", l = rc_list_new());
    OP("(rc_malloc) after rc_list_new", p = (rc_malloc)(40));
    /* failures: a NULL list, an unhashable key, a bad dtype */
    clear_error();
    assert_int_equal(rc_list_append(NULL, one), -1);
    assert_null(_rc_user_ra);
    assert_int_equal(rc_dict_set(d, l, one), -1);
    ERROR_HAS("unhashable");
    assert_null(_rc_user_ra);
    assert_null(rc_array_new((rc_dtype)99, 3));
    assert_null(_rc_user_ra);
    OP("(rc_malloc) after failures", q = (rc_malloc)(56));
    OP("rc_list_append", assert_int_equal(rc_list_append(l, one), 0));
    OP("(rc_malloc) after an append", r = (rc_malloc)(72));
    check_rows("sites_cleared");
    rc_trace_stop();
    (rc_free)(r);
    (rc_free)(q);
    (rc_free)(p);
    rc_decref(l);
    rc_decref(d);
}

static void test_cleared(void **state) {
    (void)state;
    sites_cleared();
}

/* ---- tracing off: the calls note nothing ---------------------------------- */

/* An rc_map function that notes the return address noted for the call it
 * runs inside (rc_list_from_iter's). */
static void *note_ra(void *item, void *arg) {
    *(void **)arg = _rc_user_ra;
    return rc_incref(item);
}

/* list(map(note_ra, src)): what note_ra saw inside rc_list_from_iter. */
static void *seen_inside(void *src) {
    void *seen = (void *)&seen, *m = rc_map(note_ra, &seen, src), *l = rc_list_from_iter(m);
    assert_non_null(l);
    assert_null(_rc_user_ra);
    assert_int_equal(rc_list_len(l), rc_list_len(src));
    rc_decref(l);
    rc_decref(m);
    return seen;
}

static void test_off(void **state) {
    (void)state;
    assert_false(rc_trace_is_tracing());
    void *l = rc_list_new(), *d = rc_dict_new();
    for (int i = 0; i < 100; i++) {
        assert_int_equal(rc_list_append_steal(l, rc_int_new(1000 + i)), 0);
        assert_int_equal(rc_dict_set(d, rc_list_get(l, i), l), 0);
    }
    void *s = rc_repr(l);
    assert_non_null(s);
    assert_int_equal(rc_len(d), 100);
    assert_int_equal(rc_int_value(rc_list_get(l, 99)), 1099);
    assert_null(_rc_user_ra);
    /* off: nothing noted, also inside a call; on: the outer call's
     * address, inside it only */
    assert_null(seen_inside(l));
    assert_int_equal(rc_trace_start(1), 0);
    assert_non_null(seen_inside(l));
    rc_trace_stop();
    assert_null(seen_inside(l));
    rc_decref(s);
    rc_decref(d);
    rc_decref(l);
    /* and, tracing again, a plain allocation after a call is its own */
    nops = 0;
    sites_cleared();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_by_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cleared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_off, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
