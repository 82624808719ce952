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
 *
 * Part 3, the built-in types: counts words with a dict, ranks them with a
 * sorted list of tuples, keeps the distinct lengths in a set, streams a
 * million numbers through a generator pipeline in constant memory, and
 * keeps a million floats unboxed in a typed array beside the same floats
 * in a list, with the heap's figures for both.
 *
 * Part 4, a planted leak: a document cache serves requests, and its export
 * path takes a reference to an observer list that it never gives back. The
 * demo asks objgraph's questions (what grew, why is this closed document
 * still alive) and, given a directory (demo DIR), writes a snapshot and
 * two heap dumps there. scripts/demo.sh runs the demo under `reclaim
 * mprof run` and ends with `reclaim report` of the whole run: one HTML
 * page whose leak section shows the chain that explains the leak.
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

/* {==== part 3: built-in types, generators, typed arrays ==== */

/* A generator: the squares 0, 1, 4, ... below n*n. Its locals live in the
 * generator object; C locals would not survive a yield. */
typedef struct squares_locals {
    int64_t i, n;
} squares_locals;

static int squares(void *gen, void **out) {
    squares_locals *l = rc_gen_locals(gen);
    RC_GEN_BEGIN(gen);
    for (l->i = 0; l->i < l->n; l->i++) RC_YIELD(gen, out, rc_int_new(l->i * l->i));
    RC_GEN_END(gen);
}

static int is_even(void *item, void *arg) {
    (void)arg;
    return rc_int_value(item) % 2 == 0;
}

/* Sort (word, count) tuples by count, descending, then by word. */
static int by_count(const void *a, const void *b, void *arg, bool *failed) {
    (void)arg;
    int64_t ca = rc_int_value(rc_tuple_get(a, 1)), cb = rc_int_value(rc_tuple_get(b, 1));
    if (ca != cb) return ca > cb ? -1 : 1;
    int c = 0;
    if (rc_compare(rc_tuple_get(a, 0), rc_tuple_get(b, 0), &c) != 0) *failed = true;
    return c;
}

static void print_repr(const char *label, const void *obj) {
    void *r = rc_repr(obj);
    printf("  %-28s %s\n", label, r ? rc_str_cstr(r) : rc_last_error());
    rc_decref(r);
}

static size_t heap_in_use(void) {
    rc_heap_stats st;
    rc_heap_get_stats(&st);
    return st.bytes_in_use;
}

/* The demo's objects, released together at the end. */
enum { T_TEXT, T_WORDS, T_COUNTS, T_LENGTHS, T_ITEMS, T_RANKED, T_TOP, T_GEN, T_EVENS, T_FLOATS, T_ARRAY, T_COUNT };

