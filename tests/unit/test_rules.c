/* Rule engine: parser (every construct), validation errors with exact
 * file:line:col (tests/unit/data/rules/NAME.rules, each states its expected
 * errors in "# expect: LINE:COL: message" lines), evaluation, templates with
 * nulls, suppression, thresholds across calls, options, listings, and the
 * shipped rules over the facts fixtures (tests/unit/data/facts: RULE.x.json
 * must fire RULE, RULE.clean.x.json must not). */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rules.h"
#include "t.h"
#include "facts_fixture.h"
#include "value_parse.h"

struct errs {
    char lines[32][600];
    int n;
};
static void collect(void *ctx, const char *line)
{
    struct errs *e = ctx;
    if (e->n < 32) snprintf(e->lines[e->n++], sizeof e->lines[0], "%s", line);
}

struct finds {
    struct {
        char rule[64], sev[16], conf[16], fix[16], msg[1024], adv[2048], evi[1024];
    } f[40];
    int n;
};
static void on_finding(void *ctx, const struct rule_finding *f)
{
    struct finds *F = ctx;
    if (F->n >= 40) return;
    snprintf(F->f[F->n].rule, sizeof F->f[0].rule, "%s", f->rule);
    snprintf(F->f[F->n].sev, sizeof F->f[0].sev, "%s", f->severity_name);
    snprintf(F->f[F->n].conf, sizeof F->f[0].conf, "%s", f->confidence);
    snprintf(F->f[F->n].fix, sizeof F->f[0].fix, "%s", f->fix_side);
    snprintf(F->f[F->n].msg, sizeof F->f[0].msg, "%s", f->message);
    snprintf(F->f[F->n].adv, sizeof F->f[0].adv, "%s", f->advice);
    snprintf(F->f[F->n].evi, sizeof F->f[0].evi, "%s", f->evidence);
    F->n++;
}
static int find(const struct finds *F, const char *rule)
{
    for (int i = 0; i < F->n; i++)
        if (strcmp(F->f[i].rule, rule) == 0) return i;
    return -1;
}

static struct value *J(const char *json)
{
    char err[200] = "";
    struct value *v = value_parse_json(json, strlen(json), err, sizeof err);
    if (!v) printf("JSON error: %s in %s\n", err, json);
    return v;
}

/* Typed facts from JSON (the fixtures' form). */
static tls_facts *FX(const char *json)
{
    char err[300];
    tls_facts *f = facts_fixture_parse(json, strlen(json), err, sizeof err);
    if (!f) {
        printf("  facts fixture: %s\n", err);
        f = facts_fixture_parse("{}", 2, err, sizeof err);
    }
    return f;
}

static struct ruleset *load_str(const char *text, struct errs *e)
{
    struct ruleset *rs = rules_new();
    memset(e, 0, sizeof *e);
    rules_load_string(rs, "t.rules", text, collect, e);
    rules_finalize(rs, collect, e);
    return rs;
}

static void test_json(void)
{
    char err[200];
    struct value *v = J("{\"a\": [1, 2.5, \"x\\u00e9\\ud83d\\ude00\", true, null], \"b\": {\"c\": -7}}");
    CHECK(v && v->type == V_OBJ, "json: object");
    CHECK_EQ_INT(value_path(v, "a[0]")->type, V_INT, "json: int");
    CHECK_EQ_INT(value_path(v, "a[1]")->type, V_DOUBLE, "json: double");
    CHECK_EQ_STR(value_path(v, "a[2]")->u.str.s, "x\xc3\xa9\xf0\x9f\x98\x80", "json: \\u escapes and surrogates");
    CHECK_EQ_INT(value_path(v, "b.c")->u.i, -7, "json: nested negative");
    value_free(v);
    static const char *const bad[] = { "{", "[1,]", "{\"a\" 1}", "\"\\ud800\"", "tru", "1 2", "{\"a\":\"\x01\"}" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = value_parse_json(bad[i], strlen(bad[i]), err, sizeof err);
        CHECK(v == NULL, "json: rejects %s (%s)", bad[i], err);
    }
    v = value_parse_json("{\n  \"a\": x}", 11, err, sizeof err);
    CHECK(v == NULL && strncmp(err, "2:8:", 4) == 0, "json: error position %s", err);
}

static const char *LANG =
    "# every construct\n"
    "param limit = 2\n"
    "param window = 1m\n"
    "param word = \"TLSv1.2\"\n"
    "rule all-constructs {\n"
    "  severity: high\n"
    "  category: test\n"
    "  summary: \"tests \" \"everything\"\n"
    "  when: (version == $word or version in [\"TLSv1.0\", \"TLSv1.1\"]) and not (sni == null)\n"
    "        and client_ciphers contains \"TLS_AES_128_GCM_SHA256\" and sni matches /^www\\.[a-z]+\\.example$/i\n"
    "        and exists server_cert and not exists client_cert and alerts[0].code >= 40 and alert_count != 0\n"
    "        and count(alerts where from == \"server\" and level == \"fatal\") > 0\n"
    "        and any(client_ciphers where it matches /GCM/) and all(alerts where code > -1)\n"
    "        and server_cert.key_bits * 2 - 12 / 3 % 5 > 100 and -flow.time < 0\n"
    "        and sni not in [\"a\"] and client_ciphers not contains \"RC4\" and version not matches /SSL/\n"
    "        and first(alerts where level == \"fatal\").code == 40 and len(client_ciphers) == 2\n"
    "        and any(alerts where time > flow.time)\n"
    "  confidence: if alerts[0].encrypted then inferred else exact\n"
    "  fix_side: if alerts[0].from == \"client\" then server elif alerts[0].from == \"server\" then client else either\n"
    "  message: \"{alerts[0].from} sent {last_alert.description}({alerts[0].code}): {alert_meaning(alerts[0].code)}; \"\n"
    "           \"ocsp {ocsp.status}, {ocsp.status ?? \"no staple\"}, {{literal}}, {join(client_ciphers, \"+\")}\"\n"
    "  advice: \"{alert_name(112)} {int(flow.time)} {rfc3339(server_cert.not_after_epoch)} {lower(sni)} {choose(hrr, \"hrr\", \"no hrr\")}\"\n"
    "  evidence: \"{alert_list(alerts)} | {len(alerts)} | {client_ciphers} | {server_cert.key_bits / 3} | {flow.time} | {$limit} | {\"a\" + 1}\"\n"
    "}\n"
    "rule info-only { severity: info when: true message: \"i\" }\n";

