/* --syslog: every event line also goes to the local syslog socket as one
 * RFC 5424 message,
 *
 *   <PRI>1 TIMESTAMP HOSTNAME tlswatch PROCID - - LINE
 *
 * PRI = facility * 8 + a severity taken from the event (a finding's
 * severity; tls, flow and stats events are info). Additive: the lines are
 * still written to stdout or -o FILE. See docs/deploy.md for the syslog
 * daemons' side (rsyslog's imuxsock parser, journald, message sizes). */
#ifndef TLSWATCH_OUTPUT_SYSLOG_H
#define TLSWATCH_OUTPUT_SYSLOG_H
#include <stddef.h>

#define OUTPUT_SYSLOG_DEFAULT_SOCKET "/dev/log"

/* "daemon", "user", "local0".."local7" -> facility code, or -1. */
int output_syslog_facility_parse(const char *name);

/* Connects to the AF_UNIX datagram socket at path (NULL: /dev/log).
 * nonblock: a full receive queue drops the message (counted) instead of
 * stalling the caller (live capture: a stalled sensor loses packets).
 * 0 ok; -1 after one line on stderr. */
int output_syslog_open(const char *path, int facility, int nonblock);
/* Sends each '\n'-terminated line of buf (one or more) as one message.
 * No-op when not open. Never allocates. */
void output_syslog_lines(const char *buf, size_t len);
/* Reports undelivered messages (one line on stderr), closes. */
void output_syslog_close(void);

#endif
