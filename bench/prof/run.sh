#!/usr/bin/env bash
# Word splitting of the sizes ($N: "LIVE TOTAL") and of the commands kept as strings (CMD) is
# meant (none holds a space: checked below), and the table's printf format is one variable.
# shellcheck disable=SC2086,SC2059
# run.sh — the tracing benchmark (issue 5): build reclaim (Release, static)
# and workload.c twice (against libreclaim.a, and against glibc malloc), then
# run the one allocation-heavy program plain, under reclaim's tracer with
# call sites (1 frame), with 16 frames and sampled, under heaptrack and
# Valgrind's massif (the glibc build), and workload.py under CPython's
# tracemalloc (1 and 25 frames), for reference. Print one table: CPU time,
# slowdown against the configuration's own plain run, peak RSS and the
# extra RSS, the tracer's own memory against the traced bytes, and a
# verdict for each of the issue's targets. See README.md.
#
# Environment (all optional):
#   RUNS=5                 runs of each of reclaim's configurations (the issue's targets)
#   TOOL_RUNS=3            runs of each of the others (glibc plain, heaptrack, massif, CPython)
#                          all round-robin, so a change of load falls on all alike; the median
#                          CPU time and peak RSS are kept
#   LIVE=1000000 TOTAL=5000000        workload.c: live set at its peak, allocations in all
#   MASSIF_LIVE, MASSIF_TOTAL         massif's size (default LIVE, TOTAL); when different, the
#                          glibc build also runs plainly at that size, as massif's baseline
#   PY_LIVE=200000 PY_TOTAL=1000000   workload.py's size
#   TOOLS="heaptrack massif python"   which of the other tools to run (reclaim's rows always run); empty: none
#   QUICK=1                everything 10x smaller, RUNS=TOOL_RUNS=1 (a check that all runs, not a measurement)
#   WORK_DIR=...           build tree, binaries, logs, table (default <repo>/build/bench-prof)
#   TIMEOUT=600            seconds before one run is killed and reported FAILED
#   CC=cc PYTHON=python3
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
    RUNS=${RUNS:-1} TOOL_RUNS=${TOOL_RUNS:-1} LIVE=${LIVE:-100000} TOTAL=${TOTAL:-500000}
    PY_LIVE=${PY_LIVE:-20000} PY_TOTAL=${PY_TOTAL:-100000}
fi
RUNS=${RUNS:-5}
TOOL_RUNS=${TOOL_RUNS:-3}
LIVE=${LIVE:-1000000}
TOTAL=${TOTAL:-5000000}
MASSIF_LIVE=${MASSIF_LIVE:-$LIVE}
MASSIF_TOTAL=${MASSIF_TOTAL:-$TOTAL}
PY_LIVE=${PY_LIVE:-200000}
PY_TOTAL=${PY_TOTAL:-1000000}
TOOLS=${TOOLS-heaptrack massif python}
TIMEOUT=${TIMEOUT:-600}
CC=${CC:-cc}
PYTHON=${PYTHON:-python3}
WORK_DIR=${WORK_DIR:-$repo/build/bench-prof}
start_time=$SECONDS
load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)

note() { printf '%s\n' "run.sh: $*" >&2; }
die() { note "$*"; exit 1; }

for v in RUNS TOOL_RUNS LIVE TOTAL MASSIF_LIVE MASSIF_TOTAL PY_LIVE PY_TOTAL TIMEOUT; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
((TOTAL >= LIVE && MASSIF_TOTAL >= MASSIF_LIVE && PY_TOTAL >= PY_LIVE)) || die "each TOTAL must be >= its LIVE"
for t in $TOOLS; do
    case $t in heaptrack | massif | python) ;; *) die "unknown tool '$t' in TOOLS (heaptrack massif python)" ;; esac
