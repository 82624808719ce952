/*
 * os.c — the heap's only contact with the operating system.
 *
 * Everything the heap takes from the kernel comes through here: aligned
 * mappings for arenas and large blocks, purges (MADV_DONTNEED, so RSS falls
 * at once), unmaps, and mremap for growing large blocks without copying.
 *
 * Alignment. Arenas and large blocks are aligned to 1 MiB so that a block's
 * arena is found by masking its address and a chunk bitmap can say which
 * 1 MiB chunks are ours. The kernel gives page alignment only, so a mapping
 * is first tried at a hint: just below our previous aligned mapping, since
 * Linux hands out mappings from the top down and that range is usually
 * free (one system call). Otherwise size + alignment is mapped and the ends
 * trimmed (three system calls).
 *
 * Accounting. _rc_os_mapped is every byte mapped now; _rc_os_mapped_peak its
 * high-water mark. Both are what rc_heap_stats reports.
 *
 * Failure injection. _rc_os_fail_nth(n) makes the n-th request from now
 * fail as if the kernel said ENOMEM; the OOM test walks n over every
 * allocation path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal/heap.h"

_Atomic(size_t) _rc_os_mapped;
_Atomic(size_t) _rc_os_mapped_peak;

static _Atomic(uintptr_t) os_hint; /* start of our lowest recent aligned mapping */
static _Atomic(size_t) os_requests;
static _Atomic(size_t) os_fail_at; /* request number that fails; 0: none */

size_t _rc_os_page_size(void) {
    static _Atomic(size_t) page;
    size_t p = atomic_load_explicit(&page, memory_order_relaxed);
    if (p == 0) {
        long v = sysconf(_SC_PAGESIZE);
        p = v > 0 ? (size_t)v : 4096;
        atomic_store_explicit(&page, p, memory_order_relaxed);
    }
    return p;
}

size_t _rc_os_fail_nth(size_t n) {
    size_t now = atomic_load(&os_requests);
    atomic_store(&os_fail_at, n == 0 ? 0 : now + n);
    return now;
}

size_t _rc_os_requests(void) { return atomic_load(&os_requests); }

/* Counts a request; true when it must fail. */
static bool os_request_fails(void) {
    size_t n = atomic_fetch_add_explicit(&os_requests, 1, memory_order_relaxed) + 1;
    size_t at = atomic_load_explicit(&os_fail_at, memory_order_relaxed);
    if (RC_UNLIKELY(at != 0 && n == at)) {
        errno = ENOMEM;
        return true;
    }
    return false;
}

static void os_account(size_t add, size_t sub) {
    if (add) {
        size_t now = atomic_fetch_add_explicit(&_rc_os_mapped, add, memory_order_relaxed) + add;
        size_t peak = atomic_load_explicit(&_rc_os_mapped_peak, memory_order_relaxed);
        while (now > peak &&
               !atomic_compare_exchange_weak_explicit(&_rc_os_mapped_peak, &peak, now,
                                                      memory_order_relaxed, memory_order_relaxed)) {
        }
    }
    if (sub) atomic_fetch_sub_explicit(&_rc_os_mapped, sub, memory_order_relaxed);
}

static void *os_mmap(void *hint, size_t size) {
    void *p = mmap(hint, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* An aligned range of address space, mapped read-write; no accounting. */
static void *os_reserve_aligned(size_t size, size_t align) {
    uintptr_t below = atomic_load_explicit(&os_hint, memory_order_relaxed);
    if (below > size + align) {
        uintptr_t hint = (below - size) & ~(uintptr_t)(align - 1);
        void *p = os_mmap((void *)hint, size);
        if (p == (void *)hint) {
            atomic_store_explicit(&os_hint, hint, memory_order_relaxed);
            return p;
        }
        if (p) munmap(p, size);
    }
    size_t over = size + align - _rc_os_page_size();
    uint8_t *raw = os_mmap(NULL, over);
    if (!raw) {
        errno = ENOMEM;
        return NULL;
    }
    uintptr_t start = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
    size_t front = start - (uintptr_t)raw;
    size_t back = over - front - size;
    if (front) munmap(raw, front);
    if (back) munmap((void *)(start + size), back);
    atomic_store_explicit(&os_hint, start, memory_order_relaxed);
    return (void *)start;
}

void *_rc_os_map_aligned(size_t size, size_t align) {
    if (os_request_fails()) return NULL;
    void *p = os_reserve_aligned(size, align);
    if (p) os_account(size, 0);
    return p;
}

void _rc_os_unmap(void *p, size_t size) {
    if (!p || !size) return;
    munmap(p, size);
    os_account(0, size);
}

void _rc_os_purge(void *p, size_t size) {
    if (size) madvise(p, size, MADV_DONTNEED);
}

void _rc_os_hugepages(void *p, size_t size) {
#ifdef MADV_HUGEPAGE
    if (size) madvise(p, size, MADV_HUGEPAGE);
#else
    (void)p, (void)size;
#endif
}

void *_rc_os_remap(void *p, size_t old_size, size_t new_size, size_t align) {
    if (new_size <= old_size) {
        if (new_size < old_size) {
            munmap((uint8_t *)p + new_size, old_size - new_size);
            os_account(0, old_size - new_size);
        }
        return p;
    }
    if (os_request_fails()) return NULL;
    void *q = mremap(p, old_size, new_size, 0);
    if (q != MAP_FAILED) {
        os_account(new_size - old_size, 0);
        return p;
    }
    void *target = os_reserve_aligned(new_size, align);
    if (!target) return NULL;
    q = mremap(p, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, target);
    if (q == MAP_FAILED) {
        munmap(target, new_size);
        errno = ENOMEM;
        return NULL;
    }
    os_account(new_size - old_size, 0);
    return q;
}
