/*
 * test_capture.h — library messages captured in a test (through
 * rc_set_message_handler; the handler must not allocate from reclaim).
 * Shared by test_heap_util.h and test_object_util.h.
 */
#ifndef RC_TEST_CAPTURE_H
#define RC_TEST_CAPTURE_H

#include <stdbool.h>
#include <string.h>

#include "reclaim.h"

#define CAPTURE_MAX 64
#define CAPTURE_LEN 768

typedef struct captured {
    int count; /* messages received, also those beyond CAPTURE_MAX */
    char text[CAPTURE_MAX][CAPTURE_LEN];
} captured;

static inline captured *capture_state(void) {
    static captured c;
    return &c;
}

static inline void capture_handler(const char *message, void *arg) {
    captured *c = arg;
    if (c->count < CAPTURE_MAX) {
        strncpy(c->text[c->count], message, CAPTURE_LEN - 1);
        c->text[c->count][CAPTURE_LEN - 1] = '\0';
    }
    c->count++;
}

/* Start capturing library messages; returns the (cleared) record. */
static inline captured *capture_begin(void) {
    captured *c = capture_state();
    memset(c, 0, sizeof *c);
    rc_set_message_handler(capture_handler, c);
    return c;
}

/* Stop capturing: messages go to stderr again. */
static inline void capture_end(void) { rc_set_message_handler(NULL, NULL); }

/* Messages among the captured ones that contain every given substring
 * (a NULL-terminated list). */
static inline int capture_count_matching(const captured *c, const char *const *needles) {
    int n = 0;
    int lim = c->count < CAPTURE_MAX ? c->count : CAPTURE_MAX;
    for (int i = 0; i < lim; i++) {
        bool all = true;
        for (const char *const *s = needles; *s; s++)
            if (!strstr(c->text[i], *s)) all = false;
        if (all) n++;
    }
    return n;
}

/* Index of the first captured message starting with prefix, or -1. */
static inline int capture_find(const captured *c, const char *prefix) {
    int lim = c->count < CAPTURE_MAX ? c->count : CAPTURE_MAX;
    for (int i = 0; i < lim; i++)
        if (strncmp(c->text[i], prefix, strlen(prefix)) == 0) return i;
    return -1;
}

#endif
