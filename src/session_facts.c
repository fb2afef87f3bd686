/* The typed facts of a handshake (src/facts.h, docs/facts.md): what the
 * state machine recorded in struct hs and struct tconn, turned into the one
 * record rules and event writers see. Built once per handshake, when its
 * outcome is decided, into the sessions' emit buffer: the facts borrow
 * their strings from the connection and that buffer, so they are valid
 * during the emit callback only. */
#include <stdbool.h>
#include <string.h>

#include "decode.h"
#include "session_int.h"
#include "tls_names.h"

static void cert_facts(struct facts_CERT *o, const x509_summary *x, const char **san, const char **ips)
{
    memset(o, 0, sizeof *o);
    FALL(CERT, o);
    o->malformed = !x->parsed;
    o->subject = x->subject;
    o->issuer = x->issuer;
    o->cn = x->cn[0] ? x->cn : NULL;
    o->serial = x->serial;
    if (x->validity_ok) {
        o->not_before = o->not_before_epoch = x->not_before;
        o->not_after = o->not_after_epoch = x->not_after;
        o->validity_days = (x->not_after - x->not_before) / 86400;
    } else {
        FNULL(CERT, o, not_before);
        FNULL(CERT, o, not_after);
        FABSENT(CERT, o, not_before_epoch);
        FABSENT(CERT, o, not_after_epoch);
        FABSENT(CERT, o, validity_days);
    }
    for (unsigned i = 0; i < x->san_dns_n && i < X509_SUMMARY_SAN_MAX; i++) san[i] = x->san_dns[i];
    o->san = (struct facts_strs){ san, x->san_dns_n };
    for (unsigned i = 0; i < x->san_ip_n && i < X509_SUMMARY_IP_MAX; i++) ips[i] = x->san_ip[i];
    o->san_ip = (struct facts_strs){ ips, x->san_ip_n };
    o->key_type = x->key_type[0] ? x->key_type : NULL;
    o->key_bits = x->key_bits;
    o->curve = x->curve[0] ? x->curve : NULL;
    o->sig = x->sig_alg[0] ? x->sig_alg : NULL;
    o->sha256 = x->sha256;
    o->self_issued = x->self_issued;
    o->self_signed = x->self_signed;
    o->is_ca = x->is_ca;
}

static void alert_facts(struct facts_ALERT *o, const struct alert_rec *a)
{
    memset(o, 0, sizeof *o);
    FALL(ALERT, o);
    o->from = a->from == C ? FACTS_CLIENT : FACTS_SERVER;
    if (a->encrypted) {
        o->level = -1;
        FNULL(ALERT, o, code);
        FNULL(ALERT, o, description);
    } else {
        o->level = a->level == 2 ? FACTS_LEVEL_FATAL : a->level == 1 ? FACTS_LEVEL_WARNING : FACTS_LEVEL_UNKNOWN;
        o->code = a->code;
        o->description = (uint16_t)(uint8_t)a->code;
    }
    o->encrypted = a->encrypted || a->decrypted;
    o->decrypted = a->decrypted;
    o->inferred = a->inferred;
    o->after = a->after[0] ? a->after : NULL;
    o->time = a->time;
    o->during_handshake = a->during_hs;
    o->after_peer_close = a->after_peer_close;
}

static bool offered(const tls_u16_list *l, uint16_t v)
{
    for (unsigned i = 0; i < l->n; i++)
        if (l->v[i] == v) return true;
    return false;
}

static struct facts_codes codes(const tls_u16_list *l) { return (struct facts_codes){ l->v, l->n }; }

/* The hellos' inputs of the fingerprints (views into h, no formatting).
 * A hello whose lists were cut at their caps, or that did not parse whole,
 * gets no fingerprint: a fingerprint of part of it would be wrong. An
 * SSLv2-format ClientHello and an SSLv2 ServerHello have none (their
 * references compute none), nor does a hello inherited from the first
 * handshake by an encrypted renegotiation. */
