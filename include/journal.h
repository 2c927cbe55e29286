/* journal: the write-ahead log next to the results file (PATH.journal, DESIGN §6), written
 * by the master alone: every finished or failed task's whole /results row (as the worker
 * reported it) and every dispatch, so that after any crash a finished task is replayed into
 * the HDF5 file instead of being lost or rerun, and a task that keeps killing its rank is
 * recognised. Plain POSIX I/O; no MPI, no HDF5.
 *
 * Format: text, one record per line, each ending with " check=<8 hex>", the FNV-1a 32 of
 * the text before it (a torn, garbled or unknown line is skipped and counted; later lines
 * win):
 *   # lazysweep-journal 2 job=<hash>                                       (first line)
 *   R <id> <done|failed> a=<attempt> r=<rank> s=<seconds> c=<cause> row=<base64> check=...
 *   D r=<rank> <id>/<attempt> <id>-<id>/<attempt> ... check=...       dispatched to rank
 *   S r=<rank> <id>/<attempt> ... check=...      stopped by a signal after it started
 *   X r=<rank> <id>/<attempt> ... check=...      handed back unstarted (attempt not used)
 * `row` is every TaskResult field, little-endian, in the order of journal.c's row_fields,
 * base64 without padding: bit for bit what the worker wrote (a shorter row from an older
 * version leaves the later fields at the /results fill). Version-1 lines
 * (`task=<id> status=... attempt=... rank=... seconds=... cause=... check=...`, no row) are
 * still read. Appends are buffered and written with one write() per journal_sync, which
 * also fsyncs: the master syncs before every order it sends, so a result is durable before
 * the next dispatch to that worker. */
#ifndef LS_JOURNAL_H
#define LS_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "task.h"

enum {
    JOURNAL_OK = 0,
    JOURNAL_ERR = -1,      /* I/O error (errno kept) */
    JOURNAL_EJOB = -2,     /* the journal belongs to another job (header hash differs) */
    JOURNAL_EMISSING = -3, /* no such file */
    JOURNAL_EFOREIGN = -4  /* not a journal: the first line is no journal header */
};

typedef struct Journal Journal;

/* One result record. */
typedef struct {
    long id;
    int status;      /* 1 done, 2 failed (the /status values) */
    int attempt;     /* 1 for the first run of the task */
    int rank;
    int cause;       /* CAUSE_* */
    double seconds;
    int has_row;     /* 0: a version-1 line (no row) */
    TaskResult row;  /* valid when has_row */
} JournalEntry;

/* What a journal says about one task, from journal_scan. */
typedef struct {
    int64_t offset;      /* byte offset of the latest result line; -1 = none */
    int32_t attempt;     /* attempt of the latest result (0 = none) */
    int32_t max_attempt; /* highest attempt started in any record */
    uint8_t status;      /* latest result: 0 none, 1 done, 2 failed */
    uint8_t cause;       /* its cause */
    uint8_t has_row;     /* the latest result carries its row */
    uint8_t unresolved;  /* dispatches after the latest result that never came back
                          * (killed with their rank); saturates at 255 */
} JournalTask;

typedef struct {
    long lines;      /* records used */
    long bad;        /* lines skipped: torn, garbled, unknown, id out of range */
    long results;    /* result records */
    long bytes;      /* file size */
    int version;     /* header version (0: empty file) */
} JournalStats;

/* Opens PATH for appending, creating it with its header when absent or empty. A file
 * that is not a journal of job_hash (another job's, garbage, unreadable first line) is
 * renamed to PATH.N (the first free N >= 1) and a new one started: *moved_to (may be
 * NULL, size >= len) receives the new name, "" when nothing was moved. JOURNAL_ERR when
 * the journal cannot be created or written (errno kept). */
int journal_open(const char *path, const char *job_hash, Journal **out, char *moved_to,
                 size_t len);
/* Moves PATH aside to PATH.N as journal_open does; 0, or -1 (errno). */
int journal_move_aside(const char *path, char *moved_to, size_t len);
/* Queue records (buffered until journal_sync). Return JOURNAL_OK, or JOURNAL_ERR once
 * the journal has failed (it then stays failed). */
int journal_append_result(Journal *j, const JournalEntry *e);
/* kind 'D' (dispatched), 'S' (stopped after starting) or 'X' (handed back unstarted):
 * k tasks ids[] with their attempts[], on `rank`. */
int journal_append_ids(Journal *j, char kind, int rank, const long *ids, const int *attempts,
                       int k);
/* Writes what is queued with one write() and fsyncs. JOURNAL_OK or JOURNAL_ERR. */
int journal_sync(Journal *j);
/* Syncs and closes; returns the sync's result. NULL: JOURNAL_OK. */
int journal_close(Journal *j);

/* 1 when two rows are the same bit for bit (every journaled field). */
int journal_row_same(const TaskResult *a, const TaskResult *b);
/* Formats one result line (with newline) into buf; returns its length or -1. */
int journal_format(const JournalEntry *e, char *buf, size_t len);
/* Parses one line (without newline): 1 for a valid result record (into *e), 0 otherwise. */
int journal_parse_result(const char *line, JournalEntry *e);

/* Reads PATH: per task id < count what the journal says (tasks[count]); st may be NULL.
 * job_hash NULL = do not check. Returns JOURNAL_OK, JOURNAL_EMISSING, JOURNAL_ERR,
 * JOURNAL_EJOB or JOURNAL_EFOREIGN (then tasks[] says nothing). An empty file is OK. */
int journal_scan(const char *path, const char *job_hash, long count, JournalTask *tasks,
                 JournalStats *st);
/* Calls fn for every result record whose offset is in want (the latest per task,
 * journal_scan's offsets) in file order. Returns JOURNAL_OK, or JOURNAL_ERR (or fn's
 * negative return, which stops the walk). */
int journal_each_latest(const char *path, long count, const JournalTask *tasks,
                        int (*fn)(void *ctx, const JournalEntry *e), void *ctx);
/* Rewrites PATH with only what `tasks` (journal_scan of PATH) needs: the latest result
 * line of each task, and dispatch records that keep unresolved counts and attempts.
 * Written to PATH.compact, fsynced, renamed over PATH. JOURNAL_OK, or JOURNAL_ERR with
 * PATH unchanged. */
int journal_compact(const char *path, const char *job_hash, long count,
                    const JournalTask *tasks);

#endif
