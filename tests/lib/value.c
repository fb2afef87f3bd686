/* Value tree: see value.h. */
#include "value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static struct value *mk(enum value_type t)
{
    struct value *v = xrealloc(NULL, sizeof *v);
    memset(v, 0, sizeof *v);
    v->type = t;
    return v;
}

struct value *value_null(void) { return mk(V_NULL); }
struct value *value_bool(int b) { struct value *v = mk(V_BOOL); v->u.b = !!b; return v; }
struct value *value_int(int64_t i) { struct value *v = mk(V_INT); v->u.i = i; return v; }
struct value *value_double(double d) { struct value *v = mk(V_DOUBLE); v->u.d = d; return v; }
struct value *value_arr(void) { return mk(V_ARR); }
struct value *value_obj(void) { return mk(V_OBJ); }

struct value *value_strn(const char *s, size_t n)
{
    struct value *v = mk(V_STR);
    v->u.str.s = xrealloc(NULL, n + 1);
    memcpy(v->u.str.s, s, n);
    v->u.str.s[n] = '\0';
    v->u.str.len = n;
    return v;
}

struct value *value_str(const char *s) { return s ? value_strn(s, strlen(s)) : value_null(); }

void value_arr_push(struct value *arr, struct value *v)
{
    if (arr->type != V_ARR) { value_free(v); return; }
    if (arr->u.arr.n == arr->u.arr.cap) {
        arr->u.arr.cap = arr->u.arr.cap ? arr->u.arr.cap * 2 : 4;
        arr->u.arr.items = xrealloc(arr->u.arr.items, arr->u.arr.cap * sizeof *arr->u.arr.items);
    }
    arr->u.arr.items[arr->u.arr.n++] = v;
}

void value_obj_set(struct value *obj, const char *key, struct value *v)
{
    if (obj->type != V_OBJ) { value_free(v); return; }
    for (size_t i = 0; i < obj->u.obj.n; i++) {
        if (strcmp(obj->u.obj.keys[i], key) == 0) {
            value_free(obj->u.obj.vals[i]);
            obj->u.obj.vals[i] = v;
            return;
        }
    }
    if (obj->u.obj.n == obj->u.obj.cap) {
        obj->u.obj.cap = obj->u.obj.cap ? obj->u.obj.cap * 2 : 8;
        obj->u.obj.keys = xrealloc(obj->u.obj.keys, obj->u.obj.cap * sizeof *obj->u.obj.keys);
        obj->u.obj.vals = xrealloc(obj->u.obj.vals, obj->u.obj.cap * sizeof *obj->u.obj.vals);
    }
    size_t kl = strlen(key);
    char *k = xrealloc(NULL, kl + 1);
    memcpy(k, key, kl + 1);
    obj->u.obj.keys[obj->u.obj.n] = k;
    obj->u.obj.vals[obj->u.obj.n] = v;
    obj->u.obj.n++;
}

void value_set_str(struct value *o, const char *k, const char *s) { value_obj_set(o, k, value_str(s)); }
void value_set_int(struct value *o, const char *k, int64_t i) { value_obj_set(o, k, value_int(i)); }
void value_set_bool(struct value *o, const char *k, int b) { value_obj_set(o, k, value_bool(b)); }
void value_set_double(struct value *o, const char *k, double d) { value_obj_set(o, k, value_double(d)); }
void value_arr_push_str(struct value *a, const char *s) { value_arr_push(a, value_str(s)); }

struct value *value_obj_get(const struct value *obj, const char *key)
{
    if (!obj || obj->type != V_OBJ) return NULL;
    for (size_t i = 0; i < obj->u.obj.n; i++)
        if (strcmp(obj->u.obj.keys[i], key) == 0) return obj->u.obj.vals[i];
    return NULL;
}

struct value *value_arr_get(const struct value *arr, size_t i)
{
    if (!arr || arr->type != V_ARR || i >= arr->u.arr.n) return NULL;
    return arr->u.arr.items[i];
}

