/* Lookup tables for TLS code points. The tables are const arrays built from
 * the .def files; ciphers are sorted by code (generated in order), so they
 * are binary-searched, the short tables are scanned. */
#include "tls_names.h"

#include <stdio.h>
#include <string.h>

static const tls_cipher_info ciphers[] = {
#define TLS_CIPHER(code, name, kx, au, enc, bits, mac, exp) \
    { code, name, TLS_##kx, TLS_##au, TLS_##enc, bits, TLS_##mac, exp },
#include "ciphers.def"
#undef TLS_CIPHER
};

typedef struct named { uint16_t code; const char *name; } named;

static const named extensions[] = {
#define TLS_EXT(code, name) { code, name },
#include "extensions.def"
#undef TLS_EXT
};
static const named groups[] = {
#define TLS_GROUP(code, name) { code, name },
#include "groups.def"
#undef TLS_GROUP
};
static const named sigschemes[] = {
#define TLS_SIGSCHEME(code, name) { code, name },
#include "sigschemes.def"
#undef TLS_SIGSCHEME
};
static const named versions[] = {
#define TLS_VERSION(code, name) { code, name },
#include "versions.def"
#undef TLS_VERSION
};
static const named hs_types[] = {
#define TLS_HS(code, id, name) { code, name },
#include "handshake_types.def"
#undef TLS_HS
};

typedef struct alert_row { uint8_t code; const char *name, *meaning; } alert_row;
static const alert_row alerts[] = {
#define TLS_ALERT(code, id, name, meaning) { code, name, meaning },
#include "alerts.def"
#undef TLS_ALERT
};

static const char *const anomaly_names[] = {
#define ANOMALY(id, name, meaning) name,
#include "anomaly.def"
#undef ANOMALY
};
static const char *const anomaly_meanings[] = {
#define ANOMALY(id, name, meaning) meaning,
#include "anomaly.def"
#undef ANOMALY
};

_Static_assert(TLS_ANOM_COUNT <= 64, "anomaly bitmask is 64 bits");

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *scan(const named *t, size_t n, uint16_t code)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].code == code) return t[i].name;
    return NULL;
}

const tls_cipher_info *tls_names_cipher_info(uint16_t code)
{
    size_t lo = 0, hi = COUNT(ciphers);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ciphers[mid].code == code) return &ciphers[mid];
        if (ciphers[mid].code < code) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

const char *tls_names_cipher(uint16_t code)
{
    const tls_cipher_info *c = tls_names_cipher_info(code);
    return c ? c->name : NULL;
}

unsigned tls_names_cipher_weakness(uint16_t code)
{
    const tls_cipher_info *c = tls_names_cipher_info(code);
    if (!c) return TLS_WEAK_UNKNOWN;
    unsigned w = 0;
    if (c->enc == TLS_ENC_NULL && c->kx != TLS_KX_SCSV) w |= TLS_WEAK_NULL;
    if (c->is_export) w |= TLS_WEAK_EXPORT;
    if (c->auth == TLS_AU_ANON || c->kx == TLS_KX_DH_ANON || c->kx == TLS_KX_ECDH_ANON) w |= TLS_WEAK_ANON;
    if (c->enc == TLS_ENC_RC4) w |= TLS_WEAK_RC4;
    if (c->enc == TLS_ENC_DES || c->enc == TLS_ENC_RC2) w |= TLS_WEAK_DES;
    if (c->enc == TLS_ENC_3DES) w |= TLS_WEAK_3DES;
    if (c->kx == TLS_KX_RSA || c->kx == TLS_KX_RSA_PSK) w |= TLS_WEAK_RSA_KX;
    if (c->enc == TLS_ENC_AES_CBC || c->enc == TLS_ENC_CAMELLIA_CBC || c->enc == TLS_ENC_ARIA_CBC ||
        c->enc == TLS_ENC_SEED_CBC || c->enc == TLS_ENC_SM4_CBC || c->enc == TLS_ENC_IDEA)
        w |= TLS_WEAK_CBC;
    if (c->mac == TLS_MAC_MD5) w |= TLS_WEAK_MD5;
    return w;
}

