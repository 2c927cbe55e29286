/* Random streams: Random123 known answers, the kernels of every instruction set against
 * Random123 (uniforms, bitwise), each other (normals, bitwise) and a long-double Box-Muller
 * (normals, a few ulp), determinism, independence of keys and call sites, prefix
 * property, and moments of the distributions. */
#include <float.h>
#include <stdint.h>
#include <stdlib.h>

#include <Random123/philox.h>

#include "harness.h"
#include "linalg.h"
#include "rng.h"

static void known_answers(void)
{
    GROUP("philox known answers");
    /* Random123's own test vectors (notes/machine.md). */
    struct { uint32_t c[4], k[2], out[4]; } kat[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (int i = 0; i < 3; i++) {
        philox4x32_ctr_t c = {{kat[i].c[0], kat[i].c[1], kat[i].c[2], kat[i].c[3]}};
        philox4x32_key_t k = {{kat[i].k[0], kat[i].k[1]}};
        philox4x32_ctr_t r = philox4x32_R(10, c, k);
        for (int j = 0; j < 4; j++)
            CHECK(r.v[j] == kat[i].out[j], "vector %d word %d: %08x != %08x", i, j, r.v[j], kat[i].out[j]);
        /* rng_block is Philox with counter {block, sub lo, sub hi, 0}: check the mapping. */
        if (kat[i].c[3] == 0) {
            RngKey key = {{kat[i].k[0], kat[i].k[1]}};
            uint32_t out[4];
            rng_block(key, (uint64_t)kat[i].c[1] | ((uint64_t)kat[i].c[2] << 32), kat[i].c[0], out);
            for (int j = 0; j < 4; j++)
                CHECK(out[j] == kat[i].out[j], "rng_block word %d", j);
        }
    }
}

/* The kernels this CPU runs; "generic" (no FMA) last: its normals differ in the last bits. */
static const char *paths[] = {"scalar", "avx2", "avx512", "generic"};
enum { NPATH = 4, NMAX = 1203 };

/* Value k of sub-stream sub, straight from Random123: the uniform of rng.h. */
static double oracle_uniform(RngKey key, uint64_t sub, size_t k)
{
    philox4x32_ctr_t c = {{(uint32_t)(k / 2), (uint32_t)sub, (uint32_t)(sub >> 32), 0}};
    philox4x32_key_t kk = {{key.v[0], key.v[1]}};
    philox4x32_ctr_t w = philox4x32_R(10, c, kk);
    int i = (int)(k % 2);
    uint64_t bits = ((uint64_t)w.v[2 * i] << 32) | w.v[2 * i + 1];
    return (double)(bits >> 11) * 0x1.0p-53;
}

/* Box-Muller in long double from the oracle uniforms; *r gets the radius. */
static long double oracle_normal(RngKey key, uint64_t sub, size_t k, long double *r)
{
    const long double pi = 3.141592653589793238462643383279502884L;
    long double u0 = oracle_uniform(key, sub, k - k % 2), u1 = oracle_uniform(key, sub, k - k % 2 + 1);
    *r = sqrtl(-2.0L * log1pl(-u0));
    return k % 2 ? *r * sinl(2 * pi * u1) : *r * cosl(2 * pi * u1);
}

/* (key, sub, n) cases: lengths around every vector width, data.c's d + 1, keys and
 * sub-streams with high bits set. */
static const size_t lens[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 21, 31, 33, 41, 63, 64, 65, 201, 451, NMAX};
static const uint64_t subs[] = {0, 1, 7, 0xffffffffu, 0x100000000ull, 0xdeadbeef12345678ull};

static void kernels(void)
{
    GROUP("kernels: uniforms = Random123, normals equal on every path");
    const char *start = rng_isa();
    CHECK(rng_force_isa("no-such-isa") == -1 && strcmp(rng_isa(), start) == 0,
          "an unknown kernel is refused and the choice kept (%s)", rng_isa());
    printf("rng: kernel in use: %s; runs here:", start);
    int ok[NPATH];
    for (int p = 0; p < NPATH; p++) {
        ok[p] = rng_force_isa(paths[p]) == 0;
        if (ok[p])
            printf(" %s", paths[p]);
    }
    printf("\n");
    CHECK(ok[0] && ok[3], "the scalar and generic kernels run on this CPU");
    static double ref[NMAX + 1], got[NMAX + 1], uni[NMAX + 1];
    const RngKey keys[] = {rng_key(1, RNG_SITE_TESTING, 0, 0, 0), {{0xffffffffu, 0xffffffffu}},
                           {{0, 0}}, rng_key(0x123456789abcdefull, RNG_SITE_TESTING, 7, 8, 9)};
    long ucases = 0, ubad = 0, ncases = 0, nbad = 0, gbad = 0, spill = 0, obad = 0;
    double worst = 0; /* largest |z - oracle| / (eps r) */
    for (size_t ki = 0; ki < sizeof keys / sizeof *keys; ki++)
        for (size_t si = 0; si < sizeof subs / sizeof *subs; si++)
            for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
                RngKey key = keys[ki];
                uint64_t sub = subs[si];
                size_t n = lens[li];
                rng_force_isa("scalar");
                rng_normal(key, sub, ref, n);
                for (size_t k = 0; k < n; k++) {
                    long double r, z = oracle_normal(key, sub, k, &r);
                    double e = (double)(fabsl(ref[k] - z) / (DBL_EPSILON * (r > 1 ? r : 1)));
                    worst = e > worst ? e : worst;
                    obad += !(e <= 4);
                }
                for (int p = 0; p < NPATH; p++) {
                    if (!ok[p])
                        continue;
                    rng_force_isa(paths[p]);
                    got[n] = uni[n] = -7; /* sentinel: nothing written past n */
                    rng_uniform(key, sub, uni, n);
                    ucases++;
                    int bad = uni[n] != -7;
                    for (size_t k = 0; k < n; k++)
                        bad |= uni[k] != oracle_uniform(key, sub, k);
                    ubad += bad;
                    rng_normal(key, sub, got, n);
                    spill += got[n] != -7;
                    if (p == 3) { /* generic: a few ulp from scalar, not bitwise */
                        for (size_t k = 0; k < n; k++)
                            gbad += !(fabs(got[k] - ref[k]) <= 4 * DBL_EPSILON * fmax(1, fabs(ref[k]) + 1));
                        continue;
                    }
                    ncases++;
                    nbad += memcmp(got, ref, n * sizeof *got) != 0;
                }
            }
    rng_force_isa(start);
    CHECK(ubad == 0, "uniforms bitwise = Random123 philox4x32_R(10): %ld of %ld (key, sub, n, kernel) cases differ",
          ubad, ucases);
    CHECK(nbad == 0, "normals bitwise equal to the scalar kernel: %ld of %ld cases differ", nbad, ncases);
    CHECK(spill == 0, "no kernel writes past n (%ld did)", spill);
    CHECK(obad == 0 && worst > 0, "normals within 4 eps r of long-double Box-Muller: %ld over, worst %.2f eps r",
          obad, worst);
    CHECK(gbad == 0, "generic (no-FMA) kernel within 4 eps (1 + |z|) of the others (%ld over)", gbad);
    printf("rng: worst normal error vs long double: %.2f eps r\n", worst);
}

