/*
 * snapshot.c — snapshots of the traced blocks (tracemalloc.Snapshot):
 * taking one, statistics grouped by line, file, function or traceback,
 * comparing two, filtering by file, and the snapshot file format.
 *
 * A snapshot is compact from the start: it keeps one row per distinct
 * traceback (its frames, the size and count of the live blocks allocated
 * there), never one per block, so a snapshot of a million blocks from a
 * hundred places holds a hundred rows. Taking one reads the tracer's
 * tables in one consistent moment (_rc_trace_walk locks them), folds the
 * traces into rows by traceback id, and only then, with the tracer's locks
 * released, resolves each distinct frame: a call site gives its file,
 * function and line directly; a return address goes to the symbolizer
 * (prof_symbols.h). All strings are copied into the snapshot's own string
 * table and interned there, so a frame is three words, equal frames are
 * equal pointers, and a snapshot outlives the tracer, the program's
 * libraries and the process (rc_snapshot_dump / rc_snapshot_load).
 *
 *   rc_snapshot
 *     strings  interned text, one block of NUL-terminated strings
 *     frames   distinct (file, function, line), pointing into strings
 *     rows     per traceback: size, count, and its frames as indices
 *              into frames (innermost first)
 *
 * Statistics group rows by a key made of frame indices (the innermost
 * frame's (file, line), its file, its (file, function), or the whole
 * sequence) through a hash table, then sort. Comparing two snapshots
 * matches groups by content (the two string tables differ), with the
 * same grouping code.
 *
 * The file format (version 1, text, documented in docs/profiling.md):
 *   reclaim-snapshot 1
 *   traced CURRENT PEAK
 *   strings N        then N lines "s TEXT" (TEXT escaped: \\ \n \t)
 *   frames N         then N lines "f FILE_INDEX FUNCTION_INDEX LINE"
 *   rows N           then N lines "r SIZE COUNT NFRAMES FRAME_INDEX..."
 *   end
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal/prof.h"
#include "internal/prof_symbols.h"
#include "internal/runtime.h"

typedef struct snap_row {
    size_t size, count;
    uint32_t first, n; /* frame indices at idx[first .. first + n) */
} snap_row;

struct rc_snapshot {
    char *strings; /* NUL-terminated strings back to back */
    size_t strings_len, strings_cap;
    rc_frame *frames;
    size_t nframes, frames_cap;
    uint32_t *idx; /* the rows' frame indices */
    size_t nidx, idx_cap;
    snap_row *rows;
    size_t nrows, rows_cap;
    size_t total_size, total_count, traced_current, traced_peak;
    /* interning: string offsets by hash, frame indices by hash */
    uint32_t *str_table, *frame_table;
    size_t str_table_cap, frame_table_cap;
    size_t nstrings;
};

/* {==== growable arrays and interning ==== */

static bool reserve(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return true;
    size_t cap2 = *cap ? *cap : 64;
    while (cap2 < need) cap2 *= 2;
    void *q = rc_realloc(*p, cap2 * elem);
    if (!q) return false;
    *p = q;
    *cap = cap2;
    return true;
}

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Offsets are stored +1 in the table (0: empty). Strings move when the
 * buffer grows, so frames hold offsets until snap_finish turns them into
 * pointers. */
static bool str_table_grow(rc_snapshot *s) {
    size_t cap = s->str_table_cap ? s->str_table_cap * 2 : 256;
    uint32_t *t = rc_calloc(cap, sizeof *t);
    if (!t) return false;
    for (size_t i = 0; i < s->str_table_cap; i++) {
        uint32_t off = s->str_table[i];
        if (!off) continue;
        size_t j = hash_str(s->strings + off - 1) & (cap - 1);
        while (t[j]) j = (j + 1) & (cap - 1);
        t[j] = off;
    }
    rc_free(s->str_table);
    s->str_table = t;
    s->str_table_cap = cap;
    return true;
}

/* The offset of text in the string table (added if new); (size_t)-1 when
 * out of memory. */
