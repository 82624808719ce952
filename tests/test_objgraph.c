/*
 * test_objgraph.c — the object-graph queries (include/reclaim.h section 8)
 * on graphs built for each test, with exact answers: counts and bytes by
 * type, most common types, growth figures (and show_growth's text), by_type,
 * external references after a forgotten decref, leaking objects, backref
 * and ref chains (exact chains, depth limits, a garbage cycle with no
 * root), the DOT pictures parsed back (nodes, edges, labels, highlight,
 * escaping), rendering through Graphviz's dot and its absence, and every
 * error path with the function named in rc_last_error. Each test uses type
 * names of its own and releases what it made, so counts are exact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "objgraph_util.h"
#include "test_capture.h"

static void expect_error(const char *fn, const char *what) {
    const char *e = rc_last_error();
    if (!strstr(e, fn) || (what && !strstr(e, what))) fail_msg("rc_last_error is '%s', wanted '%s' ... '%s'", e, fn, what);
}

/* {==== counts ==== */

OG_NODE_TYPE(count_node, "CountNode");
OG_LEAF_TYPE(count_leaf, "CountLeaf");
OG_LEAF_TYPE(count_leaf_twin, "CountLeaf"); /* a second type of the same name */
OG_LEAF_TYPE(count_big, "CountBig");

static void test_counts_and_bytes(void **state) {
    (void)state;
    void *keep[16];
    size_t k = 0;
    for (int i = 0; i < 5; i++) keep[k++] = og_new(&count_node, i, NULL, NULL);
    for (int i = 0; i < 2; i++) keep[k++] = rc_new(&count_leaf);
    keep[k++] = rc_new(&count_leaf_twin);
    keep[k++] = rc_new_var(&count_big, 1000);
    assert_int_equal(rc_objgraph_count("CountNode"), 5);
    assert_int_equal(rc_objgraph_count("CountLeaf"), 3);
    assert_int_equal(rc_objgraph_count("CountBig"), 1);
    size_t count = 0, bytes = 0;
    assert_int_equal(rc_objgraph_type_stats("CountNode", &count, &bytes), 0);
    assert_int_equal(count, 5);
    assert_int_equal(bytes, 5 * (16 + sizeof(og_node)));
    assert_int_equal(rc_objgraph_type_stats("CountBig", &count, &bytes), 0);
    assert_int_equal(bytes, rc_sizeof(keep[k - 1]));
    assert_true(bytes >= 16 + sizeof(long) + 1000);

    /* the counters follow creation and release */
    void *more = og_new(&count_node, 9, keep[0], NULL);
    assert_int_equal(rc_objgraph_count("CountNode"), 6);
    rc_decref(more);
    assert_int_equal(rc_objgraph_count("CountNode"), 5);

    /* most common types: every live type, most first, exact */
    rc_objgraph_row *rows;
    int64_t n = rc_objgraph_most_common_types(0, &rows);
    assert_int_equal(n, 3);
    assert_string_equal(rows[0].name, "CountNode");
    assert_int_equal(rows[0].count, 5);
    assert_string_equal(rows[1].name, "CountLeaf");
    assert_int_equal(rows[1].count, 3);
    assert_int_equal(rows[1].bytes, 3 * (16 + sizeof(long)));
    assert_string_equal(rows[2].name, "CountBig");
    rc_free(rows);
    n = rc_objgraph_most_common_types(2, &rows);
    assert_int_equal(n, 2);
    rc_free(rows);

    /* the printed form: "name count", names padded to one width */
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(rc_objgraph_show_most_common_types(0, f), 0);
    rewind(f);
    char line[256];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "CountNode 5\n");
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "CountLeaf 3\n");
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "CountBig  1\n");
    fclose(f);

    for (size_t i = 0; i < k; i++) rc_decref(keep[i]);
    assert_int_equal(rc_objgraph_count("CountNode"), 0); /* known, none alive */
    assert_int_equal(rc_objgraph_most_common_types(0, &rows), 0);
    assert_null(rows);
}

OG_NODE_TYPE(by_type_node, "ByTypeNode");