static void rows(void)
{
    GROUP("rng_normal_rows = one rng_normal per row, on every kernel");
    const char *start = rng_isa();
    enum { R = 37, N = 130 };
    static double got[R * N + 1], want[N];
    RngKey key = rng_key(8, RNG_SITE_TESTING, 1, 1, 1);
    /* the sub-streams cross 2^32 (both counter words change between lanes) */
    const uint64_t s0[] = {0, 5, 0xffffffffu - 10};
    const size_t ns[] = {1, 2, 3, 4, 5, 7, 16, 21, 41, 95, 96, 97, N};
    for (int p = 0; p < NPATH; p++) {
        if (rng_force_isa(paths[p]) != 0)
            continue;
        long bad = 0, cases = 0, spill = 0;
        for (size_t si = 0; si < sizeof s0 / sizeof *s0; si++)
            for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++)
                for (size_t rows = 1; rows <= R; rows += 6) {
                    size_t n = ns[ni];
                    got[rows * n] = -7;
                    rng_normal_rows(key, s0[si], rows, n, got);
                    spill += got[rows * n] != -7;
                    for (size_t i = 0; i < rows; i++) {
                        rng_normal(key, s0[si] + i, want, n);
                        bad += memcmp(got + i * n, want, n * sizeof *want) != 0;
                        cases++;
                    }
                }
        CHECK(bad == 0 && spill == 0, "%s: %ld of %ld rows differ, %ld calls wrote past the end",
              paths[p], bad, cases, spill);
    }
    rng_force_isa(start);
}

