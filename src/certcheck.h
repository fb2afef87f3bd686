/* Server certificate chain validation for the facts tree: libcrypto's
 * X509_verify_cert against a trust store (--ca-file/--ca-path, default the
 * system bundle file), at the capture time, with ONLY the certificates the
 * server sent as untrusted intermediates (no AIA fetching, no intermediate
 * cache: an incomplete chain must look incomplete), plus an RFC 6125 host
 * name check against the SNI. Also a per-run memory of the leaf seen per
 * server name, to flag a certificate that changes within one run.
 *
 * Cost: real traffic repeats the same few thousand chains, so verdicts are
 * kept in a bounded LRU cache (CERTCHECK_CACHE_DEFAULT entries) keyed by the
 * chain, the SNI, the trust store and the capture day; a hit parses nothing
 * and verifies nothing (see certcheck.c for what the key must cover and how
 * the validity period is re-checked). The trust store is held in memory:
 * without --ca-file/--ca-path the system bundle FILE is loaded once
 * ($SSL_CERT_FILE, else X509_get_default_cert_file(), e.g. Debian's
 * /etc/ssl/certs/ca-certificates.crt); only when it is missing (or when
 * $SSL_CERT_DIR alone is set) the default paths are used. --ca-path keeps
 * OpenSSL's hashed-directory lookup, which opens files on every
 * verification (a cache miss) for issuers not yet seen: prefer --ca-file.
 *
 * Facts written (docs/facts.md, "Certificate validation"):
 *   server_cert_validation: {status, error, error_code, errors, depth,
 *       trusted_root, chain_complete, hostname_match, time_valid, at_time,
 *       trust_store}
 *   server_cert_changed, server_cert_previous_sha256, server_cert_previous_issuer
 *
 * Call from the session layer (once per handshake that showed a server
 * Certificate, TLS 1.3 only with a key log):
 *   certcheck_server(cc, ders, lens, n, sni, sni ? sni : "ip:port",
 *                    (int64_t)flow_time, facts);
 * which is certcheck_chain() + certcheck_seen() with the leaf parsed at most
 * once (not at all on a cache hit).
 */
#ifndef TLSWATCH_CERTCHECK_H
#define TLSWATCH_CERTCHECK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "facts.h"

/* Verdict cache entries (each ~0.3 KB plus the leaf's issuer name). */
#define CERTCHECK_CACHE_DEFAULT 4096
/* certcheck_set_cache(): no cache (every chain verified). */
#define CERTCHECK_CACHE_OFF ((size_t)-1)

struct certcheck_opts {
    const char *ca_file; /* --ca-file (PEM bundle), or NULL */
    const char *ca_path; /* --ca-path (hashed directory), or NULL */
    /* neither: the system bundle file, loaded once (see above) */
    size_t max_seen;     /* certcheck_seen entries kept, least recently seen evicted (0: 65536) */
    /* The verdict cache size is set with certcheck_set_cache() rather than
     * here: callers initialise this struct positionally ({file, path, 0}),
     * and a new member would break them under -Wmissing-field-initializers. */
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

#define CERTCHECK_MAX_ERRORS 8

/* Everything server_cert_validation says, as data. */
struct certcheck_verdict {
    enum certcheck_status status;
    int64_t at_time;          /* epoch seconds validated at */
    const char *trust_store;  /* "system" or the --ca-file/--ca-path (owned by the certcheck) */
    bool verified;            /* X509_verify_cert ran: depth is set */
    int depth;                /* length of the chain built, minus one */
    int error_code;           /* first X509_V_ERR_*, 0: none */
    int nerrors;
    int errors[CERTCHECK_MAX_ERRORS]; /* distinct verify errors (by their string), in order */
    bool trusted_root, chain_complete, time_valid;
    int hostname_match;       /* 1, 0, -1: no SNI (null) */
};

struct certcheck_stats {
    uint64_t checks;          /* chains judged */
    uint64_t cache_hits;      /* answered from the verdict cache */
    uint64_t cache_misses;    /* verified (not cached, or cached for another validity window) */
    uint64_t cache_evictions; /* least recently used verdicts dropped at the cap */
    size_t cache_entries;     /* verdicts held now */
    uint64_t seen_evictions;  /* least recently seen servers forgotten at max_seen */
    size_t seen_entries;      /* servers whose certificate is remembered now */
};

struct certcheck;

/* Loads the trust store. NULL on error, with a message in err. */
struct certcheck *certcheck_new(const struct certcheck_opts *o, char *err, size_t errlen);
void certcheck_free(struct certcheck *cc);

/* Verdict cache capacity: 0 = CERTCHECK_CACHE_DEFAULT (the initial
 * setting), CERTCHECK_CACHE_OFF = none. Least recently used verdicts beyond
 * the new cap are dropped (not counted as evictions). */
void certcheck_set_cache(struct certcheck *cc, size_t entries);

/* ders[0] is the leaf, then the chain as sent. sni may be NULL (then
 * hostname_match is null). at_time: epoch seconds to validate at (the
 * capture time); 0 = now. Fills *out (from the cache when it can) and
 * returns its status. */
enum certcheck_status certcheck_verify(struct certcheck *cc, const uint8_t *const *ders,
                                       const size_t *lens, size_t n, const char *sni,
                                       int64_t at_time, struct certcheck_verdict *out);

/* Storage of the strings certcheck puts into the facts (owned by the
 * caller, valid as long as the facts are read). */
struct certcheck_facts {
    tls_facts *facts; /* server_cert_validation, server_cert_changed, _previous_* */
    const char *errors[CERTCHECK_MAX_ERRORS];
    char prev_sha256[65];
    char prev_issuer[512];
};
/* Sets facts "server_cert_validation" from v; out NULL: nothing. */
void certcheck_verdict_facts(const struct certcheck_verdict *v, struct certcheck_facts *out);

/* certcheck_verify + certcheck_verdict_facts (facts_out may be NULL). */
enum certcheck_status certcheck_chain(struct certcheck *cc, const uint8_t *const *ders,
                                      const size_t *lens, size_t n, const char *sni,
                                      int64_t at_time, struct certcheck_facts *facts_out);

/* Remembers the leaf presented for key (the SNI, or "ip:port" without
 * SNI). Returns 1 when an earlier leaf for the same key had a different
 * public key or issuer (then sets server_cert_changed true and
 * server_cert_previous_sha256/_issuer in facts_out), 0 otherwise (sets
 * server_cert_changed false), -1 when the DER does not parse. */
int certcheck_seen(struct certcheck *cc, const char *key, const uint8_t *leaf_der, size_t len,
                   struct certcheck_facts *facts_out);

/* certcheck_chain, then certcheck_seen(seen_key, ders[0]) unless seen_key
 * is NULL or n is 0, sharing one parse of the leaf (none on a cache hit).
 * Returns the chain status. */
enum certcheck_status certcheck_server(struct certcheck *cc, const uint8_t *const *ders,
                                       const size_t *lens, size_t n, const char *sni,
                                       const char *seen_key, int64_t at_time,
                                       struct certcheck_facts *facts_out);

/* Counters since certcheck_new. */
const struct certcheck_stats *certcheck_stats(const struct certcheck *cc);

#endif