static int collect_visit(void *obj, void *arg) {
    void **seen = arg;
    size_t i = 0;
    while (seen[i]) i++;
    seen[i] = obj;
    return i + 1 >= 2; /* stop after two */
}

static void test_by_type(void **state) {
    (void)state;
    void *a = og_new(&by_type_node, 1, NULL, NULL), *b = og_new(&by_type_node, 2, NULL, NULL);
    void *c = og_new(&by_type_node, 3, NULL, NULL);
    assert_int_equal(rc_objgraph_by_type("ByTypeNode", NULL, NULL), 3);
    void *seen[4] = {NULL, NULL, NULL, NULL};
    assert_int_equal(rc_objgraph_by_type("ByTypeNode", collect_visit, seen), 3);
    assert_non_null(seen[0]);
    assert_non_null(seen[1]);
    assert_null(seen[2]); /* stopped after two */
    for (int i = 0; i < 2; i++) assert_true(seen[i] == a || seen[i] == b || seen[i] == c);
    assert_int_equal(rc_refcount(a), 1); /* the walk's references are gone */
    rc_decref(a);
    rc_decref(b);
    rc_decref(c);
    assert_int_equal(rc_objgraph_by_type("ByTypeNode", NULL, NULL), 0);
}

OG_LEAF_TYPE(grow_a, "GrowA");
OG_LEAF_TYPE(grow_b, "GrowB");

static void test_growth(void **state) {
    (void)state;
    void *keep[32];
    size_t k = 0;
    rc_objgraph_row *rows;
    /* bring the peaks up to date with what earlier tests left */
    assert_true(rc_objgraph_growth(0, &rows) >= 0);
    rc_free(rows);
    for (int i = 0; i < 4; i++) keep[k++] = rc_new(&grow_a);
    for (int i = 0; i < 2; i++) keep[k++] = rc_new(&grow_b);
    int64_t n = rc_objgraph_growth(0, &rows);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].name, "GrowA");
    assert_int_equal(rows[0].count, 4);
    assert_int_equal(rows[0].delta, 4);
    assert_string_equal(rows[1].name, "GrowB");
    assert_int_equal(rows[1].delta, 2);
    rc_free(rows);
    /* nothing new: nothing grew */
    assert_int_equal(rc_objgraph_growth(0, &rows), 0);
    assert_null(rows);
    /* shrink, then come back below the peak: not growth (objgraph's peaks) */
    rc_decref(keep[--k]);
    rc_decref(keep[--k]);
    keep[k++] = rc_new(&grow_b);
    assert_int_equal(rc_objgraph_growth(0, &rows), 0);
    /* past the peak: growth by the excess */
    keep[k++] = rc_new(&grow_b);
    keep[k++] = rc_new(&grow_b);
    keep[k++] = rc_new(&grow_a);
    n = rc_objgraph_growth(1, &rows); /* limit 1: the biggest delta only */
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].name, "GrowA");
    assert_int_equal(rows[0].count, 5);
    assert_int_equal(rows[0].delta, 1);
    rc_free(rows);
    /* the printed form, objgraph's "%-*s%9d %+9d" */
    for (int i = 0; i < 3; i++) keep[k++] = rc_new(&grow_b);
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(rc_objgraph_show_growth(0, f), 0);
    rewind(f);
    char line[256];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "GrowB        6        +3\n"); /* peak 3 (set by the limited call), now 6 */
    assert_null(fgets(line, sizeof line, f));
    fclose(f);
    /* through the message path when out is NULL */
    keep[k++] = rc_new(&grow_a);
    captured *c = capture_begin();
    assert_int_equal(rc_objgraph_show_growth(0, NULL), 0);
    capture_end();
    assert_int_equal(c->count, 1);
    assert_string_equal(c->text[0], "GrowA        6        +1");
    for (size_t i = 0; i < k; i++) rc_decref(keep[i]);
}
/* }==== */

/* {==== references from outside the heap, leaking objects, chains ==== */

OG_NODE_TYPE(chain_node, "ChainNode");
OG_LEAF_TYPE(chain_leaf, "ChainLeaf");

/* R -a-> A -a-> B -a-> T, and R -b-> C -a-> T. The test holds R (and a
 * leaf L); A, B, C, T are borrowed. */
