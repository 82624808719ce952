/*
 * cli.c — what the snapshot commands share: their options, loading a
 * snapshot, opening and closing the output, tracemalloc's size format,
 * and writing names safely into XML, JSON and collapsed stacks.
 *
 * Options may come before, between or after the file arguments; "--"
 * ends them. A value is the next word or follows '=' (--by=file) or, for
 * the one-letter options, the letter itself (-n5, -oout.svg). Whatever is
 * wrong is reported on one line and the command exits with status 2: the
 * user's script can tell bad use (2) from success (0).
 *
 * Names in a snapshot come from the program's debug information and file
 * system, so they may hold any byte. The writers here never let one break
 * the format: XML and JSON get valid UTF-8 (an invalid byte becomes '?' or
 * U+FFFD) with the format's special characters escaped, a collapsed stack
 * gets no ';' (the frame separator) and no line break.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_fail(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "reclaim %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_BAD_USE;
}

/* ==== options =========================================================== */

static bool parse_by(const cli_args *a, const char *word, rc_trace_key *key) {
    static const struct {
        const char *name;
        rc_trace_key key;
    } keys[] = {
        {"line", RC_BY_LINE}, {"file", RC_BY_FILE}, {"function", RC_BY_FUNCTION}, {"traceback", RC_BY_TRACEBACK},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(word, keys[i].name) == 0) {
            *key = keys[i].key;
            return true;
        }
    cli_fail(a->cmd, "--by must be line, file, function or traceback, not '%s'", word);
    return false;
}

static bool parse_limit(const cli_args *a, const char *word, size_t *limit) {
    char *end;
    errno = 0;
    unsigned long long n = strtoull(word, &end, 10);
    if (word[0] < '0' || word[0] > '9' || *end || errno) {
        cli_fail(a->cmd, "-n needs a whole number (0 for every row), not '%s'", word);
        return false;
    }
    *limit = (size_t)n;
    return true;
}

/* The option of argv[*i] that takes a value: its value, from "--name=v",
 * "-xv" or the next word (then *i moves on); NULL after the error. */
static const char *option_value(const cli_args *a, int argc, char **argv, int *i, const char *name) {
    const char *w = argv[*i];
    size_t n = strlen(name);
    if (w[n] == '=') return w + n + 1;
    if (w[n] && name[1] != '-') return w + n; /* -n5, -oout.svg */
    if (*i + 1 >= argc) {
        cli_fail(a->cmd, "option '%s' needs a value", name);
        return NULL;
    }
    return argv[++*i];
}

/* Whether word is option name, alone or with its value attached. */
static bool is_option(const char *word, const char *name) {
    size_t n = strlen(name);
    if (strncmp(word, name, n) != 0) return false;
    return word[n] == '\0' || word[n] == '=' || name[1] != '-';
}

bool cli_parse(int argc, char **argv, const char *cmd, unsigned allowed, int npos, cli_args *a) {
    *a = (cli_args){.cmd = cmd, .by = RC_BY_LINE, .limit = 10};
    bool options = true;
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i], *v;
        if (options && strcmp(w, "--") == 0) {
            options = false;
        } else if (!options || w[0] != '-' || w[1] == '\0') {
            if (a->npos == npos) return cli_fail(cmd, "unexpected argument '%s'", w), false;
            a->pos[a->npos++] = w;
        } else if ((allowed & CLI_OPT_BY) && is_option(w, "--by")) {
            if (!(v = option_value(a, argc, argv, &i, "--by")) || !parse_by(a, v, &a->by)) return false;
        } else if ((allowed & CLI_OPT_LIMIT) && is_option(w, "-n")) {
            if (!(v = option_value(a, argc, argv, &i, "-n")) || !parse_limit(a, v, &a->limit)) return false;
        } else if ((allowed & CLI_OPT_OUTPUT) && is_option(w, "-o")) {
            if (!(v = option_value(a, argc, argv, &i, "-o"))) return false;
            if (!*v) return cli_fail(cmd, "-o needs a file name (or - for standard output)"), false;
            a->output = v;
        } else if ((allowed & CLI_OPT_FORMAT) && (!strcmp(w, "--collapsed") || !strcmp(w, "--speedscope"))) {
            cli_format f = w[2] == 'c' ? CLI_FORMAT_COLLAPSED : CLI_FORMAT_SPEEDSCOPE;
            if (a->format && a->format != f) return cli_fail(cmd, "choose one of --collapsed and --speedscope"), false;
            a->format = f;
        } else if ((allowed & CLI_OPT_FILTER) && is_option(w, "--include")) {
            if (!(a->include = option_value(a, argc, argv, &i, "--include"))) return false;
        } else if ((allowed & CLI_OPT_FILTER) && is_option(w, "--exclude")) {
            if (!(a->exclude = option_value(a, argc, argv, &i, "--exclude"))) return false;
        } else {
            return cli_fail(cmd, "unknown option '%s'", w), false;
        }
    }
    if (a->npos < npos)
        return cli_fail(cmd, "missing %s (usage: see reclaim help)",
                        npos == 2 && a->npos == 1 ? "the new snapshot file" : "a snapshot file"),
               false;
    if ((allowed & CLI_OPT_FORMAT) && !a->format)
        return cli_fail(cmd, "choose a format: --collapsed or --speedscope"), false;
    if ((allowed & CLI_OPT_OUTPUT) && !a->output)
        return cli_fail(cmd, "missing -o OUTPUT (- for standard output)"), false;
    return true;
}

