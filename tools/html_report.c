/*
 * html_report.c — `reclaim report`: everything reclaim knows about one run,
 * in one HTML page.
 *
 *   reclaim report [-o report.html] FILE...
 *
 * The files are any mix of allocation snapshots (rc_snapshot_dump,
 * `reclaim run --trace`), heap dumps (rc_heap_dump) and mprof data files
 * (`reclaim mprof run`), told apart by their first line ("reclaim-snapshot
 * N", "reclaim-heapdump N", "reclaim-mprof N"), oldest first: the newest
 * snapshot is the last one given, the heap dumps are compared first to
 * last, and the last mprof file is drawn. Every file is loaded (and so
 * checked) before anything is written: a file that is missing, of another
 * kind or cut short stops the command with one line on stderr and exit
 * status 2, and no page is written.
 *
 * The page, in this order, one <section> per question (docs/report.md):
 *
 *   memory    memory over time: the mprof plot (mprof_write_svg), inline
 *   sites     the top allocation sites of the newest snapshot, by line, as
 *             tracemalloc's Statistic lines (and as a sortable table)
 *   flame     the newest snapshot's flame graph (cli_write_flamegraph,
 *             embedded), inline, with its zoom and search
 *   types     objects by type in the last heap dump, and the growth from
 *             the first dump to the last when two or more are given
 *   retained  the types and objects that retain the most bytes (the
 *             dominator tree of the last dump)
 *   leaks     objects no root reaches (cyclic garbage waiting for the
 *             collector), objects held from outside the heap (a C
 *             variable's reference, or a missing rc_decref) by what they
 *             retain, and the chain of references that explains the
 *             biggest object something in the heap keeps alive ("why")
 *   pauses    the collector's pauses, from the mprof collection markers:
 *             count, total, longest, by generation, and a chart
 *
 * A section whose input is absent is still written, saying which file
 * would fill it. The page is self-contained: CSS and script inline, the
 * pictures inline SVG, no reference to anything outside it. Every piece of
 * text that comes from the inputs is escaped (cli_put, XML mode), so names
 * with any byte in them cannot break the page.
 *
 * The tables are written in HTML, readable without the script. The
 * script (page_script) then sorts a table by a click on its heading, draws
 * the pause chart from the numbers in a JSON island, checks that each
 * section holds its content or its "missing" note, and marks it
 * data-rendered="1" (the test reads these marks from the DOM of headless
 * Chromium, beside the console).
 */
#define _GNU_SOURCE /* open_memstream */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "html_report.h"
#include "mprof.h"

#define CMD "report"

/* Rows each table shows. */
enum { TOP_SITES = 25, TOP_LINES = 10, TOP_TYPES = 25, TOP_RETAINED = 15, TOP_ROOTS = 10, TOP_UNREACHABLE = 10 };
/* Most collections drawn in the pause chart (the first ones). */
#define MAX_PAUSES 20000

/* {==== inputs ==== */

typedef enum input_kind { IN_UNKNOWN, IN_SNAPSHOT, IN_HEAPDUMP, IN_MPROF } input_kind;

/* What the page is made from. Invariants: snap is the last snapshot
 * given (snap_path its file); first and last are the first and the last
 * heap dump given, the same dump when only one was (ndumps counts them);
 * have_mprof says mp holds the last mprof file given. */
typedef struct report {
    const char *snap_path;
    rc_snapshot *snap;
    const char *first_path, *last_path;
    rc_heapdump *first, *last;
    size_t ndumps;
    const char *mprof_path;
    mprof_data mp;
    bool have_mprof;
} report;

static void report_free(report *r) {
    rc_snapshot_free(r->snap);
    if (r->first != r->last) rc_heapdump_free(r->first);
    rc_heapdump_free(r->last);
    if (r->have_mprof) mprof_data_free(&r->mp);
}

/* The kind of the file at path, from its first line; IN_UNKNOWN after
 * printing the error. */
static input_kind classify(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        cli_fail(CMD, "cannot read '%s': %s", path, strerror(errno));
        return IN_UNKNOWN;
    }
    char line[64] = "";
    bool got = fgets(line, sizeof line, f) != NULL;
    int err = errno;
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        cli_fail(CMD, "cannot read '%s': %s", path, strerror(err));
        return IN_UNKNOWN;
    }
    static const struct {
        const char *prefix;
        input_kind kind;
    } kinds[] = {{"reclaim-snapshot ", IN_SNAPSHOT}, {"reclaim-heapdump ", IN_HEAPDUMP}, {"reclaim-mprof ", IN_MPROF}};
    for (size_t k = 0; got && k < sizeof kinds / sizeof kinds[0]; k++)
        if (strncmp(line, kinds[k].prefix, strlen(kinds[k].prefix)) == 0) return kinds[k].kind;
    cli_fail(CMD, "'%s' is %s, not a snapshot, a heap dump or an mprof data file", path,
             got ? "of an unknown kind" : "empty");
    return IN_UNKNOWN;
}

/* Loads path into r; false after printing the error. */
static bool load_input(report *r, const char *path) {
    switch (classify(path)) {
    case IN_SNAPSHOT: {
        rc_snapshot *s = rc_snapshot_load(path);
        if (!s) break;
        rc_snapshot_free(r->snap);
        r->snap = s;
        r->snap_path = path;
        return true;
    }
    case IN_HEAPDUMP: {
        rc_heapdump *d = rc_heapdump_load(path);
        if (!d) break;
        if (!r->first) {
            r->first = d;
            r->first_path = path;
        } else if (r->last != r->first) {
            rc_heapdump_free(r->last);
        }
        r->last = d;
        r->last_path = path;
        r->ndumps++;
        return true;
    }
    case IN_MPROF: {
        mprof_data d;
        char err[512];
        if (!mprof_load(path, &d, err, sizeof err)) {
            cli_fail(CMD, "%s", err);
            return false;
        }
        if (r->have_mprof) mprof_data_free(&r->mp);
        r->mp = d;
        r->have_mprof = true;
        r->mprof_path = path;
        return true;
    }
    case IN_UNKNOWN:
        return false;
    }
    cli_fail(CMD, "%s", cli_error_text());
    return false;
}
/* }==== */

