/*
 * options.c — every run-time option, in one table, read in one place.
 *
 * Each RECLAIM_* environment variable has one row below: its name, its
 * kind (a choice among words, a switch, a size such as 64M, a count or a
 * number of milliseconds), its default and the forms it accepts. The table
 * is read once, lazily, by the first call that needs an option (usually the
 * first allocation), without allocating memory: the reader may run inside
 * malloc before main. A value that does not parse is reported once, naming
 * the accepted forms, and the default is kept. docs/options.md is the
 * user's copy of this table.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal/runtime.h"

typedef enum { KIND_CHOICE, KIND_SWITCH, KIND_SIZE, KIND_COUNT, KIND_MS, KIND_COUNTS3, KIND_FLAGS, KIND_PATH } option_kind;

typedef struct option_desc {
    const char *name;
    option_kind kind;
    int64_t def;
    int64_t max;                  /* counts and ms: largest accepted */
    const char *const *choices;   /* KIND_CHOICE, KIND_FLAGS: NULL-terminated */
    const int64_t *flag_values;   /* KIND_FLAGS: the value of each choice */
    const char *forms;            /* what the warning says is accepted */
    const char *doc;
} option_desc;

static const char *const malloc_choices[] = {"default", "debug", "malloc", NULL};
static const char *const signal_choices[] = {"usr2", "usr1", "none", NULL};
static const char *const unwind_choices[] = {"auto", "fp", "libunwind", NULL};
static const char *const gc_debug_names[] = {"stats", "collectable", "uncollectable", "saveall", "leak", NULL};
static const int64_t gc_debug_values[] = {RC_GC_DEBUG_STATS, RC_GC_DEBUG_COLLECTABLE, RC_GC_DEBUG_UNCOLLECTABLE,
                                          RC_GC_DEBUG_SAVEALL, RC_GC_DEBUG_LEAK};
/* RECLAIM_LEAKCHECK: a switch, or "error" (report, and exit status 1) */
static const char *const leakcheck_names[] = {"1", "yes", "on", "true", "0", "no", "off", "false", "error", NULL};
static const int64_t leakcheck_values[] = {RC_LEAKCHECK_REPORT, RC_LEAKCHECK_REPORT, RC_LEAKCHECK_REPORT,
                                           RC_LEAKCHECK_REPORT, 0, 0, 0, 0,
                                           RC_LEAKCHECK_REPORT | RC_LEAKCHECK_ERROR};

static const option_desc table[RC_OPT_COUNT] = {
    [RC_OPT_MALLOC] = {"RECLAIM_MALLOC", KIND_CHOICE, RC_MALLOC_DEFAULT, 0, malloc_choices, NULL,
                       "default, debug or malloc", "which allocator serves the heap API"},
    [RC_OPT_MALLOCSTATS] = {"RECLAIM_MALLOCSTATS", KIND_SWITCH, 0, 1, NULL, NULL, "1/0, yes/no, on/off or true/false",
                            "print heap statistics on stderr at exit"},
    [RC_OPT_PURGE_DELAY] = {"RECLAIM_PURGE_DELAY", KIND_MS, 10, 3600000, NULL, NULL,
                            "milliseconds from 0 to 3600000, e.g. 10 or 10ms",
                            "how long a free pool stays resident before it is purged"},
    [RC_OPT_HEAP_RETAIN] = {"RECLAIM_HEAP_RETAIN", KIND_SIZE, 64 << 20, 0, NULL, NULL,
                            "a size in bytes with an optional K, M, G or T suffix, e.g. 64M",
                            "free memory kept resident between trims at most"},
    [RC_OPT_LARGE_CACHE] = {"RECLAIM_LARGE_CACHE", KIND_COUNT, 8, 16, NULL, NULL, "a count from 0 to 16",
                            "freed large mappings kept for reuse"},
    [RC_OPT_DEBUG_QUARANTINE] = {"RECLAIM_DEBUG_QUARANTINE", KIND_COUNT, 1024, 4096, NULL, NULL,
                                 "a count from 0 to 4096",
                                 "freed blocks the debug allocator holds before reuse"},
    [RC_OPT_GC_THRESHOLD] = {"RECLAIM_GC_THRESHOLD", KIND_COUNTS3, 700 | (10 << 21) | ((int64_t)10 << 42), 2097151,
                             NULL, NULL, "three counts up to 2097151 separated by commas, e.g. 700,10,10",
                             "the collector's thresholds (rc_gc_set_threshold)"},
    [RC_OPT_GC_DEBUG] = {"RECLAIM_GC_DEBUG", KIND_FLAGS, 0, 0, gc_debug_names, gc_debug_values,
                         "a comma-separated list of stats, collectable, uncollectable, saveall, leak",
                         "the collector's debug flags (rc_gc_set_debug)"},
    [RC_OPT_LEAKCHECK] = {"RECLAIM_LEAKCHECK", KIND_FLAGS, 0, 0, leakcheck_names, leakcheck_values,
                          "1/0, yes/no, on/off, true/false, or error",
                          "print the objects still alive at exit (error: and exit with status 1 if any)"},
    [RC_OPT_TRACEMALLOC] = {"RECLAIM_TRACEMALLOC", KIND_COUNT, 0, RC_TRACE_MAX_FRAMES, NULL, NULL,
                            "a count of frames from 0 (off) to 64",
                            "start allocation tracing at start-up with tracebacks of this many frames"},
    [RC_OPT_TRACE_FILE] = {"RECLAIM_TRACE_FILE", KIND_PATH, 0, 0, NULL, NULL, "a file path",
                           "write a snapshot of the traces there at exit (and on the trace signal)"},
    [RC_OPT_TRACE_SIGNAL] = {"RECLAIM_TRACE_SIGNAL", KIND_CHOICE, 0, 0, signal_choices, NULL, "usr2, usr1 or none",
                             "the signal that writes a snapshot on demand while tracing to RECLAIM_TRACE_FILE"},
    [RC_OPT_TRACE_UNWIND] = {"RECLAIM_TRACE_UNWIND", KIND_CHOICE, 0, 0, unwind_choices, NULL, "auto, fp or libunwind",
                             "how tracebacks of more than one frame are taken: frame pointers, falling back to "
                             "libunwind where the chain breaks (auto), or one of the two alone"},
    [RC_OPT_MPROF_FD] = {"RECLAIM_MPROF_FD", KIND_COUNT, -1, 1048576, NULL, NULL,
                         "a file descriptor number from 0 to 1048576",
                         "the socket `reclaim mprof run` passes: send heap, collection and scope records there"},
    [RC_OPT_MPROF_INTERVAL] = {"RECLAIM_MPROF_INTERVAL", KIND_MS, 10, 10000, NULL, NULL,
                               "milliseconds from 1 to 10000, e.g. 10 or 10ms",
                               "with RECLAIM_MPROF_FD: time between two heap records"},
    [RC_OPT_PROFILE_OUT] = {"RECLAIM_PROFILE_OUT", KIND_PATH, 0, 0, NULL, NULL, "a file path",
                            "append the RC_PROFILE_FUNCTION tables to the file instead of stderr"},
};