static void add_fingerprints(tls_facts *o, struct emit_buf *eb, const struct hs *h)
{
    struct fp_hellos *fp = &eb->fp;
    memset(fp, 0, sizeof *fp);
    if (h->have_ch && h->ch_read) {
        fp->have_c = true;
        fp_client_from_hello(&fp->c, &h->ch, h->sslv2);
    }
    if (h->have_sh && h->sh_read) {
        fp->have_s = true;
        fp_server_from(&fp->s, h->sh.legacy_version, h->sh.cipher, &h->sh.types, h->sh.anomalies);
    }
    o->ja3 = o->ja3_string = o->ja3s = o->ja3s_string = o->ja4 = o->ja4_r = fp;
    if (!fp->have_c || !fp->c.complete) {
        FNULL(TLS, o, ja3);
        FNULL(TLS, o, ja3_string);
        FNULL(TLS, o, ja4);
        FNULL(TLS, o, ja4_r);
    }
    if (!fp->have_s || !fp->s.complete) {
        FNULL(TLS, o, ja3s);
        FNULL(TLS, o, ja3s_string);
    }
}

static void add_negotiation(tls_facts *o, struct emit_buf *eb, const struct hs *h)
{
    const tls_client_hello *ch = &h->ch;
    const struct sh_kept *sh = &h->sh;
    if (h->have_sh) {
        o->version = o->version_code = sh->version;
        if (sh->version == 0x0002) { /* SSLv2: 3-byte cipher specs, no TLS suite */
            FNULL(TLS, o, cipher);
            FNULL(TLS, o, cipher_code);
        } else {
            o->cipher = sh->cipher;
            o->cipher_code = sh->cipher;
        }
        const tls_cipher_info *ci = tls_names_cipher_info(sh->cipher);
        o->cipher_kx = ci ? tls_names_kx(ci->kx) : NULL;
        o->cipher_enc = ci ? tls_names_enc(ci->enc) : NULL;
        o->cipher_weakness = tls_names_cipher_weakness(sh->cipher);
    } else {
        FNULL(TLS, o, version);
        FNULL(TLS, o, version_code);
        FNULL(TLS, o, cipher);
        FNULL(TLS, o, cipher_code);
    }
    if (h->have_ch) {
        o->client_version = ch->legacy_version;
        uint16_t maxv = 0;
        if (ch->ext.versions.n) {
            o->client_versions = codes(&ch->ext.versions);
            for (unsigned i = 0; i < ch->ext.versions.n; i++) {
                uint16_t v = ch->ext.versions.v[i];
                if (tls_names_is_grease(v)) continue;
                uint16_t rank = tls_names_version_is_tls13(v) ? 0x0304 : v;
                if (rank > maxv) maxv = rank;
            }
        } else {
            eb->one_version = ch->legacy_version;
            o->client_versions = (struct facts_codes){ &eb->one_version, 1 };
            maxv = ch->legacy_version;
        }
        o->client_max_version_code = maxv;
        o->client_ciphers = codes(&ch->ciphers);
        bool weak_only = ch->ciphers.n > 0;
        for (unsigned i = 0; i < ch->ciphers.n && weak_only; i++) {
            uint16_t cs = ch->ciphers.v[i];
            if (tls_names_is_grease(cs) || cs == 0x00ff || cs == 0x5600) continue;
            if ((tls_names_cipher_weakness(cs) & ~(unsigned)TLS_WEAK_CBC) == 0) weak_only = false;
        }
        o->client_ciphers_weak_only = weak_only;
        o->scsv_fallback = offered(&ch->ciphers, 0x5600);
        o->scsv_renegotiation = offered(&ch->ciphers, 0x00ff);
        o->client_groups = codes(&ch->ext.groups);
        o->client_key_shares = codes(&ch->ext.key_share_groups);
        o->sni = ch->ext.has_sni ? ch->ext.sni : NULL;
        unsigned na = 0;
        for (; na < ch->ext.alpn_n && na < TLS_ALPN_MAX_ENTRIES; na++) eb->alpn[na] = ch->ext.alpn[na];
        o->alpn = (struct facts_strs){ eb->alpn, na };
        o->client_extensions = codes(&ch->ext.types);
        o->client_sig_algs = codes(&ch->ext.sig_algs);
    } else {
        FNULL(TLS, o, client_version);
        FNULL(TLS, o, client_max_version_code);
    }
    uint16_t grp = 0;
    if (h->have_sh && sh->key_share_group) grp = sh->key_share_group;
    else if (h->ske_group) grp = h->ske_group;
    if (grp) o->group = grp;
    else FNULL(TLS, o, group);
    if (h->dh_bits) o->dh_bits = h->dh_bits;
    else FNULL(TLS, o, dh_bits);
    o->hrr = h->hrr;
    if (h->hrr_group) o->hrr_group = h->hrr_group;
    else FNULL(TLS, o, hrr_group);
    o->alpn_selected = h->have_sh && sh->alpn_n ? sh->alpn0 : h->ee_alpn[0] ? h->ee_alpn : NULL;
    if (h->have_sh) o->server_extensions = codes(&sh->types);
    FALL(RENEG_INFO, &o->reneg_info);
    if (h->have_ch) o->reneg_info.client = ch->ext.has_reneg_info;
    else FNULL(RENEG_INFO, &o->reneg_info, client);
    if (h->have_sh) o->reneg_info.server = sh->has_reneg_info;
    else FNULL(RENEG_INFO, &o->reneg_info, server);
    o->heartbeat_offered = h->have_ch && ch->ext.has_heartbeat;
    FALL(EARLY_DATA, &o->early_data);
    o->early_data.offered = h->have_ch && ch->ext.has_early_data;
    o->early_data.sent = h->early_data_sent;
    if (h->early_accepted) o->early_data.accepted = true;
    else FNULL(EARLY_DATA, &o->early_data, accepted);
    add_fingerprints(o, eb, h);
}

