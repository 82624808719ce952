"""workload.py — workload.c's program in Python, under tracemalloc, for reference.

    python3 workload.py MODE LIVE TOTAL

The same sequence as workload.c (the same xorshift64* generator and seed,
so the same sizes, sites and chains and the same checksum for the same LIVE
and TOTAL): LIVE blocks fill a list of slots, TOTAL - LIVE more replace
random slots, then all are dropped. A block is bytes(n) (one allocation of
n + 33 bytes: pymalloc up to 512 B, malloc above), made in one of six site
functions reached through one of two chains of twelve functions.

MODE: plain (no tracing), tm1 (tracemalloc.start(1)), tm25
(tracemalloc.start(25)). The slots list is made before tracing starts, as
workload.c's slots come from untraced malloc.

Prints one line bench/prof/run.sh parses:
    RESULT mode=M live=L total=T checksum=C cpu_s=S maxrss_kib=K
           traced_bytes=B overhead_bytes=O end_traced_bytes=B2 end_overhead_bytes=O2
traced_bytes is tracemalloc.get_traced_memory()[0] and overhead_bytes
tracemalloc.get_tracemalloc_memory() right after the fill (the largest live
set); end_* the same after the churn; 0 when not tracing. cpu_s is the
CPU time (user + sys) of the fill, churn and drop alone: the sequence is
drawn before it (see draw), and the interpreter's start is left out too.
"""

import resource
import sys
import tracemalloc
from array import array

M64 = (1 << 64) - 1
state = 0x9E3779B97F4A7C15
checksum = 0


def rng():
    global state
    x = state
    x ^= x >> 12
    x ^= (x << 25) & M64
    x ^= x >> 27
    state = x
    return (x * 0x2545F4914F6CDD1D) & M64


def site_node(n):
    return bytes(n)


def site_string(n):
    return bytes(n)


def site_buffer(n):
    return bytes(n)


def site_vector(n):
    return bytes(n)


def site_key(n):
    return bytes(n)


def site_value(n):
    return bytes(n)


SITES = (site_node, site_string, site_buffer, site_vector, site_key, site_value)


def leaf(site, n):
    return SITES[site](n)


def _chain(prefix, bottom):
    """Twelve distinct functions prefix_1 .. prefix_12, each calling the next; prefix_12 calls bottom."""
    nxt = bottom
    for level in range(12, 0, -1):
        def f(site, n, _next=nxt):
            p = _next(site, n)
            return p
        f.__name__ = f.__qualname__ = "%s_%d" % (prefix, level)
        nxt = f
    return nxt


parse_1 = _chain("parse", leaf)
build_1 = _chain("build", leaf)


def draw(live, total):
    """The whole sequence, drawn before tracing starts and before the clock: size, site and chain of
    every block and the slot each churn step replaces, in compact arrays (workload.c draws them as it
    goes, which costs C nothing; in Python the 64-bit arithmetic would allocate several temporary
    ints per block, each traced, and the program would measure that instead of its blocks)."""
    global checksum
    sizes, sites, chains, slots = array("H"), array("B"), array("B"), array("I")
    for j in range(total):
        if j >= live:
            slots.append(rng() % live)
        r = rng()
        band = r % 5
        n = (16 << band) + ((r >> 8) % (16 << band))
        site = (r >> 32) % 6
        chain = (r >> 40) & 1
        checksum = (checksum * 31 + n * 8 + site * 2 + chain) & M64
        sizes.append(n)
        sites.append(site)
        chains.append(chain)
    return sizes, sites, chains, slots


def cpu():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def figures():
    if not tracemalloc.is_tracing():
        return 0, 0
    return tracemalloc.get_traced_memory()[0], tracemalloc.get_tracemalloc_memory()


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: workload.py MODE LIVE TOTAL (plain, tm1, tm25)")
    mode, live, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if live <= 0 or total < live:
        sys.exit("workload.py: LIVE must be positive and TOTAL >= LIVE")
    sizes, sites, chains, churn = draw(live, total)
    slots = [None] * live
    if mode == "tm1":
        tracemalloc.start(1)
    elif mode == "tm25":
        tracemalloc.start(25)
    elif mode != "plain":
        sys.exit("workload.py: unknown mode (plain, tm1, tm25)")
    parse, build = parse_1, build_1
    cpu0 = cpu()

    for i in range(live):
        slots[i] = build(sites[i], sizes[i]) if chains[i] else parse(sites[i], sizes[i])
    traced, overhead = figures()
    for j in range(live, total):
        k = churn[j - live]
        slots[k] = None
        slots[k] = build(sites[j], sizes[j]) if chains[j] else parse(sites[j], sizes[j])
    end_traced, end_overhead = figures()
    for i in range(live):
        slots[i] = None
    cpu_s = cpu() - cpu0

    print("RESULT mode=%s live=%d total=%d checksum=%d cpu_s=%.3f maxrss_kib=%d traced_bytes=%d "
          "overhead_bytes=%d end_traced_bytes=%d end_overhead_bytes=%d"
          % (mode, live, total, checksum, cpu_s, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, traced,
             overhead, end_traced, end_overhead))
    if tracemalloc.is_tracing():
        tracemalloc.stop()


if __name__ == "__main__":
    main()
