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
#define JOB_MAX_KEYS 64  /* room in key_line[] for the key table */
#define JOB_MAX_N 2000000000L /* largest training-set size: it keys a 32-bit stream counter */

enum { MODEL_QUADRATIC, MODEL_MIXTURE, MODEL_COUNT };
enum { TARGET_EXPONENTIAL, TARGET_WIGNER, TARGET_LOWRANK, TARGET_SIGNED, TARGET_COUNT };
/* REGIME_NULL fits nothing instantly: for testing the scheduler and the store. Beyond the
 * paper (SPEC §6-8): ALPHA / ALPHA_LIN (lazy <-> rich by the scale alpha, and its
 * linearisation), ONESTEP (one large first-layer step, then RF), KRR_RF / KRR_NT (the
 * kernel limits N -> inf; tasks have no width, N = 0). Never renumber: files store them. */
enum { REGIME_RF, REGIME_NT, REGIME_NN, REGIME_NULL, REGIME_ALPHA, REGIME_ALPHA_LIN,
       REGIME_ONESTEP, REGIME_KRR_RF, REGIME_KRR_NT, REGIME_COUNT };
/* The grid axis a regime adds (after regime, before replicate): none, alpha, onestep_eta. */
enum { AXIS_NONE, AXIS_ALPHA, AXIS_ETA };
/* onestep_a0 given as a rule rather than a number. */
#define ONESTEP_A0_INV_N (-1.0)      /* 1/N */
#define ONESTEP_A0_INV_SQRT_N (-2.0) /* 1/sqrt(N) */
enum { KRR_SOLVER_AUTO, KRR_SOLVER_DIRECT, KRR_SOLVER_CG };
enum { INIT_GAUSSIAN, INIT_SPHERE };
/* NN_METHOD_DEFAULT ("auto") is varpro (with escapes from stationary points): the method
 * that reaches the class optimum. NN_METHOD_CLASSIC resolves per task as auto did before
 * (gd for finite n, population for n = inf); its job identity is that of the old auto, so
 * results files made then resume with `nn_method = classic`. */
enum { NN_METHOD_DEFAULT, NN_METHOD_GD, NN_METHOD_SGD, NN_METHOD_POPULATION, NN_METHOD_VARPRO,
       NN_METHOD_CLASSIC };
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
    int n_alpha;
    double alpha[JOB_MAX_LIST];  /* alpha and alpha_lin: scales alpha > 0 */
    int n_eta;
    double eta[JOB_MAX_LIST];    /* onestep: eta~ >= 0 or INFINITY */
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
    double nn_gtol;              /* stationarity: |grad| |theta| <= nn_gtol * initial loss */
    double nn_opt_tol;           /* n = inf: converged = within nn_opt_tol * R0 of the optimum */
    int nn_restarts;             /* varpro: escapes from stationary points, at most */
    double alpha_lr;             /* 0 = auto: eta(alpha) = eta_1 min(1, alpha)^(4/3) */
    double alpha_horizon;        /* 0 = auto: where linearised GD is near the NT risk */
    double alpha_horizon_tol;    /* auto horizon: within this * R0 of the NT risk */
    double alpha_tol;            /* stop when the decrease over 200 steps < this * R */
    int n_onestep_n0;
    NSpec onestep_n0[JOB_MAX_LIST]; /* [0]: samples of the one step (inf: population step) */
    double onestep_a0;           /* > 0, or ONESTEP_A0_INV_N / ONESTEP_A0_INV_SQRT_N */
    int onestep_center;          /* 1: c0 = the optimal offset at initialisation */
    int krr_solver;              /* KRR_SOLVER_* */
    long krr_max_direct;         /* largest n for the direct solve */
    int n_drops;                 /* nn_lr_drops: from step drop_step[k] on, lr *= drop_factor[k] */
    long drop_step[JOB_MAX_DROPS];
    double drop_factor[JOB_MAX_DROPS];
    /* [eval] */
    long test_samples;
    int save_weights;
    int curve_points;
    /* where each key of the table was set, for messages (0 = default); see job_where */
    int key_line[JOB_MAX_KEYS];
} JobSpec;

/* Fills every key with its default (grid lists empty). */
void job_defaults(JobSpec *job);

/* Parses and validates `path`. On error: returns -1 and writes one line
 * "FILE:LINE: [section] key: expected ..., got '...'" into err. Reads nothing else.
 * If text is not NULL it receives the file's bytes (malloc'ed, NUL-terminated). */
int job_load(const char *path, JobSpec *job, char **text, char *err, size_t errlen);
/* Same from a string (tests); `path` is only used in messages. */
int job_load_string(const char *text, const char *path, JobSpec *job, char *err, size_t errlen);

/* "FILE:LINE: [section] key" for a message about a key's value (": LINE" left out when
 * the key was not given); for checks made after parsing (grid size, memory). */
void job_where(const JobSpec *job, const char *section, const char *key, char *buf, size_t len);

/* The effective settings, one "section.key = value" line per key, in table order,
 * values normalised (same job => same text, whatever the spelling or comments). */
void job_print_canonical(const JobSpec *job, FILE *out);
/* (It parses back to the same job and hash. The hash leaves out `nn_method = classic`,
 * so that a classic job is the old auto job, see NN_METHOD_CLASSIC.) */
/* FNV-1a 64 of the canonical text: the identity of a job for resuming a file. */
uint64_t job_hash(const JobSpec *job);

/* n for one task: -1 for the population (n = inf). */
long job_n_value(const NSpec *ns, int d, int N);
/* The axis (AXIS_*) a regime adds to the grid, and whether its tasks have a width. */
int job_regime_axis(int regime);
int job_regime_has_width(int regime);
/* a0 of the onestep regime at width N (resolves the 1/N and 1/sqrtN rules). */
double job_onestep_a0(const JobSpec *job, int N);
/* 1 when the job's regime list contains `regime` (REGIME_*). */
int job_has_regime(const JobSpec *job, int regime);
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