static size_t intern_str(rc_snapshot *s, const char *text) {
    if ((s->nstrings + 1) * 2 > s->str_table_cap && !str_table_grow(s)) return (size_t)-1;
    size_t mask = s->str_table_cap - 1, i = hash_str(text) & mask;
    for (; s->str_table[i]; i = (i + 1) & mask)
        if (strcmp(s->strings + s->str_table[i] - 1, text) == 0) return s->str_table[i] - 1;
    size_t len = strlen(text) + 1;
    if (s->strings_len + len >= UINT32_MAX ||
        !reserve((void **)&s->strings, &s->strings_cap, s->strings_len + len, 1))
        return (size_t)-1;
    size_t off = s->strings_len;
    memcpy(s->strings + off, text, len);
    s->strings_len += len;
    s->str_table[i] = (uint32_t)(off + 1);
    s->nstrings++;
    return off;
}

/* While building, a frame's file and function hold string offsets cast to
 * pointers; snap_finish makes them real pointers. */
#define OFF(p) ((size_t)(uintptr_t)(p))

static uint64_t hash_frame(size_t file, size_t function, unsigned line) {
    return (file * 0x9e3779b97f4a7c15ull) ^ (function * 0xc2b2ae3d27d4eb4full) ^ line;
}

static bool frame_table_grow(rc_snapshot *s) {
    size_t cap = s->frame_table_cap ? s->frame_table_cap * 2 : 256;
    uint32_t *t = rc_calloc(cap, sizeof *t);
    if (!t) return false;
    for (size_t k = 0; k < s->nframes; k++) {
        rc_frame *f = &s->frames[k];
        size_t j = hash_frame(OFF(f->file), OFF(f->function), f->line) & (cap - 1);
        while (t[j]) j = (j + 1) & (cap - 1);
        t[j] = (uint32_t)(k + 1);
    }
    rc_free(s->frame_table);
    s->frame_table = t;
    s->frame_table_cap = cap;
    return true;
}

/* The index of the frame (file, function, line), added if new; -1 when out
 * of memory. */
static int64_t intern_frame(rc_snapshot *s, const char *file, const char *function, unsigned line) {
    size_t fo = intern_str(s, file), fn = intern_str(s, function);
    if (fo == (size_t)-1 || fn == (size_t)-1) return -1;
    if ((s->nframes + 1) * 2 > s->frame_table_cap && !frame_table_grow(s)) return -1;
    size_t mask = s->frame_table_cap - 1, i = hash_frame(fo, fn, line) & mask;
    for (; s->frame_table[i]; i = (i + 1) & mask) {
        rc_frame *f = &s->frames[s->frame_table[i] - 1];
        if (OFF(f->file) == fo && OFF(f->function) == fn && f->line == line) return s->frame_table[i] - 1;
    }
    if (!reserve((void **)&s->frames, &s->frames_cap, s->nframes + 1, sizeof *s->frames)) return -1;
    s->frames[s->nframes] = (rc_frame){(const char *)(uintptr_t)fo, (const char *)(uintptr_t)fn, line};
    s->frame_table[i] = (uint32_t)(s->nframes + 1);
    return (int64_t)s->nframes++;
}

/* Turn the frames' offsets into pointers; drop the interning tables. */
static void snap_finish(rc_snapshot *s) {
    for (size_t k = 0; k < s->nframes; k++) {
        s->frames[k].file = s->strings + OFF(s->frames[k].file);
        s->frames[k].function = s->strings + OFF(s->frames[k].function);
    }
    rc_free(s->str_table);
    rc_free(s->frame_table);
    s->str_table = s->frame_table = NULL;
    s->str_table_cap = s->frame_table_cap = 0;
}

static rc_snapshot *snap_new(void) {
    rc_snapshot *s = rc_calloc(1, sizeof *s);
    if (!s) _rc_set_error("rc_snapshot: out of memory");
    return s;
}

void rc_snapshot_free(rc_snapshot *s) {
    if (!s) return;
    rc_free(s->strings);
    rc_free(s->frames);
    rc_free(s->idx);
    rc_free(s->rows);
    rc_free(s->str_table);
    rc_free(s->frame_table);
    rc_free(s);
}
/* }==== */

/* {==== taking a snapshot ==== */

/* The walk's fold: rows by traceback id (a hash table of row indices), the
 * raw frames of each row kept until they are resolved. */
typedef struct take_ctx {
    rc_snapshot *s;
    uint32_t *by_stack; /* row index + 1 by stack id hash */
    uint32_t *stack_of; /* the stack id of each row */
    size_t table_cap, stack_cap;
    rc_tframe *raw; /* raw frames, parallel to s->idx */
    size_t raw_cap;
    bool failed;
} take_ctx;

