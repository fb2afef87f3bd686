/* A handshake's facts, typed: one C struct per object of the schema
 * (src/facts_schema.def), filled by the session layer with codes, flags,
 * numbers and borrowed strings, never with formatted names. Names (cipher,
 * group, alert, ...) are looked up only when a field is read: by the rule
 * engine (rules.c resolves paths to field descriptors at load) or by the
 * JSON writer (facts_write_json), which only runs for events that are
 * written.
 *
 * Lifetime: the facts handed to the emit callback, and every string and
 * array they point to, are valid during that callback only. */
#ifndef TLSWATCH_FACTS_H
#define TLSWATCH_FACTS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fingerprint.h"
#include "json.h"

/* Field kinds (see facts_schema.def). */
enum facts_kind {
    K_BOOL, K_INT, K_DBL, K_STR, K_ENUM, K_NAME, K_NAMES, K_STRS, K_BITS, K_TIME, K_IP, K_KEY,
    K_FP, K_OBJ, K_OBJP, K_OBJA
};
/* Name tables of K_NAME / K_NAMES (tls_names). */
enum facts_names { NT_VERSION, NT_CIPHER, NT_GROUP, NT_EXT, NT_SIG, NT_ALERT, NT__N };
/* Bit tables of K_BITS. */
enum facts_bits { BT_WEAKNESS, BT_ANOMALY, BT__N };
/* String tables of K_ENUM. */
enum facts_enum {
    EN_SIDE, EN_HOW, EN_LEVEL, EN_OUTCOME, EN_RESUMPTION, EN_INCOMPLETE, EN_OCSP, EN_CERTSTATUS,
    EN_RENEG_RESULT, EN_OVPN_PROT, EN__N
};
/* Values of the K_ENUM tables the session sets (index = value). */
enum { FACTS_CLIENT = 0, FACTS_SERVER = 1 };                         /* EN_SIDE */
enum { FACTS_FIN = 0, FACTS_RST = 1 };                               /* EN_HOW */
enum { FACTS_LEVEL_UNKNOWN = 0, FACTS_LEVEL_WARNING, FACTS_LEVEL_FATAL }; /* EN_LEVEL */
enum { FACTS_RES_PSK = 0, FACTS_RES_TICKET, FACTS_RES_SESSION_ID, FACTS_RES_SESSION_ID_OR_COMPAT };  /* EN_RESUMPTION */
enum { FACTS_INC_START_MISSING = 0, FACTS_INC_NO_CH, FACTS_INC_BYTES, FACTS_INC_GAP, FACTS_INC_ENCRYPTED }; /* EN_INCOMPLETE */
/* EN_OVPN_PROT: enum ovpn_protection - 1 (dissectors/ovpn_stream.h) */
enum { FACTS_RR_ACCEPTED = 0, FACTS_RR_IGNORED, FACTS_RR_REJECTED, FACTS_RR_UNKNOWN };
/* bit of BT_ANOMALY after the dissector's anomalies */
#define FACTS_ANOM_DUPLICATE_CH 63

/* Storage of the list kinds. */
struct facts_codes {
    const uint16_t *v;
    uint32_t n;
};
struct facts_strs {
    const char *const *v;
    uint32_t n;
};
struct facts_arr {
    const void *v; /* struct facts_<TYPE>[n] */
    uint32_t n;
};
struct facts_ip {
    uint8_t family; /* 4 or 6 */
    uint8_t a[16];
};

/* Field states. */
enum { FACTS_ABSENT = 0, FACTS_NULL = 1, FACTS_VAL = 2 };

#define FACTS_CT_K_BOOL(a) bool
#define FACTS_CT_K_INT(a) int64_t
#define FACTS_CT_K_DBL(a) double
#define FACTS_CT_K_STR(a) const char *
#define FACTS_CT_K_ENUM(a) int8_t
#define FACTS_CT_K_NAME(a) uint16_t
#define FACTS_CT_K_NAMES(a) struct facts_codes
#define FACTS_CT_K_STRS(a) struct facts_strs
#define FACTS_CT_K_BITS(a) uint64_t
#define FACTS_CT_K_TIME(a) int64_t
#define FACTS_CT_K_IP(a) struct facts_ip
#define FACTS_CT_K_KEY(a) uint8_t /* computed; no storage used */
#define FACTS_CT_K_FP(a) const struct fp_hellos * /* computed from the hellos */
#define FACTS_CT_K_OBJ(a) struct facts_##a
#define FACTS_CT_K_OBJP(a) const struct facts_##a *
#define FACTS_CT_K_OBJA(a) struct facts_arr

#include "facts_schema.def"

