/*
 * test_array_os.c — every typed-array buffer above RC_SMALL_MAX (512 bytes)
 * that is not inline and not a view is a mapping of its own from the OS
 * (issue 4), in the default heap mode: page-aligned, one large block in
 * rc_heap_get_stats while the array lives, gone from large_blocks when it
 * dies, kept in the heap's cache of freed mappings until rc_heap_trim
 * unmaps it. Growth by appends goes from the pools to a mapping once the
 * elements need more than 512 bytes and never back into the medium
 * classes, with O(log n) requests to the OS; views keep the mapping alive;
 * shrinking (rc_array_from_iter's fit) keeps it a mapping. Tracing sees
 * the buffer as it sees rc_malloc's blocks, and fault injection makes the
 * array calls fail cleanly. The debug and system modes (RECLAIM_MALLOC=
 * debug|malloc, run in a child process) have no mappings of their own:
 * there the buffer is the mode's ordinary block, and arrays work as usual.
 *
 * The expected values come from the heap's own rules (docs/heap.md,
 * src/heap/large.c): a large block's size is its request rounded up to a
 * page; rc_free caches a mapping when RECLAIM_PURGE_DELAY > 0,
 * RECLAIM_LARGE_CACHE > 0 and it fits in RECLAIM_HEAP_RETAIN (the
 * defaults: 10 ms, 8, 64 MiB); rc_heap_trim unmaps the cache.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#define RC_DEBUG_VICTIM "/proc/self/exe" /* test_spawn.h: the child is this test */
#include "types_util.h"
#include "test_spawn.h"
#include "internal/heap.h"

static size_t page(void) { return (size_t)sysconf(_SC_PAGESIZE); }

static size_t round_page(size_t n) { return (n + page() - 1) & ~(page() - 1); }

/* The memory tests measure reclaim's own heap: in the debug and system
 * modes they run in the child (test_debug_and_system_modes) instead. */
static void skip_unless_default_heap(void) {
    const char *m = getenv("RECLAIM_MALLOC");
    if (m && *m && strcmp(m, "default") != 0) skip();
}

/* Is [p, p + 1 page) mapped in this process? mincore fails with ENOMEM on
 * an unmapped range (and allocates nothing, unlike reading /proc). */
static bool is_mapped(const void *p) {
    unsigned char v;
    void *start = (void *)((uintptr_t)p & ~(uintptr_t)(page() - 1));
    if (mincore(start, page(), &v) == 0) return true;
    assert_int_equal(errno, ENOMEM);
    return false;
}

/* Does rc_free keep a freed mapping of map bytes in the cache (with the
 * cache empty, as after rc_heap_trim)? */
static bool cache_keeps(size_t map) {
    return _rc_option(RC_OPT_PURGE_DELAY) > 0 && _rc_option(RC_OPT_LARGE_CACHE) > 0 &&
           map <= (size_t)_rc_option(RC_OPT_HEAP_RETAIN);
}

static rc_heap_stats stats(void) {
    rc_heap_stats s;
    rc_heap_get_stats(&s);
    return s;
}

/* The array's buffer is one page-aligned large block of exactly bytes
 * rounded up to a page, one more than base counted. */
static void assert_own_mapping(void *a, const rc_heap_stats *base, size_t bytes) {
    const void *d = rc_array_data(a);
    assert_int_equal((uintptr_t)d % page(), 0);
    assert_int_equal(rc_usable_size(d), round_page(bytes));
    assert_true(rc_owns(d));
    rc_heap_stats now = stats();
    assert_int_equal(now.large_blocks, base->large_blocks + 1);
    assert_int_equal(now.large_bytes, base->large_bytes + round_page(bytes));
}

/* After the array that owned the mapping at d died: not live, cached (when
 * the cache keeps it) until rc_heap_trim, then unmapped. */
