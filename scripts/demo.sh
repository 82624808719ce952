#!/usr/bin/env bash
# Builds reclaim (release) and runs the demo under `reclaim mprof run`, then
# writes the report of that run: one HTML page (docs/report.md) with memory
# over time, allocation sites, the flame graph, objects by type, retained
# sizes, the leak the demo plants and the chain that explains it, and the
# collector's pauses.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh gcc make cmake libdw-dev
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DRECLAIM_TESTS=OFF >/dev/null
cmake --build build/release -j"$(nproc)" --target demo reclaim-cli >/dev/null
out=build/release/demo-report
mkdir -p "$out"
rm -f "$out"/demo.mprof "$out"/demo.rcsnap "$out"/before.rcheap "$out"/after.rcheap
./build/release/tools/reclaim mprof run -o "$out/demo.mprof" -- ./build/release/examples/demo "$out"
./build/release/tools/reclaim report -o "$out/report.html" \
  "$out/demo.mprof" "$out/demo.rcsnap" "$out/before.rcheap" "$out/after.rcheap"
echo
echo "The report of this run: $PWD/$out/report.html"
