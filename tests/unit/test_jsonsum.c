/* jsonsum: the stats events of --workers summed into one. */
#include <stdio.h>
#include <string.h>

#include "jsonsum.h"
#include "t.h"

static long sum2(const char *a, const char *b, char *out, size_t n)
{
    const char *d[2] = { a, b };
    size_t l[2] = { strlen(a), b ? strlen(b) : 0 };
    return jsonsum(d, l, b ? 2 : 1, out, n);
}

int main(void)
{
    char out[512];
    long n = sum2("{\"t\":\"2026-01-01T00:00:01Z\",\"s\":{\"p\":3,\"d\":1.5,\"b\":false,\"o\":{\"x\":1},\"a\":[1,2]}}\n",
                  "{\"t\":\"2026-01-01T00:00:02Z\",\"s\":{\"p\":4,\"d\":2,\"b\":true,\"o\":{\"y\":2},\"a\":[3]}}", out,
                  sizeof out);
    CHECK(n > 0, "two stats documents sum");
    CHECK_EQ_STR(out, "{\"t\":\"2026-01-01T00:00:02Z\",\"s\":{\"p\":7,\"d\":3.500,\"b\":true,\"o\":{\"x\":1,\"y\":2},\"a\":[1,2]}}",
                 "numbers add, booleans OR, the latest timestamp, keys united, arrays from the first");
    n = sum2("{\"big\":18446744073709551615}", "{\"big\":1}", out, sizeof out);
    CHECK(n > 0, "a counter beyond 2^63 (saturated) does not break the sum");
    n = sum2("{\"esc\":\"a\\\"b\",\"n\":null}", "{\"esc\":\"a\",\"n\":5}", out, sizeof out);
    CHECK_EQ_STR(out, "{\"esc\":\"a\\\"b\",\"n\":5}", "escaped strings kept raw; a value where the first had null");
    CHECK(sum2("{\"a\":1", "{\"a\":1}", out, sizeof out) < 0, "an unterminated object is refused");
    CHECK(sum2("{\"a\":1}", "{\"a\":1} x", out, sizeof out) < 0, "trailing bytes are refused");
    CHECK(sum2("{\"a\":\"x}", NULL, out, sizeof out) < 0, "an unterminated string is refused");
    CHECK(sum2("{\"a\":1e}", NULL, out, sizeof out) < 0, "a bad number is refused");
    char deep[256];
    size_t dl = 0;
    for (int i = 0; i < 20; i++) dl += (size_t)snprintf(deep + dl, sizeof deep - dl, "{\"a\":");
    dl += (size_t)snprintf(deep + dl, sizeof deep - dl, "1");
    for (int i = 0; i < 20; i++) dl += (size_t)snprintf(deep + dl, sizeof deep - dl, "}");
    CHECK(sum2(deep, NULL, out, sizeof out) < 0, "nesting beyond JSONSUM_MAX_DEPTH is refused");
    CHECK(sum2("{\"a\":123456}", NULL, out, 6) < 0, "an output buffer too small is an error, not an overflow");
    CHECK(sum2("{}", "{}", out, sizeof out) == 2 && strcmp(out, "{}") == 0, "empty objects");
    return T_DONE();
}
