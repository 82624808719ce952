# Memory over time: `reclaim mprof run` and `reclaim mprof plot` on a
# program with known allocation phases (cli/mprof_phases.c, linked with the
# static library, so its channel and scope markers are tested), on programs
# that do not use reclaim, and every error of the commands.
add_executable(mprof_phases cli/mprof_phases.c)
target_link_libraries(mprof_phases PRIVATE reclaim_static)
target_compile_options(mprof_phases PRIVATE ${RECLAIM_WARNINGS})
add_test(NAME test_mprof COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_mprof.sh
  $<TARGET_FILE:reclaim-cli> $<TARGET_FILE:mprof_phases>)
set_tests_properties(test_mprof PROPERTIES TIMEOUT 120)

# The library's channel alone: no-ops when off; a full socket drops and
# counts, never blocks (it runs mprof_phases in its flood mode).
reclaim_test(test_mprof_channel SOURCES test_mprof_channel.c TIMEOUT 60)
target_compile_definitions(test_mprof_channel PRIVATE RC_MPROF_PHASES="$<TARGET_FILE:mprof_phases>")
add_dependencies(test_mprof_channel mprof_phases)

# A program that does not know reclaim, run through `reclaim run` under
# mprof: the drop-in malloc's heap figures reach the data file.
if(RECLAIM_MALLOC_OVERRIDE)
  add_test(NAME test_mprof_preload COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_mprof.sh
    $<TARGET_FILE:reclaim-cli> $<TARGET_FILE:mprof_phases> $<TARGET_FILE:reclaim-malloc>)
  set_tests_properties(test_mprof_preload PROPERTIES LABELS preload TIMEOUT 60)
endif()
