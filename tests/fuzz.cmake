# The fuzz targets, each built two ways: the heap (tests/fuzz/fuzz_heap.c),
# objects with the cycle collector and weak references
# (tests/fuzz/fuzz_gc.c, checked against a model of the object graph),
# and the built-in containers (tests/fuzz/fuzz_types.c: a list, a dict and
# a set beside a reference model).
# Below for fuzz_heap; fuzz_gc_* and fuzz_types_* are the same with their
# own seeds (fuzz/NAME_seeds) and corpus (fuzz/NAME_corpus).
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

set(_rc_libfuzzer OFF)
if(RECLAIM_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(WARNING "RECLAIM_FUZZ needs clang (libFuzzer); building only the *_replay targets")
  elseif(RECLAIM_SANITIZE STREQUAL "thread")
    message(WARNING "RECLAIM_FUZZ does not combine with RECLAIM_SANITIZE=thread; building only the *_replay targets")
  else()
    set(_rc_libfuzzer ON)
    # The library again, with coverage instrumentation for libFuzzer.
    list(TRANSFORM RECLAIM_SOURCES PREPEND "${PROJECT_SOURCE_DIR}/" OUTPUT_VARIABLE _rc_fuzz_sources)
    add_library(reclaim_fuzz STATIC ${_rc_fuzz_sources})
    target_include_directories(reclaim_fuzz PUBLIC ${PROJECT_SOURCE_DIR}/include PRIVATE ${PROJECT_SOURCE_DIR}/src)
    target_compile_definitions(reclaim_fuzz PRIVATE $<TARGET_PROPERTY:reclaim_objects,COMPILE_DEFINITIONS>)
    target_compile_options(reclaim_fuzz PRIVATE $<TARGET_PROPERTY:reclaim_objects,COMPILE_OPTIONS>
      -fsanitize=fuzzer-no-link)
    set_target_properties(reclaim_fuzz PROPERTIES C_VISIBILITY_PRESET hidden)
    target_link_libraries(reclaim_fuzz PUBLIC Threads::Threads m)
    if(RECLAIM_LIBDW) # the symbolizer (src/prof/symbols.c), see CMakeLists.txt
      target_include_directories(reclaim_fuzz PRIVATE ${LIBDW_INCLUDE_DIR})
      target_link_libraries(reclaim_fuzz PUBLIC ${LIBDW_LIBRARY})
    endif()
    target_link_libraries(reclaim_fuzz PUBLIC ${CMAKE_DL_LIBS})
  endif()
endif()

# reclaim_fuzz_target(NAME): tests/fuzz/NAME.c as NAME_replay (always) and
# NAME_libfuzzer (clang with RECLAIM_FUZZ=ON), with the seed corpus in
# fuzz/NAME_seeds and libFuzzer's new inputs in fuzz/NAME_corpus.
function(reclaim_fuzz_target name)
  set(seeds ${RECLAIM_FUZZ_DIR}/${name}_seeds)
  set(corpus ${RECLAIM_FUZZ_DIR}/${name}_corpus)
  add_executable(${name}_replay fuzz/${name}.c)
  target_link_libraries(${name}_replay PRIVATE reclaim_static Threads::Threads)
  target_include_directories(${name}_replay PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
  target_compile_definitions(${name}_replay PRIVATE RC_BUILDING_RECLAIM RC_FUZZ_REPLAY_MAIN)
  target_compile_options(${name}_replay PRIVATE ${RECLAIM_WARNINGS})
  add_custom_command(TARGET ${name}_replay POST_BUILD
    COMMAND ${CMAKE_COMMAND} -E make_directory ${RECLAIM_FUZZ_DIR}
    COMMAND ${name}_replay --write-corpus ${seeds} 64
    COMMENT "Writing the ${name} seed corpus")
  add_test(NAME ${name}_replay COMMAND ${name}_replay)
  set_tests_properties(${name}_replay PROPERTIES TIMEOUT 300 LABELS fuzz)
  if(NOT _rc_libfuzzer)
    return()
  endif()
  add_executable(${name}_libfuzzer fuzz/${name}.c)
  target_link_libraries(${name}_libfuzzer PRIVATE reclaim_fuzz)
  target_include_directories(${name}_libfuzzer PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
  # rc_incref/rc_decref are inline: checked in the target as in the library
  target_compile_definitions(${name}_libfuzzer PRIVATE RC_BUILDING_RECLAIM
    RC_OBJECT_CHECKS=${RECLAIM_OBJECT_CHECKS})
  target_compile_options(${name}_libfuzzer PRIVATE ${RECLAIM_WARNINGS} -fsanitize=fuzzer)
  target_link_options(${name}_libfuzzer PRIVATE -fsanitize=fuzzer)
  add_dependencies(${name}_libfuzzer ${name}_replay) # the seed corpus
  file(MAKE_DIRECTORY ${corpus})
  # New inputs go to the first directory; the seeds stay as written. A
  # crash input lands in the fuzz directory: replay it with
  # `NAME_replay <file>` (any compiler) to debug it.
  add_test(NAME ${name}_libfuzzer COMMAND ${name}_libfuzzer
    -runs=200000 -max_total_time=30 -timeout=20 -rss_limit_mb=4096 -print_final_stats=1
    -artifact_prefix=${RECLAIM_FUZZ_DIR}/
    ${corpus} ${seeds})
  set_tests_properties(${name}_libfuzzer PROPERTIES TIMEOUT 180 LABELS fuzz)
endfunction()

reclaim_fuzz_target(fuzz_heap)
reclaim_fuzz_target(fuzz_gc)
reclaim_fuzz_target(fuzz_types)
