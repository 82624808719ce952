/*
 * fuzz_types.c — a fuzz target for the built-in containers: random
 * operations on a list, a dict and a set, each beside a reference model.
 *
 * The input is a program: steps of one op byte and its operands (missing
 * bytes read as 0). Values come from a small domain so that keys collide
 * and equal values meet: a value is (kind, d) with d in 0..31 and kind
 * int, float or str; int d and float d are equal (1 == 1.0, as in
 * Python), strs equal only strs. d < 16 gives small ints (the immortal
 * cache), larger d big ones (heap objects), so both paths are exercised.
 *
 *   list   append, insert, pop, set, del, get, slice, reverse, sort (fails
 *          and leaves the list as it was when strs and numbers mix),
 *          index/contains, extend (from a tuple or from the list itself),
 *          clear
 *   dict   set (an existing key keeps its place and its first key object),
 *          get, pop, del, contains, update from a second dict, clear, and
 *          an iterator that must fail once the dict changes size
 *   set    add, discard, contains, union/intersection/difference with a
 *          set built from the list, pop, clear
 *
 * The model is plain C arrays. After every step the library must agree
 * with it: lengths, every item in order (the list, the dict's insertion
 * order through rc_dict_next), set membership of every value of the
 * domain. At the end a cycle is made through all three containers, every
 * C reference is dropped, a collection runs, and no object may be left
 * alive: a lost reference shows up as a leak, an extra decref as a report
 * of the checked builds (RECLAIM_DEBUG_CHECKS).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reclaim.h"
#include "internal/object.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_STEPS 400
#define MAX_ITEMS 96
#define DOMAIN 32

enum { K_INT, K_FLOAT, K_STR };

typedef struct val {
    uint8_t kind, d;
} val;

typedef struct reader {
    const uint8_t *p;
    size_t n, i;
} reader;

static uint8_t u8(reader *r) { return r->i < r->n ? r->p[r->i++] : 0; }

static size_t cur_step;
static const char *cur_op = "start";

#define CHECK(cond)                                                                                            \
    do {                                                                                                       \
        if (!(cond)) {                                                                                         \
            fprintf(stderr, "fuzz_types: check failed at line %d: %s\n  step %zu, op %s\n  rc_last_error: %s\n", \
                    __LINE__, #cond, cur_step, cur_op, rc_last_error());                                       \
            abort();                                                                                           \
        }                                                                                                      \
    } while (0)

/* {==== values ==== */

static int64_t num(unsigned d) { return d < 16 ? (int64_t)d : (int64_t)d * 1000003; }

static val read_val(reader *r) {
    uint8_t b = u8(r);
    return (val){.kind = (uint8_t)((b >> 5) % 3), .d = (uint8_t)(b % DOMAIN)};
}

static void *make(val v) {
    void *o;
    if (v.kind == K_INT) {
        o = rc_int_new(num(v.d));
    } else if (v.kind == K_FLOAT) {
        o = rc_float_new((double)num(v.d));
    } else {
        char buf[16];
        snprintf(buf, sizeof buf, "s%u", v.d);
        o = rc_str_from_cstr(buf);
    }
    CHECK(o != NULL);
    return o;
}

static bool val_equal(val a, val b) { return a.d == b.d && (a.kind == K_STR) == (b.kind == K_STR); }

/* Does the library's object hold exactly v (kind included)? */
static bool holds(const void *o, val v) {
    if (!o) return false;
    const rc_type *t = rc_type_of(o);
    if (v.kind == K_INT) return t == &rc_int_type && rc_int_value(o) == num(v.d);
    if (v.kind == K_FLOAT) return t == &rc_float_type && rc_float_value(o) == (double)num(v.d);
    char buf[16];
    snprintf(buf, sizeof buf, "s%u", v.d);
    return t == &rc_str_type && strcmp(rc_str_cstr(o), buf) == 0;
}

/* Python's order: numbers by value, strs by text; -2 when incomparable. */
static int val_order(val a, val b) {
    bool sa = a.kind == K_STR, sb = b.kind == K_STR;
    if (sa != sb) return -2;
    if (!sa) return num(a.d) < num(b.d) ? -1 : num(a.d) > num(b.d);
    char x[16], y[16];
    snprintf(x, sizeof x, "s%u", a.d);
    snprintf(y, sizeof y, "s%u", b.d);
    int c = strcmp(x, y);
    return c < 0 ? -1 : c > 0;
}
/* }==== */

/* {==== the containers and their models ==== */

static void *L, *D, *S;

static val ml[MAX_ITEMS];
static size_t ml_n;