static const char *FACTS =
    "{\"flow\": {\"time\": 1700000000.5, \"client_ip\": \"10.0.0.1\"}, \"version\": \"TLSv1.2\", \"sni\": \"WWW.Example.example\","
    " \"client_ciphers\": [\"TLS_AES_128_GCM_SHA256\", \"TLS_AES_256_GCM_SHA384\"], \"hrr\": false,"
    " \"server_cert\": {\"key_bits\": 256, \"not_after_epoch\": 1700086400}, \"client_cert\": null,"
    " \"alerts\": [{\"from\": \"server\", \"level\": \"fatal\", \"code\": 40, \"description\": \"handshake_failure\","
    " \"encrypted\": false, \"after\": \"client_hello\", \"time\": 1700000001}], \"alert_count\": 1,"
    " \"last_alert\": {\"from\": \"server\", \"level\": \"fatal\", \"code\": 40, \"description\": \"handshake_failure\"},"
    " \"ocsp\": {\"status\": null}}";

static void test_language(void)
{
    struct errs e;
    struct ruleset *rs = load_str(LANG, &e);
    for (int i = 0; i < e.n; i++) printf("  error: %s\n", e.lines[i]);
    CHECK_EQ_INT(e.n, 0, "language: every construct parses and validates");
    CHECK_EQ_INT(rules_count(rs), 2, "language: two rules");
    CHECK(rules_param(rs, "window") == 60, "duration 1m = 60 s");
    tls_facts *f = FX(FACTS);
    struct finds F = { 0 };
    size_t n = rules_eval(rs, f, NULL, on_finding, &F);
    CHECK_EQ_INT(n, 2, "language: both rules fire");
    int i = find(&F, "all-constructs");
    CHECK(i >= 0, "all-constructs fires");
    if (i >= 0) {
        CHECK_EQ_STR(F.f[i].msg,
                     "server sent handshake_failure(40): no acceptable set of parameters (e.g. no common cipher); "
                     "ocsp unknown, no staple, {literal}, TLS_AES_128_GCM_SHA256+TLS_AES_256_GCM_SHA384",
                     "message template: paths, functions, null, ??, {{ }}, join");
        CHECK_EQ_STR(F.f[i].adv, "unrecognized_name 1700000000 2023-11-15T22:13:20Z www.example.example no hrr",
                     "advice template: alert_name, int, rfc3339, lower, choose");
        CHECK_EQ_STR(F.f[i].evi,
                     "server fatal handshake_failure(40) after client_hello | 1 | TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384"
                     " | 85 | 1700000000.500 | 2 | a1",
                     "evidence template: alert_list, arrays, integer division, doubles, params, concatenation");
        CHECK_EQ_STR(F.f[i].fix, "client", "conditional fix_side (elif branch)");
        CHECK_EQ_STR(F.f[i].conf, "exact", "conditional confidence (else branch)");
        CHECK_EQ_STR(F.f[i].sev, "high", "severity name");
    }
    /* --param changes the string parameter: no longer fires */
    char err[200];
    CHECK_EQ_INT(rules_set_param(rs, "word=TLSv1.3", err, sizeof err), 0, "set string param");
    CHECK_EQ_INT(rules_set_param(rs, "nope=1", err, sizeof err), -1, "unknown param rejected");
    CHECK(strstr(err, "unknown parameter 'nope'") != NULL, "unknown param message: %s", err);
    CHECK_EQ_INT(rules_set_param(rs, "limit=abc", err, sizeof err), -1, "non-numeric value rejected");
    CHECK_EQ_INT(rules_set_param(rs, "limit=5", err, sizeof err), 0, "numeric param");
    CHECK(rules_param(rs, "limit") == 5, "param value 5");
    CHECK_EQ_INT(rules_set_param(rs, "window=2h", err, sizeof err), 0, "duration param");
    CHECK(rules_param(rs, "window") == 7200, "2h = 7200 s");
    memset(&F, 0, sizeof F);
    rules_eval(rs, f, NULL, on_finding, &F);
    CHECK(find(&F, "all-constructs") < 0, "after --param word=TLSv1.3 the rule no longer fires");
    /* options: min severity, disable, fail-on */
    rules_set_param(rs, "word=TLSv1.2", err, sizeof err);
    rules_set_min_severity(rs, SEV_LOW);
    rules_set_fail_on(rs, SEV_CRITICAL);
    memset(&F, 0, sizeof F);
    rules_eval(rs, f, NULL, on_finding, &F);
    CHECK(find(&F, "info-only") < 0 && find(&F, "all-constructs") >= 0, "--min-severity low hides info");
    CHECK_EQ_INT(rules_failed(rs), 0, "--fail-on critical: high does not fail");
    rules_set_fail_on(rs, SEV_HIGH);
    rules_eval(rs, f, NULL, NULL, NULL);
    CHECK_EQ_INT(rules_failed(rs), 1, "--fail-on high: fails");
    CHECK_EQ_INT(rules_disable(rs, "all-constructs"), 0, "disable known rule");
    CHECK_EQ_INT(rules_disable(rs, "no-such"), -1, "disable unknown rule: -1");
    memset(&F, 0, sizeof F);
    rules_eval(rs, f, NULL, on_finding, &F);
    CHECK_EQ_INT(F.n, 0, "disabled rule does not fire");
    CHECK_EQ_INT(rules_severity_parse("CRITICAL"), SEV_CRITICAL, "severity parse case-insensitive");
    CHECK_EQ_INT(rules_severity_parse("urgent"), -1, "bad severity -1");
    facts_fixture_free(f);
    rules_free(rs);

    /* templates with nulls everywhere: no crash, "unknown" */
    rs = load_str("rule n { severity: low when: true message: \"{sni} {alerts[3].code} {alert_meaning(last_alert.code)} "
                  "{first(alerts where code == 1).from} {join(alpn)} {int(flow.time)}\" }\n", &e);
    CHECK_EQ_INT(e.n, 0, "null template parses");
    f = FX("{}");
    memset(&F, 0, sizeof F);
    rules_eval(rs, f, NULL, on_finding, &F);
    CHECK_EQ_STR(F.n ? F.f[0].msg : NULL, "unknown unknown unknown unknown  unknown", "nulls render as 'unknown'");
    facts_fixture_free(f);
    rules_free(rs);
}

