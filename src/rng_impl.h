/* rng_impl: the uniform and normal kernels of each instruction set (src/rng_simd.c),
 * between which rng.c chooses once at the first draw. Internal to rng.c and rng_simd.c.
 * Every kernel returns the same bits: uniforms are exact functions of Philox's output,
 * and the normals use only IEEE operations and SLEEF's deterministic (finz) functions. */
#ifndef LS_RNG_IMPL_H
#define LS_RNG_IMPL_H

#include "rng.h"

typedef struct {
    const char *name;
    int (*supported)(void); /* 1 if this CPU runs the kernel */
    /* The first n values of sub-stream sub, as rng_uniform / rng_normal promise. */
    void (*uniform)(RngKey key, uint64_t sub, double *out, size_t n);
    void (*normal)(RngKey key, uint64_t sub, double *out, size_t n);
    void (*normal_rows)(RngKey key, uint64_t sub, size_t rows, size_t n, double *out);
} RngIsa;

/* Best first; the last (generic) runs anywhere but its normals differ in the last bits
 * (SLEEF without FMA), so it is only taken on a CPU without FMA. */
extern const RngIsa rng_isa_avx512, rng_isa_avx2, rng_isa_scalar, rng_isa_generic;

#endif
