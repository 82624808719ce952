/*
 * heap.c — `reclaim heap`: reading heap dumps written by rc_heap_dump
 * (docs/heapdump.md).
 *
 *   reclaim heap top FILE [-n N] [--sort count|bytes|retained]
 *       types by count (or bytes, or retained bytes), with all three
 *   reclaim heap growth OLD NEW [-n N]
 *       types whose count grew, as objgraph's show_growth prints them
 *   reclaim heap diff OLD NEW [-n N]
 *       every type whose count or bytes changed, biggest byte change first
 *   reclaim heap why FILE ADDR
 *       the shortest chain of references from a root to the object at ADDR
 *   reclaim heap dot FILE ADDR [-o OUT.dot] [--depth N]
 *       Graphviz DOT of the objects that refer to ADDR, N levels back
 *   reclaim heap export FILE -o OUT.heapsnapshot
 *       the dump as a Chrome DevTools heap snapshot
 *
 * -n N keeps the first N rows (10 by default, 0 for all); -o - writes to
 * standard output. Every error is one line "reclaim heap CMD: problem" on
 * stderr and exit status 2 (tools/cli.h). The analyses are the library's
 * (rc_heapdump_*); this file formats them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#include "heap.h"

/* {==== options ==== */

typedef struct heap_args {
    const char *cmd; /* "heap top" ... */
    const char *pos[2];
    int npos;
    size_t limit;
    size_t depth;
    const char *output;
    const char *sort;
} heap_args;

enum { OPT_N = 1, OPT_O = 2, OPT_DEPTH = 4, OPT_SORT = 8 };

static bool parse_count(const heap_args *a, const char *opt, const char *v, size_t *out) {
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (!*v || *end || errno || v[0] == '-') {
        cli_fail(a->cmd, "%s takes a number, not '%s'", opt, v);
        return false;
    }
    *out = (size_t)n;
    return true;
}

/* Fills *a from argv; false after printing the error. */
static bool parse(int argc, char **argv, unsigned allowed, int npos, const char *want, heap_args *a) {
    a->limit = 10;
    a->depth = 5;
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        if (w[0] != '-' || strcmp(w, "-") == 0) {
            if (a->npos == npos) {
                cli_fail(a->cmd, "unexpected argument '%s'", w);
                return false;
            }
            a->pos[a->npos++] = w;
            continue;
        }
        static const struct {
            const char *name;
            unsigned bit;
        } opts[] = {{"-n", OPT_N}, {"-o", OPT_O}, {"--depth", OPT_DEPTH}, {"--sort", OPT_SORT}};
        unsigned bit = 0;
        const char *value = NULL, *name = w;
        for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
            size_t len = strlen(opts[k].name);
            if (strncmp(w, opts[k].name, len) != 0) continue;
            if (w[len] == '\0') bit = opts[k].bit;
            else if (w[len] == '=' && w[1] == '-') bit = opts[k].bit, value = w + len + 1;
            if (bit) {
                name = opts[k].name;
                break;
            }
        }
        if (!bit || !(allowed & bit)) {
            cli_fail(a->cmd, "unknown option '%s'", w);
            return false;
        }
        if (!value) {
            if (i + 1 >= argc) {
                cli_fail(a->cmd, "%s needs a value", name);
                return false;
            }
            value = argv[++i];
        }
        if (bit == OPT_N && !parse_count(a, name, value, &a->limit)) return false;
        if (bit == OPT_DEPTH && !parse_count(a, name, value, &a->depth)) return false;
        if (bit == OPT_O) a->output = value;
        if (bit == OPT_SORT) {
            if (strcmp(value, "count") && strcmp(value, "bytes") && strcmp(value, "retained")) {
                cli_fail(a->cmd, "--sort takes count, bytes or retained, not '%s'", value);
                return false;
            }
            a->sort = value;
        }
    }
    if (a->npos < npos) {
        cli_fail(a->cmd, "needs %s", want);
        return false;
    }
    return true;
}

static rc_heapdump *load(const heap_args *a, const char *path) {
    rc_heapdump *d = rc_heapdump_load(path);
    if (!d) cli_fail(a->cmd, "%s", cli_error_text());
    return d;
}

