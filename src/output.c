/* Output sink with logrotate-friendly reopen. */
#include "output.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static FILE *out;
static const char *out_path;
static volatile sig_atomic_t reopen_requested;
static int write_failed;

int output_open(const char *path)
{
    if (!path || strcmp(path, "-") == 0) {
        out = stdout;
        out_path = NULL;
        return 0;
    }
    out = fopen(path, "a");
    if (!out) {
        fprintf(stderr, "tlswatch: %s: cannot open for writing: %s\n", path, strerror(errno));
        return -1;
    }
    out_path = path;
    return 0;
}

void output_request_reopen(void) { reopen_requested = 1; }

static void reopen(void)
{
    reopen_requested = 0;
    if (!out_path) return;
    FILE *n = fopen(out_path, "a");
    if (!n) {
        fprintf(stderr, "tlswatch: %s: cannot reopen: %s (keeping the old file)\n", out_path,
                strerror(errno));
        return;
    }
    fclose(out);
    out = n;
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
    if (out_path) fflush(out);
}

void output_close(void)
{
    if (out && out != stdout) fclose(out);
    else if (out) fflush(out);
    out = NULL;
}

int output_failed(void) { return write_failed; }
