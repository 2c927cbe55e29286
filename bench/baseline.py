#!/usr/bin/python3
"""bench/baseline.py: the NumPy/SciPy baseline of `make bench`'s end-to-end grid.

    baseline.py JOB.ini [RESULTS.h5]

Computes every task of JOB (quadratic model only; RF, NT, NN with nn_method auto and a
fixed nn_lr) the way a careful NumPy user would, in one process, and prints its wall
time. With RESULTS.h5 (lazysweep's results for the same job) it then checks that both
computed the same numbers: risk_train, risk_test, risk_pop, r0 and theory of every task,
and exits 1 when they disagree.

It computes the same thing from the same random numbers: Philox4x32-10 is reimplemented
here (vectorised over samples) with lazysweep's stream layout (src/rng.c, src/task.c,
src/data.c: keys, sub-streams, Box-Muller pairs), so targets, W0, a0, training and test
sets are the same up to the last bits (NumPy's log1p/cos/sin here, SLEEF's log/sincospi
in src/rng_simd.c).
  RF   least squares of the centred features <w_i, x>^2 (numpy.linalg.lstsq: dgelsd);
       population: (2 G) a = 2 v, G_ij = <w_i, w_j>^2, v_i = w_i^T B w_i (pinv).
  NT   the features of the NT class in the basis Q = [Q1 Q2] of W0's row space and its
       complement (u = Q1^T x, v = Q2^T x: u_a u_b, u_a v_c), centred, normal equations
       by Cholesky (scipy.linalg.cho_solve); population: M = B - P_perp B P_perp.
  NN   plain gradient descent with the job's fixed step on theta = [c, a, W] (finite n,
       mean squared loss) or [a, W] (population risk at the optimal c), nn_steps steps.
The timed part is everything after the imports: the draws, the fits and the risks; per
task, the same span as lazysweep's /results seconds (target and test set when the
one-entry cache misses, training set, fit, risks, theory), whose sums per regime are printed next to the baseline's.
BLAS: NumPy's (Debian: the same OpenBLAS as lazysweep; run with OPENBLAS_NUM_THREADS=1
for a one-core comparison).
"""
import configparser
import sys
import time

import numpy as np
import scipy.linalg as sla

MASK = np.uint64(0xFFFFFFFF)
PM0, PM1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
PW0, PW1 = np.uint64(0x9E3779B9), np.uint64(0xBB67AE85)
SITE_TARGET, SITE_W0, SITE_A0, SITE_TRAIN, SITE_TEST = 1, 2, 3, 4, 5
REGIMES = ["rf", "nt", "nn", "null"]


def philox(c, k0, k1):
    """Philox4x32-10 of counters c (4 uint64 arrays holding 32-bit words), key (k0, k1)."""
    c0, c1, c2, c3 = c
    k0, k1 = np.uint64(k0), np.uint64(k1)
    for r in range(10):
        if r:
            k0, k1 = (k0 + PW0) & MASK, (k1 + PW1) & MASK
        p0, p1 = PM0 * c0, PM1 * c2
        c0, c1, c2, c3 = (p1 >> np.uint64(32)) ^ c1 ^ k0, p1 & MASK, \
            (p0 >> np.uint64(32)) ^ c3 ^ k1, p0 & MASK
    return c0, c1, c2, c3


def rng_key(seed, site, a, b, c):
    u = lambda v: np.uint64(v & 0xFFFFFFFF)
    r = philox((u(site), u(a), u(b), u(c)), seed & 0xFFFFFFFF, seed >> 32)
    return int(r[0]), int(r[1] ^ r[2])


def uniform_pairs(key, subs, count):
    """(len(subs), 2 * ceil(count / 2)) uniforms: value k of sub-stream s is u[k % 2] of
    block k // 2 (53 bits)."""
    subs = np.asarray(subs, dtype=np.uint64)
    nb = (count + 1) // 2
    blk = np.broadcast_to(np.arange(nb, dtype=np.uint64)[None, :], (len(subs), nb))
    lo = np.broadcast_to((subs & MASK)[:, None], blk.shape)
    hi = np.broadcast_to((subs >> np.uint64(32))[:, None], blk.shape)
    w = philox((blk, lo, hi, np.zeros_like(blk)), key[0], key[1])
    s11, s32 = np.uint64(11), np.uint64(32)
    u = np.empty((len(subs), 2 * nb))
    u[:, 0::2] = (((w[0] << s32) | w[1]) >> s11).astype(np.float64) * 2.0 ** -53
    u[:, 1::2] = (((w[2] << s32) | w[3]) >> s11).astype(np.float64) * 2.0 ** -53
    return u


def normals(key, subs, count):
    u = uniform_pairs(key, subs, count)
    r = np.sqrt(-2.0 * np.log1p(-u[:, 0::2]))
    t = 2.0 * np.pi * u[:, 1::2]
    z = np.empty_like(u)
    z[:, 0::2] = r * np.cos(t)
    z[:, 1::2] = r * np.sin(t)
    return z[:, :count]


