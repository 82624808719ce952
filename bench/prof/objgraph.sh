#!/usr/bin/env bash
# Word splitting of the commands kept as strings (CMD) is meant (no word
# holds a space: checked below), and the tables' printf formats are variables.
# shellcheck disable=SC2086,SC2059
# objgraph.sh — the object-graph and mprof benchmark (issue 6): build
# reclaim (Release, static) and objgraph_workload.c, build the same heap
# (1M and 5M objects: trees of user-type Nodes carrying lists and dicts of
# ints and Leafs, half of them in a cycle) in reclaim and in CPython, and
# time on it reclaim's most_common_types (first and second call),
# find_backref_chain to a deep object, a full heap dump and a full
# collection, beside objgraph's most_common_types and find_backref_chain
# (Debian's python3-objgraph under /usr/bin/python3). Then time two
# programs plainly and under `reclaim mprof run --interval 10ms` and 1ms
# (the slowdown of sampling). Print two tables with the ratios and a
# verdict for each of the issue's targets. See README.md.
#
# Environment (all optional):
#   RUNS=3                 runs of each object-graph configuration (reclaim and CPython at each size)
#   MPROF_RUNS=5           runs of each mprof configuration
#                          all round-robin, so a change of load falls on all alike; medians are kept
#   SIZES="1000000 5000000"      heaps, in objects (rounded to whole trees of 4092 objects)
#   LIVE=1000000 TOTAL=5000000   workload.c's size (the allocation-heavy mprof program)
#   MPROF_N=1000000        objgraph_workload build's size (the object-heavy mprof program)
#   INTERVALS="10ms 1ms"   mprof run's sampling intervals
#   PARTS="objgraph mprof" which of the two parts run
#   QUICK=1                everything small (100k/500k objects), one run each: a check that all runs
#   WORK_DIR=...           build tree, binaries, logs, table (default <repo>/build/bench-objgraph)
#   TIMEOUT=600            seconds before one run is killed and reported FAILED
#   CC=cc PYTHON=/usr/bin/python3   (Debian's python3-objgraph is for Debian's python3)
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
    RUNS=${RUNS:-1} MPROF_RUNS=${MPROF_RUNS:-1} SIZES=${SIZES:-100000 500000}
    LIVE=${LIVE:-100000} TOTAL=${TOTAL:-500000} MPROF_N=${MPROF_N:-100000}
fi
RUNS=${RUNS:-3}
MPROF_RUNS=${MPROF_RUNS:-5}
SIZES=${SIZES:-1000000 5000000}
LIVE=${LIVE:-1000000}
TOTAL=${TOTAL:-5000000}
MPROF_N=${MPROF_N:-1000000}
INTERVALS=${INTERVALS:-10ms 1ms}
PARTS=${PARTS-objgraph mprof}
TIMEOUT=${TIMEOUT:-600}
CC=${CC:-cc}
PYTHON=${PYTHON:-/usr/bin/python3}
WORK_DIR=${WORK_DIR:-$repo/build/bench-objgraph}
start_time=$SECONDS
load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)

note() { printf '%s\n' "objgraph.sh: $*" >&2; }
die() { note "$*"; exit 1; }

for v in RUNS MPROF_RUNS LIVE TOTAL MPROF_N TIMEOUT; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
((TOTAL >= LIVE)) || die "TOTAL must be >= LIVE"
for n in $SIZES; do [[ $n =~ ^[1-9][0-9]*$ ]] || die "SIZES must hold positive integers"; done
for i in $INTERVALS; do [[ $i =~ ^[0-9.]+(ms|s)$ ]] || die "INTERVALS: '$i' is no interval (10ms, 0.5s)"; done
for p in $PARTS; do
    case $p in objgraph | mprof) ;; *) die "unknown part '$p' in PARTS (objgraph mprof)" ;; esac
done
has_part() { [[ " $PARTS " == *" $1 "* ]]; }
[[ $WORK_DIR != *" "* && $here != *" "* && $PYTHON != *" "* ]] ||
    die "WORK_DIR, the checkout's path and PYTHON must not contain spaces"
