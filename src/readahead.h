/* Read-ahead of a capture file on a second thread.
 *
 * Reading a capture from the page cache is the kernel copying it into our
 * buffer: 40% of tlswatch's time on a 446 MB capture of real connections,
 * time in which the analysis waits. With a reader thread the copy of the
 * next stretch of the file overlaps the analysis of this one, on a second
 * core. The thread does nothing but pread() into a few fixed segments taken
 * in turn (no allocation, no signal: all are blocked in it), so the
 * analysis stays single-threaded and owns everything else.
 *
 * The caller takes the segments in file order and gives each back when it
 * no longer reads it; the thread refills a segment once it is given back.
 * A segment shorter than the segment size is the file's end (or an error),
 * after which nothing more is read. */
#ifndef TLSWATCH_READAHEAD_H
#define TLSWATCH_READAHEAD_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct readahead;

/* Non-zero when a file of this many bytes is worth a reader thread here:
 * at least min_bytes, and at least two CPUs this process may run on. */
int readahead_worth(uint64_t bytes, uint64_t min_bytes);

/* Starts reading fd (borrowed) from offset off into seg[0..nseg) (2 to
 * READAHEAD_SEGS of them, each seg_bytes, the caller's memory) in turn.
 * NULL when no thread could be started (the caller reads the file
 * itself). */
#define READAHEAD_SEGS 4
struct readahead *readahead_start(int fd, off_t off, uint8_t *const seg[], int nseg, size_t seg_bytes);

/* The next segment in file order, waiting for it: its length (seg_bytes,
 * less at the end of the file), *data set to it; 0 past the end; -1 on a
 * read error (errno set). At most nseg segments are held: give the oldest
 * back (readahead_release) before taking another. */
ssize_t readahead_take(struct readahead *ra, uint8_t **data);

/* Gives back the oldest segment taken and not given back yet (none: no-op). */
void readahead_release(struct readahead *ra);

/* Stops the thread, waits for it, frees its state. NULL is a no-op. */
void readahead_stop(struct readahead *ra);

#endif
