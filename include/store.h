/* store: the results file (parallel HDF5, DESIGN §6) — its layout, creation, resume,
 * row writes and the serial read-only side for login nodes. The only module that calls
 * HDF5. Makes no MPI calls of its own (mpi.h only for the MPI_Comm type): where ranks
 * must agree, the caller passes the agreed value in or reduces what is returned.
 *
 * Collective = every rank of `comm` calls it, in the same order, with the arguments
 * marked "global" equal on all ranks. Independent = any rank, any time between open and
 * close. Everything returns STORE_OK (0) or a negative STORE_E* code; nothing exits. */
#ifndef LS_STORE_H
#define LS_STORE_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "grid.h"
#include "job.h"
#include "task.h"

/* Return codes. */
enum {
    STORE_OK = 0,
    STORE_ERR = -1,      /* I/O or HDF5 failure (message already printed) */
    STORE_EMISSING = -2, /* no file under that name */
    STORE_EFOREIGN = -3, /* exists but is not a lazysweep results file (untouched) */
    STORE_EJOB = -4,     /* a lazysweep file made from another job (hash differs; untouched) */
    STORE_EFULL = -5,    /* /runs has no free record left */
    STORE_EOLD = -7,     /* a results file of an earlier format: readable, never resumed */
    STORE_EBAD = -6      /* a results file whose structure is damaged or hand-edited, or does
                          * not match the job (store_error says what; untouched) */
};
/* /status values. 0 is the fill value: never written = pending. */
enum { STORE_PENDING = 0, STORE_DONE = 1, STORE_FAILED = 2 };

#define STORE_FORMAT "lazysweep-results"
/* 2: the sampling transform (vectorised, SLEEF), nt's ridgeless solution (minimum
 * parameter norm) and auto NN at N >= d (solved exactly) changed the numbers a task
 * gives. Files of format 1 are read (status, aggregate, analysis, repair) but never
 * resumed: their rows would mix with rows of another release. */
#define STORE_FORMAT_VERSION 2
#define STORE_FORMAT_OLDEST 1     /* the oldest format the readers accept */
#define STORE_RUNS_CAPACITY 512   /* run records per file (/runs rows) */
#define STORE_JOB_TEXT_MAX 60000  /* job text bytes (kept in one compact attribute) */

typedef struct Store Store;

/* Provenance strings the store cannot find out itself (NULL = "unknown"). */
typedef struct {
    const char *mpi_version;  /* e.g. from MPI_Get_library_version */
    const char *blas_version; /* e.g. from openblas_get_config */
} StoreProvenance;

/* One run attempt (/runs row). Strings are truncated to their field size. */
typedef struct {
    double start;          /* unix seconds; NaN = unused record */
    double end;            /* unix seconds; NaN while running (or if it crashed) */
    int32_t ranks;
    int32_t exit_status;   /* LS_EXIT_*; -1 while running (or if it crashed) */
    int64_t tasks_done;    /* tasks finished (done or failed) during this run */
    int32_t slurm_restart_count; /* -1 when not under SLURM */
    char exit_reason[32];  /* "running", "complete", "signal", "time-limit", ... */
    char hosts[512];       /* host names, space-separated (or SLURM_JOB_NODELIST) */
    char slurm_job_id[32];
    char slurm_array_job_id[32];
    char slurm_array_task_id[16];
    char slurm_cluster[32];
    char command[256];     /* the command line */
} StoreRun;

/* The one-line detail of the last refusal or failure ("/status has 10 entries, expected
 * 288"), for the caller's message. */
const char *store_error(void);

/* ---- creation (one process: rank 0) ------------------------------------------------ */

/* SERIAL, one process (rank 0; the other ranks wait for its verdict, so that no failure
 * can leave a rank inside an HDF5 collective). Builds the complete file under
 * PATH.creating with the serial driver (truncating a leftover of a killed create): every
 * dataset at full size with its fill values, /tasks written, the provenance attributes
 * (decided here, on this one process); then closes it. PATH itself is not touched; on
 * failure PATH.creating is removed and one line is printed (store_error). Then
 * store_commit(path) renames it to PATH, and the run opens it with store_open.
 * A crash at any point leaves either no PATH or a complete one. */
int store_create(const char *path, const JobSpec *job, const char *job_text,
                 const char *job_hash, const Grid *grid, const StoreProvenance *prov);
/* Renames PATH.creating to PATH (atomic on one file system) and fsyncs the directory.
 * STORE_ERR if PATH already exists (nothing renamed; PATH.creating removed). */
int store_commit(const char *path);
/* PATH.creating for PATH into buf; STORE_ERR if it does not fit. */
int store_temp_name(const char *path, char *buf, size_t len);

/* ---- parallel side (the run) ---------------------------------------------------- */

/* INDEPENDENT: STORE_OK when this process sees PATH and may read and write it,
 * STORE_EMISSING when it does not see it, STORE_ERR when it may not write it. Callers
 * agree on the verdict of every rank before store_open. */
int store_visible(const char *path);
/* COLLECTIVE. Opens PATH read-write through MPI-IO (raw transfers independent) and
 * checks what it holds (format, job_hash (global), structure). Rank 0 has checked the
 * file against the job before (store_open_readonly, store_check_grid). Returns this
 * rank's verdict; whenever HDF5 opened the file, *out is a handle — also on a refusal —
 * so that every rank can take part in the collective store_close after the ranks agreed
 * (NULL only where H5Fopen itself failed). */
