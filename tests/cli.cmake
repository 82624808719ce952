# The command-line tool, running real programs under the drop-in heap.
if(RECLAIM_MALLOC_OVERRIDE)
  add_test(NAME test_cli COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_cli.sh
    $<TARGET_FILE:reclaim-cli> $<TARGET_FILE:reclaim-malloc>)
  set_tests_properties(test_cli PROPERTIES LABELS preload TIMEOUT 60)
endif()

# The snapshot commands (top, diff, flamegraph, export) on snapshots of a
# known workload that make_snapshot writes. Its frames must stay where
# they are written (noinline functions, frame pointers, no sibling calls)
# and be named by the symbolizer with or without libdw (exported).
add_executable(make_snapshot cli/make_snapshot.c)
target_link_libraries(make_snapshot PRIVATE reclaim_static)
target_compile_options(make_snapshot PRIVATE ${RECLAIM_WARNINGS} -g -fno-omit-frame-pointer
  -fno-optimize-sibling-calls)
set_target_properties(make_snapshot PROPERTIES ENABLE_EXPORTS ON)
add_test(NAME test_snapshots COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_snapshots.sh
  $<TARGET_FILE:reclaim-cli> $<TARGET_FILE:make_snapshot>)
set_tests_properties(test_snapshots PROPERTIES TIMEOUT 120)