static bool take_grow(take_ctx *c) {
    size_t cap = c->table_cap ? c->table_cap * 2 : 1024;
    uint32_t *t = rc_calloc(cap, sizeof *t);
    if (!t) return false;
    for (size_t r = 0; r < c->s->nrows; r++) {
        size_t j = (c->stack_of[r] * 0x9e3779b9u) & (cap - 1);
        while (t[j]) j = (j + 1) & (cap - 1);
        t[j] = (uint32_t)(r + 1);
    }
    rc_free(c->by_stack);
    c->by_stack = t;
    c->table_cap = cap;
    return true;
}

static void take_visit(size_t size, size_t count, const rc_tframe *frames, unsigned n, uint32_t stack, void *arg) {
    take_ctx *c = arg;
    rc_snapshot *s = c->s;
    if (c->failed) return;
    s->total_size += size;
    s->total_count += count;
    if ((s->nrows + 1) * 2 > c->table_cap && !take_grow(c)) goto fail;
    size_t mask = c->table_cap - 1, i = (stack * 0x9e3779b9u) & mask;
    for (; c->by_stack[i]; i = (i + 1) & mask) {
        size_t r = c->by_stack[i] - 1;
        if (c->stack_of[r] == stack) {
            s->rows[r].size += size;
            s->rows[r].count += count;
            return;
        }
    }
    if (!reserve((void **)&s->rows, &s->rows_cap, s->nrows + 1, sizeof *s->rows) ||
        !reserve((void **)&c->stack_of, &c->stack_cap, s->nrows + 1, sizeof *c->stack_of) ||
        !reserve((void **)&c->raw, &c->raw_cap, s->nidx + n, sizeof *c->raw) ||
        !reserve((void **)&s->idx, &s->idx_cap, s->nidx + n, sizeof *s->idx))
        goto fail;
    memcpy(c->raw + s->nidx, frames, n * sizeof *frames);
    s->rows[s->nrows] = (snap_row){size, count, (uint32_t)s->nidx, n};
    c->stack_of[s->nrows] = stack;
    c->by_stack[i] = (uint32_t)(s->nrows + 1);
    s->nrows++;
    s->nidx += n;
    return;
fail:
    c->failed = true;
}

/* Resolve one raw frame into the snapshot's frame table. */
static int64_t resolve(rc_snapshot *s, rc_tframe f) {
    if (f & RC_TFRAME_SITE) {
        const rc_site *site = (const rc_site *)(f & ~RC_TFRAME_SITE);
        return intern_frame(s, site->file ? site->file : "?", site->function ? site->function : "?", site->line);
    }
    const char *function = NULL, *file = NULL;
    unsigned line = 0;
    if (_rc_symbolize(f, &function, &file, &line) && function)
        return intern_frame(s, file ? file : "?", function, line);
    /* no symbol (a stripped library's internal function): name the module
     * and the offset in it, which still says whose code allocated */
    char hex[48];
    Dl_info info;
    if (dladdr((void *)f, &info) && info.dli_fname && info.dli_fname[0]) {
        snprintf(hex, sizeof hex, "+0x%" PRIxPTR, f - (uintptr_t)info.dli_fbase);
        return intern_frame(s, info.dli_fname, hex, 0);
    }
    snprintf(hex, sizeof hex, "0x%" PRIxPTR, f);
    return intern_frame(s, "?", hex, 0);
}

rc_snapshot *rc_snapshot_take(void) {
    _rc_trace_suspend();
    rc_snapshot *s = snap_new();
    take_ctx c = {.s = s};
    int walked = s ? _rc_trace_walk(take_visit, &c, &s->traced_current, &s->traced_peak) : -1;
    bool ok = walked == 1;
    if (s && walked == 0) _rc_set_error("rc_snapshot_take: not tracing (call rc_trace_start first)");
    if (s && walked < 0) _rc_set_error("rc_snapshot_take: out of memory");
    if (ok && c.failed) {
        _rc_set_error("rc_snapshot_take: out of memory");
        ok = false;
    }
    /* resolve every raw frame, the same address once (interning makes the
     * second lookup cheap, and the symbolizer caches) */
    for (size_t k = 0; ok && k < s->nidx; k++) {
        int64_t fi = resolve(s, c.raw[k]);
        if (fi < 0) {
            _rc_set_error("rc_snapshot_take: out of memory");
            ok = false;
        } else {
            s->idx[k] = (uint32_t)fi;
        }
    }
    rc_free(c.by_stack);
    rc_free(c.stack_of);
    rc_free(c.raw);
    if (s) snap_finish(s);
    if (!ok) {
        rc_snapshot_free(s);
        s = NULL;
    }
    _rc_trace_resume();
    return s;
}

