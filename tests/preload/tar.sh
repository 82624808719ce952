#!/usr/bin/env bash
# tar.sh SO [VAR=VALUE...] — GNU tar: create a reproducible archive of a
# generated tree (text files, a few multi-megabyte files, symlinks, empty
# directories), list it, compress it through gzip (and xz when installed),
# extract it and compare the extracted tree with the original, with and
# without libreclaim-malloc.so. See lib.sh.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/preload/lib.sh
. "$here/lib.sh"
need tar gzip awk md5sum diff

# The input tree, built once without the preload.
src=$T/tree
mkdir -p "$src/empty/deeper" "$src/big"
for d in $(seq -f '%02g' 0 11); do mkdir -p "$src/d$d"; done
awk -v dir="$src" -v round=2 -v dirs=12 -v files=25 -f "$here/gentree.awk" || fail "cannot generate the tree"
awk 'BEGIN { srand(7); for (i = 0; i < 120000; i++) printf "%08x %d %s\n", int(rand() * 4294967295), i, (i % 3 ? "abc" : "defghij") }' >"$src/big/random.txt"
awk 'BEGIN { for (i = 0; i < 200000; i++) print "repetitive line", i % 100 }' >"$src/big/repetitive.txt"
ln -s ../d00/f000.txt "$src/big/link-to-f000"
ln -s nowhere "$src/big/dangling"
find "$src" -exec touch -h -d '2021-03-04 05:06:07' {} +
echo "tree: $(find "$src" | wc -l) entries, $(du -sk "$src" | cut -f1) KiB"

TAR_REPRO=(--sort=name --format=gnu --owner=0 --group=0 --numeric-owner --mtime='2021-03-04 05:06:07')

workload() {
    tar -cf tree.tar "${TAR_REPRO[@]}" -C "$T" tree
    md5sum <tree.tar
    tar -tvf tree.tar | md5sum
    tar -tf tree.tar | wc -l
    tar -cf tree.tgz -I 'gzip -n -6' "${TAR_REPRO[@]}" -C "$T" tree
    md5sum <tree.tgz
    if command -v xz >/dev/null 2>&1; then
        tar -cf tree.txz -I 'xz -T2 -0' "${TAR_REPRO[@]}" -C "$T" tree
        mkdir x-xz
        tar -xf tree.txz -C x-xz
        diff -r --no-dereference "$src" x-xz/tree
    fi
    mkdir x-plain x-gz
    tar -xf tree.tar -C x-plain
    tar -xzf tree.tgz -C x-gz
    diff -r --no-dereference "$src" x-plain/tree
    diff -r --no-dereference "$src" x-gz/tree
    tar -df tree.tar -C x-plain
    echo "extracted trees match"
    # append, update and delete members of the uncompressed archive
    tar -rf tree.tar "${TAR_REPRO[@]}" -C x-gz/tree big/random.txt
    tar --delete -f tree.tar tree/d03
    tar -tf tree.tar | md5sum
    md5sum <tree.tar
}

compare_runs workload