static void assert_released(const void *d, const rc_heap_stats *base, size_t map) {
    rc_heap_stats s = stats();
    assert_int_equal(s.large_blocks, base->large_blocks);
    assert_int_equal(s.large_bytes, base->large_bytes);
    if (cache_keeps(map)) {
        assert_int_equal(s.large_cached, base->large_cached + 1);
        assert_true(is_mapped(d));
    } else {
        assert_int_equal(s.large_cached, base->large_cached);
        assert_false(is_mapped(d));
    }
    rc_heap_trim();
    s = stats();
    assert_int_equal(s.large_cached, 0);
    assert_false(is_mapped(d));
}

/* {==== created at a fixed size ==== */

static void test_new_800_bytes_is_its_own_mapping(void **state) {
    (void)state;
    skip_unless_default_heap();
    rc_heap_trim();
    rc_heap_stats s0 = stats();
    assert_int_equal(s0.large_cached, 0);
    void *a = rc_array_new(RC_FLOAT64, 100); /* 800 bytes: a medium block before issue 4 */
    assert_non_null(a);
    assert_own_mapping(a, &s0, 800);
    assert_int_equal(rc_sizeof(a), 48); /* the object alone: the elements are elsewhere */
    const double *d = rc_array_data(a);
    for (int i = 0; i < 100; i++) assert_true(d[i] == 0.0);
    /* the spare room of the page is capacity: 412 appends move nothing */
    for (int i = 100; i < 512; i++) assert_int_equal(rc_array_append(a, i), 0);
    assert_ptr_equal(rc_array_data(a), d);
    assert_int_equal(stats().large_bytes, s0.large_bytes + page());
    rc_decref(a);
    assert_released(d, &s0, page());
}

static void test_just_above_small_max_every_dtype(void **state) {
    (void)state;
    skip_unless_default_heap();
    static const rc_dtype dts[] = {RC_INT8, RC_INT16, RC_FLOAT32, RC_UINT64};
    for (size_t k = 0; k < sizeof dts / sizeof dts[0]; k++) {
        size_t es = rc_dtype_size(dts[k]);
        /* 512 bytes: inline, no large block */
        rc_heap_trim();
        rc_heap_stats s0 = stats();
        void *small = rc_array_new(dts[k], RC_SMALL_MAX / es);
        assert_int_equal(stats().large_blocks, s0.large_blocks);
        char *sd = rc_array_data(small);
        assert_true(sd > (char *)small && sd < (char *)small + rc_sizeof(small));
        rc_decref(small);
        /* one element more: a mapping */
        size_t n = RC_SMALL_MAX / es + 1;
        void *a = rc_array_new(dts[k], n);
        assert_own_mapping(a, &s0, n * es);
        const void *d = rc_array_data(a);
        rc_decref(a);
        assert_released(d, &s0, page());
    }
}

static void test_from_buffer_is_its_own_mapping(void **state) {
    (void)state;
    skip_unless_default_heap();
    double src[100];
    for (int i = 0; i < 100; i++) src[i] = i * 1.5;
    rc_heap_trim();
    rc_heap_stats s0 = stats();
    void *a = rc_array_from_buffer(RC_FLOAT64, src, 100);
    assert_non_null(a);
    assert_own_mapping(a, &s0, 800);
    const double *d = rc_array_data(a);
    assert_ptr_not_equal(d, src);
    for (int i = 0; i < 100; i++) assert_true(d[i] == i * 1.5);
    rc_decref(a);
    assert_released(d, &s0, page());
}

/* A medium-sized buffer (between 256 KiB's neighbours: 100 KiB) too. */
static void test_medium_size_is_a_mapping_too(void **state) {
    (void)state;
    skip_unless_default_heap();
    rc_heap_trim();
    rc_heap_stats s0 = stats();
    size_t n = 100 * 1024 / 4;
    void *a = rc_array_new(RC_INT32, n);
    assert_own_mapping(a, &s0, n * 4);
    int32_t *d = rc_array_data(a);
    for (size_t i = 0; i < n; i++) d[i] = (int32_t)i;
    assert_true(rc_array_sum(a) == (double)n * (double)(n - 1) / 2);
    rc_decref(a);
    assert_released(d, &s0, round_page(n * 4));
}
/* }==== */

