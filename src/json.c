/* JSON writer: see json.h. */
#include "json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void json_init(struct json *j) { memset(j, 0, sizeof *j); }

void json_reset(struct json *j)
{
    j->len = 0;
    j->depth = 0;
    j->after_key = 0;
    j->oom = 0;
    if (j->buf) j->buf[0] = '\0';
}

void json_free(struct json *j)
{
    free(j->buf);
    memset(j, 0, sizeof *j);
}

/* Room for n more bytes and the terminating NUL. 0: out of memory (oom set). */
static int grow(struct json *j, size_t n)
{
    if (j->oom) return 0;
    size_t ncap = j->cap ? j->cap : 512;
    while (ncap < j->len + n + 1) ncap *= 2;
    char *nb = realloc(j->buf, ncap);
    if (!nb) {
        j->oom = 1;
        return 0;
    }
    j->buf = nb;
    j->cap = ncap;
    return 1;
}

static inline int room(struct json *j, size_t n) { return j->len + n + 1 <= j->cap || grow(j, n); }

static void put(struct json *j, const char *s, size_t n)
{
    if (!room(j, n)) return;
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = '\0';
}

static inline void putc_(struct json *j, char c)
{
    if (!room(j, 1)) return;
    j->buf[j->len++] = c;
    j->buf[j->len] = '\0';
}

/* Comma before a value or key, unless first in its container or after a key. */
static void sep(struct json *j)
{
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (j->depth > 0) {
        if (!j->first[j->depth - 1]) putc_(j, ',');
        j->first[j->depth - 1] = 0;
    }
}

static void open_(struct json *j, char c)
{
    sep(j);
    putc_(j, c);
    if (j->depth < JSON_MAX_DEPTH) j->first[j->depth] = 1;
    j->depth++;
}

static void close_(struct json *j, char c)
{
    if (j->depth > 0) j->depth--;
    putc_(j, c);
}

void json_obj_begin(struct json *j) { open_(j, '{'); }
void json_obj_end(struct json *j) { close_(j, '}'); }
void json_arr_begin(struct json *j) { open_(j, '['); }
void json_arr_end(struct json *j) { close_(j, ']'); }

/* Bytes written as they are inside a string: printable ASCII but '"' and '\\'. */
static const unsigned char plain_tab[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
static inline int plain(unsigned char c) { return plain_tab[c]; }

/* "s" (n bytes that need no escaping) in one copy, then `after` if not 0. */
static void quoted(struct json *j, const char *s, size_t n, char after)
{
    size_t w = n + 2 + (after != 0);
    if (!room(j, w)) return;
    char *o = j->buf + j->len;
    o[0] = '"';
    memcpy(o + 1, s, n);
    o[n + 1] = '"';
    if (after) o[n + 2] = after;
    o[w] = '\0';
    j->len += w;
}

static void escaped(struct json *j, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    /* the common case, a string with nothing to escape: one copy with its quotes */
    size_t i = 0;
    while (i < n && plain(p[i])) i++;
    if (i == n) {
        quoted(j, s, n, 0);
        return;
    }
    putc_(j, '"');
    put(j, s, i); /* the plain bytes before the first one that is not */
    while (i < n) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            putc_(j, '\\');
            putc_(j, (char)c);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            char e[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };
            put(j, e, 6);
            i++;
        } else if (c < 0x80) {
            /* a run of characters that need no escaping, in one copy */
            size_t e = i + 1;
            while (e < n && plain(p[e])) e++;
            put(j, s + i, e - i);
            i = e;
        } else {
            /* pass valid UTF-8 sequences, escape stray bytes */
            size_t need = (c >= 0xf0 && c < 0xf5) ? 4 : (c >= 0xe0) ? 3 : (c >= 0xc2 && c < 0xe0) ? 2 : 0;
            int ok = need > 0 && i + need <= n && c < 0xf5;
            for (size_t k = 1; ok && k < need; k++) ok = (p[i + k] & 0xc0) == 0x80;
            if (ok) {
                put(j, s + i, need);
                i += need;
            } else {
                char e[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };
                put(j, e, 6);
                i++;
            }
        }
    }
    putc_(j, '"');
}

void json_key(struct json *j, const char *key)
{
    sep(j);
    /* keys are the schema's identifiers: "key": written in one go when
     * nothing in them needs escaping (always, in practice) */
    size_t n = 0;
    while (plain((unsigned char)key[n])) n++;
    if (!key[n]) {
        j->after_key = 1;
        quoted(j, key, n, ':');
        return;
    }
    escaped(j, key, strlen(key));
    putc_(j, ':');
    j->after_key = 1;
}

/* Decimal digits of v, right-aligned at end (no snprintf: every number of
 * every event goes through here). Returns the start. */
