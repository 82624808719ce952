#!/usr/bin/env bash
# run.sh — build workloads.c, run every workload under glibc, jemalloc,
# mimalloc, tcmalloc and reclaim (through LD_PRELOAD), check that all of
# them compute glibc's checksums, and print CPU time, peak RSS and
# callgrind's instructions per malloc+free pair. See README.md.
#
# Environment (all optional):
#   RUNS=3          runs per workload and allocator; CPU time is the best one
#   QUICK=1         every workload about 10x smaller, for a fast check
#   ALLOCATORS="glibc jemalloc mimalloc tcmalloc reclaim"   which to run
#   WORKLOADS="lifo random prodcons larson mixed frag bintree live32 pair32"
#   CALLGRIND=0     skip the instruction counts
#   RECLAIM_LIB=/path/libreclaim-malloc.so   use this, do not build reclaim
#   WORK_DIR=...    binary, logs and tables (default <repo>/build/bench-alloc)
#   TIMEOUT=600     seconds before one run is killed and reported FAILED
#   CC=cc
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
RUNS=${RUNS:-3}
QUICK=${QUICK:-0}
CALLGRIND=${CALLGRIND:-1}
TIMEOUT=${TIMEOUT:-600}
CC=${CC:-cc}
ALLOCATORS=${ALLOCATORS:-glibc jemalloc mimalloc tcmalloc reclaim}
WORKLOADS=${WORKLOADS:-lifo random prodcons larson mixed frag bintree live32 pair32}
WORK_DIR=${WORK_DIR:-$repo/build/bench-alloc}
libdir=/usr/lib/x86_64-linux-gnu
start_time=$SECONDS