/* ==== snapshots and output ============================================== */

const char *cli_error_text(void) {
    const char *e = rc_last_error();
    if (strncmp(e, "rc_", 3) == 0) {
        const char *colon = strstr(e, ": ");
        if (colon) return colon + 2;
    }
    return *e ? e : "unknown error";
}

static rc_snapshot *apply_filter(const cli_args *a, rc_snapshot *s, const char *pattern, bool include) {
    rc_snapshot *f = rc_snapshot_filter(s, pattern, include);
    rc_snapshot_free(s);
    if (!f) cli_fail(a->cmd, "%s", cli_error_text());
    return f;
}

rc_snapshot *cli_load(const cli_args *a, const char *path) {
    rc_snapshot *s = rc_snapshot_load(path);
    if (!s) {
        cli_fail(a->cmd, "%s", cli_error_text());
        return NULL;
    }
    if (s && a->include) s = apply_filter(a, s, a->include, true);
    if (s && a->exclude) s = apply_filter(a, s, a->exclude, false);
    return s;
}

FILE *cli_open_output(const cli_args *a) {
    if (strcmp(a->output, "-") == 0) return stdout;
    FILE *f = fopen(a->output, "w");
    if (!f) cli_fail(a->cmd, "cannot write '%s': %s", a->output, strerror(errno));
    return f;
}

int cli_close_output(const cli_args *a, FILE *out) {
    const char *name = a->output && strcmp(a->output, "-") != 0 ? a->output : "standard output";
    bool failed = fflush(out) != 0 || ferror(out);
    int err = errno;
    if (out != stdout && fclose(out) != 0 && !failed) {
        failed = true;
        err = errno;
    }
    if (failed) return cli_fail(a->cmd, "writing '%s' failed: %s", name, strerror(err ? err : EIO));
    return 0;
}

/* ==== text ============================================================== */

void cli_format_size(char *buf, size_t len, double size, bool sign) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    size += 0.0; /* -0.0 reads as +0, as Python's int 0 does */
    for (size_t u = 0;; u++) {
        double mag = size < 0 ? -size : size;
        if (mag < 100 && u > 0) {
            snprintf(buf, len, sign ? "%+.1f %s" : "%.1f %s", size, units[u]);
            return;
        }
        if (mag < 10 * 1024 || u == 4) {
            snprintf(buf, len, sign ? "%+.0f %s" : "%.0f %s", size, units[u]);
            return;
        }
        size /= 1024;
    }
}

/* Length of the valid UTF-8 sequence at s (1..4), 0 when s[0] starts none. */
static size_t utf8_length(const unsigned char *s) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t n;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF) n = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) n = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) n = 4, min = 0x10000;
    else return 0;
    unsigned cp = c & (0x3F >> (n - 1));
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

void cli_put(FILE *out, const char *str, cli_escape mode) {
    const unsigned char *s = (const unsigned char *)(str ? str : "?");
    while (*s) {
        size_t n = utf8_length(s);
        if (n == 0) { /* not UTF-8 */
            fputs(mode == CLI_ESC_JSON ? "\\ufffd" : "?", out);
            s++;
            continue;
        }
        unsigned c = *s;
        if (n > 1 || (c >= 0x20 && c != 0x7F)) {
            const char *rep = NULL;
            if (mode == CLI_ESC_XML) {
                rep = c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '"' ? "&quot;"
                    : c == '\'' ? "&apos;" : NULL;
            } else if (mode == CLI_ESC_JSON) {
                rep = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : NULL;
            } else if (mode == CLI_ESC_COLLAPSED && c == ';') {
                rep = ":";
            }
            if (rep) fputs(rep, out);
            else fwrite(s, 1, n, out);
        } else if (mode == CLI_ESC_JSON) {
            fprintf(out, "\\u%04x", c);
        } else {
            fputc(c == '\t' && mode == CLI_ESC_TEXT ? '\t' : '?', out);
        }
        s += n;
    }
}

void cli_put_frame_name(FILE *out, const rc_frame *f, cli_escape mode) {
    cli_put(out, f->function && f->function[0] ? f->function : "?", mode);
    if (!f->file || strcmp(f->file, "?") == 0) return;
    fputs(" (", out);
    cli_put(out, f->file, mode);
    if (f->line) fprintf(out, ":%u", f->line);
    fputc(')', out);
}
