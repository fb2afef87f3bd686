/* Glue between the layers; holds no bytes of its own. The handshake
 * reassembler is fed only cleartext handshake records; when the direction
 * turns encrypted a partially received message can never complete, so it
 * is dropped. */
#include "tls_stream.h"

#include <string.h>

static void emit(tls_stream *s, tls_event *ev)
{
    ev->rec = s->cur_rec;
    s->anomalies |= ev->anomalies;
    if (s->cb) s->cb(s->user, ev);
}

static void on_message(void *user, const tls_hs_msg *m)
{
    tls_stream *s = user;
    tls_message msg; /* lives for this delivery only: not in every stream */
    tls_message_parse(m, &s->ctx, &msg);
    if (m->type == TLS_HS_CLIENT_HELLO && msg.ok)
        for (unsigned i = 0; i < msg.u.ch.ext.versions.n; i++)
            if (tls_names_version_is_tls13(msg.u.ch.ext.versions.v[i])) s->offered_tls13 = true;
    if (m->type == TLS_HS_SERVER_HELLO && msg.ok) {
        const tls_server_hello *sh = &msg.u.sh;
        s->ctx.version = sh->version;
        s->ctx.cipher = sh->cipher;
        if (s->auto_encrypt && !sh->is_hrr && tls_names_version_is_tls13(sh->version))
            tls_record_set_encrypted(&s->rec, TLS_RECORD_ENC_TLS13);
    }
    tls_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = TLS_EV_HANDSHAKE;
    ev.hs = m;
    ev.msg = &msg;
    ev.anomalies = msg.anomalies;
    emit(s, &ev);
}

static void on_sslv2(tls_stream *s, const tls_record *r)
{
    tls_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = TLS_EV_SSLV2;
    /* Hellos open a direction; later SSLv2 records are key exchange or
     * ciphertext whose first byte means nothing. */
    if (!r->body || r->body_len == 0 || r->offset != 0) return;
    if (r->body[0] == 1) {
        tls_message msg;
        memset(&msg, 0, sizeof msg);
        msg.type = TLS_HS_CLIENT_HELLO;
        msg.ok = tls_hello_parse_sslv2_client(r->body, r->body_len, &msg.u.ch);
        msg.anomalies = msg.u.ch.anomalies;
        ev.msg = &msg;
        ev.anomalies = msg.anomalies;
        emit(s, &ev);
    } else if (r->body[0] == 4) {
        tls_sslv2_server_hello sh;
        tls_hello_parse_sslv2_server(r->body, r->body_len, &sh);
        s->ctx.version = 0x0002;
        ev.sslv2_sh = &sh;
        ev.anomalies = sh.anomalies;
        emit(s, &ev);
    }
}

static void on_record(void *user, const tls_record *r)
{
    tls_stream *s = user;
    s->cur_rec = r;
    tls_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = TLS_EV_RECORD;
    ev.anomalies = r->anomalies;
    emit(s, &ev);
    if (r->sslv2) {
        on_sslv2(s, r);
        return;
    }
    if (r->content_type != TLS_CT_HANDSHAKE && tls_handshake_pending(&s->hs)) {
        s->hs.anomalies |= TLS_ANOM_BIT(INTERLEAVED_CONTENT);
        s->anomalies |= TLS_ANOM_BIT(INTERLEAVED_CONTENT);
    }
    memset(&ev, 0, sizeof ev);
    switch (r->content_type) {
    case TLS_CT_HANDSHAKE:
        if (r->encrypted || !r->body) {
            tls_handshake_reset(&s->hs);
            break;
        }
        tls_handshake_feed(&s->hs, r->body, r->body_len, r->offset);
        break;
    case TLS_CT_ALERT:
        ev.kind = TLS_EV_ALERT;
        tls_alert_parse(r->body, r->body ? r->body_len : r->length, r->encrypted || !r->body, &ev.alert);
        ev.alert.record_len = r->length;
        ev.anomalies = ev.alert.anomalies;
        emit(s, &ev);
        break;
    case TLS_CT_CHANGE_CIPHER_SPEC:
        ev.kind = TLS_EV_CCS;
        ev.anomalies = r->body ? tls_alert_parse_ccs(r->body, r->body_len) : (r->length == 1 ? 0 : TLS_ANOM_BIT(CCS_MALFORMED));
        emit(s, &ev);
        /* TLS1.3 middlebox-compatibility CCS changes nothing; a client
         * that offered 1.3 whose peer's choice we were not told gets the
         * TLS1.3 rule (outer type 23 is ciphertext, 22/21 stay clear) so a
         * second ClientHello after HelloRetryRequest is still parsed. */
        if (s->auto_encrypt && s->rec.enc == TLS_RECORD_CLEAR && !tls_names_version_is_tls13(s->ctx.version)) {
            bool guess13 = s->ctx.version == 0 && s->offered_tls13;
            tls_record_set_encrypted(&s->rec, guess13 ? TLS_RECORD_ENC_TLS13 : TLS_RECORD_ENC_TLS12);
            tls_handshake_reset(&s->hs);
        }
        break;
    case TLS_CT_HEARTBEAT:
        ev.kind = TLS_EV_HEARTBEAT;
        if (r->body && !r->encrypted) tls_alert_parse_heartbeat(r->body, r->body_len, &ev.heartbeat);
        ev.heartbeat.record_len = r->length;
        ev.anomalies = ev.heartbeat.anomalies;
        emit(s, &ev);
        break;
    default:
        break;
    }
    s->cur_rec = NULL;
}

