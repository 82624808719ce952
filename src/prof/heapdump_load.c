/*
 * heapdump_load.c — reading a heap dump (rc_heapdump_load) and the plain
 * accessors: objects, types, totals, lookup by address, referrers. The
 * analyses (dominators, retained sizes, chains, per-type figures) are in
 * dominators.c; the format is described in heapdump.c and
 * docs/heapdump.md.
 *
 * The reader is built for dumps of millions of objects: one pass over the
 * file with a line buffer of its own (a line holds all of one object's
 * references, so it grows as needed), per-object figures in flat arrays
 * that double as they fill, references first kept as addresses and then
 * resolved to indices through one open-addressing table of uint32 indices
 * (src/internal/prof_heapdump.h gives the layout and its invariants). No
 * allocation per object, no recursion. References to addresses that are
 * not in the dump (static objects, other threads' objects) are dropped
 * and counted.
 *
 * A dump is rejected, with the file and the line named, when its first
 * line is not "reclaim-heapdump VERSION", its version is not 1, a line is
 * malformed, an index is used before its "t"/"s" line, an address is
 * dumped twice, or the "end N" line is missing or disagrees with the
 * objects read (a truncated file).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal/prof_heapdump.h"

#define FN "rc_heapdump_load"

/* {==== growable arrays ==== */

static bool grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return true;
    size_t cap2 = *cap ? *cap : 1024;
    while (cap2 < need) cap2 *= 2;
    void *q = rc_realloc(*p, cap2 * elem);
    if (!q) return false;
    *p = q;
    *cap = cap2;
    return true;
}
/* }==== */

/* {==== the line reader ==== */

typedef struct reader {
    FILE *in;
    char *buf;
    size_t cap, start, end; /* unread text is buf[start..end) */
    bool eof;
    bool cut; /* the last line returned had no newline */
    size_t lineno;
} reader;

/* The next line, NUL-terminated in place without its newline, in *line;
 * false at the end of the file or when out of memory (*oom set). A last
 * line without a newline is returned as it is. */
static bool next_line(reader *r, char **line, bool *oom) {
    for (size_t scan = r->start;;) {
        char *nl = memchr(r->buf + scan, '\n', r->end - scan);
        if (nl) {
            *nl = '\0';
            *line = r->buf + r->start;
            r->start = (size_t)(nl - r->buf) + 1;
            r->lineno++;
            return true;
        }
        if (r->eof) {
            if (r->start == r->end) return false;
            if (r->end == r->cap && !grow((void **)&r->buf, &r->cap, r->cap + 1, 1)) {
                *oom = true;
                return false;
            }
            r->buf[r->end] = '\0';
            r->cut = true;
            *line = r->buf + r->start;
            r->start = r->end;
            r->lineno++;
            return true;
        }
        /* move the partial line to the front, grow if it fills the buffer */
        if (r->start) {
            memmove(r->buf, r->buf + r->start, r->end - r->start);
            r->end -= r->start;
            r->start = 0;
        }
        scan = r->end;
        if (r->end == r->cap && !grow((void **)&r->buf, &r->cap, r->cap * 2, 1)) {
            *oom = true;
            return false;
        }
        size_t got = fread(r->buf + r->end, 1, r->cap - r->end, r->in);
        r->end += got;
        if (got == 0) r->eof = true;
    }
}
/* }==== */

/* {==== parsing ==== */

typedef struct loader {
    rc_heapdump *d;
    const char *path;
    reader r;
    size_t addr_cap, size_cap, refc_cap, type_cap, site_cap, flags_cap, first_cap, raw_cap;
    uint64_t *raw; /* references as addresses, before resolving */
    size_t nraw;
    uint32_t *type_map; /* file type index -> merged index */
    size_t ntypes_file, type_map_cap, type_names_cap, sites_cap;
    char err[160];
} loader;

static bool fail(loader *L, const char *fmt, const char *detail) {
    snprintf(L->err, sizeof L->err, fmt, detail);
    return false;
}

