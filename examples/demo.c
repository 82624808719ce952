/*
 * demo.c — reclaim at work.
 *
 * Part 1, the private heap: allocates a few million small blocks of mixed
 * sizes, frees most of them, trims, and prints the heap statistics before
 * and after, as sys._debugmallocstats() would show them for pymalloc.
 *
 * Part 2, objects and the cycle collector: builds trees whose children
 * point back to their parent through weak references (no cycle), then
 * links siblings both ways (cycles), with a finalizer on each tree's root;
 * bulk-loads many such trees with the collector disabled, as Python
 * programs do around gc.disable()/gc.enable(), shows gc.get_count()'s
 * counterpart, collects, and prints the collector's statistics.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <reclaim.h>

#define NBLOCKS 3000000

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Resident set size of this process, from /proc/self/statm. */
static double rss_mib(void) {
    unsigned long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%lu %lu", &pages, &resident) != 2) resident = 0;
        fclose(f);
    }
    return resident * 4096.0 / 1048576.0;
}

static void summary(const char *when) {
    rc_heap_stats s;
    rc_heap_get_stats(&s);
    printf("%-26s in use %7.1f MiB in %8zu blocks | mapped %7.1f MiB, %4zu arenas | RSS %7.1f MiB\n", when,
           s.bytes_in_use / 1048576.0, s.blocks_in_use, s.bytes_mapped / 1048576.0, s.arenas, rss_mib());
}

/* {==== part 2: objects, weak parent pointers, cycles, a finalizer ==== */

#define FANOUT 4

typedef struct tree_node {
    struct tree_node *child[FANOUT]; /* strong references */
    struct tree_node *sibling;       /* strong: siblings point at each other, forming cycles */
    rc_weakref *parent;              /* weak: a child does not keep its parent alive */
    long depth;
} tree_node;

static int node_traverse(void *self, rc_visit_fn visit, void *arg) {
    tree_node *n = self;
    for (int i = 0; i < FANOUT; i++) {
        int r = visit(n->child[i], arg);
        if (r) return r;
    }
    int r = visit(n->sibling, arg);
    return r ? r : visit(n->parent, arg);
}

static void node_clear(void *self) {
    tree_node *n = self;
    for (int i = 0; i < FANOUT; i++) RC_CLEAR(n->child[i]);
    RC_CLEAR(n->sibling);
    RC_CLEAR(n->parent);
}

static long roots_finalized;
static void root_finalize(void *self) {
    (void)self;
    roots_finalized++;
}

static const rc_type node_type = {
    .name = "tree_node", .size = sizeof(tree_node),
    .traverse = node_traverse, .clear = node_clear, .destroy = node_clear,
};
static const rc_type root_type = {
    .name = "tree_root", .size = sizeof(tree_node),
    .traverse = node_traverse, .clear = node_clear, .finalize = root_finalize, .destroy = node_clear,
};

/* A tree of the given depth under parent (NULL for a root). NULL when out of
 * memory. */
static tree_node *build_tree(tree_node *parent, long depth) {
    tree_node *n = rc_new(parent ? &node_type : &root_type);
    if (!n) return NULL;
    n->depth = depth;
    if (parent) n->parent = rc_weakref_new(parent, NULL, NULL);
    if (depth == 0) return n;
    for (int i = 0; i < FANOUT; i++) {
        n->child[i] = build_tree(n, depth - 1);
        if (!n->child[i]) break;
    }
    for (int i = 0; i < FANOUT && n->child[i]; i++) RC_SET(n->child[i]->sibling, n->child[(i + 1) % FANOUT]);
    return n;
}

static size_t tree_size(long depth) { return depth == 0 ? 1 : 1 + FANOUT * tree_size(depth - 1); }

static void print_count(const char *when) {
    size_t c[3];
    rc_gc_get_count(c);
    printf("  %-44s rc_gc_get_count() = (%zu, %zu, %zu)\n", when, c[0], c[1], c[2]);
}

