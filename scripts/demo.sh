#!/usr/bin/env bash
# Builds reclaim (release) and runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh gcc make cmake libdw-dev
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DRECLAIM_TESTS=OFF >/dev/null
cmake --build build/release -j"$(nproc)" --target demo >/dev/null
./build/release/examples/demo
