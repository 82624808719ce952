/*
 * test_symbols.c — the allocation tracer's symbolizer (src/prof/symbols.c):
 * return addresses to function, file and line.
 *
 * The probes below call a leaf that returns its own return address: an
 * address inside the probe, just after a call written on a known line.
 * They are compiled with -g -O1, no inlining and no tail calls (see
 * tests/prof.cmake), and exported (ENABLE_EXPORTS) so that dladdr, the
 * resolver without libdw, finds them too. With libdw (RC_HAVE_LIBDW) the
 * file is the source file and the line the call's; without it, the file is
 * the executable's path and the line 0 — both name "test_symbols".
 *
 *   executable     probes resolve to their names, file and line
 *   static         a static function (libdw only: dladdr sees exports only)
 *   libc           qsort + 1 resolves to qsort in libc
 *   unknown        0, 1, 0x10 and a stack address give false and leave the
 *                  outputs untouched
 *   interned       an address twice, and two addresses in one function,
 *                  give the same pointers for the same strings
 *   reset          after _rc_symbols_reset the answers are the same pointers
 *   dlopen         a module loaded after the module list was read resolves;
 *                  after dlclose and a new dlopen too
 *   threads        8 threads symbolize the same addresses (one also resets)
 *                  and all get the main thread's answers
 *   fork           a child forked while another thread symbolizes resolves
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal/prof_symbols.h"

/* ---- probes ------------------------------------------------------------ */

uintptr_t symbols_leaf(void);
uintptr_t symbols_probe_a(unsigned *line);
uintptr_t symbols_probe_b(unsigned *line);
uintptr_t symbols_probe_two(uintptr_t out[2], unsigned lines[2]);

/* The return address of its call: an address in the caller. The store
 * keeps the compiler from taking it for a const function and merging
 * calls. */
static volatile int leaf_calls;

RC_NOINLINE uintptr_t symbols_leaf(void) {
    leaf_calls++;
    return (uintptr_t)__builtin_return_address(0);
}

/* The barrier after each call keeps it a call (not a jump) with code after
 * it in the probe. */
RC_NOINLINE uintptr_t symbols_probe_a(unsigned *line) {
    *line = __LINE__ + 1;
    uintptr_t r = symbols_leaf();
    __asm__ volatile("" ::: "memory");
    return r;
}

RC_NOINLINE uintptr_t symbols_probe_b(unsigned *line) {
    *line = __LINE__ + 1;
    uintptr_t r = symbols_leaf();
    __asm__ volatile("" ::: "memory");
    return r;
}

RC_NOINLINE uintptr_t symbols_probe_two(uintptr_t out[2], unsigned lines[2]) {
    lines[0] = __LINE__ + 1;
    out[0] = symbols_leaf();
    __asm__ volatile("" ::: "memory");
    lines[1] = __LINE__ + 1;
    out[1] = symbols_leaf();
    __asm__ volatile("" ::: "memory");
    return out[0];
}

RC_NOINLINE static uintptr_t static_probe(unsigned *line) {
    *line = __LINE__ + 1;
    uintptr_t r = symbols_leaf();
    __asm__ volatile("" ::: "memory");
    return r;
}

/* ---- helpers ----------------------------------------------------------- */

typedef struct answer {
    bool known;
    const char *function;
    const char *file;
    unsigned line;
} answer;

static answer ask(uintptr_t addr) {
    answer a = {false, NULL, NULL, 0};
    a.known = _rc_symbolize(addr, &a.function, &a.file, &a.line);
    return a;
}

/* The answer names function; the file and line are the call's (libdw) or
 * the module is named module (dladdr). */
static void check_answer(answer a, const char *function, const char *source, const char *module,
                         unsigned line) {
    assert_true(a.known);
    assert_non_null(a.function);
    assert_non_null(a.file);
    assert_string_equal(a.function, function);
#if RC_HAVE_LIBDW
    (void)module;
    if (!strstr(a.file, source)) fail_msg("file '%s' is not %s", a.file, source);
    if (a.line + 1 < line || a.line > line + 1) fail_msg("line %u, the call is on line %u", a.line, line);
#else
    (void)source;
    (void)line;
    if (!strstr(a.file, module)) fail_msg("file '%s' is not the module %s", a.file, module);
    assert_int_equal(a.line, 0);
#endif
}

