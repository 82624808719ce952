#!/usr/bin/env bash
# Builds reclaim and runs every test:
#   1. gcc release build: all tests (real programs under LD_PRELOAD, install)
#   2. gcc ASan + UBSan build: all tests but the LD_PRELOAD and install ones
#   3. gcc TSan build: the threaded tests
#   4. clang release build with the libFuzzer targets and heap validation in
#      slow paths (RECLAIM_DEBUG_CHECKS=2): all tests but LD_PRELOAD and install
# Warnings are errors in every build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh gcc clang make cmake libcmocka-dev pkg-config libclang-rt-14-dev \
  python3 sqlite3 git tar coreutils valgrind libdw-dev libxml2-utils graphviz librsvg2-bin libunwind8 chromium
jobs=$(nproc)
export CTEST_OUTPUT_ON_FAILURE=1

build() { # dir, cmake args...
  local dir=$1; shift
  echo "=== build $dir ($*)"
  cmake -S . -B "build/$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
  cmake --build "build/$dir" -j"$jobs" >/dev/null
}

build release
(cd build/release && ctest -j"$jobs")

build asan -DRECLAIM_SANITIZE=address -DRECLAIM_DEBUG_CHECKS=1
(cd build/asan && ASAN_OPTIONS=detect_leaks=1 ctest -j"$jobs" -LE 'preload|install')

build tsan -DRECLAIM_SANITIZE=thread
(cd build/tsan && ctest -j"$jobs" -L threaded)

CC=clang build clang -DRECLAIM_FUZZ=ON -DRECLAIM_DEBUG_CHECKS=2
(cd build/clang && ctest -j"$jobs" -LE 'preload|install')

echo "=== all builds passed"
