/* store: the parallel side of the results file — create, commit, open for the run,
 * independent row writes with the status byte last, run records, flush, close. */
#include "store_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "log.h"

int store_temp_name(const char *path, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s.creating", path);
    return n < 0 || (size_t)n >= len ? STORE_ERR : STORE_OK;
}

static hid_t mpio_fapl(MPI_Comm comm)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0 && H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL) < 0) {
        H5Pclose(fapl);
        return H5I_INVALID_HID;
    }
    return fapl;
}

int store_create(const char *path, const JobSpec *job, const char *job_text,
                 const char *job_hash, const Grid *grid, const StoreProvenance *prov)
{
    char tmp[4096];
    int rc = STORE_ERR;
    hid_t file = H5I_INVALID_HID, fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5E_auto2_t f;
    void *fd;
    store_quiet(&f, &fd);
    store_reset_error();
    if (store_temp_name(path, tmp, sizeof tmp) < 0 || fapl < 0
        || H5Pset_file_locking(fapl, 0, 1) < 0) {
        store_set_error("%s: path too long", path);
        goto done;
    }
    /* One process, the serial driver: a failure here (disk full, quota) leaves no other
     * rank inside an HDF5 collective. TRUNC: a leftover of a killed create is overwritten. */
    errno = 0;
    file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (file < 0) {
        store_set_error("cannot create %s: %s", tmp, errno ? strerror(errno) : "HDF5 error");
        goto done;
    }
    rc = store_layout_create(file, job, job_text, job_hash, grid, prov);
    errno = 0;
    if (H5Fclose(file) < 0 && rc == STORE_OK) {
        store_set_error("cannot write %s: %s", tmp, errno ? strerror(errno) : "HDF5 error");
        rc = STORE_ERR;
    }
    file = H5I_INVALID_HID;
done:
    if (file >= 0)
        H5Fclose(file);
    if (rc != STORE_OK) {
        unlink(tmp); /* nothing half-made stays behind */
        log_error("%s", store_error());
    }
    store_loud(f, fd);
    if (fapl >= 0)
        H5Pclose(fapl);
    return rc;
}

