/*
 * mprof.c — `reclaim mprof`: memory over time, as memory_profiler's
 * `mprof run` and `mprof plot`.
 *
 *   reclaim mprof run [--interval 10ms] [-o FILE] [--] CMD [ARGS...]
 *   reclaim mprof plot FILE -o OUT.svg|OUT.png [--title T]   (mprof_plot.c)
 *
 * The sampler (`run`). It forks CMD and, every interval, adds up the
 * resident memory of CMD and every process below it, and writes one M
 * line to the data file (docs/mprof.md; default name
 * reclaim-mprof-PID.dat, PID the sampler's). The tree: the sampler
 * makes itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so a
 * grandchild whose parent exits is re-parented to it and stays counted;
 * the tree is then simply every descendant of the sampler, found through
 * /proc/PID/task/TID/children (or, on a kernel without that file, by one
 * scan of /proc/N/stat for parent pids; RECLAIM_MPROF_PROC_SCAN=1 forces
 * the scan, for tests). A process's resident memory is
 * the second field of /proc/PID/statm, in pages, as memory_profiler reads
 * it through psutil.
 *
 * The channel. Before forking, the sampler opens a connected pair of
 * AF_UNIX datagram sockets and leaves one end to CMD, named by
 * RECLAIM_MPROF_FD (and the pace of the heap records by
 * RECLAIM_MPROF_INTERVAL). A program linked with reclaim sends its
 * records there (src/prof/mprof.c); a program that is not simply never
 * writes, and its file holds M lines only. Between two samples the
 * sampler waits in ppoll on the socket, so records are read as they come
 * and copied to the file with their time made relative to the start:
 * both sides read CLOCK_MONOTONIC, so one clock orders everything. A
 * record that does not parse is counted (the end line's `bad`), never
 * copied.
 *
 * The end. When CMD exits the sampler reads what is left on the socket,
 * writes the end line (time, how CMD ended, counts) and returns CMD's
 * exit status (128 + N when a signal N killed it, as a shell does).
 * Descendants still running are left alone. SIGTERM and SIGHUP sent to
 * the sampler are passed to CMD; SIGINT and SIGQUIT are ignored, since a
 * terminal sends them to CMD as well.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "mprof.h"

#define RUN "mprof run"

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ==== the interval ====================================================== */

/* "10ms", "0.5s", "2s": from 1 ms to 10 s. */
static bool parse_interval(const char *s, uint64_t *ns) {
    char *end;
    errno = 0;
    if (!(*s >= '0' && *s <= '9')) return false;
    double v = strtod(s, &end);
    if (errno || end == s) return false;
    double scale;
    if (strcmp(end, "ms") == 0) scale = 1e6;
    else if (strcmp(end, "s") == 0) scale = 1e9;
    else return false;
    double n = v * scale;
    if (!(n >= 1e6 && n <= 1e10)) return false;
    *ns = (uint64_t)(n + 0.5);
    return true;
}

/* ==== the process tree ================================================== */

typedef struct pids {
    pid_t *v;
    size_t n, cap;
} pids;

static void pids_push(pids *p, pid_t pid) {
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        pid_t *v = realloc(p->v, cap * sizeof *v);
        if (!v) return; /* a sample short of a process, not a failure */
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n++] = pid;
}

static long page_size;
static bool have_children_file;

/* Resident bytes of pid; 0 when it is gone. */
static uint64_t rss_of(pid_t pid) {
    char path[64], buf[128];
    snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    unsigned long long size, resident;
    if (sscanf(buf, "%llu %llu", &size, &resident) != 2) return 0;
    return (uint64_t)resident * (uint64_t)page_size;
}

/* Append the pids listed in a /proc children file ("12 34 "). */
static void read_children_file(const char *path, pids *out) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char buf[8192];
    size_t have = 0;
    ssize_t n;
    while (have < sizeof buf - 1 && (n = read(fd, buf + have, sizeof buf - 1 - have)) > 0) have += (size_t)n;
    close(fd);
    buf[have] = '\0';
    /* a list longer than the buffer loses its cut last number only */
    for (char *p = buf, *e;; p = e) {
        long v = strtol(p, &e, 10);
        if (e == p || (*e == '\0' && have == sizeof buf - 1)) break;
        if (v > 0) pids_push(out, (pid_t)v);
    }
}

