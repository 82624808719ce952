/*
 * pipeline.c — a lazy pipeline in constant memory, beside the same work
 * done with lists.
 *
 * Python:
 *
 *     # lazy: one number alive at a time
 *     total = sum(filter(lambda y: y % 3 == 0, map(lambda x: 2 * x + 1, range(N))))
 *
 *     # eager: the numbers kept in a list, then summed
 *     total = sum([y for y in map(lambda x: 2 * x + 1, range(N)) if y % 3 == 0])
 *
 * reclaim's rc_range -> rc_map -> rc_filter holds one item at a time, so
 * it sums 100 million numbers with the memory of a few objects; the same
 * sum built through a list holds its 33 million numbers at once (about
 * 1.3 GiB of boxed ints). The peak resident set size (getrusage) is
 * printed after each part, the lazy part first, so the high-water mark
 * after it is the lazy pipeline's own.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

#include <reclaim.h>

#define N 100000000

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Peak resident set size of the process so far, in MiB. */
static double peak_rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

static size_t heap_bytes(void) {
    rc_heap_stats st;
    rc_heap_get_stats(&st);
    return st.bytes_in_use;
}

static void *twice_plus_one(void *item, void *arg) {
    (void)arg;
    return rc_int_new(2 * rc_int_value(item) + 1);
}

static int multiple_of_3(void *item, void *arg) {
    (void)arg;
    return rc_int_value(item) % 3 == 0;
}

static void fail(const char *what) {
    fprintf(stderr, "pipeline: %s: %s\n", what, rc_last_error());
}

/* sum(filter(multiple_of_3, map(twice_plus_one, range(n)))); -1 on error. */
static int64_t lazy_sum(int64_t n, size_t *heap_mid) {
    void *r = rc_range(0, n, 1);
    void *m = r ? rc_map(twice_plus_one, NULL, r) : NULL;
    rc_decref(r); /* the map holds its own reference */
    void *f = m ? rc_filter(multiple_of_3, NULL, m) : NULL;
    rc_decref(m);
    if (!f) return -1;
    int64_t total = 0, seen = 0;
    void *x;
    int rc;
    while ((rc = rc_next(f, &x)) == 1) {
        total += rc_int_value(x);
        rc_decref(x);
        if (++seen == n / 6 && heap_mid) *heap_mid = heap_bytes();
    }
    rc_decref(f);
    return rc < 0 ? -1 : total;
}

/* The same sum built through a list: [y for y in map(2x + 1, range(n)) if
 * y % 3 == 0], then summed; -1 on error. */
static int64_t list_sum(int64_t n, size_t *heap_full) {
    void *r = rc_range(0, n, 1);
    void *kept = rc_list_new();
    int64_t total = -1;
    if (!r || !kept) goto out;
    void *x;
    int rc;
    while ((rc = rc_next(r, &x)) == 1) {
        void *y = twice_plus_one(x, NULL);
        rc_decref(x);
        if (!y) goto out;
        if (multiple_of_3(y, NULL)) {
            if (rc_list_append_steal(kept, y) < 0) goto out;
        } else {
            rc_decref(y);
        }
    }
    if (rc < 0) goto out;
    *heap_full = heap_bytes();
    total = 0;
    for (size_t i = 0; i < rc_list_len(kept); i++) total += rc_int_value(rc_list_get(kept, (int64_t)i));
out:
    rc_decref(r);
    rc_decref(kept);
    return total;
}

int main(void) {
    printf("pipeline: sum(filter(y %% 3 == 0, map(2x + 1, range(N)))) in constant memory,\n"
           "beside the same sum built through a list.\n\n");

    size_t heap_mid = 0;
    double t0 = now();
    int64_t lazy = lazy_sum(N, &heap_mid);
    double t1 = now();
    if (lazy < 0) {
        fail("lazy pipeline");
        return 1;
    }
    printf("lazy, N = %d: sum = %lld in %.2f s\n", N, (long long)lazy, t1 - t0);
    printf("      heap in use midway: %zu bytes; peak RSS so far: %.1f MiB\n\n", heap_mid, peak_rss_mib());

    size_t heap_full = 0;
    t0 = now();
    int64_t eager = list_sum(N, &heap_full);
    t1 = now();
    if (eager < 0) {
        fail("list version");
        return 1;
    }
    printf("list, N = %d: sum = %lld in %.2f s (the same as the lazy sum: %s)\n", N, (long long)eager, t1 - t0,
           lazy == eager ? "yes" : "NO");
    printf("      heap in use with the list: %.1f MiB; peak RSS so far: %.1f MiB\n\n",
           (double)heap_full / (1024.0 * 1024.0), peak_rss_mib());

    printf("The lazy pipeline keeps one number alive at a time: its memory does not\n"
           "depend on N. The list holds every number it keeps at once: its memory\n"
           "grows with N (about 40 bytes per boxed int in a list).\n");
    return lazy == eager ? 0 : 1;
}
