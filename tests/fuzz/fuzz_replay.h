/*
 * fuzz_replay.h — the replay driver shared by the fuzz targets' *_replay
 * binaries (built with RC_FUZZ_REPLAY_MAIN, by any compiler): pseudo-random
 * inputs from a fixed seed, replaying files or directories given as
 * arguments (a crash input from libFuzzer, say), and writing a seed corpus.
 * Include it after LLVMFuzzerTestOneInput is defined, with
 * FUZZ_REPLAY_SEED defined to the target's seed.
 */
#ifndef RC_FUZZ_REPLAY_H
#define RC_FUZZ_REPLAY_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static uint64_t fuzz_rng_state = FUZZ_REPLAY_SEED;

static uint64_t fuzz_rng(void) { /* splitmix64 */
    uint64_t z = (fuzz_rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A pseudo-random program of up to max bytes; returns its length. */
static size_t fuzz_random_input(uint8_t *buf, size_t max) {
    size_t n = (size_t)(fuzz_rng() % max);
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)fuzz_rng();
    return n;
}

static int fuzz_replay_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return 1;
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        if (got == 0) break;
        len += got;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

static int fuzz_replay_path(const char *path, size_t *count) {
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*count)++;
        return fuzz_replay_file(path);
    }
    DIR *d = opendir(path);
    if (!d) {
        perror(path);
        return 1;
    }
    int bad = 0;
    struct dirent *e;
    char file[4096];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        bad |= fuzz_replay_path(file, count);
    }
    closedir(d);
    return bad;
}

static int fuzz_write_corpus(const char *dir, size_t n) {
    mkdir(dir, 0777);
    static uint8_t buf[1024];
    for (size_t k = 0; k < n; k++) {
        size_t len = fuzz_random_input(buf, k < n / 2 ? 64 : sizeof buf);
        char file[4096];
        snprintf(file, sizeof file, "%s/seed-%03zu", dir, k);
        FILE *f = fopen(file, "wb");
        if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
            perror(file);
            return 1;
        }
    }
    return 0;
}

/* The command line: "--write-corpus DIR [N]" writes N seeds; files or
 * directories are replayed. Returns the exit status, or -1 when there were
 * no arguments (the caller then runs its fixed-seed inputs). */
static int fuzz_replay_args(int argc, char **argv, const char *name) {
    if (argc >= 3 && strcmp(argv[1], "--write-corpus") == 0)
        return fuzz_write_corpus(argv[2], argc >= 4 ? (size_t)strtoul(argv[3], NULL, 10) : 64);
    if (argc <= 1) return -1;
    size_t count = 0;
    int bad = 0;
    for (int i = 1; i < argc; i++) bad |= fuzz_replay_path(argv[i], &count);
    printf("%s: %zu input(s) replayed\n", name, count);
    return bad;
}

/* Feed n pseudo-random inputs from the fixed seed through the target (one
 * in ten up to 4 KiB long, the others up to 1 KiB); returns the sum of
 * *steps read after each input (the target's count of steps it ran). */
static size_t fuzz_replay_inputs(int n, const size_t *steps) {
    static uint8_t buf[4096];
    size_t total = 0;
    for (int k = 0; k < n; k++) {
        size_t len = fuzz_random_input(buf, k % 10 == 9 ? sizeof buf : 1024);
        LLVMFuzzerTestOneInput(buf, len);
        total += *steps;
    }
    return total;
}

#endif
