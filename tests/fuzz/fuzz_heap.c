/*
 * fuzz_heap.c — a fuzz target for the heap API, checked against a model.
 *
 * The input is a program: each step is one op byte followed by its operands
 * (missing bytes read as 0). The ops work on 64 slots:
 *
 *   malloc(slot, size)            calloc(slot, count, size)
 *   free(slot)                    aligned_alloc(slot, alignment, size)
 *   realloc(slot, size)           foreign: pointers the heap never gave out
 *   bad: arguments that must fail cleanly (bad alignment, overflow, huge)
 *   check: every live slot        trim/validate: rc_heap_trim, _rc_heap_validate
 *
 * foreign uses a stack variable, a static one, or a pointer 16 bytes into a
 * live block: rc_owns is false, rc_usable_size 0, rc_realloc fails with
 * EINVAL, and rc_free reports it (through a message handler) and changes
 * nothing.
 *
 * Sizes cover 0, the small classes, both sides of every class boundary,
 * medium sizes and, now and then, large blocks mapped from the OS.
 *
 * The model keeps, per slot, the block, the size asked for, the alignment
 * asked for, the usable size reported at allocation and a fill byte: the
 * whole usable range is written with the fill byte, so a usable size that
 * overstates the block shows up as a neighbour's changed contents. After
 * every step the touched blocks are checked: contents, rc_usable_size >=
 * size (and stable), alignment, rc_owns, no overlap with any other live
 * block. At the end every slot is freed, the heap must validate and
 * rc_heap_get_stats().blocks_in_use and bytes_in_use must be back where they
 * were before the input ran.
 *
 * Built two ways (tests/fuzz.cmake): a libFuzzer binary (clang,
 * RECLAIM_FUZZ=ON), and always a replay driver (RC_FUZZ_REPLAY_MAIN) that
 * feeds 2000 pseudo-random inputs from a fixed seed, or the files and
 * directories named on its command line (a crash input from libFuzzer), and
 * writes a seed corpus with --write-corpus DIR.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal/heap.h"
#include "reclaim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SLOTS 64
#define MAX_STEPS 4096
#define LARGE_MAX ((size_t)5 << 18) /* 1.25 MiB */

typedef struct slot {
    uint8_t *p;     /* NULL: empty */
    size_t size;    /* bytes asked for */
    size_t align;   /* alignment asked for (16 at least) */
    size_t usable;  /* rc_usable_size at allocation */
    uint8_t fill;   /* every usable byte holds it */
} slot;

static slot slots[SLOTS];
static uint8_t next_fill = 1;

/* Messages from the library, captured by our handler. */
static size_t messages, messages_expected;
static char last_message[512];

/* Where we are, for failure reports. */
static size_t cur_step;
static const char *cur_op = "start";

static void on_message(const char *m, void *arg) {
    (void)arg;
    messages++;
    snprintf(last_message, sizeof last_message, "%s", m);
}

static _Noreturn void fail(int line, const char *what) {
    fprintf(stderr, "fuzz_heap: check failed at line %d: %s\n  step %zu, op %s\n  rc_last_error: %s\n", line, what,
            cur_step, cur_op, rc_last_error());
    if (messages) fprintf(stderr, "  last library message: %s\n", last_message);
    fflush(stderr);
    abort();
}