typedef struct chain_graph {
    void *r, *a, *b, *c, *t, *l;
} chain_graph;

static void chain_build(chain_graph *g) {
    g->t = og_new(&chain_node, 5, NULL, NULL);
    g->b = og_new(&chain_node, 3, g->t, NULL);
    g->a = og_new(&chain_node, 2, g->b, NULL);
    g->c = og_new(&chain_node, 4, g->t, NULL);
    g->r = og_new(&chain_node, 1, g->a, g->c);
    rc_decref(g->t);
    rc_decref(g->b);
    rc_decref(g->a);
    rc_decref(g->c);
    g->l = rc_new(&chain_leaf);
}

static void chain_free(chain_graph *g) {
    rc_decref(g->r);
    rc_decref(g->l);
}

static void test_external_refs(void **state) {
    (void)state;
    chain_graph g;
    chain_build(&g);
    assert_int_equal(rc_objgraph_external_refs(g.r), 1); /* the test's */
    assert_int_equal(rc_objgraph_external_refs(g.a), 0);
    assert_int_equal(rc_objgraph_external_refs(g.t), 0); /* 2 references, both from nodes */
    assert_int_equal(rc_refcount(g.t), 2);
    assert_int_equal(rc_objgraph_external_refs(g.l), 1);
    /* a forgotten decref: B gains a reference nobody in the heap holds */
    rc_incref(g.b);
    assert_int_equal(rc_objgraph_external_refs(g.b), 1);
    rc_decref(g.b);
    assert_int_equal(rc_objgraph_external_refs(g.b), 0);
    assert_int_equal(rc_objgraph_external_refs(rc_none), -1); /* static, in no world */
    expect_error("rc_objgraph_external_refs", "not a live object");
    chain_free(&g);
}

static void test_leaking_objects(void **state) {
    (void)state;
    chain_graph g;
    chain_build(&g);
    void **list;
    int64_t n = rc_objgraph_get_leaking_objects(&list);
    assert_int_equal(n, 2);
    assert_true((list[0] == g.r && list[1] == g.l) || (list[0] == g.l && list[1] == g.r));
    rc_free(list);
    chain_free(&g);
    assert_int_equal(rc_objgraph_get_leaking_objects(&list), 0);
    assert_null(list);
}

static void test_backref_chain(void **state) {
    (void)state;
    chain_graph g;
    chain_build(&g);
    void **chain;
    /* shortest: R -> C -> T, not R -> A -> B -> T */
    assert_int_equal(rc_objgraph_find_backref_chain(g.t, 20, &chain), 3);
    assert_ptr_equal(chain[0], g.r);
    assert_ptr_equal(chain[1], g.c);
    assert_ptr_equal(chain[2], g.t);
    rc_free(chain);
    assert_int_equal(rc_objgraph_find_backref_chain(g.b, 20, &chain), 3);
    assert_ptr_equal(chain[0], g.r);
    assert_ptr_equal(chain[1], g.a);
    assert_ptr_equal(chain[2], g.b);
    rc_free(chain);
    /* a root is its own chain */
    assert_int_equal(rc_objgraph_find_backref_chain(g.r, 20, &chain), 1);
    assert_ptr_equal(chain[0], g.r);
    rc_free(chain);
    /* too shallow: T's referrers B and C are no roots */
    assert_int_equal(rc_objgraph_find_backref_chain(g.t, 1, &chain), 0);
    assert_null(chain);
    assert_int_equal(rc_objgraph_find_backref_chain(g.t, 2, &chain), 3);
    rc_free(chain);
    /* a forgotten decref makes B a root: the chain is B -> T */
    rc_incref(g.b);
    assert_int_equal(rc_objgraph_find_backref_chain(g.t, 20, &chain), 2);
    assert_ptr_equal(chain[0], g.b);
    assert_ptr_equal(chain[1], g.t);
    rc_free(chain);
    rc_decref(g.b);
    chain_free(&g);
}

