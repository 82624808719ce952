/*
 * generators.c — Python's classic generator example, in C with reclaim.
 *
 * The Python original:
 *
 *     def large_range(n):
 *         i = 0
 *         while i < n:
 *             yield i
 *             i += 1
 *
 *     for x in large_range(1000000):
 *         if x % 100000 == 0:
 *             print(x)
 *
 * A reclaim generator is a C function written between RC_GEN_BEGIN and
 * RC_GEN_END; each RC_YIELD hands out one item and suspends the function
 * until the next rc_next. What must survive a yield lives in the
 * generator's locals struct (C locals do not survive it). The generator
 * makes each number only when asked for it, so a million numbers cost the
 * memory of one.
 */
#include <stdint.h>
#include <stdio.h>

#include <reclaim.h>

/* large_range's state across yields: Python's frame locals. */
typedef struct large_range_locals {
    int64_t i, n;
} large_range_locals;

static int large_range_body(void *gen, void **out) {
    large_range_locals *l = rc_gen_locals(gen);
    RC_GEN_BEGIN(gen);
    l->i = 0;
    while (l->i < l->n) {
        RC_YIELD(gen, out, rc_int_new(l->i));
        l->i += 1;
    }
    RC_GEN_END(gen);
}

/* large_range(n): a new generator (a new reference), or NULL. */
static void *large_range(int64_t n) {
    void *gen = rc_gen_new(large_range_body, sizeof(large_range_locals), 0);
    if (gen) ((large_range_locals *)rc_gen_locals(gen))->n = n;
    return gen;
}

int main(void) {
    printf("generators: Python's large_range(n) generator written in C.\n"
           "Each number is made only when the loop asks for it, so the\n"
           "generator costs the same few bytes for a million numbers as for ten.\n\n");

    rc_heap_stats before, during;
    rc_heap_get_stats(&before);

    void *gen = large_range(1000000);
    if (!gen) {
        fprintf(stderr, "large_range: %s\n", rc_last_error());
        return 1;
    }
    void *x;
    int r;
    int64_t count = 0;
    size_t most_in_use = 0;
    /* for x in large_range(1000000): */
    while ((r = rc_next(gen, &x)) == 1) {
        int64_t v = rc_int_value(x);
        if (v % 100000 == 0) {
            printf("%lld\n", (long long)v);
            rc_heap_get_stats(&during);
            if (during.bytes_in_use > most_in_use) most_in_use = during.bytes_in_use;
        }
        rc_decref(x);
        count++;
    }
    if (r < 0) {
        fprintf(stderr, "large_range: %s\n", rc_last_error());
        rc_decref(gen);
        return 1;
    }

    printf("\n%lld numbers yielded by one generator object of %zu bytes;\n"
           "heap in use during the loop: at most %zu bytes (%zu before it).\n"
           "A list of the same million numbers would hold about %zu bytes\n"
           "(a 32-byte int object and an 8-byte pointer per number).\n",
           (long long)count, rc_sizeof(gen), most_in_use, before.bytes_in_use,
           (size_t)1000000 * (32 + 8));
    rc_decref(gen);
    return 0;
}
