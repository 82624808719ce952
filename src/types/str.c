/*
 * str.c — the str object: immutable UTF-8 text with its length in code
 * points and its hash cached (the operations on strs are in strops.c).
 *
 *   payload: hash (int64, -1 until first asked) | nbytes | nchars | UTF-8,
 *            NUL-terminated [| index slot]
 *   one block of 16 + 24 + nbytes + 1 bytes (CPython's compact ASCII str
 *   takes 48 + n + 1).
 *
 * Invariants: the text is valid UTF-8 (checked on the way in, by
 * rc_str_new); nchars == nbytes exactly when the text is ASCII, so
 * indexing by code point is O(1) for ASCII; a str never changes after it
 * is made (only its cached hash and its index are filled in).
 *
 * The index: a non-ASCII str of at least INDEX_MIN_BYTES bytes has one
 * more pointer-sized slot after its NUL (8-aligned), NULL until a
 * code-point index beyond the first INDEX_STEP code points is first asked
 * for (_rc_str_offset). Then it points to an rc_malloc array whose entry i
 * is the byte offset of code point i * INDEX_STEP, built in one pass, so
 * indexing costs a lookup and a walk of at most INDEX_STEP - 1 code
 * points. The array is published with a compare-and-swap, because an
 * interned str is shared by every thread (the loser frees its copy), and
 * freed by destroy. Shorter strs are walked: a few hundred bytes, 8 at a
 * time.
 */
#include <assert.h>
#include <string.h>

#include "internal/types.h"

typedef struct str_obj {
    int64_t hash; /* -1: not computed yet */
    size_t nbytes;
    size_t nchars;
    char data[];
} str_obj;

#define INDEX_MIN_BYTES 512
#define INDEX_STEP 128

static inline bool has_index_slot(const str_obj *s) {
    return s->nchars != s->nbytes && s->nbytes >= INDEX_MIN_BYTES;
}

/* The index slot (has_index_slot(s) only). */
static inline size_t **index_slot(const str_obj *s) {
    return (size_t **)(void *)((char *)s->data + ((s->nbytes + 1 + 7) & ~(size_t)7));
}

static void str_destroy(void *self) {
    str_obj *s = self;
    if (has_index_slot(s)) rc_free(*index_slot(s));
}

static uint64_t str_hash(const void *self) {
    str_obj *s = (str_obj *)self;
    if (s->hash == -1) s->hash = _rc_hash_bytes(s->data, s->nbytes);
    return (uint64_t)s->hash;
}

static bool str_equal(const void *a, const void *b) {
    const str_obj *x = a, *y = b;
    if (x->nbytes != y->nbytes) return false;
    if (x->hash != -1 && y->hash != -1 && x->hash != y->hash) return false;
    return memcmp(x->data, y->data, x->nbytes) == 0;
}

/* {==== repr ==== */

/* The code points above ASCII that Python's repr escapes because
 * str.isprintable() is false for them: the C1 controls, the separators
 * (Zs, Zl, Zp) other than ' ', the format characters (Cf), private use
 * (Co) and U+FFFE/U+FFFF (Unicode 14, Python 3.11). Other unassigned code
 * points (Cn) are printed as they are: reclaim carries no Unicode database. */
static const uint32_t nonprintable[][2] = {
    {0x80, 0xA0},       {0xAD, 0xAD},       {0x600, 0x605},     {0x61C, 0x61C},     {0x6DD, 0x6DD},
    {0x70F, 0x70F},     {0x890, 0x891},     {0x8E2, 0x8E2},     {0x1680, 0x1680},   {0x180E, 0x180E},
    {0x2000, 0x200F},   {0x2028, 0x202F},   {0x205F, 0x206F},   {0x3000, 0x3000},   {0xE000, 0xF8FF},
    {0xFEFF, 0xFEFF},   {0xFFF9, 0xFFFB},   {0xFFFE, 0xFFFF},   {0x110BD, 0x110BD}, {0x110CD, 0x110CD},
    {0x13430, 0x13438}, {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A}, {0xE0001, 0xE0001}, {0xE0020, 0xE007F},
    {0xF0000, 0xFFFFD}, {0x100000, 0x10FFFD}};

