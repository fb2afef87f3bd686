/* --suppress FILE: suppression and allowlist entries (suppress.h). */
#include "suppress.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "uthash_keyed.h"

#define SUPPRESS_MAX_WINDOWS 100000 /* (rule, server, SNI) keys remembered for for= */

struct window {
    UT_hash_handle hh;
    double until;
    char key[]; /* "entry|rule|server|port|sni" */
};

struct entry {
    char *rule;            /* NULL: every rule */
    int has_server, has_port, has_client, client_bits;
    struct facts_ip server, client;
    int port;
    char *sni;             /* glob, case-insensitive */
    char cert[65];         /* upper-case hex SHA-256 of the leaf, "" if none */
    double until;          /* epoch seconds, 0: no expiry */
    double for_s;          /* 0: always drop */
    char *reason;
    unsigned line;
    uint64_t dropped;
};

struct suppress {
    struct entry *e;
    size_t n;
    uint64_t dropped;
    struct window *wins;
    size_t nwins;
};

static int parse_ip(const char *s, struct facts_ip *ip)
{
    memset(ip, 0, sizeof *ip);
    if (inet_pton(AF_INET, s, ip->a) == 1) {
        ip->family = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, s, ip->a) == 1) {
        ip->family = 6;
        return 0;
    }
    return -1;
}

/* server=IP, IP:PORT, [IPv6]:PORT or IPv6 */
static int parse_server(struct entry *e, const char *v)
{
    char buf[128];
    if (strlen(v) >= sizeof buf) return -1;
    snprintf(buf, sizeof buf, "%s", v);
    char *port = NULL;
    if (buf[0] == '[') {
        char *rb = strchr(buf, ']');
        if (!rb) return -1;
        *rb = '\0';
        if (rb[1] == ':') port = rb + 2;
        else if (rb[1]) return -1;
        memmove(buf, buf + 1, strlen(buf + 1) + 1);
    } else if (strchr(buf, ':') == strrchr(buf, ':') && strchr(buf, ':')) {
        port = strchr(buf, ':');
        *port++ = '\0';
    }
    if (parse_ip(buf, &e->server) != 0) return -1;
    e->has_server = 1;
    if (port) {
        char *end;
        long p = strtol(port, &end, 10);
        if (*end || p < 1 || p > 65535) return -1;
        e->port = (int)p;
        e->has_port = 1;
    }
    return 0;
}

static int parse_client(struct entry *e, const char *v)
{
    char buf[128];
    if (strlen(v) >= sizeof buf) return -1;
    snprintf(buf, sizeof buf, "%s", v);
    char *slash = strchr(buf, '/');
    if (slash) *slash++ = '\0';
    if (parse_ip(buf, &e->client) != 0) return -1;
    int max = e->client.family == 4 ? 32 : 128;
    e->client_bits = max;
    if (slash) {
        char *end;
        long b = strtol(slash, &end, 10);
        if (*end || b < 0 || b > max) return -1;
        e->client_bits = (int)b;
    }
    e->has_client = 1;
    return 0;
}

static int parse_duration(const char *v, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || d <= 0) return -1;
    double mul = 1;
    if (*end == 's' && !end[1]) mul = 1;
    else if (*end == 'm' && !end[1]) mul = 60;
    else if (*end == 'h' && !end[1]) mul = 3600;
    else if (*end == 'd' && !end[1]) mul = 86400;
    else if (*end) return -1;
    *out = d * mul;
    return 0;
}

/* YYYY-MM-DD (through the end of that day, UTC) or YYYY-MM-DDTHH:MM:SSZ */
static int parse_until(const char *v, double *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int n = 0;
    if (sscanf(v, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3) return -1;
    double extra = 0;
    if (!v[n]) {
        extra = 86400;
    } else {
        int m = 0;
        if (sscanf(v + n, "T%2d:%2d:%2dZ%n", &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &m) != 3 || v[n + m]) return -1;
    }
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
        tm.tm_sec > 60)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = (double)timegm(&tm) + extra;
    return 0;
}

static int parse_cert(struct entry *e, const char *v)
{
    if (strncasecmp(v, "sha256:", 7) == 0) v += 7;
    size_t k = 0;
    for (; v[k]; k++) {
        if (k >= 64 || !isxdigit((unsigned char)v[k])) return -1;
        e->cert[k] = (char)toupper((unsigned char)v[k]);
    }
    if (k != 64) return -1;
    e->cert[64] = '\0';
    return 0;
}

