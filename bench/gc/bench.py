"""bench.py — the CPython side of bench/gc: the same workloads as gcbench.c.

Usage: python3 bench.py WORKLOAD [ARG]
  binarytrees D   benchmarks-game binary-trees (the usual tuple program)
  gcbench         Boehm's GCBench (the classic Python port: a plain class)
  cycles N        N two-object garbage cycles a->b, b->a, both dropped
  fullgc N        one gc.collect() over N live two-slot objects
  size N          bytes per two-pointer object

Each workload ends with one line "RESULT bench=NAME impl=cpython key=value"
that run.sh parses, with the same checksums as gcbench.c. Times are
time.perf_counter_ns() (a monotonic clock) inside the program. gc stays
enabled with its default thresholds unless said otherwise.
"""
import gc
import sys
import time

IMPL = "cpython"
MASK = (1 << 64) - 1


def now():
    return time.perf_counter_ns() * 1e-9


# gc time, measured by gc.callbacks (a Python call per collection: ~1 us)
class GcWatch:
    def __init__(self):
        self.ns = 0
        self.runs = 0
        self.collected = 0
        self.gen_runs = [0, 0, 0]
        self.gen_ns = [0, 0, 0]
        self._t0 = 0
        gc.callbacks.append(self.cb)

    def cb(self, phase, info):
        if phase == "start":
            self._t0 = time.perf_counter_ns()
        else:
            dt = time.perf_counter_ns() - self._t0
            g = info["generation"]
            self.ns += dt
            self.runs += 1
            self.collected += info["collected"]
            self.gen_runs[g] += 1
            self.gen_ns[g] += dt

    def fields(self):
        s = " gc_sec=%.4f gc_runs=%d" % (self.ns * 1e-9, self.runs)
        for g in range(3):
            s += " gen%d=%d/%.3f" % (g, self.gen_runs[g], self.gen_ns[g] * 1e-9)
        return s


# ---------------------------------------------------------------------------
# binary-trees: the benchmarks game's Python program (tuples), one process


def make_tree(d):
    return (make_tree(d - 1), make_tree(d - 1)) if d > 0 else (None, None)


def check_tree(node):
    l, r = node
    if l is None:
        return 1
    return 1 + check_tree(l) + check_tree(r)


def binarytrees(max_depth):
    min_depth = 4
    max_depth = max(min_depth + 2, max_depth)
    w = GcWatch()
    t0 = now()
    s = 0
    c = check_tree(make_tree(max_depth + 1))
    s += c
    print("stretch tree of depth %d\t check: %d" % (max_depth + 1, c))
    long_lived_tree = make_tree(max_depth)
    for d in range(min_depth, max_depth + 1, 2):
        iterations = 2 ** (max_depth - d + min_depth)
        check = 0
        for _ in range(iterations):
            check += check_tree(make_tree(d))
        s = (s * 31 + check) & MASK
        print("%d\t trees of depth %d\t check: %d" % (iterations, d, check))
    c = check_tree(long_lived_tree)
    s = (s * 31 + c) & MASK
    print("long lived tree of depth %d\t check: %d" % (max_depth, c))
    t = now() - t0
    print("RESULT bench=binarytrees impl=%s n=%d sec=%.4f checksum=%d%s" % (IMPL, max_depth, t, s, w.fields()))


# ---------------------------------------------------------------------------
# GCBench: the classic Python port (a plain class, as in PyPy's gcbench.py)

kStretchTreeDepth = 18
kLongLivedTreeDepth = 16
kArraySize = 500000
kMinTreeDepth = 4
kMaxTreeDepth = 16


class Node(object):
    def __init__(self, l=None, r=None):
        self.left = l
        self.right = r


def tree_size(i):
    return (1 << (i + 1)) - 1


def num_iters(i):
    return 2 * tree_size(kStretchTreeDepth) // tree_size(i)


def gb_make_tree(depth):
    if depth <= 0:
        return Node()
    return Node(gb_make_tree(depth - 1), gb_make_tree(depth - 1))


def populate(depth, node):
    if depth <= 0:
        return
    depth -= 1
    node.left = Node()
    node.right = Node()
    populate(depth, node.left)
    populate(depth, node.right)


def gcount(n):
    return 1 + gcount(n.left) + gcount(n.right) if n is not None else 0


def time_construction(depth):
    niters = num_iters(depth)
    s = 0
    for i in range(niters):
        temp_tree = Node()
        populate(depth, temp_tree)
        if i == niters - 1:
            s += gcount(temp_tree)
        temp_tree = None
    for i in range(niters):
        temp_tree = gb_make_tree(depth)
        if i == niters - 1:
            s += gcount(temp_tree)
        temp_tree = None
    print("%d trees of depth %d top-down and bottom-up" % (niters, depth))
    return s


