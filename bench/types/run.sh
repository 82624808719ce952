#!/usr/bin/env bash
# run.sh — build reclaim (Release, static) and typesbench.c, run them, CPython's
# typesbench.py and (where /usr/bin/python3 has it) numpy on the same
# operations: bytes per element of a list, dict and set of 1M ints, 1M floats
# in a list and in a typed array, the peak RSS of a stream through a lazy
# pipeline at growing lengths, and the speed of append, dict insert and
# lookup and the pipeline (through rc_range and through a generator). Check
# that every implementation computes the same checksums, and print one table
# with the ratios CPython / reclaim and a verdict for each of the issue's
# targets. See README.md.
#
# Environment (all optional):
#   RUNS=5               runs of each timed case, reclaim and CPython alternately;
#                        the median is kept
#   MEM_N=1000000        elements of the bytes-per-element structures
#   APPEND_N=10000000    list appends timed
#   DICT_N=1000000       dict inserts, then as many lookups, timed
#   STREAM_NS="1000000 10000000"   stream lengths for every implementation
#   BIG_STREAM_N=100000000         one more length for reclaim only (0: never), run when
#                        the longest STREAM_NS run, scaled, says it takes under BIG_STREAM_MAX_SEC
#   BIG_STREAM_MAX_SEC=30
#   QUICK=1              everything 10x smaller, RUNS=1 (a check that all runs)
#   WORK_DIR=...         build tree, binary, logs, table (default <repo>/build/bench-types)
#   TIMEOUT=300          seconds before one run is killed and reported FAILED
#   CC=cc PYTHON=python3 NUMPY_PYTHON=/usr/bin/python3
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
    RUNS=${RUNS:-1} MEM_N=${MEM_N:-100000} APPEND_N=${APPEND_N:-1000000} DICT_N=${DICT_N:-100000}
    STREAM_NS=${STREAM_NS:-100000 1000000} BIG_STREAM_N=${BIG_STREAM_N:-10000000}
fi
RUNS=${RUNS:-5}
MEM_N=${MEM_N:-1000000}
APPEND_N=${APPEND_N:-10000000}
DICT_N=${DICT_N:-1000000}
STREAM_NS=${STREAM_NS:-1000000 10000000}
BIG_STREAM_N=${BIG_STREAM_N:-100000000}
BIG_STREAM_MAX_SEC=${BIG_STREAM_MAX_SEC:-30}
TIMEOUT=${TIMEOUT:-300}
CC=${CC:-cc}
PYTHON=${PYTHON:-python3}
NUMPY_PYTHON=${NUMPY_PYTHON:-/usr/bin/python3}
WORK_DIR=${WORK_DIR:-$repo/build/bench-types}
start_time=$SECONDS
load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)

note() { printf '%s\n' "run.sh: $*" >&2; }
die() { note "$*"; exit 1; }

