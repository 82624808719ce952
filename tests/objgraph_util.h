/*
 * objgraph_util.h — the object types of the object-graph tests
 * (test_objgraph.c, test_leakcheck.c, leakcheck_victim.c).
 *
 *   og node   two references (a, b) and an id; traverse, clear, destroy,
 *             repr "Name(id)" and field_name ("a" / "b"). One payload,
 *             several rc_types with their own names, so that each test
 *             counts a type no other test touches.
 *   og leaf   an id only, no traverse (never tracked).
 *
 * Static, so a file that uses part of it compiles without warnings.
 */
#ifndef RC_TEST_OBJGRAPH_UTIL_H
#define RC_TEST_OBJGRAPH_UTIL_H

#include <stdio.h>
#include <string.h>

#include "reclaim.h"

typedef struct og_node {
    void *a, *b;
    long id;
} og_node;

static int og_traverse(void *self, rc_visit_fn visit, void *arg) {
    og_node *n = self;
    int r;
    if (n->a && (r = visit(n->a, arg))) return r;
    if (n->b && (r = visit(n->b, arg))) return r;
    return 0;
}

static void og_clear(void *self) {
    og_node *n = self;
    RC_CLEAR(n->a);
    RC_CLEAR(n->b);
}

static void *og_repr(const void *self) {
    const og_node *n = self;
    return rc_str_format("%s(%ld)", rc_type_of(self)->name, n->id);
}

static const char *og_field(const void *self, const void *ref, char *buf, size_t len) {
    const og_node *n = self;
    (void)buf, (void)len;
    return n->a == ref ? "a" : n->b == ref ? "b" : NULL;
}

#define OG_NODE_TYPE(var, tname)                                                                          \
    static const rc_type var = {.name = tname, .size = sizeof(og_node), .traverse = og_traverse,          \
                                .clear = og_clear, .destroy = og_clear, .repr = og_repr,                  \
                                .field_name = og_field}
#define OG_LEAF_TYPE(var, tname) static const rc_type var = {.name = tname, .size = sizeof(long)}

/* A new node of type t with id and references to a and b (own ones). */
static void *og_new(const rc_type *t, long id, void *a, void *b) {
    og_node *n = rc_new(t);
    if (!n) return NULL;
    n->id = id;
    RC_SET(n->a, a);
    RC_SET(n->b, b);
    return n;
}

#endif
