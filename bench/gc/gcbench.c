/*
 * gcbench.c — the C side of bench/gc: one source, built three times.
 *
 *   -DIMPL_RECLAIM  reclaim objects: rc_new / rc_decref, tracked types with
 *                   traverse and clear, the cycle collector as configured
 *   -DIMPL_MALLOC   hand-written malloc/free (glibc): every free explicit
 *   -DIMPL_BOEHM    Boehm GC: GC_MALLOC, never a free, GC_gcollect
 *
 * Usage: gcbench WORKLOAD [ARG] [nogc]
 *   binarytrees D   benchmarks-game binary-trees, max depth D
 *   gcbench         Boehm's GCBench (Ellis, Kovac, Boehm)
 *   cycles N        N two-object garbage cycles a->b, b->a, both dropped
 *   fullgc N        one full collection over N live two-pointer nodes
 *   size N          bytes per two-pointer node
 * "nogc" (reclaim only) runs with rc_gc_disable().
 *
 * Every workload prints its human-readable lines, then one line
 *   RESULT bench=NAME impl=IMPL key=value ...
 * that run.sh parses. Times are CLOCK_MONOTONIC wall time inside the
 * program. The checksums depend on the data only, so every implementation
 * (and bench.py) must print the same ones.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(IMPL_RECLAIM)
#include <reclaim.h>
#define IMPL "reclaim"
#elif defined(IMPL_MALLOC)
#include <malloc.h>
#define IMPL "malloc"
#elif defined(IMPL_BOEHM)
#include <gc/gc.h>
#define IMPL "boehm"
#else
#error "define one of IMPL_RECLAIM, IMPL_MALLOC, IMPL_BOEHM"
#endif

static const char *impl_name = IMPL;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what) {
    fprintf(stderr, "gcbench (%s): %s\n", impl_name, what);
#if defined(IMPL_RECLAIM)
    fprintf(stderr, "  rc_last_error: %s\n", rc_last_error());
#endif
    exit(2);
}

/* ====================================================================
 * The node types and how each implementation allocates and drops them
 * ==================================================================== */

/* binary-trees and the two-pointer workloads: 16 bytes of payload */
typedef struct node {
    struct node *left, *right;
} node;

/* GCBench's node: two pointers and two ints (24 bytes) */
typedef struct gnode {
    struct gnode *left, *right;
    int i, j;
} gnode;

#if defined(IMPL_RECLAIM)
static int node_traverse(void *self, rc_visit_fn visit, void *arg) {
    node *n = self;
    int r = visit(n->left, arg);
    return r ? r : visit(n->right, arg);
}
static void node_clear(void *self) {
    node *n = self;
    RC_CLEAR(n->left);
    RC_CLEAR(n->right);
}
static const rc_type node_type = {
    .name = "node", .size = sizeof(node), .traverse = node_traverse, .clear = node_clear, .destroy = node_clear};
/* binary-trees' node: its children are stored right after rc_new and never
 * change, so it is RC_TYPE_IMMUTABLE, as CPython's tuples are (the Python
 * program builds its trees from tuples, which CPython untracks). */
static const rc_type tree_type = {.name = "tree",
                                  .size = sizeof(node),
                                  .traverse = node_traverse,
                                  .clear = node_clear,
                                  .destroy = node_clear,
                                  .flags = RC_TYPE_IMMUTABLE};

static int gnode_traverse(void *self, rc_visit_fn visit, void *arg) {
    gnode *n = self;
    int r = visit(n->left, arg);
    return r ? r : visit(n->right, arg);
}
static void gnode_clear(void *self) {
    gnode *n = self;
    RC_CLEAR(n->left);
    RC_CLEAR(n->right);
}
static const rc_type gnode_type = {
    .name = "gnode", .size = sizeof(gnode), .traverse = gnode_traverse, .clear = gnode_clear, .destroy = gnode_clear};

/* GCBench's array of doubles: references nothing, so never tracked */
static const rc_type darray_type = {.name = "double[]", .size = 0};

