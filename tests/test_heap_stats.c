/*
 * test_heap_stats.c — rc_heap_get_stats adds up (per class, in bytes, in
 * blocks, against known allocations), and the text and JSON reports show
 * the same numbers as the struct.
 */
#include <sys/wait.h>

#include "test_heap_util.h"

/* Invariants every snapshot satisfies (single-threaded, nothing in flight). */
static void check_consistent(const rc_heap_stats *s) {
    size_t bytes = 0, blocks = 0, class_pools = 0;
    assert_int_equal(s->classes[0].block_size, 16);
    for (unsigned c = 0; c < RC_SIZE_CLASSES; c++) {
        const rc_heap_class_stats *k = &s->classes[c];
        if (c > 0) assert_true(k->block_size > s->classes[c - 1].block_size);
        if (k->pools == 0) {
            assert_int_equal(k->blocks_in_use, 0);
            assert_int_equal(k->blocks_free, 0);
        }
        bytes += k->blocks_in_use * k->block_size;
        blocks += k->blocks_in_use;
        class_pools += k->pools;
    }
    assert_int_equal(s->classes[RC_SIZE_CLASSES - 1].block_size, RC_MEDIUM_MAX);
    if (s->bytes_in_use != bytes + s->large_bytes)
        fail_msg("bytes_in_use %zu != classes %zu + large %zu", s->bytes_in_use, bytes, s->large_bytes);
    assert_int_equal(s->blocks_in_use, blocks + s->large_blocks);
    assert_true(s->bytes_peak >= s->bytes_in_use);
    assert_true(s->bytes_mapped_peak >= s->bytes_mapped);
    assert_true(s->bytes_mapped >= s->arenas * RC_ARENA_SIZE + s->large_bytes);
    assert_int_equal(s->pools_in_use + s->pools_free, s->arenas * (RC_POOLS_PER_ARENA - 1));
    assert_true(s->pools_in_use >= class_pools);
    assert_true(s->bytes_resident_free <= s->pools_free * RC_POOL_SIZE);
    assert_true(s->threads >= 1);
}

typedef struct alloc_plan {
    size_t size;     /* request */
    size_t count;    /* blocks */
    size_t expected; /* class block size; 0 for large */
} alloc_plan;

static const alloc_plan plan[] = {
    {16, 10, 16},         {40, 7, 48},         {500, 33, 512},      {600, 5, 640},      {4096, 3, 4096},
    {100000, 4, 114688},  {262144, 2, 262144}, {300000, 2, 0},      {3 * MiB, 1, 0},
};
enum { NPLAN = sizeof plan / sizeof *plan };