/* The children of pid, from each of its threads' children files. */
static void children_of(pid_t pid, pids *out) {
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        snprintf(path, sizeof path, "/proc/%d/task/%.16s/children", (int)pid, e->d_name);
        read_children_file(path, out);
    }
    closedir(d);
}

/* Every process of the system and its parent, for kernels without the
 * children files. */
static void scan_parents(pids *procs, pids *parents) {
    DIR *d = opendir("/proc");
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%.16s/stat", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0) continue;
        buf[n] = '\0';
        char *rp = strrchr(buf, ')'); /* the name may hold anything */
        int ppid;
        char state;
        if (!rp || sscanf(rp + 1, " %c %d", &state, &ppid) != 2) continue;
        pids_push(procs, (pid_t)atoi(e->d_name));
        pids_push(parents, (pid_t)ppid);
    }
    closedir(d);
}

/* The resident bytes of every descendant of this process (the sampler
 * itself not counted), of main alone, and how many processes. */
static void sample_tree(pid_t main_pid, mprof_sample *s) {
    pids pending = {0}, procs = {0}, parents = {0};
    if (!have_children_file) scan_parents(&procs, &parents);
    pids_push(&pending, getpid());
    s->rss = s->main = 0;
    s->procs = 0;
    bool self = true;
    while (pending.n) {
        pid_t pid = pending.v[--pending.n];
        if (!self) {
            uint64_t r = rss_of(pid);
            s->rss += r;
            if (pid == main_pid) s->main = r;
            s->procs++;
        }
        self = false;
        if (have_children_file) children_of(pid, &pending);
        else
            for (size_t i = 0; i < procs.n && i < parents.n; i++)
                if (parents.v[i] == pid) pids_push(&pending, procs.v[i]);
    }
    free(pending.v);
    free(procs.v);
    free(parents.v);
}

/* ==== signals =========================================================== */

static volatile sig_atomic_t child_pid;
static int wake_pipe[2] = {-1, -1};

static void on_chld(int sig) {
    (void)sig;
    int saved = errno;
    if (write(wake_pipe[1], "c", 1) < 0) {} /* full: a wake-up is pending anyway */
    errno = saved;
}

static void on_forward(int sig) {
    if (child_pid > 0) kill((pid_t)child_pid, sig);
}

static void set_handler(int sig, void (*fn)(int)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

/* ==== records from the channel ========================================== */

/* A process that sent records, and the last drops figure it sent (their
 * sum is the end line's drops). */
typedef struct sender {
    unsigned pid;
    uint64_t drops;
} sender;

typedef struct run_state {
    FILE *out;
    uint64_t t0;
    size_t samples, records, bad;
    sender senders[64];
    size_t nsenders;
} run_state;

static void note_drops(run_state *st, unsigned pid, uint64_t drops) {
    for (size_t i = 0; i < st->nsenders; i++)
        if (st->senders[i].pid == pid) {
            if (drops > st->senders[i].drops) st->senders[i].drops = drops;
            return;
        }
    if (st->nsenders < sizeof st->senders / sizeof st->senders[0])
        st->senders[st->nsenders++] = (sender){pid, drops};
}

/* A datagram "K T PID ...\n" with T absolute: checked, written as
 * "K T-t0 PID ...". */
static void take_record(run_state *st, char *buf, size_t n) {
    if (n < 4 || n > 400 || buf[n - 1] != '\n' || buf[1] != ' ') goto bad;
    buf[n - 1] = '\0';
    for (size_t i = 0; i < n - 1; i++)
        if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f) goto bad;
    char *p = buf + 2, *end;
    if (*p < '0' || *p > '9') goto bad;
    errno = 0;
    unsigned long long t = strtoull(p, &end, 10);
    if (errno || *end != ' ') goto bad;
    char line[512];
    snprintf(line, sizeof line, "%c %llu%s", buf[0], t >= st->t0 ? t - st->t0 : 0ull, end);
    if (!mprof_record_ok(line)) goto bad;
    /* the drops a process reports: last field of H and P */
    if (buf[0] == 'H' || buf[0] == 'P') {
        unsigned pid = (unsigned)strtoul(end + 1, NULL, 10);
        const char *last = strrchr(line, ' ');
        note_drops(st, pid, strtoull(last + 1, NULL, 10));
    }
    fputs(line, st->out);
    fputc('\n', st->out);
    st->records++;
    return;
bad:
    st->bad++;
}

/* Read up to max records: a process that sends without pause cannot keep
 * the sampler from its samples. */
