/* A small JSON writer into a growing buffer. Commas are placed by the
 * writer (a stack of "first member" flags), strings are escaped (control
 * bytes as \u00XX, invalid UTF-8 bytes as \u00XX of the byte), numbers are
 * written exactly. One line per event: json_end_line() adds '\n'. */
#ifndef TLSWATCH_JSON_H
#define TLSWATCH_JSON_H
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#define JSON_MAX_DEPTH 32

struct json {
    char *buf;
    size_t len, cap;
    int depth;
    unsigned char first[JSON_MAX_DEPTH];
    int after_key;
    int oom;
};

void json_init(struct json *j);
void json_reset(struct json *j);
void json_free(struct json *j);

void json_obj_begin(struct json *j);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j);
void json_arr_end(struct json *j);
void json_key(struct json *j, const char *key);
void json_str(struct json *j, const char *s);
void json_strn(struct json *j, const char *s, size_t n);
void json_int(struct json *j, int64_t v);
void json_uint(struct json *j, uint64_t v);
void json_double(struct json *j, double v, int decimals);
void json_bool(struct json *j, int v);
void json_null(struct json *j);
/* RFC 3339 UTC with microseconds: 2026-11-22T10:00:00.123456Z */
void json_time(struct json *j, const struct timeval *tv);
/* Capture time in seconds (double) to a timeval, rounded to the nearest
 * microsecond: every event writes the same instant the same way. */
struct timeval json_timeval_of(double t);
void json_end_line(struct json *j);

/* key + value shorthands */
void json_kv_str(struct json *j, const char *k, const char *v);
void json_kv_int(struct json *j, const char *k, int64_t v);
void json_kv_uint(struct json *j, const char *k, uint64_t v);
void json_kv_bool(struct json *j, const char *k, int v);

/* Formats a timestamp into buf (>= 32 bytes). */
void format_time_rfc3339(const struct timeval *tv, char *buf, size_t len);

#endif
