/* OpenVPN over TCP: recognising its first packets and taking its framing
 * off one direction, so that the TLS handshake OpenVPN runs inside its
 * control channel reaches tls_stream as the byte stream it is.
 *
 * On TCP every OpenVPN packet is a 2-byte length and then
 *   opcode (high 5 bits) | key_id (low 3 bits)
 *   P_DATA_V1: payload            P_DATA_V2: peer id (3), payload
 *   control and ack packets:
 *     session_id (8)
 *     [--tls-auth: HMAC (hash size) + replay packet_id (4) + time (4)]
 *     ack count (1), that many packet ids (4 each), remote session_id (8) if any
 *     message packet_id (4)          (not in P_ACK_V1)
 *     payload: TLS bytes in P_CONTROL_V1; the resets carry none (or, in
 *     HARD_RESET_CLIENT_V3 / P_CONTROL_WKC_V1, a wrapped client key)
 * With --tls-crypt / tls-crypt-v2 everything after the replay packet_id and
 * time (right after the session id) is an authentication tag and
 * ciphertext: such packets are counted, never read.
 *
 * The HMAC size is not on the wire. As Wireshark and nDPI do, it is found
 * from the first packets: the client's reset is tried with every digest
 * size for a layout that holds together (empty ack array, message packet id
 * 0, replay packet id small), and the server's reset must echo the client's
 * session id in its ack at the same layout. Pure: no I/O, no allocation;
 * the payload is handed on as views into the caller's bytes. */
#ifndef TLSWATCH_OVPN_STREAM_H
#define TLSWATCH_OVPN_STREAM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ovpn_opcode {
    OVPN_HARD_RESET_CLIENT_V1 = 1,
    OVPN_HARD_RESET_SERVER_V1 = 2,
    OVPN_SOFT_RESET_V1 = 3,
    OVPN_CONTROL_V1 = 4,
    OVPN_ACK_V1 = 5,
    OVPN_DATA_V1 = 6,
    OVPN_HARD_RESET_CLIENT_V2 = 7,
    OVPN_HARD_RESET_SERVER_V2 = 8,
    OVPN_DATA_V2 = 9,
    OVPN_HARD_RESET_CLIENT_V3 = 10,
    OVPN_CONTROL_WKC_V1 = 11,
};

/* Protection of the control channel. */
enum ovpn_protection {
    OVPN_PROT_UNKNOWN = 0,
    OVPN_PROT_NONE,
    OVPN_PROT_TLS_AUTH,
    OVPN_PROT_TLS_CRYPT,
    OVPN_PROT_TLS_CRYPT_V2,
};

#define OVPN_HMAC_MAX 64      /* SHA-512: the largest --auth digest */
#define OVPN_CRYPT_TAG 32     /* tls-crypt: HMAC-SHA256 tag */
#define OVPN_WINDOW 64        /* packet ids ahead of the next one still taken */
#define OVPN_HEAD_MAX (1 + 8 + OVPN_HMAC_MAX + 8 + 1)

/* What the first packet of a side says. layouts: bit i set when the packet
 * parses consistently with ovpn_hmac_sizes[i] (0 = no tls-auth). */
typedef struct ovpn_hello {
    uint8_t opcode, key_id;
    uint8_t sid[8];
    uint16_t len;          /* packet length after the 2-byte prefix */
    uint8_t layouts;
    bool crypt;            /* tls-crypt shape: replay id and time after the session id */
} ovpn_hello;

extern const uint8_t ovpn_hmac_sizes[7];

/* A client's first bytes: a whole P_CONTROL_HARD_RESET_CLIENT_V2/V3 at the
 * start of d, with a plausible length and at least one consistent layout. */
bool ovpn_client_reset(const uint8_t *d, size_t n, ovpn_hello *out);
/* A server's first bytes answering cl: a whole HARD_RESET_SERVER_V2 that
 * acknowledges cl's session id at one of cl's layouts (its HMAC size in
 * *hmac), or, when cl has the tls-crypt shape, a reset of that shape too
 * (its ack is encrypted: the opcodes and shapes are the evidence). */
bool ovpn_server_reset(const uint8_t *d, size_t n, const ovpn_hello *cl, enum ovpn_protection *prot,
                       uint8_t *hmac);

typedef struct ovpn_stats {
    uint64_t control, acks, data, resets;
    uint64_t retransmitted;  /* message packet id already delivered: dropped */
    uint64_t out_of_window;  /* packet id far from the next one: ignored */
    uint64_t skipped_ids;    /* packet ids never seen (capture loss): the TLS stream is told of a gap */
    uint64_t other_key;      /* control packets of another key_id (soft reset): counted only */
    uint64_t malformed;      /* packets whose layout does not hold (skipped) */
    uint64_t lost;           /* framing lost (unknown opcode, capture gap): times */
    uint64_t resynced;       /* framing found again on a packet of this side's session */
    uint64_t tls_bytes;      /* P_CONTROL_V1 payload handed on */
} ovpn_stats;

/* Called with the payload of P_CONTROL_V1 packets, in packet-id order;
 * gap: n bytes of it were lost (0: an unknown amount; the record layer
 * must resynchronise). */
typedef void (*ovpn_payload_fn)(void *user, const uint8_t *d, size_t n);
typedef void (*ovpn_gap_fn)(void *user, uint64_t n);

enum ovpn_state { OVS_LEN = 0, OVS_HEAD, OVS_ACKS, OVS_MPID, OVS_BODY, OVS_SKIP, OVS_LOST };

typedef struct ovpn_stream {
    uint8_t hmac;              /* tls-auth HMAC size; 0 none */
    bool encrypted;            /* tls-crypt: nothing but the framing is read */
    bool key_set, sid_set;
    uint8_t key_id;            /* the key session followed (the first one) */
    uint8_t sid[8];            /* this side's session id */
    uint32_t next_pid;         /* next message packet id to deliver */
    uint8_t state;             /* enum ovpn_state */
    uint8_t op, kid;
    bool deliver;              /* the body being read is handed on */
    uint16_t got, need;        /* bytes of buf gathered / wanted */
    uint32_t left;             /* bytes of the current packet not consumed yet */
    uint8_t buf[OVPN_HEAD_MAX];
    ovpn_payload_fn payload;
    ovpn_gap_fn gap;
    void *user;
    ovpn_stats st;
} ovpn_stream;

void ovpn_stream_init(ovpn_stream *s, uint8_t hmac, bool encrypted, ovpn_payload_fn payload, ovpn_gap_fn gap,
                      void *user);
void ovpn_stream_feed(ovpn_stream *s, const uint8_t *d, size_t n);
/* n bytes of this direction missing from the capture: the framing is lost
 * until a packet of this side's session is found again. */
void ovpn_stream_lost(ovpn_stream *s, uint64_t n);
const char *ovpn_protection_name(enum ovpn_protection p);
#endif
