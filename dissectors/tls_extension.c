/* Extension parsers, one per extension type, each a cursor over the
 * extension body. Meaning depends on the carrying message (key_share is a
 * list in ClientHello, one entry in ServerHello, a bare group in HRR), so
 * hs_type is passed down, as Wireshark's packet-tls-utils.c does. */
#include "tls_extension.h"

#include <string.h>

void tls_extension_list_add(tls_u16_list *l, uint16_t v)
{
    if (l->n < TLS_LIST_CAP) l->v[l->n++] = v;
    else if (l->truncated < UINT16_MAX) l->truncated++;
}

bool tls_extension_has(const tls_exts *e, uint16_t type)
{
    for (unsigned i = 0; i < e->types.n; i++)
        if (e->types.v[i] == type) return true;
    return false;
}

static void u16_list(cur_t *c, tls_u16_list *l, tls_exts *out)
{
    if (cur_remaining(c) % 2) out->anomalies |= TLS_ANOM_BIT(ODD_LIST_LENGTH);
    while (cur_remaining(c) >= 2) tls_extension_list_add(l, cur_u16(c));
    cur_skip(c, cur_remaining(c));
    if (l->truncated) out->anomalies |= TLS_ANOM_BIT(LIST_TRUNCATED);
}

static void copy_name(char *dst, size_t dstcap, const uint8_t *src, size_t n, bool *bad)
{
    size_t k = n < dstcap - 1 ? n : dstcap - 1;
    for (size_t i = 0; i < k; i++) {
        uint8_t ch = src[i];
        if (ch < 0x21 || ch > 0x7e) {
            dst[i] = '?';
            if (bad) *bad = true;
        } else {
            dst[i] = (char)ch;
        }
    }
    dst[k] = '\0';
}

static void ext_sni(cur_t *b, uint8_t hs, tls_exts *out)
{
    out->has_sni = true;
    if (hs != TLS_HS_CLIENT_HELLO) return; /* server: empty acknowledgement */
    cur_t list = cur_vec16(b);
    bool bad = false;
    while (cur_ok(&list) && cur_remaining(&list) > 0) {
        uint8_t type = cur_u8(&list);
        cur_t name = cur_vec16(&list);
        if (!cur_ok(&list)) break;
        if (out->sni_names < UINT8_MAX) out->sni_names++;
        if (type != 0 || out->sni_names > 1) {
            bad = true;
            continue;
        }
        size_t n = cur_remaining(&name);
        if (n == 0 || n > TLS_SNI_MAX) bad = true;
        copy_name(out->sni, sizeof out->sni, name.p, n, &bad);
    }
    if (!cur_ok(&list) || out->sni_names == 0) bad = true;
    if (bad) out->anomalies |= TLS_ANOM_BIT(SNI_MALFORMED);
}

static void ext_alpn(cur_t *b, tls_exts *out)
{
    cur_t list = cur_vec16(b);
    while (cur_ok(&list) && cur_remaining(&list) > 0) {
        cur_t p = cur_vec8(&list);
        if (!cur_ok(&list)) break;
        size_t n = cur_remaining(&p);
        if (out->alpn_n == 0 && out->alpn_truncated == 0 && n > 0) {
            out->alpn0_len = (uint8_t)n;
            out->alpn0_first = p.p[0];
            out->alpn0_last = p.p[n - 1];
        }
        if (out->alpn_n < TLS_ALPN_MAX_ENTRIES) {
            copy_name(out->alpn[out->alpn_n], sizeof out->alpn[0], p.p, cur_remaining(&p), NULL);
            out->alpn_n++;
        } else if (out->alpn_truncated < UINT8_MAX) {
            out->alpn_truncated++;
            out->anomalies |= TLS_ANOM_BIT(LIST_TRUNCATED);
        }
    }
    if (!cur_ok(&list)) cur_fail(b);
}

static void ext_key_share(cur_t *b, uint8_t hs, bool hrr, tls_exts *out)
{
    if (hrr) {
        out->key_share_group = cur_u16(b);
        return;
    }
    if (hs == TLS_HS_SERVER_HELLO) {
        out->key_share_group = cur_u16(b);
        (void)cur_vec16(b);
        return;
    }
    cur_t list = cur_vec16(b);
    while (cur_ok(&list) && cur_remaining(&list) > 0) {
        uint16_t g = cur_u16(&list);
        (void)cur_vec16(&list);
        if (cur_ok(&list)) tls_extension_list_add(&out->key_share_groups, g);
    }
    if (!cur_ok(&list)) cur_fail(b);
}

static void ext_psk(cur_t *b, uint8_t hs, tls_exts *out)
{
    out->has_psk = true;
    if (hs == TLS_HS_SERVER_HELLO) {
        out->psk_selected = cur_u16(b);
        return;
    }
    cur_t ids = cur_vec16(b);
    while (cur_ok(&ids) && cur_remaining(&ids) > 0) {
        (void)cur_vec16(&ids);
        (void)cur_u32(&ids);
        if (cur_ok(&ids) && out->psk_identities < UINT16_MAX) out->psk_identities++;
    }
    (void)cur_vec16(b); /* binders */
    if (!cur_ok(&ids)) cur_fail(b);
}

