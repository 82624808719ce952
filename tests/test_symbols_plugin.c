/*
 * test_symbols_plugin.c — a module test_symbols dlopens after the
 * symbolizer has read the module list, to check that it notices.
 */
#include <stdint.h>

uintptr_t symbols_plugin_probe(unsigned *line);

static volatile int leaf_calls; /* not a const function: calls stay calls */

__attribute__((noinline)) static uintptr_t plugin_leaf(void) {
    leaf_calls++;
    return (uintptr_t)__builtin_return_address(0);
}

/* The return address of a call in this function, and that call's line. */
__attribute__((noinline)) uintptr_t symbols_plugin_probe(unsigned *line) {
    *line = __LINE__ + 1;
    uintptr_t r = plugin_leaf();
    __asm__ volatile("" ::: "memory");
    return r;
}
