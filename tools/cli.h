/*
 * cli.h — what the files of the `reclaim` command share.
 *
 * tools/reclaim.c   main: the command table, `run`, `version`, `help`
 * tools/cli.c       options, loading snapshots, output files, sizes,
 *                   escaping text for XML, JSON and collapsed stacks
 * tools/report.c    `top` and `diff` (tracemalloc's Statistic lines)
 * tools/flame.c     `flamegraph` (an SVG) and `export` (collapsed stacks,
 *                   speedscope JSON)
 *
 * Every command returns its exit status: 0, or CLI_BAD_USE (2) after
 * printing one line "reclaim CMD: problem" to stderr, for bad options,
 * missing arguments, a snapshot that cannot be read, an output that cannot
 * be written. The tool uses reclaim's public API only.
 */
#ifndef RECLAIM_TOOLS_CLI_H
#define RECLAIM_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <reclaim.h>

#define CLI_BAD_USE 2

/* ---- options ----------------------------------------------------------- */

/* Which options a command accepts (cli_parse's allowed mask). */
enum {
    CLI_OPT_BY = 1 << 0,       /* --by line|file|function|traceback */
    CLI_OPT_LIMIT = 1 << 1,    /* -n N */
    CLI_OPT_OUTPUT = 1 << 2,   /* -o PATH ("-": standard output) */
    CLI_OPT_FORMAT = 1 << 3,   /* --collapsed | --speedscope */
    CLI_OPT_FILTER = 1 << 4,   /* --include GLOB, --exclude GLOB */
};

typedef enum cli_format { CLI_FORMAT_NONE, CLI_FORMAT_COLLAPSED, CLI_FORMAT_SPEEDSCOPE } cli_format;

/* A command line after cli_parse. Strings are borrowed from argv. */
typedef struct cli_args {
    const char *cmd;           /* the command's name, for messages */
    const char *pos[2];        /* the snapshot files */
    int npos;
    rc_trace_key by;           /* default RC_BY_LINE */
    size_t limit;              /* default 10; 0: every row */
    const char *output;        /* NULL when not given */
    cli_format format;
    const char *include;       /* NULL: keep every trace */
    const char *exclude;
} cli_args;

/* Parses argv[0..argc) (the words after the command's name) into *a,
 * accepting the options in allowed and exactly npos file arguments.
 * Returns false after printing the error. */
bool cli_parse(int argc, char **argv, const char *cmd, unsigned allowed, int npos, cli_args *a);

/* ---- snapshots and output ---------------------------------------------- */

/* Prints "reclaim CMD: MESSAGE" to stderr; returns CLI_BAD_USE. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* rc_last_error without its "rc_function: " prefix (the user called
 * reclaim, not the function); "unknown error" when it is empty. */
const char *cli_error_text(void);

/* The snapshot in path, with a's --include/--exclude applied; NULL after
 * printing the loader's error (which names the file and the line). Freed
 * with rc_snapshot_free. */
rc_snapshot *cli_load(const cli_args *a, const char *path);

/* The stream for a.output ("-": stdout); NULL after printing the error. */
FILE *cli_open_output(const cli_args *a);
/* Flushes and closes out (stdout is flushed only); returns 0, or
 * CLI_BAD_USE after printing the error when anything failed to write. */
int cli_close_output(const cli_args *a, FILE *out);

/* ---- text ---------------------------------------------------------------- */

/* size formatted as tracemalloc's _format_size: "1023 B", "10.5 KiB",
 * "1536 KiB", with a sign when sign is true. buf holds at least 32 bytes. */
void cli_format_size(char *buf, size_t len, double size, bool sign);

/* How cli_put writes a string. Every mode writes valid UTF-8 (an invalid
 * byte becomes '?' or U+FFFD) without control characters. */
typedef enum cli_escape {
    CLI_ESC_TEXT,      /* as is, control characters as '?' */
    CLI_ESC_XML,       /* & < > " ' as entities */
    CLI_ESC_JSON,      /* inside a JSON string */
    CLI_ESC_COLLAPSED, /* a collapsed-stack frame: no ';', no newline */
} cli_escape;
void cli_put(FILE *out, const char *s, cli_escape mode);

/* A frame's name for a flame graph or a collapsed stack: "function
 * (file:line)", "function (file)" when the line is unknown, "function"
 * when the file is too. Written with cli_put in mode. */
void cli_put_frame_name(FILE *out, const rc_frame *f, cli_escape mode);

/* ---- the commands (argv: the words after the command's name) ----------- */

int cli_top(int argc, char **argv);
int cli_diff(int argc, char **argv);
int cli_flamegraph(int argc, char **argv);
int cli_export(int argc, char **argv);

#endif /* RECLAIM_TOOLS_CLI_H */
