/* Key log parsing: one uthash entry (keyed SipHash) per client random. */
#include "keylog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "uthash_keyed.h"

struct kl_entry {
    uint8_t random[32];
    struct keylog_secret s[KL_KINDS];
    UT_hash_handle hh;
};

struct keylog {
    struct kl_entry *map;
    size_t n;
    /* following a growing file (keylog_refresh) */
    char *path;
    FILE *f;            /* the file being followed, kept open across rotations */
    dev_t dev;
    ino_t ino;
    off_t off;          /* bytes read: up to the end of the last whole line */
    unsigned lineno;    /* lines read */
    uint64_t malformed; /* lines skipped by refreshes */
};

static const char *const labels[KL_KINDS] = {
    "CLIENT_RANDOM", "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0",
};

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Parses exactly n bytes of hex from s (len characters); -1 on error. */
static int unhex(const char *s, size_t len, uint8_t *out, size_t max)
{
    if (len % 2 || len / 2 > max) return -1;
    for (size_t i = 0; i < len / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (int)(len / 2);
}

/* One line (NUL-terminated, no line end): 0, or -1 when malformed. */
static int add_line(struct keylog *kl, char *line)
{
    if (!line[0] || line[0] == '#') return 0;
    char *sp1 = strchr(line, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2) return -1;
    *sp1 = '\0';
    int kind = -1;
    for (int k = 0; k < KL_KINDS; k++)
        if (strcmp(line, labels[k]) == 0) kind = k;
    if (kind < 0) return 0; /* EXPORTER_SECRET, EARLY secrets, ... */
    uint8_t cr[32];
    if (unhex(sp1 + 1, (size_t)(sp2 - sp1 - 1), cr, 32) != 32) return -1;
    struct keylog_secret sec;
    int n = unhex(sp2 + 1, strlen(sp2 + 1), sec.v, sizeof sec.v);
    if (n <= 0) return -1;
    sec.len = (uint8_t)n;
    struct kl_entry *e = NULL;
    HASH_FIND(hh, kl->map, cr, 32, e);
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e) return 0; /* out of memory: this secret is not kept */
        memcpy(e->random, cr, 32);
        HASH_ADD(hh, kl->map, random, 32, e);
        kl->n++;
    }
    e->s[kind] = sec;
    return 0;
}

/* Reads whole lines from kl->off on. strict: the first malformed line is
 * an error (err, -1); otherwise malformed lines are counted and skipped,
 * and a last line without its line end (being written) is left for later. */
static int read_from(struct keylog *kl, FILE *f, int strict, char *err, size_t errlen)
{
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        size_t got = strlen(line);
        int whole = got > 0 && line[got - 1] == '\n';
        if (!whole && !strict && !feof(f)) {
            /* longer than any valid line: skip to its end */
            int ch;
            size_t more = 0;
            while ((ch = fgetc(f)) != EOF && ch != '\n') more++;
            if (ch == EOF) return 0; /* still being written: read it next time */
            kl->off += (off_t)(got + more + 1);
            kl->lineno++;
            kl->malformed++;
            continue;
        }
        if (!whole && !strict) return 0; /* a partial last line: later */
        kl->off += (off_t)got;
        kl->lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (add_line(kl, line) == 0) continue;
        if (strict) {
            snprintf(err, errlen, "%s:%u: malformed key log line (want LABEL <client_random hex> <secret hex>)",
                     kl->path, kl->lineno);
            return -1;
        }
        kl->malformed++;
    }
    return 0;
}

struct keylog *keylog_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open key log: %s", path, strerror(errno));
        return NULL;
    }
    struct keylog *kl = calloc(1, sizeof *kl);
    char *p = strdup(path);
    if (!kl || !p) {
        fclose(f);
        free(kl);
        free(p);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    kl->path = p;
    struct stat st;
    if (fstat(fileno(f), &st) == 0) {
        kl->dev = st.st_dev;
        kl->ino = st.st_ino;
    }
    if (read_from(kl, f, 1, err, errlen) != 0) {
        fclose(f);
        keylog_free(kl);
        return NULL;
    }
    kl->f = f; /* followed by keylog_refresh() if the capture is live */
    return kl;
}

struct keylog *keylog_follow(const char *path)
{
    struct keylog *kl = calloc(1, sizeof *kl);
    if (!kl) return NULL;
    kl->path = strdup(path);
    if (!kl->path) {
        free(kl);
        return NULL;
    }
    return kl; /* not opened yet: the next refresh opens it */
}

/* What the followed file gained since the last read (from kl->off: a
 * partial line read last time is read again whole). */
static void drain(struct keylog *kl)
{
    if (kl->f && fseeko(kl->f, kl->off, SEEK_SET) == 0) (void)read_from(kl, kl->f, 0, NULL, 0);
}

int keylog_refresh(struct keylog *kl)
{
    if (!kl || !kl->path) return 0;
    size_t before = kl->n;
    struct stat st;
    if (stat(kl->path, &st) != 0) { /* moved away, not yet replaced: finish the old one */
        drain(kl);
        return (int)(kl->n - before);
    }
    int replaced = !kl->f || st.st_ino != kl->ino || st.st_dev != kl->dev;
    if (!replaced && st.st_size == kl->off) return 0;
    if (replaced) {
        /* rotation: what the old file gained before it was moved, then the
         * new one from its start; secrets already read stay */
        drain(kl);
        FILE *nf = fopen(kl->path, "r");
        if (!nf) return (int)(kl->n - before);
        if (fstat(fileno(nf), &st) != 0) {
            fclose(nf);
            return (int)(kl->n - before);
        }
        if (kl->f) fclose(kl->f);
        kl->f = nf;
        kl->dev = st.st_dev;
        kl->ino = st.st_ino;
        kl->off = 0;
        kl->lineno = 0;
    } else if (st.st_size < kl->off) { /* truncated in place */
        kl->off = 0;
        kl->lineno = 0;
    }
    drain(kl);
    return (int)(kl->n - before);
}

uint64_t keylog_malformed(const struct keylog *kl) { return kl ? kl->malformed : 0; }

const struct keylog_secret *keylog_find(const struct keylog *kl, const uint8_t client_random[32],
                                        enum keylog_kind kind)
{
    if (!kl) return NULL;
    struct kl_entry *e = NULL;
    HASH_FIND(hh, kl->map, client_random, 32, e);
    if (!e || !e->s[kind].len) return NULL;
    return &e->s[kind];
}

size_t keylog_count(const struct keylog *kl) { return kl ? kl->n : 0; }

void keylog_free(struct keylog *kl)
{
    if (!kl) return;
    struct kl_entry *e, *tmp;
    HASH_ITER(hh, kl->map, e, tmp) {
        HASH_DEL(kl->map, e);
        free(e);
    }
    if (kl->f) fclose(kl->f);
    free(kl->path);
    free(kl);
}
