/*
 * strops.c — what is done with strs (str.c holds the object itself):
 * concatenation, slicing, search, split and join, printf-style formatting,
 * interning, str(obj), and the iterator over a str's code points.
 *
 * Indices are code points, storage is UTF-8. A str whose nchars equals its
 * nbytes is ASCII, and then a code-point index is a byte offset: every
 * operation below takes that O(1) path first. Otherwise a code-point index
 * is turned into a byte offset by _rc_str_offset (str.c: a lookup in the
 * str's index of every 128th code point for long strs, then a walk of 8
 * bytes per step, counting lead bytes with a popcount), and a byte offset
 * back into an index by _rc_utf8_count over the bytes between them.
 * Substring search is glibc's memmem (two-way, linear in the worst case)
 * on the bytes: UTF-8 is self-synchronising, so a match of valid UTF-8 in
 * valid UTF-8 always starts on a code-point boundary.
 *
 * The str and bytes iterators (this file's and bytes.c's) hold a
 * reference to what they walk and drop it once exhausted; they have
 * traverse, for rc_gc_get_referents, but are created untracked
 * (RC_TYPE_UNTRACKED) and stay so: a str can be in no cycle.
 *
 * Results that equal an argument are that argument (a new reference), as
 * in CPython: s + "" is s, s[:] is s, a join of one item is the item.
 * Empty and one-character ASCII results of slicing, splitting and
 * iteration are str.c's static immortal strs, so iterating over ASCII
 * text allocates nothing.
 *
 * rc_str_format walks the format once, writing into a stack buffer that
 * moves to the heap only for long output. Literal text is copied in runs.
 * Each argument is read with va_arg at the type its length modifier
 * names; plain integer conversions (%d %u %x with no flags, width or
 * precision: the common case) are converted here, the others are
 * re-assembled as a one-conversion format (flags, width, precision, '*'
 * resolved to numbers) and printed by vsnprintf. %s, %c, %ls, %lc, %R and
 * %S are done here so that widths count code points and a precision never
 * cuts a UTF-8 sequence in two. The result goes through rc_str_new, which
 * checks that it is UTF-8.
 *
 * The intern table is process-wide: open addressing with linear probing
 * over {hash, str} slots (rc_malloc storage, a power-of-two capacity, at
 * most 2/3 full), behind one mutex. An interned str is immortal
 * (rc_immortalize), so every thread may use it without counting, and it
 * is never removed: the table only grows.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <wchar.h>

#include "internal/types.h"

/* {==== helpers ==== */

static inline bool is_ascii_str(const void *s) { return rc_str_len(s) == rc_str_size(s); }

