/*
 * reclaim — the command-line tool.
 *
 *   reclaim run [--debug | --system] [--stats] [--trace N [-o FILE]] [--] COMMAND [ARGS...]
 *       Run COMMAND with reclaim's heap in place of malloc (LD_PRELOAD of
 *       libreclaim-malloc.so). --debug turns on the debug allocator
 *       (RECLAIM_MALLOC=debug), --system routes blocks to the C library
 *       (RECLAIM_MALLOC=malloc), --stats prints heap statistics at exit
 *       (RECLAIM_MALLOCSTATS=1). --trace N traces allocations with
 *       tracebacks of N frames and writes a snapshot at exit to FILE
 *       (default reclaim.rcsnap; RECLAIM_TRACEMALLOC and
 *       RECLAIM_TRACE_FILE), and on each SIGUSR2 to FILE.1, FILE.2...
 *       The exit status is COMMAND's.
 *   reclaim top FILE [--by line|file|function|traceback] [-n N]
 *   reclaim diff OLD NEW [--by ...] [-n N]
 *   reclaim flamegraph FILE -o OUT.svg
 *   reclaim export FILE (--collapsed | --speedscope) -o OUT
 *       Read snapshots written by rc_snapshot_dump (docs/profiling.md):
 *       tracemalloc's statistics (tools/report.c), a flame graph and the
 *       exports (tools/flame.c); their shared parts are in tools/cli.c.
 *   reclaim mprof run [--interval 10ms] [-o FILE] [--] COMMAND [ARGS...]
 *   reclaim mprof plot FILE -o OUT.svg|OUT.png [--title T]
 *       Memory over time, as memory_profiler's mprof (tools/mprof.c,
 *       tools/mprof_plot.c; docs/mprof.md).
 *   reclaim heap top|growth|diff|why|dot|export ...
 *       Heap dumps written by rc_heap_dump (tools/heap.c; docs/heapdump.md).
 *   reclaim report [-o OUT.html] FILE...
 *       One self-contained HTML page from snapshots, heap dumps and mprof
 *       data files (tools/html_report.c; docs/report.md).
 *   reclaim version
 *
 * The drop-in library is looked for in $RECLAIM_MALLOC_LIB, beside this
 * program, in ../lib and .. relative to it, and in the install directory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <reclaim.h>

#include "cli.h"
#include "heap.h"
#include "mprof.h"
#include "html_report.h"

#ifndef RECLAIM_INSTALL_LIBDIR
#define RECLAIM_INSTALL_LIBDIR "/usr/local/lib"
#endif
#define LIBNAME "libreclaim-malloc.so"

static void usage(FILE *out) {
    fprintf(out,
            "usage: reclaim run [--debug | --system] [--stats] [--trace N [-o FILE]] [--] COMMAND [ARGS...]\n"
            "       reclaim top FILE [--by line|file|function|traceback] [-n N]\n"
            "       reclaim diff OLD NEW [--by line|file|function|traceback] [-n N]\n"
            "       reclaim flamegraph FILE -o OUT.svg\n"
            "       reclaim export FILE --collapsed|--speedscope -o OUT\n"
            "       reclaim mprof run [--interval 10ms] [-o FILE] [--] COMMAND [ARGS...]\n"
            "       reclaim mprof plot FILE -o OUT.svg|OUT.png [--title T]\n"
            "       reclaim heap top FILE [-n N] [--sort count|bytes|retained]\n"
            "       reclaim heap growth|diff OLD NEW [-n N]\n"
            "       reclaim heap why FILE ADDR\n"
            "       reclaim heap dot FILE ADDR [-o OUT.dot] [--depth N]\n"
            "       reclaim heap export FILE -o OUT.heapsnapshot\n"
            "       reclaim report [-o OUT.html] FILE...\n"
            "       reclaim version\n"
            "The snapshot commands also take --include GLOB and --exclude GLOB (the\n"
            "innermost frame's file); -n 0 shows every row; -o - writes to stdout.\n");
}

static bool readable(const char *path) { return access(path, R_OK) == 0; }

/* Fills buf with the drop-in library's path; false when none is found. */
static bool find_library(char *buf, size_t size) {
    const char *env = getenv("RECLAIM_MALLOC_LIB");
    if (env && *env) {
        snprintf(buf, size, "%s", env);
        return readable(buf);
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        const char *dir = dirname(exe);
        const char *rel[] = {"", "/../lib", "/..", "/../lib/x86_64-linux-gnu"};
        for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
            snprintf(buf, size, "%s%s/%s", dir, rel[i], LIBNAME);
            if (readable(buf)) return true;
        }
    }
    snprintf(buf, size, "%s/%s", RECLAIM_INSTALL_LIBDIR, LIBNAME);
    return readable(buf);
}

