/*
 * flame.c — a snapshot's bytes by stack: `reclaim flamegraph` draws them,
 * `reclaim export` writes them for other viewers.
 *
 *   reclaim flamegraph FILE -o OUT.svg [--include GLOB] [--exclude GLOB]
 *   reclaim export FILE (--collapsed | --speedscope) -o OUT [--include ...]
 *
 * All three read the snapshot's rows by whole traceback
 * (rc_snapshot_statistics with RC_BY_TRACEBACK): one row per distinct
 * traceback, innermost frame first, with the live bytes allocated there.
 * A stack is that traceback reversed, outermost call first.
 *
 * The flame graph. The stacks are merged into a tree: a node is one frame
 * (function, file and line: a call site, so two calls from one function
 * are two boxes) under its parent, and holds the bytes of every stack
 * through it; the root "all" holds the total. Children are placed left to
 * right by size, biggest first, and a node's width is its share of the
 * total, root at the bottom. Nodes are found by a hash table on (parent,
 * frame), so building costs O(frames) whatever the fan-out. The SVG is
 * self-contained: each box is a <g> carrying its byte offset, bytes and
 * depth (data-o, data-b, data-d), with a <title> tooltip (frame, bytes,
 * share); a small script zooms on a click (the clicked box fills the width,
 * its ancestors stay as full-width bars, everything else hides) and
 * searches on Ctrl-F or the Search button (a case-insensitive regular
 * expression over "function (file:line)"; matches turn magenta and the
 * share of bytes under them is shown). Escape resets both. Colours come
 * from a hash of the function name, in flamegraph.pl's warm palette, so a
 * function keeps its colour across graphs. Every name is escaped, so the
 * file stays well-formed XML whatever the snapshot holds. The same writer
 * draws the graph inside `reclaim report`'s page (cli_write_flamegraph,
 * embedded): no XML declaration, the ids prefixed "flame-" (named by the
 * root's data-idp, which the script reads), and Ctrl-F left to the
 * browser; the script finds its own <svg> through document.currentScript.
 *
 * The exports. Collapsed stacks (Brendan Gregg's format, read by
 * flamegraph.pl, speedscope, inferno, ...): one line per traceback,
 * "outer;...;inner BYTES", a frame written "function (file:line)" as
 * py-spy does. Speedscope JSON: a "sampled" profile whose samples are the
 * stacks (frame numbers, root first) and whose weights are their bytes, in
 * unit "bytes"; the frame table holds each distinct frame once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "html_report.h"

/* A traceback with no frames is drawn as this one frame. */
static const rc_frame unknown_frame = {"?", "[unknown]", 0};

static const rc_frame *stat_frame(const rc_trace_stat *st, unsigned k) {
    return st->nframes ? &st->frames[k] : &unknown_frame;
}
static unsigned stat_depth(const rc_trace_stat *st) { return st->nframes ? st->nframes : 1; }

/* ==== the tree of frames ================================================ */

#define NO_NODE UINT32_MAX

/* One box of the flame graph. Invariants: bytes == the sum of the rows
 * whose stack passes through the node; children's bytes sum to at most
 * the parent's (the rest ends at the parent); offset is the node's left
 * edge in bytes from the root's, set by layout(). */
typedef struct node {
    const rc_frame *frame; /* NULL for the root, "all" */
    size_t bytes;
    size_t offset;
    uint32_t parent, child, next; /* first child, next sibling; NO_NODE */
    unsigned depth;                /* root 0 */
} node;

/* nodes[0] is the root. table: open addressing on (parent, frame), a node
 * index + 1 or 0 for empty, at most half full. */
typedef struct tree {
    node *nodes;
    size_t n, cap;
    uint32_t *table;
    size_t mask;
    unsigned max_depth;
} tree;

static uint64_t hash_str(uint64_t h, const char *s) {
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return (h ^ 0xff) * 0x100000001b3ull;
}

static uint64_t hash_frame(uint32_t parent, const rc_frame *f) {
    uint64_t h = 0xcbf29ce484222325ull ^ parent;
    h = hash_str(h, f->function);
    h = hash_str(h, f->file);
    return (h ^ f->line) * 0x100000001b3ull;
}

static bool same_frame(const rc_frame *a, const rc_frame *b) {
    return a == b || (a->line == b->line && strcmp(a->function, b->function) == 0 && strcmp(a->file, b->file) == 0);
}

