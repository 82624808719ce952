"""Allocation-heavy workload for tests/preload/python3.sh.

Everything printed is deterministic (run with PYTHONHASHSEED=0), so the
output under LD_PRELOAD=libreclaim-malloc.so must be byte-identical to a
plain run. Run with PYTHONMALLOC=malloc, every Python object comes from the
C library's malloc, i.e. from reclaim.

Covers: dicts, lists, sets, strings and bytes of every size (small blocks,
medium classes and direct mappings, realloc growth), a JSON round trip,
sorting 500k items, threads allocating in parallel (zlib work runs with the
GIL released, so those threads call malloc/free concurrently), blocks freed
by another thread than their allocator, and os.fork() while those threads
are running, with children that allocate, start a thread and exit.
"""

import gc
import hashlib
import json
import os
import random
import sys
import threading
import zlib


def digest(obj):
    if not isinstance(obj, (bytes, bytearray)):
        obj = repr(obj).encode()
    return hashlib.sha256(obj).hexdigest()[:16]


def section(name, value):
    print(f"{name}: {value}", flush=True)


# --- dicts, lists, sets, strings -------------------------------------------
rng = random.Random(12345)
words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(1, 24)))
         for _ in range(30000)]
counts = {}
for w in words:
    counts[w] = counts.get(w, 0) + 1
section("distinct words", len(counts))
section("top words", sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5])

index = {i: [str(i) * (i % 7 + 1), i * 3, (i, -i)] for i in range(200000)}
for i in range(0, 200000, 3):
    del index[i]
section("index", (len(index), digest(sorted(index)[:1000]), sum(len(v[0]) for v in index.values())))

nested = [[j * i for j in range(i % 50)] for i in range(20000)]
section("nested", (sum(map(len, nested)), sum(sum(x) for x in nested)))
s = set()
for i in range(150000):
    s.add((i * 7919) % 100003)
section("set", (len(s), sum(s)))

# strings and bytes of growing size: realloc through every size class and
# into large mappings
pieces = []
buf = bytearray()
text = ""
for i in range(3000):
    buf += bytes([i % 256]) * (i % 300 + 1)
    if i % 10 == 0:
        text += f"<{i}:" + "x" * (i % 97) + ">"
    pieces.append(("p%05d" % i) * (1 + i % 40))
big = "|".join(pieces)
section("bytearray", (len(buf), digest(bytes(buf))))
section("text", (len(text), digest(text.encode())))
section("join", (len(big), digest(big.encode()), big.count("p0")))
huge = [bytes(rng.getrandbits(8) for _ in range(64)) * (1 << k) for k in range(4, 15)]
section("huge blocks", [len(h) for h in huge] + [digest(b"".join(huge))])
del huge, pieces, buf

# --- JSON round trip ----------------------------------------------------------
doc = {
    "users": [{"id": i, "name": f"user{i}", "tags": [f"t{j}" for j in range(i % 8)],
               "score": (i * 37 % 1000) / 10.0, "active": i % 3 == 0,
               "meta": {"k": "v" * (i % 30), "n": None}} for i in range(15000)],
    "title": "reclaim \u2603 preload \U0001F600",
}
encoded = json.dumps(doc, sort_keys=True)
decoded = json.loads(encoded)
section("json", (len(encoded), decoded == doc, digest(encoded.encode())))
pretty = json.dumps(decoded, indent=2, ensure_ascii=False)
section("json pretty", (len(pretty), digest(pretty.encode())))
del doc, decoded, encoded, pretty

# --- sorting -------------------------------------------------------------------
nums = [rng.randint(-10**9, 10**9) for _ in range(500000)]
nums.sort()
section("sorted ints", (nums[0], nums[len(nums) // 2], nums[-1], digest(nums[::997])))
strs = [f"{rng.random():.12f}-{i}" for i in range(200000)]
strs.sort(reverse=True)
section("sorted strings", (strs[0], strs[-1], digest(strs[::499])))
recs = sorted(((n % 1000, str(n), n) for n in nums[:150000]), key=lambda r: (r[0], r[1]))
section("sorted tuples", (recs[0], recs[-1], digest(recs[::1009])))
del nums, strs, recs
gc.collect()


# --- threads ---------------------------------------------------------------------
LETTERS = bytes(97 + i % 26 for i in range(256))


def worker(k, out, handoff):
    r = random.Random(k)
    local = {}
    total = 0
    for it in range(40):
        blob = r.randbytes(3000).translate(LETTERS) * 20
        z = zlib.compress(blob, 6)          # GIL released: malloc from many threads
        back = zlib.decompress(z)
        assert back == blob
        total += len(z)
        local[it] = [back[:r.randrange(1, 200)] for _ in range(50)]
        handoff.append(bytearray(back[:4096 + it]))  # freed later by main thread
    out[k] = (total, len(local), digest(sorted(local.items())))


results = [None] * 4
handoffs = [[] for _ in range(4)]
threads = [threading.Thread(target=worker, args=(k, results, handoffs[k])) for k in range(4)]
for t in threads:
    t.start()


# --- fork while the threads run ---------------------------------------------------
def child_work(n):
    """Runs in a forked child: allocate, use a thread, verify, exit."""
    d = {f"k{i}": list(range(i % 100)) for i in range(4000 + n)}
    blob = json.dumps(d).encode()
    ok = json.loads(zlib.decompress(zlib.compress(blob))) == d
    box = []
    th = threading.Thread(target=lambda: box.append(sum(len(v) for v in d.values())))
    th.start()
    th.join()
    ok = ok and box == [sum(i % 100 for i in range(4000 + n))]
    return ok


statuses = []
for n in range(3):
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = 0 if child_work(n) else 3
        except BaseException:
            code = 4
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    statuses.append(os.waitstatus_to_exitcode(status))

for t in threads:
    t.join()
section("threads", results)
section("handoff", sum(len(b) for h in handoffs for b in h))
handoffs.clear()
section("fork children exit codes", statuses)

# a child that forks a grandchild
pid = os.fork()
if pid == 0:
    pid2 = os.fork()
    if pid2 == 0:
        os._exit(0 if len(json.dumps(list(range(50000)))) > 0 else 1)
    _, st = os.waitpid(pid2, 0)
    os._exit(os.waitstatus_to_exitcode(st) + 10)
_, status = os.waitpid(pid, 0)
section("grandchild", os.waitstatus_to_exitcode(status))

gc.collect()
section("done", sys.version_info[:2] >= (3, 6))