static void test_stats_add_up(void **state) {
    (void)state;
    void *warm = rc_malloc(1); /* the heap exists before the first snapshot */
    rc_heap_stats s0, s1, s2;
    rc_heap_get_stats(&s0);
    check_consistent(&s0);

    void *blocks[NPLAN][40];
    size_t want_blocks[RC_SIZE_CLASSES] = {0};
    size_t want_bytes = 0, want_large = 0, want_large_bytes = 0, total = 0;
    for (int i = 0; i < NPLAN; i++)
        for (size_t j = 0; j < plan[i].count; j++) {
            blocks[i][j] = rc_malloc(plan[i].size);
            assert_non_null(blocks[i][j]);
            total++;
            if (plan[i].expected) {
                unsigned c = _rc_class_of(plan[i].size);
                assert_int_equal(s0.classes[c].block_size, plan[i].expected);
                want_blocks[c]++;
                want_bytes += plan[i].expected;
            } else {
                want_large++;
                want_large_bytes += rc_usable_size(blocks[i][j]);
            }
        }
    rc_heap_get_stats(&s1);
    check_consistent(&s1);
    for (unsigned c = 0; c < RC_SIZE_CLASSES; c++)
        if (s1.classes[c].blocks_in_use != s0.classes[c].blocks_in_use + want_blocks[c])
            fail_msg("class %u (%zu bytes): %zu blocks in use, want %zu + %zu", c, s1.classes[c].block_size,
                     s1.classes[c].blocks_in_use, s0.classes[c].blocks_in_use, want_blocks[c]);
    assert_int_equal(s1.large_blocks, s0.large_blocks + want_large);
    assert_int_equal(s1.large_bytes, s0.large_bytes + want_large_bytes);
    assert_int_equal(s1.blocks_in_use, s0.blocks_in_use + total);
    assert_int_equal(s1.bytes_in_use, s0.bytes_in_use + want_bytes + want_large_bytes);
    assert_true(s1.bytes_mapped >= s1.bytes_in_use);
    assert_true(s1.bytes_peak >= s0.bytes_in_use + want_bytes + want_large_bytes);

    for (int i = 0; i < NPLAN; i++)
        for (size_t j = 0; j < plan[i].count; j++) rc_free(blocks[i][j]);
    rc_heap_get_stats(&s2);
    check_consistent(&s2);
    for (unsigned c = 0; c < RC_SIZE_CLASSES; c++)
        assert_int_equal(s2.classes[c].blocks_in_use, s0.classes[c].blocks_in_use);
    assert_int_equal(s2.large_blocks, s0.large_blocks);
    assert_int_equal(s2.large_bytes, s0.large_bytes);
    assert_int_equal(s2.blocks_in_use, s0.blocks_in_use);
    assert_int_equal(s2.bytes_in_use, s0.bytes_in_use);
    /* The peak is a high-water mark: it remembers s1. */
    assert_true(s2.bytes_peak >= s1.bytes_in_use);
    assert_true(s2.bytes_mapped_peak >= s1.bytes_mapped);
    rc_free(warm);
}

/* Blocks from rc_aligned_alloc, rc_calloc and rc_realloc count too. */
static void test_stats_other_entry_points(void **state) {
    (void)state;
    rc_heap_stats s0, s1, s2;
    void *warm = rc_malloc(1);
    rc_heap_get_stats(&s0);
    void *a = rc_aligned_alloc(4096, 100);
    void *b = rc_calloc(10, 10);
    void *c = rc_realloc(NULL, 700);
    void *d = rc_realloc(rc_malloc(20), 2000);
    void *e = rc_aligned_alloc(64 * KiB, 10);
    assert_true(a && b && c && d && e);
    rc_heap_get_stats(&s1);
    check_consistent(&s1);
    assert_int_equal(s1.blocks_in_use, s0.blocks_in_use + 5);
    size_t pooled = rc_usable_size(a) + rc_usable_size(b) + rc_usable_size(c) + rc_usable_size(d);
    size_t large = s1.large_bytes - s0.large_bytes;
    assert_int_equal(s1.bytes_in_use, s0.bytes_in_use + pooled + large);
    rc_free(a);
    rc_free(b);
    rc_free(c);
    rc_free(d);
    rc_free(e);
    rc_heap_get_stats(&s2);
    check_consistent(&s2);
    assert_int_equal(s2.blocks_in_use, s0.blocks_in_use);
    assert_int_equal(s2.bytes_in_use, s0.bytes_in_use);
    rc_free(warm);
}

static void test_stats_null_out(void **state) {
    (void)state;
    rc_heap_get_stats(NULL);
    assert_non_null(strstr(rc_last_error(), "rc_heap_get_stats"));
}

/* ---- reports ---- */

/* The whole contents of f, NUL-terminated, in glibc memory. */
static char *slurp(FILE *f) {
    fflush(f);
    long n = ftell(f);
    assert_true(n > 0);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    rewind(f);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    return buf;
}

static void hold_some_blocks(void **keep, size_t n) {
    static const size_t sizes[] = {8, 40, 300, 512, 1500, 20000};
    for (size_t i = 0; i < n; i++) {
        keep[i] = rc_malloc(sizes[i % 6]);
        assert_non_null(keep[i]);
    }
}

