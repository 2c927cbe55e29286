/* store_layout: the results file's types and the objects of a new file (DESIGN §6).
 * Every dataset is contiguous, allocated at creation at full size, with fill values
 * that read as "not done"; after the create step the structure never changes. */
#include "store_impl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fault.h"
#include "log.h"
#include "version.h"

/* Names stored in attributes; same order and values as CAUSE_* / STOP_* in task.h. */
static const char *const cause_names = "0=none 1=nonfinite 2=solver 3=nomem 4=stopped 5=invalid 6=crashed";
static const char *const stop_names = "0=exact 1=tol 2=budget 3=signal 4=failed 5=converged "
                                      "6=linesearch 7=stalled 8=horizon -1=not written";

/* ---- types ------------------------------------------------------------------------ */

static hid_t enum_type(const char *const *names, int count, int with_none)
{
    hid_t t = H5Tenum_create(H5T_NATIVE_INT8);
    if (t < 0)
        return t;
    for (int8_t v = 0; v < count; v++)
        H5Tenum_insert(t, names[v], &v);
    if (with_none) {
        int8_t none = -1;
        H5Tenum_insert(t, "none", &none);
    }
    return t;
}

hid_t store_type_row(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(StoreRow));
#define F(name, type) H5Tinsert(t, #name, HOFFSET(StoreRow, name), type)
    F(risk_train, H5T_NATIVE_DOUBLE);
    F(risk_test, H5T_NATIVE_DOUBLE);
    F(risk_pop, H5T_NATIVE_DOUBLE);
    F(r0, H5T_NATIVE_DOUBLE);
    F(error_test, H5T_NATIVE_DOUBLE);
    F(bayes_error, H5T_NATIVE_DOUBLE);
    F(theory, H5T_NATIVE_DOUBLE);
    F(iterations, H5T_NATIVE_INT64);
    F(residual, H5T_NATIVE_DOUBLE);
    F(flops, H5T_NATIVE_DOUBLE);
    F(seconds, H5T_NATIVE_DOUBLE);
    F(rank, H5T_NATIVE_INT32);
    F(attempts, H5T_NATIVE_INT32);
    F(cause, H5T_NATIVE_INT32);
    F(stop, H5T_NATIVE_INT32);
    /* Added after format 1 first shipped: absent from older files, where reads keep
     * the fill value (HDF5 matches compound members by name). */
    F(restarts, H5T_NATIVE_INT32);
    F(error_floor, H5T_NATIVE_DOUBLE);
    F(t_final, H5T_NATIVE_DOUBLE);
    F(theta_dist, H5T_NATIVE_DOUBLE);
    F(dead, H5T_NATIVE_INT32);
    F(risk_nt, H5T_NATIVE_DOUBLE);
    F(risk_ey, H5T_NATIVE_DOUBLE);
    F(ebar, H5T_NATIVE_DOUBLE);
    F(step_norm, H5T_NATIVE_DOUBLE);
    F(risk_rf0, H5T_NATIVE_DOUBLE);
#undef F
    return t;
}

