/*
 * leakcheck_victim.c — a program for test_leakcheck to run with
 * RECLAIM_LEAKCHECK set: one subcommand per situation at exit.
 *
 *   clean     makes objects and a garbage cycle and lets them all go
 *   leak      leaves 3 VictimLeak objects alive (one with a forgotten
 *             rc_incref) and 1 VictimOther
 *   cycle     a global holds R, which holds a two-object cycle
 *   garbage   RC_GC_DEBUG_SAVEALL keeps a collected cycle in the garbage list
 *   traced    tracing on, then one leaked VictimLeak (its site is known)
 *
 * Each prints "main done" on stdout and returns 0 from main.
 */
#include <stdio.h>
#include <string.h>

#include "objgraph_util.h"

OG_NODE_TYPE(leak_type, "VictimLeak");
OG_NODE_TYPE(other_type, "VictimOther");
OG_NODE_TYPE(cycle_type, "VictimCycle");

static void *global_root;

static void cycle_pair(const rc_type *t, void **x, void **y) {
    *x = og_new(t, 1, NULL, NULL);
    *y = og_new(t, 2, *x, NULL);
    RC_SET(((og_node *)*x)->a, *y);
}

static int clean_main(void) {
    void *x, *y;
    cycle_pair(&cycle_type, &x, &y);
    rc_decref(x);
    rc_decref(y);
    void *n = og_new(&leak_type, 1, NULL, NULL);
    void *list = rc_list_new();
    rc_list_append(list, n);
    rc_decref(n);
    rc_decref(list);
    return 0;
}

static int leak_main(void) {
    void *a = og_new(&leak_type, 1, NULL, NULL);
    og_new(&leak_type, 2, a, NULL); /* never released */
    rc_incref(a);                  /* a forgotten incref */
    rc_decref(a);
    og_new(&leak_type, 3, NULL, NULL);
    og_new(&other_type, 4, NULL, NULL);
    return 0;
}

static int cycle_main(void) {
    void *x, *y;
    cycle_pair(&cycle_type, &x, &y);
    global_root = og_new(&leak_type, 9, x, NULL);
    rc_decref(x);
    rc_decref(y);
    return 0;
}

static int garbage_main(void) {
    rc_gc_set_debug(RC_GC_DEBUG_SAVEALL);
    void *x, *y;
    cycle_pair(&cycle_type, &x, &y);
    rc_decref(x);
    rc_decref(y);
    rc_gc_collect(-1);
    return 0;
}

static int traced_main(void) {
    if (rc_trace_start(4) != 0) return 3;
    og_node *n = rc_new(&leak_type); /* the site the report names */
    n->id = 7;
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    int rc = 2;
    if (strcmp(argv[1], "clean") == 0) rc = clean_main();
    else if (strcmp(argv[1], "leak") == 0) rc = leak_main();
    else if (strcmp(argv[1], "cycle") == 0) rc = cycle_main();
    else if (strcmp(argv[1], "garbage") == 0) rc = garbage_main();
    else if (strcmp(argv[1], "traced") == 0) rc = traced_main();
    printf("main done\n");
    return rc;
}