for v in RUNS MEM_N APPEND_N DICT_N TIMEOUT; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
[[ $BIG_STREAM_N =~ ^[0-9]+$ ]] || die "BIG_STREAM_N must be a non-negative integer"
for n in $STREAM_NS; do [[ $n =~ ^[1-9][0-9]*$ ]] || die "STREAM_NS must be positive integers"; done
[[ -n ${STREAM_NS// /} ]] || die "STREAM_NS is empty"
mkdir -p "$WORK_DIR/logs" || die "cannot create $WORK_DIR"
rm -f "$WORK_DIR"/logs/*

# {================================================================
# Packages: a compiler, cmake, python3, numpy for /usr/bin/python3
# =================================================================

missing=()
command -v "$CC" >/dev/null || missing+=(gcc)
command -v cmake >/dev/null || missing+=(cmake)
command -v "$PYTHON" >/dev/null || missing+=(python3)
command -v timeout >/dev/null || missing+=(coreutils)
"$NUMPY_PYTHON" -c 'import numpy' >/dev/null 2>&1 || missing+=(python3-numpy)
if ((${#missing[@]})); then
    note "installing ${missing[*]}"
    bash "$repo/scripts/deps.sh" "${missing[@]}" >"$WORK_DIR/apt.log" 2>&1 ||
        note "could not install them (see $WORK_DIR/apt.log); going on without ${missing[*]}"
fi
command -v "$CC" >/dev/null || die "no C compiler ($CC)"
command -v cmake >/dev/null || die "no cmake"
command -v "$PYTHON" >/dev/null || die "no $PYTHON: there is nothing to compare with"
have_numpy=0
if "$NUMPY_PYTHON" -c 'import numpy' >/dev/null 2>&1; then have_numpy=1; else
    note "!!! $NUMPY_PYTHON cannot import numpy: the numpy column stays empty"; fi

# }================================================================

# {================================================================
# Build: reclaim (Release, static library) and typesbench
# =================================================================

BIN=$WORK_DIR/bin
mkdir -p "$BIN"
rm -f "$BIN/typesbench"
RBUILD=$WORK_DIR/reclaim-build
note "building reclaim (Release) in $RBUILD (log: $WORK_DIR/build.log)"
if ! { cmake -S "$repo" -B "$RBUILD" -DCMAKE_BUILD_TYPE=Release -DRECLAIM_TESTS=OFF \
        -DRECLAIM_EXAMPLES=OFF -DRECLAIM_MALLOC_OVERRIDE=OFF -DRECLAIM_WERROR=OFF &&
       cmake --build "$RBUILD" --target reclaim_static -j "$(nproc)"; } >"$WORK_DIR/build.log" 2>&1; then
    die "!!! building reclaim failed: $(tail -n 5 "$WORK_DIR/build.log")"
fi
"$CC" -std=c11 -O2 -g -fno-omit-frame-pointer -Wall -Wextra -DRC_OBJECT_CHECKS=0 -I"$repo/include" \
    -o "$BIN/typesbench" "$here/typesbench.c" "$RBUILD/libreclaim.a" \
    $(bash "$repo/scripts/static-libs.sh" "$RBUILD") >>"$WORK_DIR/build.log" 2>&1 ||
    die "!!! building typesbench failed: $(tail -n 5 "$WORK_DIR/build.log")"
scaffolds=$(cd "$repo" && grep -l SCAFFOLD src/types/*.c 2>/dev/null | tr '\n' ' ')
[[ -n $scaffolds ]] && note "!!! not landed yet (SCAFFOLD): ${scaffolds}- their rows will fail"

# }================================================================

# {================================================================
# Running: RESULT lines, medians, checksums
# =================================================================

declare -A OUT STATUS   # keyed "mode/n/impl": every run's RESULT line, newline-separated
failures=0

# field LINE KEY: the value of "KEY=value" in a RESULT line.
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# run MODE N IMPL RUNS: run it RUNS times, keep every RESULT line (added to
# those of earlier calls; nothing more once a run of it failed).
run() {
    local mode=$1 n=$2 impl=$3 runs=$4 k="$1/$2/$3" cmd=()
    [[ -z ${STATUS[$k]:-} ]] || return 0
    case $impl in
    reclaim) cmd=("$BIN/typesbench") ;;
    cpython) cmd=("$PYTHON" "$here/typesbench.py") ;;
    numpy) ((have_numpy)) || return 0; cmd=("$NUMPY_PYTHON" "$here/typesbench.py") ;;
    esac
    note "$mode $n $impl (x$runs)"
    local r
    for ((r = 1; r <= runs; r++)); do
        local log=$WORK_DIR/logs/$mode.$n.$impl.$r
        timeout -k 10 "$TIMEOUT" "${cmd[@]}" "$mode" "$n" >"$log.out" 2>"$log.err"
        local rc=$? line
        line=$(grep -E '^RESULT ' "$log.out" | tail -n 1)
        if ((rc != 0)) || [[ -z $line ]]; then
            STATUS[$k]="FAILED(rc=$rc)"
            note "!!! $mode $n under $impl failed (rc=$rc$( ((rc == 124)) && echo ", timed out after ${TIMEOUT}s")): $(head -c 400 "$log.err")"
            unset "OUT[$k]"
            return
        fi
        OUT[$k]+="$line"$'\n'
    done
}

# check MODE N IMPL REF_IMPL: the checksums of IMPL's runs equal REF_IMPL's.
check() {
    local k=$1/$2/$3 ref cs
    [[ -n ${OUT[$k]:-} && -n ${OUT[$1/$2/$4]:-} ]] || return 0
    ref=$(field "$(head -n 1 <<<"${OUT[$1/$2/$4]}")" checksum)
    while read -r l; do
        [[ -n $l ]] || continue
        cs=$(field "$l" checksum)
        if [[ $cs != "$ref" ]]; then
            STATUS[$k]="CHECKSUM MISMATCH ($cs, $4 $ref)"
            note "!!! CHECKSUM MISMATCH: $1 $2 under $3 gave $cs, $4 gave $ref"
            return
        fi
    done <<<"${OUT[$k]}"
}

# pair MODE N: reclaim and CPython alternately, RUNS times each, so that a
# change of load on the machine falls on both alike; then the checksums.
pair() {
    local r
    for ((r = 1; r <= RUNS; r++)); do
        run "$1" "$2" reclaim 1
        run "$1" "$2" cpython 1
    done
    check "$1" "$2" reclaim cpython
}

# v MODE N IMPL KEY: the median of KEY over the runs (the lower middle one
# for an even count); "" when the runs failed or a check did.
v() {
    [[ -z ${STATUS[$1/$2/$3]:-} && -n ${OUT[$1/$2/$3]:-} ]] || return 0
    local key=$4
    sed -n "s/.* $key=\([^ ]*\).*/\1/p" <<<"${OUT[$1/$2/$3]}" | sort -g |
        awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'
}
# vmin MODE N IMPL KEY: the smallest KEY over the runs.
vmin() {
    [[ -z ${STATUS[$1/$2/$3]:-} && -n ${OUT[$1/$2/$3]:-} ]] || return 0
    sed -n "s/.* $4=\([^ ]*\).*/\1/p" <<<"${OUT[$1/$2/$3]}" | sort -g | head -n 1
}
# vmax MODE N IMPL KEY: the largest KEY over the runs.
vmax() {
    [[ -z ${STATUS[$1/$2/$3]:-} && -n ${OUT[$1/$2/$3]:-} ]] || return 0
    sed -n "s/.* $4=\([^ ]*\).*/\1/p" <<<"${OUT[$1/$2/$3]}" | sort -g | tail -n 1
}

for v_ in $(env | sed -n 's/^\(RECLAIM_[A-Z_]*\)=.*/\1/p'); do
    note "NOTE: $v_=${!v_} is set and changes reclaim's behaviour in this run"
done

# memory: deterministic, one run each, a fresh process per structure
MEM_MODES="mem-list mem-dict mem-set mem-floats mem-array mem-array-append"
for m in $MEM_MODES; do
    run "$m" "$MEM_N" reclaim 1
    run "$m" "$MEM_N" cpython 1
    check "$m" "$MEM_N" reclaim cpython
done
run mem-numpy "$MEM_N" numpy 1
# numpy's checksum is the typed array's: same length, same sum
if [[ -n ${OUT[mem-numpy/$MEM_N/numpy]:-} && -n ${OUT[mem-array/$MEM_N/reclaim]:-} ]]; then
    a=$(field "${OUT[mem-numpy/$MEM_N/numpy]}" checksum) b=$(field "${OUT[mem-array/$MEM_N/reclaim]}" checksum)
    [[ $a == "$b" ]] || { STATUS[mem-numpy/$MEM_N/numpy]="CHECKSUM MISMATCH ($a, reclaim $b)";
        note "!!! CHECKSUM MISMATCH: mem-numpy gave $a, reclaim's mem-array $b"; }
fi

# speed
pair append "$APPEND_N"
pair dict "$DICT_N"
pair setadd "$DICT_N"

# streams: a fresh process per length, so one length's peak cannot hide another's
for m in stream genstream; do
    for n in $STREAM_NS; do
        pair "$m" "$n"
    done
done
STREAM_LAST=${STREAM_NS##* }
STREAM_FIRST=${STREAM_NS%% *}
big_ran=0
if ((BIG_STREAM_N > 0)); then
    ok=1
    for m in stream genstream; do
        s=$(v "$m" "$STREAM_LAST" reclaim sec)
        [[ -n $s ]] && awk -v s="$s" -v n="$STREAM_LAST" -v b="$BIG_STREAM_N" -v lim="$BIG_STREAM_MAX_SEC" \
            'BEGIN { exit !(s * b / n <= lim) }' || ok=0
    done
    if ((ok)); then
        big_ran=1
        for m in stream genstream; do run "$m" "$BIG_STREAM_N" reclaim 1; done
    else
        note "reclaim's $BIG_STREAM_N-item streams would take over ${BIG_STREAM_MAX_SEC}s each (or a run failed): not run"
    fi
fi

# }================================================================

# {================================================================
# The table
# =================================================================

# fmt X DECIMALS: X printed, "-" when missing.
fmt() { if [[ -z $1 ]]; then printf -- '-'; else awk -v x="$1" -v d="$2" 'BEGIN { printf "%.*f", d, x }'; fi; }
# ratio X Y: X / Y, "-" when either is missing.
ratio() {
    if [[ -z $1 || -z $2 || $1 == - || $2 == - ]]; then printf -- '-'; return; fi
    awk -v x="$1" -v y="$2" 'BEGIN { if (y > 0) printf "%.2f", x / y; else printf "-" }'
}
# le X LIMIT / gt X LIMIT: "met" or "NOT MET" ("?" when X is missing).
le() { if [[ -z $1 || $1 == - || -z $2 || $2 == - ]]; then printf '?'; else awk -v x="$1" -v l="$2" 'BEGIN { print (x <= l) ? "met" : "NOT MET" }'; fi; }
gt() { if [[ -z $1 || $1 == - || -z $2 || $2 == - ]]; then printf '?'; else awk -v x="$1" -v l="$2" 'BEGIN { print (x > l) ? "met" : "NOT MET" }'; fi; }
# nh N: 1000000 -> 1M
nh() { awk -v n="$1" 'BEGIN { if (n % 1000000 == 0) printf "%dM", n / 1000000; else if (n % 1000 == 0) printf "%dk", n / 1000; else print n }'; }
mib() { [[ -n $1 ]] && awk -v k="$1" 'BEGIN { printf "%.2f", k / 1024 }'; }

say() { printf '%s\n' "$*" | tee -a "$TABLES"; }
TABLES=$WORK_DIR/tables.txt
: >"$TABLES"
W=44
DEC=1
row() { # NAME UNIT RECLAIM CPYTHON NUMPY RATIO TARGET VERDICT
    printf "%-${W}s %-7s %9s %9s %9s %7s  %-28s %s\n" "$1" "$2" "$(fmt "$3" "$DEC")" "$(fmt "$4" "$DEC")" \
        "$(fmt "$5" "$DEC")" "$6" "$7" "$8" | tee -a "$TABLES"
}
# verdict TARGET RESULT: prints RESULT and remembers the pair for the lines under the
# table (in a file: it is called inside $(...))
VERDICTS=$WORK_DIR/verdicts.txt
: >"$VERDICTS"
verdict() { printf '%-9s %s\n' "$2" "$1" >>"$VERDICTS"; printf '%s' "$2"; }
# both A B: "met" when both are, "?" when either is unknown, else "NOT MET"
both() { if [[ $1 == met && $2 == met ]]; then echo met; elif [[ $1 == '?' || $2 == '?' ]]; then echo '?'; else echo "NOT MET"; fi; }

commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null)
dirty=$(git -C "$repo" status --porcelain -- src include 2>/dev/null | head -n 1)
say ""
say "Built-in types benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, RUNS=$RUNS (median) QUICK=$QUICK"
say "reclaim ${commit:-?}${dirty:+ + uncommitted changes in src/include}, Release, static; $("$CC" --version | head -n 1)"
say "CPython: $("$PYTHON" --version 2>&1) ($PYTHON); numpy: $( ((have_numpy)) && "$NUMPY_PYTHON" -c 'import numpy, sys; print(numpy.__version__, "under Python", sys.version.split()[0])' || echo 'not available')"
say "Load average before: ${load_start:-?}, after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null) (a load above ~1 means a noisy run)"
say ""
printf "%-${W}s %-7s %9s %9s %9s %7s  %-28s %s\n" measurement unit reclaim CPython numpy CPy/r "target (issue)" verdict |
    tee -a "$TABLES"
say "$(printf '%*s' 130 '' | tr ' ' -)"

N=$MEM_N
Nh=$(nh "$N")
# --- bytes per element
mem_row() { # MODE LABEL
    local r c cr
    r=$(v "$1" "$N" reclaim heap_bytes) c=$(v "$1" "$N" cpython block_bytes)
    row "$2, heap" B/elt "$r" "$c" "" "$(ratio "$c" "$r")" "<= CPython" "$(verdict "$2: bytes <= CPython" "$(le "$r" "$c")")"
    r=$(v "$1" "$N" reclaim rss_bytes) cr=$(v "$1" "$N" cpython rss_bytes)
    row "  RSS growth" B/elt "$r" "$cr" "" "$(ratio "$cr" "$r")" "" ""
}
mem_row mem-list "list of $Nh ints (append)"
mem_row mem-dict "dict of $Nh int->int (d[i] = 2*i)"
mem_row mem-set "set of $Nh ints (add)"
mem_row mem-floats "list of $Nh floats (append)"
# the float64 array
r=$(v mem-array "$N" reclaim heap_bytes) c=$(v mem-array "$N" cpython block_bytes)
np=""
[[ -n ${OUT[mem-numpy/$N/numpy]:-} && -z ${STATUS[mem-numpy/$N/numpy]:-} ]] && np=$(field "${OUT[mem-numpy/$N/numpy]}" numpy_bytes)
DEC=3
t1=$(le "$r" 8.08)
t2=$(le "$r" "${np:-$c}")
row "$Nh float64: rc_array_new + fill, heap" B/elt "$r" "$c" "$np" "$(ratio "${np:-$c}" "$r")" \
    "<= 8.08 (8 + 1%), <= numpy" "$(verdict "float64 array: heap bytes within 1% of 8" "$t1"), $(verdict "float64 array: bytes <= numpy (array.array without numpy)" "$t2")"
rr=$(v mem-array "$N" reclaim rss_bytes) cr=$(v mem-array "$N" cpython rss_bytes)
npr=""
[[ -n $np ]] && npr=$(field "${OUT[mem-numpy/$N/numpy]}" rss_bytes)
row "  RSS growth" B/elt "$rr" "$cr" "$npr" "$(ratio "${npr:-$cr}" "$rr")" "<= 8.08 (8 + 1%)" \
    "$(verdict "float64 array: RSS growth within 1% of 8" "$(le "$rr" 8.08)")"
r2=$(v mem-array-append "$N" reclaim heap_bytes) c2=$(v mem-array-append "$N" cpython block_bytes)
row "$Nh float64 appended one by one, heap" B/elt "$r2" "$c2" "" "$(ratio "$c2" "$r2")" "<= CPython" \
    "$(verdict "float64 array, appended: bytes <= array.array" "$(le "$r2" "$c2")")"
rr2=$(v mem-array-append "$N" reclaim rss_bytes) cr2=$(v mem-array-append "$N" cpython rss_bytes)
row "  RSS growth" B/elt "$rr2" "$cr2" "" "$(ratio "$cr2" "$rr2")" "" ""
DEC=1
cf=$(v mem-floats "$N" cpython block_bytes)
row "$Nh floats: rc_array vs Python list of floats" B/elt "$r" "$cf" "" "$(ratio "$cf" "$r")" "<= CPython list" \
    "$(verdict "float64 array: bytes <= a Python list of floats" "$(le "$r" "$cf")")"

# --- streams: peak RSS
DEC=2
for m in stream genstream; do
    label="range->map->filter->sum"
    [[ $m == genstream ]] && label="generator->map->filter->sum"
    r0=$(mib "$(vmax "$m" "$STREAM_FIRST" reclaim maxrss_kib)")
    c0=$(mib "$(vmax "$m" "$STREAM_FIRST" cpython maxrss_kib)")
    ns=$STREAM_NS
    ((big_ran)) && ns="$ns $BIG_STREAM_N"
    for n in $ns; do
        r=$(mib "$(vmax "$m" "$n" reclaim maxrss_kib)") c=$(mib "$(vmax "$m" "$n" cpython maxrss_kib)")
        tgt="" vd=""
        if [[ $n != "$STREAM_FIRST" ]]; then
            tgt="< +1 MiB over $(nh "$STREAM_FIRST")"
            g=""
            [[ -n $r && -n $r0 ]] && g=$(awk -v a="$r" -v b="$r0" 'BEGIN { printf "%.2f", a - b }')
            vd=$(verdict "$label: peak RSS at $(nh "$n") within 1 MiB of $(nh "$STREAM_FIRST") (grew ${g:-?} MiB)" \
                "$(awk -v g="$g" 'BEGIN { if (g == "") print "?"; else print (g < 1) ? "met" : "NOT MET" }')")
        fi
        row "$label, $(nh "$n"): peak RSS" MiB "$r" "$c" "" "$(ratio "$c" "$r")" "$tgt" "$vd"
    done
done

# --- speed
speed_row() { # LABEL RECLAIM CPYTHON [TARGETED]
    local vd=""
    [[ ${4:-1} == 1 ]] && vd=$(verdict "$1: faster than CPython" "$(gt "$(ratio "$3" "$2")" 1)")
    row "$1" ns/op "$2" "$3" "" "$(ratio "$3" "$2")" "$([[ ${4:-1} == 1 ]] && echo "faster than CPython (>1)" || echo "(not a target)")" "$vd"
}
DEC=1
speed_row "list append, $(nh "$APPEND_N") ints" "$(v append "$APPEND_N" reclaim ns_per_op)" \
    "$(v append "$APPEND_N" cpython ns_per_op)"
speed_row "dict insert, $(nh "$DICT_N") int->int" "$(v dict "$DICT_N" reclaim insert_ns)" \
    "$(v dict "$DICT_N" cpython insert_ns)"
speed_row "dict lookup, $(nh "$DICT_N") int keys" "$(v dict "$DICT_N" reclaim lookup_ns)" \
    "$(v dict "$DICT_N" cpython lookup_ns)"
speed_row "range->map->filter->sum, $(nh "$STREAM_LAST") items" "$(v stream "$STREAM_LAST" reclaim ns_per_item)" \
    "$(v stream "$STREAM_LAST" cpython ns_per_item)"
speed_row "generator->map->filter->sum, $(nh "$STREAM_LAST")" "$(v genstream "$STREAM_LAST" reclaim ns_per_item)" \
    "$(v genstream "$STREAM_LAST" cpython ns_per_item)"
speed_row "set add, $(nh "$DICT_N") ints" "$(v setadd "$DICT_N" reclaim ns_per_op)" "$(v setadd "$DICT_N" cpython ns_per_op)" 0
say "$(printf '%*s' 130 '' | tr ' ' -)"

# }================================================================

# {================================================================
# Under the table: the verdicts, what each cell is, raw figures
# =================================================================

say "CPy/r = CPython / reclaim (numpy / reclaim where numpy has a figure): above 1, reclaim is smaller or faster."
say ""
say "Targets (issue):"
n_all=0 n_not=0 n_unknown=0
while IFS= read -r l; do
    n_all=$((n_all + 1))
    case $l in "NOT MET"*) n_not=$((n_not + 1)) ;; "?"*) n_unknown=$((n_unknown + 1)) ;; esac
    say "  $l"
