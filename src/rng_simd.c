/* rng_simd: the kernels of src/rng_impl.h. A file of its own because it is compiled for
 * several instruction sets at once (GCC target pragmas; the build has no -march) and is
 * four times the size of the rest of rng.
 *
 * Block b of sub-stream s is Philox4x32-10 of the counter {b, s lo, s hi, 0}; its words
 * w0..w3 give u0 = (w0:w1 >> 11) 2^-53 and u1 = (w2:w3 >> 11) 2^-53, written as
 * w0 2^-32 + (w1 >> 11) 2^-53 (both terms and the sum exact), and values 2b, 2b + 1 are
 *     uniform:  u0, u1
 *     normal:   r cos(pi t), r sin(pi t),  r = sqrt(-2 log(1 - u0)),  t = 2 u1
 * (1 - u0 and 2 u1 exact). The vector kernels run Philox on 2 x 4 (AVX2) or 8 (AVX-512)
 * consecutive blocks, one per 64-bit lane holding a 32-bit word, so that one
 * 32x32->64 multiply (vpmuludq) gives both halves of Philox's product. A partial last
 * vector is computed whole and only its head stored: values depend on nothing but
 * their position. normal_rows (many short sub-streams) packs rows into AVX-512 lanes. log and sincospi are SLEEF's finz (deterministic, FMA) functions,
 * which return the same bits in every vector width; sqrt and products are IEEE. */
#include "rng_impl.h"

#include <math.h>
#include <string.h>

#include <Random123/philox.h>

#if defined(__x86_64__) || defined(__i386__)
#define RNG_X86 1
/* Declares SLEEF's AVX2, AVX-512 and FMA entry points (sleef.h shows only those of the
 * instruction sets enabled where it is included); code below picks its own target. */
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
#include <immintrin.h>
#include <sleef.h>
#pragma GCC pop_options
#else
#include <sleef.h>
#endif

#define M0 0xD2511F53u /* Philox4x32 multipliers and Weyl key increments (Random123) */
#define M1 0xCD9E8D57u
#define W0 0x9E3779B9u
#define W1 0xBB67AE85u
#define ROUNDS 10

/* ---- scalar: Random123's philox4x32_R per block ---- */

static void block_uniforms(RngKey key, uint64_t sub, uint32_t block, double u[2])
{
    philox4x32_ctr_t c = {{block, (uint32_t)sub, (uint32_t)(sub >> 32), 0}};
    philox4x32_key_t k = {{key.v[0], key.v[1]}};
    philox4x32_ctr_t w = philox4x32_R(ROUNDS, c, k);
    u[0] = (double)w.v[0] * 0x1.0p-32 + (double)(w.v[1] >> 11) * 0x1.0p-53;
    u[1] = (double)w.v[2] * 0x1.0p-32 + (double)(w.v[3] >> 11) * 0x1.0p-53;
}

static void uniform_scalar(RngKey key, uint64_t sub, double *out, size_t n)
{
    double u[2];
    for (size_t k = 0; k < n; k += 2) {
        block_uniforms(key, sub, (uint32_t)(k / 2), u);
        out[k] = u[0];
        if (k + 1 < n)
            out[k + 1] = u[1];
    }
}

static int always(void)
{
    return 1;
}

/* Box-Muller one block at a time with a scalar SLEEF log and sincospi (the FMA finz or
 * the no-FMA cinz pair); sqrt and the products are IEEE, so the pair alone decides. */
typedef double (*LogFn)(double);
typedef Sleef_double_2 (*SincospiFn)(double);

static void normal_blocks(RngKey key, uint64_t sub, double *out, size_t n, LogFn log_fn,
                          SincospiFn sincospi_fn)
{
    double u[2];
    for (size_t k = 0; k < n; k += 2) {
        block_uniforms(key, sub, (uint32_t)(k / 2), u);
        double r = sqrt(-2.0 * log_fn(1.0 - u[0]));
        Sleef_double_2 sc = sincospi_fn(2.0 * u[1]);
        out[k] = r * sc.y;
        if (k + 1 < n)
            out[k + 1] = r * sc.x;
    }
}

/* rows consecutive sub-streams of n values each, one call per row */
static void rows_of(void (*normal)(RngKey, uint64_t, double *, size_t), RngKey key,
                    uint64_t sub, size_t rows, size_t n, double *out)
{
    for (size_t i = 0; i < rows; i++)
        normal(key, sub + i, out + i * n, n);
}

/* No FMA: SLEEF's cinz functions, deterministic among such CPUs only. */
static void normal_generic(RngKey key, uint64_t sub, double *out, size_t n)
{
    normal_blocks(key, sub, out, n, Sleef_cinz_logd1_u10purec, Sleef_cinz_sincospid1_u05purec);
}