static inline node *new_node(void) {
    node *n = rc_new(&node_type);
    if (!n) die("rc_new(node) failed");
    return n;
}
static inline node *new_tree_node(void) {
    node *n = rc_new(&tree_type);
    if (!n) die("rc_new(tree) failed");
    return n;
}
static inline gnode *new_gnode(void) {
    gnode *n = rc_new(&gnode_type);
    if (!n) die("rc_new(gnode) failed");
    return n;
}
/* the new node's reference is the one the caller stores */
static inline void drop_tree(node *n) { rc_decref(n); }
static inline void drop_gtree(gnode *n) { rc_decref(n); }

#elif defined(IMPL_MALLOC)
static inline node *new_node(void) {
    node *n = malloc(sizeof *n);
    if (!n) die("malloc failed");
    n->left = n->right = NULL;
    return n;
}
static inline gnode *new_gnode(void) {
    gnode *n = calloc(1, sizeof *n);
    if (!n) die("calloc failed");
    return n;
}
static void drop_tree(node *n) {
    if (n->left) {
        drop_tree(n->left);
        drop_tree(n->right);
    }
    free(n);
}
static void drop_gtree(gnode *n) {
    if (!n) return;
    drop_gtree(n->left);
    drop_gtree(n->right);
    free(n);
}

#else /* Boehm */
static inline node *new_node(void) {
    node *n = GC_MALLOC(sizeof *n); /* zeroed */
    if (!n) die("GC_MALLOC failed");
    return n;
}
static inline gnode *new_gnode(void) {
    gnode *n = GC_MALLOC(sizeof *n);
    if (!n) die("GC_MALLOC failed");
    return n;
}
static inline void drop_tree(node *n) { (void)n; }
static inline void drop_gtree(gnode *n) { (void)n; }
#endif

static void impl_init(int nogc) {
#if defined(IMPL_RECLAIM)
    if (nogc) {
        rc_gc_disable();
        impl_name = "reclaim-nogc";
    }
#elif defined(IMPL_BOEHM)
    (void)nogc;
    GC_INIT();
#else
    (void)nogc;
#endif
}

/* ====================================================================
 * Time spent in collections, measured by each collector's callback
 * ==================================================================== */

#if defined(IMPL_RECLAIM)
static uint64_t gc_ns, gc_collected, gc_runs, gen_ns[3], gen_runs[3];
static void gc_cb(rc_gc_phase phase, const rc_gc_info *info, void *arg) {
    (void)arg;
    if (phase != RC_GC_STOP) return;
    gc_ns += info->duration_ns;
    gc_collected += info->collected;
    gc_runs++;
    gen_ns[info->generation] += info->duration_ns;
    gen_runs[info->generation]++;
}
static void gc_watch(void) {
    if (rc_gc_callback_add(gc_cb, NULL) != 0) die("rc_gc_callback_add failed");
}
/* " gc_sec=... gc_runs=... gen0=runs/sec gen1=... gen2=..." */
static void print_gc(void) {
    printf(" gc_sec=%.4f gc_runs=%llu", (double)gc_ns * 1e-9, (unsigned long long)gc_runs);
    for (int g = 0; g < 3; g++)
        printf(" gen%d=%llu/%.3f", g, (unsigned long long)gen_runs[g], (double)gen_ns[g] * 1e-9);
}
#elif defined(IMPL_BOEHM)
static double gc_start_t, gc_sec;
static uint64_t gc_runs;
static void GC_CALLBACK gc_event(GC_EventType e) {
    if (e == GC_EVENT_START) gc_start_t = now();
    else if (e == GC_EVENT_END) {
        gc_sec += now() - gc_start_t;
        gc_runs++;
    }
}
static void gc_watch(void) { GC_set_on_collection_event(gc_event); }
static void print_gc(void) {
    printf(" gc_sec=%.4f gc_runs=%llu heap_mib=%.1f", gc_sec, (unsigned long long)gc_runs,
           (double)GC_get_heap_size() / 1048576.0);
}
#else
static void gc_watch(void) {}
static void print_gc(void) {}
#endif

/* ====================================================================
 * binary-trees (the benchmarks game, single-threaded)
 * ==================================================================== */

#if !defined(IMPL_RECLAIM)
#define new_tree_node new_node
#endif

static node *bottom_up_tree(int depth) {
    if (depth <= 0) return new_tree_node();
    node *l = bottom_up_tree(depth - 1);
    node *r = bottom_up_tree(depth - 1);
    node *n = new_tree_node();
    n->left = l; /* the new references move into the parent */
    n->right = r;
    return n;
}

