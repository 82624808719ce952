/*
 * mprof_plot.c — reading an mprof data file and drawing it, as `mprof
 * plot` draws memory_profiler's.
 *
 *   reclaim mprof plot FILE -o OUT.svg|OUT.png [--title T]
 *
 * The reader (mprof_load) takes the whole file, checks its first line
 * ("reclaim-mprof 1") and its last ("end ..."; a file without it was cut
 * short: the sampler died or is still running), and parses every line by
 * its first word into arrays: RSS samples (M), heap records (H),
 * collections (C stop lines; the start is the stop's time minus the
 * duration), and scopes (S begin and end, paired by process and token; a
 * scope whose end never came ends at the end of the file). Any line that
 * does not parse names the file and the line number. docs/mprof.md is the
 * format.
 *
 * The drawing. Time runs left to right in seconds from the start, memory
 * bottom to top in the binary unit (KiB, MiB, GiB) that keeps the top
 * tick below 1024, on "nice" ticks (1, 2 or 5 times a power of ten). The
 * RSS of the process tree is a blue line; each process that reported its
 * heap adds an orange line of bytes in use. A scope is a labelled bracket
 * (a coloured bar in a lane at the top, with a pale band down the plot);
 * overlapping scopes take the first free lane, so nested scopes stack.
 * Each collection is a red tick on the time axis, as wide as it lasted
 * (at least one pixel). The peak RSS is a dot with its value and time.
 * Every element carries a <title> tooltip. The file is plain SVG 1.1
 * (no script, no outside reference) and every piece of text from the
 * data file is escaped, so it stays well-formed XML. PNG output renders
 * that SVG with rsvg-convert (Debian package librsvg2-bin).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "mprof.h"

#define PLOT "mprof plot"

extern char **environ;

/* ==== reading =========================================================== */

/* Growable arrays of the reader. */
#define PUSH(arr, n, cap, item)                                                    \
    do {                                                                           \
        if ((n) == (cap)) {                                                        \
            size_t c_ = (cap) ? (cap) * 2 : 64;                                    \
            void *v_ = realloc((arr), c_ * sizeof *(arr));                         \
            if (!v_) return "out of memory";                                       \
            (arr) = v_;                                                            \
            (cap) = c_;                                                            \
        }                                                                          \
        (arr)[(n)++] = (item);                                                     \
    } while (0)

typedef struct reader {
    mprof_data *d; /* NULL: check only */
    size_t cap_samples, cap_heap, cap_scopes, cap_gcs;
} reader;

/* " N" at *p: one space, then decimal digits. */
static bool num(const char **p, uint64_t *v) {
    const char *s = *p;
    if (*s != ' ' || s[1] < '0' || s[1] > '9') return false;
    s++;
    uint64_t x = 0;
    while (*s >= '0' && *s <= '9') {
        unsigned dgt = (unsigned)(*s++ - '0');
        if (x > (UINT64_MAX - dgt) / 10) return false;
        x = x * 10 + dgt;
    }
    *v = x;
    *p = s;
    return true;
}

/* " word" at *p. */
static bool word(const char **p, const char *w) {
    size_t n = strlen(w);
    if ((*p)[0] != ' ' || strncmp(*p + 1, w, n) != 0) return false;
    char after = (*p)[1 + n];
    if (after != '\0' && after != ' ') return false;
    *p += 1 + n;
    return true;
}

/* Parses one record line (M, H, C, S, P) into r->d; returns NULL, or what
 * is wrong. */
