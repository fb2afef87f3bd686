/* output_kafka.c without a broker: the broker list and topic checks made
 * before librdkafka is configured, and the message key taken from a line. */
#include "t.h"

#include <string.h>

#include "output_kafka.h"

static int brokers_ok(const char *s)
{
    char err[256];
    return output_kafka_brokers_check(s, err, sizeof err) == 0;
}

static int topic_ok(const char *s)
{
    char err[256];
    return output_kafka_topic_check(s, err, sizeof err) == 0;
}

static void key_is(const char *line, const char *want, const char *name)
{
    size_t n = 0;
    const char *k = output_kafka_line_key(line, strlen(line), &n);
    char got[128] = "(none)";
    if (k) snprintf(got, sizeof got, "%.*s", (int)n, k);
    CHECK_EQ_STR(got, want ? want : "(none)", "line key: %s", name);
}

int main(void)
{
    CHECK(brokers_ok("k1"), "brokers: host alone");
    CHECK(brokers_ok("k1.example:9092,10.0.0.2:9093,[2001:db8::1]:9092,[::1]"), "brokers: names, IPv4, IPv6 in brackets");
    CHECK(brokers_ok("my_host-1:65535"), "brokers: port 65535, _ and - in names");
    CHECK(!brokers_ok(""), "brokers: empty list refused");
    CHECK(!brokers_ok("k1,"), "brokers: empty entry refused");
    CHECK(!brokers_ok(":9092"), "brokers: no host refused");
    CHECK(!brokers_ok("k1:"), "brokers: empty port refused");
    CHECK(!brokers_ok("k1:0") && !brokers_ok("k1:65536") && !brokers_ok("k1:123456"), "brokers: port out of range refused");
    CHECK(!brokers_ok("k1:90a"), "brokers: non-numeric port refused");
    CHECK(!brokers_ok("k1 k2") && !brokers_ok("k1, k2"), "brokers: spaces refused");
    CHECK(!brokers_ok("::1") && !brokers_ok("[]:9092") && !brokers_ok("[::g]"), "brokers: bare or bad IPv6 refused");
    CHECK(!brokers_ok("SSL://k1:9093") && !brokers_ok("plaintext://k1"), "brokers: PROTOCOL:// prefix refused");
    CHECK(topic_ok("tlswatch") && topic_ok("sensor.eu-1_tls"), "topic: legal names");
    char big[251];
    memset(big, 'a', 249);
    big[249] = '\0';
    CHECK(topic_ok(big), "topic: 249 characters");
    big[249] = 'a';
    big[250] = '\0';
    CHECK(!topic_ok(big), "topic: 250 characters refused");
    CHECK(!topic_ok("") && !topic_ok(".") && !topic_ok("..") && !topic_ok("a/b") && !topic_ok("a b"),
          "topic: empty, . .. / space refused");

    key_is("{\"timestamp\":\"2026-01-01T00:00:00.000000Z\",\"event_type\":\"tls\",\"flow_id\":1,"
           "\"community_id\":\"1:EDGzUWC+by3HmNLDYVE7CMsdE1A=\",\"src_ip\":\"10.0.0.1\"}",
           "1:EDGzUWC+by3HmNLDYVE7CMsdE1A=", "tls event");
    key_is("{\"timestamp\":\"2026-01-01T00:00:00.000000Z\",\"event_type\":\"stats\",\"stats\":{\"packets\":1}}", NULL,
           "stats event has none");
    /* a string value that looks like the member, escaped as JSON escapes it */
    key_is("{\"event_type\":\"x\",\"sni\":\"a\\\"community_id\\\":\\\"evil\"}", NULL, "escaped look-alike in a string");
    key_is("2026-11-22T10:00:00.123456Z 10.0.0.1:51514 -> 10.0.0.2:443 CRITICAL renegotiation-rejected", NULL,
           "text line has none");
    key_is("{\"community_id\":\"\"}", NULL, "empty value is none");
    key_is("{\"community_id\":\"1:abc", NULL, "unterminated value is none");
    return T_DONE();
}