hid_t store_type_task(void)
{
    static const char *const models[] = {"quadratic", "mixture"};
    static const char *const targets[] = {"exponential", "wigner", "lowrank", "signed"};
    static const char *const regimes[] = {"rf",        "nt",      "nn",     "null",  "alpha",
                                          "alpha_lin", "onestep", "krr_rf", "krr_nt"};
    hid_t tm = enum_type(models, MODEL_COUNT, 0);
    hid_t tt = enum_type(targets, TARGET_COUNT, 1);
    hid_t tr = enum_type(regimes, REGIME_COUNT, 0);
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(StoreTaskRow));
    /* Inserted in the public field order (offsets decide the packed file order). */
    H5Tinsert(t, "id", HOFFSET(StoreTaskRow, id), H5T_NATIVE_INT64);
    H5Tinsert(t, "model", HOFFSET(StoreTaskRow, model), tm);
    H5Tinsert(t, "target", HOFFSET(StoreTaskRow, target), tt);
    H5Tinsert(t, "d", HOFFSET(StoreTaskRow, d), H5T_NATIVE_INT32);
    H5Tinsert(t, "N", HOFFSET(StoreTaskRow, N), H5T_NATIVE_INT32);
    H5Tinsert(t, "n", HOFFSET(StoreTaskRow, n), H5T_NATIVE_INT64);
    H5Tinsert(t, "regime", HOFFSET(StoreTaskRow, regime), tr);
    H5Tinsert(t, "replicate", HOFFSET(StoreTaskRow, replicate), H5T_NATIVE_INT32);
    /* Added with the regimes beyond the paper: older files lack them (read as NaN). */
    H5Tinsert(t, "alpha", HOFFSET(StoreTaskRow, alpha), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "eta", HOFFSET(StoreTaskRow, eta), H5T_NATIVE_DOUBLE);
    H5Tclose(tm);
    H5Tclose(tt);
    H5Tclose(tr);
    return t;
}

static hid_t string_type(size_t size)
{
    hid_t s = H5Tcopy(H5T_C_S1);
    H5Tset_size(s, size);
    H5Tset_strpad(s, H5T_STR_NULLTERM);
    return s;
}

hid_t store_type_run(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(StoreRun));
    H5Tinsert(t, "start", HOFFSET(StoreRun, start), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "end", HOFFSET(StoreRun, end), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "ranks", HOFFSET(StoreRun, ranks), H5T_NATIVE_INT32);
    H5Tinsert(t, "exit_status", HOFFSET(StoreRun, exit_status), H5T_NATIVE_INT32);
    H5Tinsert(t, "tasks_done", HOFFSET(StoreRun, tasks_done), H5T_NATIVE_INT64);
    H5Tinsert(t, "slurm_restart_count", HOFFSET(StoreRun, slurm_restart_count),
              H5T_NATIVE_INT32);
#define S(name)                                                                       \
    do {                                                                              \
        hid_t s = string_type(sizeof(((StoreRun *)0)->name));                         \
        H5Tinsert(t, #name, HOFFSET(StoreRun, name), s);                              \
        H5Tclose(s);                                                                  \
    } while (0)
    S(exit_reason);
    S(hosts);
    S(slurm_job_id);
    S(slurm_array_job_id);
    S(slurm_array_task_id);
    S(slurm_cluster);
    S(command);
#undef S
    return t;
}

hid_t store_type_curve(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(StoreCurvePoint));
    H5Tinsert(t, "train", HOFFSET(StoreCurvePoint, train), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "test", HOFFSET(StoreCurvePoint, test), H5T_NATIVE_DOUBLE);
    return t;
}

/* The file type: the memory type without padding (x86-64 native = little-endian). */
hid_t store_type_file(hid_t mem)
{
    hid_t f = H5Tcopy(mem);
    if (f >= 0 && H5Tget_class(f) == H5T_COMPOUND && H5Tpack(f) < 0) {
        H5Tclose(f);
        return H5I_INVALID_HID;
    }
    return f;
}

void store_row_fill(StoreRow *row)
{
    memset(row, 0, sizeof *row);
    row->risk_train = row->risk_test = row->risk_pop = row->r0 = NAN;
    row->error_test = row->bayes_error = row->theory = NAN;
    row->residual = row->flops = row->seconds = NAN;
    row->iterations = -1;
    row->rank = -1;
    row->attempts = 0;
    row->cause = CAUSE_NONE;
    row->stop = -1;
    row->restarts = 0;
    row->error_floor = NAN;
    row->t_final = row->theta_dist = row->risk_nt = row->risk_ey = NAN;
    row->ebar = row->step_norm = row->risk_rf0 = NAN;
    row->dead = -1;
}

