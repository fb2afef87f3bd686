/* SSLKEYLOGFILE (NSS key log format), as written by OpenSSL, GnuTLS,
 * browsers and curl: secrets by client random, so encrypted records can be
 * read exactly (alerts, renegotiation messages, TLS 1.3 certificates). */
#ifndef TLSWATCH_KEYLOG_H
#define TLSWATCH_KEYLOG_H
#include <stddef.h>
#include <stdint.h>

enum keylog_kind {
    KL_MASTER = 0,          /* CLIENT_RANDOM: TLS <= 1.2 master secret */
    KL_CLIENT_HS,           /* CLIENT_HANDSHAKE_TRAFFIC_SECRET */
    KL_SERVER_HS,           /* SERVER_HANDSHAKE_TRAFFIC_SECRET */
    KL_CLIENT_APP,          /* CLIENT_TRAFFIC_SECRET_0 */
    KL_SERVER_APP,          /* SERVER_TRAFFIC_SECRET_0 */
    KL_KINDS
};

#define KEYLOG_SECRET_MAX 64

struct keylog_secret {
    uint8_t len; /* 0: absent */
    uint8_t v[KEYLOG_SECRET_MAX];
};

struct keylog;

/* Reads FILE; NULL with a one-line "file:line: message" on error. Lines
 * of other labels are ignored; a malformed line is an error. */
struct keylog *keylog_load(const char *path, char *err, size_t errlen);
/* The secret of a kind for a client random, or NULL. */
const struct keylog_secret *keylog_find(const struct keylog *kl, const uint8_t client_random[32],
                                        enum keylog_kind kind);
size_t keylog_count(const struct keylog *kl);
/* A key log followed while it grows (live capture): keylog_follow() starts
 * with an empty log whose file may not exist yet; keylog_refresh() reads
 * the whole lines appended since the last call (a partial last line waits),
 * and the file from its start again when it was replaced or truncated
 * (rotation); secrets already read are kept. Malformed lines are skipped
 * and counted. Returns the number of client randoms added. */
struct keylog *keylog_follow(const char *path);
int keylog_refresh(struct keylog *kl);
uint64_t keylog_malformed(const struct keylog *kl);
void keylog_free(struct keylog *kl);

#endif
