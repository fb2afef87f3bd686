/* Read-ahead of a capture file on a second thread (readahead.h). */
#include "readahead.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* How long each side spins before it sleeps. The reader fills a segment
 * faster than the analysis uses one and then waits for it back (some
 * 100-300 us); the analysis rarely waits. Sleeping and waking through a
 * condition variable, each hand-over cost a futex wake of the other core
 * (6% of the samples on a 446 MB capture); spinning first took the run
 * to 0.93-0.95 of the time, for some 20 ms more CPU on the idle core. */
#define READER_SPIN_NS 1000000L
#define TAKER_SPIN_NS 200000L

enum seg_state { SEG_EMPTY, SEG_FULL, SEG_HELD };

struct seg {
    uint8_t *p;
    size_t len;
    int err;              /* errno of a failed read (0: none) */
    enum seg_state state;
};

struct readahead {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t to_reader, to_taker;
    int fd;
    off_t off;            /* the reader's next file offset */
    size_t seg_bytes;
    struct seg seg[READAHEAD_SEGS];
    int nseg;
    int stop;
    int reader_waits, taker_waits; /* asleep in await() */
    /* the taker's side */
    int take_i, rel_i, held;
    int ended, end_err;   /* a short segment was taken: nothing follows */
};

int readahead_worth(uint64_t bytes, uint64_t min_bytes)
{
    if (bytes < min_bytes) return 0;
    cpu_set_t cs;
    return sched_getaffinity(0, sizeof cs, &cs) == 0 && CPU_COUNT(&cs) >= 2;
}

/* Fills one segment: whole, or up to the end of the file or an error. */
static void fill_seg(struct readahead *ra, struct seg *s)
{
    size_t got = 0;
    int err = 0;
    while (got < ra->seg_bytes) {
        ssize_t k = pread(ra->fd, s->p + got, ra->seg_bytes - got, ra->off);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) err = errno;
        if (k <= 0) break;
        got += (size_t)k;
        ra->off += k;
    }
    s->len = got;
    s->err = err;
}

/* Spins until *state == want (or stop), at most spin_ns: the other side
 * is usually about to get there, and waking a sleeping thread costs
 * 15-50 us on a virtual machine. 1: got there. */
static int spin(struct readahead *ra, const enum seg_state *state, enum seg_state want, long spin_ns)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned k = 1;; k++) {
        if (__atomic_load_n(state, __ATOMIC_SEQ_CST) == want || __atomic_load_n(&ra->stop, __ATOMIC_SEQ_CST))
            return 1;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
        if (k % 256 == 0) {
            clock_gettime(CLOCK_MONOTONIC, &t);
            if ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) > spin_ns) return 0;
        }
    }
}

/* Waits until *state == want (or stop): spins, then sleeps on cv with
 * *waits set, so that post() on the other side knows to signal. */
static void await(struct readahead *ra, const enum seg_state *state, enum seg_state want, int *waits,
                  pthread_cond_t *cv, long spin_ns)
{
    if (spin(ra, state, want, spin_ns)) return;
    pthread_mutex_lock(&ra->mu);
    __atomic_store_n(waits, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(state, __ATOMIC_SEQ_CST) != want && !__atomic_load_n(&ra->stop, __ATOMIC_SEQ_CST))
        pthread_cond_wait(cv, &ra->mu);
    __atomic_store_n(waits, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&ra->mu);
}

/* *state = v, and a signal if the other side sleeps in await(): it set
 * *waits before looking at *state, we set *state before looking at *waits
 * (both sequentially consistent), so one of us sees the other's store. */
static void post(struct readahead *ra, enum seg_state *state, enum seg_state v, const int *waits, pthread_cond_t *cv)
{
    __atomic_store_n(state, v, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(waits, __ATOMIC_SEQ_CST)) {
        pthread_mutex_lock(&ra->mu);
        pthread_cond_signal(cv);
        pthread_mutex_unlock(&ra->mu);
    }
}

static void *reader(void *arg)
{
    struct readahead *ra = arg;
    for (int i = 0;; i = (i + 1) % ra->nseg) {
        struct seg *s = &ra->seg[i];
        await(ra, &s->state, SEG_EMPTY, &ra->reader_waits, &ra->to_reader, READER_SPIN_NS);
        if (__atomic_load_n(&ra->stop, __ATOMIC_SEQ_CST)) break;
        /* the segment is ours until it is marked full */
        fill_seg(ra, s);
        int last = s->len < ra->seg_bytes;
        post(ra, &s->state, SEG_FULL, &ra->taker_waits, &ra->to_taker);
        if (last) break;
    }
    return NULL;
}

struct readahead *readahead_start(int fd, off_t off, uint8_t *const seg[], int nseg, size_t seg_bytes)
{
    if (nseg < 2 || nseg > READAHEAD_SEGS) return NULL;
    struct readahead *ra = calloc(1, sizeof *ra);
    if (!ra) return NULL;
    ra->fd = fd;
    ra->off = off;
    ra->seg_bytes = seg_bytes;
    ra->nseg = nseg;
    for (int i = 0; i < nseg; i++) ra->seg[i].p = seg[i];
    pthread_mutex_init(&ra->mu, NULL);
    pthread_cond_init(&ra->to_reader, NULL);
    pthread_cond_init(&ra->to_taker, NULL);
    /* every signal blocked in the thread (it inherits the mask): they are
     * the analysis thread's to handle; a small stack, it calls pread only */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 64u << 10);
    int rc = pthread_create(&ra->thread, &at, reader, ra);
    pthread_attr_destroy(&at);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_mutex_destroy(&ra->mu);
        pthread_cond_destroy(&ra->to_reader);
        pthread_cond_destroy(&ra->to_taker);
        free(ra);
        return NULL;
    }
    return ra;
}

ssize_t readahead_take(struct readahead *ra, uint8_t **data)
{
    if (ra->held == ra->nseg) { /* the caller gave none back */
        errno = EINVAL;
        return -1;
    }
    if (ra->ended) { /* past the end, or the error after the last bytes */
        if (!ra->end_err) return 0;
        errno = ra->end_err;
        return -1;
    }
    struct seg *s = &ra->seg[ra->take_i];
    await(ra, &s->state, SEG_FULL, &ra->taker_waits, &ra->to_taker, TAKER_SPIN_NS);
    __atomic_store_n(&s->state, SEG_HELD, __ATOMIC_SEQ_CST);
    ra->take_i = (ra->take_i + 1) % ra->nseg;
    ra->held++;
    if (s->len < ra->seg_bytes) {
        ra->ended = 1;
        ra->end_err = s->err;
    }
    if (s->len == 0 && s->err) {
        errno = s->err;
        return -1;
    }
    *data = s->p;
    return (ssize_t)s->len;
}

void readahead_release(struct readahead *ra)
{
    if (!ra->held) return;
    post(ra, &ra->seg[ra->rel_i].state, SEG_EMPTY, &ra->reader_waits, &ra->to_reader);
    ra->rel_i = (ra->rel_i + 1) % ra->nseg;
    ra->held--;
}

void readahead_stop(struct readahead *ra)
{
    if (!ra) return;
    pthread_mutex_lock(&ra->mu);
    __atomic_store_n(&ra->stop, 1, __ATOMIC_SEQ_CST);
    pthread_cond_signal(&ra->to_reader);
    pthread_mutex_unlock(&ra->mu);
    pthread_join(ra->thread, NULL);
    pthread_mutex_destroy(&ra->mu);
    pthread_cond_destroy(&ra->to_reader);
    pthread_cond_destroy(&ra->to_taker);
    free(ra);
}
