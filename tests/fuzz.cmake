# The fuzz targets, each built two ways: the heap (tests/fuzz/fuzz_heap.c)
# and objects with the cycle collector and weak references
# (tests/fuzz/fuzz_gc.c, checked against a model of the object graph).
# Below for fuzz_heap; fuzz_gc_replay and fuzz_gc_libfuzzer are the same
# with their own seeds (fuzz/fuzz_gc_seeds) and corpus (fuzz/fuzz_gc_corpus).
#   fuzz_heap_replay     always: a main() that feeds 2000 pseudo-random inputs
#                        from a fixed seed through LLVMFuzzerTestOneInput (or
#                        replays the files and directories given as arguments,
#                        e.g. a crash input from libFuzzer), so gcc builds run
#                        the same checks. After each build it writes the seed
#                        corpus to fuzz/fuzz_heap_seeds in the build tree.
#   fuzz_heap_libfuzzer  clang with RECLAIM_FUZZ=ON: a libFuzzer binary over a
#                        copy of the library compiled with coverage feedback
#                        (-fsanitize=fuzzer-no-link) and the build's
#                        sanitizers, run by CTest for 200000 inputs or 30 s.

set(RECLAIM_FUZZ_DIR ${CMAKE_CURRENT_BINARY_DIR}/fuzz)
set(RECLAIM_FUZZ_SEEDS ${RECLAIM_FUZZ_DIR}/fuzz_heap_seeds)
set(RECLAIM_FUZZ_CORPUS ${RECLAIM_FUZZ_DIR}/fuzz_heap_corpus)