/* Bytes in the UTF-8 sequence that starts with lead byte c. */
static inline size_t seq_len(unsigned char c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

/* A new str of valid UTF-8 s[0..n) of nchars code points; an empty or
 * one-byte text is one of str.c's static strs. */
static void *new_piece(const char *s, size_t n, size_t nchars) {
    if (n <= 1) return n ? _rc_str_ascii_char((unsigned char)s[0]) : _rc_str_empty();
    return _rc_str_new_trusted(s, n, nchars);
}

/* UTF-8 of code point cp into out (4 bytes); its length, 0 for a
 * surrogate or a value above U+10FFFF. */
static size_t encode_utf8(uint32_t cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    if (cp > 0x10FFFF) return 0;
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}
/* }==== */

/* {==== concat, slice, find ==== */

void *rc_str_concat(const void *a, const void *b) {
    RC_USER_FRAME();
    if (!_rc_expect("rc_str_concat", a, &rc_str_type, "a str") ||
        !_rc_expect("rc_str_concat", b, &rc_str_type, "a str"))
        return NULL;
    size_t na = rc_str_size(a), nb = rc_str_size(b);
    if (nb == 0) return rc_incref((void *)a);
    if (na == 0) return rc_incref((void *)b);
    if (na > SIZE_MAX / 2 || nb > SIZE_MAX / 2) {
        _rc_set_error("rc_str_concat: result is too long");
        return NULL;
    }
    char *text;
    void *s = _rc_str_alloc(na + nb, rc_str_len(a) + rc_str_len(b), &text);
    if (!s) return NULL;
    memcpy(text, rc_str_cstr(a), na);
    memcpy(text + na, rc_str_cstr(b), nb);
    return s;
}

void *rc_str_slice(const void *str, int64_t start, int64_t stop) {
    RC_USER_FRAME();
    if (!_rc_expect("rc_str_slice", str, &rc_str_type, "a str")) return NULL;
    size_t n = rc_str_len(str), nb = rc_str_size(str), from, to;
    _rc_slice(start, stop, n, &from, &to);
    if (from == 0 && to == n) return rc_incref((void *)str);
    const char *d = rc_str_cstr(str);
    size_t bf = from, bt = to;
    if (n != nb) {
        bf = _rc_str_offset(str, from);
        /* a short slice walks on from its start; a long one asks the index */
        bt = to - from <= 256 ? bf + _rc_utf8_offset(d + bf, nb - bf, to - from) : _rc_str_offset(str, to);
    }
    return new_piece(d + bf, bt - bf, to - from);
}

int64_t rc_str_find(const void *str, const void *sub, int64_t start) {
    RC_USER_FRAME();
    if (!_rc_expect("rc_str_find", str, &rc_str_type, "a str") ||
        !_rc_expect("rc_str_find", sub, &rc_str_type, "a str (the substring)"))
        return -2;
    size_t n = rc_str_len(str), nb = rc_str_size(str), m = rc_str_size(sub);
    if (start < 0) {
        start += (int64_t)n;
        if (start < 0) start = 0;
    }
    if ((uint64_t)start > n || m > nb) return -1;
    const char *d = rc_str_cstr(str);
    bool ascii = n == nb;
    size_t off = ascii ? (size_t)start : _rc_str_offset(str, (size_t)start);
    const char *hit = m == 0 ? d + off : memmem(d + off, nb - off, rc_str_cstr(sub), m);
    if (!hit) return -1;
    size_t hb = (size_t)(hit - d);
    return ascii ? (int64_t)hb : start + (int64_t)_rc_utf8_count(d + off, hb - off);
}
/* }==== */

/* {==== split and join ==== */

/* Python's whitespace (str.isspace): the byte length of the whitespace
 * code point at s[i] (in valid UTF-8), or 0. */
static size_t space_at(const unsigned char *s, size_t i) {
    unsigned char c = s[i];
    if (c < 0x80) return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20);
    if (c == 0xC2) return s[i + 1] == 0x85 || s[i + 1] == 0xA0 ? 2 : 0;
    if (c == 0xE1) return s[i + 1] == 0x9A && s[i + 2] == 0x80 ? 3 : 0; /* U+1680 */
    if (c == 0xE3) return s[i + 1] == 0x80 && s[i + 2] == 0x80 ? 3 : 0; /* U+3000 */
    if (c != 0xE2) return 0;
    if (s[i + 1] == 0x80) {
        unsigned char t = s[i + 2];
        /* U+2000..U+200A, U+2028, U+2029, U+202F */
        return t <= 0x8A || t == 0xA8 || t == 0xA9 || t == 0xAF ? 3 : 0;
    }
    return s[i + 1] == 0x81 && s[i + 2] == 0x9F ? 3 : 0; /* U+205F */
}

/* Append a new str s[0..n) to list; false (list untouched) on failure. */
static bool append_piece(void *list, const char *s, size_t n, size_t nchars) {
    void *piece = new_piece(s, n, nchars);
    return piece && rc_list_append_steal(list, piece) == 0;
}

void *rc_str_split(const void *str, const void *sep) {
    RC_USER_FRAME();
    if (!_rc_expect("rc_str_split", str, &rc_str_type, "a str")) return NULL;
    if (sep && !_rc_expect("rc_str_split", sep, &rc_str_type, "a str or NULL (the separator)")) return NULL;
    size_t m = sep ? rc_str_size(sep) : 0;
    if (sep && m == 0) {
        _rc_set_error("rc_str_split: empty separator");
        return NULL;
    }
    void *list = rc_list_new();
    if (!list) return NULL;
    const char *d = rc_str_cstr(str);
    const unsigned char *u = (const unsigned char *)d;
    size_t nb = rc_str_size(str);
    bool ascii = is_ascii_str(str);
    if (sep) {
        const char *sd = rc_str_cstr(sep);
        size_t pos = 0;
        for (;;) {
            const char *hit = memmem(d + pos, nb - pos, sd, m);
            size_t end = hit ? (size_t)(hit - d) : nb;
            size_t len = end - pos;
            if (!append_piece(list, d + pos, len, ascii ? len : _rc_utf8_count(d + pos, len))) goto fail;
            if (!hit) break;
            pos = end + m;
        }
        return list;
    }
    size_t i = 0, w;
    for (;;) {
        while (i < nb && (w = space_at(u, i)) != 0) i += w;
        if (i >= nb) break;
        size_t begin = i, nchars = 0;
        while (i < nb && space_at(u, i) == 0) {
            i += seq_len(u[i]);
            nchars++;
        }
        if (!append_piece(list, d + begin, i - begin, nchars)) goto fail;
    }
    return list;
fail:
    rc_decref(list);
    return NULL;
}

