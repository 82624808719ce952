/*
 * typesbench.c — the C side of bench/types: reclaim's built-in types
 * (include/reclaim.h section 6) on the operations typesbench.py runs under
 * CPython.
 *
 * Usage: typesbench MODE N
 *   Memory (one structure per process, kept alive while it is measured):
 *     mem-list N         N ints appended to a list       (l.append(i))
 *     mem-dict N         N int -> int items               (d[i] = 2 * i)
 *     mem-set N          N ints added to a set            (s.add(i))
 *     mem-floats N       N floats appended to a list      (l.append(float(i)))
 *     mem-array N        rc_array_new(RC_FLOAT64, N), every element set
 *     mem-array-append N N floats appended to an empty float64 array
 *   Streams (peak RSS of the whole process, so run one per process):
 *     stream N           rc_range(0, N) -> rc_map(x * 3) -> rc_filter(x % 2 == 0) -> sum
 *     genstream N        the same fed by a generator (RC_GEN_BEGIN / RC_YIELD)
 *   Speed:
 *     append N           N appends of ints to a list
 *     dict N             N inserts d[i] = 2 * i, then N lookups d[i]
 *     setadd N           N adds of ints to a set (not one of the targets)
 *
 * Every mode prints one line
 *   RESULT mode=MODE impl=reclaim n=N key=value ...
 * that run.sh parses, with a checksum that depends on the data only, so
 * typesbench.py must print the same one. Times are CLOCK_MONOTONIC inside
 * the program; the ints are made inside the timed loop on both sides (as
 * Python's range makes them).
 *
 * Bytes per element: rc_heap_get_stats' bytes_in_use (live blocks at their
 * block size, large blocks at their page-rounded size) after the structure is
 * built, minus before, divided by N; the structure's own object counts. The
 * growth of bytes_mapped and of the anonymous resident set (/proc/self/statm:
 * resident minus shared, so code pages faulted in do not count) are
 * printed beside it.
 */
#define _GNU_SOURCE
#include <reclaim.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what) {
    fprintf(stderr, "typesbench (reclaim): %s\n  rc_last_error: %s\n", what, rc_last_error());
    exit(2);
}

static void *check(void *p, const char *what) {
    if (!p) die(what);
    return p;
}

/* anonymous bytes resident now: resident minus shared (file-backed) pages,
 * so library code faulted in while building does not count */
static size_t rss_now(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0, shared = 0;
    if (f) {
        if (fscanf(f, "%lu %lu %lu", &size, &resident, &shared) != 3) resident = shared = 0;
        fclose(f);
    }
    return (size_t)(resident - shared) * (size_t)sysconf(_SC_PAGESIZE);
}

