/* The --workers supervisor (workers.h). */
#include "workers.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jsonsum.h"
#include "output.h"
#include "signals.h"

#define LINE_MAX_BYTES (1u << 20)  /* a worker's line longer than this is cut (reported) */
#define STATS_MAX_BYTES (64u << 10)
#define STOP_GRACE_S 30            /* after SIGTERM, then SIGKILL */
#define FAST_DEATH_S 3             /* a worker dying this soon after its start ... */
#define FAST_DEATHS_MAX 3          /* ... this many times in a row: give up */

struct worker {
    pid_t pid;
    int fd;            /* read end of its pipe; -1 when ended */
    double started;
    int fast_deaths;
    char *buf;         /* a partial line */
    size_t len;
    char *stats;       /* its latest stats line */
    size_t stats_len;
    unsigned stats_seen;
};

static volatile sig_atomic_t stop_flag, hup_flag, usr1_flag;

static void on_sig(int sig)
{
    if (sig == SIGHUP) hup_flag = 1;
    else if (sig == SIGUSR1) usr1_flag = 1;
    else stop_flag = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct sup {
    const struct workers_opts *o;
    worker_main_fn fn;
    void *ctx;
    int group;
    struct worker w[WORKERS_MAX];
    unsigned restarts;
    unsigned rounds;       /* summed periodic stats written */
    char *retired;         /* stats of workers that died, summed in */
    size_t retired_len;
    int worst;
    int gave_up;
};

static int spawn(struct sup *S, int i)
{
    int p[2];
    if (pipe(p) != 0) {
        fprintf(stderr, "tlswatch: worker %d: pipe: %s\n", i, strerror(errno));
        return -1;
    }
    output_flush();
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "tlswatch: worker %d: fork: %s\n", i, strerror(errno));
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        /* the child: events to the pipe; dies with the parent */
        signals_install(SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        for (int k = 0; k < S->o->n; k++)
            if (S->w[k].fd >= 0) close(S->w[k].fd);
        close(p[0]);
        if (dup2(p[1], STDOUT_FILENO) < 0) _exit(1);
        close(p[1]);
        /* _exit: no exit handlers in a child forked beside other threads
         * (librdkafka's, when --kafka-brokers is given: their state was
         * copied mid-flight); the worker freed what it owns already */
        int rc = S->fn(S->ctx, i, S->group);
        fflush(NULL);
        _exit(rc);
    }
    close(p[1]);
    S->w[i].pid = pid;
    S->w[i].fd = p[0];
    S->w[i].started = now_s();
    S->w[i].len = 0;
    return 0;
}

/* The first "packets" of a worker's stats line (the capture's count). */
static unsigned long long packets_of(const char *doc)
{
    const char *p = doc ? strstr(doc, "\"packets\":") : NULL;
    return p ? strtoull(p + 10, NULL, 10) : 0;
}

static void inject_workers(struct sup *S, char *doc, long *len, size_t cap)
{
    /* the stats object is the last member: {... "stats":{...}}; each
     * worker's packets show how the fanout spreads the load */
    char add[96 + WORKERS_MAX * 24];
    int k = snprintf(add, sizeof add, ",\"workers\":{\"count\":%d,\"restarts\":%u,\"packets\":[", S->o->n,
                     S->restarts);
    for (int i = 0; i < S->o->n && k > 0 && (size_t)k < sizeof add - 32; i++)
        k += snprintf(add + k, sizeof add - (size_t)k, "%s%llu", i ? "," : "", packets_of(S->w[i].stats));
    k += snprintf(add + k, sizeof add - (size_t)k, "]}");
    if (*len < 2 || (size_t)*len + (size_t)k + 2 > cap || doc[*len - 1] != '}' || doc[*len - 2] != '}') return;
    memmove(doc + *len - 2 + k, doc + *len - 2, 3); /* "}}\0" */
    memcpy(doc + *len - 2, add, (size_t)k);
    *len += k;
}