/* {==== growth ==== */

static void test_appends_cross_into_a_mapping_and_stay_one(void **state) {
    (void)state;
    skip_unless_default_heap();
    enum { N = 300000 }; /* 2.4 MB: across RC_MEDIUM_MAX (256 KiB) and beyond */
    rc_heap_trim();
    rc_heap_stats s0 = stats();
    void *a = rc_array_new(RC_FLOAT64, 0);
    /* up to 512 bytes of elements: pool blocks, no mapping */
    for (int i = 0; i < 64; i++) {
        assert_int_equal(rc_array_append(a, i), 0);
        assert_int_equal(stats().large_blocks, s0.large_blocks);
        assert_true(rc_usable_size(rc_array_data(a)) <= RC_SMALL_MAX);
    }
    /* the 65th element (520 bytes): a mapping of one page, the elements
     * copied into it */
    size_t requests = _rc_os_requests();
    assert_int_equal(rc_array_append(a, 64), 0);
    assert_own_mapping(a, &s0, 520);
    assert_int_equal(rc_usable_size(rc_array_data(a)), page());
    for (int i = 0; i <= 64; i++) assert_true(rc_array_get(a, i) == i);
    /* growth: always one page-aligned large block, never a medium block,
     * the values kept at every move */
    void *data = rc_array_data(a);
    size_t moves = 0;
    for (int i = 65; i < N; i++) {
        assert_int_equal(rc_array_append(a, i), 0);
        void *now = rc_array_data(a);
        if (now != data) {
            moves++;
            assert_int_equal((uintptr_t)now % page(), 0);
            assert_int_equal(rc_usable_size(now) % page(), 0);
            assert_int_equal(stats().large_blocks, s0.large_blocks + 1);
            assert_true(((double *)now)[i / 2] == i / 2);
            assert_true(((double *)now)[i] == i);
            data = now;
        }
    }
    rc_heap_stats s1 = stats();
    assert_int_equal(s1.large_blocks, s0.large_blocks + 1);
    assert_int_equal(s1.large_bytes - s0.large_bytes, rc_usable_size(data));
    /* amortized: the OS is asked O(log n) times (remaps with a quarter of
     * headroom), and the buffer moved only a few times */
    size_t asked = _rc_os_requests() - requests;
    assert_true(asked >= 10 && asked <= 60);
    assert_true(moves <= asked);
    /* and the capacity is not far above the length: 1/16 growth, pages */
    assert_true(rc_usable_size(data) >= (size_t)N * 8);
    assert_true(rc_usable_size(data) <= (size_t)N * 8 + (size_t)N * 8 / 8);
    const double *d = data;
    for (int i = 0; i < N; i++) assert_true(d[i] == i);
    rc_decref(a);
    rc_heap_stats s2 = stats();
    assert_int_equal(s2.large_blocks, s0.large_blocks);
    rc_heap_trim();
    assert_false(is_mapped(data));
}

/* Growing from inline storage straight into a mapping (the object's block
 * holds more than 512 bytes of elements) and from a full pool buffer. */
