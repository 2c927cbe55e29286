/* store_impl: what the store's files share — the handle, the row structs in memory and
 * the HDF5 types that map them to the file. Private to src/store*.c. */
#ifndef LS_STORE_IMPL_H
#define LS_STORE_IMPL_H

#include <hdf5.h>

#include "store.h"

/* One /results row in memory (file field names = member names). */
typedef struct {
    double risk_train, risk_test, risk_pop, r0, error_test, bayes_error, theory;
    int64_t iterations;
    double residual, flops, seconds;
    int32_t rank, attempts, cause, stop;
    int32_t restarts;
    double error_floor;
    double t_final, theta_dist;
    int32_t dead;
    double risk_nt, risk_ey, ebar, step_norm, risk_rf0;
} StoreRow;

/* One /tasks row in memory, members in the public field order. */
typedef struct {
    int64_t id;
    int8_t model, target;
    int32_t d, N;
    int64_t n;
    int8_t regime;
    int32_t replicate;
    double alpha, eta;   /* NaN where the regime has no such axis; absent in older files */
} StoreTaskRow;

/* One /curves element. */
typedef struct {
    double train, test;
} StoreCurvePoint;

struct Store {
    hid_t file;
    hid_t tasks, results, status, runs;  /* datasets, always present */
    hid_t curves, curves_steps;          /* H5I_INVALID_HID when curve_points == 0 */
    hid_t dxpl;                          /* raw transfers: independent (parallel) */
    long count;                          /* tasks */
    int curve_points;
    int save_weights;
    int parallel;                        /* opened through MPI-IO */
    int run_slot;                        /* /runs record of this run, -1 = none */
};

/* Memory types (caller closes with H5Tclose). File types are the same, packed, with
 * little-endian members (store_type_file). */
hid_t store_type_row(void);
hid_t store_type_task(void);
hid_t store_type_run(void);
hid_t store_type_curve(void);
hid_t store_type_file(hid_t mem);

/* Fill values of a /results and /runs row. */
void store_row_fill(StoreRow *row);
void store_run_fill(StoreRun *run);

/* Builds every object of a new file, /tasks rows included (store_layout.c). Serial. */
int store_layout_create(hid_t file, const JobSpec *job, const char *job_text,
                        const char *job_hash, const Grid *grid, const StoreProvenance *prov);

/* The detail behind the last failure (store_error); keeps the first one set after a
 * reset with an empty message, so the root cause is what is reported. */
void store_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void store_reset_error(void);

/* Opens the datasets of an open file into st (store_read.c); checks format/job hash.
 * Returns STORE_OK, STORE_EFOREIGN, STORE_EJOB or STORE_ERR. */
int store_check_file(hid_t file, const char *job_hash);
int store_attach(Store *st, hid_t file, hid_t dxpl, int parallel);
/* A handle holding only `file` and `dxpl` (no datasets), for store_detach / store_close. */
void store_attach_none(Store *st, hid_t file, hid_t dxpl);
/* A transfer property list for row I/O: small type-conversion buffer; independent MPI-IO
 * when parallel. */
hid_t store_dxpl(int parallel);
/* Closes what store_attach opened, dxpl (unless H5P_DEFAULT/invalid) and the file; frees st. */
int store_detach(Store *st);
/* H5Fopen(path, flags, fapl) + check + attach; *out = the handle (owning dxpl) on STORE_OK. */
int store_open_checked(const char *path, hid_t fapl, unsigned flags, const char *job_hash,
                       hid_t dxpl, int parallel, Store **out);

/* Writes `count` rows of `mem` type from buf at `first` of 1-D (or leading dim of 2-D
 * with `inner` elements per row) dataset `dset`. */
int store_io_rows(hid_t dset, hid_t dxpl, hid_t mem, long first, long count, long inner,
                  void *buf, int write);

/* String attribute helpers. */
int store_attr_put_string(hid_t obj, const char *name, const char *value);
int store_attr_put_long(hid_t obj, const char *name, long value);
char *store_attr_get_string(hid_t obj, const char *name);
int store_attr_get_long(hid_t obj, const char *name, long *value);

/* Silences the HDF5 error stack printer (returns previous state via *saved*). */
void store_quiet(H5E_auto2_t *func, void **data);
void store_loud(H5E_auto2_t func, void *data);

#endif