mkdir -p "$WORK_DIR/logs" || die "cannot create $WORK_DIR"
rm -f "$WORK_DIR"/logs/*

# {================================================================
# Packages: a compiler, cmake, GNU time, python3 and its objgraph
# =================================================================

missing=()
command -v "$CC" >/dev/null || missing+=(gcc)
command -v cmake >/dev/null || missing+=(cmake)
command -v timeout >/dev/null || missing+=(coreutils)
[[ -x /usr/bin/time ]] || missing+=(time)
if has_part objgraph; then
    command -v "$PYTHON" >/dev/null || missing+=(python3)
    "$PYTHON" -c 'import objgraph' 2>/dev/null || missing+=(python3-objgraph)
fi
if ((${#missing[@]})); then
    note "installing ${missing[*]}"
    bash "$repo/scripts/deps.sh" "${missing[@]}" >"$WORK_DIR/apt.log" 2>&1 ||
        note "could not install them (see $WORK_DIR/apt.log); going on without ${missing[*]}"
fi
command -v "$CC" >/dev/null || die "no C compiler ($CC)"
command -v cmake >/dev/null || die "no cmake"
[[ -x /usr/bin/time ]] || die "no /usr/bin/time (Debian package time): it measures the mprof runs"
have_py=0
if has_part objgraph; then
    if "$PYTHON" -c 'import objgraph' 2>/dev/null; then have_py=1
    else note "!!! $PYTHON cannot import objgraph (Debian: python3-objgraph): CPython's columns are left out"; fi
fi

# }================================================================

# {================================================================
# Build: reclaim (Release, static) and its CLI; objgraph_workload and workload against libreclaim.a
# =================================================================

BIN=$WORK_DIR/bin
mkdir -p "$BIN"
rm -f "$BIN/objgraph_workload" "$BIN/workload"
RBUILD=$WORK_DIR/reclaim-build
note "building reclaim (Release) in $RBUILD (log: $WORK_DIR/build.log)"
if ! { cmake -S "$repo" -B "$RBUILD" -DCMAKE_BUILD_TYPE=Release -DRECLAIM_TESTS=OFF \
        -DRECLAIM_EXAMPLES=OFF -DRECLAIM_MALLOC_OVERRIDE=OFF -DRECLAIM_WERROR=OFF &&
       cmake --build "$RBUILD" --target reclaim_static reclaim-cli -j "$(nproc)"; } >"$WORK_DIR/build.log" 2>&1; then
    die "!!! building reclaim failed: $(tail -n 5 "$WORK_DIR/build.log")"
fi
RECLAIM=$RBUILD/tools/reclaim
[[ -x $RECLAIM ]] || die "!!! no $RECLAIM after the build"
# libreclaim.a needs what CMake links it with (libdw when the build found it).
read -r -a static_libs <<<"$(bash "$repo/scripts/static-libs.sh" "$RBUILD")"
CFLAGS_W=(-std=c11 -O2 -g -fno-omit-frame-pointer -Wall -Wextra)
for prog in objgraph_workload workload; do
    "$CC" "${CFLAGS_W[@]}" -I"$repo/include" -o "$BIN/$prog" "$here/$prog.c" "$RBUILD/libreclaim.a" \
        "${static_libs[@]}" >>"$WORK_DIR/build.log" 2>&1 ||
        die "!!! building $prog.c against libreclaim.a failed: $(tail -n 5 "$WORK_DIR/build.log")"
done

# }================================================================

# {================================================================
# The configurations
# =================================================================

# Each configuration: its label, its baseline (mprof rows: the plain run
# of the same program), its kind and its command. Every run prints a
# RESULT line; mprof rows are also timed from outside by GNU time.
DUMP=$WORK_DIR/logs/heap.rcheap
MPDAT=$WORK_DIR/logs/mprof.dat
declare -A LABEL BASE KIND CMD IVL
CONFIGS=()
add() { # ID BASE KIND LABEL CMD...
    local id=$1
    CONFIGS+=("$id") BASE[$id]=$2 KIND[$id]=$3 LABEL[$id]=$4
    shift 4
    CMD[$id]="$*"
}
nh() { awk -v n="$1" 'BEGIN { if (n % 1000000 == 0) printf "%dM", n / 1000000; else if (n % 1000 == 0) printf "%dk", n / 1000; else print n }'; }
if has_part objgraph; then
    for n in $SIZES; do
        add "r-$n" "r-$n" og "reclaim, $(nh "$n") objects" "$BIN/objgraph_workload" query "$n" "$DUMP"
        ((have_py)) && add "p-$n" "p-$n" og "CPython, $(nh "$n") objects" "$PYTHON" "$here/objgraph_workload.py" "$n"
    done
fi
if has_part mprof; then
    for prog in w b; do
        if [[ $prog == w ]]; then
            pl="workload.c plain $(nh "$LIVE")/$(nh "$TOTAL")" pc="$BIN/workload plain $LIVE $TOTAL"
        else
            pl="objgraph_workload build $(nh "$MPROF_N")" pc="$BIN/objgraph_workload build $MPROF_N"
        fi
        add "m-$prog" "m-$prog" mp "$pl" $pc
        IVL[m-$prog]=-
        for i in $INTERVALS; do
            add "m-$prog-$i" "m-$prog" mp "$pl" "$RECLAIM" mprof run --interval "$i" -o "$MPDAT" -- $pc
            IVL[m-$prog-$i]=$i
        done
    done
fi
((${#CONFIGS[@]})) || die "nothing to run (PARTS is empty)"

# }================================================================

# {================================================================
# Running
# =================================================================

declare -A OUT STATUS   # OUT[id]: one "RESULT ..." line a run, with what the script adds
failures=0

# field LINE KEY: the value of "KEY=value" in a line.
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

runs_of() { if [[ ${KIND[$1]} == og ]]; then echo "$RUNS"; else echo "$MPROF_RUNS"; fi; }

run() { # ID RUN
    local id=$1 r=$2
    [[ -z ${STATUS[$id]:-} ]] || return 0
    local log=$WORK_DIR/logs/$id.$r
    local how=""
    [[ ${IVL[$id]:--} != - ]] && how=" under mprof run --interval ${IVL[$id]}"
    note "${LABEL[$id]}$how, run $r/$(runs_of "$id")"
    rm -f "$DUMP" "$MPDAT"
    timeout -k 10 "$TIMEOUT" /usr/bin/time -f '%e %U %S %M' -o "$log.time" ${CMD[$id]} >"$log.out" 2>"$log.err"
    local rc=$? line
    line=$(grep -E '^RESULT ' "$log.out" | tail -n 1)
    if ((rc != 0)) || [[ -z $line ]]; then
        STATUS[$id]="FAILED(rc=$rc$( ((rc == 124)) && echo ", timed out after ${TIMEOUT}s"))"
        note "!!! ${LABEL[$id]} failed (rc=$rc): $(tail -c 400 "$log.err")"
        failures=$((failures + 1))
        return
    fi
    local e u s m
    read -r e u s m < <(tail -n 1 "$log.time")
    line+=" ext_wall=$e ext_cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }') ext_rss=$m"
    if [[ $id == r-* ]]; then
        line+=" dump_bytes=$(stat -c %s "$DUMP" 2>/dev/null || echo 0)"
    fi
    if [[ ${IVL[$id]:--} != - ]]; then
        # end T exit|signal N SAMPLES RECORDS DROPS BAD
        local endl
        endl=$(tail -n 1 "$MPDAT" 2>/dev/null)
        read -r _ _ _ _ samples records drops bad <<<"$endl"
        if [[ $endl != end* ]]; then
            STATUS[$id]="FAILED(no end line in the data file)"
            note "!!! ${LABEL[$id]} under mprof: the data file has no end line"
            failures=$((failures + 1))
            return
        fi
        line+=" samples=$samples records=$records drops=$drops bad=$bad"
    fi
    OUT[$id]+="$line"$'\n'
    rm -f "$DUMP" "$MPDAT"
}

# med ID KEY: the median of KEY over the runs (the lower middle one for an even count).
med() {
    [[ -z ${STATUS[$1]:-} && -n ${OUT[$1]:-} ]] || return 0
    sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"${OUT[$1]}" | sort -g |
        awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'
}
spread() { # ID KEY: min..max
    [[ -z ${STATUS[$1]:-} && -n ${OUT[$1]:-} ]] || return 0
    sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"${OUT[$1]}" | sort -g | sed -n '1p;$p' | paste -sd' ' |
        awk '{ printf "%s..%s", $1, ($2 == "" ? $1 : $2) }'
}

for v_ in $(env | sed -n 's/^\(RECLAIM_[A-Z_]*\)=.*/\1/p'); do
    note "NOTE: $v_=${!v_} is set and changes reclaim's behaviour in this run"
