/*
 * heapdump.c — rc_heap_dump: every object of the calling thread's world
 * and of the orphan world, written to a file for `reclaim heap` and for
 * Chrome DevTools (through `reclaim heap export`). The format and the
 * analyses are described in docs/heapdump.md; the reader is
 * heapdump_load.c and the dominator tree dominators.c.
 *
 * The writer streams. It walks the pools of each world (_rc_world_walk,
 * no recursion) and writes one line per object as it meets it: address,
 * type, size, refcount, state bits, allocation site, and the addresses its
 * type's traverse visits (the referents, as rc_gc_get_referents reports
 * them, each once per reference). Nothing per object is kept: the only
 * memory it takes is
 *
 *   types   rc_type pointer -> index, one entry per distinct type
 *   sites   (file, function, line) of rc_trace_site_of's innermost frame
 *           -> index, one entry per distinct site (only while tracing)
 *   garbage a sorted copy of the garbage lists, to flag their objects
 *
 * A type or a site is written as a "t" or "s" line the first time an
 * object uses it, so every index is defined before it is used and the
 * file needs one pass to write and one to read. Referents are written as
 * addresses, not indices: an object may refer to one the walk has not
 * reached yet (or to one outside the dump: a static object, another
 * thread's object); the reader resolves them.
 *
 * The file is written beside path (path.tmpPID) and renamed over it, so a
 * reader never sees half a dump; the "end N" line lets the reader tell a
 * whole file from a cut one.
 *
 *   reclaim-heapdump 1
 *   t INDEX NAME                        a type (NAME escaped: \\ \n \t)
 *   s INDEX LINE FILE<TAB>FUNCTION      a site (both escaped)
 *   o ADDR TYPE SIZE REFCOUNT FLAGS SITE [REF ...]
 *   end OBJECTS
 *
 * ADDR and REF are hexadecimal without 0x, FLAGS hexadecimal (the
 * RC_HEAPDUMP_* file bits), SITE a site index or "-".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal/object.h"
#include "internal/prof.h"
#include "internal/runtime.h"

/* {==== interning tables (pointer keys) ==== */

/* An open-addressing table from a key of up to three words to a dense
 * index. Keys are never removed; the table doubles at half full.
 * Invariant: n * 2 <= cap, cap a power of two (or 0). */
typedef struct key3 {
    uintptr_t a, b, c;
} key3;

typedef struct intern_table {
    key3 *keys;
    uint32_t *index; /* index + 1; 0: empty slot */
    size_t n, cap;
} intern_table;

static uint64_t hash3(key3 k) {
    uint64_t h = (uint64_t)k.a * 0x9E3779B97F4A7C15ull;
    h ^= (uint64_t)k.b * 0xC2B2AE3D27D4EB4Full + (h >> 29);
    h ^= (uint64_t)k.c * 0x165667B19E3779F9ull + (h >> 31);
    return h ^ (h >> 32);
}

static bool table_grow(intern_table *t) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    key3 *keys = rc_malloc(cap * sizeof *keys);
    uint32_t *index = rc_calloc(cap, sizeof *index);
    if (!keys || !index) {
        rc_free(keys);
        rc_free(index);
        return false;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->index[i]) continue;
        size_t j = hash3(t->keys[i]) & (cap - 1);
        while (index[j]) j = (j + 1) & (cap - 1);
        keys[j] = t->keys[i];
        index[j] = t->index[i];
    }
    rc_free(t->keys);
    rc_free(t->index);
    t->keys = keys;
    t->index = index;
    t->cap = cap;
    return true;
}

/* The index of k; *added says whether it was new. -1 when out of memory. */
static int64_t table_intern(intern_table *t, key3 k, bool *added) {
    *added = false;
    if ((t->n + 1) * 2 > t->cap && !table_grow(t)) return -1;
    size_t mask = t->cap - 1, i = hash3(k) & mask;
    for (; t->index[i]; i = (i + 1) & mask)
        if (t->keys[i].a == k.a && t->keys[i].b == k.b && t->keys[i].c == k.c) return t->index[i] - 1;
    t->keys[i] = k;
    t->index[i] = (uint32_t)++t->n;
    *added = true;
    return (int64_t)t->n - 1;
}

static void table_free(intern_table *t) {
    rc_free(t->keys);
    rc_free(t->index);
}
/* }==== */

