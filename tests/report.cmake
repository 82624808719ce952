# `reclaim report` (docs/report.md): the page written from a snapshot, two
# heap dumps and an mprof run of cli/report_inputs.c (a service with a
# planted leak), opened in headless Chromium: every section rendered, no
# error on the console, a screenshot in the build folder; and every error
# of the command.
add_executable(report_inputs cli/report_inputs.c)
target_link_libraries(report_inputs PRIVATE reclaim_static)
target_compile_options(report_inputs PRIVATE ${RECLAIM_WARNINGS})
add_test(NAME test_report COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_report.sh
  $<TARGET_FILE:reclaim-cli> $<TARGET_FILE:report_inputs> ${CMAKE_BINARY_DIR})
set_tests_properties(test_report PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77)
