/* recover: the one place that compares the journal with the results file (DESIGN §6) and
 * adds to the file what only the journal knows: result rows that never reached the file
 * (replayed bit for bit), /status markers whose row is there, and tasks that keep killing
 * their rank (dispatched crash_limit times without a result: recorded failed, cause
 * crashed). It only ever adds: a task the file shows DONE is never touched, an empty,
 * truncated, foreign or damaged journal adds nothing. Serial, one process (rank 0 of a
 * run, `repair`, `status`); reads and writes through the store and the journal. */
#ifndef LS_RECOVER_H
#define LS_RECOVER_H

#include <stdint.h>

#include "journal.h"

/* What the file and the journal together say about one task. */
typedef struct {
    int32_t attempts;    /* attempts so far (killed ones included: the journal's dispatches) */
    uint8_t outcome;     /* OUTCOME_* */
    uint8_t suspect;     /* pending and dispatched this many times without a result (it may
                          * kill its rank); 0 otherwise */
    uint8_t journal;     /* the outcome comes from a journal result the file lacks (look) */
    uint8_t cause;       /* that result's cause */
} RecoverTask;

typedef struct {
    int write;           /* 0: only look (status); 1: write what the journal adds */
    int crash_limit;     /* dispatches without a result that make a task `crashed`; 0 = never */
    int compact;         /* rewrite the journal without what it no longer needs (writing only):
                          * 1 when over a quarter of its lines are superseded, 2 always */
} RecoverOptions;

typedef struct {
    long done, failed, pending; /* after recovery (looking: as if it had been written) */
    long replayed;       /* rows written from the journal */
    long marked;         /* markers restored (the row was there) */
    long crashed;        /* recorded failed, cause crashed */
    long rerun;          /* journal results not replayed: the task's curves or weights are
                          * not in the journal, so it runs again */
    long ahead;          /* tasks whose journal result the file lacks (replayed when writing) */
    long suspects;       /* pending tasks dispatched without a result */
    long compacted;      /* bytes of the compacted journal (0: not compacted) */
    int journal_rc;      /* journal_scan's code (JOURNAL_EMISSING: none) */
    JournalStats js;
} RecoverSummary;

/* PATH (already accepted by store_open_readonly with job_hash) and its journal JPATH.
 * plan (may be NULL) receives store_task_count entries. Opens PATH read-only, and
 * read-write only when writing and there is something to add (a file with nothing to add
 * stays byte-identical). Returns 0, or a negative STORE_* / JOURNAL_ERR code (message
 * printed) when the file cannot be read or written. */
int recover_run(const char *path, const char *jpath, const char *job_hash,
                const RecoverOptions *opt, RecoverTask *plan, RecoverSummary *sum);

#endif