static void test_inline_and_pool_buffers_grow_into_mappings(void **state) {
    (void)state;
    skip_unless_default_heap();
    rc_heap_trim();
    rc_heap_stats s0 = stats();
    void *a = rc_array_new(RC_UINT8, RC_SMALL_MAX); /* inline, the block's spare bytes as capacity */
    char *inl = rc_array_data(a);
    assert_true(inl > (char *)a && inl < (char *)a + rc_sizeof(a));
    for (int i = 0; i < RC_SMALL_MAX; i++) assert_int_equal(rc_array_set_int(a, i, i & 255), 0);
    int n = RC_SMALL_MAX;
    while (rc_array_data(a) == inl) {
        assert_int_equal(stats().large_blocks, s0.large_blocks);
        assert_int_equal(rc_array_append_int(a, n & 255), 0);
        n++;
    }
    /* the append that outgrew the block moved the elements to a mapping
     * (1.5 times the inline capacity: within one page) */
    assert_own_mapping(a, &s0, page());
    assert_int_equal(rc_array_len(a), n);
    for (int i = 0; i < n; i++) assert_int_equal(rc_array_get_int(a, i), i & 255);
    rc_decref(a);
    rc_heap_trim();

    /* a pool buffer stops at 512 bytes, then becomes a mapping */
    s0 = stats();
    void *b = rc_array_new(RC_INT32, 0);
    for (int i = 0; i < 128; i++) assert_int_equal(rc_array_append_int(b, i), 0);
    assert_int_equal(rc_usable_size(rc_array_data(b)), 512);
    assert_int_equal(stats().large_blocks, s0.large_blocks);
    assert_int_equal(rc_array_append_int(b, 128), 0);
    assert_own_mapping(b, &s0, 768);
    for (int i = 0; i <= 128; i++) assert_int_equal(rc_array_get_int(b, i), i);
    rc_decref(b);
    rc_heap_trim();
}

/* rc_array_from_iter of an iterator grows by appends, then gives back the
 * spare room: the buffer stays a mapping (before issue 4 it went back into
 * a medium class). */
static void test_from_iter_fit_stays_a_mapping(void **state) {
    (void)state;
    skip_unless_default_heap();
    rc_heap_trim();
    rc_heap_stats s0 = stats();
    void *r = rc_range(0, 5000, 1);
    void *a = rc_array_from_iter(RC_INT64, r);
    rc_decref(r);
    assert_non_null(a);
    assert_int_equal(rc_array_len(a), 5000);
    const void *d = rc_array_data(a);
    assert_int_equal((uintptr_t)d % page(), 0);
    /* 40000 bytes: grown by 1/16 steps it held less than 1/8 spare, or
     * was fitted to 40000 rounded up to a page */
    size_t usable = rc_usable_size(d);
    assert_int_equal(usable % page(), 0);
    assert_true(usable >= 40000 && usable <= 40000 + 40000 / 8 + page());
    rc_heap_stats s1 = stats();
    assert_int_equal(s1.large_blocks, s0.large_blocks + 1);
    assert_int_equal(s1.large_bytes, s0.large_bytes + usable);
    assert_true(rc_array_sum(a) == 5000.0 * 4999 / 2);
    rc_decref(a);
    assert_released(d, &s0, round_page(usable)); /* the mapping may hold headroom: at most this */
}
/* }==== */

/* {==== views ==== */

static void test_views_keep_the_mapping_alive(void **state) {
    (void)state;
    skip_unless_default_heap();
    rc_heap_trim();
    rc_heap_stats s0 = stats();
    void *a = rc_array_new(RC_FLOAT64, 100);
    for (int i = 0; i < 100; i++) rc_array_set(a, i, i + 0.5);
    void *v = rc_array_view(a, 10, 20);
    void *vv = rc_array_view(v, 2, 5); /* refers to a, not to v */
    const double *d = rc_array_data(a);
    assert_ptr_equal(rc_array_data(v), d + 10);
    assert_ptr_equal(rc_array_data(vv), d + 12);
    rc_decref(a);
    rc_decref(v);
    /* vv alone keeps the mapping */
    rc_heap_stats s1 = stats();
    assert_int_equal(s1.large_blocks, s0.large_blocks + 1);
    assert_int_equal(s1.large_bytes, s0.large_bytes + page());
    assert_true(is_mapped(d));
    assert_int_equal(rc_array_len(vv), 3);
    assert_true(rc_array_get(vv, 0) == 12.5);
    assert_true(rc_array_get(vv, 2) == 14.5);
    clear_error();
    assert_int_equal(rc_array_append(vv, 1.0), -1);
    ERROR_HAS("a view cannot grow");
    rc_decref(vv);
    assert_released(d, &s0, page());
}
/* }==== */

/* {==== tracing and fault injection ==== */

static size_t traced(void) {
    size_t cur;
    rc_trace_get_traced_memory(&cur, NULL);
    return cur;
}

