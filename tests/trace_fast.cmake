# The tracer's fast paths (docs/profiling.md section 9): sampling decided in
# rc_malloc / rc_free, and the directory of side-table words.
reclaim_test(test_trace_fast SOURCES test_trace_fast.c LABELS threaded)
