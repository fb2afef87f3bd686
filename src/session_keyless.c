/* Keyless inference: what encrypted records mean when there are no keys,
 * judged by record type and size, as the peers do (PEERS.md):
 *   TLS <= 1.2  the first encrypted handshake record after a side's CCS is
 *               its Finished; after both Finished, an encrypted handshake
 *               record starts a renegotiation (client: ClientHello, server:
 *               HelloRequest); CCS records stay visible, so a renegotiation
 *               completes when both sides send CCS again.
 *   TLS 1.3     after ServerHello everything is application_data; the
 *               client's first encrypted record is its Finished unless it
 *               is alert-sized (19..24 bytes: the client rejected the
 *               server); an alert-sized server record right after the
 *               client's Finished followed by a close means the server
 *               rejected the client (e.g. a missing client certificate),
 *               whatever the client sent after it (its request may cross
 *               the alert); a further server record, or the client
 *               closing first, shows the short record was data.
 * Inferred conclusions say so in the facts (alerts with encrypted: true). */
#include <stdbool.h>
#include <string.h>

#include "session_int.h"

static bool alert_sized(uint16_t len) { return len >= 19 && len <= 24; }

void on_encrypted_tls12(struct tconn *c, int dir, const tls_record *r)
{
    struct hs *h = c->cur;
    if (r->content_type == TLS_CT_HANDSHAKE && r->length == 4 && dir == S && c->first_done &&
        (!h || over(h))) {
        /* no cipher suite makes a 4-byte record: this is a cleartext
         * HelloRequest (00 00 00 00) sent after the handshake */
        struct hs *n = new_hs(c, true, S);
        n->reneg_cleartext = true;
        hist_add(c, dir, 'H');
        set_last(c, dir, "hello_request");
        return;
    }
    if (r->content_type != TLS_CT_HANDSHAKE) {
        /* the peer carries on with data instead of answering */
        if (r->content_type == TLS_CT_APPLICATION_DATA && h && h->reneg && !h->decided &&
            dir != h->initiator && !h->reneg_answered && !h->reneg_rejected_seen) {
            h->reneg_ignored = true;
            h->reneg_rejecter = dir;
        }
        return;
    }
    if (h && !h->decided && !h->reneg && h->ccs[dir] && !h->fin[dir]) {
        h->fin[dir] = true;
        hist_add(c, dir, 'F');
        set_last(c, dir, "finished");
        if (h->fin[C] && h->fin[S]) complete(c, h);
        return;
    }
    if (h && h->reneg && !h->decided) {
        if (dir != h->initiator) h->reneg_answered = true;
        hist_add(c, dir, h->ccs[dir] ? 'F' : 'E');
        set_last(c, dir, h->ccs[dir] ? "finished" : "encrypted_handshake");
        /* after its new CCS, a side's handshake record is its Finished */
        if (h->ccs[dir]) h->fin[dir] = true;
        if (h->fin[C] && h->fin[S]) complete(c, h);
        return;
    }
    if (c->first_done) {
        /* after both Finished: a renegotiation starts (client: ClientHello,
         * server: HelloRequest) */
        struct hs *n = new_hs(c, true, dir);
        (void)n;
        mlog_add(c, dir, dir == C ? 'c' : 'h', -1);
        hist_letter(c, dir, 'E');
        set_last(c, dir, dir == C ? "encrypted_client_hello" : "encrypted_hello_request");
        return;
    }
    hist_add(c, dir, 'E');
    set_last(c, dir, "encrypted_handshake");
}

void on_encrypted_tls13(struct tconn *c, int dir, const tls_record *r)
{
    struct hs *h = c->cur;
    if (!h || over(h) || r->content_type != TLS_CT_APPLICATION_DATA) return;
    if (h->reneg) {
        if (dir != h->initiator && !h->reneg_rejected_seen) {
            h->reneg_ignored = true; /* the peer carries on */
            h->reneg_rejecter = dir;
        }
        return;
    }
    if (dir == S) {
        if (!h->fin[C]) {
            if (!c->last[S][0] || strcmp(c->last[S], "encrypted_server_flight") != 0) hist_add(c, dir, 'E');
            set_last(c, dir, "encrypted_server_flight");
            return;
        }
        if (alert_sized(r->length) && !h->server_alert13) {
            h->server_alert13 = true;
            copy_name(h->last_s_before_alert13, c->last[S]);
            add_alert(c, h, S, -1, -1, true, true);
            mlog_add(c, dir, 'L', -1);
            hist_add(c, dir, 'L');
            set_last(c, dir, "alert");
            return;
        }
        /* a server that sent a fatal alert sends nothing more: a second
         * record after the short one shows that one was data */
        if (h->server_alert13) undo_server_alert13(c, h);
        else complete(c, h);
        return;
    }
    /* client */
    if (!h->fin[C]) {
        if (alert_sized(r->length) && h->have_ch && h->ch.ext.has_early_data && !h->eoed) {
            h->eoed = true; /* EndOfEarlyData is alert-sized too */
            hist_add(c, dir, 'E');
            set_last(c, dir, "end_of_early_data");
            return;
        }
        if (alert_sized(r->length)) {
            h->client_rejected13 = true;
            add_alert(c, h, C, -1, -1, true, true);
            mlog_add(c, dir, 'L', -1);
            hist_add(c, dir, 'L');
            set_last(c, dir, "alert");
            return;
        }
        /* the client's flight (Certificate, CertificateVerify, Finished)
         * may span several records: the first one marks it */
        h->fin[C] = true;
        hist_add(c, dir, 'F');
        set_last(c, dir, "finished");
    }
    /* more client records: the rest of its flight, or application data
     * sent right after its Finished; only the server's answer tells the
     * handshake went through. A client record after a short server record
     * (taken for an alert) proves nothing: a client that writes its
     * request as soon as its handshake is done (any HTTP client) sends it
     * while the server's certificate_required is on its way. What decides
     * is the server: more records from it (above), or the client closing
     * first (session.c), make the short record data; the server closing
     * with nothing more keeps the alert. */
}

void undo_server_alert13(struct tconn *c, struct hs *h)
{
    if (!h->server_alert13 || h->done) return;
    h->server_alert13 = false;
    for (size_t i = h->nalerts; i-- > 0;) {
        struct alert_rec *a = &h->alerts[i];
        if (a->from == S && a->inferred && a->encrypted) {
            memmove(a, a + 1, (h->nalerts - i - 1) * sizeof *a);
            h->nalerts--;
            break;
        }
    }
    char *l = strrchr(c->hist, 'l');
    if (l) {
        memmove(l, l + 1, strlen(l + 1) + 1);
        c->hist_len--;
    }
    copy_name(c->last[S], h->last_s_before_alert13);
    complete(c, h);
}