void rc_snapshot_totals(const rc_snapshot *s, size_t *size, size_t *count, size_t *traced_peak) {
    if (size) *size = s ? s->total_size : 0;
    if (count) *count = s ? s->total_count : 0;
    if (traced_peak) *traced_peak = s ? s->traced_peak : 0;
}
/* }==== */

/* {==== statistics ==== */

/* A group's key: a sequence of (file, function, line) compared by content
 * (file only for RC_BY_FILE; file and line for RC_BY_LINE...). */
typedef struct group {
    const rc_frame *frames;     /* the first row's innermost frame */
    const rc_snapshot *snap;    /* the first row found for the group: its */
    const snap_row *row;        /* frames are row_frame(snap, row, k) */
    unsigned n;                 /* frames in the key */
    rc_trace_key key;
    uint64_t hash;
    size_t size, count;
    size_t old_size, old_count;
    bool in_new;
} group;

static const rc_frame *row_frame(const rc_snapshot *s, const snap_row *r, unsigned k) {
    return &s->frames[s->idx[r->first + k]];
}

static uint64_t hash_key_frame(const rc_frame *f, rc_trace_key key) {
    uint64_t h = hash_str(f->file);
    if (key != RC_BY_FILE && key != RC_BY_LINE) h ^= hash_str(f->function) * 31;
    if (key != RC_BY_FILE && key != RC_BY_FUNCTION) h ^= (uint64_t)f->line * 0x9e3779b97f4a7c15ull;
    return h;
}

static bool same_key_frame(const rc_frame *a, const rc_frame *b, rc_trace_key key) {
    if (strcmp(a->file, b->file) != 0) return false;
    if (key != RC_BY_FILE && key != RC_BY_LINE && strcmp(a->function, b->function) != 0) return false;
    if (key != RC_BY_FILE && key != RC_BY_FUNCTION && a->line != b->line) return false;
    return true;
}

typedef struct group_set {
    group *groups;
    size_t n, cap;
    uint32_t *table;
    size_t table_cap;
} group_set;

static bool gs_grow(group_set *g) {
    size_t cap = g->table_cap ? g->table_cap * 2 : 256;
    uint32_t *t = rc_calloc(cap, sizeof *t);
    if (!t) return false;
    for (size_t k = 0; k < g->n; k++) {
        size_t j = g->groups[k].hash & (cap - 1);
        while (t[j]) j = (j + 1) & (cap - 1);
        t[j] = (uint32_t)(k + 1);
    }
    rc_free(g->table);
    g->table = t;
    g->table_cap = cap;
    return true;
}

/* Add a row's figures to its group (made if new). old: the figures count
 * as the old snapshot's. */
static bool gs_add(group_set *g, const rc_snapshot *s, const snap_row *r, rc_trace_key key, bool old) {
    unsigned n = key == RC_BY_TRACEBACK ? r->n : (r->n ? 1 : 0);
    uint64_t h = n;
    for (unsigned k = 0; k < n; k++) h = h * 1000003 ^ hash_key_frame(row_frame(s, r, k), key);
    if ((g->n + 1) * 2 > g->table_cap && !gs_grow(g)) return false;
    size_t mask = g->table_cap - 1, i = h & mask;
    for (; g->table[i]; i = (i + 1) & mask) {
        group *x = &g->groups[g->table[i] - 1];
        if (x->hash != h || x->n != n) continue;
        unsigned k = 0;
        while (k < n && same_key_frame(row_frame(x->snap, x->row, k), row_frame(s, r, k), key)) k++;
        if (k < n) continue;
        if (old) {
            x->old_size += r->size;
            x->old_count += r->count;
        } else {
            x->size += r->size;
            x->count += r->count;
            x->in_new = true;
        }
        return true;
    }
    if (!reserve((void **)&g->groups, &g->cap, g->n + 1, sizeof *g->groups)) return false;
    g->groups[g->n] =
        (group){.frames = n ? row_frame(s, r, 0) : NULL, .snap = s, .row = r, .n = n, .key = key, .hash = h};
    group *x = &g->groups[g->n];
    if (old) {
        x->old_size = r->size;
        x->old_count = r->count;
    } else {
        x->size = r->size;
        x->count = r->count;
        x->in_new = true;
    }
    g->table[i] = (uint32_t)(g->n + 1);
    g->n++;
    return true;
}