static void test_suppression_and_thresholds(void)
{
    struct errs e;
    struct ruleset *rs = load_str(
        "param n = 3\n"
        "rule generic { severity: critical when: any(alerts where level == \"fatal\") message: \"g\" }\n"
        "rule specific { severity: high when: any(alerts where code == 70) message: \"s\" explains: [generic] }\n"
        "rule other { severity: low when: any(alerts where code == 40) message: \"o\" suppressed_by: [specific] }\n"
        "rule storm { severity: high when: alert_count > 0 threshold: count $n within 10s by client message: \"storm\" }\n"
        "rule wstorm { severity: high when: renegotiation_count > 0 "
        "  threshold: count 4 within 60s by flow weight burst(renegotiations, 5) message: \"w\" }\n",
        &e);
    for (int i = 0; i < e.n; i++) printf("  error: %s\n", e.lines[i]);
    CHECK_EQ_INT(e.n, 0, "suppression rules load");
    tls_facts *f70 = FX("{\"flow\":{\"time\":100,\"client_ip\":\"192.0.2.1\"},\"alert_count\":1,"
                          "\"alerts\":[{\"level\":\"fatal\",\"code\":70}]}");
    tls_facts *f40 = FX("{\"flow\":{\"time\":100,\"client_ip\":\"192.0.2.1\"},\"alert_count\":1,"
                          "\"alerts\":[{\"level\":\"fatal\",\"code\":40}]}");
    struct finds F = { 0 };
    struct rules_ctx ctx = { 100, "a", NULL, NULL, 0 };
    rules_eval(rs, f70, &ctx, on_finding, &F);
    CHECK(find(&F, "specific") >= 0 && find(&F, "generic") < 0, "explains: generic suppressed by specific");
    memset(&F, 0, sizeof F);
    ctx.time = 101;
    rules_eval(rs, f40, &ctx, on_finding, &F);
    CHECK(find(&F, "generic") >= 0 && find(&F, "other") >= 0, "unexplained alert: generic and other fire");
    /* storm: 3rd hit within 10 s for client a fires, once per window */
    CHECK(find(&F, "storm") < 0, "storm: 2 hits do not fire");
    memset(&F, 0, sizeof F);
    ctx.time = 102;
    rules_eval(rs, f40, &ctx, on_finding, &F);
    CHECK(find(&F, "storm") >= 0, "storm: 3rd hit within the window fires");
    memset(&F, 0, sizeof F);
    for (int i = 0; i < 4; i++) {
        ctx.time = 103 + i;
        rules_eval(rs, f40, &ctx, on_finding, &F);
    }
    CHECK(find(&F, "storm") < 0, "storm: once per window per key");
    memset(&F, 0, sizeof F);
    ctx.client = "b";
    for (int i = 0; i < 3; i++) {
        ctx.time = 104 + i;
        rules_eval(rs, f40, &ctx, on_finding, &F);
    }
    CHECK(find(&F, "storm") >= 0, "storm: another client has its own count");
    memset(&F, 0, sizeof F);
    ctx.client = "c";
    for (int i = 0; i < 3; i++) {
        ctx.time = 200 + 20 * i;
        rules_eval(rs, f40, &ctx, on_finding, &F);
    }
    CHECK(find(&F, "storm") < 0, "storm: hits spread beyond the window do not fire");
    memset(&F, 0, sizeof F);
    ctx.client = "a";
    ctx.time = 113; /* the window after the first firing is over */
    rules_eval(rs, f40, &ctx, on_finding, &F);
    ctx.time = 114;
    rules_eval(rs, f40, &ctx, on_finding, &F);
    ctx.time = 115;
    rules_eval(rs, f40, &ctx, on_finding, &F);
    CHECK(find(&F, "storm") >= 0, "storm: fires again in a later window");
    /* weighted: one flow with 4 renegotiations within 5 s fires at once */
    tls_facts *fr = FX("{\"renegotiation_count\":4,\"renegotiations\":[{\"time\":1},{\"time\":2},{\"time\":3},{\"time\":4}]}");
    tls_facts *fr2 = FX("{\"renegotiation_count\":4,\"renegotiations\":[{\"time\":1},{\"time\":20},{\"time\":40},{\"time\":60}]}");
    memset(&F, 0, sizeof F);
    struct rules_ctx c2 = { 500, "x", "flow1", NULL, 0 };
    rules_eval(rs, fr2, &c2, on_finding, &F);
    CHECK(find(&F, "wstorm") < 0, "weighted storm: spread renegotiations (burst 1) do not fire");
    c2.flow = "flow2";
    rules_eval(rs, fr, &c2, on_finding, &F);
    CHECK(find(&F, "wstorm") >= 0, "weighted storm: 4 renegotiations within 5 s fire");
    facts_fixture_free(fr);
    facts_fixture_free(fr2);
    facts_fixture_free(f70);
    facts_fixture_free(f40);
    rules_free(rs);
}

