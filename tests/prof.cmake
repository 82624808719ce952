# The allocation tracer (src/prof): tests of the symbolizer, the tracer and
# snapshots. One reclaim_test per line; per-test settings follow the list.

reclaim_test(test_symbols SOURCES test_symbols.c LABELS threaded)
reclaim_test(test_trace SOURCES test_trace.c LABELS threaded)
reclaim_test(test_trace_env SOURCES test_trace_env.c LABELS threaded)

# test_symbols: line information (-g), frames that stay where they are
# written (no inlining of the probes, no tail calls), exported functions so
# that dladdr finds them too (ENABLE_EXPORTS), and a module it dlopens.
add_library(test_symbols_plugin MODULE test_symbols_plugin.c)
target_compile_options(test_symbols_plugin PRIVATE ${RECLAIM_WARNINGS} -g -O1 -fno-omit-frame-pointer
  -fno-optimize-sibling-calls)
target_compile_options(test_symbols PRIVATE -g -O1 -fno-omit-frame-pointer -fno-optimize-sibling-calls)
target_compile_definitions(test_symbols PRIVATE $<$<BOOL:${RECLAIM_LIBDW}>:RC_HAVE_LIBDW=1>
  RC_SYMBOLS_PLUGIN="$<TARGET_FILE:test_symbols_plugin>")
target_link_libraries(test_symbols PRIVATE ${CMAKE_DL_LIBS})
set_target_properties(test_symbols PROPERTIES ENABLE_EXPORTS ON)
add_dependencies(test_symbols test_symbols_plugin)

# test_trace: frames that stay where they are written (the workload
# functions are noinline, built with frame pointers, no tail calls) and
# exported (ENABLE_EXPORTS), so that the symbolizer names them with or
# without libdw.
target_compile_options(test_trace PRIVATE -g -fno-omit-frame-pointer -fno-optimize-sibling-calls)
set_target_properties(test_trace PROPERTIES ENABLE_EXPORTS ON)

# test_unwind: tracebacks through functions built without frame pointers
# (unwind_nofp.c, built here with -fomit-frame-pointer and -mno-red-zone:
# one of them calls through inline assembly), found by libunwind.
reclaim_test(test_unwind SOURCES test_unwind.c unwind_nofp.c)
target_compile_options(test_unwind PRIVATE -g)
set_source_files_properties(unwind_nofp.c PROPERTIES COMPILE_OPTIONS "-O2;-fomit-frame-pointer;-mno-red-zone")
target_compile_options(test_unwind PRIVATE -fno-omit-frame-pointer)
target_link_libraries(test_unwind PRIVATE ${CMAKE_DL_LIBS})
set_target_properties(test_unwind PROPERTIES ENABLE_EXPORTS ON)
