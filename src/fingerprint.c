/* JA3, JA3S and JA4 strings and hashes from a hello's raw inputs.
 *
 * JA3 = MD5 of "SSLVersion,Ciphers,Extensions,EllipticCurves,
 * EllipticCurvePointFormats": decimal codes, '-' joined, in wire order,
 * GREASE values (RFC 8701: 0x0a0a, 0x1a1a, ... 0xfafa) left out of the
 * ciphers, extensions and groups; the version is the ClientHello's
 * legacy_version; every other extension (padding included) counts. JA3S =
 * MD5 of "SSLVersion,Cipher,Extensions" of the ServerHello. This is what
 * Wireshark computes for tls.handshake.ja3 / ja3s (packet-tls-utils.c)
 * and the Salesforce reference does.
 *
 * JA4 (technical_details/JA4.md and the Rust implementation of
 * FoxIO-LLC/ja4): "t" + version ("13", "12", "11", "10", "s3", "s2", else
 * "00": the highest non-GREASE supported_versions value when that
 * extension is there, else legacy_version) + "d"/"i" (server_name
 * extension present or not) + cipher and extension counts without GREASE
 * (two digits, capped at 99; SNI and ALPN counted) + the first and last
 * character of the first ALPN value ("00" without one; the first and last
 * hex digits of the value when either end byte is not [0-9A-Za-z]) + "_" +
 * SHA-256[:12] of the sorted 4-hex ciphers, comma joined + "_" +
 * SHA-256[:12] of the sorted 4-hex extensions without SNI (0000) and ALPN
 * (0010), then "_" and the signature algorithms in wire order when there
 * are any. An empty list hashes to "000000000000". GREASE is left out
 * everywhere. ja4_r is the same string before hashing. */
#include "fingerprint.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"

bool fp_is_grease(uint16_t v) { return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff); }

/* A bounded appender: once full it stays full (the caller checks ok). */
struct sb {
    char *p;
    size_t n, cap;
    bool ok;
};

/* v in decimal (hex4: as at least 4 lower-case hex digits), as "%u" and
 * "%04x" print it: written here rather than with snprintf, which was 8% of
 * the instructions of a run writing the fingerprints of its handshakes */
static void sb_num(struct sb *b, unsigned v, bool hex4)
{
    static const char hx[] = "0123456789abcdef";
    if (!b->ok) return;
    char t[16]; /* reversed digits: 10 decimal or 8 hex at most */
    size_t k = 0;
    do {
        t[k++] = hex4 ? hx[v & 15] : (char)('0' + v % 10);
        v = hex4 ? v >> 4 : v / 10;
    } while (v);
    while (hex4 && k < 4) t[k++] = '0';
    if (k >= b->cap - b->n) {
        b->ok = false;
        return;
    }
    for (size_t i = 0; i < k; i++) b->p[b->n + i] = t[k - 1 - i];
    b->n += k;
    b->p[b->n] = '\0';
}

static void sb_ch(struct sb *b, char c)
{
    if (!b->ok) return;
    if (b->n + 1 >= b->cap) {
        b->ok = false;
        return;
    }
    b->p[b->n++] = c;
    b->p[b->n] = '\0';
}

/* v[0..n) without GREASE, decimal, '-' joined */
static void dec_list(struct sb *b, const uint16_t *v, size_t n)
{
    const char *sep = "";
    for (size_t i = 0; i < n; i++) {
        if (fp_is_grease(v[i])) continue;
        if (*sep) sb_ch(b, *sep);
        sb_num(b, v[i], false);
        sep = "-";
    }
}

const char *fp_ja3_string(const struct fp_client *c, char *buf, size_t cap)
{
    struct sb b = { buf, 0, cap, cap > 0 };
    if (b.ok) buf[0] = '\0';
    sb_num(&b, c->version, false);
    sb_ch(&b, ',');
    dec_list(&b, c->ciphers, c->nciphers);
    sb_ch(&b, ',');
    dec_list(&b, c->exts, c->nexts);
    sb_ch(&b, ',');
    dec_list(&b, c->groups, c->ngroups);
    sb_ch(&b, ',');
    for (size_t i = 0; i < c->nec_point_formats; i++) {
        if (i) sb_ch(&b, '-');
        sb_num(&b, c->ec_point_formats[i], false);
    }
    return b.ok ? buf : NULL;
}

