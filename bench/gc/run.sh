#!/usr/bin/env bash
# run.sh — build reclaim (Release, static) and gcbench.c three ways (reclaim,
# hand-written malloc/free, Boehm GC), run them and CPython's bench.py on
# binary-trees, GCBench, garbage cycles, full collections and bytes per
# object, check that every implementation computes the same checksums, and
# print one table with the ratios reclaim/peer and the issue's targets.
# See README.md.
#
# Environment (all optional):
#   RUNS=3            runs of each cheap measurement; the best (lowest) is kept
#   BT_RUNS=1         runs of binary-trees at BT_DEPTH (~2.5 min for one)
#   PY_RUNS=1         runs of CPython's binary-trees and GCBench (slow)
#   BT_DEPTH=21       binary-trees max depth for the C implementations
#   PY_BT_DEPTH=18    CPython's binary-trees depth (21 takes minutes); every
#                     implementation also runs at this depth, for a row where
#                     all five are measured alike
#   CYCLES_N=1000000  garbage cycles (2 objects each)
#   FULLGC_N="1000000 5000000"   live objects for the full-collection rows
#   SIZE_N=1000000    objects for the bytes-per-object row
#   QUICK=1           all of the above much smaller (a check that all runs)
#   WORK_DIR=...      build trees, binaries, logs, tables (default <repo>/build/bench-gc,
#                     one per checkout)
#   TIMEOUT=600       seconds before one run is killed and reported FAILED
#   CC=cc PYTHON=python3
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
    RUNS=${RUNS:-1} BT_DEPTH=${BT_DEPTH:-16} PY_BT_DEPTH=${PY_BT_DEPTH:-14}
    CYCLES_N=${CYCLES_N:-100000} FULLGC_N=${FULLGC_N:-100000 500000} SIZE_N=${SIZE_N:-100000}
fi
RUNS=${RUNS:-3}
BT_RUNS=${BT_RUNS:-1}
PY_RUNS=${PY_RUNS:-1}
BT_DEPTH=${BT_DEPTH:-21}
PY_BT_DEPTH=${PY_BT_DEPTH:-18}
CYCLES_N=${CYCLES_N:-1000000}
FULLGC_N=${FULLGC_N:-1000000 5000000}
SIZE_N=${SIZE_N:-1000000}
TIMEOUT=${TIMEOUT:-600}
CC=${CC:-cc}
PYTHON=${PYTHON:-python3}
WORK_DIR=${WORK_DIR:-$repo/build/bench-gc}
start_time=$SECONDS
load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)

note() { printf '%s\n' "run.sh: $*" >&2; }
die() { note "$*"; exit 1; }