int store_open(const char *path, MPI_Comm comm, const char *job_hash, Store **out);

/* INDEPENDENT. Writes task `id`'s /results row (res, rank, attempts), its curves and
 * weights if the file has them and `ex` (may be NULL) provides them, and only then its
 * /status byte: STORE_DONE when res->cause == CAUSE_NONE, else STORE_FAILED. A kill in
 * between leaves the task pending. Not durable until the next store_flush. */
int store_put_result(Store *st, long id, const TaskResult *res, int rank, int attempts,
                     const TaskExtras *ex);
/* INDEPENDENT. The two halves of store_put_result: the row (and curves/weights) without
 * the marker, and the marker alone (STORE_DONE, STORE_FAILED or STORE_PENDING). */
int store_put_row(Store *st, long id, const TaskResult *res, int rank, int attempts,
                  const TaskExtras *ex);
int store_mark(Store *st, long id, int status);
/* INDEPENDENT. Target of (d, replicate) when the file stores weights: quadratic
 * B (d x d, row-major) and b0, or mixture frame U (d x mixture_rank, row-major). Any
 * rank may write it; writing the same values twice is harmless. */
int store_put_target(Store *st, int d, int replicate, const double *B, double b0);
int store_put_mixture(Store *st, int d, int replicate, const double *U);

/* INDEPENDENT, meant for rank 0 only. Adds a /runs record (state "running") and
 * remembers its index; store_run_end fills end, exit status and reason. Both are raw
 * writes: durable at the next collective store_flush/store_close. */
int store_run_begin(Store *st, const StoreRun *run);
int store_run_end(Store *st, int exit_status, const char *exit_reason, long tasks_done);
/* Fills the SLURM_* fields, start time (now), command (argv) of `run`; rest zero. */
void store_run_from_env(StoreRun *run, int argc, char **argv);

/* COLLECTIVE. H5Fflush (which calls MPI_File_sync): every row written so far survives
 * a node crash. Call it only when every rank has arrived (sched_enter): HDF5 waits
 * inside with a spinning core. */
int store_flush(Store *st);
/* Flushes (if writable) and closes; NULL is a no-op. COLLECTIVE for a handle from
 * store_open (every rank, after they agreed; see store_open); serial for one from
 * store_open_readonly / store_open_writable. */
int store_close(Store *st);

/* ---- both sides: reads (INDEPENDENT in a run) -------------------------------------- */

long store_task_count(const Store *st);
int store_curve_points(const Store *st);
int store_save_weights(const Store *st);
/* status[store_task_count] of uint8 STORE_* values. */
int store_read_status(const Store *st, uint8_t *status);
/* Tasks first .. first+count-1: status bytes, rows (fill where never written), and rank,
 * attempts (may be NULL). The bounded way to walk a large file. */
int store_read_state(const Store *st, long first, long count, uint8_t *status, TaskResult *res,
                     int *rank, int *attempts);
/* /tasks rows first .. first+count-1 (target as in store_read_tasks, may be NULL). */
int store_read_tasks_range(const Store *st, long first, long count, Task *tasks, int *target);
/* attempts[store_task_count]: the attempts field of each row (0 = never written). */
int store_read_attempts(const Store *st, int *attempts);
/* tasks[store_task_count]; target (may be NULL): per task TARGET_* or -1 (none). */
int store_read_tasks(const Store *st, Task *tasks, int *target);
/* Rows first .. first+count-1; rank/attempts may be NULL. Pending rows read as fill. */
int store_read_results(const Store *st, long first, long count, TaskResult *res,
                       int *rank, int *attempts);
/* Curves of one task: train/test arrays of store_curve_points values, steps may be NULL. */
int store_read_curve(const Store *st, long id, double *train, double *test, long *steps);
/* A root string attribute (job_text, job_hash, program_version, compiler, cflags,
 * hdf5_version, mpi_version, blas_version, created, format). Returns a malloc'd string
 * (caller frees) or NULL. */
char *store_read_attr(const Store *st, const char *name);
/* STORE_OK when the file is of this release's format (only such a file may be resumed),
 * STORE_EOLD (store_error says which) for an earlier one, STORE_ERR. Independent. */
int store_check_current(const Store *st);
/* Up to `cap` used /runs records in order; returns how many, or STORE_ERR. */
int store_read_runs(const Store *st, StoreRun *runs, int cap);

/* ---- serial side (login node, no MPI_Init needed) --------------------------------- */

/* Opens read-only with HDF5 file locking off (H5Pset_file_locking, as
 * HDF5_USE_FILE_LOCKING=FALSE): works on a file a job is writing and sees its last
 * flushed state. Checks format, job_hash (NULL = any job) and structure: attributes in
 * range, every dataset present with the length task_count and the right type.
 * STORE_EMISSING, STORE_EFOREIGN (not HDF5, empty, not ours), STORE_EJOB, STORE_EBAD
 * (store_error says what); the file is never modified. */
int store_open_readonly(const char *path, const char *job_hash, Store **out);
/* The same checks read-only first; only an accepted file is reopened read-write (a
 * refused file stays byte-identical). Not while a job writes the file (hold the lock). */
int store_open_writable(const char *path, const char *job_hash, Store **out);
/* SERIAL. /tasks and the file's layout against the job's grid (task count, curve_points,
 * save_weights, every row): STORE_OK or STORE_EBAD (store_error names the first
 * difference). */
int store_check_grid(const Store *st, const JobSpec *job, const Grid *grid);

#endif
