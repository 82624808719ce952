/*
 * symbols.c — the allocation tracer's symbolizer: a code address (a return
 * address recorded in a traceback) to function, source file and line, as
 * tracemalloc prints its frames. It runs only when a report is made (a
 * snapshot, rc_trace_site_of), never on the allocation path, so it may be
 * slow the first time; a cache makes the second time one hash probe.
 *
 * Two resolvers, tried in order:
 *
 *   libdw (elfutils, built in when CMake finds it: RC_HAVE_LIBDW)
 *       One Dwfl session for the process: the modules listed in
 *       /proc/self/maps (dwfl_linux_proc_report), their ELF files and
 *       debug information found the standard way (.gnu_debuglink,
 *       /usr/lib/debug/.build-id, and debuginfod when the user set
 *       DEBUGINFOD_URLS). Function from the symbol table
 *       (dwfl_module_addrname; the DWARF subprogram when the table lacks
 *       it), file and line from the line table (dwfl_module_getsrc). A
 *       module without line information gives its own path as the file
 *       and line 0.
 *   dladdr (always)
 *       The dynamic symbol table only: exported functions, the module's
 *       path as the file, line 0. Used without libdw, and with it when
 *       libdw knows nothing (no /proc, say).
 *
 * A return address is the instruction after the call, which may belong to
 * the next line or even the next function (a call to a noreturn function
 * ends its caller), so the resolvers look up addr - 1: an address inside
 * the call instruction itself.
 *
 * Module list staleness. dlopen and dlclose change the code in the address
 * space; the dynamic loader counts both (dl_iterate_phdr's dlpi_adds and
 * dlpi_subs). Every call compares the counters with those seen when the
 * cache was filled; when they moved, the address cache is dropped and the
 * libdw session brought up to date on its next lookup: after loads only,
 * the module list is re-read on the same session (dwfl_report_begin/end
 * keeps the unchanged modules with their loaded debug information); after
 * an unload, or _rc_symbols_reset, a new session starts, since libdwfl
 * mistakes a module loaded again at the same place for the old one.
 *
 * Data, all under one mutex (lock):
 *   cache      open addressing, linear probing, key addr (0 = empty slot),
 *              power-of-two size, at most half full. An entry with
 *              function == NULL records that nothing is known (negative
 *              entry: a garbage address costs one resolution, not one
 *              per call).
 *   names      the interned strings: open addressing on a 64-bit FNV-1a
 *              hash, at most half full. Invariant: no two entries hold equal
 *              strings, so equal names are the same pointer.
 *   chunk      the strings themselves, bump-allocated from 4 KiB chunks
 *              (longer strings get a block of their own). Never freed: the
 *              strings are handed out as living until the process ends, and
 *              they survive _rc_symbols_reset.
 * Memory comes from reclaim's heap with the plain rc_malloc/rc_calloc (no
 * call site: the tracer does not trace while a report is built). libdw
 * allocates with the system malloc.
 *
 * Fork: a pthread_atfork handler holds the lock across fork, so the child
 * finds it free and the tables consistent. Lock order: lock, then the
 * heap's locks (rc_malloc under lock); the handler is registered after
 * the heap's so that fork takes them in that order too. The child has the
 * same address space, so the cache stays valid there.
 *
 * Callers: _rc_symbolize takes lock and then the heap's locks; call it
 * holding no lock of a layer whose fork handler is registered after this
 * one (it would take that lock first at fork).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if RC_HAVE_LIBDW
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#endif

#include "internal/heap.h"
#include "internal/prof_symbols.h"

#define CACHE_MIN 256   /* first size of the address cache (entries) */
#define NAMES_MIN 256   /* first size of the string table */
#define CHUNK_SIZE 4096 /* string arena chunk */
#define CHUNK_BIG 512   /* strings at least this long get their own block */

/* How much of the libdw session is out of date: set by check_loader and
 * _rc_symbols_reset, cleared by dwfl_session. */
typedef enum rc_staleness {
    FRESH,    /* the module list is the address space's */
    ADDED,    /* modules were loaded: re-report on the same session */
    REPLACED, /* modules were unloaded (or reset): a new session */
} rc_staleness;

typedef struct sym_entry {
    uintptr_t addr;       /* the return address asked about; 0: empty slot */
    const char *function; /* interned; NULL: nothing known */
    const char *file;     /* interned; NULL iff function is NULL */
    unsigned line;        /* 0: no line information */
} sym_entry;