static void test_traced_like_heap_blocks(void **state) {
    (void)state;
    skip_unless_default_heap();
    assert_int_equal(rc_trace_start(1), 0);
    size_t t0 = traced();
    void *e = rc_array_new(RC_FLOAT64, 0);
    size_t obj = traced() - t0; /* the object alone */
    rc_decref(e);
    assert_int_equal(traced(), t0);
    void *a = rc_array_new(RC_FLOAT64, 100);
    assert_int_equal(traced() - t0, obj + 800);
    /* the page's room: no reallocation, the trace unchanged */
    for (int i = 100; i < 512; i++) assert_int_equal(rc_array_append(a, i), 0);
    assert_int_equal(traced() - t0, obj + 800);
    /* growth: the block is traced again at the size asked for (4096 +
     * 4096/16) */
    assert_int_equal(rc_array_append(a, 512), 0);
    assert_int_equal(traced() - t0, obj + page() + page() / 16);
    rc_decref(a);
    assert_int_equal(traced(), t0);
    rc_trace_stop();
}

static void test_out_of_memory_fails_cleanly(void **state) {
    (void)state;
    skip_unless_default_heap();
    /* creation: the OS refuses the mapping */
    rc_heap_trim(); /* no cached mapping to take instead */
    rc_heap_stats s0 = stats();
    _rc_os_fail_nth(1);
    clear_error();
    assert_null(rc_array_new(RC_FLOAT64, 100));
    _rc_os_fail_nth(0);
    ERROR_HAS("rc_array_new: out of memory for 100 elements of float64");
    assert_int_equal(stats().large_blocks, s0.large_blocks);

    /* growth out of the pools: the array stays as it was */
    void *a = rc_array_new(RC_FLOAT64, 0);
    for (int i = 0; i < 64; i++) assert_int_equal(rc_array_append(a, i), 0);
    void *data = rc_array_data(a);
    rc_heap_trim();
    _rc_os_fail_nth(1);
    clear_error();
    assert_int_equal(rc_array_append(a, 64), -1);
    _rc_os_fail_nth(0);
    ERROR_HAS("rc_array_append: out of memory growing to 768 bytes");
    assert_ptr_equal(rc_array_data(a), data);
    assert_int_equal(rc_array_len(a), 64);
    for (int i = 0; i < 64; i++) assert_true(rc_array_get(a, i) == i);
    assert_int_equal(stats().large_blocks, s0.large_blocks);
    assert_int_equal(rc_array_append(a, 64), 0);
    assert_own_mapping(a, &s0, 768);
    rc_decref(a);
    rc_heap_trim();
}
/* }==== */

/* {==== a random walk against a model ==== */