static void normal_rows_generic(RngKey key, uint64_t sub, size_t rows, size_t n, double *out)
{
    rows_of(normal_generic, key, sub, rows, n, out);
}

const RngIsa rng_isa_generic = {"generic", always, uniform_scalar, normal_generic,
                                normal_rows_generic};

#ifdef RNG_X86
static int has_fma(void)
{
    return __builtin_cpu_supports("fma");
}

static int has_avx2(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static int has_avx512(void)
{
    return __builtin_cpu_supports("avx512f") && has_avx2();
}

#pragma GCC push_options
#pragma GCC target("fma")
#endif

static void normal_scalar(RngKey key, uint64_t sub, double *out, size_t n)
{
    normal_blocks(key, sub, out, n, Sleef_finz_logd1_u10purecfma,
                  Sleef_finz_sincospid1_u05purecfma);
}

static void normal_rows_scalar(RngKey key, uint64_t sub, size_t rows, size_t n, double *out)
{
    rows_of(normal_scalar, key, sub, rows, n, out);
}

#ifdef RNG_X86
#pragma GCC pop_options

const RngIsa rng_isa_scalar = {"scalar", has_fma, uniform_scalar, normal_scalar,
                               normal_rows_scalar};

#define SHORT_ROW 96 /* longer rows: one call each (vectors of one row waste little) */

/* ---- AVX2: 4 blocks per vector ---- */
#pragma GCC push_options
#pragma GCC target("avx2,fma")

/* The round keys, broadcast: key + r W for r = 0..9. */
static void keys_avx2(RngKey key, __m256i k[2][ROUNDS])
{
    uint32_t k0 = key.v[0], k1 = key.v[1];
    for (int r = 0; r < ROUNDS; r++, k0 += W0, k1 += W1) {
        k[0][r] = _mm256_set1_epi64x(k0);
        k[1][r] = _mm256_set1_epi64x(k1);
    }
}

/* Philox4x32-10 of two vectors of 4 blocks (counters c0[j], c1, c2), interleaved: one
 * chain of rounds is latency-bound. Words as doubles-to-be in the low halves of lanes.
 * The low products are left unmasked between rounds (only their low halves are ever
 * used, by vpmuludq and by the next XOR's low half) and masked once at the end. */
static inline void philox_avx2(const __m256i k[2][ROUNDS], const __m256i c0in[2], __m256i c1in,
                               __m256i c2in, __m256i w[2][4])
{
    /* named variables and an unrolled loop keep the state in registers (arrays went
     * through the stack: 4x slower) */
    const __m256i m0 = _mm256_set1_epi64x(M0), m1 = _mm256_set1_epi64x(M1);
    __m256i a0 = c0in[0], a1 = c1in, a2 = c2in, a3 = _mm256_setzero_si256();
    __m256i b0 = c0in[1], b1 = c1in, b2 = c2in, b3 = a3;
#pragma GCC unroll 10
    for (int r = 0; r < ROUNDS; r++) {
        __m256i pa0 = _mm256_mul_epu32(a0, m0), pa1 = _mm256_mul_epu32(a2, m1);
        __m256i pb0 = _mm256_mul_epu32(b0, m0), pb1 = _mm256_mul_epu32(b2, m1);
        a0 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(pa1, 32), a1), k[0][r]);
        a2 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(pa0, 32), a3), k[1][r]);
        b0 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(pb1, 32), b1), k[0][r]);
        b2 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(pb0, 32), b3), k[1][r]);
        a1 = pa1, a3 = pa0, b1 = pb1, b3 = pb0;
    }
    const __m256i lo = _mm256_set1_epi64x(0xffffffff);
    w[0][0] = _mm256_and_si256(a0, lo), w[0][1] = _mm256_and_si256(a1, lo);
    w[0][2] = _mm256_and_si256(a2, lo), w[0][3] = _mm256_and_si256(a3, lo);
    w[1][0] = _mm256_and_si256(b0, lo), w[1][1] = _mm256_and_si256(b1, lo);
    w[1][2] = _mm256_and_si256(b2, lo), w[1][3] = _mm256_and_si256(b3, lo);
}

/* Exact for x < 2^52: put x in the mantissa of 2^52 and subtract 2^52. */
static inline __m256d to_double_avx2(__m256i x)
{
    const __m256d magic = _mm256_set1_pd(0x1.0p52);
    return _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(x, _mm256_castpd_si256(magic))),
                         magic);
}

