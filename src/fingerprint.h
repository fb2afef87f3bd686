/* TLS fingerprints of a handshake: JA3 and JA3S (Salesforce; as
 * Wireshark's tls.handshake.ja3 / ja3s compute them) and JA4 of the client
 * (FoxIO, BSD-3-Clause; TCP only: "t"). The hellos' raw inputs (codes in
 * wire order, GREASE included) are kept in the facts; the strings and
 * hashes are formatted only when a field is read (an event written, a rule
 * naming it), never per handshake. */
#ifndef TLSWATCH_FINGERPRINT_H
#define TLSWATCH_FINGERPRINT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls_hello.h"

/* A ClientHello's inputs. Views into the hello (valid as long as it). */
struct fp_client {
    uint16_t version;                        /* legacy_version */
    const uint16_t *ciphers, *exts, *groups, *sig_algs, *versions;
    uint16_t nciphers, nexts, ngroups, nsig_algs, nversions;
    const uint8_t *ec_point_formats;
    uint8_t nec_point_formats;
    uint8_t alpn0_len, alpn0_first, alpn0_last; /* first ALPN value, raw */
    bool complete; /* every list whole and the hello parsed to its end */
};

/* A ServerHello's inputs (not a HelloRetryRequest). */
struct fp_server {
    uint16_t version; /* legacy_version */
    uint16_t cipher;
    const uint16_t *exts;
    uint16_t nexts;
    bool complete;
};

/* What the facts' fingerprint fields point to (facts_schema.def: K_FP). */
struct fp_hellos {
    struct fp_client c;
    struct fp_server s;
    bool have_c, have_s;
};

/* The fields (K_FP args). */
enum fp_kind { FP_JA3, FP_JA3_STRING, FP_JA3S, FP_JA3S_STRING, FP_JA4, FP_JA4_R, FP__N };

/* Longest string a field can be (lists capped at TLS_LIST_CAP = 160). */
#define FP_STR_MAX 3200

/* The inputs of a parsed hello (views into it); complete is false when
 * its lists were cut at their caps, it did not parse whole, or it came in
 * SSLv2 format (an SSLv2 ServerHello: legacy_version 0x0002). */
void fp_client_from_hello(struct fp_client *c, const tls_client_hello *ch, bool sslv2);
void fp_server_from_hello(struct fp_server *s, const tls_server_hello *sh);
/* The same from the fields a handshake keeps of its ServerHello. */
void fp_server_from(struct fp_server *s, uint16_t legacy_version, uint16_t cipher, const tls_u16_list *types,
                    tls_anomalies anomalies);

/* Writes field k of h into buf (cap >= FP_STR_MAX); NULL when it cannot
 * be computed exactly (no hello, a list over its cap, a malformed hello). */
const char *fp_format(int k, const struct fp_hellos *h, char *buf, size_t cap);

/* The pieces, for tests. */
bool fp_is_grease(uint16_t v);
const char *fp_ja3_string(const struct fp_client *c, char *buf, size_t cap);
const char *fp_ja3s_string(const struct fp_server *s, char *buf, size_t cap);
/* JA4: hashed (raw false) or ja4_r (raw true). */
const char *fp_ja4(const struct fp_client *c, bool raw, char *buf, size_t cap);
/* MD5 of s as 32 lower-case hex digits into out[33]. */
void fp_md5_hex(const char *s, size_t n, char out[33]);
#endif
