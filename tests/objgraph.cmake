# Object graphs and leak checks (src/prof/objgraph.c, refgraph.c, chain.c, dot.c,
# leakcheck.c; docs/objgraph.md).
#   test_objgraph   counts, bytes, growth, by_type, external references,
#                   leaking objects, chains, DOT pictures (and their
#                   rendering by Graphviz's dot, Debian package graphviz,
#                   or the error when it is missing), every error path
#   test_leakcheck  rc_leakcheck_begin/end in process, and RECLAIM_LEAKCHECK
#                   at exit through leakcheck_victim (report, exit status
#                   1 with =error, silence without)

reclaim_test(test_objgraph SOURCES test_objgraph.c LABELS threaded)
reclaim_test(test_leakcheck SOURCES test_leakcheck.c)

add_executable(leakcheck_victim leakcheck_victim.c)
target_link_libraries(leakcheck_victim PRIVATE reclaim_static Threads::Threads)
target_include_directories(leakcheck_victim PRIVATE ${PROJECT_SOURCE_DIR}/include ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_options(leakcheck_victim PRIVATE ${RECLAIM_WARNINGS})
target_compile_definitions(test_leakcheck PRIVATE RC_LEAKCHECK_VICTIM="$<TARGET_FILE:leakcheck_victim>")
add_dependencies(test_leakcheck leakcheck_victim)