done

for ((r = 1; r <= (RUNS > MPROF_RUNS ? RUNS : MPROF_RUNS); r++)); do
    for id in "${CONFIGS[@]}"; do ((r <= $(runs_of "$id"))) && run "$id" "$r"; done
done

# Both heaps have the same objects (the programs check their own answers:
# per-type counts and chain lengths); every mprof run of workload.c
# computes its plain run's checksum.
bad_run() { # ID WHY
    [[ -z ${STATUS[$1]:-} ]] || return 0
    STATUS[$1]="MISMATCH ($2)"
    note "!!! ${LABEL[$1]}: $2"
    failures=$((failures + 1))
}
for n in $SIZES; do
    [[ -n ${OUT[r-$n]:-} && -n ${OUT[p-$n]:-} ]] || continue
    a=$(field " $(head -n 1 <<<"${OUT[r-$n]}")" objects) b=$(field " $(head -n 1 <<<"${OUT[p-$n]}")" objects)
    [[ $a == "$b" ]] || bad_run "p-$n" "CPython built $b objects, reclaim $a"
done
for id in "${CONFIGS[@]}"; do
    [[ ${KIND[$id]} == mp && $id != "${BASE[$id]}" && -n ${OUT[$id]:-} && -n ${OUT[${BASE[$id]}]:-} ]] || continue
    ref=$(field " $(head -n 1 <<<"${OUT[${BASE[$id]}]}")" checksum)
    while read -r l; do
        [[ -n $l ]] || continue
        [[ $(field " $l" checksum) == "$ref" ]] || bad_run "$id" "checksum $(field " $l" checksum), plain run $ref"
    done <<<"${OUT[$id]}"
