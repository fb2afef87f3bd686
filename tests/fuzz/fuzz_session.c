/* Entry: the session layer (src/session.c) on one hand-made TCP flow, with
 * the input read as a program of what reassembly would report:
 *
 *   byte 0   flags: 1 key log (every .keylog of pcaps/), 2 certificate checker
 *            (pcaps/test-ca.pem), 4 max_handshake_bytes 1024 (else 65536),
 *            8 IPv6 flow, 16 picked up mid-stream, 32 server port 80,
 *            64 a crowd: NFLOWS flows at once (ops 0-5 and 7 act on flow
 *            (OP >> 3) % NFLOWS) under a tiny --max-memory, so connections
 *            are shed and buffers refused while others are being read,
 *            128 the message log (session_opts.message_log, --report)
 *   then ops, each one byte OP: kind = OP & 7, and OP >> 3 milliseconds
 *   of capture time pass after it (then sessions_tick, as per packet):
 *     0 / 1  data client->server / server->client: 2-byte big-endian
 *            length N, then N bytes (fewer at the end of the input) to
 *            session_on_data; skipped once the layer stopped collecting
 *            that direction, as reassembly does
 *     2 / 3  FIN from the client / the server  (session_on_tcp_event)
 *     4 / 5  RST from the client / the server
 *     6      next byte B: below 128 a time jump of B*B*4 ms (up to 65 s:
 *            handshake timeout, deferred reports) then sessions_tick; from
 *            128 a hole the capture lost, ((B & 127) + 1) * 7 bytes of
 *            direction (OP >> 3) & 1, to session_on_gap (as the bypass
 *            tracker reports it), skipped once that direction is not
 *            collected
 *     7      the flow ends (session_on_end, end reason from OP >> 3) and a
 *            new flow on the same 4-tuple starts
 *   at the end of the input the flow ends (end of capture).
 *
 * Facts handed to the emit callback are serialised to JSON (every node
 * read) and freed. tests/fuzz/make-session-seeds.py writes programs from
 * the captures in pcaps/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "json.h"
#include "reassembly.h"
#include "session.h"

#include "fuzz_src.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_facts(void *ctx, struct flow *f, const tls_facts *facts, const struct timeval *ts)
{
    (void)ctx;
    (void)ts;
    (void)f;
    /* every field read and written, as for an event that is emitted */
    struct json j;
    json_init(&j);
    json_obj_begin(&j);
    facts_write_members(&facts_type_TLS, facts, &j, NULL);
    json_obj_end(&j);
    json_free(&j);
}

struct fz_clock {
    uint64_t ms;
};

static struct timeval fz_tv(const struct fz_clock *c)
{
    struct timeval tv = { (time_t)(1700000000 + c->ms / 1000), (suseconds_t)(c->ms % 1000 * 1000) };
    return tv;
}

#define NFLOWS 3
#define CROWD_BUDGET (20 * 1024)

static void flow_init(struct flow *f, uint8_t flags, const struct timeval *ts, uint64_t id)
{
    memset(f, 0, sizeof *f);
    uint8_t cli[16] = { 10, 0, 0, 1 }, srv[16] = { 10, 0, 0, 2 };
    if (flags & 8) {
        memset(cli, 0, sizeof cli);
        memset(srv, 0, sizeof srv);
        cli[0] = srv[0] = 0x20;
        cli[1] = srv[1] = 0x01;
        cli[15] = 1;
        srv[15] = 2;
    }
    uint16_t cport = (uint16_t)(49152 + id % 1000), sport = (flags & 32) ? 80 : 443;
    f->key.family = (flags & 8) ? 6 : 4;
    flow_key_make(&f->key, f->key.family, cli, cport, srv, sport);
    memcpy(f->cli.addr, cli, 16);
    memcpy(f->srv.addr, srv, 16);
    f->cli.port = cport;
    f->srv.port = sport;
    f->id = id;
    f->first_ts = f->last_ts = *ts;
    f->midstream = (flags & 16) != 0;
    f->role_guessed = f->midstream;
    f->nids_est = 1;
    f->tcp[0].collect = f->tcp[1].collect = 1;
}