void store_run_fill(StoreRun *run)
{
    memset(run, 0, sizeof *run);
    run->start = run->end = NAN;
    run->exit_status = -1;
    run->slurm_restart_count = -1;
}

/* ---- attributes ------------------------------------------------------------------- */

int store_attr_put_string(hid_t obj, const char *name, const char *value)
{
    int rc = STORE_ERR;
    hid_t type = string_type(strlen(value) + 1);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr >= 0 && H5Awrite(attr, type, value) >= 0)
        rc = STORE_OK;
    if (attr >= 0)
        H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    return rc;
}

int store_attr_put_long(hid_t obj, const char *name, long value)
{
    int rc = STORE_ERR;
    int64_t v = value;
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(obj, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr >= 0 && H5Awrite(attr, H5T_NATIVE_INT64, &v) >= 0)
        rc = STORE_OK;
    if (attr >= 0)
        H5Aclose(attr);
    H5Sclose(space);
    return rc;
}

/* Several string attributes on one object; stops at the first failure. */
static int put_strings(hid_t obj, const char *const *kv)
{
    for (; kv[0]; kv += 2)
        if (store_attr_put_string(obj, kv[0], kv[1] ? kv[1] : "unknown") < 0)
            return STORE_ERR;
    return STORE_OK;
}

/* ---- datasets --------------------------------------------------------------------- */

/* A contiguous dataset, allocated now, filled with *fill (of type mem) if not NULL. */
static hid_t make_dataset(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank,
                          const hsize_t *dims, const void *fill)
{
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t d = H5I_INVALID_HID;
    if (space < 0 || dcpl < 0)
        goto done;
    if (H5Pset_layout(dcpl, H5D_CONTIGUOUS) < 0 || H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY) < 0
        || H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC) < 0)
        goto done;
    if (fill && H5Pset_fill_value(dcpl, mtype, fill) < 0)
        goto done;
    d = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
done:
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return d;
}

/* make_dataset for a compound/mem type, closing the dataset after its attributes. */
static int make_described(hid_t loc, const char *name, hid_t mtype, int rank,
                          const hsize_t *dims, const void *fill, const char *const *attrs)
{
    hid_t ftype = store_type_file(mtype);
    errno = 0;
    hid_t d = ftype >= 0 && !fault_hit("create") ? make_dataset(loc, name, ftype, mtype, rank, dims, fill) : -1;
    int rc = d >= 0 && put_strings(d, attrs) == STORE_OK ? STORE_OK : STORE_ERR;
    if (d >= 0)
        H5Dclose(d);
    if (ftype >= 0)
        H5Tclose(ftype);
    if (rc < 0)
        store_set_error("cannot create dataset /%s: %s", name, errno ? strerror(errno) : "HDF5 error");
    return rc;
}

static int make_doubles(hid_t loc, const char *name, int rank, const hsize_t *dims,
                        const char *description)
{
    const double nan = NAN;
    const char *attrs[] = {"description", description, "fill", "NaN = not written", NULL};
    return make_described(loc, name, H5T_NATIVE_DOUBLE, rank, dims, &nan, attrs);
}

