/* --syslog: RFC 5424 messages on the local syslog socket (AF_UNIX,
 * datagram), one per event line. The header is formatted into a small
 * static buffer and sent with the line itself in one sendmsg() (two iovecs),
 * so nothing is allocated or copied per event and the message size is
 * bounded only by the socket (EMSGSIZE beyond: dropped, counted).
 *
 * The severity is read back from the line rather than passed down: the
 * pipeline hands the output layer whole lines (a handshake's findings in one
 * call), and a finding line's "severity":"..." member is unambiguous, since
 * inside a JSON string every '"' is escaped. Text lines (-F text) carry it
 * as their fifth word (CRITICAL, HIGH, ...).
 *
 * A syslog daemon that restarts recreates its socket: a send that finds the
 * peer gone reconnects (at most once a second) and what cannot be delivered
 * meanwhile is dropped and counted, with one line on stderr when delivery
 * stops and one when it resumes. */
#include "output_syslog.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define SYSLOG_SEND_TIMEOUT_S 2 /* blocking mode: a hung daemon costs at most this per message */
#define SYSLOG_HEADER_MAX 400   /* "<191>1 " + 27-byte timestamp + 255-byte host + app + pid */

enum { SEV_CRIT = 2, SEV_ERR = 3, SEV_WARNING = 4, SEV_NOTICE = 5, SEV_INFO = 6 };

static const struct {
    const char *name;
    int code;
} facilities[] = {
    { "user", 1 },    { "daemon", 3 },  { "local0", 16 }, { "local1", 17 }, { "local2", 18 },
    { "local3", 19 }, { "local4", 20 }, { "local5", 21 }, { "local6", 22 }, { "local7", 23 },
};

static struct {
    int fd;
    int facility;
    int nonblock;
    int failing;        /* the last send failed: say so once, and again on recovery */
    int too_big_said;
    time_t last_connect;
    unsigned long long dropped, dropped_since_ok;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char host[256];
    char hdr[SYSLOG_HEADER_MAX];
} sl = { .fd = -1 };

int output_syslog_facility_parse(const char *name)
{
    for (size_t i = 0; i < sizeof facilities / sizeof facilities[0]; i++)
        if (strcmp(name, facilities[i].name) == 0) return facilities[i].code;
    return -1;
}

static time_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return ts.tv_sec;
}

/* A fresh socket connected to sl.path; 0 or -1 (errno set). */
static int connect_socket(void)
{
    if (sl.fd >= 0) close(sl.fd);
    sl.last_connect = mono_now();
    sl.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sl.fd < 0) return -1;
    struct timeval tv = { SYSLOG_SEND_TIMEOUT_S, 0 };
    setsockopt(sl.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, sl.path, strlen(sl.path) + 1);
    if (connect(sl.fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(sl.fd);
        sl.fd = -1;
        errno = e;
        return -1;
    }
    return 0;
}

/* RFC 5424 HOSTNAME: printable US-ASCII, no space, at most 255; "-" if none. */
static void set_hostname(void)
{
    char h[256] = "";
    if (gethostname(h, sizeof h - 1) != 0) h[0] = '\0';
    size_t n = 0;
    for (size_t i = 0; h[i] && n < sizeof sl.host - 1; i++)
        if (h[i] > 32 && h[i] < 127) sl.host[n++] = h[i];
    if (n == 0) sl.host[n++] = '-';
    sl.host[n] = '\0';
}

int output_syslog_open(const char *path, int facility, int nonblock)
{
    if (!path) path = OUTPUT_SYSLOG_DEFAULT_SOCKET;
    if (strlen(path) >= sizeof sl.path) {
        fprintf(stderr, "tlswatch: --syslog-socket %s: path too long for a socket\n", path);
        return -1;
    }
    memcpy(sl.path, path, strlen(path) + 1);
    sl.facility = facility;
    sl.nonblock = nonblock;
    if (connect_socket() != 0) {
        fprintf(stderr, "tlswatch: --syslog: %s: cannot connect: %s (no syslog daemon listening there?)\n",
                sl.path, strerror(errno));
        return -1;
    }
    set_hostname();
    return 0;
}

static int severity_of_word(const char *w, size_t n)
{
    static const struct {
        const char *name;
        int sev;
    } map[] = {
        { "critical", SEV_CRIT }, { "high", SEV_ERR }, { "medium", SEV_WARNING }, { "low", SEV_NOTICE },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strlen(map[i].name) == n && strncasecmp(w, map[i].name, n) == 0) return map[i].sev;
    return SEV_INFO;
}

