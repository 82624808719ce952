/*
 * mprof.c — the library's side of `reclaim mprof run`: the records a
 * program sends to the sampler that runs it (memory_profiler's job, with
 * what only the library knows).
 *
 * The sampler (tools/mprof.c) reads the resident memory of the program
 * and its children from /proc; it cannot see the heap, the collector or
 * the program's phases. So it opens a channel, a connected pair of
 * AF_UNIX datagram sockets, leaves one end open across exec and names it
 * in RECLAIM_MPROF_FD (the pace of heap records in RECLAIM_MPROF_INTERVAL,
 * milliseconds). When a process linked with reclaim starts with that
 * variable naming a socket, start-up (_rc_mprof_from_environment, called
 * by the constructor in tracefile.c) turns the channel on:
 *
 *   H  heap figures (rc_heap_get_stats: bytes in use, bytes mapped,
 *      blocks in use) and the collections and drops counted so far, from
 *      a thread of ours every interval, once at start and once at exit;
 *   C  a collection's start (generation, the collecting thread's
 *      rc_gc_get_count) and stop (collected, uncollectable, duration), from
 *      a callback registered with rc_gc_callback_add;
 *   S  the begin and end of a scope (RC_PROFILE_SCOPE, or
 *      rc_profile_scope_begin / _end), with a token pairing the two;
 *   P  hello at start and bye at exit (with the drops).
 *
 * Each record is one datagram holding one text line, "K T PID ...", T the
 * CLOCK_MONOTONIC time in nanoseconds (the sampler's clock too, so the two
 * series merge without adjustment). The sampler rewrites T relative to its
 * start and copies the line into the data file; docs/mprof.md gives every
 * field.
 *
 * Never block, never disturb the program. Records are sent with
 * send(MSG_DONTWAIT | MSG_NOSIGNAL): a full socket drops the record (and
 * counts it in `drops`, which the next H and the bye record carry), a
 * sampler that went away turns the channel off without a SIGPIPE (why a
 * socket and not a pipe: a pipe cannot refuse SIGPIPE per call without
 * touching the program's signal mask). Records are formatted by hand into
 * a stack buffer: no allocation, no lock, no stdio, no locale, so a scope
 * may be marked from any thread, inside a collector callback, or while
 * the heap is busy. A datagram is delivered whole or not at all, so the
 * records of several threads, and of children that inherit the socket,
 * never interleave inside a line.
 *
 * Whose descriptor. Start-up checks that the number names the
 * sampler's kind of socket (a socket pair's datagram end), then sends on
 * a close-on-exec copy at descriptor 700 or above: a program that closes
 * the inherited number and opens a file or a connection gets the lowest
 * free number, so our records do not land in it. The inherited number
 * stays open for the programs this one execs.
 *
 * The switch. rc_profile_active is 0 until start-up finds a
 * channel, and is written only there (before main, one thread);
 * RC_PROFILE_SCOPE tests it with one predicted
 * branch, so a scope costs a load and a not-taken jump when not under
 * `reclaim mprof run`.
 *
 * Fork. A forked child inherits the socket and keeps sending collection
 * and scope records under its own pid, with its own drops and
 * collections counted from zero (an atfork handler); the heap thread does
 * not survive fork, so a forked child sends no H records until it exits
 * (a program it execs starts its own channel). The sampler still counts
 * the child's resident memory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal/prof.h"
#include "internal/runtime.h"

/* Read by RC_PROFILE_SCOPE (include/reclaim.h): 1 once start-up
 * opened the channel, written nowhere else (so the macro's plain load
 * races with nothing). */
int rc_profile_active;
/* The sampler went away (a send failed other than for a full socket):
 * nothing more is sent. Set by any thread, never cleared. */
static _Atomic(int) gone;

/* The channel: our copy of the socket's descriptor (at CHANNEL_FD_MIN
 * or above when possible), -1 when off. Set once at start-up. */
