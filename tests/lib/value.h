/* A small dynamic value tree (null, bool, int, double, string, array,
 * object) — the shape of a handshake's facts. The session layer builds one
 * per handshake; the JSON output serializes it as the "tls" object and the
 * rule engine evaluates conditions over it by path ("server_cert.subject",
 * "alerts[0].code"), so both always see the same facts. Objects keep
 * insertion order (the JSON reads in that order). Constructors never return
 * NULL: out of memory ends the process with a message. */
#ifndef TLSWATCH_VALUE_H
#define TLSWATCH_VALUE_H
#include <stddef.h>
#include <stdint.h>

#include "json.h"

enum value_type { V_NULL = 0, V_BOOL, V_INT, V_DOUBLE, V_STR, V_ARR, V_OBJ };

struct value {
    enum value_type type;
    union {
        int b;
        int64_t i;
        double d;
        struct { char *s; size_t len; } str;
        struct { struct value **items; size_t n, cap; } arr;
        struct { char **keys; struct value **vals; size_t n, cap; } obj;
    } u;
};

struct value *value_null(void);
struct value *value_bool(int b);
struct value *value_int(int64_t i);
struct value *value_double(double d);
struct value *value_str(const char *s);          /* NULL s gives V_NULL */
struct value *value_strn(const char *s, size_t n);
struct value *value_arr(void);
struct value *value_obj(void);

/* Containers take ownership of v. obj_set replaces an existing key. */
void value_arr_push(struct value *arr, struct value *v);
void value_obj_set(struct value *obj, const char *key, struct value *v);
/* Shorthands: obj_set of a fresh scalar. */
void value_set_str(struct value *obj, const char *key, const char *s);
void value_set_int(struct value *obj, const char *key, int64_t i);
void value_set_bool(struct value *obj, const char *key, int b);
void value_set_double(struct value *obj, const char *key, double d);
void value_arr_push_str(struct value *arr, const char *s);

struct value *value_obj_get(const struct value *obj, const char *key);
struct value *value_arr_get(const struct value *arr, size_t i);
size_t value_len(const struct value *v); /* items, members, or string bytes */
/* "a.b[2].c": NULL when any step is missing or of the wrong type. */
struct value *value_path(const struct value *root, const char *path);
struct value *value_clone(const struct value *v);
void value_free(struct value *v);

/* Truthiness for rules: null/false/0/""/empty container are false. */
int value_truthy(const struct value *v);
void value_to_json(const struct value *v, struct json *j);
const char *value_type_name(enum value_type t);

#endif