static void add_certs(tls_facts *o, struct emit_buf *eb, const struct hs *h)
{
    if (h->leaf) {
        cert_facts(&eb->leaf, h->leaf, eb->san[0], eb->san_ip[0]);
        o->server_cert = &eb->leaf;
    }
    for (int i = 0; i < h->nchain_x; i++)
        cert_facts(&eb->chain[i], &h->chain_x[i], eb->san[i + 2], eb->san_ip[i + 2]);
    o->chain = (struct facts_arr){ eb->chain, (uint32_t)h->nchain_x };
    o->chain_len = h->chain_len;
    o->server_cert_encrypted = h->tls13 && !h->server_cert_seen;
    o->cert_request = h->cert_request;
    o->cert_request_ca_names = h->ca_names;
    o->client_cert_sent = h->client_cert_sent;
    o->client_cert_empty = h->client_cert_empty;
    if (h->client_leaf) {
        cert_facts(&eb->client_leaf, h->client_leaf, eb->san[1], eb->san_ip[1]);
        o->client_cert = &eb->client_leaf;
    }
    FALL(OCSP, &o->ocsp);
    o->ocsp.status = (int8_t)(h->ocsp_status >= 0 && h->ocsp_status <= 2 ? h->ocsp_status : -1);
}

static int resumption_offered(const struct hs *h)
{
    if (!h->have_ch) return -1;
    if (h->ch.ext.has_psk) return FACTS_RES_PSK;
    if (h->ch.ext.has_session_ticket && h->ch.ext.session_ticket_len > 0) return FACTS_RES_TICKET;
    if (h->ch.session_id_len == 0 || h->tls13) return -1;
    if (h->have_sh) return FACTS_RES_SESSION_ID; /* a TLS <= 1.2 ServerHello: a real offer */
    /* No answer: a client offering TLS 1.3 sends a random legacy_session_id
     * (middlebox compatibility, RFC 8446 D.4), not a resumption offer,
     * unless it may also fall back to TLS <= 1.2 with a cached session. */
    bool v13 = false, old = false;
    for (unsigned i = 0; i < h->ch.ext.versions.n; i++) {
        uint16_t v = h->ch.ext.versions.v[i];
        if (tls_names_is_grease(v)) continue;
        if (tls_names_version_is_tls13(v)) v13 = true;
        else old = true;
    }
    if (!v13) return FACTS_RES_SESSION_ID;
    return old ? FACTS_RES_SESSION_ID_OR_COMPAT : -1;
}

bool is_resumed(const struct hs *h)
{
    if (!h->have_sh) return false;
    if (h->tls13) return h->sh.has_psk;
    return h->abbreviated;
}

bool any_gap(const struct tconn *c)
{
    const struct flow *f = c->f;
    return f->gaps[0] || f->gaps[1] || tls_record_desynced(&c->st[0].rec) ||
           tls_record_desynced(&c->st[1].rec);
}