static int types_demo(void) {
    printf("\nreclaim: built-in types, generators and typed arrays\n\n");
    void *o[T_COUNT] = {0};
    int status = 1;
    /* word counts: a dict str -> int, in first-seen order, and the set of
     * word lengths */
    o[T_TEXT] = rc_str_from_cstr("the quick brown fox jumps over the lazy dog "
                                 "while the dog and the fox sleep under the quick sun");
    o[T_WORDS] = o[T_TEXT] ? rc_str_split(o[T_TEXT], NULL) : NULL;
    o[T_COUNTS] = rc_dict_new();
    o[T_LENGTHS] = rc_set_new();
    if (!o[T_WORDS] || !o[T_COUNTS] || !o[T_LENGTHS]) goto out;
    for (int64_t i = 0; i < (int64_t)rc_list_len(o[T_WORDS]); i++) {
        void *w = rc_list_get(o[T_WORDS], i);
        void *old = rc_dict_get(o[T_COUNTS], w);
        void *n = rc_int_new(old ? rc_int_value(old) + 1 : 1);
        void *len = rc_int_new((int64_t)rc_str_len(w));
        bool ok = n && len && rc_dict_set(o[T_COUNTS], w, n) == 0 && rc_set_add(o[T_LENGTHS], len) >= 0;
        rc_decref(n);
        rc_decref(len);
        if (!ok) goto out;
    }
    print_repr("counts (a dict)", o[T_COUNTS]);
    print_repr("word lengths (a set)", o[T_LENGTHS]);
    /* rank: (word, count) tuples sorted by count, the top three */
    o[T_ITEMS] = rc_dict_items(o[T_COUNTS]);
    o[T_RANKED] = o[T_ITEMS] ? rc_list_from_iter(o[T_ITEMS]) : NULL;
    if (!o[T_RANKED] || rc_list_sort(o[T_RANKED], by_count, NULL) != 0) goto out;
    o[T_TOP] = rc_list_slice(o[T_RANKED], 0, 3);
    if (!o[T_TOP]) goto out;
    print_repr("top three (sorted tuples)", o[T_TOP]);
    /* a generator pipeline: even squares below 10^12, summed one at a time
     * in constant memory */
    o[T_GEN] = rc_gen_new(squares, sizeof(squares_locals), 0);
    if (!o[T_GEN]) goto out;
    ((squares_locals *)rc_gen_locals(o[T_GEN]))->n = 1000000;
    o[T_EVENS] = rc_filter(is_even, NULL, o[T_GEN]);
    if (!o[T_EVENS]) goto out;
    size_t before = heap_in_use();
    int64_t sum = 0, count = 0;
    void *item;
    int rc;
    while ((rc = rc_next(o[T_EVENS], &item)) == 1) {
        sum += rc_int_value(item);
        count++;
        rc_decref(item);
    }
    if (rc < 0) goto out;
    printf("  %-28s %lld even squares below 10^12, sum %lld; heap grew by %zd bytes meanwhile\n",
           "generator -> filter", (long long)count, (long long)sum, (ssize_t)(heap_in_use() - before));
    /* a million floats, boxed in a list and unboxed in an array */
    size_t base = heap_in_use();
    o[T_FLOATS] = rc_list_new();
    if (!o[T_FLOATS]) goto out;
    for (int i = 0; i < 1000000; i++)
        if (rc_list_append_steal(o[T_FLOATS], rc_float_new(i * 0.5)) != 0) goto out;
    size_t list_bytes = heap_in_use() - base;
    base = heap_in_use();
    o[T_ARRAY] = rc_array_from_iter(RC_FLOAT64, o[T_FLOATS]);
    if (!o[T_ARRAY]) goto out;
    size_t array_bytes = heap_in_use() - base;
    double list_sum = 0;
    for (int64_t i = 0; i < 1000000; i++) list_sum += rc_float_value(rc_list_get(o[T_FLOATS], i));
    printf("  %-28s %.1f bytes per float in an rc_list, %.1f in an rc_array (sums %.1f and %.1f)\n",
           "1M floats", list_bytes / 1e6, array_bytes / 1e6, list_sum, rc_array_sum(o[T_ARRAY]));
    status = 0;
out:
    if (status) fprintf(stderr, "demo: %s\n", rc_last_error());
    for (int i = T_COUNT - 1; i >= 0; i--) rc_decref(o[i]);
    rc_gc_collect(-1);
    return status;
}
/* }==== */

/* {==== part 4: a planted leak, hunted down ==== */

/* A document cache: the app keeps its open documents in a dict by name;
 * each document holds a list of its pages (bytes). A request opens a
 * document, works on it and closes it (removes it from the dict). The
 * export path also registers the document with a list of observers, and
 * takes a reference to that list that it never gives back: the planted
 * leak. Nothing in the heap refers to the observer list, so it is held
 * "from outside the heap", and it keeps the exported document and its
 * pages alive after the document was closed. */
typedef struct document {
    void *name;  /* a str */
    void *pages; /* a list of bytes */
} document;

static int document_traverse(void *self, rc_visit_fn visit, void *arg) {
    document *d = self;
    int r = visit(d->name, arg);
    return r ? r : visit(d->pages, arg);
}

static void document_clear(void *self) {
    document *d = self;
    RC_CLEAR(d->name);
    RC_CLEAR(d->pages);
}

static const rc_type document_type = {
    .name = "document", .size = sizeof(document),
    .traverse = document_traverse, .clear = document_clear, .destroy = document_clear,
};

enum { REQUESTS = 300, PAGES = 8, EXPORT_PAGES = 400, PAGE_BYTES = 1024, EXPORTED = 137 };

/* noinline: so that the report names these functions as allocation sites */
__attribute__((noinline)) static document *open_document(long id, int pages) {
    document *d = rc_new(&document_type);
    if (!d) return NULL;
    d->name = rc_str_format("report-%ld.txt", id);
    d->pages = rc_list_new();
    if (!d->name || !d->pages) goto fail;
    static unsigned char text[PAGE_BYTES];
    for (int k = 0; k < pages; k++) {
        text[0] = (unsigned char)k;
        if (rc_list_append_steal(d->pages, rc_bytes_new(text, sizeof text)) != 0) goto fail;
    }
    return d;
fail:
    rc_decref(d);
    return NULL;
}

