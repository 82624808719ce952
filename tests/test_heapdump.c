/*
 * test_heapdump.c — heap dumps (include/reclaim.h section 9): rc_heap_dump
 * and rc_heapdump_load round trip of every field, roots from refcounts,
 * the dominator tree and retained sizes on graphs with known answers (a
 * diamond, a chain, a cycle held from outside, a shared child, a cycle no
 * root reaches), per-type figures, "why" chains, the difference of two
 * dumps, the state flags, and the loader's errors.
 *
 * Each test builds its own graph and frees it before returning, and the
 * tests make no other objects, so a dump holds exactly the graph.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "reclaim.h"

/* ---- the test's types ---------------------------------------------------- */

/* node: four reference slots, 16 + 32 = 48 bytes; leaf: no references,
 * 16 + 16 = 32 bytes. */
typedef struct node {
    void *ref[4];
} node;

static int node_traverse(void *self, rc_visit_fn visit, void *arg) {
    node *n = self;
    for (int k = 0; k < 4; k++)
        if (n->ref[k]) {
            int r = visit(n->ref[k], arg);
            if (r) return r;
        }
    return 0;
}

static void node_clear(void *self) {
    node *n = self;
    for (int k = 0; k < 4; k++) RC_CLEAR(n->ref[k]);
}

static const rc_type node_type = {
    .name = "node", .size = sizeof(node), .traverse = node_traverse, .clear = node_clear, .destroy = node_clear};
static const rc_type leaf_type = {.name = "leaf", .size = 16};

#define NODE 48u
#define LEAF 32u

/* p->ref[k] = a new reference to q */
static void link_to(void *p, int k, void *q) { ((node *)p)->ref[k] = rc_incref(q); }

static char *dump_path(const char *name) {
    static char buf[4][300];
    static int next;
    char *p = buf[next++ & 3];
    snprintf(p, sizeof buf[0], "%s/heapdump-%s-%d.rcheap", RC_TEST_BINARY_DIR, name, (int)getpid());
    return p;
}

static rc_heapdump *dump_and_load(const char *name) {
    const char *path = dump_path(name);
    assert_int_equal(rc_heap_dump(path), 0);
    rc_heapdump *d = rc_heapdump_load(path);
    if (!d) fail_msg("%s", rc_last_error());
    unlink(path);
    return d;
}

static size_t idx(const rc_heapdump *d, const void *obj) {
    int64_t i = rc_heapdump_find(d, (uint64_t)(uintptr_t)obj);
    if (i < 0) fail_msg("%s", rc_last_error());
    return (size_t)i;
}

static rc_heapdump_object obj_at(const rc_heapdump *d, const void *obj) {
    rc_heapdump_object o;
    assert_int_equal(rc_heapdump_object_at(d, idx(d, obj), &o), 0);
    return o;
}

/* The immediate dominator of obj as an address (0: the super-root). */
static uint64_t idom_of(rc_heapdump *d, const void *obj) {
    int64_t k = rc_heapdump_idom(d, idx(d, obj));
    assert_true(k >= -1);
    if (k == -1) return 0;
    rc_heapdump_object o;
    assert_int_equal(rc_heapdump_object_at(d, (size_t)k, &o), 0);
    return o.address;
}

#define ADDR(p) ((uint64_t)(uintptr_t)(p))

/* ---- the graph ------------------------------------------------------------ */

typedef struct graph {
    /* roots held by the test: a diamond A, a chain X, a cycle holder H,
     * two sharers S1 S2 */
    void *A, *X, *H, *S1, *S2;
    /* borrowed */
    void *B, *C, *D, *Y, *Z, *P, *Q, *L, *U1, *U2;
} graph;

static void *drop(void *obj) { /* our reference goes; the graph keeps it */
    rc_decref(obj);
    return obj;
}