done
has_tool() { [[ " $TOOLS " == *" $1 "* ]]; }
mkdir -p "$WORK_DIR/logs" || die "cannot create $WORK_DIR"
rm -f "$WORK_DIR"/logs/*

# {================================================================
# Packages: a compiler, cmake, GNU time, heaptrack, valgrind, python3
# =================================================================

missing=()
command -v "$CC" >/dev/null || missing+=(gcc)
command -v cmake >/dev/null || missing+=(cmake)
command -v timeout >/dev/null || missing+=(coreutils)
[[ -x /usr/bin/time ]] || missing+=(time)
has_tool heaptrack && ! command -v heaptrack >/dev/null && missing+=(heaptrack)
has_tool massif && ! command -v valgrind >/dev/null && missing+=(valgrind)
has_tool python && ! command -v "$PYTHON" >/dev/null && missing+=(python3)
if ((${#missing[@]})); then
    note "installing ${missing[*]}"
    bash "$repo/scripts/deps.sh" "${missing[@]}" >"$WORK_DIR/apt.log" 2>&1 ||
        note "could not install them (see $WORK_DIR/apt.log); going on without ${missing[*]}"
fi
command -v "$CC" >/dev/null || die "no C compiler ($CC)"
command -v cmake >/dev/null || die "no cmake"
[[ -x /usr/bin/time ]] || die "no /usr/bin/time (Debian package time): it measures every run"
skipped=()
if has_tool heaptrack && ! command -v heaptrack >/dev/null; then
    note "!!! no heaptrack: its row is left out"; skipped+=(heaptrack); fi
if has_tool massif && ! command -v valgrind >/dev/null; then
    note "!!! no valgrind: massif's row is left out"; skipped+=(massif); fi
if has_tool python && ! command -v "$PYTHON" >/dev/null; then
    note "!!! no $PYTHON: tracemalloc's rows are left out"; skipped+=(python); fi
for s in "${skipped[@]}"; do TOOLS=" $TOOLS "; TOOLS=${TOOLS// $s / }; done

# }================================================================

# {================================================================
# Build: reclaim (Release, static), workload (reclaim) and workload_malloc (glibc)
# =================================================================

BIN=$WORK_DIR/bin
mkdir -p "$BIN"
rm -f "$BIN/workload" "$BIN/workload_malloc"
RBUILD=$WORK_DIR/reclaim-build
note "building reclaim (Release) in $RBUILD (log: $WORK_DIR/build.log)"
if ! { cmake -S "$repo" -B "$RBUILD" -DCMAKE_BUILD_TYPE=Release -DRECLAIM_TESTS=OFF \
        -DRECLAIM_EXAMPLES=OFF -DRECLAIM_MALLOC_OVERRIDE=OFF -DRECLAIM_WERROR=OFF &&
       cmake --build "$RBUILD" --target reclaim_static -j "$(nproc)"; } >"$WORK_DIR/build.log" 2>&1; then
    die "!!! building reclaim failed: $(tail -n 5 "$WORK_DIR/build.log")"
fi
# libreclaim.a needs what CMake links it with (libdw when the build found it).
read -r -a static_libs <<<"$(bash "$repo/scripts/static-libs.sh" "$RBUILD")"
CFLAGS_W=(-std=c11 -O2 -g -fno-omit-frame-pointer -Wall -Wextra)
"$CC" "${CFLAGS_W[@]}" -I"$repo/include" -o "$BIN/workload" "$here/workload.c" "$RBUILD/libreclaim.a" \
    "${static_libs[@]}" >>"$WORK_DIR/build.log" 2>&1 ||
    die "!!! building workload.c against libreclaim.a failed: $(tail -n 5 "$WORK_DIR/build.log")"
"$CC" "${CFLAGS_W[@]}" -DUSE_MALLOC -o "$BIN/workload_malloc" "$here/workload.c" >>"$WORK_DIR/build.log" 2>&1 ||
    die "!!! building workload.c -DUSE_MALLOC failed: $(tail -n 5 "$WORK_DIR/build.log")"

# }================================================================

# {================================================================
# The configurations
# =================================================================

# Each configuration: its label, its baseline (the plain run it is compared
# with), its size and its command. Every run of one prints a RESULT line
# (workload.c / workload.py); CPU time and peak RSS are measured from
# outside by GNU time, except workload.py's CPU time (its own cpu_s: the
# workload alone, not the interpreter's start or the sequence it draws first).
N="$LIVE $TOTAL"
declare -A LABEL BASE SIZE CMD
CONFIGS=()
add() { # ID BASE "LIVE TOTAL" LABEL CMD...
    local id=$1
    CONFIGS+=("$id") BASE[$id]=$2 SIZE[$id]=$3 LABEL[$id]=$4
    shift 4
    CMD[$id]="$*"
}
add r-plain r-plain "$N" "reclaim: no tracing" "$BIN/workload" plain $N
add r-trace1 r-plain "$N" "reclaim: rc_trace_start(1)" "$BIN/workload" trace1 $N
add r-trace16 r-plain "$N" "reclaim: rc_trace_start(16)" "$BIN/workload" trace16 $N
add r-sampled r-plain "$N" "reclaim: start_sampled(0, 16)" "$BIN/workload" sampled $N
add g-plain g-plain "$N" "glibc malloc: no tracing" "$BIN/workload_malloc" plain $N
has_tool heaptrack &&
    add g-heaptrack g-plain "$N" "glibc malloc: heaptrack" heaptrack -o "$WORK_DIR/logs/heaptrack.data" \
        "$BIN/workload_malloc" plain $N
if has_tool massif; then
    MN="$MASSIF_LIVE $MASSIF_TOTAL" mbase=g-plain
    if [[ $MN != "$N" ]]; then
        mbase=g-mplain
        add g-mplain g-mplain "$MN" "glibc malloc: no tracing" "$BIN/workload_malloc" plain $MN
    fi
    add g-massif $mbase "$MN" "glibc malloc: valgrind massif" valgrind --tool=massif \
        --massif-out-file="$WORK_DIR/logs/massif.out" "$BIN/workload_malloc" plain $MN
fi
if has_tool python; then
    PN="$PY_LIVE $PY_TOTAL"
    add p-plain p-plain "$PN" "CPython: no tracing" "$PYTHON" "$here/workload.py" plain $PN
    add p-tm1 p-plain "$PN" "CPython: tracemalloc.start(1)" "$PYTHON" "$here/workload.py" tm1 $PN
    add p-tm25 p-plain "$PN" "CPython: tracemalloc.start(25)" "$PYTHON" "$here/workload.py" tm25 $PN
fi

# }================================================================

# {================================================================
# Running
# =================================================================

declare -A OUT STATUS   # OUT[id]: "RESULT ... ext_cpu=S ext_rss=K" lines, one a run
failures=0

# field LINE KEY: the value of "KEY=value" in a line.
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

runs_of() { if [[ $1 == r-* ]]; then echo "$RUNS"; else echo "$TOOL_RUNS"; fi; }

run() { # ID RUN
    local id=$1 r=$2
    [[ -z ${STATUS[$id]:-} ]] || return 0
    local log=$WORK_DIR/logs/$id.$r
    note "${LABEL[$id]} (${SIZE[$id]}), run $r/$(runs_of "$id")"
    timeout -k 10 "$TIMEOUT" /usr/bin/time -f '%U %S %M' -o "$log.time" ${CMD[$id]} >"$log.out" 2>"$log.err"
    local rc=$? line
    line=$(grep -E '^RESULT ' "$log.out" | tail -n 1)
    if ((rc != 0)) || [[ -z $line ]]; then
        STATUS[$id]="FAILED(rc=$rc$( ((rc == 124)) && echo ", timed out after ${TIMEOUT}s"))"
        note "!!! ${LABEL[$id]} failed (rc=$rc): $(tail -c 400 "$log.err")"
        unset "OUT[$id]"
        return
    fi
    local u s m
    read -r u s m < <(tail -n 1 "$log.time")
    OUT[$id]+="$line ext_cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }') ext_rss=$m"$'\n'
    rm -f "$WORK_DIR"/logs/heaptrack.data* "$WORK_DIR/logs/massif.out"
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

[[ $WORK_DIR != *" "* && $here != *" "* && $PYTHON != *" "* ]] ||
    die "WORK_DIR, the checkout's path and PYTHON must not contain spaces"
for v_ in $(env | sed -n 's/^\(RECLAIM_[A-Z_]*\)=.*/\1/p'); do
    note "NOTE: $v_=${!v_} is set and changes reclaim's behaviour in this run"