/* The object at the address text (hex, with or without 0x); -1 after
 * printing the error. */
static int64_t find_address(const heap_args *a, const rc_heapdump *d, const char *text) {
    const char *s = strncmp(text, "0x", 2) == 0 || strncmp(text, "0X", 2) == 0 ? text + 2 : text;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 16);
    if (!*s || *end || errno || *s == '-' || *s == '+' || *s == ' ') {
        cli_fail(a->cmd, "bad address '%s' (hexadecimal, like 0x7f12a0)", text);
        return -1;
    }
    int64_t i = rc_heapdump_find(d, v);
    if (i < 0) cli_fail(a->cmd, "no object at 0x%llx in '%s'", v, a->pos[0]);
    return i;
}

static FILE *open_output(const heap_args *a, cli_args *ca) {
    *ca = (cli_args){.cmd = a->cmd, .output = a->output ? a->output : "-"};
    return cli_open_output(ca);
}

static const char *plural(uint64_t n, const char *one, const char *many) { return n == 1 ? one : many; }
/* }==== */

/* {==== top, growth, diff ==== */

static const char *sort_key;

static uint64_t key_of(const rc_heapdump_type_stat *r) {
    return strcmp(sort_key, "bytes") == 0 ? r->bytes : strcmp(sort_key, "retained") == 0 ? r->retained : r->count;
}

static int cmp_by_key(const void *pa, const void *pb) {
    const rc_heapdump_type_stat *a = pa, *b = pb;
    uint64_t x = key_of(a), y = key_of(b);
    if (x != y) return x > y ? -1 : 1;
    return strcmp(a->type, b->type);
}

static int heap_top(int argc, char **argv) {
    heap_args a = {.cmd = "heap top"};
    if (!parse(argc, argv, OPT_N | OPT_SORT, 1, "a heap dump (FILE)", &a)) return CLI_BAD_USE;
    rc_heapdump *d = load(&a, a.pos[0]);
    if (!d) return CLI_BAD_USE;
    rc_heapdump_type_stat *rows;
    int64_t n = rc_heapdump_type_stats(d, &rows);
    if (n < 0) {
        rc_heapdump_free(d);
        return cli_fail(a.cmd, "%s", cli_error_text());
    }
    if (a.sort) {
        sort_key = a.sort;
        qsort(rows, (size_t)n, sizeof *rows, cmp_by_key);
    }
    printf("%12s %14s %14s  %s\n", "count", "bytes", "retained", "type");
    size_t shown = a.limit && a.limit < (size_t)n ? a.limit : (size_t)n;
    for (size_t i = 0; i < shown; i++) {
        printf("%12" PRIu64 " %14" PRIu64 " %14" PRIu64 "  ", rows[i].count, rows[i].bytes, rows[i].retained);
        cli_put(stdout, rows[i].type, CLI_ESC_TEXT);
        fputc('\n', stdout);
    }
    if (shown < (size_t)n) {
        uint64_t c = 0, b = 0;
        for (size_t i = shown; i < (size_t)n; i++) c += rows[i].count, b += rows[i].bytes;
        printf("%12" PRIu64 " %14" PRIu64 " %14s  (%zu other %s)\n", c, b, "", (size_t)n - shown,
               plural((uint64_t)n - shown, "type", "types"));
    }
    uint64_t bytes, refs, roots = 0, unreachable = 0;
    rc_heapdump_totals(d, &bytes, &refs, NULL);
    for (size_t i = 0; i < rc_heapdump_count(d); i++) {
        rc_heapdump_object o;
        rc_heapdump_object_at(d, i, &o);
        roots += !!(o.flags & RC_HEAPDUMP_ROOT);
        unreachable += !!(o.flags & RC_HEAPDUMP_UNREACHABLE);
    }
    printf("Total: %zu %s, %" PRIu64 " bytes, %" PRIu64 " %s, %" PRIu64 " %s, %" PRIu64 " unreachable\n",
           rc_heapdump_count(d), plural(rc_heapdump_count(d), "object", "objects"), bytes, refs,
           plural(refs, "reference", "references"), roots, plural(roots, "root", "roots"), unreachable);
    rc_free(rows);
    rc_heapdump_free(d);
    return 0;
}