add_executable(fuzz_heap_replay fuzz/fuzz_heap.c)
target_link_libraries(fuzz_heap_replay PRIVATE reclaim_static Threads::Threads)
target_include_directories(fuzz_heap_replay PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
target_compile_definitions(fuzz_heap_replay PRIVATE RC_BUILDING_RECLAIM RC_FUZZ_REPLAY_MAIN)
target_compile_options(fuzz_heap_replay PRIVATE ${RECLAIM_WARNINGS})
add_custom_command(TARGET fuzz_heap_replay POST_BUILD
  COMMAND ${CMAKE_COMMAND} -E make_directory ${RECLAIM_FUZZ_DIR}
  COMMAND fuzz_heap_replay --write-corpus ${RECLAIM_FUZZ_SEEDS} 64
  COMMENT "Writing the fuzz_heap seed corpus")
add_test(NAME fuzz_heap_replay COMMAND fuzz_heap_replay)
set_tests_properties(fuzz_heap_replay PROPERTIES TIMEOUT 300 LABELS fuzz)

set(RECLAIM_FUZZ_GC_SEEDS ${RECLAIM_FUZZ_DIR}/fuzz_gc_seeds)
set(RECLAIM_FUZZ_GC_CORPUS ${RECLAIM_FUZZ_DIR}/fuzz_gc_corpus)
add_executable(fuzz_gc_replay fuzz/fuzz_gc.c)
target_link_libraries(fuzz_gc_replay PRIVATE reclaim_static Threads::Threads)
target_include_directories(fuzz_gc_replay PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
target_compile_definitions(fuzz_gc_replay PRIVATE RC_BUILDING_RECLAIM RC_FUZZ_REPLAY_MAIN)
target_compile_options(fuzz_gc_replay PRIVATE ${RECLAIM_WARNINGS})
add_custom_command(TARGET fuzz_gc_replay POST_BUILD
  COMMAND ${CMAKE_COMMAND} -E make_directory ${RECLAIM_FUZZ_DIR}
  COMMAND fuzz_gc_replay --write-corpus ${RECLAIM_FUZZ_GC_SEEDS} 64
  COMMENT "Writing the fuzz_gc seed corpus")
add_test(NAME fuzz_gc_replay COMMAND fuzz_gc_replay)
set_tests_properties(fuzz_gc_replay PROPERTIES TIMEOUT 300 LABELS fuzz)

if(RECLAIM_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(WARNING "RECLAIM_FUZZ needs clang (libFuzzer); building only fuzz_heap_replay")
  elseif(RECLAIM_SANITIZE STREQUAL "thread")
    message(WARNING "RECLAIM_FUZZ does not combine with RECLAIM_SANITIZE=thread; building only fuzz_heap_replay")
  else()
    # The library again, with coverage instrumentation for libFuzzer.
    list(TRANSFORM RECLAIM_SOURCES PREPEND "${PROJECT_SOURCE_DIR}/" OUTPUT_VARIABLE _rc_fuzz_sources)
    add_library(reclaim_fuzz STATIC ${_rc_fuzz_sources})
    target_include_directories(reclaim_fuzz PUBLIC ${PROJECT_SOURCE_DIR}/include PRIVATE ${PROJECT_SOURCE_DIR}/src)
    target_compile_definitions(reclaim_fuzz PRIVATE $<TARGET_PROPERTY:reclaim_objects,COMPILE_DEFINITIONS>)
    target_compile_options(reclaim_fuzz PRIVATE $<TARGET_PROPERTY:reclaim_objects,COMPILE_OPTIONS>
      -fsanitize=fuzzer-no-link)
    set_target_properties(reclaim_fuzz PROPERTIES C_VISIBILITY_PRESET hidden)
    target_link_libraries(reclaim_fuzz PUBLIC Threads::Threads)

    add_executable(fuzz_heap_libfuzzer fuzz/fuzz_heap.c)
    target_link_libraries(fuzz_heap_libfuzzer PRIVATE reclaim_fuzz)
    target_include_directories(fuzz_heap_libfuzzer PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
    target_compile_definitions(fuzz_heap_libfuzzer PRIVATE RC_BUILDING_RECLAIM)
    target_compile_options(fuzz_heap_libfuzzer PRIVATE ${RECLAIM_WARNINGS} -fsanitize=fuzzer)
    target_link_options(fuzz_heap_libfuzzer PRIVATE -fsanitize=fuzzer)
    add_dependencies(fuzz_heap_libfuzzer fuzz_heap_replay) # the seed corpus

    file(MAKE_DIRECTORY ${RECLAIM_FUZZ_CORPUS})
    # New inputs go to the first directory; the seeds stay as written. A
    # crash input lands in the fuzz directory: replay it with
    # `fuzz_heap_replay <file>` (any compiler) to debug it.
    add_test(NAME fuzz_heap_libfuzzer COMMAND fuzz_heap_libfuzzer
      -runs=200000 -max_total_time=30 -timeout=20 -rss_limit_mb=4096 -print_final_stats=1
      -artifact_prefix=${RECLAIM_FUZZ_DIR}/
      ${RECLAIM_FUZZ_CORPUS} ${RECLAIM_FUZZ_SEEDS})
    set_tests_properties(fuzz_heap_libfuzzer PROPERTIES TIMEOUT 180 LABELS fuzz)

    # rc_incref/rc_decref are inline: checked in the target as in the library
    add_executable(fuzz_gc_libfuzzer fuzz/fuzz_gc.c)
    target_link_libraries(fuzz_gc_libfuzzer PRIVATE reclaim_fuzz)
    target_include_directories(fuzz_gc_libfuzzer PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
    target_compile_definitions(fuzz_gc_libfuzzer PRIVATE RC_BUILDING_RECLAIM
      RC_OBJECT_CHECKS=${RECLAIM_OBJECT_CHECKS})
    target_compile_options(fuzz_gc_libfuzzer PRIVATE ${RECLAIM_WARNINGS} -fsanitize=fuzzer)
    target_link_options(fuzz_gc_libfuzzer PRIVATE -fsanitize=fuzzer)
    add_dependencies(fuzz_gc_libfuzzer fuzz_gc_replay) # the seed corpus

    file(MAKE_DIRECTORY ${RECLAIM_FUZZ_GC_CORPUS})
    add_test(NAME fuzz_gc_libfuzzer COMMAND fuzz_gc_libfuzzer
      -runs=200000 -max_total_time=30 -timeout=20 -rss_limit_mb=4096 -print_final_stats=1
      -artifact_prefix=${RECLAIM_FUZZ_DIR}/
      ${RECLAIM_FUZZ_GC_CORPUS} ${RECLAIM_FUZZ_GC_SEEDS})
    set_tests_properties(fuzz_gc_libfuzzer PROPERTIES TIMEOUT 180 LABELS fuzz)
  endif()
endif()