static int8_t side(int dir) { return dir == C ? FACTS_CLIENT : FACTS_SERVER; }

static void flow_ip(struct facts_ip *o, const struct flow *f, const uint8_t *addr)
{
    o->family = f->key.family == 6 ? 6 : 4;
    memcpy(o->a, addr, o->family == 6 ? 16 : 4);
}

/* The typed facts of handshake h (docs/facts.md), in eb. */
/* The OpenVPN control channel the handshake ran in; absent on plain TLS. */
static void add_openvpn(tls_facts *o, const struct tconn *c)
{
    if (!c->ovpn) {
        FABSENT(TLS, o, encapsulation);
        FABSENT(TLS, o, openvpn);
        return;
    }
    o->encapsulation = "openvpn";
    struct facts_OPENVPN *v = &o->openvpn;
    FALL(OPENVPN, v);
    v->protection = (int8_t)(c->ovpn_prot - 1);
    if (c->ovpn_prot == OVPN_PROT_TLS_AUTH) v->hmac_bytes = c->ovpn_hmac;
    else FNULL(OPENVPN, v, hmac_bytes);
    v->control_encrypted = ovpn_encrypted(c);
    const ovpn_stats *a = &c->ov[C].st, *b = &c->ov[S].st;
    v->control_packets = (int64_t)(a->control + b->control);
    v->ack_packets = (int64_t)(a->acks + b->acks);
    v->data_packets = (int64_t)(a->data + b->data);
    v->retransmitted = (int64_t)(a->retransmitted + b->retransmitted);
    v->other_key_packets = (int64_t)(a->other_key + b->other_key);
    v->malformed = (int64_t)(a->malformed + b->malformed + a->out_of_window + b->out_of_window);
    v->framing_lost = (int64_t)(a->lost + b->lost);
}

static void add_messages(tls_facts *o, struct emit_buf *eb, const struct tconn *c)
{
    if (!c->ml) {
        FABSENT(TLS, o, messages);
        return;
    }
    for (int i = 0; i < c->ml->n; i++) {
        const struct mlog_ent *e = &c->ml->e[i];
        struct facts_MSG *m = &eb->msgs[i];
        FALL(MSG, m);
        m->from = (int8_t)side(e->dir);
        m->type = hist_letter_name(e->type);
        m->code = e->code;
        if (e->code < 0) FABSENT(MSG, m, code);
        m->ms = e->ms;
    }
    o->messages = (struct facts_arr){ eb->msgs, c->ml->n };
}