void tls_stream_init(tls_stream *s, const tls_stream_config *cfg, tls_stream_cb cb, void *user)
{
    memset(s, 0, sizeof *s);
    s->cb = cb;
    s->user = user;
    s->is_server = cfg->is_server;
    s->auto_encrypt = !cfg->no_auto_encrypt;
    tls_record_init(&s->rec, cfg->rec_buf, cfg->rec_cap, on_record, s);
    tls_handshake_init(&s->hs, cfg->hs_buf, cfg->hs_cap, cfg->max_handshake, on_message, s);
}

void tls_stream_set_mem(tls_stream *s, const tls_mem *mem)
{
    tls_record_set_mem(&s->rec, mem);
    tls_handshake_set_mem(&s->hs, mem);
}

void tls_stream_feed(tls_stream *s, const uint8_t *data, size_t len)
{
    tls_record_feed(&s->rec, data, len);
    s->anomalies |= s->rec.anomalies | s->hs.anomalies;
}

void tls_stream_gap(tls_stream *s, uint64_t n)
{
    tls_record_gap(&s->rec, n);
    /* a handshake message being gathered lost bytes: drop it, the records
     * found after the gap start new ones */
    if (tls_record_resyncing(&s->rec) || tls_record_desynced(&s->rec)) tls_handshake_reset(&s->hs);
    s->anomalies |= s->rec.anomalies;
}

void tls_stream_set_context(tls_stream *s, uint16_t version, uint16_t cipher)
{
    s->ctx.version = version;
    s->ctx.cipher = cipher;
    if (!s->auto_encrypt || s->is_server) return;
    if (tls_names_version_is_tls13(version) && s->rec.enc == TLS_RECORD_CLEAR)
        tls_record_set_encrypted(&s->rec, TLS_RECORD_ENC_TLS13);
    else if (version && !tls_names_version_is_tls13(version) && s->rec.enc == TLS_RECORD_ENC_TLS13)
        tls_record_set_encrypted(&s->rec, TLS_RECORD_ENC_TLS12); /* guessed 1.3 after our CCS: wrong */
}

void tls_stream_set_encrypted(tls_stream *s, enum tls_record_enc enc)
{
    tls_record_set_encrypted(&s->rec, enc);
    if (enc != TLS_RECORD_CLEAR) tls_handshake_reset(&s->hs);
}

void tls_stream_set_headers_only(tls_stream *s, bool on) { tls_record_set_headers_only(&s->rec, on); }

void tls_stream_release(tls_stream *s)
{
    tls_record_release(&s->rec);
    if (tls_handshake_buffered(&s->hs)) {
        if (tls_handshake_pending(&s->hs)) {
            s->hs.anomalies |= TLS_ANOM_BIT(MEMORY_BUDGET);
            s->anomalies |= TLS_ANOM_BIT(MEMORY_BUDGET);
        }
        tls_handshake_reset(&s->hs);
    }
}

size_t tls_stream_buffered(const tls_stream *s)
{
    return tls_record_buffered(&s->rec) + tls_handshake_buffered(&s->hs);
}
