/* Where events go: stdout or a file opened for append, buffered (see
 * output.c for when it is flushed). SIGHUP asks for the file to be reopened
 * (logrotate); the reopen happens between two lines. Each line also goes
 * to syslog once output_syslog_open() succeeded (output_syslog.h), and to
 * Kafka once output_kafka_open() did (output_kafka.h). */
#ifndef TLSWATCH_OUTPUT_H
#define TLSWATCH_OUTPUT_H
#include <stddef.h>

int output_open(const char *path); /* NULL or "-" = stdout; 0 ok, -1 error (reported) */
void output_write(const char *line, size_t len);
void output_request_reopen(void);  /* async-signal-safe */
void output_request_flush(void);   /* async-signal-safe: flushed at the next tick or line */
void output_flush(void);
/* Flushes when a second has passed since the last flush (call from the
 * capture loop's tick so a quiet live link still gets its lines out);
 * serves Kafka's delivery reports. */
void output_tick(void);
void output_close(void);
/* From now on to stdout (a --workers process: its pipe to the parent). */
void output_to_stdout(void);
int output_failed(void);           /* a write failed (disk full, closed pipe) */

#endif
