#!/usr/bin/env bash
# The reclaim command's snapshot commands (top, diff, flamegraph, export)
# on two snapshots of a known workload written by make_snapshot: exact
# lines and figures, the exports' sums, well-formed SVG and JSON, and the
# one-line errors with status 2.
# usage: test_snapshots.sh RECLAIM_BINARY MAKE_SNAPSHOT_BINARY
set -u
cli=$1 make=$2
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" # fail, $tmp, expect
before=$tmp/before.rcsnap after=$tmp/after.rcsnap

"$make" "$before" "$after" > "$tmp/facts" || { echo "FAIL: make_snapshot failed"; exit 1; }
# file=..., line_a=..., line_b1=..., line_b2=...
. "$tmp/facts"
f=$file


# ---- top ---------------------------------------------------------------------
# after: leaf_b 10 x 1100 B and 50 x 100 B, leaf_a 80 x 32 B (20 of 100 freed)
expect "top (by line, the default)" "$f:$line_b2: size=10.7 KiB, count=10, average=1100 B
$f:$line_b1: size=5000 B, count=50, average=100 B
$f:$line_a: size=2560 B, count=80, average=32 B
Total: 18.1 KiB in 140 blocks" "$cli" top "$after"

expect "top --by line" "$("$cli" top "$after")" "$cli" top "$after" --by line

expect "top --by file" "$f: size=18.1 KiB, count=140, average=133 B
Total: 18.1 KiB in 140 blocks" "$cli" top --by file "$after"

# 16000 B is 15.625 KiB: printed as Python prints it (round half to even)
expect "top --by function" "$f: leaf_b(): size=15.6 KiB, count=60, average=267 B
$f: leaf_a(): size=2560 B, count=80, average=32 B
Total: 18.1 KiB in 140 blocks" "$cli" top --by=function "$after"

expect "top --by traceback" "$f:$line_b2: size=10.7 KiB, count=10, average=1100 B
  File \"$f\", line $(grep -n 'outer_b();' "$f" | cut -d: -f1), in main
  File \"$f\", line $(grep -n '    mid_b();' "$f" | cut -d: -f1), in outer_b
  File \"$f\", line $(grep -n '    leaf_b();' "$f" | cut -d: -f1), in mid_b
  File \"$f\", line $line_b2, in leaf_b
2 other: size=7560 B, count=130, average=58 B
Total: 18.1 KiB in 140 blocks" \
  "$cli" top "$after" --by traceback -n 1 --exclude '*nothing*' --include '*make_snapshot.c'
"$cli" top "$after" --by traceback > "$tmp/out"
[ "$(grep -c '^  File ' "$tmp/out")" -eq 12 ] ||
  fail "top --by traceback: not 3 tracebacks of 4 frames: $(cat "$tmp/out")"

expect "top -n 2" "$f:$line_b2: size=10.7 KiB, count=10, average=1100 B
$f:$line_b1: size=5000 B, count=50, average=100 B
1 other: size=2560 B, count=80, average=32 B
Total: 18.1 KiB in 140 blocks" "$cli" top -n 2 "$after"
expect "top -n 0 (all)" "$("$cli" top "$after")" "$cli" top -n0 "$after"

expect "top before" "$f:$line_a: size=3200 B, count=100, average=32 B
Total: 3200 B in 100 blocks" "$cli" top "$before"

expect "top --exclude" "Total: 0 B in 0 blocks" "$cli" top "$after" --exclude '*make_snapshot.c'

# ---- diff --------------------------------------------------------------------
expect "diff" "$f:$line_b2: size=10.7 KiB (+10.7 KiB), count=10 (+10), average=1100 B
$f:$line_b1: size=5000 B (+5000 B), count=50 (+50), average=100 B
$f:$line_a: size=2560 B (-640 B), count=80 (-20), average=32 B
Total: 18.1 KiB (+15.0 KiB) in 140 blocks (+40)" "$cli" diff "$before" "$after"

expect "diff --by function -n 1" "$f: leaf_b(): size=15.6 KiB (+15.6 KiB), count=60 (+60), average=267 B
1 other: size=2560 B (-640 B), count=80 (-20), average=32 B
Total: 18.1 KiB (+15.0 KiB) in 140 blocks (+40)" "$cli" diff --by function -n 1 "$before" "$after"

