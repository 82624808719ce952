#!/usr/bin/env bash
# sort.sh SO [VAR=VALUE...] — GNU sort on a generated ~50 MB input: a plain
# sort with a small buffer (temporary files and a multi-way merge) on two
# threads, a numeric multi-key sort with -u, and a merge of sorted
# runs, with and without libreclaim-malloc.so. Only checksums of the sorted
# outputs are compared (the outputs themselves are as large as the input).
# See lib.sh.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/preload/lib.sh
. "$here/lib.sh"
need sort awk md5sum split

# ~50 MB: 1.25M lines "word,number,hexkey,padding" from a fixed seed.
awk 'BEGIN {
    srand(20240601)
    for (i = 0; i < 1250000; i++) {
        w = ""
        n = 3 + int(rand() * 12)
        for (j = 0; j < n; j++) w = w sprintf("%c", 97 + int(rand() * 26))
        printf "%s,%d,%08x,%s\n", w, int(rand() * 1000000) - 500000, int(rand() * 4294967295), substr("abcdefghijklmnopqrstuvwxyz0123456789", 1 + i % 20, 5 + i % 17)
    }
}' >"$T/input.txt" || fail "cannot generate the input"
echo "input: $(wc -c <"$T/input.txt") bytes, $(wc -l <"$T/input.txt") lines"

workload() {
    mkdir -p tmp
    sort -S 8M -T tmp --parallel=2 "$T/input.txt" | md5sum
    sort -S 32M -T tmp -u -t, -k2,2n -k1,1r "$T/input.txt" | md5sum
    split -l 200000 "$T/input.txt" part.
    for f in part.*; do sort -t, -k3,3 -o "$f" "$f"; done
    sort -m -t, -k3,3 part.* | md5sum
    sort -c -t, -k3,3 part.aa && echo "part.aa sorted"
}

compare_runs workload
