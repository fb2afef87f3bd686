/* A trust store bundle (PEM file of CA certificates) held in memory as DER
 * and parsed on demand: an X509_LOOKUP on the X509_STORE answers OpenSSL's
 * issuer lookups by subject name, parsing and adding only the candidates
 * of the name asked (as the hashed-directory lookup does with files, but
 * from memory). Loading the Debian bundle eagerly (X509_STORE_load_file)
 * parses ~140 certificates and their public keys: ~200 M instructions, the
 * largest part of tlswatch's start-up, for a run that may look at two CAs
 * or none. */
#ifndef TLSWATCH_TRUSTSTORE_H
#define TLSWATCH_TRUSTSTORE_H
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* Reads the PEM bundle `file` and attaches it to `store` as an on-demand
 * lookup. id gets the SHA-256, over `label` and then every certificate's
 * SHA-256 in file order, that certcheck uses as the store's identity (the
 * value an eagerly loaded store of the same file gives).
 * Returns 1 attached; 0 the file holds blocks other than plain
 * CERTIFICATEs (TRUSTED CERTIFICATE, CRLs): load it eagerly instead;
 * -1 unreadable or no certificate (message in err). */
int truststore_attach(X509_STORE *store, const char *file, const EVP_MD *sha256, const char *label,
                      unsigned char id[32], char *err, size_t errlen);

/* Certificates of attached bundles parsed so far / held (for tests). */
size_t truststore_parsed(void);
size_t truststore_held(void);

#endif
