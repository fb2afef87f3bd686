/* Server certificate chain validation for the facts tree: libcrypto's
 * X509_verify_cert against a trust store (--ca-file/--ca-path, default the
 * system store), at the capture time, with ONLY the certificates the server
 * sent as untrusted intermediates (no AIA fetching, no intermediate cache:
 * an incomplete chain must look incomplete), plus an RFC 6125 host name
 * check against the SNI. Also a per-run memory of the leaf seen per server
 * name, to flag a certificate that changes within one run.
 *
 * Facts written (docs/facts.md, "Certificate validation"):
 *   server_cert_validation: {status, error, error_code, errors, depth,
 *       trusted_root, chain_complete, hostname_match, time_valid, at_time,
 *       trust_store}
 *   server_cert_changed, server_cert_previous_sha256, server_cert_previous_issuer
 *
 * Call from the session layer (once per handshake that showed a server
 * Certificate, TLS 1.3 only with a key log):
 *   certcheck_chain(cc, ders, lens, n, sni, (int64_t)flow_time, facts);
 *   certcheck_seen(cc, sni ? sni : "ip:port", ders[0], lens[0], facts);
 */
#ifndef TLSWATCH_CERTCHECK_H
#define TLSWATCH_CERTCHECK_H
#include <stddef.h>
#include <stdint.h>

#include "value.h"

struct certcheck_opts {
    const char *ca_file; /* --ca-file (PEM bundle), or NULL */
    const char *ca_path; /* --ca-path (hashed directory), or NULL */
    /* neither: the system store (X509_STORE_set_default_paths) */
    size_t max_seen;     /* certcheck_seen entries kept (0: 65536) */
};

enum certcheck_status {
    CC_OK = 0,
    CC_EXPIRED,
    CC_NOT_YET_VALID,
    CC_SELF_SIGNED,     /* leaf is self-signed and not trusted */
    CC_UNKNOWN_CA,      /* chain sent up to a CA that is not trusted */
    CC_CHAIN_INCOMPLETE, /* the leaf's issuer was not sent and is not trusted */
    CC_HOSTNAME_MISMATCH,
    CC_BAD_SIGNATURE,
    CC_INVALID,         /* other verification errors (purpose, constraints, ...) */
    CC_MALFORMED,       /* the leaf does not parse */
    CC_NO_CERT,
};
/* "ok", "expired", "not_yet_valid", "self_signed", "unknown_ca",
 * "chain_incomplete", "hostname_mismatch", "bad_signature", "invalid",
 * "malformed", "no_certificate". */
const char *certcheck_status_name(enum certcheck_status s);

struct certcheck;

/* Loads the trust store. NULL on error, with a message in err. */
struct certcheck *certcheck_new(const struct certcheck_opts *o, char *err, size_t errlen);
void certcheck_free(struct certcheck *cc);

/* ders[0] is the leaf, then the chain as sent. sni may be NULL (then
 * hostname_match is null). at_time: epoch seconds to validate at (the
 * capture time); 0 = now. Adds "server_cert_validation" to facts_out (an
 * object) when facts_out != NULL. Returns the status. */
enum certcheck_status certcheck_chain(struct certcheck *cc, const uint8_t *const *ders,
                                      const size_t *lens, size_t n, const char *sni,
                                      int64_t at_time, struct value *facts_out);

/* Remembers the leaf presented for key (the SNI, or "ip:port" without
 * SNI). Returns 1 when an earlier leaf for the same key had a different
 * public key or issuer (then sets server_cert_changed true and
 * server_cert_previous_sha256/_issuer in facts_out), 0 otherwise (sets
 * server_cert_changed false), -1 when the DER does not parse. */
int certcheck_seen(struct certcheck *cc, const char *key, const uint8_t *leaf_der, size_t len,
                   struct value *facts_out);

#endif