static int channel = -1;
#define CHANNEL_FD_MIN 700
/* Records the socket refused because it was full. */
static _Atomic(uint64_t) drops;
/* Collections this process finished since the channel opened. */
static _Atomic(uint64_t) collections;
/* The next scope token; 0 is "not profiling". */
static _Atomic(uint64_t) next_token = 1;
/* Asks the heap thread to stop (at exit). */
static _Atomic(int) stopping;
static uint64_t interval_ns;

/* ==== formatting without stdio ========================================= */

/* A record being written: text in buf, len bytes so far. The longest,
 * S begin, is 1 + 4 * 21 + 7 + 120 = 212 bytes, so nothing is ever cut;
 * put_char still keeps the last byte for the newline, whatever comes. */
typedef struct record {
    char buf[256];
    size_t len;
} record;

static void put_char(record *r, char c) {
    if (r->len < sizeof r->buf - 1) r->buf[r->len++] = c;
}

static void put_str(record *r, const char *s) {
    while (*s) put_char(r, *s++);
}

static void put_u64(record *r, uint64_t v) {
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) put_char(r, tmp[--n]);
}

/* " v" */
static void put_field(record *r, uint64_t v) {
    put_char(r, ' ');
    put_u64(r, v);
}

/* A scope name, the last field (the reader takes the rest of the line,
 * spaces included): at most 120 bytes, control bytes as '?', "?" for
 * none. A UTF-8 character cut at 120 bytes is the plot's to replace. */
static void put_name(record *r, const char *name) {
    if (!name || !*name) name = "?";
    for (size_t i = 0; name[i] && i < 120; i++) {
        unsigned char c = (unsigned char)name[i];
        put_char(r, c < 0x20 || c == 0x7f ? '?' : (char)c);
    }
}

/* "K T PID" */
static void begin_record(record *r, char kind) {
    r->len = 0;
    put_char(r, kind);
    put_field(r, _rc_now_ns());
    put_field(r, (uint64_t)getpid());
}

static bool open_channel(void) { return channel >= 0 && !atomic_load_explicit(&gone, memory_order_relaxed); }

static void send_record(record *r) {
    if (!open_channel()) return;
    r->buf[r->len++] = '\n'; /* put_char keeps one byte for it */
    int saved = errno;
    ssize_t n = send(channel, r->buf, r->len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EINTR)
            atomic_fetch_add_explicit(&drops, 1, memory_order_relaxed);
        else atomic_store_explicit(&gone, 1, memory_order_relaxed); /* the sampler is gone: stop talking */
    }
    errno = saved;
}

static uint64_t thread_id(void) { return (uint64_t)syscall(SYS_gettid); }

/* ==== the records ======================================================= */

static void send_heap(void) {
    rc_heap_stats st;
    rc_heap_get_stats(&st);
    record r;
    begin_record(&r, 'H');
    put_field(&r, st.bytes_in_use);
    put_field(&r, st.bytes_mapped);
    put_field(&r, st.blocks_in_use);
    put_field(&r, _rc_heap_pool_objects());
    put_field(&r, atomic_load_explicit(&collections, memory_order_relaxed));
    put_field(&r, atomic_load_explicit(&drops, memory_order_relaxed));
    send_record(&r);
}

static void send_process(const char *what) {
    record r;
    begin_record(&r, 'P');
    put_char(&r, ' ');
    put_str(&r, what);
    put_field(&r, atomic_load_explicit(&drops, memory_order_relaxed));
    send_record(&r);
}

/* Runs on the collecting thread, inside the collection: sends and
 * nothing else. */
static void on_collection(rc_gc_phase phase, const rc_gc_info *info, void *arg) {
    (void)arg;
    if (!open_channel()) return;
    record r;
    begin_record(&r, 'C');
    put_field(&r, thread_id());
    if (phase == RC_GC_START) {
        size_t count[3];
        rc_gc_get_count(count);
        put_str(&r, " start");
        put_field(&r, (uint64_t)info->generation);
        for (int i = 0; i < 3; i++) put_field(&r, count[i]);
    } else {
        atomic_fetch_add_explicit(&collections, 1, memory_order_relaxed);
        put_str(&r, " stop");
        put_field(&r, (uint64_t)info->generation);
        put_field(&r, info->collected);
        put_field(&r, info->uncollectable);
        put_field(&r, info->duration_ns);
    }
    send_record(&r);
}

