/* OpenVPN over TCP (see ovpn_stream.h): first-packet recognition and a
 * per-direction framing state machine. The state machine reads each packet
 * header into a small fixed buffer (at most OVPN_HEAD_MAX bytes; the ack
 * array is skipped, not kept) and hands the P_CONTROL_V1 payload on as views
 * of the caller's bytes, so packets split across segments cost nothing more
 * and no packet is buffered. Every length comes from the wire and is checked
 * against the packet's own length before it is used. */
#include "ovpn_stream.h"

#include <string.h>

const uint8_t ovpn_hmac_sizes[7] = { 0, 16, 20, 28, 32, 48, 64 };

#define N_SIZES (sizeof ovpn_hmac_sizes / sizeof ovpn_hmac_sizes[0])
#define MIN_CONTROL 14      /* opcode, session id, empty ack array, packet id */
#define RESET_MAX_V2 1024   /* a reset carries at most an early-negotiation TLV */
#define RESET_MAX_V3 2048   /* HARD_RESET_CLIENT_V3: plus the wrapped client key */
#define REPLAY_ID_MAX 255   /* replay packet id of a side's first packets */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* Offset of the ack count in a control packet, for HMAC size h. */
static size_t ack_off(uint8_t h) { return 9 + (h ? (size_t)h + 8 : 0); }

static bool is_data(uint8_t op) { return op == OVPN_DATA_V1 || op == OVPN_DATA_V2; }
static bool has_mpid(uint8_t op) { return op != OVPN_ACK_V1 && !is_data(op); }
static bool valid_op(uint8_t op) { return op >= OVPN_HARD_RESET_CLIENT_V1 && op <= OVPN_CONTROL_WKC_V1; }
static bool is_reset(uint8_t op)
{
    return op == OVPN_HARD_RESET_CLIENT_V1 || op == OVPN_HARD_RESET_SERVER_V1 || op == OVPN_HARD_RESET_CLIENT_V2 ||
           op == OVPN_HARD_RESET_SERVER_V2 || op == OVPN_HARD_RESET_CLIENT_V3;
}

static bool replay_ok(const uint8_t *p)
{
    uint32_t id = be32(p), t = be32(p + 4);
    return id >= 1 && id <= REPLAY_ID_MAX && t != 0;
}

/* tls-crypt: replay id and time right after the session id, then the tag. */
static bool crypt_shape(const uint8_t *p, size_t len)
{
    return len >= 9 + 8 + OVPN_CRYPT_TAG + 5 && replay_ok(p + 9);
}

/* The packet at d: its length, opcode and key id, whole within n. */
static const uint8_t *whole_packet(const uint8_t *d, size_t n, uint16_t *len)
{
    if (n < 2 + MIN_CONTROL) return NULL;
    *len = be16(d);
    if (*len < MIN_CONTROL || (size_t)*len + 2 > n) return NULL;
    return d + 2;
}

bool ovpn_client_reset(const uint8_t *d, size_t n, ovpn_hello *out)
{
    uint16_t len;
    const uint8_t *p = whole_packet(d, n, &len);
    if (!p) return false;
    uint8_t op = (uint8_t)(p[0] >> 3), kid = (uint8_t)(p[0] & 7);
    if ((op != OVPN_HARD_RESET_CLIENT_V2 && op != OVPN_HARD_RESET_CLIENT_V3) || kid != 0) return false;
    if (len > (op == OVPN_HARD_RESET_CLIENT_V3 ? RESET_MAX_V3 : RESET_MAX_V2)) return false;
    memset(out, 0, sizeof *out);
    out->opcode = op;
    out->key_id = kid;
    out->len = len;
    memcpy(out->sid, p + 1, 8);
    out->crypt = crypt_shape(p, len);
    if (op == OVPN_HARD_RESET_CLIENT_V3) return out->crypt; /* tls-crypt-v2 only */
    for (size_t i = 0; i < N_SIZES; i++) {
        uint8_t h = ovpn_hmac_sizes[i];
        size_t a = ack_off(h);
        if (a + 5 > len) continue;
        /* the first packet acknowledges nothing and is message 0 */
        if (p[a] != 0 || be32(p + a + 1) != 0) continue;
        if (h && !replay_ok(p + 9 + h)) continue;
        out->layouts |= (uint8_t)(1u << i);
    }
    return out->layouts || out->crypt;
}

