/* Hello/EncryptedExtensions/Certificate-entry extensions, parsed into one
 * fixed-size struct (no pointers into the input: consumers copy it). Lists
 * keep at most their capacity and count the rest in `truncated`. Unknown
 * extensions are kept by number in `types`. */
#ifndef TLSWATCH_TLS_EXTENSION_H
#define TLSWATCH_TLS_EXTENSION_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cursor.h"
#include "tls_names.h"

#define TLS_LIST_CAP 160
#define TLS_SNI_MAX 255
#define TLS_ALPN_MAX_ENTRIES 8
#define TLS_ALPN_MAX_LEN 32

typedef struct tls_u16_list {
    uint16_t v[TLS_LIST_CAP];
    uint16_t n;         /* kept */
    uint16_t truncated; /* seen beyond the capacity */
} tls_u16_list;

enum tls_psk_mode_bits { TLS_PSK_KE = 1, TLS_PSK_DHE_KE = 2 };

typedef struct tls_exts {
    tls_u16_list types; /* every extension in wire order (GREASE, unknown incl.) */
    bool present;       /* an extensions block was there */
    char sni[TLS_SNI_MAX + 1]; /* host_name, printable-sanitised ('?' for others) */
    bool has_sni;
    uint8_t sni_names;  /* entries in the server_name list */
    tls_u16_list versions;    /* supported_versions: client list */
    uint16_t selected_version; /* supported_versions: ServerHello/HRR */
    tls_u16_list groups;      /* supported_groups */
    tls_u16_list key_share_groups; /* ClientHello key_share entries */
    uint16_t key_share_group;  /* ServerHello: server share; HRR: selected group */
    tls_u16_list sig_algs, sig_algs_cert;
    uint8_t ec_point_formats[8];
    uint8_t ec_point_formats_n, ec_point_formats_truncated;
    char alpn[TLS_ALPN_MAX_ENTRIES][TLS_ALPN_MAX_LEN + 1];
    uint8_t alpn_n, alpn_truncated; /* server: one entry = selected */
    /* the first ALPN protocol as sent (alpn[0] is sanitised): its length
     * and first and last bytes, for JA4 */
    uint8_t alpn0_len, alpn0_first, alpn0_last;
    bool has_reneg_info;
    uint8_t reneg_info_len;
    bool has_session_ticket;
    uint16_t session_ticket_len;
    bool has_psk;
    uint16_t psk_identities;  /* client */
    uint16_t psk_selected;    /* server */
    uint8_t psk_modes;        /* enum tls_psk_mode_bits */
    bool has_early_data;
    uint32_t early_data_max;  /* NewSessionTicket */
    bool has_ems, has_etm, has_status_request, has_heartbeat, has_ech, has_cookie, has_padding;
    bool has_sct, has_post_handshake_auth, has_compress_cert;
    uint8_t status_type;      /* 1 = ocsp */
    uint8_t heartbeat_mode;   /* 1 peer_allowed_to_send, 2 not allowed */
    uint16_t padding_len;
    uint16_t cookie_len;
    uint16_t record_size_limit;
    uint8_t max_fragment_length;
    uint8_t ech_type;         /* ClientHello ECH: 0 outer, 1 inner */
    tls_anomalies anomalies;
} tls_exts;

/* Parses an extensions vector (the 2-byte length included) of a message of
 * handshake type hs_type (1 CH, 2 SH, 6/hrr=true, 8 EE, 4 NST, 11 Cert,
 * 13 CertReq). An absent block (cursor empty) is not an error. */
void tls_extension_parse_block(cur_t *c, uint8_t hs_type, bool hrr, tls_exts *out);

/* Appends to a capped list (counts overflow in truncated). */
void tls_extension_list_add(tls_u16_list *l, uint16_t v);
bool tls_extension_has(const tls_exts *e, uint16_t type);
#endif
