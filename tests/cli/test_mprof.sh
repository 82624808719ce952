#!/usr/bin/env bash
# `reclaim mprof run` and `reclaim mprof plot` (docs/mprof.md).
# usage: test_mprof.sh RECLAIM_BINARY MPROF_PHASES_BINARY [LIBRECLAIM_MALLOC]
# With the drop-in library, only the check of a program run through
# `reclaim run` (its malloc's heap figures reach the data file).
#
# mprof_phases (tests/cli/mprof_phases.c) has known phases: a baseline,
# 64 MiB allocated and written in scope "grow", held 300 ms in scope
# "hold" (with "inner" nested), freed in scope "shrink", 1000 garbage
# cycles collected in scope "cycles" (exactly 2000 objects), a forked
# child's scope "child". The data file must show each of them, on one
# clock, in order.
set -u
cli=$1 phases=$2
MiB=1048576
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

if [ $# -ge 3 ]; then
    export RECLAIM_MALLOC_LIB=$3
    py=python3; [ -x /usr/bin/python3 ] && py=/usr/bin/python3
    command -v "$py" > /dev/null || { echo "mprof: no python3, nothing to check"; exit 0; }
    "$cli" mprof run -o pre.dat -- "$cli" run -- "$py" -c 'import time; b = b"x" * (50 << 20); time.sleep(0.3)' \
        2> err || fail "mprof run of reclaim run: $(cat err)"
    awk -v MiB=$MiB '$1 == "H" && $4 >= 50 * MiB { n++ } END { exit !(n >= 3) }' pre.dat \
        || fail "python's 50 MB not in the heap records of the drop-in malloc"
    grep -q '^P [0-9]* [0-9]* bye ' pre.dat || fail "no bye record from python"
    echo "mprof (drop-in malloc): all checks passed"
    exit 0
fi

# ---- a reclaim program with known phases --------------------------------
"$cli" mprof run --interval 10ms -o p.dat -- "$phases" fork status 3 > out 2> err
rc=$?
[ $rc -eq 3 ] || fail "exit status $rc, want the command's 3; stderr: $(cat err)"
[ ! -s err ] || fail "mprof run printed on stderr with -o: $(cat err)"
[ "$(head -1 p.dat)" = "reclaim-mprof 2" ] || fail "first line: $(head -1 p.dat)"
# the heap records count live objects (field 7): the 2000 of the scope "cycles" before their collection
awk '$1 == "S" && $6 == "begin" && $7 == "cycles" { cb = $2; tok = $3 " " $5 } $1 == "S" && $6 == "end" && ($3 " " $5) == tok { ce = $2 }
     $1 == "H" { h[++n] = $2; o[n] = $7 }
     END { for (i = 1; i <= n; i++) if (h[i] >= cb && h[i] <= ce && o[i] >= 2000) exit 0; exit 1 }' p.dat \
    || fail "no heap record inside the scope cycles counts its 2000 objects"
tail -1 p.dat | grep -q '^end [0-9]* exit 3 [0-9]* [0-9]* 0 0$' || fail "end line: $(tail -1 p.dat)"
grep -q "^command $phases fork status 3$" p.dat || fail "command line: $(grep ^command p.dat)"
grep -q '^interval 10000000$' p.dat || fail "interval line: $(grep ^interval p.dat)"

# the figures the test needs, from one awk pass over the file
read -r gb ge hb ib ie he sb se cb ce base grow_max hold_max after_min nm heap_hold heap_after gc_ok hello bye child_pid main_pid < <(awk -v MiB=$MiB '
    $1 == "S" && $6 == "begin" { begin_t[$5] = $2; name[$5] = $7; pid_of[$5] = $3 }
    $1 == "S" && $6 == "end"   { end_t[$5] = $2 }
    $1 == "M" { nm++; t[nm] = $2; rss[nm] = $3 }
    $1 == "H" { nh++; ht[nh] = $2; hin[nh] = $4 }
    $1 == "C" && $5 == "stop" { ns++; st[ns] = $2; sgen[ns] = $6; scol[ns] = $7 }
    $1 == "P" && $4 == "hello" { hello++ }
    $1 == "P" && $4 == "bye" { bye++ }
    END {
        for (k in name) { s[name[k], "b"] = begin_t[k]; s[name[k], "e"] = (k in end_t) ? end_t[k] : -1; p[name[k]] = pid_of[k] }
        gb = s["grow", "b"]; ge = s["grow", "e"]; sb = s["shrink", "b"]; se = s["shrink", "e"]
        base = 0; grow_max = 0; hold_max = 0; after_min = -1
        for (i = 1; i <= nm; i++) {
            if (t[i] < gb && rss[i] > base) base = rss[i]
            if (t[i] >= gb && t[i] <= ge && rss[i] > grow_max) grow_max = rss[i]
            if (t[i] >= ge && t[i] <= sb && rss[i] > hold_max) hold_max = rss[i]
            if (t[i] >= se && (after_min < 0 || rss[i] < after_min)) after_min = rss[i]
        }
        heap_hold = 0; heap_after = -1
        for (i = 1; i <= nh; i++) {
            if (ht[i] >= ge && ht[i] <= sb && hin[i] > heap_hold) heap_hold = hin[i]
            if (ht[i] >= se && (heap_after < 0 || hin[i] > heap_after)) heap_after = hin[i]
        }
        gc_ok = 0
        for (i = 1; i <= ns; i++)
            if (st[i] >= s["cycles", "b"] && st[i] <= s["cycles", "e"] && sgen[i] == 2 && scol[i] == 2000) gc_ok++
        printf "%d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d\n",
            gb, ge, s["hold", "b"], s["inner", "b"], s["inner", "e"], s["hold", "e"], sb, se,
            s["cycles", "b"], s["cycles", "e"], base / MiB, grow_max / MiB, hold_max / MiB, after_min / MiB, nm,
            heap_hold / MiB, heap_after / MiB, gc_ok, hello, bye, p["child"], p["grow"]
    }' p.dat)
[ -n "${main_pid:-}" ] || fail "could not read the data file: $(head -20 p.dat)"
# scopes: all present, closed, in order, nested
for v in gb ge hb ib ie he sb se cb ce; do [ "${!v}" -gt 0 ] || fail "scope marker $v missing or unclosed"; done
[ "$gb" -lt "$ge" ] && [ "$ge" -le "$hb" ] && [ "$hb" -le "$ib" ] && [ "$ib" -lt "$ie" ] && [ "$ie" -le "$he" ] \
    && [ "$he" -le "$sb" ] && [ "$sb" -lt "$se" ] && [ "$se" -le "$cb" ] && [ "$cb" -lt "$ce" ] \
    || fail "scope order: grow $gb-$ge hold $hb-$he inner $ib-$ie shrink $sb-$se cycles $cb-$ce"
# the hold lasts 300 ms on the sampler's clock (the library's clock is the same)
[ $((he - hb)) -ge 290000000 ] && [ $((he - hb)) -le 2000000000 ] || fail "hold lasted $((he - hb)) ns, want ~300 ms"
# RSS: up by at least 60 MiB during grow, held, down by at least 50 MiB after shrink
[ "$nm" -ge 40 ] || fail "only $nm samples in a ~0.8 s run at 10 ms"
[ $((grow_max - base)) -ge 60 ] || fail "RSS rose $((grow_max - base)) MiB during grow (base $base, max $grow_max)"
[ $((hold_max - base)) -ge 60 ] || fail "RSS during the hold: $hold_max MiB (base $base)"
[ "$after_min" -ge 0 ] && [ $((hold_max - after_min)) -ge 50 ] || fail "RSS after shrink: $after_min MiB (peak $hold_max)"
# heap figures: 64 MiB in use during the hold, almost nothing after
[ "$heap_hold" -ge 64 ] || fail "heap bytes in use during the hold: $heap_hold MiB"
[ "$heap_after" -ge 0 ] && [ "$heap_after" -le 2 ] || fail "heap bytes in use after shrink: $heap_after MiB"
# the collection of the 1000 cycles, inside its scope
[ "$gc_ok" -eq 1 ] || fail "$gc_ok collections of generation 2 with 2000 collected inside scope cycles"
[ "$hello" -ge 1 ] && [ "$bye" -ge 1 ] || fail "hello/bye records: $hello/$bye"
# the forked child's scope, under its own pid
[ "$child_pid" -gt 0 ] && [ "$child_pid" -ne "$main_pid" ] || fail "child scope pid $child_pid (main $main_pid)"

# RECLAIM_MPROF_FD naming something else than the sampler's socket (a
# pipe, a file): the library leaves it alone and stays off
RECLAIM_MPROF_FD=1 "$phases" off > out 2> err || fail "RECLAIM_MPROF_FD=1: $(cat err)"
[ ! -s out ] && [ ! -s err ] || fail "RECLAIM_MPROF_FD=1 wrote: $(head -c 200 out) $(cat err)"
RECLAIM_MPROF_FD=1 "$phases" off | cat > out || fail "RECLAIM_MPROF_FD=1 on a pipe"
[ ! -s out ] || fail "RECLAIM_MPROF_FD=1 wrote on the pipe: $(head -c 200 out)"
"$phases" > out 2> err || fail "mprof_phases alone: $(cat err)"

# ---- plots ---------------------------------------------------------------
"$cli" mprof plot p.dat -o p.svg --title 'phases <&> "test"' 2> err || fail "plot: $(cat err)"
xmllint --noout p.svg || fail "the SVG is not well-formed XML"
for s in '>grow<' '>shrink<' '>hold<' '>inner<' '>cycles<' '>child<' 'class="gc"' 'class="heap"' 'class="rss"' \
         '>peak [0-9.]* MiB at 0\.[0-9]* s<' 'phases &lt;&amp;&gt; &quot;test&quot;' 'time (s)' 'memory (MiB)'; do
    grep -q "$s" p.svg || fail "the SVG lacks $s"
done
# the peak label is the largest RSS sample, at its time
peak=$(sed -n 's/.*>peak \([0-9.]*\) MiB at \([0-9.]*\) s<.*/\1 \2/p' p.svg)
awk -v MiB=$MiB -v label="$peak" '$1 == "M" && $3 > max { max = $3; t = $2 }
    END { split(label, l, " "); d = l[1] - max / MiB; e = l[2] - t / 1e9
          exit !(d < 0.6 && d > -0.6 && e < 0.0006 && e > -0.0006 && max >= 64 * MiB) }' p.dat \
    || fail "peak label '$peak' is not the largest sample"
grep -q '<script' p.svg && fail "the SVG has a script"
if command -v rsvg-convert > /dev/null; then
    "$cli" mprof plot p.dat -o p.png 2> err || fail "PNG plot: $(cat err)"
    [ "$(head -c 8 p.png | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "p.png is not a PNG"
fi
# PNG without rsvg-convert: a clear error
env PATH=/nonexistent "$cli" mprof plot p.dat -o q.png 2> err; rc=$?
[ $rc -eq 2 ] && [ "$(wc -l < err)" -eq 1 ] && grep -q 'rsvg-convert' err || fail "PNG without rsvg-convert: $rc $(cat err)"
[ ! -e q.png ] || fail "q.png written without rsvg-convert"

# ---- programs that do not use reclaim: RSS only, children included -------
py=python3; [ -x /usr/bin/python3 ] && py=/usr/bin/python3
if command -v "$py" > /dev/null; then
    "$cli" mprof run -o py.dat -- sh -c "$py -c 'import time; b = b\"x\" * (100 * 1024 * 1024); time.sleep(0.4)'; true" \
        2> err || fail "mprof run on python: $(cat err)"
    grep -q '^[HCSP] ' py.dat && fail "a program without reclaim sent records"
    awk -v MiB=$MiB '$1 == "M" && $3 >= 100 * MiB && $4 < 20 * MiB && $5 >= 2 { n++ } END { exit !(n >= 5) }' py.dat \
        || fail "python's 100 MB not seen in the tree's RSS: $(awk '$1 == "M" { print $3, $4, $5 }' py.dat | sort -n | tail -3)"
    # the same through the scan of /proc/N/stat (kernels without children files)
    RECLAIM_MPROF_PROC_SCAN=1 "$cli" mprof run -o scan.dat -- sh -c "$py -c 'b = b\"x\" * (100 * 1024 * 1024); import time; time.sleep(0.4)'; true" \
        2> err || fail "mprof run with the /proc scan: $(cat err)"
    awk -v MiB=$MiB '$1 == "M" && $3 >= 100 * MiB && $4 < 20 * MiB && $5 >= 2 { n++ } END { exit !(n >= 5) }' scan.dat \
        || fail "the /proc scan missed python: $(awk '$1 == "M" { print $3, $4, $5 }' scan.dat | sort -n | tail -3)"
    "$cli" mprof plot py.dat -o py.svg || fail "plot of the python run"
    xmllint --noout py.svg || fail "py.svg is not well-formed"
    grep -q 'class="heap"' py.svg && fail "py.svg draws a heap line without heap records"
fi
# a grandchild outliving its parent stays counted (the sampler is its subreaper)
"$cli" mprof run -o sh.dat -- sh -c '(sleep 0.3 &) ; sleep 0.1' 2> err || fail "mprof run sh: $(cat err)"
awk '$1 == "M" && $5 >= 2 { n++ } END { exit !(n >= 3) }' sh.dat || fail "children of sh not counted"
tail -1 sh.dat | grep -q '^end [0-9]* exit 0 ' || fail "sh end line: $(tail -1 sh.dat)"
# the default file name, announced on stderr; the status of a signalled command
( "$cli" mprof run -- sh -c 'kill -TERM $$' 2> err ); rc=$?
[ $rc -eq 143 ] || fail "a command killed by SIGTERM gave $rc, want 143"
f=$(sed -n 's/^reclaim mprof: wrote //p' err)
[ -n "$f" ] && [ -f "$f" ] || fail "default data file not announced: $(cat err)"
case "$f" in reclaim-mprof-[0-9]*.dat) ;; *) fail "default data file name $f";; esac
tail -1 "$f" | grep -q '^end [0-9]* signal 15 ' || fail "signal end line: $(tail -1 "$f")"
# a command that cannot run: 127 and no data file
"$cli" mprof run -o none.dat -- /nonexistent/program 2> err; rc=$?
[ $rc -eq 127 ] && [ ! -e none.dat ] && grep -q "cannot run '/nonexistent/program'" err || fail "missing program: $rc $(cat err)"
# a slow interval still ends when the command does
start=$(date +%s%N)
"$cli" mprof run --interval 5s -o slow.dat -- true || fail "--interval 5s"
[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 3000 ] || fail "--interval 5s waited for the next tick"
grep -q '^interval 5000000000$' slow.dat || fail "interval 5s"
"$cli" mprof run --interval=0.5s -o half.dat -- true && grep -q '^interval 500000000$' half.dat || fail "--interval=0.5s"

# ---- errors: status 2 and one line "reclaim mprof CMD: ..." ----------------
expect_fail() { # prefix, needle, args...
    local prefix=$1 needle=$2; shift 2
    "$cli" "$@" > /dev/null 2> err; local rc=$?
    [ $rc -eq 2 ] || fail "$*: status $rc, want 2 ($(cat err))"
    [ "$(wc -l < err)" -eq 1 ] || fail "$*: not one line: $(cat err)"
    grep -q "^reclaim $prefix: " err || fail "$*: message $(cat err)"
    grep -q -- "$needle" err || fail "$*: message lacks '$needle': $(cat err)"
}
expect_fail "mprof" "no command" mprof
expect_fail "mprof" "unknown command 'bogus'" mprof bogus
expect_fail "mprof run" "unknown option '--bogus'" mprof run --bogus -- true
expect_fail "mprof run" "no command given" mprof run
expect_fail "mprof run" "no command given" mprof run --interval 10ms --
expect_fail "mprof run" "not '0ms'" mprof run --interval 0ms -- true
expect_fail "mprof run" "not '20s'" mprof run --interval 20s -- true
expect_fail "mprof run" "not '10'" mprof run --interval 10 -- true
expect_fail "mprof run" "not 'fast'" mprof run --interval fast -- true
expect_fail "mprof run" "needs a value" mprof run --interval
expect_fail "mprof run" "cannot write '/nonexistent/dir/x.dat'" mprof run -o /nonexistent/dir/x.dat -- true
printf 'hello\n' > foreign.dat
head -c "$(( $(wc -c < p.dat) - 5 ))" p.dat > cut.dat
grep -v '^end ' p.dat > noend.dat
sed '1s/.*/reclaim-mprof 9/' p.dat > v9.dat
sed '10s/.*/M 12 x/' p.dat > bad.dat
expect_fail "mprof plot" "cannot read 'missing.dat'" mprof plot missing.dat -o x.svg
expect_fail "mprof plot" "not a reclaim mprof data file" mprof plot foreign.dat -o x.svg
expect_fail "mprof plot" "truncated" mprof plot cut.dat -o x.svg
expect_fail "mprof plot" "truncated" mprof plot noend.dat -o x.svg
expect_fail "mprof plot" "version 9" mprof plot v9.dat -o x.svg
expect_fail "mprof plot" "line 10" mprof plot bad.dat -o x.svg
expect_fail "mprof plot" "no output given" mprof plot p.dat
expect_fail "mprof plot" "no data file" mprof plot -o x.svg
expect_fail "mprof plot" ".svg or a .png" mprof plot p.dat -o x.txt
expect_fail "mprof plot" "cannot write '/nonexistent/dir/x.svg'" mprof plot p.dat -o /nonexistent/dir/x.svg
expect_fail "mprof plot" "unknown option '--bogus'" mprof plot p.dat -o x.svg --bogus
expect_fail "mprof plot" "one data file only" mprof plot p.dat p.dat -o x.svg
expect_fail "mprof plot" "needs a value" mprof plot p.dat -o x.svg --title
[ ! -e x.svg ] || fail "a failed plot left x.svg"
echo "mprof: all checks passed"
