/* Shared by the targets that drive src/ (fuzz_pipeline, fuzz_session):
 * process-wide read-only state loaded once (the shipped rules, the key logs
 * of pcaps/ so that inputs derived from those captures get decrypted), and a
 * per-input certificate checker over pcaps/test-ca.pem (a fresh one per
 * input: certcheck remembers the leaves it saw, which must not leak from
 * one input into the next). The source tree is found through
 * TLSWATCH_SOURCE_RULES_DIR (the Makefile's "$(CURDIR)/rules"), or the
 * environment variable TLSWATCH_TOP. */
#ifndef TLSWATCH_FUZZ_SRC_H
#define TLSWATCH_FUZZ_SRC_H
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "certcheck.h"
#include "keylog.h"
#include "rules.h"
#include "siphash.h"

#ifndef TLSWATCH_SOURCE_RULES_DIR
#define TLSWATCH_SOURCE_RULES_DIR "rules"
#endif

static char fz_top[4096];

static const char *fz_top_dir(void)
{
    if (fz_top[0]) return fz_top;
    const char *env = getenv("TLSWATCH_TOP");
    if (env && *env) {
        snprintf(fz_top, sizeof fz_top, "%s", env);
    } else {
        snprintf(fz_top, sizeof fz_top, "%s", TLSWATCH_SOURCE_RULES_DIR);
        char *slash = strrchr(fz_top, '/');
        if (slash) *slash = '\0';
        else snprintf(fz_top, sizeof fz_top, ".");
    }
    return fz_top;
}

static void fz_rule_error(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "fuzz: rules: %s\n", line);
}

/* The shipped rules/, loaded and compiled once; aborts when they do not
 * load (a fuzz run without rules would silently test less). */
static struct ruleset *fz_rules(void)
{
    static struct ruleset *rs;
    if (rs) return rs;
    char path[4200];
    snprintf(path, sizeof path, "%s/rules", fz_top_dir());
    rs = rules_new();
    if (!rs || rules_load(rs, path, fz_rule_error, NULL) != 0 ||
        rules_finalize(rs, fz_rule_error, NULL) != 0) {
        fprintf(stderr, "fuzz: cannot load the rules from %s\n", path);
        abort();
    }
    return rs;
}

/* Every .keylog file of pcaps/ concatenated (a memfd), loaded once; NULL when none. */
static struct keylog *fz_keylog(void)
{
    static int done;
    static struct keylog *kl;
    if (done) return kl;
    done = 1;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/pcaps", fz_top_dir());
    DIR *d = opendir(dir);
    if (!d) return NULL;
    int fd = memfd_create("fuzz-keylog", 0);
    if (fd < 0) { closedir(d); return NULL; }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 8 || strcmp(e->d_name + n - 7, ".keylog") != 0) continue;
        char p[8400];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        FILE *f = fopen(p, "rb");
        if (!f) continue;
        char buf[8192];
        size_t k;
        while ((k = fread(buf, 1, sizeof buf, f)) > 0)
            if (write(fd, buf, k) != (ssize_t)k) break;
        if (write(fd, "\n", 1) != 1) break;
        fclose(f);
    }
    closedir(d);
    char p[64], err[512] = "";
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    kl = keylog_load(p, err, sizeof err);
    close(fd);
    return kl;
}

/* A checker trusting pcaps/test-ca.pem only; the caller frees it. */
static struct certcheck *fz_certcheck_new(void)
{
    char ca[4200], err[256] = "";
    snprintf(ca, sizeof ca, "%s/pcaps/test-ca.pem", fz_top_dir());
    struct certcheck_opts o = { ca, NULL, 64 };
    return certcheck_new(&o, err, sizeof err);
}

/* Fixed hash key: the same input takes the same path every time. */
static void fz_init_once(void)
{
    static int done;
    if (done) return;
    done = 1;
    memset(siphash_key, 0x5a, sizeof siphash_key);
    fz_rules();
    fz_keylog();
}

#endif