/* Loads OLD and NEW and compares them; -1 after printing the error. */
static int64_t compare(const heap_args *a, rc_heapdump **old, rc_heapdump **now, rc_heapdump_type_stat **rows) {
    *old = load(a, a->pos[0]);
    *now = *old ? load(a, a->pos[1]) : NULL;
    int64_t n = *now ? rc_heapdump_compare(*now, *old, rows) : -1;
    if (*now && n < 0) cli_fail(a->cmd, "%s", cli_error_text());
    if (n < 0) {
        rc_heapdump_free(*old);
        rc_heapdump_free(*now);
    }
    return n;
}

static int cmp_growth(const void *pa, const void *pb) {
    const rc_heapdump_type_stat *a = pa, *b = pb;
    if (a->count_diff != b->count_diff) return a->count_diff > b->count_diff ? -1 : 1;
    return strcmp(a->type, b->type);
}

/* objgraph.show_growth: "%-Ns %9d %+9d", the name padded to the longest. */
static int heap_growth(int argc, char **argv) {
    heap_args a = {.cmd = "heap growth"};
    if (!parse(argc, argv, OPT_N, 2, "two heap dumps (OLD NEW)", &a)) return CLI_BAD_USE;
    rc_heapdump *old, *now;
    rc_heapdump_type_stat *rows;
    int64_t n = compare(&a, &old, &now, &rows);
    if (n < 0) return CLI_BAD_USE;
    size_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (rows[i].count_diff > 0) rows[m++] = rows[i];
    qsort(rows, m, sizeof *rows, cmp_growth);
    if (a.limit && a.limit < m) m = a.limit;
    int width = 0;
    for (size_t i = 0; i < m; i++)
        if ((int)strlen(rows[i].type) > width) width = (int)strlen(rows[i].type);
    for (size_t i = 0; i < m; i++)
        printf("%-*s %9" PRIu64 " %+9" PRId64 "\n", width, rows[i].type, rows[i].count, rows[i].count_diff);
    rc_free(rows);
    rc_heapdump_free(old);
    rc_heapdump_free(now);
    return 0;
}

static int heap_diff(int argc, char **argv) {
    heap_args a = {.cmd = "heap diff"};
    if (!parse(argc, argv, OPT_N, 2, "two heap dumps (OLD NEW)", &a)) return CLI_BAD_USE;
    rc_heapdump *old, *now;
    rc_heapdump_type_stat *rows;
    int64_t n = compare(&a, &old, &now, &rows);
    if (n < 0) return CLI_BAD_USE;
    printf("%12s %10s %14s %12s  %s\n", "count", "(change)", "bytes", "(change)", "type");
    size_t shown = a.limit && a.limit < (size_t)n ? a.limit : (size_t)n;
    for (size_t i = 0; i < shown; i++) {
        printf("%12" PRIu64 " %+10" PRId64 " %14" PRIu64 " %+12" PRId64 "  ", rows[i].count, rows[i].count_diff,
               rows[i].bytes, rows[i].bytes_diff);
        cli_put(stdout, rows[i].type, CLI_ESC_TEXT);
        fputc('\n', stdout);
    }
    if (shown < (size_t)n) printf("(%zu other changed %s)\n", (size_t)n - shown, plural((uint64_t)n - shown, "type", "types"));
    uint64_t ob, nb;
    rc_heapdump_totals(old, &ob, NULL, NULL);
    rc_heapdump_totals(now, &nb, NULL, NULL);
    size_t oc = rc_heapdump_count(old), nc = rc_heapdump_count(now);
    printf("Total: %zu objects (%+" PRId64 "), %" PRIu64 " bytes (%+" PRId64 ")\n", nc, (int64_t)nc - (int64_t)oc,
           nb, (int64_t)nb - (int64_t)ob);
    rc_free(rows);
    rc_heapdump_free(old);
    rc_heapdump_free(now);
    return 0;
}
/* }==== */

/* {==== why, dot ==== */