done

for ((r = 1; r <= (RUNS > TOOL_RUNS ? RUNS : TOOL_RUNS); r++)); do
    for id in "${CONFIGS[@]}"; do ((r <= $(runs_of "$id"))) && run "$id" "$r"; done
done

# Every run of a configuration computes its baseline's checksum (the same
# sizes, sites and order); workload.py is checked against the glibc build at
# its size (one untimed run).
check_cs() { # ID REF_CHECKSUM REF_NAME
    local l cs
    while read -r l; do
        [[ -n $l ]] || continue
        cs=$(field "$l" checksum)
        if [[ $cs != "$2" ]]; then
            STATUS[$1]="CHECKSUM MISMATCH ($cs, $3 $2)"
            note "!!! CHECKSUM MISMATCH: ${LABEL[$1]} gave $cs, $3 gave $2"
            return
        fi
    done <<<"${OUT[$1]:-}"
}
for id in "${CONFIGS[@]}"; do
    b=${BASE[$id]}
    [[ -n ${OUT[$b]:-} ]] || continue
    check_cs "$id" "$(field "$(head -n 1 <<<"${OUT[$b]}")" checksum)" "${LABEL[$b]}"
done
if [[ -n ${OUT[p-plain]:-} ]]; then
    ref=$(field "$("$BIN/workload_malloc" plain $PY_LIVE $PY_TOTAL | grep '^RESULT ')" checksum)
    for id in p-plain p-tm1 p-tm25; do check_cs "$id" "$ref" "workload.c at $PY_LIVE/$PY_TOTAL"; done
