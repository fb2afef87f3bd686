/* The key log read whole (strict: file:line errors) and followed while it
 * grows (keylog_follow/keylog_refresh): partial last lines wait, malformed
 * lines are skipped and counted, truncation and rotation re-read from the
 * start while the old file's last lines are not lost. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keylog.h"
#include "t.h"

static char dir[64];

static void path_of(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

static void append(const char *name, const char *text)
{
    char p[128];
    path_of(p, sizeof p, name);
    FILE *f = fopen(p, "a");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* "CLIENT_RANDOM <32 bytes of b> <48 bytes of s>" */
static void line_for(char *out, size_t n, unsigned b, unsigned s, int newline)
{
    size_t o = (size_t)snprintf(out, n, "CLIENT_RANDOM ");
    for (int i = 0; i < 32 && o + 2 < n; i++) o += (size_t)snprintf(out + o, n - o, "%02x", b);
    if (o + 1 < n) out[o++] = ' ';
    for (int i = 0; i < 48 && o + 2 < n; i++) o += (size_t)snprintf(out + o, n - o, "%02x", s);
    snprintf(out + o, n - o, "%s", newline ? "\n" : "");
}

static int has(const struct keylog *kl, unsigned b, unsigned s)
{
    uint8_t cr[32];
    memset(cr, (int)b, sizeof cr);
    const struct keylog_secret *k = keylog_find(kl, cr, KL_MASTER);
    return k && k->len == 48 && k->v[0] == s && k->v[47] == s;
}

static void test_strict(void)
{
    char l[256], p[128], err[256] = "";
    line_for(l, sizeof l, 1, 0x11, 1);
    append("strict.log", "# comment\r\n");
    append("strict.log", l);
    append("strict.log", "EXPORTER_SECRET ab cd\n");
    path_of(p, sizeof p, "strict.log");
    struct keylog *kl = keylog_load(p, err, sizeof err);
    CHECK(kl && keylog_count(kl) == 1 && has(kl, 1, 0x11), "strict load: one random, other labels ignored");
    keylog_free(kl);
    append("strict.log", "CLIENT_RANDOM zz 00\n");
    kl = keylog_load(p, err, sizeof err);
    CHECK(!kl && strstr(err, "strict.log:4: malformed") != NULL, "strict load: file:line of a bad line (%s)", err);
    path_of(p, sizeof p, "absent.log");
    kl = keylog_load(p, err, sizeof err);
    CHECK(!kl && strstr(err, "cannot open") != NULL, "strict load: a missing file is an error");
}

static void test_follow(void)
{
    char l[256], p[128], p2[128];
    path_of(p, sizeof p, "live.log");
    struct keylog *kl = keylog_follow(p);
    CHECK(kl != NULL && keylog_refresh(kl) == 0, "follow: no file yet, nothing read, no error");
    line_for(l, sizeof l, 2, 0x22, 1);
    append("live.log", l);
    CHECK_EQ_INT(keylog_refresh(kl), 1, "follow: the file appears with one line");
    CHECK(has(kl, 2, 0x22), "follow: its secret is found");
    CHECK_EQ_INT(keylog_refresh(kl), 0, "follow: nothing new, nothing read");
    /* a line being written: its first half, then the rest */
    line_for(l, sizeof l, 3, 0x33, 1);
    char half[128];
    snprintf(half, sizeof half, "%.*s", 60, l);
    append("live.log", half);
    CHECK_EQ_INT(keylog_refresh(kl), 0, "follow: a partial last line waits");
    append("live.log", l + 60);
    CHECK_EQ_INT(keylog_refresh(kl), 1, "follow: read once whole");
    CHECK(has(kl, 3, 0x33), "follow: the completed line's secret is right");
    append("live.log", "CLIENT_RANDOM nothex nothex\n");
    line_for(l, sizeof l, 4, 0x44, 1);
    append("live.log", l);
    CHECK(keylog_refresh(kl) == 1 && keylog_malformed(kl) == 1, "follow: a malformed line is skipped and counted");
    /* a line far longer than any valid one */
    char big[3000];
    memset(big, 'A', sizeof big - 2);
    big[sizeof big - 2] = '\n';
    big[sizeof big - 1] = '\0';
    append("live.log", big);
    line_for(l, sizeof l, 5, 0x55, 1);
    append("live.log", l);
    CHECK(keylog_refresh(kl) == 1 && has(kl, 5, 0x55) && keylog_malformed(kl) == 2,
          "follow: an overlong line is skipped whole, the next one read");
    /* rotation: lines added to the old file just before the move are read,
     * then the new file from its start */
    line_for(l, sizeof l, 6, 0x66, 1);
    append("live.log", l);
    path_of(p2, sizeof p2, "live.log.1");
    CHECK(rename(p, p2) == 0, "rotate: moved away");
    CHECK_EQ_INT(keylog_refresh(kl), 1, "rotate: the moved file's last line is still read");
    line_for(l, sizeof l, 7, 0x77, 1);
    append("live.log", l);
    CHECK(keylog_refresh(kl) == 1 && has(kl, 7, 0x77) && has(kl, 6, 0x66) && has(kl, 2, 0x22),
          "rotate: the new file is read from its start; older secrets stay");
    /* truncation in place */
    CHECK(truncate(p, 0) == 0, "truncate");
    CHECK_EQ_INT(keylog_refresh(kl), 0, "truncate: nothing to read");
    line_for(l, sizeof l, 8, 0x88, 1);
    append("live.log", l);
    CHECK(keylog_refresh(kl) == 1 && has(kl, 8, 0x88), "truncate: the file is read again from its start");
    CHECK_EQ_INT(keylog_count(kl), 7, "follow: 7 client randoms in all");
    keylog_free(kl);
    unlink(p2);
    unlink(p);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/tw-keylog-XXXXXX");
    if (!mkdtemp(dir)) {
        printf("FAIL mkdtemp\n");
        return 1;
    }
    test_strict();
    test_follow();
    char p[128];
    path_of(p, sizeof p, "strict.log");
    unlink(p);
    rmdir(dir);
    return T_DONE();
}