static void prefix_all_paths(void)
{
    GROUP("prefix property on every kernel");
    const char *start = rng_isa();
    static double lng[200], sh[200];
    RngKey k = rng_key(3, RNG_SITE_TESTING, 4, 5, 6);
    for (int p = 0; p < NPATH; p++) {
        if (rng_force_isa(paths[p]) != 0)
            continue;
        rng_normal(k, 11, lng, 200);
        int bad = 0;
        for (size_t n = 1; n < 200; n++) {
            rng_normal(k, 11, sh, n);
            bad += memcmp(sh, lng, n * sizeof *sh) != 0;
            rng_uniform(k, 11, sh, n);
            rng_uniform(k, 11, lng, 200);
            bad += memcmp(sh, lng, n * sizeof *sh) != 0;
            rng_normal(k, 11, lng, 200);
        }
        CHECK(bad == 0, "%s: every n < 200 is a prefix of n = 200 (%d lengths differ)", paths[p], bad);
    }
    rng_force_isa(start);
}

static void determinism(void)
{
    GROUP("determinism and independence");
    double a[1000], b[1000], c[1000];
    RngKey k1 = rng_key(42, RNG_SITE_TESTING, 1, 2, 3);
    RngKey k1b = rng_key(42, RNG_SITE_TESTING, 1, 2, 3);
    rng_normal(k1, 5, a, 1000);
    rng_normal(k1b, 5, b, 1000);
    CHECK(memcmp(a, b, sizeof a) == 0, "same key, same sub-stream: identical numbers");
    /* prefix: a shorter draw is the start of a longer one (odd length too) */
    rng_normal(k1, 5, c, 333);
    CHECK(memcmp(a, c, 333 * sizeof(double)) == 0, "prefix property");
    int differ[5] = {0};
    RngKey others[5] = {rng_key(43, RNG_SITE_TESTING, 1, 2, 3), rng_key(42, RNG_SITE_TESTING + 1, 1, 2, 3),
                        rng_key(42, RNG_SITE_TESTING, 2, 2, 3), rng_key(42, RNG_SITE_TESTING, 1, 2, 4),
                        rng_key(42, RNG_SITE_TESTING, 1, 3, 2)};
    for (int o = 0; o < 5; o++) {
        rng_normal(others[o], 5, c, 1000);
        for (int i = 0; i < 1000; i++)
            differ[o] += a[i] != c[i];
        CHECK(differ[o] == 1000, "changed key component %d: %d of 1000 values differ", o, differ[o]);
    }
    rng_normal(k1, 6, c, 1000);
    int d6 = 0;
    for (int i = 0; i < 1000; i++)
        d6 += a[i] != c[i];
    CHECK(d6 == 1000, "another sub-stream: %d of 1000 differ", d6);
    /* correlation between two keys' streams is O(1/sqrt(n)) */
    double s = 0;
    rng_normal(others[2], 5, c, 1000);
    for (int i = 0; i < 1000; i++)
        s += a[i] * c[i];
    CHECK(fabs(s / 1000) < 5 / sqrt(1000.0), "cross-correlation %.4f within 5/sqrt(n)", s / 1000);
}