#define FACTS_FIELD_ID(T, m, key, kind, arg) FI_##T##_##m,
#define FACTS_MEMBER(T, m, key, kind, arg) FACTS_CT_##kind(arg) m;
#define FACTS_DECLARE(T)                                                      \
    enum { FACTS_FIELDS_##T(FACTS_FIELD_ID, T) FI_##T##__N };                \
    struct facts_##T {                                                        \
        FACTS_FIELDS_##T(FACTS_MEMBER, T)                                     \
        uint8_t st[FI_##T##__N];                                              \
    };
FACTS_TYPES(FACTS_DECLARE)
#undef FACTS_DECLARE

typedef struct facts_TLS tls_facts;

/* Setters: the value and its state. */
#define FSET(T, o, m, val) ((o)->m = (val), (o)->st[FI_##T##_##m] = FACTS_VAL)
#define FNULL(T, o, m) ((o)->st[FI_##T##_##m] = FACTS_NULL)
#define FABSENT(T, o, m) ((o)->st[FI_##T##_##m] = FACTS_ABSENT)
#define FSTATE(T, o, m) ((o)->st[FI_##T##_##m])
/* Every field of an object present (its zero value) */
#define FALL(T, o) memset((o)->st, FACTS_VAL, sizeof (o)->st)

/* ------------------------------------------------------------ descriptors */

struct facts_type;
struct facts_field {
    const char *key;
    uint8_t kind, arg;
    uint16_t off;                 /* of the member */
    uint16_t st;                  /* of its state byte */
    const struct facts_type *sub; /* K_OBJ, K_OBJP, K_OBJA */
};
struct facts_type {
    const char *name;
    const struct facts_field *fields;
    uint16_t nfields;
    uint16_t st_off;
    size_t size;
};
#define FACTS_TYPE_EXTERN(T) extern const struct facts_type facts_type_##T;
FACTS_TYPES(FACTS_TYPE_EXTERN)
#undef FACTS_TYPE_EXTERN

/* Field index by key in t, or -1. */
int facts_field_index(const struct facts_type *t, const char *key);
/* The rule checker's view of a schema path ("alerts[].code", "flow",
 * "chain[]"): FT_* bits, 0 when the path is not in the schema. */
#define FT_NULL 0x01u
#define FT_BOOL 0x02u
#define FT_INT 0x04u
#define FT_DBL 0x08u
#define FT_STR 0x10u
#define FT_ASTR 0x20u
#define FT_AOBJ 0x40u
#define FT_OBJ 0x80u
unsigned facts_path_type(const char *path);
/* Walks a schema path: *fd its last field (NULL: the root object), *elem
 * set when it ends with "[]". 0 when the path is not in the schema. */
int facts_resolve(const char *path, const struct facts_type **owner, const struct facts_field **fd,
                  int *elem);
/* The object type reached by a schema path of objects ("" root,
 * "alerts[]", "server_cert"), or NULL. */
const struct facts_type *facts_path_object(const char *path);

/* ------------------------------------------------------------- reading */

/* Room for names formatted on reading (unknown codes, times, addresses).
 * Views returned by facts_get point into it until facts_scratch_reset. */
struct facts_scratch {
    char buf[4096];
    size_t used;
};
static inline void facts_scratch_reset(struct facts_scratch *s) { s->used = 0; }

enum facts_vk { FV_NULL, FV_BOOL, FV_INT, FV_DBL, FV_STR, FV_LIST, FV_OBJ, FV_OBJS };
/* One field's value, as rules and writers see it. */
struct fval {
    uint8_t k;                   /* enum facts_vk */
    uint8_t lkind, larg;         /* FV_LIST: K_NAMES/K_STRS/K_BITS and its table */
    int64_t i;                   /* FV_BOOL, FV_INT */
    double d;                    /* FV_DBL */
    const char *s;               /* FV_STR */
    size_t n;                    /* FV_STR length; FV_LIST/FV_OBJS entries */
    const void *p;               /* FV_LIST storage; FV_OBJ object; FV_OBJS first element */
    uint64_t bits;               /* FV_LIST of K_BITS */
    const struct facts_type *t;  /* FV_OBJ, FV_OBJS */
};

/* Reads field fd of obj (an object of fd's type); absent and null
 * fields read as FV_NULL. */
void facts_get(const struct facts_field *fd, const void *obj, struct fval *out,
               struct facts_scratch *sc);
/* Element i of an FV_LIST (a string) or FV_OBJS (an FV_OBJ). */
void facts_item(const struct fval *v, size_t i, struct fval *out, struct facts_scratch *sc);
/* Entries of a list or object array; fields of an object; string bytes. */
size_t facts_len(const struct fval *v);

/* Name of code in table nt (tls_names; "unknown_0x...." formatted into
 * buf when it has none). */
const char *facts_name(int nt, uint16_t code, char *buf, size_t n);
/* Code of a name in table nt (the reverse; also "unknown_0x1234",
 * "grease_0x0a0a"), or -1. */
long facts_name_code(int nt, const char *name);
/* String of value i of enum table en, or NULL; the reverse, or -1. */
const char *facts_enum_name(int en, int i);
int facts_enum_index(int en, const char *s);
/* Name of bit i of bit table bt, or NULL; the reverse, or -1. */
const char *facts_bit_name(int bt, int i);
int facts_bit_index(int bt, const char *name);

/* ------------------------------------------------------------- writing */

/* The members of obj as JSON object members (the caller opens and closes
 * the object); skip: a field of t not written (NULL: none). */
void facts_write_members(const struct facts_type *t, const void *obj, struct json *j,
                         const struct facts_field *skip);
/* A whole value. */
void facts_write_value(const struct fval *v, struct json *j, struct facts_scratch *sc);

#endif
