#!/usr/bin/env bash
# `reclaim heap` (top, growth, diff, why, dot, export) on two dumps of a
# known heap written by make_heapdump: exact output, DOT parsed back, the
# .heapsnapshot export checked against its own meta with python3, and the
# one-line errors with status 2.
# usage: test_heap_cli.sh RECLAIM_BINARY MAKE_HEAPDUMP_BINARY
set -u
cli=$1 make=$2
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" # fail, $tmp, expect
before=$tmp/before.rcheap after=$tmp/after.rcheap

"$make" "$before" "$after" > "$tmp/facts" || { echo "FAIL: make_heapdump failed"; exit 1; }
# file, node_line, leaf_line, and the addresses a b c d x y z l4 u1 u2
. "$tmp/facts"


# expect_error NAME PATTERN COMMAND...: status 2, nothing on stdout, one
# line on stderr that starts "reclaim heap" and contains PATTERN
expect_error() {
  local name=$1 pattern=$2; shift 2
  "$@" > "$tmp/stdout" 2> "$tmp/stderr"; local rc=$?
  [ $rc -eq 2 ] || fail "$name: exit status $rc, not 2"
  [ -s "$tmp/stdout" ] && fail "$name: wrote to stdout: $(cat "$tmp/stdout")"
  [ "$(wc -l < "$tmp/stderr")" -eq 1 ] || fail "$name: not one line on stderr: $(cat "$tmp/stderr")"
  grep -q '^reclaim heap' "$tmp/stderr" || fail "$name: message does not start 'reclaim heap': $(cat "$tmp/stderr")"
  grep -qF -- "$pattern" "$tmp/stderr" || fail "$name: message lacks '$pattern': $(cat "$tmp/stderr")"
}

# ---- top ---------------------------------------------------------------------
# after: 8 nodes (48 B), 5 leaves (32 B); retained: node = A (3 nodes + D)
# + X (3 nodes + 4 leaves) + the attached half of U (both U) = 544
row() { printf '%12s %14s %14s  %s' "$@"; }
expect "top" "$(row count bytes retained type)
$(row 8 384 544 node)
$(row 5 160 160 leaf)
Total: 13 objects, 544 bytes, 12 references, 2 roots, 2 unreachable" "$cli" heap top "$after"

expect "top --sort bytes -n 1" "$(row count bytes retained type)
$(row 8 384 544 node)
$(row 5 160 '' '(1 other type)')
Total: 13 objects, 544 bytes, 12 references, 2 roots, 2 unreachable" "$cli" heap top "$after" --sort bytes -n 1

expect "top before" "$(row count bytes retained type)
$(row 6 288 320 node)
$(row 1 32 32 leaf)
Total: 7 objects, 320 bytes, 6 references, 2 roots, 0 unreachable" "$cli" heap top -n 0 "$before"

# ---- growth and diff -----------------------------------------------------------
expect "growth" "leaf         5        +4
node         8        +2" "$cli" heap growth "$before" "$after"
expect "growth -n 1" "leaf         5        +4" "$cli" heap growth "$before" "$after" -n 1
expect "growth, nothing grew" "" "$cli" heap growth "$after" "$before"

drow() { printf '%12s %10s %14s %12s  %s' "$@"; }
expect "diff" "$(drow count '(change)' bytes '(change)' type)
$(drow 5 +4 160 +128 leaf)
$(drow 8 +2 384 +96 node)
Total: 13 objects (+6), 544 bytes (+224)" "$cli" heap diff "$before" "$after"
expect "diff reversed" "$(drow count '(change)' bytes '(change)' type)
$(drow 1 -4 32 -128 leaf)
$(drow 6 -2 288 -96 node)
Total: 7 objects (-6), 320 bytes (-224)" "$cli" heap diff "$after" "$before"

# ---- why -----------------------------------------------------------------------
n="size=48 refcount=1 at $file:$node_line"
expect "why l4" "node $x $n (root: 1 reference from outside the heap)
  -> node $y $n
  -> node $z $n
  -> leaf $l4 size=32 refcount=1 at $file:$leaf_line" "$cli" heap why "$after" "$l4"