/* peak resident set of the process, KiB */
static long maxrss_kib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* {================================================================
 * Memory: bytes per element of one structure
 * ================================================================ */

typedef struct mem_point {
    size_t in_use, mapped, rss;
} mem_point;

static mem_point mem_now(void) {
    rc_heap_stats s;
    rc_heap_get_stats(&s);
    return (mem_point){s.bytes_in_use, s.bytes_mapped, rss_now()};
}

static void mem_report(const char *mode, size_t n, mem_point a, mem_point b, double sec, uint64_t sum) {
    double dn = (double)n;
    printf("RESULT mode=%s impl=reclaim n=%zu heap_bytes=%.3f mapped_bytes=%.3f rss_bytes=%.3f sec=%.4f "
           "checksum=%llu\n",
           mode, n, ((double)b.in_use - (double)a.in_use) / dn, ((double)b.mapped - (double)a.mapped) / dn,
           ((double)b.rss - (double)a.rss) / dn, sec, (unsigned long long)sum);
}

static void mem_mode(const char *mode, size_t n) {
    /* the library's lazy set-up (heap, small ints, thread state) happens
     * before the first measurement */
    void *warm = check(rc_list_new(), "rc_list_new");
    rc_list_append_steal(warm, rc_int_new(1000));
    rc_decref(warm);

    mem_point a = mem_now();
    double t0 = now();
    void *obj = NULL;
    uint64_t sum = 0;
    if (!strcmp(mode, "mem-list")) {
        obj = check(rc_list_new(), "rc_list_new");
        for (size_t i = 0; i < n; i++)
            if (rc_list_append_steal(obj, rc_int_new((int64_t)i)) < 0) die("rc_list_append_steal");
        sum = rc_list_len(obj);
    } else if (!strcmp(mode, "mem-dict")) {
        obj = check(rc_dict_new(), "rc_dict_new");
        for (size_t i = 0; i < n; i++) {
            void *k = check(rc_int_new((int64_t)i), "rc_int_new");
            void *v = check(rc_int_new(2 * (int64_t)i), "rc_int_new");
            if (rc_dict_set(obj, k, v) < 0) die("rc_dict_set");
            rc_decref(k);
            rc_decref(v);
        }
        sum = rc_dict_len(obj);
    } else if (!strcmp(mode, "mem-set")) {
        obj = check(rc_set_new(), "rc_set_new");
        for (size_t i = 0; i < n; i++) {
            void *k = check(rc_int_new((int64_t)i), "rc_int_new");
            if (rc_set_add(obj, k) < 0) die("rc_set_add");
            rc_decref(k);
        }
        sum = rc_set_len(obj);
    } else if (!strcmp(mode, "mem-floats")) {
        obj = check(rc_list_new(), "rc_list_new");
        for (size_t i = 0; i < n; i++)
            if (rc_list_append_steal(obj, rc_float_new((double)i)) < 0) die("rc_list_append_steal");
        sum = rc_list_len(obj);
    } else if (!strcmp(mode, "mem-array")) {
        obj = check(rc_array_new(RC_FLOAT64, n), "rc_array_new");
        double *d = check(rc_array_data(obj), "rc_array_data");
        for (size_t i = 0; i < n; i++) d[i] = (double)i;
        sum = rc_array_len(obj);
    } else if (!strcmp(mode, "mem-array-append")) {
        obj = check(rc_array_new(RC_FLOAT64, 0), "rc_array_new");
        for (size_t i = 0; i < n; i++)
            if (rc_array_append(obj, (double)i) < 0) die("rc_array_append");
        sum = rc_array_len(obj);
    } else {
        die("unknown mode");
    }
    double sec = now() - t0;
    mem_point b = mem_now();
    /* the checksum: the length, and the sum of the elements (read back
     * through the API, so a structure that lost items fails it) */
    if (!strcmp(mode, "mem-array") || !strcmp(mode, "mem-array-append")) {
        sum = sum * 1000003u + (uint64_t)rc_array_sum(obj);
    } else if (!strcmp(mode, "mem-dict")) {
        void *key = check(rc_int_new((int64_t)n / 2), "rc_int_new");
        sum = sum * 1000003u + (uint64_t)rc_int_value(check(rc_dict_get(obj, key), "rc_dict_get"));
        rc_decref(key);
    } else if (!strcmp(mode, "mem-set")) {
        void *key = check(rc_int_new((int64_t)n - 1), "rc_int_new");
        sum = sum * 1000003u + (uint64_t)rc_set_contains(obj, key);
        rc_decref(key);
    } else {
        sum = sum * 1000003u + (uint64_t)rc_float_value(rc_list_get(obj, -1));
    }
    mem_report(mode, n, a, b, sec, sum);
    rc_decref(obj);
}

/* }================================================================ */

/* {================================================================
 * Streams: range -> map(x * 3) -> filter(x % 2 == 0) -> sum
 * ================================================================ */

static void *times3(void *item, void *arg) {
    (void)arg;
    return rc_int_new(rc_int_value(item) * 3);
}

static int is_even(void *item, void *arg) {
    (void)arg;
    return (rc_int_value(item) & 1) == 0;
}

/* Python's
 *     def large_range(n):
 *         i = 0
 *         while i < n:
 *             yield i
 *             i += 1 */
typedef struct range_locals {
    int64_t i, n;
} range_locals;

static int large_range(void *gen, void **out) {
    range_locals *l = rc_gen_locals(gen);
    RC_GEN_BEGIN(gen);
    for (l->i = 0; l->i < l->n; l->i++) RC_YIELD(gen, out, rc_int_new(l->i));
    RC_GEN_END(gen);
}

static void stream_mode(const char *mode, size_t n) {
    long rss0 = maxrss_kib();
    double t0 = now();
    void *src;
    if (!strcmp(mode, "stream")) {
        src = check(rc_range(0, (int64_t)n, 1), "rc_range");
    } else {
        src = check(rc_gen_new(large_range, sizeof(range_locals), 0), "rc_gen_new");
        range_locals *l = check(rc_gen_locals(src), "rc_gen_locals");
        l->n = (int64_t)n;
    }
    void *mapped = check(rc_map(times3, NULL, src), "rc_map");
    rc_decref(src);
    void *kept = check(rc_filter(is_even, NULL, mapped), "rc_filter");
    rc_decref(mapped);
    int64_t sum = 0;
    size_t count = 0;
    void *x;
    int r;
    while ((r = rc_next(kept, &x)) == 1) {
        sum += rc_int_value(x);
        count++;
        rc_decref(x);
    }
    if (r < 0) die("rc_next");
    rc_decref(kept);
    double sec = now() - t0;
    printf("RESULT mode=%s impl=reclaim n=%zu sec=%.4f ns_per_item=%.2f maxrss_kib=%ld start_maxrss_kib=%ld "
           "kept=%zu checksum=%llu\n",
           mode, n, sec, sec * 1e9 / (double)n, maxrss_kib(), rss0, count, (unsigned long long)sum);
}

/* }================================================================ */

/* {================================================================
 * Speed: append, dict insert and lookup, set add
 * ================================================================ */

static void append_mode(size_t n) {
    double t0 = now();
    void *l = check(rc_list_new(), "rc_list_new");
    for (size_t i = 0; i < n; i++)
        if (rc_list_append_steal(l, rc_int_new((int64_t)i)) < 0) die("rc_list_append_steal");
    double sec = now() - t0;
    uint64_t sum = rc_list_len(l) * 1000003u + (uint64_t)rc_int_value(rc_list_get(l, -1));
    double t1 = now();
    rc_decref(l);
    double free_sec = now() - t1;
    printf("RESULT mode=append impl=reclaim n=%zu sec=%.4f ns_per_op=%.2f free_sec=%.4f checksum=%llu\n", n, sec,
           sec * 1e9 / (double)n, free_sec, (unsigned long long)sum);
}

static void dict_mode(size_t n) {
    double t0 = now();
    void *d = check(rc_dict_new(), "rc_dict_new");
    for (size_t i = 0; i < n; i++) {
        void *k = rc_int_new((int64_t)i);
        void *v = rc_int_new(2 * (int64_t)i);
        if (!k || !v || rc_dict_set(d, k, v) < 0) die("rc_dict_set");
        rc_decref(k);
        rc_decref(v);
    }
    double t1 = now();
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        void *k = rc_int_new((int64_t)i);
        void *v = rc_dict_get(d, k);
        if (!v) die("rc_dict_get");
        sum += (uint64_t)rc_int_value(v);
        rc_decref(k);
    }
    double t2 = now();
    sum = sum * 1000003u + rc_dict_len(d);
    rc_decref(d);
    printf("RESULT mode=dict impl=reclaim n=%zu insert_sec=%.4f insert_ns=%.2f lookup_sec=%.4f lookup_ns=%.2f "
           "checksum=%llu\n",
           n, t1 - t0, (t1 - t0) * 1e9 / (double)n, t2 - t1, (t2 - t1) * 1e9 / (double)n, (unsigned long long)sum);
}

