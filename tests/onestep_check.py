"""Independent NumPy check of the onestep tasks of a results file made with save_weights
(tests/t_onestep.sh): from the stored target and W0 it recomputes, with its own code,
 - the population step (onestep_n0 = inf, c0 optimal, a0 = 1/N; skipped for a finite n0):
   quadratic W1 = W0 (I + 4 eta (B - M0)); mixture W1 = W0 (I + 2 eta C), C = E[r x x^T] from the
   mixture formula of SPEC §7; eta = inf: rows of W0 C rescaled to W0's row norms;
   eta = 0: W1 = W0 bit for bit — against the stored W1 (1e-12 relative);
 - ebar (0), step_norm, and at n = inf the RF optimum at the stored W1 (quadratic
   2(|B|^2 - v^T G^+ v) + tau^2, mixture 1/(1 + g^T H^+ g/4)) against risk_pop and theory;
 - risk_rf0 against the rf task of the same (model, d, N, n, replicate), bit for bit, and
   at eta = 0 every risk field and M, c of that rf task, bit for bit.
With --compare OTHER.h5: the onestep fields of /results and every /weights dataset equal
bitwise between the two files (1 rank against 3). Prints "onestep: N passed, N failed"."""
import sys

import h5py
import numpy as np

sys.path.insert(0, "analysis")
import lazysweep as ls  # noqa: E402

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL " + what)


def rf_opt_quadratic(W, B, tau):
    G = (W @ W.T) ** 2
    v = np.einsum("ij,jk,ik->i", W, B, W)
    return 2 * (np.sum(B * B) - v @ np.linalg.pinv(G, rcond=1e-12, hermitian=True) @ v) + tau ** 2


def rf_opt_mixture(W, U, delta):
    d = W.shape[1]
    P = U @ U.T
    Sp, Sm = np.eye(d) + delta * P, np.eye(d) - delta * P
    g = np.array([w @ (Sp - Sm) @ w for w in W])
    H = ((W @ Sp @ W.T) ** 2) + ((W @ Sm @ W.T) ** 2)
    return 1.0 / (1.0 + 0.25 * g @ np.linalg.pinv(H, rcond=1e-12, hermitian=True) @ g)


def main(path, other=None):
    df = ls.load(path)
    job = df.attrs["job_text"]
    tau = 0.1 if "noise      = 0.1" in job else 0.0
    # a finite n0 (the step from samples): W1 is not recomputed, everything else is
    finite_n0 = any(l.split(";")[0].replace(" ", "").startswith("onestep_n0=") and
                    l.split(";")[0].split("=")[1].strip() != "inf" for l in job.splitlines())
    delta = 0.6
    with h5py.File(path, "r", locking=False) as f:
        res = f["results"][()]
        rf = df[df["regime"] == "rf"].set_index(["model", "d", "N", "n", "replicate"])
        for _, t in df[df["regime"] == "onestep"].iterrows():
            tag = "task %d (%s N=%d n=%g eta=%g)" % (t.id, t.model, t.N, t.n, t.eta)
            check(t.done, tag + " done")
            g = f["weights/task_%d" % t.id]
            W0, W1 = g["W0"][()], g["W1"][()]
            d, N, eta = int(t.d), int(t.N), float(t.eta)
            a0 = 1.0 / N
            M0 = a0 * W0.T @ W0
            tg = f["targets/d%d" % d]
            if t.model == "quadratic":
                B, b0 = tg["B"][int(t.replicate)], tg["b0"][int(t.replicate)]
                c0 = b0 + np.trace(B - M0)
                C = (b0 - c0 + np.trace(B - M0)) * np.eye(d) + 2 * (B - M0)
            else:
                U = tg["U"][int(t.replicate)]
                P = U @ U.T
                c0 = -np.trace(M0)
                C = np.zeros((d, d))
                for y in (1, -1):
                    S = np.eye(d) + y * delta * P
                    C += 0.5 * ((y - c0 - np.trace(M0 @ S)) * S - 2 * S @ M0 @ S)
            if eta == 0:
                want = W0
                check(np.array_equal(W1, W0), tag + ": W1 = W0 bitwise")
            elif np.isinf(eta):
                T = W0 @ C
                want = T * (np.linalg.norm(W0, axis=1) / np.linalg.norm(T, axis=1))[:, None]
            else:
                want = W0 + 2 * eta * W0 @ C
            err = np.linalg.norm(W1 - want) / max(np.linalg.norm(want - W0), 1e-300)
            check(eta == 0 or finite_n0 or err <= 1e-12, tag + ": W1 vs NumPy step, rel err %.3g" % err)
            check(abs(t.ebar) <= 1e-12, tag + ": centred ebar %.3g" % t.ebar)
            sn = np.linalg.norm(W1 - W0) / np.linalg.norm(W0)
            check(abs(t.step_norm - sn) <= 1e-12 * max(sn, 1), tag + ": step_norm")
            opt = rf_opt_quadratic(W1, B, tau) if t.model == "quadratic" else rf_opt_mixture(W1, U, delta)
            check(abs(t.theory - opt) <= 1e-9 * t.r0, tag + ": theory %.15g vs NumPy %.15g" % (t.theory, opt))
            if np.isinf(t.n):
                check(abs(t.risk_pop - opt) <= 1e-9 * t.r0, tag + ": risk_pop %.15g vs NumPy RF optimum at W1 %.15g"
                      % (t.risk_pop, opt))
            r = rf.loc[(t.model, t.d, t.N, t.n, t.replicate)]
            check(res["risk_rf0"][t.id] == res["risk_pop"][int(r.id)], tag + ": risk_rf0 = rf risk_pop bitwise")
            if eta == 0:
                same = all(res[k][t.id].tobytes() == res[k][int(r.id)].tobytes()
                           for k in ("risk_train", "risk_test", "risk_pop", "r0", "error_test", "theory",
                                     "residual", "stop"))
                gr = f["weights/task_%d" % int(r.id)]
                same &= np.array_equal(g["M"][()], gr["M"][()]) and np.array_equal(g["c"][()], gr["c"][()])
                check(same, tag + ": eta = 0 equals the rf task bit for bit")
    if other:
        with h5py.File(path, "r", locking=False) as fa, h5py.File(other, "r", locking=False) as fb:
            ra, rb = fa["results"][()], fb["results"][()]
            for k in ("ebar", "step_norm", "risk_rf0", "risk_nt", "risk_ey", "theory", "risk_pop"):
                check(ra[k].tobytes() == rb[k].tobytes(), "1 vs 3 ranks: /results %s bitwise" % k)
            for name in fa["weights"]:
                for ds in fa["weights"][name]:
                    a, b = fa["weights"][name][ds][()], fb["weights"][name][ds][()]
                    check(a.tobytes() == b.tobytes(), "1 vs 3 ranks: /weights/%s/%s bitwise" % (name, ds))
    print("onestep: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    args = sys.argv[1:]
    other = None
    if "--compare" in args:
        i = args.index("--compare")
        other = args[i + 1]
        del args[i:i + 2]
    sys.exit(main(args[0], other))
