/* rng: see include/rng.h. Counter layout: {block, sub low, sub high, 0}. */
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <Random123/philox.h>

#include "linalg.h"
#include "rng_impl.h"

RngKey rng_key(uint64_t seed, uint32_t site, uint32_t a, uint32_t b, uint32_t c)
{
    /* Philox is a keyed bijection: encrypting (site, a, b, c) under the seed gives
     * a distinct, well-mixed key per parameter tuple. */
    philox4x32_ctr_t ctr = {{site, a, b, c}};
    philox4x32_key_t k = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
    philox4x32_ctr_t r = philox4x32_R(10, ctr, k);
    RngKey key = {{r.v[0], r.v[1] ^ r.v[2]}};
    return key;
}

void rng_block(RngKey key, uint64_t sub, uint32_t block, uint32_t out[4])
{
    philox4x32_ctr_t ctr = {{block, (uint32_t)sub, (uint32_t)(sub >> 32), 0}};
    philox4x32_key_t k = {{key.v[0], key.v[1]}};
    philox4x32_ctr_t r = philox4x32_R(10, ctr, k);
    for (int i = 0; i < 4; i++)
        out[i] = r.v[i];
}

/* The kernels (src/rng_simd.c): the best this CPU runs, chosen at the first draw
 * (lazysweep draws from one thread per process). LAZYSWEEP_RNG_ISA names one instead. */
static const RngIsa *const isas[] = {&rng_isa_avx512, &rng_isa_avx2, &rng_isa_scalar,
                                     &rng_isa_generic, NULL};
static const RngIsa *isa;

static const RngIsa *kernels(void)
{
    if (!isa) {
        const char *want = getenv("LAZYSWEEP_RNG_ISA");
        if (!want || rng_force_isa(want) != 0)
            for (int i = 0; !isa; i++)
                if (isas[i]->supported())
                    isa = isas[i];
    }
    return isa;
}

int rng_force_isa(const char *name)
{
    for (int i = 0; isas[i]; i++)
        if (strcmp(isas[i]->name, name) == 0 && isas[i]->supported()) {
            isa = isas[i];
            return 0;
        }
    return -1;
}

const char *rng_isa(void)
{
    return kernels()->name;
}

void rng_uniform(RngKey key, uint64_t sub, double *out, size_t n)
{
    kernels()->uniform(key, sub, out, n);
}

void rng_normal(RngKey key, uint64_t sub, double *out, size_t n)
{
    /* Box-Muller on one block gives a pair; both are used, nothing is cached. */
    kernels()->normal(key, sub, out, n);
}

void rng_normal_rows(RngKey key, uint64_t sub, size_t rows, size_t n, double *out)
{
    if (rows > 0 && n > 0)
        kernels()->normal_rows(key, sub, rows, n, out);
}

void rng_exponential(RngKey key, uint64_t sub, double *out, size_t n)
{
    rng_uniform(key, sub, out, n);
    for (size_t k = 0; k < n; k++)
        out[k] = -log1p(-out[k]);
}

void rng_sphere(RngKey key, uint64_t sub, double *out, size_t d)
{
    rng_normal(key, sub, out, d);
    double s = 0;
    for (size_t k = 0; k < d; k++)
        s += out[k] * out[k];
    s = 1.0 / sqrt(s);
    for (size_t k = 0; k < d; k++)
        out[k] *= s;
}

int rng_frame(RngKey key, uint64_t sub, int d, int s, double *U)
{
    /* QR of a Gaussian d x s matrix with R's diagonal made positive is Haar. */
    rng_normal(key, sub, U, (size_t)d * (size_t)s);
    return la_orthonormalize(d, s, U);
}