static bool is_printable(uint32_t cp) {
    size_t lo = 0, hi = sizeof nonprintable / sizeof nonprintable[0];
    while (lo < hi) { /* the first range whose end is >= cp */
        size_t mid = (lo + hi) / 2;
        if (nonprintable[mid][1] < cp) lo = mid + 1;
        else hi = mid;
    }
    return lo == sizeof nonprintable / sizeof nonprintable[0] || cp < nonprintable[lo][0];
}

/* The code point of the valid UTF-8 sequence at s (lead byte >= 0x80) and
 * its length in *len. */
static uint32_t decode_multibyte(const unsigned char *s, size_t *len) {
    if (s[0] < 0xE0) {
        *len = 2;
        return (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
    }
    if (s[0] < 0xF0) {
        *len = 3;
        return (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
    }
    *len = 4;
    return (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 | (uint32_t)(s[2] & 0x3F) << 6 |
           (s[3] & 0x3F);
}

/* Python's repr of a str: single quotes unless the text holds ' and no ",
 * backslash escapes for the quote, \\, \n, \r, \t, \xhh for the other
 * controls and \xhh / \uhhhh / \Uhhhhhhhh for non-printable code points;
 * everything else is copied in runs. */
void _rc_sb_add_str_repr(rc_sb *sb, const char *s, size_t n) {
    static const char digits[] = "0123456789abcdef";
    char quote = '\'';
    if (memchr(s, '\'', n) && !memchr(s, '"', n)) quote = '"';
    _rc_sb_add(sb, &quote, 1);
    size_t run = 0; /* bytes before i still to be copied as they are */
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        char esc[12];
        size_t esc_len = 0, step = 1;
        if (c >= 0x80) {
            uint32_t cp = decode_multibyte((const unsigned char *)s + i, &step);
            if (!is_printable(cp)) {
                int w = cp <= 0xFF ? 2 : cp <= 0xFFFF ? 4 : 8;
                esc[0] = '\\';
                esc[1] = w == 2 ? 'x' : w == 4 ? 'u' : 'U';
                for (int k = 0; k < w; k++) esc[2 + k] = digits[(cp >> (4 * (w - 1 - k))) & 15];
                esc_len = (size_t)w + 2;
            }
        } else if (c == (unsigned char)quote || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            esc_len = 2;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            esc[0] = '\\';
            esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
            esc_len = 2;
        } else if (c < 0x20 || c == 0x7f) {
            esc[0] = '\\';
            esc[1] = 'x';
            esc[2] = digits[c >> 4];
            esc[3] = digits[c & 15];
            esc_len = 4;
        }
        if (!esc_len) {
            run += step;
            i += step;
            continue;
        }
        _rc_sb_add(sb, s + i - run, run);
        run = 0;
        _rc_sb_add(sb, esc, esc_len);
        i += step;
    }
    _rc_sb_add(sb, s + n - run, run);
    _rc_sb_add(sb, &quote, 1);
}

static void *str_repr(const void *self) {
    const str_obj *s = self;
    rc_sb sb;
    _rc_sb_init(&sb);
    _rc_sb_add_str_repr(&sb, s->data, s->nbytes);
    return _rc_sb_finish(&sb);
}
/* }==== */

const rc_type rc_str_type = {.name = "str",
                             .size = sizeof(str_obj),
                             .hash = str_hash,
                             .equal = str_equal,
                             .repr = str_repr,
                             .iter = _rc_str_iter,
                             .destroy = str_destroy,
                             .flags = RC_TYPE_BUILTIN};

/* {==== the one-character ASCII strs and the empty str ====
 *
 * Iterating over a str, slicing and splitting give these static immortal
 * strs for one ASCII character and for empty results (RC_STATIC_OBJECT, as number.c's small ints) for
 * ASCII text, as CPython caches its one-character strs: no allocation, and
 * any thread may use them. The layout is str_obj's with room for the
 * character and its NUL; hashes are filled in before main, so the statics
 * are never written afterwards. */
typedef struct static_char {
    rc_object_head head;
    int64_t hash;
    size_t nbytes, nchars;
    char data[8];
} static_char;
_Static_assert(offsetof(static_char, hash) == sizeof(rc_object_head) + offsetof(str_obj, hash), "layout");
_Static_assert(offsetof(static_char, data) == sizeof(rc_object_head) + offsetof(str_obj, data), "layout");

static static_char ascii_chars[128] RC_STATIC_OBJECT = {
    [0 ... 127] = {.head = {.refcnt = RC_IMMORTAL_REFCNT, .type_bits = (uintptr_t)&rc_str_type},
                   .nbytes = 1,
                   .nchars = 1}};
static static_char empty_str RC_STATIC_OBJECT = {
    .head = {.refcnt = RC_IMMORTAL_REFCNT, .type_bits = (uintptr_t)&rc_str_type}};

__attribute__((constructor(101))) static void ascii_chars_init(void) {
    for (int c = 0; c < 128; c++) {
        ascii_chars[c].data[0] = (char)c;
        ascii_chars[c].hash = _rc_hash_bytes(ascii_chars[c].data, 1);
    }
    empty_str.hash = _rc_hash_bytes("", 0);
}

void *_rc_str_ascii_char(unsigned char c) {
    assert(c < 128);
    return &ascii_chars[c].hash;
}

void *_rc_str_empty(void) { return &empty_str.hash; }
/* }==== */

/* {==== UTF-8 ==== */

/* The length of the valid UTF-8 sequence at s[i..n), or 0 if it is not
 * one (bad lead byte, truncated, bad continuation, overlong, surrogate,
 * above U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t i, size_t n) {
    unsigned char c = s[i];
    if (c < 0x80) return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;      /* overlong */
        else if (c == 0xED) hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;      /* overlong */
        else if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (n - i < len) return 0;
    if (s[i + 1] < lo || s[i + 1] > hi) return 0;
    for (size_t k = 2; k < len; k++)
        if ((s[i + k] & 0xC0) != 0x80) return 0;
    return len;
}

/* How many of the 8 bytes of w are lead bytes (not of the form 10xxxxxx),
 * which is how many code points start in them. */
static inline unsigned word_leads(uint64_t w) {
    return 8u - (unsigned)__builtin_popcountll(w & ~(w << 1) & 0x8080808080808080ULL);
}

static inline bool is_lead(char c) { return ((unsigned char)c & 0xC0) != 0x80; }

size_t _rc_utf8_count(const char *s, size_t n) {
    size_t count = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        count += word_leads(w);
    }
    for (; i < n; i++) count += is_lead(s[i]);
    return count;
}