/* Splits the next key=value (value optionally "quoted"); 0 at the end. */
static int next_kv(char **p, char **k, char **v)
{
    char *s = *p;
    while (*s == ' ' || *s == '\t') s++;
    if (!*s || *s == '#') return 0;
    *k = s;
    while (*s && *s != '=' && *s != ' ' && *s != '\t') s++;
    if (*s != '=') return -1;
    *s++ = '\0';
    if (*s == '"') {
        *v = ++s;
        while (*s && *s != '"') s++;
        if (*s != '"') return -1;
        *s++ = '\0';
    } else {
        *v = s;
        while (*s && *s != ' ' && *s != '\t') s++;
        if (*s) *s++ = '\0';
    }
    *p = s;
    return 1;
}

static void entry_free(struct entry *e)
{
    free(e->rule);
    free(e->sni);
    free(e->reason);
}

static const char *parse_line(struct entry *e, char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    if (strncmp(s, "suppress", 8) != 0 || (s[8] != ' ' && s[8] != '\t')) return "expected 'suppress key=value ...'";
    s += 8;
    char *k, *v;
    int r, has_rule = 0;
    while ((r = next_kv(&s, &k, &v)) > 0) {
        if (strcmp(k, "rule") == 0) {
            if (!*v) return "rule= needs a rule id or *";
            if (strcmp(v, "*") != 0) e->rule = strdup(v);
            has_rule = 1;
        } else if (strcmp(k, "server") == 0) {
            if (parse_server(e, v) != 0) return "server= wants IP, IP:PORT or [IPv6]:PORT";
        } else if (strcmp(k, "client") == 0) {
            if (parse_client(e, v) != 0) return "client= wants IP or IP/BITS";
        } else if (strcmp(k, "sni") == 0) {
            if (!*v) return "sni= needs a name or glob";
            e->sni = strdup(v);
        } else if (strcmp(k, "cert") == 0) {
            if (parse_cert(e, v) != 0) return "cert= wants the leaf certificate's SHA-256 (64 hex digits)";
        } else if (strcmp(k, "until") == 0) {
            if (parse_until(v, &e->until) != 0) return "until= wants YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ";
        } else if (strcmp(k, "for") == 0) {
            if (parse_duration(v, &e->for_s) != 0) return "for= wants a duration (30s, 10m, 2h, 1d)";
        } else if (strcmp(k, "reason") == 0) {
            free(e->reason);
            e->reason = strdup(v);
        } else {
            return "unknown key (rule, server, client, sni, cert, until, for, reason)";
        }
    }
    if (r < 0) return "expected key=value (a quoted value needs its closing quote)";
    if (!has_rule) return "rule= is required (a rule id, or * for every rule)";
    if (!e->reason || !*e->reason) return "reason= is required: say why this is suppressed";
    return NULL;
}

struct suppress *suppress_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct suppress *s = calloc(1, sizeof *s);
    if (!s) {
        fclose(f);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    char line[2048];
    unsigned lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t l = strlen(line);
        if (l == sizeof line - 1 && line[l - 1] != '\n') {
            snprintf(err, errlen, "%s:%u: line longer than %zu bytes", path, lineno, sizeof line - 2);
            goto fail;
        }
        line[strcspn(line, "\r\n")] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (!*p || *p == '#') continue;
        struct entry e;
        memset(&e, 0, sizeof e);
        e.line = lineno;
        const char *why = parse_line(&e, p);
        if (why) {
            entry_free(&e);
            snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
            goto fail;
        }
        struct entry *ne = realloc(s->e, (s->n + 1) * sizeof *ne);
        if (!ne) {
            entry_free(&e);
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        s->e = ne;
        s->e[s->n++] = e;
    }
    fclose(f);
    return s;
fail:
    fclose(f);
    suppress_free(s);
    return NULL;
}

void suppress_free(struct suppress *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) entry_free(&s->e[i]);
    free(s->e);
    struct window *w, *tmp;
    HASH_ITER(hh, s->wins, w, tmp) {
        HASH_DEL(s->wins, w);
        free(w);
    }
    free(s);
}

static int ip_in(const struct facts_ip *ip, const struct facts_ip *net, int bits)
{
    if (ip->family != net->family) return 0;
    int full = bits / 8, rest = bits % 8;
    if (memcmp(ip->a, net->a, (size_t)full) != 0) return 0;
    if (!rest) return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (ip->a[full] & mask) == (net->a[full] & mask);
}