static inline __m256d to_uniform_avx2(__m256i hi, __m256i lo)
{
    return _mm256_add_pd(_mm256_mul_pd(to_double_avx2(hi), _mm256_set1_pd(0x1.0p-32)),
                         _mm256_mul_pd(to_double_avx2(_mm256_srli_epi64(lo, 11)),
                                       _mm256_set1_pd(0x1.0p-53)));
}

/* Stores a[0] b[0] a[1] b[1] ... (8 values) at out, or the first m of them. */
static inline void store_pairs_avx2(__m256d a, __m256d b, double *out, size_t m)
{
    __m256d l = _mm256_unpacklo_pd(a, b), h = _mm256_unpackhi_pd(a, b); /* a0 b0 a2 b2 */
    __m256d v0 = _mm256_permute2f128_pd(l, h, 0x20), v1 = _mm256_permute2f128_pd(l, h, 0x31);
    if (m >= 8) {
        _mm256_storeu_pd(out, v0);
        _mm256_storeu_pd(out + 4, v1);
    } else {
        double t[8];
        _mm256_storeu_pd(t, v0);
        _mm256_storeu_pd(t + 4, v1);
        memcpy(out, t, m * sizeof *t);
    }
}

/* Blocks b..b+3 and b+4..b+7 of one sub-stream. */
static inline void blocks_avx2(size_t b, __m256i c0[2])
{
    __m256i v = _mm256_add_epi64(_mm256_set1_epi64x((uint32_t)b), _mm256_setr_epi64x(0, 1, 2, 3));
    c0[0] = v;
    c0[1] = _mm256_add_epi64(v, _mm256_set1_epi64x(4));
}

static void uniform_avx2(RngKey key, uint64_t sub, double *out, size_t n)
{
    __m256i k[2][ROUNDS], c0[2], w[2][4];
    keys_avx2(key, k);
    __m256i s0 = _mm256_set1_epi64x((uint32_t)sub), s1 = _mm256_set1_epi64x(sub >> 32);
    for (size_t i = 0; i < n; i += 16) {
        blocks_avx2(i / 2, c0);
        philox_avx2(k, c0, s0, s1, w);
        for (size_t j = 0; j < 2 && i + 8 * j < n; j++)
            store_pairs_avx2(to_uniform_avx2(w[j][0], w[j][1]), to_uniform_avx2(w[j][2], w[j][3]),
                             out + i + 8 * j, n - i - 8 * j);
    }
}

/* Box-Muller on the lanes' blocks: *c the cosine values, *s the sine values. */
static inline void box_muller_avx2(const __m256i w[4], __m256d *c, __m256d *s)
{
    __m256d u0 = to_uniform_avx2(w[0], w[1]), u1 = to_uniform_avx2(w[2], w[3]);
    __m256d r = _mm256_sqrt_pd(_mm256_mul_pd(
        _mm256_set1_pd(-2.0), Sleef_finz_logd4_u10avx2(_mm256_sub_pd(_mm256_set1_pd(1.0), u0))));
    Sleef___m256d_2 sc = Sleef_finz_sincospid4_u05avx2(_mm256_mul_pd(_mm256_set1_pd(2.0), u1));
    *c = _mm256_mul_pd(r, sc.y);
    *s = _mm256_mul_pd(r, sc.x);
}

static void normal_avx2(RngKey key, uint64_t sub, double *out, size_t n)
{
    __m256i k[2][ROUNDS], c0[2], w[2][4];
    keys_avx2(key, k);
    __m256i s0 = _mm256_set1_epi64x((uint32_t)sub), s1 = _mm256_set1_epi64x(sub >> 32);
    __m256d c, sn;
    for (size_t i = 0; i < n; i += 16) {
        blocks_avx2(i / 2, c0);
        philox_avx2(k, c0, s0, s1, w);
        for (size_t j = 0; j < 2 && i + 8 * j < n; j++) {
            box_muller_avx2(w[j], &c, &sn);
            store_pairs_avx2(c, sn, out + i + 8 * j, n - i - 8 * j);
        }
    }
}

/* One call per row: 4-block vectors waste little on short rows. */
static void normal_rows_avx2(RngKey key, uint64_t sub, size_t rows, size_t n, double *out)
{
    for (size_t i = 0; i < rows; i++)
        normal_avx2(key, sub + i, out + i * n, n);
}
#pragma GCC pop_options

const RngIsa rng_isa_avx2 = {"avx2", has_avx2, uniform_avx2, normal_avx2, normal_rows_avx2};

/* ---- AVX-512: 8 blocks per vector, the same steps ---- */
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")