#define CHECK(cond)                                                                                                   \
    do {                                                                                                              \
        if (!(cond)) fail(__LINE__, #cond);                                                                           \
    } while (0)

/* {==== reading the program ==== */

typedef struct reader {
    const uint8_t *d;
    size_t n, i;
} reader;

static uint8_t u8(reader *r) { return r->i < r->n ? r->d[r->i++] : 0; }

static uint16_t u16(reader *r) {
    unsigned lo = u8(r);
    return (uint16_t)(lo | (unsigned)u8(r) << 8);
}

static size_t take_size(reader *r) {
    uint8_t b = u8(r);
    unsigned hi = b >> 3;
    switch (b & 7) {
    case 0: return 0;
    case 1:
    case 2:
    case 3: return 1 + u16(r) % RC_SMALL_MAX;
    case 4: /* a class boundary, minus one, exact or plus one */
        return _rc_class_size[u8(r) % RC_SIZE_CLASSES] - 1 + hi % 3;
    case 5:
    case 6: /* medium, skewed towards the small end */
        return RC_SMALL_MAX + 1 + (((size_t)u16(r) << 2) >> (hi & 7)) % (RC_MEDIUM_MAX - RC_SMALL_MAX);
    default:
        if (hi % 16 == 0) /* now and then a large block */
            return RC_MEDIUM_MAX + 1 + ((size_t)u16(r) * 19) % (LARGE_MAX - RC_MEDIUM_MAX);
        return 1 + u16(r) % 4096;
    }
}
/* }==== */

/* {==== the model ==== */

/* All n bytes at p are b: p[0] == b and every byte equals the next one.
 * One memcmp, so libFuzzer's comparison hooks see one call, not n. */
static bool bytes_are(const uint8_t *p, size_t n, uint8_t b) {
    return n == 0 || (p[0] == b && memcmp(p, p + 1, n - 1) == 0);
}

static void check_slot(const slot *s) {
    if (!s->p) return;
    CHECK((uintptr_t)s->p % RC_ALIGNMENT == 0);
    CHECK((uintptr_t)s->p % s->align == 0);
    CHECK(rc_owns(s->p));
    size_t u = rc_usable_size(s->p);
    CHECK(u >= s->size);
    CHECK(u == s->usable);
    CHECK(bytes_are(s->p, s->size, s->fill));
}

static size_t extent(const slot *s) { return s->usable ? s->usable : 1; }

static void check_overlap(unsigned i) {
    const slot *a = &slots[i];
    if (!a->p) return;
    uintptr_t a0 = (uintptr_t)a->p, a1 = a0 + extent(a);
    for (unsigned j = 0; j < SLOTS; j++) {
        const slot *b = &slots[j];
        if (j == i || !b->p) continue;
        uintptr_t b0 = (uintptr_t)b->p, b1 = b0 + extent(b);
        CHECK(a1 <= b0 || b1 <= a0);
    }
}

/* Put a new block into slot i: check it, then fill its usable bytes. */
static void install(unsigned i, void *p, size_t size, size_t align, bool zeroed) {
    CHECK(p != NULL);
    slot *s = &slots[i];
    s->p = p;
    s->size = size;
    s->align = align < RC_ALIGNMENT ? RC_ALIGNMENT : align;
    s->usable = rc_usable_size(p);
    CHECK(s->usable >= size);
    if (zeroed) CHECK(bytes_are(p, size, 0));
    s->fill = next_fill;
    next_fill = (uint8_t)(next_fill * 5 + 3);
    memset(p, s->fill, s->usable);
    check_slot(s);
    check_overlap(i);
}

static void release(unsigned i) {
    slot *s = &slots[i];
    if (!s->p) return;
    check_slot(s);
    rc_free(s->p);
    memset(s, 0, sizeof *s);
}
/* }==== */

/* {==== ops ==== */

static void op_malloc(reader *r) {
    cur_op = "malloc";
    unsigned i = u8(r) % SLOTS;
    size_t n = take_size(r);
    release(i);
    install(i, rc_malloc(n), n, RC_ALIGNMENT, false);
}

static void op_free(reader *r) {
    cur_op = "free";
    release(u8(r) % SLOTS);
}

static void op_realloc(reader *r) {
    cur_op = "realloc";
    unsigned i = u8(r) % SLOTS;
    size_t n = take_size(r);
    slot *s = &slots[i];
    slot old = *s;
    check_slot(&old);
    uint8_t *q = rc_realloc(old.p, n);
    CHECK(q != NULL);
    size_t keep = old.p ? (old.size < n ? old.size : n) : 0;
    CHECK(bytes_are(q, keep, old.fill));
    s->p = q;
    s->size = n;
    s->align = RC_ALIGNMENT;
    s->usable = rc_usable_size(q);
    CHECK(s->usable >= n);
    s->fill = old.p ? old.fill : next_fill++;
    if (s->fill == 0) s->fill = 0x5A;
    memset(q, s->fill, s->usable);
    check_slot(s);
    check_overlap(i);
}

static void op_aligned(reader *r) {
    cur_op = "aligned_alloc";
    unsigned i = u8(r) % SLOTS;
    size_t align = (size_t)1 << (u8(r) % 21); /* 1 .. 1 MiB */
    size_t n = take_size(r);
    release(i);
    void *p = rc_aligned_alloc(align, n);
    install(i, p, n, align, false);
}

static void op_calloc(reader *r) {
    cur_op = "calloc";
    unsigned i = u8(r) % SLOTS;
    size_t count = u8(r) % 17;
    size_t elem = take_size(r) / (count ? count : 1);
    release(i);
    install(i, rc_calloc(count, elem), count * elem, RC_ALIGNMENT, true);
}

static uint64_t static_words[8];

static void op_foreign(reader *r) {
    cur_op = "foreign";
    uint64_t local[4] = {0};
    uint8_t b = u8(r);
    void *p;
    switch (b % 3) {
    case 0: p = &local[b % 4]; break;
    case 1: p = &static_words[b % 8]; break;
    default: {
        /* Inside a live block: never the start of one when the block is at
         * least 32 bytes (its class holds blocks of 32 bytes or more). */
        slot *s = &slots[u8(r) % SLOTS];
        if (!s->p || s->usable < 32) return;
        p = s->p + 16;
        CHECK(!rc_owns(p));
        CHECK(rc_usable_size(p) == 0);
        errno = 0;
        CHECK(rc_realloc(p, 10) == NULL);
        CHECK(errno == EINVAL);
        rc_free(p); /* reported and ignored: the block stays as it was */
        messages_expected++;
        CHECK(messages == messages_expected);
        CHECK(strstr(last_message, "not allocated by reclaim") != NULL);
        check_slot(s);
        return;
    }
    }
    CHECK(!rc_owns(p));
    CHECK(rc_usable_size(p) == 0);
    errno = 0;
    CHECK(rc_realloc(p, 10) == NULL);
    CHECK(errno == EINVAL);
    rc_free(p);
    messages_expected++;
    CHECK(messages == messages_expected);
    CHECK(strstr(last_message, "not allocated by reclaim") != NULL);
    CHECK(strstr(rc_last_error(), "not allocated by reclaim") != NULL);
    CHECK(local[0] == 0 && local[3] == 0);
}

static void op_bad(reader *r) {
    cur_op = "bad arguments";
    static const size_t bad_align[] = {0, 3, 24, 48, 1000, (size_t)2 << 20, SIZE_MAX};
    uint8_t b = u8(r);
    switch (b % 5) {
    case 0:
        errno = 0;
        CHECK(rc_aligned_alloc(bad_align[(b >> 3) % 7], take_size(r)) == NULL);
        CHECK(errno == EINVAL);
        break;
    case 1:
        errno = 0;
        CHECK(rc_calloc(SIZE_MAX / 16 + 1 + (b >> 3), 16 + (b >> 5)) == NULL);
        CHECK(errno == ENOMEM);
        break;
    case 2:
        errno = 0;
        CHECK(rc_malloc(SIZE_MAX - (b >> 3)) == NULL);
        CHECK(errno == ENOMEM);
        errno = 0;
        CHECK(rc_aligned_alloc((size_t)64 << (b >> 6), SIZE_MAX - 8) == NULL);
        CHECK(errno == ENOMEM);
        break;
    case 3: { /* a failed realloc leaves the block as it was */
        slot *s = &slots[u8(r) % SLOTS];
        if (!s->p) return;
        errno = 0;
        CHECK(rc_realloc(s->p, SIZE_MAX - (b >> 3)) == NULL);
        CHECK(errno == ENOMEM);
        check_slot(s);
        break;
    }
    default:
        rc_free(NULL);
        CHECK(!rc_owns(NULL));
        CHECK(rc_usable_size(NULL) == 0);
        break;
    }
}

static void op_check_all(void) {
    cur_op = "check all";
    for (unsigned i = 0; i < SLOTS; i++) {
        check_slot(&slots[i]);
        check_overlap(i);
    }
}

static void op_trim(reader *r) {
    cur_op = "trim/validate";
    uint8_t b = u8(r);
    if ((b & 3) == 0) rc_heap_trim();
    if ((b & 0x30) == 0 || (b & 3) == 0) CHECK(_rc_heap_validate()); /* it walks every free list */
}
/* }==== */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bool ready;
    if (!ready) {
        rc_set_message_handler(on_message, NULL);
        ready = true;
    }
    rc_heap_stats base;
    rc_heap_get_stats(&base); /* also starts the heap: the class table is ready */
    messages_expected = messages;
    reader r = {data, size, 0};
    cur_step = 0;
    while (r.i < r.n && cur_step < MAX_STEPS) {
        uint8_t op = u8(&r);
        switch (op % 16) {
        case 0:
        case 1:
        case 2:
        case 3: op_malloc(&r); break;
        case 4:
        case 5:
        case 6: op_free(&r); break;
        case 7:
        case 8:
        case 9: op_realloc(&r); break;
        case 10: op_aligned(&r); break;
        case 11: op_calloc(&r); break;
        case 12: op_foreign(&r); break;
        case 13: op_bad(&r); break;
        case 14: op_check_all(); break;
        default: op_trim(&r); break;
        }
        CHECK(messages == messages_expected); /* no report we did not ask for */
        cur_step++;
    }
    cur_op = "final free";
    op_check_all();
    for (unsigned i = 0; i < SLOTS; i++) release(i);
    CHECK(_rc_heap_validate());
    rc_heap_stats end;
    rc_heap_get_stats(&end);
    CHECK(end.blocks_in_use == base.blocks_in_use);
    CHECK(end.bytes_in_use == base.bytes_in_use);
    CHECK(messages == messages_expected);
    return 0;
}

#ifdef RC_FUZZ_REPLAY_MAIN
/* {==== the replay driver (fuzz_replay.h) ==== */
#define FUZZ_REPLAY_SEED 0x5EED5EED12345678ull
#include "fuzz_replay.h"

int main(int argc, char **argv) {
    int status = fuzz_replay_args(argc, argv, "fuzz_heap_replay");
    if (status >= 0) return status;
    size_t steps = fuzz_replay_inputs(2000, &cur_step);
    printf("fuzz_heap_replay: 2000 inputs, %zu steps, all checks passed\n", steps);
    return 0;
}
/* }==== */
#endif