/* ---- tests ------------------------------------------------------------- */

static void test_executable(void **state) {
    (void)state;
    unsigned la, lb;
    uintptr_t a = symbols_probe_a(&la), b = symbols_probe_b(&lb);
    check_answer(ask(a), "symbols_probe_a", "test_symbols.c", "test_symbols", la);
    check_answer(ask(b), "symbols_probe_b", "test_symbols.c", "test_symbols", lb);
}

static void test_static(void **state) {
    (void)state;
#if RC_HAVE_LIBDW
    unsigned line;
    uintptr_t a = static_probe(&line);
    check_answer(ask(a), "static_probe", "test_symbols.c", "test_symbols", line);
#else
    unsigned line;
    (void)static_probe(&line);
    skip(); /* dladdr knows exported functions only */
#endif
}

static void test_libc(void **state) {
    (void)state;
    /* libc's own qsort, not a sanitizer's interceptor of the same name */
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    assert_non_null(libc);
    void *qsort_addr = dlsym(libc, "qsort");
    assert_non_null(qsort_addr);
    answer a = ask((uintptr_t)qsort_addr + 1);
    assert_true(a.known);
    if (!strstr(a.function, "qsort")) fail_msg("qsort + 1 resolved to '%s'", a.function);
    assert_non_null(a.file);
    if (a.line == 0 && !strstr(a.file, "libc")) fail_msg("qsort's module is '%s'", a.file);
    /* further in: the same function (qsort's code is longer than 4 bytes) */
    answer b = ask((uintptr_t)qsort_addr + 4);
    assert_true(b.known);
    assert_ptr_equal(b.function, a.function);
    dlclose(libc);
}

static void test_unknown(void **state) {
    (void)state;
    int on_stack = 0;
    uintptr_t bad[] = {0, 1, 0x10, (uintptr_t)&on_stack, UINTPTR_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (int twice = 0; twice < 2; twice++) { /* the second answer comes from the cache */
            const char *function = "untouched", *file = "untouched";
            unsigned line = 12345;
            assert_false(_rc_symbolize(bad[i], &function, &file, &line));
            assert_string_equal(function, "untouched");
            assert_string_equal(file, "untouched");
            assert_int_equal(line, 12345);
        }
    }
}

static void test_interned(void **state) {
    (void)state;
    unsigned la;
    uintptr_t a = symbols_probe_a(&la);
    answer x = ask(a), y = ask(a);
    assert_true(x.known && y.known);
    assert_ptr_equal(x.function, y.function);
    assert_ptr_equal(x.file, y.file);
    assert_int_equal(x.line, y.line);

    uintptr_t two[2];
    unsigned lines[2];
    symbols_probe_two(two, lines);
    assert_true(two[0] != two[1]);
    answer p = ask(two[0]), q = ask(two[1]);
    check_answer(p, "symbols_probe_two", "test_symbols.c", "test_symbols", lines[0]);
    check_answer(q, "symbols_probe_two", "test_symbols.c", "test_symbols", lines[1]);
    assert_ptr_equal(p.function, q.function);
    assert_ptr_equal(p.file, q.file); /* one file (libdw) or one module */
#if RC_HAVE_LIBDW
    assert_true(p.line < q.line);
#endif
    /* the same file string across functions */
    assert_ptr_equal(p.file, x.file);
}

static void test_reset(void **state) {
    (void)state;
    unsigned la;
    uintptr_t a = symbols_probe_a(&la);
    answer before = ask(a);
    _rc_symbols_reset();
    answer after = ask(a);
    _rc_symbols_reset();
    _rc_symbols_reset();
    answer again = ask(a);
    assert_true(before.known && after.known && again.known);
    assert_ptr_equal(before.function, after.function);
    assert_ptr_equal(before.file, after.file);
    assert_int_equal(before.line, after.line);
    assert_ptr_equal(before.function, again.function);
    assert_ptr_equal(before.file, again.file);
}

