#!/usr/bin/python3
"""Read a lazysweep results file on a login node (h5py + pandas, no MPI).

    import lazysweep as ls
    df = ls.load("results.h5")        # one row per task: /tasks + /results + /status
    tab = ls.summary(df)              # the table of `lazysweep aggregate --csv`
    cur = ls.load_curves("results.h5")  # NN train/test risk against the step (if any)

Command line: ``/usr/bin/python3 analysis/lazysweep.py results.h5 [--csv OUT]`` prints the
summary (or writes it as CSV, in the C program's number format).

The file is opened read-only without HDF5 file locking, so this works on a file that a
job is still writing. A task is DONE by one definition shared with the C program
(src/outcome.c, DESIGN.md §6): /status says done *and* its row was written (attempts > 0)
with cause none and finite r0 and risk_pop; FAILED likewise with a cause; anything else is
pending and its metrics are masked to NaN (a pending row may be half written). Only DONE
rows enter `summary`.
"""
import math
import sys

import numpy as np
import pandas as pd

try:
    import h5py
except ImportError:  # let `import lazysweep` work for the pure functions (theory_limit)
    h5py = None

# Names in enum order, as in src/job.c (also read from the file's enum types when present).
MODELS = ["quadratic", "mixture"]
TARGETS = ["exponential", "wigner", "lowrank", "signed"]
REGIMES = ["rf", "nt", "nn", "null", "alpha", "alpha_lin", "onestep", "krr_rf", "krr_nt"]
STATUS = {0: "pending", 1: "done", 2: "failed"}
CAUSES = {0: "none", 1: "nonfinite", 2: "solver", 3: "nomem", 4: "stopped", 5: "invalid",
          6: "crashed"}
STOPS = {-1: "not written", 0: "exact", 1: "tol", 2: "budget", 3: "signal", 4: "failed",
         5: "converged", 6: "linesearch", 7: "stalled", 8: "horizon"}
CERTIFIED_STOPS = (0, 5, 8)  # exact, converged, horizon (alpha regimes): the others stopped short

RESULT_METRICS = ["risk_train", "risk_test", "risk_pop", "r0", "error_test", "bayes_error",
                  "theory", "iterations", "residual", "flops", "seconds", "error_floor"]

SUMMARY_COLUMNS = ["model", "target", "d", "N", "rho", "n", "regime", "replicates",
                   "risk_pop_mean", "risk_pop_se", "risk_test_mean", "risk_test_se",
                   "risk_train_mean", "risk_train_se", "error_test_mean", "error_test_se",
                   "theory", "not_converged", "alpha", "eta"]


# ---- SPEC §3 limits (a faithful port of src/theory.c: theory_limit) ----------------------

def rf_limit(rho, kappa):
    """RF/R0 -> 1 - kappa*rho/(1+rho)."""
    return 1.0 - kappa * rho / (1.0 + rho)


def nt_limit(rho, kappa):
    """NT/R0 -> (1-rho)_+^2 (1-kappa) + (1-rho)_+ kappa."""
    p = 1.0 - rho if rho < 1 else 0.0
    return p * p * (1 - kappa) + p * kappa


def nn_limit(target, rho):
    """NN/R0 -> the spectral tail beyond the top rho*d eigenvalues of B (d -> infinity)."""
    if rho < 0:
        return math.nan
    if target == "exponential":
        if rho >= 1:
            return 0.0
        if rho == 0:
            return 1.0
        lr = math.log(rho)
        return 1.0 - rho * (1.0 - lr + 0.5 * lr * lr)
    if target == "lowrank":
        return 0.0 if rho > 0 else 1.0
    if target == "signed":
        return 1.0 - rho if rho < 1 else 0.0
    if target == "wigner":
        if rho >= 1:
            return 0.0
        # semicircle on [-2, 2], lambda = 2 sin th: P(|lambda| < t) = (2 th + sin 2th)/pi,
        # int_{|lambda| < t} lambda^2 = (4 th - sin 4th)/(2 pi); bisection as in theory.c
        lo, hi = 0.0, math.pi / 2
        for _ in range(200):
            th = 0.5 * (lo + hi)
            if (2 * th + math.sin(2 * th)) / math.pi < 1 - rho:
                lo = th
            else:
                hi = th
        th = 0.5 * (lo + hi)
        return (4 * th - math.sin(4 * th)) / (2 * math.pi)
    return math.nan