note() { printf '%s\n' "run.sh: $*" >&2; }
die() { note "$*"; exit 1; }

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"
mkdir -p "$WORK_DIR/logs" || die "cannot create $WORK_DIR"
rm -f "$WORK_DIR"/logs/*

# Workload sizes: full, then QUICK (~10x less work; bintree 17 is ~8x less
# than 20, since each level doubles the work).
declare -A N_FULL=([lifo]=50000000 [random]=10000000 [prodcons]=10000000
    [larson]=20000000 [mixed]=3000 [frag]=2000000 [bintree]=20
    [live32]=10000000 [pair32]=100000000)
declare -A N_QUICK=([lifo]=5000000 [random]=1000000 [prodcons]=1000000
    [larson]=2000000 [mixed]=300 [frag]=200000 [bintree]=17
    [live32]=1000000 [pair32]=10000000)
declare -A DESC=(
    [lifo]="malloc(32) x100 then free in reverse; N pairs"
    [random]="N random frees/allocs of 16..512 B over N/8 slots (~1M live at full size)"
    [prodcons]="N blocks of 16..256 B malloc'd by a producer, freed by a consumer thread"
    [larson]="2 threads replace random slots (16..1000 B), arrays change threads each round; N replacements"
    [mixed]="N buffers grown by realloc 64K..4M, among small blocks and 8 large ones"
    [frag]="N blocks of 16..512 B, free 90%, trim, refill with 600..4096 B blocks"
    [bintree]="benchmarks-game binary-trees, max depth N, one malloc per node"
    [live32]="N live 32-byte blocks"
    [pair32]="N x (malloc(32); free)"
)
# Callgrind's two sizes of pair32.
if [[ $QUICK == 1 ]]; then CG_N1=200000 CG_N2=400000; else CG_N1=1000000 CG_N2=2000000; fi

# {================================================================
# Tools and packages
# =================================================================

declare -A LIB=([glibc]="" [jemalloc]=$libdir/libjemalloc.so.2
    [mimalloc]=$libdir/libmimalloc.so.2 [tcmalloc]=$libdir/libtcmalloc_minimal.so.4)
declare -A PKG=([jemalloc]=libjemalloc2 [mimalloc]=libmimalloc2.0
    [tcmalloc]=libtcmalloc-minimal4)

missing=()
for a in jemalloc mimalloc tcmalloc; do
    [[ " $ALLOCATORS " == *" $a "* && ! -e ${LIB[$a]} ]] && missing+=("${PKG[$a]}")
done
[[ $CALLGRIND == 1 ]] && ! command -v valgrind >/dev/null && missing+=(valgrind)
[[ -x /usr/bin/time ]] || missing+=(time)
if ((${#missing[@]})); then
    note "installing ${missing[*]}"
    bash "$here/../../scripts/deps.sh" "${missing[@]}" >"$WORK_DIR/apt.log" 2>&1 ||
        note "could not install them (see $WORK_DIR/apt.log); going on without ${missing[*]}"
fi

# measure OUTFILE CMD...: run CMD, write "user sys maxrss_kib" on the last
# line of OUTFILE. GNU time if present, else python3 and getrusage.
if [[ -x /usr/bin/time ]]; then
    measure() { local o=$1; shift; /usr/bin/time -f '%U %S %M' -o "$o" "$@"; }
elif command -v python3 >/dev/null; then
    measure() {
        python3 -c '
import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
r = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as f:
    f.write("%.2f %.2f %d\n" % (r.ru_utime, r.ru_stime, r.ru_maxrss))
sys.exit(rc if rc >= 0 else 128 - rc)' "$@"
    }
else
    die "need /usr/bin/time or python3 to measure CPU time and RSS"
fi

# }================================================================

# {================================================================
# Build
# =================================================================

BIN=$WORK_DIR/workloads
$CC -std=c11 -Wall -Wextra -O2 -g -fno-omit-frame-pointer -pthread \
    -o "$BIN" "$here/workloads.c" -ldl || die "cannot build workloads.c"

if [[ " $ALLOCATORS " == *" reclaim "* ]]; then
    if [[ -n ${RECLAIM_LIB:-} ]]; then
        LIB[reclaim]=$RECLAIM_LIB
    else
        LIB[reclaim]=$repo/build/bench/libreclaim-malloc.so
        note "building reclaim (log: $WORK_DIR/reclaim-build.log)"
        { cmake -S "$repo" -B "$repo/build/bench" -DCMAKE_BUILD_TYPE=Release &&
          cmake --build "$repo/build/bench" --target reclaim-malloc; } \
            >"$WORK_DIR/reclaim-build.log" 2>&1 ||
            note "NOTE: building reclaim failed, see $WORK_DIR/reclaim-build.log"
    fi
fi

alloc=() skipped=()
for a in $ALLOCATORS; do
    case $a in glibc | jemalloc | mimalloc | tcmalloc | reclaim) ;;
    *) die "unknown allocator '$a'" ;; esac
    if [[ $a != glibc && ! -e ${LIB[$a]:-/nonexistent} ]]; then
        note "NOTE: ${LIB[$a]:-$a library} not found, leaving $a out"
        skipped+=("$a")
        continue
    fi
    alloc+=("$a")
done
((${#alloc[@]})) || die "no allocator to run"
for w in $WORKLOADS; do
    [[ -n ${N_FULL[$w]:-} ]] || die "unknown workload '$w'"
done

# }================================================================

# {================================================================
# Running and checking
# =================================================================

declare -A CPU RSS OUT STATUS   # keyed "workload/allocator"
failures=0

# run_once WORKLOAD ALLOCATOR N RUN: one measured run; keeps the best CPU
# time, the highest peak RSS and the output line of the best run.
run_once() {
    local w=$1 a=$2 n=$3 r=$4 k=$1/$2
    local log=$WORK_DIR/logs/$w.$a.$r t=$WORK_DIR/logs/$w.$a.$r.time
    local pre=(env -u LD_PRELOAD)
    [[ -n ${LIB[$a]} ]] && pre=(env LD_PRELOAD="${LIB[$a]}")
    measure "$t" timeout -k 10 "$TIMEOUT" "${pre[@]}" "$BIN" "$w" "$n" \
        >"$log.out" 2>"$log.err"
    local rc=$?
    local line
    line=$(grep -E "^$w: .*checksum=" "$log.out" | tail -n 1)
    if ((rc != 0)) || [[ -z $line ]]; then
        STATUS[$k]="${STATUS[$k]:-}FAILED(run $r, rc=$rc) "
        note "!!! $w under $a failed (rc=$rc): $(head -c 300 "$log.err")"
        return
    fi
    local u s m
    read -r u s m < <(tail -n 1 "$t")
    local cpu
    cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
    if [[ -z ${CPU[$k]:-} ]] || awk -v a="$cpu" -v b="${CPU[$k]}" 'BEGIN { exit !(a < b) }'; then
        CPU[$k]=$cpu
        OUT[$k]=$line
    fi
    if [[ -z ${RSS[$k]:-} ]] || ((m > RSS[$k])); then RSS[$k]=$m; fi
}

# field LINE KEY: the value of "KEY=value" in a result line.
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# ratio X Y: X / Y to two decimals, "-" when either is missing.
ratio() {
    if [[ -z $1 || -z $2 ]]; then printf -- '-'; return; fi
    awk -v x="$1" -v y="$2" 'BEGIN { if (y > 0) printf "%.2f", x / y; else printf "-" }'
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

TABLES=$WORK_DIR/tables.txt
: >"$TABLES"
say() { printf '%s\n' "$*" | tee -a "$TABLES"; }

print_table() {
    local w=$1 n=$2 a k ref=""
    local sep="----------  -------  ------  ------------  ------"
    say ""
    say "== $w $n: ${DESC[$w]} (CPU: best of $RUNS; RSS: highest)"
    local head
    head=$(printf '%-10s  %7s  %6s  %12s  %6s' allocator "CPU s" "x mi" "peak RSS MiB" "x mi")
    case $w in
    frag) head+=$(printf '  %9s  %9s  %10s  %9s' "trim RSS" "live MiB" "refill RSS" "live MiB")
          sep+="  ---------  ---------  ----------  ---------" ;;
    live32) head+=$(printf '  %8s  %7s  %10s' "RSS MiB" "B/block" "rc mapped")
          sep+="  --------  -------  ----------" ;;
    esac
    say "$head  check"
    say "$sep  -----"
    for a in glibc "${alloc[@]}"; do [[ -n ${OUT[$w/$a]:-} ]] && { ref=$(field "${OUT[$w/$a]}" checksum); break; }; done
    for a in "${alloc[@]}"; do
        k=$w/$a
        if [[ -z ${OUT[$k]:-} ]]; then
            say "$(printf '%-10s  %s' "$a" "${STATUS[$k]:-FAILED}")"
            failures=$((failures + 1))
            continue
        fi
        local cs check=ok rss row
        cs=$(field "${OUT[$k]}" checksum)
        if [[ -n ${STATUS[$k]:-} ]]; then
            check="${STATUS[$k]}"
            failures=$((failures + 1))
        elif [[ $cs != "$ref" ]]; then
            check="CHECKSUM MISMATCH ($cs, glibc $ref)"
            failures=$((failures + 1))
            note "!!! CHECKSUM MISMATCH: $w under $a gave $cs, glibc gave $ref"
        fi
        rss=$(mib "${RSS[$k]}")
        row=$(printf '%-10s  %7s  %6s  %12s  %6s' "$a" "${CPU[$k]}" \
            "$(ratio "${CPU[$k]}" "${CPU[$w/mimalloc]:-}")" "$rss" \
            "$(ratio "${RSS[$k]}" "${RSS[$w/mimalloc]:-}")")
        case $w in
        frag) row+=$(printf '  %9s  %9s  %10s  %9s' \
                "$(field "${OUT[$k]}" rss_trim_mib)" "$(field "${OUT[$k]}" live_mib)" \
                "$(field "${OUT[$k]}" rss_refill_mib)" "$(field "${OUT[$k]}" live_refill_mib)") ;;
        live32)
            local r32 mapped
            r32=$(field "${OUT[$k]}" rss_mib)
            mapped=$(field "${OUT[$k]}" rc_mapped_mib)
            row+=$(printf '  %8s  %7s  %10s' "$r32" \
                "$(awk -v r="$r32" -v n="$n" 'BEGIN { printf "%.1f", r * 1048576 / n }')" \
                "${mapped:--}") ;;
        esac
        say "$row  $check"
    done
}

say "allocator benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, RUNS=$RUNS QUICK=$QUICK"
say "allocators: ${alloc[*]}"
for a in "${alloc[@]}"; do say "  $a: ${LIB[$a]:-(no preload)}"; done
for a in "${skipped[@]}"; do say "  $a: left out, ${LIB[$a]:-its library} not found"; done

for w in $WORKLOADS; do
    if [[ $QUICK == 1 ]]; then n=${N_QUICK[$w]}; else n=${N_FULL[$w]}; fi
    note "$w $n ..."
    for ((r = 1; r <= RUNS; r++)); do
        for a in "${alloc[@]}"; do run_once "$w" "$a" "$n" "$r"; done
    done
    print_table "$w" "$n"
done

# }================================================================

# {================================================================
# Instructions per malloc+free pair (callgrind)
# =================================================================

# count_ir ALLOCATOR N: total instructions callgrind counted for pair32 N.
count_ir() {
    local a=$1 n=$2 log=$WORK_DIR/logs/callgrind.$1.$2
    local pre=(env -u LD_PRELOAD)
    [[ -n ${LIB[$a]} ]] && pre=(env LD_PRELOAD="${LIB[$a]}")
    # LD_PRELOAD goes to valgrind's environment: the tool is static and
    # passes it on to the client; wrapping the client in env(1) would make
    # callgrind count env, which it does not follow through exec.
    timeout -k 10 "$TIMEOUT" "${pre[@]}" valgrind --tool=callgrind \
        --callgrind-out-file="$log.cg" "$BIN" pair32 "$n" >"$log.out" 2>"$log.err" ||
        { note "!!! callgrind of pair32 under $a failed, see $log.err"; return 1; }
    rm -f "$log.cg"
    sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' "$log.err" | tail -n 1
}

if [[ $CALLGRIND == 1 ]] && command -v valgrind >/dev/null; then
    note "callgrind pair32 $CG_N1 and $CG_N2 ..."
    declare -A IPP
    for a in "${alloc[@]}"; do
        i1=$(count_ir "$a" "$CG_N1") && i2=$(count_ir "$a" "$CG_N2") &&
            [[ -n $i1 && -n $i2 ]] &&
            IPP[$a]=$(awk -v a="$i1" -v b="$i2" -v n1="$CG_N1" -v n2="$CG_N2" \
                'BEGIN { printf "%.1f", (b - a) / (n2 - n1) }') ||
            failures=$((failures + 1))
    done
    say ""
    say "== instructions per malloc(32)+free pair: callgrind, (Ir(pair32 $CG_N2) - Ir(pair32 $CG_N1)) / $((CG_N2 - CG_N1))"
    say "   (includes ~14 instructions of the benchmark loop itself)"
    say "$(printf '%-10s  %9s  %6s' allocator "Ir/pair" "x mi")"
    say "----------  ---------  ------"
    for a in "${alloc[@]}"; do
        say "$(printf '%-10s  %9s  %6s' "$a" "${IPP[$a]:-FAILED}" \
            "$(ratio "${IPP[$a]:-}" "${IPP[mimalloc]:-}")")"
    done
elif [[ $CALLGRIND == 1 ]]; then
    note "NOTE: valgrind not found, no instruction counts"
fi

# }================================================================

say ""
say "total wall time: $((SECONDS - start_time)) s; tables in $TABLES, raw output in $WORK_DIR/logs"
if ((failures)); then
    say "!!! $failures FAILED RUN(S) OR CHECKSUM MISMATCH(ES): see above"
    exit 1
fi
