/* Community ID v1: SHA-1 over seed, ordered endpoints, protocol and ports,
 * base64-encoded. The endpoint with the smaller (address, port) goes first so
 * both directions of a flow hash alike. */
#include "community_id.h"

#include <openssl/evp.h>
#include <string.h>

#include "digest.h"

int community_id_v1(uint16_t seed, int family, const uint8_t *saddr, const uint8_t *daddr,
                    uint8_t proto, uint16_t sport, uint16_t dport, char out[COMMUNITY_ID_LEN])
{
    size_t alen = family == 6 ? 16 : 4;
    int cmp = memcmp(saddr, daddr, alen);
    if (cmp > 0 || (cmp == 0 && sport > dport)) {
        const uint8_t *ta = saddr;
        saddr = daddr;
        daddr = ta;
        uint16_t tp = sport;
        sport = dport;
        dport = tp;
    }
    uint8_t buf[2 + 16 + 16 + 2 + 4];
    size_t n = 0;
    buf[n++] = (uint8_t)(seed >> 8);
    buf[n++] = (uint8_t)seed;
    memcpy(buf + n, saddr, alen);
    n += alen;
    memcpy(buf + n, daddr, alen);
    n += alen;
    buf[n++] = proto;
    buf[n++] = 0;
    buf[n++] = (uint8_t)(sport >> 8);
    buf[n++] = (uint8_t)sport;
    buf[n++] = (uint8_t)(dport >> 8);
    buf[n++] = (uint8_t)dport;

    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(buf, n, md, &mdlen, digest_sha1(), NULL) || mdlen != 20) return -1;
    memcpy(out, "1:", 2);
    /* 20 bytes -> 28 base64 chars + NUL */
    if (EVP_EncodeBlock((unsigned char *)out + 2, md, 20) != 28) return -1;
    return 0;
}