static bool parse_u64(char **p, int base, uint64_t *out) {
    char *s = *p, *end;
    while (*s == ' ') s++;
    if (!(base == 16 ? ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')) : (*s >= '0' && *s <= '9')))
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, base);
    if (errno || (*end != ' ' && *end != '\0')) return false;
    *out = v;
    *p = end;
    return true;
}

/* Unescapes \\ \n \t in s up to stop (or the end) into a new string. */
static char *unescape(const char *s, char stop, const char **rest) {
    size_t len = 0;
    while (s[len] && s[len] != stop) len++;
    char *t = rc_malloc(len + 1), *q = t;
    if (!t) return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\' && i + 1 < len) {
            char c = s[++i];
            *q++ = c == 'n' ? '\n' : c == 't' ? '\t' : c;
        } else *q++ = s[i];
    }
    *q = '\0';
    if (rest) *rest = s + len;
    return t;
}

static char *keep_string(loader *L, char *s) {
    rc_heapdump *d = L->d;
    if (!s) return NULL;
    if (!grow((void **)&d->strings, &d->strings_cap, d->nstrings + 1, sizeof *d->strings)) {
        rc_free(s);
        return NULL;
    }
    d->strings[d->nstrings++] = s;
    return s;
}

#define OOM ((bool)(snprintf(L->err, sizeof L->err, "out of memory") && false))

static bool parse_type(loader *L, char *line) {
    rc_heapdump *d = L->d;
    char *p = line + 1;
    uint64_t idx;
    if (!parse_u64(&p, 10, &idx) || *p != ' ') return fail(L, "a malformed type line%s", "");
    if (idx != L->ntypes_file) return fail(L, "type index out of order%s", "");
    char *name = unescape(p + 1, '\0', NULL);
    if (!name) return OOM;
    size_t merged = d->ntypes;
    for (size_t k = 0; k < d->ntypes; k++)
        if (strcmp(d->type_names[k], name) == 0) {
            merged = k;
            break;
        }
    if (!grow((void **)&L->type_map, &L->type_map_cap, L->ntypes_file + 1, sizeof *L->type_map)) {
        rc_free(name);
        return OOM;
    }
    L->type_map[L->ntypes_file++] = (uint32_t)merged;
    if (merged < d->ntypes) {
        rc_free(name);
        return true;
    }
    if (!grow((void **)&d->type_names, &L->type_names_cap, d->ntypes + 1, sizeof *d->type_names)) {
        rc_free(name);
        return OOM;
    }
    if (!keep_string(L, name)) return OOM;
    d->type_names[d->ntypes++] = name;
    return true;
}

static bool parse_site(loader *L, char *line) {
    rc_heapdump *d = L->d;
    char *p = line + 1;
    uint64_t idx, lineno;
    if (!parse_u64(&p, 10, &idx) || !parse_u64(&p, 10, &lineno) || *p != ' ' || lineno > UINT32_MAX)
        return fail(L, "a malformed site line%s", "");
    if (idx != d->nsites) return fail(L, "site index out of order%s", "");
    const char *rest;
    char *file = keep_string(L, unescape(p + 1, '\t', &rest));
    if (!file) return OOM;
    if (*rest != '\t') return fail(L, "a malformed site line (no function)%s", "");
    char *function = keep_string(L, unescape(rest + 1, '\0', NULL));
    if (!function) return OOM;
    if (!grow((void **)&d->sites, &L->sites_cap, d->nsites + 1, sizeof *d->sites)) return OOM;
    d->sites[d->nsites++] = (rc_frame){file, function, (unsigned)lineno};
    return true;
}

