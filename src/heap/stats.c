/*
 * stats.c — the heap's statistics: rc_heap_get_stats, the text report
 * shaped like CPython's sys._debugmallocstats(), and the JSON form.
 *
 * Figures come from one walk over the arenas under the arena lock (per
 * class: pools, blocks in use, free blocks) plus the large-block table and
 * the OS layer's mapped-byte counters. A block freed by another thread
 * counts as in use until its owner collects it. The fast paths keep no
 * byte counters (each would cost every malloc and free two instructions),
 * so bytes_peak is the high-water mark of the memory committed to blocks:
 * spans holding blocks plus large blocks, noted whenever the heap takes a
 * span or a large block, and at each stats call.
 */
#include <inttypes.h>
#include <string.h>

#include "internal/heap.h"

static void add_span(rc_pool *pool, void *arg) {
    rc_heap_stats *s = arg;
    rc_heap_class_stats *c = &s->classes[pool->cls];
    uint32_t used = atomic_load_explicit(&pool->used, memory_order_relaxed);
    c->pools++;
    c->blocks_in_use += used;
    c->blocks_free += _rc_pool_reserved(pool) - used;
    s->pools_in_use += pool->npools;
}

static void add_objects(rc_pool *pool, void *arg) {
    const rc_heap *heap = _rc_pool_heap(pool);
    if (heap && heap->objects) *(size_t *)arg += atomic_load_explicit(&pool->used, memory_order_relaxed);
}

size_t _rc_heap_pool_objects(void) {
    size_t n = 0;
    _rc_heap_init();
    pthread_mutex_lock(&_rc_arena_lock);
    _rc_arena_walk_locked(add_objects, &n);
    pthread_mutex_unlock(&_rc_arena_lock);
    return n;
}

void rc_heap_get_stats(rc_heap_stats *out) {
    if (!out) {
        _rc_set_error("rc_heap_get_stats: out is NULL");
        return;
    }
    _rc_heap_init();
    memset(out, 0, sizeof *out);
    for (unsigned c = 0; c < RC_SIZE_CLASSES; c++) out->classes[c].block_size = _rc_class_size[c];
    size_t dirty = 0;
    pthread_mutex_lock(&_rc_arena_lock);
    _rc_arena_walk_locked(add_span, out);
    out->arenas = _rc_arena_count_locked(&out->pools_free, &dirty);
    pthread_mutex_unlock(&_rc_arena_lock);
    out->bytes_resident_free = dirty;
    out->threads = _rc_heap_count(&out->abandoned_heaps);
    _rc_large_stats(&out->large_blocks, &out->large_bytes, NULL, &out->large_cached);
    out->bytes_in_use = out->large_bytes;
    out->blocks_in_use = out->large_blocks;
    for (unsigned c = 0; c < RC_SIZE_CLASSES; c++) {
        out->blocks_in_use += out->classes[c].blocks_in_use;
        out->bytes_in_use += out->classes[c].blocks_in_use * out->classes[c].block_size;
    }
    _rc_heap_note_peak();
    out->bytes_peak = atomic_load_explicit(&_rc_bytes_peak, memory_order_relaxed);
    if (out->bytes_peak < out->bytes_in_use) out->bytes_peak = out->bytes_in_use;
    out->bytes_mapped = atomic_load_explicit(&_rc_os_mapped, memory_order_relaxed);
    out->bytes_mapped_peak = atomic_load_explicit(&_rc_os_mapped_peak, memory_order_relaxed);
}

static void print_sized(FILE *out, const char *label, size_t bytes) {
    fprintf(out, "%-40s = %15zu\n", label, bytes);
}