tls_facts *build_facts(struct tconn *c, struct hs *h, int outcome, struct emit_buf *eb)
{
    struct flow *f = c->f;
    tls_facts *o = &eb->f;
    memset(o, 0, sizeof *o);
    FALL(TLS, o);
    /* set by certificate validation only */
    FABSENT(TLS, o, server_cert_validation);
    FABSENT(TLS, o, server_cert_previous_sha256);
    FABSENT(TLS, o, server_cert_previous_issuer);
    FABSENT(TLS, o, server_cert_changed);
    FABSENT(TLS, o, server_cert_change);
    add_negotiation(o, eb, h);
    o->outcome = (int8_t)outcome;
    o->history = c->hist;
    add_messages(o, eb, c);
    o->handshakes = h->index + 1;
    o->established = h->done;
    o->resumed = is_resumed(h);
    FALL(RESUMPTION, &o->resumption);
    o->resumption.offered = (int8_t)resumption_offered(h);
    o->resumption.accepted = is_resumed(h);
    FALL(LAST_MESSAGE, &o->last_message);
    o->last_message.client = c->last[C][0] ? c->last[C] : NULL;
    o->last_message.server = c->last[S][0] ? c->last[S] : NULL;
    o->server_hello_seen = h->have_sh;
    int why = -1;
    if (ovpn_encrypted(c)) why = FACTS_INC_ENCRYPTED; /* no TLS to read, nothing lost */
    else if (!h->have_ch && !h->reneg && !c->client_not_tls)
        why = c->n_hs > 1 ? FACTS_INC_START_MISSING : FACTS_INC_NO_CH;
    else if (h->gap) why = FACTS_INC_GAP;
    else if (any_gap(c)) why = FACTS_INC_BYTES;
    o->capture_incomplete = why >= 0;
    o->capture_incomplete_reason = (int8_t)why;
    o->server_not_tls = c->server_not_tls;
    o->server_first_bytes = c->server_not_tls ? c->server_first : NULL;
    o->client_not_tls = c->client_not_tls;
    o->client_first_bytes = c->client_not_tls ? c->client_first : NULL;
    FALL(CLOSE, &o->close);
    o->close.by = (int8_t)(c->close_by < 0 ? -1 : side(c->close_by));
    o->close.how = (int8_t)(c->close_by < 0 ? -1 : c->close_how ? FACTS_RST : FACTS_FIN);
    o->close.after = c->close_by < 0 || !c->close_after[0] ? NULL : c->close_after;
    struct facts_TIMING *tm = &o->timing_ms;
    FALL(TIMING, tm);
    if (h->have_sh && h->have_ch && !h->inherited) tm->server_hello = (h->t_sh - h->t_start) * 1000.0;
    else FNULL(TIMING, tm, server_hello);
    if (h->done && h->have_ch) tm->finished = (h->t_done - h->t_start) * 1000.0;
    else FNULL(TIMING, tm, finished);
    if (outcome == OUT_TIMEOUT) tm->no_answer = (c->now - h->t_start) * 1000.0;
    else FNULL(TIMING, tm, no_answer);
    if (h->t_answer > 0 && h->have_ch && !h->inherited) tm->first_answer = (h->t_answer - h->t_start) * 1000.0;
    else FNULL(TIMING, tm, first_answer);
    tm->timeout = c->s->o.handshake_timeout * 1000.0;
    if (h->late_answer) o->late_answer = true;
    else FABSENT(TLS, o, late_answer);
    /* the capture dropped packets while this handshake was on the wire
     * (with a second of slack: drops are read once a second) */
    if (c->s->nloss && session_loss_overlaps(c->s, h->t_start - 1.0, c->now + 1.0)) {
        o->capture_loss = true;
        c->s->loss_flagged++;
    } else FABSENT(TLS, o, capture_loss);
    FABSENT(TLS, o, capture);

    for (int i = 0; i < h->nalerts; i++) alert_facts(&eb->alerts[i], &h->alerts[i]);
    o->alerts = (struct facts_arr){ eb->alerts, (uint32_t)h->nalerts };
    o->alert_count = h->nalerts + h->alerts_dropped;
    struct facts_POST_ALERTS *pa = &o->alerts_after_handshake;
    FSET(POST_ALERTS, pa, count, c->post_alerts);
    if (c->post_alerts) {
        FSET(POST_ALERTS, pa, last_from, side(c->post_alert_from));
        if (c->post_alert_code >= 0) FSET(POST_ALERTS, pa, last_description, (uint16_t)(uint8_t)c->post_alert_code);
        else FNULL(POST_ALERTS, pa, last_description);
        FSET(POST_ALERTS, pa, last_fatal, c->post_alert_level == 2);
    }
    o->last_alert = h->nalerts ? &eb->alerts[h->nalerts - 1] : NULL;
    add_certs(o, eb, h);

    o->hello_request = h->reneg && h->initiator == S;
    struct facts_RENEG *rn = &o->renegotiation;
    FALL(RENEG, rn);
    rn->attempt = h->reneg;
    rn->initiator = (int8_t)(h->reneg ? side(h->initiator) : -1);
    rn->encrypted = h->reneg && !h->reneg_cleartext;
    rn->rejected_by = (int8_t)(outcome == OUT_RENEG_REJECTED ? side(h->reneg_rejecter) : -1);
    rn->after_tls13 = h->reneg && c->tls13;
    rn->inherited_negotiation = h->inherited;
    /* the same, in the docs/facts.md list form the rules use */
    if (h->reneg) {
        struct facts_RENEG_ENTRY *e = &eb->reneg;
        memset(e, 0, sizeof *e);
        FALL(RENEG_ENTRY, e);
        e->initiator = side(h->initiator);
        e->time = h->t_start;
        e->encrypted = !h->reneg_cleartext;
        e->result = outcome == OUT_RENEGOTIATED ? FACTS_RR_ACCEPTED
                    : outcome == OUT_RENEG_REJECTED && h->reneg_ignored && !h->reneg_rejected_seen ? FACTS_RR_IGNORED
                    : outcome == OUT_RENEG_REJECTED ? FACTS_RR_REJECTED : FACTS_RR_UNKNOWN;
        e->evidence = h->reneg_rejected_seen ? "alert from the peer instead of a handshake answer"
                      : h->reneg_ignored ? "the peer kept sending data without answering"
                      : outcome == OUT_RENEG_REJECTED ? "the connection closed without a handshake answer"
                      : outcome == OUT_RENEGOTIATED ? "both sides sent ChangeCipherSpec and Finished again"
                      : "no answer seen";
        o->renegotiations = (struct facts_arr){ e, 1 };
    }
    /* a peer that just carried on (ignored the request) did not reject it */
    bool rejected = outcome == OUT_RENEG_REJECTED && !(h->reneg_ignored && !h->reneg_rejected_seen);
    o->renegotiation_rejected_by = (int8_t)(rejected ? side(h->reneg_rejecter) : -1);
    o->renegotiation_count = c->reneg_count;

    struct facts_HEARTBEAT *hb = &o->heartbeat;
    FALL(HEARTBEAT, hb);
    hb->requests = c->hb_req;
    hb->responses = c->hb_resp;
    hb->overflow = c->hb_overflow;
    hb->encrypted = c->hb_encrypted;
    hb->encrypted_requests = c->hb_enc_req;
    hb->encrypted_responses = c->hb_enc_resp;
    hb->max_request_record = c->hb_max_req;
    hb->max_response_record = c->hb_max_resp;
    struct facts_ENCRYPTED *en = &o->encrypted;
    FALL(ENCRYPTED, en);
    en->client_records = (int64_t)c->enc_records[C];
    en->server_records = (int64_t)c->enc_records[S];
    en->client_app_bytes = (int64_t)c->enc_bytes[C];
    en->server_app_bytes = (int64_t)c->enc_bytes[S];
    en->keys_found = c->keys_found;
    en->decrypted = c->decrypted_any;
    en->client_decrypted = (int64_t)c->dec_ok[C];
    en->server_decrypted = (int64_t)c->dec_ok[S];
    en->decrypt_failures = (int64_t)c->dec_failed;
    en->key_updates = (int64_t)c->key_updates[C] + c->key_updates[S];

    tls_anomalies all = c->anomalies | c->st[0].anomalies | c->st[1].anomalies;
    all &= ((tls_anomalies)1 << TLS_ANOM_COUNT) - 1;
    if (h->duplicate_ch) all |= (tls_anomalies)1 << FACTS_ANOM_DUPLICATE_CH;
    o->anomalies = all;

    add_openvpn(o, c);

    struct facts_FLOW *fl = &o->flow;
    FALL(FLOW, fl);
    flow_ip(&fl->client_ip, f, f->cli.addr);
    flow_ip(&fl->server_ip, f, f->srv.addr);
    fl->client_port = f->cli.port;
    fl->server_port = f->srv.port;
    fl->time = h->t_start;
    fl->midstream = f->midstream;
    fl->end_reason = flow_end_name(f->end);
    fl->missing_toserver = (int64_t)f->gaps[DIR_TO_SERVER];
    fl->missing_toclient = (int64_t)f->gaps[DIR_TO_CLIENT];
    if (f->tun.type) {
        fl->tunnel = decode_tunnel_name(f->tun.type);
        if (f->tun.has_id) fl->tunnel_id = f->tun.id;
        else FNULL(FLOW, fl, tunnel_id);
        fl->tunnel_outer_client_ip.family = fl->tunnel_outer_server_ip.family = f->tun.family == 6 ? 6 : 4;
        memcpy(fl->tunnel_outer_client_ip.a, f->tun.outer_cli, 16);
        memcpy(fl->tunnel_outer_server_ip.a, f->tun.outer_srv, 16);
    } else {
        FNULL(FLOW, fl, tunnel);
        FNULL(FLOW, fl, tunnel_id);
        FNULL(FLOW, fl, tunnel_outer_client_ip);
        FNULL(FLOW, fl, tunnel_outer_server_ip);
    }
    return o;
}
