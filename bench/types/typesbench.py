"""typesbench.py — the CPython side of bench/types: the operations of
typesbench.c, written the way Python code writes them.

Usage: python3 typesbench.py MODE N
  mem-list N          N ints appended to a list          (l.append(i))
  mem-dict N          N int -> int items                  (d[i] = 2 * i)
  mem-set N           N ints added to a set               (s.add(i))
  mem-floats N        N floats appended to a list         (l.append(float(i)))
  mem-array N         array.array('d') of N zeros, every element set
  mem-array-append N  N floats appended to an empty array.array('d')
  mem-numpy N         numpy.arange(N, dtype=float64) (run it with an
                      interpreter that has numpy: /usr/bin/python3)
  stream N            sum(filter(lambda x: x % 2 == 0, map(lambda x: x * 3, range(N))))
  genstream N         the same fed by a generator function large_range(N)
  append N            N appends of ints to a list
  dict N              N inserts d[i] = 2 * i, then N lookups d[i]
  setadd N            N adds of ints to a set

Each mode prints one line "RESULT mode=MODE impl=IMPL n=N key=value ..."
that run.sh parses, with the checksum typesbench.c prints. Times are
time.perf_counter() inside the program.

Bytes per element, for the mem- modes, three ways:
  heap_bytes   tracemalloc's traced memory after building minus before, / N:
               the bytes requested from the allocators (an int asks for 28)
  block_bytes  the same blocks, each rounded up to what it occupies: the
               pymalloc block (16-byte classes) up to 512 bytes, and above
               that glibc malloc's chunk (8-byte header, 16-byte steps), or
               its own mapping (16-byte header, whole pages) from glibc's
               mmap threshold of 128 KiB on: what reclaim's bytes_in_use
               counts on its side (blocks at block size, large blocks at
               their page-rounded size)
  rss_bytes    growth of the resident set over a separate build without
               tracemalloc (which itself allocates per traced block)
"""
import gc
import resource
import sys
import time
import tracemalloc

IMPL = "cpython"
MASK64 = 1 << 64


def now():
    return time.perf_counter()


def rss_now():
    # anonymous resident bytes: resident minus shared (file-backed) pages,
    # so interpreter code faulted in while building does not count
    with open("/proc/self/statm") as f:
        fields = f.read().split()
        return (int(fields[1]) - int(fields[2])) * resource.getpagesize()


def maxrss_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# ---------------------------------------------------------------------------
# Memory: one structure, built as typesbench.c builds it


def build_list(n):
    lst = []
    for i in range(n):
        lst.append(i)
    return lst


def build_dict(n):
    d = {}
    for i in range(n):
        d[i] = 2 * i
    return d


def build_set(n):
    s = set()
    for i in range(n):
        s.add(i)
    return s


def build_floats(n):
    lst = []
    for i in range(n):
        lst.append(float(i))
    return lst


def build_array(n):
    import array
    a = array.array("d", [0.0]) * n
    for i in range(n):
        a[i] = i
    return a


def build_array_append(n):
    import array
    a = array.array("d")
    for i in range(n):
        a.append(float(i))
    return a


def build_numpy(n):
    import numpy
    return numpy.arange(n, dtype=numpy.float64)


BUILDERS = {
    "mem-list": build_list,
    "mem-dict": build_dict,
    "mem-set": build_set,
    "mem-floats": build_floats,
    "mem-array": build_array,
    "mem-array-append": build_array_append,
    "mem-numpy": build_numpy,
}


