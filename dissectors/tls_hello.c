/* Hello parsers. The effective ServerHello version is taken from
 * supported_versions when present (TLS1.3 freezes legacy_version at
 * 0x0303); HelloRetryRequest is a ServerHello whose random is the fixed
 * SHA-256("HelloRetryRequest") value, so its extensions parse differently. */
#include "tls_hello.h"

#include <string.h>

static const uint8_t hrr_random[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
};

bool tls_hello_is_hrr_random(const uint8_t random[32]) { return memcmp(random, hrr_random, 32) == 0; }

static void session_id(cur_t *c, uint8_t *len_out, uint8_t id[32], tls_anomalies *an)
{
    cur_t sid = cur_vec8(c);
    size_t n = cur_remaining(&sid);
    if (n > 32) {
        *an |= TLS_ANOM_BIT(SESSION_ID_TOO_LONG);
        n = 32;
    }
    *len_out = (uint8_t)cur_remaining(&sid);
    cur_copy(&sid, id, n);
}

static bool finish(cur_t *c, tls_exts *ext, tls_anomalies *an)
{
    *an |= ext->anomalies;
    if (!cur_ok(c)) {
        *an |= TLS_ANOM_BIT(HANDSHAKE_TRUNCATED);
        return false;
    }
    if (cur_remaining(c) > 0) *an |= TLS_ANOM_BIT(TRAILING_BYTES);
    return true;
}

bool tls_hello_parse_client(const uint8_t *body, size_t len, tls_client_hello *out)
{
    memset(out, 0, sizeof *out);
    cur_t c = cur_init(body, len);
    out->legacy_version = cur_u16(&c);
    cur_copy(&c, out->random, 32);
    session_id(&c, &out->session_id_len, out->session_id, &out->anomalies);
    cur_t cs = cur_vec16(&c);
    if (cur_remaining(&cs) % 2) out->anomalies |= TLS_ANOM_BIT(ODD_LIST_LENGTH);
    while (cur_remaining(&cs) >= 2) tls_extension_list_add(&out->ciphers, cur_u16(&cs));
    if (out->ciphers.truncated) out->anomalies |= TLS_ANOM_BIT(LIST_TRUNCATED);
    if (cur_ok(&c) && out->ciphers.n == 0) out->anomalies |= TLS_ANOM_BIT(NO_CIPHERS);
    cur_t comp = cur_vec8(&c);
    out->compression_n = (uint8_t)cur_remaining(&comp);
    while (cur_remaining(&comp) > 0) {
        if (cur_u8(&comp) == 0) out->compression_null = true;
        else out->anomalies |= TLS_ANOM_BIT(COMPRESSION_OFFERED);
    }
    tls_extension_parse_block(&c, TLS_HS_CLIENT_HELLO, false, &out->ext);
    return finish(&c, &out->ext, &out->anomalies);
}

bool tls_hello_parse_server(const uint8_t *body, size_t len, tls_server_hello *out)
{
    memset(out, 0, sizeof *out);
    cur_t c = cur_init(body, len);
    out->legacy_version = cur_u16(&c);
    cur_copy(&c, out->random, 32);
    /* TLS1.3 drafts before 22 (and draft implementations announcing
     * 0x0304 directly) have no session_id and no compression byte. */
    uint16_t lv = out->legacy_version;
    bool draft_layout = lv == 0x0304 || (lv >= 0x7f00 && lv < 0x7f16);
    if (!draft_layout) session_id(&c, &out->session_id_len, out->session_id, &out->anomalies);
    out->cipher = cur_u16(&c);
    if (!draft_layout) out->compression = cur_u8(&c);
    if (cur_ok(&c)) {
        out->is_hrr = tls_hello_is_hrr_random(out->random);
        if (out->is_hrr) out->anomalies |= TLS_ANOM_BIT(HRR_SEEN);
        if (memcmp(out->random + 24, "DOWNGRD\x01", 8) == 0) out->downgrade_tls12 = true;
        if (memcmp(out->random + 24, "DOWNGRD\x00", 8) == 0) out->downgrade_tls11 = true;
        if (out->downgrade_tls11 || out->downgrade_tls12) out->anomalies |= TLS_ANOM_BIT(DOWNGRADE_SENTINEL);
        if (out->compression != 0) out->anomalies |= TLS_ANOM_BIT(COMPRESSION_OFFERED);
    }
    tls_extension_parse_block(&c, TLS_HS_SERVER_HELLO, out->is_hrr, &out->ext);
    out->version = out->ext.selected_version ? out->ext.selected_version : out->legacy_version;
    return finish(&c, &out->ext, &out->anomalies);
}

