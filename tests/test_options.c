/*
 * test_options.c — the RECLAIM_* options (read through the test hook
 * _rc_options_reload after setenv): good values parse to the right numbers,
 * a bad value is reported exactly once naming the variable and the accepted
 * forms, and the default is kept. Also rc_version() and rc_last_error().
 */
#include <pthread.h>

#include "test_heap_util.h"

static saved_env env;

static int save_env(void **state) {
    (void)state;
    env_save_and_clear(&env);
    return 0;
}

static int restore_env(void **state) {
    (void)state;
    env_restore(&env);
    return 0;
}

/* Defaults, as documented in the options table. */
#define DEF_MALLOC RC_MALLOC_DEFAULT
#define DEF_MALLOCSTATS 0
#define DEF_PURGE_DELAY 10
#define DEF_HEAP_RETAIN ((int64_t)64 << 20)
#define DEF_LARGE_CACHE 8
#define DEF_DEBUG_QUARANTINE 1024

static void test_defaults(void **state) {
    (void)state;
    captured *c = capture_begin();
    _rc_options_reload();
    capture_end();
    assert_int_equal(c->count, 0);
    assert_int_equal(_rc_option(RC_OPT_MALLOC), DEF_MALLOC);
    assert_int_equal(_rc_option(RC_OPT_MALLOCSTATS), DEF_MALLOCSTATS);
    assert_int_equal(_rc_option(RC_OPT_PURGE_DELAY), DEF_PURGE_DELAY);
    assert_int_equal(_rc_option(RC_OPT_HEAP_RETAIN), DEF_HEAP_RETAIN);
    assert_int_equal(_rc_option(RC_OPT_LARGE_CACHE), DEF_LARGE_CACHE);
    assert_int_equal(_rc_option(RC_OPT_DEBUG_QUARANTINE), DEF_DEBUG_QUARANTINE);
}

typedef struct good_case {
    const char *name;
    rc_option_id id;
    const char *value;
    int64_t want;
} good_case;

static void test_good_values(void **state) {
    (void)state;
    static const good_case cases[] = {
        {"RECLAIM_HEAP_RETAIN", RC_OPT_HEAP_RETAIN, "64M", (int64_t)64 << 20},
        {"RECLAIM_HEAP_RETAIN", RC_OPT_HEAP_RETAIN, "512K", 512 * 1024},
        {"RECLAIM_HEAP_RETAIN", RC_OPT_HEAP_RETAIN, "1G", (int64_t)1 << 30},
        {"RECLAIM_HEAP_RETAIN", RC_OPT_HEAP_RETAIN, "2T", (int64_t)2 << 40},
        {"RECLAIM_HEAP_RETAIN", RC_OPT_HEAP_RETAIN, "4096", 4096},
        {"RECLAIM_HEAP_RETAIN", RC_OPT_HEAP_RETAIN, "0", 0},
        {"RECLAIM_HEAP_RETAIN", RC_OPT_HEAP_RETAIN, "3m", (int64_t)3 << 20},
        {"RECLAIM_PURGE_DELAY", RC_OPT_PURGE_DELAY, "10ms", 10},
        {"RECLAIM_PURGE_DELAY", RC_OPT_PURGE_DELAY, "250", 250},
        {"RECLAIM_PURGE_DELAY", RC_OPT_PURGE_DELAY, "0", 0},
        {"RECLAIM_PURGE_DELAY", RC_OPT_PURGE_DELAY, "3600000", 3600000},
        {"RECLAIM_MALLOC", RC_OPT_MALLOC, "default", RC_MALLOC_DEFAULT},
        {"RECLAIM_MALLOC", RC_OPT_MALLOC, "debug", RC_MALLOC_DEBUG},
        {"RECLAIM_MALLOC", RC_OPT_MALLOC, "malloc", RC_MALLOC_SYSTEM},
        {"RECLAIM_MALLOCSTATS", RC_OPT_MALLOCSTATS, "1", 1},
        {"RECLAIM_MALLOCSTATS", RC_OPT_MALLOCSTATS, "yes", 1},
        {"RECLAIM_MALLOCSTATS", RC_OPT_MALLOCSTATS, "on", 1},
        {"RECLAIM_MALLOCSTATS", RC_OPT_MALLOCSTATS, "true", 1},
        {"RECLAIM_MALLOCSTATS", RC_OPT_MALLOCSTATS, "0", 0},
        {"RECLAIM_MALLOCSTATS", RC_OPT_MALLOCSTATS, "off", 0},
        {"RECLAIM_LARGE_CACHE", RC_OPT_LARGE_CACHE, "0", 0},
        {"RECLAIM_LARGE_CACHE", RC_OPT_LARGE_CACHE, "16", 16},
        {"RECLAIM_DEBUG_QUARANTINE", RC_OPT_DEBUG_QUARANTINE, "4096", 4096},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        setenv(cases[i].name, cases[i].value, 1);
        captured *c = capture_begin();
        _rc_options_reload();
        capture_end();
        if (c->count != 0) fail_msg("%s=%s: unexpected warning \"%s\"", cases[i].name, cases[i].value, c->text[0]);
        int64_t got = _rc_option(cases[i].id);
        if (got != cases[i].want)
            fail_msg("%s=%s parsed as %lld, want %lld", cases[i].name, cases[i].value, (long long)got,
                     (long long)cases[i].want);
        unsetenv(cases[i].name);
    }
}

