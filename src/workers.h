/* --workers N: N capture processes on one interface, in one
 * PACKET_FANOUT_HASH group (the kernel gives both directions of a flow to
 * the same process). Processes, not threads: libnids keeps global state.
 * The parent captures nothing: it reads each worker's event lines from a
 * pipe and writes whole lines to the one output (never interleaved), sums
 * the workers' stats events into one (jsonsum.h, plus "workers": count and
 * restarts), forwards SIGHUP/SIGUSR1/SIGTERM, and restarts a worker that
 * dies (reported on stderr and counted), giving up when one dies again
 * within seconds of each start. */
#ifndef TLSWATCH_WORKERS_H
#define TLSWATCH_WORKERS_H

#define WORKERS_MAX 64

/* Runs in the child: the capture of worker `index` in `fanout_group`, its
 * events written to stdout (the pipe). Returns the exit status. */
typedef int (*worker_main_fn)(void *ctx, int index, int fanout_group);

struct workers_opts {
    int n;      /* 2..WORKERS_MAX */
    int text;   /* -F text: lines are passed through, stats not summed */
    int quiet;  /* no summary line on stderr */
    /* Called in the parent once the first workers are forked, before its
     * loop: for what starts threads (librdkafka's), so that no first
     * worker is forked beside them. Nonzero: the workers are stopped and
     * that is the exit status. NULL: none. */
    int (*ready)(void *ctx);
};

/* The parent's loop; returns when every worker has ended after a stop
 * signal (or gave up). The exit status: the workers' worst (1 when one
 * kept dying). */
int workers_run(const struct workers_opts *o, worker_main_fn fn, void *ctx);

#endif
