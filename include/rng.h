/* rng: counter-based random streams (Random123 Philox4x32-10), keyed by *what*
 * needs randomness (job seed, the task parameters the quantity depends on, a
 * call-site constant), never by rank or schedule. Every value is a pure function
 * of (key, sub-stream, position): no hidden state, no cached Box-Muller value.
 * No MPI, no HDF5, no BLAS. */
#ifndef LS_RNG_H
#define LS_RNG_H

#include <stddef.h>
#include <stdint.h>

/* Call sites: one constant per random quantity. Never renumber (results depend on them). */
enum {
    RNG_SITE_TARGET = 1, /* B or the mixture frame: key (d, replicate) */
    RNG_SITE_W0 = 2,     /* first-layer rows: key (d, replicate), sub-stream = row i */
    RNG_SITE_A0 = 3,     /* second layer: key (d, replicate), sub-stream = neuron i */
    RNG_SITE_TRAIN = 4,  /* training set: key (model, d, n, replicate), sub-stream = sample j */
    RNG_SITE_TEST = 5,   /* test set: key (model, d, replicate), sub-stream = sample j */
    RNG_SITE_SGD = 6,    /* online SGD fresh samples: key (model, d, replicate), sub = sample */
    RNG_SITE_MINIBATCH = 7, /* minibatch indices on a finite set: key (model, d, n, replicate) */
    RNG_SITE_NOISE = 8,  /* label noise (if drawn separately from x) */
    RNG_SITE_ONESTEP = 9, /* onestep: the n0 samples of the step: key (model, d, n0, replicate) */
    RNG_SITE_TESTING = 99 /* unit tests only */
};

typedef struct {
    uint32_t v[2];
} RngKey;

/* Derives a stream key from the job seed, a call site and up to three parameters
 * (pack more into them if needed). Different arguments give independent streams. */
RngKey rng_key(uint64_t seed, uint32_t site, uint32_t a, uint32_t b, uint32_t c);

/* Raw Philox output: block `block` of sub-stream `sub` (4 x 32 bits). */
void rng_block(RngKey key, uint64_t sub, uint32_t block, uint32_t out[4]);

/* The first n values of sub-stream `sub`. Value k comes from block k/2, so a prefix
 * of a longer draw equals a shorter draw. */
void rng_uniform(RngKey key, uint64_t sub, double *out, size_t n);     /* [0, 1), 53 bits */
/* N(0, 1): Box-Muller on block k/2's uniforms (u0, u1): values 2b, 2b + 1 are
 * r cos(2 pi u1), r sin(2 pi u1) with r = sqrt(-2 log(1 - u0)), computed with SLEEF's
 * deterministic functions, so every kernel (rng_isa) gives the same bits. */
void rng_normal(RngKey key, uint64_t sub, double *out, size_t n);
/* rows x n normals, row-major: row i holds rng_normal(key, sub + i, ., n) (data_sample's
 * rows; faster than one call per row when n is short). */
void rng_normal_rows(RngKey key, uint64_t sub, size_t rows, size_t n, double *out);
void rng_exponential(RngKey key, uint64_t sub, double *out, size_t n); /* Exp(1) */
/* The kernel in use: "avx512", "avx2", "scalar" (all bit-identical) or "generic" (a CPU
 * without FMA: normals differ in the last bits). The environment variable
 * LAZYSWEEP_RNG_ISA, or rng_force_isa (tests), picks one; rng_force_isa returns -1 if
 * the name is unknown or this CPU cannot run it (the choice is then unchanged; an
 * unusable LAZYSWEEP_RNG_ISA leaves the default). */
const char *rng_isa(void);
int rng_force_isa(const char *name);
/* A uniform point on the unit sphere S^{d-1}. */
void rng_sphere(RngKey key, uint64_t sub, double *out, size_t d);
/* A Haar-random d x s orthonormal frame (row-major, columns orthonormal), s <= d.
 * Returns 0, or -1 if the QR factorization failed. */
int rng_frame(RngKey key, uint64_t sub, int d, int s, double *U);

#endif