static void ext_one(uint16_t type, cur_t *b, uint8_t hs, bool hrr, tls_exts *out)
{
    switch (type) {
    case 0: ext_sni(b, hs, out); break;
    case 1: out->max_fragment_length = cur_u8(b); break;
    case 5:
        out->has_status_request = true;
        if (hs == TLS_HS_CLIENT_HELLO || hs == TLS_HS_CERTIFICATE_REQUEST) {
            out->status_type = cur_u8(b);
            cur_skip(b, cur_remaining(b));
        } else if (hs == TLS_HS_CERTIFICATE) {
            out->status_type = cur_u8(b); /* TLS1.3 CertificateStatus in entry */
            cur_skip(b, cur_remaining(b));
        }
        break;
    case 10: { cur_t l = cur_vec16(b); u16_list(&l, &out->groups, out); break; }
    case 11: {
        cur_t l = cur_vec8(b);
        while (cur_remaining(&l) > 0) {
            uint8_t f = cur_u8(&l);
            if (out->ec_point_formats_n < sizeof out->ec_point_formats)
                out->ec_point_formats[out->ec_point_formats_n++] = f;
            else if (out->ec_point_formats_truncated < UINT8_MAX)
                out->ec_point_formats_truncated++;
        }
        break;
    }
    case 13: { cur_t l = cur_vec16(b); u16_list(&l, &out->sig_algs, out); break; }
    case 50: { cur_t l = cur_vec16(b); u16_list(&l, &out->sig_algs_cert, out); break; }
    case 15: out->has_heartbeat = true; out->heartbeat_mode = cur_u8(b); break;
    case 16: ext_alpn(b, out); break;
    case 18: out->has_sct = true; cur_skip(b, cur_remaining(b)); break;
    case 21: {
        out->has_padding = true;
        out->padding_len = (uint16_t)cur_remaining(b);
        cur_skip(b, cur_remaining(b));
        break;
    }
    case 22: out->has_etm = true; break;
    case 23: out->has_ems = true; break;
    case 27: out->has_compress_cert = true; cur_skip(b, cur_remaining(b)); break;
    case 28: out->record_size_limit = cur_u16(b); break;
    case 35:
        out->has_session_ticket = true;
        out->session_ticket_len = (uint16_t)cur_remaining(b);
        cur_skip(b, cur_remaining(b));
        break;
    case 41: ext_psk(b, hs, out); break;
    case 42:
        out->has_early_data = true;
        if (hs == TLS_HS_NEW_SESSION_TICKET) out->early_data_max = cur_u32(b);
        break;
    case 43:
        if (hs == TLS_HS_CLIENT_HELLO) {
            cur_t l = cur_vec8(b);
            u16_list(&l, &out->versions, out);
        } else {
            out->selected_version = cur_u16(b);
        }
        break;
    case 44: {
        out->has_cookie = true;
        cur_t ck = cur_vec16(b);
        out->cookie_len = (uint16_t)cur_remaining(&ck);
        break;
    }
    case 45: {
        cur_t l = cur_vec8(b);
        while (cur_remaining(&l) > 0) {
            uint8_t m = cur_u8(&l);
            if (m == 0) out->psk_modes |= TLS_PSK_KE;
            else if (m == 1) out->psk_modes |= TLS_PSK_DHE_KE;
        }
        break;
    }
    case 49: out->has_post_handshake_auth = true; break;
    case 40: /* key_share before TLS1.3 draft 23 */
    case 51: ext_key_share(b, hs, hrr, out); break;
    case 0xfe0d:
        out->has_ech = true;
        if (hs == TLS_HS_CLIENT_HELLO) out->ech_type = cur_u8(b);
        cur_skip(b, cur_remaining(b));
        break;
    case 0xff01: {
        out->has_reneg_info = true;
        cur_t l = cur_vec8(b);
        out->reneg_info_len = (uint8_t)cur_remaining(&l);
        break;
    }
    default: cur_skip(b, cur_remaining(b)); break;
    }
}

void tls_extension_parse_block(cur_t *c, uint8_t hs_type, bool hrr, tls_exts *out)
{
    if (cur_remaining(c) == 0) return;
    out->present = true;
    cur_t block = cur_vec16(c);
    if (!cur_ok(c)) {
        out->anomalies |= TLS_ANOM_BIT(HANDSHAKE_LENGTH_MISMATCH);
        return;
    }
    while (cur_remaining(&block) > 0) {
        uint16_t type = cur_u16(&block);
        cur_t body = cur_vec16(&block);
        if (!cur_ok(&block)) {
            out->anomalies |= TLS_ANOM_BIT(EXTENSION_MALFORMED);
            break;
        }
        if (!tls_names_is_grease(type) && tls_extension_has(out, type))
            out->anomalies |= TLS_ANOM_BIT(DUPLICATE_EXTENSION);
        tls_extension_list_add(&out->types, type);
        ext_one(type, &body, hs_type, hrr, out);
        if (!cur_ok(&body)) out->anomalies |= TLS_ANOM_BIT(EXTENSION_MALFORMED);
        else if (cur_remaining(&body) > 0) out->anomalies |= TLS_ANOM_BIT(TRAILING_BYTES);
    }
    if (out->types.truncated) out->anomalies |= TLS_ANOM_BIT(LIST_TRUNCATED);
}
