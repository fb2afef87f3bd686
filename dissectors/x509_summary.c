/* Certificate summaries. libcrypto parses; this file only flattens the
 * result into fixed strings and numbers. Dates go through ASN1_TIME_to_tm
 * and our own days-from-civil so UTCTime/GeneralizedTime past 2038 work
 * regardless of time_t and the local time zone. */
#include "x509_summary.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

int64_t x509_summary_epoch(int year, int mon, int mday, int hour, int min, int sec)
{
    /* Howard Hinnant's days_from_civil; mon 1..12. */
    int64_t y = (int64_t)year - (mon <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (mon + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + mday - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return days * 86400 + hour * 3600 + min * 60 + sec;
}

static bool asn1_epoch(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return false;
    *out = x509_summary_epoch(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return true;
}

static void name_line(const X509_NAME *n, char *dst, size_t cap)
{
    dst[0] = '\0';
    if (!n) return;
    BIO *b = BIO_new(BIO_s_mem());
    if (!b) return;
    unsigned long fl = XN_FLAG_RFC2253 & ~(unsigned long)ASN1_STRFLGS_ESC_MSB;
    if (X509_NAME_print_ex(b, n, 0, fl) >= 0) {
        int r = BIO_read(b, dst, (int)(cap - 1));
        dst[r > 0 ? r : 0] = '\0';
    }
    BIO_free(b);
}

static void hex(const unsigned char *p, size_t n, char *dst, size_t cap)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < n && o + 2 < cap; i++) {
        dst[o++] = digits[p[i] >> 4];
        dst[o++] = digits[p[i] & 15];
    }
    dst[o] = '\0';
}

static void copy_str(char *dst, size_t cap, const unsigned char *src, int len)
{
    size_t n = len > 0 ? (size_t)len : 0;
    if (n > cap - 1) n = cap - 1;
    for (size_t i = 0; i < n; i++) dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
    dst[n] = '\0';
}

static void sans(X509 *x, x509_summary *out)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    if (!gens) return;
    int n = sk_GENERAL_NAME_num(gens);
    for (int i = 0; i < n && i < 4096; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DNS) {
            if (out->san_dns_n < X509_SUMMARY_SAN_MAX) {
                copy_str(out->san_dns[out->san_dns_n++], X509_SUMMARY_SAN_LEN,
                         ASN1_STRING_get0_data(g->d.dNSName), ASN1_STRING_length(g->d.dNSName));
            } else if (out->san_dns_truncated < UINT16_MAX) {
                out->san_dns_truncated++;
            }
        } else if (g->type == GEN_IPADD) {
            const unsigned char *a = ASN1_STRING_get0_data(g->d.iPAddress);
            int len = ASN1_STRING_length(g->d.iPAddress);
            if (out->san_ip_n >= X509_SUMMARY_IP_MAX) {
                if (out->san_ip_truncated < UINT16_MAX) out->san_ip_truncated++;
                continue;
            }
            char *d = out->san_ip[out->san_ip_n];
            if (len == 4) {
                snprintf(d, 46, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
                out->san_ip_n++;
            } else if (len == 16) {
                size_t o = 0;
                for (int k = 0; k < 16; k += 2) {
                    int w = snprintf(d + o, 46 - o, "%s%x", k ? ":" : "", (unsigned)(a[k] << 8 | a[k + 1]));
                    if (w < 0 || (size_t)w >= 46 - o) break;
                    o += (size_t)w;
                }
                out->san_ip_n++;
            }
        }
    }
    GENERAL_NAMES_free(gens);
}

static void key_info(X509 *x, x509_summary *out)
{
    EVP_PKEY *pk = X509_get0_pubkey(x);
    if (!pk) return;
    out->key_bits = EVP_PKEY_get_bits(pk);
    const char *t;
    switch (EVP_PKEY_get_base_id(pk)) {
    case EVP_PKEY_RSA: t = "RSA"; break;
    case EVP_PKEY_RSA_PSS: t = "RSA-PSS"; break;
    case EVP_PKEY_EC: t = "EC"; break;
    case EVP_PKEY_DSA: t = "DSA"; break;
    case EVP_PKEY_DH: case EVP_PKEY_DHX: t = "DH"; break;
    case EVP_PKEY_ED25519: t = "ED25519"; break;
    case EVP_PKEY_ED448: t = "ED448"; break;
    case EVP_PKEY_X25519: t = "X25519"; break;
    case EVP_PKEY_X448: t = "X448"; break;
    default: t = "OTHER"; break;
    }
    snprintf(out->key_type, sizeof out->key_type, "%s", t);
    if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC) {
        size_t gl = 0;
        if (!EVP_PKEY_get_utf8_string_param(pk, "group", out->curve, sizeof out->curve, &gl)) out->curve[0] = '\0';
    }
}

