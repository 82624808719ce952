/*
 * lineprof.c — memory by source line for one function (memory_profiler's
 * @profile): RC_PROFILE_FUNCTION() as the first statement of a function
 * makes the function print, when it returns, a table of the memory
 * allocated and freed by each of its lines. The user guide is
 * docs/mprof.md, section 7.
 *
 * Events. While any profiled function is active in the process, the bit
 * RC_HOOK_LINES of _rc_trace_on is set and the tracer's hooks (trace.c)
 * call line_alloc / line_free for every allocation and free, on the
 * allocating thread, before the tracer's own work. A thread with no
 * profiled function active returns at once (one TLS load).
 *
 * Attribution. Each active profile knows its function's frame address
 * (__builtin_frame_address(0), taken by the macro inside the function).
 * The hook walks the frame-pointer chain up from its own frame: each
 * frame holds the caller's frame pointer and the return address into the
 * caller. When the saved frame pointer of a frame equals a profile's
 * frame address, the return address beside it is a call site inside the
 * profiled function: the call (rc_malloc, or a helper that allocated
 * further down) being executed. So memory allocated in callees lands on
 * the profiled line that called them, as in memory_profiler. One walk
 * serves every active profile of the thread (frames sorted by address,
 * the innermost lowest): nested profiled functions each see the event,
 * the outer one on its line that called the inner one. Every frame
 * pointer is checked before it is read: inside the thread's stack, above
 * the hook's own frame, below the outermost profiled frame, aligned, and
 * growing at every step; anything else ends the walk (a frame without a
 * frame pointer, a signal's alternate stack). A profile the walk did not
 * reach gets the event under its "elsewhere" count, except the innermost,
 * which takes the entry point's return address (right when the function
 * called the allocator directly; checked when the table is made).
 *
 * Data, per thread (one heap block, allocated when the thread's first
 * profile begins, freed when its last one ends):
 *   stack[0..depth)  the active profiles, innermost last. Each holds its
 *                    call sites: an open-addressing table keyed by return
 *                    address (never 0), linear probing, at most 3/4 full,
 *                    each site with its increment (bytes allocated minus
 *                    bytes freed), its occurrences, and the function's
 *                    net bytes and the event number after its last event.
 *   blocks           the blocks allocated while a profile was active on
 *                    the thread, address -> size asked for (open
 *                    addressing, backward-shift deletion, at most 3/4
 *                    full), so that a free takes back exactly what the
 *                    allocation added. A block not in it (allocated
 *                    before, or by another thread) counts rc_usable_size.
 * Invariant: for every profile, net == sum of the increments of its
 * sites + elsewhere's increment.
 *
 * Occurrences count the allocator calls made while a line ran: one per
 * allocation, one per free, and one per rc_realloc: a realloc calls the
 * free hook and then the allocation hook, and the allocation's entry
 * point frame (the frame whose return address is the hook's caller
 * argument) is then among the frames the free's walk read; such an
 * allocation is not counted again (a container function that frees and
 * then allocates, _rc_user_ra being the caller, counts once the same
 * way). memory_profiler counts how often the line ran; a line that
 * allocates once per run gives the same number.
 *
 * Memory usage. rc_heap_get_stats walks every arena: far too slow for a
 * hook. The heap's bytes in use are read once, when the profile begins
 * (the "entry" figure on the RC_PROFILE_FUNCTION line); a line's "Mem
 * usage" is that plus the function's net bytes after the last event of
 * the line. It leaves out what other threads did meanwhile.
 *
 * The table. Only when the function ends are the return addresses turned
 * into file and line (_rc_symbolize, libdw) and grouped by line. A call
 * made from code inlined into the function (rc_decref at -O1) resolves to
 * the inlined function's file and line: the DWARF scopes at the address
 * then give the line of the function that used the inlined code. A site
 * whose line still falls outside the function (a callee built without
 * frame pointers) goes to the "elsewhere" row. The source file
 * (__FILE__, or the file the debug information names) is read to print
 * every line of the function, from its signature (searched for a few
 * lines above the macro) to its closing brace (found by counting braces
 * outside strings and comments), lines without events having blank
 * columns. The table goes through the library's message path
 * (_rc_message: stderr or the user's handler), or is appended to the file
 * named by RECLAIM_PROFILE_OUT.
 *
 * The hooks never allocate through the traced paths: they run with the
 * tracer suspended on their thread (_rc_trace_suspend), so the tables'
 * own blocks are neither traced nor profiled.
 *
 * Limits. A thread that exits (or a process that forks) inside a
 * profiled function leaves its profiles active: the hooks stay on for the
 * process, and the thread's state is not freed. A profile left by
 * longjmp ends at the next begin at or above its frame (its table
 * printed then), or with an enclosing profile's end.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "internal/prof.h"
#include "internal/prof_symbols.h"
#include "internal/runtime.h"

#define MAX_DEPTH 32              /* profiled functions active at once on a thread */
#define MAX_WALK 4096             /* frames walked at most from a hook */
#define PAIR_FRAMES 32            /* frames of a free kept to recognise a realloc's allocation */
#define SCAN_BACK 30              /* lines searched above the macro for the signature */
#define MAX_FUNCTION_LINES 20000  /* lines searched for the closing brace */