static long item_check(const node *n) {
    return n->left ? 1 + item_check(n->left) + item_check(n->right) : 1;
}

static int binarytrees(int max_depth) {
    const int min_depth = 4;
    gc_watch();
    if (max_depth < min_depth + 2) max_depth = min_depth + 2;
    uint64_t sum = 0;
    double t0 = now();

    node *stretch = bottom_up_tree(max_depth + 1);
    long c = item_check(stretch);
    sum += (uint64_t)c;
    printf("stretch tree of depth %d\t check: %ld\n", max_depth + 1, c);
    drop_tree(stretch);

    node *long_lived = bottom_up_tree(max_depth);

    for (int d = min_depth; d <= max_depth; d += 2) {
        long iterations = 1L << (max_depth - d + min_depth);
        long check = 0;
        for (long i = 1; i <= iterations; i++) {
            node *t = bottom_up_tree(d);
            check += item_check(t);
            drop_tree(t);
        }
        sum = sum * 31 + (uint64_t)check;
        printf("%ld\t trees of depth %d\t check: %ld\n", iterations, d, check);
    }
    c = item_check(long_lived);
    sum = sum * 31 + (uint64_t)c;
    printf("long lived tree of depth %d\t check: %ld\n", max_depth, c);
    drop_tree(long_lived);
    double t = now() - t0;
    printf("RESULT bench=binarytrees impl=%s n=%d sec=%.4f checksum=%llu", impl_name, max_depth, t,
           (unsigned long long)sum);
    print_gc();
    printf("\n");
    return 0;
}

/* ====================================================================
 * GCBench (Boehm's C version, same sizes and order of allocation)
 * ==================================================================== */

enum { kStretchTreeDepth = 18, kLongLivedTreeDepth = 16, kArraySize = 500000, kMinTreeDepth = 4,
       kMaxTreeDepth = 16 };

static long tree_size(int i) { return (1L << (i + 1)) - 1; }
static long num_iters(int i) { return 2 * tree_size(kStretchTreeDepth) / tree_size(i); }

/* top-down: the node exists, its children are made and stored, then filled */
static void populate(int depth, gnode *n) {
    if (depth <= 0) return;
    depth--;
    n->left = new_gnode();
    n->right = new_gnode();
    populate(depth, n->left);
    populate(depth, n->right);
}

/* bottom-up: the children first, then their parent */
static gnode *make_tree(int depth) {
    if (depth <= 0) return new_gnode();
    gnode *l = make_tree(depth - 1);
    gnode *r = make_tree(depth - 1);
    gnode *n = new_gnode();
    n->left = l;
    n->right = r;
    return n;
}

static long gcount(const gnode *n) { return n ? 1 + gcount(n->left) + gcount(n->right) : 0; }

static uint64_t time_construction(int depth) {
    long iters = num_iters(depth);
    uint64_t sum = 0;
    for (long i = 0; i < iters; i++) {
        gnode *t = new_gnode();
        populate(depth, t);
        if (i == iters - 1) sum += (uint64_t)gcount(t);
        drop_gtree(t);
    }
    for (long i = 0; i < iters; i++) {
        gnode *t = make_tree(depth);
        if (i == iters - 1) sum += (uint64_t)gcount(t);
        drop_gtree(t);
    }
    printf("%ld trees of depth %d top-down and bottom-up\n", iters, depth);
    return sum;
}

