/* Entry: handshake reassembly + tls_message_parse for every message type,
 * with the negotiated version/cipher taken from the first 4 bytes (so SKE,
 * CKE, Certificate, NST and CertificateVerify layouts all get exercised). */
#include "fuzz_common.h"

#include "tls_message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_msg(void *user, const tls_hs_msg *m)
{
    const tls_message_ctx *ctx = user;
    tls_message *out = malloc(sizeof *out);
    if (!out) return;
    tls_message_parse(m, ctx, out);
    if (m->type == TLS_HS_CERTIFICATE_STATUS && out->ok) {
        x509_ocsp o;
        x509_summary_ocsp(out->u.cs.response, out->u.cs.response_len, &o);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5) return 0;
    static const uint16_t versions[] = { 0, 0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0x7f12 };
    tls_message_ctx ctx = { versions[data[0] % 7], (uint16_t)(data[1] << 8 | data[2]) };
    static uint8_t buf[4096];
    tls_handshake_reasm r;
    tls_handshake_init(&r, buf, sizeof buf, 0, on_msg, &ctx);
    size_t chunk = (size_t)data[3] + 1;
    const uint8_t *p = data + 5;
    size_t n = size - 5;
    while (n > 0) {
        size_t k = chunk < n ? chunk : n;
        tls_handshake_feed(&r, p, k, 0);
        p += k;
        n -= k;
    }
    return 0;
}
