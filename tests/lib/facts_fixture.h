/* Typed facts (src/facts.h) from JSON: the rule tests' fixtures are the
 * "tls" objects of real events (plus "flow"), read back into the typed
 * struct through the schema's descriptors. Names become codes again
 * (cipher, group, alert ... by their tls_names tables), enums their
 * index, times their epoch. Computed fields (a certificate's "key") are
 * not read. Unknown keys and values of the wrong type are errors. */
#ifndef TLSWATCH_FACTS_FIXTURE_H
#define TLSWATCH_FACTS_FIXTURE_H
#include <stddef.h>

#include "facts.h"

/* NULL on error, with "path: what" in err. Free with facts_fixture_free. */
tls_facts *facts_fixture_parse(const char *json, size_t len, char *err, size_t errlen);
tls_facts *facts_fixture_file(const char *path, char *err, size_t errlen);
void facts_fixture_free(tls_facts *f);

#endif