static const char *parse_record(reader *r, const char *line) {
    const char *p = line + 1;
    uint64_t t, pid, f[6];
    mprof_data *d = r->d;
    if (line[0] == '\0' || (line[1] != ' ' && line[1] != '\0')) return "unknown line";
    if (!num(&p, &t)) return "no time";
    switch (line[0]) {
    case 'M':
        if (!num(&p, &f[0]) || !num(&p, &f[1]) || !num(&p, &f[2]) || *p) return "an M line needs rss, main, procs";
        if (d) PUSH(d->samples, d->nsamples, r->cap_samples, ((mprof_sample){t, f[0], f[1], (unsigned)f[2]}));
        return NULL;
    case 'H': {
        /* version 1 had no objects field (the fourth) */
        bool v1 = d && d->version == 1;
        if (!num(&p, &pid)) return "no pid";
        for (int i = 0; i < (v1 ? 5 : 6); i++)
            if (!num(&p, &f[i]))
                return v1 ? "an H line needs in_use, mapped, blocks, collections, drops"
                          : "an H line needs in_use, mapped, blocks, objects, collections, drops";
        if (*p) return "extra fields";
        if (v1) f[5] = f[4], f[4] = f[3], f[3] = 0;
        if (d)
            PUSH(d->heap, d->nheap, r->cap_heap,
                 ((mprof_heap){t, (unsigned)pid, f[0], f[1], f[2], f[3], f[4], f[5]}));
        return NULL;
    }
    case 'P':
        if (!num(&p, &pid)) return "no pid";
        if (!word(&p, "hello") && !word(&p, "bye")) return "a P line is hello or bye";
        if (!num(&p, &f[0]) || *p) return "a P line ends with drops";
        return NULL;
    case 'C':
        if (!num(&p, &pid) || !num(&p, &f[5])) return "no pid or tid";
        if (word(&p, "start")) {
            for (int i = 0; i < 4; i++)
                if (!num(&p, &f[i])) return "a C start line needs generation and 3 counts";
            if (*p || f[0] > 2) return "bad C start line";
            return NULL;
        }
        if (!word(&p, "stop")) return "a C line is start or stop";
        for (int i = 0; i < 4; i++)
            if (!num(&p, &f[i])) return "a C stop line needs generation, collected, uncollectable, duration";
        if (*p || f[0] > 2) return "bad C stop line";
        if (d)
            PUSH(d->gcs, d->ngcs, r->cap_gcs,
                 ((mprof_gc){t >= f[3] ? t - f[3] : 0, f[3], (unsigned)pid, (int)f[0], f[1], f[2]}));
        return NULL;
    case 'S': {
        uint64_t tid, token;
        if (!num(&p, &pid) || !num(&p, &tid) || !num(&p, &token)) return "an S line needs pid, tid, token";
        if (word(&p, "end")) {
            if (*p) return "extra fields";
            if (d)
                for (size_t i = d->nscopes; i-- > 0;) {
                    mprof_scope *s = &d->scopes[i];
                    if (s->pid == pid && s->token == token && !s->closed) {
                        s->end = t;
                        s->closed = true;
                        break;
                    }
                }
            return NULL;
        }
        if (strncmp(p, " begin ", 7) != 0 || !p[7]) return "an S line is begin NAME or end";
        if (d) {
            char *name = strdup(p + 7);
            if (!name) return "out of memory";
            PUSH(d->scopes, d->nscopes, r->cap_scopes,
                 ((mprof_scope){t, t, (unsigned)pid, (unsigned)tid, token, false, name}));
        }
        return NULL;
    }
    default:
        return "unknown line";
    }
}

bool mprof_record_ok(const char *line) {
    reader r = {0};
    return line[0] && strchr("MHCSP", line[0]) && parse_record(&r, line) == NULL;
}

void mprof_data_free(mprof_data *d) {
    for (size_t i = 0; i < d->nscopes; i++) free(d->scopes[i].name);
    free(d->scopes);
    free(d->samples);
    free(d->heap);
    free(d->gcs);
    free(d->command);
    free(d->status);
    memset(d, 0, sizeof *d);
}

/* The command line's words as text: "\ " and "\\" back to what they
 * were, "\xHH" (a control byte) as '?'. */
static char *unescape_command(const char *s) {
    char *out = malloc(strlen(s) + 1), *o = out;
    if (!out) return NULL;
    while (*s) {
        if (s[0] == '\\' && s[1] == 'x' && s[2] && s[3]) {
            *o++ = '?';
            s += 4;
        } else if (s[0] == '\\' && s[1]) {
            *o++ = s[1];
            s += 2;
        } else *o++ = *s++;
    }
    *o = '\0';
    return out;
}