/* {==== writing HTML ==== */

static void put(FILE *out, const char *s) { cli_put(out, s, CLI_ESC_XML); }

static void put_size(FILE *out, double bytes, bool sign) {
    char buf[48];
    cli_format_size(buf, sizeof buf, bytes, sign);
    fputs(buf, out);
}

/* A table cell holding a size, sortable by its bytes. */
static void td_size(FILE *out, double bytes, bool sign) {
    fprintf(out, "<td class=\"n\" data-v=\"%.0f\">", bytes);
    put_size(out, bytes, sign);
    fputs("</td>", out);
}

/* A table cell holding a count (with its sign when sign is true). */
static void td_num(FILE *out, int64_t v, bool sign) {
    fprintf(out, "<td class=\"n\" data-v=\"%" PRId64 "\">", v);
    fprintf(out, sign ? "%+" PRId64 : "%" PRId64, v);
    fputs("</td>", out);
}

static void td_text(FILE *out, const char *s) {
    fputs("<td>", out);
    put(out, s);
    fputs("</td>", out);
}

/* The last part of a path. */
static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

static void section_end(FILE *out) { fputs("</section>\n", out); }

/* Open a section. absent NULL: its input is there, and the caller writes
 * the rest and closes it (true). Otherwise the section is written whole,
 * with absent as its note (the script checks for it), and false says
 * there is nothing more to write. */
static bool section_open(FILE *out, const char *id, const char *title, const char *absent) {
    fprintf(out, "<section id=\"%s\" data-input=\"%s\">\n<h2>%s</h2>\n", id, absent ? "absent" : "present", title);
    if (!absent) return true;
    fprintf(out, "<p class=\"missing\">%s</p>\n", absent);
    section_end(out);
    return false;
}

static const char no_mprof[] =
    "No mprof data file given: run the program under <code>reclaim mprof run -o run.mprof -- CMD</code> "
    "and pass <code>run.mprof</code> to fill this section.";
static const char no_snapshot[] =
    "No snapshot given: pass a snapshot written by <code>rc_snapshot_dump</code> or "
    "<code>reclaim run --trace N</code> (<code>.rcsnap</code>) to fill this section.";
static const char no_dump[] =
    "No heap dump given: pass a dump written by <code>rc_heap_dump</code> to fill this section "
    "(two or more also show the growth between the first and the last).";

/* "node 0x55d1c0 (48 B)" with its allocation site. */
static void put_object(FILE *out, const rc_heapdump_object *o) {
    fputs("<span class=\"obj\">", out);
    put(out, o->type);
    fprintf(out, " <code>0x%" PRIx64 "</code></span>", o->address);
}

static void put_site(FILE *out, const rc_frame *site) {
    if (!site) {
        fputs("<span class=\"dim\">untraced</span>", out);
        return;
    }
    cli_put_frame_name(out, site, CLI_ESC_XML);
}
/* }==== */

/* {==== memory over time ==== */

/* mprof_write_svg's document without its XML declaration (an HTML page
 * holds the <svg> element only). */
static bool put_mprof_svg(FILE *out, const mprof_data *d) {
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem) return false;
    mprof_write_svg(mem, d, NULL);
    if (fclose(mem) != 0) {
        free(buf);
        return false;
    }
    const char *svg = strstr(buf, "<svg");
    if (svg) fwrite(svg, 1, len - (size_t)(svg - buf), out);
    free(buf);
    return svg != NULL;
}

static bool write_memory(FILE *out, const report *r) {
    if (!section_open(out, "memory", "Memory over time", r->have_mprof ? NULL : no_mprof)) return true;
    const mprof_data *d = &r->mp;
    uint64_t peak = 0, peak_t = 0, heap_peak = 0;
    for (size_t i = 0; i < d->nsamples; i++)
        if (d->samples[i].rss > peak) peak = d->samples[i].rss, peak_t = d->samples[i].t;
    for (size_t i = 0; i < d->nheap; i++)
        if (d->heap[i].in_use > heap_peak) heap_peak = d->heap[i].in_use;
    fputs("<p class=\"facts\">", out);
    put(out, base_name(r->mprof_path));
    fputs(": <code>", out);
    put(out, d->command ? d->command : "");
    fprintf(out, "</code>, %.3f s, %s; %zu samples, peak RSS ", (double)d->duration / 1e9, d->status ? d->status : "?",
            d->nsamples);
    put_size(out, (double)peak, false);
    fprintf(out, " at %.3f s", (double)peak_t / 1e9);
    if (d->nheap) {
        fputs("; peak heap in use ", out);
        put_size(out, (double)heap_peak, false);
    }
    fprintf(out, "; %zu scopes, %zu collections.</p>\n<div class=\"content figure\">\n", d->nscopes, d->ngcs);
    bool ok = put_mprof_svg(out, d);
    fputs("</div>\n", out);
    section_end(out);
    return ok;
}
/* }==== */

/* {==== allocation sites and the flame graph ==== */

/* "file.c:42: size=1.2 MiB, count=4096, average=307 B" (reclaim top). */
static void put_statistic(FILE *out, const rc_trace_stat *st) {
    if (st->nframes) {
        put(out, st->frames[0].file);
        fprintf(out, ":%u", st->frames[0].line);
    } else {
        fputs("&lt;unknown&gt;", out);
    }
    fputs(": size=", out);
    put_size(out, (double)st->size, false);
    fprintf(out, ", count=%zu", st->count);
    if (st->count) {
        fputs(", average=", out);
        put_size(out, (double)st->size / (double)st->count, false);
    }
}

