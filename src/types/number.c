/*
 * number.c — None, bools, ints and floats.
 *
 * None, True, False and the ints -5..256 are static immortal objects
 * (RC_STATIC_OBJECT): they live outside every heap and world, so any
 * thread may use them, counting them is a no-op, and a fresh process has
 * no tracked objects. Other ints and floats are 8-byte payloads, a 32-byte
 * block with the header (CPython's int and float take 32 bytes as well,
 * and an extra 16 for every tracked container that we do not pay).
 *
 * Python's numeric tower, cut down to what C needs: bool < int < float
 * compare and hash alike by value (1 == 1.0 == True, hash(2**61) == 1),
 * and an int compares with a float exactly, never through a rounding
 * conversion.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal/types.h"

typedef struct int_obj {
    int64_t value;
} int_obj;

typedef struct float_obj {
    double value;
} float_obj;

/* A static object: header and a 16-byte payload (ints and bools). */
typedef struct static_obj {
    rc_object_head head;
    int64_t value;
    int64_t pad;
} static_obj;

#define SMALL_INT_MIN (-5)
#define SMALL_INT_MAX 256

/* {==== repr, hash, equal ==== */

static void *none_repr(const void *self) {
    (void)self;
    return _rc_str_new_trusted("None", 4, 4);
}

static void *bool_repr(const void *self) {
    return ((const int_obj *)self)->value ? _rc_str_new_trusted("True", 4, 4) : _rc_str_new_trusted("False", 5, 5);
}

static void *int_repr(const void *self) {
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%lld", (long long)((const int_obj *)self)->value);
    return _rc_str_new_trusted(buf, (size_t)n, (size_t)n);
}

/* Python's repr of a float: the shortest digits that read back as the same
 * double, in fixed notation for exponents -4..15 and scientific otherwise,
 * always with a '.' or an exponent ("1.0", "0.1", "1e+16", "1.5e-07").
 *
 * The digits: the double printed once to 17 significant digits (always
 * enough to read back), then rounded to 15 and to 16 digits here, and the
 * shortest of those that reads back (strtod) wins. A decimal of at most
 * 15 digits survives a trip through a double (DBL_DIG), so when the
 * 15-digit form reads back, it without its trailing zeros is the shortest
 * form. Rounding the 17-digit string again equals rounding the double
 * unless the dropped digits are exactly 5 or 50 (a tie the first rounding
 * may have made): then that precision is printed afresh. Integral values
 * below 1e16 are printed as integers; subnormals, with less precision,
 * search from one digit up. The values Python prints in fixed notation
 * (1e-4 <= |v| < 1e16), the common case, take an exact path in 128-bit
 * integers instead (shortest_fixed), with no printf at all. */

/* Round the n digits d (ASCII) to p < n digits in place, carrying; the
 * decimal exponent grows by one when all were 9s. false on a tie the
 * 17-digit rounding may have made. */
static bool round_digits(char *d, int n, int p, int *exp) {
    bool five = d[p] == '5';
    for (int i = p + 1; i < n; i++) five = five && d[i] == '0';
    if (five) return false;
    if (d[p] < '5') return true;
    int i = p - 1;
    for (; i >= 0 && d[i] == '9'; i--) d[i] = '0';
    if (i >= 0) {
        d[i]++;
    } else {
        d[0] = '1';
        ++*exp;
    }
    return true;
}

/* Add step (+1 or -1) to the last of the p digits d (no leading zero
 * results: 1000 - 1 becomes 9999 one decade down). */
static void step_last_digit(char *d, int p, int step, int *exp) {
    int i = p - 1;
    if (step > 0) {
        for (; i >= 0 && d[i] == '9'; i--) d[i] = '0';
        if (i >= 0) {
            d[i]++;
        } else {
            d[0] = '1';
            ++*exp;
        }
        return;
    }
    for (; i >= 0 && d[i] == '0'; i--) d[i] = '9';
    d[i]--; /* i >= 0: the first digit is not 0 */
    if (d[0] == '0') {
        memmove(d, d + 1, (size_t)p - 1);
        d[p - 1] = '9';
        --*exp;
    }
}

