/* Entry: the rule language, the same path as `tlswatch --check-rules`:
 * rule text (rejected when it holds a NUL byte, as load_file() does) goes
 * through rules_load_string() and rules_finalize(), errors to a sink.
 * Whatever loads is then listed and evaluated over one fixed set of typed facts
 * (twice, so thresholds count), and everything is freed. Needs the src/
 * objects (rules*.c, facts.c, json.c, xalloc.c, siphash.c), tests/lib and
 * dissectors/tls_names.c. Run by hand (clang 14):
 *   nice -n 10 build/fuzz/fuzz_rules -max_total_time=1200 -rss_limit_mb=512
 *       -timeout=10 -max_len=8192 build/fuzz/corpus/rules tests/fuzz/corpus/rules
 * (the first directory gets the new inputs: keep it out of the tree). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "facts_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char FACTS[] =
    "{\"flow\":{\"client_ip\":\"10.0.0.1\",\"server_ip\":\"10.0.0.2\",\"client_port\":40000,"
    "\"server_port\":443,\"time\":1763800000.25,\"midstream\":false,\"end_reason\":\"fin\"},"
    "\"version\":\"TLSv1.2\",\"version_code\":771,\"client_versions\":[\"TLSv1.3\",\"TLSv1.2\"],"
    "\"cipher\":\"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\",\"cipher_code\":49196,"
    "\"sni\":\"server.example\",\"alpn\":[\"h2\",\"http/1.1\"],\"outcome\":\"failed\","
    "\"history\":\"CsxknL\",\"handshakes\":1,\"established\":false,"
    "\"close\":{\"by\":\"client\",\"how\":\"fin\",\"after\":\"server_hello_done\"},"
    "\"alerts\":[{\"from\":\"client\",\"level\":\"fatal\",\"code\":45,"
    "\"description\":\"certificate_expired\",\"encrypted\":false,\"after\":\"server_hello_done\","
    "\"time\":1763800000.26,\"during_handshake\":true}],\"alert_count\":1,"
    "\"server_cert\":{\"subject\":\"CN=server.example\",\"issuer\":\"CN=ca\",\"cn\":\"server.example\","
    "\"not_after\":\"2021-01-01T00:00:00Z\",\"not_after_epoch\":1609459200,"
    "\"san\":[\"server.example\",\"localhost\"],\"key_type\":\"EC\",\"key_bits\":256,"
    "\"sig\":\"ecdsa-with-SHA256\",\"self_signed\":false,\"validity_days\":366},"
    "\"chain\":[{\"subject\":\"CN=ca\",\"issuer\":\"CN=root\",\"sig\":\"sha1WithRSAEncryption\","
    "\"self_signed\":false,\"not_after_epoch\":1850200000}],\"chain_len\":2,"
    "\"renegotiations\":[{\"initiator\":\"client\",\"time\":1763800001.0}],\"renegotiation_count\":1}";

static void sink(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

static void on_finding(void *ctx, const struct rule_finding *f)
{
    size_t *n = ctx;
    *n += strlen(f->message) + strlen(f->advice) + strlen(f->evidence);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static tls_facts *facts;
    static FILE *devnull;
    if (!facts) {
        char err[200];
        facts = facts_fixture_parse(FACTS, sizeof FACTS - 1, err, sizeof err);
        if (!facts) {
            fprintf(stderr, "fuzz_rules: facts fixture: %s\n", err);
            abort();
        }
        devnull = fopen("/dev/null", "w");
    }
    if (memchr(data, 0, size)) return 0; /* load_file(): "NUL byte in rule file" */
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct ruleset *rs = rules_new();
    int errs = rules_load_string(rs, "fuzz.rules", text, sink, NULL);
    errs += rules_finalize(rs, sink, NULL);
    if (devnull) rules_list(rs, RULES_LIST_JSON, devnull);
    size_t out = 0;
    struct rules_ctx c = { 1763800000.0, NULL, NULL, NULL, 0 };
    rules_eval(rs, facts, &c, on_finding, &out);
    c.time += 1;
    rules_eval(rs, facts, &c, on_finding, &out);
    rules_free(rs);
    free(text);
    (void)errs;
    return 0;
}