for v in RUNS BT_RUNS PY_RUNS BT_DEPTH PY_BT_DEPTH CYCLES_N SIZE_N; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
mkdir -p "$WORK_DIR/logs" || die "cannot create $WORK_DIR"
rm -f "$WORK_DIR"/logs/*

# {================================================================
# Packages: a compiler, cmake, Boehm GC's headers, python3
# =================================================================

missing=()
command -v "$CC" >/dev/null || missing+=(gcc)
command -v cmake >/dev/null || missing+=(cmake)
[[ -e /usr/include/gc/gc.h || -e /usr/include/gc.h ]] || missing+=(libgc-dev)
command -v "$PYTHON" >/dev/null || missing+=(python3)
command -v timeout >/dev/null || missing+=(coreutils)
if ((${#missing[@]})); then
    note "installing ${missing[*]}"
    bash "$here/../../scripts/deps.sh" "${missing[@]}" >"$WORK_DIR/apt.log" 2>&1 ||
        note "could not install them (see $WORK_DIR/apt.log); going on without ${missing[*]}"
fi
command -v "$CC" >/dev/null || die "no C compiler ($CC)"
command -v cmake >/dev/null || die "no cmake"

# }================================================================

# {================================================================
# Build: reclaim (Release, static library) and the three C programs
# =================================================================

CFLAGS=(-std=c11 -O2 -g -fno-omit-frame-pointer -Wall -Wextra)
BIN=$WORK_DIR/bin
mkdir -p "$BIN"
rm -f "$BIN"/gcb-*
have=()    # implementations that built

RBUILD=$WORK_DIR/reclaim-build
note "building reclaim (Release) in $RBUILD (log: $WORK_DIR/build.log)"
if { cmake -S "$repo" -B "$RBUILD" -DCMAKE_BUILD_TYPE=Release -DRECLAIM_TESTS=OFF \
        -DRECLAIM_EXAMPLES=OFF -DRECLAIM_MALLOC_OVERRIDE=OFF -DRECLAIM_WERROR=OFF &&
     cmake --build "$RBUILD" --target reclaim_static -j "$(nproc)"; } >"$WORK_DIR/build.log" 2>&1 &&
   "$CC" "${CFLAGS[@]}" -DIMPL_RECLAIM -DRC_OBJECT_CHECKS=0 -I"$repo/include" -o "$BIN/gcb-reclaim" \
        "$here/gcbench.c" "$RBUILD/libreclaim.a" $(bash "$repo/scripts/static-libs.sh" "$RBUILD") \
        >>"$WORK_DIR/build.log" 2>&1; then
    have+=(reclaim reclaim-nogc)
else
    die "!!! building reclaim or gcb-reclaim failed: $(tail -n 5 "$WORK_DIR/build.log")"
fi
"$CC" "${CFLAGS[@]}" -DIMPL_MALLOC -o "$BIN/gcb-malloc" "$here/gcbench.c" >>"$WORK_DIR/build.log" 2>&1 &&
    have+=(malloc) || note "!!! building gcb-malloc failed (see $WORK_DIR/build.log)"
"$CC" "${CFLAGS[@]}" -DIMPL_BOEHM -o "$BIN/gcb-boehm" "$here/gcbench.c" -lgc >>"$WORK_DIR/build.log" 2>&1 &&
    have+=(boehm boehm1) || note "!!! building gcb-boehm failed (libgc-dev missing?), leaving Boehm out"
if command -v "$PYTHON" >/dev/null; then have+=(cpython); else note "!!! no $PYTHON, leaving CPython out"; fi
[[ " ${have[*]} " == *" malloc "* ]] || die "gcb-malloc, the reference for the checksums, did not build"

# }================================================================

# {================================================================
# Running: RESULT lines, best of N, checksums
# =================================================================

declare -A OUT STATUS   # keyed "bench/n/impl"
failures=0

# field LINE KEY: the value of "KEY=value" in a RESULT line.
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# run BENCH N IMPL RUNS: run it RUNS times, keep the RESULT line of the
# fastest run (lowest sec=). N "-" for gcbench (no argument).
run() {
    local b=$1 n=$2 impl=$3 runs=$4 k="$1/$2/$3"
    [[ " ${have[*]} " == *" $impl "* ]] || return 0
    local cmd=() args=("$b")
    [[ $n != - ]] && args+=("$n")
    case $impl in
    reclaim) cmd=("$BIN/gcb-reclaim") ;;
    reclaim-nogc) cmd=("$BIN/gcb-reclaim"); args+=(nogc) ;;
    malloc) cmd=("$BIN/gcb-malloc") ;;
    boehm) cmd=("$BIN/gcb-boehm") ;;
    boehm1) cmd=(env GC_MARKERS=1 "$BIN/gcb-boehm") ;;
    cpython) cmd=("$PYTHON" "$here/bench.py") ;;
    esac
    note "$b $n $impl (x$runs)"
    local r
    for ((r = 1; r <= runs; r++)); do
        local log=$WORK_DIR/logs/$b.$n.$impl.$r
        timeout -k 10 "$TIMEOUT" "${cmd[@]}" "${args[@]}" >"$log.out" 2>"$log.err"
        local rc=$? line
        line=$(grep -E '^RESULT ' "$log.out" | tail -n 1)
        if ((rc != 0)) || [[ -z $line ]]; then
            STATUS[$k]="FAILED(rc=$rc)"
            note "!!! $b $n under $impl failed (rc=$rc$( ((rc == 124)) && echo ", timed out after ${TIMEOUT}s")): $(head -c 400 "$log.err")"
            return
        fi
        local s
        s=$(field "$line" sec)
        if [[ -z ${OUT[$k]:-} ]] || awk -v a="$s" -v b="$(field "${OUT[$k]}" sec)" 'BEGIN { exit !(a < b) }'; then
            OUT[$k]=$line
        fi
    done
}

# check BENCH N REF_N IMPL...: every implementation's checksum equals
# malloc's at REF_N (binary-trees: the same depth).
check() {
    local b=$1 n=$2 rn=$3 impl ref
    shift 3
    ref=$(field "${OUT[$b/$rn/malloc]:-}" checksum)
    for impl in "$@"; do
        local k=$b/$n/$impl
        [[ -n ${OUT[$k]:-} ]] || continue
        local cs
        cs=$(field "${OUT[$k]}" checksum)
        if [[ -z $ref || $cs != "$ref" ]]; then
            STATUS[$k]="CHECKSUM MISMATCH ($cs, malloc ${ref:-none})"
            note "!!! CHECKSUM MISMATCH: $b $n under $impl gave $cs, malloc gave ${ref:-nothing}"
        fi
    done
}

say() { printf '%s\n' "$*" | tee -a "$TABLES"; }
TABLES=$WORK_DIR/tables.txt
: >"$TABLES"

for v in $(env | sed -n 's/^\(RECLAIM_[A-Z_]*\)=.*/\1/p'); do
    note "NOTE: $v=${!v} is set and changes reclaim's behaviour in this run"