/* Do the p digits d with decimal exponent exp read back as v? */
static bool reads_back(const char *d, int p, int exp, bool neg, double v) {
    char s[40], *o = s;
    if (neg) *o++ = '-';
    *o++ = d[0];
    *o++ = '.';
    memcpy(o, d + 1, (size_t)p - 1);
    o += p - 1;
    snprintf(o, sizeof s - (size_t)(o - s), "e%d", exp);
    return strtod(s, NULL) == v;
}

/* Split a "%.*e" string into its digits (ASCII, *nd of them), sign and
 * exponent. */
static void split_e(const char *e, char *digits, int *nd, bool *neg, int *exp) {
    *neg = *e == '-';
    if (*neg) e++;
    *nd = 0;
    for (; *e != 'e'; e++)
        if (*e != '.') digits[(*nd)++] = *e;
    *exp = atoi(e + 1);
}

/* The shortest digits of finite, nonzero v (digits[20]); their count. */
static int shortest_digits(double v, char *digits, bool *neg, int *exp) {
    char e[40];
    int nd;
    if (fabs(v) < DBL_MIN) {
        for (int p = 0; p < 17; p++) {
            snprintf(e, sizeof e, "%.*e", p, v);
            if (strtod(e, NULL) == v) break;
        }
        split_e(e, digits, &nd, neg, exp);
        return nd;
    }
    snprintf(e, sizeof e, "%.16e", v);
    split_e(e, digits, &nd, neg, exp);
    for (int p = 15; p <= 16; p++) {
        char d[20];
        int x = *exp;
        memcpy(d, digits, 17);
        if (!round_digits(d, 17, p, &x)) {
            char f[40];
            bool n2;
            int nd2;
            snprintf(f, sizeof f, "%.*e", p - 1, v);
            split_e(f, d, &nd2, &n2, &x);
        }
        if (reads_back(d, p, x, *neg, v)) {
            memcpy(digits, d, (size_t)p);
            *exp = x;
            return p;
        }
    }
    /* Below a power of two the interval of values that read back as v is
     * half as wide as above it, so the nearest 16 digits may miss it while
     * the next 16-digit decimal up (or down) hits it (Python prints that
     * one). */
    for (int step = -1; step <= 1; step += 2) {
        char d[20];
        int x = *exp;
        memcpy(d, digits, 17);
        if (!round_digits(d, 17, 16, &x)) {
            char f[40];
            bool n2;
            int nd2;
            snprintf(f, sizeof f, "%.15e", v);
            split_e(f, d, &nd2, &n2, &x);
        }
        step_last_digit(d, 16, step, &x);
        if (reads_back(d, 16, x, *neg, v)) {
            memcpy(digits, d, 16);
            *exp = x;
            return 16;
        }
    }
    return 17;
}

/* Shortest digits of finite v with 1e-4 <= |v| < 1e16 that is not an
 * integer, exactly, in 128-bit integers: v = m * 2^e with e < 0, and the
 * doubles that read back as v are those in the interval around v of half
 * the spacing to each neighbour (closed when m is even: ties round to
 * even). The smallest number q of decimal places at which that interval
 * holds an integer multiple of 10^-q gives the shortest digits; of those,
 * the one nearest to v. At most 20 rounds: v * 10^20 * 4 < 2^123. */
static int shortest_fixed(double v, char *digits, int *exp) {
    typedef unsigned __int128 u128;
    int e2;
    uint64_t m = (uint64_t)ldexp(frexp(fabs(v), &e2), 53); /* v = m * 2^(e2 - 53), m in [2^52, 2^53) */
    unsigned s = (unsigned)(2 - (e2 - 53));                /* 4m / 2^s == v; s >= 1 as v < 2^54 */
    bool closed = !(m & 1);
    u128 c = (u128)m << 2, lo = c - (m == (uint64_t)1 << 52 ? 1 : 2), hi = c + 2;
    u128 mask = ((u128)1 << s) - 1, half = (u128)1 << (s - 1), p10 = 1;
    for (int q = 1; q <= 20; q++) {
        p10 *= 10;
        u128 L = lo * p10, H = hi * p10, C = c * p10;
        u128 dlo = (L >> s) + (closed ? (L & mask) != 0 : 1);
        u128 dhi = (H >> s) - (!closed && (H & mask) == 0);
        if (dlo > dhi) continue;
        u128 d = C >> s, rem = C & mask;
        if (rem > half || (rem == half && (d & 1))) d++;
        if (d < dlo) d = dlo;
        if (d > dhi) d = dhi;
        char tmp[24];
        int n = 0;
        uint64_t x = (uint64_t)d;
        do tmp[n++] = (char)('0' + x % 10); while (x /= 10);
        for (int i = 0; i < n; i++) digits[i] = tmp[n - 1 - i];
        *exp = n - 1 - q;
        return n;
    }
    return 0; /* not reached: 17 significant digits always suffice */
}