static bool tree_init(tree *t) {
    *t = (tree){0};
    t->cap = 64;
    t->mask = 127;
    t->nodes = rc_malloc(t->cap * sizeof *t->nodes);
    t->table = rc_calloc(t->mask + 1, sizeof *t->table);
    if (!t->nodes || !t->table) return false;
    t->nodes[0] = (node){.parent = NO_NODE, .child = NO_NODE, .next = NO_NODE};
    t->n = 1;
    return true;
}

static void tree_free(tree *t) {
    rc_free(t->nodes);
    rc_free(t->table);
}

static bool tree_grow_table(tree *t) {
    size_t mask = t->mask * 2 + 1;
    uint32_t *table = rc_calloc(mask + 1, sizeof *table);
    if (!table) return false;
    for (size_t k = 1; k < t->n; k++) {
        size_t i = hash_frame(t->nodes[k].parent, t->nodes[k].frame) & mask;
        while (table[i]) i = (i + 1) & mask;
        table[i] = (uint32_t)k + 1;
    }
    rc_free(t->table);
    t->table = table;
    t->mask = mask;
    return true;
}

/* The child of parent for frame f, made when missing; NO_NODE when out of
 * memory. */
static uint32_t tree_child(tree *t, uint32_t parent, const rc_frame *f) {
    size_t i = hash_frame(parent, f) & t->mask;
    for (; t->table[i]; i = (i + 1) & t->mask) {
        node *x = &t->nodes[t->table[i] - 1];
        if (x->parent == parent && same_frame(x->frame, f)) return t->table[i] - 1;
    }
    if (t->n == t->cap) {
        node *nodes = rc_realloc(t->nodes, 2 * t->cap * sizeof *nodes);
        if (!nodes) return NO_NODE;
        t->nodes = nodes;
        t->cap *= 2;
    }
    if (t->n >= UINT32_MAX - 1) return NO_NODE;
    uint32_t k = (uint32_t)t->n++;
    node *p = &t->nodes[parent];
    t->nodes[k] = (node){.frame = f, .parent = parent, .child = NO_NODE, .next = p->child, .depth = p->depth + 1};
    p->child = k;
    if (t->nodes[k].depth > t->max_depth) t->max_depth = t->nodes[k].depth;
    t->table[i] = k + 1;
    if (2 * (t->n - 1) > t->mask && !tree_grow_table(t)) return NO_NODE;
    return k;
}

/* Adds a row's stack (outermost first) with its bytes. */
static bool tree_add(tree *t, const rc_trace_stat *st) {
    uint32_t cur = 0;
    t->nodes[0].bytes += st->size;
    for (unsigned k = stat_depth(st); k-- > 0;) {
        cur = tree_child(t, cur, stat_frame(st, k));
        if (cur == NO_NODE) return false;
        t->nodes[cur].bytes += st->size;
    }
    return true;
}

static const node *sort_base; /* the nodes cmp_children compares (qsort has no context argument) */

static int cmp_children(const void *pa, const void *pb) {
    const node *a = &sort_base[*(const uint32_t *)pa], *b = &sort_base[*(const uint32_t *)pb];
    if (a->bytes != b->bytes) return a->bytes > b->bytes ? -1 : 1;
    int c = strcmp(a->frame->function, b->frame->function);
    if (c) return c;
    c = strcmp(a->frame->file, b->frame->file);
    return c ? c : (a->frame->line > b->frame->line) - (a->frame->line < b->frame->line);
}

/* Orders every node's children by size and sets the offsets. */
static bool layout(tree *t) {
    uint32_t *kids = rc_malloc(t->n * sizeof *kids);
    if (!kids) return false;
    sort_base = t->nodes;
    /* parents come before their children in nodes[], so one pass in order
     * sees each parent's offset set before it places the children */
    for (size_t p = 0; p < t->n; p++) {
        size_t m = 0;
        for (uint32_t c = t->nodes[p].child; c != NO_NODE; c = t->nodes[c].next) kids[m++] = c;
        qsort(kids, m, sizeof *kids, cmp_children);
        size_t at = t->nodes[p].offset;
        t->nodes[p].child = m ? kids[0] : NO_NODE;
        for (size_t j = 0; j < m; j++) {
            t->nodes[kids[j]].offset = at;
            at += t->nodes[kids[j]].bytes;
            t->nodes[kids[j]].next = j + 1 < m ? kids[j + 1] : NO_NODE;
        }
    }
    rc_free(kids);
    return true;
}

/* The rows by traceback of the snapshot of a (loaded and filtered), or -1
 * after printing the error; *snap is set when the snapshot loaded. */