def gcbench():
    w = GcWatch()
    t0 = now()
    temp_tree = gb_make_tree(kStretchTreeDepth)
    s = gcount(temp_tree)
    temp_tree = None
    long_lived_tree = Node()
    populate(kLongLivedTreeDepth, long_lived_tree)
    array = [0.0] * kArraySize
    for i in range(1, kArraySize // 2):
        array[i] = 1.0 / i
    for d in range(kMinTreeDepth, kMaxTreeDepth + 1, 2):
        s = (s * 31 + time_construction(d)) & MASK
    if long_lived_tree is None or array[1000] != 1.0 / 1000:
        raise SystemExit("GCBench: failed")
    s = (s * 31 + gcount(long_lived_tree)) & MASK
    t = now() - t0
    print("RESULT bench=gcbench impl=%s sec=%.4f checksum=%d%s" % (IMPL, t, s, w.fields()))


# ---------------------------------------------------------------------------
# garbage cycles, full collection, sizes: a two-slot object


class P(object):
    __slots__ = ("a", "b")

    def __init__(self):
        self.a = None
        self.b = None


class Plain(object):
    def __init__(self):
        self.a = None
        self.b = None


def cycles(n):
    w = GcWatch()
    t0 = now()
    for _ in range(n):
        a = P()
        b = P()
        a.a = b
        b.a = a
    a = b = None
    t_loop = now() - t0
    gc.collect()  # what the automatic collections left
    t = now() - t0
    # every object reclaimed: the callbacks counted them all
    check = n if w.collected >= 2 * n else -1
    print("RESULT bench=cycles impl=%s n=%d sec=%.4f loop_sec=%.4f collected=%d checksum=%d%s"
          % (IMPL, n, t, t_loop, w.collected, check, w.fields()))


fullgc_root = None


def fullgc(n):
    global fullgc_root
    gc.disable()  # build without automatic collections
    tb = now()
    nodes = [None] * n
    for i in range(n):
        x = P()
        if i > 0:
            x.a = nodes[i - 1]
            x.b = nodes[(i - 1) // 2]
        nodes[i] = x
    fullgc_root = nodes[n - 1]
    nodes = None
    build = now() - tb
    gc.enable()
    found0 = gc.collect()  # the first one moves everything to the oldest generation
    best = 1e30
    found = 0
    for _ in range(3):
        t0 = now()
        found += gc.collect()
        best = min(best, now() - t0)
    live = 0
    x = fullgc_root
    while x is not None:
        live += 1
        x = x.a
    tracked = len(gc.get_objects())
    print("RESULT bench=fullgc impl=%s n=%d sec=%.6f build_sec=%.3f first_found=%d found=%d tracked=%d checksum=%d"
          % (IMPL, n, best, build, found0, found, tracked, live if found0 == 0 and found == 0 else -live))
    # take it down without a deep recursion of deallocs (not timed)
    x = fullgc_root
    fullgc_root = None
    while x is not None:
        nxt = x.a
        x.a = x.b = None
        x = nxt


def size(n):
    import tracemalloc

    p = P()
    q = Plain()
    slots = sys.getsizeof(p)
    plain = sys.getsizeof(q)
    plain_dict = sys.getsizeof(q.__dict__)  # materialises the dict
    # the heap bytes really taken per object, as tracemalloc sees them
    # (pymalloc requests, GC header included; not pymalloc's pool overhead)
    res = []
    for cls in (P, Plain):
        keep = [None] * n
        tracemalloc.start()
        m0 = tracemalloc.get_traced_memory()[0]
        for i in range(n):
            keep[i] = cls()
        m1 = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        res.append((m1 - m0) / n)
        keep = None
    print("RESULT bench=size impl=%s n=%d sizeof=%d heap_bytes=%.2f plain_sizeof=%d plain_dict_sizeof=%d "
          "plain_heap_bytes=%.2f checksum=%d" % (IMPL, n, slots, res[0], plain, plain_dict, res[1], n))


def main():
    sys.setrecursionlimit(10000)
    w = sys.argv[1]
    arg = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    if w == "binarytrees":
        binarytrees(arg or 21)
    elif w == "gcbench":
        gcbench()
    elif w == "cycles":
        cycles(arg or 1000000)
    elif w == "fullgc":
        fullgc(arg or 1000000)
    elif w == "size":
        size(arg or 1000000)
    else:
        raise SystemExit("unknown workload " + w)


if __name__ == "__main__":
    main()
