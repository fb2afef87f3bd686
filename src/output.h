/* Where events go: stdout or a file opened for append. SIGHUP asks for the
 * file to be reopened (logrotate); the reopen happens between two lines. */
#ifndef TLSWATCH_OUTPUT_H
#define TLSWATCH_OUTPUT_H
#include <stddef.h>

int output_open(const char *path); /* NULL or "-" = stdout; 0 ok, -1 error (reported) */
void output_write(const char *line, size_t len);
void output_request_reopen(void);  /* async-signal-safe */
void output_close(void);
int output_failed(void);           /* a write failed (disk full, closed pipe) */

#endif