static uint64_t rnd_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) { /* xorshift64 */
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

enum { SLOTS = 4, MODEL_MAX = 40000 };

typedef struct slot {
    void *a;       /* the array, or NULL */
    void *view;    /* a view of it, or NULL */
    size_t vfrom;  /* where the view starts */
    int64_t *vals; /* the model: the values, as stored */
    size_t len;
} slot;

/* The rule under test, for a live array: a buffer above 512 bytes is a
 * page-aligned large block; a mapped buffer is never a pool block.
 * Returns whether the array holds a mapping. */
static bool check_slot(const slot *s) {
    assert_int_equal(rc_array_len(s->a), s->len);
    const char *d = rc_array_data(s->a);
    size_t es = rc_dtype_size(rc_array_dtype(s->a));
    for (size_t i = 0; i < s->len; i++) assert_int_equal(rc_array_get_int(s->a, (int64_t)i), s->vals[i]);
    size_t u = rc_usable_size(d); /* 0 for inline elements (not a block start) */
    if (s->len * es > RC_SMALL_MAX) assert_true(u > RC_SMALL_MAX);
    if (u > RC_SMALL_MAX) {
        assert_int_equal((uintptr_t)d % page(), 0);
        assert_int_equal(u % page(), 0);
    }
    if (s->view) {
        size_t vn = rc_array_len(s->view);
        assert_ptr_equal(rc_array_data(s->view), d + s->vfrom * es);
        for (size_t i = 0; i < vn; i++)
            assert_int_equal(rc_array_get_int(s->view, (int64_t)i), s->vals[s->vfrom + i]);
    }
    return u > RC_SMALL_MAX;
}

static void test_random_walk_keeps_the_rule(void **state) {
    (void)state;
    skip_unless_default_heap();
    static const rc_dtype dts[] = {RC_INT8, RC_UINT16, RC_INT32, RC_INT64, RC_FLOAT64};
    slot slots[SLOTS] = {{0}};
    for (int k = 0; k < SLOTS; k++) slots[k].vals = malloc(MODEL_MAX * sizeof(int64_t));
    rc_heap_trim();
    rc_heap_stats s0 = stats();
    for (int step = 0; step < 3000; step++) {
        slot *s = &slots[rnd() % SLOTS];
        unsigned op = (unsigned)(rnd() % 10);
        if (!s->a || op == 0) { /* a new array: sized, from a buffer, or from an iterator */
            RC_CLEAR(s->view);
            RC_CLEAR(s->a);
            rc_dtype dt = dts[rnd() % 5];
            size_t n = (size_t)(rnd() % 1200);
            unsigned how = (unsigned)(rnd() % 3);
            if (how == 0) {
                s->a = rc_array_new(dt, n);
                for (size_t i = 0; i < n; i++) s->vals[i] = 0;
            } else if (how == 1) {
                void *src = rc_array_new(dt, n);
                for (size_t i = 0; i < n; i++) {
                    s->vals[i] = (int64_t)(i % 100);
                    assert_int_equal(rc_array_set_int(src, (int64_t)i, s->vals[i]), 0);
                }
                s->a = rc_array_from_buffer(dt, rc_array_data(src), n);
                rc_decref(src);
            } else {
                void *r = rc_range(0, (int64_t)n, 1);
                s->a = rc_array_from_iter(dt, r); /* grown by appends, then fitted */
                rc_decref(r);
                if (dt == RC_INT8 && n > 128) { /* 128 and beyond do not fit an int8 */
                    assert_null(s->a);
                    ERROR_HAS("out of range for int8");
                    s->a = rc_array_new(dt, 0);
                    n = 0;
                }
                for (size_t i = 0; i < n; i++) s->vals[i] = (int64_t)i;
            }
            assert_non_null(s->a);
            s->len = n;
        } else if (op <= 5) { /* appends: refused while a view exists */
            size_t k = 1 + (size_t)(rnd() % 400);
            for (size_t i = 0; i < k && s->len < MODEL_MAX; i++) {
                int64_t v = (int64_t)(rnd() % 100);
                int r = rc_array_append_int(s->a, v);
                if (s->view) {
                    assert_int_equal(r, -1);
                    break;
                }
                assert_int_equal(r, 0);
                s->vals[s->len++] = v;
            }
        } else if (op <= 7) { /* a view, or drop it */
            if (s->view) {
                RC_CLEAR(s->view);
            } else if (s->len) {
                s->vfrom = (size_t)(rnd() % s->len);
                s->view = rc_array_view(s->a, (int64_t)s->vfrom, (int64_t)s->len);
                assert_non_null(s->view);
            }
        } else if (s->len) { /* a store */
            size_t i = (size_t)(rnd() % s->len);
            int64_t v = (int64_t)(rnd() % 100);
            assert_int_equal(rc_array_set_int(s->a, (int64_t)i, v), 0);
            s->vals[i] = v;
        }
        size_t mapped = 0;
        for (int k = 0; k < SLOTS; k++)
            if (slots[k].a) mapped += check_slot(&slots[k]);
        assert_int_equal(stats().large_blocks, s0.large_blocks + mapped);
    }
    for (int k = 0; k < SLOTS; k++) {
        RC_CLEAR(slots[k].view);
        RC_CLEAR(slots[k].a);
        free(slots[k].vals);
    }
    assert_int_equal(stats().large_blocks, s0.large_blocks);
    rc_heap_trim();
}
/* }==== */

/* {==== the debug and system modes ==== */

/* The child's workload (RECLAIM_MALLOC=debug or malloc): the buffers are
 * the mode's blocks (no large block, usable size = the size asked for),
 * and every array operation that allocates, grows or shrinks works. The
 * debug allocator aborts on any write beyond a block. Exit status 0 when
 * all holds, else the number of the failed check. */
#define CHECK(n, cond)                                                  \
    do {                                                                \
        if (!(cond)) {                                                  \
            fprintf(stderr, "mode child: check %d failed: %s\n", n, #cond); \
            return n;                                                   \
        }                                                               \
    } while (0)

static int mode_child(void) {
    rc_heap_stats s0 = stats();
    void *a = rc_array_new(RC_FLOAT64, 100);
    CHECK(1, a != NULL);
    CHECK(2, rc_usable_size(rc_array_data(a)) == 800);
    CHECK(3, stats().large_blocks == s0.large_blocks);
    for (int i = 0; i < 100; i++) CHECK(4, rc_array_get(a, i) == 0.0);
    for (int i = 100; i < 5000; i++) CHECK(5, rc_array_append(a, i) == 0);
    for (int i = 100; i < 5000; i++) CHECK(6, rc_array_get(a, i) == i);
    void *v = rc_array_view(a, 4000, 4100);
    rc_decref(a);
    CHECK(7, rc_array_get(v, 99) == 4099);
    rc_decref(v);
    void *b = rc_array_new(RC_INT16, 0);
    for (int i = 0; i < 1000; i++) CHECK(8, rc_array_append_int(b, i) == 0);
    for (int i = 0; i < 1000; i++) CHECK(9, rc_array_get_int(b, i) == i);
    rc_decref(b);
    void *r = rc_range(0, 5000, 1);
    void *c = rc_array_from_iter(RC_INT64, r);
    rc_decref(r);
    CHECK(10, c != NULL && rc_array_len(c) == 5000);
    CHECK(11, rc_array_sum(c) == 5000.0 * 4999 / 2);
    rc_decref(c);
    double src[70];
    for (int i = 0; i < 70; i++) src[i] = -i;
    void *f = rc_array_from_buffer(RC_FLOAT64, src, 70);
    CHECK(12, f != NULL && rc_usable_size(rc_array_data(f)) == 560);
    CHECK(13, rc_array_min(f) == -69.0);
    rc_decref(f);
    CHECK(14, stats().large_blocks == s0.large_blocks);
    return 0;
}

static void test_debug_and_system_modes(void **state) {
    (void)state;
    static const char *const modes[] = {"debug", "malloc"};
    for (size_t k = 0; k < 2; k++) {
        char *argv[] = {"/proc/self/exe", "--mode-child", NULL};
        run_result r = run_child(argv, modes[k]);
        if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0)
            fail_msg("RECLAIM_MALLOC=%s: the child failed (status %d): %s", modes[k], r.status, r.err);
        assert_string_equal(r.err, "");
    }
}
/* }==== */

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--mode-child") == 0) return mode_child();
    const struct CMUnitTest tests[] = {
        TYPES_TEST(test_new_800_bytes_is_its_own_mapping),
        TYPES_TEST(test_just_above_small_max_every_dtype),
        TYPES_TEST(test_from_buffer_is_its_own_mapping),
        TYPES_TEST(test_medium_size_is_a_mapping_too),
        TYPES_TEST(test_appends_cross_into_a_mapping_and_stay_one),
        TYPES_TEST(test_inline_and_pool_buffers_grow_into_mappings),
        TYPES_TEST(test_from_iter_fit_stays_a_mapping),
        TYPES_TEST(test_views_keep_the_mapping_alive),
        TYPES_TEST(test_traced_like_heap_blocks),
        TYPES_TEST(test_out_of_memory_fails_cleanly),
        TYPES_TEST(test_random_walk_keeps_the_rule),
        TYPES_TEST(test_debug_and_system_modes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
