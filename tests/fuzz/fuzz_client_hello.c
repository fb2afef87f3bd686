/* Entry: hello parsers on a raw message body (TLS ClientHello/ServerHello
 * and the SSLv2 forms), plus EncryptedExtensions which shares the
 * extension code. */
#include "fuzz_common.h"

#include "tls_hello.h"
#include "tls_message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tls_client_hello *ch = malloc(sizeof *ch);
    tls_server_hello *sh = malloc(sizeof *sh);
    tls_exts *ee = malloc(sizeof *ee);
    if (ch && sh && ee) {
        tls_hello_parse_client(data, size, ch);
        tls_hello_parse_server(data, size, sh);
        tls_hello_parse_sslv2_client(data, size, ch);
        tls_sslv2_server_hello v2;
        tls_hello_parse_sslv2_server(data, size, &v2);
        tls_message_parse_ee(data, size, ee);
    }
    free(ch);
    free(sh);
    free(ee);
    return 0;
}