def n_value(spec, d, N):
    s = spec.strip()
    if s == "inf":
        return -1
    for suf, mul in (("d^2", d * d), ("Nd", N * d), ("d", d)):
        if s.endswith(suf):
            return int(round(float(s[:-len(suf)] or 1) * mul))
    return int(s)


def load_job(path):
    cp = configparser.ConfigParser(inline_comment_prefixes=(";", "#"), comment_prefixes=(";", "#"))
    cp.read(path)
    g = lambda sec, key, dflt: cp.get(sec, key, fallback=dflt)
    job = dict(seed=int(g("sweep", "seed", "1"), 0), reps=int(g("sweep", "replicates", "1")),
               d=[int(v) for v in g("grid", "d", "").split(",")],
               regimes=[v.strip() for v in g("grid", "regime", "rf,nt,nn").split(",")],
               n=[v for v in g("grid", "n", "inf").split(",")],
               lr=float(g("train", "nn_lr", "0")), steps=int(g("train", "nn_steps", "2000")),
               test=int(g("eval", "test_samples", "10000")))
    assert g("model", "kind", "quadratic").strip() == "quadratic", "baseline: quadratic only"
    assert g("model", "target", "exponential").strip() == "exponential", "baseline: exponential only"
    assert job["lr"] > 0, "baseline: needs a fixed nn_lr"
    if cp.has_option("grid", "rho"):
        job["width"] = ("rho", [float(v) for v in cp.get("grid", "rho").split(",")])
    else:
        job["width"] = ("N", [int(v) for v in cp.get("grid", "N").split(",")])
    return job


def grid(job):
    """Tasks in id order: model x d x N x n x regime x replicate (no duplicates here)."""
    tasks = []
    for d in job["d"]:
        kind, vals = job["width"]
        Ns = [int(np.floor(r * d + 0.5)) for r in vals] if kind == "rho" else vals
        for N in Ns:
            for ns in job["n"]:
                for reg in job["regimes"]:
                    for rep in range(job["reps"]):
                        tasks.append((d, N, n_value(ns, d, N), reg, rep))
    return tasks


class Target:
    def __init__(self, seed, d, rep):
        key = rng_key(seed, SITE_TARGET, 0, d, rep)
        gam = -np.log1p(-uniform_pairs(key, [0], d)[0, :d])
        self.B = np.diag(gam / np.sqrt(d))
        self.diag = gam / np.sqrt(d)
        self.b0 = -self.diag.sum()
        self.d = d

    def sample(self, key, n):
        z = normals(key, np.arange(n), self.d + 1)
        X = np.ascontiguousarray(z[:, :self.d])
        y = self.b0 + (X * X) @ self.diag  # tau = 0
        return X, y

    def pop_risk(self, c, M):
        D = self.B - M
        e = self.b0 - c + np.trace(D)
        return e * e + 2.0 * np.sum(D * D)

    def r0(self):
        return 2.0 * np.sum(self.diag ** 2)


def predict(X, c, M):
    return c + np.einsum("ij,ij->i", X @ M, X)


def rf_fit(tg, W, X, y):
    if X is None:  # population
        G = (W @ W.T) ** 2
        v = np.einsum("ij,j,ij->i", W, tg.diag, W)
        a = np.linalg.pinv(2 * G, rcond=1e-12) @ (2 * v)
        M = (W.T * a) @ W
        return tg.b0 + np.trace(tg.B - M), M
    Phi = (X @ W.T) ** 2
    mu, ybar = Phi.mean(0), y.mean()
    a = np.linalg.lstsq(Phi - mu, y - ybar, rcond=None)[0]
    return ybar - mu @ a, (W.T * a) @ W


def nt_basis(W, d):
    N = W.shape[0]
    if N >= d:
        return np.eye(d), d
    Q, _ = np.linalg.qr(W.T, mode="complete")
    return Q, N


def nt_fit(tg, W, X, y):
    d = tg.d
    Q, Nq = nt_basis(W, d)
    if X is None:  # population: M = B - P_perp B P_perp
        Pp = Q[:, Nq:] @ Q[:, Nq:].T
        M = tg.B - Pp @ tg.B @ Pp
        return tg.b0 + np.trace(tg.B - M), M
    UV = X @ Q
    U, V = UV[:, :Nq], UV[:, Nq:]
    iu = np.triu_indices(Nq)
    F = np.concatenate([(U[:, :, None] * U[:, None, :])[:, iu[0], iu[1]],
                        (U[:, :, None] * V[:, None, :]).reshape(len(y), -1)], axis=1)
    mu, ybar = F.mean(0), y.mean()
    Fc = F - mu
    th = sla.cho_solve(sla.cho_factor(Fc.T @ Fc), Fc.T @ (y - ybar))
    Mq = np.zeros((d, d))
    A = np.zeros((Nq, Nq))
    A[iu] = th[:len(iu[0])]
    Mq[:Nq, :Nq] = (A + A.T) / 2  # u_a u_b appears once for a < b: A_ab = A_ba = th/2
    C = th[len(iu[0]):].reshape(Nq, d - Nq) / 2
    Mq[:Nq, Nq:] = C
    Mq[Nq:, :Nq] = C.T
    M = Q @ Mq @ Q.T
    return ybar - mu @ th, (M + M.T) / 2