static bool write_sites(FILE *out, const report *r) {
    if (!section_open(out, "sites", "Top allocation sites", r->snap ? NULL : no_snapshot)) return true;
    rc_trace_stat *rows;
    int64_t n = rc_snapshot_statistics(r->snap, RC_BY_LINE, &rows);
    if (n < 0) return false;
    size_t total, count, peak;
    rc_snapshot_totals(r->snap, &total, &count, &peak);
    fputs("<p class=\"facts\">", out);
    put(out, base_name(r->snap_path));
    fputs(": ", out);
    put_size(out, (double)total, false);
    fprintf(out, " in %zu %s traced, from %" PRId64 " lines; the tracer's peak ", count, count == 1 ? "block" : "blocks",
            n);
    put_size(out, (double)peak, false);
    fputs(".</p>\n<div class=\"content\">\n<pre class=\"tm\">", out);
    size_t shown = (size_t)n < TOP_LINES ? (size_t)n : TOP_LINES;
    size_t other_size = 0, other_count = 0;
    for (size_t i = 0; i < (size_t)n; i++) {
        if (i < shown) {
            put_statistic(out, &rows[i]);
            fputc('\n', out);
        } else {
            other_size += rows[i].size;
            other_count += rows[i].count;
        }
    }
    if (shown < (size_t)n) {
        fprintf(out, "%zu other: size=", (size_t)n - shown);
        put_size(out, (double)other_size, false);
        fprintf(out, ", count=%zu\n", other_count);
    }
    fputs("Total: ", out);
    put_size(out, (double)total, false);
    fprintf(out, " in %zu %s</pre>\n", count, count == 1 ? "block" : "blocks");
    fputs("<table class=\"sortable\"><thead><tr><th>site</th><th>function</th><th>size</th><th>count</th>"
          "<th>average</th></tr></thead><tbody>\n",
          out);
    for (size_t i = 0; i < (size_t)n && i < TOP_SITES; i++) {
        const rc_trace_stat *st = &rows[i];
        fputs("<tr><td>", out);
        if (st->nframes) {
            put(out, st->frames[0].file);
            if (st->frames[0].line) fprintf(out, ":%u", st->frames[0].line);
            fputs("</td>", out);
            td_text(out, st->frames[0].function);
        } else {
            fputs("&lt;unknown&gt;</td><td></td>", out);
        }
        td_size(out, (double)st->size, false);
        td_num(out, (int64_t)st->count, false);
        td_size(out, st->count ? (double)st->size / (double)st->count : 0, false);
        fputs("</tr>\n", out);
    }
    fputs("</tbody></table>\n</div>\n", out);
    rc_free(rows);
    section_end(out);
    return true;
}

static bool write_flame(FILE *out, const report *r) {
    if (!section_open(out, "flame", "Flame graph (live bytes by stack)", r->snap ? NULL : no_snapshot)) return true;
    fputs("<p class=\"facts\">Click a box to zoom, Escape to reset; Search takes a regular expression.</p>\n"
          "<div class=\"content figure\">\n",
          out);
    bool ok = cli_write_flamegraph(out, r->snap, base_name(r->snap_path), true);
    fputs("</div>\n", out);
    section_end(out);
    return ok;
}
/* }==== */

/* {==== objects by type, retained sizes ==== */

static int cmp_growth(const void *pa, const void *pb) {
    const rc_heapdump_type_stat *a = pa, *b = pb;
    if (a->count_diff != b->count_diff) return a->count_diff > b->count_diff ? -1 : 1;
    if (a->bytes_diff != b->bytes_diff) return a->bytes_diff > b->bytes_diff ? -1 : 1;
    return strcmp(a->type, b->type);
}

static void put_dump_facts(FILE *out, const char *path, rc_heapdump *d) {
    uint64_t bytes;
    rc_heapdump_totals(d, &bytes, NULL, NULL);
    put(out, base_name(path));
    fprintf(out, ": %zu objects of %zu types, ", rc_heapdump_count(d), rc_heapdump_type_count(d));
    put_size(out, (double)bytes, false);
}