bool ovpn_server_reset(const uint8_t *d, size_t n, const ovpn_hello *cl, enum ovpn_protection *prot,
                       uint8_t *hmac)
{
    uint16_t len;
    const uint8_t *p = whole_packet(d, n, &len);
    if (!p || len > RESET_MAX_V2) return false;
    if (p[0] >> 3 != OVPN_HARD_RESET_SERVER_V2 || (p[0] & 7) != cl->key_id) return false;
    for (size_t i = 0; i < N_SIZES; i++) {
        if (!(cl->layouts & (1u << i))) continue;
        uint8_t h = ovpn_hmac_sizes[i];
        size_t a = ack_off(h);
        if (a + 1 > len) continue;
        size_t cnt = p[a];
        if (cnt == 0 || cnt > 8) continue;
        size_t rs = a + 1 + 4 * cnt;
        if (rs + 8 + 4 > len || memcmp(p + rs, cl->sid, 8) != 0) continue;
        if (h && !replay_ok(p + 9 + h)) continue;
        *hmac = h;
        *prot = h ? OVPN_PROT_TLS_AUTH : OVPN_PROT_NONE;
        return true;
    }
    if (cl->crypt && crypt_shape(p, len)) {
        *hmac = 0;
        *prot = cl->opcode == OVPN_HARD_RESET_CLIENT_V3 ? OVPN_PROT_TLS_CRYPT_V2 : OVPN_PROT_TLS_CRYPT;
        return true;
    }
    return false;
}

const char *ovpn_protection_name(enum ovpn_protection p)
{
    switch (p) {
    case OVPN_PROT_NONE: return "none";
    case OVPN_PROT_TLS_AUTH: return "tls-auth";
    case OVPN_PROT_TLS_CRYPT: return "tls-crypt";
    case OVPN_PROT_TLS_CRYPT_V2: return "tls-crypt-v2";
    default: return "unknown";
    }
}

/* ------------------------------------------------------------ framing */

void ovpn_stream_init(ovpn_stream *s, uint8_t hmac, bool encrypted, ovpn_payload_fn payload, ovpn_gap_fn gap,
                      void *user)
{
    memset(s, 0, sizeof *s);
    s->hmac = hmac <= OVPN_HMAC_MAX ? hmac : OVPN_HMAC_MAX;
    s->encrypted = encrypted;
    s->payload = payload;
    s->gap = gap;
    s->user = user;
    s->state = OVS_LEN;
    s->need = 2;
}

static void tell_gap(ovpn_stream *s, uint64_t n)
{
    if (s->gap) s->gap(s->user, n);
}

static void lose(ovpn_stream *s)
{
    s->state = OVS_LOST;
    s->st.lost++;
    tell_gap(s, 0);
}

static void next_packet(ovpn_stream *s)
{
    s->state = OVS_LEN;
    s->got = 0;
    s->need = 2;
    s->deliver = false;
}

static void skip_rest(ovpn_stream *s, bool malformed)
{
    if (malformed) s->st.malformed++;
    s->state = OVS_SKIP;
    if (!s->left) next_packet(s);
}

/* Bytes d[i..] into buf up to need; consumed count returned. */
static size_t gather(ovpn_stream *s, const uint8_t *d, size_t n, size_t i)
{
    size_t k = (size_t)(s->need - s->got);
    if (k > n - i) k = n - i;
    memcpy(s->buf + s->got, d + i, k);
    s->got = (uint16_t)(s->got + k);
    return k;
}

/* Where the framing can be found again: a control packet of this side's
 * session (length, opcode, session id) starting within the chunk. */
static size_t resync(ovpn_stream *s, const uint8_t *d, size_t n, size_t i)
{
    if (!s->sid_set) return n;
    for (size_t j = i; j + 11 <= n; j++) {
        uint8_t op = (uint8_t)(d[j + 2] >> 3);
        if (!valid_op(op) || is_data(op) || be16(d + j) < MIN_CONTROL) continue;
        if (memcmp(d + j + 3, s->sid, 8) != 0) continue;
        s->st.resynced++;
        next_packet(s);
        return j;
    }
    return n;
}

/* The ack array is behind: the message packet id, or the end of an ack. */
static void after_acks(ovpn_stream *s)
{
    if (!has_mpid(s->op)) {
        s->st.acks++;
        skip_rest(s, s->left != 0);
        return;
    }
    if (s->left < 4) {
        skip_rest(s, true);
        return;
    }
    s->state = OVS_MPID;
    s->got = 0;
    s->need = 4;
}