void rc_heap_print_stats(FILE *out) {
    if (!out) out = stderr;
    rc_heap_stats s;
    rc_heap_get_stats(&s);
    fprintf(out, "Small block threshold = %u, in %d size classes (%u medium up to %u).\n\n", RC_SMALL_MAX,
            RC_SIZE_CLASSES, RC_SIZE_CLASSES - RC_SMALL_CLASSES, RC_MEDIUM_MAX);
    fprintf(out, "class   size   num pools   blocks in use  avail blocks\n");
    fprintf(out, "-----   ----   ---------   -------------  ------------\n");
    size_t used_bytes = 0, free_bytes = 0;
    for (unsigned c = 0; c < RC_SIZE_CLASSES; c++) {
        const rc_heap_class_stats *k = &s.classes[c];
        if (k->pools == 0) continue;
        fprintf(out, "%5u %6zu %11zu %15zu %13zu\n", c, k->block_size, k->pools, k->blocks_in_use, k->blocks_free);
        used_bytes += k->blocks_in_use * k->block_size;
        free_bytes += k->blocks_free * k->block_size;
    }
    fputc('\n', out);
    fprintf(out, "# arenas allocated current %25s= %15zu\n", "", s.arenas);
    fprintf(out, "# arenas highwater (bytes mapped peak) %13s= %15zu\n", "", s.bytes_mapped_peak);
    print_sized(out, "# bytes in allocated blocks", used_bytes);
    print_sized(out, "# bytes in available blocks", free_bytes);
    print_sized(out, "# pools in use", s.pools_in_use);
    print_sized(out, "# free pools in arenas", s.pools_free);
    print_sized(out, "# bytes in free pools not yet purged", s.bytes_resident_free);
    print_sized(out, "# large blocks", s.large_blocks);
    print_sized(out, "# bytes in large blocks", s.large_bytes);
    print_sized(out, "# large mappings cached", s.large_cached);
    print_sized(out, "# thread heaps (abandoned)", s.abandoned_heaps);
    print_sized(out, "# thread heaps (in use)", s.threads);
    fputc('\n', out);
    print_sized(out, "Total bytes in use", s.bytes_in_use);
    print_sized(out, "Peak bytes committed to blocks", s.bytes_peak);
    print_sized(out, "Total bytes mapped", s.bytes_mapped);
    print_sized(out, "Peak bytes mapped", s.bytes_mapped_peak);
    fflush(out);
}

int rc_heap_print_stats_json(FILE *out) {
    if (!out) out = stdout;
    rc_heap_stats s;
    rc_heap_get_stats(&s);
    int r = fprintf(out,
                    "{\"version\":\"%s\",\"bytes_in_use\":%zu,\"bytes_peak\":%zu,\"bytes_mapped\":%zu,"
                    "\"bytes_mapped_peak\":%zu,\"bytes_resident_free\":%zu,\"arenas\":%zu,\"pools_in_use\":%zu,"
                    "\"pools_free\":%zu,\"blocks_in_use\":%zu,\"large_blocks\":%zu,\"large_bytes\":%zu,"
                    "\"large_cached\":%zu,\"threads\":%zu,\"abandoned_heaps\":%zu,\"classes\":[",
                    RC_VERSION_STRING, s.bytes_in_use, s.bytes_peak, s.bytes_mapped, s.bytes_mapped_peak,
                    s.bytes_resident_free, s.arenas, s.pools_in_use, s.pools_free, s.blocks_in_use, s.large_blocks,
                    s.large_bytes, s.large_cached, s.threads, s.abandoned_heaps);
    for (unsigned c = 0; c < RC_SIZE_CLASSES && r >= 0; c++) {
        const rc_heap_class_stats *k = &s.classes[c];
        r = fprintf(out, "%s{\"block_size\":%zu,\"pools\":%zu,\"blocks_in_use\":%zu,\"blocks_free\":%zu}",
                    c ? "," : "", k->block_size, k->pools, k->blocks_in_use, k->blocks_free);
    }
    if (r >= 0) r = fprintf(out, "]}\n");
    if (r >= 0) r = fflush(out);
    if (r < 0) {
        _rc_set_error("rc_heap_print_stats_json: writing failed");
        return -1;
    }
    return 0;
}
