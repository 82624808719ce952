/* objgraph_workload.c — the heap of the object-graph benchmark
 * (bench/prof/objgraph.sh; see README.md there), built in reclaim.
 *
 *     objgraph_workload query N DUMP_PATH
 *     objgraph_workload build N
 *
 * The heap. A forest: one list (held from C: the root of every chain)
 * holding TREES complete binary trees of 1023 Nodes (ten levels), with
 * TREES = N / 4092 rounded (at least 1). Every Node carries a payload, made
 * in pre-order, alternately
 *   even nodes:  a list  [int, Leaf]
 *   odd nodes:   a dict  {"id": int, "leaf": Leaf, "owner": the Node}
 * where the int is a fresh one (1000 + the node's number: never a cached
 * small int) and the Leaf (a user type) holds a reference to that same
 * int. So each Node brings four objects (Node, list or dict, int, Leaf):
 * 4092 a tree, plus the forest list and the three key strings; every
 * second Node is in a cycle with its dict (the "owner" entry), as an
 * object and its attribute dict so often are. Two user types (Node,
 * Leaf), lists, dicts and ints: the shape of a program's data, small
 * objects in containers and trees. objgraph_workload.py builds the same
 * heap in CPython, object for object, in the same order.
 *
 * The deep object: the Leaf of the last tree's rightmost bottom Node. Its
 * shortest chain from a root is forest -> tree root -> nine Nodes ->
 * payload -> Leaf: 13 objects (CPython adds the module and its dict: 15).
 *
 * query (the timed run): builds the heap with automatic collection off
 * (building is not timed), then times, in this order, on the one heap:
 *   gc1     rc_gc_collect(2), the first full collection after building
 *   gc2     rc_gc_collect(2) again (the settled heap)
 *   mct1    rc_objgraph_most_common_types(10, ...): the first query, which
 *           starts the per-type counters with one walk of the heap
 *   mct2    the same again: a read of the running counters
 *   chain   rc_objgraph_find_backref_chain(deep, 20, ...)
 *   chain2  the same again (each call builds its own reference index)
 *   dump    rc_heap_dump(DUMP_PATH) (the file is left for the script,
 *           which notes its size and deletes it)
 * and checks the answers: TREES * 1023 Nodes, Leafs and ints, half as many
 * dicts, one more list (the forest), and a chain of 13 objects from the
 * forest to the deep Leaf.
 *
 * build (the mprof rows): builds the heap with automatic collection on
 * (the collector runs as it would in a program), drops it, and builds
 * and drops it again; nothing is timed inside.
 *
 * It prints one line the script parses:
 *   RESULT mode=M n=N trees=T objects=O nodes=K build_s=S gc1_s= gc2_s=
 *          mct1_s= mct2_s= chain_s= chain2_s= chain_len= dump_s= top=NAME:COUNT
 *          cpu_s= maxrss_kib=
 * (times in seconds, CLOCK_MONOTONIC around each call; cpu_s is
 * getrusage's user + sys of the whole process; build prints only the
 * figures it has). Any failure: a message naming it and rc_last_error on
 * stderr, exit status 1.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <reclaim.h>

#define TREE_DEPTH 10                        /* levels: 1023 Nodes a tree */
#define TREE_NODES ((1u << TREE_DEPTH) - 1u)
#define OBJS_PER_NODE 4u
#define CHAIN_LEN (1 + TREE_DEPTH + 2)       /* forest, 10 Nodes, payload, Leaf */

static void die(const char *what) {
    fprintf(stderr, "objgraph_workload: %s\n  rc_last_error: %s\n", what, rc_last_error());
    exit(1);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec * 1e-6;
}

