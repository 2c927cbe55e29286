/* Grid: counts, fixed mixed-radix order, id <-> task round trip, duplicate removal,
 * cost model monotone in the sizes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "grid.h"
#include "harness.h"

static void load(const char *text, JobSpec *job)
{
    char err[1024];
    if (job_load_string(text, "t.ini", job, err, sizeof err))
        fprintf(stderr, "parse error: %s\n", err);
}

int main(void)
{
    JobSpec job;
    Grid g;
    char err[512];

    GROUP("counts and order");
    load("[sweep]\nreplicates = 3\n[model]\nkind = quadratic, mixture\n[grid]\nd = 20, 40\n"
         "rho = 0.25, 0.5, 1\nn = 4d^2, inf\nregime = rf, nt, nn\n", &job);
    CHECK(grid_build(&job, &g, 0, err, sizeof err) == 0, "builds");
    CHECK(g.count == 2L * 2 * 3 * 2 * 3 * 3, "count = models*d*N*n*regimes*replicates = 216, got %ld", g.count);
    const Task *t0 = grid_task(&g, 0), *t1 = grid_task(&g, 1), *t3 = grid_task(&g, 3);
    CHECK(t0->model == MODEL_QUADRATIC && t0->d == 20 && t0->N == 5 && t0->n == 1600 &&
              t0->regime == REGIME_RF && t0->replicate == 0, "task 0 is the first of every axis");
    CHECK(t1->replicate == 1 && t1->regime == REGIME_RF, "replicate is the fastest axis");
    CHECK(t3->regime == REGIME_NT && t3->replicate == 0, "then regime");
    const Task *tl = grid_task(&g, g.count - 1);
    CHECK(tl->model == MODEL_MIXTURE && tl->d == 40 && tl->N == 40 && tl->n == -1 && tl->regime == REGIME_NN &&
              tl->replicate == 2, "the last task is the last of every axis");
    CHECK(grid_task(&g, g.count) == NULL && grid_task(&g, -1) == NULL, "out-of-range ids");
    int roundtrip = 1;
    for (long i = 0; i < g.count; i++) {
        Task t = g.tasks[i];
        t.id = -7; /* ignored */
        roundtrip &= grid_id(&g, &job, &t) == i && g.tasks[i].id == i;
    }
    CHECK(roundtrip, "grid_id(grid_task(i)) == i for every task");
    Task missing = *t0;
    missing.N = 6;
    CHECK(grid_id(&g, &job, &missing) == -1, "a task not in the grid has id -1");
    missing = *t0;
    missing.replicate = 3;
    CHECK(grid_id(&g, &job, &missing) == -1, "replicate out of range has id -1");
    /* same job, same ids */
    Grid g2;
    grid_build(&job, &g2, 0, err, sizeof err);
    CHECK(g2.count == g.count && memcmp(g2.tasks, g.tasks, sizeof(Task) * g.count) == 0,
          "building twice gives the same table");
    grid_free(&g2);
    grid_free(&g);
    grid_free(NULL);

    GROUP("duplicates");
    /* at d = 4, rho 0.3 and 0.25 both give N = 1; rho 0.5 and 0.6 both give N = 2 */
    load("[grid]\nd = 4, 40\nrho = 0.25, 0.3, 0.5, 0.6\nn = 16, d^2, inf\nregime = rf\n", &job);
    CHECK(grid_build(&job, &g, 0, err, sizeof err) == 0, "builds");
    CHECK(g.dup_width == 2, "two (d, width) duplicates at d = 4, got %d", g.dup_width);
    /* at d = 4 the n forms 16 and d^2 coincide for each of the 2 kept widths */
    CHECK(g.dup_n == 2, "two (d, N, n) duplicates, got %d", g.dup_n);
    CHECK(g.count == (2 * 2) + (4 * 3), "count after removal = 16, got %ld", g.count);
    int unique = 1;
    for (long i = 0; i < g.count; i++)
        for (long k = 0; k < i; k++)
            if (g.tasks[i].d == g.tasks[k].d && g.tasks[i].N == g.tasks[k].N && g.tasks[i].n == g.tasks[k].n &&
                g.tasks[i].regime == g.tasks[k].regime && g.tasks[i].replicate == g.tasks[k].replicate)
                unique = 0;
    CHECK(unique, "no two tasks have the same parameters");
    roundtrip = 1;
    for (long i = 0; i < g.count; i++)
        roundtrip &= grid_id(&g, &job, &g.tasks[i]) == i;
    CHECK(roundtrip, "round trip after duplicate removal");
    grid_free(&g);

    GROUP("cost model");
    load("[grid]\nd = 20, 40\nN = 10\nn = 1000, 2000\nregime = rf, nt, nn\n", &job);
    grid_build(&job, &g, 0, err, sizeof err);
    for (int r = 0; r < 3; r++) {
        Task a = g.tasks[0];
        a.regime = r;
        Task b = a;
        b.n = 2000;
        Task c = a;
        c.d = 40;
        TaskCost ca = grid_cost(&job, &a), cb = grid_cost(&job, &b), cc = grid_cost(&job, &c);
        CHECK(ca.flops > 0 && ca.bytes > 0, "%s: positive cost", job_regime_name(r));
        CHECK(cb.flops > ca.flops && cb.bytes > ca.bytes, "%s: more samples cost more", job_regime_name(r));
        CHECK(cc.flops > ca.flops && cc.bytes > ca.bytes, "%s: larger d costs more", job_regime_name(r));
        /* training data alone: n*d doubles */
        CHECK(cb.bytes >= 8.0 * 2000 * 20, "%s: memory covers the training set", job_regime_name(r));
    }
    grid_free(&g);

    GROUP("axes of the regimes beyond the paper");
    /* the old regimes keep their ids when the job adds none of the new ones: the same
     * text with and without the new (default) keys gives the same table and hash */
    JobSpec plain, same;
    load("[grid]\nd = 8, 12\nN = 2, 4\nn = 50, inf\nregime = rf, nt, nn\n", &plain);
    load("[grid]\nd = 8, 12\nN = 2, 4\nn = 50, inf\nregime = rf, nt, nn\nonestep_eta = 1\n"
         "[train]\nkrr_solver = auto\nalpha_tol = 1e-9\n", &same);
    CHECK(job_hash(&plain) == job_hash(&same), "default keys of unused regimes keep the identity");
    load("[grid]\nd = 8, 12\nN = 2, 4\nn = 50, inf\nregime = rf, nt, nn\nalpha = 3\n", &same);
    CHECK(job_hash(&plain) == job_hash(&same), "an alpha list without alpha regimes is irrelevant");
    /* alpha expands only alpha/alpha_lin, eta only onestep, krr has no width */
    load("[sweep]\nreplicates = 2\n[grid]\nd = 8, 12\nN = 2, 4, 2\nn = 50, inf\n"
         "regime = rf, alpha, onestep, krr_rf, alpha_lin, krr_nt\nalpha = 0.1, 10, 1000\n"
         "onestep_eta = 0, inf\n", &job);
    CHECK(grid_build(&job, &g, 0, err, sizeof err) == 0, "builds: %s", err);
    long want = 2L * 2 * 2 * (2 * (1 + 3 + 2 + 3)) + 2L * 2 * 2 * 2; /* d, N, n, regimes, rep + krr */
    CHECK(g.count == want, "count %ld, want %ld", g.count, want);
    int ok_axes = 1, krr = 0;
    for (long i = 0; i < g.count; i++) {
        const Task *t = &g.tasks[i];
        int axis = job_regime_axis(t->regime);
        ok_axes &= (axis == AXIS_ALPHA) == !isnan(t->alpha) && (axis == AXIS_ETA) == !isnan(t->eta);
        ok_axes &= job_regime_has_width(t->regime) ? t->N > 0 : t->N == 0;
        krr += !job_regime_has_width(t->regime);
    }
    CHECK(ok_axes, "alpha / eta set exactly on their regimes, N = 0 exactly for krr");
    CHECK(krr == 16, "krr: one task per (d, n, replicate) and regime (%d)", krr);
    CHECK(g.tasks[2].regime == REGIME_ALPHA && g.tasks[2].alpha == 0.1 && g.tasks[4].alpha == 10 &&
              g.tasks[3].replicate == 1, "alpha runs inside the regime, outside the replicate");
    int seen_inf = 0;
    for (long i = 0; i < g.count; i++)
        seen_inf |= g.tasks[i].regime == REGIME_ONESTEP && isinf(g.tasks[i].eta);
    CHECK(seen_inf, "eta = inf is a grid value");
    roundtrip = 1;
    for (long i = 0; i < g.count; i++)
        roundtrip &= grid_id(&g, &job, &g.tasks[i]) == i;
    CHECK(roundtrip, "round trip with the new axes");
    Task other = g.tasks[2];
    other.alpha = 0.5;
    CHECK(grid_id(&g, &job, &other) == -1, "an alpha not in the job has no id");
    for (int r = REGIME_ALPHA; r < REGIME_COUNT; r++) {
        Task a = g.tasks[0];
        a.regime = r;
        a.N = job_regime_has_width(r) ? 4 : 0;
        CHECK(grid_cost(&job, &a).flops > 0, "%s: positive cost", job_regime_name(r));
    }
    grid_free(&g);
    char e2[512];
    CHECK(job_load_string("[grid]\nd = 8\nN = 2\nregime = alpha\n", "x.ini", &job, e2, sizeof e2) != 0 &&
              strstr(e2, "alpha: required"), "alpha regimes need an alpha list (%s)", e2);
    CHECK(job_load_string("[grid]\nd = 8\nn = 50\nregime = krr_rf, krr_nt\n", "x.ini", &job, e2, sizeof e2) == 0,
          "a krr-only job needs no width (%s)", e2);
    CHECK(job_load_string("[grid]\nd = 8\nN = 2\nn = 4Nd\nregime = krr_rf\n", "x.ini", &job, e2, sizeof e2) != 0,
          "krr with n = KNd is refused (%s)", e2);
    return th_finish("grid");
}