/* The bug: the observer list gets an extra reference that nobody drops. */
__attribute__((noinline)) static int export_document(document *d) {
    void *observers = rc_list_new();
    if (!observers || rc_list_append(observers, d) != 0) return -1;
    rc_incref(observers); /* "keep it while the export runs" -- and then forgotten */
    rc_decref(observers);
    return 0;
}

static int handle_request(void *open_docs, long id) {
    document *d = open_document(id, id == EXPORTED ? EXPORT_PAGES : PAGES);
    if (!d || rc_dict_set(open_docs, d->name, d) != 0) {
        rc_decref(d);
        return -1;
    }
    int status = id == EXPORTED ? export_document(d) : 0;
    if (rc_dict_del(open_docs, d->name) != 0) status = -1; /* close it */
    rc_decref(d);
    return status;
}

/* Finds a live document that the app no longer has open (by_type visitor). */
static int find_closed(void *obj, void *arg) {
    void **found = arg;
    if (*found) return 1;
    *found = rc_incref(obj);
    return 1;
}

static void print_object(const char *prefix, void *obj) {
    void *r = rc_repr(obj);
    const char *text = r ? rc_str_cstr(r) : "?";
    printf("%s%s %.60s%s (external references: %lld)\n", prefix, rc_type_of(obj)->name, text,
           r && rc_str_len(r) > 60 ? "..." : "", (long long)rc_objgraph_external_refs(obj));
    rc_decref(r);
}

/* dir: where the snapshot and the heap dumps go (NULL: nowhere). */
static int leak_demo(const char *dir) {
    printf("\n=== a planted leak, hunted with objgraph's questions and heap dumps ===\n\n");
    char path[4096];
    if (rc_trace_start(16) != 0) return 1;
    void *open_docs = rc_dict_new();
    if (!open_docs) return 1;
    rc_objgraph_row *rows = NULL;
    if (rc_objgraph_growth(0, &rows) < 0) return 1; /* the baseline */
    rc_free(rows);
    if (dir) {
        snprintf(path, sizeof path, "%s/before.rcheap", dir);
        if (rc_heap_dump(path) != 0) return 1;
    }
    {
        RC_PROFILE_SCOPE("requests");
        for (long id = 0; id < REQUESTS; id++)
            if (handle_request(open_docs, id) != 0) return 1;
    }
    printf("  %ld requests served; open documents now: %zu. What grew meanwhile (objgraph.show_growth):\n",
           (long)REQUESTS, rc_dict_len(open_docs));
    rc_objgraph_show_growth(5, stdout);
    /* the document that outlived its request, and why */
    document *doc = NULL;
    rc_objgraph_by_type("document", find_closed, &doc);
    if (!doc) return 1;
    void **chain = NULL;
    int64_t n = rc_objgraph_find_backref_chain(doc, 10, &chain);
    rc_decref(doc); /* the chain's pointers are borrowed: what it shows keeps doc alive */
    printf("\n  a closed document is still alive. Why (objgraph.find_backref_chain)?\n");
    for (int64_t k = 0; k < n; k++) print_object(k ? "    -> " : "    ", chain[k]);
    printf("  the chain starts at a list nothing in the heap refers to, held by 1 reference from outside:\n"
           "  the rc_incref(observers) in export_document that no rc_decref matches.\n");
    rc_free(chain);
    if (dir) {
        rc_snapshot *snap = rc_snapshot_take();
        snprintf(path, sizeof path, "%s/demo.rcsnap", dir);
        if (!snap || rc_snapshot_dump(snap, path) != 0) return 1;
        rc_snapshot_free(snap);
        snprintf(path, sizeof path, "%s/after.rcheap", dir);
        if (rc_heap_dump(path) != 0) return 1;
        printf("\n  wrote %s/demo.rcsnap, before.rcheap and after.rcheap\n", dir);
    }
    rc_decref(open_docs);
    rc_trace_stop();
    return 0;
}
/* }==== */

int main(int argc, char **argv) {
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
    if (objects_demo() != 0) return 1;
    if (types_demo() != 0) return 1;
    if (leak_demo(argc > 1 ? argv[1] : NULL) != 0) {
        fprintf(stderr, "demo: %s\n", rc_last_error());
        return 1;
    }
    return 0;
}