static void test_backref_chain_garbage_cycle(void **state) {
    (void)state;
    rc_gc_disable();
    void *x = og_new(&chain_node, 1, NULL, NULL), *y = og_new(&chain_node, 2, x, NULL);
    RC_SET(((og_node *)x)->a, y);
    rc_decref(x);
    rc_decref(y); /* garbage now: a cycle nobody holds */
    void **chain = (void **)1;
    assert_int_equal(rc_objgraph_find_backref_chain(x, 100, &chain), 0);
    assert_null(chain);
    assert_int_equal(rc_objgraph_external_refs(x), 0);
    rc_gc_enable();
    assert_int_equal(rc_gc_collect(-1), 2);
}

static int is_target(void *obj, void *arg) { return obj == arg; }
static int fails(void *obj, void *arg) {
    (void)obj, (void)arg;
    rc_objgraph_count(NULL); /* sets an error of its own */
    return -1;
}

static void test_ref_chain(void **state) {
    (void)state;
    chain_graph g;
    chain_build(&g);
    void **chain;
    assert_int_equal(rc_objgraph_find_ref_chain(g.r, is_target, g.t, 20, &chain), 3);
    assert_ptr_equal(chain[0], g.r);
    assert_ptr_equal(chain[1], g.c);
    assert_ptr_equal(chain[2], g.t);
    rc_free(chain);
    assert_int_equal(rc_objgraph_find_ref_chain(g.r, is_target, g.r, 20, &chain), 1);
    rc_free(chain);
    assert_int_equal(rc_objgraph_find_ref_chain(g.r, is_target, g.t, 1, &chain), 0);
    assert_null(chain);
    assert_int_equal(rc_objgraph_find_ref_chain(g.t, is_target, g.r, 20, &chain), 0); /* not downstream */
    assert_int_equal(rc_objgraph_find_ref_chain(g.r, fails, NULL, 20, &chain), -1);
    expect_error("rc_objgraph_count", "NULL");
    chain_free(&g);
}
/* }==== */

/* {==== pictures ==== */

static char *slurp_path(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int count_of(const char *text, const char *needle) {
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++) n++;
    return n;
}

/* "  oX -> oY [label=\"L\"];" present between the nodes labelled fl, tl? */
static const char *node_id(const char *dot, const char *label, char *id, size_t len) {
    const char *p = strstr(dot, label);
    if (!p) return NULL;
    while (p > dot && p[-1] != '\n') p--;
    const char *s = p + 2, *e = strchr(s, ' ');
    snprintf(id, len, "%.*s", (int)(e - s), s);
    return id;
}

static bool has_edge(const char *dot, const char *from_label, const char *to_label, const char *edge_label) {
    char a[32], b[32], want[128];
    if (!node_id(dot, from_label, a, sizeof a) || !node_id(dot, to_label, b, sizeof b)) return false;
    if (edge_label) snprintf(want, sizeof want, "  %s -> %s [label=\"%s\"];\n", a, b, edge_label);
    else snprintf(want, sizeof want, "  %s -> %s;\n", a, b);
    return strstr(dot, want) != NULL;
}

