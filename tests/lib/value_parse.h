/* JSON text -> struct value (src/value.h). Used for facts fixtures in the
 * rule tests and by anything that replays facts from JSON lines. Integers
 * without fraction/exponent that fit int64 become V_INT, other numbers
 * V_DOUBLE. Depth is limited (64); duplicate keys: the last one wins. */
#ifndef TLSWATCH_VALUE_PARSE_H
#define TLSWATCH_VALUE_PARSE_H
#include <stddef.h>

#include "value.h"

/* Parses len bytes of text. Returns NULL on error with a message
 * "line:col: what" in err (if err != NULL). */
struct value *value_parse_json(const char *text, size_t len, char *err, size_t errlen);
/* Reads and parses a whole file; err as above, prefixed with the path. */
struct value *value_parse_json_file(const char *path, char *err, size_t errlen);

#endif