/* {==== the per-thread state ==== */

typedef struct site {
    uintptr_t ret;      /* return address into the profiled function; 0: empty slot */
    int64_t increment;  /* bytes allocated minus bytes freed here */
    uint64_t occurrences;
    int64_t net_after;  /* the function's net bytes after this site's last event */
    uint64_t last;      /* the profile's event number of that event */
} site;

typedef struct profile {
    const char *function, *file;
    unsigned line;
    unsigned token;
    uintptr_t frame;    /* the function's frame address; 0: unknown (direct calls only) */
    size_t baseline;    /* the heap's bytes in use at entry */
    int64_t net;        /* net bytes since entry */
    uint64_t events;
    site *sites;        /* cap slots, len used; cap a power of two */
    size_t cap, len;
    int64_t else_increment; /* events the walk could not place in the function */
    uint64_t else_occurrences;
    bool dropped;       /* a site table could not grow: some events are under elsewhere */
} profile;

typedef struct block {
    uintptr_t p;        /* 0: empty */
    size_t size;
} block;

typedef struct lineprof_thread {
    profile stack[MAX_DEPTH];
    unsigned depth;
    unsigned serial;    /* tokens handed out on this thread */
    uintptr_t stack_lo, stack_hi;
    block *blocks;
    size_t blocks_cap, blocks_len;
    /* The frames (frame pointer, return address) the last free's walk
     * read, valid until the next event: an allocation whose entry point's
     * frame is among them comes from the same call (rc_realloc, or a
     * container function freeing and allocating) and is not counted again. */
    struct {
        uintptr_t fp, ret;
    } freed[PAIR_FRAMES];
    unsigned nfreed;
} lineprof_thread;

#define TLS __thread __attribute__((tls_model("initial-exec")))
static TLS lineprof_thread *lt;

/* Profiles active in the whole process; RC_HOOK_LINES is set exactly
 * while it is nonzero (both changed under on_lock). */
static pthread_mutex_t on_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t active;

static inline uint64_t mix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}
/* }==== */

/* {==== the tables (the caller has suspended tracing) ==== */

static bool sites_grow(profile *pr) {
    size_t cap = pr->cap ? pr->cap * 2 : 16;
    site *s = rc_calloc(cap, sizeof *s);
    if (!s) return false;
    for (size_t i = 0; i < pr->cap; i++) {
        if (!pr->sites[i].ret) continue;
        size_t j = mix(pr->sites[i].ret) & (cap - 1);
        while (s[j].ret) j = (j + 1) & (cap - 1);
        s[j] = pr->sites[i];
    }
    rc_free(pr->sites);
    pr->sites = s;
    pr->cap = cap;
    return true;
}

static site *site_of(profile *pr, uintptr_t ret) {
    if (pr->cap) {
        for (size_t i = mix(ret) & (pr->cap - 1); pr->sites[i].ret; i = (i + 1) & (pr->cap - 1))
            if (pr->sites[i].ret == ret) return &pr->sites[i];
    }
    if ((pr->len + 1) * 4 > pr->cap * 3 && !sites_grow(pr)) return NULL;
    size_t i = mix(ret) & (pr->cap - 1);
    while (pr->sites[i].ret) i = (i + 1) & (pr->cap - 1);
    pr->sites[i].ret = ret;
    pr->len++;
    return &pr->sites[i];
}