done

# }================================================================

# {================================================================
# The tables
# =================================================================

# ms SECONDS: milliseconds, three decimals ("-" when missing).
ms() { if [[ -z $1 || $1 == - ]]; then printf -- '-'; else awk -v x="$1" 'BEGIN { printf "%.3f", x * 1000 }'; fi; }
fmt() { if [[ -z $1 || $1 == - ]]; then printf -- '-'; else awk -v x="$1" -v d="$2" 'BEGIN { printf "%.*f", d, x }'; fi; }
# ratio X Y: X / Y (two decimals; none above 100), "-" when either is missing.
ratio() {
    if [[ -z $1 || -z $2 || $1 == - || $2 == - ]]; then printf -- '-'; return; fi
    awk -v x="$1" -v y="$2" 'BEGIN { if (y <= 0) printf "-"; else if (x / y >= 100) printf "%.0f", x / y; else printf "%.2f", x / y }'
}
le() { if [[ -z $1 || $1 == - ]]; then printf '?'; else awk -v x="$1" -v l="$2" 'BEGIN { print (x <= l) ? "met" : "NOT MET" }'; fi; }
ge() { if [[ -z $1 || $1 == - ]]; then printf '?'; else awk -v x="$1" -v l="$2" 'BEGIN { print (x >= l) ? "met" : "NOT MET" }'; fi; }
mib() { if [[ -z $1 || $1 == - ]]; then printf -- '-'; else awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; fi; }

TABLES=$WORK_DIR/tables.txt
: >"$TABLES"
say() { printf '%s\n' "$*" | sed 's/ *$//' | tee -a "$TABLES"; }
VERDICTS=()
verdict() { VERDICTS+=("$(printf '%-8s %s' "$2" "$1")"); }
ok() { [[ -z ${STATUS[$1]:-} && -n ${OUT[$1]:-} ]]; }

commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null)
dirty=$(git -C "$repo" status --porcelain -- src include 2>/dev/null | head -n 1)
say ""
say "Object-graph and mprof benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, RUNS=$RUNS MPROF_RUNS=$MPROF_RUNS, median; QUICK=$QUICK"
say "reclaim ${commit:-?}${dirty:+ + uncommitted changes in src/include}, Release, static; $("$CC" --version | head -n 1)"
((have_py)) && say "CPython: $("$PYTHON" --version 2>&1) ($PYTHON), objgraph $("$PYTHON" -c 'import objgraph; print(objgraph.__version__)' 2>&1)"
say "Load average before: ${load_start:-?}, after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
say "  (the benchmark itself adds about 1, mprof's sampler a little more; more means other work shared the machine)"