/* Every tests/unit/data/rules/NAME.rules file lists its expected errors. */
static void test_errors(void)
{
    const char *dir = "tests/unit/data/rules";
    DIR *d = opendir(dir);
    CHECK(d != NULL, "error fixtures directory");
    if (!d) return;
    struct dirent *de;
    int files = 0;
    while ((de = readdir(d)) != NULL) {
        size_t L = strlen(de->d_name);
        if (L < 7 || strcmp(de->d_name + L - 6, ".rules") != 0) continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *fp = fopen(path, "r");
        char line[512], expect[8][1100];
        int ne = 0;
        while (fp && fgets(line, sizeof line, fp)) {
            if (strncmp(line, "# expect: ", 10) == 0 && ne < 8) {
                line[strcspn(line, "\n")] = '\0';
                snprintf(expect[ne++], sizeof expect[0], "%s:%s", path, line + 10);
            }
        }
        if (fp) fclose(fp);
        struct errs e = { 0 };
        struct ruleset *rs = rules_new();
        int n = rules_load(rs, path, collect, &e);
        n += rules_finalize(rs, collect, &e);
        CHECK_EQ_INT(n, ne, "%s: %d error(s)", de->d_name, ne);
        for (int i = 0; i < ne; i++) {
            int found = 0;
            for (int k = 0; k < e.n; k++)
                if (strncmp(e.lines[k], expect[i], strlen(expect[i])) == 0) found = 1;
            CHECK(found, "%s: reports \"%s\"", de->d_name, expect[i]);
            if (!found)
                for (int k = 0; k < e.n; k++) printf("  got: %s\n", e.lines[k]);
        }
        rules_free(rs);
        files++;
    }
    closedir(d);
    CHECK(files >= 15, "%d error fixtures", files);
    /* missing file / empty directory */
    struct errs e = { 0 };
    struct ruleset *rs = rules_new();
    CHECK_EQ_INT(rules_load(rs, "tests/unit/data/rules/none.rules", collect, &e), 1, "missing file: 1 error");
    CHECK(e.n == 1 && strstr(e.lines[0], "none.rules:0:0: cannot open") != NULL, "missing file message");
    rules_free(rs);
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The shipped rules over the facts fixtures. */
static void test_shipped(void)
{
    struct errs e = { 0 };
    struct ruleset *rs = rules_new();
    int n = rules_load(rs, "rules", collect, &e);
    n += rules_finalize(rs, collect, &e);
    for (int i = 0; i < e.n; i++) printf("  error: %s\n", e.lines[i]);
    CHECK_EQ_INT(n, 0, "shipped rules load without errors");
    CHECK_EQ_INT(rules_count(rs), 36, "36 shipped rules (every FAILURES.md id, certificate-rotated, slow-handshake, capture-loss)");
    static const char *const ids[] = {
        "renegotiation-rejected", "renegotiation-accepted", "server-requested-renegotiation", "renegotiation-storm",
        "insecure-renegotiation", "renegotiation-in-tls13", "version-mismatch", "cipher-mismatch", "group-mismatch",
        "obsolete-version", "weak-cipher", "no-application-protocol", "not-tls", "heartbleed",
        "server-certificate-missing", "client-certificate-missing", "certificate-expired", "certificate-not-yet-valid",
        "client-clock-skew", "certificate-self-signed", "certificate-unknown-ca", "certificate-chain-incomplete",
        "certificate-hostname-mismatch", "certificate-revoked", "certificate-weak", "certificate-expiring-soon",
        "certificate-changed", "certificate-rotated", "sni-missing", "sni-unrecognized", "handshake-aborted", "handshake-timeout", "slow-handshake",
        "fatal-alert", "incomplete-capture", "capture-loss",
    };
    int fires[64] = { 0 }, cleans[64] = { 0 };
    const char *dir = "tests/unit/data/facts";
    DIR *d = opendir(dir);
    char *names[256];
    size_t nn = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL && nn < 256) {
        size_t L = strlen(de->d_name);
        if (L > 5 && strcmp(de->d_name + L - 5, ".json") == 0) names[nn++] = strdup(de->d_name);
    }
    if (d) closedir(d);
    qsort(names, nn, sizeof *names, cmp);
    for (size_t k = 0; k < nn; k++) {
        char rule[128], path[512], err[300];
        snprintf(rule, sizeof rule, "%s", names[k]);
        rule[strcspn(rule, ".")] = '\0';
        int clean = strstr(names[k], ".clean.") != NULL || strstr(names[k], ".clean.json") != NULL;
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        tls_facts *f = facts_fixture_file(path, err, sizeof err);
        CHECK(f != NULL, "%s parses (%s)", names[k], f ? "" : err);
        if (!f) {
            free(names[k]);
            continue;
        }
        /* a fresh ruleset each time: thresholds must not leak between fixtures */
        struct ruleset *r1 = rules_new();
        rules_load(r1, "rules", NULL, NULL);
        rules_finalize(r1, NULL, NULL);
        struct finds F = { 0 };
        rules_eval(r1, f, NULL, on_finding, &F);
        int at = find(&F, rule);
        struct sbuf_ { char s[1200]; } got = { "" };
        for (int i = 0; i < F.n; i++) {
            size_t L = strlen(got.s);
            snprintf(got.s + L, sizeof got.s - L, "%s%s", i ? "," : "", F.f[i].rule);
        }
        if (clean)
            CHECK(at < 0, "%s: %s does not fire (got: %s)", names[k], rule, got.s);
        else
            CHECK(at >= 0, "%s: %s fires (got: %s)", names[k], rule, got.s);
        if (!clean && at >= 0) {
            CHECK(F.f[at].msg[0] && F.f[at].adv[0] && F.f[at].evi[0] && !strstr(F.f[at].msg, "{"),
                  "%s: message, advice and evidence rendered", names[k]);
            if (strcmp(F.f[at].conf, "inferred") == 0)
                CHECK(strstr(F.f[at].evi, "infer") != NULL, "%s: inferred finding states its inference", names[k]);
            printf("  %s: [%s/%s/fix %s] %s\n    evidence: %s\n", names[k], F.f[at].sev, F.f[at].conf, F.f[at].fix,
                   F.f[at].msg, F.f[at].evi);
        }
        for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
            if (strcmp(ids[i], rule) == 0) (clean ? cleans : fires)[i]++;
        rules_free(r1);
        facts_fixture_free(f);
        free(names[k]);
    }
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        CHECK(fires[i] > 0 && cleans[i] > 0, "%s has a firing and a clean fixture (%d/%d)", ids[i], fires[i], cleans[i]);
    rules_free(rs);
}

/* Capture-interval facts meet the capture rules only, handshakes every
 * other rule: an empty handshake would fire sni-missing and more. */
static void test_capture_subject(void)
{
    char err[300];
    struct ruleset *rs = rules_new();
    rules_load(rs, "rules", NULL, NULL);
    rules_finalize(rs, NULL, NULL);
    tls_facts *f = facts_fixture_file("tests/unit/data/facts/capture-loss.json", err, sizeof err);
    CHECK(f != NULL, "capture-loss.json parses");
    if (f) {
        struct finds F = { 0 };
        rules_eval(rs, f, NULL, on_finding, &F);
        CHECK(F.n == 1 && strcmp(F.f[0].rule, "capture-loss") == 0, "capture facts: capture-loss alone fires (%d findings)", F.n);
        if (F.n >= 1)
            CHECK(strstr(F.f[0].msg, "dropped 1000 packets in 10 s (1% of 100000)") != NULL, "capture-loss message: %s", F.f[0].msg);
        facts_fixture_free(f);
    }
    /* a handshake that says capture_loss: never the capture rule */
    {
        static const char hs[] = "{\"capture_loss\": true, \"outcome\": \"timeout\"}";
        f = facts_fixture_parse(hs, sizeof hs - 1, err, sizeof err);
    }
    CHECK(f != NULL, "handshake fixture parses (%s)", f ? "" : err);
    if (f) {
        struct finds F = { 0 };
        rules_eval(rs, f, NULL, on_finding, &F);
        CHECK(find(&F, "capture-loss") < 0 && find(&F, "handshake-timeout") >= 0,
              "a handshake's facts never fire capture-loss, and still their own rules");
        facts_fixture_free(f);
    }
    /* --param capture_loss=2: 1% is below it */
    f = facts_fixture_file("tests/unit/data/facts/capture-loss.json", err, sizeof err);
    CHECK(rules_set_param(rs, "capture_loss=2", err, sizeof err) == 0, "capture_loss is a parameter");
    if (f) {
        struct finds F = { 0 };
        rules_eval(rs, f, NULL, on_finding, &F);
        CHECK(F.n == 0, "below --param capture_loss=2 nothing fires (%d)", F.n);
        facts_fixture_free(f);
    }
    rules_free(rs);
}