static bool parse_object(loader *L, char *line) {
    rc_heapdump *d = L->d;
    size_t i = d->n;
    if (i >= RC_HD_NONE - 1) return fail(L, "too many objects%s", "");
    if (!grow((void **)&d->addr, &L->addr_cap, i + 1, sizeof *d->addr) ||
        !grow((void **)&d->size, &L->size_cap, i + 1, sizeof *d->size) ||
        !grow((void **)&d->refcount, &L->refc_cap, i + 1, sizeof *d->refcount) ||
        !grow((void **)&d->type, &L->type_cap, i + 1, sizeof *d->type) ||
        !grow((void **)&d->site, &L->site_cap, i + 1, sizeof *d->site) ||
        !grow((void **)&d->flags, &L->flags_cap, i + 1, sizeof *d->flags) ||
        !grow((void **)&d->first, &L->first_cap, i + 2, sizeof *d->first))
        return OOM;
    char *p = line + 1;
    uint64_t addr, type, size, refcount, flags;
    if (!parse_u64(&p, 16, &addr) || !parse_u64(&p, 10, &type) || !parse_u64(&p, 10, &size) ||
        !parse_u64(&p, 10, &refcount) || !parse_u64(&p, 16, &flags))
        return fail(L, "a malformed object line%s", "");
    if (type >= L->ntypes_file) return fail(L, "an object of an undefined type%s", "");
    if (flags & ~(uint64_t)0x3f) return fail(L, "unknown object flags%s", "");
    uint64_t site = RC_HD_NONE;
    while (*p == ' ') p++;
    if (*p == '-') p++;
    else if (!parse_u64(&p, 10, &site) || site >= d->nsites) return fail(L, "a malformed or undefined site%s", "");
    if (*p != ' ' && *p != '\0') return fail(L, "a malformed object line%s", "");
    d->addr[i] = addr;
    d->type[i] = L->type_map[type];
    d->size[i] = size;
    d->refcount[i] = refcount;
    d->flags[i] = (uint32_t)flags;
    d->site[i] = (uint32_t)site;
    d->first[i] = (uint32_t)L->nraw;
    d->bytes += size;
    for (;;) {
        while (*p == ' ') p++;
        if (!*p) break;
        uint64_t ref;
        if (!parse_u64(&p, 16, &ref)) return fail(L, "a malformed reference%s", "");
        if (L->nraw >= RC_HD_NONE - 1) return fail(L, "too many references%s", "");
        if (!grow((void **)&L->raw, &L->raw_cap, L->nraw + 1, sizeof *L->raw)) return OOM;
        L->raw[L->nraw++] = ref;
    }
    d->n = i + 1;
    d->first[i + 1] = (uint32_t)L->nraw;
    return true;
}

static uint64_t hash_addr(uint64_t a) {
    a ^= a >> 33;
    a *= 0xff51afd7ed558ccdull;
    a ^= a >> 33;
    return a;
}

static int64_t lookup(const rc_heapdump *d, uint64_t addr) {
    if (!d->addr_cap) return -1;
    size_t mask = d->addr_cap - 1;
    for (size_t j = hash_addr(addr) & mask; d->addr_table[j]; j = (j + 1) & mask)
        if (d->addr[d->addr_table[j] - 1] == addr) return (int64_t)d->addr_table[j] - 1;
    return -1;
}

/* The address table, the references as indices, external counts, roots. */
static bool resolve(loader *L) {
    rc_heapdump *d = L->d;
    size_t cap = 16;
    while (cap < d->n * 2) cap *= 2;
    d->addr_table = rc_calloc(cap, sizeof *d->addr_table);
    d->external = rc_calloc(d->n ? d->n : 1, sizeof *d->external);
    d->to = rc_malloc((L->nraw ? L->nraw : 1) * sizeof *d->to);
    if (!d->first) d->first = rc_calloc(1, sizeof *d->first);
    if (!d->addr_table || !d->external || !d->to || !d->first) return OOM;
    d->addr_cap = cap;
    for (size_t i = 0; i < d->n; i++) {
        size_t j = hash_addr(d->addr[i]) & (cap - 1);
        for (; d->addr_table[j]; j = (j + 1) & (cap - 1))
            if (d->addr[d->addr_table[j] - 1] == d->addr[i]) {
                char a[32];
                snprintf(a, sizeof a, "0x%" PRIx64, d->addr[i]);
                return fail(L, "object %s is dumped twice", a);
            }
        d->addr_table[j] = (uint32_t)i + 1;
    }
    /* resolve in place, compacting out the references that leave the dump;
     * external[] counts references into each object meanwhile */
    size_t k = 0;
    for (size_t i = 0; i < d->n; i++) {
        size_t from = d->first[i], to = d->first[i + 1];
        d->first[i] = (uint32_t)k;
        for (size_t e = from; e < to; e++) {
            int64_t t = lookup(d, L->raw[e]);
            if (t < 0) {
                d->outside_refs++;
                continue;
            }
            d->to[k++] = (uint32_t)t;
            d->external[t]++;
        }
    }
    d->first[d->n] = (uint32_t)k;
    d->nrefs = k;
    for (size_t i = 0; i < d->n; i++) {
        uint64_t internal = d->external[i];
        d->external[i] = d->refcount[i] > internal ? d->refcount[i] - internal : 0;
        if (d->external[i] > 0 || (d->flags[i] & RC_HEAPDUMP_IMMORTAL)) d->flags[i] |= RC_HEAPDUMP_ROOT;
    }
    return true;
}

