#!/usr/bin/python3
"""bench/straightforward.py: what a researcher would write in NumPy for the grid of
bench/headline.ini, timed against lazysweep's results for the same grid.

    straightforward.py RESULTS.h5 [--d 40] [--steps 2000] [--lr 0.004]

The NumPy side draws its own data (numpy.random.default_rng: its own target, W0, a0,
training and 10000 test points per (d, replicate)) and fits:
  RF  numpy.linalg.lstsq on the explicit features [1, <w_i, x>^2]          (n x (N+1))
  NT  numpy.linalg.lstsq on the explicit features [1, <w_i,x>^2, 2 a0_i <w_i,x> x]
                                                                      (n x (N(d+1)+1))
  NN  fixed-step full-batch gradient descent on (c, a, W), mean squared loss, --steps
      steps of size --lr (the common protocol; SPEC §1 says why it is fragile; 0.004 is
      the largest of 0.002 / 0.004 / 0.01 that does not diverge here, as in bench/e2e.ini)
and evaluates the test risk and the exact population risk (SPEC §3) of each fit.
Answers are compared as the excess population risk over each side's own class optimum
(RF: 2(|B|^2 - v^T G^+ v), NT: 2|P_perp B P_perp|^2, NN: Eckart-Young), normalised by R0:
the two sides draw different numbers, so only that is comparable.
Time: CPU seconds of this process (one core: OPENBLAS_NUM_THREADS=1) against the sum of
lazysweep's per-task seconds in RESULTS.h5 (1 rank), per regime and in total.
"""
import os
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import argparse
import sys
import time

import h5py
import numpy as np


def target(rng, d):
    gamma = rng.exponential(size=d)
    B = np.diag(gamma) / np.sqrt(d)
    return -np.trace(B), B


def pop_risk(b0, B, c, M):
    D = B - M
    return (b0 - c + np.trace(D)) ** 2 + 2 * np.sum(D * D)


def optima(B, W, N):
    G = (W @ W.T) ** 2
    v = np.einsum("id,de,ie->i", W, B, W)
    rf = 2 * (np.sum(B * B) - v @ np.linalg.pinv(G) @ v)
    Q, _ = np.linalg.qr(W.T)
    P = np.eye(len(B)) - Q @ Q.T
    nt = 2 * np.sum((P @ B @ P) ** 2)
    lam = np.sort(np.abs(np.linalg.eigvalsh(B)))[::-1]
    nn = 2 * np.sum(lam[N:] ** 2)
    return {"rf": rf, "nt": nt, "nn": nn}


def fit_rf(X, y, W):
    F = np.hstack([np.ones((len(X), 1)), (X @ W.T) ** 2])
    th = np.linalg.lstsq(F, y, rcond=None)[0]
    return th[0], W.T @ np.diag(th[1:]) @ W


def fit_nt(X, y, W, a0):
    n, d = X.shape
    N = len(W)
    Z = X @ W.T
    F = np.hstack([np.ones((n, 1)), Z ** 2,
                   (2 * a0[None, :, None] * Z[:, :, None] * X[:, None, :]).reshape(n, N * d)])
    th = np.linalg.lstsq(F, y, rcond=None)[0]
    da, dW = th[1:N + 1], th[N + 1:].reshape(N, d)
    M = W.T @ np.diag(da) @ W + W.T @ np.diag(a0) @ dW + dW.T @ np.diag(a0) @ W
    return th[0], M


def fit_nn(X, y, W, a0, steps, lr):
    n = len(X)
    c, a, W = 0.0, a0.copy(), W.copy()
    for _ in range(steps):
        Z = X @ W.T
        r = c + (Z ** 2) @ a - y
        gc = 2 * r.mean()
        ga = 2 * (Z ** 2).T @ r / n
        gW = 4 * (a[:, None] * ((Z * r[:, None]).T @ X)) / n
        c, a, W = c - lr * gc, a - lr * ga, W - lr * gW
    return c, W.T @ np.diag(a) @ W