/* The items of iterable as an array of new references in *items (rc_malloc;
 * *n of them), each checked to be a str. false with rc_last_error set. */
static bool collect_strs(void *iterable, void ***items, size_t *n) {
    const rc_type *t = rc_type_of(iterable);
    if (!t->iter && !t->next) {
        _rc_set_error("rc_str_join: can only join an iterable, got %s", _rc_obj_type_name(iterable));
        return false;
    }
    void *it = rc_iter(iterable);
    if (!it) return false;
    void **v = NULL, *x;
    size_t len = 0, cap = 0;
    int r;
    while ((r = rc_next(it, &x)) == 1) {
        if (rc_type_of(x) != &rc_str_type) {
            _rc_set_error("rc_str_join: sequence item %zu: expected str instance, %s found", len,
                          _rc_obj_type_name(x));
            rc_decref(x);
            r = -1;
            break;
        }
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            void **nv = rc_realloc(v, ncap * sizeof *v);
            if (!nv) {
                _rc_set_error("rc_str_join: out of memory");
                rc_decref(x);
                r = -1;
                break;
            }
            v = nv;
            cap = ncap;
        }
        v[len++] = x;
    }
    rc_decref(it);
    if (r < 0) {
        for (size_t i = 0; i < len; i++) rc_decref(v[i]);
        rc_free(v);
        return false;
    }
    *items = v;
    *n = len;
    return true;
}

void *rc_str_join(const void *sep, void *iterable) {
    RC_USER_FRAME();
    if (!_rc_expect("rc_str_join", sep, &rc_str_type, "a str (the separator)")) return NULL;
    if (!iterable) {
        _rc_set_error("rc_str_join: iterable is NULL");
        return NULL;
    }
    /* A list or tuple is read in place: nothing below runs user code (the
     * one allocation is of a str, which never starts a collection). */
    const rc_type *t = rc_type_of(iterable);
    void *const *items;
    void **owned = NULL;
    size_t n;
    if (t == &rc_list_type || t == &rc_tuple_type) {
        items = _rc_sequence_items(iterable, &n);
    } else {
        if (!collect_strs(iterable, &owned, &n)) return NULL;
        items = owned;
    }
    void *result = NULL;
    size_t ms = rc_str_size(sep), total = 0, nchars = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc_type_of(items[i]) != &rc_str_type) {
            _rc_set_error("rc_str_join: sequence item %zu: expected str instance, %s found", i,
                          _rc_obj_type_name(items[i]));
            goto done;
        }
        if (__builtin_add_overflow(total, rc_str_size(items[i]), &total) ||
            (i > 0 && __builtin_add_overflow(total, ms, &total))) {
            _rc_set_error("rc_str_join: result is too long");
            goto done;
        }
        nchars += rc_str_len(items[i]) + (i > 0 ? rc_str_len(sep) : 0);
    }
    if (n <= 1) {
        result = n ? rc_incref(items[0]) : _rc_str_empty();
        goto done;
    }
    char *text;
    result = _rc_str_alloc(total, nchars, &text);
    if (!result) goto done;
    const char *sd = rc_str_cstr(sep);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && ms) {
            memcpy(text, sd, ms);
            text += ms;
        }
        size_t k = rc_str_size(items[i]);
        memcpy(text, rc_str_cstr(items[i]), k);
        text += k;
    }
done:
    if (owned) {
        for (size_t i = 0; i < n; i++) rc_decref(owned[i]);
        rc_free(owned);
    }
    return result;
}
/* }==== */

/* {==== rc_str_format ==== */

/* The output of one rc_str_format: a stack buffer, moved to the heap
 * (rc_malloc) when it outgrows it. A failed growth marks it failed. */
typedef struct fmt_out {
    char *buf; /* local, or heap memory */
    size_t len, cap;
    bool failed;
    char local[256];
} fmt_out;

static void out_init(fmt_out *o) {
    o->buf = o->local;
    o->len = 0;
    o->cap = sizeof o->local;
    o->failed = false;
}

static void out_free(fmt_out *o) {
    if (o->buf != o->local) rc_free(o->buf);
    o->buf = o->local;
}