/* The three bad values of the brief together: exactly one warning each. */
static void test_bad_values_warn_once_each(void **state) {
    (void)state;
    setenv("RECLAIM_HEAP_RETAIN", "12Q", 1);
    setenv("RECLAIM_PURGE_DELAY", "-1", 1);
    setenv("RECLAIM_MALLOC", "bogus", 1);
    captured *c = capture_begin();
    _rc_options_reload();
    capture_end();
    if (c->count != 3) {
        for (int i = 0; i < c->count && i < CAPTURE_MAX; i++) print_message("message: %s\n", c->text[i]);
        fail_msg("%d warnings for 3 bad variables", c->count);
    }
    /* Each names its variable, its value and the accepted forms. */
    static const char *const retain[] = {"RECLAIM_HEAP_RETAIN", "12Q", "64M", NULL};
    static const char *const delay[] = {"RECLAIM_PURGE_DELAY", "-1", "milliseconds", NULL};
    static const char *const malloc_[] = {"RECLAIM_MALLOC=", "bogus", "default", "debug", "malloc", NULL};
    assert_int_equal(capture_count_matching(c, retain), 1);
    assert_int_equal(capture_count_matching(c, delay), 1);
    assert_int_equal(capture_count_matching(c, malloc_), 1);
    /* The defaults are kept. */
    assert_int_equal(_rc_option(RC_OPT_HEAP_RETAIN), DEF_HEAP_RETAIN);
    assert_int_equal(_rc_option(RC_OPT_PURGE_DELAY), DEF_PURGE_DELAY);
    assert_int_equal(_rc_option(RC_OPT_MALLOC), DEF_MALLOC);
    /* Untouched options report nothing and keep their defaults too. */
    assert_int_equal(_rc_option(RC_OPT_LARGE_CACHE), DEF_LARGE_CACHE);
    unsetenv("RECLAIM_HEAP_RETAIN");
    unsetenv("RECLAIM_PURGE_DELAY");
    unsetenv("RECLAIM_MALLOC");
}

typedef struct bad_case {
    const char *name;
    rc_option_id id;
    const char *value;
    const char *forms; /* a word of the accepted forms the warning must show */
    int64_t def;
} bad_case;

/* One bad value at a time, after a good one: the default comes back. */
static void test_bad_values_keep_default(void **state) {
    (void)state;
    static const bad_case cases[] = {
        {"RECLAIM_HEAP_RETAIN", RC_OPT_HEAP_RETAIN, "12Q", "64M", DEF_HEAP_RETAIN},
        {"RECLAIM_HEAP_RETAIN", RC_OPT_HEAP_RETAIN, "M", "64M", DEF_HEAP_RETAIN},
        {"RECLAIM_HEAP_RETAIN", RC_OPT_HEAP_RETAIN, "-5M", "64M", DEF_HEAP_RETAIN},
        {"RECLAIM_HEAP_RETAIN", RC_OPT_HEAP_RETAIN, "64 M", "64M", DEF_HEAP_RETAIN},
        {"RECLAIM_HEAP_RETAIN", RC_OPT_HEAP_RETAIN, "99999999999999999999", "64M", DEF_HEAP_RETAIN},
        {"RECLAIM_HEAP_RETAIN", RC_OPT_HEAP_RETAIN, "9999999T", "64M", DEF_HEAP_RETAIN},
        {"RECLAIM_PURGE_DELAY", RC_OPT_PURGE_DELAY, "-1", "milliseconds", DEF_PURGE_DELAY},
        {"RECLAIM_PURGE_DELAY", RC_OPT_PURGE_DELAY, "10s", "milliseconds", DEF_PURGE_DELAY},
        {"RECLAIM_PURGE_DELAY", RC_OPT_PURGE_DELAY, "3600001", "3600000", DEF_PURGE_DELAY},
        {"RECLAIM_PURGE_DELAY", RC_OPT_PURGE_DELAY, "fast", "milliseconds", DEF_PURGE_DELAY},
        {"RECLAIM_MALLOC", RC_OPT_MALLOC, "bogus", "debug", DEF_MALLOC},
        {"RECLAIM_MALLOC", RC_OPT_MALLOC, "debugx", "debug", DEF_MALLOC},
        {"RECLAIM_MALLOCSTATS", RC_OPT_MALLOCSTATS, "maybe", "yes", DEF_MALLOCSTATS},
        {"RECLAIM_MALLOCSTATS", RC_OPT_MALLOCSTATS, "2", "yes", DEF_MALLOCSTATS},
        {"RECLAIM_LARGE_CACHE", RC_OPT_LARGE_CACHE, "17", "16", DEF_LARGE_CACHE},
        {"RECLAIM_LARGE_CACHE", RC_OPT_LARGE_CACHE, "4k", "16", DEF_LARGE_CACHE},
        {"RECLAIM_DEBUG_QUARANTINE", RC_OPT_DEBUG_QUARANTINE, "4097", "4096", DEF_DEBUG_QUARANTINE},
    };
    static const char *const good_for[RC_OPT_COUNT] = {
        [RC_OPT_MALLOC] = "malloc",   [RC_OPT_MALLOCSTATS] = "1", [RC_OPT_PURGE_DELAY] = "77",
        [RC_OPT_HEAP_RETAIN] = "3M",  [RC_OPT_LARGE_CACHE] = "3", [RC_OPT_DEBUG_QUARANTINE] = "5",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const bad_case *b = &cases[i];
        /* First a good value, so keeping the default is visible. */
        setenv(b->name, good_for[b->id], 1);
        _rc_options_reload();
        assert_true(_rc_option(b->id) != b->def);

        setenv(b->name, b->value, 1);
        captured *c = capture_begin();
        _rc_options_reload();
        capture_end();
        const char *const needles[] = {b->name, b->value, b->forms, NULL};
        if (c->count != 1 || capture_count_matching(c, needles) != 1)
            fail_msg("%s=%s: %d warnings, first \"%s\"", b->name, b->value, c->count, c->count ? c->text[0] : "");
        int64_t got = _rc_option(b->id);
        if (got != b->def)
            fail_msg("%s=%s: value %lld, want the default %lld", b->name, b->value, (long long)got,
                     (long long)b->def);
        unsetenv(b->name);
    }
}

