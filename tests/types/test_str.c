/*
 * test_str.c — strs (reclaim.h 6.2): creation and UTF-8 validation,
 * repr, hash, equality and order, concat, slice, find, split, join,
 * rc_str_format, interning, rc_str_of, and rc_len / rc_contains / rc_iter
 * on strs. Expected values are what python3 (3.11) gives for the same
 * operations. split results and joins of lists need list.c.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/types.h>
#include <wchar.h>

#include "types_util.h"

static bool is_immortal(const void *obj) { return rc_refcount(obj) >= RC_IMMORTAL_REFCNT; }

static void *S(const char *cstr) {
    void *s = rc_str_from_cstr(cstr);
    assert_non_null(s);
    return s;
}

/* Assert str holds exactly text (bytes) and has nchars code points. */
static void str_is(const void *str, const char *text, size_t nchars) {
    assert_non_null(str);
    assert_ptr_equal(rc_type_of(str), &rc_str_type);
    assert_string_equal(rc_str_cstr(str), text);
    assert_int_equal(rc_str_size(str), strlen(text));
    assert_int_equal(rc_str_len(str), nchars);
}

/* Assert list is a list of strs equal to the n texts. */
static void list_is(void *list, size_t n, const char *const *texts) {
    assert_non_null(list);
    assert_ptr_equal(rc_type_of(list), &rc_list_type);
    assert_int_equal(rc_list_len(list), n);
    for (size_t i = 0; i < n; i++) assert_string_equal(rc_str_cstr(rc_list_get(list, (int64_t)i)), texts[i]);
}

/* {==== creation, validation ==== */

static void test_new_and_accessors(void **state) {
    (void)state;
    void *s = rc_str_new("ab\0cd", 5); /* embedded NUL kept */
    assert_non_null(s);
    assert_int_equal(rc_refcount(s), 1);
    assert_int_equal(rc_str_len(s), 5);
    assert_int_equal(rc_str_size(s), 5);
    assert_memory_equal(rc_str_cstr(s), "ab\0cd", 6); /* NUL-terminated too */
    assert_int_equal(rc_len(s), 5);
    assert_false(rc_gc_is_tracked(s));
    /* 16 header + 24 fields + text + NUL: less than CPython's 49 + n */
    assert_true(rc_sizeof(s) <= 16 + 24 + 6 + 15);
    rc_decref(s);

    void *e = rc_str_new(NULL, 0);
    str_is(e, "", 0);
    rc_decref(e);
    e = rc_str_new("xyz", 0);
    str_is(e, "", 0);
    rc_decref(e);

    void *u = S("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"); /* héllo € 😀 */
    str_is(u, "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 9);
    rc_decref(u);

    clear_error();
    assert_null(rc_str_new(NULL, 3));
    ERROR_HAS("rc_str_new: text is NULL");
    clear_error();
    assert_null(rc_str_from_cstr(NULL));
    ERROR_HAS("rc_str_from_cstr: text is NULL");

    void *i = rc_int_new(5);
    clear_error();
    assert_null(rc_str_cstr(i));
    ERROR_HAS("rc_str_cstr: expected a str, got int");
    clear_error();
    assert_int_equal(rc_str_len(i), 0);
    ERROR_HAS("rc_str_len: expected a str, got int");
    clear_error();
    assert_int_equal(rc_str_size(NULL), 0);
    ERROR_HAS("rc_str_size: expected a str, got NULL");
}

static void invalid_at(const char *bytes, size_t n, size_t offset) {
    char want[80];
    snprintf(want, sizeof want, "rc_str_new: invalid UTF-8 at byte offset %zu", offset);
    clear_error();
    void *s = rc_str_new(bytes, n);
    if (s) fail_msg("accepted invalid UTF-8 (expected an error at offset %zu)", offset);
    assert_string_equal(rc_last_error(), want);
}

static void valid(const char *bytes, size_t n, size_t nchars) {
    void *s = rc_str_new(bytes, n);
    assert_non_null(s);
    assert_int_equal(rc_str_len(s), nchars);
    rc_decref(s);
}

static void test_utf8_validation(void **state) {
    (void)state;
    /* the edges of each sequence length */
    valid("\x7f", 1, 1);
    valid("\xc2\x80", 2, 1);         /* U+0080 */
    valid("\xdf\xbf", 2, 1);         /* U+07FF */
    valid("\xe0\xa0\x80", 3, 1);     /* U+0800 */
    valid("\xed\x9f\xbf", 3, 1);     /* U+D7FF, below the surrogates */
    valid("\xee\x80\x80", 3, 1);     /* U+E000, above them */
    valid("\xef\xbf\xbf", 3, 1);     /* U+FFFF */
    valid("\xf0\x90\x80\x80", 4, 1); /* U+10000 */
    valid("\xf4\x8f\xbf\xbf", 4, 1); /* U+10FFFF */
    valid("abcdefgh\xc3\xa9ijklmnop", 18, 17);
    /* lone continuation bytes and bad lead bytes */
    invalid_at("\x80", 1, 0);
    invalid_at("ab\xbf", 3, 2);
    invalid_at("\xff", 1, 0);
    invalid_at("\xf5\x80\x80\x80", 4, 0);
    /* overlong forms */
    invalid_at("\xc0\x80", 2, 0);
    invalid_at("x\xc1\xbf", 3, 1);
    invalid_at("\xe0\x80\x80", 3, 0);
    invalid_at("\xe0\x9f\xbf", 3, 0);
    invalid_at("\xf0\x80\x80\x80", 4, 0);
    invalid_at("\xf0\x8f\xbf\xbf", 4, 0);
    /* surrogates and beyond U+10FFFF */
    invalid_at("\xed\xa0\x80", 3, 0);
    invalid_at("ok\xed\xbf\xbf", 5, 2);
    invalid_at("\xf4\x90\x80\x80", 4, 0);
    /* truncated sequences and bad continuations */
    invalid_at("abc\xe2\x82", 5, 3);
    invalid_at("\xf0\x9f\x98", 3, 0);
    invalid_at("\xc3", 1, 0);
    invalid_at("\xe2\x28\xa1", 3, 0);
    invalid_at("\xc3\xa9\xc3(", 4, 2);
    /* after the 8-bytes-at-a-time ASCII path */
    invalid_at("abcdefgh\xff", 9, 8);
    invalid_at("abcdefghijklmnopq\x80rst", 21, 17);
}
/* }==== */

/* {==== repr, hash, equality, order ==== */

static void repr_is(const char *text, const char *expected) {
    void *s = S(text);
    REPR_EQ(s, expected);
    rc_decref(s);
}

static void test_repr(void **state) {
    (void)state;
    repr_is("", "''");
    repr_is("abc", "'abc'");
    repr_is("it's", "\"it's\"");
    repr_is("say \"hi\"", "'say \"hi\"'");
    repr_is("both ' and \"", "'both \\' and \"'");
    repr_is("tab\there", "'tab\\there'");
    repr_is("nl\n", "'nl\\n'");
    repr_is("cr\r", "'cr\\r'");
    repr_is("del\x7f", "'del\\x7f'");
    repr_is("esc\x1b", "'esc\\x1b'");
    repr_is("back\\slash", "'back\\\\slash'");
    repr_is("caf\xc3\xa9", "'caf\xc3\xa9'");
    repr_is("\xe2\x82\xac", "'\xe2\x82\xac'");
    repr_is("\xf0\x9f\x98\x80", "'\xf0\x9f\x98\x80'");
    /* code points Python does not print as they are */
    repr_is("\xc2\x85", "'\\x85'");
    repr_is("\xc2\xa0", "'\\xa0'");
    repr_is("\xc2\xad", "'\\xad'");
    repr_is("a\xe2\x80\xa8z", "'a\\u2028z'");
    repr_is("\xe2\x80\x8b", "'\\u200b'");
    repr_is("\xef\xbb\xbf", "'\\ufeff'");
    repr_is("\xee\x80\x80", "'\\ue000'");
    repr_is("\xef\xbf\xbe", "'\\ufffe'");
    repr_is("\xf3\xb0\x80\x80", "'\\U000f0000'");
    void *nul = rc_str_new("nul\0", 4);
    REPR_EQ(nul, "'nul\\x00'");
    rc_decref(nul);
}

static void test_hash_equal_compare(void **state) {
    (void)state;
    void *a = S("hello"), *b = S("hello"), *c = S("hellp"), *d = S("hell"), *e = S("");
    assert_ptr_not_equal(a, b);
    assert_true(rc_equal(a, b));
    assert_int_equal(rc_hash(a), rc_hash(b));
    assert_int_not_equal(rc_hash(a), -1);
    assert_false(rc_equal(a, c));
    assert_false(rc_equal(a, d));
    assert_int_not_equal(rc_hash(a), rc_hash(c)); /* not required, but a 64-bit hash should differ */
    assert_int_not_equal(rc_hash(e), -1);
    int r;
    assert_int_equal(rc_compare(a, c, &r), 0);
    assert_int_equal(r, -1);
    assert_int_equal(rc_compare(c, a, &r), 0);
    assert_int_equal(r, 1);
    assert_int_equal(rc_compare(d, a, &r), 0); /* a prefix sorts first */
    assert_int_equal(r, -1);
    assert_int_equal(rc_compare(e, d, &r), 0);
    assert_int_equal(r, -1);
    assert_int_equal(rc_compare(a, b, &r), 0);
    assert_int_equal(r, 0);
    /* by code point: 'z' < 'é' (U+E9) < '€' (U+20AC) < '😀' (U+1F600) */
    void *z = S("z"), *eacute = S("\xc3\xa9"), *euro = S("\xe2\x82\xac"), *emoji = S("\xf0\x9f\x98\x80");
    void *order[] = {z, eacute, euro, emoji};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rc_compare(order[i], order[i + 1], &r), 0);
        assert_int_equal(r, -1);
    }
    /* a str is never equal to bytes or a number */
    void *by = rc_bytes_new("hello", 5), *n = rc_int_new(0);
    assert_false(rc_equal(a, by));
    assert_false(rc_equal(e, n));
    clear_error();
    assert_int_equal(rc_compare(a, by, &r), -1);
    ERROR_HAS("rc_compare: '<' not supported between 'str' and 'bytes'");
    rc_decref(by);
    void *objs[] = {a, b, c, d, e, z, eacute, euro, emoji};
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) {
        assert_int_equal(rc_refcount(objs[i]), 1);
        rc_decref(objs[i]);
    }
}
/* }==== */