static void graph_build(graph *g) {
    rc_gc_disable();
    /* diamond: A -> B, C; B -> D; C -> D (D a leaf) */
    g->A = rc_new(&node_type);
    g->B = rc_new(&node_type);
    g->C = rc_new(&node_type);
    g->D = rc_new(&leaf_type);
    link_to(g->A, 0, g->B);
    link_to(g->A, 1, g->C);
    link_to(g->B, 0, g->D);
    link_to(g->C, 0, g->D);
    drop(g->B), drop(g->C), drop(g->D);
    /* chain: X -> Y -> Z */
    g->X = rc_new(&node_type);
    g->Y = rc_new(&node_type);
    g->Z = rc_new(&node_type);
    link_to(g->X, 0, g->Y);
    link_to(g->Y, 0, g->Z);
    drop(g->Y), drop(g->Z);
    /* a cycle held from outside: H -> P; P <-> Q */
    g->H = rc_new(&node_type);
    g->P = rc_new(&node_type);
    g->Q = rc_new(&node_type);
    link_to(g->H, 0, g->P);
    link_to(g->P, 0, g->Q);
    link_to(g->Q, 0, g->P);
    drop(g->P), drop(g->Q);
    /* a shared child: S1 -> L, S2 -> L */
    g->S1 = rc_new(&node_type);
    g->S2 = rc_new(&node_type);
    g->L = rc_new(&leaf_type);
    link_to(g->S1, 0, g->L);
    link_to(g->S2, 0, g->L);
    drop(g->L);
    /* a cycle nobody holds: U1 <-> U2 (the collector is off) */
    g->U1 = rc_new(&node_type);
    g->U2 = rc_new(&node_type);
    link_to(g->U1, 0, g->U2);
    link_to(g->U2, 0, g->U1);
    drop(g->U1), drop(g->U2);
}

static void graph_free(graph *g) {
    rc_decref(g->A);
    rc_decref(g->X);
    rc_decref(g->H);
    rc_decref(g->S1);
    rc_decref(g->S2);
    rc_gc_enable();
    rc_gc_collect(-1);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_round_trip(void **state) {
    (void)state;
    assert_int_equal(rc_trace_start(1), 0);
    graph g;
    graph_build(&g);
    void *extra = rc_new(&leaf_type); unsigned extra_line = __LINE__;
    rc_heapdump *d = dump_and_load("roundtrip");
    rc_trace_stop();
    assert_int_equal(rc_heapdump_count(d), 16);
    assert_int_equal(rc_heapdump_type_count(d), 2);
    uint64_t bytes, refs, outside;
    rc_heapdump_totals(d, &bytes, &refs, &outside);
    assert_int_equal(bytes, 13 * NODE + 3 * LEAF);
    assert_int_equal(refs, 13);
    assert_int_equal(outside, 0);
    void *all[] = {g.A, g.B, g.C, g.D, g.X, g.Y, g.Z, g.H, g.P, g.Q, g.S1, g.S2, g.L, g.U1, g.U2, extra};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
        rc_heapdump_object o = obj_at(d, all[k]);
        assert_int_equal(o.address, ADDR(all[k]));
        assert_string_equal(o.type, rc_type_of(all[k])->name);
        assert_string_equal(rc_heapdump_type_name(d, o.type_index), o.type);
        assert_int_equal(o.size, rc_sizeof(all[k]));
        assert_int_equal(o.refcount, rc_refcount(all[k]));
        bool tracked = rc_type_of(all[k]) == &node_type;
        assert_int_equal(!!(o.flags & RC_HEAPDUMP_TRACKED), tracked);
        assert_int_equal(o.flags & (RC_HEAPDUMP_FROZEN | RC_HEAPDUMP_GARBAGE | RC_HEAPDUMP_ORPHAN |
                                    RC_HEAPDUMP_IMMORTAL | RC_HEAPDUMP_FINALIZED),
                         0);
        /* the references, in traverse order */
        size_t nref = 0;
        if (tracked)
            for (int s = 0; s < 4; s++)
                if (((node *)all[k])->ref[s]) {
                    assert_true(nref < o.nrefs);
                    rc_heapdump_object r;
                    assert_int_equal(rc_heapdump_object_at(d, o.refs[nref++], &r), 0);
                    assert_int_equal(r.address, ADDR(((node *)all[k])->ref[s]));
                }
        assert_int_equal(o.nrefs, nref);
        /* the site: this file, the line of the rc_new */
        assert_non_null(o.site);
        assert_non_null(strstr(o.site->file, "test_heapdump.c"));
    }
    rc_heapdump_object o = obj_at(d, extra);
    assert_int_equal(o.site->line, extra_line);
    assert_string_equal(o.site->function, "test_round_trip");
    /* referrers of the shared child: S1 and S2 */
    const uint32_t *from;
    assert_int_equal(rc_heapdump_referrers(d, idx(d, g.L), &from), 2);
    uint64_t r0 = ADDR(g.S1), r1 = ADDR(g.S2);
    rc_heapdump_object a, b;
    rc_heapdump_object_at(d, from[0], &a);
    rc_heapdump_object_at(d, from[1], &b);
    assert_true((a.address == r0 && b.address == r1) || (a.address == r1 && b.address == r0));
    assert_int_equal(rc_heapdump_find(d, 0x10), -1);
    assert_non_null(strstr(rc_last_error(), "no object at 0x10"));
    assert_int_equal(rc_heapdump_object_at(d, 99, &o), -1);
    rc_heapdump_free(d);
    rc_decref(extra);
    graph_free(&g);
}

