/* Decryption with a key log (SSLKEYLOGFILE, --keylog): when the secrets of
 * a connection are known, its encrypted records are read instead of
 * inferred. TLS 1.3: the encrypted handshake messages (Certificate,
 * EncryptedExtensions, Finished, ...) and alerts drive the state machine as
 * cleartext ones would; a KeyUpdate rolls its sender's traffic secret to
 * the next generation (derived, key logs only hold the first). TLS 1.0-1.2:
 * alerts are read, and the hellos of a renegotiation (randoms, suite,
 * encrypt_then_mac) give the keys that follow its CCS; the record-type
 * inference (session_keyless.c) keeps driving the state. Which suites are
 * decrypted: tlsdecrypt.h. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "keylog.h"
#include "session_int.h"
#include "tls_names.h"

static void on_inner_message(void *user, const tls_hs_msg *m);

/* Reads an encrypted record with the key log. Returns true when it was
 * decrypted and fully handled (TLS 1.3), false to go on with inference. */
bool decrypt_record(struct tconn *c, int dir, const tls_record *r)
{
    struct tlsdec *d = &c->dec[dir];
    if (c->ml) c->ml->npend[dir] = 0;
    if (!d->mode || !r->body) return false;
    uint8_t type = 0;
    int n = tlsdec_record(d, r->content_type, r->version, r->body, r->body_len, c->s->plain,
                          sizeof c->s->plain, &type);
    if (n < 0) {
        c->dec_failed++;
        return false;
    }
    c->decrypted_any = true;
    c->dec_ok[dir]++;
    const uint8_t *p = c->s->plain;
    if (type == TLS_CT_ALERT && n >= 2) {
        if (c->tls13) {
            handle_alert(c, dir, p[0], p[1], true, true);
            return true;
        }
        c->pending_level[dir] = p[0]; /* the TLS_EV_ALERT of this record follows */
        c->pending_code[dir] = p[1];
        return false;
    }
    if (type == TLS_CT_HANDSHAKE && c->inner_on) {
        c->side[dir].c = c;
        tls_handshake_feed(&c->inner[dir], p, (size_t)n, r->offset);
        return c->tls13;
    }
    if (type == TLS_CT_APPLICATION_DATA && c->tls13) {
        struct hs *h = c->cur;
        if (h && !h->decided && !h->reneg && dir == S && h->fin[C]) complete(c, h);
        return true;
    }
    return false;
}

/* TLS 1.3 key schedule as far as the key log tells it: handshake traffic
 * secrets from the ServerHello, application secrets after each Finished. */
static void set_tls13_keys(struct tconn *c, int dir, enum keylog_kind kind)
{
    struct hs *h = c->cur;
    const struct keylog_secret *sec = h && h->have_ch ? keylog_find(c->s->kl, h->ch.random, kind) : NULL;
    if (!sec || tlsdec_init_tls13(&c->dec[dir], h->sh.cipher, sec->v, sec->len) != 0) {
        tlsdec_free(&c->dec[dir]);
        return;
    }
    c->keys_found = true;
}

static void start_inner(struct tconn *c)
{
    if (c->inner_on) return;
    c->inner_on = true;
    size_t cap = c->s->o.max_handshake_bytes;
    for (int d = 0; d < 2; d++) {
        tls_handshake_init(&c->inner[d], NULL, 0, (uint32_t)cap, on_inner_message, &c->side[d]);
        tls_handshake_set_mem(&c->inner[d], &c->s->mem);
    }
}

/* Keys at the ServerHello, when a key log has them. */
/* encrypt_then_mac (RFC 7366) is in force when both hellos carry it */
static bool etm_of(const tls_client_hello *ch, const struct sh_kept *sh)
{
    return ch->ext.has_etm && sh->has_etm;
}

void keys_at_server_hello(struct tconn *c, struct hs *h)
{
    if (!c->s->kl || !h->have_ch || !tlsdec_supported(h->sh.cipher, h->sh.version)) return;
    /* live, the peer may have written its secrets just now: read what the
     * key log gained (a stat() when it did not grow) */
    if (c->s->o.keylog_follow && !keylog_find(c->s->kl, h->ch.random, h->tls13 ? KL_SERVER_HS : KL_MASTER))
        c->s->st.keylog_added += (uint64_t)keylog_refresh(c->s->kl);
    if (h->tls13) {
        set_tls13_keys(c, C, KL_CLIENT_HS);
        set_tls13_keys(c, S, KL_SERVER_HS);
    } else {
        const struct keylog_secret *ms = keylog_find(c->s->kl, h->ch.random, KL_MASTER);
        if (!ms || tlsdec_init_tls12(&c->dec[C], &c->dec[S], h->sh.version, h->sh.cipher, etm_of(&h->ch, &h->sh),
                                     ms->v, ms->len, h->ch.random, h->sh.random) != 0)
            return;
        c->keys_found = true;
    }
    if (!c->keys_found) return;
    start_inner(c);
    for (int d = 0; d < 2; d++) tls_record_set_keep_encrypted(&c->st[d].rec, true);
}

