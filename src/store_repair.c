/* store_repair: rebuilding /status from the journal (serial, read-write, offline). */
#include "store_impl.h"

#include <stdlib.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"

long store_rebuild_status(const char *path, const char *journal_path)
{
    Store *st = NULL;
    if (access(path, F_OK) != 0)
        return STORE_EMISSING;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_file_locking(fapl, 0, 1);
    long rc = store_open_checked(path, fapl, H5F_ACC_RDWR, NULL, H5P_DEFAULT, 0, &st);
    H5Pclose(fapl);
    if (rc != STORE_OK)
        return rc;
    long T = st->count, changed = 0;
    char *hash = store_read_attr(st, "job_hash");
    uint8_t *old = malloc((size_t)(T ? T : 1)), *want = malloc((size_t)(T ? T : 1));
    int *jatt = malloc((size_t)(T ? T : 1) * sizeof *jatt);
    int *ratt = malloc((size_t)(T ? T : 1) * sizeof *ratt);
    rc = STORE_ERR;
    if (!hash || !old || !want || !jatt || !ratt)
        goto done;
    if (journal_read_latest(journal_path, hash, T, want, jatt, NULL, NULL) != JOURNAL_OK) {
        log_error("store: cannot use journal %s (missing, unreadable or from another job)",
                  journal_path);
        goto done;
    }
    if (store_read_status(st, old) < 0 || store_read_attempts(st, ratt) < 0)
        goto done;
    for (long i = 0; i < T; i++) {
        /* Trust the journal only where the row it describes reached the file. */
        if (want[i] != STORE_PENDING && ratt[i] != jatt[i])
            want[i] = STORE_PENDING;
        changed += want[i] != old[i];
    }
    if (T && store_io_rows(st->status, H5P_DEFAULT, H5T_NATIVE_UINT8, 0, T, 1, want, 1) < 0)
        goto done;
    rc = changed;
done:
    free(hash);
    free(old);
    free(want);
    free(jatt);
    free(ratt);
    if (store_close(st) < 0 && rc >= 0)
        rc = STORE_ERR;
    return rc;
}
