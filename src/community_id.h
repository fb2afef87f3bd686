/* Community ID v1 (https://github.com/corelight/community-id-spec): a
 * flow hash shared by Zeek, Suricata, Arkime, so tlswatch events can be
 * joined with theirs. */
#ifndef TLSWATCH_COMMUNITY_ID_H
#define TLSWATCH_COMMUNITY_ID_H
#include <stddef.h>
#include <stdint.h>

#define COMMUNITY_ID_LEN 32 /* "1:" + 28 base64 chars + NUL, rounded */

/* family is 4 or 6; addresses are 4 or 16 bytes in network order; ports in
 * host order. Writes "1:<base64>" into out. Returns 0, or -1 on failure. */
int community_id_v1(uint16_t seed, int family, const uint8_t *saddr, const uint8_t *daddr,
                    uint8_t proto, uint16_t sport, uint16_t dport, char out[COMMUNITY_ID_LEN]);

#endif