/* The frames of a group as rows show them: the whole traceback, or one
 * frame reduced to the key (line 0 and function "" where they are not part
 * of it). */
static void group_frame(const group *x, rc_frame *out) {
    *out = x->frames[0];
    if (x->key == RC_BY_FILE || x->key == RC_BY_LINE) out->function = x->key == RC_BY_LINE ? x->frames[0].function : "";
    if (x->key == RC_BY_FILE) out->line = 0;
    if (x->key == RC_BY_FUNCTION) out->line = 0;
}

static int cmp_frames(const group *a, const group *b) {
    unsigned n = a->n < b->n ? a->n : b->n;
    for (unsigned k = 0; k < n; k++) {
        const rc_frame *fa = row_frame(a->snap, a->row, k), *fb = row_frame(b->snap, b->row, k);
        int c = strcmp(fa->file, fb->file);
        if (c) return c;
        if (fa->line != fb->line) return fa->line < fb->line ? -1 : 1;
        c = strcmp(fa->function, fb->function);
        if (c) return c;
    }
    return a->n < b->n ? -1 : a->n > b->n;
}

static int cmp_stats(const void *pa, const void *pb) {
    const group *a = pa, *b = pb;
    if (a->size != b->size) return a->size > b->size ? -1 : 1;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    return cmp_frames(a, b);
}

static uint64_t absdiff(size_t x, size_t y) { return x > y ? x - y : y - x; }

static int cmp_diffs(const void *pa, const void *pb) {
    const group *a = pa, *b = pb;
    uint64_t da = absdiff(a->size, a->old_size), db = absdiff(b->size, b->old_size);
    if (da != db) return da > db ? -1 : 1;
    if (a->size != b->size) return a->size > b->size ? -1 : 1;
    da = absdiff(a->count, a->old_count);
    db = absdiff(b->count, b->old_count);
    if (da != db) return da > db ? -1 : 1;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    return cmp_frames(a, b);
}

/* The rows of a group set, with their frames (a row's frames are not next
 * to each other in the snapshot's frame table) stored after the rows in
 * the same block. */
static int64_t gs_rows(group_set *g, bool diff, rc_trace_stat **out) {
    if (g->n) qsort(g->groups, g->n, sizeof *g->groups, diff ? cmp_diffs : cmp_stats);
    size_t nframes = 0;
    for (size_t k = 0; k < g->n; k++) nframes += g->groups[k].n;
    size_t bytes = g->n * sizeof(rc_trace_stat) + nframes * sizeof(rc_frame);
    rc_trace_stat *rows = rc_malloc(bytes ? bytes : 1);
    if (!rows) return -1;
    rc_frame *keys = (rc_frame *)(rows + g->n);
    for (size_t k = 0; k < g->n; k++) {
        group *x = &g->groups[k];
        rc_frame *mine = keys;
        if (x->key == RC_BY_TRACEBACK) {
            for (unsigned j = 0; j < x->n; j++) keys[j] = *row_frame(x->snap, x->row, j);
        } else if (x->n) {
            group_frame(x, keys);
        }
        keys += x->n;
        rows[k] = (rc_trace_stat){
            .frames = x->n ? mine : NULL,
            .nframes = x->n,
            .size = x->size,
            .count = x->count,
            .size_diff = (int64_t)x->size - (int64_t)x->old_size,
            .count_diff = (int64_t)x->count - (int64_t)x->old_count,
        };
    }
    *out = rows;
    return (int64_t)g->n;
}

static bool check_key(const char *fn, rc_trace_key key, rc_trace_stat **out) {
    if (!out) {
        _rc_set_error("%s: out is NULL", fn);
        return false;
    }
    if ((unsigned)key > RC_BY_TRACEBACK) {
        _rc_set_error("%s: unknown key %d", fn, (int)key);
        return false;
    }
    return true;
}