/* {==== concat, slice, find ==== */

static void test_concat(void **state) {
    (void)state;
    void *a = S("ab"), *b = S("c\xc3\xa9"), *e = S("");
    void *ab = rc_str_concat(a, b);
    str_is(ab, "abc\xc3\xa9", 4);
    assert_int_equal(rc_refcount(ab), 1);
    assert_int_equal(rc_refcount(a), 1);
    assert_int_equal(rc_refcount(b), 1);
    void *ba = rc_str_concat(b, a);
    str_is(ba, "c\xc3\xa9" "ab", 4);
    /* + "" gives the other operand itself */
    void *same = rc_str_concat(a, e);
    assert_ptr_equal(same, a);
    assert_int_equal(rc_refcount(a), 2);
    rc_decref(same);
    same = rc_str_concat(e, b);
    assert_ptr_equal(same, b);
    rc_decref(same);
    void *ee = rc_str_concat(e, e);
    str_is(ee, "", 0);
    rc_decref(ee);
    void *aa = rc_str_concat(a, a);
    str_is(aa, "abab", 4);
    rc_decref(aa);
    void *n = rc_int_new(1000);
    clear_error();
    assert_null(rc_str_concat(a, n));
    ERROR_HAS("rc_str_concat: expected a str, got int");
    clear_error();
    assert_null(rc_str_concat(NULL, a));
    ERROR_HAS("rc_str_concat: expected a str, got NULL");
    assert_int_equal(rc_refcount(n), 1);
    rc_decref(n);
    rc_decref(ab);
    rc_decref(ba);
    rc_decref(a);
    rc_decref(b);
    rc_decref(e);
}

static void slice_is(const void *s, int64_t start, int64_t stop, const char *text, size_t nchars) {
    void *x = rc_str_slice(s, start, stop);
    str_is(x, text, nchars);
    rc_decref(x);
}