/* "node 0x55d1c0 size=48 refcount=1 at file.c:42" */
static void put_label(FILE *out, const rc_heapdump_object *o, cli_escape esc, const char *sep) {
    cli_put(out, o->type, esc);
    fprintf(out, "%s0x%" PRIx64 "%ssize=%" PRIu64 " refcount=%" PRIu64, sep, o->address, sep, o->size,
            o->refcount);
    if (o->site) {
        fputs(sep, out);
        fputs("at ", out);
        cli_put(out, o->site->file, esc);
        fprintf(out, ":%u", o->site->line);
    }
}

static int heap_why(int argc, char **argv) {
    heap_args a = {.cmd = "heap why"};
    if (!parse(argc, argv, 0, 2, "a heap dump and an address (FILE ADDR)", &a)) return CLI_BAD_USE;
    rc_heapdump *d = load(&a, a.pos[0]);
    if (!d) return CLI_BAD_USE;
    int64_t target = find_address(&a, d, a.pos[1]);
    uint32_t *chain = NULL;
    int64_t n = target < 0 ? -1 : rc_heapdump_chain(d, (size_t)target, &chain);
    if (target >= 0 && n < 0) cli_fail(a.cmd, "%s", cli_error_text());
    if (n < 0) {
        rc_heapdump_free(d);
        return CLI_BAD_USE;
    }
    for (int64_t k = 0; k < n; k++) {
        rc_heapdump_object o;
        rc_heapdump_object_at(d, chain[k], &o);
        fputs(k == 0 ? "" : "  -> ", stdout);
        put_label(stdout, &o, CLI_ESC_TEXT, " ");
        if (k == 0 && (o.flags & RC_HEAPDUMP_ROOT))
            printf(" (root: %" PRIu64 " %s from outside the heap%s)", o.external,
                   plural(o.external, "reference", "references"),
                   (o.flags & RC_HEAPDUMP_IMMORTAL) ? ", immortal" : "");
        else if (k == 0)
            fputs(" (unreachable: no root reaches it; kept by a cycle)", stdout);
        fputc('\n', stdout);
    }
    rc_free(chain);
    rc_heapdump_free(d);
    return 0;
}

/* The referrers of ADDR, breadth first, --depth levels back (at most
 * DOT_MAX_NODES objects), as objgraph's show_backrefs draws them: the
 * target filled red, roots green, unreachable objects grey. */
#define DOT_MAX_NODES 1000