static bool fail_load(char *err, size_t errlen, const char *fmt, const char *path, size_t line, const char *what) {
    snprintf(err, errlen, fmt, path, line, what);
    return false;
}

bool mprof_load(const char *path, mprof_data *d, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
        return false;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        snprintf(err, errlen, "cannot read '%s': not a regular file", path);
        return false;
    }
    size_t size = (size_t)sb.st_size;
    char *text = malloc(size + 1);
    if (!text || fread(text, 1, size, f) != size) {
        free(text);
        fclose(f);
        snprintf(err, errlen, "cannot read '%s'", path);
        return false;
    }
    fclose(f);
    text[size] = '\0';
    reader r = {.d = d};
    bool ok = false, ended = false;
    size_t lineno = 0;
    const char *magic = "reclaim-mprof ";
    if (size < strlen(magic) || strncmp(text, magic, strlen(magic)) != 0 || memchr(text, '\0', size)) {
        snprintf(err, errlen, "'%s' is not a reclaim mprof data file", path);
        goto out;
    }
    if (text[size - 1] != '\n') {
        snprintf(err, errlen, "'%s' is truncated (its last line is cut short)", path);
        goto out;
    }
    for (char *line = text, *next; *line; line = next) {
        char *nl = strchr(line, '\n');
        *nl = '\0';
        next = nl + 1;
        lineno++;
        if (ended) {
            fail_load(err, errlen, "'%s' line %zu: %s", path, lineno, "a line after the end line");
            goto out;
        }
        if (lineno == 1) {
            char *e;
            unsigned long v = strtoul(line + strlen(magic), &e, 10);
            if (*e || e == line + strlen(magic)) {
                snprintf(err, errlen, "'%s' is not a reclaim mprof data file", path);
                goto out;
            }
            if (v != 1 && v != MPROF_FORMAT_VERSION) {
                snprintf(err, errlen, "'%s' is format version %lu; this reclaim reads versions 1 to %d", path, v,
                         MPROF_FORMAT_VERSION);
                goto out;
            }
            d->version = (unsigned)v;
            continue;
        }
        if (line[0] == '#' || line[0] == '\0') continue;
        const char *p;
        uint64_t v;
        if (strncmp(line, "command", 7) == 0 && (line[7] == ' ' || line[7] == '\0')) {
            free(d->command);
            d->command = unescape_command(line[7] ? line + 8 : "");
        } else if (strncmp(line, "interval", 8) == 0) {
            p = line + 8;
            if (!num(&p, &v) || *p) {
                fail_load(err, errlen, "'%s' line %zu: %s", path, lineno, "bad interval");
                goto out;
            }
            d->interval = v;
        } else if (strncmp(line, "clock", 5) == 0) {
            p = line + 5;
            if (!num(&p, &v) || *p) {
                fail_load(err, errlen, "'%s' line %zu: %s", path, lineno, "bad clock");
                goto out;
            }
        } else if (strncmp(line, "end ", 4) == 0) {
            p = line + 3;
            uint64_t code, n[4];
            bool sig = false;
            if (!num(&p, &v) || !((sig = word(&p, "signal")) || word(&p, "exit")) || !num(&p, &code) ||
                !num(&p, &n[0]) || !num(&p, &n[1]) || !num(&p, &n[2]) || !num(&p, &n[3]) || *p) {
                fail_load(err, errlen, "'%s' line %zu: %s", path, lineno,
                          "an end line is: end TIME exit|signal N SAMPLES RECORDS DROPS BAD");
                goto out;
            }
            d->duration = v;
            d->drops = n[2];
            char buf[48];
            snprintf(buf, sizeof buf, "%s %llu", sig ? "signal" : "exit", (unsigned long long)code);
            d->status = strdup(buf);
            ended = true;
        } else {
            const char *why = parse_record(&r, line);
            if (why) {
                fail_load(err, errlen, "'%s' line %zu: %s", path, lineno, why);
                goto out;
            }
        }
    }
    if (!ended) {
        snprintf(err, errlen, "'%s' is truncated (no end line: the sampler did not finish)", path);
        goto out;
    }
    for (size_t i = 0; i < d->nscopes; i++)
        if (!d->scopes[i].closed) d->scopes[i].end = d->duration > d->scopes[i].begin ? d->duration : d->scopes[i].begin;
    if (!d->command) d->command = strdup("");
    ok = true;