static bool parse(loader *L) {
    char *line;
    bool oom = false;
    if (!next_line(&L->r, &line, &oom)) return oom ? OOM : fail(L, "is empty, not a reclaim heap dump%s", "");
    if (strncmp(line, "reclaim-heapdump ", 17) != 0) return fail(L, "is not a reclaim heap dump%s", "");
    if (strcmp(line + 17, "1") != 0) return fail(L, "has heap-dump version '%.20s' (this reader knows 1)", line + 17);
    bool ended = false;
    uint64_t declared = 0;
    while (next_line(&L->r, &line, &oom)) {
        if (ended) return fail(L, "text after the end line%s", "");
        bool ok;
        switch (line[0]) {
        case 'o': ok = line[1] == ' ' && parse_object(L, line); break;
        case 't': ok = line[1] == ' ' && parse_type(L, line); break;
        case 's': ok = line[1] == ' ' && parse_site(L, line); break;
        case '#': ok = true; break;
        case 'e': {
            char *p = line + 3;
            ok = strncmp(line, "end ", 4) == 0 && parse_u64(&p, 10, &declared) && *p == '\0';
            ended = true;
            break;
        }
        default: ok = false;
        }
        if (!ok && L->r.cut) {
            snprintf(L->err, sizeof L->err, "is truncated (line %zu is cut)", L->r.lineno);
            return false;
        }
        if (!ok) {
            if (!L->err[0]) fail(L, "an unknown line%s", "");
            char e[sizeof L->err];
            memcpy(e, L->err, sizeof e);
            snprintf(L->err, sizeof L->err, "line %zu: %.120s", L->r.lineno, e);
            return false;
        }
    }
    if (oom) return OOM;
    if (!ended) return fail(L, "is truncated (no end line)%s", "");
    if (declared != L->d->n) {
        char e[64];
        snprintf(e, sizeof e, "%" PRIu64 " objects, %zu", declared, L->d->n);
        return fail(L, "is truncated or corrupt (the end line says %s read)", e);
    }
    return resolve(L);
}