static int64_t load_rows(const cli_args *a, rc_snapshot **snap, rc_trace_stat **rows) {
    *snap = cli_load(a, a->pos[0]);
    if (!*snap) return -1;
    int64_t n = rc_snapshot_statistics(*snap, RC_BY_TRACEBACK, rows);
    if (n < 0) cli_fail(a->cmd, "%s", rc_last_error());
    return n;
}

/* The last part of a path, for titles. */
static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

/* ==== flamegraph ======================================================== */

enum { SVG_WIDTH = 1200, SVG_PAD = 10, SVG_FRAME = 16, SVG_TOP = 40, SVG_BOTTOM = 30 };

/* flamegraph.pl's "hot" palette, chosen by the function's name. */
static void frame_colour(const rc_frame *f, unsigned rgb[3]) {
    uint64_t h = hash_str(0xcbf29ce484222325ull, f->function);
    h ^= h >> 29;
    rgb[0] = 205 + (unsigned)(h % 51);
    rgb[1] = (unsigned)((h >> 8) % 231);
    rgb[2] = (unsigned)((h >> 16) % 56);
}

/* The label of a box w pixels wide: the function name, cut to fit. */
static void put_label(FILE *out, const char *function, double w) {
    long fit = (long)((w - 6) / 7);
    size_t len = strlen(function);
    if (fit >= (long)len) {
        cli_put(out, function, CLI_ESC_XML);
        return;
    }
    if (fit < 3) return;
    char buf[256];
    size_t keep = (size_t)fit - 2 < sizeof buf - 3 ? (size_t)fit - 2 : sizeof buf - 3;
    while (keep > 0 && ((unsigned char)function[keep] & 0xC0) == 0x80) keep--; /* whole UTF-8 characters */
    memcpy(buf, function, keep);
    memcpy(buf + keep, "..", 3);
    cli_put(out, buf, CLI_ESC_XML);
}

static void put_box(FILE *out, const node *x, size_t total, unsigned height) {
    double scale = total ? (double)(SVG_WIDTH - 2 * SVG_PAD) / (double)total : 0;
    double px = SVG_PAD + (double)x->offset * scale, w = total ? (double)x->bytes * scale : SVG_WIDTH - 2 * SVG_PAD;
    double y = height - SVG_BOTTOM - (double)(x->depth + 1) * SVG_FRAME;
    const char *function = x->frame ? x->frame->function : "all";
    unsigned rgb[3] = {190, 190, 190};
    if (x->frame) frame_colour(x->frame, rgb);
    fprintf(out, "<g class=\"f\" data-o=\"%zu\" data-b=\"%zu\" data-d=\"%u\" data-n=\"", x->offset, x->bytes, x->depth);
    cli_put(out, function, CLI_ESC_XML);
    fputs("\"><title>", out);
    if (x->frame) cli_put_frame_name(out, x->frame, CLI_ESC_XML);
    else fputs("all", out);
    fprintf(out, "&#10;%zu bytes, %.2f%%</title>", x->bytes, total ? 100.0 * (double)x->bytes / (double)total : 100.0);
    fprintf(out, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" rx=\"2\" fill=\"rgb(%u,%u,%u)\"/>", px, y, w,
            SVG_FRAME - 1, rgb[0], rgb[1], rgb[2]);
    fprintf(out, "<text x=\"%.2f\" y=\"%.1f\">", px + 3, y + 11.5);
    put_label(out, function, w);
    fputs("</text></g>\n", out);
}

/* Node k's box, then its subtree's, left to right: a box follows its
 * parent. The depth is at most RC_TRACE_MAX_FRAMES + 1. */
static void put_subtree(FILE *out, const tree *t, uint32_t k, size_t total, unsigned height) {
    put_box(out, &t->nodes[k], total, height);
    for (uint32_t c = t->nodes[k].child; c != NO_NODE; c = t->nodes[c].next) put_subtree(out, t, c, total, height);
}

/* The script: zoom on click, search on Ctrl-F, details on hover. No
 * "]]>" may appear in it (it sits in a CDATA section). */
