/*
 * system.c — RECLAIM_MALLOC=malloc: every block comes from the C library's
 * own allocator (glibc's __libc_* entry points, which stay reachable even
 * when libreclaim-malloc.so replaces malloc), so Valgrind and other tools
 * see each block exactly as the program asked for it.
 *
 * A table of live blocks (ptrmap.c) keeps the heap API's promises that the
 * C library cannot: rc_owns answers for any pointer value, rc_usable_size
 * is the size asked for, and a free of a pointer we never gave out is
 * reported instead of corrupting glibc's heap. An aligned block is carved
 * from a larger __libc_malloc block (the table remembers the start), so
 * only the malloc/calloc/realloc/free family is used: sanitizer runtimes
 * replace __libc_memalign but not __libc_free.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "internal/heap.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

static pthread_mutex_t sys_lock = PTHREAD_MUTEX_INITIALIZER;
static rc_ptrmap sys_live; /* block -> (size asked for (at least 1), start of the glibc block or 0) */

void *_rc_system_malloc(size_t size, size_t alignment, bool zero) {
    pthread_mutex_lock(&sys_lock);
    bool room = _rc_ptrmap_reserve(&sys_live);
    pthread_mutex_unlock(&sys_lock);
    if (!room) {
        errno = ENOMEM;
        return NULL;
    }
    size_t n = size ? size : 1;
    void *raw, *p;
    if (alignment > RC_ALIGNMENT) {
        if (n > SIZE_MAX - alignment || !(raw = __libc_malloc(n + alignment))) goto fail;
        p = (void *)(((uintptr_t)raw + alignment - 1) & ~(uintptr_t)(alignment - 1));
        if (zero) memset(p, 0, n);
    } else {
        raw = p = zero ? __libc_calloc(1, n) : __libc_malloc(n);
        if (!p) goto fail;
    }
    pthread_mutex_lock(&sys_lock);
    _rc_ptrmap_put(&sys_live, (uintptr_t)p, n, raw == p ? 0 : (uintptr_t)raw);
    pthread_mutex_unlock(&sys_lock);
    return p;
fail:
    pthread_mutex_lock(&sys_lock);
    _rc_ptrmap_cancel(&sys_live);
    pthread_mutex_unlock(&sys_lock);
    errno = ENOMEM;
    return NULL;
}

/* Remove p from the table; the glibc block to free, or NULL (reported)
 * when p is not ours. */
static void *take(void *p, const char *fn) {
    void *raw = NULL;
    pthread_mutex_lock(&sys_lock);
    rc_ptrmap_entry *e = _rc_ptrmap_get(&sys_live, (uintptr_t)p);
    if (e) {
        raw = e->b ? (void *)e->b : p;
        _rc_ptrmap_del(&sys_live, e);
    }
    pthread_mutex_unlock(&sys_lock);
    if (!raw) {
        _rc_set_error("%s: %p was not allocated by reclaim (ignored)", fn, p);
        _rc_message("reclaim: %s: %p was not allocated by reclaim (ignored)", fn, p);
    }
    return raw;
}

void _rc_system_free(void *p) {
    void *raw = take(p, "rc_free");
    if (raw) __libc_free(raw);
}

void *_rc_system_realloc(void *p, size_t size) {
    if (!p) return _rc_system_malloc(size, RC_ALIGNMENT, false);
    pthread_mutex_lock(&sys_lock);
    rc_ptrmap_entry *e = _rc_ptrmap_get(&sys_live, (uintptr_t)p);
    size_t old = e ? e->a : 0;
    bool aligned = e && e->b;
    bool room = old && !aligned && _rc_ptrmap_reserve(&sys_live);
    pthread_mutex_unlock(&sys_lock);
    if (!old) {
        _rc_set_error("rc_realloc: %p was not allocated by reclaim", p);
        errno = EINVAL;
        return NULL;
    }
    if (aligned) { /* an aligned block: move it to a plain one */
        void *n = _rc_system_malloc(size, RC_ALIGNMENT, false);
        if (!n) return NULL;
        memcpy(n, p, old < size ? old : size);
        _rc_system_free(p);
        return n;
    }
    if (!room) {
        errno = ENOMEM;
        return NULL;
    }
    void *q = __libc_realloc(p, size ? size : 1);
    pthread_mutex_lock(&sys_lock);
    if (!q) {
        _rc_ptrmap_cancel(&sys_live);
        pthread_mutex_unlock(&sys_lock);
        errno = ENOMEM;
        return NULL;
    }
    e = _rc_ptrmap_get(&sys_live, (uintptr_t)p);
    if (e) _rc_ptrmap_del(&sys_live, e);
    _rc_ptrmap_put(&sys_live, (uintptr_t)q, size ? size : 1, 0);
    pthread_mutex_unlock(&sys_lock);
    return q;
}

size_t _rc_system_usable(const void *p) {
    size_t n = 0;
    return _rc_ptrmap_find(&sys_lock, &sys_live, (uintptr_t)p, &n) ? n : 0;
}

bool _rc_system_owns(const void *p) { return _rc_ptrmap_find(&sys_lock, &sys_live, (uintptr_t)p, NULL); }

void _rc_system_fork_prepare(void) { pthread_mutex_lock(&sys_lock); }
void _rc_system_fork_parent(void) { pthread_mutex_unlock(&sys_lock); }
void _rc_system_fork_child(void) { pthread_mutex_init(&sys_lock, NULL); }