static long maxrss_kib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* {==== the two user types ==== */

/* Node: a binary tree node with its payload (a list or a dict). */
typedef struct Node {
    void *left, *right, *data;
} Node;

static int node_traverse(void *self, rc_visit_fn visit, void *arg) {
    Node *n = self;
    int r;
    if (n->left && (r = visit(n->left, arg))) return r;
    if (n->right && (r = visit(n->right, arg))) return r;
    if (n->data && (r = visit(n->data, arg))) return r;
    return 0;
}

static void node_clear(void *self) {
    Node *n = self;
    RC_CLEAR(n->left);
    RC_CLEAR(n->right);
    RC_CLEAR(n->data);
}

static void node_destroy(void *self) {
    Node *n = self;
    rc_decref(n->left);
    rc_decref(n->right);
    rc_decref(n->data);
}

static const rc_type node_type = {
    .name = "Node",
    .size = sizeof(Node),
    .traverse = node_traverse,
    .clear = node_clear,
    .destroy = node_destroy,
};

/* Leaf: holds a reference to its node's int. */
typedef struct Leaf {
    void *value;
} Leaf;

static int leaf_traverse(void *self, rc_visit_fn visit, void *arg) {
    Leaf *l = self;
    return l->value ? visit(l->value, arg) : 0;
}

static void leaf_clear(void *self) {
    Leaf *l = self;
    RC_CLEAR(l->value);
}

static void leaf_destroy(void *self) {
    Leaf *l = self;
    rc_decref(l->value);
}

static const rc_type leaf_type = {
    .name = "Leaf",
    .size = sizeof(Leaf),
    .traverse = leaf_traverse,
    .clear = leaf_clear,
    .destroy = leaf_destroy,
};

/* }==== */

/* {==== building the heap ==== */

static void *key_id, *key_leaf, *key_owner; /* the dict keys, held from C */
static uint64_t serial;                      /* Nodes made so far (pre-order) */

/* A new tree of depth levels; returns a new reference. */
static Node *build_tree(int depth) {
    Node *n = rc_new(&node_type);
    if (!n) die("rc_new(Node) failed");
    uint64_t i = serial++;
    void *iv = rc_int_new((int64_t)(1000 + i));
    if (!iv) die("rc_int_new failed");
    Leaf *lf = rc_new(&leaf_type);
    if (!lf) die("rc_new(Leaf) failed");
    lf->value = rc_incref(iv);
    void *data;
    if (i % 2 == 0) {
        if (!(data = rc_list_new()) || rc_list_append(data, iv) || rc_list_append(data, lf))
            die("building a list payload failed");
    } else {
        if (!(data = rc_dict_new()) || rc_dict_set(data, key_id, iv) || rc_dict_set(data, key_leaf, lf) ||
            rc_dict_set(data, key_owner, n))
            die("building a dict payload failed");
    }
    rc_decref(iv);
    rc_decref(lf);
    n->data = data;
    if (depth > 1) {
        n->left = build_tree(depth - 1);
        n->right = build_tree(depth - 1);
    }
    return n;
}

/* The forest of trees trees: a new reference to the list. */
static void *build_forest(size_t trees) {
    void *forest = rc_list_new();
    if (!forest) die("rc_list_new failed");
    for (size_t t = 0; t < trees; t++) {
        Node *root = build_tree(TREE_DEPTH);
        if (rc_list_append_steal(forest, root)) die("rc_list_append_steal failed");
    }
    return forest;
}

/* The deep object: the Leaf of the last tree's rightmost bottom Node
 * (borrowed). */
static void *deep_object(void *forest) {
    Node *n = rc_list_get(forest, -1);
    if (!n) die("rc_list_get failed");
    while (n->right) n = n->right;
    void *lf = rc_type_of(n->data) == &rc_list_type ? rc_list_get(n->data, 1) : rc_dict_get(n->data, key_leaf);
    if (!lf || rc_type_of(lf) != &leaf_type) die("the deep Leaf is not where it should be");
    return lf;
}

/* }==== */

int main(int argc, char **argv) {
    if (argc < 3 || (strcmp(argv[1], "query") == 0 ? argc != 4 : argc != 3)) {
        fprintf(stderr, "usage: objgraph_workload query N DUMP_PATH | build N (see the comment at the top)\n");
        return 2;
    }
    const char *mode = argv[1];
    char *end;
    unsigned long long n = strtoull(argv[2], &end, 10);
    if (*end || n == 0) die("N must be a positive integer");
    size_t trees = (size_t)((n + TREE_NODES * OBJS_PER_NODE / 2) / (TREE_NODES * OBJS_PER_NODE));
    if (trees == 0) trees = 1;
    size_t objects = trees * TREE_NODES * OBJS_PER_NODE + 1 + 3;
    size_t nodes = trees * TREE_NODES;

    key_id = rc_str_from_cstr("id");
    key_leaf = rc_str_from_cstr("leaf");
    key_owner = rc_str_from_cstr("owner");
    if (!key_id || !key_leaf || !key_owner) die("rc_str_from_cstr failed");

    if (!strcmp(mode, "build")) {
        for (int round = 0; round < 2; round++) {
            serial = 0;
            void *forest = build_forest(trees);
            rc_decref(forest);
        }
        printf("RESULT mode=build n=%llu trees=%zu objects=%zu nodes=%zu cpu_s=%.3f maxrss_kib=%ld\n", n, trees,
               objects, nodes, cpu_seconds(), maxrss_kib());
        return 0;
    }
    if (strcmp(mode, "query")) die("unknown mode (query, build)");
    const char *dump_path = argv[3];

    rc_gc_disable();
    double t0 = now();
    void *forest = build_forest(trees);
    double build_s = now() - t0;
    rc_gc_enable();
    void *deep = deep_object(forest);

    t0 = now();
    rc_gc_collect(2);
    double gc1_s = now() - t0;
    t0 = now();
    rc_gc_collect(2);
    double gc2_s = now() - t0;

    rc_objgraph_row *rows = NULL;
    t0 = now();
    int64_t nrows = rc_objgraph_most_common_types(10, &rows);
    double mct1_s = now() - t0;
    if (nrows < 1) die("rc_objgraph_most_common_types (first call) failed");
    rc_free(rows);
    rows = NULL;
    t0 = now();
    nrows = rc_objgraph_most_common_types(10, &rows);
    double mct2_s = now() - t0;
    if (nrows < 1) die("rc_objgraph_most_common_types (second call) failed");
    /* Node, Leaf and int tie at one per Node; list and dict have half. */
    char top[160];
    snprintf(top, sizeof top, "%s:%zu", rows[0].name, rows[0].count);
    size_t seen = 0;
    for (int64_t r = 0; r < nrows; r++) {
        const char *nm = rows[r].name;
        size_t want = !strcmp(nm, "Node") || !strcmp(nm, "Leaf") || !strcmp(nm, "int") ? nodes
                      : !strcmp(nm, "list") ? (nodes + 1) / 2 + 1 /* and the forest */
                      : !strcmp(nm, "dict") ? nodes / 2
                                            : 0;
        if (want == 0) continue;
        seen++;
        if (rows[r].count != want) {
            fprintf(stderr, "objgraph_workload: %zu objects of type %s, expected %zu\n", rows[r].count, nm, want);
            return 1;
        }
    }
    if (seen != 5) {
        fprintf(stderr, "objgraph_workload: %zu of Node, Leaf, int, list, dict among the top types, expected 5\n",
                seen);
        return 1;
    }
    rc_free(rows);

    void **chain = NULL;
    t0 = now();
    int64_t chain_len = rc_objgraph_find_backref_chain(deep, 20, &chain);
    double chain_s = now() - t0;
    if (chain_len < 0) die("rc_objgraph_find_backref_chain failed");
    if (chain_len != CHAIN_LEN || chain[0] != forest || chain[chain_len - 1] != deep) {
        fprintf(stderr, "objgraph_workload: backref chain of %lld objects, expected %d from the forest to the Leaf\n",
                (long long)chain_len, CHAIN_LEN);
        return 1;
    }
    rc_free(chain);
    chain = NULL;
    t0 = now();
    int64_t chain2_len = rc_objgraph_find_backref_chain(deep, 20, &chain);
    double chain2_s = now() - t0;
    if (chain2_len != chain_len) die("rc_objgraph_find_backref_chain (second call) gave another answer");
    rc_free(chain);

    t0 = now();
    if (rc_heap_dump(dump_path)) die("rc_heap_dump failed");
    double dump_s = now() - t0;

    printf("RESULT mode=query n=%llu trees=%zu objects=%zu nodes=%zu build_s=%.4f gc1_s=%.4f gc2_s=%.4f "
           "mct1_s=%.6f mct2_s=%.6f chain_s=%.4f chain2_s=%.4f chain_len=%lld dump_s=%.4f top=%s cpu_s=%.3f maxrss_kib=%ld\n",
           n, trees, objects, nodes, build_s, gc1_s, gc2_s, mct1_s, mct2_s, chain_s, chain2_s, (long long)chain_len, dump_s,
           top, cpu_seconds(), maxrss_kib());
    fflush(stdout);
    rc_decref(forest);
    rc_decref(key_id);
    rc_decref(key_leaf);
    rc_decref(key_owner);
    return 0;
}
