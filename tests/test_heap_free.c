/*
 * test_heap_free.c — rc_free of NULL and of pointers the heap never gave
 * out: stack, static and glibc-malloc addresses, interior pointers, an
 * arena's header. Such a free is reported (through the message handler, by
 * default on stderr), sets rc_last_error, and changes nothing: the heap
 * still validates and the memory behind the pointer is untouched.
 */
#include <sys/wait.h>

#include "test_heap_util.h"

static char static_buffer[256];

static void test_free_null(void **state) {
    (void)state;
    captured *c = capture_begin();
    rc_free(NULL);
    rc_free(NULL);
    capture_end();
    assert_int_equal(c->count, 0);
    assert_heap_valid();
}

/* Free p, which the heap never gave out; check the report. */
static void check_foreign_free(void *p) {
    void *bad = rc_aligned_alloc(3, 1); /* leaves a different error behind */
    assert_null(bad);
    char addr[32];
    snprintf(addr, sizeof addr, "%p", p);
    captured *c = capture_begin();
    rc_free(p);
    capture_end();
    if (c->count != 1) fail_msg("rc_free(%p): %d messages, want 1", p, c->count);
    if (!strstr(c->text[0], addr) || !strstr(c->text[0], "rc_free"))
        fail_msg("rc_free(%p) reported \"%s\"", p, c->text[0]);
    if (!strstr(rc_last_error(), "rc_free") || !strstr(rc_last_error(), addr))
        fail_msg("rc_free(%p): rc_last_error() is \"%s\"", p, rc_last_error());
    assert_heap_valid();
}

static void test_free_foreign(void **state) {
    (void)state;
    uint8_t on_stack[64];
    fill_pattern(on_stack, sizeof on_stack, 1);
    fill_pattern(static_buffer, sizeof static_buffer, 2);
    libc_blocks lb = libc_blocks_alloc();
    fill_pattern(lb.small, LIBC_SMALL_SIZE, 3);
    fill_pattern(lb.libc, LIBC_SMALL_SIZE, 4);
    fill_pattern(lb.mapped, LIBC_MAPPED_SIZE, 5);

    check_foreign_free(on_stack);
    check_foreign_free(on_stack + 16);
    check_foreign_free(static_buffer);
    check_foreign_free(static_buffer + 32);
    check_foreign_free(lb.small);
    check_foreign_free(lb.libc);
    check_foreign_free(lb.mapped);
    check_foreign_free((void *)(uintptr_t)0x1000);

    assert_pattern(on_stack, sizeof on_stack, 1);
    assert_pattern(static_buffer, sizeof static_buffer, 2);
    assert_pattern(lb.small, LIBC_SMALL_SIZE, 3);
    assert_pattern(lb.libc, LIBC_SMALL_SIZE, 4);
    assert_pattern(lb.mapped, LIBC_MAPPED_SIZE, 5);
    libc_blocks_free(&lb);

    /* The heap works as before. */
    void *p = rc_malloc(100);
    assert_non_null(p);
    rc_free(p);
    assert_heap_valid();
}

/* Addresses inside our own mappings that are no block. */
static void test_free_foreign_inside_heap(void **state) {
    (void)state;
    uint8_t *small = rc_malloc(64);
    uint8_t *large = rc_malloc(3 * MiB);
    assert_non_null(small);
    assert_non_null(large);
    fill_pattern(large, 3 * MiB, 6);
    uint8_t *arena = (uint8_t *)((uintptr_t)small & ~(uintptr_t)(RC_ARENA_SIZE - 1));

    check_foreign_free(arena);          /* the arena header (pool 0) */
    check_foreign_free(arena + 256);
    check_foreign_free(large + 4096);   /* interior of a large block */
    check_foreign_free(large + 16);
    check_foreign_free(large + 2 * MiB); /* a later 1 MiB chunk of it */

    assert_true(rc_owns(large));
    assert_true(rc_usable_size(large) >= 3 * MiB);
    assert_pattern(large, 3 * MiB, 6);
    rc_free(large);
    rc_free(small);
    assert_heap_valid();
}

/* Interior pointers of pooled blocks. Checked in a child process: if the
 * heap took the pointer for a block, the damage stays there. The child's
 * exit status is a mask of what went wrong. */
enum {
    CHILD_NO_REPORT = 1,  /* not exactly one message naming rc_free */
    CHILD_NO_ERROR = 2,   /* rc_last_error does not name rc_free */
    CHILD_INVALID = 4,    /* _rc_heap_validate fails */
    CHILD_HANDED_OUT = 8, /* memory of the live block handed out again */
    CHILD_CLOBBERED = 16, /* the live block's contents changed */
    CHILD_SETUP = 64,
};

