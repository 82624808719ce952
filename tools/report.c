/*
 * report.c — `reclaim top` and `reclaim diff`: a snapshot's statistics as
 * tracemalloc prints them.
 *
 *   reclaim top FILE [--by line|file|function|traceback] [-n N]
 *                    [--include GLOB] [--exclude GLOB]
 *   reclaim diff OLD NEW [--by ...] [-n N] [--include GLOB] [--exclude GLOB]
 *
 * One line per group, biggest first, in the words of Python's
 * Statistic.__str__ and StatisticDiff.__str__:
 *
 *   file.c:42: size=1.2 MiB, count=4096, average=307 B
 *   file.c:42: size=1.2 MiB (+512 KiB), count=4096 (+1024), average=307 B
 *
 * The place is "FILE:LINE" (--by line, the default), "FILE" (--by file),
 * "FILE: FUNCTION()" (--by function), or for --by traceback the innermost
 * frame's "FILE:LINE" with the whole traceback under it, outermost call
 * first as Python prints a traceback ("  File "f.c", line 42, in fn").
 * Sizes use tracemalloc's _format_size (B up to 10239, then KiB, MiB, ...
 * with one decimal below 100). "average" is left out of a group with no
 * blocks (a diff's vanished group), as Python does.
 *
 * -n N keeps the first N groups (10 by default, 0 for all); the ones left
 * out are summed on an "N other:" line, as tracemalloc's display_top
 * recipe does, and a last line gives the snapshot's total (and for diff
 * its change): "Total: 18.1 KiB in 140 blocks". The order is the
 * library's: rc_snapshot_statistics (size, then count) and
 * rc_snapshot_compare (absolute size change, then size).
 */
#include <inttypes.h>
#include <string.h>

#include "cli.h"

#define REPORT_OPTIONS (CLI_OPT_BY | CLI_OPT_LIMIT | CLI_OPT_FILTER)

static void put_place(const rc_trace_stat *st, rc_trace_key by) {
    if (st->nframes == 0) {
        fputs("<unknown>", stdout);
        return;
    }
    const rc_frame *f = &st->frames[0];
    cli_put(stdout, f->file, CLI_ESC_TEXT);
    if (by == RC_BY_FUNCTION) {
        fputs(": ", stdout);
        cli_put(stdout, f->function, CLI_ESC_TEXT);
        fputs("()", stdout);
    } else if (by != RC_BY_FILE) {
        printf(":%u", f->line);
    }
}

static void put_size(double size, bool sign) {
    char buf[48];
    cli_format_size(buf, sizeof buf, size, sign);
    fputs(buf, stdout);
}

/* ", average=S" when there are blocks. */
static void put_average(size_t size, size_t count) {
    if (!count) return;
    fputs(", average=", stdout);
    put_size((double)size / (double)count, false);
}

/* The frames of a traceback, outermost first, indented. */
static void put_traceback(const rc_trace_stat *st) {
    for (unsigned k = st->nframes; k-- > 0;) {
        const rc_frame *f = &st->frames[k];
        fputs("  File \"", stdout);
        cli_put(stdout, f->file, CLI_ESC_TEXT);
        printf("\", line %u, in ", f->line);
        cli_put(stdout, f->function, CLI_ESC_TEXT);
        fputc('\n', stdout);
    }
}

static const char *blocks(size_t n) { return n == 1 ? "block" : "blocks"; }

/* ==== top =============================================================== */

static void put_stat(const rc_trace_stat *st, rc_trace_key by) {
    put_place(st, by);
    fputs(": size=", stdout);
    put_size((double)st->size, false);
    printf(", count=%zu", st->count);
    put_average(st->size, st->count);
    fputc('\n', stdout);
    if (by == RC_BY_TRACEBACK) put_traceback(st);
}

