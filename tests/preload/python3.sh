#!/usr/bin/env bash
# python3.sh SO [VAR=VALUE...] — /usr/bin/python3 running alloc_heavy.py
# (dicts, lists, strings, JSON, sorting, threads, fork), once with CPython's
# own small-object allocator and once with PYTHONMALLOC=malloc (every object
# from malloc), with and without libreclaim-malloc.so. See lib.sh.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/preload/lib.sh
. "$here/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || skip "$PY is not installed (Debian package: python3)"
export PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 PYTHONNOUSERSITE=1
unset PYTHONPATH PYTHONHOME PYTHONSTARTUP PYTHONMALLOC PYTHONDEVMODE PYTHONWARNINGS

# PRELOAD_QUICK=1 (set by the variant tests) runs the PYTHONMALLOC=malloc
# case only.
QUICK=${PRELOAD_QUICK:-0}
# Processes that exit normally print a report with RECLAIM_MALLOCSTATS=1:
# the interpreters (forked children leave with os._exit and print none).
# shellcheck disable=SC2034 # read by compare_runs in lib.sh
STATS_EXPECT=$([ "$QUICK" = 1 ] && echo 1 || echo 2)

workload() {
    if [ "$QUICK" != 1 ]; then
        echo "== pymalloc"
        "$PY" -I -W ignore::DeprecationWarning "$here/alloc_heavy.py"
    fi
    echo "== PYTHONMALLOC=malloc"
    PYTHONMALLOC=malloc "$PY" -I -W ignore::DeprecationWarning "$here/alloc_heavy.py"
}

compare_runs workload