# the other way round: what was added is gone (no average for no blocks)
"$cli" diff "$after" "$before" > "$tmp/out"
grep -qx "$f:$line_b2: size=0 B (-10.7 KiB), count=0 (-10)" "$tmp/out" || fail "diff reversed: $(cat "$tmp/out")"
grep -qx "$f:$line_a: size=3200 B (+640 B), count=100 (+20), average=32 B" "$tmp/out" || fail "diff reversed: leaf_a"
grep -qx "Total: 3200 B (-15.0 KiB) in 100 blocks (-40)" "$tmp/out" || fail "diff reversed: total"

"$cli" diff "$before" "$after" --by traceback > "$tmp/out"
[ "$(grep -c '^  File ' "$tmp/out")" -eq 12 ] ||
  fail "diff --by traceback: not 3 tracebacks of 4 frames: $(cat "$tmp/out")"

# ---- flamegraph --------------------------------------------------------------
"$cli" flamegraph "$after" -o "$tmp/flame.svg" 2> "$tmp/stderr" || fail "flamegraph: $(cat "$tmp/stderr")"
if command -v xmllint > /dev/null; then
  xmllint --noout "$tmp/flame.svg" || fail "flamegraph: not well-formed XML"
else
  fail "xmllint not installed (Debian package libxml2-utils)"
fi
for fn in main outer_a mid_a leaf_a outer_b mid_b leaf_b; do
  grep -q "data-n=\"$fn\"" "$tmp/flame.svg" || fail "flamegraph: no box for $fn"
done
grep -q "<title>leaf_a ($f:$line_a)&#10;2560 bytes, 13.79%</title>" "$tmp/flame.svg" ||
  fail "flamegraph: leaf_a's title"
grep -q '<title>all&#10;18560 bytes, 100.00%</title>' "$tmp/flame.svg" || fail "flamegraph: the root"
grep -q '<script' "$tmp/flame.svg" || fail "flamegraph: no script"
grep -Eq '(href|src)="(https?:)?//' "$tmp/flame.svg" && fail "flamegraph: refers to an outside resource"
# empty snapshot: still a well-formed graph
"$cli" flamegraph "$after" --exclude '*' -o "$tmp/empty.svg" || fail "flamegraph of nothing"
command -v xmllint > /dev/null && { xmllint --noout "$tmp/empty.svg" || fail "empty flamegraph: not XML"; }
"$cli" flamegraph "$after" -o - | grep -q '^<svg' || fail "flamegraph -o -"

# ---- exports -----------------------------------------------------------------
"$cli" export "$after" --collapsed -o "$tmp/stacks.txt" || fail "export --collapsed"
[ "$(wc -l < "$tmp/stacks.txt")" -eq 3 ] || fail "collapsed: not 3 stacks: $(cat "$tmp/stacks.txt")"
[ "$(awk '{ s += $NF } END { print s }' "$tmp/stacks.txt")" = 18560 ] || fail "collapsed: does not sum to 18560"
grep -qx "main ($f:[0-9]*);outer_a ($f:[0-9]*);mid_a ($f:[0-9]*);leaf_a ($f:$line_a) 2560" "$tmp/stacks.txt" ||
  fail "collapsed: leaf_a's stack: $(cat "$tmp/stacks.txt")"
[ "$("$cli" export --collapsed -o - "$after")" = "$(cat "$tmp/stacks.txt")" ] || fail "export -o -"

"$cli" export "$after" --speedscope -o "$tmp/profile.json" || fail "export --speedscope"
python3 - "$tmp/profile.json" << 'EOF' || fail "speedscope JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["$schema"] == "https://www.speedscope.app/file-format-schema.json"
p = d["profiles"][0]
assert p["type"] == "sampled" and p["unit"] == "bytes", p
assert sum(p["weights"]) == 18560 == p["endValue"], p["weights"]
assert len(p["samples"]) == len(p["weights"]) == 3
names = [f["name"] for f in d["shared"]["frames"]]
for s in p["samples"]:  # root first: main, outer, mid, leaf
    assert [names[i] for i in s][0] == "main" and names[s[-1]].startswith("leaf_"), s
EOF

