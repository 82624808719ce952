/*
 * test_unwind.c — tracebacks through code built without frame pointers
 * (RECLAIM_TRACE_UNWIND, src/prof/trace.c): the frame-pointer walk skips
 * such frames, or breaks where one holds a stray value; `auto` then falls
 * back to libunwind, `libunwind` always uses it, `fp` never does. The
 * functions without frame pointers are in unwind_nofp.c. Each case runs
 * this binary again as a child with RECLAIM_TRACE_UNWIND set (options are
 * read once, at start-up), which prints the traceback's function names.
 * Skipped, saying so, when libunwind.so.8 (Debian's libunwind8) is absent.
 */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "reclaim.h"

void *nofp_a(size_t n, int garbage);

static char self[4096];

/* The child: trace 16 frames, allocate through the functions without
 * frame pointers, print the traceback's function names. */
__attribute__((noinline)) static int child(int garbage) {
    if (rc_trace_start(16) != 0) return 3;
    void *p = nofp_a(32, garbage);
    rc_frame frames[16];
    unsigned n = rc_trace_site_of(p, frames, 16);
    printf("depth %u:", n);
    for (unsigned i = 0; i < n && i < 16; i++) printf(" %s", frames[i].function);
    printf("\n");
    rc_free(p);
    __asm__ volatile("" ::: "memory"); /* no tail call: the frame stays */
    return 0;
}

/* Run the child with RECLAIM_TRACE_UNWIND=mode; its output in out. */
static void run(const char *mode, int garbage, char *out, size_t size) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "RECLAIM_TRACE_UNWIND=%s '%s' --child %d", mode, self, garbage);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t len = fread(out, 1, size - 1, f);
    out[len] = '\0';
    int status = pclose(f);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail_msg("child (%s) status %d: %s", mode, status, out);
    printf("  %s, %s: %s", mode, garbage ? "stray frame pointer" : "no frame pointers", out);
}

static int have_libunwind(void **state) {
    (void)state;
    void *lib = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        printf("libunwind.so.8 is not installed (Debian package libunwind8): skipping\n");
        return -1;
    }
    dlclose(lib);
    return 0;
}

/* A frame pointer that points nowhere breaks the walk: auto falls back. */
static void test_auto_falls_back(void **state) {
    (void)state;
    char out[4096];
    run("auto", 1, out, sizeof out);
    assert_non_null(strstr(out, " nofp_c"));
    assert_non_null(strstr(out, " nofp_b"));
    assert_non_null(strstr(out, " nofp_a"));
    assert_non_null(strstr(out, " child"));
}

/* fp alone stops at the stray frame pointer: frame 0 only. */
static void test_fp_stops(void **state) {
    (void)state;
    char out[4096];
    run("fp", 1, out, sizeof out);
    assert_non_null(strstr(out, "depth 1:"));
    assert_null(strstr(out, " nofp_b"));
}

/* Frames without frame pointers are skipped by the walk without breaking
 * it (fp and auto lose them); libunwind finds every one. */
static void test_libunwind_finds_all(void **state) {
    (void)state;
    char out[4096];
    run("fp", 0, out, sizeof out);
    assert_null(strstr(out, " nofp_b"));
    assert_null(strstr(out, " nofp_a"));
    run("libunwind", 0, out, sizeof out);
    assert_non_null(strstr(out, " nofp_b"));
    assert_non_null(strstr(out, " nofp_a"));
    assert_non_null(strstr(out, " child"));
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "--child") == 0) return child(atoi(argv[2]));
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return 1;
    self[n] = '\0';
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auto_falls_back),
        cmocka_unit_test(test_fp_stops),
        cmocka_unit_test(test_libunwind_finds_all),
    };
    return cmocka_run_group_tests(tests, have_libunwind, NULL);
}