static void test_print_stats_text(void **state) {
    (void)state;
    void *keep[60];
    hold_some_blocks(keep, 60);
    rc_heap_stats s;
    rc_heap_get_stats(&s);
    FILE *f = tmpfile();
    assert_non_null(f);
    rc_heap_print_stats(f);
    char *text = slurp(f);
    fclose(f);

    assert_non_null(strstr(text, "class"));
    assert_non_null(strstr(text, "size"));
    assert_non_null(strstr(text, "blocks in use"));
    /* The class table: one row per class with pools, matching the struct. */
    char *line = strstr(text, "\n-----");
    assert_non_null(line);
    line = strchr(line + 1, '\n');
    assert_non_null(line);
    size_t rows = 0, want_rows = 0;
    for (unsigned c = 0; c < RC_SIZE_CLASSES; c++) want_rows += s.classes[c].pools > 0;
    for (char *p = line + 1; *p && *p != '\n'; p = strchr(p, '\n') + 1) {
        unsigned cls;
        size_t size, pools, used, avail;
        if (sscanf(p, "%u %zu %zu %zu %zu", &cls, &size, &pools, &used, &avail) != 5)
            fail_msg("bad class row: %.60s", p);
        assert_true(cls < RC_SIZE_CLASSES);
        assert_int_equal(size, s.classes[cls].block_size);
        assert_int_equal(pools, s.classes[cls].pools);
        assert_int_equal(used, s.classes[cls].blocks_in_use);
        assert_int_equal(avail, s.classes[cls].blocks_free);
        rows++;
        if (!strchr(p, '\n')) break;
    }
    assert_int_equal(rows, want_rows);
    assert_true(rows >= 6);
    /* The totals. */
    char *t = strstr(text, "Total bytes in use");
    assert_non_null(t);
    t = strchr(t, '=');
    assert_non_null(t);
    assert_int_equal(strtoull(t + 1, NULL, 10), s.bytes_in_use);
    free(text);
    for (int i = 0; i < 60; i++) rc_free(keep[i]);
}

/* The number after "key": in json (searched from start). */
static size_t json_number(const char *json, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    if (!p) fail_msg("key %s missing in JSON", key);
    p += strlen(pat);
    while (*p == ' ') p++;
    if (*p < '0' || *p > '9') fail_msg("key %s is not a number in JSON", key);
    return (size_t)strtoull(p, NULL, 10);
}

/* Brackets balance outside strings; the text is one object. */
static void check_json_shape(const char *json) {
    int depth = 0;
    bool in_string = false;
    const char *p = json;
    while (*p == ' ' || *p == '\n') p++;
    assert_int_equal(*p, '{');
    for (; *p; p++) {
        if (in_string) {
            if (*p == '\\') p++;
            else if (*p == '"') in_string = false;
            continue;
        }
        if (*p == '"') in_string = true;
        else if (*p == '{' || *p == '[') depth++;
        else if (*p == '}' || *p == ']') {
            depth--;
            assert_true(depth >= 0);
            if (depth == 0) {
                p++;
                break;
            }
        }
    }
    assert_int_equal(depth, 0);
    while (*p == ' ' || *p == '\n') p++;
    assert_int_equal(*p, '\0');
}

