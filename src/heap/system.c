/*
 * system.c — RECLAIM_MALLOC=malloc: every block comes from the C library's
 * own allocator (glibc's __libc_* entry points, which stay reachable even
 * when libreclaim-malloc.so replaces malloc), so Valgrind and other tools
 * see each block exactly as the program asked for it.
 *
 * A table of live blocks (ptrmap.c) keeps the heap API's promises that the
 * C library cannot: rc_owns answers for any pointer value, rc_usable_size
 * is the size asked for, and a free of a pointer we never gave out is
 * reported instead of corrupting glibc's heap.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "internal/heap.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *p);

static pthread_mutex_t sys_lock = PTHREAD_MUTEX_INITIALIZER;
static rc_ptrmap sys_live; /* block -> (size asked for, 0) */

void *_rc_system_malloc(size_t size, size_t alignment, bool zero) {
    pthread_mutex_lock(&sys_lock);
    bool room = _rc_ptrmap_reserve(&sys_live);
    pthread_mutex_unlock(&sys_lock);
    if (!room) {
        errno = ENOMEM;
        return NULL;
    }
    size_t n = size ? size : 1;
    void *p = alignment > RC_ALIGNMENT ? __libc_memalign(alignment, n) : zero ? __libc_calloc(1, n) : __libc_malloc(n);
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    if (zero && alignment > RC_ALIGNMENT) memset(p, 0, n);
    pthread_mutex_lock(&sys_lock);
    _rc_ptrmap_put(&sys_live, (uintptr_t)p, n, 0);
    pthread_mutex_unlock(&sys_lock);
    return p;
}

static bool take(void *p, const char *fn) {
    pthread_mutex_lock(&sys_lock);
    rc_ptrmap_entry *e = _rc_ptrmap_get(&sys_live, (uintptr_t)p);
    if (e) _rc_ptrmap_del(&sys_live, e);
    pthread_mutex_unlock(&sys_lock);
    if (!e) {
        _rc_set_error("%s: %p was not allocated by reclaim (ignored)", fn, p);
        _rc_message("reclaim: %s: %p was not allocated by reclaim (ignored)", fn, p);
    }
    return e != NULL;
}

void _rc_system_free(void *p) {
    if (take(p, "rc_free")) __libc_free(p);
}

void *_rc_system_realloc(void *p, size_t size) {
    if (!p) return _rc_system_malloc(size, RC_ALIGNMENT, false);
    pthread_mutex_lock(&sys_lock);
    rc_ptrmap_entry *e = _rc_ptrmap_get(&sys_live, (uintptr_t)p);
    bool room = _rc_ptrmap_reserve(&sys_live);
    pthread_mutex_unlock(&sys_lock);
    if (!e) {
        _rc_set_error("rc_realloc: %p was not allocated by reclaim", p);
        errno = EINVAL;
        return NULL;
    }
    if (!room) {
        errno = ENOMEM;
        return NULL;
    }
    void *q = __libc_realloc(p, size ? size : 1);
    if (!q) {
        errno = ENOMEM;
        return NULL;
    }
    pthread_mutex_lock(&sys_lock);
    e = _rc_ptrmap_get(&sys_live, (uintptr_t)p);
    if (e) _rc_ptrmap_del(&sys_live, e);
    _rc_ptrmap_put(&sys_live, (uintptr_t)q, size ? size : 1, 0);
    pthread_mutex_unlock(&sys_lock);
    return q;
}

size_t _rc_system_usable(const void *p) {
    pthread_mutex_lock(&sys_lock);
    rc_ptrmap_entry *e = _rc_ptrmap_get(&sys_live, (uintptr_t)p);
    size_t n = e ? e->a : 0;
    pthread_mutex_unlock(&sys_lock);
    return n;
}

bool _rc_system_owns(const void *p) {
    pthread_mutex_lock(&sys_lock);
    bool yes = _rc_ptrmap_get(&sys_live, (uintptr_t)p) != NULL;
    pthread_mutex_unlock(&sys_lock);
    return yes;
}

void _rc_system_fork_prepare(void) { pthread_mutex_lock(&sys_lock); }
void _rc_system_fork_parent(void) { pthread_mutex_unlock(&sys_lock); }
void _rc_system_fork_child(void) { pthread_mutex_init(&sys_lock, NULL); }