size_t _rc_utf8_offset(const char *s, size_t n, size_t k) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) { /* skip words that end before code point k */
        uint64_t w;
        memcpy(&w, s + i, 8);
        unsigned leads = word_leads(w);
        if (leads > k) break;
        k -= leads;
    }
    for (; i < n; i++)
        if (is_lead(s[i]) && k-- == 0) return i;
    return n;
}
/* }==== */

void *_rc_str_alloc(size_t nbytes, size_t nchars, char **text) {
    if (nbytes > SIZE_MAX - sizeof(str_obj) - 64) {
        _rc_set_error("rc_str_new: %zu bytes is too long", nbytes);
        return NULL;
    }
    size_t extra = nbytes + 1;
    if (nchars != nbytes && nbytes >= INDEX_MIN_BYTES) extra = ((extra + 7) & ~(size_t)7) + sizeof(size_t *);
    str_obj *s = rc_new_var(&rc_str_type, extra);
    if (!s) return NULL;
    s->hash = -1;
    s->nbytes = nbytes;
    s->nchars = nchars;
    s->data[nbytes] = '\0';
    *text = s->data;
    return s;
}

void *_rc_str_new_trusted(const char *utf8, size_t nbytes, size_t nchars) {
    char *text;
    void *s = _rc_str_alloc(nbytes, nchars, &text);
    if (s && nbytes) memcpy(text, utf8, nbytes);
    return s;
}