def nn_fit(tg, W0, a0, X, y, lr, steps):
    W, a = W0.copy(), a0.copy()
    if X is None:  # population risk at the optimal c: R = 2 ||M - B||^2, dR/dM = 4 (M - B)
        for _ in range(steps):
            M = (W.T * a) @ W
            G = 4.0 * (M - tg.B)
            WG = W @ G
            ga = np.einsum("ij,ij->i", WG, W)
            gW = 2.0 * a[:, None] * WG
            a -= lr * ga
            W -= lr * gW
        M = (W.T * a) @ W
        return tg.b0 + np.trace(tg.B - M), M
    n, c = len(y), 0.0
    for _ in range(steps):
        Z = X @ W.T
        r = c + (Z * Z) @ a - y
        gc = 2.0 * r.mean()
        ga = (2.0 / n) * (r @ (Z * Z))
        gW = (4.0 / n) * a[:, None] * ((Z * r[:, None]).T @ X)
        c -= lr * gc
        a -= lr * ga
        W -= lr * gW
    return c, (W.T * a) @ W


def theory(tg, reg, W, N):
    if reg == "rf":
        c, M = rf_fit(tg, W, None, None)
        return tg.pop_risk(c, M)
    if reg == "nt":
        c, M = nt_fit(tg, W, None, None)
        return tg.pop_risk(c, M)
    lam = np.sort(np.abs(tg.diag))[::-1]
    return 2.0 * np.sum(lam[N:] ** 2)


def run(job):
    seed, out, secs, cache = job["seed"], [], [], {}
    for (d, N, n, reg, rep) in grid(job):
        t0 = time.perf_counter()
        if (d, rep) not in cache:  # one entry, as lazysweep's task cache
            tg = Target(seed, d, rep)
            Xt, yt = tg.sample(rng_key(seed, SITE_TEST, 0, d, rep), job["test"])
            cache = {(d, rep): (tg, Xt, yt)}
        tg, Xt, yt = cache[(d, rep)]
        W0 = normals(rng_key(seed, SITE_W0, d, rep, 0), np.arange(N), d) / np.sqrt(d)
        a0 = normals(rng_key(seed, SITE_A0, d, rep, 0), np.arange(N), 1)[:, 0]
        X = y = None
        if n > 0:
            X, y = tg.sample(rng_key(seed, SITE_TRAIN, d, n & 0xFFFFFFFF, rep), n)
        if reg == "rf":
            c, M = rf_fit(tg, W0, X, y)
        elif reg == "nt":
            c, M = nt_fit(tg, W0, X, y)
        else:
            c, M = nn_fit(tg, W0, a0, X, y, job["lr"], job["steps"])
        out.append(dict(risk_train=np.mean((predict(X, c, M) - y) ** 2) if n > 0 else np.nan,
                        risk_test=np.mean((predict(Xt, c, M) - yt) ** 2),
                        risk_pop=tg.pop_risk(c, M), r0=tg.r0(), theory=theory(tg, reg, W0, N)))
        secs.append((reg, n > 0, time.perf_counter() - t0))
    return out, secs


def check(out, secs, path):
    import h5py
    with h5py.File(path, "r", locking=False) as f:
        res, status = f["results"][...], f["status"][...]
    print(f"  {'part':<16} {'NumPy s':>9} {'lazysweep s':>12} {'NumPy/lazysweep':>16}")
    for reg in REGIMES[:3]:
        for fin in (True, False):
            ks = [k for k, s in enumerate(secs) if s[0] == reg and s[1] == fin]
            if not ks:
                continue
            a, b = sum(secs[k][2] for k in ks), float(res["seconds"][ks].sum())
            part = f"{reg} {'n finite' if fin else 'n = inf'}"
            print(f"  {part:<16} {a:9.3f} {b:12.3f} {a / b:16.2f}")
    a, b = sum(s[2] for s in secs), float(res["seconds"].sum())
    print(f"  {'all tasks':<16} {a:9.3f} {b:12.3f} {a / b:16.2f}   (task compute only)")
    worst, bad = 0.0, 0
    for k, row in enumerate(out):
        if status[k] != 1:
            bad += 1
            continue
        for key, v in row.items():
            w = float(res[key][k])
            if np.isnan(v) and np.isnan(w):
                continue
            rel = abs(v - w) / max(abs(w), 1e-12 * float(res["r0"][k]))
            worst = max(worst, rel)
            if not rel <= 1e-6:
                bad += 1
                print(f"baseline: task {k} {key}: numpy {v:.12g} lazysweep {w:.12g}")
    return worst, bad


def main():
    t0 = time.perf_counter()
    job = load_job(sys.argv[1])
    out, secs = run(job)
    wall = time.perf_counter() - t0
    print(f"baseline: {len(out)} tasks in {wall:.3f} s")
    if len(sys.argv) > 2:
        worst, bad = check(out, secs, sys.argv[2])
        print(f"baseline: agreement with {sys.argv[2]}: max relative difference {worst:.2e}"
              f" over risk_train/test/pop, r0, theory; {bad} mismatches (tolerance 1e-6)")
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