/* One stats event summed over the workers' latest (and retired) ones. */
static void write_summed(struct sup *S)
{
    const char *docs[WORKERS_MAX + 1];
    size_t lens[WORKERS_MAX + 1], n = 0;
    for (int i = 0; i < S->o->n; i++)
        if (S->w[i].stats) {
            docs[n] = S->w[i].stats;
            lens[n++] = S->w[i].stats_len;
        }
    if (S->retired) {
        docs[n] = S->retired;
        lens[n++] = S->retired_len;
    }
    if (!n) return;
    static char out[STATS_MAX_BYTES * 2];
    long l = jsonsum(docs, lens, n, out, sizeof out - 128);
    if (l < 0) { /* not expected from our own lines: pass them through */
        for (size_t i = 0; i < n; i++) {
            output_write(docs[i], lens[i]);
            output_write("\n", 1);
        }
        return;
    }
    inject_workers(S, out, &l, sizeof out - 1);
    out[l++] = '\n';
    output_write(out, (size_t)l);
}

static int is_stats(const char *line, size_t len)
{
    size_t m = len < 80 ? len : 80;
    for (size_t i = 0; i + 21 <= m; i++)
        if (memcmp(line + i, "\"event_type\":\"stats\"", 20) == 0) return 1;
    return 0;
}

static void keep_stats(struct worker *w, const char *line, size_t len)
{
    if (len > STATS_MAX_BYTES) return;
    char *c = realloc(w->stats, len + 1);
    if (!c) return;
    memcpy(c, line, len);
    c[len] = '\0';
    w->stats = c;
    w->stats_len = len;
    w->stats_seen++;
}

static void on_line(struct sup *S, struct worker *w, const char *line, size_t len)
{
    if (S->o->text || !is_stats(line, len)) {
        output_write(line, len);
        return;
    }
    /* stats: one summed event once every running worker has sent its
     * next one (periodic, SIGUSR1); the final ones are summed at the end */
    size_t body = len && line[len - 1] == '\n' ? len - 1 : len;
    keep_stats(w, line, body);
    if (stop_flag) return;
    for (int i = 0; i < S->o->n; i++)
        if (S->w[i].fd >= 0 && S->w[i].stats_seen <= S->rounds) return;
    S->rounds++;
    write_summed(S);
}

static void drain(struct sup *S, struct worker *w)
{
    char chunk[65536];
    ssize_t r = read(w->fd, chunk, sizeof chunk);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (r <= 0) { /* the worker ended (or its pipe broke) */
        if (w->len) fprintf(stderr, "tlswatch: worker %d: %zu bytes of a last line without its end dropped\n", (int)(w - S->w), w->len);
        w->len = 0;
        close(w->fd);
        w->fd = -1;
        return;
    }
    const char *p = chunk, *end = chunk + r;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p + 1) : (size_t)(end - p);
        if (!w->len && nl) {
            on_line(S, w, p, n); /* a whole line in the chunk: no copy */
        } else {
            if (w->len + n > LINE_MAX_BYTES) {
                fprintf(stderr, "tlswatch: worker %d: a line over %u bytes cut\n", (int)(w - S->w), LINE_MAX_BYTES);
                n = LINE_MAX_BYTES - w->len;
            }
            char *b = realloc(w->buf, w->len + n + 1);
            if (b) {
                w->buf = b;
                memcpy(w->buf + w->len, p, n);
                w->len += n;
            }
            if (nl && w->buf) {
                if (w->buf[w->len - 1] != '\n') w->buf[w->len++] = '\n';
                on_line(S, w, w->buf, w->len);
                w->len = 0;
            }
            if (!nl) break;
            n = (size_t)(nl - p + 1);
        }
        p += n;
    }
}