expect "why d (no 0x)" "node $a $n (root: 1 reference from outside the heap)
  -> node $b $n
  -> leaf $d size=32 refcount=2 at $file:$leaf_line" "$cli" heap why "$after" "${d#0x}"
"$cli" heap why "$after" "$u2" > "$tmp/why" 2>&1 || fail "why u2: status $?"
grep -q "unreachable: no root reaches it" "$tmp/why" || fail "why u2: not marked unreachable: $(cat "$tmp/why")"
[ "$(tail -n 1 "$tmp/why" | awk '{print $3}')" = "$u2" ] || fail "why u2: does not end at $u2: $(cat "$tmp/why")"

# ---- dot -----------------------------------------------------------------------
# back from D: B and C (depth 1), then A (depth 2)
"$cli" heap dot "$after" "$d" --depth 1 -o "$tmp/d1.dot" || fail "dot depth 1: status $?"
grep -c '^  o[0-9]* \[label=' "$tmp/d1.dot" | grep -qx 3 || fail "dot depth 1: not 3 nodes: $(cat "$tmp/d1.dot")"
grep -c '^  o[0-9]* -> o[0-9]*;$' "$tmp/d1.dot" | grep -qx 2 || fail "dot depth 1: not 2 edges: $(cat "$tmp/d1.dot")"
"$cli" heap dot "$after" "$d" > "$tmp/d.dot" || fail "dot: status $?"
python3 - "$tmp/d.dot" "$a" "$b" "$c" "$d" <<'EOF' || fail "dot: the graph read back is wrong"
import re, sys
text = open(sys.argv[1]).read()
a, b, c, d = sys.argv[2:]
assert text.startswith("digraph backrefs {") and text.rstrip().endswith("}"), text
nodes = dict(re.findall(r'^  (o\d+) \[label="[a-z]+\\n(0x[0-9a-f]+)\\n', text, re.M))
edges = {(nodes[p], nodes[q]) for p, q in re.findall(r'^  (o\d+) -> (o\d+);$', text, re.M)}
assert set(nodes.values()) == {a, b, c, d}, nodes
assert edges == {(a, b), (a, c), (b, d), (c, d)}, edges
target = [l for l in text.splitlines() if d in l and "label" in l][0]
assert "#ff9999" in target, target           # the target is highlighted
root = [l for l in text.splitlines() if a in l and "label" in l][0]
assert "#99dd99" in root, root               # A is a root
EOF
if command -v dot > /dev/null; then dot -Tsvg "$tmp/d.dot" -o "$tmp/d.svg" || fail "dot: Graphviz rejects the file"; fi

# ---- export ----------------------------------------------------------------------
"$cli" heap export "$after" -o "$tmp/after.heapsnapshot" || fail "export: status $?"
python3 - "$tmp/after.heapsnapshot" "$x" "$u1" "$u2" <<'EOF' || fail "export: the snapshot is not consistent"
import json, sys
s = json.load(open(sys.argv[1]))
meta = s["snapshot"]["meta"]
nf, ef = meta["node_fields"], meta["edge_fields"]
assert nf == ["type", "name", "id", "self_size", "edge_count", "trace_node_id", "detachedness"], nf
assert ef == ["type", "name_or_index", "to_node"], ef
nodes, edges, strings = s["nodes"], s["edges"], s["strings"]
N, E = len(nf), len(ef)
assert len(nodes) % N == 0 and len(edges) % E == 0
assert s["snapshot"]["node_count"] == len(nodes) // N == 14          # 13 objects and the root
assert s["snapshot"]["edge_count"] == len(edges) // E == 12 + 2 + 1   # references, 2 roots, 1 unreachable
assert sum(nodes[i + 4] for i in range(0, len(nodes), N)) == len(edges) // E
ntypes, etypes = meta["node_types"][0], meta["edge_types"][0]
for i in range(0, len(nodes), N):
    assert 0 <= nodes[i] < len(ntypes) and 0 <= nodes[i + 1] < len(strings)
for i in range(0, len(edges), E):
    t = etypes[edges[i]]
    assert edges[i + 2] % N == 0 and 0 <= edges[i + 2] < len(nodes), edges[i:i + 3]
    if t not in ("element", "hidden"):
        assert 0 <= edges[i + 1] < len(strings)
# node 0: the synthetic root; its edges: 2 "element" (roots), 1 "shortcut"
assert ntypes[nodes[0]] == "synthetic" and strings[nodes[1]] == "(root)" and nodes[4] == 3
kinds = sorted(etypes[edges[i]] for i in range(0, 3 * E, E))
assert kinds == ["element", "element", "shortcut"], kinds
names = sorted(strings[nodes[i + 1]] for i in range(N, len(nodes), N))
assert names == ["leaf"] * 5 + ["node"] * 8, names
assert sum(nodes[i + 3] for i in range(0, len(nodes), N)) == 544
ids = [nodes[i + 2] for i in range(0, len(nodes), N)]
assert len(set(ids)) == len(ids)
EOF
"$cli" heap export "$before" -o - | python3 -c 'import json, sys; json.load(sys.stdin)' || fail "export -o -: not JSON"

# ---- errors ----------------------------------------------------------------------
printf 'hello\n' > "$tmp/foreign"
head -c 200 "$after" > "$tmp/cut"
expect_error "missing file" "cannot open '$tmp/none'" "$cli" heap top "$tmp/none"
expect_error "foreign file" "'$tmp/foreign' is not a reclaim heap dump" "$cli" heap top "$tmp/foreign"
expect_error "truncated file" "'$tmp/cut' is truncated" "$cli" heap why "$tmp/cut" "$x"
expect_error "foreign NEW" "'$tmp/foreign' is not a reclaim heap dump" "$cli" heap diff "$before" "$tmp/foreign"
expect_error "growth one file" "needs two heap dumps" "$cli" heap growth "$before"
expect_error "unknown option" "unknown option '--bogus'" "$cli" heap top "$after" --bogus
expect_error "option of another command" "unknown option '--depth'" "$cli" heap top "$after" --depth 3
expect_error "bad -n" "-n takes a number, not 'x'" "$cli" heap top "$after" -n x
expect_error "bad --sort" "--sort takes count, bytes or retained" "$cli" heap top "$after" --sort size
expect_error "bad address" "bad address 'zz'" "$cli" heap why "$after" zz
expect_error "unknown address" "no object at 0x10 in '$after'" "$cli" heap why "$after" 0x10
expect_error "dot bad address" "bad address '0x'" "$cli" heap dot "$after" 0x
expect_error "dot no address" "needs a heap dump and an address" "$cli" heap dot "$after"
expect_error "export without -o" "-o OUT.heapsnapshot is required" "$cli" heap export "$after"
expect_error "export unwritable" "cannot write '$tmp/no/x.heapsnapshot'" "$cli" heap export "$after" -o "$tmp/no/x.heapsnapshot"
expect_error "no subcommand" "no subcommand given" "$cli" heap
expect_error "unknown subcommand" "unknown subcommand 'tops'" "$cli" heap tops "$after"
expect_error "extra argument" "unexpected argument 'more'" "$cli" heap top "$after" more
expect_error "-o without value" "-o needs a value" "$cli" heap dot "$after" "$d" -o

[ $fails -eq 0 ] && echo "test_heap_cli: all passed"
exit $((fails > 0))