typedef struct dentry {
    val key, value;
} dentry;
static dentry md[DOMAIN * 2];
static size_t md_n;

static bool ms[DOMAIN][2]; /* [d][is str] */

static int64_t pick_index(reader *r, size_t n) {
    /* mostly in range, sometimes negative, sometimes out of range */
    int8_t b = (int8_t)u8(r);
    if (n == 0) return b % 4;
    switch ((uint8_t)b % 4) {
    case 0: return -(int64_t)(((uint8_t)b >> 2) % n) - 1;
    case 1: return (int64_t)n + ((uint8_t)b >> 2) % 3;
    default: return (int64_t)(((uint8_t)b >> 2) % n);
    }
}

static bool norm(int64_t i, size_t n, size_t *out) {
    int64_t j = i < 0 ? i + (int64_t)n : i;
    if (j < 0 || (uint64_t)j >= n) return false;
    *out = (size_t)j;
    return true;
}

static int md_find(val k) {
    for (size_t i = 0; i < md_n; i++)
        if (val_equal(md[i].key, k)) return (int)i;
    return -1;
}
/* }==== */

/* {==== verification ==== */

/* The dict's iterate op stores None values: kind 255 in the model. */
static bool holds_value(const void *o, val v) { return v.kind == 255 ? o == rc_none : holds(o, v); }

static void verify(void) {
    CHECK(rc_list_len(L) == ml_n);
    for (size_t i = 0; i < ml_n; i++) CHECK(holds(rc_list_get(L, (int64_t)i), ml[i]));
    CHECK(rc_dict_len(D) == md_n);
    size_t pos = 0, i = 0;
    void *k, *v;
    while (rc_dict_next(D, &pos, &k, &v)) {
        CHECK(i < md_n);
        CHECK(holds(k, md[i].key));
        CHECK(holds_value(v, md[i].value));
        i++;
    }
    CHECK(i == md_n);
    size_t members = 0;
    for (unsigned d = 0; d < DOMAIN; d++) {
        for (int s = 0; s < 2; s++) {
            void *probe = make((val){.kind = s ? K_STR : K_INT, .d = (uint8_t)d});
            CHECK(rc_set_contains(S, probe) == (int)ms[d][s]);
            rc_decref(probe);
            members += ms[d][s];
        }
    }
    CHECK(rc_set_len(S) == members);
}
/* }==== */

/* {==== list ops ==== */