/* {==== the writer ==== */

typedef struct dump_ctx {
    FILE *out;
    intern_table types, sites;
    const void **garbage; /* sorted */
    size_t ngarbage;
    bool tracing;
    bool orphan; /* walking the orphan world */
    bool failed; /* out of memory */
    size_t objects;
    char line[512];
    size_t len;
} dump_ctx;

static void flush_line(dump_ctx *c) {
    if (c->len) fwrite(c->line, 1, c->len, c->out);
    c->len = 0;
}

static void put_char(dump_ctx *c, char ch) {
    if (c->len == sizeof c->line) flush_line(c);
    c->line[c->len++] = ch;
}

/* Text with \\, \n, \t escaped (and other control characters as '?'). */
static void put_text(dump_ctx *c, const char *s) {
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '\\' || ch == '\n' || ch == '\t') {
            put_char(c, '\\');
            put_char(c, ch == '\\' ? '\\' : ch == '\n' ? 'n' : 't');
        } else put_char(c, ch < 0x20 || ch == 0x7f ? '?' : (char)ch);
    }
}

static void put_hex(dump_ctx *c, uint64_t v) {
    char buf[16];
    int n = 0;
    do {
        buf[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    if (c->len + (size_t)n + 1 > sizeof c->line) flush_line(c);
    c->line[c->len++] = ' ';
    while (n) c->line[c->len++] = buf[--n];
}

static void put_dec(dump_ctx *c, uint64_t v) {
    char buf[20];
    int n = 0;
    do {
        buf[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (c->len + (size_t)n + 1 > sizeof c->line) flush_line(c);
    c->line[c->len++] = ' ';
    while (n) c->line[c->len++] = buf[--n];
}

static int cmp_ptr(const void *a, const void *b) {
    uintptr_t x = (uintptr_t) * (const void *const *)a, y = (uintptr_t) * (const void *const *)b;
    return x < y ? -1 : x > y;
}

static bool in_garbage(const dump_ctx *c, const void *obj) {
    return c->ngarbage && bsearch(&obj, c->garbage, c->ngarbage, sizeof *c->garbage, cmp_ptr) != NULL;
}

static int visit_ref(void *obj, void *arg) {
    if (obj) put_hex(arg, (uint64_t)(uintptr_t)obj);
    return 0;
}

/* The type's index, writing its "t" line the first time. */
static int64_t type_index(dump_ctx *c, const rc_type *t) {
    bool added;
    int64_t idx = table_intern(&c->types, (key3){(uintptr_t)t, 0, 0}, &added);
    if (idx < 0 || !added) return idx;
    put_char(c, 't');
    put_dec(c, (uint64_t)idx);
    put_char(c, ' ');
    put_text(c, _rc_type_name(t));
    put_char(c, '\n');
    return idx;
}

/* The innermost allocation frame's index, writing its "s" line the first
 * time; -1 when the object is not traced, -2 when out of memory. */
static int64_t site_index(dump_ctx *c, const void *obj) {
    rc_frame f;
    if (!c->tracing || rc_trace_site_of(obj, &f, 1) == 0) return -1;
    bool added;
    int64_t idx = table_intern(&c->sites, (key3){(uintptr_t)f.file, (uintptr_t)f.function, f.line}, &added);
    if (idx < 0) return -2;
    if (!added) return idx;
    put_char(c, 's');
    put_dec(c, (uint64_t)idx);
    put_dec(c, f.line);
    put_char(c, ' ');
    put_text(c, f.file ? f.file : "?");
    put_char(c, '\t');
    put_text(c, f.function ? f.function : "?");
    put_char(c, '\n');
    return idx;
}

static void dump_object(rc_object_head *h, void *arg) {
    dump_ctx *c = arg;
    uintptr_t bits = h->type_bits;
    if (c->failed || (bits & RC_DYING)) return;
    void *obj = _rc_payload(h);
    const rc_type *t = _rc_head_type(h);
    int64_t ti = type_index(c, t);
    int64_t si = site_index(c, obj);
    if (ti < 0 || si == -2) {
        c->failed = true;
        return;
    }
    unsigned flags = 0;
    if (bits & RC_TRACKED) {
        flags |= RC_HEAPDUMP_TRACKED;
        if (_rc_head_gen(h) == RC_GEN_PERMANENT) flags |= RC_HEAPDUMP_FROZEN;
    }
    if (bits & RC_FINALIZED) flags |= RC_HEAPDUMP_FINALIZED;
    if (in_garbage(c, obj)) flags |= RC_HEAPDUMP_GARBAGE;
    if (c->orphan) flags |= RC_HEAPDUMP_ORPHAN;
    if (_rc_is_immortal(h)) flags |= RC_HEAPDUMP_IMMORTAL;
    put_char(c, 'o');
    put_hex(c, (uint64_t)(uintptr_t)obj);
    put_dec(c, (uint64_t)ti);
    put_dec(c, rc_sizeof(obj));
    put_dec(c, h->refcnt);
    put_hex(c, flags);
    if (si >= 0) put_dec(c, (uint64_t)si);
    else {
        put_char(c, ' ');
        put_char(c, '-');
    }
    if (t->traverse) t->traverse(obj, visit_ref, c);
    put_char(c, '\n');
    flush_line(c);
    c->objects++;
}

/* A sorted copy of both garbage lists in c->garbage. */
static bool collect_garbage(dump_ctx *c, rc_world *w) {
    size_t n = (w ? w->garbage.len : 0) + _rc_orphans.garbage.len;
    if (!n) return true;
    c->garbage = rc_malloc(n * sizeof *c->garbage);
    if (!c->garbage) return false;
    if (w)
        for (size_t i = 0; i < w->garbage.len; i++) c->garbage[c->ngarbage++] = w->garbage.items[i];
    for (size_t i = 0; i < _rc_orphans.garbage.len; i++) c->garbage[c->ngarbage++] = _rc_orphans.garbage.items[i];
    qsort(c->garbage, c->ngarbage, sizeof *c->garbage, cmp_ptr);
    return true;
}

int rc_heap_dump(const char *path) {
    if (!path) {
        _rc_set_error("rc_heap_dump: path is NULL");
        return -1;
    }
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid()) >= (int)sizeof tmp) {
        _rc_set_error("rc_heap_dump: path '%.64s...' is too long", path);
        return -1;
    }
    /* the dump's own tables are not traced (as a snapshot's arrays) */
    _rc_trace_suspend();
    enum { IOBUF = 1 << 16 };
    dump_ctx *c = rc_calloc(1, sizeof *c);
    char *iobuf = rc_malloc(IOBUF);
    if (!c || !iobuf) {
        rc_free(c);
        rc_free(iobuf);
        _rc_trace_resume();
        _rc_set_error("rc_heap_dump: out of memory");
        return -1;
    }
    c->out = fopen(tmp, "w");
    if (!c->out) {
        _rc_set_error("rc_heap_dump: cannot open '%s': %s", path, strerror(errno));
        rc_free(c);
        rc_free(iobuf);
        _rc_trace_resume();
        return -1;
    }
    setvbuf(c->out, iobuf, _IOFBF, IOBUF);
    c->tracing = rc_trace_is_tracing();
    fputs("reclaim-heapdump 1\n", c->out);

    rc_world *w = _rc_world_tls;
    _rc_orphans_lock();
    bool ok = collect_garbage(c, w);
    if (ok && w && !w->collecting) _rc_world_walk(w, dump_object, c);
    c->orphan = true;
    if (ok && !c->failed && !_rc_orphans.collecting) _rc_world_walk(&_rc_orphans, dump_object, c);
    _rc_orphans_unlock();
    ok = ok && !c->failed;
    if (ok) fprintf(c->out, "end %zu\n", c->objects);

    bool werr = ferror(c->out) != 0;
    int saved = errno;
    if (fclose(c->out) != 0 && !werr) {
        werr = true;
        saved = errno;
    }
    table_free(&c->types);
    table_free(&c->sites);
    rc_free(c->garbage);
    rc_free(c);
    rc_free(iobuf);
    _rc_trace_resume();
    if (!ok) {
        unlink(tmp);
        _rc_set_error("rc_heap_dump: out of memory");
        return -1;
    }
    if (werr) {
        unlink(tmp);
        _rc_set_error("rc_heap_dump: writing '%s' failed: %s", path, strerror(saved));
        return -1;
    }
    if (rename(tmp, path) != 0) {
        _rc_set_error("rc_heap_dump: cannot write '%s': %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}
/* }==== */
