/*
 * report_inputs — a small service with a planted leak, writing the inputs
 * of `reclaim report` for tests/cli/test_report.sh: a snapshot and two
 * heap dumps (run it under `reclaim mprof run` for the third input).
 *
 *   before.rcheap  an app registry (a list held by main) of 5 sessions,
 *                  each a session object with a list of 10 records
 *   then           20 requests, each opening a session that is registered
 *                  and then removed again; request 7 also puts its
 *                  session, with 100 records, on a listener list and
 *                  leaks the list: rc_incref(listeners) with no rc_decref
 *                  (the forgotten reference); and two nodes that refer
 *                  to each other are dropped while the collector is off
 *                  (cyclic garbage no root reaches)
 *   app.rcsnap     the traces then (tracing is on from the start)
 *   after.rcheap   the same heap
 *
 * So, between the dumps: record +100, session +1, list +2 (the listener
 * list and the leaked session's list), node +2; in after.rcheap the
 * unreachable objects are exactly the 2 nodes, the non-immortal roots
 * are the registry and the listener list (1 reference from outside the
 * heap), and the object the heap keeps alive that retains the most is the
 * leaked session, held by the chain listeners -> session. The collector
 * is disabled for the whole run and collects exactly three times, by
 * request (generations 0, 1, 2). Prints the addresses as shell
 * assignments.
 *
 * usage: report_inputs DIR
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <reclaim.h>

enum { RECORD_PAYLOAD = 240, SESSIONS = 5, RECORDS = 10, LEAKED_RECORDS = 100, REQUESTS = 20, LEAKY = 7 };

typedef struct record {
    unsigned char data[RECORD_PAYLOAD];
} record;

typedef struct session {
    void *records; /* a list of records */
    long id;
} session;

static int session_traverse(void *self, rc_visit_fn visit, void *arg) { return visit(((session *)self)->records, arg); }
static void session_clear(void *self) { RC_CLEAR(((session *)self)->records); }

typedef struct node {
    void *other;
} node;

static int node_traverse(void *self, rc_visit_fn visit, void *arg) { return visit(((node *)self)->other, arg); }
static void node_clear(void *self) { RC_CLEAR(((node *)self)->other); }

static const rc_type record_type = {.name = "record", .size = sizeof(record)};
static const rc_type session_type = {.name = "session",
                                     .size = sizeof(session),
                                     .traverse = session_traverse,
                                     .clear = session_clear,
                                     .destroy = session_clear};
static const rc_type node_type = {
    .name = "node", .size = sizeof(node), .traverse = node_traverse, .clear = node_clear, .destroy = node_clear};

static void *new_record(long i) {
    record *r = rc_new(&record_type);
    if (r) r->data[0] = (unsigned char)i;
    return r;
}

/* A new session with n records; NULL when out of memory. */
static void *new_session(long id, int n) {
    session *s = rc_new(&session_type);
    if (!s) return NULL;
    s->id = id;
    s->records = rc_list_new();
    if (!s->records) {
        rc_decref(s);
        return NULL;
    }
    for (int k = 0; k < n; k++)
        if (rc_list_append_steal(s->records, new_record(k)) != 0) {
            rc_decref(s);
            return NULL;
        }
    return s;
}

static void nap(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int fail(const char *what) {
    fprintf(stderr, "report_inputs: %s: %s\n", what, rc_last_error());
    return 1;
}

/* One request: a session registered, used, removed. The leaky one is
 * also subscribed to a listener list that is never released. */
static int handle_request(void *registry, long id) {
    RC_PROFILE_SCOPE("request");
    void *s = new_session(id, id == LEAKY ? LEAKED_RECORDS : RECORDS);
    if (!s || rc_list_append_steal(registry, s) != 0) return -1;
    if (id == LEAKY) {
        void *listeners = rc_list_new();
        if (!listeners || rc_list_append(listeners, s) != 0) return -1;
        rc_incref(listeners); /* the planted leak: this reference is never given back */
        printf("listeners=0x%lx\nleaked=0x%lx\n", (unsigned long)(uintptr_t)listeners, (unsigned long)(uintptr_t)s);
        rc_decref(listeners);
    }
    return rc_list_del(registry, -1);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: report_inputs DIR\n");
        return 2;
    }
    char path[4096];
    rc_gc_disable();
    if (rc_trace_start(16) != 0) return fail("rc_trace_start");
    void *registry = rc_list_new();
    if (!registry) return fail("rc_list_new");
    printf("registry=0x%lx\n", (unsigned long)(uintptr_t)registry);
    {
        RC_PROFILE_SCOPE("startup");
        for (long i = 0; i < SESSIONS; i++)
            if (rc_list_append_steal(registry, new_session(1000 + i, RECORDS)) != 0) return fail("startup");
    }
    snprintf(path, sizeof path, "%s/before.rcheap", argv[1]);
    if (rc_heap_dump(path) != 0) return fail("rc_heap_dump");
    nap(60);
    {
        RC_PROFILE_SCOPE("requests");
        for (long id = 0; id < REQUESTS; id++)
            if (handle_request(registry, id) != 0) return fail("request");
    }
    for (int g = 0; g <= 2; g++) rc_gc_collect(g);
    /* a cycle nothing holds, left for a collector that is off */
    node *a = rc_new(&node_type), *b = rc_new(&node_type);
    if (!a || !b) return fail("rc_new");
    a->other = b;
    b->other = a; /* each holds the other's only reference */
    nap(60);
    rc_snapshot *snap = rc_snapshot_take();
    snprintf(path, sizeof path, "%s/app.rcsnap", argv[1]);
    if (!snap || rc_snapshot_dump(snap, path) != 0) return fail("snapshot");
    rc_snapshot_free(snap);
    snprintf(path, sizeof path, "%s/after.rcheap", argv[1]);
    if (rc_heap_dump(path) != 0) return fail("rc_heap_dump");
    nap(60);
    rc_decref(registry);
    return 0;
}