static void op_list(reader *r) {
    uint8_t op = u8(r) % 12;
    switch (op) {
    case 0: { /* append */
        cur_op = "list append";
        if (ml_n == MAX_ITEMS) break;
        val v = read_val(r);
        void *o = make(v);
        CHECK(rc_list_append(L, o) == 0);
        rc_decref(o);
        ml[ml_n++] = v;
        break;
    }
    case 1: { /* insert */
        cur_op = "list insert";
        if (ml_n == MAX_ITEMS) break;
        int64_t i = pick_index(r, ml_n);
        val v = read_val(r);
        void *o = make(v);
        CHECK(rc_list_insert(L, i, o) == 0);
        rc_decref(o);
        int64_t j = i < 0 ? i + (int64_t)ml_n : i;
        if (j < 0) j = 0;
        if (j > (int64_t)ml_n) j = (int64_t)ml_n;
        memmove(&ml[j + 1], &ml[j], (ml_n - (size_t)j) * sizeof ml[0]);
        ml[j] = v;
        ml_n++;
        break;
    }
    case 2: { /* pop */
        cur_op = "list pop";
        int64_t i = pick_index(r, ml_n);
        size_t j;
        void *o = rc_list_pop(L, i);
        if (!norm(i, ml_n, &j)) {
            CHECK(o == NULL);
            break;
        }
        CHECK(holds(o, ml[j]));
        rc_decref(o);
        memmove(&ml[j], &ml[j + 1], (ml_n - j - 1) * sizeof ml[0]);
        ml_n--;
        break;
    }
    case 3: { /* set */
        cur_op = "list set";
        int64_t i = pick_index(r, ml_n);
        val v = read_val(r);
        void *o = make(v);
        size_t j;
        int rc = rc_list_set(L, i, o);
        rc_decref(o);
        if (!norm(i, ml_n, &j)) {
            CHECK(rc < 0);
            break;
        }
        CHECK(rc == 0);
        ml[j] = v;
        break;
    }
    case 4: { /* del */
        cur_op = "list del";
        int64_t i = pick_index(r, ml_n);
        size_t j;
        int rc = rc_list_del(L, i);
        if (!norm(i, ml_n, &j)) {
            CHECK(rc < 0);
            break;
        }
        CHECK(rc == 0);
        memmove(&ml[j], &ml[j + 1], (ml_n - j - 1) * sizeof ml[0]);
        ml_n--;
        break;
    }
    case 5: { /* slice */
        cur_op = "list slice";
        int64_t a = pick_index(r, ml_n), b = pick_index(r, ml_n);
        void *s = rc_list_slice(L, a, b);
        CHECK(s != NULL);
        int64_t n = (int64_t)ml_n;
        if (a < 0) a = a + n < 0 ? 0 : a + n;
        if (b < 0) b = b + n < 0 ? 0 : b + n;
        if (a > n) a = n;
        if (b > n) b = n;
        if (b < a) b = a;
        CHECK(rc_list_len(s) == (size_t)(b - a));
        for (int64_t k = a; k < b; k++) CHECK(holds(rc_list_get(s, k - a), ml[k]));
        rc_decref(s);
        break;
    }
    case 6: /* reverse */
        cur_op = "list reverse";
        CHECK(rc_list_reverse(L) == 0);
        for (size_t k = 0; k < ml_n / 2; k++) {
            val t = ml[k];
            ml[k] = ml[ml_n - 1 - k];
            ml[ml_n - 1 - k] = t;
        }
        break;
    case 7: { /* sort: stable insertion sort in the model */
        cur_op = "list sort";
        bool ok = true;
        for (size_t k = 1; k < ml_n; k++)
            if (val_order(ml[0], ml[k]) == -2) ok = false;
        int rc = rc_list_sort(L, NULL, NULL);
        if (!ok) {
            CHECK(rc < 0);
            break;
        }
        CHECK(rc == 0);
        for (size_t k = 1; k < ml_n; k++) {
            val v = ml[k];
            size_t j = k;
            while (j > 0 && val_order(ml[j - 1], v) > 0) {
                ml[j] = ml[j - 1];
                j--;
            }
            ml[j] = v;
        }
        break;
    }
    case 8: { /* index and contains */
        cur_op = "list index";
        val v = read_val(r);
        void *o = make(v);
        int64_t want = -1;
        for (size_t k = 0; k < ml_n; k++)
            if (val_equal(ml[k], v)) {
                want = (int64_t)k;
                break;
            }
        CHECK(rc_list_index(L, o) == want);
        CHECK(rc_contains(L, o) == (want >= 0));
        rc_decref(o);
        break;
    }
    case 9: { /* extend from a tuple of up to 3 values */
        cur_op = "list extend tuple";
        size_t n = u8(r) % 4;
        if (ml_n + n > MAX_ITEMS) break;
        void *items[3] = {0};
        val vs[3] = {{0, 0}};
        for (size_t k = 0; k < n; k++) items[k] = make(vs[k] = read_val(r));
        void *t = rc_tuple_from_array(items, n);
        CHECK(t != NULL);
        for (size_t k = 0; k < n; k++) rc_decref(items[k]);
        CHECK(rc_list_extend(L, t) == 0);
        rc_decref(t);
        for (size_t k = 0; k < n; k++) ml[ml_n++] = vs[k];
        break;
    }
    case 10: /* extend with itself */
        cur_op = "list extend self";
        if (ml_n * 2 > MAX_ITEMS) break;
        CHECK(rc_list_extend(L, L) == 0);
        memcpy(&ml[ml_n], ml, ml_n * sizeof ml[0]);
        ml_n *= 2;
        break;
    default:
        if (u8(r) % 8 == 0) { /* clear, now and then */
            cur_op = "list clear";
            rc_list_clear(L);
            ml_n = 0;
        }
        break;
    }
}
/* }==== */

/* {==== dict ops ==== */