fi
# The 16-frame tracebacks really have 16 frames (one untimed run).
depth_line=$("$BIN/workload" check16 $((LIVE < 10000 ? LIVE : 10000)) $((LIVE < 10000 ? LIVE : 10000)) 2>&1 | grep '^CHECK ')
depth=$(field " $depth_line" depth)

# }================================================================

# {================================================================
# The table
# =================================================================

# fmt X DECIMALS: X printed, "-" when missing.
fmt() { if [[ -z $1 || $1 == - ]]; then printf -- '-'; else awk -v x="$1" -v d="$2" 'BEGIN { printf "%.*f", d, x }'; fi; }
# ratio X Y: X / Y to two decimals, "-" when either is missing.
ratio() {
    if [[ -z $1 || -z $2 || $1 == - || $2 == - ]]; then printf -- '-'; return; fi
    awk -v x="$1" -v y="$2" 'BEGIN { if (y > 0) printf "%.2f", x / y; else printf "-" }'
}
# le X LIMIT / lt X LIMIT: "met" or "NOT MET" ("?" when X is missing).
le() { if [[ -z $1 || $1 == - ]]; then printf '?'; else awk -v x="$1" -v l="$2" 'BEGIN { print (x <= l) ? "met" : "NOT MET" }'; fi; }
lt() { if [[ -z $1 || $1 == - ]]; then printf '?'; else awk -v x="$1" -v l="$2" 'BEGIN { print (x < l) ? "met" : "NOT MET" }'; fi; }
nh() { awk -v n="$1" 'BEGIN { if (n % 1000000 == 0) printf "%dM", n / 1000000; else if (n % 1000 == 0) printf "%dk", n / 1000; else print n }'; }
mib() { if [[ -z $1 || $1 == - ]]; then printf -- '-'; else awk -v b="$1" -v d="${2:-1}" 'BEGIN { printf "%.1f", b / d / 1048576 }'; fi; }

