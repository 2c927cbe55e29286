/* outputs: the checks that a command's outputs never clobber its inputs, made before
 * anything is created, so that a refusal leaves the disk as it was. Reads only (stat,
 * a few bytes of an existing file); never creates, writes or removes anything. */
#ifndef LS_OUTPUTS_H
#define LS_OUTPUTS_H

#include <stddef.h>

/* `run JOB -o OUT`: OUT must be a results file to create or resume — not empty, not a
 * directory, not a job file (*.ini, or JOB itself under any name), not a special file,
 * not an existing file that is not HDF5; OUT.lock, OUT.journal and OUT.creating must not
 * be JOB or directories; OUT's directory must exist. Returns 0, or -1 with one line in
 * err (the caller exits 2). Local to the calling rank (rank 0 decides). */
int outputs_check_results(const char *out, const char *job, char *err, size_t errlen);

/* `aggregate FILE --csv CSV`: CSV ('-' = stdout) may be a new file, an empty file, a
 * device or pipe, or a file whose first line starts with `signature` (a CSV aggregate
 * wrote); anything else only with force. Never FILE itself, nor its .journal, .lock or
 * .creating, nor a directory, with or without force. Returns 0, or -1 with one line. */
int outputs_check_csv(const char *csv, const char *results, const char *signature, int force,
                      char *err, size_t errlen);

#endif