int64_t rc_snapshot_statistics(const rc_snapshot *s, rc_trace_key key, rc_trace_stat **out) {
    if (!check_key("rc_snapshot_statistics", key, out)) return -1;
    if (!s) {
        _rc_set_error("rc_snapshot_statistics: snapshot is NULL");
        return -1;
    }
    _rc_trace_suspend();
    group_set g = {0};
    int64_t n = 0;
    for (size_t r = 0; r < s->nrows && n >= 0; r++)
        if (!gs_add(&g, s, &s->rows[r], key, false)) n = -1;
    if (n >= 0) n = gs_rows(&g, false, out);
    if (n < 0) _rc_set_error("rc_snapshot_statistics: out of memory");
    rc_free(g.groups);
    rc_free(g.table);
    _rc_trace_resume();
    return n;
}

int64_t rc_snapshot_compare(const rc_snapshot *new_snap, const rc_snapshot *old_snap, rc_trace_key key,
                            rc_trace_stat **out) {
    if (!check_key("rc_snapshot_compare", key, out)) return -1;
    if (!new_snap || !old_snap) {
        _rc_set_error("rc_snapshot_compare: snapshot is NULL");
        return -1;
    }
    _rc_trace_suspend();
    group_set g = {0};
    int64_t n = 0;
    for (size_t r = 0; r < new_snap->nrows && n >= 0; r++)
        if (!gs_add(&g, new_snap, &new_snap->rows[r], key, false)) n = -1;
    for (size_t r = 0; r < old_snap->nrows && n >= 0; r++)
        if (!gs_add(&g, old_snap, &old_snap->rows[r], key, true)) n = -1;
    if (n >= 0) n = gs_rows(&g, true, out);
    if (n < 0) _rc_set_error("rc_snapshot_compare: out of memory");
    rc_free(g.groups);
    rc_free(g.table);
    _rc_trace_resume();
    return n;
}
/* }==== */

/* {==== filters ==== */

/* A copy of s keeping the rows keep() accepts. */
rc_snapshot *rc_snapshot_filter(const rc_snapshot *s, const char *pattern, bool include) {
    if (!s || !pattern) {
        _rc_set_error("rc_snapshot_filter: %s is NULL", s ? "pattern" : "snapshot");
        return NULL;
    }
    _rc_trace_suspend();
    rc_snapshot *f = snap_new();
    bool ok = f != NULL;
    if (ok) {
        f->traced_current = s->traced_current;
        f->traced_peak = s->traced_peak;
    }
    for (size_t r = 0; ok && r < s->nrows; r++) {
        const snap_row *row = &s->rows[r];
        bool match = row->n && fnmatch(pattern, row_frame(s, row, 0)->file, 0) == 0;
        if (match != include) continue;
        if (!reserve((void **)&f->rows, &f->rows_cap, f->nrows + 1, sizeof *f->rows) ||
            !reserve((void **)&f->idx, &f->idx_cap, f->nidx + row->n, sizeof *f->idx)) {
            ok = false;
            break;
        }
        for (unsigned k = 0; k < row->n && ok; k++) {
            const rc_frame *fr = row_frame(s, row, k);
            int64_t fi = intern_frame(f, fr->file, fr->function, fr->line);
            if (fi < 0) ok = false;
            else f->idx[f->nidx + k] = (uint32_t)fi;
        }
        f->rows[f->nrows++] = (snap_row){row->size, row->count, (uint32_t)f->nidx, row->n};
        f->nidx += row->n;
        f->total_size += row->size;
        f->total_count += row->count;
    }
    if (f) snap_finish(f);
    if (!ok) {
        _rc_set_error("rc_snapshot_filter: out of memory");
        rc_snapshot_free(f);
        f = NULL;
    }
    _rc_trace_resume();
    return f;
}
/* }==== */

/* {==== the file format ==== */

static void put_escaped(FILE *out, const char *t) {
    for (; *t; t++) {
        if (*t == '\\') fputs("\\\\", out);
        else if (*t == '\n') fputs("\\n", out);
        else if (*t == '\t') fputs("\\t", out);
        else fputc(*t, out);
    }
}