static int entry_matches(const struct entry *e, const char *rule, const tls_facts *f, double now)
{
    if (e->until > 0 && now >= e->until) return 0;
    if (e->rule && strcmp(e->rule, rule) != 0) return 0;
    int have_flow = FSTATE(TLS, f, flow) == FACTS_VAL;
    if (e->has_server) {
        if (!have_flow || FSTATE(FLOW, &f->flow, server_ip) != FACTS_VAL) return 0;
        if (!ip_in(&f->flow.server_ip, &e->server, e->server.family == 4 ? 32 : 128)) return 0;
        if (e->has_port && (FSTATE(FLOW, &f->flow, server_port) != FACTS_VAL || f->flow.server_port != e->port))
            return 0;
    }
    if (e->has_client) {
        if (!have_flow || FSTATE(FLOW, &f->flow, client_ip) != FACTS_VAL) return 0;
        if (!ip_in(&f->flow.client_ip, &e->client, e->client_bits)) return 0;
    }
    if (e->sni) {
        if (FSTATE(TLS, f, sni) != FACTS_VAL || !f->sni) return 0;
        if (fnmatch(e->sni, f->sni, FNM_CASEFOLD) != 0) return 0;
    }
    if (e->cert[0]) {
        const struct facts_CERT *c = FSTATE(TLS, f, server_cert) == FACTS_VAL ? f->server_cert : NULL;
        if (!c || FSTATE(CERT, c, sha256) != FACTS_VAL || !c->sha256 || strcasecmp(c->sha256, e->cert) != 0)
            return 0;
    }
    return 1;
}

/* for=: the first finding of each (entry, rule, server, SNI) in a window
 * is reported, the rest of the window dropped. */
static int in_window(struct suppress *s, size_t i, const struct entry *e, const char *rule, const tls_facts *f,
                     double now)
{
    char key[512], ip[64] = "-";
    int have_flow = FSTATE(TLS, f, flow) == FACTS_VAL;
    if (have_flow && FSTATE(FLOW, &f->flow, server_ip) == FACTS_VAL)
        inet_ntop(f->flow.server_ip.family == 4 ? AF_INET : AF_INET6, f->flow.server_ip.a, ip, sizeof ip);
    int n = snprintf(key, sizeof key, "%zu|%s|%s|%lld|%s", i, rule, ip,
                     have_flow && FSTATE(FLOW, &f->flow, server_port) == FACTS_VAL ? (long long)f->flow.server_port : -1LL,
                     FSTATE(TLS, f, sni) == FACTS_VAL && f->sni ? f->sni : "-");
    size_t klen = n < 0 ? 0 : (size_t)n >= sizeof key ? sizeof key - 1 : (size_t)n;
    struct window *w = NULL;
    HASH_FIND(hh, s->wins, key, klen, w);
    if (w && now < w->until) return 1;
    if (!w) {
        if (s->nwins >= SUPPRESS_MAX_WINDOWS) { /* full: forget them all rather than grow */
            struct window *x, *tmp;
            HASH_ITER(hh, s->wins, x, tmp) {
                HASH_DEL(s->wins, x);
                free(x);
            }
            s->nwins = 0;
        }
        w = malloc(sizeof *w + klen + 1);
        if (!w) return 0;
        memcpy(w->key, key, klen);
        w->key[klen] = '\0';
        HASH_ADD_KEYPTR(hh, s->wins, w->key, klen, w);
        s->nwins++;
    }
    w->until = now + e->for_s;
    return 0;
}

int suppress_match(struct suppress *s, const char *rule, const tls_facts *facts, double now)
{
    if (!s) return 0;
    for (size_t i = 0; i < s->n; i++) {
        struct entry *e = &s->e[i];
        if (!entry_matches(e, rule, facts, now)) continue;
        if (e->for_s > 0 && !in_window(s, i, e, rule, facts, now)) return 0;
        e->dropped++;
        s->dropped++;
        return 1;
    }
    return 0;
}

uint64_t suppress_dropped(const struct suppress *s) { return s ? s->dropped : 0; }
size_t suppress_entries(const struct suppress *s) { return s ? s->n : 0; }

int suppress_entry(const struct suppress *s, size_t i, unsigned *line, const char **reason, uint64_t *dropped)
{
    if (!s || i >= s->n) return -1;
    *line = s->e[i].line;
    *reason = s->e[i].reason;
    *dropped = s->e[i].dropped;
    return 0;
}