/* SSLv2 CLIENT-HELLO: type(1) version(2) cipher_specs_len(2)
 * session_id_len(2) challenge_len(2) specs sid challenge. */
bool tls_hello_parse_sslv2_client(const uint8_t *msg, size_t len, tls_client_hello *out)
{
    memset(out, 0, sizeof *out);
    out->sslv2 = true;
    out->anomalies |= TLS_ANOM_BIT(SSLV2_RECORD);
    cur_t c = cur_init(msg, len);
    if (cur_u8(&c) != 1) cur_fail(&c);
    out->legacy_version = cur_u16(&c);
    uint16_t specs_len = cur_u16(&c), sid_len = cur_u16(&c), chal_len = cur_u16(&c);
    cur_t specs = cur_sub(&c, specs_len);
    if (specs_len % 3) out->anomalies |= TLS_ANOM_BIT(HANDSHAKE_LENGTH_MISMATCH);
    while (cur_remaining(&specs) >= 3) {
        uint8_t k = cur_u8(&specs);
        uint16_t v = cur_u16(&specs);
        if (k == 0) tls_extension_list_add(&out->ciphers, v);
        else out->sslv2_only_specs++;
    }
    cur_t sid = cur_sub(&c, sid_len);
    if (sid_len > 32) out->anomalies |= TLS_ANOM_BIT(SESSION_ID_TOO_LONG);
    out->session_id_len = (uint8_t)(sid_len > 255 ? 255 : sid_len);
    cur_copy(&sid, out->session_id, sid_len < 32 ? sid_len : 32);
    cur_t chal = cur_sub(&c, chal_len);
    /* The challenge becomes the right-aligned 32-byte random (RFC 5246 E.2). */
    size_t n = chal_len > 32 ? 32 : chal_len;
    if (chal_len > 32) cur_skip(&chal, chal_len - 32u);
    cur_copy(&chal, out->random + (32 - n), n);
    out->compression_null = true;
    out->compression_n = 1;
    if (cur_ok(&c) && out->ciphers.n == 0 && out->sslv2_only_specs == 0)
        out->anomalies |= TLS_ANOM_BIT(NO_CIPHERS);
    return finish(&c, &out->ext, &out->anomalies);
}

/* SSLv2 SERVER-HELLO: type(1) session_id_hit(1) cert_type(1) version(2)
 * cert_len(2) cipher_specs_len(2) connection_id_len(2) cert specs conn_id. */
bool tls_hello_parse_sslv2_server(const uint8_t *msg, size_t len, tls_sslv2_server_hello *out)
{
    memset(out, 0, sizeof *out);
    out->anomalies |= TLS_ANOM_BIT(SSLV2_RECORD) | TLS_ANOM_BIT(SSLV2_SERVER_HELLO);
    cur_t c = cur_init(msg, len);
    if (cur_u8(&c) != 4) cur_fail(&c);
    out->session_id_hit = cur_u8(&c) != 0;
    out->cert_type = cur_u8(&c);
    out->version = cur_u16(&c);
    uint16_t cert_len = cur_u16(&c), specs_len = cur_u16(&c), cid_len = cur_u16(&c);
    const uint8_t *cert = cur_bytes(&c, cert_len);
    cur_skip(&c, specs_len);
    cur_skip(&c, cid_len);
    out->cipher_specs = (uint16_t)(specs_len / 3);
    out->connection_id_len = cid_len;
    if (cert) {
        out->cert = cert;
        out->cert_len = cert_len;
    }
    if (!cur_ok(&c)) {
        out->anomalies |= TLS_ANOM_BIT(HANDSHAKE_TRUNCATED);
        return false;
    }
    if (cur_remaining(&c) > 0) out->anomalies |= TLS_ANOM_BIT(TRAILING_BYTES);
    return true;
}