static int create_results(hid_t file, long count)
{
    hsize_t dims[1] = {(hsize_t)count};
    StoreRow fill;
    store_row_fill(&fill);
    hid_t mt = store_type_row();
    const char *attrs[] = {
        "description", "one row per task id; meaningful only where /status != 0",
        "units", "risks: raw mean squared error (normalise by r0, the trivial risk); "
                 "error_test, bayes_error: 0-1 error fractions; seconds: wall time; "
                 "flops: counted operations; residual: solve residual or final gradient norm",
        "risk_pop", "exact population risk of the trained model, NaN where not available",
        "error_test", "0-1 test error of sign(f) (mixture), NaN for regression",
        "theory", "class optimum for the task's W0 at n = inf (onestep: the RF optimum at W1), NaN if none",
        "rank", "MPI rank that ran the task (-1 = never written)",
        "attempts", "how many times the task was started, this write included (0 = never written)",
        "stop", "why the fit ended (stop_names): only exact and converged certify the fit",
        "restarts", "NN escapes from stationary points taken during the fit",
        "error_floor", "mixture: 0-1 error of the best square-loss quadratic predictor M*, NaN otherwise",
        "t_final", "alpha regimes: time sum of step sizes reached",
        "theta_dist", "alpha regimes: |theta - theta0| of (a, W) at the end",
        "dead", "alpha regimes: neurons with |a_i| |w_i|^2 below 1e-3 of the sum (-1: n/a)",
        "risk_nt", "alpha regimes, onestep: NT class optimum at W0, n = inf (raw)",
        "risk_ey", "alpha regimes, onestep: Eckart-Young (rank-N) optimum (raw)",
        "ebar", "onestep: E r of the initial model in the step (population, or mean over n0 samples)",
        "step_norm", "onestep: |W1 - W0|_F / |W0|_F",
        "risk_rf0", "onestep: population risk of the same RF readout at W0 (raw)",
        "cause_names", cause_names,
        "stop_names", stop_names,
        "fill", "NaN metrics, iterations -1, rank -1, attempts 0, cause 0, stop -1, restarts 0",
        NULL};
    int rc = make_described(file, "results", mt, 1, dims, &fill, attrs);
    H5Tclose(mt);
    return rc;
}

static int create_status(hid_t file, long count)
{
    hsize_t dims[1] = {(hsize_t)count};
    const uint8_t zero = STORE_PENDING;
    const char *attrs[] = {
        "description", "commit marker per task, written after the task's /results row",
        "values", "0=pending (never written) 1=done 2=failed", NULL};
    return make_described(file, "status", H5T_NATIVE_UINT8, 1, dims, &zero, attrs);
}

static int create_runs(hid_t file)
{
    hsize_t dims[1] = {STORE_RUNS_CAPACITY};
    StoreRun fill;
    store_run_fill(&fill);
    hid_t mt = store_type_run();
    const char *attrs[] = {
        "description", "one record per run attempt, in order; unused records have start = NaN",
        "units", "start, end: unix seconds (end NaN and exit_status -1: still running or crashed)",
        NULL};
    int rc = make_described(file, "runs", mt, 1, dims, &fill, attrs);
    H5Tclose(mt);
    return rc;
}

static int create_curves(hid_t file, long count, int points)
{
    hsize_t dims[2] = {(hsize_t)count, (hsize_t)points};
    hsize_t sdims[1] = {(hsize_t)points};
    StoreCurvePoint fill = {NAN, NAN};
    int64_t nostep = -1;
    hid_t mt = store_type_curve();
    const char *attrs[] = {
        "description", "NN train and test risk (raw) at the steps in /curves_steps",
        "fill", "NaN = not written (or the fit stopped earlier)", NULL};
    const char *sattrs[] = {"description", "optimiser step of each /curves column",
                            "fill", "-1 = not written yet", NULL};
    int rc = make_described(file, "curves", mt, 2, dims, &fill, attrs);
    if (rc == STORE_OK)
        rc = make_described(file, "curves_steps", H5T_NATIVE_INT64, 1, sdims, &nostep, sattrs);
    H5Tclose(mt);
    return rc;
}

static int job_has_model(const JobSpec *job, int model)
{
    for (int i = 0; i < job->n_models; i++)
        if (job->models[i] == model)
            return 1;
    return 0;
}

static hid_t make_group(hid_t loc, const char *name)
{
    hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        store_set_error("cannot create group %s: %s", name, errno ? strerror(errno) : "HDF5 error");
    return g;
}

