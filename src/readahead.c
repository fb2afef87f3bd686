/* Read-ahead of a capture file on a second thread (readahead.h). */
#include "readahead.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

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
    struct seg seg[2];
    int stop;
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

static void *reader(void *arg)
{
    struct readahead *ra = arg;
    for (int i = 0;; i ^= 1) {
        struct seg *s = &ra->seg[i];
        pthread_mutex_lock(&ra->mu);
        while (s->state != SEG_EMPTY && !ra->stop) pthread_cond_wait(&ra->to_reader, &ra->mu);
        int stop = ra->stop;
        pthread_mutex_unlock(&ra->mu);
        if (stop) break;
        /* the segment is ours until it is marked full: read without the lock */
        fill_seg(ra, s);
        int last = s->len < ra->seg_bytes;
        pthread_mutex_lock(&ra->mu);
        s->state = SEG_FULL;
        pthread_cond_signal(&ra->to_taker);
        pthread_mutex_unlock(&ra->mu);
        if (last) break;
    }
    return NULL;
}

struct readahead *readahead_start(int fd, off_t off, uint8_t *seg0, uint8_t *seg1, size_t seg_bytes)
{
    struct readahead *ra = calloc(1, sizeof *ra);
    if (!ra) return NULL;
    ra->fd = fd;
    ra->off = off;
    ra->seg_bytes = seg_bytes;
    ra->seg[0].p = seg0;
    ra->seg[1].p = seg1;
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
    if (ra->ended || ra->held == 2) {
        if (ra->end_err || ra->held == 2) {
            errno = ra->end_err ? ra->end_err : EINVAL;
            return -1;
        }
        return 0;
    }
    struct seg *s = &ra->seg[ra->take_i];
    pthread_mutex_lock(&ra->mu);
    while (s->state != SEG_FULL) pthread_cond_wait(&ra->to_taker, &ra->mu);
    s->state = SEG_HELD;
    pthread_mutex_unlock(&ra->mu);
    ra->take_i ^= 1;
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
    pthread_mutex_lock(&ra->mu);
    ra->seg[ra->rel_i].state = SEG_EMPTY;
    pthread_cond_signal(&ra->to_reader);
    pthread_mutex_unlock(&ra->mu);
    ra->rel_i ^= 1;
    ra->held--;
}

void readahead_stop(struct readahead *ra)
{
    if (!ra) return;
    pthread_mutex_lock(&ra->mu);
    ra->stop = 1;
    pthread_cond_signal(&ra->to_reader);
    pthread_mutex_unlock(&ra->mu);
    pthread_join(ra->thread, NULL);
    pthread_mutex_destroy(&ra->mu);
    pthread_cond_destroy(&ra->to_reader);
    pthread_cond_destroy(&ra->to_taker);
    free(ra);
}