static int gcbench(void) {
    gc_watch();
    double t0 = now();
    uint64_t sum = 0;

    gnode *t = make_tree(kStretchTreeDepth); /* stretch the memory space */
    sum += (uint64_t)gcount(t);
    drop_gtree(t);

    gnode *long_lived = new_gnode();
    populate(kLongLivedTreeDepth, long_lived);

#if defined(IMPL_RECLAIM)
    double *array = rc_new_var(&darray_type, sizeof(double) * kArraySize);
#elif defined(IMPL_MALLOC)
    double *array = malloc(sizeof(double) * kArraySize);
#else
    double *array = GC_MALLOC_ATOMIC(sizeof(double) * kArraySize);
#endif
    if (!array) die("array allocation failed");
    for (int i = 0; i < kArraySize / 2; i++) array[i] = 1.0 / i;

    for (int d = kMinTreeDepth; d <= kMaxTreeDepth; d += 2) sum = sum * 31 + time_construction(d);

    if (array[1000] != 1.0 / 1000) die("GCBench: array[1000] changed");
    sum = sum * 31 + (uint64_t)gcount(long_lived);
    double t1 = now() - t0;
#if defined(IMPL_RECLAIM)
    rc_decref(array);
#elif defined(IMPL_MALLOC)
    free(array);
#endif
    drop_gtree(long_lived);
    printf("RESULT bench=gcbench impl=%s sec=%.4f checksum=%llu", impl_name, t1, (unsigned long long)sum);
    print_gc();
    printf("\n");
    return 0;
}

/* ====================================================================
 * Garbage cycles: N pairs a->b, b->a, both dropped
 * ==================================================================== */

static int cycles(long n) {
    gc_watch();
    double t0 = now();
    for (long i = 0; i < n; i++) {
        node *a = new_node();
        node *b = new_node();
#if defined(IMPL_RECLAIM)
        a->left = rc_incref(b);
        b->left = rc_incref(a);
        rc_decref(a);
        rc_decref(b);
#else
        a->left = b;
        b->left = a;
#if defined(IMPL_MALLOC)
        free(a); /* the hand-written version knows it is a cycle */
        free(b);
#endif
#endif
    }
    double t_loop = now() - t0;
    /* whatever the automatic collections left, as a program would at exit */
#if defined(IMPL_RECLAIM)
    rc_gc_collect(-1);
#elif defined(IMPL_BOEHM)
    GC_gcollect();
#endif
    double t = now() - t0;
#if defined(IMPL_RECLAIM)
    long check = gc_collected == (uint64_t)(2 * n) ? n : -1L; /* every object reclaimed */
    uint64_t collected = gc_collected;
#else
    long check = n;
    uint64_t collected = 2 * (uint64_t)n;
#endif
    printf("RESULT bench=cycles impl=%s n=%ld sec=%.4f loop_sec=%.4f collected=%llu checksum=%ld", impl_name, n, t,
           t_loop, (unsigned long long)collected, check);
    print_gc();
    printf("\n");
    return 0;
}

/* ====================================================================
 * Full collection over N live two-pointer nodes held from a root:
 * node i's left is node i-1 (a list from the root), its right is node
 * (i-1)/2 (a far pointer back); the root holds node N-1.
 * ==================================================================== */

static node *volatile fullgc_root;

static long count_list(const node *n) {
    long c = 0;
    for (; n; n = n->left) c++;
    return c;
}

static int fullgc(long n) {
    node **all = malloc((size_t)n * sizeof *all); /* a builder's table, not a root */
    if (!all) die("malloc of the node table failed");
#if defined(IMPL_RECLAIM)
    rc_gc_disable(); /* build without automatic collections; all get examined by the timed ones */
#elif defined(IMPL_BOEHM)
    GC_disable();
#endif
    double tb = now();
    for (long i = 0; i < n; i++) {
        node *x = new_node();
        if (i > 0) {
#if defined(IMPL_RECLAIM)
            x->left = all[i - 1]; /* takes over the reference the table held */
            x->right = rc_incref(all[(i - 1) / 2]);
#else
            x->left = all[i - 1];
            x->right = all[(i - 1) / 2];
#endif
        }
        all[i] = x;
    }
    fullgc_root = all[n - 1]; /* its creation reference */
    free(all);
    double build = now() - tb;
#if defined(IMPL_RECLAIM)
    rc_gc_enable();
    size_t found0 = rc_gc_collect(-1); /* first one: everything moves to generation 2 */
#elif defined(IMPL_BOEHM)
    GC_enable();
    GC_gcollect();
    size_t found0 = 0;
#else
    size_t found0 = 0;
#endif
    double best = 1e30;
    size_t found = 0;
    for (int r = 0; r < 3; r++) {
        double t0 = now();
#if defined(IMPL_RECLAIM)
        found += rc_gc_collect(-1);
#elif defined(IMPL_BOEHM)
        GC_gcollect();
#endif
        double t = now() - t0;
        if (t < best) best = t;
    }
    long live = count_list(fullgc_root);
#if defined(IMPL_BOEHM)
    double heap_mib = (double)GC_get_heap_size() / 1048576.0;
#endif
    /* take it down (not timed) */
#if defined(IMPL_RECLAIM)
    rc_decref(fullgc_root);
#elif defined(IMPL_MALLOC)
    for (node *x = fullgc_root, *next; x; x = next) {
        next = x->left;
        free(x);
    }
#endif
    fullgc_root = NULL;
    printf("RESULT bench=fullgc impl=%s n=%ld sec=%.6f build_sec=%.3f first_found=%zu found=%zu "
#if defined(IMPL_BOEHM)
           "heap_mib=%.1f "
#endif
           "checksum=%ld\n",
           impl_name, n, best, build, found0, found,
#if defined(IMPL_BOEHM)
           heap_mib,
#endif
           (found0 == 0 && found == 0) ? live : -live);
    return 0;
}

