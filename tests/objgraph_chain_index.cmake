# The compact index of the chain searches of src/prof/chain.c
# (docs/objgraph.md section 5) on graphs that reach its rare paths.
#   test_objgraph_chain_index  counts of 255 and more (gc_refs as a byte,
#                              a high part and borrows); first edges 65535
#                              and more past their group's; dead ends (the
#                              target among them); the same queries after
#                              the graph changed, the index's memory reused
reclaim_test(test_objgraph_chain_index SOURCES test_objgraph_chain_index.c)