if has_part objgraph; then
    say ""
    say "Heap: trees of 1023 Nodes (user type), each Node with a list [int, Leaf] or (every second one) a dict"
    say "  {\"id\": int, \"leaf\": Leaf, \"owner\": Node} (a cycle); 4 objects a Node, all in one forest list."
    say "  Times in ms, median; each query once per run, in this order, on the one heap."
    say ""
    fmtrow="%-44s %-5s %12s %12s %9s  %s"
    hdr=$(printf "$fmtrow" measurement heap "reclaim ms" "CPython ms" "CPy/rc" "target (issue): verdict")
    say "$hdr"
    say "$(printf '%*s' "${#hdr}" '' | tr ' ' -)"
    for n in $SIZES; do
        r=r-$n p=p-$n
        sz=$(nh "$n")
        if ! ok "$r"; then
            say "$(printf '%-44s %-5s %s' "reclaim" "$sz" "${STATUS[$r]:-FAILED}")"
            verdict "$sz: object-graph queries >= 10x faster than objgraph" '?'
            verdict "$sz: heap dump <= 5x one full collection" '?'
            continue
        fi
        ((have_py)) && ! ok "$p" && say "$(printf '%-44s %-5s %s' "CPython" "$sz" "${STATUS[$p]:-FAILED}")"
        l1=$(head -n 1 <<<"${OUT[$r]}")
        objs=$(field " $l1" objects) trees=$(field " $l1" trees)
        pl1=$(ok "$p" && head -n 1 <<<"${OUT[$p]}")
        say "$(printf '%-44s %-5s' "objects: $objs ($trees trees)" "$sz")$( [[ -n $pl1 ]] && echo "  (CPython: $(field " $pl1" tracked) tracked by gc, the ones objgraph sees)")"
        row() { # LABEL RECLAIM_S CPYTHON_S TARGET
            say "$(printf "$fmtrow" "  $1" "$sz" "$(ms "$2")" "$(ms "$3")" "$(ratio "$3" "$2")" "$4")"
        }
        for q in mct1 mct2 chain chain2; do
            rs=$(med "$r" "${q}_s") ps=$(med "$p" "${q}_s")
            x=$(ratio "$ps" "$rs")
            v=$(ge "$x" 10)
            case $q in
            mct1) lbl="most_common_types(10), first call" what="most_common_types, first call" ;;
            mct2) lbl="most_common_types(10), second call" what="most_common_types, second call" ;;
            chain) lbl="find_backref_chain (chain $(med "$r" chain_len) / $(med "$p" chain_len) objects)"
                   what="find_backref_chain, first call" ;;
            chain2) lbl="find_backref_chain, second call" what="find_backref_chain, second call" ;;
            esac
            row "$lbl" "$rs" "$ps" ">= 10x: $v"
            verdict "$sz: $what >= 10x faster than objgraph (${x}x)" "$v"
        done
        g1=$(med "$r" gc1_s) g2=$(med "$r" gc2_s) d=$(med "$r" dump_s)
        row "full collection, first after building" "$g1" "$(med "$p" gc1_s)" ""
        row "full collection, again (the reference)" "$g2" "$(med "$p" gc2_s)" ""
        dx=$(ratio "$d" "$g2")
        v=$(le "$dx" 5)
        say "$(printf "$fmtrow" "  rc_heap_dump ($(mib "$(med "$r" dump_bytes)") MiB file)" "$sz" "$(ms "$d")" "-" "-" \
            "dump/gc $dx <= 5x: $v")"
        verdict "$sz: heap dump <= 5x one full collection (${dx}x)" "$v"
        say "$(printf "$fmtrow" "  (building the heap, not a query)" "$sz" "$(ms "$(med "$r" build_s)")" \
            "$(ms "$(med "$p" build_s)")" "$(ratio "$(med "$p" build_s)" "$(med "$r" build_s)")" \
            "peak RSS $(mib $(($(med "$r" maxrss_kib) * 1024))) / $( ok "$p" && mib $(($(med "$p" maxrss_kib) * 1024)) || echo -) MiB")"
    done
    say "$(printf '%*s' "${#hdr}" '' | tr ' ' -)"
    say "reclaim: rc_objgraph_most_common_types(10) (its first call starts the per-type counters with one walk"
    say "  of the heap; later calls read them), rc_objgraph_find_backref_chain(deep, 20) (builds the reference"
    say "  index of the whole heap, then searches it), rc_heap_dump to a file, rc_gc_collect(2)."
    say "CPython: objgraph.most_common_types(limit=10) (gc.get_objects() each call),"
    say "  objgraph.find_backref_chain(deep, objgraph.is_proper_module) (a gc.collect(), then one"
    say "  gc.get_referrers per object it visits; its chain starts at the module and its dict), gc.collect()."
    say "CPy/rc: CPython's time over reclaim's (how many times faster reclaim is). dump/gc: the dump's time"
    say "  over the second full collection of the same heap (the settled heap, as the dump sees it)."
fi

if has_part mprof; then
    say ""
    say "mprof run sampling: each program plainly and under \`reclaim mprof run --interval I -o FILE --\`"
    say ""
    fmtm="%-34s %-8s %7s %6s %8s %6s %8s %6s %8s %8s %6s"
    hdr=$(printf "$fmtm" program interval "wall s" "x" "prog CPU" "x" "all CPU" "x" "samples" "records" "drops")
    say "$hdr"
    say "$(printf '%*s' "${#hdr}" '' | tr ' ' -)"
    for id in "${CONFIGS[@]}"; do
        [[ ${KIND[$id]} == mp ]] || continue
        b=${BASE[$id]}
        if ! ok "$id"; then
            say "$(printf '%-34s %-8s %s' "${LABEL[$id]}" "${IVL[$id]}" "${STATUS[$id]:-FAILED}")"
            continue
        fi
        w=$(med "$id" ext_wall) c=$(med "$id" cpu_s) a=$(med "$id" ext_cpu)
        xw=1.00 xc=1.00 xa=1.00
        if [[ $id != "$b" ]]; then
            xw=$(ratio "$w" "$(med "$b" ext_wall)") xc=$(ratio "$c" "$(med "$b" cpu_s)") xa=$(ratio "$a" "$(med "$b" ext_cpu)")
        fi
        say "$(printf "$fmtm" "${LABEL[$id]}" "${IVL[$id]}" "$(fmt "$w" 2)" "$xw" "$(fmt "$c" 2)" "$xc" "$(fmt "$a" 2)" "$xa" \
            "$(med "$id" samples)" "$(med "$id" records)" "$(med "$id" drops)")"
    done
    say "$(printf '%*s' "${#hdr}" '' | tr ' ' -)"
    say "wall s: elapsed time of the whole command (GNU time %e; under mprof: the sampler, which starts the"
    say "  program and ends with it). prog CPU: the program's own user + sys (its RESULT line). all CPU: user +"
    say "  sys of the command and its children (under mprof: the sampler's own included). x: over the same"
    say "  program's plain run. samples, records, drops: the data file's end line (M lines; records of the"
    say "  library's channel copied: heap figures every interval, collection markers; records dropped)."
fi

if ((${#VERDICTS[@]})); then
    say ""
    say "Targets (issue):"
    n_not=0 n_unknown=0
    for l in "${VERDICTS[@]}"; do
        case $l in "NOT MET"*) n_not=$((n_not + 1)) ;; "?"*) n_unknown=$((n_unknown + 1)) ;; esac
        say "  $l"
    done
    say "  => $((${#VERDICTS[@]} - n_not - n_unknown)) met, $n_not NOT MET, $n_unknown unknown (a run failed)"
    say "  (the issue's dump target is for 5M objects; the other sizes are shown alike)"
fi
say ""
say "Spread of the runs (min..max; mprof rows: also the best run over the plain run's best, less sensitive to load):"
for id in "${CONFIGS[@]}"; do
    ok "$id" || continue
    if [[ ${KIND[$id]} == og ]]; then
        s="most_common_types 1st $(spread "$id" mct1_s) s, chain $(spread "$id" chain_s) s, gc2 $(spread "$id" gc2_s) s"
        [[ $id == r-* ]] && s+=", dump $(spread "$id" dump_s) s"
    else
        s="wall $(spread "$id" ext_wall) s, prog CPU $(spread "$id" cpu_s) s"
        b=${BASE[$id]}
        if [[ $id != "$b" ]] && ok "$b"; then
            bw=$(spread "$b" ext_wall) bc=$(spread "$b" cpu_s) sw=$(spread "$id" ext_wall) sc=$(spread "$id" cpu_s)
            s+="; best/best: wall $(ratio "${sw%%..*}" "${bw%%..*}")x, prog CPU $(ratio "${sc%%..*}" "${bc%%..*}")x"
        fi
    fi
    say "  $(printf '%-34s %-5s %s' "${LABEL[$id]}" "${IVL[$id]:-}" "$s")"
done
say ""
say "total wall time: $((SECONDS - start_time)) s; table in $TABLES, raw output in $WORK_DIR/logs"
if ((failures)); then
    say "!!! $failures FAILED OR MISMATCHED RUN(S): see above"
    exit 1
fi