/* ====================================================================
 * Bytes per two-pointer node
 * ==================================================================== */

static int size(long n) {
    node **all = malloc((size_t)n * sizeof *all);
    if (!all) die("malloc of the node table failed");
    node *probe = new_node(); /* also creates reclaim's thread world before the first stats */
#if defined(IMPL_RECLAIM)
    /* collection as configured (default: automatic, 700/10/10), unless nogc */
    rc_heap_stats s0, s1;
    rc_heap_get_stats(&s0);
#elif defined(IMPL_BOEHM)
    GC_disable();
    size_t h0 = GC_get_heap_size() - GC_get_free_bytes();
#else
    struct mallinfo2 m0 = mallinfo2();
#endif
    for (long i = 0; i < n; i++) all[i] = new_node();
    double per_obj, mapped, sizeof_obj, after_full;
#if defined(IMPL_RECLAIM)
    /* bytes_in_use counts the collector's side vectors too: the young
     * generations' slots (8 bytes per young object) */
    rc_heap_get_stats(&s1);
    per_obj = (double)(s1.bytes_in_use - s0.bytes_in_use) / (double)n;
    mapped = (double)(s1.bytes_mapped - s0.bytes_mapped) / (double)n;
    rc_gc_collect(-1); /* now all in generation 2 */
    rc_heap_get_stats(&s1);
    after_full = (double)(s1.bytes_in_use - s0.bytes_in_use) / (double)n;
    sizeof_obj = (double)rc_sizeof(probe);
#elif defined(IMPL_BOEHM)
    per_obj = (double)(GC_get_heap_size() - GC_get_free_bytes() - h0) / (double)n;
    mapped = after_full = per_obj;
    sizeof_obj = (double)GC_size(probe);
#else
    struct mallinfo2 m1 = mallinfo2();
    per_obj = after_full = (double)((m1.uordblks + m1.hblkhd) - (m0.uordblks + m0.hblkhd)) / (double)n;
    mapped = (double)((m1.arena + m1.hblkhd) - (m0.arena + m0.hblkhd)) / (double)n;
    sizeof_obj = (double)malloc_usable_size(probe);
#endif
    for (long i = 0; i < n; i++) drop_tree(all[i]);
    drop_tree(probe);
    free(all);
    printf("RESULT bench=size impl=%s n=%ld sizeof=%.0f heap_bytes=%.2f after_full_bytes=%.2f mapped_bytes=%.2f "
           "checksum=%ld\n",
           impl_name, n, sizeof_obj, per_obj, after_full, mapped, n);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s binarytrees D | gcbench | cycles N | fullgc N | size N  [nogc]\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *w = argv[1];
    long arg = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
    int nogc = (argc > 2 && strcmp(argv[argc - 1], "nogc") == 0);
    impl_init(nogc);
    if (!strcmp(w, "binarytrees")) return binarytrees(arg ? (int)arg : 21);
    if (!strcmp(w, "gcbench")) return gcbench();
    if (!strcmp(w, "cycles")) return cycles(arg ? arg : 1000000);
    if (!strcmp(w, "fullgc")) return fullgc(arg ? arg : 1000000);
    if (!strcmp(w, "size")) return size(arg ? arg : 1000000);
    fprintf(stderr, "unknown workload %s\n", w);
    return 2;
}