typedef struct name_entry {
    uint64_t hash;
    const char *str; /* NULL: empty slot */
} name_entry;

static struct {
    pthread_mutex_t lock;
    sym_entry *cache;              /* cache_mask + 1 entries, or NULL before first use */
    size_t cache_mask;
    size_t cache_used;             /* <= (cache_mask + 1) / 2 */
    name_entry *names;             /* names_mask + 1 entries, or NULL */
    size_t names_mask;
    size_t names_used;             /* <= (names_mask + 1) / 2 */
    char *chunk;                   /* free space of the current string chunk */
    size_t chunk_left;             /* bytes free at chunk */
    unsigned long long adds, subs; /* loader counters the cache agrees with */
    bool counters_known;           /* false: adds/subs not read yet (or reset) */
#if RC_HAVE_LIBDW
    Dwfl *dwfl;                    /* the session, NULL before first use */
    rc_staleness dwfl_stale;       /* what the session needs before its next use */
    bool dwfl_failed;              /* dwfl_begin failed: use dladdr only */
#endif
} S = {.lock = PTHREAD_MUTEX_INITIALIZER};

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* {======================================================================
 * Fork: the lock is held across fork
 * ======================================================================= */

static void before_fork(void) {
    pthread_mutex_lock(&S.lock);
}

static void after_fork(void) {
    pthread_mutex_unlock(&S.lock);
}

/* Registered after the heap's handlers, so ours runs before them at fork
 * (prepare handlers run in reverse order): lock, then the heap's locks, the
 * order _rc_symbolize takes them in. */
static void register_atfork(void) {
    _rc_heap_init();
    pthread_atfork(before_fork, after_fork, after_fork);
}

/* }====================================================================== */

/* {======================================================================
 * Interned strings
 * ======================================================================= */

static uint64_t hash_str(const char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return h;
}

/* Room for n bytes of string, never freed; NULL when out of memory. */
static char *string_space(size_t n) {
    if (n >= CHUNK_BIG) return rc_malloc(n);
    if (n > S.chunk_left) {
        char *c = rc_malloc(CHUNK_SIZE);
        if (!c) return NULL;
        S.chunk = c; /* the old chunk's tail is given up */
        S.chunk_left = CHUNK_SIZE;
    }
    char *p = S.chunk;
    S.chunk += n;
    S.chunk_left -= n;
    return p;
}

static bool names_grow(void) {
    size_t size = S.names ? 2 * (S.names_mask + 1) : NAMES_MIN;
    name_entry *t = rc_calloc(size, sizeof *t);
    if (!t) return false;
    for (size_t i = 0; S.names && i <= S.names_mask; i++) {
        if (!S.names[i].str) continue;
        size_t j = S.names[i].hash & (size - 1);
        while (t[j].str) j = (j + 1) & (size - 1);
        t[j] = S.names[i];
    }
    rc_free(S.names);
    S.names = t;
    S.names_mask = size - 1;
    return true;
}

/* The interned copy of s (the one pointer for its contents), or NULL when
 * out of memory. */
static const char *intern(const char *s) {
    size_t n = strlen(s);
    uint64_t h = hash_str(s, n);
    if (!S.names || 2 * (S.names_used + 1) > S.names_mask + 1) {
        if (!names_grow()) return NULL;
    }
    size_t i = h & S.names_mask;
    for (; S.names[i].str; i = (i + 1) & S.names_mask) {
        if (S.names[i].hash == h && strcmp(S.names[i].str, s) == 0) return S.names[i].str;
    }
    char *copy = string_space(n + 1);
    if (!copy) return NULL;
    memcpy(copy, s, n + 1);
    S.names[i].hash = h;
    S.names[i].str = copy;
    S.names_used++;
    return copy;
}

/* }====================================================================== */

/* {======================================================================
 * The address cache
 * ======================================================================= */

static size_t hash_addr(uintptr_t addr) {
    return (size_t)(((uint64_t)addr * 0x9E3779B97F4A7C15ULL) >> 20);
}

static sym_entry *cache_find(uintptr_t addr) {
    if (!S.cache) return NULL;
    for (size_t i = hash_addr(addr) & S.cache_mask;; i = (i + 1) & S.cache_mask) {
        if (S.cache[i].addr == addr) return &S.cache[i];
        if (S.cache[i].addr == 0) return NULL;
    }
}

static bool cache_grow(void) {
    size_t size = S.cache ? 2 * (S.cache_mask + 1) : CACHE_MIN;
    sym_entry *t = rc_calloc(size, sizeof *t);
    if (!t) return false;
    for (size_t i = 0; S.cache && i <= S.cache_mask; i++) {
        if (!S.cache[i].addr) continue;
        size_t j = hash_addr(S.cache[i].addr) & (size - 1);
        while (t[j].addr) j = (j + 1) & (size - 1);
        t[j] = S.cache[i];
    }
    rc_free(S.cache);
    S.cache = t;
    S.cache_mask = size - 1;
    return true;
}

/* Record e (not yet in the cache). Out of memory: not cached, which only
 * costs a resolution next time. */
static void cache_put(const sym_entry *e) {
    if (!S.cache || 2 * (S.cache_used + 1) > S.cache_mask + 1) {
        if (!cache_grow()) return;
    }
    size_t i = hash_addr(e->addr) & S.cache_mask;
    while (S.cache[i].addr) i = (i + 1) & S.cache_mask;
    S.cache[i] = *e;
    S.cache_used++;
}

static void cache_clear(void) {
    if (S.cache) memset(S.cache, 0, (S.cache_mask + 1) * sizeof *S.cache);
    S.cache_used = 0;
}

/* }====================================================================== */

/* {======================================================================
 * Staleness: the dynamic loader's load and unload counters
 * ======================================================================= */

typedef struct loader_counters {
    unsigned long long adds, subs;
    bool known;
} loader_counters;

static int read_counters(struct dl_phdr_info *info, size_t size, void *arg) {
    loader_counters *c = arg;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
        c->adds = info->dlpi_adds;
        c->subs = info->dlpi_subs;
        c->known = true;
    }
    return 1; /* the first module is enough: the counters are global */
}

