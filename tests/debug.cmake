# The debug allocator (RECLAIM_MALLOC=debug) and the system mode
# (RECLAIM_MALLOC=malloc). Both modes are chosen once, at the first heap
# call, from the environment, so the tests run debug_victim — a program of
# deliberately wrong code, one bug per subcommand — in child processes with
# the variable set, and check how it ends and what it reports. Shared
# helpers (spawning the victim, checking its output): test_spawn.h.

add_executable(debug_victim debug_victim.c)
target_link_libraries(debug_victim PRIVATE reclaim_static Threads::Threads)
target_include_directories(debug_victim PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
target_compile_definitions(debug_victim PRIVATE RC_BUILDING_RECLAIM)
target_compile_options(debug_victim PRIVATE ${RECLAIM_WARNINGS})

reclaim_test(test_debug_alloc SOURCES test_debug_alloc.c)
target_compile_definitions(test_debug_alloc PRIVATE RC_DEBUG_VICTIM="$<TARGET_FILE:debug_victim>")
add_dependencies(test_debug_alloc debug_victim)

find_program(RECLAIM_VALGRIND valgrind)
set(_rc_valgrind "")
if(RECLAIM_VALGRIND)
  set(_rc_valgrind "${RECLAIM_VALGRIND}")
endif()
reclaim_test(test_system_mode SOURCES test_system_mode.c)
target_compile_definitions(test_system_mode PRIVATE RC_DEBUG_VICTIM="$<TARGET_FILE:debug_victim>"
  RC_VALGRIND="${_rc_valgrind}" RC_SANITIZE="${RECLAIM_SANITIZE}")
add_dependencies(test_system_mode debug_victim)