const char *fp_ja3s_string(const struct fp_server *s, char *buf, size_t cap)
{
    struct sb b = { buf, 0, cap, cap > 0 };
    if (b.ok) buf[0] = '\0';
    sb_num(&b, s->version, false);
    sb_ch(&b, ',');
    sb_num(&b, s->cipher, false);
    sb_ch(&b, ',');
    dec_list(&b, s->exts, s->nexts);
    return b.ok ? buf : NULL;
}

static void hex_digest(const EVP_MD *md, const char *s, size_t n, char *out, size_t digits)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    static const char hx[] = "0123456789abcdef";
    if (!EVP_Digest(s, n, d, &dl, md, NULL)) dl = 0;
    size_t k = 0;
    for (unsigned i = 0; i < dl && k + 2 <= digits; i++) {
        out[k++] = hx[d[i] >> 4];
        out[k++] = hx[d[i] & 15];
    }
    while (k < digits) out[k++] = '0'; /* a digest that failed: never a plausible hash */
    out[k] = '\0';
}

void fp_md5_hex(const char *s, size_t n, char out[33]) { hex_digest(digest_md5(), s, n, out, 32); }

/* JA4's hash of a list: SHA-256, 12 hex digits; "000000000000" when empty */
static void hash12(const char *s, size_t n, char out[13])
{
    if (n == 0) {
        memcpy(out, "000000000000", 13);
        return;
    }
    hex_digest(digest_sha256(), s, n, out, 12);
}

static int cmp_u16(const void *a, const void *b)
{
    uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
    return (x > y) - (x < y);
}

/* v without GREASE (and without skip0/skip16 when drop_sni_alpn), sorted
 * when sort, as 4-hex comma joined into b; returns the count kept */
static size_t hex_list(struct sb *b, const uint16_t *v, size_t n, bool sort, bool drop_sni_alpn)
{
    uint16_t tmp[256];
    size_t k = 0;
    for (size_t i = 0; i < n && k < sizeof tmp / sizeof tmp[0]; i++) {
        if (fp_is_grease(v[i])) continue;
        if (drop_sni_alpn && (v[i] == 0x0000 || v[i] == 0x0010)) continue;
        tmp[k++] = v[i];
    }
    if (sort) qsort(tmp, k, sizeof tmp[0], cmp_u16);
    for (size_t i = 0; i < k; i++) {
        if (i) sb_ch(b, ',');
        sb_num(b, tmp[i], true);
    }
    return k;
}

static size_t count_non_grease(const uint16_t *v, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += !fp_is_grease(v[i]);
    return k;
}

static const char *ja4_version(const struct fp_client *c)
{
    uint16_t v = c->version;
    bool has_sv = false;
    for (size_t i = 0; i < c->nexts; i++)
        if (c->exts[i] == 43) has_sv = true;
    if (has_sv) {
        v = 0;
        for (size_t i = 0; i < c->nversions; i++)
            if (!fp_is_grease(c->versions[i]) && c->versions[i] > v) v = c->versions[i];
    }
    switch (v) {
    case 0x0304: return "13";
    case 0x0303: return "12";
    case 0x0302: return "11";
    case 0x0301: return "10";
    case 0x0300: return "s3";
    case 0x0002: return "s2";
    case 0xfeff: return "d1";
    case 0xfefd: return "d2";
    case 0xfefc: return "d3";
    }
    return "00";
}