static void test_roots_and_dominators(void **state) {
    (void)state;
    graph g;
    graph_build(&g);
    rc_heapdump *d = dump_and_load("dom");
    assert_int_equal(rc_heapdump_count(d), 15);
    /* roots: exactly the five the test holds */
    void *roots[] = {g.A, g.X, g.H, g.S1, g.S2};
    size_t nroots = 0;
    for (size_t i = 0; i < rc_heapdump_count(d); i++) {
        rc_heapdump_object o;
        rc_heapdump_object_at(d, i, &o);
        if (o.flags & RC_HEAPDUMP_ROOT) nroots++;
    }
    assert_int_equal(nroots, 5);
    for (size_t k = 0; k < 5; k++) {
        rc_heapdump_object o = obj_at(d, roots[k]);
        assert_true(o.flags & RC_HEAPDUMP_ROOT);
        assert_int_equal(o.external, 1);
    }
    assert_int_equal(obj_at(d, g.D).external, 0);
    assert_int_equal(obj_at(d, g.D).refcount, 2);
    /* diamond */
    assert_int_equal(idom_of(d, g.A), 0);
    assert_int_equal(idom_of(d, g.B), ADDR(g.A));
    assert_int_equal(idom_of(d, g.C), ADDR(g.A));
    assert_int_equal(idom_of(d, g.D), ADDR(g.A));
    assert_int_equal(rc_heapdump_retained(d, idx(d, g.A)), 3 * NODE + LEAF);
    assert_int_equal(rc_heapdump_retained(d, idx(d, g.B)), NODE);
    assert_int_equal(rc_heapdump_retained(d, idx(d, g.D)), LEAF);
    /* chain */
    assert_int_equal(idom_of(d, g.Y), ADDR(g.X));
    assert_int_equal(idom_of(d, g.Z), ADDR(g.Y));
    assert_int_equal(rc_heapdump_retained(d, idx(d, g.X)), 3 * NODE);
    assert_int_equal(rc_heapdump_retained(d, idx(d, g.Y)), 2 * NODE);
    /* cycle held from outside */
    assert_int_equal(idom_of(d, g.P), ADDR(g.H));
    assert_int_equal(idom_of(d, g.Q), ADDR(g.P));
    assert_int_equal(rc_heapdump_retained(d, idx(d, g.H)), 3 * NODE);
    assert_int_equal(rc_heapdump_retained(d, idx(d, g.P)), 2 * NODE);
    /* shared child: dominated by the super-root only */
    assert_int_equal(idom_of(d, g.L), 0);
    assert_int_equal(rc_heapdump_retained(d, idx(d, g.S1)), NODE);
    assert_int_equal(rc_heapdump_retained(d, idx(d, g.L)), LEAF);
    /* the cycle no root reaches: one of it attached, the other under it */
    rc_heapdump_object u1 = obj_at(d, g.U1), u2 = obj_at(d, g.U2);
    assert_true(u1.flags & RC_HEAPDUMP_UNREACHABLE);
    assert_true(u2.flags & RC_HEAPDUMP_UNREACHABLE);
    assert_false(u1.flags & RC_HEAPDUMP_ROOT);
    assert_false(obj_at(d, g.Q).flags & RC_HEAPDUMP_UNREACHABLE);
    void *top = idom_of(d, g.U1) == 0 ? g.U1 : g.U2, *under = top == g.U1 ? g.U2 : g.U1;
    assert_int_equal(idom_of(d, top), 0);
    assert_int_equal(idom_of(d, under), ADDR(top));
    assert_int_equal(rc_heapdump_retained(d, idx(d, top)), 2 * NODE);
    /* per type: node 13 x 48, leaf 2 x 32; retained as sets */
    rc_heapdump_type_stat *rows;
    assert_int_equal(rc_heapdump_type_stats(d, &rows), 2);
    assert_string_equal(rows[0].type, "node");
    assert_int_equal(rows[0].count, 13);
    assert_int_equal(rows[0].bytes, 13 * NODE);
    /* A (with D), X, H, S1, S2, the attached half of U: every node and D */
    assert_int_equal(rows[0].retained, 13 * NODE + LEAF);
    assert_string_equal(rows[1].type, "leaf");
    assert_int_equal(rows[1].count, 2);
    assert_int_equal(rows[1].bytes, 2 * LEAF);
    assert_int_equal(rows[1].retained, 2 * LEAF);
    rc_free(rows);
    rc_heapdump_free(d);

    /* an extra reference from outside makes Y a root: X keeps only itself */
    rc_incref(g.Y);
    d = dump_and_load("dom2");
    assert_true(obj_at(d, g.Y).flags & RC_HEAPDUMP_ROOT);
    assert_int_equal(obj_at(d, g.Y).external, 1);
    assert_int_equal(idom_of(d, g.Y), 0);
    assert_int_equal(idom_of(d, g.Z), ADDR(g.Y));
    assert_int_equal(rc_heapdump_retained(d, idx(d, g.X)), NODE);
    assert_int_equal(rc_heapdump_retained(d, idx(d, g.Y)), 2 * NODE);
    rc_heapdump_free(d);
    rc_decref(g.Y);
    graph_free(&g);
}

