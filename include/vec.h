/* vec: four-double vectors for the few streaming loops outside BLAS (GCC vector
 * extensions). A function marked VEC_CLONES is compiled twice, for AVX2 and the
 * x86-64 baseline, and GCC picks one at load time (the build has no -march). Lanes
 * hold what scalar code kept in four partial sums (lane k: entries i = k mod 4), and
 * multiplies and adds stay separate (no FMA), so every width gives the same bits. */
#ifndef LS_VEC_H
#define LS_VEC_H

#include <string.h>

typedef double v4d __attribute__((vector_size(32)));
typedef double v2d __attribute__((vector_size(16)));

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VEC_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VEC_CLONES
#endif

/* unaligned load and store (macros: a function returning a v4d outside the AVX2 clone
 * would change the ABI) */
#define LD4(v, x) memcpy(&(v), (x), sizeof(v4d))
#define ST4(x, v) memcpy((x), &(v), sizeof(v4d))

#endif