static void test_print_stats_json(void **state) {
    (void)state;
    void *keep[60];
    hold_some_blocks(keep, 60);
    void *big = rc_malloc(2 * MiB);
    assert_non_null(big);
    rc_heap_stats s;
    rc_heap_get_stats(&s);
    char path[] = "/tmp/reclaim_stats_jsonXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w+");
    assert_non_null(f);
    assert_int_equal(rc_heap_print_stats_json(f), 0);
    char *json = slurp(f);
    fclose(f);

    check_json_shape(json);
    char version[64];
    snprintf(version, sizeof version, "\"version\":\"%s\"", RC_VERSION_STRING);
    assert_non_null(strstr(json, version));
    assert_int_equal(json_number(json, "bytes_in_use"), s.bytes_in_use);
    assert_int_equal(json_number(json, "bytes_peak"), s.bytes_peak);
    assert_int_equal(json_number(json, "bytes_mapped"), s.bytes_mapped);
    assert_int_equal(json_number(json, "bytes_mapped_peak"), s.bytes_mapped_peak);
    assert_int_equal(json_number(json, "arenas"), s.arenas);
    assert_int_equal(json_number(json, "pools_in_use"), s.pools_in_use);
    assert_int_equal(json_number(json, "pools_free"), s.pools_free);
    assert_int_equal(json_number(json, "blocks_in_use"), s.blocks_in_use);
    assert_int_equal(json_number(json, "large_blocks"), s.large_blocks);
    assert_int_equal(json_number(json, "large_bytes"), s.large_bytes);
    assert_int_equal(json_number(json, "large_cached"), s.large_cached);
    assert_int_equal(json_number(json, "threads"), s.threads);

    /* The classes array: RC_SIZE_CLASSES objects in order. */
    const char *p = strstr(json, "\"classes\":[");
    assert_non_null(p);
    p = strchr(p, '[') + 1;
    for (unsigned c = 0; c < RC_SIZE_CLASSES; c++) {
        const char *open = strchr(p, '{');
        assert_non_null(open);
        const char *close = strchr(open, '}');
        assert_non_null(close);
        char obj[256];
        size_t len = (size_t)(close - open + 1);
        assert_true(len < sizeof obj);
        memcpy(obj, open, len);
        obj[len] = '\0';
        assert_int_equal(json_number(obj, "block_size"), s.classes[c].block_size);
        assert_int_equal(json_number(obj, "blocks_in_use"), s.classes[c].blocks_in_use);
        assert_int_equal(json_number(obj, "blocks_free"), s.classes[c].blocks_free);
        assert_int_equal(json_number(obj, "pools"), s.classes[c].pools);
        p = close + 1;
    }
    assert_int_equal(*p, ']');

    /* A real JSON parser agrees, when python3 is there. */
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
             "print(d[\"bytes_in_use\"], len(d[\"classes\"]), sum(c[\"blocks_in_use\"] for c in d[\"classes\"]))' "
             "%s 2>&1",
             path);
    FILE *py = popen(cmd, "r");
    assert_non_null(py);
    char out[256] = {0};
    size_t n = fread(out, 1, sizeof out - 1, py);
    int status = pclose(py);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        print_message("python3 not found: JSON checked by hand only\n");
    } else {
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail_msg("python3 rejects the JSON: %.*s", (int)n, out);
        unsigned long long in_use, nclasses, class_blocks;
        assert_int_equal(sscanf(out, "%llu %llu %llu", &in_use, &nclasses, &class_blocks), 3);
        assert_int_equal(in_use, s.bytes_in_use);
        assert_int_equal(nclasses, RC_SIZE_CLASSES);
        assert_int_equal(class_blocks, s.blocks_in_use - s.large_blocks);
    }
    unlink(path);
    free(json);
    rc_free(big);
    for (int i = 0; i < 60; i++) rc_free(keep[i]);
}

static void test_print_stats_json_write_error(void **state) {
    (void)state;
    FILE *f = fopen("/dev/full", "w");
    if (!f) skip();
    void *ok = rc_malloc(1);
    assert_int_equal(rc_heap_print_stats_json(f), -1);
    assert_non_null(strstr(rc_last_error(), "rc_heap_print_stats_json"));
    fclose(f);
    rc_free(ok);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_add_up),
        cmocka_unit_test(test_stats_other_entry_points),
        cmocka_unit_test(test_stats_null_out),
        cmocka_unit_test(test_print_stats_text),
        cmocka_unit_test(test_print_stats_json),
        cmocka_unit_test(test_print_stats_json_write_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