TABLES=$WORK_DIR/tables.txt
: >"$TABLES"
say() { printf '%s\n' "$*" | tee -a "$TABLES"; }
VERDICTS=()

# cpu_of ID: the median CPU seconds (workload.py: its own cpu_s; the others: GNU time's user + sys).
cpu_of() { if [[ $1 == p-* ]]; then med "$1" cpu_s; else med "$1" ext_cpu; fi; }

commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null)
dirty=$(git -C "$repo" status --porcelain -- src include 2>/dev/null | head -n 1)
say ""
say "Tracing benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, RUNS=$RUNS (reclaim) TOOL_RUNS=$TOOL_RUNS (others), median; QUICK=$QUICK"
say "reclaim ${commit:-?}${dirty:+ + uncommitted changes in src/include}, Release, static; $("$CC" --version | head -n 1)"
has_tool heaptrack && say "heaptrack: $(heaptrack --version 2>&1 | head -n 1)"
has_tool massif && say "massif: $(valgrind --version 2>&1)"
has_tool python && say "CPython: $("$PYTHON" --version 2>&1) ($PYTHON)"
say "Load average before: ${load_start:-?}, after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
say "  (the benchmark itself adds about 1, heaptrack about 2; more means other work shared the machine)"
say "Workload: LIVE blocks allocated, then TOTAL - LIVE replacing random ones (live set stays at LIVE), 16..511 B"
say "  log-uniform, 6 call sites under 2 chains of 12 noinline functions (16-frame traceback depth seen: ${depth:-?})"
say ""
fmtrow="%-31s %-9s %7s %6s %8s %8s %8s %8s %7s %7s  %s"
hdr=$(printf "$fmtrow" configuration live/tot "CPU s" "x" "RSS MiB" "+RSS" "traced" "tracer" "tr/trd" "B/blk" "target (issue): verdict")
say "$hdr"
say "$(printf '%*s' "${#hdr}" '' | tr ' ' -)"
verdict() { VERDICTS+=("$(printf '%-8s %s' "$2" "$1")"); }
for id in "${CONFIGS[@]}"; do
    b=${BASE[$id]}
    read -r l t <<<"${SIZE[$id]}"
    sz="$(nh "$l")/$(nh "$t")"
    if [[ -n ${STATUS[$id]:-} || -z ${OUT[$id]:-} ]]; then
        say "$(printf '%-31s %-9s %s' "${LABEL[$id]}" "$sz" "${STATUS[$id]:-FAILED}")"
        failures=$((failures + 1))
        [[ $id == r-trace1 ]] && verdict "call sites (1 frame): CPU <= 1.3x plain; tracer memory < 30% of traced heap" '?'
        [[ $id == r-trace16 ]] && verdict "16 frames: CPU <= 2x plain" '?'
        [[ $id == r-sampled ]] && verdict "sampled: CPU <= 1.05x plain" '?'
        continue
    fi
    cpu=$(cpu_of "$id") rss=$(med "$id" ext_rss)
    x="" xr=""
    if [[ $id != "$b" ]]; then
        x=$(ratio "$cpu" "$(cpu_of "$b")")
        brss=$(med "$b" ext_rss)
        [[ -n $brss ]] && xr=$(awk -v a="$rss" -v b="$brss" 'BEGIN { printf "%+.1f", (a - b) / 1024 }')
    fi
    traced=$(med "$id" traced_bytes) over=$(med "$id" overhead_bytes)
    pct="" bpb=""
    if [[ -n $traced && $traced != 0 ]]; then
        pct=$(awk -v o="$over" -v t="$traced" 'BEGIN { printf "%.1f%%", 100 * o / t }')
        bpb=$(awk -v o="$over" -v n="$l" 'BEGIN { printf "%.1f", o / n }')
    else traced="" over=""; fi
    tgt=""
    case $id in
    r-trace1)
        v1=$(le "$x" 1.3)
        v2=$(lt "$(awk -v o="$over" -v t="$traced" 'BEGIN { if (t > 0) print o / t; else print "-" }')" 0.30)
        verdict "call sites (1 frame): CPU <= 1.3x plain (${x:-?}x)" "$v1"
        verdict "call sites (1 frame): tracer memory < 30% of the traced heap (${pct:-?})" "$v2"
        tgt="<= 1.3x: $v1; < 30%: $v2" ;;
    r-trace16)
        v1=$(le "$x" 2)
        verdict "16 frames: CPU <= 2x plain (${x:-?}x)" "$v1"
        tgt="<= 2x: $v1" ;;
    r-sampled)
        v1=$(le "$x" 1.05)
        verdict "sampled: CPU <= 1.05x plain (${x:-?}x)" "$v1"
        tgt="<= 1.05x: $v1" ;;
    esac
    say "$(printf "$fmtrow" "${LABEL[$id]}" "$sz" "$(fmt "$cpu" 2)" "${x:-1.00}" "$(mib $((rss * 1024)))" \
        "${xr:--}" "$(mib "$traced")" "$(mib "$over")" "${pct:--}" "${bpb:--}" "$tgt")"