static void setadd_mode(size_t n) {
    double t0 = now();
    void *s = check(rc_set_new(), "rc_set_new");
    for (size_t i = 0; i < n; i++) {
        void *k = rc_int_new((int64_t)i);
        if (!k || rc_set_add(s, k) < 0) die("rc_set_add");
        rc_decref(k);
    }
    double sec = now() - t0;
    uint64_t sum = rc_set_len(s);
    rc_decref(s);
    printf("RESULT mode=setadd impl=reclaim n=%zu sec=%.4f ns_per_op=%.2f checksum=%llu\n", n, sec,
           sec * 1e9 / (double)n, (unsigned long long)sum);
}

/* }================================================================ */

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: typesbench MODE N (see the comment at the top of typesbench.c)\n");
        return 2;
    }
    const char *mode = argv[1];
    char *end;
    unsigned long long n = strtoull(argv[2], &end, 10);
    if (*end || n == 0) die("N must be a positive integer");
    if (!strncmp(mode, "mem-", 4)) mem_mode(mode, (size_t)n);
    else if (!strcmp(mode, "stream") || !strcmp(mode, "genstream")) stream_mode(mode, (size_t)n);
    else if (!strcmp(mode, "append")) append_mode((size_t)n);
    else if (!strcmp(mode, "dict")) dict_mode((size_t)n);
    else if (!strcmp(mode, "setadd")) setadd_mode((size_t)n);
    else die("unknown mode");
    return 0;
}
