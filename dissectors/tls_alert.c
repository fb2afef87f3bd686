/* Small record-level messages. Heartbleed (CVE-2014-0160) shows as a
 * heartbeat whose payload_length is larger than the record can carry:
 * type(1) + length(2) + payload + at least 16 bytes of padding. */
#include "tls_alert.h"

#include <string.h>

#include "cursor.h"

bool tls_alert_parse(const uint8_t *body, size_t len, bool encrypted, tls_alert *out)
{
    memset(out, 0, sizeof *out);
    out->record_len = (uint16_t)(len > UINT16_MAX ? UINT16_MAX : len);
    out->encrypted = encrypted;
    if (encrypted || !body) return true;
    cur_t c = cur_init(body, len);
    out->level = cur_u8(&c);
    out->description = cur_u8(&c);
    if (!cur_ok(&c)) {
        out->anomalies |= TLS_ANOM_BIT(ALERT_MALFORMED);
        return false;
    }
    out->count = 1;
    out->name = tls_names_alert(out->description);
    if (out->level != 1 && out->level != 2) out->anomalies |= TLS_ANOM_BIT(ALERT_LEVEL_INVALID);
    if (len != 2) {
        out->anomalies |= TLS_ANOM_BIT(ALERT_MALFORMED);
        out->count = (uint8_t)(len / 2 > 255 ? 255 : len / 2);
    }
    return true;
}

tls_anomalies tls_alert_parse_ccs(const uint8_t *body, size_t len)
{
    if (!body || len != 1 || body[0] != 1) return TLS_ANOM_BIT(CCS_MALFORMED);
    return 0;
}

bool tls_alert_parse_heartbeat(const uint8_t *body, size_t len, tls_heartbeat *out)
{
    memset(out, 0, sizeof *out);
    out->record_len = (uint16_t)(len > UINT16_MAX ? UINT16_MAX : len);
    cur_t c = cur_init(body, len);
    out->type = cur_u8(&c);
    out->payload_length = cur_u16(&c);
    if (!cur_ok(&c) || (out->type != 1 && out->type != 2)) {
        out->anomalies |= TLS_ANOM_BIT(HEARTBEAT_MALFORMED);
        return false;
    }
    if ((size_t)out->payload_length + 3u + 16u > len) {
        out->overflow = true;
        out->anomalies |= TLS_ANOM_BIT(HEARTBEAT_OVERFLOW);
    }
    return true;
}