static void test_show_refs_dot(void **state) {
    (void)state;
    chain_graph g;
    chain_build(&g);
    void *s = rc_str_from_cstr("say \"hi\" \\");
    RC_SET(((og_node *)g.t)->b, s);
    rc_decref(s);
    char path[512];
    snprintf(path, sizeof path, "%s/og_refs_%d.dot", RC_TEST_BINARY_DIR, (int)getpid());
    void *objs[1] = {g.r};
    assert_int_equal(rc_objgraph_show_refs(objs, 1, 2, path), 0);
    const char *dot = slurp_path(path);
    assert_non_null(dot);
    assert_non_null(strstr(dot, "digraph ObjectGraph {\n"));
    /* R, A, C at depth <= 1; B and T at depth 2, not expanded */
    assert_int_equal(count_of(dot, "[label=\"ChainNode\\n"), 5);
    assert_int_equal(count_of(dot, " -> "), 4);
    assert_true(has_edge(dot, "ChainNode(1)", "ChainNode(2)", "a"));
    assert_true(has_edge(dot, "ChainNode(1)", "ChainNode(4)", "b"));
    assert_true(has_edge(dot, "ChainNode(2)", "ChainNode(3)", "a"));
    assert_true(has_edge(dot, "ChainNode(4)", "ChainNode(5)", "a"));
    assert_null(strstr(dot, "say")); /* the str is three references away */
    /* the target is highlighted, and only it */
    assert_int_equal(count_of(dot, "fillcolor=\"#ff8080\""), 1);
    assert_non_null(strstr(dot, "ChainNode\\nChainNode(1)\", fillcolor=\"#ff8080\""));
    unlink(path);

    /* a label that needs escaping: the str's repr 'say "hi" \\' */
    objs[0] = g.t;
    assert_int_equal(rc_objgraph_show_refs(objs, 1, 1, path), 0);
    dot = slurp_path(path);
    assert_non_null(dot);
    assert_non_null(strstr(dot, "[label=\"str\\n'say \\\"hi\\\" \\\\\\\\'\"]"));
    assert_true(has_edge(dot, "ChainNode(5)", "say", "b"));
    unlink(path);

    /* backrefs of T: B, C at depth 1, A and R at 2; R is held from outside */
    assert_int_equal(rc_objgraph_show_backrefs(objs, 1, 2, path), 0);
    dot = slurp_path(path);
    assert_non_null(dot);
    assert_int_equal(count_of(dot, "[label=\"ChainNode\\n"), 5);
    assert_int_equal(count_of(dot, " -> "), 4);
    assert_true(has_edge(dot, "ChainNode(3)", "ChainNode(5)", "a"));
    assert_true(has_edge(dot, "ChainNode(4)", "ChainNode(5)", "a"));
    assert_true(has_edge(dot, "ChainNode(2)", "ChainNode(3)", "a"));
    assert_true(has_edge(dot, "ChainNode(1)", "ChainNode(4)", "b"));
    assert_int_equal(count_of(dot, "peripheries=2"), 1);
    assert_non_null(strstr(dot, "ChainNode\\nChainNode(1)\", peripheries=2"));
    unlink(path);
    chain_free(&g);
}

static void test_show_refs_builtin_labels(void **state) {
    (void)state;
    void *leaf = og_new(&chain_node, 42, NULL, NULL);
    void *list = rc_list_new(), *dict = rc_dict_new();
    void *zero = rc_int_new(1000), *key = rc_str_from_cstr("k");
    rc_list_append(list, zero);
    rc_list_append(list, leaf);
    rc_dict_set(dict, key, leaf);
    rc_decref(zero);
    rc_decref(key);
    char path[512];
    snprintf(path, sizeof path, "%s/og_builtin_%d.dot", RC_TEST_BINARY_DIR, (int)getpid());
    void *objs[2] = {list, dict};
    assert_int_equal(rc_objgraph_show_refs(objs, 2, 1, path), 0);
    const char *dot = slurp_path(path);
    assert_non_null(dot);
    assert_true(has_edge(dot, "list\\n[1000, ChainNode(42)]", "ChainNode(42)\"", "[1]"));
    assert_true(has_edge(dot, "list\\n[1000, ChainNode(42)]", "int\\n1000", "[0]"));
    assert_true(has_edge(dot, "dict\\n{'k': ChainNode(42)}", "ChainNode(42)\"", "['k']"));
    assert_true(has_edge(dot, "dict\\n{'k': ChainNode(42)}", "str\\n'k'", "key"));
    assert_int_equal(count_of(dot, "fillcolor=\"#ff8080\""), 2);
    unlink(path);
    rc_decref(list);
    rc_decref(dict);
    rc_decref(leaf);
}

static bool have_dot(void) { return system("command -v dot >/dev/null 2>&1") == 0; }

