/* store_read: opening an existing results file's objects, the checks that it is ours,
 * every read, and the serial read-only side (login nodes, no MPI). */
#include "store_impl.h"

#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

void store_quiet(H5E_auto2_t *func, void **data)
{
    H5Eget_auto2(H5E_DEFAULT, func, data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void store_loud(H5E_auto2_t func, void *data) { H5Eset_auto2(H5E_DEFAULT, func, data); }

/* ---- attributes ------------------------------------------------------------------- */

char *store_attr_get_string(hid_t obj, const char *name)
{
    char *out = NULL;
    H5E_auto2_t f;
    void *fd;
    store_quiet(&f, &fd);
    hid_t attr = H5Aexists(obj, name) > 0 ? H5Aopen(obj, name, H5P_DEFAULT) : -1;
    hid_t ft = attr >= 0 ? H5Aget_type(attr) : -1;
    if (ft < 0 || H5Tget_class(ft) != H5T_STRING || H5Tis_variable_str(ft) != 0)
        goto done;
    size_t size = H5Tget_size(ft);
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, size + 1);
    H5Tset_strpad(mt, H5T_STR_NULLTERM);
    out = calloc(size + 2, 1);
    if (out && H5Aread(attr, mt, out) < 0) {
        free(out);
        out = NULL;
    }
    H5Tclose(mt);
done:
    if (ft >= 0)
        H5Tclose(ft);
    if (attr >= 0)
        H5Aclose(attr);
    store_loud(f, fd);
    return out;
}

int store_attr_get_long(hid_t obj, const char *name, long *value)
{
    int rc = STORE_ERR;
    int64_t v;
    H5E_auto2_t f;
    void *fd;
    store_quiet(&f, &fd);
    hid_t attr = H5Aexists(obj, name) > 0 ? H5Aopen(obj, name, H5P_DEFAULT) : -1;
    if (attr >= 0 && H5Aread(attr, H5T_NATIVE_INT64, &v) >= 0) {
        *value = (long)v;
        rc = STORE_OK;
    }
    if (attr >= 0)
        H5Aclose(attr);
    store_loud(f, fd);
    return rc;
}

/* ---- opening ---------------------------------------------------------------------- */

/* STORE_OK when `file` is a lazysweep results file (and made from job_hash, if given). */
int store_check_file(hid_t file, const char *job_hash)
{
    char *format = store_attr_get_string(file, "format");
    char *hash = store_attr_get_string(file, "job_hash");
    long version = 0;
    int rc = STORE_OK;
    if (!format || strcmp(format, STORE_FORMAT) != 0 || !hash ||
        store_attr_get_long(file, "format_version", &version) < 0 ||
        version != STORE_FORMAT_VERSION)
        rc = STORE_EFOREIGN;
    else if (job_hash && strcmp(hash, job_hash) != 0)
        rc = STORE_EJOB;
    free(format);
    free(hash);
    return rc;
}

static hid_t open_dataset(hid_t file, const char *name, int optional)
{
    H5E_auto2_t f;
    void *fd;
    store_quiet(&f, &fd);
    hid_t d = H5Lexists(file, name, H5P_DEFAULT) > 0 ? H5Dopen2(file, name, H5P_DEFAULT) : -1;
    store_loud(f, fd);
    if (d < 0 && !optional)
        log_error("store: dataset /%s missing", name);
    return d;
}

/* A handle holding only `file` (every dataset invalid), for store_detach. */
static void store_attach_none(Store *st, hid_t file)
{
    memset(st, 0, sizeof *st);
    st->file = file;
    st->dxpl = H5I_INVALID_HID;
    st->run_slot = -1;
    st->tasks = st->results = st->status = st->runs = H5I_INVALID_HID;
    st->curves = st->curves_steps = H5I_INVALID_HID;
}

int store_attach(Store *st, hid_t file, hid_t dxpl, int parallel)
{
    long count = 0, points = 0, weights = 0;
    store_attach_none(st, file);
    st->dxpl = dxpl;
    st->parallel = parallel;
    if (store_attr_get_long(file, "task_count", &count) < 0
        || store_attr_get_long(file, "curve_points", &points) < 0
        || store_attr_get_long(file, "save_weights", &weights) < 0)
        return STORE_EFOREIGN;
    st->count = count;
    st->curve_points = (int)points;
    st->save_weights = (int)weights;
    st->tasks = open_dataset(file, "tasks", 0);
    st->results = open_dataset(file, "results", 0);
    st->status = open_dataset(file, "status", 0);
    st->runs = open_dataset(file, "runs", 0);
    if (st->tasks < 0 || st->results < 0 || st->status < 0 || st->runs < 0)
        return STORE_EFOREIGN;
    if (points > 0) {
        st->curves = open_dataset(file, "curves", 0);
        st->curves_steps = open_dataset(file, "curves_steps", 0);
        if (st->curves < 0 || st->curves_steps < 0)
            return STORE_EFOREIGN;
    }
    return STORE_OK;
}

/* Closes what store_attach opened, the transfer list and the file; frees st. */
int store_detach(Store *st)
{
    hid_t ds[] = {st->tasks, st->results, st->status, st->runs, st->curves, st->curves_steps};
    int rc = STORE_OK;
    for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++)
        if (ds[i] >= 0 && H5Dclose(ds[i]) < 0)
            rc = STORE_ERR;
    if (st->dxpl >= 0 && st->dxpl != H5P_DEFAULT)
        H5Pclose(st->dxpl);
    if (st->file >= 0 && H5Fclose(st->file) < 0)
        rc = STORE_ERR;
    free(st);
    return rc;
}