static int64_t values[RC_OPT_COUNT];
static const char *paths[RC_OPT_COUNT]; /* KIND_PATH: the environment's string */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static bool parse_u64(const char *s, uint64_t *out, const char **end) {
    if (!isdigit((unsigned char)*s)) return false;
    uint64_t v = 0;
    while (isdigit((unsigned char)*s)) {
        unsigned d = (unsigned)(*s++ - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    *end = s;
    return true;
}

static bool parse(const option_desc *o, const char *s, int64_t *out) {
    uint64_t v;
    const char *end;
    switch (o->kind) {
    case KIND_CHOICE:
        for (int i = 0; o->choices[i]; i++)
            if (strcasecmp(s, o->choices[i]) == 0) {
                *out = i;
                return true;
            }
        return false;
    case KIND_SWITCH:
        if (!strcasecmp(s, "1") || !strcasecmp(s, "yes") || !strcasecmp(s, "on") || !strcasecmp(s, "true")) {
            *out = 1;
            return true;
        }
        if (!strcasecmp(s, "0") || !strcasecmp(s, "no") || !strcasecmp(s, "off") || !strcasecmp(s, "false")) {
            *out = 0;
            return true;
        }
        return false;
    case KIND_SIZE: {
        if (!parse_u64(s, &v, &end)) return false;
        unsigned shift = 0;
        switch (toupper((unsigned char)*end)) {
        case 'K': shift = 10; break;
        case 'M': shift = 20; break;
        case 'G': shift = 30; break;
        case 'T': shift = 40; break;
        default: break;
        }
        if (shift) end++;
        if (shift && (*end == 'i' || *end == 'I')) end++;
        if (*end == 'b' || *end == 'B') end++;
        if (*end != '\0' || v > (UINT64_MAX >> 1) >> shift) return false;
        *out = (int64_t)(v << shift);
        return true;
    }
    case KIND_COUNTS3: {
        int64_t packed = 0;
        for (int i = 0; i < 3; i++) {
            if (!parse_u64(s, &v, &end) || v > (uint64_t)o->max) return false;
            packed |= (int64_t)v << (21 * i);
            if (i < 2 && *end != ',') return false;
            s = end + (i < 2);
        }
        if (*end != '\0') return false;
        *out = packed;
        return true;
    }
    case KIND_FLAGS: {
        int64_t flags = 0;
        while (*s) {
            size_t n = strcspn(s, ",");
            int i;
            for (i = 0; o->choices[i]; i++)
                if (strlen(o->choices[i]) == n && strncasecmp(s, o->choices[i], n) == 0) break;
            if (!o->choices[i]) return false;
            flags |= o->flag_values[i];
            s += n;
            if (*s == ',') s++;
        }
        *out = flags;
        return true;
    }
    case KIND_PATH:
        *out = 1; /* set; the text is kept in paths[] */
        return true;
    case KIND_COUNT:
    case KIND_MS:
        if (!parse_u64(s, &v, &end)) return false;
        if (o->kind == KIND_MS && strcasecmp(end, "ms") == 0) end += 2;
        if (*end != '\0' || v > (uint64_t)o->max) return false;
        *out = (int64_t)v;
        return true;
    }
    return false;
}

static void read_all(void) {
    for (int i = 0; i < RC_OPT_COUNT; i++) {
        const option_desc *o = &table[i];
        values[i] = o->def;
        const char *s = getenv(o->name);
        if (!s || !*s) continue;
        int64_t v;
        if (o->kind == KIND_PATH) paths[i] = s;
        if (parse(o, s, &v)) values[i] = v;
        else _rc_message("reclaim: %s=%s is not valid (accepted: %s); using the default", o->name, s, o->forms);
    }
}

void _rc_options_init(void) { pthread_once(&once, read_all); }

int64_t _rc_option(rc_option_id id) {
    _rc_options_init();
    return values[id];
}

const char *_rc_option_path(rc_option_id id) {
    _rc_options_init();
    return paths[id];
}

void _rc_options_reload(void) {
    _rc_options_init();
    for (int i = 0; i < RC_OPT_COUNT; i++) paths[i] = NULL;
    read_all();
}
