/*
 * test_dispatch.c — src/types/object.c: what every object answers through
 * its type's slots (rc_repr, rc_hash, rc_equal, rc_contains), for user
 * types that misbehave or run code in the middle of an operation. The
 * built-in types' own behaviour is tested in their files.
 */
#include "types_util.h"

#include "internal/types.h"

/* {==== a repr slot that returns no str ==== */

static void *int_repr(const void *self) {
    (void)self;
    return rc_int_new(123456); /* a new reference, but not a str */
}
static const rc_type badrepr_type = {.name = "BadRepr", .size = 8, .repr = int_repr};

/* Python: TypeError: __repr__ returned non-string (type int). The object
 * the slot returned is released, and containers printing one fail too. */
static void test_repr_slot_returning_non_str(void **state) {
    (void)state;
    void *b = rc_new(&badrepr_type);
    clear_error();
    assert_null(rc_repr(b));
    ERROR_HAS("rc_repr: repr of 'BadRepr' returned non-str (type int)");
    void *l = rc_list_new();
    assert_int_equal(rc_list_append(l, b), 0);
    clear_error();
    assert_null(rc_repr(l));
    ERROR_HAS("returned non-str (type int)");
    void *t = rc_tuple_pack(2, rc_none, b);
    clear_error();
    assert_null(rc_repr(t));
    ERROR_HAS("returned non-str (type int)");
    void *d = rc_dict_new();
    assert_int_equal(rc_dict_set(d, rc_none, b), 0);
    clear_error();
    assert_null(rc_repr(d));
    ERROR_HAS("returned non-str (type int)");
    assert_int_equal(rc_refcount(b), 4);
    rc_decref(d);
    rc_decref(t);
    rc_decref(l);
    assert_int_equal(rc_refcount(b), 1);
    rc_decref(b);
}
/* }==== */

/* The default repr names the type; a type name that is not UTF-8 (or too
 * long for the repr) reads as "?", so the result is always a valid str. */
typedef struct plain {
    int x;
} plain;
static const rc_type named_type = {.name = "Named", .size = sizeof(plain)};
static const rc_type bad_name_type = {.name = "Bad\xff\xfeName", .size = sizeof(plain)};

static void test_default_repr(void **state) {
    (void)state;
    void *a = rc_new(&named_type), *b = rc_new(&bad_name_type);
    char want[64];
    snprintf(want, sizeof want, "<Named object at %p>", a);
    REPR_EQ(a, want);
    snprintf(want, sizeof want, "<? object at %p>", b);
    REPR_EQ(b, want);
    void *l = rc_list_new();
    assert_int_equal(rc_list_append(l, b), 0);
    void *r = rc_repr(l);
    assert_non_null(r);
    assert_non_null(strstr(rc_str_cstr(r), "<? object at"));
    rc_decref(r);
    rc_decref(l);
    rc_decref(a);
    rc_decref(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        TYPES_TEST(test_repr_slot_returning_non_str),
        TYPES_TEST(test_default_repr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