static void test_chain(void **state) {
    (void)state;
    graph g;
    graph_build(&g);
    rc_heapdump *d = dump_and_load("chain");
    uint32_t *chain;
    assert_int_equal(rc_heapdump_chain(d, idx(d, g.Z), &chain), 3);
    assert_int_equal(chain[0], idx(d, g.X));
    assert_int_equal(chain[1], idx(d, g.Y));
    assert_int_equal(chain[2], idx(d, g.Z));
    rc_free(chain);
    /* D: the shortest chain goes through B, A's first reference */
    assert_int_equal(rc_heapdump_chain(d, idx(d, g.D), &chain), 3);
    assert_int_equal(chain[0], idx(d, g.A));
    assert_int_equal(chain[1], idx(d, g.B));
    rc_free(chain);
    assert_int_equal(rc_heapdump_chain(d, idx(d, g.Q), &chain), 3);
    assert_int_equal(chain[0], idx(d, g.H));
    assert_int_equal(chain[1], idx(d, g.P));
    rc_free(chain);
    /* a root is its own chain */
    assert_int_equal(rc_heapdump_chain(d, idx(d, g.S2), &chain), 1);
    assert_int_equal(chain[0], idx(d, g.S2));
    rc_free(chain);
    /* unreachable: the chain starts at the attached half of the cycle */
    int64_t n = rc_heapdump_chain(d, idx(d, g.U2), &chain);
    int64_t top = rc_heapdump_idom(d, idx(d, g.U1)) == -1 ? (int64_t)idx(d, g.U1) : (int64_t)idx(d, g.U2);
    assert_int_equal(chain[0], top);
    assert_int_equal(chain[n - 1], idx(d, g.U2));
    assert_int_equal(n, top == (int64_t)idx(d, g.U2) ? 1 : 2);
    rc_free(chain);
    assert_int_equal(rc_heapdump_chain(d, 1000, &chain), -1);
    assert_non_null(strstr(rc_last_error(), "out of range"));
    rc_heapdump_free(d);
    graph_free(&g);
}

