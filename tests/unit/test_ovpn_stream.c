/* OpenVPN over TCP (dissectors/ovpn_stream.c): reset recognition, the
 * tls-auth HMAC size, and the demultiplexer under hostile input: zero
 * lengths, every two-chunk split, byte-by-byte feeding, ack count 255,
 * truncated packets, garbage after a valid start, retransmitted and
 * out-of-window packet ids, capture gaps. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ovpn_stream.h"
#include "t.h"

static const uint8_t CSID[8] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
static const uint8_t SSID[8] = { 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18 };

/* One packet with its 2-byte length: hmac bytes of 0x5a (then replay id
 * and time) when hmac > 0; nack acks (ids 0..) and rsid when nack > 0;
 * a message packet id unless op is P_ACK_V1. Returns the bytes written. */
static size_t pkt(uint8_t *o, uint8_t op, uint8_t kid, const uint8_t *sid, uint8_t hmac, uint32_t replay,
                  unsigned nack, const uint8_t *rsid, uint32_t pid, const uint8_t *pl, size_t pln)
{
    size_t n = 2;
    o[n++] = (uint8_t)(op << 3 | kid);
    memcpy(o + n, sid, 8);
    n += 8;
    if (hmac) {
        memset(o + n, 0x5a, hmac);
        n += hmac;
        o[n++] = (uint8_t)(replay >> 24), o[n++] = (uint8_t)(replay >> 16), o[n++] = (uint8_t)(replay >> 8);
        o[n++] = (uint8_t)replay;
        o[n++] = 0x65, o[n++] = 0x70, o[n++] = 0x00, o[n++] = 0x01; /* time */
    }
    o[n++] = (uint8_t)nack;
    for (unsigned i = 0; i < nack; i++) {
        memset(o + n, 0, 3);
        o[n + 3] = (uint8_t)i;
        n += 4;
    }
    if (nack) {
        memcpy(o + n, rsid, 8);
        n += 8;
    }
    if (op != OVPN_ACK_V1) {
        o[n++] = (uint8_t)(pid >> 24), o[n++] = (uint8_t)(pid >> 16), o[n++] = (uint8_t)(pid >> 8);
        o[n++] = (uint8_t)pid;
    }
    if (pln) memcpy(o + n, pl, pln);
    n += pln;
    o[0] = (uint8_t)((n - 2) >> 8);
    o[1] = (uint8_t)(n - 2);
    return n;
}

static size_t data_pkt(uint8_t *o, size_t len)
{
    o[0] = (uint8_t)(len >> 8);
    o[1] = (uint8_t)len;
    o[2] = (uint8_t)(OVPN_DATA_V2 << 3);
    memset(o + 3, 0xdd, len - 1);
    return len + 2;
}

struct sink {
    uint8_t got[8192];
    size_t n;
    int gaps;
    uint64_t gap_bytes;
};

static void on_payload(void *user, const uint8_t *d, size_t n)
{
    struct sink *k = user;
    if (k->n + n <= sizeof k->got) memcpy(k->got + k->n, d, n);
    k->n += n;
}

static void on_gap(void *user, uint64_t n)
{
    struct sink *k = user;
    k->gaps++;
    k->gap_bytes += n;
}

/* A client side: reset (pid 0), an ack, 3 control packets carrying tls[],
 * a retransmission of the second, a data packet. */
static size_t client_stream(uint8_t *o, uint8_t hmac, const uint8_t *tls, size_t tn)
{
    size_t n = 0;
    uint32_t r = 1;
    n += pkt(o + n, OVPN_HARD_RESET_CLIENT_V2, 0, CSID, hmac, r++, 0, NULL, 0, NULL, 0);
    n += pkt(o + n, OVPN_ACK_V1, 0, CSID, hmac, r++, 1, SSID, 0, NULL, 0);
    size_t a = tn / 3, b = tn / 3;
    n += pkt(o + n, OVPN_CONTROL_V1, 0, CSID, hmac, r++, 1, SSID, 1, tls, a);
    n += pkt(o + n, OVPN_CONTROL_V1, 0, CSID, hmac, r++, 0, NULL, 2, tls + a, b);
    n += pkt(o + n, OVPN_CONTROL_V1, 0, CSID, hmac, r++, 0, NULL, 2, tls + a, b); /* retransmitted */
    n += pkt(o + n, OVPN_CONTROL_V1, 0, CSID, hmac, r++, 2, SSID, 3, tls + a + b, tn - a - b);
    n += data_pkt(o + n, 100);
    return n;
}