static void test_show_refs_render(void **state) {
    (void)state;
    chain_graph g;
    chain_build(&g);
    void *objs[1] = {g.r};
    char svg[512], dotpath[512];
    snprintf(svg, sizeof svg, "%s/og_render_%d.svg", RC_TEST_BINARY_DIR, (int)getpid());
    snprintf(dotpath, sizeof dotpath, "%s/og_render_%d.dot", RC_TEST_BINARY_DIR, (int)getpid());
    if (have_dot()) {
        assert_int_equal(rc_objgraph_show_refs(objs, 1, 3, svg), 0);
        const char *text = slurp_path(svg);
        assert_non_null(text);
        assert_non_null(strstr(text, "<svg"));
        assert_non_null(strstr(text, "ChainNode(5)"));
        assert_non_null(slurp_path(dotpath));
        unlink(svg);
        unlink(dotpath);
    }
    /* without dot on the PATH: a clear error, and the .dot still written */
    char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    setenv("PATH", "/nonexistent-og-path", 1);
    int rc = rc_objgraph_show_refs(objs, 1, 3, svg);
    if (old) setenv("PATH", old, 1);
    else unsetenv("PATH");
    free(old);
    assert_int_equal(rc, -1);
    expect_error("rc_objgraph_show_refs", "Graphviz's dot is not installed");
    assert_non_null(strstr(rc_last_error(), dotpath));
    const char *text = slurp_path(dotpath);
    assert_non_null(text);
    assert_non_null(strstr(text, "digraph"));
    unlink(dotpath);
    chain_free(&g);
}
/* }==== */

/* {==== threads: a thread's objects join the orphan world ==== */

OG_NODE_TYPE(thread_node, "ThreadNode");

typedef struct thread_job {
    bool query;     /* count on the thread before it exits (seeds its table) */
    void *handed;   /* one object handed to the main thread */
} thread_job;

static void *thread_body(void *arg) {
    thread_job *job = arg;
    void *prev = NULL;
    for (int i = 0; i < 10; i++) { /* a chain of 10, held by its head only */
        void *n = og_new(&thread_node, i, prev, NULL);
        rc_decref(prev); /* n holds it now */
        prev = n;
    }
    if (job->query && rc_objgraph_count("ThreadNode") < 10) return (void *)1;
    job->handed = prev;
    return NULL;
}

static void test_thread_exit(void **state) {
    (void)state;
    for (int round = 0; round < 2; round++) {
        assert_int_equal(rc_objgraph_count("ChainNode") >= 0, 1); /* this thread's table is seeded */
        thread_job job = {round == 1, NULL};
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, thread_body, &job), 0);
        void *res;
        assert_int_equal(pthread_join(t, &res), 0);
        assert_null(res);
        /* the chain is an orphan now, counted with this thread's world */
        assert_int_equal(rc_objgraph_count("ThreadNode"), 10);
        assert_int_equal(rc_objgraph_external_refs(job.handed), 1);
        void **chain;
        assert_int_equal(rc_objgraph_find_backref_chain(((og_node *)job.handed)->a, 5, &chain), 2);
        assert_ptr_equal(chain[0], job.handed);
        rc_free(chain);
        /* releasing orphans keeps the orphan counts exact */
        rc_decref(job.handed);
        assert_int_equal(rc_objgraph_count("ThreadNode"), 0);
    }
}
/* }==== */

/* {==== errors ==== */

