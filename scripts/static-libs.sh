#!/usr/bin/env bash
# Prints what a program linked against BUILD_DIR/libreclaim.a needs after
# it, as CMake links reclaim_static: libdw when that build found it (the
# tracer's symbolizer), libdl, threads and libm.
# usage: scripts/static-libs.sh BUILD_DIR
set -euo pipefail
libdw=$(sed -n 's/^LIBDW_LIBRARY:FILEPATH=\(.*\)$/\1/p' "$1/CMakeCache.txt")
[[ -n $libdw && $libdw != *NOTFOUND* ]] || libdw=""
echo $libdw -ldl -pthread -lm