/* Room for more bytes and a NUL. */
static bool out_reserve(fmt_out *o, size_t more) {
    if (o->failed) return false;
    size_t need;
    if (__builtin_add_overflow(o->len, more + 1, &need)) {
        o->failed = true;
        return false;
    }
    if (need <= o->cap) return true;
    size_t cap = o->cap * 2 > need ? o->cap * 2 : need;
    char *b = o->buf == o->local ? rc_malloc(cap) : rc_realloc(o->buf, cap);
    if (!b) {
        o->failed = true;
        return false;
    }
    if (o->buf == o->local) memcpy(b, o->local, o->len);
    o->buf = b;
    o->cap = cap;
    return true;
}

static inline void out_add(fmt_out *o, const char *s, size_t n) {
    if (!out_reserve(o, n)) return;
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

/* vsnprintf of one conversion straight into the buffer. */
static void out_printf(fmt_out *o, const char *one, ...) {
    va_list ap, again;
    va_start(ap, one);
    va_copy(again, ap);
    if (!o->failed) {
        int n = vsnprintf(o->buf + o->len, o->cap - o->len, one, ap);
        if (n < 0) {
            o->failed = true;
        } else if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
        } else if (out_reserve(o, (size_t)n)) {
            vsnprintf(o->buf + o->len, o->cap - o->len, one, again);
            o->len += (size_t)n;
        }
    }
    va_end(again);
    va_end(ap);
}

/* One parsed conversion: %[flags][width][.precision][length]conv. */
typedef struct conv_spec {
    const char *start; /* the '%' in the format */
    char flags[16];    /* NUL-terminated, as written (plus '-' for a negative '*' width) */
    bool left;         /* '-': pad on the right */
    int width, prec;   /* -1: none */
    char len[3];       /* "", "hh", "h", "l", "ll", "j", "z", "t" or "L" */
    char conv;
} conv_spec;

/* Set the error naming the conversion at spec->start .. end. */
static void conv_error(const char *fmt, const conv_spec *spec, const char *end, const char *problem) {
    int n = (int)(end - spec->start);
    if (n > 24) n = 24;
    _rc_set_error("rc_str_format: %s '%.*s' at offset %zu", problem, n, spec->start,
                  (size_t)(spec->start - fmt));
}

/* A decimal number at *p (at most INT_MAX); false when larger. */
static bool parse_int(const char **p, int *out) {
    long v = 0;
    while (**p >= '0' && **p <= '9') {
        v = v * 10 + (**p - '0');
        if (v > INT_MAX) return false;
        ++*p;
    }
    *out = (int)v;
    return true;
}

static void add_padding(fmt_out *o, size_t n) {
    static const char spaces[] = "                                ";
    while (n > 0) {
        size_t k = n < sizeof spaces - 1 ? n : sizeof spaces - 1;
        out_add(o, spaces, k);
        n -= k;
    }
}

/* Append text s[0..n) of nchars code points, padded to the width. */
static void add_padded(fmt_out *o, const conv_spec *spec, const char *s, size_t n, size_t nchars) {
    size_t pad = spec->width > 0 && (size_t)spec->width > nchars ? (size_t)spec->width - nchars : 0;
    if (!spec->left) add_padding(o, pad);
    out_add(o, s, n);
    if (spec->left) add_padding(o, pad);
}

/* %s: precision in bytes (C's rule: s need not be NUL-terminated within
 * it), shortened so that it does not end inside a UTF-8 sequence; width
 * in code points. */
static void add_cstr(fmt_out *o, const conv_spec *spec, const char *s) {
    if (!s) s = "(null)";
    size_t n = spec->prec >= 0 ? strnlen(s, (size_t)spec->prec) : strlen(s);
    if (spec->prec >= 0 && n > 0) {
        size_t lead = n - 1; /* the last sequence's lead byte, within 3 bytes back */
        while (lead > 0 && n - lead < 4 && ((unsigned char)s[lead] & 0xC0) == 0x80) lead--;
        if (lead + seq_len((unsigned char)s[lead]) > n) n = lead;
    }
    if (spec->width <= 0) out_add(o, s, n);
    else add_padded(o, spec, s, n, _rc_utf8_count(s, n));
}

/* %ls: a wide string as UTF-8; precision: at most that many bytes, whole
 * characters only. false for a character that is not a code point. */
