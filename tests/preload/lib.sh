# lib.sh — shared by the tests/preload/*.sh drivers (sourced, not run).
#
# A driver is called as:  driver.sh PATH/libreclaim-malloc.so [VAR=VALUE...]
# It defines a function `workload` that runs real programs in the current
# directory and prints what they produce on stdout, then calls
#     compare_runs workload
# which runs the workload twice, in fresh directories $T/base and $T/pre:
# once plainly, once with LD_PRELOAD=the .so (and the VAR=VALUE settings,
# e.g. RECLAIM_MALLOC=debug) exported, so that every process the workload
# starts, and their children, allocate through reclaim. The test passes when
# both runs exit 0, their stdout is byte-identical, and stderr is empty in
# both (the workloads are quiet, and reclaim prints nothing in a plain run).
# With RECLAIM_MALLOCSTATS=1 in the settings, stderr of the preload run must
# instead hold the statistics report, once per process that exits normally
# (see STATS_EXPECT), and nothing else.
#
# The workload runs under `set -e -o pipefail`: any failing command ends it.
# PRELOAD_KEEP=1 keeps the temporary directory for a look afterwards.
#
# Exit status: 0 pass, 1 fail, 77 skip (a program the driver needs is
# missing; CTest's SKIP_RETURN_CODE).

set -uo pipefail

if [ $# -lt 1 ]; then
    echo "usage: $0 PATH/libreclaim-malloc.so [VAR=VALUE...]" >&2
    exit 2
fi
SO=$1
shift
PRELOAD_ENV=("$@")
case $SO in /*) ;; *) SO=$PWD/$SO ;; esac
if [ ! -f "$SO" ]; then
    echo "FAIL: no such library: $SO" >&2
    exit 1
fi

# Predictable, locale-free output in both runs.
export LC_ALL=C TZ=UTC
unset LD_PRELOAD RECLAIM_MALLOC RECLAIM_MALLOCSTATS

T=$(mktemp -d "${TMPDIR:-/tmp}/reclaim-preload.XXXXXX") || exit 1
trap '[ -n "${PRELOAD_KEEP:-}" ] || rm -rf "$T"' EXIT
export HOME=$T/home
mkdir -p "$HOME"

STATS_EXPECT=${STATS_EXPECT:-1} # processes expected to print a stats report

skip() {
    echo "SKIP: $*"
    exit 77
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# need PROGRAM... — skip the test when one of them is not installed.
need() {
    local p
    for p in "$@"; do
        command -v "$p" >/dev/null 2>&1 || skip "$p is not installed (Debian package: ${PKG_HINT[$p]:-$p})"
    done
}
declare -A PKG_HINT=([python3]=python3 [/usr/bin/python3]=python3 [sqlite3]=sqlite3 [git]=git [tar]=tar
    [sort]=coreutils [split]=coreutils [gzip]=gzip [md5sum]=coreutils [awk]=mawk [diff]=diffutils [cmp]=diffutils)

show() { # file, label: print a file's head for a failure report
    echo "---- $2 (first 40 lines) ----" >&2
    head -n 40 "$1" >&2
}

# Remove each statistics report (from its first line to its last) from a file.
strip_stats() {
    awk '/^Small block threshold = /{skip=1} !skip{print} skip && /^Peak bytes mapped /{skip=0}' "$1"
}

compare_runs() {
    local fn=$1 rc_base=0 rc_pre=0 t0 t1 t2
    mkdir -p "$T/base" "$T/pre"
    t0=$(date +%s.%N)
    (set -e; cd "$T/base"; "$fn") >"$T/base.out" 2>"$T/base.err"
    rc_base=$?
    t1=$(date +%s.%N)
    (
        set -e
        cd "$T/pre"
        local kv
        for kv in "${PRELOAD_ENV[@]}"; do export "${kv?}"; done
        export LD_PRELOAD=$SO
        "$fn"
    ) >"$T/pre.out" 2>"$T/pre.err"
    rc_pre=$?
    t2=$(date +%s.%N)
    echo "plain run: exit $rc_base, $(awk "BEGIN{printf \"%.2f\", $t1-$t0}") s, $(wc -c <"$T/base.out") bytes of output"
    echo "preload run (LD_PRELOAD=$SO ${PRELOAD_ENV[*]}): exit $rc_pre, $(awk "BEGIN{printf \"%.2f\", $t2-$t1}") s"

    local bad=0
    if [ "$rc_base" -ne 0 ] || [ -s "$T/base.err" ]; then
        echo "FAIL: the plain run (without reclaim) exited with status $rc_base or wrote to stderr: the test itself is broken here" >&2
        show "$T/base.out" "plain stdout"
        show "$T/base.err" "plain stderr"
        exit 1
    fi
    if [ "$rc_pre" -ne 0 ]; then
        echo "FAIL: the preload run exited with status $rc_pre (plain run: 0)" >&2
        bad=1
    fi
    if ! cmp -s "$T/base.out" "$T/pre.out"; then
        echo "FAIL: stdout differs between the plain and the preload run" >&2
        diff -u "$T/base.out" "$T/pre.out" | head -n 60 >&2
        bad=1
    fi
    local stats=0 kv
    for kv in "${PRELOAD_ENV[@]}"; do
        case $kv in RECLAIM_MALLOCSTATS=1 | RECLAIM_MALLOCSTATS=yes | RECLAIM_MALLOCSTATS=on | RECLAIM_MALLOCSTATS=true) stats=1 ;; esac
    done
    if [ $stats = 1 ]; then
        local n
        n=$(grep -c '^Small block threshold = ' "$T/pre.err")
        if [ "$n" -ne "$STATS_EXPECT" ]; then
            echo "FAIL: RECLAIM_MALLOCSTATS=1: expected $STATS_EXPECT statistics report(s) on stderr at exit, found $n" >&2
            bad=1
        elif ! grep -Eq '^Total bytes in use +=  *[1-9][0-9]*$' "$T/pre.err" ||
            ! grep -Eq '^Peak bytes mapped +=  *[1-9][0-9]*$' "$T/pre.err"; then
            echo "FAIL: RECLAIM_MALLOCSTATS=1: the statistics report is incomplete or shows no memory in use" >&2
            bad=1
        fi
        strip_stats "$T/pre.err" >"$T/pre.err.rest"
        if [ -s "$T/pre.err.rest" ]; then
            echo "FAIL: stderr of the preload run holds more than the statistics report:" >&2
            head -n 40 "$T/pre.err.rest" >&2
            bad=1
        fi
        [ $bad = 1 ] || echo "statistics report at exit: ok ($n report(s), $(wc -l <"$T/pre.err") lines)"
    elif [ -s "$T/pre.err" ]; then
        echo "FAIL: the preload run wrote to stderr (the plain run did not; reclaim must print nothing)" >&2
        bad=1
    fi
    if [ $bad = 1 ]; then
        show "$T/pre.err" "preload stderr"
        exit 1
    fi
    echo "PASS: identical output with and without reclaim"
}
