/* Key log parsing: one uthash entry (keyed SipHash) per client random. */
#include "keylog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uthash_keyed.h"

struct kl_entry {
    uint8_t random[32];
    struct keylog_secret s[KL_KINDS];
    UT_hash_handle hh;
};

struct keylog {
    struct kl_entry *map;
    size_t n;
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

struct keylog *keylog_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open key log: %s", path, strerror(errno));
        return NULL;
    }
    struct keylog *kl = calloc(1, sizeof *kl);
    if (!kl) {
        fclose(f);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    char line[1024];
    unsigned lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t l = strcspn(line, "\r\n");
        line[l] = '\0';
        if (!line[0] || line[0] == '#') continue;
        char *sp1 = strchr(line, ' ');
        char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        if (!sp1 || !sp2) goto bad;
        *sp1 = '\0';
        int kind = -1;
        for (int k = 0; k < KL_KINDS; k++)
            if (strcmp(line, labels[k]) == 0) kind = k;
        if (kind < 0) continue; /* EXPORTER_SECRET, EARLY secrets, ... */
        uint8_t cr[32];
        if (unhex(sp1 + 1, (size_t)(sp2 - sp1 - 1), cr, 32) != 32) goto bad;
        struct keylog_secret sec;
        int n = unhex(sp2 + 1, strlen(sp2 + 1), sec.v, sizeof sec.v);
        if (n <= 0) goto bad;
        sec.len = (uint8_t)n;
        struct kl_entry *e = NULL;
        HASH_FIND(hh, kl->map, cr, 32, e);
        if (!e) {
            e = calloc(1, sizeof *e);
            if (!e) break;
            memcpy(e->random, cr, 32);
            HASH_ADD(hh, kl->map, random, 32, e);
            kl->n++;
        }
        e->s[kind] = sec;
        continue;
    bad:
        snprintf(err, errlen, "%s:%u: malformed key log line (want LABEL <client_random hex> <secret hex>)",
                 path, lineno);
        fclose(f);
        keylog_free(kl);
        return NULL;
    }
    fclose(f);
    return kl;
}

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
    free(kl);
}
