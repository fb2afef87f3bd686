/* Loads tests/unit/data/openssl_flows.hex (real OpenSSL loopback traffic,
 * see data/make-captures.sh): "name hex" per line. fx_get() returns the
 * bytes of one item (NULL if missing); fx_free() releases everything. */
#ifndef TEST_DISSECT_FIXTURE_H
#define TEST_DISSECT_FIXTURE_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fx_item { char name[48]; uint8_t *data; size_t len; } fx_item;
static fx_item fx_items[256];
static size_t fx_n;

static inline int fx_nib(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static inline size_t fx_unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (; hex[0] && hex[1] && n < cap; hex += 2) {
        int a = fx_nib(hex[0]), b = fx_nib(hex[1]);
        if (a < 0 || b < 0) break;
        out[n++] = (uint8_t)(a << 4 | b);
    }
    return n;
}

static inline int fx_load(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    static char line[300000];
    while (fx_n < 256 && fgets(line, sizeof line, f)) {
        char *sp = strchr(line, ' ');
        if (!sp) continue;
        *sp = '\0';
        fx_item *it = &fx_items[fx_n];
        snprintf(it->name, sizeof it->name, "%.47s", line);
        size_t hl = strlen(sp + 1);
        it->data = malloc(hl / 2 + 1);
        if (!it->data) break;
        it->len = fx_unhex(sp + 1, it->data, hl / 2);
        fx_n++;
    }
    fclose(f);
    return (int)fx_n;
}

static inline const uint8_t *fx_get(const char *name, size_t *len)
{
    for (size_t i = 0; i < fx_n; i++)
        if (strcmp(fx_items[i].name, name) == 0) {
            *len = fx_items[i].len;
            return fx_items[i].data;
        }
    *len = 0;
    return NULL;
}

static inline void fx_free(void)
{
    for (size_t i = 0; i < fx_n; i++) free(fx_items[i].data);
    fx_n = 0;
}

/* Handshake message #idx (0-based) of the given type in a cleartext
 * direction stream (records walked by hand, stops at CCS), header
 * included. Used to pick real messages out of the fixtures. */
static inline const uint8_t *fx_hs_msg(const uint8_t *s, size_t n, uint8_t type, int idx, size_t *mlen)
{
    static uint8_t hs[65536];
    size_t hl = 0, i = 0;
    while (i + 5 <= n) {
        size_t rl = (size_t)(s[i + 3] << 8 | s[i + 4]);
        if (s[i] == 20) break;
        if (s[i] == 22 && i + 5 + rl <= n && hl + rl <= sizeof hs) {
            memcpy(hs + hl, s + i + 5, rl);
            hl += rl;
        }
        i += 5 + rl;
    }
    for (size_t j = 0; j + 4 <= hl;) {
        size_t ml = (size_t)hs[j + 1] << 16 | (size_t)hs[j + 2] << 8 | hs[j + 3];
        if (j + 4 + ml > hl) break;
        if (hs[j] == type && idx-- == 0) {
            *mlen = 4 + ml;
            return hs + j;
        }
        j += 4 + ml;
    }
    *mlen = 0;
    return NULL;
}
#endif