static int format_double(double v, char *buf, size_t size) {
    if (isnan(v)) return snprintf(buf, size, "nan");
    if (isinf(v)) return snprintf(buf, size, v > 0 ? "inf" : "-inf");
    if (v == 0) return snprintf(buf, size, signbit(v) ? "-0.0" : "0.0");
    if (fabs(v) < 1e16 && v == (double)(int64_t)v) return snprintf(buf, size, "%lld.0", (long long)v);
    char digits[24];
    bool neg = v < 0;
    int exp, nd = 0;
    if (fabs(v) >= 1e-4 && fabs(v) < 1e16) nd = shortest_fixed(v, digits, &exp);
    if (!nd) nd = shortest_digits(v, digits, &neg, &exp);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    char *o = buf, *end = buf + size - 1; /* size >= 32 */
    if (neg) *o++ = '-';
    if (exp < -4 || exp >= 16) {
        *o++ = digits[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, (size_t)nd - 1);
            o += nd - 1;
        }
        o += snprintf(o, (size_t)(end - o) + 1, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    } else if (exp >= 0) {
        for (int i = 0; i <= exp; i++) *o++ = i < nd ? digits[i] : '0';
        *o++ = '.';
        if (nd > exp + 1) {
            memcpy(o, digits + exp + 1, (size_t)(nd - exp - 1));
            o += nd - exp - 1;
        } else {
            *o++ = '0';
        }
    } else {
        *o++ = '0';
        *o++ = '.';
        for (int i = -1; i > exp; i--) *o++ = '0';
        memcpy(o, digits, (size_t)nd);
        o += nd;
    }
    *o = '\0';
    return (int)(o - buf);
}

static void *float_repr(const void *self) {
    char buf[64];
    int n = format_double(((const float_obj *)self)->value, buf, sizeof buf);
    return _rc_str_new_trusted(buf, (size_t)n, (size_t)n);
}

static uint64_t int_hash(const void *self) { return (uint64_t)_rc_hash_int(((const int_obj *)self)->value); }
static uint64_t float_hash(const void *self) { return (uint64_t)_rc_hash_double(((const float_obj *)self)->value); }

static bool int_equal(const void *a, const void *b) {
    return ((const int_obj *)a)->value == ((const int_obj *)b)->value;
}

static bool float_equal(const void *a, const void *b) {
    return ((const float_obj *)a)->value == ((const float_obj *)b)->value;
}
/* }==== */

/* {==== the types and the static objects ==== */

const rc_type rc_none_type = {
    .name = "NoneType", .size = 0, .repr = none_repr, .flags = RC_TYPE_BUILTIN};
const rc_type rc_bool_type = {.name = "bool",
                              .size = sizeof(int_obj),
                              .hash = int_hash,
                              .equal = int_equal,
                              .repr = bool_repr,
                              .flags = RC_TYPE_BUILTIN};
const rc_type rc_int_type = {.name = "int",
                             .size = sizeof(int_obj),
                             .hash = int_hash,
                             .equal = int_equal,
                             .repr = int_repr,
                             .flags = RC_TYPE_BUILTIN};
const rc_type rc_float_type = {.name = "float",
                               .size = sizeof(float_obj),
                               .hash = float_hash,
                               .equal = float_equal,
                               .repr = float_repr,
                               .flags = RC_TYPE_BUILTIN};

#define STATIC_HEAD(type) {.refcnt = RC_IMMORTAL_REFCNT, .gc_aux = 0, .type_bits = (uintptr_t)&(type)}

