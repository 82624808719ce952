# Heap dumps (src/prof/heapdump*.c, dominators.c): the C API on graphs
# with known answers, and the `reclaim heap` commands on dumps of a known
# heap that make_heapdump writes.

reclaim_test(test_heapdump SOURCES test_heapdump.c)

add_executable(make_heapdump cli/make_heapdump.c)
target_link_libraries(make_heapdump PRIVATE reclaim_static)
target_compile_options(make_heapdump PRIVATE ${RECLAIM_WARNINGS})
add_test(NAME test_heap_cli COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_heap_cli.sh
  $<TARGET_FILE:reclaim-cli> $<TARGET_FILE:make_heapdump>)
set_tests_properties(test_heap_cli PROPERTIES TIMEOUT 120)
