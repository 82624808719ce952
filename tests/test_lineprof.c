/*
 * test_lineprof.c — RC_PROFILE_FUNCTION, memory_profiler's per-line table
 * (include/reclaim.h section 10, src/prof/lineprof.c): exact increments,
 * occurrences and memory on the lines of functions with known allocation
 * phases (direct calls, a helper's allocation landing on the calling
 * line, frees, reallocs counted once, objects and a container's own
 * blocks), the source text of every line of the function and nothing on
 * the others, nested profiled functions, a function profiled twice,
 * tracing at the same time, the hooks' bit cleared when no profiled
 * function runs, another thread's allocations left out, the output file,
 * a profiled function left by longjmp, and the plain functions and their
 * errors.
 *
 * The profiled functions are built with -g and frame pointers, without
 * tail calls (tests/lineprof.cmake); they are exported, so that the
 * symbolizer names them with or without libdw. Without libdw the table has
 * no line numbers: the tests then check the rows by function name only.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "reclaim.h"
#include "internal/heap.h"
#include "internal/runtime.h"

#define NOINLINE __attribute__((noinline))
#define KIB 1024
#define MIB (1024 * 1024)

/* exported: the symbolizer finds them by name even without libdw */
void helper_128k(void);
void phases(void);
void inner(void);
void outer(void);
void reallocs(void);
void **traced_phases(void);
void threaded(void);
void jumper(void);
void objects(void);
unsigned begin_unended(void);

/* {==== capturing the table ==== */

static char captured[1 << 17];
static size_t captured_len;

/* The message handler: no allocation from reclaim's heap here. */
static void capture(const char *message, void *arg) {
    (void)arg;
    size_t n = strlen(message);
    if (captured_len + n + 2 > sizeof captured) return;
    memcpy(captured + captured_len, message, n);
    captured_len += n;
    captured[captured_len++] = '\n';
    captured[captured_len] = '\0';
}

static int setup(void **state) {
    (void)state;
    captured_len = 0;
    captured[0] = '\0';
    rc_set_message_handler(capture, NULL);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    rc_set_message_handler(NULL, NULL);
    rc_trace_stop();
    return 0;
}

static bool lines_hooked(void) { return (atomic_load(&_rc_trace_on) & RC_HOOK_LINES) != 0; }

#ifdef RC_HAVE_LIBDW
#define WITH_LINES 1
#else
#define WITH_LINES 0
#endif

/* A row of a table, as printed: "%6s %12s %12s  %10s   %s". */
typedef struct row {
    char line[8], mem[16], increment[16], occurrences[16];
    const char *text; /* to the end of the row's line in the capture */
    size_t text_len;
} row;

#define TEXT_AT 47 /* 6 + 1 + 12 + 1 + 12 + 2 + 10 + 3 */

static void field(char *out, size_t size, const char *from, size_t len) {
    while (len && *from == ' ') from++, len--;
    while (len && from[len - 1] == ' ') len--;
    if (len >= size) len = size - 1;
    memcpy(out, from, len);
    out[len] = '\0';
}

static bool parse_row(const char *s, const char *end, row *r) {
    if (end - s < TEXT_AT) return false;
    field(r->line, sizeof r->line, s, 6);
    field(r->mem, sizeof r->mem, s + 7, 12);
    field(r->increment, sizeof r->increment, s + 20, 12);
    field(r->occurrences, sizeof r->occurrences, s + 34, 10);
    r->text = s + TEXT_AT;
    r->text_len = (size_t)(end - r->text);
    return true;
}

/* The next "Filename: " at the start of a line, from s on (the source
 * lines of a table may hold the words too). */
static const char *next_table(const char *s) {
    for (s = strstr(s, "Filename: "); s; s = strstr(s + 1, "Filename: "))
        if (s == captured || s[-1] == '\n') return s;
    return NULL;
}

/* The n-th table (from 0) of the capture: its start and end. */
static bool table_n(int n, const char **start, const char **end) {
    const char *t = captured;
    for (int i = 0; i <= n; i++) {
        t = next_table(i ? t + 1 : t);
        if (!t) return false;
    }
    *start = t;
    const char *next = next_table(t + 1);
    *end = next ? next : captured + captured_len;
    return true;
}

