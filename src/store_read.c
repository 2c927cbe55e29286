/* store_read: opening an existing results file's objects, the checks that it is ours,
 * every read, and the serial read-only side (login nodes, no MPI). */
#include "store_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static char last_error[1024];

void store_reset_error(void) { last_error[0] = '\0'; }

void store_set_error(const char *fmt, ...)
{
    if (last_error[0])
        return; /* the first failure is the root cause */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

const char *store_error(void) { return last_error[0] ? last_error : "HDF5 error"; }

/* STORE_OK when `file` is a lazysweep results file of a format this release reads (and
 * made from job_hash, if given). */
int store_check_file(hid_t file, const char *job_hash)
{
    char *format = store_attr_get_string(file, "format");
    char *hash = store_attr_get_string(file, "job_hash");
    long version = 0;
    int rc = STORE_OK;
    if (!format || strcmp(format, STORE_FORMAT) != 0 || !hash ||
        store_attr_get_long(file, "format_version", &version) < 0 ||
        version < STORE_FORMAT_OLDEST || version > STORE_FORMAT_VERSION) {
        if (format && hash && version > STORE_FORMAT_VERSION)
            store_set_error("a lazysweep results file of a newer format (%ld; this release "
                            "reads %d to %d)", version, STORE_FORMAT_OLDEST, STORE_FORMAT_VERSION);
        else
            store_set_error("not a lazysweep results file");
        rc = STORE_EFOREIGN;
    } else if (job_hash && strcmp(hash, job_hash) != 0) {
        store_set_error("made from another job (job hash %s)", hash);
        rc = STORE_EJOB;
    }
    free(format);
    free(hash);
    return rc;
}

static hid_t open_dataset(hid_t file, const char *name)
{
    H5E_auto2_t f;
    void *fd;
    store_quiet(&f, &fd);
    hid_t d = H5Lexists(file, name, H5P_DEFAULT) > 0 ? H5Dopen2(file, name, H5P_DEFAULT) : -1;
    store_loud(f, fd);
    return d;
}

void store_attach_none(Store *st, hid_t file, hid_t dxpl)
{
    memset(st, 0, sizeof *st);
    st->file = file;
    st->dxpl = dxpl;
    st->run_slot = -1;
    st->tasks = st->results = st->status = st->runs = H5I_INVALID_HID;
    st->curves = st->curves_steps = H5I_INVALID_HID;
}

/* Members a compound dataset must have, with their class: 'f' float, 'i' integer or enum. */
typedef struct {
    const char *name;
    char cls;
} Member;

static const Member task_members[] = {{"id", 'i'}, {"model", 'i'}, {"target", 'i'}, {"d", 'i'},
                                      {"N", 'i'}, {"n", 'i'}, {"regime", 'i'}, {"replicate", 'i'},
                                      {NULL, 0}};
/* restarts and error_floor came later: files without them stay readable (fill values). */
static const Member result_members[] = {
    {"risk_train", 'f'}, {"risk_test", 'f'}, {"risk_pop", 'f'}, {"r0", 'f'}, {"error_test", 'f'},
    {"bayes_error", 'f'}, {"theory", 'f'}, {"iterations", 'i'}, {"residual", 'f'}, {"flops", 'f'},
    {"seconds", 'f'}, {"rank", 'i'}, {"attempts", 'i'}, {"cause", 'i'}, {"stop", 'i'},
    {NULL, 0}};
static const Member result_optional[] = {
    {"restarts", 'i'}, {"error_floor", 'f'}, {"t_final", 'f'}, {"theta_dist", 'f'}, {"dead", 'i'},
    {"risk_nt", 'f'}, {"risk_ey", 'f'}, {"ebar", 'f'}, {"step_norm", 'f'}, {"risk_rf0", 'f'},
    {NULL, 0}};
/* the axes of the regimes beyond the paper came later too (older files: NaN) */
static const Member task_optional[] = {{"alpha", 'f'}, {"eta", 'f'}, {NULL, 0}};
static const Member run_members[] = {{"start", 'f'}, {"end", 'f'}, {"ranks", 'i'},
                                     {"exit_status", 'i'}, {"tasks_done", 'i'}, {NULL, 0}};
static const Member curve_members[] = {{"train", 'f'}, {"test", 'f'}, {NULL, 0}};

static int class_ok(H5T_class_t c, char want)
{
    return want == 'f' ? c == H5T_FLOAT : (c == H5T_INTEGER || c == H5T_ENUM);
}

/* The shape and type of dataset `name` (rank dims; members may be NULL for a scalar type of
 * class scalar_cls and size scalar_size, 0 = any). STORE_OK or STORE_EBAD (error set). */
static int check_dataset(hid_t d, const char *name, int rank, const hsize_t *want,
                         const Member *members, const Member *optional, char scalar_cls,
                         size_t scalar_size)
{
    int rc = STORE_EBAD;
    hid_t space = H5Dget_space(d), type = H5Dget_type(d);
    hsize_t dims[4] = {0, 0, 0, 0};
    int nd = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    if (nd != rank || nd > 4 || H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
        store_set_error("/%s has %d dimensions, expected %d", name, nd, rank);
        goto done;
    }
    for (int k = 0; k < rank; k++)
        if (dims[k] != want[k]) {
            store_set_error("/%s has %llu entries along dimension %d, expected %llu", name,
                            (unsigned long long)dims[k], k + 1, (unsigned long long)want[k]);
            goto done;
        }
    H5T_class_t cls = H5Tget_class(type);
    if (!members) {
        if (!class_ok(cls, scalar_cls) || (scalar_size && H5Tget_size(type) != scalar_size)) {
            store_set_error("/%s has the wrong type (expected %s of %zu byte%s)", name,
                            scalar_cls == 'f' ? "floats" : "integers", scalar_size,
                            scalar_size == 1 ? "" : "s");
            goto done;
        }
        rc = STORE_OK;
        goto done;
    }
    if (cls != H5T_COMPOUND) {
        store_set_error("/%s is not a compound dataset", name);
        goto done;
    }
    for (int pass = 0; pass < 2; pass++)
        for (const Member *m = pass ? optional : members; m && m->name; m++) {
            int idx = H5Tget_member_index(type, m->name);
            if (idx < 0) {
                if (pass)
                    continue; /* optional: older files */
                store_set_error("/%s has no member '%s'", name, m->name);
                goto done;
            }
            if (!class_ok(H5Tget_member_class(type, (unsigned)idx), m->cls)) {
                store_set_error("/%s member '%s' has the wrong type (expected %s)", name, m->name,
                                m->cls == 'f' ? "a float" : "an integer");
                goto done;
            }
        }
    rc = STORE_OK;
done:
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

static int attach_dataset(hid_t file, const char *name, hid_t *out)
{
    *out = open_dataset(file, name);
    if (*out < 0) {
        store_set_error("dataset /%s missing", name);
        return STORE_EBAD;
    }
    return STORE_OK;
}

int store_attach(Store *st, hid_t file, hid_t dxpl, int parallel)
{
    long count = 0, points = 0, weights = 0;
    store_attach_none(st, file, dxpl);
    st->parallel = parallel;
    if (store_attr_get_long(file, "task_count", &count) < 0
        || store_attr_get_long(file, "curve_points", &points) < 0
        || store_attr_get_long(file, "save_weights", &weights) < 0) {
        store_set_error("attribute task_count, curve_points or save_weights missing");
        return STORE_EBAD;
    }
    if (count < 1 || count > GRID_MAX_TASKS) {
        store_set_error("attribute task_count is %ld, expected 1 .. %ld", count, GRID_MAX_TASKS);
        return STORE_EBAD;
    }
    if (points < 0 || points > 10000 || (weights != 0 && weights != 1)) {
        store_set_error("attribute curve_points (%ld) or save_weights (%ld) out of range",
                        points, weights);
        return STORE_EBAD;
    }
    st->count = count;
    st->curve_points = (int)points;
    st->save_weights = (int)weights;
    hsize_t n[2] = {(hsize_t)count, (hsize_t)points}, runs[1] = {STORE_RUNS_CAPACITY};
    hsize_t steps[1] = {(hsize_t)points};
    int rc = attach_dataset(file, "tasks", &st->tasks);
    if (rc == STORE_OK)
        rc = check_dataset(st->tasks, "tasks", 1, n, task_members, task_optional, 0, 0);
    if (rc == STORE_OK)
        rc = attach_dataset(file, "results", &st->results);
    if (rc == STORE_OK)
        rc = check_dataset(st->results, "results", 1, n, result_members, result_optional, 0, 0);
    if (rc == STORE_OK)
        rc = attach_dataset(file, "status", &st->status);
    if (rc == STORE_OK)
        rc = check_dataset(st->status, "status", 1, n, NULL, NULL, 'i', 1);
    if (rc == STORE_OK)
        rc = attach_dataset(file, "runs", &st->runs);
    if (rc == STORE_OK)
        rc = check_dataset(st->runs, "runs", 1, runs, run_members, NULL, 0, 0);
    if (rc == STORE_OK && points > 0) {
        rc = attach_dataset(file, "curves", &st->curves);
        if (rc == STORE_OK)
            rc = check_dataset(st->curves, "curves", 2, n, curve_members, NULL, 0, 0);
        if (rc == STORE_OK)
            rc = attach_dataset(file, "curves_steps", &st->curves_steps);
        if (rc == STORE_OK)
            rc = check_dataset(st->curves_steps, "curves_steps", 1, steps, NULL, NULL, 'i', 8);
    }
    if (rc == STORE_OK && weights && (H5Lexists(file, "targets", H5P_DEFAULT) <= 0
                                      || H5Lexists(file, "weights", H5P_DEFAULT) <= 0)) {
        store_set_error("save_weights is set but /targets or /weights is missing");
        rc = STORE_EBAD;
    }
    return rc;
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

/* Opens path through fapl, checks it, attaches. Shared by both sides. */
int store_open_checked(const char *path, hid_t fapl, unsigned flags, const char *job_hash,
                       hid_t dxpl, int parallel, Store **out)
{
    H5E_auto2_t f;
    void *fd;
    *out = NULL;
    store_quiet(&f, &fd);
    hid_t file = H5Fopen(path, flags, fapl);
    store_loud(f, fd);
    if (file < 0) {
        store_set_error("not a lazysweep results file (not HDF5, or damaged)");
        return STORE_EFOREIGN;
    }
    int rc = store_check_file(file, job_hash);
    Store *st = calloc(1, sizeof *st);
    if (!st)
        rc = STORE_ERR;
    else if (rc == STORE_OK)
        rc = store_attach(st, file, dxpl, parallel);
    else
        store_attach_none(st, file, dxpl);
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

/* The HDF5 superblock signature at 0, 512, 1024, ... (after a user block), read with
 * plain I/O: no library call that might lock or write. */
static int hdf5_signature(const char *path)
{
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    unsigned char buf[8];
    FILE *f = fopen(path, "rb");
    int found = 0;
    for (long at = 0; f && !found && at < (1L << 30); at = at ? 2 * at : 512)
        found = fseek(f, at, SEEK_SET) == 0 && fread(buf, 1, 8, f) == 8 && !memcmp(buf, sig, 8);
    if (f)
        fclose(f);
    return found;
}

hid_t store_dxpl(int parallel)
{
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    /* HDF5 callocs its type-conversion buffer (1 MiB by default) on every compound read or
     * write: for one row that is a page-faulting memset per task (measured: 3/4 of the
     * time of a null-regime sweep). 64 KiB stays on the heap and is plenty for a row. */
    if (dxpl >= 0)
        H5Pset_buffer(dxpl, 65536, NULL, NULL);
    if (dxpl >= 0 && parallel)
        H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_INDEPENDENT);
    return dxpl;
}

/* Serial open; flags H5F_ACC_RDONLY or H5F_ACC_RDWR. */
static int open_serial(const char *path, const char *job_hash, unsigned flags, Store **out)
{
    *out = NULL;
    store_reset_error();
    struct stat sb;
    if (stat(path, &sb) != 0) {
        store_set_error("no such results file");
        return STORE_EMISSING;
    }
    /* Only an HDF5 file is ever opened (an empty or foreign file is refused untouched). */
    if (!hdf5_signature(path)) {
        store_set_error(sb.st_size ? "not a lazysweep results file (not HDF5)"
                                   : "not a lazysweep results file (empty)");
        return STORE_EFOREIGN;
    }
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    /* No locks: a running job may hold the file (HDF5_USE_FILE_LOCKING=FALSE). */
    H5Pset_file_locking(fapl, 0, 1);
    hid_t dxpl = store_dxpl(0);
    int rc = store_open_checked(path, fapl, H5F_ACC_RDONLY, job_hash, dxpl, 0, out);
    if (rc == STORE_OK && flags == H5F_ACC_RDWR) {
        /* accepted read-only: only now may it be opened for writing */
        (*out)->dxpl = H5I_INVALID_HID; /* kept for the second open */
        store_detach(*out);
        *out = NULL;
        rc = store_open_checked(path, fapl, H5F_ACC_RDWR, job_hash, dxpl, 0, out);
    }
    if (rc != STORE_OK)
        H5Pclose(dxpl);
    H5Pclose(fapl);
    return rc;
}

int store_open_readonly(const char *path, const char *job_hash, Store **out)
{
    return open_serial(path, job_hash, H5F_ACC_RDONLY, out);
}

int store_open_writable(const char *path, const char *job_hash, Store **out)
{
    return open_serial(path, job_hash, H5F_ACC_RDWR, out);
}

/* /tasks against the grid of the job that claims the file, in blocks. */
int store_check_grid(const Store *st, const JobSpec *job, const Grid *grid)
{
    if (st->count != grid->count) {
        store_set_error("holds %ld tasks, the job's grid has %ld", st->count, grid->count);
        return STORE_EBAD;
    }
    if (st->curve_points != job->curve_points || st->save_weights != job->save_weights) {
        store_set_error("curve_points/save_weights (%d/%d) differ from the job's (%d/%d)",
                        st->curve_points, st->save_weights, job->curve_points, job->save_weights);
        return STORE_EBAD;
    }
    enum { BLOCK = 65536 };
    Task *rows = malloc(BLOCK * sizeof *rows);
    int *target = malloc(BLOCK * sizeof *target);
    int rc = rows && target ? STORE_OK : STORE_ERR;
    for (long first = 0; rc == STORE_OK && first < st->count; first += BLOCK) {
        long n = st->count - first < BLOCK ? st->count - first : BLOCK;
        if (store_read_tasks_range(st, first, n, rows, target) != STORE_OK) {
            store_set_error("cannot read /tasks");
            rc = STORE_ERR;
            break;
        }
        for (long i = 0; i < n; i++) {
            const Task *a = &rows[i], *b = &grid->tasks[first + i];
            int tg = b->model == MODEL_QUADRATIC ? job->target : -1;
            /* alpha / eta: NaN in both where the regime has no such axis */
            int axes = (a->alpha == b->alpha || (isnan(a->alpha) && isnan(b->alpha))) &&
                       (a->eta == b->eta || (isnan(a->eta) && isnan(b->eta)));
            if (a->id != b->id || a->model != b->model || a->d != b->d || a->N != b->N
                || a->n != b->n || a->regime != b->regime || a->replicate != b->replicate
                || target[i] != tg || !axes) {
                store_set_error("/tasks row %ld is (%s d=%d N=%d n=%ld %s rep=%d), the job's task "
                                "%ld is (%s d=%d N=%d n=%ld %s rep=%d)", first + i,
                                job_model_name(a->model), a->d, a->N, a->n,
                                job_regime_name(a->regime), a->replicate, b->id,
                                job_model_name(b->model), b->d, b->N, b->n,
                                job_regime_name(b->regime), b->replicate);
                rc = STORE_EBAD;
                break;
            }
        }
    }
    free(rows);
    free(target);
    return rc;
}

/* ---- reads ------------------------------------------------------------------------ */

long store_task_count(const Store *st) { return st->count; }
int store_curve_points(const Store *st) { return st->curve_points; }
int store_save_weights(const Store *st) { return st->save_weights; }

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
    return store_io_rows(st->status, st->dxpl, H5T_NATIVE_UINT8, 0, st->count, 1, status, 0);
}

/* One int32 member of /results for every task, in blocks. */
static int read_int_member(const Store *st, const char *member, int *out)
{
    enum { BLOCK = 1 << 20 };
    int rc = STORE_OK;
    int32_t *buf = malloc(BLOCK * sizeof *buf);
    hid_t mt = H5Tcreate(H5T_COMPOUND, sizeof(int32_t));
    if (!buf || mt < 0 || H5Tinsert(mt, member, 0, H5T_NATIVE_INT32) < 0)
        rc = STORE_ERR;
    for (long first = 0; rc == STORE_OK && first < st->count; first += BLOCK) {
        long n = st->count - first < BLOCK ? st->count - first : BLOCK;
        if (store_io_rows(st->results, st->dxpl, mt, first, n, 1, buf, 0) != 0)
            rc = STORE_ERR;
        for (long i = 0; rc == STORE_OK && i < n; i++)
            out[first + i] = buf[i];
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

int store_read_tasks_range(const Store *st, long first, long count, Task *tasks, int *target)
{
    if (first < 0 || count < 0 || first + count > st->count)
        return STORE_ERR;
    enum { BLOCK = 65536 };
    int rc = STORE_OK;
    StoreTaskRow *rows = malloc(BLOCK * sizeof *rows);
    hid_t mt = store_type_task();
    if (!rows)
        rc = STORE_ERR;
    for (long at = 0; rc == STORE_OK && at < count; at += BLOCK) {
        long n = count - at < BLOCK ? count - at : BLOCK;
        for (long i = 0; i < n; i++) /* older files have no alpha, eta: they stay NaN */
            rows[i].alpha = rows[i].eta = NAN;
        if (store_io_rows(st->tasks, st->dxpl, mt, first + at, n, 1, rows, 0) < 0) {
            rc = STORE_ERR;
            break;
        }
        for (long i = 0; i < n; i++) {
            const StoreTaskRow *r = &rows[i];
            tasks[at + i] = (Task){.id = r->id, .model = r->model, .d = r->d, .N = r->N,
                                   .n = r->n, .regime = r->regime, .replicate = r->replicate,
                                   .alpha = r->alpha, .eta = r->eta};
            if (target)
                target[at + i] = r->target;
        }
    }
    H5Tclose(mt);
    free(rows);
    return rc;
}

int store_read_tasks(const Store *st, Task *tasks, int *target)
{
    return store_read_tasks_range(st, 0, st->count, tasks, target);
}

static void row_to_result(const StoreRow *r, TaskResult *res)
{
    memset(res, 0, sizeof *res); /* padding too: callers compare rows with memcmp */
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
    enum { BLOCK = 65536 }; /* bounded scratch, whatever the file's size */
    int rc = STORE_OK;
    StoreRow *rows = malloc((size_t)(count < BLOCK ? (count ? count : 1) : BLOCK) * sizeof *rows);
    hid_t mt = store_type_row();
    if (!rows)
        rc = STORE_ERR;
    for (long at = 0; rc == STORE_OK && at < count; at += BLOCK) {
        long n = count - at < BLOCK ? count - at : BLOCK;
        for (long i = 0; i < n; i++) /* members an older file lacks keep these */
            store_row_fill(&rows[i]);
        if (store_io_rows(st->results, st->dxpl, mt, first + at, n, 1, rows, 0) != 0) {
            rc = STORE_ERR;
            break;
        }
        for (long i = 0; i < n; i++) {
            row_to_result(&rows[i], &res[at + i]);
            if (rank)
                rank[at + i] = rows[i].rank;
            if (attempts)
                attempts[at + i] = rows[i].attempts;
        }
    }
    H5Tclose(mt);
    free(rows);
    return rc;
}

int store_read_state(const Store *st, long first, long count, uint8_t *status, TaskResult *res,
                     int *rank, int *attempts)
{
    if (first < 0 || count < 0 || first + count > st->count)
        return STORE_ERR;
    if (count == 0)
        return STORE_OK;
    if (store_io_rows(st->status, st->dxpl, H5T_NATIVE_UINT8, first, count, 1, status, 0) < 0)
        return STORE_ERR;
    return store_read_results(st, first, count, res, rank, attempts);
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

int store_check_current(const Store *st)
{
    long version = 0;
    if (store_attr_get_long(st->file, "format_version", &version) < 0)
        return STORE_ERR;
    if (version == STORE_FORMAT_VERSION)
        return STORE_OK;
    store_set_error("made by an earlier lazysweep release (results format %ld; this one writes "
                    "%d, whose random numbers and solvers differ)", version, STORE_FORMAT_VERSION);
    return STORE_EOLD;
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