static bool add_wstr(fmt_out *o, const conv_spec *spec, const wchar_t *ws) {
    if (!ws) {
        add_cstr(o, spec, NULL);
        return true;
    }
    fmt_out tmp;
    out_init(&tmp);
    size_t nchars = 0;
    for (; *ws; ws++) {
        char buf[4];
        size_t k = encode_utf8((uint32_t)*ws, buf);
        if (!k) {
            out_free(&tmp);
            _rc_set_error("rc_str_format: %%ls: U+%04lX is not a code point", (unsigned long)(uint32_t)*ws);
            return false;
        }
        if (spec->prec >= 0 && tmp.len + k > (size_t)spec->prec) break;
        out_add(&tmp, buf, k);
        nchars++;
    }
    if (tmp.failed) o->failed = true;
    else add_padded(o, spec, tmp.buf, tmp.len, nchars);
    out_free(&tmp);
    return true;
}

/* %c / %lc: the code point cp as UTF-8. */
static bool add_char(fmt_out *o, const conv_spec *spec, uint32_t cp) {
    char buf[4];
    size_t k = encode_utf8(cp, buf);
    if (!k) {
        _rc_set_error("rc_str_format: %%c: %lu is not a code point", (unsigned long)cp);
        return false;
    }
    add_padded(o, spec, buf, k, 1);
    return true;
}

/* %R / %S: the str s (consumed); width and precision in code points. */
static void add_obj_str(fmt_out *o, const conv_spec *spec, void *s) {
    size_t n = rc_str_size(s), nchars = rc_str_len(s);
    if (spec->prec >= 0 && (size_t)spec->prec < nchars) {
        nchars = (size_t)spec->prec;
        n = _rc_str_offset(s, nchars);
    }
    add_padded(o, spec, rc_str_cstr(s), n, nchars);
    rc_decref(s);
}

/* %n: the bytes written so far, stored through a pointer of the length
 * modifier's type. */
static void store_count(const conv_spec *spec, va_list *ap, size_t count) {
    const char *l = spec->len;
    if (!strcmp(l, "hh")) *va_arg(*ap, signed char *) = (signed char)count;
    else if (!strcmp(l, "h")) *va_arg(*ap, short *) = (short)count;
    else if (!strcmp(l, "l")) *va_arg(*ap, long *) = (long)count;
    else if (!strcmp(l, "ll")) *va_arg(*ap, long long *) = (long long)count;
    else if (!strcmp(l, "j")) *va_arg(*ap, intmax_t *) = (intmax_t)count;
    else if (!strcmp(l, "z")) *va_arg(*ap, ssize_t *) = (ssize_t)count;
    else if (!strcmp(l, "t")) *va_arg(*ap, ptrdiff_t *) = (ptrdiff_t)count;
    else *va_arg(*ap, int *) = (int)count;
}

/* An integer argument, read with the type the length modifier names (hh
 * and h arrive promoted to int and are narrowed here), as 64 bits: signed
 * for d and i, unsigned for o, u, x and X. */
static uint64_t fetch_integer(const conv_spec *spec, va_list *ap, bool sign) {
    const char *l = spec->len;
    switch (l[0]) {
    case 'h':
        if (l[1] == 'h') {
            int v = va_arg(*ap, int);
            return sign ? (uint64_t)(int64_t)(signed char)v : (unsigned char)v;
        } else {
            int v = va_arg(*ap, int);
            return sign ? (uint64_t)(int64_t)(short)v : (unsigned short)v;
        }
    case 'l':
        if (l[1] == 'l') return sign ? (uint64_t)(int64_t)va_arg(*ap, long long) : va_arg(*ap, unsigned long long);
        return sign ? (uint64_t)(int64_t)va_arg(*ap, long) : va_arg(*ap, unsigned long);
    case 'j':
        return sign ? (uint64_t)(int64_t)va_arg(*ap, intmax_t) : (uint64_t)va_arg(*ap, uintmax_t);
    case 'z':
        return sign ? (uint64_t)(int64_t)va_arg(*ap, ssize_t) : (uint64_t)va_arg(*ap, size_t);
    case 't':
        return sign ? (uint64_t)(int64_t)va_arg(*ap, ptrdiff_t) : (uint64_t)(size_t)va_arg(*ap, ptrdiff_t);
    default:
        return sign ? (uint64_t)(int64_t)va_arg(*ap, int) : va_arg(*ap, unsigned int);
    }
}

/* An integer conversion: plain %d, %u, %x and %X (no flags, width or
 * precision) are written here; the others go through vsnprintf with the
 * value widened to long long. */