/* The head (opcode .. ack count) is in buf. */
static void on_head(ovpn_stream *s)
{
    if (!s->sid_set) {
        memcpy(s->sid, s->buf + 1, 8);
        s->sid_set = true;
    }
    if (s->encrypted) {
        if (s->op == OVPN_ACK_V1) s->st.acks++;
        else s->st.control++;
        skip_rest(s, false);
        return;
    }
    size_t cnt = s->buf[s->got - 1];
    size_t acks = cnt * 4 + (cnt ? 8 : 0);
    if (acks > s->left) {
        skip_rest(s, true);
        return;
    }
    s->state = OVS_ACKS;
    s->need = (uint16_t)acks;
    if (!acks) after_acks(s); /* decided now, even at the end of the packet */
}

/* The message packet id is in buf: deliver the body or not. */
static void on_mpid(ovpn_stream *s)
{
    uint32_t pid = be32(s->buf);
    s->st.control++;
    if (is_reset(s->op)) s->st.resets++;
    if (!s->key_set) {
        s->key_set = true;
        s->key_id = s->kid;
        s->next_pid = pid; /* picked up mid-stream: start where it is */
    }
    s->deliver = false;
    s->state = OVS_BODY;
    if (s->kid != s->key_id) {
        s->st.other_key++; /* a renegotiated key session: another TLS stream */
        return;
    }
    uint32_t ahead = pid - s->next_pid, behind = s->next_pid - pid;
    if (ahead > OVPN_WINDOW && behind <= OVPN_WINDOW) {
        s->st.retransmitted++;
        return;
    }
    if (ahead > OVPN_WINDOW) {
        s->st.out_of_window++;
        return;
    }
    if (ahead) {
        s->st.skipped_ids += ahead;
        tell_gap(s, 0);
    }
    s->next_pid = pid + 1;
    s->deliver = s->op == OVPN_CONTROL_V1;
}

void ovpn_stream_feed(ovpn_stream *s, const uint8_t *d, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t k;
        switch (s->state) {
        case OVS_LOST:
            i = resync(s, d, n, i);
            break;
        case OVS_LEN:
            i += gather(s, d, n, i);
            if (s->got < s->need) break;
            s->left = be16(s->buf);
            if (!s->left) {
                s->st.malformed++; /* nothing to read: the next length follows */
                next_packet(s);
                break;
            }
            s->state = OVS_HEAD;
            s->got = 0;
            s->need = 1;
            break;
        case OVS_HEAD:
            k = gather(s, d, n, i);
            i += k;
            s->left -= (uint32_t)k;
            if (s->got < s->need) break;
            if (s->got == 1) {
                s->op = (uint8_t)(s->buf[0] >> 3);
                s->kid = (uint8_t)(s->buf[0] & 7);
                if (!valid_op(s->op)) {
                    lose(s);
                    break;
                }
                if (is_data(s->op)) {
                    s->st.data++;
                    skip_rest(s, false);
                    break;
                }
                size_t head = s->encrypted ? 9 : ack_off(s->hmac) + 1;
                if (head - 1 > s->left) {
                    skip_rest(s, true);
                    break;
                }
                s->need = (uint16_t)head;
                break;
            }
            on_head(s);
            break;
        case OVS_ACKS:
            k = s->need < n - i ? s->need : n - i;
            i += k;
            s->need = (uint16_t)(s->need - k);
            s->left -= (uint32_t)k;
            if (!s->need) after_acks(s);
            break;
        case OVS_MPID:
            k = gather(s, d, n, i);
            i += k;
            s->left -= (uint32_t)k;
            if (s->got < s->need) break;
            on_mpid(s);
            if (!s->left) next_packet(s);
            break;
        case OVS_BODY:
        case OVS_SKIP:
            k = s->left < n - i ? s->left : n - i;
            if (s->state == OVS_BODY && s->deliver && k) {
                s->st.tls_bytes += k;
                s->payload(s->user, d + i, k);
            }
            i += k;
            s->left -= (uint32_t)k;
            if (!s->left) next_packet(s);
            break;
        default:
            lose(s);
            break;
        }
    }
}

void ovpn_stream_lost(ovpn_stream *s, uint64_t n)
{
    if (!n) return;
    if ((s->state == OVS_BODY || s->state == OVS_SKIP) && n < s->left) {
        /* inside a packet of known length: the framing holds */
        if (s->state == OVS_BODY && s->deliver) tell_gap(s, n);
        s->left -= (uint32_t)n;
        return;
    }
    if (s->state != OVS_LOST) lose(s);
}