rc_heapdump *rc_heapdump_load(const char *path) {
    if (!path) {
        _rc_set_error(FN ": path is NULL");
        return NULL;
    }
    FILE *in = fopen(path, "r");
    if (!in) {
        _rc_set_error(FN ": cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    loader L = {.path = path, .r = {.in = in}};
    L.d = rc_calloc(1, sizeof *L.d);
    bool ok = L.d && grow((void **)&L.r.buf, &L.r.cap, 1 << 16, 1);
    if (!ok) snprintf(L.err, sizeof L.err, "out of memory");
    else ok = parse(&L);
    if (ok && ferror(in)) {
        ok = false;
        snprintf(L.err, sizeof L.err, "read error");
    }
    fclose(in);
    rc_free(L.r.buf);
    rc_free(L.raw);
    rc_free(L.type_map);
    if (!ok) {
        rc_heapdump_free(L.d);
        _rc_set_error(FN ": '%s' %s", path, L.err);
        return NULL;
    }
    return L.d;
}

void rc_heapdump_free(rc_heapdump *d) {
    if (!d) return;
    _rc_heapdump_analyses_free(d);
    rc_free(d->addr);
    rc_free(d->size);
    rc_free(d->refcount);
    rc_free(d->external);
    rc_free(d->type);
    rc_free(d->site);
    rc_free(d->flags);
    rc_free(d->first);
    rc_free(d->to);
    rc_free(d->addr_table);
    rc_free(d->type_names);
    rc_free(d->sites);
    for (size_t i = 0; i < d->nstrings; i++) rc_free(d->strings[i]);
    rc_free(d->strings);
    rc_free(d->rfirst);
    rc_free(d->rfrom);
    rc_free(d);
}
/* }==== */

/* {==== accessors ==== */

size_t rc_heapdump_count(const rc_heapdump *d) { return d ? d->n : 0; }
size_t rc_heapdump_type_count(const rc_heapdump *d) { return d ? d->ntypes : 0; }

const char *rc_heapdump_type_name(const rc_heapdump *d, size_t type_index) {
    if (!d || type_index >= d->ntypes) {
        _rc_set_error("rc_heapdump_type_name: %s", d ? "type index out of range" : "dump is NULL");
        return NULL;
    }
    return d->type_names[type_index];
}

void rc_heapdump_totals(const rc_heapdump *d, uint64_t *bytes, uint64_t *refs, uint64_t *outside_refs) {
    if (bytes) *bytes = d ? d->bytes : 0;
    if (refs) *refs = d ? d->nrefs : 0;
    if (outside_refs) *outside_refs = d ? d->outside_refs : 0;
}

int rc_heapdump_object_at(const rc_heapdump *d, size_t i, rc_heapdump_object *out) {
    if (!d || !out || i >= d->n) {
        if (!d || !out) _rc_set_error("rc_heapdump_object_at: %s is NULL", d ? "out" : "dump");
        else _rc_set_error("rc_heapdump_object_at: index %zu out of range (%zu objects)", i, d->n);
        return -1;
    }
    unsigned flags = d->flags[i];
    if (d->attached && (d->attached[i] & RC_HD_UNREACHABLE)) flags |= RC_HEAPDUMP_UNREACHABLE;
    *out = (rc_heapdump_object){
        .address = d->addr[i],
        .type = d->type_names[d->type[i]],
        .type_index = d->type[i],
        .size = d->size[i],
        .refcount = d->refcount[i],
        .external = d->external[i],
        .flags = flags,
        .site = d->site[i] == RC_HD_NONE ? NULL : &d->sites[d->site[i]],
        .refs = d->to + d->first[i],
        .nrefs = d->first[i + 1] - d->first[i],
    };
    return 0;
}

int64_t rc_heapdump_find(const rc_heapdump *d, uint64_t address) {
    if (!d) {
        _rc_set_error("rc_heapdump_find: dump is NULL");
        return -1;
    }
    int64_t i = lookup(d, address);
    if (i < 0) _rc_set_error("rc_heapdump_find: no object at 0x%" PRIx64 " in the dump", address);
    return i;
}

bool _rc_heapdump_referrers_build(rc_heapdump *d, const char *fn) {
    if (d->rfirst) return true;
    d->rfirst = rc_calloc(d->n + 1, sizeof *d->rfirst);
    d->rfrom = rc_malloc((d->nrefs ? d->nrefs : 1) * sizeof *d->rfrom);
    if (!d->rfirst || !d->rfrom) {
        rc_free(d->rfirst);
        rc_free(d->rfrom);
        d->rfirst = d->rfrom = NULL;
        _rc_set_error("%s: out of memory", fn);
        return false;
    }
    /* counting sort by target: rfirst[t + 1] counts, then prefix sums */
    for (size_t k = 0; k < d->nrefs; k++) d->rfirst[d->to[k] + 1]++;
    for (size_t i = 0; i < d->n; i++) d->rfirst[i + 1] += d->rfirst[i];
    for (size_t i = 0; i < d->n; i++)
        for (size_t k = d->first[i]; k < d->first[i + 1]; k++) d->rfrom[d->rfirst[d->to[k]]++] = (uint32_t)i;
    /* each rfirst[t] now points past t's block: shift back */
    for (size_t i = d->n; i > 0; i--) d->rfirst[i] = d->rfirst[i - 1];
    d->rfirst[0] = 0;
    return true;
}

int64_t rc_heapdump_referrers(rc_heapdump *d, size_t i, const uint32_t **out) {
    if (!d || !out || i >= d->n) {
        if (!d || !out) _rc_set_error("rc_heapdump_referrers: %s is NULL", d ? "out" : "dump");
        else _rc_set_error("rc_heapdump_referrers: index %zu out of range (%zu objects)", i, d->n);
        return -1;
    }
    if (!_rc_heapdump_referrers_build(d, "rc_heapdump_referrers")) return -1;
    *out = d->rfrom + d->rfirst[i];
    return (int64_t)(d->rfirst[i + 1] - d->rfirst[i]);
}
/* }==== */