static void flow_end(struct sessions *s, struct flow *f, enum flow_end why)
{
    f->end = why;
    f->closed = 1;
    session_on_end(s, f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init_once();
    if (size < 1) return 0;
    uint8_t flags = data[0];
    struct session_opts so = { .handshake_timeout = 10, .max_handshake_bytes = (flags & 4) ? 1024 : 65536,
                               .max_memory = (flags & 64) ? CROWD_BUDGET : 0, .message_log = (flags & 128) != 0 };
    struct sessions *s = sessions_new(&so, on_facts, NULL);
    struct certcheck *cc = (flags & 2) ? fz_certcheck_new() : NULL;
    if (cc) sessions_set_certcheck(s, cc);
    if (flags & 1) {
        struct keylog *kl = fz_keylog();
        if (kl) sessions_set_keylog(s, kl);
    }
    struct fz_clock clk = { 0 };
    struct timeval now = fz_tv(&clk);
    unsigned nflows = (flags & 64) ? NFLOWS : 1;
    struct flow *fl[NFLOWS];
    uint64_t id = 0;
    for (unsigned k = 0; k < nflows; k++) {
        fl[k] = malloc(sizeof *fl[k]);
        if (!fl[k]) abort();
        flow_init(fl[k], flags, &now, ++id);
    }
    size_t i = 1;
    while (i < size) {
        uint8_t op = data[i++];
        unsigned kind = op & 7u;
        struct flow *f = fl[(op >> 3) % nflows];
        switch (kind) {
        case 0:
        case 1: {
            enum flow_dir dir = kind == 0 ? DIR_TO_SERVER : DIR_TO_CLIENT;
            size_t n = 0;
            if (i < size) n = (size_t)data[i++] << 8;
            if (i < size) n |= data[i++];
            if (n > size - i) n = size - i;
            if (f->tcp[dir].collect) {
                f->pkts[dir]++;
                f->bytes[dir] += n + 40;
                f->payload[dir] += n;
                f->tcp[dir].delivered += n;
                /* the verdict, as reassembly applies it */
                unsigned v = session_on_data(s, f, dir, data + i, n, &now);
                if (v & REASM_STOP_TO_SERVER) f->tcp[DIR_TO_SERVER].collect = 0;
                if (v & REASM_STOP_TO_CLIENT) f->tcp[DIR_TO_CLIENT].collect = 0;
            }
            i += n;
            break;
        }
        case 2:
        case 3:
        case 4:
        case 5: {
            enum flow_dir dir = (kind & 1) ? DIR_TO_CLIENT : DIR_TO_SERVER;
            enum reasm_tcp_event ev = kind >= 4 ? REASM_EV_RST : REASM_EV_FIN;
            f->pkts[dir]++;
            if (ev == REASM_EV_RST) f->tcp[dir].rst_seen = 1;
            else f->tcp[dir].fin_seen = 1;
            session_on_tcp_event(s, f, dir, ev, &now);
            break;
        }
        case 6: {
            unsigned b = i < size ? data[i++] : 0;
            if (b < 128) {
                clk.ms += (uint64_t)b * b * 4;
                break;
            }
            enum flow_dir dir = ((op >> 3) & 1) ? DIR_TO_CLIENT : DIR_TO_SERVER;
            if (f->tcp[dir].collect) {
                unsigned v = session_on_gap(s, f, dir, (uint64_t)((b & 127) + 1) * 7, &now);
                if (v & REASM_STOP_TO_SERVER) f->tcp[DIR_TO_SERVER].collect = 0;
                if (v & REASM_STOP_TO_CLIENT) f->tcp[DIR_TO_CLIENT].collect = 0;
            }
            break;
        }
        case 7: {
            static const enum flow_end ends[] = { FLOW_END_FIN, FLOW_END_RST, FLOW_END_IDLE,
                                                  FLOW_END_EOF, FLOW_END_REUSED, FLOW_END_EVICTED };
            flow_end(s, f, ends[(op >> 3) % 6]);
            flow_init(f, flags, &now, ++id);
            break;
        }
        }
        clk.ms += op >> 3;
        now = fz_tv(&clk);
        f->last_ts = now;
        sessions_tick(s, &now);
    }
    for (unsigned k = 0; k < nflows; k++) {
        flow_end(s, fl[k], FLOW_END_EOF);
        free(fl[k]);
    }
    sessions_free(s);
    certcheck_free(cc);
    return 0;
}