/* fsync the directory holding path, so the rename survives a node crash. */
static void sync_dir(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    int fd = open(dirname(buf), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int store_commit(const char *path)
{
    char tmp[4096];
    if (store_temp_name(path, tmp, sizeof tmp) < 0)
        return STORE_ERR;
    if (access(path, F_OK) == 0) {
        log_error("store: %s appeared while it was being created; not replacing it", path);
        unlink(tmp);
        return STORE_ERR;
    }
    if (rename(tmp, path) != 0) {
        log_error("store: cannot rename %s to %s: %s", tmp, path, strerror(errno));
        return STORE_ERR;
    }
    sync_dir(path);
    return STORE_OK;
}

int store_visible(const char *path)
{
    if (fault_hit("visible"))
        return STORE_EMISSING;
    if (access(path, F_OK) != 0)
        return STORE_EMISSING;
    return access(path, R_OK | W_OK) == 0 ? STORE_OK : STORE_ERR;
}

int store_open(const char *path, MPI_Comm comm, const char *job_hash, Store **out)
{
    *out = NULL;
    hid_t fapl = mpio_fapl(comm);
    if (fapl < 0)
        return STORE_ERR;
    hid_t dxpl = store_dxpl(1);
    H5E_auto2_t f;
    void *fd;
    store_quiet(&f, &fd);
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, fapl);
    store_loud(f, fd);
    H5Pclose(fapl);
    if (file < 0) {
        H5Pclose(dxpl);
        store_set_error("%s: cannot open for writing", path);
        return STORE_ERR;
    }
    Store *st = calloc(1, sizeof *st);
    if (!st) {
        H5Fclose(file);
        H5Pclose(dxpl);
        return STORE_ERR;
    }
    /* The file passed rank 0's checks before; these are cheap reads of what it holds. A
     * refusal still returns the handle: every rank holds one, and closes it collectively. */
    int rc = store_check_file(file, job_hash);
    if (rc == STORE_OK)
        rc = store_attach(st, file, dxpl, 1);
    else
        store_attach_none(st, file, dxpl);
    if (rc == STORE_OK && fault_hit("open")) {
        store_set_error("%s: cannot open for writing: %s (injected)", path, strerror(errno));
        rc = STORE_ERR;
    }
    *out = st;
    return rc;
}

/* ---- row writes (independent) ----------------------------------------------------- */

static int put_curves(Store *st, long id, const TaskExtras *ex)
{
    int P = st->curve_points, rc = STORE_ERR;
    if (P <= 0 || !ex || !ex->curve_train || !ex->curve_test)
        return STORE_OK;
    StoreCurvePoint *pts = malloc((size_t)P * sizeof *pts);
    int64_t *steps = malloc((size_t)P * sizeof *steps);
    hid_t mt = store_type_curve();
    if (!pts || !steps)
        goto done;
    for (int k = 0; k < P; k++)
        pts[k] = (StoreCurvePoint){ex->curve_train[k], ex->curve_test[k]};
    if (store_io_rows(st->curves, st->dxpl, mt, id, 1, P, pts, 1) < 0)
        goto done;
    if (ex->curve_steps) { /* the same values from every task: idempotent */
        for (int k = 0; k < P; k++)
            steps[k] = ex->curve_steps[k];
        if (store_io_rows(st->curves_steps, st->dxpl, H5T_NATIVE_INT64, 0, P, 1, steps, 1) < 0)
            goto done;
    }
    rc = STORE_OK;
done:
    H5Tclose(mt);
    free(pts);
    free(steps);
    return rc;
}

/* Writes all of dataset `name` under loc from buf (independent open/write/close). */
static int write_whole(hid_t loc, const char *name, hid_t dxpl, const double *buf)
{
    if (!buf)
        return STORE_OK;
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    int rc = d >= 0 && H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, dxpl, buf) >= 0
                 ? STORE_OK : STORE_ERR;
    if (d >= 0)
        H5Dclose(d);
    return rc;
}

static int put_weights(Store *st, long id, const TaskExtras *ex)
{
    if (!st->save_weights || !ex)
        return STORE_OK;
    char name[64];
    snprintf(name, sizeof name, "/weights/task_%ld", id);
    hid_t g = H5Gopen2(st->file, name, H5P_DEFAULT);
    if (g < 0)
        return STORE_ERR;
    /* W0, a0 exist where the task has a width, W1 for onestep tasks (store_layout.c) */
    int wide = H5Lexists(g, "W0", H5P_DEFAULT) > 0, moved = H5Lexists(g, "W1", H5P_DEFAULT) > 0;
    int rc = (wide ? write_whole(g, "W0", st->dxpl, ex->W0) | write_whole(g, "a0", st->dxpl, ex->a0)
                   : STORE_OK) |
             (moved ? write_whole(g, "W1", st->dxpl, ex->W1) : STORE_OK) |
             write_whole(g, "M", st->dxpl, ex->M) | write_whole(g, "c", st->dxpl, ex->c);
    H5Gclose(g);
    return rc ? STORE_ERR : STORE_OK;
}