static void test_resets(void)
{
    uint8_t c[256], s[256];
    ovpn_hello h;
    enum ovpn_protection prot;
    uint8_t hm = 99;
    for (size_t i = 0; i < sizeof ovpn_hmac_sizes; i++) {
        uint8_t H = ovpn_hmac_sizes[i];
        size_t cn = pkt(c, OVPN_HARD_RESET_CLIENT_V2, 0, CSID, H, 1, 0, NULL, 0, NULL, 0);
        size_t sn = pkt(s, OVPN_HARD_RESET_SERVER_V2, 0, SSID, H, 1, 1, CSID, 0, NULL, 0);
        CHECK(ovpn_client_reset(c, cn, &h), "client reset recognised, hmac %u", H);
        CHECK(h.layouts & (1u << i), "client reset layout holds with hmac %u", H);
        CHECK(ovpn_server_reset(s, sn, &h, &prot, &hm), "server reset confirms, hmac %u", H);
        CHECK_EQ_INT(hm, H, "hmac size found: %u", H);
        CHECK_EQ_INT(prot, H ? OVPN_PROT_TLS_AUTH : OVPN_PROT_NONE, "protection with hmac %u", H);
        /* the server acknowledging another session id is no confirmation */
        size_t bn = pkt(s, OVPN_HARD_RESET_SERVER_V2, 0, SSID, H, 1, 1, SSID, 0, NULL, 0);
        CHECK(!ovpn_server_reset(s, bn, &h, &prot, &hm), "server reset acking another session id refused, hmac %u", H);
        /* truncated anywhere: not whole, not recognised */
        int bad = 0;
        for (size_t k = 0; k < cn; k++) bad += ovpn_client_reset(c, k, &h);
        CHECK_EQ_INT(bad, 0, "every truncation of the client reset refused, hmac %u", H);
        ovpn_client_reset(c, cn, &h);
        for (size_t k = 0; k < sn; k++) bad += ovpn_server_reset(s, k, &h, &prot, &hm);
        CHECK_EQ_INT(bad, 0, "every truncation of the server reset refused, hmac %u", H);
    }
    /* not a client reset: a TLS ClientHello, a server opcode, key id 1, length 0 */
    static const uint8_t ch[] = { 0x16, 0x03, 0x01, 0x00, 0x10, 0x01, 0, 0, 0x0c, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    CHECK(!ovpn_client_reset(ch, sizeof ch, &h), "a ClientHello is not an OpenVPN reset");
    size_t cn = pkt(c, OVPN_HARD_RESET_SERVER_V2, 0, CSID, 0, 0, 0, NULL, 0, NULL, 0);
    CHECK(!ovpn_client_reset(c, cn, &h), "a server reset from the client refused");
    cn = pkt(c, OVPN_HARD_RESET_CLIENT_V2, 1, CSID, 0, 0, 0, NULL, 0, NULL, 0);
    CHECK(!ovpn_client_reset(c, cn, &h), "key id 1 in a first reset refused");
    cn = pkt(c, OVPN_HARD_RESET_CLIENT_V2, 0, CSID, 0, 0, 0, NULL, 5, NULL, 0);
    CHECK(!ovpn_client_reset(c, cn, &h), "a first reset with message id 5 refused");
    uint8_t z[32] = { 0 };
    CHECK(!ovpn_client_reset(z, sizeof z, &h), "zeros refused");
    /* tls-crypt shape: replay id 1 and time after the session id, a 32-byte tag, ciphertext */
    memset(c, 0xc7, sizeof c);
    c[0] = 0, c[1] = 54, c[2] = OVPN_HARD_RESET_CLIENT_V2 << 3;
    memcpy(c + 3, CSID, 8);
    memcpy(c + 11, "\0\0\0\1\x65\x70\0\1", 8);
    memcpy(s, c, 56);
    s[2] = OVPN_HARD_RESET_SERVER_V2 << 3;
    memcpy(s + 3, SSID, 8);
    CHECK(ovpn_client_reset(c, 56, &h) && h.crypt && !h.layouts, "tls-crypt client reset: crypt shape only");
    CHECK(ovpn_server_reset(s, 56, &h, &prot, &hm) && prot == OVPN_PROT_TLS_CRYPT, "tls-crypt server reset");
    c[2] = OVPN_HARD_RESET_CLIENT_V3 << 3;
    CHECK(ovpn_client_reset(c, 56, &h) && h.crypt, "HARD_RESET_CLIENT_V3 with the crypt shape");
    CHECK(ovpn_server_reset(s, 56, &h, &prot, &hm) && prot == OVPN_PROT_TLS_CRYPT_V2, "tls-crypt-v2 server reset");
    c[12] = 0x7f; /* replay id not small */
    CHECK(!ovpn_client_reset(c, 56, &h), "V3 without the crypt shape refused");
}

static void feed_split(ovpn_stream *s, const uint8_t *d, size_t n, size_t cut)
{
    ovpn_stream_feed(s, d, cut);
    ovpn_stream_feed(s, d + cut, n - cut);
}

static void test_demux(uint8_t hmac)
{
    uint8_t tls[600], buf[2048];
    for (size_t i = 0; i < sizeof tls; i++) tls[i] = (uint8_t)(i * 7 + 3);
    size_t n = client_stream(buf, hmac, tls, sizeof tls);
    ovpn_stream s;
    struct sink k;
    int bad = 0;
    for (size_t cut = 0; cut <= n; cut++) {
        memset(&k, 0, sizeof k);
        ovpn_stream_init(&s, hmac, false, on_payload, on_gap, &k);
        feed_split(&s, buf, n, cut);
        if (k.n != sizeof tls || memcmp(k.got, tls, sizeof tls) != 0 || k.gaps || s.st.retransmitted != 1 ||
            s.st.data != 1 || s.st.acks != 1 || s.st.control != 5 || s.st.malformed || s.state != OVS_LEN)
            bad++;
    }
    CHECK_EQ_INT(bad, 0, "hmac %u: every two-chunk split delivers the TLS bytes once, in order", hmac);
    memset(&k, 0, sizeof k);
    ovpn_stream_init(&s, hmac, false, on_payload, on_gap, &k);
    for (size_t i = 0; i < n; i++) ovpn_stream_feed(&s, buf + i, 1);
    CHECK(k.n == sizeof tls && memcmp(k.got, tls, sizeof tls) == 0, "hmac %u: byte by byte", hmac);
    CHECK_EQ_INT(s.st.tls_bytes, sizeof tls, "hmac %u: tls bytes counted", hmac);
}

static void test_hostile(void)
{
    uint8_t buf[4096], tls[64];
    memset(tls, 0x42, sizeof tls);
    ovpn_stream s;
    struct sink k;
    size_t n;

    /* length 0 packets between valid ones: skipped, counted */
    memset(&k, 0, sizeof k);
    ovpn_stream_init(&s, 0, false, on_payload, on_gap, &k);
    n = pkt(buf, OVPN_HARD_RESET_CLIENT_V2, 0, CSID, 0, 0, 0, NULL, 0, NULL, 0);
    buf[n++] = 0, buf[n++] = 0;
    n += pkt(buf + n, OVPN_CONTROL_V1, 0, CSID, 0, 0, 0, NULL, 1, tls, sizeof tls);
    ovpn_stream_feed(&s, buf, n);
    CHECK(k.n == sizeof tls && s.st.malformed == 1, "length 0: counted, the next packet read");

    /* ack count 255 with a short packet: the array would run past it */
    memset(&k, 0, sizeof k);
    ovpn_stream_init(&s, 0, false, on_payload, on_gap, &k);
    n = pkt(buf, OVPN_CONTROL_V1, 0, CSID, 0, 0, 0, NULL, 0, tls, 8);
    buf[2 + 9] = 255;
    size_t m = n + pkt(buf + n, OVPN_CONTROL_V1, 0, CSID, 0, 0, 0, NULL, 1, tls, sizeof tls);
    ovpn_stream_feed(&s, buf, m);
    CHECK(s.st.malformed == 1 && k.n == sizeof tls && s.state == OVS_LEN,
          "ack count 255 past the packet: skipped by its length, the next packet read");
    /* ack count 255 that fits: the array is skipped, the payload delivered */
    memset(&k, 0, sizeof k);
    ovpn_stream_init(&s, 0, false, on_payload, on_gap, &k);
    n = pkt(buf, OVPN_CONTROL_V1, 0, CSID, 0, 0, 255, SSID, 0, tls, sizeof tls);
    ovpn_stream_feed(&s, buf, n);
    CHECK(k.n == sizeof tls && !s.st.malformed, "ack count 255 within the packet: payload delivered");

    /* truncated: a packet shorter than its head */
    memset(&k, 0, sizeof k);
    ovpn_stream_init(&s, 32, false, on_payload, on_gap, &k);
    buf[0] = 0, buf[1] = 12, buf[2] = OVPN_CONTROL_V1 << 3;
    memset(buf + 3, 0x33, 11);
    n = 14 + pkt(buf + 14, OVPN_CONTROL_V1, 0, CSID, 32, 1, 0, NULL, 0, tls, 10);
    ovpn_stream_feed(&s, buf, n);
    CHECK(s.st.malformed == 1 && k.n == 10, "packet shorter than its tls-auth head: skipped, next read");
    /* a control packet without room for its message id */
    memset(&k, 0, sizeof k);
    ovpn_stream_init(&s, 0, false, on_payload, on_gap, &k);
    n = pkt(buf, OVPN_ACK_V1, 0, CSID, 0, 0, 0, NULL, 0, NULL, 0);
    buf[2] = OVPN_CONTROL_V1 << 3;
    ovpn_stream_feed(&s, buf, n);
    CHECK(s.st.malformed == 1 && s.state == OVS_LEN && !k.n, "control packet without message id: malformed");
    /* truncated at the end of the capture: nothing past what arrived */
    memset(&k, 0, sizeof k);
    ovpn_stream_init(&s, 0, false, on_payload, on_gap, &k);
    n = pkt(buf, OVPN_CONTROL_V1, 0, CSID, 0, 0, 0, NULL, 0, tls, sizeof tls);
    ovpn_stream_feed(&s, buf, n - 20);
    CHECK(k.n == sizeof tls - 20 && s.state == OVS_BODY, "truncated packet: the bytes that arrived, no more");

    /* garbage after a valid start: framing lost (unknown opcode), no payload
     * from the garbage; found again on a packet of the same session */
    memset(&k, 0, sizeof k);
    ovpn_stream_init(&s, 0, false, on_payload, on_gap, &k);
    n = pkt(buf, OVPN_HARD_RESET_CLIENT_V2, 0, CSID, 0, 0, 0, NULL, 0, NULL, 0);
    uint32_t x = 12345;
    for (int i = 0; i < 1000; i++) {
        x = x * 1103515245u + 12345u;
        buf[n++] = (uint8_t)(x >> 16);
    }
    buf[2 + n - 1000] = 0xff; /* opcode 31 right after the reset */
    ovpn_stream_feed(&s, buf, n);
    CHECK(s.state == OVS_LOST && s.st.lost == 1 && k.n == 0 && k.gaps == 1, "garbage: framing lost, nothing delivered");
    n = pkt(buf, OVPN_CONTROL_V1, 0, CSID, 0, 0, 0, NULL, 1, tls, sizeof tls);
    uint8_t two[512];
    memset(two, 0x99, 40);
    memcpy(two + 40, buf, n);
    ovpn_stream_feed(&s, two, 40 + n);
    CHECK(s.st.resynced == 1 && k.n == sizeof tls, "resynchronised on the session's next control packet");

    /* random input never crashes, reads past, or delivers more than it got */
    int over = 0;
    for (int round = 0; round < 200; round++) {
        memset(&k, 0, sizeof k);
        ovpn_stream_init(&s, (uint8_t)(round % 3 ? 20 : 0), round % 7 == 0, on_payload, on_gap, &k);
        size_t len = 1 + (size_t)(round * 37 % 3000);
        uint8_t *r = malloc(len);
        for (size_t i = 0; i < len; i++) {
            x = x * 1103515245u + 12345u;
            r[i] = (uint8_t)(x >> 16);
        }
        if (round % 2) r[0] = 0, r[1] = 30, r[2] = OVPN_CONTROL_V1 << 3;
        size_t cut = len / 3;
        feed_split(&s, r, len, cut);
        if (k.n > len) over++;
        free(r);
    }
    CHECK_EQ_INT(over, 0, "random input: never more payload than input");
}

static void test_order(void)
{
    uint8_t buf[2048], tls[16];
    memset(tls, 0x61, sizeof tls);
    ovpn_stream s;
    struct sink k;
    memset(&k, 0, sizeof k);
    ovpn_stream_init(&s, 0, false, on_payload, on_gap, &k);
    size_t n = 0;
    n += pkt(buf + n, OVPN_HARD_RESET_CLIENT_V2, 0, CSID, 0, 0, 0, NULL, 0, NULL, 0);
    n += pkt(buf + n, OVPN_CONTROL_V1, 0, CSID, 0, 0, 0, NULL, 1, tls, sizeof tls);
    n += pkt(buf + n, OVPN_CONTROL_V1, 0, CSID, 0, 0, 0, NULL, 1000, tls, sizeof tls); /* out of window */
    n += pkt(buf + n, OVPN_CONTROL_V1, 0, CSID, 0, 0, 0, NULL, 0, tls, sizeof tls);    /* old: retransmitted */
    n += pkt(buf + n, OVPN_CONTROL_V1, 0, CSID, 0, 0, 0, NULL, 4, tls, sizeof tls);    /* 2, 3 lost */
    n += pkt(buf + n, OVPN_CONTROL_V1, 1, CSID, 0, 0, 0, NULL, 0, tls, sizeof tls);    /* another key id */
    n += pkt(buf + n, OVPN_SOFT_RESET_V1, 1, CSID, 0, 0, 0, NULL, 0, NULL, 0);
    ovpn_stream_feed(&s, buf, n);
    CHECK_EQ_INT(k.n, 2 * sizeof tls, "in-window ids delivered (1, then 4)");
    CHECK_EQ_INT(s.st.out_of_window, 1, "an id far ahead is ignored");
    CHECK_EQ_INT(s.st.retransmitted, 1, "an id already delivered is dropped");
    CHECK_EQ_INT(s.st.skipped_ids, 2, "ids never seen are counted");
    CHECK_EQ_INT(k.gaps, 1, "the TLS stream is told of the skipped ids");
    CHECK_EQ_INT(s.st.other_key, 2, "another key id's packets counted, not delivered");

    /* a capture gap inside a known body keeps the framing; one across
     * packets loses it */
    memset(&k, 0, sizeof k);
    ovpn_stream_init(&s, 0, false, on_payload, on_gap, &k);
    n = pkt(buf, OVPN_CONTROL_V1, 0, CSID, 0, 0, 0, NULL, 0, tls, sizeof tls);
    size_t m = n + pkt(buf + n, OVPN_CONTROL_V1, 0, CSID, 0, 0, 0, NULL, 1, tls, sizeof tls);
    ovpn_stream_feed(&s, buf, n - 10);
    ovpn_stream_lost(&s, 6);
    ovpn_stream_feed(&s, buf + n - 4, m - (n - 4));
    CHECK(k.n == 2 * sizeof tls - 6 && k.gaps == 1 && k.gap_bytes == 6 && s.state == OVS_LEN,
          "gap inside a payload: its size told, framing kept");
    ovpn_stream_lost(&s, 100);
    CHECK(s.state == OVS_LOST && s.st.lost == 1, "gap at a packet boundary: framing lost");

    /* tls-crypt: packets counted, nothing delivered */
    memset(&k, 0, sizeof k);
    ovpn_stream_init(&s, 0, true, on_payload, on_gap, &k);
    n = pkt(buf, OVPN_CONTROL_V1, 0, CSID, 0, 0, 0, NULL, 0, tls, sizeof tls);
    n += data_pkt(buf + n, 50);
    ovpn_stream_feed(&s, buf, n);
    CHECK(k.n == 0 && s.st.control == 1 && s.st.data == 1, "tls-crypt: counted, not read");
}

int main(void)
{
    test_resets();
    for (size_t i = 0; i < sizeof ovpn_hmac_sizes; i++) test_demux(ovpn_hmac_sizes[i]);
    test_hostile();
    test_order();
    return T_DONE();
}
