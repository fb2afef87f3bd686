/* report: HTML escaping, the atomic write, the rolling window of a live
 * report, and its bounds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"
#include "t.h"

static char *escaped(const char *s)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    report_escape(f, s);
    fclose(f);
    return buf;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    static char buf[4 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

static void mkflow(struct flow *f, int client, int server)
{
    memset(f, 0, sizeof *f);
    f->key.family = 4;
    f->cli.addr[0] = 10, f->cli.addr[3] = (uint8_t)client;
    f->srv.addr[0] = 192, f->srv.addr[3] = (uint8_t)server;
    f->cli.port = 40000;
    f->srv.port = 443;
}

static void finding(struct report *r, const char *rule, int client, int server, const char *sni, double t)
{
    struct flow f;
    mkflow(&f, client, server);
    tls_facts facts;
    memset(&facts, 0, sizeof facts);
    if (sni) FSET(TLS, &facts, sni, sni);
    FSET(TLS, &facts, outcome, 2); /* failed */
    struct rule_finding rf = { rule, SEV_HIGH, "high", "alerts", "exact", "server", "msg <b>", "advice & more", "" };
    report_handshake(r, &f, &facts, t);
    report_finding(r, &rf, &f, &facts, t);
}

int main(void)
{
    char *e = escaped("<script>alert('x')</script> & \"q\"\x01\x7f ok");
    CHECK_EQ_STR(e, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;?? ok",
                 "markup, quotes, ampersands escaped; control bytes as '?'");
    free(e);
    e = escaped("caf\xc3\xa9.example");
    CHECK_EQ_STR(e, "caf\xc3\xa9.example", "UTF-8 passes unchanged");
    free(e);

    char dir[] = "/tmp/test_report.XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "temporary directory");
    char path[64], tmp[80];
    snprintf(path, sizeof path, "%s/r.html", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);

    /* a file run: everything in it */
    struct report_opts o = { .path = path, .source = "test.pcap" };
    struct report *r = report_new(&o);
    finding(r, "rule-old", 1, 1, "<img src=x>", 1000);
    finding(r, "rule-new", 2, 1, "ok.example", 5000);
    finding(r, "rule-new", 3, 1, "ok.example", 5001);
    CHECK_EQ_INT(report_write(r, 5001), 0, "written");
    CHECK(access(tmp, F_OK) != 0, "the temporary file was renamed");
    char *h = slurp(path);
    CHECK(h && strstr(h, "data-rule=\"rule-old\"") && strstr(h, "data-rule=\"rule-new\" data-count=\"2\" data-clients=\"2\""),
          "a file run reports every incident, with counts and distinct clients");
    CHECK(h && !strstr(h, "<img src") && strstr(h, "&lt;img src=x&gt;"), "the SNI is escaped");
    CHECK(h && strstr(h, "msg &lt;b&gt;") && strstr(h, "advice &amp; more"), "rule texts are escaped too");
    report_free(r);

    /* live: a window of 600 s; what is older leaves the report */
    remove(path);
    o.window = 600;
    o.interval = 10;
    r = report_new(&o);
    report_set_live(r);
    finding(r, "rule-old", 1, 1, NULL, 1000);
    finding(r, "rule-new", 2, 1, NULL, 1500);
    report_tick(r, 1500); /* the first tick arms the interval */
    CHECK(access(path, F_OK) != 0, "nothing written before the interval");
    report_tick(r, 1511);
    h = slurp(path);
    CHECK(h && strstr(h, "data-rule=\"rule-old\"") && strstr(h, "data-rule=\"rule-new\""),
          "live: an interval later, the file holds both incidents of the window");
    report_tick(r, 1700);
    h = slurp(path);
    CHECK(h && !strstr(h, "data-rule=\"rule-old\"") && strstr(h, "data-rule=\"rule-new\""),
          "live: 700 s later the first incident has left the 600 s window");
    CHECK(h && strstr(h, "the last 600 s"), "live: the window is stated");
    report_free(r);

    /* bounded: at most REPORT_INCIDENTS_MAX incidents */
    r = report_new(&o);
    char rule[32];
    for (int i = 0; i < REPORT_INCIDENTS_MAX + 20; i++) {
        snprintf(rule, sizeof rule, "rule-%d", i);
        finding(r, rule, i % 200, i % 250, NULL, 100 + i * 0.001);
    }
    CHECK_EQ_INT(report_write(r, 101), 0, "written");
    h = slurp(path);
    CHECK_EQ_INT(h ? count(h, "<tr class=\"sev-") : 0, REPORT_INCIDENTS_MAX, "incidents capped");
    CHECK(h && !strstr(h, "data-rule=\"rule-0\"") && strstr(h, "data-rule=\"rule-519\""),
          "the least recently seen incidents were forgotten first");
    CHECK_EQ_INT(h ? count(h, "<section class=\"detail\"") : 0, REPORT_INCIDENTS_MAX, "one sample ladder per incident kept");
    report_free(r);
    remove(path);
    rmdir(dir);
    return T_DONE();
}