int rc_snapshot_dump(const rc_snapshot *s, const char *path) {
    if (!s || !path) {
        _rc_set_error("rc_snapshot_dump: %s is NULL", s ? "path" : "snapshot");
        return -1;
    }
    _rc_trace_suspend();
    int rc = -1;
    /* written beside path, then renamed over it: a reader (a tool polling
     * for the file, a snapshot written on a signal while the program exits)
     * sees a whole snapshot or none */
    char tmp[4096];
    FILE *out = NULL;
    if (snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid()) >= (int)sizeof tmp) {
        _rc_set_error("rc_snapshot_dump: path '%.64s...' is too long", path);
        goto done;
    }
    out = fopen(tmp, "w");
    if (!out) {
        _rc_set_error("rc_snapshot_dump: cannot open '%s': %s", path, strerror(errno));
        goto done;
    }
    /* strings in the order they sit in the table: a frame refers to them
     * by number */
    size_t nstr = 0;
    for (size_t off = 0; off < s->strings_len; off += strlen(s->strings + off) + 1) nstr++;
    fprintf(out, "reclaim-snapshot 1\ntraced %zu %zu\nstrings %zu\n", s->traced_current, s->traced_peak, nstr);
    for (size_t off = 0; off < s->strings_len; off += strlen(s->strings + off) + 1) {
        fputs("s ", out);
        put_escaped(out, s->strings + off);
        fputc('\n', out);
    }
    /* string numbers: count the strings before each offset (walk once) */
    size_t *num_of = NULL;
    if (s->strings_len) {
        num_of = rc_calloc(s->strings_len, sizeof *num_of);
        if (!num_of) {
            fclose(out);
            unlink(tmp);
            _rc_set_error("rc_snapshot_dump: out of memory");
            goto done;
        }
        size_t k = 0;
        for (size_t off = 0; off < s->strings_len; off += strlen(s->strings + off) + 1) num_of[off] = k++;
    }
    fprintf(out, "frames %zu\n", s->nframes);
    for (size_t k = 0; k < s->nframes; k++)
        fprintf(out, "f %zu %zu %u\n", num_of[s->frames[k].file - s->strings],
                num_of[s->frames[k].function - s->strings], s->frames[k].line);
    rc_free(num_of);
    fprintf(out, "rows %zu\n", s->nrows);
    for (size_t r = 0; r < s->nrows; r++) {
        const snap_row *row = &s->rows[r];
        fprintf(out, "r %zu %zu %u", row->size, row->count, row->n);
        for (unsigned k = 0; k < row->n; k++) fprintf(out, " %u", s->idx[row->first + k]);
        fputc('\n', out);
    }
    fputs("end\n", out);
    if (ferror(out) | (fclose(out) != 0)) {
        _rc_set_error("rc_snapshot_dump: writing '%s' failed: %s", path, strerror(errno));
        unlink(tmp);
        goto done;
    }
    if (rename(tmp, path) != 0) {
        _rc_set_error("rc_snapshot_dump: cannot write '%s': %s", path, strerror(errno));
        unlink(tmp);
        goto done;
    }
    rc = 0;
done:
    _rc_trace_resume();
    return rc;
}

typedef struct reader {
    FILE *in;
    const char *path;
    char *line;
    size_t cap;
    size_t lineno;
} reader;

static bool next_line(reader *r) {
    ssize_t n = getline(&r->line, &r->cap, r->in);
    if (n < 0) return false;
    r->lineno++;
    if (n && r->line[n - 1] == '\n') r->line[n - 1] = '\0';
    return true;
}

static void unescape(char *t) {
    char *w = t;
    for (; *t; t++) {
        if (*t == '\\' && t[1]) {
            t++;
            *w++ = *t == 'n' ? '\n' : *t == 't' ? '\t' : *t;
        } else {
            *w++ = *t;
        }
    }
    *w = '\0';
}

/* Read "WORD N" into *n. */
static bool header(reader *r, const char *word, size_t *n) {
    char fmt[32];
    snprintf(fmt, sizeof fmt, "%s %%zu%%n", word);
    int used = -1;
    return next_line(r) && sscanf(r->line, fmt, n, &used) == 1 && used >= 0 && r->line[used] == '\0';
}

