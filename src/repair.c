/* repair: see include/repair.h. Everything is decided by recover: a journal result is
 * written only where the file lacks it, a marker only where the file's row is the
 * journal's bit for bit, and nothing the file shows DONE is ever touched. */
#include "repair.h"

#include <stdio.h>
#include <stdlib.h>

#include "lock.h"
#include "log.h"
#include "recover.h"
#include "store.h"

int repair_main(const CliArgs *args)
{
    char msg[1024], journal[4200];
    Lock lock;
    int lk = lock_acquire(args->file, "lazysweep repair", &lock, msg, sizeof msg);
    if (lk == LOCK_HELD || lk == LOCK_ERR) {
        log_error("%s", msg);
        return LS_EXIT_USAGE;
    }
    if (lk == LOCK_TAKEN_OVER)
        log_warn("%s", msg);
    snprintf(journal, sizeof journal, "%s.journal", args->file);
    int status = LS_EXIT_OK;
    Store *st = NULL;
    char *hash = NULL;
    int rc = store_open_readonly(args->file, NULL, &st); /* refused: untouched */
    if (rc == STORE_OK)
        hash = store_read_attr(st, "job_hash");
    store_close(st);
    if (rc != STORE_OK || !hash) {
        log_error("%s: %s", args->file, store_error());
        status = rc == STORE_ERR ? LS_EXIT_INTERNAL : LS_EXIT_USAGE;
        goto done;
    }
    RecoverOptions ro = {.write = 1, .crash_limit = 0, .compact = 2};
    RecoverSummary rs;
    if (recover_run(args->file, journal, hash, &ro, NULL, &rs) != 0) {
        log_error("%s: cannot write what %s adds", args->file, journal);
        status = LS_EXIT_INTERNAL;
        goto done;
    }
    if (rs.journal_rc != JOURNAL_OK) {
        log_error("%s: %s; nothing changed", journal,
                  rs.journal_rc == JOURNAL_EMISSING ? "no journal to repair from"
                  : rs.journal_rc == JOURNAL_EJOB ? "the journal of another job"
                  : rs.journal_rc == JOURNAL_EFOREIGN ? "not a journal" : "cannot read the journal");
        status = rs.journal_rc == JOURNAL_ERR ? LS_EXIT_INTERNAL : LS_EXIT_USAGE;
        goto done;
    }
    printf("%s: %ld tasks changed from %s (%ld rows replayed, %ld markers restored); "
           "%ld done, %ld failed, %ld pending%s%s\n", args->file, rs.replayed + rs.marked, journal,
           rs.replayed, rs.marked, rs.done, rs.failed, rs.pending,
           rs.rerun ? "; some journaled results run again (curves/weights are not journaled)" : "",
           rs.js.bad ? "; damaged journal lines skipped" : "");
done:
    free(hash);
    lock_release(&lock);
    return status;
}
