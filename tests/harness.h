/* harness: the one C test harness. Each tests/test_*.c is a program whose checks
 * are one line each; it ends with "N passed, N failed" and exits 1 on any failure.
 * A failing check prints the expression, the values and file:line. */
#ifndef LS_HARNESS_H
#define LS_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int th_passed, th_failed;
static const char *th_group = "";

#define GROUP(name) (th_group = (name))

#define CHECK(cond, ...)                                                              \
    do {                                                                              \
        if (cond) {                                                                   \
            th_passed++;                                                              \
        } else {                                                                      \
            th_failed++;                                                              \
            fprintf(stderr, "FAIL %s: %s (%s:%d): ", th_group, #cond, __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                                             \
            fputc('\n', stderr);                                                      \
        }                                                                             \
    } while (0)

/* |got - want| <= tol (absolute), with both values printed on failure. */
#define CHECK_NEAR(got, want, tol, what)                                              \
    do {                                                                              \
        double th_g = (got), th_w = (want), th_t = (tol);                             \
        CHECK(fabs(th_g - th_w) <= th_t, "%s: got %.12g, want %.12g (tol %.3g)",      \
              (what), th_g, th_w, th_t);                                              \
    } while (0)

/* |got - want| <= rel * max(|want|, floor). */
#define CHECK_REL(got, want, rel, what)                                               \
    do {                                                                              \
        double th_g = (got), th_w = (want), th_r = (rel);                             \
        double th_s = fabs(th_w) > 1e-300 ? fabs(th_w) : 1.0;                         \
        CHECK(fabs(th_g - th_w) <= th_r * th_s,                                       \
              "%s: got %.12g, want %.12g (rel tol %.3g, rel err %.3g)", (what), th_g, \
              th_w, th_r, fabs(th_g - th_w) / th_s);                                  \
    } while (0)

static inline int th_finish(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, th_passed, th_failed);
    return th_failed ? 1 : 0;
}

#endif