static void test_specific_outcomes(void)
{
    struct ruleset *rs = rules_new();
    rules_load(rs, "rules", NULL, NULL);
    rules_finalize(rs, NULL, NULL);
    char err[300];
    struct finds F = { 0 };
    tls_facts *f = facts_fixture_file("tests/unit/data/facts/renegotiation-rejected.client.json", err, sizeof err);
    rules_eval(rs, f, NULL, on_finding, &F);
    int i = find(&F, "renegotiation-rejected");
    CHECK(i >= 0 && strcmp(F.f[i].fix, "server") == 0 && strcmp(F.f[i].conf, "inferred") == 0 &&
              strstr(F.f[i].msg, "client refused") != NULL,
          "reneg rejected by the client: fix server, inferred, message says so");
    CHECK(find(&F, "fatal-alert") < 0, "reneg rejected: fatal-alert explained");
    facts_fixture_free(f);
    memset(&F, 0, sizeof F);
    f = facts_fixture_file("tests/unit/data/facts/renegotiation-rejected.server.json", err, sizeof err);
    rules_eval(rs, f, NULL, on_finding, &F);
    i = find(&F, "renegotiation-rejected");
    CHECK(i >= 0 && strcmp(F.f[i].fix, "either") == 0 && strcmp(F.f[i].conf, "exact") == 0 &&
              strstr(F.f[i].msg, "no_renegotiation(100)") != NULL,
          "reneg rejected by the server with alert 100: exact");
    facts_fixture_free(f);
    memset(&F, 0, sizeof F);
    f = facts_fixture_file("tests/unit/data/facts/version-mismatch.openssl3-internal-error.json", err, sizeof err);
    rules_eval(rs, f, NULL, on_finding, &F);
    i = find(&F, "version-mismatch");
    CHECK(i >= 0 && strcmp(F.f[i].fix, "client") == 0 && strstr(F.f[i].msg, "internal_error(80)") != NULL,
          "OpenSSL 3 internal_error to a TLS 1.0 client: version-mismatch, fix client");
    CHECK(find(&F, "fatal-alert") < 0, "internal_error explained by version-mismatch");
    facts_fixture_free(f);
    memset(&F, 0, sizeof F);
    f = facts_fixture_file("tests/unit/data/facts/fatal-alert.decrypt-error.json", err, sizeof err);
    rules_eval(rs, f, NULL, on_finding, &F);
    i = find(&F, "fatal-alert");
    CHECK(i >= 0 && strstr(F.f[i].msg, "decrypt_error(51) after server_key_exchange: handshake cryptographic") != NULL,
          "fatal-alert names code, sender, step and meaning: %s", i >= 0 ? F.f[i].msg : "");
    facts_fixture_free(f);
    /* renegotiation storm across connections of one client */
    memset(&F, 0, sizeof F);
    f = facts_fixture_file("tests/unit/data/facts/renegotiation-storm.clean.json", err, sizeof err);
    struct rules_ctx c = { 1000, "10.1.1.1", NULL, NULL, 0 };
    rules_eval(rs, f, &c, on_finding, &F);
    CHECK(find(&F, "renegotiation-storm") < 0, "2 renegotiations: no storm");
    c.time = 1010;
    rules_eval(rs, f, &c, on_finding, &F);
    CHECK(find(&F, "renegotiation-storm") >= 0, "2+2 renegotiations from one client within 60 s: storm");
    facts_fixture_free(f);
    rules_free(rs);
}


/* A rule whose 'when' is prefix + n copies of rep + mid + n copies of close
 * + suffix; returns the malloc'ed text. */
static char *rule_repeat(const char *when_prefix, const char *rep, size_t n, const char *mid,
                         const char *close, const char *suffix)
{
    size_t cap = 200 + strlen(when_prefix) + strlen(mid) + strlen(suffix) +
                 n * (strlen(rep) + strlen(close));
    char *t = malloc(cap);
    size_t k = (size_t)snprintf(t, cap, "rule deep {\n  severity: low\n  when: %s", when_prefix);
    for (size_t i = 0; i < n; i++) k += (size_t)snprintf(t + k, cap - k, "%s", rep);
    k += (size_t)snprintf(t + k, cap - k, "%s", mid);
    for (size_t i = 0; i < n; i++) k += (size_t)snprintf(t + k, cap - k, "%s", close);
    snprintf(t + k, cap - k, "%s\n  message: \"m\"\n}\n", suffix);
    return t;
}

/* Loads text; checks it gives exactly one error containing want (and the
 * "t.rules:LINE:" prefix), or none when want is NULL. */
static void expect_one(const char *what, const char *text, const char *want)
{
    struct errs e;
    struct ruleset *rs = load_str(text, &e);
    if (!want) {
        CHECK(e.n == 0 && rules_count(rs) == 1, "%s: loads", what);
    } else {
        CHECK(e.n == 1 && strstr(e.lines[0], want) != NULL && strncmp(e.lines[0], "t.rules:", 8) == 0,
              "%s: one error \"%s\"", what, want);
        CHECK_EQ_INT(rules_count(rs), 0, "%s: rule not kept", what);
    }
    for (int i = 0; i < e.n && (!want || e.n != 1); i++) printf("  error: %.200s\n", e.lines[i]);
    rules_free(rs);
}