done

# cheap ones first, binary-trees at full depth last
run size "$SIZE_N" reclaim "$RUNS"
run size "$SIZE_N" reclaim-nogc 1
run size "$SIZE_N" malloc 1
run size "$SIZE_N" boehm 1
CPY_SIZE_N=$((SIZE_N < 200000 ? SIZE_N : 200000))   # tracemalloc is slow: 200k is plenty
run size "$CPY_SIZE_N" cpython 1
check size "$SIZE_N" "$SIZE_N" reclaim reclaim-nogc malloc boehm

run cycles "$CYCLES_N" malloc "$RUNS"
run cycles "$CYCLES_N" reclaim "$RUNS"
run cycles "$CYCLES_N" reclaim-nogc "$RUNS"
run cycles "$CYCLES_N" boehm "$RUNS"
run cycles "$CYCLES_N" cpython "$RUNS"
check cycles "$CYCLES_N" "$CYCLES_N" reclaim reclaim-nogc boehm cpython

for n in $FULLGC_N; do
    run fullgc "$n" malloc 1
    run fullgc "$n" reclaim "$RUNS"
    run fullgc "$n" boehm "$RUNS"
    run fullgc "$n" boehm1 "$RUNS"
    run fullgc "$n" cpython "$RUNS"
    check fullgc "$n" "$n" reclaim boehm boehm1 cpython
done

run gcbench - malloc "$RUNS"
run gcbench - reclaim "$RUNS"
run gcbench - reclaim-nogc "$RUNS"
run gcbench - boehm "$RUNS"
run gcbench - cpython "$PY_RUNS"
check gcbench - - reclaim reclaim-nogc boehm cpython

if ((PY_BT_DEPTH != BT_DEPTH)); then
    for impl in malloc reclaim reclaim-nogc boehm; do run binarytrees "$PY_BT_DEPTH" "$impl" "$RUNS"; done
fi
run binarytrees "$PY_BT_DEPTH" cpython "$PY_RUNS"
for impl in malloc reclaim reclaim-nogc boehm; do run binarytrees "$BT_DEPTH" "$impl" "$BT_RUNS"; done
check binarytrees "$BT_DEPTH" "$BT_DEPTH" reclaim reclaim-nogc boehm
check binarytrees "$PY_BT_DEPTH" "$PY_BT_DEPTH" reclaim reclaim-nogc boehm cpython

# }================================================================

# {================================================================
# The table
# =================================================================

# num X: X as a number for awk, or "" when missing.
# fmt X DECIMALS: X printed, "-" when missing.
fmt() { if [[ -z $1 ]]; then printf -- '-'; else awk -v x="$1" -v d="$2" 'BEGIN { printf "%.*f", d, x }'; fi; }
# ratio X Y: X / Y, "-" when either is missing.
ratio() {
    if [[ -z $1 || -z $2 ]]; then printf -- '-'; return; fi
    awk -v x="$1" -v y="$2" 'BEGIN { if (y > 0) printf "%.2f", x / y; else printf "-" }'
}
# per_obj SECONDS COUNT: nanoseconds per object.
per_obj() {
    if [[ -z $1 || -z $2 ]]; then return; fi
    awk -v s="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.2f", s * 1e9 / n }'
}
# le X LIMIT / ge X LIMIT: "met" or "NOT MET" ("?" when X is missing).
le() { if [[ -z $1 || $1 == - ]]; then printf '?'; else awk -v x="$1" -v l="$2" 'BEGIN { print (x <= l) ? "met" : "NOT MET" }'; fi; }
ge() { if [[ -z $1 || $1 == - ]]; then printf '?'; else awk -v x="$1" -v l="$2" 'BEGIN { print (x >= l) ? "met" : "NOT MET" }'; fi; }