static int count_tables(void) {
    int n = 0;
    for (const char *t = next_table(captured); t; t = next_table(t + 1)) n++;
    return n;
}

/* Walk the rows of a table (after the ===== line): calls fn on each. */
typedef bool (*row_fn)(const row *r, void *arg);
static int each_row(const char *start, const char *end, row_fn fn, void *arg) {
    const char *s = strstr(start, "=====\n");
    assert_non_null(s);
    s = strchr(s, '\n') + 1;
    int n = 0;
    while (s < end && *s && *s != '\n') {
        const char *e = strchr(s, '\n');
        row r;
        if (parse_row(s, e, &r)) {
            n++;
            if (fn && !fn(&r, arg)) break;
        }
        s = e + 1;
    }
    return n;
}

typedef struct find {
    const char *line;
    row found;
    bool ok;
} find;

static bool find_line(const row *r, void *arg) {
    find *f = arg;
    if (strcmp(r->line, f->line) != 0) return true;
    f->found = *r, f->ok = true;
    return false;
}

static row row_at(int table, unsigned line) {
    const char *s, *e;
    assert_true(table_n(table, &s, &e));
    find f = {.ok = false};
    char num[16];
    snprintf(num, sizeof num, "%u", line);
    f.line = num;
    each_row(s, e, find_line, &f);
    if (!f.ok) fail_msg("no row for line %u in table %d:\n%s", line, table, captured);
    return f.found;
}

static bool text_has(const row *r, const char *needle) {
    char buf[512];
    size_t n = r->text_len < sizeof buf - 1 ? r->text_len : sizeof buf - 1;
    memcpy(buf, r->text, n);
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

/* "4.000 MiB" -> bytes (to the 1/1000 of the unit printed). */
static double bytes_of(const char *figure) {
    double v;
    char unit[8];
    assert_int_equal(sscanf(figure, "%lf %7s", &v, unit), 2);
    if (!strcmp(unit, "MiB")) return v * MIB;
    assert_string_equal(unit, "KiB");
    return v * KIB;
}

typedef struct counted {
    int with_events, blank;
    unsigned first, last;
} counted;

static bool count_rows(const row *r, void *arg) {
    counted *c = arg;
    unsigned l = (unsigned)atoi(r->line);
    if (!c->first) c->first = l;
    if (l) c->last = l;
    if (r->increment[0] && l) c->with_events++; /* not the elsewhere row */
    else if (!r->mem[0]) c->blank++;
    return true;
}

static counted count_table(int table) {
    const char *s, *e;
    assert_true(table_n(table, &s, &e));
    counted c = {0, 0, 0, 0};
    each_row(s, e, count_rows, &c);
    return c;
}
/* }==== */

/* {==== the profiled functions ==== */

static void *kept;
static unsigned line_entry, line_a, line_b, line_c, line_d, line_sig, line_end;

NOINLINE void helper_128k(void) { kept = rc_malloc(128 * KIB); }

/* line A allocates 1 MiB four times, line B frees two of them, line C
 * calls a helper that allocates 128 KiB, line D frees the rest. */
NOINLINE void phases(void) {
    RC_PROFILE_FUNCTION();
    void *a[4];
    line_entry = __LINE__ - 2;
    for (int i = 0; i < 4; i++) a[i] = rc_malloc(MIB); /* A */
    line_a = __LINE__ - 1;
    for (int i = 0; i < 2; i++) rc_free(a[i]); /* B */
    line_b = __LINE__ - 1;
    helper_128k(); /* C */
    line_c = __LINE__ - 1;
    rc_free(a[2]), rc_free(a[3]), rc_free(kept); /* D */
    line_d = __LINE__ - 1;
    line_sig = line_entry - 1;
    line_end = __LINE__ + 1;
}

static unsigned line_i1, line_o1, line_o2, line_o3, line_inner_entry;
static void *inner_block;

NOINLINE void inner(void) {
    RC_PROFILE_FUNCTION();
    line_inner_entry = __LINE__ - 1;
    inner_block = rc_malloc(512 * KIB); /* I1 */
    line_i1 = __LINE__ - 1;
}

NOINLINE void outer(void) {
    RC_PROFILE_FUNCTION();
    void *p = rc_malloc(256 * KIB); /* O1 */
    line_o1 = __LINE__ - 1;
    inner(); /* O2: inner's 512 KiB land here */
    line_o2 = __LINE__ - 1;
    rc_free(p), rc_free(inner_block); /* O3 */
    line_o3 = __LINE__ - 1;
}

static unsigned line_r;

/* three reallocs on one line: 64 KiB, then 128 KiB, then 192 KiB */
NOINLINE void reallocs(void) {
    RC_PROFILE_FUNCTION();
    void *p = NULL;
    for (size_t k = 1; k <= 3; k++) p = rc_realloc(p, k * 64 * KIB); /* R */
    line_r = __LINE__ - 1;
    rc_free(p);
}

static unsigned line_t;
static bool hooked_inside;

NOINLINE void **traced_phases(void) {
    RC_PROFILE_FUNCTION();
    hooked_inside = lines_hooked();
    void **v = rc_malloc(8 * sizeof *v);
    line_t = __LINE__ + 1;
    for (int i = 0; i < 8; i++) v[i] = rc_malloc(1024);
    return v;
}

static void *thread_main(void *arg) {
    (void)arg;
    void *p = rc_malloc(MIB);
    rc_free(p);
    return NULL;
}

static unsigned line_th;

NOINLINE void threaded(void) {
    RC_PROFILE_FUNCTION();
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, thread_main, NULL), 0);
    pthread_join(t, NULL);
    kept = rc_malloc(3 * KIB);
    line_th = __LINE__ - 1;
    rc_free(kept);
}
typedef struct point {
    double x, y;
} point;
static const rc_type point_type = {.name = "point", .size = sizeof(point)};
static unsigned line_l1, line_l2, line_l3;

