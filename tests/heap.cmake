# Single-threaded API tests of the heap and of the run-time options.
#   test_heap_sizes    size classes and boundaries, alignment, rc_usable_size,
#                      rc_owns, rc_malloc(0), rc_aligned_alloc, rc_calloc
#   test_heap_realloc  rc_realloc across every path, foreign pointers, failure
#   test_heap_free     rc_free of NULL and of pointers the heap never gave out
#   test_heap_stats    rc_heap_get_stats adds up; the text and JSON reports
#   test_heap_trim     memory goes back to the OS (RSS), retain budget, purge delay
#   test_options       RECLAIM_* parsing and warnings, rc_version, rc_last_error
# Shared helpers: test_heap_util.h (and test_pattern.h for all_zero).
reclaim_test(test_heap_sizes SOURCES test_heap_sizes.c TIMEOUT 120)
reclaim_test(test_heap_realloc SOURCES test_heap_realloc.c TIMEOUT 120)
reclaim_test(test_heap_free SOURCES test_heap_free.c TIMEOUT 120)
reclaim_test(test_heap_stats SOURCES test_heap_stats.c TIMEOUT 120)
reclaim_test(test_heap_trim SOURCES test_heap_trim.c TIMEOUT 120)
reclaim_test(test_options SOURCES test_options.c TIMEOUT 60)