# v BENCH N IMPL KEY: a field of a run that passed its checks ("" otherwise).
v() {
    [[ -z ${STATUS[$1/$2/$3]:-} ]] || return 0
    field "${OUT[$1/$2/$3]:-}" "$4"
}

# nodes D: nodes binary-trees allocates at max depth D.
bt_nodes() {
    awk -v D="$1" 'BEGIN { n = 2^(D+2) - 1 + 2^(D+1) - 1;
        for (d = 4; d <= D; d += 2) n += 2^(D-d+4) * (2^(d+1) - 1); printf "%.0f", n }'
}

W_NAME=38
row() { # NAME UNIT RECLAIM MALLOC BOEHM CPYTHON TARGET MET
    local r=$3 m=$4 b=$5 c=$6
    printf "%-${W_NAME}s %-7s %9s %9s %9s %9s  %8s %8s %8s  %-30s %s\n" "$1" "$2" "$(fmt "$r" "$DEC")" \
        "$(fmt "$m" "$DEC")" "$(fmt "$b" "$DEC")" "$(fmt "$c" "$DEC")" "$(ratio "$r" "$m")" "$(ratio "$r" "$b")" \
        "$(ratio "$r" "$c")" "$7" "$8" | tee -a "$TABLES"
}

say ""
say "GC benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, RUNS=$RUNS BT_RUNS=$BT_RUNS PY_RUNS=$PY_RUNS QUICK=$QUICK"
say "reclaim $(git -C "$repo" rev-parse --short HEAD 2>/dev/null)$(git -C "$repo" diff --quiet HEAD -- src include 2>/dev/null || echo '+uncommitted changes in src/include'), Release, static; $("$CC" --version | head -n 1); Boehm GC $(dpkg-query -W -f '${Version}' libgc-dev 2>/dev/null || echo '?'); $("$PYTHON" --version 2>&1)"
say "times: wall, monotonic clock inside each program; best of the runs. Load average before: ${load_start:-?}, after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
say "  (other work on the machine disturbs the numbers: a load above ~1 before or after means a noisy run)"
say ""
printf "%-${W_NAME}s %-7s %9s %9s %9s %9s  %8s %8s %8s  %-30s %s\n" measurement unit reclaim malloc Boehm CPython \
    r/malloc r/Boehm r/CPy "target (issue)" "verdict" | tee -a "$TABLES"
say "$(printf '%*s' 160 '' | tr ' ' -)"

# --- binary-trees
DEC=2
D=$BT_DEPTH P=$PY_BT_DEPTH
r=$(v binarytrees $D reclaim sec) m=$(v binarytrees $D malloc sec) b=$(v binarytrees $D boehm sec)
c="" cnote=""
if ((P == D)); then
    c=$(v binarytrees $D cpython sec)
else
    # CPython at depth P, scaled by the nodes allocated (a lower bound: its
    # collections cost more than linearly as the live trees grow)
    cp=$(v binarytrees $P cpython sec)
    [[ -n $cp ]] && c=$(awk -v t="$cp" -v a="$(bt_nodes $D)" -v z="$(bt_nodes $P)" 'BEGIN { printf "%.2f", t * a / z }')
    cnote=" (CPython: est.*)"
fi
rm_=$(ratio "$r" "$m")
row "binary-trees $D$cnote" s "$r" "$m" "$b" "$c" "<=1.3x malloc/free" "$(le "$rm_" 1.3)"
r=$(v binarytrees $D reclaim-nogc sec)
rm_=$(ratio "$r" "$m")
row "binary-trees $D, reclaim gc disabled" s "$r" "$m" "$b" "$c" "<=1.3x malloc/free" "$(le "$rm_" 1.3)"
if ((P != D)); then
    r=$(v binarytrees $P reclaim sec) m=$(v binarytrees $P malloc sec) b=$(v binarytrees $P boehm sec)
    c=$(v binarytrees $P cpython sec)
    row "binary-trees $P (all measured)" s "$r" "$m" "$b" "$c" "<=1.3x malloc/free" "$(le "$(ratio "$r" "$m")" 1.3)"
    r=$(v binarytrees $P reclaim-nogc sec)
    row "binary-trees $P, reclaim gc disabled" s "$r" "$m" "$b" "$c" "<=1.3x malloc/free" "$(le "$(ratio "$r" "$m")" 1.3)"