static void drain(run_state *st, int sock, size_t max) {
    char buf[1024];
    for (size_t k = 0; k < max; k++) {
        ssize_t n = recv(sock, buf, sizeof buf - 1, MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        if ((size_t)n >= sizeof buf) st->bad++;
        else take_record(st, buf, (size_t)n);
    }
}

/* ==== run ================================================================ */

static void put_word(FILE *out, const char *w) {
    for (const unsigned char *p = (const unsigned char *)w; *p; p++) {
        if (*p == '\\' || *p == ' ') fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f) fprintf(out, "\\x%02x", *p);
        else fputc(*p, out);
    }
}

static int run_usage(const char *problem, const char *arg) {
    if (arg) return cli_fail(RUN, "%s '%s' (usage: reclaim mprof run [--interval 10ms] [-o FILE] [--] CMD [ARGS...])",
                             problem, arg);
    return cli_fail(RUN, "%s (usage: reclaim mprof run [--interval 10ms] [-o FILE] [--] CMD [ARGS...])", problem);
}

static int cmd_run(int argc, char **argv) {
    uint64_t interval = 10000000u;
    const char *output = NULL;
    int i = 0;
    for (; i < argc; i++) {
        const char *w = argv[i];
        if (strcmp(w, "--") == 0) {
            i++;
            break;
        }
        if (w[0] != '-') break;
        const char *value = NULL;
        bool is_interval = strncmp(w, "--interval", 10) == 0 && (w[10] == '\0' || w[10] == '=');
        bool is_output = strncmp(w, "-o", 2) == 0 || strncmp(w, "--output", 8) == 0;
        if (is_output && w[1] == '-' && w[8] != '\0' && w[8] != '=') is_output = false;
        if (!is_interval && !is_output) return run_usage("unknown option", w);
        const char *eq = strchr(w, '=');
        if (eq) value = eq + 1;
        else if (is_output && w[1] == 'o' && w[2]) value = w + 2;
        else if (i + 1 < argc) value = argv[++i];
        else return cli_fail(RUN, "option '%s' needs a value", w);
        if (is_interval) {
            if (!parse_interval(value, &interval))
                return cli_fail(RUN, "--interval takes a time from 1ms to 10s with its unit (ms or s), e.g. 10ms, not '%s'",
                                value);
        } else {
            if (!*value) return cli_fail(RUN, "-o needs a file name");
            output = value;
        }
    }
    if (i >= argc) return run_usage("no command given", NULL);
    char **cmd = argv + i;

    char default_name[64];
    if (!output) {
        snprintf(default_name, sizeof default_name, "reclaim-mprof-%d.dat", (int)getpid());
        output = default_name;
    }
    FILE *out = strcmp(output, "-") == 0 ? stdout : fopen(output, "w");
    if (!out) return cli_fail(RUN, "cannot write '%s': %s", output, strerror(errno));

    page_size = sysconf(_SC_PAGESIZE);
    {
        char path[96];
        snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)getpid(), (int)getpid());
        /* RECLAIM_MPROF_PROC_SCAN=1: the scan, whatever the kernel has (tests) */
        const char *scan = getenv("RECLAIM_MPROF_PROC_SCAN");
        have_children_file = access(path, R_OK) == 0 && !(scan && strcmp(scan, "1") == 0);
    }
    int sv[2];
    int exec_pipe[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0 || pipe2(exec_pipe, O_CLOEXEC) != 0 ||
        pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        if (out != stdout) fclose(out);
        return cli_fail(RUN, "cannot open the channel: %s", strerror(errno));
    }
    fcntl(sv[0], F_SETFD, FD_CLOEXEC);
    int bufsize = 1 << 20; /* room for bursts; the kernel caps it */
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize);
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
    char fdtext[16], mstext[16];
    snprintf(fdtext, sizeof fdtext, "%d", sv[1]);
    uint64_t ms = (interval + 500000u) / 1000000u;
    snprintf(mstext, sizeof mstext, "%llu", (unsigned long long)(ms ? ms : 1));
    setenv("RECLAIM_MPROF_FD", fdtext, 1);
    setenv("RECLAIM_MPROF_INTERVAL", mstext, 1);
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

    run_state st = {.out = out};
    st.t0 = now_ns();
    fprintf(out, "reclaim-mprof %d\n# memory over time, written by reclaim mprof run (docs/mprof.md)\ncommand",
            MPROF_FORMAT_VERSION);
    for (char **w = cmd; *w; w++) {
        fputc(' ', out);
        put_word(out, *w);
    }
    fprintf(out, "\ninterval %llu\nclock %llu\n", (unsigned long long)interval, (unsigned long long)st.t0);
    fflush(out);

    set_handler(SIGCHLD, on_chld);
    pid_t pid = fork();
    if (pid < 0) {
        if (out != stdout) fclose(out);
        return cli_fail(RUN, "cannot fork: %s", strerror(errno));
    }
    if (pid == 0) {
        signal(SIGCHLD, SIG_DFL);
        close(sv[0]);
        execvp(cmd[0], cmd);
        int e = errno;
        if (write(exec_pipe[1], &e, sizeof e) < 0) {}
        _exit(127);
    }
    child_pid = pid;
    close(sv[1]);
    close(exec_pipe[1]);
    unsetenv("RECLAIM_MPROF_FD");
    unsetenv("RECLAIM_MPROF_INTERVAL");
    int exec_errno = 0;
    if (read(exec_pipe[0], &exec_errno, sizeof exec_errno) == (ssize_t)sizeof exec_errno) {
        waitpid(pid, NULL, 0);
        if (out != stdout) {
            fclose(out);
            unlink(output);
        }
        fprintf(stderr, "reclaim %s: cannot run '%s': %s\n", RUN, cmd[0], strerror(exec_errno));
        return 127;
    }
    close(exec_pipe[0]);
    set_handler(SIGTERM, on_forward);
    set_handler(SIGHUP, on_forward);
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);

    int status = 0;
    bool done = false;
    uint64_t next = st.t0;
    while (!done) {
        uint64_t now = now_ns();
        if (now >= next) {
            mprof_sample s;
            sample_tree(pid, &s);
            fprintf(out, "M %llu %llu %llu %u\n", (unsigned long long)(now - st.t0), (unsigned long long)s.rss,
                    (unsigned long long)s.main, s.procs);
            fflush(out);
            st.samples++;
            next += interval;
            if (next <= now) next = now + interval; /* fell behind: skip, do not burst */
        }
        int ws;
        pid_t p;
        while ((p = waitpid(-1, &ws, WNOHANG)) > 0)
            if (p == pid) {
                status = ws;
                done = true;
            }
        if (done) break;
        now = now_ns();
        uint64_t wait = next > now ? next - now : 0;
        struct timespec ts = {(time_t)(wait / 1000000000u), (long)(wait % 1000000000u)};
        struct pollfd fds[2] = {{sv[0], POLLIN, 0}, {wake_pipe[0], POLLIN, 0}};
        if (ppoll(fds, 2, &ts, NULL) > 0) {
            if (fds[0].revents) drain(&st, sv[0], 4096);
            if (fds[1].revents) {
                char junk[64];
                while (read(wake_pipe[0], junk, sizeof junk) > 0) {}
            }
        }
    }
    drain(&st, sv[0], (size_t)1 << 20); /* what is left; descendants may still be sending */
    close(sv[0]);
    child_pid = 0;
    uint64_t drops = 0;
    for (size_t k = 0; k < st.nsenders; k++) drops += st.senders[k].drops;
    bool signaled = WIFSIGNALED(status);
    int code = signaled ? WTERMSIG(status) : WEXITSTATUS(status);
    fprintf(out, "end %llu %s %d %zu %zu %llu %zu\n", (unsigned long long)(now_ns() - st.t0),
            signaled ? "signal" : "exit", code, st.samples, st.records, (unsigned long long)drops, st.bad);
    int werr = ferror(out);
    if ((out == stdout ? fflush(out) : fclose(out)) != 0 || werr) {
        cli_fail(RUN, "cannot write '%s': %s", output, strerror(errno ? errno : EIO));
        return CLI_BAD_USE;
    }
    if (output == default_name) fprintf(stderr, "reclaim mprof: wrote %s\n", output);
    return signaled ? 128 + code : code;
}

/* ==== the command ======================================================== */

int cli_mprof(int argc, char **argv) {
    if (argc < 1) return cli_fail("mprof", "no command given (run or plot)");
    if (strcmp(argv[0], "run") == 0) return cmd_run(argc - 1, argv + 1);
    if (strcmp(argv[0], "plot") == 0) return mprof_plot_command(argc - 1, argv + 1);
    return cli_fail("mprof", "unknown command '%s' (run or plot)", argv[0]);
}