typedef uintptr_t (*plugin_probe_fn)(unsigned *line);

static void check_plugin(void) {
    void *h = dlopen(RC_SYMBOLS_PLUGIN, RTLD_NOW | RTLD_LOCAL);
    if (!h) fail_msg("dlopen %s: %s", RC_SYMBOLS_PLUGIN, dlerror());
    plugin_probe_fn probe;
    *(void **)&probe = dlsym(h, "symbols_plugin_probe");
    assert_non_null(probe);
    unsigned line;
    uintptr_t r = probe(&line);
    check_answer(ask(r), "symbols_plugin_probe", "test_symbols_plugin.c", "test_symbols_plugin", line);
    assert_int_equal(dlclose(h), 0);
}

static void test_dlopen(void **state) {
    (void)state;
    unsigned la;
    assert_true(ask(symbols_probe_a(&la)).known); /* the module list is read now */
    check_plugin();
    check_plugin(); /* loaded again after dlclose, maybe elsewhere */
}

/* ---- threads ------------------------------------------------------------ */

#define NTHREADS 8
#define NADDRS 5

static uintptr_t shared_addrs[NADDRS];
static answer shared_expect[NADDRS];
static atomic_int thread_failures;

static void *symbolize_main(void *arg) {
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < 400; i++) {
        if (id == 0 && i % 50 == 0) _rc_symbols_reset();
        size_t k = (size_t)(i + id) % NADDRS;
        answer a = ask(shared_addrs[k]);
        const answer *e = &shared_expect[k];
        if (a.known != e->known || a.function != e->function || a.file != e->file || a.line != e->line) {
            atomic_fetch_add(&thread_failures, 1);
        }
    }
    return NULL;
}

static void test_threads(void **state) {
    (void)state;
    unsigned line, lines[2];
    uintptr_t two[2];
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    assert_non_null(libc);
    shared_addrs[0] = symbols_probe_a(&line);
    shared_addrs[1] = symbols_probe_b(&line);
    symbols_probe_two(two, lines);
    shared_addrs[2] = two[1];
    shared_addrs[3] = (uintptr_t)dlsym(libc, "qsort") + 1;
    shared_addrs[4] = 0x10;
    dlclose(libc);
    for (int i = 0; i < NADDRS; i++) shared_expect[i] = ask(shared_addrs[i]);
    _rc_symbols_reset(); /* the threads race to fill the cache again */
    pthread_t t[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, symbolize_main, (void *)(intptr_t)i), 0);
    }
    for (int i = 0; i < NTHREADS; i++) pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&thread_failures), 0);
    assert_true(shared_expect[0].known && shared_expect[3].known && !shared_expect[4].known);
}

static void *busy_main(void *arg) {
    atomic_int *stop = arg;
    unsigned line;
    uintptr_t a = symbols_probe_b(&line);
    while (!atomic_load(stop)) {
        _rc_symbols_reset();
        (void)ask(a);
    }
    return NULL;
}

static void test_fork(void **state) {
    (void)state;
    unsigned line;
    uintptr_t a = symbols_probe_a(&line);
    answer parent = ask(a);
    assert_true(parent.known);
    atomic_int stop = 0;
    pthread_t busy;
    assert_int_equal(pthread_create(&busy, NULL, busy_main, &stop), 0);
    for (int i = 0; i < 5; i++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            /* the lock is free here even if busy held it at fork */
            answer child = ask(a);
            _exit(child.known && child.function == parent.function && child.file == parent.file ? 0 : 1);
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    atomic_store(&stop, 1);
    pthread_join(busy, NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_executable),
        cmocka_unit_test(test_static),
        cmocka_unit_test(test_libc),
        cmocka_unit_test(test_unknown),
        cmocka_unit_test(test_interned),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_dlopen),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_fork),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
