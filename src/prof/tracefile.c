/*
 * tracefile.c — tracing driven by the environment, as PYTHONTRACEMALLOC
 * drives tracemalloc: RECLAIM_TRACEMALLOC=N starts tracing at start-up
 * with tracebacks of N frames, RECLAIM_TRACE_FILE=PATH writes a snapshot
 * there at exit, and the trace signal (RECLAIM_TRACE_SIGNAL: SIGUSR2 by
 * default, usr1 or none) writes one on demand.
 *
 * Start-up is a constructor: with the shared library (and so with
 * libreclaim-malloc.so under LD_PRELOAD) it runs before main. It starts
 * the heap first, so the heap's exit work (rc_shutdown) is registered
 * before the snapshot's and runs after it: the snapshot at exit sees the
 * program's blocks before the final collection frees anything. The
 * heap's hook variables are defined here, so a statically linked program
 * gets this file too.
 *
 * The signal. A snapshot allocates, takes locks and writes a file: none of
 * that may run in a signal handler. The handler only posts a semaphore
 * (async-signal-safe); a thread started with the tracer waits on it and
 * writes the snapshot, to PATH.N for the N-th signal (PATH itself is the
 * one at exit), and nothing else. Its own allocations are untraced.
 *
 * Fork. A child keeps tracing with none of the parent's traces (trace.c)
 * and writes its snapshot at exit to PATH.PID, so parent and child never
 * write the same file. The signal thread does not survive fork: a child
 * writes snapshots at exit only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal/prof.h"
#include "internal/runtime.h"

/* The heap's hook points (src/internal/heap.h). They live here so that
 * every program that allocates, statically linked or not, also links this
 * file and its constructor. */
_Atomic(int) _rc_trace_on;
static void *no_alloc_hook(void *p, size_t size, rc_site *site, void *caller) {
    (void)size, (void)site, (void)caller;
    return p;
}
static void no_free_hook(void *p) { (void)p; }
static void no_object_hook(void *obj) { (void)obj; }
static void no_side_hook(rc_arena *arena, unsigned first, unsigned n) { (void)arena, (void)first, (void)n; }
void *(*_rc_trace_alloc_hook)(void *p, size_t size, rc_site *site, void *caller) = no_alloc_hook;
void (*_rc_trace_free_hook)(void *p) = no_free_hook;
void (*_rc_object_new_hook)(void *obj) = no_object_hook;
void (*_rc_object_free_hook)(void *obj) = no_object_hook;
void (*_rc_arena_side_hook)(rc_arena *arena, unsigned first, unsigned n) = no_side_hook;
static void no_line_alloc_hook(void *p, size_t size, void *caller) { (void)p, (void)size, (void)caller; }
void (*_rc_line_alloc_hook)(void *p, size_t size, void *caller) = no_line_alloc_hook;
void (*_rc_line_free_hook)(void *p) = no_free_hook;
__thread void *_rc_user_ra __attribute__((tls_model("initial-exec")));
/* Sampling's state in the entry points (heap.h; trace.c draws and keeps it). */
__thread int64_t _rc_sample_countdown __attribute__((tls_model("initial-exec")));
_Atomic(int64_t) _rc_sample_floor;
_Atomic(uint8_t) _rc_sample_filter[1u << RC_SAMPLE_FILTER_BITS];

static pid_t parent_pid;
static sem_t signal_sem;
static unsigned dumps_on_signal;

/* PATH for the process that started tracing, PATH.PID in a forked child,
 * with .N appended for the N-th dump on a signal (N > 0). */
static void file_name(char *buf, size_t size, unsigned n) {
    const char *path = _rc_option_path(RC_OPT_TRACE_FILE);
    int len = getpid() == parent_pid ? snprintf(buf, size, "%s", path)
                                     : snprintf(buf, size, "%s.%d", path, (int)getpid());
    if (n && len > 0 && (size_t)len < size) snprintf(buf + len, size - (size_t)len, ".%u", n);
}

static void dump(unsigned n) {
    char name[4096];
    file_name(name, sizeof name, n);
    rc_snapshot *s = rc_snapshot_take();
    if (!s || rc_snapshot_dump(s, name) != 0)
        _rc_message("reclaim: RECLAIM_TRACE_FILE: cannot write the snapshot to '%s': %s", name, rc_last_error());
    rc_snapshot_free(s);
}

static void dump_at_exit(void) {
    if (rc_trace_is_tracing()) dump(0);
}

static void on_signal(int sig) {
    (void)sig;
    int saved = errno;
    sem_post(&signal_sem);
    errno = saved;
}

static void *signal_thread(void *arg) {
    (void)arg;
    for (;;) {
        if (sem_wait(&signal_sem) != 0) {
            if (errno == EINTR) continue;
            return NULL;
        }
        if (rc_trace_is_tracing()) dump(++dumps_on_signal);
    }
    return NULL;
}

static void start_signal_thread(int sig) {
    if (sem_init(&signal_sem, 0, 0) != 0) return;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* the thread must not take the signal's place for the program's own
     * signals: block everything in it */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&t, &attr, signal_thread, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

__attribute__((constructor)) static void trace_from_environment(void) {
    _rc_mprof_from_environment(); /* here, so that a static link always has it too */
    int64_t frames = _rc_option(RC_OPT_TRACEMALLOC);
    const char *path = _rc_option_path(RC_OPT_TRACE_FILE);
    if (frames <= 0) return;
    rc_heap_stats st;
    rc_heap_get_stats(&st); /* the heap first: its exit work then runs after ours */
    parent_pid = getpid();
    if (rc_trace_start((unsigned)frames) != 0) return;
    if (!path || !*path) return;
    atexit(dump_at_exit);
    int64_t sig = _rc_option(RC_OPT_TRACE_SIGNAL);
    if (sig != RC_TRACE_SIG_NONE) start_signal_thread(sig == RC_TRACE_SIG_USR1 ? SIGUSR1 : SIGUSR2);
}