static bool write_types(FILE *out, const report *r) {
    if (!section_open(out, "types", "Objects by type, and their growth", r->last ? NULL : no_dump)) return true;
    rc_heapdump_type_stat *rows;
    int64_t n = rc_heapdump_type_stats(r->last, &rows);
    if (n < 0) return false;
    fputs("<p class=\"facts\">", out);
    put_dump_facts(out, r->last_path, r->last);
    fputs(".</p>\n<div class=\"content\">\n<h3>Most common types (last dump)</h3>\n"
          "<table class=\"sortable\" id=\"types-table\"><thead><tr><th>type</th><th>count</th><th>bytes</th></tr>"
          "</thead><tbody>\n",
          out);
    for (size_t i = 0; i < (size_t)n && i < TOP_TYPES; i++) {
        fputs("<tr data-type=\"", out);
        put(out, rows[i].type);
        fprintf(out, "\" data-count=\"%" PRIu64 "\">", rows[i].count);
        td_text(out, rows[i].type);
        td_num(out, (int64_t)rows[i].count, false);
        td_size(out, (double)rows[i].bytes, false);
        fputs("</tr>\n", out);
    }
    fputs("</tbody></table>\n", out);
    if ((size_t)n > TOP_TYPES) fprintf(out, "<p class=\"dim\">and %zu other types</p>\n", (size_t)n - TOP_TYPES);
    rc_free(rows);
    fputs("<h3>Growth from the first dump to the last</h3>\n", out);
    if (r->ndumps < 2) {
        fputs("<p class=\"note\">One heap dump given: pass an earlier one too (oldest first) to see which types "
              "grew.</p>\n</div>\n",
              out);
        section_end(out);
        return true;
    }
    n = rc_heapdump_compare(r->last, r->first, &rows);
    if (n < 0) return false;
    qsort(rows, (size_t)n, sizeof *rows, cmp_growth);
    fputs("<p class=\"facts\">From ", out);
    put_dump_facts(out, r->first_path, r->first);
    fputs(" to ", out);
    put_dump_facts(out, r->last_path, r->last);
    fprintf(out, ". %" PRId64 " %s changed.</p>\n", n, n == 1 ? "type" : "types");
    fputs("<table class=\"sortable\" id=\"growth-table\"><thead><tr><th>type</th><th>count</th><th>change</th>"
          "<th>bytes</th><th>change</th></tr></thead><tbody>\n",
          out);
    for (size_t i = 0; i < (size_t)n && i < TOP_TYPES; i++) {
        fputs("<tr data-type=\"", out);
        put(out, rows[i].type);
        fprintf(out, "\" data-count-diff=\"%" PRId64 "\" class=\"%s\">", rows[i].count_diff,
                rows[i].count_diff > 0 ? "up" : rows[i].count_diff < 0 ? "down" : "");
        td_text(out, rows[i].type);
        td_num(out, (int64_t)rows[i].count, false);
        td_num(out, rows[i].count_diff, true);
        td_size(out, (double)rows[i].bytes, false);
        td_size(out, (double)rows[i].bytes_diff, true);
        fputs("</tr>\n", out);
    }
    fputs("</tbody></table>\n</div>\n", out);
    rc_free(rows);
    section_end(out);
    return true;
}

static int cmp_retained_type(const void *pa, const void *pb) {
    const rc_heapdump_type_stat *a = pa, *b = pb;
    if (a->retained != b->retained) return a->retained > b->retained ? -1 : 1;
    return strcmp(a->type, b->type);
}

/* The objects of a dump ordered by retained size (biggest first, then
 * index), for the retained and leak sections. */
typedef struct ranked {
    uint32_t index;
    uint64_t retained;
} ranked;