static void moments(void)
{
    GROUP("moments");
    const size_t n = 1000000;
    double *x = malloc(n * sizeof *x);
    RngKey k = rng_key(7, RNG_SITE_TESTING, 0, 0, 0);
    rng_normal(k, 0, x, n);
    double m1 = 0, m2 = 0, m3 = 0, m4 = 0;
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        m1 += v; m2 += v * v; m3 += v * v * v; m4 += v * v * v * v;
    }
    m1 /= n; m2 /= n; m3 /= n; m4 /= n;
    /* standard errors of the sample moments of N(0,1): sqrt(Var/n) with Var = 1, 2, 15, 96 */
    double sn = sqrt((double)n);
    CHECK_NEAR(m1, 0, 5 / sn, "normal mean (5 SE)");
    CHECK_NEAR(m2, 1, 5 * sqrt(2.0) / sn, "normal variance (5 SE)");
    CHECK_NEAR(m3, 0, 5 * sqrt(15.0) / sn, "normal third moment (5 SE)");
    CHECK_NEAR(m4, 3, 5 * sqrt(96.0) / sn, "normal fourth moment (5 SE)");
    /* tail: P(|Z| > 3) = 0.0026998 */
    size_t tail = 0;
    for (size_t i = 0; i < n; i++)
        tail += fabs(x[i]) > 3;
    double p = 0.0026998;
    CHECK_NEAR((double)tail / n, p, 5 * sqrt(p * (1 - p) / n), "P(|Z|>3) (5 SE)");

    rng_exponential(k, 1, x, n);
    m1 = m2 = 0;
    int neg = 0;
    for (size_t i = 0; i < n; i++) {
        m1 += x[i]; m2 += x[i] * x[i]; neg += x[i] < 0;
    }
    m1 /= n; m2 /= n;
    CHECK(neg == 0, "exponential values >= 0");
    CHECK_NEAR(m1, 1, 5 * 1 / sn, "exponential mean (5 SE, Var 1)");
    CHECK_NEAR(m2, 2, 5 * sqrt(20.0) / sn, "exponential second moment (5 SE, Var 20)");

    rng_uniform(k, 2, x, n);
    m1 = 0;
    int out = 0;
    for (size_t i = 0; i < n; i++) {
        m1 += x[i]; out += x[i] < 0 || x[i] >= 1;
    }
    CHECK(out == 0, "uniform in [0,1)");
    CHECK_NEAR(m1 / n, 0.5, 5 * sqrt(1 / 12.0) / sn, "uniform mean (5 SE)");
    free(x);
}

static void sphere_and_frame(void)
{
    GROUP("sphere and frame");
    RngKey k = rng_key(9, RNG_SITE_TESTING, 0, 0, 0);
    const int d = 10, reps = 20000;
    double v[10], mean[10] = {0}, second = 0, norm_err = 0;
    for (int r = 0; r < reps; r++) {
        rng_sphere(k, (uint64_t)r, v, d);
        double nn = 0;
        for (int i = 0; i < d; i++) {
            nn += v[i] * v[i]; mean[i] += v[i];
        }
        norm_err = fmax(norm_err, fabs(nn - 1));
        second += v[0] * v[0];
    }
    CHECK(norm_err < 1e-14, "unit norm (max error %.2e)", norm_err);
    /* E v_0 = 0, E v_0^2 = 1/d with Var(v_0^2) = 2(d-1)/(d^2(d+2)) */
    CHECK_NEAR(mean[0] / reps, 0, 5 * sqrt(1.0 / d / reps), "sphere coordinate mean (5 SE)");
    CHECK_NEAR(second / reps, 1.0 / d, 5 * sqrt(2.0 * (d - 1) / (d * d * (d + 2.0)) / reps),
               "sphere E v_0^2 = 1/d (5 SE)");

    const int D = 12, s = 4;
    double U[48], UtU[16];
    CHECK(rng_frame(k, 3, D, s, U) == 0, "frame QR succeeded");
    la_gemm('T', 'N', s, s, D, 1.0, U, s, U, s, 0.0, UtU, s);
    double err = 0;
    for (int i = 0; i < s; i++)
        for (int j = 0; j < s; j++)
            err = fmax(err, fabs(UtU[i * s + j] - (i == j)));
    CHECK(err < 1e-12, "U^T U = I to 1e-12 (max error %.2e)", err);
    /* Haar: E U_00^2 = 1/D over many frames */
    double acc = 0;
    const int frames = 4000;
    for (int f = 0; f < frames; f++) {
        rng_frame(k, 100 + (uint64_t)f, D, s, U);
        acc += U[0] * U[0];
    }
    CHECK_NEAR(acc / frames, 1.0 / D, 5 * sqrt(2.0 * (D - 1) / (D * D * (D + 2.0)) / frames),
               "Haar frame E U_00^2 = 1/D (5 SE)");
}

int main(void)
{
    known_answers();
    kernels();
    prefix_all_paths();
    rows();
    determinism();
    moments();
    sphere_and_frame();
    return th_finish("rng");
}
