/*
 * unwind_nofp.c — functions built without frame pointers, for test_unwind
 * (tests/prof.cmake builds this file with -fomit-frame-pointer and
 * -mno-red-zone). nofp_a -> nofp_b -> nofp_c allocate through rc_malloc:
 * a frame-pointer walk from the allocation skips their frames (no frame
 * records them), and when nofp_c calls through nofp_garbage_rbp, which
 * loads a frame pointer that points nowhere before the call, the walk
 * breaks at once. libunwind reads their unwind tables (.eh_frame) instead.
 */
#include <stddef.h>

void *rc_malloc(size_t size); /* the function, not reclaim.h's call-site macro */

void *nofp_garbage_rbp(size_t n);
void *nofp_c(size_t n, int garbage);
void *nofp_b(size_t n, int garbage);
void *nofp_a(size_t n, int garbage);

/* rc_malloc(n) with rbp = 8 (no stack is there) during the call; the CFI
 * directives keep the unwind tables true across the push. */
__attribute__((noinline)) void *nofp_garbage_rbp(size_t n) {
    void *r;
    __asm__ volatile("push %%rbp\n\t"
                     ".cfi_adjust_cfa_offset 8\n\t"
                     ".cfi_rel_offset %%rbp, 0\n\t"
                     "mov $8, %%rbp\n\t"
                     "call rc_malloc\n\t"
                     "pop %%rbp\n\t"
                     ".cfi_adjust_cfa_offset -8\n\t"
                     ".cfi_restore %%rbp\n\t"
                     : "=a"(r), "+D"(n)
                     :
                     : "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
                       "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
                       "memory", "cc");
    return r;
}

#define KEEP() __asm__ volatile("" ::: "memory") /* no tail call: the frame stays */

__attribute__((noinline)) void *nofp_c(size_t n, int garbage) {
    void *p = garbage ? nofp_garbage_rbp(n) : rc_malloc(n);
    KEEP();
    return p;
}

__attribute__((noinline)) void *nofp_b(size_t n, int garbage) {
    void *p = nofp_c(n + 16, garbage);
    KEEP();
    return p;
}

__attribute__((noinline)) void *nofp_a(size_t n, int garbage) {
    void *p = nofp_b(n + 16, garbage);
    KEEP();
    return p;
}
