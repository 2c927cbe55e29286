/* datacache: what a worker keeps between tasks so that tasks sharing data do not redraw
 * it — the (target, test set) of (model, d, replicate) and the training set of
 * (model, d, n, replicate). Every entry is a pure function of its key (the streams of
 * src/task.c), so reuse never changes a result bit. One process, no MPI, no HDF5. */
#ifndef LS_DATACACHE_H
#define LS_DATACACHE_H

#include "data.h"
#include "job.h"

typedef struct {
    const Target *t;
    const double *Xt, *yt; /* test set: n_test x d row-major and n_test; NULL when none */
    long n_test;
    double bayes;          /* data_bayes_error(t) */
} CachedTarget;

/* The target and test set of (model, d, replicate), drawn if not kept; NULL when out of
 * memory. Valid until the next datacache_target or datacache_clear call. */
const CachedTarget *datacache_target(const JobSpec *job, int model, int d, int replicate);

/* The training set of (model, d, n, replicate) (n > 0) from stream `key`: *X (n x d
 * row-major) and *y (n), drawn from tg if not kept. Only the most recent set is kept
 * (a worker's peak memory stays one training set): valid until the next call. Returns 0,
 * or -1 when out of memory. */
int datacache_train(const JobSpec *job, const Target *tg, RngKey key, int model, int d, long n,
                    int replicate, const double **X, const double **y);

/* Frees the kept training set: a task without one (n = inf) must not carry the last
 * task's set, which plan's memory estimate of that task does not count. */
void datacache_release_train(void);

/* Reuse counts since the process started (or the last datacache_stats_reset). */
typedef struct {
    long train_hits, train_draws; /* tasks with n > 0 */
    long target_hits, target_draws;
} DataCacheStats;
DataCacheStats datacache_stats(void);
void datacache_stats_reset(void);

/* Frees everything kept. Safe to call any time. */
void datacache_clear(void);

#endif