static const char flame_script[] =
    "(function () {\n"
    "  var W = 1200, PAD = 10, cs = document.currentScript;\n"
    "  var svg = (cs && cs.closest('svg')) || document.querySelector('svg[data-idp]') || document.documentElement;\n"
    "  var P = svg.getAttribute('data-idp') || '';\n"
    "  function byId(id) { return document.getElementById(P + id); }\n"
    "  var info = [].slice.call(svg.querySelectorAll('g.f')).map(function (g) {\n"
    "    var r = g.querySelector('rect'), title = g.querySelector('title').textContent;\n"
    "    return {g: g, r: r, t: g.querySelector('text'), o: +g.getAttribute('data-o'), b: +g.getAttribute('data-b'),\n"
    "            d: +g.getAttribute('data-d'), n: g.getAttribute('data-n'), fill: r.getAttribute('fill'),\n"
    "            key: title.split('\\n')[0], title: title.replace('\\n', ' \\u2014 ')};\n"
    "  });\n"
    "  var root = info[0], details = byId('details');\n"
    "  var matched = byId('matched'), reset = byId('reset');\n"
    "  var last = '';\n"
    "  function label(f, w) {\n"
    "    var n = Math.floor((w - 6) / 7);\n"
    "    if (n >= f.n.length) return f.n;\n"
    "    return n < 3 ? '' : f.n.slice(0, n - 2) + '..';\n"
    "  }\n"
    "  function zoom(z) {\n"
    "    var scale = (W - 2 * PAD) / (z.b || 1);\n"
    "    info.forEach(function (f) {\n"
    "      var x, w;\n"
    "      if (f.d >= z.d && f.o >= z.o && f.o + f.b <= z.o + z.b) {\n"
    "        x = PAD + (f.o - z.o) * scale; w = f.b * scale;\n"
    "      }\n"
    "      else if (f.d < z.d && f.o <= z.o && f.o + f.b >= z.o + z.b) { x = PAD; w = W - 2 * PAD; }\n"
    "      else { f.g.style.display = 'none'; return; }\n"
    "      if (z === root && root.b === 0) w = W - 2 * PAD;\n"
    "      f.g.style.display = '';\n"
    "      f.g.style.opacity = f.d < z.d ? 0.6 : 1;\n"
    "      f.r.setAttribute('x', x.toFixed(2));\n"
    "      f.r.setAttribute('width', w.toFixed(2));\n"
    "      f.t.setAttribute('x', (x + 3).toFixed(2));\n"
    "      f.t.textContent = label(f, w);\n"
    "    });\n"
    "    reset.style.opacity = z === root ? 0.3 : 1;\n"
    "  }\n"
    "  function search(term) {\n"
    "    if (term === null) return;\n"
    "    last = term;\n"
    "    var re = null, sum = 0, end = 0, ranges = [];\n"
    "    if (term !== '') { try { re = new RegExp(term, 'i'); } catch (e) { re = null; } }\n"
    "    info.forEach(function (f) {\n"
    "      var hit = term !== '' && f !== root &&\n"
    "                (re ? re.test(f.key) : f.key.toLowerCase().indexOf(term.toLowerCase()) >= 0);\n"
    "      f.r.setAttribute('fill', hit ? 'rgb(230,0,230)' : f.fill);\n"
    "      if (hit) ranges.push([f.o, f.o + f.b]);\n"
    "    });\n"
    "    ranges.sort(function (a, b) { return a[0] - b[0]; });\n"
    "    ranges.forEach(function (r) {\n"
    "      if (r[1] <= end) return;\n"
    "      sum += r[1] - Math.max(r[0], end);\n"
    "      end = r[1];\n"
    "    });\n"
    "    matched.textContent = term === '' ? '' :\n"
    "      'Matched: ' + (root.b ? 100 * sum / root.b : 0).toFixed(1) + '% of bytes';\n"
    "  }\n"
    "  function ask() {\n"
    "    search(window.prompt('Search frames (regular expression, any case):', last));\n"
    "  }\n"
    "  info.forEach(function (f) {\n"
    "    f.g.addEventListener('click', function () { zoom(f); });\n"
    "    f.g.addEventListener('mouseover', function () { details.textContent = f.title; });\n"
    "    f.g.addEventListener('mouseout', function () { details.textContent = ''; });\n"
    "  });\n"
    "  reset.addEventListener('click', function () { zoom(root); });\n"
    "  byId('search').addEventListener('click', ask);\n"
    "  window.addEventListener('keydown', function (e) {\n"
    "    if (!P && (e.ctrlKey || e.metaKey) && (e.key === 'f' || e.key === 'F')) { e.preventDefault(); ask(); }\n"
    "    else if (e.key === 'Escape') { search(''); zoom(root); }\n"
    "  });\n"
    "})();\n";

/* The prefix of the ids in an embedded graph (the script reads it from
 * the root's data-idp). */