static void event(profile *pr, uintptr_t ret, int64_t delta, bool counts) {
    pr->net += delta;
    pr->events++;
    site *s = ret ? site_of(pr, ret) : NULL;
    if (!s) {
        if (ret) pr->dropped = true;
        pr->else_increment += delta;
        pr->else_occurrences += counts;
        return;
    }
    s->increment += delta;
    s->occurrences += counts;
    s->net_after = pr->net;
    s->last = pr->events;
}

static bool blocks_grow(lineprof_thread *t) {
    size_t cap = t->blocks_cap ? t->blocks_cap * 2 : 256;
    block *b = rc_calloc(cap, sizeof *b);
    if (!b) return false;
    for (size_t i = 0; i < t->blocks_cap; i++) {
        if (!t->blocks[i].p) continue;
        size_t j = mix(t->blocks[i].p) & (cap - 1);
        while (b[j].p) j = (j + 1) & (cap - 1);
        b[j] = t->blocks[i];
    }
    rc_free(t->blocks);
    t->blocks = b;
    t->blocks_cap = cap;
    return true;
}

static void block_add(lineprof_thread *t, uintptr_t p, size_t size) {
    if ((t->blocks_len + 1) * 4 > t->blocks_cap * 3 && !blocks_grow(t)) return; /* its free counts usable size */
    size_t mask = t->blocks_cap - 1, i = mix(p) & mask;
    while (t->blocks[i].p && t->blocks[i].p != p) i = (i + 1) & mask;
    if (!t->blocks[i].p) t->blocks_len++;
    t->blocks[i] = (block){p, size};
}

/* The size recorded for p, removed from the table; false when absent. */
static bool block_take(lineprof_thread *t, uintptr_t p, size_t *size) {
    if (!t->blocks_len) return false;
    size_t mask = t->blocks_cap - 1, i = mix(p) & mask;
    while (t->blocks[i].p != p) {
        if (!t->blocks[i].p) return false;
        i = (i + 1) & mask;
    }
    *size = t->blocks[i].size;
    /* backward-shift deletion: no tombstones */
    for (size_t j = (i + 1) & mask; t->blocks[j].p; j = (j + 1) & mask) {
        size_t home = mix(t->blocks[j].p) & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            t->blocks[i] = t->blocks[j];
            i = j;
        }
    }
    t->blocks[i].p = 0;
    t->blocks_len--;
    return true;
}
/* }==== */

/* {==== the hooks ==== */

/* Fill rets[k] with the return address into profile k's function, or 0
 * where the walk did not reach it. A free (caller 0) keeps the frames it
 * read in t->freed; an allocation returns true when the frame of its
 * entry point (the one returning to caller) is among the last free's, and
 * so belongs to the same call. */
static RC_NOINLINE bool walk(lineprof_thread *t, uintptr_t *rets, uintptr_t caller) {
    unsigned k = t->depth, nfreed = t->nfreed;
    bool paired = false;
    t->nfreed = 0;
    for (unsigned i = 0; i < k; i++) rets[i] = 0;
    while (k > 0 && !t->stack[k - 1].frame) k--;
    if (!k) return false;
    uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
    uintptr_t top = t->stack[0].frame; /* the outermost profiled frame: the walk ends there */
    for (unsigned i = 0; i < t->depth; i++)
        if (t->stack[i].frame > top) top = t->stack[i].frame;
    if (fp < t->stack_lo || top > t->stack_hi || fp >= top) return false;
    for (unsigned d = 0; d < MAX_WALK && k > 0; d++) {
        if (fp < t->stack_lo || fp + 2 * sizeof(uintptr_t) > top || (fp & 7)) break;
        const uintptr_t *frame = (const uintptr_t *)fp;
        uintptr_t next = frame[0], ret = frame[1];
        if (!caller) {
            if (t->nfreed < PAIR_FRAMES) t->freed[t->nfreed].fp = fp, t->freed[t->nfreed++].ret = ret;
        } else if (ret == caller && !paired) {
            for (unsigned i = 0; i < nfreed; i++)
                if (t->freed[i].fp == fp && t->freed[i].ret == ret) paired = true;
        }
        /* the profiles whose frame is next (found), lies below it (passed
         * over: a broken chain) or is unknown */
        while (k > 0 && t->stack[k - 1].frame <= next) {
            if (t->stack[k - 1].frame == next) rets[k - 1] = ret;
            k--;
        }
        if (next <= fp) break; /* the chain must go up the stack */
        fp = next;
    }
    return paired;
}