static void test_compare(void **state) {
    (void)state;
    graph g;
    graph_build(&g);
    rc_heapdump *old = dump_and_load("old");
    void *more[5];
    for (int k = 0; k < 5; k++) more[k] = rc_new(&leaf_type);
    rc_decref(g.S2); /* one node fewer */
    g.S2 = NULL;
    rc_heapdump *now = dump_and_load("new");
    rc_heapdump_type_stat *rows;
    assert_int_equal(rc_heapdump_compare(now, old, &rows), 2);
    /* leaf: +5 x 32 = +160 bytes; node: -1 x 48 */
    assert_string_equal(rows[0].type, "leaf");
    assert_int_equal(rows[0].count, 7);
    assert_int_equal(rows[0].count_diff, 5);
    assert_int_equal(rows[0].bytes_diff, 5 * LEAF);
    assert_string_equal(rows[1].type, "node");
    assert_int_equal(rows[1].count, 12);
    assert_int_equal(rows[1].count_diff, -1);
    assert_int_equal(rows[1].bytes_diff, -(int64_t)NODE);
    rc_free(rows);
    /* a dump against itself: no rows */
    assert_int_equal(rc_heapdump_compare(now, now, &rows), 0);
    rc_free(rows);
    rc_heapdump_free(old);
    rc_heapdump_free(now);
    for (int k = 0; k < 5; k++) rc_decref(more[k]);
    graph_free(&g);
}

static void test_flags(void **state) {
    (void)state;
    rc_gc_disable();
    void *frozen = rc_new(&node_type);
    rc_gc_freeze();
    void *imm = rc_new(&leaf_type);
    rc_immortalize(imm);
    /* a cycle kept in the garbage list by SAVEALL */
    rc_gc_set_debug(RC_GC_DEBUG_SAVEALL);
    void *c1 = rc_new(&node_type), *c2 = rc_new(&node_type);
    link_to(c1, 0, c2);
    link_to(c2, 0, c1);
    rc_decref(c1);
    rc_decref(c2);
    assert_int_equal(rc_gc_collect(-1), 2);
    rc_gc_set_debug(0);
    rc_heapdump *d = dump_and_load("flags");
    assert_int_equal(rc_heapdump_count(d), 4);
    rc_heapdump_object o = obj_at(d, frozen);
    assert_true(o.flags & RC_HEAPDUMP_FROZEN);
    assert_true(o.flags & RC_HEAPDUMP_TRACKED);
    o = obj_at(d, imm);
    assert_true(o.flags & RC_HEAPDUMP_IMMORTAL);
    assert_true(o.flags & RC_HEAPDUMP_ROOT);
    o = obj_at(d, c1);
    assert_true(o.flags & RC_HEAPDUMP_GARBAGE);
    assert_false(obj_at(d, frozen).flags & RC_HEAPDUMP_GARBAGE);
    /* the garbage list holds c1 and c2 from outside: both roots */
    assert_true(o.flags & RC_HEAPDUMP_ROOT);
    assert_int_equal(o.external, 1);
    rc_heapdump_free(d);
    rc_gc_unfreeze();
    rc_gc_garbage_clear();
    rc_decref(frozen);
    rc_gc_enable();
    rc_gc_collect(-1);
}

static void write_file(const char *path, const char *text, size_t len) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

static void write_str(const char *path, const char *text) { write_file(path, text, strlen(text)); }

static void expect_load_error(const char *path, const char *what) {
    assert_null(rc_heapdump_load(path));
    const char *e = rc_last_error();
    if (!strstr(e, path) || !strstr(e, what)) fail_msg("error '%s' lacks '%s' or '%s'", e, path, what);
}