static int heap_dot(int argc, char **argv) {
    heap_args a = {.cmd = "heap dot"};
    if (!parse(argc, argv, OPT_O | OPT_DEPTH, 2, "a heap dump and an address (FILE ADDR)", &a)) return CLI_BAD_USE;
    rc_heapdump *d = load(&a, a.pos[0]);
    if (!d) return CLI_BAD_USE;
    int64_t target = find_address(&a, d, a.pos[1]);
    if (target < 0) {
        rc_heapdump_free(d);
        return CLI_BAD_USE;
    }
    size_t n = rc_heapdump_count(d);
    uint32_t *level = rc_malloc((n ? n : 1) * sizeof *level), *queue = rc_malloc((n ? n : 1) * sizeof *queue);
    if (!level || !queue) {
        rc_free(level);
        rc_free(queue);
        rc_heapdump_free(d);
        return cli_fail(a.cmd, "out of memory");
    }
    for (size_t i = 0; i < n; i++) level[i] = UINT32_MAX;
    size_t head = 0, tail = 0;
    level[target] = 0;
    queue[tail++] = (uint32_t)target;
    bool cut = false;
    while (head < tail) {
        uint32_t v = queue[head++];
        if (level[v] >= a.depth) continue;
        const uint32_t *from;
        int64_t nf = rc_heapdump_referrers(d, v, &from);
        for (int64_t k = 0; k < nf; k++) {
            if (level[from[k]] != UINT32_MAX) continue;
            if (tail == DOT_MAX_NODES) {
                cut = true;
                break;
            }
            level[from[k]] = level[v] + 1;
            queue[tail++] = from[k];
        }
    }
    cli_args ca;
    FILE *out = open_output(&a, &ca);
    if (!out) {
        rc_free(level);
        rc_free(queue);
        rc_heapdump_free(d);
        return CLI_BAD_USE;
    }
    fputs("digraph backrefs {\n  node [shape=box, style=filled, fillcolor=white, fontname=\"monospace\"];\n", out);
    if (cut) fprintf(out, "  // cut at %d objects\n", DOT_MAX_NODES);
    for (size_t q = 0; q < tail; q++) {
        rc_heapdump_object o;
        rc_heapdump_object_at(d, queue[q], &o);
        fprintf(out, "  o%" PRIu32 " [label=\"", queue[q]);
        put_label(out, &o, CLI_ESC_JSON, "\\n");
        const char *color = q == 0 ? "#ff9999" : (o.flags & RC_HEAPDUMP_ROOT) ? "#99dd99"
                                             : (o.flags & RC_HEAPDUMP_UNREACHABLE) ? "#dddddd" : NULL;
        fputc('"', out);
        if (color) fprintf(out, ", fillcolor=\"%s\"", color);
        fputs("];\n", out);
    }
    /* the references between drawn objects, each once */
    for (size_t q = 0; q < tail; q++) {
        rc_heapdump_object o;
        rc_heapdump_object_at(d, queue[q], &o);
        for (size_t k = 0; k < o.nrefs; k++) {
            uint32_t t = o.refs[k];
            bool dup = false;
            for (size_t j = 0; j < k && !dup; j++) dup = o.refs[j] == t;
            if (!dup && level[t] != UINT32_MAX && level[t] + 1 == level[queue[q]])
                fprintf(out, "  o%" PRIu32 " -> o%" PRIu32 ";\n", queue[q], t);
        }
    }
    fputs("}\n", out);
    rc_free(level);
    rc_free(queue);
    rc_heapdump_free(d);
    return cli_close_output(&ca, out);
}
/* }==== */

/* {==== export: a Chrome DevTools heap snapshot ==== */

/* The V8 heap snapshot format: flat arrays of nodes and edges described by
 * snapshot.meta, and a string table. Node 0 is a synthetic root with an
 * "element" edge to every root and a "shortcut" edge to every unreachable
 * object the dominator tree attached; each object is an "object" node
 * named by its type, with an "element" edge per reference (its position
 * in traverse order). */
enum { NODE_FIELDS = 7, EDGE_FIELDS = 3 };
enum { NT_OBJECT = 3, NT_SYNTHETIC = 9 };
enum { ET_ELEMENT = 1, ET_SHORTCUT = 5 };
enum { S_EMPTY, S_ROOT, S_UNREACHABLE, S_TYPES };

