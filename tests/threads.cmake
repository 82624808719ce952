# Threads, fork and out-of-memory: the heap under concurrency and failure.
#   test_threads  cross-thread frees, abandoned and adopted heaps, full pools
#   test_fork     fork while other threads allocate; the child's heap works
#   test_oom      every OS request made to fail in turn (the OOM walk)
# The threaded ones scale themselves down under ThreadSanitizer
# (RECLAIM_TEST_SCALE overrides: 1 is the release size).
# Shared helpers: test_pattern.h (rnd, fill, check), test_scale.h (scaled).
reclaim_test(test_threads SOURCES test_threads.c LABELS threaded TIMEOUT 600)
reclaim_test(test_fork SOURCES test_fork.c LABELS threaded TIMEOUT 600)
reclaim_test(test_oom SOURCES test_oom.c TIMEOUT 300)