static void keys_avx512(RngKey key, __m512i k[2][ROUNDS])
{
    uint32_t k0 = key.v[0], k1 = key.v[1];
    for (int r = 0; r < ROUNDS; r++, k0 += W0, k1 += W1) {
        k[0][r] = _mm512_set1_epi64(k0);
        k[1][r] = _mm512_set1_epi64(k1);
    }
}

static void philox_avx512(const __m512i k[2][ROUNDS], __m512i c0, __m512i c1, __m512i c2,
                          __m512i w[4])
{
    const __m512i m0 = _mm512_set1_epi64(M0), m1 = _mm512_set1_epi64(M1);
    __m512i c3 = _mm512_setzero_si512();
    for (int r = 0; r < ROUNDS; r++) {
        __m512i p0 = _mm512_mul_epu32(c0, m0), p1 = _mm512_mul_epu32(c2, m1);
        /* 0x96: three-way XOR */
        c0 = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p1, 32), c1, k[0][r], 0x96);
        c2 = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0, 32), c3, k[1][r], 0x96);
        c1 = p1;
        c3 = p0;
    }
    const __m512i lo = _mm512_set1_epi64(0xffffffff);
    w[0] = _mm512_and_si512(c0, lo);
    w[1] = _mm512_and_si512(c1, lo);
    w[2] = _mm512_and_si512(c2, lo);
    w[3] = _mm512_and_si512(c3, lo);
}

static inline __m512d to_double_avx512(__m512i x)
{
    const __m512d magic = _mm512_set1_pd(0x1.0p52);
    return _mm512_sub_pd(_mm512_castsi512_pd(_mm512_or_si512(x, _mm512_castpd_si512(magic))),
                         magic);
}

static inline __m512d to_uniform_avx512(__m512i hi, __m512i lo)
{
    return _mm512_add_pd(_mm512_mul_pd(to_double_avx512(hi), _mm512_set1_pd(0x1.0p-32)),
                         _mm512_mul_pd(to_double_avx512(_mm512_srli_epi64(lo, 11)),
                                       _mm512_set1_pd(0x1.0p-53)));
}

/* Stores a[0] b[0] a[1] b[1] ... (16 values) at out, or the first m of them. */
static inline void store_pairs_avx512(__m512d a, __m512d b, double *out, size_t m)
{
    const __m512i il = _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11);
    const __m512i ih = _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15);
    __m512d v0 = _mm512_permutex2var_pd(a, il, b), v1 = _mm512_permutex2var_pd(a, ih, b);
    if (m >= 16) {
        _mm512_storeu_pd(out, v0);
        _mm512_storeu_pd(out + 8, v1);
    } else {
        __mmask8 m0 = (__mmask8)((1u << (m < 8 ? m : 8)) - 1);
        __mmask8 m1 = (__mmask8)((1u << (m > 8 ? m - 8 : 0)) - 1);
        _mm512_mask_storeu_pd(out, m0, v0);
        _mm512_mask_storeu_pd(out + 8, m1, v1);
    }
}

static inline __m512i blocks_avx512(size_t b)
{
    return _mm512_add_epi64(_mm512_set1_epi64((uint32_t)b), _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7));
}

static void uniform_avx512(RngKey key, uint64_t sub, double *out, size_t n)
{
    __m512i k[2][ROUNDS], w[4];
    keys_avx512(key, k);
    __m512i s0 = _mm512_set1_epi64((uint32_t)sub), s1 = _mm512_set1_epi64(sub >> 32);
    for (size_t i = 0; i < n; i += 16) {
        philox_avx512(k, blocks_avx512(i / 2), s0, s1, w);
        store_pairs_avx512(to_uniform_avx512(w[0], w[1]), to_uniform_avx512(w[2], w[3]), out + i,
                           n - i);
    }
}

static inline void box_muller_avx512(const __m512i w[4], __m512d *c, __m512d *s)
{
    __m512d u0 = to_uniform_avx512(w[0], w[1]), u1 = to_uniform_avx512(w[2], w[3]);
    __m512d r = _mm512_sqrt_pd(_mm512_mul_pd(
        _mm512_set1_pd(-2.0), Sleef_finz_logd8_u10avx512f(_mm512_sub_pd(_mm512_set1_pd(1.0), u0))));
    Sleef___m512d_2 sc = Sleef_finz_sincospid8_u05avx512f(_mm512_mul_pd(_mm512_set1_pd(2.0), u1));
    *c = _mm512_mul_pd(r, sc.y);
    *s = _mm512_mul_pd(r, sc.x);
}

