# RC_PROFILE_FUNCTION, the per-line memory table (src/prof/lineprof.c).

reclaim_test(test_lineprof SOURCES test_lineprof.c LABELS threaded)

# The profiled functions: line information (-g), frames that stay where
# they are written and a frame pointer in each (-O1 without tail calls),
# exported (ENABLE_EXPORTS) so that the symbolizer names them with or
# without libdw.
target_compile_options(test_lineprof PRIVATE -g -O1 -fno-omit-frame-pointer -fno-optimize-sibling-calls)
target_compile_definitions(test_lineprof PRIVATE $<$<BOOL:${RECLAIM_LIBDW}>:RC_HAVE_LIBDW=1>)
set_target_properties(test_lineprof PROPERTIES ENABLE_EXPORTS ON)
