/*
 * main.c — a program outside the reclaim tree, built against an installed
 * reclaim (tests/install/run.sh): through the CMake package, shared and
 * static, and through pkg-config. Exits 0 and prints one "ok" line when the
 * installed header and library work together.
 *
 * RECLAIM_EXPECTED_VERSION (a string literal) is the version the build
 * system reported: the CMake package's reclaim_VERSION or pkg-config's
 * --modversion. LINK_KIND names the way this executable was linked.
 */
#include <reclaim.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifndef RECLAIM_EXPECTED_VERSION
#error "build with -DRECLAIM_EXPECTED_VERSION=\"x.y.z\""
#endif
#ifndef LINK_KIND
#define LINK_KIND "unknown"
#endif

static int failures;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: check failed: %s (%s)\n", __FILE__, __LINE__, #cond, \
                    rc_last_error());                                                    \
            failures++;                                                                  \
        }                                                                                \
    } while (0)

enum { N = 1000, LARGE = 1 << 20 };

int main(void) {
    /* The version: library, header and build system agree. */
    CHECK(strcmp(rc_version(), RC_VERSION_STRING) == 0);
    CHECK(strcmp(rc_version(), RECLAIM_EXPECTED_VERSION) == 0);

    rc_heap_stats before, mid, after;
    rc_heap_get_stats(&before);

    static void *blocks[N];
    for (size_t i = 0; i < N; i++) {
        size_t size = i * 37 % 4000 + 1;
        blocks[i] = rc_malloc(size);
        CHECK(blocks[i] != NULL);
        if (!blocks[i]) return 1;
        CHECK((uintptr_t)blocks[i] % RC_ALIGNMENT == 0);
        CHECK(rc_usable_size(blocks[i]) >= size);
        CHECK(rc_owns(blocks[i]));
        memset(blocks[i], (int)(i & 0xff), size);
    }
    unsigned char *large = rc_malloc(LARGE);
    CHECK(large != NULL);
    if (!large) return 1;
    memset(large, 0x5a, LARGE);

    unsigned char *zeroed = rc_calloc(100, 10);
    CHECK(zeroed != NULL);
    for (size_t i = 0; zeroed && i < 1000; i++) CHECK(zeroed[i] == 0);
    char *grown = rc_malloc(10);
    CHECK(grown != NULL);
    memcpy(grown, "reclaim!!", 10);
    grown = rc_realloc(grown, 100000);
    CHECK(grown != NULL && memcmp(grown, "reclaim!!", 10) == 0);

    rc_heap_get_stats(&mid);
    CHECK(mid.blocks_in_use >= before.blocks_in_use + N + 3);
    CHECK(mid.bytes_in_use >= before.bytes_in_use + LARGE);
    CHECK(mid.large_blocks >= before.large_blocks + 1);
    CHECK(mid.bytes_mapped >= mid.bytes_in_use);
    CHECK(mid.bytes_peak >= mid.bytes_in_use);
    CHECK(mid.threads >= 1);
    CHECK(mid.classes[0].block_size == 16);
    CHECK(mid.classes[0].blocks_in_use >= 1);

    for (size_t i = 0; i < N; i++) {
        CHECK(((unsigned char *)blocks[i])[0] == (unsigned char)(i & 0xff));
        rc_free(blocks[i]);
    }
    CHECK(large[LARGE - 1] == 0x5a);
    rc_free(large);
    rc_free(zeroed);
    rc_free(grown);
    rc_free(NULL);

    rc_heap_get_stats(&after);
    CHECK(after.blocks_in_use + N + 3 <= mid.blocks_in_use);
    CHECK(after.bytes_in_use + LARGE <= mid.bytes_in_use);
    CHECK(after.large_blocks + 1 <= mid.large_blocks);
    CHECK(after.bytes_peak >= mid.bytes_in_use);

    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("reclaim %s (%s): ok\n", rc_version(), LINK_KIND);
    return 0;
}
