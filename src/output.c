/* Output sink with logrotate-friendly reopen. Lines are buffered (64 KiB)
 * and written out at exit, on reopen, on output_flush(), and whenever a
 * line is written or output_tick() runs at least OUTPUT_FLUSH_SECONDS after
 * the last flush: a live sensor's lines reach the file within a second,
 * a file run makes one write per 64 KiB instead of one per line. With
 * --syslog each line is also sent, unbuffered, to syslog (output_syslog.c),
 * and with --kafka-brokers produced to Kafka (output_kafka.c). */
#include "output.h"
#include "output_kafka.h"
#include "output_syslog.h"
#include "xalloc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OUTPUT_FLUSH_SECONDS 1
#define OUTPUT_BUFFER (64 * 1024)

static FILE *out;
static const char *out_path;
static volatile sig_atomic_t reopen_requested;
static volatile sig_atomic_t flush_requested;
static int write_failed;
static time_t last_flush;
static char *out_buf;   /* on the heap's huge pages (heap_setup), made once */

static void buffered(FILE *f)
{
    if (!out_buf) out_buf = xmalloc(OUTPUT_BUFFER);
    setvbuf(f, out_buf, _IOFBF, OUTPUT_BUFFER);
}

static time_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return ts.tv_sec;
}

static void flush_now(void)
{
    flush_requested = 0;
    last_flush = mono_now();
    if (out && fflush(out) != 0 && !write_failed) {
        write_failed = 1;
        fprintf(stderr, "tlswatch: %s: write failed: %s\n", out_path ? out_path : "stdout", strerror(errno));
    }
}

int output_open(const char *path)
{
    last_flush = mono_now();
    if (!path || strcmp(path, "-") == 0) {
        out = stdout;
        out_path = NULL;
        if (!isatty(STDOUT_FILENO)) buffered(stdout);
        return 0;
    }
    out = fopen(path, "a");
    if (!out) {
        fprintf(stderr, "tlswatch: %s: cannot open for writing: %s\n", path, strerror(errno));
        return -1;
    }
    buffered(out);
    out_path = path;
    last_flush = mono_now();
    return 0;
}

void output_request_flush(void) { flush_requested = 1; }

void output_flush(void) { flush_now(); }

void output_tick(void)
{
    if (flush_requested || mono_now() - last_flush >= OUTPUT_FLUSH_SECONDS) flush_now();
    output_kafka_poll();
}

void output_request_reopen(void) { reopen_requested = 1; }

static void reopen(void)
{
    reopen_requested = 0;
    if (!out_path) return;
    FILE *n = fopen(out_path, "a");
    flush_now();
    if (!n) {
        fprintf(stderr, "tlswatch: %s: cannot reopen: %s (keeping the old file)\n", out_path,
                strerror(errno));
        return;
    }
    fclose(out);
    out = n;
    buffered(out);
}

void output_write(const char *line, size_t len)
{
    if (reopen_requested) reopen();
    if (!out) out = stdout;
    if (fwrite(line, 1, len, out) != len && !write_failed) {
        write_failed = 1;
        fprintf(stderr, "tlswatch: %s: write failed: %s\n", out_path ? out_path : "stdout",
                strerror(errno));
    }
    output_syslog_lines(line, len);
    output_kafka_lines(line, len);
    output_tick();
}

void output_to_stdout(void)
{
    if (out && out != stdout) fclose(out);
    out = stdout;
    out_path = NULL;
    reopen_requested = 0;
    /* one write per line: a worker that crashes loses its open
     * handshakes, not a second of written lines */
    setvbuf(stdout, NULL, _IOLBF, 0);
}

void output_close(void)
{
    if (out && out != stdout) fclose(out);
    else if (out) fflush(out);
    out = NULL;
}

int output_failed(void) { return write_failed; }
