/*
 * floats.c — a million floats boxed in a list, and unboxed in a typed
 * array.
 *
 * Python:
 *
 *     values = [i * 0.5 for i in range(1_000_000)]   # list of float objects
 *     packed = array.array('d', values)              # 8 bytes per value
 *
 * A list stores a pointer per item and each float is an object of its own
 * (reclaim: a 32-byte block with its header; CPython: 24 bytes). An
 * rc_array of RC_FLOAT64 stores the doubles themselves, contiguous. The
 * heap's statistics (rc_heap_get_stats) show the bytes each one takes.
 */
#include <stdint.h>
#include <stdio.h>

#include <reclaim.h>

#define N 1000000

static size_t heap_in_use(void) {
    rc_heap_stats st;
    rc_heap_get_stats(&st);
    return st.bytes_in_use;
}

int main(void) {
    printf("floats: the same %d floats as a list of float objects and as a\n"
           "typed array of doubles, measured by the heap's statistics.\n\n",
           N);

    size_t base = heap_in_use();
    void *list = rc_list_new();
    if (!list) return 1;
    for (int i = 0; i < N; i++) {
        if (rc_list_append_steal(list, rc_float_new(i * 0.5)) < 0) {
            fprintf(stderr, "floats: %s\n", rc_last_error());
            rc_decref(list);
            return 1;
        }
    }
    size_t with_list = heap_in_use();

    void *array = rc_array_from_iter(RC_FLOAT64, list);
    if (!array) {
        fprintf(stderr, "floats: %s\n", rc_last_error());
        rc_decref(list);
        return 1;
    }
    size_t with_array = heap_in_use();

    double list_sum = 0;
    for (size_t i = 0; i < rc_list_len(list); i++) list_sum += rc_float_value(rc_list_get(list, (int64_t)i));
    double array_sum = rc_array_sum(array);

    size_t list_bytes = with_list - base, array_bytes = with_array - with_list;
    printf("list of floats: %10zu bytes (%.1f per value: a pointer + a float object)\n", list_bytes,
           (double)list_bytes / N);
    printf("array('d'):     %10zu bytes (%.1f per value: the double itself)\n", array_bytes,
           (double)array_bytes / N);
    printf("the list takes %.1fx the memory of the array; both sum to %.1f%s\n",
           (double)list_bytes / (double)(array_bytes ? array_bytes : 1), array_sum,
           list_sum == array_sum ? "" : " (MISMATCH)");

    rc_decref(list);
    size_t after_list = heap_in_use();
    printf("\nafter the list is released the heap holds %zu bytes more than at the start\n"
           "(the array's %zu bytes).\n",
           after_list > base ? after_list - base : 0, array_bytes);
    rc_decref(array);
    return list_sum == array_sum ? 0 : 1;
}
