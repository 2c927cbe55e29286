/* datacache: see include/datacache.h.
 *
 * Targets and test sets: a few entries, least recently used out first, within a memory
 * cap (a test set is test_samples x d doubles: 36 MB at d = 450): the scheduler sends a
 * worker the tasks of one data group in a row where it can (src/sched.c), but largest
 * first across groups, so a worker comes back to earlier (model, d, replicate)s.
 * Training sets: only the last one, since it can be the largest array of a task
 * (n x d: 0.5 GB at d = 200, n = 8d^2) and plan's memory check counts one per task. */
#include "datacache.h"

#include <stdlib.h>
#include <string.h>

#define TARGET_ENTRIES 8
#define TARGET_BYTES (512.0 * 1024 * 1024)

/* What, besides (model, d, replicate), a target and its samples depend on. */
typedef struct {
    uint64_t seed;
    int target, rank, s;
    double noise, delta;
} DataIdentity;

typedef struct {
    int valid;
    DataIdentity id;
    int model, d, replicate;
    CachedTarget pub;
    double *Xt, *yt;
    Target *t;
    unsigned long used; /* last use, for eviction */
} TargetEntry;

typedef struct {
    int valid;
    DataIdentity id;
    RngKey key;
    int model, d, replicate;
    long n;
    double *X, *y;
} TrainEntry;

static TargetEntry targets[TARGET_ENTRIES];
static TrainEntry train;
static unsigned long clock_now;
static DataCacheStats stats;

static DataIdentity identity(const JobSpec *job)
{
    DataIdentity id;
    memset(&id, 0, sizeof id); /* compared as bytes below: padding too */
    id.seed = job->seed;
    id.target = job->target;
    id.rank = job->rank;
    id.s = job->mixture_rank;
    id.noise = job->noise;
    id.delta = job->mixture_delta;
    return id;
}

static void target_free(TargetEntry *e)
{
    data_target_free(e->t);
    free(e->Xt);
    free(e->yt);
    memset(e, 0, sizeof *e);
}

static void train_free(void)
{
    free(train.X);
    free(train.y);
    memset(&train, 0, sizeof train);
}

void datacache_release_train(void) { train_free(); }

void datacache_clear(void)
{
    for (int i = 0; i < TARGET_ENTRIES; i++)
        target_free(&targets[i]);
    train_free();
}

DataCacheStats datacache_stats(void) { return stats; }
void datacache_stats_reset(void) { memset(&stats, 0, sizeof stats); }

static double target_bytes(long n_test, int d) { return 8.0 * (double)n_test * (d + 1) + 8.0 * d * d; }

const CachedTarget *datacache_target(const JobSpec *job, int model, int d, int replicate)
{
    DataIdentity id = identity(job);
    long nt = job->test_samples > 0 ? job->test_samples : 0;
    for (int i = 0; i < TARGET_ENTRIES; i++) {
        TargetEntry *e = &targets[i];
        if (e->valid && !memcmp(&e->id, &id, sizeof id) && e->model == model && e->d == d &&
            e->replicate == replicate && e->pub.n_test == nt) {
            e->used = ++clock_now;
            stats.target_hits++;
            return &e->pub;
        }
    }
    stats.target_draws++;
    /* evict least recently used entries until a slot is free and the cap holds */
    TargetEntry *e = NULL;
    for (;;) {
        double total = target_bytes(nt, d);
        TargetEntry *lru = NULL;
        for (int i = 0; i < TARGET_ENTRIES; i++) {
            if (targets[i].valid)
                total += target_bytes(targets[i].pub.n_test, targets[i].d);
            if (!targets[i].valid)
                e = e ? e : &targets[i];
            else if (!lru || targets[i].used < lru->used)
                lru = &targets[i];
        }
        if (e && (total <= TARGET_BYTES || !lru))
            break;
        target_free(lru);
        e = NULL;
    }
    e->t = data_target_create(job, model, d, replicate);
    if (!e->t)
        return NULL;
    if (nt > 0) {
        e->Xt = malloc(sizeof(double) * (size_t)nt * d);
        e->yt = malloc(sizeof(double) * (size_t)nt);
        RngKey key = rng_key(job->seed, RNG_SITE_TEST, (uint32_t)model, (uint32_t)d,
                             (uint32_t)replicate);
        if (!e->Xt || !e->yt || data_sample(e->t, key, 0, nt, e->Xt, e->yt)) {
            target_free(e);
            return NULL;
        }
    }
    e->id = id;
    e->model = model;
    e->d = d;
    e->replicate = replicate;
    e->pub = (CachedTarget){e->t, e->Xt, e->yt, nt, data_bayes_error(e->t)};
    e->valid = 1;
    e->used = ++clock_now;
    return &e->pub;
}

int datacache_train(const JobSpec *job, const Target *tg, RngKey key, int model, int d, long n,
                    int replicate, const double **X, const double **y)
{
    DataIdentity id = identity(job);
    if (train.valid && !memcmp(&train.id, &id, sizeof id) && train.key.v[0] == key.v[0] &&
        train.key.v[1] == key.v[1] && train.model == model && train.d == d && train.n == n &&
        train.replicate == replicate) {
        stats.train_hits++;
    } else {
        stats.train_draws++;
        train_free(); /* before the new one: never two training sets at once */
        train.X = malloc(sizeof(double) * (size_t)n * d);
        train.y = malloc(sizeof(double) * (size_t)n);
        if (!train.X || !train.y || data_sample(tg, key, 0, n, train.X, train.y)) {
            train_free();
            return -1;
        }
        train.id = id;
        train.key = key;
        train.model = model;
        train.d = d;
        train.n = n;
        train.replicate = replicate;
        train.valid = 1;
    }
    *X = train.X;
    *y = train.y;
    return 0;
}