def kappa_of(target):
    """kappa = ((tr B)^2/d)/||B||_F^2 in the limit: 1/2 for exponential, 0 otherwise."""
    return {"exponential": 0.5, "wigner": 0.0, "lowrank": 0.0, "signed": 0.0}.get(target)


def theory_limit(model, target, regime, rho):
    """The SPEC §3 limit of R/R0 for (model, target, regime) at N/d = rho; NaN where none
    (mixture, the null regime). Names as strings, as in load()."""
    if model != "quadratic":
        return math.nan
    kappa = kappa_of(target)
    if kappa is None:
        return math.nan
    if regime == "rf":
        return rf_limit(rho, kappa)
    if regime == "nt":
        return nt_limit(rho, kappa)
    if regime == "nn":
        return nn_limit(target, rho)
    return math.nan


def theory_curve(model, target, regime, rho):
    """theory_limit over an array of rho (for plotting)."""
    return np.array([theory_limit(model, target, regime, float(r)) for r in np.ravel(rho)])


# ---- reading -------------------------------------------------------------------------

def _attr(obj, name, default=None):
    v = obj.attrs.get(name, default)
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    elif isinstance(v, np.ndarray) and v.shape == ():
        v = v[()]
    if isinstance(v, (np.integer,)):
        v = int(v)
    return v


def _enum_names(dtype, field, fallback):
    """{value: name} from the HDF5 enum type of a compound field, else the fallback list."""
    m = h5py.check_enum_dtype(dtype[field]) if h5py is not None else None
    if m:
        return {int(v): k for k, v in m.items()}
    return dict(enumerate(fallback))


def _open(path):
    if h5py is None:
        raise ImportError("h5py is needed to read results files (use /usr/bin/python3)")
    return h5py.File(path, "r", locking=False)


def meta(path):
    """The file's provenance attributes as a dict (job_name, job_text, job_hash, ...)."""
    with _open(path) as f:
        return {k: _attr(f, k) for k in f.attrs}


def outcome(status, results):
    """The state of each task, 0 pending / 1 done / 2 failed, exactly as src/outcome.c
    decides it from the /status bytes and the /results rows (numpy structured array)."""
    status = np.asarray(status).astype(np.int64)
    att = results["attempts"].astype(np.int64)
    cause = results["cause"].astype(np.int64)
    written = att > 0
    done = written & (status == 1) & (cause == 0) & np.isfinite(results["r0"]) & \
        np.isfinite(results["risk_pop"])
    failed = written & (status == 2) & (cause > 0) & (cause < len(CAUSES)) & (cause != 4)
    return np.where(done, 1, np.where(failed, 2, 0)).astype(np.int64)


