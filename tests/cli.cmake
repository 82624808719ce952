# The command-line tool, running real programs under the drop-in heap.
if(RECLAIM_MALLOC_OVERRIDE)
  add_test(NAME test_cli COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_cli.sh
    $<TARGET_FILE:reclaim-cli> $<TARGET_FILE:reclaim-malloc>)
  set_tests_properties(test_cli PROPERTIES LABELS preload TIMEOUT 60)
endif()