static int heap_export(int argc, char **argv) {
    heap_args a = {.cmd = "heap export"};
    if (!parse(argc, argv, OPT_O, 1, "a heap dump (FILE)", &a)) return CLI_BAD_USE;
    if (!a.output) return cli_fail(a.cmd, "-o OUT.heapsnapshot is required");
    rc_heapdump *d = load(&a, a.pos[0]);
    if (!d) return CLI_BAD_USE;
    if (rc_heapdump_dominators(d) != 0) {
        rc_heapdump_free(d);
        return cli_fail(a.cmd, "%s", cli_error_text());
    }
    size_t n = rc_heapdump_count(d);
    uint64_t refs;
    rc_heapdump_totals(d, NULL, &refs, NULL);
    /* the root's edges: roots, then the attached unreachable objects */
    size_t root_edges = 0;
    for (size_t i = 0; i < n; i++) {
        rc_heapdump_object o;
        rc_heapdump_object_at(d, i, &o);
        if ((o.flags & RC_HEAPDUMP_ROOT) || ((o.flags & RC_HEAPDUMP_UNREACHABLE) && rc_heapdump_idom(d, i) == -1))
            root_edges++;
    }
    cli_args ca;
    FILE *out = open_output(&a, &ca);
    if (!out) {
        rc_heapdump_free(d);
        return CLI_BAD_USE;
    }
    fputs("{\"snapshot\":{\"meta\":{"
          "\"node_fields\":[\"type\",\"name\",\"id\",\"self_size\",\"edge_count\",\"trace_node_id\",\"detachedness\"],"
          "\"node_types\":[[\"hidden\",\"array\",\"string\",\"object\",\"code\",\"closure\",\"regexp\",\"number\","
          "\"native\",\"synthetic\",\"concatenated string\",\"sliced string\",\"symbol\",\"bigint\",\"object shape\"],"
          "\"string\",\"number\",\"number\",\"number\",\"number\",\"number\"],"
          "\"edge_fields\":[\"type\",\"name_or_index\",\"to_node\"],"
          "\"edge_types\":[[\"context\",\"element\",\"property\",\"internal\",\"hidden\",\"shortcut\",\"weak\"],"
          "\"string_or_number\",\"node\"],"
          "\"trace_function_info_fields\":[\"function_id\",\"name\",\"script_name\",\"script_id\",\"line\",\"column\"],"
          "\"trace_node_fields\":[\"id\",\"function_info_index\",\"count\",\"size\",\"children\"],"
          "\"sample_fields\":[\"timestamp_us\",\"last_assigned_id\"],"
          "\"location_fields\":[\"object_index\",\"script_id\",\"line\",\"column\"]},",
          out);
    fprintf(out, "\"node_count\":%zu,\"edge_count\":%" PRIu64 ",\"trace_function_count\":0},\n", n + 1,
            refs + root_edges);
    /* nodes */
    fprintf(out, "\"nodes\":[%d,%d,1,0,%zu,0,0", NT_SYNTHETIC, S_ROOT, root_edges);
    for (size_t i = 0; i < n; i++) {
        rc_heapdump_object o;
        rc_heapdump_object_at(d, i, &o);
        fprintf(out, ",\n%d,%u,%zu,%" PRIu64 ",%zu,0,0", NT_OBJECT, S_TYPES + o.type_index, 2 * i + 3, o.size,
                o.nrefs);
    }
    /* edges */
    fputs("],\n\"edges\":[", out);
    bool first = true;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        rc_heapdump_object o;
        rc_heapdump_object_at(d, i, &o);
        bool root = o.flags & RC_HEAPDUMP_ROOT;
        if (!root && !((o.flags & RC_HEAPDUMP_UNREACHABLE) && rc_heapdump_idom(d, i) == -1)) continue;
        fprintf(out, "%s%d,%zu,%zu", first ? "" : ",\n", root ? ET_ELEMENT : ET_SHORTCUT,
                root ? k++ : (size_t)S_UNREACHABLE, (i + 1) * NODE_FIELDS);
        first = false;
    }
    for (size_t i = 0; i < n; i++) {
        rc_heapdump_object o;
        rc_heapdump_object_at(d, i, &o);
        for (size_t r = 0; r < o.nrefs; r++) {
            fprintf(out, "%s%d,%zu,%zu", first ? "" : ",\n", ET_ELEMENT, r, ((size_t)o.refs[r] + 1) * NODE_FIELDS);
            first = false;
        }
    }
    fputs("],\n\"trace_function_infos\":[],\"trace_tree\":[],\"samples\":[],\"locations\":[],\n"
          "\"strings\":[\"\",\"(root)\",\"(unreachable)\"",
          out);
    for (size_t t = 0; t < rc_heapdump_type_count(d); t++) {
        fputs(",\n\"", out);
        cli_put(out, rc_heapdump_type_name(d, t), CLI_ESC_JSON);
        fputc('"', out);
    }
    fputs("]}\n", out);
    rc_heapdump_free(d);
    return cli_close_output(&ca, out);
}
/* }==== */

int cli_heap(int argc, char **argv) {
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        {"top", heap_top}, {"growth", heap_growth}, {"diff", heap_diff},
        {"why", heap_why}, {"dot", heap_dot},       {"export", heap_export},
    };
    if (argc < 1) return cli_fail("heap", "no subcommand given (top, growth, diff, why, dot, export)");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(argv[0], cmds[i].name) == 0) return cmds[i].fn(argc - 1, argv + 1);
    return cli_fail("heap", "unknown subcommand '%s' (top, growth, diff, why, dot, export)", argv[0]);
}