int store_put_row(Store *st, long id, const TaskResult *res, int rank, int attempts,
                  const TaskExtras *ex)
{
    if (id < 0 || id >= st->count)
        return STORE_ERR;
    if (fault_hit("row")) {
        log_error("store: cannot write the result row of task %ld: %s (injected)", id,
                  strerror(errno));
        return STORE_ERR;
    }
    StoreRow row = {.risk_train = res->risk_train, .risk_test = res->risk_test,
                    .risk_pop = res->risk_pop, .r0 = res->r0, .error_test = res->error_test,
                    .bayes_error = res->bayes_error, .theory = res->theory,
                    .iterations = res->iterations, .residual = res->residual,
                    .flops = res->flops, .seconds = res->seconds, .rank = rank,
                    .attempts = attempts, .cause = res->cause, .stop = res->stop,
                    .restarts = res->restarts, .error_floor = res->error_floor,
                    .t_final = res->t_final, .theta_dist = res->theta_dist, .dead = res->dead,
                    .risk_nt = res->risk_nt, .risk_ey = res->risk_ey, .ebar = res->ebar,
                    .step_norm = res->step_norm, .risk_rf0 = res->risk_rf0};
    hid_t mt = store_type_row();
    int rc = store_io_rows(st->results, st->dxpl, mt, id, 1, 1, &row, 1);
    H5Tclose(mt);
    if (rc == STORE_OK)
        rc = put_curves(st, id, ex);
    if (rc == STORE_OK)
        rc = put_weights(st, id, ex);
    if (rc != STORE_OK)
        log_error("store: cannot write the result row of task %ld", id);
    return rc;
}

int store_mark(Store *st, long id, int status)
{
    uint8_t s = (uint8_t)status;
    if (id < 0 || id >= st->count || status < STORE_PENDING || status > STORE_FAILED)
        return STORE_ERR;
    if (store_io_rows(st->status, st->dxpl, H5T_NATIVE_UINT8, id, 1, 1, &s, 1) < 0) {
        log_error("store: cannot write the status of task %ld", id);
        return STORE_ERR;
    }
    return STORE_OK;
}

int store_put_result(Store *st, long id, const TaskResult *res, int rank, int attempts,
                     const TaskExtras *ex)
{
    if (store_put_row(st, id, res, rank, attempts, ex) < 0)
        return STORE_ERR;
    /* The commit marker, last: a kill before it leaves the task pending. */
    return store_mark(st, id, res->cause == CAUSE_NONE ? STORE_DONE : STORE_FAILED);
}

/* Writes replicate `rep` of /targets/d<d>/<name> ([R, ...] doubles) from buf. */
static int put_target_slice(Store *st, int d, int rep, const char *name, const double *buf)
{
    char path[64];
    snprintf(path, sizeof path, "/targets/d%d/%s", d, name);
    if (!st->save_weights || !buf)
        return STORE_ERR;
    int rc = STORE_ERR;
    hid_t ds = H5Dopen2(st->file, path, H5P_DEFAULT);
    hid_t fs = ds >= 0 ? H5Dget_space(ds) : -1;
    hsize_t dims[3] = {0, 1, 1};
    int nd = fs >= 0 ? H5Sget_simple_extent_dims(fs, dims, NULL) : -1;
    if (nd < 1 || rep < 0 || (hsize_t)rep >= dims[0])
        goto done;
    hsize_t start[3] = {(hsize_t)rep, 0, 0}, cnt[3] = {1, dims[1], dims[2]};
    hid_t ms = H5Screate_simple(nd, cnt, NULL);
    if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL) >= 0
        && H5Dwrite(ds, H5T_NATIVE_DOUBLE, ms, fs, st->dxpl, buf) >= 0)
        rc = STORE_OK;
    H5Sclose(ms);
done:
    if (fs >= 0)
        H5Sclose(fs);
    if (ds >= 0)
        H5Dclose(ds);
    return rc;
}

int store_put_target(Store *st, int d, int replicate, const double *B, double b0)
{
    if (put_target_slice(st, d, replicate, "B", B) < 0
        || put_target_slice(st, d, replicate, "b0", &b0) < 0)
        return STORE_ERR;
    return STORE_OK;
}

int store_put_mixture(Store *st, int d, int replicate, const double *U)
{
    return put_target_slice(st, d, replicate, "U", U);
}

/* ---- run records -------------------------------------------------------------------- */

static int run_io(Store *st, int slot, StoreRun *run, int write)
{
    hid_t mt = store_type_run();
    int rc = store_io_rows(st->runs, st->dxpl, mt, slot, 1, 1, run, write);
    H5Tclose(mt);
    return rc;
}

