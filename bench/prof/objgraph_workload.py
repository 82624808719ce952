"""objgraph_workload.py — objgraph_workload.c's heap in CPython, under objgraph.

    /usr/bin/python3 objgraph_workload.py N

The same heap as objgraph_workload.c, object for object and in the same
order (see the comment at the top of that file): a forest list (a global
of this module) of TREES = N / 4092 (rounded, at least 1) complete binary
trees of 1023 Nodes; every Node carries, in pre-order, alternately a list
[int, Leaf] or a dict {"id": int, "leaf": Leaf, "owner": the Node}; the int
is a fresh one (1000 + the node's number) that the Leaf also holds. Node
and Leaf are classes with __slots__ (no instance dicts: one object each,
as in C). The heap is built with the collector off (not timed), then, in
this order, on the one heap:

    gc1, gc2   gc.collect() twice (for reference)
    mct1, mct2 objgraph.most_common_types(limit=10) twice (objgraph keeps
               no counters: both calls walk gc.get_objects())
    chain      objgraph.find_backref_chain(deep, objgraph.is_proper_module),
               max_depth 20 (objgraph's default): the chain from this
               module to the Leaf of the last tree's rightmost bottom Node
    chain2     the same again

and the answers are checked: Node and Leaf have TREES * 1023 objects each
(objgraph counts only what the collector tracks, so ints are not counted,
and neither are the key strings), and the chain is module, its __dict__,
forest, ten Nodes, payload, Leaf: 15 objects.

Prints one line bench/prof/objgraph.sh parses (times in seconds, from
time.perf_counter around each call; cpu_s: the process's user + sys):
    RESULT mode=query n=N trees=T objects=O nodes=K tracked=G build_s=S
           gc1_s= gc2_s= mct1_s= mct2_s= chain_s= chain2_s= chain_len= top=NAME:COUNT
           cpu_s= maxrss_kib=
"""

import gc
import resource
import sys
import time

import objgraph

TREE_DEPTH = 10
TREE_NODES = (1 << TREE_DEPTH) - 1
OBJS_PER_NODE = 4
CHAIN_LEN = 2 + 1 + TREE_DEPTH + 2  # module, its dict, forest, 10 Nodes, payload, Leaf


class Node:
    __slots__ = ("left", "right", "data")

    def __init__(self):
        self.left = None
        self.right = None
        self.data = None


class Leaf:
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


serial = 0


def build_tree(depth):
    """A new tree of depth levels, built as objgraph_workload.c's build_tree."""
    global serial
    n = Node()
    i = serial
    serial += 1
    iv = 1000 + i
    lf = Leaf(iv)
    if i % 2 == 0:
        data = [iv, lf]
    else:
        data = {"id": iv, "leaf": lf, "owner": n}
    n.data = data
    if depth > 1:
        n.left = build_tree(depth - 1)
        n.right = build_tree(depth - 1)
    return n


def deep_object(forest):
    n = forest[-1]
    while n.right is not None:
        n = n.right
    return n.data[1] if isinstance(n.data, list) else n.data["leaf"]


forest = None


def main():
    global forest
    if len(sys.argv) != 2 or not sys.argv[1].isdigit() or int(sys.argv[1]) == 0:
        sys.exit("usage: objgraph_workload.py N (N > 0)")
    n = int(sys.argv[1])
    trees = max(1, (n + TREE_NODES * OBJS_PER_NODE // 2) // (TREE_NODES * OBJS_PER_NODE))
    objects = trees * TREE_NODES * OBJS_PER_NODE + 1 + 3
    nodes = trees * TREE_NODES

    gc.disable()
    t0 = time.perf_counter()
    forest = [build_tree(TREE_DEPTH) for _ in range(trees)]
    build_s = time.perf_counter() - t0
    gc.enable()
    deep = deep_object(forest)
    if type(deep) is not Leaf:
        sys.exit("objgraph_workload.py: the deep Leaf is not where it should be")

    t0 = time.perf_counter()
    gc.collect()
    gc1_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    gc.collect()
    gc2_s = time.perf_counter() - t0
    tracked = len(gc.get_objects())

    t0 = time.perf_counter()
    rows = objgraph.most_common_types(limit=10)
    mct1_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows = objgraph.most_common_types(limit=10)
    mct2_s = time.perf_counter() - t0
    counts = dict(rows)
    for name in ("Node", "Leaf"):
        if counts.get(name) != nodes:
            sys.exit(f"objgraph_workload.py: {counts.get(name)} objects of type {name}, expected {nodes}")

    t0 = time.perf_counter()
    chain = objgraph.find_backref_chain(deep, objgraph.is_proper_module)
    chain_s = time.perf_counter() - t0
    if len(chain) != CHAIN_LEN or chain[0] is not sys.modules[__name__] or chain[-1] is not deep:
        sys.exit(f"objgraph_workload.py: backref chain of {len(chain)} objects, expected {CHAIN_LEN}"
                 " from this module to the Leaf")
    t0 = time.perf_counter()
    chain2 = objgraph.find_backref_chain(deep, objgraph.is_proper_module)
    chain2_s = time.perf_counter() - t0
    if len(chain2) != len(chain):
        sys.exit("objgraph_workload.py: the second find_backref_chain gave another answer")

    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(f"RESULT mode=query n={n} trees={trees} objects={objects} nodes={nodes} tracked={tracked} "
          f"build_s={build_s:.4f} gc1_s={gc1_s:.4f} gc2_s={gc2_s:.4f} mct1_s={mct1_s:.6f} "
          f"mct2_s={mct2_s:.6f} chain_s={chain_s:.4f} chain2_s={chain2_s:.4f} chain_len={len(chain)} top={rows[0][0]}:{rows[0][1]} "
          f"cpu_s={ru.ru_utime + ru.ru_stime:.3f} maxrss_kib={ru.ru_maxrss}", flush=True)


if __name__ == "__main__":
    main()