done <"$VERDICTS"
say "  => $((n_all - n_not - n_unknown)) met, $n_not NOT MET, $n_unknown unknown (a run failed)"
say ""
say "heap B/elt: reclaim = growth of rc_heap_get_stats().bytes_in_use (live blocks at block size, large blocks at"
say "  their page-rounded size) / N; CPython = tracemalloc's blocks, each rounded up to what it occupies (pymalloc's"
say "  16-byte classes up to 512 B; above, glibc malloc's chunk, or its page-rounded mapping from 128 KiB) / N; "
say "  numpy = sys.getsizeof(array) (object + owned data), the data rounded as glibc malloc holds it / N."
say "  CPython's tracemalloc requested bytes (heap_bytes), for comparison:"
for m in $MEM_MODES; do
    c=$(v "$m" "$N" cpython heap_bytes) cb=$(v "$m" "$N" cpython block_bytes) r=$(v "$m" "$N" reclaim heap_bytes)
    [[ -n $c ]] || continue
    alt=""
    [[ -n $r && $(le "$r" "$c") != $(le "$r" "$cb") ]] &&
        alt="  (against this figure reclaim's $r would be $(le "$r" "$c"))"
    say "    $m: $(fmt "$c" 3) requested, $(fmt "$cb" 3) in blocks$alt"