/* A finding's severity mapped to syslog's; info for every other event. */
static int line_severity(const char *s, size_t n)
{
    if (n && s[0] == '{') {
        static const char ev[] = "\"event_type\":\"finding\"", key[] = "\"severity\":\"";
        if (!memmem(s, n, ev, sizeof ev - 1)) return SEV_INFO;
        const char *k = memmem(s, n, key, sizeof key - 1);
        if (!k) return SEV_INFO;
        const char *v = k + sizeof key - 1, *e = memchr(v, '"', n - (size_t)(v - s));
        return e ? severity_of_word(v, (size_t)(e - v)) : SEV_INFO;
    }
    /* text: TIMESTAMP CLIENT -> SERVER WORD ... */
    const char *p = s, *end = s + n;
    for (int field = 0; field < 4 && p < end; field++) {
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        if (!sp) return SEV_INFO;
        p = sp + 1;
    }
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    return severity_of_word(p, (size_t)((sp ? sp : end) - p));
}

static size_t format_header(int sev)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(sl.hdr, sizeof sl.hdr, "<%d>1 %04d-%02d-%02dT%02d:%02d:%02d.%06ldZ %s tlswatch %ld - - ",
                     sl.facility * 8 + sev, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000, sl.host, (long)getpid());
    return n < 0 ? 0 : (size_t)n >= sizeof sl.hdr ? sizeof sl.hdr - 1 : (size_t)n;
}

static void dropped(int err, size_t len)
{
    sl.dropped++;
    sl.dropped_since_ok++;
    if (err == EMSGSIZE) {
        if (!sl.too_big_said)
            fprintf(stderr, "tlswatch: syslog: %s: a %zu-byte message is too large for the socket; dropped "
                    "(further ones are counted)\n", sl.path, len);
        sl.too_big_said = 1;
        return;
    }
    if (!sl.failing)
        fprintf(stderr, "tlswatch: syslog: %s: %s; events are dropped until it works again\n", sl.path,
                err == EAGAIN ? "the receiver is not keeping up" : strerror(err));
    sl.failing = 1;
}

static void send_one(const char *line, size_t len)
{
    struct iovec iov[2];
    iov[0].iov_base = sl.hdr;
    iov[0].iov_len = format_header(line_severity(line, len));
    iov[1].iov_base = (void *)(uintptr_t)line;
    iov[1].iov_len = len;
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = iov;
    mh.msg_iovlen = 2;
    int flags = MSG_NOSIGNAL | (sl.nonblock ? MSG_DONTWAIT : 0);
    int retried = 0;
    for (;;) {
        if (sl.fd >= 0 && sendmsg(sl.fd, &mh, flags) >= 0) break;
        int err = sl.fd >= 0 ? errno : ECONNREFUSED;
        if (err == EINTR) continue;
        /* the daemon went away (restart): its socket is a new one */
        int gone = err == ECONNREFUSED || err == ENOTCONN || err == ECONNRESET || err == ENOENT;
        if (gone && !retried && mono_now() != sl.last_connect) {
            retried = 1;
            if (connect_socket() == 0) continue;
            err = errno;
        }
        dropped(err, iov[0].iov_len + len);
        return;
    }
    if (sl.failing) {
        fprintf(stderr, "tlswatch: syslog: %s: delivering again (%llu event(s) dropped)\n", sl.path,
                sl.dropped_since_ok);
        sl.failing = 0;
    }
    sl.dropped_since_ok = 0;
}

void output_syslog_lines(const char *buf, size_t len)
{
    if (!sl.path[0]) return;
    while (len > 0) {
        const char *nl = memchr(buf, '\n', len);
        size_t n = nl ? (size_t)(nl - buf) : len;
        if (n > 0) send_one(buf, n);
        if (!nl) break;
        len -= n + 1;
        buf = nl + 1;
    }
}

void output_syslog_close(void)
{
    if (!sl.path[0]) return;
    if (sl.dropped)
        fprintf(stderr, "tlswatch: syslog: %s: %llu event(s) not delivered\n", sl.path, sl.dropped);
    if (sl.fd >= 0) close(sl.fd);
    sl.fd = -1;
    sl.path[0] = '\0';
}
