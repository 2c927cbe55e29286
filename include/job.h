/* job: reads a job file (INI, parsed by libinih) into a JobSpec and validates it.
 * Owns the one table of job keys (name, section, type, bounds, default, help) that
 * also prints `lazysweep help job`. Touches no file but the job file it reads.
 * JobSpec holds no pointers, so it can be broadcast as bytes. */
#ifndef LS_JOB_H
#define LS_JOB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JOB_MAX_LIST 256 /* entries per list key */
#define JOB_MAX_DROPS 8  /* nn_lr_drops entries */

enum { MODEL_QUADRATIC, MODEL_MIXTURE, MODEL_COUNT };
enum { TARGET_EXPONENTIAL, TARGET_WIGNER, TARGET_LOWRANK, TARGET_SIGNED, TARGET_COUNT };
/* REGIME_NULL fits nothing instantly: for testing the scheduler and the store. */
enum { REGIME_RF, REGIME_NT, REGIME_NN, REGIME_NULL, REGIME_COUNT };
enum { INIT_GAUSSIAN, INIT_SPHERE };
/* NN_METHOD_DEFAULT ("auto") resolves per task: gd for finite n, population for n = inf. */
enum { NN_METHOD_DEFAULT, NN_METHOD_GD, NN_METHOD_SGD, NN_METHOD_POPULATION, NN_METHOD_VARPRO };
enum { NN_A_NORMAL, NN_A_POSITIVE, NN_A_SHARED };
/* How gd and population minimise when nn_lr = auto. */
enum { NN_OPTIMIZER_GD, NN_OPTIMIZER_LBFGS };

/* Training-set size: n = round(coef * {1, d, d^2, N d}), or the population (n = inf). */
typedef enum { NFORM_ABS, NFORM_D, NFORM_D2, NFORM_ND, NFORM_INF } NForm;
typedef struct {
    NForm form;
    double coef;
} NSpec;

typedef struct {
    char path[512];              /* the job file as given */
    /* [sweep] */
    char name[64];
    uint64_t seed;
    int replicates;
    int crash_limit;             /* dispatches without a result before `crashed` (not in the hash) */
    /* [model] */
    int n_models, models[MODEL_COUNT]; /* MODEL_*, in the order given */
    int target;                  /* TARGET_* */
    int rank;                    /* r for target = lowrank */
    double noise;                /* tau, label noise standard deviation */
    int mixture_rank;            /* s */
    double mixture_delta;        /* delta, 0 < delta < 1 */
    /* [grid] */
    int n_d, d[JOB_MAX_LIST];
    int width_is_rho;            /* 1: rho[] given (N = round(rho d)); 0: N[] given */
    int n_width;
    double rho[JOB_MAX_LIST];
    int N[JOB_MAX_LIST];
    int n_n;
    NSpec n[JOB_MAX_LIST];
    int n_regimes, regimes[REGIME_COUNT]; /* REGIME_*, in the order given */
    /* [train] */
    int init;                    /* INIT_* */
    double ridge;                /* lambda >= 0 */
    int nn_method;               /* NN_METHOD_* */
    int nn_a_init;               /* NN_A_* */
    int nn_optimizer;            /* NN_OPTIMIZER_* */
    long nn_steps;
    double nn_lr;                /* 0 = auto (chosen and adapted) */
    int nn_batch;                /* sgd only */
    double nn_tol;               /* relative loss decrease */
    int n_drops;                 /* nn_lr_drops: from step drop_step[k] on, lr *= drop_factor[k] */
    long drop_step[JOB_MAX_DROPS];
    double drop_factor[JOB_MAX_DROPS];
    /* [eval] */
    long test_samples;
    int save_weights;
    int curve_points;
} JobSpec;

/* Fills every key with its default (grid lists empty). */
void job_defaults(JobSpec *job);

/* Parses and validates `path`. On error: returns -1 and writes one line
 * "FILE:LINE: [section] key: expected ..., got '...'" into err. Reads nothing else.
 * If text is not NULL it receives the file's bytes (malloc'ed, NUL-terminated). */
int job_load(const char *path, JobSpec *job, char **text, char *err, size_t errlen);
/* Same from a string (tests); `path` is only used in messages. */
int job_load_string(const char *text, const char *path, JobSpec *job, char *err, size_t errlen);

/* The effective settings, one "section.key = value" line per key, in table order,
 * values normalised (same job => same text, whatever the spelling or comments). */
void job_print_canonical(const JobSpec *job, FILE *out);
/* FNV-1a 64 of the canonical text: the identity of a job for resuming a file. */
uint64_t job_hash(const JobSpec *job);

/* n for one task: -1 for the population (n = inf). */
long job_n_value(const NSpec *ns, int d, int N);
/* The NN method a task at size n actually runs (resolves NN_METHOD_DEFAULT). */
int job_nn_method(const JobSpec *job, long n);

/* Names for enums (as written in job files and in results). */
const char *job_model_name(int model);
const char *job_target_name(int target);
const char *job_regime_name(int regime);
const char *job_nn_method_name(int method);
const char *job_a_init_name(int a_init);
/* Writes "4d^2", "inf", "1000", ... */
void job_n_format(const NSpec *ns, char *buf, size_t len);

/* `lazysweep help job`: every key with section, type, default and meaning. */
void job_print_help(FILE *out);

#endif