/* objects (16 + 16 bytes each) and a list that grows as it goes,
 * released at once by the last line */
NOINLINE void objects(void) {
    RC_PROFILE_FUNCTION();
    void *list = rc_list_new(); /* L1 */
    line_l1 = __LINE__ - 1;
    for (int i = 0; i < 100; i++) rc_list_append_steal(list, rc_new(&point_type)); /* L2 */
    line_l2 = __LINE__ - 1;
    rc_decref(list); /* L3 */
    line_l3 = __LINE__ - 1;
}

static jmp_buf jump;
static void *jumped_block;
static unsigned line_j;

NOINLINE void jumper(void) {
    RC_PROFILE_FUNCTION();
    jumped_block = rc_malloc(64 * KIB);
    line_j = __LINE__ - 1;
    longjmp(jump, 1);
}
/* }==== */

/* {==== tests ==== */

static void test_phases(void **state) {
    (void)state;
    assert_false(lines_hooked());
    phases();
    assert_false(lines_hooked());
    assert_int_equal(count_tables(), 1);
    assert_non_null(strstr(captured, "Filename: "));
    assert_non_null(strstr(captured, "test_lineprof.c\n"));
    assert_non_null(
        strstr(captured, "Line #    Mem usage    Increment  Occurrences   Line Contents\n"
                         "=============================================================\n"));
    if (!WITH_LINES) {
        assert_non_null(strstr(captured, "(in phases at"));
        skip();
    }
    row ra = row_at(0, line_a), rb = row_at(0, line_b), rc = row_at(0, line_c), rd = row_at(0, line_d);
    assert_string_equal(ra.increment, "4.000 MiB");
    assert_string_equal(ra.occurrences, "4");
    assert_true(text_has(&ra, "for (int i = 0; i < 4; i++) a[i] = rc_malloc(MIB); /* A */"));
    assert_string_equal(rb.increment, "-2.000 MiB");
    assert_string_equal(rb.occurrences, "2");
    assert_true(text_has(&rb, "rc_free(a[i]); /* B */"));
    assert_string_equal(rc.increment, "128.000 KiB");
    assert_string_equal(rc.occurrences, "1");
    assert_true(text_has(&rc, "helper_128k(); /* C */"));
    assert_string_equal(rd.increment, "-2.125 MiB");
    assert_string_equal(rd.occurrences, "3");
    /* memory after each line: the entry figure plus the net bytes so far */
    row re = row_at(0, line_entry);
    assert_true(text_has(&re, "RC_PROFILE_FUNCTION();"));
    assert_string_equal(re.increment, "");
    double entry = bytes_of(re.mem);
    assert_true(bytes_of(ra.mem) - entry > 4.0 * MIB - 0.002 * MIB);
    assert_true(bytes_of(ra.mem) - entry < 4.0 * MIB + 0.002 * MIB);
    assert_true(bytes_of(rb.mem) - entry > 2.0 * MIB - 0.002 * MIB);
    assert_true(bytes_of(rb.mem) - entry < 2.0 * MIB + 0.002 * MIB);
    assert_true(bytes_of(rc.mem) - entry > 2.125 * MIB - 0.002 * MIB);
    assert_true(bytes_of(rc.mem) - entry < 2.125 * MIB + 0.002 * MIB);
    assert_true(bytes_of(rd.mem) - entry > -0.002 * MIB);
    assert_true(bytes_of(rd.mem) - entry < 0.002 * MIB);
    /* every line of the function, from its signature to its closing brace;
     * events on A..D only, nothing elsewhere */
    row rs = row_at(0, line_sig), rend = row_at(0, line_end);
    assert_true(text_has(&rs, "NOINLINE void phases(void) {"));
    assert_true(rend.text_len >= 1 && rend.text[0] == '}');
    counted c = count_table(0);
    assert_int_equal(c.first, line_sig);
    assert_int_equal(c.last, line_end);
    assert_int_equal(c.with_events, 4);
    assert_int_equal(c.blank, (int)(line_end - line_sig + 1) - 5);
    assert_null(strstr(captured, "(elsewhere"));
}