/* /targets/d<d>/{B, b0 | U} for every d of the job. */
static int create_targets(hid_t file, const JobSpec *job)
{
    int rc = STORE_ERR;
    hid_t top = make_group(file, "targets");
    if (top < 0)
        return rc;
    for (int i = 0; i < job->n_d; i++) {
        char name[32];
        int d = job->d[i];
        hsize_t R = (hsize_t)job->replicates;
        snprintf(name, sizeof name, "d%d", d);
        hid_t g = make_group(top, name);
        if (g < 0)
            goto done;
        int bad = 0;
        if (job_has_model(job, MODEL_QUADRATIC)) {
            hsize_t bd[3] = {R, (hsize_t)d, (hsize_t)d}, b0d[1] = {R};
            bad |= make_doubles(g, "B", 3, bd, "target matrix B per replicate, row-major") < 0;
            bad |= make_doubles(g, "b0", 1, b0d, "target offset b0 per replicate") < 0;
        }
        if (job_has_model(job, MODEL_MIXTURE)) {
            hsize_t ud[3] = {R, (hsize_t)d, (hsize_t)job->mixture_rank};
            bad |= make_doubles(g, "U", 3, ud, "mixture frame U per replicate, row-major") < 0;
        }
        H5Gclose(g);
        if (bad)
            goto done;
    }
    rc = STORE_OK;
done:
    H5Gclose(top);
    return rc;
}

/* /weights/task_<id>/{W0 [N,d], a0 [N], M [d,d], c [1]} for every task (no W0, a0 for
 * the width-free krr tasks), and W1 [N,d] for onestep tasks. */
static int create_weights(hid_t file, const Grid *grid)
{
    int rc = STORE_ERR;
    hid_t top = make_group(file, "weights");
    if (top < 0)
        return rc;
    for (long i = 0; i < grid->count; i++) {
        const Task *t = &grid->tasks[i];
        char name[40];
        snprintf(name, sizeof name, "task_%ld", t->id);
        hid_t g = make_group(top, name);
        if (g < 0)
            goto done;
        hsize_t w[2] = {(hsize_t)t->N, (hsize_t)t->d}, a[1] = {(hsize_t)t->N};
        hsize_t m[2] = {(hsize_t)t->d, (hsize_t)t->d}, c[1] = {1};
        int bad = 0;
        if (t->N > 0) {
            bad |= make_doubles(g, "W0", 2, w, "initial first-layer weights, row-major") < 0;
            bad |= make_doubles(g, "a0", 1, a, "initial second-layer weights") < 0;
        }
        if (t->regime == REGIME_ONESTEP)
            bad |= make_doubles(g, "W1", 2, w, "first-layer weights after the step, row-major") < 0;
        bad |= make_doubles(g, "M", 2, m, "trained model as a quadratic form x'Mx + c") < 0;
        bad |= make_doubles(g, "c", 1, c, "trained offset c") < 0;
        H5Gclose(g);
        if (bad)
            goto done;
    }
    rc = STORE_OK;
done:
    H5Gclose(top);
    return rc;
}