out:
    free(text);
    if (!ok) mprof_data_free(d);
    return ok;
}

/* ==== drawing =========================================================== */

enum { W = 960, H = 560, LEFT = 84, RIGHT = 24, TOP = 56, BOTTOM = 64, LANE = 17, MAX_LANES = 8 };

typedef struct frame {
    double x0, x1, y0, y1;  /* the plot area in pixels (y0 top) */
    double tmax;            /* seconds at the right edge */
    double vmax;            /* bytes at the top */
} frame;

static double px_t(const frame *f, uint64_t ns) { return f->x0 + (f->x1 - f->x0) * ((double)ns / 1e9) / f->tmax; }
static double px_v(const frame *f, double bytes) { return f->y1 - (f->y1 - f->y0) * bytes / f->vmax; }

/* A "nice" step near span / 5: 1, 2 or 5 times a power of ten. */
static double nice_step(double span) {
    double raw = span / 5, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static const char *const unit_names[] = {"B", "KiB", "MiB", "GiB", "TiB"};

/* The unit that keeps max under 1024 of it. */
static unsigned unit_for(double max) {
    unsigned u = 0;
    while (u < 4 && max >= 1024.0) {
        max /= 1024.0;
        u++;
    }
    return u;
}

static void put_bytes(FILE *out, double bytes) {
    char buf[32];
    cli_format_size(buf, sizeof buf, bytes, false);
    fputs(buf, out);
}

static const char *const scope_colours[] = {"#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"};

void mprof_write_svg(FILE *out, const mprof_data *d, const char *title) {
    /* the extent of the data */
    double vmax = 0;
    size_t peak = 0;
    for (size_t i = 0; i < d->nsamples; i++)
        if ((double)d->samples[i].rss > vmax) {
            vmax = (double)d->samples[i].rss;
            peak = i;
        }
    for (size_t i = 0; i < d->nheap; i++)
        if ((double)d->heap[i].in_use > vmax) vmax = (double)d->heap[i].in_use;
    uint64_t tend = d->duration;
    for (size_t i = 0; i < d->nsamples; i++)
        if (d->samples[i].t > tend) tend = d->samples[i].t;
    frame f = {LEFT, W - RIGHT, TOP, H - BOTTOM, 0, 0};
    double tsec = (double)tend / 1e9;
    if (tsec <= 0) tsec = 1e-3;
    double tstep = nice_step(tsec);
    f.tmax = ceil(tsec / tstep - 1e-9) * tstep;
    if (f.tmax <= 0) f.tmax = tstep;
    /* lanes: each scope takes the first lane free, in pixels, where its
     * bracket and its label begin (so labels never overlap) */
    unsigned *lane = calloc(d->nscopes ? d->nscopes : 1, sizeof *lane);
    double lane_end[MAX_LANES];
    unsigned lanes = 0;
    for (size_t i = 0; i < d->nscopes && lane; i++) {
        const mprof_scope *s = &d->scopes[i];
        double x = px_t(&f, s->begin), x1 = px_t(&f, s->end), label = x + 8 + 6.5 * (double)strlen(s->name);
        if (label > x1) x1 = label;
        unsigned k = 0;
        while (k < lanes && k < MAX_LANES - 1 && lane_end[k] > x) k++;
        if (k == lanes) lane_end[lanes++] = x1;
        else if (lane_end[k] < x1) lane_end[k] = x1;
        lane[i] = k;
    }
    f.y0 += lanes * LANE;
    unsigned unit = unit_for(vmax * 1.05);
    double scale = pow(1024, unit);
    double vtop = vmax > 0 ? vmax * 1.08 / scale : 1;
    double vstep = nice_step(vtop);
    f.vmax = ceil(vtop / vstep - 1e-9) * vstep * scale;
    if (f.vmax <= 0) f.vmax = scale;

    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Verdana, sans-serif\" font-size=\"12\">\n",
            W, H, W, H);
    fputs("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n", out);
    /* title */
    fprintf(out, "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">", W / 2);
    if (title) cli_put(out, title, CLI_ESC_XML);
    else {
        /* the command, cut to what fits (at a character's first byte) */
        const char *cmd = d->command ? d->command : "";
        char buf[84];
        size_t n = strlen(cmd);
        if (n >= sizeof buf) {
            n = sizeof buf - 4;
            while (n && ((unsigned char)cmd[n] & 0xC0) == 0x80) n--;
            snprintf(buf, sizeof buf, "%.*s...", (int)n, cmd);
            cmd = buf;
        }
        fputs("reclaim mprof: ", out);
        cli_put(out, cmd, CLI_ESC_XML);
    }
    fputs("</text>\n", out);
    fprintf(out, "<text x=\"%d\" y=\"42\" text-anchor=\"middle\" fill=\"#555555\">%zu samples every %.3g ms, %s",
            W / 2, d->nsamples, (double)d->interval / 1e6, d->status ? d->status : "");
    if (d->drops) fprintf(out, ", %llu records dropped", (unsigned long long)d->drops);
    fputs("</text>\n", out);

    /* scope bands and brackets, under everything else */
    for (size_t i = 0; i < d->nscopes; i++) {
        const mprof_scope *s = &d->scopes[i];
        double x = px_t(&f, s->begin), w = px_t(&f, s->end) - x;
        if (w < 1) w = 1;
        const char *c = scope_colours[i % (sizeof scope_colours / sizeof scope_colours[0])];
        double y = TOP + (lane ? lane[i] : 0) * LANE;
        fprintf(out, "<g class=\"scope\"><title>scope ");
        cli_put(out, s->name, CLI_ESC_XML);
        fprintf(out, ": %.3f s to %.3f s (%.1f ms), pid %u%s</title>\n", (double)s->begin / 1e9, (double)s->end / 1e9,
                (double)(s->end - s->begin) / 1e6, s->pid, s->closed ? "" : ", never ended");
        fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" fill-opacity=\"0.08\"/>\n",
                x, f.y0, w, f.y1 - f.y0, c);
        fprintf(out,
                "<path d=\"M%.1f,%.1f v-4 h%.1f v4\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>\n"
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\" fill-opacity=\"0.25\"/>\n",
                x, y + LANE - 1, w, c, x, y + 1, w, LANE - 5, c);
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#222222\">", x + 3, y + LANE - 6);
        cli_put(out, s->name, CLI_ESC_XML);
        fputs("</text></g>\n", out);
    }

    free(lane);

    /* axes, grid and tick labels */
    fprintf(out, "<g stroke=\"#dddddd\" stroke-width=\"1\">\n");
    for (double v = 0; v <= f.vmax / scale + 1e-9; v += vstep)
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", f.x0, px_v(&f, v * scale), f.x1,
                px_v(&f, v * scale));
    for (double t = 0; t <= f.tmax + 1e-9; t += tstep)
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", px_t(&f, (uint64_t)(t * 1e9)), f.y0,
                px_t(&f, (uint64_t)(t * 1e9)), f.y1);
    fputs("</g>\n", out);
    fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#333333\"/>\n",
            f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0);
    fputs("<g fill=\"#333333\">\n", out);
    for (double v = 0; v <= f.vmax / scale + 1e-9; v += vstep)
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", f.x0 - 6, px_v(&f, v * scale) + 4,
                v);
    for (double t = 0; t <= f.tmax + 1e-9; t += tstep)
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n", px_t(&f, (uint64_t)(t * 1e9)),
                f.y1 + 18, t);
    fprintf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">time (s)</text>\n", (f.x0 + f.x1) / 2, H - 22);
    fprintf(out, "<text x=\"20\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 20 %.1f)\">memory (%s)</text>\n",
            (f.y0 + f.y1) / 2, (f.y0 + f.y1) / 2, unit_names[unit]);
    fputs("</g>\n", out);

    /* collection ticks on the time axis */
    for (size_t i = 0; i < d->ngcs; i++) {
        const mprof_gc *g = &d->gcs[i];
        double x = px_t(&f, g->start), w = px_t(&f, g->start + g->duration) - x;
        if (w < 1) w = 1;
        fprintf(out,
                "<rect class=\"gc\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"10\" fill=\"#d62728\"><title>"
                "collection of generation %d at %.3f s: %.3f ms, %llu collected, %llu uncollectable (pid %u)</title></rect>\n",
                x, f.y1 - 10, w, g->generation, (double)g->start / 1e9, (double)g->duration / 1e6,
                (unsigned long long)g->collected, (unsigned long long)g->uncollectable, g->pid);
    }

    /* the heap's bytes in use, one line per process */
    unsigned heap_pids[8];
    size_t nheap_pids = 0;
    for (size_t i = 0; i < d->nheap && nheap_pids < 8; i++) {
        bool seen = false;
        for (size_t k = 0; k < nheap_pids; k++) seen |= heap_pids[k] == d->heap[i].pid;
        if (!seen) heap_pids[nheap_pids++] = d->heap[i].pid;
    }
    for (size_t k = 0; k < nheap_pids; k++) {
        fprintf(out, "<polyline class=\"heap\" fill=\"none\" stroke=\"#ff7f0e\" stroke-width=\"1.5\"%s points=\"",
                k ? " stroke-dasharray=\"4 2\"" : "");
        bool first = true;
        for (size_t i = 0; i < d->nheap; i++) {
            if (d->heap[i].pid != heap_pids[k]) continue;
            fprintf(out, "%s%.1f,%.1f", first ? "" : " ", px_t(&f, d->heap[i].t), px_v(&f, (double)d->heap[i].in_use));
            first = false;
        }
        fprintf(out, "\"><title>heap bytes in use, pid %u</title></polyline>\n", heap_pids[k]);
    }

    /* the RSS line */
    if (d->nsamples) {
        fputs("<polyline class=\"rss\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"", out);
        for (size_t i = 0; i < d->nsamples; i++)
            fprintf(out, "%s%.1f,%.1f", i ? " " : "", px_t(&f, d->samples[i].t), px_v(&f, (double)d->samples[i].rss));
        fputs("\"><title>resident memory of the process tree</title></polyline>\n", out);
        /* the peak */
        const mprof_sample *pk = &d->samples[peak];
        double x = px_t(&f, pk->t), y = px_v(&f, (double)pk->rss);
        bool left = x > (f.x0 + f.x1) / 2;
        fprintf(out, "<g class=\"peak\"><circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#d62728\"/>\n", x, y);
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" fill=\"#d62728\">peak ", left ? x - 8 : x + 8,
                y < f.y0 + 14 ? y + 16 : y - 8, left ? "end" : "start");
        put_bytes(out, (double)pk->rss);
        fprintf(out, " at %.3f s</text></g>\n", (double)pk->t / 1e9);
    } else {
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#555555\">no samples</text>\n",
                (f.x0 + f.x1) / 2, (f.y0 + f.y1) / 2);
    }

    /* legend */
    double ly = f.y0 + 16;
    fprintf(out, "<g font-size=\"11\">\n");
    fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1f77b4\" stroke-width=\"2\"/>"
                 "<text x=\"%.1f\" y=\"%.1f\">RSS (process tree)</text>\n",
            f.x0 + 10, ly, f.x0 + 30, ly, f.x0 + 36, ly + 4);
    if (nheap_pids) {
        ly += 15;
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ff7f0e\" stroke-width=\"1.5\"/>"
                     "<text x=\"%.1f\" y=\"%.1f\">heap bytes in use</text>\n",
                f.x0 + 10, ly, f.x0 + 30, ly, f.x0 + 36, ly + 4);
    }
    if (d->ngcs) {
        ly += 15;
        fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"3\" height=\"10\" fill=\"#d62728\"/>"
                     "<text x=\"%.1f\" y=\"%.1f\">collection (%zu)</text>\n",
                f.x0 + 19, ly - 5, f.x0 + 36, ly + 4, d->ngcs);
    }
    fputs("</g>\n</svg>\n", out);
}