def mem_checksum(mode, obj, n):
    s = len(obj)
    if mode == "mem-dict":
        return s * 1000003 + obj[n // 2]
    if mode == "mem-set":
        return s * 1000003 + (1 if (n - 1) in obj else 0)
    if mode in ("mem-array", "mem-array-append", "mem-numpy"):
        return s * 1000003 + int(sum(obj))
    return s * 1000003 + int(obj[-1])


def block_size(size):
    if size <= 512:  # pymalloc: 16-byte classes
        return (size + 15) // 16 * 16
    if size + 16 >= 128 * 1024:  # glibc malloc maps it: a 16-byte header, whole pages
        return (size + 16 + 4095) // 4096 * 4096
    return (size + 8 + 15) // 16 * 16  # glibc malloc's heap: an 8-byte header, 16-byte steps


def traced_sizes(snapshot):
    traces = getattr(snapshot.traces, "_traces", None)
    if traces is not None:  # CPython 3.x: (domain, size, traceback, nframe) tuples
        return [t[1] for t in traces]
    return [t.size for t in snapshot.traces]


def mem(mode, n):
    build = BUILDERS[mode]
    impl = "numpy" if mode == "mem-numpy" else IMPL
    if mode == "mem-numpy":
        import numpy  # noqa: F401  (imported before any measurement)
    build(1000)  # warm up: code objects, the array module, numpy's caches
    # 1. resident set, no tracemalloc
    r0 = rss_now()
    t0 = now()
    obj = build(n)
    sec = now() - t0
    r1 = rss_now()
    check = mem_checksum(mode, obj, n)
    extra = ""
    if mode == "mem-numpy":
        # an array that owns its data: getsizeof counts the object and the
        # data, which numpy asks malloc for: counted as block_size counts it
        sized = sys.getsizeof(obj) - obj.nbytes + block_size(obj.nbytes)
        extra = " nbytes=%d sizeof=%d numpy_bytes=%.3f numpy=%s" % (
            obj.nbytes, sys.getsizeof(obj), sized / n, obj.__class__.__module__ + "-" +
            __import__("numpy").__version__)
    elif mode in ("mem-array", "mem-array-append"):
        extra = " sizeof=%d" % sys.getsizeof(obj)
    obj = None
    gc.collect()
    # 2. tracemalloc: the same build again
    tracemalloc.start()
    m0 = tracemalloc.get_traced_memory()[0]
    obj = build(n)
    m1 = tracemalloc.get_traced_memory()[0]
    snap = tracemalloc.take_snapshot()
    tracemalloc.stop()
    sizes = traced_sizes(snap)
    snap = None
    blocks = sum(block_size(s) for s in sizes)
    if mem_checksum(mode, obj, n) != check:
        raise SystemExit("typesbench.py: the two builds differ")
    check %= MASK64
    print("RESULT mode=%s impl=%s n=%d heap_bytes=%.3f block_bytes=%.3f rss_bytes=%.3f traced_blocks=%d sec=%.4f%s "
          "checksum=%d" % (mode, impl, n, (m1 - m0) / n, blocks / n, (r1 - r0) / n, len(sizes), sec, extra, check))


# ---------------------------------------------------------------------------
# Streams


def large_range(n):
    i = 0
    while i < n:
        yield i
        i += 1


def stream(mode, n):
    rss0 = maxrss_kib()
    t0 = now()
    src = range(n) if mode == "stream" else large_range(n)
    total = sum(filter(lambda x: x % 2 == 0, map(lambda x: x * 3, src)))
    sec = now() - t0
    print("RESULT mode=%s impl=%s n=%d sec=%.4f ns_per_item=%.2f maxrss_kib=%d start_maxrss_kib=%d checksum=%d"
          % (mode, IMPL, n, sec, sec * 1e9 / n, maxrss_kib(), rss0, total % MASK64))


# ---------------------------------------------------------------------------
# Speed


def append_speed(n):
    t0 = now()
    lst = []
    append = lst.append
    for i in range(n):
        append(i)
    sec = now() - t0
    check = len(lst) * 1000003 + lst[-1]
    t1 = now()
    append = lst = None
    free_sec = now() - t1
    print("RESULT mode=append impl=%s n=%d sec=%.4f ns_per_op=%.2f free_sec=%.4f checksum=%d"
          % (IMPL, n, sec, sec * 1e9 / n, free_sec, check % MASK64))


def dict_speed(n):
    t0 = now()
    d = {}
    for i in range(n):
        d[i] = 2 * i
    t1 = now()
    for i in range(n):
        d[i]
    t2 = now()
    check = sum(d[i] for i in range(n)) * 1000003 + len(d)
    print("RESULT mode=dict impl=%s n=%d insert_sec=%.4f insert_ns=%.2f lookup_sec=%.4f lookup_ns=%.2f checksum=%d"
          % (IMPL, n, t1 - t0, (t1 - t0) * 1e9 / n, t2 - t1, (t2 - t1) * 1e9 / n, check % MASK64))


def setadd_speed(n):
    t0 = now()
    s = set()
    add = s.add
    for i in range(n):
        add(i)
    sec = now() - t0
    print("RESULT mode=setadd impl=%s n=%d sec=%.4f ns_per_op=%.2f checksum=%d"
          % (IMPL, n, sec, sec * 1e9 / n, len(s)))


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    mode, n = sys.argv[1], int(sys.argv[2])
    if n <= 0:
        raise SystemExit("N must be positive")
    if mode in BUILDERS:
        mem(mode, n)
    elif mode in ("stream", "genstream"):
        stream(mode, n)
    elif mode == "append":
        append_speed(n)
    elif mode == "dict":
        dict_speed(n)
    elif mode == "setadd":
        setadd_speed(n)
    else:
        raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main()