static int interior_free_child(size_t size, size_t offset) {
    enum { N = 3000 };
    uint8_t *p = rc_malloc(size);
    uint8_t *keep = rc_malloc(size); /* the pool stays in use either way */
    uint8_t **more = malloc(N * sizeof *more);
    if (!p || !keep || !more) return CHILD_SETUP;
    fill_pattern(p, size, 8);
    void *bad = rc_aligned_alloc(3, 1); /* leaves a different error behind */
    if (bad) return CHILD_SETUP;
    captured *c = capture_begin();
    rc_free(p + offset);
    capture_end();
    int rc = 0;
    if (c->count != 1 || !strstr(c->text[0], "rc_free")) rc |= CHILD_NO_REPORT;
    if (!strstr(rc_last_error(), "rc_free")) rc |= CHILD_NO_ERROR;
    if (!_rc_heap_validate()) rc |= CHILD_INVALID;
    for (int i = 0; i < N; i++) {
        more[i] = rc_malloc(size);
        if (more[i] && more[i] < p + size && more[i] + size > p) rc |= CHILD_HANDED_OUT;
        if (more[i]) memset(more[i], 0, size);
    }
    if (check_pattern(p, size, 8) != size) rc |= CHILD_CLOBBERED;
    if (!(rc & (CHILD_HANDED_OUT | CHILD_CLOBBERED))) {
        for (int i = 0; i < N; i++) rc_free(more[i]);
        rc_free(p);
        rc_free(keep);
        if (!_rc_heap_validate()) rc |= CHILD_INVALID;
    }
    return rc;
}

/* "" when rc_free(p + offset) of a size-byte block is handled right, else
 * what went wrong (in buf). */
static const char *interior_free_problems(size_t size, size_t offset, char *buf, size_t len) {
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(interior_free_child(size, offset));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status)) {
        snprintf(buf, len, "rc_free(p + %zu) of a %zu-byte block: killed by signal %d\n", offset, size,
                 WTERMSIG(status));
        return buf;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : CHILD_SETUP;
    if (code == 0) return "";
    snprintf(buf, len, "rc_free(p + %zu) of a %zu-byte block:%s%s%s%s%s%s\n", offset, size,
             code & CHILD_NO_REPORT ? " not reported;" : "", code & CHILD_NO_ERROR ? " rc_last_error not set;" : "",
             code & CHILD_INVALID ? " heap no longer validates;" : "",
             code & CHILD_HANDED_OUT ? " memory of the live block handed out again;" : "",
             code & CHILD_CLOBBERED ? " the live block was overwritten;" : "", code & CHILD_SETUP ? " setup failed" : "");
    return buf;
}

static void test_free_interior_pointer(void **state) {
    (void)state;
    static const size_t cases[][2] = {{64, 8}, {64, 32}, {512, 256 + 16}, {3000, 16}, {100000, 4096}};
    char report[2048] = "";
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char buf[400];
        const char *r = interior_free_problems(cases[i][0], cases[i][1], buf, sizeof buf);
        strncat(report, r, sizeof report - strlen(report) - 1);
    }
    if (report[0]) fail_msg("interior pointers passed to rc_free:\n%s", report);
}

/* With no handler set, the report goes to stderr. */
/* A block start the heap has not handed out yet (past the carved part of
 * its pool) is not a block: freeing it is reported and changes nothing, so
 * the pool is not returned to its arena while a block in it is live. */
static void test_free_uncarved_block_start(void **state) {
    (void)state;
    void *live = rc_malloc(496);
    assert_non_null(live);
    rc_pool *pool = _rc_pool_of(live);
    assert_non_null(pool);
    uint32_t cap = atomic_load(&pool->capacity);
    assert_true(cap < _rc_pool_reserved(pool)); /* 496-byte blocks: 8 carved of 33 */
    uint8_t *uncarved = _rc_pool_start(pool) + (size_t)cap * 496;
    uint32_t used = atomic_load(&pool->used);
    captured *c = capture_begin();
    rc_free(uncarved);
    capture_end();
    assert_int_equal(c->count, 1);
    assert_non_null(strstr(c->text[0], "not allocated by reclaim"));
    assert_non_null(strstr(rc_last_error(), "not allocated by reclaim"));
    assert_int_equal(atomic_load(&pool->used), used);
    assert_false(rc_owns(uncarved));
    assert_heap_valid();
    for (int i = 0; i < 64; i++) { /* it never comes back from rc_malloc */
        void *q = rc_malloc(496);
        assert_ptr_not_equal(q, uncarved);
        rc_free(q);
    }
    rc_free(live);
    assert_heap_valid();
}

static void test_free_foreign_reports_on_stderr(void **state) {
    (void)state;
    int on_stack = 0;
    stderr_capture cap;
    stderr_capture_begin(&cap);
    rc_free(&on_stack);
    char text[1024];
    size_t n = stderr_capture_end(&cap, text, sizeof text);
    char addr[32];
    snprintf(addr, sizeof addr, "%p", (void *)&on_stack);
    if (n == 0 || !strstr(text, addr) || !strstr(text, "rc_free"))
        fail_msg("stderr after a foreign rc_free: \"%s\"", text);
    assert_int_equal(text[n - 1], '\n');
    assert_heap_valid();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_null),
        cmocka_unit_test(test_free_foreign),
        cmocka_unit_test(test_free_foreign_inside_heap),
        cmocka_unit_test(test_free_interior_pointer),
        cmocka_unit_test(test_free_uncarved_block_start),
        cmocka_unit_test(test_free_foreign_reports_on_stderr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
