/* Entry: X.509 summary on raw DER, the TLS Certificate message (1.2 and 1.3
 * forms) around it, and the OCSP response parser. */
#include "fuzz_common.h"

#include "tls_certificate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    x509_summary *xs = malloc(sizeof *xs);
    tls_certificate *c = malloc(sizeof *c);
    if (xs && c) {
        x509_summary_parse(data, size, xs);
        x509_ocsp o;
        x509_summary_ocsp(data, size, &o);
        for (int tls13 = 0; tls13 < 2; tls13++) {
            if (tls_certificate_parse(data, size, tls13, c) && c->count > 0)
                x509_summary_parse(c->certs[0].der, c->certs[0].len, xs);
        }
    }
    free(xs);
    free(c);
    return 0;
}