bool x509_summary_parse(const uint8_t *der, size_t len, x509_summary *out)
{
    memset(out, 0, sizeof *out);
    out->der = der;
    out->der_len = len;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (der && EVP_Digest(der, len, md, &mdlen, EVP_sha256(), NULL)) hex(md, mdlen, out->sha256, sizeof out->sha256);
    if (!der || len == 0 || len > 0x7fffffff) {
        out->anomalies |= TLS_ANOM_BIT(CERT_MALFORMED);
        return false;
    }
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (!x) {
        out->anomalies |= TLS_ANOM_BIT(CERT_MALFORMED);
        return false;
    }
    if (p != der + len) out->anomalies |= TLS_ANOM_BIT(TRAILING_BYTES);
    out->parsed = true;
    out->version = (int)X509_get_version(x) + 1;
    name_line(X509_get_subject_name(x), out->subject, sizeof out->subject);
    name_line(X509_get_issuer_name(x), out->issuer, sizeof out->issuer);
    int idx = X509_NAME_get_index_by_NID(X509_get_subject_name(x), NID_commonName, -1);
    if (idx >= 0) {
        const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(X509_get_subject_name(x), idx));
        if (s) copy_str(out->cn, sizeof out->cn, ASN1_STRING_get0_data(s), ASN1_STRING_length(s));
    }
    const ASN1_INTEGER *ser = X509_get0_serialNumber(x);
    if (ser) hex(ASN1_STRING_get0_data(ser), (size_t)(ASN1_STRING_length(ser) > 0 ? ASN1_STRING_length(ser) : 0),
                 out->serial, sizeof out->serial);
    bool nb = asn1_epoch(X509_get0_notBefore(x), &out->not_before);
    bool na = asn1_epoch(X509_get0_notAfter(x), &out->not_after);
    out->validity_ok = nb && na;
    int sig_nid = X509_get_signature_nid(x);
    const char *sn = sig_nid != NID_undef ? OBJ_nid2ln(sig_nid) : NULL;
    snprintf(out->sig_alg, sizeof out->sig_alg, "%s", sn ? sn : "unknown");
    key_info(x, out);
    sans(x, out);
    uint32_t fl = X509_get_extension_flags(x);
    out->has_basic_constraints = (fl & EXFLAG_BCONS) != 0;
    out->is_ca = (fl & EXFLAG_CA) != 0;
    if (fl & EXFLAG_INVALID) out->anomalies |= TLS_ANOM_BIT(CERT_MALFORMED);
    out->self_issued = X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0;
    if (out->self_issued) {
        EVP_PKEY *pk = X509_get0_pubkey(x);
        out->self_signed = pk && X509_verify(x, pk) == 1;
    }
    X509_free(x);
    return true;
}

bool x509_summary_ocsp(const uint8_t *der, size_t len, x509_ocsp *out)
{
    memset(out, 0, sizeof *out);
    out->cert_status = X509_OCSP_NONE;
    out->revocation_reason = -1;
    if (!der || len == 0 || len > 0x7fffffff) {
        out->anomalies |= TLS_ANOM_BIT(OCSP_MALFORMED);
        return false;
    }
    const unsigned char *p = der;
    OCSP_RESPONSE *r = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
    if (!r) {
        out->anomalies |= TLS_ANOM_BIT(OCSP_MALFORMED);
        return false;
    }
    out->parsed = true;
    out->response_status = OCSP_response_status(r);
    OCSP_BASICRESP *bs = OCSP_response_get1_basic(r);
    if (bs) {
        OCSP_SINGLERESP *s = OCSP_resp_get0(bs, 0);
        if (s) {
            int reason = -1;
            ASN1_GENERALIZEDTIME *rev = NULL, *thisu = NULL, *nextu = NULL;
            int st = OCSP_single_get0_status(s, &reason, &rev, &thisu, &nextu);
            if (st >= 0) out->cert_status = st;
            out->revocation_reason = reason;
            if (rev) asn1_epoch(rev, &out->revocation_time);
            if (thisu) asn1_epoch(thisu, &out->this_update);
            if (nextu) asn1_epoch(nextu, &out->next_update);
        }
        OCSP_BASICRESP_free(bs);
    }
    OCSP_RESPONSE_free(r);
    return true;
}