/* Recursion limits: a crafted file is an error, never a stack overflow. */
static void test_nesting_limits(void)
{
    const size_t N = 200000;
    char *t;
    char want[64];
    snprintf(want, sizeof want, "nesting deeper than %d", RULES_MAX_NESTING);
    t = rule_repeat("", "(", N, "sni == \"x\"", ")", "");
    expect_one("200000 '('", t, want);
    free(t);
    t = rule_repeat("", "(", 60, "sni == \"x\"", ")", "");
    expect_one("60 '(' within the limit", t, NULL);
    free(t);
    t = rule_repeat("", "not ", N, "sni == \"x\"", "", "");
    expect_one("200000 'not'", t, want);
    free(t);
    t = rule_repeat("", "-", N, "1", "", " == 1");
    expect_one("200000 unary '-'", t, want);
    free(t);
    t = rule_repeat("", "len(", N, "sni", ")", " == 1");
    expect_one("200000 nested calls", t, want);
    free(t);
    t = rule_repeat("any(alerts where ", "(", N, "code == 1", ")", ")");
    expect_one("200000 '(' inside where", t, want);
    free(t);
    t = rule_repeat("", "(", N, "sni", ")", " in [1]");
    expect_one("200000 '(' before in", t, want);
    free(t);
    t = rule_repeat("true\n  advice: \"{", "(", N, "sni", ")", "}\"");
    expect_one("200000 '(' in a template", t, want);
    free(t);
    /* left-associative chains deepen the tree without parser recursion */
    snprintf(want, sizeof want, "expression nesting deeper than %d operators", RULES_MAX_TREE_DEPTH);
    t = rule_repeat("", "sni == \"x\" and ", N, "true", "", "");
    expect_one("200000 'and'", t, want);
    free(t);
    t = rule_repeat("", "sni == \"x\" or ", N, "true", "", "");
    expect_one("200000 'or'", t, want);
    free(t);
    t = rule_repeat("", "1 + ", N, "1", "", " == 2");
    expect_one("200000 '+'", t, want);
    free(t);
    t = rule_repeat("", "sni ?? ", N, "sni", "", " == \"a\"");
    expect_one("200000 '?" "?'", t, want);
    free(t);
    t = rule_repeat("", "sni == \"x\" or ", 100, "true", "", "");
    expect_one("100 'or' within the limit", t, NULL);
    free(t);
    /* the error has the position of the first '(' beyond the limit */
    t = rule_repeat("", "(", 100, "true", ")", "");
    struct errs e;
    struct ruleset *rs = load_str(t, &e);
    snprintf(want, sizeof want, "t.rules:3:%d: nesting deeper than %d", 9 + RULES_MAX_NESTING,
             RULES_MAX_NESTING);
    int ok = e.n == 1 && strcmp(e.lines[0], want) == 0;
    CHECK(ok, "nesting error at file:line:col of the first '(' too many");
    if (!ok && e.n) printf("  got: %s\n", e.lines[0]);
    rules_free(rs);
    free(t);
}

/* Regexes match wire strings: no back-references (exponential in glibc),
 * nothing whose expansion blows up regcomp. */
static void test_regex_limits(void)
{
    struct errs e;
    struct ruleset *rs = load_str("rule r {\n  severity: low\n  when: sni matches /^(a+)\\1$/\n"
                                  "  message: \"m\"\n}\n", &e);
    int ok = e.n == 1 && strncmp(e.lines[0], "t.rules:3:27: back-references", 29) == 0;
    CHECK(ok, "back-reference \\1: error at its column");
    if (!ok && e.n) printf("  got: %s\n", e.lines[0]);
    CHECK_EQ_INT(rules_count(rs), 0, "back-reference: rule not kept");
    rules_free(rs);
    /* columns stay exact after an escaped '/' */
    rs = load_str("rule r {\n  severity: low\n  when: sni matches /a\\/(b)\\9/i\n  message: \"m\"\n}\n", &e);
    ok = e.n == 1 && strncmp(e.lines[0], "t.rules:3:28: back-references", 29) == 0;
    CHECK(ok, "back-reference after an escaped '/': exact column");
    if (!ok && e.n) printf("  got: %s\n", e.lines[0]);
    rules_free(rs);
    static const struct { const char *re, *want; } cases[] = {
        { "(a)\\1", "back-references" },
        { "x|(y)*\\2", "back-references" },
        { "[a]\\1", "back-references" },
        { "[\\1]", NULL },          /* in a bracket '\' is literal */
        { "[]\\1]", NULL },         /* ']' first in a bracket is literal */
        { "[^]\\1]x", NULL },
        { "[[:alpha:]\\1]", NULL }, /* a class inside a bracket */
        { "\\\\1", NULL },          /* an escaped backslash, then '1' */
        { "a\\.1", NULL },
        { "((a{99}){99}){99}", "too large" },
        { "((){99}){99}){99}", "too large" }, /* empty groups are nodes too (found by fuzz_rules: 11 s in regcomp) */
        { "(){5}(x){3}", NULL },
        { "((((((((a+)+)+)+)+)+)+)+)+((((((((a+)+)+)+)+)+)+)+)+((((((((a+)+)+)+)+)+)+)+)+", "too large" },
        { "a{1,5000}", "too large" },
        { "a{1,1000}", NULL },
        { "(sha1|md5|md2)", NULL },
        { "^[a-z0-9.-]{1,63}$", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[400];
        snprintf(text, sizeof text, "rule r { severity: low when: sni matches /%s/ message: \"m\" }\n",
                 cases[i].re);
        char what[120];
        snprintf(what, sizeof what, "regex /%s/", cases[i].re);
        expect_one(what, text, cases[i].want);
    }
    char deep[600];
    memset(deep, '(', 100);
    deep[100] = 'a';
    memset(deep + 101, ')', 100);
    deep[201] = '\0';
    char text[800];
    snprintf(text, sizeof text, "rule r { severity: low when: sni matches /%s/ message: \"m\" }\n", deep);
    expect_one("regex with 100 nested groups", text, "regex groups nested too deep");
    /* a legal regex still matches */
    struct ruleset *good = load_str("rule r { severity: low when: sni matches /^(www\\.)?ex[a-z]+\\.com$/i "
                                  "message: \"m\" }\n", &e);
    tls_facts *f = FX("{\"sni\":\"WWW.Example.com\"}");
    struct finds F = { 0 };
    rules_eval(good, f, NULL, on_finding, &F);
    CHECK(e.n == 0 && find(&F, "r") >= 0, "a linear regex still matches");
    facts_fixture_free(f);
    rules_free(good);
}

/* The CLI on a generated file of 200,000 '(': the usual rule-error exit
 * code (2) and one error line, no crash. $TLSWATCH is set by tests/run.sh. */
static void test_cli_deep_file(void)
{
    const char *bin = getenv("TLSWATCH");
    if (!bin || access(bin, X_OK) != 0) {
        printf("SKIP cli: $TLSWATCH not set (run through tests/run.sh)\n");
        return;
    }
    char dir[] = "/tmp/test_rules.XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "cli: mkdtemp");
        return;
    }
    char path[128], cmd[1024];
    snprintf(path, sizeof path, "%s/deep.rules", dir);
    char *t = rule_repeat("", "(", 200000, "sni == \"x\"", ")", "");
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(t, f);
        fclose(f);
    }
    free(t);
    snprintf(cmd, sizeof cmd, "'%s' --rules '%s' --check-rules 2>&1", bin, path);
    FILE *p = popen(cmd, "r");
    char line[4096], first[4096] = "";
    int nlines = 0, nerr = 0;
    while (p && fgets(line, sizeof line, p)) {
        if (nlines++ == 0) snprintf(first, sizeof first, "%s", line);
        if (strstr(line, "deep.rules:")) nerr++;
    }
    int st = p ? pclose(p) : -1;
    char want[200];
    snprintf(want, sizeof want, "%s:3:%d: nesting deeper than %d\n", path, 9 + RULES_MAX_NESTING,
             RULES_MAX_NESTING);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2, "cli: 200,000 '(' exits 2 (rule errors), no crash");
    CHECK(nerr == 1 && strcmp(first, want) == 0, "cli: one error line \"%.*s\"", (int)strlen(want) - 1, want);
    if (nerr != 1 || strcmp(first, want) != 0) printf("  got %d line(s), first: %s", nlines, first);
    remove(path);
    rmdir(dir);
}

