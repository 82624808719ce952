/*
 * make_heapdump — builds a known heap and dumps it twice, for
 * tests/cli/test_heap_cli.sh. Prints the facts the test needs as shell
 * assignments (addresses, the file, the lines of the allocations).
 *
 *   before: A -> B, C; B -> D; C -> D (a diamond, D a leaf); X -> Y -> Z
 *           A and X held by this program (the roots)
 *   after:  the same, plus Z -> L1..L4 (leaves) and a cycle U1 <-> U2 that
 *           nothing holds (the collector is off)
 * node: 48 bytes; leaf: 32 bytes. Allocation tracing is on, so every
 * object has its site: new_node's or new_leaf's rc_new line.
 *
 * usage: make_heapdump BEFORE AFTER
 */
#include <stdint.h>
#include <stdio.h>

#include <reclaim.h>

typedef struct node {
    void *ref[4];
} node;

static int node_traverse(void *self, rc_visit_fn visit, void *arg) {
    node *n = self;
    for (int k = 0; k < 4; k++)
        if (n->ref[k] && visit(n->ref[k], arg)) return 1;
    return 0;
}

static void node_clear(void *self) {
    node *n = self;
    for (int k = 0; k < 4; k++) RC_CLEAR(n->ref[k]);
}

static const rc_type node_type = {
    .name = "node", .size = sizeof(node), .traverse = node_traverse, .clear = node_clear, .destroy = node_clear};
static const rc_type leaf_type = {.name = "leaf", .size = 16};

static unsigned node_line, leaf_line;

static void *new_node(void) {
    node_line = __LINE__ + 1;
    return rc_new(&node_type);
}

static void *new_leaf(void) {
    leaf_line = __LINE__ + 1;
    return rc_new(&leaf_type);
}

/* p->ref[k] = q, taking over the caller's reference to q */
static void give(void *p, int k, void *q) { ((node *)p)->ref[k] = q; }

static void fact(const char *name, const void *p) { printf("%s=0x%lx\n", name, (unsigned long)(uintptr_t)p); }

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: make_heapdump BEFORE AFTER\n");
        return 2;
    }
    rc_gc_disable();
    if (rc_trace_start(1) != 0) return 1;
    void *A = new_node(), *B = new_node(), *C = new_node(), *D = new_leaf();
    give(A, 0, B);
    give(A, 1, C);
    give(B, 0, D);
    give(C, 0, rc_incref(D));
    void *X = new_node(), *Y = new_node(), *Z = new_node();
    give(X, 0, Y);
    give(Y, 0, Z);
    if (rc_heap_dump(argv[1]) != 0) {
        fprintf(stderr, "make_heapdump: %s\n", rc_last_error());
        return 1;
    }
    void *L[4];
    for (int k = 0; k < 4; k++) give(Z, k, L[k] = new_leaf());
    void *U1 = new_node(), *U2 = new_node();
    give(U1, 0, U2);
    give(U2, 0, rc_incref(U1));
    rc_decref(U1);
    if (rc_heap_dump(argv[2]) != 0) {
        fprintf(stderr, "make_heapdump: %s\n", rc_last_error());
        return 1;
    }
    printf("file=%s\nnode_line=%u\nleaf_line=%u\n", __FILE__, node_line, leaf_line);
    fact("a", A), fact("b", B), fact("c", C), fact("d", D);
    fact("x", X), fact("y", Y), fact("z", Z), fact("l4", L[3]);
    fact("u1", U1), fact("u2", U2);
    return 0;
}