static void normal_avx512(RngKey key, uint64_t sub, double *out, size_t n)
{
    __m512i k[2][ROUNDS], w[4];
    keys_avx512(key, k);
    __m512i s0 = _mm512_set1_epi64((uint32_t)sub), s1 = _mm512_set1_epi64(sub >> 32);
    __m512d c, sn;
    for (size_t i = 0; i < n; i += 16) {
        philox_avx512(k, blocks_avx512(i / 2), s0, s1, w);
        box_muller_avx512(w, &c, &sn);
        store_pairs_avx512(c, sn, out + i, n - i);
    }
}

/* 0b abcd -> 0b 0a0b0c0d: lane masks to masks of interleaved pairs */
static inline unsigned spread4(unsigned x)
{
    x &= 0xf;
    x = (x | x << 2) & 0x33;
    return (x | x << 1) & 0x55;
}

/* Short rows: the 8 lanes walk over consecutive (row, block) pairs, so that a row of n
 * values costs (n + 1) / 2 lanes, not whole vectors; the pairs are compressed (the sine
 * of a row's last block dropped when n is odd) and stored one after another. */
static void normal_rows_avx512(RngKey key, uint64_t sub, size_t rows, size_t n, double *out)
{
    if (n > SHORT_ROW || rows == 1) {
        for (size_t i = 0; i < rows; i++)
            normal_avx512(key, sub + i, out + i * n, n);
        return;
    }
    __m512i k[2][ROUNDS], w[4];
    keys_avx512(key, k);
    const size_t nb = (n + 1) / 2, total = rows * nb;
    uint64_t b0[8], r0[8];
    for (size_t l = 0; l < 8; l++)
        b0[l] = l % nb, r0[l] = l / nb;
    __m512i blk = _mm512_loadu_si512(b0), row = _mm512_loadu_si512(r0);
    const __m512i vnb = _mm512_set1_epi64((long long)nb), last = _mm512_set1_epi64((long long)nb - 1);
    const __m512i vsub = _mm512_set1_epi64((long long)sub), lo = _mm512_set1_epi64(0xffffffff);
    const __m512i one = _mm512_set1_epi64(1), eight = _mm512_set1_epi64(8);
    const __m512i il = _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11);
    const __m512i ih = _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15);
    __m512d c, sn;
    for (size_t t = 0; t < total; t += 8) {
        __m512i sb = _mm512_add_epi64(vsub, row);
        philox_avx512(k, blk, _mm512_and_si512(sb, lo), _mm512_srli_epi64(sb, 32), w);
        box_muller_avx512(w, &c, &sn);
        unsigned valid = total - t >= 8 ? 0xff : (1u << (total - t)) - 1;
        unsigned second = valid & (n % 2 ? (unsigned)_mm512_cmpneq_epu64_mask(blk, last) : 0xff);
        __mmask8 m0 = (__mmask8)(spread4(valid) | spread4(second) << 1);
        __mmask8 m1 = (__mmask8)(spread4(valid >> 4) | spread4(second >> 4) << 1);
        int n0 = __builtin_popcount(m0), n1 = __builtin_popcount(m1);
        _mm512_mask_storeu_pd(out, (__mmask8)((1u << n0) - 1),
                              _mm512_maskz_compress_pd(m0, _mm512_permutex2var_pd(c, il, sn)));
        out += n0;
        _mm512_mask_storeu_pd(out, (__mmask8)((1u << n1) - 1),
                              _mm512_maskz_compress_pd(m1, _mm512_permutex2var_pd(c, ih, sn)));
        out += n1;
        blk = _mm512_add_epi64(blk, eight); /* next 8 pairs: carry whole rows into row */
        for (__mmask8 m; (m = _mm512_cmpge_epu64_mask(blk, vnb)) != 0;) {
            blk = _mm512_mask_sub_epi64(blk, m, blk, vnb);
            row = _mm512_mask_add_epi64(row, m, row, one);
        }
    }
}
#pragma GCC pop_options

const RngIsa rng_isa_avx512 = {"avx512", has_avx512, uniform_avx512, normal_avx512,
                                normal_rows_avx512};

#else /* not x86: no vector kernels; SLEEF's FMA functions where the target has FMA */
static int never(void)
{
    return 0;
}

static int fma_target(void)
{
#ifdef FP_FAST_FMA
    return 1;
#else
    return 0;
#endif
}

const RngIsa rng_isa_scalar = {"scalar", fma_target, uniform_scalar, normal_scalar,
                               normal_rows_scalar};
const RngIsa rng_isa_avx2 = {"avx2", never, uniform_scalar, normal_scalar, normal_rows_scalar};
const RngIsa rng_isa_avx512 = {"avx512", never, uniform_scalar, normal_scalar,
                               normal_rows_scalar};
#endif