/* The storm table evicts the least recently hit key when full, instead of
 * clearing itself (which let a sender reset every count). */
static void test_storm_lru(void)
{
    struct errs e;
    struct ruleset *rs = load_str("rule s { severity: high when: true threshold: count 3 within 1000s by client "
                                  "message: \"storm {flow.client_ip}\" }\n", &e);
    CHECK_EQ_INT(e.n, 0, "storm rule loads");
    rules_set_storm_max_keys(rs, 3);
    tls_facts *f = FX("{}");
    struct finds F = { 0 };
    struct rules_ctx c = { 1, "A", NULL, NULL, 0 };
    rules_eval(rs, f, &c, on_finding, &F);
    c.client = "B";
    rules_eval(rs, f, &c, on_finding, &F);
    c.client = "C";
    rules_eval(rs, f, &c, on_finding, &F);
    c.time = 2;
    c.client = "A"; /* A: 2 hits, now the most recent key */
    rules_eval(rs, f, &c, on_finding, &F);
    CHECK_EQ_INT(rules_storm_keys(rs), 3, "lru: 3 keys");
    CHECK_EQ_INT(rules_storm_evictions(rs), 0, "lru: no eviction yet");
    c.time = 3;
    c.client = "D"; /* full: evicts B, the least recently hit */
    rules_eval(rs, f, &c, on_finding, &F);
    CHECK_EQ_INT(rules_storm_keys(rs), 3, "lru: still 3 keys after a 4th");
    CHECK_EQ_INT(rules_storm_evictions(rs), 1, "lru: one eviction counted");
    CHECK_EQ_INT(F.n, 0, "lru: nothing fired yet");
    c.time = 4;
    c.client = "A"; /* A kept its 2 hits: the 3rd fires */
    rules_eval(rs, f, &c, on_finding, &F);
    CHECK_EQ_INT(F.n, 1, "lru: the recent key kept its count past the cap and fires");
    memset(&F, 0, sizeof F);
    c.client = "B"; /* B was evicted: counting starts over (and evicts C) */
    for (int i = 0; i < 2; i++) {
        c.time = 5 + i;
        rules_eval(rs, f, &c, on_finding, &F);
    }
    CHECK_EQ_INT(F.n, 0, "lru: the evicted key starts over (2 hits: no storm)");
    CHECK_EQ_INT(rules_storm_evictions(rs), 2, "lru: second eviction counted");
    c.time = 7;
    rules_eval(rs, f, &c, on_finding, &F);
    CHECK_EQ_INT(F.n, 1, "lru: 3rd hit of the re-added key fires");
    rules_free(rs);

    /* The default cap: one client keeps hitting while 100,010 other keys
     * pass (the old table cleared itself at 100,000 and lost its count). */
    rs = load_str("rule s { severity: high when: true threshold: count 3 within 100000s by client "
                  "message: \"m\" }\n", &e);
    memset(&F, 0, sizeof F);
    char key[32];
    c.time = 10;
    c.client = "victim";
    rules_eval(rs, f, &c, on_finding, &F);
    for (int i = 0; i < RULES_STORM_MAX_KEYS + 10; i++) {
        if (i == RULES_STORM_MAX_KEYS / 2) {
            c.client = "victim";
            rules_eval(rs, f, &c, on_finding, &F);
        }
        snprintf(key, sizeof key, "spray-%d", i);
        c.client = key;
        c.time = 11 + i * 1e-3;
        rules_eval(rs, f, &c, on_finding, &F);
    }
    CHECK_EQ_INT(rules_storm_keys(rs), RULES_STORM_MAX_KEYS, "default cap: table full, not cleared");
    CHECK_EQ_INT(rules_storm_evictions(rs), 11, "default cap: 11 evictions (the oldest spray keys)");
    CHECK_EQ_INT(F.n, 0, "default cap: no storm yet");
    c.client = "victim";
    rules_eval(rs, f, &c, on_finding, &F);
    CHECK_EQ_INT(F.n, 1, "default cap: the victim's count survived the spray (3rd hit fires)");
    c.client = "spray-0"; /* evicted: starts over */
    rules_eval(rs, f, &c, on_finding, &F);
    rules_eval(rs, f, &c, on_finding, &F);
    CHECK_EQ_INT(F.n, 1, "default cap: an evicted key starts over");
    rules_free(rs);

    /* Keys with no hit within their rule's window hold nothing: dropped
     * when a new key comes, without counting an eviction, so a sensor's
     * table follows the clients of the last window, not of the run. */
    rs = load_str("rule s { severity: high when: true threshold: count 2 within 10s by client "
                  "message: \"m\" }\n", &e);
    memset(&F, 0, sizeof F);
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "c-%d", i);
        c.client = key;
        c.time = 1000 + i; /* one key a second, 10 s window */
        rules_eval(rs, f, &c, on_finding, &F);
    }
    CHECK(rules_storm_keys(rs) <= 11, "window expiry: keys of the last window only (%zu)", (size_t)rules_storm_keys(rs));
    CHECK_EQ_INT(rules_storm_evictions(rs), 0, "window expiry: no eviction counted");
    c.client = "c-99"; /* still in its window: the 2nd hit fires */
    c.time = 1100;
    rules_eval(rs, f, &c, on_finding, &F);
    CHECK_EQ_INT(F.n, 1, "window expiry: a key within its window kept its hit");
    facts_fixture_free(f);
    rules_free(rs);
}