static static_obj none_obj RC_STATIC_OBJECT = {.head = STATIC_HEAD(rc_none_type)};
static static_obj false_obj RC_STATIC_OBJECT = {.head = STATIC_HEAD(rc_bool_type), .value = 0};
static static_obj true_obj RC_STATIC_OBJECT = {.head = STATIC_HEAD(rc_bool_type), .value = 1};

void *const rc_none = &none_obj.value;
void *const rc_true = &true_obj.value;
void *const rc_false = &false_obj.value;

/* The small ints: headers are constant, values filled in before main (a
 * constructor), so rc_int_new needs no "initialised yet?" test. */
#define SMALL_INTS (SMALL_INT_MAX - SMALL_INT_MIN + 1)
static static_obj small_ints[SMALL_INTS] RC_STATIC_OBJECT = {
    [0 ... SMALL_INTS - 1] = {.head = STATIC_HEAD(rc_int_type)}};

__attribute__((constructor(101))) static void small_ints_init(void) {
    for (int i = 0; i < SMALL_INTS; i++) small_ints[i].value = SMALL_INT_MIN + i;
}
/* }==== */

/* {==== constructors and accessors ==== */

void *rc_bool(bool value) { return value ? rc_true : rc_false; }

void *rc_int_new(int64_t value) {
    RC_USER_FRAME();
    if (value >= SMALL_INT_MIN && value <= SMALL_INT_MAX) return &small_ints[value - SMALL_INT_MIN].value;
    int_obj *o = rc_new(&rc_int_type);
    if (o) o->value = value;
    return o;
}

int64_t rc_int_value(const void *obj) {
    const rc_type *t = obj ? rc_type_of(obj) : NULL;
    if (RC_LIKELY(t == &rc_int_type || t == &rc_bool_type)) return ((const int_obj *)obj)->value;
    _rc_set_error("rc_int_value: expected an int, got %s", _rc_obj_type_name(obj));
    return 0;
}

void *rc_float_new(double value) {
    RC_USER_FRAME();
    float_obj *o = rc_new(&rc_float_type);
    if (o) o->value = value;
    return o;
}

double rc_float_value(const void *obj) {
    const rc_type *t = obj ? rc_type_of(obj) : NULL;
    if (RC_LIKELY(t == &rc_float_type)) return ((const float_obj *)obj)->value;
    if (t == &rc_int_type || t == &rc_bool_type) return (double)((const int_obj *)obj)->value;
    _rc_set_error("rc_float_value: expected a float or an int, got %s", _rc_obj_type_name(obj));
    return 0.0;
}
/* }==== */

/* {==== the numeric tower ==== */

bool _rc_is_number(const void *obj) {
    const rc_type *t = rc_type_of(obj);
    return t == &rc_int_type || t == &rc_float_type || t == &rc_bool_type;
}

/* i against d exactly: -1, 0, 1, or 2 (d is NaN). */
static int compare_int_double(int64_t i, double d) {
    if (isnan(d)) return 2;
    if (d >= 9223372036854775808.0) return -1;
    if (d < -9223372036854775808.0) return 1;
    int64_t di = (int64_t)d; /* d truncated: exact, d is in range */
    if (i != di) return i < di ? -1 : 1;
    double frac = d - (double)di; /* exact for a double */
    return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

int _rc_number_compare(const void *a, const void *b) {
    bool fa = rc_type_of(a) == &rc_float_type, fb = rc_type_of(b) == &rc_float_type;
    if (!fa && !fb) {
        int64_t x = ((const int_obj *)a)->value, y = ((const int_obj *)b)->value;
        return x < y ? -1 : x > y;
    }
    if (fa && fb) {
        double x = ((const float_obj *)a)->value, y = ((const float_obj *)b)->value;
        if (isnan(x) || isnan(y)) return 2;
        return x < y ? -1 : x > y;
    }
    if (fb) return compare_int_double(((const int_obj *)a)->value, ((const float_obj *)b)->value);
    int c = compare_int_double(((const int_obj *)b)->value, ((const float_obj *)a)->value);
    return c == 2 ? 2 : -c;
}
/* }==== */