static void forget_modules(bool unloaded) {
    cache_clear();
#if RC_HAVE_LIBDW
    if (unloaded) {
        S.dwfl_stale = REPLACED;
    } else if (S.dwfl_stale == FRESH) {
        S.dwfl_stale = ADDED;
    }
#else
    (void)unloaded;
#endif
}

/* Drop what dlopen or dlclose may have made wrong since the cache was
 * filled. A loader without the counters: only _rc_symbols_reset does. */
static void check_loader(void) {
    loader_counters c = {0, 0, false};
    dl_iterate_phdr(read_counters, &c);
    if (!c.known) return;
    if (S.counters_known && (c.adds != S.adds || c.subs != S.subs)) forget_modules(c.subs != S.subs);
    S.adds = c.adds;
    S.subs = c.subs;
    S.counters_known = true;
}

/* }====================================================================== */

/* {======================================================================
 * Resolvers. Each fills the strings of *e (not yet interned: borrowed
 * from the resolver, valid until the next resolver call) and returns true
 * when the function is known.
 * ======================================================================= */

/* A file name and function name borrowed from a resolver. */
typedef struct raw_symbol {
    const char *function;
    const char *file;
    unsigned line;
    char path[4096]; /* room to join a relative source file to its directory */
} raw_symbol;

static bool resolve_dladdr(uintptr_t pc, raw_symbol *r) {
    Dl_info info;
    if (!dladdr((void *)pc, &info) || !info.dli_sname || !info.dli_sname[0]) return false;
    r->function = info.dli_sname;
    r->file = info.dli_fname && info.dli_fname[0] ? info.dli_fname : "?";
    r->line = 0;
    return true;
}

#if RC_HAVE_LIBDW

static char *debuginfo_path; /* NULL: libdw's default search path */

static const Dwfl_Callbacks dwfl_callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .debuginfo_path = &debuginfo_path,
};

/* The session with a fresh module list, or NULL when libdw cannot be used. */
static Dwfl *dwfl_session(void) {
    if (S.dwfl_failed) return NULL;
    if (S.dwfl && S.dwfl_stale == REPLACED) {
        /* Re-reporting a module unloaded and loaded again at the same
         * place keeps libdwfl's record of the old mapping, which then
         * answers nothing (elfutils 0.188): start a new session. */
        dwfl_end(S.dwfl);
        S.dwfl = NULL;
    }
    if (!S.dwfl) {
        S.dwfl = dwfl_begin(&dwfl_callbacks);
        if (!S.dwfl) {
            S.dwfl_failed = true;
            return NULL;
        }
        S.dwfl_stale = ADDED;
    }
    if (S.dwfl_stale != FRESH) {
        /* Modules reported again are kept with their loaded information;
         * the others are dropped at dwfl_report_end. A failed read (no
         * /proc) leaves the list empty: dladdr answers then. */
        dwfl_report_begin(S.dwfl);
        dwfl_linux_proc_report(S.dwfl, getpid());
        dwfl_report_end(S.dwfl, NULL, NULL);
        S.dwfl_stale = FRESH;
    }
    return S.dwfl;
}