int cli_top(int argc, char **argv) {
    cli_args a;
    if (!cli_parse(argc, argv, "top", REPORT_OPTIONS, 1, &a)) return CLI_BAD_USE;
    rc_snapshot *snap = cli_load(&a, a.pos[0]);
    if (!snap) return CLI_BAD_USE;
    rc_trace_stat *rows;
    int64_t n = rc_snapshot_statistics(snap, a.by, &rows);
    if (n < 0) {
        rc_snapshot_free(snap);
        return cli_fail(a.cmd, "%s", rc_last_error());
    }
    size_t shown = a.limit && (uint64_t)n > a.limit ? a.limit : (size_t)n;
    size_t other_size = 0, other_count = 0;
    for (size_t i = 0; i < (size_t)n; i++) {
        if (i < shown) {
            put_stat(&rows[i], a.by);
        } else {
            other_size += rows[i].size;
            other_count += rows[i].count;
        }
    }
    if (shown < (size_t)n) {
        printf("%zu other: size=", (size_t)n - shown);
        put_size((double)other_size, false);
        printf(", count=%zu", other_count);
        put_average(other_size, other_count);
        fputc('\n', stdout);
    }
    size_t total, count;
    rc_snapshot_totals(snap, &total, &count, NULL);
    fputs("Total: ", stdout);
    put_size((double)total, false);
    printf(" in %zu %s\n", count, blocks(count));
    rc_free(rows);
    rc_snapshot_free(snap);
    return cli_close_output(&a, stdout);
}

/* ==== diff ============================================================== */

static void put_diff(const rc_trace_stat *st, rc_trace_key by) {
    put_place(st, by);
    fputs(": size=", stdout);
    put_size((double)st->size, false);
    fputs(" (", stdout);
    put_size((double)st->size_diff, true);
    printf("), count=%zu (%+" PRId64 ")", st->count, st->count_diff);
    put_average(st->size, st->count);
    fputc('\n', stdout);
    if (by == RC_BY_TRACEBACK) put_traceback(st);
}

int cli_diff(int argc, char **argv) {
    cli_args a;
    if (!cli_parse(argc, argv, "diff", REPORT_OPTIONS, 2, &a)) return CLI_BAD_USE;
    rc_snapshot *old_snap = cli_load(&a, a.pos[0]);
    if (!old_snap) return CLI_BAD_USE;
    rc_snapshot *new_snap = cli_load(&a, a.pos[1]);
    if (!new_snap) {
        rc_snapshot_free(old_snap);
        return CLI_BAD_USE;
    }
    rc_trace_stat *rows;
    int64_t n = rc_snapshot_compare(new_snap, old_snap, a.by, &rows);
    if (n < 0) {
        rc_snapshot_free(old_snap);
        rc_snapshot_free(new_snap);
        return cli_fail(a.cmd, "%s", rc_last_error());
    }
    size_t shown = a.limit && (uint64_t)n > a.limit ? a.limit : (size_t)n;
    size_t other_size = 0, other_count = 0;
    int64_t other_size_diff = 0, other_count_diff = 0;
    for (size_t i = 0; i < (size_t)n; i++) {
        if (i < shown) {
            put_diff(&rows[i], a.by);
        } else {
            other_size += rows[i].size;
            other_count += rows[i].count;
            other_size_diff += rows[i].size_diff;
            other_count_diff += rows[i].count_diff;
        }
    }
    if (shown < (size_t)n) {
        printf("%zu other: size=", (size_t)n - shown);
        put_size((double)other_size, false);
        fputs(" (", stdout);
        put_size((double)other_size_diff, true);
        printf("), count=%zu (%+" PRId64 ")", other_count, other_count_diff);
        put_average(other_size, other_count);
        fputc('\n', stdout);
    }
    size_t old_total, old_count, new_total, new_count;
    rc_snapshot_totals(old_snap, &old_total, &old_count, NULL);
    rc_snapshot_totals(new_snap, &new_total, &new_count, NULL);
    fputs("Total: ", stdout);
    put_size((double)new_total, false);
    fputs(" (", stdout);
    put_size((double)new_total - (double)old_total, true);
    printf(") in %zu %s (%+" PRId64 ")\n", new_count, blocks(new_count), (int64_t)new_count - (int64_t)old_count);
    rc_free(rows);
    rc_snapshot_free(old_snap);
    rc_snapshot_free(new_snap);
    return cli_close_output(&a, stdout);
}