def load(path):
    """One row per task: the /tasks fields (model, target, regime decoded to strings; n a
    float with inf for the population), the /results fields, status (0/1/2) with
    status_name and done (status == 1; the shared definition of outcome(), the raw /status
    byte in status_byte), the risks normalised by r0 (risk_*_norm), rho =
    N/d, cause_name and stop_name. df.attrs holds the file's provenance (job_name, ...).
    Read-only and without file locking: safe on a file that is being written."""
    with _open(path) as f:
        tasks = f["tasks"][()]
        results = f["results"][()]
        status = f["status"][()]
        attrs = {k: _attr(f, k) for k in f.attrs}
        tdt = f["tasks"].dtype
    if not (len(tasks) == len(results) == len(status)):
        raise ValueError("%s: /tasks, /results, /status have different lengths" % path)
    models = _enum_names(tdt, "model", MODELS)
    targets = _enum_names(tdt, "target", TARGETS)
    targets.setdefault(-1, "none")
    regimes = _enum_names(tdt, "regime", REGIMES)

    df = pd.DataFrame({
        "id": tasks["id"].astype(np.int64),
        "model": [models.get(int(v), "?") for v in tasks["model"]],
        "target": [targets.get(int(v), "?") for v in tasks["target"]],
        "d": tasks["d"].astype(np.int64),
        "N": tasks["N"].astype(np.int64),
        "n": np.where(tasks["n"] < 0, np.inf, tasks["n"].astype(np.float64)),
        "regime": [regimes.get(int(v), "?") for v in tasks["regime"]],
        "replicate": tasks["replicate"].astype(np.int64),
        # the axes of the regimes beyond the paper; files made before them lack the fields
        "alpha": tasks["alpha"].astype(np.float64) if "alpha" in tdt.names else np.nan,
        "eta": tasks["eta"].astype(np.float64) if "eta" in tdt.names else np.nan,
    })
    df["rho"] = df["N"] / df["d"]
    state = outcome(status, results)
    df["status"] = state
    df["status_byte"] = status.astype(np.int64)
    df["status_name"] = df["status"].map(STATUS).fillna("?")
    df["done"] = df["status"] == 1
    pending = state == 0
    for name in results.dtype.names:
        col = results[name]
        if col.dtype.kind == "f":
            col = np.where(pending, np.nan, col)
        df[name] = col
    df["cause_name"] = df["cause"].map(CAUSES).fillna("?") if "cause" in df else "none"
    df["stop_name"] = df["stop"].map(STOPS).fillna("?") if "stop" in df else "?"
    # files made before these members existed: the C reader's fill values
    for name, fill in (("restarts", 0), ("error_floor", np.nan), ("t_final", np.nan),
                       ("theta_dist", np.nan), ("dead", -1), ("risk_nt", np.nan),
                       ("risk_ey", np.nan), ("ebar", np.nan), ("step_norm", np.nan),
                       ("risk_rf0", np.nan)):
        if name not in df:
            df[name] = fill
    df["converged"] = df["stop"].isin(CERTIFIED_STOPS) if "stop" in df else False
    for m in ("risk_pop", "risk_test", "risk_train"):
        if m in df:
            df[m + "_norm"] = df[m] / df["r0"]
    df.attrs.update(attrs)
    df.attrs["path"] = str(path)
    return df


def load_curves(path):
    """NN training curves (/curves, curve_points > 0) as a long DataFrame: id, point, step,
    train, test (raw risks; divide by the task's r0) for DONE tasks with a written point.
    Empty DataFrame if the file has no curves."""
    with _open(path) as f:
        if "curves" not in f:
            return pd.DataFrame(columns=["id", "point", "step", "train", "test"])
        cur = f["curves"][()]
        steps = f["curves_steps"][()]
        status = outcome(f["status"][()], f["results"][()])
    T, P = cur.shape
    out = pd.DataFrame({
        "id": np.repeat(np.arange(T), P),
        "point": np.tile(np.arange(P), T),
        "step": np.tile(steps.astype(np.int64), T),
        "train": cur["train"].ravel(),
        "test": cur["test"].ravel(),
    })
    ok = (np.repeat(status == 1, P)) & (out["step"].to_numpy() >= 0) & \
         (np.isfinite(out["train"].to_numpy()) | np.isfinite(out["test"].to_numpy()))
    return out[ok].reset_index(drop=True)


# ---- the aggregate table -------------------------------------------------------------

def _mean_se(v):
    """Mean and standard error exactly as src/aggregate.c computes them: two passes over
    the finite values in task-id order (sum, then squared deviations from the mean),
    se = sqrt(dev / (k-1) / k); NaN where undefined."""
    v = v[np.isfinite(v)]
    k = len(v)
    if k == 0:
        return math.nan, math.nan
    s = 0.0
    for x in v:  # same summation order as C (task id order)
        s += x
    mean = s / k
    if k < 2:
        return mean, math.nan
    dev = 0.0
    for x in v:
        dev += (x - mean) * (x - mean)
    return mean, math.sqrt(dev / (k - 1) / k)