# ---- names that could break a format ----------------------------------------
# XML and collapsed-stack specials, "]]>", a byte that is not UTF-8, a tab,
# a newline and a control character (escaped in the snapshot file)
printf 'reclaim-snapshot 1\ntraced 300 300\nstrings 3\ns we<ird>&"fn'"'"';x]]>\ns fi\377le;1.c\n' > "$tmp/weird.rcsnap"
printf 's tab\\there\\nnl\001\nframes 2\nf 1 0 7\nf 1 2 0\n' >> "$tmp/weird.rcsnap"
printf 'rows 2\nr 100 1 2 0 1\nr 200 2 1 1\nend\n' >> "$tmp/weird.rcsnap"
"$cli" flamegraph "$tmp/weird.rcsnap" -o "$tmp/weird.svg" || fail "flamegraph of odd names"
command -v xmllint > /dev/null && { xmllint --noout "$tmp/weird.svg" || fail "flamegraph of odd names: not XML"; }
"$cli" export "$tmp/weird.rcsnap" --collapsed -o "$tmp/weird.txt" || fail "collapsed of odd names"
[ "$(wc -l < "$tmp/weird.txt")" -eq 2 ] || fail "collapsed of odd names: not 2 lines: $(cat -A "$tmp/weird.txt")"
[ "$(tr -cd ';' < "$tmp/weird.txt" | wc -c)" -eq 1 ] || fail "collapsed: a ';' inside a name: $(cat "$tmp/weird.txt")"
[ "$(awk '{ s += $NF } END { print s }' "$tmp/weird.txt")" = 300 ] || fail "collapsed of odd names: sum"
"$cli" export "$tmp/weird.rcsnap" --speedscope -o - | python3 -c '
import json, sys
d = json.load(sys.stdin)
names = sorted(f["name"] for f in d["shared"]["frames"])
assert names == ["tab\there\nnl\x01", "we<ird>&\"fn'"'"';x]]>"], names
assert sum(d["profiles"][0]["weights"]) == 300' || fail "speedscope of odd names"

# ---- errors: one line on stderr, status 2 ------------------------------------
# error NAME PATTERN COMMAND...
error() {
  local name=$1 pattern=$2; shift 2
  "$@" > "$tmp/out" 2> "$tmp/stderr"; local rc=$?
  [ $rc -eq 2 ] || fail "$name: exit status $rc, not 2"
  [ "$(wc -l < "$tmp/stderr")" -eq 1 ] || fail "$name: not one line on stderr: $(cat "$tmp/stderr")"
  grep -q "^reclaim [a-z]*: .*$pattern" "$tmp/stderr" || fail "$name: message '$(cat "$tmp/stderr")' lacks '$pattern'"
}
error "missing file" "cannot open '$tmp/none.rcsnap'" "$cli" top "$tmp/none.rcsnap"
head -c 150 "$after" > "$tmp/cut.rcsnap"
error "truncated file" "'$tmp/cut.rcsnap' line" "$cli" top "$tmp/cut.rcsnap"
head -n -1 "$after" > "$tmp/noend.rcsnap"
error "file without end" "noend.rcsnap" "$cli" diff "$before" "$tmp/noend.rcsnap"
printf 'GIF89a\001\000\001\000' > "$tmp/foreign.gif"
error "foreign file" "foreign.gif' line .*: not a reclaim snapshot" "$cli" flamegraph "$tmp/foreign.gif" -o "$tmp/x.svg"
[ -e "$tmp/x.svg" ] && fail "foreign file: an output was written"
printf 'time,bytes\n0,100\n' > "$tmp/foreign.csv"
error "foreign text file" "foreign.csv' line 1: not a reclaim snapshot" \
  "$cli" export "$tmp/foreign.csv" --collapsed -o -
error "unknown option" "unknown option '--bogus'" "$cli" top "$after" --bogus
error "unknown option for the command" "unknown option '-o'" "$cli" top "$after" -o x
error "bad --by" "--by must be line, file, function or traceback, not 'size'" "$cli" top "$after" --by size
error "bad -n" "-n needs a whole number" "$cli" diff -n x "$before" "$after"
error "--by without a value" "option '--by' needs a value" "$cli" top "$after" --by
error "missing snapshot" "missing a snapshot file" "$cli" top
error "missing new snapshot" "missing the new snapshot file" "$cli" diff "$before"
error "extra argument" "unexpected argument" "$cli" top "$before" "$after"
error "missing -o" "missing -o" "$cli" flamegraph "$after"
error "missing -o (export)" "missing -o" "$cli" export "$after" --collapsed
error "missing format" "choose a format" "$cli" export "$after" -o "$tmp/x"
error "two formats" "choose one of" "$cli" export "$after" --collapsed --speedscope -o "$tmp/x"
error "unwritable output" "cannot write '$tmp/no/dir/out.svg'" "$cli" flamegraph "$after" -o "$tmp/no/dir/out.svg"
if [ -w /dev/full ]; then
  error "full disk" "writing '/dev/full' failed" "$cli" export "$after" --speedscope -o /dev/full
fi

[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "snapshots: all checks passed"