/* TLS 1.2 renegotiation: a side's CCS, sent under the old keys, switches
 * it to the keys of the renegotiation's hellos (seen decrypted) when the
 * key log has its master secret; otherwise that side can no longer be read. */
void keys_at_renegotiation_ccs(struct tconn *c, int dir, const struct hs *h)
{
    if (!c->keys_found || !c->next_have_cr || !c->next_have_sr || !h->have_sh) return;
    const struct keylog_secret *ms = keylog_find(c->s->kl, c->next_cr, KL_MASTER);
    struct tlsdec nc = {0}, ns = {0};
    if (ms && tlsdec_init_tls12(&nc, &ns, c->next_version, c->next_cipher, c->next_etm_c && c->next_etm_s, ms->v,
                                ms->len, c->next_cr, c->next_sr) == 0) {
        tlsdec_free(&c->dec[dir]);
        c->dec[dir] = dir == C ? nc : ns;
        tlsdec_free(dir == C ? &ns : &nc);
    } else {
        tlsdec_free(&c->dec[dir]);
    }
}

static void on_inner_message(void *user, const tls_hs_msg *m)
{
    struct side *sd = user;
    struct tconn *c = sd->c;
    int dir = sd->dir;
    struct hs *h = c->cur;
    tls_message msg;
    tls_message_ctx ctx = { h && h->have_sh ? h->sh.version : 0, h && h->have_sh ? h->sh.cipher : 0 };
    tls_message_parse(m, &ctx, &msg);
    char nb[NAME_LEN];
    const char *name = tls_names_fmt(tls_names_handshake_type(m->type), m->type, nb, sizeof nb);
    if (!c->tls13) {
        /* TLS 1.2: Finished and renegotiation messages; the record-type
         * inference keeps driving the state, the randoms give the new keys */
        mlog_decrypted(c, dir, hs_letter(m->type));
        if (m->type == TLS_HS_CLIENT_HELLO && msg.ok) {
            memcpy(c->next_cr, msg.u.ch.random, 32);
            c->next_have_cr = true;
            c->next_etm_c = msg.u.ch.ext.has_etm;
        } else if (m->type == TLS_HS_SERVER_HELLO && msg.ok) {
            memcpy(c->next_sr, msg.u.sh.random, 32);
            c->next_have_sr = true;
            c->next_etm_s = msg.u.sh.ext.has_etm;
            c->next_cipher = msg.u.sh.cipher;
            c->next_version = msg.u.sh.version;
        }
        return;
    }
    if (m->type == TLS_HS_KEY_UPDATE) {
        /* RFC 8446 4.6.3: the sender's next records use the next generation
         * of its traffic secret. A KeyUpdate ends its record (5.1), so
         * rolling here, within the record that carried it, is in time.
         * update_requested only asks the peer for a KeyUpdate of its own,
         * which is rolled when it comes. */
        if (tlsdec_tls13_update(&c->dec[dir]) == 0) c->key_updates[dir]++;
        return;
    }
    if (!h || h->decided) return;
    hist_add(c, dir, hs_letter(m->type));
    set_last(c, dir, name);
    switch (m->type) {
    case TLS_HS_CERTIFICATE:
        if (dir == S) {
            h->server_cert_seen = true;
            h->chain_len = msg.u.cert.count + msg.u.cert.truncated;
            summarize_chain(h, &msg.u.cert, true);
        } else {
            h->client_cert_sent = true;
            h->client_cert_empty = msg.u.cert.count == 0;
            summarize_chain(h, &msg.u.cert, false);
        }
        break;
    case TLS_HS_CERTIFICATE_REQUEST:
        h->cert_request = true;
        break;
    case TLS_HS_ENCRYPTED_EXTENSIONS:
        if (msg.u.ee.alpn_n) snprintf(h->ee_alpn, sizeof h->ee_alpn, "%s", msg.u.ee.alpn[0]);
        if (msg.u.ee.has_early_data) h->early_accepted = true;
        break;
    case TLS_HS_FINISHED:
        h->fin[dir] = true;
        set_tls13_keys(c, dir, dir == C ? KL_CLIENT_APP : KL_SERVER_APP);
        break;
    case TLS_HS_NEW_SESSION_TICKET:
        if (dir == S && h->fin[C]) complete(c, h);
        break;
    default:
        break;
    }
}
