# gentree.awk — writes a deterministic tree of text files for the git and
# tar tests: awk -v dir=DIR -v round=R [-v dirs=N -v files=M] -f gentree.awk
# Round R rewrites the files whose number is R modulo 5 (a later round keeps
# every earlier change), so successive rounds make small, delta-friendly
# commits; files 140-149 go away in round 3 and file 40 in round 4 (the git
# test renames it). DIR/dNN/ must not need creating: the caller runs mkdir first.
BEGIN {
    if (dirs == "") dirs = 20
    if (files == "") files = 20
    for (d = 0; d < dirs; d++) {
        for (f = 0; f < files; f++) {
            n = d * files + f
            if (round >= 3 && n >= 140 && n < 150) continue  # removed in round 3
            if (round >= 4 && n == 40) continue               # renamed in round 4
            path = sprintf("%s/d%02d/f%03d.txt", dir, d, n)
            lines = 20 + (n * 37) % 400
            for (i = 0; i < lines; i++) {
                printf "%05d line %d of file %d: %s\n", i, i, n,
                    substr("the quick brown fox jumps over the lazy dog, again and again ", 1 + (i + n) % 30, 10 + (i * n) % 50) > path
                for (r = 1; r <= round; r++)
                    if (n % 5 == r % 5 && i % (3 + r) == 0)
                        printf "      revision %d touches line %d of %d\n", r, i, n > path
            }
            close(path)
        }
    }
}