/* A worker's pipe closed: reap it; restart it unless we are stopping. */
static void ended(struct sup *S, int i)
{
    struct worker *w = &S->w[i];
    int st = 0;
    while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR) {}
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
    if (stop_flag) {
        if (code > S->worst) S->worst = code;
        w->pid = 0;
        return;
    }
    char how[64];
    if (WIFSIGNALED(st)) snprintf(how, sizeof how, "killed by signal %d", WTERMSIG(st));
    else snprintf(how, sizeof how, "exited with status %d", code);
    /* its last counts stay in the sums */
    if (w->stats) {
        const char *docs[2] = { w->stats, S->retired };
        size_t lens[2] = { w->stats_len, S->retired_len };
        char *out = malloc(STATS_MAX_BYTES * 2);
        long l = out ? jsonsum(docs, lens, S->retired ? 2 : 1, out, STATS_MAX_BYTES * 2) : -1;
        if (l >= 0) {
            free(S->retired);
            S->retired = out;
            S->retired_len = (size_t)l;
        } else {
            free(out);
        }
        free(w->stats);
        w->stats = NULL;
        w->stats_len = 0;
    }
    w->stats_seen = S->rounds; /* the new one owes the next round */
    if (now_s() - w->started < FAST_DEATH_S) w->fast_deaths++;
    else w->fast_deaths = 0;
    if (w->fast_deaths >= FAST_DEATHS_MAX) {
        fprintf(stderr, "tlswatch: worker %d (pid %d) %s, %d times within %d s of starting: giving up\n", i,
                (int)w->pid, how, w->fast_deaths, FAST_DEATH_S);
        S->gave_up = 1;
        stop_flag = 1;
        if (code > S->worst) S->worst = code ? code : 1;
        w->pid = 0;
        return;
    }
    S->restarts++;
    fprintf(stderr, "tlswatch: worker %d (pid %d) %s; restarted (%u restarts)\n", i, (int)w->pid, how, S->restarts);
    w->pid = 0;
    if (spawn(S, i) != 0) {
        S->gave_up = 1;
        stop_flag = 1;
        S->worst = 1;
    }
}

static void signal_all(struct sup *S, int sig)
{
    for (int i = 0; i < S->o->n; i++)
        if (S->w[i].pid > 0) kill(S->w[i].pid, sig);
}

int workers_run(const struct workers_opts *o, worker_main_fn fn, void *ctx)
{
    static struct sup S;
    memset(&S, 0, sizeof S);
    S.o = o;
    S.fn = fn;
    S.ctx = ctx;
    S.group = (int)(getpid() % 65535) + 1;
    for (int i = 0; i < o->n; i++) S.w[i].fd = -1;
    stop_flag = hup_flag = usr1_flag = 0;
    signals_install(on_sig);
    for (int i = 0; i < o->n; i++)
        if (spawn(&S, i) != 0) {
            stop_flag = 1;
            S.worst = 1;
            break;
        }
    if (!stop_flag && o->ready) {
        int r = o->ready(ctx);
        if (r) {
            stop_flag = 1;
            S.worst = r;
        }
    }
    int forwarded = 0;
    double deadline = 0;
    for (;;) {
        struct pollfd pf[WORKERS_MAX];
        int idx[WORKERS_MAX], np = 0, alive = 0;
        for (int i = 0; i < o->n; i++) {
            if (S.w[i].pid > 0) alive++;
            if (S.w[i].fd >= 0) {
                pf[np].fd = S.w[i].fd;
                pf[np].events = POLLIN;
                pf[np].revents = 0;
                idx[np++] = i;
            }
        }
        if (!alive) break;
        if (stop_flag && !forwarded) {
            signal_all(&S, SIGTERM);
            forwarded = 1;
            deadline = now_s() + STOP_GRACE_S;
        }
        if (forwarded && now_s() > deadline) signal_all(&S, SIGKILL);
        if (hup_flag) {
            hup_flag = 0;
            output_request_reopen();
            signal_all(&S, SIGHUP);
        }
        if (usr1_flag) {
            usr1_flag = 0;
            signal_all(&S, SIGUSR1);
        }
        int r = poll(pf, (nfds_t)np, 200);
        if (r > 0) {
            for (int k = 0; k < np; k++)
                if (pf[k].revents) drain(&S, &S.w[idx[k]]);
        }
        for (int i = 0; i < o->n; i++)
            if (S.w[i].pid > 0 && S.w[i].fd < 0) ended(&S, i);
        output_tick();
    }
    if (!o->text) write_summed(&S);
    output_flush();
    if (!o->quiet)
        fprintf(stderr, "tlswatch: %d workers in fanout group %d, %u restarts%s\n", o->n, S.group, S.restarts,
                S.gave_up ? ", gave up" : "");
    for (int i = 0; i < o->n; i++) {
        free(S.w[i].buf);
        free(S.w[i].stats);
    }
    free(S.retired);
    return S.gave_up && !S.worst ? 1 : S.worst;
}