static void test_twice(void **state) {
    (void)state;
    phases();
    phases();
    assert_false(lines_hooked());
    assert_int_equal(count_tables(), 2);
    if (!WITH_LINES) skip();
    for (int t = 0; t < 2; t++) {
        assert_string_equal(row_at(t, line_a).increment, "4.000 MiB");
        assert_string_equal(row_at(t, line_a).occurrences, "4");
        assert_string_equal(row_at(t, line_b).increment, "-2.000 MiB");
        assert_string_equal(row_at(t, line_c).increment, "128.000 KiB");
        assert_string_equal(row_at(t, line_d).increment, "-2.125 MiB");
        assert_int_equal(count_table(t).with_events, 4);
    }
}

static void test_nested(void **state) {
    (void)state;
    outer();
    assert_false(lines_hooked());
    assert_int_equal(count_tables(), 2);
    const char *s, *e;
    assert_true(table_n(0, &s, &e)); /* inner's ends first */
    if (!WITH_LINES) {
        assert_non_null(strstr(captured, "(in inner at"));
        assert_non_null(strstr(captured, "(in outer at"));
        skip();
    }
    row i1 = row_at(0, line_i1);
    assert_string_equal(i1.increment, "512.000 KiB");
    assert_string_equal(i1.occurrences, "1");
    assert_true(text_has(&i1, "/* I1 */"));
    assert_int_equal(count_table(0).with_events, 1);
    row o1 = row_at(1, line_o1), o2 = row_at(1, line_o2), o3 = row_at(1, line_o3);
    assert_string_equal(o1.increment, "256.000 KiB");
    assert_string_equal(o2.increment, "512.000 KiB");
    assert_string_equal(o2.occurrences, "1");
    assert_true(text_has(&o2, "inner(); /* O2"));
    assert_string_equal(o3.increment, "-768.000 KiB");
    assert_string_equal(o3.occurrences, "2");
    assert_int_equal(count_table(1).with_events, 3);
    assert_null(strstr(captured, "(elsewhere"));
}

static void test_realloc_counted_once(void **state) {
    (void)state;
    reallocs();
    if (!WITH_LINES) skip();
    row r = row_at(0, line_r);
    assert_string_equal(r.increment, "192.000 KiB");
    assert_string_equal(r.occurrences, "3"); /* a free and an allocation per realloc, counted once */
    assert_int_equal(count_table(0).with_events, 2); /* R and the final free */
}

