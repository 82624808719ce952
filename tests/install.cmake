# Install test: `cmake --install` into a temporary prefix, then an outside
# project (tests/install/) is built against that prefix through the CMake
# package (reclaim::reclaim and reclaim::reclaim_static) and, separately,
# through pkg-config (skipped, exit 77, when pkg-config is not installed;
# Debian package pkg-config). See tests/install/run.sh.
#
# Both tests run `cmake --install`, which rewrites install_manifest.txt in
# the build directory: a resource lock keeps them apart under ctest -j.
#
# Labelled "install": CI runs them in the plain release build only.

find_program(RECLAIM_BASH bash)
if(NOT RECLAIM_BASH)
  message(STATUS "bash not found: the install tests are not registered")
  return()
endif()

if(TARGET reclaim-malloc)
  set(_reclaim_malloc_lib 1)
else()
  set(_reclaim_malloc_lib 0)
endif()

foreach(mode cmake pkgconfig)
  add_test(NAME install_${mode}
    COMMAND ${RECLAIM_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/install/run.sh ${mode}
      ${PROJECT_BINARY_DIR} ${CMAKE_COMMAND} ${CMAKE_C_COMPILER}
      ${CMAKE_INSTALL_LIBDIR} ${PROJECT_VERSION} ${_reclaim_malloc_lib})
  set_tests_properties(install_${mode} PROPERTIES
    LABELS install
    SKIP_RETURN_CODE 77
    TIMEOUT 300
    RESOURCE_LOCK reclaim_install_manifest
    ENVIRONMENT "CMAKE_GENERATOR=${CMAKE_GENERATOR}")
endforeach()
