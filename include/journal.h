/* journal: the append-only text record next to the results file (PATH.journal), one
 * line per finished or failed task, written by the master: a second record that `status` reads
 * without HDF5 and from which /status can be rebuilt. Plain POSIX I/O; no MPI, no HDF5.
 *
 * Format (one line each, < 256 bytes, written with one write() on an O_APPEND fd so
 * appenders on one node never interleave within a line):
 *   # lazysweep-journal 1 job=<hash>                       (first line)
 *   task=<id> status=<done|failed> attempt=<a> rank=<r> seconds=<s> cause=<c> check=<8 hex>
 * Lines are written with one write() each and fsync'ed at most once a second and at
 * close (see JOURNAL_SYNC_SECONDS in journal.c).
 * `check` is FNV-1a 32 of the text before " check=". Lines that are torn (no newline),
 * garbled (check mismatch) or unknown are skipped and counted; later lines win. On a
 * shared file system without atomic O_APPEND (NFS), let one rank (the master) write. */
#ifndef LS_JOURNAL_H
#define LS_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

enum {
    JOURNAL_OK = 0,
    JOURNAL_ERR = -1,     /* I/O error (errno kept) */
    JOURNAL_EJOB = -2     /* the journal belongs to another job (header hash differs) */
};
#define JOURNAL_LINE_MAX 256

typedef struct Journal Journal;

typedef struct {
    long id;
    int status;      /* STORE_DONE (1) or STORE_FAILED (2) */
    int attempt;     /* 1 for the first run of the task */
    int rank;
    double seconds;
    int cause;       /* CAUSE_* */
} JournalEntry;

/* Opens PATH for appending (creating it with its header when absent or empty, or when
 * `fresh` is set: then an existing journal is truncated first — for a new results
 * file). An existing journal whose header names another job_hash: JOURNAL_EJOB, the file
 * untouched. Any number of processes may hold it open at once. */
int journal_open(const char *path, const char *job_hash, int fresh, Journal **out);
/* Appends one line with one write(); fsync at most once a second (and at close). */
int journal_append(Journal *j, const JournalEntry *e);
void journal_close(Journal *j); /* NULL: no-op */

/* Formats one entry line (with newline) into buf; returns its length or -1. */
int journal_format(const JournalEntry *e, char *buf, size_t len);

/* Reads PATH: for every id < count, the latest entry's status into status[] (0 where
 * none) and its attempt into attempt[] (0 where none; may be NULL). Counts in *good and
 * *bad (may be NULL) the lines used and skipped. Returns JOURNAL_OK, JOURNAL_ERR (no
 * such file or unreadable), or JOURNAL_EJOB when job_hash is given and differs. */
int journal_read_latest(const char *path, const char *job_hash, long count, uint8_t *status,
                        int *attempt, long *good, long *bad);

#endif