static void test_with_tracing(void **state) {
    (void)state;
    assert_int_equal(rc_trace_start(1), 0);
    size_t before, after, peak;
    rc_trace_get_traced_memory(&before, &peak);
    void **v = traced_phases();
    assert_true(hooked_inside);
    assert_false(lines_hooked());
    assert_true(rc_trace_is_tracing());
    rc_trace_get_traced_memory(&after, &peak);
    assert_int_equal(after - before, 8 * sizeof *v + 8 * 1024); /* the tracer saw exactly the function's blocks */
    rc_frame f;
    assert_int_equal(rc_trace_site_of(v[3], &f, 1), 1);
    assert_string_equal(f.function, "traced_phases");
    if (WITH_LINES) {
        assert_int_equal(f.line, line_t);
        row r = row_at(0, line_t);
        assert_string_equal(r.increment, "8.000 KiB");
        assert_string_equal(r.occurrences, "8");
        assert_int_equal(count_table(0).with_events, 2);
    }
    for (int i = 0; i < 8; i++) rc_free(v[i]);
    rc_free(v);
    rc_trace_get_traced_memory(&after, &peak);
    assert_int_equal(after, before);
    rc_trace_stop();
    assert_int_equal(atomic_load(&_rc_trace_on) & (RC_HOOK_TRACE | RC_HOOK_LINES), 0);
}

static void test_other_threads_left_out(void **state) {
    (void)state;
    threaded();
    assert_int_equal(count_tables(), 1);
    if (!WITH_LINES) skip();
    assert_string_equal(row_at(0, line_th).increment, "3.000 KiB");
    assert_int_equal(count_table(0).with_events, 2); /* the 3 KiB and its free: not the thread's MiB */
    assert_null(strstr(captured, "(elsewhere"));
}

static void test_output_file(void **state) {
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/lineprof-%d.txt", RC_TEST_BINARY_DIR, (int)getpid());
    unlink(path);
    setenv("RECLAIM_PROFILE_OUT", path, 1);
    _rc_options_reload();
    phases();
    phases();
    unsetenv("RECLAIM_PROFILE_OUT");
    _rc_options_reload();
    assert_int_equal(captured_len, 0); /* nothing through the message path */
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(captured, 1, sizeof captured - 1, f);
    fclose(f);
    unlink(path);
    captured[n] = '\0';
    captured_len = n;
    assert_int_equal(count_tables(), 2); /* appended */
    if (!WITH_LINES) skip();
    assert_string_equal(row_at(1, line_a).increment, "4.000 MiB");
    assert_string_equal(row_at(1, line_d).increment, "-2.125 MiB");
}

NOINLINE unsigned begin_unended(void) { return rc_profile_function_begin("fb", "/nonexistent/b.c", 1, NULL); }

/* Objects and a container's own blocks (allocated by the library on the
 * user's behalf, deep below the calling line) land on the calling line;
 * the release of the list takes back all of it on its line. */
static void test_objects_and_containers(void **state) {
    (void)state;
    rc_decref(rc_list_new()); /* the collector's per-thread state, made with the first tracked object, stays */
    objects();
    assert_int_equal(count_tables(), 1);
    if (!WITH_LINES) skip();
    row l1 = row_at(0, line_l1), l2 = row_at(0, line_l2), l3 = row_at(0, line_l3);
    double b1 = bytes_of(l1.increment), b2 = bytes_of(l2.increment), b3 = bytes_of(l3.increment);
    assert_true(b1 > 0);
    assert_true(b2 >= 100 * 32); /* the points, and the list's growing item array */
    assert_true(atoi(l2.occurrences) >= 100);
    assert_true(b1 + b2 + b3 > -2.0 && b1 + b2 + b3 < 2.0); /* to the printed precision: all freed on L3 */
    assert_int_equal(count_table(0).with_events, 3);
    assert_null(strstr(captured, "(elsewhere"));
}