static void line_alloc(void *p, size_t size, void *caller) {
    lineprof_thread *t = lt;
    if (!t || !t->depth || !p) return;
    _rc_trace_suspend();
    uintptr_t rets[MAX_DEPTH];
    bool counts = !walk(t, rets, caller ? (uintptr_t)caller : 1); /* not when its free counted already */
    block_add(t, (uintptr_t)p, size);
    unsigned in = t->depth - 1;
    if (!rets[in]) rets[in] = (uintptr_t)caller; /* a direct call, or checked when the table is made */
    for (unsigned k = 0; k < t->depth; k++) event(&t->stack[k], rets[k], (int64_t)size, counts);
    _rc_trace_resume();
}

static void line_free(void *p) {
    lineprof_thread *t = lt;
    if (!t || !t->depth || !p) return;
    _rc_trace_suspend();
    uintptr_t rets[MAX_DEPTH];
    walk(t, rets, 0);
    size_t size;
    if (!block_take(t, (uintptr_t)p, &size)) size = rc_usable_size(p);
    for (unsigned k = 0; k < t->depth; k++) event(&t->stack[k], rets[k], -(int64_t)size, true);
    _rc_trace_resume();
}
/* }==== */

/* A call made from code inlined into the profiled function (rc_decref at
 * -O1, a static inline helper) has, in the line table, the inlined
 * function's file and line: the symbolizer finds the line of the function
 * that used it (_rc_symbolize_inlined_call, prof_symbols.h). */

/* {==== the table ==== */

/* A whole file in one heap block (NUL-terminated), or NULL. */
static char *read_source(const char *path, size_t *len) {
    if (!path || !*path) return NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = rc_malloc((size_t)n + 1)) != NULL) {
        size_t got = fread(buf, 1, (size_t)n, f);
        buf[got] = '\0';
        *len = got;
    }
    fclose(f);
    return buf;
}

/* Pointers to the starts of lines 1..n of text (cut at their newlines). */
static char **split_lines(char *text, size_t len, unsigned *nlines) {
    unsigned n = 1;
    for (size_t i = 0; i < len; i++) n += text[i] == '\n';
    char **lines = rc_malloc((n + 1) * sizeof *lines);
    if (!lines) return NULL;
    unsigned k = 1;
    lines[1] = text;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\n') {
            text[i] = '\0';
            if (k < n) lines[++k] = text + i + 1;
        }
    *nlines = n;
    return lines;
}

/* Does line hold name followed by '(' as a whole word? */
static bool names_function(const char *line, const char *name) {
    size_t n = strlen(name);
    for (const char *s = strstr(line, name); s; s = strstr(s + 1, name)) {
        if (s > line && (s[-1] == '_' || (unsigned)((s[-1] | 32) - 'a') < 26u || (unsigned)(s[-1] - '0') < 10u))
            continue;
        const char *e = s + n;
        while (*e == ' ' || *e == '\t') e++;
        if (*e == '(' || *e == '\0') return true;
    }
    return false;
}

/* The line of the function's closing brace, counting braces from line
 * first outside comments, strings and character constants; 0 if not
 * found. */