done
say "  reclaim's bytes_mapped growth / N: $(for m in $MEM_MODES; do printf '%s %s  ' "$m" "$(fmt "$(v "$m" "$N" reclaim mapped_bytes)" 2)"; done)"
[[ -n ${OUT[mem-numpy/$N/numpy]:-} ]] &&
    say "  numpy: $(cut -d' ' -f4- <<<"${OUT[mem-numpy/$N/numpy]}")"
say "  CPython's array.array('d') (the CPython column of the float64 rows): getsizeof $(field "${OUT[mem-array/$N/cpython]:-}" sizeof) B sized, $(field "${OUT[mem-array-append/$N/cpython]:-}" sizeof) B appended."
say "RSS growth: anonymous resident set (/proc/self/statm: resident - shared, so code faulted in does not count) after"
say "  building minus before, / N, in a fresh process per structure"
say "  (CPython: a separate build without tracemalloc)."
say "peak RSS: getrusage ru_maxrss of a fresh process per length (the whole process: library, interpreter); the"
say "  largest over the runs. Python: sum(filter(lambda x: x % 2 == 0, map(lambda x: x * 3, SRC))), SRC = range(n)"
say "  or a generator function (while i < n: yield i; i += 1); reclaim: rc_range or an RC_GEN_BEGIN/RC_YIELD"
say "  generator, then rc_map, rc_filter and a loop of rc_next."
((big_ran)) && say "  The $(nh "$BIG_STREAM_N") rows are reclaim only (CPython would take minutes)."
say "ns/op: median of $RUNS runs, monotonic clock inside each program; the ints are made in the timed loop on both sides"
say "  (C: rc_int_new; Python: range). Python hoists l.append and s.add into locals; its lookup loop is 'd[i]' alone."
say "  dict insert = d[i] = 2 * i over an empty dict (growth included); lookup = the same keys, in order."
say "  spread of the runs (min..max ns/op), reclaim | CPython:"
for spec in "append $APPEND_N ns_per_op" "dict $DICT_N insert_ns" "dict $DICT_N lookup_ns" \
    "stream $STREAM_LAST ns_per_item" "genstream $STREAM_LAST ns_per_item" "setadd $DICT_N ns_per_op"; do
    read -r m n key <<<"$spec"
    say "    $m $key: $(vmin "$m" "$n" reclaim "$key")..$(vmax "$m" "$n" reclaim "$key") | $(vmin "$m" "$n" cpython "$key")..$(vmax "$m" "$n" cpython "$key")"
done
for k in "append/$APPEND_N/reclaim" "append/$APPEND_N/cpython"; do
    [[ -n ${OUT[$k]:-} ]] && say "  $k: freeing the list took $(v "${k%%/*}" "$APPEND_N" "${k##*/}" free_sec) s (not in ns/op)"
done

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