/* Opens path read-only through fapl, checks it, attaches. Shared by both sides. */
int store_open_checked(const char *path, hid_t fapl, unsigned flags, const char *job_hash,
                       hid_t dxpl, int parallel, Store **out)
{
    H5E_auto2_t f;
    void *fd;
    *out = NULL;
    store_quiet(&f, &fd);
    hid_t file = H5Fopen(path, flags, fapl);
    store_loud(f, fd);
    if (file < 0)
        return STORE_EFOREIGN;
    int rc = store_check_file(file, job_hash);
    Store *st = calloc(1, sizeof *st);
    if (!st)
        rc = STORE_ERR;
    else if (rc == STORE_OK)
        rc = store_attach(st, file, dxpl, parallel);
    else
        store_attach_none(st, file);
    if (rc != STORE_OK) {
        if (st) {
            st->dxpl = H5I_INVALID_HID; /* the caller still owns dxpl */
            store_detach(st);
        } else {
            H5Fclose(file);
        }
        return rc;
    }
    *out = st;
    return STORE_OK;
}

int store_open_readonly(const char *path, const char *job_hash, Store **out)
{
    *out = NULL;
    if (access(path, F_OK) != 0)
        return STORE_EMISSING;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    /* No locks: a running job may hold the file (HDF5_USE_FILE_LOCKING=FALSE). */
    H5Pset_file_locking(fapl, 0, 1);
    int rc = store_open_checked(path, fapl, H5F_ACC_RDONLY, job_hash, H5P_DEFAULT, 0, out);
    H5Pclose(fapl);
    return rc;
}

/* ---- reads ------------------------------------------------------------------------ */

long store_task_count(const Store *st) { return st->count; }
int store_curve_points(const Store *st) { return st->curve_points; }

int store_io_rows(hid_t dset, hid_t dxpl, hid_t mem, long first, long count, long inner,
                  void *buf, int write)
{
    int rc = STORE_ERR;
    hid_t fs = H5Dget_space(dset);
    int rank = H5Sget_simple_extent_ndims(fs);
    hsize_t start[2] = {(hsize_t)first, 0}, cnt[2] = {(hsize_t)count, (hsize_t)inner};
    hid_t ms = H5Screate_simple(rank, cnt, NULL);
    if (fs < 0 || ms < 0 || rank < 1 || rank > 2)
        goto done;
    if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL) < 0)
        goto done;
    if ((write ? H5Dwrite(dset, mem, ms, fs, dxpl, buf) : H5Dread(dset, mem, ms, fs, dxpl, buf)) < 0)
        goto done;
    rc = STORE_OK;
done:
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    return rc;
}

int store_read_status(const Store *st, uint8_t *status)
{
    if (st->count == 0)
        return STORE_OK;
    return store_io_rows(st->status, st->dxpl, H5T_NATIVE_UINT8, 0, st->count, 1, status, 0);
}

/* One int32 member of /results for every task. */
static int read_int_member(const Store *st, const char *member, int *out)
{
    int rc = STORE_ERR;
    int32_t *buf = malloc((size_t)(st->count ? st->count : 1) * sizeof *buf);
    hid_t mt = H5Tcreate(H5T_COMPOUND, sizeof(int32_t));
    if (buf && mt >= 0 && H5Tinsert(mt, member, 0, H5T_NATIVE_INT32) >= 0
        && (st->count == 0 || store_io_rows(st->results, st->dxpl, mt, 0, st->count, 1, buf, 0) == 0)) {
        for (long i = 0; i < st->count; i++)
            out[i] = buf[i];
        rc = STORE_OK;
    }
    if (mt >= 0)
        H5Tclose(mt);
    free(buf);
    return rc;
}

int store_read_attempts(const Store *st, int *attempts)
{
    return read_int_member(st, "attempts", attempts);
}