static void test_slice(void **state) {
    (void)state;
    void *s = S("hello");
    slice_is(s, 1, 3, "el", 2);
    slice_is(s, -3, -1, "ll", 2);
    slice_is(s, 0, 0, "", 0);
    /* an empty result is the shared immortal empty str */
    void *e1 = rc_str_slice(s, 3, 1), *e2 = rc_str_slice(s, 9, 10);
    assert_ptr_equal(e1, e2);
    assert_true(is_immortal(e1));
    assert_int_equal(rc_str_len(e1), 0);
    slice_is(s, 3, 1, "", 0);
    slice_is(s, 10, 20, "", 0);
    slice_is(s, -100, 2, "he", 2);
    slice_is(s, 4, 100, "o", 1);
    /* the whole str is the str itself */
    void *all = rc_str_slice(s, -100, 100);
    assert_ptr_equal(all, s);
    assert_int_equal(rc_refcount(s), 2);
    rc_decref(all);
    /* one ASCII character: the shared immortal str */
    void *h1 = rc_str_slice(s, 2, 3), *h2 = rc_str_slice(s, 3, 4);
    assert_ptr_equal(h1, h2);
    assert_true(is_immortal(h1));
    assert_string_equal(rc_str_cstr(h1), "l");
    rc_decref(h1);
    rc_decref(h2);
    assert_int_equal(rc_refcount(s), 1);

    /* héllo wörld😀! : 13 code points, 18 bytes */
    void *u = S("h\xc3\xa9llo w\xc3\xb6rld\xf0\x9f\x98\x80!");
    assert_int_equal(rc_str_len(u), 13);
    slice_is(u, 1, 4, "\xc3\xa9ll", 3);
    slice_is(u, -3, 100, "d\xf0\x9f\x98\x80!", 3);
    slice_is(u, 5, -2, " w\xc3\xb6rld", 6);
    slice_is(u, -100, 2, "h\xc3\xa9", 2);
    slice_is(u, 11, 12, "\xf0\x9f\x98\x80", 1);
    slice_is(u, 12, 13, "!", 1);
    slice_is(u, 13, 14, "", 0);
    /* every [i, j) of a longer mixed text agrees with a byte walk */
    const char *mixed = "a\xc3\xa9" "b\xe2\x82\xac" "cdefghijk\xf0\x9f\x98\x80lmnopq\xc3\xb6rstu";
    void *m = S(mixed);
    size_t n = rc_str_len(m), offs[64], k = 0;
    for (size_t i = 0; mixed[i]; i++)
        if (((unsigned char)mixed[i] & 0xC0) != 0x80) offs[k++] = i;
    offs[k] = strlen(mixed);
    assert_int_equal(k, n);
    for (size_t i = 0; i <= n; i++) {
        for (size_t j = i; j <= n; j++) {
            void *x = rc_str_slice(m, (int64_t)i, (int64_t)j);
            assert_int_equal(rc_str_len(x), j - i);
            assert_int_equal(rc_str_size(x), offs[j] - offs[i]);
            assert_memory_equal(rc_str_cstr(x), mixed + offs[i], offs[j] - offs[i]);
            rc_decref(x);
        }
    }
    rc_decref(m);
    void *n1 = rc_int_new(300);
    clear_error();
    assert_null(rc_str_slice(n1, 0, 1));
    ERROR_HAS("rc_str_slice: expected a str, got int");
    rc_decref(n1);
    rc_decref(u);
    rc_decref(s);
}

static int64_t find(const void *s, const char *sub, int64_t start) {
    void *x = S(sub);
    int64_t r = rc_str_find(s, x, start);
    rc_decref(x);
    return r;
}

static void test_find(void **state) {
    (void)state;
    void *s = S("hello world");
    assert_int_equal(find(s, "o", 0), 4);
    assert_int_equal(find(s, "o", 5), 7);
    assert_int_equal(find(s, "o", 8), -1);
    assert_int_equal(find(s, "o", -4), 7);
    assert_int_equal(find(s, "o", -100), 4);
    assert_int_equal(find(s, "world", 0), 6);
    assert_int_equal(find(s, "worlds", 0), -1);
    assert_int_equal(find(s, "xyz", 0), -1);
    assert_int_equal(find(s, "hello world and more", 0), -1);
    assert_int_equal(find(s, "", 0), 0);
    assert_int_equal(find(s, "", 11), 11);
    assert_int_equal(find(s, "", 12), -1);
    assert_int_equal(find(s, "hello world", 0), 0);
    void *e = S("");
    assert_int_equal(find(e, "", 0), 0);
    assert_int_equal(find(e, "a", 0), -1);
    rc_decref(e);
    /* héllo wörld😀! */
    void *u = S("h\xc3\xa9llo w\xc3\xb6rld\xf0\x9f\x98\x80!");
    assert_int_equal(find(u, "\xc3\xb6", 0), 7);
    assert_int_equal(find(u, "l", 3), 3);
    assert_int_equal(find(u, "l", -4), 9);
    assert_int_equal(find(u, "\xf0\x9f\x98\x80", 0), 11);
    assert_int_equal(find(u, "!", 0), 12);
    assert_int_equal(find(u, "", 13), 13);
    assert_int_equal(find(u, "", 14), -1);
    assert_int_equal(find(u, "o", -100), 4);
    assert_int_equal(find(u, "w\xc3\xb6", 0), 6);
    assert_int_equal(find(u, "\xc3\xa9", 2), -1);
    /* a long haystack with the match at the end */
    char *big = malloc(100002);
    memset(big, 'a', 100000);
    memcpy(big + 100000, "b", 2);
    void *b = S(big);
    assert_int_equal(find(b, "ab", 0), 99999);
    assert_int_equal(find(b, "aab", 50000), 99998);
    assert_int_equal(find(b, "ba", 0), -1);
    rc_decref(b);
    free(big);
    /* errors: -2 */
    void *n = rc_int_new(1000);
    clear_error();
    assert_int_equal(rc_str_find(s, n, 0), -2);
    ERROR_HAS("rc_str_find: expected a str (the substring), got int");
    clear_error();
    assert_int_equal(rc_str_find(n, s, 0), -2);
    ERROR_HAS("rc_str_find: expected a str, got int");
    clear_error();
    assert_int_equal(rc_str_find(s, NULL, 0), -2);
    ERROR_HAS("got NULL");
    assert_int_equal(rc_refcount(s), 1);
    rc_decref(n);
    rc_decref(u);
    rc_decref(s);
}

/* Long non-ASCII strs index every 128th code point on first use: slices
 * and finds anywhere in one agree with a byte walk, also across the index
 * entries' boundaries, and when threads build the index of a shared
 * (interned) str at once. */
#define LONG_CHARS 5000