static unsigned closing_line(char **lines, unsigned nlines, unsigned first) {
    int depth = 0;
    bool opened = false, in_comment = false;
    for (unsigned l = first; l <= nlines && l < first + MAX_FUNCTION_LINES; l++) {
        for (const char *c = lines[l]; *c; c++) {
            if (in_comment) {
                if (c[0] == '*' && c[1] == '/') in_comment = false, c++;
                continue;
            }
            if (c[0] == '/' && c[1] == '*') {
                in_comment = true;
                c++;
            } else if (c[0] == '/' && c[1] == '/') {
                break;
            } else if (*c == '"' || *c == '\'') {
                char q = *c;
                for (c++; *c && *c != q; c++)
                    if (*c == '\\' && c[1]) c++;
                if (!*c) break;
            } else if (*c == '{') {
                depth++;
                opened = true;
            } else if (*c == '}') {
                if (--depth == 0 && opened) return l;
            }
        }
    }
    return 0;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* A figure as memory_profiler prints it: MiB with 3 decimals, or KiB
 * below 1 MiB. */
static void figure(char *buf, size_t size, double bytes) {
    double mib = bytes / (1024.0 * 1024.0);
    if (mib >= 1.0 || mib <= -1.0) snprintf(buf, size, "%.3f MiB", mib);
    else snprintf(buf, size, "%.3f KiB", bytes / 1024.0);
}

typedef struct out {
    FILE *file; /* RECLAIM_PROFILE_OUT, or NULL: _rc_message */
} out;

static void emit(out *o, const char *fmt, ...) RC_PRINTF(2, 3);
static void emit(out *o, const char *fmt, ...) {
    char buf[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (o->file) fprintf(o->file, "%s\n", buf);
    else _rc_message("%s", buf);
}

static void row(out *o, const char *line, bool has, double mem, int64_t increment, uint64_t occurrences,
                const char *text) {
    char m[32] = "", inc[32] = "", occ[32] = "";
    if (has) {
        figure(m, sizeof m, mem);
        figure(inc, sizeof inc, (double)increment);
        snprintf(occ, sizeof occ, "%llu", (unsigned long long)occurrences);
    }
    emit(o, "%6s %12s %12s  %10s   %s", line, m, inc, occ, text);
}

typedef struct line_sum {
    int64_t increment;
    uint64_t occurrences, last;
    int64_t net_after;
    bool has;
} line_sum;

/* Print pr's table. Tracing is suspended on this thread. */
static void print_table(const profile *pr) {
    out o = {NULL};
    const char *path = _rc_option_path(RC_OPT_PROFILE_OUT);
    if (path && *path) {
        o.file = fopen(path, "a");
        if (!o.file)
            _rc_message("reclaim: RECLAIM_PROFILE_OUT: cannot open '%s'; the table of %s goes to stderr", path,
                        pr->function);
    }
    /* the sites as file and line */
    const char *dwarf_file = NULL;
    unsigned lo = pr->line, hi = pr->line;
    typedef struct resolved {
        const site *s; /* NULL once counted elsewhere */
        uintptr_t ret;
        const char *function, *file;
        unsigned line;
    } resolved;
    resolved *rs = rc_calloc(pr->len + 1, sizeof *rs);
    size_t nrs = 0;
    for (size_t i = 0; rs && i < pr->cap; i++) {
        const site *s = &pr->sites[i];
        if (!s->ret) continue;
        resolved r = {s, s->ret, NULL, NULL, 0};
        _rc_symbolize(s->ret, &r.function, &r.file, &r.line);
        if (r.line && r.file && strcmp(base_name(r.file), base_name(pr->file)) == 0 && !dwarf_file)
            dwarf_file = r.file;
        rs[nrs++] = r;
    }
    /* the source */
    size_t len = 0;
    char *text = read_source(pr->file, &len);
    if (!text) text = read_source(dwarf_file, &len);
    unsigned nlines = 0;
    char **lines = text ? split_lines(text, len, &nlines) : NULL;
    if (lines && pr->line >= 1 && pr->line <= nlines) {
        for (unsigned l = pr->line; l >= 1 && l + SCAN_BACK >= pr->line; l--)
            if (names_function(lines[l], pr->function)) {
                lo = l;
                break;
            }
        unsigned end = closing_line(lines, nlines, lo);
        if (end >= pr->line) hi = end;
    }
    bool bounded = hi > pr->line; /* the closing brace was found */
    /* which sites are lines of the function */
    int64_t else_increment = pr->else_increment;
    uint64_t else_occurrences = pr->else_occurrences;
    size_t nlined = 0;
    for (size_t i = 0; i < nrs; i++) {
        resolved *r = &rs[i];
        bool same_file = r->line && r->file && strcmp(base_name(r->file), base_name(pr->file)) == 0;
        bool mine = same_file && (bounded ? r->line >= lo && r->line <= hi
                                          : r->line >= pr->line && r->function && !strcmp(r->function, pr->function));
        if (!mine && r->line) { /* a call made from code inlined into the function? */
            const char *call_file = NULL;
            unsigned l = _rc_symbolize_inlined_call(r->ret, pr->function, &call_file);
            if (l >= pr->line && (!bounded || l <= hi) &&
                (!call_file || !strcmp(base_name(call_file), base_name(pr->file))))
                r->line = l, mine = true;
        }
        if (!mine && !r->line && r->function && !strcmp(r->function, pr->function)) {
            mine = true; /* no line information: listed by address below */
        } else if (!mine) {
            else_increment += r->s->increment;
            else_occurrences += r->s->occurrences;
            r->s = NULL;
            continue;
        }
        if (r->line && r->line > hi) hi = r->line;
        if (r->line) nlined++;
    }
    line_sum *sums = hi >= lo ? rc_calloc(hi - lo + 1, sizeof *sums) : NULL;
    for (size_t i = 0; sums && i < nrs; i++) {
        const resolved *r = &rs[i];
        if (!r->s || !r->line || r->line < lo) continue;
        line_sum *ls = &sums[r->line - lo];
        ls->has = true;
        ls->increment += r->s->increment;
        ls->occurrences += r->s->occurrences;
        if (r->s->last >= ls->last) ls->last = r->s->last, ls->net_after = r->s->net_after;
    }

    emit(&o, "Filename: %s", pr->file);
    emit(&o, "%s", "");
    emit(&o, "%6s %12s %12s  %10s   %s", "Line #", "Mem usage", "Increment", "Occurrences", "Line Contents");
    emit(&o, "%s", "=============================================================");
    for (unsigned l = lo; l <= hi; l++) {
        char num[16];
        snprintf(num, sizeof num, "%u", l);
        const char *src = lines && l <= nlines ? lines[l] : "";
        line_sum *ls = sums ? &sums[l - lo] : NULL;
        if (l == pr->line && (!ls || !ls->has)) { /* the entry: the heap's bytes in use */
            char m[32];
            figure(m, sizeof m, (double)pr->baseline);
            emit(&o, "%6s %12s %12s  %10s   %s", num, m, "", "", src);
        } else if (ls && ls->has) {
            row(&o, num, true, (double)pr->baseline + (double)ls->net_after, ls->increment, ls->occurrences, src);
        } else {
            row(&o, num, false, 0, 0, 0, src);
        }
    }
    for (size_t i = 1; i < nrs; i++) /* in code order (insertion sort: few sites) */
        for (size_t j = i; j > 0 && rs[j - 1].ret > rs[j].ret; j--) {
            resolved tmp = rs[j];
            rs[j] = rs[j - 1];
            rs[j - 1] = tmp;
        }
    for (size_t i = 0; i < nrs; i++) { /* sites without line information */
        const resolved *r = &rs[i];
        if (!r->s || r->line) continue;
        char where[96];
        snprintf(where, sizeof where, "(in %s at %#lx: no line information)", r->function,
                 (unsigned long)r->s->ret);
        row(&o, "?", true, (double)pr->baseline + (double)r->s->net_after, r->s->increment, r->s->occurrences,
            where);
    }
    if (else_occurrences || pr->dropped || !rs || (!sums && nlined)) {
        char inc[32];
        figure(inc, sizeof inc, (double)else_increment);
        emit(&o, "%6s %12s %12s  %10llu   %s", "", "", inc, (unsigned long long)else_occurrences,
             "(elsewhere: under a callee built without frame pointers; another thread's blocks)");
    }
    emit(&o, "%s", "");
    rc_free(sums);
    rc_free(lines);
    rc_free(text);
    rc_free(rs);
    if (o.file) fclose(o.file);
}
/* }==== */

/* {==== begin and end ==== */

static void stack_bounds(lineprof_thread *t) {
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
        t->stack_lo = (uintptr_t)addr;
        t->stack_hi = (uintptr_t)addr + size;
    }
    pthread_attr_destroy(&attr);
}

static void lines_on(void) {
    pthread_mutex_lock(&on_lock);
    if (active++ == 0) {
        if (_rc_line_alloc_hook != line_alloc) { /* written once: other threads read them without a lock */
            _rc_line_alloc_hook = line_alloc;
            _rc_line_free_hook = line_free;
        }
        _rc_trace_hooks_install();
        atomic_fetch_or(&_rc_trace_on, RC_HOOK_LINES);
    }
    pthread_mutex_unlock(&on_lock);
}

static void lines_off(void) {
    pthread_mutex_lock(&on_lock);
    if (--active == 0) atomic_fetch_and(&_rc_trace_on, ~RC_HOOK_LINES);
    pthread_mutex_unlock(&on_lock);
}

/* End the innermost profile: print its table, drop it. Tracing is
 * suspended on this thread. */
static void pop(lineprof_thread *t) {
    profile pr = t->stack[t->depth - 1];
    t->depth--;
    print_table(&pr);
    rc_free(pr.sites);
    lines_off();
}

unsigned rc_profile_function_begin(const char *function, const char *file, unsigned line, void *frame) {
    if (!function || !*function) {
        _rc_set_error("rc_profile_function_begin: function is NULL or empty");
        return 0;
    }
    if (!file || !*file) {
        _rc_set_error("rc_profile_function_begin: file is NULL or empty");
        return 0;
    }
    rc_heap_stats st;
    rc_heap_get_stats(&st); /* before our own blocks */
    _rc_trace_suspend();
    lineprof_thread *t = lt;
    if (!t) {
        t = rc_calloc(1, sizeof *t);
        if (!t) {
            _rc_trace_resume();
            _rc_set_error("rc_profile_function_begin: out of memory");
            return 0;
        }
        stack_bounds(t);
        lt = t;
    }
    if (t->depth == MAX_DEPTH) {
        _rc_trace_resume();
        _rc_set_error("rc_profile_function_begin: %d profiled functions are already active on this thread",
                      MAX_DEPTH);
        return 0;
    }
    uintptr_t fr = (uintptr_t)frame;
    if (!fr) { /* the caller's frame pointer, as saved by our own frame (checked below) */
        uintptr_t own = (uintptr_t)__builtin_frame_address(0);
        if (own >= t->stack_lo && own + 2 * sizeof(uintptr_t) <= t->stack_hi && !(own & 7)) {
            fr = *(const uintptr_t *)own;
            if (fr <= own) fr = 0;
        }
    }
    if (fr && (fr < t->stack_lo || fr >= t->stack_hi || (fr & 7))) fr = 0;
    /* A profile whose frame lies at or below the new one's belongs to a
     * function that is gone (left by longjmp: its cleanup never ran): it
     * ends now, its table printed. (So one frame holds one profile.) */
    while (fr && t->depth && t->stack[t->depth - 1].frame && t->stack[t->depth - 1].frame <= fr) pop(t);
    /* keep the stack sorted by frame, innermost last */
    if (fr && t->depth && t->stack[t->depth - 1].frame && fr > t->stack[t->depth - 1].frame) fr = 0;
    profile *pr = &t->stack[t->depth];
    *pr = (profile){.function = function, .file = file, .line = line, .frame = fr};
    if (!sites_grow(pr)) {
        _rc_trace_resume();
        _rc_set_error("rc_profile_function_begin: out of memory");
        return 0;
    }
    pr->token = ++t->serial ? t->serial : ++t->serial;
    pr->baseline = st.bytes_in_use;
    t->nfreed = 0;
    _rc_trace_resume();
    lines_on();
    /* visible to the hooks only now: the bit is set before the profile
     * counts (its table is ready either way) */
    t->depth++;
    return pr->token;
}

void rc_profile_function_end(unsigned token) {
    lineprof_thread *t = lt;
    if (!token) return;
    unsigned k = t ? t->depth : 0;
    while (k > 0 && t->stack[k - 1].token != token) k--;
    if (!k) {
        _rc_set_error("rc_profile_function_end: token %u is not an active profile of this thread", token);
        return;
    }
    _rc_trace_suspend();
    /* the profiles begun after this one and not ended (left by longjmp)
     * end with it, innermost first */
    while (t->depth >= k) pop(t);
    if (!t->depth) {
        rc_free(t->blocks);
        lt = NULL;
        rc_free(t);
    }
    _rc_trace_resume();
}
/* }==== */