int store_run_begin(Store *st, const StoreRun *run)
{
    StoreRun *all = malloc(STORE_RUNS_CAPACITY * sizeof *all);
    int n = all ? store_read_runs(st, all, STORE_RUNS_CAPACITY) : STORE_ERR;
    free(all);
    if (n < 0)
        return STORE_ERR;
    if (n >= STORE_RUNS_CAPACITY) {
        log_warn("store: /runs is full (%d records); this run is not recorded", n);
        return STORE_EFULL;
    }
    StoreRun r = *run;
    r.end = NAN;
    r.exit_status = -1;
    snprintf(r.exit_reason, sizeof r.exit_reason, "running");
    if (run_io(st, n, &r, 1) < 0)
        return STORE_ERR;
    st->run_slot = n;
    return STORE_OK;
}

int store_run_end(Store *st, int exit_status, const char *exit_reason, long tasks_done)
{
    StoreRun r;
    if (st->run_slot < 0 || run_io(st, st->run_slot, &r, 0) < 0)
        return STORE_ERR;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    r.end = ts.tv_sec + 1e-9 * ts.tv_nsec;
    r.exit_status = exit_status;
    r.tasks_done = tasks_done;
    snprintf(r.exit_reason, sizeof r.exit_reason, "%s", exit_reason ? exit_reason : "");
    return run_io(st, st->run_slot, &r, 1);
}

static void copy_env(char *dst, size_t len, const char *name)
{
    const char *v = getenv(name);
    snprintf(dst, len, "%s", v ? v : "");
}

void store_run_from_env(StoreRun *run, int argc, char **argv)
{
    struct timespec ts;
    store_run_fill(run);
    clock_gettime(CLOCK_REALTIME, &ts);
    run->start = ts.tv_sec + 1e-9 * ts.tv_nsec;
    copy_env(run->slurm_job_id, sizeof run->slurm_job_id, "SLURM_JOB_ID");
    copy_env(run->slurm_array_job_id, sizeof run->slurm_array_job_id, "SLURM_ARRAY_JOB_ID");
    copy_env(run->slurm_array_task_id, sizeof run->slurm_array_task_id, "SLURM_ARRAY_TASK_ID");
    copy_env(run->slurm_cluster, sizeof run->slurm_cluster, "SLURM_CLUSTER_NAME");
    copy_env(run->hosts, sizeof run->hosts, "SLURM_JOB_NODELIST");
    const char *rc = getenv("SLURM_RESTART_COUNT");
    run->slurm_restart_count = rc ? atoi(rc) : (getenv("SLURM_JOB_ID") ? 0 : -1);
    size_t used = 0;
    for (int i = 0; i < argc && used < sizeof run->command; i++) {
        int n = snprintf(run->command + used, sizeof run->command - used, "%s%s",
                         i ? " " : "", argv[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* ---- sync points (collective) ------------------------------------------------------- */

int store_flush(Store *st)
{
    if (fault_hit("flush-skip"))
        return STORE_OK; /* the rank leaves the collective sequence (test of the watchdog) */
    int rc = H5Fflush(st->file, H5F_SCOPE_GLOBAL) < 0 ? STORE_ERR : STORE_OK;
    if (rc == STORE_OK && fault_hit("flush"))
        rc = STORE_ERR;
    if (rc != STORE_OK)
        log_error("store: flush of the results file failed: %s", strerror(errno));
    return rc;
}

int store_close(Store *st)
{
    if (!st)
        return STORE_OK;
    int rc = STORE_OK, parallel = st->parallel;
    unsigned intent = 0;
    if (H5Fget_intent(st->file, &intent) >= 0 && (intent & H5F_ACC_RDWR)
        && H5Fflush(st->file, H5F_SCOPE_GLOBAL) < 0)
        rc = STORE_ERR;
    if (store_detach(st) < 0)
        rc = STORE_ERR;
    if (rc == STORE_OK && parallel && fault_hit("close"))
        rc = STORE_ERR;
    if (rc != STORE_OK)
        log_error("store: close of the results file failed: %s", strerror(errno));
    return rc;
}