def summary(df):
    """One row per (model, target, d, N, n, regime) with at least one DONE replicate: the
    columns and rows of `lazysweep aggregate --csv` (DESIGN.md §2), risks normalised by
    each task's r0, `theory` the SPEC §3 limit, NaN for empty cells; n is inf for the
    population. Row order as the C program: model, target, d, N, n (inf last), regime
    (enum orders)."""
    done = df[df["done"]].copy()
    rows = []
    if len(done):
        done["_m"] = done["model"].map({m: i for i, m in enumerate(MODELS)})
        done["_t"] = done["target"].map({t: i for i, t in enumerate(TARGETS)}).fillna(-1)
        done["_r"] = done["regime"].map({r: i for i, r in enumerate(REGIMES)})
        # alpha / eta: NaN (no such axis) sorts first, as in the C program
        done["_a"] = done["alpha"].fillna(-np.inf)
        done["_e"] = done["eta"].fillna(-np.inf)
        done = done.sort_values(["_m", "_t", "d", "N", "n", "_r", "_a", "_e", "id"],
                                kind="mergesort")
        keys = ["_m", "_t", "d", "N", "n", "_r", "_a", "_e"]
        for _, g in done.groupby(keys, sort=False):
            t = g.iloc[0]
            r0 = g["r0"].to_numpy(float)
            row = {"model": t["model"], "target": t["target"], "d": int(t["d"]),
                   "N": int(t["N"]), "rho": float(t["N"]) / float(t["d"]), "n": float(t["n"]),
                   "regime": t["regime"], "replicates": len(g)}
            for m, col in (("risk_pop", "risk_pop"), ("risk_test", "risk_test"),
                           ("risk_train", "risk_train")):
                row[m + "_mean"], row[m + "_se"] = _mean_se(g[col].to_numpy(float) / r0)
            row["error_test_mean"], row["error_test_se"] = _mean_se(g["error_test"].to_numpy(float))
            row["theory"] = theory_limit(t["model"], t["target"], t["regime"], row["rho"])
            row["not_converged"] = int((~g["converged"]).sum())
            row["alpha"], row["eta"] = float(t["alpha"]), float(t["eta"])
            rows.append(row)
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    out.attrs.update(df.attrs)
    return out


def _fmt(v):
    """A CSV cell as the C program writes it: %.10g, empty for non-finite numbers."""
    if isinstance(v, str):
        return v
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if v is None or not np.isfinite(v):
        return ""
    return "%.10g" % v


def to_csv(tab, out):
    """Write summary(df) in the C program's CSV format (n written inf, empty cells)."""
    out.write(",".join(SUMMARY_COLUMNS) + "\n")
    for r in tab.itertuples(index=False):
        cells = []
        for c, v in zip(SUMMARY_COLUMNS, r):
            if c == "n":
                cells.append("inf" if math.isinf(v) else str(int(v)))
            elif c in ("alpha", "eta") and isinstance(v, float) and math.isinf(v):
                cells.append("inf")
            else:
                cells.append(_fmt(v))
        out.write(",".join(cells) + "\n")


def read_aggregate_csv(path):
    """Read a CSV from `lazysweep aggregate --csv` (or to_csv) into summary()'s form."""
    # only empty cells are missing ("null" is a regime, "none" a target)
    t = pd.read_csv(path, keep_default_na=False, na_values=[""],
                    dtype={"model": str, "target": str, "regime": str, "n": str})
    t["n"] = t["n"].map(lambda s: math.inf if s == "inf" else float(s))
    return t


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description="Summarise a lazysweep results file "
                                 "(the table of `lazysweep aggregate`).")
    ap.add_argument("file")
    ap.add_argument("--csv", help="write the table as CSV to this file ('-' = stdout)")
    args = ap.parse_args(argv)
    df = load(args.file)
    tab = summary(df)
    if args.csv:
        if args.csv == "-":
            to_csv(tab, sys.stdout)
        else:
            with open(args.csv, "w") as fh:
                to_csv(tab, fh)
        return 0
    st = df["status"].value_counts()
    print("%s: job %s, %d tasks: %d done, %d failed, %d pending" % (
        args.file, df.attrs.get("job_name", "?"), len(df), st.get(1, 0), st.get(2, 0),
        st.get(0, 0)))
    with pd.option_context("display.max_rows", None, "display.width", 200,
                           "display.float_format", "{:.4g}".format):
        show = tab[["model", "target", "d", "N", "rho", "n", "regime", "replicates",
                    "risk_pop_mean", "risk_pop_se", "risk_test_mean", "risk_train_mean",
                    "error_test_mean", "theory"]]
        print(show.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
