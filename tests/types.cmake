# Tests of the built-in types (include/reclaim.h section 6): every file
# tests/types/test_*.c is one cmocka test, named after the file. Shared
# helpers (the leak check run after every test): tests/types/types_util.h.
file(GLOB RECLAIM_TYPES_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/types/test_*.c)
list(SORT RECLAIM_TYPES_TESTS)
foreach(src ${RECLAIM_TYPES_TESTS})
  get_filename_component(name ${src} NAME_WE)
  reclaim_test(${name} SOURCES ${src} TIMEOUT 300)
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/types)
endforeach()

# test_type_sites: the built-in types' allocations traced to the test's own
# lines. Line information (-g), frames where they are written (frame
# pointers, no tail calls), and the workload functions exported
# (ENABLE_EXPORTS) so that the dladdr symbolizer names them without libdw.
target_compile_options(test_type_sites PRIVATE -g -fno-omit-frame-pointer -fno-optimize-sibling-calls)
target_compile_definitions(test_type_sites PRIVATE $<$<BOOL:${RECLAIM_LIBDW}>:RC_HAVE_LIBDW=1>)
set_target_properties(test_type_sites PROPERTIES ENABLE_EXPORTS ON)