/* An empty value means "not set": no warning, the default. */
static void test_empty_value_is_unset(void **state) {
    (void)state;
    setenv("RECLAIM_HEAP_RETAIN", "", 1);
    setenv("RECLAIM_MALLOC", "", 1);
    captured *c = capture_begin();
    _rc_options_reload();
    capture_end();
    assert_int_equal(c->count, 0);
    assert_int_equal(_rc_option(RC_OPT_HEAP_RETAIN), DEF_HEAP_RETAIN);
    assert_int_equal(_rc_option(RC_OPT_MALLOC), DEF_MALLOC);
    unsetenv("RECLAIM_HEAP_RETAIN");
    unsetenv("RECLAIM_MALLOC");
}

/* Without a handler the warning goes to stderr, one line. */
static void test_warning_goes_to_stderr(void **state) {
    (void)state;
    setenv("RECLAIM_LARGE_CACHE", "lots", 1);
    stderr_capture cap;
    stderr_capture_begin(&cap);
    _rc_options_reload();
    char text[1024];
    size_t n = stderr_capture_end(&cap, text, sizeof text);
    unsetenv("RECLAIM_LARGE_CACHE");
    if (n == 0 || !strstr(text, "RECLAIM_LARGE_CACHE") || !strstr(text, "lots"))
        fail_msg("stderr after a bad option: \"%s\"", text);
    assert_int_equal(text[n - 1], '\n');
    assert_ptr_equal(strchr(text, '\n'), text + n - 1); /* exactly one line */
}

/* ---- rc_version, rc_last_error ---- */

static void test_version(void **state) {
    (void)state;
    assert_non_null(rc_version());
    assert_string_equal(rc_version(), RC_VERSION_STRING);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", RC_VERSION_MAJOR, RC_VERSION_MINOR, RC_VERSION_PATCH);
    assert_string_equal(rc_version(), want);
}

static void *last_error_in_thread(void *arg) {
    (void)arg;
    const char *e = rc_last_error();
    return (void *)(uintptr_t)(e != NULL && e[0] == '\0');
}

static void test_last_error_never_null(void **state) {
    (void)state;
    assert_non_null(rc_last_error());
    void *p = rc_malloc(10);
    assert_non_null(rc_last_error());
    rc_free(p);
    assert_null(rc_aligned_alloc(24, 10));
    const char *e = rc_last_error();
    assert_non_null(e);
    assert_true(e[0] != '\0');
    /* A fresh thread has had no error: "" rather than NULL. */
    pthread_t t;
    void *ok = NULL;
    assert_int_equal(pthread_create(&t, NULL, last_error_in_thread, NULL), 0);
    assert_int_equal(pthread_join(t, &ok), 0);
    assert_true(ok != NULL);
    /* And its errors are its own: this thread's message is unchanged. */
    assert_string_equal(rc_last_error(), e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, save_env, restore_env),
        cmocka_unit_test_setup_teardown(test_good_values, save_env, restore_env),
        cmocka_unit_test_setup_teardown(test_bad_values_warn_once_each, save_env, restore_env),
        cmocka_unit_test_setup_teardown(test_bad_values_keep_default, save_env, restore_env),
        cmocka_unit_test_setup_teardown(test_empty_value_is_unset, save_env, restore_env),
        cmocka_unit_test_setup_teardown(test_warning_goes_to_stderr, save_env, restore_env),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_last_error_never_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