fi

# --- GCBench
r=$(v gcbench - reclaim sec) m=$(v gcbench - malloc sec) b=$(v gcbench - boehm sec) c=$(v gcbench - cpython sec)
row "GCBench" s "$r" "$m" "$b" "$c" "<=1.3x malloc/free" "$(le "$(ratio "$r" "$m")" 1.3)"
r=$(v gcbench - reclaim-nogc sec)
row "GCBench, reclaim gc disabled" s "$r" "$m" "$b" "$c" "<=1.3x malloc/free" "$(le "$(ratio "$r" "$m")" 1.3)"

# --- garbage cycles
N=$CYCLES_N
NN=$((2 * N))
Nh=$(awk -v n="$N" 'BEGIN { if (n % 1000000 == 0) printf "%dM", n / 1000000; else if (n % 1000 == 0) printf "%dk", n / 1000; else print n }')
r=$(per_obj "$(v cycles $N reclaim sec)" $NN) m=$(per_obj "$(v cycles $N malloc sec)" $NN)
b=$(per_obj "$(v cycles $N boehm sec)" $NN) c=$(per_obj "$(v cycles $N cpython sec)" $NN)
row "$Nh garbage cycles: all, per object" ns/obj "$r" "$m" "$b" "$c" "" ""
r=$(per_obj "$(v cycles $N reclaim gc_sec)" "$(v cycles $N reclaim collected)")
b=$(per_obj "$(v cycles $N boehm gc_sec)" $NN)
c=$(per_obj "$(v cycles $N cpython gc_sec)" "$(v cycles $N cpython collected)")
row "$Nh garbage cycles: collector time" ns/obj "$r" "" "$b" "$c" "<50 ns per object reclaimed" "$(le "$r" 50)"
r=$(per_obj "$(v cycles $N reclaim-nogc gc_sec)" "$(v cycles $N reclaim-nogc collected)")
row "  gc off, one full collection at end" ns/obj "$r" "" "" "" "<50 ns per object reclaimed" "$(le "$r" 50)"

# --- full collections
for n in $FULLGC_N; do
    nh=$(awk -v n="$n" 'BEGIN { if (n % 1000000 == 0) printf "%dM", n / 1000000; else if (n % 1000 == 0) printf "%dk", n / 1000; else print n }')
    r=$(per_obj "$(v fullgc $n reclaim sec)" $n) b=$(per_obj "$(v fullgc $n boehm sec)" $n)
    c=$(per_obj "$(v fullgc $n cpython sec)" $n)
    sp=$(ratio "$c" "$r")
    met="CPy $(ge "$sp" 5) (${sp}x), Boehm $(le "$(ratio "$r" "$b")" 1)"
    row "full collection, $nh live objects" ns/obj "$r" "" "$b" "$c" ">=5x faster than CPy, <=Boehm" "$met"
    b1=$(per_obj "$(v fullgc $n boehm1 sec)" $n)
    row "  Boehm with GC_MARKERS=1" ns/obj "$r" "" "$b1" "" "<=Boehm" "$(le "$(ratio "$r" "$b1")" 1)"
done

# --- bytes per object
DEC=1
S=$SIZE_N
cs=$CPY_SIZE_N
r=$(v size $S reclaim sizeof) m=$(v size $S malloc sizeof) b=$(v size $S boehm sizeof) c=$(v size $cs cpython sizeof)
row "bytes per 2-pointer node: object" B "$r" "$m" "$b" "$c" "32 bytes" "$(le "$r" 32)"
r=$(v size $S reclaim heap_bytes) m=$(v size $S malloc heap_bytes) b=$(v size $S boehm heap_bytes)
c=$(v size $cs cpython heap_bytes)
# judged to the 0.1 B shown: the young vectors' slots of the last <=~7700
# objects still young are spread over all N
row "bytes per 2-pointer node: heap" B "$r" "$m" "$b" "$c" "32 bytes" "$(le "$(fmt "$r" 1)" 32)"
r=$(v size $S reclaim-nogc heap_bytes)
row "  reclaim gc disabled (all young)" B "$r" "$m" "$b" "$c" "32 bytes" "$(le "$(fmt "$r" 1)" 32)"

