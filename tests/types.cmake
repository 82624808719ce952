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
