/* ServerKeyExchange follows the negotiated key exchange (RFC 4492, 5246,
 * 4279): the same bytes mean different things for ECDHE and DHE, so the
 * caller passes kx (from tls_names_cipher_info(cipher)->kx). When kx is
 * unknown we try ECDHE then DHE and keep the one that consumes the body. */
#include "tls_message.h"

#include <string.h>

static bool finish(cur_t *c, tls_anomalies *an)
{
    if (!cur_ok(c)) {
        *an |= TLS_ANOM_BIT(HANDSHAKE_TRUNCATED);
        return false;
    }
    if (cur_remaining(c) > 0) *an |= TLS_ANOM_BIT(TRAILING_BYTES);
    return true;
}

static uint16_t bignum_bits(cur_t v)
{
    while (cur_remaining(&v) > 0 && v.p[0] == 0) cur_skip(&v, 1);
    size_t n = cur_remaining(&v);
    if (n == 0) return 0;
    unsigned top = v.p[0], b = 0;
    while (top) { b++; top >>= 1; }
    size_t bits = (n - 1) * 8 + b;
    return (uint16_t)(bits > UINT16_MAX ? UINT16_MAX : bits);
}

static void ske_sig(cur_t *c, uint16_t version, tls_ske *out)
{
    if (cur_remaining(c) == 0) { /* signature is mandatory unless anonymous */
        cur_fail(c);
        return;
    }
    out->has_sig = true;
    if (version >= 0x0303 || version == 0) {
        /* TLS1.2: scheme + vector. With unknown version, a scheme is
         * present iff the rest is exactly 2 + vec16. */
        if (version == 0 && cur_remaining(c) >= 2 && ((size_t)(c->p[0] << 8 | c->p[1]) + 2 == cur_remaining(c))) {
            cur_t sig = cur_vec16(c);
            out->sig_len = (uint16_t)cur_remaining(&sig);
            return;
        }
        out->sig_scheme = cur_u16(c);
    }
    cur_t sig = cur_vec16(c);
    out->sig_len = (uint16_t)cur_remaining(&sig);
}

static bool ske_as(const uint8_t *body, size_t len, uint8_t kx, uint16_t version, tls_ske *out)
{
    memset(out, 0, sizeof *out);
    out->kx = kx;
    cur_t c = cur_init(body, len);
    bool psk = kx == TLS_KX_PSK || kx == TLS_KX_DHE_PSK || kx == TLS_KX_ECDHE_PSK || kx == TLS_KX_RSA_PSK;
    if (psk) {
        cur_t hint = cur_vec16(&c);
        out->psk_hint_len = (uint16_t)cur_remaining(&hint);
    }
    switch (kx) {
    case TLS_KX_ECDHE: case TLS_KX_ECDH_ANON: case TLS_KX_ECDHE_PSK: {
        out->curve_type = cur_u8(&c);
        if (out->curve_type == 3) {
            out->group = cur_u16(&c);
        } else if (out->curve_type != 1 && out->curve_type != 2) {
            cur_fail(&c);
            return finish(&c, &out->anomalies);
        } else {
            /* explicit curves: cannot walk reliably; stop here */
            cur_skip(&c, cur_remaining(&c));
            return finish(&c, &out->anomalies);
        }
        cur_t pt = cur_vec8(&c);
        out->pubkey_len = (uint16_t)cur_remaining(&pt);
        break;
    }
    case TLS_KX_DHE: case TLS_KX_DH_ANON: case TLS_KX_DHE_PSK: {
        cur_t p = cur_vec16(&c);
        cur_t g = cur_vec16(&c);
        cur_t ys = cur_vec16(&c);
        out->dh_p_bits = bignum_bits(p);
        out->dh_g_len = (uint16_t)cur_remaining(&g);
        out->pubkey_len = (uint16_t)cur_remaining(&ys);
        break;
    }
    case TLS_KX_RSA: {
        cur_t mod = cur_vec16(&c);
        (void)cur_vec16(&c);
        out->rsa_modulus_bits = bignum_bits(mod);
        break;
    }
    case TLS_KX_SRP: {
        cur_t n = cur_vec16(&c);
        (void)cur_vec16(&c);
        (void)cur_vec8(&c);
        cur_t b = cur_vec16(&c);
        out->dh_p_bits = bignum_bits(n);
        out->pubkey_len = (uint16_t)cur_remaining(&b);
        break;
    }
    default:
        break;
    }
    bool anon = kx == TLS_KX_DH_ANON || kx == TLS_KX_ECDH_ANON || psk;
    if (!anon) ske_sig(&c, version, out);
    return finish(&c, &out->anomalies);
}

bool tls_message_parse_ske(const uint8_t *body, size_t len, uint8_t kx, uint16_t version, tls_ske *out)
{
    if (kx != TLS_KX_OTHER && kx != TLS_KX_TLS13 && kx != TLS_KX_NULL)
        return ske_as(body, len, kx, version, out);
    if (ske_as(body, len, TLS_KX_ECDHE, version, out) && !(out->anomalies & TLS_ANOM_BIT(TRAILING_BYTES)) &&
        out->curve_type == 3)
        return true;
    return ske_as(body, len, TLS_KX_DHE, version, out);
}

