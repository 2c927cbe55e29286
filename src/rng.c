/* rng: see include/rng.h. Counter layout: {block, sub low, sub high, 0}. */
#include "rng.h"

#include <math.h>

#include <Random123/philox.h>

#include "linalg.h"

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

/* Two 53-bit uniforms in [0, 1) from one block. */
static void two_uniforms(RngKey key, uint64_t sub, uint32_t block, double u[2])
{
    uint32_t w[4];
    rng_block(key, sub, block, w);
    for (int i = 0; i < 2; i++) {
        uint64_t bits = ((uint64_t)w[2 * i] << 32) | w[2 * i + 1];
        u[i] = (double)(bits >> 11) * 0x1.0p-53;
    }
}

void rng_uniform(RngKey key, uint64_t sub, double *out, size_t n)
{
    double u[2];
    for (size_t k = 0; k < n; k += 2) {
        two_uniforms(key, sub, (uint32_t)(k / 2), u);
        out[k] = u[0];
        if (k + 1 < n)
            out[k + 1] = u[1];
    }
}

void rng_normal(RngKey key, uint64_t sub, double *out, size_t n)
{
    /* Box-Muller on one block gives a pair; both are used, nothing is cached. */
    double u[2];
    for (size_t k = 0; k < n; k += 2) {
        two_uniforms(key, sub, (uint32_t)(k / 2), u);
        double r = sqrt(-2.0 * log1p(-u[0])); /* 1 - u in (0, 1]: finite */
        double t = 2.0 * M_PI * u[1];
        out[k] = r * cos(t);
        if (k + 1 < n)
            out[k + 1] = r * sin(t);
    }
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