static void add_integer(fmt_out *o, const conv_spec *spec, va_list *ap) {
    char c = spec->conv;
    bool sign = c == 'd' || c == 'i';
    uint64_t v = fetch_integer(spec, ap, sign);
    if (spec->flags[0] || spec->width >= 0 || spec->prec >= 0 || c == 'o') {
        char one[48];
        int k = snprintf(one, sizeof one, "%%%s", spec->flags);
        if (spec->width >= 0) k += snprintf(one + k, sizeof one - (size_t)k, "%d", spec->width);
        if (spec->prec >= 0) k += snprintf(one + k, sizeof one - (size_t)k, ".%d", spec->prec);
        snprintf(one + k, sizeof one - (size_t)k, "ll%c", c);
        if (sign) out_printf(o, one, (long long)(int64_t)v);
        else out_printf(o, one, (unsigned long long)v);
        return;
    }
    char buf[24], *end = buf + sizeof buf, *p = end;
    bool neg = sign && (int64_t)v < 0;
    uint64_t m = neg ? 0 - v : v;
    if (c == 'x' || c == 'X') {
        const char *digits = c == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
        do *--p = digits[m & 15]; while (m >>= 4);
    } else {
        do *--p = (char)('0' + m % 10); while (m /= 10);
    }
    if (neg) *--p = '-';
    out_add(o, p, (size_t)(end - p));
}

/* Parse the conversion after the '%' at *p into spec (reading '*'
 * arguments); *p is left after it. false with rc_last_error set. */
static bool parse_conv(const char *fmt, const char **p, conv_spec *spec, va_list *ap) {
    const char *q = *p + 1;
    size_t nf = 0;
    spec->left = false;
    while (*q && strchr("-+ #0'I", *q)) {
        if (*q == '-') spec->left = true;
        if (nf < sizeof spec->flags - 2) spec->flags[nf++] = *q;
        q++;
    }
    spec->width = spec->prec = -1;
    if (*q == '*') {
        int w = va_arg(*ap, int);
        q++;
        if (w < 0) {
            if (w == INT_MIN) {
                conv_error(fmt, spec, q, "width too large in");
                return false;
            }
            w = -w;
            spec->left = true;
            spec->flags[nf++] = '-';
        }
        spec->width = w;
    } else if (*q >= '1' && *q <= '9' && !parse_int(&q, &spec->width)) {
        conv_error(fmt, spec, q, "width too large in");
        return false;
    }
    spec->flags[nf] = '\0';
    if (*q == '.') {
        q++;
        if (*q == '*') {
            int pr = va_arg(*ap, int);
            q++;
            spec->prec = pr < 0 ? -1 : pr;
        } else if (!parse_int(&q, &spec->prec)) {
            conv_error(fmt, spec, q, "precision too large in");
            return false;
        }
    }
    size_t nl = 0;
    if ((q[0] == 'h' && q[1] == 'h') || (q[0] == 'l' && q[1] == 'l')) nl = 2;
    else if (*q && strchr("hljztL", *q)) nl = 1;
    memcpy(spec->len, q, nl);
    spec->len[nl] = '\0';
    q += nl;
    if (!*q) {
        conv_error(fmt, spec, q, "incomplete conversion");
        return false;
    }
    spec->conv = *q++;
    *p = q;
    return true;
}

/* Is the length modifier allowed with the conversion? */
static bool length_fits(const conv_spec *spec) {
    const char *l = spec->len;
    switch (spec->conv) {
    case 'd': case 'i': case 'o': case 'u': case 'x': case 'X': case 'n':
        return strcmp(l, "L") != 0;
    case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': case 'a': case 'A':
        return !*l || !strcmp(l, "l") || !strcmp(l, "L");
    case 'c': case 's':
        return !*l || !strcmp(l, "l");
    default:
        return !*l;
    }
}

/* A floating or pointer conversion through vsnprintf, as written ('*'
 * resolved; l dropped, L kept). */
static void add_printf(fmt_out *o, const conv_spec *spec, va_list *ap) {
    char one[48];
    int k = snprintf(one, sizeof one, "%%%s", spec->flags);
    if (spec->width >= 0) k += snprintf(one + k, sizeof one - (size_t)k, "%d", spec->width);
    if (spec->prec >= 0) k += snprintf(one + k, sizeof one - (size_t)k, ".%d", spec->prec);
    bool ld = spec->len[0] == 'L';
    snprintf(one + k, sizeof one - (size_t)k, "%s%c", ld ? "L" : "", spec->conv);
    if (spec->conv == 'p') out_printf(o, one, va_arg(*ap, void *));
    else if (ld) out_printf(o, one, va_arg(*ap, long double));
    else out_printf(o, one, va_arg(*ap, double));
}