size_t value_len(const struct value *v)
{
    if (!v) return 0;
    switch (v->type) {
    case V_ARR: return v->u.arr.n;
    case V_OBJ: return v->u.obj.n;
    case V_STR: return v->u.str.len;
    default: return 0;
    }
}

struct value *value_path(const struct value *root, const char *path)
{
    const struct value *cur = root;
    const char *p = path;
    char key[128];
    while (cur && *p) {
        if (*p == '.') { p++; continue; }
        if (*p == '[') {
            char *end;
            unsigned long idx = strtoul(p + 1, &end, 10);
            if (end == p + 1 || *end != ']') return NULL;
            cur = value_arr_get(cur, idx);
            p = end + 1;
            continue;
        }
        size_t n = strcspn(p, ".[");
        if (n >= sizeof key) return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        cur = value_obj_get(cur, key);
        p += n;
    }
    return (struct value *)(uintptr_t)cur;
}

struct value *value_clone(const struct value *v)
{
    if (!v) return value_null();
    switch (v->type) {
    case V_NULL: return value_null();
    case V_BOOL: return value_bool(v->u.b);
    case V_INT: return value_int(v->u.i);
    case V_DOUBLE: return value_double(v->u.d);
    case V_STR: return value_strn(v->u.str.s, v->u.str.len);
    case V_ARR: {
        struct value *a = value_arr();
        for (size_t i = 0; i < v->u.arr.n; i++) value_arr_push(a, value_clone(v->u.arr.items[i]));
        return a;
    }
    case V_OBJ: {
        struct value *o = value_obj();
        for (size_t i = 0; i < v->u.obj.n; i++)
            value_obj_set(o, v->u.obj.keys[i], value_clone(v->u.obj.vals[i]));
        return o;
    }
    }
    return value_null();
}

void value_free(struct value *v)
{
    if (!v) return;
    switch (v->type) {
    case V_STR: free(v->u.str.s); break;
    case V_ARR:
        for (size_t i = 0; i < v->u.arr.n; i++) value_free(v->u.arr.items[i]);
        free(v->u.arr.items);
        break;
    case V_OBJ:
        for (size_t i = 0; i < v->u.obj.n; i++) {
            free(v->u.obj.keys[i]);
            value_free(v->u.obj.vals[i]);
        }
        free(v->u.obj.keys);
        free(v->u.obj.vals);
        break;
    default: break;
    }
    free(v);
}

int value_truthy(const struct value *v)
{
    if (!v) return 0;
    switch (v->type) {
    case V_NULL: return 0;
    case V_BOOL: return v->u.b;
    case V_INT: return v->u.i != 0;
    case V_DOUBLE: return v->u.d != 0.0;
    case V_STR: return v->u.str.len > 0;
    case V_ARR: return v->u.arr.n > 0;
    case V_OBJ: return v->u.obj.n > 0;
    }
    return 0;
}

void value_to_json(const struct value *v, struct json *j)
{
    if (!v) { json_null(j); return; }
    switch (v->type) {
    case V_NULL: json_null(j); break;
    case V_BOOL: json_bool(j, v->u.b); break;
    case V_INT: json_int(j, v->u.i); break;
    case V_DOUBLE: json_double(j, v->u.d, 3); break;
    case V_STR: json_strn(j, v->u.str.s, v->u.str.len); break;
    case V_ARR:
        json_arr_begin(j);
        for (size_t i = 0; i < v->u.arr.n; i++) value_to_json(v->u.arr.items[i], j);
        json_arr_end(j);
        break;
    case V_OBJ:
        json_obj_begin(j);
        for (size_t i = 0; i < v->u.obj.n; i++) {
            json_key(j, v->u.obj.keys[i]);
            value_to_json(v->u.obj.vals[i], j);
        }
        json_obj_end(j);
        break;
    }
}

const char *value_type_name(enum value_type t)
{
    static const char *const n[] = { "null", "bool", "int", "double", "string", "array", "object" };
    return (unsigned)t < sizeof n / sizeof n[0] ? n[t] : "?";
}