#define EMBED_IDP "flame-"

static void write_svg(FILE *out, const tree *t, const char *name, size_t count, bool embedded) {
    size_t total = t->nodes[0].bytes;
    unsigned height = SVG_TOP + (t->max_depth + 1) * SVG_FRAME + SVG_BOTTOM;
    const char *idp = embedded ? EMBED_IDP : "";
    char size[48];
    cli_format_size(size, sizeof size, (double)total, false);
    if (!embedded) fputs("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n", out);
    fprintf(out,
            "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%u\" "
            "viewBox=\"0 0 %d %u\"%s>\n",
            SVG_WIDTH, height, SVG_WIDTH, height, embedded ? " class=\"flame\" data-idp=\"" EMBED_IDP "\"" : "");
    /* in a page, a <style> applies to the whole page: scope it to this graph */
    static const char *const rules[] = {
        "text { font-family: monospace; font-size: 12px; fill: #000; }",
        "text.heading { font-size: 17px; }",
        "text.button { cursor: pointer; fill: #225; }",
        "g.f { cursor: pointer; }",
        "g.f text { pointer-events: none; }",
        "g.f:hover rect { stroke: #000; stroke-width: 0.5; }",
    };
    fputs("<style>\n", out);
    for (size_t k = 0; k < sizeof rules / sizeof rules[0]; k++)
        fprintf(out, "%s%s\n", embedded ? "svg.flame " : "", rules[k]);
    fputs("</style>\n", out);
    fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%u\" fill=\"#fafaf5\"/>\n", SVG_WIDTH, height);
    fprintf(out, "<text class=\"heading\" x=\"%d\" y=\"24\" text-anchor=\"middle\">Memory by stack: ", SVG_WIDTH / 2);
    cli_put(out, name, CLI_ESC_XML);
    fprintf(out, " (%s in %zu %s)</text>\n", size, count, count == 1 ? "block" : "blocks");
    fprintf(out, "<text id=\"%sreset\" class=\"button\" x=\"%d\" y=\"24\" opacity=\"0.3\">Reset zoom</text>\n", idp,
            SVG_PAD);
    fprintf(out, "<text id=\"%ssearch\" class=\"button\" x=\"%d\" y=\"24\" text-anchor=\"end\">%s</text>\n", idp,
            SVG_WIDTH - SVG_PAD, embedded ? "Search" : "Search (Ctrl-F)");
    fprintf(out, "<text id=\"%sdetails\" x=\"%d\" y=\"%u\"></text>\n", idp, SVG_PAD, height - 10);
    fprintf(out, "<text id=\"%smatched\" x=\"%d\" y=\"%u\" text-anchor=\"end\"></text>\n", idp, SVG_WIDTH - SVG_PAD,
            height - 10);
    /* the root first (the script takes it as the whole) */
    put_subtree(out, t, 0, total, height);
    fputs("<script type=\"text/ecmascript\"><![CDATA[\n", out);
    fputs(flame_script, out);
    fputs("]]></script>\n</svg>\n", out);
}

/* The tree of n rows, laid out; false when out of memory (t is then
 * freed). */
static bool build_tree(tree *t, const rc_trace_stat *rows, int64_t n) {
    if (!tree_init(t)) {
        tree_free(t);
        return false;
    }
    bool built = true;
    for (int64_t i = 0; built && i < n; i++) built = tree_add(t, &rows[i]);
    if (built) built = layout(t);
    if (!built) tree_free(t);
    return built;
}

bool cli_write_flamegraph(FILE *out, const rc_snapshot *snap, const char *name, bool embedded) {
    rc_trace_stat *rows = NULL;
    int64_t n = rc_snapshot_statistics(snap, RC_BY_TRACEBACK, &rows);
    tree t;
    bool built = n >= 0 && build_tree(&t, rows, n);
    if (built) {
        size_t count;
        rc_snapshot_totals(snap, NULL, &count, NULL);
        write_svg(out, &t, name, count, embedded);
        tree_free(&t);
    }
    rc_free(rows);
    return built;
}