static void op_dict(reader *r) {
    uint8_t op = u8(r) % 8;
    switch (op) {
    case 0:
    case 1: { /* set */
        cur_op = "dict set";
        val k = read_val(r), v = read_val(r);
        void *ko = make(k), *vo = make(v);
        CHECK(rc_dict_set(D, ko, vo) == 0);
        rc_decref(ko);
        rc_decref(vo);
        int at = md_find(k);
        if (at >= 0) {
            md[at].value = v; /* the key object stays the first one */
        } else {
            md[md_n++] = (dentry){k, v};
        }
        break;
    }
    case 2: { /* get, lookup, contains */
        cur_op = "dict get";
        val k = read_val(r);
        void *ko = make(k);
        int at = md_find(k);
        void *got = rc_dict_get(D, ko);
        void *looked = NULL;
        int rc = rc_dict_lookup(D, ko, &looked);
        if (at < 0) {
            CHECK(got == NULL && rc == 0);
        } else {
            CHECK(holds_value(got, md[at].value) && rc == 1 && looked == got);
        }
        CHECK(rc_dict_contains(D, ko) == (at >= 0));
        rc_decref(ko);
        break;
    }
    case 3: { /* pop */
        cur_op = "dict pop";
        val k = read_val(r);
        void *ko = make(k);
        int at = md_find(k);
        void *v = rc_dict_pop(D, ko);
        rc_decref(ko);
        if (at < 0) {
            CHECK(v == NULL);
            break;
        }
        CHECK(holds_value(v, md[at].value));
        rc_decref(v);
        memmove(&md[at], &md[at + 1], (md_n - (size_t)at - 1) * sizeof md[0]);
        md_n--;
        break;
    }
    case 4: { /* del */
        cur_op = "dict del";
        val k = read_val(r);
        void *ko = make(k);
        int at = md_find(k);
        int rc = rc_dict_del(D, ko);
        rc_decref(ko);
        CHECK((rc == 0) == (at >= 0));
        if (at >= 0) {
            memmove(&md[at], &md[at + 1], (md_n - (size_t)at - 1) * sizeof md[0]);
            md_n--;
        }
        break;
    }
    case 5: { /* update from a second dict of up to 3 items */
        cur_op = "dict update";
        void *other = rc_dict_new();
        CHECK(other != NULL);
        size_t n = u8(r) % 4;
        dentry add[3];
        size_t na = 0;
        for (size_t i = 0; i < n; i++) {
            val k = read_val(r), v = read_val(r);
            void *ko = make(k), *vo = make(v);
            CHECK(rc_dict_set(other, ko, vo) == 0);
            rc_decref(ko);
            rc_decref(vo);
            size_t j = 0;
            while (j < na && !val_equal(add[j].key, k)) j++;
            if (j < na) add[j].value = v;
            else add[na++] = (dentry){k, v};
        }
        CHECK(rc_dict_update(D, other) == 0);
        rc_decref(other);
        for (size_t i = 0; i < na; i++) {
            int at = md_find(add[i].key);
            if (at >= 0) md[at].value = add[i].value;
            else md[md_n++] = add[i];
        }
        break;
    }
    case 6: { /* an iterator sees the dict change size */
        cur_op = "dict iterate and change";
        void *it = rc_dict_keys(D);
        CHECK(it != NULL);
        void *first = NULL;
        int rc = rc_next(it, &first);
        CHECK(rc == (md_n > 0));
        if (rc == 1) {
            CHECK(holds(first, md[0].key));
            rc_decref(first);
        }
        val k = read_val(r);
        if (md_find(k) < 0) {
            void *ko = make(k);
            CHECK(rc_dict_set(D, ko, rc_none) == 0);
            rc_decref(ko);
            md[md_n++] = (dentry){k, {.kind = 255, .d = 0}}; /* None */
            /* a live iterator fails; an exhausted one stays exhausted */
            void *next = NULL;
            CHECK(rc_next(it, &next) == (rc == 1 ? -1 : 0));
            CHECK(next == NULL);
        }
        rc_decref(it);
        break;
    }
    default:
        if (u8(r) % 8 == 0) {
            cur_op = "dict clear";
            rc_dict_clear(D);
            md_n = 0;
        }
        break;
    }
}
/* }==== */

/* {==== set ops ==== */

static void set_model_from_list(bool out[DOMAIN][2]) {
    memset(out, 0, sizeof(bool) * DOMAIN * 2);
    for (size_t i = 0; i < ml_n; i++) out[ml[i].d][ml[i].kind == K_STR] = true;
}