static void test_listing(void)
{
    struct ruleset *rs = rules_new();
    rules_load(rs, "rules", NULL, NULL);
    rules_finalize(rs, NULL, NULL);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    CHECK_EQ_INT(rules_list(rs, RULES_LIST_MARKDOWN, m), 0, "markdown list");
    fclose(m);
    CHECK(strncmp(buf, "| id | severity | category | fix at | what it means |\n|---|---|---|---|---|\n", 76) == 0,
          "markdown header");
    CHECK(strstr(buf, "| `renegotiation-rejected` | critical | renegotiation | server/either | ") != NULL,
          "markdown row with conditional fix side");
    free(buf);
    m = open_memstream(&buf, &len);
    rules_list(rs, RULES_LIST_JSON, m);
    fclose(m);
    CHECK(strstr(buf, "{\"id\":\"fatal-alert\",\"severity\":\"critical\"") != NULL, "json list");
    CHECK(strstr(buf, "{\"param\":\"expiry_days\",\"value\":30}") != NULL, "json list has parameters");
    free(buf);
    m = open_memstream(&buf, &len);
    rules_list(rs, RULES_LIST_TEXT, m);
    fclose(m);
    CHECK(strstr(buf, "certificate-expiring-soon") != NULL && strstr(buf, "  expiry_days = 30") != NULL, "text list");
    free(buf);
    CHECK_EQ_INT(rules_list_format_parse("md"), RULES_LIST_MARKDOWN, "format md");
    CHECK_EQ_INT(rules_list_format_parse("xml"), -1, "format xml rejected");
    CHECK(rules_default_dir() != NULL, "default dir");
    rules_free(rs);
}

/* Comparisons of coded fields with string literals are compiled to code
 * comparisons: each must agree with the same comparison made on the
 * field's name (forced through "??", which is not compiled). */
static void test_coded_comparisons(void)
{
    static const char *const conds[][2] = {
        { "version == \"TLSv1.2\"", "(version ?? 1) == \"TLSv1.2\"" },
        { "version != \"TLSv1.2\"", "(version ?? 1) != \"TLSv1.2\"" },
        { "version == \"TLSv1.3\"", "(version ?? 1) == \"TLSv1.3\"" },
        { "version in [\"SSLv3\", \"TLSv1.2\"]", "(version ?? 1) in [\"SSLv3\", \"TLSv1.2\"]" },
        { "version in [\"SSLv3\", \"TLSv1.0\"]", "(version ?? 1) in [\"SSLv3\", \"TLSv1.0\"]" },
        { "version == \"unknown_0x0303\"", "(version ?? 1) == \"unknown_0x0303\"" },
        { "group == \"unknown_0x7777\"", "(group ?? 1) == \"unknown_0x7777\"" },
        { "cipher == \"TLS_AES_128_GCM_SHA256\"", "(cipher ?? 1) == \"TLS_AES_128_GCM_SHA256\"" },
        { "outcome == \"failed\"", "(outcome ?? 1) == \"failed\"" },
        { "outcome != \"not_tls\"", "(outcome ?? 1) != \"not_tls\"" },
        { "outcome == \"not_tls\"", "(outcome ?? 1) == \"not_tls\"" },
        { "\"server\" == last_alert.from", "\"server\" == (last_alert.from ?? 1)" },
        { "any(alerts where level == \"fatal\")", "any(alerts where (level ?? 1) == \"fatal\")" },
        { "any(alerts where description == \"certificate_expired\")",
          "any(alerts where (description ?? 1) == \"certificate_expired\")" },
        { "hrr_group == \"x25519\"", "(hrr_group ?? 1) == \"x25519\"" },
        { "hrr_group != \"x25519\"", "(hrr_group ?? 1) != \"x25519\"" },
        { "resumption.offered in [\"psk\"]", "(resumption.offered ?? 1) in [\"psk\"]" },
    };
    static const char *const facts[] = {
        "{\"version\":\"TLSv1.2\",\"cipher\":\"TLS_AES_128_GCM_SHA256\",\"outcome\":\"failed\","
        "\"group\":\"unknown_0x7777\",\"hrr_group\":null,\"resumption\":{\"offered\":\"psk\"},"
        "\"alerts\":[{\"from\":\"server\",\"level\":\"fatal\",\"code\":45,\"description\":\"certificate_expired\"}],"
        "\"last_alert\":{\"from\":\"server\",\"level\":\"fatal\"}}",
        "{\"version\":\"SSLv3\",\"outcome\":\"established\",\"alerts\":[{\"from\":\"client\",\"level\":null}]}",
        "{}",
    };
    int agree = 0, total = 0, fired = 0;
    for (size_t i = 0; i < sizeof conds / sizeof conds[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "rule coded {\n  severity: info\n  category: protocol\n  summary: \"c\"\n  when: %s\n"
                 "  message: \"m\"\n  fix_side: client\n  advice: \"a\"\n  evidence: \"e\"\n}\n"
                 "rule named {\n  severity: info\n  category: protocol\n  summary: \"n\"\n  when: %s\n"
                 "  message: \"m\"\n  fix_side: client\n  advice: \"a\"\n  evidence: \"e\"\n}\n",
                 conds[i][0], conds[i][1]);
        struct errs e;
        struct ruleset *rs = load_str(text, &e);
        for (int k = 0; k < e.n; k++) printf("  error: %s\n", e.lines[k]);
        for (size_t j = 0; j < sizeof facts / sizeof facts[0]; j++) {
            tls_facts *f = FX(facts[j]);
            struct finds F = { 0 };
            rules_eval(rs, f, NULL, on_finding, &F);
            int c = find(&F, "coded") >= 0, n = find(&F, "named") >= 0;
            if (c == n) agree++;
            else printf("  disagree: %s on facts %zu: coded %d, named %d\n", conds[i][0], j, c, n);
            fired += c;
            total++;
            facts_fixture_free(f);
        }
        rules_free(rs);
    }
    CHECK_EQ_INT(agree, total, "coded comparisons agree with name comparisons (%d cases)", total);
    CHECK(fired > 5 && fired < total - 5, "coded comparisons both fire and don't (%d of %d)", fired, total);
}

int main(void)
{
    test_json();
    test_language();
    test_suppression_and_thresholds();
    test_errors();
    test_shipped();
    test_specific_outcomes();
    test_capture_subject();
    test_listing();
    test_nesting_limits();
    test_regex_limits();
    test_storm_lru();
    test_cli_deep_file();
    test_coded_comparisons();
    return T_DONE();
}