uint64_t rc_profile_scope_begin(const char *name) {
    if (!open_channel()) return 0;
    uint64_t token = atomic_fetch_add_explicit(&next_token, 1, memory_order_relaxed);
    record r;
    begin_record(&r, 'S');
    put_field(&r, thread_id());
    put_field(&r, token);
    put_str(&r, " begin ");
    put_name(&r, name);
    send_record(&r);
    return token;
}

void rc_profile_scope_end(uint64_t token) {
    if (!token || !open_channel()) return;
    record r;
    begin_record(&r, 'S');
    put_field(&r, thread_id());
    put_field(&r, token);
    put_str(&r, " end");
    send_record(&r);
}

bool rc_profile_is_active(void) { return open_channel(); }

/* ==== start-up, the heap thread, exit =================================== */

static void *heap_thread(void *arg) {
    (void)arg;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (!atomic_load(&stopping) && open_channel()) {
        uint64_t ns = (uint64_t)next.tv_nsec + interval_ns;
        next.tv_sec += (time_t)(ns / 1000000000u);
        next.tv_nsec = (long)(ns % 1000000000u);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {}
        if (atomic_load(&stopping)) break;
        send_heap();
    }
    return NULL;
}

static void start_heap_thread(void) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* the program's signals are not ours to take */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_create(&t, &attr, heap_thread, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
}

static void at_exit(void) {
    atomic_store(&stopping, 1);
    if (!open_channel()) return;
    send_heap();
    send_process("bye");
}

/* A forked child counts its own drops and collections (the end line sums
 * each process's figures). */
static void forked_child(void) {
    atomic_store_explicit(&drops, 0, memory_order_relaxed);
    atomic_store_explicit(&collections, 0, memory_order_relaxed);
}

/* The variable names the socket the sampler made: an AF_UNIX datagram
 * socket whose peer has no name (one end of a socket pair). Anything
 * else is left alone: a descriptor some program between the sampler and
 * us closed, and which this process then reused for a file, a network
 * connection, or syslog's socket (connected to /dev/log). */
static bool is_channel(int fd) {
    struct stat st;
    int type = 0, domain = 0;
    socklen_t len = sizeof type;
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_DGRAM) return false;
    len = sizeof domain;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_UNIX) return false;
    struct sockaddr_un peer;
    len = sizeof peer;
    if (getpeername(fd, (struct sockaddr *)&peer, &len) != 0) return false;
    return len <= offsetof(struct sockaddr_un, sun_path); /* unnamed */
}

void _rc_mprof_from_environment(void) {
    int64_t fd = _rc_option(RC_OPT_MPROF_FD);
    if (fd < 0 || fd > INT32_MAX || !is_channel((int)fd)) return;
    int64_t ms = _rc_option(RC_OPT_MPROF_INTERVAL);
    interval_ns = (uint64_t)(ms < 1 ? 1 : ms) * 1000000u;
    rc_heap_stats st;
    rc_heap_get_stats(&st); /* the heap first: its exit work then runs after ours */
    /* send on a private copy high up: if the program closes the inherited
     * number (programs it execs inherit that one), a file it opens next
     * takes the lowest free number, never ours */
    int copy = fcntl((int)fd, F_DUPFD_CLOEXEC, CHANNEL_FD_MIN);
    channel = copy >= 0 ? copy : (int)fd;
    rc_profile_active = 1;
    send_process("hello");
    send_heap();
    rc_gc_callback_add(on_collection, NULL);
    pthread_atfork(NULL, NULL, forked_child);
    atexit(at_exit);
    start_heap_thread();
}