static char *udec(char *end, uint64_t v)
{
    char *p = end;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return p;
}

void json_strn(struct json *j, const char *s, size_t n)
{
    sep(j);
    escaped(j, s, n);
}

void json_str(struct json *j, const char *s)
{
    if (!s) {
        json_null(j);
        return;
    }
    sep(j);
    /* one pass for the common case: plain bytes up to the NUL (which is
     * not plain), then the string in one copy with its quotes */
    size_t n = 0;
    while (plain((unsigned char)s[n])) n++;
    if (!s[n])
        quoted(j, s, n, 0);
    else
        escaped(j, s, n + strlen(s + n));
}

void json_int(struct json *j, int64_t v)
{
    char b[32];
    char *e = b + sizeof b;
    char *p = udec(e, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
    if (v < 0) *--p = '-';
    sep(j);
    put(j, p, (size_t)(e - p));
}

void json_uint(struct json *j, uint64_t v)
{
    char b[32];
    char *e = b + sizeof b;
    char *p = udec(e, v);
    sep(j);
    put(j, p, (size_t)(e - p));
}

void json_double(struct json *j, double v, int decimals)
{
    char b[64];
    int n = snprintf(b, sizeof b, "%.*f", decimals, v);
    sep(j);
    if (n <= 0 || (size_t)n >= sizeof b) put(j, "null", 4);
    else put(j, b, (size_t)n);
}

void json_bool(struct json *j, int v)
{
    sep(j);
    if (v) put(j, "true", 4);
    else put(j, "false", 5);
}

void json_null(struct json *j)
{
    sep(j);
    put(j, "null", 4);
}

static void two(char *o, int v)
{
    o[0] = (char)('0' + v / 10);
    o[1] = (char)('0' + v % 10);
}

/* Every event has its timestamp formatted (two per handshake with a
 * finding): gmtime_r, strftime and snprintf took about 1 us each time.
 * The seconds part is kept for the last second seen (events come in
 * capture order) and built with gmtime_r and digits otherwise; years
 * outside 0-9999 take the old path. */
void format_time_rfc3339(const struct timeval *tv, char *buf, size_t len)
{
    static _Thread_local time_t last = (time_t)-1;
    static _Thread_local char base[20]; /* YYYY-MM-DDTHH:MM:SS */
    static _Thread_local int have;
    time_t t = tv->tv_sec;
    long us = (long)tv->tv_usec;
    if (!have || t != last) {
        struct tm tm;
        if (!gmtime_r(&t, &tm)) {
            snprintf(buf, len, "invalid-time");
            return;
        }
        int y = tm.tm_year + 1900;
        if (y < 0 || y > 9999) {
            char b[32];
            strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
            snprintf(buf, len, "%s.%06ldZ", b, us);
            return;
        }
        two(base, y / 100);
        two(base + 2, y % 100);
        base[4] = '-';
        two(base + 5, tm.tm_mon + 1);
        base[7] = '-';
        two(base + 8, tm.tm_mday);
        base[10] = 'T';
        two(base + 11, tm.tm_hour);
        base[13] = ':';
        two(base + 14, tm.tm_min);
        base[16] = ':';
        two(base + 17, tm.tm_sec);
        last = t;
        have = 1;
    }
    if (us < 0 || us > 999999 || len < 28) { /* as snprintf would write it */
        snprintf(buf, len, "%.19s.%06ldZ", base, us);
        return;
    }
    memcpy(buf, base, 19);
    buf[19] = '.';
    for (int i = 25; i >= 20; i--) {
        buf[i] = (char)('0' + us % 10);
        us /= 10;
    }
    buf[26] = 'Z';
    buf[27] = '\0';
}

struct timeval json_timeval_of(double t)
{
    struct timeval tv = { (time_t)t, (suseconds_t)((t - (double)(time_t)t) * 1e6 + 0.5) };
    if (tv.tv_usec >= 1000000) {
        tv.tv_sec++;
        tv.tv_usec -= 1000000;
    }
    return tv;
}

void json_time(struct json *j, const struct timeval *tv)
{
    char b[48];
    format_time_rfc3339(tv, b, sizeof b);
    json_str(j, b);
}

void json_end_line(struct json *j) { putc_(j, '\n'); }

void json_kv_str(struct json *j, const char *k, const char *v) { json_key(j, k); json_str(j, v); }
void json_kv_int(struct json *j, const char *k, int64_t v) { json_key(j, k); json_int(j, v); }
void json_kv_uint(struct json *j, const char *k, uint64_t v) { json_key(j, k); json_uint(j, v); }
void json_kv_bool(struct json *j, const char *k, int v) { json_key(j, k); json_bool(j, v); }