rc_snapshot *rc_snapshot_load(const char *path) {
    if (!path) {
        _rc_set_error("rc_snapshot_load: path is NULL");
        return NULL;
    }
    _rc_trace_suspend();
    reader r = {.path = path};
    rc_snapshot *s = NULL;
    size_t *offs = NULL, nstr = 0, nfr = 0, nrows = 0;
    const char *what = NULL;
    r.in = fopen(path, "r");
    if (!r.in) {
        _rc_set_error("rc_snapshot_load: cannot open '%s': %s", path, strerror(errno));
        goto out;
    }
    s = snap_new();
    if (!s) goto out;
    what = "not a reclaim snapshot (the first line must be 'reclaim-snapshot 1')";
    if (!next_line(&r) || strcmp(r.line, "reclaim-snapshot 1") != 0) goto bad;
    what = "expected 'traced CURRENT PEAK'";
    int used = -1;
    if (!next_line(&r) || sscanf(r.line, "traced %zu %zu%n", &s->traced_current, &s->traced_peak, &used) != 2 ||
        used < 0 || r.line[used])
        goto bad;
    what = "expected 'strings N'";
    if (!header(&r, "strings", &nstr) || nstr > UINT32_MAX) goto bad;
    offs = rc_malloc((nstr ? nstr : 1) * sizeof *offs);
    if (!offs) goto nomem;
    for (size_t k = 0; k < nstr; k++) {
        what = "expected 's TEXT'";
        if (!next_line(&r) || strncmp(r.line, "s ", 2) != 0) goto bad;
        unescape(r.line + 2);
        offs[k] = intern_str(s, r.line + 2);
        if (offs[k] == (size_t)-1) goto nomem;
    }
    what = "expected 'frames N'";
    if (!header(&r, "frames", &nfr) || nfr > UINT32_MAX) goto bad;
    for (size_t k = 0; k < nfr; k++) {
        size_t fi, fn;
        unsigned line;
        what = "expected 'f FILE FUNCTION LINE' with string numbers in range";
        used = -1;
        if (!next_line(&r) || sscanf(r.line, "f %zu %zu %u%n", &fi, &fn, &line, &used) != 3 || used < 0 ||
            r.line[used] || fi >= nstr || fn >= nstr)
            goto bad;
        int64_t x = intern_frame(s, s->strings + offs[fi], s->strings + offs[fn], line);
        if (x < 0) goto nomem;
        what = "a frame listed twice";
        if ((size_t)x != k) goto bad;
    }
    what = "expected 'rows N'";
    if (!header(&r, "rows", &nrows)) goto bad;
    for (size_t k = 0; k < nrows; k++) {
        size_t size, count;
        unsigned n;
        what = "expected 'r SIZE COUNT NFRAMES FRAME...' with frame numbers in range";
        used = -1;
        if (!next_line(&r) || sscanf(r.line, "r %zu %zu %u%n", &size, &count, &n, &used) != 3 || used < 0 ||
            n > RC_TRACE_MAX_FRAMES)
            goto bad;
        if (!reserve((void **)&s->rows, &s->rows_cap, s->nrows + 1, sizeof *s->rows) ||
            !reserve((void **)&s->idx, &s->idx_cap, s->nidx + n, sizeof *s->idx))
            goto nomem;
        const char *p = r.line + used;
        for (unsigned j = 0; j < n; j++) {
            char *end;
            errno = 0;
            unsigned long long fi = strtoull(p, &end, 10);
            if (end == p || *p != ' ' || errno || fi >= nfr) goto bad;
            s->idx[s->nidx + j] = (uint32_t)fi;
            p = end;
        }
        if (*p) goto bad;
        s->rows[s->nrows++] = (snap_row){size, count, (uint32_t)s->nidx, n};
        s->nidx += n;
        s->total_size += size;
        s->total_count += count;
    }
    what = "expected 'end' (the file is truncated)";
    if (!next_line(&r) || strcmp(r.line, "end") != 0) goto bad;
    snap_finish(s);
    goto out;
nomem:
    _rc_set_error("rc_snapshot_load: out of memory reading '%s'", path);
    goto fail;
bad:
    _rc_set_error("rc_snapshot_load: '%s' line %zu: %s", path, r.lineno + (feof(r.in) ? 1 : 0), what);
fail:
    rc_snapshot_free(s);
    s = NULL;
out:
    if (r.in) fclose(r.in);
    free(r.line); /* getline's buffer comes from the C library */
    rc_free(offs);
    _rc_trace_resume();
    return s;
}
/* }==== */