static int cmp_ranked(const void *pa, const void *pb) {
    const ranked *a = pa, *b = pb;
    if (a->retained != b->retained) return a->retained > b->retained ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* A new array (rc_free) of every object of d by retained size; NULL when
 * out of memory or d is empty (*n then 0). */
static ranked *rank_objects(rc_heapdump *d, size_t *n) {
    *n = rc_heapdump_count(d);
    ranked *v = *n ? rc_malloc(*n * sizeof *v) : NULL;
    if (!v) {
        *n = 0;
        return NULL;
    }
    for (size_t i = 0; i < *n; i++) v[i] = (ranked){(uint32_t)i, rc_heapdump_retained(d, i)};
    qsort(v, *n, sizeof *v, cmp_ranked);
    return v;
}

static bool write_retained(FILE *out, const report *r, const ranked *rank, size_t nrank) {
    if (!section_open(out, "retained", "Retained sizes", r->last ? NULL : no_dump)) return true;
    rc_heapdump_type_stat *rows;
    int64_t n = rc_heapdump_type_stats(r->last, &rows);
    if (n < 0) return false;
    qsort(rows, (size_t)n, sizeof *rows, cmp_retained_type);
    uint64_t total;
    rc_heapdump_totals(r->last, &total, NULL, NULL);
    fputs("<p class=\"facts\">What would be freed with an object (or with every object of a type): its own bytes "
          "and those of the objects reachable only through it, from the dominator tree of ",
          out);
    put(out, base_name(r->last_path));
    fputs(".</p>\n<div class=\"content\">\n<h3>Types by retained size</h3>\n"
          "<table class=\"sortable\"><thead><tr><th>type</th><th>count</th><th>bytes</th><th>retained</th>"
          "<th>share</th></tr></thead><tbody>\n",
          out);
    for (size_t i = 0; i < (size_t)n && i < TOP_RETAINED; i++) {
        fputs("<tr>", out);
        td_text(out, rows[i].type);
        td_num(out, (int64_t)rows[i].count, false);
        td_size(out, (double)rows[i].bytes, false);
        td_size(out, (double)rows[i].retained, false);
        double share = total ? 100.0 * (double)rows[i].retained / (double)total : 0;
        fprintf(out, "<td class=\"n\" data-v=\"%.2f\">%.1f%%</td></tr>\n", share, share);
    }
    fputs("</tbody></table>\n<h3>Objects by retained size</h3>\n"
          "<table class=\"sortable\" id=\"retained-objects\"><thead><tr><th>object</th><th>size</th><th>retained</th>"
          "<th>share</th><th>allocated at</th><th>held</th></tr></thead><tbody>\n",
          out);
    for (size_t k = 0; k < nrank && k < TOP_RETAINED; k++) {
        rc_heapdump_object o;
        rc_heapdump_object_at(r->last, rank[k].index, &o);
        fprintf(out, "<tr data-address=\"0x%" PRIx64 "\" data-retained=\"%" PRIu64 "\"><td>", o.address,
                rank[k].retained);
        put_object(out, &o);
        fputs("</td>", out);
        td_size(out, (double)o.size, false);
        td_size(out, (double)rank[k].retained, false);
        double share = total ? 100.0 * (double)rank[k].retained / (double)total : 0;
        fprintf(out, "<td class=\"n\" data-v=\"%.2f\">%.1f%%</td><td>", share, share);
        put_site(out, o.site);
        fputs("</td><td>", out);
        if (o.flags & RC_HEAPDUMP_IMMORTAL) fputs("immortal", out);
        else if (o.flags & RC_HEAPDUMP_ROOT)
            fprintf(out, "root: %" PRIu64 " from outside the heap", o.external);
        else if (o.flags & RC_HEAPDUMP_UNREACHABLE) fputs("unreachable", out);
        else fputs("by the heap", out);
        fputs("</td></tr>\n", out);
    }
    fputs("</tbody></table>\n</div>\n", out);
    rc_free(rows);
    section_end(out);
    return true;
}
/* }==== */

/* {==== leaks ==== */

/* The chain of references that keeps object target alive, root first. */
static bool put_chain(FILE *out, rc_heapdump *d, size_t target) {
    uint32_t *chain;
    int64_t n = rc_heapdump_chain(d, target, &chain);
    if (n < 0) return false;
    fprintf(out, "<ol class=\"chain\" id=\"why-chain\" data-length=\"%" PRId64 "\">\n", n);
    for (int64_t k = 0; k < n; k++) {
        rc_heapdump_object o;
        rc_heapdump_object_at(d, chain[k], &o);
        fprintf(out, "<li data-address=\"0x%" PRIx64 "\">", o.address);
        put_object(out, &o);
        fprintf(out, " size %" PRIu64 ", refcount %" PRIu64 ", retains ", o.size, o.refcount);
        put_size(out, (double)rc_heapdump_retained(d, chain[k]), false);
        fputs(", allocated at ", out);
        put_site(out, o.site);
        if (k == 0 && (o.flags & RC_HEAPDUMP_ROOT))
            fprintf(out, " <strong class=\"root\">root: %" PRIu64 " %s from outside the heap%s</strong>", o.external,
                    o.external == 1 ? "reference" : "references",
                    (o.flags & RC_HEAPDUMP_IMMORTAL) ? ", immortal" : " (a C variable, or an rc_incref never "
                                                                      "matched by its rc_decref)");
        else if (k == 0)
            fputs(" <strong class=\"root\">unreachable: no root reaches it; a cycle keeps it</strong>", out);
        fputs("</li>\n", out);
    }
    fputs("</ol>\n", out);
    rc_free(chain);
    return true;
}

static bool write_leaks(FILE *out, const report *r, const ranked *rank, size_t nrank) {
    if (!section_open(out, "leaks", "Leaks", r->last ? NULL : no_dump)) return true;
    rc_heapdump *d = r->last;
    size_t n = rc_heapdump_count(d), types = rc_heapdump_type_count(d);
    uint64_t *ucount = rc_calloc(types ? types : 1, sizeof *ucount), *ubytes = rc_calloc(types ? types : 1, sizeof *ubytes);
    if (!ucount || !ubytes) {
        rc_free(ucount);
        rc_free(ubytes);
        return false;
    }
    uint64_t unreachable = 0, unreachable_bytes = 0, roots = 0;
    for (size_t i = 0; i < n; i++) {
        rc_heapdump_object o;
        rc_heapdump_object_at(d, i, &o);
        if (o.flags & RC_HEAPDUMP_UNREACHABLE) {
            unreachable++;
            unreachable_bytes += o.size;
            ucount[o.type_index]++;
            ubytes[o.type_index] += o.size;
        }
        if ((o.flags & RC_HEAPDUMP_ROOT) && !(o.flags & RC_HEAPDUMP_IMMORTAL)) roots++;
    }
    fputs("<p class=\"facts\">In ", out);
    put(out, base_name(r->last_path));
    fprintf(out, ": <span id=\"unreachable-count\" data-v=\"%" PRIu64 "\">%" PRIu64 "</span> unreachable %s (", unreachable,
            unreachable, unreachable == 1 ? "object" : "objects");
    put_size(out, (double)unreachable_bytes, false);
    fprintf(out, "), <span id=\"root-count\" data-v=\"%" PRIu64 "\">%" PRIu64 "</span> %s held from outside the heap.</p>\n"
                 "<div class=\"content\">\n",
            roots, roots, roots == 1 ? "object" : "objects");

    /* unreachable objects */
    fputs("<h3>Not reachable from any root</h3>\n", out);
    if (!unreachable) {
        fputs("<p class=\"note\">None: every object is reachable from an object held from outside the heap.</p>\n", out);
    } else {
        fputs("<p class=\"note\">Cyclic garbage the collector has not reclaimed yet (or objects a cycle keeps "
              "behind a disabled collector).</p>\n<table class=\"sortable\" id=\"unreachable-types\"><thead><tr>"
              "<th>type</th><th>count</th><th>bytes</th></tr></thead><tbody>\n",
              out);
        for (size_t t = 0; t < types; t++) {
            if (!ucount[t]) continue;
            fputs("<tr>", out);
            td_text(out, rc_heapdump_type_name(d, t));
            td_num(out, (int64_t)ucount[t], false);
            td_size(out, (double)ubytes[t], false);
            fputs("</tr>\n", out);
        }
        fputs("</tbody></table>\n<p class=\"addresses\">", out);
        size_t shown = 0;
        for (size_t i = 0; i < n && shown < TOP_UNREACHABLE; i++) {
            rc_heapdump_object o;
            rc_heapdump_object_at(d, i, &o);
            if (!(o.flags & RC_HEAPDUMP_UNREACHABLE)) continue;
            fputs(shown++ ? ", " : "", out);
            put_object(out, &o);
        }
        if (unreachable > shown) fprintf(out, " and %" PRIu64 " more", unreachable - shown);
        fputs("</p>\n", out);
    }
    rc_free(ucount);
    rc_free(ubytes);

    /* roots, by what they retain */
    fputs("<h3>Held from outside the heap</h3>\n<p class=\"note\">References no object in the heap accounts for: "
          "a C variable's, or an <code>rc_incref</code> never matched by its <code>rc_decref</code>.</p>\n"
          "<table class=\"sortable\" id=\"roots\"><thead><tr><th>object</th><th>outside references</th>"
          "<th>retained</th><th>allocated at</th></tr></thead><tbody>\n",
          out);
    size_t shown = 0;
    for (size_t k = 0; k < nrank && shown < TOP_ROOTS; k++) {
        rc_heapdump_object o;
        rc_heapdump_object_at(d, rank[k].index, &o);
        if (!(o.flags & RC_HEAPDUMP_ROOT) || (o.flags & RC_HEAPDUMP_IMMORTAL)) continue;
        shown++;
        fprintf(out, "<tr data-address=\"0x%" PRIx64 "\"><td>", o.address);
        put_object(out, &o);
        fputs("</td>", out);
        td_num(out, (int64_t)o.external, false);
        td_size(out, (double)rank[k].retained, false);
        fputs("<td>", out);
        put_site(out, o.site);
        fputs("</td></tr>\n", out);
    }
    fputs("</tbody></table>\n", out);

    /* why: the biggest object the heap keeps alive (not a root itself) */
    fputs("<h3>Why is it alive?</h3>\n", out);
    size_t target = nrank;
    for (size_t k = 0; k < nrank && target == nrank; k++) {
        rc_heapdump_object o;
        rc_heapdump_object_at(d, rank[k].index, &o);
        if (!(o.flags & (RC_HEAPDUMP_ROOT | RC_HEAPDUMP_IMMORTAL))) target = k;
    }
    bool ok = true;
    if (target == nrank && nrank) target = 0; /* every object is a root: the biggest of them */
    if (target == nrank) {
        fputs("<p class=\"note\">The dump holds no object.</p>\n", out);
    } else {
        fputs("<p class=\"note\">The shortest chain of references from a root to the object that retains the most "
              "bytes among those something in the heap keeps alive: the root is what to release.</p>\n",
              out);
        ok = put_chain(out, d, rank[target].index);
    }
    fputs("</div>\n", out);
    section_end(out);
    return ok;
}
/* }==== */

/* {==== the collector's pauses ==== */

static bool write_pauses(FILE *out, const report *r) {
    if (!section_open(out, "pauses", "The collector's pauses", r->have_mprof ? NULL : no_mprof)) return true;
    const mprof_data *d = &r->mp;
    uint64_t total = 0, longest = 0, gen_n[3] = {0}, gen_total[3] = {0}, gen_max[3] = {0}, gen_collected[3] = {0};
    for (size_t i = 0; i < d->ngcs; i++) {
        const mprof_gc *g = &d->gcs[i];
        int k = g->generation >= 0 && g->generation <= 2 ? g->generation : 2;
        total += g->duration;
        if (g->duration > longest) longest = g->duration;
        gen_n[k]++;
        gen_total[k] += g->duration;
        if (g->duration > gen_max[k]) gen_max[k] = g->duration;
        gen_collected[k] += g->collected;
    }
    fprintf(out,
            "<p class=\"facts\"><span id=\"pause-count\" data-v=\"%zu\">%zu</span> %s in %.3f s of run: %.3f ms in "
            "all (%.2f%% of the run), the longest %.3f ms, %.3f ms on average.</p>\n<div class=\"content\">\n",
            d->ngcs, d->ngcs, d->ngcs == 1 ? "collection" : "collections", (double)d->duration / 1e9,
            (double)total / 1e6, d->duration ? 100.0 * (double)total / (double)d->duration : 0.0,
            (double)longest / 1e6, d->ngcs ? (double)total / 1e6 / (double)d->ngcs : 0.0);
    if (!d->ngcs) {
        fputs("<p class=\"note\">No collection was marked in this run (the program does not use reclaim's "
              "collector, or did not collect).</p>\n</div>\n",
              out);
        section_end(out);
        return true;
    }
    fputs("<table class=\"sortable\"><thead><tr><th>generation</th><th>collections</th><th>total (ms)</th>"
          "<th>longest (ms)</th><th>objects collected</th></tr></thead><tbody>\n",
          out);
    for (int k = 0; k < 3; k++) {
        if (!gen_n[k]) continue;
        fprintf(out,
                "<tr><td>%d</td><td class=\"n\" data-v=\"%" PRIu64 "\">%" PRIu64 "</td><td class=\"n\" data-v=\"%.6f\">"
                "%.3f</td><td class=\"n\" data-v=\"%.6f\">%.3f</td><td class=\"n\" data-v=\"%" PRIu64 "\">%" PRIu64
                "</td></tr>\n",
                k, gen_n[k], gen_n[k], (double)gen_total[k] / 1e6, (double)gen_total[k] / 1e6,
                (double)gen_max[k] / 1e6, (double)gen_max[k] / 1e6, gen_collected[k], gen_collected[k]);
    }
    fputs("</tbody></table>\n<div class=\"figure\" id=\"pause-chart\"></div>\n", out);
    /* numbers only, so nothing in it needs escaping for a <script> */
    size_t shown = d->ngcs < MAX_PAUSES ? d->ngcs : MAX_PAUSES;
    fprintf(out, "<script type=\"application/json\" id=\"pause-data\">{\"duration_ms\":%.3f,\"cut\":%zu,\"pauses\":[",
            (double)d->duration / 1e6, d->ngcs - shown);
    for (size_t i = 0; i < shown; i++) {
        const mprof_gc *g = &d->gcs[i];
        fprintf(out, "%s[%.3f,%.4f,%d,%" PRIu64 "]", i ? "," : "", (double)g->start / 1e6, (double)g->duration / 1e6,
                g->generation, g->collected);
    }
    fputs("]}</script>\n</div>\n", out);
    section_end(out);
    return true;
}
/* }==== */

/* {==== the page ==== */

static const char page_style[] =
    "body { font-family: 'DejaVu Sans', Verdana, sans-serif; font-size: 14px; margin: 0; background: #f4f4f0;"
    " color: #222; }\n"
    "header { background: #24343f; color: #fff; padding: 14px 24px; }\n"
    "header h1 { margin: 0 0 6px 0; font-size: 22px; }\n"
    "header a { color: #cde; margin-right: 14px; }\n"
    "header ul { margin: 6px 0 0 0; padding-left: 18px; font-size: 12px; color: #ccd; }\n"
    "main { padding: 8px 24px 40px 24px; max-width: 1260px; }\n"
    "section { background: #fff; border: 1px solid #ddd; border-radius: 4px; margin: 16px 0; padding: 4px 16px 12px;"
    " }\n"
    "h2 { font-size: 18px; border-bottom: 1px solid #eee; padding-bottom: 4px; }\n"
    "h3 { font-size: 15px; margin: 14px 0 6px; }\n"
    ".missing { color: #8a5a00; background: #fff7e0; padding: 8px; border-left: 4px solid #e0a000; }\n"
    ".note, .dim { color: #666; }\n"
    ".facts { color: #333; }\n"
    "table { border-collapse: collapse; font-size: 13px; }\n"
    "th, td { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }\n"
    "th { background: #f0f0ea; cursor: pointer; user-select: none; }\n"
    "th.asc::after { content: ' \\25B2'; } th.desc::after { content: ' \\25BC'; }\n"
    "td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }\n"
    "tr.up td { color: #a11; } tr.down td { color: #161; }\n"
    "pre.tm { background: #f8f8f4; padding: 8px; overflow-x: auto; font-size: 12px; }\n"
    ".figure svg { max-width: 100%; height: auto; }\n"
    "ol.chain li { margin: 4px 0; font-family: monospace; }\n"
    ".root { color: #a11; }\n"
    "code { font-size: 12px; }\n";

/* The page's script. Each section is rendered by its function (the
 * default checks that the section holds its content or its "missing"
 * note); a section is marked data-rendered="1" only when its function
 * returned (a section that failed gets data-rendered="error" and its
 * message on the console; the others render all the same). */
static const char page_script[] =
    "(function () {\n"
    "  'use strict';\n"
    "  function cellValue(row, k) {\n"
    "    var c = row.cells[k];\n"
    "    if (!c) return '';\n"
    "    var v = c.getAttribute('data-v');\n"
    "    return v === null ? c.textContent.toLowerCase() : parseFloat(v);\n"
    "  }\n"
    "  function sortable(table) {\n"
    "    var heads = table.tHead ? table.tHead.rows[0].cells : [];\n"
    "    [].forEach.call(heads, function (th, k) {\n"
    "      th.addEventListener('click', function () {\n"
    "        var desc = !th.classList.contains('desc');\n"
    "        [].forEach.call(heads, function (h) { h.classList.remove('asc', 'desc'); });\n"
    "        th.classList.add(desc ? 'desc' : 'asc');\n"
    "        var body = table.tBodies[0], rows = [].slice.call(body.rows);\n"
    "        rows.sort(function (a, b) {\n"
    "          var x = cellValue(a, k), y = cellValue(b, k);\n"
    "          var c = x < y ? -1 : x > y ? 1 : 0;\n"
    "          return desc ? -c : c;\n"
    "        });\n"
    "        rows.forEach(function (r) { body.appendChild(r); });\n"
    "      });\n"
    "    });\n"
    "  }\n"
    "  function needs(section, selector) {\n"
    "    if (section.getAttribute('data-input') === 'absent') selector = 'p.missing';\n"
    "    if (!section.querySelector(selector))\n"
    "      throw new Error('section ' + section.id + ': no ' + selector);\n"
    "  }\n"
    "  var SVG = 'http://www.w3.org/2000/svg';\n"
    "  function el(name, attrs, parent) {\n"
    "    var e = document.createElementNS(SVG, name);\n"
    "    for (var a in attrs) e.setAttribute(a, attrs[a]);\n"
    "    if (parent) parent.appendChild(e);\n"
    "    return e;\n"
    "  }\n"
    "  function pauseChart(section) {\n"
    "    var data = section.querySelector('#pause-data'), box = section.querySelector('#pause-chart');\n"
    "    if (!data || !box) { needs(section, 'p.note, p.missing'); return; }\n"
    "    var d = JSON.parse(data.textContent), W = 1200, H = 220, L = 60, R = 20, T = 20, B = 40;\n"
    "    var tmax = Math.max(d.duration_ms, 1e-3), ymax = 0;\n"
    "    d.pauses.forEach(function (p) { ymax = Math.max(ymax, p[1]); });\n"
    "    ymax = ymax > 0 ? ymax * 1.1 : 1;\n"
    "    var svg = el('svg', {width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, 'font-size': 12});\n"
    "    el('rect', {x: L, y: T, width: W - L - R, height: H - T - B, fill: '#fafaf5', stroke: '#333'}, svg);\n"
    "    var colours = ['#1f77b4', '#ff7f0e', '#d62728'];\n"
    "    d.pauses.forEach(function (p) {\n"
    "      var x = L + (W - L - R) * p[0] / tmax, h = (H - T - B) * p[1] / ymax;\n"
    "      var w = Math.max(2, (W - L - R) * p[1] / tmax);\n"
    "      var bar = el('rect', {x: x.toFixed(1), y: (H - B - h).toFixed(1), width: w.toFixed(1),\n"
    "                            height: Math.max(h, 1).toFixed(1), fill: colours[p[2]] || '#555', 'class': 'pause'}, svg);\n"
    "      el('title', {}, bar).textContent = 'generation ' + p[2] + ' at ' + (p[0] / 1000).toFixed(3) + ' s: ' +\n"
    "        p[1].toFixed(3) + ' ms, ' + p[3] + ' collected';\n"
    "    });\n"
    "    [0, 0.5, 1].forEach(function (f) {\n"
    "      var y = H - B - (H - T - B) * f;\n"
    "      el('text', {x: L - 6, y: y + 4, 'text-anchor': 'end'}, svg).textContent = (ymax * f).toFixed(3);\n"
    "      el('text', {x: L + (W - L - R) * f, y: H - B + 16, 'text-anchor': 'middle'}, svg).textContent =\n"
    "        (tmax * f / 1000).toFixed(2);\n"
    "    });\n"
    "    el('text', {x: (L + W - R) / 2, y: H - 6, 'text-anchor': 'middle'}, svg).textContent =\n"
    "      'time (s); bar height: pause (ms); colour: generation 0, 1, 2' + (d.cut ? '; ' + d.cut + ' not drawn' : '');\n"
    "    box.appendChild(svg);\n"
    "    if (box.querySelectorAll('rect.pause').length !== d.pauses.length) throw new Error('pauses: bars missing');\n"
    "  }\n"
    "  var render = {\n"
    "    memory: function (s) { needs(s, '.content svg polyline, .content svg text'); },\n"
    "    sites: function (s) { needs(s, 'pre.tm'); },\n"
    "    flame: function (s) { needs(s, 'svg.flame g.f'); },\n"
    "    types: function (s) { needs(s, '#types-table'); },\n"
    "    retained: function (s) { needs(s, '#retained-objects'); },\n"
    "    leaks: function (s) { needs(s, '#roots'); },\n"
    "    pauses: pauseChart\n"
    "  };\n"
    "  var done = 0;\n"
    "  [].forEach.call(document.querySelectorAll('main > section'), function (s) {\n"
    "    try {\n"
    "      (render[s.id] || function () {})(s);\n"
    "      [].forEach.call(s.querySelectorAll('table.sortable'), sortable);\n"
    "      s.setAttribute('data-rendered', '1');\n"
    "      done++;\n"
    "    } catch (e) {\n"
    "      s.setAttribute('data-rendered', 'error');\n"
    "      console.error('reclaim report: ' + e.message);\n"
    "    }\n"
    "  });\n"
    "  document.body.setAttribute('data-sections-rendered', String(done));\n"
    "})();\n";

static const struct {
    const char *id, *title;
} sections[] = {
    {"memory", "memory"}, {"sites", "allocation sites"}, {"flame", "flame graph"}, {"types", "types"},
    {"retained", "retained"}, {"leaks", "leaks"}, {"pauses", "pauses"},
};

static bool write_page(FILE *out, const report *r, char **files, int nfiles) {
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"generator\" content=\"reclaim ",
          out);
    put(out, rc_version());
    fputs("\">\n<title>reclaim report", out);
    if (r->have_mprof && r->mp.command) {
        fputs(": ", out);
        put(out, r->mp.command);
    }
    fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header>\n<h1>reclaim report</h1>\n<nav>", page_style);
    for (size_t k = 0; k < sizeof sections / sizeof sections[0]; k++)
        fprintf(out, "<a href=\"#%s\">%s</a>", sections[k].id, sections[k].title);
    fputs("</nav>\n<ul class=\"inputs\">", out);
    for (int i = 0; i < nfiles; i++) {
        fputs("<li>", out);
        put(out, files[i]);
        fputs("</li>", out);
    }
    fputs("</ul>\n</header>\n<main>\n", out);
    /* retained sizes and leaks share the ranking of the last dump */
    size_t nrank = 0;
    ranked *rank = r->last ? rank_objects(r->last, &nrank) : NULL;
    bool ok = !(r->last && rc_heapdump_count(r->last) && !rank);
    ok = ok && write_memory(out, r);
    ok = ok && write_sites(out, r);
    ok = ok && write_flame(out, r);
    ok = ok && write_types(out, r);
    ok = ok && write_retained(out, r, rank, nrank);
    ok = ok && write_leaks(out, r, rank, nrank);
    ok = ok && write_pauses(out, r);
    rc_free(rank);
    fputs("</main>\n<script>\n", out);
    fputs(page_script, out);
    fputs("</script>\n</body>\n</html>\n", out);
    return ok;
}
/* }==== */