say "$(printf '%*s' 160 '' | tr ' ' -)"

# }================================================================

# {================================================================
# Notes under the table: what each cell is, and the raw numbers behind it
# =================================================================

say "r/X = reclaim / X (below 1: reclaim is faster or smaller). 'met' judges the reclaim column."
if ((P != D)); then
    say "* CPython's binary-trees ran at depth $P only ($(v binarytrees $P cpython sec) s); its depth-$D cell is that time x $(bt_nodes $D)/$(bt_nodes $P) nodes, a lower bound."
fi
say "binary-trees: reclaim's node type has traverse and RC_TYPE_IMMUTABLE (tracked at creation, untracked by its first collection as CPython untracks tuples), freed by rc_decref; malloc/free frees recursively; Boehm never frees; CPython is the usual tuple program."
for k in "binarytrees/$D/reclaim" "binarytrees/$P/reclaim" "binarytrees/$P/cpython" "gcbench/-/reclaim" "gcbench/-/cpython" "binarytrees/$D/boehm" "gcbench/-/boehm"; do
    [[ -n ${OUT[$k]:-} ]] || continue
    l=${OUT[$k]}
    say "  $k: collections $(field "$l" gc_runs) taking $(field "$l" gc_sec) s$(
        g0=$(field "$l" gen0); [[ -n $g0 ]] && echo " (gen0 $g0 s, gen1 $(field "$l" gen1) s, gen2 $(field "$l" gen2) s: count/seconds)")"
done
say "garbage cycles: collector time = time inside the collections (reclaim: rc_gc_info.duration_ns; CPython: gc.callbacks;"
say "  Boehm: GC_EVENT_START..END, marking only, its sweep is lazy inside allocation) / objects reclaimed. 'all' = the whole loop"
say "  plus a final full collection / 2N objects; malloc/free frees each pair by hand."
for k in "cycles/$N/reclaim" "cycles/$N/cpython" "cycles/$N/boehm"; do
    [[ -n ${OUT[$k]:-} ]] && say "  $k: $(cut -d' ' -f4- <<<"${OUT[$k]}")"
done
say "full collection: N nodes, node i -> node i-1 and node (i-1)/2, held from one root; built with automatic collection off, then one"
say "  untimed full collection, then the best of 3 timed: reclaim rc_gc_collect(-1), CPython gc.collect() (__slots__ objects), Boehm GC_gcollect()"
say "  (Boehm's default: $(nproc) parallel markers on this machine)."
say "bytes: object = rc_sizeof / malloc_usable_size / GC_size / sys.getsizeof (__slots__ with 2 slots, GC header included);"
say "  heap = reclaim rc_heap_get_stats bytes_in_use delta / N, glibc mallinfo2 delta / N, Boehm heap-size-minus-free delta / N,"
say "  CPython tracemalloc delta / N (pymalloc requests: GC header included, pool overhead not)."
if [[ -n ${OUT[size/$cs/cpython]:-} ]]; then
    l=${OUT[size/$cs/cpython]}
    say "  CPython plain instance (2 attributes): getsizeof $(field "$l" plain_sizeof) + __dict__ $(field "$l" plain_dict_sizeof) when materialised; tracemalloc $(field "$l" plain_heap_bytes) B/object"
fi
if [[ -n ${OUT[size/$S/reclaim]:-} ]]; then
    say "  reclaim: bytes_mapped delta / N = $(field "${OUT[size/$S/reclaim]}" mapped_bytes) B (gc on), $(field "${OUT[size/$S/reclaim-nogc]:-}" mapped_bytes) B (gc off; the young generation's side vector, 8 B/slot, counts in heap bytes)"
fi

# failures and mismatches
for k in "${!STATUS[@]}"; do
    say "!!! $k: ${STATUS[$k]}"
    failures=$((failures + 1))
done
say ""
say "total wall time: $((SECONDS - start_time)) s; table in $TABLES, raw output in $WORK_DIR/logs"
if ((failures)); then
    say "!!! $failures FAILED RUN(S) OR CHECKSUM MISMATCH(ES): see above"
    exit 1
fi