static int objects_demo(void) {
    printf("\n=== objects, weak references and the cycle collector ===\n\n");
    tree_node *tree = build_tree(NULL, 3);
    if (!tree) return 1;
    size_t t[3];
    rc_gc_get_threshold(t);
    printf("  thresholds (%zu, %zu, %zu); a node of %zu payload bytes costs rc_sizeof = %zu bytes\n", t[0], t[1],
           t[2], sizeof(tree_node), rc_sizeof(tree));
    tree_node *leaf = tree->child[0]->child[1]->child[2];
    tree_node *up = rc_weakref_get(leaf->parent);
    printf("  one tree: %zu nodes; a leaf's weak parent is at depth %ld\n", tree_size(3), up ? up->depth : -1L);
    rc_decref(up);
    print_count("after building it:");

    rc_gc_disable(); /* bulk load without collections, as with gc.disable() */
    enum { TREES = 2000 };
    tree_node **trees = rc_malloc(TREES * sizeof *trees);
    if (!trees) return 1;
    for (int i = 0; i < TREES; i++)
        if (!(trees[i] = build_tree(NULL, 3))) return 1;
    print_count("after 2000 more trees, collector disabled:");
    rc_gc_enable();

    /* Drop every tree: the parent links are weak, but siblings point at
     * each other, so each tree's inner levels are cycles that reference
     * counting alone cannot free. */
    rc_weakref *watch = rc_weakref_new(tree->child[0], NULL, NULL);
    rc_decref(tree);
    for (int i = 0; i < TREES; i++) rc_decref(trees[i]);
    rc_free(trees);
    tree_node *still = rc_weakref_get(watch);
    printf("  dropped all trees: roots finalized %ld; a child of the first root is %s (sibling cycles)\n",
           roots_finalized, still ? "still alive" : "gone");
    rc_decref(still);
    print_count("before collecting:");
    size_t found = rc_gc_collect(-1);
    still = rc_weakref_get(watch);
    printf("  rc_gc_collect(-1) found %zu unreachable objects; that child is now %s\n", found,
           still ? "still alive" : "gone");
    rc_decref(still);
    rc_decref(watch);
    print_count("after collecting:");

    rc_gc_stats st[3];
    rc_gc_get_stats(st);
    printf("\n  generation  collections   collected  uncollectable\n");
    for (int g = 0; g < 3; g++)
        printf("  %10d  %11zu  %10zu  %13zu\n", g, st[g].collections, st[g].collected, st[g].uncollectable);
    return 0;
}
/* }==== */

int main(void) {
    printf("reclaim %s: the private heap\n\n", rc_version());
    void **blocks = rc_malloc(NBLOCKS * sizeof *blocks);
    if (!blocks) {
        fprintf(stderr, "demo: out of memory: %s\n", rc_last_error());
        return 1;
    }
    for (size_t i = 0; i < NBLOCKS; i++) {
        size_t size = 8 + next_rand() % 500;
        if (i % 1000 == 0) size = 600 + next_rand() % 8000; /* a few medium blocks */
        blocks[i] = rc_malloc(size);
        if (!blocks[i]) {
            fprintf(stderr, "demo: out of memory at block %zu: %s\n", i, rc_last_error());
            return 1;
        }
        ((unsigned char *)blocks[i])[0] = (unsigned char)i;
    }
    summary("after 3M allocations:");
    size_t kept = 0;
    for (size_t i = 0; i < NBLOCKS; i++) {
        if (next_rand() % 10 == 0) {
            blocks[kept++] = blocks[i]; /* keep one in ten */
        } else {
            rc_free(blocks[i]);
        }
    }
    summary("after freeing 90%:");
    printf("\n--- rc_heap_print_stats before trim ---\n");
    rc_heap_print_stats(stdout);
    size_t released = rc_heap_trim();
    printf("\nrc_heap_trim() gave %.1f MiB back to the OS\n", released / 1048576.0);
    summary("after trim:");
    printf("\n--- rc_heap_print_stats after trim ---\n");
    rc_heap_print_stats(stdout);
    for (size_t i = 0; i < kept; i++) rc_free(blocks[i]);
    rc_free(blocks);
    rc_heap_trim();
    summary("after freeing everything:");
    return objects_demo();
}
