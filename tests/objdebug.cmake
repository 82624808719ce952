# Objects and the cycle collector, seen from outside the process and across
# threads.
#   test_object_debug  (RECLAIM_DEBUG_CHECKS > 0) deliberately wrong object
#                      code — counts already at zero, another thread's
#                      object, a traverse visiting what is no live object —
#                      run in child processes (objdebug_victim, one bug per
#                      subcommand): each must be reported, naming the object's
#                      address and type, and abort; correct code stays silent
#   test_object_clean  (checks off) the victim's correct subcommand runs
#                      clean: exit 0, nothing on stderr
#   test_gc_threads    per-thread worlds, process-wide settings, orphans of
#                      exited threads, many threads leaking nothing
#                      (label "threaded": also run under ThreadSanitizer)
#   test_gc_options    RECLAIM_GC_THRESHOLD, RECLAIM_GC_DEBUG,
#                      RECLAIM_LEAKCHECK and rc_shutdown, in child processes
#                      (the test runs itself with the variables set)
# Spawning the victim and checking its output: test_spawn.h.

add_executable(objdebug_victim objdebug_victim.c)
target_link_libraries(objdebug_victim PRIVATE reclaim_static Threads::Threads)
target_include_directories(objdebug_victim PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
target_compile_definitions(objdebug_victim PRIVATE RC_BUILDING_RECLAIM)
target_compile_options(objdebug_victim PRIVATE ${RECLAIM_WARNINGS})

if(RECLAIM_DEBUG_CHECKS GREATER 0)
  set(_rc_objdebug_test test_object_debug)
else()
  set(_rc_objdebug_test test_object_clean)
endif()
reclaim_test(${_rc_objdebug_test} SOURCES test_object_debug.c)
target_compile_definitions(${_rc_objdebug_test} PRIVATE RC_DEBUG_VICTIM="$<TARGET_FILE:objdebug_victim>")
add_dependencies(${_rc_objdebug_test} objdebug_victim)

reclaim_test(test_gc_threads SOURCES test_gc_threads.c LABELS threaded TIMEOUT 300)
reclaim_test(test_gc_options SOURCES test_gc_options.c TIMEOUT 300)