static void test_errors(void **state) {
    (void)state;
    rc_objgraph_row *rows;
    void **list;
    assert_int_equal(rc_objgraph_most_common_types(0, NULL), -1);
    expect_error("rc_objgraph_most_common_types", "NULL");
    assert_int_equal(rc_objgraph_growth(0, NULL), -1);
    expect_error("rc_objgraph_growth", "NULL");
    assert_int_equal(rc_objgraph_count(NULL), -1);
    expect_error("rc_objgraph_count", "NULL");
    assert_int_equal(rc_objgraph_count("NoSuchTypeEver"), -1);
    expect_error("rc_objgraph_count", "unknown type 'NoSuchTypeEver'");
    assert_int_equal(rc_objgraph_type_stats("NoSuchTypeEver", NULL, NULL), -1);
    expect_error("rc_objgraph_type_stats", "unknown type");
    assert_int_equal(rc_objgraph_type_stats(NULL, NULL, NULL), -1);
    expect_error("rc_objgraph_type_stats", "NULL");
    assert_int_equal(rc_objgraph_by_type("NoSuchTypeEver", NULL, NULL), -1);
    expect_error("rc_objgraph_by_type", "unknown type");
    assert_int_equal(rc_objgraph_by_type(NULL, NULL, NULL), -1);
    expect_error("rc_objgraph_by_type", "NULL");
    assert_int_equal(rc_objgraph_get_leaking_objects(NULL), -1);
    expect_error("rc_objgraph_get_leaking_objects", "NULL");
    assert_int_equal(rc_objgraph_external_refs(NULL), -1);
    expect_error("rc_objgraph_external_refs", "NULL");
    void *block = rc_malloc(64);
    assert_int_equal(rc_objgraph_external_refs((char *)block + 16), -1);
    expect_error("rc_objgraph_external_refs", "not a live object");
    rc_free(block);

    void *obj = og_new(&chain_node, 1, NULL, NULL);
    void **chain;
    assert_int_equal(rc_objgraph_find_backref_chain(NULL, 5, &chain), -1);
    expect_error("rc_objgraph_find_backref_chain", "NULL");
    assert_int_equal(rc_objgraph_find_backref_chain(obj, 5, NULL), -1);
    expect_error("rc_objgraph_find_backref_chain", "chain is NULL");
    assert_int_equal(rc_objgraph_find_backref_chain(obj, 0, &chain), -1);
    expect_error("rc_objgraph_find_backref_chain", "max_depth");
    assert_int_equal(rc_objgraph_find_ref_chain(obj, NULL, NULL, 5, &chain), -1);
    expect_error("rc_objgraph_find_ref_chain", "pred is NULL");
    assert_int_equal(rc_objgraph_find_ref_chain(obj, is_target, NULL, 0, &chain), -1);
    expect_error("rc_objgraph_find_ref_chain", "max_depth");
    assert_int_equal(rc_objgraph_find_ref_chain(rc_none, is_target, NULL, 3, &chain), -1);
    expect_error("rc_objgraph_find_ref_chain", "not a live object");

    void *objs[2] = {obj, NULL};
    assert_int_equal(rc_objgraph_show_refs(NULL, 1, 2, "x.dot"), -1);
    expect_error("rc_objgraph_show_refs", "no objects");
    assert_int_equal(rc_objgraph_show_refs(objs, 0, 2, "x.dot"), -1);
    expect_error("rc_objgraph_show_refs", "no objects");
    assert_int_equal(rc_objgraph_show_backrefs(objs, 2, 2, "x.dot"), -1);
    expect_error("rc_objgraph_show_backrefs", "objs[1] is NULL");
    assert_int_equal(rc_objgraph_show_refs(objs, 1, 0, "x.dot"), -1);
    expect_error("rc_objgraph_show_refs", "max_depth");
    assert_int_equal(rc_objgraph_show_refs(objs, 1, 2, NULL), -1);
    expect_error("rc_objgraph_show_refs", "path");
    assert_int_equal(rc_objgraph_show_refs(objs, 1, 2, "/nonexistent-og-dir/x.dot"), -1);
    expect_error("rc_objgraph_show_refs", "cannot write '/nonexistent-og-dir/x.dot'");
    assert_int_equal(rc_objgraph_show_backrefs(objs, 1, 2, "/nonexistent-og-dir/x.svg"), -1);
    expect_error("rc_objgraph_show_backrefs", "cannot write '/nonexistent-og-dir/x.dot'");
    rc_decref(obj);

    FILE *ro = fopen("/dev/null", "r");
    assert_non_null(ro);
    void *keep = rc_new(&count_leaf);
    assert_int_equal(rc_objgraph_show_most_common_types(0, ro), -1);
    expect_error("rc_objgraph_show_most_common_types", "cannot write");
    fclose(ro);
    rc_decref(keep);
    (void)rows;
    (void)list;
}
/* }==== */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_and_bytes),
        cmocka_unit_test(test_by_type),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_external_refs),
        cmocka_unit_test(test_leaking_objects),
        cmocka_unit_test(test_backref_chain),
        cmocka_unit_test(test_backref_chain_garbage_cycle),
        cmocka_unit_test(test_ref_chain),
        cmocka_unit_test(test_show_refs_dot),
        cmocka_unit_test(test_show_refs_builtin_labels),
        cmocka_unit_test(test_show_refs_render),
        cmocka_unit_test(test_thread_exit),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