static void *format_v(const char *fmt, va_list *ap) {
    int saved_errno = errno; /* for %m, before anything here changes it */
    fmt_out o;
    out_init(&o);
    const char *p = fmt;
    for (;;) {
        const char *pct = strchr(p, '%');
        if (!pct) {
            out_add(&o, p, strlen(p));
            break;
        }
        out_add(&o, p, (size_t)(pct - p));
        if (pct[1] == '%') {
            out_add(&o, "%", 1);
            p = pct + 2;
            continue;
        }
        conv_spec spec = {.start = pct};
        p = pct;
        if (!parse_conv(fmt, &p, &spec, ap)) goto fail;
        if (!length_fits(&spec)) {
            conv_error(fmt, &spec, p, "bad length modifier in");
            goto fail;
        }
        switch (spec.conv) {
        case 'd': case 'i': case 'o': case 'u': case 'x': case 'X':
            add_integer(&o, &spec, ap);
            break;
        case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': case 'a': case 'A': case 'p':
            add_printf(&o, &spec, ap);
            break;
        case 's':
            if (spec.len[0]) {
                if (!add_wstr(&o, &spec, va_arg(*ap, const wchar_t *))) goto fail;
            } else {
                add_cstr(&o, &spec, va_arg(*ap, const char *));
            }
            break;
        case 'c':
            if (!add_char(&o, &spec, spec.len[0] ? (uint32_t)va_arg(*ap, wint_t) : (uint32_t)va_arg(*ap, int)))
                goto fail;
            break;
        case 'm':
            add_cstr(&o, &spec, strerror(saved_errno));
            break;
        case 'n':
            store_count(&spec, ap, o.len);
            break;
        case 'R':
        case 'S': {
            void *obj = va_arg(*ap, void *);
            void *s = spec.conv == 'R' ? rc_repr(obj) : rc_str_of(obj);
            if (!s) goto fail;
            add_obj_str(&o, &spec, s);
            break;
        }
        default:
            conv_error(fmt, &spec, p, "unknown conversion");
            goto fail;
        }
        if (o.failed) {
            conv_error(fmt, &spec, p, "out of memory or output too long at");
            goto fail;
        }
    }
    if (o.failed) {
        _rc_set_error("rc_str_format: out of memory");
        goto fail;
    }
    void *s = rc_str_new(o.buf, o.len);
    if (!s) {
        /* rc_str_new's message, under this function's name */
        char msg[200];
        const char *colon = strchr(rc_last_error(), ':');
        snprintf(msg, sizeof msg, "%s", colon ? colon : ": invalid UTF-8");
        _rc_set_error("rc_str_format%s", msg);
    }
    out_free(&o);
    return s;
fail:
    out_free(&o);
    return NULL;
}

void *rc_str_format(const char *fmt, ...) {
    RC_USER_FRAME();
    if (!fmt) {
        _rc_set_error("rc_str_format: format is NULL");
        return NULL;
    }
    va_list ap;
    va_start(ap, fmt);
    void *s = format_v(fmt, &ap);
    va_end(ap);
    return s;
}
/* }==== */

/* {==== interning ==== */

typedef struct intern_slot {
    int64_t hash;
    void *str; /* NULL: empty */
} intern_slot;

/* Invariants (under intern_lock): cap is 0 or a power of two; used <= cap
 * * 2 / 3; each str is immortal and sits in the first empty-or-equal slot
 * of its probe sequence from hash & (cap - 1). */
static pthread_mutex_t intern_lock = PTHREAD_MUTEX_INITIALIZER;
static intern_slot *intern_slots;
static size_t intern_cap, intern_used;

/* The slot holding text s[0..n) (hash h), or the empty slot where it goes. */
static intern_slot *intern_find(const char *s, size_t n, int64_t h) {
    size_t mask = intern_cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        intern_slot *e = &intern_slots[i];
        if (!e->str) return e;
        if (e->hash == h && rc_str_size(e->str) == n && memcmp(rc_str_cstr(e->str), s, n) == 0) return e;
    }
}

static bool intern_grow(void) {
    size_t ncap = intern_cap ? intern_cap * 2 : 256;
    intern_slot *ns = rc_calloc(ncap, sizeof *ns);
    if (!ns) {
        _rc_set_error("rc_str_intern: out of memory");
        return false;
    }
    for (size_t i = 0; i < intern_cap; i++) {
        intern_slot *e = &intern_slots[i];
        if (!e->str) continue;
        size_t j = (size_t)e->hash & (ncap - 1);
        while (ns[j].str) j = (j + 1) & (ncap - 1);
        ns[j] = *e;
    }
    rc_free(intern_slots);
    intern_slots = ns;
    intern_cap = ncap;
    return true;
}

