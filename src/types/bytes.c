/*
 * bytes.c — the bytes object: an immutable run of bytes with its hash
 * cached, and its iterator (Python's bytes and bytes_iterator).
 *
 *   payload: hash (int64, -1 until first asked) | n | data[n] | NUL
 *   one block of 16 + 16 + n + 1 bytes (CPython's bytes takes 33 + n).
 *
 * The trailing NUL is not part of the value; it is there so that data can
 * be handed to C functions that want a C string. A bytes object never
 * changes after it is made (only its cached hash is filled in), so it
 * references nothing, is never tracked, and hashes by content exactly as
 * a str of the same bytes would (_rc_hash_bytes).
 *
 * The iterator holds a reference to its bytes and a position, yields the
 * bytes as ints 0..255 (small ints: immortal statics, no allocation), and
 * drops its reference as soon as it is exhausted. It has traverse (so
 * rc_gc_get_referents sees the bytes) but is created untracked
 * (RC_TYPE_UNTRACKED) and stays so: what it references can never be part
 * of a cycle.
 */
#include <string.h>

#include "internal/types.h"

typedef struct bytes_obj {
    int64_t hash; /* -1: not computed yet */
    size_t n;
    uint8_t data[]; /* n bytes, then a NUL */
} bytes_obj;

/* {==== the bytes type ==== */

static uint64_t bytes_hash(const void *self) {
    bytes_obj *b = (bytes_obj *)self;
    if (b->hash == -1) b->hash = _rc_hash_bytes(b->data, b->n);
    return (uint64_t)b->hash;
}

static bool bytes_equal(const void *a, const void *b) {
    const bytes_obj *x = a, *y = b;
    if (x->n != y->n) return false;
    if (x->hash != -1 && y->hash != -1 && x->hash != y->hash) return false;
    return memcmp(x->data, y->data, x->n) == 0;
}

/* b'...': single quotes unless the data holds ' and no ", escapes for the
 * quote, \\, \t, \n, \r, and \xhh for every other byte outside 0x20..0x7e
 * (Python's bytes.__repr__). Printable runs are copied in one append. */
static void *bytes_repr(const void *self) {
    static const char digits[] = "0123456789abcdef";
    const bytes_obj *b = self;
    const char *s = (const char *)b->data;
    size_t n = b->n;
    char quote = '\'';
    if (memchr(s, '\'', n) && !memchr(s, '"', n)) quote = '"';
    rc_sb sb;
    _rc_sb_init(&sb);
    _rc_sb_add(&sb, "b", 1);
    _rc_sb_add(&sb, &quote, 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[4] = {'\\', 0, 0, 0};
        size_t len = 2;
        if (c == (unsigned char)quote || c == '\\') {
            esc[1] = (char)c;
        } else if (c == '\t') {
            esc[1] = 't';
        } else if (c == '\n') {
            esc[1] = 'n';
        } else if (c == '\r') {
            esc[1] = 'r';
        } else if (c < 0x20 || c >= 0x7f) {
            esc[1] = 'x';
            esc[2] = digits[c >> 4];
            esc[3] = digits[c & 15];
            len = 4;
        } else {
            run++;
            continue;
        }
        _rc_sb_add(&sb, s + i - run, run);
        run = 0;
        _rc_sb_add(&sb, esc, len);
    }
    _rc_sb_add(&sb, s + n - run, run);
    _rc_sb_add(&sb, &quote, 1);
    return _rc_sb_finish(&sb);
}

static void *bytes_iter(void *self);

const rc_type rc_bytes_type = {.name = "bytes",
                               .size = sizeof(bytes_obj),
                               .hash = bytes_hash,
                               .equal = bytes_equal,
                               .repr = bytes_repr,
                               .iter = bytes_iter,
                               .flags = RC_TYPE_BUILTIN};

void *rc_bytes_new(const void *data, size_t n) {
    RC_USER_FRAME();
    if (!data && n) {
        _rc_set_error("rc_bytes_new: data is NULL");
        return NULL;
    }
    if (n > SIZE_MAX - sizeof(bytes_obj) - 64) {
        _rc_set_error("rc_bytes_new: %zu bytes is too long", n);
        return NULL;
    }
    bytes_obj *b = rc_new_var(&rc_bytes_type, n + 1);
    if (!b) return NULL;
    b->hash = -1;
    b->n = n;
    if (n) memcpy(b->data, data, n);
    b->data[n] = 0;
    return b;
}

const uint8_t *rc_bytes_data(const void *bytes) {
    if (!_rc_expect("rc_bytes_data", bytes, &rc_bytes_type, "a bytes")) return NULL;
    return ((const bytes_obj *)bytes)->data;
}

size_t rc_bytes_len(const void *bytes) {
    if (!_rc_expect("rc_bytes_len", bytes, &rc_bytes_type, "a bytes")) return 0;
    return ((const bytes_obj *)bytes)->n;
}

int _rc_bytes_compare(const void *a, const void *b) {
    const bytes_obj *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = n ? memcmp(x->data, y->data, n) : 0;
    if (c) return c < 0 ? -1 : 1;
    return x->n < y->n ? -1 : x->n > y->n;
}
/* }==== */

/* {==== the iterator ==== */

typedef struct bytes_iter_obj {
    bytes_obj *bytes; /* NULL once exhausted */
    size_t pos;       /* the next byte; pos <= bytes->n */
} bytes_iter_obj;

static int bytes_iter_traverse(void *self, rc_visit_fn visit, void *arg) {
    bytes_iter_obj *it = self;
    return it->bytes ? visit(it->bytes, arg) : 0;
}

static void bytes_iter_clear(void *self) { RC_CLEAR(((bytes_iter_obj *)self)->bytes); }

static int bytes_iter_next(void *self, void **out) {
    bytes_iter_obj *it = self;
    bytes_obj *b = it->bytes;
    if (RC_LIKELY(b && it->pos < b->n)) {
        *out = rc_int_new(b->data[it->pos++]); /* a small int: never fails */
        return 1;
    }
    RC_CLEAR(it->bytes);
    return 0;
}

static const rc_type bytes_iter_type = {.name = "bytes_iterator",
                                        .size = sizeof(bytes_iter_obj),
                                        .traverse = bytes_iter_traverse,
                                        .clear = bytes_iter_clear,
                                        .destroy = bytes_iter_clear,
                                        .next = bytes_iter_next,
                                        .flags = RC_TYPE_BUILTIN | RC_TYPE_UNTRACKED};

static void *bytes_iter(void *self) {
    bytes_iter_obj *it = rc_new(&bytes_iter_type);
    if (!it) return NULL;
    it->bytes = rc_incref(self);
    return it;
}
/* }==== */