void *rc_str_new(const char *utf8, size_t nbytes) {
    RC_USER_FRAME();
    if (!utf8 && nbytes) {
        _rc_set_error("rc_str_new: text is NULL");
        return NULL;
    }
    const unsigned char *u = (const unsigned char *)utf8;
    size_t nchars = 0;
    for (size_t i = 0; i < nbytes;) {
        /* ASCII runs, 8 bytes at a time */
        if (nbytes - i >= 8) {
            uint64_t w;
            memcpy(&w, u + i, 8);
            if (!(w & 0x8080808080808080ULL)) {
                i += 8;
                nchars += 8;
                continue;
            }
        }
        size_t len = utf8_seq(u, i, nbytes);
        if (!len) {
            _rc_set_error("rc_str_new: invalid UTF-8 at byte offset %zu", i);
            return NULL;
        }
        i += len;
        nchars++;
    }
    return _rc_str_new_trusted(nbytes ? utf8 : "", nbytes, nchars);
}

void *rc_str_from_cstr(const char *cstr) {
    RC_USER_FRAME();
    if (!cstr) {
        _rc_set_error("rc_str_from_cstr: text is NULL");
        return NULL;
    }
    return rc_str_new(cstr, strlen(cstr));
}

const char *rc_str_cstr(const void *str) {
    if (!_rc_expect("rc_str_cstr", str, &rc_str_type, "a str")) return NULL;
    return ((const str_obj *)str)->data;
}

size_t rc_str_len(const void *str) {
    if (!_rc_expect("rc_str_len", str, &rc_str_type, "a str")) return 0;
    return ((const str_obj *)str)->nchars;
}

size_t rc_str_size(const void *str) {
    if (!_rc_expect("rc_str_size", str, &rc_str_type, "a str")) return 0;
    return ((const str_obj *)str)->nbytes;
}

int _rc_str_compare(const void *a, const void *b) {
    const str_obj *x = a, *y = b;
    size_t n = x->nbytes < y->nbytes ? x->nbytes : y->nbytes;
    int c = memcmp(x->data, y->data, n);
    if (c) return c < 0 ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

/* Build s's index and publish it; NULL (no memory) leaves the slot empty. */
static size_t *build_index(const str_obj *s) {
    size_t n = (s->nchars + INDEX_STEP - 1) / INDEX_STEP;
    size_t *idx = rc_malloc(n * sizeof *idx);
    if (!idx) return NULL;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        idx[i] = off;
        off += _rc_utf8_offset(s->data + off, s->nbytes - off, INDEX_STEP);
    }
    size_t *expected = NULL;
    if (!__atomic_compare_exchange_n(index_slot(s), &expected, idx, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        rc_free(idx); /* another thread's index won */
        return expected;
    }
    return idx;
}

size_t _rc_str_offset(const void *str, size_t k) {
    const str_obj *s = str;
    if (s->nchars == s->nbytes) return k;
    if (k >= s->nchars) return s->nbytes;
    if (k < INDEX_STEP || !has_index_slot(s)) return _rc_utf8_offset(s->data, s->nbytes, k);
    size_t *idx = __atomic_load_n(index_slot(s), __ATOMIC_ACQUIRE);
    if (!idx && !(idx = build_index(s))) return _rc_utf8_offset(s->data, s->nbytes, k);
    size_t base = idx[k / INDEX_STEP];
    return base + _rc_utf8_offset(s->data + base, s->nbytes - base, k % INDEX_STEP);
}