/* The interned str of text s[0..n), interning str (or, when str is NULL, a
 * new str of the text) if there is none. NULL with rc_last_error set. */
static void *intern_text(const char *fn, const char *s, size_t n, int64_t h, void *str) {
    pthread_mutex_lock(&intern_lock);
    void *result = NULL;
    if (!intern_cap && !intern_grow()) goto out;
    intern_slot *e = intern_find(s, n, h);
    if (e->str) {
        result = e->str;
        goto out;
    }
    if ((intern_used + 1) * 3 > intern_cap * 2) {
        if (!intern_grow()) goto out;
        e = intern_find(s, n, h);
    }
    if (!str) {
        str = rc_str_new(s, n);
        if (str) rc_hash(str); /* cached now: the str is about to be shared */
        if (!str) {
            char msg[200];
            const char *colon = strchr(rc_last_error(), ':');
            snprintf(msg, sizeof msg, "%s", colon ? colon : ": out of memory");
            _rc_set_error("%s%s", fn, msg);
            goto out;
        }
    }
    if (rc_refcount(str) < RC_IMMORTAL_REFCNT) rc_immortalize(str);
    e->hash = h;
    e->str = str;
    intern_used++;
    result = str;
out:
    pthread_mutex_unlock(&intern_lock);
    return result;
}

void *rc_str_intern(const void *str) {
    RC_USER_FRAME();
    if (!_rc_expect("rc_str_intern", str, &rc_str_type, "a str")) return NULL;
    return intern_text("rc_str_intern", rc_str_cstr(str), rc_str_size(str), rc_hash(str), (void *)str);
}

void *rc_str_intern_cstr(const char *cstr) {
    RC_USER_FRAME();
    if (!cstr) {
        _rc_set_error("rc_str_intern_cstr: text is NULL");
        return NULL;
    }
    size_t n = strlen(cstr);
    return intern_text("rc_str_intern_cstr", cstr, n, _rc_hash_bytes(cstr, n), NULL);
}
/* }==== */

/* {==== str(obj) and the iterator ==== */

void *rc_str_of(const void *obj) {
    RC_USER_FRAME();
    if (obj && rc_type_of(obj) == &rc_str_type) return rc_incref((void *)obj);
    return rc_repr(obj);
}

typedef struct str_iter_obj {
    void *str;        /* NULL once exhausted */
    const char *text; /* str's UTF-8 (borrowed from str) */
    size_t pos, n;    /* the next byte; pos <= n == str's nbytes */
} str_iter_obj;

static int str_iter_traverse(void *self, rc_visit_fn visit, void *arg) {
    str_iter_obj *it = self;
    return it->str ? visit(it->str, arg) : 0;
}

static void str_iter_clear(void *self) { RC_CLEAR(((str_iter_obj *)self)->str); }

static int str_iter_next(void *self, void **out) {
    str_iter_obj *it = self;
    if (RC_LIKELY(it->str && it->pos < it->n)) {
        unsigned char c = (unsigned char)it->text[it->pos];
        if (RC_LIKELY(c < 0x80)) {
            it->pos++;
            *out = _rc_str_ascii_char(c);
            return 1;
        }
        size_t k = seq_len(c);
        void *s = _rc_str_new_trusted(it->text + it->pos, k, 1);
        if (!s) {
            RC_CLEAR(it->str);
            return -1;
        }
        it->pos += k;
        *out = s;
        return 1;
    }
    RC_CLEAR(it->str);
    return 0;
}

/* Created untracked and never tracked (RC_TYPE_UNTRACKED): it references
 * only a str, which can be in no cycle; traverse is there so that
 * rc_gc_get_referents sees the str. */
static const rc_type str_iter_type = {.name = "str_iterator",
                                      .size = sizeof(str_iter_obj),
                                      .traverse = str_iter_traverse,
                                      .clear = str_iter_clear,
                                      .destroy = str_iter_clear,
                                      .next = str_iter_next,
                                      .flags = RC_TYPE_BUILTIN | RC_TYPE_UNTRACKED};

void *_rc_str_iter(void *self) {
    str_iter_obj *it = rc_new(&str_iter_type);
    if (!it) return NULL;
    it->str = rc_incref(self);
    it->text = rc_str_cstr(self);
    it->n = rc_str_size(self);
    return it;
}
/* }==== */
