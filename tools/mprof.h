/*
 * mprof.h — `reclaim mprof`: memory over time, as memory_profiler's mprof.
 *
 * tools/mprof.c        the command (`run`, `plot`) and the sampler
 * tools/mprof_plot.c   reading a data file, drawing it as SVG (or PNG)
 *
 * The data file's format is docs/mprof.md ("reclaim-mprof 1"). The reader
 * and the drawing are usable on their own (a report can embed the SVG).
 */
#ifndef RECLAIM_TOOLS_MPROF_H
#define RECLAIM_TOOLS_MPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The version this reclaim writes and reads. */
#define MPROF_FORMAT_VERSION 2

/* One RSS sample of the command's process tree (an M line). */
typedef struct mprof_sample {
    uint64_t t;      /* ns since the start */
    uint64_t rss;    /* bytes, every process of the tree */
    uint64_t main;   /* bytes, the command's own process */
    unsigned procs;  /* processes counted */
} mprof_sample;

/* One heap record of one process (an H line). */
typedef struct mprof_heap {
    uint64_t t;
    unsigned pid;
    uint64_t in_use, mapped, blocks, objects, collections, drops; /* objects: 0 in version 1 files */
} mprof_heap;

/* One scope, its begin and end paired by (pid, token). An end that never
 * came (the process exited inside the scope) is the last time of the
 * file, with closed false. */
typedef struct mprof_scope {
    uint64_t begin, end;
    unsigned pid, tid;
    uint64_t token;
    bool closed;
    char *name;
} mprof_scope;

/* One collection (a C stop line; start = stop time - duration). */
typedef struct mprof_gc {
    uint64_t start, duration;
    unsigned pid;
    int generation;
    uint64_t collected, uncollectable;
} mprof_gc;

typedef struct mprof_data {
    unsigned version;
    char *command;            /* CMD's words joined by spaces (a control byte as '?') */
    uint64_t interval;        /* ns */
    uint64_t duration;        /* ns: the end line's time */
    char *status;             /* the end line's status ("exit 0", "signal 9") */
    uint64_t drops;           /* records the channel dropped (end line) */
    mprof_sample *samples;
    size_t nsamples;
    mprof_heap *heap;
    size_t nheap;
    mprof_scope *scopes;      /* in order of their begin */
    size_t nscopes;
    mprof_gc *gcs;
    size_t ngcs;
} mprof_data;

/* Read the file at path into *d (zeroed first). Returns true, or false
 * with a one-line message in err (naming the file, and the line of a
 * malformed one): missing, not a data file, another version, truncated
 * (no end line, or a last line cut short). Free with mprof_data_free. */
bool mprof_load(const char *path, mprof_data *d, char *err, size_t errlen);
void mprof_data_free(mprof_data *d);
/* Whether line (no newline) is a well-formed record line (M, H, C, S or
 * P), as mprof_load would accept it: the sampler checks what the channel
 * brings with it before writing it. */
bool mprof_record_ok(const char *line);

/* Draw d as a self-contained SVG document (no script) on out: memory
 * against time, the RSS line and the heap's bytes in use when present,
 * scope brackets, collection ticks, the peak marked. title NULL: from
 * the command. */
void mprof_write_svg(FILE *out, const mprof_data *d, const char *title);

/* `reclaim mprof ...` (argv: the words after "mprof"); `plot`. */
int cli_mprof(int argc, char **argv);
int mprof_plot_command(int argc, char **argv);

#endif /* RECLAIM_TOOLS_MPROF_H */
