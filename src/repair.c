/* repair: see include/repair.h. A journal entry counts only where the /results row of
 * the same attempt reached the file (store_rebuild_status), so a row lost in a crash is
 * rerun rather than taken as done. */
#include "repair.h"

#include <stdio.h>

#include "lock.h"
#include "log.h"
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
    long changed = store_rebuild_status(args->file, journal);
    lock_release(&lock);
    if (changed == STORE_EMISSING || changed == STORE_EFOREIGN) {
        log_error("%s: %s", args->file, changed == STORE_EMISSING ? "no such results file"
                                                                 : "not a lazysweep results file");
        return LS_EXIT_USAGE;
    }
    if (changed < 0) {
        log_error("%s: cannot rebuild /status from %s", args->file, journal);
        return LS_EXIT_INTERNAL;
    }
    printf("%s: /status rebuilt from %s: %ld tasks changed\n", args->file, journal, changed);
    return LS_EXIT_OK;
}