static int cmd_run(int argc, char **argv) {
    const char *mode = NULL, *trace = NULL, *out = NULL;
    bool stats = false;
    int i = 0;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (strcmp(argv[i], "--debug") == 0) mode = "debug";
        else if (strcmp(argv[i], "--system") == 0) mode = "malloc";
        else if (strcmp(argv[i], "--stats") == 0) stats = true;
        else if (strcmp(argv[i], "--trace") == 0 || strcmp(argv[i], "-o") == 0) {
            const char *opt = argv[i];
            if (i + 1 >= argc) {
                fprintf(stderr, "reclaim run: %s needs a value\n", opt);
                return 2;
            }
            const char *v = argv[++i];
            if (opt[1] == 'o') {
                out = v;
                continue;
            }
            char *end;
            long n = strtol(v, &end, 10);
            if (*v == '\0' || *end != '\0' || n < 1 || n > RC_TRACE_MAX_FRAMES) {
                fprintf(stderr, "reclaim run: --trace takes a number of frames from 1 to %d, not '%s'\n",
                        RC_TRACE_MAX_FRAMES, v);
                return 2;
            }
            trace = v;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "reclaim run: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else break;
    }
    if (i >= argc) {
        fprintf(stderr, "reclaim run: no command given\n");
        usage(stderr);
        return 2;
    }
    if (out && !trace) {
        fprintf(stderr, "reclaim run: -o names the snapshot file of --trace, which is not given\n");
        return 2;
    }
    char lib[PATH_MAX];
    if (!find_library(lib, sizeof lib)) {
        fprintf(stderr, "reclaim run: cannot find %s (set RECLAIM_MALLOC_LIB to its path)\n", LIBNAME);
        return 2;
    }
    const char *old = getenv("LD_PRELOAD");
    char preload[2 * PATH_MAX];
    if (old && *old) snprintf(preload, sizeof preload, "%s:%s", lib, old);
    else snprintf(preload, sizeof preload, "%s", lib);
    setenv("LD_PRELOAD", preload, 1);
    if (mode) setenv("RECLAIM_MALLOC", mode, 1);
    if (stats) setenv("RECLAIM_MALLOCSTATS", "1", 1);
    if (trace) {
        setenv("RECLAIM_TRACEMALLOC", trace, 1);
        setenv("RECLAIM_TRACE_FILE", out ? out : "reclaim.rcsnap", 1);
    }
    execvp(argv[i], argv + i);
    fprintf(stderr, "reclaim run: cannot run '%s': %s\n", argv[i], strerror(errno));
    return 127;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "run") == 0) return cmd_run(argc - 2, argv + 2);
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } snapshot_commands[] = {
        {"top", cli_top}, {"diff", cli_diff}, {"flamegraph", cli_flamegraph}, {"export", cli_export},
        {"mprof", cli_mprof}, {"heap", cli_heap}, {"report", cli_report},
    };
    for (size_t i = 0; i < sizeof snapshot_commands / sizeof snapshot_commands[0]; i++)
        if (strcmp(argv[1], snapshot_commands[i].name) == 0) return snapshot_commands[i].fn(argc - 2, argv + 2);
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("reclaim %s\n", rc_version());
        return 0;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "reclaim: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