int cli_report(int argc, char **argv) {
    const char *output = "report.html";
    char **files = rc_malloc((argc ? (size_t)argc : 1) * sizeof *files);
    if (!files) return cli_fail(CMD, "out of memory");
    int nfiles = 0;
    bool options = true;
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        if (options && strcmp(w, "--") == 0) {
            options = false;
        } else if (options && strcmp(w, "-o") == 0) {
            if (i + 1 >= argc) {
                rc_free(files);
                return cli_fail(CMD, "-o needs a value");
            }
            output = argv[++i];
        } else if (options && strncmp(w, "-o", 2) == 0) {
            output = w + 2;
        } else if (options && w[0] == '-' && w[1] != '\0') {
            rc_free(files);
            return cli_fail(CMD, "unknown option '%s'", w);
        } else {
            files[nfiles++] = argv[i];
        }
    }
    if (nfiles == 0) {
        rc_free(files);
        return cli_fail(CMD, "no input given (snapshots, heap dumps, mprof data files)");
    }
    report r = {0};
    bool ok = true;
    for (int i = 0; i < nfiles && ok; i++) ok = load_input(&r, files[i]);
    int status = CLI_BAD_USE;
    if (ok) {
        cli_args a = {.cmd = CMD, .output = output};
        FILE *out = cli_open_output(&a);
        if (out) {
            ok = write_page(out, &r, files, nfiles);
            status = cli_close_output(&a, out);
            if (!ok) status = cli_fail(CMD, "out of memory: the page '%s' is incomplete", output);
        }
    }
    report_free(&r);
    rc_free(files);
    return status;
}