int store_read_tasks(const Store *st, Task *tasks, int *target)
{
    int rc = STORE_ERR;
    StoreTaskRow *rows = malloc((size_t)(st->count ? st->count : 1) * sizeof *rows);
    hid_t mt = store_type_task();
    for (long i = 0; rows && i < st->count; i++) /* older files have no alpha, eta */
        rows[i].alpha = rows[i].eta = NAN;
    if (!rows || (st->count && store_io_rows(st->tasks, st->dxpl, mt, 0, st->count, 1, rows, 0) < 0))
        goto done;
    for (long i = 0; i < st->count; i++) {
        const StoreTaskRow *r = &rows[i];
        tasks[i] = (Task){.id = r->id, .model = r->model, .d = r->d, .N = r->N, .n = r->n,
                          .regime = r->regime, .replicate = r->replicate, .alpha = r->alpha,
                          .eta = r->eta};
        if (target)
            target[i] = r->target;
    }
    rc = STORE_OK;
done:
    H5Tclose(mt);
    free(rows);
    return rc;
}

static void row_to_result(const StoreRow *r, TaskResult *res)
{
    *res = (TaskResult){.risk_train = r->risk_train, .risk_test = r->risk_test,
                        .risk_pop = r->risk_pop, .r0 = r->r0, .error_test = r->error_test,
                        .bayes_error = r->bayes_error, .theory = r->theory,
                        .iterations = (long)r->iterations, .residual = r->residual,
                        .flops = r->flops, .seconds = r->seconds, .cause = r->cause,
                        .stop = r->stop, .restarts = r->restarts,
                        .error_floor = r->error_floor, .t_final = r->t_final,
                        .theta_dist = r->theta_dist, .dead = r->dead, .risk_nt = r->risk_nt,
                        .risk_ey = r->risk_ey, .ebar = r->ebar, .step_norm = r->step_norm,
                        .risk_rf0 = r->risk_rf0};
}

int store_read_results(const Store *st, long first, long count, TaskResult *res, int *rank,
                       int *attempts)
{
    if (first < 0 || count < 0 || first + count > st->count)
        return STORE_ERR;
    if (count == 0)
        return STORE_OK;
    int rc = STORE_ERR;
    StoreRow *rows = malloc((size_t)count * sizeof *rows);
    hid_t mt = store_type_row();
    if (rows)
        for (long i = 0; i < count; i++) /* members an older file lacks keep these */
            store_row_fill(&rows[i]);
    if (rows && store_io_rows(st->results, st->dxpl, mt, first, count, 1, rows, 0) == 0) {
        for (long i = 0; i < count; i++) {
            row_to_result(&rows[i], &res[i]);
            if (rank)
                rank[i] = rows[i].rank;
            if (attempts)
                attempts[i] = rows[i].attempts;
        }
        rc = STORE_OK;
    }
    H5Tclose(mt);
    free(rows);
    return rc;
}

int store_read_curve(const Store *st, long id, double *train, double *test, long *steps)
{
    int P = st->curve_points;
    if (P <= 0 || id < 0 || id >= st->count)
        return STORE_ERR;
    int rc = STORE_ERR;
    StoreCurvePoint *pts = malloc((size_t)P * sizeof *pts);
    int64_t *s = malloc((size_t)P * sizeof *s);
    hid_t mt = store_type_curve();
    if (!pts || !s || store_io_rows(st->curves, st->dxpl, mt, id, 1, P, pts, 0) < 0)
        goto done;
    if (steps && store_io_rows(st->curves_steps, st->dxpl, H5T_NATIVE_INT64, 0, P, 1, s, 0) < 0)
        goto done;
    for (int k = 0; k < P; k++) {
        train[k] = pts[k].train;
        test[k] = pts[k].test;
        if (steps)
            steps[k] = (long)s[k];
    }
    rc = STORE_OK;
done:
    H5Tclose(mt);
    free(pts);
    free(s);
    return rc;
}

char *store_read_attr(const Store *st, const char *name)
{
    return store_attr_get_string(st->file, name);
}

int store_read_runs(const Store *st, StoreRun *runs, int cap)
{
    StoreRun *all = malloc(STORE_RUNS_CAPACITY * sizeof *all);
    hid_t mt = store_type_run();
    int n = STORE_ERR;
    if (all && store_io_rows(st->runs, st->dxpl, mt, 0, STORE_RUNS_CAPACITY, 1, all, 0) == 0) {
        n = 0;
        for (int i = 0; i < STORE_RUNS_CAPACITY && all[i].start == all[i].start; i++)
            if (n < cap)
                runs[n++] = all[i];
    }
    H5Tclose(mt);
    free(all);
    return n;
}