static size_t long_text(char *buf, size_t *offs) {
    static const char *const pieces[] = {"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "z"};
    size_t len = 0;
    for (size_t k = 0; k < LONG_CHARS; k++) {
        offs[k] = len;
        const char *p = pieces[(k * 7 + k / 3) % 5];
        memcpy(buf + len, p, strlen(p));
        len += strlen(p);
    }
    offs[LONG_CHARS] = len;
    buf[len] = '\0';
    return len;
}

static void check_long_slices(const void *s, const char *buf, const size_t *offs) {
    static const size_t starts[] = {0, 1, 127, 128, 129, 255, 256, 1000, 2047, 4095, 4872, 4999, 5000};
    for (size_t a = 0; a < sizeof starts / sizeof starts[0]; a++) {
        for (size_t b = a; b < sizeof starts / sizeof starts[0]; b++) {
            size_t i = starts[a], j = starts[b];
            void *x = rc_str_slice(s, (int64_t)i, (int64_t)j);
            assert_non_null(x);
            assert_int_equal(rc_str_len(x), j - i);
            assert_int_equal(rc_str_size(x), offs[j] - offs[i]);
            assert_memory_equal(rc_str_cstr(x), buf + offs[i], offs[j] - offs[i]);
            rc_decref(x);
        }
    }
    /* find of the 3 code points at k, from k: k itself */
    for (size_t k = 0; k + 3 <= LONG_CHARS; k += 331) {
        void *sub = rc_str_new(buf + offs[k], offs[k + 3] - offs[k]);
        int64_t at = rc_str_find(s, sub, (int64_t)k);
        assert_int_equal(at, (int64_t)k);
        rc_decref(sub);
    }
}

static void test_long_nonascii(void **state) {
    (void)state;
    char *buf = malloc(LONG_CHARS * 4 + 1);
    size_t *offs = malloc((LONG_CHARS + 1) * sizeof *offs);
    size_t len = long_text(buf, offs);
    void *s = rc_str_new(buf, len);
    assert_int_equal(rc_str_len(s), LONG_CHARS);
    check_long_slices(s, buf, offs);
    check_long_slices(s, buf, offs); /* again, with the index built */
    /* iteration still yields every code point */
    void *it = rc_iter(s), *x;
    size_t n = 0, bytes = 0;
    while (rc_next(it, &x) == 1) {
        assert_int_equal(rc_str_size(x), offs[n + 1] - offs[n]);
        bytes += rc_str_size(x);
        n++;
        rc_decref(x);
    }
    assert_int_equal(n, LONG_CHARS);
    assert_int_equal(bytes, len);
    rc_decref(it);
    assert_int_equal(rc_refcount(s), 1);
    rc_decref(s);
    free(offs);
    free(buf);
}

typedef struct shared_long {
    void *str;
    const char *buf;
    const size_t *offs;
} shared_long;

static void *slice_worker(void *arg) {
    shared_long *sh = arg;
    for (size_t k = 0; k < LONG_CHARS; k += 97) {
        void *x = rc_str_slice(sh->str, (int64_t)k, (int64_t)k + 1);
        if (!x || memcmp(rc_str_cstr(x), sh->buf + sh->offs[k], sh->offs[k + 1] - sh->offs[k]) != 0) return x;
        rc_decref(x);
    }
    return NULL;
}

static void test_long_nonascii_shared(void **state) {
    (void)state;
    char *buf = malloc(LONG_CHARS * 4 + 1);
    size_t *offs = malloc((LONG_CHARS + 1) * sizeof *offs);
    size_t len = long_text(buf, offs);
    buf[0] = 'Q'; /* a text of this test's own, interned: shared by the threads */
    void *s = rc_str_new(buf, len);
    shared_long sh = {rc_str_intern(s), buf, offs};
    rc_decref(s);
    pthread_t th[4];
    for (int t = 0; t < 4; t++) assert_int_equal(pthread_create(&th[t], NULL, slice_worker, &sh), 0);
    for (int t = 0; t < 4; t++) {
        void *bad;
        pthread_join(th[t], &bad);
        assert_null(bad);
    }
    check_long_slices(sh.str, buf, offs);
    free(offs);
    free(buf);
}
/* }==== */

/* {==== split and join (need list.c) ==== */

static void split_is(const char *text, const char *sep, size_t n, const char *const *pieces) {
    void *s = S(text), *sp = sep ? S(sep) : NULL;
    void *list = rc_str_split(s, sp);
    if (!list) fail_msg("rc_str_split failed: %s", rc_last_error());
    list_is(list, n, pieces);
    assert_int_equal(rc_refcount(list), 1);
    assert_false(rc_gc_is_tracked(s));
    rc_decref(list);
    assert_int_equal(rc_refcount(s), 1);
    rc_decref(s);
    rc_decref(sp);
}

static void test_split(void **state) {
    (void)state;
    split_is("a,b,,c", ",", 4, (const char *const[]){"a", "b", "", "c"});
    split_is("", ",", 1, (const char *const[]){""});
    split_is(",", ",", 2, (const char *const[]){"", ""});
    split_is("abc", "abc", 2, (const char *const[]){"", ""});
    split_is("aaa", "aa", 2, (const char *const[]){"", "a"});
    split_is("no sep here", ",", 1, (const char *const[]){"no sep here"});
    split_is("one<>two<>three", "<>", 3, (const char *const[]){"one", "two", "three"});
    split_is("\xc3\xa9--\xc3\xbc--", "--", 3, (const char *const[]){"\xc3\xa9", "\xc3\xbc", ""});
    split_is("a\xf0\x9f\x98\x80" "b\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80", 3, (const char *const[]){"a", "b", ""});
    /* whitespace split: runs of whitespace, no empty pieces */
    split_is("", NULL, 0, NULL);
    split_is("   ", NULL, 0, NULL);
    split_is("word", NULL, 1, (const char *const[]){"word"});
    split_is("  a  b\t\nc  ", NULL, 3, (const char *const[]){"a", "b", "c"});
    split_is("x\x0b\x0cy\x1cz\x1f", NULL, 3, (const char *const[]){"x", "y", "z"});
    /* Unicode whitespace: U+3000, U+00A0, U+2028, U+0085, U+205F, U+1680, U+2000..U+200A, U+202F */
    split_is("a\xe3\x80\x80" "b\xc2\xa0" "c\xe2\x80\xa8" "d\xc2\x85" "e\xe2\x81\x9f" "f\xe1\x9a\x80" "g\xe2\x80\x8a"
             "h\xe2\x80\xafi",
             NULL, 9, (const char *const[]){"a", "b", "c", "d", "e", "f", "g", "h", "i"});
    /* U+200B (zero width space) and U+00E9 are not whitespace */
    split_is("x\xe2\x80\x8by \xc3\xa9t\xc3\xa9", NULL, 2, (const char *const[]){"x\xe2\x80\x8by", "\xc3\xa9t\xc3\xa9"});

    /* the pieces' lengths are code points; pieces are fresh objects */
    void *s = S("h\xc3\xa9llo w\xc3\xb6rld"), *list = rc_str_split(s, NULL);
    assert_non_null(list);
    assert_int_equal(rc_str_len(rc_list_get(list, 0)), 5);
    assert_int_equal(rc_str_len(rc_list_get(list, 1)), 5);
    assert_int_equal(rc_refcount(rc_list_get(list, 0)), 1);
    rc_decref(list);

    /* errors */
    void *empty = S(""), *n = rc_int_new(1000);
    clear_error();
    assert_null(rc_str_split(s, empty));
    ERROR_HAS("rc_str_split: empty separator");
    clear_error();
    assert_null(rc_str_split(s, n));
    ERROR_HAS("rc_str_split: expected a str or NULL (the separator), got int");
    clear_error();
    assert_null(rc_str_split(n, NULL));
    ERROR_HAS("rc_str_split: expected a str, got int");
    clear_error();
    assert_null(rc_str_split(NULL, NULL));
    ERROR_HAS("got NULL");
    assert_int_equal(rc_refcount(s), 1);
    rc_decref(empty);
    rc_decref(n);
    rc_decref(s);
}

static void *list_of(size_t n, const char *const *texts) {
    void *l = rc_list_new();
    assert_non_null(l);
    for (size_t i = 0; i < n; i++) assert_int_equal(rc_list_append_steal(l, S(texts[i])), 0);
    return l;
}

static void join_is(const char *sep, size_t n, const char *const *texts, const char *expected, size_t nchars) {
    void *sp = S(sep), *l = list_of(n, texts);
    void *j = rc_str_join(sp, l);
    if (!j) fail_msg("rc_str_join failed: %s", rc_last_error());
    str_is(j, expected, nchars);
    rc_decref(j);
    assert_int_equal(rc_refcount(l), 1);
    rc_decref(l);
    rc_decref(sp);
}

static void test_join_lists(void **state) {
    (void)state;
    join_is(",", 0, NULL, "", 0);
    join_is(",", 3, (const char *const[]){"a", "b", "c"}, "a,b,c", 5);
    join_is("", 3, (const char *const[]){"ab", "", "c"}, "abc", 3);
    join_is(", ", 2, (const char *const[]){"", ""}, ", ", 2);
    join_is("\xe2\x82\xac", 3, (const char *const[]){"\xc3\xa9", "x", "\xf0\x9f\x98\x80"},
            "\xc3\xa9\xe2\x82\xacx\xe2\x82\xac\xf0\x9f\x98\x80", 5);
    /* a join of one item is that item */
    void *sep = S("--"), *only = S("only"), *l = rc_list_new();
    assert_int_equal(rc_list_append(l, only), 0);
    void *j = rc_str_join(sep, l);
    assert_ptr_equal(j, only);
    assert_int_equal(rc_refcount(only), 3);
    rc_decref(j);
    /* a non-str item: Python's message, naming the index */
    void *n = rc_int_new(1000);
    assert_int_equal(rc_list_append(l, n), 0);
    clear_error();
    assert_null(rc_str_join(sep, l));
    ERROR_HAS("rc_str_join: sequence item 1: expected str instance, int found");
    assert_int_equal(rc_refcount(n), 2);
    assert_int_equal(rc_refcount(only), 2);
    /* a split and a join are inverses */
    void *text = S("x--y----z"), *pieces = rc_str_split(text, sep);
    assert_non_null(pieces);
    void *back = rc_str_join(sep, pieces);
    assert_true(rc_equal(back, text));
    rc_decref(back);
    rc_decref(pieces);
    rc_decref(text);
    rc_decref(l);
    rc_decref(n);
    rc_decref(only);
    rc_decref(sep);
}

static void test_join_iterables(void **state) {
    (void)state;
    /* any iterable: a str iterates by code point */
    void *dash = S("-"), *abc = S("ab\xc3\xa9"), *e = S("");
    void *j = rc_str_join(dash, abc);
    str_is(j, "a-b-\xc3\xa9", 5);
    rc_decref(j);
    j = rc_str_join(dash, e);
    str_is(j, "", 0);
    rc_decref(j);
    j = rc_str_join(e, abc);
    str_is(j, "ab\xc3\xa9", 3);
    rc_decref(j);
    /* an iterator object, consumed */
    void *it = rc_iter(abc);
    j = rc_str_join(dash, it);
    str_is(j, "a-b-\xc3\xa9", 5);
    rc_decref(j);
    void *rest;
    assert_int_equal(rc_next(it, &rest), 0);
    rc_decref(it);
    /* a tuple (read in place) and a dict's keys (through its iterator) */
    void *x1 = S("x\xc3\xa9"), *y1 = S("y"), *tup = rc_tuple_pack(2, x1, y1);
    assert_non_null(tup);
    j = rc_str_join(dash, tup);
    str_is(j, "x\xc3\xa9-y", 4);
    rc_decref(j);
    void *d = rc_dict_new();
    assert_int_equal(rc_dict_set(d, x1, rc_none), 0);
    assert_int_equal(rc_dict_set(d, y1, rc_none), 0);
    j = rc_str_join(dash, d);
    str_is(j, "x\xc3\xa9-y", 4);
    rc_decref(j);
    assert_int_equal(rc_dict_set(d, rc_int_new(7), rc_none), 0);
    clear_error();
    assert_null(rc_str_join(dash, d));
    ERROR_HAS("rc_str_join: sequence item 2: expected str instance, int found");
    assert_int_equal(rc_refcount(x1), 3); /* the tuple's and the dict's */
    rc_decref(d);
    rc_decref(tup);
    assert_int_equal(rc_refcount(x1), 1);
    rc_decref(x1);
    rc_decref(y1);
    /* bytes iterate as ints: the first item is already wrong */
    void *by = rc_bytes_new("xy", 2);
    clear_error();
    assert_null(rc_str_join(dash, by));
    ERROR_HAS("rc_str_join: sequence item 0: expected str instance, int found");
    rc_decref(by);
    /* not iterable, NULL, bad separator */
    void *n = rc_int_new(1000);
    clear_error();
    assert_null(rc_str_join(dash, n));
    ERROR_HAS("rc_str_join: can only join an iterable, got int");
    clear_error();
    assert_null(rc_str_join(dash, NULL));
    ERROR_HAS("rc_str_join: iterable is NULL");
    clear_error();
    assert_null(rc_str_join(n, abc));
    ERROR_HAS("rc_str_join: expected a str (the separator), got int");
    clear_error();
    assert_null(rc_str_join(NULL, abc));
    ERROR_HAS("got NULL");
    assert_int_equal(rc_refcount(abc), 1);
    assert_int_equal(rc_refcount(dash), 1);
    rc_decref(n);
    rc_decref(abc);
    rc_decref(e);
    rc_decref(dash);
}
/* }==== */

/* {==== rc_str_format ==== */

static size_t code_points(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

#define FORMAT_IS(expected, ...)                                                       \
    do {                                                                               \
        void *f_ = rc_str_format(__VA_ARGS__);                                         \
        if (!f_) fail_msg("rc_str_format failed: %s", rc_last_error());               \
        assert_string_equal(rc_str_cstr(f_), (expected));                             \
        assert_int_equal(rc_str_len(f_), code_points(expected));                       \
        rc_decref(f_);                                                                 \
    } while (0)

static void test_format_conversions(void **state) {
    (void)state;
    FORMAT_IS("", "");
    FORMAT_IS("plain text", "plain text");
    FORMAT_IS("100%", "100%%");
    FORMAT_IS("%%", "%%%%");
    FORMAT_IS("x=42 y=-7", "x=%d y=%i", 42, -7);
    FORMAT_IS("[hello]", "[%s]", "hello");
    FORMAT_IS(" 3.14", "%5.2f", 3.14159);
    FORMAT_IS("18446744073709551615", "%zu", (size_t)-1);
    FORMAT_IS("-9223372036854775807", "%lld", -9223372036854775807LL);
    FORMAT_IS("ff FF 0xff 377", "%x %X %#x %o", 255u, 255u, 255u, 255u);
    FORMAT_IS("+5 00042 -42 |7    |-4  |", "%+d %05d %-3d |%-5d|%-4d|", 5, 42, -42, 7, -4);
    FORMAT_IS("1.234568e+04 0.0001 1E+20", "%e %g %G", 12345.678, 0.0001, 1e20);
    FORMAT_IS("0x1p+0", "%a", 1.0);
    FORMAT_IS("2.50", "%.2Lf", (long double)2.5);
    FORMAT_IS("44 -1 65535", "%hhd %hhd %hu", 300, 255, 65535);
    FORMAT_IS("-5 7 9 11", "%ld %jd %td %zd", -5L, (intmax_t)7, (ptrdiff_t)9, (ssize_t)11);
    FORMAT_IS("   42|42   |", "%*d|%-*d|", 5, 42, 5, 42);
    FORMAT_IS("42   |", "%*d|", -5, 42); /* a negative '*' width left-justifies */
    FORMAT_IS("3.1", "%.*f", 1, 3.14159);
    FORMAT_IS("abc", "%.*s", 3, "abcdef");
    FORMAT_IS("(null)", "%s", (char *)NULL);
    FORMAT_IS("A", "%c", 'A');
    char p[64];
    int x;
    snprintf(p, sizeof p, "at %p!", (void *)&x);
    FORMAT_IS(p, "at %p!", (void *)&x);
    /* %.*s of a buffer with no NUL within the precision */
    char buf[4] = {'w', 'x', 'y', 'z'};
    FORMAT_IS("wxyz", "%.*s", 4, buf);
    /* %n stores the bytes written so far */
    int count = -1;
    long lcount = -1;
    FORMAT_IS("ab\xc3\xa9" "cd", "ab\xc3\xa9%ncd%ln", &count, &lcount);
    assert_int_equal(count, 4);
    assert_int_equal(lcount, 6);
    errno = ENOENT;
    FORMAT_IS("No such file or directory", "%m");
}

static void test_format_unicode(void **state) {
    (void)state;
    /* UTF-8 text in the format and in %s */
    FORMAT_IS("caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 %s", "\xe2\x82\xac");
    /* widths of strings count code points, as Python's '%5s' % 'é' */
    FORMAT_IS("    \xc3\xa9|\xc3\xa9    |", "%5s|%-5s|", "\xc3\xa9", "\xc3\xa9");
    /* precision counts bytes but never splits a character */
    FORMAT_IS("a", "%.2s", "a\xc3\xa9");
    FORMAT_IS("a\xc3\xa9", "%.3s", "a\xc3\xa9");
    FORMAT_IS("", "%.3s", "\xf0\x9f\x98\x80");
    FORMAT_IS("\xf0\x9f\x98\x80", "%.4s", "\xf0\x9f\x98\x80x");
    /* %c and %lc write a code point */
    FORMAT_IS("\xc3\xa9", "%c", 0xE9);
    FORMAT_IS("[  \xe2\x82\xac]", "[%3c]", 0x20AC);
    FORMAT_IS("\xf0\x9f\x98\x80", "%lc", (wint_t)0x1F600);
    FORMAT_IS("h\xc3\xa9\xe2\x82\xac", "%ls", L"h\u00e9\u20ac");
    FORMAT_IS("  h\xc3\xa9", "%4.3ls", L"h\u00e9\u20ac"); /* 3 bytes: 'h' and 'é' */
    FORMAT_IS("(null)", "%ls", (wchar_t *)NULL);
}

static void test_format_objects(void **state) {
    (void)state;
    void *s = S("it's"), *n = rc_int_new(12345), *f = rc_float_new(0.1), *u = S("h\xc3\xa9llo");
    FORMAT_IS("repr: \"it's\", str: it's", "repr: %R, str: %S", s, s);
    FORMAT_IS("12345 12345 0.1", "%R %S %R", n, n, f);
    FORMAT_IS("None True NULL NULL", "%R %S %R %S", rc_none, rc_true, (void *)NULL, (void *)NULL);
    /* width and precision of %R / %S count code points */
    FORMAT_IS("   h\xc3\xa9llo|h\xc3\xa9l|'h\xc3\xa9  |", "%8S|%.3S|%-5.3R|", u, u, u);
    assert_int_equal(rc_refcount(s), 1);
    assert_int_equal(rc_refcount(n), 1);
    assert_int_equal(rc_refcount(u), 1);
    rc_decref(s);
    rc_decref(n);
    rc_decref(f);
    rc_decref(u);
}

static void *failing_repr(const void *self) {
    (void)self;
    _rc_set_error("failing_repr: no repr today");
    return NULL;
}

static const rc_type norepr_type = {.name = "NoRepr", .size = 8, .repr = failing_repr};

static void test_format_errors(void **state) {
    (void)state;
    clear_error();
    assert_null(rc_str_format("abc %y", 1));
    ERROR_HAS("rc_str_format: unknown conversion '%y' at offset 4");
    clear_error();
    assert_null(rc_str_format("abc%"));
    ERROR_HAS("rc_str_format: incomplete conversion '%' at offset 3");
    clear_error();
    assert_null(rc_str_format("%-08.3"));
    ERROR_HAS("incomplete conversion '%-08.3' at offset 0");
    clear_error();
    assert_null(rc_str_format("%Ls", "x"));
    ERROR_HAS("rc_str_format: bad length modifier in '%Ls' at offset 0");
    clear_error();
    assert_null(rc_str_format("%hR", rc_none));
    ERROR_HAS("bad length modifier in '%hR'");
    clear_error();
    assert_null(rc_str_format("%5%"));
    ERROR_HAS("unknown conversion '%5%'");
    clear_error();
    assert_null(rc_str_format("%99999999999d", 1));
    ERROR_HAS("rc_str_format: width too large");
    clear_error();
    assert_null(rc_str_format(NULL));
    ERROR_HAS("rc_str_format: format is NULL");
    /* the result must be UTF-8 */
    clear_error();
    assert_null(rc_str_format("ok %s", "\xff"));
    ERROR_HAS("rc_str_format: invalid UTF-8 at byte offset 3");
    clear_error();
    assert_null(rc_str_format("\xc3(%d", 1));
    ERROR_HAS("rc_str_format: invalid UTF-8 at byte offset 0");
    clear_error();
    assert_null(rc_str_format("%c", 0xD800));
    ERROR_HAS("rc_str_format: %c: 55296 is not a code point");
    clear_error();
    assert_null(rc_str_format("%c", 0x110000));
    ERROR_HAS("is not a code point");
    clear_error();
    assert_null(rc_str_format("%ls", L"a\xdfff"));
    ERROR_HAS("rc_str_format: %ls: U+DFFF is not a code point");
    /* a repr that fails fails the format, with its message */
    void *o = rc_new(&norepr_type);
    clear_error();
    assert_null(rc_str_format("x %R y", o));
    ERROR_HAS("failing_repr: no repr today");
    clear_error();
    assert_null(rc_str_format("%S", o));
    ERROR_HAS("failing_repr: no repr today");
    rc_decref(o);
}
/* }==== */

/* {==== interning ==== */

static void test_intern(void **state) {
    (void)state;
    void *a = rc_str_intern_cstr("test_intern: alpha");
    void *b = rc_str_intern_cstr("test_intern: alpha");
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_true(is_immortal(a));
    assert_string_equal(rc_str_cstr(a), "test_intern: alpha");
    rc_decref(a); /* no effect */
    rc_decref(b);
    /* an equal str interns to the one already there; it stays as it was */
    void *s = S("test_intern: alpha");
    void *i = rc_str_intern(s);
    assert_ptr_equal(i, a);
    assert_ptr_not_equal(s, a);
    assert_int_equal(rc_refcount(s), 1);
    rc_decref(s);
    /* interning an interned str gives itself */
    assert_ptr_equal(rc_str_intern(a), a);
    /* a new text is interned in place: the str itself becomes immortal */
    void *t = S("test_intern: beta \xc3\xa9");
    void *ti = rc_str_intern(t);
    assert_ptr_equal(ti, t);
    assert_true(is_immortal(t));
    assert_ptr_equal(rc_str_intern_cstr("test_intern: beta \xc3\xa9"), t);
    rc_decref(t);
    assert_string_equal(rc_str_cstr(t), "test_intern: beta \xc3\xa9");
    /* interned strs are ordinary strs */
    void *u = S("test_intern: beta \xc3\xa9");
    assert_true(rc_equal(u, t));
    assert_int_equal(rc_hash(u), rc_hash(t));
    assert_int_equal(rc_str_len(t), 19);
    rc_decref(u);
    /* the empty str and one-character strs */
    void *e1 = rc_str_intern_cstr(""), *e2 = rc_str_intern_cstr("");
    assert_ptr_equal(e1, e2);
    assert_int_equal(rc_str_size(e1), 0);
    void *x1 = S("test_intern: xq"), *c = rc_str_slice(x1, 14, 15);
    assert_ptr_equal(rc_str_intern(c), rc_str_intern_cstr("q"));
    rc_decref(c);
    rc_decref(x1);
    /* many texts: the table grows and keeps every one */
    void *first[3000];
    char text[64];
    for (int k = 0; k < 3000; k++) {
        snprintf(text, sizeof text, "test_intern: many %d", k);
        first[k] = rc_str_intern_cstr(text);
        assert_non_null(first[k]);
    }
    for (int k = 0; k < 3000; k++) {
        snprintf(text, sizeof text, "test_intern: many %d", k);
        void *again = S(text);
        assert_ptr_equal(rc_str_intern(again), first[k]);
        rc_decref(again);
    }
    /* errors */
    clear_error();
    assert_null(rc_str_intern_cstr("bad \xff"));
    ERROR_HAS("rc_str_intern_cstr: invalid UTF-8 at byte offset 4");
    clear_error();
    assert_null(rc_str_intern_cstr(NULL));
    ERROR_HAS("rc_str_intern_cstr: text is NULL");
    void *n = rc_int_new(1000);
    clear_error();
    assert_null(rc_str_intern(n));
    ERROR_HAS("rc_str_intern: expected a str, got int");
    assert_int_equal(rc_refcount(n), 1);
    rc_decref(n);
    clear_error();
    assert_null(rc_str_intern(NULL));
    ERROR_HAS("got NULL");
}

#define INTERN_THREADS 4
#define INTERN_TEXTS 500

static void *intern_worker(void *arg) {
    void **out = arg;
    char text[64];
    for (int k = 0; k < INTERN_TEXTS; k++) {
        snprintf(text, sizeof text, "test_intern_threads: %d", k);
        if (k % 2) {
            out[k] = rc_str_intern_cstr(text);
        } else {
            void *s = rc_str_from_cstr(text);
            out[k] = rc_str_intern(s);
            rc_decref(s);
        }
    }
    return NULL;
}

static void test_intern_threads(void **state) {
    (void)state;
    static void *results[INTERN_THREADS][INTERN_TEXTS];
    pthread_t th[INTERN_THREADS];
    for (int t = 0; t < INTERN_THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, intern_worker, results[t]), 0);
    for (int t = 0; t < INTERN_THREADS; t++) pthread_join(th[t], NULL);
    /* every thread got the same immortal object per text, usable here */
    for (int k = 0; k < INTERN_TEXTS; k++) {
        assert_non_null(results[0][k]);
        for (int t = 1; t < INTERN_THREADS; t++) assert_ptr_equal(results[t][k], results[0][k]);
        assert_true(is_immortal(results[0][k]));
        char text[64];
        snprintf(text, sizeof text, "test_intern_threads: %d", k);
        assert_string_equal(rc_str_cstr(results[0][k]), text);
        assert_ptr_equal(rc_str_intern_cstr(text), results[0][k]);
    }
}
/* }==== */

/* {==== str(obj), len, contains, iteration ==== */

static void test_str_of(void **state) {
    (void)state;
    void *s = S("text");
    void *r = rc_str_of(s);
    assert_ptr_equal(r, s);
    assert_int_equal(rc_refcount(s), 2);
    rc_decref(r);
    void *n = rc_int_new(4200), *f = rc_float_new(1e16);
    r = rc_str_of(n);
    str_is(r, "4200", 4);
    rc_decref(r);
    r = rc_str_of(f);
    str_is(r, "1e+16", 5);
    rc_decref(r);
    r = rc_str_of(rc_none);
    str_is(r, "None", 4);
    rc_decref(r);
    r = rc_str_of(NULL);
    str_is(r, "NULL", 4);
    rc_decref(r);
    void *b = rc_bytes_new("x'", 2);
    r = rc_str_of(b);
    str_is(r, "b\"x'\"", 5);
    rc_decref(r);
    rc_decref(b);
    rc_decref(n);
    rc_decref(f);
    rc_decref(s);
}

static void test_len_contains(void **state) {
    (void)state;
    void *s = S("h\xc3\xa9llo \xf0\x9f\x98\x80"), *e = S("");
    assert_int_equal(rc_len(s), 7);
    assert_int_equal(rc_len(e), 0);
    void *sub = S("\xc3\xa9ll"), *no = S("\xc3\xa9lo"), *emoji = S("\xf0\x9f\x98\x80");
    assert_int_equal(rc_contains(s, sub), 1);
    assert_int_equal(rc_contains(s, emoji), 1);
    assert_int_equal(rc_contains(s, no), 0);
    assert_int_equal(rc_contains(s, e), 1);
    assert_int_equal(rc_contains(e, e), 1);
    assert_int_equal(rc_contains(e, sub), 0);
    assert_int_equal(rc_contains(s, s), 1);
    void *n = rc_int_new(1000);
    clear_error();
    assert_int_equal(rc_contains(s, n), -1);
    ERROR_HAS("rc_contains: expected a str (substring of a str), got int");
    clear_error();
    assert_int_equal(rc_contains(s, NULL), -1);
    ERROR_HAS("rc_contains: item is NULL");
    assert_int_equal(rc_refcount(s), 1);
    assert_int_equal(rc_refcount(sub), 1);
    rc_decref(n);
    rc_decref(sub);
    rc_decref(no);
    rc_decref(emoji);
    rc_decref(e);
    rc_decref(s);
}

static int count_referent(void *obj, void *arg) {
    void **want = arg;
    if (obj == want[0]) want[1] = obj;
    return 0;
}

static void test_iter(void **state) {
    (void)state;
    void *s = S("a\xc3\xa9" "b\xf0\x9f\x98\x80");
    void *it = rc_iter(s);
    assert_non_null(it);
    assert_int_equal(rc_refcount(it), 1);
    assert_int_equal(rc_refcount(s), 2); /* the iterator holds the str */
    assert_false(rc_gc_is_tracked(it));  /* it can be in no cycle */
    void *want[2] = {s, NULL};
    assert_int_equal(rc_gc_get_referents(it, count_referent, want), 1);
    assert_ptr_equal(want[1], s);
    assert_ptr_equal(rc_iter(it), it); /* an iterator is its own iterator */
    assert_int_equal(rc_refcount(it), 2);
    rc_decref(it);
    const char *expect[] = {"a", "\xc3\xa9", "b", "\xf0\x9f\x98\x80"};
    void *x;
    for (int k = 0; k < 4; k++) {
        assert_int_equal(rc_next(it, &x), 1);
        str_is(x, expect[k], 1);
        if (k % 2 == 0) {
            assert_true(is_immortal(x)); /* ASCII: the shared one-character strs */
        } else {
            assert_int_equal(rc_refcount(x), 1);
        }
        rc_decref(x);
    }
    assert_int_equal(rc_next(it, &x), 0);
    assert_null(x);
    assert_int_equal(rc_refcount(s), 1); /* exhausted: the str is released */
    assert_int_equal(rc_next(it, &x), 0);
    assert_int_equal(rc_next(it, &x), 0);
    rc_decref(it);

    /* the same characters from every iteration over ASCII text */
    void *t = S("aa"), *it2 = rc_iter(t), *c1, *c2;
    assert_int_equal(rc_next(it2, &c1), 1);
    assert_int_equal(rc_next(it2, &c2), 1);
    assert_ptr_equal(c1, c2);
    rc_decref(it2); /* dropped before exhaustion: releases the str */
    assert_int_equal(rc_refcount(t), 1);
    rc_decref(t);

    /* an empty str */
    void *e = S(""), *ie = rc_iter(e);
    assert_int_equal(rc_next(ie, &x), 0);
    rc_decref(ie);
    rc_decref(e);

    /* a long text: the sum of the pieces is the text */
    char big[3000];
    size_t len = 0;
    for (int k = 0; k < 500; k++) len += (size_t)snprintf(big + len, sizeof big - len, "%s", k % 3 ? "x" : "\xc3\xa9");
    void *b = S(big), *ib = rc_iter(b);
    size_t bytes = 0, chars = 0;
    while (rc_next(ib, &x) == 1) {
        bytes += rc_str_size(x);
        chars++;
        rc_decref(x);
    }
    assert_int_equal(bytes, len);
    assert_int_equal(chars, 500);
    rc_decref(ib);
    rc_decref(b);
    rc_decref(s);
}
/* }==== */

int main(void) {
    const struct CMUnitTest tests[] = {
        TYPES_TEST(test_new_and_accessors),
        TYPES_TEST(test_utf8_validation),
        TYPES_TEST(test_repr),
        TYPES_TEST(test_hash_equal_compare),
        TYPES_TEST(test_concat),
        TYPES_TEST(test_slice),
        TYPES_TEST(test_find),
        TYPES_TEST(test_long_nonascii),
        TYPES_TEST(test_long_nonascii_shared),
        TYPES_TEST(test_split),
        TYPES_TEST(test_join_lists),
        TYPES_TEST(test_join_iterables),
        TYPES_TEST(test_format_conversions),
        TYPES_TEST(test_format_unicode),
        TYPES_TEST(test_format_objects),
        TYPES_TEST(test_format_errors),
        TYPES_TEST(test_intern),
        TYPES_TEST(test_intern_threads),
        TYPES_TEST(test_str_of),
        TYPES_TEST(test_len_contains),
        TYPES_TEST(test_iter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
