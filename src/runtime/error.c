/*
 * error.c — the one error path.
 *
 * A failing call records a message for rc_last_error (per thread, so
 * threads do not overwrite each other's) and returns NULL, false or a
 * negative number. Messages meant for a person (bad option values, reports
 * of pointers the heap never gave out, corruption reports) go through
 * _rc_message, to the handler set with rc_set_message_handler or else to
 * stderr with one write(2). Nothing here allocates: it runs inside malloc.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal/runtime.h"

static __thread char last_error[256] __attribute__((tls_model("initial-exec")));

/* The user's handler; NULL fn: stderr. Both words change together under
 * the lock, and emit reads them together under it. */
static rc_message_handler handler_fn;
static void *handler_arg;
static pthread_mutex_t handler_lock = PTHREAD_MUTEX_INITIALIZER;

const char *rc_last_error(void) { return last_error; }

void _rc_set_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

void rc_set_message_handler(rc_message_handler fn, void *arg) {
    pthread_mutex_lock(&handler_lock);
    handler_fn = fn;
    handler_arg = fn ? arg : NULL;
    pthread_mutex_unlock(&handler_lock);
}

static void emit(const char *fmt, va_list ap) {
    char buf[768];
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    if (n < 0) return;
    if ((size_t)n > sizeof buf - 2) n = (int)sizeof buf - 2;
    pthread_mutex_lock(&handler_lock);
    rc_message_handler fn = handler_fn;
    void *arg = handler_arg;
    pthread_mutex_unlock(&handler_lock);
    if (fn) {
        fn(buf, arg);
        return;
    }
    buf[n++] = '\n';
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(STDERR_FILENO, buf + off, (size_t)(n - off));
        if (w <= 0) break;
        off += w;
    }
}

void _rc_message(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    emit(fmt, ap);
    va_end(ap);
}

void _rc_fatal(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    emit(fmt, ap);
    va_end(ap);
    _rc_message("reclaim: aborting");
    abort();
}