def numpy_side(d, rhos, reps, n, n_test, steps, lr):
    rng = np.random.default_rng(3)
    sec = {"rf": 0.0, "nt": 0.0, "nn": 0.0}
    excess = {"rf": [], "nt": [], "nn": []}
    for rep in range(reps):
        t0 = time.process_time()
        b0, B = target(rng, d)
        Xt = rng.standard_normal((n_test, d))
        yt = b0 + np.einsum("nd,de,ne->n", Xt, B, Xt)
        X = rng.standard_normal((n, d))
        y = b0 + np.einsum("nd,de,ne->n", X, B, X)
        shared = time.process_time() - t0
        r0 = 2 * np.sum(B * B)
        for rho in rhos:
            N = int(round(rho * d))
            t0 = time.process_time()
            W = rng.standard_normal((N, d)) / np.sqrt(d)
            a0 = rng.standard_normal(N)
            opt = optima(B, W, N)
            setup = time.process_time() - t0 + shared / len(rhos)
            for reg in ("rf", "nt", "nn"):
                t0 = time.process_time()
                c, M = (fit_rf(X, y, W) if reg == "rf" else fit_nt(X, y, W, a0) if reg == "nt"
                        else fit_nn(X, y, W, a0, steps, lr))
                np.mean((c + np.einsum("nd,de,ne->n", Xt, M, Xt) - yt) ** 2)  # test risk
                R = pop_risk(b0, B, c, M)
                sec[reg] += time.process_time() - t0 + setup / 3
                excess[reg].append((R - opt[reg]) / r0 if np.isfinite(R) else np.inf)
    return sec, excess


def lazysweep_side(path):
    with h5py.File(path, "r", locking=False) as f:
        t, r, s = f["tasks"][()], f["results"][()], f["status"][()]
        names = {v: k for k, v in h5py.check_enum_dtype(f["tasks"].dtype["regime"]).items()}
    reg = np.array([names[v] for v in t["regime"]])
    if not (s == 1).all():
        sys.exit("straightforward: %s: not every task is done" % path)
    sec = {k: float(r["seconds"][reg == k].sum()) for k in ("rf", "nt", "nn")}
    excess = {k: ((r["risk_pop"] - r["theory"]) / r["r0"])[reg == k] for k in ("rf", "nt", "nn")}
    return sec, excess, sorted(set(t["d"].tolist())), sorted(set(t["n"].tolist())), \
        int(t["replicate"].max()) + 1, sorted(set((t["N"] / t["d"]).round(4).tolist()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--lr", type=float, default=0.004)
    ap.add_argument("--test", type=int, default=10000)
    a = ap.parse_args()
    ls_sec, ls_ex, ds, ns, reps, rhos = lazysweep_side(a.results)
    d, n = ds[0], ns[0]
    np_sec, np_ex = numpy_side(d, rhos, reps, n, a.test, a.steps, a.lr)
    print("  grid: d = %d, n = %d, rho = %s, %d replicates; NumPy NN: %d steps of %g"
          % (d, n, ", ".join("%g" % x for x in rhos), reps, a.steps, a.lr))
    print("  %-6s %12s %12s %8s   %-22s %s" % ("regime", "NumPy s", "lazysweep s", "ratio",
                                              "excess/R0 NumPy", "excess/R0 lazysweep"))
    for k in ("rf", "nt", "nn"):
        e1, e2 = np.array(np_ex[k]), np.array(ls_ex[k])
        print("  %-6s %12.2f %12.2f %8.1f   %-22s %s" % (k, np_sec[k], ls_sec[k],
              np_sec[k] / max(ls_sec[k], 1e-9), "mean %.2g max %.2g" % (e1.mean(), e1.max()),
              "mean %.2g max %.2g" % (e2.mean(), e2.max())))
    tn, tl = sum(np_sec.values()), sum(ls_sec.values())
    print("  HEADLINE default settings vs straightforward NumPy (CPU s, 1 core): %.1fx "
          "(NumPy %.1f s, lazysweep %.1f s)" % (tn / tl, tn, tl))
    worse = [k for k in ls_ex if np.mean(ls_ex[k]) > 1.5 * np.mean(np_ex[k]) + 1e-3]
    print("  answers: lazysweep's mean excess risk is %s" % (
        "within 1.5x of NumPy's or below it in every regime" if not worse else
        "ABOVE NumPy's in " + ", ".join(worse)))
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())
