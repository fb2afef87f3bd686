/* Noise control (--suppress FILE), in the spirit of Suricata's
 * threshold.config and Zeek's notice suppression: one entry per line,
 *
 *   suppress rule=ID|* [server=IP[:PORT]] [sni=GLOB] [cert=SHA256]
 *            [client=IP[/BITS]] [until=YYYY-MM-DD[THH:MM:SSZ]] [for=DURATION]
 *            reason="why"
 *
 * Every condition given must hold. Without for=, a matching finding is
 * dropped. With for=D, the first matching finding for each (rule, server,
 * SNI) is reported and the same ones are then dropped for D (repeats of a
 * known problem). until= is an expiry date (UTC, compared with the capture
 * time): past it the entry no longer applies. reason= is required, so a
 * suppression always says why. Errors: "file:line: message". Dropped
 * findings are counted per entry and in total (stats). */
#ifndef TLSWATCH_SUPPRESS_H
#define TLSWATCH_SUPPRESS_H
#include <stddef.h>
#include <stdint.h>

#include "facts.h"

struct suppress;

/* NULL on error (err: "file:line: message"). */
struct suppress *suppress_load(const char *path, char *err, size_t errlen);
void suppress_free(struct suppress *s);
/* 1 when the finding of `rule` on these facts at capture time `now` is
 * to be dropped. */
int suppress_match(struct suppress *s, const char *rule, const tls_facts *facts, double now);
uint64_t suppress_dropped(const struct suppress *s);
size_t suppress_entries(const struct suppress *s);
/* Entry i: its file line, reason and findings dropped (for stats/listing). */
int suppress_entry(const struct suppress *s, size_t i, unsigned *line, const char **reason, uint64_t *dropped);

#endif
