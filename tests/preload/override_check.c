/*
 * override_check.c — the drop-in library's C-library contracts, checked from
 * a plain program run under LD_PRELOAD=libreclaim-malloc.so (so malloc and
 * friends below are reclaim's). Exits 0 when every check holds, 1 and a
 * message per failed check otherwise, 77 when reclaim is not preloaded.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;
#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "override_check: line %d: %s\n", __LINE__, #cond); \
            failures++;                                                    \
        }                                                                  \
    } while (0)

static int aligned(const void *p, size_t a) { return p && ((uintptr_t)p % a) == 0; }

int main(void) {
    if (!dlsym(RTLD_DEFAULT, "rc_malloc")) {
        fprintf(stderr, "override_check: libreclaim-malloc.so is not preloaded\n");
        return 77;
    }
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    /* posix_memalign: any power of two that is a multiple of sizeof(void *),
     * beyond the heap API's 1 MiB too; its error is returned, not in errno */
    for (size_t a = sizeof(void *); a <= ((size_t)8 << 20); a *= 2) {
        void *p = NULL;
        CHECK(posix_memalign(&p, a, 100) == 0 && aligned(p, a));
        free(p);
    }
    void *p = (void *)1;
    CHECK(posix_memalign(&p, 24, 100) == EINVAL && p == (void *)1);
    CHECK(posix_memalign(&p, 4, 100) == EINVAL);

    /* aligned_alloc: powers of two; others fail with EINVAL */
    void *a = aligned_alloc((size_t)4 << 20, 5000);
    CHECK(aligned(a, (size_t)4 << 20));
    free(a);
    volatile size_t odd = 48;
    errno = 0;
    CHECK(aligned_alloc(odd, 100) == NULL && errno == EINVAL);

    /* memalign rounds a non-power-of-two alignment up, as glibc does */
    void *m = memalign(odd, 100);
    CHECK(aligned(m, 64));
    free(m);
    errno = 0;
    volatile size_t too_big = ((size_t)1 << 63) + 1;
    CHECK(memalign(too_big, 10) == NULL && errno == EINVAL);

    /* valloc / pvalloc: page aligned; pvalloc rounds the size up to pages */
    void *v = valloc(10);
    CHECK(aligned(v, page));
    free(v);
    void *pv = pvalloc(page + 1);
    CHECK(aligned(pv, page) && malloc_usable_size(pv) >= 2 * page);
    free(pv);

    /* reallocarray: overflow is ENOMEM and leaves the block alone */
    /* (volatile: the compiler must not see these bad calls coming) */
    volatile size_t huge = SIZE_MAX / 2;
    char *volatile kept = malloc(8);
    memcpy(kept, "reclaim", 8);
    errno = 0;
    CHECK(reallocarray(kept, huge, 4) == NULL && errno == ENOMEM);
    CHECK(memcmp(kept, "reclaim", 8) == 0);
    char *r = reallocarray(kept, 100, 10);
    CHECK(r && memcmp(r, "reclaim", 8) == 0 && malloc_usable_size(r) >= 1000);
    free(r);

    /* malloc_usable_size, calloc overflow, malloc(0) */
    CHECK(malloc_usable_size(NULL) == 0);
    errno = 0;
    CHECK(calloc(huge, 16) == NULL && errno == ENOMEM);
    void *z1 = malloc(0), *z2 = malloc(0);
    CHECK(z1 && z2 && z1 != z2);
    free(z1);
    free(z2);

    if (failures) return 1;
    printf("override_check: all checks passed\n");
    return 0;
}