done
say "$(printf '%*s' "${#hdr}" '' | tr ' ' -)"
say "CPU s: median user + sys of the whole process (GNU time; heaptrack's includes its heaptrack_interpret and"
say "  compressor processes); CPython rows: workload.py's own figure for the workload alone. x: CPU / the same"
say "  program's plain run at the same size. RSS MiB: median peak RSS (GNU time's %M: the largest process;"
say "  under valgrind, valgrind's own). +RSS: MiB over the plain run. traced: bytes the tracer counts in live"
say "  blocks (sizes asked for; sampled: its estimate) and tracer: its own tables (rc_trace_overhead /"
say "  tracemalloc.get_tracemalloc_memory), both when the live set is largest; tr/trd = tracer / traced;"
say "  B/blk = tracer bytes per live block."
say ""
say "Targets (issue):"
n_not=0 n_unknown=0
for l in "${VERDICTS[@]}"; do
    case $l in "NOT MET"*) n_not=$((n_not + 1)) ;; "?"*) n_unknown=$((n_unknown + 1)) ;; esac
    say "  $l"
done
say "  => $((${#VERDICTS[@]} - n_not - n_unknown)) met, $n_not NOT MET, $n_unknown unknown (a run failed)"
say ""
say "Spread of the runs (CPU s, min..max; and the best run over the baseline's best run, less sensitive to load):"
for id in "${CONFIGS[@]}"; do
    if [[ $id == p-* ]]; then k=cpu_s; else k=ext_cpu; fi
    s=$(spread "$id" "$k")
    [[ -n $s ]] || continue
    best=""
    b=${BASE[$id]}
    [[ $id != "$b" ]] && best="  best/best $(ratio "${s%%..*}" "$(spread "$b" "$k" | sed 's/\.\..*//')")x"
    say "  $(printf '%-31s %-14s%s' "${LABEL[$id]}" "$s" "$best")"
done
for id in r-trace1 r-trace16 p-tm1 p-tm25; do
    [[ -n ${OUT[$id]:-} && -z ${STATUS[$id]:-} ]] || continue
    say "  ${LABEL[$id]}: after the churn traced $(mib "$(med "$id" end_traced_bytes)") MiB, tracer $(mib "$(med "$id" end_overhead_bytes)") MiB"
done
say ""
say "total wall time: $((SECONDS - start_time)) s; table in $TABLES, raw output in $WORK_DIR/logs"
if ((failures)); then
    say "!!! $failures FAILED RUN(S) OR CHECKSUM MISMATCH(ES): see above"
    exit 1
fi
