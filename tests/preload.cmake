# Real programs nobody here wrote, run under LD_PRELOAD=libreclaim-malloc.so:
# each test runs a workload twice, plainly and with the preload, and passes
# when stdout is byte-identical and stderr is identical (empty) too; see
# tests/preload/lib.sh. A test whose program is not installed is skipped
# (exit 77). Debian packages: python3 sqlite3 git tar gzip coreutils mawk
# diffutils (xz-utils is used when present).
#
# Labelled "preload": CI runs them in the plain release build only.

if(NOT TARGET reclaim-malloc)
  return()
endif()

find_program(RECLAIM_BASH bash)
if(NOT RECLAIM_BASH)
  message(STATUS "bash not found: the preload tests are not registered")
  return()
endif()

set(RECLAIM_PRELOAD_DIR ${CMAKE_CURRENT_SOURCE_DIR}/preload)

# reclaim_preload_test(NAME DRIVER [QUICK] [TIMEOUT s] [ENV VAR=VALUE...])
#   ENV settings apply to the preloaded run only (e.g. RECLAIM_MALLOC=debug).
#   QUICK sets PRELOAD_QUICK=1: a driver may run a shorter workload.
function(reclaim_preload_test name driver)
  cmake_parse_arguments(P "QUICK" "TIMEOUT" "ENV" ${ARGN})
  if(NOT P_TIMEOUT)
    set(P_TIMEOUT 180)
  endif()
  add_test(NAME ${name}
    COMMAND ${RECLAIM_BASH} ${RECLAIM_PRELOAD_DIR}/${driver} $<TARGET_FILE:reclaim-malloc> ${P_ENV})
  set_tests_properties(${name} PROPERTIES
    LABELS preload
    SKIP_RETURN_CODE 77
    TIMEOUT ${P_TIMEOUT})
  if(P_QUICK)
    set_tests_properties(${name} PROPERTIES ENVIRONMENT PRELOAD_QUICK=1)
  endif()
endfunction()

reclaim_preload_test(preload_python3 python3.sh)
reclaim_preload_test(preload_python3_mallocstats python3.sh QUICK ENV RECLAIM_MALLOCSTATS=1)
reclaim_preload_test(preload_python3_debug python3.sh QUICK ENV RECLAIM_MALLOC=debug)
reclaim_preload_test(preload_sqlite3 sqlite3.sh)
reclaim_preload_test(preload_sqlite3_system sqlite3.sh ENV RECLAIM_MALLOC=malloc)
reclaim_preload_test(preload_sort sort.sh)
reclaim_preload_test(preload_git git.sh)
reclaim_preload_test(preload_tar tar.sh)

# The drop-in library's C-library contracts (posix_memalign beyond 1 MiB,
# memalign rounding, pvalloc, reallocarray overflow), in every mode.
if(TARGET reclaim-malloc)
  add_executable(override_check preload/override_check.c)
  target_link_libraries(override_check PRIVATE ${CMAKE_DL_LIBS})
  # -fno-builtin: the checks are about the library, not what the compiler
  # assumes of malloc-family calls (clang assumes they leave errno alone)
  target_compile_options(override_check PRIVATE ${RECLAIM_WARNINGS} -fno-builtin)
  foreach(mode default debug malloc)
    add_test(NAME preload_override_${mode} COMMAND ${CMAKE_COMMAND} -E env
      LD_PRELOAD=$<TARGET_FILE:reclaim-malloc> RECLAIM_MALLOC=${mode} $<TARGET_FILE:override_check>)
    set_tests_properties(preload_override_${mode} PROPERTIES LABELS preload SKIP_RETURN_CODE 77 TIMEOUT 60)
  endforeach()
endif()
