# The chain searches (src/prof/chain.c) and leaking objects (refgraph.c) on graphs
# that exercise their numbering of objects from their addresses
# (docs/objgraph.md sections 3 and 5).
#   test_objgraph_chain  chains through medium objects (several-page
#                        spans), a large object and static referents; a
#                        chain longer than the levels the backref search
#                        keeps; several roots; 65535 objects; an object of
#                        another live thread's world
reclaim_test(test_objgraph_chain SOURCES test_objgraph_chain.c LABELS threaded)