static void test_errors(void **state) {
    (void)state;
    graph g;
    graph_build(&g);
    const char *path = dump_path("whole");
    assert_int_equal(rc_heap_dump(path), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char text[1 << 16];
    size_t len = fread(text, 1, sizeof text, f);
    fclose(f);
    assert_true(len > 100 && len < sizeof text);
    unlink(path);
    const char *cut = dump_path("cut");
    write_file(cut, text, len / 2);
    expect_load_error(cut, "truncated");
    /* cut just before the end line */
    char *end = strstr(text, "\nend ");
    assert_non_null(end);
    write_file(cut, text, (size_t)(end - text) + 1);
    expect_load_error(cut, "truncated (no end line)");
    /* the end line disagrees */
    write_str(cut, "reclaim-heapdump 1\nt 0 x\no 10 0 32 1 0 -\nend 2\n");
    expect_load_error(cut, "truncated or corrupt");
    const char *foreign = dump_path("foreign");
    write_str(foreign, "reclaim-snapshot 1\n");
    expect_load_error(foreign, "is not a reclaim heap dump");
    write_str(foreign, "reclaim-heapdump 9\n");
    expect_load_error(foreign, "version '9'");
    write_str(foreign, "");
    expect_load_error(foreign, "is empty");
    write_str(foreign, "reclaim-heapdump 1\no 10 3 32 1 0 -\nend 1\n");
    expect_load_error(foreign, "line 2: an object of an undefined type");
    write_str(foreign, "reclaim-heapdump 1\nt 0 x\no 10 0 32 1 0 - zz\nend 1\n");
    expect_load_error(foreign, "line 3: a malformed reference");
    write_str(foreign, "reclaim-heapdump 1\nt 0 x\no 10 0 32 1 0 -\no 10 0 32 1 0 -\nend 2\n");
    expect_load_error(foreign, "dumped twice");
    unlink(cut);
    unlink(foreign);
    const char *missing = dump_path("missing");
    expect_load_error(missing, "cannot open");
    assert_int_equal(rc_heap_dump("/nonexistent-dir/x.rcheap"), -1);
    assert_non_null(strstr(rc_last_error(), "/nonexistent-dir/x.rcheap"));
    assert_int_equal(rc_heap_dump(NULL), -1);
    assert_null(rc_heapdump_load(NULL));
    /* a reference to an object outside the dump is dropped and counted */
    write_str(foreign, "reclaim-heapdump 1\nt 0 x\no 10 0 32 2 1 - 10 99\nend 1\n");
    rc_heapdump *d = rc_heapdump_load(foreign);
    assert_non_null(d);
    uint64_t refs, outside;
    rc_heapdump_totals(d, NULL, &refs, &outside);
    assert_int_equal(refs, 1);
    assert_int_equal(outside, 1);
    rc_heapdump_object o;
    assert_int_equal(rc_heapdump_object_at(d, 0, &o), 0);
    assert_int_equal(o.external, 1); /* refcount 2, one from itself */
    assert_int_equal(rc_heapdump_retained(d, 0), 32);
    rc_heapdump_free(d);
    unlink(foreign);
    graph_free(&g);
}

/* A long chain: no recursion in the writer, reader or analyses. */
static void test_long_chain(void **state) {
    (void)state;
    enum { N = 200000 };
    rc_gc_disable();
    void *head = rc_new(&node_type), *p = head;
    for (int k = 1; k < N; k++) {
        void *q = rc_new(&node_type);
        link_to(p, 0, q);
        rc_decref(q);
        p = q;
    }
    rc_heapdump *d = dump_and_load("long");
    assert_int_equal(rc_heapdump_count(d), N);
    assert_int_equal(rc_heapdump_retained(d, idx(d, head)), (uint64_t)N * NODE);
    assert_int_equal(rc_heapdump_retained(d, idx(d, p)), NODE);
    uint32_t *chain;
    assert_int_equal(rc_heapdump_chain(d, idx(d, p), &chain), N);
    rc_free(chain);
    rc_heapdump_type_stat *rows;
    assert_int_equal(rc_heapdump_type_stats(d, &rows), 1);
    assert_int_equal(rows[0].retained, (uint64_t)N * NODE);
    rc_free(rows);
    rc_heapdump_free(d);
    rc_decref(head);
    rc_gc_enable();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip), cmocka_unit_test(test_roots_and_dominators),
        cmocka_unit_test(test_chain),      cmocka_unit_test(test_compare),
        cmocka_unit_test(test_errors),     cmocka_unit_test(test_long_chain),
        /* last: it leaves an immortal object behind */
        cmocka_unit_test(test_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
