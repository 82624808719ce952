/*
 * heap.h — `reclaim heap` (tools/heap.c): top, growth, diff, why, dot and
 * export on heap dumps written by rc_heap_dump (docs/heapdump.md).
 */
#ifndef RECLAIM_TOOLS_HEAP_H
#define RECLAIM_TOOLS_HEAP_H

/* argv: the words after "heap"; returns the exit status (0, or 2 after
 * one line "reclaim heap CMD: problem" on stderr). */
int cli_heap(int argc, char **argv);

#endif /* RECLAIM_TOOLS_HEAP_H */