static bool alnum(uint8_t ch) { return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z'); }

static void ja4_alpn(const struct fp_client *c, char out[3])
{
    static const char hx[] = "0123456789abcdef";
    if (c->alpn0_len == 0) {
        memcpy(out, "00", 3);
    } else if (alnum(c->alpn0_first) && alnum(c->alpn0_last)) {
        out[0] = (char)c->alpn0_first;
        out[1] = (char)c->alpn0_last;
        out[2] = '\0';
    } else { /* first and last digits of the value in hex */
        out[0] = hx[c->alpn0_first >> 4];
        out[1] = hx[c->alpn0_last & 15];
        out[2] = '\0';
    }
}

const char *fp_ja4(const struct fp_client *c, bool raw, char *buf, size_t cap)
{
    bool sni = false;
    for (size_t i = 0; i < c->nexts; i++)
        if (c->exts[i] == 0x0000) sni = true;
    size_t nc = count_non_grease(c->ciphers, c->nciphers), ne = count_non_grease(c->exts, c->nexts);
    char alpn[3];
    ja4_alpn(c, alpn);
    char a[16];
    snprintf(a, sizeof a, "t%s%c%02u%02u%s", ja4_version(c), sni ? 'd' : 'i', (unsigned)(nc > 99 ? 99 : nc),
             (unsigned)(ne > 99 ? 99 : ne), alpn);
    /* the two lists before hashing */
    char lb[1400], lc[2800];
    struct sb b = { lb, 0, sizeof lb, true }, cc = { lc, 0, sizeof lc, true };
    lb[0] = lc[0] = '\0';
    hex_list(&b, c->ciphers, c->nciphers, true, false);
    hex_list(&cc, c->exts, c->nexts, true, true);
    if (count_non_grease(c->sig_algs, c->nsig_algs)) {
        sb_ch(&cc, '_');
        hex_list(&cc, c->sig_algs, c->nsig_algs, false, false);
    }
    if (!b.ok || !cc.ok) return NULL;
    int k;
    if (raw) {
        k = snprintf(buf, cap, "%s_%s_%s", a, lb, lc);
    } else {
        char hb[13], hc[13];
        hash12(lb, b.n, hb);
        hash12(lc, cc.n, hc);
        k = snprintf(buf, cap, "%s_%s_%s", a, hb, hc);
    }
    return k < 0 || (size_t)k >= cap ? NULL : buf;
}

/* parse failures and malformed lists: the lists may be partial */
static const tls_anomalies fp_bad = TLS_ANOM_BIT(HANDSHAKE_TRUNCATED) | TLS_ANOM_BIT(EXTENSION_MALFORMED) |
                                    TLS_ANOM_BIT(ODD_LIST_LENGTH);

void fp_client_from_hello(struct fp_client *c, const tls_client_hello *ch, bool sslv2)
{
    const tls_exts *e = &ch->ext;
    memset(c, 0, sizeof *c);
    c->version = ch->legacy_version;
    c->ciphers = ch->ciphers.v;
    c->nciphers = ch->ciphers.n;
    c->exts = e->types.v;
    c->nexts = e->types.n;
    c->groups = e->groups.v;
    c->ngroups = e->groups.n;
    c->sig_algs = e->sig_algs.v;
    c->nsig_algs = e->sig_algs.n;
    c->versions = e->versions.v;
    c->nversions = e->versions.n;
    c->ec_point_formats = e->ec_point_formats;
    c->nec_point_formats = e->ec_point_formats_n;
    c->alpn0_len = e->alpn0_len;
    c->alpn0_first = e->alpn0_first;
    c->alpn0_last = e->alpn0_last;
    c->complete = !sslv2 && !ch->sslv2 && !(ch->anomalies & fp_bad) && !ch->ciphers.truncated &&
                  !e->types.truncated && !e->groups.truncated && !e->sig_algs.truncated && !e->versions.truncated &&
                  !e->ec_point_formats_truncated;
}

void fp_server_from(struct fp_server *s, uint16_t legacy_version, uint16_t cipher, const tls_u16_list *types,
                    tls_anomalies anomalies)
{
    memset(s, 0, sizeof *s);
    s->version = legacy_version;
    s->cipher = cipher;
    s->exts = types->v;
    s->nexts = types->n;
    /* JA3S reads only the extension types, which a malformed body does not
     * change: a ServerHello must just have parsed to its end */
    s->complete = legacy_version != 0x0002 && !(anomalies & TLS_ANOM_BIT(HANDSHAKE_TRUNCATED)) && !types->truncated;
}

void fp_server_from_hello(struct fp_server *s, const tls_server_hello *sh)
{
    fp_server_from(s, sh->legacy_version, sh->cipher, &sh->ext.types, sh->anomalies);
}

const char *fp_format(int k, const struct fp_hellos *h, char *buf, size_t cap)
{
    if (!h) return NULL;
    bool client = k == FP_JA3 || k == FP_JA3_STRING || k == FP_JA4 || k == FP_JA4_R;
    if (client ? !h->have_c || !h->c.complete : !h->have_s || !h->s.complete) return NULL;
    char tmp[FP_STR_MAX];
    const char *s;
    switch (k) {
    case FP_JA3_STRING: return fp_ja3_string(&h->c, buf, cap);
    case FP_JA3S_STRING: return fp_ja3s_string(&h->s, buf, cap);
    case FP_JA3:
    case FP_JA3S:
        s = k == FP_JA3 ? fp_ja3_string(&h->c, tmp, sizeof tmp) : fp_ja3s_string(&h->s, tmp, sizeof tmp);
        if (!s || cap < 33) return NULL;
        fp_md5_hex(s, strlen(s), buf);
        return buf;
    case FP_JA4: return fp_ja4(&h->c, false, buf, cap);
    case FP_JA4_R: return fp_ja4(&h->c, true, buf, cap);
    }
    return NULL;
}
