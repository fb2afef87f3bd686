/* Certificate-related handshake messages. The chain is walked with
 * sub-cursors, so an entry length that overruns the list length is caught
 * without reading past the message. */
#include "tls_certificate.h"

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

bool tls_certificate_parse(const uint8_t *body, size_t len, bool tls13, tls_certificate *out)
{
    memset(out, 0, sizeof *out);
    out->tls13 = tls13;
    cur_t c = cur_init(body, len);
    if (tls13) {
        cur_t ctx = cur_vec8(&c);
        out->context_len = (uint8_t)cur_remaining(&ctx);
    }
    cur_t list = cur_vec24(&c);
    out->list_len = (uint32_t)cur_remaining(&list);
    while (cur_ok(&list) && cur_remaining(&list) > 0) {
        cur_t der = cur_vec24(&list);
        tls_cert_entry e = { der.p, (uint32_t)cur_remaining(&der), 0, false, false };
        if (tls13) {
            cur_t exts = cur_vec16(&list);
            e.ext_len = (uint16_t)cur_remaining(&exts);
            while (cur_ok(&exts) && cur_remaining(&exts) > 0) {
                uint16_t t = cur_u16(&exts);
                (void)cur_vec16(&exts);
                if (t == 5) e.has_ocsp = true;
                if (t == 18) e.has_sct = true;
            }
            if (!cur_ok(&exts)) out->anomalies |= TLS_ANOM_BIT(EXTENSION_MALFORMED);
        }
        if (!cur_ok(&list)) break;
        if (out->count < TLS_CERT_CHAIN_MAX) out->certs[out->count++] = e;
        else if (out->truncated < UINT16_MAX) out->truncated++;
    }
    if (!cur_ok(&list)) {
        out->anomalies |= TLS_ANOM_BIT(CERT_CHAIN_MALFORMED);
        cur_fail(&c);
    }
    if (out->truncated) out->anomalies |= TLS_ANOM_BIT(LIST_TRUNCATED);
    return finish(&c, &out->anomalies);
}

bool tls_certificate_parse_request(const uint8_t *body, size_t len, uint16_t version, tls_cert_request *out)
{
    bool tls13 = tls_names_version_is_tls13(version);
    memset(out, 0, sizeof *out);
    out->tls13 = tls13;
    cur_t c = cur_init(body, len);
    if (tls13) {
        cur_t ctx = cur_vec8(&c);
        out->context_len = (uint8_t)cur_remaining(&ctx);
        tls_extension_parse_block(&c, TLS_HS_CERTIFICATE_REQUEST, false, &out->ext);
        out->sig_algs = out->ext.sig_algs;
        out->anomalies |= out->ext.anomalies;
        if (!out->ext.present) cur_fail(&c);
        return finish(&c, &out->anomalies);
    }
    cur_t types = cur_vec8(&c);
    while (cur_remaining(&types) > 0) {
        uint8_t t = cur_u8(&types);
        if (out->cert_types_n < sizeof out->cert_types) out->cert_types[out->cert_types_n++] = t;
    }
    /* TLS1.2 has a signature list; TLS1.0/1.1 go straight to the CA names.
     * Tell them apart by whether the rest parses as two vectors. */
    cur_t probe = c;
    cur_t sigs = cur_vec16(&probe);
    cur_t names12 = cur_vec16(&probe);
    if (version >= 0x0303 || (version == 0 && cur_done(&probe))) {
        c = probe;
        while (cur_remaining(&sigs) >= 2) tls_extension_list_add(&out->sig_algs, cur_u16(&sigs));
        while (cur_ok(&names12) && cur_remaining(&names12) > 0) {
            (void)cur_vec16(&names12);
            if (cur_ok(&names12) && out->ca_names < UINT16_MAX) out->ca_names++;
        }
        return finish(&c, &out->anomalies);
    }
    cur_t names = cur_vec16(&c);
    while (cur_ok(&names) && cur_remaining(&names) > 0) {
        (void)cur_vec16(&names);
        if (cur_ok(&names) && out->ca_names < UINT16_MAX) out->ca_names++;
    }
    return finish(&c, &out->anomalies);
}

bool tls_certificate_parse_verify(const uint8_t *body, size_t len, bool has_scheme, tls_cert_verify *out)
{
    memset(out, 0, sizeof *out);
    cur_t c = cur_init(body, len);
    if (has_scheme) out->scheme = cur_u16(&c);
    cur_t sig = cur_vec16(&c);
    out->sig_len = (uint16_t)cur_remaining(&sig);
    return finish(&c, &out->anomalies);
}

bool tls_certificate_parse_status(const uint8_t *body, size_t len, tls_cert_status *out)
{
    memset(out, 0, sizeof *out);
    cur_t c = cur_init(body, len);
    out->status_type = cur_u8(&c);
    cur_t resp = cur_vec24(&c);
    if (cur_ok(&c)) {
        out->response = resp.p;
        out->response_len = (uint32_t)cur_remaining(&resp);
    }
    return finish(&c, &out->anomalies);
}