/* ==== the command ======================================================== */

/* Is there an executable named name on PATH? */
static bool on_path(const char *name) {
    const char *path = getenv("PATH");
    if (!path) return false;
    while (*path) {
        size_t n = strcspn(path, ":");
        char buf[4096];
        if (n && n < sizeof buf - strlen(name) - 2) {
            snprintf(buf, sizeof buf, "%.*s/%s", (int)n, path, name);
            if (access(buf, X_OK) == 0) return true;
        }
        path += n;
        if (*path == ':') path++;
    }
    return false;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static int plot_usage(const char *problem, const char *arg) {
    if (arg)
        return cli_fail(PLOT, "%s '%s' (usage: reclaim mprof plot FILE -o OUT.svg|OUT.png [--title T])", problem, arg);
    return cli_fail(PLOT, "%s (usage: reclaim mprof plot FILE -o OUT.svg|OUT.png [--title T])", problem);
}

int mprof_plot_command(int argc, char **argv) {
    const char *file = NULL, *output = NULL, *title = NULL;
    bool options = true;
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        if (options && strcmp(w, "--") == 0) {
            options = false;
            continue;
        }
        if (options && w[0] == '-' && w[1]) {
            const char **slot;
            const char *value = NULL;
            if (strcmp(w, "-o") == 0 || strcmp(w, "--output") == 0) slot = &output;
            else if (strncmp(w, "-o", 2) == 0) slot = &output, value = w + 2;
            else if (strncmp(w, "--output=", 9) == 0) slot = &output, value = w + 9;
            else if (strcmp(w, "--title") == 0) slot = &title;
            else if (strncmp(w, "--title=", 8) == 0) slot = &title, value = w + 8;
            else return plot_usage("unknown option", w);
            if (!value) {
                if (i + 1 >= argc) return cli_fail(PLOT, "option '%s' needs a value", w);
                value = argv[++i];
            }
            *slot = value;
            continue;
        }
        if (file) return plot_usage("one data file only, not also", w);
        file = w;
    }
    if (!file) return plot_usage("no data file given", NULL);
    if (!output) return plot_usage("no output given: -o OUT.svg or -o OUT.png", NULL);
    bool png = ends_with(output, ".png");
    if (!png && !ends_with(output, ".svg"))
        return cli_fail(PLOT, "-o must name an .svg or a .png file, not '%s'", output);
    if (png && !on_path("rsvg-convert"))
        return cli_fail(PLOT, "PNG output needs rsvg-convert (Debian package librsvg2-bin), which is not installed");

    mprof_data d;
    char err[1024];
    if (!mprof_load(file, &d, err, sizeof err)) return cli_fail(PLOT, "%s", err);

    char tmp[] = "/tmp/reclaim-mprof-XXXXXX.svg";
    const char *svg_path = output;
    FILE *out;
    if (png) {
        /* check the output first, for a clear message */
        FILE *probe = fopen(output, "w");
        if (!probe) {
            int e = errno;
            mprof_data_free(&d);
            return cli_fail(PLOT, "cannot write '%s': %s", output, strerror(e));
        }
        fclose(probe);
        int fd = mkstemps(tmp, 4);
        out = fd >= 0 ? fdopen(fd, "w") : NULL;
        svg_path = tmp;
    } else out = fopen(output, "w");
    if (!out) {
        int e = errno;
        mprof_data_free(&d);
        return cli_fail(PLOT, "cannot write '%s': %s", svg_path, strerror(e));
    }
    mprof_write_svg(out, &d, title);
    mprof_data_free(&d);
    bool bad = ferror(out) != 0;
    if (fclose(out) != 0 || bad) {
        if (png) unlink(tmp);
        return cli_fail(PLOT, "cannot write '%s'", svg_path);
    }
    if (!png) return 0;

    char *args[] = {"rsvg-convert", "-f", "png", "-o", (char *)output, tmp, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "rsvg-convert", NULL, NULL, args, environ);
    int status = 0;
    if (rc == 0 && waitpid(pid, &status, 0) < 0) rc = errno;
    unlink(tmp);
    if (rc != 0) return cli_fail(PLOT, "cannot run rsvg-convert: %s", strerror(rc));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        unlink(output);
        return cli_fail(PLOT, "rsvg-convert failed to write '%s'", output);
    }
    return 0;
}