/* The compile unit holding pc, with the module's bias. libdw finds it
 * through .debug_aranges; clang emits none by default, and then libdw
 * (elfutils 0.188) finds nothing: walk the units and ask each. */
static bool find_cu(Dwfl_Module *mod, Dwarf_Addr pc, Dwarf_Die *cu, Dwarf_Addr *bias) {
    Dwarf_Die *die = dwfl_module_addrdie(mod, pc, bias);
    if (die) {
        *cu = *die;
        return true;
    }
    Dwarf *dw = dwfl_module_getdwarf(mod, bias);
    if (!dw) return false;
    Dwarf_CU *unit = NULL;
    Dwarf_Half version;
    uint8_t type;
    while (dwarf_get_units(dw, unit, &unit, &version, &type, cu, NULL) == 0) {
        if ((type == DW_UT_compile || type == DW_UT_partial) && dwarf_haspc(cu, pc - *bias) > 0) return true;
    }
    return false;
}

/* The name of the function holding pc from the DWARF information, when
 * the symbol table does not have it. */
static const char *dwarf_function(Dwfl_Module *mod, Dwarf_Addr pc) {
    Dwarf_Addr bias = 0;
    Dwarf_Die cu;
    if (!find_cu(mod, pc, &cu, &bias)) return NULL;
    Dwarf_Die *scopes = NULL;
    int n = dwarf_getscopes(&cu, pc - bias, &scopes);
    const char *name = NULL;
    for (int i = 0; i < n && !name; i++) {
        if (dwarf_tag(&scopes[i]) == DW_TAG_subprogram) name = dwarf_diename(&scopes[i]);
    }
    free(scopes); /* allocated by libdw with malloc */
    return name;
}

/* Set r->file and r->line from the line table; false when there is none
 * for pc. A relative file is joined to the unit's directory. */
static bool dwarf_source(Dwfl_Module *mod, Dwarf_Addr pc, raw_symbol *r) {
    const char *src = NULL, *dir = NULL;
    int lineno = 0;
    Dwfl_Line *l = dwfl_module_getsrc(mod, pc);
    if (l) {
        src = dwfl_lineinfo(l, NULL, &lineno, NULL, NULL, NULL);
        if (src && src[0] != '/') dir = dwfl_line_comp_dir(l);
    } else {
        Dwarf_Addr bias = 0;
        Dwarf_Die cu;
        Dwarf_Line *dl = find_cu(mod, pc, &cu, &bias) ? dwarf_getsrc_die(&cu, pc - bias) : NULL;
        if (dl && dwarf_lineno(dl, &lineno) != 0) lineno = 0;
        src = dl ? dwarf_linesrc(dl, NULL, NULL) : NULL;
        Dwarf_Attribute attr;
        if (src && src[0] != '/') dir = dwarf_formstring(dwarf_attr(&cu, DW_AT_comp_dir, &attr));
    }
    if (!src || !src[0]) return false;
    r->file = src;
    r->line = lineno > 0 ? (unsigned)lineno : 0;
    if (dir && dir[0]) {
        int len = snprintf(r->path, sizeof r->path, "%s/%s", dir, src);
        if (len > 0 && (size_t)len < sizeof r->path) r->file = r->path;
    }
    return true;
}

static bool resolve_dwfl(uintptr_t pc, raw_symbol *r) {
    Dwfl *dwfl = dwfl_session();
    if (!dwfl) return false;
    Dwfl_Module *mod = dwfl_addrmodule(dwfl, pc);
    if (!mod) return false;
    const char *function = dwfl_module_addrname(mod, pc);
    if (!function || !function[0]) function = dwarf_function(mod, pc);
    if (!function || !function[0]) return false;
    r->function = function;
    if (!dwarf_source(mod, pc, r)) {
        const char *module = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
        r->file = module && module[0] ? module : "?";
        r->line = 0;
    }
    return true;
}

#endif /* RC_HAVE_LIBDW */

/* Resolve addr (not cached) into a new cache entry; false when out of
 * memory (then nothing is cached). */
