/* Alert, ChangeCipherSpec and heartbeat record bodies. */
#ifndef TLSWATCH_TLS_ALERT_H
#define TLSWATCH_TLS_ALERT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls_names.h"

typedef struct tls_alert {
    uint8_t level;        /* 1 warning, 2 fatal; 0 when encrypted */
    uint8_t description;  /* enum tls_alert_code */
    const char *name;     /* static, NULL when unknown or encrypted */
    bool encrypted;       /* as passed by the caller: level/description unknown */
    uint16_t record_len;
    uint8_t count;        /* alerts in the record (normally 1) */
    tls_anomalies anomalies;
} tls_alert;

typedef struct tls_heartbeat {
    uint8_t type;          /* 1 request, 2 response */
    uint16_t payload_length;
    uint16_t record_len;
    bool overflow;         /* payload_length + 3 + 16 > record length (heartbleed) */
    tls_anomalies anomalies;
} tls_heartbeat;

/* body may be NULL when encrypted (then only record_len is known). */
bool tls_alert_parse(const uint8_t *body, size_t len, bool encrypted, tls_alert *out);
/* Returns the anomalies of a CCS body (valid: the single byte 1). */
tls_anomalies tls_alert_parse_ccs(const uint8_t *body, size_t len);
bool tls_alert_parse_heartbeat(const uint8_t *body, size_t len, tls_heartbeat *out);
#endif