bool tls_message_parse_cke(const uint8_t *body, size_t len, uint8_t kx, uint16_t version, tls_cke *out)
{
    memset(out, 0, sizeof *out);
    out->length = (uint32_t)len;
    cur_t c = cur_init(body, len);
    switch (kx) {
    case TLS_KX_ECDHE: case TLS_KX_ECDH: case TLS_KX_ECDH_ANON: {
        cur_t pt = cur_vec8(&c);
        out->pubkey_len = (uint16_t)cur_remaining(&pt);
        break;
    }
    case TLS_KX_RSA:
        if (version == 0x0300) { /* SSLv3: no length prefix */
            out->pubkey_len = (uint16_t)(len > UINT16_MAX ? UINT16_MAX : len);
            cur_skip(&c, len);
            break;
        }
        /* fall through */
    case TLS_KX_DHE: case TLS_KX_DH: case TLS_KX_DH_ANON: {
        cur_t v = cur_vec16(&c);
        out->pubkey_len = (uint16_t)cur_remaining(&v);
        break;
    }
    default:
        cur_skip(&c, len);
        break;
    }
    return finish(&c, &out->anomalies);
}

bool tls_message_parse_nst(const uint8_t *body, size_t len, bool tls13, tls_nst *out)
{
    memset(out, 0, sizeof *out);
    out->tls13 = tls13;
    cur_t c = cur_init(body, len);
    out->lifetime = cur_u32(&c);
    if (tls13) {
        out->age_add = cur_u32(&c);
        cur_t nonce = cur_vec8(&c);
        out->nonce_len = (uint8_t)cur_remaining(&nonce);
    }
    cur_t t = cur_vec16(&c);
    out->ticket_len = (uint16_t)cur_remaining(&t);
    if (tls13) {
        tls_extension_parse_block(&c, TLS_HS_NEW_SESSION_TICKET, false, &out->ext);
        out->anomalies |= out->ext.anomalies;
    }
    return finish(&c, &out->anomalies);
}

bool tls_message_parse_ee(const uint8_t *body, size_t len, tls_exts *out)
{
    memset(out, 0, sizeof *out);
    cur_t c = cur_init(body, len);
    if (len == 0) cur_fail(&c);
    tls_extension_parse_block(&c, TLS_HS_ENCRYPTED_EXTENSIONS, false, out);
    return finish(&c, &out->anomalies);
}

static bool empty_msg(size_t len, tls_anomalies *an)
{
    if (len) *an |= TLS_ANOM_BIT(MESSAGE_NOT_EMPTY);
    return true;
}

bool tls_message_parse(const tls_hs_msg *msg, const tls_message_ctx *ctx, tls_message *out)
{
    memset(out, 0, sizeof *out);
    out->type = msg->type;
    out->anomalies = msg->anomalies;
    if (msg->too_large || !msg->body) {
        out->ok = false;
        return false;
    }
    const uint8_t *b = msg->body;
    size_t n = msg->body_len;
    uint16_t ver = ctx ? ctx->version : 0;
    bool tls13 = tls_names_version_is_tls13(ver);
    const tls_cipher_info *ci = ctx && ctx->cipher ? tls_names_cipher_info(ctx->cipher) : NULL;
    uint8_t kx = ci ? ci->kx : TLS_KX_OTHER;
    tls_anomalies sub = 0;
    bool ok;
    switch (msg->type) {
    case TLS_HS_HELLO_REQUEST:
    case TLS_HS_SERVER_HELLO_DONE:
    case TLS_HS_END_OF_EARLY_DATA:
        ok = empty_msg(n, &sub);
        break;
    case TLS_HS_CLIENT_HELLO: ok = tls_hello_parse_client(b, n, &out->u.ch); sub = out->u.ch.anomalies; break;
    case TLS_HS_SERVER_HELLO: ok = tls_hello_parse_server(b, n, &out->u.sh); sub = out->u.sh.anomalies; break;
    case TLS_HS_NEW_SESSION_TICKET: ok = tls_message_parse_nst(b, n, tls13, &out->u.nst); sub = out->u.nst.anomalies; break;
    case TLS_HS_ENCRYPTED_EXTENSIONS: ok = tls_message_parse_ee(b, n, &out->u.ee); sub = out->u.ee.anomalies; break;
    case TLS_HS_CERTIFICATE: ok = tls_certificate_parse(b, n, tls13, &out->u.cert); sub = out->u.cert.anomalies; break;
    case TLS_HS_SERVER_KEY_EXCHANGE: ok = tls_message_parse_ske(b, n, kx, ver, &out->u.ske); sub = out->u.ske.anomalies; break;
    case TLS_HS_CERTIFICATE_REQUEST:
        ok = tls_certificate_parse_request(b, n, ver, &out->u.cr);
        sub = out->u.cr.anomalies;
        break;
    case TLS_HS_CERTIFICATE_VERIFY:
        ok = tls_certificate_parse_verify(b, n, ver == 0 ? (n >= 4 && (size_t)(b[2] << 8 | b[3]) + 4 == n) : ver >= 0x0303,
                                          &out->u.cv);
        sub = out->u.cv.anomalies;
        break;
    case TLS_HS_CLIENT_KEY_EXCHANGE: ok = tls_message_parse_cke(b, n, kx, ver, &out->u.cke); sub = out->u.cke.anomalies; break;
    case TLS_HS_FINISHED: out->u.finished_len = (uint16_t)(n > UINT16_MAX ? UINT16_MAX : n); ok = true; break;
    case TLS_HS_CERTIFICATE_STATUS: ok = tls_certificate_parse_status(b, n, &out->u.cs); sub = out->u.cs.anomalies; break;
    case TLS_HS_KEY_UPDATE:
        out->u.key_update = n >= 1 ? b[0] : 0;
        ok = n == 1;
        if (n != 1) sub |= TLS_ANOM_BIT(HANDSHAKE_LENGTH_MISMATCH);
        break;
    default: ok = true; break;
    }
    out->anomalies |= sub;
    out->ok = ok;
    return ok;
}