static bool resolve(uintptr_t addr, sym_entry *e) {
    uintptr_t pc = addr - 1; /* inside the call instruction */
    raw_symbol r;
    bool known = false;
#if RC_HAVE_LIBDW
    known = resolve_dwfl(pc, &r);
#endif
    if (!known) known = resolve_dladdr(pc, &r);
    e->addr = addr;
    e->function = NULL;
    e->file = NULL;
    e->line = 0;
    if (!known) return true;
    e->function = intern(r.function);
    e->file = intern(r.file);
    e->line = r.line;
    return e->function && e->file;
}

/* }====================================================================== */

#if RC_HAVE_LIBDW
#define MAX_SCOPES 64 /* nested DWARF scopes followed at a call site */

static const char *die_name(Dwarf_Die *die) {
    Dwarf_Attribute a;
    return dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &a));
}

/* The line, in function, of the inlined call holding the call that
 * returns to ret; 0 when that call is not in code inlined into function
 * (or nothing is known). *file: the file of that line when known. The
 * concrete scopes holding the address are found by descending the unit's
 * tree (dwarf_getscopes follows an inlined instance to its abstract
 * origin's scopes, not to the function it was inlined into). */
static unsigned inlined_call_locked(uintptr_t ret, const char *function, const char **file) {
    unsigned line = 0;
    Dwarf_Addr pc = ret - 1, bias = 0; /* inside the call instruction */
    Dwfl *dwfl = dwfl_session();
    Dwfl_Module *m = dwfl ? dwfl_addrmodule(dwfl, pc) : NULL;
    Dwarf_Die cu, path[MAX_SCOPES];
    int n = 0;
    if (m && find_cu(m, pc, &cu, &bias)) {
        pc -= bias;
        Dwarf_Die cur = cu, child;
        while (n < MAX_SCOPES && dwarf_child(&cur, &child) == 0) {
            bool found = false;
            do {
                int tag = dwarf_tag(&child);
                found = (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block) &&
                        dwarf_haspc(&child, pc) > 0;
            } while (!found && dwarf_siblingof(&child, &child) == 0);
            if (!found) break;
            cur = path[n++] = child;
        }
    }
    /* path[0] is the subprogram, path[n - 1] the innermost scope */
    int at = -1;
    for (int i = 0; i < n && at < 0; i++) {
        int tag = dwarf_tag(&path[i]);
        const char *name = tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ? die_name(&path[i]) : NULL;
        if (name && !strcmp(name, function)) at = i;
    }
    for (int i = at + 1; at >= 0 && i < n; i++) {
        if (dwarf_tag(&path[i]) != DW_TAG_inlined_subroutine) continue;
        Dwarf_Attribute a;
        Dwarf_Word w;
        if (dwarf_formudata(dwarf_attr(&path[i], DW_AT_call_line, &a), &w) == 0) line = (unsigned)w;
        Dwarf_Files *files;
        size_t nfiles;
        if (dwarf_formudata(dwarf_attr(&path[i], DW_AT_call_file, &a), &w) == 0 &&
            dwarf_getsrcfiles(&cu, &files, &nfiles) == 0 && w < nfiles)
            *file = intern(dwarf_filesrc(files, w, NULL, NULL));
        break;
    }
    return line;
}
#endif

unsigned _rc_symbolize_inlined_call(uintptr_t ret, const char *function, const char **file) {
#if RC_HAVE_LIBDW
    if (!ret || !function) return 0;
    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&S.lock);
    check_loader();
    unsigned line = inlined_call_locked(ret, function, file);
    pthread_mutex_unlock(&S.lock);
    return line;
#else
    (void)ret, (void)function, (void)file;
    return 0; /* without libdw there are no line numbers at all */
#endif
}

bool _rc_symbolize(uintptr_t addr, const char **function, const char **file, unsigned *line) {
    if (addr == 0) return false;
    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&S.lock);
    check_loader();
    sym_entry found;
    const sym_entry *e = cache_find(addr);
    if (!e) {
        if (resolve(addr, &found)) cache_put(&found);
        e = &found;
    }
    bool known = e->function && e->file;
    if (known) {
        *function = e->function;
        *file = e->file;
        *line = e->line;
    }
    pthread_mutex_unlock(&S.lock);
    return known;
}

void _rc_symbols_reset(void) {
    pthread_mutex_lock(&S.lock);
    forget_modules(true);
    S.counters_known = false;
    pthread_mutex_unlock(&S.lock);
}
