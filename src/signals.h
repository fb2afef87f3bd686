/* The control signals of a run: SIGINT/SIGTERM (stop), SIGHUP (reopen,
 * re-read), SIGUSR1 (stats now). One place sets them, for the capture
 * process and for the --workers supervisor alike. */
#ifndef TLSWATCH_SIGNALS_H
#define TLSWATCH_SIGNALS_H

/* handler (or SIG_DFL) for SIGINT, SIGTERM, SIGHUP and SIGUSR1, without
 * SA_RESTART (a blocking read or poll returns EINTR and the loop looks at
 * its flags); SIGPIPE ignored (a closed output is an error, not a death). */
void signals_install(void (*handler)(int));

#endif