int cli_flamegraph(int argc, char **argv) {
    cli_args a;
    if (!cli_parse(argc, argv, "flamegraph", CLI_OPT_OUTPUT | CLI_OPT_FILTER, 1, &a)) return CLI_BAD_USE;
    rc_snapshot *snap;
    rc_trace_stat *rows = NULL;
    int64_t n = load_rows(&a, &snap, &rows);
    int status = CLI_BAD_USE;
    tree t;
    bool built = n >= 0 && build_tree(&t, rows, n);
    if (n >= 0 && !built) cli_fail(a.cmd, "out of memory");
    FILE *out = built ? cli_open_output(&a) : NULL;
    if (out) {
        size_t count;
        rc_snapshot_totals(snap, NULL, &count, NULL);
        write_svg(out, &t, base_name(a.pos[0]), count, false);
        status = cli_close_output(&a, out);
    }
    if (built) tree_free(&t);
    rc_free(rows);
    rc_snapshot_free(snap);
    return status;
}

/* ==== export ============================================================ */

static void write_collapsed(FILE *out, const rc_trace_stat *rows, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        for (unsigned k = stat_depth(&rows[i]); k-- > 0;) {
            cli_put_frame_name(out, stat_frame(&rows[i], k), CLI_ESC_COLLAPSED);
            if (k) fputc(';', out);
        }
        fprintf(out, " %zu\n", rows[i].size);
    }
}

static void json_string(FILE *out, const char *s) {
    fputc('"', out);
    cli_put(out, s, CLI_ESC_JSON);
    fputc('"', out);
}

/* Speedscope's file format: the distinct frames (numbered by a tree whose
 * root's children are the frames), then one sample per row. */
static bool write_speedscope(FILE *out, const rc_trace_stat *rows, int64_t n, const char *name, size_t total) {
    tree frames;
    bool ok = tree_init(&frames);
    for (int64_t i = 0; ok && i < n; i++)
        for (unsigned k = 0; ok && k < stat_depth(&rows[i]); k++)
            ok = tree_child(&frames, 0, stat_frame(&rows[i], k)) != NO_NODE;
    if (!ok) {
        tree_free(&frames);
        return false;
    }
    fputs("{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\n\"shared\":{\"frames\":[", out);
    for (size_t k = 1; k < frames.n; k++) {
        const rc_frame *f = frames.nodes[k].frame;
        fputs(k > 1 ? ",\n" : "\n", out);
        fputs("{\"name\":", out);
        json_string(out, f->function);
        if (strcmp(f->file, "?") != 0) {
            fputs(",\"file\":", out);
            json_string(out, f->file);
        }
        if (f->line) fprintf(out, ",\"line\":%u", f->line);
        fputc('}', out);
    }
    fputs("]},\n\"profiles\":[{\"type\":\"sampled\",\"name\":", out);
    json_string(out, name);
    fprintf(out, ",\"unit\":\"bytes\",\"startValue\":0,\"endValue\":%zu,\n\"samples\":[", total);
    for (int64_t i = 0; i < n; i++) {
        fputs(i ? ",\n[" : "\n[", out);
        for (unsigned k = stat_depth(&rows[i]); k-- > 0;) {
            uint32_t id = tree_child(&frames, 0, stat_frame(&rows[i], k)); /* found: made above */
            fprintf(out, "%u%s", id - 1, k ? "," : "");
        }
        fputc(']', out);
    }
    fputs("],\n\"weights\":[", out);
    for (int64_t i = 0; i < n; i++) fprintf(out, "%s%zu", i ? "," : "", rows[i].size);
    fputs("]}],\n\"name\":", out);
    json_string(out, name);
    fprintf(out, ",\"activeProfileIndex\":0,\"exporter\":\"reclaim %s\"}\n", rc_version());
    tree_free(&frames);
    return true;
}

int cli_export(int argc, char **argv) {
    cli_args a;
    if (!cli_parse(argc, argv, "export", CLI_OPT_OUTPUT | CLI_OPT_FORMAT | CLI_OPT_FILTER, 1, &a)) return CLI_BAD_USE;
    rc_snapshot *snap;
    rc_trace_stat *rows = NULL;
    int64_t n = load_rows(&a, &snap, &rows);
    int status = CLI_BAD_USE;
    FILE *out = n >= 0 ? cli_open_output(&a) : NULL;
    if (out) {
        bool ok = true;
        if (a.format == CLI_FORMAT_COLLAPSED) {
            write_collapsed(out, rows, n);
        } else {
            size_t total;
            rc_snapshot_totals(snap, &total, NULL, NULL);
            ok = write_speedscope(out, rows, n, base_name(a.pos[0]), total);
        }
        status = cli_close_output(&a, out);
        if (!ok) status = cli_fail(a.cmd, "out of memory");
    }
    rc_free(rows);
    rc_snapshot_free(snap);
    return status;
}