const char *tls_names_kx(uint8_t kx)
{
    static const char *const n[] = { "OTHER", "NULL", "RSA", "DH", "DHE", "DH_anon", "ECDH", "ECDHE",
                                     "ECDH_anon", "PSK", "DHE_PSK", "RSA_PSK", "ECDHE_PSK", "KRB5",
                                     "SRP", "TLS13", "ECCPWD", "GOST", "SCSV" };
    return kx < COUNT(n) ? n[kx] : NULL;
}

const char *tls_names_enc(uint8_t enc)
{
    static const char *const n[] = { "OTHER", "NULL", "RC4", "RC2", "DES", "3DES", "IDEA", "AES-CBC",
                                     "AES-GCM", "AES-CCM", "CAMELLIA-CBC", "CAMELLIA-GCM", "ARIA-CBC",
                                     "ARIA-GCM", "SEED-CBC", "CHACHA20-POLY1305", "SM4-GCM", "SM4-CCM",
                                     "SM4-CBC", "GOST" };
    return enc < COUNT(n) ? n[enc] : NULL;
}

const char *tls_names_extension(uint16_t code) { return scan(extensions, COUNT(extensions), code); }
const char *tls_names_group(uint16_t code) { return scan(groups, COUNT(groups), code); }
const char *tls_names_sigscheme(uint16_t code) { return scan(sigschemes, COUNT(sigschemes), code); }
const char *tls_names_version(uint16_t code) { return scan(versions, COUNT(versions), code); }
const char *tls_names_handshake_type(uint8_t t) { return scan(hs_types, COUNT(hs_types), t); }

const char *tls_names_alert(uint8_t code)
{
    for (size_t i = 0; i < COUNT(alerts); i++)
        if (alerts[i].code == code) return alerts[i].name;
    return NULL;
}

const char *tls_names_alert_meaning(uint8_t code)
{
    for (size_t i = 0; i < COUNT(alerts); i++)
        if (alerts[i].code == code) return alerts[i].meaning;
    return NULL;
}

const char *tls_names_alert_level(uint8_t level)
{
    return level == 1 ? "warning" : level == 2 ? "fatal" : NULL;
}

const char *tls_names_content_type(uint8_t type)
{
    switch (type) {
    case 20: return "change_cipher_spec";
    case 21: return "alert";
    case 22: return "handshake";
    case 23: return "application_data";
    case 24: return "heartbeat";
    case 25: return "tls12_cid";
    case 26: return "ack";
    default: return NULL;
    }
}

const char *tls_names_anomaly(enum tls_anomaly a)
{
    return (unsigned)a < TLS_ANOM_COUNT ? anomaly_names[a] : NULL;
}

const char *tls_names_anomaly_meaning(enum tls_anomaly a)
{
    return (unsigned)a < TLS_ANOM_COUNT ? anomaly_meanings[a] : NULL;
}

int tls_names_anomaly_lookup(const char *name)
{
    for (int i = 0; i < TLS_ANOM_COUNT; i++)
        if (strcmp(anomaly_names[i], name) == 0) return i;
    return -1;
}

bool tls_names_is_grease(uint16_t v)
{
    return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

bool tls_names_version_is_tls13(uint16_t v)
{
    return v == 0x0304 || (v & 0xff00) == 0x7f00 || (v >= 0x7e01 && v <= 0x7e04) ||
           (v & 0xff00) == 0xfb00;
}

const char *tls_names_fmt(const char *name, uint16_t code, char *buf, size_t buflen)
{
    if (name) return name;
    if (!buf || buflen == 0) return "unknown";
    snprintf(buf, buflen, "%s_0x%04x", tls_names_is_grease(code) ? "grease" : "unknown", code);
    return buf;
}

const char *tls_names_anomalies(tls_anomalies mask, const char *sep, char *buf, size_t buflen)
{
    if (!buf || buflen == 0) return "";
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < TLS_ANOM_COUNT; i++) {
        if (!(mask & ((tls_anomalies)1 << i))) continue;
        int w = snprintf(buf + used, buflen - used, "%s%s", used ? sep : "", anomaly_names[i]);
        if (w < 0 || (size_t)w >= buflen - used) break;
        used += (size_t)w;
    }
    return buf;
}