/* /tasks, with its rows. */
static int create_tasks(hid_t file, const JobSpec *job, const Grid *grid)
{
    int rc = STORE_ERR;
    hsize_t dims[1] = {(hsize_t)grid->count};
    hid_t mt = store_type_task(), ft = store_type_file(mt);
    StoreTaskRow *rows = NULL;
    hid_t d = make_dataset(file, "tasks", ft, mt, 1, dims, NULL);
    const char *attrs[] = {
        "description", "one row per task id (DESIGN §4): the grid point each /results row belongs to",
        "n", "training samples; -1 = population (n = inf)",
        "model", "enum: 0=quadratic 1=mixture",
        "target", "enum: 0=exponential 1=wigner 2=lowrank 3=signed -1=none (mixture)",
        "regime", "enum: 0=rf 1=nt 2=nn 3=null 4=alpha 5=alpha_lin 6=onestep 7=krr_rf 8=krr_nt",
        "alpha", "alpha and alpha_lin: the scale alpha; NaN for other regimes",
        "eta", "onestep: the step eta~ (inf allowed); NaN for other regimes",
        NULL};
    if (d < 0 || put_strings(d, attrs) < 0)
        goto done;
    if (grid->count > 0) {
        rows = malloc((size_t)grid->count * sizeof *rows);
        if (!rows)
            goto done;
        for (long i = 0; i < grid->count; i++) {
            const Task *t = &grid->tasks[i];
            rows[i] = (StoreTaskRow){.id = t->id, .model = (int8_t)t->model,
                                     .target = (int8_t)(t->model == MODEL_QUADRATIC ? job->target : -1),
                                     .regime = (int8_t)t->regime, .d = t->d, .N = t->N,
                                     .replicate = t->replicate, .n = t->n,
                                     .alpha = t->alpha, .eta = t->eta};
        }
        hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
        int w = H5Dwrite(d, mt, H5S_ALL, H5S_ALL, dxpl, rows);
        H5Pclose(dxpl);
        if (w < 0)
            goto done;
    }
    rc = STORE_OK;
done:
    if (rc < 0)
        store_set_error("cannot create /tasks: %s", errno ? strerror(errno) : "HDF5 error");
    free(rows);
    if (d >= 0)
        H5Dclose(d);
    H5Tclose(ft);
    H5Tclose(mt);
    return rc;
}

static int create_provenance(hid_t file, const JobSpec *job, const char *job_text,
                             const char *job_hash, const Grid *grid, const StoreProvenance *prov)
{
    char hdf5v[64], created[64];
    unsigned maj, min, rel;
    H5get_libversion(&maj, &min, &rel);
    snprintf(hdf5v, sizeof hdf5v, "%u.%u.%u", maj, min, rel);
    time_t now = time(NULL);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    const char *kv[] = {
        "format", STORE_FORMAT,
        "job_name", job->name,
        "job_text", job_text,
        "job_hash", job_hash,
        "program_version", version_string(),
        "compiler", version_compiler(),
        "cflags", version_cflags(),
        "hdf5_version", hdf5v,
        "mpi_version", prov ? prov->mpi_version : NULL,
        "blas_version", prov ? prov->blas_version : NULL,
        "created", created,
        "layout", "/tasks /results /status (commit marker) /runs [/curves /curves_steps] "
                  "[/targets/d<d>/{B,b0,U} /weights/task_<id>/{W0,a0,M,c,W1}]; see each dataset's attributes",
        NULL};
    if (put_strings(file, kv) < 0)
        return STORE_ERR;
    if (store_attr_put_long(file, "format_version", STORE_FORMAT_VERSION) < 0
        || store_attr_put_long(file, "task_count", grid->count) < 0
        || store_attr_put_long(file, "curve_points", job->curve_points) < 0
        || store_attr_put_long(file, "save_weights", job->save_weights) < 0)
        return STORE_ERR;
    return STORE_OK;
}

int store_layout_create(hid_t file, const JobSpec *job, const char *job_text,
                        const char *job_hash, const Grid *grid, const StoreProvenance *prov)
{
    if (strlen(job_text) > STORE_JOB_TEXT_MAX) {
        store_set_error("job text longer than %d bytes", STORE_JOB_TEXT_MAX);
        return STORE_ERR;
    }
    if (create_provenance(file, job, job_text, job_hash, grid, prov) < 0
        || create_tasks(file, job, grid) < 0
        || create_results(file, grid->count) < 0 || create_status(file, grid->count) < 0
        || create_runs(file) < 0)
        return STORE_ERR;
    if (job->curve_points > 0 && create_curves(file, grid->count, job->curve_points) < 0)
        return STORE_ERR;
    if (job->save_weights && (create_targets(file, job) < 0 || create_weights(file, grid) < 0))
        return STORE_ERR;
    return STORE_OK;
}