static void op_set(reader *r) {
    uint8_t op = u8(r) % 6;
    switch (op) {
    case 0:
    case 1: { /* add */
        cur_op = "set add";
        val v = read_val(r);
        void *o = make(v);
        bool had = ms[v.d][v.kind == K_STR];
        CHECK(rc_set_add(S, o) == (had ? 0 : 1));
        rc_decref(o);
        ms[v.d][v.kind == K_STR] = true;
        break;
    }
    case 2: { /* discard */
        cur_op = "set discard";
        val v = read_val(r);
        void *o = make(v);
        bool had = ms[v.d][v.kind == K_STR];
        CHECK(rc_set_discard(S, o) == (had ? 1 : 0));
        rc_decref(o);
        ms[v.d][v.kind == K_STR] = false;
        break;
    }
    case 3: { /* algebra with a set of the list's items */
        cur_op = "set algebra";
        void *other = rc_set_from_iter(L);
        CHECK(other != NULL);
        bool lm[DOMAIN][2];
        set_model_from_list(lm);
        uint8_t which = u8(r) % 3;
        void *res = which == 0   ? rc_set_union(S, other)
                    : which == 1 ? rc_set_intersection(S, other)
                                 : rc_set_difference(S, other);
        CHECK(res != NULL);
        rc_decref(other);
        size_t members = 0;
        for (unsigned d = 0; d < DOMAIN; d++)
            for (int s = 0; s < 2; s++) {
                bool want = which == 0 ? (ms[d][s] || lm[d][s])
                            : which == 1 ? (ms[d][s] && lm[d][s])
                                         : (ms[d][s] && !lm[d][s]);
                members += want;
                void *probe = make((val){.kind = s ? K_STR : K_INT, .d = (uint8_t)d});
                CHECK(rc_set_contains(res, probe) == (int)want);
                rc_decref(probe);
            }
        CHECK(rc_set_len(res) == members);
        /* now and then the result replaces the set */
        if (u8(r) % 2) {
            rc_decref(S);
            S = res;
            for (unsigned d = 0; d < DOMAIN; d++)
                for (int s = 0; s < 2; s++)
                    ms[d][s] = which == 0 ? (ms[d][s] || lm[d][s])
                               : which == 1 ? (ms[d][s] && lm[d][s])
                                            : (ms[d][s] && !lm[d][s]);
        } else {
            rc_decref(res);
        }
        break;
    }
    case 4: { /* pop */
        cur_op = "set pop";
        void *o = rc_set_pop(S);
        if (rc_set_len(S) == 0 && !o) {
            bool any = false;
            for (unsigned d = 0; d < DOMAIN; d++) any |= ms[d][0] || ms[d][1];
            CHECK(!any);
            break;
        }
        CHECK(o != NULL);
        const rc_type *t = rc_type_of(o);
        bool str = t == &rc_str_type;
        unsigned d = 0;
        if (str) {
            d = (unsigned)atoi(rc_str_cstr(o) + 1);
        } else {
            double x = rc_float_value(o);
            for (d = 0; d < DOMAIN && (double)num(d) != x; d++) {
            }
        }
        CHECK(d < DOMAIN && ms[d][str]);
        ms[d][str] = false;
        rc_decref(o);
        break;
    }
    default:
        if (u8(r) % 8 == 0) {
            cur_op = "set clear";
            rc_set_clear(S);
            memset(ms, 0, sizeof ms);
        }
        break;
    }
}
/* }==== */

static void count_live(rc_object_head *h, void *arg) {
    if ((int32_t)h->refcnt >= 0) ++*(size_t *)arg;
}

static size_t live_objects(void) {
    size_t n = 0;
    rc_world *w = _rc_world_get();
    if (w) _rc_world_walk(w, count_live, &n);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    reader r = {data, size, 0};
    cur_step = 0;
    cur_op = "start";
    rc_gc_collect(-1);
    size_t baseline = live_objects();
    L = rc_list_new();
    D = rc_dict_new();
    S = rc_set_new();
    CHECK(L && D && S);
    ml_n = md_n = 0;
    memset(ms, 0, sizeof ms);
    while (r.i < r.n && cur_step < MAX_STEPS) {
        cur_step++;
        switch (u8(&r) % 3) {
        case 0: op_list(&r); break;
        case 1: op_dict(&r); break;
        default: op_set(&r); break;
        }
        verify();
    }
    /* a cycle through all three: list -> dict -> set is impossible (sets
     * hold hashables), so list -> dict -> list, with the set in the list */
    cur_op = "final cycle";
    void *key = rc_str_from_cstr("cycle");
    CHECK(rc_dict_set(D, key, L) == 0);
    rc_decref(key);
    CHECK(rc_list_append(L, D) == 0);
    CHECK(rc_list_append(L, S) == 0);
    rc_decref(L);
    rc_decref(D);
    rc_decref(S);
    rc_gc_collect(-1);
    CHECK(live_objects() == baseline);
    return 0;
}

#ifdef RC_FUZZ_REPLAY_MAIN
/* {==== the replay driver (fuzz_replay.h) ==== */
#define FUZZ_REPLAY_SEED 0x7E57C0DE5EED5EEDull
#include "fuzz_replay.h"

int main(int argc, char **argv) {
    int status = fuzz_replay_args(argc, argv, "fuzz_types_replay");
    if (status >= 0) return status;
    size_t steps = fuzz_replay_inputs(2000, &cur_step);
    printf("fuzz_types_replay: 2000 inputs, %zu steps checked against the model\n", steps);
    return 0;
}
/* }==== */
#endif