/* A profiled function left by longjmp ends at the next profiled
 * function's begin at or above its frame. */
static void test_longjmp(void **state) {
    (void)state;
    if (!setjmp(jump)) jumper();
    assert_true(lines_hooked()); /* still active: its cleanup never ran */
    assert_int_equal(count_tables(), 0);
    phases();
    assert_false(lines_hooked());
    assert_int_equal(count_tables(), 2);
    rc_free(jumped_block);
    if (!WITH_LINES) skip();
    assert_string_equal(row_at(0, line_j).increment, "64.000 KiB");
    assert_int_equal(count_table(0).with_events, 1);
    assert_string_equal(row_at(1, line_a).increment, "4.000 MiB");
    assert_int_equal(count_table(1).with_events, 4);
}

static void test_plain_functions(void **state) {
    (void)state;
    _rc_set_error("%s", "");
    assert_int_equal(rc_profile_function_begin(NULL, "f.c", 1, NULL), 0);
    assert_non_null(strstr(rc_last_error(), "rc_profile_function_begin: function is NULL or empty"));
    assert_int_equal(rc_profile_function_begin("f", "", 1, NULL), 0);
    assert_non_null(strstr(rc_last_error(), "rc_profile_function_begin: file is NULL or empty"));
    assert_false(lines_hooked());
    _rc_set_error("%s", "");
    rc_profile_function_end(0);
    assert_string_equal(rc_last_error(), "");
    rc_profile_function_end(12345);
    assert_non_null(strstr(rc_last_error(), "rc_profile_function_end: token 12345 is not an active profile"));

    /* no frame: the caller's, from the frame-pointer chain; a source path
     * that cannot be read: the file the debug information names (same
     * base name) is read instead */
    unsigned first = __LINE__ + 1;
    unsigned tok = rc_profile_function_begin("test_plain_functions", "/nonexistent/test_lineprof.c", first, NULL);
    assert_int_not_equal(tok, 0);
    assert_true(lines_hooked());
    void *p = rc_malloc(10 * KIB);
    rc_free(p);
    unsigned line_p = __LINE__ - 2;
    rc_profile_function_end(tok);
    assert_false(lines_hooked());
    assert_int_equal(count_tables(), 1);
    assert_non_null(strstr(captured, "Filename: /nonexistent/test_lineprof.c\n"));
    counted c = count_table(0);
    assert_int_equal(c.with_events, WITH_LINES ? 2 : 0);
    if (WITH_LINES) {
        row r = row_at(0, line_p);
        assert_string_equal(r.increment, "10.000 KiB");
        assert_true(text_has(&r, "void *p = rc_malloc(10 * KIB);"));
        assert_string_equal(row_at(0, line_p + 1).increment, "-10.000 KiB");
    }

    /* an end that skips an inner profile (begun in a callee that returned
     * without ending it) ends both, inner first */
    captured_len = 0;
    unsigned a = rc_profile_function_begin("fa", "/nonexistent/a.c", 1, NULL);
    unsigned b = begin_unended();
    assert_true(a && b && a != b);
    rc_profile_function_end(a);
    assert_false(lines_hooked());
    assert_int_equal(count_tables(), 2);
    assert_true(strstr(captured, "/nonexistent/b.c") < strstr(captured, "/nonexistent/a.c"));
    rc_profile_function_end(b); /* already ended */
    assert_non_null(strstr(rc_last_error(), "is not an active profile"));

    /* one profile per frame: a second begin in the same function ends the
     * first */
    captured_len = 0;
    unsigned pc = rc_profile_function_begin("fc", "/nonexistent/c.c", 1, NULL);
    unsigned d = rc_profile_function_begin("fd", "/nonexistent/d.c", 1, NULL);
    assert_true(pc && d && pc != d);
    assert_int_equal(count_tables(), 1);
    assert_non_null(strstr(captured, "Filename: /nonexistent/c.c\n"));
    rc_profile_function_end(d);
    assert_false(lines_hooked());
    assert_int_equal(count_tables(), 2);
}
/* }==== */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_phases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(test_realloc_counted_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_with_tracing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_threads_left_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_objects_and_containers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_longjmp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plain_functions, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
