/*
 * html_report.h — `reclaim report` (tools/html_report.c): one
 * self-contained HTML page from snapshots, heap dumps and mprof data
 * (docs/report.md), and the flame graph writer it shares with
 * `reclaim flamegraph` (tools/flame.c).
 */
#ifndef RECLAIM_TOOLS_HTML_REPORT_H
#define RECLAIM_TOOLS_HTML_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include <reclaim.h>

/* `reclaim report [-o OUT.html] FILE...` (argv: the words after
 * "report"); returns the exit status (0, or 2 after one line
 * "reclaim report: problem" on stderr). */
int cli_report(int argc, char **argv);

/* Draws the flame graph of snap's traces (by whole traceback) on out,
 * titled with name (tools/flame.c). embedded false: a standalone SVG
 * document, as `reclaim flamegraph` writes; true: an <svg> element for an
 * HTML page (no XML declaration, ids prefixed "flame-", Ctrl-F left to the
 * browser). Returns false, having written nothing, when out of memory. */
bool cli_write_flamegraph(FILE *out, const rc_snapshot *snap, const char *name, bool embedded);

#endif /* RECLAIM_TOOLS_HTML_REPORT_H */
